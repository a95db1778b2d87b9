/* chains.c: the chain table: CHAIN_ID=URL specs parsed once at startup, looked up by chain id. */
#include "tgx/chains.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tgx_chains {
    struct tgx_chain *v; /* v[i].url owned */
    size_t n, cap;
};

/* Write a message into ERR (may be NULL) and return -TGX_ERR_INVAL. */
static int chains_fail(char *err, size_t errlen, const char *fmt, ...) TGX_PRINTF(3, 4);
static int chains_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -TGX_ERR_INVAL;
}

int tgx_chain_id_parse(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return -TGX_ERR_INVAL;
    uint64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -TGX_ERR_INVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
            return -TGX_ERR_INVAL;
        v = v * 10 + d;
    }
    if (v == 0)
        return -TGX_ERR_INVAL;
    *out = v;
    return 0;
}

/*
 * Split SPEC into a chain id and a trimmed URL copy (*URL new, caller frees).
 * -TGX_ERR_INVAL with ERR, -TGX_ERR_NOMEM.
 */
static int chains_split(const char *spec, uint64_t *id, char **url, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL)
        return chains_fail(err, errlen, "invalid RPC spec \"%s\": expected CHAIN_ID=URL", spec);
    const char *a = spec, *b = eq;
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    char idtext[24];
    size_t idlen = (size_t)(b - a);
    if (idlen == 0 || idlen >= sizeof idtext)
        return chains_fail(err, errlen, "invalid chain id in RPC spec \"%s\"", spec);
    memcpy(idtext, a, idlen);
    idtext[idlen] = '\0';
    if (tgx_chain_id_parse(idtext, id) < 0)
        return chains_fail(err, errlen, "invalid chain id \"%s\": expected a decimal number from 1 to 2^63-1",
                           idtext);
    const char *u = eq + 1, *e = eq + strlen(eq);
    while (u < e && isspace((unsigned char)*u))
        u++;
    while (e > u && isspace((unsigned char)e[-1]))
        e--;
    size_t ulen = (size_t)(e - u);
    size_t scheme = 0;
    if (ulen > 7 && strncasecmp(u, "http://", 7) == 0)
        scheme = 7;
    else if (ulen > 8 && strncasecmp(u, "https://", 8) == 0)
        scheme = 8;
    if (scheme == 0)
        return chains_fail(err, errlen,
                           "invalid RPC URL for chain %s: expected http:// or https:// and a host", idtext);
    for (size_t i = 0; i < ulen; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= 0x20 || c >= 0x7f)
            return chains_fail(err, errlen,
                               "invalid RPC URL for chain %s: it contains a space or control character",
                               idtext);
    }
    if (u[scheme] == '/' || u[scheme] == ':' || u[scheme] == '?' || u[scheme] == '#')
        return chains_fail(err, errlen, "invalid RPC URL for chain %s: no host", idtext);
    *url = strndup(u, ulen);
    return *url != NULL ? 0 : -TGX_ERR_NOMEM;
}

int tgx_chains_check_spec(const char *spec, char *err, size_t errlen)
{
    uint64_t id;
    char *url = NULL;
    int rc = chains_split(spec, &id, &url, err, errlen);
    free(url);
    return rc;
}

int tgx_chains_create(struct tgx_chains **out)
{
    *out = calloc(1, sizeof **out);
    return *out != NULL ? 0 : -TGX_ERR_NOMEM;
}

void tgx_chains_free(struct tgx_chains *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free((char *)t->v[i].url);
    free(t->v);
    free(t);
}

int tgx_chains_add(struct tgx_chains *t, const char *spec, char *err, size_t errlen)
{
    uint64_t id;
    char *url;
    int rc = chains_split(spec, &id, &url, err, errlen);
    if (rc < 0)
        return rc;
    if (tgx_chains_find_url(t, id) != NULL) {
        free(url);
        return chains_fail(err, errlen, "chain %llu is configured twice", (unsigned long long)id);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        struct tgx_chain *v = realloc(t->v, cap * sizeof *v);
        if (v == NULL) {
            free(url);
            return -TGX_ERR_NOMEM;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n].chain_id = id;
    t->v[t->n].url = url;
    t->n++;
    return 0;
}

int tgx_chains_add_list(struct tgx_chains *t, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char *item = strndup(p, n);
        if (item == NULL)
            return -TGX_ERR_NOMEM;
        bool blank = true;
        for (size_t i = 0; i < n; i++)
            blank = blank && isspace((unsigned char)item[i]);
        int rc = blank ? 0 : tgx_chains_add(t, item, err, errlen);
        free(item);
        if (rc < 0)
            return rc;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

const char *tgx_chains_find_url(const struct tgx_chains *t, uint64_t chain_id)
{
    for (size_t i = 0; t != NULL && i < t->n; i++) {
        if (t->v[i].chain_id == chain_id)
            return t->v[i].url;
    }
    return NULL;
}

size_t tgx_chains_count(const struct tgx_chains *t)
{
    return t != NULL ? t->n : 0;
}

const struct tgx_chain *tgx_chains_at(const struct tgx_chains *t, size_t i)
{
    return i < tgx_chains_count(t) ? &t->v[i] : NULL;
}
