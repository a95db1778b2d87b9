/* tasks.c: the /api/tasks routes: create (admin), read, execution report (admin), by job, recent,
 * grouped by user / key owner / Safe wallet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/api.h"
#include "tgx/sha256.h"

/* A whole JSON number in 1..2^63-1 (a real from JSON_DECODE_INT_AS_REAL included). */
static bool json_id(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out > 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= 1 && d < 9.2e18 && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return true;
        }
    }
    return false;
}

/*
 * POST /api/tasks (admin) {"job_id": number or decimal string, "task_definition_id": 1..7,
 * "is_imua": bool}: one pending task of the job, due now; 201 {"task_id"}.
 */
int tgx_api_task_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    size_t len;
    char *text = tgx_api_body_text(req, &len);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    json_t *body = NULL;
    struct tgx_api_decode_err derr;
    char raw[96], id[80];
    int64_t tdid = 0;
    if (tgx_api_decode_json(text, len, api->json_depth, &body, &derr) < 0) {
        tgx_api_error(resp, 400, derr.code, NULL, "%s", derr.message);
    } else if (!json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
    } else if (tgx_api_json_member_raw(text, len, "job_id", raw, sizeof raw) < 0 ||
               !tgx_api_parse_job_id(raw, id)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "job_id", "job_id must be a whole number");
    } else if (!json_id(json_object_get(body, "task_definition_id"), &tdid) || tdid > 7) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "task_definition_id",
                      "task_definition_id must be 1 to 7");
    } else {
        json_t *imua = json_object_get(body, "is_imua");
        struct tgx_store_err err;
        int64_t task_id;
        if (api->store->ops->task_create(api->store, id, (int)tdid,
                                         json_is_boolean(imua) ? json_is_true(imua) : -1,
                                         tgx_http_trace_id(req), &task_id, &err) < 0)
            tgx_api_store_error(resp, &err, "INVALID_REQUEST", "JOB_NOT_FOUND", "JOB_NOT_ACTIVE");
        else
            tgx_api_reply(resp, 201, json_pack("{s:I}", "task_id", (json_int_t)task_id));
    }
    json_decref(body);
    free(text);
    return 0;
}

/* The task id of path parameter "id"; answers 400 INVALID_TASK_ID otherwise. */
static bool path_task_id(struct tgx_http_req *req, struct tgx_http_resp *resp, int64_t *id)
{
    if (tgx_api_parse_id(tgx_http_param(req, "id"), id))
        return true;
    tgx_api_error(resp, 400, "INVALID_TASK_ID", "id", "Invalid task ID format");
    return false;
}

/* GET /api/tasks/:id (key, owner): TaskData. */
int tgx_api_task_get(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    int64_t id;
    if (!path_task_id(req, resp, &id))
        return 0;
    struct tgx_store_err err;
    json_t *task;
    if (api->store->ops->task_get(api->store, id, &task, &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "TASK_NOT_FOUND", "Task not found");
        return 0;
    }
    const char *owner = tgx_api_owner(req);
    if (owner != NULL && strcmp(owner, json_string_value(json_object_get(task, "_owner"))) != 0) {
        json_decref(task);
        tgx_api_error(resp, 403, "FORBIDDEN", NULL, "forbidden: the task belongs to another owner");
        return 0;
    }
    tgx_api_strip_private(task);
    tgx_api_reply(resp, 200, task);
    return 0;
}

/*
 * PUT /api/tasks/execution/:id (admin) {"task_id","task_performer_id","execution_timestamp",
 * "execution_tx_hash","proof_of_task","task_opx_cost"}: the PATH id is the task (a body task_id
 * must match it); execution_timestamp and execution_tx_hash are required.
 */
