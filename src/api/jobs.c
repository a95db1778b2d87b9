/* jobs.c: the /api/jobs routes: create, list (by key, user, chain, Safe), read, task fees, the
 * scheduler's due list, update, status, last execution, delete. */
#include <stdlib.h>
#include <string.h>

#include "tgx/api.h"
#include "tgx/log.h"

static void decode_error(struct tgx_http_resp *resp, const struct tgx_api_decode_err *e)
{
    tgx_api_error(resp, 400, e->code, e->field[0] != '\0' ? e->field : NULL, "%s", e->message);
}

/* POST /api/jobs (key): a JSON array of CreateJobData, created in one transaction. */
int tgx_api_jobs_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    size_t len;
    char *text = tgx_api_body_text(req, &len);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    json_t *body = NULL;
    struct tgx_api_decode_err derr;
    if (tgx_api_decode_json(text, len, api->json_depth, &body, &derr) < 0 ||
        tgx_api_check_jobs(body, &derr) < 0) {
        decode_error(resp, &derr);
        json_decref(body);
        free(text);
        return 0;
    }
    json_decref(body);
    /* the store gets the text as received: PostgreSQL's jsonb keeps every digit of the balances */
    struct tgx_store_err err;
    json_t *out;
    if (api->store->ops->jobs_create(api->store, tgx_api_owner(req), text, tgx_http_trace_id(req), &out,
                                     &err) < 0)
        tgx_api_store_error(resp, &err, "VALIDATION_FAILED", "NOT_FOUND", "JOB_EXISTS");
    else
        tgx_api_reply(resp, 200, out);
    free(text);
    return 0;
}

/* {"jobs": [...]} (+ next_cursor), or the original's message when the first page is empty. */
static void reply_jobs(struct tgx_http_resp *resp, struct tgx_store_list *list,
                       const struct tgx_store_page *page, const char *empty_message)
{
    tgx_api_strip_private(list->items);
    json_t *body = json_object();
    if (json_array_size(list->items) == 0 && page->after == NULL)
        json_object_set_new(body, "message", json_string(empty_message));
    json_object_set(body, "jobs", list->items);
    tgx_api_next_cursor(resp, body, list->next);
    tgx_store_list_cleanup(list);
    tgx_api_reply(resp, 200, body);
}

