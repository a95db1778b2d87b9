/* keeper_gateway.c: the keeper gateway of the api role (include/tgx/keeper_gw.h).
 *
 * Routes (all TGX_ROUTE_OPEN: no API key; the /api/keeper/ ones are signed instead, checked by
 * gw_authenticate() below):
 *   POST /api/keeper/checkin                    {"version"?, "uptime"?}       tgx.keeper_checkin
 *   GET  /api/keeper/tasks?wait=S&limit=N       long-poll (S 0..30, default 25) tgx.keeper_assigned
 *   POST /api/keeper/tasks/:id/ack              {"lease_epoch"}               tgx.keeper_ack
 *   POST /api/keeper/tasks/:id/result           {"lease_epoch","result","signature"} tgx.keeper_result
 *   POST /api/keeper/tasks/:id/fail             {"lease_epoch","error","permanent"?} tgx.fail_task
 *   GET  /api/keeper/attestations?wait=S        open attestation requests     tgx.keeper_open_attestations
 *   POST /api/keeper/attestations/:task_id      {"lease_epoch","verdict","reason"?,"signature"}
 *                                                                              tgx.submit_attestation
 *   POST /health                                the original's KeeperHealthCheckIn (triggerx-api.md §4)
 *   POST /api/admin/keepers/:address/whitelist  (admin key) {"whitelisted"?, "reason"}
 * tgx.keeper_gw_whitelist
 *                                                                        (-> tgx.whitelist_keeper, audited)
 *
 * Signed requests (the headers and the canonical text are in keeper_gw.h):
 *   X-Keeper-Address: 0x...   X-Keeper-Timestamp: unix seconds   X-Keeper-Signature: 0x + 130 hex
 *   signed text = METHOD "\n" TARGET "\n" TIMESTAMP "\n" SHA256_HEX(BODY)
 * TARGET is the path with its query string exactly as sent.  Refusals, with nothing changed:
 *   401 {"error","code":"INVALID_SIGNATURE"}  a header missing or malformed, or the signature does not
 *                                             recover to X-Keeper-Address
 *   401 {"error","code":"STALE_TIMESTAMP"}    the timestamp is more than 60 s from the server's clock
 *   401 {"error","code":"REPLAYED_REQUEST"}   the same signature was accepted before (the replay cache
 *                                             tgx.keeper_request_sigs is shared by every tgxd)
 *   403 {"error","code":"KEEPER_NOT_REGISTERED"} / {"code":"KEEPER_NOT_WHITELISTED"}
 * The signature's r || s (v left out: 27/28 and 0/1 are one signature) is what the replay cache
 * keys, by SHA-256; one round trip (tgx.keeper_gw_auth) checks the keeper and records it.
 *
 * Results and verdicts carry their own "signature": EIP-191 personal_sign of
 *   tgx-result:TASK_ID:LEASE_EPOCH:DIGEST            DIGEST = "0x" + keccak256 hex of the result
 *   tgx-attest:TASK_ID:LEASE_EPOCH:agree|disagree:DIGEST  object as compact JSON with sorted keys;
 *                                                    for a verdict the performer's stored result
 *                                                    (GET /api/keeper/attestations gives it as
 *                                                    "result_digest")
 * refused with 401 INVALID_SIGNATURE when it does not recover to the keeper.
 *
 * Long-polls park the request in the HTTP layer (libmicrohttpd suspend/resume: no worker thread
 * waits) under the key "tasks:KEEPER_ID" / "attest:KEEPER_ID"; the waiter thread here LISTENs on
 * tgx_assigned and tgx_attest (payload: keeper_id) and wakes that key; the handler then runs again
 * and reads the database.  Other errors: 400 INVALID_REQUEST (bad body), 404 TASK_NOT_FOUND,
 * 409 STALE_LEASE (the fencing rule, tgx._raise_stale_lease), 503 when the database is away.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tgx/api.h"
#include "tgx/hex.h"
#include "tgx/keccak.h"
#include "tgx/keeper_gw.h"
#include "tgx/log.h"
#include "tgx/pool.h"
#include "tgx/secp.h"
#include "tgx/sha256.h"

/* =============================================================================================
 * Canonical texts
 * ============================================================================================= */

int tgx_keeper_gw_request_text(const char *method, const char *target, const char *timestamp,
                               const void *body, size_t len, struct tgx_buf *out)
{
    char hex[TGX_SHA256_HEX_LEN + 1];
    int rc = tgx_sha256_hex(len > 0 ? body : "", len, hex);
    if (rc < 0)
        return rc;
    tgx_buf_printf(out, "%s\n%s\n%s\n%s", method, target, timestamp, hex);
    return tgx_buf_oom(out) ? -TGX_ERR_NOMEM : 0;
}

int tgx_keeper_gw_json_digest(const json_t *v, char out[TGX_KEEPER_GW_DIGEST_LEN + 1])
{
    char *text = json_dumps(v != NULL ? v : json_null(), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        return -TGX_ERR_NOMEM;
    out[0] = '0';
    out[1] = 'x';
    tgx_keccak256_hex(text, strlen(text), out + 2);
    free(text);
    return 0;
}

int tgx_keeper_gw_result_text(int64_t task_id, int64_t lease_epoch, const json_t *result, char *out,
                              size_t outlen)
{
    char digest[TGX_KEEPER_GW_DIGEST_LEN + 1];
    int rc = tgx_keeper_gw_json_digest(result, digest);
    if (rc < 0)
        return rc;
    int n = snprintf(out, outlen, "tgx-result:%" PRId64 ":%" PRId64 ":%s", task_id, lease_epoch, digest);
    return n < 0 || (size_t)n >= outlen ? -TGX_ERR_INVAL : 0;
}

int tgx_keeper_gw_attest_text(int64_t task_id, int64_t lease_epoch, bool verdict, const char *result_digest,
                              char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "tgx-attest:%" PRId64 ":%" PRId64 ":%s:%s", task_id, lease_epoch,
                     verdict ? "agree" : "disagree", result_digest);
    return n < 0 || (size_t)n >= outlen ? -TGX_ERR_INVAL : 0;
}

