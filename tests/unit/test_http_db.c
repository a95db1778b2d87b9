/* test_http_db.c: the HTTP layer against PostgreSQL (TGX_TEST_DATABASE_URL, skipped when unset):
 * tgx.rate_limit_sync(), two rate limiters syncing through it, and the task feed
 * (trigger -> LISTEN -> WebSocket frames). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tgx/db.h"
#include "tgx/http.h"
#include "tgx/ratelimit.h"
#include "tgx/ws.h"

static const char *http_db_url(void)
{
    const char *u = getenv("TGX_TEST_DATABASE_URL");
    if (u == NULL || *u == '\0')
        cr_skip_test("TGX_TEST_DATABASE_URL is not set");
    return u;
}

static struct tgx_db *http_db_connect(const char *url)
{
    struct tgx_db *db = NULL;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_assert_eq(tgx_db_connect(url, "test_http_db", &db, &err), 0, "%s", err.data ? err.data : "");
    tgx_buf_cleanup(&err);
    return db;
}

static int http_db_text(const PGresult *res, void *arg)
{
    char **out = arg;
    cr_assert_eq(PQntuples(res), 1);
    *out = strdup(PQgetvalue(res, 0, 0));
    return 0;
}

/* Run SQL with PARAMS and return the single text value (caller frees). */
static char *http_db_value(struct tgx_db *db, const char *sql, int n, const char *const *params)
{
    char *v = NULL;
    int rc = tgx_db_query(db, sql, n, params, http_db_text, &v);
    cr_assert_eq(rc, 0, "%s: %s", sql, tgx_db_last_error(db)->message ? tgx_db_last_error(db)->message : "");
    return v;
}

/* A key id no other test run uses. */
static long long http_db_unique(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)(ts.tv_sec % 100000) * 100000000LL + (long long)getpid() * 1000 + ts.tv_nsec % 1000;
}

Test(http_db, rate_limit_sync_function)
{
    const char *url = http_db_url();
    struct tgx_db *db = http_db_connect(url);
    char k1[32], k2[32], deltas[128];
    char *v;
    json_t *j;
    long long base = http_db_unique();
    const char *sql =
        "SELECT tgx.rate_limit_sync($1, to_timestamp($2::bigint), $3::jsonb, to_timestamp($2::bigint) "
        "+ interval '10 seconds')::text";
    const char *window = "1900000020"; /* a fixed future minute: no other run writes it */

    snprintf(k1, sizeof k1, "%lld", base);
    snprintf(k2, sizeof k2, "%lld", base + 1);
    snprintf(deltas, sizeof deltas, "{\"%s\": 3, \"%s\": 5}", k1, k2);
    v = http_db_value(db, sql, 3, (const char *const[]){"test-a", window, deltas});
    j = json_loads(v, 0, NULL);
    cr_expect_eq(json_integer_value(json_object_get(j, k1)), 3);
    cr_expect_eq(json_integer_value(json_object_get(j, k2)), 5);
    json_decref(j);
    free(v);
    /* another instance adds its own counts; totals are the sum */
    snprintf(deltas, sizeof deltas, "{\"%s\": 4}", k1);
    v = http_db_value(db, sql, 3, (const char *const[]){"test-b", window, deltas});
    j = json_loads(v, 0, NULL);
    cr_expect_eq(json_integer_value(json_object_get(j, k1)), 7);
    cr_expect_eq(json_integer_value(json_object_get(j, k2)), 5);
    json_decref(j);
    free(v);
    /* the same instance again adds up; an empty delta only reads */
    snprintf(deltas, sizeof deltas, "{\"%s\": 1}", k1);
    free(http_db_value(db, sql, 3, (const char *const[]){"test-a", window, deltas}));
    v = http_db_value(db, sql, 3, (const char *const[]){"test-c", window, "{}"});
    j = json_loads(v, 0, NULL);
    cr_expect_eq(json_integer_value(json_object_get(j, k1)), 8);
    json_decref(j);
    free(v);
    v = http_db_value(db,
                      "SELECT count(*)::text FROM tgx.rate_limit_counters WHERE key_id = $1::bigint "
                      "AND window_start = to_timestamp($2::bigint)",
                      2, (const char *const[]){k1, window});
    cr_expect_str_eq(v, "2"); /* one row per instance */
    free(v);

    /* bad input: 22023, nothing written */
    {
        static const char *const bad[] = {"{\"x\": 1}",     "{\"1\": -1}", "{\"1\": 1.5}",
                                          "{\"1\": \"2\"}", "[1]",         "3"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            cr_expect_eq(
                tgx_db_query(db, sql, 3, (const char *const[]){"test-a", window, bad[i]}, NULL, NULL),
                -TGX_ERR_DB, "%s", bad[i]);
            cr_expect_str_eq(tgx_db_last_error(db)->sqlstate, "22023", "%s", bad[i]);
        }
        cr_expect_eq(tgx_db_query(db, sql, 3, (const char *const[]){"", window, "{}"}, NULL, NULL),
                     -TGX_ERR_DB);
        cr_expect_str_eq(tgx_db_last_error(db)->sqlstate, "22023");
    }
    /* a call five minutes later prunes the window */
    free(http_db_value(
        db,
        "SELECT tgx.rate_limit_sync('test-a', to_timestamp($1::bigint) + interval '6 minutes', '{}', "
        "to_timestamp($1::bigint) + interval '6 minutes')::text",
        1, (const char *const[]){window}));
    v = http_db_value(
        db,
        "SELECT count(*)::text FROM tgx.rate_limit_counters WHERE window_start = to_timestamp($1::bigint)", 1,
        (const char *const[]){window});
    cr_expect_str_eq(v, "0");
    free(v);
    tgx_db_free(db);
}

