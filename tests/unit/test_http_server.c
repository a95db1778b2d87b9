/* test_http_server.c: a real server on 127.0.0.1 (port 0) with a tiny route table, driven by
 * libcurl and, for the WebSocket, by a raw socket. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../src/http/internal.h"
#include "tgx/http.h"
#include "tgx/sha256.h"
#include "tgx/ws.h"

#define HTTP_SRV_OWNER "0x00000000000000000000000000000000000000aa"

static _Atomic int http_srv_auth_calls;

static int http_srv_authenticate(void *ctx, const unsigned char key_hash[32], struct tgx_http_auth *out)
{
    uint8_t user[32], admin[32], broken[32];
    (void)ctx;
    atomic_fetch_add(&http_srv_auth_calls, 1);
    if (tgx_sha256("TGRX-user", 9, user) < 0 || tgx_sha256("TGRX-admin", 10, admin) < 0 ||
        tgx_sha256("TGRX-broken", 11, broken) < 0)
        return -TGX_ERR_CRYPTO;
    if (memcmp(key_hash, user, 32) == 0) {
        out->key_id = 1;
        snprintf(out->owner, sizeof out->owner, "%s", HTTP_SRV_OWNER);
        out->is_admin = false;
        out->rate_limit = 5;
        return 0;
    }
    if (memcmp(key_hash, admin, 32) == 0) {
        out->key_id = 2;
        snprintf(out->owner, sizeof out->owner, "admin");
        out->is_admin = true;
        out->rate_limit = 1000;
        return 0;
    }
    if (memcmp(key_hash, broken, 32) == 0)
        return -TGX_ERR_DB;
    return -TGX_ERR_NOTFOUND;
}

static int http_srv_open(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)ctx;
    tgx_http_resp_json(resp, 200, json_pack("{s:b, s:s}", "ok", 1, "trace", tgx_http_trace_id(req)));
    return 0;
}

static int http_srv_echo(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    json_t *body;
    (void)ctx;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    tgx_http_resp_json(resp, 200, body);
    return 0;
}

static int http_srv_keyed(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    const struct tgx_http_auth *a = tgx_http_auth(req);
    (void)ctx;
    tgx_http_resp_json(resp, 200,
                       json_pack("{s:s, s:s, s:I, s:s?}", "owner", a->owner, "id", tgx_http_param(req, "id"),
                                 "key_id", (json_int_t)a->key_id, "q", tgx_http_query(req, "q")));
    return 0;
}

static int http_srv_fail(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)req;
    (void)resp;
    (void)ctx;
    return -TGX_ERR_DB;
}

static int http_srv_gauges(void *ctx, struct tgx_metrics_out *out)
{
    (void)ctx;
    tgx_metrics_gauge(out, "tgx_queue_depth", "Tasks by state", "state=\"pending\"", 7);
    return 0;
}

static int http_srv_ws_authorize(void *ctx, const struct tgx_http_auth *auth, const char *kind,
                                 const char *id)
{
    (void)ctx;
    (void)auth;
    (void)kind;
    return strcmp(id, "666") == 0 ? -TGX_ERR_NOTFOUND : 0;
}

static int http_srv_ws_snapshot(void *ctx, const struct tgx_http_auth *auth, const char *job_id, json_t **out)
{
    (void)ctx;
    (void)auth;
    *out = json_pack("{s:s, s:[{s:i}]}", "job_id", job_id, "tasks", "task_id", 11);
    return *out != NULL ? 0 : -TGX_ERR_NOMEM;
}

static const struct tgx_route http_srv_routes[] = {
    {"GET", "/api/open", http_srv_open, TGX_ROUTE_OPEN, "open"},
    {"POST", "/api/echo", http_srv_echo, TGX_ROUTE_OPEN, "echo"},
    {"GET", "/api/keyed/:id", http_srv_keyed, TGX_ROUTE_KEY, "keyed"},
    {"GET", "/api/admin/thing", http_srv_open, TGX_ROUTE_ADMIN, "admin_thing"},
    {"GET", "/api/fail", http_srv_fail, TGX_ROUTE_OPEN, "fail"},
    {"GET", "/metrics", tgx_http_metrics_handler, TGX_ROUTE_OPEN, "metrics"},
    {"GET", "/api/ws/tasks", tgx_http_ws_tasks_handler, TGX_ROUTE_OPEN, "ws_tasks"},
    {"GET", "/api/ws/stats", tgx_http_ws_stats_handler, TGX_ROUTE_OPEN, "ws_stats"},
    {"GET", "/api/ws/health", tgx_http_ws_health_handler, TGX_ROUTE_OPEN, "ws_health"},
};

static struct tgx_http_server *http_srv;
static char http_srv_base[64];

static void http_srv_setup(void)
{
    struct tgx_http_config cfg = {0};
    cfg.listen_host = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 2;
    cfg.body_limit = 4096;
    cfg.json_depth = 16;
    cfg.routes = http_srv_routes;
    cfg.nroutes = sizeof http_srv_routes / sizeof http_srv_routes[0];
    cfg.authenticate = http_srv_authenticate;
    cfg.ws_authorize = http_srv_ws_authorize;
    cfg.ws_snapshot = http_srv_ws_snapshot;
    cfg.metrics_collect = http_srv_gauges;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cr_assert_eq(tgx_http_server_create(&cfg, &http_srv), 0);
    cr_assert_eq(tgx_http_server_start(http_srv), 0);
    cr_assert_neq(tgx_http_server_port(http_srv), 0);
    snprintf(http_srv_base, sizeof http_srv_base, "http://127.0.0.1:%u",
             (unsigned)tgx_http_server_port(http_srv));
}

static void http_srv_teardown(void)
{
    tgx_http_server_free(http_srv);
    http_srv = NULL;
    curl_global_cleanup();
}

TestSuite(http_server, .init = http_srv_setup, .fini = http_srv_teardown);

/* ---- a small libcurl client ---- */

