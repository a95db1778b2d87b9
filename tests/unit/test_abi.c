/* test_abi.c: ABI types, signatures, JSON ABI, call encoding (spec and ethers vectors), decoding,
 * reverts, addresses, and the 256-bit integers underneath. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/abi.h"
#include "tgx/hex.h"
#include "tgx/keccak.h"
#include "tgx/u256.h"

/* ------------------------------------------------------------------ helpers */

/* A NEW heap string "0x..." of the bytes in B. */
static char *abi_test_hex(const struct tgx_buf *b)
{
    struct tgx_buf h;
    tgx_buf_init(&h);
    tgx_abi_hex_append(&h, b->data, b->len);
    char *s = tgx_buf_steal(&h);
    cr_assert(s != NULL);
    return s;
}

/* Bytes of hex string S ("0x..." with spaces allowed for readability) appended to B. */
static void abi_test_unhex(const char *s, struct tgx_buf *b)
{
    struct tgx_buf clean;
    tgx_buf_init(&clean);
    for (const char *p = s; *p; p++) {
        if (*p != ' ' && *p != '\n')
            tgx_buf_putc(&clean, *p);
    }
    cr_assert_eq(tgx_abi_hex_decode(clean.data, clean.len, b), 0, "bad test hex %s", s);
    tgx_buf_cleanup(&clean);
}

static struct tgx_abi_entry *abi_test_fn(const char *sig)
{
    struct tgx_abi_entry *e = NULL;
    char err[256] = "";
    cr_assert_eq(tgx_abi_entry_parse(sig, TGX_ABI_FUNCTION, &e, err, sizeof err), 0, "%s: %s", sig, err);
    return e;
}

/* Encode call SIG with ARGS (JSON array text); returns the rc, *HEX (new) the 0x calldata on success. */
static int abi_test_encode_json(const char *sig, const char *args, char **hex, struct tgx_abi_error *ae)
{
    struct tgx_abi_entry *e = abi_test_fn(sig);
    struct tgx_abi_args *a = NULL;
    char err[256] = "";
    cr_assert_eq(tgx_abi_args_parse_json(args, strlen(args), &a, err, sizeof err), 0, "%s: %s", args, err);
    struct tgx_buf out;
    tgx_buf_init(&out);
    int rc = tgx_abi_encode_call(e, a, &out, ae);
    *hex = rc == 0 ? abi_test_hex(&out) : NULL;
    if (rc < 0)
        cr_expect_eq(out.len, 0, "output restored on failure");
    tgx_buf_cleanup(&out);
    tgx_abi_args_free(a);
    tgx_abi_entry_free(e);
    return rc;
}

/* ------------------------------------------------------------------ u256 */

Test(abi_u256, decimal_and_hex_round_trip)
{
    static const struct {
        const char *dec, *hex;
    } cases[] = {
        {"0", "0x0"},
        {"1", "0x1"},
        {"255", "0xff"},
        {"18446744073709551615", "0xffffffffffffffff"},
        {"18446744073709551616", "0x10000000000000000"},
        {"1000000000000000000", "0xde0b6b3a7640000"},
        {"10000000000000000000000000000000000000", "0x785ee10d5da46d900f436a000000000"},
        {"115792089237316195423570985008687907853269984665640564039457584007913129639935",
         "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_u256 a, b;
        char dec[TGX_U256_DEC_MAX + 1], hex[TGX_U256_HEX_MAX + 1];
        cr_assert_eq(tgx_u256_from_dec(cases[i].dec, &a), 0, "row %zu", i);
        cr_assert_eq(tgx_u256_from_hex(cases[i].hex, &b), 0, "row %zu", i);
        cr_expect_eq(tgx_u256_cmp(&a, &b), 0, "row %zu", i);
        tgx_u256_to_dec(&a, dec);
        tgx_u256_to_hex(&a, hex);
        cr_expect_str_eq(dec, cases[i].dec, "row %zu", i);
        cr_expect_str_eq(hex, cases[i].hex, "row %zu", i);
        cr_assert_eq(tgx_u256_parse(cases[i].hex, &b), 0);
        cr_expect_eq(tgx_u256_cmp(&a, &b), 0);
        cr_assert_eq(tgx_u256_parse(cases[i].dec, &b), 0);
        cr_expect_eq(tgx_u256_cmp(&a, &b), 0);
    }
}

Test(abi_u256, parse_rejects)
{
    static const char *bad_dec[] = {
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1a",
        "0x10",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936", /* 2^256 */
        "999999999999999999999999999999999999999999999999999999999999999999999999999999999",
    };
    static const char *bad_hex[] = {
        "",     "0x", "0xg",
        "0x 1", "1 ", "0x10000000000000000000000000000000000000000000000000000000000000000", /* 2^256 */
    };
    struct tgx_u256 v;
    for (size_t i = 0; i < sizeof bad_dec / sizeof bad_dec[0]; i++)
        cr_expect_eq(tgx_u256_from_dec(bad_dec[i], &v), -TGX_ERR_INVAL, "dec \"%s\"", bad_dec[i]);
    for (size_t i = 0; i < sizeof bad_hex / sizeof bad_hex[0]; i++)
        cr_expect_eq(tgx_u256_from_hex(bad_hex[i], &v), -TGX_ERR_INVAL, "hex \"%s\"", bad_hex[i]);
    /* leading zeros are fine, even beyond 64 hex digits */
    cr_expect_eq(
        tgx_u256_from_hex("0x00000000000000000000000000000000000000000000000000000000000000000001", &v), 0);
    cr_expect(v.w[0] == 1 && v.w[1] == 0);
    cr_expect_eq(tgx_u256_from_dec("000123", &v), 0);
    cr_expect_eq(v.w[0], 123);
    cr_expect_eq(tgx_u256_from_hex("ABCdef", &v), 0);
    cr_expect_eq(v.w[0], 0xabcdef);
}

Test(abi_u256, arithmetic_matches_int128)
{
    typedef unsigned __int128 u128;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 2000; i++) {
        uint64_t r[4];
        for (int k = 0; k < 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r[k] = x >> (k * 9); /* vary magnitudes */
        }
        u128 a = (u128)r[0] << 64 | r[1], b = r[2], d = r[3] | 1;
        struct tgx_u256 A = {{(uint64_t)a, (uint64_t)(a >> 64), 0, 0}}, B = tgx_u256_from_u64((uint64_t)b), R;
        /* a + b, a * b (fits in 192 bits), a / d, a % d */
        cr_assert_eq(tgx_u256_add(&R, &A, &B), 0);
        u128 s = a + b;
        bool carry = s < a;
        cr_assert(R.w[0] == (uint64_t)s && R.w[1] == (uint64_t)(s >> 64) && R.w[2] == (carry ? 1u : 0u));
        cr_assert_eq(tgx_u256_mul(&R, &A, &B), 0);
        u128 lo = (u128)(uint64_t)a * b, hi = (u128)(uint64_t)(a >> 64) * b;
        u128 mid = (lo >> 64) + (uint64_t)hi;
        cr_assert(R.w[0] == (uint64_t)lo && R.w[1] == (uint64_t)mid &&
                  R.w[2] == (uint64_t)((hi >> 64) + (mid >> 64)) && R.w[3] == 0);
        uint64_t rem;
        cr_assert_eq(tgx_u256_div_u64(&R, &A, (uint64_t)d, &rem), 0);
        cr_assert(R.w[0] == (uint64_t)(a / d) && R.w[1] == (uint64_t)((a / d) >> 64) &&
                  rem == (uint64_t)(a % d));
        if (tgx_u256_cmp(&A, &B) >= 0) {
            cr_assert_eq(tgx_u256_sub(&R, &A, &B), 0);
            cr_assert(R.w[0] == (uint64_t)(a - b) && R.w[1] == (uint64_t)((a - b) >> 64));
        }
    }
}

