/* test_http_limits.c: the rate limiter's windows and sync arithmetic, and the metrics registry. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "tgx/metrics.h"
#include "tgx/ratelimit.h"

#define HTTP_RL_T0 1700000040000LL /* a window start (divisible by 60 s) in ms */

Test(http_ratelimit, window_counts_and_headers)
{
    struct tgx_ratelimit *rl;
    struct tgx_ratelimit_verdict v;
    cr_assert_eq(tgx_ratelimit_create(&rl), 0);
    for (int i = 0; i < 3; i++) {
        tgx_ratelimit_hit(rl, 7, 3, HTTP_RL_T0 + 1000 * i, &v);
        cr_expect(v.allowed, "hit %d", i);
        cr_expect_eq(v.limit, 3);
        cr_expect_eq(v.remaining, 2 - i);
        cr_expect_eq(v.reset, HTTP_RL_T0 / 1000 + 60);
    }
    tgx_ratelimit_hit(rl, 7, 3, HTTP_RL_T0 + 15000, &v);
    cr_expect_not(v.allowed);
    cr_expect_eq(v.remaining, 0);
    cr_expect_eq(v.retry_after, 45);
    /* refused hits are not counted and other keys are independent */
    tgx_ratelimit_hit(rl, 8, 3, HTTP_RL_T0 + 15000, &v);
    cr_expect(v.allowed);
    cr_expect_eq(v.remaining, 2);
    /* the last second of the window: Retry-After is at least 1 */
    tgx_ratelimit_hit(rl, 7, 3, HTTP_RL_T0 + 59999, &v);
    cr_expect_not(v.allowed);
    cr_expect_eq(v.retry_after, 1);
    /* the next window starts afresh */
    tgx_ratelimit_hit(rl, 7, 3, HTTP_RL_T0 + 60000, &v);
    cr_expect(v.allowed);
    cr_expect_eq(v.remaining, 2);
    cr_expect_eq(v.reset, HTTP_RL_T0 / 1000 + 120);
    tgx_ratelimit_free(rl);
}

Test(http_ratelimit, sync_adds_cluster_totals)
{
    struct tgx_ratelimit *rl;
    struct tgx_ratelimit_verdict v;
    int64_t window;
    json_t *deltas, *totals;
    cr_assert_eq(tgx_ratelimit_create(&rl), 0);
    for (int i = 0; i < 4; i++)
        tgx_ratelimit_hit(rl, 1, 10, HTTP_RL_T0 + i, &v);
    tgx_ratelimit_hit(rl, 2, 10, HTTP_RL_T0, &v);

    cr_assert_eq(tgx_ratelimit_sync_begin(rl, HTTP_RL_T0 + 100, &window, &deltas), 0);
    cr_expect_eq(window, HTTP_RL_T0 / 1000);
    cr_expect_eq(json_integer_value(json_object_get(deltas, "1")), 4);
    cr_expect_eq(json_integer_value(json_object_get(deltas, "2")), 1);
    json_decref(deltas);

    /* while the sync is in flight, in-flight hits still count */
    tgx_ratelimit_hit(rl, 1, 10, HTTP_RL_T0 + 200, &v);
    cr_expect_eq(v.remaining, 10 - 4 - 1);

    /* the cluster says key 1 has 9 (our 4 + 5 elsewhere) and key 3, unseen here, has 2 */
    totals = json_pack("{s:i, s:i, s:i}", "1", 9, "2", 1, "3", 2);
    tgx_ratelimit_sync_done(rl, window, totals);
    json_decref(totals);
    tgx_ratelimit_hit(rl, 1, 10, HTTP_RL_T0 + 300, &v); /* 9 + 1 unsent = 10 used: refused */
    cr_expect_not(v.allowed);
    tgx_ratelimit_hit(rl, 3, 3, HTTP_RL_T0 + 300, &v); /* 2 elsewhere: one left */
    cr_expect(v.allowed);
    cr_expect_eq(v.remaining, 0);
    tgx_ratelimit_hit(rl, 3, 3, HTTP_RL_T0 + 300, &v);
    cr_expect_not(v.allowed);

    /* next round sends only what is new */
    cr_assert_eq(tgx_ratelimit_sync_begin(rl, HTTP_RL_T0 + 400, &window, &deltas), 0);
    cr_expect_eq(json_integer_value(json_object_get(deltas, "1")), 1);
    cr_expect_eq(json_integer_value(json_object_get(deltas, "3")), 1);
    cr_expect_null(json_object_get(deltas, "2"));
    json_decref(deltas);
    tgx_ratelimit_sync_done(rl, window, NULL); /* failed: the counts go back to unsent */
    cr_assert_eq(tgx_ratelimit_sync_begin(rl, HTTP_RL_T0 + 500, &window, &deltas), 0);
    cr_expect_eq(json_integer_value(json_object_get(deltas, "1")), 1);
    json_decref(deltas);
    /* an answer that lacks a key we sent: keep our own count (never lose hits) */
    totals = json_object();
    tgx_ratelimit_sync_done(rl, window, totals);
    json_decref(totals);
    tgx_ratelimit_hit(rl, 3, 3, HTTP_RL_T0 + 600, &v);
    cr_expect_not(v.allowed);
    tgx_ratelimit_free(rl);
}

