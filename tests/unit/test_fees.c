/* test_fees.c: the chain table, the fee configuration, the fee formula, and the GET /api/fees path
 * against real HTTP JSON-RPC nodes started in the test (libmicrohttpd on 127.0.0.1): a working node,
 * a node that errors, a node of another chain and a closed port; and the route itself through the
 * real HTTP server. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tgx/abi.h"
#include "tgx/chains.h"
#include "tgx/fees.h"
#include "tgx/http.h"
#include "tgx/jsonnum.h"
#include "tgx/log.h"

/* ------------------------------------------------------------------ chain table */

Test(fees_chains, parse_specs)
{
    struct tgx_chains *t = NULL;
    char err[256] = "";
    cr_assert_eq(tgx_chains_create(&t), 0);
    cr_expect_eq(tgx_chains_add(t, "31337=http://127.0.0.1:8545", err, sizeof err), 0, "%s", err);
    cr_expect_eq(tgx_chains_add(t, " 1 = https://eth.example.org/v2/key?x=1 ", err, sizeof err), 0, "%s",
                 err);
    cr_expect_eq(
        tgx_chains_add_list(t, "10=https://op.example,,8453=HTTPS://base.example , ", err, sizeof err), 0,
        "%s", err);
    cr_expect_eq(tgx_chains_count(t), 4);
    cr_expect_str_eq(tgx_chains_find_url(t, 31337), "http://127.0.0.1:8545");
    cr_expect_str_eq(tgx_chains_find_url(t, 1), "https://eth.example.org/v2/key?x=1");
    cr_expect_str_eq(tgx_chains_find_url(t, 8453), "HTTPS://base.example");
    cr_expect(tgx_chains_find_url(t, 5) == NULL);
    cr_expect_eq(tgx_chains_at(t, 2)->chain_id, 10);
    cr_expect(tgx_chains_at(t, 4) == NULL);
    /* duplicates are refused, the table is unchanged */
    cr_expect_eq(tgx_chains_add(t, "1=https://other", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect(strstr(err, "chain 1 is configured twice") != NULL, "%s", err);
    cr_expect_eq(tgx_chains_count(t), 4);
    tgx_chains_free(t);
    tgx_chains_free(NULL);
    cr_expect(tgx_chains_find_url(NULL, 1) == NULL);
    cr_expect_eq(tgx_chains_count(NULL), 0);
}

Test(fees_chains, reject_bad_specs)
{
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"", "expected CHAIN_ID=URL"},
        {"http://x", "expected CHAIN_ID=URL"},
        {"=http://x", "invalid chain id"},
        {"abc=http://x", "invalid chain id \"abc\""},
        {"-1=http://x", "invalid chain id"},
        {"0=http://x", "invalid chain id \"0\""},
        {"1.5=http://x", "invalid chain id"},
        {"9223372036854775808=http://x", "invalid chain id"},
        {"99999999999999999999999=http://x", "invalid chain id"},
        {"1=", "expected http:// or https://"},
        {"1=ws://x", "expected http:// or https://"},
        {"1=127.0.0.1:8545", "expected http:// or https://"},
        {"1=http://", "expected http:// or https://"},
        {"1=http:///path", "no host"},
        {"1=http://a b", "space"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        cr_expect_eq(tgx_chains_check_spec(bad[i].spec, err, sizeof err), -TGX_ERR_INVAL, "\"%s\" accepted",
                     bad[i].spec);
        cr_expect(strstr(err, bad[i].msg) != NULL, "\"%s\": \"%s\" lacks \"%s\"", bad[i].spec, err,
                  bad[i].msg);
    }
    cr_expect_eq(tgx_chains_check_spec("9223372036854775807=http://x", NULL, 0), 0);
    struct tgx_chains *t = NULL;
    cr_assert_eq(tgx_chains_create(&t), 0);
    char err[256];
    cr_expect_eq(tgx_chains_add_list(t, "1=http://a,bad", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_chains_count(t), 1, "items before the bad one are kept; the caller gives up anyway");
    tgx_chains_free(t);
    uint64_t id;
    cr_expect_eq(tgx_chain_id_parse("00042", &id), 0);
    cr_expect_eq(id, 42);
    cr_expect_eq(tgx_chain_id_parse("", &id), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_chain_id_parse(NULL, &id), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_chain_id_parse(" 1", &id), -TGX_ERR_INVAL);
}

/* ------------------------------------------------------------------ configuration */

Test(fees_config, checks_and_create_errors)
{
    char err[256] = "";
    cr_expect_eq(tgx_fees_check_wei("0", err, sizeof err), 0);
    cr_expect_eq(tgx_fees_check_wei("1000000000000000000000", err, sizeof err), 0);
    cr_expect_eq(tgx_fees_check_wei("1e18", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect(strstr(err, "invalid wei amount \"1e18\"") != NULL, "%s", err);
    cr_expect_eq(tgx_fees_check_wei("-1", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_fees_check_wei(NULL, err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_fees_check_default_item("5000", err, sizeof err), 0);
    cr_expect_eq(tgx_fees_check_default_item("31337=5000", err, sizeof err), 0);
    cr_expect_eq(tgx_fees_check_default_item("31337=0", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect(strstr(err, "greater than 0") != NULL, "%s", err);
    cr_expect_eq(tgx_fees_check_default_item("x=5", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_fees_check_default_item("=5", err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_fees_check_default_item("1=", err, sizeof err), -TGX_ERR_INVAL);

    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    tgx_log_set_stream(log);
    static const char *const zero_item[] = {"1=0"}, *const bad_item[] = {"q=1"};
    static const struct {
        struct tgx_fees_config cfg;
        const char *msg;
    } bad[] = {
        {{.keeper_fee_wei = "abc"}, "invalid wei amount \"abc\""},
        {{.default_fee_wei = "0"}, "the default fee must be greater than 0"},
        {{.chain_default_fees = zero_item, .n_chain_default_fees = 1}, "greater than 0"},
        {{.chain_default_fees = bad_item, .n_chain_default_fees = 1}, "invalid chain id"},
        {{.from_address = "0x1234"}, "invalid fee estimation from-address"},
        {{.rpc_timeout_ms = -1}, "invalid RPC timeout"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tgx_fees *f = NULL;
        cr_expect_eq(tgx_fees_create(&bad[i].cfg, &f), -TGX_ERR_INVAL, "row %zu accepted", i);
        cr_expect(f == NULL);
        fflush(log);
        cr_expect(logbuf != NULL && strstr(logbuf, bad[i].msg) != NULL, "row %zu: log lacks \"%s\"", i,
                  bad[i].msg);
    }
    tgx_log_set_stream(NULL);
    fclose(log);
    free(logbuf);
    struct tgx_fees_config ok = {0};
    struct tgx_fees *f = NULL;
    cr_expect_eq(tgx_fees_create(&ok, &f), 0, "all defaults");
    tgx_fees_free(f);
    tgx_fees_free(NULL);
}

/* ------------------------------------------------------------------ formula */

Test(fees_formula, table)
{
    static const struct {
        uint64_t gas;
        const char *price, *keeper, *current, *total;
    } cases[] = {
        /* gas x price + keeper, then ceil(1.2 x) */
        {21000, "1000000000", "0", "21000000000000", "25200000000000"},
        {46097, "1000000000", "1000", "46097000001000", "55316400001200"},
        {300000, "1", "0", "300000", "360000"},
        {1, "1", "0", "1", "2"},          /* ceil(1.2) */
        {3, "1", "0", "3", "4"},          /* ceil(3.6) */
        {0, "1000000000", "7", "7", "9"}, /* ceil(8.4) */
        {30000000, "1000000000000", "2000000000000", "30000002000000000000", "36000002400000000000"},
        {UINT64_MAX, "340282366920938463463374607431768211455", "0",
         "6277101735386680763495507056286727952620534092958556749825",
         "7532522082464016916194608467544073543144640911550268099790"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_u256 price, keeper;
        cr_assert_eq(tgx_u256_from_dec(cases[i].price, &price), 0);
        cr_assert_eq(tgx_u256_from_dec(cases[i].keeper, &keeper), 0);
        struct tgx_fees_estimate e;
        cr_assert_eq(tgx_fees_formula_chain(cases[i].gas, &price, &keeper, TGX_FEES_SRC_ESTIMATED, &e), 0,
                     "row %zu", i);
        char cur[TGX_U256_DEC_MAX + 1], tot[TGX_U256_DEC_MAX + 1];
        tgx_u256_to_dec(&e.current_total_fee, cur);
        tgx_u256_to_dec(&e.total_fee, tot);
        cr_expect_str_eq(cur, cases[i].current, "row %zu", i);
        cr_expect_str_eq(tot, cases[i].total, "row %zu", i);
        cr_expect_eq(e.gas, cases[i].gas);
        cr_expect_eq(e.source, TGX_FEES_SRC_ESTIMATED);
    }
    /* never 0, never an overflow */
    struct tgx_u256 zero = tgx_u256_from_u64(0), max, e1, d;
    struct tgx_fees_estimate e;
    cr_expect_eq(tgx_fees_formula_chain(21000, &zero, &zero, TGX_FEES_SRC_ESTIMATED, &e), -TGX_ERR_INVAL);
    cr_assert_eq(
        tgx_u256_from_hex("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &max), 0);
    cr_expect_eq(tgx_fees_formula_chain(2, &max, &zero, TGX_FEES_SRC_ESTIMATED, &e), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_fees_formula_chain(1, &max, &zero, TGX_FEES_SRC_ESTIMATED, &e), -TGX_ERR_INVAL,
                 "1.2 x overflows");
    cr_expect_eq(tgx_fees_formula_default(&zero, &zero, &e), -TGX_ERR_INVAL);
    e1 = tgx_u256_from_u64(1000000000000000ULL);
    d = tgx_u256_from_u64(2000000000000ULL);
    cr_assert_eq(tgx_fees_formula_default(&e1, &d, &e), 0);
    cr_expect_eq(e.current_total_fee.w[0], 1002000000000000ULL);
    cr_expect_eq(e.total_fee.w[0], 1202400000000000ULL);
    cr_expect_eq(e.source, TGX_FEES_SRC_DEFAULT);
    cr_expect_eq(e.gas, 0);
}

Test(fees_formula, response_json)
{
    struct tgx_fees_estimate e = {0};
    e.current_total_fee = tgx_u256_from_u64(46097000001000ULL);
    e.total_fee = tgx_u256_from_u64(55316400001200ULL);
    json_t *j = tgx_fees_estimate_json(&e);
    char *s = tgx_json_dump(j);
    cr_expect_str_eq(s, "{\"total_fee\":55316400001200,\"total_fee_wei\":\"55316400001200\","
                        "\"current_total_fee\":46097000001000,\"current_total_fee_wei\":\"46097000001000\"}");
    cr_expect(json_is_integer(json_object_get(j, "current_total_fee")));
    free(s);
    json_decref(j);
    /* beyond int64: the exact digits as a bare JSON number */
    cr_assert_eq(tgx_u256_from_dec("36000002400000000000", &e.total_fee), 0);
    cr_assert_eq(tgx_u256_from_dec("9223372036854775807", &e.current_total_fee), 0);
    j = tgx_fees_estimate_json(&e);
    s = tgx_json_dump(j);
    cr_expect_str_eq(
        s, "{\"total_fee\":36000002400000000000,\"total_fee_wei\":\"36000002400000000000\","
           "\"current_total_fee\":9223372036854775807,\"current_total_fee_wei\":\"9223372036854775807\"}");
    free(s);
    json_decref(j);
    cr_expect_str_eq(tgx_fees_source_name(TGX_FEES_SRC_ESTIMATED), "estimated");
    cr_expect_str_eq(tgx_fees_source_name(TGX_FEES_SRC_FALLBACK_GAS), "fallback_gas");
    cr_expect_str_eq(tgx_fees_source_name(TGX_FEES_SRC_DEFAULT), "default");
}

/* ------------------------------------------------------------------ fake nodes */

struct fees_test_node {
    struct MHD_Daemon *d;
    char url[64];
    const char *chain_id; /* eth_chainId answer */
    bool price_error;     /* eth_gasPrice answers a JSON-RPC error */
    atomic_int gas_price_calls;
    atomic_int estimate_calls;
    atomic_int chain_id_calls;
};

static char *fees_test_answer(json_t *id, json_t *result, long code, const char *msg, const char *data)
{
    json_t *o;
    if (result != NULL)
        o = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    else
        o = json_pack("{s:s, s:O, s:{s:I, s:s, s:s*}}", "jsonrpc", "2.0", "id", id, "error", "code",
                      (json_int_t)code, "message", msg, "data", data);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* The fake node: chain id and gas price as configured; eth_estimateGas by selector:
 * increment() 0xd09de08a -> 46097, set(uint256) 0x60fe47b1 -> 30000 (+ the argument's low byte),
 * fail() 0xa9cc4718 -> reverts. */
static char *fees_test_respond(struct fees_test_node *n, const char *m, json_t *p, json_t *id)
{
    if (strcmp(m, "eth_chainId") == 0) {
        atomic_fetch_add(&n->chain_id_calls, 1);
        return fees_test_answer(id, json_string(n->chain_id), 0, NULL, NULL);
    }
    if (strcmp(m, "eth_gasPrice") == 0) {
        atomic_fetch_add(&n->gas_price_calls, 1);
        if (n->price_error)
            return fees_test_answer(id, NULL, -32000, "internal error", NULL);
        return fees_test_answer(id, json_string("0x3b9aca00"), 0, NULL, NULL);
    }
    if (strcmp(m, "eth_estimateGas") == 0) {
        atomic_fetch_add(&n->estimate_calls, 1);
        json_t *tx = json_array_get(p, 0);
        const char *data = json_string_value(json_object_get(tx, "data"));
        const char *from = json_string_value(json_object_get(tx, "from"));
        const char *to = json_string_value(json_object_get(tx, "to"));
        if (data == NULL || from == NULL || to == NULL ||
            strcmp(to, "0x5FbDB2315678afecb367f032d93F642f64180aa3") != 0 ||
            strcmp(from, "0x0000000000000000000000000000000000000001") != 0)
            return fees_test_answer(id, NULL, -32602, "bad params", NULL);
        if (strcmp(data, "0xd09de08a") == 0)
            return fees_test_answer(id, json_string("0xb411"), 0, NULL, NULL);
        if (strncmp(data, "0x60fe47b1", 10) == 0 && strlen(data) == 10 + 64) {
            char gas[16];
            snprintf(gas, sizeof gas, "0x%lx", 30000 + strtol(data + 10 + 62, NULL, 16));
            return fees_test_answer(id, json_string(gas), 0, NULL, NULL);
        }
        return fees_test_answer(
            id, NULL, 3, "execution reverted",
            "0x08c379a000000000000000000000000000000000000000000000000000000000000000200000000"
            "00000000000000000000000000000000000000000000000000000000046e6f706500000000000000"
            "000000000000000000000000000000000000000000000000");
    }
    return fees_test_answer(id, NULL, -32601, "method not found", NULL);
}

static void fees_test_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                                enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    if (*req_cls != NULL) {
        tgx_buf_cleanup(*req_cls);
        free(*req_cls);
        *req_cls = NULL;
    }
}

static enum MHD_Result fees_test_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                         const char *method, const char *version, const char *upload,
                                         size_t *upload_size, void **req_cls)
{
    (void)url;
    (void)method;
    (void)version;
    struct tgx_buf *b = *req_cls;
    if (b == NULL) {
        *req_cls = b = calloc(1, sizeof *b);
        tgx_buf_init(b);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        tgx_buf_append(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    json_error_t je;
    json_t *req = json_loadb(b->data, b->len, 0, &je);
    const char *m = json_string_value(json_object_get(req, "method"));
    char *body = fees_test_respond(cls, m != NULL ? m : "", json_object_get(req, "params"),
                                   json_object_get(req, "id"));
    json_decref(req);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void fees_test_node_start(struct fees_test_node *n, const char *chain_id, bool price_error)
{
    memset(n, 0, sizeof *n);
    n->chain_id = chain_id;
    n->price_error = price_error;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    n->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                            fees_test_handler, n, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, fees_test_completed, NULL, MHD_OPTION_END);
    cr_assert(n->d != NULL);
    snprintf(n->url, sizeof n->url, "http://127.0.0.1:%u",
             (unsigned)MHD_get_daemon_info(n->d, MHD_DAEMON_INFO_BIND_PORT)->port);
}

static void fees_test_closed_url(char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    snprintf(url, cap, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
}

/* The estimate fixture: chain 31337 on a working node, 5 on a node whose eth_gasPrice errors, 1 on a
 * node that answers chain id 31337 (a wrong URL), 10 on a closed port; per-chain defaults for 10 and
 * 137; keeper fee 1000 wei; global default 1e15 wei; log lines go to fees_log. */
static struct fees_test_node fees_good, fees_erroring, fees_wrong;
static struct tgx_chains *fees_chains;
static struct tgx_fees *fees_est;
static char *fees_logbuf;
static size_t fees_loglen;
static FILE *fees_log;

static void fees_fixture_setup(void)
{
    fees_test_node_start(&fees_good, "0x7a69", false);
    fees_test_node_start(&fees_erroring, "0x5", true);
    fees_test_node_start(&fees_wrong, "0x7a69", false);
    char closed[64], spec[128], err[256];
    fees_test_closed_url(closed, sizeof closed);
    cr_assert_eq(tgx_chains_create(&fees_chains), 0);
    snprintf(spec, sizeof spec, "31337=%s", fees_good.url);
    cr_assert_eq(tgx_chains_add(fees_chains, spec, err, sizeof err), 0, "%s", err);
    snprintf(spec, sizeof spec, "5=%s", fees_erroring.url);
    cr_assert_eq(tgx_chains_add(fees_chains, spec, err, sizeof err), 0, "%s", err);
    snprintf(spec, sizeof spec, "1=%s", fees_wrong.url);
    cr_assert_eq(tgx_chains_add(fees_chains, spec, err, sizeof err), 0, "%s", err);
    snprintf(spec, sizeof spec, "10=%s", closed);
    cr_assert_eq(tgx_chains_add(fees_chains, spec, err, sizeof err), 0, "%s", err);
    static const char *const defaults[] = {"10=5000", "137=7000", "1000000000000000"};
    struct tgx_fees_config cfg = {.chains = fees_chains,
                                  .keeper_fee_wei = "1000",
                                  .default_fee_wei = "42", /* overridden by the bare item above */
                                  .chain_default_fees = defaults,
                                  .n_chain_default_fees = 3,
                                  .rpc_timeout_ms = 2000,
                                  .price_ttl_ms = 60000};
    fees_log = open_memstream(&fees_logbuf, &fees_loglen);
    tgx_log_set_stream(fees_log);
    cr_assert_eq(tgx_fees_create(&cfg, &fees_est), 0);
}

static void fees_fixture_teardown(void)
{
    tgx_fees_free(fees_est);
    tgx_chains_free(fees_chains);
    MHD_stop_daemon(fees_good.d);
    MHD_stop_daemon(fees_erroring.d);
    MHD_stop_daemon(fees_wrong.d);
    tgx_log_set_stream(NULL);
    fclose(fees_log);
    free(fees_logbuf);
}

static const char fees_test_abi[] =
    "[{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[],\"outputs\":[],\"stateMutability\":"
    "\"nonpayable\"},"
    "{\"type\":\"function\",\"name\":\"set\",\"inputs\":[{\"name\":\"v\",\"type\":\"uint256\"}],\"outputs\":["
    "]},"
    "{\"type\":\"function\",\"name\":\"put\",\"inputs\":[{\"name\":\"a\",\"type\":\"uint8\"},{\"name\":\"b\","
    "\"type\":\"address\"}],\"outputs\":[]},"
    "{\"type\":\"function\",\"name\":\"pick\",\"inputs\":[{\"name\":\"a\",\"type\":\"uint8\"}],\"outputs\":[]"
    "},"
    "{\"type\":\"function\",\"name\":\"pick\",\"inputs\":[{\"name\":\"a\",\"type\":\"string\"}],\"outputs\":["
    "]},"
    "{\"type\":\"function\",\"name\":\"fail\",\"inputs\":[],\"outputs\":[]}]";
#define FEES_TEST_TO "0x5FbDB2315678afecb367f032d93F642f64180aa3"

TestSuite(fees_estimate, .init = fees_fixture_setup, .fini = fees_fixture_teardown);

Test(fees_estimate, paths_and_amounts)
{
    static const struct {
        const char *label;
        struct tgx_fees_query q;
        enum tgx_fees_source src;
        uint64_t gas;
        const char *current, *total;
    } cases[] = {
        {"estimated, no arguments",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment",
          .abi = fees_test_abi,
          .args = "[]",
          .task_definition_id = "1"},
         TGX_FEES_SRC_ESTIMATED,
         46097,
         "46097000001000",
         "55316400001200"},
        {"estimated, args omitted for a function without inputs",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment()",
          .abi = fees_test_abi,
          .args = ""},
         TGX_FEES_SRC_ESTIMATED,
         46097,
         "46097000001000",
         "55316400001200"},
        {"estimated with an encoded argument",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "set",
          .abi = fees_test_abi,
          .args = "[\"0x05\"]"},
         TGX_FEES_SRC_ESTIMATED,
         30005,
         "30005000001000",
         "36006000001200"},
        {"estimated from a signature without abi",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "set(uint256)",
          .args = "[7]"},
         TGX_FEES_SRC_ESTIMATED,
         30007,
         "30007000001000",
         "36008400001200"},
        {"revert: fallback gas",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "fail",
          .abi = fees_test_abi,
          .args = "[]"},
         TGX_FEES_SRC_FALLBACK_GAS,
         300000,
         "300000000001000",
         "360000000001200"},
        {"dynamic arguments (none given): fallback gas",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "set",
          .abi = fees_test_abi,
          .args = "",
          .ipfs_url = "https://ipfs.io/ipfs/Qm",
          .task_definition_id = "2"},
         TGX_FEES_SRC_FALLBACK_GAS,
         300000,
         "300000000001000",
         "360000000001200"},
        {"chain not configured: its default",
         {.target_chain_id = "137",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment",
          .abi = fees_test_abi},
         TGX_FEES_SRC_DEFAULT,
         0,
         "8000",
         "9600"},
        {"chain not configured, no default: global",
         {.target_chain_id = "8453",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment",
          .abi = fees_test_abi},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
        {"unreachable chain: its default",
         {.target_chain_id = "10",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment",
          .abi = fees_test_abi},
         TGX_FEES_SRC_DEFAULT,
         0,
         "6000",
         "7200"},
        {"node errors on eth_gasPrice: global default",
         {.target_chain_id = "5",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment",
          .abi = fees_test_abi},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
        {"node of another chain: default",
         {.target_chain_id = "1",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment",
          .abi = fees_test_abi},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
        {"no contract: default",
         {.target_chain_id = "31337", .target_function = "increment", .abi = fees_test_abi},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
        {"no function: default",
         {.target_chain_id = "31337", .target_contract_address = FEES_TEST_TO},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
        {"bare name without abi: default",
         {.target_chain_id = "31337",
          .target_contract_address = FEES_TEST_TO,
          .target_function = "increment"},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
        {"empty query (custom script job): default",
         {.task_definition_id = "7", .ipfs_url = ""},
         TGX_FEES_SRC_DEFAULT,
         0,
         "1000000000001000",
         "1200000000001200"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_fees_estimate e;
        struct tgx_fees_error err;
        cr_assert_eq(tgx_fees_estimate(fees_est, &cases[i].q, &e, &err), 0, "%s: %s", cases[i].label,
                     err.message);
        char cur[TGX_U256_DEC_MAX + 1], tot[TGX_U256_DEC_MAX + 1];
        tgx_u256_to_dec(&e.current_total_fee, cur);
        tgx_u256_to_dec(&e.total_fee, tot);
        cr_expect_eq(e.source, cases[i].src, "%s: source %s", cases[i].label, tgx_fees_source_name(e.source));
        cr_expect_eq(e.gas, cases[i].gas, "%s: gas", cases[i].label);
        cr_expect_str_eq(cur, cases[i].current, "%s", cases[i].label);
        cr_expect_str_eq(tot, cases[i].total, "%s", cases[i].label);
        cr_expect(!tgx_u256_is_zero(&e.current_total_fee), "%s: never 0", cases[i].label);
    }
    /* eth_chainId once per chain, eth_gasPrice once per chain within the cache lifetime, and a node
     * of the wrong chain is never asked for prices */
    cr_expect_eq(atomic_load(&fees_good.chain_id_calls), 1);
    cr_expect_eq(atomic_load(&fees_good.gas_price_calls), 1);
    cr_expect_eq(atomic_load(&fees_good.estimate_calls), 5);
    cr_expect_eq(atomic_load(&fees_erroring.gas_price_calls), 1);
    cr_expect_eq(atomic_load(&fees_wrong.gas_price_calls), 0);
    /* a down or erroring chain is cached as such: asking again does not call it */
    struct tgx_fees_estimate e;
    struct tgx_fees_error err;
    struct tgx_fees_query again = {.target_chain_id = "5",
                                   .target_contract_address = FEES_TEST_TO,
                                   .target_function = "increment",
                                   .abi = fees_test_abi};
    cr_assert_eq(tgx_fees_estimate(fees_est, &again, &e, &err), 0);
    cr_expect_eq(e.source, TGX_FEES_SRC_DEFAULT);
    cr_expect_eq(atomic_load(&fees_erroring.gas_price_calls), 1);
    again.target_chain_id = "1";
    cr_assert_eq(tgx_fees_estimate(fees_est, &again, &e, &err), 0);
    cr_expect_eq(atomic_load(&fees_wrong.chain_id_calls), 1, "a wrong chain is checked once");
    /* each trouble is logged once, naming the chain */
    fflush(fees_log);
    cr_expect(strstr(fees_logbuf, "chain 10 unusable, using the default fee") != NULL, "%s", fees_logbuf);
    cr_expect(strstr(fees_logbuf, "chain 5 unusable") != NULL, "%s", fees_logbuf);
    cr_expect(strstr(fees_logbuf, "the RPC URL of chain 1 serves chain 31337") != NULL, "%s", fees_logbuf);
    const char *first = strstr(fees_logbuf, "chain 5 unusable");
    cr_expect(first != NULL && strstr(first + 1, "chain 5 unusable") == NULL, "logged once");
}

Test(fees_estimate, no_price_cache)
{
    struct tgx_fees_config cfg = {.chains = fees_chains, .keeper_fee_wei = "0", .price_ttl_ms = -1};
    struct tgx_fees *f = NULL;
    cr_assert_eq(tgx_fees_create(&cfg, &f), 0);
    struct tgx_fees_query q = {.target_chain_id = "31337",
                               .target_contract_address = FEES_TEST_TO,
                               .target_function = "increment",
                               .abi = fees_test_abi};
    for (int i = 0; i < 3; i++) {
        struct tgx_fees_estimate e;
        struct tgx_fees_error err;
        cr_assert_eq(tgx_fees_estimate(f, &q, &e, &err), 0);
        cr_expect_eq(e.source, TGX_FEES_SRC_ESTIMATED);
        cr_expect_eq(e.current_total_fee.w[0], 46097000000000ULL, "keeper fee 0");
    }
    cr_expect_eq(atomic_load(&fees_good.gas_price_calls), 3);
    cr_expect_eq(atomic_load(&fees_good.chain_id_calls), 1);
    tgx_fees_free(f);
}

Test(fees_estimate, bad_query_values)
{
    static const struct {
        struct tgx_fees_query q;
        const char *code, *field, *msg;
    } cases[] = {
        {{.task_definition_id = "8"}, "INVALID_TASK_DEFINITION_ID", "task_definition_id", "0 to 7"},
        {{.task_definition_id = "one"}, "INVALID_TASK_DEFINITION_ID", "task_definition_id", "0 to 7"},
        {{.target_chain_id = "abc"}, "INVALID_CHAIN_ID", "target_chain_id", "decimal chain id"},
        {{.target_chain_id = "-1"}, "INVALID_CHAIN_ID", "target_chain_id", "decimal chain id"},
        {{.target_contract_address = "0x123"},
         "INVALID_ADDRESS",
         "target_contract_address",
         "not an address"},
        {{.target_contract_address = "0x5FbDB2315678afecb367f032d93F642f64180aA3"},
         "INVALID_ADDRESS",
         "target_contract_address",
         "checksum"},
        {{.abi = "not json"}, "INVALID_ABI", "abi", "not valid JSON"},
        {{.abi = "{\"a\":1}"}, "INVALID_ABI", "abi", "not a JSON array"},
        {{.abi = "[{\"type\":\"function\",\"name\":\"f\",\"inputs\":[{\"type\":\"uint7\"}]}]"},
         "INVALID_ABI",
         "abi",
         "uint7"},
        {{.args = "1,2"}, "INVALID_ARGS", "args", "not a JSON array"},
        {{.args = "{\"a\":1}"}, "INVALID_ARGS", "args", "not a JSON array"},
        {{.args = "[1,"}, "INVALID_ARGS", "args", "invalid JSON"},
        {{.target_function = "nope", .abi = fees_test_abi},
         "FUNCTION_NOT_FOUND",
         "target_function",
         "\"nope\" is not a function of the abi"},
        {{.target_function = "set(bool)", .abi = fees_test_abi},
         "FUNCTION_NOT_FOUND",
         "target_function",
         "set(bool)"},
        {{.target_function = "pick", .abi = fees_test_abi},
         "AMBIGUOUS_FUNCTION",
         "target_function",
         "overloads"},
        {{.target_function = "bad name", .abi = fees_test_abi},
         "INVALID_FUNCTION",
         "target_function",
         "bad name"},
        {{.target_function = "f(uint7)"}, "INVALID_FUNCTION", "target_function", "uint7"},
        {{.target_function = "set", .abi = fees_test_abi, .args = "[1,2]"},
         "ARGUMENT_COUNT_MISMATCH",
         "args",
         "set(uint256) expects 1 argument, got 2"},
        {{.target_function = "increment", .abi = fees_test_abi, .args = "[1]"},
         "ARGUMENT_COUNT_MISMATCH",
         "args",
         "expects 0 arguments"},
        {{.target_function = "pick", .abi = fees_test_abi, .args = "[1,2]"},
         "ARGUMENT_COUNT_MISMATCH",
         "args",
         "no overload of pick takes 2 arguments"},
        {{.target_function = "set(uint256,uint256)", .args = "[1]"},
         "ARGUMENT_COUNT_MISMATCH",
         "args",
         "expects 2 arguments, got 1"},
        {{.target_function = "put", .abi = fees_test_abi, .args = "[\"300\",\"0x01\"]"},
         "INVALID_ARGUMENT",
         "args",
         "args[0] (uint8): 300 is out of range"},
        {{.target_function = "put", .abi = fees_test_abi, .args = "[\"3\",\"0x01\"]"},
         "INVALID_ARGUMENT",
         "args",
         "args[1] (address)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_fees_estimate e;
        struct tgx_fees_error err;
        cr_expect_eq(tgx_fees_estimate(fees_est, &cases[i].q, &e, &err), -TGX_ERR_INVAL, "row %zu accepted",
                     i);
        cr_expect_str_eq(err.code ? err.code : "", cases[i].code, "row %zu: %s", i, err.message);
        cr_expect_str_eq(err.field ? err.field : "", cases[i].field, "row %zu", i);
        cr_expect(strstr(err.message, cases[i].msg) != NULL, "row %zu: \"%s\" lacks \"%s\"", i, err.message,
                  cases[i].msg);
    }
    /* the overloaded name resolves once the argument count decides */
    struct tgx_fees_query q = {.target_chain_id = "137",
                               .target_function = "pick",
                               .abi = fees_test_abi,
                               .args = "[\"x\"]",
                               .target_contract_address = FEES_TEST_TO};
    struct tgx_fees_estimate e;
    struct tgx_fees_error err;
    cr_expect_eq(tgx_fees_estimate(fees_est, &q, &e, &err), -TGX_ERR_INVAL,
                 "pick(uint8) vs pick(string) with 1 arg");
    q.target_function = "pick(string)";
    cr_expect_eq(tgx_fees_estimate(fees_est, &q, &e, &err), 0, "%s", err.message);
}

/* ------------------------------------------------------------------ the route over real HTTP */

static size_t fees_test_collect(char *p, size_t size, size_t n, void *ud)
{
    tgx_buf_append(ud, p, size * n);
    return size * n;
}

static size_t fees_test_header(char *p, size_t size, size_t n, void *ud)
{
    if (strncasecmp(p, "X-Fee-Source:", 13) == 0) {
        char *dst = ud;
        size_t len = size * n - 13;
        const char *v = p + 13;
        while (len > 0 && (*v == ' ')) {
            v++;
            len--;
        }
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n'))
            len--;
        snprintf(dst, 32, "%.*s", (int)len, v);
    }
    return size * n;
}

/* GET BASE/api/fees?QUERY: the status, *BODY (new JSON) and the X-Fee-Source header. */
static long fees_test_get(const char *base, const char *const *kv, size_t nkv, json_t **body, char source[32])
{
    CURL *k = curl_easy_init();
    struct tgx_buf url, resp;
    tgx_buf_init(&url);
    tgx_buf_init(&resp);
    tgx_buf_printf(&url, "%s/api/fees", base);
    for (size_t i = 0; i + 1 < nkv; i += 2) {
        char *enc = curl_easy_escape(k, kv[i + 1], 0);
        tgx_buf_printf(&url, "%c%s=%s", i == 0 ? '?' : '&', kv[i], enc);
        curl_free(enc);
    }
    source[0] = '\0';
    curl_easy_setopt(k, CURLOPT_URL, url.data);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, fees_test_collect);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, fees_test_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, source);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, 10000L);
    cr_assert_eq(curl_easy_perform(k), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
    json_error_t je;
    *body = json_loadb(resp.data, resp.len, 0, &je);
    cr_assert(*body != NULL, "body is not JSON: %s", resp.data);
    curl_easy_cleanup(k);
    tgx_buf_cleanup(&url);
    tgx_buf_cleanup(&resp);
    return status;
}

Test(fees_estimate, route_over_http)
{
    const struct tgx_route routes[] = {{"GET", "/api/fees", tgx_api_fees, TGX_ROUTE_OPEN, "fees"}};
    struct tgx_http_config cfg = {
        .listen_host = "127.0.0.1", .routes = routes, .nroutes = 1, .handler_ctx = fees_est};
    struct tgx_http_server *srv = NULL;
    cr_assert_eq(tgx_http_server_create(&cfg, &srv), 0);
    cr_assert_eq(tgx_http_server_start(srv), 0);
    char base[64], src[32];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)tgx_http_server_port(srv));
    json_t *b = NULL;

    /* what the SDK sends for a static time job, abi and args URL-encoded */
    const char *sdk[] = {"ipfs_url",
                         "",
                         "task_definition_id",
                         "1",
                         "target_chain_id",
                         "31337",
                         "target_contract_address",
                         FEES_TEST_TO,
                         "target_function",
                         "set",
                         "abi",
                         fees_test_abi,
                         "args",
                         "[\"5\"]"};
    cr_expect_eq(fees_test_get(base, sdk, 14, &b, src), 200);
    cr_expect_str_eq(src, "estimated");
    cr_expect_eq(json_integer_value(json_object_get(b, "current_total_fee")), 30005000001000LL);
    cr_expect_str_eq(json_string_value(json_object_get(b, "current_total_fee_wei")), "30005000001000");
    cr_expect_eq(json_integer_value(json_object_get(b, "total_fee")), 36006000001200LL);
    cr_expect_str_eq(json_string_value(json_object_get(b, "total_fee_wei")), "36006000001200");
    cr_expect_eq(json_object_size(b), 4);
    json_decref(b);

    /* no query at all */
    cr_expect_eq(fees_test_get(base, NULL, 0, &b, src), 200);
    cr_expect_str_eq(src, "default");
    cr_expect_eq(json_integer_value(json_object_get(b, "current_total_fee")), 1000000000001000LL);
    json_decref(b);

    /* a bad value: 400 {"error","code","field"} */
    const char *bad[] = {"target_function", "set", "abi", fees_test_abi, "args", "[1,2]"};
    cr_expect_eq(fees_test_get(base, bad, 6, &b, src), 400);
    cr_expect_str_eq(json_string_value(json_object_get(b, "code")), "ARGUMENT_COUNT_MISMATCH");
    cr_expect_str_eq(json_string_value(json_object_get(b, "field")), "args");
    cr_expect(strstr(json_string_value(json_object_get(b, "error")), "expects 1 argument") != NULL);
    json_decref(b);
    const char *badabi[] = {"abi", "[{"};
    cr_expect_eq(fees_test_get(base, badabi, 2, &b, src), 400);
    cr_expect_str_eq(json_string_value(json_object_get(b, "field")), "abi");
    json_decref(b);

    tgx_http_server_free(srv);
}
