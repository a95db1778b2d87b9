/* test_keeper_gw.c: the keeper gateway's canonical texts and signature check (keeper_gw.h), and
 * the HTTP layer's long-poll parking it relies on (tgx_http_park / tgx_http_wake), on a real
 * server with one worker thread driven by libcurl. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tgx/keccak.h"
#include "tgx/keeper_gw.h"
#include "tgx/secp.h"

/* ---------------------------------------------------------------- canonical texts */

Test(keeper_gw_text, request_text_of_a_get_hashes_the_empty_body)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_assert_eq(tgx_keeper_gw_request_text("GET", "/api/keeper/tasks?wait=25", "1700000000", NULL, 0, &b),
                 0);
    cr_assert_str_eq(b.data, "GET\n/api/keeper/tasks?wait=25\n1700000000\n"
                             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    tgx_buf_cleanup(&b);
}

Test(keeper_gw_text, request_text_of_a_post_hashes_the_body_as_sent)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    /* sha256("abc") */
    cr_assert_eq(tgx_keeper_gw_request_text("POST", "/api/keeper/checkin", "5", "abc", 3, &b), 0);
    cr_assert_str_eq(b.data, "POST\n/api/keeper/checkin\n5\n"
                             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    tgx_buf_cleanup(&b);
}

Test(keeper_gw_text, json_digest_is_keccak_of_compact_sorted_json)
{
    static const struct {
        const char *json;      /* as received */
        const char *canonical; /* what is hashed */
    } cases[] = {
        {"{\"b\": 1, \"a\": \"x\"}", "{\"a\":\"x\",\"b\":1}"},
        {"{ \"z\": {\"y\": [1, 2, {\"d\": null, \"c\": true}]}, \"a\": [] }",
         "{\"a\":[],\"z\":{\"y\":[1,2,{\"c\":true,\"d\":null}]}}"},
        {"{}", "{}"},
        {"{\"gas_used\":\"21000\",\"execution_tx_hash\":\"0xab\"}",
         "{\"execution_tx_hash\":\"0xab\",\"gas_used\":\"21000\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].json, 0, NULL);
        cr_assert_not_null(v, "case %zu", i);
        char got[TGX_KEEPER_GW_DIGEST_LEN + 1], want[TGX_KECCAK256_HEX_LEN + 1];
        cr_assert_eq(tgx_keeper_gw_json_digest(v, got), 0);
        tgx_keccak256_hex(cases[i].canonical, strlen(cases[i].canonical), want);
        cr_assert_eq(strncmp(got, "0x", 2), 0, "case %zu", i);
        cr_assert_str_eq(got + 2, want, "case %zu: %s", i, cases[i].json);
        json_decref(v);
    }
}

Test(keeper_gw_text, result_and_attest_texts)
{
    json_t *r = json_pack("{s:s}", "execution_tx_hash", "0xab");
    char digest[TGX_KEEPER_GW_DIGEST_LEN + 1], text[200], want[200];
    cr_assert_eq(tgx_keeper_gw_json_digest(r, digest), 0);
    cr_assert_eq(tgx_keeper_gw_result_text(42, 7, r, text, sizeof text), 0);
    snprintf(want, sizeof want, "tgx-result:42:7:%s", digest);
    cr_assert_str_eq(text, want);
    cr_assert_eq(tgx_keeper_gw_attest_text(42, 7, true, digest, text, sizeof text), 0);
    snprintf(want, sizeof want, "tgx-attest:42:7:agree:%s", digest);
    cr_assert_str_eq(text, want);
    cr_assert_eq(tgx_keeper_gw_attest_text(42, 7, false, digest, text, sizeof text), 0);
    snprintf(want, sizeof want, "tgx-attest:42:7:disagree:%s", digest);
    cr_assert_str_eq(text, want);
    /* too small */
    cr_assert_eq(tgx_keeper_gw_result_text(42, 7, r, text, 20), -TGX_ERR_INVAL);
    cr_assert_eq(tgx_keeper_gw_attest_text(42, 7, true, digest, text, 20), -TGX_ERR_INVAL);
    json_decref(r);
}

Test(keeper_gw_text, wake_keys)
{
    char k[32];
    tgx_keeper_gw_wake_key("tasks", 12, k);
    cr_assert_str_eq(k, "tasks:12");
    tgx_keeper_gw_wake_key("attest", 3, k);
    cr_assert_str_eq(k, "attest:3");
}

/* ---------------------------------------------------------------- signatures */

/* web3.js's documented vector: eth.accounts.sign("Some data", 0x4c08...2318) */
#define KEEPER_GW_VEC_SIG                                                                                    \
    "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c74" \
    "7ef0"                                                                                                   \
    "45e5d18a5f5d4300f8e1a0291c"
#define KEEPER_GW_VEC_ADDR "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"

Test(keeper_gw_sig, known_vector)
{
    cr_assert(tgx_keeper_gw_signed_by("Some data", 9, KEEPER_GW_VEC_SIG, KEEPER_GW_VEC_ADDR));
    cr_assert(tgx_keeper_gw_signed_by("Some data", 9, KEEPER_GW_VEC_SIG,
                                      "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"));
    cr_assert(!tgx_keeper_gw_signed_by("Some datA", 9, KEEPER_GW_VEC_SIG, KEEPER_GW_VEC_ADDR));
    cr_assert(!tgx_keeper_gw_signed_by("Some data", 9, KEEPER_GW_VEC_SIG,
                                       "0x2c7536e3605d9c16a7a3d7b1898e529396a65c24"));
}

Test(keeper_gw_sig, round_trip_and_refusals)
{
    uint8_t secret[32], addr[20];
    char sig[TGX_SECP_SIG_HEX_LEN + 1], text_addr[TGX_ADDRESS_TEXT_LEN + 1];
    const char *msg = "POST\n/api/keeper/checkin\n1700000000\n"
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    cr_assert_eq(tgx_secp_key_generate(secret), 0);
    cr_assert_eq(tgx_secp_address(secret, addr), 0);
    tgx_secp_address_text(addr, text_addr);
    cr_assert_eq(tgx_secp_sign_message(secret, msg, strlen(msg), sig), 0);
    cr_assert(tgx_keeper_gw_signed_by(msg, strlen(msg), sig, text_addr));
    /* v as 0/1 instead of 27/28: the same signature */
    char alt[sizeof sig];
    memcpy(alt, sig, sizeof sig);
    int v = (int)strtol(sig + 130, NULL, 16) - 27;
    snprintf(alt + 130, 3, "%02x", v);
    cr_assert(tgx_keeper_gw_signed_by(msg, strlen(msg), alt, text_addr));
    /* malformed inputs, one per line */
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), NULL, text_addr));
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), "", text_addr));
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), "0x12", text_addr));
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), sig + 2, text_addr));
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), sig, NULL));
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), sig, "0x12"));
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), sig, text_addr + 2));
    char bad_v[sizeof sig];
    memcpy(bad_v, sig, sizeof sig);
    memcpy(bad_v + 130, "05", 2);
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg), bad_v, text_addr));
    /* another message */
    cr_assert(!tgx_keeper_gw_signed_by(msg, strlen(msg) - 1, sig, text_addr));
}

