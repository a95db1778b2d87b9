/* u256.h: unsigned 256-bit integers (wei amounts, gas, ABI uint256/int256 words), no floating point. */
#ifndef TGX_U256_H
#define TGX_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

#define TGX_U256_DEC_MAX 78 /* decimal digits of 2^256 - 1, without the NUL */
#define TGX_U256_HEX_MAX 66 /* "0x" + 64 hex digits, without the NUL */

/*
 * A 256-bit unsigned integer, a plain value (copy it freely; no allocation anywhere in this module).
 * w[0] is the least significant 64-bit limb.  A signed int256 is the same bits read as two's
 * complement (tgx_u256_neg, tgx_u256_is_neg).
 */
struct tgx_u256 {
    uint64_t w[4];
};

/* The value V. */
struct tgx_u256 tgx_u256_from_u64(uint64_t v);
/* True when A is 0. */
bool tgx_u256_is_zero(const struct tgx_u256 *a);
/* -1, 0 or 1 as A <, ==, > B (unsigned). */
int tgx_u256_cmp(const struct tgx_u256 *a, const struct tgx_u256 *b);
/* The number of significant bits of A (0 for 0, 256 when the top bit is set). */
unsigned tgx_u256_bits(const struct tgx_u256 *a);
/* True when A fits in 64 bits; then *OUT (may be NULL) gets it. */
bool tgx_u256_to_u64(const struct tgx_u256 *a, uint64_t *out /* OUT */);

/* *OUT = A + B; -TGX_ERR_INVAL on overflow (OUT untouched).  OUT may alias A or B. */
int tgx_u256_add(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a,
                 const struct tgx_u256 *b) TGX_MUSTCHECK;
/* *OUT = A - B; -TGX_ERR_INVAL when B > A (OUT untouched).  OUT may alias A or B. */
int tgx_u256_sub(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a,
                 const struct tgx_u256 *b) TGX_MUSTCHECK;
/* *OUT = A * B; -TGX_ERR_INVAL on overflow (OUT untouched).  OUT may alias A or B. */
int tgx_u256_mul(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a,
                 const struct tgx_u256 *b) TGX_MUSTCHECK;
/* *OUT = A * M; -TGX_ERR_INVAL on overflow (OUT untouched).  OUT may alias A. */
int tgx_u256_mul_u64(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a, uint64_t m) TGX_MUSTCHECK;
/* *OUT = A / D and *REM (may be NULL) = A % D; -TGX_ERR_INVAL when D is 0.  OUT may alias A. */
int tgx_u256_div_u64(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a, uint64_t d,
                     uint64_t *rem /* OUT */) TGX_MUSTCHECK;
/* *OUT = A * NUM / DEN rounded up (ceil), e.g. 6/5 for "1.2 x"; -TGX_ERR_INVAL on overflow or DEN 0. */
int tgx_u256_mul_div_ceil(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a, uint64_t num,
                          uint64_t den) TGX_MUSTCHECK;
/* *OUT = 2^256 - A (two's complement negation, wraps: neg(0) = 0). */
void tgx_u256_neg(struct tgx_u256 *out /* OUT */, const struct tgx_u256 *a);
/* True when the top bit (bit 255) is set: A is negative read as int256. */
bool tgx_u256_is_neg(const struct tgx_u256 *a);
/* *OUT = 2^N (N < 256). */
void tgx_u256_pow2(struct tgx_u256 *out /* OUT */, unsigned n);

/*
 * Parse the decimal digits S (no sign, no space, at least one digit, leading zeros allowed) into *OUT;
 * -TGX_ERR_INVAL for an empty string, a non-digit or a value >= 2^256.
 */
int tgx_u256_from_dec(const char *s, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;
/* The same for the LEN bytes at S (not NUL-terminated). */
int tgx_u256_from_decn(const char *s, size_t len, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;
/*
 * Parse hex S: an optional "0x"/"0X" prefix then 1..64 hex digits of either case (leading zeros
 * beyond 64 digits allowed), e.g. a JSON-RPC quantity "0x1a"; -TGX_ERR_INVAL otherwise.
 */
int tgx_u256_from_hex(const char *s, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;
/* The same for the LEN bytes at S. */
int tgx_u256_from_hexn(const char *s, size_t len, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;
/* Parse "0x..." as hex, anything else as decimal; -TGX_ERR_INVAL. */
int tgx_u256_parse(const char *s, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;
/* Write the decimal digits of A (no leading zeros, "0" for 0) and a NUL into OUT. */
void tgx_u256_to_dec(const struct tgx_u256 *a, char out[TGX_U256_DEC_MAX + 1] /* OUT */);
/* Write A as a JSON-RPC quantity: "0x" + lower-case hex without leading zeros ("0x0" for 0). */
void tgx_u256_to_hex(const struct tgx_u256 *a, char out[TGX_U256_HEX_MAX + 1] /* OUT */);
/* A as 32 big-endian bytes (an ABI word). */
void tgx_u256_to_be(const struct tgx_u256 *a, uint8_t out[32] /* OUT */);
/* The 32 big-endian bytes IN as a value. */
struct tgx_u256 tgx_u256_from_be(const uint8_t in[32]);
/* The N <= 32 big-endian bytes IN as a value (right-aligned: N = 20 reads an address). */
struct tgx_u256 tgx_u256_from_be_n(const uint8_t *in, size_t n);

#endif
