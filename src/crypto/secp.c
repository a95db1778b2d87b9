/* secp.c: secp256k1 keys, addresses, recoverable ECDSA and EIP-191 over libsecp256k1 and our Keccak-256. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "tgx/abi.h"
#include "tgx/hex.h"
#include "tgx/keccak.h"
#include "tgx/secp.h"

/* The one process-wide context: created once, randomised once, then only read (thread-safe use). */
static struct {
    pthread_once_t once;
    secp256k1_context *ctx;
} secp_g = {PTHREAD_ONCE_INIT, NULL};

/* Fill BUF with N bytes from the kernel's random source; -TGX_ERR_IO. */
static int secp_random(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -TGX_ERR_IO;
        }
        got += (size_t)r;
    }
    return 0;
}

static void secp_create_context(void)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL)
        return;
    uint8_t seed[32];
    if (secp_random(seed, sizeof seed) < 0 || !secp256k1_context_randomize(ctx, seed)) {
        explicit_bzero(seed, sizeof seed);
        secp256k1_context_destroy(ctx);
        return;
    }
    explicit_bzero(seed, sizeof seed);
    secp_g.ctx = ctx;
}

/* The shared context, or NULL when it could not be made. */
static const secp256k1_context *secp_ctx(void)
{
    pthread_once(&secp_g.once, secp_create_context);
    return secp_g.ctx;
}

int tgx_secp_init(void)
{
    return secp_ctx() != NULL ? 0 : -TGX_ERR_CRYPTO;
}

bool tgx_secp_key_valid(const uint8_t secret[TGX_SECP_SECRET_LEN])
{
    const secp256k1_context *ctx = secp_ctx();
    return ctx != NULL && secp256k1_ec_seckey_verify(ctx, secret) == 1;
}

int tgx_secp_key_generate(uint8_t secret[TGX_SECP_SECRET_LEN])
{
    if (secp_ctx() == NULL)
        return -TGX_ERR_CRYPTO;
    /* a random 32-byte string is out of range with probability ~2^-128: loop anyway */
    for (int tries = 0; tries < 64; tries++) {
        int rc = secp_random(secret, TGX_SECP_SECRET_LEN);
        if (rc < 0) {
            explicit_bzero(secret, TGX_SECP_SECRET_LEN);
            return rc;
        }
        if (tgx_secp_key_valid(secret))
            return 0;
    }
    explicit_bzero(secret, TGX_SECP_SECRET_LEN);
    return -TGX_ERR_CRYPTO;
}

/* Serialise PK uncompressed into PUB. */
static void secp_serialize(const secp256k1_context *ctx, const secp256k1_pubkey *pk,
                           uint8_t pub[TGX_SECP_PUBKEY_LEN])
{
    size_t n = TGX_SECP_PUBKEY_LEN;
    (void)secp256k1_ec_pubkey_serialize(ctx, pub, &n, pk, SECP256K1_EC_UNCOMPRESSED);
}

int tgx_secp_pubkey(const uint8_t secret[TGX_SECP_SECRET_LEN], uint8_t pub[TGX_SECP_PUBKEY_LEN])
{
    const secp256k1_context *ctx = secp_ctx();
    if (ctx == NULL)
        return -TGX_ERR_CRYPTO;
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, secret))
        return -TGX_ERR_INVAL;
    secp_serialize(ctx, &pk, pub);
    return 0;
}

void tgx_secp_pubkey_address(const uint8_t pub[TGX_SECP_PUBKEY_LEN], uint8_t addr[TGX_ADDRESS_LEN])
{
    uint8_t md[TGX_KECCAK256_LEN];
    tgx_keccak256(pub + 1, TGX_SECP_PUBKEY_LEN - 1, md);
    memcpy(addr, md + 12, TGX_ADDRESS_LEN);
}

int tgx_secp_address(const uint8_t secret[TGX_SECP_SECRET_LEN], uint8_t addr[TGX_ADDRESS_LEN])
{
    uint8_t pub[TGX_SECP_PUBKEY_LEN];
    int rc = tgx_secp_pubkey(secret, pub);
    if (rc < 0)
        return rc;
    tgx_secp_pubkey_address(pub, addr);
    return 0;
}

void tgx_secp_address_text(const uint8_t addr[TGX_ADDRESS_LEN], char out[TGX_ADDRESS_TEXT_LEN + 1])
{
    tgx_abi_address_checksum(addr, out);
}

int tgx_secp_sign(const uint8_t secret[TGX_SECP_SECRET_LEN], const uint8_t digest[32],
                  struct tgx_secp_sig *sig)
{
    const secp256k1_context *ctx = secp_ctx();
    if (ctx == NULL)
        return -TGX_ERR_CRYPTO;
    secp256k1_ecdsa_recoverable_signature rsig;
    /* NULL nonce function: RFC 6979, deterministic; libsecp256k1 always produces low S */
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest, secret, NULL, NULL))
        return -TGX_ERR_INVAL;
    uint8_t compact[64];
    int recid = 0;
    (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &rsig);
    memcpy(sig->r, compact, 32);
    memcpy(sig->s, compact + 32, 32);
    sig->recid = recid;
    return 0;
}