/* ---------------------------------------------------------------- long-poll parking (http layer) */

/* A handler that parks under the key of ?key= for ?ms= milliseconds, then answers why it ran. */
static int keeper_gw_park_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)ctx;
    static const char *const why[] = {"first", "woken", "timeout", "stopping"};
    enum tgx_http_run r = tgx_http_run_reason(req);
    const char *ms = tgx_http_query(req, "ms");
    if (r == TGX_HTTP_RUN_FIRST) {
        uint64_t mark = tgx_http_wake_mark(req);
        if (tgx_http_park(req, tgx_http_query(req, "key"), mark, (unsigned)atoi(ms != NULL ? ms : "2000")) ==
            0)
            return 0;
    }
    tgx_http_resp_json(resp, 200, json_pack("{s:s, s:s}", "why", why[r], "target", tgx_http_target(req)));
    return 0;
}

static int keeper_gw_plain_handler(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    tgx_http_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
    return 0;
}

static const struct tgx_route keeper_gw_routes[] = {
    {"GET", "/park", keeper_gw_park_handler, TGX_ROUTE_OPEN, "park"},
    {"GET", "/plain", keeper_gw_plain_handler, TGX_ROUTE_OPEN, "plain"},
};

struct keeper_gw_get {
    char url[256];
    char body[512];
    size_t len;
    long status;
    pthread_t th;
};

