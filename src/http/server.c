/* server.c: the libmicrohttpd server: request life cycle, middleware and response sending. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "internal.h"
#include "tgx/log.h"
#include "tgx/sha256.h"
#include "tgx/ws.h"

/* Request middleware order: trace id -> route -> body limit -> CORS (on every response) ->
 * authentication -> rate limit -> admin check -> handler -> metrics and access log. */

static const double LATENCY_BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NCLASSES 5
#define TGX_HTTP_DRAIN_FACTOR                                                                                \
    16 /* a declared body up to this many times the limit is drained before the 413 */

int64_t tgx_http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tgx_http_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tgx_http_rfc3339_now(char out[40])
{
    struct timespec ts;
    struct tm tm;
    char base[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.19s.%06dZ", base, (int)(ts.tv_nsec / 1000) % 1000000);
}

/* ---------------------------------------------------------------- responses */

void tgx_http_resp_reset(struct tgx_http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    resp->status = 0;
    resp->content_type[0] = '\0';
}

static void resp_set(struct tgx_http_resp *resp, int status, const char *ctype, char *body /* stolen */,
                     size_t len)
{
    tgx_http_resp_reset(resp);
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ctype);
    resp->body = body;
    resp->len = len;
}

void tgx_http_resp_json(struct tgx_http_resp *resp, int status, json_t *body)
{
    char *text = json_dumps(body != NULL ? body : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL) {
        resp->oom = true;
        tgx_http_resp_reset(resp);
        return;
    }
    resp_set(resp, status, "application/json; charset=utf-8", text, strlen(text));
}

void tgx_http_resp_error(struct tgx_http_resp *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *body;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    body = json_pack("{s:s, s:s}", "error", msg, "code", code);
    if (body == NULL) {
        /* the message quoted bytes that are not UTF-8 (or was cut inside a character) */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
                *p = '?';
        body = json_pack("{s:s, s:s}", "error", msg, "code", code);
    }
    tgx_http_resp_json(resp, status, body);
}

void tgx_http_resp_text(struct tgx_http_resp *resp, int status, const char *content_type, const char *text)
{
    char *copy = strdup(text != NULL ? text : "");
    if (copy == NULL) {
        resp->oom = true;
        tgx_http_resp_reset(resp);
        return;
    }
    resp_set(resp, status, content_type != NULL ? content_type : "text/plain; charset=utf-8", copy,
             strlen(copy));
}

void tgx_http_resp_header(struct tgx_http_resp *resp, const char *name, const char *value)
{
    char *n, *v;
    /* a header set twice keeps the last value */
    for (size_t i = 0; i < resp->nh; i++) {
        if (strcasecmp(resp->h[i].name, name) == 0) {
            v = strdup(value);
            if (v == NULL) {
                resp->oom = true;
                return;
            }
            free(resp->h[i].value);
            resp->h[i].value = v;
            return;
        }
    }
    if (resp->nh == resp->caph) {
        size_t cap = resp->caph ? resp->caph * 2 : 8;
        struct tgx_http_hdr *h = realloc(resp->h, cap * sizeof *h);
        if (h == NULL) {
            resp->oom = true;
            return;
        }
        resp->h = h;
        resp->caph = cap;
    }
    n = strdup(name);
    v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        resp->oom = true;
        return;
    }
    resp->h[resp->nh].name = n;
    resp->h[resp->nh].value = v;
    resp->nh++;
}

const char *tgx_http_resp_find_header(const struct tgx_http_resp *resp, const char *name)
{
    for (size_t i = 0; i < resp->nh; i++)
        if (strcasecmp(resp->h[i].name, name) == 0)
            return resp->h[i].value;
    return NULL;
}

static void resp_cleanup(struct tgx_http_resp *resp)
{
    tgx_http_resp_reset(resp);
    for (size_t i = 0; i < resp->nh; i++) {
        free(resp->h[i].name);
        free(resp->h[i].value);
    }
    free(resp->h);
    resp->h = NULL;
    resp->nh = resp->caph = 0;
}

/* ---------------------------------------------------------------- request accessors */

const char *tgx_http_method(const struct tgx_http_req *req)
{
    return req->method;
}

const char *tgx_http_path(const struct tgx_http_req *req)
{
    return req->path;
}

const char *tgx_http_param(const struct tgx_http_req *req, const char *name)
{
    return tgx_http_match_param(&req->match, name);
}

