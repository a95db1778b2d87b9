/*
 * tests/bench/sql_core.c: the benchmark of the SQL core that `make bench` prints.
 *
 * Over libpq with prepared statements, on the database tests/bench/run.sh migrated:
 *  1. tasks/s through the whole life cycle of the stored functions (fire_due_schedules ->
 *     dispatch_tasks -> keeper_take -> submit_result(s) -> succeeded, no attesters ->
 *     settle_tasks) with 1, 2, 4, 8 connections: one task per keeper call (keeper_take(1),
 *     submit_result) with the roles' steps batched as tgxd's scheduler, dispatcher and monitor
 *     run them (fire_due_schedules, dispatch_tasks and settle_tasks -- the monitor role's
 *     settling of accepted results -- of up to a batch); every step one task per call (4 commits
 *     per task, 5 with settle_tasks, for reference); and batched (every step a batch).  A task
 *     counts as done when its result is accepted; a round's time includes settling every task
 *     (the main connection settles what the workers left, before the round's clock stops).
 *     The roles' steps commit asynchronously, as tgxd's roles do; the keeper's calls wait for
 *     the WAL flush (synchronous_commit = on, the server's setting);
 *  2. the raw ceiling under the same server settings: a one-table SKIP LOCKED queue
 *     (bench_raw), claim-and-delete one and a batch per transaction, and claim then complete
 *     in two statements;
 *  3. the ratios of 1 to 2, and per task (row), the least of a cell's rounds: the WAL it writes,
 *     from the server's WAL insert position before and after the round, and the CPU time of the
 *     round's server processes (its connections' backends, from /proc: n/a when the server runs
 *     elsewhere), the cost that bounds the rate once the CPUs, not the WAL flushes, are busy;
 *  4. 1 again with millions of finished tasks in the ledger, and the ratio to the same rows on
 *     a copy of the database taken before the seeding (CREATE DATABASE ... TEMPLATE), each cell's
 *     rounds in turn with its twin's on the copy;
 *  5. the wake-up latency of a keeper waiting on NOTIFY: due -> taken, assigned -> taken, and
 *     the p50 and p99 of each hop of the way (a waiter woken, its call returned).
 * It prints one table on stdout (progress on stderr).  It never fails on time: the exit
 * status is 1 only when the database cannot be reached or set up.  A stored function that
 * does not exist yet makes its rows "n/a".
 *
 * Usage: sql_core --database-url URL
 * Knobs (environment; defaults in bench_config_load): TGX_BENCH_HISTORY, TGX_BENCH_HISTORY_ATTEMPTS,
 * TGX_BENCH_SECONDS, TGX_BENCH_CONNS, TGX_BENCH_BATCH, TGX_BENCH_LATENCY_SAMPLES, TGX_BENCH_JOBS,
 * TGX_BENCH_PARTS, TGX_BENCH_PASSES.  Every cell shows the best of TGX_BENCH_PASSES passes over the
 * rows of its part (rows and their baselines in turn) of BENCH_ROUNDS measured rounds each
 * (part 4: the median of BENCH_PAIR_ROUNDS a pass, in turn with the twin's).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tgx/err.h"

enum {
    BENCH_MAX_CONNS = 16,         /* most connections of one cell */
    BENCH_ROUNDS = 2,             /* measured rounds per cell; the table shows the best */
    BENCH_PAIR_ROUNDS = 3,        /* part 4: measured rounds per cell, in turn with its twin's */
    BENCH_MAX_PASSES = 10,        /* most TGX_BENCH_PASSES */
    BENCH_ERR_LEN = 512,          /* error text kept per worker */
    BENCH_STALL_SECONDS = 30,     /* a round that makes no progress this long is given up */
    BENCH_IDLE_WAIT_MS = 50,      /* a life-cycle worker with nothing to do waits this long for a NOTIFY */
    BENCH_LAT_WAIT_MS = 3000,     /* a latency sample not taken after this is lost */
    BENCH_LAT_FALLBACK_MS = 1000, /* the waiters' timer: a missing NOTIFY shows up as ~this */
    BENCH_SETTLE_TAIL = 1000,     /* settle_tasks batch of a life-cycle round's end */
};

/* ------------------------------------------------------------------------------------------
 * Queries: named constants, $n parameters, column indexes beside them.
 * ------------------------------------------------------------------------------------------ */

/* The raw ceiling: one table, SKIP LOCKED. */
static const char SQL_RAW_CREATE[] =
    "DROP TABLE IF EXISTS bench_raw;"
    "CREATE TABLE bench_raw (id bigserial PRIMARY KEY, due_at timestamptz NOT NULL,"
    " claimed_until timestamptz, payload text NOT NULL);"
    "CREATE INDEX bench_raw_due ON bench_raw (due_at) WHERE claimed_until IS NULL";
static const char SQL_RAW_FILL[] =
    "INSERT INTO bench_raw (due_at, payload)"
    " SELECT now() - interval '1 minute' + g * interval '1 microsecond', 'bench payload ' || g"
    " FROM generate_series(1, $1::bigint) g";
/* claim and delete in one statement: $1 rows per transaction */
static const char SQL_RAW_CLAIM_DELETE[] =
    "DELETE FROM bench_raw WHERE id = ANY (ARRAY("
    " SELECT id FROM bench_raw WHERE claimed_until IS NULL AND due_at <= now()"
    " ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)) RETURNING id, payload";
/* claim (a visibility deadline, committed), then complete in a second statement */
static const char SQL_RAW_CLAIM[] =
    "UPDATE bench_raw SET claimed_until = now() + interval '5 minutes' WHERE id = ANY (ARRAY("
    " SELECT id FROM bench_raw WHERE claimed_until IS NULL AND due_at <= now()"
    " ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)) RETURNING id, payload";
enum { COL_RAW_ID, COL_RAW_PAYLOAD };
static const char SQL_RAW_COMPLETE[] = "DELETE FROM bench_raw WHERE id = $1::bigint";
/*
 * The same with a NOTIFY in each statement, as every stored function of the life cycle sends one:
 * a transaction that notified holds PostgreSQL's notification-queue lock from its pre-commit
 * through its commit record's flush, so such commits do not overlap.
 */
static const char SQL_RAW_CLAIM_NOTIFY[] =
    "WITH c AS (UPDATE bench_raw SET claimed_until = now() + interval '5 minutes' WHERE id = ANY (ARRAY("
    " SELECT id FROM bench_raw WHERE claimed_until IS NULL AND due_at <= now()"
    " ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)) RETURNING id, payload)"
    " SELECT c.id, c.payload, pg_notify('bench_raw', '') FROM c";
static const char SQL_RAW_COMPLETE_NOTIFY[] = "WITH d AS (DELETE FROM bench_raw WHERE id = $1::bigint "
                                              "RETURNING id) SELECT pg_notify('bench_raw', '') FROM d";

/*
 * The life cycle: one stored function per statement.  The roles' steps (fire, dispatch, settle)
 * commit as tgxd's scheduler, dispatcher and monitor do, with synchronous_commit = off (their
 * lost work is redone after a crash: include/tgx/role_loop.h); here set for the statement's own
 * transaction, since a bench connection also makes a keeper's calls, which wait for the flush.
 */
#define BENCH_ROLE_COMMIT_REL "(SELECT set_config('synchronous_commit', 'off', true)) AS role_commit"
#define BENCH_ROLE_COMMIT     " FROM " BENCH_ROLE_COMMIT_REL
static const char SQL_FIRE[] =
    "SELECT tgx.fire_due_schedules($1::integer, $2::timestamptz)" BENCH_ROLE_COMMIT;
static const char SQL_FIRE_NOW[] = "SELECT tgx.fire_due_schedules($1::integer)" BENCH_ROLE_COMMIT;
static const char SQL_DISPATCH[] = "SELECT tgx.dispatch_tasks($1::integer)" BENCH_ROLE_COMMIT;
static const char SQL_TAKE[] =
    "SELECT l.task_id, l.lease_epoch FROM tgx.keeper_take($1::bigint, $2::integer) l";
enum { COL_TAKE_TASK_ID, COL_TAKE_LEASE_EPOCH };
static const char SQL_SUBMIT[] =
    "SELECT tgx.submit_result($1::bigint, $2::bigint, $3::bigint, $4::jsonb)::text";
static const char SQL_SUBMIT_MANY[] = "SELECT tgx.submit_results($1::bigint, $2::jsonb)";
/* The monitor role's step: settle up to $1 accepted results (their accounting); returns how many. */
static const char SQL_SETTLE[] = "SELECT tgx.settle_tasks($1::integer)" BENCH_ROLE_COMMIT;

/*
 * Part 5's reference: the same hops on a one-table queue (bench_wake) and nothing else.  The
 * driver inserts a due row and NOTIFYs; a relay marks due rows assigned and NOTIFYs (both commit
 * asynchronously, as fire and dispatch do here); the taker claims and deletes an assigned row
 * (durably, as keeper_take).  wake_take takes keeper_take's parameters ($1 is not used).
 */
static const char SQL_WAKE_CREATE[] =
    "DROP TABLE IF EXISTS bench_wake;"
    "CREATE TABLE bench_wake (id bigserial PRIMARY KEY, assigned boolean NOT NULL DEFAULT false)";
static const char SQL_WAKE_DUE[] =
    "WITH i AS (INSERT INTO bench_wake (assigned) SELECT false FROM generate_series(1, $1::integer) "
    "RETURNING id)"
    " SELECT (SELECT count(*) FROM i), pg_notify('bench_wake_due', '')" BENCH_ROLE_COMMIT;
static const char SQL_WAKE_RELAY[] =
    "WITH u AS (UPDATE bench_wake SET assigned = true WHERE id = ANY (ARRAY("
    " SELECT id FROM bench_wake WHERE NOT assigned ORDER BY id LIMIT $1::integer FOR UPDATE SKIP LOCKED))"
    " RETURNING id), n AS (SELECT count(*) AS n FROM u)"
    " SELECT n.n, CASE WHEN n.n > 0 THEN pg_notify('bench_wake_assigned', '') END"
    " FROM n, " BENCH_ROLE_COMMIT_REL;
static const char SQL_WAKE_TAKE[] =
    "DELETE FROM bench_wake WHERE id = ANY (ARRAY("
    " SELECT id FROM bench_wake WHERE assigned AND $1::bigint IS NOT NULL ORDER BY id LIMIT $2::integer"
    " FOR UPDATE SKIP LOCKED)) RETURNING id, 0";

/* The result every bench keeper reports: a successful execution. */
static const char BENCH_RESULT_JSON[] =
    "{\"success\": true, \"is_successful\": true, \"gas_used\": \"21000\","
    " \"execution_tx_hash\": \"0x00000000000000000000000000000000000000000000000000000000000000aa\"}";

/*
 * Setup of the life cycle: NJOBS interval jobs (time_interval 1 s), each of its own user (a
 * succeeded task locks its job's owner: one owner of every job would serialise all results on one
 * users row, a property of that data and not of the SQL core), and the bench keepers.
 */
static const char SQL_USERS[] =
    "INSERT INTO tgx.users (user_address)"
    " SELECT '0x' || lpad(to_hex(g), 40, '0') FROM generate_series(1, $1::bigint) g"
    " ON CONFLICT DO NOTHING";
static const char SQL_JOBS[] =
    "INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, recurring,"
    " created_chain_id, target_chain_id, target_contract_address, target_function, expiration_time)"
    " SELECT g, 'bench job ' || g, 1, u.user_id, 315360000, true, '1', '1',"
    " '0x000000000000000000000000000000000000beef', 'ping()', now() + interval '10 years'"
    " FROM generate_series(1, $1::bigint) g JOIN tgx.users u ON u.user_address = '0x' || lpad(to_hex(g), 40, "
    "'0')"
    " ON CONFLICT DO NOTHING";
static const char SQL_SCHEDULES[] =
    "INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, misfire_policy)"
    " SELECT g, 'interval', 1, 'fire_once' FROM generate_series(1, $1::bigint) g ON CONFLICT DO NOTHING";
/*
 * Make schedules 1..$1 due at $2 - 0.5 s and push every other one far away (those fired in the
 * previous round are due again a second later).  Run with session_replication_role = replica so
 * that no trigger recomputes next_fire_at.
 */
static const char SQL_MAKE_DUE[] =
    "UPDATE tgx.time_schedules SET next_fire_at = CASE WHEN job_id <= $1::numeric"
    " THEN $2::timestamptz - interval '500 milliseconds' ELSE $2::timestamptz + interval '5 years' END"
    " WHERE job_id <= $1::numeric OR next_fire_at IS NULL"
    " OR next_fire_at < $2::timestamptz + interval '1 year'";
static const char SQL_REGISTER[] = "SELECT tgx.register_keeper($1::text, $2::text)";
static const char SQL_KEEPER_SETUP[] =
    "UPDATE tgx.keepers SET whitelisted = true, capacity = 10000 WHERE keeper_id = ANY ($1::bigint[])";
/* Only the keepers of the cell ($1) get work; the other bench keepers ($2) are not whitelisted. */
static const char SQL_KEEPER_USE[] = "UPDATE tgx.keepers SET whitelisted = (keeper_id = ANY ($1::bigint[])) "
                                     "WHERE keeper_id = ANY ($2::bigint[])";
static const char SQL_CHECKIN[] = "SELECT tgx.keeper_checkin($1::bigint)";
/*
 * An equally good fleet: dispatch scores keepers by their decayed outcome counters (performance,
 * reputation) before load, so the keeper that happened to finish the first tasks would get all
 * later ones and the other connections would idle.  Large, equal counters make the load term
 * decide, as among keepers with a long record.
 */