/* ADDRESS ("0x" + 40 hex, any case) into 20 bytes; false when malformed. */
static bool gw_address_bytes(const char *address, uint8_t out[TGX_ADDRESS_LEN])
{
    size_t n;
    if (address == NULL || strlen(address) != TGX_ADDRESS_TEXT_LEN || address[0] != '0' ||
        (address[1] != 'x' && address[1] != 'X'))
        return false;
    return tgx_hex_decode(address + 2, 40, out, TGX_ADDRESS_LEN, &n) == 0 && n == TGX_ADDRESS_LEN;
}

bool tgx_keeper_gw_signed_by(const void *text, size_t len, const char *sig_hex, const char *address)
{
    uint8_t want[TGX_ADDRESS_LEN], got[TGX_ADDRESS_LEN];
    if (sig_hex == NULL || !gw_address_bytes(address, want))
        return false;
    if (tgx_secp_recover_message_address(text, len, sig_hex, got) < 0)
        return false;
    return memcmp(want, got, TGX_ADDRESS_LEN) == 0;
}

void tgx_keeper_gw_wake_key(const char *kind, int64_t keeper_id, char out[32])
{
    snprintf(out, 32, "%s:%" PRId64, kind, keeper_id);
}

/* The 65 bytes of a "0x" + 130 hex signature; false when malformed. */
static bool gw_sig_bytes(const char *sig_hex, uint8_t out[TGX_SECP_SIG_LEN])
{
    size_t n;
    if (sig_hex == NULL || strlen(sig_hex) != TGX_SECP_SIG_HEX_LEN || sig_hex[0] != '0' ||
        (sig_hex[1] != 'x' && sig_hex[1] != 'X'))
        return false;
    return tgx_hex_decode(sig_hex + 2, 130, out, TGX_SECP_SIG_LEN, &n) == 0 && n == TGX_SECP_SIG_LEN;
}

/* The signature as a bytea parameter ("\x" + hex) into OUT (2 + 130 + 1 bytes). */
static void gw_sig_bytea(const uint8_t sig[TGX_SECP_SIG_LEN], char out[TGX_SECP_SIG_HEX_LEN + 1])
{
    out[0] = '\\';
    out[1] = 'x';
    tgx_hex_encode(sig, TGX_SECP_SIG_LEN, out + 2);
}

/* =============================================================================================
 * The gateway object and its queries
 * ============================================================================================= */

struct tgx_keeper_gw {
    struct tgx_pool *pool;
    char *database_url;
    struct tgx_http_server *srv;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    int stop_pipe[2]; /* written by tgx_keeper_gw_stop: the waiter's poll returns */
};

/* Query ids 100.. of the api role's pool (src/store/pg.c uses the ids below 100). */
enum {
    QID_GW_AUTH = 100,
    QID_GW_CHECKIN,
    QID_GW_ASSIGNED,
    QID_GW_ACK,
    QID_GW_RESULT,
    QID_GW_FAIL,
    QID_GW_ATTESTATIONS,
    QID_GW_TASK_RESULT,
    QID_GW_ATTEST,
    QID_GW_HEALTH,
    QID_GW_WHITELIST,
};

/* columns: status text, keeper_id bigint */
static const struct tgx_pg_query Q_AUTH = {
    QID_GW_AUTH, "tgx_gw_auth", "SELECT o_status, o_keeper_id FROM tgx.keeper_gw_auth($1, $2::bytea)", 2};
/* no columns used */
static const struct tgx_pg_query Q_CHECKIN = {QID_GW_CHECKIN, "tgx_gw_checkin",
                                              "SELECT tgx.keeper_checkin($1::bigint, $2, $3::bigint)", 3};
/* column 0: jsonb array */
static const struct tgx_pg_query Q_ASSIGNED = {QID_GW_ASSIGNED, "tgx_gw_assigned",
                                               "SELECT tgx.keeper_assigned($1::bigint, $2::integer)", 2};
/* column 0: jsonb task */
static const struct tgx_pg_query Q_ACK = {QID_GW_ACK, "tgx_gw_ack",
                                          "SELECT tgx.keeper_ack($1::bigint, $2::bigint, $3::bigint)", 3};
/* column 0: new state */
static const struct tgx_pg_query Q_RESULT = {
    QID_GW_RESULT, "tgx_gw_result",
    "SELECT tgx.keeper_result($1::bigint, $2::bigint, $3::bigint, $4::jsonb, $5::bytea)", 5};
/* column 0: new state */
static const struct tgx_pg_query Q_FAIL = {
    QID_GW_FAIL, "tgx_gw_fail", "SELECT tgx.fail_task($1::bigint, $2::bigint, $3::bigint, $4, $5::boolean)",
    5};
/* column 0: jsonb array */
static const struct tgx_pg_query Q_ATTESTATIONS = {
    QID_GW_ATTESTATIONS, "tgx_gw_attestations",
    "SELECT tgx.keeper_open_attestations($1::bigint, $2::integer)", 2};
/* column 0: jsonb result */
static const struct tgx_pg_query Q_TASK_RESULT = {QID_GW_TASK_RESULT, "tgx_gw_task_result",
                                                  "SELECT tgx.keeper_task_result($1::bigint)", 1};
/* column 0: new state */
static const struct tgx_pg_query Q_ATTEST = {
    QID_GW_ATTEST, "tgx_gw_attest",
    "SELECT tgx.submit_attestation($1::bigint, $2::bigint, $3::bigint, $4::boolean, $5::bytea, $6)", 6};
/* column 0: 'ok' | 'not_verified' */
static const struct tgx_pg_query Q_HEALTH = {QID_GW_HEALTH, "tgx_gw_health",
                                             "SELECT tgx.keeper_health_checkin($1, $2, $3, $4)", 4};
/* column 0: tasks sent back */
static const struct tgx_pg_query Q_WHITELIST = {QID_GW_WHITELIST, "tgx_gw_whitelist",
                                                "SELECT tgx.keeper_gw_whitelist($1, $2, $3::boolean, $4)", 4};

