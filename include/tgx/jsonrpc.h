/* jsonrpc.h: an Ethereum JSON-RPC 2.0 client over HTTP(S) with libcurl: generic calls and typed helpers. */
#ifndef TGX_JSONRPC_H
#define TGX_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"
#include "tgx/u256.h"

#define TGX_JSONRPC_CONNECT_TIMEOUT_MS 2000        /* TCP (+TLS) connect */
#define TGX_JSONRPC_DEFAULT_TIMEOUT_MS 5000        /* whole call, when 0 is given */
#define TGX_JSONRPC_MAX_RESPONSE       (64u << 20) /* bytes of a response body (eth_getLogs can be big) */

/* How a call failed; the return code says the same coarsely. */
enum tgx_jsonrpc_status {
    TGX_JSONRPC_OK = 0,    /* a result came back */
    TGX_JSONRPC_TRANSPORT, /* no answer: refused, unresolvable, timeout, reset, HTTP 429/5xx without a
                              JSON-RPC body.  Transient: retry later.  Returned as -TGX_ERR_IO */
    TGX_JSONRPC_PROTOCOL,  /* an answer that is not JSON-RPC (bad JSON, no result, other HTTP status, too
                              big, a result of the wrong shape for a typed helper).  -TGX_ERR_INVAL */
    TGX_JSONRPC_RPC,       /* the node answered a JSON-RPC error object (code, message, data), e.g.
                              execution reverted.  -TGX_ERR_STATE */
};

/*
 * The details of a failed call, filled when the caller passes one (may be NULL).  Embedded by the
 * caller; tgx_jsonrpc_error_cleanup releases DATA.  Each call starts by resetting it (releasing
 * what a previous call left), so one struct can serve a sequence of calls.
 */
struct tgx_jsonrpc_error {
    enum tgx_jsonrpc_status status;
    long code;         /* JSON-RPC error code (RPC), or the HTTP status (TRANSPORT/PROTOCOL; 0 when none) */
    char message[256]; /* the node's message (RPC) or what went wrong, for a person */
    json_t *data;      /* RPC: the error's "data" member (a new reference, or NULL) */
};

/*
 * A client for one endpoint URL (opaque).  Thread-safe: concurrent calls each take an idle libcurl
 * handle from the client's small pool (or make one), so connections are reused with keep-alive.
 */
struct tgx_jsonrpc;

/*
 * Create a client of URL (http:// or https://; copied) whose calls give up after TIMEOUT_MS in total
 * (0: TGX_JSONRPC_DEFAULT_TIMEOUT_MS).  Initialises libcurl once per process.  -TGX_ERR_INVAL for a
 * bad URL or timeout, -TGX_ERR_NOMEM.  No network traffic happens here.
 */
int tgx_jsonrpc_create(const char *url, long timeout_ms, struct tgx_jsonrpc **out /* OUT */) TGX_MUSTCHECK;
/* Close the client's connections and free it (NULL is fine); no call may be running. */
void tgx_jsonrpc_free(struct tgx_jsonrpc *c);
/* The URL (borrowed). */
const char *tgx_jsonrpc_url(const struct tgx_jsonrpc *c);
/* Release what ERR holds and zero it (NULL is fine). */
void tgx_jsonrpc_error_cleanup(struct tgx_jsonrpc_error *err);
/*
 * The revert data carried by an RPC error ("data" as a 0x-hex string, or an object whose "data" is),
 * appended to OUT as bytes.  -TGX_ERR_NOTFOUND when ERR has none; -TGX_ERR_NOMEM.
 */
int tgx_jsonrpc_error_revert_data(const struct tgx_jsonrpc_error *err, struct tgx_buf *out) TGX_MUSTCHECK;

/*
 * Call METHOD with PARAMS (a JSON array, STOLEN, like jansson's *_new functions: pass json_array()
 * for none; NULL, e.g. from a json_pack that failed for lack of memory, gives -TGX_ERR_NOMEM).
 * On success *RESULT is a NEW reference to the "result" member (JSON null stays json_null(): e.g. a
 * receipt not yet mined).  -TGX_ERR_IO (transport), -TGX_ERR_INVAL (protocol), -TGX_ERR_STATE (RPC
 * error), -TGX_ERR_NOMEM; ERR (may be NULL) gets the details.
 */
int tgx_jsonrpc_call(struct tgx_jsonrpc *c, const char *method, json_t *params /* stolen */,
                     json_t **result /* OUT: new */, struct tgx_jsonrpc_error *err /* OUT */) TGX_MUSTCHECK;

/* A message call or transaction for eth_call / eth_estimateGas; NULL / 0 fields are omitted. */
struct tgx_jsonrpc_msg {
    const char *from;    /* 0x address */
    const char *to;      /* 0x address; NULL: contract creation */
    const uint8_t *data; /* calldata (sent as "input"-compatible "data" hex) */
    size_t data_len;
    const struct tgx_u256 *value; /* wei */
    uint64_t gas;                 /* gas limit */
};

