/*
 * fees.c: GET /api/fees, the fee estimate the SDK deposits before it creates a job.
 *
 * Formula (all amounts in wei, 256-bit integers, no floating point):
 *
 *   When the target chain is configured (--rpc CHAIN_ID=URL) and answers, and the query names a
 *   contract (target_contract_address) and a function (target_function found in abi, or a full
 *   signature "name(type,...)" without abi):
 *       gas   = eth_estimateGas({from, to: contract, data: the encoded call})
 *               or 300000 (TGX_FEES_FALLBACK_GAS) when the estimation fails (e.g. the call reverts
 *               for the estimation sender) or cannot be asked (no args given for a function that
 *               takes arguments: dynamic-argument jobs);
 *       price = eth_gasPrice (cached per chain for a few seconds: price_ttl_ms, default 3 s);
 *       current_total_fee = gas * price + keeper_fee.
 *   Otherwise (chain not configured, unreachable, answering for another chain id, or fields
 *   missing):
 *       current_total_fee = default_fee(chain) + keeper_fee,
 *   where default_fee(chain) is the --default-fee-wei CHAIN_ID=WEI of that chain, else the
 *   global default (1e15 wei unless configured).
 *   In both cases total_fee = ceil(1.2 * current_total_fee) = ceil(current_total_fee * 6 / 5), the
 *   buffer the original applies, and current_total_fee is never 0 (the SDK refuses 0): a chain
 *   whose gas price is 0 with a zero keeper fee falls back to the default.
 *
 * Response 200 {"total_fee":N,"total_fee_wei":"N","current_total_fee":M,"current_total_fee_wei":"M"}
 * with header X-Fee-Source: estimated | fallback_gas | default.  Bad query values answer 400
 * {"error","code","field"}; chain trouble never does.  Unlike the original, ipfs_url scripts are
 * not downloaded and run to price them, and no ETH/USD price feed is consulted.
 */
#include "tgx/fees.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgx/abi.h"
#include "tgx/buf.h"
#include "tgx/jsonnum.h"
#include "tgx/jsonrpc.h"
#include "tgx/log.h"

/* One chain with an RPC URL: its client and the cached gas price. */
struct fees_chain {
    uint64_t chain_id;
    struct tgx_jsonrpc *rpc;
    pthread_mutex_t mu; /* guards the fields below */
    bool have;          /* a cached answer exists (valid until until_ns) */
    bool up;            /* the cached answer: reachable with PRICE, or down */
    struct tgx_u256 price;
    int64_t until_ns; /* CLOCK_MONOTONIC expiry of the cached answer */
    bool id_checked;  /* eth_chainId matched once */
    bool wrong_chain; /* eth_chainId answered another id: never used */
    bool logged_down; /* the last state change logged was "down" */
};

struct fees_default {
    uint64_t chain_id;
    struct tgx_u256 fee;
};

struct tgx_fees {
    struct fees_chain *chains;
    size_t nchains;
    struct fees_default *defaults;
    size_t ndefaults;
    struct tgx_u256 keeper_fee;
    struct tgx_u256 global_default;
    char from[43];
    long ttl_ms;
};

const char *tgx_fees_source_name(enum tgx_fees_source source)
{
    switch (source) {
    case TGX_FEES_SRC_ESTIMATED:
        return "estimated";
    case TGX_FEES_SRC_FALLBACK_GAS:
        return "fallback_gas";
    case TGX_FEES_SRC_DEFAULT:
        break;
    }
    return "default";
}

static int fees_msg(char *err, size_t errlen, const char *fmt, ...) TGX_PRINTF(3, 4);
static int fees_msg(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -TGX_ERR_INVAL;
}

/* ------------------------------------------------------------------ configuration */

/* Parse WEI (decimal digits) into *OUT; -TGX_ERR_INVAL with a message. */
static int fees_parse_wei(const char *s, struct tgx_u256 *out, char *err, size_t errlen)
{
    if (s == NULL || tgx_u256_from_dec(s, out) < 0)
        return fees_msg(err, errlen, "invalid wei amount \"%s\": expected decimal digits below 2^256",
                        s != NULL ? s : "");
    return 0;
}

int tgx_fees_check_wei(const char *s, char *err, size_t errlen)
{
    struct tgx_u256 v;
    return fees_parse_wei(s, &v, err, errlen);
}