/* The jobs of ADDRESS (optionally of CHAIN), after the ownership check. */
static int list_user_jobs(struct tgx_http_req *req, struct tgx_http_resp *resp, struct tgx_api *api,
                          const char *address, const char *chain)
{
    char cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_check_owner(req, resp, address) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->jobs_by_user(api->store, address, chain, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    reply_jobs(resp, &list, &page, "No jobs found for this user");
    return 0;
}

/* GET /api/jobs/by-apikey (key): the jobs of the key's owner. */
int tgx_api_jobs_by_apikey(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    const struct tgx_http_auth *auth = tgx_http_auth(req);
    char addr[43];
    if (auth == NULL || auth->owner[0] == '\0') {
        tgx_api_error(resp, 404, "OWNER_NOT_FOUND", NULL, "No owner found for API key");
        return 0;
    }
    if (!tgx_api_parse_address(auth->owner, addr)) {
        /* an owner that is not an address has no jobs (the original matched it against users) */
        char cursor[256];
        struct tgx_store_page page;
        if (tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
            tgx_api_reply(resp, 200,
                          json_pack("{s:s, s:[]}", "message", "No jobs found for this user", "jobs"));
        return 0;
    }
    return list_user_jobs(req, resp, ctx, addr, NULL);
}

/* GET /api/jobs/user/:user_address (key, owner). */
int tgx_api_jobs_by_user(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    char addr[43];
    if (!tgx_api_param_address(req, resp, "user_address", "Invalid user address", addr))
        return 0;
    return list_user_jobs(req, resp, ctx, addr, NULL);
}

/* GET /api/jobs/user/:user_address/chain/:created_chain_id (key, owner). */
int tgx_api_jobs_by_user_chain(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    char addr[43];
    const char *chain = tgx_http_param(req, "created_chain_id");
    if (!tgx_api_param_address(req, resp, "user_address", "Invalid user address", addr))
        return 0;
    bool ok = chain != NULL && chain[0] != '\0' && strlen(chain) <= 20;
    for (const char *p = chain; ok && *p != '\0'; p++)
        ok = *p >= '0' && *p <= '9';
    if (!ok) {
        tgx_api_error(resp, 400, "INVALID_CREATED_CHAIN_ID", "created_chain_id", "Invalid created chain ID");
        return 0;
    }
    return list_user_jobs(req, resp, ctx, addr, chain);
}

/* GET /api/jobs/user/:user_address/:job_id (key, owner): the bare JobData. */
int tgx_api_job_by_user_id(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char addr[43], id[80];
    if (!tgx_api_param_address(req, resp, "user_address", "Invalid user address", addr) ||
        !tgx_api_param_job_id(req, resp, "job_id", "invalid job_id", id) ||
        !tgx_api_check_owner(req, resp, addr))
        return 0;
    struct tgx_store_err err;
    json_t *job;
    if (api->store->ops->job_get(api->store, id, &job, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, "JOB_NOT_FOUND", NULL);
        return 0;
    }
    if (strcmp(json_string_value(json_object_get(job, "_owner")), addr) != 0) {
        json_decref(job);
        tgx_api_error(resp, 403, "FORBIDDEN", NULL, "forbidden: job does not belong to user");
        return 0;
    }
    tgx_api_strip_private(job);
    tgx_api_reply(resp, 200, job);
    return 0;
}

/* GET /api/jobs/safe-address/:safe_address (key): jobs of a Safe wallet (the key owner's only). */
int tgx_api_jobs_by_safe(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char safe[43], cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_param_address(req, resp, "safe_address", "Invalid safe address", safe) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->jobs_by_safe(api->store, safe, tgx_api_owner(req), &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    reply_jobs(resp, &list, &page, "No jobs found for this safe address");
    return 0;
}

/* GET /api/jobs/:job_id/task-fees (key, owner): {"task_fees": [...] | null}. */
int tgx_api_job_task_fees(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char id[80], cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_param_job_id(req, resp, "job_id", "invalid job_id", id) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->job_task_fees(api->store, id, tgx_api_owner(req), &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, "JOB_NOT_FOUND", NULL);
        return 0;
    }
    json_t *body = json_object();
    json_object_set(body, "task_fees", json_array_size(list.items) > 0 ? list.items : json_null());
    tgx_api_next_cursor(resp, body, list.next);
    tgx_store_list_cleanup(&list);
    tgx_api_reply(resp, 200, body);
    return 0;
}

/*
 * GET /api/jobs/time (admin): active time jobs due within ?lookahead= seconds (default the
 * configured look-ahead), soonest first; null when none.  Read only: the scheduler role creates
 * the tasks here, so unlike the original this route creates nothing.
 */
int tgx_api_jobs_time(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char cursor[256];
    int lookahead = api->time_lookahead_s;
    const char *la = tgx_http_query(req, "lookahead");
    if (la != NULL) {
        int64_t v;
        if (!(strcmp(la, "0") == 0 || (tgx_api_parse_id(la, &v) && v <= 86400))) {
            tgx_api_error(resp, 400, "INVALID_LOOKAHEAD", "lookahead",
                          "lookahead must be 0 to 86400 seconds");
            return 0;
        }
        lookahead = strcmp(la, "0") == 0 ? 0 : (int)v;
    }
    struct tgx_store_page page;
    if (!tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->jobs_time_due(api->store, lookahead, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    tgx_api_reply_list(resp, &list, true);
    return 0;
}

/* Answer a failed job change. */
static void job_change_error(struct tgx_http_resp *resp, const struct tgx_store_err *err)
{
    if (err->status == TGX_STORE_NOT_FOUND)
        tgx_api_error(resp, 404, "JOB_NOT_FOUND", NULL, "Job not found");
    else
        tgx_api_store_error(resp, err,
                            strcmp(err->field, "status") == 0 ? "INVALID_STATUS" : "VALIDATION_FAILED",
                            "JOB_NOT_FOUND", "JOB_NOT_ACTIVE");
}

/* PUT /api/jobs/update/:id (key, owner): only the fields sent change; the PATH id is the job. */
int tgx_api_job_update(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char id[80];
    if (!tgx_api_param_job_id(req, resp, "id", "Invalid job ID format", id))
        return 0;
    size_t len;
    char *text = tgx_api_body_text(req, &len);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    json_t *body = NULL;
    struct tgx_api_decode_err derr;
    if (tgx_api_decode_json(text, len, api->json_depth, &body, &derr) < 0 ||
        tgx_api_check_job_update(body, &derr) < 0) {
        decode_error(resp, &derr);
    } else {
        struct tgx_store_err err;
        json_t *out;
        if (api->store->ops->job_update(api->store, tgx_api_owner(req), id, text, &out, &err) < 0) {
            job_change_error(resp, &err);
        } else {
            tgx_api_reply(resp, 200,
                          json_pack("{s:s, s:O, s:O}", "message", "Job updated successfully", "job_id",
                                    json_object_get(out, "job_id"), "updated_at",
                                    json_object_get(out, "updated_at")));
            json_decref(out);
        }
    }
    json_decref(body);
    free(text);
    return 0;
}

/* PUT /api/jobs/:id/status/:status (key, owner): pending|in-queue|running resume, paused pauses. */
int tgx_api_job_status(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char id[80];
    const char *status = tgx_http_param(req, "status");
    if (!tgx_api_param_job_id(req, resp, "id", "Invalid job ID format", id))
        return 0;
    if (status == NULL || (strcmp(status, "pending") != 0 && strcmp(status, "in-queue") != 0 &&
                           strcmp(status, "running") != 0 && strcmp(status, "paused") != 0)) {
        tgx_api_error(resp, 400, "INVALID_STATUS", "status",
                      "Invalid status. Must be one of: pending, in-queue, running, paused");
        return 0;
    }
    struct tgx_store_err err;
    json_t *out;
    if (api->store->ops->job_set_status(api->store, tgx_api_owner(req), id, status, &out, &err) < 0) {
        job_change_error(resp, &err);
        return 0;
    }
    tgx_api_reply(resp, 200,
                  json_pack("{s:s, s:s, s:O, s:O}", "message", "Job status updated successfully", "job_id",
                            id, "status", json_object_get(out, "status"), "updated_at",
                            json_object_get(out, "updated_at")));
    json_decref(out);
    return 0;
}

/*
 * PUT /api/jobs/:id/lastexecuted (key, owner) {"last_executed_at": RFC 3339, "job_cost_actual": number}:
 * both optional (now, unchanged).  The path id is the job; the body's job_id and task_ids are
 * accepted and not used.
 */
int tgx_api_job_last_executed(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char id[80];
    if (!tgx_api_param_job_id(req, resp, "id", "Invalid job ID format", id))
        return 0;
    size_t len;
    char *text = tgx_api_body_text(req, &len);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    json_t *body = NULL;
    struct tgx_api_decode_err derr;
    char cost[64];
    const char *cost_p = NULL;
    if (len > 0 && tgx_api_decode_json(text, len, api->json_depth, &body, &derr) < 0) {
        decode_error(resp, &derr);
        goto done;
    }
    if (body != NULL && !json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
        goto done;
    }
    json_t *at = json_object_get(body, "last_executed_at");
    json_t *c = json_object_get(body, "job_cost_actual");
    if (at != NULL && !json_is_null(at) &&
        (!json_is_string(at) || !tgx_api_is_rfc3339(json_string_value(at)))) {
        tgx_api_error(resp, 400, "VALIDATION_FAILED", "last_executed_at",
                      "last_executed_at must be an RFC 3339 time");
        goto done;
    }
    if (c != NULL && !json_is_null(c)) {
        if (!json_is_number(c) ||
            tgx_api_json_member_raw(text, len, "job_cost_actual", cost, sizeof cost) < 0) {
            tgx_api_error(resp, 400, "VALIDATION_FAILED", "job_cost_actual",
                          "job_cost_actual must be a number");
            goto done;
        }
        cost_p = cost;
    }
    struct tgx_store_err err;
    json_t *out;
    const char *at_s = json_is_string(at) && json_string_value(at)[0] != '\0' ? json_string_value(at) : NULL;
    if (api->store->ops->job_set_last_executed(api->store, tgx_api_owner(req), id, at_s, cost_p, &out, &err) <
        0) {
        job_change_error(resp, &err);
        goto done;
    }
    tgx_api_reply(resp, 200,
                  json_pack("{s:s, s:O, s:O, s:O}", "message", "Last executed time updated successfully",
                            "job_id", json_object_get(out, "job_id"), "last_executed_at",
                            json_object_get(out, "last_executed_at"), "updated_at",
                            json_object_get(out, "updated_at")));
    json_decref(out);
done:
    json_decref(body);
    free(text);
    return 0;
}

/* PUT /api/jobs/delete/:id (key, owner): 200 for every job type; waiting tasks are cancelled. */
int tgx_api_job_delete(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char id[80];
    if (!tgx_api_param_job_id(req, resp, "id", "Invalid job ID format", id))
        return 0;
    struct tgx_store_err err;
    int cancelled = 0;
    if (api->store->ops->job_delete(api->store, tgx_api_owner(req), id, &cancelled, &err) < 0) {
        job_change_error(resp, &err);
        return 0;
    }
    tgx_log_debug("api", "job %s deleted, %d waiting task(s) cancelled", id, cancelled);
    tgx_api_reply(resp, 200, json_pack("{s:s}", "message", "Job deleted successfully"));
    return 0;
}
