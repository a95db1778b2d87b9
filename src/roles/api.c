/* api.c: the api role of `tgxd serve`: pool, store, fee estimator, handlers' context and the HTTP
 * server, with the callbacks the server asks (authentication, /metrics gauges, WebSocket rooms). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgx/api.h"
#include "tgx/chains.h"
#include "tgx/fees.h"
#include "tgx/http.h"
#include "tgx/keeper_gw.h"
#include "tgx/log.h"
#include "tgx/metrics.h"
#include "tgx/pool.h"
#include "tgx/roles.h"
#include "tgx/store.h"

struct tgx_role_api {
    struct tgx_pool *pool;
    struct tgx_store *store;
    struct tgx_chains *chains;
    struct tgx_fees *fees;
    struct tgx_keeper_gw *keeper_gw;
    struct tgx_api api;
    struct tgx_http_server *server;
};

/* tgx_http_auth_fn: an API key by its SHA-256, through the store. */
static int authenticate(void *ctx, const unsigned char key_hash[32], struct tgx_http_auth *out)
{
    struct tgx_role_api *r = ctx;
    struct tgx_store_key k;
    struct tgx_store_err err;
    memset(out, 0, sizeof *out);
    int rc = r->store->ops->key_authenticate(r->store, key_hash, &k, &err);
    if (rc < 0)
        return err.status == TGX_STORE_NOT_FOUND ? -TGX_ERR_NOTFOUND : rc;
    out->key_id = k.key_id;
    snprintf(out->owner, sizeof out->owner, "%s", k.owner);
    out->is_admin = k.is_admin;
    out->rate_limit = k.rate_limit;
    return 0;
}

/* tgx_http_metrics_fn: queue depth by state, keepers online, scheduler lag, the pool. */
static int collect_gauges(void *ctx, struct tgx_metrics_out *out)
{
    struct tgx_role_api *r = ctx;
    struct tgx_pool_stats ps;
    tgx_pool_get_stats(r->pool, &ps);
    tgx_metrics_gauge(out, "tgx_db_pool_connections", "Database connections of the api role, by state",
                      "state=\"busy\"", ps.busy);
    tgx_metrics_gauge(out, "tgx_db_pool_connections", "Database connections of the api role, by state",
                      "state=\"idle\"", ps.connected - ps.busy > 0 ? ps.connected - ps.busy : 0);
    tgx_metrics_gauge(out, "tgx_db_pool_size", "Database connections the api role may open", NULL, ps.size);
    tgx_metrics_gauge(out, "tgx_db_pool_timeouts",
                      "Requests that found no free database connection in time (since start)", NULL,
                      (double)ps.timeouts);

    struct tgx_store_gauges g;
    struct tgx_store_err err;
    int rc = r->store->ops->gauges(r->store, &g, &err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 5; i++) {
        char label[64];
        snprintf(label, sizeof label, "state=\"%s\"", tgx_store_queue_states[i]);
        tgx_metrics_gauge(out, "tgx_queue_depth", "Tasks in the work set, by state (tgx.queue_status)", label,
                          (double)g.queue_depth[i]);
    }
    tgx_metrics_gauge(out, "tgx_keepers_online", "Keepers marked online", NULL, (double)g.keepers_online);
    tgx_metrics_gauge(out, "tgx_keepers_eligible", "Keepers online, whitelisted, registered and not draining",
                      NULL, (double)g.keepers_eligible);
    tgx_metrics_gauge(out, "tgx_scheduler_lag_seconds",
                      "How late the most overdue time schedule is (0 when none is due)", NULL,
                      g.scheduler_lag_seconds);
    tgx_metrics_gauge(out, "tgx_schedules_due", "Time schedules whose next run is due and not fired yet",
                      NULL, (double)g.schedules_due);
    return 0;
}

/* The --rpc and fee settings into the chain table and the estimator. */
static int build_fees(struct tgx_role_api *r, const struct tgx_config *cfg, struct tgx_buf *errmsg)
{
    char err[256];
    if (tgx_chains_create(&r->chains) < 0) {
        tgx_buf_puts(errmsg, "out of memory");
        return -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->rpc.n; i++) {
        err[0] = '\0';
        int rc = tgx_chains_add(r->chains, cfg->rpc.v[i], err, sizeof err);
        if (rc < 0) {
            tgx_buf_printf(errmsg, "invalid --rpc \"%s\": %s", cfg->rpc.v[i], err);
            return rc;
        }
    }
    struct tgx_fees_config fc = {
        .chains = r->chains,
        .keeper_fee_wei = cfg->keeper_fee_wei,
        .chain_default_fees = (const char *const *)cfg->default_fee_wei.v,
        .n_chain_default_fees = cfg->default_fee_wei.n,
        .from_address = cfg->fee_from_address,
        .rpc_timeout_ms = cfg->rpc_timeout_ms,
    };
    int rc = tgx_fees_create(&fc, &r->fees);
    if (rc < 0)
        tgx_buf_puts(errmsg, "invalid fee settings (see the log above)");
    return rc;
}