const char *tgx_http_query(const struct tgx_http_req *req, const char *name)
{
    if (req->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *tgx_http_header(const struct tgx_http_req *req, const char *name)
{
    if (req->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *tgx_http_body(const struct tgx_http_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data != NULL ? req->body.data : "";
}

const char *tgx_http_trace_id(const struct tgx_http_req *req)
{
    return req->trace_id;
}

const struct tgx_http_auth *tgx_http_auth(const struct tgx_http_req *req)
{
    return &req->auth;
}

const char *tgx_http_target(const struct tgx_http_req *req)
{
    return req->target != NULL ? req->target : req->path;
}

int64_t tgx_http_age_ms(const struct tgx_http_req *req)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - req->t0.tv_sec) * 1000 + (now.tv_nsec - req->t0.tv_nsec) / 1000000;
}

int64_t tgx_http_handler_value(const struct tgx_http_req *req)
{
    return req->handler_value;
}

void tgx_http_set_handler_value(struct tgx_http_req *req, int64_t value)
{
    req->handler_value = value;
}

/* ---------------------------------------------------------------- long-polls (parking) */

/* FNV-1a of KEY. */
static uint32_t park_key_hash(const char *key)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

enum tgx_http_run tgx_http_run_reason(const struct tgx_http_req *req)
{
    return req->run_reason;
}

uint64_t tgx_http_wake_mark(const struct tgx_http_req *req)
{
    struct tgx_http_server *srv = req->srv;
    uint64_t m;
    if (srv == NULL)
        return 0;
    pthread_mutex_lock(&srv->park_lock);
    m = srv->wake_seq;
    pthread_mutex_unlock(&srv->park_lock);
    return m;
}

int tgx_http_park(struct tgx_http_req *req, const char *key, uint64_t mark, unsigned timeout_ms)
{
    struct tgx_http_server *srv = req->srv;
    uint32_t h = park_key_hash(key);
    int rc = 0;
    if (srv == NULL || req->conn == NULL)
        return -TGX_ERR_STATE;
    pthread_mutex_lock(&srv->park_lock);
    if (!srv->park_running || srv->park_stop || srv->wake_slots[h % TGX_HTTP_WAKE_SLOTS] > mark) {
        rc = -TGX_ERR_STATE;
    } else {
        req->park_pending = true;
        req->park_hash = h;
        req->park_mark = mark;
        req->park_deadline = tgx_http_mono_ms() + (int64_t)timeout_ms;
    }
    pthread_mutex_unlock(&srv->park_lock);
    return rc;
}

static void park_unlink(struct tgx_http_server *srv, struct tgx_http_req *req)
{
    if (req->park_prev != NULL)
        req->park_prev->park_next = req->park_next;
    else
        srv->parked = req->park_next;
    if (req->park_next != NULL)
        req->park_next->park_prev = req->park_prev;
    req->park_next = req->park_prev = NULL;
    srv->nparked--;
}

/* Resume the requests of LIST (linked by park_next, already unlinked) with REASON.  Called without
 * park_lock: each request is ours alone until libmicrohttpd runs it again. */
static void park_resume_list(struct tgx_http_req *list, enum tgx_http_run reason)
{
    while (list != NULL) {
        struct tgx_http_req *next = list->park_next;
        list->park_next = NULL;
        list->run_reason = reason;
        MHD_resume_connection(list->conn);
        list = next;
    }
}

/* After the handler asked to park: suspend the connection and list it (or resume at once when a
 * wake came in between). */
static void park_suspend(struct tgx_http_req *req)
{
    struct tgx_http_server *srv = req->srv;
    bool now;
    req->park_pending = false;
    MHD_suspend_connection(req->conn);
    pthread_mutex_lock(&srv->park_lock);
    now = srv->park_stop || srv->wake_slots[req->park_hash % TGX_HTTP_WAKE_SLOTS] > req->park_mark;
    if (!now) {
        req->park_prev = NULL;
        req->park_next = srv->parked;
        if (srv->parked != NULL)
            srv->parked->park_prev = req;
        srv->parked = req;
        srv->nparked++;
        pthread_cond_signal(&srv->park_cond);
    }
    pthread_mutex_unlock(&srv->park_lock);
    if (now) {
        req->park_next = NULL;
        park_resume_list(req, srv->park_stop ? TGX_HTTP_RUN_STOPPING : TGX_HTTP_RUN_WOKEN);
    }
}

void tgx_http_wake(struct tgx_http_server *srv, const char *key)
{
    struct tgx_http_req *list = NULL, *r, *next;
    uint32_t h = key != NULL ? park_key_hash(key) : 0;
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->park_lock);
    srv->wake_seq++;
    if (key != NULL) {
        srv->wake_slots[h % TGX_HTTP_WAKE_SLOTS] = srv->wake_seq;
    } else {
        for (size_t i = 0; i < TGX_HTTP_WAKE_SLOTS; i++)
            srv->wake_slots[i] = srv->wake_seq;
    }
    for (r = srv->parked; r != NULL; r = next) {
        next = r->park_next;
        if (key == NULL || r->park_hash == h) {
            park_unlink(srv, r);
            r->park_next = list;
            list = r;
        }
    }
    pthread_mutex_unlock(&srv->park_lock);
    park_resume_list(list, TGX_HTTP_RUN_WOKEN);
}

size_t tgx_http_parked_count(struct tgx_http_server *srv)
{
    size_t n;
    pthread_mutex_lock(&srv->park_lock);
    n = srv->nparked;
    pthread_mutex_unlock(&srv->park_lock);
    return n;
}

/* The timer thread: resumes parked requests whose deadline passed. */
static void *park_timer_main(void *arg)
{
    struct tgx_http_server *srv = arg;
    pthread_mutex_lock(&srv->park_lock);
    while (!srv->park_stop) {
        int64_t now = tgx_http_mono_ms(), next = now + 60000;
        struct tgx_http_req *list = NULL, *r, *rn;
        for (r = srv->parked; r != NULL; r = rn) {
            rn = r->park_next;
            if (r->park_deadline <= now) {
                park_unlink(srv, r);
                r->park_next = list;
                list = r;
            } else if (r->park_deadline < next) {
                next = r->park_deadline;
            }
        }
        if (list != NULL) {
            pthread_mutex_unlock(&srv->park_lock);
            park_resume_list(list, TGX_HTTP_RUN_TIMEOUT);
            pthread_mutex_lock(&srv->park_lock);
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)(next / 1000), .tv_nsec = (long)(next % 1000) * 1000000};
        pthread_cond_timedwait(&srv->park_cond, &srv->park_lock, &ts);
    }
    pthread_mutex_unlock(&srv->park_lock);
    return NULL;
}