static const char SQL_KEEPER_LEVEL[] =
    "INSERT INTO tgx.keeper_stats AS s (keeper_id, task_definition_id, ok, failed, agree, disagree, "
    "decayed_at)"
    " SELECT k, 1, 1e6, 0, 1e6, 0, clock_timestamp() FROM unnest($1::bigint[]) k"
    " ON CONFLICT (keeper_id, task_definition_id) DO UPDATE"
    " SET ok = 1e6, failed = 0, agree = 1e6, disagree = 0, decayed_at = clock_timestamp()";
static const char SQL_ATTESTERS_OFF[] = "SELECT tgx.set_setting('attesters', '0', 'bench: no attesters')";
static const char SQL_MAX_TASK[] = "SELECT coalesce(max(task_id), 0) FROM tgx.tasks";
static const char SQL_ROUND_CHECK[] =
    "SELECT count(*) FILTER (WHERE state = 'succeeded'), count(*) FROM tgx.tasks WHERE task_id > $1::bigint";
enum { COL_CHECK_SUCCEEDED, COL_CHECK_ALL };
static const char SQL_ROUND_CANCEL[] =
    "UPDATE tgx.tasks SET state = 'cancelled', finished_at = clock_timestamp(), updated_at = "
    "clock_timestamp()"
    " WHERE task_id > $1::bigint AND state NOT IN ('succeeded', 'rejected', 'dead', 'cancelled')";
/* Settlements of the round's tasks left unsettled (SQL_SETTLE_LEFT) or dropped after a failure. */
static const char SQL_SETTLE_LEFT[] = "SELECT count(*) FROM tgx.task_settlements WHERE task_id > $1::bigint";
static const char SQL_SETTLE_DROP[] = "DELETE FROM tgx.task_settlements WHERE task_id > $1::bigint";
/* The WAL a round writes: the insert position before it, then the bytes since ($1). */
static const char SQL_WAL_POS[] = "SELECT pg_current_wal_insert_lsn()::text";
static const char SQL_WAL_SINCE[] = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint";
static const char SQL_FUNCTION_EXISTS[] = "SELECT (to_regprocedure($1::text) IS NOT NULL)::integer";
/* The seeded history: $1 finished tasks spread over jobs 1..$2 and ~one month, performed by $3. */
static const char SQL_SEED_HISTORY[] =
    "INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, attempt, keeper_id,"
    " lease_epoch, result, task_performer_id, is_successful, is_accepted, execution_timestamp,"
    " created_at, updated_at, started_at, finished_at)"
    " SELECT (g % $2::bigint) + 1, 1, 'succeeded', t, t, 1, $3::bigint, 1, '{\"success\": true}'::jsonb,"
    " $3::bigint, true, true, t + interval '1 second', t, t + interval '2 seconds',"
    " t + interval '100 milliseconds', t + interval '2 seconds'"
    " FROM generate_series(1, $1::bigint) g,"
    " LATERAL (SELECT now() - interval '1 day' - ($1::bigint - g) * interval '500 milliseconds' AS t) x";
/* Their attempts: one per seeded task (after task $1), as the ledger keeps every attempt. */
static const char SQL_SEED_ATTEMPTS[] =
    "INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at, started_at, "
    "ended_at,"
    " outcome) SELECT t.task_id, 1, t.keeper_id, 1, t.created_at, t.started_at, t.finished_at, 'result'"
    " FROM tgx.tasks t WHERE t.task_id > $1::bigint ORDER BY t.task_id";
static const char SQL_SETTINGS[] =
    "SELECT current_setting('server_version'), current_setting('fsync'),"
    " current_setting('synchronous_commit'), current_setting('full_page_writes'),"
    " current_setting('shared_buffers')";

/* Which stored functions of the fixed SQL API the database has. */
enum bench_have {
    HAVE_FIRE = 1u << 0,
    HAVE_DISPATCH = 1u << 1,
    HAVE_TAKE = 1u << 2,
    HAVE_SUBMIT = 1u << 3,
    HAVE_SUBMIT_MANY = 1u << 4,
    HAVE_REGISTER = 1u << 5,
    HAVE_CHECKIN = 1u << 6,
    HAVE_SET_SETTING = 1u << 7,
    HAVE_SETTLE = 1u << 8, /* optional: without it, results are settled as they are accepted */
};
#define HAVE_LIFE_BASE (HAVE_FIRE | HAVE_DISPATCH | HAVE_TAKE | HAVE_REGISTER | HAVE_CHECKIN)

static const struct bench_function {
    unsigned bit;
    const char *signature;
} bench_functions[] = {
    {HAVE_FIRE, "tgx.fire_due_schedules(integer,timestamptz)"},
    {HAVE_DISPATCH, "tgx.dispatch_tasks(integer,timestamptz)"},
    {HAVE_TAKE, "tgx.keeper_take(bigint,integer,timestamptz)"},
    {HAVE_SUBMIT, "tgx.submit_result(bigint,bigint,bigint,jsonb,timestamptz)"},
    {HAVE_SUBMIT_MANY, "tgx.submit_results(bigint,jsonb,timestamptz)"},
    {HAVE_REGISTER, "tgx.register_keeper(text,text,text,timestamptz)"},
    {HAVE_CHECKIN, "tgx.keeper_checkin(bigint,text,bigint,timestamptz)"},
    {HAVE_SET_SETTING, "tgx.set_setting(text,text,text)"},
    {HAVE_SETTLE, "tgx.settle_tasks(integer,timestamptz)"},
};

/* Statements prepared on every worker connection (when the functions they call exist). */
static const struct bench_stmt {
    const char *name;
    const char *sql;
    unsigned needs; /* HAVE_* bits */
} bench_stmts[] = {
    {"raw_claim_delete", SQL_RAW_CLAIM_DELETE, 0},
    {"raw_claim", SQL_RAW_CLAIM, 0},
    {"raw_complete", SQL_RAW_COMPLETE, 0},
    {"raw_claim_notify", SQL_RAW_CLAIM_NOTIFY, 0},
    {"raw_complete_notify", SQL_RAW_COMPLETE_NOTIFY, 0},
    {"wake_due", SQL_WAKE_DUE, 0},
    {"wake_relay", SQL_WAKE_RELAY, 0},
    {"wake_take", SQL_WAKE_TAKE, 0},
    {"fire", SQL_FIRE, HAVE_FIRE},
    {"fire_now", SQL_FIRE_NOW, HAVE_FIRE},
    {"dispatch", SQL_DISPATCH, HAVE_DISPATCH},
    {"take", SQL_TAKE, HAVE_TAKE},
    {"submit", SQL_SUBMIT, HAVE_SUBMIT},
    {"submit_many", SQL_SUBMIT_MANY, HAVE_SUBMIT_MANY},
    {"settle", SQL_SETTLE, HAVE_SETTLE},
};

/* ------------------------------------------------------------------------------------------
 * Configuration, results, shared state
 * ------------------------------------------------------------------------------------------ */

/* What one cell of the table measures. */
enum bench_kind {
    KIND_LIFE,                      /* fire -> dispatch -> take -> submit -> settle, until all succeeded */
    KIND_RAW_DELETE,                /* claim-and-delete, BATCH rows per statement (= transaction) */
    KIND_RAW_CLAIM_COMPLETE,        /* claim one row (committed), then delete it in a second statement */
    KIND_RAW_CLAIM_COMPLETE_NOTIFY, /* the same, each statement also sends a NOTIFY */
};

/* The throughput rows of the table. */
enum bench_row {
    ROW_LIFE_ONE,     /* keeper calls one task each; roles' steps batched */
    ROW_LIFE_ONE_ALL, /* every step one task per call */
    ROW_LIFE_BATCH,
    ROW_RAW_DELETE_ONE,
    ROW_RAW_DELETE_BATCH,
    ROW_RAW_CLAIM_COMPLETE,
    ROW_RAW_CLAIM_COMPLETE_NOTIFY,
    ROW_HIST_ONE,
    ROW_HIST_BATCH,
    ROW_COPY_ONE, /* part 4's baseline: the copy of the database without the history */
    ROW_COPY_BATCH,
    ROW__COUNT
};

static const struct bench_row_spec {
    enum bench_kind kind;
    bool batched;       /* BATCH per call (the keeper's calls, and raw rows), else one */
    bool roles_batched; /* life cycle: the roles' steps (fire, dispatch, settle) take BATCH, else one */
} bench_rows[ROW__COUNT] = {
    [ROW_LIFE_ONE] = {KIND_LIFE, false, true},
    [ROW_LIFE_ONE_ALL] = {KIND_LIFE, false, false},
    [ROW_LIFE_BATCH] = {KIND_LIFE, true, true},
    [ROW_RAW_DELETE_ONE] = {KIND_RAW_DELETE, false, false},
    [ROW_RAW_DELETE_BATCH] = {KIND_RAW_DELETE, true, false},
    [ROW_RAW_CLAIM_COMPLETE] = {KIND_RAW_CLAIM_COMPLETE, false, false},
    [ROW_RAW_CLAIM_COMPLETE_NOTIFY] = {KIND_RAW_CLAIM_COMPLETE_NOTIFY, false, false},
    [ROW_HIST_ONE] = {KIND_LIFE, false, true}, /* measured after the history was seeded */
    [ROW_HIST_BATCH] = {KIND_LIFE, true, true},
    [ROW_COPY_ONE] = {KIND_LIFE, false, true}, /* on the copy taken before the seeding */
    [ROW_COPY_BATCH] = {KIND_LIFE, true, true},
};

/* Parts of the run (TGX_BENCH_PARTS). */
enum bench_part {
    PART_RAW = 1u << 0,
    PART_LIFE = 1u << 1,
    PART_HISTORY = 1u << 2,
    PART_LATENCY = 1u << 3,
};

struct bench_config {
    const char *url;       /* --database-url */
    long history;          /* TGX_BENCH_HISTORY: finished tasks seeded for part 4 */
    bool history_attempts; /* TGX_BENCH_HISTORY_ATTEMPTS: seed a task_attempts row per task too */
    double cell_seconds;   /* TGX_BENCH_SECONDS: aimed duration of a measured round */
    int conns[8];          /* TGX_BENCH_CONNS: connection counts, e.g. 1,2,4,8 */
    int nconns;
    int batch;       /* TGX_BENCH_BATCH: tasks per call of the batched rows */
    int lat_samples; /* TGX_BENCH_LATENCY_SAMPLES: samples per latency row */
    long jobs;       /* TGX_BENCH_JOBS: interval jobs created = most tasks of one round */
    unsigned parts;  /* TGX_BENCH_PARTS: enum bench_part bits */
    int passes;      /* TGX_BENCH_PASSES: passes over the rows of a part; a cell shows its best */
};

/*
 * The hops of a wake-up sample: the dispatcher wakes (from the driver's fire call returned:
 * negative when the NOTIFY came first), its dispatch_tasks call, the taker wakes (from the
 * dispatch call returned, the dispatcher's or the driver's), its keeper_take call.
 */
enum bench_hop { HOP_TO_DISPATCHER, HOP_DISPATCH, HOP_TO_TAKER, HOP_TAKE, BENCH_HOPS };

/* What the wake-up rows run: the life cycle's stored functions, or the one-table reference. */
struct bench_lat_kind {
    const char *due;              /* prepared statements: $1 = 1, one task made due, NOTIFY */
    const char *relay;            /* $1 = batch: due tasks assigned, NOTIFY; returns how many */
    const char *take;             /* $1 = keeper, $2 = limit: COL_TAKE_TASK_ID, COL_TAKE_LEASE_EPOCH */
    const char *submit;           /* the taker's result per task taken (not timed); NULL: none */
    const char *due_channel;      /* what the relay LISTENs on */
    const char *assigned_channel; /* what the taker LISTENs on */
    bool keeper_payload;          /* the taker's NOTIFY carries its keeper id (else any counts) */
    bool make_due;                /* a schedule is made due before the due statement fires it */
    const char *hop_names[BENCH_HOPS];
};
static const struct bench_lat_kind BENCH_LAT_LIFE = {
    .due = "fire_now",
    .relay = "dispatch",
    .take = "take",
    .submit = "submit",
    .due_channel = "tgx_dispatch",
    .assigned_channel = "tgx_assigned",
    .keeper_payload = true,
    .make_due = true,
    .hop_names = {"dispatcher woken", "dispatch_tasks", "taker woken", "keeper_take"},
};
static const struct bench_lat_kind BENCH_LAT_WAKE = {
    .due = "wake_due",
    .relay = "wake_relay",
    .take = "wake_take",
    .submit = NULL,
    .due_channel = "bench_wake_due",
    .assigned_channel = "bench_wake_assigned",
    .keeper_payload = false,
    .make_due = false,
    .hop_names = {"relay woken", "relay", "taker woken", "claim-and-delete"},
};

/* One latency row. */
struct bench_latency {
    bool measured;
    int samples;     /* taken */
    int lost;        /* not taken within BENCH_LAT_WAIT_MS */
    int timer_wakes; /* takes (or dispatches) that came from the fallback timer, not NOTIFY */
    double p50_ms, p99_ms, max_ms;
    bool hop_measured[BENCH_HOPS]; /* the row's hops (assigned -> taken: the taker's only) */
    const char *const *hop_names;  /* the kind's */
    double hop_p50_ms[BENCH_HOPS], hop_p99_ms[BENCH_HOPS];
    char note[256]; /* why it was not measured */
};

