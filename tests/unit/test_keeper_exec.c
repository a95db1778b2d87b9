/* test_keeper_exec.c: the keeper's chain side without a network (keeper_exec.h): the job's calldata from
 * each ABI shape the gateway hands out, the errors of jobs that cannot be encoded, chain options,
 * execution outcomes that need no node (not a static job, wrong chain, dry runs) and dry-run
 * attestation.  The chain paths run against anvil in tests/keeper/exec.sh. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/abi.h"
#include "tgx/keeper_exec.h"
#include "tgx/log.h"

/* The Counter of tests/e2e/contracts as a JSON ABI (the parts the tests use). */
#define COUNTER_ABI                                                                                          \
    "[{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[{\"name\":\"by\",\"type\":\"uint256\"}],"    \
    "\"outputs\":[],\"stateMutability\":\"nonpayable\"},"                                                    \
    "{\"type\":\"function\",\"name\":\"incrementTo\",\"inputs\":[{\"name\":\"by\",\"type\":\"uint256\"},"    \
    "{\"name\":\"limit\",\"type\":\"uint256\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},"         \
    "{\"type\":\"function\",\"name\":\"boom\",\"inputs\":[],\"outputs\":[],\"stateMutability\":\"pure\"},"   \
    "{\"type\":\"function\",\"name\":\"count\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":"          \
    "\"uint256\"}],\"stateMutability\":\"view\"},"                                                           \
    "{\"type\":\"error\",\"name\":\"TooFar\",\"inputs\":[{\"name\":\"count\",\"type\":\"uint256\"},"         \
    "{\"name\":\"limit\",\"type\":\"uint256\"}]}]"

/* increment(5): selector keccak("increment(uint256)")[0..4] and one word */
#define INCREMENT_5                                                                                          \
    "0x7cf5dab0"                                                                                             \
    "0000000000000000000000000000000000000000000000000000000000000005"

#define CONTRACT  "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define CONTRACT2 "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
/* anvil's first dev key and its address */
#define DEV_KEY_HEX "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV_ADDRESS "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define OTHER_ADDR  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

static void exec_test_secret(uint8_t secret[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(DEV_KEY_HEX + 2 * i, "%2x", &v);
        secret[i] = (uint8_t)v;
    }
}

/* A task object: the gateway's fields; ABI_JSON is JSON text (NULL: no "abi"), ARGS_JSON a JSON array. */
static json_t *exec_test_task(const char *function, const char *abi_json, const char *args_json)
{
    json_t *t =
        json_pack("{s:I, s:s, s:I, s:i, s:s, s:s, s:i, s:s}", "task_id", (json_int_t)42, "job_id", "7",
                  "lease_epoch", (json_int_t)1, "task_definition_id", 1, "target_chain_id", "31337",
                  "target_contract_address", CONTRACT, "arg_type", 1, "target_function", function);
    cr_assert(t != NULL);
    json_error_t je;
    if (abi_json != NULL) {
        json_t *abi = json_loads(abi_json, JSON_DECODE_ANY, &je);
        cr_assert(abi != NULL, "abi: %s", je.text);
        json_object_set_new(t, "abi", abi);
    }
    json_t *args = json_loads(args_json, 0, &je);
    cr_assert(args != NULL, "args: %s", je.text);
    json_object_set_new(t, "arguments", args);
    json_object_set_new(t, "scheduled_for", json_string("2024-05-01T12:00:00.123456+00:00"));
    return t;
}

/* The calldata of TASK as 0x-hex (static buffer), or "ERR: message". */
static const char *exec_test_calldata(const json_t *task, int *rc)
{
    static char text[1024];
    struct tgx_buf b, h;
    tgx_buf_init(&b);
    tgx_buf_init(&h);
    char err[256] = "x";
    *rc = tgx_keeper_calldata(task, &b, err, sizeof err);
    if (*rc == 0) {
        tgx_abi_hex_append(&h, b.data, b.len);
        snprintf(text, sizeof text, "%s", h.data);
    } else {
        snprintf(text, sizeof text, "ERR: %s", err);
    }
    tgx_buf_cleanup(&b);
    tgx_buf_cleanup(&h);
    return text;
}