/* Start the timer thread (parking is refused until then). */
static int park_start(struct tgx_http_server *srv)
{
    srv->park_stop = false;
    if (pthread_create(&srv->park_thread, NULL, park_timer_main, srv) != 0)
        return -TGX_ERR_NOMEM;
    pthread_mutex_lock(&srv->park_lock);
    srv->park_running = true;
    pthread_mutex_unlock(&srv->park_lock);
    return 0;
}

/* Refuse new parks, resume every parked request (STOPPING) and join the timer thread. */
static void park_stop(struct tgx_http_server *srv)
{
    struct tgx_http_req *list = NULL, *r;
    bool running;
    pthread_mutex_lock(&srv->park_lock);
    running = srv->park_running;
    srv->park_stop = true;
    srv->park_running = false;
    while ((r = srv->parked) != NULL) {
        park_unlink(srv, r);
        r->park_next = list;
        list = r;
    }
    pthread_cond_signal(&srv->park_cond);
    pthread_mutex_unlock(&srv->park_lock);
    park_resume_list(list, TGX_HTTP_RUN_STOPPING);
    if (running)
        pthread_join(srv->park_thread, NULL);
}

bool tgx_http_json_too_deep(const char *s, size_t len, unsigned max_depth)
{
    unsigned depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++; /* skip the escaped character (a \uXXXX's digits are harmless) */
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

int tgx_http_json_body(struct tgx_http_req *req, struct tgx_http_resp *resp, json_t **out)
{
    unsigned max = req->srv != NULL ? req->srv->cfg.json_depth : 32;
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (req->body.len == 0) {
        tgx_http_resp_error(resp, 400, "INVALID_REQUEST", "request body is empty");
        return -TGX_ERR_INVAL;
    }
    if (tgx_http_json_too_deep(req->body.data, req->body.len, max)) {
        tgx_http_resp_error(resp, 400, "INVALID_REQUEST", "request body nests deeper than %u levels", max);
        return -TGX_ERR_INVAL;
    }
    j = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        tgx_http_resp_error(resp, 400, "INVALID_REQUEST", "invalid JSON body: %s at line %d column %d",
                            jerr.text, jerr.line, jerr.column);
        return -TGX_ERR_INVAL;
    }
    *out = j;
    return 0;
}

/* ---------------------------------------------------------------- authentication */

int tgx_http_authenticate_key(struct tgx_http_server *srv, const char *key, struct tgx_http_auth *out)
{
    unsigned char hash[32];
    struct tgx_auth_slot *slot;
    int64_t now = tgx_http_mono_ms();
    int rc;

    memset(out, 0, sizeof *out);
    if (srv->cfg.authenticate == NULL)
        return -TGX_ERR_STATE;
    rc = tgx_sha256(key, strlen(key), hash);
    if (rc < 0)
        return rc;
    slot = &srv->auth_cache[((size_t)hash[0] << 8 | hash[1]) % TGX_AUTH_CACHE_SLOTS];
    pthread_mutex_lock(&srv->auth_lock);
    if (slot->used && slot->expires_ms > now && memcmp(slot->hash, hash, 32) == 0) {
        rc = slot->rc;
        *out = slot->auth;
        pthread_mutex_unlock(&srv->auth_lock);
        return rc;
    }
    pthread_mutex_unlock(&srv->auth_lock);

    rc = srv->cfg.authenticate(srv->cfg.auth_ctx, hash, out);
    if (rc == 0 && out->key_id == 0)
        rc = -TGX_ERR_NOTFOUND;
    if (rc != 0 && rc != -TGX_ERR_NOTFOUND) {
        memset(out, 0, sizeof *out);
        return rc; /* not cached: the store may come back */
    }
    if (rc < 0)
        memset(out, 0, sizeof *out);
    out->owner[sizeof out->owner - 1] = '\0';
    pthread_mutex_lock(&srv->auth_lock);
    memcpy(slot->hash, hash, 32);
    slot->used = true;
    slot->rc = rc;
    slot->auth = *out;
    slot->expires_ms = now + srv->cfg.auth_cache_ms;
    pthread_mutex_unlock(&srv->auth_lock);
    return rc;
}

/* ---------------------------------------------------------------- the request life cycle */

static void trace_init(struct tgx_http_req *req)
{
    const char *t = tgx_http_header(req, "X-Trace-ID");
    bool ok = t != NULL && *t != '\0' && strlen(t) <= TGX_HTTP_TRACE_MAX;
    for (const char *p = t; ok && *p; p++) {
        unsigned char c = (unsigned char)*p;
        ok = c > 0x20 && c < 0x7f;
    }
    if (ok) {
        snprintf(req->trace_id, sizeof req->trace_id, "%s", t);
    } else {
        uuid_t u;
        uuid_generate_random(u);
        uuid_unparse_lower(u, req->trace_id);
    }
}

