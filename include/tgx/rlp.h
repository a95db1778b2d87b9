/* rlp.h: Recursive Length Prefix encoding (Ethereum yellow paper, appendix B) and a strict decoder. */
#ifndef TGX_RLP_H
#define TGX_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"
#include "tgx/u256.h"

/*
 * Encoding appends to a struct tgx_buf (sticky out-of-memory: check tgx_buf_oom() once at the end).
 * Integers are minimal big-endian byte strings (0 is the empty string 0x80).  A list is written
 * between tgx_rlp_list_begin and tgx_rlp_list_end, and lists nest:
 *     size_t m = tgx_rlp_list_begin(b); tgx_rlp_put_u64(b, 1); tgx_rlp_list_end(b, m);
 */

/* Append the byte string of the N bytes at DATA (DATA may be NULL when N is 0). */
void tgx_rlp_put_bytes(struct tgx_buf *out, const void *data, size_t n);
/* Append the unsigned integer V. */
void tgx_rlp_put_u64(struct tgx_buf *out, uint64_t v);
/* Append the unsigned integer *V. */
void tgx_rlp_put_u256(struct tgx_buf *out, const struct tgx_u256 *v);
/* Append the N bytes at RLP verbatim: an item encoded elsewhere (e.g. a decoded access list). */
void tgx_rlp_put_raw(struct tgx_buf *out, const void *rlp, size_t n);
/* Start a list: returns the mark to give tgx_rlp_list_end. */
size_t tgx_rlp_list_begin(const struct tgx_buf *out);
/* Close the list started at MARK: everything appended since becomes its payload (prefix inserted). */
void tgx_rlp_list_end(struct tgx_buf *out, size_t mark);

/* What a decoded item is. */
enum tgx_rlp_kind {
    TGX_RLP_STRING = 0, /* a byte string: data/len are its bytes */
    TGX_RLP_LIST = 1,   /* a list: data/len are the concatenated encodings of its items */
};

/* A decoded item: pointers BORROWED from the input, valid while the input is. */
struct tgx_rlp_item {
    enum tgx_rlp_kind kind;
    const uint8_t *data; /* the payload */
    size_t len;
    const uint8_t *raw; /* the whole encoding, prefix included */
    size_t raw_len;
};

/*
 * Decode the item at the start of the LEN bytes IN into *ITEM; *CONSUMED (may be NULL) gets its
 * encoded length.  Strict (canonical) decoding: -TGX_ERR_INVAL for a truncated item, a single
 * byte < 0x80 written with a prefix, a long form for a length <= 55, or a length with leading zeros.
 */
int tgx_rlp_decode(const uint8_t *in, size_t len, struct tgx_rlp_item *item /* OUT */,
                   size_t *consumed /* OUT */) TGX_MUSTCHECK;
/* The same, and -TGX_ERR_INVAL unless the item takes exactly LEN bytes. */
int tgx_rlp_decode_all(const uint8_t *in, size_t len, struct tgx_rlp_item *item /* OUT */) TGX_MUSTCHECK;

/* An iterator over the items of a list, embedded by the caller (no cleanup). */
struct tgx_rlp_iter {
    const uint8_t *p;
    size_t left;
};

/* Start iterating over LIST (which must be a TGX_RLP_LIST item; a string yields nothing). */
void tgx_rlp_iter_init(struct tgx_rlp_iter *it, const struct tgx_rlp_item *list);
/* The next item: 1 and *ITEM, 0 at the end, -TGX_ERR_INVAL for a malformed item. */
int tgx_rlp_iter_next(struct tgx_rlp_iter *it, struct tgx_rlp_item *item /* OUT */) TGX_MUSTCHECK;
/* The items of LIST into ITEMS[0..MAX-1], *N their count; -TGX_ERR_INVAL when malformed or more than MAX. */
int tgx_rlp_list_items(const struct tgx_rlp_item *list, struct tgx_rlp_item *items /* OUT */, size_t max,
                       size_t *n /* OUT */) TGX_MUSTCHECK;

/* The unsigned integer of string ITEM (minimal: no leading zero byte, at most 8 bytes); -TGX_ERR_INVAL. */
int tgx_rlp_item_u64(const struct tgx_rlp_item *item, uint64_t *out /* OUT */) TGX_MUSTCHECK;
/* The same up to 32 bytes. */
int tgx_rlp_item_u256(const struct tgx_rlp_item *item, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;

#endif
