/* admin_keys.c: the /api/admin/api-keys routes (admin keys only) and key generation. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "tgx/api.h"
#include "tgx/sha256.h"

void tgx_api_key_generate(char key[TGX_API_KEY_LEN + 1])
{
    uuid_t u;
    char s[37];
    uuid_generate_random(u);
    uuid_unparse_lower(u, s);
    snprintf(key, TGX_API_KEY_LEN + 1, "TGRX-%s", s);
}

void tgx_api_key_mask(const char *key, char *hint)
{
    size_t n = strlen(key);
    if (n <= 8) {
        memset(hint, '*', n);
        hint[n] = '\0';
        return;
    }
    memcpy(hint, key, 4);
    memset(hint + 4, '*', n - 8);
    memcpy(hint + n - 4, key + n - 4, 4);
    hint[n] = '\0';
}

/* OWNER normalised: an address (any case) in lower case, anything else as given, into OUT. */
static void normalize_owner(const char *owner, char *out, size_t outlen)
{
    char addr[43];
    if (tgx_api_parse_address(owner, addr))
        snprintf(out, outlen, "%s", addr);
    else
        snprintf(out, outlen, "%s", owner);
}

/* {"key": KEY, ...REC without its private keys} as a new object; REC is stolen. */
static json_t *key_record(const char *key, json_t *rec)
{
    json_t *out =
        json_pack("{s:s}", "key", key != NULL ? key : json_string_value(json_object_get(rec, "_hint")));
    if (out != NULL) {
        tgx_api_strip_private(rec);
        json_object_update(out, rec);
    }
    json_decref(rec);
    return out;
}

int tgx_api_key_create(struct tgx_store *st, const char *owner, bool is_admin, int rate_limit, json_t **out,
                       char key_out[TGX_API_KEY_LEN + 1], struct tgx_store_err *err)
{
    char key[TGX_API_KEY_LEN + 1], hint[TGX_API_KEY_LEN + 1], own[128];
    *out = NULL;
    tgx_api_key_generate(key);
    tgx_api_key_mask(key, hint);
    normalize_owner(owner, own, sizeof own);
    struct tgx_store_new_key nk = {
        .hint = hint, .owner = own, .is_admin = is_admin, .rate_limit = rate_limit};
    if (tgx_sha256(key, strlen(key), nk.hash) < 0) {
        tgx_store_err_set(err, TGX_STORE_FAILED, NULL, "internal server error");
        return -TGX_ERR_CRYPTO;
    }
    json_t *rec;
    int rc = st->ops->key_create(st, &nk, &rec, err);
    if (rc < 0)
        return rc;
    *out = key_record(key, rec);
    if (*out == NULL) {
        tgx_store_err_set(err, TGX_STORE_FAILED, NULL, "internal server error");
        return -TGX_ERR_NOMEM;
    }
    if (key_out != NULL)
        memcpy(key_out, key, sizeof key);
    return 0;
}

/* POST /api/admin/api-keys (admin) {"owner": 3..50 characters, "rate_limit": 1..1000, "is_admin"?}. */
int tgx_api_keys_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    json_t *body;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    json_t *owner = json_object_get(body, "owner");
    json_t *rate = json_object_get(body, "rate_limit");
    json_t *admin = json_object_get(body, "is_admin");
    if (!json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
    } else if (!json_is_string(owner) || json_string_length(owner) < 3 || json_string_length(owner) > 50) {
        tgx_api_error(resp, 400, "VALIDATION_FAILED", "owner",
                      "owner must be a string of 3 to 50 characters");
    } else if (!json_is_integer(rate) || json_integer_value(rate) < 1 || json_integer_value(rate) > 1000) {
        tgx_api_error(resp, 400, "VALIDATION_FAILED", "rate_limit",
                      "rate_limit must be an integer from 1 to 1000");
    } else if (admin != NULL && !json_is_null(admin) && !json_is_boolean(admin)) {
        tgx_api_error(resp, 400, "VALIDATION_FAILED", "is_admin", "is_admin must be true or false");
    } else {
        struct tgx_store_err err;
        json_t *out;
        if (tgx_api_key_create(api->store, json_string_value(owner), json_is_true(admin),
                               (int)json_integer_value(rate), &out, NULL, &err) < 0)
            tgx_api_store_error(resp, &err, "VALIDATION_FAILED", NULL, NULL);
        else
            tgx_api_reply(resp, 201, out);
    }
    json_decref(body);
    return 0;
}