static void req_free(struct tgx_http_req *req)
{
    if (req == NULL)
        return;
    free(req->path);
    free(req->target);
    tgx_buf_cleanup(&req->body);
    resp_cleanup(&req->resp);
    free(req);
}

/* Index into srv->rseries of ROUTE (NULL: unmatched; PREFLIGHT: OPTIONS). */
static size_t route_index(const struct tgx_http_server *srv, const struct tgx_route *route, bool preflight)
{
    if (preflight)
        return srv->cfg.nroutes + 1;
    if (route == NULL)
        return srv->cfg.nroutes;
    return (size_t)(route - srv->cfg.routes);
}

static const char *route_name(const struct tgx_http_server *srv, size_t idx)
{
    if (idx == srv->cfg.nroutes)
        return "unmatched";
    if (idx == srv->cfg.nroutes + 1)
        return "preflight";
    return srv->cfg.routes[idx].name != NULL ? srv->cfg.routes[idx].name : srv->cfg.routes[idx].pattern;
}

static void record_metrics(struct tgx_http_server *srv, size_t idx, int status, double seconds)
{
    static const char *const classes[NCLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    int cls = status / 100 - 1;
    struct tgx_route_series *rs;
    struct tgx_metric_series *c, *l;

    if (cls < 0 || cls >= NCLASSES)
        cls = NCLASSES - 1;
    rs = &srv->rseries[idx * NCLASSES + (size_t)cls];
    c = atomic_load_explicit(&rs->count, memory_order_acquire);
    l = atomic_load_explicit(&rs->latency, memory_order_acquire);
    if (c == NULL || l == NULL) {
        const char *values[2] = {route_name(srv, idx), classes[cls]};
        if (tgx_metrics_series(srv->m_requests, values, &c) < 0 ||
            tgx_metrics_series(srv->m_latency, values, &l) < 0)
            return;
        atomic_store_explicit(&rs->count, c, memory_order_release);
        atomic_store_explicit(&rs->latency, l, memory_order_release);
    }
    tgx_metrics_add(c, 1);
    tgx_metrics_observe(l, seconds);
}

static void add_cors(struct tgx_http_req *req, struct MHD_Response *r)
{
    const char *origin = tgx_http_header(req, "Origin");
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin != NULL && *origin ? origin : "*");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", TGX_HTTP_CORS_METHODS);
    MHD_add_response_header(r, "Access-Control-Allow-Headers", TGX_HTTP_CORS_HEADERS);
    MHD_add_response_header(r, "Access-Control-Allow-Credentials", "false");
    MHD_add_response_header(
        r, "Access-Control-Expose-Headers",
        "X-Trace-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After");
    MHD_add_response_header(r, "Vary", "Origin");
}

static void upgrade_cb(void *cls, struct MHD_Connection *connection, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);

/* Turn req->resp into an MHD response and queue it; records metrics and the access log. */
static enum MHD_Result send_response(struct tgx_http_req *req)
{
    struct tgx_http_server *srv = req->srv;
    struct tgx_http_resp *resp = &req->resp;
    struct MHD_Response *r;
    enum MHD_Result ret;
    bool preflight = strcmp(req->method, "OPTIONS") == 0;
    struct timespec t1;
    double secs;
    size_t idx;

    if (resp->oom) {
        tgx_http_resp_reset(resp);
        resp->status = 500;
    }
    if (resp->upgrade) {
        r = MHD_create_response_for_upgrade(upgrade_cb, req);
    } else if (resp->status == 0) {
        /* nothing could be built (out of memory): a fixed body */
        static const char fallback[] = "{\"error\":\"internal server error\",\"code\":\"INTERNAL\"}";
        resp->status = 500;
        r = MHD_create_response_from_buffer(sizeof fallback - 1, (void *)fallback, MHD_RESPMEM_PERSISTENT);
        if (r != NULL)
            MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body != NULL ? resp->body : (void *)"",
                                            resp->body != NULL ? MHD_RESPMEM_MUST_FREE
                                                               : MHD_RESPMEM_PERSISTENT);
        if (r != NULL) {
            resp->body = NULL; /* now MHD's */
            if (resp->content_type[0] != '\0')
                MHD_add_response_header(r, "Content-Type", resp->content_type);
        }
    }
    if (r == NULL)
        return MHD_NO;
    if (resp->upgrade) {
        MHD_add_response_header(r, "Upgrade", "websocket");
        MHD_add_response_header(r, "Sec-WebSocket-Accept", resp->ws_accept);
    }
    add_cors(req, r);
    MHD_add_response_header(r, "X-Trace-ID", req->trace_id);
    for (size_t i = 0; i < resp->nh; i++)
        MHD_add_response_header(r, resp->h[i].name, resp->h[i].value);
    ret = MHD_queue_response(req->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    req->queued = true;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - req->t0.tv_sec) + (double)(t1.tv_nsec - req->t0.tv_nsec) / 1e9;
    idx = route_index(srv, req->match.route, preflight);
    record_metrics(srv, idx, resp->status, secs);
    /* the path only: a WebSocket ?api_key= never reaches the log */
    tgx_log_debug("http", "req=%s %s %s %d %.3f ms route=%s key=%" PRId64, req->trace_id, req->method,
                  req->path, resp->status, secs * 1e3, route_name(srv, idx), req->auth.key_id);
    return ret;
}

