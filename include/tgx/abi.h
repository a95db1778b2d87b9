/* abi.h: the Solidity contract ABI: JSON ABI parsing, signatures, selectors, call encoding, decoding,
 * reverts. */
#ifndef TGX_ABI_H
#define TGX_ABI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"
#include "tgx/u256.h"

#define TGX_ABI_MAX_DEPTH 16 /* nesting of array and tuple types, and of argument JSON */

/* The kinds of ABI types (https://docs.soliditylang.org/en/latest/abi-spec.html#types). */
enum tgx_abi_kind {
    TGX_ABI_UINT,        /* uintN, N = 8..256 step 8 (uint = uint256) */
    TGX_ABI_INT,         /* intN, two's complement (int = int256) */
    TGX_ABI_ADDRESS,     /* 20 bytes, padded left like uint160 */
    TGX_ABI_BOOL,        /* 0 or 1 */
    TGX_ABI_FIXED_BYTES, /* bytesN, N = 1..32, padded right */
    TGX_ABI_BYTES,       /* bytes: dynamic */
    TGX_ABI_STRING,      /* string: dynamic, UTF-8 */
    TGX_ABI_ARRAY,       /* T[]: dynamic */
    TGX_ABI_FIXED_ARRAY, /* T[k]: dynamic when T is */
    TGX_ABI_TUPLE,       /* (T1,...,Tn): a struct; dynamic when a component is */
};

/* One type, a read-only tree owned by whatever returned it (ABI, entry, or tgx_abi_type_parse). */
struct tgx_abi_type {
    enum tgx_abi_kind kind;
    unsigned size;               /* bits of uintN/intN, bytes of bytesN, else 0 */
    size_t length;               /* k of T[k], else 0 */
    struct tgx_abi_type *elem;   /* T of T[] and T[k], else NULL */
    size_t ncomps;               /* components of a tuple */
    struct tgx_abi_type **comps; /* their types */
    char **comp_names;           /* their names ("" when unnamed) */
    bool dynamic;                /* encoded in the tail (bytes, string, T[], or containing one) */
    size_t head_size;            /* bytes in the head: 32 when dynamic, else the whole static size */
    char *canonical;             /* canonical name: "uint256[2][]", "(address,bytes32)" */
};

/* One input or output of an entry. */
struct tgx_abi_param {
    const char *name; /* "" when unnamed */
    const struct tgx_abi_type *type;
    bool indexed; /* events: the value is a topic */
};

/* What an ABI entry describes. */
enum tgx_abi_entry_kind {
    TGX_ABI_FUNCTION, /* callable: selector = keccak(signature)[0..4] */
    TGX_ABI_EVENT,    /* log: topic0 = keccak(signature) unless anonymous */
    TGX_ABI_ERROR,    /* custom revert error: selector like a function */
};

/* One function, event or error; read-only, owned by its ABI (or by tgx_abi_entry_parse's caller). */
struct tgx_abi_entry {
    enum tgx_abi_entry_kind kind;
    const char *name;
    const char *signature; /* canonical "name(type,...)": tuples written "(T1,T2)" */
    uint8_t selector[4];   /* first 4 bytes of keccak(signature) (functions, errors) */
    uint8_t topic[32];     /* keccak(signature) (events) */
    size_t ninputs;
    const struct tgx_abi_param *inputs;
    size_t noutputs; /* functions only */
    const struct tgx_abi_param *outputs;
    const char *state_mutability; /* "view", "pure", "nonpayable", "payable" or "" */
    bool anonymous;               /* events */
};

/* A parsed JSON ABI (opaque): its functions, events and errors; constructors and fallbacks are skipped. */
struct tgx_abi;
/* Parsed arguments for encoding (opaque): strings, exact numbers, booleans and nested arrays. */
struct tgx_abi_args;

/* A bad argument or malformed data: which argument, and a message for a person. */
struct tgx_abi_error {
    int index;         /* 0-based top-level argument/value index at fault, -1 when none */
    char message[256]; /* e.g. "args[1] (uint8): 300 is out of range" (lower case, no trailing period) */
};

/* ---- JSON ABI ---- */

