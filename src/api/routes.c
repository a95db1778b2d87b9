/* routes.c: THE route table of the REST API (triggerx-api.md section 1), and `tgxd routes`.
 *
 * Access (enum tgx_route_flags):
 *  - open: GET /metrics, GET /api/health, GET /api/fees (the SDK calls it without a key), and
 *    GET /api/ws/tasks (the WebSocket upgrade authenticates itself: ?api_key= or X-Api-Key, since
 *    browsers cannot set headers on a WebSocket).
 *  - key: every route that reads or writes user data, POST /api/jobs included; a key sees and
 *    changes only its owner's users, jobs and tasks (admin keys: everything).  Keeper reads, the
 *    leaderboards, GET /api/ws/health, PUT /api/jobs/:id/lastexecuted (the owner's job) and the two
 *    routes answering 501
 *    until later issues (POST /api/claim-fund, POST /api/code/validate) need a key too.
 *  - admin: everything under /api/admin/, and the writes that only the backend's own services made in the
 *    original, where they were left open: GET /api/jobs/time (the time scheduler's poll),
 *    POST /api/tasks, PUT /api/tasks/execution/:id, GET /api/ws/stats (it lists room names, which
 *    hold owners' addresses and job ids), and the keeper
 *    writes (POST /api/keepers, /form, /:id/increment-tasks, /:id/add-points, /update-chat-id) plus
 *    GET /api/keepers/com-info/:id (contact data).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/api.h"
#include "tgx/keeper_gw.h"

#define OPEN  TGX_ROUTE_OPEN
#define KEY   TGX_ROUTE_KEY
#define ADMIN (TGX_ROUTE_KEY | TGX_ROUTE_ADMIN)

const struct tgx_route tgx_api_routes[] = {
    /* admin API keys */
    {"GET", "/api/admin/api-keys/:owner", tgx_api_keys_list, ADMIN, "admin_keys_list"},
    {"POST", "/api/admin/api-keys", tgx_api_keys_create, ADMIN, "admin_keys_create"},
    {"PUT", "/api/admin/api-keys/:key", tgx_api_keys_update, ADMIN, "admin_keys_update"},
    {"DELETE", "/api/admin/api-keys/:key", tgx_api_keys_delete, ADMIN, "admin_keys_delete"},
    /* admin keepers (keeper gateway, src/api/keeper_gateway.c) */
    {"POST", "/api/admin/keepers/:address/whitelist", tgx_api_keeper_gw_whitelist, ADMIN,
     "admin_keeper_whitelist"},
    /* not implemented yet */
    {"POST", "/api/claim-fund", tgx_api_not_implemented, KEY, "claim_fund"},
    {"POST", "/api/code/validate", tgx_api_not_implemented, KEY, "code_validate"},
    /* fees (engineer C) and health */
    {"GET", "/api/fees", tgx_api_fees_route, OPEN, "fees"},
    {"GET", "/api/health", tgx_api_health, OPEN, "health"},
    /* jobs */
    {"POST", "/api/jobs", tgx_api_jobs_create, KEY, "jobs_create"},
    {"GET", "/api/jobs/by-apikey", tgx_api_jobs_by_apikey, KEY, "jobs_by_apikey"},
    {"PUT", "/api/jobs/delete/:id", tgx_api_job_delete, KEY, "job_delete"},
    {"GET", "/api/jobs/safe-address/:safe_address", tgx_api_jobs_by_safe, KEY, "jobs_by_safe"},
    {"GET", "/api/jobs/time", tgx_api_jobs_time, ADMIN, "jobs_time"},
    {"PUT", "/api/jobs/update/:id", tgx_api_job_update, KEY, "job_update"},
    {"GET", "/api/jobs/user/:user_address", tgx_api_jobs_by_user, KEY, "jobs_by_user"},
    {"GET", "/api/jobs/user/:user_address/:job_id", tgx_api_job_by_user_id, KEY, "job_by_user_id"},
    {"GET", "/api/jobs/user/:user_address/chain/:created_chain_id", tgx_api_jobs_by_user_chain, KEY,
     "jobs_by_user_chain"},
    {"PUT", "/api/jobs/:id/lastexecuted", tgx_api_job_last_executed, KEY, "job_last_executed"},
    {"PUT", "/api/jobs/:id/status/:status", tgx_api_job_status, KEY, "job_status"},
    {"GET", "/api/jobs/:job_id/task-fees", tgx_api_job_task_fees, KEY, "job_task_fees"},
    /* keepers */
    {"POST", "/api/keepers", tgx_api_keeper_create, ADMIN, "keeper_create"},
    {"GET", "/api/keepers/com-info/:id", tgx_api_keeper_com_info, ADMIN, "keeper_com_info"},
    {"POST", "/api/keepers/form", tgx_api_keeper_form, ADMIN, "keeper_form"},
    {"GET", "/api/keepers/performers", tgx_api_keepers_performers, KEY, "keepers_performers"},
    {"POST", "/api/keepers/update-chat-id", tgx_api_keeper_chat_id, ADMIN, "keeper_chat_id"},
    {"GET", "/api/keepers/:id", tgx_api_keeper_get, KEY, "keeper_get"},
    {"POST", "/api/keepers/:id/add-points", tgx_api_keeper_add_points, ADMIN, "keeper_add_points"},
    {"POST", "/api/keepers/:id/increment-tasks", tgx_api_keeper_increment_tasks, ADMIN,
     "keeper_increment_tasks"},
    {"GET", "/api/keepers/:id/points", tgx_api_keeper_points, KEY, "keeper_points"},
    {"GET", "/api/keepers/:id/task-count", tgx_api_keeper_task_count, KEY, "keeper_task_count"},
    /* keeper gateway: signed by the keeper's key (X-Keeper-Address, X-Keeper-Timestamp,
     * X-Keeper-Signature; checked by the handlers, see src/api/keeper_gateway.c), no API key */
    {"POST", "/api/keeper/attestations/:task_id", tgx_api_keeper_gw_attest, OPEN, "keeper_gw_attest"},
    {"GET", "/api/keeper/attestations", tgx_api_keeper_gw_attestations, OPEN, "keeper_gw_attestations"},
    {"POST", "/api/keeper/checkin", tgx_api_keeper_gw_checkin, OPEN, "keeper_gw_checkin"},
    {"GET", "/api/keeper/tasks", tgx_api_keeper_gw_tasks, OPEN, "keeper_gw_tasks"},
    {"POST", "/api/keeper/tasks/:id/ack", tgx_api_keeper_gw_ack, OPEN, "keeper_gw_ack"},
    {"POST", "/api/keeper/tasks/:id/fail", tgx_api_keeper_gw_fail, OPEN, "keeper_gw_fail"},
    {"POST", "/api/keeper/tasks/:id/result", tgx_api_keeper_gw_result, OPEN, "keeper_gw_result"},
    /* the original health service's keeper check-in (triggerx-api.md section 4), open */
    {"POST", "/health", tgx_api_keeper_gw_health, OPEN, "keeper_health_checkin"},
    /* leaderboards */
    {"GET", "/api/leaderboard/keepers", tgx_api_board_keepers, KEY, "leaderboard_keepers"},
    {"GET", "/api/leaderboard/keepers/search", tgx_api_board_keeper_search, KEY, "leaderboard_keeper_search"},
    {"GET", "/api/leaderboard/users", tgx_api_board_users, KEY, "leaderboard_users"},
    {"GET", "/api/leaderboard/users/search", tgx_api_board_user_search, KEY, "leaderboard_user_search"},
    /* tasks */
    {"POST", "/api/tasks", tgx_api_task_create, ADMIN, "task_create"},
    {"GET", "/api/tasks/by-apikey/:api_key", tgx_api_tasks_by_apikey, KEY, "tasks_by_apikey"},
    {"PUT", "/api/tasks/execution/:id", tgx_api_task_execution, ADMIN, "task_execution"},
    {"GET", "/api/tasks/job/:job_id", tgx_api_tasks_by_job, KEY, "tasks_by_job"},
    {"GET", "/api/tasks/recent", tgx_api_tasks_recent, KEY, "tasks_recent"},
    {"GET", "/api/tasks/safe-address/:safe_address", tgx_api_tasks_by_safe, KEY, "tasks_by_safe"},
    {"GET", "/api/tasks/user/:user_address", tgx_api_tasks_by_user, KEY, "tasks_by_user"},
    {"GET", "/api/tasks/:id", tgx_api_task_get, KEY, "task_get"},
    /* users */
    {"POST", "/api/users/email", tgx_api_user_email, KEY, "users_email"},
    {"GET", "/api/users/safe-addresses/:user_address", tgx_api_user_safe_addresses, KEY,
     "users_safe_addresses"},
    {"GET", "/api/users/:address", tgx_api_user_get, KEY, "users_get"},
    /* WebSocket hub (engineer A) */
    {"GET", "/api/ws/health", tgx_http_ws_health_handler, KEY, "ws_health"},
    {"GET", "/api/ws/stats", tgx_http_ws_stats_handler, ADMIN, "ws_stats"},
    {"GET", "/api/ws/tasks", tgx_http_ws_tasks_handler, OPEN, "ws_tasks"},
    /* Prometheus (engineer A's registry + the api role's gauges) */
    {"GET", "/metrics", tgx_http_metrics_handler, OPEN, "metrics"},
};