/* The first row's first two columns (owned copies; NULL for SQL NULL or no row). */
struct gw_row {
    char *c0;
    char *c1;
};

static void gw_row_cleanup(struct gw_row *r)
{
    free(r->c0);
    free(r->c1);
    r->c0 = r->c1 = NULL;
}

static int gw_row_fn(const PGresult *res, void *arg)
{
    struct gw_row *r = arg;
    if (PQntuples(res) < 1)
        return 0;
    if (PQnfields(res) > 0 && !PQgetisnull(res, 0, 0) && (r->c0 = strdup(PQgetvalue(res, 0, 0))) == NULL)
        return -TGX_ERR_NOMEM;
    if (PQnfields(res) > 1 && !PQgetisnull(res, 0, 1) && (r->c1 = strdup(PQgetvalue(res, 0, 1))) == NULL)
        return -TGX_ERR_NOMEM;
    return 0;
}

/* How a database error is answered (the SQLSTATE mapping of the REST contract). */
static enum tgx_store_status gw_status_of(const struct tgx_pool_error *pe)
{
    const char *s = pe->sqlstate;
    if (pe->connection)
        return TGX_STORE_UNAVAILABLE;
    if (strncmp(s, "22", 2) == 0 || strcmp(s, "23514") == 0 || strcmp(s, "23502") == 0)
        return TGX_STORE_BAD_INPUT;
    if (strcmp(s, "55000") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return TGX_STORE_CONFLICT;
    if (strcmp(s, "P0002") == 0)
        return TGX_STORE_NOT_FOUND;
    if (strcmp(s, "57014") == 0 || strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0)
        return TGX_STORE_UNAVAILABLE;
    return TGX_STORE_FAILED;
}

/* Borrow a connection, run Q with PARAMS into ROW, give it back.  0, or a negative enum tgx_err
 * with ERR filled. */
static int gw_run(struct tgx_keeper_gw *gw, const struct tgx_pg_query *q, const char *const *params,
                  struct gw_row *row, struct tgx_store_err *err)
{
    struct tgx_pool_conn *c;
    struct tgx_pool_error pe;
    memset(err, 0, sizeof *err);
    int rc = tgx_pool_borrow(gw->pool, &c, &pe);
    if (rc < 0) {
        tgx_store_err_set(err, rc == -TGX_ERR_STATE ? TGX_STORE_BUSY : TGX_STORE_UNAVAILABLE, NULL, "%s",
                          rc == -TGX_ERR_STATE ? "the server is busy: no database connection is free"
                                               : "the database is not available");
        return rc;
    }
    rc = tgx_pool_query(c, q, params, gw_row_fn, row);
    if (rc == -TGX_ERR_DB) {
        const struct tgx_pool_error *e = tgx_pool_last_error(c);
        enum tgx_store_status st = gw_status_of(e);
        if (st == TGX_STORE_FAILED) {
            tgx_log_error("keeper-gw", "%s failed: %s%s%s (SQLSTATE %s)", q->name, e->message,
                          e->detail[0] ? ": " : "", e->detail, e->sqlstate);
            tgx_store_err_set(err, st, NULL, "internal server error");
        } else if (st == TGX_STORE_UNAVAILABLE) {
            tgx_log_warning("keeper-gw", "%s: %s", q->name, e->message);
            tgx_store_err_set(err, st, NULL, "the database is not available");
        } else {
            tgx_store_err_set(err, st, e->column[0] ? e->column : NULL, "%s", e->message);
            snprintf(err->detail, sizeof err->detail, "%s", e->detail);
            snprintf(err->hint, sizeof err->hint, "%s", e->hint);
        }
    } else if (rc < 0) {
        tgx_store_err_set(err, TGX_STORE_FAILED, NULL, "internal server error");
    }
    tgx_pool_return(gw->pool, c);
    if (rc < 0)
        gw_row_cleanup(row);
    return rc;
}

/* Answer a failed queue call: 400, 404 TASK_NOT_FOUND, 409 STALE_LEASE, 503, 500. */
static void gw_task_error(struct tgx_http_resp *resp, const struct tgx_store_err *err)
{
    tgx_api_store_error(resp, err, "INVALID_REQUEST", "TASK_NOT_FOUND", "STALE_LEASE");
}

/* =============================================================================================
 * Signed requests
 * ============================================================================================= */

/* The gateway of CTX; answers 503 when the api role has none. */
static struct tgx_keeper_gw *gw_of(void *ctx, struct tgx_http_resp *resp)
{
    struct tgx_api *api = ctx;
    if (api == NULL || api->keeper_gw == NULL) {
        tgx_api_error(resp, 503, "KEEPER_GATEWAY_UNAVAILABLE", NULL, "the keeper gateway is not configured");
        return NULL;
    }
    return api->keeper_gw;
}

/* Decimal unix seconds; false when not 1..12 digits. */
static bool gw_parse_timestamp(const char *s, int64_t *out)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 12)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/*
 * Check the signed request REQ: headers, signature, timestamp window, then the keeper and the
 * replay cache in one round trip.  True with *KEEPER_ID and ADDRESS (lower case) set; otherwise
 * RESP holds the 401/403/503 and nothing was recorded.  A request run again after parking is not
 * checked twice (its keeper id is kept as the handler value).
 */
