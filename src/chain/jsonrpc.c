/*
 * jsonrpc.c: Ethereum JSON-RPC 2.0 over HTTP(S) with libcurl.
 *
 * A client keeps a small pool of libcurl easy handles for its one URL: a call takes an idle handle
 * (or makes one), so a handle -- and the kept-alive connection in it -- is used by one thread at a
 * time, and several threads can call at once.  Failures are sorted in three kinds that callers act
 * on differently: TRANSPORT (no usable answer: try later or fall back), PROTOCOL (an answer we
 * cannot use) and RPC (the node's JSON-RPC error object, e.g. "execution reverted" with data).
 */
#include "tgx/jsonrpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tgx/abi.h"
#include "tgx/hex.h"

#define RPC_MAX_IDLE 8 /* idle handles kept per client */

#ifndef TGX_VERSION
#define TGX_VERSION "0"
#endif

/* One libcurl handle with its own connection cache. */
struct rpc_handle {
    CURL *curl;
    struct rpc_handle *next;
    char errbuf[CURL_ERROR_SIZE];
};

struct tgx_jsonrpc {
    char *url;
    long timeout_ms;
    struct curl_slist *headers; /* shared, read-only after create */
    pthread_mutex_t mu;         /* guards idle, nidle */
    struct rpc_handle *idle;
    size_t nidle;
    atomic_uint_fast64_t next_id;
};

static pthread_once_t rpc_once = PTHREAD_ONCE_INIT;
static CURLcode rpc_global_rc = CURLE_FAILED_INIT;

static void rpc_global_init(void)
{
    rpc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int rpc_fail(struct tgx_jsonrpc_error *err, enum tgx_jsonrpc_status st, long code, const char *fmt,
                    ...) TGX_PRINTF(4, 5);
static int rpc_fail(struct tgx_jsonrpc_error *err, enum tgx_jsonrpc_status st, long code, const char *fmt,
                    ...)
{
    if (err != NULL) {
        err->status = st;
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    switch (st) {
    case TGX_JSONRPC_TRANSPORT:
        return -TGX_ERR_IO;
    case TGX_JSONRPC_RPC:
        return -TGX_ERR_STATE;
    case TGX_JSONRPC_PROTOCOL:
    case TGX_JSONRPC_OK:
        break;
    }
    return -TGX_ERR_INVAL;
}

void tgx_jsonrpc_error_cleanup(struct tgx_jsonrpc_error *err)
{
    if (err == NULL)
        return;
    json_decref(err->data);
    memset(err, 0, sizeof *err);
}

int tgx_jsonrpc_create(const char *url, long timeout_ms, struct tgx_jsonrpc **out)
{
    if (url == NULL || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) ||
        timeout_ms < 0)
        return -TGX_ERR_INVAL;
    pthread_once(&rpc_once, rpc_global_init);
    if (rpc_global_rc != CURLE_OK)
        return -TGX_ERR_NOMEM;
    struct tgx_jsonrpc *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -TGX_ERR_NOMEM;
    c->url = strdup(url);
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : TGX_JSONRPC_DEFAULT_TIMEOUT_MS;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h != NULL)
        c->headers = h;
    if (h != NULL && (h = curl_slist_append(c->headers, "Accept: application/json")) != NULL)
        c->headers = h;
    if (h != NULL && (h = curl_slist_append(c->headers, "Expect:")) != NULL) /* no 100-continue round trip */
        c->headers = h;
    if (c->url == NULL || h == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        curl_slist_free_all(c->headers);
        free(c->url);
        free(c);
        return -TGX_ERR_NOMEM;
    }
    atomic_init(&c->next_id, 1);
    *out = c;
    return 0;
}

static void rpc_handle_free(struct rpc_handle *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void tgx_jsonrpc_free(struct tgx_jsonrpc *c)
{
    if (c == NULL)
        return;
    while (c->idle != NULL) {
        struct rpc_handle *h = c->idle;
        c->idle = h->next;
        rpc_handle_free(h);
    }
    pthread_mutex_destroy(&c->mu);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c);
}

const char *tgx_jsonrpc_url(const struct tgx_jsonrpc *c)
{
    return c->url;
}

