/*
 * exec.c: the keeper's chain side (keeper_exec.h): turn a static task into calldata, execute it on
 * chain (estimate, fees, nonce, sign, send, receipt) and check a peer's result (attest).
 *
 * One struct tgx_keeper_chain per chain the keeper serves.  Nonces: the chain keeps the next nonce
 * of the keeper's address and a mutex (nonce_mu) that is held from taking a nonce through signing
 * to the end of eth_sendRawTransaction, so concurrent executes send in nonce order without gaps and
 * no nonce is handed out twice.  The counter is read from the node (eth_getTransactionCount
 * "pending") on first use, after any failed send (a nonce error is retried once with the re-read
 * nonce) and after a transaction the node dropped; everything else (estimation, fees, the receipt
 * wait) runs outside the lock.
 *
 * Outcomes: a transport failure at any step (and a receipt that does not come in time) is TRANSIENT
 * with "rpc: ..."; a transaction still pending at the receipt timeout is first replaced by a cancel
 * of the same nonce (exec_cancel), so that a retry elsewhere cannot run the call twice; a revert
 * during estimation, a receipt with status 0, a job that cannot be encoded and jobs that are not
 * static are PERMANENT.  The secret key is never logged.
 */
#include "tgx/keeper_exec.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgx/abi.h"
#include "tgx/chains.h"
#include "tgx/jsonrpc.h"
#include "tgx/log.h"
#include "tgx/tx.h"
#include "tgx/u256.h"

#define EXEC_RECEIPT_TIMEOUT_MS 120000      /* receipt_timeout_ms 0 */
#define EXEC_RECEIPT_POLL_MS    1000        /* receipt_poll_ms 0 */
#define EXEC_DRY_RUN_GAS        1000000     /* dry-run gas limit without gas_limit_cap */
#define EXEC_PRIORITY_FALLBACK  1000000000u /* 1 gwei: nodes without eth_maxPriorityFeePerGas */
#define EXEC_WEI_PER_ETH        1000000000000000000ull
#define EXEC_ETH_TEXT           (TGX_U256_DEC_MAX + 32) /* "whole.fraction" of a wei amount in ETH */

struct tgx_keeper_chain {
    struct tgx_keeper_chain_opts opts; /* rpc_url points to url */
    char *url;                         /* owned copy (NULL in a dry run without one) */
    struct tgx_jsonrpc *rpc;           /* NULL in a dry run */
    uint8_t secret[TGX_SECP_SECRET_LEN];
    uint8_t addr[TGX_ADDRESS_LEN];
    char from[TGX_ADDRESS_TEXT_LEN + 1]; /* checksummed address of the key */
    char id_text[24];                    /* the chain id in decimal */
    pthread_mutex_t mu;                  /* guards id_checked */
    bool id_checked;                     /* eth_chainId answered opts.chain_id once */
    pthread_mutex_t nonce_mu;            /* the nonce manager; held across sign + send */
    bool nonce_valid;                    /* next_nonce is known (else read it from the node) */
    uint64_t next_nonce;
};

/* ------------------------------------------------------------------ small helpers */

static void exec_msg(char *buf, size_t len, const char *fmt, ...) TGX_PRINTF(3, 4);
static void exec_msg(char *buf, size_t len, const char *fmt, ...)
{
    if (buf == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Fill OUT with KIND and a message; returns 0 (what tgx_keeper_execute returns). */
static int exec_end(struct tgx_keeper_outcome *out, enum tgx_keeper_outcome_kind kind, const char *fmt, ...)
    TGX_PRINTF(3, 4);
static int exec_end(struct tgx_keeper_outcome *out, enum tgx_keeper_outcome_kind kind, const char *fmt, ...)
{
    out->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
    return 0;
}

/* Out of memory: the outcome is transient and the caller learns why. */
static int exec_nomem(struct tgx_keeper_outcome *out)
{
    json_decref(out->result);
    out->result = NULL;
    exec_end(out, TGX_KEEPER_TRANSIENT, "out of memory");
    return -TGX_ERR_NOMEM;
}

/* True when NEEDLE occurs in HAY, ignoring ASCII case. */
static bool exec_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    }
    return false;
}

static int64_t exec_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void exec_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* "rpc: ..." for a failed JSON-RPC call of METHOD. */
static void exec_rpc_msg(char *buf, size_t len, const char *method, const struct tgx_jsonrpc_error *je)
{
    if (je->status == TGX_JSONRPC_RPC)
        exec_msg(buf, len, "rpc: %s: %s", method, je->message);
    else
        exec_msg(buf, len, "rpc: %s", je->message[0] != '\0' ? je->message : "the call failed");
}

/* The task id of TASK for log subjects ("task=12", "task=?"). */
static void exec_subject(const json_t *task, char *buf, size_t len)
{
    const json_t *id = json_object_get(task, "task_id");
    if (json_is_integer(id))
        snprintf(buf, len, "task=%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else
        snprintf(buf, len, "task=?");
}

/* An integer field that may be a JSON number or a digit string; false when absent or malformed. */
static bool exec_field_u64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        struct tgx_u256 u;
        const char *s = json_string_value(v);
        if (s[0] >= '0' && s[0] <= '9' && tgx_u256_from_dec(s, &u) == 0 && tgx_u256_to_u64(&u, out))
            return true;
    }
    return false;
}

/* The address text field NAME of O into ADDR; false when absent or malformed. */
static bool exec_field_address(const json_t *o, const char *name, uint8_t addr[TGX_ADDRESS_LEN])
{
    const char *s = json_string_value(json_object_get(o, name));
    return s != NULL && tgx_abi_address_parse(s, addr) == 0;
}

/* Decimal text of a wei amount as ETH ("0.000021", "3", "0"). */
static void exec_wei_to_eth(const struct tgx_u256 *wei, char out[EXEC_ETH_TEXT])
{
    struct tgx_u256 whole;
    uint64_t frac = 0;
    if (tgx_u256_div_u64(&whole, wei, EXEC_WEI_PER_ETH, &frac) < 0) {
        snprintf(out, EXEC_ETH_TEXT, "0");
        return;
    }
    char w[TGX_U256_DEC_MAX + 1];
    tgx_u256_to_dec(&whole, w);
    if (frac == 0) {
        snprintf(out, EXEC_ETH_TEXT, "%s", w);
        return;
    }
    char f[24];
    snprintf(f, sizeof f, "%018" PRIu64, frac);
    size_t n = strlen(f);
    while (n > 0 && f[n - 1] == '0')
        f[--n] = '\0';
    snprintf(out, EXEC_ETH_TEXT, "%s.%s", w, f);
}

/* Parse a timestamp: unix seconds (number or digit string) or ISO 8601 "YYYY-MM-DD[T
 * ]HH:MM:SS[.f][Z|±HH[:MM]]" (UTC when no zone is given); whole seconds, rounded down.  False when malformed.
 */
static bool exec_parse_time(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -9e15 && d < 9e15))
            return false;
        int64_t s = (int64_t)d;
        *out = (double)s > d ? s - 1 : s;
        return true;
    }
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0')
        return false;
    if (strspn(s, "0123456789") == strlen(s) && strlen(s) <= 15) {
        *out = (int64_t)strtoll(s, NULL, 10);
        return true;
    }
    int y, mo, d, h, mi, se, used = 0;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &se, &used) != 7 ||
        (sep != 'T' && sep != 't' && sep != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || se > 60)
        return false;
    const char *p = s + used;
    if (*p == '.' || *p == ',') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
            return false;
        long oh = (p[0] - '0') * 10 + (p[1] - '0'), om = 0;
        p += 2;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
            om = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p != '\0')
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *out = (int64_t)t - off;
    return true;
}

/* ------------------------------------------------------------------ the job: ABI, function, calldata */

/* What a task's job resolves to. */
struct exec_job {
    struct tgx_abi *abi;            /* the job's ABI, or NULL */
    struct tgx_abi_entry *sig;      /* the parsed signature when there is no ABI */
    const struct tgx_abi_entry *fn; /* borrowed from abi or sig */
    struct tgx_abi_args *args;
    struct tgx_buf calldata;
};

