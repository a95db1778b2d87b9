/* test_api_decode.c: request bodies checked in C: JSON, depth, the field types of a job, the raw
 * text of big numbers. */
#include <criterion/criterion.h>
#include <string.h>

#include "tgx/api.h"

/* Decode and check a POST /api/jobs body: 0, or the refusal's code and field. */
static int api_decode_jobs(const char *body, struct tgx_api_decode_err *err)
{
    json_t *j = NULL;
    memset(err, 0, sizeof *err);
    int rc = tgx_api_decode_json(body, strlen(body), 8, &j, err);
    if (rc == 0)
        rc = tgx_api_check_jobs(j, err);
    json_decref(j);
    return rc;
}

Test(api_decode, job_bodies_table)
{
    static const struct {
        const char *body;
        const char *code;  /* NULL: accepted */
        const char *field; /* "" when none */
    } cases[] = {
        {"[{\"job_id\":\"1\",\"user_address\":\"0xab\",\"task_definition_id\":1}]", NULL, ""},
        /* Safe mode: a bare number among the arguments; balances beyond 64 bits */
        {"[{\"job_id\":\"1\",\"arguments\":[\"0x1\",0,true],\"ether_balance\":123456789012345678901234567890}"
         "]",
         NULL, ""},
        {"[{\"job_id\":1e3,\"abi\":[{\"type\":\"function\"}],\"created_chain_id\":31337}]", NULL, ""},
        {"[{\"job_id\":\"1\",\"timezone\":null,\"safe_address\":null}]", NULL, ""},
        {"", "INVALID_REQUEST", ""},
        {"[", "INVALID_REQUEST", ""},
        {"[]", "EMPTY_REQUEST", ""},
        {"{\"job_id\":\"1\"}", "INVALID_REQUEST", ""},
        {"[1,2]", "INVALID_REQUEST", ""},
        {"[{\"job_id\":\"1\",\"job_id\":\"2\"}]", "INVALID_REQUEST", ""},
        {"[[[[[[[[[[1]]]]]]]]]]", "INVALID_REQUEST", ""},
        {"[{\"job_id\":true}]", "VALIDATION_FAILED", "job_id"},
        {"[{\"task_definition_id\":\"1\"}]", "VALIDATION_FAILED", "task_definition_id"},
        {"[{\"time_frame\":\"3600\"}]", "VALIDATION_FAILED", "time_frame"},
        {"[{\"custom\":\"yes\"}]", "VALIDATION_FAILED", "custom"},
        {"[{\"arguments\":\"1\"}]", "VALIDATION_FAILED", "arguments"},
        {"[{\"arguments\":[{\"a\":1}]}]", "VALIDATION_FAILED", "arguments"},
        {"[{\"arguments\":[null]}]", "VALIDATION_FAILED", "arguments"},
        {"[{\"abi\":5}]", "VALIDATION_FAILED", "abi"},
        {"[{\"user_address\":[\"0x\"]}]", "VALIDATION_FAILED", "user_address"},
        {"[{\"job_id\":\"1\"},{\"upper_limit\":\"high\"}]", "VALIDATION_FAILED", "upper_limit"},
        {"[{\"job_id\":\"1\"}] x", "INVALID_REQUEST", ""},
        {"[{\"job_id\":\"a\\u0000b\"}]", "INVALID_REQUEST", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_api_decode_err err;
        int rc = api_decode_jobs(cases[i].body, &err);
        if (cases[i].code == NULL) {
            cr_expect_eq(rc, 0, "row %zu refused: %s", i, err.message);
            continue;
        }
        cr_expect_lt(rc, 0, "row %zu accepted", i);
        if (rc < 0) {
            cr_expect_str_eq(err.code, cases[i].code, "row %zu: %s", i, err.message);
            cr_expect_str_eq(err.field, cases[i].field, "row %zu: %s", i, err.message);
            cr_expect(err.message[0] != '\0', "row %zu has a message", i);
        }
    }
}

Test(api_decode, too_many_jobs)
{
    char body[128 * 16];
    size_t n = 0;
    body[n++] = '[';
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s{}", i ? "," : "");
    body[n++] = ']';
    body[n] = '\0';
    struct tgx_api_decode_err err;
    cr_expect_lt(api_decode_jobs(body, &err), 0);
    cr_expect(strstr(err.message, "100") != NULL, "%s", err.message);
}

Test(api_decode, json_depth)
{
    cr_expect_eq(tgx_api_json_depth("[]", 2), 1);
    cr_expect_eq(tgx_api_json_depth("{\"a\":[{\"b\":1}]}", 15), 3);
    cr_expect_eq(tgx_api_json_depth("[\"[[[[\"]", 8), 1, "brackets in strings do not count");
    cr_expect_eq(tgx_api_json_depth("[\"\\\"[[\"]", 8), 1, "nor after an escaped quote");
    cr_expect_eq(tgx_api_json_depth("[[]", 3), -1);
    cr_expect_eq(tgx_api_json_depth("]", 1), -1);
    cr_expect_eq(tgx_api_json_depth("1", 1), 0);
}

Test(api_decode, update_bodies)
{
    static const struct {
        const char *body;
        const char *field; /* NULL: accepted; "" refused without field */
    } cases[] = {
        {"{\"job_title\":\"x\",\"time_frame\":7200}", NULL},
        {"{\"job_id\":123456789012345678901234567890}", NULL},
        {"{\"time_frame\":\"7200\"}", "time_frame"},
        {"{\"recurring\":1}", "recurring"},
        {"[]", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j;
        struct tgx_api_decode_err err;
        memset(&err, 0, sizeof err);
        cr_assert_eq(tgx_api_decode_json(cases[i].body, strlen(cases[i].body), 8, &j, &err), 0, "row %zu", i);
        int rc = tgx_api_check_job_update(j, &err);
        if (cases[i].field == NULL) {
            cr_expect_eq(rc, 0, "row %zu: %s", i, err.message);
        } else {
            cr_expect_lt(rc, 0, "row %zu", i);
            cr_expect_str_eq(err.field, cases[i].field, "row %zu", i);
        }
        json_decref(j);
    }
}

Test(api_decode, member_raw_keeps_every_digit)
{
    static const char body[] =
        " { \"a\" : {\"job_id\": 1}, \"s\":\"x,y}\", \"job_id\" : "
        "115792089237316195423570985008687907853269984665640564039457584007913129639935 , "
        "\"name\":\"plain\", \"esc\":\"a\\\"b\", \"n\": null, \"arr\": [1, \"]\"] }";
    char out[96];
    cr_assert_eq(tgx_api_json_member_raw(body, strlen(body), "job_id", out, sizeof out), 0);
    cr_expect_str_eq(out, "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                     "the top-level member, not the nested one");
    cr_expect_eq(tgx_api_json_member_raw(body, strlen(body), "name", out, sizeof out), 0);
    cr_expect_str_eq(out, "plain");
    cr_expect_eq(tgx_api_json_member_raw(body, strlen(body), "esc", out, sizeof out), -TGX_ERR_INVAL,
                 "a string with escapes is refused, not misread");
    cr_expect_eq(tgx_api_json_member_raw(body, strlen(body), "n", out, sizeof out), -TGX_ERR_NOTFOUND);
    cr_expect_eq(tgx_api_json_member_raw(body, strlen(body), "missing", out, sizeof out), -TGX_ERR_NOTFOUND);
    cr_expect_eq(tgx_api_json_member_raw(body, strlen(body), "a", out, sizeof out), -TGX_ERR_INVAL,
                 "an object");
    cr_expect_eq(tgx_api_json_member_raw(body, strlen(body), "job_id", out, 10), -TGX_ERR_INVAL,
                 "too long for OUT");
    cr_expect_eq(tgx_api_json_member_raw("[1]", 3, "job_id", out, sizeof out), -TGX_ERR_INVAL);
}
