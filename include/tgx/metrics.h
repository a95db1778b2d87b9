/* metrics.h: a small thread-safe metrics registry rendered in the Prometheus text format. */
#ifndef TGX_METRICS_H
#define TGX_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"

/*
 * The registry holds labelled series of counters and histograms.  A series is found by
 * (metric, label values) once and then updated lock-free with atomics, so the request path
 * takes no lock after the first request of a (route, status class).  Rendering walks the series
 * under the registry lock.
 */
struct tgx_metrics;

/* Kinds of metric. */
enum tgx_metric_kind {
    TGX_METRIC_COUNTER = 0,   /* monotonically increasing integer */
    TGX_METRIC_HISTOGRAM = 1, /* observations counted in fixed cumulative buckets, plus sum and count */
};

/* At most this many labels per metric and buckets per histogram. */
#define TGX_METRICS_MAX_LABELS  3
#define TGX_METRICS_MAX_BUCKETS 16

/* A metric family (opaque, owned by the registry). */
struct tgx_metric;
/* One labelled series of a metric (opaque, owned by the registry, lives as long as it). */
struct tgx_metric_series;

/* A new empty registry into *OUT (tgx_metrics_free); -TGX_ERR_NOMEM. */
int tgx_metrics_create(struct tgx_metrics **out /* OUT: new */) TGX_MUSTCHECK;
/* Free the registry and everything in it (NULL is fine). */
void tgx_metrics_free(struct tgx_metrics *m);

/*
 * Register a metric NAME (e.g. "tgx_http_requests_total") of KIND with HELP text and NLABELS
 * label names (borrowed string constants).  For histograms BUCKETS holds NBUCKETS increasing
 * upper bounds (+Inf is implied).  *OUT gets a borrowed pointer, valid until tgx_metrics_free().
 * -TGX_ERR_INVAL (bad name, too many labels/buckets, unsorted buckets, duplicate name), -TGX_ERR_NOMEM.
 */
int tgx_metrics_register(struct tgx_metrics *m, const char *name, const char *help, enum tgx_metric_kind kind,
                         size_t nlabels, const char *const *label_names, size_t nbuckets,
                         const double *buckets, struct tgx_metric **out /* OUT: borrowed */) TGX_MUSTCHECK;
/*
 * The series of METRIC with the given label VALUES (NLABELS of them, as registered), created on
 * first use (values copied).  *OUT borrowed, valid until tgx_metrics_free().  -TGX_ERR_NOMEM.
 */
int tgx_metrics_series(struct tgx_metric *metric, const char *const *values,
                       struct tgx_metric_series **out /* OUT: borrowed */) TGX_MUSTCHECK;
/* Add N to a counter series (lock-free). */
void tgx_metrics_add(struct tgx_metric_series *s, uint64_t n);
/* Record one observation V in a histogram series (lock-free). */
void tgx_metrics_observe(struct tgx_metric_series *s, double v);
/* The current value of a counter series, or the observation count of a histogram series. */
uint64_t tgx_metrics_count(const struct tgx_metric_series *s);

/*
 * Append every metric in the Prometheus text exposition format 0.0.4 to OUT: "# HELP", "# TYPE",
 * one line per series (histograms: _bucket{le=...} cumulative, _sum, _count).  Series appear
 * sorted by metric name then by creation order.
 */
void tgx_metrics_render(struct tgx_metrics *m, struct tgx_buf *out);

/* --- scrape-time gauges (what the api role supplies through tgx_http_metrics_fn) --- */

/* A writer of gauges into a scrape (opaque; given to the collect callback). */
struct tgx_metrics_out;

/*
 * Append gauge NAME with LABELS (already formatted, e.g. "state=\"pending\"", or NULL/"" for
 * none) and VALUE.  "# HELP NAME HELP" and "# TYPE NAME gauge" are written before the first
 * series of each NAME; call the series of one NAME one after another.  Label values are escaped
 * by the caller with tgx_metrics_escape_label().  Invalid NAME: the call is ignored and logged.
 */
void tgx_metrics_gauge(struct tgx_metrics_out *out, const char *name, const char *help, const char *labels,
                       double value);
/* Append VALUE escaped for a label value (backslash, double quote, newline) to B. */
void tgx_metrics_escape_label(struct tgx_buf *b, const char *value);
/* Bind a gauge writer to buffer B (for tests and the server): init/cleanup, embedded. */
struct tgx_metrics_out {
    struct tgx_buf *buf; /* borrowed */
    char last_name[128]; /* the NAME of the previous gauge (HELP/TYPE written once per name) */
};
void tgx_metrics_out_init(struct tgx_metrics_out *out, struct tgx_buf *b);

#endif
