/* role_loop.h: the engine roles of `tgxd serve` (scheduler, dispatcher, monitor, health) and the
 * one loop they share: a thread per role with its own libpq connection, woken by NOTIFY, by the
 * role's next deadline and by a slow fallback poll; reconnection with exponential back-off. */
#ifndef TGX_ROLE_LOOP_H
#define TGX_ROLE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "tgx/alerts.h"
#include "tgx/buf.h"
#include "tgx/config.h"
#include "tgx/db.h"
#include "tgx/err.h"

/* States of a role's loop (one transition function, change_state() in loop.c). */
enum tgx_loop_state {
    TGX_LOOP_DISCONNECTED = 0, /* no connection: connect when the back-off delay has passed */
    TGX_LOOP_READY = 1,        /* connected and LISTENing: step, then wait for a deadline or NOTIFY */
    TGX_LOOP_STOPPED = 2,      /* asked to stop and finished: the thread returns */
};

/* The reloadable settings of the engine roles (a copy per loop; SIGHUP replaces it). */
struct tgx_role_settings {
    long batch;                      /* rows per stored-function call */
    long poll_ms;                    /* fallback poll: the longest sleep without a deadline or NOTIFY */
    long sweep_ms;                   /* health: period of tgx.sweep_keepers() */
    struct tgx_alert_targets alerts; /* health: where alerts go */
};

/* A role's loop (opaque) and its connection as a step sees it (opaque, borrowed). */
struct tgx_loop;
struct tgx_loop_db;

/*
 * One row of the role table.  Every callback runs on the role's thread.  STATE is the role's
 * private state (init's result).  A step does its work in small batches until there is none left
 * (or tgx_loop_stopping()) and never holds work in memory across calls: it returns the number of
 * rows handled (>= 0), or a negative enum tgx_err (-TGX_ERR_DB: the loop reconnects when the
 * connection is broken, else retries after a back-off).  DB is NULL for a role run without a
 * database (unit tests).
 */
struct tgx_role_def {
    const char *name;            /* "scheduler": thread name, log subject, --roles entry */
    const char *const *channels; /* NULL-terminated LISTEN channels; NULL: none */
    /*
     * true: the connection commits with synchronous_commit = off (no wait for the WAL flush).
     * Only for a role whose every transaction may be lost in a crash without harm: its work is
     * still due afterwards and is done again, and whatever acts on it outside the database
     * first commits synchronously itself (a keeper's take), which flushes the WAL up to and
     * including this commit.  Never for a role with side effects outside the database.
     */
    bool async_commit;
    /* new private state in *STATE (may stay NULL); 0 or a negative enum tgx_err */
    int (*init)(void **state /* OUT: new */, const struct tgx_role_settings *s);
    /* free the state (NULL is fine) */
    void (*cleanup)(void *state);
    /* one pass of work; see above */
    int (*step)(struct tgx_loop *loop, void *state, struct tgx_loop_db *db);
    /* milliseconds until the role needs a step again (<= 0: at once); -1 in *DELAY_MS: no
     * deadline (the fallback poll applies).  0 or a negative enum tgx_err. */
    int (*next_deadline)(struct tgx_loop *loop, void *state, struct tgx_loop_db *db,
                         int64_t *delay_ms /* OUT */);
};

/* The engine roles, in start order, and their number. */
extern const struct tgx_role_def *const tgx_engine_roles[];
extern const size_t tgx_engine_nroles;
/* The row of NAME in tgx_engine_roles, or NULL. */
const struct tgx_role_def *tgx_engine_find_role(const char *name);

/* ----- the loop -------------------------------------------------------------------------------- */

/*
 * A loop for DEF (borrowed: a static row) over database URL (copied; NULL: no database, the step
 * gets DB == NULL) with settings S (deep-copied).  *OUT gets a new loop (tgx_loop_free).
 */
int tgx_loop_create(const struct tgx_role_def *def, const char *url, const struct tgx_role_settings *s,
                    struct tgx_loop **out /* OUT: new */) TGX_MUSTCHECK;
/* Start the loop's thread: while (!stop) tgx_loop_once().  -TGX_ERR_NOMEM when no thread. */
int tgx_loop_start(struct tgx_loop *loop) TGX_MUSTCHECK;
/* One pass: connect or step or wait (at most until the next deadline), as the state says. */
void tgx_loop_once(struct tgx_loop *loop);
/* Ask the loop to stop (from any thread; async-signal-safe): no new work, the step in flight ends. */
void tgx_loop_stop(struct tgx_loop *loop);
/* Wake the loop early (from any thread; async-signal-safe). */
void tgx_loop_wake(struct tgx_loop *loop);
/* Wait for a started loop's thread to end (after tgx_loop_stop). */
void tgx_loop_join(struct tgx_loop *loop);
/* Replace the settings (deep copy) from any thread; the loop takes them at its next pass. */
int tgx_loop_set_settings(struct tgx_loop *loop, const struct tgx_role_settings *s) TGX_MUSTCHECK;
/* Stop, join and free (NULL is fine). */
void tgx_loop_free(struct tgx_loop *loop);

