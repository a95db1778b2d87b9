/* pg_rows.c: PostgreSQL text-format result rows to REST records (jansson), exact numbers kept. */
#include "pg_rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/jsonnum.h"

int tgx_pg_ts_rfc3339(const char *pg, char *out, size_t outlen)
{
    /* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" (DateStyle ISO, TimeZone UTC) */
    size_t n = strlen(pg);
    if (n < 22 || n + 1 > outlen || pg[10] != ' ' || strcmp(pg + n - 3, "+00") != 0)
        return -1;
    memcpy(out, pg, n - 3);
    out[10] = 'T';
    out[n - 3] = 'Z';
    out[n - 2] = '\0';
    return 0;
}

json_t *tgx_pg_value(const PGresult *res, int row, int col, enum tgx_pgcol_type type)
{
    bool null = PQgetisnull(res, row, col);
    const char *v = PQgetvalue(res, row, col);
    switch (type) {
    case PGC_TEXT:
        return json_string(null ? "" : v);
    case PGC_TEXTN:
        return null ? json_null() : json_string(v);
    case PGC_INT:
    case PGC_INTN: {
        if (null)
            return type == PGC_INT ? json_integer(0) : json_null();
        errno = 0;
        char *end;
        long long x = strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0')
            return tgx_json_rawnum(v); /* a whole numeric beyond int64: exact digits */
        return json_integer(x);
    }
    case PGC_NUM:
        return null ? json_integer(0) : tgx_json_rawnum(v);
    case PGC_NUMN:
        return null ? json_null() : tgx_json_rawnum(v);
    case PGC_BOOL:
        return json_boolean(!null && v[0] == 't');
    case PGC_TS:
    case PGC_TSN: {
        if (null)
            return type == PGC_TS ? json_string(TGX_PG_ZERO_TIME) : json_null();
        char buf[64];
        if (tgx_pg_ts_rfc3339(v, buf, sizeof buf) < 0)
            return json_string(v);
        return json_string(buf);
    }
    case PGC_JSON:
        if (null)
            return json_null();
        return json_loads(v, JSON_DECODE_ANY, NULL);
    case PGC_NULL:
        return json_null();
    }
    return NULL;
}

int tgx_pg_fill(const PGresult *res, int row, const struct tgx_pgcol *cols, size_t ncols, unsigned groups,
                json_t *obj)
{
    for (size_t i = 0; i < ncols && (int)i < PQnfields(res); i++) {
        if ((cols[i].groups & groups) == 0)
            continue;
        json_t *v = tgx_pg_value(res, row, (int)i, cols[i].type);
        if (v == NULL || json_object_set_new(obj, cols[i].name, v) < 0)
            return -1;
    }
    return 0;
}

json_t *tgx_pg_object(const PGresult *res, int row, const struct tgx_pgcol *cols, size_t ncols,
                      unsigned groups)
{
    json_t *obj = json_object();
    if (obj == NULL || tgx_pg_fill(res, row, cols, ncols, groups, obj) < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
