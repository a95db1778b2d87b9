/* client.c (keeper): the signed client of the keeper gateway (include/tgx/keeper.h): the signer
 * (key, address, request counter), the signed headers and the result and verdict bodies, one
 * libcurl handle per client driven through a multi handle so that a descriptor can abort a
 * long-poll at once, and the backoff the loop retries with. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "tgx/keeper.h"
#include "tgx/keeper_gw.h"

#define CLIENT_MAX_RESPONSE (4u << 20) /* bytes of one answer: a few tasks or attestation requests */
#define CLIENT_CONNECT_MS   5000       /* TCP connect */

/* =============================================================================================
 * The signer
 * ============================================================================================= */

struct tgx_keeper_signer {
    uint8_t secret[TGX_SECP_SECRET_LEN];
    char address[TGX_ADDRESS_TEXT_LEN + 1];
    _Atomic uint64_t counter; /* the next n= of a request target */
};

int tgx_keeper_signer_create(const uint8_t secret[TGX_SECP_SECRET_LEN], struct tgx_keeper_signer **out)
{
    *out = NULL;
    uint8_t addr[TGX_ADDRESS_LEN];
    int rc = tgx_secp_address(secret, addr);
    if (rc < 0)
        return rc;
    struct tgx_keeper_signer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -TGX_ERR_NOMEM;
    memcpy(s->secret, secret, TGX_SECP_SECRET_LEN);
    tgx_secp_address_text(addr, s->address);
    /* a random start: a keeper restarted within a second does not repeat its last targets */
    uint32_t start = 0;
    if (getrandom(&start, sizeof start, 0) != (ssize_t)sizeof start)
        start = (uint32_t)time(NULL);
    atomic_init(&s->counter, (uint64_t)start);
    *out = s;
    return 0;
}

void tgx_keeper_signer_free(struct tgx_keeper_signer *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s->secret, sizeof s->secret);
    free(s);
}

const char *tgx_keeper_signer_address(const struct tgx_keeper_signer *s)
{
    return s->address;
}

int tgx_keeper_signer_sign(const struct tgx_keeper_signer *s, const void *msg, size_t len,
                           char out[TGX_SECP_SIG_HEX_LEN + 1])
{
    return tgx_secp_sign_message(s->secret, msg, len, out);
}

int tgx_keeper_signer_target(struct tgx_keeper_signer *s, const char *path, char *out, size_t outlen)
{
    uint64_t n = atomic_fetch_add(&s->counter, 1);
    int w = snprintf(out, outlen, "%s%cn=%" PRIu64, path, strchr(path, '?') != NULL ? '&' : '?', n);
    return w < 0 || (size_t)w >= outlen ? -TGX_ERR_INVAL : 0;
}

int tgx_keeper_sign_request(const struct tgx_keeper_signer *s, const char *method, const char *target,
                            int64_t now, const void *body, size_t len, struct tgx_keeper_auth *out)
{
    memcpy(out->address, s->address, sizeof out->address);
    snprintf(out->timestamp, sizeof out->timestamp, "%" PRId64, now);
    struct tgx_buf text;
    tgx_buf_init(&text);
    int rc = tgx_keeper_gw_request_text(method, target, out->timestamp, body, len, &text);
    if (rc == 0)
        rc = tgx_keeper_signer_sign(s, text.data, text.len, out->signature);
    tgx_buf_cleanup(&text);
    return rc;
}

int tgx_keeper_result_body(const struct tgx_keeper_signer *s, int64_t task_id, int64_t lease_epoch,
                           const json_t *result, json_t **out)
{
    *out = NULL;
    char text[160], sig[TGX_SECP_SIG_HEX_LEN + 1];
    int rc = tgx_keeper_gw_result_text(task_id, lease_epoch, result, text, sizeof text);
    if (rc == 0)
        rc = tgx_keeper_signer_sign(s, text, strlen(text), sig);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:I, s:O, s:s}", "lease_epoch", (json_int_t)lease_epoch, "result", result, "signature",
                     sig);
    return *out != NULL ? 0 : -TGX_ERR_NOMEM;
}

