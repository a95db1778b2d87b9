/* sha256.h: SHA-256 digests (OpenSSL EVP), raw and as lower-case hex. */
#ifndef TGX_SHA256_H
#define TGX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

#define TGX_SHA256_LEN     32 /* bytes of a digest */
#define TGX_SHA256_HEX_LEN 64 /* hex digits of a digest, without the NUL */

/* The SHA-256 of the LEN bytes at DATA into OUT; -TGX_ERR_CRYPTO if OpenSSL fails. */
int tgx_sha256(const void *data, size_t len, uint8_t out[TGX_SHA256_LEN] /* OUT */) TGX_MUSTCHECK;
/* The same as 64 lower-case hex digits and a NUL into OUT; -TGX_ERR_CRYPTO. */
int tgx_sha256_hex(const void *data, size_t len, char out[TGX_SHA256_HEX_LEN + 1] /* OUT */) TGX_MUSTCHECK;

#endif