/* The whole run. */
struct bench {
    struct bench_config cfg;
    PGconn *main;                  /* setup and round preparation, latency driver */
    PGconn *pool[BENCH_MAX_CONNS]; /* worker connections, statements prepared */
    int npool;
    /* part 4: the copy of the database taken before the history was seeded, and connections to
     * it (swapped with main and pool for its cells: bench_swap_db) */
    char copy_db[160];
    PGconn *copy_main;
    PGconn *copy_pool[BENCH_MAX_CONNS];
    unsigned have;                 /* enum bench_have bits found in the database */
    bool life_ok;                  /* jobs, schedules and keepers are set up */
    char life_note[200];           /* why the life-cycle rows are n/a */
    bool one_keeper;               /* attesters could not be set to 0: one keeper for all connections */
    bool level_failed;             /* SQL_KEEPER_LEVEL failed once: not tried again */
    long keepers[BENCH_MAX_CONNS]; /* bench keeper ids */
    int nkeepers;
    long seeded;                /* finished tasks seeded (part 4) */
    double rate[ROW__COUNT][8]; /* per row and connection count index; NAN = n/a */
    /* part 4: the rate of every measured round, for the median (bench_use_median) */
    double round_rate[ROW__COUNT][8][BENCH_MAX_PASSES * BENCH_PAIR_ROUNDS];
    int nrounds[ROW__COUNT][8];
    double wal[ROW__COUNT][8];         /* least WAL bytes per task (row) of a round; NAN = n/a */
    double cpu[ROW__COUNT][8];         /* least backend CPU ms per task (row) of a round; NAN = n/a */
    char row_note[ROW__COUNT][64];     /* why a row stopped ("" when it did not) */
    struct bench_latency lat_due;      /* due -> taken, through a dispatcher waiting on tgx_dispatch */
    struct bench_latency lat_assigned; /* assigned -> taken */
    struct bench_latency wake_due;     /* the same on the one-table reference (BENCH_LAT_WAKE) */
    struct bench_latency wake_assigned;
    char server[200];
};

/* The statements a worker calls, for the time-per-call line of the log. */
enum bench_step {
    STEP_FIRE,
    STEP_DISPATCH,
    STEP_SETTLE,
    STEP_TAKE,
    STEP_SUBMIT,
    STEP_CLAIM,
    STEP_COMPLETE,
    STEP__COUNT
};
static const char *const bench_step_names[STEP__COUNT] = {
    [STEP_FIRE] = "fire_due_schedules",
    [STEP_DISPATCH] = "dispatch_tasks",
    [STEP_SETTLE] = "settle_tasks", /* the monitor role (HAVE_SETTLE) */
    [STEP_TAKE] = "keeper_take",
    [STEP_SUBMIT] = "submit",
    [STEP_CLAIM] = "claim",
    [STEP_COMPLETE] = "complete",
};

/* Calls and seconds per statement. */
struct bench_calls {
    long n[STEP__COUNT];
    double secs[STEP__COUNT];
    long idle; /* life-cycle passes that found nothing to do */
};

/* One round of a cell, shared by its workers. */
struct bench_round {
    struct bench *b; /* borrowed */
    enum bench_kind kind;
    int batch;         /* tasks per keeper call (life cycle), rows per transaction (raw) */
    int role_batch;    /* life cycle: batch of fire_due_schedules, dispatch_tasks and settle_tasks */
    long target;       /* tasks (rows) the round completes */
    char fire_now[64]; /* i_now of fire_due_schedules: the instant the round's schedules are due */
    pthread_barrier_t start;
    atomic_long done;
    atomic_bool stop; /* a worker failed, or the round stalled */
};

/* One worker thread of a round. */
struct bench_worker {
    struct bench_round *round; /* borrowed */
    PGconn *conn;              /* borrowed from bench.pool */
    long keeper_id;
    long done;
    long idle; /* passes that found nothing to do */
    double t_start, t_end;
    struct bench_calls calls; /* time spent per statement */
    int rc;
    char err[BENCH_ERR_LEN];
};

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------ */

static void bench_die(const char *fmt, ...) TGX_PRINTF(1, 2) __attribute__((noreturn));
static void bench_log(const char *fmt, ...) TGX_PRINTF(1, 2);

static void bench_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void bench_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Monotonic seconds. */
static double bench_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * CPU seconds (user and system) used so far by the server processes of CONNS[0..N-1], read from
 * /proc/PID/stat of their backends; -1 when one cannot be read (the server runs on another
 * machine, or in another PID namespace).
 */
static double bench_backend_cpu(PGconn *const *conns, int n)
{
    double ticks = 0;

    for (int i = 0; i < n; i++) {
        char path[64], buf[1024], *p;
        unsigned long utime, stime;
        FILE *f;
        size_t len;

        snprintf(path, sizeof path, "/proc/%d/stat", PQbackendPID(conns[i]));
        f = fopen(path, "r");
        if (!f)
            return -1;
        len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* fields 14 and 15 (utime, stime), counted after the ")" that ends field 2 (comm) */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
            return -1;
        ticks += (double)utime + (double)stime;
    }
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

/* bench_backend_cpu of a round's NCONN workers and the main connection (it settles the tail). */
static double bench_round_cpu(struct bench *b, int nconn)
{
    double pool = bench_backend_cpu(b->pool, nconn), main = bench_backend_cpu(&b->main, 1);

    return pool < 0 || main < 0 ? -1 : pool + main;
}

static void bench_sleep_us(long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Copy the connection's last error, one line, into ERR. */
static void bench_conn_error(PGconn *conn, const char *what, char *err, size_t errlen)
{
    const char *msg = PQerrorMessage(conn);
    size_t n;

    snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : "unknown error");
    n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/* Copy the result's error into ERR; for results with a server error. */
static void bench_result_error(const PGresult *res, const char *what, char *err, size_t errlen)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

    if (!msg)
        msg = PQresultErrorMessage(res);
    snprintf(err, errlen, "%s: %s%s%s%s%s%s", what, state ? state : "", state ? " " : "", msg,
             detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
}

/*
 * Run prepared statement STMT (or SQL when STMT is NULL) with N text parameters.  0 with *OUT a
 * new result the caller clears; -TGX_ERR_DB with the message in ERR.
 */
static int bench_exec(PGconn *conn, const char *stmt, const char *sql, int n, const char *const *values,
                      PGresult **out, char *err, size_t errlen) TGX_MUSTCHECK;
static int bench_exec(PGconn *conn, const char *stmt, const char *sql, int n, const char *const *values,
                      PGresult **out, char *err, size_t errlen)
{
    PGresult *res;
    ExecStatusType st;

    *out = NULL;
    if (stmt)
        res = PQexecPrepared(conn, stmt, n, values, NULL, NULL, 0);
    else if (n > 0)
        res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
    else
        res = PQexec(conn, sql);
    if (!res) {
        bench_conn_error(conn, stmt ? stmt : "query", err, errlen);
        return -TGX_ERR_DB;
    }
    st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        bench_result_error(res, stmt ? stmt : "query", err, errlen);
        PQclear(res);
        return -TGX_ERR_DB;
    }
    *out = res;
    return 0;
}

/* Setup statement on the main connection: 0, or -TGX_ERR_DB after logging the error. */
static int bench_sql(struct bench *b, const char *sql, int n, const char *const *values) TGX_MUSTCHECK;
static int bench_sql(struct bench *b, const char *sql, int n, const char *const *values)
{
    char err[BENCH_ERR_LEN];
    PGresult *res;

    if (bench_exec(b->main, NULL, sql, n, values, &res, err, sizeof err) < 0) {
        bench_log("%s", err);
        return -TGX_ERR_DB;
    }
    PQclear(res);
    return 0;
}

/* Setup query returning one integer (first row, first column) into *OUT. */
static int bench_sql_long(struct bench *b, const char *sql, int n, const char *const *values,
                          long *out) TGX_MUSTCHECK;
static int bench_sql_long(struct bench *b, const char *sql, int n, const char *const *values, long *out)
{
    char err[BENCH_ERR_LEN];
    PGresult *res;

    if (bench_exec(b->main, NULL, sql, n, values, &res, err, sizeof err) < 0) {
        bench_log("%s", err);
        return -TGX_ERR_DB;
    }
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        bench_log("query returned no value: %.60s", sql);
        PQclear(res);
        return -TGX_ERR_DB;
    }
    *out = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* Setup query returning one text value, copied into OUT. */
static int bench_sql_text(struct bench *b, const char *sql, char *out, size_t outlen) TGX_MUSTCHECK;
static int bench_sql_text(struct bench *b, const char *sql, char *out, size_t outlen)
{
    char err[BENCH_ERR_LEN];
    PGresult *res;

    if (bench_exec(b->main, NULL, sql, 0, NULL, &res, err, sizeof err) < 0) {
        bench_log("%s", err);
        return -TGX_ERR_DB;
    }
    snprintf(out, outlen, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return 0;
}

/* "{1,2,3}" from IDS[0..N). */
static void bench_id_array(const long *ids, int n, char *out, size_t outlen)
{
    size_t len = 0;

    out[0] = '\0';
    len += (size_t)snprintf(out, outlen, "{");
    for (int i = 0; i < n && len < outlen; i++)
        len += (size_t)snprintf(out + len, outlen - len, "%s%ld", i ? "," : "", ids[i]);
    if (len < outlen)
        snprintf(out + len, outlen - len, "}");
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* ------------------------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------------------------ */

static long bench_env_long(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    char *end;
    long v;

    if (!s || !*s)
        return def;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        bench_die("invalid %s \"%s\": expected an integer from %ld to %ld", name, s, lo, hi);
    return v;
}

static void bench_config_load(struct bench_config *cfg, int argc, char **argv)
{
    const char *s;

    memset(cfg, 0, sizeof *cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--database-url") == 0 && i + 1 < argc)
            cfg->url = argv[++i];
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: %s --database-url URL\n"
                   "environment: TGX_BENCH_HISTORY (finished tasks seeded, default 5000000, 0 skips),\n"
                   "  TGX_BENCH_HISTORY_ATTEMPTS (1: seed each one's task_attempts row too, the default),\n"
                   "  TGX_BENCH_SECONDS (aimed seconds per measured round, default 3),\n"
                   "  TGX_BENCH_CONNS (default 1,2,4,8), TGX_BENCH_BATCH (default 100),\n"
                   "  TGX_BENCH_LATENCY_SAMPLES (default 2000), TGX_BENCH_JOBS (default 50000),\n"
                   "  TGX_BENCH_PARTS (default raw,life,history,latency),\n"
                   "  TGX_BENCH_PASSES (passes over the rows of a part, default 2)\n",
                   argv[0]);
            exit(0);
        } else
            bench_die("unknown argument \"%s\" (try --help)", argv[i]);
    }
    if (!cfg->url)
        cfg->url = getenv("TGX_DATABASE_URL");
    if (!cfg->url)
        bench_die("no database: pass --database-url URL");
    cfg->history = bench_env_long("TGX_BENCH_HISTORY", 5000000, 0, 1000000000);
    cfg->history_attempts = bench_env_long("TGX_BENCH_HISTORY_ATTEMPTS", 1, 0, 1) == 1;
    cfg->cell_seconds = (double)bench_env_long("TGX_BENCH_SECONDS", 3, 1, 600);
    cfg->batch = (int)bench_env_long("TGX_BENCH_BATCH", 100, 2, 10000);
    cfg->lat_samples = (int)bench_env_long("TGX_BENCH_LATENCY_SAMPLES", 2000, 10, 100000);
    cfg->jobs = bench_env_long("TGX_BENCH_JOBS", 50000, 100, 10000000);
    cfg->passes = (int)bench_env_long("TGX_BENCH_PASSES", 2, 1, BENCH_MAX_PASSES);

    s = getenv("TGX_BENCH_CONNS");
    if (!s || !*s)
        s = "1,2,4,8";
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);

        if (end == p || v < 1 || v > BENCH_MAX_CONNS || cfg->nconns == 8)
            bench_die("invalid TGX_BENCH_CONNS \"%s\": up to 8 counts from 1 to %d, comma-separated", s,
                      BENCH_MAX_CONNS);
        cfg->conns[cfg->nconns++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            bench_die("invalid TGX_BENCH_CONNS \"%s\"", s);
    }

    s = getenv("TGX_BENCH_PARTS");
    if (!s || !*s)
        s = "raw,life,history,latency";
    cfg->parts = 0;
    if (strstr(s, "raw"))
        cfg->parts |= PART_RAW;
    if (strstr(s, "life"))
        cfg->parts |= PART_LIFE;
    if (strstr(s, "history"))
        cfg->parts |= PART_HISTORY;
    if (strstr(s, "latency"))
        cfg->parts |= PART_LATENCY;
    if (!cfg->parts)
        bench_die("invalid TGX_BENCH_PARTS \"%s\": a list of raw, life, history, latency", s);
}

/* ------------------------------------------------------------------------------------------
 * Connections and setup
 * ------------------------------------------------------------------------------------------ */

/* A connection to URL, or to database DBNAME (not NULL) of the server URL names. */
static PGconn *bench_connect_db(const char *url, const char *dbname)
{
    const char *const keys[] = {"dbname", "dbname", NULL};
    const char *const values[] = {url, dbname, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1); /* expand the URL; the second dbname wins */
    PGresult *res;

    if (PQstatus(conn) != CONNECTION_OK)
        bench_die("could not connect to the database: %s", PQerrorMessage(conn));
    res = PQexec(conn, "SET client_min_messages = warning");
    PQclear(res);
    return conn;
}

static PGconn *bench_connect(const char *url)
{
    return bench_connect_db(url, NULL);
}

