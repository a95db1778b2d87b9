/* test_roles_loop.c: the loop machinery of the engine roles (src/roles/loop.c): back-off and
 * deadline arithmetic, the roles list, fake roles without a database (deadlines, failures,
 * settings, stop within a bound with a step in flight), and, against TGX_TEST_DATABASE_URL,
 * wake-up by NOTIFY and reconnection after pg_terminate_backend. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tgx/db.h"
#include "tgx/role_loop.h"

/* ----- pure pieces ----------------------------------------------------------------------------- */

Test(roles_loop, backoff_table)
{
    static const struct {
        unsigned failures;
        int64_t ms;
    } cases[] = {{0, 100},  {1, 200},  {2, 400},  {3, 800},    {4, 1600},
                 {5, 3200}, {6, 5000}, {7, 5000}, {1000, 5000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_loop_backoff_ms(cases[i].failures), cases[i].ms,
                     "row %zu: %u failures: %lld ms, not %lld", i, cases[i].failures,
                     (long long)tgx_loop_backoff_ms(cases[i].failures), (long long)cases[i].ms);
}

Test(roles_loop, timeout_table)
{
    static const struct {
        int64_t now, deadline;
        long poll;
        int timeout;
    } cases[] = {
        {1000, -1, 5000, 5000},                             /* no deadline: the fallback poll */
        {1000, 900, 5000, 0},                               /* past: at once */
        {1000, 1000, 5000, 0},                              /* now: at once */
        {1000, 1500, 5000, 500}, {1000, 10000, 5000, 5000}, /* far: never longer than the poll */
        {0, 1, 100, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_loop_timeout_ms(cases[i].now, cases[i].deadline, cases[i].poll), cases[i].timeout,
                     "row %zu", i);
}

Test(roles_loop, roles_list)
{
    static const struct {
        const char *roles, *name;
        bool has;
    } cases[] = {
        {"all", "health", true},
        {"api", "api", true},
        {"api", "scheduler", false},
        {"api,scheduler", "scheduler", true},
        {"api, monitor", "monitor", true},
        {"scheduler", "sched", false},
        {"schedulers", "scheduler", false},
        {"", "api", false},
        {NULL, "api", false},
        {"dispatcher,all", "health", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_roles_has(cases[i].roles, cases[i].name), cases[i].has, "row %zu", i);
    cr_expect_eq(tgx_engine_nroles, 4);
    cr_expect_not_null(tgx_engine_find_role("scheduler"));
    cr_expect_not_null(tgx_engine_find_role("dispatcher"));
    cr_expect_not_null(tgx_engine_find_role("monitor"));
    cr_expect_not_null(tgx_engine_find_role("health"));
    cr_expect_null(tgx_engine_find_role("api"));
    /* roles whose lost work is redone commit asynchronously; health sends alerts out: never */
    cr_expect(tgx_engine_find_role("scheduler")->async_commit);
    cr_expect(tgx_engine_find_role("dispatcher")->async_commit);
    cr_expect(tgx_engine_find_role("monitor")->async_commit);
    cr_expect_not(tgx_engine_find_role("health")->async_commit);
}

/* ----- fake roles ------------------------------------------------------------------------------ */

/* What a fake role does, shared with the test (one per test: Criterion runs tests in processes). */
static struct {
    atomic_int steps;
    atomic_int in_step;
    atomic_long last_batch;
    atomic_int sync_off; /* the DB step: 1 synchronous_commit set off by the session, else 0; -1 */
    int step_ms;         /* each step sleeps this long */
    int step_rc;         /* what the step returns */
    int64_t delay;       /* what next_deadline says */
} roles_fake;

static void roles_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int roles_fake_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)state;
    cr_assert_null(db, "a role without a database gets no connection");
    atomic_store(&roles_fake.in_step, 1);
    atomic_store(&roles_fake.last_batch, tgx_loop_settings(loop)->batch);
    if (roles_fake.step_ms > 0)
        roles_sleep_ms(roles_fake.step_ms);
    atomic_fetch_add(&roles_fake.steps, 1);
    atomic_store(&roles_fake.in_step, 0);
    return roles_fake.step_rc;
}

static int roles_fake_next(struct tgx_loop *loop, void *state, struct tgx_loop_db *db, int64_t *delay_ms)
{
    (void)loop, (void)state, (void)db;
    *delay_ms = roles_fake.delay;
    return 0;
}

static const struct tgx_role_def roles_fake_def = {
    .name = "fake",
    .channels = NULL,
    .step = roles_fake_step,
    .next_deadline = roles_fake_next,
};

static struct tgx_loop *roles_fake_start(long poll_ms)
{
    struct tgx_role_settings s;
    memset(&s, 0, sizeof s);
    s.batch = 7;
    s.poll_ms = poll_ms;
    s.sweep_ms = 1000;
    struct tgx_loop *loop = NULL;
    cr_assert_eq(tgx_loop_create(&roles_fake_def, NULL, &s, &loop), 0);
    cr_assert_eq(tgx_loop_start(loop), 0);
    return loop;
}

/* Wait (bounded) until COND holds; the assertion is on the state reached, not on timing. */
#define ROLES_WAIT_FOR(cond, ms)                                                                             \
    do {                                                                                                     \
        for (int w_ = 0; w_ < (ms) / 10 && !(cond); w_++)                                                    \
            roles_sleep_ms(10);                                                                              \
    } while (0)

Test(roles_loop, steps_at_each_deadline)
{
    roles_fake.delay = 20;
    struct tgx_loop *loop = roles_fake_start(60000);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 5, 5000);
    cr_expect_geq(atomic_load(&roles_fake.steps), 5, "the deadline wakes the loop although the poll is 60 s");
    cr_expect_eq(atomic_load(&roles_fake.last_batch), 7, "the step sees the settings");
    tgx_loop_free(loop);
}

