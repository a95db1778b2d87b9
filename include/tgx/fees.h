/* fees.h: GET /api/fees: fee estimates from eth_estimateGas x eth_gasPrice + a keeper fee, with defaults. */
#ifndef TGX_FEES_H
#define TGX_FEES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/chains.h"
#include "tgx/err.h"
#include "tgx/http.h"
#include "tgx/u256.h"

/* Keeper fee: 2e12 wei (about the original's $0.006 off-chain fee). */
#define TGX_FEES_DEFAULT_KEEPER_FEE_WEI "2000000000000"
/* The global fallback fee: 1e15 wei = 0.001 ETH. */
#define TGX_FEES_DEFAULT_FEE_WEI "1000000000000000"
/* The eth_estimateGas sender. */
#define TGX_FEES_DEFAULT_FROM "0x0000000000000000000000000000000000000001"
/* Total time of one JSON-RPC call. */
#define TGX_FEES_DEFAULT_TIMEOUT_MS 5000
/* How long an eth_gasPrice answer (or an unreachable node) is cached. */
#define TGX_FEES_DEFAULT_PRICE_TTL_MS 3000
/* The gas limit used when eth_estimateGas fails or cannot be asked. */
#define TGX_FEES_FALLBACK_GAS 300000
/* The buffer: total_fee = ceil(current_total_fee * 6 / 5) = ceil(1.2 x). */
#define TGX_FEES_BUFFER_NUM 6
#define TGX_FEES_BUFFER_DEN 5

/*
 * Configuration of the fee estimator.  Every pointer is borrowed for the duration of
 * tgx_fees_create() only (strings are copied), except CHAINS, which must outlive the fees object.
 * Zero / NULL fields take the defaults above.
 */
struct tgx_fees_config {
    const struct tgx_chains *chains;       /* the --rpc table (borrowed, must outlive); NULL: no chain */
    const char *keeper_fee_wei;            /* decimal wei added to every estimate (--keeper-fee-wei) */
    const char *default_fee_wei;           /* global fallback, decimal wei > 0 */
    const char *const *chain_default_fees; /* --default-fee-wei items: "CHAIN_ID=WEI", or a bare "WEI" which
                                              sets the global fallback (overrides DEFAULT_FEE_WEI) */
    size_t n_chain_default_fees;           /* number of items (e.g. a struct tgx_strv's .v and .n) */
    const char *from_address;              /* eth_estimateGas "from" (0x + 40 hex) */
    long rpc_timeout_ms;                   /* total time of one JSON-RPC call (connect is 2 s) */
    long price_ttl_ms;                     /* eth_gasPrice cache lifetime; negative: no cache */
};

/* The fee estimator (opaque): config, one JSON-RPC client per configured chain, the gas-price cache.
 * Thread-safe: handlers on several worker threads share one. */
struct tgx_fees;

/* Where an estimate came from (also sent as the X-Fee-Source response header). */
enum tgx_fees_source {
    TGX_FEES_SRC_ESTIMATED = 0, /* gas = eth_estimateGas, price = eth_gasPrice */
    TGX_FEES_SRC_FALLBACK_GAS,  /* gas = TGX_FEES_FALLBACK_GAS (estimation failed or no arguments to encode),
                                   price = eth_gasPrice */
    TGX_FEES_SRC_DEFAULT,       /* no usable chain or not enough fields: the configured default fee */
};

/* One estimate, all in wei. */
struct tgx_fees_estimate {
    enum tgx_fees_source source;
    uint64_t gas;                      /* gas limit used (0 for SRC_DEFAULT) */
    struct tgx_u256 gas_price;         /* wei per gas (0 for SRC_DEFAULT) */
    struct tgx_u256 current_total_fee; /* gas * price + keeper fee, or default + keeper fee; never 0 */
    struct tgx_u256 total_fee;         /* ceil(1.2 * current_total_fee) */
};