static void bench_prepare(struct bench *b, PGconn *conn)
{
    for (size_t i = 0; i < sizeof bench_stmts / sizeof bench_stmts[0]; i++) {
        const struct bench_stmt *s = &bench_stmts[i];
        PGresult *res;

        if ((b->have & s->needs) != s->needs)
            continue;
        res = PQprepare(conn, s->name, s->sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            bench_die("could not prepare %s: %s", s->name, PQresultErrorMessage(res));
        PQclear(res);
    }
}

static void bench_find_functions(struct bench *b)
{
    for (size_t i = 0; i < sizeof bench_functions / sizeof bench_functions[0]; i++) {
        const char *v[1] = {bench_functions[i].signature};
        long found = 0;

        if (bench_sql_long(b, SQL_FUNCTION_EXISTS, 1, v, &found) < 0)
            bench_die("could not look up %s", bench_functions[i].signature);
        if (found)
            b->have |= bench_functions[i].bit;
        else if (bench_functions[i].bit == HAVE_SETTLE)
            bench_log("%s does not exist (yet): no settling stage", bench_functions[i].signature);
        else
            bench_log("%s does not exist (yet): its rows print n/a", bench_functions[i].signature);
    }
}

/* 0, or -TGX_ERR_DB with b->life_note saying why the life cycle cannot run. */
static int bench_setup_life(struct bench *b) TGX_MUSTCHECK;
static int bench_setup_life(struct bench *b)
{
    char jobs[32], ids[400], err[BENCH_ERR_LEN];
    const char *v[2];
    PGresult *res;
    int want = 0;

    if ((b->have & HAVE_LIFE_BASE) != HAVE_LIFE_BASE) {
        snprintf(b->life_note, sizeof b->life_note, "stored functions missing");
        return -TGX_ERR_NOTFOUND;
    }
    for (int i = 0; i < b->cfg.nconns; i++)
        want = b->cfg.conns[i] > want ? b->cfg.conns[i] : want;
    if (want < 1)
        want = 1;

    /* attesters off, so that every connection can be its own keeper */
    b->one_keeper = true;
    if ((b->have & HAVE_SET_SETTING) &&
        bench_exec(b->main, NULL, SQL_ATTESTERS_OFF, 0, NULL, &res, err, sizeof err) == 0) {
        PQclear(res);
        b->one_keeper = false;
    } else if (b->have & HAVE_SET_SETTING) {
        bench_log("attesters cannot be set to 0 (%s): one keeper serves every connection", err);
    }
    b->nkeepers = b->one_keeper ? 1 : want;

    bench_log("setting up %ld interval jobs and %d keepers", b->cfg.jobs, b->nkeepers);
    snprintf(jobs, sizeof jobs, "%ld", b->cfg.jobs);
    v[0] = jobs;
    if (bench_sql(b, SQL_USERS, 1, v) < 0 || bench_sql(b, SQL_JOBS, 1, v) < 0 ||
        bench_sql(b, SQL_SCHEDULES, 1, v) < 0)
        goto fail;
    for (int i = 0; i < b->nkeepers; i++) {
        char addr[48], name[32];

        snprintf(addr, sizeof addr, "0x%040x", 0xbe000 + i);
        snprintf(name, sizeof name, "bench-%d", i + 1);
        v[0] = addr;
        v[1] = name;
        if (bench_sql_long(b, SQL_REGISTER, 2, v, &b->keepers[i]) < 0)
            goto fail;
    }
    bench_id_array(b->keepers, b->nkeepers, ids, sizeof ids);
    v[0] = ids;
    if (bench_sql(b, SQL_KEEPER_SETUP, 1, v) < 0)
        goto fail;
    b->life_ok = true;
    return 0;
fail:
    snprintf(b->life_note, sizeof b->life_note, "setup failed (see the log above)");
    return -TGX_ERR_DB;
}

/* Only KEEPERS[0..N) get work; each checks in (online, fresh). */
static int bench_use_keepers(struct bench *b, const long *ids, int n) TGX_MUSTCHECK;
static int bench_use_keepers(struct bench *b, const long *ids, int n)
{
    char use[400], all[400], id[32];
    const char *v[2] = {use, all};

    bench_id_array(ids, n, use, sizeof use);
    bench_id_array(b->keepers, b->nkeepers, all, sizeof all);
    if (bench_sql(b, SQL_KEEPER_USE, 2, v) < 0)
        return -TGX_ERR_DB;
    if (!b->level_failed && bench_sql(b, SQL_KEEPER_LEVEL, 1, v) < 0) {
        bench_log("keeper_stats could not be levelled: dispatch may favour one keeper");
        b->level_failed = true;
    }
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%ld", ids[i]);
        v[0] = id;
        if (bench_sql(b, SQL_CHECKIN, 1, v) < 0)
            return -TGX_ERR_DB;
    }
    return 0;
}

/* Make schedules 1..M due at the server's clock, bypassing triggers; the instant goes to AT. */
static int bench_make_due(struct bench *b, long m, char *at, size_t atlen) TGX_MUSTCHECK;
static int bench_make_due(struct bench *b, long m, char *at, size_t atlen)
{
    char mbuf[32];
    const char *v[2] = {mbuf, at};

    if (bench_sql_text(b, "SELECT clock_timestamp()::text", at, atlen) < 0)
        return -TGX_ERR_DB;
    snprintf(mbuf, sizeof mbuf, "%ld", m);
    if (bench_sql(b, "SET session_replication_role = replica", 0, NULL) < 0)
        return -TGX_ERR_DB;
    if (bench_sql(b, SQL_MAKE_DUE, 2, v) < 0) {
        if (bench_sql(b, "RESET session_replication_role", 0, NULL) < 0)
            return -TGX_ERR_DB;
        return -TGX_ERR_DB;
    }
    return bench_sql(b, "RESET session_replication_role", 0, NULL);
}

/* VACUUM ANALYZE the database and CHECKPOINT, so that every cell starts from the same state. */
static int bench_settle(struct bench *b, bool checkpoint) TGX_MUSTCHECK;
static int bench_settle(struct bench *b, bool checkpoint)
{
    if (bench_sql(b, "VACUUM (ANALYZE)", 0, NULL) < 0)
        return -TGX_ERR_DB;
    if (checkpoint && bench_sql(b, "CHECKPOINT", 0, NULL) < 0)
        return -TGX_ERR_DB;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------------------------ */

/* Wait on CONN's socket for a notification on the LISTENed channel, or TIMEOUT_MS. */
static int bench_wait_notify(PGconn *conn, const char *payload, int timeout_ms, bool *notified) TGX_MUSTCHECK;
static int bench_wait_notify(PGconn *conn, const char *payload, int timeout_ms, bool *notified)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    PGnotify *n;

    *notified = false;
    /* notifications may have arrived with the last result */
    if (PQconsumeInput(conn) == 0)
        return -TGX_ERR_DB;
    while ((n = PQnotifies(conn)) != NULL) {
        if (!payload || strcmp(n->extra, payload) == 0)
            *notified = true;
        PQfreemem(n);
    }
    if (*notified)
        return 0;
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return -TGX_ERR_IO;
    if (PQconsumeInput(conn) == 0)
        return -TGX_ERR_DB;
    while ((n = PQnotifies(conn)) != NULL) {
        if (!payload || strcmp(n->extra, payload) == 0)
            *notified = true;
        PQfreemem(n);
    }
    return 0;
}

/* Drop the notifications CONN has received. */
static void bench_drain_notify(PGconn *conn)
{
    PGnotify *n;

    if (PQconsumeInput(conn) == 0)
        return;
    while ((n = PQnotifies(conn)) != NULL)
        PQfreemem(n);
}

static void bench_worker_fail(struct bench_worker *w)
{
    w->rc = -TGX_ERR_DB;
    atomic_store(&w->round->stop, true);
}

/* bench_exec of prepared statement STMT on the worker's connection, timed as STEP. */
static int bench_worker_exec(struct bench_worker *w, enum bench_step step, const char *stmt, int n,
                             const char *const *values, PGresult **out) TGX_MUSTCHECK;
static int bench_worker_exec(struct bench_worker *w, enum bench_step step, const char *stmt, int n,
                             const char *const *values, PGresult **out)
{
    double t0 = bench_clock();
    int rc = bench_exec(w->conn, stmt, NULL, n, values, out, w->err, sizeof w->err);

    w->calls.n[step]++;
    w->calls.secs[step] += bench_clock() - t0;
    return rc;
}

/* First column of the first row of a one-value result as an integer. */
static long bench_result_long(const PGresult *res)
{
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
        return 0;
    return strtol(PQgetvalue(res, 0, 0), NULL, 10);
}

/*
 * The roles' steps of a life-cycle pass, each of up to ROLE_BATCH: fire_due_schedules, then
 * dispatch_tasks, then (when the database has it) settle_tasks, the monitor role's settling of
 * the accepted results.  A task counts as done when its result is accepted; what the passes leave
 * unsettled the round settles before its clock stops (bench_round_settle).
 */
static int bench_life_roles(struct bench_worker *w, long *fired, long *dispatched,
                            long *settled) TGX_MUSTCHECK;
static int bench_life_roles(struct bench_worker *w, long *fired, long *dispatched, long *settled)
{
    struct bench_round *r = w->round;
    char batch[16];
    const char *v[2] = {batch, r->fire_now};
    PGresult *res;

    snprintf(batch, sizeof batch, "%d", r->role_batch);
    if (bench_worker_exec(w, STEP_FIRE, "fire", 2, v, &res) < 0)
        return -TGX_ERR_DB;
    *fired = bench_result_long(res);
    PQclear(res);

    if (bench_worker_exec(w, STEP_DISPATCH, "dispatch", 1, v, &res) < 0)
        return -TGX_ERR_DB;
    *dispatched = bench_result_long(res);
    PQclear(res);

    *settled = 0;
    if (w->round->b->have & HAVE_SETTLE) {
        if (bench_worker_exec(w, STEP_SETTLE, "settle", 1, v, &res) < 0)
            return -TGX_ERR_DB;
        *settled = bench_result_long(res);
        PQclear(res);
    }
    return 0;
}

/*
 * One pass of the life cycle; *PROGRESS says whether it found anything to do.  When the roles'
 * steps take a batch and the keeper's calls one task (ROW_LIFE_ONE), the worker is a keeper that
 * takes and submits one task per call while it has work assigned, and runs the roles' steps (as
 * tgxd's scheduler, dispatcher and monitor would, a batch at a time) when it has none; otherwise
 * every pass runs every step once.
 */
static int bench_life_pass(struct bench_worker *w, char *json, size_t jsonlen, bool *progress) TGX_MUSTCHECK;
static int bench_life_pass(struct bench_worker *w, char *json, size_t jsonlen, bool *progress)
{
    struct bench_round *r = w->round;
    bool roles_first = r->role_batch == r->batch;
    char batch[16], keeper[32];
    const char *v[4];
    PGresult *res;
    long fired = 0, dispatched = 0, settled = 0, ok = 0;
    int taken;

    snprintf(batch, sizeof batch, "%d", r->batch);
    snprintf(keeper, sizeof keeper, "%ld", w->keeper_id);

    if (roles_first && bench_life_roles(w, &fired, &dispatched, &settled) < 0)
        return -TGX_ERR_DB;

    v[0] = keeper;
    v[1] = batch;
    if (bench_worker_exec(w, STEP_TAKE, "take", 2, v, &res) < 0)
        return -TGX_ERR_DB;
    taken = PQntuples(res);

    if (taken > 0 && r->batch == 1) {
        /* one per call: submit_result per task */
        for (int i = 0; i < taken; i++) {
            PGresult *sres;

            v[0] = PQgetvalue(res, i, COL_TAKE_TASK_ID);
            v[1] = keeper;
            v[2] = PQgetvalue(res, i, COL_TAKE_LEASE_EPOCH);
            v[3] = BENCH_RESULT_JSON;
            if (bench_worker_exec(w, STEP_SUBMIT, "submit", 4, v, &sres) < 0) {
                PQclear(res);
                return -TGX_ERR_DB;
            }
            if (strcmp(PQgetvalue(sres, 0, 0), "succeeded") == 0) {
                ok++;
            } else {
                snprintf(w->err, sizeof w->err, "submit_result returned \"%s\", not succeeded",
                         PQgetvalue(sres, 0, 0));
                PQclear(sres);
                PQclear(res);
                return -TGX_ERR_STATE;
            }
            PQclear(sres);
        }
    } else if (taken > 0) {
        /* batched: one submit_results call */
        size_t len = 0;

        len += (size_t)snprintf(json + len, jsonlen - len, "[");
        for (int i = 0; i < taken && len < jsonlen; i++)
            len += (size_t)snprintf(json + len, jsonlen - len,
                                    "%s{\"task_id\": %s, \"lease_epoch\": %s, \"result\": %s}", i ? ", " : "",
                                    PQgetvalue(res, i, COL_TAKE_TASK_ID),
                                    PQgetvalue(res, i, COL_TAKE_LEASE_EPOCH), BENCH_RESULT_JSON);
        if (len + 2 >= jsonlen) {
            snprintf(w->err, sizeof w->err, "result batch does not fit its buffer");
            PQclear(res);
            return -TGX_ERR_INVAL;
        }
        snprintf(json + len, jsonlen - len, "]");
        v[0] = keeper;
        v[1] = json;
        PQclear(res);
        if (bench_worker_exec(w, STEP_SUBMIT, "submit_many", 2, v, &res) < 0)
            return -TGX_ERR_DB;
        ok = bench_result_long(res);
        if (ok != taken) {
            snprintf(w->err, sizeof w->err, "submit_results accepted %ld of %d results", ok, taken);
            PQclear(res);
            return -TGX_ERR_STATE;
        }
    }
    PQclear(res);
    w->done += ok;
    if (ok)
        atomic_fetch_add(&r->done, ok);
    if (!roles_first && taken == 0 && bench_life_roles(w, &fired, &dispatched, &settled) < 0)
        return -TGX_ERR_DB;
    *progress = fired > 0 || dispatched > 0 || settled > 0 || taken > 0;
    return 0;
}

