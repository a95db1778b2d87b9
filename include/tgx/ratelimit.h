/* ratelimit.h: per-key requests-per-minute limits counted locally and synced across instances. */
#ifndef TGX_RATELIMIT_H
#define TGX_RATELIMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tgx/err.h"

/*
 * Fixed one-minute windows aligned to the Unix epoch minute (the same on every instance).  Each
 * instance counts hits per key locally (no database round trip per request); a sync thread sends
 * this instance's unsent counts to tgx.rate_limit_sync() every period (also when it has none) and
 * receives the cluster totals of every key counted in the current window, so it knows the keys
 * the other instances saw before its own first request for them.  A hit is refused when
 *
 *     cluster total last seen + hits not yet included in it  >=  limit
 *
 * Bound on overshoot: the cluster total an instance sees is at most one sync period P plus one
 * round trip old.  Within that time each of the N instances can admit at most what it believes
 * remains, so the cluster admits at most  limit + (N - 1) * min(limit, R * (P + rtt))  requests
 * per window, R being the per-instance request rate of the key.  With one instance the limit is
 * exact; with N instances and the default P = 250 ms a client sending R = 100 req/s to each gets
 * at most (N - 1) * 25 requests too many per minute.  When the database is unreachable each
 * instance keeps limiting with its own counts plus the last totals it saw (fail-open across
 * instances, never per instance).
 */
struct tgx_ratelimit;

/* The answer for one hit; also what the X-RateLimit-* headers say. */
struct tgx_ratelimit_verdict {
    bool allowed;    /* false: answer 429 */
    int limit;       /* X-RateLimit-Limit */
    int remaining;   /* X-RateLimit-Remaining (0 once exceeded) */
    int64_t reset;   /* X-RateLimit-Reset: Unix seconds at which the window ends */
    int retry_after; /* Retry-After seconds (>= 1) when !allowed */
};

/* A new limiter with no counts (tgx_ratelimit_free); -TGX_ERR_NOMEM. */
int tgx_ratelimit_create(struct tgx_ratelimit **out /* OUT: new */) TGX_MUSTCHECK;
/* Stop the sync thread if running and free RL (NULL is fine). */
void tgx_ratelimit_free(struct tgx_ratelimit *rl);

/*
 * Count one hit of KEY_ID (limit LIMIT per minute) at NOW_MS (Unix milliseconds) and fill *OUT.
 * A refused hit is not counted.  Thread-safe; takes one short lock.
 */
void tgx_ratelimit_hit(struct tgx_ratelimit *rl, int64_t key_id, int limit, int64_t now_ms,
                       struct tgx_ratelimit_verdict *out /* OUT */);

/*
 * Sync step 1: the unsent counts of the window containing NOW_MS as a NEW JSON object
 * {"<key_id>": hits, ...} (possibly empty) into *DELTAS and the window start (Unix seconds) into
 * *WINDOW.  The counts move to "in flight" until tgx_ratelimit_sync_done().  -TGX_ERR_NOMEM.
 */
int tgx_ratelimit_sync_begin(struct tgx_ratelimit *rl, int64_t now_ms, int64_t *window /* OUT */,
                             json_t **deltas /* OUT: new */) TGX_MUSTCHECK;
/*
 * Sync step 2: TOTALS (borrowed) is the cluster answer {"<key_id>": total, ...} for WINDOW, which
 * includes the in-flight counts; NULL when the sync failed: the in-flight counts go back to
 * unsent.  Totals of a window that is no longer current are ignored.
 */
void tgx_ratelimit_sync_done(struct tgx_ratelimit *rl, int64_t window, const json_t *totals /* borrowed */);

/*
 * Start the sync thread: its own connection to DATABASE_URL (reconnect with back-off 0.5 s ..
 * 30 s, logged), a call of tgx.rate_limit_sync(INSTANCE_ID, window, deltas) every PERIOD_MS.
 * -TGX_ERR_INVAL for a NULL url or id, -TGX_ERR_NOMEM, -TGX_ERR_STATE when already running.
 */
int tgx_ratelimit_sync_start(struct tgx_ratelimit *rl, const char *database_url, const char *instance_id,
                             unsigned period_ms) TGX_MUSTCHECK;
/* Stop and join the sync thread (no-op when not running). */
void tgx_ratelimit_sync_stop(struct tgx_ratelimit *rl);
/* Completed syncs so far (for tests and logs). */
uint64_t tgx_ratelimit_sync_count(const struct tgx_ratelimit *rl);

#endif