Test(roles_loop, no_deadline_no_step_until_the_poll_or_a_wake)
{
    roles_fake.delay = -1;
    struct tgx_loop *loop = roles_fake_start(60000);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 1, 5000);
    cr_assert_eq(atomic_load(&roles_fake.steps), 1, "one step at start");
    roles_sleep_ms(300);
    cr_expect_eq(atomic_load(&roles_fake.steps), 1, "no deadline: the loop sleeps (no busy polling)");
    cr_expect_eq(tgx_loop_get_state(loop), TGX_LOOP_READY);
    tgx_loop_free(loop);
}

Test(roles_loop, fallback_poll)
{
    roles_fake.delay = -1;
    struct tgx_loop *loop = roles_fake_start(100);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 3, 5000);
    cr_expect_geq(atomic_load(&roles_fake.steps), 3, "the fallback poll steps without a deadline");
    tgx_loop_free(loop);
}

Test(roles_loop, failed_step_backs_off)
{
    roles_fake.delay = 0;
    roles_fake.step_rc = -TGX_ERR_DB;
    struct tgx_loop *loop = roles_fake_start(60000);
    struct tgx_loop_stats st;
    ROLES_WAIT_FOR((tgx_loop_get_stats(loop, &st), st.failures >= 3), 5000);
    tgx_loop_get_stats(loop, &st);
    cr_expect_geq(st.failures, 3, "failed steps are retried");
    /* 100 + 200 + 400 ms of back-off between the first four: far fewer steps than a spin */
    roles_sleep_ms(200);
    tgx_loop_get_stats(loop, &st);
    cr_expect_leq(st.steps, 8, "%lu steps: the retries back off", st.steps);
    tgx_loop_free(loop);
}

Test(roles_loop, stop_with_a_step_in_flight_within_a_bound)
{
    roles_fake.delay = 0;
    roles_fake.step_ms = 400;
    struct tgx_loop *loop = roles_fake_start(60000);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.in_step) == 1, 5000);
    cr_assert_eq(atomic_load(&roles_fake.in_step), 1, "a step is in flight");
    int64_t t0 = tgx_loop_now_ms();
    tgx_loop_stop(loop);
    tgx_loop_join(loop);
    int64_t took = tgx_loop_now_ms() - t0;
    cr_expect_eq(atomic_load(&roles_fake.in_step), 0, "the step in flight finished");
    int steps = atomic_load(&roles_fake.steps);
    cr_expect_lt(took, 2000, "stopped in %lld ms", (long long)took);
    cr_expect_eq(tgx_loop_get_state(loop), TGX_LOOP_STOPPED);
    roles_sleep_ms(50);
    cr_expect_eq(atomic_load(&roles_fake.steps), steps, "no step after the stop");
    tgx_loop_free(loop);
}

Test(roles_loop, stop_while_sleeping_is_immediate)
{
    roles_fake.delay = -1;
    struct tgx_loop *loop = roles_fake_start(600000);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 1, 5000);
    int64_t t0 = tgx_loop_now_ms();
    tgx_loop_stop(loop);
    tgx_loop_join(loop);
    cr_expect_lt(tgx_loop_now_ms() - t0, 1000, "the wake fd cuts the sleep short");
    tgx_loop_free(loop);
}

Test(roles_loop, new_settings_are_taken)
{
    roles_fake.delay = -1;
    struct tgx_loop *loop = roles_fake_start(600000);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 1, 5000);
    struct tgx_role_settings s;
    memset(&s, 0, sizeof s);
    s.batch = 42;
    s.poll_ms = 600000;
    s.sweep_ms = 1000;
    s.alerts.webhook_url = (char *)"http://127.0.0.1:1/hook";
    cr_assert_eq(tgx_loop_set_settings(loop, &s), 0);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.last_batch) == 42, 5000);
    cr_expect_eq(atomic_load(&roles_fake.last_batch), 42,
                 "new settings wake the loop and the step sees them");
    cr_expect_eq(atomic_load(&roles_fake.steps), 2);
    tgx_loop_free(loop);
}