/* Collect the response body into a tgx_buf, refusing more than TGX_JSONRPC_MAX_RESPONSE bytes. */
static size_t rpc_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct tgx_buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > TGX_JSONRPC_MAX_RESPONSE)
        return 0; /* curl reports CURLE_WRITE_ERROR */
    tgx_buf_append(b, ptr, n);
    return tgx_buf_oom(b) ? 0 : n;
}

/* An idle handle of C, or a new one set up for C's URL; NULL on oom. */
static struct rpc_handle *rpc_take(struct tgx_jsonrpc *c)
{
    pthread_mutex_lock(&c->mu);
    struct rpc_handle *h = c->idle;
    if (h != NULL) {
        c->idle = h->next;
        c->nidle--;
    }
    pthread_mutex_unlock(&c->mu);
    if (h != NULL)
        return h;
    h = calloc(1, sizeof *h);
    if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
        free(h);
        return NULL;
    }
    CURL *k = h->curl;
    long connect_ms =
        c->timeout_ms < TGX_JSONRPC_CONNECT_TIMEOUT_MS ? c->timeout_ms : TGX_JSONRPC_CONNECT_TIMEOUT_MS;
    if (curl_easy_setopt(k, CURLOPT_URL, c->url) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, c->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_USERAGENT, "tgx/" TGX_VERSION) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_ERRORBUFFER, h->errbuf) != CURLE_OK ||
        curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, rpc_write) != CURLE_OK) {
        rpc_handle_free(h);
        return NULL;
    }
    return h;
}

/* Give H back to C's pool (or free it when the pool is full). */
static void rpc_give(struct tgx_jsonrpc *c, struct rpc_handle *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->nidle < RPC_MAX_IDLE) {
        h->next = c->idle;
        c->idle = h;
        c->nidle++;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    rpc_handle_free(h);
}

/* Interpret a parsed response object RESP of request ID; fills *RESULT (new) or ERR. */
static int rpc_interpret(json_t *resp, uint64_t id, long http, json_t **result, struct tgx_jsonrpc_error *err)
{
    json_t *jerr = json_object_get(resp, "error");
    if (jerr != NULL && !json_is_null(jerr)) {
        json_t *code = json_object_get(jerr, "code");
        const char *msg = json_string_value(json_object_get(jerr, "message"));
        int rc = rpc_fail(err, TGX_JSONRPC_RPC, json_is_integer(code) ? (long)json_integer_value(code) : 0,
                          "%s", msg != NULL ? msg : "JSON-RPC error without a message");
        if (err != NULL) {
            json_t *data = json_object_get(jerr, "data");
            err->data = data != NULL ? json_incref(data) : NULL;
        }
        return rc;
    }
    json_t *jid = json_object_get(resp, "id");
    if (!json_is_integer(jid) || (uint64_t)json_integer_value(jid) != id)
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, http, "response id does not match the request");
    json_t *res = json_object_get(resp, "result");
    if (res == NULL)
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, http, "response has neither result nor error");
    *result = json_incref(res);
    return 0;
}

