/* keepers.c: the /api/keepers routes.  Writes the original left open (create, form, points,
 * task counter, chat id) need an admin key here: only the backend's own services made them. */
#include <string.h>

#include "tgx/api.h"

/* Read a keeper registration from BODY into F; answers 400 and returns false when malformed. */
static bool keeper_form(struct tgx_http_resp *resp, json_t *body, struct tgx_store_keeper_form *f,
                        char addr[43], char rewards[43])
{
    memset(f, 0, sizeof *f);
    f->on_imua = -1;
    if (!json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
        return false;
    }
    json_t *name = json_object_get(body, "keeper_name");
    json_t *email = json_object_get(body, "email_id");
    json_t *rw = json_object_get(body, "rewards_address");
    json_t *imua = json_object_get(body, "on_imua");
    if (!tgx_api_parse_address(json_string_value(json_object_get(body, "keeper_address")), addr)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "keeper_address", "invalid keeper_address");
        return false;
    }
    if (name != NULL && !json_is_null(name) && (!json_is_string(name) || json_string_length(name) > 100)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "keeper_name",
                      "keeper_name must be a string of at most 100 characters");
        return false;
    }
    if (email != NULL && !json_is_null(email) &&
        (!json_is_string(email) ||
         (json_string_length(email) > 0 && !tgx_api_is_email(json_string_value(email))))) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "email_id", "invalid email_id");
        return false;
    }
    if (rw != NULL && !json_is_null(rw) &&
        (!json_is_string(rw) ||
         (json_string_length(rw) > 0 && !tgx_api_parse_address(json_string_value(rw), rewards)))) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "rewards_address", "invalid rewards_address");
        return false;
    }
    if (imua != NULL && !json_is_null(imua) && !json_is_boolean(imua)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "on_imua", "on_imua must be true or false");
        return false;
    }
    f->keeper_address = addr;
    f->keeper_name = json_string_value(name);
    f->email_id = json_string_length(email) > 0 ? json_string_value(email) : NULL;
    f->rewards_address = json_string_length(rw) > 0 ? rewards : NULL;
    f->on_imua = json_is_boolean(imua) ? json_is_true(imua) : -1;
    return true;
}

/* Register the keeper of the request body: created only (UPSERT false), or created or updated. */
static int register_keeper(struct tgx_http_req *req, struct tgx_http_resp *resp, struct tgx_api *api,
                           bool upsert)
{
    json_t *body;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    struct tgx_store_keeper_form f;
    char addr[43], rewards[43];
    if (keeper_form(resp, body, &f, addr, rewards)) {
        f.upsert = upsert;
        struct tgx_store_err err;
        int64_t id;
        bool existed;
        if (api->store->ops->keeper_register(api->store, &f, &id, &existed, &err) < 0)
            tgx_api_store_error(resp, &err, "INVALID_REQUEST", NULL, NULL);
        else if (upsert)
            tgx_api_reply(resp, 201,
                          json_pack("{s:I, s:s}", "keeper_id", (json_int_t)id, "status",
                                    existed ? "existing" : "created"));
        else if (existed)
            tgx_api_reply(resp, 200,
                          json_pack("{s:s, s:I, s:s}", "message", "Keeper already exists", "keeper_id",
                                    (json_int_t)id, "status", "existing"));
        else
            tgx_api_reply(resp, 201, json_pack("{s:I}", "keeper_id", (json_int_t)id));
    }
    json_decref(body);
    return 0;
}

/* POST /api/keepers (admin) {"keeper_name","keeper_address","email_id"}: 201 {"keeper_id"}, or 200
 * {"message":"Keeper already exists","keeper_id","status":"existing"}. */
int tgx_api_keeper_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    return register_keeper(req, resp, ctx, false);
}

/* POST /api/keepers/form (admin) {"keeper_address","rewards_address","keeper_name","email_id",
 * "on_imua"}: upsert; 201 {"keeper_id","status":"created"|"existing"}. */
int tgx_api_keeper_form(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    return register_keeper(req, resp, ctx, true);
}