int tgx_keeper_verdict_body(const struct tgx_keeper_signer *s, int64_t task_id, int64_t lease_epoch,
                            bool agree, const char *reason, const char *result_digest, json_t **out)
{
    *out = NULL;
    char text[200], sig[TGX_SECP_SIG_HEX_LEN + 1];
    int rc = tgx_keeper_gw_attest_text(task_id, lease_epoch, agree, result_digest, text, sizeof text);
    if (rc == 0)
        rc = tgx_keeper_signer_sign(s, text, strlen(text), sig);
    if (rc < 0)
        return rc;
    json_t *b = json_pack("{s:I, s:b, s:s}", "lease_epoch", (json_int_t)lease_epoch, "verdict", agree,
                          "signature", sig);
    if (b != NULL && !agree && reason != NULL && reason[0] != '\0') {
        /* the gateway keeps at most 4000 bytes of a reason */
        char cut[4001];
        snprintf(cut, sizeof cut, "%s", reason);
        if (json_object_set_new(b, "reason", json_string(cut)) < 0) {
            json_decref(b);
            b = NULL;
        }
    }
    *out = b;
    return b != NULL ? 0 : -TGX_ERR_NOMEM;
}

/* =============================================================================================
 * Answers
 * ============================================================================================= */

void tgx_keeper_reply_cleanup(struct tgx_keeper_reply *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

enum tgx_keeper_reply_kind tgx_keeper_reply_classify(long status, const char *code)
{
    if (status >= 200 && status < 300)
        return TGX_KEEPER_REPLY_OK;
    if (status == 0 || status >= 500 || status == 429 || status == 408)
        return TGX_KEEPER_REPLY_TRANSIENT;
    if (status == 401 && code != NULL && strcmp(code, "REPLAYED_REQUEST") == 0)
        return TGX_KEEPER_REPLY_TRANSIENT; /* a counter clash: the next request differs */
    if (status == 401 || status == 403)
        return TGX_KEEPER_REPLY_REFUSED;
    if (status == 409)
        return TGX_KEEPER_REPLY_STALE;
    return TGX_KEEPER_REPLY_REJECTED;
}

/* =============================================================================================
 * The client
 * ============================================================================================= */

struct tgx_keeper_client {
    char *base;                       /* the base URL without a trailing '/' */
    struct tgx_keeper_signer *signer; /* borrowed */
    CURLM *multi;                     /* holds the connection cache between requests */
    CURL *easy;                       /* reused for every request (keep-alive) */
    struct tgx_buf resp;              /* the answer being received */
    bool resp_too_big;
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static CURLcode client_global_rc = CURLE_OK;

static void client_global_init(void)
{
    client_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t client_write(char *data, size_t size, size_t n, void *arg)
{
    struct tgx_keeper_client *c = arg;
    size_t len = size * n;
    if (c->resp.len + len > CLIENT_MAX_RESPONSE) {
        c->resp_too_big = true;
        return 0; /* aborts the transfer */
    }
    tgx_buf_append(&c->resp, data, len);
    return tgx_buf_oom(&c->resp) ? 0 : len;
}

int tgx_keeper_client_create(const char *api_url, struct tgx_keeper_signer *signer,
                             struct tgx_keeper_client **out)
{
    *out = NULL;
    if (api_url == NULL || (strncmp(api_url, "http://", 7) != 0 && strncmp(api_url, "https://", 8) != 0))
        return -TGX_ERR_INVAL;
    pthread_once(&client_once, client_global_init);
    if (client_global_rc != CURLE_OK)
        return -TGX_ERR_NOMEM;
    struct tgx_keeper_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -TGX_ERR_NOMEM;
    c->base = strdup(api_url);
    c->signer = signer;
    tgx_buf_init(&c->resp);
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (c->base == NULL || c->multi == NULL || c->easy == NULL) {
        tgx_keeper_client_free(c);
        return -TGX_ERR_NOMEM;
    }
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    /* one connection per client is all it ever uses */
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    *out = c;
    return 0;
}

void tgx_keeper_client_free(struct tgx_keeper_client *c)
{
    if (c == NULL)
        return;
    if (c->easy != NULL)
        curl_easy_cleanup(c->easy);
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    tgx_buf_cleanup(&c->resp);
    free(c->base);
    free(c);
}

/* Copy the server's "error" and "code" of a JSON error body into R. */
static void reply_take_error(struct tgx_keeper_reply *r)
{
    const char *msg = json_string_value(json_object_get(r->body, "error"));
    const char *code = json_string_value(json_object_get(r->body, "code"));
    if (msg != NULL)
        snprintf(r->message, sizeof r->message, "%s", msg);
    if (code != NULL)
        snprintf(r->code, sizeof r->code, "%s", code);
}

/* Drive the transfer on C's multi handle until it ends, TIMEOUT passes (curl's own) or ABORT_FD
 * is readable.  The result of the transfer into *RESULT; false when aborted. */
static bool client_perform(struct tgx_keeper_client *c, int abort_fd, CURLcode *result)
{
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
        *result = CURLE_FAILED_INIT;
        return true;
    }
    bool done = false, aborted = false;
    *result = CURLE_OK;
    while (!done && !aborted) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) {
            *result = CURLE_FAILED_INIT;
            break;
        }
        int left;
        for (CURLMsg *m; (m = curl_multi_info_read(c->multi, &left)) != NULL;) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == c->easy) {
                *result = m->data.result;
                done = true;
            }
        }
        if (done || running == 0) {
            done = true;
            break;
        }
        struct curl_waitfd extra = {.fd = abort_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
        mc = curl_multi_poll(c->multi, abort_fd >= 0 ? &extra : NULL, abort_fd >= 0 ? 1 : 0, 1000, NULL);
        if (mc != CURLM_OK) {
            *result = CURLE_FAILED_INIT;
            break;
        }
        if (abort_fd >= 0 && (extra.revents & CURL_WAIT_POLLIN))
            aborted = true;
    }
    curl_multi_remove_handle(c->multi, c->easy);
    return !aborted;
}