struct http_srv_reply {
    long status;
    struct tgx_buf body;
    struct tgx_buf headers; /* raw header lines */
};

static size_t http_srv_write(char *p, size_t size, size_t n, void *arg)
{
    tgx_buf_append(arg, p, size * n);
    return size * n;
}

struct http_srv_src {
    const char *p;
    size_t left;
};

static size_t http_srv_read(char *buf, size_t size, size_t n, void *arg)
{
    struct http_srv_src *s = arg;
    size_t k = size * n < s->left ? size * n : s->left;
    if (k > 700)
        k = 700; /* several chunks */
    memcpy(buf, s->p, k);
    s->p += k;
    s->left -= k;
    return k;
}

/* Perform METHOD PATH with NULL-terminated header lines HDRS and BODY (NULL: none) on handle C. */
static void http_srv_do(CURL *c, const char *method, const char *path, const char *const *hdrs,
                        const char *body, struct http_srv_reply *r)
{
    char url[512];
    struct curl_slist *sl = NULL;
    snprintf(url, sizeof url, "%s%s", http_srv_base, path);
    tgx_buf_init(&r->body);
    tgx_buf_init(&r->headers);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_srv_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_srv_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    bool chunked = false;
    struct http_srv_src src = {body, body != NULL ? strlen(body) : 0};
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
        sl = curl_slist_append(sl, hdrs[i]);
        chunked |= strcasecmp(hdrs[i], "Transfer-Encoding: chunked") == 0;
    }
    /* reset the handle to a GET (a NULL POSTFIELDS would make curl read stdin) */
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (body != NULL && chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, http_srv_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
    } else if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    sl = curl_slist_append(sl, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s", method, path);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(sl);
}

static void http_srv_reply_free(struct http_srv_reply *r)
{
    tgx_buf_cleanup(&r->body);
    tgx_buf_cleanup(&r->headers);
}

/* The value of response header NAME (case-insensitive) copied into OUT, or false. */
static bool http_srv_header(const struct http_srv_reply *r, const char *name, char *out, size_t cap)
{
    const char *p = r->headers.data;
    size_t nl = strlen(name);
    while (p != NULL && *p) {
        const char *eol = strstr(p, "\r\n");
        if (eol == NULL)
            break;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            size_t len;
            while (*v == ' ')
                v++;
            len = (size_t)(eol - v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
        p = eol + 2;
    }
    return false;
}

static json_t *http_srv_json(const struct http_srv_reply *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body.data != NULL ? r->body.data : "", r->body.len, 0, &e);
    cr_assert_not_null(j, "not JSON: %s", r->body.data ? r->body.data : "");
    return j;
}

static void http_srv_expect_error(const struct http_srv_reply *r, long status, const char *code)
{
    json_t *j;
    char ct[128];
    cr_expect_eq(r->status, status, "body %s", r->body.data ? r->body.data : "");
    cr_assert(http_srv_header(r, "Content-Type", ct, sizeof ct));
    cr_expect_not_null(strstr(ct, "application/json"), "%s", ct);
    j = http_srv_json(r);
    cr_expect_str_eq(json_string_value(json_object_get(j, "code")), code);
    cr_expect(json_is_string(json_object_get(j, "error")));
    json_decref(j);
}

