/* test_store_pg.c: the PostgreSQL store and its pool against a migrated database
 * (TGX_TEST_DATABASE_URL; every test is skipped when it is unset). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tgx/api.h"
#include "tgx/jsonnum.h"
#include "tgx/pool.h"
#include "tgx/sha256.h"
#include "tgx/store.h"

static struct tgx_pool *store_pg_pool;
static struct tgx_store *store_pg_st;
static char store_pg_owner[43];    /* a fresh owner per run */
static unsigned long store_pg_seq; /* job ids of this run: 7e18 + pid * 1e6 + seq */

static const char *store_pg_url(void)
{
    const char *u = getenv("TGX_TEST_DATABASE_URL");
    return u != NULL && u[0] != '\0' ? u : NULL;
}

static void store_pg_setup(void)
{
    if (store_pg_url() == NULL)
        cr_skip_test("TGX_TEST_DATABASE_URL is not set");
    struct tgx_buf err;
    tgx_buf_init(&err);
    struct tgx_pool_opts o = {.url = store_pg_url(),
                              .appname = "unit tests",
                              .size = 2,
                              .wait_ms = 200,
                              .statement_timeout_ms = 10000};
    int rc = tgx_pool_create(&o, &store_pg_pool, &err);
    cr_assert_eq(rc, 0, "pool: %s", tgx_buf_str(&err));
    tgx_buf_cleanup(&err);
    cr_assert_eq(tgx_store_pg_create(store_pg_pool, &store_pg_st), 0);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(store_pg_owner, sizeof store_pg_owner, "0x7e57%08x%08x%08x%012x", (unsigned)getpid(),
             (unsigned)rand(), (unsigned)time(NULL), (unsigned)rand() & 0xffffff);
}

static void store_pg_teardown(void)
{
    tgx_store_free(store_pg_st);
    tgx_pool_free(store_pg_pool);
    store_pg_st = NULL;
    store_pg_pool = NULL;
}

/* A new job id of this run, as decimal text. */
static void store_pg_job_id(char out[80])
{
    snprintf(out, 80, "7%05u%09lu%06lu", (unsigned)getpid() % 100000u,
             (unsigned long)time(NULL) % 1000000000ul, ++store_pg_seq);
}

/* The SDK's interval job for OWNER with id ID, as JSON text (caller frees). */
static char *store_pg_job_body(const char *id, const char *owner, const char *extra)
{
    size_t cap = 2048 + (extra != NULL ? strlen(extra) : 0);
    char *s = malloc(cap);
    cr_assert_not_null(s);
    int n = snprintf(
        s, cap,
        "[{\"job_id\":\"%s\",\"user_address\":\"%s\",\"ether_balance\":123456789012345678901234567890,"
        "\"token_balance\":5,\"job_title\":\"unit job\",\"task_definition_id\":1,\"custom\":true,"
        "\"time_frame\":3600,\"job_cost_prediction\":0.004,\"timezone\":\"UTC\","
        "\"created_chain_id\":\"31337\",\"schedule_type\":\"interval\",\"time_interval\":900,"
        "\"target_chain_id\":\"31337\",\"target_contract_address\":"
        "\"0x5FbDB2315678afecb367f032d93F642f64180aa3\",\"target_function\":\"ping\","
        "\"abi\":\"[{\\\"type\\\":\\\"function\\\",\\\"name\\\":\\\"ping\\\",\\\"inputs\\\":[]}]\","
        "\"arguments\":[]%s}]",
        id, owner, extra != NULL ? extra : "");
    cr_assert(n > 0 && (size_t)n < cap);
    return s;
}

static void store_pg_create_job(const char *id, const char *owner)
{
    char *body = store_pg_job_body(id, owner, NULL);
    struct tgx_store_err err;
    json_t *out;
    int rc = store_pg_st->ops->jobs_create(store_pg_st, NULL, body, "unit-trace", &out, &err);
    cr_assert_eq(rc, 0, "jobs_create: %s (%s)", err.message, err.field);
    json_decref(out);
    free(body);
}

TestSuite(store_pg, .init = store_pg_setup, .fini = store_pg_teardown);

Test(store_pg, ping)
{
    struct tgx_store_err err;
    cr_expect_eq(store_pg_st->ops->ping(store_pg_st, &err), 0, "%s", err.message);
}

