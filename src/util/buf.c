/* buf.c: growable NUL-terminated buffers and vectors of owned strings. */
#include "tgx/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty_string[1] = "";

void tgx_buf_init(struct tgx_buf *b)
{
    b->data = empty_string;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

void tgx_buf_cleanup(struct tgx_buf *b)
{
    if (b->cap > 0)
        free(b->data);
    tgx_buf_init(b);
}

void tgx_buf_reset(struct tgx_buf *b)
{
    b->len = 0;
    if (b->cap > 0)
        b->data[0] = '\0';
    b->oom = false;
}

bool tgx_buf_oom(const struct tgx_buf *b)
{
    return b->oom;
}

/* Make room for N more bytes and the NUL; false (and oom set) when that fails. */
static bool buf_reserve(struct tgx_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (n >= SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->cap > 0 ? b->data : NULL, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    if (b->cap == 0)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return true;
}

void tgx_buf_append(struct tgx_buf *b, const void *data, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tgx_buf_puts(struct tgx_buf *b, const char *s)
{
    tgx_buf_append(b, s, strlen(s));
}

void tgx_buf_putc(struct tgx_buf *b, char c)
{
    tgx_buf_append(b, &c, 1);
}

void tgx_buf_vprintf(struct tgx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void tgx_buf_printf(struct tgx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tgx_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *tgx_buf_str(const struct tgx_buf *b)
{
    return b->data;
}

char *tgx_buf_steal(struct tgx_buf *b)
{
    char *s;
    if (b->oom) {
        s = NULL;
    } else if (b->cap > 0) {
        s = b->data;
    } else {
        s = strdup("");
    }
    if (s == b->data)
        tgx_buf_init(b);
    else
        tgx_buf_cleanup(b);
    return s;
}

int tgx_buf_read_file(struct tgx_buf *b, const char *path)
{
    tgx_buf_reset(b);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -TGX_ERR_IO;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        tgx_buf_append(b, chunk, n);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        errno = saved;
        return -TGX_ERR_IO;
    }
    return b->oom ? -TGX_ERR_NOMEM : 0;
}

void tgx_strv_init(struct tgx_strv *sv)
{
    sv->v = NULL;
    sv->n = 0;
    sv->cap = 0;
}

void tgx_strv_cleanup(struct tgx_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    tgx_strv_init(sv);
}

int tgx_strv_pushn(struct tgx_strv *sv, const char *s, size_t n)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap == 0 ? 8 : sv->cap * 2;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (v == NULL)
            return -TGX_ERR_NOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -TGX_ERR_NOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    sv->v[sv->n++] = copy;
    return 0;
}

int tgx_strv_push(struct tgx_strv *sv, const char *s)
{
    return tgx_strv_pushn(sv, s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tgx_strv_sort(struct tgx_strv *sv)
{
    if (sv->n > 1)
        qsort(sv->v, sv->n, sizeof *sv->v, cmp_str);
}

long tgx_strv_find(const struct tgx_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return (long)i;
    return -1;
}