/* For steps: true once the loop was asked to stop (finish the call in flight, take no more). */
bool tgx_loop_stopping(const struct tgx_loop *loop);
/* For steps: the settings in force (borrowed, valid during the callback). */
const struct tgx_role_settings *tgx_loop_settings(const struct tgx_loop *loop);
/* The loop's role name and state, and counters for tests and the log. */
const char *tgx_loop_name(const struct tgx_loop *loop);
enum tgx_loop_state tgx_loop_get_state(const struct tgx_loop *loop);
/* Steps run, notifications received, connections made, since creation. */
struct tgx_loop_stats {
    unsigned long steps, notifies, connects, failures;
};
void tgx_loop_get_stats(const struct tgx_loop *loop, struct tgx_loop_stats *out /* OUT */);

/* ----- queries from a step (the loop's connection; an interrupted query cancels at stop) ------ */

/* Run SQL with NPARAMS text parameters and call FN (may be NULL) with the result (borrowed).
 * -TGX_ERR_DB on a database error (logged by the caller, see tgx_loop_db_error). */
int tgx_loop_query(struct tgx_loop_db *db, const char *sql, int nparams, const char *const *params,
                   tgx_db_result_fn fn, void *arg) TGX_MUSTCHECK;
/* Run SQL, which returns one row of one integer column, into *OUT (NULL: 0). */
int tgx_loop_query_int(struct tgx_loop_db *db, const char *sql, int nparams, const char *const *params,
                       long long *out /* OUT */) TGX_MUSTCHECK;
/* Call `SELECT fn($1)` (SQL with the batch as $1) until it returns 0 or the loop stops; *TOTAL
 * gets the sum. */
int tgx_loop_repeat(struct tgx_loop *loop, struct tgx_loop_db *db, const char *sql,
                    long long *total /* OUT */) TGX_MUSTCHECK;
/* Run SQL, which returns one row of one bigint: a delay in milliseconds computed by the database
 * against its own clock (ceil(extract(epoch FROM deadline - clock_timestamp()) * 1000)), or NULL.
 * *DELAY_MS gets it (-1 for NULL; a negative delay becomes 0). */
int tgx_loop_query_delay(struct tgx_loop_db *db, const char *sql, int64_t *delay_ms /* OUT */) TGX_MUSTCHECK;
/* The last error message of DB (borrowed, one line, password redacted). */
const char *tgx_loop_db_error(const struct tgx_loop_db *db);

/* ----- pure pieces, unit-tested ---------------------------------------------------------------- */

/* Reconnection delay after FAILURES consecutive failures (0 -> 100 ms, doubling, capped at 5 s). */
int64_t tgx_loop_backoff_ms(unsigned failures);
/* The poll() timeout at NOW_MS for a DEADLINE_MS (both monotonic; -1: none) and the fallback
 * POLL_MS: 0 when due, never more than POLL_MS. */
int tgx_loop_timeout_ms(int64_t now_ms, int64_t deadline_ms, long poll_ms);
/* The monotonic clock in milliseconds. */
int64_t tgx_loop_now_ms(void);

/* ----- the engine: the engine roles a `tgxd serve` runs ---------------------------------------- */

struct tgx_engine;

/* Settings of the engine roles from CFG (deep copy into *S; tgx_role_settings_cleanup). */
int tgx_role_settings_from_config(struct tgx_role_settings *s /* OUT */,
                                  const struct tgx_config *cfg) TGX_MUSTCHECK;
void tgx_role_settings_cleanup(struct tgx_role_settings *s);
/* True when the roles list ROLES ("all", "api,scheduler", ...) names NAME. */
bool tgx_roles_has(const char *roles, const char *name);

/*
 * The engine roles that CFG->roles names (none is fine: *OUT is an empty engine), over
 * CFG->database_url; checks the alert settings.  -TGX_ERR_INVAL / -TGX_ERR_NOMEM with one line
 * appended to ERR.  Connections are made by the threads (and retried), not here.
 */
int tgx_engine_create(const struct tgx_config *cfg, struct tgx_engine **out /* OUT: new */,
                      struct tgx_buf *err /* OUT: appended */) TGX_MUSTCHECK;
/* Start every role's thread.  -TGX_ERR_NOMEM. */
int tgx_engine_start(struct tgx_engine *e) TGX_MUSTCHECK;
/* How many roles the engine runs. */
size_t tgx_engine_count(const struct tgx_engine *e);
/* Apply the reloadable settings of CFG to every role.  -TGX_ERR_INVAL with ERR (nothing changed). */
int tgx_engine_reload(struct tgx_engine *e, const struct tgx_config *cfg, struct tgx_buf *err) TGX_MUSTCHECK;
/* Ask every role to stop, then join them all.  Idempotent. */
void tgx_engine_stop(struct tgx_engine *e);
/* Stop if needed and free (NULL is fine). */
void tgx_engine_free(struct tgx_engine *e);

#endif
