/* pool.c: a fixed set of PostgreSQL connections shared by threads (mutex + condition variable),
 * prepared statements per connection, bounded waits, reconnection of broken connections. */
#include "tgx/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgx/log.h"

struct tgx_pool_conn {
    PGconn *pg;                          /* NULL until connected */
    bool prepared[TGX_POOL_MAX_QUERIES]; /* statement id prepared on this connection */
    struct tgx_pool_error err;           /* last failure */
    struct tgx_pool *pool;               /* owner */
    size_t index;                        /* slot in pool->conns */
};

struct tgx_pool {
    pthread_mutex_t mu;
    pthread_cond_t freed; /* signalled when a connection is returned */
    struct tgx_pool_conn *conns;
    size_t *free_stack; /* indexes of free connections */
    size_t nfree;
    size_t size;
    char *url; /* the URL as given (to connect); never logged */
    char *appname;
    int wait_ms;
    int statement_timeout_ms;
    unsigned long waits, timeouts, reconnects;
};

/* Copy S into the fixed buffer DST of size N (always terminated, truncated if needed). */
static void copy_field(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s != NULL ? s : "");
}

/* One line of libpq text: newlines and following tabs become "; ", the final newline goes. */
static void one_line(char *dst, size_t n, const char *msg, const char *url)
{
    struct tgx_buf line, red;
    tgx_buf_init(&line);
    tgx_buf_init(&red);
    bool sep = false;
    for (const char *p = msg != NULL ? msg : ""; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r') {
            sep = true;
            continue;
        }
        if (sep) {
            while (*p == '\t' || *p == ' ')
                p++;
            if (*p == '\0')
                break;
            tgx_buf_puts(&line, "; ");
            sep = false;
        }
        tgx_buf_putc(&line, *p);
    }
    tgx_db_redact(tgx_buf_str(&line), url, &red);
    copy_field(dst, n, tgx_buf_oom(&red) ? "out of memory" : tgx_buf_str(&red));
    tgx_buf_cleanup(&line);
    tgx_buf_cleanup(&red);
}

/* Record RES's error (NULL: the connection's) as C's last error. */
static void set_error(struct tgx_pool_conn *c, const PGresult *res)
{
    struct tgx_pool_error *e = &c->err;
    memset(e, 0, sizeof *e);
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (primary != NULL) {
        copy_field(e->sqlstate, sizeof e->sqlstate, PQresultErrorField(res, PG_DIAG_SQLSTATE));
        copy_field(e->message, sizeof e->message, primary);
        copy_field(e->detail, sizeof e->detail, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
        copy_field(e->hint, sizeof e->hint, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
        copy_field(e->column, sizeof e->column, PQresultErrorField(res, PG_DIAG_COLUMN_NAME));
        copy_field(e->constraint, sizeof e->constraint, PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME));
    } else {
        const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
        if ((msg == NULL || msg[0] == '\0') && c->pg != NULL)
            msg = PQerrorMessage(c->pg);
        one_line(e->message, sizeof e->message, msg != NULL && msg[0] != '\0' ? msg : "unknown libpq error",
                 c->pool->url);
    }
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        e->connection = true;
}

static void notice_to_log(void *arg, const PGresult *res)
{
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (primary == NULL)
        return;
    if (severity != NULL && strcmp(severity, "WARNING") == 0)
        tgx_log_warning("pool", "server warning: %s", primary);
    else
        tgx_log_debug("pool", "server %s: %s", severity != NULL ? severity : "notice", primary);
}

/* Run SQL on C without preparing it: 0 or -TGX_ERR_DB. */
static int exec_simple(struct tgx_pool_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        set_error(c, res);
        rc = -TGX_ERR_DB;
    }
    PQclear(res);
    return rc;
}