/* GET /api/keepers/performers (key): [{"keeper_id","keeper_address"}] | null. */
int tgx_api_keepers_performers(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->keepers_performers(api->store, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    tgx_api_reply_list(resp, &list, true);
    return 0;
}

/* The keeper id of path parameter "id"; answers 400 INVALID_KEEPER_ID otherwise. */
static bool path_keeper(struct tgx_http_req *req, struct tgx_http_resp *resp, int64_t *id)
{
    if (tgx_api_parse_id(tgx_http_param(req, "id"), id))
        return true;
    tgx_api_error(resp, 400, "INVALID_KEEPER_ID", "id", "Invalid keeper ID");
    return false;
}

static void keeper_error(struct tgx_http_resp *resp, const struct tgx_store_err *err)
{
    if (err->status == TGX_STORE_NOT_FOUND && strcmp(err->field, "task_id") == 0)
        tgx_api_error(resp, 404, "TASK_NOT_FOUND", "task_id", "Task not found");
    else
        tgx_api_lookup_error(resp, err, NULL, "KEEPER_NOT_FOUND", "Keeper not found");
}

/* GET /api/keepers/:id (key): KeeperData; chat_id and email_id only for admin keys. */
int tgx_api_keeper_get(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    int64_t id;
    if (!path_keeper(req, resp, &id))
        return 0;
    struct tgx_store_err err;
    json_t *k;
    if (api->store->ops->keeper_get(api->store, id, &k, &err) < 0) {
        keeper_error(resp, &err);
        return 0;
    }
    if (tgx_api_owner(req) != NULL) { /* contact data is for the operators */
        json_object_set_new(k, "chat_id", json_integer(0));
        json_object_set_new(k, "email_id", json_string(""));
    }
    tgx_api_reply(resp, 200, k);
    return 0;
}

/* A store operation on keeper ID: its counter into *COUNT, or its record into *OUT (new). */
typedef int keeper_count_fn(struct tgx_store *st, int64_t id, int64_t *count, struct tgx_store_err *err);
typedef int keeper_record_fn(struct tgx_store *st, int64_t id, json_t **out, struct tgx_store_err *err);

/* Answer {"no_executed_tasks"} from FN on the keeper of the path. */
static int reply_task_count(struct tgx_http_req *req, struct tgx_http_resp *resp, struct tgx_api *api,
                            keeper_count_fn *fn)
{
    int64_t id, n;
    if (!path_keeper(req, resp, &id))
        return 0;
    struct tgx_store_err err;
    if (fn(api->store, id, &n, &err) < 0)
        keeper_error(resp, &err);
    else
        tgx_api_reply(resp, 200, json_pack("{s:I}", "no_executed_tasks", (json_int_t)n));
    return 0;
}

/* Answer the record FN gives for the keeper of the path. */
static int reply_record(struct tgx_http_req *req, struct tgx_http_resp *resp, struct tgx_api *api,
                        keeper_record_fn *fn)
{
    int64_t id;
    if (!path_keeper(req, resp, &id))
        return 0;
    struct tgx_store_err err;
    json_t *out;
    if (fn(api->store, id, &out, &err) < 0)
        keeper_error(resp, &err);
    else
        tgx_api_reply(resp, 200, out);
    return 0;
}

/* POST /api/keepers/:id/increment-tasks (admin): {"no_executed_tasks"}. */
int tgx_api_keeper_increment_tasks(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    return reply_task_count(req, resp, api, api->store->ops->keeper_increment_tasks);
}

/* GET /api/keepers/:id/task-count (key): {"no_executed_tasks"}. */
int tgx_api_keeper_task_count(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    return reply_task_count(req, resp, api, api->store->ops->keeper_task_count);
}

/* POST /api/keepers/:id/add-points (admin) {"task_id"}: {"task_id","task_fee","keeper_points"}. */
int tgx_api_keeper_add_points(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    int64_t id;
    if (!path_keeper(req, resp, &id))
        return 0;
    json_t *body;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    json_t *t = json_object_get(body, "task_id");
    if (!json_is_integer(t) || json_integer_value(t) <= 0) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "task_id", "task_id must be a positive integer");
    } else {
        struct tgx_store_err err;
        json_t *out;
        if (api->store->ops->keeper_add_points(api->store, id, json_integer_value(t), &out, &err) < 0)
            keeper_error(resp, &err);
        else
            tgx_api_reply(resp, 200, out);
    }
    json_decref(body);
    return 0;
}

/* GET /api/keepers/:id/points (key): {"keeper_points"}. */
int tgx_api_keeper_points(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    return reply_record(req, resp, api, api->store->ops->keeper_points);
}

/* POST /api/keepers/update-chat-id (admin) {"keeper_address","chat_id"}: the keeper WITH THAT
 * ADDRESS gets the chat id (the original wrote it into the keeper whose id was the chat id). */
int tgx_api_keeper_chat_id(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    json_t *body;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    char addr[43];
    json_t *chat = json_object_get(body, "chat_id");
    if (!tgx_api_parse_address(json_string_value(json_object_get(body, "keeper_address")), addr)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "keeper_address", "invalid keeper_address");
    } else if (!json_is_integer(chat)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "chat_id", "chat_id must be an integer");
    } else {
        struct tgx_store_err err;
        if (api->store->ops->keeper_set_chat_id(api->store, addr, json_integer_value(chat), &err) < 0)
            keeper_error(resp, &err);
        else
            tgx_api_reply(resp, 200, json_pack("{s:s}", "message", "Chat ID updated successfully"));
    }
    json_decref(body);
    return 0;
}

/* GET /api/keepers/com-info/:id (admin): {"chat_id","keeper_name","email_id"}. */
int tgx_api_keeper_com_info(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    return reply_record(req, resp, api, api->store->ops->keeper_com_info);
}
