/* keeper_exec.h: what tgx-keeper does on a chain: execute a static task (ABI-encode, sign, send,
 * wait for the receipt, report) and check a peer's result (attest).  The loop of keeper.h calls
 * these; they know nothing of the gateway.
 *
 * The task objects are the JSON of the keeper gateway (include/tgx/keeper_gw.h): an item of
 * GET /api/keeper/tasks or the "task" of POST .../ack (task_id, job_id, lease_epoch, attempt,
 * task_definition_id, target_chain_id, target_contract_address, target_function, abi, arg_type,
 * arguments, trigger_data, scheduled_for, ...), and an item of GET /api/keeper/attestations (the same
 * plus started_at, result, performer_address, ...).
 */
#ifndef TGX_KEEPER_EXEC_H
#define TGX_KEEPER_EXEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"
#include "tgx/secp.h"

/* One chain the keeper serves (opaque): its JSON-RPC client, whether it has a base fee (EIP-1559 or
 * legacy EIP-155 transactions), and the nonce manager of the keeper's address on it.  Thread-safe:
 * several tasks may execute on one chain at once; nonces are handed out under a lock, never twice,
 * and re-read from the node (eth_getTransactionCount "pending") after a send fails with a nonce
 * error or a transaction is dropped. */
struct tgx_keeper_chain;

/* Options of a chain. */
struct tgx_keeper_chain_opts {
    uint64_t chain_id;           /* the id the node must answer to eth_chainId (checked on first use) */
    const char *rpc_url;         /* http(s) JSON-RPC endpoint (copied); may be NULL in a dry run */
    long rpc_timeout_ms;         /* one JSON-RPC call; 0: the jsonrpc default */
    long receipt_timeout_ms;     /* longest wait for a receipt before the attempt is transient; 0: 120 s */
    long receipt_poll_ms;        /* receipt polling period; 0: 1 s */
    uint64_t gas_limit_cap;      /* an estimate above this is a permanent failure; 0: no cap */
    unsigned gas_margin_percent; /* added to eth_estimateGas (e.g. 20; at most 1000); the limit sent is
                                    capped at gas_limit_cap */
    bool dry_run;                /* no JSON-RPC traffic at all: encode the call and sign a transaction
                                    with a local nonce counter and gas_limit_cap (or 1,000,000), and
                                    report it unsent (the benchmark mode that skips the chain) */
};

/* A chain for the key SECRET (copied and wiped on free).  *OUT new (tgx_keeper_chain_free).
 * No network traffic here.  -TGX_ERR_INVAL (bad options, with ERR), -TGX_ERR_NOMEM. */
int tgx_keeper_chain_create(const struct tgx_keeper_chain_opts *opts,
                            const uint8_t secret[TGX_SECP_SECRET_LEN],
                            struct tgx_keeper_chain **out /* OUT: new */, char *err /* OUT */,
                            size_t errlen) TGX_MUSTCHECK;
/* Free (NULL is fine); no call may be running. */
void tgx_keeper_chain_free(struct tgx_keeper_chain *c);
/* The chain id. */
uint64_t tgx_keeper_chain_id(const struct tgx_keeper_chain *c);

/* How an execution ended. */
enum tgx_keeper_outcome_kind {
    TGX_KEEPER_DONE = 0,      /* the transaction succeeded (or, dry run, was built): RESULT is set */
    TGX_KEEPER_TRANSIENT = 1, /* try again later (RPC outage, timeout, nonce race): report /fail with
                                 "permanent": false */
    TGX_KEEPER_PERMANENT = 2, /* will never work (revert, bad ABI or arguments, not a static job,
                                 gas above the cap): report /fail with "permanent": true */
};