static bool gw_authenticate(struct tgx_keeper_gw *gw, struct tgx_http_req *req, struct tgx_http_resp *resp,
                            int64_t *keeper_id, char address[43])
{
    const char *addr_h = tgx_http_header(req, TGX_KEEPER_HDR_ADDRESS);
    const char *ts_h = tgx_http_header(req, TGX_KEEPER_HDR_TIMESTAMP);
    const char *sig_h = tgx_http_header(req, TGX_KEEPER_HDR_SIGNATURE);
    uint8_t sig[TGX_SECP_SIG_LEN], hash[TGX_SHA256_LEN];
    char hash_param[2 + 2 * TGX_SHA256_LEN + 1];
    int64_t ts;

    if (addr_h == NULL || ts_h == NULL || sig_h == NULL) {
        tgx_api_error(resp, 401, "INVALID_SIGNATURE", NULL, "missing %s header",
                      addr_h == NULL ? TGX_KEEPER_HDR_ADDRESS
                      : ts_h == NULL ? TGX_KEEPER_HDR_TIMESTAMP
                                     : TGX_KEEPER_HDR_SIGNATURE);
        return false;
    }
    if (!tgx_api_parse_address(addr_h, address)) {
        tgx_api_error(resp, 401, "INVALID_SIGNATURE", NULL, "invalid %s header", TGX_KEEPER_HDR_ADDRESS);
        return false;
    }
    if (tgx_http_handler_value(req) > 0) { /* run again after parking: checked the first time */
        *keeper_id = tgx_http_handler_value(req);
        return true;
    }
    if (!gw_parse_timestamp(ts_h, &ts)) {
        tgx_api_error(resp, 401, "INVALID_SIGNATURE", NULL, "invalid %s header: unix seconds expected",
                      TGX_KEEPER_HDR_TIMESTAMP);
        return false;
    }
    if (!gw_sig_bytes(sig_h, sig)) {
        tgx_api_error(resp, 401, "INVALID_SIGNATURE", NULL,
                      "invalid %s header: 0x followed by 130 hex digits expected", TGX_KEEPER_HDR_SIGNATURE);
        return false;
    }
    size_t blen;
    const char *body = tgx_http_body(req, &blen);
    struct tgx_buf text;
    tgx_buf_init(&text);
    int rc = tgx_keeper_gw_request_text(tgx_http_method(req), tgx_http_target(req), ts_h, body, blen, &text);
    bool ok = rc == 0 && tgx_keeper_gw_signed_by(text.data, text.len, sig_h, address);
    tgx_buf_cleanup(&text);
    if (rc < 0) {
        tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
        return false;
    }
    if (!ok) {
        tgx_api_error(resp, 401, "INVALID_SIGNATURE", NULL, "the request signature does not match %s",
                      TGX_KEEPER_HDR_ADDRESS);
        return false;
    }
    int64_t skew = (int64_t)time(NULL) - ts;
    if (skew > TGX_KEEPER_GW_WINDOW_S || skew < -TGX_KEEPER_GW_WINDOW_S) {
        tgx_api_error(resp, 401, "STALE_TIMESTAMP", NULL,
                      "the request timestamp is %" PRId64 " s away from the server clock (at most %d s)",
                      skew < 0 ? -skew : skew, TGX_KEEPER_GW_WINDOW_S);
        return false;
    }
    /* r || s only: v 27/28 and 0/1 are the same signature */
    if (tgx_sha256(sig, 64, hash) < 0) {
        tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
        return false;
    }
    hash_param[0] = '\\';
    hash_param[1] = 'x';
    tgx_hex_encode(hash, TGX_SHA256_LEN, hash_param + 2);

    struct gw_row row = {0};
    struct tgx_store_err err;
    const char *params[2] = {address, hash_param};
    if (gw_run(gw, &Q_AUTH, params, &row, &err) < 0) {
        tgx_api_store_error(resp, &err, NULL, NULL, NULL);
        return false;
    }
    const char *status = row.c0 != NULL ? row.c0 : "";
    ok = false;
    if (strcmp(status, "ok") == 0 && row.c1 != NULL && tgx_api_parse_id(row.c1, keeper_id)) {
        tgx_http_set_handler_value(req, *keeper_id);
        ok = true;
    } else if (strcmp(status, "not_whitelisted") == 0) {
        tgx_api_error(resp, 403, "KEEPER_NOT_WHITELISTED", NULL, "keeper %s is not whitelisted", address);
    } else if (strcmp(status, "replayed") == 0) {
        tgx_api_error(resp, 401, "REPLAYED_REQUEST", NULL, "this signed request was already received");
    } else if (strcmp(status, "not_registered") == 0) {
        tgx_api_error(resp, 403, "KEEPER_NOT_REGISTERED", NULL, "keeper %s is not registered", address);
    } else {
        tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
    }
    gw_row_cleanup(&row);
    return ok;
}

/* =============================================================================================
 * Body helpers
 * ============================================================================================= */

/* The body as a JSON object (an empty body is {} when EMPTY_OK); answers 400 otherwise. */
static bool gw_body(struct tgx_http_req *req, struct tgx_http_resp *resp, bool empty_ok, json_t **out)
{
    size_t len;
    (void)tgx_http_body(req, &len);
    if (len == 0 && empty_ok) {
        *out = json_object();
        return *out != NULL;
    }
    if (tgx_http_json_body(req, resp, out) < 0)
        return false;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        tgx_api_error(resp, 400, "INVALID_REQUEST", NULL, "the request body must be a JSON object");
        return false;
    }
    return true;
}

/* Member KEY of BODY as a non-negative integer; answers 400 naming it otherwise. */
static bool gw_epoch(struct tgx_http_resp *resp, const json_t *body, int64_t *out)
{
    json_t *v = json_object_get(body, "lease_epoch");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "lease_epoch",
                      "lease_epoch must be a non-negative integer");
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* The keeper, task and lease epoch of a task call as query parameter text. */
struct gw_task_args {
    char keeper[24];
    char task[24];
    char epoch[24];
};

static void gw_task_args_format(struct gw_task_args *a, int64_t keeper_id, int64_t task_id, int64_t epoch)
{
    snprintf(a->keeper, sizeof a->keeper, "%" PRId64, keeper_id);
    snprintf(a->task, sizeof a->task, "%" PRId64, task_id);
    snprintf(a->epoch, sizeof a->epoch, "%" PRId64, epoch);
}

/* The task id of path parameter NAME; answers 400 INVALID_TASK_ID otherwise. */
static bool gw_task_id(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *name, int64_t *out)
{
    if (tgx_api_parse_id(tgx_http_param(req, name), out))
        return true;
    tgx_api_error(resp, 400, "INVALID_TASK_ID", name, "invalid task id");
    return false;
}

