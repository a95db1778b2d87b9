/* tx.c: legacy EIP-155 and EIP-1559 transactions: signing payload, signing, raw bytes, hash, decoding. */
#include <string.h>

#include "tgx/keccak.h"
#include "tgx/rlp.h"
#include "tgx/tx.h"

void tgx_tx_signed_init(struct tgx_tx_signed *st)
{
    tgx_buf_init(&st->raw);
    memset(st->hash, 0, sizeof st->hash);
}

void tgx_tx_signed_cleanup(struct tgx_tx_signed *st)
{
    tgx_buf_cleanup(&st->raw);
}

/* Append the fields both forms share, in the order of TX's type (everything up to data / access list). */
static void tx_put_fields(const struct tgx_tx *tx, struct tgx_buf *out)
{
    if (tx->type == TGX_TX_EIP1559) {
        tgx_rlp_put_u64(out, tx->chain_id);
        tgx_rlp_put_u64(out, tx->nonce);
        tgx_rlp_put_u256(out, &tx->max_priority_fee_per_gas);
        tgx_rlp_put_u256(out, &tx->max_fee_per_gas);
    } else {
        tgx_rlp_put_u64(out, tx->nonce);
        tgx_rlp_put_u256(out, &tx->gas_price);
    }
    tgx_rlp_put_u64(out, tx->gas_limit);
    tgx_rlp_put_bytes(out, tx->to, tx->has_to ? sizeof tx->to : 0);
    tgx_rlp_put_u256(out, &tx->value);
    tgx_rlp_put_bytes(out, tx->data, tx->data_len);
    if (tx->type == TGX_TX_EIP1559) {
        if (tx->access_list != NULL && tx->access_list_len > 0) {
            tgx_rlp_put_raw(out, tx->access_list, tx->access_list_len);
        } else {
            size_t m = tgx_rlp_list_begin(out);
            tgx_rlp_list_end(out, m);
        }
    }
}

/* Append the 32 big-endian bytes B as a minimal RLP integer. */
static void tx_put_be32(struct tgx_buf *out, const uint8_t b[32])
{
    size_t skip = 0;
    while (skip < 32 && b[skip] == 0)
        skip++;
    tgx_rlp_put_bytes(out, b + skip, 32 - skip);
}

static int tx_check(const struct tgx_tx *tx)
{
    if (tx->type != TGX_TX_LEGACY && tx->type != TGX_TX_EIP1559)
        return -TGX_ERR_INVAL;
    if (tx->data_len > 0 && tx->data == NULL)
        return -TGX_ERR_INVAL;
    return 0;
}

int tgx_tx_encode_unsigned(const struct tgx_tx *tx, struct tgx_buf *out)
{
    int rc = tx_check(tx);
    if (rc < 0)
        return rc;
    if (tx->type == TGX_TX_EIP1559)
        tgx_buf_putc(out, (char)TGX_TX_EIP1559);
    size_t m = tgx_rlp_list_begin(out);
    tx_put_fields(tx, out);
    if (tx->type == TGX_TX_LEGACY && tx->chain_id != 0) { /* EIP-155: chainId, 0, 0 */
        tgx_rlp_put_u64(out, tx->chain_id);
        tgx_rlp_put_u64(out, 0);
        tgx_rlp_put_u64(out, 0);
    }
    tgx_rlp_list_end(out, m);
    return tgx_buf_oom(out) ? -TGX_ERR_NOMEM : 0;
}

int tgx_tx_signing_hash(const struct tgx_tx *tx, uint8_t out[32])
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    int rc = tgx_tx_encode_unsigned(tx, &b);
    if (rc == 0)
        tgx_keccak256(b.data, b.len, out);
    tgx_buf_cleanup(&b);
    return rc;
}

int tgx_tx_encode_signed(const struct tgx_tx *tx, const struct tgx_secp_sig *sig, struct tgx_buf *out)
{
    int rc = tx_check(tx);
    if (rc < 0)
        return rc;
    if (sig->recid < 0 || sig->recid > 1)
        return -TGX_ERR_INVAL;
    uint64_t v;
    if (tx->type == TGX_TX_EIP1559) {
        v = (uint64_t)sig->recid;
    } else if (tx->chain_id == 0) {
        v = 27 + (uint64_t)sig->recid;
    } else {
        if (tx->chain_id > (UINT64_MAX - 36) / 2)
            return -TGX_ERR_INVAL;
        v = (uint64_t)sig->recid + 2 * tx->chain_id + 35;
    }
    if (tx->type == TGX_TX_EIP1559)
        tgx_buf_putc(out, (char)TGX_TX_EIP1559);
    size_t m = tgx_rlp_list_begin(out);
    tx_put_fields(tx, out);
    tgx_rlp_put_u64(out, v);
    tx_put_be32(out, sig->r);
    tx_put_be32(out, sig->s);
    tgx_rlp_list_end(out, m);
    return tgx_buf_oom(out) ? -TGX_ERR_NOMEM : 0;
}

int tgx_tx_sign(const struct tgx_tx *tx, const uint8_t secret[TGX_SECP_SECRET_LEN], struct tgx_tx_signed *out)
{
    uint8_t digest[32];
    int rc = tgx_tx_signing_hash(tx, digest);
    if (rc < 0)
        return rc;
    struct tgx_secp_sig sig;
    rc = tgx_secp_sign(secret, digest, &sig);
    if (rc < 0)
        return rc;
    tgx_buf_reset(&out->raw);
    rc = tgx_tx_encode_signed(tx, &sig, &out->raw);
    if (rc < 0)
        return rc;
    tgx_keccak256(out->raw.data, out->raw.len, out->hash);
    return 0;
}

