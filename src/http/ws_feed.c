/* ws_feed.c: LISTEN tgx_task_changed on its own connection and turn each notification into
 * TASK_CREATED / TASK_STATUS_CHANGED / TASK_UPDATED frames for the hub's rooms.  After LISTEN the
 * connection registers with tgx.task_feed_listen() and renews that every FEED_HEARTBEAT_MS: the
 * task feed triggers notify only while a registration is fresh (sql/tgx.task_feed.sql). */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"
#include "tgx/db.h"
#include "tgx/log.h"
#include "tgx/ws.h"

/* The owners of the jobs of one notification (sql/tgx.task_feed.sql). */
static const char SQL_FEED_OWNERS[] = "SELECT job_id, user_address FROM tgx.task_feed_owners($1::text[])";
enum { COL_FEED_JOB_ID = 0, COL_FEED_USER_ADDRESS = 1 };

static const char SQL_LISTEN[] = "LISTEN tgx_task_changed";
/* Registration of this connection as a listener: after LISTEN, then as a heartbeat; at stop. */
static const char SQL_FEED_LISTEN[] = "SELECT tgx.task_feed_listen()";
static const char SQL_FEED_UNLISTEN[] = "SELECT tgx.task_feed_unlisten()";

enum {
    FEED_HEARTBEAT_MS = 30000,    /* renew the registration this often (it expires after 2 minutes) */
    FEED_UNLISTEN_WAIT_MS = 1000, /* at stop: wait this long for the deregistration, then close */
};

struct tgx_ws_feed {
    struct tgx_http_server *srv;
    char *url;
    int stopfd;
    pthread_t thread;
};

/* Log a libpq message on one line with the password masked. */
static void log_pq(struct tgx_ws_feed *feed, const char *what, const char *msg)
{
    struct tgx_buf b;
    char *w;
    tgx_buf_init(&b);
    tgx_db_redact(msg != NULL ? msg : "", feed->url, &b);
    /* one line: runs of white space become one space, none at the end */
    w = b.data;
    for (char *p = b.data; p != NULL && *p; p++) {
        bool space = *p == '\n' || *p == '\t' || *p == ' ' || *p == '\r';
        if (space && (w == b.data || w[-1] == ' '))
            continue;
        *w++ = space ? ' ' : *p;
    }
    if (w != NULL) {
        while (w > b.data && w[-1] == ' ')
            w--;
        *w = '\0';
    }
    tgx_log_warning("ws-feed", "%s: %s", what, b.data != NULL ? b.data : "");
    tgx_buf_cleanup(&b);
}

/* Server notices and warnings on the feed connection go to the log, not to stderr. */
static void feed_notice(void *arg, const char *message)
{
    log_pq(arg, "server message on the task feed connection", message);
}