/* The query of GET /api/fees (triggerx-api.md 2.6); every field borrowed, NULL or "" when absent. */
struct tgx_fees_query {
    const char *task_definition_id;
    const char *target_chain_id;
    const char *target_contract_address;
    const char *target_function; /* bare name or full signature "name(type,...)" */
    const char *abi;             /* JSON text of the ABI array */
    const char *args;            /* JSON text of the arguments array */
    const char *ipfs_url;        /* accepted and ignored (scripts are not run to price them) */
};

/* A bad query value: the 400 answer's code, field and message. */
struct tgx_fees_error {
    const char *code;  /* UPPER_SNAKE, static */
    const char *field; /* the query parameter at fault, static */
    char message[256]; /* lower case, no trailing period */
};

/*
 * Build the estimator from CFG into *OUT.  -TGX_ERR_INVAL (after logging why) for a bad wei value,
 * a bad "CHAIN_ID=WEI" item, a zero default fee or a bad from address; -TGX_ERR_NOMEM.
 */
int tgx_fees_create(const struct tgx_fees_config *cfg, struct tgx_fees **out /* OUT */) TGX_MUSTCHECK;
/* Free the estimator (NULL is fine). */
void tgx_fees_free(struct tgx_fees *f);

/* Check a wei value (decimal digits, < 2^256) for a config validate hook; -TGX_ERR_INVAL with ERR. */
int tgx_fees_check_wei(const char *s, char *err /* OUT */, size_t errlen) TGX_MUSTCHECK;
/* Check one --default-fee-wei item ("CHAIN_ID=WEI" or "WEI", WEI > 0); -TGX_ERR_INVAL with ERR. */
int tgx_fees_check_default_item(const char *s, char *err /* OUT */, size_t errlen) TGX_MUSTCHECK;

/*
 * The formula with the chain's answers given: current = GAS * PRICE + KEEPER_FEE, total = ceil(1.2 current);
 * SOURCE is copied into OUT.  -TGX_ERR_INVAL on 256-bit overflow or when current would be 0.
 */
int tgx_fees_formula_chain(uint64_t gas, const struct tgx_u256 *price, const struct tgx_u256 *keeper_fee,
                           enum tgx_fees_source source,
                           struct tgx_fees_estimate *out /* OUT */) TGX_MUSTCHECK;
/* The formula without a chain: current = DEFAULT_FEE + KEEPER_FEE, total = ceil(1.2 current); -TGX_ERR_INVAL.
 */
int tgx_fees_formula_default(const struct tgx_u256 *default_fee, const struct tgx_u256 *keeper_fee,
                             struct tgx_fees_estimate *out /* OUT */) TGX_MUSTCHECK;

/*
 * Validate Q and estimate into *OUT, asking the chain when it is configured and the query names a
 * contract, a function and an ABI.  -TGX_ERR_INVAL for a bad query value, with ERR filled (the caller
 * answers 400); -TGX_ERR_NOMEM.  Chain trouble is never an error: it selects the default.
 */
int tgx_fees_estimate(struct tgx_fees *f, const struct tgx_fees_query *q,
                      struct tgx_fees_estimate *out /* OUT */,
                      struct tgx_fees_error *err /* OUT */) TGX_MUSTCHECK;
/*
 * The 200 body of an estimate: {"total_fee":N,"total_fee_wei":"N","current_total_fee":M,
 * "current_total_fee_wei":"M"} as a NEW reference (NULL on oom).  The numbers are JSON integers when
 * they fit in int64, else raw number literals (jsonnum.h): exact digits once written by tgx_json_dump().
 */
json_t *tgx_fees_estimate_json(const struct tgx_fees_estimate *e);
/* The name of SOURCE: "estimated", "fallback_gas" or "default". */
const char *tgx_fees_source_name(enum tgx_fees_source source);

/* GET /api/fees (route flags TGX_ROUTE_OPEN); CTX is the struct tgx_fees *. */
int tgx_api_fees(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);

#endif