Test(http_server, keep_alive_two_requests_one_connection)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r1, r2;
    long n1 = -1, n2 = -1;
    char conn[64] = "";
    http_srv_do(c, "GET", "/api/open", NULL, NULL, &r1);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n1);
    http_srv_do(c, "GET", "/api/open", NULL, NULL, &r2);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n2);
    cr_expect_eq(r1.status, 200);
    cr_expect_eq(r2.status, 200);
    cr_expect_eq(n1, 1);
    cr_expect_eq(n2, 0, "the second request opened a new connection");
    cr_expect(!http_srv_header(&r1, "Connection", conn, sizeof conn) || strcasecmp(conn, "close") != 0);
    /* POST bodies keep the connection too */
    http_srv_reply_free(&r1);
    http_srv_do(c, "POST", "/api/echo", (const char *const[]){"Content-Type: application/json", NULL},
                "{\"a\":1}", &r1);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n1);
    cr_expect_eq(r1.status, 200);
    cr_expect_str_eq(r1.body.data, "{\"a\":1}");
    cr_expect_eq(n1, 0);
    http_srv_reply_free(&r1);
    http_srv_reply_free(&r2);
    curl_easy_cleanup(c);
}

Test(http_server, not_found_is_plain_text)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char ct[64];
    http_srv_do(c, "GET", "/api/nothing", NULL, NULL, &r);
    cr_expect_eq(r.status, 404);
    cr_expect_str_eq(r.body.data, "404 page not found");
    cr_assert(http_srv_header(&r, "Content-Type", ct, sizeof ct));
    cr_expect_str_eq(ct, "text/plain");
    http_srv_reply_free(&r);
    /* a known path with another method is 404 as well */
    http_srv_do(c, "DELETE", "/api/open", NULL, NULL, &r);
    cr_expect_eq(r.status, 404);
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, body_limit_413)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char *big = malloc(5001);
    memset(big, ' ', 5000);
    big[0] = '[';
    big[4998] = ']';
    big[5000] = '\0';
    http_srv_do(c, "POST", "/api/echo", (const char *const[]){"Content-Type: application/json", NULL}, big,
                &r);
    http_srv_expect_error(&r, 413, "PAYLOAD_TOO_LARGE");
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
    /* declared far above the limit (more than 16 times): answered before the body is read */
    char *huge = malloc(100001);
    memset(huge, ' ', 100000);
    huge[100000] = '\0';
    c = curl_easy_init();
    http_srv_do(c, "POST", "/api/echo", (const char *const[]){"Content-Type: application/json", NULL}, huge,
                &r);
    http_srv_expect_error(&r, 413, "PAYLOAD_TOO_LARGE");
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
    free(huge);
    /* chunked (no Content-Length): refused once the limit is passed */
    c = curl_easy_init();
    http_srv_do(c, "POST", "/api/echo",
                (const char *const[]){"Content-Type: application/json", "Transfer-Encoding: chunked", NULL},
                big, &r);
    http_srv_expect_error(&r, 413, "PAYLOAD_TOO_LARGE");
    http_srv_reply_free(&r);
    /* at the limit exactly: accepted */
    big[4095] = ']';
    big[4096] = '\0';
    curl_easy_cleanup(c);
    c = curl_easy_init();
    http_srv_do(c, "POST", "/api/echo", NULL, big, &r);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    http_srv_reply_free(&r);
    free(big);
    curl_easy_cleanup(c);
}