static void http_db_wait_syncs(struct tgx_ratelimit *rl, uint64_t target)
{
    /* a condition, not a duration: the cap only stops a hang */
    for (int i = 0; i < 1000 && tgx_ratelimit_sync_count(rl) < target; i++)
        usleep(10000);
    cr_assert_geq(tgx_ratelimit_sync_count(rl), target, "the sync thread did not sync");
}

static int64_t http_db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(http_db, two_instances_share_one_limit)
{
    const char *url = http_db_url();
    struct tgx_ratelimit *a, *b;
    struct tgx_ratelimit_verdict v;
    int64_t key = http_db_unique();
    int allowed_b = 0;
    char ida[64], idb[64];

    /* keep the whole exchange inside one minute window (setup, not an assertion) */
    while (time(NULL) % 60 >= 45)
        usleep(200000);
    snprintf(ida, sizeof ida, "test-a-%d", (int)getpid());
    snprintf(idb, sizeof idb, "test-b-%d", (int)getpid());
    cr_assert_eq(tgx_ratelimit_create(&a), 0);
    cr_assert_eq(tgx_ratelimit_create(&b), 0);
    cr_assert_eq(tgx_ratelimit_sync_start(a, url, ida, 20), 0);
    cr_assert_eq(tgx_ratelimit_sync_start(b, url, idb, 20), 0);
    cr_expect_eq(tgx_ratelimit_sync_start(a, url, ida, 20), -TGX_ERR_STATE);

    for (int i = 0; i < 6; i++) {
        tgx_ratelimit_hit(a, key, 10, http_db_now_ms(), &v);
        cr_assert(v.allowed);
    }
    http_db_wait_syncs(a, tgx_ratelimit_sync_count(a) + 2);
    /* B never saw the key: its own syncs still bring the cluster total */
    http_db_wait_syncs(b, tgx_ratelimit_sync_count(b) + 2);
    for (int i = 0; i < 10; i++) {
        tgx_ratelimit_hit(b, key, 10, http_db_now_ms(), &v);
        allowed_b += v.allowed;
    }
    cr_expect_eq(allowed_b, 4, "6 on A + 4 on B = the limit of 10");
    /* and A learns B's hits */
    http_db_wait_syncs(b, tgx_ratelimit_sync_count(b) + 2);
    http_db_wait_syncs(a, tgx_ratelimit_sync_count(a) + 2);
    tgx_ratelimit_hit(a, key, 10, http_db_now_ms(), &v);
    cr_expect_not(v.allowed);
    tgx_ratelimit_free(a);
    tgx_ratelimit_free(b);
}

