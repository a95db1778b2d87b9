/* hex.h: lower-case hexadecimal encoding and strict decoding of byte strings. */
#ifndef TGX_HEX_H
#define TGX_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

/* Write the 2*N lower-case hex digits of IN to OUT and a NUL; OUT holds 2*N+1 bytes. */
void tgx_hex_encode(const uint8_t *in, size_t n, char *out /* OUT */);
/*
 * Decode the LEN hex digits at HEX (either case, no prefix, even count) into OUT, which holds
 * OUTCAP bytes; *OUTLEN gets LEN/2.  -TGX_ERR_INVAL for a bad digit, an odd count or too small OUT.
 */
int tgx_hex_decode(const char *hex, size_t len, uint8_t *out /* OUT */, size_t outcap,
                   size_t *outlen /* OUT */) TGX_MUSTCHECK;

#endif