/* Parse one --default-fee-wei item: *HAS_CHAIN tells whether it named a chain. */
static int fees_parse_default_item(const char *s, bool *has_chain, uint64_t *chain_id, struct tgx_u256 *fee,
                                   char *err, size_t errlen)
{
    const char *eq = strchr(s, '=');
    const char *wei = s;
    *has_chain = false;
    if (eq != NULL) {
        char id[24];
        size_t n = (size_t)(eq - s);
        if (n == 0 || n >= sizeof id)
            return fees_msg(err, errlen, "invalid default fee \"%s\": expected CHAIN_ID=WEI or WEI", s);
        memcpy(id, s, n);
        id[n] = '\0';
        if (tgx_chain_id_parse(id, chain_id) < 0)
            return fees_msg(err, errlen, "invalid chain id \"%s\" in default fee \"%s\"", id, s);
        *has_chain = true;
        wei = eq + 1;
    }
    if (fees_parse_wei(wei, fee, err, errlen) < 0)
        return -TGX_ERR_INVAL;
    if (tgx_u256_is_zero(fee))
        return fees_msg(err, errlen, "invalid default fee \"%s\": it must be greater than 0", s);
    return 0;
}

int tgx_fees_check_default_item(const char *s, char *err, size_t errlen)
{
    bool has;
    uint64_t id;
    struct tgx_u256 fee;
    if (s == NULL)
        return fees_msg(err, errlen, "missing default fee");
    return fees_parse_default_item(s, &has, &id, &fee, err, errlen);
}

void tgx_fees_free(struct tgx_fees *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nchains; i++) {
        tgx_jsonrpc_free(f->chains[i].rpc);
        pthread_mutex_destroy(&f->chains[i].mu);
    }
    free(f->chains);
    free(f->defaults);
    free(f);
}

int tgx_fees_create(const struct tgx_fees_config *cfg, struct tgx_fees **out)
{
    char err[256];
    struct tgx_fees *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -TGX_ERR_NOMEM;
    int rc = fees_parse_wei(cfg->keeper_fee_wei ? cfg->keeper_fee_wei : TGX_FEES_DEFAULT_KEEPER_FEE_WEI,
                            &f->keeper_fee, err, sizeof err);
    if (rc == 0)
        rc = fees_parse_wei(cfg->default_fee_wei ? cfg->default_fee_wei : TGX_FEES_DEFAULT_FEE_WEI,
                            &f->global_default, err, sizeof err);
    if (rc == 0 && tgx_u256_is_zero(&f->global_default))
        rc = fees_msg(err, sizeof err, "the default fee must be greater than 0");
    f->defaults = calloc(cfg->n_chain_default_fees + 1, sizeof *f->defaults);
    if (f->defaults == NULL) {
        tgx_fees_free(f);
        return -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < cfg->n_chain_default_fees; i++) {
        bool has;
        uint64_t id = 0;
        struct tgx_u256 fee;
        rc = fees_parse_default_item(cfg->chain_default_fees[i], &has, &id, &fee, err, sizeof err);
        if (rc == 0 && !has) {
            f->global_default = fee;
        } else if (rc == 0) {
            size_t k = 0;
            while (k < f->ndefaults && f->defaults[k].chain_id != id)
                k++;
            f->defaults[k].chain_id = id; /* a later item for the same chain wins */
            f->defaults[k].fee = fee;
            if (k == f->ndefaults)
                f->ndefaults++;
        }
    }
    const char *from = cfg->from_address ? cfg->from_address : TGX_FEES_DEFAULT_FROM;
    uint8_t addr[20];
    if (rc == 0 && tgx_abi_address_parse(from, addr) < 0)
        rc = fees_msg(err, sizeof err, "invalid fee estimation from-address \"%s\"", from);
    if (rc == 0) {
        char cs[43];
        tgx_abi_address_checksum(addr, cs);
        memcpy(f->from, cs, sizeof f->from);
    }
    if (rc == 0 && cfg->rpc_timeout_ms < 0)
        rc = fees_msg(err, sizeof err, "invalid RPC timeout %ld ms", cfg->rpc_timeout_ms);
    if (rc < 0) {
        tgx_log_error("fees", "%s", err);
        tgx_fees_free(f);
        return rc;
    }
    f->ttl_ms = cfg->price_ttl_ms == 0 ? TGX_FEES_DEFAULT_PRICE_TTL_MS : cfg->price_ttl_ms;
    size_t n = tgx_chains_count(cfg->chains);
    f->chains = calloc(n > 0 ? n : 1, sizeof *f->chains);
    if (f->chains == NULL) {
        tgx_fees_free(f);
        return -TGX_ERR_NOMEM;
    }
    long timeout = cfg->rpc_timeout_ms > 0 ? cfg->rpc_timeout_ms : TGX_FEES_DEFAULT_TIMEOUT_MS;
    for (size_t i = 0; i < n; i++) {
        const struct tgx_chain *ch = tgx_chains_at(cfg->chains, i);
        struct fees_chain *fc = &f->chains[i];
        fc->chain_id = ch->chain_id;
        rc = tgx_jsonrpc_create(ch->url, timeout, &fc->rpc);
        if (rc == 0 && pthread_mutex_init(&fc->mu, NULL) != 0) {
            tgx_jsonrpc_free(fc->rpc);
            rc = -TGX_ERR_NOMEM;
        }
        if (rc < 0) {
            tgx_log_error("fees", "could not set up the RPC client of chain %llu: %s",
                          (unsigned long long)ch->chain_id, tgx_err_str(rc));
            tgx_fees_free(f);
            return rc;
        }
        f->nchains++;
    }
    *out = f;
    return 0;
}

