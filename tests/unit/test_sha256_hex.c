/* test_sha256_hex.c: SHA-256 of known vectors, hex encoding and decoding. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/hex.h"
#include "tgx/sha256.h"

Test(sha256, known_vectors)
{
    static const struct {
        const char *input;
        const char *hex;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"The quick brown fox jumps over the lazy dog",
         "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[TGX_SHA256_HEX_LEN + 1];
        cr_assert_eq(tgx_sha256_hex(cases[i].input, strlen(cases[i].input), hex), 0);
        cr_expect_str_eq(hex, cases[i].hex, "row %zu", i);
    }
}

Test(sha256, one_million_a)
{
    size_t n = 1000000;
    char *a = malloc(n);
    cr_assert(a != NULL);
    memset(a, 'a', n);
    char hex[TGX_SHA256_HEX_LEN + 1];
    cr_assert_eq(tgx_sha256_hex(a, n, hex), 0);
    cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

Test(sha256, raw_digest_matches_hex)
{
    uint8_t md[TGX_SHA256_LEN];
    cr_assert_eq(tgx_sha256("abc", 3, md), 0);
    cr_expect_eq(md[0], 0xba);
    cr_expect_eq(md[31], 0xad);
}

Test(hex, encode)
{
    const uint8_t in[] = {0x00, 0xff, 0x10, 0xab};
    char out[9];
    tgx_hex_encode(in, sizeof in, out);
    cr_expect_str_eq(out, "00ff10ab");
    tgx_hex_encode(in, 0, out);
    cr_expect_str_eq(out, "");
}

Test(hex, decode_table)
{
    static const struct {
        const char *hex;
        size_t cap;
        int rc;
        size_t len;
        uint8_t bytes[4];
    } cases[] = {
        {"00ff10AB", 4, 0, 4, {0x00, 0xff, 0x10, 0xab}},
        {"", 4, 0, 0, {0}},
        {"0", 4, -TGX_ERR_INVAL, 0, {0}},
        {"0g", 4, -TGX_ERR_INVAL, 0, {0}},
        {"0x00", 4, -TGX_ERR_INVAL, 0, {0}},
        {"0011223344", 4, -TGX_ERR_INVAL, 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[4] = {0};
        size_t len = 99;
        int rc = tgx_hex_decode(cases[i].hex, strlen(cases[i].hex), out, cases[i].cap, &len);
        cr_expect_eq(rc, cases[i].rc, "row %zu: rc %d", i, rc);
        if (rc == 0) {
            cr_expect_eq(len, cases[i].len, "row %zu", i);
            cr_expect(memcmp(out, cases[i].bytes, len) == 0, "row %zu: bytes", i);
        }
    }
}