int tgx_api_task_execution(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    int64_t id;
    if (!path_task_id(req, resp, &id))
        return 0;
    size_t len;
    char *text = tgx_api_body_text(req, &len);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    json_t *body = NULL;
    struct tgx_api_decode_err derr;
    char cost[64];
    if (tgx_api_decode_json(text, len, api->json_depth, &body, &derr) < 0) {
        tgx_api_error(resp, 400, derr.code, NULL, "%s", derr.message);
        goto done;
    }
    json_t *task_id = json_object_get(body, "task_id");
    json_t *performer = json_object_get(body, "task_performer_id");
    json_t *at = json_object_get(body, "execution_timestamp");
    json_t *hash = json_object_get(body, "execution_tx_hash");
    json_t *proof = json_object_get(body, "proof_of_task");
    json_t *c = json_object_get(body, "task_opx_cost");
    int64_t v;
    if (!json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
    } else if (task_id != NULL && !json_is_null(task_id) && (!json_id(task_id, &v) || v != id) &&
               !(json_is_number(task_id) && json_number_value(task_id) == 0)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "task_id",
                      "task_id of the body is not the task of the path");
    } else if (!json_is_string(at) || json_string_value(at)[0] == '\0' || !json_is_string(hash) ||
               json_string_value(hash)[0] == '\0') {
        tgx_api_error(resp, 400, "MISSING_REQUIRED_FIELDS",
                      !json_is_string(at) ? "execution_timestamp" : "execution_tx_hash",
                      "Missing required fields");
    } else if (!tgx_api_is_rfc3339(json_string_value(at))) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "execution_timestamp",
                      "execution_timestamp must be an RFC 3339 time");
    } else if (performer != NULL && !json_is_null(performer) && !json_id(performer, &v) &&
               !(json_is_number(performer) && json_number_value(performer) == 0)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "task_performer_id",
                      "task_performer_id must be a keeper id");
    } else if ((proof != NULL && !json_is_null(proof) && !json_is_string(proof)) ||
               (c != NULL && !json_is_null(c) &&
                (!json_is_number(c) ||
                 tgx_api_json_member_raw(text, len, "task_opx_cost", cost, sizeof cost) < 0))) {
        tgx_api_error(resp, 400, "INVALID_REQUEST",
                      json_is_number(c) || c == NULL ? "proof_of_task" : "task_opx_cost",
                      "proof_of_task must be a string and task_opx_cost a number");
    } else {
        struct tgx_store_execution x = {
            .task_performer_id = json_id(performer, &v) ? v : 0,
            .execution_timestamp = json_string_value(at),
            .execution_tx_hash = json_string_value(hash),
            .proof_of_task = json_string_value(proof),
            .task_opx_cost = c != NULL && json_is_number(c) ? cost : NULL,
        };
        struct tgx_store_err err;
        if (api->store->ops->task_record_execution(api->store, id, &x, &err) < 0)
            tgx_api_lookup_error(resp, &err, "INVALID_REQUEST", "TASK_NOT_FOUND", "Task not found");
        else
            tgx_api_reply(resp, 200,
                          json_pack("{s:s}", "message", "Task execution data updated successfully"));
    }
done:
    json_decref(body);
    free(text);
    return 0;
}

/* GET /api/tasks/job/:job_id (key, owner): [TaskItem]; 404 TASKS_NOT_FOUND for an unknown job. */
int tgx_api_tasks_by_job(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char id[80], cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_param_job_id(req, resp, "job_id", "Invalid job_id format", id) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->tasks_by_job(api->store, id, tgx_api_owner(req), &page, &list, &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "TASKS_NOT_FOUND", "No tasks found for this job");
        return 0;
    }
    tgx_api_finish_tasks(list.items);
    tgx_api_reply_list(resp, &list, false);
    return 0;
}

/*
 * GET /api/tasks/recent?limit=N (key): {"tasks": [RecentTask] | null, "count", "limit"}: the key
 * owner's newest tasks (an admin key: everyone's); limit default 200, larger values clamped to 200.
 */
