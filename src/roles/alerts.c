/* alerts.c: delivery of one alert on one channel over libcurl: webhook (JSON POST), Telegram Bot
 * API-style HTTP (POST {url}/sendMessage) and SMTP (MAIL FROM / RCPT TO, a plain-text mail). */
#include "tgx/alerts.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgx/log.h"

static const char *const CHANNEL_NAMES[TGX_ALERT_NCHANNELS] = {"webhook", "telegram", "smtp"};

const char *tgx_alert_channel_name(enum tgx_alert_channel ch)
{
    return (unsigned)ch < TGX_ALERT_NCHANNELS ? CHANNEL_NAMES[ch] : "?";
}

/* ---------------------------------------------------------------------------------------------
 * Targets
 * ------------------------------------------------------------------------------------------- */

static int dup_into(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst != NULL ? 0 : -TGX_ERR_NOMEM;
}

int tgx_alert_targets_from_config(struct tgx_alert_targets *t, const struct tgx_config *cfg)
{
    memset(t, 0, sizeof *t);
    tgx_strv_init(&t->smtp_to);
    t->timeout_ms = cfg->alert_timeout_ms;
    t->max_attempts = cfg->alert_max_attempts;
    t->backoff_ms = cfg->alert_backoff_ms;
    t->backoff_cap_ms = cfg->alert_backoff_cap_ms;
    int rc = dup_into(&t->webhook_url, cfg->alert_webhook);
    if (rc == 0)
        rc = dup_into(&t->telegram_url, cfg->alert_telegram_url);
    if (rc == 0)
        rc = dup_into(&t->telegram_chat, cfg->alert_telegram_chat);
    if (rc == 0)
        rc = dup_into(&t->smtp_url, cfg->alert_smtp_url);
    if (rc == 0)
        rc = dup_into(&t->smtp_from, cfg->alert_smtp_from);
    for (size_t i = 0; rc == 0 && i < cfg->alert_smtp_to.n; i++)
        rc = tgx_strv_push(&t->smtp_to, cfg->alert_smtp_to.v[i]);
    if (rc < 0)
        tgx_alert_targets_cleanup(t);
    return rc;
}

void tgx_alert_targets_cleanup(struct tgx_alert_targets *t)
{
    free(t->webhook_url);
    free(t->telegram_url);
    free(t->telegram_chat);
    free(t->smtp_url);
    free(t->smtp_from);
    tgx_strv_cleanup(&t->smtp_to);
    memset(t, 0, sizeof *t);
}

/* A mail address fit for a header and an SMTP command: no space, control character or <>. */
static bool plain_address(const char *a)
{
    if (a == NULL || a[0] == '\0' || strchr(a, '@') == NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == 0x7f)
            return false;
    return true;
}

static bool has_scheme(const char *url, const char *a, const char *b)
{
    return strncmp(url, a, strlen(a)) == 0 || (b != NULL && strncmp(url, b, strlen(b)) == 0);
}

int tgx_alert_targets_check(const struct tgx_alert_targets *t, struct tgx_buf *err)
{
    if (t->webhook_url != NULL && !has_scheme(t->webhook_url, "http://", "https://")) {
        tgx_buf_puts(err, "invalid alert_webhook: expected an http:// or https:// URL");
        return -TGX_ERR_INVAL;
    }
    if (t->telegram_url != NULL && !has_scheme(t->telegram_url, "http://", "https://")) {
        tgx_buf_puts(err, "invalid alert_telegram_url: expected an http:// or https:// URL");
        return -TGX_ERR_INVAL;
    }
    if ((t->telegram_url != NULL) != (t->telegram_chat != NULL)) {
        tgx_buf_puts(err, "alert_telegram_url and alert_telegram_chat go together: give both or neither");
        return -TGX_ERR_INVAL;
    }
    if (t->smtp_url != NULL && !has_scheme(t->smtp_url, "smtp://", "smtps://")) {
        tgx_buf_puts(err, "invalid alert_smtp_url: expected smtp://HOST:PORT or smtps://HOST:PORT");
        return -TGX_ERR_INVAL;
    }
    if (t->smtp_url != NULL && (t->smtp_from == NULL || t->smtp_to.n == 0)) {
        tgx_buf_puts(err, "alert_smtp_url needs alert_smtp_from and at least one alert_smtp_to");
        return -TGX_ERR_INVAL;
    }
    if (t->smtp_from != NULL && !plain_address(t->smtp_from)) {
        tgx_buf_printf(err,
                       "invalid alert_smtp_from \"%s\": expected a plain address like alerts@example.com",
                       t->smtp_from);
        return -TGX_ERR_INVAL;
    }
    for (size_t i = 0; i < t->smtp_to.n; i++) {
        if (!plain_address(t->smtp_to.v[i])) {
            tgx_buf_printf(err, "invalid alert_smtp_to \"%s\": expected a plain address like ops@example.com",
                           t->smtp_to.v[i]);
            return -TGX_ERR_INVAL;
        }
    }
    return 0;
}