static void bench_worker_life(struct bench_worker *w)
{
    struct bench_round *r = w->round;
    size_t jsonlen = (size_t)r->batch * (sizeof BENCH_RESULT_JSON + 96) + 16;
    char *json = malloc(jsonlen);
    double last_progress = bench_clock();
    long last_done = 0;
    char keeper[32];
    PGresult *res;

    if (!json) {
        snprintf(w->err, sizeof w->err, "out of memory");
        bench_worker_fail(w);
        return;
    }
    /*
     * An idle worker sleeps as a keeper does: until work is assigned to it (NOTIFY tgx_assigned
     * with its keeper_id) or its own timer.  Not on tgx_dispatch: every fire would wake every
     * worker, and the herd's empty passes would take the CPU from the busy ones.
     */
    snprintf(keeper, sizeof keeper, "%ld", w->keeper_id);
    if (bench_exec(w->conn, NULL, "LISTEN tgx_assigned", 0, NULL, &res, w->err, sizeof w->err) < 0) {
        free(json);
        bench_worker_fail(w);
        return;
    }
    PQclear(res);
    while (!atomic_load(&r->stop) && atomic_load(&r->done) < r->target) {
        bool progress = false, notified;

        if (bench_life_pass(w, json, jsonlen, &progress) < 0) {
            bench_worker_fail(w);
            break;
        }
        if (progress) {
            last_progress = bench_clock();
            continue;
        }
        w->idle++;
        /* a stall is the round's, not this worker's: its keeper may just get nothing */
        if (atomic_load(&r->done) != last_done) {
            last_done = atomic_load(&r->done);
            last_progress = bench_clock();
        } else if (bench_clock() - last_progress > BENCH_STALL_SECONDS) {
            snprintf(w->err, sizeof w->err, "no progress for %d s (%ld of %ld tasks succeeded)",
                     BENCH_STALL_SECONDS, (long)atomic_load(&r->done), r->target);
            bench_worker_fail(w);
            break;
        }
        /* nothing to do now: wait for an assignment, or BENCH_IDLE_WAIT_MS (tasks left pending,
         * e.g. by a dispatch that lost the keeper locks to another, are dispatched by the next pass
         * of any worker) */
        if (bench_wait_notify(w->conn, keeper, BENCH_IDLE_WAIT_MS, &notified) < 0) {
            bench_conn_error(w->conn, "wait", w->err, sizeof w->err);
            bench_worker_fail(w);
            break;
        }
    }
    if (bench_exec(w->conn, NULL, "UNLISTEN *", 0, NULL, &res, w->err, sizeof w->err) == 0)
        PQclear(res);
    /* drop what arrived meanwhile, so that the next user of the connection starts clean */
    bench_drain_notify(w->conn);
    free(json);
}

static void bench_worker_raw(struct bench_worker *w)
{
    struct bench_round *r = w->round;
    char batch[16];
    const char *v[1] = {batch};
    PGresult *res;

    bool notify = r->kind == KIND_RAW_CLAIM_COMPLETE_NOTIFY;
    const char *claim = r->kind == KIND_RAW_DELETE ? "raw_claim_delete"
                        : notify                   ? "raw_claim_notify"
                                                   : "raw_claim";

    snprintf(batch, sizeof batch, "%d", r->kind == KIND_RAW_DELETE ? r->batch : 1);
    while (!atomic_load(&r->stop)) {
        int n;

        if (bench_worker_exec(w, STEP_CLAIM, claim, 1, v, &res) < 0) {
            bench_worker_fail(w);
            return;
        }
        n = PQntuples(res);
        if (n == 0) {
            PQclear(res);
            return; /* the queue is empty (or its last rows are locked by the others) */
        }
        if (r->kind != KIND_RAW_DELETE) {
            const char *id[1] = {PQgetvalue(res, 0, COL_RAW_ID)};
            PGresult *dres;

            if (bench_worker_exec(w, STEP_COMPLETE, notify ? "raw_complete_notify" : "raw_complete", 1, id,
                                  &dres) < 0) {
                PQclear(res);
                bench_worker_fail(w);
                return;
            }
            PQclear(dres);
        }
        PQclear(res);
        w->done += n;
        atomic_fetch_add(&r->done, n);
    }
}

static void *bench_worker_main(void *arg)
{
    struct bench_worker *w = arg;

    pthread_barrier_wait(&w->round->start);
    w->t_start = bench_clock();
    if (w->round->kind == KIND_LIFE)
        bench_worker_life(w);
    else
        bench_worker_raw(w);
    w->t_end = bench_clock();
    return NULL;
}

/* ------------------------------------------------------------------------------------------
 * Rounds and cells
 * ------------------------------------------------------------------------------------------ */

/*
 * The failed round's cleanup: cancel its unfinished tasks (after FIRST) and drop its settlements,
 * so that the next round has no work of this one to count or to settle.
 */
static void bench_round_cancel(struct bench *b, const char *const *first)
{
    if (bench_sql(b, SQL_ROUND_CANCEL, 1, first) < 0)
        bench_log("could not cancel the unfinished tasks of the failed round");
    if ((b->have & HAVE_SETTLE) && bench_sql(b, SQL_SETTLE_DROP, 1, first) < 0)
        bench_log("could not drop the settlements of the failed round");
}

/*
 * The end of a life-cycle round (HAVE_SETTLE): the main connection settles, BENCH_SETTLE_TAIL at
 * a time, what the workers' passes left, until settle_tasks returns 0.  The calls count in CALLS.
 */
static int bench_round_settle(struct bench *b, struct bench_calls *calls) TGX_MUSTCHECK;
static int bench_round_settle(struct bench *b, struct bench_calls *calls)
{
    char batch[16], err[BENCH_ERR_LEN];
    const char *v[1] = {batch};
    PGresult *res;
    long settled;

    snprintf(batch, sizeof batch, "%d", BENCH_SETTLE_TAIL);
    do {
        double t = bench_clock();

        if (bench_exec(b->main, "settle", NULL, 1, v, &res, err, sizeof err) < 0) {
            bench_log("%s", err);
            return -TGX_ERR_DB;
        }
        calls->n[STEP_SETTLE]++;
        calls->secs[STEP_SETTLE] += bench_clock() - t;
        settled = bench_result_long(res);
        PQclear(res);
    } while (settled > 0);
    return 0;
}

/*
 * One round: prepare M tasks (rows), run NCONN workers until they are all done.  *RATE gets
 * tasks per second of wall time (first start to last end; for the life cycle, to the end of
 * settling every task), *WAL the WAL bytes and *CPU the backends' CPU milliseconds per task (NAN:
 * not measurable), *CALLS the time per statement; or the call fails.
 */
static int bench_round_run(struct bench *b, enum bench_kind kind, int batch, int role_batch, int nconn,
                           long m, double *rate, double *wal, double *cpu,
                           struct bench_calls *calls) TGX_MUSTCHECK;
static int bench_round_run(struct bench *b, enum bench_kind kind, int batch, int role_batch, int nconn,
                           long m, double *rate, double *wal, double *cpu, struct bench_calls *calls)
{
    struct bench_round r;
    struct bench_worker w[BENCH_MAX_CONNS];
    pthread_t th[BENCH_MAX_CONNS];
    long first_task = 0, total = 0, wal_bytes = 0;
    double t0 = 0, t1 = 0, cpu_start, cpu_end;
    char wal_start[64];
    int rc = 0;

    memset(&r, 0, sizeof r);
    memset(calls, 0, sizeof *calls);
    r.b = b;
    r.kind = kind;
    r.batch = batch;
    r.role_batch = role_batch;
    r.target = m;
    atomic_init(&r.done, 0);
    atomic_init(&r.stop, false);

    if (kind == KIND_LIFE) {
        long ids[BENCH_MAX_CONNS];
        int nk = b->one_keeper ? 1 : nconn;

        for (int i = 0; i < nk; i++)
            ids[i] = b->keepers[i];
        if (bench_use_keepers(b, ids, nk) < 0 || bench_sql_long(b, SQL_MAX_TASK, 0, NULL, &first_task) < 0 ||
            bench_make_due(b, m, r.fire_now, sizeof r.fire_now) < 0)
            return -TGX_ERR_DB;
    } else {
        char mbuf[32];
        const char *v[1] = {mbuf};

        snprintf(mbuf, sizeof mbuf, "%ld", m);
        if (bench_sql(b, "TRUNCATE bench_raw", 0, NULL) < 0 || bench_sql(b, SQL_RAW_FILL, 1, v) < 0 ||
            bench_sql(b, "VACUUM (ANALYZE) bench_raw", 0, NULL) < 0)
            return -TGX_ERR_DB;
    }

    /* everything the round writes from here on is its own (the other connections are idle) */
    if (bench_sql_text(b, SQL_WAL_POS, wal_start, sizeof wal_start) < 0)
        return -TGX_ERR_DB;
    cpu_start = bench_round_cpu(b, nconn);
    pthread_barrier_init(&r.start, NULL, (unsigned)nconn);
    for (int i = 0; i < nconn; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].round = &r;
        w[i].conn = b->pool[i];
        w[i].keeper_id = kind == KIND_LIFE ? b->keepers[b->one_keeper ? 0 : i] : 0;
        if (pthread_create(&th[i], NULL, bench_worker_main, &w[i]) != 0)
            bench_die("could not start a worker thread");
    }
    for (int i = 0; i < nconn; i++) {
        pthread_join(th[i], NULL);
        if (i == 0 || w[i].t_start < t0)
            t0 = w[i].t_start;
        if (w[i].t_end > t1)
            t1 = w[i].t_end;
        total += w[i].done;
        for (int k = 0; k < STEP__COUNT; k++) {
            calls->n[k] += w[i].calls.n[k];
            calls->secs[k] += w[i].calls.secs[k];
        }
        calls->idle += w[i].idle;
        if (w[i].rc < 0) {
            bench_log("worker %d: %s", i + 1, w[i].err);
            rc = w[i].rc;
        }
    }
    pthread_barrier_destroy(&r.start);
    /* the life cycle ends when every accepted result is settled: that tail is in the time */
    if (kind == KIND_LIFE && rc == 0 && (b->have & HAVE_SETTLE)) {
        rc = bench_round_settle(b, calls);
        t1 = bench_clock();
    }
    cpu_end = bench_round_cpu(b, nconn);

    if (kind == KIND_LIFE) {
        char first[32], err[BENCH_ERR_LEN];
        const char *v[1] = {first};
        PGresult *res;

        snprintf(first, sizeof first, "%ld", first_task);
        if (rc < 0) {
            /* leave no work behind for the next round to count */
            bench_round_cancel(b, v);
            return rc;
        }
        if (bench_exec(b->main, NULL, SQL_ROUND_CHECK, 1, v, &res, err, sizeof err) < 0) {
            bench_log("%s", err);
            return -TGX_ERR_DB;
        }
        if (strtol(PQgetvalue(res, 0, COL_CHECK_SUCCEEDED), NULL, 10) != m ||
            strtol(PQgetvalue(res, 0, COL_CHECK_ALL), NULL, 10) != m) {
            bench_log("round of %ld tasks: %s tasks created, %s succeeded", m,
                      PQgetvalue(res, 0, COL_CHECK_ALL), PQgetvalue(res, 0, COL_CHECK_SUCCEEDED));
            rc = -TGX_ERR_STATE;
        }
        PQclear(res);
        if (rc == 0 && (b->have & HAVE_SETTLE)) {
            long left = 0;

            if (bench_sql_long(b, SQL_SETTLE_LEFT, 1, v, &left) < 0) {
                rc = -TGX_ERR_DB;
            } else if (left != 0) {
                bench_log("round of %ld tasks: %ld settlements left after settling", m, left);
                rc = -TGX_ERR_STATE;
            }
        }
        if (rc < 0) {
            bench_round_cancel(b, v);
            return rc;
        }
    } else if (rc < 0) {
        return rc;
    } else if (total != m) {
        bench_log("raw round of %ld rows completed %ld", m, total);
        return -TGX_ERR_STATE;
    }
    {
        const char *v[1] = {wal_start};

        if (bench_sql_long(b, SQL_WAL_SINCE, 1, v, &wal_bytes) < 0)
            return -TGX_ERR_DB;
    }
    *rate = t1 > t0 ? (double)total / (t1 - t0) : 0;
    *wal = total > 0 ? (double)wal_bytes / (double)total : NAN;
    *cpu = total > 0 && cpu_start >= 0 && cpu_end >= cpu_start
               ? 1000.0 * (cpu_end - cpu_start) / (double)total
               : NAN;
    return 0;
}

/* One log line: mean milliseconds per call of each statement of a round. */
static void bench_log_calls(const struct bench_calls *calls)
{
    char line[400];
    size_t len = 0;

    line[0] = '\0';
    for (int k = 0; k < STEP__COUNT && len < sizeof line; k++)
        if (calls->n[k] > 0)
            len += (size_t)snprintf(line + len, sizeof line - len, " %s %.2f ms (%ld)", bench_step_names[k],
                                    1000.0 * calls->secs[k] / (double)calls->n[k], calls->n[k]);
    if (calls->idle)
        bench_log("    per call:%s; %ld idle passes", line, calls->idle);
    else
        bench_log("    per call:%s", line);
}

/*
 * A cell's calibration round: *M tasks (rows); *M 0: as many as the calibration round's rate
 * does in ~cell_seconds, stored in *M (so that a twin cell can run rounds of the same size).
 * Not counted.  0 (also when the row cannot run here: *M stays 0), or a negative enum tgx_err
 * when the round failed.
 */
static int bench_cell_calibrate(struct bench *b, enum bench_row row, int ci, long *m_io) TGX_MUSTCHECK;
static int bench_cell_calibrate(struct bench *b, enum bench_row row, int ci, long *m_io)
{
    const struct bench_row_spec *spec = &bench_rows[row];
    int nconn = b->cfg.conns[ci];
    int batch = spec->batched ? b->cfg.batch : 1;
    int role_batch = spec->roles_batched ? b->cfg.batch : 1;
    struct bench_calls calls;
    long m_cal, m, m_max;
    double rate = 0, wal = NAN, cpu = NAN;
    int rc;

    if (spec->kind == KIND_LIFE) {
        if (!b->life_ok || !(b->have & (spec->batched ? HAVE_SUBMIT_MANY : HAVE_SUBMIT)))
            return 0;
        m_cal = spec->batched ? 200L * nconn : spec->roles_batched ? 100L * nconn : 30L * nconn;
        m_max = b->cfg.jobs;
        /*
         * No TRUNCATE between cells: the ledger grows with the bench's own tasks, as it would.
         * (A freshly emptied tgx.task_attempts makes the planner pick sequential scans that a
         * growing table then punishes; that is a property of a fresh install, not of history.)
         */
    } else {
        m_cal = spec->batched ? 5000L * nconn : 200L * nconn;
        m_max = 5000000;
    }
    if (m_cal > m_max)
        m_cal = m_max;
    if (bench_settle(b, true) < 0)
        return -TGX_ERR_DB;
    rc = bench_round_run(b, spec->kind, batch, role_batch, nconn, m_cal, &rate, &wal, &cpu, &calls);
    if (rc < 0)
        return rc;
    m = *m_io > 0 ? *m_io : (long)(rate * b->cfg.cell_seconds);
    if (m < m_cal)
        m = m_cal;
    if (m > m_max)
        m = m_max;
    *m_io = m;
    return 0;
}

