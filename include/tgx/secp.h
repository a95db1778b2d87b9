/* secp.h: secp256k1 keys, Ethereum addresses, recoverable ECDSA and EIP-191 personal_sign (libsecp256k1). */
#ifndef TGX_SECP_H
#define TGX_SECP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

#define TGX_SECP_SECRET_LEN  32  /* bytes of a secret key */
#define TGX_SECP_PUBKEY_LEN  65  /* bytes of an uncompressed public key (0x04 || X || Y) */
#define TGX_SECP_SIG_LEN     65  /* bytes of a signature r || s || v */
#define TGX_SECP_SIG_HEX_LEN 132 /* "0x" + 130 hex digits, without the NUL */
#define TGX_ADDRESS_LEN      20  /* bytes of an Ethereum address */
#define TGX_ADDRESS_TEXT_LEN 42  /* "0x" + 40 hex digits, without the NUL */

/*
 * A recoverable ECDSA signature, a plain value.  S is always low (<= n/2) when made here;
 * RECID (0..3, in practice 0 or 1) is the recovery id, i.e. v - 27 of personal_sign, v of a type-2
 * transaction.
 */
struct tgx_secp_sig {
    uint8_t r[32];
    uint8_t s[32];
    int recid;
};

/*
 * The module keeps one process-wide libsecp256k1 context, created on first use (pthread_once,
 * SECP256K1_CONTEXT_NONE, randomised from the kernel's random source) and then only read: every
 * function below is thread-safe.  Secrets are never logged and the copies made here are wiped.
 */

/* Create the shared context now (optional: every function does it on first use); -TGX_ERR_CRYPTO. */
int tgx_secp_init(void) TGX_MUSTCHECK;

/* Fill SECRET with a new valid secret key from getrandom(); -TGX_ERR_IO, -TGX_ERR_CRYPTO. */
int tgx_secp_key_generate(uint8_t secret[TGX_SECP_SECRET_LEN] /* OUT */) TGX_MUSTCHECK;
/* True when SECRET is a valid secret key (0 < secret < n). */
bool tgx_secp_key_valid(const uint8_t secret[TGX_SECP_SECRET_LEN]);
/* The uncompressed public key of SECRET; -TGX_ERR_INVAL for an invalid secret, -TGX_ERR_CRYPTO. */
int tgx_secp_pubkey(const uint8_t secret[TGX_SECP_SECRET_LEN],
                    uint8_t pub[TGX_SECP_PUBKEY_LEN] /* OUT */) TGX_MUSTCHECK;
/* The address of an uncompressed public key: the last 20 bytes of keccak256(X || Y).  Cannot fail. */
void tgx_secp_pubkey_address(const uint8_t pub[TGX_SECP_PUBKEY_LEN], uint8_t addr[TGX_ADDRESS_LEN] /* OUT */);
/* The address of SECRET; -TGX_ERR_INVAL for an invalid secret. */
int tgx_secp_address(const uint8_t secret[TGX_SECP_SECRET_LEN],
                     uint8_t addr[TGX_ADDRESS_LEN] /* OUT */) TGX_MUSTCHECK;
/* ADDR as EIP-55 checksummed text "0x..." and a NUL (same as tgx_abi_address_checksum). */
void tgx_secp_address_text(const uint8_t addr[TGX_ADDRESS_LEN], char out[TGX_ADDRESS_TEXT_LEN + 1] /* OUT */);

/* Sign the 32-byte DIGEST with SECRET (RFC 6979 nonce, low S); -TGX_ERR_INVAL for a bad secret. */
int tgx_secp_sign(const uint8_t secret[TGX_SECP_SECRET_LEN], const uint8_t digest[32],
                  struct tgx_secp_sig *sig /* OUT */) TGX_MUSTCHECK;
/* The address that signed DIGEST with SIG; -TGX_ERR_INVAL for a bad, high-S or unrecoverable signature. */
int tgx_secp_recover(const uint8_t digest[32], const struct tgx_secp_sig *sig,
                     uint8_t addr[TGX_ADDRESS_LEN] /* OUT */) TGX_MUSTCHECK;
/* SIG as 65 bytes r || s || v with v = recid + V_OFFSET (27 for personal_sign, 0 for raw). */
void tgx_secp_sig_to_bytes(const struct tgx_secp_sig *sig, int v_offset,
                           uint8_t out[TGX_SECP_SIG_LEN] /* OUT */);
/* Parse 65 bytes r || s || v, v being 27/28 or 0/1; -TGX_ERR_INVAL for another v. */
int tgx_secp_sig_from_bytes(const uint8_t in[TGX_SECP_SIG_LEN],
                            struct tgx_secp_sig *sig /* OUT */) TGX_MUSTCHECK;
/* The address that signed DIGEST with the 65 bytes SIG65 (r || s || v, v 27/28 or 0/1); -TGX_ERR_INVAL. */
int tgx_secp_recover_bytes(const uint8_t digest[32], const uint8_t sig65[TGX_SECP_SIG_LEN],
                           uint8_t addr[TGX_ADDRESS_LEN] /* OUT */) TGX_MUSTCHECK;

/* The EIP-191 personal_sign digest: keccak256("\x19Ethereum Signed Message:\n" + decimal LEN + MSG). */
void tgx_secp_message_digest(const void *msg, size_t len, uint8_t digest[32] /* OUT */);
/*
 * personal_sign: sign the LEN bytes MSG with SECRET and write the signature as "0x" + 130 lower-case
 * hex digits (r || s || v, v = 27 + recid) and a NUL into OUT.  -TGX_ERR_INVAL for a bad secret.
 */
int tgx_secp_sign_message(const uint8_t secret[TGX_SECP_SECRET_LEN], const void *msg, size_t len,
                          char out[TGX_SECP_SIG_HEX_LEN + 1] /* OUT */) TGX_MUSTCHECK;
/*
 * The address that personal_signed the LEN bytes MSG with the text signature SIG_HEX ("0x" + 130 hex
 * digits, either case, v 27/28 or 0/1).  -TGX_ERR_INVAL for malformed text or a bad signature.
 */
int tgx_secp_recover_message_address(const void *msg, size_t len, const char *sig_hex,
                                     uint8_t addr[TGX_ADDRESS_LEN] /* OUT */) TGX_MUSTCHECK;

#endif