/* Quantities: parse a JSON-RPC quantity string ("0x1a", no leading zeros required) from V. */
int tgx_jsonrpc_quantity_u256(const json_t *v, struct tgx_u256 *out /* OUT */) TGX_MUSTCHECK;
/* The same for values that must fit in 64 bits (block numbers, nonces, gas); -TGX_ERR_INVAL. */
int tgx_jsonrpc_quantity_u64(const json_t *v, uint64_t *out /* OUT */) TGX_MUSTCHECK;
/* The request object of MSG as a NEW reference ({"from","to","data","value","gas"}); NULL on oom. */
json_t *tgx_jsonrpc_msg_json(const struct tgx_jsonrpc_msg *msg);

/* Typed helpers: each returns like tgx_jsonrpc_call; a result of the wrong shape is PROTOCOL. */
/* eth_chainId. */
int tgx_jsonrpc_chain_id(struct tgx_jsonrpc *c, uint64_t *out /* OUT */,
                         struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_blockNumber. */
int tgx_jsonrpc_block_number(struct tgx_jsonrpc *c, uint64_t *out /* OUT */,
                             struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_gasPrice (wei per gas). */
int tgx_jsonrpc_gas_price(struct tgx_jsonrpc *c, struct tgx_u256 *out /* OUT */,
                          struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_maxPriorityFeePerGas (wei per gas). */
int tgx_jsonrpc_max_priority_fee(struct tgx_jsonrpc *c, struct tgx_u256 *out /* OUT */,
                                 struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_estimateGas of MSG at "latest"; a revert is an RPC error with the revert data in ERR->data. */
int tgx_jsonrpc_estimate_gas(struct tgx_jsonrpc *c, const struct tgx_jsonrpc_msg *msg,
                             uint64_t *out /* OUT */, struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_call of MSG at BLOCK ("latest", "pending", "0x10"; NULL: "latest"); return data appended to OUT. */
int tgx_jsonrpc_eth_call(struct tgx_jsonrpc *c, const struct tgx_jsonrpc_msg *msg, const char *block,
                         struct tgx_buf *out, struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_getBalance of ADDRESS at BLOCK (NULL: "latest"). */
int tgx_jsonrpc_get_balance(struct tgx_jsonrpc *c, const char *address, const char *block,
                            struct tgx_u256 *out /* OUT */, struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_getTransactionCount of ADDRESS at BLOCK (NULL: "pending"): the next nonce. */
int tgx_jsonrpc_get_transaction_count(struct tgx_jsonrpc *c, const char *address, const char *block,
                                      uint64_t *out /* OUT */, struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_sendRawTransaction of the LEN signed bytes RAW; the "0x..." hash (67 bytes with NUL) into HASH. */
int tgx_jsonrpc_send_raw_transaction(struct tgx_jsonrpc *c, const uint8_t *raw, size_t len,
                                     char hash[67] /* OUT */, struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_getTransactionReceipt of HASH: *OUT a NEW object, or NULL (with return 0) when not yet mined. */
int tgx_jsonrpc_get_receipt(struct tgx_jsonrpc *c, const char *hash, json_t **out /* OUT: new or NULL */,
                            struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_getTransactionByHash: *OUT a NEW object, or NULL (return 0) when unknown. */
int tgx_jsonrpc_get_transaction(struct tgx_jsonrpc *c, const char *hash, json_t **out /* OUT: new or NULL */,
                                struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_getBlockByNumber of BLOCK ("latest", "0x10"); FULL: whole transactions.  *OUT NEW or NULL (unknown). */
int tgx_jsonrpc_get_block(struct tgx_jsonrpc *c, const char *block, bool full,
                          json_t **out /* OUT: new or NULL */, struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/* eth_getLogs with FILTER (an object, STOLEN): *OUT a NEW array of log objects. */
int tgx_jsonrpc_get_logs(struct tgx_jsonrpc *c, json_t *filter /* stolen */, json_t **out /* OUT: new */,
                         struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;
/*
 * eth_feeHistory over BLOCKS blocks ending at NEWEST (NULL: "latest") with the NPCT reward
 * percentiles PCT (may be 0): *OUT a NEW object {oldestBlock, baseFeePerGas, gasUsedRatio, reward?}.
 */
int tgx_jsonrpc_fee_history(struct tgx_jsonrpc *c, unsigned blocks, const char *newest, const double *pct,
                            size_t npct, json_t **out /* OUT: new */,
                            struct tgx_jsonrpc_error *err) TGX_MUSTCHECK;

#endif