bool tgx_alert_channel_configured(const struct tgx_alert_targets *t, enum tgx_alert_channel ch)
{
    switch (ch) {
    case TGX_ALERT_WEBHOOK:
        return t->webhook_url != NULL;
    case TGX_ALERT_TELEGRAM:
        return t->telegram_url != NULL && t->telegram_chat != NULL;
    case TGX_ALERT_SMTP:
        return t->smtp_url != NULL && t->smtp_from != NULL && t->smtp_to.n > 0;
    }
    return false;
}

long tgx_alert_retry_ms(const struct tgx_alert_targets *t, int attempt)
{
    long ms = t->backoff_ms > 0 ? t->backoff_ms : 1;
    for (int i = 1; i < attempt && ms < t->backoff_cap_ms; i++)
        ms = ms > t->backoff_cap_ms / 2 ? t->backoff_cap_ms : ms * 2;
    return ms > t->backoff_cap_ms ? t->backoff_cap_ms : ms;
}

/* ---------------------------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------------------------- */

/* The payload as JSON (an object when it parses, else the text as a string): a new reference. */
static json_t *payload_json(const struct tgx_alert *a)
{
    json_t *p = a->payload != NULL ? json_loads(a->payload, JSON_DECODE_ANY, NULL) : NULL;
    if (p == NULL)
        p = a->payload != NULL ? json_string(a->payload) : json_object();
    return p;
}

static int dump_into(json_t *j, struct tgx_buf *out)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    tgx_buf_puts(out, text);
    free(text);
    return tgx_buf_oom(out) ? -TGX_ERR_NOMEM : 0;
}

int tgx_alert_webhook_body(const struct tgx_alert *a, struct tgx_buf *out)
{
    json_t *j = json_pack("{s:I, s:s, s:s, s:o, s:s, s:i}", "alert_id", (json_int_t)a->alert_id, "kind",
                          a->kind != NULL ? a->kind : "other", "subject",
                          a->subject != NULL ? a->subject : "", "payload", payload_json(a), "created_at",
                          a->created_at != NULL ? a->created_at : "", "attempt", a->attempt);
    return dump_into(j, out);
}

/* The human text of an alert: "[tgx] KIND: SUBJECT" and the payload. */
static void alert_text(const struct tgx_alert *a, struct tgx_buf *out)
{
    tgx_buf_printf(out, "[tgx] %s: %s\nalert %lld, raised %s", a->kind != NULL ? a->kind : "other",
                   a->subject != NULL ? a->subject : "", a->alert_id,
                   a->created_at != NULL ? a->created_at : "");
    if (a->payload != NULL && strcmp(a->payload, "{}") != 0)
        tgx_buf_printf(out, "\n%s", a->payload);
}

int tgx_alert_telegram_body(const struct tgx_alert *a, const char *chat, struct tgx_buf *out)
{
    struct tgx_buf text;
    tgx_buf_init(&text);
    alert_text(a, &text);
    json_t *j =
        tgx_buf_oom(&text) ? NULL : json_pack("{s:s, s:s}", "chat_id", chat, "text", tgx_buf_str(&text));
    tgx_buf_cleanup(&text);
    return dump_into(j, out);
}

/* Append S to OUT as a header value: CR and LF become spaces (no header injection). */
static void header_value(struct tgx_buf *out, const char *s)
{
    for (; s != NULL && *s; s++)
        tgx_buf_putc(out, *s == '\r' || *s == '\n' ? ' ' : *s);
}