int tgx_api_tasks_recent(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char cursor[256];
    const char *l = tgx_http_query(req, "limit");
    int64_t limit = 200;
    if (l != NULL && !tgx_api_parse_id(l, &limit)) {
        bool digits = l[0] != '\0' && strspn(l, "0123456789") == strlen(l) && l[0] != '0';
        if (!digits) {
            tgx_api_error(resp, 400, "INVALID_LIMIT", "limit", "Invalid limit parameter");
            return 0;
        }
        limit = 200; /* a huge number: clamped */
    }
    if (limit > 200)
        limit = 200;
    struct tgx_store_page page = {(int)limit, NULL};
    const char *c = tgx_http_query(req, "cursor");
    if (c != NULL) {
        struct tgx_store_page dummy;
        if (!tgx_api_page(req, resp, 1, &dummy, cursor, sizeof cursor))
            return 0;
        page.after = dummy.after;
    }
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->tasks_recent(api->store, tgx_api_owner(req), &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    tgx_api_finish_tasks(list.items);
    size_t n = json_array_size(list.items);
    json_t *body = json_pack("{s:O, s:I, s:I}", "tasks", n > 0 ? list.items : json_null(), "count",
                             (json_int_t)n, "limit", (json_int_t)limit);
    tgx_api_next_cursor(resp, body, list.next);
    tgx_store_list_cleanup(&list);
    tgx_api_reply(resp, 200, body);
    return 0;
}

/* {"<key>": value, "task_groups": [...]} with tx_url on every task. */
static void reply_groups(struct tgx_http_resp *resp, const char *key, const char *value,
                         struct tgx_store_list *list)
{
    tgx_api_finish_tasks(list->items);
    json_t *body = json_pack("{s:s, s:O}", key, value, "task_groups", list->items);
    tgx_api_next_cursor(resp, body, list->next);
    tgx_store_list_cleanup(list);
    tgx_api_reply(resp, 200, body);
}

static int groups_of_user(struct tgx_http_req *req, struct tgx_http_resp *resp, struct tgx_api *api,
                          const char *address)
{
    char cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_check_owner(req, resp, address) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->task_groups_by_user(api->store, address, &page, &list, &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "USER_NOT_FOUND", "User not found");
        return 0;
    }
    reply_groups(resp, "user_address", address, &list);
    return 0;
}

/* GET /api/tasks/user/:user_address (key, owner): the user's tasks grouped by job. */
int tgx_api_tasks_by_user(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    char addr[43];
    if (!tgx_api_param_address(req, resp, "user_address", "Invalid user address", addr))
        return 0;
    return groups_of_user(req, resp, ctx, addr);
}

/* GET /api/tasks/by-apikey/:api_key (key): the tasks of the PATH key's owner (the caller's own
 * owner unless the caller is an admin). */
int tgx_api_tasks_by_apikey(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    const char *key = tgx_http_param(req, "api_key");
    uint8_t hash[32];
    struct tgx_store_key k;
    struct tgx_store_err err;
    if (key == NULL || key[0] == '\0' || tgx_sha256(key, strlen(key), hash) < 0) {
        tgx_api_error(resp, 401, "INVALID_API_KEY", "api_key", "Invalid API key");
        return 0;
    }
    if (api->store->ops->key_authenticate(api->store, hash, &k, &err) < 0) {
        if (err.status == TGX_STORE_NOT_FOUND)
            tgx_api_error(resp, 401, "INVALID_API_KEY", "api_key", "Invalid API key");
        else
            tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    char addr[43];
    if (!tgx_api_parse_address(k.owner, addr)) {
        tgx_api_error(resp, 404, "OWNER_NOT_FOUND", NULL, "No owner found for API key");
        return 0;
    }
    return groups_of_user(req, resp, api, addr);
}

/* GET /api/tasks/safe-address/:safe_address (key): tasks of a Safe's jobs (the key owner's). */
int tgx_api_tasks_by_safe(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char safe[43], cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_param_address(req, resp, "safe_address", "Invalid safe address", safe) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->task_groups_by_safe(api->store, safe, tgx_api_owner(req), &page, &list, &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "SAFE_ADDRESS_NOT_FOUND",
                             "No jobs found for this safe address");
        return 0;
    }
    reply_groups(resp, "safe_address", safe, &list);
    return 0;
}