/*
 * One measured round of M tasks (rows) of a cell, its I-th.  b->rate keeps the best of every
 * round so far (NAN before the first, and when the row cannot run here), b->wal and b->cpu the
 * least.  0, or a negative enum tgx_err when the round failed.
 */
static int bench_cell_round(struct bench *b, enum bench_row row, int ci, long m, int i) TGX_MUSTCHECK;
static int bench_cell_round(struct bench *b, enum bench_row row, int ci, long m, int i)
{
    const struct bench_row_spec *spec = &bench_rows[row];
    int nconn = b->cfg.conns[ci];
    struct bench_calls calls;
    double rate = 0, wal = NAN, cpu = NAN;
    int rc;

    if (m == 0) /* the calibration found the row cannot run here */
        return 0;
    if (bench_settle(b, false) < 0)
        return -TGX_ERR_DB;
    rc = bench_round_run(b, spec->kind, spec->batched ? b->cfg.batch : 1,
                         spec->roles_batched ? b->cfg.batch : 1, nconn, m, &rate, &wal, &cpu, &calls);
    if (rc < 0)
        return rc;
    bench_log("  %d conn: round %d of %ld: %.0f/s, %.0f bytes of WAL and %.3f ms of backend CPU each", nconn,
              i + 1, m, rate, wal, cpu);
    bench_log_calls(&calls);
    if (isnan(b->rate[row][ci]) || rate > b->rate[row][ci])
        b->rate[row][ci] = rate;
    if (b->nrounds[row][ci] < BENCH_MAX_PASSES * BENCH_PAIR_ROUNDS)
        b->round_rate[row][ci][b->nrounds[row][ci]++] = rate;
    /* the least: the first round after the cell's checkpoint writes a full-page image of
     * every page it touches first, the next one mostly not */
    if (isnan(b->wal[row][ci]) || wal < b->wal[row][ci])
        b->wal[row][ci] = wal;
    if (isnan(b->cpu[row][ci]) || cpu < b->cpu[row][ci])
        b->cpu[row][ci] = cpu;
    return 0;
}

/*
 * One cell of the table, one pass: a calibration round, then the best of BENCH_ROUNDS rounds:
 * the machine may be shared, and a round that another process slowed down says nothing about
 * the SQL.
 */
static int bench_cell(struct bench *b, enum bench_row row, int ci) TGX_MUSTCHECK;
static int bench_cell(struct bench *b, enum bench_row row, int ci)
{
    long m = 0;
    int rc = bench_cell_calibrate(b, row, ci, &m);

    for (int i = 0; rc == 0 && i < BENCH_ROUNDS; i++)
        rc = bench_cell_round(b, row, ci, m, i);
    return rc;
}

static const char *bench_row_name(enum bench_row row)
{
    switch (row) {
    case ROW_LIFE_ONE:
        return "life cycle, 1 task per keeper call, roles batched";
    case ROW_LIFE_ONE_ALL:
        return "life cycle, every step 1 task per call";
    case ROW_LIFE_BATCH:
        return "life cycle, batched";
    case ROW_RAW_DELETE_ONE:
        return "raw claim-and-delete, 1 per transaction";
    case ROW_RAW_DELETE_BATCH:
        return "raw claim-and-delete, batched";
    case ROW_RAW_CLAIM_COMPLETE:
        return "raw claim then complete, 1 per transaction";
    case ROW_RAW_CLAIM_COMPLETE_NOTIFY:
        return "raw claim then complete with NOTIFY, 1 per transaction";
    case ROW_HIST_ONE:
        return "life cycle with history, 1 task per keeper call, roles batched";
    case ROW_HIST_BATCH:
        return "life cycle with history, batched";
    case ROW_COPY_ONE:
        return "life cycle without history (the copy), 1 task per keeper call, roles batched";
    case ROW_COPY_BATCH:
        return "life cycle without history (the copy), batched";
    case ROW__COUNT:
        break;
    }
    return "?";
}

/* ROW failed at connection count index CI: what failed with fewer connections fails with more. */
static void bench_row_failed(struct bench *b, enum bench_row row, int ci)
{
    bench_log("  %d conn failed: the rest of this row prints n/a", b->cfg.conns[ci]);
    b->rate[row][ci] = NAN;
    snprintf(b->row_note[row], sizeof b->row_note[row], "failed at %d connections", b->cfg.conns[ci]);
}

static void bench_run_row(struct bench *b, enum bench_row row)
{
    if (b->row_note[row][0])
        return; /* it failed in an earlier pass */
    bench_log("%s", bench_row_name(row));
    for (int ci = 0; ci < b->cfg.nconns; ci++) {
        if (bench_cell(b, row, ci) < 0) {
            bench_row_failed(b, row, ci);
            break;
        }
    }
}

/* Swap the copy's connections with the ones the cells use (a second call swaps them back). */
static void bench_swap_db(struct bench *b)
{
    PGconn *t = b->main;

    b->main = b->copy_main;
    b->copy_main = t;
    for (int i = 0; i < b->npool; i++) {
        t = b->pool[i];
        b->pool[i] = b->copy_pool[i];
        b->copy_pool[i] = t;
    }
}

/*
 * Part 4's rows show the median of their rounds, not the best: their rounds ran in turn with
 * the twin's, so a slow spell of the machine falls on both sides, and the median is not moved
 * by one fast or slow round of one side, which the best is.
 */
static void bench_use_median(struct bench *b, enum bench_row row)
{
    for (int ci = 0; ci < b->cfg.nconns; ci++) {
        double *r = b->round_rate[row][ci];
        int n = b->nrounds[row][ci];

        if (n == 0)
            continue;
        qsort(r, (size_t)n, sizeof *r, bench_cmp_double);
        b->rate[row][ci] = n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
    }
}

/*
 * Part 4, one pass of a row with history (HIST_ROW) and its baseline (COPY_ROW): per number of
 * connections a calibration round of each (the history's of the copy's size), then
 * BENCH_PAIR_ROUNDS measured rounds of each in turn, copy, history, copy, history ...: a slow
 * spell of the (shared) machine then falls on both sides of a ratio, not on one cell of it.
 */
static void bench_run_pair(struct bench *b, enum bench_row copy_row, enum bench_row hist_row)
{
    if (b->row_note[copy_row][0] || b->row_note[hist_row][0])
        return;
    bench_log("%s, its rounds in turn with the same on the copy without history", bench_row_name(hist_row));
    for (int ci = 0; ci < b->cfg.nconns; ci++) {
        long m = 0; /* the copy's rounds' size, the history's too */
        enum bench_row failed = copy_row;
        int rc;

        bench_swap_db(b);
        rc = bench_cell_calibrate(b, copy_row, ci, &m);
        bench_swap_db(b);
        if (rc == 0) {
            failed = hist_row;
            rc = bench_cell_calibrate(b, hist_row, ci, &m);
        }
        for (int i = 0; rc == 0 && i < BENCH_PAIR_ROUNDS; i++) {
            bench_log("  without history (the copy):");
            bench_swap_db(b);
            failed = copy_row;
            rc = bench_cell_round(b, copy_row, ci, m, i);
            bench_swap_db(b);
            if (rc == 0) {
                bench_log("  with history:");
                failed = hist_row;
                rc = bench_cell_round(b, hist_row, ci, m, i);
            }
        }
        if (rc < 0) {
            bench_row_failed(b, failed, ci);
            break;
        }
    }
}

/* *MAIN and the b->npool connections of POOL to database DBNAME (NULL: the URL's), statements prepared. */
static void bench_connect_set(struct bench *b, const char *dbname, PGconn **main, PGconn **pool)
{
    *main = bench_connect_db(b->cfg.url, dbname);
    bench_prepare(b, *main);
    for (int i = 0; i < b->npool; i++) {
        pool[i] = bench_connect_db(b->cfg.url, dbname);
        bench_prepare(b, pool[i]);
    }
}

/* Close MAIN and the b->npool connections of POOL. */
static void bench_close_set(struct bench *b, PGconn *main, PGconn **pool)
{
    for (int i = 0; i < b->npool; i++)
        PQfinish(pool[i]);
    PQfinish(main);
}

/*
 * Part 4's baseline: a copy of the database as it is before the history is seeded (CREATE
 * DATABASE ... TEMPLATE: the same jobs, schedules, keepers and ledger), with its own connections.
 * The template may have no other session, so the original's connections are made again.
 */
static int bench_copy_db(struct bench *b) TGX_MUSTCHECK;
static int bench_copy_db(struct bench *b)
{
    char db[64], sql[400], err[BENCH_ERR_LEN];
    char *src = NULL, *dst = NULL;
    PGconn *adm;
    PGresult *res;
    int rc = 0;

    snprintf(db, sizeof db, "%s", PQdb(b->main));
    snprintf(b->copy_db, sizeof b->copy_db, "%s_nohist", db);
    bench_log("copying database %s to %s (part 4's baseline without history)", db, b->copy_db);
    bench_close_set(b, b->main, b->pool);

    adm = bench_connect_db(b->cfg.url, "postgres");
    src = PQescapeIdentifier(adm, db, strlen(db));
    dst = PQescapeIdentifier(adm, b->copy_db, strlen(b->copy_db));
    if (!src || !dst)
        bench_die("out of memory");
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", dst);
    if (bench_exec(adm, NULL, sql, 0, NULL, &res, err, sizeof err) == 0) {
        PQclear(res);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", dst, src);
        if (bench_exec(adm, NULL, sql, 0, NULL, &res, err, sizeof err) == 0)
            PQclear(res);
        else
            rc = -TGX_ERR_DB;
    } else {
        rc = -TGX_ERR_DB;
    }
    if (rc < 0)
        bench_log("%s", err);
    PQfreemem(src);
    PQfreemem(dst);
    PQfinish(adm);

    bench_connect_set(b, NULL, &b->main, b->pool);
    if (rc < 0) {
        b->copy_db[0] = '\0';
        return rc;
    }
    bench_connect_set(b, b->copy_db, &b->copy_main, b->copy_pool);
    return 0;
}

/* Close the copy's connections and drop it. */
static void bench_drop_copy(struct bench *b)
{
    char sql[200], err[BENCH_ERR_LEN];
    char *dst;
    PGresult *res;

    if (!b->copy_main)
        return;
    bench_close_set(b, b->copy_main, b->copy_pool);
    b->copy_main = NULL;
    dst = PQescapeIdentifier(b->main, b->copy_db, strlen(b->copy_db));
    if (!dst)
        bench_die("out of memory");
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", dst);
    PQfreemem(dst);
    if (bench_exec(b->main, NULL, sql, 0, NULL, &res, err, sizeof err) == 0)
        PQclear(res);
    else
        bench_log("%s", err);
}