Test(http_server, json_errors_are_400)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char deep[2001];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    http_srv_do(c, "POST", "/api/echo", NULL, deep, &r);
    http_srv_expect_error(&r, 400, "INVALID_REQUEST");
    http_srv_reply_free(&r);
    http_srv_do(c, "POST", "/api/echo", NULL, "{\"a\":", &r);
    http_srv_expect_error(&r, 400, "INVALID_REQUEST");
    http_srv_reply_free(&r);
    http_srv_do(c, "POST", "/api/echo", NULL, "", &r);
    http_srv_expect_error(&r, 400, "INVALID_REQUEST");
    http_srv_reply_free(&r);
    http_srv_do(c, "POST", "/api/echo", NULL, "[\"\xff\xfe\"]", &r); /* not UTF-8: still a JSON error */
    http_srv_expect_error(&r, 400, "INVALID_REQUEST");
    http_srv_reply_free(&r);
    http_srv_do(c, "POST", "/api/echo", NULL, "\xff", &r);
    http_srv_expect_error(&r, 400, "INVALID_REQUEST");
    http_srv_reply_free(&r);
    http_srv_do(c, "POST", "/api/echo", NULL, "{\"a\":1,\"a\":2}", &r);
    http_srv_expect_error(&r, 400, "INVALID_REQUEST");
    http_srv_reply_free(&r);
    /* 16 levels is the configured limit: accepted */
    http_srv_do(c, "POST", "/api/echo", NULL, "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", &r);
    cr_expect_eq(r.status, 200);
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, options_and_cors)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char v[512];
    http_srv_do(
        c, "OPTIONS", "/api/anything/at/all",
        (const char *const[]){"Origin: https://app.example", "Access-Control-Request-Method: DELETE", NULL},
        NULL, &r);
    cr_expect_eq(r.status, 204);
    cr_expect_eq(r.body.len, 0);
    cr_assert(http_srv_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    cr_expect_str_eq(v, "https://app.example");
    cr_assert(http_srv_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
    cr_expect_str_eq(v, "GET, POST, PUT, DELETE, OPTIONS");
    cr_assert(http_srv_header(&r, "Access-Control-Allow-Headers", v, sizeof v));
    cr_expect_str_eq(v,
                     "Content-Type, Authorization, Accept, Content-Length, Accept-Encoding, Origin, "
                     "X-Requested-With, X-CSRF-Token, X-Auth-Token, X-Api-Key, ngrok-skip-browser-warning, "
                     "X-Trace-ID");
    cr_assert(http_srv_header(&r, "Access-Control-Allow-Credentials", v, sizeof v));
    cr_expect_str_eq(v, "false");
    http_srv_reply_free(&r);
    /* no Origin: "*"; CORS on errors too */
    http_srv_do(c, "GET", "/api/keyed/1", NULL, NULL, &r);
    cr_expect_eq(r.status, 401);
    cr_assert(http_srv_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    cr_expect_str_eq(v, "*");
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, trace_id_echoed_or_generated)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char v[256];
    json_t *j;
    http_srv_do(c, "GET", "/api/open", (const char *const[]){"X-Trace-ID: get-open-b92266-3bce36aa", NULL},
                NULL, &r);
    cr_assert(http_srv_header(&r, "X-Trace-ID", v, sizeof v));
    cr_expect_str_eq(v, "get-open-b92266-3bce36aa");
    j = http_srv_json(&r);
    cr_expect_str_eq(json_string_value(json_object_get(j, "trace")), "get-open-b92266-3bce36aa");
    json_decref(j);
    http_srv_reply_free(&r);
    /* none: a UUID v4 */
    http_srv_do(c, "GET", "/api/open", NULL, NULL, &r);
    cr_assert(http_srv_header(&r, "X-Trace-ID", v, sizeof v));
    cr_expect_eq(strlen(v), 36);
    cr_expect_eq(v[14], '4');
    http_srv_reply_free(&r);
    /* on 404 and on errors too */
    http_srv_do(c, "GET", "/nope", (const char *const[]){"x-trace-id: abc", NULL}, NULL, &r);
    cr_assert(http_srv_header(&r, "X-Trace-ID", v, sizeof v));
    cr_expect_str_eq(v, "abc");
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, authentication)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    json_t *j;
    int calls;
    http_srv_do(c, "GET", "/api/keyed/9", NULL, NULL, &r);
    http_srv_expect_error(&r, 401, "API_KEY_REQUIRED");
    http_srv_reply_free(&r);
    http_srv_do(c, "GET", "/api/keyed/9", (const char *const[]){"X-Api-Key: TGRX-nobody", NULL}, NULL, &r);
    http_srv_expect_error(&r, 403, "INVALID_API_KEY");
    http_srv_reply_free(&r);
    http_srv_do(c, "GET", "/api/keyed/9", (const char *const[]){"X-Api-Key: TGRX-broken", NULL}, NULL, &r);
    http_srv_expect_error(&r, 500, "INTERNAL");
    http_srv_reply_free(&r);
    calls = atomic_load(&http_srv_auth_calls);
    http_srv_do(c, "GET", "/api/keyed/9?q=x%20y",
                (const char *const[]){"x-api-key: TGRX-user", "Authorization: Bearer TGRX-user", NULL}, NULL,
                &r);
    cr_expect_eq(r.status, 200);
    j = http_srv_json(&r);
    cr_expect_str_eq(json_string_value(json_object_get(j, "owner")), HTTP_SRV_OWNER);
    cr_expect_str_eq(json_string_value(json_object_get(j, "id")), "9");
    cr_expect_str_eq(json_string_value(json_object_get(j, "q")), "x y");
    cr_expect_eq(json_integer_value(json_object_get(j, "key_id")), 1);
    json_decref(j);
    http_srv_reply_free(&r);
    /* the answer is cached: a second request does not ask again */
    http_srv_do(c, "GET", "/api/keyed/9", (const char *const[]){"X-API-KEY: TGRX-user", NULL}, NULL, &r);
    cr_expect_eq(r.status, 200);
    http_srv_reply_free(&r);
    cr_expect_eq(atomic_load(&http_srv_auth_calls), calls + 1);
    /* admin routes */
    http_srv_do(c, "GET", "/api/admin/thing", (const char *const[]){"X-Api-Key: TGRX-user", NULL}, NULL, &r);
    http_srv_expect_error(&r, 403, "ADMIN_REQUIRED");
    http_srv_reply_free(&r);
    http_srv_do(c, "GET", "/api/admin/thing", NULL, NULL, &r);
    http_srv_expect_error(&r, 401, "API_KEY_REQUIRED");
    http_srv_reply_free(&r);
    http_srv_do(c, "GET", "/api/admin/thing", (const char *const[]){"X-Api-Key: TGRX-admin", NULL}, NULL, &r);
    cr_expect_eq(r.status, 200);
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, rate_limit_429)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char v[64], reset0[64] = "";
    /* the user key allows 5 per minute in windows aligned to the minute: keep the six requests
     * inside one window by not starting in its last seconds (setup, not an assertion) */
    while (time(NULL) % 60 >= 55)
        usleep(200000);
    for (int i = 0; i < 6; i++) {
        http_srv_do(c, "GET", "/api/keyed/1", (const char *const[]){"X-Api-Key: TGRX-user", NULL}, NULL, &r);
        cr_assert(http_srv_header(&r, "X-RateLimit-Limit", v, sizeof v));
        cr_expect_str_eq(v, "5");
        cr_assert(http_srv_header(&r, "X-RateLimit-Reset", v, sizeof v));
        cr_expect_eq(atoll(v) % 60, 0);
        if (i == 0)
            snprintf(reset0, sizeof reset0, "%s", v);
        cr_expect_str_eq(v, reset0);
        cr_assert(http_srv_header(&r, "X-RateLimit-Remaining", v, sizeof v));
        if (i < 5) {
            cr_expect_eq(r.status, 200, "request %d", i);
            cr_expect_eq(atoi(v), 4 - i);
            cr_expect_not(http_srv_header(&r, "Retry-After", v, sizeof v));
        } else {
            http_srv_expect_error(&r, 429, "RATE_LIMIT_EXCEEDED");
            cr_expect_eq(atoi(v), 0);
            cr_assert(http_srv_header(&r, "Retry-After", v, sizeof v));
            cr_expect_geq(atoi(v), 1);
            cr_expect_leq(atoi(v), 60);
        }
        http_srv_reply_free(&r);
    }
    /* open routes carry no rate-limit headers */
    http_srv_do(c, "GET", "/api/open", NULL, NULL, &r);
    cr_expect_not(http_srv_header(&r, "X-RateLimit-Limit", v, sizeof v));
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, handler_failure_is_500)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    http_srv_do(c, "GET", "/api/fail", NULL, NULL, &r);
    http_srv_expect_error(&r, 500, "INTERNAL");
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