static void set_ratelimit_headers(struct tgx_http_resp *resp, const struct tgx_ratelimit_verdict *v)
{
    char b[32];
    snprintf(b, sizeof b, "%d", v->limit);
    tgx_http_resp_header(resp, "X-RateLimit-Limit", b);
    snprintf(b, sizeof b, "%d", v->remaining);
    tgx_http_resp_header(resp, "X-RateLimit-Remaining", b);
    snprintf(b, sizeof b, "%" PRId64, v->reset);
    tgx_http_resp_header(resp, "X-RateLimit-Reset", b);
    if (!v->allowed) {
        snprintf(b, sizeof b, "%d", v->retry_after);
        tgx_http_resp_header(resp, "Retry-After", b);
    }
}

/* Authentication, rate limit and admin check of a KEY/ADMIN route; false when RESP holds the refusal. */
static bool check_key(struct tgx_http_req *req)
{
    struct tgx_http_server *srv = req->srv;
    struct tgx_http_resp *resp = &req->resp;
    const struct tgx_route *route = req->match.route;
    struct tgx_ratelimit_verdict v;
    const char *key = tgx_http_header(req, "X-Api-Key");
    int rc;

    if (key == NULL || *key == '\0') {
        tgx_http_resp_error(resp, 401, "API_KEY_REQUIRED", "API key is required");
        return false;
    }
    rc = tgx_http_authenticate_key(srv, key, &req->auth);
    if (rc == -TGX_ERR_NOTFOUND) {
        tgx_http_resp_error(resp, 403, "INVALID_API_KEY", "Invalid or inactive API key");
        return false;
    }
    if (rc < 0) {
        tgx_log_error("http", "req=%s could not authenticate the API key: %s", req->trace_id,
                      tgx_err_str(rc));
        tgx_http_resp_error(resp, 500, "INTERNAL", "internal server error");
        return false;
    }
    tgx_ratelimit_hit(srv->rl, req->auth.key_id, req->auth.rate_limit, tgx_http_now_ms(), &v);
    set_ratelimit_headers(resp, &v);
    if (!v.allowed) {
        tgx_http_resp_error(resp, 429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded");
        return false;
    }
    if ((route->flags & TGX_ROUTE_ADMIN) && !req->auth.is_admin) {
        tgx_http_resp_error(resp, 403, "ADMIN_REQUIRED", "an admin API key is required");
        return false;
    }
    return true;
}

static void run_request(struct tgx_http_req *req)
{
    struct tgx_http_resp *resp = &req->resp;
    const struct tgx_route *route = req->match.route;
    int rc;

    if (strcmp(req->method, "OPTIONS") == 0) {
        tgx_http_resp_text(resp, 204, NULL, "");
        resp->content_type[0] = '\0';
        return;
    }
    if (route == NULL) {
        tgx_http_resp_text(resp, 404, "text/plain", "404 page not found");
        return;
    }
    if (req->too_large) {
        tgx_http_resp_error(resp, 413, "PAYLOAD_TOO_LARGE", "request body is larger than %zu bytes",
                            req->srv->cfg.body_limit);
        return;
    }
    if ((route->flags & (TGX_ROUTE_KEY | TGX_ROUTE_ADMIN)) && !check_key(req))
        return;
    req->park_pending = false;
    rc = route->fn(req, resp, req->srv->cfg.handler_ctx);
    if (rc == 0 && req->park_pending && !resp->oom) {
        tgx_http_resp_reset(resp);
        return;
    }
    req->park_pending = false;
    if (rc < 0 || (resp->status == 0 && !resp->upgrade) || resp->oom) {
        tgx_log_error("http", "req=%s %s %s: %s", req->trace_id, req->method, req->path,
                      rc < 0      ? tgx_err_str(rc)
                      : resp->oom ? "out of memory"
                                  : "the handler gave no response");
        resp->oom = false;
        tgx_http_resp_error(resp, 500, "INTERNAL", "internal server error");
    }
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    struct tgx_http_server *srv = cls;
    struct tgx_http_req *req = *req_cls;
    (void)version;

    if (req == NULL || req->conn == NULL) {
        /* first call: headers only.  Never queue here (keep-alive, toolchain.md §4) unless the
         * declared body is already too large, in which case the connection is closed anyway.
         * REQ may come from uri_log_cb (with the raw target). */
        const char *cl;
        if (req == NULL) {
            req = calloc(1, sizeof *req);
            if (req == NULL)
                return MHD_NO;
            clock_gettime(CLOCK_MONOTONIC, &req->t0);
        }
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->path = strdup(url != NULL ? url : "/");
        tgx_buf_init(&req->body);
        *req_cls = req;
        if (req->path == NULL)
            return MHD_NO;
        trace_init(req);
        if (tgx_http_router_match(srv->router, method, req->path, &req->match) < 0)
            req->match.route = NULL;
        cl = tgx_http_header(req, "Content-Length");
        if (cl != NULL) {
            char *end;
            unsigned long long n;
            errno = 0;
            n = strtoull(cl, &end, 10);
            if (errno == 0 && *end == '\0' && n > srv->cfg.body_limit && strcmp(method, "OPTIONS") != 0 &&
                req->match.route != NULL) {
                req->too_large = true;
                /* a body up to TGX_HTTP_DRAIN_FACTOR times the limit is read and dropped before the
                 * 413 (below): closing with unread data makes the kernel send a reset, which can
                 * destroy the answer before the client reads it.  A bigger one is answered at once. */
                if (n / TGX_HTTP_DRAIN_FACTOR > srv->cfg.body_limit) {
                    run_request(req);
                    return send_response(req);
                }
            }
        }
        return MHD_YES;
    }
    if (req->queued) { /* the early 413: discard whatever still arrives */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!req->too_large) {
            if (req->body.len + *upload_data_size > srv->cfg.body_limit) {
                /* a chunked body past the limit (a declared one was refused on the first call):
                 * libmicrohttpd 0.9.75 cannot queue a response in mid-upload, so the rest is read
                 * and dropped, and the 413 goes out at the end */
                req->too_large = true;
                tgx_buf_cleanup(&req->body);
            } else {
                tgx_buf_append(&req->body, upload_data, *upload_data_size);
                if (tgx_buf_oom(&req->body))
                    return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    run_request(req);
    if (req->park_pending) {
        park_suspend(req);
        return MHD_YES;
    }
    return send_response(req);
}

/* Called with the raw request target before any parsing: keep it (keeper signatures cover it).
 * The request made here is what access_cb gets first; completed_cb frees it. */
static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct tgx_http_req *req = calloc(1, sizeof *req);
    (void)cls;
    (void)con;
    if (req == NULL)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &req->t0);
    req->target = strdup(uri != NULL ? uri : "/");
    return req;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_free(*req_cls);
    *req_cls = NULL;
}

static void upgrade_cb(void *cls, struct MHD_Connection *connection, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct tgx_http_req *req = cls;
    char ip[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    (void)con_cls;
    if (ci != NULL && ci->client_addr != NULL)
        getnameinfo(ci->client_addr,
                    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in),
                    ip, sizeof ip, NULL, 0, NI_NUMERICHOST);
    tgx_ws_hub_adopt(req->srv->hub, sock, urh, extra_in, extra_in_size, &req->auth, ip);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '.'))
        line[--n] = '\0';
    tgx_log_warning("http", "libmicrohttpd: %s", line);
}