/* ------------------------------------------------------------------ formula */

int tgx_fees_formula_chain(uint64_t gas, const struct tgx_u256 *price, const struct tgx_u256 *keeper_fee,
                           enum tgx_fees_source source, struct tgx_fees_estimate *out)
{
    struct tgx_fees_estimate e = {.source = source, .gas = gas, .gas_price = *price};
    if (tgx_u256_mul_u64(&e.current_total_fee, price, gas) < 0 ||
        tgx_u256_add(&e.current_total_fee, &e.current_total_fee, keeper_fee) < 0 ||
        tgx_u256_is_zero(&e.current_total_fee) ||
        tgx_u256_mul_div_ceil(&e.total_fee, &e.current_total_fee, TGX_FEES_BUFFER_NUM, TGX_FEES_BUFFER_DEN) <
            0)
        return -TGX_ERR_INVAL;
    *out = e;
    return 0;
}

int tgx_fees_formula_default(const struct tgx_u256 *default_fee, const struct tgx_u256 *keeper_fee,
                             struct tgx_fees_estimate *out)
{
    struct tgx_fees_estimate e = {.source = TGX_FEES_SRC_DEFAULT};
    if (tgx_u256_add(&e.current_total_fee, default_fee, keeper_fee) < 0 ||
        tgx_u256_is_zero(&e.current_total_fee) ||
        tgx_u256_mul_div_ceil(&e.total_fee, &e.current_total_fee, TGX_FEES_BUFFER_NUM, TGX_FEES_BUFFER_DEN) <
            0)
        return -TGX_ERR_INVAL;
    *out = e;
    return 0;
}

/*
 * The JSON number for V: a json_integer when it fits int64, else a raw number literal (jsonnum.h) that
 * tgx_json_dump() writes as the exact decimal digits.
 */
static json_t *fees_number(const struct tgx_u256 *v)
{
    uint64_t x;
    if (tgx_u256_to_u64(v, &x) && x <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)x);
    char dec[TGX_U256_DEC_MAX + 1];
    tgx_u256_to_dec(v, dec);
    return tgx_json_rawnum(dec);
}

json_t *tgx_fees_estimate_json(const struct tgx_fees_estimate *e)
{
    char total[TGX_U256_DEC_MAX + 1], current[TGX_U256_DEC_MAX + 1];
    tgx_u256_to_dec(&e->total_fee, total);
    tgx_u256_to_dec(&e->current_total_fee, current);
    return json_pack("{s:o, s:s, s:o, s:s}", "total_fee", fees_number(&e->total_fee), "total_fee_wei", total,
                     "current_total_fee", fees_number(&e->current_total_fee), "current_total_fee_wei",
                     current);
}

/* ------------------------------------------------------------------ the chain side */

static int64_t fees_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct fees_chain *fees_find_chain(struct tgx_fees *f, uint64_t id)
{
    for (size_t i = 0; i < f->nchains; i++) {
        if (f->chains[i].chain_id == id)
            return &f->chains[i];
    }
    return NULL;
}