Test(http_server, metrics_endpoint)
{
    CURL *c = curl_easy_init();
    struct http_srv_reply r;
    char ct[128];
    http_srv_do(c, "GET", "/api/open", NULL, NULL, &r);
    http_srv_reply_free(&r);
    http_srv_do(c, "GET", "/api/nothing", NULL, NULL, &r);
    http_srv_reply_free(&r);
    http_srv_do(c, "GET", "/metrics", NULL, NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_assert(http_srv_header(&r, "Content-Type", ct, sizeof ct));
    cr_expect_not_null(strstr(ct, "text/plain; version=0.0.4"));
    cr_expect_not_null(strstr(r.body.data, "tgx_http_requests_total{route=\"open\",status=\"2xx\"} 1\n"));
    cr_expect_not_null(
        strstr(r.body.data, "tgx_http_requests_total{route=\"unmatched\",status=\"4xx\"} 1\n"));
    cr_expect_not_null(
        strstr(r.body.data, "tgx_http_request_duration_seconds_count{route=\"open\",status=\"2xx\"} 1\n"));
    cr_expect_not_null(strstr(r.body.data, "# TYPE tgx_http_request_duration_seconds histogram\n"));
    cr_expect_not_null(strstr(r.body.data, "tgx_queue_depth{state=\"pending\"} 7\n"));
    cr_expect_not_null(strstr(r.body.data, "tgx_ws_clients 0\n"));
    http_srv_reply_free(&r);
    curl_easy_cleanup(c);
}

/* ---- WebSocket over a raw socket ---- */

static int http_ws_connect(const char *path_and_query, const char *extra_header, char *reply, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tgx_http_server_port(http_srv))};
    struct timeval tv = {.tv_sec = 10};
    char req[1024];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
             path_and_query, extra_header != NULL ? extra_header : "");
    cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    /* read the response head byte by byte so no frame byte is swallowed */
    while (got + 1 < cap) {
        ssize_t n = recv(fd, reply + got, 1, 0);
        if (n <= 0)
            break;
        got++;
        reply[got] = '\0';
        if (got >= 4 && memcmp(reply + got - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    reply[got] = '\0';
    return fd;
}

static void http_ws_send(int fd, enum tgx_ws_opcode op, const char *text, size_t len)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_ws_encode(&b, op, text, len, mask);
    cr_assert_eq(send(fd, b.data, b.len, MSG_NOSIGNAL), (ssize_t)b.len);
    tgx_buf_cleanup(&b);
}

static void http_ws_send_text(int fd, const char *text)
{
    http_ws_send(fd, TGX_WS_TEXT, text, strlen(text));
}

static bool http_ws_read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Read one server frame: its opcode, payload into OUT (NUL-terminated). */
static int http_ws_recv(int fd, char *out, size_t cap, size_t *len)
{
    uint8_t h[10];
    size_t plen;
    cr_assert(http_ws_read_all(fd, h, 2), "no frame from the server");
    cr_assert_eq(h[1] & 0x80, 0, "server frames are not masked");
    plen = h[1] & 0x7f;
    if (plen == 126) {
        cr_assert(http_ws_read_all(fd, h + 2, 2));
        plen = ((size_t)h[2] << 8) | h[3];
    } else if (plen == 127) {
        cr_assert(http_ws_read_all(fd, h + 2, 8));
        plen = 0;
        for (int i = 2; i < 10; i++)
            plen = (plen << 8) | h[i];
    }
    cr_assert_lt(plen, cap);
    cr_assert(http_ws_read_all(fd, (uint8_t *)out, plen));
    out[plen] = '\0';
    *len = plen;
    return h[0] & 0x0f;
}

/* Read text frames until one of TYPE arrives (server pings are skipped); a new JSON reference. */
static json_t *http_ws_expect(int fd, const char *type)
{
    static char buf[65536];
    for (int i = 0; i < 20; i++) {
        size_t len;
        int op = http_ws_recv(fd, buf, sizeof buf, &len);
        json_error_t e;
        json_t *j;
        if (op == TGX_WS_PING)
            continue;
        cr_assert_eq(op, TGX_WS_TEXT, "opcode %d", op);
        j = json_loads(buf, 0, &e);
        cr_assert_not_null(j, "%s", buf);
        cr_assert(json_is_string(json_object_get(j, "timestamp")), "%s", buf);
        if (strcmp(json_string_value(json_object_get(j, "type")), type) == 0)
            return j;
        cr_assert(false, "expected %s, got %s", type, buf);
    }
    cr_assert(false, "no %s frame", type);
    return NULL;
}

static void http_ws_expect_error(int fd, const char *code)
{
    json_t *j = http_ws_expect(fd, "ERROR");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "data"), "code")), code);
    json_decref(j);
}

