/* db.c: a libpq connection that owns every PGresult, keeps the last error, and never leaks a password. */
#include "tgx/db.h"

#include <stdlib.h>
#include <string.h>

#include "tgx/log.h"

struct tgx_db {
    PGconn *conn;
    char *url; /* the URL with its password masked */
    struct tgx_db_error err;
};

/* ---------------------------------------------------------------------------------------------
 * Passwords in URLs
 * ------------------------------------------------------------------------------------------- */

/* A password found in a URL: bytes [off, off + len) of the URL, quotes included. */
struct span {
    size_t off;
    size_t len;
};

#define MAX_SPANS 8

static bool is_uri(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* The password spans of a postgresql:// URI, in order; returns their number. */
static size_t uri_password_spans(const char *url, struct span *spans)
{
    size_t n = 0;
    const char *auth = strstr(url, "://") + 3;
    /* like libpq: user info is whatever precedes the first '@' met before any '/' */
    const char *p = auth;
    while (*p != '\0' && *p != '@' && *p != '/')
        p++;
    if (*p == '@') {
        const char *colon = memchr(auth, ':', (size_t)(p - auth));
        if (colon != NULL && colon + 1 < p)
            spans[n++] = (struct span){(size_t)(colon + 1 - url), (size_t)(p - colon - 1)};
    }
    const char *q = strchr(p, '?');
    while (q != NULL && n < MAX_SPANS) {
        const char *key = q + 1;
        const char *end = key + strcspn(key, "&");
        if (strncmp(key, "password=", 9) == 0 && end > key + 9)
            spans[n++] = (struct span){(size_t)(key + 9 - url), (size_t)(end - key - 9)};
        q = *end == '&' ? end : NULL;
    }
    return n;
}

/* The password spans of a key=value connection string (libpq's grammar), in order. */
static size_t kv_password_spans(const char *url, struct span *spans)
{
    size_t n = 0;
    const char *p = url;
    while (*p != '\0' && n < MAX_SPANS) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        if (*p == '\0')
            break;
        const char *key = p;
        while (*p != '\0' && *p != '=' && strchr(" \t\n\r\f\v", *p) == NULL)
            p++;
        size_t keylen = (size_t)(p - key);
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        bool secret = keylen == 8 && strncmp(key, "password", 8) == 0;
        if (*p != '=') {
            /* not key=value: libpq refuses it; hide everything after a bare "password" */
            if (secret && *p != '\0')
                spans[n++] = (struct span){(size_t)(p - url), strlen(p)};
            continue;
        }
        p++;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        const char *val = p;
        if (*p == '\'') {
            p++;
            while (*p != '\0' && *p != '\'') {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                p++;
            }
            if (*p == '\'')
                p++;
        } else {
            while (*p != '\0' && strchr(" \t\n\r\f\v", *p) == NULL) {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                p++;
            }
        }
        if (secret && p > val)
            spans[n++] = (struct span){(size_t)(val - url), (size_t)(p - val)};
    }
    return n;
}

static size_t password_spans(const char *url, struct span *spans)
{
    return is_uri(url) ? uri_password_spans(url, spans) : kv_password_spans(url, spans);
}

void tgx_db_mask_url(const char *url, struct tgx_buf *out)
{
    struct span spans[MAX_SPANS];
    size_t n = password_spans(url, spans);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        tgx_buf_append(out, url + at, spans[i].off - at);
        tgx_buf_puts(out, "***");
        at = spans[i].off + spans[i].len;
    }
    tgx_buf_puts(out, url + at);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The forms of a password span that libpq may echo: as written, percent-decoded, unquoted. */
