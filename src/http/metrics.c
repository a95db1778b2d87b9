/* metrics.c: counters and fixed-bucket histograms with atomic series, Prometheus text output. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/log.h"
#include "tgx/metrics.h"

#define MAX_METRICS 64

struct tgx_metric_series {
    struct tgx_metric_series *next;                    /* creation order */
    char *values[TGX_METRICS_MAX_LABELS];              /* owned label values */
    _Atomic uint64_t count;                            /* counter value, or histogram observation count */
    _Atomic uint64_t sum_bits;                         /* histogram: the sum, a double stored as its bits */
    _Atomic uint64_t buckets[TGX_METRICS_MAX_BUCKETS]; /* histogram: per bucket, not cumulative */
    const struct tgx_metric *metric;
};

struct tgx_metric {
    struct tgx_metrics *reg;
    char *name;
    char *help;
    enum tgx_metric_kind kind;
    size_t nlabels;
    const char *label_names[TGX_METRICS_MAX_LABELS];
    size_t nbuckets;
    double buckets[TGX_METRICS_MAX_BUCKETS];
    struct tgx_metric_series *first, *last;
};

struct tgx_metrics {
    pthread_mutex_t lock; /* guards the metric array and every series list */
    struct tgx_metric *m[MAX_METRICS];
    size_t n;
};

int tgx_metrics_create(struct tgx_metrics **out)
{
    struct tgx_metrics *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL)
        return -TGX_ERR_NOMEM;
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

static void series_free(struct tgx_metric_series *s)
{
    for (size_t i = 0; i < TGX_METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s);
}

void tgx_metrics_free(struct tgx_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        struct tgx_metric *me = m->m[i];
        struct tgx_metric_series *s = me->first;
        while (s != NULL) {
            struct tgx_metric_series *next = s->next;
            series_free(s);
            s = next;
        }
        free(me->name);
        free(me->help);
        free(me);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Prometheus metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':'). */
