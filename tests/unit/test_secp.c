/* test_secp.c: keys, addresses, recoverable signatures and EIP-191 against known vectors (ethers v6). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "tgx/hex.h"
#include "tgx/keccak.h"
#include "tgx/secp.h"

/* Decode 0x-prefixed or bare hex S of exactly N bytes into OUT. */
static void secp_test_unhex(const char *s, uint8_t *out, size_t n)
{
    if (s[0] == '0' && s[1] == 'x')
        s += 2;
    size_t got;
    cr_assert_eq(tgx_hex_decode(s, strlen(s), out, n, &got), 0, "bad test hex %s", s);
    cr_assert_eq(got, n, "test hex %s is not %zu bytes", s, n);
}

static const char secp_test_anvil0[] = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

Test(secp_keys, known_addresses)
{
    static const struct {
        const char *secret;
        const char *address;
    } rows[] = {
        {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
         "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
        {"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
         "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
        {"4646464646464646464646464646464646464646464646464646464646464646",
         "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"},
        {"0000000000000000000000000000000000000000000000000000000000000001",
         "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
    };
    cr_assert_eq(tgx_secp_init(), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t secret[32], addr[20];
        char text[TGX_ADDRESS_TEXT_LEN + 1];
        secp_test_unhex(rows[i].secret, secret, 32);
        cr_assert(tgx_secp_key_valid(secret), "row %zu", i);
        cr_assert_eq(tgx_secp_address(secret, addr), 0, "row %zu", i);
        tgx_secp_address_text(addr, text);
        cr_expect_str_eq(text, rows[i].address, "row %zu", i);
    }
}

Test(secp_keys, invalid_secrets_and_generation)
{
    uint8_t zero[32] = {0}, order[32], addr[20], pub[65];
    /* n, the group order, and n itself is invalid */
    secp_test_unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", order, 32);
    cr_assert(!tgx_secp_key_valid(zero));
    cr_assert(!tgx_secp_key_valid(order));
    cr_assert_eq(tgx_secp_address(zero, addr), -TGX_ERR_INVAL);
    cr_assert_eq(tgx_secp_pubkey(order, pub), -TGX_ERR_INVAL);
    struct tgx_secp_sig sig;
    uint8_t digest[32] = {1};
    cr_assert_eq(tgx_secp_sign(zero, digest, &sig), -TGX_ERR_INVAL);

    uint8_t a[32], b[32];
    cr_assert_eq(tgx_secp_key_generate(a), 0);
    cr_assert_eq(tgx_secp_key_generate(b), 0);
    cr_assert(tgx_secp_key_valid(a));
    cr_assert(memcmp(a, b, 32) != 0, "two generated keys are equal");
    cr_assert_eq(tgx_secp_pubkey(a, pub), 0);
    cr_assert_eq(pub[0], 0x04);
}

Test(secp_sign, round_trips_and_tampering)
{
    uint8_t secret[32], addr[20], got[20];
    secp_test_unhex(secp_test_anvil0, secret, 32);
    cr_assert_eq(tgx_secp_address(secret, addr), 0);
    for (int i = 0; i < 64; i++) {
        uint8_t digest[32];
        tgx_keccak256(&i, sizeof i, digest);
        struct tgx_secp_sig sig, sig2;
        cr_assert_eq(tgx_secp_sign(secret, digest, &sig), 0, "row %d", i);
        cr_assert(sig.recid == 0 || sig.recid == 1, "row %d", i);
        cr_assert(sig.s[0] < 0x80, "row %d: high S", i); /* low S: s <= n/2 < 2^255 */
        cr_assert_eq(tgx_secp_recover(digest, &sig, got), 0, "row %d", i);
        cr_assert(memcmp(got, addr, 20) == 0, "row %d", i);
        /* deterministic (RFC 6979) */
        cr_assert_eq(tgx_secp_sign(secret, digest, &sig2), 0);
        cr_assert(memcmp(&sig, &sig2, sizeof sig) == 0, "row %d", i);
        /* the 65-byte forms, v 27/28 and 0/1 */
        uint8_t b65[65];
        tgx_secp_sig_to_bytes(&sig, 27, b65);
        cr_assert_eq(tgx_secp_recover_bytes(digest, b65, got), 0);
        cr_assert(memcmp(got, addr, 20) == 0);
        tgx_secp_sig_to_bytes(&sig, 0, b65);
        cr_assert_eq(tgx_secp_recover_bytes(digest, b65, got), 0);
        cr_assert(memcmp(got, addr, 20) == 0);
        /* the wrong recid recovers another address; another digest too */
        sig2 = sig;
        sig2.recid ^= 1;
        if (tgx_secp_recover(digest, &sig2, got) == 0)
            cr_assert(memcmp(got, addr, 20) != 0, "row %d", i);
        uint8_t other[32];
        memcpy(other, digest, 32);
        other[0] ^= 1;
        if (tgx_secp_recover(other, &sig, got) == 0)
            cr_assert(memcmp(got, addr, 20) != 0, "row %d", i);
    }
}

Test(secp_sign, rejects_bad_signatures)
{
    uint8_t secret[32], digest[32], got[20];
    secp_test_unhex(secp_test_anvil0, secret, 32);
    tgx_keccak256("x", 1, digest);
    struct tgx_secp_sig sig, bad;
    cr_assert_eq(tgx_secp_sign(secret, digest, &sig), 0);
    uint8_t b65[65];
    /* v outside 0, 1, 27, 28 */
    static const int bad_v[] = {2, 26, 29, 35, 255};
    for (size_t i = 0; i < sizeof bad_v / sizeof bad_v[0]; i++) {
        tgx_secp_sig_to_bytes(&sig, 0, b65);
        b65[64] = (uint8_t)bad_v[i];
        cr_expect_eq(tgx_secp_recover_bytes(digest, b65, got), -TGX_ERR_INVAL, "v=%d", bad_v[i]);
    }
    /* r = 0, s = 0, r >= n */
    bad = sig;
    memset(bad.r, 0, 32);
    cr_expect_eq(tgx_secp_recover(digest, &bad, got), -TGX_ERR_INVAL);
    bad = sig;
    memset(bad.s, 0, 32);
    cr_expect_eq(tgx_secp_recover(digest, &bad, got), -TGX_ERR_INVAL);
    bad = sig;
    memset(bad.r, 0xff, 32);
    cr_expect_eq(tgx_secp_recover(digest, &bad, got), -TGX_ERR_INVAL);
    bad = sig;
    bad.recid = 7;
    cr_expect_eq(tgx_secp_recover(digest, &bad, got), -TGX_ERR_INVAL);
    /* the malleable twin (r, n - s, recid ^ 1) is refused: high S */
    static const uint8_t n_be[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                     0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    bad = sig;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n_be[i] - sig.s[i] - borrow;
        borrow = d < 0;
        bad.s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    bad.recid ^= 1;
    cr_expect_eq(tgx_secp_recover(digest, &bad, got), -TGX_ERR_INVAL, "high S accepted");
}

Test(secp_message, eip191_vectors_from_ethers)
{
    static const struct {
        const char *msg;
        const char *sig;
    } rows[] = {
        {"hello", "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc573c48ea3fe1d4ab61a9db10"
                  "c19032026e3e"
                  "d2dbccba5a178235ac27f94504311c"},
        {"", "0xc1977b761f1dd36c29795783460d241885c8e7f9d962dbe7bba2753fd94e89b444a1cd9ed855dd09afa3b73f7c2bd"
             "097ec9ab"
             "c2d2775d737505a02d3f0cafa591b"},
    };
    uint8_t secret[32], addr[20], got[20];
    secp_test_unhex(secp_test_anvil0, secret, 32);
    cr_assert_eq(tgx_secp_address(secret, addr), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char sig[TGX_SECP_SIG_HEX_LEN + 1];
        size_t len = strlen(rows[i].msg);
        cr_assert_eq(tgx_secp_sign_message(secret, rows[i].msg, len, sig), 0);
        cr_expect_str_eq(sig, rows[i].sig, "row %zu", i);
        cr_assert_eq(tgx_secp_recover_message_address(rows[i].msg, len, rows[i].sig, got), 0, "row %zu", i);
        cr_expect(memcmp(got, addr, 20) == 0, "row %zu", i);
        /* upper-case hex and v 0/1 are accepted too */
        char alt[TGX_SECP_SIG_HEX_LEN + 1];
        memcpy(alt, rows[i].sig, sizeof alt);
        for (char *p = alt + 2; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');
        alt[130] = '0';
        alt[131] = alt[131] == 'C' ? '1' : '0';
        cr_assert_eq(tgx_secp_recover_message_address(rows[i].msg, len, alt, got), 0, "row %zu %s", i, alt);
        cr_expect(memcmp(got, addr, 20) == 0, "row %zu", i);
        /* another message recovers another address */
        cr_assert_eq(tgx_secp_recover_message_address("hellO", 5, rows[i].sig, got), 0);
        cr_expect(memcmp(got, addr, 20) != 0, "row %zu", i);
    }
    /* the digest of "hello": the well-known personal_sign hash */
    uint8_t digest[32];
    char hex[65];
    tgx_secp_message_digest("hello", 5, digest);
    tgx_hex_encode(digest, 32, hex);
    cr_expect_str_eq(hex, "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750");
}

Test(secp_message, rejects_malformed_text)
{
    static const char *bad[] = {
        NULL,
        "",
        "0x",
        "f16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc573c48ea3fe1d4ab61a9db10c19032026e3e"
        "d2dbccba5a17"
        "8235ac27f94504311c", /* no 0x */
        "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc573c48ea3fe1d4ab61a9db10c19032026e"
        "3ed2dbccba5a"
        "178235ac27f94504311", /* one digit short */
        "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc573c48ea3fe1d4ab61a9db10c19032026e"
        "3ed2dbccba5a"
        "178235ac27f94504311c00", /* one byte long */
        "0xg16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc573c48ea3fe1d4ab61a9db10c19032026e"
        "3ed2dbccba5a"
        "178235ac27f94504311c", /* not hex */
        "0xf16ea9a3478698f695fd1401bfe27e9e4a7e8e3da94aa72b021125e31fa899cc573c48ea3fe1d4ab61a9db10c19032026e"
        "3ed2dbccba5a"
        "178235ac27f94504311d", /* v = 29 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t got[20];
        cr_expect_eq(tgx_secp_recover_message_address("hello", 5, bad[i], got), -TGX_ERR_INVAL, "row %zu", i);
    }
}

/* Sign and recover from several threads at once over the one shared context. */
static void *secp_test_thread(void *arg)
{
    uint8_t secret[32], addr[20], got[20], digest[32];
    secp_test_unhex(secp_test_anvil0, secret, 32);
    if (tgx_secp_address(secret, addr) < 0)
        return (void *)1;
    for (int i = 0; i < 200; i++) {
        int seed[2] = {(int)(intptr_t)arg, i};
        tgx_keccak256(seed, sizeof seed, digest);
        struct tgx_secp_sig sig;
        if (tgx_secp_sign(secret, digest, &sig) < 0 || tgx_secp_recover(digest, &sig, got) < 0 ||
            memcmp(got, addr, 20) != 0)
            return (void *)1;
    }
    return NULL;
}

Test(secp_sign, concurrent_threads)
{
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, secp_test_thread, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        cr_assert_eq(pthread_join(t[i], &r), 0);
        cr_expect_null(r, "thread %d failed", i);
    }
}
