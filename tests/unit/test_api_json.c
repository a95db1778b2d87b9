/* test_api_json.c: exact JSON numbers (uint256, PostgreSQL floats), RFC 3339 times from
 * PostgreSQL, base64url cursors, ids and addresses of the REST layer. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/pg_rows.h"
#include "tgx/api.h"
#include "tgx/jsonnum.h"

Test(api_json, number_literal_grammar)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"0", true},
        {"-0", true},
        {"12", true},
        {"1.5", true},
        {"1e21", true},
        {"1E+21", true},
        {"-2.5e-3", true},
        {"115792089237316195423570985008687907853269984665640564039457584007913129639935", true},
        {"", false},
        {"-", false},
        {"01", false},
        {"1.", false},
        {".5", false},
        {"1e", false},
        {"+1", false},
        {"NaN", false},
        {"Infinity", false},
        {"1 ", false},
        {"0x10", false},
        {"1\"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_json_is_number_literal(cases[i].s, strlen(cases[i].s)), cases[i].ok,
                     "row %zu: \"%s\"", i, cases[i].s);
}

Test(api_json, raw_numbers_are_written_exactly)
{
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:s, s:i}", "big",
                          tgx_json_rawnum("123456789012345678901234567890123456789"), "float",
                          tgx_json_rawnum("0.004"), "nan", tgx_json_rawnum("NaN"), "arr",
                          json_pack("[o, o]", tgx_json_rawnum("1e+21"), tgx_json_rawnum("-7")), "s",
                          "\\u0000N12 is text", "i", 3);
    cr_assert_not_null(o);
    char *text = tgx_json_dump(o);
    cr_expect_str_eq(text, "{\"big\":123456789012345678901234567890123456789,\"float\":0.004,\"nan\":null,"
                           "\"arr\":[1e+21,-7],\"s\":\"\\\\u0000N12 is text\",\"i\":3}");
    /* the output is JSON a parser reads back (with the big integer as a real) */
    json_t *back = json_loads(text, JSON_DECODE_INT_AS_REAL, NULL);
    cr_expect_not_null(back, "%s", text);
    json_decref(back);
    free(text);
    const char *lit;
    size_t n;
    cr_expect(tgx_json_rawnum_text(json_object_get(o, "float"), &lit, &n));
    cr_expect_eq(n, 5);
    cr_expect_eq(strncmp(lit, "0.004", 5), 0);
    cr_expect(!tgx_json_rawnum_text(json_object_get(o, "s"), NULL, NULL));
    json_decref(o);
}

Test(api_json, rfc3339_from_postgresql)
{
    static const struct {
        const char *pg;
        const char *rfc;
    } cases[] = {
        {"2025-12-06 10:11:12.123456+00", "2025-12-06T10:11:12.123456Z"},
        {"2025-12-06 10:11:12+00", "2025-12-06T10:11:12Z"},
        {"2030-01-01 00:00:00.5+00", "2030-01-01T00:00:00.5Z"},
        {"2025-12-06 10:11:12+02", NULL},
        {"yesterday", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        int rc = tgx_pg_ts_rfc3339(cases[i].pg, out, sizeof out);
        if (cases[i].rfc == NULL) {
            cr_expect_lt(rc, 0, "row %zu", i);
        } else {
            cr_expect_eq(rc, 0, "row %zu", i);
            cr_expect_str_eq(out, cases[i].rfc, "row %zu", i);
        }
    }
}

Test(api_json, rfc3339_requests)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"2030-01-02T03:04:05Z", true},
        {"2030-01-02T03:04:05.123456Z", true},
        {"2030-01-02t03:04:05z", true},
        {"2030-01-02 03:04:05+05:30", true},
        {"2030-01-02T03:04:05-00:00", true},
        {"yesterday", false},
        {"now", false},
        {"2030-01-02", false},
        {"2030-01-02T03:04:05", false},
        {"2030-01-02T03:04:05.Z", false},
        {"2030-01-02T03:04:05+0530", false},
        {"2030-1-02T03:04:05Z", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tgx_api_is_rfc3339(cases[i].s), cases[i].ok, "row %zu: \"%s\"", i, cases[i].s);
    cr_expect(!tgx_api_is_rfc3339(NULL));
}

