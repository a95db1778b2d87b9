/*
 * keccak.c: Keccak-256 (Ethereum) on nettle.  nettle's SHA3-256 context absorbs whole 136-byte
 * blocks with the Keccak-f[1600] permutation; SHA3 and Keccak differ only in the final padding
 * (SHA3 appends 0x06, Keccak 0x01), so we let nettle absorb and do the last block ourselves:
 * pad the remaining bytes with 0x01 .. 0x80, XOR the block into the state, permute, squeeze.
 */
#include "tgx/keccak.h"

#include <string.h>

#include "tgx/hex.h"

void tgx_keccak256_init(struct tgx_keccak256_ctx *ctx)
{
    sha3_256_init(&ctx->nettle);
}

void tgx_keccak256_update(struct tgx_keccak256_ctx *ctx, const void *data, size_t len)
{
    if (len > 0)
        sha3_256_update(&ctx->nettle, len, data);
}

void tgx_keccak256_final(struct tgx_keccak256_ctx *ctx, uint8_t out[TGX_KECCAK256_LEN])
{
    struct sha3_256_ctx *c = &ctx->nettle;
    /* nettle keeps fewer than a block of pending bytes: index < SHA3_256_BLOCK_SIZE */
    memset(c->block + c->index, 0, SHA3_256_BLOCK_SIZE - c->index);
    c->block[c->index] = 0x01;                 /* Keccak padding: first bit after the message ... */
    c->block[SHA3_256_BLOCK_SIZE - 1] |= 0x80; /* ... and the last bit of the block (same byte if 135) */
    for (size_t i = 0; i < SHA3_256_BLOCK_SIZE / 8; i++) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--)
            w = (w << 8) | c->block[8 * i + (size_t)k];
        c->state.a[i] ^= w; /* lanes are little-endian */
    }
    sha3_permute(&c->state);
    for (size_t i = 0; i < TGX_KECCAK256_LEN; i++)
        out[i] = (uint8_t)(c->state.a[i / 8] >> (8 * (i % 8)));
    sha3_256_init(c);
}

void tgx_keccak256(const void *data, size_t len, uint8_t out[TGX_KECCAK256_LEN])
{
    struct tgx_keccak256_ctx ctx;
    tgx_keccak256_init(&ctx);
    tgx_keccak256_update(&ctx, data, len);
    tgx_keccak256_final(&ctx, out);
}

void tgx_keccak256_hex(const void *data, size_t len, char out[TGX_KECCAK256_HEX_LEN + 1])
{
    uint8_t md[TGX_KECCAK256_LEN];
    tgx_keccak256(data, len, md);
    tgx_hex_encode(md, sizeof md, out);
}
