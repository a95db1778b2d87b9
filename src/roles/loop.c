/* loop.c: the loop shared by the engine roles (pgqd's ticker loop, pgbouncer's main_loop_once):
 * one struct per role, `while (!stopped) tgx_loop_once()`, one state machine (DISCONNECTED ->
 * READY -> STOPPED), a wait with poll() on the connection's socket and an eventfd, NOTIFY and the
 * role's own deadline as wake-ups, and reconnection with exponential back-off. */
#include "tgx/role_loop.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tgx/log.h"

/* A step interrupted by a stop gets this long to finish before its query is cancelled. */
#define STOP_GRACE_MS 3000
/* Connection attempts give up after this long (then back off and retry). */
#define CONNECT_TIMEOUT_MS 10000
/* A stats line per role this often (counters reset each period). */
#define STATS_PERIOD_MS 60000
/* After a step that did nothing, a deadline already past is retried no sooner than this. */
#define IDLE_RETRY_MS 50

struct tgx_loop_db {
    struct tgx_loop *loop; /* for the wake fd and the stop flag */
    PGconn *conn;          /* NULL while disconnected */
    char error[512];       /* last error, one line, redacted */
};

struct tgx_loop {
    const struct tgx_role_def *def;
    char *url; /* NULL: no database */
    void *state;
    enum tgx_loop_state st;
    struct tgx_loop_db db;
    int wakefd;
    atomic_bool stop;

    pthread_mutex_t mu;               /* guards pending, has_pending */
    struct tgx_role_settings pending; /* from tgx_loop_set_settings */
    bool has_pending;
    struct tgx_role_settings settings; /* in force; the loop's thread only */

    unsigned failures; /* consecutive failures (connect or step) */
    int64_t retry_at;  /* DISCONNECTED: connect not before */
    int64_t deadline;  /* READY: step at (-1: none; the fallback poll applies) */
    bool need_step;    /* READY: step at once (new connection, NOTIFY, deadline) */
    bool connected_once;

    pthread_t thread;
    bool started, joined;

    atomic_ulong steps, notifies, connects, nfailures;
    int64_t stats_at; /* next stats line */
    unsigned long period_steps, period_rows, period_notifies;
};

/* ---------------------------------------------------------------------------------------------
 * Pure pieces
 * ------------------------------------------------------------------------------------------- */

int64_t tgx_loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tgx_loop_backoff_ms(unsigned failures)
{
    int64_t ms = 100;
    for (unsigned i = 0; i < failures && ms < 5000; i++)
        ms *= 2;
    return ms > 5000 ? 5000 : ms;
}

int tgx_loop_timeout_ms(int64_t now_ms, int64_t deadline_ms, long poll_ms)
{
    if (deadline_ms < 0)
        return (int)poll_ms;
    int64_t left = deadline_ms - now_ms;
    if (left <= 0)
        return 0;
    return left > poll_ms ? (int)poll_ms : (int)left;
}

/* ---------------------------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

void tgx_role_settings_cleanup(struct tgx_role_settings *s)
{
    tgx_alert_targets_cleanup(&s->alerts);
    memset(s, 0, sizeof *s);
}

/* Deep copy of SRC into DST (DST is overwritten, not freed). */
static int settings_copy(struct tgx_role_settings *dst, const struct tgx_role_settings *src)
{
    memset(dst, 0, sizeof *dst);
    dst->batch = src->batch;
    dst->poll_ms = src->poll_ms;
    dst->sweep_ms = src->sweep_ms;
    const struct tgx_alert_targets *a = &src->alerts;
    struct tgx_alert_targets *b = &dst->alerts;
    *b = *a;
    b->webhook_url = dup_or_null(a->webhook_url);
    b->telegram_url = dup_or_null(a->telegram_url);
    b->telegram_chat = dup_or_null(a->telegram_chat);
    b->smtp_url = dup_or_null(a->smtp_url);
    b->smtp_from = dup_or_null(a->smtp_from);
    tgx_strv_init(&b->smtp_to);
    bool ok = (a->webhook_url == NULL || b->webhook_url != NULL) &&
              (a->telegram_url == NULL || b->telegram_url != NULL) &&
              (a->telegram_chat == NULL || b->telegram_chat != NULL) &&
              (a->smtp_url == NULL || b->smtp_url != NULL) && (a->smtp_from == NULL || b->smtp_from != NULL);
    for (size_t i = 0; ok && i < a->smtp_to.n; i++)
        ok = tgx_strv_push(&b->smtp_to, a->smtp_to.v[i]) == 0;
    if (!ok) {
        tgx_role_settings_cleanup(dst);
        return -TGX_ERR_NOMEM;
    }
    return 0;
}

