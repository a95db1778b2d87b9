/* api.h: the REST handlers (src/api/), the route table, and the helpers they share. */
#ifndef TGX_API_H
#define TGX_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tgx/err.h"
#include "tgx/http.h"
#include "tgx/store.h"

struct tgx_fees;
struct tgx_keeper_gw;

/*
 * The context of every handler (CTX of the route table): what the handlers reach.  Built by the
 * api role (src/roles/api.c); every pointer is borrowed and outlives the server.
 */
struct tgx_api {
    struct tgx_store *store;         /* records */
    struct tgx_fees *fees;           /* GET /api/fees (engineer C's estimator); NULL: 503 */
    unsigned json_depth;             /* deepest nesting accepted in a request body (the decoders here) */
    int time_lookahead_s;            /* GET /api/jobs/time: default look-ahead in seconds */
    struct timespec started;         /* CLOCK_MONOTONIC at startup, for the health route's uptime */
    struct tgx_keeper_gw *keeper_gw; /* the keeper gateway (keeper_gw.h); NULL: its routes answer 503 */
};

/* The route table (grouped by resource) and its length; `tgxd routes` prints it. */
extern const struct tgx_route tgx_api_routes[];
extern const size_t tgx_api_nroutes;
/* Print the table as "METHOD PATTERN" lines in string order (what `tgxd routes` writes; the
 * same order as `LC_ALL=C sort`); with VERBOSE also the access ("open", "key", "admin") and the
 * route name. */
void tgx_api_print_routes(FILE *out, bool verbose);

/* ---------------------------------------------------------------------------------------------
 * Handlers (one file per resource).  Each is a tgx_http_handler_fn; CTX is the struct tgx_api.
 * ------------------------------------------------------------------------------------------- */