/* ---------------------------------------------------------------- the server object */

static char *dup_or_null(const char *s, bool *oom)
{
    char *d;
    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *oom = true;
    return d;
}

int tgx_http_server_create(const struct tgx_http_config *cfg, struct tgx_http_server **out)
{
    static const char *const labels[2] = {"route", "status"};
    struct tgx_http_server *srv;
    bool oom = false;
    int rc;

    *out = NULL;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        if ((cfg->routes[i].flags & (TGX_ROUTE_KEY | TGX_ROUTE_ADMIN)) && cfg->authenticate == NULL) {
            tgx_log_error("http", "route \"%s %s\" needs an API key but no authenticate callback was given",
                          cfg->routes[i].method, cfg->routes[i].pattern);
            return -TGX_ERR_INVAL;
        }
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return -TGX_ERR_NOMEM;
    srv->cfg = *cfg;
    srv->listen_host = dup_or_null(cfg->listen_host != NULL ? cfg->listen_host : "127.0.0.1", &oom);
    srv->database_url = dup_or_null(cfg->database_url, &oom);
    if (cfg->instance_id != NULL) {
        srv->instance_id = dup_or_null(cfg->instance_id, &oom);
    } else {
        char host[64] = "tgxd", id[128];
        gethostname(host, sizeof host);
        host[sizeof host - 1] = '\0';
        snprintf(id, sizeof id, "%s-%ld", host, (long)getpid());
        srv->instance_id = dup_or_null(id, &oom);
    }
    srv->cfg.listen_host = srv->listen_host;
    srv->cfg.database_url = srv->database_url;
    srv->cfg.instance_id = srv->instance_id;
    if (srv->cfg.threads == 0)
        srv->cfg.threads = 2;
    if (srv->cfg.body_limit == 0)
        srv->cfg.body_limit = 1024 * 1024;
    if (srv->cfg.json_depth == 0)
        srv->cfg.json_depth = 32;
    if (srv->cfg.connection_limit == 0)
        srv->cfg.connection_limit = 10000;
    if (srv->cfg.auth_cache_ms == 0)
        srv->cfg.auth_cache_ms = 5000;
    if (srv->cfg.ratelimit_sync_ms == 0)
        srv->cfg.ratelimit_sync_ms = 250;
    if (srv->cfg.ws_ping_ms == 0)
        srv->cfg.ws_ping_ms = 54000;
    if (srv->cfg.ws_timeout_ms == 0)
        srv->cfg.ws_timeout_ms = 60000;
    if (srv->cfg.ws_max_clients == 0)
        srv->cfg.ws_max_clients = 10000;
    pthread_mutex_init(&srv->auth_lock, NULL);
    pthread_mutex_init(&srv->park_lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&srv->park_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    srv->auth_cache = calloc(TGX_AUTH_CACHE_SLOTS, sizeof *srv->auth_cache);
    srv->rseries = calloc((cfg->nroutes + 2) * NCLASSES, sizeof *srv->rseries);
    if (oom || srv->auth_cache == NULL || srv->rseries == NULL) {
        rc = -TGX_ERR_NOMEM;
        goto fail;
    }
    rc = tgx_http_router_create(cfg->routes, cfg->nroutes, &srv->router);
    if (rc < 0)
        goto fail;
    rc = tgx_ratelimit_create(&srv->rl);
    if (rc < 0)
        goto fail;
    rc = tgx_metrics_create(&srv->metrics);
    if (rc < 0)
        goto fail;
    rc = tgx_metrics_register(srv->metrics, "tgx_http_requests_total",
                              "HTTP requests answered, by route and status class", TGX_METRIC_COUNTER, 2,
                              labels, 0, NULL, &srv->m_requests);
    if (rc == 0)
        rc = tgx_metrics_register(
            srv->metrics, "tgx_http_request_duration_seconds",
            "Time from the request headers to the queued response, by route and status class",
            TGX_METRIC_HISTOGRAM, 2, labels, sizeof LATENCY_BUCKETS / sizeof LATENCY_BUCKETS[0],
            LATENCY_BUCKETS, &srv->m_latency);
    if (rc == 0)
        rc = tgx_metrics_register(srv->metrics, "tgx_metrics_collect_errors_total",
                                  "Scrapes whose gauges from the store could not be collected",
                                  TGX_METRIC_COUNTER, 0, NULL, 0, NULL, &srv->m_collect_errors);
    if (rc == 0)
        rc = tgx_metrics_series(srv->m_collect_errors, NULL, &srv->s_collect_errors);
    if (rc < 0)
        goto fail;
    rc = tgx_ws_hub_create(srv, &srv->hub);
    if (rc < 0)
        goto fail;
    *out = srv;
    return 0;
fail:
    tgx_http_server_free(srv);
    return rc;
}

int tgx_http_server_start(struct tgx_http_server *srv)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_UPGRADE | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *di;
    int rc;

    if (srv->started)
        return -TGX_ERR_STATE;
    memset(&ss, 0, sizeof ss);
    if (strchr(srv->listen_host, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(srv->cfg.port);
        if (inet_pton(AF_INET6, srv->listen_host, &a6->sin6_addr) != 1)
            goto badaddr;
        sl = sizeof *a6;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(srv->cfg.port);
        if (inet_pton(AF_INET, srv->listen_host, &a4->sin_addr) != 1)
            goto badaddr;
        sl = sizeof *a4;
    }
    (void)sl;
    rc = tgx_ws_hub_start(srv->hub);
    if (rc < 0)
        return rc;
    srv->daemon = MHD_start_daemon(
        flags, srv->cfg.port, NULL, NULL, access_cb, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, srv->cfg.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, srv,
        MHD_OPTION_END);
    if (srv->daemon == NULL) {
        tgx_log_error("http", "could not listen on %s port %u", srv->listen_host, (unsigned)srv->cfg.port);
        tgx_ws_hub_stop(srv->hub);
        return -TGX_ERR_IO;
    }
    di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di != NULL ? di->port : srv->cfg.port;
    srv->started = true;
    rc = park_start(srv);
    if (rc < 0) {
        tgx_http_server_stop(srv);
        return rc;
    }
    if (srv->database_url != NULL) {
        rc = tgx_ratelimit_sync_start(srv->rl, srv->database_url, srv->instance_id,
                                      srv->cfg.ratelimit_sync_ms);
        if (rc == 0)
            rc = tgx_ws_feed_start(srv, srv->database_url, &srv->feed);
        if (rc < 0) {
            tgx_http_server_stop(srv);
            return rc;
        }
    }
    tgx_log_info("http", "listening on %s port %u (%u threads, instance \"%s\")", srv->listen_host,
                 (unsigned)srv->port, srv->cfg.threads, srv->instance_id);
    return 0;
badaddr:
    tgx_log_error("http", "invalid listen address \"%s\"", srv->listen_host);
    return -TGX_ERR_INVAL;
}

uint16_t tgx_http_server_port(const struct tgx_http_server *srv)
{
    return srv->started ? srv->port : 0;
}

void tgx_http_server_stop(struct tgx_http_server *srv)
{
    if (srv == NULL || !srv->started)
        return;
    tgx_ws_feed_stop(srv->feed);
    srv->feed = NULL;
    tgx_ratelimit_sync_stop(srv->rl);
    /* parked requests must be resumed and upgraded sockets closed before the daemon stops */
    park_stop(srv);
    tgx_ws_hub_stop(srv->hub);
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    srv->started = false;
}

void tgx_http_server_free(struct tgx_http_server *srv)
{
    if (srv == NULL)
        return;
    tgx_http_server_stop(srv);
    tgx_ws_hub_free(srv->hub);
    tgx_http_router_free(srv->router);
    tgx_ratelimit_free(srv->rl);
    tgx_metrics_free(srv->metrics);
    pthread_mutex_destroy(&srv->auth_lock);
    pthread_mutex_destroy(&srv->park_lock);
    pthread_cond_destroy(&srv->park_cond);
    free(srv->auth_cache);
    free(srv->rseries);
    free(srv->listen_host);
    free(srv->database_url);
    free(srv->instance_id);
    free(srv);
}

/* ---------------------------------------------------------------- built-in handlers */

int tgx_http_metrics_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_http_server *srv = req->srv;
    struct tgx_metrics_out mo;
    struct tgx_buf b;
    size_t clients, rooms;
    char *text;
    (void)ctx;

    tgx_buf_init(&b);
    tgx_metrics_out_init(&mo, &b);
    if (srv->cfg.metrics_collect != NULL && srv->cfg.metrics_collect(srv->cfg.metrics_ctx, &mo) < 0) {
        tgx_log_warning("http", "req=%s could not collect the store gauges for /metrics", req->trace_id);
        tgx_metrics_add(srv->s_collect_errors, 1);
    }
    tgx_ws_hub_counts(srv->hub, &clients, &rooms);
    tgx_metrics_gauge(&mo, "tgx_ws_clients", "Connected WebSocket clients", NULL, (double)clients);
    tgx_metrics_gauge(&mo, "tgx_ws_rooms", "WebSocket rooms with at least one client", NULL, (double)rooms);
    tgx_metrics_gauge(&mo, "tgx_ratelimit_syncs", "Completed rate-limit syncs with the database", NULL,
                      (double)tgx_ratelimit_sync_count(srv->rl));
    tgx_metrics_render(srv->metrics, &b);
    if (tgx_buf_oom(&b)) {
        tgx_buf_cleanup(&b);
        return -TGX_ERR_NOMEM;
    }
    text = tgx_buf_steal(&b);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    resp_set(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    return 0;
}

int tgx_http_ws_stats_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    size_t clients, rooms;
    json_t *counts;
    (void)ctx;
    tgx_ws_hub_counts(req->srv->hub, &clients, &rooms);
    counts = tgx_ws_hub_room_counts(req->srv->hub);
    if (counts == NULL)
        return -TGX_ERR_NOMEM;
    tgx_http_resp_json(resp, 200,
                       json_pack("{s:s, s:{s:I, s:I, s:o}}", "status", "success", "data", "total_clients",
                                 (json_int_t)clients, "total_rooms", (json_int_t)json_object_size(counts),
                                 "rooms", counts));
    (void)rooms;
    return 0;
}

