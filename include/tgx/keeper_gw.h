/* keeper_gw.h: the keeper gateway of the api role: signed keeper requests (/api/keeper/...), the
 * original's POST /health check-in, the whitelist admin route, and the canonical texts a keeper
 * signs (shared with tgx-keeper, which builds the same texts to sign them).
 *
 * Signed requests.  Every /api/keeper/... request carries three headers:
 *   X-Keeper-Address    the keeper's address, "0x" + 40 hex digits (any case)
 *   X-Keeper-Timestamp  unix seconds; refused when more than 60 s from the server's clock
 *   X-Keeper-Signature  EIP-191 personal_sign ("0x" + 130 hex digits, v 27/28 or 0/1) of the text
 *                       METHOD "\n" TARGET "\n" TIMESTAMP "\n" SHA256_HEX(BODY)
 * METHOD is upper case ("GET"), TARGET the path with the query string exactly as sent
 * ("/api/keeper/tasks?wait=25"), TIMESTAMP the header's digits, SHA256_HEX(BODY) 64 lower-case hex
 * digits of the body's SHA-256 (of the empty string for GET: e3b0c442...b855).  A signature is
 * accepted once: a replay within the window is refused (the cache is shared by every tgxd through
 * the database).  Signatures are deterministic (RFC 6979), so two identical requests (same method,
 * target and body) in the same second are one request: a keeper that may repeat one (a retried ack,
 * back-to-back polls) adds a query argument the server ignores but the signature covers
 * ("/api/keeper/tasks?wait=25&n=17").
 *
 * Signed results and verdicts ("signature" of the result and attestation bodies): EIP-191
 * personal_sign of
 *   tgx-result:TASK_ID:LEASE_EPOCH:DIGEST              a performer's result
 *   tgx-attest:TASK_ID:LEASE_EPOCH:VERDICT:DIGEST      an attester's verdict, VERDICT "agree" or
 *                                                      "disagree"
 * where DIGEST is "0x" + 64 lower-case hex digits of keccak256 of the result object written as
 * compact JSON with sorted keys (jansson json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY));
 * for a verdict, the performer's result as GET /api/keeper/attestations hands it out (its
 * "result_digest" field is that digest).
 */
#ifndef TGX_KEEPER_GW_H
#define TGX_KEEPER_GW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"
#include "tgx/http.h"

#define TGX_KEEPER_HDR_ADDRESS   "X-Keeper-Address"
#define TGX_KEEPER_HDR_TIMESTAMP "X-Keeper-Timestamp"
#define TGX_KEEPER_HDR_SIGNATURE "X-Keeper-Signature"

#define TGX_KEEPER_GW_WINDOW_S       60 /* a request's timestamp may be this far from the server's clock */
#define TGX_KEEPER_GW_WAIT_DEFAULT_S 25 /* GET /api/keeper/tasks without ?wait= */
#define TGX_KEEPER_GW_WAIT_MAX_S     30 /* the longest long-poll */
#define TGX_KEEPER_GW_DIGEST_LEN     66 /* "0x" + 64 hex digits, without the NUL */

/* ---------------------------------------------------------------------------------------------
 * Canonical texts (pure functions: tgx-keeper signs what these build)
 * ------------------------------------------------------------------------------------------- */

/* Append the request text METHOD\nTARGET\nTIMESTAMP\nSHA256_HEX(BODY) to OUT (BODY may be NULL when
 * LEN is 0).  -TGX_ERR_CRYPTO when hashing fails, -TGX_ERR_NOMEM. */
int tgx_keeper_gw_request_text(const char *method, const char *target, const char *timestamp,
                               const void *body, size_t len,
                               struct tgx_buf *out /* OUT: appended */) TGX_MUSTCHECK;
/* The digest of a JSON value V: "0x" + keccak256 hex of its compact, key-sorted text.  -TGX_ERR_NOMEM. */
int tgx_keeper_gw_json_digest(const json_t *v,
                              char out[TGX_KEEPER_GW_DIGEST_LEN + 1] /* OUT */) TGX_MUSTCHECK;
