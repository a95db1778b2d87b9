/* http.h: the HTTP layer: requests, responses, the route table the API layer registers, and the
 * server (libmicrohttpd) that runs them with its middleware, WebSocket hub and metrics. */
#ifndef TGX_HTTP_H
#define TGX_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

/* One request (opaque), alive from the first byte to the end of the response. */
struct tgx_http_req;
/* One response under construction (opaque), owned by the request. */
struct tgx_http_resp;

/* What a route needs before its handler runs; the server checks it and answers the 4xx itself. */
enum tgx_route_flags {
    TGX_ROUTE_OPEN = 0,       /* no authentication (fees, health, metrics) */
    TGX_ROUTE_KEY = 1u << 0,  /* a valid, active X-Api-Key: 401 missing, 403 invalid; then rate limited */
    TGX_ROUTE_ADMIN = 1u << 1 /* an admin key (implies TGX_ROUTE_KEY): 403 otherwise */
};

/* The API key that authenticated a request (filled by the server for TGX_ROUTE_KEY routes). */
struct tgx_http_auth {
    int64_t key_id;  /* tgx.api_keys.key_id; 0 when the request carried no valid key */
    char owner[128]; /* the key's owner (for user keys a lower-case 0x address) */
    bool is_admin;   /* admin keys see and change everything */
    int rate_limit;  /* requests per minute */
};

/*
 * A route handler.  Reads the request, fills RESP with tgx_http_resp_json() or
 * tgx_http_resp_error(), and returns 0.  A negative enum tgx_err means "could not answer":
 * the server logs it and answers 500 {"error":"internal server error","code":"INTERNAL"}.
 * CTX is the pointer given to tgx_http_server_create().  Handlers run on the server's
 * worker threads, several at once.
 */
typedef int (*tgx_http_handler_fn)(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);

/* One row of the route table.  PATTERN segments starting with ':' are parameters; a static
 * segment wins over a parameter at the same place ("/api/jobs/time" over "/api/jobs/:id").
 * NAME labels the route in /metrics and logs (e.g. "jobs_by_user"). */
struct tgx_route {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern; /* "/api/jobs/user/:user_address/:job_id" */
    tgx_http_handler_fn fn;
    unsigned flags; /* enum tgx_route_flags */
    const char *name;
};

/* Request accessors: every returned pointer is borrowed, valid until the handler returns. */
const char *tgx_http_method(const struct tgx_http_req *req);
/* The path without the query string, as received (percent-decoded). */
const char *tgx_http_path(const struct tgx_http_req *req);
/* The value of path parameter NAME (without ':'), or NULL. */
const char *tgx_http_param(const struct tgx_http_req *req, const char *name);
/* The value of query argument NAME (decoded), or NULL when absent. */
const char *tgx_http_query(const struct tgx_http_req *req, const char *name);
/* The value of request header NAME (case-insensitive), or NULL. */
const char *tgx_http_header(const struct tgx_http_req *req, const char *name);
/* The raw body and its length (*LEN = 0 and "" when there is none); never larger than the limit. */
const char *tgx_http_body(const struct tgx_http_req *req, size_t *len /* OUT */);
/*
 * Parse the body as JSON (depth-limited).  On success *OUT is a NEW reference the caller
 * decrefs.  On malformed JSON, too deep nesting or an empty body it fills RESP with a 400
 * {"error","code":"INVALID_REQUEST"} naming the problem and returns -TGX_ERR_INVAL; the handler
 * then just returns 0.
 */
int tgx_http_json_body(struct tgx_http_req *req, struct tgx_http_resp *resp,
                       json_t **out /* OUT: new */) TGX_MUSTCHECK;
/* The trace id of the request (the X-Trace-ID received, or a generated one); echoed in the response. */
const char *tgx_http_trace_id(const struct tgx_http_req *req);
/* The authenticated key (key_id 0 on open routes without a key). */
const struct tgx_http_auth *tgx_http_auth(const struct tgx_http_req *req);

/* The request target exactly as the client sent it: the raw path with its query string, before
 * percent-decoding ("/api/keeper/tasks?wait=25"); what keeper signatures cover. */
const char *tgx_http_target(const struct tgx_http_req *req);
/* Milliseconds since the request's headers arrived (CLOCK_MONOTONIC). */
int64_t tgx_http_age_ms(const struct tgx_http_req *req);
/* A value a handler keeps with its request across runs (see tgx_http_park); 0 at first. */
int64_t tgx_http_handler_value(const struct tgx_http_req *req);
void tgx_http_set_handler_value(struct tgx_http_req *req, int64_t value);