static const struct tgx_u256 *fees_default_for(const struct tgx_fees *f, bool has_chain, uint64_t id)
{
    for (size_t i = 0; has_chain && i < f->ndefaults; i++) {
        if (f->defaults[i].chain_id == id)
            return &f->defaults[i].fee;
    }
    return &f->global_default;
}

/* Record a state of chain C (locked by the caller) and log changes once. */
static void fees_chain_set(struct tgx_fees *f, struct fees_chain *c, bool up, const struct tgx_u256 *price,
                           const char *why)
{
    c->have = f->ttl_ms > 0;
    c->up = up;
    if (price != NULL)
        c->price = *price;
    c->until_ns = fees_now_ns() + (int64_t)(f->ttl_ms > 0 ? f->ttl_ms : 0) * 1000000;
    if (!up && !c->logged_down) {
        tgx_log_warning("fees", "chain %llu unusable, using the default fee: %s",
                        (unsigned long long)c->chain_id, why);
        c->logged_down = true;
    } else if (up && c->logged_down) {
        tgx_log_info("fees", "chain %llu reachable again", (unsigned long long)c->chain_id);
        c->logged_down = false;
    }
}

/* The gas price of chain C (cached); false when the chain cannot be used now. */
static bool fees_gas_price(struct tgx_fees *f, struct fees_chain *c, struct tgx_u256 *price)
{
    pthread_mutex_lock(&c->mu);
    bool wrong = c->wrong_chain, checked = c->id_checked;
    if (!wrong && c->have && fees_now_ns() < c->until_ns) {
        bool up = c->up;
        *price = c->price;
        pthread_mutex_unlock(&c->mu);
        return up;
    }
    pthread_mutex_unlock(&c->mu);
    if (wrong)
        return false;

    struct tgx_jsonrpc_error err = {0};
    char why[300] = "";
    bool up = false;
    uint64_t id = 0;
    if (!checked && tgx_jsonrpc_chain_id(c->rpc, &id, &err) < 0) {
        snprintf(why, sizeof why, "eth_chainId: %s", err.message);
    } else if (!checked && id != c->chain_id) {
        pthread_mutex_lock(&c->mu);
        c->wrong_chain = true;
        pthread_mutex_unlock(&c->mu);
        tgx_log_error("fees", "the RPC URL of chain %llu serves chain %llu: it will not be used",
                      (unsigned long long)c->chain_id, (unsigned long long)id);
        return false;
    } else if (tgx_jsonrpc_gas_price(c->rpc, price, &err) < 0) {
        snprintf(why, sizeof why, "eth_gasPrice: %s", err.message);
    } else {
        up = true;
    }
    tgx_jsonrpc_error_cleanup(&err);
    pthread_mutex_lock(&c->mu);
    if (up)
        c->id_checked = true;
    fees_chain_set(f, c, up, up ? price : NULL, why);
    pthread_mutex_unlock(&c->mu);
    return up;
}

/* Mark chain C down after a transport failure WHY. */
static void fees_chain_down(struct tgx_fees *f, struct fees_chain *c, const char *why)
{
    pthread_mutex_lock(&c->mu);
    fees_chain_set(f, c, false, NULL, why);
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------------ the query */

static int fees_bad(struct tgx_fees_error *err, const char *code, const char *field, const char *fmt, ...)
    TGX_PRINTF(4, 5);
static int fees_bad(struct tgx_fees_error *err, const char *code, const char *field, const char *fmt, ...)
{
    err->code = code;
    err->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -TGX_ERR_INVAL;
}

/* True when S is a bare identifier (a function name without a parameter list). */
static bool fees_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '$'))
        return false;
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '$'))
            return false;
    }
    return true;
}

static bool fees_given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The query, validated: what the estimate needs. */
struct fees_plan {
    bool has_chain;
    uint64_t chain_id;
    bool has_contract;
    char contract[43];
    const struct tgx_abi_entry *fn; /* borrowed from abi or sig */
    bool has_calldata;
    struct tgx_buf calldata;
    struct tgx_abi *abi;
    struct tgx_abi_entry *sig;
    struct tgx_abi_args *args;
};

static void fees_plan_cleanup(struct fees_plan *p)
{
    tgx_buf_cleanup(&p->calldata);
    tgx_abi_free(p->abi);
    tgx_abi_entry_free(p->sig);
    tgx_abi_args_free(p->args);
}