/* "tgx-result:TASK_ID:LEASE_EPOCH:DIGEST" of RESULT into OUT (OUTLEN >= 128).  -TGX_ERR_NOMEM,
 * -TGX_ERR_INVAL (OUT too small). */
int tgx_keeper_gw_result_text(int64_t task_id, int64_t lease_epoch, const json_t *result, char *out,
                              size_t outlen) TGX_MUSTCHECK;
/* "tgx-attest:TASK_ID:LEASE_EPOCH:agree|disagree:RESULT_DIGEST" into OUT (OUTLEN >= 160); RESULT_DIGEST
 * as made by tgx_keeper_gw_json_digest.  -TGX_ERR_INVAL (OUT too small). */
int tgx_keeper_gw_attest_text(int64_t task_id, int64_t lease_epoch, bool verdict, const char *result_digest,
                              char *out, size_t outlen) TGX_MUSTCHECK;
/* Does the EIP-191 signature SIG_HEX of the LEN bytes TEXT recover to ADDRESS (0x + 40 hex, any
 * case)?  False as well for a malformed signature or address. */
bool tgx_keeper_gw_signed_by(const void *text, size_t len, const char *sig_hex, const char *address);

/* ---------------------------------------------------------------------------------------------
 * The gateway: its database work and the long-poll waiter
 * ------------------------------------------------------------------------------------------- */

struct tgx_pool;
struct tgx_http_server;

/* The gateway (opaque): the pool it borrows, and a thread that LISTENs on tgx_assigned and
 * tgx_attest (payload keeper_id) and wakes the long-polls of that keeper. */
struct tgx_keeper_gw;

/* A gateway over POOL (borrowed, must outlive it); DATABASE_URL (copied) is the waiter's own
 * connection.  *OUT: new (tgx_keeper_gw_free).  -TGX_ERR_NOMEM. */
int tgx_keeper_gw_create(struct tgx_pool *pool, const char *database_url,
                         struct tgx_keeper_gw **out /* OUT: new */) TGX_MUSTCHECK;
/* Start the waiter thread, which wakes parked long-polls of SRV (borrowed; started, must outlive
 * tgx_keeper_gw_stop).  Without it long-polls last until their timeout.  -TGX_ERR_STATE. */
int tgx_keeper_gw_start(struct tgx_keeper_gw *gw, struct tgx_http_server *srv) TGX_MUSTCHECK;
/* Stop and join the waiter thread (idempotent); call before stopping the server. */
void tgx_keeper_gw_stop(struct tgx_keeper_gw *gw);
/* Stop and free GW (NULL is fine). */
void tgx_keeper_gw_free(struct tgx_keeper_gw *gw);

/* The wake keys of the long-polls (into OUT, 32 bytes): "tasks:ID" and "attest:ID". */
void tgx_keeper_gw_wake_key(const char *kind, int64_t keeper_id, char out[32] /* OUT */);

/* ---------------------------------------------------------------------------------------------
 * Handlers (CTX: the struct tgx_api, whose keeper_gw must be set).  All are TGX_ROUTE_OPEN but
 * POST /api/admin/keepers/:address/whitelist (TGX_ROUTE_ADMIN).
 * ------------------------------------------------------------------------------------------- */

int tgx_api_keeper_gw_checkin(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_gw_tasks(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_gw_ack(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_gw_result(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_gw_fail(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_gw_attestations(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
int tgx_api_keeper_gw_attest(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* POST /health (the original health service's keeper check-in). */
int tgx_api_keeper_gw_health(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);
/* POST /api/admin/keepers/:address/whitelist {"whitelisted", "reason"}. */
int tgx_api_keeper_gw_whitelist(struct tgx_http_req *req, struct tgx_http_resp *resp, void *ctx);

#endif
