/* test_tx.c: EIP-155 and EIP-1559 transactions against the EIP-155 example and ethers v6 vectors. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/abi.h"
#include "tgx/hex.h"
#include "tgx/keccak.h"
#include "tgx/rlp.h"
#include "tgx/tx.h"

/* Decode 0x-prefixed or bare hex S into OUT (OUTCAP bytes); returns the length. */
static size_t tx_test_unhex(const char *s, uint8_t *out, size_t outcap)
{
    if (s[0] == '0' && s[1] == 'x')
        s += 2;
    size_t got;
    cr_assert_eq(tgx_hex_decode(s, strlen(s), out, outcap, &got), 0, "bad test hex %s", s);
    return got;
}

/* "0x" + hex of N bytes (a new string). */
static char *tx_test_hex(const void *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    cr_assert(s != NULL);
    s[0] = '0';
    s[1] = 'x';
    tgx_hex_encode(p, n, s + 2);
    return s;
}

static struct tgx_u256 tx_test_u256(const char *dec)
{
    struct tgx_u256 v;
    cr_assert_eq(tgx_u256_parse(dec, &v), 0, "bad test number %s", dec);
    return v;
}

static void tx_test_addr(const char *text, uint8_t out[20])
{
    cr_assert_eq(tgx_abi_address_parse(text, out), 0, "bad test address %s", text);
}

static const uint8_t tx_test_calldata[] = {0xd0, 0x9d, 0xe0, 0x8a};
static const uint8_t tx_test_initcode[] = {0x60, 0x80, 0x60, 0x40, 0x52};

/* A signing vector: secret, transaction, expected signing hash, raw bytes, tx hash and sender. */
struct tx_test_case {
    const char *name;
    const char *secret;
    struct tgx_tx tx;
    const char *to; /* NULL: creation */
    const char *value;
    const char *fee1; /* legacy gas price, or max priority fee */
    const char *fee2; /* max fee (type 2) */
    const char *signing_hash;
    const char *raw;
    const char *hash;
    const char *from;
};

static const struct tx_test_case tx_test_cases[] = {
    {
        /* EIP-155's own example */
        .name = "EIP-155 example",
        .secret = "4646464646464646464646464646464646464646464646464646464646464646",
        .tx = {.type = TGX_TX_LEGACY, .chain_id = 1, .nonce = 9, .gas_limit = 21000},
        .to = "0x3535353535353535353535353535353535353535",
        .value = "1000000000000000000",
        .fee1 = "20000000000",
        .signing_hash = "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53",
        .raw = "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a02"
               "8ef61340bd939"
               "bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3d"
               "c64214b297f"
               "b1966a3b6d83",
        .hash = NULL,
        .from = "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F",
    },
    {
        /* ethers v6 Wallet.signTransaction, anvil key 0 */
        .name = "legacy on anvil's chain",
        .secret = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        .tx = {.type = TGX_TX_LEGACY, .chain_id = 31337, .nonce = 7, .gas_limit = 21000},
        .to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        .value = "1",
        .fee1 = "2000000000",
        .signing_hash = NULL,
        .raw = "0xf8650784773594008252089470997970c51812dc3a010c7d01b50e0d17dc79c8018082f4f6a0aba44d2716102d1"
               "f468d430805"
               "708d1dfa618a4f65abf6126bb6d3e67bae9a9aa008fb3b646ca91c5307176403e247fcf71f5dffb9afe874216f34f"
               "b3cd9059772",
        .hash = "0x4f6e978c72e8f8135d918613c628e248be2ef0ef498c33c93b7996bac7f1b4a4",
        .from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    },
    {
        .name = "EIP-1559 call with a >64-bit value",
        .secret = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        .tx = {.type = TGX_TX_EIP1559,
               .chain_id = 31337,
               .nonce = 5,
               .gas_limit = 100000,
               .data = tx_test_calldata,
               .data_len = sizeof tx_test_calldata},
        .to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        .value = "123456789012345678901234567890",
        .fee1 = "1000000000",
        .fee2 = "3000000000",
        .signing_hash = "0x74387ac51a1ddae969ac181f292ecfa15e63cb34c4dc4d2f5d477e8afb186a4d",
        .raw = "0x02f87e827a6905843b9aca0084b2d05e00830186a09470997970c51812dc3a010c7d01b50e0d17dc79c88d018ee"
               "90ff6c373e0"
               "ee4e3f0ad284d09de08ac080a0672a219bf99143fd3b102e4a8a2bb158ec22d9ecf1646aee4086ca0516dee5d2a06"
               "e58c7d969e5"
               "08cb515aaf274a9cf069899cad88d60505284650d2659e8f428f",
        .hash = "0x4e57ab9f036aa43a769d09d3916c835da8733ebb7cc9905a50437128f144d029",
        .from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    },
    {
        .name = "EIP-1559 contract creation, zero fees",
        .secret = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        .tx = {.type = TGX_TX_EIP1559,
               .chain_id = 1,
               .nonce = 0,
               .gas_limit = 53000,
               .data = tx_test_initcode,
               .data_len = sizeof tx_test_initcode},
        .to = NULL,
        .value = "0",
        .fee1 = "0",
        .fee2 = "0",
        .signing_hash = NULL,
        .raw = "0x02f8530180808082cf088080856080604052c001a0238e443fb86b322662b08d69331fef9c5d2fa9e6cff7c009e"
               "70d863f56a1"
               "ebf0a07b51c2325d95831af56b9f8947a4458243b28483b0674069c7fe5d4ae5072ac5",
        .hash = "0xf60b765643672113deae9d8fa7ccd32bd1e2220a3e2d8385e013908256b6cef4",
        .from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    },
};

