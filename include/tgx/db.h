/* db.h: a libpq connection that owns every PGresult, keeps the last error, and never leaks a password. */
#ifndef TGX_DB_H
#define TGX_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "tgx/buf.h"
#include "tgx/err.h"

/* The last error of a connection, from the server's error fields (PG_DIAG_*). */
struct tgx_db_error {
    char sqlstate[6]; /* "42601"; "" when the error did not come from the server */
    char *message;    /* primary message, lower case, no trailing period (NULL only when out of memory) */
    char *detail;     /* DETAIL, or NULL */
    char *hint;       /* HINT, or NULL */
    char *context;    /* CONTEXT (e.g. "PL/pgSQL function ... line 3"), or NULL */
    int position;     /* 1-based character position in the statement sent, 0 if unknown */
};

/* A connection (opaque). */
struct tgx_db;

/*
 * Handler of a query's result.  RES is borrowed: the wrapper clears it when the handler returns,
 * so the handler must copy whatever it keeps.  Returns 0 or a negative enum tgx_err, which the
 * query call passes on.
 */
typedef int (*tgx_db_result_fn)(const PGresult *res, void *arg);

/*
 * Connect to URL (a postgresql:// URI or a key=value string).  *OUT gets a new connection, freed
 * with tgx_db_free().  On failure appends one line to ERRMSG, with any password masked:
 * -TGX_ERR_INVAL "invalid database URL: ...", or -TGX_ERR_DB "could not connect to the database: ...".
 * APPNAME is the fallback application_name.  Sets client_min_messages = warning; notices and
 * warnings from the server go to the log.
 */
int tgx_db_connect(const char *url, const char *appname, struct tgx_db **out /* OUT: new */,
                   struct tgx_buf *errmsg /* OUT: appended */) TGX_MUSTCHECK;
/* Check the syntax of URL without connecting: 0, or -TGX_ERR_INVAL with "invalid database URL: ..." */
int tgx_db_check_url(const char *url, struct tgx_buf *errmsg) TGX_MUSTCHECK;
/* Close DB and free it (NULL is fine). */
void tgx_db_free(struct tgx_db *db);

/*
 * Run SQL as one simple-protocol query (PQexec): several statements are allowed, $$ bodies stay
 * whole, results are discarded.  -TGX_ERR_DB on an error (see tgx_db_last_error()).
 */
int tgx_db_exec(struct tgx_db *db, const char *sql) TGX_MUSTCHECK;
/*
 * Run one statement with NPARAMS text parameters $1.. (PQexecParams, text results) and call FN
 * (may be NULL) with the result.  -TGX_ERR_DB on a database error, or FN's negative result.
 */
int tgx_db_query(struct tgx_db *db, const char *sql, int nparams, const char *const *params,
                 tgx_db_result_fn fn, void *arg) TGX_MUSTCHECK;
/* The error of the last failed call: borrowed, valid until the next call on DB. */
const struct tgx_db_error *tgx_db_last_error(const struct tgx_db *db);
/* True when DB is inside a transaction block (also a failed one). */
bool tgx_db_in_transaction(const struct tgx_db *db);
/* The URL of DB with its password masked: borrowed, valid until tgx_db_free(). */
const char *tgx_db_url(const struct tgx_db *db);

/*
 * Append URL with every password replaced by "***" to OUT: the password of a URI's user info,
 * a URI's password= parameter and a key=value string's password= value.
 */
void tgx_db_mask_url(const char *url, struct tgx_buf *out);
/* Append TEXT to OUT with every occurrence of a password found in URL replaced by "***". */
void tgx_db_redact(const char *text, const char *url, struct tgx_buf *out);

#endif
