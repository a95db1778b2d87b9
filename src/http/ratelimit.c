/* ratelimit.c: per-key fixed-window counts, local and synced across instances by one thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgx/db.h"
#include "tgx/log.h"
#include "tgx/ratelimit.h"

/* One key in one window.  total includes every count of this instance that the database has
 * acknowledged; inflight were sent and not yet acknowledged; unsent were not sent yet. */
struct entry {
    struct entry *next;
    int64_t key_id;
    int64_t window; /* Unix seconds of the window start */
    int64_t total;
    int64_t inflight;
    int64_t unsent;
};

struct tgx_ratelimit {
    pthread_mutex_t lock; /* guards the table */
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t n;

    /* the sync thread */
    pthread_mutex_t sync_lock; /* guards stop and the condition variable */
    pthread_cond_t sync_cond;
    pthread_t thread;
    bool running;
    bool stop;
    char *url;
    char *instance;
    unsigned period_ms;
    _Atomic uint64_t syncs;
};

#define WINDOW_S 60

static int64_t window_of(int64_t now_ms)
{
    int64_t s = now_ms / 1000;
    return s - s % WINDOW_S;
}

static size_t hash_key(int64_t k, size_t nb)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ULL;
    return (size_t)(x >> 32) & (nb - 1);
}

int tgx_ratelimit_create(struct tgx_ratelimit **out)
{
    struct tgx_ratelimit *rl = calloc(1, sizeof *rl);
    *out = NULL;
    if (rl == NULL)
        return -TGX_ERR_NOMEM;
    rl->nbuckets = 256;
    rl->buckets = calloc(rl->nbuckets, sizeof *rl->buckets);
    if (rl->buckets == NULL) {
        free(rl);
        return -TGX_ERR_NOMEM;
    }
    pthread_mutex_init(&rl->lock, NULL);
    pthread_mutex_init(&rl->sync_lock, NULL);
    pthread_cond_init(&rl->sync_cond, NULL);
    *out = rl;
    return 0;
}

