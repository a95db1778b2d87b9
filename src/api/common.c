/* common.c: what the REST handlers share: replies, errors, ownership, ids, pages and cursors. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/api.h"
#include "tgx/jsonnum.h"
#include "tgx/log.h"

#define JSON_TYPE "application/json; charset=utf-8"

void tgx_api_reply(struct tgx_http_resp *resp, int status, json_t *body)
{
    char *text = tgx_json_dump(body != NULL ? body : json_null());
    json_decref(body);
    if (text == NULL) {
        tgx_http_resp_error(resp, 500, "INTERNAL", "internal server error");
        return;
    }
    tgx_http_resp_text(resp, status, JSON_TYPE, text);
    free(text);
}

void tgx_api_error(struct tgx_http_resp *resp, int status, const char *code, const char *field,
                   const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s, s:s}", "error", msg, "code", code);
    if (body != NULL && field != NULL && field[0] != '\0')
        json_object_set_new(body, "field", json_string(field));
    if (body == NULL) {
        tgx_http_resp_error(resp, status, code, "%s", msg);
        return;
    }
    tgx_api_reply(resp, status, body);
}

void tgx_api_store_error(struct tgx_http_resp *resp, const struct tgx_store_err *err, const char *bad_code,
                         const char *not_found_code, const char *conflict_code)
{
    int status;
    const char *code;
    switch (err->status) {
    case TGX_STORE_BAD_INPUT:
        status = 400;
        code = bad_code != NULL ? bad_code : "INVALID_REQUEST";
        break;
    case TGX_STORE_FORBIDDEN:
        status = 403;
        code = "FORBIDDEN";
        break;
    case TGX_STORE_NOT_FOUND:
        status = 404;
        code = not_found_code != NULL ? not_found_code : "NOT_FOUND";
        break;
    case TGX_STORE_CONFLICT:
        status = 409;
        code = conflict_code != NULL ? conflict_code : "CONFLICT";
        break;
    case TGX_STORE_BUSY:
        status = 503;
        code = "SERVICE_BUSY";
        break;
    case TGX_STORE_UNAVAILABLE:
        status = 503;
        code = "DATABASE_UNAVAILABLE";
        break;
    default:
        status = 500;
        code = "INTERNAL";
        break;
    }
    const char *msg = err->message[0] != '\0' ? err->message : "internal server error";
    json_t *body = json_pack("{s:s, s:s}", "error", msg, "code", code);
    if (body == NULL) {
        tgx_http_resp_error(resp, status, code, "%s", msg);
        return;
    }
    if (err->field[0] != '\0' && status < 500)
        json_object_set_new(body, "field", json_string(err->field));
    if (err->detail[0] != '\0' && status < 500)
        json_object_set_new(body, "detail", json_string(err->detail));
    if (err->hint[0] != '\0' && status < 500)
        json_object_set_new(body, "hint", json_string(err->hint));
    if (status == 503)
        tgx_http_resp_header(resp, "Retry-After", "1");
    tgx_api_reply(resp, status, body);
}

void tgx_api_lookup_error(struct tgx_http_resp *resp, const struct tgx_store_err *err, const char *bad_code,
                          const char *not_found_code, const char *not_found_message)
{
    if (err->status == TGX_STORE_NOT_FOUND)
        tgx_api_error(resp, 404, not_found_code, NULL, "%s", not_found_message);
    else
        tgx_api_store_error(resp, err, bad_code, not_found_code, NULL);
}

void tgx_api_strip_private(json_t *j)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            tgx_api_strip_private(v);
        }
        return;
    }
    if (!json_is_object(j))
        return;
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(j, tmp, k, v)
    {
        if (k[0] == '_')
            json_object_del(j, k);
        else if (json_is_object(v) || json_is_array(v))
            tgx_api_strip_private(v);
    }
}

const char *tgx_api_owner(struct tgx_http_req *req)
{
    const struct tgx_http_auth *a = tgx_http_auth(req);
    if (a == NULL || a->is_admin)
        return NULL;
    return a->owner;
}

bool tgx_api_check_owner(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *address)
{
    const char *owner = tgx_api_owner(req);
    if (owner == NULL || strcmp(owner, address) == 0)
        return true;
    tgx_api_error(resp, 403, "FORBIDDEN", NULL, "forbidden: the API key of %s cannot access the data of %s",
                  owner, address);
    return false;
}

char *tgx_api_body_text(struct tgx_http_req *req, size_t *len)
{
    const char *raw = tgx_http_body(req, len);
    char *copy = malloc(*len + 1);
    if (copy != NULL) {
        memcpy(copy, raw, *len);
        copy[*len] = '\0';
    }
    return copy;
}

bool tgx_api_param_address(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *name,
                           const char *message, char out[43])
{
    if (tgx_api_parse_address(tgx_http_param(req, name), out))
        return true;
    tgx_api_error(resp, 400, "INVALID_ADDRESS", name, "%s", message);
    return false;
}

bool tgx_api_param_job_id(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *name,
                          const char *message, char out[80])
{
    if (tgx_api_parse_job_id(tgx_http_param(req, name), out))
        return true;
    tgx_api_error(resp, 400, "INVALID_JOB_ID", name, "%s", message);
    return false;
}

bool tgx_api_is_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || strlen(s) > 254)
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

bool tgx_api_parse_address(const char *s, char out[43])
{
    if (s == NULL || strlen(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    out[0] = '0';
    out[1] = 'x';
    for (int i = 2; i < 42; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[42] = '\0';
    return true;
}

/* 2^256 in decimal: the bound of a uint256. */
static const char UINT256_LIMIT[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129639936";

bool tgx_api_parse_job_id(const char *s, char out[80])
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > 78)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    size_t lim = sizeof UINT256_LIMIT - 1;
    if (n > lim || (n == lim && strcmp(s, UINT256_LIMIT) >= 0))
        return false;
    memcpy(out, s, n + 1);
    return true;
}