Test(store_pg, create_job_exact_balances_and_read_back)
{
    char id[80];
    store_pg_job_id(id);
    char *body = store_pg_job_body(id, store_pg_owner, NULL);
    struct tgx_store_err err;
    json_t *out;
    cr_assert_eq(store_pg_st->ops->jobs_create(store_pg_st, store_pg_owner, body, "unit-trace", &out, &err),
                 0, "%s", err.message);
    char *text = tgx_json_dump(out);
    cr_expect(strstr(text, "\"account_balance\":123456789012345678901234567890,") != NULL, "%s", text);
    cr_expect(strstr(text, "\"token_balance\":5,") != NULL, "%s", text);
    free(text);
    json_decref(out);
    free(body);

    json_t *job;
    cr_assert_eq(store_pg_st->ops->job_get(store_pg_st, id, &job, &err), 0, "%s", err.message);
    cr_expect_str_eq(json_string_value(json_object_get(job, "job_id")), id);
    cr_expect_str_eq(json_string_value(json_object_get(job, "_owner")), store_pg_owner);
    cr_expect_str_eq(json_string_value(json_object_get(job, "status")), "pending");
    cr_expect_str_eq(json_string_value(json_object_get(job, "last_executed_at")), "0001-01-01T00:00:00Z");
    const char *created = json_string_value(json_object_get(job, "created_at"));
    cr_expect(created != NULL && strlen(created) >= 20 && created[10] == 'T' &&
                  created[strlen(created) - 1] == 'Z',
              "RFC 3339: %s", created);
    json_decref(job);

    json_t *user;
    cr_assert_eq(store_pg_st->ops->user_get(store_pg_st, store_pg_owner, &user, &err), 0, "%s", err.message);
    text = tgx_json_dump(user);
    cr_expect(strstr(text, "\"ether_balance\":123456789012345678901234567890,") != NULL, "%s", text);
    cr_expect(strstr(text, "\"user_points\":20,") != NULL, "%s", text);
    free(text);
    json_decref(user);
}

