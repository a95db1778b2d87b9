/* pg_rows.h: turning PostgreSQL result rows into REST records (internal to src/store/). */
#ifndef TGX_STORE_PG_ROWS_H
#define TGX_STORE_PG_ROWS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* How a text-format column becomes a JSON value (NULL handling in the name's suffix). */
enum tgx_pgcol_type {
    PGC_TEXT,  /* string; NULL -> "" (Go's zero value) */
    PGC_TEXTN, /* string; NULL -> null */
    PGC_INT,   /* bigint -> integer; NULL -> 0 */
    PGC_INTN,  /* bigint -> integer; NULL -> null */
    PGC_NUM,   /* any number (float8, numeric) -> raw exact number; NULL -> 0 */
    PGC_NUMN,  /* the same; NULL -> null */
    PGC_BOOL,  /* 't'/'f' -> true/false; NULL -> false */
    PGC_TS,    /* timestamptz (ISO, UTC) -> RFC 3339; NULL -> "0001-01-01T00:00:00Z" */
    PGC_TSN,   /* the same; NULL -> null */
    PGC_JSON,  /* json/jsonb text (no integer beyond int64) -> parsed value; NULL -> null */
    PGC_NULL,  /* always null (a contract field we do not fill) */
};

/* One column of a query: its JSON name, conversion, and the objects (bit mask) it goes into;
 * groups 0 means the column is only read by code (a sort key, a flag). */
struct tgx_pgcol {
    const char *name;
    enum tgx_pgcol_type type;
    unsigned groups;
};

/* The zero time of Go, used for NULL timestamps as the original does. */
#define TGX_PG_ZERO_TIME "0001-01-01T00:00:00Z"

/*
 * Convert PostgreSQL's ISO timestamptz text in UTC ("2025-12-06 10:11:12.123456+00") to RFC 3339
 * ("2025-12-06T10:11:12.123456Z") into OUT (OUTLEN bytes).  -1 when it does not look like one.
 */
int tgx_pg_ts_rfc3339(const char *pg, char *out, size_t outlen);
/* The JSON value of column COL of ROW converted as TYPE: a new reference, NULL on oom or bad JSON. */
json_t *tgx_pg_value(const PGresult *res, int row, int col, enum tgx_pgcol_type type);
/*
 * Add to OBJ every column of COLS (column i of the result is COLS[i]) whose groups intersect
 * GROUPS.  0, or -1 on oom / a bad value.
 */
int tgx_pg_fill(const PGresult *res, int row, const struct tgx_pgcol *cols, size_t ncols, unsigned groups,
                json_t *obj);
/* A new object with the columns of GROUPS (see tgx_pg_fill); NULL on failure. */
json_t *tgx_pg_object(const PGresult *res, int row, const struct tgx_pgcol *cols, size_t ncols,
                      unsigned groups);

#endif