/* Query argument NAME as an integer in [MIN, MAX], DEF when absent; answers 400 otherwise. */
static bool gw_query_int(struct tgx_http_req *req, struct tgx_http_resp *resp, const char *name, int min,
                         int max, int def, int *out)
{
    const char *s = tgx_http_query(req, name);
    if (s == NULL) {
        *out = def;
        return true;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", name, "%s must be an integer from %d to %d", name, min,
                      max);
        return false;
    }
    *out = (int)v;
    return true;
}

/* Reply {"task_id": ID, "state": STATE}. */
static void gw_reply_state(struct tgx_http_resp *resp, int64_t task_id, const char *state)
{
    tgx_api_reply(resp, 200,
                  json_pack("{s:I, s:s}", "task_id", (json_int_t)task_id, "state", state ? state : ""));
}

/* =============================================================================================
 * Handlers
 * ============================================================================================= */

int tgx_api_keeper_gw_checkin(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw = gw_of(ctx, resp);
    int64_t keeper_id;
    char address[43];
    json_t *body;
    if (gw == NULL || !gw_authenticate(gw, req, resp, &keeper_id, address))
        return 0;
    if (!gw_body(req, resp, true, &body))
        return 0;
    json_t *version = json_object_get(body, "version");
    json_t *uptime = json_object_get(body, "uptime");
    char id[24], up[24];
    if (version != NULL && !json_is_null(version) &&
        (!json_is_string(version) || json_string_length(version) > 64)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "version",
                      "version must be a string of at most 64 characters");
    } else if (uptime != NULL && !json_is_null(uptime) &&
               (!json_is_integer(uptime) || json_integer_value(uptime) < 0)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "uptime", "uptime must be a non-negative integer");
    } else {
        snprintf(id, sizeof id, "%" PRId64, keeper_id);
        snprintf(up, sizeof up, "%" JSON_INTEGER_FORMAT, json_integer_value(uptime));
        const char *params[3] = {id, json_string_value(version), json_is_integer(uptime) ? up : NULL};
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (gw_run(gw, &Q_CHECKIN, params, &row, &err) < 0)
            tgx_api_store_error(resp, &err, "INVALID_REQUEST", "KEEPER_NOT_REGISTERED", NULL);
        else
            tgx_api_reply(resp, 200,
                          json_pack("{s:b, s:I, s:s, s:I}", "status", 1, "keeper_id", (json_int_t)keeper_id,
                                    "keeper_address", address, "server_time", (json_int_t)time(NULL)));
        gw_row_cleanup(&row);
    }
    json_decref(body);
    return 0;
}

/*
 * The long-poll shared by GET /api/keeper/tasks and GET /api/keeper/attestations: look (Q for the
 * keeper), answer when there is something, when the wait is over or the server stops, otherwise
 * park under KIND:KEEPER_ID for the rest of the wait.  FINISH turns the array into the answer.
 */
static int gw_long_poll(struct tgx_keeper_gw *gw, struct tgx_http_req *req, struct tgx_http_resp *resp,
                        int64_t keeper_id, const struct tgx_pg_query *q, const char *kind, int wait_s,
                        int limit, void (*finish)(struct tgx_http_resp *resp, json_t *items /* stolen */))
{
    char id[24], lim[16], key[32];
    snprintf(id, sizeof id, "%" PRId64, keeper_id);
    snprintf(lim, sizeof lim, "%d", limit);
    tgx_keeper_gw_wake_key(kind, keeper_id, key);
    const char *params[2] = {id, lim};
    for (int tries = 0; tries < 4; tries++) {
        uint64_t mark = tgx_http_wake_mark(req);
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (gw_run(gw, q, params, &row, &err) < 0) {
            tgx_api_store_error(resp, &err, NULL, NULL, NULL);
            return 0;
        }
        json_error_t jerr;
        json_t *items = row.c0 != NULL ? json_loads(row.c0, 0, &jerr) : json_array();
        gw_row_cleanup(&row);
        if (!json_is_array(items)) {
            json_decref(items);
            return -TGX_ERR_INVAL;
        }
        int64_t left = (int64_t)wait_s * 1000 - tgx_http_age_ms(req);
        enum tgx_http_run why = tgx_http_run_reason(req);
        if (json_array_size(items) > 0 || left <= 0 || why == TGX_HTTP_RUN_TIMEOUT ||
            why == TGX_HTTP_RUN_STOPPING) {
            finish(resp, items);
            return 0;
        }
        json_decref(items);
        if (tgx_http_park(req, key, mark, (unsigned)left) == 0)
            return 0; /* runs again when woken or at the deadline */
    }
    finish(resp, json_array()); /* woken again and again with nothing for us: answer empty */
    return 0;
}

static void gw_finish_tasks(struct tgx_http_resp *resp, json_t *items)
{
    tgx_api_reply(resp, 200, json_pack("{s:o}", "tasks", items));
}

int tgx_api_keeper_gw_tasks(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw = gw_of(ctx, resp);
    int64_t keeper_id;
    char address[43];
    int wait_s, limit;
    if (gw == NULL || !gw_authenticate(gw, req, resp, &keeper_id, address))
        return 0;
    if (!gw_query_int(req, resp, "wait", 0, TGX_KEEPER_GW_WAIT_MAX_S, TGX_KEEPER_GW_WAIT_DEFAULT_S,
                      &wait_s) ||
        !gw_query_int(req, resp, "limit", 1, 1000, 100, &limit))
        return 0;
    return gw_long_poll(gw, req, resp, keeper_id, &Q_ASSIGNED, "tasks", wait_s, limit, gw_finish_tasks);
}

/* The start of a signed request about one task: the gateway, the authenticated keeper (id and
 * address), the task id of path parameter NAME and the JSON body (*BODY new, the caller frees it).
 * False when the request was answered (refused or malformed). */