Test(http_server, websocket_refusals_before_upgrade)
{
    char reply[2048], body[512];
    ssize_t n;
    int fd = http_ws_connect("/api/ws/tasks", NULL, reply, sizeof reply);
    cr_expect_not_null(strstr(reply, "HTTP/1.1 401"), "%s", reply);
    n = recv(fd, body, sizeof body - 1, 0);
    cr_assert_gt(n, 0);
    body[n] = '\0';
    cr_expect_str_eq(
        body,
        "{\"error\":\"API key is required for WebSocket connection\",\"code\":\"AUTHENTICATION_FAILED\"}");
    close(fd);
    fd = http_ws_connect("/api/ws/tasks?api_key=TGRX-nobody", NULL, reply, sizeof reply);
    cr_expect_not_null(strstr(reply, "HTTP/1.1 401"), "%s", reply);
    close(fd);
}

Test(http_server, websocket_session)
{
    char reply[2048], buf[4096];
    size_t len;
    json_t *j;
    int fd = http_ws_connect("/api/ws/tasks?api_key=TGRX-user", NULL, reply, sizeof reply);
    cr_assert_not_null(strstr(reply, "HTTP/1.1 101"), "%s", reply);
    cr_expect_not_null(strstr(reply, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "%s", reply);
    cr_expect_not_null(strcasestr(reply, "\r\nConnection: Upgrade\r\n"), "%s", reply);
    cr_expect_not_null(strcasestr(reply, "\r\nUpgrade: websocket\r\n"), "%s", reply);

    http_ws_send_text(fd, "{\"type\":\"PING\",\"request_id\":\"r1\"}");
    j = http_ws_expect(fd, "PONG");
    cr_expect_str_eq(json_string_value(json_object_get(j, "request_id")), "r1");
    cr_expect_null(json_object_get(j, "data"));
    json_decref(j);

    /* a job room: SUCCESS then the snapshot */
    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"job:5\"}}");
    j = http_ws_expect(fd, "SUCCESS");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "data"), "message")),
                     "Subscribed to room");
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(json_object_get(j, "data"), "data"), "room")),
        "job:5");
    json_decref(j);
    j = http_ws_expect(fd, "JOB_TASKS_SNAPSHOT");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "data"), "job_id")), "5");
    json_decref(j);

    /* refusals never close the connection */
    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"abc\"}}");
    http_ws_expect_error(fd, "INVALID_ROOM");
    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"ab\"}}");
    http_ws_expect_error(fd, "INVALID_ROOM");
    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":{}}");
    http_ws_expect_error(fd, "INVALID_ROOM");
    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":\"job:5\"}");
    http_ws_expect_error(fd, "INVALID_SUBSCRIPTION_DATA");
    http_ws_send_text(fd, "{\"type\":\"UNSUBSCRIBE\"}");
    http_ws_expect_error(fd, "INVALID_UNSUBSCRIPTION_DATA");
    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"job:666\"}}");
    http_ws_expect_error(fd, "ACCESS_DENIED");
    http_ws_send_text(
        fd,
        "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"user:0x00000000000000000000000000000000000000bb\"}}");
    http_ws_expect_error(fd, "ACCESS_DENIED");
    http_ws_send_text(fd, "{\"type\":\"NOPE\"}");
    http_ws_expect_error(fd, "INVALID_MESSAGE_TYPE");
    http_ws_send_text(fd, "not json");
    http_ws_expect_error(fd, "INVALID_MESSAGE_TYPE");

    http_ws_send_text(fd, "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"user:" HTTP_SRV_OWNER
                          "\",\"user_id\":\"" HTTP_SRV_OWNER "\"}}");
    j = http_ws_expect(fd, "SUCCESS");
    json_decref(j);

    /* stats see both rooms */
    {
        CURL *c = curl_easy_init();
        struct http_srv_reply r;
        json_t *s;
        http_srv_do(c, "GET", "/api/ws/stats", NULL, NULL, &r);
        cr_expect_eq(r.status, 200);
        s = http_srv_json(&r);
        cr_expect_str_eq(json_string_value(json_object_get(s, "status")), "success");
        cr_expect_eq(json_integer_value(json_object_get(json_object_get(s, "data"), "total_clients")), 1);
        cr_expect_eq(json_integer_value(json_object_get(json_object_get(s, "data"), "total_rooms")), 2);
        cr_expect_eq(json_integer_value(
                         json_object_get(json_object_get(json_object_get(s, "data"), "rooms"), "job:5")),
                     1);
        json_decref(s);
        http_srv_reply_free(&r);
        http_srv_do(c, "GET", "/api/ws/health", NULL, NULL, &r);
        s = http_srv_json(&r);
        cr_expect_str_eq(json_string_value(json_object_get(s, "status")), "healthy");
        cr_expect_eq(
            json_integer_value(json_object_get(json_object_get(s, "websocket"), "active_connections")), 1);
        json_decref(s);
        http_srv_reply_free(&r);
        curl_easy_cleanup(c);
    }

    /* a live event for the job room and the user room arrives once */
    {
        json_t *payload = json_loads("{\"tasks\":[[77,\"5\",\"running\",\"status_changed\",\"assigned\"],"
                                     "[78,\"999\",\"pending\",\"created\",null]]}",
                                     0, NULL);
        json_t *owners = json_pack("{s:s}", "5", HTTP_SRV_OWNER);
        json_t *d;
        cr_assert_eq(tgx_ws_feed_dispatch(http_srv->hub, payload, owners, "2026-01-01T00:00:00.000000Z"), 0);
        json_decref(payload);
        json_decref(owners);
        j = http_ws_expect(fd, "TASK_STATUS_CHANGED");
        d = json_object_get(j, "data");
        cr_expect_eq(json_integer_value(json_object_get(d, "task_id")), 77);
        cr_expect_str_eq(json_string_value(json_object_get(d, "job_id")), "5");
        cr_expect_str_eq(json_string_value(json_object_get(d, "user_id")), HTTP_SRV_OWNER);
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "changes"), "status")),
                         "running");
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "changes"), "old_status")),
                         "assigned");
        json_decref(j);
        /* the next frame is our PONG, not a duplicate nor task 78 (another job, no owner) */
        http_ws_send_text(fd, "{\"type\":\"PING\"}");
        j = http_ws_expect(fd, "PONG");
        json_decref(j);
    }

    /* unsubscribe, then a control ping gets its pong */
    http_ws_send_text(fd, "{\"type\":\"UNSUBSCRIBE\",\"data\":{\"room\":\"job:5\"}}");
    j = http_ws_expect(fd, "SUCCESS");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "data"), "message")),
                     "Unsubscribed from room");
    json_decref(j);
    http_ws_send(fd, TGX_WS_PING, "abc", 3);
    cr_expect_eq(http_ws_recv(fd, buf, sizeof buf, &len), TGX_WS_PONG);
    cr_expect_eq(len, 3);
    cr_expect_str_eq(buf, "abc");

    /* a frame over 512 bytes: close 1009 */
    {
        char big[600];
        memset(big, ' ', sizeof big);
        http_ws_send(fd, TGX_WS_TEXT, big, sizeof big);
        cr_expect_eq(http_ws_recv(fd, buf, sizeof buf, &len), TGX_WS_CLOSE);
        cr_assert_geq(len, 2);
        cr_expect_eq(((uint8_t)buf[0] << 8) | (uint8_t)buf[1], TGX_WS_CLOSE_TOO_BIG);
    }
    close(fd);
}