/* (Re)open C's connection.  0, or -TGX_ERR_DB with C's error set. */
static int conn_open(struct tgx_pool_conn *c)
{
    struct tgx_pool *p = c->pool;
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    memset(c->prepared, 0, sizeof c->prepared);
    const char *const keys[] = {"connect_timeout", "client_encoding", "dbname", "fallback_application_name",
                                NULL};
    const char *const vals[] = {"10", "UTF8", p->url, p->appname, NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        memset(&c->err, 0, sizeof c->err);
        char line[400];
        one_line(line, sizeof line, c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory", p->url);
        snprintf(c->err.message, sizeof c->err.message, "could not connect to the database: %s", line);
        c->err.connection = true;
        if (c->pg != NULL) {
            PQfinish(c->pg);
            c->pg = NULL;
        }
        return -TGX_ERR_DB;
    }
    PQsetNoticeReceiver(c->pg, notice_to_log, NULL);
    char setup[256];
    snprintf(setup, sizeof setup,
             "SET client_min_messages = warning; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
             "SET extra_float_digits = 1; SET statement_timeout = %d",
             p->statement_timeout_ms);
    if (exec_simple(c, setup) < 0) {
        PQfinish(c->pg);
        c->pg = NULL;
        c->err.connection = true;
        return -TGX_ERR_DB;
    }
    return 0;
}

int tgx_pool_create(const struct tgx_pool_opts *opts, struct tgx_pool **out, struct tgx_buf *errmsg)
{
    *out = NULL;
    if (opts->size < 1 || opts->size > 1000) {
        tgx_buf_printf(errmsg, "invalid pool size %d: it must be between 1 and 1000", opts->size);
        return -TGX_ERR_INVAL;
    }
    int rc = tgx_db_check_url(opts->url, errmsg);
    if (rc < 0)
        return rc;
    struct tgx_pool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        tgx_buf_puts(errmsg, "out of memory");
        return -TGX_ERR_NOMEM;
    }
    p->size = (size_t)opts->size;
    p->wait_ms = opts->wait_ms > 0 ? opts->wait_ms : 0;
    p->statement_timeout_ms = opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms : 0;
    p->url = strdup(opts->url);
    p->appname = strdup(opts->appname != NULL ? opts->appname : "tgxd");
    p->conns = calloc(p->size, sizeof *p->conns);
    p->free_stack = calloc(p->size, sizeof *p->free_stack);
    pthread_condattr_t ca;
    bool sync_ok = pthread_mutex_init(&p->mu, NULL) == 0;
    if (sync_ok) {
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        sync_ok = pthread_cond_init(&p->freed, &ca) == 0;
        pthread_condattr_destroy(&ca);
        if (!sync_ok)
            pthread_mutex_destroy(&p->mu);
    }
    if (p->url == NULL || p->appname == NULL || p->conns == NULL || p->free_stack == NULL || !sync_ok) {
        free(p->url);
        free(p->appname);
        free(p->conns);
        free(p->free_stack);
        free(p);
        tgx_buf_puts(errmsg, "out of memory");
        return -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->size; i++) {
        p->conns[i].pool = p;
        p->conns[i].index = i;
        /* the stack pops from the end: connection 0 (opened below) comes out first */
        p->free_stack[i] = p->size - 1 - i;
    }
    p->nfree = p->size;
    if (conn_open(&p->conns[0]) < 0) {
        tgx_buf_puts(errmsg, p->conns[0].err.message);
        tgx_pool_free(p);
        return -TGX_ERR_DB;
    }
    *out = p;
    return 0;
}

void tgx_pool_free(struct tgx_pool *pool)
{
    if (pool == NULL)
        return;
    if (pool->nfree != pool->size)
        tgx_log_warning("pool", "freeing the pool with %zu connection(s) still borrowed",
                        pool->size - pool->nfree);
    for (size_t i = 0; i < pool->size; i++)
        if (pool->conns[i].pg != NULL)
            PQfinish(pool->conns[i].pg);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->mu);
    free(pool->conns);
    free(pool->free_stack);
    free(pool->url);
    free(pool->appname);
    free(pool);
}

/* DEADLINE = now + MS on the monotonic clock. */
static void deadline_after(struct timespec *deadline, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, deadline);
    deadline->tv_sec += ms / 1000;
    deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline->tv_nsec >= 1000000000L) {
        deadline->tv_sec++;
        deadline->tv_nsec -= 1000000000L;
    }
}