/* The complete transaction of row C. */
static struct tgx_tx tx_test_build(const struct tx_test_case *c)
{
    struct tgx_tx tx = c->tx;
    if (c->to != NULL) {
        tx.has_to = true;
        tx_test_addr(c->to, tx.to);
    }
    tx.value = tx_test_u256(c->value);
    if (tx.type == TGX_TX_LEGACY) {
        tx.gas_price = tx_test_u256(c->fee1);
    } else {
        tx.max_priority_fee_per_gas = tx_test_u256(c->fee1);
        tx.max_fee_per_gas = tx_test_u256(c->fee2);
    }
    return tx;
}

Test(tx_sign, vectors)
{
    for (size_t i = 0; i < sizeof tx_test_cases / sizeof tx_test_cases[0]; i++) {
        const struct tx_test_case *c = &tx_test_cases[i];
        struct tgx_tx tx = tx_test_build(c);
        uint8_t secret[32];
        tx_test_unhex(c->secret, secret, 32);
        if (c->signing_hash != NULL) {
            uint8_t h[32];
            cr_assert_eq(tgx_tx_signing_hash(&tx, h), 0, "%s", c->name);
            char *hex = tx_test_hex(h, 32);
            cr_expect_str_eq(hex, c->signing_hash, "%s: signing hash", c->name);
            free(hex);
        }
        struct tgx_tx_signed st;
        tgx_tx_signed_init(&st);
        cr_assert_eq(tgx_tx_sign(&tx, secret, &st), 0, "%s", c->name);
        char *raw = tx_test_hex(st.raw.data, st.raw.len);
        cr_expect_str_eq(raw, c->raw, "%s: raw", c->name);
        uint8_t expect_hash[32];
        tgx_keccak256(st.raw.data, st.raw.len, expect_hash);
        cr_expect(memcmp(st.hash, expect_hash, 32) == 0, "%s: hash is keccak(raw)", c->name);
        if (c->hash != NULL) {
            char *h = tx_test_hex(st.hash, 32);
            cr_expect_str_eq(h, c->hash, "%s: hash", c->name);
            free(h);
        }
        /* signing again into the same struct replaces the bytes */
        cr_assert_eq(tgx_tx_sign(&tx, secret, &st), 0);
        char *raw2 = tx_test_hex(st.raw.data, st.raw.len);
        cr_expect_str_eq(raw2, raw, "%s: second sign", c->name);
        free(raw2);
        free(raw);
        tgx_tx_signed_cleanup(&st);
    }
}

Test(tx_decode, vectors_back_to_fields_and_sender)
{
    for (size_t i = 0; i < sizeof tx_test_cases / sizeof tx_test_cases[0]; i++) {
        const struct tx_test_case *c = &tx_test_cases[i];
        struct tgx_tx want = tx_test_build(c);
        uint8_t raw[512], from[20], hash[32];
        size_t n = tx_test_unhex(c->raw, raw, sizeof raw);
        struct tgx_tx got;
        struct tgx_secp_sig sig;
        cr_assert_eq(tgx_tx_decode(raw, n, &got, &sig, from, hash), 0, "%s", c->name);
        cr_expect_eq(got.type, want.type, "%s", c->name);
        cr_expect_eq(got.chain_id, want.chain_id, "%s", c->name);
        cr_expect_eq(got.nonce, want.nonce, "%s", c->name);
        cr_expect_eq(got.gas_limit, want.gas_limit, "%s", c->name);
        cr_expect_eq(got.has_to, want.has_to, "%s", c->name);
        cr_expect(memcmp(got.to, want.to, 20) == 0, "%s", c->name);
        cr_expect_eq(tgx_u256_cmp(&got.value, &want.value), 0, "%s", c->name);
        cr_expect_eq(tgx_u256_cmp(&got.gas_price, &want.gas_price), 0, "%s", c->name);
        cr_expect_eq(tgx_u256_cmp(&got.max_fee_per_gas, &want.max_fee_per_gas), 0, "%s", c->name);
        cr_expect_eq(tgx_u256_cmp(&got.max_priority_fee_per_gas, &want.max_priority_fee_per_gas), 0, "%s",
                     c->name);
        cr_expect_eq(got.data_len, want.data_len, "%s", c->name);
        if (want.data_len > 0)
            cr_expect(memcmp(got.data, want.data, want.data_len) == 0, "%s", c->name);
        char text[43];
        tgx_abi_address_checksum(from, text);
        cr_expect_str_eq(text, c->from, "%s: sender", c->name);
        uint8_t kh[32];
        tgx_keccak256(raw, n, kh);
        cr_expect(memcmp(hash, kh, 32) == 0, "%s", c->name);
        /* re-encoding the decoded fields and signature gives the same bytes */
        struct tgx_buf again;
        tgx_buf_init(&again);
        cr_assert_eq(tgx_tx_encode_signed(&got, &sig, &again), 0);
        cr_expect_eq(again.len, n, "%s", c->name);
        cr_expect(memcmp(again.data, raw, n) == 0, "%s: re-encoding", c->name);
        tgx_buf_cleanup(&again);
        /* optional outputs may be NULL */
        cr_assert_eq(tgx_tx_decode(raw, n, &got, NULL, NULL, NULL), 0);
    }
}