/* Wait for FD (POLLIN or POLLOUT) or the stop event, up to MS; true when stopping. */
static bool wait_fd(struct tgx_ws_feed *feed, int fd, short events, int ms)
{
    struct pollfd p[2] = {{.fd = feed->stopfd, .events = POLLIN}, {.fd = fd, .events = events}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    return n > 0 && (p[0].revents & POLLIN);
}

/* Connect without blocking the stop; NULL when stopping or on failure (logged). */
static PGconn *feed_connect(struct tgx_ws_feed *feed, bool *stopping)
{
    static const char *const keys[] = {"dbname", "application_name", "keepalives", "keepalives_idle", NULL};
    const char *vals[] = {feed->url, "tgxd-feed", "1", "30", NULL};
    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t deadline = tgx_http_mono_ms() + 10000;

    *stopping = false;
    if (conn == NULL)
        return NULL;
    while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int64_t left = deadline - tgx_http_mono_ms();
        if (left <= 0) {
            log_pq(feed, "could not connect for the task feed", "timeout");
            PQfinish(conn);
            return NULL;
        }
        if (wait_fd(feed, PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, (int)left)) {
            *stopping = true;
            PQfinish(conn);
            return NULL;
        }
        st = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        log_pq(feed, "could not connect for the task feed", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, feed_notice, feed);
    return conn;
}

/* The job ids of PAYLOAD as a PostgreSQL text[] literal (digits only, so no quoting needed). */
static void job_array(const json_t *payload, struct tgx_buf *out)
{
    json_t *tasks = json_object_get(payload, "tasks"), *t;
    size_t i, n = 0;
    tgx_buf_putc(out, '{');
    json_array_foreach(tasks, i, t)
    {
        const char *job = json_string_value(json_array_get(t, 1));
        bool digits = job != NULL && *job != '\0' && strlen(job) <= 78;
        for (const char *p = job; digits && *p; p++)
            digits = *p >= '0' && *p <= '9';
        if (!digits)
            continue;
        if (n++ > 0)
            tgx_buf_putc(out, ',');
        tgx_buf_puts(out, job);
    }
    tgx_buf_putc(out, '}');
}

static int read_owners(const PGresult *res, void *arg)
{
    json_t *owners = arg;
    for (int r = 0; r < PQntuples(res); r++)
        if (json_object_set_new(owners, PQgetvalue(res, r, COL_FEED_JOB_ID),
                                json_string(PQgetvalue(res, r, COL_FEED_USER_ADDRESS))) < 0)
            return -TGX_ERR_NOMEM;
    return 0;
}

int tgx_ws_feed_dispatch(struct tgx_ws_hub *hub, const json_t *payload, const json_t *owners, const char *now)
{
    json_t *tasks = json_object_get(payload, "tasks"), *t;
    size_t i;

    if (!json_is_array(tasks))
        return -TGX_ERR_INVAL;
    json_array_foreach(tasks, i, t)
    {
        json_t *tid = json_array_get(t, 0);
        const char *job = json_string_value(json_array_get(t, 1));
        const char *state = json_string_value(json_array_get(t, 2));
        const char *event = json_string_value(json_array_get(t, 3));
        const char *old = json_string_value(json_array_get(t, 4));
        const char *owner =
            owners != NULL && job != NULL ? json_string_value(json_object_get(owners, job)) : NULL;
        const char *type;
        const char *rooms[3];
        char rjob[TGX_WS_ROOM_MAX], rtask[TGX_WS_ROOM_MAX], ruser[TGX_WS_ROOM_MAX];
        size_t nrooms = 0;
        json_t *data, *changes, *frame;
        char *text;

        if (!json_is_integer(tid) || job == NULL || state == NULL || event == NULL)
            continue;
        if (strcmp(event, "created") == 0)
            type = "TASK_CREATED";
        else if (strcmp(event, "status_changed") == 0)
            type = "TASK_STATUS_CHANGED";
        else
            type = "TASK_UPDATED";
        changes = json_pack("{s:s}", "status", state);
        if (changes != NULL && old != NULL)
            json_object_set_new(changes, "old_status", json_string(old));
        data = json_pack("{s:I, s:s, s:o, s:s}", "task_id", json_integer_value(tid), "job_id", job, "changes",
                         changes, "timestamp", now);
        if (data != NULL && owner != NULL)
            json_object_set_new(data, "user_id", json_string(owner));
        frame = json_pack("{s:s, s:o, s:s}", "type", type, "data", data, "timestamp", now);
        text = frame != NULL ? json_dumps(frame, JSON_COMPACT) : NULL;
        json_decref(frame);
        if (text == NULL)
            return -TGX_ERR_NOMEM;
        snprintf(rjob, sizeof rjob, "job:%s", job);
        rooms[nrooms++] = rjob;
        snprintf(rtask, sizeof rtask, "task:%lld", (long long)json_integer_value(tid));
        rooms[nrooms++] = rtask;
        if (owner != NULL) {
            snprintf(ruser, sizeof ruser, "user:%s", owner);
            for (char *p = ruser; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            rooms[nrooms++] = ruser;
        }
        tgx_ws_hub_publish(hub, rooms, nrooms, text);
        free(text);
    }
    return 0;
}

/* Handle one notification; -TGX_ERR_DB when the connection failed. */
static int handle_notify(struct tgx_ws_feed *feed, PGconn *conn, const char *extra)
{
    json_error_t jerr;
    json_t *payload, *owners;
    struct tgx_buf arr;
    const char *params[1];
    char now[40];
    PGresult *res;
    int rc = 0;

    if (!tgx_ws_hub_has_subscribers(feed->srv->hub))
        return 0;
    payload = json_loads(extra, 0, &jerr);
    if (payload == NULL) {
        if (*extra != '\0')
            tgx_log_warning("ws-feed", "ignored a tgx_task_changed payload that is not JSON");
        return 0;
    }
    tgx_http_rfc3339_now(now);
    owners = json_object();
    tgx_buf_init(&arr);
    job_array(payload, &arr);
    params[0] = arr.data;
    res = owners != NULL && !tgx_buf_oom(&arr)
              ? PQexecParams(conn, SQL_FEED_OWNERS, 1, NULL, params, NULL, NULL, 0)
              : NULL;
    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
        if (read_owners(res, owners) < 0)
            tgx_log_warning("ws-feed", "could not read the owners of changed tasks: out of memory");
    } else {
        /* the events still go to the job and task rooms */
        log_pq(feed, "could not look up the owners of changed tasks",
               res != NULL ? PQerrorMessage(conn) : "out of memory");
        if (PQstatus(conn) == CONNECTION_BAD)
            rc = -TGX_ERR_DB;
    }
    PQclear(res);
    if (tgx_ws_feed_dispatch(feed->srv->hub, payload, owners, now) < 0)
        tgx_log_warning("ws-feed", "could not send a task event: out of memory");
    tgx_buf_cleanup(&arr);
    json_decref(owners);
    json_decref(payload);
    return rc;
}

/* Register (or renew) this connection as a listener; false when the connection failed. */
static bool feed_register(struct tgx_ws_feed *feed, PGconn *conn)
{
    PGresult *res = PQexec(conn, SQL_FEED_LISTEN);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        log_pq(feed, "could not register the task feed listener", PQerrorMessage(conn));
    PQclear(res);
    return ok || PQstatus(conn) != CONNECTION_BAD;
}

/* Best effort at stop: remove the registration, waiting at most FEED_UNLISTEN_WAIT_MS (a stale one
 * expires by itself). */
static void feed_unregister(struct tgx_ws_feed *feed, PGconn *conn)
{
    int64_t deadline = tgx_http_mono_ms() + FEED_UNLISTEN_WAIT_MS;
    PGresult *res;

    (void)feed;
    if (!PQsendQuery(conn, SQL_FEED_UNLISTEN))
        return;
    while (PQflush(conn) == 1) {
        struct pollfd p = {.fd = PQsocket(conn), .events = POLLOUT};
        int64_t left = deadline - tgx_http_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
    }
    for (;;) {
        struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
        int64_t left;
        if (!PQconsumeInput(conn))
            return;
        if (!PQisBusy(conn))
            break;
        left = deadline - tgx_http_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
    }
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
}

static void *feed_main(void *arg)
{
    struct tgx_ws_feed *feed = arg;
    unsigned backoff = 500;
    bool stopping = false;
    int64_t heartbeat = 0; /* when the registration is renewed next */

    while (!stopping) {
        PGconn *conn = feed_connect(feed, &stopping);
        PGresult *res;
        if (stopping)
            break;
        if (conn != NULL) {
            res = PQexec(conn, SQL_LISTEN);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                log_pq(feed, "could not listen for task changes", PQerrorMessage(conn));
                PQclear(res);
                PQfinish(conn);
                conn = NULL;
            } else {
                PQclear(res);
                tgx_log_info("ws-feed", "listening for task changes");
                backoff = 500;
                heartbeat = tgx_http_mono_ms(); /* register at once, below */
            }
        }
        while (conn != NULL) {
            PGnotify *n;
            int64_t left = heartbeat - tgx_http_mono_ms();
            if (left <= 0) {
                /* register, then renew; no wait in this pass: notifications that came with the
                 * reply are already read and are handled below */
                if (!feed_register(feed, conn)) {
                    log_pq(feed, "lost the task feed connection", PQerrorMessage(conn));
                    break;
                }
                heartbeat = tgx_http_mono_ms() + FEED_HEARTBEAT_MS;
            } else if (wait_fd(feed, PQsocket(conn), POLLIN, (int)left)) {
                stopping = true;
                feed_unregister(feed, conn);
                break;
            }
            if (!PQconsumeInput(conn)) {
                log_pq(feed, "lost the task feed connection", PQerrorMessage(conn));
                break;
            }
            while ((n = PQnotifies(conn)) != NULL) {
                int rc = handle_notify(feed, conn, n->extra);
                PQfreemem(n);
                if (rc == -TGX_ERR_DB)
                    break;
            }
            if (PQstatus(conn) == CONNECTION_BAD) {
                log_pq(feed, "lost the task feed connection", PQerrorMessage(conn));
                break;
            }
        }
        PQfinish(conn);
        if (stopping)
            break;
        /* back off before reconnecting; the stop event cuts the wait short */
        if (wait_fd(feed, -1, 0, (int)backoff))
            break;
        backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
    }
    return NULL;
}

int tgx_ws_feed_start(struct tgx_http_server *srv, const char *database_url, struct tgx_ws_feed **out)
{
    struct tgx_ws_feed *feed = calloc(1, sizeof *feed);
    *out = NULL;
    if (feed == NULL)
        return -TGX_ERR_NOMEM;
    feed->srv = srv;
    feed->url = strdup(database_url);
    feed->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (feed->url == NULL || feed->stopfd < 0) {
        free(feed->url);
        if (feed->stopfd >= 0)
            close(feed->stopfd);
        free(feed);
        return -TGX_ERR_NOMEM;
    }
    if (pthread_create(&feed->thread, NULL, feed_main, feed) != 0) {
        free(feed->url);
        close(feed->stopfd);
        free(feed);
        return -TGX_ERR_NOMEM;
    }
    *out = feed;
    return 0;
}

void tgx_ws_feed_stop(struct tgx_ws_feed *feed)
{
    uint64_t one = 1;
    if (feed == NULL)
        return;
    if (write(feed->stopfd, &one, sizeof one) < 0) {
    }
    pthread_join(feed->thread, NULL);
    close(feed->stopfd);
    free(feed->url);
    free(feed);
}
