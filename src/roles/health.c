/* health.c: the health role: tgx.sweep_keepers() every sweep_ms, and delivery of the tgx.alerts
 * outbox (NOTIFY tgx_alert, tgx.next_alert_due()) on every configured channel, each attempt
 * recorded with tgx.record_alert_delivery (sql/tgx.alerts.sql). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/log.h"
#include "tgx/role_loop.h"

static const char SQL_SWEEP[] = "SELECT tgx.sweep_keepers()";
static const char SQL_NEXT_ALERT[] =
    "SELECT ceil(extract(epoch FROM tgx.next_alert_due() - clock_timestamp()) * 1000)::bigint";
/* $1 batch, $2 lease, $3 most attempts */
static const char SQL_CLAIM[] = "SELECT alert_id, kind, subject, payload::text, "
                                "to_char(created_at AT TIME ZONE 'UTC', "
                                "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), attempt, delivered_channels "
                                "FROM tgx.claim_alerts($1::integer, $2::interval, $3::integer)";
enum {
    COL_CLAIM_ID = 0,
    COL_CLAIM_KIND = 1,
    COL_CLAIM_SUBJECT = 2,
    COL_CLAIM_PAYLOAD = 3,
    COL_CLAIM_CREATED = 4,
    COL_CLAIM_ATTEMPT = 5,
    COL_CLAIM_DELIVERED = 6,
};
/* $1 alert, $2 attempt, $3 channels, $4 ok, $5 errors, $6 configured, $7 most attempts, $8 retry after */
static const char SQL_RECORD[] = "SELECT tgx.record_alert_delivery($1::bigint, $2::integer, $3::text[], "
                                 "$4::boolean[], $5::text[], $6::text[], $7::integer, $8::interval)";

static const char *const CHANNELS[] = {"tgx_alert", NULL};

struct health {
    int64_t next_sweep; /* monotonic ms; 0: at once */
    bool told_no_targets;
};

static int health_init(void **state, const struct tgx_role_settings *s)
{
    (void)s;
    struct health *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -TGX_ERR_NOMEM;
    *state = h;
    return 0;
}

static void health_cleanup(void *state)
{
    free(state);
}

static bool any_target(const struct tgx_alert_targets *t)
{
    for (int c = 0; c < TGX_ALERT_NCHANNELS; c++)
        if (tgx_alert_channel_configured(t, (enum tgx_alert_channel)c))
            return true;
    return false;
}

/* Append S to a PostgreSQL array literal in OUT as one quoted element. */
static void array_elem(struct tgx_buf *out, const char *s)
{
    if (out->len > 1)
        tgx_buf_putc(out, ',');
    tgx_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            tgx_buf_putc(out, '\\');
        tgx_buf_putc(out, *s);
    }
    tgx_buf_putc(out, '"');
}

/* Is channel NAME in the text[] literal LIST ("{smtp,webhook}")? */
static bool in_array_literal(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n) {
        char before = p == list ? '{' : p[-1], after = p[n];
        if ((before == '{' || before == ',' || before == '"') &&
            (after == '}' || after == ',' || after == '"'))
            return true;
    }
    return false;
}

struct deliver_ctx {
    struct tgx_loop *loop;
    struct tgx_loop_db *db;
    const struct tgx_alert_targets *t;
    int delivered, failed;
};

static bool cancel_on_stop(void *arg)
{
    return tgx_loop_stopping(arg);
}

/* Deliver the alert of row R on every configured channel it still lacks, then record it. */
static int deliver_one(struct deliver_ctx *c, const PGresult *res, int r)
{
    struct tgx_alert a = {
        .alert_id = strtoll(PQgetvalue(res, r, COL_CLAIM_ID), NULL, 10),
        .kind = PQgetvalue(res, r, COL_CLAIM_KIND),
        .subject = PQgetvalue(res, r, COL_CLAIM_SUBJECT),
        .payload = PQgetvalue(res, r, COL_CLAIM_PAYLOAD),
        .created_at = PQgetvalue(res, r, COL_CLAIM_CREATED),
        .attempt = atoi(PQgetvalue(res, r, COL_CLAIM_ATTEMPT)),
    };
    const char *done = PQgetvalue(res, r, COL_CLAIM_DELIVERED);
    struct tgx_buf chans, oks, errs, conf;
    tgx_buf_init(&chans);
    tgx_buf_init(&oks);
    tgx_buf_init(&errs);
    tgx_buf_init(&conf);
    tgx_buf_putc(&chans, '{');
    tgx_buf_putc(&oks, '{');
    tgx_buf_putc(&errs, '{');
    tgx_buf_putc(&conf, '{');
    bool all_ok = true;
    for (int ch = 0; ch < TGX_ALERT_NCHANNELS; ch++) {
        const char *name = tgx_alert_channel_name((enum tgx_alert_channel)ch);
        if (!tgx_alert_channel_configured(c->t, (enum tgx_alert_channel)ch))
            continue;
        array_elem(&conf, name);
        if (in_array_literal(done, name))
            continue;
        char err[300];
        int rc =
            tgx_alert_send(c->t, (enum tgx_alert_channel)ch, &a, cancel_on_stop, c->loop, err, sizeof err);
        array_elem(&chans, name);
        array_elem(&oks, rc == 0 ? "t" : "f");
        array_elem(&errs, rc == 0 ? "" : err);
        if (rc < 0) {
            all_ok = false;
            tgx_log_warning("health", "could not deliver alert %lld (attempt %d) by %s: %s", a.alert_id,
                            a.attempt, name, err);
        }
    }
    tgx_buf_putc(&chans, '}');
    tgx_buf_putc(&oks, '}');
    tgx_buf_putc(&errs, '}');
    tgx_buf_putc(&conf, '}');
    char retry[48], most[24];
    snprintf(retry, sizeof retry, "%ld milliseconds", tgx_alert_retry_ms(c->t, a.attempt));
    snprintf(most, sizeof most, "%ld", c->t->max_attempts);
    const char *params[8] = {PQgetvalue(res, r, COL_CLAIM_ID),
                             PQgetvalue(res, r, COL_CLAIM_ATTEMPT),
                             tgx_buf_str(&chans),
                             tgx_buf_str(&oks),
                             tgx_buf_str(&errs),
                             tgx_buf_str(&conf),
                             most,
                             retry};
    int rc = -TGX_ERR_NOMEM;
    if (!tgx_buf_oom(&chans) && !tgx_buf_oom(&oks) && !tgx_buf_oom(&errs) && !tgx_buf_oom(&conf))
        rc = tgx_loop_query(c->db, SQL_RECORD, 8, params, NULL, NULL);
    if (rc == 0 && all_ok)
        tgx_log_info("health", "alert %lld (%s) delivered", a.alert_id, a.kind);
    if (all_ok)
        c->delivered++;
    else
        c->failed++;
    tgx_buf_cleanup(&chans);
    tgx_buf_cleanup(&oks);
    tgx_buf_cleanup(&errs);
    tgx_buf_cleanup(&conf);
    return rc;
}