Test(api_json, cursors_round_trip_base64url)
{
    static const char *keys[] = {"2030-01-01 00:00:00.123456+00|84480000000000000001", "1", "ab", "abc",
                                 "Infinity|9223372036854775807"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char enc[256], dec[256];
        tgx_api_b64url_encode(keys[i], strlen(keys[i]), enc);
        cr_expect(strpbrk(enc, "+/=") == NULL, "url-safe, unpadded: %s", enc);
        cr_expect_eq(tgx_api_b64url_decode(enc, dec, sizeof dec), 0, "row %zu", i);
        cr_expect_str_eq(dec, keys[i]);
    }
    char dec[8];
    cr_expect_lt(tgx_api_b64url_decode("ab+c", dec, sizeof dec), 0, "a standard-base64 digit");
    cr_expect_lt(tgx_api_b64url_decode("A", dec, sizeof dec), 0, "a lone trailing digit");
    cr_expect_lt(tgx_api_b64url_decode("QUJDREVGR0hJSg", dec, sizeof dec), 0, "too long for the buffer");
}

Test(api_json, ids_and_addresses)
{
    char out[80];
    cr_expect(tgx_api_parse_job_id("0042", out));
    cr_expect_str_eq(out, "42");
    cr_expect(tgx_api_parse_job_id(
        "115792089237316195423570985008687907853269984665640564039457584007913129639935", out));
    cr_expect(!tgx_api_parse_job_id(
                  "115792089237316195423570985008687907853269984665640564039457584007913129639936", out),
              "2^256 is out of range");
    cr_expect(!tgx_api_parse_job_id("12a", out));
    cr_expect(!tgx_api_parse_job_id("", out));
    cr_expect(!tgx_api_parse_job_id("-1", out));
    int64_t id;
    cr_expect(tgx_api_parse_id("17", &id) && id == 17);
    cr_expect(!tgx_api_parse_id("0", &id));
    cr_expect(!tgx_api_parse_id("9999999999999999999", &id));
    char addr[43];
    cr_expect(tgx_api_parse_address("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", addr));
    cr_expect_str_eq(addr, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    cr_expect(!tgx_api_parse_address("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb9226", addr));
    cr_expect(!tgx_api_parse_address("0xG39Fd6e51aad88F6F4ce6aB8827279cffFb92266", addr));
    cr_expect(!tgx_api_parse_address(NULL, addr));
}

Test(api_json, tx_urls_and_key_masks)
{
    char url[256];
    tgx_api_tx_url("8453", "0xabc", url, sizeof url);
    cr_expect_str_eq(url, "https://base.blockscout.com/tx/0xabc");
    tgx_api_tx_url("31337", "0xabc", url, sizeof url);
    cr_expect_str_eq(url, "https://sepolia.etherscan.io/tx/0xabc");
    tgx_api_tx_url("1", "", url, sizeof url);
    cr_expect_str_eq(url, "");
    char key[TGX_API_KEY_LEN + 1], hint[TGX_API_KEY_LEN + 1];
    tgx_api_key_generate(key);
    cr_expect_eq(strlen(key), TGX_API_KEY_LEN);
    cr_expect_eq(strncmp(key, "TGRX-", 5), 0);
    tgx_api_key_mask(key, hint);
    cr_expect_eq(strlen(hint), strlen(key));
    cr_expect_eq(strncmp(hint, "TGRX", 4), 0);
    cr_expect_str_eq(hint + TGX_API_KEY_LEN - 4, key + TGX_API_KEY_LEN - 4);
    cr_expect_eq(strspn(hint + 4, "*"), TGX_API_KEY_LEN - 8);
}
