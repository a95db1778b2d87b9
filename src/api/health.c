/* health.c: GET /api/health, the 501 routes, and the route to engineer C's GET /api/fees. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tgx/api.h"
#include "tgx/fees.h"

#ifndef TGX_VERSION
#define TGX_VERSION "0.0.0"
#endif

/* A duration in the format of Go's time.Duration.String(): "1h2m3.5s", "2.5ms", "0s". */
static void go_duration(double secs, char *out, size_t outlen)
{
    if (secs <= 0) {
        snprintf(out, outlen, "0s");
        return;
    }
    if (secs < 1e-3) {
        snprintf(out, outlen, "%.3fµs", secs * 1e6);
        return;
    }
    if (secs < 1) {
        snprintf(out, outlen, "%.6gms", secs * 1e3);
        return;
    }
    long long whole = (long long)secs;
    long long h = whole / 3600, m = whole % 3600 / 60;
    double s = secs - (double)(h * 3600 + m * 60);
    char sec[32];
    snprintf(sec, sizeof sec, "%.6f", s);
    /* trim trailing zeros and a bare point, as Go does */
    char *e = sec + strlen(sec) - 1;
    while (e > sec && *e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
    if (h > 0)
        snprintf(out, outlen, "%lldh%lldm%ss", h, m, sec);
    else if (m > 0)
        snprintf(out, outlen, "%lldm%ss", m, sec);
    else
        snprintf(out, outlen, "%ss", sec);
}

/* GET /api/health (open): 200 healthy, 503 degraded when the database does not answer. */
int tgx_api_health(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)req;
    struct tgx_api *api = ctx;
    struct tgx_store_err err;
    bool ok = api->store->ops->ping(api->store, &err) == 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double up =
        (double)(now.tv_sec - api->started.tv_sec) + (double)(now.tv_nsec - api->started.tv_nsec) / 1e9;
    char uptime[64];
    go_duration(up, uptime, sizeof uptime);
    json_t *body =
        json_pack("{s:s, s:I, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:b}}", "status", ok ? "ok" : "degraded",
                  "timestamp", (json_int_t)time(NULL), "service", "dbserver", "version", TGX_VERSION,
                  "uptime", uptime, "database", "status", ok ? "healthy" : "unhealthy", "error",
                  ok ? "" : err.message, "checks", "database_connection", ok);
    tgx_api_reply(resp, ok ? 200 : 503, body);
    return 0;
}

/* POST /api/claim-fund, POST /api/code/validate: 501 until later issues implement them. */
int tgx_api_not_implemented(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    (void)ctx;
    tgx_api_error(resp, 501, "NOT_IMPLEMENTED", NULL, "%s %s is not implemented yet", tgx_http_method(req),
                  tgx_http_path(req));
    return 0;
}

/* GET /api/fees (open): engineer C's handler, whose context is the estimator. */
int tgx_api_fees_route(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    if (api->fees == NULL) {
        tgx_api_error(resp, 503, "FEES_UNAVAILABLE", NULL, "fee estimation is not configured");
        return 0;
    }
    return tgx_api_fees(req, resp, api->fees);
}
