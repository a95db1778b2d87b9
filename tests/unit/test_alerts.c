/* test_alerts.c: alert messages (webhook JSON, Telegram sendMessage, the SMTP mail), the target
 * checks, the retry delays, and a webhook delivery to a one-shot local HTTP server. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tgx/alerts.h"

static const struct tgx_alert alerts_sample = {
    .alert_id = 42,
    .kind = "keeper_offline",
    .subject = "keeper 7 offline\r\nBcc: evil@example.com",
    .payload = "{\"keeper_id\": 7}",
    .created_at = "2026-01-02T03:04:05.000Z",
    .attempt = 2,
};

Test(alerts, webhook_body)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_assert_eq(tgx_alert_webhook_body(&alerts_sample, &b), 0);
    json_t *j = json_loads(tgx_buf_str(&b), 0, NULL);
    cr_assert_not_null(j, "%s", tgx_buf_str(&b));
    cr_expect_eq(json_integer_value(json_object_get(j, "alert_id")), 42);
    cr_expect_str_eq(json_string_value(json_object_get(j, "kind")), "keeper_offline");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "payload"), "keeper_id")), 7,
                 "the payload is embedded as JSON");
    cr_expect_eq(json_integer_value(json_object_get(j, "attempt")), 2);
    cr_expect_str_eq(json_string_value(json_object_get(j, "created_at")), "2026-01-02T03:04:05.000Z");
    json_decref(j);
    tgx_buf_cleanup(&b);
}

Test(alerts, telegram_body)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_assert_eq(tgx_alert_telegram_body(&alerts_sample, "-100123", &b), 0);
    json_t *j = json_loads(tgx_buf_str(&b), 0, NULL);
    cr_assert_not_null(j);
    cr_expect_str_eq(json_string_value(json_object_get(j, "chat_id")), "-100123");
    const char *text = json_string_value(json_object_get(j, "text"));
    cr_assert_not_null(text);
    cr_expect(strncmp(text, "[tgx] keeper_offline: keeper 7 offline", 38) == 0, "%s", text);
    json_decref(j);
    tgx_buf_cleanup(&b);
}

Test(alerts, smtp_message)
{
    struct tgx_strv to;
    tgx_strv_init(&to);
    cr_assert_eq(tgx_strv_push(&to, "ops@example.com"), 0);
    cr_assert_eq(tgx_strv_push(&to, "dba@example.com"), 0);
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_assert_eq(tgx_alert_smtp_message(&alerts_sample, "tgx@example.com", &to, &b), 0);
    const char *m = tgx_buf_str(&b);
    cr_expect(strstr(m, "From: <tgx@example.com>\r\n") != NULL, "%s", m);
    cr_expect(strstr(m, "To: <ops@example.com>, <dba@example.com>\r\n") != NULL, "%s", m);
    cr_expect(strstr(m, "Subject: [tgx] keeper_offline: keeper 7 offline  Bcc: evil@example.com\r\n") != NULL,
              "CR and LF of the subject cannot start a header: %s", m);
    const char *end = strstr(m, "\r\n\r\n");
    cr_assert_not_null(end);
    const char *bcc = strstr(m, "\r\nBcc:");
    cr_expect(bcc == NULL || bcc > end, "no injected header");
    cr_expect(strstr(m, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
    cr_expect(strstr(m, "\r\n\r\n[tgx] keeper_offline") != NULL, "the body follows the headers");
    for (const char *p = m; *p; p++)
        if (*p == '\n')
            cr_assert(p > m && p[-1] == '\r', "every line ends with CRLF (offset %td)", p - m);
    tgx_buf_cleanup(&b);
    tgx_strv_cleanup(&to);
}

Test(alerts, targets_checks)
{
    static const struct {
        const char *webhook, *tg_url, *tg_chat, *smtp, *from, *to;
        bool ok;
    } cases[] = {
        {NULL, NULL, NULL, NULL, NULL, NULL, true},
        {"http://127.0.0.1:9/x", NULL, NULL, NULL, NULL, NULL, true},
        {"ftp://x", NULL, NULL, NULL, NULL, NULL, false},
        {NULL, "https://api.telegram.org/botT", "1", NULL, NULL, NULL, true},
        {NULL, "https://api.telegram.org/botT", NULL, NULL, NULL, NULL, false},
        {NULL, NULL, "1", NULL, NULL, NULL, false},
        {NULL, NULL, NULL, "smtp://127.0.0.1:25", "a@b.c", "d@e.f", true},
        {NULL, NULL, NULL, "smtp://127.0.0.1:25", NULL, "d@e.f", false},
        {NULL, NULL, NULL, "smtp://127.0.0.1:25", "a@b.c", NULL, false},
        {NULL, NULL, NULL, "http://127.0.0.1:25", "a@b.c", "d@e.f", false},
        {NULL, NULL, NULL, "smtp://127.0.0.1:25", "a@b.c", "d@e.f>\r\nRCPT TO:<x@y.z", false},
        {NULL, NULL, NULL, "smtp://127.0.0.1:25", "nobody", "d@e.f", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_alert_targets t;
        memset(&t, 0, sizeof t);
        tgx_strv_init(&t.smtp_to);
        t.webhook_url = cases[i].webhook ? strdup(cases[i].webhook) : NULL;
        t.telegram_url = cases[i].tg_url ? strdup(cases[i].tg_url) : NULL;
        t.telegram_chat = cases[i].tg_chat ? strdup(cases[i].tg_chat) : NULL;
        t.smtp_url = cases[i].smtp ? strdup(cases[i].smtp) : NULL;
        t.smtp_from = cases[i].from ? strdup(cases[i].from) : NULL;
        if (cases[i].to != NULL)
            cr_assert_eq(tgx_strv_push(&t.smtp_to, cases[i].to), 0);
        struct tgx_buf err;
        tgx_buf_init(&err);
        cr_expect_eq(tgx_alert_targets_check(&t, &err) == 0, cases[i].ok, "row %zu: %s", i,
                     tgx_buf_str(&err));
        tgx_buf_cleanup(&err);
        tgx_alert_targets_cleanup(&t);
    }
}

Test(alerts, retry_delays)
{
    struct tgx_alert_targets t;
    memset(&t, 0, sizeof t);
    t.backoff_ms = 1000;
    t.backoff_cap_ms = 5000;
    static const long expect[] = {1000, 2000, 4000, 5000, 5000};
    for (int a = 1; a <= 5; a++)
        cr_expect_eq(tgx_alert_retry_ms(&t, a), expect[a - 1], "attempt %d", a);
    cr_expect_str_eq(tgx_alert_channel_name(TGX_ALERT_WEBHOOK), "webhook");
    cr_expect_str_eq(tgx_alert_channel_name(TGX_ALERT_TELEGRAM), "telegram");
    cr_expect_str_eq(tgx_alert_channel_name(TGX_ALERT_SMTP), "smtp");
}

/* A one-shot HTTP server: reads one request, answers STATUS, keeps the request. */
struct alerts_http {
    int fd;
    int status;
    char request[4096];
};

