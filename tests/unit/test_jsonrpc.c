/* test_jsonrpc.c: the JSON-RPC client against a real HTTP JSON-RPC server (libmicrohttpd) started in the
 * test on 127.0.0.1: typed helpers, node errors, protocol errors, unreachable and timing-out nodes,
 * keep-alive and concurrent use. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tgx/abi.h"
#include "tgx/jsonrpc.h"

/* ------------------------------------------------------------------ the test server */

struct jsonrpc_test_srv;
/* Answer one request: the response body (new heap string) and *STATUS. */
typedef char *(*jsonrpc_test_respond_fn)(struct jsonrpc_test_srv *s, const char *method, json_t *params,
                                         json_t *id, unsigned *status);

struct jsonrpc_test_srv {
    struct MHD_Daemon *d;
    char url[64];
    jsonrpc_test_respond_fn respond;
    atomic_int connections; /* TCP connections accepted */
    atomic_int requests;
    sem_t release; /* the "hang" responder waits on it */
};

static char *jsonrpc_test_reply(json_t *id, json_t *result /* stolen */)
{
    json_t *o = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *jsonrpc_test_error(json_t *id, long code, const char *msg,
                                json_t *data /* stolen, may be NULL */)
{
    json_t *e = json_pack("{s:I, s:s}", "code", (json_int_t)code, "message", msg);
    if (data != NULL)
        json_object_set_new(e, "data", data);
    json_t *o = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "error", e);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void jsonrpc_test_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_context;
    struct jsonrpc_test_srv *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

static void jsonrpc_test_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                                   enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct tgx_buf *b = *req_cls;
    if (b != NULL) {
        tgx_buf_cleanup(b);
        free(b);
        *req_cls = NULL;
    }
}