static int fees_plan_build(const struct tgx_fees_query *q, struct fees_plan *p, struct tgx_fees_error *err)
{
    char why[256] = "";
    int rc;
    if (fees_given(q->task_definition_id)) {
        const char *s = q->task_definition_id;
        bool ok = s[0] >= '0' && s[0] <= '7' && s[1] == '\0';
        if (!ok)
            return fees_bad(err, "INVALID_TASK_DEFINITION_ID", "task_definition_id",
                            "task_definition_id must be an integer from 0 to 7");
    }
    if (fees_given(q->target_chain_id)) {
        if (tgx_chain_id_parse(q->target_chain_id, &p->chain_id) < 0)
            return fees_bad(err, "INVALID_CHAIN_ID", "target_chain_id",
                            "target_chain_id must be a decimal chain id");
        p->has_chain = true;
    }
    if (fees_given(q->target_contract_address)) {
        uint8_t a[20];
        if (tgx_abi_address_parse(q->target_contract_address, a) < 0)
            return fees_bad(
                err, "INVALID_ADDRESS", "target_contract_address",
                "target_contract_address is not an address (0x and 40 hex digits, valid checksum)");
        tgx_abi_address_checksum(a, p->contract);
        p->has_contract = true;
    }
    if (fees_given(q->abi)) {
        rc = tgx_abi_parse(q->abi, strlen(q->abi), &p->abi, why, sizeof why);
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        if (rc < 0)
            return fees_bad(err, "INVALID_ABI", "abi", "%s", why);
    }
    if (fees_given(q->args)) {
        rc = tgx_abi_args_parse_json(q->args, strlen(q->args), &p->args, why, sizeof why);
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        if (rc < 0)
            return fees_bad(err, "INVALID_ARGS", "args", "args is not a JSON array of arguments: %s", why);
    }
    if (fees_given(q->target_function)) {
        const char *name = q->target_function;
        if (p->abi != NULL) {
            long nargs = p->args != NULL ? (long)tgx_abi_args_count(p->args) : -1;
            const struct tgx_abi_entry *any = NULL;
            rc = tgx_abi_find_function(p->abi, name, nargs, &p->fn);
            int rc_any = nargs >= 0 ? tgx_abi_find_function(p->abi, name, -1, &any) : rc;
            if (rc == -TGX_ERR_NOTFOUND && rc_any == 0)
                return fees_bad(err, "ARGUMENT_COUNT_MISMATCH", "args", "%s expects %zu argument%s, got %ld",
                                any->signature, any->ninputs, any->ninputs == 1 ? "" : "s", nargs);
            if (rc == -TGX_ERR_NOTFOUND && rc_any == -TGX_ERR_INVAL && fees_ident(name))
                return fees_bad(err, "ARGUMENT_COUNT_MISMATCH", "args",
                                "no overload of %.100s takes %ld argument%s", name, nargs,
                                nargs == 1 ? "" : "s");
            if (rc == -TGX_ERR_NOTFOUND)
                return fees_bad(err, "FUNCTION_NOT_FOUND", "target_function",
                                "target_function \"%.100s\" is not a function of the abi", name);
            if (rc < 0 && fees_ident(name))
                return fees_bad(err, "AMBIGUOUS_FUNCTION", "target_function",
                                "target_function \"%.100s\" names several overloads: give the full signature",
                                name);
            if (rc < 0)
                return fees_bad(err, "INVALID_FUNCTION", "target_function",
                                "target_function \"%.100s\" is not a function name or signature", name);
        } else if (strchr(name, '(') != NULL) {
            rc = tgx_abi_entry_parse(name, TGX_ABI_FUNCTION, &p->sig, why, sizeof why);
            if (rc == -TGX_ERR_NOMEM)
                return rc;
            if (rc < 0)
                return fees_bad(err, "INVALID_FUNCTION", "target_function", "target_function: %s", why);
            p->fn = p->sig;
        }
    }
    if (p->fn != NULL && p->args != NULL) {
        struct tgx_abi_error ae;
        rc = tgx_abi_encode_call(p->fn, p->args, &p->calldata, &ae);
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        if (rc < 0)
            return fees_bad(err, ae.index < 0 ? "ARGUMENT_COUNT_MISMATCH" : "INVALID_ARGUMENT", "args", "%s",
                            ae.message);
        p->has_calldata = true;
    } else if (p->fn != NULL && p->fn->ninputs == 0) {
        tgx_buf_append(&p->calldata, p->fn->selector, 4);
        if (tgx_buf_oom(&p->calldata))
            return -TGX_ERR_NOMEM;
        p->has_calldata = true;
    }
    return 0;
}