int tgx_http_ws_health_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    size_t clients, rooms;
    (void)ctx;
    tgx_ws_hub_counts(req->srv->hub, &clients, &rooms);
    tgx_http_resp_json(resp, 200,
                       json_pack("{s:s, s:I, s:{s:I, s:I}}", "status", "healthy", "timestamp",
                                 (json_int_t)(tgx_http_now_ms() / 1000), "websocket", "active_connections",
                                 (json_int_t)clients, "active_rooms", (json_int_t)rooms));
    return 0;
}

/* Does header VALUE (a comma-separated list) contain TOKEN, case-insensitively? */
static bool header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (p != NULL && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (strncasecmp(p, token, tl) == 0 &&
            (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' ' || p[tl] == '\t'))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

int tgx_http_ws_tasks_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_http_server *srv = req->srv;
    const char *upgrade = tgx_http_header(req, "Upgrade");
    const char *connection = tgx_http_header(req, "Connection");
    const char *version = tgx_http_header(req, "Sec-WebSocket-Version");
    const char *wskey = tgx_http_header(req, "Sec-WebSocket-Key");
    const char *key = tgx_http_query(req, "api_key");
    struct tgx_ratelimit_verdict v;
    char ip[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci;
    int rc;
    (void)ctx;

    if (key == NULL || *key == '\0')
        key = tgx_http_header(req, "X-Api-Key");
    if (key == NULL || *key == '\0') {
        tgx_http_resp_error(resp, 401, "AUTHENTICATION_FAILED",
                            "API key is required for WebSocket connection");
        return 0;
    }
    rc = tgx_http_authenticate_key(srv, key, &req->auth);
    if (rc == -TGX_ERR_NOTFOUND) {
        tgx_http_resp_error(resp, 401, "AUTHENTICATION_FAILED", "Invalid or inactive API key");
        return 0;
    }
    if (rc < 0)
        return rc;
    tgx_ratelimit_hit(srv->rl, req->auth.key_id, req->auth.rate_limit, tgx_http_now_ms(), &v);
    set_ratelimit_headers(resp, &v);
    ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL)
        getnameinfo(ci->client_addr,
                    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in),
                    ip, sizeof ip, NULL, 0, NI_NUMERICHOST);
    if (!v.allowed || !tgx_ws_hub_admit(srv->hub, ip)) {
        tgx_http_resp_error(resp, 429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded");
        return 0;
    }
    if (upgrade == NULL || strcasecmp(upgrade, "websocket") != 0 || connection == NULL ||
        !header_has_token(connection, "upgrade") || wskey == NULL) {
        tgx_http_resp_error(resp, 400, "INVALID_REQUEST", "a WebSocket upgrade request is expected");
        return 0;
    }
    if (version == NULL || strcmp(version, "13") != 0) {
        tgx_http_resp_header(resp, "Sec-WebSocket-Version", "13");
        tgx_http_resp_error(resp, 426, "UPGRADE_REQUIRED", "WebSocket version 13 is required");
        return 0;
    }
    if (tgx_ws_accept_key(wskey, resp->ws_accept) < 0) {
        tgx_http_resp_error(resp, 400, "INVALID_REQUEST", "invalid Sec-WebSocket-Key");
        return 0;
    }
    tgx_http_resp_reset(resp);
    resp->status = 101;
    resp->upgrade = true;
    return 0;
}
