/* keeper.h: `tgx-keeper run`, the keeper agent: its settings (one table, like tgxd's), the signed
 * client of the keeper gateway (include/tgx/keeper_gw.h), and the loop that checks in, long-polls
 * tasks and attestation requests, executes and verifies them (include/tgx/keeper_exec.h) and reports.
 *
 * Threads of a running keeper: the main thread (signals, periodic check-in and stats line), one
 * task poller (GET /api/keeper/tasks, ack), CONCURRENCY workers (execute, submit the result or the
 * failure, retried under the same lease epoch until accepted), one attester (GET
 * /api/keeper/attestations, verify, submit the verdict).  Each thread has its own gateway client
 * (one libcurl handle, reused: keep-alive).
 */
#ifndef TGX_KEEPER_H
#define TGX_KEEPER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tgx/buf.h"
#include "tgx/cli.h"
#include "tgx/config.h"
#include "tgx/err.h"
#include "tgx/secp.h"

/* ---------------------------------------------------------------------------------------------
 * Settings: defaults < --config FILE (or TGX_KEEPER_CONFIG) < TGX_KEEPER_<NAME> < command line
 * ------------------------------------------------------------------------------------------- */

/* Every setting of `tgx-keeper run`.  Strings and lists are owned (tgx_keeper_config_cleanup). */
struct tgx_keeper_config {
    char *config_file;       /* the file read; NULL: none */
    char *api;               /* tgxd's base URL, http(s)://HOST:PORT */
    char *key_file;          /* --key: the key file (TGX_KEEPER_KEY_FILE) */
    struct tgx_strv rpc;     /* CHAIN_ID=URL */
    bool dry_run;            /* no chain traffic: every chain is a dry-run chain */
    long concurrency;        /* tasks executing at once */
    long checkin_interval;   /* seconds between check-ins */
    long poll_wait;          /* long-poll seconds (1..30) */
    long receipt_timeout;    /* seconds to wait for a receipt */
    long receipt_poll_ms;    /* receipt polling period */
    long rpc_timeout_ms;     /* one JSON-RPC call */
    long gas_limit_cap;      /* an estimate above is a permanent failure; 0: none */
    long gas_margin_percent; /* added to eth_estimateGas */
    long http_timeout_ms;    /* one gateway request other than a long-poll */
    long shutdown_timeout;   /* seconds tasks in flight get to finish and report after SIGTERM */
    char *log_level;         /* error, warning, info, debug */
};

/* The table (prefix TGX_KEEPER_, file variable TGX_KEEPER_CONFIG). */
extern const struct tgx_config_table tgx_keeper_config_table;

/* Fill C with the defaults. */
void tgx_keeper_config_init(struct tgx_keeper_config *c);
/* Free what C owns; C is zeroed. */
void tgx_keeper_config_cleanup(struct tgx_keeper_config *c);
/* The whole load (see tgx_config_table_parse_args): 0, TGX_EXIT_USAGE or TGX_EXIT_FAILURE after
 * one line "WHO: ..." on io->err. */
int tgx_keeper_config_parse_args(struct tgx_keeper_config *c, const char *who, int argc, char **argv,
                                 const struct tgx_cli_io *io,
                                 struct tgx_config_cli *cli /* OUT */) TGX_MUSTCHECK;
/* The annotated sample (contrib/tgx-keeper.conf.sample is exactly this text). */
void tgx_keeper_config_write_sample(FILE *out);

/* ---------------------------------------------------------------------------------------------
 * Signing: the key, the address and the request counter
 * ------------------------------------------------------------------------------------------- */

/* The keeper's key (opaque; the secret is wiped on free) and the counter that makes every request
 * target unique.  Thread-safe. */
struct tgx_keeper_signer;

/* A signer for SECRET (copied).  *OUT new (tgx_keeper_signer_free).  -TGX_ERR_INVAL (bad key),
 * -TGX_ERR_NOMEM. */
int tgx_keeper_signer_create(const uint8_t secret[TGX_SECP_SECRET_LEN],
                             struct tgx_keeper_signer **out /* OUT: new */) TGX_MUSTCHECK;
/* Wipe and free (NULL is fine). */
void tgx_keeper_signer_free(struct tgx_keeper_signer *s);
/* The keeper's EIP-55 address (borrowed). */
const char *tgx_keeper_signer_address(const struct tgx_keeper_signer *s);
/* EIP-191 personal_sign of the LEN bytes MSG into OUT ("0x" + 130 hex).  -TGX_ERR_INVAL. */
int tgx_keeper_signer_sign(const struct tgx_keeper_signer *s, const void *msg, size_t len,
                           char out[TGX_SECP_SIG_HEX_LEN + 1] /* OUT */) TGX_MUSTCHECK;
/* PATH with the next counter value as a query argument: "PATH?n=17" or "PATH?wait=25&n=17" into
 * OUT.  Two requests never get the same target (the counter starts at a random value per process).
 * -TGX_ERR_INVAL when OUT is too small. */
int tgx_keeper_signer_target(struct tgx_keeper_signer *s, const char *path, char *out /* OUT */,
                             size_t outlen) TGX_MUSTCHECK;

/* The three headers of a signed request (keeper_gw.h). */
struct tgx_keeper_auth {
    char address[TGX_ADDRESS_TEXT_LEN + 1];   /* X-Keeper-Address */
    char timestamp[24];                       /* X-Keeper-Timestamp: unix seconds */
    char signature[TGX_SECP_SIG_HEX_LEN + 1]; /* X-Keeper-Signature */
};

/* Sign METHOD TARGET at unix time NOW with BODY (LEN bytes, NULL when 0) into OUT.
 * -TGX_ERR_NOMEM, -TGX_ERR_CRYPTO, -TGX_ERR_INVAL. */