/* Seed the ledger with cfg.history finished tasks, then VACUUM ANALYZE. */
static int bench_seed_history(struct bench *b) TGX_MUSTCHECK;
static int bench_seed_history(struct bench *b)
{
    char n[32], jobs[32], keeper[32];
    const char *v[3] = {n, jobs, keeper};
    double t0 = bench_clock();

    long first = 0;
    int rc;

    snprintf(n, sizeof n, "%ld", b->cfg.history);
    snprintf(jobs, sizeof jobs, "%ld", b->cfg.jobs);
    snprintf(keeper, sizeof keeper, "%ld", b->keepers[0]);
    if (bench_sql_long(b, SQL_MAX_TASK, 0, NULL, &first) < 0)
        return -TGX_ERR_DB;
    bench_log("seeding %ld finished tasks%s (one INSERT ... SELECT generate_series)", b->cfg.history,
              b->cfg.history_attempts ? " and their attempts" : "");
    /* replica: no FK checks per row, no triggers (finished tasks change no keeper's load) */
    if (bench_sql(b, "SET session_replication_role = replica", 0, NULL) < 0)
        return -TGX_ERR_DB;
    rc = bench_sql(b, SQL_SEED_HISTORY, 3, v);
    if (rc == 0 && b->cfg.history_attempts) {
        v[0] = n;
        snprintf(n, sizeof n, "%ld", first);
        rc = bench_sql(b, SQL_SEED_ATTEMPTS, 1, v);
    }
    if (bench_sql(b, "RESET session_replication_role", 0, NULL) < 0 || rc < 0)
        return -TGX_ERR_DB;
    bench_log("seeded in %.0f s; VACUUM ANALYZE", bench_clock() - t0);
    if (bench_sql(b, "VACUUM (ANALYZE) tgx.tasks, tgx.task_attempts", 0, NULL) < 0)
        return -TGX_ERR_DB;
    bench_log("history ready after %.0f s", bench_clock() - t0);
    b->seeded = b->cfg.history;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Wake-up latency
 * ------------------------------------------------------------------------------------------ */

/* State shared by the driver (main thread), the taker and the dispatcher. */
struct bench_lat {
    struct bench *b;                   /* borrowed */
    const struct bench_lat_kind *kind; /* what it runs */
    long keeper_id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int seq;                 /* sample number the driver waits for */
    int taken_seq;           /* last sample the taker took and submitted */
    double taken_at;         /* monotonic instant keeper_take returned the row */
    double woke_at;          /* ... and the taker woke before calling it */
    int dispatched_seq;      /* last sample the dispatcher assigned */
    double dispatch_woke_at; /* its wake, and its dispatch_tasks call returned */
    double dispatched_at;
    bool by_timer;               /* the take came from the fallback timer */
    long timer_dispatches;       /* dispatcher passes with work that came from its timer */
    atomic_bool stop;            /* the taker ends */
    atomic_bool stop_dispatcher; /* the dispatcher ends */
    char err[BENCH_ERR_LEN];     /* first failure of a thread */
    atomic_bool failed;
};

static void bench_lat_fail(struct bench_lat *l, const char *err)
{
    pthread_mutex_lock(&l->mu);
    if (!atomic_load(&l->failed))
        snprintf(l->err, sizeof l->err, "%s", err);
    atomic_store(&l->failed, true);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* LISTEN on CHANNEL (a constant of a struct bench_lat_kind). */
static int bench_listen(PGconn *conn, const char *channel, char *err, size_t errlen) TGX_MUSTCHECK;
static int bench_listen(PGconn *conn, const char *channel, char *err, size_t errlen)
{
    char sql[96];
    PGresult *res;

    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    if (bench_exec(conn, NULL, sql, 0, NULL, &res, err, errlen) < 0)
        return -TGX_ERR_DB;
    PQclear(res);
    return 0;
}

/*
 * The taker: a keeper LISTENing on the kind's assigned channel (tgx_assigned); on wake it calls
 * its take (keeper_take), then its submit per task taken.
 */
static void *bench_lat_taker(void *arg)
{
    struct bench_lat *l = arg;
    const struct bench_lat_kind *k = l->kind;
    PGconn *conn = l->b->pool[0];
    char keeper[32], err[BENCH_ERR_LEN];
    PGresult *res;

    snprintf(keeper, sizeof keeper, "%ld", l->keeper_id);
    if (bench_listen(conn, k->assigned_channel, err, sizeof err) < 0) {
        bench_lat_fail(l, err);
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        const char *v[4] = {keeper, "10"};
        bool notified;
        double woke, at;
        int n;

        if (bench_wait_notify(conn, k->keeper_payload ? keeper : NULL, BENCH_LAT_FALLBACK_MS, &notified) <
            0) {
            bench_conn_error(conn, "taker wait", err, sizeof err);
            bench_lat_fail(l, err);
            break;
        }
        if (atomic_load(&l->stop))
            break;
        woke = bench_clock();
        if (bench_exec(conn, k->take, NULL, 2, v, &res, err, sizeof err) < 0) {
            bench_lat_fail(l, err);
            break;
        }
        at = bench_clock();
        n = PQntuples(res);
        for (int i = 0; i < n && k->submit; i++) {
            PGresult *sres;

            v[0] = PQgetvalue(res, i, COL_TAKE_TASK_ID);
            v[1] = keeper;
            v[2] = PQgetvalue(res, i, COL_TAKE_LEASE_EPOCH);
            v[3] = BENCH_RESULT_JSON;
            if (bench_exec(conn, k->submit, NULL, 4, v, &sres, err, sizeof err) < 0) {
                bench_lat_fail(l, err);
                break;
            }
            PQclear(sres);
        }
        PQclear(res);
        if (n > 0) {
            pthread_mutex_lock(&l->mu);
            l->taken_seq = l->seq;
            l->taken_at = at;
            l->woke_at = woke;
            l->by_timer = !notified;
            pthread_cond_broadcast(&l->cv);
            pthread_mutex_unlock(&l->mu);
        }
    }
    if (bench_exec(conn, NULL, "UNLISTEN *", 0, NULL, &res, err, sizeof err) == 0)
        PQclear(res);
    return NULL;
}

/*
 * The dispatcher role in miniature: LISTEN on the kind's due channel (tgx_dispatch); on wake call
 * its relay (dispatch_tasks) until nothing is left.
 */
static void *bench_lat_dispatcher(void *arg)
{
    struct bench_lat *l = arg;
    PGconn *conn = l->b->pool[1];
    char err[BENCH_ERR_LEN];
    PGresult *res;

    if (bench_listen(conn, l->kind->due_channel, err, sizeof err) < 0) {
        bench_lat_fail(l, err);
        return NULL;
    }
    while (!atomic_load(&l->stop_dispatcher)) {
        const char *v[1] = {"100"};
        bool notified;
        double woke;
        long n;

        if (bench_wait_notify(conn, NULL, BENCH_LAT_FALLBACK_MS, &notified) < 0) {
            bench_conn_error(conn, "dispatcher wait", err, sizeof err);
            bench_lat_fail(l, err);
            break;
        }
        woke = bench_clock();
        do {
            if (bench_exec(conn, l->kind->relay, NULL, 1, v, &res, err, sizeof err) < 0) {
                bench_lat_fail(l, err);
                goto out;
            }
            n = bench_result_long(res);
            PQclear(res);
            if (n > 0) {
                pthread_mutex_lock(&l->mu);
                l->dispatched_seq = l->seq;
                l->dispatch_woke_at = woke;
                l->dispatched_at = bench_clock();
                l->timer_dispatches += !notified;
                pthread_cond_broadcast(&l->cv);
                pthread_mutex_unlock(&l->mu);
            }
        } while (n >= 100);
    }
out:
    if (bench_exec(conn, NULL, "UNLISTEN *", 0, NULL, &res, err, sizeof err) == 0)
        PQclear(res);
    return NULL;
}

/* Run the prepared statement NAME on the main connection; its one integer value into *OUT. */
static int bench_main_long(struct bench *b, const char *name, int n, const char *const *v,
                           long *out) TGX_MUSTCHECK;
static int bench_main_long(struct bench *b, const char *name, int n, const char *const *v, long *out)
{
    char err[BENCH_ERR_LEN];
    PGresult *res;

    if (bench_exec(b->main, name, NULL, n, v, &res, err, sizeof err) < 0) {
        bench_log("%s", err);
        return -TGX_ERR_DB;
    }
    *out = bench_result_long(res);
    PQclear(res);
    return 0;
}

/* Sort the N values of V; their p50 and p99 (the nearest-rank method). */
static void bench_p50_p99(double *v, int n, double *p50, double *p99)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    *p50 = v[(int)ceil(0.50 * n) - 1];
    *p99 = v[(int)ceil(0.99 * n) - 1];
}

/*
 * One latency row of L's kind.  VIA_DISPATCHER: the driver's fire_due_schedules commit makes the
 * task due and a dispatcher thread waiting on tgx_dispatch assigns it; else the driver fires (not
 * timed) and its dispatch_tasks commit makes the task assigned.  From that commit (the driver's
 * call returned) to keeper_take returning the row in the taker waiting on tgx_assigned; and the
 * hops of the way (enum bench_hop).  (The names are the life cycle's; the kind says what runs.)
 */
static void bench_latency_row(struct bench *b, struct bench_lat *l, bool via_dispatcher,
                              struct bench_latency *out)
{
    size_t cap = (size_t)b->cfg.lat_samples;
    const struct bench_lat_kind *k = l->kind;
    double *ms = calloc(cap, sizeof *ms), *hop[BENCH_HOPS];
    pthread_t disp;
    int n = 0;

    out->hop_names = k->hop_names;

    for (int h = 0; h < BENCH_HOPS; h++) {
        hop[h] = calloc(cap, sizeof *hop[h]);
        if (!hop[h])
            bench_die("out of memory");
        out->hop_measured[h] = via_dispatcher || h == HOP_TO_TAKER || h == HOP_TAKE;
    }
    if (!ms)
        bench_die("out of memory");
    if (via_dispatcher && pthread_create(&disp, NULL, bench_lat_dispatcher, l) != 0)
        bench_die("could not start the dispatcher thread");
    bench_sleep_us(50000); /* let the waiters LISTEN */
    for (int i = 0; i < b->cfg.lat_samples && !atomic_load(&l->failed); i++) {
        char at[64], seq_err[BENCH_ERR_LEN];
        const char *one[1] = {"1"};
        long fired = 0, dispatched = 0;
        double t0, deadline;
        bool taken;

        if (k->make_due && bench_make_due(b, 1, at, sizeof at) < 0)
            break;
        pthread_mutex_lock(&l->mu);
        l->seq = i + 1;
        pthread_mutex_unlock(&l->mu);
        /* a quiet moment, so the waiters are asleep in poll() */
        bench_sleep_us(2000 + rand() % 4000);
        if (bench_main_long(b, k->due, 1, one, &fired) < 0)
            break;
        t0 = bench_clock();
        if (fired != 1) {
            bench_log("%s made %ld tasks due, expected 1", k->due, fired);
            break;
        }
        if (!via_dispatcher) {
            bench_sleep_us(1000);
            if (bench_main_long(b, k->relay, 1, one, &dispatched) < 0)
                break;
            t0 = bench_clock();
            if (dispatched != 1) {
                bench_log("%s assigned %ld tasks, expected 1", k->relay, dispatched);
                break;
            }
        }
        deadline = t0 + BENCH_LAT_WAIT_MS / 1000.0;
        pthread_mutex_lock(&l->mu);
        /* taken, and recorded by the dispatcher (its NOTIFY may reach the taker before its reply) */
        while ((l->taken_seq != i + 1 || (via_dispatcher && l->dispatched_seq != i + 1)) &&
               !atomic_load(&l->failed) && bench_clock() < deadline) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 2000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        }
        taken = l->taken_seq == i + 1 && (!via_dispatcher || l->dispatched_seq == i + 1);
        if (taken) {
            double assigned_at = via_dispatcher ? l->dispatched_at : t0;

            if (via_dispatcher) {
                hop[HOP_TO_DISPATCHER][n] = (l->dispatch_woke_at - t0) * 1000.0;
                hop[HOP_DISPATCH][n] = (l->dispatched_at - l->dispatch_woke_at) * 1000.0;
            }
            hop[HOP_TO_TAKER][n] = (l->woke_at - assigned_at) * 1000.0;
            hop[HOP_TAKE][n] = (l->taken_at - l->woke_at) * 1000.0;
            ms[n++] = (l->taken_at - t0) * 1000.0;
            out->timer_wakes += l->by_timer;
        }
        pthread_mutex_unlock(&l->mu);
        if (!taken) {
            out->lost++;
            snprintf(seq_err, sizeof seq_err, "sample %d not taken within %d ms", i + 1, BENCH_LAT_WAIT_MS);
            bench_log("%s", seq_err);
            if (out->lost > 5)
                break;
        }
    }
    if (via_dispatcher) {
        atomic_store(&l->stop_dispatcher, true);
        pthread_join(disp, NULL);
        out->timer_wakes += (int)l->timer_dispatches;
    }
    if (atomic_load(&l->failed))
        bench_log("latency: %s", l->err);
    if (n > 0) {
        out->measured = true;
        out->samples = n;
        bench_p50_p99(ms, n, &out->p50_ms, &out->p99_ms);
        out->max_ms = ms[n - 1];
        for (int h = 0; h < BENCH_HOPS; h++)
            if (out->hop_measured[h])
                bench_p50_p99(hop[h], n, &out->hop_p50_ms[h], &out->hop_p99_ms[h]);
    } else {
        snprintf(out->note, sizeof out->note, "no sample taken");
    }
    for (int h = 0; h < BENCH_HOPS; h++)
        free(hop[h]);
    free(ms);
}

/* The two rows of KIND (due -> taken via its relay, assigned -> taken) with the taker as KEEPER. */
static void bench_latency_kind(struct bench *b, const struct bench_lat_kind *kind, long keeper,
                               struct bench_latency *due, struct bench_latency *assigned)
{
    struct bench_lat l;
    pthread_t taker;

    memset(&l, 0, sizeof l);
    l.b = b;
    l.kind = kind;
    l.keeper_id = keeper;
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    atomic_init(&l.stop, false);
    atomic_init(&l.stop_dispatcher, false);
    atomic_init(&l.failed, false);
    if (pthread_create(&taker, NULL, bench_lat_taker, &l) != 0)
        bench_die("could not start the taker thread");
    bench_latency_row(b, &l, true, due);
    if (!atomic_load(&l.failed))
        bench_latency_row(b, &l, false, assigned);
    atomic_store(&l.stop, true);
    pthread_join(taker, NULL);
    pthread_cond_destroy(&l.cv);
    pthread_mutex_destroy(&l.mu);
}

/* Why the two rows DUE and ASSIGNED of a kind were not measured. */
static void bench_latency_note(struct bench_latency *due, struct bench_latency *assigned, const char *why)
{
    snprintf(due->note, sizeof due->note, "%s", why);
    snprintf(assigned->note, sizeof assigned->note, "%s", why);
}

static void bench_latency(struct bench *b)
{
    long keeper = b->keepers[0];

    bench_log("wake-up latency, %d samples per row", b->cfg.lat_samples);
    if (!b->life_ok || !(b->have & HAVE_SUBMIT))
        bench_latency_note(&b->lat_due, &b->lat_assigned,
                           b->life_ok ? "submit_result missing" : b->life_note);
    else if (bench_use_keepers(b, &keeper, 1) < 0 || bench_settle(b, true) < 0)
        bench_latency_note(&b->lat_due, &b->lat_assigned, "setup failed");
    else
        bench_latency_kind(b, &BENCH_LAT_LIFE, keeper, &b->lat_due, &b->lat_assigned);
    /* the reference, from the same state: its own table, after a checkpoint */
    bench_log("wake-up latency of the one-table reference");
    if (bench_settle(b, true) < 0) {
        bench_latency_note(&b->wake_due, &b->wake_assigned, "setup failed");
        return;
    }
    bench_latency_kind(b, &BENCH_LAT_WAKE, 0, &b->wake_due, &b->wake_assigned);
}

/* ------------------------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------------------------ */