int tgx_role_api_create(const struct tgx_config *cfg, struct tgx_role_api **out, struct tgx_buf *errmsg)
{
    *out = NULL;
    if (cfg->database_url == NULL) {
        tgx_buf_puts(errmsg, "no database: give --database-url or TGX_DATABASE_URL");
        return -TGX_ERR_INVAL;
    }
    char host[256];
    unsigned port;
    if (tgx_config_listen(cfg, host, sizeof host, &port) < 0) {
        tgx_buf_printf(errmsg, "invalid --listen \"%s\": expected HOST:PORT", cfg->listen ? cfg->listen : "");
        return -TGX_ERR_INVAL;
    }
    struct tgx_role_api *r = calloc(1, sizeof *r);
    if (r == NULL) {
        tgx_buf_puts(errmsg, "out of memory");
        return -TGX_ERR_NOMEM;
    }
    struct tgx_pool_opts po = {
        .url = cfg->database_url,
        .appname = "tgxd api",
        .size = (int)cfg->db_pool,
        .wait_ms = (int)cfg->db_wait_ms,
        .statement_timeout_ms = (int)cfg->statement_timeout_ms,
    };
    int rc = tgx_pool_create(&po, &r->pool, errmsg);
    if (rc == 0) {
        rc = tgx_store_pg_create(r->pool, &r->store);
        if (rc < 0)
            tgx_buf_puts(errmsg, "out of memory");
    }
    if (rc == 0)
        rc = build_fees(r, cfg, errmsg);
    if (rc == 0) {
        rc = tgx_keeper_gw_create(r->pool, cfg->database_url, &r->keeper_gw);
        if (rc < 0)
            tgx_buf_puts(errmsg, "out of memory");
    }
    if (rc < 0) {
        tgx_role_api_free(r);
        return rc;
    }
    r->api.store = r->store;
    r->api.fees = r->fees;
    r->api.keeper_gw = r->keeper_gw;
    r->api.json_depth = (unsigned)cfg->json_depth;
    r->api.time_lookahead_s = (int)cfg->time_lookahead;
    clock_gettime(CLOCK_MONOTONIC, &r->api.started);

    struct tgx_http_config hc = {
        .listen_host = host,
        .port = (uint16_t)port,
        .threads = (unsigned)cfg->threads,
        .body_limit = (size_t)cfg->body_limit,
        .json_depth = (unsigned)cfg->json_depth,
        .connection_limit = (unsigned)cfg->connection_limit,
        .routes = tgx_api_routes,
        .nroutes = tgx_api_nroutes,
        .handler_ctx = &r->api,
        .authenticate = authenticate,
        .auth_ctx = r,
        .auth_cache_ms = (unsigned)cfg->auth_cache_ms,
        .database_url = cfg->database_url,
        .instance_id = cfg->instance_id,
        .ratelimit_sync_ms = (unsigned)cfg->ratelimit_sync_ms,
        .ws_authorize = tgx_api_ws_authorize,
        .ws_snapshot = tgx_api_ws_snapshot,
        .ws_ctx = &r->api,
        .ws_ping_ms = (unsigned)cfg->ws_ping_ms,
        .ws_timeout_ms = (unsigned)cfg->ws_timeout_ms,
        .ws_max_clients = (unsigned)cfg->ws_max_clients,
        .metrics_collect = collect_gauges,
        .metrics_ctx = r,
    };
    rc = tgx_http_server_create(&hc, &r->server);
    if (rc < 0) {
        tgx_buf_puts(errmsg, "could not set up the HTTP server (see the log above)");
        tgx_role_api_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int tgx_role_api_start(struct tgx_role_api *r)
{
    int rc = tgx_http_server_start(r->server);
    if (rc == 0) {
        rc = tgx_keeper_gw_start(r->keeper_gw, r->server); /* wakes the keepers' long-polls */
        if (rc < 0)
            tgx_http_server_stop(r->server);
    }
    return rc;
}

uint16_t tgx_role_api_port(const struct tgx_role_api *r)
{
    return tgx_http_server_port(r->server);
}

void tgx_role_api_stop(struct tgx_role_api *r)
{
    if (r != NULL)
        tgx_keeper_gw_stop(r->keeper_gw);
    if (r != NULL && r->server != NULL)
        tgx_http_server_stop(r->server);
}

void tgx_role_api_free(struct tgx_role_api *r)
{
    if (r == NULL)
        return;
    tgx_keeper_gw_stop(r->keeper_gw);
    tgx_http_server_free(r->server); /* stops it first: no handler runs after this */
    tgx_keeper_gw_free(r->keeper_gw);
    tgx_fees_free(r->fees);
    tgx_chains_free(r->chains);
    tgx_store_free(r->store);
    tgx_pool_free(r->pool);
    free(r);
}
