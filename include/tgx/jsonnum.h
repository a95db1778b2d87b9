/* jsonnum.h: JSON numbers jansson cannot hold exactly (uint256 balances, PostgreSQL floats) and the
 * encoder that writes them as raw number literals. */
#ifndef TGX_JSONNUM_H
#define TGX_JSONNUM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tgx/err.h"

/*
 * jansson keeps integers in 64 bits and prints reals with 17 significant digits, so a balance of
 * 10 ETH in wei (1e19 > 2^63) or a PostgreSQL double such as 0.004 cannot go through json_integer()
 * or json_real() unchanged.  A "raw number" is a jansson string that carries the exact literal
 * behind a NUL byte ("\0N" + literal, made with json_stringn).  No string coming from a request
 * (jansson refuses \u0000 without JSON_ALLOW_NUL) or from PostgreSQL (text cannot hold NUL) can
 * look like one, so tgx_json_dump() can safely turn every raw number back into a bare literal.
 * Raw numbers are plain strings to every other jansson function: build responses with them,
 * never compare them.
 */

/* True when the N bytes at S are one JSON number literal (RFC 8259 grammar: -?int frac? exp?). */
bool tgx_json_is_number_literal(const char *s, size_t n);
/*
 * A new reference: the raw number LITERAL (its N bytes), or json_null() when it is not a JSON
 * number literal (PostgreSQL's NaN and Infinity).  NULL only when out of memory.
 */
json_t *tgx_json_rawnumn(const char *literal, size_t n);
/* The same for a NUL-terminated LITERAL. */
json_t *tgx_json_rawnum(const char *literal);
/* True when J is a raw number; *LITERAL and *LEN (may be NULL) get its borrowed text. */
bool tgx_json_rawnum_text(const json_t *j, const char **literal /* OUT */, size_t *len /* OUT */);
/*
 * Encode J (any JSON value) compactly, like json_dumps(J, JSON_COMPACT | JSON_ENCODE_ANY), with
 * every raw number written as its bare literal.  Returns a new heap string the caller frees, or
 * NULL when out of memory.  Borrows J.
 */
char *tgx_json_dump(const json_t *j) TGX_MUSTCHECK;

#endif
