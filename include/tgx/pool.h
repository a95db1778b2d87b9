/* pool.h: a fixed set of PostgreSQL connections shared by threads, with prepared statements per
 * connection, bounded waits and reconnection of broken connections. */
#ifndef TGX_POOL_H
#define TGX_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "tgx/buf.h"
#include "tgx/db.h"
#include "tgx/err.h"

/* How many distinct prepared statements (tgx_pg_query.id values) a pool serves. */
#define TGX_POOL_MAX_QUERIES 128

/*
 * A named statement, prepared once per connection on first use.  Define each as a constant with
 * its column-index constants next to it (STYLE.md 18); never paste values into SQL.
 */
struct tgx_pg_query {
    int id;           /* 0 .. TGX_POOL_MAX_QUERIES-1, unique among the queries run on one pool */
    const char *name; /* statement name, unique like id ("user_get") */
    const char *sql;  /* the statement with $1.. parameters */
    int nparams;      /* how many parameters it takes (all sent as text) */
};

/* The last failure on a borrowed connection (fixed buffers: nothing to free). */
struct tgx_pool_error {
    char sqlstate[6];    /* "22023"; "" when the error did not come from the server */
    char message[512];   /* primary message (one line, password redacted) */
    char detail[512];    /* DETAIL or "" */
    char hint[256];      /* HINT or "" */
    char column[64];     /* PG_DIAG_COLUMN_NAME (RAISE ... USING COLUMN = 'field') or "" */
    char constraint[64]; /* PG_DIAG_CONSTRAINT_NAME or "" */
    bool connection;     /* the connection failed (could not connect, or was lost) */
};

/* What a pool is made of.  Strings are borrowed during tgx_pool_create() only. */
struct tgx_pool_opts {
    const char *url;          /* postgresql:// URL or key=value string */
    const char *appname;      /* fallback application_name ("tgxd api") */
    int size;                 /* connections, 1..1000 */
    int wait_ms;              /* longest wait for a free connection before -TGX_ERR_STATE */
    int statement_timeout_ms; /* SET statement_timeout on every connection; 0: none */
};

/* Counters for /metrics, read without stopping the pool. */
struct tgx_pool_stats {
    int size;                 /* connections configured */
    int busy;                 /* connections borrowed right now */
    int connected;            /* connections open (the others connect on first borrow) */
    unsigned long waits;      /* borrows that had to wait */
    unsigned long timeouts;   /* borrows that gave up after wait_ms */
    unsigned long reconnects; /* broken connections replaced */
};

/* A pool (opaque) and one of its connections while borrowed (opaque). */
struct tgx_pool;
struct tgx_pool_conn;

/*
 * Create a pool of OPTS->size connections in *OUT (free with tgx_pool_free()).  Opens the first
 * connection now, so a bad URL or an unreachable server fails here: -TGX_ERR_INVAL or -TGX_ERR_DB
 * with one line appended to ERRMSG (password masked).  The other connections open on demand.
 * Every connection runs with TimeZone UTC, DateStyle ISO, extra_float_digits 1 (shortest exact
 * floats) and client_min_messages warning.
 */
int tgx_pool_create(const struct tgx_pool_opts *opts, struct tgx_pool **out /* OUT: new */,
                    struct tgx_buf *errmsg /* OUT: appended */) TGX_MUSTCHECK;
/* Close every connection and free POOL (NULL is fine); no connection may still be borrowed. */
void tgx_pool_free(struct tgx_pool *pool);
/*
 * Borrow a connection for the calling thread: *OUT until tgx_pool_return().  Waits at most
 * wait_ms for one to be free: -TGX_ERR_STATE when none was (the HTTP layer answers 503).  A
 * connection found broken is reconnected first: -TGX_ERR_DB when that fails, with ERR filled
 * (ERR may be NULL).
 */
int tgx_pool_borrow(struct tgx_pool *pool, struct tgx_pool_conn **out /* OUT: borrowed */,
                    struct tgx_pool_error *err /* OUT, may be NULL */) TGX_MUSTCHECK;
/* Give CONN back (NULL is fine).  An open transaction is rolled back first. */
void tgx_pool_return(struct tgx_pool *pool, struct tgx_pool_conn *conn);
/*
 * Run prepared statement Q with its text PARAMS (NULL entries are SQL NULL) and call FN (may be
 * NULL) with the result, which FN borrows: the pool clears it when FN returns.  Returns 0, FN's
 * negative result, or -TGX_ERR_DB (see tgx_pool_last_error()).
 */
int tgx_pool_query(struct tgx_pool_conn *conn, const struct tgx_pg_query *q, const char *const *params,
                   tgx_db_result_fn fn, void *arg) TGX_MUSTCHECK;
/* Run one statement without parameters (BEGIN, COMMIT, SET ...): 0 or -TGX_ERR_DB. */
int tgx_pool_exec(struct tgx_pool_conn *conn, const char *sql) TGX_MUSTCHECK;
/* The last error of CONN: borrowed, valid until its next call. */
const struct tgx_pool_error *tgx_pool_last_error(const struct tgx_pool_conn *conn);
/* A snapshot of POOL's counters. */
void tgx_pool_get_stats(struct tgx_pool *pool, struct tgx_pool_stats *out /* OUT */);

#endif