Test(http_server, websocket_close_and_binary)
{
    char reply[2048], buf[256];
    size_t len;
    int fd = http_ws_connect("/api/ws/tasks", "X-Api-Key: TGRX-admin\r\n", reply, sizeof reply);
    cr_assert_not_null(strstr(reply, "HTTP/1.1 101"), "%s", reply);
    http_ws_send(fd, TGX_WS_BINARY, "\x01\x02", 2);
    cr_expect_eq(http_ws_recv(fd, buf, sizeof buf, &len), TGX_WS_CLOSE);
    cr_expect_eq(((uint8_t)buf[0] << 8) | (uint8_t)buf[1], TGX_WS_CLOSE_UNSUPPORTED);
    close(fd);
    fd = http_ws_connect("/api/ws/tasks", "X-Api-Key: TGRX-admin\r\n", reply, sizeof reply);
    cr_assert_not_null(strstr(reply, "HTTP/1.1 101"), "%s", reply);
    http_ws_send(fd, TGX_WS_CLOSE, "\x03\xe8", 2);
    cr_expect_eq(http_ws_recv(fd, buf, sizeof buf, &len), TGX_WS_CLOSE);
    cr_expect_eq(((uint8_t)buf[0] << 8) | (uint8_t)buf[1], TGX_WS_CLOSE_NORMAL);
    close(fd);
    /* a client still connected when the server stops is closed by the teardown (ASan checks leaks) */
    fd = http_ws_connect("/api/ws/tasks", "X-Api-Key: TGRX-admin\r\n", reply, sizeof reply);
    cr_assert_not_null(strstr(reply, "HTTP/1.1 101"), "%s", reply);
    http_ws_send_text(
        fd,
        "{\"type\":\"SUBSCRIBE\",\"data\":{\"room\":\"user:0x00000000000000000000000000000000000000bb\"}}");
    json_decref(http_ws_expect(fd, "SUCCESS")); /* admins may watch any user */
    tgx_http_server_stop(http_srv);
    cr_expect_eq(http_ws_recv(fd, buf, sizeof buf, &len), TGX_WS_CLOSE);
    close(fd);
}
