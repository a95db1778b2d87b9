/*
 * exec.c: the keeper's chain side (keeper_exec.h) against a real node (anvil), one suite per run.
 * Prints unnumbered TAP lines ("ok - ...", "not ok - ...", "# ...") that tests/keeper/exec.sh numbers;
 * exit 0 when every check passed.
 *
 *   exec SUITE RPC_URL KEY_FILE DEPLOY_JSON [DEAD_URL]
 *
 * DEPLOY_JSON is the output of tests/keeper/deploy.mjs (two Counters and Counter's ABI); KEY_FILE the
 * keeper's key (anvil's first dev account).  Suites:
 *   main        increment(5) done and verified; verify disagrees with altered requests; reverts in
 *               estimation (Error(string), custom error); gas cap; another chain id; DEAD_URL (nobody
 *               listens) is transient and verify has no verdict
 *   concurrent  8 executes on one chain from 8 threads; a nonce used behind the keeper's back
 *   legacy      a node without base fee (anvil --hardfork berlin): a type-0 transaction
 *   nomine      anvil --no-mining: a transaction that reverts on chain (status 0); a receipt that
 *               never comes (the keeper replaces the transaction by a cancel, never mined either);
 *               a cancel mined in place of the call
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tgx/abi.h"
#include "tgx/jsonrpc.h"
#include "tgx/keeper_exec.h"
#include "tgx/keyfile.h"
#include "tgx/log.h"
#include "tgx/secp.h"
#include "tgx/tx.h"

#define CHAIN_ID 31337

static int exec_failed; /* checks failed */

static void TGX_PRINTF(2, 3) check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok" : "not ok");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok)
        exec_failed++;
}

/* What every suite needs. */
struct ctx {
    const char *url;
    uint8_t secret[32];
    char keeper[43]; /* the keeper's checksummed address */
    const char *counter, *counter2;
    json_t *abi; /* Counter's ABI (borrowed from deploy) */
    struct tgx_jsonrpc *rpc;
};

static struct tgx_keeper_chain *chain_new(const struct ctx *x, const char *url, uint64_t chain_id,
                                          long receipt_timeout_ms, uint64_t cap)
{
    struct tgx_keeper_chain_opts o = {.chain_id = chain_id,
                                      .rpc_url = url,
                                      .rpc_timeout_ms = 10000,
                                      .receipt_timeout_ms = receipt_timeout_ms,
                                      .receipt_poll_ms = 100,
                                      .gas_limit_cap = cap,
                                      .gas_margin_percent = 20};
    struct tgx_keeper_chain *c = NULL;
    char err[256] = "";
    if (tgx_keeper_chain_create(&o, x->secret, &c, err, sizeof err) < 0) {
        printf("Bail out! chain: %s\n", err);
        exit(1);
    }
    return c;
}

/* An ISO 8601 UTC text of unix seconds T, as PostgreSQL writes a timestamptz in JSON. */
static void iso_time(int64_t t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S.250000+00:00", &tm);
}

/* A task of the gateway for FUNCTION(ARGS...) on CONTRACT. */
static json_t *task_new(const struct ctx *x, long id, const char *contract, const char *function,
                        const char *args_json)
{
    char sched[40];
    iso_time((int64_t)time(NULL) - 120, sched);
    json_t *args = json_loads(args_json, 0, NULL);
    json_t *t = json_pack("{s:I, s:s, s:I, s:I, s:i, s:s, s:s, s:s, s:O, s:i, s:o, s:s, s:n}", "task_id",
                          (json_int_t)id, "job_id", "1", "lease_epoch", (json_int_t)1, "attempt",
                          (json_int_t)1, "task_definition_id", 1, "target_chain_id", "31337",
                          "target_contract_address", contract, "target_function", function, "abi", x->abi,
                          "arg_type", 1, "arguments", args, "scheduled_for", sched, "trigger_data");
    if (t == NULL) {
        printf("Bail out! task_new\n");
        exit(1);
    }
    return t;
}