/* ---------------------------------------------------------------------------------------------
 * Long-polls: a handler may park its request (libmicrohttpd suspend/resume: no worker thread is
 * held) until another thread names the request's key with tgx_http_wake() or a timeout passes;
 * then the same handler runs again on the same request and answers (or parks again).
 * ------------------------------------------------------------------------------------------- */

/* Why the handler runs. */
enum tgx_http_run {
    TGX_HTTP_RUN_FIRST = 0,   /* the request's first run */
    TGX_HTTP_RUN_WOKEN = 1,   /* it was parked and tgx_http_wake() named its key (maybe spuriously) */
    TGX_HTTP_RUN_TIMEOUT = 2, /* it was parked until its timeout */
    TGX_HTTP_RUN_STOPPING = 3 /* it was parked and the server is stopping: answer at once */
};
enum tgx_http_run tgx_http_run_reason(const struct tgx_http_req *req);
/* The server's wake counter now: take it BEFORE looking for work, then pass it to tgx_http_park(),
 * so that a wake that comes between the look and the park is not lost. */
uint64_t tgx_http_wake_mark(const struct tgx_http_req *req);
/*
 * Park REQ under KEY (copied hash; any string) for at most TIMEOUT_MS: the handler must then return
 * 0 without a response.  Returns 0 when parked; -TGX_ERR_STATE when it was not because KEY was
 * woken after MARK or the server is stopping: the handler looks for work again (or answers).
 */
int tgx_http_park(struct tgx_http_req *req, const char *key, uint64_t mark,
                  unsigned timeout_ms) TGX_MUSTCHECK;

/* Response builders.  Each call replaces the previous body. */
/* Answer STATUS with BODY as JSON; BODY is stolen (may be NULL: "null"). */
void tgx_http_resp_json(struct tgx_http_resp *resp, int status, json_t *body /* stolen */);
/* Answer STATUS with {"error": message, "code": CODE} (message printf-formatted). */
void tgx_http_resp_error(struct tgx_http_resp *resp, int status, const char *code, const char *fmt, ...)
    TGX_PRINTF(4, 5);
/* Answer STATUS with a text/plain body (copied). */
void tgx_http_resp_text(struct tgx_http_resp *resp, int status, const char *content_type, const char *text);
/* Add a response header (both strings copied). */
void tgx_http_resp_header(struct tgx_http_resp *resp, const char *name, const char *value);

/* ---------------------------------------------------------------------------------------------
 * The server (engineer A).  One struct tgx_http_config, then create / start / stop / free.
 * ------------------------------------------------------------------------------------------- */

struct tgx_metrics_out; /* include/tgx/metrics.h */

/*
 * Authenticate a presented API key.  KEY_HASH is the SHA-256 of the key exactly as presented
 * (the server never passes or logs the key itself).  Returns 0 and fills *OUT for a known,
 * ACTIVE key; -TGX_ERR_NOTFOUND for an unknown or inactive key (answered 403); any other
 * negative value for "could not decide" (answered 500, not cached).  Called from the server's
 * worker threads, several at once; answers are cached by the server for auth_cache_ms.
 */
typedef int (*tgx_http_auth_fn)(void *ctx, const unsigned char key_hash[32],
                                struct tgx_http_auth *out /* OUT */);

/*
 * WebSocket room check: may AUTH join room KIND:ID, KIND being "job" or "task" (user rooms are
 * checked by the server itself: owner == ID, or an admin key)?  Returns 0 (yes),
 * -TGX_ERR_NOTFOUND when the job/task does not exist or belongs to another owner (the client
 * gets an ERROR frame ACCESS_DENIED), other negative values on failure (ERROR frame INTERNAL).
 * Runs on the server's WebSocket worker thread (never on an HTTP worker); may block briefly on
 * the database.  NULL: every syntactically valid job/task room is allowed.
 */
typedef int (*tgx_http_ws_authorize_fn)(void *ctx, const struct tgx_http_auth *auth, const char *kind,
                                        const char *id);

