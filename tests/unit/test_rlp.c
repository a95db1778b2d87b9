/* test_rlp.c: RLP encoding against the yellow paper / wiki vectors, strict decoding, bad inputs. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/hex.h"
#include "tgx/rlp.h"

/* The lower-case hex of B (a new string). */
static char *rlp_test_hex(const struct tgx_buf *b)
{
    char *s = malloc(2 * b->len + 1);
    cr_assert(s != NULL);
    tgx_hex_encode((const uint8_t *)b->data, b->len, s);
    return s;
}

/* Decode test hex S into OUT (OUTCAP bytes); returns the length. */
static size_t rlp_test_unhex(const char *s, uint8_t *out, size_t outcap)
{
    size_t n;
    cr_assert_eq(tgx_hex_decode(s, strlen(s), out, outcap, &n), 0, "bad test hex %s", s);
    return n;
}

/* One encoding case: a builder and the expected hex. */
struct rlp_test_case {
    const char *name;
    void (*build)(struct tgx_buf *b);
    const char *hex;
};

static void rlp_test_dog(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, "dog", 3);
}
static void rlp_test_cat_dog(struct tgx_buf *b)
{
    size_t m = tgx_rlp_list_begin(b);
    tgx_rlp_put_bytes(b, "cat", 3);
    tgx_rlp_put_bytes(b, "dog", 3);
    tgx_rlp_list_end(b, m);
}
static void rlp_test_empty_string(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, NULL, 0);
}
static void rlp_test_empty_list(struct tgx_buf *b)
{
    tgx_rlp_list_end(b, tgx_rlp_list_begin(b));
}
static void rlp_test_zero(struct tgx_buf *b)
{
    tgx_rlp_put_u64(b, 0);
}
static void rlp_test_zero_u256(struct tgx_buf *b)
{
    struct tgx_u256 z = tgx_u256_from_u64(0);
    tgx_rlp_put_u256(b, &z);
}
static void rlp_test_byte_zero(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, "\x00", 1);
}
static void rlp_test_byte_0f(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, "\x0f", 1);
}
static void rlp_test_byte_80(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, "\x80", 1);
}
static void rlp_test_15(struct tgx_buf *b)
{
    tgx_rlp_put_u64(b, 15);
}
static void rlp_test_127(struct tgx_buf *b)
{
    tgx_rlp_put_u64(b, 127);
}
static void rlp_test_128(struct tgx_buf *b)
{
    tgx_rlp_put_u64(b, 128);
}
static void rlp_test_1024(struct tgx_buf *b)
{
    tgx_rlp_put_u64(b, 1024);
}
static void rlp_test_1024_u256(struct tgx_buf *b)
{
    struct tgx_u256 v = tgx_u256_from_u64(1024);
    tgx_rlp_put_u256(b, &v);
}
static void rlp_test_u64_max(struct tgx_buf *b)
{
    tgx_rlp_put_u64(b, UINT64_MAX);
}
static void rlp_test_u256_max(struct tgx_buf *b)
{
    struct tgx_u256 v = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    tgx_rlp_put_u256(b, &v);
}
/* [ [], [[]], [ [], [[]] ] ] */
static void rlp_test_set3(struct tgx_buf *b)
{
    size_t outer = tgx_rlp_list_begin(b);
    rlp_test_empty_list(b);
    size_t one = tgx_rlp_list_begin(b);
    rlp_test_empty_list(b);
    tgx_rlp_list_end(b, one);
    size_t two = tgx_rlp_list_begin(b);
    rlp_test_empty_list(b);
    size_t two_one = tgx_rlp_list_begin(b);
    rlp_test_empty_list(b);
    tgx_rlp_list_end(b, two_one);
    tgx_rlp_list_end(b, two);
    tgx_rlp_list_end(b, outer);
}
static const char rlp_test_lorem[] =
    "Lorem ipsum dolor sit amet, consectetur adipisicing elit"; /* 56 bytes */
static void rlp_test_long_string(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, rlp_test_lorem, 56);
}
static void rlp_test_string_55(struct tgx_buf *b)
{
    tgx_rlp_put_bytes(b, rlp_test_lorem, 55);
}
/* a list whose payload is 56 bytes: the long list form */
static void rlp_test_long_list(struct tgx_buf *b)
{
    size_t m = tgx_rlp_list_begin(b);
    tgx_rlp_put_bytes(b, rlp_test_lorem, 54); /* 1 + 54 = 55 */
    tgx_rlp_put_bytes(b, "a", 1);             /* + 1 = 56 */
    tgx_rlp_list_end(b, m);
}
/* a 1024-byte string: two length bytes */
static void rlp_test_kilo(struct tgx_buf *b)
{
    uint8_t k[1024];
    memset(k, 'x', sizeof k);
    tgx_rlp_put_bytes(b, k, sizeof k);
}

