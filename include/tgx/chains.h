/* chains.h: the chain table: which JSON-RPC URL serves which chain id (`--rpc CHAIN_ID=URL`, repeatable). */
#ifndef TGX_CHAINS_H
#define TGX_CHAINS_H

#include <stddef.h>
#include <stdint.h>

#include "tgx/err.h"

/* One configured chain; strings owned by the table. */
struct tgx_chain {
    uint64_t chain_id; /* decimal in the spec, 1 .. 2^63-1 */
    const char *url;   /* http:// or https:// URL of the node's JSON-RPC endpoint */
};

/*
 * The table (opaque).  Built once at startup (create, add...), then read-only: lookups from any
 * number of threads need no lock as long as nobody adds concurrently.
 */
struct tgx_chains;

/* A new, empty table into *OUT; -TGX_ERR_NOMEM. */
int tgx_chains_create(struct tgx_chains **out /* OUT */) TGX_MUSTCHECK;
/* Free the table and its strings (NULL is fine). */
void tgx_chains_free(struct tgx_chains *t);

/*
 * Add one "CHAIN_ID=URL" spec (spaces around either part are ignored): CHAIN_ID decimal 1 .. 2^63-1,
 * URL http:// or https:// with a host and no spaces.  -TGX_ERR_INVAL for a bad spec or a chain id
 * already in the table, with a message for a person in ERR (may be NULL; ERRLEN bytes, NUL-terminated);
 * -TGX_ERR_NOMEM.
 */
int tgx_chains_add(struct tgx_chains *t, const char *spec, char *err /* OUT */, size_t errlen) TGX_MUSTCHECK;
/* Add every spec of the comma-separated LIST ("1=https://a,10=https://b", the TGX_RPC form; empty items
 * skipped). */
int tgx_chains_add_list(struct tgx_chains *t, const char *list, char *err /* OUT */,
                        size_t errlen) TGX_MUSTCHECK;
/* Check one spec without a table (a config validate hook); -TGX_ERR_INVAL with a message in ERR. */
int tgx_chains_check_spec(const char *spec, char *err /* OUT */, size_t errlen) TGX_MUSTCHECK;

/* The URL serving CHAIN_ID (borrowed: lives as long as the table), or NULL when not configured. */
const char *tgx_chains_find_url(const struct tgx_chains *t, uint64_t chain_id);
/* The number of chains. */
size_t tgx_chains_count(const struct tgx_chains *t);
/* Chain I (0 <= I < count), in the order added; borrowed. */
const struct tgx_chain *tgx_chains_at(const struct tgx_chains *t, size_t i);

/*
 * Parse a chain id: decimal digits only (no sign, no spaces), 1 .. 2^63-1, leading zeros allowed.
 * -TGX_ERR_INVAL otherwise.
 */
int tgx_chain_id_parse(const char *s, uint64_t *out /* OUT */) TGX_MUSTCHECK;

#endif