int tgx_keeper_client_request(struct tgx_keeper_client *c, const char *method, const char *path,
                              const json_t *body, long timeout_ms, int abort_fd, struct tgx_keeper_reply *out)
{
    memset(out, 0, sizeof *out);
    out->kind = TGX_KEEPER_REPLY_TRANSIENT;
    char target[512], url[1024], h_addr[96], h_ts[64], h_sig[192];
    char *text = NULL;
    int rc = 0;
    struct curl_slist *headers = NULL;
    if (tgx_keeper_signer_target(c->signer, path, target, sizeof target) < 0 ||
        snprintf(url, sizeof url, "%s%s", c->base, target) >= (int)sizeof url) {
        snprintf(out->message, sizeof out->message, "request target too long");
        out->kind = TGX_KEEPER_REPLY_REJECTED;
        return 0;
    }
    if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
        return -TGX_ERR_NOMEM;
    size_t len = text != NULL ? strlen(text) : 0;
    struct tgx_keeper_auth auth;
    rc = tgx_keeper_sign_request(c->signer, method, target, (int64_t)time(NULL), text, len, &auth);
    if (rc < 0) {
        free(text);
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        snprintf(out->message, sizeof out->message, "could not sign the request: %s", tgx_err_str(rc));
        out->kind = TGX_KEEPER_REPLY_REJECTED;
        return 0;
    }
    snprintf(h_addr, sizeof h_addr, "%s: %s", TGX_KEEPER_HDR_ADDRESS, auth.address);
    snprintf(h_ts, sizeof h_ts, "%s: %s", TGX_KEEPER_HDR_TIMESTAMP, auth.timestamp);
    snprintf(h_sig, sizeof h_sig, "%s: %s", TGX_KEEPER_HDR_SIGNATURE, auth.signature);
    const char *hs[] = {h_addr,
                        h_ts,
                        h_sig,
                        "Connection: keep-alive",
                        "Accept: application/json",
                        text != NULL ? "Content-Type: application/json" : NULL,
                        "Expect:"};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        if (hs[i] == NULL)
            continue;
        struct curl_slist *h = curl_slist_append(headers, hs[i]);
        if (h == NULL) {
            curl_slist_free_all(headers);
            free(text);
            return -TGX_ERR_NOMEM;
        }
        headers = h;
    }

    CURL *e = c->easy;
    curl_easy_reset(e);
    tgx_buf_reset(&c->resp);
    c->resp_too_big = false;
    char errbuf[CURL_ERROR_SIZE] = "";
    bool is_post = strcmp(method, "POST") == 0;
    CURLcode cc = CURLE_OK;
    if ((cc = curl_easy_setopt(e, CURLOPT_URL, url)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CLIENT_CONNECT_MS)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_USERAGENT, "tgx-keeper/" TGX_VERSION)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, client_write)) != CURLE_OK ||
        (cc = curl_easy_setopt(e, CURLOPT_WRITEDATA, c)) != CURLE_OK ||
        (is_post && (cc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len)) != CURLE_OK) ||
        (is_post && (cc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, text != NULL ? text : "")) != CURLE_OK) ||
        (!is_post && strcmp(method, "GET") != 0 &&
         (cc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method)) != CURLE_OK)) {
        snprintf(out->message, sizeof out->message, "could not set up the request: %s",
                 curl_easy_strerror(cc));
    } else if (!client_perform(c, abort_fd, &cc)) {
        out->kind = TGX_KEEPER_REPLY_ABORTED;
        snprintf(out->message, sizeof out->message, "aborted");
    } else if (cc != CURLE_OK) {
        snprintf(out->message, sizeof out->message, "%s",
                 c->resp_too_big     ? "answer too big"
                 : errbuf[0] != '\0' ? errbuf
                                     : curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
        if (c->resp.len > 0)
            out->body = json_loadb(c->resp.data, c->resp.len, 0, NULL);
        out->kind = tgx_keeper_reply_classify(out->status, NULL);
        if (out->kind != TGX_KEEPER_REPLY_OK) {
            reply_take_error(out);
            out->kind = tgx_keeper_reply_classify(out->status, out->code);
            if (out->message[0] == '\0')
                snprintf(out->message, sizeof out->message, "HTTP status %ld", out->status);
        } else if (!json_is_object(out->body)) {
            out->kind = TGX_KEEPER_REPLY_TRANSIENT;
            snprintf(out->message, sizeof out->message, "the answer (HTTP %ld) is not a JSON object",
                     out->status);
        }
    }
    /* the easy handle must not keep pointers to this frame's buffers */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    free(text);
    tgx_buf_reset(&c->resp);
    return 0;
}

/* =============================================================================================
 * Backoff
 * ============================================================================================= */

void tgx_keeper_backoff_init(struct tgx_keeper_backoff *b, long base_ms, long cap_ms, unsigned seed)
{
    b->base_ms = base_ms > 0 ? base_ms : 1;
    b->cap_ms = cap_ms >= b->base_ms ? cap_ms : b->base_ms;
    b->next_ms = b->base_ms;
    b->seed = seed;
}

long tgx_keeper_backoff_next(struct tgx_keeper_backoff *b)
{
    long d = b->next_ms;
    /* +-25 %: spreads the retries of many keepers after one outage */
    long span = d / 2;
    if (span > 0)
        d = d - d / 4 + (long)((unsigned long)rand_r(&b->seed) % (unsigned long)(span + 1));
    if (d > b->cap_ms)
        d = b->cap_ms;
    if (d < 1)
        d = 1;
    b->next_ms = b->next_ms > b->cap_ms / 2 ? b->cap_ms : b->next_ms * 2;
    return d;
}

void tgx_keeper_backoff_reset(struct tgx_keeper_backoff *b)
{
    b->next_ms = b->base_ms;
}