static enum MHD_Result jsonrpc_test_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                            const char *method, const char *version, const char *upload,
                                            size_t *upload_size, void **req_cls)
{
    (void)url;
    (void)version;
    struct jsonrpc_test_srv *s = cls;
    struct tgx_buf *b = *req_cls;
    if (b == NULL) {
        b = calloc(1, sizeof *b);
        tgx_buf_init(b);
        *req_cls = b;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        tgx_buf_append(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->requests, 1);
    unsigned status = 200;
    char *body;
    json_error_t je;
    json_t *req = strcmp(method, "POST") == 0 ? json_loadb(b->data, b->len, 0, &je) : NULL;
    const char *m = json_string_value(json_object_get(req, "method"));
    json_t *id = json_object_get(req, "id");
    const char *version2 = json_string_value(json_object_get(req, "jsonrpc"));
    if (m == NULL || !json_is_array(json_object_get(req, "params")) || version2 == NULL ||
        strcmp(version2, "2.0") != 0) {
        body = jsonrpc_test_error(id ? id : json_null(), -32600, "invalid request", NULL);
    } else {
        body = s->respond(s, m, json_object_get(req, "params"), id, &status);
    }
    json_decref(req);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void jsonrpc_test_start(struct jsonrpc_test_srv *s, jsonrpc_test_respond_fn respond)
{
    memset(s, 0, sizeof *s);
    s->respond = respond;
    sem_init(&s->release, 0, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                            jsonrpc_test_handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, jsonrpc_test_completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, jsonrpc_test_notify, s, MHD_OPTION_END);
    cr_assert(s->d != NULL, "could not start the test JSON-RPC server");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert(info != NULL && info->port != 0);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u/rpc", (unsigned)info->port);
}

static void jsonrpc_test_stop(struct jsonrpc_test_srv *s)
{
    for (int i = 0; i < 4; i++)
        sem_post(&s->release); /* let any hanging handler finish */
    MHD_stop_daemon(s->d);
    sem_destroy(&s->release);
}

/* A URL of 127.0.0.1 on which nothing listens (a port just bound and closed again). */
static void jsonrpc_test_closed_url(char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    snprintf(url, cap, "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
}

/* ------------------------------------------------------------------ canned node */

static const char jsonrpc_test_revert[] = "0x08c379a0"
                                          "0000000000000000000000000000000000000000000000000000000000000020"
                                          "000000000000000000000000000000000000000000000000000000000000001a"
                                          "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";

/* An anvil-like node with fixed answers; checks the shape of the parameters it is sent. */
static char *jsonrpc_test_node(struct jsonrpc_test_srv *s, const char *m, json_t *p, json_t *id,
                               unsigned *status)
{
    (void)s;
    (void)status;
    const char *p0 = json_string_value(json_array_get(p, 0));
    const char *p1 = json_string_value(json_array_get(p, 1));
    size_t n = json_array_size(p);
    if (strcmp(m, "eth_chainId") == 0 && n == 0)
        return jsonrpc_test_reply(id, json_string("0x7a69"));
    if (strcmp(m, "eth_gasPrice") == 0 && n == 0)
        return jsonrpc_test_reply(id, json_string("0x3b9aca00"));
    if (strcmp(m, "eth_maxPriorityFeePerGas") == 0 && n == 0)
        return jsonrpc_test_reply(id, json_string("0x59682f00"));
    if (strcmp(m, "eth_blockNumber") == 0 && n == 0)
        return jsonrpc_test_reply(id, json_string("0x10"));
    if (strcmp(m, "eth_getBalance") == 0 && n == 2 && p0 && p1 && strcmp(p1, "latest") == 0)
        return jsonrpc_test_reply(id, json_string("0x3635c9adc5dea00000"));
    if (strcmp(m, "eth_getTransactionCount") == 0 && n == 2 && p0 && p1 && strcmp(p1, "pending") == 0)
        return jsonrpc_test_reply(id, json_string("0x7"));
    if (strcmp(m, "eth_estimateGas") == 0 && n == 1) {
        json_t *tx = json_array_get(p, 0);
        const char *data = json_string_value(json_object_get(tx, "data"));
        const char *from = json_string_value(json_object_get(tx, "from"));
        const char *to = json_string_value(json_object_get(tx, "to"));
        const char *value = json_string_value(json_object_get(tx, "value"));
        if (data && from && to && strcmp(data, "0xd09de08a") == 0 && value && strcmp(value, "0x1") == 0)
            return jsonrpc_test_reply(id, json_string("0x5208"));
        if (data && strncmp(data, "0xdeadbeef", 10) == 0)
            return jsonrpc_test_error(id, 3, "execution reverted: Not enough Ether provided.",
                                      json_string(jsonrpc_test_revert));
    }
    if (strcmp(m, "eth_call") == 0 && n == 2 && p1 && strcmp(p1, "latest") == 0 &&
        json_is_object(json_array_get(p, 0)))
        return jsonrpc_test_reply(
            id, json_string("0x000000000000000000000000000000000000000000000000000000000000002a"));
    if (strcmp(m, "eth_sendRawTransaction") == 0 && n == 1 && p0 && strcmp(p0, "0x02f8aa") == 0)
        return jsonrpc_test_reply(
            id, json_string("0xabababababababababababababababababababababababababababababababab"));
    if (strcmp(m, "eth_getTransactionReceipt") == 0 && n == 1 && p0) {
        if (strcmp(p0, "0x0000000000000000000000000000000000000000000000000000000000000000") == 0)
            return jsonrpc_test_reply(id, json_null());
        return jsonrpc_test_reply(id, json_pack("{s:s, s:s}", "status", "0x1", "blockNumber", "0x5"));
    }
    if (strcmp(m, "eth_getTransactionByHash") == 0 && n == 1)
        return jsonrpc_test_reply(id, json_null());
    if (strcmp(m, "eth_getBlockByNumber") == 0 && n == 2 && p0 && json_is_false(json_array_get(p, 1)))
        return jsonrpc_test_reply(id, json_pack("{s:s, s:s}", "number", "0x10", "baseFeePerGas", "0x7"));
    if (strcmp(m, "eth_getLogs") == 0 && n == 1 && json_is_object(json_array_get(p, 0)))
        return jsonrpc_test_reply(
            id, json_pack("[{s:s, s:[s], s:s}]", "address", "0x01", "topics", "0x02", "data", "0x"));
    if (strcmp(m, "eth_feeHistory") == 0 && n == 3 && p0 && strcmp(p0, "0x4") == 0 && p1 &&
        strcmp(p1, "latest") == 0 && json_array_size(json_array_get(p, 2)) == 2 &&
        json_real_value(json_array_get(json_array_get(p, 2), 1)) == 75.0)
        return jsonrpc_test_reply(id, json_pack("{s:s, s:[s,s], s:[f]}", "oldestBlock", "0xd",
                                                "baseFeePerGas", "0x7", "0x8", "gasUsedRatio", 0.5));
    if (strcmp(m, "test_number") == 0)
        return jsonrpc_test_reply(id, json_integer(12));
    return jsonrpc_test_error(id, -32601, "method not found or bad params", NULL);
}

Test(jsonrpc, typed_helpers)
{
    struct jsonrpc_test_srv s;
    jsonrpc_test_start(&s, jsonrpc_test_node);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(s.url, 0, &c), 0);
    cr_expect_str_eq(tgx_jsonrpc_url(c), s.url);
    struct tgx_jsonrpc_error err = {0};
    uint64_t u = 0;
    struct tgx_u256 v;
    char dec[TGX_U256_DEC_MAX + 1];

    cr_expect_eq(tgx_jsonrpc_chain_id(c, &u, &err), 0, "%s", err.message);
    cr_expect_eq(u, 31337);
    cr_expect_eq(tgx_jsonrpc_block_number(c, &u, &err), 0, "%s", err.message);
    cr_expect_eq(u, 16);
    cr_expect_eq(tgx_jsonrpc_gas_price(c, &v, &err), 0, "%s", err.message);
    tgx_u256_to_dec(&v, dec);
    cr_expect_str_eq(dec, "1000000000");
    cr_expect_eq(tgx_jsonrpc_max_priority_fee(c, &v, &err), 0, "%s", err.message);
    tgx_u256_to_dec(&v, dec);
    cr_expect_str_eq(dec, "1500000000");
    cr_expect_eq(tgx_jsonrpc_get_balance(c, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", NULL, &v, &err), 0,
                 "%s", err.message);
    tgx_u256_to_dec(&v, dec);
    cr_expect_str_eq(dec, "1000000000000000000000");
    cr_expect_eq(
        tgx_jsonrpc_get_transaction_count(c, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", NULL, &u, &err), 0,
        "%s", err.message);
    cr_expect_eq(u, 7);

    const uint8_t inc[4] = {0xd0, 0x9d, 0xe0, 0x8a};
    struct tgx_u256 one = tgx_u256_from_u64(1);
    struct tgx_jsonrpc_msg msg = {.from = "0x0000000000000000000000000000000000000001",
                                  .to = "0x0000000000000000000000000000000000000002",
                                  .data = inc,
                                  .data_len = 4,
                                  .value = &one};
    cr_expect_eq(tgx_jsonrpc_estimate_gas(c, &msg, &u, &err), 0, "%s", err.message);
    cr_expect_eq(u, 21000);

    struct tgx_buf out;
    tgx_buf_init(&out);
    cr_expect_eq(tgx_jsonrpc_eth_call(c, &msg, NULL, &out, &err), 0, "%s", err.message);
    cr_expect_eq(out.len, 32);
    cr_expect_eq((uint8_t)out.data[31], 42);
    tgx_buf_cleanup(&out);

    const uint8_t raw[3] = {0x02, 0xf8, 0xaa};
    char hash[67];
    cr_expect_eq(tgx_jsonrpc_send_raw_transaction(c, raw, 3, hash, &err), 0, "%s", err.message);
    cr_expect_str_eq(hash, "0xabababababababababababababababababababababababababababababababab");

    json_t *o = (json_t *)1;
    cr_expect_eq(tgx_jsonrpc_get_receipt(
                     c, "0x0000000000000000000000000000000000000000000000000000000000000000", &o, &err),
                 0);
    cr_expect(o == NULL, "a null receipt means not mined yet");
    cr_expect_eq(tgx_jsonrpc_get_receipt(c, hash, &o, &err), 0);
    cr_assert(o != NULL);
    cr_expect_str_eq(json_string_value(json_object_get(o, "status")), "0x1");
    json_decref(o);
    o = (json_t *)1;
    cr_expect_eq(tgx_jsonrpc_get_transaction(c, hash, &o, &err), 0);
    cr_expect(o == NULL);
    cr_expect_eq(tgx_jsonrpc_get_block(c, "latest", false, &o, &err), 0, "%s", err.message);
    cr_assert(o != NULL);
    cr_expect_eq(tgx_jsonrpc_quantity_u64(json_object_get(o, "number"), &u), 0);
    cr_expect_eq(u, 16);
    json_decref(o);
    cr_expect_eq(
        tgx_jsonrpc_get_logs(c, json_pack("{s:s, s:s}", "fromBlock", "0x1", "toBlock", "0x10"), &o, &err), 0,
        "%s", err.message);
    cr_expect_eq(json_array_size(o), 1);
    json_decref(o);
    const double pct[2] = {25, 75};
    cr_expect_eq(tgx_jsonrpc_fee_history(c, 4, NULL, pct, 2, &o, &err), 0, "%s", err.message);
    cr_expect_eq(json_array_size(json_object_get(o, "baseFeePerGas")), 2);
    json_decref(o);

    /* the generic call: a new reference to any result */
    json_t *res = NULL;
    cr_expect_eq(tgx_jsonrpc_call(c, "test_number", json_array(), &res, &err), 0);
    cr_expect(json_is_integer(res) && json_integer_value(res) == 12);
    json_decref(res);
    tgx_jsonrpc_error_cleanup(&err);
    tgx_jsonrpc_free(c);
    jsonrpc_test_stop(&s);
}

Test(jsonrpc, quantities)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t v;
    } cases[] = {{"0x0", 0, 0},
                 {"0x1a", 0, 26},
                 {"0X1A", 0, 26},
                 {"0x", -TGX_ERR_INVAL, 0},
                 {"1a", -TGX_ERR_INVAL, 0},
                 {"26", -TGX_ERR_INVAL, 0},
                 {"0x10000000000000000", -TGX_ERR_INVAL, 0},
                 {"0xffffffffffffffff", 0, UINT64_MAX},
                 {"0xzz", -TGX_ERR_INVAL, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_string(cases[i].in);
        uint64_t v = 0;
        cr_expect_eq(tgx_jsonrpc_quantity_u64(j, &v), cases[i].rc, "\"%s\"", cases[i].in);
        if (cases[i].rc == 0)
            cr_expect_eq(v, cases[i].v, "\"%s\"", cases[i].in);
        json_decref(j);
    }
    json_t *num = json_integer(5);
    uint64_t v;
    cr_expect_eq(tgx_jsonrpc_quantity_u64(num, &v), -TGX_ERR_INVAL);
    json_decref(num);
    /* the request object of a message */
    struct tgx_u256 val = tgx_u256_from_u64(1000000000000000000ULL);
    const uint8_t data[2] = {0xab, 0xcd};
    struct tgx_jsonrpc_msg msg = {
        .from = "0x01", .to = "0x02", .data = data, .data_len = 2, .value = &val, .gas = 21000};
    json_t *o = tgx_jsonrpc_msg_json(&msg);
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    cr_expect_str_eq(txt, "{\"data\":\"0xabcd\",\"from\":\"0x01\",\"gas\":\"0x5208\",\"to\":\"0x02\","
                          "\"value\":\"0xde0b6b3a7640000\"}");
    free(txt);
    json_decref(o);
    struct tgx_jsonrpc_msg empty = {0};
    o = tgx_jsonrpc_msg_json(&empty);
    cr_expect_eq(json_object_size(o), 0);
    json_decref(o);
}

Test(jsonrpc, node_errors_carry_code_message_and_revert_data)
{
    struct jsonrpc_test_srv s;
    jsonrpc_test_start(&s, jsonrpc_test_node);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(s.url, 0, &c), 0);
    const uint8_t bad[4] = {0xde, 0xad, 0xbe, 0xef};
    struct tgx_jsonrpc_msg msg = {.from = "0x01", .to = "0x02", .data = bad, .data_len = 4};
    struct tgx_jsonrpc_error err = {0};
    uint64_t gas = 99;
    cr_expect_eq(tgx_jsonrpc_estimate_gas(c, &msg, &gas, &err), -TGX_ERR_STATE);
    cr_expect_eq(gas, 99);
    cr_expect_eq(err.status, TGX_JSONRPC_RPC);
    cr_expect_eq(err.code, 3);
    cr_expect_str_eq(err.message, "execution reverted: Not enough Ether provided.");
    struct tgx_buf data;
    tgx_buf_init(&data);
    cr_assert_eq(tgx_jsonrpc_error_revert_data(&err, &data), 0);
    struct tgx_abi_revert r;
    cr_assert_eq(tgx_abi_decode_revert((const uint8_t *)data.data, data.len, NULL, &r), 0);
    cr_expect_eq(r.kind, TGX_ABI_REVERT_ERROR);
    cr_expect_str_eq(r.message, "Not enough Ether provided.");
    tgx_abi_revert_cleanup(&r);
    tgx_buf_cleanup(&data);
    /* the next call resets the error struct (releasing the data) */
    json_t *res = NULL;
    cr_expect_eq(tgx_jsonrpc_call(c, "no_such_method", json_array(), &res, &err), -TGX_ERR_STATE);
    cr_expect(res == NULL);
    cr_expect_eq(err.code, -32601);
    cr_expect(err.data == NULL);
    tgx_buf_init(&data);
    cr_expect_eq(tgx_jsonrpc_error_revert_data(&err, &data), -TGX_ERR_NOTFOUND);
    tgx_buf_cleanup(&data);
    /* NULL params (a json_pack that failed) is refused without a request */
    int before = atomic_load(&s.requests);
    cr_expect_eq(tgx_jsonrpc_call(c, "eth_chainId", NULL, &res, &err), -TGX_ERR_NOMEM);
    cr_expect_eq(atomic_load(&s.requests), before);
    tgx_jsonrpc_error_cleanup(&err);
    tgx_jsonrpc_free(c);
    jsonrpc_test_stop(&s);
}

/* Answers chosen by method name, to exercise each protocol failure. */
static char *jsonrpc_test_broken(struct jsonrpc_test_srv *s, const char *m, json_t *p, json_t *id,
                                 unsigned *status)
{
    (void)s;
    (void)p;
    if (strcmp(m, "garbage") == 0)
        return strdup("hello, not json");
    if (strcmp(m, "wrong_id") == 0) {
        json_t *other = json_integer(json_integer_value(id) + 1000);
        char *r = jsonrpc_test_reply(other, json_string("0x1"));
        json_decref(other);
        return r;
    }
    if (strcmp(m, "no_result") == 0) {
        json_t *o = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", id);
        char *r = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return r;
    }
    if (strcmp(m, "http404") == 0) {
        *status = 404;
        return strdup("404 page not found");
    }
    if (strcmp(m, "http503") == 0) {
        *status = 503;
        return strdup("busy");
    }
    if (strcmp(m, "http429") == 0) {
        *status = 429;
        return strdup("{\"message\":\"rate limited\"}");
    }
    if (strcmp(m, "http500_rpc_error") == 0) {
        *status = 500;
        return jsonrpc_test_error(id, -32000, "header not found", NULL);
    }
    if (strcmp(m, "eth_gasPrice") == 0)
        return jsonrpc_test_reply(id, json_integer(7)); /* not a quantity string */
    if (strcmp(m, "eth_chainId") == 0)
        return jsonrpc_test_reply(id, json_string("0x10000000000000000")); /* > 64 bits */
    if (strcmp(m, "eth_getTransactionReceipt") == 0)
        return jsonrpc_test_reply(id, json_string("pending")); /* neither object nor null */
    return jsonrpc_test_error(id, -32601, "method not found", NULL);
}

Test(jsonrpc, protocol_and_http_failures)
{
    struct jsonrpc_test_srv s;
    jsonrpc_test_start(&s, jsonrpc_test_broken);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(s.url, 0, &c), 0);
    static const struct {
        const char *method;
        int rc;
        enum tgx_jsonrpc_status status;
        long code;
    } cases[] = {
        {"garbage", -TGX_ERR_INVAL, TGX_JSONRPC_PROTOCOL, 200},
        {"wrong_id", -TGX_ERR_INVAL, TGX_JSONRPC_PROTOCOL, 200},
        {"no_result", -TGX_ERR_INVAL, TGX_JSONRPC_PROTOCOL, 200},
        {"http404", -TGX_ERR_INVAL, TGX_JSONRPC_PROTOCOL, 404},
        {"http503", -TGX_ERR_IO, TGX_JSONRPC_TRANSPORT, 503},
        {"http429", -TGX_ERR_IO, TGX_JSONRPC_TRANSPORT, 429},
        {"http500_rpc_error", -TGX_ERR_STATE, TGX_JSONRPC_RPC, -32000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_jsonrpc_error err = {0};
        json_t *res = NULL;
        cr_expect_eq(tgx_jsonrpc_call(c, cases[i].method, json_array(), &res, &err), cases[i].rc, "%s: %s",
                     cases[i].method, err.message);
        cr_expect_eq(err.status, cases[i].status, "%s", cases[i].method);
        cr_expect_eq(err.code, cases[i].code, "%s", cases[i].method);
        cr_expect(err.message[0] != '\0', "%s", cases[i].method);
        cr_expect(res == NULL);
        tgx_jsonrpc_error_cleanup(&err);
    }
    struct tgx_jsonrpc_error err = {0};
    struct tgx_u256 v;
    uint64_t u;
    json_t *o = NULL;
    cr_expect_eq(tgx_jsonrpc_gas_price(c, &v, &err), -TGX_ERR_INVAL);
    cr_expect_eq(err.status, TGX_JSONRPC_PROTOCOL);
    cr_expect_eq(tgx_jsonrpc_chain_id(c, &u, &err), -TGX_ERR_INVAL);
    cr_expect_eq(err.status, TGX_JSONRPC_PROTOCOL);
    cr_expect_eq(tgx_jsonrpc_get_receipt(c, "0x01", &o, &err), -TGX_ERR_INVAL);
    cr_expect(o == NULL);
    /* the client still works after all that */
    cr_expect_eq(tgx_jsonrpc_call(c, "wrong_id", json_array(), &o, NULL), -TGX_ERR_INVAL);
    tgx_jsonrpc_error_cleanup(&err);
    tgx_jsonrpc_free(c);
    jsonrpc_test_stop(&s);
}

Test(jsonrpc, unreachable_is_transport)
{
    char url[64];
    jsonrpc_test_closed_url(url, sizeof url);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(url, 1000, &c), 0);
    struct tgx_jsonrpc_error err = {0};
    uint64_t id;
    cr_expect_eq(tgx_jsonrpc_chain_id(c, &id, &err), -TGX_ERR_IO);
    cr_expect_eq(err.status, TGX_JSONRPC_TRANSPORT);
    cr_expect(strstr(err.message, "could not call eth_chainId") != NULL, "%s", err.message);
    tgx_jsonrpc_free(c);
    /* a name that does not resolve */
    cr_assert_eq(tgx_jsonrpc_create("http://nonexistent.invalid:8545", 1000, &c), 0);
    cr_expect_eq(tgx_jsonrpc_chain_id(c, &id, &err), -TGX_ERR_IO);
    cr_expect_eq(err.status, TGX_JSONRPC_TRANSPORT);
    tgx_jsonrpc_free(c);
}

/* Never answers until the test releases it. */
static char *jsonrpc_test_hang(struct jsonrpc_test_srv *s, const char *m, json_t *p, json_t *id,
                               unsigned *status)
{
    (void)m;
    (void)p;
    (void)status;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    sem_timedwait(&s->release, &ts);
    return jsonrpc_test_reply(id, json_string("0x1"));
}

Test(jsonrpc, timeout_is_transport)
{
    struct jsonrpc_test_srv s;
    jsonrpc_test_start(&s, jsonrpc_test_hang);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(s.url, 200, &c), 0);
    struct tgx_jsonrpc_error err = {0};
    uint64_t id;
    cr_expect_eq(tgx_jsonrpc_chain_id(c, &id, &err), -TGX_ERR_IO);
    cr_expect_eq(err.status, TGX_JSONRPC_TRANSPORT);
    cr_expect(strstr(err.message, "imeout") != NULL || strstr(err.message, "timed out") != NULL, "%s",
              err.message);
    tgx_jsonrpc_free(c);
    jsonrpc_test_stop(&s);
}