static bool gw_task_request(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx, const char *name,
                            struct tgx_keeper_gw **gw, int64_t *keeper_id, char address[43], int64_t *task_id,
                            json_t **body)
{
    *gw = gw_of(ctx, resp);
    return *gw != NULL && gw_authenticate(*gw, req, resp, keeper_id, address) &&
           gw_task_id(req, resp, name, task_id) && gw_body(req, resp, false, body);
}

int tgx_api_keeper_gw_ack(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw;
    int64_t keeper_id, task_id, epoch;
    char address[43];
    json_t *body;
    if (!gw_task_request(req, resp, ctx, "id", &gw, &keeper_id, address, &task_id, &body))
        return 0;
    if (gw_epoch(resp, body, &epoch)) {
        struct gw_task_args a;
        gw_task_args_format(&a, keeper_id, task_id, epoch);
        const char *params[3] = {a.keeper, a.task, a.epoch};
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (gw_run(gw, &Q_ACK, params, &row, &err) < 0) {
            gw_task_error(resp, &err);
        } else {
            json_t *task = row.c0 != NULL ? json_loads(row.c0, 0, NULL) : NULL;
            if (task == NULL)
                tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
            else
                tgx_api_reply(resp, 200, json_pack("{s:o}", "task", task));
        }
        gw_row_cleanup(&row);
    }
    json_decref(body);
    return 0;
}

int tgx_api_keeper_gw_result(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw;
    int64_t keeper_id, task_id, epoch;
    char address[43];
    json_t *body;
    if (!gw_task_request(req, resp, ctx, "id", &gw, &keeper_id, address, &task_id, &body))
        return 0;
    json_t *result = json_object_get(body, "result");
    const char *sig_hex = json_string_value(json_object_get(body, "signature"));
    uint8_t sig[TGX_SECP_SIG_LEN];
    char text[160];
    if (!gw_epoch(resp, body, &epoch)) {
        /* answered */
    } else if (!json_is_object(result)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "result", "result must be a JSON object");
    } else if (!gw_sig_bytes(sig_hex, sig)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "signature",
                      "signature must be 0x followed by 130 hex digits");
    } else if (tgx_keeper_gw_result_text(task_id, epoch, result, text, sizeof text) < 0) {
        tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
    } else if (!tgx_keeper_gw_signed_by(text, strlen(text), sig_hex, address)) {
        tgx_api_error(resp, 401, "INVALID_SIGNATURE", "signature",
                      "the result signature does not recover to keeper %s", address);
    } else {
        struct gw_task_args a;
        char sigp[TGX_SECP_SIG_HEX_LEN + 1];
        char *rtext = json_dumps(result, JSON_COMPACT);
        gw_task_args_format(&a, keeper_id, task_id, epoch);
        gw_sig_bytea(sig, sigp);
        const char *params[5] = {a.task, a.keeper, a.epoch, rtext, sigp};
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (rtext == NULL)
            tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
        else if (gw_run(gw, &Q_RESULT, params, &row, &err) < 0)
            gw_task_error(resp, &err);
        else
            gw_reply_state(resp, task_id, row.c0);
        gw_row_cleanup(&row);
        free(rtext);
    }
    json_decref(body);
    return 0;
}

int tgx_api_keeper_gw_fail(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw;
    int64_t keeper_id, task_id, epoch;
    char address[43];
    json_t *body;
    if (!gw_task_request(req, resp, ctx, "id", &gw, &keeper_id, address, &task_id, &body))
        return 0;
    json_t *error = json_object_get(body, "error");
    json_t *permanent = json_object_get(body, "permanent");
    if (!gw_epoch(resp, body, &epoch)) {
        /* answered */
    } else if (!json_is_string(error) || json_string_length(error) == 0 || json_string_length(error) > 4000) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "error",
                      "error must be a non-empty string (at most 4000 bytes)");
    } else if (permanent != NULL && !json_is_null(permanent) && !json_is_boolean(permanent)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "permanent", "permanent must be true or false");
    } else {
        struct gw_task_args a;
        gw_task_args_format(&a, keeper_id, task_id, epoch);
        const char *params[5] = {a.task, a.keeper, a.epoch, json_string_value(error),
                                 json_is_true(permanent) ? "true" : "false"};
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (gw_run(gw, &Q_FAIL, params, &row, &err) < 0)
            gw_task_error(resp, &err);
        else
            gw_reply_state(resp, task_id, row.c0);
        gw_row_cleanup(&row);
    }
    json_decref(body);
    return 0;
}

/* Add "result_digest" to each attestation request, then answer {"attestations": [...]}. */
static void gw_finish_attestations(struct tgx_http_resp *resp, json_t *items)
{
    size_t i;
    json_t *a;
    json_array_foreach(items, i, a)
    {
        char digest[TGX_KEEPER_GW_DIGEST_LEN + 1];
        if (tgx_keeper_gw_json_digest(json_object_get(a, "result"), digest) == 0)
            json_object_set_new(a, "result_digest", json_string(digest));
    }
    tgx_api_reply(resp, 200, json_pack("{s:o}", "attestations", items));
}

int tgx_api_keeper_gw_attestations(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw = gw_of(ctx, resp);
    int64_t keeper_id;
    char address[43];
    int wait_s, limit;
    if (gw == NULL || !gw_authenticate(gw, req, resp, &keeper_id, address))
        return 0;
    if (!gw_query_int(req, resp, "wait", 0, TGX_KEEPER_GW_WAIT_MAX_S, 0, &wait_s) ||
        !gw_query_int(req, resp, "limit", 1, 1000, 100, &limit))
        return 0;
    return gw_long_poll(gw, req, resp, keeper_id, &Q_ATTESTATIONS, "attest", wait_s, limit,
                        gw_finish_attestations);
}

