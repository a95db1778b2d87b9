/* internal.h: what the files of src/http share and nobody else sees. */
#ifndef TGX_HTTP_INTERNAL_H
#define TGX_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "tgx/buf.h"
#include "tgx/http.h"
#include "tgx/metrics.h"
#include "tgx/ratelimit.h"

#define TGX_HTTP_TRACE_MAX 128
#define TGX_HTTP_WAKE_SLOTS                                                                                  \
    4096 /* wake counters by key hash (collisions only cause early re-runs) */ /* longest X-Trace-ID         \
                                                                                  accepted; longer ones are  \
                                                                                  replaced */

/* One response header (both strings owned). */
struct tgx_http_hdr {
    char *name;
    char *value;
};

struct tgx_http_resp {
    int status; /* 0: not set yet */
    char *body; /* owned (malloc) */
    size_t len;
    char content_type[64];
    struct tgx_http_hdr *h; /* owned array */
    size_t nh, caph;
    bool oom; /* a builder could not allocate: the server answers 500 */
    /* a WebSocket upgrade accepted by tgx_http_ws_tasks_handler */
    bool upgrade;
    char ws_accept[32];
};

struct tgx_http_req {
    struct tgx_http_server *srv;
    struct MHD_Connection *conn;
    const char *method;          /* borrowed from MHD, valid for the request */
    char *path;                  /* owned copy of the decoded path */
    struct tgx_http_match match; /* route and parameters */
    struct tgx_buf body;         /* accumulated upload */
    bool too_large;              /* the body passed the limit: 413, nothing processed */
    bool queued;                 /* a response was queued */
    char trace_id[TGX_HTTP_TRACE_MAX + 1];
    struct tgx_http_auth auth;
    struct tgx_http_resp resp;
    struct timespec t0;
    char *target;          /* owned copy of the raw request target (path and query as sent) */
    int64_t handler_value; /* tgx_http_set_handler_value() */
    /* long-poll parking (server.c) */
    enum tgx_http_run run_reason;
    bool park_pending;                          /* the handler asked to park: suspend after it returns */
    uint32_t park_hash;                         /* hash of the key */
    uint64_t park_mark;                         /* the wake mark the handler looked at */
    int64_t park_deadline;                      /* CLOCK_MONOTONIC ms */
    struct tgx_http_req *park_next, *park_prev; /* in srv->parked while suspended */
};

/* The auth cache: direct-mapped by the key hash (uniform already). */
#define TGX_AUTH_CACHE_SLOTS 2048
struct tgx_auth_slot {
    unsigned char hash[32];
    bool used;
    int rc; /* 0 or -TGX_ERR_NOTFOUND */
    struct tgx_http_auth auth;
    int64_t expires_ms;
};

struct tgx_ws_hub;
struct tgx_ws_feed;

/* Per (route, status class) series, found once and cached. */
struct tgx_route_series {
    _Atomic(struct tgx_metric_series *) count;
    _Atomic(struct tgx_metric_series *) latency;
};

struct tgx_http_server {
    struct tgx_http_config cfg; /* strings below are owned copies */
    char *listen_host;
    char *database_url;
    char *instance_id;
    struct tgx_http_router *router;
    struct MHD_Daemon *daemon;
    uint16_t port;
    bool started;

    pthread_mutex_t auth_lock;
    struct tgx_auth_slot *auth_cache; /* TGX_AUTH_CACHE_SLOTS */

    struct tgx_ratelimit *rl;
    struct tgx_metrics *metrics;
    struct tgx_metric *m_requests, *m_latency, *m_collect_errors;
    struct tgx_metric_series *s_collect_errors;
    struct tgx_route_series *rseries; /* (nroutes + 2) * 5: + unmatched + preflight */

    struct tgx_ws_hub *hub;
    struct tgx_ws_feed *feed;