static void bench_print_rate_row(const struct bench *b, const char *label, enum bench_row row,
                                 const char *unit)
{
    printf("%-50s %-7s", label, unit);
    for (int ci = 0; ci < b->cfg.nconns; ci++) {
        if (isnan(b->rate[row][ci]))
            printf(" %9s", "n/a");
        else
            printf(" %9.0f", b->rate[row][ci]);
    }
    if (b->row_note[row][0])
        printf("   %s (see the log)", b->row_note[row]);
    printf("\n");
}

/* A per-task figure of ROW (VALUES: b->wal or b->cpu), divided by SCALE, in UNIT. */
static void bench_print_task_row(const struct bench *b, const char *label, const double (*values)[8],
                                 enum bench_row row, double scale, const char *unit)
{
    printf("%-50s %-7s", label, unit);
    for (int ci = 0; ci < b->cfg.nconns; ci++) {
        if (isnan(values[row][ci]))
            printf(" %9s", "n/a");
        else
            printf(" %9.2f", values[row][ci] / scale);
    }
    printf("\n");
}

/* The least WAL bytes per task (row) of a round of ROW, in kB. */
static void bench_print_wal_row(const struct bench *b, const char *label, enum bench_row row)
{
    bench_print_task_row(b, label, b->wal, row, 1024.0, "kB");
}

/* HEADING, then a per-task figure (VALUES / SCALE, in UNIT) of the rows of parts 1 and 2. */
static void bench_print_task_block(const struct bench *b, const char *heading, const double (*values)[8],
                                   double scale, const char *unit)
{
    char label[200];

    printf("%s\n", heading);
    bench_print_task_row(b, "  life cycle, 1 task per keeper call", values, ROW_LIFE_ONE, scale, unit);
    snprintf(label, sizeof label, "  life cycle, %d per call", b->cfg.batch);
    bench_print_task_row(b, label, values, ROW_LIFE_BATCH, scale, unit);
    bench_print_task_row(b, "  raw claim, then complete", values, ROW_RAW_CLAIM_COMPLETE, scale, unit);
    snprintf(label, sizeof label, "  raw claim-and-delete, %d per transaction", b->cfg.batch);
    bench_print_task_row(b, label, values, ROW_RAW_DELETE_BATCH, scale, unit);
}

/* A ratio row NUM/DEN with its target (>= MIN; TARGET NULL: none); prints how many cells meet it. */
static void bench_print_ratio_row(const struct bench *b, const char *label, enum bench_row num,
                                  enum bench_row den, double min, const char *target)
{
    int met = 0, measured = 0;

    printf("%-50s %-7s", label, "ratio");
    for (int ci = 0; ci < b->cfg.nconns; ci++) {
        double x = b->rate[num][ci], y = b->rate[den][ci];

        if (isnan(x) || isnan(y) || y <= 0) {
            printf(" %9s", "n/a");
            continue;
        }
        measured++;
        met += x / y >= min;
        printf(" %8.1f%%", 100.0 * x / y);
    }
    if (target == NULL)
        printf("   for reference\n");
    else if (measured == 0)
        printf("   target %s: not measured\n", target);
    else if (met == measured)
        printf("   target %s: met\n", target);
    else
        printf("   target %s: MISSED (%d of %d)\n", target, measured - met, measured);
}

/* A wake-up row and its hops; TARGET: the row is held to the p99 target (else a reference). */
static void bench_print_latency_row(const char *label, const struct bench_latency *l, bool target)
{
    printf("%-50s ", label);
    if (!l->measured) {
        printf("n/a (%s)\n", l->note);
        return;
    }
    printf("p50 %.2f ms   p99 %.2f ms   max %.2f ms   (%d samples", l->p50_ms, l->p99_ms, l->max_ms,
           l->samples);
    if (l->lost)
        printf(", %d lost", l->lost);
    if (l->timer_wakes)
        printf(", %d woken by the %d ms timer, not NOTIFY", l->timer_wakes, BENCH_LAT_FALLBACK_MS);
    if (target)
        printf(")   target p99 < 5 ms: %s\n", l->p99_ms < 5.0 && !l->lost ? "met" : "MISSED");
    else
        printf(")\n");
    printf("  its hops, p50 / p99 ms:");
    for (int h = 0, first = 1; h < BENCH_HOPS; h++)
        if (l->hop_measured[h]) {
            printf("%s %s %.2f / %.2f", first ? "" : ",", l->hop_names[h], l->hop_p50_ms[h],
                   l->hop_p99_ms[h]);
            first = 0;
        }
    printf("\n");
}

static void bench_print(const struct bench *b)
{
    char hist[24], label[200], batch[16];

    if (b->cfg.history >= 1000000 && b->cfg.history % 1000000 == 0)
        snprintf(hist, sizeof hist, "%ldM", b->cfg.history / 1000000);
    else
        snprintf(hist, sizeof hist, "%ld", b->cfg.history);
    snprintf(batch, sizeof batch, "%d", b->cfg.batch);

    printf("\nTriggerX-PG SQL core benchmark\n");
    printf("server: %s; %ld CPUs; batched = %d per call; each cell the best of %d passes x %d measured "
           "rounds of ~%.0f s (part 4: the median of %d a pass, in turn with the copy's)\n",
           b->server, sysconf(_SC_NPROCESSORS_ONLN), b->cfg.batch, b->cfg.passes, BENCH_ROUNDS,
           b->cfg.cell_seconds, BENCH_PAIR_ROUNDS);
    if (b->one_keeper)
        printf("note: attesters could not be set to 0, so one keeper serves every connection\n");
    if (!b->life_ok)
        printf("note: life-cycle rows are n/a: %s\n", b->life_note);
    if (b->seeded)
        printf("history (part 4): %ld finished tasks%s, seeded after parts 1-3 and 5\n", b->seeded,
               b->cfg.history_attempts ? ", each with its task_attempts row" : "");
    printf("\n%-50s %-7s", "", "conns");
    for (int ci = 0; ci < b->cfg.nconns; ci++)
        printf(" %9d", b->cfg.conns[ci]);
    printf("\n");

    bench_print_rate_row(b, "1 life cycle, 1 task per keeper call (roles batched)", ROW_LIFE_ONE, "tasks/s");
    bench_print_rate_row(b,
                         (b->have & HAVE_SETTLE) ? "  (every step 1 task per call: 5 commits a task)"
                                                 : "  (every step 1 task per call: 4 commits a task)",
                         ROW_LIFE_ONE_ALL, "tasks/s");
    snprintf(label, sizeof label, "1 life cycle, %s per call", batch);
    bench_print_rate_row(b, label, ROW_LIFE_BATCH, "tasks/s");
    bench_print_rate_row(b, "2 raw claim-and-delete, 1 per transaction", ROW_RAW_DELETE_ONE, "rows/s");
    snprintf(label, sizeof label, "2 raw claim-and-delete, %s per transaction", batch);
    bench_print_rate_row(b, label, ROW_RAW_DELETE_BATCH, "rows/s");
    bench_print_rate_row(b, "2 raw claim, then complete (2 statements)", ROW_RAW_CLAIM_COMPLETE, "rows/s");
    bench_print_rate_row(b, "  (the same, each statement also NOTIFYs)", ROW_RAW_CLAIM_COMPLETE_NOTIFY,
                         "rows/s");
    bench_print_ratio_row(b, "3 batched life cycle / batched raw", ROW_LIFE_BATCH, ROW_RAW_DELETE_BATCH, 0.5,
                          ">= 50%");
    bench_print_ratio_row(b, "3 1-per-keeper-call life cycle / raw claim-then-complete", ROW_LIFE_ONE,
                          ROW_RAW_CLAIM_COMPLETE, 0.5, ">= 50%");
    bench_print_ratio_row(b, "  (every step 1 per call) / raw claim-then-complete", ROW_LIFE_ONE_ALL,
                          ROW_RAW_CLAIM_COMPLETE, 0.5, NULL);
    bench_print_task_block(b, "  WAL written per task (row), the least of a cell's rounds:", b->wal, 1024.0,
                           "kB");
    bench_print_task_block(
        b, "  CPU time of the round's server processes per task (row), the least of a cell's rounds:", b->cpu,
        1.0, "ms");
    snprintf(label, sizeof label, "4 life cycle, 1 per keeper call, %s finished tasks", hist);
    bench_print_rate_row(b, label, ROW_HIST_ONE, "tasks/s");
    snprintf(label, sizeof label, "4 life cycle, %s per call, %s finished tasks", batch, hist);
    bench_print_rate_row(b, label, ROW_HIST_BATCH, "tasks/s");
    bench_print_rate_row(b, "  the same without history (a copy), 1 per keeper call", ROW_COPY_ONE,
                         "tasks/s");
    snprintf(label, sizeof label, "  the same without history (a copy), %s per call", batch);
    bench_print_rate_row(b, label, ROW_COPY_BATCH, "tasks/s");
    printf("  WAL written per task (row), the least of a cell's rounds:\n");
    bench_print_wal_row(b, "  life cycle with history, 1 task per keeper call", ROW_HIST_ONE);
    snprintf(label, sizeof label, "  life cycle with history, %s per call", batch);
    bench_print_wal_row(b, label, ROW_HIST_BATCH);
    snprintf(label, sizeof label, "4 %s history / none, 1 per keeper call", hist);
    bench_print_ratio_row(b, label, ROW_HIST_ONE, ROW_COPY_ONE, 0.9, ">= 90%");
    snprintf(label, sizeof label, "4 %s history / none, %s per call", hist, batch);
    bench_print_ratio_row(b, label, ROW_HIST_BATCH, ROW_COPY_BATCH, 0.9, ">= 90%");
    bench_print_latency_row("5 wake-up, due -> taken (via a dispatcher)", &b->lat_due, true);
    bench_print_latency_row("5 wake-up, assigned -> taken", &b->lat_assigned, true);
    printf("  the same hops on a one-table queue (bench_wake: insert, relay, claim-and-delete), for "
           "reference:\n");
    bench_print_latency_row("  due -> taken (via a relay)", &b->wake_due, false);
    bench_print_latency_row("  assigned -> taken", &b->wake_assigned, false);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct bench b;
    char err[BENCH_ERR_LEN];
    PGresult *res;
    int npool = 2;
    double t0 = bench_clock();

    memset(&b, 0, sizeof b);
    for (int r = 0; r < ROW__COUNT; r++)
        for (int ci = 0; ci < 8; ci++)
            b.rate[r][ci] = b.wal[r][ci] = b.cpu[r][ci] = NAN;
    bench_config_load(&b.cfg, argc, argv);
    srand((unsigned)time(NULL));
    bench_latency_note(&b.lat_due, &b.lat_assigned, "not run: TGX_BENCH_PARTS");
    bench_latency_note(&b.wake_due, &b.wake_assigned, "not run: TGX_BENCH_PARTS");

    b.main = bench_connect(b.cfg.url);
    if (bench_exec(b.main, NULL, SQL_SETTINGS, 0, NULL, &res, err, sizeof err) < 0)
        bench_die("%s", err);
    snprintf(b.server, sizeof b.server,
             "PostgreSQL %s, fsync=%s, synchronous_commit=%s, full_page_writes=%s, shared_buffers=%s",
             PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
             PQgetvalue(res, 0, 4));
    PQclear(res);
    bench_log("%s", b.server);

    bench_find_functions(&b);
    if (bench_sql(&b, SQL_RAW_CREATE, 0, NULL) < 0 || bench_sql(&b, SQL_WAKE_CREATE, 0, NULL) < 0)
        bench_die("could not create the raw queue tables");
    if (bench_setup_life(&b) < 0)
        bench_log("life-cycle rows print n/a: %s", b.life_note);

    for (int i = 0; i < b.cfg.nconns; i++)
        npool = b.cfg.conns[i] > npool ? b.cfg.conns[i] : npool;
    for (int i = 0; i < npool; i++) {
        b.pool[i] = bench_connect(b.cfg.url);
        bench_prepare(&b, b.pool[i]);
    }
    b.npool = npool;
    bench_prepare(&b, b.main);

    /*
     * The rows and their baselines in turn, cfg.passes times: a cell shows its best over the
     * passes, so a slow spell of the (shared) machine during one row does not decide a ratio.
     */
    for (int pass = 1; pass <= b.cfg.passes; pass++) {
        bench_log("pass %d of %d", pass, b.cfg.passes);
        if (b.cfg.parts & PART_RAW) {
            bench_run_row(&b, ROW_RAW_DELETE_ONE);
            bench_run_row(&b, ROW_RAW_DELETE_BATCH);
            bench_run_row(&b, ROW_RAW_CLAIM_COMPLETE);
            bench_run_row(&b, ROW_RAW_CLAIM_COMPLETE_NOTIFY);
        }
        if (b.cfg.parts & PART_LIFE) {
            bench_run_row(&b, ROW_LIFE_ONE);
            bench_run_row(&b, ROW_LIFE_ONE_ALL);
            bench_run_row(&b, ROW_LIFE_BATCH);
        }
    }
    if (b.cfg.parts & PART_LATENCY)
        bench_latency(&b);
    if ((b.cfg.parts & PART_HISTORY) && b.life_ok && b.cfg.history > 0) {
        if (bench_copy_db(&b) == 0 && bench_seed_history(&b) == 0) {
            for (int pass = 1; pass <= b.cfg.passes; pass++) {
                bench_log("history pass %d of %d", pass, b.cfg.passes);
                bench_run_pair(&b, ROW_COPY_ONE, ROW_HIST_ONE);
                bench_run_pair(&b, ROW_COPY_BATCH, ROW_HIST_BATCH);
            }
            for (enum bench_row row = ROW_HIST_ONE; row <= ROW_COPY_BATCH; row++)
                bench_use_median(&b, row);
        }
        bench_drop_copy(&b);
    }
    bench_print(&b);
    bench_log("done in %.0f s", bench_clock() - t0);

    for (int i = 0; i < b.npool; i++)
        PQfinish(b.pool[i]);
    PQfinish(b.main);
    return 0;
}