int tgx_api_keeper_gw_attest(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw;
    int64_t keeper_id, task_id, epoch;
    char address[43];
    json_t *body;
    if (!gw_task_request(req, resp, ctx, "task_id", &gw, &keeper_id, address, &task_id, &body))
        return 0;
    json_t *verdict = json_object_get(body, "verdict");
    json_t *reason = json_object_get(body, "reason");
    const char *sig_hex = json_string_value(json_object_get(body, "signature"));
    uint8_t sig[TGX_SECP_SIG_LEN];
    struct gw_task_args a;
    if (!gw_epoch(resp, body, &epoch)) {
        /* answered */
    } else if (!json_is_boolean(verdict)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "verdict", "verdict must be true or false");
    } else if (reason != NULL && !json_is_null(reason) &&
               (!json_is_string(reason) || json_string_length(reason) > 4000)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "reason", "reason must be a string (at most 4000 bytes)");
    } else if (!gw_sig_bytes(sig_hex, sig)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "signature",
                      "signature must be 0x followed by 130 hex digits");
    } else {
        /* the digest of the performer's stored result, which the verdict signs */
        gw_task_args_format(&a, keeper_id, task_id, epoch);
        const char *p1[1] = {a.task};
        struct gw_row row = {0};
        struct tgx_store_err err;
        json_t *result = NULL;
        char digest[TGX_KEEPER_GW_DIGEST_LEN + 1], text[200];
        if (gw_run(gw, &Q_TASK_RESULT, p1, &row, &err) < 0) {
            gw_task_error(resp, &err);
        } else if ((result = row.c0 != NULL ? json_loads(row.c0, 0, NULL) : json_object()) == NULL ||
                   tgx_keeper_gw_json_digest(result, digest) < 0 ||
                   tgx_keeper_gw_attest_text(task_id, epoch, json_is_true(verdict), digest, text,
                                             sizeof text) < 0) {
            tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
        } else if (!tgx_keeper_gw_signed_by(text, strlen(text), sig_hex, address)) {
            tgx_api_error(resp, 401, "INVALID_SIGNATURE", "signature",
                          "the attestation signature does not recover to keeper %s", address);
        } else {
            char sigp[TGX_SECP_SIG_HEX_LEN + 1];
            gw_sig_bytea(sig, sigp);
            const char *params[6] = {a.task,  a.keeper,
                                     a.epoch, json_is_true(verdict) ? "true" : "false",
                                     sigp,    json_string_value(reason)};
            struct gw_row r2 = {0};
            if (gw_run(gw, &Q_ATTEST, params, &r2, &err) < 0)
                gw_task_error(resp, &err);
            else
                gw_reply_state(resp, task_id, r2.c0);
            gw_row_cleanup(&r2);
        }
        json_decref(result);
        gw_row_cleanup(&row);
    }
    json_decref(body);
    return 0;
}

/* POST /health: {"status":false,"data":MESSAGE} for a bad body, as the original, with the "error"
 * and "code" of every other 400 of this server. */
static void gw_health_bad(struct tgx_http_resp *resp, const char *message)
{
    tgx_api_reply(resp, 400,
                  json_pack("{s:b, s:s, s:s, s:s}", "status", 0, "data", message, "error", message, "code",
                            "INVALID_REQUEST"));
}

int tgx_api_keeper_gw_health(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw = gw_of(ctx, resp);
    if (gw == NULL)
        return 0;
    size_t len;
    const char *text = tgx_http_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(body)) {
        gw_health_bad(resp, body == NULL ? jerr.text : "the body must be a JSON object");
        json_decref(body);
        return 0;
    }
    const char *keeper = json_string_value(json_object_get(body, "keeper_address"));
    const char *consensus = json_string_value(json_object_get(body, "consensus_address"));
    const char *sig_hex = json_string_value(json_object_get(body, "signature"));
    const char *version = json_string_value(json_object_get(body, "version"));
    const char *peer = json_string_value(json_object_get(body, "peer_id"));
    char addr[43], caddr[43];
    if (keeper == NULL || !tgx_api_parse_address(keeper, addr)) {
        gw_health_bad(resp, "invalid keeper_address");
    } else if (consensus == NULL || !tgx_api_parse_address(consensus, caddr)) {
        gw_health_bad(resp, "invalid consensus_address");
    } else if (!tgx_keeper_gw_signed_by(keeper, strlen(keeper), sig_hex, caddr)) {
        /* EIP-191 of the keeper_address string as sent, by the consensus key */
        tgx_api_reply(resp, 412, json_pack("{s:s}", "error", "Invalid signature"));
    } else {
        const char *params[4] = {addr, caddr, peer != NULL && *peer ? peer : "no-peer-id",
                                 version != NULL && *version ? version : "0.1.0"};
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (gw_run(gw, &Q_HEALTH, params, &row, &err) < 0)
            tgx_api_reply(resp,
                          err.status == TGX_STORE_BUSY || err.status == TGX_STORE_UNAVAILABLE ? 503 : 500,
                          json_pack("{s:s}", "error", "Failed to update keeper state"));
        else if (row.c0 == NULL || strcmp(row.c0, "ok") != 0)
            tgx_api_reply(
                resp, 403,
                json_pack("{s:s, s:s}", "error", "Keeper not verified", "code", "KEEPER_NOT_VERIFIED"));
        else /* no configuration or secrets are handed out here */
            tgx_api_reply(resp, 200, json_pack("{s:b, s:s}", "status", 1, "data", ""));
        gw_row_cleanup(&row);
    }
    json_decref(body);
    return 0;
}