/* The attestation request of RESULT for TASK by the performer PERFORMER. */
static json_t *request_new(const json_t *task, const json_t *result, const char *performer)
{
    json_t *r = json_deep_copy(task);
    json_object_set(r, "result", (json_t *)result);
    json_object_set_new(r, "performer_address", json_string(performer));
    json_object_set_new(r, "performer_id", json_integer(1));
    json_object_set_new(r, "started_at",
                        json_object_get(task, "scheduled_for") != NULL
                            ? json_copy(json_object_get(task, "scheduled_for"))
                            : json_null());
    return r;
}

/* count() of CONTRACT, or -1. */
static long long counter_value(const struct ctx *x, const char *contract)
{
    static const uint8_t sel[4] = {0x06, 0x66, 0x1a, 0xbd};
    struct tgx_jsonrpc_msg m = {.to = contract, .data = sel, .data_len = 4};
    struct tgx_buf out;
    tgx_buf_init(&out);
    struct tgx_jsonrpc_error err = {0};
    long long v = -1;
    if (tgx_jsonrpc_eth_call(x->rpc, &m, "latest", &out, &err) == 0 && out.len == 32) {
        struct tgx_u256 u = tgx_u256_from_be((const uint8_t *)out.data);
        uint64_t w;
        if (tgx_u256_to_u64(&u, &w))
            v = (long long)w;
    } else {
        printf("# count(): %s\n", err.message);
    }
    tgx_jsonrpc_error_cleanup(&err);
    tgx_buf_cleanup(&out);
    return v;
}

static const char *kind_name(enum tgx_keeper_outcome_kind k)
{
    return k == TGX_KEEPER_DONE ? "DONE" : k == TGX_KEEPER_TRANSIENT ? "TRANSIENT" : "PERMANENT";
}