static const struct rlp_test_case rlp_test_cases[] = {
    {"dog", rlp_test_dog, "83646f67"},
    {"[cat, dog]", rlp_test_cat_dog, "c88363617483646f67"},
    {"empty string", rlp_test_empty_string, "80"},
    {"empty list", rlp_test_empty_list, "c0"},
    {"integer 0", rlp_test_zero, "80"},
    {"u256 0", rlp_test_zero_u256, "80"},
    {"byte 0x00", rlp_test_byte_zero, "00"},
    {"byte 0x0f", rlp_test_byte_0f, "0f"},
    {"byte 0x80", rlp_test_byte_80, "8180"},
    {"integer 15", rlp_test_15, "0f"},
    {"integer 127", rlp_test_127, "7f"},
    {"integer 128", rlp_test_128, "8180"},
    {"integer 1024", rlp_test_1024, "820400"},
    {"u256 1024", rlp_test_1024_u256, "820400"},
    {"u64 max", rlp_test_u64_max, "88ffffffffffffffff"},
    {"u256 max", rlp_test_u256_max, "a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    {"set of three", rlp_test_set3, "c7c0c1c0c3c0c1c0"},
    {"56-byte string", rlp_test_long_string,
     "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696"
     "e6720656c6974"},
    {"55-byte string", rlp_test_string_55,
     "b74c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6"
     "720656c69"},
    {"56-byte list payload", rlp_test_long_list,
     "f838b64c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e73656374657475722061646970697369636"
     "96e6720656c61"},
};

Test(rlp_encode, vectors)
{
    for (size_t i = 0; i < sizeof rlp_test_cases / sizeof rlp_test_cases[0]; i++) {
        struct tgx_buf b;
        tgx_buf_init(&b);
        rlp_test_cases[i].build(&b);
        cr_assert(!tgx_buf_oom(&b));
        char *hex = rlp_test_hex(&b);
        cr_expect_str_eq(hex, rlp_test_cases[i].hex, "row %zu (%s)", i, rlp_test_cases[i].name);
        /* every vector decodes back to one item spanning the whole input */
        struct tgx_rlp_item item;
        cr_expect_eq(tgx_rlp_decode_all((const uint8_t *)b.data, b.len, &item), 0, "row %zu (%s) decode", i,
                     rlp_test_cases[i].name);
        cr_expect_eq(item.raw_len, b.len, "row %zu", i);
        free(hex);
        tgx_buf_cleanup(&b);
    }
}

Test(rlp_encode, kilobyte_string_two_length_bytes)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    rlp_test_kilo(&b);
    cr_assert_eq(b.len, 3 + 1024);
    cr_assert_eq((uint8_t)b.data[0], 0xb9);
    cr_assert_eq((uint8_t)b.data[1], 0x04);
    cr_assert_eq((uint8_t)b.data[2], 0x00);
    struct tgx_rlp_item item;
    cr_assert_eq(tgx_rlp_decode_all((const uint8_t *)b.data, b.len, &item), 0);
    cr_assert_eq(item.kind, TGX_RLP_STRING);
    cr_assert_eq(item.len, 1024);
    /* and a list around it: 0xf9 0x04 0x03 */
    struct tgx_buf l;
    tgx_buf_init(&l);
    size_t m = tgx_rlp_list_begin(&l);
    rlp_test_kilo(&l);
    tgx_rlp_list_end(&l, m);
    cr_assert_eq(l.len, 3 + 3 + 1024);
    cr_assert_eq((uint8_t)l.data[0], 0xf9);
    cr_assert_eq((uint8_t)l.data[1], 0x04);
    cr_assert_eq((uint8_t)l.data[2], 0x03);
    tgx_buf_cleanup(&l);
    tgx_buf_cleanup(&b);
}