const size_t tgx_api_nroutes = sizeof tgx_api_routes / sizeof tgx_api_routes[0];

static int cmp_route(const void *a, const void *b)
{
    const struct tgx_route *x = *(const struct tgx_route *const *)a;
    const struct tgx_route *y = *(const struct tgx_route *const *)b;
    /* the order of the printed lines "METHOD PATTERN" compared as strings (what `sort` gives) */
    int c = strcmp(x->method, y->method);
    return c != 0 ? c : strcmp(x->pattern, y->pattern);
}

void tgx_api_print_routes(FILE *out, bool verbose)
{
    const struct tgx_route *sorted[sizeof tgx_api_routes / sizeof tgx_api_routes[0]];
    for (size_t i = 0; i < tgx_api_nroutes; i++)
        sorted[i] = &tgx_api_routes[i];
    qsort(sorted, tgx_api_nroutes, sizeof sorted[0], cmp_route);
    for (size_t i = 0; i < tgx_api_nroutes; i++) {
        const struct tgx_route *r = sorted[i];
        if (verbose)
            fprintf(out, "%-6s %-56s %-5s %s\n", r->method, r->pattern,
                    (r->flags & TGX_ROUTE_ADMIN) ? "admin"
                    : (r->flags & TGX_ROUTE_KEY) ? "key"
                                                 : "open",
                    r->name);
        else
            fprintf(out, "%s %s\n", r->method, r->pattern);
    }
}