static void exec_job_init(struct exec_job *j)
{
    memset(j, 0, sizeof *j);
    tgx_buf_init(&j->calldata);
}

static void exec_job_cleanup(struct exec_job *j)
{
    tgx_abi_free(j->abi);
    tgx_abi_entry_free(j->sig);
    tgx_abi_args_free(j->args);
    tgx_buf_cleanup(&j->calldata);
    memset(j, 0, sizeof *j);
}

/* True when S is a bare identifier (a function name without a parameter list). */
static bool exec_ident(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_' || *s == '$'))
        return false;
    for (; *s != '\0'; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '$'))
            return false;
    }
    return true;
}

/* The job's "abi": an array, an object with "abi", or a string holding either; none when null, absent,
 * blank or without entries. */
static int exec_abi_load(const json_t *v, struct tgx_abi **out, char *err, size_t errlen)
{
    char why[256] = "";
    int rc = 0;
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        size_t i = 0;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i == n)
            return 0;
        rc = tgx_abi_parse(s, n, out, why, sizeof why);
    } else if (json_is_array(v) || json_is_object(v)) {
        rc = tgx_abi_from_json(v, out, why, sizeof why);
    } else {
        exec_msg(err, errlen,
                 "abi must be a JSON array, an object with \"abi\" or a string holding ABI JSON");
        return -TGX_ERR_INVAL;
    }
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    if (rc < 0) {
        exec_msg(err, errlen, "invalid abi: %s", why);
        return -TGX_ERR_INVAL;
    }
    if (tgx_abi_count(*out) == 0) {
        tgx_abi_free(*out);
        *out = NULL;
    }
    return 0;
}

/* Resolve TASK's target_function against its ABI (or as a signature) and encode its arguments. */
static int exec_job_build(const json_t *task, struct exec_job *j, char *err, size_t errlen)
{
    char why[256] = "";
    int rc;
    const char *name = json_string_value(json_object_get(task, "target_function"));
    if (name == NULL || name[0] == '\0') {
        exec_msg(err, errlen, "the job has no target_function");
        return -TGX_ERR_INVAL;
    }
    rc = exec_abi_load(json_object_get(task, "abi"), &j->abi, err, errlen);
    if (rc < 0)
        return rc;

    const json_t *a = json_object_get(task, "arguments");
    json_t *empty = NULL;
    if (a == NULL || json_is_null(a)) {
        a = empty = json_array();
        if (empty == NULL)
            return -TGX_ERR_NOMEM;
    } else if (!json_is_array(a)) {
        exec_msg(err, errlen, "arguments must be a JSON array of strings");
        return -TGX_ERR_INVAL;
    }
    rc = tgx_abi_args_from_json(a, &j->args, why, sizeof why);
    json_decref(empty);
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    if (rc < 0) {
        exec_msg(err, errlen, "invalid arguments: %s", why);
        return -TGX_ERR_INVAL;
    }
    size_t nargs = tgx_abi_args_count(j->args);

    if (j->abi != NULL) {
        const struct tgx_abi_entry *any = NULL;
        rc = tgx_abi_find_function(j->abi, name, (long)nargs, &j->fn);
        int rc_any = tgx_abi_find_function(j->abi, name, -1, &any);
        if (rc == -TGX_ERR_NOTFOUND && rc_any == 0) {
            exec_msg(err, errlen, "%s expects %zu argument%s, got %zu", any->signature, any->ninputs,
                     any->ninputs == 1 ? "" : "s", nargs);
            return -TGX_ERR_INVAL;
        }
        if (rc == -TGX_ERR_NOTFOUND && rc_any == -TGX_ERR_INVAL && exec_ident(name)) {
            exec_msg(err, errlen, "no overload of %.100s takes %zu argument%s", name, nargs,
                     nargs == 1 ? "" : "s");
            return -TGX_ERR_INVAL;
        }
        if (rc == -TGX_ERR_NOTFOUND) {
            exec_msg(err, errlen, "target_function \"%.100s\" is not a function of the abi", name);
            return -TGX_ERR_INVAL;
        }
        if (rc < 0 && exec_ident(name)) {
            exec_msg(err, errlen,
                     "target_function \"%.100s\" names several overloads: give the full signature", name);
            return -TGX_ERR_INVAL;
        }
        if (rc < 0) {
            exec_msg(err, errlen, "target_function \"%.100s\" is not a function name or signature", name);
            return -TGX_ERR_INVAL;
        }
    } else if (strchr(name, '(') != NULL) {
        rc = tgx_abi_entry_parse(name, TGX_ABI_FUNCTION, &j->sig, why, sizeof why);
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        if (rc < 0) {
            exec_msg(err, errlen, "invalid target_function \"%.100s\": %s", name, why);
            return -TGX_ERR_INVAL;
        }
        j->fn = j->sig;
    } else {
        exec_msg(err, errlen,
                 "target_function \"%.100s\" is a bare name and the job has no abi: give the full signature",
                 name);
        return -TGX_ERR_INVAL;
    }

    struct tgx_abi_error ae;
    rc = tgx_abi_encode_call(j->fn, j->args, &j->calldata, &ae);
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    if (rc < 0) {
        exec_msg(err, errlen, "cannot encode %s: %s", j->fn->signature, ae.message);
        return -TGX_ERR_INVAL;
    }
    if (tgx_buf_oom(&j->calldata))
        return -TGX_ERR_NOMEM;
    return 0;
}

int tgx_keeper_calldata(const json_t *task, struct tgx_buf *out, char *err, size_t errlen)
{
    struct exec_job j;
    exec_job_init(&j);
    exec_msg(err, errlen, "%s", "");
    int rc = exec_job_build(task, &j, err, errlen);
    if (rc == 0) {
        size_t before = out->len;
        tgx_buf_append(out, j.calldata.data, j.calldata.len);
        if (tgx_buf_oom(out)) {
            out->len = before;
            rc = -TGX_ERR_NOMEM;
        }
    }
    exec_job_cleanup(&j);
    return rc;
}

/* The job's arguments as encoded: the calldata decoded again, each value as a string (numbers in
 * decimal, addresses lower-case, arrays and tuples as compact JSON).  NULL on oom. */
static json_t *exec_converted_args(const struct exec_job *j)
{
    json_t *vals = NULL;
    struct tgx_abi_error ae;
    const uint8_t *data = (const uint8_t *)j->calldata.data;
    if (tgx_abi_decode_call(j->fn, data, j->calldata.len, &vals, &ae) < 0)
        return json_array(); /* cannot happen for calldata encoded here */
    json_t *out = json_array();
    for (size_t i = 0; out != NULL && i < json_array_size(vals); i++) {
        const json_t *v = json_array_get(vals, i);
        json_t *s;
        if (json_is_string(v)) {
            s = json_stringn(json_string_value(v), json_string_length(v));
        } else if (json_is_true(v) || json_is_false(v)) {
            s = json_string(json_is_true(v) ? "true" : "false");
        } else {
            char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            s = txt != NULL ? json_string(txt) : NULL;
            free(txt);
        }
        if (s == NULL || json_array_append_new(out, s) < 0) {
            json_decref(out);
            out = NULL;
        }
    }
    json_decref(vals);
    return out;
}

