/* u256.c: unsigned 256-bit integers on four 64-bit limbs (little-endian limb order). */
#include "tgx/u256.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

struct tgx_u256 tgx_u256_from_u64(uint64_t v)
{
    struct tgx_u256 r = {{v, 0, 0, 0}};
    return r;
}

bool tgx_u256_is_zero(const struct tgx_u256 *a)
{
    return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

int tgx_u256_cmp(const struct tgx_u256 *a, const struct tgx_u256 *b)
{
    for (int i = 3; i >= 0; i--) {
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

unsigned tgx_u256_bits(const struct tgx_u256 *a)
{
    for (int i = 3; i >= 0; i--) {
        if (a->w[i] != 0)
            return (unsigned)(64 * i + 64 - __builtin_clzll(a->w[i]));
    }
    return 0;
}

bool tgx_u256_to_u64(const struct tgx_u256 *a, uint64_t *out)
{
    if ((a->w[1] | a->w[2] | a->w[3]) != 0)
        return false;
    if (out != NULL)
        *out = a->w[0];
    return true;
}

int tgx_u256_add(struct tgx_u256 *out, const struct tgx_u256 *a, const struct tgx_u256 *b)
{
    struct tgx_u256 r;
    u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        u128 s = (u128)a->w[i] + b->w[i] + carry;
        r.w[i] = (uint64_t)s;
        carry = s >> 64;
    }
    if (carry != 0)
        return -TGX_ERR_INVAL;
    *out = r;
    return 0;
}

int tgx_u256_sub(struct tgx_u256 *out, const struct tgx_u256 *a, const struct tgx_u256 *b)
{
    if (tgx_u256_cmp(a, b) < 0)
        return -TGX_ERR_INVAL;
    struct tgx_u256 r;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->w[i], y = b->w[i];
        r.w[i] = x - y - borrow;
        borrow = (x < y || (x == y && borrow)) ? 1 : 0;
    }
    *out = r;
    return 0;
}

int tgx_u256_mul(struct tgx_u256 *out, const struct tgx_u256 *a, const struct tgx_u256 *b)
{
    uint64_t r[8] = {0};
    for (int i = 0; i < 4; i++) {
        u128 carry = 0;
        if (a->w[i] == 0)
            continue;
        for (int j = 0; j < 4; j++) {
            u128 t = (u128)a->w[i] * b->w[j] + r[i + j] + carry;
            r[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        r[i + 4] = (uint64_t)carry;
    }
    if ((r[4] | r[5] | r[6] | r[7]) != 0)
        return -TGX_ERR_INVAL;
    memcpy(out->w, r, sizeof out->w);
    return 0;
}

int tgx_u256_mul_u64(struct tgx_u256 *out, const struct tgx_u256 *a, uint64_t m)
{
    struct tgx_u256 b = tgx_u256_from_u64(m);
    return tgx_u256_mul(out, a, &b);
}

/* *OUT = A / D, returns A % D; D != 0. */
static uint64_t u256_divmod(struct tgx_u256 *out, const struct tgx_u256 *a, uint64_t d)
{
    struct tgx_u256 q;
    u128 r = 0;
    for (int i = 3; i >= 0; i--) {
        u128 cur = (r << 64) | a->w[i];
        q.w[i] = (uint64_t)(cur / d);
        r = cur % d;
    }
    *out = q;
    return (uint64_t)r;
}

int tgx_u256_div_u64(struct tgx_u256 *out, const struct tgx_u256 *a, uint64_t d, uint64_t *rem)
{
    if (d == 0)
        return -TGX_ERR_INVAL;
    uint64_t r = u256_divmod(out, a, d);
    if (rem != NULL)
        *rem = r;
    return 0;
}

int tgx_u256_mul_div_ceil(struct tgx_u256 *out, const struct tgx_u256 *a, uint64_t num, uint64_t den)
{
    struct tgx_u256 p, q;
    uint64_t rem;
    if (den == 0 || tgx_u256_mul_u64(&p, a, num) < 0 || tgx_u256_div_u64(&q, &p, den, &rem) < 0)
        return -TGX_ERR_INVAL;
    if (rem != 0) {
        struct tgx_u256 one = tgx_u256_from_u64(1);
        if (tgx_u256_add(&q, &q, &one) < 0)
            return -TGX_ERR_INVAL;
    }
    *out = q;
    return 0;
}

void tgx_u256_neg(struct tgx_u256 *out, const struct tgx_u256 *a)
{
    struct tgx_u256 r;
    uint64_t carry = 1;
    for (int i = 0; i < 4; i++) {
        uint64_t x = ~a->w[i];
        r.w[i] = x + carry;
        carry = (carry && r.w[i] == 0) ? 1 : 0;
    }
    *out = r;
}

bool tgx_u256_is_neg(const struct tgx_u256 *a)
{
    return (a->w[3] >> 63) != 0;
}

void tgx_u256_pow2(struct tgx_u256 *out, unsigned n)
{
    memset(out, 0, sizeof *out);
    if (n < 256)
        out->w[n / 64] = (uint64_t)1 << (n % 64);
}

int tgx_u256_from_decn(const char *s, size_t len, struct tgx_u256 *out)
{
    if (len == 0)
        return -TGX_ERR_INVAL;
    struct tgx_u256 r = {{0, 0, 0, 0}};
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -TGX_ERR_INVAL;
        struct tgx_u256 d = tgx_u256_from_u64((uint64_t)(s[i] - '0'));
        if (tgx_u256_mul_u64(&r, &r, 10) < 0 || tgx_u256_add(&r, &r, &d) < 0)
            return -TGX_ERR_INVAL;
    }
    *out = r;
    return 0;
}

int tgx_u256_from_dec(const char *s, struct tgx_u256 *out)
{
    return tgx_u256_from_decn(s, strlen(s), out);
}

/* The value of hex digit C, or -1. */
static int u256_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tgx_u256_from_hexn(const char *s, size_t len, struct tgx_u256 *out)
{
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        len -= 2;
    }
    if (len == 0)
        return -TGX_ERR_INVAL;
    struct tgx_u256 r = {{0, 0, 0, 0}};
    for (size_t i = 0; i < len; i++) {
        int v = u256_hexval(s[i]);
        if (v < 0 || (r.w[3] >> 60) != 0) /* a bad digit, or the shift would drop bits */
            return -TGX_ERR_INVAL;
        r.w[3] = (r.w[3] << 4) | (r.w[2] >> 60);
        r.w[2] = (r.w[2] << 4) | (r.w[1] >> 60);
        r.w[1] = (r.w[1] << 4) | (r.w[0] >> 60);
        r.w[0] = (r.w[0] << 4) | (uint64_t)v;
    }
    *out = r;
    return 0;
}

int tgx_u256_from_hex(const char *s, struct tgx_u256 *out)
{
    return tgx_u256_from_hexn(s, strlen(s), out);
}

int tgx_u256_parse(const char *s, struct tgx_u256 *out)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return tgx_u256_from_hex(s, out);
    return tgx_u256_from_dec(s, out);
}