Test(rlp_decode, structure_and_integers)
{
    uint8_t in[64];
    size_t n = rlp_test_unhex("c7c0c1c0c3c0c1c0", in, sizeof in);
    struct tgx_rlp_item top, items[4], inner[4];
    size_t count;
    cr_assert_eq(tgx_rlp_decode_all(in, n, &top), 0);
    cr_assert_eq(top.kind, TGX_RLP_LIST);
    cr_assert_eq(tgx_rlp_list_items(&top, items, 4, &count), 0);
    cr_assert_eq(count, 3);
    cr_assert_eq(items[0].kind, TGX_RLP_LIST);
    cr_assert_eq(items[0].len, 0);
    cr_assert_eq(tgx_rlp_list_items(&items[2], inner, 4, &count), 0);
    cr_assert_eq(count, 2);
    cr_assert_eq(inner[1].raw_len, 2);
    cr_assert_eq(tgx_rlp_list_items(&top, items, 2, &count), -TGX_ERR_INVAL, "more items than room");

    n = rlp_test_unhex("c88363617483646f67", in, sizeof in);
    cr_assert_eq(tgx_rlp_decode_all(in, n, &top), 0);
    struct tgx_rlp_iter it;
    tgx_rlp_iter_init(&it, &top);
    struct tgx_rlp_item x;
    cr_assert_eq(tgx_rlp_iter_next(&it, &x), 1);
    cr_assert_eq(x.len, 3);
    cr_assert(memcmp(x.data, "cat", 3) == 0);
    cr_assert_eq(tgx_rlp_iter_next(&it, &x), 1);
    cr_assert(memcmp(x.data, "dog", 3) == 0);
    cr_assert_eq(tgx_rlp_iter_next(&it, &x), 0);

    /* integers */
    static const struct {
        const char *hex;
        int rc;
        uint64_t v;
    } ints[] = {
        {"80", 0, 0},
        {"0f", 0, 15},
        {"820400", 0, 1024},
        {"88ffffffffffffffff", 0, UINT64_MAX},
        {"00", -TGX_ERR_INVAL, 0},                   /* a leading zero byte */
        {"820004", -TGX_ERR_INVAL, 0},               /* a leading zero byte */
        {"89010000000000000000", -TGX_ERR_INVAL, 0}, /* 9 bytes: too big for u64 */
        {"c0", -TGX_ERR_INVAL, 0},                   /* a list */
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        n = rlp_test_unhex(ints[i].hex, in, sizeof in);
        cr_assert_eq(tgx_rlp_decode_all(in, n, &x), 0, "row %zu", i);
        uint64_t v = 12345;
        cr_expect_eq(tgx_rlp_item_u64(&x, &v), ints[i].rc, "row %zu (%s)", i, ints[i].hex);
        if (ints[i].rc == 0)
            cr_expect_eq(v, ints[i].v, "row %zu", i);
    }
    n = rlp_test_unhex("89010000000000000000", in, sizeof in);
    cr_assert_eq(tgx_rlp_decode_all(in, n, &x), 0);
    struct tgx_u256 u;
    cr_assert_eq(tgx_rlp_item_u256(&x, &u), 0);
    cr_assert_eq(u.w[1], 1);
    cr_assert_eq(u.w[0], 0);
}

Test(rlp_decode, rejects_malformed)
{
    static const struct {
        const char *hex;
        const char *why;
    } bad[] = {
        {"", "empty input"},
        {"83646f", "string shorter than its prefix says"},
        {"8100", "single byte < 0x80 with a prefix"},
        {"817f", "single byte < 0x80 with a prefix"},
        {"81", "truncated single byte"},
        {"b800", "long form for length 0"},
        {"b837", "long form for a length <= 55"},
        {"b90038", "length with a leading zero"},
        {"b8", "long-form length missing"},
        {"b838", "long string truncated"},
        {"c1", "list truncated"},
        {"c3c0c1", "list item truncated"},
        {"f800", "long list form for length 0"},
        {"f90000", "long list length with leading zero"},
        {"c0c0", "trailing bytes (decode_all)"},
        {"bfffffffffffffffff", "absurd length"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t in[64];
        size_t n = rlp_test_unhex(bad[i].hex, in, sizeof in);
        struct tgx_rlp_item x, items[4];
        int rc = tgx_rlp_decode_all(n ? in : NULL, n, &x);
        if (rc == 0 && x.kind == TGX_RLP_LIST) { /* the damage may be inside the list */
            size_t count;
            rc = tgx_rlp_list_items(&x, items, 4, &count);
        }
        cr_expect_eq(rc, -TGX_ERR_INVAL, "row %zu (%s): %s", i, bad[i].hex, bad[i].why);
    }
}
