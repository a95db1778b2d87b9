/* feed.c: the WebSocket task feed's questions to the store: may a key join a job/task room, and
 * the JOB_TASKS_SNAPSHOT sent after a subscription to job:<id>. */
#include <string.h>

#include "tgx/api.h"

/* The owner filter of AUTH: NULL for an admin key. */
static const char *owner_of(const struct tgx_http_auth *auth)
{
    return auth == NULL || auth->is_admin ? NULL : auth->owner;
}

int tgx_api_ws_authorize(void *ctx, const struct tgx_http_auth *auth, const char *kind, const char *id)
{
    struct tgx_api *api = ctx;
    struct tgx_store_err err;
    json_t *rec = NULL;
    int rc;
    if (strcmp(kind, "job") == 0) {
        char job[80];
        if (!tgx_api_parse_job_id(id, job))
            return -TGX_ERR_NOTFOUND;
        rc = api->store->ops->job_get(api->store, job, &rec, &err);
    } else if (strcmp(kind, "task") == 0) {
        int64_t task;
        if (!tgx_api_parse_id(id, &task))
            return -TGX_ERR_NOTFOUND;
        rc = api->store->ops->task_get(api->store, task, &rec, &err);
    } else {
        return -TGX_ERR_NOTFOUND;
    }
    if (rc < 0)
        return err.status == TGX_STORE_NOT_FOUND ? -TGX_ERR_NOTFOUND : rc;
    const char *owner = owner_of(auth);
    bool ok = owner == NULL || strcmp(owner, json_string_value(json_object_get(rec, "_owner"))) == 0;
    json_decref(rec);
    return ok ? 0 : -TGX_ERR_NOTFOUND;
}

int tgx_api_ws_snapshot(void *ctx, const struct tgx_http_auth *auth, const char *job_id, json_t **out)
{
    struct tgx_api *api = ctx;
    char job[80];
    *out = NULL;
    if (!tgx_api_parse_job_id(job_id, job))
        return -TGX_ERR_INVAL;
    struct tgx_store_page page = {TGX_STORE_MAX_LIMIT, NULL};
    struct tgx_store_list list;
    struct tgx_store_err err;
    int rc = api->store->ops->tasks_by_job(api->store, job, owner_of(auth), &page, &list, &err);
    if (rc < 0)
        return rc;
    tgx_api_finish_tasks(list.items);
    *out = json_pack("{s:s, s:O}", "job_id", job, "tasks", list.items);
    tgx_store_list_cleanup(&list);
    return *out != NULL ? 0 : -TGX_ERR_NOMEM;
}