void tgx_u256_to_dec(const struct tgx_u256 *a, char out[TGX_U256_DEC_MAX + 1])
{
    uint64_t chunks[5]; /* base 10^19 digits, least significant first; 2^256 < 10^95 */
    int n = 0;
    struct tgx_u256 v = *a;
    do {
        chunks[n] = u256_divmod(&v, &v, 10000000000000000000ULL);
        n++;
    } while (!tgx_u256_is_zero(&v));
    size_t len = (size_t)snprintf(out, TGX_U256_DEC_MAX + 1, "%" PRIu64, chunks[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        len += (size_t)snprintf(out + len, TGX_U256_DEC_MAX + 1 - len, "%019" PRIu64, chunks[i]);
}

void tgx_u256_to_hex(const struct tgx_u256 *a, char out[TGX_U256_HEX_MAX + 1])
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    out[n++] = '0';
    out[n++] = 'x';
    bool started = false;
    for (int i = 63; i >= 0; i--) {
        unsigned d = (unsigned)(a->w[i / 16] >> (4 * (i % 16))) & 0xf;
        if (d != 0)
            started = true;
        if (started || i == 0)
            out[n++] = digits[d];
    }
    out[n] = '\0';
}

void tgx_u256_to_be(const struct tgx_u256 *a, uint8_t out[32])
{
    for (int i = 0; i < 32; i++)
        out[31 - i] = (uint8_t)(a->w[i / 8] >> (8 * (i % 8)));
}

struct tgx_u256 tgx_u256_from_be_n(const uint8_t *in, size_t n)
{
    struct tgx_u256 r = {{0, 0, 0, 0}};
    if (n > 32)
        n = 32;
    for (size_t i = 0; i < n; i++) {
        size_t bytepos = n - 1 - i; /* significance of in[i] */
        r.w[bytepos / 8] |= (uint64_t)in[i] << (8 * (bytepos % 8));
    }
    return r;
}

struct tgx_u256 tgx_u256_from_be(const uint8_t in[32])
{
    return tgx_u256_from_be_n(in, 32);
}