/* ------------------------------------------------------------------ decoding */

/* The 32 big-endian bytes of minimal integer ITEM (r or s, non-zero). */
static int tx_item_be32(const struct tgx_rlp_item *item, uint8_t out[32])
{
    struct tgx_u256 v;
    if (tgx_rlp_item_u256(item, &v) < 0 || tgx_u256_is_zero(&v))
        return -TGX_ERR_INVAL;
    tgx_u256_to_be(&v, out);
    return 0;
}

/* Decode the common fields ITEMS[0..] (after chainId for type 2) into TX; returns the next index or < 0. */
static int tx_decode_fields(const struct tgx_rlp_item *items, struct tgx_tx *tx)
{
    int i = 0;
    if (tgx_rlp_item_u64(&items[i++], &tx->nonce) < 0)
        return -TGX_ERR_INVAL;
    if (tx->type == TGX_TX_EIP1559) {
        if (tgx_rlp_item_u256(&items[i++], &tx->max_priority_fee_per_gas) < 0 ||
            tgx_rlp_item_u256(&items[i++], &tx->max_fee_per_gas) < 0)
            return -TGX_ERR_INVAL;
    } else if (tgx_rlp_item_u256(&items[i++], &tx->gas_price) < 0) {
        return -TGX_ERR_INVAL;
    }
    if (tgx_rlp_item_u64(&items[i++], &tx->gas_limit) < 0)
        return -TGX_ERR_INVAL;
    const struct tgx_rlp_item *to = &items[i++];
    if (to->kind != TGX_RLP_STRING || (to->len != 0 && to->len != 20))
        return -TGX_ERR_INVAL;
    tx->has_to = to->len == 20;
    if (tx->has_to)
        memcpy(tx->to, to->data, 20);
    if (tgx_rlp_item_u256(&items[i++], &tx->value) < 0)
        return -TGX_ERR_INVAL;
    const struct tgx_rlp_item *data = &items[i++];
    if (data->kind != TGX_RLP_STRING)
        return -TGX_ERR_INVAL;
    tx->data = data->len > 0 ? data->data : NULL;
    tx->data_len = data->len;
    return i;
}

int tgx_tx_decode(const uint8_t *raw, size_t len, struct tgx_tx *tx, struct tgx_secp_sig *sig_out,
                  uint8_t from[TGX_ADDRESS_LEN], uint8_t hash[32])
{
    if (raw == NULL || len == 0)
        return -TGX_ERR_INVAL;
    struct tgx_tx t;
    memset(&t, 0, sizeof t);
    struct tgx_secp_sig sig;
    struct tgx_rlp_item list, items[12];
    size_t n;
    uint64_t v;
    if (raw[0] == TGX_TX_EIP1559) {
        t.type = TGX_TX_EIP1559;
        if (tgx_rlp_decode_all(raw + 1, len - 1, &list) < 0 || tgx_rlp_list_items(&list, items, 12, &n) < 0 ||
            n != 12 || tgx_rlp_item_u64(&items[0], &t.chain_id) < 0)
            return -TGX_ERR_INVAL;
        int i = tx_decode_fields(items + 1, &t);
        if (i < 0)
            return i;
        const struct tgx_rlp_item *al = &items[1 + i];
        if (al->kind != TGX_RLP_LIST)
            return -TGX_ERR_INVAL;
        if (al->len > 0) {
            t.access_list = al->raw;
            t.access_list_len = al->raw_len;
        }
        if (tgx_rlp_item_u64(&items[9], &v) < 0 || v > 1)
            return -TGX_ERR_INVAL;
        sig.recid = (int)v;
    } else if (raw[0] >= 0xc0) {
        t.type = TGX_TX_LEGACY;
        if (tgx_rlp_decode_all(raw, len, &list) < 0 || tgx_rlp_list_items(&list, items, 12, &n) < 0 || n != 9)
            return -TGX_ERR_INVAL;
        if (tx_decode_fields(items, &t) < 0 || tgx_rlp_item_u64(&items[6], &v) < 0)
            return -TGX_ERR_INVAL;
        if (v == 27 || v == 28) {
            t.chain_id = 0;
            sig.recid = (int)(v - 27);
        } else if (v >= 37) {
            t.chain_id = (v - 35) / 2;
            sig.recid = (int)((v - 35) % 2);
        } else {
            return -TGX_ERR_INVAL;
        }
    } else {
        return -TGX_ERR_INVAL; /* another typed transaction (0x01, 0x03...) or garbage */
    }
    if (tx_item_be32(&items[n - 2], sig.r) < 0 || tx_item_be32(&items[n - 1], sig.s) < 0)
        return -TGX_ERR_INVAL;

    uint8_t digest[32], addr[TGX_ADDRESS_LEN];
    int rc = tgx_tx_signing_hash(&t, digest);
    if (rc < 0)
        return rc;
    rc = tgx_secp_recover(digest, &sig, addr);
    if (rc < 0)
        return rc;
    *tx = t;
    if (sig_out != NULL)
        *sig_out = sig;
    if (from != NULL)
        memcpy(from, addr, sizeof addr);
    if (hash != NULL)
        tgx_keccak256(raw, len, hash);
    return 0;
}