int tgx_jsonrpc_call(struct tgx_jsonrpc *c, const char *method, json_t *params, json_t **result,
                     struct tgx_jsonrpc_error *err)
{
    if (err != NULL)
        tgx_jsonrpc_error_cleanup(err);
    if (params == NULL)
        return -TGX_ERR_NOMEM;
    uint64_t id = atomic_fetch_add(&c->next_id, 1);
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method,
                            "params", params); /* "o" steals params, even on failure */
    if (req == NULL)
        return -TGX_ERR_NOMEM;
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (body == NULL)
        return -TGX_ERR_NOMEM;
    struct rpc_handle *h = rpc_take(c);
    if (h == NULL) {
        free(body);
        return -TGX_ERR_NOMEM;
    }
    struct tgx_buf resp;
    tgx_buf_init(&resp);
    h->errbuf[0] = '\0';
    CURLcode cc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &resp);
    if (cc == CURLE_OK)
        cc = curl_easy_perform(h->curl);
    long http = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);
    int rc;
    if (cc != CURLE_OK) {
        if (tgx_buf_oom(&resp))
            rc = -TGX_ERR_NOMEM;
        else if (cc == CURLE_WRITE_ERROR)
            rc = rpc_fail(err, TGX_JSONRPC_PROTOCOL, http, "%s: response larger than %u bytes", method,
                          TGX_JSONRPC_MAX_RESPONSE);
        else
            rc = rpc_fail(err, TGX_JSONRPC_TRANSPORT, 0, "could not call %s: %s", method,
                          h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(cc));
    } else {
        json_error_t je;
        json_t *doc = resp.len > 0 ? json_loadb(resp.data, resp.len, 0, &je) : NULL;
        if (doc == NULL && resp.len > 0) {
            /* anvil writes revert bytes into error messages as \u0000...: accept NUL in an error
               response only (its message is cut at the NUL), never in a result */
            doc = json_loadb(resp.data, resp.len, JSON_ALLOW_NUL, &je);
            json_t *e = json_object_get(doc, "error");
            if (e == NULL || json_is_null(e)) {
                json_decref(doc);
                doc = NULL;
            }
        }
        if (json_is_object(doc) && (json_object_get(doc, "error") != NULL || (http >= 200 && http < 300))) {
            rc = rpc_interpret(doc, id, http, result, err);
        } else if (http == 429 || http >= 500) {
            rc = rpc_fail(err, TGX_JSONRPC_TRANSPORT, http, "could not call %s: HTTP status %ld", method,
                          http);
        } else if (http < 200 || http >= 300) {
            rc = rpc_fail(err, TGX_JSONRPC_PROTOCOL, http, "%s: unexpected HTTP status %ld", method, http);
        } else {
            rc = rpc_fail(err, TGX_JSONRPC_PROTOCOL, http, "%s: the response is not a JSON-RPC object",
                          method);
        }
        json_decref(doc);
    }
    rpc_give(c, h);
    tgx_buf_cleanup(&resp);
    free(body);
    return rc;
}

int tgx_jsonrpc_error_revert_data(const struct tgx_jsonrpc_error *err, struct tgx_buf *out)
{
    if (err == NULL || err->data == NULL)
        return -TGX_ERR_NOTFOUND;
    const json_t *d = err->data;
    if (json_is_object(d))
        d = json_object_get(d, "data");
    const char *s = json_string_value(d);
    if (s == NULL)
        return -TGX_ERR_NOTFOUND;
    int rc = tgx_abi_hex_decode(s, json_string_length(d), out);
    return rc == -TGX_ERR_INVAL ? -TGX_ERR_NOTFOUND : rc;
}

/* ------------------------------------------------------------------ quantities and typed helpers */

int tgx_jsonrpc_quantity_u256(const json_t *v, struct tgx_u256 *out)
{
    const char *s = json_string_value(v);
    if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s[2] == '\0')
        return -TGX_ERR_INVAL;
    return tgx_u256_from_hexn(s, json_string_length(v), out);
}

int tgx_jsonrpc_quantity_u64(const json_t *v, uint64_t *out)
{
    struct tgx_u256 q;
    if (tgx_jsonrpc_quantity_u256(v, &q) < 0 || !tgx_u256_to_u64(&q, out))
        return -TGX_ERR_INVAL;
    return 0;
}

json_t *tgx_jsonrpc_msg_json(const struct tgx_jsonrpc_msg *msg)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = 0;
    if (msg->from != NULL)
        bad |= json_object_set_new(o, "from", json_string(msg->from));
    if (msg->to != NULL)
        bad |= json_object_set_new(o, "to", json_string(msg->to));
    if (msg->data != NULL || msg->data_len > 0) {
        struct tgx_buf b;
        tgx_buf_init(&b);
        tgx_abi_hex_append(&b, msg->data, msg->data_len);
        bad |= tgx_buf_oom(&b) ? -1 : json_object_set_new(o, "data", json_stringn(b.data, b.len));
        tgx_buf_cleanup(&b);
    }
    if (msg->value != NULL) {
        char hex[TGX_U256_HEX_MAX + 1];
        tgx_u256_to_hex(msg->value, hex);
        bad |= json_object_set_new(o, "value", json_string(hex));
    }
    if (msg->gas != 0) {
        char hex[TGX_U256_HEX_MAX + 1];
        struct tgx_u256 g = tgx_u256_from_u64(msg->gas);
        tgx_u256_to_hex(&g, hex);
        bad |= json_object_set_new(o, "gas", json_string(hex));
    }
    if (bad != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Call METHOD and read the result as a u256 quantity. */
static int rpc_call_u256(struct tgx_jsonrpc *c, const char *method, json_t *params, struct tgx_u256 *out,
                         struct tgx_jsonrpc_error *err)
{
    json_t *res;
    int rc = tgx_jsonrpc_call(c, method, params, &res, err);
    if (rc < 0)
        return rc;
    rc = tgx_jsonrpc_quantity_u256(res, out);
    json_decref(res);
    if (rc < 0)
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "%s: the result is not a quantity", method);
    return 0;
}