int tgx_api_keeper_gw_whitelist(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx)
{
    struct tgx_keeper_gw *gw = gw_of(ctx, resp);
    char addr[43];
    json_t *body;
    if (gw == NULL)
        return 0;
    if (!tgx_api_parse_address(tgx_http_param(req, "address"), addr)) {
        tgx_api_error(resp, 400, "INVALID_ADDRESS", "address", "invalid keeper address");
        return 0;
    }
    if (!gw_body(req, resp, false, &body))
        return 0;
    json_t *wl = json_object_get(body, "whitelisted");
    json_t *reason = json_object_get(body, "reason");
    if (wl != NULL && !json_is_null(wl) && !json_is_boolean(wl)) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "whitelisted", "whitelisted must be true or false");
    } else if (!json_is_string(reason) || json_string_length(reason) == 0 ||
               json_string_length(reason) > 1000) {
        tgx_api_error(resp, 400, "INVALID_REQUEST", "reason",
                      "reason must be a non-empty string (at most 1000 bytes)");
    } else {
        const struct tgx_http_auth *auth = tgx_http_auth(req);
        bool on = wl == NULL || json_is_null(wl) || json_is_true(wl);
        struct tgx_buf who;
        tgx_buf_init(&who);
        /* the audit row's actor is the database session user: name the API key's owner too */
        tgx_buf_printf(&who, "admin key %" PRId64 " of %s", auth->key_id, auth->owner);
        const char *params[4] = {addr, json_string_value(reason), on ? "true" : "false", who.data};
        struct gw_row row = {0};
        struct tgx_store_err err;
        if (tgx_buf_oom(&who))
            tgx_api_error(resp, 500, "INTERNAL", NULL, "internal server error");
        else if (gw_run(gw, &Q_WHITELIST, params, &row, &err) < 0)
            tgx_api_store_error(resp, &err, "INVALID_REQUEST", "KEEPER_NOT_FOUND", "CONFLICT");
        else
            tgx_api_reply(resp, 200,
                          json_pack("{s:s, s:b, s:I}", "keeper_address", addr, "whitelisted", on,
                                    "requeued_tasks",
                                    (json_int_t)(row.c0 != NULL ? strtoll(row.c0, NULL, 10) : 0)));
        gw_row_cleanup(&row);
        tgx_buf_cleanup(&who);
    }
    json_decref(body);
    return 0;
}

/* =============================================================================================
 * The waiter: LISTEN tgx_assigned, tgx_attest -> tgx_http_wake("tasks:ID" / "attest:ID")
 * ============================================================================================= */

/* Wait up to MS for the stop pipe; true when stopping. */
static bool gw_sleep(struct tgx_keeper_gw *gw, int ms)
{
    struct pollfd p = {.fd = gw->stop_pipe[0], .events = POLLIN};
    (void)poll(&p, 1, ms);
    return atomic_load(&gw->stop);
}

static PGconn *gw_listen_connect(struct tgx_keeper_gw *gw)
{
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *vals[] = {gw->database_url, "tgxd keeper-gw", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL)
        return NULL;
    if (PQstatus(c) != CONNECTION_OK) {
        tgx_log_warning("keeper-gw", "could not connect the long-poll listener: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "LISTEN tgx_assigned; LISTEN tgx_attest");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        tgx_log_warning("keeper-gw", "could not LISTEN: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void *gw_waiter_main(void *arg)
{
    struct tgx_keeper_gw *gw = arg;
    int backoff = 100;
    while (!atomic_load(&gw->stop)) {
        PGconn *c = gw_listen_connect(gw);
        if (c == NULL) {
            if (gw_sleep(gw, backoff))
                break;
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            continue;
        }
        backoff = 100;
        tgx_http_wake(gw->srv, NULL); /* whatever was notified while we were not listening */
        while (!atomic_load(&gw->stop)) {
            struct pollfd p[2] = {{.fd = PQsocket(c), .events = POLLIN},
                                  {.fd = gw->stop_pipe[0], .events = POLLIN}};
            if (poll(p, 2, 30000) < 0 && errno != EINTR)
                break;
            if (atomic_load(&gw->stop))
                break;
            if (PQconsumeInput(c) == 0) {
                tgx_log_warning("keeper-gw", "long-poll listener lost its connection: %s", PQerrorMessage(c));
                break;
            }
            PGnotify *n;
            while ((n = PQnotifies(c)) != NULL) {
                char key[32];
                int64_t id;
                if (tgx_api_parse_id(n->extra, &id)) {
                    tgx_keeper_gw_wake_key(strcmp(n->relname, "tgx_attest") == 0 ? "attest" : "tasks", id,
                                           key);
                    tgx_http_wake(gw->srv, key);
                }
                PQfreemem(n);
            }
        }
        PQfinish(c);
    }
    return NULL;
}

int tgx_keeper_gw_create(struct tgx_pool *pool, const char *database_url, struct tgx_keeper_gw **out)
{
    *out = NULL;
    struct tgx_keeper_gw *gw = calloc(1, sizeof *gw);
    if (gw == NULL)
        return -TGX_ERR_NOMEM;
    gw->pool = pool;
    gw->stop_pipe[0] = gw->stop_pipe[1] = -1;
    if (database_url != NULL && (gw->database_url = strdup(database_url)) == NULL) {
        free(gw);
        return -TGX_ERR_NOMEM;
    }
    atomic_init(&gw->stop, false);
    *out = gw;
    return 0;
}

int tgx_keeper_gw_start(struct tgx_keeper_gw *gw, struct tgx_http_server *srv)
{
    if (gw->running || gw->database_url == NULL)
        return -TGX_ERR_STATE;
    if (pipe(gw->stop_pipe) < 0)
        return -TGX_ERR_IO;
    gw->srv = srv;
    atomic_store(&gw->stop, false);
    if (pthread_create(&gw->thread, NULL, gw_waiter_main, gw) != 0) {
        close(gw->stop_pipe[0]);
        close(gw->stop_pipe[1]);
        gw->stop_pipe[0] = gw->stop_pipe[1] = -1;
        return -TGX_ERR_NOMEM;
    }
    gw->running = true;
    return 0;
}

void tgx_keeper_gw_stop(struct tgx_keeper_gw *gw)
{
    if (gw == NULL || !gw->running)
        return;
    atomic_store(&gw->stop, true);
    ssize_t w = write(gw->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(gw->thread, NULL);
    close(gw->stop_pipe[0]);
    close(gw->stop_pipe[1]);
    gw->stop_pipe[0] = gw->stop_pipe[1] = -1;
    gw->running = false;
}

void tgx_keeper_gw_free(struct tgx_keeper_gw *gw)
{
    if (gw == NULL)
        return;
    tgx_keeper_gw_stop(gw);
    free(gw->database_url);
    free(gw);
}