int tgx_fees_estimate(struct tgx_fees *f, const struct tgx_fees_query *q, struct tgx_fees_estimate *out,
                      struct tgx_fees_error *err)
{
    struct fees_plan p;
    memset(&p, 0, sizeof p);
    tgx_buf_init(&p.calldata);
    memset(err, 0, sizeof *err);
    int rc = fees_plan_build(q, &p, err);
    if (rc < 0) {
        fees_plan_cleanup(&p);
        return rc;
    }
    bool done = false;
    struct fees_chain *c = p.has_chain ? fees_find_chain(f, p.chain_id) : NULL;
    struct tgx_u256 price;
    if (c != NULL && p.has_contract && p.fn != NULL && fees_gas_price(f, c, &price)) {
        uint64_t gas = TGX_FEES_FALLBACK_GAS;
        enum tgx_fees_source src = TGX_FEES_SRC_FALLBACK_GAS;
        bool usable = true;
        if (p.has_calldata) {
            struct tgx_jsonrpc_error je = {0};
            struct tgx_jsonrpc_msg msg = {.from = f->from,
                                          .to = p.contract,
                                          .data = (const uint8_t *)p.calldata.data,
                                          .data_len = p.calldata.len};
            rc = tgx_jsonrpc_estimate_gas(c->rpc, &msg, &gas, &je);
            if (rc == 0) {
                src = TGX_FEES_SRC_ESTIMATED;
            } else if (je.status == TGX_JSONRPC_TRANSPORT) {
                fees_chain_down(f, c, je.message);
                usable = false;
            } else if (rc == -TGX_ERR_NOMEM) {
                tgx_jsonrpc_error_cleanup(&je);
                fees_plan_cleanup(&p);
                return rc;
            } else {
                gas = TGX_FEES_FALLBACK_GAS;
                tgx_log_debug("fees", "chain %llu: eth_estimateGas of %s failed, using %d gas: %s",
                              (unsigned long long)c->chain_id, p.fn->signature, TGX_FEES_FALLBACK_GAS,
                              je.message);
            }
            tgx_jsonrpc_error_cleanup(&je);
        }
        if (usable && tgx_fees_formula_chain(gas, &price, &f->keeper_fee, src, out) == 0)
            done = true;
    }
    if (!done &&
        tgx_fees_formula_default(fees_default_for(f, p.has_chain, p.chain_id), &f->keeper_fee, out) < 0) {
        fees_plan_cleanup(&p);
        return -TGX_ERR_INVAL; /* cannot happen: the default is > 0 and the sum was checked at create */
    }
    fees_plan_cleanup(&p);
    return 0;
}

/* ------------------------------------------------------------------ the route */

int tgx_api_fees(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_fees *f = ctx;
    struct tgx_fees_query q = {
        .task_definition_id = tgx_http_query(req, "task_definition_id"),
        .target_chain_id = tgx_http_query(req, "target_chain_id"),
        .target_contract_address = tgx_http_query(req, "target_contract_address"),
        .target_function = tgx_http_query(req, "target_function"),
        .abi = tgx_http_query(req, "abi"),
        .args = tgx_http_query(req, "args"),
        .ipfs_url = tgx_http_query(req, "ipfs_url"),
    };
    struct tgx_fees_estimate e;
    struct tgx_fees_error err;
    int rc = tgx_fees_estimate(f, &q, &e, &err);
    if (rc == -TGX_ERR_INVAL && err.code != NULL) {
        json_t *body =
            json_pack("{s:s, s:s, s:s}", "error", err.message, "code", err.code, "field", err.field);
        if (body == NULL)
            return -TGX_ERR_NOMEM;
        tgx_http_resp_json(resp, 400, body);
        return 0;
    }
    if (rc < 0)
        return rc;
    json_t *body = tgx_fees_estimate_json(&e);
    if (body == NULL)
        return -TGX_ERR_NOMEM;
    tgx_http_resp_header(resp, "X-Fee-Source", tgx_fees_source_name(e.source));
    tgx_http_resp_json(resp, 200, body);
    return 0;
}
