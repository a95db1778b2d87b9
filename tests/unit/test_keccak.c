/* test_keccak.c: Keccak-256 on nettle against known vectors and an independent implementation. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/hex.h"
#include "tgx/keccak.h"

/* ---- an independent Keccak-256 (the self-contained one of toolchain.md section 3) ---- */

#define KECCAK_TEST_ROTL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static const uint64_t keccak_test_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
static const int keccak_test_rotc[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                         27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
static const int keccak_test_piln[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                         15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

static void keccak_test_f(uint64_t st[25])
{
    uint64_t t, bc[5];
    for (int r = 0; r < 24; r++) {
        for (int i = 0; i < 5; i++)
            bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        for (int i = 0; i < 5; i++) {
            t = bc[(i + 4) % 5] ^ KECCAK_TEST_ROTL(bc[(i + 1) % 5], 1);
            for (int j = 0; j < 25; j += 5)
                st[j + i] ^= t;
        }
        t = st[1];
        for (int i = 0; i < 24; i++) {
            int j = keccak_test_piln[i];
            bc[0] = st[j];
            st[j] = KECCAK_TEST_ROTL(t, keccak_test_rotc[i]);
            t = bc[0];
        }
        for (int j = 0; j < 25; j += 5) {
            for (int i = 0; i < 5; i++)
                bc[i] = st[j + i];
            for (int i = 0; i < 5; i++)
                st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
        }
        st[0] ^= keccak_test_rc[r];
    }
}

static void keccak_test_ref(const uint8_t *in, size_t len, uint8_t out[32])
{
    uint64_t st[25] = {0};
    const size_t rate = 136;
    size_t i;
    for (; len >= rate; len -= rate, in += rate) {
        for (i = 0; i < rate; i++)
            st[i / 8] ^= (uint64_t)in[i] << (8 * (i % 8));
        keccak_test_f(st);
    }
    for (i = 0; i < len; i++)
        st[i / 8] ^= (uint64_t)in[i] << (8 * (i % 8));
    st[len / 8] ^= (uint64_t)0x01 << (8 * (len % 8));
    st[(rate - 1) / 8] ^= (uint64_t)0x80 << (8 * ((rate - 1) % 8));
    keccak_test_f(st);
    for (i = 0; i < 32; i++)
        out[i] = (uint8_t)(st[i / 8] >> (8 * (i % 8)));
}

/* Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
static void keccak_test_fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

Test(keccak, known_vectors)
{
    static const struct {
        const char *input;
        const char *hex;
    } cases[] = {
        {"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
        {"The quick brown fox jumps over the lazy dog",
         "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
        {"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
        {"transfer(address,uint256)", "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b"},
        {"Transfer(address,address,uint256)",
         "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[TGX_KECCAK256_HEX_LEN + 1];
        tgx_keccak256_hex(cases[i].input, strlen(cases[i].input), hex);
        cr_expect_str_eq(hex, cases[i].hex, "row %zu (\"%s\")", i, cases[i].input);
    }
}

Test(keccak, rate_boundaries_match_reference)
{
    static const size_t lens[] = {0, 1, 7, 8, 31, 32, 63, 64, 134, 135, 136, 137, 271, 272, 273, 408, 1000};
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t got[32], want[32];
        keccak_test_fill(buf, lens[i], lens[i]);
        tgx_keccak256(buf, lens[i], got);
        keccak_test_ref(buf, lens[i], want);
        cr_expect_arr_eq(got, want, 32, "length %zu", lens[i]);
    }
}

Test(keccak, all_lengths_to_700_match_reference)
{
    uint8_t buf[700];
    for (size_t len = 0; len <= sizeof buf; len++) {
        uint8_t got[32], want[32];
        keccak_test_fill(buf, len, 1000 + len);
        tgx_keccak256(buf, len, got);
        keccak_test_ref(buf, len, want);
        cr_assert_arr_eq(got, want, 32, "length %zu", len);
    }
}

Test(keccak, incremental_any_split_matches_one_shot)
{
    static const size_t lens[] = {135, 136, 137, 272, 300};
    uint8_t buf[300];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        uint8_t want[32];
        keccak_test_fill(buf, len, 7 * len);
        keccak_test_ref(buf, len, want);
        for (size_t split = 0; split <= len; split++) {
            struct tgx_keccak256_ctx ctx;
            uint8_t got[32];
            tgx_keccak256_init(&ctx);
            tgx_keccak256_update(&ctx, buf, split);
            tgx_keccak256_update(&ctx, buf + split, len - split);
            tgx_keccak256_final(&ctx, got);
            cr_assert_arr_eq(got, want, 32, "length %zu split at %zu", len, split);
        }
    }
}

Test(keccak, byte_at_a_time_and_context_reuse)
{
    const char *msg = "The quick brown fox jumps over the lazy dog";
    struct tgx_keccak256_ctx ctx;
    uint8_t got[32], again[32], empty[32];
    tgx_keccak256_init(&ctx);
    for (size_t i = 0; i < strlen(msg); i++)
        tgx_keccak256_update(&ctx, msg + i, 1);
    tgx_keccak256_final(&ctx, got);
    char hex[65];
    tgx_hex_encode(got, 32, hex);
    cr_expect_str_eq(hex, "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
    /* final re-initialises: the context now hashes a new, empty message */
    tgx_keccak256_final(&ctx, empty);
    tgx_hex_encode(empty, 32, hex);
    cr_expect_str_eq(hex, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    tgx_keccak256_update(&ctx, msg, strlen(msg));
    tgx_keccak256_final(&ctx, again);
    cr_expect_arr_eq(got, again, 32);
    /* NULL data with length 0 is allowed */
    tgx_keccak256(NULL, 0, again);
    cr_expect_arr_eq(again, empty, 32);
}

Test(keccak, differs_from_sha3)
{
    /* SHA3-256("") = a7ffc6f8...; Keccak-256 must not produce it */
    char hex[65];
    tgx_keccak256_hex("", 0, hex);
    cr_expect(strncmp(hex, "a7ffc6f8", 8) != 0);
}