/* "execution reverted[: reason]" for revert data DATA (LEN bytes), custom errors through ABI. */
static int exec_revert_text(const uint8_t *data, size_t len, const struct tgx_abi *abi, char *out,
                            size_t outlen)
{
    struct tgx_abi_revert r;
    memset(&r, 0, sizeof r);
    int rc = tgx_abi_decode_revert(data, len, abi, &r);
    if (rc < 0)
        return rc;
    if (r.kind == TGX_ABI_REVERT_EMPTY) {
        exec_msg(out, outlen, "execution reverted");
    } else if (r.kind == TGX_ABI_REVERT_CUSTOM) {
        /* Name(1, 0x.., "text"): numbers, addresses and bytes bare, strings quoted */
        json_t *vals = NULL;
        struct tgx_buf b;
        tgx_buf_init(&b);
        const struct tgx_abi_entry *e = r.error;
        if (tgx_abi_decode_params(e->inputs, e->ninputs, data + 4, len - 4, &vals, NULL) == 0) {
            tgx_buf_printf(&b, "%s(", e->name);
            for (size_t i = 0; i < json_array_size(vals); i++) {
                const json_t *v = json_array_get(vals, i);
                if (i > 0)
                    tgx_buf_puts(&b, ", ");
                if (json_is_string(v) && e->inputs[i].type->kind != TGX_ABI_STRING) {
                    tgx_buf_puts(&b, json_string_value(v));
                } else {
                    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                    tgx_buf_puts(&b, txt != NULL ? txt : "?");
                    free(txt);
                }
            }
            tgx_buf_putc(&b, ')');
        }
        exec_msg(out, outlen, "execution reverted: %s", b.len > 0 && !tgx_buf_oom(&b) ? b.data : r.message);
        json_decref(vals);
        tgx_buf_cleanup(&b);
    } else {
        exec_msg(out, outlen, "execution reverted: %s", r.message);
    }
    tgx_abi_revert_cleanup(&r);
    return 0;
}

/* The reason of a failed eth_call / eth_estimateGas JE: "execution reverted: ..." from its revert data
 * (or the node's message); *IS_REVERT tells whether it was a revert at all. */
static int exec_call_failure(const struct tgx_jsonrpc_error *je, const struct tgx_abi *abi, bool *is_revert,
                             char *out, size_t outlen)
{
    struct tgx_buf data;
    tgx_buf_init(&data);
    int rc = tgx_jsonrpc_error_revert_data(je, &data);
    *is_revert = false;
    if (rc == 0) {
        *is_revert = true;
        rc = exec_revert_text((const uint8_t *)data.data, data.len, abi, out, outlen);
    } else if (rc == -TGX_ERR_NOTFOUND) {
        rc = 0;
        if (exec_contains_ci(je->message, "revert")) {
            *is_revert = true;
            if (strncasecmp(je->message, "execution reverted", 18) == 0)
                exec_msg(out, outlen, "%s", je->message);
            else
                exec_msg(out, outlen, "execution reverted: %s", je->message);
        } else {
            exec_msg(out, outlen, "%s", je->message);
        }
    }
    tgx_buf_cleanup(&data);
    return rc;
}

/* ------------------------------------------------------------------ the chain */