static bool valid_name(const char *s, bool label)
{
    if (s == NULL || *s == '\0' || strlen(s) >= 128)
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

int tgx_metrics_register(struct tgx_metrics *m, const char *name, const char *help, enum tgx_metric_kind kind,
                         size_t nlabels, const char *const *label_names, size_t nbuckets,
                         const double *buckets, struct tgx_metric **out)
{
    struct tgx_metric *me;
    int rc = 0;

    *out = NULL;
    if (!valid_name(name, false) || nlabels > TGX_METRICS_MAX_LABELS ||
        (kind == TGX_METRIC_HISTOGRAM && (nbuckets == 0 || nbuckets > TGX_METRICS_MAX_BUCKETS)))
        return -TGX_ERR_INVAL;
    for (size_t i = 0; i < nlabels; i++)
        if (!valid_name(label_names[i], true) || strcmp(label_names[i], "le") == 0)
            return -TGX_ERR_INVAL;
    if (kind == TGX_METRIC_HISTOGRAM)
        for (size_t i = 0; i < nbuckets; i++)
            if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
                return -TGX_ERR_INVAL;
    me = calloc(1, sizeof *me);
    if (me == NULL)
        return -TGX_ERR_NOMEM;
    me->reg = m;
    me->name = strdup(name);
    me->help = strdup(help != NULL ? help : "");
    me->kind = kind;
    me->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        me->label_names[i] = label_names[i];
    if (kind == TGX_METRIC_HISTOGRAM) {
        me->nbuckets = nbuckets;
        memcpy(me->buckets, buckets, nbuckets * sizeof *buckets);
    }
    if (me->name == NULL || me->help == NULL) {
        free(me->name);
        free(me->help);
        free(me);
        return -TGX_ERR_NOMEM;
    }
    pthread_mutex_lock(&m->lock);
    if (m->n == MAX_METRICS)
        rc = -TGX_ERR_INVAL;
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        if (strcmp(m->m[i]->name, name) == 0)
            rc = -TGX_ERR_INVAL;
    if (rc == 0)
        m->m[m->n++] = me;
    pthread_mutex_unlock(&m->lock);
    if (rc < 0) {
        free(me->name);
        free(me->help);
        free(me);
        return rc;
    }
    *out = me;
    return 0;
}

int tgx_metrics_series(struct tgx_metric *metric, const char *const *values, struct tgx_metric_series **out)
{
    struct tgx_metrics *m = metric->reg;
    struct tgx_metric_series *s;

    *out = NULL;
    pthread_mutex_lock(&m->lock);
    for (s = metric->first; s != NULL; s = s->next) {
        size_t i;
        for (i = 0; i < metric->nlabels; i++)
            if (strcmp(s->values[i], values[i] != NULL ? values[i] : "") != 0)
                break;
        if (i == metric->nlabels) {
            pthread_mutex_unlock(&m->lock);
            *out = s;
            return 0;
        }
    }
    s = calloc(1, sizeof *s);
    if (s == NULL)
        goto nomem;
    s->metric = metric;
    for (size_t i = 0; i < metric->nlabels; i++) {
        s->values[i] = strdup(values[i] != NULL ? values[i] : "");
        if (s->values[i] == NULL) {
            series_free(s);
            goto nomem;
        }
    }
    if (metric->last != NULL)
        metric->last->next = s;
    else
        metric->first = s;
    metric->last = s;
    pthread_mutex_unlock(&m->lock);
    *out = s;
    return 0;
nomem:
    pthread_mutex_unlock(&m->lock);
    return -TGX_ERR_NOMEM;
}

void tgx_metrics_add(struct tgx_metric_series *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

static uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_dbl(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

void tgx_metrics_observe(struct tgx_metric_series *s, double v)
{
    const struct tgx_metric *me = s->metric;
    uint64_t old;
    size_t b;

    for (b = 0; b < me->nbuckets; b++)
        if (v <= me->buckets[b])
            break;
    if (b < me->nbuckets)
        atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, dbl_bits(bits_dbl(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

uint64_t tgx_metrics_count(const struct tgx_metric_series *s)
{
    return atomic_load_explicit(&s->count, memory_order_relaxed);
}

void tgx_metrics_escape_label(struct tgx_buf *b, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            tgx_buf_puts(b, "\\\\");
        else if (*p == '"')
            tgx_buf_puts(b, "\\\"");
        else if (*p == '\n')
            tgx_buf_puts(b, "\\n");
        else
            tgx_buf_putc(b, *p);
    }
}

/* Write "{a="x",b="y"" (no closing brace) or nothing; returns whether a brace was opened. */
static bool put_labels(struct tgx_buf *b, const struct tgx_metric *me, const struct tgx_metric_series *s)
{
    for (size_t i = 0; i < me->nlabels; i++) {
        tgx_buf_puts(b, i == 0 ? "{" : ",");
        tgx_buf_printf(b, "%s=\"", me->label_names[i]);
        tgx_metrics_escape_label(b, s->values[i]);
        tgx_buf_putc(b, '"');
    }
    return me->nlabels > 0;
}

static void put_help(struct tgx_buf *b, const char *name, const char *help, const char *type)
{
    tgx_buf_printf(b, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            tgx_buf_puts(b, "\\\\");
        else if (*p == '\n')
            tgx_buf_puts(b, "\\n");
        else
            tgx_buf_putc(b, *p);
    }
    tgx_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void put_double(struct tgx_buf *b, double v)
{
    if (isinf(v))
        tgx_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        tgx_buf_puts(b, "NaN");
    else {
        /* the shortest text that reads back as the same double */
        char t[32];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(t, sizeof t, "%.*g", prec, v);
            if (strtod(t, NULL) == v)
                break;
        }
        tgx_buf_puts(b, t);
    }
}

static void render_histogram(struct tgx_buf *b, const struct tgx_metric *me,
                             const struct tgx_metric_series *s)
{
    uint64_t cum = 0, count = atomic_load_explicit(&s->count, memory_order_relaxed);
    for (size_t i = 0; i <= me->nbuckets; i++) {
        bool open;
        if (i < me->nbuckets)
            cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        tgx_buf_printf(b, "%s_bucket", me->name);
        open = put_labels(b, me, s);
        tgx_buf_puts(b, open ? ",le=\"" : "{le=\"");
        if (i < me->nbuckets)
            tgx_buf_printf(b, "%g", me->buckets[i]);
        else
            tgx_buf_puts(b, "+Inf");
        /* the +Inf bucket equals the count; concurrent observers may have raced the bucket reads */
        tgx_buf_printf(b, "\"} %llu\n",
                       (unsigned long long)(i < me->nbuckets ? (cum < count ? cum : count) : count));
    }
    tgx_buf_printf(b, "%s_sum", me->name);
    if (put_labels(b, me, s))
        tgx_buf_putc(b, '}');
    tgx_buf_putc(b, ' ');
    put_double(b, bits_dbl(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
    tgx_buf_printf(b, "\n%s_count", me->name);
    if (put_labels(b, me, s))
        tgx_buf_putc(b, '}');
    tgx_buf_printf(b, " %llu\n", (unsigned long long)count);
}

static int cmp_metric(const void *a, const void *b)
{
    const struct tgx_metric *x = *(const struct tgx_metric *const *)a,
                            *y = *(const struct tgx_metric *const *)b;
    return strcmp(x->name, y->name);
}

void tgx_metrics_render(struct tgx_metrics *m, struct tgx_buf *out)
{
    struct tgx_metric *sorted[MAX_METRICS];
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->n;
    memcpy(sorted, m->m, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_metric);
    for (size_t i = 0; i < n; i++) {
        const struct tgx_metric *me = sorted[i];
        put_help(out, me->name, me->help, me->kind == TGX_METRIC_COUNTER ? "counter" : "histogram");
        for (const struct tgx_metric_series *s = me->first; s != NULL; s = s->next) {
            if (me->kind == TGX_METRIC_HISTOGRAM) {
                render_histogram(out, me, s);
                continue;
            }
            tgx_buf_puts(out, me->name);
            if (put_labels(out, me, s))
                tgx_buf_putc(out, '}');
            tgx_buf_printf(out, " %llu\n",
                           (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
        }
    }
    pthread_mutex_unlock(&m->lock);
}

void tgx_metrics_out_init(struct tgx_metrics_out *out, struct tgx_buf *b)
{
    out->buf = b;
    out->last_name[0] = '\0';
}

void tgx_metrics_gauge(struct tgx_metrics_out *out, const char *name, const char *help, const char *labels,
                       double value)
{
    if (!valid_name(name, false)) {
        tgx_log_warning("metrics", "invalid gauge name \"%s\" ignored", name != NULL ? name : "(null)");
        return;
    }
    if (strcmp(out->last_name, name) != 0) {
        put_help(out->buf, name, help != NULL ? help : "", "gauge");
        snprintf(out->last_name, sizeof out->last_name, "%s", name);
    }
    tgx_buf_puts(out->buf, name);
    if (labels != NULL && *labels != '\0')
        tgx_buf_printf(out->buf, "{%s}", labels);
    tgx_buf_putc(out->buf, ' ');
    put_double(out->buf, value);
    tgx_buf_putc(out->buf, '\n');
}