/* Call METHOD and read the result as a quantity below 2^64. */
static int rpc_call_u64(struct tgx_jsonrpc *c, const char *method, json_t *params, uint64_t *out,
                        struct tgx_jsonrpc_error *err)
{
    struct tgx_u256 v;
    int rc = rpc_call_u256(c, method, params, &v, err);
    if (rc < 0)
        return rc;
    if (!tgx_u256_to_u64(&v, out))
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "%s: the result does not fit in 64 bits", method);
    return 0;
}

/* Call METHOD and give back an object result, or NULL for a JSON null. */
static int rpc_call_object(struct tgx_jsonrpc *c, const char *method, json_t *params, json_t **out,
                           struct tgx_jsonrpc_error *err)
{
    json_t *res;
    *out = NULL;
    int rc = tgx_jsonrpc_call(c, method, params, &res, err);
    if (rc < 0)
        return rc;
    if (json_is_null(res)) {
        json_decref(res);
        return 0;
    }
    if (!json_is_object(res)) {
        json_decref(res);
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "%s: the result is not an object", method);
    }
    *out = res;
    return 0;
}

int tgx_jsonrpc_chain_id(struct tgx_jsonrpc *c, uint64_t *out, struct tgx_jsonrpc_error *err)
{
    return rpc_call_u64(c, "eth_chainId", json_array(), out, err);
}

int tgx_jsonrpc_block_number(struct tgx_jsonrpc *c, uint64_t *out, struct tgx_jsonrpc_error *err)
{
    return rpc_call_u64(c, "eth_blockNumber", json_array(), out, err);
}

int tgx_jsonrpc_gas_price(struct tgx_jsonrpc *c, struct tgx_u256 *out, struct tgx_jsonrpc_error *err)
{
    return rpc_call_u256(c, "eth_gasPrice", json_array(), out, err);
}

int tgx_jsonrpc_max_priority_fee(struct tgx_jsonrpc *c, struct tgx_u256 *out, struct tgx_jsonrpc_error *err)
{
    return rpc_call_u256(c, "eth_maxPriorityFeePerGas", json_array(), out, err);
}

int tgx_jsonrpc_estimate_gas(struct tgx_jsonrpc *c, const struct tgx_jsonrpc_msg *msg, uint64_t *out,
                             struct tgx_jsonrpc_error *err)
{
    json_t *m = tgx_jsonrpc_msg_json(msg);
    return rpc_call_u64(c, "eth_estimateGas", m != NULL ? json_pack("[o]", m) : NULL, out, err);
}

int tgx_jsonrpc_eth_call(struct tgx_jsonrpc *c, const struct tgx_jsonrpc_msg *msg, const char *block,
                         struct tgx_buf *out, struct tgx_jsonrpc_error *err)
{
    json_t *m = tgx_jsonrpc_msg_json(msg), *res;
    int rc = tgx_jsonrpc_call(c, "eth_call",
                              m != NULL ? json_pack("[os]", m, block ? block : "latest") : NULL, &res, err);
    if (rc < 0)
        return rc;
    const char *s = json_string_value(res);
    rc = s != NULL ? tgx_abi_hex_decode(s, json_string_length(res), out) : -TGX_ERR_INVAL;
    json_decref(res);
    if (rc == -TGX_ERR_INVAL)
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "eth_call: the result is not 0x-hex data");
    return rc;
}