Test(jsonrpc, create_rejects_bad_arguments)
{
    struct tgx_jsonrpc *c = NULL;
    cr_expect_eq(tgx_jsonrpc_create("ftp://x", 0, &c), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_jsonrpc_create("127.0.0.1:8545", 0, &c), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_jsonrpc_create(NULL, 0, &c), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_jsonrpc_create("http://127.0.0.1:1", -5, &c), -TGX_ERR_INVAL);
    cr_expect(c == NULL);
    tgx_jsonrpc_free(NULL);
}

Test(jsonrpc, keep_alive_reuses_one_connection)
{
    struct jsonrpc_test_srv s;
    jsonrpc_test_start(&s, jsonrpc_test_node);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(s.url, 0, &c), 0);
    for (int i = 0; i < 10; i++) {
        uint64_t id;
        cr_assert_eq(tgx_jsonrpc_chain_id(c, &id, NULL), 0);
    }
    cr_expect_eq(atomic_load(&s.requests), 10);
    cr_expect_eq(atomic_load(&s.connections), 1, "sequential calls share one kept-alive connection");
    tgx_jsonrpc_free(c);
    jsonrpc_test_stop(&s);
}

struct jsonrpc_test_worker {
    struct tgx_jsonrpc *c;
    int ok;
};

static void *jsonrpc_test_worker_run(void *arg)
{
    struct jsonrpc_test_worker *w = arg;
    for (int i = 0; i < 25; i++) {
        struct tgx_u256 v;
        uint64_t id;
        if (tgx_jsonrpc_gas_price(w->c, &v, NULL) == 0 && v.w[0] == 1000000000 &&
            tgx_jsonrpc_chain_id(w->c, &id, NULL) == 0 && id == 31337)
            w->ok++;
    }
    return NULL;
}

Test(jsonrpc, concurrent_calls_on_one_client)
{
    struct jsonrpc_test_srv s;
    jsonrpc_test_start(&s, jsonrpc_test_node);
    struct tgx_jsonrpc *c = NULL;
    cr_assert_eq(tgx_jsonrpc_create(s.url, 0, &c), 0);
    pthread_t th[4];
    struct jsonrpc_test_worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct jsonrpc_test_worker){c, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, jsonrpc_test_worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(w[i].ok, 25, "worker %d", i);
    }
    cr_expect_eq(atomic_load(&s.requests), 200);
    cr_expect(atomic_load(&s.connections) <= 4, "at most one connection per concurrent caller");
    tgx_jsonrpc_free(c);
    jsonrpc_test_stop(&s);
}