Test(tx_sign, round_trips_keep_access_list_and_chain_ids)
{
    uint8_t secret[32], addr[20];
    cr_assert_eq(tgx_secp_key_generate(secret), 0);
    cr_assert_eq(tgx_secp_address(secret, addr), 0);
    /* an access list [[0x11..11, [slot 0]]], carried verbatim as RLP */
    struct tgx_buf al;
    tgx_buf_init(&al);
    size_t m = tgx_rlp_list_begin(&al);
    size_t e = tgx_rlp_list_begin(&al);
    uint8_t a11[20], slot[32] = {0};
    memset(a11, 0x11, sizeof a11);
    tgx_rlp_put_bytes(&al, a11, 20);
    size_t k = tgx_rlp_list_begin(&al);
    tgx_rlp_put_bytes(&al, slot, 32);
    tgx_rlp_list_end(&al, k);
    tgx_rlp_list_end(&al, e);
    tgx_rlp_list_end(&al, m);
    static const uint64_t chains[] = {0, 1, 137, 31337, 11155111, 0x7fffffffULL};
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        for (int type = 0; type <= 2; type += 2) {
            if (type == TGX_TX_EIP1559 && chains[i] == 0)
                continue;
            struct tgx_tx tx = {.type = (enum tgx_tx_type)type,
                                .chain_id = chains[i],
                                .nonce = i * 1000,
                                .gas_limit = 30000000};
            tx.has_to = true;
            memset(tx.to, 0x22, 20);
            tx.value = tgx_u256_from_u64(UINT64_MAX);
            tx.gas_price = tgx_u256_from_u64(7);
            tx.max_fee_per_gas = tgx_u256_from_u64(100);
            tx.max_priority_fee_per_gas = tgx_u256_from_u64(2);
            if (type == TGX_TX_EIP1559) {
                tx.access_list = (const uint8_t *)al.data;
                tx.access_list_len = al.len;
            }
            struct tgx_tx_signed st;
            tgx_tx_signed_init(&st);
            cr_assert_eq(tgx_tx_sign(&tx, secret, &st), 0, "chain %lu type %d", (unsigned long)chains[i],
                         type);
            struct tgx_tx got;
            uint8_t from[20];
            cr_assert_eq(tgx_tx_decode((const uint8_t *)st.raw.data, st.raw.len, &got, NULL, from, NULL), 0,
                         "chain %lu type %d", (unsigned long)chains[i], type);
            cr_expect(memcmp(from, addr, 20) == 0, "chain %lu type %d", (unsigned long)chains[i], type);
            cr_expect_eq(got.chain_id, chains[i]);
            cr_expect_eq(got.nonce, i * 1000);
            if (type == TGX_TX_EIP1559) {
                cr_expect_eq(got.access_list_len, al.len);
                cr_expect(memcmp(got.access_list, al.data, al.len) == 0);
            }
            tgx_tx_signed_cleanup(&st);
        }
    }
    tgx_buf_cleanup(&al);
}