int tgx_keeper_sign_request(const struct tgx_keeper_signer *s, const char *method, const char *target,
                            int64_t now, const void *body, size_t len,
                            struct tgx_keeper_auth *out /* OUT */) TGX_MUSTCHECK;
/* The body of POST /api/keeper/tasks/:id/result: {"lease_epoch","result","signature"} where the
 * signature personal_signs tgx_keeper_gw_result_text.  *OUT new.  RESULT is borrowed. */
int tgx_keeper_result_body(const struct tgx_keeper_signer *s, int64_t task_id, int64_t lease_epoch,
                           const json_t *result, json_t **out /* OUT: new */) TGX_MUSTCHECK;
/* The body of POST /api/keeper/attestations/:task_id: {"lease_epoch","verdict","reason"?,
 * "signature"} signing tgx_keeper_gw_attest_text over RESULT_DIGEST; REASON only when disagreeing
 * (NULL or "" : none).  *OUT new. */
int tgx_keeper_verdict_body(const struct tgx_keeper_signer *s, int64_t task_id, int64_t lease_epoch,
                            bool agree, const char *reason, const char *result_digest,
                            json_t **out /* OUT: new */) TGX_MUSTCHECK;

/* ---------------------------------------------------------------------------------------------
 * The gateway client: one per thread
 * ------------------------------------------------------------------------------------------- */

/* What an answer means for the caller. */
enum tgx_keeper_reply_kind {
    TGX_KEEPER_REPLY_OK = 0,        /* 2xx */
    TGX_KEEPER_REPLY_TRANSIENT = 1, /* no answer, 5xx, 429, a replayed-request 401: retry with backoff */
    TGX_KEEPER_REPLY_REFUSED = 2,   /* 401/403: not registered, not whitelisted, bad signature, clock
                                       skew: an operator must act; retry slowly */
    TGX_KEEPER_REPLY_STALE = 3,     /* 409: the task moved on (stale lease epoch): drop it */
    TGX_KEEPER_REPLY_REJECTED = 4,  /* another 4xx: the request itself is wrong; do not repeat it */
    TGX_KEEPER_REPLY_ABORTED = 5,   /* the abort descriptor fired before the answer */
};

/* An answer, embedded by the caller (tgx_keeper_reply_cleanup). */
struct tgx_keeper_reply {
    enum tgx_keeper_reply_kind kind;
    long status;       /* the HTTP status; 0 without an answer */
    json_t *body;      /* the JSON body (NEW), or NULL */
    char message[256]; /* the server's "error", or what failed in transport */
    char code[48];     /* the server's "code" ("STALE_LEASE"), or "" */
};

/* Release what R holds (a zeroed struct is fine). */
void tgx_keeper_reply_cleanup(struct tgx_keeper_reply *r);
/* The kind of an answer with HTTP STATUS (0: none) and server CODE (may be NULL). */
enum tgx_keeper_reply_kind tgx_keeper_reply_classify(long status, const char *code);

/* A client of the gateway at one base URL (opaque): one libcurl handle kept between requests. */
struct tgx_keeper_client;

/* A client of API_URL (http(s)://HOST:PORT, copied; a trailing '/' is dropped) signing with SIGNER
 * (borrowed, outlives the client).  -TGX_ERR_INVAL (bad URL), -TGX_ERR_NOMEM.  No traffic here. */
int tgx_keeper_client_create(const char *api_url, struct tgx_keeper_signer *signer,
                             struct tgx_keeper_client **out /* OUT: new */) TGX_MUSTCHECK;
/* Free (NULL is fine); no request may be running. */
void tgx_keeper_client_free(struct tgx_keeper_client *c);
/*
 * One signed request: METHOD on PATH ("/api/keeper/tasks?wait=25"; the counter argument is added),
 * BODY (borrowed; NULL: none) sent as compact JSON.  Gives up after TIMEOUT_MS, or at once when
 * ABORT_FD (-1: none) becomes readable (it is not read).  Fills OUT in every case (kind, status,
 * message); returns 0, or -TGX_ERR_NOMEM.
 */
int tgx_keeper_client_request(struct tgx_keeper_client *c, const char *method, const char *path,
                              const json_t *body, long timeout_ms, int abort_fd,
                              struct tgx_keeper_reply *out /* OUT */) TGX_MUSTCHECK;

/* ---------------------------------------------------------------------------------------------
 * Backoff: BASE doubling up to CAP, each delay with +-25 % jitter
 * ------------------------------------------------------------------------------------------- */

/* A backoff, embedded by its thread. */
struct tgx_keeper_backoff {
    long base_ms;  /* first delay */
    long cap_ms;   /* longest delay */
    long next_ms;  /* the delay before jitter the next call gives */
    unsigned seed; /* rand_r state */
};

/* Start at BASE_MS, cap at CAP_MS, jitter from SEED. */
void tgx_keeper_backoff_init(struct tgx_keeper_backoff *b, long base_ms, long cap_ms, unsigned seed);
/* The next delay in milliseconds (jittered, never above CAP_MS), then double. */
long tgx_keeper_backoff_next(struct tgx_keeper_backoff *b);
/* Back to BASE_MS (after a success). */
void tgx_keeper_backoff_reset(struct tgx_keeper_backoff *b);

/* ---------------------------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------------------------- */

/* `tgx-keeper run [OPTION]...`: until SIGTERM/SIGINT (exit 0 after the tasks in flight reported;
 * a second signal exits at once with 1).  Bad command line: one line, exit 2.  A tgx_cli_fn. */
int tgx_keeper_run_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);

#endif