/* N digits at S. */
static bool digits_at(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool tgx_api_is_rfc3339(const char *s)
{
    if (s == NULL || strlen(s) < 20 || !digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) ||
        s[7] != '-' || !digits_at(s + 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits_at(s + 11, 2) || s[13] != ':' || !digits_at(s + 14, 2) || s[16] != ':' ||
        !digits_at(s + 17, 2))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!digits_at(p, 1))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    return (*p == '+' || *p == '-') && digits_at(p + 1, 2) && p[3] == ':' && digits_at(p + 4, 2) &&
           p[6] == '\0';
}

bool tgx_api_parse_id(const char *s, int64_t *out)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void tgx_api_b64url_encode(const void *in, size_t len, char *out)
{
    const unsigned char *p = in;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = B64URL[(v >> 18) & 63];
        out[o++] = B64URL[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = B64URL[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = B64URL[v & 63];
    }
    out[o] = '\0';
}

int tgx_api_b64url_decode(const char *in, char *out, size_t outcap)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = in; *p != '\0'; p++) {
        const char *d = strchr(B64URL, *p);
        if (d == NULL || *p == '\0')
            return -1;
        acc = (acc << 6) | (unsigned)(d - B64URL);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= outcap)
                return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6) /* a lone trailing digit cannot end a base64 text */
        return -1;
    out[o] = '\0';
    return 0;
}

bool tgx_api_page(struct tgx_http_req *req, struct tgx_http_resp *resp, int default_limit,
                  struct tgx_store_page *page, char *buf, size_t buflen)
{
    page->limit = default_limit;
    page->after = NULL;
    const char *limit = tgx_http_query(req, "limit");
    if (limit != NULL) {
        int64_t v;
        if (!tgx_api_parse_id(limit, &v) || v > TGX_STORE_MAX_LIMIT) {
            tgx_api_error(resp, 400, "INVALID_LIMIT", "limit",
                          "invalid limit \"%.40s\": it must be between 1 and %d", limit, TGX_STORE_MAX_LIMIT);
            return false;
        }
        page->limit = (int)v;
    }
    const char *cursor = tgx_http_query(req, "cursor");
    if (cursor != NULL) {
        bool ok = strlen(cursor) <= 4 * (buflen / 3) && tgx_api_b64url_decode(cursor, buf, buflen) == 0;
        for (const char *p = buf; ok && *p != '\0'; p++)
            ok = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
        if (!ok || buf[0] == '\0') {
            tgx_api_error(resp, 400, "INVALID_CURSOR", "cursor", "invalid cursor");
            return false;
        }
        page->after = buf;
    }
    return true;
}

void tgx_api_next_cursor(struct tgx_http_resp *resp, json_t *obj, const char *next)
{
    if (next == NULL)
        return;
    size_t n = strlen(next);
    char *enc = malloc(4 * (n / 3 + 1) + 1);
    if (enc == NULL)
        return;
    tgx_api_b64url_encode(next, n, enc);
    if (obj != NULL)
        json_object_set_new(obj, "next_cursor", json_string(enc));
    else
        tgx_http_resp_header(resp, "X-Next-Cursor", enc);
    free(enc);
}

void tgx_api_reply_list(struct tgx_http_resp *resp, struct tgx_store_list *list, bool null_if_empty)
{
    tgx_api_next_cursor(resp, NULL, list->next);
    json_t *body =
        null_if_empty && json_array_size(list->items) == 0 ? json_null() : json_incref(list->items);
    tgx_api_reply(resp, 200, body);
    tgx_store_list_cleanup(list);
}

/* The original's explorers by created_chain_id (internal/dbserver/handlers). */
static const struct {
    const char *chain_id;
    const char *host;
} EXPLORERS[] = {
    {"11155111", "eth-sepolia.blockscout.com"},
    {"11155420", "testnet-explorer.optimism.io"},
    {"84532", "base-sepolia.blockscout.com"},
    {"421614", "arbitrum-sepolia.blockscout.com"},
    {"1", "eth.blockscout.com"},
    {"10", "explorer.optimism.io"},
    {"8453", "base.blockscout.com"},
    {"42161", "arbitrum.blockscout.com"},
};

void tgx_api_tx_url(const char *chain_id, const char *hash, char *out, size_t outlen)
{
    if (hash == NULL || hash[0] == '\0') {
        snprintf(out, outlen, "%s", "");
        return;
    }
    const char *host = "sepolia.etherscan.io";
    for (size_t i = 0; chain_id != NULL && i < sizeof EXPLORERS / sizeof EXPLORERS[0]; i++)
        if (strcmp(chain_id, EXPLORERS[i].chain_id) == 0)
            host = EXPLORERS[i].host;
    snprintf(out, outlen, "https://%s/tx/%s", host, hash);
}

static void finish_task(json_t *t)
{
    if (!json_is_object(t))
        return;
    const char *hash = json_string_value(json_object_get(t, "execution_tx_hash"));
    const char *chain = json_string_value(json_object_get(t, "_chain_id"));
    if (json_object_get(t, "tasks") != NULL) { /* a task group */
        tgx_api_finish_tasks(json_object_get(t, "tasks"));
        return;
    }
    char url[256];
    tgx_api_tx_url(chain, hash, url, sizeof url);
    json_object_set_new(t, "tx_url", json_string(url));
    tgx_api_strip_private(t);
}

void tgx_api_finish_tasks(json_t *items)
{
    if (json_is_array(items)) {
        size_t i;
        json_t *v;
        json_array_foreach(items, i, v)
        {
            finish_task(v);
        }
    } else {
        finish_task(items);
    }
}