/* ----- with a database ------------------------------------------------------------------------- */

static const char *roles_db_url(void)
{
    const char *u = getenv("TGX_TEST_DATABASE_URL");
    if (u == NULL || *u == '\0')
        cr_skip_test("TGX_TEST_DATABASE_URL is not set");
    return u;
}

static const char *const roles_notify_channels[] = {"tgx_unit_roles_wake", NULL};

static int roles_db_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)loop, (void)state;
    long long one = 0;
    int rc = tgx_loop_query_int(db, "SELECT 1", 0, NULL, &one);
    if (rc == 0)
        atomic_fetch_add(&roles_fake.steps, 1);
    return rc;
}

static int roles_db_next(struct tgx_loop *loop, void *state, struct tgx_loop_db *db, int64_t *delay_ms)
{
    (void)loop, (void)state;
    /* NULL: no deadline */
    return tgx_loop_query_delay(db, "SELECT NULL::bigint", delay_ms);
}

static const struct tgx_role_def roles_db_def = {
    .name = "unit-roles",
    .channels = roles_notify_channels,
    .step = roles_db_step,
    .next_deadline = roles_db_next,
};

static void roles_db_exec(const char *url, const char *sql)
{
    struct tgx_db *db = NULL;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_assert_eq(tgx_db_connect(url, "test_roles", &db, &err), 0, "%s", tgx_buf_str(&err));
    cr_assert_eq(tgx_db_exec(db, sql), 0, "%s", tgx_db_last_error(db)->message);
    tgx_db_free(db);
    tgx_buf_cleanup(&err);
}

Test(roles_loop, notify_wakes_and_reconnects_after_terminate)
{
    const char *url = roles_db_url();
    struct tgx_role_settings s;
    memset(&s, 0, sizeof s);
    s.batch = 10;
    s.poll_ms = 600000;
    s.sweep_ms = 1000;
    struct tgx_loop *loop = NULL;
    cr_assert_eq(tgx_loop_create(&roles_db_def, url, &s, &loop), 0);
    cr_assert_eq(tgx_loop_start(loop), 0);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 1, 10000);
    cr_assert_eq(atomic_load(&roles_fake.steps), 1, "one step after connecting");

    roles_db_exec(url, "NOTIFY tgx_unit_roles_wake");
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 2, 10000);
    cr_expect_eq(atomic_load(&roles_fake.steps), 2, "NOTIFY wakes the loop for one step");

    roles_db_exec(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = 'tgxd unit-roles'");
    struct tgx_loop_stats st;
    ROLES_WAIT_FOR((tgx_loop_get_stats(loop, &st), st.connects >= 2), 10000);
    cr_expect_geq(st.connects, 2, "the loop reconnected");
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 3, 10000);
    cr_expect_geq(atomic_load(&roles_fake.steps), 3, "and stepped again");

    int before = atomic_load(&roles_fake.steps);
    roles_db_exec(url, "NOTIFY tgx_unit_roles_wake");
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) > before, 10000);
    cr_expect_gt(atomic_load(&roles_fake.steps), before, "LISTEN again after the reconnect");
    tgx_loop_free(loop);
}

/* A role with async_commit sees synchronous_commit = off on its connection; one without, on. */
static int roles_sync_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    (void)loop, (void)state;
    long long off = -1;
    /* set off by the session itself (the test cluster may run with it off anyway) */
    int rc = tgx_loop_query_int(db,
                                "SELECT (setting = 'off' AND source = 'session')::int FROM pg_settings"
                                " WHERE name = 'synchronous_commit'",
                                0, NULL, &off);
    if (rc == 0) {
        atomic_store(&roles_fake.sync_off, (int)off);
        atomic_fetch_add(&roles_fake.steps, 1);
    }
    return rc;
}

static void roles_sync_case(bool async_commit)
{
    const struct tgx_role_def def = {
        .name = "unit-sync",
        .async_commit = async_commit,
        .step = roles_sync_step,
        .next_deadline = roles_db_next,
    };
    struct tgx_role_settings s;
    memset(&s, 0, sizeof s);
    s.batch = 10;
    s.poll_ms = 600000;
    atomic_store(&roles_fake.sync_off, -1);
    struct tgx_loop *loop = NULL;
    cr_assert_eq(tgx_loop_create(&def, roles_db_url(), &s, &loop), 0);
    cr_assert_eq(tgx_loop_start(loop), 0);
    ROLES_WAIT_FOR(atomic_load(&roles_fake.steps) >= 1, 10000);
    cr_expect_eq(atomic_load(&roles_fake.sync_off), async_commit ? 1 : 0,
                 "synchronous_commit on the role's connection");
    tgx_loop_free(loop);
}

Test(roles_loop, async_commit_role_connection)
{
    roles_sync_case(true);
}

Test(roles_loop, sync_commit_role_connection)
{
    roles_sync_case(false);
}
