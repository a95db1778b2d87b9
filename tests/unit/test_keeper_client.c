/* test_keeper_client.c: the keeper's gateway client (keeper.h): signed request headers as the
 * gateway checks them (through a real libcurl request to a small HTTP server in the test), the
 * counter argument, keep-alive, the answer kinds, aborting a long-poll, the signed result and
 * verdict bodies, and the backoff. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tgx/keeper.h"
#include "tgx/keeper_gw.h"

/* A fixed test key (not a real one). */
static const uint8_t test_secret[TGX_SECP_SECRET_LEN] = {
    0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d, 0x62, 0x31, 0x47, 0x1b, 0x5d, 0xbb, 0x62, 0x04,
    0xfe, 0x51, 0x29, 0x61, 0x70, 0x82, 0x79, 0x2a, 0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18};

static struct tgx_keeper_signer *new_signer(void)
{
    struct tgx_keeper_signer *s = NULL;
    cr_assert_eq(tgx_keeper_signer_create(test_secret, &s), 0);
    return s;
}

/* ---------------------------------------------------------------- a tiny HTTP/1.1 server */

#define SRV_MAX_REQ 8

/* One request as received. */
struct srv_req {
    char method[8];
    char target[256];
    char address[64], timestamp[32], signature[160], connection[64];
    char body[1024];
    size_t body_len;
};

/* The server: answers every request with STATUS and BODY, keeps connections open, or (silent)
 * never answers. */
struct srv {
    int fd;
    unsigned port;
    int status;
    const char *body;
    bool silent;
    pthread_t thread;
    pthread_mutex_t mu;
    struct srv_req req[SRV_MAX_REQ];
    int nreq;
    int nconn;
};

/* The value of header NAME in the header block HDRS into OUT. */
static void header_value(const char *hdrs, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *l = hdrs; l != NULL && *l != '\0';) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            size_t m = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)m, v);
            return;
        }
        l = strstr(l, "\r\n");
        if (l != NULL)
            l += 2;
    }
}

/* The end of the header block in the N bytes at B, or NULL. */
static char *headers_end(char *b, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(b + i, "\r\n\r\n", 4) == 0)
            return b + i;
    return NULL;
}

/* Serve one connection until the peer closes it. */
static void srv_conn(struct srv *s, int c)
{
    char buf[8192];
    size_t have = 0;
    for (;;) {
        char *end;
        while ((end = headers_end(buf, have)) == NULL) {
            ssize_t r = read(c, buf + have, sizeof buf - have - 1);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        *end = '\0';
        struct srv_req q;
        memset(&q, 0, sizeof q);
        sscanf(buf, "%7s %255s", q.method, q.target);
        header_value(buf, "X-Keeper-Address", q.address, sizeof q.address);
        header_value(buf, "X-Keeper-Timestamp", q.timestamp, sizeof q.timestamp);
        header_value(buf, "X-Keeper-Signature", q.signature, sizeof q.signature);
        header_value(buf, "Connection", q.connection, sizeof q.connection);
        char cl[32];
        header_value(buf, "Content-Length", cl, sizeof cl);
        size_t len = cl[0] ? (size_t)strtoul(cl, NULL, 10) : 0, head = (size_t)(end - buf) + 4;
        while (have < head + len) {
            ssize_t r = read(c, buf + have, sizeof buf - have - 1);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        q.body_len = len < sizeof q.body ? len : sizeof q.body - 1;
        memcpy(q.body, buf + head, q.body_len);
        memmove(buf, buf + head + len, have - head - len);
        have -= head + len;
        pthread_mutex_lock(&s->mu);
        if (s->nreq < SRV_MAX_REQ)
            s->req[s->nreq++] = q;
        pthread_mutex_unlock(&s->mu);
        if (s->silent) {
            sleep(30);
            return;
        }
        char resp[1024];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         s->status, strlen(s->body), s->body);
        if (write(c, resp, (size_t)n) != n)
            return;
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_mutex_lock(&s->mu);
        s->nconn++;
        pthread_mutex_unlock(&s->mu);
        srv_conn(s, c);
        close(c);
    }
}

static void srv_start(struct srv *s, int status, const char *body)
{
    memset(s, 0, sizeof *s);
    s->status = status;
    s->body = body;
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->fd, 8), 0);
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