int tgx_pool_borrow(struct tgx_pool *pool, struct tgx_pool_conn **out, struct tgx_pool_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&pool->mu);
    if (pool->nfree == 0) {
        pool->waits++;
        struct timespec deadline;
        deadline_after(&deadline, pool->wait_ms);
        while (pool->nfree == 0) {
            int w = pthread_cond_timedwait(&pool->freed, &pool->mu, &deadline);
            if (w == ETIMEDOUT && pool->nfree == 0) {
                pool->timeouts++;
                pthread_mutex_unlock(&pool->mu);
                if (err != NULL) {
                    memset(err, 0, sizeof *err);
                    snprintf(err->message, sizeof err->message,
                             "no database connection was free within %d ms", pool->wait_ms);
                }
                return -TGX_ERR_STATE;
            }
        }
    }
    struct tgx_pool_conn *c = &pool->conns[pool->free_stack[--pool->nfree]];
    bool reopen = c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK;
    if (reopen && c->pg != NULL)
        pool->reconnects++;
    pthread_mutex_unlock(&pool->mu);

    if (reopen && conn_open(c) < 0) {
        if (err != NULL)
            *err = c->err;
        tgx_log_warning("pool", "%s", c->err.message);
        tgx_pool_return(pool, c);
        return -TGX_ERR_DB;
    }
    *out = c;
    return 0;
}

void tgx_pool_return(struct tgx_pool *pool, struct tgx_pool_conn *conn)
{
    if (conn == NULL)
        return;
    if (conn->pg != NULL && PQstatus(conn->pg) == CONNECTION_OK &&
        PQtransactionStatus(conn->pg) != PQTRANS_IDLE) {
        if (exec_simple(conn, "ROLLBACK") < 0)
            tgx_log_warning("pool", "could not roll back a returned connection: %s", conn->err.message);
    }
    pthread_mutex_lock(&pool->mu);
    pool->free_stack[pool->nfree++] = conn->index;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->mu);
}

/* Check RES (owned): 0 when it succeeded (RES kept), else -TGX_ERR_DB with RES cleared. */
static int check_result(struct tgx_pool_conn *c, PGresult *res)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
        return 0;
    set_error(c, res);
    PQclear(res);
    return -TGX_ERR_DB;
}

int tgx_pool_query(struct tgx_pool_conn *conn, const struct tgx_pg_query *q, const char *const *params,
                   tgx_db_result_fn fn, void *arg)
{
    if (q->id < 0 || q->id >= TGX_POOL_MAX_QUERIES) {
        memset(&conn->err, 0, sizeof conn->err);
        snprintf(conn->err.message, sizeof conn->err.message, "statement \"%s\" has an invalid id %d",
                 q->name, q->id);
        return -TGX_ERR_INVAL;
    }
    if (!conn->prepared[q->id]) {
        PGresult *prep = PQprepare(conn->pg, q->name, q->sql, q->nparams, NULL);
        if (check_result(conn, prep) < 0)
            return -TGX_ERR_DB;
        PQclear(prep);
        conn->prepared[q->id] = true;
    }
    PGresult *res = PQexecPrepared(conn->pg, q->name, q->nparams, params, NULL, NULL, 0);
    if (check_result(conn, res) < 0)
        return -TGX_ERR_DB;
    int rc = fn != NULL ? fn(res, arg) : 0;
    PQclear(res);
    return rc;
}

int tgx_pool_exec(struct tgx_pool_conn *conn, const char *sql)
{
    return exec_simple(conn, sql);
}

const struct tgx_pool_error *tgx_pool_last_error(const struct tgx_pool_conn *conn)
{
    return &conn->err;
}

void tgx_pool_get_stats(struct tgx_pool *pool, struct tgx_pool_stats *out)
{
    pthread_mutex_lock(&pool->mu);
    out->size = (int)pool->size;
    out->busy = (int)(pool->size - pool->nfree);
    out->connected = 0;
    for (size_t i = 0; i < pool->size; i++)
        if (pool->conns[i].pg != NULL)
            out->connected++;
    out->waits = pool->waits;
    out->timeouts = pool->timeouts;
    out->reconnects = pool->reconnects;
    pthread_mutex_unlock(&pool->mu);
}