int tgx_secp_recover(const uint8_t digest[32], const struct tgx_secp_sig *sig, uint8_t addr[TGX_ADDRESS_LEN])
{
    const secp256k1_context *ctx = secp_ctx();
    if (ctx == NULL)
        return -TGX_ERR_CRYPTO;
    if (sig->recid < 0 || sig->recid > 3)
        return -TGX_ERR_INVAL;
    uint8_t compact[64];
    memcpy(compact, sig->r, 32);
    memcpy(compact + 32, sig->s, 32);
    secp256k1_ecdsa_recoverable_signature rsig;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, compact, sig->recid))
        return -TGX_ERR_INVAL;
    /* refuse high S (EIP-2): otherwise (r, n - s) would be a second valid signature of the same message */
    secp256k1_ecdsa_signature plain;
    (void)secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rsig);
    if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
        return -TGX_ERR_INVAL;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_recover(ctx, &pk, &rsig, digest))
        return -TGX_ERR_INVAL;
    uint8_t pub[TGX_SECP_PUBKEY_LEN];
    secp_serialize(ctx, &pk, pub);
    tgx_secp_pubkey_address(pub, addr);
    return 0;
}

void tgx_secp_sig_to_bytes(const struct tgx_secp_sig *sig, int v_offset, uint8_t out[TGX_SECP_SIG_LEN])
{
    memcpy(out, sig->r, 32);
    memcpy(out + 32, sig->s, 32);
    out[64] = (uint8_t)(sig->recid + v_offset);
}

int tgx_secp_sig_from_bytes(const uint8_t in[TGX_SECP_SIG_LEN], struct tgx_secp_sig *sig)
{
    int v = in[64];
    if (v == 27 || v == 28)
        v -= 27;
    else if (v != 0 && v != 1)
        return -TGX_ERR_INVAL;
    memcpy(sig->r, in, 32);
    memcpy(sig->s, in + 32, 32);
    sig->recid = v;
    return 0;
}

int tgx_secp_recover_bytes(const uint8_t digest[32], const uint8_t sig65[TGX_SECP_SIG_LEN],
                           uint8_t addr[TGX_ADDRESS_LEN])
{
    struct tgx_secp_sig sig;
    int rc = tgx_secp_sig_from_bytes(sig65, &sig);
    if (rc < 0)
        return rc;
    return tgx_secp_recover(digest, &sig, addr);
}

void tgx_secp_message_digest(const void *msg, size_t len, uint8_t digest[32])
{
    static const char prefix[] = "\x19"
                                 "Ethereum Signed Message:\n";
    char num[24];
    int n = snprintf(num, sizeof num, "%zu", len);
    struct tgx_keccak256_ctx k;
    tgx_keccak256_init(&k);
    tgx_keccak256_update(&k, prefix, sizeof prefix - 1);
    tgx_keccak256_update(&k, num, (size_t)n);
    tgx_keccak256_update(&k, msg, len);
    tgx_keccak256_final(&k, digest);
}

int tgx_secp_sign_message(const uint8_t secret[TGX_SECP_SECRET_LEN], const void *msg, size_t len,
                          char out[TGX_SECP_SIG_HEX_LEN + 1])
{
    uint8_t digest[32];
    tgx_secp_message_digest(msg, len, digest);
    struct tgx_secp_sig sig;
    int rc = tgx_secp_sign(secret, digest, &sig);
    if (rc < 0)
        return rc;
    uint8_t bytes[TGX_SECP_SIG_LEN];
    tgx_secp_sig_to_bytes(&sig, 27, bytes);
    out[0] = '0';
    out[1] = 'x';
    tgx_hex_encode(bytes, sizeof bytes, out + 2);
    return 0;
}

int tgx_secp_recover_message_address(const void *msg, size_t len, const char *sig_hex,
                                     uint8_t addr[TGX_ADDRESS_LEN])
{
    if (sig_hex == NULL || strlen(sig_hex) != TGX_SECP_SIG_HEX_LEN || sig_hex[0] != '0' ||
        (sig_hex[1] != 'x' && sig_hex[1] != 'X'))
        return -TGX_ERR_INVAL;
    uint8_t bytes[TGX_SECP_SIG_LEN];
    size_t got;
    if (tgx_hex_decode(sig_hex + 2, TGX_SECP_SIG_HEX_LEN - 2, bytes, sizeof bytes, &got) < 0)
        return -TGX_ERR_INVAL;
    uint8_t digest[32];
    tgx_secp_message_digest(msg, len, digest);
    return tgx_secp_recover_bytes(digest, bytes, addr);
}