/* src/api/health.c */
int tgx_api_health(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_not_implemented(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_fees_route(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* src/api/users.c */
int tgx_api_user_get(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_user_email(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_user_safe_addresses(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* src/api/jobs.c */
int tgx_api_jobs_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_jobs_by_apikey(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_jobs_by_user(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_jobs_by_user_chain(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_job_by_user_id(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_jobs_by_safe(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_job_task_fees(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_jobs_time(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_job_update(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_job_status(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_job_last_executed(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_job_delete(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* src/api/tasks.c */
int tgx_api_task_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_task_get(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_task_execution(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_tasks_by_job(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_tasks_recent(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_tasks_by_user(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_tasks_by_apikey(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_tasks_by_safe(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* src/api/keepers.c */
int tgx_api_keeper_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_form(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keepers_performers(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_get(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_increment_tasks(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_task_count(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_add_points(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_points(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_chat_id(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_com_info(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* src/api/leaderboard.c */
int tgx_api_board_keepers(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_board_users(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_board_user_search(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_board_keeper_search(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* src/api/admin_keys.c */
int tgx_api_keys_create(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keys_update(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keys_delete(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keys_list(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);

/* src/api/feed.c: the WebSocket callbacks of struct tgx_http_config (ws_ctx: the struct tgx_api) */
int tgx_api_ws_authorize(void *ctx, const struct tgx_http_auth *auth, const char *kind, const char *id);
int tgx_api_ws_snapshot(void *ctx, const struct tgx_http_auth *auth, const char *job_id, json_t **out);

/* ---------------------------------------------------------------------------------------------
 * API keys (src/api/admin_keys.c; also used by `tgxd keys create`)
 * ------------------------------------------------------------------------------------------- */

#define TGX_API_KEY_LEN 41 /* "TGRX-" + 36 characters of a UUID */

/* A new random key "TGRX-<uuid v4>" into KEY (TGX_API_KEY_LEN + 1 bytes). */
void tgx_api_key_generate(char key[TGX_API_KEY_LEN + 1]);
/* The masked form of KEY shown in listings: its first 4 characters, one '*' per hidden character,
 * its last 4 ("TGRX*********...*abcd"), into HINT (strlen(KEY) + 1 bytes). */
void tgx_api_key_mask(const char *key, char *hint);
/* Store a new key for OWNER (an address is lower-cased): *OUT its ApiKey record with "key" set to
 * the key itself (shown this once); KEY_OUT (may be NULL) gets a copy of the key. */
int tgx_api_key_create(struct tgx_store *st, const char *owner, bool is_admin, int rate_limit,
                       json_t **out /* OUT: new */, char key_out[TGX_API_KEY_LEN + 1],
                       struct tgx_store_err *err) TGX_MUSTCHECK;

/* ---------------------------------------------------------------------------------------------
 * Helpers shared by the handlers (src/api/common.c)
 * ------------------------------------------------------------------------------------------- */

/* Answer STATUS with BODY (stolen; may be NULL: "null"), written by tgx_json_dump() so raw
 * numbers stay exact; private "_..." keys must have been removed. */
void tgx_api_reply(struct tgx_http_resp *resp, int status, json_t *body);
/* Answer STATUS with {"error": message, "code": CODE} and "field" when FIELD is not NULL. */
void tgx_api_error(struct tgx_http_resp *resp, int status, const char *code, const char *field,
                   const char *fmt, ...) TGX_PRINTF(5, 6);
/*
 * Answer a failed store operation: 400 BAD_CODE (with "field", "detail", "hint" when known),
 * 403 FORBIDDEN, 404 NOT_FOUND_CODE, 409 CONFLICT_CODE, 503 SERVICE_BUSY /
 * DATABASE_UNAVAILABLE, 500 INTERNAL.  A NULL code takes the generic one.
 */
void tgx_api_store_error(struct tgx_http_resp *resp, const struct tgx_store_err *err, const char *bad_code,
                         const char *not_found_code, const char *conflict_code);
/* The same for a failed lookup, except that NOT_FOUND answers 404 NOT_FOUND_CODE with the
 * contract's NOT_FOUND_MESSAGE (no field) instead of the store's message. */
void tgx_api_lookup_error(struct tgx_http_resp *resp, const struct tgx_store_err *err, const char *bad_code,
                          const char *not_found_code, const char *not_found_message);
/* Remove every "_..." key of J (an object, or an array of objects; nested records too). */
void tgx_api_strip_private(json_t *j);

/* The owner filter of the request's key: NULL for an admin key (sees all), else its owner. */
const char *tgx_api_owner(struct tgx_http_req *req);
/* May the request's key act for ADDRESS (lower case)?  If not, answers 403 FORBIDDEN and returns false. */
bool tgx_api_check_owner(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *address);

/* The request body as a NUL-terminated copy, its length in *LEN: new (free() it); NULL when out
 * of memory. */
char *tgx_api_body_text(struct tgx_http_req *req, size_t *len);
/* The address of path parameter NAME into OUT (lower case); else answers 400 INVALID_ADDRESS
 * (field NAME, MESSAGE) and returns false. */
bool tgx_api_param_address(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *name,
                           const char *message, char out[43]);
/* The job id of path parameter NAME into OUT; else answers 400 INVALID_JOB_ID (field NAME,
 * MESSAGE) and returns false. */
bool tgx_api_param_job_id(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *name,
                          const char *message, char out[80]);
/* A plausible e-mail address: one '@' with text on both sides, no white space or control, at
 * most 254 bytes. */
bool tgx_api_is_email(const char *s);

/* Parse an Ethereum address (any case) into OUT (lower case, 43 bytes); false when malformed. */
bool tgx_api_parse_address(const char *s, char out[43]);
/* A job id: 1..78 decimal digits with a value below 2^256; OUT gets it without leading zeros. */
bool tgx_api_parse_job_id(const char *s, char out[80]);
/* An RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) ('t', 'z' and a space for
 * 'T' accepted); PostgreSQL's special words ("now", "yesterday") are not. */
bool tgx_api_is_rfc3339(const char *s);
/* A positive decimal int64 ("12"); false otherwise. */
bool tgx_api_parse_id(const char *s, int64_t *out);

/*
 * The page of a list request from its query: limit (1..TGX_STORE_MAX_LIMIT, default DEFAULT_LIMIT)
 * and cursor (opaque base64url; decoded into BUF of BUFLEN bytes).  On a bad value answers 400
 * INVALID_LIMIT / INVALID_CURSOR and returns false.
 */
bool tgx_api_page(struct tgx_http_req *req, struct tgx_http_resp *resp, int default_limit,
                  struct tgx_store_page *page /* OUT */, char *buf, size_t buflen);
/* Hand the next page's cursor to the client: as "next_cursor" in OBJ when OBJ is not NULL, else as
 * the X-Next-Cursor response header.  Does nothing when NEXT is NULL. */
void tgx_api_next_cursor(struct tgx_http_resp *resp, json_t *obj, const char *next);
/* Answer 200 with the items of LIST (null instead of [] when NULL_IF_EMPTY), its next cursor as
 * the X-Next-Cursor header; cleans LIST up. */
void tgx_api_reply_list(struct tgx_http_resp *resp, struct tgx_store_list *list, bool null_if_empty);
/* base64url (no padding) of the LEN bytes at IN into OUT (4 * ceil(LEN / 3) + 1 bytes). */
void tgx_api_b64url_encode(const void *in, size_t len, char *out);
/* Decode base64url IN into OUT (OUTCAP bytes, NUL-terminated); -1 for a bad digit or too small OUT. */
int tgx_api_b64url_decode(const char *in, char *out, size_t outcap);

/* The block explorer URL of transaction HASH on chain CHAIN_ID (the original's table; Sepolia
 * Etherscan for other chains) into OUT; "" when HASH is empty. */
void tgx_api_tx_url(const char *chain_id, const char *hash, char *out, size_t outlen);
/* Add "tx_url" to each TaskItem of ITEMS (or to the record ITEMS itself) from its "_chain_id"
 * and "execution_tx_hash", then remove the private keys. */
void tgx_api_finish_tasks(json_t *items);

/* ---------------------------------------------------------------------------------------------
 * Request body decoding (src/api/decode.c): checked in C before the store sees a body, and fuzzed
 * (tests/fuzz/fuzz_job_body.c).
 * ------------------------------------------------------------------------------------------- */

/* Why a body was refused: the 400 answer. */
struct tgx_api_decode_err {
    const char *code; /* "INVALID_REQUEST", "EMPTY_REQUEST", "VALIDATION_FAILED" (static) */
    char field[64];   /* the field at fault, or "" */
    char message[256];
};

/* The nesting depth of JSON text (brackets outside strings); -1 when brackets do not balance. */
int tgx_api_json_depth(const char *text, size_t len);
/*
 * Parse LEN bytes of BODY as JSON no deeper than MAX_DEPTH, integers beyond 64 bits accepted
 * (decoded as reals: use the raw text for their value).  *OUT: a NEW reference.  -TGX_ERR_INVAL
 * with ERR filled for an empty body, bad JSON, duplicate keys or too deep nesting.
 */
int tgx_api_decode_json(const char *body, size_t len, unsigned max_depth, json_t **out /* OUT: new */,
                        struct tgx_api_decode_err *err) TGX_MUSTCHECK;
/*
 * Check the shape of a POST /api/jobs body (already parsed as JSON): a non-empty array (at most
 * 100) of objects whose known fields have the JSON types of the contract.  0, or -TGX_ERR_INVAL
 * with ERR naming the field.  The meaning (addresses, zones, cron, ABI ...) is checked in SQL.
 */
int tgx_api_check_jobs(const json_t *body, struct tgx_api_decode_err *err) TGX_MUSTCHECK;
/* The same for a PUT /api/jobs/update/:id body (an object). */
int tgx_api_check_job_update(const json_t *body, struct tgx_api_decode_err *err) TGX_MUSTCHECK;
/*
 * The raw text of member KEY of the top-level JSON object TEXT (LEN bytes, valid JSON): a number
 * literal as written, or a string's content when it has no escapes.  0 with OUT filled (OUTLEN
 * bytes); -TGX_ERR_NOTFOUND when absent or null; -TGX_ERR_INVAL for another type or too long.
 */
int tgx_api_json_member_raw(const char *text, size_t len, const char *key, char *out,
                            size_t outlen) TGX_MUSTCHECK;

#endif