/* The test process ends soon after: the thread is left blocked in accept/read. */
static void srv_url(const struct srv *s, char *out, size_t outlen)
{
    snprintf(out, outlen, "http://127.0.0.1:%u/", s->port);
}

/* Does request Q carry a signature of its method, target, timestamp and body by ADDRESS? */
static bool signed_ok(const struct srv_req *q, const char *address)
{
    struct tgx_buf text;
    tgx_buf_init(&text);
    cr_assert_eq(tgx_keeper_gw_request_text(q->method, q->target, q->timestamp, q->body, q->body_len, &text),
                 0);
    bool ok = strcasecmp(q->address, address) == 0 &&
              tgx_keeper_gw_signed_by(text.data, text.len, q->signature, q->address);
    tgx_buf_cleanup(&text);
    return ok;
}

/* ---------------------------------------------------------------- signed requests */

Test(keeper_client, get_and_post_are_signed_as_the_gateway_checks)
{
    struct srv s;
    srv_start(&s, 200, "{\"status\":true}");
    char url[64];
    srv_url(&s, url, sizeof url);
    struct tgx_keeper_signer *signer = new_signer();
    struct tgx_keeper_client *c;
    cr_assert_eq(tgx_keeper_client_create(url, signer, &c), 0);

    struct tgx_keeper_reply r;
    cr_assert_eq(tgx_keeper_client_request(c, "GET", "/api/keeper/tasks?wait=0", NULL, 5000, -1, &r), 0);
    cr_expect_eq(r.kind, TGX_KEEPER_REPLY_OK, "%s", r.message);
    cr_expect_eq(r.status, 200);
    cr_expect(json_is_true(json_object_get(r.body, "status")));
    tgx_keeper_reply_cleanup(&r);
    json_t *body = json_pack("{s:s, s:i}", "version", "1.2.3", "uptime", 42);
    cr_assert_eq(tgx_keeper_client_request(c, "POST", "/api/keeper/checkin", body, 5000, -1, &r), 0);
    cr_expect_eq(r.kind, TGX_KEEPER_REPLY_OK, "%s", r.message);
    tgx_keeper_reply_cleanup(&r);
    /* the same GET again: a different target, so a different signature */
    cr_assert_eq(tgx_keeper_client_request(c, "GET", "/api/keeper/tasks?wait=0", NULL, 5000, -1, &r), 0);
    tgx_keeper_reply_cleanup(&r);

    pthread_mutex_lock(&s.mu);
    cr_assert_eq(s.nreq, 3);
    const struct srv_req *g1 = &s.req[0], *p = &s.req[1], *g2 = &s.req[2];
    cr_expect_str_eq(g1->method, "GET");
    cr_expect_eq(strncmp(g1->target, "/api/keeper/tasks?wait=0&n=", 27), 0, "%s", g1->target);
    cr_expect(signed_ok(g1, tgx_keeper_signer_address(signer)), "the GET verifies");
    cr_expect_str_eq(p->method, "POST");
    cr_expect_eq(strncmp(p->target, "/api/keeper/checkin?n=", 22), 0, "%s", p->target);
    cr_expect(p->body_len > 0 && strstr(p->body, "\"version\":\"1.2.3\"") != NULL, "%s", p->body);
    cr_expect(signed_ok(p, tgx_keeper_signer_address(signer)), "the POST verifies, body included");
    cr_expect_str_neq(g1->target, g2->target, "the counter makes identical requests differ");
    cr_expect_str_neq(g1->signature, g2->signature);
    cr_expect(signed_ok(g2, tgx_keeper_signer_address(signer)));
    cr_expect_str_eq(g1->connection, "keep-alive");
    cr_expect_eq(s.nconn, 1, "one connection for every request (keep-alive)");
    /* a tampered body no longer verifies */
    struct srv_req bad = *p;
    bad.body[bad.body_len - 2] ^= 1;
    cr_expect_not(signed_ok(&bad, tgx_keeper_signer_address(signer)));
    pthread_mutex_unlock(&s.mu);
    json_decref(body);
    tgx_keeper_client_free(c);
    tgx_keeper_signer_free(signer);
}