/* A boolean or integer field under its camelCase name (the original's) or its snake_case one. */
static json_t *field2(json_t *body, const char *camel, const char *snake)
{
    json_t *v = json_object_get(body, camel);
    return v != NULL ? v : json_object_get(body, snake);
}

/* PUT /api/admin/api-keys/:key (admin) {"key"?, "isActive"?, "rateLimit"?}: the path key's record. */
int tgx_api_keys_update(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    const char *key = tgx_http_param(req, "key");
    json_t *body;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    json_t *active = field2(body, "isActive", "is_active");
    json_t *rate = field2(body, "rateLimit", "rate_limit");
    json_t *bkey = json_object_get(body, "key");
    struct tgx_store_key_change ch = {-1, 0};
    uint8_t hash[32];
    if (!json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
    } else if (bkey != NULL && !json_is_null(bkey) && json_string_length(bkey) > 0 &&
               (!json_is_string(bkey) || strcmp(json_string_value(bkey), key) != 0)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "key", "key of the body is not the key of the path");
    } else if (active != NULL && !json_is_null(active) && !json_is_boolean(active)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "isActive", "isActive must be true or false");
    } else if (rate != NULL && !json_is_null(rate) &&
               (!json_is_integer(rate) || json_integer_value(rate) < 1 ||
                json_integer_value(rate) > 1000000)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "rateLimit", "rateLimit must be a positive integer");
    } else if (tgx_sha256(key, strlen(key), hash) < 0) {
        json_decref(body);
        return -TGX_ERR_CRYPTO;
    } else {
        ch.is_active = json_is_boolean(active) ? json_is_true(active) : -1;
        ch.rate_limit = json_is_integer(rate) ? (int)json_integer_value(rate) : 0;
        struct tgx_store_err err;
        json_t *rec;
        if (api->store->ops->key_update(api->store, hash, &ch, &rec, &err) < 0) {
            if (err.status == TGX_STORE_NOT_FOUND)
                tgx_api_error(resp, 404, "API_KEY_NOT_FOUND", NULL, "API key not found");
            else
                tgx_api_store_error(resp, &err, "INVALID_REQUEST", "API_KEY_NOT_FOUND", NULL);
        } else {
            tgx_api_reply(resp, 200, key_record(key, rec));
        }
    }
    json_decref(body);
    return 0;
}

/* DELETE /api/admin/api-keys/:key[?owner=] (admin): 204; a masked key needs ?owner=. */
int tgx_api_keys_delete(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    const char *key = tgx_http_param(req, "key");
    struct tgx_store_err err;
    int rc;
    if (strchr(key, '*') != NULL) {
        const char *owner = tgx_http_query(req, "owner");
        if (owner == NULL || owner[0] == '\0') {
            tgx_api_error(resp, 400, "OWNER_REQUIRED", "owner",
                          "Owner is required when deleting by masked key");
            return 0;
        }
        char own[128];
        normalize_owner(owner, own, sizeof own);
        int n;
        rc = api->store->ops->key_delete_masked(api->store, key, own, &n, &err);
    } else {
        uint8_t hash[32];
        if (tgx_sha256(key, strlen(key), hash) < 0)
            return -TGX_ERR_CRYPTO;
        rc = api->store->ops->key_delete(api->store, hash, &err);
    }
    if (rc < 0) {
        if (err.status == TGX_STORE_NOT_FOUND)
            tgx_api_error(resp, 404, "API_KEY_NOT_FOUND", NULL, "API key not found");
        else
            tgx_api_store_error(resp, &err, NULL, "API_KEY_NOT_FOUND", NULL);
        return 0;
    }
    tgx_http_resp_text(resp, 204, "text/plain; charset=utf-8", "");
    return 0;
}

/* GET /api/admin/api-keys/:owner (admin): the owner's keys, masked; 404 when none. */
int tgx_api_keys_list(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char own[128], cursor[256];
    normalize_owner(tgx_http_param(req, "owner"), own, sizeof own);
    struct tgx_store_page page;
    if (!tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->keys_by_owner(api->store, own, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    if (json_array_size(list.items) == 0 && page.after == NULL) {
        tgx_store_list_cleanup(&list);
        tgx_api_error(resp, 404, "API_KEYS_NOT_FOUND", NULL, "No API keys found for this owner");
        return 0;
    }
    json_t *out = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(list.items, i, rec)
    {
        json_t *masked = key_record(NULL, json_incref(rec));
        json_object_del(masked, "is_keeper");
        json_array_append_new(out, masked);
    }
    tgx_api_next_cursor(resp, NULL, list.next);
    tgx_store_list_cleanup(&list);
    tgx_api_reply(resp, 200, out);
    return 0;
}
