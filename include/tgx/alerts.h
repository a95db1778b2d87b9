/* alerts.h: delivery of the tgx.alerts outbox by webhook (JSON POST), Telegram Bot API-style HTTP
 * (POST {url}/sendMessage) and SMTP, over libcurl.  Used by the health role (src/roles/health.c). */
#ifndef TGX_ALERTS_H
#define TGX_ALERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "tgx/buf.h"
#include "tgx/config.h"
#include "tgx/err.h"

/* The delivery channels; the names are those of tgx.alert_deliveries.channel. */
enum tgx_alert_channel {
    TGX_ALERT_WEBHOOK = 0,  /* "webhook": POST the alert as JSON to a URL */
    TGX_ALERT_TELEGRAM = 1, /* "telegram": POST {"chat_id","text"} to {url}/sendMessage */
    TGX_ALERT_SMTP = 2,     /* "smtp": a plain-text mail, MAIL FROM / RCPT TO over smtp:// */
};
#define TGX_ALERT_NCHANNELS 3

/* Where alerts go and how they are retried.  Strings are owned (tgx_alert_targets_cleanup). */
struct tgx_alert_targets {
    char *webhook_url;       /* NULL: no webhook */
    char *telegram_url;      /* the bot API base ("https://api.telegram.org/bot<TOKEN>"); NULL: none */
    char *telegram_chat;     /* chat_id; required with telegram_url */
    char *smtp_url;          /* smtp://host:port or smtps://...; NULL: no mail */
    char *smtp_from;         /* MAIL FROM address; required with smtp_url */
    struct tgx_strv smtp_to; /* RCPT TO addresses; at least one with smtp_url */
    long timeout_ms;         /* longest delivery on one channel */
    long max_attempts;       /* an alert is given up after this many attempts */
    long backoff_ms;         /* first retry delay, doubled on every further attempt */
    long backoff_cap_ms;     /* upper bound of the retry delay */
};

/* One alert being delivered (borrowed strings, valid during the call). */
struct tgx_alert {
    long long alert_id;
    const char *kind;       /* keeper_offline, task_dead, job_failing, other */
    const char *subject;    /* one line */
    const char *payload;    /* the jsonb payload as JSON text ("{}" when none) */
    const char *created_at; /* ISO 8601 */
    int attempt;            /* 1 for the first attempt */
};

/* The name of CH ("webhook", "telegram", "smtp"). */
const char *tgx_alert_channel_name(enum tgx_alert_channel ch);

/* Fill T from the alert_* settings of CFG (strings copied).  -TGX_ERR_NOMEM. */
int tgx_alert_targets_from_config(struct tgx_alert_targets *t /* OUT */,
                                  const struct tgx_config *cfg) TGX_MUSTCHECK;
/* Check that T is usable (telegram_url needs a chat, smtp_url needs from and to): 0, or
 * -TGX_ERR_INVAL with one line appended to ERR. */
int tgx_alert_targets_check(const struct tgx_alert_targets *t, struct tgx_buf *err) TGX_MUSTCHECK;
/* Free what T owns; T is zeroed. */
void tgx_alert_targets_cleanup(struct tgx_alert_targets *t);
/* True when CH is configured in T. */
bool tgx_alert_channel_configured(const struct tgx_alert_targets *t, enum tgx_alert_channel ch);

/* Append the webhook body of A to OUT: {"alert_id","kind","subject","payload","created_at","attempt"}. */
int tgx_alert_webhook_body(const struct tgx_alert *a, struct tgx_buf *out) TGX_MUSTCHECK;
/* Append the Telegram sendMessage body of A to OUT: {"chat_id": CHAT, "text": "..."}. */
int tgx_alert_telegram_body(const struct tgx_alert *a, const char *chat, struct tgx_buf *out) TGX_MUSTCHECK;
/* Append the mail of A (headers, CRLF line ends, dot-safe body) from FROM to the TO list to OUT. */
int tgx_alert_smtp_message(const struct tgx_alert *a, const char *from, const struct tgx_strv *to,
                           struct tgx_buf *out) TGX_MUSTCHECK;

/* Asked during a delivery, a few times a second: true abandons the transfer (shutdown). */
typedef bool (*tgx_alert_cancel_fn)(void *arg);

/*
 * Deliver A on channel CH of T (blocking, at most T->timeout_ms).  CANCEL (may be NULL) is asked
 * during the transfer.  Returns 0 when the channel accepted it (HTTP 2xx, SMTP 250 after DATA),
 * else -TGX_ERR_IO with one line in ERR.  curl_global_init must have run (tgx_engine_create).
 */
int tgx_alert_send(const struct tgx_alert_targets *t, enum tgx_alert_channel ch, const struct tgx_alert *a,
                   tgx_alert_cancel_fn cancel, void *cancel_arg, char *err, size_t errlen) TGX_MUSTCHECK;

/* curl_global_init, once per process before any thread sends (refcounted; pair with cleanup). */
int tgx_alerts_global_init(void) TGX_MUSTCHECK;
void tgx_alerts_global_cleanup(void);

/* The retry delay after failed attempt ATTEMPT (1-based): backoff_ms * 2^(attempt-1), capped. */
long tgx_alert_retry_ms(const struct tgx_alert_targets *t, int attempt);

#endif
