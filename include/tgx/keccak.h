/* keccak.h: Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3's 0x06), on nettle. */
#ifndef TGX_KECCAK_H
#define TGX_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#define TGX_KECCAK256_LEN     32  /* bytes of a digest */
#define TGX_KECCAK256_HEX_LEN 64  /* hex digits of a digest, without "0x" and NUL */
#define TGX_KECCAK256_RATE    136 /* bytes absorbed per permutation */

/*
 * An incremental Keccak-256 computation, embedded by its owner (init, update..., final).
 * Plain memory: no cleanup needed, copy it to fork a computation.  Not for concurrent use.
 */
struct tgx_keccak256_ctx {
    struct sha3_256_ctx nettle; /* nettle's SHA3-256 state: sha3_permute on its state, our padding */
};

/* Start a computation. */
void tgx_keccak256_init(struct tgx_keccak256_ctx *ctx);
/* Absorb the LEN bytes at DATA (DATA may be NULL when LEN is 0). */
void tgx_keccak256_update(struct tgx_keccak256_ctx *ctx, const void *data, size_t len);
/* Pad, squeeze the 32-byte digest into OUT; CTX is re-initialised (ready for a new message). */
void tgx_keccak256_final(struct tgx_keccak256_ctx *ctx, uint8_t out[TGX_KECCAK256_LEN] /* OUT */);

/* The Keccak-256 of the LEN bytes at DATA into OUT.  Cannot fail. */
void tgx_keccak256(const void *data, size_t len, uint8_t out[TGX_KECCAK256_LEN] /* OUT */);
/* The same as 64 lower-case hex digits (no "0x") and a NUL. */
void tgx_keccak256_hex(const void *data, size_t len, char out[TGX_KECCAK256_HEX_LEN + 1] /* OUT */);

#endif