static void *alerts_http_main(void *arg)
{
    struct alerts_http *h = arg;
    int c = accept(h->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(c, h->request + n, sizeof h->request - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        h->request[n] = '\0';
        char *body = strstr(h->request, "\r\n\r\n");
        const char *cl = strstr(h->request, "Content-Length: ");
        if (body != NULL && cl != NULL && (size_t)(body + 4 - h->request) + (size_t)atoi(cl + 16) <= n)
            break;
    }
    char reply[128];
    int len = snprintf(reply, sizeof reply,
                       "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno", h->status);
    ssize_t w = write(c, reply, (size_t)len);
    (void)w;
    close(c);
    return NULL;
}

static int alerts_http_listen(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    return fd;
}

static int alerts_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static void alerts_webhook_once(int status, int expect_rc)
{
    cr_assert_eq(tgx_alerts_global_init(), 0);
    struct alerts_http h = {.fd = alerts_http_listen(), .status = status};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, alerts_http_main, &h), 0);
    struct tgx_alert_targets t;
    memset(&t, 0, sizeof t);
    tgx_strv_init(&t.smtp_to);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", alerts_port(h.fd));
    t.webhook_url = strdup(url);
    t.timeout_ms = 5000;
    char err[256];
    int rc = tgx_alert_send(&t, TGX_ALERT_WEBHOOK, &alerts_sample, NULL, NULL, err, sizeof err);
    pthread_join(th, NULL);
    close(h.fd);
    cr_expect_eq(rc, expect_rc, "status %d: %s", status, err);
    cr_expect(strncmp(h.request, "POST /hook HTTP/1.1\r\n", 21) == 0, "%s", h.request);
    cr_expect(strstr(h.request, "Content-Type: application/json") != NULL);
    cr_expect(strstr(h.request, "\"alert_id\":42") != NULL, "%s", h.request);
    if (expect_rc != 0)
        cr_expect(strstr(err, "HTTP status 500") != NULL, "%s", err);
    tgx_alert_targets_cleanup(&t);
    tgx_alerts_global_cleanup();
}

Test(alerts, webhook_delivered_on_2xx)
{
    alerts_webhook_once(204, 0);
}

Test(alerts, webhook_fails_on_5xx)
{
    alerts_webhook_once(500, -TGX_ERR_IO);
}