static size_t keeper_gw_write(char *p, size_t sz, size_t n, void *arg)
{
    struct keeper_gw_get *g = arg;
    size_t take = sz * n;
    if (g->len + take >= sizeof g->body)
        take = sizeof g->body - 1 - g->len;
    memcpy(g->body + g->len, p, take);
    g->len += take;
    g->body[g->len] = '\0';
    return sz * n;
}

static void *keeper_gw_get_main(void *arg)
{
    struct keeper_gw_get *g = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, g->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keeper_gw_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
    curl_easy_cleanup(c);
    return NULL;
}

static void keeper_gw_start_get(struct keeper_gw_get *g, uint16_t port, const char *path)
{
    memset(g, 0, sizeof *g);
    snprintf(g->url, sizeof g->url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    cr_assert_eq(pthread_create(&g->th, NULL, keeper_gw_get_main, g), 0);
}

static struct tgx_http_server *keeper_gw_server(void)
{
    struct tgx_http_config cfg = {
        .listen_host = "127.0.0.1",
        .threads = 1,
        .routes = keeper_gw_routes,
        .nroutes = 2,
    };
    struct tgx_http_server *srv;
    cr_assert_eq(tgx_http_server_create(&cfg, &srv), 0);
    cr_assert_eq(tgx_http_server_start(srv), 0);
    return srv;
}

/* Wait until N requests are parked (at most 5 s). */
static void keeper_gw_wait_parked(struct tgx_http_server *srv, size_t n)
{
    for (int i = 0; i < 500 && tgx_http_parked_count(srv) != n; i++)
        usleep(10000);
    cr_assert_eq(tgx_http_parked_count(srv), n);
}

Test(keeper_gw_park, woken_by_key_timeout_and_no_thread_held)
{
    struct tgx_http_server *srv = keeper_gw_server();
    uint16_t port = tgx_http_server_port(srv);
    struct keeper_gw_get a, b, c, plain;
    keeper_gw_start_get(&a, port, "/park?key=k1&ms=10000");
    keeper_gw_start_get(&b, port, "/park?key=k2&ms=10000");
    keeper_gw_wait_parked(srv, 2);
    /* the only worker thread is free: another request is served while both are parked */
    keeper_gw_start_get(&plain, port, "/plain");
    pthread_join(plain.th, NULL);
    cr_assert_eq(plain.status, 200);
    /* waking k1 resumes a only */
    tgx_http_wake(srv, "k1");
    pthread_join(a.th, NULL);
    cr_assert_eq(a.status, 200);
    cr_assert(strstr(a.body, "\"why\":\"woken\"") != NULL, "%s", a.body);
    cr_assert(strstr(a.body, "\"target\":\"/park?key=k1&ms=10000\"") != NULL, "%s", a.body);
    cr_assert_eq(tgx_http_parked_count(srv), 1);
    /* a short park times out */
    keeper_gw_start_get(&c, port, "/park?key=k3&ms=100");
    pthread_join(c.th, NULL);
    cr_assert(strstr(c.body, "\"why\":\"timeout\"") != NULL, "%s", c.body);
    /* stopping the server answers the parked request */
    tgx_http_server_stop(srv);
    pthread_join(b.th, NULL);
    cr_assert(b.status == 200 || b.status == 0, "status %ld", b.status);
    tgx_http_server_free(srv);
}

Test(keeper_gw_park, a_wake_of_every_key_resumes_a_parked_request)
{
    struct tgx_http_server *srv = keeper_gw_server();
    /* tgx_http_wake(srv, NULL): what the gateway's listener does after (re)connecting */
    struct keeper_gw_get a;
    tgx_http_wake(srv, NULL);
    keeper_gw_start_get(&a, tgx_http_server_port(srv), "/park?key=z&ms=5000");
    keeper_gw_wait_parked(srv, 1);
    tgx_http_wake(srv, NULL);
    pthread_join(a.th, NULL);
    cr_assert(strstr(a.body, "\"why\":\"woken\"") != NULL, "%s", a.body);
    tgx_http_server_free(srv);
}