int tgx_role_settings_from_config(struct tgx_role_settings *s, const struct tgx_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->batch = cfg->batch_size;
    s->poll_ms = cfg->poll_ms;
    s->sweep_ms = cfg->sweep_ms;
    return tgx_alert_targets_from_config(&s->alerts, cfg);
}

/* ---------------------------------------------------------------------------------------------
 * The connection
 * ------------------------------------------------------------------------------------------- */

/* Keep MSG about the loop's URL as DB's last error: one line, password redacted. */
static void db_set_error(struct tgx_loop_db *db, const char *msg)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_db_redact(msg != NULL && msg[0] != '\0' ? msg : "unknown error", db->loop->url, &b);
    char *w = b.data;
    for (char *p = b.data; p != NULL && *p; p++) {
        bool space = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
        if (space && (w == b.data || w[-1] == ' '))
            continue;
        *w++ = space ? ' ' : *p;
    }
    if (w != NULL) {
        while (w > b.data && w[-1] == ' ')
            w--;
        *w = '\0';
    }
    snprintf(db->error, sizeof db->error, "%s", b.data != NULL ? b.data : "out of memory");
    tgx_buf_cleanup(&b);
}

const char *tgx_loop_db_error(const struct tgx_loop_db *db)
{
    return db->error;
}

static void drain_wakefd(struct tgx_loop *loop)
{
    uint64_t v;
    ssize_t n = read(loop->wakefd, &v, sizeof v);
    (void)n;
}

/* Wait up to MS for FD (EVENTS; -1: none) or the wake fd.  Returns poll's revents of FD. */
static short wait_fd(struct tgx_loop *loop, int fd, short events, int ms)
{
    struct pollfd p[2] = {{.fd = loop->wakefd, .events = POLLIN}, {.fd = fd, .events = events}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n <= 0)
        return 0;
    if (p[0].revents & POLLIN)
        drain_wakefd(loop);
    return fd >= 0 ? p[1].revents : 0;
}

static void server_notice(void *arg, const char *message)
{
    struct tgx_loop *loop = arg;
    struct tgx_loop_db tmp = {.loop = loop};
    db_set_error(&tmp, message);
    tgx_log_info(loop->def->name, "server message: %s", tmp.error);
}

/*
 * Send SQL and wait for its result without blocking a stop for long: once the loop is asked to
 * stop, the query gets STOP_GRACE_MS to finish, then is cancelled.  Returns the result (owned
 * by the caller), or NULL with DB->error set.
 */