/* ------------------------------------------------------------------ calldata */

Test(keeper_exec_calldata, abi_as_array_string_object_or_signature)
{
    json_t *abi = json_loads(COUNTER_ABI, 0, NULL);
    cr_assert(abi != NULL);
    char *abi_text = json_dumps(abi, JSON_COMPACT);
    json_t *abi_str = json_string(abi_text);
    char *abi_str_text = json_dumps(abi_str, JSON_ENCODE_ANY);
    json_t *wrapped = json_pack("{s:O, s:s}", "abi", abi, "contractName", "Counter");
    char *wrapped_text = json_dumps(wrapped, JSON_COMPACT);
    json_t *wrapped_str = json_string(wrapped_text);
    char *wrapped_str_text = json_dumps(wrapped_str, JSON_ENCODE_ANY);

    static const struct {
        const char *what, *function;
        int abi; /* 0 none, 1 array, 2 string of the array, 3 object, 4 string of the object, 5 null, 6 "" */
        const char *args, *want;
    } cases[] = {
        {"abi as array", "increment", 1, "[\"5\"]", INCREMENT_5},
        {"abi as string", "increment", 2, "[\"5\"]", INCREMENT_5},
        {"abi as object with abi", "increment", 3, "[\"5\"]", INCREMENT_5},
        {"abi as string holding an object", "increment", 4, "[\"5\"]", INCREMENT_5},
        {"no abi, signature", "increment(uint256)", 0, "[\"5\"]", INCREMENT_5},
        {"null abi, signature", "increment(uint256)", 5, "[\"5\"]", INCREMENT_5},
        {"empty abi string, signature", "increment(uint256)", 6, "[\"0x5\"]", INCREMENT_5},
        {"abi and a signature", "increment(uint256)", 1, "[\" 5 \"]", INCREMENT_5},
        {"no arguments", "boom", 1, "[]", "0xa169ce09"},
        {"two arguments", "incrementTo", 2, "[\"1\",\"0\"]",
         "0x9c70b29a"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *abi_json = NULL;
        switch (cases[i].abi) {
        case 1:
            abi_json = COUNTER_ABI;
            break;
        case 2:
            abi_json = abi_str_text;
            break;
        case 3:
            abi_json = wrapped_text;
            break;
        case 4:
            abi_json = wrapped_str_text;
            break;
        case 5:
            abi_json = "null";
            break;
        case 6:
            abi_json = "\"\"";
            break;
        default:
            break;
        }
        json_t *t = exec_test_task(cases[i].function, abi_json, cases[i].args);
        int rc;
        const char *got = exec_test_calldata(t, &rc);
        cr_expect_eq(rc, 0, "%s: %s", cases[i].what, got);
        cr_expect_str_eq(got, cases[i].want, "%s", cases[i].what);
        json_decref(t);
    }
    /* the selectors above are keccak's */
    uint8_t sel[4];
    tgx_abi_selector("incrementTo(uint256,uint256)", sel);
    cr_expect(sel[0] == 0x9c && sel[1] == 0x70 && sel[2] == 0xb2 && sel[3] == 0x9a);
    tgx_abi_selector("boom()", sel);
    cr_expect(sel[0] == 0xa1 && sel[1] == 0x69 && sel[2] == 0xce && sel[3] == 0x09);

    free(abi_text);
    free(abi_str_text);
    free(wrapped_text);
    free(wrapped_str_text);
    json_decref(abi);
    json_decref(abi_str);
    json_decref(wrapped);
    json_decref(wrapped_str);
}

Test(keeper_exec_calldata, jobs_that_cannot_be_encoded)
{
    static const struct {
        const char *what, *function, *abi, *args, *msg;
    } cases[] = {
        {"unknown function", "nope", COUNTER_ABI, "[]",
         "target_function \"nope\" is not a function of the abi"},
        {"unknown signature", "nope(uint256)", COUNTER_ABI, "[\"1\"]", "is not a function of the abi"},
        {"bare name without abi", "increment", NULL, "[\"5\"]", "give the full signature"},
        {"malformed signature", "increment(uint257)", NULL, "[\"5\"]", "invalid target_function"},
        {"too many arguments", "increment", COUNTER_ABI, "[\"1\",\"2\"]",
         "increment(uint256) expects 1 argument, got 2"},
        {"too few arguments", "incrementTo", COUNTER_ABI, "[\"1\"]",
         "incrementTo(uint256,uint256) expects 2 arguments, got 1"},
        {"count against a signature", "increment(uint256)", NULL, "[]", "cannot encode increment(uint256)"},
        {"not a number", "increment", COUNTER_ABI, "[\"five\"]", "cannot encode increment(uint256): "},
        {"negative uint", "increment(uint256)", NULL, "[\"-1\"]", "cannot encode increment(uint256): "},
        {"abi not JSON", "increment", "\"not json\"", "[\"5\"]", "invalid abi"},
        {"abi of a wrong type", "increment", "42", "[\"5\"]", "abi must be"},
        {"object without abi", "increment", "{\"x\":1}", "[\"5\"]", "invalid abi"},
        {"no function", "", COUNTER_ABI, "[]", "the job has no target_function"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *t = exec_test_task(cases[i].function, cases[i].abi, cases[i].args);
        int rc;
        const char *got = exec_test_calldata(t, &rc);
        cr_expect_eq(rc, -TGX_ERR_INVAL, "%s: rc %d (%s)", cases[i].what, rc, got);
        cr_expect(strstr(got, cases[i].msg) != NULL, "%s: \"%s\" lacks \"%s\"", cases[i].what, got,
                  cases[i].msg);
        json_decref(t);
    }
    /* arguments that are not an array */
    json_t *t = exec_test_task("increment", COUNTER_ABI, "[]");
    json_object_set_new(t, "arguments", json_string("5"));
    int rc;
    const char *got = exec_test_calldata(t, &rc);
    cr_expect_eq(rc, -TGX_ERR_INVAL);
    cr_expect(strstr(got, "arguments must be a JSON array") != NULL, "%s", got);
    /* no "arguments" at all is no arguments */
    json_object_del(t, "arguments");
    json_object_set_new(t, "target_function", json_string("boom"));
    got = exec_test_calldata(t, &rc);
    cr_expect_eq(rc, 0, "%s", got);
    cr_expect_str_eq(got, "0xa169ce09");
    json_decref(t);
}

Test(keeper_exec_calldata, appends_and_keeps_the_buffer_on_failure)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_buf_puts(&b, "ab");
    char err[128];
    json_t *t = exec_test_task("increment", COUNTER_ABI, "[\"5\"]");
    cr_assert_eq(tgx_keeper_calldata(t, &b, err, sizeof err), 0);
    cr_expect_eq(b.len, 2 + 36);
    cr_expect(memcmp(b.data, "ab", 2) == 0);
    json_object_set_new(t, "arguments", json_pack("[s,s]", "1", "2"));
    cr_expect_eq(tgx_keeper_calldata(t, &b, err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_eq(b.len, 2 + 36);
    json_decref(t);
    tgx_buf_cleanup(&b);
}

/* ------------------------------------------------------------------ chains and outcomes */

static struct tgx_keeper_chain *exec_test_chain(bool dry_run, const char *url)
{
    uint8_t secret[32];
    exec_test_secret(secret);
    struct tgx_keeper_chain_opts o = {.chain_id = 31337, .rpc_url = url, .dry_run = dry_run};
    struct tgx_keeper_chain *c = NULL;
    char err[256] = "";
    cr_assert_eq(tgx_keeper_chain_create(&o, secret, &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tgx_keeper_chain_id(c), 31337);
    return c;
}

Test(keeper_exec_chain, bad_options)
{
    uint8_t secret[32], zero[32] = {0};
    exec_test_secret(secret);
    static const struct {
        uint64_t chain_id;
        const char *url;
        bool dry_run;
        long rpc_timeout;
        const char *msg;
    } cases[] = {
        {0, "http://127.0.0.1:8545", false, 0, "invalid chain id"},
        {(uint64_t)1 << 63, "http://127.0.0.1:8545", false, 0, "invalid chain id"},
        {1, NULL, false, 0, "chain 1 has no RPC URL"},
        {1, "", false, 0, "chain 1 has no RPC URL"},
        {1, "ftp://127.0.0.1/", false, 0, "invalid RPC URL for chain 1"},
        {1, "http://127.0.0.1:8545", false, -1, "must not be negative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_keeper_chain_opts o = {.chain_id = cases[i].chain_id,
                                          .rpc_url = cases[i].url,
                                          .dry_run = cases[i].dry_run,
                                          .rpc_timeout_ms = cases[i].rpc_timeout};
        struct tgx_keeper_chain *c = (struct tgx_keeper_chain *)1;
        char err[256] = "";
        cr_expect_eq(tgx_keeper_chain_create(&o, secret, &c, err, sizeof err), -TGX_ERR_INVAL, "case %zu", i);
        cr_expect(c == NULL, "case %zu", i);
        cr_expect(strstr(err, cases[i].msg) != NULL, "case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
    }
    /* an invalid key is refused without showing it */
    struct tgx_keeper_chain_opts o = {.chain_id = 1, .rpc_url = "http://127.0.0.1:8545"};
    struct tgx_keeper_chain *c = NULL;
    char err[256] = "";
    cr_expect_eq(tgx_keeper_chain_create(&o, zero, &c, err, sizeof err), -TGX_ERR_INVAL);
    cr_expect_str_eq(err, "invalid secret key");
    /* a dry run needs no URL */
    o.rpc_url = NULL;
    o.dry_run = true;
    cr_expect_eq(tgx_keeper_chain_create(&o, secret, &c, err, sizeof err), 0, "%s", err);
    tgx_keeper_chain_free(c);
    tgx_keeper_chain_free(NULL);
}

Test(keeper_exec_chain, outcome_cleanup_of_a_zeroed_struct)
{
    struct tgx_keeper_outcome out;
    memset(&out, 0, sizeof out);
    tgx_keeper_outcome_cleanup(&out);
    cr_expect(out.result == NULL);
    tgx_keeper_outcome_cleanup(NULL);
    out.result = json_object();
    tgx_keeper_outcome_cleanup(&out);
    cr_expect(out.result == NULL);
    tgx_keeper_outcome_cleanup(&out); /* twice is fine */
}

Test(keeper_exec_chain, tasks_that_are_not_static_or_not_for_this_chain)
{
    struct tgx_keeper_chain *c = exec_test_chain(true, NULL);
    static const struct {
        const char *what, *field, *value_json;
        enum tgx_keeper_outcome_kind kind;
        const char *msg;
    } cases[] = {
        {"dynamic arguments", "arg_type", "2", TGX_KEEPER_PERMANENT,
         "arg_type 2 (dynamic arguments) is not supported"},
        {"dynamic arguments as text", "arg_type", "\"2\"", TGX_KEEPER_PERMANENT, "arg_type 2"},
        {"custom script", "task_definition_id", "7", TGX_KEEPER_PERMANENT, "custom scripts"},
        {"another chain", "target_chain_id", "\"1\"", TGX_KEEPER_TRANSIENT,
         "the task targets chain 1, not chain 31337"},
        {"chain id missing", "target_chain_id", "null", TGX_KEEPER_PERMANENT, "target_chain_id"},
        {"bad contract", "target_contract_address", "\"0x1234\"", TGX_KEEPER_PERMANENT,
         "target_contract_address is not an address"},
        {"bad function", "target_function", "\"nope\"", TGX_KEEPER_PERMANENT, "is not a function of the abi"},
        {"bad argument", "arguments", "[\"x\"]", TGX_KEEPER_PERMANENT, "cannot encode increment(uint256)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *t = exec_test_task("increment", COUNTER_ABI, "[\"5\"]");
        json_object_set_new(t, cases[i].field, json_loads(cases[i].value_json, JSON_DECODE_ANY, NULL));
        struct tgx_keeper_outcome out;
        cr_expect_eq(tgx_keeper_execute(c, t, &out), 0, "%s", cases[i].what);
        cr_expect_eq(out.kind, cases[i].kind, "%s: kind %d (%s)", cases[i].what, out.kind, out.error);
        cr_expect(out.result == NULL, "%s", cases[i].what);
        cr_expect(strstr(out.error, cases[i].msg) != NULL, "%s: \"%s\" lacks \"%s\"", cases[i].what,
                  out.error, cases[i].msg);
        tgx_keeper_outcome_cleanup(&out);
        json_decref(t);
    }
    /* a chain id given as a number is the same */
    json_t *t = exec_test_task("increment", COUNTER_ABI, "[\"5\"]");
    json_object_set_new(t, "target_chain_id", json_integer(31337));
    struct tgx_keeper_outcome out;
    cr_expect_eq(tgx_keeper_execute(c, t, &out), 0);
    cr_expect_eq(out.kind, TGX_KEEPER_DONE, "%s", out.error);
    tgx_keeper_outcome_cleanup(&out);
    json_decref(t);
    tgx_keeper_chain_free(c);
}

/* ------------------------------------------------------------------ dry runs */

Test(keeper_exec_dry_run, execute_reports_the_unsent_call)
{
    /* the key never reaches the log, even at debug level */
    FILE *log = tmpfile();
    cr_assert(log != NULL);
    tgx_log_set_stream(log);
    tgx_log_set_level(TGX_LOG_DEBUG);

    struct tgx_keeper_chain *c = exec_test_chain(true, NULL);
    json_t *t = exec_test_task("increment", COUNTER_ABI, "[\"0x05\"]");
    for (int i = 0; i < 2; i++) {
        struct tgx_keeper_outcome out;
        cr_assert_eq(tgx_keeper_execute(c, t, &out), 0);
        cr_assert_eq(out.kind, TGX_KEEPER_DONE, "%s", out.error);
        cr_expect_str_eq(out.error, "");
        json_t *r = out.result;
        cr_assert(json_is_object(r));
        cr_expect(json_is_true(json_object_get(r, "dry_run")));
        cr_expect_str_eq(json_string_value(json_object_get(r, "calldata")), INCREMENT_5);
        cr_expect_str_eq(json_string_value(json_object_get(r, "from")), DEV_ADDRESS);
        cr_expect_str_eq(json_string_value(json_object_get(r, "to")), CONTRACT);
        cr_expect_str_eq(json_string_value(json_object_get(r, "chain_id")), "31337");
        cr_expect(json_object_get(r, "execution_tx_hash") == NULL);
        /* the arguments as encoded: 0x05 is 5 */
        json_t *conv = json_object_get(r, "converted_arguments");
        cr_expect_eq(json_array_size(conv), 1);
        cr_expect_str_eq(json_string_value(json_array_get(conv, 0)), "5");
        /* the local nonce counter moves */
        cr_expect_eq(json_integer_value(json_object_get(r, "nonce")), i);
        cr_expect_eq(json_integer_value(json_object_get(r, "gas_limit")), 1000000);
        tgx_keeper_outcome_cleanup(&out);
    }
    json_decref(t);
    tgx_keeper_chain_free(c);

    fflush(log);
    rewind(log);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    tgx_log_set_stream(NULL);
    tgx_log_set_level(TGX_LOG_INFO);
    cr_expect(n > 0, "debug lines were written");
    cr_expect(strstr(text, DEV_KEY_HEX) == NULL && strstr(text, "ac0974be") == NULL, "the key is in the log");
}

/* The attestation request of a dry-run RESULT for the task of exec_test_task(function, abi, args). */
static json_t *exec_test_request(const json_t *result, const char *function, const char *args,
                                 const char *performer)
{
    json_t *req = exec_test_task(function, COUNTER_ABI, args);
    json_object_set(req, "result", (json_t *)result);
    json_object_set_new(req, "performer_address", json_string(performer));
    json_object_set_new(req, "started_at", json_string("2024-05-01T12:00:01+00:00"));
    return req;
}

Test(keeper_exec_dry_run, verify_agrees_with_the_same_task_only)
{
    struct tgx_keeper_chain *c = exec_test_chain(true, NULL);
    json_t *t = exec_test_task("increment", COUNTER_ABI, "[\"5\"]");
    struct tgx_keeper_outcome out;
    cr_assert_eq(tgx_keeper_execute(c, t, &out), 0);
    cr_assert_eq(out.kind, TGX_KEEPER_DONE, "%s", out.error);
    json_decref(t);

    bool agree = false;
    char reason[256] = "x";
    /* the same task, the performer's address in any case */
    json_t *req =
        exec_test_request(out.result, "increment", "[\"5\"]", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    cr_expect_eq(tgx_keeper_verify(c, req, &agree, reason, sizeof reason), 0);
    cr_expect(agree, "%s", reason);
    cr_expect_str_eq(reason, "");
    json_decref(req);

    static const struct {
        const char *what, *function, *args, *performer, *to, *msg;
    } cases[] = {
        {"other arguments", "increment", "[\"6\"]", DEV_ADDRESS, CONTRACT, "calldata differs"},
        {"other function", "incrementTo", "[\"5\",\"9\"]", DEV_ADDRESS, CONTRACT, "calldata differs"},
        {"other performer", "increment", "[\"5\"]", OTHER_ADDR, CONTRACT, "sender is not the performer"},
        {"other contract", "increment", "[\"5\"]", DEV_ADDRESS, CONTRACT2,
         "target is not the job's contract"},
        {"job not encodable", "increment", "[\"x\"]", DEV_ADDRESS, CONTRACT, "the job cannot be encoded"},
        {"no performer", "increment", "[\"5\"]", "", CONTRACT, "performer_address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        req = exec_test_request(out.result, cases[i].function, cases[i].args, cases[i].performer);
        json_object_set_new(req, "target_contract_address", json_string(cases[i].to));
        agree = true;
        cr_expect_eq(tgx_keeper_verify(c, req, &agree, reason, sizeof reason), 0, "%s", cases[i].what);
        cr_expect(!agree, "%s", cases[i].what);
        cr_expect(strstr(reason, cases[i].msg) != NULL, "%s: \"%s\" lacks \"%s\"", cases[i].what, reason,
                  cases[i].msg);
        json_decref(req);
    }
    /* a result whose own fields were changed */
    static const struct {
        const char *field, *value, *msg;
    } edits[] = {
        {"calldata", "0x7cf5dab0", "calldata differs"},
        {"from", OTHER_ADDR, "sender is not the performer"},
        {"to", CONTRACT2, "target is not the job's contract"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        json_t *r = json_deep_copy(out.result);
        json_object_set_new(r, edits[i].field, json_string(edits[i].value));
        req = exec_test_request(r, "increment", "[\"5\"]", DEV_ADDRESS);
        agree = true;
        cr_expect_eq(tgx_keeper_verify(c, req, &agree, reason, sizeof reason), 0);
        cr_expect(!agree, "result.%s edited", edits[i].field);
        cr_expect(strstr(reason, edits[i].msg) != NULL, "%s: %s", edits[i].field, reason);
        json_decref(req);
        json_decref(r);
    }

    /* a keeper on a real chain disagrees with a dry run without asking anything (port 9 is never asked) */
    struct tgx_keeper_chain *real = exec_test_chain(false, "http://127.0.0.1:9");
    req = exec_test_request(out.result, "increment", "[\"5\"]", DEV_ADDRESS);
    agree = true;
    cr_expect_eq(tgx_keeper_verify(real, req, &agree, reason, sizeof reason), 0);
    cr_expect(!agree);
    cr_expect(strstr(reason, "a dry-run result executed nothing on chain") != NULL, "%s", reason);
    json_decref(req);
    tgx_keeper_chain_free(real);

    /* a dry-run keeper gives no verdict on a real result */
    json_t *r = json_pack("{s:s}", "execution_tx_hash",
                          "0x1111111111111111111111111111111111111111111111111111111111111111");
    req = exec_test_request(r, "increment", "[\"5\"]", DEV_ADDRESS);
    cr_expect_eq(tgx_keeper_verify(c, req, &agree, reason, sizeof reason), -TGX_ERR_IO);
    cr_expect(!agree);
    json_decref(req);
    json_decref(r);

    tgx_keeper_outcome_cleanup(&out);
    tgx_keeper_chain_free(c);
}
