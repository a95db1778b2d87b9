/* test_http_router.c: route matching (static over parameters, parameters, 404) and JSON depth. */
#include <criterion/criterion.h>
#include <string.h>

#include "tgx/http.h"

static int http_router_dummy(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)req;
    (void)resp;
    (void)ctx;
    return 0;
}

/* A table shaped like the real one (triggerx-api.md §1), in an order that would break a
 * first-match router. */
static const struct tgx_route http_router_routes[] = {
    {"GET", "/api/jobs/:job_id/task-fees", http_router_dummy, 0, "task_fees"},
    {"GET", "/api/jobs/time", http_router_dummy, 0, "jobs_time"},
    {"GET", "/api/jobs/by-apikey", http_router_dummy, TGX_ROUTE_KEY, "jobs_by_apikey"},
    {"PUT", "/api/jobs/:id/status/:status", http_router_dummy, 0, "job_status"},
    {"GET", "/api/jobs/user/:user_address", http_router_dummy, 0, "jobs_by_user"},
    {"GET", "/api/jobs/user/:user_address/:job_id", http_router_dummy, 0, "job_by_user"},
    {"GET", "/api/jobs/user/:user_address/chain/:created_chain_id", http_router_dummy, 0, "jobs_by_chain"},
    {"GET", "/api/keepers/:id", http_router_dummy, 0, "keeper"},
    {"GET", "/api/keepers/performers", http_router_dummy, 0, "performers"},
    {"GET", "/api/keepers/com-info/:id", http_router_dummy, 0, "com_info"},
    {"GET", "/api/tasks/:id", http_router_dummy, 0, "task"},
    {"GET", "/api/tasks/recent", http_router_dummy, 0, "recent"},
    {"POST", "/api/jobs", http_router_dummy, 0, "create_job"},
    {"DELETE", "/api/admin/api-keys/:key", http_router_dummy, TGX_ROUTE_ADMIN, "delete_key"},
    {"GET", "/api/admin/api-keys/:owner", http_router_dummy, TGX_ROUTE_ADMIN, "list_keys"},
    {"GET", "/metrics", http_router_dummy, 0, "metrics"},
    {"GET", "/a/:x/c", http_router_dummy, 0, "a_x_c"},
    {"GET", "/a/b/:y", http_router_dummy, 0, "a_b_y"},
};
#define HTTP_ROUTER_N (sizeof http_router_routes / sizeof http_router_routes[0])

struct http_router_case {
    const char *method, *path;
    const char *name; /* NULL: 404 */
    const char *p1, *v1, *p2, *v2;
};

static const struct http_router_case http_router_cases[] = {
    {"GET", "/api/jobs/time", "jobs_time", NULL, NULL, NULL, NULL},
    {"GET", "/api/jobs/by-apikey", "jobs_by_apikey", NULL, NULL, NULL, NULL},
    {"GET", "/api/jobs/77/task-fees", "task_fees", "job_id", "77", NULL, NULL},
    {"GET", "/api/jobs/time/task-fees", "task_fees", "job_id", "time", NULL, NULL}, /* backtracking */
    {"PUT", "/api/jobs/5/status/paused", "job_status", "id", "5", "status", "paused"},
    {"GET", "/api/jobs/user/0xabc", "jobs_by_user", "user_address", "0xabc", NULL, NULL},
    {"GET", "/api/jobs/user/0xabc/12", "job_by_user", "user_address", "0xabc", "job_id", "12"},
    {"GET", "/api/jobs/user/0xabc/chain/1", "jobs_by_chain", "user_address", "0xabc", "created_chain_id",
     "1"},
    {"GET", "/api/keepers/performers", "performers", NULL, NULL, NULL, NULL},
    {"GET", "/api/keepers/9", "keeper", "id", "9", NULL, NULL},
    {"GET", "/api/keepers/com-info/9", "com_info", "id", "9", NULL, NULL},
    {"GET", "/api/tasks/recent", "recent", NULL, NULL, NULL, NULL},
    {"GET", "/api/tasks/31", "task", "id", "31", NULL, NULL},
    {"POST", "/api/jobs", "create_job", NULL, NULL, NULL, NULL},
    {"DELETE", "/api/admin/api-keys/TGRX-1", "delete_key", "key", "TGRX-1", NULL, NULL},
    {"GET", "/api/admin/api-keys/0xowner", "list_keys", "owner", "0xowner", NULL, NULL},
    {"GET", "/metrics", "metrics", NULL, NULL, NULL, NULL},
    {"GET", "/a/b/c", "a_b_y", "y", "c", NULL, NULL}, /* static 'b' at level 2 wins */
    {"GET", "/a/z/c", "a_x_c", "x", "z", NULL, NULL},
    /* 404s: unknown, wrong method, trailing slash, extra or missing segments, empty segment */
    {"GET", "/api/nothing", NULL, NULL, NULL, NULL, NULL},
    {"POST", "/api/jobs/time", NULL, NULL, NULL, NULL, NULL},
    {"GET", "/api/jobs", NULL, NULL, NULL, NULL, NULL},
    {"POST", "/api/jobs/", NULL, NULL, NULL, NULL, NULL},
    {"GET", "/api/tasks/1/extra", NULL, NULL, NULL, NULL, NULL},
    {"GET", "/api//tasks", NULL, NULL, NULL, NULL, NULL},
    {"GET", "/metrics/", NULL, NULL, NULL, NULL, NULL},
    {"GET", "/", NULL, NULL, NULL, NULL, NULL},
    {"GET", "", NULL, NULL, NULL, NULL, NULL},
    {"GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", NULL, NULL, NULL, NULL, NULL},
};

