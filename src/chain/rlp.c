/* rlp.c: RLP encoding into a tgx_buf and strict decoding (yellow paper appendix B). */
#include <string.h>

#include "tgx/rlp.h"

/* Write the big-endian bytes of V without leading zeros into OUT[8]; returns their count (0 for 0). */
static size_t rlp_be_u64(uint64_t v, uint8_t out[8])
{
    size_t n = 0;
    for (int shift = 56; shift >= 0; shift -= 8) {
        uint8_t b = (uint8_t)(v >> shift);
        if (n == 0 && b == 0)
            continue;
        out[n++] = b;
    }
    return n;
}

/* Write the prefix for a payload of LEN bytes with OFFSET 0x80 (string) or 0xc0 (list) into HDR[9]. */
static size_t rlp_header(size_t len, uint8_t offset, uint8_t hdr[9])
{
    if (len <= 55) {
        hdr[0] = (uint8_t)(offset + len);
        return 1;
    }
    uint8_t be[8];
    size_t n = rlp_be_u64((uint64_t)len, be);
    hdr[0] = (uint8_t)(offset + 55 + n);
    memcpy(hdr + 1, be, n);
    return 1 + n;
}

void tgx_rlp_put_bytes(struct tgx_buf *out, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (n == 1 && p[0] < 0x80) {
        tgx_buf_append(out, p, 1);
        return;
    }
    uint8_t hdr[9];
    tgx_buf_append(out, hdr, rlp_header(n, 0x80, hdr));
    if (n > 0)
        tgx_buf_append(out, data, n);
}

void tgx_rlp_put_u64(struct tgx_buf *out, uint64_t v)
{
    uint8_t be[8];
    size_t n = rlp_be_u64(v, be);
    tgx_rlp_put_bytes(out, be, n);
}

void tgx_rlp_put_u256(struct tgx_buf *out, const struct tgx_u256 *v)
{
    uint8_t be[32];
    tgx_u256_to_be(v, be);
    size_t skip = 0;
    while (skip < 32 && be[skip] == 0)
        skip++;
    tgx_rlp_put_bytes(out, be + skip, 32 - skip);
}

void tgx_rlp_put_raw(struct tgx_buf *out, const void *rlp, size_t n)
{
    if (n > 0)
        tgx_buf_append(out, rlp, n);
}

size_t tgx_rlp_list_begin(const struct tgx_buf *out)
{
    return out->len;
}

void tgx_rlp_list_end(struct tgx_buf *out, size_t mark)
{
    if (tgx_buf_oom(out) || mark > out->len)
        return;
    size_t payload = out->len - mark;
    uint8_t hdr[9];
    size_t h = rlp_header(payload, 0xc0, hdr);
    tgx_buf_append(out, hdr, h); /* grow by h bytes (contents fixed below) */
    if (tgx_buf_oom(out))
        return;
    memmove(out->data + mark + h, out->data + mark, payload);
    memcpy(out->data + mark, hdr, h);
}

/* ------------------------------------------------------------------ decoding */

/* The big-endian length in the N (1..8) bytes at P, canonical (no leading zero, > 55); -TGX_ERR_INVAL. */
static int rlp_long_len(const uint8_t *p, size_t n, size_t *out)
{
    if (n > sizeof(size_t) || p[0] == 0)
        return -TGX_ERR_INVAL;
    size_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (v <= 55)
        return -TGX_ERR_INVAL;
    *out = v;
    return 0;
}

int tgx_rlp_decode(const uint8_t *in, size_t len, struct tgx_rlp_item *item, size_t *consumed)
{
    if (in == NULL || len == 0)
        return -TGX_ERR_INVAL;
    uint8_t b = in[0];
    size_t hdr, plen;
    enum tgx_rlp_kind kind;
    if (b < 0x80) { /* a single byte, itself */
        kind = TGX_RLP_STRING;
        hdr = 0;
        plen = 1;
    } else if (b <= 0xb7) {
        kind = TGX_RLP_STRING;
        hdr = 1;
        plen = b - 0x80u;
        if (plen == 1 && (len < 2 || in[1] < 0x80))
            return -TGX_ERR_INVAL; /* truncated, or a single byte < 0x80 that should stand alone */
    } else if (b <= 0xbf) {
        kind = TGX_RLP_STRING;
        size_t n = b - 0xb7u;
        if (len < 1 + n || rlp_long_len(in + 1, n, &plen) < 0)
            return -TGX_ERR_INVAL;
        hdr = 1 + n;
    } else if (b <= 0xf7) {
        kind = TGX_RLP_LIST;
        hdr = 1;
        plen = b - 0xc0u;
    } else {
        kind = TGX_RLP_LIST;
        size_t n = b - 0xf7u;
        if (len < 1 + n || rlp_long_len(in + 1, n, &plen) < 0)
            return -TGX_ERR_INVAL;
        hdr = 1 + n;
    }
    if (plen > len - hdr)
        return -TGX_ERR_INVAL;
    item->kind = kind;
    item->data = in + hdr;
    item->len = plen;
    item->raw = in;
    item->raw_len = hdr + plen;
    if (consumed != NULL)
        *consumed = hdr + plen;
    return 0;
}

int tgx_rlp_decode_all(const uint8_t *in, size_t len, struct tgx_rlp_item *item)
{
    size_t used;
    int rc = tgx_rlp_decode(in, len, item, &used);
    if (rc < 0)
        return rc;
    return used == len ? 0 : -TGX_ERR_INVAL;
}

void tgx_rlp_iter_init(struct tgx_rlp_iter *it, const struct tgx_rlp_item *list)
{
    it->p = list->kind == TGX_RLP_LIST ? list->data : NULL;
    it->left = list->kind == TGX_RLP_LIST ? list->len : 0;
}

int tgx_rlp_iter_next(struct tgx_rlp_iter *it, struct tgx_rlp_item *item)
{
    if (it->left == 0)
        return 0;
    size_t used;
    int rc = tgx_rlp_decode(it->p, it->left, item, &used);
    if (rc < 0)
        return rc;
    it->p += used;
    it->left -= used;
    return 1;
}

int tgx_rlp_list_items(const struct tgx_rlp_item *list, struct tgx_rlp_item *items, size_t max, size_t *n)
{
    if (list->kind != TGX_RLP_LIST)
        return -TGX_ERR_INVAL;
    struct tgx_rlp_iter it;
    tgx_rlp_iter_init(&it, list);
    size_t count = 0;
    for (;;) {
        struct tgx_rlp_item item;
        int rc = tgx_rlp_iter_next(&it, &item);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        if (count == max)
            return -TGX_ERR_INVAL;
        items[count++] = item;
    }
    *n = count;
    return 0;
}

/* Check that ITEM is a minimal integer of at most MAX bytes. */
static int rlp_check_uint(const struct tgx_rlp_item *item, size_t max)
{
    if (item->kind != TGX_RLP_STRING || item->len > max || (item->len > 0 && item->data[0] == 0))
        return -TGX_ERR_INVAL;
    return 0;
}

int tgx_rlp_item_u64(const struct tgx_rlp_item *item, uint64_t *out)
{
    if (rlp_check_uint(item, 8) < 0)
        return -TGX_ERR_INVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < item->len; i++)
        v = (v << 8) | item->data[i];
    *out = v;
    return 0;
}

int tgx_rlp_item_u256(const struct tgx_rlp_item *item, struct tgx_u256 *out)
{
    if (rlp_check_uint(item, 32) < 0)
        return -TGX_ERR_INVAL;
    *out = tgx_u256_from_be_n(item->data, item->len);
    return 0;
}