static int password_forms(const char *url, const struct span *s, struct tgx_strv *forms)
{
    const char *raw = url + s->off;
    int rc = tgx_strv_pushn(forms, raw, s->len);
    if (rc < 0)
        return rc;
    struct tgx_buf dec;
    tgx_buf_init(&dec);
    size_t from = 0, to = s->len;
    if (s->len >= 2 && raw[0] == '\'' && raw[s->len - 1] == '\'') {
        from = 1;
        to = s->len - 1;
    }
    for (size_t i = from; i < to; i++) {
        if (raw[i] == '%' && i + 2 < to && hex_digit(raw[i + 1]) >= 0 && hex_digit(raw[i + 2]) >= 0) {
            tgx_buf_putc(&dec, (char)(hex_digit(raw[i + 1]) << 4 | hex_digit(raw[i + 2])));
            i += 2;
        } else if (raw[i] == '\\' && !is_uri(url) && i + 1 < to) {
            tgx_buf_putc(&dec, raw[++i]);
        } else {
            tgx_buf_putc(&dec, raw[i]);
        }
    }
    rc = tgx_buf_oom(&dec) ? -TGX_ERR_NOMEM : 0;
    if (rc == 0 && dec.len > 0 && tgx_strv_find(forms, dec.data) < 0)
        rc = tgx_strv_push(forms, dec.data);
    tgx_buf_cleanup(&dec);
    return rc;
}

void tgx_db_redact(const char *text, const char *url, struct tgx_buf *out)
{
    struct span spans[MAX_SPANS];
    size_t n = password_spans(url, spans);
    struct tgx_strv forms;
    tgx_strv_init(&forms);
    for (size_t i = 0; i < n; i++) {
        if (password_forms(url, &spans[i], &forms) < 0) {
            /* cannot build the list: show nothing rather than a password */
            tgx_buf_puts(out, "(message hidden)");
            tgx_strv_cleanup(&forms);
            return;
        }
    }
    const char *p = text;
    while (*p != '\0') {
        size_t best = 0;
        for (size_t i = 0; i < forms.n; i++) {
            size_t len = strlen(forms.v[i]);
            if (len > best && strncmp(p, forms.v[i], len) == 0)
                best = len;
        }
        if (best > 0) {
            tgx_buf_puts(out, "***");
            p += best;
        } else {
            tgx_buf_putc(out, *p++);
        }
    }
    tgx_strv_cleanup(&forms);
}

/* Append libpq message MSG as one line: lines joined by "; ", tabs and the final newline dropped. */
static void append_one_line(struct tgx_buf *out, const char *msg)
{
    bool sep = false;
    for (const char *p = msg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r') {
            sep = true;
            continue;
        }
        if (sep) {
            while (*p == '\t' || *p == ' ')
                p++;
            if (*p == '\0')
                break;
            tgx_buf_puts(out, "; ");
            sep = false;
        }
        tgx_buf_putc(out, *p);
    }
}

/* Append libpq message MSG, about URL, as one redacted line. */
static void append_redacted(struct tgx_buf *out, const char *msg, const char *url)
{
    struct tgx_buf line;
    tgx_buf_init(&line);
    append_one_line(&line, msg != NULL ? msg : "");
    tgx_db_redact(tgx_buf_str(&line), url, out);
    tgx_buf_cleanup(&line);
}

/* ---------------------------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------------------------- */