Test(http_router, table)
{
    struct tgx_http_router *r;
    struct tgx_http_match *m = malloc(sizeof *m);
    cr_assert_eq(tgx_http_router_create(http_router_routes, HTTP_ROUTER_N, &r), 0);
    for (size_t i = 0; i < sizeof http_router_cases / sizeof http_router_cases[0]; i++) {
        const struct http_router_case *c = &http_router_cases[i];
        int rc = tgx_http_router_match(r, c->method, c->path, m);
        if (c->name == NULL) {
            cr_expect_eq(rc, -TGX_ERR_NOTFOUND, "row %zu: %s %s should be 404", i, c->method, c->path);
            cr_expect_null(m->route, "row %zu", i);
            continue;
        }
        cr_assert_eq(rc, 0, "row %zu: %s %s should match", i, c->method, c->path);
        cr_expect_str_eq(m->route->name, c->name, "row %zu: %s", i, c->path);
        if (c->p1 != NULL)
            cr_expect_str_eq(tgx_http_match_param(m, c->p1), c->v1, "row %zu param %s", i, c->p1);
        if (c->p2 != NULL)
            cr_expect_str_eq(tgx_http_match_param(m, c->p2), c->v2, "row %zu param %s", i, c->p2);
        cr_expect_null(tgx_http_match_param(m, "nope"), "row %zu", i);
    }
    free(m);
    tgx_http_router_free(r);
}

Test(http_router, rejects_bad_tables)
{
    static const struct tgx_route dup[] = {
        {"GET", "/api/x/:a", http_router_dummy, 0, "one"},
        {"GET", "/api/x/:b", http_router_dummy, 0, "two"}, /* same shape: ambiguous */
    };
    static const struct tgx_route noslash[] = {{"GET", "api/x", http_router_dummy, 0, "x"}};
    static const struct tgx_route empty[] = {{"GET", "/api//x", http_router_dummy, 0, "x"}};
    static const struct tgx_route trailing[] = {{"GET", "/api/x/", http_router_dummy, 0, "x"}};
    static const struct tgx_route bareparam[] = {{"GET", "/api/:", http_router_dummy, 0, "x"}};
    static const struct tgx_route ok_methods[] = {
        {"GET", "/api/x/:a", http_router_dummy, 0, "one"},
        {"PUT", "/api/x/:b", http_router_dummy, 0, "two"},
    };
    struct tgx_http_router *r = NULL;
    cr_expect_eq(tgx_http_router_create(dup, 2, &r), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_http_router_create(noslash, 1, &r), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_http_router_create(empty, 1, &r), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_http_router_create(trailing, 1, &r), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_http_router_create(bareparam, 1, &r), -TGX_ERR_INVAL);
    cr_expect_null(r);
    cr_assert_eq(tgx_http_router_create(ok_methods, 2, &r), 0);
    tgx_http_router_free(r);
}

Test(http_router, long_path_is_404)
{
    struct tgx_http_router *r;
    struct tgx_http_match *m = malloc(sizeof *m);
    char *path = malloc(4096);
    cr_assert_eq(tgx_http_router_create(http_router_routes, HTTP_ROUTER_N, &r), 0);
    strcpy(path, "/api/tasks/");
    memset(path + 11, '7', 4000);
    path[4011] = '\0';
    cr_expect_eq(tgx_http_router_match(r, "GET", path, m), -TGX_ERR_NOTFOUND);
    free(path);
    free(m);
    tgx_http_router_free(r);
}

struct http_depth_case {
    const char *json;
    unsigned max;
    bool too_deep;
};

Test(http_json, depth_check)
{
    static const struct http_depth_case cases[] = {
        {"1", 0, false},
        {"[]", 0, true},
        {"[]", 1, false},
        {"[[1]]", 1, true},
        {"[[1]]", 2, false},
        {"{\"a\":{\"b\":[1]}}", 3, false},
        {"{\"a\":{\"b\":[1]}}", 2, true},
        {"[\"[[[[[[\"]", 1, false},   /* brackets in strings do not count */
        {"[\"\\\"[[[[\"]", 1, false}, /* nor after an escaped quote */
        {"[1],[2],[3]", 1, false},    /* depth, not count */
        {"]]]]]][", 1, false},        /* stray closers never go negative */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_http_json_too_deep(cases[i].json, strlen(cases[i].json), cases[i].max),
                     cases[i].too_deep, "row %zu: %s", i, cases[i].json);
}

Test(http_json, very_deep_input_does_not_recurse)
{
    size_t n = 100000;
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    cr_expect(tgx_http_json_too_deep(s, 2 * n, 32));
    cr_expect_not(tgx_http_json_too_deep(s, 2 * n, (unsigned)n));
    free(s);
}