/*
 * Parse JSON ABI text (an array of entries, or an object with an "abi" array such as a Hardhat or
 * Foundry artifact) into *OUT.  -TGX_ERR_INVAL for text that is not JSON or a bad entry (message in
 * ERR, may be NULL; ERRLEN bytes); -TGX_ERR_NOMEM.
 */
int tgx_abi_parse(const char *json, size_t len, struct tgx_abi **out /* OUT */, char *err /* OUT */,
                  size_t errlen) TGX_MUSTCHECK;
/* The same from a jansson value (borrowed). */
int tgx_abi_from_json(const json_t *abi, struct tgx_abi **out /* OUT */, char *err /* OUT */,
                      size_t errlen) TGX_MUSTCHECK;
/* Free an ABI and every entry and type it owns (NULL is fine). */
void tgx_abi_free(struct tgx_abi *abi);
/* The number of entries (functions, events, errors in file order). */
size_t tgx_abi_count(const struct tgx_abi *abi);
/* Entry I; borrowed from ABI. */
const struct tgx_abi_entry *tgx_abi_at(const struct tgx_abi *abi, size_t i);

/*
 * Find function NAME: a bare name ("transfer") or a signature ("transfer(address,uint256)", spaces
 * and aliases like uint allowed).  NARGS >= 0 keeps only overloads with that many inputs (-1: any).
 * *OUT borrowed from ABI.  -TGX_ERR_NOTFOUND when none matches; -TGX_ERR_INVAL when a bare name
 * matches several overloads (ask by signature) or NAME is not a valid name or signature.
 */
int tgx_abi_find_function(const struct tgx_abi *abi, const char *name, long nargs,
                          const struct tgx_abi_entry **out /* OUT */) TGX_MUSTCHECK;
/* Find event NAME (bare name or signature) the same way; -TGX_ERR_NOTFOUND, -TGX_ERR_INVAL. */
int tgx_abi_find_event(const struct tgx_abi *abi, const char *name,
                       const struct tgx_abi_entry **out /* OUT */) TGX_MUSTCHECK;
/* The error (custom revert) whose selector is SEL, or NULL; borrowed. */
const struct tgx_abi_entry *tgx_abi_find_error(const struct tgx_abi *abi, const uint8_t sel[4]);

/* ---- signatures and types without a JSON ABI ---- */

/*
 * Parse a human signature into a new entry of KIND: "name(T1,T2 name,...)" with an optional output
 * list "(U1,...)" after it for functions ("balanceOf(address)(uint256)"), and "indexed" before a
 * parameter name for events ("Transfer(address indexed from,address indexed to,uint256)").  Types may
 * use aliases (uint, int, byte) and tuples "(T1,T2)".  *OUT is owned by the caller
 * (tgx_abi_entry_free).  -TGX_ERR_INVAL with ERR; -TGX_ERR_NOMEM.
 */
int tgx_abi_entry_parse(const char *sig, enum tgx_abi_entry_kind kind, struct tgx_abi_entry **out /* OUT */,
                        char *err /* OUT */, size_t errlen) TGX_MUSTCHECK;
/* Free an entry from tgx_abi_entry_parse (never one borrowed from an ABI; NULL is fine). */
void tgx_abi_entry_free(struct tgx_abi_entry *e);
/* Parse one type name ("uint256[][3]", "(address,bool)[]") into a new tree (tgx_abi_type_free). */
int tgx_abi_type_parse(const char *s, struct tgx_abi_type **out /* OUT */, char *err /* OUT */,
                       size_t errlen) TGX_MUSTCHECK;
/* Free a type from tgx_abi_type_parse (NULL is fine). */
void tgx_abi_type_free(struct tgx_abi_type *t);
/* The 4-byte selector of SIGNATURE taken as is (already canonical): keccak(signature)[0..4]. */
void tgx_abi_selector(const char *signature, uint8_t out[4] /* OUT */);

/* ---- arguments ---- */