int tgx_keeper_chain_create(const struct tgx_keeper_chain_opts *opts,
                            const uint8_t secret[TGX_SECP_SECRET_LEN], struct tgx_keeper_chain **out,
                            char *err, size_t errlen)
{
    *out = NULL;
    exec_msg(err, errlen, "%s", "");
    if (opts == NULL || opts->chain_id == 0 || opts->chain_id > (uint64_t)INT64_MAX) {
        exec_msg(err, errlen, "invalid chain id: expected 1 to 2^63-1");
        return -TGX_ERR_INVAL;
    }
    if (opts->rpc_timeout_ms < 0 || opts->receipt_timeout_ms < 0 || opts->receipt_poll_ms < 0) {
        exec_msg(err, errlen, "invalid timeouts for chain %" PRIu64 ": they must not be negative",
                 opts->chain_id);
        return -TGX_ERR_INVAL;
    }
    if (opts->gas_margin_percent > 1000) {
        exec_msg(err, errlen, "invalid gas margin %u%% for chain %" PRIu64 ": at most 1000%%",
                 opts->gas_margin_percent, opts->chain_id);
        return -TGX_ERR_INVAL;
    }
    bool has_url = opts->rpc_url != NULL && opts->rpc_url[0] != '\0';
    if (!has_url && !opts->dry_run) {
        exec_msg(err, errlen, "chain %" PRIu64 " has no RPC URL", opts->chain_id);
        return -TGX_ERR_INVAL;
    }
    struct tgx_keeper_chain *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -TGX_ERR_NOMEM;
    c->opts = *opts;
    if (c->opts.receipt_timeout_ms == 0)
        c->opts.receipt_timeout_ms = EXEC_RECEIPT_TIMEOUT_MS;
    if (c->opts.receipt_poll_ms == 0)
        c->opts.receipt_poll_ms = EXEC_RECEIPT_POLL_MS;
    snprintf(c->id_text, sizeof c->id_text, "%" PRIu64, opts->chain_id);
    if (has_url && (c->url = strdup(opts->rpc_url)) == NULL) {
        free(c);
        return -TGX_ERR_NOMEM;
    }
    c->opts.rpc_url = c->url;
    if (tgx_secp_address(secret, c->addr) < 0) {
        free(c->url);
        free(c);
        exec_msg(err, errlen, "invalid secret key");
        return -TGX_ERR_INVAL;
    }
    memcpy(c->secret, secret, TGX_SECP_SECRET_LEN);
    tgx_secp_address_text(c->addr, c->from);
    if (!opts->dry_run) {
        int rc = tgx_jsonrpc_create(c->url, opts->rpc_timeout_ms, &c->rpc);
        if (rc < 0) {
            if (rc == -TGX_ERR_INVAL)
                exec_msg(err, errlen, "invalid RPC URL for chain %" PRIu64 ": expected http:// or https://",
                         opts->chain_id);
            explicit_bzero(c->secret, sizeof c->secret);
            free(c->url);
            free(c);
            return rc;
        }
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        tgx_jsonrpc_free(c->rpc);
        explicit_bzero(c->secret, sizeof c->secret);
        free(c->url);
        free(c);
        return -TGX_ERR_NOMEM;
    }
    if (pthread_mutex_init(&c->nonce_mu, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        tgx_jsonrpc_free(c->rpc);
        explicit_bzero(c->secret, sizeof c->secret);
        free(c->url);
        free(c);
        return -TGX_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

void tgx_keeper_chain_free(struct tgx_keeper_chain *c)
{
    if (c == NULL)
        return;
    tgx_jsonrpc_free(c->rpc);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->nonce_mu);
    explicit_bzero(c->secret, sizeof c->secret);
    free(c->url);
    free(c);
}

uint64_t tgx_keeper_chain_id(const struct tgx_keeper_chain *c)
{
    return c->opts.chain_id;
}

void tgx_keeper_outcome_cleanup(struct tgx_keeper_outcome *out)
{
    if (out == NULL)
        return;
    json_decref(out->result);
    out->result = NULL;
}

/* Check once that the node answers eth_chainId with the chain's id.  -TGX_ERR_IO with MSG. */
static int exec_check_chain(struct tgx_keeper_chain *c, char *msg, size_t msglen)
{
    pthread_mutex_lock(&c->mu);
    bool ok = c->id_checked;
    pthread_mutex_unlock(&c->mu);
    if (ok)
        return 0;
    struct tgx_jsonrpc_error je = {0};
    uint64_t id = 0;
    int rc = tgx_jsonrpc_chain_id(c->rpc, &id, &je);
    if (rc == -TGX_ERR_NOMEM) {
        tgx_jsonrpc_error_cleanup(&je);
        return rc;
    }
    if (rc < 0) {
        exec_rpc_msg(msg, msglen, "eth_chainId", &je);
        tgx_jsonrpc_error_cleanup(&je);
        return -TGX_ERR_IO;
    }
    tgx_jsonrpc_error_cleanup(&je);
    if (id != c->opts.chain_id) {
        exec_msg(msg, msglen,
                 "rpc: the node serves chain %" PRIu64 ", not chain %" PRIu64 " (check its RPC URL)", id,
                 c->opts.chain_id);
        tgx_log_error("keeper", "the RPC node of chain %" PRIu64 " answers eth_chainId %" PRIu64,
                      c->opts.chain_id, id);
        return -TGX_ERR_IO;
    }
    pthread_mutex_lock(&c->mu);
    c->id_checked = true;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Forget the nonce: the next send reads it from the node. */
static void exec_nonce_forget(struct tgx_keeper_chain *c)
{
    pthread_mutex_lock(&c->nonce_mu);
    c->nonce_valid = false;
    pthread_mutex_unlock(&c->nonce_mu);
}

/* Node messages that mean our nonce is out of step with the node's. */
static bool exec_nonce_error(const char *m)
{
    return exec_contains_ci(m, "nonce") || exec_contains_ci(m, "already known") ||
           exec_contains_ci(m, "known transaction") ||
           exec_contains_ci(m, "replacement transaction underpriced");
}

/*
 * Sign TX (its nonce set) and send it: HASH.  On failure MSG says why and *SENT whether the node
 * was asked; a refusal by the node is -TGX_ERR_STATE with its words in JE->message (JE is the
 * caller's to clean up).
 */
static int exec_sign_send(struct tgx_keeper_chain *c, const struct tgx_tx *tx, char hash[67],
                          struct tgx_jsonrpc_error *je, bool *sent, char *msg, size_t msglen)
{
    struct tgx_tx_signed st;
    tgx_tx_signed_init(&st);
    int rc = tgx_tx_sign(tx, c->secret, &st);
    *sent = rc == 0;
    if (rc < 0)
        exec_msg(msg, msglen, "could not sign the transaction: %s", tgx_err_str(rc));
    else
        rc = tgx_jsonrpc_send_raw_transaction(c->rpc, (const uint8_t *)st.raw.data, st.raw.len, hash, je);
    tgx_tx_signed_cleanup(&st);
    if (*sent && rc == -TGX_ERR_STATE)
        exec_msg(msg, msglen, "could not send the transaction: %s", je->message);
    else if (*sent && rc < 0)
        exec_rpc_msg(msg, msglen, "eth_sendRawTransaction", je);
    return rc;
}

/*
 * Take the next nonce, sign TX with it and send it, all under nonce_mu: HASH and *NONCE get what was
 * sent.  After a failed send the nonce is re-read from the node; a nonce error is retried once at once.
 * -TGX_ERR_IO with MSG (the attempt is transient), -TGX_ERR_NOMEM.
 */
static int exec_send(struct tgx_keeper_chain *c, struct tgx_tx *tx, const char *subject, char hash[67],
                     uint64_t *nonce, char *msg, size_t msglen)
{
    struct tgx_jsonrpc_error je = {0};
    int rc = 0;
    pthread_mutex_lock(&c->nonce_mu);
    for (int attempt = 0;; attempt++) {
        if (!c->nonce_valid) {
            uint64_t n = 0;
            rc = tgx_jsonrpc_get_transaction_count(c->rpc, c->from, "pending", &n, &je);
            if (rc < 0) {
                exec_rpc_msg(msg, msglen, "eth_getTransactionCount", &je);
                break;
            }
            if (attempt > 0 || c->next_nonce != n)
                tgx_log_debug(subject, "chain %s: next nonce %" PRIu64 " read from the node", c->id_text, n);
            c->next_nonce = n;
            c->nonce_valid = true;
        }
        tx->nonce = c->next_nonce;
        bool sent;
        rc = exec_sign_send(c, tx, hash, &je, &sent, msg, msglen);
        if (rc == 0) {
            *nonce = c->next_nonce++;
            break;
        }
        if (!sent)
            break;
        c->nonce_valid = false; /* whatever happened, ask the node next time */
        if (rc == -TGX_ERR_STATE && attempt == 0 && exec_nonce_error(je.message)) {
            tgx_log_warning(subject, "chain %s: nonce %" PRIu64 " refused (%s): re-reading it from the node",
                            c->id_text, tx->nonce, je.message);
            tgx_jsonrpc_error_cleanup(&je); /* the retry's error must not overwrite its "data" unfreed */
            continue;
        }
        break;
    }
    pthread_mutex_unlock(&c->nonce_mu);
    tgx_jsonrpc_error_cleanup(&je);
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    return rc < 0 ? -TGX_ERR_IO : 0;
}

/*
 * Wait until one of HASHES[0..N-1] (transactions of one nonce: at most one of them is mined) has a
 * receipt and the block it is in: *WHICH, *RECEIPT and *BLOCK new, 0.  -TGX_ERR_IO when none does
 * within TIMEOUT_MS (0: one look), with the last RPC error in LAST ("" when there was none);
 * -TGX_ERR_NOMEM.
 */
static int exec_wait_any(struct tgx_keeper_chain *c, const char *const *hashes, int n, long timeout_ms,
                         int *which, json_t **receipt, json_t **block, char *last, size_t lastlen)
{
    struct tgx_jsonrpc_error je = {0};
    int64_t deadline = exec_now_ms() + timeout_ms;
    int rc = 0;
    *receipt = NULL;
    *block = NULL;
    last[0] = '\0';
    for (;;) {
        for (int i = 0; i < n; i++) {
            json_t *r = NULL;
            rc = tgx_jsonrpc_get_receipt(c->rpc, hashes[i], &r, &je);
            if (rc < 0)
                exec_rpc_msg(last, lastlen, "eth_getTransactionReceipt", &je);
            if (rc == 0 && r != NULL) {
                const char *bn = json_string_value(json_object_get(r, "blockNumber"));
                rc = bn != NULL ? tgx_jsonrpc_get_block(c->rpc, bn, false, block, &je) : -TGX_ERR_INVAL;
                if (rc == 0 && *block != NULL) {
                    *which = i;
                    *receipt = r;
                    tgx_jsonrpc_error_cleanup(&je);
                    return 0;
                }
                if (bn == NULL)
                    exec_msg(last, lastlen, "rpc: the receipt has no blockNumber");
                else if (rc < 0)
                    exec_rpc_msg(last, lastlen, "eth_getBlockByNumber", &je);
                else
                    exec_msg(last, lastlen, "rpc: block %s of the receipt is unknown", bn);
            }
            json_decref(r);
            if (rc == -TGX_ERR_NOMEM) {
                tgx_jsonrpc_error_cleanup(&je);
                return rc;
            }
        }
        int64_t now = exec_now_ms();
        if (now >= deadline)
            break;
        long wait = c->opts.receipt_poll_ms;
        if (wait > deadline - now)
            wait = (long)(deadline - now);
        exec_sleep_ms(wait);
    }
    tgx_jsonrpc_error_cleanup(&je);
    return -TGX_ERR_IO;
}

/*
 * Wait for the receipt of HASH and the block it is in: *RECEIPT and *BLOCK new.  -TGX_ERR_IO with MSG
 * when they do not come within receipt_timeout_ms; *PENDING then says whether the node still has the
 * transaction (a dropped one makes the nonce re-read).
 */
static int exec_wait(struct tgx_keeper_chain *c, const char *hash, json_t **receipt, json_t **block,
                     bool *pending, char *msg, size_t msglen)
{
    char last[300];
    int which = 0;
    *pending = false;
    int rc =
        exec_wait_any(c, &hash, 1, c->opts.receipt_timeout_ms, &which, receipt, block, last, sizeof last);
    if (rc != -TGX_ERR_IO)
        return rc;
    /* still pending, or dropped? */
    struct tgx_jsonrpc_error je = {0};
    json_t *t = NULL;
    rc = tgx_jsonrpc_get_transaction(c->rpc, hash, &t, &je);
    if (rc == 0 && t == NULL) {
        exec_nonce_forget(c);
        exec_msg(msg, msglen, "transaction %s was dropped by the node before it was mined", hash);
    } else {
        *pending = rc == 0;
        exec_msg(msg, msglen, "no receipt for transaction %s within %ld ms%s%s", hash,
                 c->opts.receipt_timeout_ms, last[0] != '\0' ? "; last error: " : " (still pending)", last);
    }
    json_decref(t);
    tgx_jsonrpc_error_cleanup(&je);
    return rc == -TGX_ERR_NOMEM ? rc : -TGX_ERR_IO;
}

/* ------------------------------------------------------------------ execute */

/* The task's target chain id (a number or a digit string). */
static bool exec_task_chain(const json_t *task, uint64_t *id)
{
    return exec_field_u64(json_object_get(task, "target_chain_id"), id);
}

/* A dry run: sign with the local nonce counter and report the transaction unsent. */
static int exec_dry_run(struct tgx_keeper_chain *c, const struct exec_job *j,
                        const uint8_t to[TGX_ADDRESS_LEN], const char *to_text,
                        struct tgx_keeper_outcome *out)
{
    struct tgx_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = TGX_TX_EIP1559;
    tx.chain_id = c->opts.chain_id;
    tx.max_priority_fee_per_gas = tgx_u256_from_u64(EXEC_PRIORITY_FALLBACK);
    tx.max_fee_per_gas = tgx_u256_from_u64(2 * (uint64_t)EXEC_PRIORITY_FALLBACK);
    tx.gas_limit = c->opts.gas_limit_cap > 0 ? c->opts.gas_limit_cap : EXEC_DRY_RUN_GAS;
    tx.has_to = true;
    memcpy(tx.to, to, TGX_ADDRESS_LEN);
    tx.data = (const uint8_t *)j->calldata.data;
    tx.data_len = j->calldata.len;

    struct tgx_tx_signed st;
    tgx_tx_signed_init(&st);
    pthread_mutex_lock(&c->nonce_mu);
    tx.nonce = c->next_nonce;
    int rc = tgx_tx_sign(&tx, c->secret, &st);
    if (rc == 0)
        c->next_nonce++;
    pthread_mutex_unlock(&c->nonce_mu);
    tgx_tx_signed_cleanup(&st);
    if (rc == -TGX_ERR_NOMEM)
        return exec_nomem(out);
    if (rc < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "could not sign the transaction: %s", tgx_err_str(rc));

    struct tgx_buf cd;
    tgx_buf_init(&cd);
    tgx_abi_hex_append(&cd, j->calldata.data, j->calldata.len);
    json_t *conv = exec_converted_args(j);
    if (tgx_buf_oom(&cd) || conv == NULL) {
        json_decref(conv);
        tgx_buf_cleanup(&cd);
        return exec_nomem(out);
    }
    out->result = json_pack("{s:b, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "dry_run", 1, "calldata",
                            cd.data, "from", c->from, "to", to_text, "chain_id", c->id_text,
                            "converted_arguments", conv, "nonce", (json_int_t)tx.nonce, "gas_limit",
                            (json_int_t)tx.gas_limit, "execution_timestamp", (json_int_t)time(NULL));
    tgx_buf_cleanup(&cd);
    if (out->result == NULL)
        return exec_nomem(out);
    out->kind = TGX_KEEPER_DONE;
    out->error[0] = '\0';
    return 0;
}

/* The fees of TX from the latest block: EIP-1559 with a base fee, legacy EIP-155 without.  -TGX_ERR_IO. */
static int exec_fees(struct tgx_keeper_chain *c, struct tgx_tx *tx, char *msg, size_t msglen)
{
    struct tgx_jsonrpc_error je = {0};
    json_t *blk = NULL;
    int rc = tgx_jsonrpc_get_block(c->rpc, "latest", false, &blk, &je);
    if (rc < 0 || blk == NULL) {
        if (rc < 0)
            exec_rpc_msg(msg, msglen, "eth_getBlockByNumber", &je);
        else
            exec_msg(msg, msglen, "rpc: the node has no latest block");
        tgx_jsonrpc_error_cleanup(&je);
        return rc == -TGX_ERR_NOMEM ? rc : -TGX_ERR_IO;
    }
    const json_t *bf = json_object_get(blk, "baseFeePerGas");
    struct tgx_u256 base;
    if (bf != NULL && !json_is_null(bf) && tgx_jsonrpc_quantity_u256(bf, &base) == 0) {
        struct tgx_u256 prio;
        rc = tgx_jsonrpc_max_priority_fee(c->rpc, &prio, &je);
        if (rc == -TGX_ERR_STATE || rc == -TGX_ERR_INVAL) { /* not supported by this node */
            prio = tgx_u256_from_u64(EXEC_PRIORITY_FALLBACK);
            rc = 0;
        } else if (rc < 0) {
            exec_rpc_msg(msg, msglen, "eth_maxPriorityFeePerGas", &je);
        }
        struct tgx_u256 max;
        if (rc == 0 && (tgx_u256_mul_u64(&max, &base, 2) < 0 || tgx_u256_add(&max, &max, &prio) < 0)) {
            exec_msg(msg, msglen, "rpc: the base fee is out of range");
            rc = -TGX_ERR_IO;
        }
        if (rc == 0) {
            tx->type = TGX_TX_EIP1559;
            tx->max_priority_fee_per_gas = prio;
            tx->max_fee_per_gas = max;
        }
    } else {
        struct tgx_u256 price;
        rc = tgx_jsonrpc_gas_price(c->rpc, &price, &je);
        if (rc < 0) {
            exec_rpc_msg(msg, msglen, "eth_gasPrice", &je);
        } else {
            tx->type = TGX_TX_LEGACY;
            tx->gas_price = price;
        }
    }
    json_decref(blk);
    tgx_jsonrpc_error_cleanup(&je);
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    return rc < 0 ? -TGX_ERR_IO : 0;
}

/* *FEE = max(ceil(ORIG * 5 / 4) + 1, QUOTE): a replacement's fee, above what nodes ask (geth: +10 %). */
static int exec_fee_bump(struct tgx_u256 *fee, const struct tgx_u256 *orig, const struct tgx_u256 *quote)
{
    struct tgx_u256 one = tgx_u256_from_u64(1);
    if (tgx_u256_mul_div_ceil(fee, orig, 5, 4) < 0 || tgx_u256_add(fee, fee, &one) < 0)
        return -TGX_ERR_INVAL;
    if (tgx_u256_cmp(quote, fee) > 0)
        *fee = *quote;
    return 0;
}

/*
 * TX (sent as HASH) got no receipt in time and the node still has it.  Replace it with a cancel: a
 * 0-value transfer to the keeper's own address with the same nonce and higher fees, so that the call
 * cannot be mined later, after another keeper has retried the task.  Then wait for either:
 *  - TX mined after all: 0 with its *RECEIPT and *BLOCK (the execution goes on as if in time);
 *  - the cancel mined: -TGX_ERR_IO, MSG says the call did not happen (the retry is safe);
 *  - neither, or the cancel could not be sent: -TGX_ERR_IO, MSG says the call may still happen.
 * MSG comes in holding the timeout's message.  -TGX_ERR_NOMEM.
 */
static int exec_cancel(struct tgx_keeper_chain *c, const struct tgx_tx *tx, const char *subject,
                       const char *hash, json_t **receipt, json_t **block, char *msg, size_t msglen)
{
    struct tgx_tx cancel;
    memset(&cancel, 0, sizeof cancel);
    cancel.chain_id = tx->chain_id;
    cancel.nonce = tx->nonce;
    cancel.gas_limit = 21000;
    cancel.has_to = true;
    memcpy(cancel.to, c->addr, TGX_ADDRESS_LEN);
    struct tgx_tx quote;
    char err[200];
    memset(&quote, 0, sizeof quote);
    int rc = exec_fees(c, &quote, err, sizeof err);
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    if (rc < 0 || quote.type != tx->type)
        memset(&quote, 0, sizeof quote); /* no fresh quote: the bump of the original's fees */
    cancel.type = tx->type;
    if (exec_fee_bump(&cancel.gas_price, &tx->gas_price, &quote.gas_price) < 0 ||
        exec_fee_bump(&cancel.max_fee_per_gas, &tx->max_fee_per_gas, &quote.max_fee_per_gas) < 0 ||
        exec_fee_bump(&cancel.max_priority_fee_per_gas, &tx->max_priority_fee_per_gas,
                      &quote.max_priority_fee_per_gas) < 0) {
        size_t len = strlen(msg);
        exec_msg(msg + len, msglen - len, "; not replaced: its fees are out of range");
        return -TGX_ERR_IO;
    }

    struct tgx_jsonrpc_error je = {0};
    char chash[67] = "";
    bool sent;
    rc = exec_sign_send(c, &cancel, chash, &je, &sent, err, sizeof err);
    tgx_jsonrpc_error_cleanup(&je);
    const char *hashes[2] = {hash, chash};
    char last[300];
    int which = 0;
    if (rc < 0) {
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        /* e.g. "nonce too low": TX was mined meanwhile; one more look for its receipt */
        rc = exec_wait_any(c, hashes, 1, 0, &which, receipt, block, last, sizeof last);
        if (rc != -TGX_ERR_IO)
            return rc;
        size_t len = strlen(msg);
        exec_msg(msg + len, msglen - len, "; could not replace it (%s): the call may still happen", err);
        return -TGX_ERR_IO;
    }
    tgx_log_warning(subject,
                    "chain %s: no receipt for %s in time; replaced it by the cancel %s (nonce %" PRIu64 ")",
                    c->id_text, hash, chash, tx->nonce);
    rc = exec_wait_any(c, hashes, 2, c->opts.receipt_timeout_ms, &which, receipt, block, last, sizeof last);
    if (rc == 0 && which == 0)
        return 0;
    if (rc == 0) {
        json_decref(*receipt);
        json_decref(*block);
        *receipt = *block = NULL;
        exec_msg(msg, msglen,
                 "no receipt for transaction %s within %ld ms; the cancel %s (nonce %" PRIu64
                 ") was mined instead: the call did not happen",
                 hash, c->opts.receipt_timeout_ms, chash, tx->nonce);
        return -TGX_ERR_IO;
    }
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    exec_msg(msg, msglen,
             "no receipt for transaction %s within %ld ms, nor for its cancel %s (nonce %" PRIu64
             ") within %ld ms more: the call may still happen%s%s",
             hash, c->opts.receipt_timeout_ms, chash, tx->nonce, c->opts.receipt_timeout_ms,
             last[0] != '\0' ? "; last error: " : "", last);
    return -TGX_ERR_IO;
}

/* A failed transaction (receipt status 0): the reason replayed by eth_call at its block. */
static int exec_failed_tx(struct tgx_keeper_chain *c, const struct exec_job *j, const char *to_text,
                          const struct tgx_tx *tx, const char *hash, const json_t *receipt,
                          struct tgx_keeper_outcome *out)
{
    const char *bn = json_string_value(json_object_get(receipt, "blockNumber"));
    uint64_t used = 0;
    if (tgx_jsonrpc_quantity_u64(json_object_get(receipt, "gasUsed"), &used) == 0 && used >= tx->gas_limit)
        return exec_end(out, TGX_KEEPER_PERMANENT, "transaction %s ran out of gas (limit %" PRIu64 ")", hash,
                        tx->gas_limit);
    struct tgx_jsonrpc_msg m = {.from = c->from,
                                .to = to_text,
                                .data = (const uint8_t *)j->calldata.data,
                                .data_len = j->calldata.len,
                                .gas = tx->gas_limit};
    struct tgx_jsonrpc_error je = {0};
    struct tgx_buf ret;
    tgx_buf_init(&ret);
    int rc = tgx_jsonrpc_eth_call(c->rpc, &m, bn, &ret, &je);
    tgx_buf_cleanup(&ret);
    char why[400] = "execution reverted (the reason could not be replayed)";
    if (rc == -TGX_ERR_STATE) {
        bool is_revert;
        rc = exec_call_failure(&je, j->abi, &is_revert, why, sizeof why);
    } else {
        rc = rc == -TGX_ERR_NOMEM ? rc : 0;
    }
    tgx_jsonrpc_error_cleanup(&je);
    if (rc == -TGX_ERR_NOMEM)
        return exec_nomem(out);
    return exec_end(out, TGX_KEEPER_PERMANENT, "%s (transaction %s, status 0)", why, hash);
}

/* The result of a successful transaction. */
static int exec_done(struct tgx_keeper_chain *c, const struct exec_job *j, const char *to_text,
                     const struct tgx_tx *tx, const char *hash, const json_t *receipt, const json_t *block,
                     struct tgx_keeper_outcome *out)
{
    uint64_t gas_used = 0, block_number = 0, ts = 0;
    if (tgx_jsonrpc_quantity_u64(json_object_get(receipt, "gasUsed"), &gas_used) < 0 ||
        tgx_jsonrpc_quantity_u64(json_object_get(receipt, "blockNumber"), &block_number) < 0 ||
        tgx_jsonrpc_quantity_u64(json_object_get(block, "timestamp"), &ts) < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "rpc: malformed receipt or block of transaction %s", hash);
    struct tgx_u256 price;
    if (tgx_jsonrpc_quantity_u256(json_object_get(receipt, "effectiveGasPrice"), &price) < 0) {
        /* old nodes: legacy pays its gas price; type 2 min(max fee, base fee + tip) */
        struct tgx_u256 base;
        price = tx->type == TGX_TX_LEGACY ? tx->gas_price : tx->max_fee_per_gas;
        if (tx->type == TGX_TX_EIP1559 &&
            tgx_jsonrpc_quantity_u256(json_object_get(block, "baseFeePerGas"), &base) == 0 &&
            tgx_u256_add(&base, &base, &tx->max_priority_fee_per_gas) == 0 && tgx_u256_cmp(&base, &price) < 0)
            price = base;
    }
    struct tgx_u256 cost;
    char gas_dec[24], price_dec[TGX_U256_DEC_MAX + 1], cost_eth[EXEC_ETH_TEXT];
    if (tgx_u256_mul_u64(&cost, &price, gas_used) < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "rpc: the gas price of transaction %s is out of range",
                        hash);
    snprintf(gas_dec, sizeof gas_dec, "%" PRIu64, gas_used);
    tgx_u256_to_dec(&price, price_dec);
    exec_wei_to_eth(&cost, cost_eth);
    json_t *conv = exec_converted_args(j);
    if (conv == NULL)
        return exec_nomem(out);
    out->result =
        json_pack("{s:s, s:I, s:s, s:s, s:o, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "execution_tx_hash",
                  hash, "execution_timestamp", (json_int_t)ts, "gas_used", gas_dec, "task_opx_cost", cost_eth,
                  "converted_arguments", conv, "block_number", (json_int_t)block_number,
                  "effective_gas_price", price_dec, "from", c->from, "to", to_text, "chain_id", c->id_text,
                  "status", "success", "nonce", (json_int_t)tx->nonce, "tx_type", (int)tx->type);
    if (out->result == NULL)
        return exec_nomem(out);
    out->kind = TGX_KEEPER_DONE;
    out->error[0] = '\0';
    return 0;
}

/* Execute J on chain: chain check, estimate, fees, send, receipt. */
static int exec_onchain(struct tgx_keeper_chain *c, const struct exec_job *j, const char *subject,
                        const uint8_t to[TGX_ADDRESS_LEN], const char *to_text,
                        struct tgx_keeper_outcome *out)
{
    char msg[sizeof out->error];
    int rc = exec_check_chain(c, msg, sizeof msg);
    if (rc == -TGX_ERR_NOMEM)
        return exec_nomem(out);
    if (rc < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "%s", msg);

    /* gas: a revert here is the job's fault */
    struct tgx_jsonrpc_error je = {0};
    struct tgx_jsonrpc_msg m = {.from = c->from,
                                .to = to_text,
                                .data = (const uint8_t *)j->calldata.data,
                                .data_len = j->calldata.len};
    uint64_t est = 0;
    rc = tgx_jsonrpc_estimate_gas(c->rpc, &m, &est, &je);
    if (rc < 0) {
        bool is_revert = false;
        int rc2 = 0;
        if (rc == -TGX_ERR_STATE)
            rc2 = exec_call_failure(&je, j->abi, &is_revert, msg, sizeof msg);
        else if (rc != -TGX_ERR_NOMEM)
            exec_rpc_msg(msg, sizeof msg, "eth_estimateGas", &je);
        tgx_jsonrpc_error_cleanup(&je);
        if (rc == -TGX_ERR_NOMEM || rc2 == -TGX_ERR_NOMEM)
            return exec_nomem(out);
        if (is_revert)
            return exec_end(out, TGX_KEEPER_PERMANENT, "%s", msg);
        if (rc == -TGX_ERR_STATE)
            return exec_end(out, TGX_KEEPER_TRANSIENT, "could not estimate gas: %s", msg);
        return exec_end(out, TGX_KEEPER_TRANSIENT, "%s", msg);
    }
    tgx_jsonrpc_error_cleanup(&je);
    if (c->opts.gas_limit_cap > 0 && est > c->opts.gas_limit_cap)
        return exec_end(out, TGX_KEEPER_PERMANENT, "gas estimate %" PRIu64 " of %s is above the cap %" PRIu64,
                        est, j->fn->signature, c->opts.gas_limit_cap);
    uint64_t gas =
        est + est / 100 * c->opts.gas_margin_percent + (est % 100) * c->opts.gas_margin_percent / 100;
    if (gas < est) /* overflow */
        gas = UINT64_MAX;
    if (c->opts.gas_limit_cap > 0 && gas > c->opts.gas_limit_cap)
        gas = c->opts.gas_limit_cap;

    struct tgx_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.chain_id = c->opts.chain_id;
    tx.gas_limit = gas;
    tx.has_to = true;
    memcpy(tx.to, to, TGX_ADDRESS_LEN);
    tx.data = (const uint8_t *)j->calldata.data;
    tx.data_len = j->calldata.len;
    rc = exec_fees(c, &tx, msg, sizeof msg);
    if (rc == -TGX_ERR_NOMEM)
        return exec_nomem(out);
    if (rc < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "%s", msg);

    char hash[67] = "";
    uint64_t nonce = 0;
    rc = exec_send(c, &tx, subject, hash, &nonce, msg, sizeof msg);
    if (rc == -TGX_ERR_NOMEM)
        return exec_nomem(out);
    if (rc < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "%s", msg);
    tgx_log_debug(subject, "chain %s: sent %s (nonce %" PRIu64 ", gas %" PRIu64 ", type %d)", c->id_text,
                  hash, nonce, gas, (int)tx.type);

    json_t *receipt = NULL, *block = NULL;
    bool pending = false;
    rc = exec_wait(c, hash, &receipt, &block, &pending, msg, sizeof msg);
    if (rc == -TGX_ERR_IO && pending)
        rc = exec_cancel(c, &tx, subject, hash, &receipt, &block, msg, sizeof msg);
    if (rc == -TGX_ERR_NOMEM)
        return exec_nomem(out);
    if (rc < 0)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "%s", msg);
    const char *status = json_string_value(json_object_get(receipt, "status"));
    if (status != NULL && strcmp(status, "0x1") == 0)
        rc = exec_done(c, j, to_text, &tx, hash, receipt, block, out);
    else if (status != NULL && (strcmp(status, "0x0") == 0 || strcmp(status, "0x") == 0))
        rc = exec_failed_tx(c, j, to_text, &tx, hash, receipt, out);
    else
        rc = exec_end(out, TGX_KEEPER_TRANSIENT, "rpc: the receipt of %s has no status", hash);
    json_decref(receipt);
    json_decref(block);
    return rc;
}

int tgx_keeper_execute(struct tgx_keeper_chain *c, const json_t *task, struct tgx_keeper_outcome *out)
{
    memset(out, 0, sizeof *out);
    char subject[40];
    exec_subject(task, subject, sizeof subject);

    uint64_t u = 0;
    if (!json_is_object(task))
        return exec_end(out, TGX_KEEPER_PERMANENT, "the task is not a JSON object");
    if (exec_field_u64(json_object_get(task, "arg_type"), &u) && u == 2)
        return exec_end(out, TGX_KEEPER_PERMANENT, "arg_type 2 (dynamic arguments) is not supported");
    if (exec_field_u64(json_object_get(task, "task_definition_id"), &u) && u == 7)
        return exec_end(out, TGX_KEEPER_PERMANENT, "task_definition_id 7 (custom scripts) is not supported");
    uint64_t chain = 0;
    if (!exec_task_chain(task, &chain))
        return exec_end(out, TGX_KEEPER_PERMANENT, "the task has no valid target_chain_id");
    if (chain != c->opts.chain_id)
        return exec_end(out, TGX_KEEPER_TRANSIENT, "the task targets chain %" PRIu64 ", not chain %" PRIu64,
                        chain, c->opts.chain_id);
    uint8_t to[TGX_ADDRESS_LEN];
    if (!exec_field_address(task, "target_contract_address", to))
        return exec_end(out, TGX_KEEPER_PERMANENT,
                        "target_contract_address is not an address (0x and 40 hex digits, valid checksum)");
    char to_text[TGX_ADDRESS_TEXT_LEN + 1];
    tgx_abi_address_checksum(to, to_text);

    struct exec_job j;
    exec_job_init(&j);
    char why[400];
    int rc = exec_job_build(task, &j, why, sizeof why);
    if (rc == -TGX_ERR_NOMEM) {
        exec_job_cleanup(&j);
        return exec_nomem(out);
    }
    if (rc < 0) {
        exec_job_cleanup(&j);
        return exec_end(out, TGX_KEEPER_PERMANENT, "%s", why);
    }
    if (c->opts.dry_run)
        rc = exec_dry_run(c, &j, to, to_text, out);
    else
        rc = exec_onchain(c, &j, subject, to, to_text, out);
    exec_job_cleanup(&j);
    if (out->kind == TGX_KEEPER_DONE && c->opts.dry_run)
        tgx_log_debug(subject, "chain %s: done (dry run)", c->id_text);
    else if (out->kind == TGX_KEEPER_DONE)
        tgx_log_debug(subject, "chain %s: done in %s", c->id_text,
                      json_string_value(json_object_get(out->result, "execution_tx_hash")));
    else
        tgx_log_debug(subject, "chain %s: %s failure: %s", c->id_text,
                      out->kind == TGX_KEEPER_PERMANENT ? "permanent" : "transient", out->error);
    return rc;
}

/* ------------------------------------------------------------------ verify */

/* A verdict: *AGREE false with REASON; returns 0. */
static int exec_disagree(bool *agree, char *reason, size_t reasonlen, const char *fmt, ...) TGX_PRINTF(4, 5);
static int exec_disagree(bool *agree, char *reason, size_t reasonlen, const char *fmt, ...)
{
    *agree = false;
    if (reason != NULL && reasonlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, reasonlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* Compare the 0x-hex text S with the N bytes DATA. */
static bool exec_hex_equals(const char *s, const void *data, size_t n)
{
    if (s == NULL)
        return false;
    struct tgx_buf b;
    tgx_buf_init(&b);
    bool eq = tgx_abi_hex_decode(s, strlen(s), &b) == 0 && !tgx_buf_oom(&b) && b.len == n &&
              (n == 0 || memcmp(b.data, data, n) == 0);
    tgx_buf_cleanup(&b);
    return eq;
}

/* True when S is "0x" and 64 hex digits. */
static bool exec_is_hash(const char *s)
{
    if (s == NULL || strlen(s) != 66 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    for (int i = 2; i < 66; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* The on-chain checks of a real result. */
static int exec_verify_chain(struct tgx_keeper_chain *c, const json_t *req, const json_t *result,
                             const struct tgx_buf *calldata, const uint8_t to[TGX_ADDRESS_LEN],
                             const uint8_t performer[TGX_ADDRESS_LEN], bool *agree, char *reason,
                             size_t reasonlen)
{
    const char *hash = json_string_value(json_object_get(result, "execution_tx_hash"));
    if (!exec_is_hash(hash))
        return exec_disagree(agree, reason, reasonlen, "the result has no valid execution_tx_hash");
    char msg[400];
    int rc = exec_check_chain(c, msg, sizeof msg);
    if (rc < 0) {
        exec_msg(reason, reasonlen, "%s", msg);
        return rc;
    }
    struct tgx_jsonrpc_error je = {0};
    json_t *t = NULL, *receipt = NULL, *block = NULL;
    char a1[TGX_ADDRESS_TEXT_LEN + 1], a2[TGX_ADDRESS_TEXT_LEN + 1];
    uint8_t addr[TGX_ADDRESS_LEN];

    rc = tgx_jsonrpc_get_transaction(c->rpc, hash, &t, &je);
    if (rc < 0) {
        exec_rpc_msg(reason, reasonlen, "eth_getTransactionByHash", &je);
        goto io;
    }
    if (t == NULL) {
        rc = exec_disagree(agree, reason, reasonlen, "transaction %s does not exist", hash);
        goto out;
    }
    tgx_abi_address_checksum(to, a2);
    if (!exec_field_address(t, "to", addr) || memcmp(addr, to, TGX_ADDRESS_LEN) != 0) {
        const char *tt = json_string_value(json_object_get(t, "to"));
        rc =
            exec_disagree(agree, reason, reasonlen, "transaction %s went to %s, not to the job's contract %s",
                          hash, tt != NULL ? tt : "no address (a contract creation)", a2);
        goto out;
    }
    const char *input = json_string_value(json_object_get(t, "input"));
    if (input == NULL)
        input = json_string_value(json_object_get(t, "data"));
    if (!exec_hex_equals(input, calldata->data, calldata->len)) {
        rc = exec_disagree(agree, reason, reasonlen, "transaction input differs from the job's calldata");
        goto out;
    }
    if (!exec_field_address(t, "from", addr) || memcmp(addr, performer, TGX_ADDRESS_LEN) != 0) {
        tgx_abi_address_checksum(performer, a1);
        const char *tf = json_string_value(json_object_get(t, "from"));
        rc = exec_disagree(agree, reason, reasonlen, "transaction sender %s is not the performer %s",
                           tf != NULL ? tf : "(none)", a1);
        goto out;
    }
    rc = tgx_jsonrpc_get_receipt(c->rpc, hash, &receipt, &je);
    if (rc < 0) {
        exec_rpc_msg(reason, reasonlen, "eth_getTransactionReceipt", &je);
        goto io;
    }
    if (receipt == NULL) {
        exec_msg(reason, reasonlen, "transaction %s is not mined yet", hash);
        rc = -TGX_ERR_IO;
        goto out;
    }
    const char *status = json_string_value(json_object_get(receipt, "status"));
    if (status == NULL || strcmp(status, "0x1") != 0) {
        rc = exec_disagree(agree, reason, reasonlen, "transaction %s failed on chain (status %s)", hash,
                           status != NULL ? status : "missing");
        goto out;
    }
    uint64_t used = 0, claimed = 0, bn = 0, ts = 0;
    if (json_object_get(result, "gas_used") != NULL &&
        (tgx_jsonrpc_quantity_u64(json_object_get(receipt, "gasUsed"), &used) < 0 ||
         !exec_field_u64(json_object_get(result, "gas_used"), &claimed) || used != claimed)) {
        rc = exec_disagree(agree, reason, reasonlen,
                           "the result's gas_used differs from the receipt's %" PRIu64, used);
        goto out;
    }
    const char *bn_text = json_string_value(json_object_get(receipt, "blockNumber"));
    if (bn_text == NULL || tgx_jsonrpc_quantity_u64(json_object_get(receipt, "blockNumber"), &bn) < 0) {
        exec_msg(reason, reasonlen, "rpc: the receipt of %s has no block number", hash);
        rc = -TGX_ERR_IO;
        goto out;
    }
    if (json_object_get(result, "block_number") != NULL &&
        (!exec_field_u64(json_object_get(result, "block_number"), &claimed) || claimed != bn)) {
        rc = exec_disagree(agree, reason, reasonlen,
                           "the result's block_number differs from the receipt's %" PRIu64, bn);
        goto out;
    }
    const json_t *sched = json_object_get(req, "scheduled_for");
    if (sched != NULL && !json_is_null(sched)) {
        int64_t when = 0;
        if (!exec_parse_time(sched, &when)) {
            rc = exec_disagree(agree, reason, reasonlen, "the task's scheduled_for is not a timestamp");
            goto out;
        }
        rc = tgx_jsonrpc_get_block(c->rpc, bn_text, false, &block, &je);
        if (rc < 0) {
            exec_rpc_msg(reason, reasonlen, "eth_getBlockByNumber", &je);
            goto io;
        }
        if (block == NULL || tgx_jsonrpc_quantity_u64(json_object_get(block, "timestamp"), &ts) < 0) {
            exec_msg(reason, reasonlen, "rpc: block %s of the receipt is unknown", bn_text);
            rc = -TGX_ERR_IO;
            goto out;
        }
        if (ts > (uint64_t)INT64_MAX || (int64_t)ts < when) {
            rc = exec_disagree(agree, reason, reasonlen,
                               "the transaction's block time %" PRIu64
                               " is before the task's scheduled_for %" PRId64,
                               ts, when);
            goto out;
        }
    }
    *agree = true;
    exec_msg(reason, reasonlen, "%s", "");
    rc = 0;
    goto out;
io:
    rc = rc == -TGX_ERR_NOMEM ? rc : -TGX_ERR_IO;
out:
    json_decref(t);
    json_decref(receipt);
    json_decref(block);
    tgx_jsonrpc_error_cleanup(&je);
    return rc;
}

int tgx_keeper_verify(struct tgx_keeper_chain *c, const json_t *req, bool *agree, char *reason,
                      size_t reasonlen)
{
    *agree = false;
    exec_msg(reason, reasonlen, "%s", "");
    const json_t *result = json_object_get(req, "result");
    if (!json_is_object(result))
        return exec_disagree(agree, reason, reasonlen, "the result is not a JSON object");
    uint64_t chain = 0;
    if (!exec_task_chain(req, &chain))
        return exec_disagree(agree, reason, reasonlen, "the task has no valid target_chain_id");
    if (chain != c->opts.chain_id) {
        exec_msg(reason, reasonlen, "the task targets chain %" PRIu64 ", not chain %" PRIu64, chain,
                 c->opts.chain_id);
        return -TGX_ERR_IO;
    }
    uint8_t to[TGX_ADDRESS_LEN], performer[TGX_ADDRESS_LEN], addr[TGX_ADDRESS_LEN];
    if (!exec_field_address(req, "target_contract_address", to))
        return exec_disagree(agree, reason, reasonlen, "the task has no valid target_contract_address");
    if (!exec_field_address(req, "performer_address", performer))
        return exec_disagree(agree, reason, reasonlen, "the task has no valid performer_address");

    struct tgx_buf cd;
    tgx_buf_init(&cd);
    char why[400];
    int rc = tgx_keeper_calldata(req, &cd, why, sizeof why);
    if (rc == -TGX_ERR_NOMEM) {
        tgx_buf_cleanup(&cd);
        return rc;
    }
    if (rc < 0) {
        tgx_buf_cleanup(&cd);
        return exec_disagree(agree, reason, reasonlen, "the job cannot be encoded: %s", why);
    }

    char a1[TGX_ADDRESS_TEXT_LEN + 1], a2[TGX_ADDRESS_TEXT_LEN + 1];
    if (json_is_true(json_object_get(result, "dry_run"))) {
        if (!c->opts.dry_run) {
            rc = exec_disagree(agree, reason, reasonlen, "a dry-run result executed nothing on chain");
        } else if (!exec_hex_equals(json_string_value(json_object_get(result, "calldata")), cd.data,
                                    cd.len)) {
            rc = exec_disagree(agree, reason, reasonlen, "dry-run calldata differs from the job's calldata");
        } else if (!exec_field_address(result, "from", addr) || memcmp(addr, performer, sizeof addr) != 0) {
            tgx_abi_address_checksum(performer, a1);
            rc = exec_disagree(agree, reason, reasonlen, "dry-run sender is not the performer %s", a1);
        } else if (!exec_field_address(result, "to", addr) || memcmp(addr, to, sizeof addr) != 0) {
            tgx_abi_address_checksum(to, a2);
            rc = exec_disagree(agree, reason, reasonlen, "dry-run target is not the job's contract %s", a2);
        } else {
            *agree = true;
            rc = 0;
        }
    } else if (c->opts.dry_run) {
        exec_msg(reason, reasonlen, "a dry-run keeper cannot check transactions on chain");
        rc = -TGX_ERR_IO;
    } else {
        rc = exec_verify_chain(c, req, result, &cd, to, performer, agree, reason, reasonlen);
    }
    tgx_buf_cleanup(&cd);
    return rc;
}
