/* buf.h: a growable NUL-terminated byte buffer and a vector of owned strings. */
#ifndef TGX_BUF_H
#define TGX_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "tgx/err.h"

/*
 * A growable buffer, embedded by its owner (init/cleanup).  Like PostgreSQL's PQExpBuffer it is
 * "sticky broken": when an append cannot allocate, the buffer remembers it, later appends do
 * nothing, and tgx_buf_oom() reports it once at the end; so message building needs no check per
 * call.  data is always NUL-terminated (an empty buffer's data is "").
 */
struct tgx_buf {
    char *data; /* owned; NUL-terminated */
    size_t len; /* bytes before the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an append failed for lack of memory */
};

/* Initialise an empty buffer (allocates nothing). */
void tgx_buf_init(struct tgx_buf *b);
/* Free the buffer's memory; the buffer is empty and usable again afterwards. */
void tgx_buf_cleanup(struct tgx_buf *b);
/* Empty the buffer, keeping its memory and clearing the oom flag. */
void tgx_buf_reset(struct tgx_buf *b);
/* True when an append failed for lack of memory since the last reset. */
bool tgx_buf_oom(const struct tgx_buf *b);
/* Append N bytes of DATA. */
void tgx_buf_append(struct tgx_buf *b, const void *data, size_t n);
/* Append the string S. */
void tgx_buf_puts(struct tgx_buf *b, const char *s);
/* Append one byte. */
void tgx_buf_putc(struct tgx_buf *b, char c);
/* Append printf-formatted text. */
void tgx_buf_printf(struct tgx_buf *b, const char *fmt, ...) TGX_PRINTF(2, 3);
/* Append printf-formatted text from a va_list. */
void tgx_buf_vprintf(struct tgx_buf *b, const char *fmt, va_list ap) TGX_PRINTF(2, 0);
/* The contents as a string: borrowed, valid until the next change of B. */
const char *tgx_buf_str(const struct tgx_buf *b);
/* Take the contents as a new heap string (the caller frees it); B is left empty.  NULL on oom. */
char *tgx_buf_steal(struct tgx_buf *b) TGX_MUSTCHECK;
/* Replace the contents with the whole file PATH; -TGX_ERR_IO (errno set) or -TGX_ERR_NOMEM. */
int tgx_buf_read_file(struct tgx_buf *b, const char *path) TGX_MUSTCHECK;

/* A vector of owned strings, embedded by its owner (init/cleanup). */
struct tgx_strv {
    char **v;   /* owned strings, v[0] .. v[n-1] */
    size_t n;   /* number of strings */
    size_t cap; /* slots allocated */
};

/* Initialise an empty vector (allocates nothing). */
void tgx_strv_init(struct tgx_strv *sv);
/* Free every string and the vector. */
void tgx_strv_cleanup(struct tgx_strv *sv);
/* Append a copy of S; -TGX_ERR_NOMEM. */
int tgx_strv_push(struct tgx_strv *sv, const char *s) TGX_MUSTCHECK;
/* Append a copy of the N bytes at S (plus a NUL); -TGX_ERR_NOMEM. */
int tgx_strv_pushn(struct tgx_strv *sv, const char *s, size_t n) TGX_MUSTCHECK;
/* Sort the strings with strcmp. */
void tgx_strv_sort(struct tgx_strv *sv);
/* The index of the first string equal to S, or -1. */
long tgx_strv_find(const struct tgx_strv *sv, const char *s);

#endif