Test(http_ratelimit, stale_answers_and_window_roll)
{
    struct tgx_ratelimit *rl;
    struct tgx_ratelimit_verdict v;
    int64_t window;
    json_t *deltas, *totals;
    cr_assert_eq(tgx_ratelimit_create(&rl), 0);
    tgx_ratelimit_hit(rl, 5, 2, HTTP_RL_T0, &v);
    cr_assert_eq(tgx_ratelimit_sync_begin(rl, HTTP_RL_T0, &window, &deltas), 0);
    json_decref(deltas);
    /* the window rolls before the answer arrives: the old answer must not count */
    tgx_ratelimit_hit(rl, 5, 2, HTTP_RL_T0 + 60000, &v);
    cr_expect(v.allowed);
    totals = json_pack("{s:i}", "5", 100);
    tgx_ratelimit_sync_done(rl, window, totals);
    json_decref(totals);
    tgx_ratelimit_hit(rl, 5, 2, HTTP_RL_T0 + 60001, &v);
    cr_expect(v.allowed);
    cr_expect_eq(v.remaining, 0);
    /* a begin in a later window forgets finished windows and sends nothing for them */
    cr_assert_eq(tgx_ratelimit_sync_begin(rl, HTTP_RL_T0 + 180000, &window, &deltas), 0);
    cr_expect_eq(json_object_size(deltas), 0);
    json_decref(deltas);
    /* junk in an answer is ignored */
    totals = json_pack("{s:s, s:i, s:i}", "1", "x", "abc", 3, "-", 1);
    tgx_ratelimit_sync_done(rl, window, totals);
    json_decref(totals);
    tgx_ratelimit_free(rl);
}

/* Eight threads hammer one key: exactly LIMIT hits are allowed. */
struct http_rl_arg {
    struct tgx_ratelimit *rl;
    int allowed;
};

static void *http_rl_thread(void *p)
{
    struct http_rl_arg *a = p;
    for (int i = 0; i < 500; i++) {
        struct tgx_ratelimit_verdict v;
        tgx_ratelimit_hit(a->rl, 42, 1000, HTTP_RL_T0 + i, &v);
        a->allowed += v.allowed;
    }
    return NULL;
}