Test(keeper_client, sign_request_is_the_gateway_text)
{
    struct tgx_keeper_signer *signer = new_signer();
    struct tgx_keeper_auth a;
    static const char body[] = "{\"lease_epoch\":3}";
    cr_assert_eq(tgx_keeper_sign_request(signer, "POST", "/api/keeper/tasks/9/ack?n=5", 1700000000, body,
                                         sizeof body - 1, &a),
                 0);
    cr_expect_str_eq(a.timestamp, "1700000000");
    cr_expect_str_eq(a.address, tgx_keeper_signer_address(signer));
    struct tgx_buf t;
    tgx_buf_init(&t);
    cr_assert_eq(tgx_keeper_gw_request_text("POST", "/api/keeper/tasks/9/ack?n=5", "1700000000", body,
                                            sizeof body - 1, &t),
                 0);
    cr_expect(tgx_keeper_gw_signed_by(t.data, t.len, a.signature, a.address));
    tgx_buf_reset(&t);
    cr_assert_eq(tgx_keeper_gw_request_text("POST", "/api/keeper/tasks/9/ack?n=6", "1700000000", body,
                                            sizeof body - 1, &t),
                 0);
    cr_expect_not(tgx_keeper_gw_signed_by(t.data, t.len, a.signature, a.address), "another target");
    tgx_buf_cleanup(&t);
    tgx_keeper_signer_free(signer);
}

Test(keeper_client, counter_argument)
{
    struct tgx_keeper_signer *signer = new_signer();
    char a[64], b[64], c[64];
    cr_assert_eq(tgx_keeper_signer_target(signer, "/api/keeper/checkin", a, sizeof a), 0);
    cr_assert_eq(tgx_keeper_signer_target(signer, "/api/keeper/checkin", b, sizeof b), 0);
    cr_assert_eq(tgx_keeper_signer_target(signer, "/api/keeper/tasks?wait=25", c, sizeof c), 0);
    cr_expect_eq(strncmp(a, "/api/keeper/checkin?n=", 22), 0, "%s", a);
    cr_expect_str_neq(a, b);
    cr_expect_eq(strncmp(c, "/api/keeper/tasks?wait=25&n=", 28), 0, "%s", c);
    unsigned long long na = strtoull(a + 22, NULL, 10), nb = strtoull(b + 22, NULL, 10);
    cr_expect_eq(nb, na + 1);
    cr_expect_eq(tgx_keeper_signer_target(signer, "/api/keeper/checkin", a, 10), -TGX_ERR_INVAL, "too small");
    tgx_keeper_signer_free(signer);
}

/* ---------------------------------------------------------------- answers */