/*
 * The JOB_TASKS_SNAPSHOT sent right after a subscription to job:JOB_ID: *OUT gets a NEW
 * reference to the frame's "data" value, {"job_id": "...", "tasks": [TaskItem, ...]}
 * (triggerx-api.md §3).  Returns 0, or a negative enum tgx_err (no snapshot is sent, the
 * subscription stays).  Same thread rules as tgx_http_ws_authorize_fn.  NULL: no snapshot.
 */
typedef int (*tgx_http_ws_snapshot_fn)(void *ctx, const struct tgx_http_auth *auth, const char *job_id,
                                       json_t **out /* OUT: new */);

/*
 * Gauges for GET /metrics, collected at scrape time: call tgx_metrics_gauge() (metrics.h) on OUT
 * for each value (queue depth by state, keepers online, scheduler lag ...).  Returns 0 or a
 * negative enum tgx_err (the scrape still answers 200 with the server's own metrics and
 * tgx_metrics_collect_errors_total incremented).  Runs on a worker thread.
 */
typedef int (*tgx_http_metrics_fn)(void *ctx, struct tgx_metrics_out *out);

/* Everything the server needs.  Strings are copied by tgx_http_server_create(); ROUTES is
 * borrowed and must outlive the server; every callback may be NULL unless noted. */
struct tgx_http_config {
    const char *listen_host;   /* numeric address to bind: "127.0.0.1", "0.0.0.0", "::"; NULL: 127.0.0.1 */
    uint16_t port;             /* TCP port; 0: any free port (see tgx_http_server_port()) */
    unsigned threads;          /* libmicrohttpd epoll thread pool size; 0: 2 */
    size_t body_limit;         /* largest request body in bytes; 0: 1 MiB.  Beyond it: 413
                                * {"code":"PAYLOAD_TOO_LARGE"}, the handler never runs (a declared
                                * Content-Length is refused at once and the connection closed; a
                                * chunked body is read to its end and dropped) */
    unsigned json_depth;       /* deepest nesting tgx_http_json_body() accepts; 0: 32 */
    unsigned connection_limit; /* simultaneous HTTP connections; 0: 10000 */

    const struct tgx_route *routes; /* the route table (borrowed) */
    size_t nroutes;
    void *handler_ctx; /* CTX of every handler */

    tgx_http_auth_fn authenticate; /* required when a route has TGX_ROUTE_KEY or TGX_ROUTE_ADMIN */
    void *auth_ctx;
    unsigned auth_cache_ms; /* how long answers (positive and negative) are cached; 0: 5000 */

    /* The database for the rate-limit sync thread and the task-feed LISTEN thread (each opens
     * its own connection and reconnects with back-off).  NULL: rate limits are counted by this
     * instance alone and the WebSocket feed sends no live events. */
    const char *database_url;
    const char *instance_id;    /* this instance's name in tgx.rate_limit_counters; NULL: "<host>-<pid>" */
    unsigned ratelimit_sync_ms; /* period of the rate-limit sync; 0: 250 */

    tgx_http_ws_authorize_fn ws_authorize; /* see above */
    tgx_http_ws_snapshot_fn ws_snapshot;
    void *ws_ctx;
    unsigned ws_ping_ms;     /* server ping period; 0: 54000 */
    unsigned ws_timeout_ms;  /* a client silent this long is dropped; 0: 60000 */
    unsigned ws_max_clients; /* simultaneous WebSocket clients; 0: 10000 */

    tgx_http_metrics_fn metrics_collect; /* gauges for /metrics */
    void *metrics_ctx;
};

/* A server (opaque). */
struct tgx_http_server;

/*
 * Check CFG (route patterns, duplicate routes, a KEY route without authenticate: -TGX_ERR_INVAL,
 * logged) and build a server; nothing listens yet.  *OUT gets a new server (tgx_http_server_free).
 */
int tgx_http_server_create(const struct tgx_http_config *cfg,
                           struct tgx_http_server **out /* OUT: new */) TGX_MUSTCHECK;
/* Bind and start every thread (HTTP pool, WebSocket loop and its worker, and with a database_url
 * the rate-limit sync and the feed listener; those two only log while the database is away).
 * -TGX_ERR_IO when the address cannot be bound (logged).  Returns at once; the server runs until
 * tgx_http_server_stop(). */
