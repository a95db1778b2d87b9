/* tx.h: Ethereum transactions: legacy EIP-155 and EIP-1559 (type 2), signing, raw bytes, hash, decoding. */
#ifndef TGX_TX_H
#define TGX_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"
#include "tgx/secp.h"
#include "tgx/u256.h"

/* The transaction types handled. */
enum tgx_tx_type {
    TGX_TX_LEGACY = 0,  /* rlp([nonce, gasPrice, gas, to, value, data, v, r, s]); EIP-155 replay protection */
    TGX_TX_EIP1559 = 2, /* 0x02 || rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data,
                           accessList, yParity, r, s]) */
};

/*
 * An unsigned transaction, a plain value filled by the caller (zero it first: {0}).  DATA and
 * ACCESS_LIST are BORROWED (after tgx_tx_decode they point into the raw bytes).
 */
struct tgx_tx {
    enum tgx_tx_type type;
    uint64_t chain_id; /* legacy: 0 = pre-EIP-155 (v = 27/28) */
    uint64_t nonce;
    struct tgx_u256 gas_price;                /* legacy only */
    struct tgx_u256 max_priority_fee_per_gas; /* type 2 only */
    struct tgx_u256 max_fee_per_gas;          /* type 2 only */
    uint64_t gas_limit;
    bool has_to; /* false: contract creation (empty "to") */
    uint8_t to[20];
    struct tgx_u256 value; /* wei */
    const uint8_t *data;   /* calldata (NULL when DATA_LEN is 0) */
    size_t data_len;
    const uint8_t *access_list; /* type 2: the RLP of the access list; NULL: empty (0xc0) */
    size_t access_list_len;
};

/* A signed transaction as sent: RAW bytes (owned, cleanup frees them) and HASH = keccak256(RAW). */
struct tgx_tx_signed {
    struct tgx_buf raw;
    uint8_t hash[32];
};

/* Initialise an empty signed transaction (allocates nothing). */
void tgx_tx_signed_init(struct tgx_tx_signed *st);
/* Free the raw bytes. */
void tgx_tx_signed_cleanup(struct tgx_tx_signed *st);

/* Append the signing payload of TX (legacy: the EIP-155 9-field list; type 2: 0x02 || rlp(9 fields)) to OUT.
 */
int tgx_tx_encode_unsigned(const struct tgx_tx *tx, struct tgx_buf *out) TGX_MUSTCHECK;
/* The digest to sign: keccak256 of the signing payload; -TGX_ERR_INVAL (bad type), -TGX_ERR_NOMEM. */
int tgx_tx_signing_hash(const struct tgx_tx *tx, uint8_t out[32] /* OUT */) TGX_MUSTCHECK;
/* Append the raw signed bytes of TX with SIG (v derived from sig->recid and the type) to OUT. */
int tgx_tx_encode_signed(const struct tgx_tx *tx, const struct tgx_secp_sig *sig,
                         struct tgx_buf *out) TGX_MUSTCHECK;
/*
 * Sign TX with SECRET: OUT (initialised by the caller, reset here) gets the raw bytes and the hash.
 * -TGX_ERR_INVAL for a bad type or secret, -TGX_ERR_NOMEM, -TGX_ERR_CRYPTO.
 */
int tgx_tx_sign(const struct tgx_tx *tx, const uint8_t secret[TGX_SECP_SECRET_LEN],
                struct tgx_tx_signed *out /* OUT */) TGX_MUSTCHECK;

/*
 * Decode the LEN raw signed bytes RAW (legacy or type 2) into *TX (pointers into RAW), *SIG (may be
 * NULL), the recovered sender FROM (may be NULL) and HASH (may be NULL).  Legacy v: 27/28 (no chain
 * id) or 35 + 2*chainId + recid.  -TGX_ERR_INVAL for anything malformed, trailing bytes, an unknown
 * type, a high-S or unrecoverable signature; -TGX_ERR_NOMEM.
 */
int tgx_tx_decode(const uint8_t *raw, size_t len, struct tgx_tx *tx /* OUT */,
                  struct tgx_secp_sig *sig /* OUT */, uint8_t from[TGX_ADDRESS_LEN] /* OUT */,
                  uint8_t hash[32] /* OUT */) TGX_MUSTCHECK;

#endif