Test(tx_decode, rejects_bad_input)
{
    /* start from the good type-2 vector and damage it */
    uint8_t good[512];
    size_t n = tx_test_unhex(tx_test_cases[2].raw, good, sizeof good);
    struct tgx_tx got;
    uint8_t from[20];
    uint8_t buf[600];
    static const struct {
        const char *why;
        size_t off; /* byte to change (SIZE_MAX: none) */
        uint8_t val;
        long delta; /* length change */
    } rows[] = {
        {"empty", SIZE_MAX, 0, -(long)512},    {"unknown type 0x01", 0, 0x01, 0},
        {"unknown type 0x03", 0, 0x03, 0},     {"type byte 0x7f", 0, 0x7f, 0},
        {"truncated by one", SIZE_MAX, 0, -1}, {"trailing byte", SIZE_MAX, 0, 1},
        {"wrong list length", 2, 0x7d, 0},     {"s flipped: another sender or high S", 120, 0x00, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memcpy(buf, good, n);
        size_t len = n;
        if (rows[i].delta < 0)
            len = (size_t)rows[i].delta + n > n ? 0 : n - (size_t)(-rows[i].delta);
        else if (rows[i].delta > 0)
            buf[len++] = 0x00;
        if (rows[i].off != SIZE_MAX)
            buf[rows[i].off] = rows[i].val;
        int rc = tgx_tx_decode(len ? buf : NULL, len, &got, NULL, from, NULL);
        if (rows[i].off == 120 && rc == 0) {
            /* a changed s may still recover: then it must be somebody else */
            char text[43];
            tgx_abi_address_checksum(from, text);
            cr_expect_str_neq(text, tx_test_cases[2].from, "row %zu: %s", i, rows[i].why);
            continue;
        }
        cr_expect_eq(rc, -TGX_ERR_INVAL, "row %zu: %s", i, rows[i].why);
    }

    /* hand-made bad transactions, re-encoded so the RLP itself is valid */
    const struct tx_test_case *c = &tx_test_cases[2];
    struct tgx_tx tx = tx_test_build(c);
    uint8_t secret[32];
    tx_test_unhex(c->secret, secret, 32);
    uint8_t digest[32];
    cr_assert_eq(tgx_tx_signing_hash(&tx, digest), 0);
    struct tgx_secp_sig sig;
    cr_assert_eq(tgx_secp_sign(secret, digest, &sig), 0);
    struct tgx_buf b;
    tgx_buf_init(&b);
    /* a recid of 2 cannot be encoded */
    struct tgx_secp_sig bad = sig;
    bad.recid = 2;
    cr_expect_eq(tgx_tx_encode_signed(&tx, &bad, &b), -TGX_ERR_INVAL);
    /* r = 0 */
    bad = sig;
    memset(bad.r, 0, 32);
    tgx_buf_reset(&b);
    cr_assert_eq(tgx_tx_encode_signed(&tx, &bad, &b), 0);
    cr_expect_eq(tgx_tx_decode((const uint8_t *)b.data, b.len, &got, NULL, from, NULL), -TGX_ERR_INVAL,
                 "r = 0");
    /* an unknown type to sign */
    struct tgx_tx t3 = tx;
    t3.type = (enum tgx_tx_type)3;
    cr_expect_eq(tgx_tx_signing_hash(&t3, digest), -TGX_ERR_INVAL);
    /* data_len without data */
    struct tgx_tx nd = tx;
    nd.data = NULL;
    cr_expect_eq(tgx_tx_signing_hash(&nd, digest), -TGX_ERR_INVAL);
    /* legacy with v = 35/36 (EIP-155 for chain 0) and v = 1 are refused */
    uint8_t legacy[512];
    size_t ln = tx_test_unhex(tx_test_cases[0].raw, legacy, sizeof legacy);
    /* v is the byte 0x25 after the 0x80 empty data: offset 43 in the EIP-155 vector */
    cr_assert_eq(legacy[43], 0x25);
    static const uint8_t bad_v[] = {0x01, 0x1d, 0x23, 0x24};
    for (size_t i = 0; i < sizeof bad_v; i++) {
        legacy[43] = bad_v[i];
        cr_expect_eq(tgx_tx_decode(legacy, ln, &got, NULL, from, NULL), -TGX_ERR_INVAL, "legacy v=%u",
                     bad_v[i]);
    }
    /* a 19-byte "to" */
    struct tgx_buf l;
    tgx_buf_init(&l);
    size_t m = tgx_rlp_list_begin(&l);
    tgx_rlp_put_u64(&l, 0);
    tgx_rlp_put_u64(&l, 1);
    tgx_rlp_put_u64(&l, 21000);
    tgx_rlp_put_bytes(&l, secret, 19);
    tgx_rlp_put_u64(&l, 0);
    tgx_rlp_put_bytes(&l, NULL, 0);
    tgx_rlp_put_u64(&l, 27);
    tgx_rlp_put_bytes(&l, sig.r, 32);
    tgx_rlp_put_bytes(&l, sig.s, 32);
    tgx_rlp_list_end(&l, m);
    cr_expect_eq(tgx_tx_decode((const uint8_t *)l.data, l.len, &got, NULL, from, NULL), -TGX_ERR_INVAL,
                 "19-byte to");
    tgx_buf_cleanup(&l);
    tgx_buf_cleanup(&b);
}