Test(http_db, sync_survives_a_bad_url)
{
    struct tgx_ratelimit *rl;
    struct tgx_ratelimit_verdict v;
    http_db_url();
    cr_assert_eq(tgx_ratelimit_create(&rl), 0);
    /* nothing listens on port 1: the thread logs, backs off and keeps the local counts */
    cr_assert_eq(tgx_ratelimit_sync_start(rl, "postgresql://nobody@127.0.0.1:1/x?connect_timeout=1", "t", 10),
                 0);
    tgx_ratelimit_hit(rl, 1, 2, http_db_now_ms(), &v);
    cr_expect(v.allowed);
    usleep(100000);
    tgx_ratelimit_hit(rl, 1, 2, http_db_now_ms(), &v);
    tgx_ratelimit_hit(rl, 1, 2, http_db_now_ms(), &v);
    cr_expect_not(v.allowed);
    cr_expect_eq(tgx_ratelimit_sync_count(rl), 0);
    tgx_ratelimit_free(rl); /* joins the thread promptly */
}

/* ---- the task feed, end to end ---- */

static int http_db_feed_noauth(void *ctx, const unsigned char key_hash[32], struct tgx_http_auth *out)
{
    (void)ctx;
    (void)key_hash;
    out->key_id = 1;
    snprintf(out->owner, sizeof out->owner, "%s", (const char *)ctx);
    out->rate_limit = 1000;
    return 0;
}

static const struct tgx_route http_db_routes[] = {
    {"GET", "/api/ws/tasks", tgx_http_ws_tasks_handler, TGX_ROUTE_OPEN, "ws_tasks"},
};

static int http_db_ws_open(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    const char *req = "GET /api/ws/tasks?api_key=TGRX-x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    char head[2048];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    while (got + 1 < sizeof head && recv(fd, head + got, 1, 0) == 1) {
        got++;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[got] = '\0';
    cr_assert_not_null(strstr(head, " 101 "), "%s", head);
    return fd;
}

static void http_db_ws_send(int fd, const char *text)
{
    static const uint8_t mask[4] = {1, 2, 3, 4};
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_ws_encode(&b, TGX_WS_TEXT, text, strlen(text), mask);
    cr_assert_eq(send(fd, b.data, b.len, MSG_NOSIGNAL), (ssize_t)b.len);
    tgx_buf_cleanup(&b);
}

/* The next text frame within MS milliseconds as a new JSON reference, or NULL. */
static json_t *http_db_ws_next(int fd, int ms)
{
    static uint8_t buf[70000];
    static size_t have;
    for (;;) {
        struct tgx_ws_frame f;
        long n = tgx_ws_decode(buf, have, sizeof buf, false, &f);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k;
        cr_assert_geq(n, 0);
        if (n > 0) {
            json_t *j = f.opcode == TGX_WS_TEXT ? json_loadb((const char *)f.payload, f.len, 0, NULL) : NULL;
            memmove(buf, buf + n, have - (size_t)n);
            have -= (size_t)n;
            if (j != NULL)
                return j;
            continue;
        }
        if (poll(&p, 1, ms) <= 0)
            return NULL;
        k = recv(fd, buf + have, sizeof buf - have, 0);
        cr_assert_gt(k, 0, "the server closed the WebSocket");
        have += (size_t)k;
    }
}

