/* leaderboard.c: the /api/leaderboard routes, ranked by points (highest first). */
#include <string.h>
#include <strings.h>

#include "tgx/api.h"

/* GET /api/leaderboard/keepers (key): registered, whitelisted keepers; the Host decides the set as
 * in the original: app.triggerx.network -> not on Imua, imua.triggerx.network -> on Imua. */
int tgx_api_board_keepers(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char cursor[256];
    const char *host = tgx_http_header(req, "Host");
    int on_imua = -1;
    if (host != NULL && strncasecmp(host, "app.triggerx.network", 20) == 0)
        on_imua = 0;
    else if (host != NULL && strncasecmp(host, "imua.triggerx.network", 21) == 0)
        on_imua = 1;
    struct tgx_store_page page;
    if (!tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->keepers_board(api->store, on_imua, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    tgx_api_reply_list(resp, &list, false);
    return 0;
}

/* GET /api/leaderboard/users (key). */
int tgx_api_board_users(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    char cursor[256];
    struct tgx_store_page page;
    if (!tgx_api_page(req, resp, TGX_STORE_MAX_LIMIT, &page, cursor, sizeof cursor))
        return 0;
    struct tgx_store_list list;
    struct tgx_store_err err;
    if (api->store->ops->users_board(api->store, &page, &list, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return 0;
    }
    tgx_api_reply_list(resp, &list, false);
    return 0;
}

/* GET /api/leaderboard/users/search?user_address= (key). */
int tgx_api_board_user_search(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    const char *a = tgx_http_query(req, "user_address");
    char addr[43];
    if (a == NULL || a[0] == '\0') {
        tgx_api_error(resp, 400, "MISSING_ADDRESS", "user_address", "user_address is required");
        return 0;
    }
    if (!tgx_api_parse_address(a, addr)) {
        tgx_api_error(resp, 400, "INVALID_ADDRESS", "user_address", "invalid user_address");
        return 0;
    }
    struct tgx_store_err err;
    json_t *out;
    if (api->store->ops->user_board_entry(api->store, addr, &out, &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "USER_NOT_FOUND", "User not found");
        return 0;
    }
    tgx_api_reply(resp, 200, out);
    return 0;
}

/* GET /api/leaderboard/keepers/search?keeper_address=|keeper_name= (key). */
int tgx_api_board_keeper_search(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_api *api = ctx;
    const char *a = tgx_http_query(req, "keeper_address");
    const char *name = tgx_http_query(req, "keeper_name");
    char addr[43];
    if ((a == NULL || a[0] == '\0') && (name == NULL || name[0] == '\0')) {
        tgx_api_error(resp, 400, "MISSING_IDENTIFIER", NULL, "keeper_address or keeper_name is required");
        return 0;
    }
    if (a != NULL && a[0] != '\0' && !tgx_api_parse_address(a, addr)) {
        tgx_api_error(resp, 400, "INVALID_ADDRESS", "keeper_address", "invalid keeper_address");
        return 0;
    }
    struct tgx_store_err err;
    json_t *out;
    if (api->store->ops->keeper_board_entry(api->store, a != NULL && a[0] != '\0' ? addr : NULL, name, &out,
                                            &err) < 0) {
        tgx_api_lookup_error(resp, &err, NULL, "KEEPER_NOT_FOUND", "Keeper not found");
        return 0;
    }
    tgx_api_reply(resp, 200, out);
    return 0;
}