    /* parked long-polls: a list, a timer thread for their deadlines, and the wake counters */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond; /* CLOCK_MONOTONIC */
    pthread_t park_thread;
    bool park_running; /* the timer thread runs: parking allowed */
    bool park_stop;
    struct tgx_http_req *parked; /* list head */
    size_t nparked;
    uint64_t wake_seq;                        /* incremented by every wake */
    uint64_t wake_slots[TGX_HTTP_WAKE_SLOTS]; /* wake_seq of the last wake, by key hash */
};

/* Milliseconds of CLOCK_REALTIME / CLOCK_MONOTONIC. */
int64_t tgx_http_now_ms(void);
int64_t tgx_http_mono_ms(void);
/* RFC 3339 UTC time with microseconds of the current time into OUT (32 bytes). */
void tgx_http_rfc3339_now(char out[40]);

/* Authenticate KEY (the raw presented key) through the cache: 0 with *OUT, -TGX_ERR_NOTFOUND, or
 * another negative value (callback failure).  Used by the middleware and the WebSocket upgrade. */
int tgx_http_authenticate_key(struct tgx_http_server *srv, const char *key,
                              struct tgx_http_auth *out /* OUT */) TGX_MUSTCHECK;

/* Resp helpers */
void tgx_http_resp_reset(struct tgx_http_resp *resp);
const char *tgx_http_resp_find_header(const struct tgx_http_resp *resp, const char *name);

/* ---- the WebSocket hub (ws_hub.c) ---- */
int tgx_ws_hub_create(struct tgx_http_server *srv, struct tgx_ws_hub **out /* OUT: new */) TGX_MUSTCHECK;
int tgx_ws_hub_start(struct tgx_ws_hub *hub) TGX_MUSTCHECK;
/* Close every client (MHD_upgrade_action CLOSE) and join the threads; later adoptions are closed. */
void tgx_ws_hub_stop(struct tgx_ws_hub *hub);
void tgx_ws_hub_free(struct tgx_ws_hub *hub);
/* Called from MHD's upgrade callback (an MHD worker): queue the socket for the hub thread. */
void tgx_ws_hub_adopt(struct tgx_ws_hub *hub, MHD_socket fd, struct MHD_UpgradeResponseHandle *urh,
                      const char *extra_in, size_t extra_len, const struct tgx_http_auth *auth,
                      const char *ip);
/* True when a new client from IP may connect (client limit, 100 per address). */
bool tgx_ws_hub_admit(struct tgx_ws_hub *hub, const char *ip);
/* Clients and rooms right now. */
void tgx_ws_hub_counts(struct tgx_ws_hub *hub, size_t *clients /* OUT */, size_t *rooms /* OUT */);
/* {"room": members, ...} as a NEW object; NULL when out of memory. */
json_t *tgx_ws_hub_room_counts(struct tgx_ws_hub *hub);
/* Send TEXT (a complete JSON frame text, copied) to every client in any of ROOMS (NROOMS names,
 * copied), once per client.  Thread-safe; returns at once. */
void tgx_ws_hub_publish(struct tgx_ws_hub *hub, const char *const *rooms, size_t nrooms, const char *text);
/* True when at least one client is subscribed to some room (the feed skips work otherwise). */
bool tgx_ws_hub_has_subscribers(struct tgx_ws_hub *hub);

/* ---- the task feed listener (ws_feed.c) ---- */
int tgx_ws_feed_start(struct tgx_http_server *srv, const char *database_url,
                      struct tgx_ws_feed **out /* OUT */) TGX_MUSTCHECK;
void tgx_ws_feed_stop(struct tgx_ws_feed *feed);
/* Turn one NOTIFY payload into frames for the hub: OWNERS maps job id -> owner address (may be
 * NULL or lack a job).  NOW is the RFC 3339 time of the event.  Exposed for tests. */
int tgx_ws_feed_dispatch(struct tgx_ws_hub *hub, const json_t *payload, const json_t *owners,
                         const char *now) TGX_MUSTCHECK;

#endif