static PGresult *db_run(struct tgx_loop_db *db, const char *sql, int nparams, const char *const *params)
{
    struct tgx_loop *loop = db->loop;
    if (db->conn == NULL) {
        snprintf(db->error, sizeof db->error, "not connected");
        return NULL;
    }
    if (!PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
        db_set_error(db, PQerrorMessage(db->conn));
        return NULL;
    }
    int64_t stop_seen = -1;
    bool cancelled = false;
    while (PQisBusy(db->conn)) {
        int ms = 1000;
        if (stop_seen >= 0) {
            int64_t left = stop_seen + STOP_GRACE_MS - tgx_loop_now_ms();
            ms = left < 0 ? 0 : (int)left;
        }
        short rev = wait_fd(loop, PQsocket(db->conn), POLLIN, cancelled ? 1000 : ms);
        if (atomic_load(&loop->stop) && stop_seen < 0)
            stop_seen = tgx_loop_now_ms();
        if (stop_seen >= 0 && !cancelled && tgx_loop_now_ms() - stop_seen >= STOP_GRACE_MS) {
            PGcancel *c = PQgetCancel(db->conn);
            char buf[256];
            if (c != NULL) {
                if (!PQcancel(c, buf, sizeof buf))
                    tgx_log_warning(loop->def->name, "could not cancel the query in flight: %s", buf);
                PQfreeCancel(c);
            }
            tgx_log_warning(loop->def->name, "stopping: cancelled the query in flight after %d ms",
                            STOP_GRACE_MS);
            cancelled = true;
        }
        if ((rev & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(db->conn))
            break;
    }
    PGresult *res = PQgetResult(db->conn), *extra;
    while ((extra = PQgetResult(db->conn)) != NULL)
        PQclear(extra);
    if (res == NULL) {
        db_set_error(db, PQerrorMessage(db->conn));
        return NULL;
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(res);
        db_set_error(db, m != NULL && m[0] != '\0' ? m : PQerrorMessage(db->conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

int tgx_loop_query(struct tgx_loop_db *db, const char *sql, int nparams, const char *const *params,
                   tgx_db_result_fn fn, void *arg)
{
    PGresult *res = db_run(db, sql, nparams, params);
    if (res == NULL)
        return -TGX_ERR_DB;
    int rc = fn != NULL ? fn(res, arg) : 0;
    PQclear(res);
    return rc;
}

/* tgx_db_result_fn: the first column of the first row as a long long (NULL: *arg untouched). */
static int read_int(const PGresult *res, void *arg)
{
    long long *out = arg;
    if (PQntuples(res) < 1 || PQnfields(res) < 1)
        return -TGX_ERR_DB;
    if (!PQgetisnull(res, 0, 0))
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}

int tgx_loop_query_int(struct tgx_loop_db *db, const char *sql, int nparams, const char *const *params,
                       long long *out)
{
    *out = 0;
    int rc = tgx_loop_query(db, sql, nparams, params, read_int, out);
    if (rc == -TGX_ERR_DB && db->error[0] == '\0')
        snprintf(db->error, sizeof db->error, "the query returned no row");
    return rc;
}

int tgx_loop_query_delay(struct tgx_loop_db *db, const char *sql, int64_t *delay_ms)
{
    long long v = -1;
    db->error[0] = '\0';
    int rc = tgx_loop_query(db, sql, 0, NULL, read_int, &v);
    if (rc < 0)
        return rc;
    *delay_ms = v == -1 ? -1 : v < 0 ? 0 : (int64_t)v;
    /* a real delay of -1 ms is "due": NULL and -1 differ only by that millisecond */
    return 0;
}

int tgx_loop_repeat(struct tgx_loop *loop, struct tgx_loop_db *db, const char *sql, long long *total)
{
    char batch[24];
    snprintf(batch, sizeof batch, "%ld", loop->settings.batch);
    const char *params[1] = {batch};
    *total = 0;
    for (;;) {
        long long n;
        int rc = tgx_loop_query_int(db, sql, 1, params, &n);
        if (rc < 0)
            return rc;
        *total += n;
        if (n <= 0 || atomic_load(&loop->stop))
            return 0;
    }
}

/* Connect without blocking a stop (like src/http/ws_feed.c); NULL when stopping or failed. */
static PGconn *db_connect(struct tgx_loop *loop)
{
    char appname[64];
    snprintf(appname, sizeof appname, "tgxd %s", loop->def->name);
    const char *const keys[] = {"dbname",
                                "fallback_application_name",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                NULL};
    const char *const vals[] = {loop->url, appname, "1", "10", "5", "3", NULL};
    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    if (conn == NULL) {
        snprintf(loop->db.error, sizeof loop->db.error, "out of memory");
        return NULL;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t deadline = tgx_loop_now_ms() + CONNECT_TIMEOUT_MS;
    while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int64_t left = deadline - tgx_loop_now_ms();
        if (left <= 0) {
            snprintf(loop->db.error, sizeof loop->db.error, "timeout after %d ms", CONNECT_TIMEOUT_MS);
            PQfinish(conn);
            return NULL;
        }
        wait_fd(loop, PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, (int)left);
        if (atomic_load(&loop->stop)) {
            snprintf(loop->db.error, sizeof loop->db.error, "stopping");
            PQfinish(conn);
            return NULL;
        }
        st = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        db_set_error(&loop->db, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, server_notice, loop);
    return conn;
}

static void db_close(struct tgx_loop *loop)
{
    if (loop->db.conn != NULL)
        PQfinish(loop->db.conn);
    loop->db.conn = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * The state machine
 * ------------------------------------------------------------------------------------------- */

static const char *state_name(enum tgx_loop_state st)
{
    switch (st) {
    case TGX_LOOP_DISCONNECTED:
        return "disconnected";
    case TGX_LOOP_READY:
        return "ready";
    case TGX_LOOP_STOPPED:
        return "stopped";
    }
    return "?";
}

/* Every transition goes through here. */
static void change_state(struct tgx_loop *loop, enum tgx_loop_state to)
{
    if (loop->st == to)
        return;
    tgx_log_debug(loop->def->name, "%s -> %s", state_name(loop->st), state_name(to));
    if (to != TGX_LOOP_READY)
        db_close(loop);
    if (to == TGX_LOOP_READY) {
        loop->need_step = true;
        loop->deadline = -1;
    }
    loop->st = to;
}

/* A failed connect or step: back off, and reconnect when the connection is gone. */
static void on_failure(struct tgx_loop *loop, const char *what)
{
    int64_t delay = tgx_loop_backoff_ms(loop->failures);
    loop->failures++;
    atomic_fetch_add(&loop->nfailures, 1);
    bool lost = loop->url != NULL && (loop->db.conn == NULL || PQstatus(loop->db.conn) == CONNECTION_BAD);
    if (atomic_load(&loop->stop))
        return;
    if (lost) {
        tgx_log_warning(loop->def->name, "%s: %s; reconnecting in %lld ms", what, loop->db.error,
                        (long long)delay);
        change_state(loop, TGX_LOOP_DISCONNECTED);
        loop->retry_at = tgx_loop_now_ms() + delay;
    } else {
        tgx_log_warning(loop->def->name, "%s: %s; retrying in %lld ms", what,
                        loop->url != NULL ? loop->db.error : "the step failed", (long long)delay);
        loop->need_step = false;
        loop->deadline = tgx_loop_now_ms() + delay;
    }
}

/*
 * True when the loop must not wait: stopping, or new settings.  A query drains the wake fd, so a
 * wake-up may have been consumed; the flags it announced are set before the wake-up is written.
 */
static bool must_return(struct tgx_loop *loop)
{
    if (atomic_load(&loop->stop))
        return true;
    pthread_mutex_lock(&loop->mu);
    bool pending = loop->has_pending;
    pthread_mutex_unlock(&loop->mu);
    return pending;
}

static void run_connect(struct tgx_loop *loop)
{
    if (loop->url == NULL) {
        change_state(loop, TGX_LOOP_READY);
        return;
    }
    int64_t now = tgx_loop_now_ms();
    if (now < loop->retry_at) {
        if (must_return(loop))
            return;
        wait_fd(loop, -1, 0, (int)(loop->retry_at - now));
        return;
    }
    loop->db.conn = db_connect(loop);
    if (loop->db.conn == NULL) {
        if (!atomic_load(&loop->stop))
            on_failure(loop, "could not connect to the database");
        return;
    }
    if (loop->def->async_commit) {
        /* a SET, not a connection option: the URL's own options= stay as they are */
        PGresult *res = db_run(&loop->db, "SET synchronous_commit = off", 0, NULL);
        if (res == NULL) {
            on_failure(loop, "could not set synchronous_commit");
            db_close(loop);
            return;
        }
        PQclear(res);
    }
    for (const char *const *ch = loop->def->channels; ch != NULL && *ch != NULL; ch++) {
        char sql[96];
        /* channel names are constants of the role table, never input */
        snprintf(sql, sizeof sql, "LISTEN %s", *ch);
        PGresult *res = db_run(&loop->db, sql, 0, NULL);
        if (res == NULL) {
            on_failure(loop, "could not listen");
            db_close(loop);
            return;
        }
        PQclear(res);
    }
    atomic_fetch_add(&loop->connects, 1);
    if (loop->connected_once)
        tgx_log_info(loop->def->name, "reconnected to the database");
    else
        tgx_log_debug(loop->def->name, "connected to the database");
    loop->connected_once = true;
    loop->failures = 0;
    change_state(loop, TGX_LOOP_READY);
}

static void stats_line(struct tgx_loop *loop, int64_t now)
{
    if (now < loop->stats_at)
        return;
    if (loop->period_steps > 0 && loop->stats_at > 0)
        tgx_log_info(loop->def->name, "%lu steps, %lu rows, %lu notifications in the last %d s",
                     loop->period_steps, loop->period_rows, loop->period_notifies, STATS_PERIOD_MS / 1000);
    loop->period_steps = loop->period_rows = loop->period_notifies = 0;
    loop->stats_at = now + STATS_PERIOD_MS;
}

/* READY: step when due, then wait for the next deadline, a notification or a wake-up. */
static void run_ready(struct tgx_loop *loop)
{
    struct tgx_loop_db *db = loop->url != NULL ? &loop->db : NULL;
    int64_t now = tgx_loop_now_ms();
    if (loop->need_step || (loop->deadline >= 0 && now >= loop->deadline)) {
        loop->need_step = false;
        loop->db.error[0] = '\0';
        int rows = loop->def->step(loop, loop->state, db);
        atomic_fetch_add(&loop->steps, 1);
        loop->period_steps++;
        if (rows < 0) {
            on_failure(loop, "step failed");
            return;
        }
        loop->period_rows += (unsigned long)rows;
        if (atomic_load(&loop->stop))
            return;
        int64_t delay = -1;
        if (loop->def->next_deadline != NULL && loop->def->next_deadline(loop, loop->state, db, &delay) < 0) {
            on_failure(loop, "could not compute the next deadline");
            return;
        }
        loop->failures = 0;
        if (delay == 0 && rows == 0)
            delay = IDLE_RETRY_MS; /* due but nothing claimed (rows locked elsewhere): do not spin */
        now = tgx_loop_now_ms();
        loop->deadline = delay < 0 ? -1 : now + delay;
        tgx_log_debug(loop->def->name, "step: %d rows; next in %lld ms", rows, (long long)delay);
    }
    stats_line(loop, now);
    if (must_return(loop))
        return;
    int timeout = tgx_loop_timeout_ms(now, loop->deadline, loop->settings.poll_ms);
    int fd = db != NULL && db->conn != NULL ? PQsocket(db->conn) : -1;
    if (timeout > 0) {
        short rev = wait_fd(loop, fd, POLLIN, timeout);
        if (fd >= 0 && (rev & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(db->conn)) {
            db_set_error(db, PQerrorMessage(db->conn));
            on_failure(loop, "lost the database connection");
            return;
        }
        if (rev == 0 && tgx_loop_now_ms() - now >= timeout)
            loop->need_step = true; /* the deadline or the fallback poll */
    } else {
        loop->need_step = true;
    }
    if (fd >= 0) {
        PGnotify *n;
        while ((n = PQnotifies(db->conn)) != NULL) {
            atomic_fetch_add(&loop->notifies, 1);
            loop->period_notifies++;
            loop->need_step = true;
            PQfreemem(n);
        }
        if (PQstatus(db->conn) == CONNECTION_BAD) {
            db_set_error(db, PQerrorMessage(db->conn));
            on_failure(loop, "lost the database connection");
        }
    }
}

/* Take settings given by tgx_loop_set_settings (SIGHUP). */
static void take_settings(struct tgx_loop *loop)
{
    pthread_mutex_lock(&loop->mu);
    if (loop->has_pending) {
        tgx_role_settings_cleanup(&loop->settings);
        loop->settings = loop->pending;
        memset(&loop->pending, 0, sizeof loop->pending);
        loop->has_pending = false;
        loop->need_step = true;
        tgx_log_debug(loop->def->name, "new settings: batch %ld, poll %ld ms", loop->settings.batch,
                      loop->settings.poll_ms);
    }
    pthread_mutex_unlock(&loop->mu);
}

void tgx_loop_once(struct tgx_loop *loop)
{
    take_settings(loop);
    if (atomic_load(&loop->stop)) {
        change_state(loop, TGX_LOOP_STOPPED);
        return;
    }
    switch (loop->st) {
    case TGX_LOOP_DISCONNECTED:
        run_connect(loop);
        break;
    case TGX_LOOP_READY:
        run_ready(loop);
        break;
    case TGX_LOOP_STOPPED:
        break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------------------------- */

int tgx_loop_create(const struct tgx_role_def *def, const char *url, const struct tgx_role_settings *s,
                    struct tgx_loop **out)
{
    *out = NULL;
    struct tgx_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -TGX_ERR_NOMEM;
    loop->def = def;
    loop->db.loop = loop;
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    loop->deadline = -1;
    atomic_init(&loop->stop, false);
    atomic_init(&loop->steps, 0);
    atomic_init(&loop->notifies, 0);
    atomic_init(&loop->connects, 0);
    atomic_init(&loop->nfailures, 0);
    pthread_mutex_init(&loop->mu, NULL);
    int rc = loop->wakefd < 0 ? -TGX_ERR_NOMEM : 0;
    if (rc == 0 && url != NULL && (loop->url = strdup(url)) == NULL)
        rc = -TGX_ERR_NOMEM;
    if (rc == 0)
        rc = settings_copy(&loop->settings, s);
    if (rc == 0 && def->init != NULL)
        rc = def->init(&loop->state, &loop->settings);
    if (rc < 0) {
        tgx_loop_free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

static void *loop_main(void *arg)
{
    struct tgx_loop *loop = arg;
    tgx_log_debug(loop->def->name, "started");
    while (loop->st != TGX_LOOP_STOPPED)
        tgx_loop_once(loop);
    tgx_log_debug(loop->def->name, "stopped");
    return NULL;
}

int tgx_loop_start(struct tgx_loop *loop)
{
    /* signals go to the main thread: block them all in the role's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&loop->thread, NULL, loop_main, loop);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -TGX_ERR_NOMEM;
    loop->started = true;
    return 0;
}

void tgx_loop_wake(struct tgx_loop *loop)
{
    uint64_t one = 1;
    ssize_t n = write(loop->wakefd, &one, sizeof one);
    (void)n;
}

void tgx_loop_stop(struct tgx_loop *loop)
{
    atomic_store(&loop->stop, true);
    tgx_loop_wake(loop);
}

void tgx_loop_join(struct tgx_loop *loop)
{
    if (loop->started && !loop->joined) {
        pthread_join(loop->thread, NULL);
        loop->joined = true;
    }
}

int tgx_loop_set_settings(struct tgx_loop *loop, const struct tgx_role_settings *s)
{
    struct tgx_role_settings copy;
    int rc = settings_copy(&copy, s);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&loop->mu);
    if (loop->has_pending)
        tgx_role_settings_cleanup(&loop->pending);
    loop->pending = copy;
    loop->has_pending = true;
    pthread_mutex_unlock(&loop->mu);
    tgx_loop_wake(loop);
    return 0;
}

void tgx_loop_free(struct tgx_loop *loop)
{
    if (loop == NULL)
        return;
    if (loop->started) {
        tgx_loop_stop(loop);
        tgx_loop_join(loop);
    }
    db_close(loop);
    if (loop->def->cleanup != NULL)
        loop->def->cleanup(loop->state);
    tgx_role_settings_cleanup(&loop->settings);
    if (loop->has_pending)
        tgx_role_settings_cleanup(&loop->pending);
    pthread_mutex_destroy(&loop->mu);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    free(loop->url);
    free(loop);
}

bool tgx_loop_stopping(const struct tgx_loop *loop)
{
    return atomic_load(&((struct tgx_loop *)loop)->stop);
}

const struct tgx_role_settings *tgx_loop_settings(const struct tgx_loop *loop)
{
    return &loop->settings;
}

const char *tgx_loop_name(const struct tgx_loop *loop)
{
    return loop->def->name;
}

enum tgx_loop_state tgx_loop_get_state(const struct tgx_loop *loop)
{
    return loop->st;
}

void tgx_loop_get_stats(const struct tgx_loop *loop, struct tgx_loop_stats *out)
{
    struct tgx_loop *l = (struct tgx_loop *)loop;
    out->steps = atomic_load(&l->steps);
    out->notifies = atomic_load(&l->notifies);
    out->connects = atomic_load(&l->connects);
    out->failures = atomic_load(&l->nfailures);
}

/* ---------------------------------------------------------------------------------------------
 * The engine
 * ------------------------------------------------------------------------------------------- */

extern const struct tgx_role_def tgx_role_scheduler, tgx_role_dispatcher, tgx_role_monitor, tgx_role_health;

const struct tgx_role_def *const tgx_engine_roles[] = {
    &tgx_role_scheduler,
    &tgx_role_dispatcher,
    &tgx_role_monitor,
    &tgx_role_health,
};
const size_t tgx_engine_nroles = sizeof tgx_engine_roles / sizeof tgx_engine_roles[0];

const struct tgx_role_def *tgx_engine_find_role(const char *name)
{
    for (size_t i = 0; i < tgx_engine_nroles; i++)
        if (strcmp(tgx_engine_roles[i]->name, name) == 0)
            return tgx_engine_roles[i];
    return NULL;
}

bool tgx_roles_has(const char *roles, const char *name)
{
    if (roles == NULL)
        return false;
    size_t n = strlen(name);
    const char *p = roles;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ' ')
            e++;
        size_t len = (size_t)(e - p);
        if ((len == 3 && strncmp(p, "all", 3) == 0) || (len == n && strncmp(p, name, n) == 0))
            return true;
        p = e;
    }
    return false;
}

struct tgx_engine {
    struct tgx_loop *loops[8];
    size_t n;
    bool curl;
    bool stopped;
};

int tgx_engine_create(const struct tgx_config *cfg, struct tgx_engine **out, struct tgx_buf *err)
{
    *out = NULL;
    struct tgx_engine *e = calloc(1, sizeof *e);
    struct tgx_role_settings s;
    if (e == NULL || tgx_role_settings_from_config(&s, cfg) < 0) {
        free(e);
        tgx_buf_puts(err, "out of memory");
        return -TGX_ERR_NOMEM;
    }
    int rc = tgx_alert_targets_check(&s.alerts, err);
    for (size_t i = 0; rc == 0 && i < tgx_engine_nroles; i++) {
        const struct tgx_role_def *def = tgx_engine_roles[i];
        if (!tgx_roles_has(cfg->roles, def->name))
            continue;
        if (cfg->database_url == NULL) {
            tgx_buf_printf(err, "the %s role needs a database (--database-url)", def->name);
            rc = -TGX_ERR_INVAL;
            break;
        }
        if (strcmp(def->name, "health") == 0 && !e->curl) {
            if (tgx_alerts_global_init() < 0) {
                tgx_buf_puts(err, "could not initialize libcurl");
                rc = -TGX_ERR_NOMEM;
                break;
            }
            e->curl = true;
        }
        rc = tgx_loop_create(def, cfg->database_url, &s, &e->loops[e->n]);
        if (rc < 0)
            tgx_buf_printf(err, "could not create the %s role: %s", def->name, tgx_err_str(rc));
        else
            e->n++;
    }
    tgx_role_settings_cleanup(&s);
    if (rc < 0) {
        tgx_engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int tgx_engine_start(struct tgx_engine *e)
{
    for (size_t i = 0; i < e->n; i++) {
        int rc = tgx_loop_start(e->loops[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

size_t tgx_engine_count(const struct tgx_engine *e)
{
    return e != NULL ? e->n : 0;
}

int tgx_engine_reload(struct tgx_engine *e, const struct tgx_config *cfg, struct tgx_buf *err)
{
    struct tgx_role_settings s;
    if (tgx_role_settings_from_config(&s, cfg) < 0) {
        tgx_buf_puts(err, "out of memory");
        return -TGX_ERR_NOMEM;
    }
    int rc = tgx_alert_targets_check(&s.alerts, err);
    for (size_t i = 0; rc == 0 && i < e->n; i++)
        rc = tgx_loop_set_settings(e->loops[i], &s);
    if (rc == -TGX_ERR_NOMEM)
        tgx_buf_puts(err, "out of memory");
    tgx_role_settings_cleanup(&s);
    return rc;
}

void tgx_engine_stop(struct tgx_engine *e)
{
    if (e == NULL || e->stopped)
        return;
    for (size_t i = 0; i < e->n; i++)
        tgx_loop_stop(e->loops[i]);
    for (size_t i = 0; i < e->n; i++)
        tgx_loop_join(e->loops[i]);
    e->stopped = true;
}

void tgx_engine_free(struct tgx_engine *e)
{
    if (e == NULL)
        return;
    tgx_engine_stop(e);
    for (size_t i = 0; i < e->n; i++)
        tgx_loop_free(e->loops[i]);
    if (e->curl)
        tgx_alerts_global_cleanup();
    free(e);
}