Test(keeper_client, answer_kinds)
{
    static const struct {
        long status;
        const char *code;
        enum tgx_keeper_reply_kind kind;
    } cases[] = {
        {200, NULL, TGX_KEEPER_REPLY_OK},
        {204, NULL, TGX_KEEPER_REPLY_OK},
        {0, NULL, TGX_KEEPER_REPLY_TRANSIENT},
        {500, "INTERNAL", TGX_KEEPER_REPLY_TRANSIENT},
        {503, NULL, TGX_KEEPER_REPLY_TRANSIENT},
        {429, NULL, TGX_KEEPER_REPLY_TRANSIENT},
        {401, "REPLAYED_REQUEST", TGX_KEEPER_REPLY_TRANSIENT},
        {401, "STALE_TIMESTAMP", TGX_KEEPER_REPLY_REFUSED},
        {401, "INVALID_SIGNATURE", TGX_KEEPER_REPLY_REFUSED},
        {403, "KEEPER_NOT_WHITELISTED", TGX_KEEPER_REPLY_REFUSED},
        {403, "KEEPER_NOT_REGISTERED", TGX_KEEPER_REPLY_REFUSED},
        {409, "STALE_LEASE", TGX_KEEPER_REPLY_STALE},
        {400, "INVALID_REQUEST", TGX_KEEPER_REPLY_REJECTED},
        {404, "TASK_NOT_FOUND", TGX_KEEPER_REPLY_REJECTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_keeper_reply_classify(cases[i].status, cases[i].code), cases[i].kind,
                     "row %zu: %ld %s", i, cases[i].status, cases[i].code ? cases[i].code : "");
}

Test(keeper_client, error_answer_carries_message_and_code)
{
    struct srv s;
    srv_start(&s, 403, "{\"error\":\"keeper 0xab is not whitelisted\",\"code\":\"KEEPER_NOT_WHITELISTED\"}");
    char url[64];
    srv_url(&s, url, sizeof url);
    struct tgx_keeper_signer *signer = new_signer();
    struct tgx_keeper_client *c;
    cr_assert_eq(tgx_keeper_client_create(url, signer, &c), 0);
    struct tgx_keeper_reply r;
    cr_assert_eq(tgx_keeper_client_request(c, "GET", "/api/keeper/tasks", NULL, 5000, -1, &r), 0);
    cr_expect_eq(r.kind, TGX_KEEPER_REPLY_REFUSED);
    cr_expect_eq(r.status, 403);
    cr_expect_str_eq(r.code, "KEEPER_NOT_WHITELISTED");
    cr_expect_str_eq(r.message, "keeper 0xab is not whitelisted");
    tgx_keeper_reply_cleanup(&r);
    tgx_keeper_client_free(c);
    tgx_keeper_signer_free(signer);
}

Test(keeper_client, no_server_is_transient)
{
    /* a port nobody listens on: bind one, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", ntohs(a.sin_port));
    struct tgx_keeper_signer *signer = new_signer();
    struct tgx_keeper_client *c;
    cr_assert_eq(tgx_keeper_client_create(url, signer, &c), 0);
    struct tgx_keeper_reply r;
    json_t *empty = json_object();
    cr_assert_eq(tgx_keeper_client_request(c, "POST", "/api/keeper/checkin", empty, 5000, -1, &r), 0);
    json_decref(empty);
    cr_expect_eq(r.kind, TGX_KEEPER_REPLY_TRANSIENT);
    cr_expect_eq(r.status, 0);
    cr_expect(r.message[0] != '\0');
    tgx_keeper_reply_cleanup(&r);
    tgx_keeper_client_free(c);
    tgx_keeper_signer_free(signer);
    struct tgx_keeper_client *bad;
    cr_expect_eq(tgx_keeper_client_create("ftp://x", signer, &bad), -TGX_ERR_INVAL);
}

/* A long-poll that the server keeps open ends when the abort descriptor becomes readable. */
static void *write_later(void *arg)
{
    usleep(200 * 1000);
    ssize_t w = write(*(int *)arg, "x", 1);
    (void)w;
    return NULL;
}

Test(keeper_client, abort_descriptor_ends_a_long_poll)
{
    struct srv s;
    srv_start(&s, 200, "{}");
    s.silent = true;
    char url[64];
    srv_url(&s, url, sizeof url);
    struct tgx_keeper_signer *signer = new_signer();
    struct tgx_keeper_client *c;
    cr_assert_eq(tgx_keeper_client_create(url, signer, &c), 0);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pthread_t t;
    pthread_create(&t, NULL, write_later, &p[1]);
    struct tgx_keeper_reply r;
    /* 60 s: without the abort the answer would be a timeout (TRANSIENT), not ABORTED */
    cr_assert_eq(tgx_keeper_client_request(c, "GET", "/api/keeper/tasks?wait=30", NULL, 60000, p[0], &r), 0);
    cr_expect_eq(r.kind, TGX_KEEPER_REPLY_ABORTED, "%d %s", r.kind, r.message);
    tgx_keeper_reply_cleanup(&r);
    pthread_join(t, NULL);
    tgx_keeper_client_free(c);
    tgx_keeper_signer_free(signer);
    close(p[0]);
    close(p[1]);
}

/* ---------------------------------------------------------------- results and verdicts */

Test(keeper_client, result_signature_recovers_to_the_keeper)
{
    struct tgx_keeper_signer *signer = new_signer();
    json_t *result =
        json_pack("{s:s, s:s, s:b}", "execution_tx_hash", "0xabc", "gas_used", "21000", "dry_run", 0);
    json_t *body = NULL;
    cr_assert_eq(tgx_keeper_result_body(signer, 77, 4, result, &body), 0);
    cr_expect_eq(json_integer_value(json_object_get(body, "lease_epoch")), 4);
    cr_expect(json_equal(json_object_get(body, "result"), result));
    const char *sig = json_string_value(json_object_get(body, "signature"));
    cr_assert_not_null(sig);
    char text[160];
    cr_assert_eq(tgx_keeper_gw_result_text(77, 4, result, text, sizeof text), 0);
    cr_expect(tgx_keeper_gw_signed_by(text, strlen(text), sig, tgx_keeper_signer_address(signer)));
    cr_assert_eq(tgx_keeper_gw_result_text(77, 5, result, text, sizeof text), 0);
    cr_expect_not(tgx_keeper_gw_signed_by(text, strlen(text), sig, tgx_keeper_signer_address(signer)),
                  "bound to the lease epoch");
    json_decref(body);
    json_decref(result);
    tgx_keeper_signer_free(signer);
}

Test(keeper_client, verdict_signature_recovers_to_the_keeper)
{
    struct tgx_keeper_signer *signer = new_signer();
    json_t *result = json_pack("{s:s}", "execution_tx_hash", "0xabc");
    char digest[TGX_KEEPER_GW_DIGEST_LEN + 1], text[200];
    cr_assert_eq(tgx_keeper_gw_json_digest(result, digest), 0);
    for (int agree = 0; agree <= 1; agree++) {
        json_t *body = NULL;
        cr_assert_eq(tgx_keeper_verdict_body(signer, 12, 3, agree, "calldata differs", digest, &body), 0);
        cr_expect_eq(json_is_true(json_object_get(body, "verdict")), agree);
        cr_expect_eq(json_integer_value(json_object_get(body, "lease_epoch")), 3);
        if (agree)
            cr_expect_null(json_object_get(body, "reason"), "no reason when agreeing");
        else
            cr_expect_str_eq(json_string_value(json_object_get(body, "reason")), "calldata differs");
        const char *sig = json_string_value(json_object_get(body, "signature"));
        cr_assert_eq(tgx_keeper_gw_attest_text(12, 3, agree, digest, text, sizeof text), 0);
        cr_expect(tgx_keeper_gw_signed_by(text, strlen(text), sig, tgx_keeper_signer_address(signer)),
                  "agree=%d", agree);
        cr_assert_eq(tgx_keeper_gw_attest_text(12, 3, !agree, digest, text, sizeof text), 0);
        cr_expect_not(tgx_keeper_gw_signed_by(text, strlen(text), sig, tgx_keeper_signer_address(signer)),
                      "bound to the verdict");
        json_decref(body);
    }
    json_decref(result);
    tgx_keeper_signer_free(signer);
}

Test(keeper_client, signer_address_and_bad_key)
{
    struct tgx_keeper_signer *s = new_signer();
    uint8_t addr[TGX_ADDRESS_LEN];
    char text[TGX_ADDRESS_TEXT_LEN + 1];
    cr_assert_eq(tgx_secp_address(test_secret, addr), 0);
    tgx_secp_address_text(addr, text);
    cr_expect_str_eq(tgx_keeper_signer_address(s), text);
    tgx_keeper_signer_free(s);
    static const uint8_t zero[TGX_SECP_SECRET_LEN] = {0};
    struct tgx_keeper_signer *bad = NULL;
    cr_expect_lt(tgx_keeper_signer_create(zero, &bad), 0);
    cr_expect_null(bad);
}

/* ---------------------------------------------------------------- backoff */

Test(keeper_backoff, doubles_with_jitter_up_to_the_cap)
{
    struct tgx_keeper_backoff b;
    tgx_keeper_backoff_init(&b, 500, 30000, 7);
    static const long expect[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        long d = tgx_keeper_backoff_next(&b);
        cr_expect_geq(d, expect[i] * 3 / 4, "step %zu: %ld", i, d);
        cr_expect_leq(d, expect[i] * 5 / 4 > 30000 ? 30000 : expect[i] * 5 / 4, "step %zu: %ld", i, d);
    }
    tgx_keeper_backoff_reset(&b);
    long d = tgx_keeper_backoff_next(&b);
    cr_expect(d >= 375 && d <= 625, "after a reset: %ld", d);
    /* jitter: many draws of the first step are not all equal */
    bool differ = false;
    long first = -1;
    for (unsigned seed = 1; seed < 50; seed++) {
        tgx_keeper_backoff_init(&b, 500, 30000, seed);
        long x = tgx_keeper_backoff_next(&b);
        differ = differ || (first >= 0 && x != first);
        first = x;
    }
    cr_expect(differ);
}