Test(http_db, task_feed_end_to_end)
{
    const char *url = http_db_url();
    struct tgx_http_config cfg = {0};
    struct tgx_http_server *srv;
    struct tgx_db *db = http_db_connect(url);
    char owner[43], job[32], sub[160];
    json_t *j = NULL;
    int fd;
    long long u = http_db_unique();
    bool created = false, changed = false;

    snprintf(owner, sizeof owner, "0x%040llx", u);
    snprintf(job, sizeof job, "%lld", u);
    cfg.listen_host = "127.0.0.1";
    cfg.routes = http_db_routes;
    cfg.nroutes = 1;
    cfg.authenticate = http_db_feed_noauth;
    cfg.auth_ctx = owner;
    cfg.database_url = url;
    cfg.instance_id = "test-feed";
    cr_assert_eq(tgx_http_server_create(&cfg, &srv), 0);
    cr_assert_eq(tgx_http_server_start(srv), 0);

    cr_assert_eq(tgx_db_query(db, "INSERT INTO tgx.users (user_address) VALUES ($1)", 1,
                              (const char *const[]){owner}, NULL, NULL),
                 0, "%s", tgx_db_last_error(db)->message);
    cr_assert_eq(
        tgx_db_query(db,
                     "INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, "
                     "created_chain_id, target_chain_id, target_contract_address, expiration_time) "
                     "SELECT $1::numeric, 'feed test', 1, u.user_id, 100, '1', '1', "
                     "'0x00000000000000000000000000000000000000bb', now() + interval '1 day' "
                     "FROM tgx.users u WHERE u.user_address = $2",
                     2, (const char *const[]){job, owner}, NULL, NULL),
        0, "%s", tgx_db_last_error(db)->message);

    fd = http_db_ws_open(tgx_http_server_port(srv));
    snprintf(sub, sizeof sub, "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"user:%s\"}}", owner);
    http_db_ws_send(fd, sub);
    j = http_db_ws_next(fd, 10000);
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "SUCCESS");
    json_decref(j);

    /* the listener may still be connecting: create tasks until one is announced */
    for (int i = 0; i < 50 && !created; i++) {
        cr_assert_eq(
            tgx_db_query(db, "INSERT INTO tgx.tasks (job_id, task_definition_id) VALUES ($1::numeric, 1)", 1,
                         (const char *const[]){job}, NULL, NULL),
            0);
        while ((j = http_db_ws_next(fd, 200)) != NULL) {
            json_t *d = json_object_get(j, "data");
            if (strcmp(json_string_value(json_object_get(j, "type")), "TASK_CREATED") == 0) {
                created = true;
                cr_expect_str_eq(json_string_value(json_object_get(d, "job_id")), job);
                cr_expect_str_eq(json_string_value(json_object_get(d, "user_id")), owner);
                cr_expect(json_is_integer(json_object_get(d, "task_id")));
                cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "changes"), "status")),
                                 "pending");
            }
            json_decref(j);
        }
    }
    cr_assert(created, "no TASK_CREATED frame arrived");

    /* the database drops the listener: it reconnects (with back-off) and events flow again */
    {
        char *n = http_db_value(db,
                                "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity "
                                "WHERE application_name = 'tgxd-feed' AND datname = current_database()",
                                0, NULL);
        char *last = http_db_value(db, "SELECT max(task_id)::text FROM tgx.tasks WHERE job_id = $1::numeric",
                                   1, (const char *const[]){job});
        long long after = atoll(last);
        bool again = false;
        cr_expect_geq(atoi(n), 1, "no feed connection to terminate");
        free(n);
        free(last);
        for (int i = 0; i < 100 && !again; i++) {
            cr_assert_eq(
                tgx_db_query(db, "INSERT INTO tgx.tasks (job_id, task_definition_id) VALUES ($1::numeric, 1)",
                             1, (const char *const[]){job}, NULL, NULL),
                0);
            while ((j = http_db_ws_next(fd, 200)) != NULL) {
                json_t *d = json_object_get(j, "data");
                if (strcmp(json_string_value(json_object_get(j, "type")), "TASK_CREATED") == 0 &&
                    json_integer_value(json_object_get(d, "task_id")) > after)
                    again = true;
                json_decref(j);
            }
        }
        cr_assert(again, "no event after the listener lost its connection");
    }

    /* a state change of the job's tasks: TASK_STATUS_CHANGED with the old state */
    cr_assert_eq(tgx_db_query(db,
                              "UPDATE tgx.tasks SET state = 'cancelled', finished_at = now() "
                              "WHERE job_id = $1::numeric",
                              1, (const char *const[]){job}, NULL, NULL),
                 0);
    while (!changed && (j = http_db_ws_next(fd, 10000)) != NULL) {
        if (strcmp(json_string_value(json_object_get(j, "type")), "TASK_STATUS_CHANGED") == 0) {
            json_t *ch = json_object_get(json_object_get(j, "data"), "changes");
            changed = true;
            cr_expect_str_eq(json_string_value(json_object_get(ch, "status")), "cancelled");
            cr_expect_str_eq(json_string_value(json_object_get(ch, "old_status")), "pending");
        }
        json_decref(j);
    }
    cr_expect(changed, "no TASK_STATUS_CHANGED frame arrived");
    close(fd);
    tgx_http_server_free(srv);
    tgx_db_free(db);
}