void tgx_ratelimit_free(struct tgx_ratelimit *rl)
{
    if (rl == NULL)
        return;
    tgx_ratelimit_sync_stop(rl);
    for (size_t i = 0; i < rl->nbuckets; i++) {
        struct entry *e = rl->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(rl->buckets);
    free(rl->url);
    free(rl->instance);
    pthread_mutex_destroy(&rl->lock);
    pthread_mutex_destroy(&rl->sync_lock);
    pthread_cond_destroy(&rl->sync_cond);
    free(rl);
}

/* Double the table when it holds more entries than buckets (under the lock); failure is harmless. */
static void maybe_grow(struct tgx_ratelimit *rl)
{
    size_t nb = rl->nbuckets * 2;
    struct entry **b;
    if (rl->n <= rl->nbuckets)
        return;
    b = calloc(nb, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < rl->nbuckets; i++) {
        struct entry *e = rl->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            size_t h = hash_key(e->key_id, nb);
            e->next = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(rl->buckets);
    rl->buckets = b;
    rl->nbuckets = nb;
}

/* The entry of KEY_ID, created for WINDOW (or moved to WINDOW when older); NULL when out of memory. */
static struct entry *entry_get(struct tgx_ratelimit *rl, int64_t key_id, int64_t window)
{
    size_t h = hash_key(key_id, rl->nbuckets);
    struct entry *e;
    for (e = rl->buckets[h]; e != NULL; e = e->next)
        if (e->key_id == key_id)
            break;
    if (e == NULL) {
        e = calloc(1, sizeof *e);
        if (e == NULL)
            return NULL;
        e->key_id = key_id;
        e->window = window;
        e->next = rl->buckets[h];
        rl->buckets[h] = e;
        rl->n++;
        maybe_grow(rl);
    }
    if (e->window < window) {
        e->window = window;
        e->total = e->inflight = e->unsent = 0;
    }
    return e;
}

void tgx_ratelimit_hit(struct tgx_ratelimit *rl, int64_t key_id, int limit, int64_t now_ms,
                       struct tgx_ratelimit_verdict *out)
{
    int64_t window = window_of(now_ms), used;
    struct entry *e;

    if (limit < 1)
        limit = 1;
    out->limit = limit;
    out->reset = window + WINDOW_S;
    out->retry_after = 0;
    pthread_mutex_lock(&rl->lock);
    e = entry_get(rl, key_id, window);
    if (e == NULL) { /* out of memory: let the request through rather than refuse everyone */
        pthread_mutex_unlock(&rl->lock);
        out->allowed = true;
        out->remaining = limit - 1;
        return;
    }
    /* an entry of a newer window (clock stepped back): count in it */
    used = e->total + e->inflight + e->unsent;
    if (used >= limit) {
        out->allowed = false;
        out->remaining = 0;
    } else {
        e->unsent++;
        out->allowed = true;
        out->remaining = (int)(limit - used - 1);
    }
    pthread_mutex_unlock(&rl->lock);
    if (!out->allowed) {
        int64_t left = out->reset - now_ms / 1000;
        out->retry_after = left < 1 ? 1 : (int)left;
    }
}

int tgx_ratelimit_sync_begin(struct tgx_ratelimit *rl, int64_t now_ms, int64_t *window, json_t **deltas)
{
    int64_t w = window_of(now_ms);
    json_t *d = json_object();
    int rc = 0;

    *window = w;
    *deltas = NULL;
    if (d == NULL)
        return -TGX_ERR_NOMEM;
    pthread_mutex_lock(&rl->lock);
    for (size_t i = 0; i < rl->nbuckets; i++) {
        struct entry **pe = &rl->buckets[i];
        while (*pe != NULL) {
            struct entry *e = *pe;
            if (e->window < w) { /* a finished window: forget the key */
                *pe = e->next;
                free(e);
                rl->n--;
                continue;
            }
            if (e->window == w && e->unsent > 0) {
                char k[24];
                snprintf(k, sizeof k, "%" PRId64, e->key_id);
                if (json_object_set_new(d, k, json_integer(e->unsent)) < 0) {
                    rc = -TGX_ERR_NOMEM;
                } else {
                    e->inflight += e->unsent;
                    e->unsent = 0;
                }
            }
            pe = &e->next;
        }
    }
    pthread_mutex_unlock(&rl->lock);
    if (rc < 0) {
        /* put back what was moved: the caller will not call sync_done */
        tgx_ratelimit_sync_done(rl, w, NULL);
        json_decref(d);
        return rc;
    }
    *deltas = d;
    return 0;
}

void tgx_ratelimit_sync_done(struct tgx_ratelimit *rl, int64_t window, const json_t *totals)
{
    pthread_mutex_lock(&rl->lock);
    if (totals != NULL && json_is_object(totals)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)totals, k, v)
        {
            char *end;
            long long id;
            struct entry *e;
            errno = 0;
            id = strtoll(k, &end, 10);
            if (errno != 0 || *end != '\0' || !json_is_integer(v))
                continue;
            e = entry_get(rl, (int64_t)id, window);
            if (e == NULL || e->window != window)
                continue;
            /* the total includes our in-flight counts; never let it go back within a window */
            if (json_integer_value(v) > e->total + e->inflight)
                e->total = json_integer_value(v);
            else
                e->total += e->inflight;
            e->inflight = 0;
        }
    }
    for (size_t i = 0; i < rl->nbuckets; i++) {
        for (struct entry *e = rl->buckets[i]; e != NULL; e = e->next) {
            if (e->window != window || e->inflight == 0)
                continue;
            if (totals != NULL) /* acknowledged but not in the answer: keep our own view */
                e->total += e->inflight;
            else
                e->unsent += e->inflight;
            e->inflight = 0;
        }
    }
    pthread_mutex_unlock(&rl->lock);
}

/* ---- the sync thread ---- */

/* Send this instance's counts and read the cluster totals of the window. */
static const char SQL_RATE_LIMIT_SYNC[] =
    "SELECT tgx.rate_limit_sync($1, to_timestamp($2::bigint), $3::jsonb)::text";

struct sync_answer {
    json_t *totals;
};

static int read_totals(const PGresult *res, void *arg)
{
    struct sync_answer *a = arg;
    json_error_t jerr;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return -TGX_ERR_DB;
    a->totals = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    return a->totals != NULL ? 0 : -TGX_ERR_DB;
}