/*
 * Arguments from strings, one per input: the job's "arguments".  How each string is read depends on
 * the input's type: uintN/intN decimal or 0x-hex (a leading '-' for intN), address 0x + 40 hex
 * (mixed case must be a valid EIP-55 checksum), bool "true"/"false" (or "1"/"0"), bytes and bytesN
 * 0x-hex (bytesN exactly N bytes), string the text as is, T[] / T[k] / tuples JSON array text whose
 * elements are JSON strings read as above or JSON numbers, booleans and arrays.  Surrounding spaces are
 * ignored except for string.  *OUT is new (tgx_abi_args_free).  -TGX_ERR_NOMEM.
 */
int tgx_abi_args_from_strings(const char *const *args, size_t n,
                              struct tgx_abi_args **out /* OUT */) TGX_MUSTCHECK;
/*
 * Arguments from the JSON array text TEXT (LEN bytes) as sent in GET /api/fees "args": numbers are
 * kept exact at any size (not rounded through double), strings are read as above.  -TGX_ERR_INVAL
 * with ERR for text that is not one JSON array or nests deeper than TGX_ABI_MAX_DEPTH; -TGX_ERR_NOMEM.
 */
int tgx_abi_args_parse_json(const char *text, size_t len, struct tgx_abi_args **out /* OUT */,
                            char *err /* OUT */, size_t errlen) TGX_MUSTCHECK;
/*
 * Arguments from a jansson array (borrowed): strings as above, integers, reals only when integral and
 * below 2^53 (exact), booleans, nested arrays.  -TGX_ERR_INVAL with ERR; -TGX_ERR_NOMEM.
 */
int tgx_abi_args_from_json(const json_t *array, struct tgx_abi_args **out /* OUT */, char *err /* OUT */,
                           size_t errlen) TGX_MUSTCHECK;
/* The number of top-level arguments. */
size_t tgx_abi_args_count(const struct tgx_abi_args *args);
/* Free parsed arguments (NULL is fine). */
void tgx_abi_args_free(struct tgx_abi_args *args);

/* ---- encoding ---- */

/*
 * Append the calldata of FN (a function or error) called with ARGS to OUT: selector then the
 * head/tail encoding.  -TGX_ERR_INVAL when the argument count differs or an argument does not fit
 * its type (ERR says which, may be NULL); -TGX_ERR_NOMEM.  On failure OUT's length is restored.
 */
int tgx_abi_encode_call(const struct tgx_abi_entry *fn, const struct tgx_abi_args *args, struct tgx_buf *out,
                        struct tgx_abi_error *err /* OUT */) TGX_MUSTCHECK;
/* Append abi.encode(ARGS) for the N PARAMS (no selector) to OUT; errors as tgx_abi_encode_call. */
int tgx_abi_encode_params(const struct tgx_abi_param *params, size_t n, const struct tgx_abi_args *args,
                          struct tgx_buf *out, struct tgx_abi_error *err /* OUT */) TGX_MUSTCHECK;

/* ---- decoding ---- */

/*
 * Decode the N values of PARAMS from DATA (LEN bytes, no selector) into a NEW JSON array *OUT:
 * uintN/intN decimal strings ("-5" for negatives), address lower-case "0x..." strings, bool JSON
 * booleans, bytes/bytesN "0x..." hex strings, string JSON strings, arrays and tuples JSON arrays.
 * Strict: offsets and lengths inside DATA, unused high bits of uintN/intN/address zero (sign-extended
 * for intN), bytesN padding zero, bool 0/1, strings valid UTF-8; a value budget bounds the work.
 * -TGX_ERR_INVAL with ERR for malformed data; -TGX_ERR_NOMEM.
 */
int tgx_abi_decode_params(const struct tgx_abi_param *params, size_t n, const uint8_t *data, size_t len,
                          json_t **out /* OUT: new */, struct tgx_abi_error *err /* OUT */) TGX_MUSTCHECK;
/* Decode the return data of function FN (its outputs) into a NEW JSON array; as tgx_abi_decode_params. */
int tgx_abi_decode_output(const struct tgx_abi_entry *fn, const uint8_t *data, size_t len,
                          json_t **out /* OUT: new */, struct tgx_abi_error *err /* OUT */) TGX_MUSTCHECK;