static bool is_digits(const char *s)
{
    return s != NULL && s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* Verify REQ and check the verdict: AGREE expected, and REASON_PART in the reason when disagreeing. */
static void expect_verdict(struct tgx_keeper_chain *c, const json_t *req, bool want, const char *reason_part,
                           const char *what)
{
    bool agree = !want;
    char reason[512] = "";
    int rc = tgx_keeper_verify(c, req, &agree, reason, sizeof reason);
    if (want)
        check(rc == 0 && agree && reason[0] == '\0', "verify %s: agrees (rc %d, %s)", what, rc, reason);
    else
        check(rc == 0 && !agree && strstr(reason, reason_part) != NULL,
              "verify %s: disagrees with \"%s\" (rc %d)", what, reason, rc);
}

/* Execute TASK on C and check the outcome kind (and MSG_PART in the error when not DONE). */
static void expect_outcome(struct tgx_keeper_chain *c, const json_t *task, enum tgx_keeper_outcome_kind want,
                           const char *msg_part, const char *what, struct tgx_keeper_outcome *keep)
{
    struct tgx_keeper_outcome out;
    int rc = tgx_keeper_execute(c, task, &out);
    bool ok = rc == 0 && out.kind == want && (msg_part == NULL || strstr(out.error, msg_part) != NULL);
    check(ok, "%s: %s \"%s\" (want %s%s%s)", what, kind_name(out.kind), out.error, kind_name(want),
          msg_part ? " with " : "", msg_part ? msg_part : "");
    if (keep != NULL)
        *keep = out;
    else
        tgx_keeper_outcome_cleanup(&out);
}

/* ------------------------------------------------------------------ main */

static void suite_main(struct ctx *x, const char *dead_url)
{
    struct tgx_keeper_chain *c = chain_new(x, x->url, CHAIN_ID, 20000, 0);

    /* increment(5): done, on chain, with a complete result */
    json_t *task = task_new(x, 1, x->counter, "increment", "[\"5\"]");
    struct tgx_keeper_outcome out;
    expect_outcome(c, task, TGX_KEEPER_DONE, NULL, "increment(5)", &out);
    json_t *r = out.result;
    check(counter_value(x, x->counter) == 5, "count() on chain is 5 after increment(5)");
    const char *hash = json_string_value(json_object_get(r, "execution_tx_hash"));
    check(hash != NULL && strlen(hash) == 66 && strncmp(hash, "0x", 2) == 0,
          "result has execution_tx_hash %s", hash ? hash : "(none)");
    const char *gas = json_string_value(json_object_get(r, "gas_used"));
    check(is_digits(gas) && atol(gas) > 21000, "result has gas_used %s", gas ? gas : "(none)");
    const char *cost = json_string_value(json_object_get(r, "task_opx_cost"));
    check(cost != NULL && strncmp(cost, "0.", 2) == 0 && strlen(cost) > 2 && is_digits(cost + 2),
          "result has task_opx_cost %s (ETH)", cost ? cost : "(none)");
    json_int_t bn = json_integer_value(json_object_get(r, "block_number"));
    json_int_t ts = json_integer_value(json_object_get(r, "execution_timestamp"));
    check(bn > 0 && ts > 1600000000 && ts < (json_int_t)time(NULL) + 3600,
          "result has block_number %" JSON_INTEGER_FORMAT " and execution_timestamp %" JSON_INTEGER_FORMAT,
          bn, ts);
    const json_t *conv = json_object_get(r, "converted_arguments");
    const char *from = json_string_value(json_object_get(r, "from"));
    check(json_array_size(conv) == 1 && strcmp(json_string_value(json_array_get(conv, 0)), "5") == 0 &&
              from != NULL && strcmp(from, x->keeper) == 0 &&
              strcmp(json_string_value(json_object_get(r, "status")), "success") == 0,
          "result has converted_arguments [\"5\"], from the keeper and status success");
    char *dump = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    printf("# result: %s\n", dump ? dump : "");
    free(dump);

    /* verify: the result agrees; altered requests do not */
    json_t *req = request_new(task, r, x->keeper);
    expect_verdict(c, req, true, NULL, "of the same task");
    json_t *alt = json_deep_copy(req);
    json_object_set_new(alt, "performer_address", json_string("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    expect_verdict(c, alt, false, "is not the performer", "with another performer_address");
    json_decref(alt);
    alt = json_deep_copy(req);
    json_object_set_new(alt, "arguments", json_pack("[s]", "6"));
    expect_verdict(c, alt, false, "transaction input differs from the job's calldata",
                   "with other arguments");
    json_decref(alt);
    alt = json_deep_copy(req);
    char later[40];
    iso_time(ts + 3600, later);
    json_object_set_new(alt, "scheduled_for", json_string(later));
    expect_verdict(c, alt, false, "is before the task's scheduled_for",
                   "with scheduled_for after the block time");
    json_decref(alt);
    alt = json_deep_copy(req);
    json_object_set_new(json_object_get(alt, "result"), "execution_tx_hash",
                        json_string("0x00000000000000000000000000000000000000000000000000000000000000ab"));
    expect_verdict(c, alt, false, "does not exist", "of a tx hash that does not exist");
    json_decref(alt);
    alt = json_deep_copy(req);
    json_object_set_new(json_object_get(alt, "result"), "gas_used", json_string("1"));
    expect_verdict(c, alt, false, "gas_used differs", "with a wrong gas_used");
    json_decref(alt);

    /* a transaction to another contract, offered as the result of the first task */
    json_t *task2 = task_new(x, 2, x->counter2, "increment", "[\"5\"]");
    struct tgx_keeper_outcome out2;
    expect_outcome(c, task2, TGX_KEEPER_DONE, NULL, "increment(5) on the second Counter", &out2);
    if (out2.result != NULL) {
        alt = request_new(task, out2.result, x->keeper);
        expect_verdict(c, alt, false, "not to the job's contract", "of a tx to another contract");
        json_decref(alt);
    } else {
        check(0, "verify of a tx to another contract: no second transaction");
    }
    tgx_keeper_outcome_cleanup(&out2);
    json_decref(task2);
    check(counter_value(x, x->counter) == 5, "the first Counter is still 5");

    /* reverts during estimation are permanent, with the reason */
    json_t *t = task_new(x, 3, x->counter, "boom", "[]");
    expect_outcome(c, t, TGX_KEEPER_PERMANENT, "execution reverted: Counter: boom", "boom()", NULL);
    json_decref(t);
    t = task_new(x, 4, x->counter, "incrementTo", "[\"10\",\"1\"]");
    expect_outcome(c, t, TGX_KEEPER_PERMANENT, "execution reverted: TooFar(5, 1)", "incrementTo(10,1)", NULL);
    /* without the ABI the custom error cannot be named, but it still reverts */
    json_object_set_new(t, "abi", json_null());
    json_object_set_new(t, "target_function", json_string("incrementTo(uint256,uint256)"));
    expect_outcome(c, t, TGX_KEEPER_PERMANENT, "execution reverted: 0x", "incrementTo(10,1) without abi",
                   NULL);
    json_decref(t);
    check(counter_value(x, x->counter) == 5, "reverted jobs changed nothing (count() is 5)");

    /* a gas cap below the estimate */
    struct tgx_keeper_chain *capped = chain_new(x, x->url, CHAIN_ID, 20000, 21000);
    expect_outcome(capped, task, TGX_KEEPER_PERMANENT, "is above the cap 21000",
                   "increment(5) with gas cap 21000", NULL);
    tgx_keeper_chain_free(capped);

    /* a node of another chain */
    struct tgx_keeper_chain *other = chain_new(x, x->url, 1, 20000, 0);
    t = json_deep_copy(task);
    json_object_set_new(t, "target_chain_id", json_string("1"));
    expect_outcome(other, t, TGX_KEEPER_TRANSIENT, "the node serves chain 31337, not chain 1",
                   "a node of chain 31337 configured as chain 1", NULL);
    json_decref(t);
    tgx_keeper_chain_free(other);

    /* nobody listens: transient, and verify gives no verdict */
    if (dead_url != NULL) {
        struct tgx_keeper_chain *dead = chain_new(x, dead_url, CHAIN_ID, 2000, 0);
        expect_outcome(dead, task, TGX_KEEPER_TRANSIENT, "rpc: ", "increment(5) with nobody at the RPC URL",
                       NULL);
        bool agree = true;
        char reason[512] = "";
        int rc = tgx_keeper_verify(dead, req, &agree, reason, sizeof reason);
        check(rc == -TGX_ERR_IO && !agree && strncmp(reason, "rpc: ", 5) == 0,
              "verify with nobody at the RPC URL: -TGX_ERR_IO (rc %d, \"%s\")", rc, reason);
        tgx_keeper_chain_free(dead);
    }
    check(counter_value(x, x->counter) == 5, "count() is still 5 at the end");

    json_decref(req);
    tgx_keeper_outcome_cleanup(&out);
    json_decref(task);
    tgx_keeper_chain_free(c);
}

/* ------------------------------------------------------------------ concurrent */

struct worker {
    struct tgx_keeper_chain *c;
    json_t *task;
    struct tgx_keeper_outcome out;
    int rc;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    w->rc = tgx_keeper_execute(w->c, w->task, &w->out);
    return NULL;
}

static void suite_concurrent(struct ctx *x)
{
    enum { N = 8 };
    struct tgx_keeper_chain *c = chain_new(x, x->url, CHAIN_ID, 30000, 0);
    long long before = counter_value(x, x->counter);
    struct worker w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].c = c;
        w[i].task = task_new(x, 100 + i, x->counter, "increment", "[\"1\"]");
        if (pthread_create(&th[i], NULL, worker_run, &w[i]) != 0) {
            printf("Bail out! pthread_create\n");
            exit(1);
        }
    }
    int done = 0;
    uint64_t seen = 0; /* bit i: nonce i used (the keeper's account starts at 0 on a fresh anvil) */
    bool distinct = true;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (w[i].rc == 0 && w[i].out.kind == TGX_KEEPER_DONE)
            done++;
        else
            printf("# worker %d: %s %s\n", i, kind_name(w[i].out.kind), w[i].out.error);
        json_int_t n = json_integer_value(json_object_get(w[i].out.result, "nonce"));
        if (w[i].out.result == NULL || n < 0 || n >= 64 || (seen & ((uint64_t)1 << n)))
            distinct = false;
        else
            seen |= (uint64_t)1 << n;
    }
    check(done == N, "%d concurrent executes on one chain: %d DONE", N, done);
    long long after = counter_value(x, x->counter);
    check(after == before + N, "count() grew by %d (%lld -> %lld)", N, before, after);
    int lowest = __builtin_ctzll(seen ? seen : 1);
    check(distinct && seen == ((((uint64_t)1 << N) - 1) << lowest),
          "the %d transactions used %d distinct, consecutive nonces", N, N);
    for (int i = 0; i < N; i++) {
        tgx_keeper_outcome_cleanup(&w[i].out);
        json_decref(w[i].task);
    }

    /* a transaction sent with the keeper's key behind the chain's back: the next send hits
       "nonce too low", re-reads the nonce and succeeds */
    struct tgx_jsonrpc_error err = {0};
    uint64_t nonce = 0;
    struct tgx_u256 price;
    int rc = tgx_jsonrpc_get_transaction_count(x->rpc, x->keeper, "pending", &nonce, &err);
    rc = rc < 0 ? rc : tgx_jsonrpc_gas_price(x->rpc, &price, &err);
    struct tgx_tx tx = {.type = TGX_TX_LEGACY, .chain_id = CHAIN_ID, .nonce = nonce, .gas_limit = 21000};
    tx.gas_price = price;
    tx.gas_price.w[0] *= 2;
    tx.has_to = true;
    rc = rc < 0 ? rc : tgx_abi_address_parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", tx.to);
    struct tgx_tx_signed st;
    tgx_tx_signed_init(&st);
    char h[67] = "";
    rc = rc < 0 ? rc : tgx_tx_sign(&tx, x->secret, &st);
    rc = rc < 0 ? rc
                : tgx_jsonrpc_send_raw_transaction(x->rpc, (const uint8_t *)st.raw.data, st.raw.len, h, &err);
    tgx_tx_signed_cleanup(&st);
    check(rc == 0, "a transfer with the keeper's key, nonce %llu, sent outside the chain%s%s",
          (unsigned long long)nonce, rc ? ": " : "", rc ? err.message : "");
    tgx_jsonrpc_error_cleanup(&err);
    for (int i = 0; i < 100; i++) { /* let it be mined */
        json_t *rcpt = NULL;
        if (tgx_jsonrpc_get_receipt(x->rpc, h, &rcpt, NULL) == 0 && rcpt != NULL) {
            json_decref(rcpt);
            break;
        }
        usleep(50000);
    }
    FILE *log = tmpfile();
    tgx_log_set_stream(log);
    json_t *t = task_new(x, 200, x->counter, "increment", "[\"1\"]");
    expect_outcome(c, t, TGX_KEEPER_DONE, NULL, "increment(1) after the nonce moved behind the chain's back",
                   NULL);
    json_decref(t);
    tgx_log_set_stream(NULL);
    char text[4096] = "";
    if (log != NULL) {
        rewind(log);
        text[fread(text, 1, sizeof text - 1, log)] = '\0';
        fclose(log);
    }
    char want[64];
    snprintf(want, sizeof want, "nonce %llu refused", (unsigned long long)nonce);
    check(strstr(text, want) != NULL && strstr(text, "re-reading it from the node") != NULL,
          "the node refused the stale nonce %llu and the chain re-read it", (unsigned long long)nonce);
    if (strstr(text, want) == NULL)
        printf("# log: %s\n", text);
    check(counter_value(x, x->counter) == after + 1, "count() grew by 1 more");
    tgx_keeper_chain_free(c);
}