Test(http_ratelimit, exact_under_threads)
{
    struct tgx_ratelimit *rl;
    pthread_t t[8];
    struct http_rl_arg a[8];
    int total = 0;
    cr_assert_eq(tgx_ratelimit_create(&rl), 0);
    for (int i = 0; i < 8; i++) {
        a[i].rl = rl;
        a[i].allowed = 0;
        pthread_create(&t[i], NULL, http_rl_thread, &a[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += a[i].allowed;
    }
    cr_expect_eq(total, 1000);
    tgx_ratelimit_free(rl);
}

Test(http_ratelimit, many_keys_grow_the_table)
{
    struct tgx_ratelimit *rl;
    struct tgx_ratelimit_verdict v;
    int64_t window;
    json_t *deltas;
    cr_assert_eq(tgx_ratelimit_create(&rl), 0);
    for (int64_t k = 1; k <= 5000; k++)
        tgx_ratelimit_hit(rl, k, 2, HTTP_RL_T0, &v);
    for (int64_t k = 1; k <= 5000; k++) {
        tgx_ratelimit_hit(rl, k, 2, HTTP_RL_T0, &v);
        cr_assert(v.allowed && v.remaining == 0, "key %lld", (long long)k);
    }
    cr_assert_eq(tgx_ratelimit_sync_begin(rl, HTTP_RL_T0, &window, &deltas), 0);
    cr_expect_eq(json_object_size(deltas), 5000);
    cr_expect_eq(json_integer_value(json_object_get(deltas, "4999")), 2);
    json_decref(deltas);
    tgx_ratelimit_free(rl);
}

/* ---- metrics ---- */

Test(http_metrics, render_counters_and_histograms)
{
    static const char *const labels[2] = {"route", "status"};
    static const double buckets[3] = {0.01, 0.1, 1};
    struct tgx_metrics *m;
    struct tgx_metric *c, *h;
    struct tgx_metric_series *s1, *s2, *s3, *again;
    struct tgx_buf b;
    const char *v1[2] = {"jobs", "2xx"}, *v2[2] = {"jobs", "4xx"}, *v3[2] = {"we\"ird\\", "5xx"};

    cr_assert_eq(tgx_metrics_create(&m), 0);
    cr_assert_eq(tgx_metrics_register(m, "tgx_test_requests_total", "Requests", TGX_METRIC_COUNTER, 2, labels,
                                      0, NULL, &c),
                 0);
    cr_assert_eq(tgx_metrics_register(m, "tgx_test_duration_seconds", "Latency\nin seconds",
                                      TGX_METRIC_HISTOGRAM, 2, labels, 3, buckets, &h),
                 0);
    /* invalid registrations */
    {
        struct tgx_metric *dup;
        cr_expect_eq(tgx_metrics_register(m, "tgx_test_requests_total", "", TGX_METRIC_COUNTER, 0, NULL, 0,
                                          NULL, &dup),
                     -TGX_ERR_INVAL);
        cr_expect_null(dup);
    }
    {
        static const double unsorted[2] = {1, 0.5};
        struct tgx_metric *x;
        cr_expect_eq(tgx_metrics_register(m, "9bad", "", TGX_METRIC_COUNTER, 0, NULL, 0, NULL, &x),
                     -TGX_ERR_INVAL);
        cr_expect_eq(tgx_metrics_register(m, "tgx_y", "", TGX_METRIC_COUNTER, 1, (const char *const[]){"le"},
                                          0, NULL, &x),
                     -TGX_ERR_INVAL);
        cr_expect_eq(tgx_metrics_register(m, "tgx_x", "", TGX_METRIC_HISTOGRAM, 0, NULL, 2, unsorted, &x),
                     -TGX_ERR_INVAL);
    }
    cr_assert_eq(tgx_metrics_series(c, v1, &s1), 0);
    cr_assert_eq(tgx_metrics_series(c, v2, &s2), 0);
    cr_assert_eq(tgx_metrics_series(c, v1, &again), 0);
    cr_expect_eq(again, s1);
    tgx_metrics_add(s1, 3);
    tgx_metrics_add(s2, 1);
    cr_expect_eq(tgx_metrics_count(s1), 3);
    cr_assert_eq(tgx_metrics_series(h, v3, &s3), 0);
    tgx_metrics_observe(s3, 0.0078125);
    tgx_metrics_observe(s3, 0.0625);
    tgx_metrics_observe(s3, 0.0625);
    tgx_metrics_observe(s3, 4);

    tgx_buf_init(&b);
    tgx_metrics_render(m, &b);
    cr_expect_str_eq(
        b.data, "# HELP tgx_test_duration_seconds Latency\\nin seconds\n"
                "# TYPE tgx_test_duration_seconds histogram\n"
                "tgx_test_duration_seconds_bucket{route=\"we\\\"ird\\\\\",status=\"5xx\",le=\"0.01\"} 1\n"
                "tgx_test_duration_seconds_bucket{route=\"we\\\"ird\\\\\",status=\"5xx\",le=\"0.1\"} 3\n"
                "tgx_test_duration_seconds_bucket{route=\"we\\\"ird\\\\\",status=\"5xx\",le=\"1\"} 3\n"
                "tgx_test_duration_seconds_bucket{route=\"we\\\"ird\\\\\",status=\"5xx\",le=\"+Inf\"} 4\n"
                "tgx_test_duration_seconds_sum{route=\"we\\\"ird\\\\\",status=\"5xx\"} 4.1328125\n"
                "tgx_test_duration_seconds_count{route=\"we\\\"ird\\\\\",status=\"5xx\"} 4\n"
                "# HELP tgx_test_requests_total Requests\n"
                "# TYPE tgx_test_requests_total counter\n"
                "tgx_test_requests_total{route=\"jobs\",status=\"2xx\"} 3\n"
                "tgx_test_requests_total{route=\"jobs\",status=\"4xx\"} 1\n");
    tgx_buf_cleanup(&b);
    tgx_metrics_free(m);
}

Test(http_metrics, gauges_write_help_once_per_name)
{
    struct tgx_buf b, lab;
    struct tgx_metrics_out mo;
    tgx_buf_init(&b);
    tgx_buf_init(&lab);
    tgx_metrics_out_init(&mo, &b);
    tgx_metrics_gauge(&mo, "tgx_queue_depth", "Tasks by state", "state=\"pending\"", 3);
    tgx_metrics_gauge(&mo, "tgx_queue_depth", "Tasks by state", "state=\"running\"", 1);
    tgx_metrics_gauge(&mo, "tgx_keepers_online", "Keepers online", NULL, 2);
    tgx_metrics_gauge(&mo, "bad name", "x", NULL, 1); /* ignored */
    tgx_metrics_gauge(&mo, "tgx_scheduler_lag_seconds", "Lag", "", 0.25);
    cr_expect_str_eq(b.data, "# HELP tgx_queue_depth Tasks by state\n"
                             "# TYPE tgx_queue_depth gauge\n"
                             "tgx_queue_depth{state=\"pending\"} 3\n"
                             "tgx_queue_depth{state=\"running\"} 1\n"
                             "# HELP tgx_keepers_online Keepers online\n"
                             "# TYPE tgx_keepers_online gauge\n"
                             "tgx_keepers_online 2\n"
                             "# HELP tgx_scheduler_lag_seconds Lag\n"
                             "# TYPE tgx_scheduler_lag_seconds gauge\n"
                             "tgx_scheduler_lag_seconds 0.25\n");
    tgx_metrics_escape_label(&lab, "a\"b\\c\nd");
    cr_expect_str_eq(lab.data, "a\\\"b\\\\c\\nd");
    tgx_buf_cleanup(&b);
    tgx_buf_cleanup(&lab);
}

struct http_metrics_arg {
    struct tgx_metric *c, *h;
};

static void *http_metrics_thread(void *p)
{
    struct http_metrics_arg *a = p;
    const char *v[1] = {"r"};
    struct tgx_metric_series *s, *hs;
    if (tgx_metrics_series(a->c, v, &s) < 0 || tgx_metrics_series(a->h, v, &hs) < 0)
        return NULL;
    for (int i = 0; i < 10000; i++) {
        tgx_metrics_add(s, 1);
        tgx_metrics_observe(hs, 0.5);
    }
    return NULL;
}

Test(http_metrics, thread_safe_counts)
{
    static const char *const labels[1] = {"route"};
    static const double buckets[1] = {1};
    struct tgx_metrics *m;
    struct http_metrics_arg a;
    struct tgx_metric_series *s;
    pthread_t t[4];
    const char *v[1] = {"r"};
    struct tgx_buf b;
    cr_assert_eq(tgx_metrics_create(&m), 0);
    cr_assert_eq(tgx_metrics_register(m, "tgx_c_total", "c", TGX_METRIC_COUNTER, 1, labels, 0, NULL, &a.c),
                 0);
    cr_assert_eq(tgx_metrics_register(m, "tgx_h", "h", TGX_METRIC_HISTOGRAM, 1, labels, 1, buckets, &a.h), 0);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, http_metrics_thread, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(tgx_metrics_series(a.c, v, &s), 0);
    cr_expect_eq(tgx_metrics_count(s), 40000);
    tgx_buf_init(&b);
    tgx_metrics_render(m, &b);
    cr_expect_not_null(strstr(b.data, "tgx_h_sum{route=\"r\"} 20000\n"));
    cr_expect_not_null(strstr(b.data, "tgx_h_bucket{route=\"r\",le=\"1\"} 40000\n"));
    tgx_buf_cleanup(&b);
    tgx_metrics_free(m);
}