static int64_t now_ms_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to MS milliseconds or until stop; true when stopping. */
static bool sync_wait(struct tgx_ratelimit *rl, unsigned ms)
{
    struct timespec ts;
    bool stop;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rl->sync_lock);
    while (!rl->stop)
        if (pthread_cond_timedwait(&rl->sync_cond, &rl->sync_lock, &ts) == ETIMEDOUT)
            break;
    stop = rl->stop;
    pthread_mutex_unlock(&rl->sync_lock);
    return stop;
}

static void *sync_main(void *arg)
{
    struct tgx_ratelimit *rl = arg;
    struct tgx_db *db = NULL;
    unsigned backoff = 500;

    while (!sync_wait(rl, rl->period_ms)) {
        int64_t window, now = now_ms_real();
        json_t *deltas = NULL;
        struct sync_answer ans = {NULL};
        char wbuf[24];
        char *djson;
        const char *params[3];
        int rc;

        /* even with nothing to send: the answer tells this instance the counts of keys the
         * other instances saw, before its own first request for them */
        if (db == NULL) {
            struct tgx_buf err;
            tgx_buf_init(&err);
            rc = tgx_db_connect(rl->url, "tgxd-ratelimit", &db, &err);
            if (rc < 0) {
                tgx_log_warning("ratelimit", "could not connect for the rate-limit sync: %s (retry in %u ms)",
                                tgx_buf_str(&err), backoff);
                tgx_buf_cleanup(&err);
                if (sync_wait(rl, backoff))
                    break;
                backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
                continue;
            }
            tgx_buf_cleanup(&err);
            tgx_log_info("ratelimit", "rate-limit sync connected as instance \"%s\"", rl->instance);
            backoff = 500;
        }
        if (tgx_ratelimit_sync_begin(rl, now, &window, &deltas) < 0)
            continue;
        djson = json_dumps(deltas, JSON_COMPACT);
        json_decref(deltas);
        if (djson == NULL) {
            tgx_ratelimit_sync_done(rl, window, NULL);
            continue;
        }
        snprintf(wbuf, sizeof wbuf, "%" PRId64, window);
        params[0] = rl->instance;
        params[1] = wbuf;
        params[2] = djson;
        rc = tgx_db_query(db, SQL_RATE_LIMIT_SYNC, 3, params, read_totals, &ans);
        free(djson);
        if (rc < 0) {
            const struct tgx_db_error *e = tgx_db_last_error(db);
            tgx_log_warning("ratelimit", "rate-limit sync failed: %s (reconnecting)",
                            e != NULL && e->message != NULL ? e->message : tgx_err_str(rc));
            tgx_ratelimit_sync_done(rl, window, NULL);
            json_decref(ans.totals);
            tgx_db_free(db);
            db = NULL;
            continue;
        }
        tgx_ratelimit_sync_done(rl, window, ans.totals);
        json_decref(ans.totals);
        rl->syncs++;
    }
    tgx_db_free(db);
    return NULL;
}

int tgx_ratelimit_sync_start(struct tgx_ratelimit *rl, const char *database_url, const char *instance_id,
                             unsigned period_ms)
{
    if (database_url == NULL || instance_id == NULL)
        return -TGX_ERR_INVAL;
    if (rl->running)
        return -TGX_ERR_STATE;
    free(rl->url);
    free(rl->instance);
    rl->url = strdup(database_url);
    rl->instance = strdup(instance_id);
    if (rl->url == NULL || rl->instance == NULL)
        return -TGX_ERR_NOMEM;
    rl->period_ms = period_ms ? period_ms : 250;
    rl->stop = false;
    if (pthread_create(&rl->thread, NULL, sync_main, rl) != 0)
        return -TGX_ERR_NOMEM;
    rl->running = true;
    return 0;
}

void tgx_ratelimit_sync_stop(struct tgx_ratelimit *rl)
{
    if (!rl->running)
        return;
    pthread_mutex_lock(&rl->sync_lock);
    rl->stop = true;
    pthread_cond_signal(&rl->sync_cond);
    pthread_mutex_unlock(&rl->sync_lock);
    pthread_join(rl->thread, NULL);
    rl->running = false;
}

uint64_t tgx_ratelimit_sync_count(const struct tgx_ratelimit *rl)
{
    return rl->syncs;
}