/* tgx_db_result_fn over the claimed alerts: deliver each (the connection is free meanwhile). */
static int deliver_claimed(const PGresult *res, void *arg)
{
    struct deliver_ctx *c = arg;
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        int rc = deliver_one(c, res, r);
        if (rc < 0)
            return rc; /* the others come due again when their lease ends */
    }
    return n;
}

static int deliver_alerts(struct tgx_loop *loop, struct tgx_loop_db *db, const struct tgx_role_settings *s)
{
    const struct tgx_alert_targets *t = &s->alerts;
    char batch[24], lease[48], most[24];
    snprintf(batch, sizeof batch, "%ld", s->batch < 20 ? s->batch : 20L);
    /* the whole batch's delivery, every channel at its timeout, and some slack */
    snprintf(lease, sizeof lease, "%ld milliseconds",
             t->timeout_ms * TGX_ALERT_NCHANNELS * (s->batch < 20 ? s->batch : 20L) + 10000);
    snprintf(most, sizeof most, "%ld", t->max_attempts);
    const char *params[3] = {batch, lease, most};
    int total = 0;
    while (!tgx_loop_stopping(loop)) {
        struct deliver_ctx c = {.loop = loop, .db = db, .t = t};
        int n = tgx_loop_query(db, SQL_CLAIM, 3, params, deliver_claimed, &c);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        total += n;
    }
    return total;
}

static int health_step(struct tgx_loop *loop, void *state, struct tgx_loop_db *db)
{
    struct health *h = state;
    const struct tgx_role_settings *s = tgx_loop_settings(loop);
    int64_t now = tgx_loop_now_ms();
    long long rows = 0;
    if (now >= h->next_sweep) {
        long long n;
        int rc = tgx_loop_query_int(db, SQL_SWEEP, 0, NULL, &n);
        if (rc < 0)
            return rc;
        if (n > 0)
            tgx_log_info("health", "keeper sweep: %lld keepers changed", n);
        rows += n;
        h->next_sweep = now + s->sweep_ms;
    }
    if (!any_target(&s->alerts)) {
        if (!h->told_no_targets)
            tgx_log_info("health", "no alert target configured (--alert-webhook, --alert-telegram-url, "
                                   "--alert-smtp-url): alerts stay in tgx.alerts");
        h->told_no_targets = true;
        return rows > INT_MAX ? INT_MAX : (int)rows;
    }
    h->told_no_targets = false;
    int n = deliver_alerts(loop, db, s);
    if (n < 0)
        return n;
    rows += n;
    return rows > INT_MAX ? INT_MAX : (int)rows;
}

static int health_next(struct tgx_loop *loop, void *state, struct tgx_loop_db *db, int64_t *delay_ms)
{
    struct health *h = state;
    const struct tgx_role_settings *s = tgx_loop_settings(loop);
    int64_t sweep = h->next_sweep - tgx_loop_now_ms();
    *delay_ms = sweep < 0 ? 0 : sweep;
    if (!any_target(&s->alerts))
        return 0;
    int64_t alert;
    int rc = tgx_loop_query_delay(db, SQL_NEXT_ALERT, &alert);
    if (rc < 0)
        return rc;
    if (alert >= 0 && alert < *delay_ms)
        *delay_ms = alert;
    return 0;
}

const struct tgx_role_def tgx_role_health = {
    .name = "health",
    .channels = CHANNELS,
    .init = health_init,
    .cleanup = health_cleanup,
    .step = health_step,
    .next_deadline = health_next,
};
