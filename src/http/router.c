/* router.c: the route table compiled for matching; static segments win over parameters. */
#include <stdlib.h>
#include <string.h>

#include "tgx/http.h"
#include "tgx/log.h"

/*
 * Routes are grouped by segment count and, inside a group, sorted by their "shape": a bit string
 * with a 1 for each parameter segment, most significant bit first.  The first route of the sorted
 * group that matches a path is then exactly the one a radix tree with "static first, backtrack on
 * failure" would pick: at the first position where two matching routes differ, the static one has
 * the 0 bit.  A table of some 50 routes needs no more than this.
 */
struct compiled {
    const struct tgx_route *route;
    size_t nseg;
    uint32_t shape; /* bit (nseg-1-i) set when segment i is a parameter */
    char *copy;     /* the pattern with every '/' turned into a NUL: seg[] point into it */
    const char *seg[TGX_HTTP_MAX_SEGMENTS];
    size_t seglen[TGX_HTTP_MAX_SEGMENTS];
};

struct tgx_http_router {
    struct compiled *c;
    size_t n;
};

static int cmp_compiled(const void *a, const void *b)
{
    const struct compiled *x = a, *y = b;
    if (x->nseg != y->nseg)
        return x->nseg < y->nseg ? -1 : 1;
    if (x->shape != y->shape)
        return x->shape < y->shape ? -1 : 1;
    return 0;
}

/* Split PATTERN into C; -TGX_ERR_INVAL for a malformed pattern, -TGX_ERR_NOMEM. */
static int compile_one(const struct tgx_route *r, struct compiled *c)
{
    char *p;
    size_t nparams = 0;

    memset(c, 0, sizeof *c);
    c->route = r;
    if (r->pattern == NULL || r->pattern[0] != '/' || r->method == NULL || r->fn == NULL)
        return -TGX_ERR_INVAL;
    c->copy = strdup(r->pattern + 1);
    if (c->copy == NULL)
        return -TGX_ERR_NOMEM;
    p = c->copy;
    for (;;) {
        char *e = strchr(p, '/');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (len == 0 || c->nseg == TGX_HTTP_MAX_SEGMENTS)
            return -TGX_ERR_INVAL;
        if (p[0] == ':' && (len == 1 || ++nparams > TGX_HTTP_MAX_PARAMS))
            return -TGX_ERR_INVAL;
        c->seg[c->nseg] = p;
        c->seglen[c->nseg] = len;
        c->nseg++;
        if (e == NULL)
            break;
        *e = '\0';
        p = e + 1;
    }
    for (size_t i = 0; i < c->nseg; i++)
        if (c->seg[i][0] == ':')
            c->shape |= 1u << (c->nseg - 1 - i);
    return 0;
}

static bool same_pattern(const struct compiled *a, const struct compiled *b)
{
    if (a->nseg != b->nseg || a->shape != b->shape || strcmp(a->route->method, b->route->method) != 0)
        return false;
    for (size_t i = 0; i < a->nseg; i++) {
        if (a->seg[i][0] == ':')
            continue;
        if (strcmp(a->seg[i], b->seg[i]) != 0)
            return false;
    }
    return true;
}

int tgx_http_router_create(const struct tgx_route *routes, size_t n, struct tgx_http_router **out)
{
    struct tgx_http_router *r;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return -TGX_ERR_NOMEM;
    r->c = calloc(n ? n : 1, sizeof *r->c);
    if (r->c == NULL) {
        free(r);
        return -TGX_ERR_NOMEM;
    }
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        int rc = compile_one(&routes[i], &r->c[i]);
        if (rc == -TGX_ERR_NOMEM) {
            tgx_http_router_free(r);
            return rc;
        }
        if (rc < 0) {
            tgx_log_error("http", "invalid route pattern \"%s %s\"",
                          routes[i].method ? routes[i].method : "(null)",
                          routes[i].pattern ? routes[i].pattern : "(null)");
            tgx_http_router_free(r);
            return -TGX_ERR_INVAL;
        }
    }
    qsort(r->c, n, sizeof *r->c, cmp_compiled);
    for (size_t i = 0; i + 1 < n; i++) {
        for (size_t j = i + 1; j < n && r->c[j].nseg == r->c[i].nseg && r->c[j].shape == r->c[i].shape; j++) {
            if (same_pattern(&r->c[i], &r->c[j])) {
                tgx_log_error("http", "route \"%s %s\" conflicts with \"%s %s\"", r->c[i].route->method,
                              r->c[i].route->pattern, r->c[j].route->method, r->c[j].route->pattern);
                tgx_http_router_free(r);
                return -TGX_ERR_INVAL;
            }
        }
    }
    *out = r;
    return 0;
}

void tgx_http_router_free(struct tgx_http_router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->c[i].copy);
    free(r->c);
    free(r);
}

int tgx_http_router_match(const struct tgx_http_router *r, const char *method, const char *path,
                          struct tgx_http_match *m)
{
    char *segs[TGX_HTTP_MAX_SEGMENTS];
    size_t nseg = 0, plen;
    char *p;

    m->route = NULL;
    m->nparams = 0;
    if (path == NULL || path[0] != '/' || method == NULL)
        return -TGX_ERR_NOTFOUND;
    plen = strlen(path);
    if (plen >= sizeof m->buf)
        return -TGX_ERR_NOTFOUND;
    memcpy(m->buf, path, plen + 1);
    p = m->buf + 1;
    for (;;) {
        char *e = strchr(p, '/');
        if (nseg == TGX_HTTP_MAX_SEGMENTS)
            return -TGX_ERR_NOTFOUND;
        segs[nseg++] = p;
        if (e == NULL)
            break;
        *e = '\0';
        p = e + 1;
    }
    for (size_t i = 0; i < nseg; i++)
        if (segs[i][0] == '\0')
            return -TGX_ERR_NOTFOUND; /* "//" or a trailing slash */

    for (size_t k = 0; k < r->n; k++) {
        const struct compiled *c = &r->c[k];
        size_t i;
        if (c->nseg < nseg)
            continue;
        if (c->nseg > nseg)
            break;
        if (strcmp(c->route->method, method) != 0)
            continue;
        for (i = 0; i < nseg; i++) {
            if (c->seg[i][0] == ':')
                continue;
            if (strcmp(segs[i], c->seg[i]) != 0)
                break;
        }
        if (i < nseg)
            continue;
        m->route = c->route;
        for (i = 0; i < nseg; i++) {
            if (c->seg[i][0] != ':')
                continue;
            m->names[m->nparams] = c->seg[i] + 1;
            m->values[m->nparams] = segs[i];
            m->nparams++;
        }
        return 0;
    }
    return -TGX_ERR_NOTFOUND;
}

/* The value of parameter NAME in M, or NULL. */
const char *tgx_http_match_param(const struct tgx_http_match *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0)
            return m->values[i];
    return NULL;
}