/* Decode calldata of FN (selector checked, then its inputs) into a NEW JSON array; -TGX_ERR_INVAL. */
int tgx_abi_decode_call(const struct tgx_abi_entry *fn, const uint8_t *data, size_t len,
                        json_t **out /* OUT: new */, struct tgx_abi_error *err /* OUT */) TGX_MUSTCHECK;
/*
 * Decode a log of event EV: the NTOPICS 32-byte TOPICS (topic0 first unless anonymous; checked) and
 * DATA into a NEW JSON array in input order.  Indexed dynamic values (string, bytes, arrays, tuples)
 * are only their keccak hash, given as "0x..." hex.  -TGX_ERR_INVAL; -TGX_ERR_NOMEM.
 */
int tgx_abi_decode_log(const struct tgx_abi_entry *ev, const uint8_t (*topics)[32], size_t ntopics,
                       const uint8_t *data, size_t len, json_t **out /* OUT: new */,
                       struct tgx_abi_error *err /* OUT */) TGX_MUSTCHECK;

/* What reverted call data says. */
enum tgx_abi_revert_kind {
    TGX_ABI_REVERT_EMPTY,   /* no data: require(false) / revert() / out of gas */
    TGX_ABI_REVERT_ERROR,   /* Error(string), selector 0x08c379a0: MESSAGE is the reason */
    TGX_ABI_REVERT_PANIC,   /* Panic(uint256), selector 0x4e487b71: CODE, MESSAGE describes it */
    TGX_ABI_REVERT_CUSTOM,  /* an error of the ABI given: MESSAGE is "Name(args as JSON)" */
    TGX_ABI_REVERT_UNKNOWN, /* anything else: MESSAGE is the data as 0x-hex */
};

/* A decoded revert, embedded by its owner (tgx_abi_revert_cleanup). */
struct tgx_abi_revert {
    enum tgx_abi_revert_kind kind;
    char *message;                     /* owned; never NULL after a successful decode ("" for EMPTY) */
    struct tgx_u256 code;              /* the panic code (PANIC), else 0 */
    const struct tgx_abi_entry *error; /* CUSTOM: the ABI's error entry (borrowed), else NULL */
};

/*
 * Decode revert data DATA (LEN bytes) into *OUT, using ABI (may be NULL) for custom errors.  Malformed
 * Error/Panic payloads come back as UNKNOWN.  -TGX_ERR_NOMEM only.
 */
int tgx_abi_decode_revert(const uint8_t *data, size_t len, const struct tgx_abi *abi,
                          struct tgx_abi_revert *out /* OUT */) TGX_MUSTCHECK;
/* Free what a decoded revert owns (a zeroed struct is fine). */
void tgx_abi_revert_cleanup(struct tgx_abi_revert *r);
/* The meaning of panic CODE ("arithmetic underflow or overflow" for 0x11), or "unknown panic code". */
const char *tgx_abi_panic_reason(uint64_t code);

/* ---- addresses and hex ---- */

/*
 * Parse "0x" + 40 hex digits into OUT.  All-lower or all-upper hex is accepted as is; mixed case must
 * be the EIP-55 checksum.  -TGX_ERR_INVAL otherwise (surrounding spaces are not accepted).
 */
int tgx_abi_address_parse(const char *s, uint8_t out[20] /* OUT */) TGX_MUSTCHECK;
/* Write the EIP-55 checksummed "0x..." form of ADDR and a NUL into OUT (43 bytes). */
void tgx_abi_address_checksum(const uint8_t addr[20], char out[43] /* OUT */);
/* Append "0x" and the lower-case hex of the N bytes at DATA to OUT. */
void tgx_abi_hex_append(struct tgx_buf *out, const void *data, size_t n);
/*
 * Decode "0x"-prefixed hex S (even digit count, "0x" alone is empty) and append the bytes to OUT.
 * -TGX_ERR_INVAL without the prefix or for a bad digit; -TGX_ERR_NOMEM.
 */
int tgx_abi_hex_decode(const char *s, size_t len, struct tgx_buf *out) TGX_MUSTCHECK;

#endif