/* ------------------------------------------------------------------ legacy */

static void suite_legacy(struct ctx *x)
{
    struct tgx_keeper_chain *c = chain_new(x, x->url, CHAIN_ID, 20000, 0);
    json_t *block = NULL;
    int rc = tgx_jsonrpc_get_block(x->rpc, "latest", false, &block, NULL);
    check(rc == 0 && block != NULL && json_object_get(block, "baseFeePerGas") == NULL,
          "the node's latest block has no baseFeePerGas");
    json_decref(block);
    json_t *task = task_new(x, 1, x->counter, "increment", "[\"2\"]");
    struct tgx_keeper_outcome out;
    expect_outcome(c, task, TGX_KEEPER_DONE, NULL, "increment(2) on a chain without base fee", &out);
    const char *hash = json_string_value(json_object_get(out.result, "execution_tx_hash"));
    json_t *t = NULL;
    rc = hash != NULL ? tgx_jsonrpc_get_transaction(x->rpc, hash, &t, NULL) : -1;
    const char *type = json_string_value(json_object_get(t, "type"));
    check(rc == 0 && type != NULL && strcmp(type, "0x0") == 0 && json_object_get(t, "gasPrice") != NULL &&
              json_integer_value(json_object_get(out.result, "tx_type")) == 0,
          "the transaction is legacy (type %s)", type ? type : "(none)");
    json_decref(t);
    check(counter_value(x, x->counter) == 2, "count() on chain is 2");
    if (out.result != NULL) {
        json_t *req = request_new(task, out.result, x->keeper);
        expect_verdict(c, req, true, NULL, "of the legacy transaction");
        json_decref(req);
    }
    tgx_keeper_outcome_cleanup(&out);
    json_decref(task);
    tgx_keeper_chain_free(c);
}