/* The outcome of tgx_keeper_execute, embedded by the caller (tgx_keeper_outcome_cleanup). */
struct tgx_keeper_outcome {
    enum tgx_keeper_outcome_kind kind;
    /* DONE: a NEW object, the "result" to submit:
     *   execution_tx_hash, execution_timestamp (the block's unix seconds), gas_used (decimal string),
     *   task_opx_cost (ETH as a decimal string, gas_used x effective gas price), converted_arguments
     *   (the job's arguments as encoded), block_number, effective_gas_price (wei, decimal string),
     *   from, to, chain_id (decimal string), status "success", nonce, tx_type (0 or 2); in a dry run:
     *   dry_run true, calldata, from, to, chain_id, converted_arguments, nonce, gas_limit,
     *   execution_timestamp (now) and no tx hash. */
    json_t *result;
    /* TRANSIENT/PERMANENT: for a person, stored on the task: "execution reverted: Counter: too big",
     * "rpc: connection refused", "arg_type 2 (dynamic arguments) is not supported".  For DONE: "". */
    char error[512];
};

/* Release what OUT holds (a zeroed struct is fine). */
void tgx_keeper_outcome_cleanup(struct tgx_keeper_outcome *out);

/*
 * The calldata of TASK's job: target_function (a name looked up in "abi", or a full signature when
 * there is no ABI) called with "arguments" (strings, read per input type), appended to OUT.
 * "abi" may be a JSON array, an object with an "abi" array, or a string holding either (null, "" or no
 * entries: none).  -TGX_ERR_INVAL with a message in ERR when the job cannot be encoded (OUT unchanged);
 * -TGX_ERR_NOMEM.
 */
int tgx_keeper_calldata(const json_t *task, struct tgx_buf *out, char *err /* OUT */,
                        size_t errlen) TGX_MUSTCHECK;

/*
 * Execute TASK on C (whose chain id must be the task's target_chain_id): encode the call, estimate
 * gas (a revert here is PERMANENT with the decoded reason), take a nonce, sign an EIP-1559
 * transaction (legacy EIP-155 when the latest block has no baseFeePerGas), send, wait for the
 * receipt (status 0 is PERMANENT with the reason replayed by eth_call at that block).  A
 * transaction still pending after receipt_timeout_ms is replaced by a cancel (a 0-value transfer to
 * the keeper's own address, same nonce, fees raised by a quarter), so that it cannot be mined after
 * another keeper retried the task; then whichever of the two is mined within receipt_timeout_ms
 * more decides: the call (the execution goes on) or the cancel (TRANSIENT "... the call did not
 * happen"); neither is TRANSIENT "... the call may still happen".  A task for another chain is
 * TRANSIENT; arg_type 2 and task_definition_id 7 (custom scripts) are PERMANENT.  Blocks up to
 * twice receipt_timeout_ms.  Never returns without filling OUT; returns 0, or -TGX_ERR_NOMEM (OUT
 * then TRANSIENT "out of memory").
 */
int tgx_keeper_execute(struct tgx_keeper_chain *c, const json_t *task,
                       struct tgx_keeper_outcome *out /* OUT */) TGX_MUSTCHECK;

/*
 * Check a peer's result REQ (an item of GET /api/keeper/attestations) on C: the transaction
 * result.execution_tx_hash exists, its receipt has status 1, it went to target_contract_address,
 * its input is exactly tgx_keeper_calldata(REQ), its sender is performer_address, and its block's
 * timestamp is not before scheduled_for (seconds).  A dry-run result (dry_run true) is checked for
 * calldata, from and to only, without the chain, by a dry-run C; a C that is not dry-run disagrees
 * with it (nothing happened on chain).  *AGREE and REASON ("" when agreeing, else the first check that
 * failed, e.g. "transaction input differs from the job's calldata").  Also checked when the result has them:
 * gas_used and block_number equal the receipt's.  Returns 0 with a verdict; -TGX_ERR_IO when the chain
 * cannot be asked now (retry later, no verdict; REASON says why), also for a task of another chain
 * and for a real result given to a dry-run C; -TGX_ERR_NOMEM.
 */
int tgx_keeper_verify(struct tgx_keeper_chain *c, const json_t *req, bool *agree /* OUT */,
                      char *reason /* OUT */, size_t reasonlen) TGX_MUSTCHECK;

#endif