int tgx_alert_smtp_message(const struct tgx_alert *a, const char *from, const struct tgx_strv *to,
                           struct tgx_buf *out)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    tgx_buf_printf(out, "Date: %s\r\nFrom: <", date);
    header_value(out, from);
    tgx_buf_puts(out, ">\r\nTo: ");
    for (size_t i = 0; i < to->n; i++) {
        tgx_buf_puts(out, i > 0 ? ", <" : "<");
        header_value(out, to->v[i]);
        tgx_buf_putc(out, '>');
    }
    tgx_buf_printf(out, "\r\nMessage-ID: <tgx-alert-%lld-%d@tgxd>\r\nSubject: [tgx] ", a->alert_id,
                   a->attempt);
    header_value(out, a->kind != NULL ? a->kind : "other");
    tgx_buf_puts(out, ": ");
    header_value(out, a->subject);
    tgx_buf_puts(out, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\n");
    /* the body with CRLF line ends; libcurl doubles a leading dot on upload */
    struct tgx_buf text;
    tgx_buf_init(&text);
    alert_text(a, &text);
    for (const char *p = tgx_buf_str(&text); *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n')
            tgx_buf_puts(out, "\r\n");
        else
            tgx_buf_putc(out, *p);
    }
    tgx_buf_puts(out, "\r\n");
    bool oom = tgx_buf_oom(&text);
    tgx_buf_cleanup(&text);
    return oom || tgx_buf_oom(out) ? -TGX_ERR_NOMEM : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------------- */

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;
static int global_refs;

int tgx_alerts_global_init(void)
{
    pthread_mutex_lock(&global_mu);
    int rc = 0;
    if (global_refs == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rc = -TGX_ERR_NOMEM;
    else
        global_refs++;
    pthread_mutex_unlock(&global_mu);
    return rc;
}

void tgx_alerts_global_cleanup(void)
{
    pthread_mutex_lock(&global_mu);
    if (global_refs > 0 && --global_refs == 0)
        curl_global_cleanup();
    pthread_mutex_unlock(&global_mu);
}

struct xfer {
    tgx_alert_cancel_fn cancel;
    void *cancel_arg;
    const char *upload; /* SMTP: the message */
    size_t upload_len, upload_off;
    char reply[200]; /* the start of an HTTP reply, for the error */
    size_t reply_len;
};

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    size_t room = sizeof x->reply - 1 - x->reply_len;
    size_t take = len < room ? len : room;
    memcpy(x->reply + x->reply_len, data, take);
    x->reply_len += take;
    x->reply[x->reply_len] = '\0';
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t room = size * n, left = x->upload_len - x->upload_off;
    size_t take = left < room ? left : room;
    memcpy(buf, x->upload + x->upload_off, take);
    x->upload_off += take;
    return take;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct xfer *x = arg;
    return x->cancel != NULL && x->cancel(x->cancel_arg) ? 1 : 0;
}

/* The reply text as one short line for an error message. */
static void reply_line(struct xfer *x)
{
    for (char *p = x->reply; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

int tgx_alert_send(const struct tgx_alert_targets *t, enum tgx_alert_channel ch, const struct tgx_alert *a,
                   tgx_alert_cancel_fn cancel, void *cancel_arg, char *err, size_t errlen)
{
    err[0] = '\0';
    if (!tgx_alert_channel_configured(t, ch)) {
        snprintf(err, errlen, "channel %s is not configured", tgx_alert_channel_name(ch));
        return -TGX_ERR_INVAL;
    }
    struct tgx_buf body, url;
    tgx_buf_init(&body);
    tgx_buf_init(&url);
    struct xfer x = {.cancel = cancel, .cancel_arg = cancel_arg};
    struct curl_slist *headers = NULL, *rcpt = NULL;
    char from[300];
    int rc = 0;
    switch (ch) {
    case TGX_ALERT_WEBHOOK:
        tgx_buf_puts(&url, t->webhook_url);
        rc = tgx_alert_webhook_body(a, &body);
        break;
    case TGX_ALERT_TELEGRAM: {
        size_t n = strlen(t->telegram_url);
        tgx_buf_puts(&url, t->telegram_url);
        tgx_buf_puts(&url, n > 0 && t->telegram_url[n - 1] == '/' ? "sendMessage" : "/sendMessage");
        rc = tgx_alert_telegram_body(a, t->telegram_chat, &body);
        break;
    }
    case TGX_ALERT_SMTP:
        tgx_buf_puts(&url, t->smtp_url);
        rc = tgx_alert_smtp_message(a, t->smtp_from, &t->smtp_to, &body);
        break;
    }
    CURL *h = rc == 0 && !tgx_buf_oom(&url) ? curl_easy_init() : NULL;
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        tgx_buf_cleanup(&body);
        tgx_buf_cleanup(&url);
        return -TGX_ERR_NOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, tgx_buf_str(&url));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    if (ch == TGX_ALERT_SMTP) {
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        snprintf(from, sizeof from, "<%s>", t->smtp_from);
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
        for (size_t i = 0; i < t->smtp_to.n; i++) {
            char to[300];
            snprintf(to, sizeof to, "<%s>", t->smtp_to.v[i]);
            struct curl_slist *next = curl_slist_append(rcpt, to);
            if (next == NULL) {
                rc = -TGX_ERR_NOMEM;
                break;
            }
            rcpt = next;
        }
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
        x.upload = tgx_buf_str(&body);
        x.upload_len = body.len;
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &x);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body.len);
    } else {
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (headers == NULL)
            rc = -TGX_ERR_NOMEM;
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, tgx_buf_str(&body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "tgxd/" TGX_VERSION);
    }
    if (rc == 0) {
        CURLcode cc = curl_easy_perform(h);
        if (cc == CURLE_ABORTED_BY_CALLBACK) {
            snprintf(err, errlen, "interrupted by shutdown");
            rc = -TGX_ERR_IO;
        } else if (cc != CURLE_OK) {
            snprintf(err, errlen, "%s", curl_easy_strerror(cc));
            rc = -TGX_ERR_IO;
        } else if (ch != TGX_ALERT_SMTP) {
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            if (status < 200 || status > 299) {
                reply_line(&x);
                snprintf(err, errlen, "HTTP status %ld%s%s", status, x.reply_len > 0 ? ": " : "", x.reply);
                rc = -TGX_ERR_IO;
            }
        }
    } else {
        snprintf(err, errlen, "out of memory");
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    curl_slist_free_all(rcpt);
    tgx_buf_cleanup(&body);
    tgx_buf_cleanup(&url);
    return rc;
}