Test(abi_u256, overflow_and_edges)
{
    struct tgx_u256 max, one = tgx_u256_from_u64(1), two = tgx_u256_from_u64(2), r, z = tgx_u256_from_u64(0);
    cr_assert_eq(
        tgx_u256_from_hex("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &max), 0);
    cr_expect_eq(tgx_u256_add(&r, &max, &one), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_u256_mul(&r, &max, &two), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_u256_mul_u64(&r, &max, 1), 0);
    cr_expect_eq(tgx_u256_cmp(&r, &max), 0);
    cr_expect_eq(tgx_u256_sub(&r, &one, &two), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_u256_div_u64(&r, &max, 0, NULL), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_u256_bits(&max), 256);
    cr_expect_eq(tgx_u256_bits(&z), 0);
    cr_expect_eq(tgx_u256_bits(&one), 1);
    cr_expect(tgx_u256_is_zero(&z));
    uint64_t v = 7;
    cr_expect(!tgx_u256_to_u64(&max, &v));
    cr_expect_eq(v, 7);
    /* 2^255 as a product of halves: mul carries across limbs */
    struct tgx_u256 p127, p128, p255, got;
    tgx_u256_pow2(&p127, 127);
    tgx_u256_pow2(&p128, 128);
    tgx_u256_pow2(&p255, 255);
    cr_assert_eq(tgx_u256_mul(&got, &p127, &p128), 0);
    cr_expect_eq(tgx_u256_cmp(&got, &p255), 0);
    cr_expect(tgx_u256_is_neg(&p255));
    cr_expect_eq(tgx_u256_mul(&got, &p128, &p128), -TGX_ERR_INVAL);
    /* two's complement */
    tgx_u256_neg(&r, &one);
    cr_expect_eq(tgx_u256_cmp(&r, &max), 0);
    tgx_u256_neg(&r, &z);
    cr_expect(tgx_u256_is_zero(&r));
    tgx_u256_neg(&r, &p255);
    cr_expect_eq(tgx_u256_cmp(&r, &p255), 0);
    /* ceil(x * 6 / 5) */
    static const struct {
        uint64_t in, out;
    } ceil_cases[] = {{0, 0}, {1, 2}, {5, 6}, {10, 12}, {11, 14}, {1000000000000000, 1200000000000000},
                      {7, 9}};
    for (size_t i = 0; i < sizeof ceil_cases / sizeof ceil_cases[0]; i++) {
        struct tgx_u256 in = tgx_u256_from_u64(ceil_cases[i].in);
        cr_assert_eq(tgx_u256_mul_div_ceil(&r, &in, 6, 5), 0);
        cr_expect_eq(r.w[0], ceil_cases[i].out, "ceil(%llu*1.2)", (unsigned long long)ceil_cases[i].in);
    }
    cr_expect_eq(tgx_u256_mul_div_ceil(&r, &max, 6, 5), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_u256_mul_div_ceil(&r, &one, 6, 0), -TGX_ERR_INVAL);
}

Test(abi_u256, big_endian)
{
    uint8_t be[32];
    struct tgx_u256 v, back;
    cr_assert_eq(tgx_u256_from_hex("0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", &v),
                 0);
    tgx_u256_to_be(&v, be);
    for (int i = 0; i < 32; i++)
        cr_expect_eq(be[i], i + 1);
    back = tgx_u256_from_be(be);
    cr_expect_eq(tgx_u256_cmp(&v, &back), 0);
    back = tgx_u256_from_be_n(be + 30, 2);
    cr_expect_eq(back.w[0], 0x1f20);
    cr_expect(back.w[1] == 0 && back.w[2] == 0 && back.w[3] == 0);
}

/* ------------------------------------------------------------------ types and signatures */

Test(abi_types, canonical_names_and_sizes)
{
    static const struct {
        const char *in, *canonical;
        bool dynamic;
        size_t head;
    } cases[] = {
        {"uint", "uint256", false, 32},
        {"int", "int256", false, 32},
        {"uint8", "uint8", false, 32},
        {"int136", "int136", false, 32},
        {"byte", "bytes1", false, 32},
        {"bytes32", "bytes32", false, 32},
        {"address", "address", false, 32},
        {"bool", "bool", false, 32},
        {"bytes", "bytes", true, 32},
        {"string", "string", true, 32},
        {"uint256[3]", "uint256[3]", false, 96},
        {"uint[2][3]", "uint256[2][3]", false, 192},
        {"uint256[]", "uint256[]", true, 32},
        {"string[2]", "string[2]", true, 32},
        {"(uint,bool)", "(uint256,bool)", false, 64},
        {"(uint,bool)[2]", "(uint256,bool)[2]", false, 128},
        {" ( uint , bytes ) [2][] ", "(uint256,bytes)[2][]", true, 32},
        {"tuple(address,(int8,string))", "(address,(int8,string))", true, 32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_abi_type *t = NULL;
        char err[256] = "";
        cr_assert_eq(tgx_abi_type_parse(cases[i].in, &t, err, sizeof err), 0, "\"%s\": %s", cases[i].in, err);
        cr_expect_str_eq(t->canonical, cases[i].canonical, "\"%s\"", cases[i].in);
        cr_expect_eq(t->dynamic, cases[i].dynamic, "\"%s\"", cases[i].in);
        cr_expect_eq(t->head_size, cases[i].head, "\"%s\"", cases[i].in);
        tgx_abi_type_free(t);
    }
}

Test(abi_types, rejects_bad_types)
{
    static const char *bad[] = {
        "",
        "uint7",
        "uint0",
        "uint264",
        "uint08",
        "int7",
        "bytes0",
        "bytes33",
        "uint256[0]",
        "uint256[",
        "[]",
        "uint256]",
        "fixed128x18",
        "function",
        "int8 x",
        "()",
        "(uint",
        "(uint,)",
        "uint256[9999999999]",
        "uint256[][][][][][][][][][][][][][][][][]",
        "bool[2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tgx_abi_type *t = NULL;
        char err[256] = "";
        int rc = tgx_abi_type_parse(bad[i], &t, err, sizeof err);
        cr_expect_eq(rc, -TGX_ERR_INVAL, "\"%s\" accepted", bad[i]);
        cr_expect(err[0] != '\0', "\"%s\" without a message", bad[i]);
        cr_expect(t == NULL);
    }
    /* a static type too large to encode */
    struct tgx_abi_type *t = NULL;
    cr_expect_eq(tgx_abi_type_parse("uint256[1000000][1000]", &t, NULL, 0), -TGX_ERR_INVAL);
}

Test(abi_types, signatures_selectors_topics)
{
    static const struct {
        const char *in;
        enum tgx_abi_entry_kind kind;
        const char *sig, *sel;
        size_t nin, nout;
    } cases[] = {
        {"transfer(address,uint256)", TGX_ABI_FUNCTION, "transfer(address,uint256)", "a9059cbb", 2, 0},
        {"transfer(address to, uint amount)", TGX_ABI_FUNCTION, "transfer(address,uint256)", "a9059cbb", 2,
         0},
        {"function balanceOf(address owner) external view returns (uint256)", TGX_ABI_FUNCTION,
         "balanceOf(address)", "70a08231", 1, 1},
        {"balanceOf(address)(uint256)", TGX_ABI_FUNCTION, "balanceOf(address)", "70a08231", 1, 1},
        {"baz(uint32,bool)", TGX_ABI_FUNCTION, "baz(uint32,bool)", "cdcd77c0", 2, 0},
        {"sam(bytes memory, bool, uint[] calldata)", TGX_ABI_FUNCTION, "sam(bytes,bool,uint256[])",
         "a5643bf2", 3, 0},
        {"f(uint256,uint32[],bytes10,bytes)", TGX_ABI_FUNCTION, "f(uint256,uint32[],bytes10,bytes)",
         "8be65246", 4, 0},
        {"g(uint256[][],string[])", TGX_ABI_FUNCTION, "g(uint256[][],string[])", "2289b18c", 2, 0},
        {"increment()", TGX_ABI_FUNCTION, "increment()", "d09de08a", 0, 0},
        {"Error(string)", TGX_ABI_ERROR, "Error(string)", "08c379a0", 1, 0},
        {"Panic(uint256)", TGX_ABI_ERROR, "Panic(uint256)", "4e487b71", 1, 0},
        {"event Transfer(address indexed from, address indexed to, uint256 value)", TGX_ABI_EVENT,
         "Transfer(address,address,uint256)", "ddf252ad", 3, 0},
        {"send(address payable to)", TGX_ABI_FUNCTION, "send(address)", "3e58c58c", 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_abi_entry *e = NULL;
        char err[256] = "", sel[9];
        cr_assert_eq(tgx_abi_entry_parse(cases[i].in, cases[i].kind, &e, err, sizeof err), 0, "\"%s\": %s",
                     cases[i].in, err);
        cr_expect_str_eq(e->signature, cases[i].sig, "\"%s\"", cases[i].in);
        tgx_hex_encode(cases[i].kind == TGX_ABI_EVENT ? e->topic : e->selector, 4, sel);
        cr_expect_str_eq(sel, cases[i].sel, "\"%s\"", cases[i].in);
        cr_expect_eq(e->ninputs, cases[i].nin, "\"%s\"", cases[i].in);
        cr_expect_eq(e->noutputs, cases[i].nout, "\"%s\"", cases[i].in);
        uint8_t s2[4];
        tgx_abi_selector(cases[i].sig, s2);
        cr_expect_arr_eq(s2, e->selector, 4);
        tgx_abi_entry_free(e);
    }
    struct tgx_abi_entry *ev = NULL;
    cr_assert_eq(tgx_abi_entry_parse("Transfer(address indexed from,address indexed to,uint256 value)",
                                     TGX_ABI_EVENT, &ev, NULL, 0),
                 0);
    cr_expect(ev->inputs[0].indexed && ev->inputs[1].indexed && !ev->inputs[2].indexed);
    cr_expect_str_eq(ev->inputs[2].name, "value");
    tgx_abi_entry_free(ev);
    struct tgx_abi_entry *fv = abi_test_fn("function get() external view returns (uint256 a, string b)");
    cr_expect_str_eq(fv->state_mutability, "view");
    cr_expect_str_eq(fv->outputs[1].name, "b");
    tgx_abi_entry_free(fv);
}

Test(abi_types, rejects_bad_signatures)
{
    static const char *bad[] = {"",          "transfer",       "(uint256)",       "1abc(uint256)",
                                "f(uint256", "f(uint256))",    "f(uint256) junk", "f(uint7)",
                                "f(,)",      "f(uint256 a b)", "f(uint256,)",     "f()(uint7)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tgx_abi_entry *e = NULL;
        char err[256] = "";
        cr_expect_eq(tgx_abi_entry_parse(bad[i], TGX_ABI_FUNCTION, &e, err, sizeof err), -TGX_ERR_INVAL,
                     "\"%s\" accepted", bad[i]);
        cr_expect(err[0] != '\0', "\"%s\"", bad[i]);
        cr_expect(e == NULL);
    }
}

/* ------------------------------------------------------------------ JSON ABI */

static const char abi_test_json[] =
    "[{\"type\":\"constructor\",\"inputs\":[{\"name\":\"x\",\"type\":\"uint256\"}]},"
    " {\"type\":\"fallback\"}, {\"type\":\"receive\",\"stateMutability\":\"payable\"},"
    " {\"type\":\"function\",\"name\":\"increment\",\"inputs\":[],\"outputs\":[],\"stateMutability\":"
    "\"nonpayable\"},"
    " {\"type\":\"function\",\"name\":\"set\",\"inputs\":[{\"name\":\"v\",\"type\":\"uint256\"}],\"outputs\":"
    "[]},"
    " {\"type\":\"function\",\"name\":\"set\",\"inputs\":[{\"name\":\"k\",\"type\":\"string\"},{\"name\":"
    "\"v\",\"type\":\"uint256\"}],\"outputs\":[]},"
    " {\"name\":\"get\",\"constant\":true,\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\"}]},"
    " {\"type\":\"function\",\"name\":\"submit\",\"inputs\":[{\"name\":\"o\",\"type\":\"tuple[]\","
    "\"components\":["
    "    {\"name\":\"who\",\"type\":\"address\"},{\"name\":\"amounts\",\"type\":\"uint256[2]\"},"
    "    "
    "{\"name\":\"inner\",\"type\":\"tuple\",\"components\":[{\"name\":\"ok\",\"type\":\"bool\"},{\"name\":"
    "\"note\",\"type\":\"string\"}]}]}],"
    "  \"outputs\":[{\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"payable\"},"
    " {\"type\":\"event\",\"name\":\"Transfer\",\"anonymous\":false,\"inputs\":["
    "    "
    "{\"name\":\"from\",\"type\":\"address\",\"indexed\":true},{\"name\":\"to\",\"type\":\"address\","
    "\"indexed\":true},"
    "    {\"name\":\"value\",\"type\":\"uint256\",\"indexed\":false}]},"
    " {\"type\":\"error\",\"name\":\"InsufficientBalance\",\"inputs\":[{\"name\":\"have\",\"type\":"
    "\"uint256\"},{\"name\":\"want\",\"type\":\"uint256\"}]}"
    "]";

Test(abi_json, parse_and_find)
{
    struct tgx_abi *abi = NULL;
    char err[256] = "";
    cr_assert_eq(tgx_abi_parse(abi_test_json, strlen(abi_test_json), &abi, err, sizeof err), 0, "%s", err);
    cr_expect_eq(tgx_abi_count(abi), 7, "constructor, fallback and receive are skipped");
    const struct tgx_abi_entry *e = NULL;
    cr_assert_eq(tgx_abi_find_function(abi, "increment", -1, &e), 0);
    cr_expect_str_eq(e->signature, "increment()");
    cr_assert_eq(tgx_abi_find_function(abi, "get", -1, &e), 0);
    cr_expect_str_eq(e->state_mutability, "view", "legacy constant:true");
    cr_expect_eq(e->noutputs, 1);
    /* overloads: a bare name is ambiguous unless the argument count decides */
    cr_expect_eq(tgx_abi_find_function(abi, "set", -1, &e), -TGX_ERR_INVAL);
    cr_assert_eq(tgx_abi_find_function(abi, "set", 2, &e), 0);
    cr_expect_str_eq(e->signature, "set(string,uint256)");
    cr_assert_eq(tgx_abi_find_function(abi, "set(uint)", -1, &e), 0);
    cr_expect_str_eq(e->signature, "set(uint256)");
    cr_assert_eq(tgx_abi_find_function(abi, "set( string , uint256 )", -1, &e), 0);
    cr_expect_str_eq(e->signature, "set(string,uint256)");
    cr_expect_eq(tgx_abi_find_function(abi, "set", 3, &e), -TGX_ERR_NOTFOUND);
    cr_expect_eq(tgx_abi_find_function(abi, "set(bool)", -1, &e), -TGX_ERR_NOTFOUND);
    cr_expect_eq(tgx_abi_find_function(abi, "nope", -1, &e), -TGX_ERR_NOTFOUND);
    cr_expect_eq(tgx_abi_find_function(abi, "Transfer", -1, &e), -TGX_ERR_NOTFOUND,
                 "events are not functions");
    cr_expect_eq(tgx_abi_find_function(abi, "bad name", -1, &e), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_abi_find_function(abi, "set(uint7)", -1, &e), -TGX_ERR_INVAL);
    /* tuples */
    cr_assert_eq(tgx_abi_find_function(abi, "submit", -1, &e), 0);
    cr_expect_str_eq(e->signature, "submit((address,uint256[2],(bool,string))[])");
    cr_expect_str_eq(e->state_mutability, "payable");
    cr_expect_str_eq(e->inputs[0].type->elem->comp_names[2], "inner");
    /* events and errors */
    cr_assert_eq(tgx_abi_find_event(abi, "Transfer", &e), 0);
    char topic[65];
    tgx_hex_encode(e->topic, 32, topic);
    cr_expect_str_eq(topic, "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
    uint8_t sel[4];
    tgx_abi_selector("InsufficientBalance(uint256,uint256)", sel);
    const struct tgx_abi_entry *er = tgx_abi_find_error(abi, sel);
    cr_assert(er != NULL);
    cr_expect_str_eq(er->name, "InsufficientBalance");
    tgx_abi_free(abi);
}

Test(abi_json, artifact_object_and_errors)
{
    static const char artifact[] = "{\"contractName\":\"C\",\"abi\":[{\"type\":\"function\",\"name\":"
                                   "\"ping\",\"inputs\":[]}],\"bytecode\":\"0x\"}";
    struct tgx_abi *abi = NULL;
    cr_assert_eq(tgx_abi_parse(artifact, strlen(artifact), &abi, NULL, 0), 0);
    cr_expect_eq(tgx_abi_count(abi), 1);
    tgx_abi_free(abi);
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"", "not valid JSON"},
        {"[{]", "not valid JSON"},
        {"{\"a\":1}", "not a JSON array"},
        {"42", "not a JSON array"},
        {"[1]", "not an object"},
        {"[{\"type\":\"function\",\"inputs\":[]}]", "name"},
        {"[{\"type\":\"function\",\"name\":\"a b\"}]", "name"},
        {"[{\"type\":\"widget\",\"name\":\"x\"}]", "unknown ABI entry type"},
        {"[{\"type\":\"function\",\"name\":\"x\",\"inputs\":[{\"name\":\"a\",\"type\":\"uint7\"}]}]",
         "uint7"},
        {"[{\"type\":\"function\",\"name\":\"x\",\"inputs\":[{\"name\":\"a\"}]}]", "type"},
        {"[{\"type\":\"function\",\"name\":\"x\",\"inputs\":{}}]", "not an array"},
        {"[{\"type\":\"function\",\"name\":\"x\",\"inputs\":[{\"type\":\"tuple\"}]}]", "components"},
        {"[{\"type\":\"function\",\"name\":\"x\",\"inputs\":[{\"type\":\"tuple[x]\",\"components\":[{"
         "\"type\":\"bool\"}]}]}]",
         "array"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        abi = NULL;
        cr_expect_eq(tgx_abi_parse(bad[i].json, strlen(bad[i].json), &abi, err, sizeof err), -TGX_ERR_INVAL,
                     "row %zu accepted", i);
        cr_expect(strstr(err, bad[i].msg) != NULL, "row %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
        cr_expect(abi == NULL);
    }
}

/* ------------------------------------------------------------------ encoding */

/* Expected calldata: the first four from the Solidity ABI specification's examples, the rest computed
 * with ethers 6 (Interface.encodeFunctionData) from the same arguments. */
Test(abi_encode, spec_and_ethers_vectors)
{
    static const struct {
        const char *sig, *args, *hex;
    } cases[] = {
        {"baz(uint32,bool)", "[\"69\",\"true\"]",
         "0xcdcd77c0"
         "0000000000000000000000000000000000000000000000000000000000000045"
         "0000000000000000000000000000000000000000000000000000000000000001"},
        {"bar(bytes3[2])", "[[\"0x616263\",\"0x646566\"]]",
         "0xfce353f6"
         "6162630000000000000000000000000000000000000000000000000000000000"
         "6465660000000000000000000000000000000000000000000000000000000000"},
        {"sam(bytes,bool,uint256[])", "[\"0x64617665\",true,\"[1,2,3]\"]",
         "0xa5643bf2"
         "0000000000000000000000000000000000000000000000000000000000000060"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "00000000000000000000000000000000000000000000000000000000000000a0"
         "0000000000000000000000000000000000000000000000000000000000000004"
         "6461766500000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000003"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000003"},
        {"f(uint256,uint32[],bytes10,bytes)",
         "[\"0x123\",[\"0x456\",\"0x789\"],\"0x31323334353637383930\",\"0x48656c6c6f2c20776f726c6421\"]",
         "0x8be65246"
         "0000000000000000000000000000000000000000000000000000000000000123"
         "0000000000000000000000000000000000000000000000000000000000000080"
         "3132333435363738393000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000e0"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000456"
         "0000000000000000000000000000000000000000000000000000000000000789"
         "000000000000000000000000000000000000000000000000000000000000000d"
         "48656c6c6f2c20776f726c642100000000000000000000000000000000000000"},
        {"g(uint256[][],string[])", "[\"[[1,2],[3]]\",[\"one\",\"two\",\"three\"]]",
         "0x2289b18c"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000140"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "00000000000000000000000000000000000000000000000000000000000000a0"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000003"
         "0000000000000000000000000000000000000000000000000000000000000003"
         "0000000000000000000000000000000000000000000000000000000000000060"
         "00000000000000000000000000000000000000000000000000000000000000a0"
         "00000000000000000000000000000000000000000000000000000000000000e0"
         "0000000000000000000000000000000000000000000000000000000000000003"
         "6f6e650000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000003"
         "74776f0000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000005"
         "7468726565000000000000000000000000000000000000000000000000000000"},
        {"h((uint256,string)[],int8,int256)", "[[[1,\"a\"],[\"2\",\"bc\"]],\"-1\",\"-12345678901234567890\"]",
         "0xa1d2eb4d"
         "0000000000000000000000000000000000000000000000000000000000000060"
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffffffffffffffffffff54ab567314e0f52e"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "00000000000000000000000000000000000000000000000000000000000000c0"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "6100000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "6263000000000000000000000000000000000000000000000000000000000000"},
        {"k((address,bytes32,(bool,string[2]))[2],uint8[][2])",
         "[[[\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\","
         "\"0x1111111111111111111111111111111111111111111111111111111111111111\",[false,[\"x\",\"\"]]],"
         "[\"0x0000000000000000000000000000000000000001\","
         "\"0xabababababababababababababababababababababababababababababababab\",[\"true\",[\"\",\"yz\"]]]],"
         "\"[[7],[8,9]]\"]",
         "0xf12bed7c"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000300"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000180"
         "000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
         "1111111111111111111111111111111111111111111111111111111111111111"
         "0000000000000000000000000000000000000000000000000000000000000060"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000080"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "7800000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "abababababababababababababababababababababababababababababababab"
         "0000000000000000000000000000000000000000000000000000000000000060"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000060"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "797a000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000040"
         "0000000000000000000000000000000000000000000000000000000000000080"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "0000000000000000000000000000000000000000000000000000000000000007"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000008"
         "0000000000000000000000000000000000000000000000000000000000000009"},
        {"m(string,bytes,uint256[3])",
         "[\"h\\u00e9llo "
         "\\u2713\",\"0x\",[0,\"1\",\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"]]",
         "0x74466d21"
         "00000000000000000000000000000000000000000000000000000000000000a0"
         "00000000000000000000000000000000000000000000000000000000000000e0"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000001"
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "000000000000000000000000000000000000000000000000000000000000000a"
         "68c3a96c6c6f20e29c9300000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"},
        /* the SDK's Safe mode: the operation is a bare JSON number among strings */
        {"execJobFromHub(address,address,uint256,bytes,uint8,address)",
         "[\"0x1111111111111111111111111111111111111111\",\"0x2222222222222222222222222222222222222222\","
         "\"0\",\"0x\",0,"
         "\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"]",
         "0x3e269697"
         "0000000000000000000000001111111111111111111111111111111111111111"
         "0000000000000000000000002222222222222222222222222222222222222222"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000c0"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
         "0000000000000000000000000000000000000000000000000000000000000000"},
        {"n()", "[]", "0x2e52d606"},
        {"transfer(address,uint256)",
         "[\"0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266\", \" 1000000000000000000 \"]",
         "0xa9059cbb"
         "000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
         "0000000000000000000000000000000000000000000000000de0b6b3a7640000"},
        /* JSON numbers stay exact: 1e+21 (as JavaScript prints 10^21) and 2^64 */
        {"big(uint256[])", "[[1e+21, 18446744073709551616, 1.5e1, 0.0]]",
         "0x4bd16ddc"
         "0000000000000000000000000000000000000000000000000000000000000020"
         "0000000000000000000000000000000000000000000000000000000000000004"
         "00000000000000000000000000000000000000000000003635c9adc5dea00000"
         "0000000000000000000000000000000000000000000000010000000000000000"
         "000000000000000000000000000000000000000000000000000000000000000f"
         "0000000000000000000000000000000000000000000000000000000000000000"},
        {"ints(int16,int256,int256,int8,int8)",
         "[-300,\"57896044618658097711785492504343953926634992332820282019728792003956564819967\","
         "\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\",\"-128\","
         "\"127\"]",
         "0x00000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *hex = NULL;
        struct tgx_abi_error ae = {0};
        int rc = abi_test_encode_json(cases[i].sig, cases[i].args, &hex, &ae);
        cr_assert_eq(rc, 0, "row %zu %s: %s", i, cases[i].sig, ae.message);
        if (strcmp(cases[i].sig, "big(uint256[])") == 0) { /* made-up names: compare the parameters */
            cr_expect_str_eq(hex + 10, cases[i].hex + 10, "row %zu %s (params)", i, cases[i].sig);
        } else if (strncmp(cases[i].sig, "ints(", 5) == 0) {
            cr_expect(strncmp(hex + 10,
                              "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed4"
                              "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                              "8000000000000000000000000000000000000000000000000000000000000000"
                              "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80"
                              "000000000000000000000000000000000000000000000000000000000000007f",
                              5 * 64) == 0,
                      "ints: %s", hex);
        } else {
            cr_expect_str_eq(hex, cases[i].hex, "row %zu %s", i, cases[i].sig);
        }
        free(hex);
    }
}

Test(abi_encode, from_strings_and_from_json)
{
    /* the job's "arguments": one string per input */
    struct tgx_abi_entry *e = abi_test_fn("sam(bytes,bool,uint256[])");
    const char *strs[] = {"0x64617665", "true", "[\"1\", 2, \"0x3\"]"};
    struct tgx_abi_args *a = NULL;
    cr_assert_eq(tgx_abi_args_from_strings(strs, 3, &a), 0);
    cr_expect_eq(tgx_abi_args_count(a), 3);
    struct tgx_buf out;
    tgx_buf_init(&out);
    struct tgx_abi_error ae;
    cr_assert_eq(tgx_abi_encode_call(e, a, &out, &ae), 0, "%s", ae.message);
    char *h1 = abi_test_hex(&out);
    tgx_abi_args_free(a);
    /* the same from a jansson array */
    json_error_t je;
    json_t *j = json_loads("[\"0x64617665\", true, [1, 2.0, \"3\"]]", 0, &je);
    cr_assert(j != NULL);
    char err[256] = "";
    cr_assert_eq(tgx_abi_args_from_json(j, &a, err, sizeof err), 0, "%s", err);
    tgx_buf_reset(&out);
    cr_assert_eq(tgx_abi_encode_call(e, a, &out, &ae), 0, "%s", ae.message);
    char *h2 = abi_test_hex(&out);
    cr_expect_str_eq(h1, h2);
    cr_expect(strncmp(h1, "0xa5643bf2", 10) == 0);
    tgx_abi_args_free(a);
    json_decref(j);
    /* non-integral or inexact reals from jansson are refused */
    j = json_loads("[1.5]", 0, &je);
    cr_expect_eq(tgx_abi_args_from_json(j, &a, err, sizeof err), -TGX_ERR_INVAL);
    json_decref(j);
    j = json_loads("[1e300]", 0, &je);
    cr_expect_eq(tgx_abi_args_from_json(j, &a, err, sizeof err), -TGX_ERR_INVAL);
    json_decref(j);
    j = json_loads("{\"a\":1}", 0, &je);
    cr_expect_eq(tgx_abi_args_from_json(j, &a, err, sizeof err), -TGX_ERR_INVAL);
    json_decref(j);
    /* abi.encode without a selector */
    const char *one[] = {"0x64617665", "false", "[]"};
    cr_assert_eq(tgx_abi_args_from_strings(one, 3, &a), 0);
    tgx_buf_reset(&out);
    cr_assert_eq(tgx_abi_encode_params(e->inputs, e->ninputs, a, &out, &ae), 0);
    cr_expect_eq(out.len, 6 * 32); /* 3 heads, bytes length + data, array length */
    tgx_abi_args_free(a);
    /* a string keeps its spaces and any bytes */
    struct tgx_abi_entry *s = abi_test_fn("s(string)");
    const char *sp[] = {"  two  "};
    cr_assert_eq(tgx_abi_args_from_strings(sp, 1, &a), 0);
    tgx_buf_reset(&out);
    cr_assert_eq(tgx_abi_encode_call(s, a, &out, &ae), 0);
    cr_expect_eq(out.data[4 + 63], 7);
    cr_expect(memcmp(out.data + 4 + 64, "  two  ", 7) == 0);
    tgx_abi_args_free(a);
    tgx_abi_entry_free(s);
    free(h1);
    free(h2);
    tgx_buf_cleanup(&out);
    tgx_abi_entry_free(e);
}

Test(abi_encode, bad_arguments_name_index_and_type)
{
    static const struct {
        const char *sig, *args;
        int index;
        const char *msg;
    } cases[] = {
        {"f(uint8)", "[\"256\"]", 0, "args[0] (uint8): 256 is out of range"},
        {"f(uint8)", "[\"-1\"]", 0, "args[0] (uint8): -1 is negative"},
        {"f(uint8)", "[\"0x100\"]", 0, "out of range"},
        {"f(uint8)", "[\"1.5\"]", 0, "not a decimal or 0x-hex integer"},
        {"f(uint8)", "[1.5]", 0, "not an integer"},
        {"f(uint8)", "[\"\"]", 0, "is not an integer"},
        {"f(uint8)", "[true]", 0, "expected an integer"},
        {"f(uint8)", "[\"0x\"]", 0, "integer"},
        {"f(int8)", "[\"128\"]", 0, "args[0] (int8): 128 is out of range"},
        {"f(int8)", "[\"-129\"]", 0, "out of range"},
        {"f(uint256)", "[\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"]",
         0, "below 2^256"},
        {"f(uint256)", "[1e78]", 0, "out of range"},
        {"f(int256)", "[\"57896044618658097711785492504343953926634992332820282019728792003956564819968\"]",
         0, "out of range"},
        {"f(bool,address)", "[true,\"0x123\"]", 1, "args[1] (address): \"0x123\" is not an address"},
        {"f(address)", "[\"0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92267\"]", 0, "checksum"},
        {"f(address)", "[\"0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266\"]", 0, "checksum"},
        {"f(address)", "[\"f39fd6e51aad88f6f4ce6ab8827279cfffb92266\"]", 0, "not an address"},
        {"f(address)", "[12]", 0, "expected a 0x address"},
        {"f(bool)", "[\"yes\"]", 0, "args[0] (bool): \"yes\" is not true or false"},
        {"f(bool)", "[null]", 0, "expected true or false"},
        {"f(bytes)", "[\"0x123\"]", 0, "args[0] (bytes)"},
        {"f(bytes)", "[\"abcd\"]", 0, "not 0x-hex"},
        {"f(bytes3)", "[\"0x6162\"]", 0, "args[0] (bytes3): expected exactly 3 bytes"},
        {"f(bytes3)", "[\"0x61626364\"]", 0, "exactly 3 bytes"},
        {"f(string)", "[5]", 0, "args[0] (string): expected a string"},
        {"f(uint256[])", "[\"[1,2\"]", 0, "args[0] (uint256[]): invalid JSON"},
        {"f(uint256[])", "[\"{\\\"a\\\":1}\"]", 0, "expected a JSON array"},
        {"f(uint256[2])", "[[1]]", 0, "args[0] (uint256[2]): expected 2 elements, got 1"},
        {"f(uint8[][])", "[[[1],[2,300]]]", 0, "args[0][1][1] (uint8): 300 is out of range"},
        {"f(string,(uint8,bool))", "[\"x\",[1]]", 1, "args[1] ((uint8,bool)): expected 2 tuple components"},
        {"f(string,(uint8,bool))", "[\"x\",[1,\"maybe\"]]", 1, "args[1][1] (bool)"},
        {"f(uint256,uint256)", "[1]", -1, "f(uint256,uint256) expects 2 arguments, got 1"},
        {"f()", "[1]", -1, "f() expects 0 arguments, got 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *hex = NULL;
        struct tgx_abi_error ae = {0};
        int rc = abi_test_encode_json(cases[i].sig, cases[i].args, &hex, &ae);
        cr_expect_eq(rc, -TGX_ERR_INVAL, "row %zu %s %s accepted: %s", i, cases[i].sig, cases[i].args,
                     hex ? hex : "");
        cr_expect_eq(ae.index, cases[i].index, "row %zu index", i);
        cr_expect(strstr(ae.message, cases[i].msg) != NULL, "row %zu: \"%s\" lacks \"%s\"", i, ae.message,
                  cases[i].msg);
        free(hex);
    }
}

Test(abi_encode, argument_json_text_errors)
{
    static const char *bad[] = {
        "",
        "1",
        "\"a\"",
        "[1,]",
        "[1 2]",
        "[\"a]",
        "[tru]",
        "[01]",
        "[-]",
        "[1.]",
        "[1e]",
        "[\"\\x\"]",
        "[\"\\ud800\"]",
        "[1] x",
        "[\"\x01\"]",
        "[{}]",
        "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tgx_abi_args *a = NULL;
        char err[256] = "";
        cr_expect_eq(tgx_abi_args_parse_json(bad[i], strlen(bad[i]), &a, err, sizeof err), -TGX_ERR_INVAL,
                     "\"%s\" accepted", bad[i]);
        cr_expect(err[0] != '\0');
        cr_expect(a == NULL);
    }
    struct tgx_abi_args *a = NULL;
    const char *ok = " [ \"\\ud83d\\ude00\" , null , [ ] , -0 , 1E2 ] ";
    cr_assert_eq(tgx_abi_args_parse_json(ok, strlen(ok), &a, NULL, 0), 0);
    cr_expect_eq(tgx_abi_args_count(a), 5);
    tgx_abi_args_free(a);
}

/* ------------------------------------------------------------------ decoding */

Test(abi_decode, round_trips)
{
    static const struct {
        const char *sig, *args, *json;
    } cases[] = {
        {"sam(bytes,bool,uint256[])", "[\"0x64617665\",true,[1,2,3]]",
         "[\"0x64617665\",true,[\"1\",\"2\",\"3\"]]"},
        {"h((uint256,string)[],int8,int256)", "[[[1,\"a\"],[2,\"bc\"]],-1,\"-12345678901234567890\"]",
         "[[[\"1\",\"a\"],[\"2\",\"bc\"]],\"-1\",\"-12345678901234567890\"]"},
        {"k(address,bytes3,string,bytes)",
         "[\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\",\"0x616263\",\"h\\u00e9\",\"0x\"]",
         "[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"0x616263\",\"h\\u00e9\",\"0x\"]"},
        {"z(int8,int256,uint8[2][2])",
         "[-128,\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\",[[1,2],[3,"
         "4]]]",
         "[\"-128\",\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\",[["
         "\"1\",\"2\"],[\"3\",\"4\"]]]"},
        {"e()", "[]", "[]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_abi_entry *e = abi_test_fn(cases[i].sig);
        struct tgx_abi_args *a = NULL;
        cr_assert_eq(tgx_abi_args_parse_json(cases[i].args, strlen(cases[i].args), &a, NULL, 0), 0, "row %zu",
                     i);
        struct tgx_buf out;
        tgx_buf_init(&out);
        struct tgx_abi_error ae;
        cr_assert_eq(tgx_abi_encode_call(e, a, &out, &ae), 0, "row %zu: %s", i, ae.message);
        json_t *dec = NULL;
        cr_assert_eq(tgx_abi_decode_call(e, (const uint8_t *)out.data, out.len, &dec, &ae), 0, "row %zu: %s",
                     i, ae.message);
        json_error_t je;
        json_t *want = json_loads(cases[i].json, 0, &je);
        cr_assert(want != NULL, "row %zu expected JSON: %s", i, je.text);
        char *got = json_dumps(dec, JSON_COMPACT);
        cr_expect(json_equal(dec, want), "row %zu: got %s", i, got);
        free(got);
        json_decref(want);
        json_decref(dec);
        /* a wrong selector is refused */
        out.data[0] ^= 1;
        dec = NULL;
        cr_expect_eq(tgx_abi_decode_call(e, (const uint8_t *)out.data, out.len, &dec, &ae), -TGX_ERR_INVAL);
        cr_expect(dec == NULL);
        tgx_buf_cleanup(&out);
        tgx_abi_args_free(a);
        tgx_abi_entry_free(e);
    }
}

Test(abi_decode, return_data)
{
    struct tgx_abi_entry *e = abi_test_fn("balanceOf(address)(uint256)");
    struct tgx_buf b;
    tgx_buf_init(&b);
    abi_test_unhex("0x00000000000000000000000000000000000000000000003635c9adc5dea00000", &b);
    json_t *out = NULL;
    struct tgx_abi_error ae;
    cr_assert_eq(tgx_abi_decode_output(e, (const uint8_t *)b.data, b.len, &out, &ae), 0, "%s", ae.message);
    cr_expect_str_eq(json_string_value(json_array_get(out, 0)), "1000000000000000000000");
    json_decref(out);
    tgx_abi_entry_free(e);
    /* the spec's Error(string) payload decodes as a string */
    e = abi_test_fn("x()(string)");
    tgx_buf_reset(&b);
    abi_test_unhex("0x0000000000000000000000000000000000000000000000000000000000000020"
                   "000000000000000000000000000000000000000000000000000000000000001a"
                   "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000",
                   &b);
    cr_assert_eq(tgx_abi_decode_output(e, (const uint8_t *)b.data, b.len, &out, &ae), 0, "%s", ae.message);
    cr_expect_str_eq(json_string_value(json_array_get(out, 0)), "Not enough Ether provided.");
    json_decref(out);
    tgx_abi_entry_free(e);
    tgx_buf_cleanup(&b);
}

Test(abi_decode, malformed_data_is_refused)
{
    static const struct {
        const char *sig, *hex, *msg;
    } cases[] = {
        {"x()(uint256)", "0x00", "needs 32 bytes"},
        {"x()(uint8)", "0x0000000000000000000000000000000000000000000000000000000000000100", "high bits"},
        {"x()(int8)", "0x0000000000000000000000000000000000000000000000000000000000000080", "out of range"},
        {"x()(int8)", "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "sign-extended"},
        {"x()(bool)", "0x0000000000000000000000000000000000000000000000000000000000000002",
         "neither 0 nor 1"},
        {"x()(address)", "0x0000000000000000000000010000000000000000000000000000000000000001", "high bits"},
        {"x()(bytes2)", "0x6162630000000000000000000000000000000000000000000000000000000000", "padding"},
        {"x()(string)", "0x0000000000000000000000000000000000000000000000000000000000000040",
         "beyond the data"},
        {"x()(string)",
         "0x0000000000000000000000000000000000000000000000000000000000000020"
         "0000000000000000000000000000000000000000000000000000000000000021"
         "6162630000000000000000000000000000000000000000000000000000000000",
         "runs past"},
        {"x()(string)",
         "0x0000000000000000000000000000000000000000000000000000000000000020"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "c328000000000000000000000000000000000000000000000000000000000000",
         "UTF-8"},
        {"x()(uint256[])",
         "0x0000000000000000000000000000000000000000000000000000000000000020"
         "00000000000000000000000000000000000000000000000000000000ffffffff",
         "beyond the data"},
        {"x()(uint256[])",
         "0x0000000000000000000000000000000000000000000000000000000000000020"
         "0000000000000000000000000000000000000000000000000000000000000002"
         "0000000000000000000000000000000000000000000000000000000000000001",
         "runs past"},
        {"x()(bytes)", "0xff00000000000000000000000000000000000000000000000000000000000020",
         "beyond the data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_abi_entry *e = abi_test_fn(cases[i].sig);
        struct tgx_buf b;
        tgx_buf_init(&b);
        abi_test_unhex(cases[i].hex, &b);
        json_t *out = NULL;
        struct tgx_abi_error ae = {0};
        cr_expect_eq(tgx_abi_decode_output(e, (const uint8_t *)b.data, b.len, &out, &ae), -TGX_ERR_INVAL,
                     "row %zu accepted", i);
        cr_expect(out == NULL);
        cr_expect(strstr(ae.message, cases[i].msg) != NULL, "row %zu: \"%s\" lacks \"%s\"", i, ae.message,
                  cases[i].msg);
        json_decref(out);
        tgx_buf_cleanup(&b);
        tgx_abi_entry_free(e);
    }
}

Test(abi_decode, hostile_sharing_is_bounded)
{
    /* 8 levels of arrays, each of 30 elements whose offsets all point at the same next level: a
     * naive decoder would visit 30^8 values; ours refuses once the value budget is spent */
    enum { LEVELS = 8, N = 30 };
    struct tgx_buf b;
    tgx_buf_init(&b);
    uint8_t w[32];
    memset(w, 0, 32);
    w[31] = 0x20;
    tgx_buf_append(&b, w, 32); /* offset of the outer array */
    for (int lvl = 0; lvl < LEVELS; lvl++) {
        memset(w, 0, 32);
        w[31] = lvl == LEVELS - 1 ? 0 : N; /* the innermost level is empty */
        tgx_buf_append(&b, w, 32);
        if (lvl == LEVELS - 1)
            break;
        for (int k = 0; k < N; k++) { /* offsets relative to the element area: all to the next level */
            memset(w, 0, 32);
            uint32_t off = N * 32;
            w[30] = (uint8_t)(off >> 8);
            w[31] = (uint8_t)off;
            tgx_buf_append(&b, w, 32);
        }
    }
    struct tgx_abi_entry *e = abi_test_fn("x()(uint256[][][][][][][][])");
    json_t *out = NULL;
    struct tgx_abi_error ae = {0};
    cr_expect_eq(tgx_abi_decode_output(e, (const uint8_t *)b.data, b.len, &out, &ae), -TGX_ERR_INVAL);
    cr_expect(strstr(ae.message, "too many values") != NULL, "%s", ae.message);
    tgx_abi_entry_free(e);
    tgx_buf_cleanup(&b);
}

Test(abi_decode, event_logs)
{
    struct tgx_abi_entry *ev = NULL;
    cr_assert_eq(tgx_abi_entry_parse("Transfer(address indexed from,address indexed to,uint256 value)",
                                     TGX_ABI_EVENT, &ev, NULL, 0),
                 0);
    uint8_t topics[3][32];
    memcpy(topics[0], ev->topic, 32);
    memset(topics[1], 0, 32);
    memset(topics[2], 0, 32);
    topics[1][31] = 0x01;
    topics[2][12] = 0xab;
    uint8_t data[32] = {0};
    data[31] = 42;
    json_t *out = NULL;
    struct tgx_abi_error ae;
    cr_assert_eq(tgx_abi_decode_log(ev, (const uint8_t(*)[32])topics, 3, data, 32, &out, &ae), 0, "%s",
                 ae.message);
    cr_expect_str_eq(json_string_value(json_array_get(out, 0)), "0x0000000000000000000000000000000000000001");
    cr_expect_str_eq(json_string_value(json_array_get(out, 1)), "0xab00000000000000000000000000000000000000");
    cr_expect_str_eq(json_string_value(json_array_get(out, 2)), "42");
    json_decref(out);
    cr_expect_eq(tgx_abi_decode_log(ev, (const uint8_t(*)[32])topics, 2, data, 32, &out, &ae),
                 -TGX_ERR_INVAL);
    topics[0][0] ^= 1;
    cr_expect_eq(tgx_abi_decode_log(ev, (const uint8_t(*)[32])topics, 3, data, 32, &out, &ae),
                 -TGX_ERR_INVAL);
    tgx_abi_entry_free(ev);
    /* an indexed string is only its hash */
    cr_assert_eq(tgx_abi_entry_parse("Named(string indexed name, bool flag)", TGX_ABI_EVENT, &ev, NULL, 0),
                 0);
    uint8_t t2[2][32];
    memcpy(t2[0], ev->topic, 32);
    tgx_keccak256("alice", 5, t2[1]);
    data[31] = 1;
    cr_assert_eq(tgx_abi_decode_log(ev, (const uint8_t(*)[32])t2, 2, data, 32, &out, &ae), 0, "%s",
                 ae.message);
    char want[67] = "0x";
    tgx_hex_encode(t2[1], 32, want + 2);
    cr_expect_str_eq(json_string_value(json_array_get(out, 0)), want);
    cr_expect(json_is_true(json_array_get(out, 1)));
    json_decref(out);
    tgx_abi_entry_free(ev);
}

/* ------------------------------------------------------------------ reverts */

Test(abi_revert, error_panic_custom_unknown)
{
    struct tgx_abi *abi = NULL;
    cr_assert_eq(tgx_abi_parse(abi_test_json, strlen(abi_test_json), &abi, NULL, 0), 0);
    static const struct {
        const char *hex;
        enum tgx_abi_revert_kind kind;
        const char *msg;
    } cases[] = {
        {"0x", TGX_ABI_REVERT_EMPTY, ""},
        {"0x08c379a0"
         "0000000000000000000000000000000000000000000000000000000000000020"
         "000000000000000000000000000000000000000000000000000000000000001a"
         "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000",
         TGX_ABI_REVERT_ERROR, "Not enough Ether provided."},
        {"0x4e487b710000000000000000000000000000000000000000000000000000000000000011", TGX_ABI_REVERT_PANIC,
         "panic 0x11: arithmetic underflow or overflow"},
        {"0x4e487b710000000000000000000000000000000000000000000000000000000000000032", TGX_ABI_REVERT_PANIC,
         "panic 0x32: array index out of bounds"},
        {"0x4e487b7100000000000000000000000000000000000000000000000000000000000000ff", TGX_ABI_REVERT_PANIC,
         "panic 0xff: unknown panic code"},
        /* InsufficientBalance(uint256 have, uint256 want) = 0xcf479181 */
        {"0xcf479181"
         "0000000000000000000000000000000000000000000000000000000000000064"
         "00000000000000000000000000000000000000000000000000000000000000c8",
         TGX_ABI_REVERT_CUSTOM, "InsufficientBalance(\"100\",\"200\")"},
        {"0x12345678", TGX_ABI_REVERT_UNKNOWN, "0x12345678"},
        {"0x08c379a000000000", TGX_ABI_REVERT_UNKNOWN, "0x08c379a000000000"}, /* truncated Error(string) */
        {"0x4e487b71", TGX_ABI_REVERT_UNKNOWN, "0x4e487b71"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_buf b;
        tgx_buf_init(&b);
        abi_test_unhex(cases[i].hex, &b);
        struct tgx_abi_revert r;
        cr_assert_eq(tgx_abi_decode_revert((const uint8_t *)b.data, b.len, abi, &r), 0);
        cr_expect_eq(r.kind, cases[i].kind, "row %zu", i);
        cr_expect_str_eq(r.message, cases[i].msg, "row %zu", i);
        if (r.kind == TGX_ABI_REVERT_CUSTOM)
            cr_expect_str_eq(r.error->name, "InsufficientBalance");
        tgx_abi_revert_cleanup(&r);
        tgx_buf_cleanup(&b);
    }
    /* without an ABI a custom error is unknown */
    uint8_t sel[4] = {0xcf, 0x47, 0x91, 0x81};
    struct tgx_abi_revert r;
    cr_assert_eq(tgx_abi_decode_revert(sel, 4, NULL, &r), 0);
    cr_expect_eq(r.kind, TGX_ABI_REVERT_UNKNOWN);
    tgx_abi_revert_cleanup(&r);
    tgx_abi_free(abi);
}

/* ------------------------------------------------------------------ addresses and hex */

Test(abi_address, eip55)
{
    static const char *vectors[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        uint8_t a[20];
        char cs[43], lower[43], upper[43];
        cr_assert_eq(tgx_abi_address_parse(vectors[i], a), 0, "%s", vectors[i]);
        tgx_abi_address_checksum(a, cs);
        cr_expect_str_eq(cs, vectors[i]);
        for (int k = 0; k < 43; k++) {
            lower[k] = (char)(k >= 2 && vectors[i][k] >= 'A' && vectors[i][k] <= 'F' ? vectors[i][k] + 32
                                                                                     : vectors[i][k]);
            upper[k] = (char)(k >= 2 && vectors[i][k] >= 'a' && vectors[i][k] <= 'f' ? vectors[i][k] - 32
                                                                                     : vectors[i][k]);
        }
        uint8_t b[20];
        cr_expect_eq(tgx_abi_address_parse(lower, b), 0, "%s", lower);
        cr_expect_arr_eq(a, b, 20);
        cr_expect_eq(tgx_abi_address_parse(upper, b), 0, "%s", upper);
        cr_expect_arr_eq(a, b, 20);
    }
    static const char *bad[] = {"",
                                "0x",
                                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
                                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae",
                                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd",
                                "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00",
                                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg",
                                " 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t a[20];
        cr_expect_eq(tgx_abi_address_parse(bad[i], a), -TGX_ERR_INVAL, "\"%s\" accepted", bad[i]);
    }
}

Test(abi_address, hex_helpers)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_expect_eq(tgx_abi_hex_decode("0x", 2, &b), 0);
    cr_expect_eq(b.len, 0);
    cr_expect_eq(tgx_abi_hex_decode("0xA0b1", 6, &b), 0);
    cr_expect_eq(b.len, 2);
    cr_expect_eq((uint8_t)b.data[0], 0xa0);
    cr_expect_eq(tgx_abi_hex_decode("0xa", 3, &b), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_abi_hex_decode("a0", 2, &b), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_abi_hex_decode("0xzz", 4, &b), -TGX_ERR_INVAL);
    cr_expect_eq(b.len, 2, "failed decodes append nothing");
    struct tgx_buf h;
    tgx_buf_init(&h);
    tgx_abi_hex_append(&h, b.data, b.len);
    cr_expect_str_eq(h.data, "0xa0b1");
    /* long input crosses the internal chunking */
    uint8_t big[300];
    for (int i = 0; i < 300; i++)
        big[i] = (uint8_t)i;
    tgx_buf_reset(&h);
    tgx_abi_hex_append(&h, big, sizeof big);
    tgx_buf_reset(&b);
    cr_assert_eq(tgx_abi_hex_decode(h.data, h.len, &b), 0);
    cr_expect_eq(b.len, 300);
    cr_expect(memcmp(b.data, big, 300) == 0);
    tgx_buf_cleanup(&h);
    tgx_buf_cleanup(&b);
}