Test(store_pg, create_job_refusals_name_the_field)
{
    static const struct {
        const char *extra;
        const char *field;
    } cases[] = {
        {",\"timezone\":\"Mars/Olympus\"", "timezone"},
        {",\"time_interval\":7200", "time_interval"},
        {",\"target_function\":\"pong\"", "target_function"},
        {",\"arguments\":[\"1\"]", "arguments"},
        {",\"abi\":\"[not json\"", "abi"},
        {",\"schedule_type\":\"cron\",\"cron_expression\":\"99 * * * *\",\"time_interval\":null",
         "cron_expression"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[80];
        store_pg_job_id(id);
        /* a later duplicate key wins in jsonb: the extra fields override the defaults */
        char *body = store_pg_job_body(id, store_pg_owner, cases[i].extra);
        struct tgx_store_err err;
        json_t *out = NULL;
        int rc = store_pg_st->ops->jobs_create(store_pg_st, NULL, body, NULL, &out, &err);
        cr_expect_lt(rc, 0, "row %zu accepted", i);
        cr_expect_eq(err.status, TGX_STORE_BAD_INPUT, "row %zu: status %d %s", i, err.status, err.message);
        cr_expect_str_eq(err.field, cases[i].field, "row %zu: %s", i, err.message);
        json_t *job;
        cr_expect_lt(store_pg_st->ops->job_get(store_pg_st, id, &job, &err), 0, "row %zu: the job was stored",
                     i);
        cr_expect_eq(err.status, TGX_STORE_NOT_FOUND);
        free(body);
    }
}

Test(store_pg, ownership_and_conflicts)
{
    char id[80];
    store_pg_job_id(id);
    char *body = store_pg_job_body(id, store_pg_owner, NULL);
    struct tgx_store_err err;
    json_t *out = NULL;
    cr_expect_lt(store_pg_st->ops->jobs_create(store_pg_st, "0x0000000000000000000000000000000000000bad",
                                               body, NULL, &out, &err),
                 0);
    cr_expect_eq(err.status, TGX_STORE_FORBIDDEN, "%d %s", err.status, err.message);
    cr_assert_eq(store_pg_st->ops->jobs_create(store_pg_st, NULL, body, NULL, &out, &err), 0, "%s",
                 err.message);
    json_decref(out);
    cr_expect_lt(store_pg_st->ops->jobs_create(store_pg_st, NULL, body, NULL, &out, &err), 0);
    cr_expect_eq(err.status, TGX_STORE_CONFLICT, "%d %s", err.status, err.message);
    free(body);

    struct tgx_store_page page = {10, NULL};
    struct tgx_store_list list;
    cr_expect_lt(store_pg_st->ops->tasks_by_job(store_pg_st, id, "0x0000000000000000000000000000000000000bad",
                                                &page, &list, &err),
                 0);
    cr_expect_eq(err.status, TGX_STORE_FORBIDDEN);
    cr_assert_eq(store_pg_st->ops->tasks_by_job(store_pg_st, id, store_pg_owner, &page, &list, &err), 0, "%s",
                 err.message);
    cr_expect_eq(json_array_size(list.items), 0, "a new job has no task");
    tgx_store_list_cleanup(&list);
    cr_expect_lt(store_pg_st->ops->tasks_by_job(store_pg_st, "1", NULL, &page, &list, &err), 0);
    cr_expect_eq(err.status, TGX_STORE_NOT_FOUND);

    int n = -1;
    cr_expect_lt(
        store_pg_st->ops->job_delete(store_pg_st, "0x0000000000000000000000000000000000000bad", id, &n, &err),
        0);
    cr_expect_eq(err.status, TGX_STORE_FORBIDDEN);
    cr_expect_eq(store_pg_st->ops->job_delete(store_pg_st, store_pg_owner, id, &n, &err), 0, "%s",
                 err.message);
    cr_expect_eq(n, 0);
    json_t *job;
    cr_assert_eq(store_pg_st->ops->job_get(store_pg_st, id, &job, &err), 0);
    cr_expect_str_eq(json_string_value(json_object_get(job, "status")), "deleted");
    json_decref(job);
}

Test(store_pg, keyset_pages_cover_every_job_once)
{
    char owner[43];
    snprintf(owner, sizeof owner, "%.38s%04x", store_pg_owner, (unsigned)rand() & 0xffff);
    char ids[5][80];
    for (int i = 0; i < 5; i++) {
        store_pg_job_id(ids[i]);
        store_pg_create_job(ids[i], owner);
    }
    struct tgx_store_page page = {2, NULL};
    char *after = NULL;
    int seen = 0, pages = 0;
    do {
        struct tgx_store_list list;
        struct tgx_store_err err;
        page.after = after;
        cr_assert_eq(store_pg_st->ops->jobs_by_user(store_pg_st, owner, NULL, &page, &list, &err), 0, "%s",
                     err.message);
        seen += (int)json_array_size(list.items);
        pages++;
        free(after);
        after = list.next != NULL ? strdup(list.next) : NULL;
        if (after != NULL)
            cr_expect_eq(json_array_size(list.items), 2, "a full page before a cursor");
        tgx_store_list_cleanup(&list);
    } while (after != NULL && pages < 10);
    cr_expect_eq(seen, 5);
    cr_expect_eq(pages, 3);

    struct tgx_store_list list;
    struct tgx_store_err err;
    page.after = "not|a key";
    cr_expect_lt(store_pg_st->ops->jobs_by_user(store_pg_st, owner, NULL, &page, &list, &err), 0);
    cr_expect_eq(err.status, TGX_STORE_BAD_INPUT);
    cr_expect_str_eq(err.field, "cursor");
}

Test(store_pg, api_keys_hashed_authenticated_updated)
{
    json_t *rec;
    char key[TGX_API_KEY_LEN + 1];
    struct tgx_store_err err;
    cr_assert_eq(tgx_api_key_create(store_pg_st, store_pg_owner, false, 30, &rec, key, &err), 0, "%s",
                 err.message);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "key")), key);
    cr_expect_null(json_object_get(rec, "_hint"), "private keys removed");
    json_decref(rec);

    uint8_t hash[32];
    cr_assert_eq(tgx_sha256(key, strlen(key), hash), 0);
    struct tgx_store_key k;
    cr_assert_eq(store_pg_st->ops->key_authenticate(store_pg_st, hash, &k, &err), 0, "%s", err.message);
    cr_expect_str_eq(k.owner, store_pg_owner);
    cr_expect_eq(k.rate_limit, 30);
    cr_expect(!k.is_admin);

    struct tgx_store_key_change ch = {0, 0};
    cr_assert_eq(store_pg_st->ops->key_update(store_pg_st, hash, &ch, &rec, &err), 0, "%s", err.message);
    cr_expect(json_is_false(json_object_get(rec, "is_active")));
    cr_expect_eq(json_integer_value(json_object_get(rec, "rate_limit")), 30, "rate limit unchanged");
    json_decref(rec);
    cr_expect_eq(store_pg_st->ops->key_authenticate(store_pg_st, hash, &k, &err), -TGX_ERR_NOTFOUND,
                 "an inactive key does not authenticate");
    cr_expect_eq(err.status, TGX_STORE_NOT_FOUND);

    char hint[TGX_API_KEY_LEN + 1];
    tgx_api_key_mask(key, hint);
    int n = 0;
    cr_expect_eq(store_pg_st->ops->key_delete_masked(store_pg_st, hint, store_pg_owner, &n, &err), 0, "%s",
                 err.message);
    cr_expect_eq(n, 1);
    cr_expect_lt(store_pg_st->ops->key_delete(store_pg_st, hash, &err), 0);
    cr_expect_eq(err.status, TGX_STORE_NOT_FOUND);
}

