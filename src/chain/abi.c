/*
 * abi.c: the Solidity contract ABI (https://docs.soliditylang.org/en/latest/abi-spec.html).
 *
 * Types are trees built by one parser (type names such as "(uint256,bytes)[2]" and the JSON ABI's
 * "tuple" + components), each node knowing its canonical name, whether it is dynamic and its head
 * size.  Arguments are a small value tree (text, exact number text, bool, null, array) so that a
 * uint256 given as a JSON number is never rounded through a double.  Encoding is the standard
 * head/tail layout: a sequence writes static values in place and a 32-byte offset (relative to the
 * start of the sequence) for each dynamic value, whose encoding follows in the tail.  Decoding is
 * the reverse, with every offset and length checked against the data and a budget on the number of
 * values, so hostile return data cannot make it read outside the buffer or run away.
 */
#include "tgx/abi.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/hex.h"
#include "tgx/keccak.h"

#define ABI_MAX_STATIC  (1u << 24) /* bytes of a static type's encoding (T[k] of T[k]...) */
#define ABI_MAX_FIXED   (1u << 20) /* k of T[k] */
#define ABI_MAX_NUMTEXT 100        /* significant digits of a JSON number argument */

/* ------------------------------------------------------------------ small helpers */

static void abi_msg(char *err, size_t errlen, const char *fmt, ...) TGX_PRINTF(3, 4);
static void abi_msg(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool abi_is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool abi_is_ident_char(char c)
{
    return abi_is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool abi_valid_ident(const char *s)
{
    if (s == NULL || !abi_is_ident_start(*s))
        return false;
    for (; *s != '\0'; s++) {
        if (!abi_is_ident_char(*s))
            return false;
    }
    return true;
}

void tgx_abi_hex_append(struct tgx_buf *out, const void *data, size_t n)
{
    const uint8_t *p = data;
    char chunk[129];
    tgx_buf_puts(out, "0x");
    while (n > 0) {
        size_t k = n < 64 ? n : 64;
        tgx_hex_encode(p, k, chunk);
        tgx_buf_append(out, chunk, 2 * k);
        p += k;
        n -= k;
    }
}

int tgx_abi_hex_decode(const char *s, size_t len, struct tgx_buf *out)
{
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || len % 2 != 0)
        return -TGX_ERR_INVAL;
    size_t start = out->len;
    uint8_t chunk[64];
    for (size_t i = 2; i < len;) {
        size_t k = (len - i) / 2 < sizeof chunk ? (len - i) / 2 : sizeof chunk, got;
        if (tgx_hex_decode(s + i, 2 * k, chunk, sizeof chunk, &got) < 0) {
            out->len = start;
            if (out->data != NULL)
                out->data[start] = '\0';
            return -TGX_ERR_INVAL;
        }
        tgx_buf_append(out, chunk, got);
        i += 2 * k;
    }
    return tgx_buf_oom(out) ? -TGX_ERR_NOMEM : 0;
}

void tgx_abi_selector(const char *signature, uint8_t out[4])
{
    uint8_t md[TGX_KECCAK256_LEN];
    tgx_keccak256(signature, strlen(signature), md);
    memcpy(out, md, 4);
}

/* ------------------------------------------------------------------ addresses */

void tgx_abi_address_checksum(const uint8_t addr[20], char out[43])
{
    char lower[41];
    uint8_t md[TGX_KECCAK256_LEN];
    tgx_hex_encode(addr, 20, lower);
    tgx_keccak256(lower, 40, md);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        unsigned nib = (md[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xf;
        char c = lower[i];
        out[2 + i] = (c >= 'a' && c <= 'f' && nib >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = '\0';
}

int tgx_abi_address_parse(const char *s, uint8_t out[20])
{
    if (s == NULL || strlen(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -TGX_ERR_INVAL;
    uint8_t a[20];
    size_t got;
    if (tgx_hex_decode(s + 2, 40, a, sizeof a, &got) < 0)
        return -TGX_ERR_INVAL;
    bool lower = false, upper = false;
    for (int i = 2; i < 42; i++) {
        lower = lower || (s[i] >= 'a' && s[i] <= 'f');
        upper = upper || (s[i] >= 'A' && s[i] <= 'F');
    }
    if (lower && upper) {
        char cs[43];
        tgx_abi_address_checksum(a, cs);
        if (memcmp(cs + 2, s + 2, 40) != 0)
            return -TGX_ERR_INVAL;
    }
    memcpy(out, a, 20);
    return 0;
}

/* ------------------------------------------------------------------ types */

void tgx_abi_type_free(struct tgx_abi_type *t)
{
    if (t == NULL)
        return;
    tgx_abi_type_free(t->elem);
    for (size_t i = 0; i < t->ncomps; i++) {
        tgx_abi_type_free(t->comps[i]);
        if (t->comp_names != NULL)
            free(t->comp_names[i]);
    }
    free(t->comps);
    free(t->comp_names);
    free(t->canonical);
    free(t);
}

/* Fill canonical, dynamic and head_size of T from its children; -TGX_ERR_INVAL (too big), -NOMEM. */
static int abi_type_finish(struct tgx_abi_type *t, char *err, size_t errlen)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    switch (t->kind) {
    case TGX_ABI_UINT:
        tgx_buf_printf(&b, "uint%u", t->size);
        t->head_size = 32;
        break;
    case TGX_ABI_INT:
        tgx_buf_printf(&b, "int%u", t->size);
        t->head_size = 32;
        break;
    case TGX_ABI_ADDRESS:
        tgx_buf_puts(&b, "address");
        t->head_size = 32;
        break;
    case TGX_ABI_BOOL:
        tgx_buf_puts(&b, "bool");
        t->head_size = 32;
        break;
    case TGX_ABI_FIXED_BYTES:
        tgx_buf_printf(&b, "bytes%u", t->size);
        t->head_size = 32;
        break;
    case TGX_ABI_BYTES:
        tgx_buf_puts(&b, "bytes");
        t->dynamic = true;
        break;
    case TGX_ABI_STRING:
        tgx_buf_puts(&b, "string");
        t->dynamic = true;
        break;
    case TGX_ABI_ARRAY:
        tgx_buf_printf(&b, "%s[]", t->elem->canonical);
        t->dynamic = true;
        break;
    case TGX_ABI_FIXED_ARRAY:
        tgx_buf_printf(&b, "%s[%zu]", t->elem->canonical, t->length);
        t->dynamic = t->elem->dynamic;
        if (!t->dynamic) {
            if (t->elem->head_size > ABI_MAX_STATIC / t->length) {
                tgx_buf_cleanup(&b);
                abi_msg(err, errlen, "type %s[%zu] is too large", t->elem->canonical, t->length);
                return -TGX_ERR_INVAL;
            }
            t->head_size = t->elem->head_size * t->length;
        }
        break;
    case TGX_ABI_TUPLE: {
        size_t total = 0;
        tgx_buf_putc(&b, '(');
        for (size_t i = 0; i < t->ncomps; i++) {
            if (i > 0)
                tgx_buf_putc(&b, ',');
            tgx_buf_puts(&b, t->comps[i]->canonical);
            t->dynamic = t->dynamic || t->comps[i]->dynamic;
            total += t->comps[i]->head_size;
        }
        tgx_buf_putc(&b, ')');
        if (!t->dynamic) {
            if (total > ABI_MAX_STATIC) {
                tgx_buf_cleanup(&b);
                abi_msg(err, errlen, "tuple type is too large");
                return -TGX_ERR_INVAL;
            }
            t->head_size = total;
        }
        break;
    }
    }
    if (t->dynamic)
        t->head_size = 32;
    t->canonical = tgx_buf_steal(&b);
    return t->canonical != NULL ? 0 : -TGX_ERR_NOMEM;
}

/* A parse cursor over a signature or type name. */
struct abi_cur {
    const char *s;
    size_t pos;
    char *err;
    size_t errlen;
};

static void abi_skip_ws(struct abi_cur *c)
{
    while (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' || c->s[c->pos] == '\r')
        c->pos++;
}

/* Read an identifier-ish word ([A-Za-z0-9_$]+) into W (cap WCAP); its length, 0 when none. */
static size_t abi_word(struct abi_cur *c, char *w, size_t wcap)
{
    size_t n = 0;
    while (abi_is_ident_char(c->s[c->pos])) {
        if (n + 1 < wcap)
            w[n] = c->s[c->pos];
        n++;
        c->pos++;
    }
    if (wcap > 0)
        w[n < wcap ? n : wcap - 1] = '\0';
    return n;
}

/* Parse "N" (decimal, no leading zero) of W + OFF into *OUT within LO..HI; false if not. */
static bool abi_size_suffix(const char *w, unsigned lo, unsigned hi, unsigned *out)
{
    if (*w == '\0' || *w == '0' || strlen(w) > 3)
        return false;
    unsigned v = 0;
    for (; *w != '\0'; w++) {
        if (*w < '0' || *w > '9')
            return false;
        v = v * 10 + (unsigned)(*w - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static struct tgx_abi_type *abi_type_new(enum tgx_abi_kind kind)
{
    struct tgx_abi_type *t = calloc(1, sizeof *t);
    if (t != NULL)
        t->kind = kind;
    return t;
}

/* The elementary type named W into *OUT; -TGX_ERR_INVAL (message), -NOMEM. */
static int abi_type_elementary(const char *w, struct tgx_abi_type **out, char *err, size_t errlen)
{
    enum tgx_abi_kind kind;
    unsigned size = 0;
    if (strcmp(w, "uint") == 0) {
        kind = TGX_ABI_UINT;
        size = 256;
    } else if (strcmp(w, "int") == 0) {
        kind = TGX_ABI_INT;
        size = 256;
    } else if (strncmp(w, "uint", 4) == 0 && abi_size_suffix(w + 4, 8, 256, &size) && size % 8 == 0) {
        kind = TGX_ABI_UINT;
    } else if (strncmp(w, "int", 3) == 0 && abi_size_suffix(w + 3, 8, 256, &size) && size % 8 == 0) {
        kind = TGX_ABI_INT;
    } else if (strcmp(w, "address") == 0) {
        kind = TGX_ABI_ADDRESS;
    } else if (strcmp(w, "bool") == 0) {
        kind = TGX_ABI_BOOL;
    } else if (strcmp(w, "string") == 0) {
        kind = TGX_ABI_STRING;
    } else if (strcmp(w, "bytes") == 0) {
        kind = TGX_ABI_BYTES;
    } else if (strcmp(w, "byte") == 0) {
        kind = TGX_ABI_FIXED_BYTES;
        size = 1;
    } else if (strncmp(w, "bytes", 5) == 0 && abi_size_suffix(w + 5, 1, 32, &size)) {
        kind = TGX_ABI_FIXED_BYTES;
    } else {
        abi_msg(err, errlen, "unknown or unsupported ABI type \"%s\"", w);
        return -TGX_ERR_INVAL;
    }
    struct tgx_abi_type *t = abi_type_new(kind);
    if (t == NULL)
        return -TGX_ERR_NOMEM;
    t->size = size;
    int rc = abi_type_finish(t, err, errlen);
    if (rc < 0) {
        tgx_abi_type_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* Wrap *T (stolen) in the array suffixes at the cursor ("[]", "[3]", repeated). */
static int abi_type_suffixes(struct abi_cur *c, struct tgx_abi_type **t, int depth)
{
    for (;;) {
        size_t save = c->pos;
        abi_skip_ws(c);
        if (c->s[c->pos] != '[') {
            c->pos = save;
            break;
        }
        c->pos++;
        size_t len = 0;
        bool fixed = false;
        if (c->s[c->pos] != ']') {
            if (c->s[c->pos] == '0') {
                abi_msg(c->err, c->errlen, "invalid array length in \"%s\"", c->s);
                return -TGX_ERR_INVAL;
            }
            while (c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
                len = len * 10 + (size_t)(c->s[c->pos] - '0');
                if (len > ABI_MAX_FIXED) {
                    abi_msg(c->err, c->errlen, "array length too large in \"%s\"", c->s);
                    return -TGX_ERR_INVAL;
                }
                c->pos++;
            }
            fixed = true;
        }
        if (c->s[c->pos] != ']' || (fixed && len == 0)) {
            abi_msg(c->err, c->errlen, "invalid array suffix in \"%s\"", c->s);
            return -TGX_ERR_INVAL;
        }
        c->pos++;
        if (++depth > TGX_ABI_MAX_DEPTH) {
            abi_msg(c->err, c->errlen, "type nests deeper than %d levels", TGX_ABI_MAX_DEPTH);
            return -TGX_ERR_INVAL;
        }
        struct tgx_abi_type *a = abi_type_new(fixed ? TGX_ABI_FIXED_ARRAY : TGX_ABI_ARRAY);
        if (a == NULL)
            return -TGX_ERR_NOMEM;
        a->elem = *t;
        a->length = len;
        *t = a;
        int rc = abi_type_finish(a, c->err, c->errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Append component T (stolen) named NAME (copied; NULL = "") to tuple TUP. */
static int abi_tuple_push(struct tgx_abi_type *tup, struct tgx_abi_type *t, const char *name)
{
    struct tgx_abi_type **comps = realloc(tup->comps, (tup->ncomps + 1) * sizeof *comps);
    if (comps == NULL) {
        tgx_abi_type_free(t);
        return -TGX_ERR_NOMEM;
    }
    tup->comps = comps;
    char **names = realloc(tup->comp_names, (tup->ncomps + 1) * sizeof *names);
    if (names == NULL) {
        tgx_abi_type_free(t);
        return -TGX_ERR_NOMEM;
    }
    tup->comp_names = names;
    char *nm = strdup(name != NULL ? name : "");
    if (nm == NULL) {
        tgx_abi_type_free(t);
        return -TGX_ERR_NOMEM;
    }
    tup->comps[tup->ncomps] = t;
    tup->comp_names[tup->ncomps] = nm;
    tup->ncomps++;
    return 0;
}

/* Words a human-readable parameter may carry that do not change the ABI. */
static bool abi_ignorable_word(const char *w)
{
    return strcmp(w, "memory") == 0 || strcmp(w, "calldata") == 0 || strcmp(w, "storage") == 0 ||
           strcmp(w, "payable") == 0;
}

static int abi_parse_type_at(struct abi_cur *c, struct tgx_abi_type **out, int depth);

/*
 * Parse a parenthesised parameter list at the cursor into tuple type *OUT (component names kept).
 * INDEXED (may be NULL) receives a new array of the per-component "indexed" flags.
 */
static int abi_parse_list(struct abi_cur *c, struct tgx_abi_type **out, bool **indexed, int depth)
{
    if (depth > TGX_ABI_MAX_DEPTH) {
        abi_msg(c->err, c->errlen, "type nests deeper than %d levels", TGX_ABI_MAX_DEPTH);
        return -TGX_ERR_INVAL;
    }
    abi_skip_ws(c);
    if (c->s[c->pos] != '(') {
        abi_msg(c->err, c->errlen, "expected '(' in \"%s\"", c->s);
        return -TGX_ERR_INVAL;
    }
    c->pos++;
    struct tgx_abi_type *tup = abi_type_new(TGX_ABI_TUPLE);
    bool *flags = NULL;
    int rc = 0;
    if (tup == NULL)
        return -TGX_ERR_NOMEM;
    abi_skip_ws(c);
    if (c->s[c->pos] == ')') {
        c->pos++;
    } else {
        for (;;) {
            struct tgx_abi_type *t = NULL;
            rc = abi_parse_type_at(c, &t, depth + 1);
            if (rc < 0)
                goto fail;
            bool ix = false;
            char name[128] = "", w[128];
            for (;;) {
                abi_skip_ws(c);
                size_t n = abi_word(c, w, sizeof w);
                if (n == 0)
                    break;
                if (n >= sizeof w) {
                    tgx_abi_type_free(t);
                    abi_msg(c->err, c->errlen, "parameter name too long in \"%s\"", c->s);
                    rc = -TGX_ERR_INVAL;
                    goto fail;
                }
                if (strcmp(w, "indexed") == 0 && indexed != NULL && name[0] == '\0')
                    ix = true;
                else if (abi_ignorable_word(w) && name[0] == '\0')
                    continue;
                else if (name[0] == '\0' && abi_is_ident_start(w[0]))
                    memcpy(name, w, n + 1);
                else {
                    tgx_abi_type_free(t);
                    abi_msg(c->err, c->errlen, "unexpected \"%s\" in \"%s\"", w, c->s);
                    rc = -TGX_ERR_INVAL;
                    goto fail;
                }
            }
            bool *nf = realloc(flags, (tup->ncomps + 1) * sizeof *nf);
            if (nf == NULL) {
                tgx_abi_type_free(t);
                rc = -TGX_ERR_NOMEM;
                goto fail;
            }
            flags = nf;
            flags[tup->ncomps] = ix;
            rc = abi_tuple_push(tup, t, name);
            if (rc < 0)
                goto fail;
            abi_skip_ws(c);
            if (c->s[c->pos] == ',') {
                c->pos++;
                continue;
            }
            if (c->s[c->pos] == ')') {
                c->pos++;
                break;
            }
            abi_msg(c->err, c->errlen, "expected ',' or ')' at position %zu of \"%s\"", c->pos, c->s);
            rc = -TGX_ERR_INVAL;
            goto fail;
        }
    }
    rc = abi_type_finish(tup, c->err, c->errlen);
    if (rc < 0)
        goto fail;
    *out = tup;
    if (indexed != NULL)
        *indexed = flags;
    else
        free(flags);
    return 0;
fail:
    tgx_abi_type_free(tup);
    free(flags);
    return rc;
}

/* Parse one type at the cursor: an elementary name or a tuple "(...)" / "tuple(...)", then suffixes. */
static int abi_parse_type_at(struct abi_cur *c, struct tgx_abi_type **out, int depth)
{
    struct tgx_abi_type *t = NULL;
    int rc;
    abi_skip_ws(c);
    if (depth > TGX_ABI_MAX_DEPTH) {
        abi_msg(c->err, c->errlen, "type nests deeper than %d levels", TGX_ABI_MAX_DEPTH);
        return -TGX_ERR_INVAL;
    }
    if (strncmp(c->s + c->pos, "tuple(", 6) == 0)
        c->pos += 5;
    if (c->s[c->pos] == '(') {
        rc = abi_parse_list(c, &t, NULL, depth);
        if (rc < 0)
            return rc;
        if (t->ncomps == 0) {
            tgx_abi_type_free(t);
            abi_msg(c->err, c->errlen, "empty tuple type in \"%s\"", c->s);
            return -TGX_ERR_INVAL;
        }
    } else {
        char w[32];
        size_t n = abi_word(c, w, sizeof w);
        if (n == 0 || n >= sizeof w) {
            abi_msg(c->err, c->errlen, "expected a type at position %zu of \"%s\"", c->pos, c->s);
            return -TGX_ERR_INVAL;
        }
        rc = abi_type_elementary(w, &t, c->err, c->errlen);
        if (rc < 0)
            return rc;
    }
    rc = abi_type_suffixes(c, &t, depth);
    if (rc < 0) {
        tgx_abi_type_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int tgx_abi_type_parse(const char *s, struct tgx_abi_type **out, char *err, size_t errlen)
{
    struct abi_cur c = {s, 0, err, errlen};
    struct tgx_abi_type *t = NULL;
    int rc = abi_parse_type_at(&c, &t, 0);
    if (rc < 0)
        return rc;
    abi_skip_ws(&c);
    if (s[c.pos] != '\0') {
        tgx_abi_type_free(t);
        abi_msg(err, errlen, "unexpected text after type in \"%s\"", s);
        return -TGX_ERR_INVAL;
    }
    *out = t;
    return 0;
}

/* ------------------------------------------------------------------ entries */

static void abi_params_free(struct tgx_abi_param *p, size_t n)
{
    for (size_t i = 0; p != NULL && i < n; i++) {
        free((char *)p[i].name);
        tgx_abi_type_free((struct tgx_abi_type *)p[i].type);
    }
    free(p);
}

void tgx_abi_entry_free(struct tgx_abi_entry *e)
{
    if (e == NULL)
        return;
    free((char *)e->name);
    free((char *)e->signature);
    free((char *)e->state_mutability);
    abi_params_free((struct tgx_abi_param *)e->inputs, e->ninputs);
    abi_params_free((struct tgx_abi_param *)e->outputs, e->noutputs);
    free(e);
}

/*
 * Move the components of tuple TUP (freed) into a new parameter array *OUT (*N entries); FLAGS
 * (may be NULL) gives the indexed flags.
 */
static int abi_params_from_tuple(struct tgx_abi_type *tup, const bool *flags, struct tgx_abi_param **out,
                                 size_t *n)
{
    struct tgx_abi_param *p = calloc(tup->ncomps > 0 ? tup->ncomps : 1, sizeof *p);
    if (p == NULL) {
        tgx_abi_type_free(tup);
        return -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; i < tup->ncomps; i++) {
        p[i].type = tup->comps[i];
        p[i].name = tup->comp_names[i];
        p[i].indexed = flags != NULL && flags[i];
    }
    *out = p;
    *n = tup->ncomps;
    tup->ncomps = 0; /* the components now belong to P */
    tgx_abi_type_free(tup);
    return 0;
}

/* Compute signature, selector and topic of E from its name and inputs. */
static int abi_entry_finish(struct tgx_abi_entry *e)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_buf_printf(&b, "%s(", e->name);
    for (size_t i = 0; i < e->ninputs; i++) {
        if (i > 0)
            tgx_buf_putc(&b, ',');
        tgx_buf_puts(&b, e->inputs[i].type->canonical);
    }
    tgx_buf_putc(&b, ')');
    char *sig = tgx_buf_steal(&b);
    if (sig == NULL)
        return -TGX_ERR_NOMEM;
    e->signature = sig;
    tgx_keccak256(sig, strlen(sig), e->topic);
    memcpy(e->selector, e->topic, 4);
    if (e->state_mutability == NULL) {
        e->state_mutability = strdup("");
        if (e->state_mutability == NULL)
            return -TGX_ERR_NOMEM;
    }
    return 0;
}

int tgx_abi_entry_parse(const char *sig, enum tgx_abi_entry_kind kind, struct tgx_abi_entry **out, char *err,
                        size_t errlen)
{
    struct abi_cur c = {sig, 0, err, errlen};
    char name[256];
    struct tgx_abi_type *tup = NULL;
    bool *flags = NULL;
    int rc;
    abi_skip_ws(&c);
    if (strncmp(sig + c.pos, "function ", 9) == 0 || strncmp(sig + c.pos, "event ", 6) == 0 ||
        strncmp(sig + c.pos, "error ", 6) == 0) {
        while (sig[c.pos] != ' ')
            c.pos++;
        abi_skip_ws(&c);
    }
    size_t n = abi_word(&c, name, sizeof name);
    if (n == 0 || n >= sizeof name || !abi_valid_ident(name)) {
        abi_msg(err, errlen, "invalid signature \"%s\": expected name(type,...)", sig);
        return -TGX_ERR_INVAL;
    }
    struct tgx_abi_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -TGX_ERR_NOMEM;
    e->kind = kind;
    e->name = strdup(name);
    if (e->name == NULL) {
        rc = -TGX_ERR_NOMEM;
        goto fail;
    }
    rc = abi_parse_list(&c, &tup, kind == TGX_ABI_EVENT ? &flags : NULL, 0);
    if (rc < 0)
        goto fail;
    rc = abi_params_from_tuple(tup, flags, (struct tgx_abi_param **)&e->inputs, &e->ninputs);
    free(flags);
    if (rc < 0)
        goto fail;
    abi_skip_ws(&c);
    if (kind == TGX_ABI_FUNCTION) {
        char w[16];
        size_t save = c.pos;
        for (;;) { /* skip "external view returns" style words */
            abi_skip_ws(&c);
            save = c.pos;
            if (abi_word(&c, w, sizeof w) == 0)
                break;
            if (strcmp(w, "returns") == 0 || strcmp(w, "external") == 0 || strcmp(w, "public") == 0 ||
                strcmp(w, "view") == 0 || strcmp(w, "pure") == 0 || strcmp(w, "payable") == 0 ||
                strcmp(w, "nonpayable") == 0) {
                if (strcmp(w, "view") == 0 || strcmp(w, "pure") == 0 || strcmp(w, "payable") == 0 ||
                    strcmp(w, "nonpayable") == 0) {
                    free((char *)e->state_mutability);
                    e->state_mutability = strdup(w);
                    if (e->state_mutability == NULL) {
                        rc = -TGX_ERR_NOMEM;
                        goto fail;
                    }
                }
                continue;
            }
            c.pos = save;
            break;
        }
        abi_skip_ws(&c);
        if (sig[c.pos] == '(') {
            rc = abi_parse_list(&c, &tup, NULL, 0);
            if (rc < 0)
                goto fail;
            rc = abi_params_from_tuple(tup, NULL, (struct tgx_abi_param **)&e->outputs, &e->noutputs);
            if (rc < 0)
                goto fail;
        }
    }
    abi_skip_ws(&c);
    if (sig[c.pos] != '\0') {
        abi_msg(err, errlen, "unexpected text at position %zu of signature \"%s\"", c.pos, sig);
        rc = -TGX_ERR_INVAL;
        goto fail;
    }
    rc = abi_entry_finish(e);
    if (rc < 0)
        goto fail;
    *out = e;
    return 0;
fail:
    tgx_abi_entry_free(e);
    return rc;
}

/* ------------------------------------------------------------------ JSON ABI */

struct tgx_abi {
    struct tgx_abi_entry **v;
    size_t n;
};

/* The type of JSON ABI parameter P ({"type", "components"?}) into *OUT. */
static int abi_json_type(const json_t *p, struct tgx_abi_type **out, int depth, char *err, size_t errlen)
{
    const char *ts = json_string_value(json_object_get(p, "type"));
    if (!json_is_object(p) || ts == NULL) {
        abi_msg(err, errlen, "ABI parameter without a \"type\" string");
        return -TGX_ERR_INVAL;
    }
    if (depth > TGX_ABI_MAX_DEPTH) {
        abi_msg(err, errlen, "ABI type nests deeper than %d levels", TGX_ABI_MAX_DEPTH);
        return -TGX_ERR_INVAL;
    }
    if (strncmp(ts, "tuple", 5) != 0 || abi_is_ident_char(ts[5]))
        return tgx_abi_type_parse(ts, out, err, errlen);
    const json_t *comps = json_object_get(p, "components");
    if (!json_is_array(comps) || json_array_size(comps) == 0) {
        abi_msg(err, errlen, "ABI tuple parameter without \"components\"");
        return -TGX_ERR_INVAL;
    }
    struct tgx_abi_type *tup = abi_type_new(TGX_ABI_TUPLE);
    if (tup == NULL)
        return -TGX_ERR_NOMEM;
    int rc;
    for (size_t i = 0; i < json_array_size(comps); i++) {
        const json_t *cp = json_array_get(comps, i);
        struct tgx_abi_type *ct = NULL;
        rc = abi_json_type(cp, &ct, depth + 1, err, errlen);
        if (rc < 0)
            goto fail;
        rc = abi_tuple_push(tup, ct, json_string_value(json_object_get(cp, "name")));
        if (rc < 0)
            goto fail;
    }
    rc = abi_type_finish(tup, err, errlen);
    if (rc < 0)
        goto fail;
    struct abi_cur c = {ts, 5, err, errlen};
    rc = abi_type_suffixes(&c, &tup, depth);
    if (rc < 0)
        goto fail;
    if (ts[c.pos] != '\0') {
        abi_msg(err, errlen, "invalid ABI type \"%s\"", ts);
        rc = -TGX_ERR_INVAL;
        goto fail;
    }
    *out = tup;
    return 0;
fail:
    tgx_abi_type_free(tup);
    return rc;
}

/* The parameters of JSON array PARAMS (NULL: none) into a new array. */
static int abi_json_params(const json_t *params, bool events, struct tgx_abi_param **out, size_t *n,
                           char *err, size_t errlen)
{
    if (params != NULL && !json_is_array(params)) {
        abi_msg(err, errlen, "ABI \"inputs\"/\"outputs\" is not an array");
        return -TGX_ERR_INVAL;
    }
    size_t cnt = params != NULL ? json_array_size(params) : 0;
    struct tgx_abi_param *p = calloc(cnt > 0 ? cnt : 1, sizeof *p);
    if (p == NULL)
        return -TGX_ERR_NOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const json_t *jp = json_array_get(params, i);
        struct tgx_abi_type *t = NULL;
        int rc = abi_json_type(jp, &t, 0, err, errlen);
        const char *nm = json_string_value(json_object_get(jp, "name"));
        if (rc == 0) {
            p[i].name = strdup(nm != NULL ? nm : "");
            if (p[i].name == NULL)
                rc = -TGX_ERR_NOMEM;
        }
        if (rc < 0) {
            tgx_abi_type_free(t);
            abi_params_free(p, i);
            return rc;
        }
        p[i].type = t;
        p[i].indexed = events && json_is_true(json_object_get(jp, "indexed"));
    }
    *out = p;
    *n = cnt;
    return 0;
}

/* One JSON ABI entry into *OUT; *OUT = NULL for entries we skip (constructor, fallback, receive). */
static int abi_json_entry(const json_t *je, struct tgx_abi_entry **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!json_is_object(je)) {
        abi_msg(err, errlen, "ABI entry is not an object");
        return -TGX_ERR_INVAL;
    }
    const json_t *jt = json_object_get(je, "type");
    const char *type = jt == NULL ? "function" : json_string_value(jt);
    enum tgx_abi_entry_kind kind;
    if (type == NULL) {
        abi_msg(err, errlen, "ABI entry \"type\" is not a string");
        return -TGX_ERR_INVAL;
    }
    if (strcmp(type, "function") == 0)
        kind = TGX_ABI_FUNCTION;
    else if (strcmp(type, "event") == 0)
        kind = TGX_ABI_EVENT;
    else if (strcmp(type, "error") == 0)
        kind = TGX_ABI_ERROR;
    else if (strcmp(type, "constructor") == 0 || strcmp(type, "fallback") == 0 ||
             strcmp(type, "receive") == 0)
        return 0;
    else {
        abi_msg(err, errlen, "unknown ABI entry type \"%s\"", type);
        return -TGX_ERR_INVAL;
    }
    const char *name = json_string_value(json_object_get(je, "name"));
    if (!abi_valid_ident(name)) {
        abi_msg(err, errlen, "ABI %s entry without a valid \"name\"", type);
        return -TGX_ERR_INVAL;
    }
    struct tgx_abi_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -TGX_ERR_NOMEM;
    e->kind = kind;
    e->anonymous = kind == TGX_ABI_EVENT && json_is_true(json_object_get(je, "anonymous"));
    int rc = -TGX_ERR_NOMEM;
    e->name = strdup(name);
    if (e->name == NULL)
        goto fail;
    rc = abi_json_params(json_object_get(je, "inputs"), kind == TGX_ABI_EVENT,
                         (struct tgx_abi_param **)&e->inputs, &e->ninputs, err, errlen);
    if (rc < 0)
        goto fail;
    if (kind == TGX_ABI_FUNCTION) {
        rc = abi_json_params(json_object_get(je, "outputs"), false, (struct tgx_abi_param **)&e->outputs,
                             &e->noutputs, err, errlen);
        if (rc < 0)
            goto fail;
        const char *sm = json_string_value(json_object_get(je, "stateMutability"));
        if (sm == NULL)
            sm = json_is_true(json_object_get(je, "constant"))  ? "view"
                 : json_is_true(json_object_get(je, "payable")) ? "payable"
                                                                : "nonpayable";
        e->state_mutability = strdup(sm);
        rc = -TGX_ERR_NOMEM;
        if (e->state_mutability == NULL)
            goto fail;
    }
    rc = abi_entry_finish(e);
    if (rc < 0)
        goto fail;
    *out = e;
    return 0;
fail:
    tgx_abi_entry_free(e);
    return rc;
}

void tgx_abi_free(struct tgx_abi *abi)
{
    if (abi == NULL)
        return;
    for (size_t i = 0; i < abi->n; i++)
        tgx_abi_entry_free(abi->v[i]);
    free(abi->v);
    free(abi);
}

int tgx_abi_from_json(const json_t *root, struct tgx_abi **out, char *err, size_t errlen)
{
    if (json_is_object(root) && json_is_array(json_object_get(root, "abi")))
        root = json_object_get(root, "abi");
    if (!json_is_array(root)) {
        abi_msg(err, errlen, "ABI is not a JSON array");
        return -TGX_ERR_INVAL;
    }
    struct tgx_abi *abi = calloc(1, sizeof *abi);
    size_t cnt = json_array_size(root);
    if (abi == NULL || (abi->v = calloc(cnt > 0 ? cnt : 1, sizeof *abi->v)) == NULL) {
        free(abi);
        return -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        struct tgx_abi_entry *e;
        char sub[200] = "";
        int rc = abi_json_entry(json_array_get(root, i), &e, sub, sizeof sub);
        if (rc < 0) {
            abi_msg(err, errlen, "ABI entry %zu: %s", i, sub);
            tgx_abi_free(abi);
            return rc;
        }
        if (e != NULL)
            abi->v[abi->n++] = e;
    }
    *out = abi;
    return 0;
}

int tgx_abi_parse(const char *text, size_t len, struct tgx_abi **out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (root == NULL) {
        abi_msg(err, errlen, "ABI is not valid JSON: %s", je.text);
        return -TGX_ERR_INVAL;
    }
    int rc = tgx_abi_from_json(root, out, err, errlen);
    json_decref(root);
    return rc;
}

size_t tgx_abi_count(const struct tgx_abi *abi)
{
    return abi->n;
}

const struct tgx_abi_entry *tgx_abi_at(const struct tgx_abi *abi, size_t i)
{
    return i < abi->n ? abi->v[i] : NULL;
}

/* Find an entry of KIND by bare name or signature (see tgx_abi_find_function). */
static int abi_find(const struct tgx_abi *abi, enum tgx_abi_entry_kind kind, const char *name, long nargs,
                    const struct tgx_abi_entry **out)
{
    if (name == NULL)
        return -TGX_ERR_INVAL;
    const struct tgx_abi_entry *found = NULL;
    size_t nfound = 0;
    if (strchr(name, '(') != NULL) {
        struct tgx_abi_entry *want;
        int rc = tgx_abi_entry_parse(name, kind, &want, NULL, 0);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < abi->n; i++) {
            const struct tgx_abi_entry *e = abi->v[i];
            if (e->kind == kind && strcmp(e->signature, want->signature) == 0 &&
                (nargs < 0 || e->ninputs == (size_t)nargs)) {
                found = e;
                nfound = 1;
                break;
            }
        }
        tgx_abi_entry_free(want);
    } else {
        if (!abi_valid_ident(name))
            return -TGX_ERR_INVAL;
        for (size_t i = 0; i < abi->n; i++) {
            const struct tgx_abi_entry *e = abi->v[i];
            if (e->kind == kind && strcmp(e->name, name) == 0 && (nargs < 0 || e->ninputs == (size_t)nargs)) {
                if (found == NULL || strcmp(found->signature, e->signature) != 0)
                    nfound++;
                found = e;
            }
        }
    }
    if (nfound == 0)
        return -TGX_ERR_NOTFOUND;
    if (nfound > 1)
        return -TGX_ERR_INVAL;
    *out = found;
    return 0;
}

int tgx_abi_find_function(const struct tgx_abi *abi, const char *name, long nargs,
                          const struct tgx_abi_entry **out)
{
    return abi_find(abi, TGX_ABI_FUNCTION, name, nargs, out);
}

int tgx_abi_find_event(const struct tgx_abi *abi, const char *name, const struct tgx_abi_entry **out)
{
    return abi_find(abi, TGX_ABI_EVENT, name, -1, out);
}

const struct tgx_abi_entry *tgx_abi_find_error(const struct tgx_abi *abi, const uint8_t sel[4])
{
    for (size_t i = 0; abi != NULL && i < abi->n; i++) {
        if (abi->v[i]->kind == TGX_ABI_ERROR && memcmp(abi->v[i]->selector, sel, 4) == 0)
            return abi->v[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------ arguments */

enum abi_arg_kind {
    ABI_ARG_TEXT,   /* a string: a top-level argument or a JSON string element */
    ABI_ARG_NUMBER, /* a JSON number, its text kept exact */
    ABI_ARG_BOOL,
    ABI_ARG_NULL,
    ABI_ARG_ARRAY,
};

struct abi_arg {
    enum abi_arg_kind kind;
    char *text;            /* TEXT, NUMBER: owned, NUL-terminated (TEXT may hold NULs: see len) */
    size_t len;            /* bytes of text */
    bool b;                /* BOOL */
    struct abi_arg *items; /* ARRAY: owned */
    size_t n;
};

struct tgx_abi_args {
    struct abi_arg root; /* an ARRAY */
};

static void abi_arg_cleanup(struct abi_arg *a)
{
    free(a->text);
    for (size_t i = 0; i < a->n; i++)
        abi_arg_cleanup(&a->items[i]);
    free(a->items);
    memset(a, 0, sizeof *a);
}

void tgx_abi_args_free(struct tgx_abi_args *args)
{
    if (args == NULL)
        return;
    abi_arg_cleanup(&args->root);
    free(args);
}

size_t tgx_abi_args_count(const struct tgx_abi_args *args)
{
    return args->root.n;
}

static int abi_arg_set_text(struct abi_arg *a, enum abi_arg_kind kind, const char *s, size_t len)
{
    a->kind = kind;
    a->text = malloc(len + 1);
    if (a->text == NULL)
        return -TGX_ERR_NOMEM;
    memcpy(a->text, s, len);
    a->text[len] = '\0';
    a->len = len;
    return 0;
}

int tgx_abi_args_from_strings(const char *const *args, size_t n, struct tgx_abi_args **out)
{
    struct tgx_abi_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -TGX_ERR_NOMEM;
    a->root.kind = ABI_ARG_ARRAY;
    a->root.items = calloc(n > 0 ? n : 1, sizeof *a->root.items);
    if (a->root.items == NULL) {
        free(a);
        return -TGX_ERR_NOMEM;
    }
    a->root.n = n;
    for (size_t i = 0; i < n; i++) {
        const char *s = args[i] != NULL ? args[i] : "";
        if (abi_arg_set_text(&a->root.items[i], ABI_ARG_TEXT, s, strlen(s)) < 0) {
            tgx_abi_args_free(a);
            return -TGX_ERR_NOMEM;
        }
    }
    *out = a;
    return 0;
}

/* A JSON reader that keeps number text exact. */
struct abi_jp {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
};

static void abi_jp_ws(struct abi_jp *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int abi_jp_fail(struct abi_jp *p, const char *what)
{
    abi_msg(p->err, p->errlen, "invalid JSON at byte %zu: %s", p->pos, what);
    return -TGX_ERR_INVAL;
}

static int abi_jp_hex4(struct abi_jp *p, unsigned *out)
{
    unsigned v = 0;
    if (p->len - p->pos < 4)
        return abi_jp_fail(p, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
            return abi_jp_fail(p, "bad \\u escape");
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static int abi_jp_string(struct abi_jp *p, struct abi_arg *out)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    p->pos++; /* opening quote */
    for (;;) {
        if (p->pos >= p->len) {
            tgx_buf_cleanup(&b);
            return abi_jp_fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"')
            break;
        if (c < 0x20) {
            tgx_buf_cleanup(&b);
            return abi_jp_fail(p, "control character in string");
        }
        if (c != '\\') {
            tgx_buf_putc(&b, (char)c);
            continue;
        }
        if (p->pos >= p->len) {
            tgx_buf_cleanup(&b);
            return abi_jp_fail(p, "unterminated string");
        }
        char e = p->s[p->pos++];
        unsigned cp;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            tgx_buf_putc(&b, e);
            continue;
        case 'b':
            tgx_buf_putc(&b, '\b');
            continue;
        case 'f':
            tgx_buf_putc(&b, '\f');
            continue;
        case 'n':
            tgx_buf_putc(&b, '\n');
            continue;
        case 'r':
            tgx_buf_putc(&b, '\r');
            continue;
        case 't':
            tgx_buf_putc(&b, '\t');
            continue;
        case 'u':
            if (abi_jp_hex4(p, &cp) < 0) {
                tgx_buf_cleanup(&b);
                return -TGX_ERR_INVAL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    tgx_buf_cleanup(&b);
                    return abi_jp_fail(p, "unpaired surrogate");
                }
                p->pos += 2;
                if (abi_jp_hex4(p, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
                    tgx_buf_cleanup(&b);
                    return abi_jp_fail(p, "unpaired surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                tgx_buf_cleanup(&b);
                return abi_jp_fail(p, "unpaired surrogate");
            }
            if (cp < 0x80) {
                tgx_buf_putc(&b, (char)cp);
            } else if (cp < 0x800) {
                tgx_buf_putc(&b, (char)(0xc0 | cp >> 6));
                tgx_buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
            } else if (cp < 0x10000) {
                tgx_buf_putc(&b, (char)(0xe0 | cp >> 12));
                tgx_buf_putc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
                tgx_buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
            } else {
                tgx_buf_putc(&b, (char)(0xf0 | cp >> 18));
                tgx_buf_putc(&b, (char)(0x80 | ((cp >> 12) & 0x3f)));
                tgx_buf_putc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
                tgx_buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
            }
            continue;
        default:
            tgx_buf_cleanup(&b);
            return abi_jp_fail(p, "bad escape");
        }
    }
    if (tgx_buf_oom(&b)) {
        tgx_buf_cleanup(&b);
        return -TGX_ERR_NOMEM;
    }
    int rc = abi_arg_set_text(out, ABI_ARG_TEXT, tgx_buf_str(&b), b.len);
    tgx_buf_cleanup(&b);
    return rc;
}

static int abi_jp_number(struct abi_jp *p, struct abi_arg *out)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !isdigit((unsigned char)s[p->pos]))
        return abi_jp_fail(p, "bad number");
    if (s[p->pos] == '0')
        p->pos++;
    else
        while (p->pos < p->len && isdigit((unsigned char)s[p->pos]))
            p->pos++;
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !isdigit((unsigned char)s[p->pos]))
            return abi_jp_fail(p, "bad number");
        while (p->pos < p->len && isdigit((unsigned char)s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !isdigit((unsigned char)s[p->pos]))
            return abi_jp_fail(p, "bad number");
        while (p->pos < p->len && isdigit((unsigned char)s[p->pos]))
            p->pos++;
    }
    return abi_arg_set_text(out, ABI_ARG_NUMBER, s + start, p->pos - start);
}

static int abi_jp_value(struct abi_jp *p, struct abi_arg *out, int depth)
{
    abi_jp_ws(p);
    if (p->pos >= p->len)
        return abi_jp_fail(p, "unexpected end");
    char c = p->s[p->pos];
    if (c == '"')
        return abi_jp_string(p, out);
    if (c == '-' || (c >= '0' && c <= '9'))
        return abi_jp_number(p, out);
    if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "true", 4) == 0) {
        p->pos += 4;
        out->kind = ABI_ARG_BOOL;
        out->b = true;
        return 0;
    }
    if (p->len - p->pos >= 5 && memcmp(p->s + p->pos, "false", 5) == 0) {
        p->pos += 5;
        out->kind = ABI_ARG_BOOL;
        out->b = false;
        return 0;
    }
    if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "null", 4) == 0) {
        p->pos += 4;
        out->kind = ABI_ARG_NULL;
        return 0;
    }
    if (c == '{')
        return abi_jp_fail(p, "objects are not supported as arguments (give a tuple as an array)");
    if (c != '[')
        return abi_jp_fail(p, "unexpected character");
    if (depth >= TGX_ABI_MAX_DEPTH)
        return abi_jp_fail(p, "arrays nest too deep");
    p->pos++;
    out->kind = ABI_ARG_ARRAY;
    size_t cap = 0;
    abi_jp_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (out->n == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            struct abi_arg *v = realloc(out->items, ncap * sizeof *v);
            if (v == NULL)
                return -TGX_ERR_NOMEM;
            out->items = v;
            cap = ncap;
        }
        memset(&out->items[out->n], 0, sizeof out->items[0]);
        out->n++;
        int rc = abi_jp_value(p, &out->items[out->n - 1], depth + 1);
        if (rc < 0)
            return rc;
        abi_jp_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return abi_jp_fail(p, "expected ',' or ']'");
    }
}

/* Parse JSON text S (LEN) into *OUT; must be one value, arrays only when ARRAY_ONLY. */
static int abi_jp_parse(const char *s, size_t len, bool array_only, struct abi_arg *out, char *err,
                        size_t errlen)
{
    struct abi_jp p = {s, len, 0, err, errlen};
    memset(out, 0, sizeof *out);
    abi_jp_ws(&p);
    if (array_only && (p.pos >= len || s[p.pos] != '[')) {
        abi_msg(err, errlen, "expected a JSON array");
        return -TGX_ERR_INVAL;
    }
    int rc = abi_jp_value(&p, out, 0);
    if (rc == 0) {
        abi_jp_ws(&p);
        if (p.pos != len)
            rc = abi_jp_fail(&p, "unexpected text after the value");
    }
    if (rc < 0)
        abi_arg_cleanup(out);
    return rc;
}

int tgx_abi_args_parse_json(const char *text, size_t len, struct tgx_abi_args **out, char *err, size_t errlen)
{
    struct tgx_abi_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -TGX_ERR_NOMEM;
    int rc = abi_jp_parse(text, len, true, &a->root, err, errlen);
    if (rc < 0) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static int abi_arg_from_json(const json_t *j, struct abi_arg *out, int depth, char *err, size_t errlen)
{
    char num[64];
    switch (json_typeof(j)) {
    case JSON_STRING:
        return abi_arg_set_text(out, ABI_ARG_TEXT, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return abi_arg_set_text(out, ABI_ARG_NUMBER, num, strlen(num));
    case JSON_REAL: {
        double d = json_real_value(j);
        if (!(fabs(d) <= 9007199254740992.0) || d != floor(d)) {
            abi_msg(err, errlen, "number %g is not an exact integer (give large numbers as strings)", d);
            return -TGX_ERR_INVAL;
        }
        snprintf(num, sizeof num, "%.0f", d);
        return abi_arg_set_text(out, ABI_ARG_NUMBER, num, strlen(num));
    }
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = ABI_ARG_BOOL;
        out->b = json_is_true(j);
        return 0;
    case JSON_NULL:
        out->kind = ABI_ARG_NULL;
        return 0;
    case JSON_ARRAY:
        if (depth >= TGX_ABI_MAX_DEPTH) {
            abi_msg(err, errlen, "arguments nest deeper than %d levels", TGX_ABI_MAX_DEPTH);
            return -TGX_ERR_INVAL;
        }
        out->kind = ABI_ARG_ARRAY;
        out->items = calloc(json_array_size(j) > 0 ? json_array_size(j) : 1, sizeof *out->items);
        if (out->items == NULL)
            return -TGX_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(j); i++) {
            out->n++;
            int rc = abi_arg_from_json(json_array_get(j, i), &out->items[i], depth + 1, err, errlen);
            if (rc < 0)
                return rc;
        }
        return 0;
    case JSON_OBJECT:
        break;
    }
    abi_msg(err, errlen, "objects are not supported as arguments (give a tuple as an array)");
    return -TGX_ERR_INVAL;
}

int tgx_abi_args_from_json(const json_t *array, struct tgx_abi_args **out, char *err, size_t errlen)
{
    if (!json_is_array(array)) {
        abi_msg(err, errlen, "arguments are not a JSON array");
        return -TGX_ERR_INVAL;
    }
    struct tgx_abi_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -TGX_ERR_NOMEM;
    int rc = abi_arg_from_json(array, &a->root, 0, err, errlen);
    if (rc < 0) {
        tgx_abi_args_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* ------------------------------------------------------------------ encoding */

struct abi_enc {
    struct tgx_buf *out;
    struct tgx_abi_error *err;
    char path[160]; /* "args[1][0]" of the value being encoded */
    int top;        /* top-level index being encoded */
};

static int abi_enc_fail(struct abi_enc *e, const struct tgx_abi_type *t, const char *fmt, ...)
    TGX_PRINTF(3, 4);
static int abi_enc_fail(struct abi_enc *e, const struct tgx_abi_type *t, const char *fmt, ...)
{
    if (e->err != NULL) {
        char why[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        e->err->index = e->top;
        snprintf(e->err->message, sizeof e->err->message, "%.60s (%.60s): %.120s", e->path, t->canonical,
                 why);
    }
    return -TGX_ERR_INVAL;
}

/* A short, printable excerpt of argument text for messages. */
static void abi_excerpt(const struct abi_arg *a, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < a->len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)a->text[i];
        out[n++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    if (a->len > 0 && n + 4 >= cap && n < a->len) {
        out[n++] = '.';
        out[n++] = '.';
        out[n++] = '.';
    }
    out[n] = '\0';
}

static void abi_put_word(struct abi_enc *e, const uint8_t w[32])
{
    tgx_buf_append(e->out, w, 32);
}

static void abi_put_u64(struct abi_enc *e, uint64_t v)
{
    uint8_t w[32] = {0};
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
    abi_put_word(e, w);
}

/* Append N bytes and zero padding to a multiple of 32. */
static void abi_put_padded(struct abi_enc *e, const void *data, size_t n)
{
    static const uint8_t zeros[32];
    tgx_buf_append(e->out, data, n);
    if (n % 32 != 0)
        tgx_buf_append(e->out, zeros, 32 - n % 32);
}

/*
 * Read the integer argument A for type T: *NEG and magnitude *MAG.  Text: optional '-', then 0x-hex
 * or decimal digits, spaces around ignored.  Number: JSON number text, integral (exponents allowed).
 */
static int abi_arg_integer(struct abi_enc *e, const struct tgx_abi_type *t, const struct abi_arg *a,
                           bool *neg, struct tgx_u256 *mag)
{
    char ex[48];
    if (a->kind != ABI_ARG_TEXT && a->kind != ABI_ARG_NUMBER)
        return abi_enc_fail(e, t, "expected an integer");
    abi_excerpt(a, ex, sizeof ex);
    const char *s = a->text, *end = a->text + a->len;
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *neg = false;
    if (s < end && *s == '-') {
        *neg = true;
        s++;
    }
    if (s == end)
        return abi_enc_fail(e, t, "\"%s\" is not an integer", ex);
    if (a->kind == ABI_ARG_TEXT) {
        int rc;
        if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            rc = end - s > 2 ? tgx_u256_from_hexn(s, (size_t)(end - s), mag) : -TGX_ERR_INVAL;
        else
            rc = tgx_u256_from_decn(s, (size_t)(end - s), mag);
        if (rc < 0) {
            for (const char *q = s; q < end; q++) {
                if (!isxdigit((unsigned char)*q) && *q != 'x' && *q != 'X')
                    return abi_enc_fail(e, t, "\"%s\" is not a decimal or 0x-hex integer", ex);
            }
            return abi_enc_fail(e, t, "\"%s\" is not a decimal or 0x-hex integer below 2^256", ex);
        }
    } else {
        /* JSON number: digits [. digits] [e [+-] digits] */
        char digits[ABI_MAX_NUMTEXT + 1];
        size_t nd = 0, fracdigits = 0;
        long exp10 = 0;
        const char *q = s;
        bool infrac = false;
        for (; q < end && (isdigit((unsigned char)*q) || *q == '.'); q++) {
            if (*q == '.') {
                infrac = true;
                continue;
            }
            if (infrac)
                fracdigits++;
            if (nd == 0 && *q == '0' && !infrac) /* skip leading zeros of the integer part */
                continue;
            if (nd >= ABI_MAX_NUMTEXT)
                return abi_enc_fail(e, t, "number %s has too many digits", ex);
            digits[nd++] = *q;
        }
        if (q < end && (*q == 'e' || *q == 'E')) {
            q++;
            bool eneg = false;
            if (q < end && (*q == '+' || *q == '-'))
                eneg = *q++ == '-';
            for (; q < end; q++) {
                if (exp10 > 1000)
                    return abi_enc_fail(e, t, "number %s is too large", ex);
                exp10 = exp10 * 10 + (*q - '0');
            }
            if (eneg)
                exp10 = -exp10;
        }
        exp10 -= (long)fracdigits;
        /* value = digits * 10^exp10 */
        while (exp10 < 0 && nd > 0 && digits[nd - 1] == '0') {
            nd--;
            exp10++;
        }
        bool allzero = true;
        for (size_t i = 0; i < nd; i++)
            allzero = allzero && digits[i] == '0';
        if (allzero) {
            *mag = tgx_u256_from_u64(0);
            *neg = false;
            return 0;
        }
        if (exp10 < 0)
            return abi_enc_fail(e, t, "number %s is not an integer", ex);
        if ((size_t)exp10 + nd > TGX_U256_DEC_MAX)
            return abi_enc_fail(e, t, "number %s is out of range", ex);
        while (exp10-- > 0)
            digits[nd++] = '0';
        if (tgx_u256_from_decn(digits, nd, mag) < 0)
            return abi_enc_fail(e, t, "number %s is out of range", ex);
    }
    if (tgx_u256_is_zero(mag))
        *neg = false;
    return 0;
}

static int abi_enc_value(struct abi_enc *e, const struct tgx_abi_type *t, const struct abi_arg *a, int depth);

/* Encode the sequence of N values ITEMS with types TYPES[i] (or ELEM for all) in head/tail layout. */
static int abi_enc_seq(struct abi_enc *e, const struct tgx_abi_type *const *types,
                       const struct tgx_abi_type *elem, const struct abi_arg *items, size_t n, int depth)
{
    size_t start = e->out->len;
    size_t plen = strlen(e->path);
    int rc = 0;
    /* heads */
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct tgx_abi_type *t = types != NULL ? types[i] : elem;
        if (t->dynamic) {
            static const uint8_t zero[32];
            abi_put_word(e, zero); /* patched below */
            continue;
        }
        snprintf(e->path + plen, sizeof e->path - plen, "[%zu]", i);
        if (depth == 0)
            e->top = (int)i;
        rc = abi_enc_value(e, t, &items[i], depth + 1);
    }
    /* tails */
    for (size_t i = 0, head = 0; i < n && rc == 0; i++) {
        const struct tgx_abi_type *t = types != NULL ? types[i] : elem;
        if (t->dynamic) {
            if (tgx_buf_oom(e->out)) {
                rc = -TGX_ERR_NOMEM;
                break;
            }
            uint64_t off = (uint64_t)(e->out->len - start);
            uint8_t *slot = (uint8_t *)e->out->data + start + head;
            memset(slot, 0, 32);
            for (int k = 0; k < 8; k++)
                slot[31 - k] = (uint8_t)(off >> (8 * k));
            snprintf(e->path + plen, sizeof e->path - plen, "[%zu]", i);
            if (depth == 0)
                e->top = (int)i;
            rc = abi_enc_value(e, t, &items[i], depth + 1);
        }
        head += t->head_size;
    }
    e->path[plen] = '\0';
    if (rc == 0 && tgx_buf_oom(e->out))
        rc = -TGX_ERR_NOMEM;
    return rc;
}

/* The array argument A for composite type T: A itself, or JSON array text parsed into *TMP. */
static int abi_arg_array(struct abi_enc *e, const struct tgx_abi_type *t, const struct abi_arg *a,
                         const struct abi_arg **arr, struct abi_arg *tmp)
{
    if (a->kind == ABI_ARG_ARRAY) {
        *arr = a;
        return 0;
    }
    if (a->kind != ABI_ARG_TEXT)
        return abi_enc_fail(e, t, "expected a JSON array");
    char why[160];
    int rc = abi_jp_parse(a->text, a->len, true, tmp, why, sizeof why);
    if (rc == -TGX_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return abi_enc_fail(e, t, "%s", why);
    *arr = tmp;
    return 0;
}

/* Trimmed view of text argument A. */
static void abi_trim(const struct abi_arg *a, const char **s, size_t *n)
{
    const char *p = a->text, *end = a->text + a->len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    *s = p;
    *n = (size_t)(end - p);
}

static int abi_enc_value(struct abi_enc *e, const struct tgx_abi_type *t, const struct abi_arg *a, int depth)
{
    uint8_t w[32] = {0};
    char ex[48];
    const char *s;
    size_t n;
    switch (t->kind) {
    case TGX_ABI_UINT:
    case TGX_ABI_INT: {
        bool neg = false;
        struct tgx_u256 mag = {{0, 0, 0, 0}};
        int rc = abi_arg_integer(e, t, a, &neg, &mag);
        if (rc < 0)
            return rc;
        abi_excerpt(a, ex, sizeof ex);
        if (t->kind == TGX_ABI_UINT) {
            if (neg)
                return abi_enc_fail(e, t, "%s is negative", ex);
            if (tgx_u256_bits(&mag) > t->size)
                return abi_enc_fail(e, t, "%s is out of range (0 to 2^%u-1)", ex, t->size);
        } else {
            struct tgx_u256 lim;
            tgx_u256_pow2(&lim, t->size - 1);
            int c = tgx_u256_cmp(&mag, &lim);
            if ((neg && c > 0) || (!neg && c >= 0))
                return abi_enc_fail(e, t, "%s is out of range (-2^%u to 2^%u-1)", ex, t->size - 1,
                                    t->size - 1);
            if (neg)
                tgx_u256_neg(&mag, &mag);
        }
        tgx_u256_to_be(&mag, w);
        abi_put_word(e, w);
        return 0;
    }
    case TGX_ABI_ADDRESS: {
        if (a->kind != ABI_ARG_TEXT)
            return abi_enc_fail(e, t, "expected a 0x address string");
        abi_trim(a, &s, &n);
        char tmp[43];
        abi_excerpt(a, ex, sizeof ex);
        if (n != 42)
            return abi_enc_fail(e, t, "\"%s\" is not an address (0x and 40 hex digits)", ex);
        memcpy(tmp, s, 42);
        tmp[42] = '\0';
        if (tgx_abi_address_parse(tmp, w + 12) < 0)
            return abi_enc_fail(
                e, t, "\"%s\" is not an address (0x and 40 hex digits, valid EIP-55 checksum if mixed case)",
                ex);
        abi_put_word(e, w);
        return 0;
    }
    case TGX_ABI_BOOL: {
        bool v;
        if (a->kind == ABI_ARG_BOOL) {
            v = a->b;
        } else if (a->kind == ABI_ARG_TEXT || a->kind == ABI_ARG_NUMBER) {
            abi_trim(a, &s, &n);
            if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && *s == '1'))
                v = true;
            else if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && *s == '0'))
                v = false;
            else {
                abi_excerpt(a, ex, sizeof ex);
                return abi_enc_fail(e, t, "\"%s\" is not true or false", ex);
            }
        } else {
            return abi_enc_fail(e, t, "expected true or false");
        }
        w[31] = v ? 1 : 0;
        abi_put_word(e, w);
        return 0;
    }
    case TGX_ABI_FIXED_BYTES:
    case TGX_ABI_BYTES: {
        if (a->kind != ABI_ARG_TEXT)
            return abi_enc_fail(e, t, "expected a 0x-hex string");
        abi_trim(a, &s, &n);
        abi_excerpt(a, ex, sizeof ex);
        size_t before = e->out->len;
        int rc = tgx_abi_hex_decode(s, n, e->out);
        if (rc == -TGX_ERR_NOMEM)
            return rc;
        if (rc < 0)
            return abi_enc_fail(e, t, "\"%s\" is not 0x-hex bytes (an even number of hex digits)", ex);
        size_t len = e->out->len - before;
        if (t->kind == TGX_ABI_FIXED_BYTES) {
            if (len != t->size) {
                e->out->len = before;
                return abi_enc_fail(e, t, "expected exactly %u bytes (0x and %u hex digits), got %zu",
                                    t->size, 2 * t->size, len);
            }
            memcpy(w, e->out->data + before, len);
            e->out->len = before;
            abi_put_word(e, w);
            return 0;
        }
        /* bytes: move the data after its length word */
        uint8_t *tmp = malloc(len > 0 ? len : 1);
        if (tmp == NULL)
            return -TGX_ERR_NOMEM;
        memcpy(tmp, e->out->data + before, len);
        e->out->len = before;
        abi_put_u64(e, len);
        abi_put_padded(e, tmp, len);
        free(tmp);
        return 0;
    }
    case TGX_ABI_STRING:
        if (a->kind != ABI_ARG_TEXT)
            return abi_enc_fail(e, t, "expected a string");
        abi_put_u64(e, a->len);
        abi_put_padded(e, a->text, a->len);
        return 0;
    case TGX_ABI_ARRAY:
    case TGX_ABI_FIXED_ARRAY:
    case TGX_ABI_TUPLE: {
        const struct abi_arg *arr;
        struct abi_arg tmp = {0};
        int rc = abi_arg_array(e, t, a, &arr, &tmp);
        if (rc < 0)
            return rc;
        if (t->kind == TGX_ABI_FIXED_ARRAY && arr->n != t->length)
            rc = abi_enc_fail(e, t, "expected %zu elements, got %zu", t->length, arr->n);
        else if (t->kind == TGX_ABI_TUPLE && arr->n != t->ncomps)
            rc = abi_enc_fail(e, t, "expected %zu tuple components, got %zu", t->ncomps, arr->n);
        else if (t->kind == TGX_ABI_ARRAY && arr->n > ABI_MAX_FIXED)
            rc = abi_enc_fail(e, t, "too many elements (%zu)", arr->n);
        if (rc == 0) {
            if (t->kind == TGX_ABI_ARRAY)
                abi_put_u64(e, arr->n);
            if (t->kind == TGX_ABI_TUPLE)
                rc = abi_enc_seq(e, (const struct tgx_abi_type *const *)t->comps, NULL, arr->items, arr->n,
                                 depth);
            else
                rc = abi_enc_seq(e, NULL, t->elem, arr->items, arr->n, depth);
        }
        abi_arg_cleanup(&tmp);
        return rc;
    }
    }
    return abi_enc_fail(e, t, "unsupported type");
}

int tgx_abi_encode_params(const struct tgx_abi_param *params, size_t n, const struct tgx_abi_args *args,
                          struct tgx_buf *out, struct tgx_abi_error *err)
{
    size_t start = out->len;
    if (err != NULL) {
        err->index = -1;
        err->message[0] = '\0';
    }
    if (args->root.n != n) {
        if (err != NULL)
            snprintf(err->message, sizeof err->message, "expected %zu argument%s, got %zu", n,
                     n == 1 ? "" : "s", args->root.n);
        return -TGX_ERR_INVAL;
    }
    const struct tgx_abi_type **types = calloc(n > 0 ? n : 1, sizeof *types);
    if (types == NULL)
        return -TGX_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        types[i] = params[i].type;
    struct abi_enc e = {.out = out, .err = err, .path = "args", .top = -1};
    int rc = abi_enc_seq(&e, types, NULL, args->root.items, n, 0);
    free(types);
    if (rc < 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
        if (rc == -TGX_ERR_NOMEM && err != NULL)
            snprintf(err->message, sizeof err->message, "out of memory");
    }
    return rc;
}

int tgx_abi_encode_call(const struct tgx_abi_entry *fn, const struct tgx_abi_args *args, struct tgx_buf *out,
                        struct tgx_abi_error *err)
{
    size_t start = out->len;
    if (args->root.n != fn->ninputs) {
        if (err != NULL) {
            err->index = -1;
            snprintf(err->message, sizeof err->message, "%s expects %zu argument%s, got %zu", fn->signature,
                     fn->ninputs, fn->ninputs == 1 ? "" : "s", args->root.n);
        }
        return -TGX_ERR_INVAL;
    }
    tgx_buf_append(out, fn->selector, 4);
    int rc = tgx_abi_encode_params(fn->inputs, fn->ninputs, args, out, err);
    if (rc == 0 && tgx_buf_oom(out))
        rc = -TGX_ERR_NOMEM;
    if (rc < 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return rc;
}

/* ------------------------------------------------------------------ decoding */

struct abi_dec {
    const uint8_t *data;
    size_t len;
    long budget; /* values left to decode */
    struct tgx_abi_error *err;
    int top;
};

static int abi_dec_fail(struct abi_dec *d, const char *fmt, ...) TGX_PRINTF(2, 3);
static int abi_dec_fail(struct abi_dec *d, const char *fmt, ...)
{
    if (d->err != NULL) {
        char why[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        d->err->index = d->top;
        if (d->top >= 0)
            snprintf(d->err->message, sizeof d->err->message, "malformed ABI data in value %d: %.200s",
                     d->top, why);
        else
            snprintf(d->err->message, sizeof d->err->message, "malformed ABI data: %s", why);
    }
    return -TGX_ERR_INVAL;
}

/* The word at POS, or NULL (error set) when it does not fit. */
static const uint8_t *abi_dec_word(struct abi_dec *d, size_t pos)
{
    if (pos > d->len || d->len - pos < 32) {
        abi_dec_fail(d, "needs 32 bytes at offset %zu, the data has %zu", pos, d->len);
        return NULL;
    }
    return d->data + pos;
}

/* The word at POS as a size below the data length (offsets, lengths); -TGX_ERR_INVAL. */
static int abi_dec_size(struct abi_dec *d, size_t pos, size_t *out)
{
    const uint8_t *w = abi_dec_word(d, pos);
    if (w == NULL)
        return -TGX_ERR_INVAL;
    struct tgx_u256 v = tgx_u256_from_be(w);
    uint64_t x;
    if (!tgx_u256_to_u64(&v, &x) || x > d->len)
        return abi_dec_fail(d, "offset or length at %zu is beyond the data", pos);
    *out = (size_t)x;
    return 0;
}

static bool abi_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A NEW "0x..." JSON string of N bytes. */
static json_t *abi_hex_json(const uint8_t *p, size_t n)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_abi_hex_append(&b, p, n);
    json_t *j = tgx_buf_oom(&b) ? NULL : json_stringn(b.data, b.len);
    tgx_buf_cleanup(&b);
    return j;
}

/* A NEW JSON string of the decimal of V, negated (two's complement) when SIGNED and negative. */
static json_t *abi_int_json(const struct tgx_u256 *v, bool is_signed)
{
    char dec[TGX_U256_DEC_MAX + 2];
    if (is_signed && tgx_u256_is_neg(v)) {
        struct tgx_u256 m;
        tgx_u256_neg(&m, v);
        dec[0] = '-';
        tgx_u256_to_dec(&m, dec + 1);
    } else {
        tgx_u256_to_dec(v, dec);
    }
    return json_string(dec);
}

static int abi_dec_value(struct abi_dec *d, const struct tgx_abi_type *t, size_t pos, json_t **out,
                         int depth);

/* Decode a sequence of N values (types TYPES[i] or ELEM) starting at START into array ARR. */
static int abi_dec_seq(struct abi_dec *d, const struct tgx_abi_type *const *types,
                       const struct tgx_abi_type *elem, size_t n, size_t start, json_t *arr, int depth)
{
    size_t head = start;
    for (size_t i = 0; i < n; i++) {
        const struct tgx_abi_type *t = types != NULL ? types[i] : elem;
        json_t *v = NULL;
        int rc;
        if (depth == 0)
            d->top = (int)i;
        if (t->dynamic) {
            size_t off;
            rc = abi_dec_size(d, head, &off);
            if (rc == 0 && off > d->len - start)
                rc = abi_dec_fail(d, "offset %zu at %zu is beyond the data", off, head);
            if (rc == 0)
                rc = abi_dec_value(d, t, start + off, &v, depth + 1);
        } else {
            rc = abi_dec_value(d, t, head, &v, depth + 1);
        }
        if (rc < 0)
            return rc;
        if (json_array_append_new(arr, v) < 0)
            return -TGX_ERR_NOMEM;
        head += t->head_size;
    }
    return 0;
}

static int abi_dec_value(struct abi_dec *d, const struct tgx_abi_type *t, size_t pos, json_t **out, int depth)
{
    if (--d->budget < 0)
        return abi_dec_fail(d, "too many values for the size of the data");
    const uint8_t *w;
    struct tgx_u256 v;
    size_t len;
    *out = NULL;
    switch (t->kind) {
    case TGX_ABI_UINT:
        if ((w = abi_dec_word(d, pos)) == NULL)
            return -TGX_ERR_INVAL;
        v = tgx_u256_from_be(w);
        if (tgx_u256_bits(&v) > t->size)
            return abi_dec_fail(d, "%s value at %zu has high bits set", t->canonical, pos);
        *out = abi_int_json(&v, false);
        break;
    case TGX_ABI_INT: {
        if ((w = abi_dec_word(d, pos)) == NULL)
            return -TGX_ERR_INVAL;
        v = tgx_u256_from_be(w);
        struct tgx_u256 lim, m;
        tgx_u256_pow2(&lim, t->size - 1);
        if (tgx_u256_is_neg(&v)) {
            tgx_u256_neg(&m, &v);
            if (tgx_u256_cmp(&m, &lim) > 0)
                return abi_dec_fail(d, "%s value at %zu is not sign-extended", t->canonical, pos);
        } else if (tgx_u256_cmp(&v, &lim) >= 0) {
            return abi_dec_fail(d, "%s value at %zu is out of range", t->canonical, pos);
        }
        *out = abi_int_json(&v, true);
        break;
    }
    case TGX_ABI_ADDRESS:
        if ((w = abi_dec_word(d, pos)) == NULL)
            return -TGX_ERR_INVAL;
        for (int i = 0; i < 12; i++) {
            if (w[i] != 0)
                return abi_dec_fail(d, "address at %zu has high bits set", pos);
        }
        *out = abi_hex_json(w + 12, 20);
        break;
    case TGX_ABI_BOOL:
        if ((w = abi_dec_word(d, pos)) == NULL)
            return -TGX_ERR_INVAL;
        v = tgx_u256_from_be(w);
        if (tgx_u256_bits(&v) > 1)
            return abi_dec_fail(d, "bool at %zu is neither 0 nor 1", pos);
        *out = json_boolean(w[31] == 1);
        break;
    case TGX_ABI_FIXED_BYTES:
        if ((w = abi_dec_word(d, pos)) == NULL)
            return -TGX_ERR_INVAL;
        for (unsigned i = t->size; i < 32; i++) {
            if (w[i] != 0)
                return abi_dec_fail(d, "%s at %zu has nonzero padding", t->canonical, pos);
        }
        *out = abi_hex_json(w, t->size);
        break;
    case TGX_ABI_BYTES:
    case TGX_ABI_STRING:
        if (abi_dec_size(d, pos, &len) < 0)
            return -TGX_ERR_INVAL;
        if (d->len - (pos + 32) < len)
            return abi_dec_fail(d, "%s of %zu bytes at %zu runs past the data", t->canonical, len, pos);
        if (t->kind == TGX_ABI_BYTES) {
            *out = abi_hex_json(d->data + pos + 32, len);
        } else {
            if (!abi_utf8_valid(d->data + pos + 32, len))
                return abi_dec_fail(d, "string at %zu is not valid UTF-8", pos);
            *out = json_stringn_nocheck((const char *)d->data + pos + 32, len);
        }
        break;
    case TGX_ABI_ARRAY:
    case TGX_ABI_FIXED_ARRAY:
    case TGX_ABI_TUPLE: {
        size_t n = t->kind == TGX_ABI_TUPLE ? t->ncomps : t->length, start = pos;
        if (t->kind == TGX_ABI_ARRAY) {
            if (abi_dec_size(d, pos, &n) < 0)
                return -TGX_ERR_INVAL;
            start = pos + 32;
            if (n > (d->len - start) / t->elem->head_size)
                return abi_dec_fail(d, "array of %zu elements at %zu runs past the data", n, pos);
        }
        json_t *arr = json_array();
        if (arr == NULL)
            return -TGX_ERR_NOMEM;
        int rc = t->kind == TGX_ABI_TUPLE ? abi_dec_seq(d, (const struct tgx_abi_type *const *)t->comps, NULL,
                                                        n, start, arr, depth)
                                          : abi_dec_seq(d, NULL, t->elem, n, start, arr, depth);
        if (rc < 0) {
            json_decref(arr);
            return rc;
        }
        *out = arr;
        break;
    }
    }
    return *out != NULL ? 0 : -TGX_ERR_NOMEM;
}

int tgx_abi_decode_params(const struct tgx_abi_param *params, size_t n, const uint8_t *data, size_t len,
                          json_t **out, struct tgx_abi_error *err)
{
    if (err != NULL) {
        err->index = -1;
        err->message[0] = '\0';
    }
    const struct tgx_abi_type **types = calloc(n > 0 ? n : 1, sizeof *types);
    json_t *arr = json_array();
    if (types == NULL || arr == NULL) {
        free(types);
        json_decref(arr);
        return -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        types[i] = params[i].type;
    struct abi_dec d = {data, len, (long)(len / 32) + 64, err, -1};
    int rc = abi_dec_seq(&d, types, NULL, n, 0, arr, 0);
    free(types);
    if (rc < 0) {
        json_decref(arr);
        if (rc == -TGX_ERR_NOMEM && err != NULL)
            snprintf(err->message, sizeof err->message, "out of memory");
        return rc;
    }
    *out = arr;
    return 0;
}

int tgx_abi_decode_output(const struct tgx_abi_entry *fn, const uint8_t *data, size_t len, json_t **out,
                          struct tgx_abi_error *err)
{
    return tgx_abi_decode_params(fn->outputs, fn->noutputs, data, len, out, err);
}

int tgx_abi_decode_call(const struct tgx_abi_entry *fn, const uint8_t *data, size_t len, json_t **out,
                        struct tgx_abi_error *err)
{
    if (len < 4 || memcmp(data, fn->selector, 4) != 0) {
        if (err != NULL) {
            err->index = -1;
            snprintf(err->message, sizeof err->message, "calldata does not start with the selector of %s",
                     fn->signature);
        }
        return -TGX_ERR_INVAL;
    }
    return tgx_abi_decode_params(fn->inputs, fn->ninputs, data + 4, len - 4, out, err);
}

int tgx_abi_decode_log(const struct tgx_abi_entry *ev, const uint8_t (*topics)[32], size_t ntopics,
                       const uint8_t *data, size_t len, json_t **out, struct tgx_abi_error *err)
{
    size_t nindexed = 0, t0 = ev->anonymous ? 0 : 1;
    for (size_t i = 0; i < ev->ninputs; i++)
        nindexed += ev->inputs[i].indexed ? 1 : 0;
    if (err != NULL) {
        err->index = -1;
        err->message[0] = '\0';
    }
    if (ntopics != nindexed + t0 || (t0 == 1 && memcmp(topics[0], ev->topic, 32) != 0)) {
        if (err != NULL)
            snprintf(err->message, sizeof err->message, "log topics do not match event %s", ev->signature);
        return -TGX_ERR_INVAL;
    }
    /* the non-indexed values, abi-encoded in data */
    struct tgx_abi_param *plain = calloc(ev->ninputs > 0 ? ev->ninputs : 1, sizeof *plain);
    if (plain == NULL)
        return -TGX_ERR_NOMEM;
    size_t nplain = 0;
    for (size_t i = 0; i < ev->ninputs; i++) {
        if (!ev->inputs[i].indexed)
            plain[nplain++] = ev->inputs[i];
    }
    json_t *decoded = NULL, *res = json_array();
    int rc = res == NULL ? -TGX_ERR_NOMEM : tgx_abi_decode_params(plain, nplain, data, len, &decoded, err);
    free(plain);
    size_t ti = t0, pi = 0;
    for (size_t i = 0; rc == 0 && i < ev->ninputs; i++) {
        const struct tgx_abi_type *t = ev->inputs[i].type;
        json_t *v;
        if (!ev->inputs[i].indexed) {
            v = json_incref(json_array_get(decoded, pi++));
        } else if (t->dynamic || t->kind == TGX_ABI_FIXED_ARRAY || t->kind == TGX_ABI_TUPLE) {
            v = abi_hex_json(topics[ti++], 32);
        } else {
            struct abi_dec d = {topics[ti++], 32, 4, err, (int)i};
            rc = abi_dec_value(&d, t, 0, &v, 1);
            if (rc < 0)
                break;
        }
        if (v == NULL || json_array_append_new(res, v) < 0)
            rc = -TGX_ERR_NOMEM;
    }
    json_decref(decoded);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* ------------------------------------------------------------------ reverts */

const char *tgx_abi_panic_reason(uint64_t code)
{
    switch (code) {
    case 0x00:
        return "generic compiler panic";
    case 0x01:
        return "assertion failed";
    case 0x11:
        return "arithmetic underflow or overflow";
    case 0x12:
        return "division or modulo by zero";
    case 0x21:
        return "invalid enum value";
    case 0x22:
        return "incorrectly encoded storage byte array";
    case 0x31:
        return "pop on an empty array";
    case 0x32:
        return "array index out of bounds";
    case 0x41:
        return "out of memory (too much memory allocated)";
    case 0x51:
        return "call to an uninitialized internal function";
    default:
        return "unknown panic code";
    }
}

void tgx_abi_revert_cleanup(struct tgx_abi_revert *r)
{
    if (r == NULL)
        return;
    free(r->message);
    memset(r, 0, sizeof *r);
}

int tgx_abi_decode_revert(const uint8_t *data, size_t len, const struct tgx_abi *abi,
                          struct tgx_abi_revert *out)
{
    static const uint8_t sel_error[4] = {0x08, 0xc3, 0x79, 0xa0};
    static const uint8_t sel_panic[4] = {0x4e, 0x48, 0x7b, 0x71};
    static struct tgx_abi_type t_string = {
        .kind = TGX_ABI_STRING, .dynamic = true, .head_size = 32, .canonical = "string"};
    static const struct tgx_abi_param p_string = {"", &t_string, false};
    struct tgx_buf b;
    json_t *vals = NULL;
    memset(out, 0, sizeof *out);
    tgx_buf_init(&b);
    if (len == 0) {
        out->kind = TGX_ABI_REVERT_EMPTY;
    } else if (len >= 4 && memcmp(data, sel_error, 4) == 0 &&
               tgx_abi_decode_params(&p_string, 1, data + 4, len - 4, &vals, NULL) == 0) {
        out->kind = TGX_ABI_REVERT_ERROR;
        const json_t *s = json_array_get(vals, 0);
        tgx_buf_append(&b, json_string_value(s), json_string_length(s));
    } else if (len >= 4 && memcmp(data, sel_panic, 4) == 0 && len - 4 == 32) {
        out->kind = TGX_ABI_REVERT_PANIC;
        out->code = tgx_u256_from_be(data + 4);
        char hex[TGX_U256_HEX_MAX + 1];
        uint64_t c;
        tgx_u256_to_hex(&out->code, hex);
        tgx_buf_printf(&b, "panic %s: %s", hex,
                       tgx_u256_to_u64(&out->code, &c) ? tgx_abi_panic_reason(c) : "unknown panic code");
    } else {
        const struct tgx_abi_entry *ee = len >= 4 ? tgx_abi_find_error(abi, data) : NULL;
        if (ee != NULL &&
            tgx_abi_decode_params(ee->inputs, ee->ninputs, data + 4, len - 4, &vals, NULL) == 0) {
            out->kind = TGX_ABI_REVERT_CUSTOM;
            out->error = ee;
            tgx_buf_printf(&b, "%s(", ee->name);
            for (size_t i = 0; i < json_array_size(vals); i++) {
                char *txt = json_dumps(json_array_get(vals, i), JSON_COMPACT | JSON_ENCODE_ANY);
                if (txt == NULL) {
                    json_decref(vals);
                    tgx_buf_cleanup(&b);
                    return -TGX_ERR_NOMEM;
                }
                tgx_buf_printf(&b, "%s%s", i > 0 ? "," : "", txt);
                free(txt);
            }
            tgx_buf_putc(&b, ')');
        } else {
            out->kind = TGX_ABI_REVERT_UNKNOWN;
            tgx_abi_hex_append(&b, data, len);
        }
    }
    json_decref(vals);
    if (tgx_buf_oom(&b)) {
        tgx_buf_cleanup(&b);
        return -TGX_ERR_NOMEM;
    }
    out->message = b.len > 0 ? tgx_buf_steal(&b) : strdup("");
    tgx_buf_cleanup(&b);
    return out->message != NULL ? 0 : -TGX_ERR_NOMEM;
}