int tgx_jsonrpc_get_balance(struct tgx_jsonrpc *c, const char *address, const char *block,
                            struct tgx_u256 *out, struct tgx_jsonrpc_error *err)
{
    return rpc_call_u256(c, "eth_getBalance", json_pack("[ss]", address, block ? block : "latest"), out, err);
}

int tgx_jsonrpc_get_transaction_count(struct tgx_jsonrpc *c, const char *address, const char *block,
                                      uint64_t *out, struct tgx_jsonrpc_error *err)
{
    return rpc_call_u64(c, "eth_getTransactionCount", json_pack("[ss]", address, block ? block : "pending"),
                        out, err);
}

int tgx_jsonrpc_send_raw_transaction(struct tgx_jsonrpc *c, const uint8_t *raw, size_t len, char hash[67],
                                     struct tgx_jsonrpc_error *err)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_abi_hex_append(&b, raw, len);
    json_t *params = tgx_buf_oom(&b) ? NULL : json_pack("[s#]", b.data, (int)b.len);
    tgx_buf_cleanup(&b);
    json_t *res;
    int rc = tgx_jsonrpc_call(c, "eth_sendRawTransaction", params, &res, err);
    if (rc < 0)
        return rc;
    const char *s = json_string_value(res);
    uint8_t tmp[32];
    size_t got;
    bool ok = s != NULL && strlen(s) == 66 && s[0] == '0' && s[1] == 'x' &&
              tgx_hex_decode(s + 2, 64, tmp, sizeof tmp, &got) == 0;
    if (ok) {
        memcpy(hash, s, 66);
        hash[66] = '\0';
    }
    json_decref(res);
    return ok ? 0
              : rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "eth_sendRawTransaction: the result is not a hash");
}

int tgx_jsonrpc_get_receipt(struct tgx_jsonrpc *c, const char *hash, json_t **out,
                            struct tgx_jsonrpc_error *err)
{
    return rpc_call_object(c, "eth_getTransactionReceipt", json_pack("[s]", hash), out, err);
}

int tgx_jsonrpc_get_transaction(struct tgx_jsonrpc *c, const char *hash, json_t **out,
                                struct tgx_jsonrpc_error *err)
{
    return rpc_call_object(c, "eth_getTransactionByHash", json_pack("[s]", hash), out, err);
}

int tgx_jsonrpc_get_block(struct tgx_jsonrpc *c, const char *block, bool full, json_t **out,
                          struct tgx_jsonrpc_error *err)
{
    return rpc_call_object(c, "eth_getBlockByNumber", json_pack("[sb]", block, full), out, err);
}

int tgx_jsonrpc_get_logs(struct tgx_jsonrpc *c, json_t *filter, json_t **out, struct tgx_jsonrpc_error *err)
{
    json_t *res;
    *out = NULL;
    int rc = tgx_jsonrpc_call(c, "eth_getLogs", filter != NULL ? json_pack("[o]", filter) : NULL, &res, err);
    if (rc < 0)
        return rc;
    if (!json_is_array(res)) {
        json_decref(res);
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "eth_getLogs: the result is not an array");
    }
    *out = res;
    return 0;
}

int tgx_jsonrpc_fee_history(struct tgx_jsonrpc *c, unsigned blocks, const char *newest, const double *pct,
                            size_t npct, json_t **out, struct tgx_jsonrpc_error *err)
{
    json_t *p = json_array();
    for (size_t i = 0; p != NULL && i < npct; i++) {
        if (json_array_append_new(p, json_real(pct[i])) < 0) {
            json_decref(p);
            p = NULL;
        }
    }
    char count[24];
    snprintf(count, sizeof count, "0x%x", blocks);
    json_t *params = p != NULL ? json_pack("[sso]", count, newest ? newest : "latest", p) : NULL;
    json_t *res;
    int rc = rpc_call_object(c, "eth_feeHistory", params, &res, err);
    if (rc < 0)
        return rc;
    if (res == NULL)
        return rpc_fail(err, TGX_JSONRPC_PROTOCOL, 0, "eth_feeHistory: the result is null");
    *out = res;
    return 0;
}
