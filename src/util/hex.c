/* hex.c: lower-case hexadecimal encoding and strict decoding. */
#include "tgx/hex.h"

static const char hex_digits[] = "0123456789abcdef";

void tgx_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* The value of hex digit C, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tgx_hex_decode(const char *hex, size_t len, uint8_t *out, size_t outcap, size_t *outlen)
{
    if (len % 2 != 0 || len / 2 > outcap)
        return -TGX_ERR_INVAL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -TGX_ERR_INVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *outlen = len / 2;
    return 0;
}