Test(store_pg, pool_exhausted_is_busy_then_recovers)
{
    struct tgx_pool_conn *a, *b, *c;
    struct tgx_pool_error pe;
    cr_assert_eq(tgx_pool_borrow(store_pg_pool, &a, &pe), 0, "%s", pe.message);
    cr_assert_eq(tgx_pool_borrow(store_pg_pool, &b, &pe), 0, "%s", pe.message);
    cr_expect_eq(tgx_pool_borrow(store_pg_pool, &c, &pe), -TGX_ERR_STATE,
                 "a third borrow of a pool of two waits and fails");
    struct tgx_store_err err;
    cr_expect_lt(store_pg_st->ops->ping(store_pg_st, &err), 0);
    cr_expect_eq(err.status, TGX_STORE_BUSY);
    tgx_pool_return(store_pg_pool, b);
    cr_expect_eq(store_pg_st->ops->ping(store_pg_st, &err), 0, "%s", err.message);
    tgx_pool_return(store_pg_pool, a);
    struct tgx_pool_stats s;
    tgx_pool_get_stats(store_pg_pool, &s);
    cr_expect_eq(s.busy, 0);
    cr_expect_geq(s.timeouts, 2);
}

static int store_pg_pid_cb(const PGresult *res, void *arg)
{
    snprintf(arg, 32, "%s", PQgetvalue(res, 0, 0));
    return 0;
}

Test(store_pg, broken_connection_is_reopened)
{
    static const struct tgx_pg_query q_pid = {TGX_POOL_MAX_QUERIES - 1, "unit_pid", "SELECT pg_backend_pid()",
                                              0};
    static const struct tgx_pg_query q_kill = {TGX_POOL_MAX_QUERIES - 2, "unit_kill",
                                               "SELECT pg_terminate_backend($1::int)", 1};
    struct tgx_pool_conn *a, *b;
    struct tgx_pool_error pe;
    char pid[32];
    cr_assert_eq(tgx_pool_borrow(store_pg_pool, &a, &pe), 0);
    cr_assert_eq(tgx_pool_query(a, &q_pid, NULL, store_pg_pid_cb, pid), 0);
    cr_assert_eq(tgx_pool_borrow(store_pg_pool, &b, &pe), 0);
    const char *params[] = {pid};
    cr_assert_eq(tgx_pool_query(b, &q_kill, params, NULL, NULL), 0);
    tgx_pool_return(store_pg_pool, b);
    /* the killed connection fails once, as a lost connection ... */
    usleep(50000);
    cr_expect_lt(tgx_pool_query(a, &q_pid, NULL, store_pg_pid_cb, pid), 0);
    cr_expect(tgx_pool_last_error(a)->connection, "the error says the connection was lost");
    tgx_pool_return(store_pg_pool, a);
    /* ... and is reopened on its next borrow */
    struct tgx_store_err err;
    for (int i = 0; i < 2; i++)
        cr_expect_eq(store_pg_st->ops->ping(store_pg_st, &err), 0, "ping %d: %s", i, err.message);
}

Test(store_pg, gauges_read_the_queue)
{
    struct tgx_store_gauges g;
    struct tgx_store_err err;
    cr_assert_eq(store_pg_st->ops->gauges(store_pg_st, &g, &err), 0, "%s", err.message);
    for (int i = 0; i < 5; i++)
        cr_expect_geq(g.queue_depth[i], 0);
    cr_expect_geq(g.scheduler_lag_seconds, 0);
    cr_expect_geq(g.keepers_online, g.keepers_eligible);
}