static void error_clear(struct tgx_db_error *e)
{
    free(e->message);
    free(e->detail);
    free(e->hint);
    free(e->context);
    memset(e, 0, sizeof *e);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Record the error of RES (NULL: the connection's error) as DB's last error. */
static void error_set(struct tgx_db *db, const PGresult *res)
{
    struct tgx_db_error *e = &db->err;
    error_clear(e);
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (primary != NULL) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        snprintf(e->sqlstate, sizeof e->sqlstate, "%s", state != NULL ? state : "");
        e->message = strdup(primary);
        e->detail = dup_or_null(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
        e->hint = dup_or_null(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
        e->context = dup_or_null(PQresultErrorField(res, PG_DIAG_CONTEXT));
        e->position = pos != NULL ? atoi(pos) : 0;
        return;
    }
    /* a client-side failure (lost connection, out of memory): libpq's text */
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(db->conn);
    struct tgx_buf b;
    tgx_buf_init(&b);
    append_one_line(&b, msg != NULL && msg[0] != '\0' ? msg : "unknown libpq error");
    e->message = tgx_buf_steal(&b);
}

/* libpq's notice receiver: the server's notices and warnings go to the log. */
static void notice_to_log(void *arg, const PGresult *res)
{
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (primary == NULL)
        return;
    if (severity != NULL && strcmp(severity, "WARNING") == 0)
        tgx_log_warning("db", "server warning: %s", primary);
    else
        tgx_log_info("db", "server %s: %s", severity != NULL ? severity : "notice", primary);
}

int tgx_db_check_url(const char *url, struct tgx_buf *errmsg)
{
    char *perr = NULL;
    PQconninfoOption *parsed = PQconninfoParse(url, &perr);
    if (parsed == NULL) {
        tgx_buf_puts(errmsg, "invalid database URL: ");
        append_redacted(errmsg, perr != NULL ? perr : "out of memory", url);
        int rc = perr != NULL ? -TGX_ERR_INVAL : -TGX_ERR_NOMEM;
        PQfreemem(perr);
        return rc;
    }
    PQconninfoFree(parsed);
    return 0;
}

int tgx_db_connect(const char *url, const char *appname, struct tgx_db **out, struct tgx_buf *errmsg)
{
    *out = NULL;
    int rc = tgx_db_check_url(url, errmsg);
    if (rc < 0)
        return rc;

    struct tgx_db *db = calloc(1, sizeof *db);
    struct tgx_buf masked;
    tgx_buf_init(&masked);
    tgx_db_mask_url(url, &masked);
    if (db == NULL || (db->url = tgx_buf_steal(&masked)) == NULL) {
        free(db);
        tgx_buf_puts(errmsg, "out of memory");
        return -TGX_ERR_NOMEM;
    }

    /* keywords before dbname are defaults the URL may override; the rest are fallbacks */
    const char *const keys[] = {"connect_timeout", "client_encoding", "dbname", "fallback_application_name",
                                NULL};
    const char *const vals[] = {"10", "UTF8", url, appname, NULL};
    tgx_log_debug("db", "connecting to %s", db->url);
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        tgx_buf_puts(errmsg, "could not connect to the database: ");
        append_redacted(errmsg, db->conn != NULL ? PQerrorMessage(db->conn) : "out of memory", url);
        tgx_db_free(db);
        return -TGX_ERR_DB;
    }
    PQsetNoticeReceiver(db->conn, notice_to_log, NULL);
    if (tgx_db_exec(db, "SET client_min_messages = warning") < 0) {
        tgx_buf_printf(errmsg, "could not configure the connection: %s",
                       db->err.message != NULL ? db->err.message : "out of memory");
        tgx_db_free(db);
        return -TGX_ERR_DB;
    }
    *out = db;
    return 0;
}

void tgx_db_free(struct tgx_db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL)
        PQfinish(db->conn);
    error_clear(&db->err);
    free(db->url);
    free(db);
}

/* Check RES (owned; cleared here unless it succeeded): 0 when it succeeded, else -TGX_ERR_DB. */
static int check_result(struct tgx_db *db, PGresult *res)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
        return 0;
    error_set(db, res);
    PQclear(res);
    return -TGX_ERR_DB;
}

int tgx_db_exec(struct tgx_db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    int rc = check_result(db, res);
    if (rc == 0)
        PQclear(res);
    return rc;
}

int tgx_db_query(struct tgx_db *db, const char *sql, int nparams, const char *const *params,
                 tgx_db_result_fn fn, void *arg)
{
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    int rc = check_result(db, res);
    if (rc < 0)
        return rc;
    rc = fn != NULL ? fn(res, arg) : 0;
    PQclear(res);
    return rc;
}

const struct tgx_db_error *tgx_db_last_error(const struct tgx_db *db)
{
    return &db->err;
}

bool tgx_db_in_transaction(const struct tgx_db *db)
{
    PGTransactionStatusType st = PQtransactionStatus(db->conn);
    return st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE;
}

const char *tgx_db_url(const struct tgx_db *db)
{
    return db->url;
}