int tgx_http_server_start(struct tgx_http_server *srv) TGX_MUSTCHECK;
/* The TCP port the server listens on (useful with port 0); 0 before start. */
uint16_t tgx_http_server_port(const struct tgx_http_server *srv);
/* Stop listening, close every WebSocket client, join every thread.  Idempotent. */
void tgx_http_server_stop(struct tgx_http_server *srv);
/* Stop if running and free SRV (NULL is fine). */
void tgx_http_server_free(struct tgx_http_server *srv);

/* Resume every request parked under KEY (NULL: every parked request); later parks with an older
 * mark are refused.  Thread-safe, returns at once; a no-op before start and after stop. */
void tgx_http_wake(struct tgx_http_server *srv, const char *key);
/* Requests parked right now. */
size_t tgx_http_parked_count(struct tgx_http_server *srv);

/* Handlers the server provides for the route table (they ignore CTX and find the server through
 * the request).  ws_tasks must be TGX_ROUTE_OPEN: it authenticates itself (?api_key= or
 * X-Api-Key; 401 AUTHENTICATION_FAILED, 429 RATE_LIMIT_EXCEEDED as triggerx-api.md §3); the
 * original leaves the other three open:
 *   GET /metrics        tgx_http_metrics_handler   "metrics"
 *   GET /api/ws/tasks   tgx_http_ws_tasks_handler  "ws_tasks"
 *   GET /api/ws/stats   tgx_http_ws_stats_handler  "ws_stats"
 *   GET /api/ws/health  tgx_http_ws_health_handler "ws_health" */
int tgx_http_metrics_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_http_ws_tasks_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_http_ws_stats_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_http_ws_health_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);

/* ---------------------------------------------------------------------------------------------
 * Router and checks, exposed for tests and tools (`tgxd routes` may use tgx_http_router_create to
 * validate the table).
 * ------------------------------------------------------------------------------------------- */

#define TGX_HTTP_MAX_PARAMS   8  /* parameters in one pattern */
#define TGX_HTTP_MAX_SEGMENTS 16 /* segments in one pattern or path */

/* A compiled route table (opaque, immutable after creation: shared by all threads). */
struct tgx_http_router;

/* The outcome of a match: the route and the parameters (pointers into BUF). */
struct tgx_http_match {
    const struct tgx_route *route; /* borrowed from the table; NULL: no route */
    size_t nparams;
    const char *names[TGX_HTTP_MAX_PARAMS];  /* borrowed from the pattern, without ':' */
    const char *values[TGX_HTTP_MAX_PARAMS]; /* point into buf */
    char buf[1024];                          /* a copy of the matched path, split */
};

/* Compile ROUTES (borrowed, must outlive the router).  -TGX_ERR_INVAL (logged) for a pattern
 * that does not start with '/', an empty segment (a trailing '/' included), too many
 * segments/parameters, or two routes of one method that differ only in parameter names;
 * -TGX_ERR_NOMEM. */
int tgx_http_router_create(const struct tgx_route *routes, size_t n,
                           struct tgx_http_router **out /* OUT: new */) TGX_MUSTCHECK;
void tgx_http_router_free(struct tgx_http_router *r);
/* Match METHOD and PATH (no query string).  0 with M filled; -TGX_ERR_NOTFOUND for no route (also
 * for a path too long for M->buf or a known path with another method: the original answers 404
 * to both).  Static segments win over parameters at each level, with backtracking. */
int tgx_http_router_match(const struct tgx_http_router *r, const char *method, const char *path,
                          struct tgx_http_match *m /* OUT */) TGX_MUSTCHECK;

/* The value of parameter NAME (without ':') in M, or NULL. */
const char *tgx_http_match_param(const struct tgx_http_match *m, const char *name);

/* True when the JSON text at S (LEN bytes) nests arrays/objects deeper than MAX_DEPTH (strings
 * are skipped correctly; a top-level scalar has depth 0).  Scans bytes: never recurses. */
bool tgx_http_json_too_deep(const char *s, size_t len, unsigned max_depth);

/* The CORS headers of every response (triggerx-api.md §0 plus X-Trace-ID and DELETE). */
#define TGX_HTTP_CORS_METHODS "GET, POST, PUT, DELETE, OPTIONS"
#define TGX_HTTP_CORS_HEADERS                                                                                \
    "Content-Type, Authorization, Accept, Content-Length, Accept-Encoding, Origin, X-Requested-With, "       \
    "X-CSRF-Token, X-Auth-Token, X-Api-Key, ngrok-skip-browser-warning, X-Trace-ID"

#endif
