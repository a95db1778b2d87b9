/* keyfile.h: the keeper's secret key on disk (one line of 0x-hex, mode 0600) and `tgx-keeper keygen/address`.
 */
#ifndef TGX_KEYFILE_H
#define TGX_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "tgx/cli.h"
#include "tgx/err.h"
#include "tgx/secp.h"

#define TGX_KEYFILE_ENV "TGX_KEEPER_KEY_FILE" /* the key file when --key is not given */

/*
 * Create PATH (O_CREAT|O_EXCL, mode 0600: never overwrites) holding a new secret key as "0x" + 64
 * hex digits and a newline; *SECRET gets the key (the caller wipes it).  -TGX_ERR_STATE when PATH
 * exists, -TGX_ERR_IO (errno), -TGX_ERR_CRYPTO.  ERR (ERRLEN bytes, may be NULL) gets a message.
 */
int tgx_keyfile_create(const char *path, uint8_t secret[TGX_SECP_SECRET_LEN] /* OUT */, char *err /* OUT */,
                       size_t errlen) TGX_MUSTCHECK;
/*
 * Read the secret key of PATH: one line "0x" + 64 hex digits (prefix optional, surrounding
 * whitespace ignored).  Refused like ssh does when the file is not a regular file or its mode
 * grants any group/other access (-TGX_ERR_STATE); -TGX_ERR_IO, -TGX_ERR_INVAL for bad content or
 * an invalid key.  ERR gets a message (never the key).
 */
int tgx_keyfile_read(const char *path, uint8_t secret[TGX_SECP_SECRET_LEN] /* OUT */, char *err /* OUT */,
                     size_t errlen) TGX_MUSTCHECK;

/* `tgx-keeper keygen --key FILE`: create FILE, print the address.  A tgx_cli_fn. */
int tgx_keyfile_keygen_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);
/* `tgx-keeper address --key FILE`: print the EIP-55 address alone.  A tgx_cli_fn. */
int tgx_keyfile_address_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);

#endif