/* ------------------------------------------------------------------ nomine */

/* Whether the node's pool holds, from the keeper at NONCE, a transaction to the keeper itself. */
static bool pool_has_cancel(const struct ctx *x, uint64_t nonce)
{
    json_t *res = NULL, *txs;
    const char *from;
    bool found = false;
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)nonce);
    if (tgx_jsonrpc_call(x->rpc, "txpool_content", json_array(), &res, NULL) == 0) {
        json_object_foreach(json_object_get(res, "pending"), from, txs)
        {
            const char *to = json_string_value(json_object_get(json_object_get(txs, key), "to"));
            if (strcasecmp(from, x->keeper) == 0 && to != NULL && strcasecmp(to, x->keeper) == 0)
                found = true;
        }
    }
    json_decref(res);
    return found;
}

static void suite_nomine(struct ctx *x)
{
    /* incrementTo(1,1) passes estimation (count 0); before it is mined the count becomes 5, so the
       mined transaction reverts: status 0, reason replayed at its block */
    struct tgx_keeper_chain *c = chain_new(x, x->url, CHAIN_ID, 30000, 0);
    struct worker w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.task = task_new(x, 1, x->counter, "incrementTo", "[\"1\",\"1\"]");
    uint64_t mined = 0, pending = 0;
    int rc = tgx_jsonrpc_get_transaction_count(x->rpc, x->keeper, "latest", &mined, NULL);
    pthread_t th;
    if (rc < 0 || pthread_create(&th, NULL, worker_run, &w) != 0) {
        printf("Bail out! nomine setup\n");
        exit(1);
    }
    for (int i = 0; i < 400 && pending <= mined; i++) {
        usleep(50000);
        if (tgx_jsonrpc_get_transaction_count(x->rpc, x->keeper, "pending", &pending, NULL) < 0)
            pending = 0;
    }
    check(pending == mined + 1, "the keeper's transaction waits in the pool (nonce %llu)",
          (unsigned long long)mined);
    json_t *res = NULL;
    json_t *params = json_pack("[s, s, s]", x->counter, "0x0",
                               "0x0000000000000000000000000000000000000000000000000000000000000005");
    int rc1 = tgx_jsonrpc_call(x->rpc, "anvil_setStorageAt", params, &res, NULL);
    json_decref(res);
    res = NULL;
    int rc2 = tgx_jsonrpc_call(x->rpc, "evm_mine", json_array(), &res, NULL);
    json_decref(res);
    check(rc1 == 0 && rc2 == 0, "count set to 5 behind its back, then one block mined");
    pthread_join(th, NULL);
    check(w.rc == 0 && w.out.kind == TGX_KEEPER_PERMANENT && strstr(w.out.error, "TooFar(5, 1)") != NULL &&
              strstr(w.out.error, "status 0") != NULL,
          "a transaction reverted on chain: %s \"%s\"", kind_name(w.out.kind), w.out.error);
    tgx_keeper_outcome_cleanup(&w.out);
    json_decref(w.task);
    tgx_keeper_chain_free(c);

    /* nothing is mined any more: the receipt never comes, nor the cancel's that replaces it */
    c = chain_new(x, x->url, CHAIN_ID, 1500, 0);
    json_t *t = task_new(x, 2, x->counter, "increment", "[\"1\"]");
    expect_outcome(c, t, TGX_KEEPER_TRANSIENT, "nor for its cancel 0x", "increment(1) that is never mined",
                   NULL);
    json_decref(t);

    /* the cancel is mined in place of the call: the retry elsewhere is safe */
    long long before = counter_value(x, x->counter);
    memset(&w, 0, sizeof w);
    w.c = c;
    w.task = task_new(x, 3, x->counter, "increment", "[\"1\"]");
    rc = tgx_jsonrpc_get_transaction_count(x->rpc, x->keeper, "pending", &pending, NULL);
    if (rc < 0 || pthread_create(&th, NULL, worker_run, &w) != 0) {
        printf("Bail out! nomine setup\n");
        exit(1);
    }
    bool cancelled = false;
    for (int i = 0; i < 400 && !(cancelled = pool_has_cancel(x, pending)); i++)
        usleep(50000);
    check(cancelled, "after the receipt timeout the keeper replaced its transaction (nonce %llu) by a cancel",
          (unsigned long long)pending);
    res = NULL;
    rc2 = tgx_jsonrpc_call(x->rpc, "evm_mine", json_array(), &res, NULL);
    json_decref(res);
    pthread_join(th, NULL);
    check(rc2 == 0 && w.rc == 0 && w.out.kind == TGX_KEEPER_TRANSIENT &&
              strstr(w.out.error, "was mined instead: the call did not happen") != NULL,
          "the cancel was mined: %s \"%s\"", kind_name(w.out.kind), w.out.error);
    check(counter_value(x, x->counter) == before, "count() is unchanged (%lld): increment(1) never ran",
          before);
    tgx_keeper_outcome_cleanup(&w.out);
    json_decref(w.task);
    tgx_keeper_chain_free(c);
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: exec SUITE RPC_URL KEY_FILE DEPLOY_JSON [DEAD_URL]\n");
        return 2;
    }
    struct ctx x;
    memset(&x, 0, sizeof x);
    x.url = argv[2];
    char err[256] = "";
    uint8_t addr[20];
    if (tgx_keyfile_read(argv[3], x.secret, err, sizeof err) < 0 || tgx_secp_address(x.secret, addr) < 0) {
        printf("Bail out! key: %s\n", err);
        return 1;
    }
    tgx_secp_address_text(addr, x.keeper);
    json_error_t je;
    json_t *deploy = json_load_file(argv[4], 0, &je);
    x.counter = json_string_value(json_object_get(deploy, "counter"));
    x.counter2 = json_string_value(json_object_get(deploy, "counter2"));
    x.abi = json_object_get(deploy, "abi");
    if (x.counter == NULL || x.counter2 == NULL || !json_is_array(x.abi)) {
        printf("Bail out! %s is not the output of deploy.mjs\n", argv[4]);
        json_decref(deploy);
        return 1;
    }
    if (tgx_jsonrpc_create(x.url, 10000, &x.rpc) < 0) {
        printf("Bail out! bad RPC URL %s\n", x.url);
        json_decref(deploy);
        return 1;
    }
    const char *suite = argv[1];
    if (strcmp(suite, "main") == 0) {
        suite_main(&x, argc == 6 ? argv[5] : NULL);
    } else if (strcmp(suite, "concurrent") == 0) {
        suite_concurrent(&x);
    } else if (strcmp(suite, "legacy") == 0) {
        suite_legacy(&x);
    } else if (strcmp(suite, "nomine") == 0) {
        suite_nomine(&x);
    } else {
        printf("Bail out! unknown suite %s\n", suite);
        exec_failed++;
    }
    tgx_jsonrpc_free(x.rpc);
    json_decref(deploy);
    explicit_bzero(x.secret, sizeof x.secret);
    return exec_failed == 0 ? 0 : 1;
}
