/* users.c: GET /api/users/:address, POST /api/users/email, GET /api/users/safe-addresses/:user_address. */
#include <string.h>

#include "tgx/api.h"

/* GET /api/users/:address (key, owner): UserData; 404 USER_NOT_FOUND. */
int tgx_api_user_get(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char addr[43];
    if (!tgx_api_param_address(req, resp, "address", "invalid user address", addr) ||
        !tgx_api_check_owner(req, resp, addr))
        return 0;
    struct tgx_store_err err;
    json_t *user;
    if (api->store->ops->user_get(api->store, addr, &user, &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "USER_NOT_FOUND", "User not found");
        return 0;
    }
    tgx_api_reply(resp, 200, user);
    return 0;
}

/* POST /api/users/email (key, owner) {"user_address","email_id"}: 200 {"message"}. */
int tgx_api_user_email(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    json_t *body;
    if (tgx_http_json_body(req, resp, &body) < 0)
        return 0;
    const char *address = json_string_value(json_object_get(body, "user_address"));
    const char *email = json_string_value(json_object_get(body, "email_id"));
    char addr[43];
    if (!json_is_object(body)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "Invalid request");
    } else if (address == NULL || address[0] == '\0' || email == NULL || email[0] == '\0') {
        tgx_api_error(resp, 400, "MISSING_FIELDS",
                      address == NULL || address[0] == '\0' ? "user_address" : "email_id",
                      "Missing user_address or email");
    } else if (!tgx_api_parse_address(address, addr)) {
        tgx_api_error(resp, 400, "INVALID_ADDRESS", "user_address", "invalid user_address");
    } else if (!tgx_api_is_email(email)) {
        tgx_api_error(resp, 400, "INVALID_EMAIL", "email_id", "invalid email_id");
    } else if (tgx_api_check_owner(req, resp, addr)) {
        struct tgx_store_err err;
        if (api->store->ops->user_set_email(api->store, addr, email, &err) < 0)
            tgx_api_lookup_error(resp, &err, "INVALID_EMAIL", "USER_NOT_FOUND", "User not found");
        else
            tgx_api_reply(resp, 200, json_pack("{s:s}", "message", "Email updated successfully"));
    }
    json_decref(body);
    return 0;
}

/* GET /api/users/safe-addresses/:user_address (key, owner): {"safe_addresses": [...] | null}. */
int tgx_api_user_safe_addresses(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char addr[43], cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_param_address(req, resp, "user_address", "invalid user address", addr) ||
        !tgx_api_check_owner(req, resp, addr) ||
        !tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->safe_addresses(api->store, addr, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, "INVALID_REQUEST", NULL, NULL);
        return 0;
    }
    json_t *body = json_object();
    /* the original answers null, not [], for a user without Safe wallets */
    json_object_set(body, "safe_addresses", json_array_size(list.items) > 0 ? list.items : json_null());
    tgx_api_next_cursor(resp, body, list.next);
    tgx_store_list_cleanup(&list);
    tgx_api_reply(resp, 200, body);
    return 0;
}
