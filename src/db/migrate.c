/* migrate.c: `tgxd migrate`: forward-only migrations/ then one-transaction reload of sql/. */
#include "tgx/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tgx/db.h"
#include "tgx/log.h"

#ifndef TGX_SHAREDIR
#define TGX_SHAREDIR "."
#endif

#define LOG_SUBJECT "migrate"

/* The bookkeeping the runner creates before anything else (0001_core.sql relies on it). */
static const char SQL_BOOTSTRAP[] = "CREATE SCHEMA IF NOT EXISTS tgx;\n"
                                    "CREATE TABLE IF NOT EXISTS tgx.schema_migrations (\n"
                                    "    version    integer PRIMARY KEY,\n"
                                    "    name       text NOT NULL,\n"
                                    "    checksum   text NOT NULL,\n"
                                    "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
                                    "    applied_by text NOT NULL DEFAULT session_user\n"
                                    ");\n"
                                    "COMMENT ON TABLE tgx.schema_migrations IS "
                                    "'Applied migrations/ files: version, name, hex SHA-256 of the file; "
                                    "written by tgxd migrate';";

static const char SQL_TRY_LOCK[] = "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)";
static const char SQL_LOCK[] = "SELECT pg_catalog.pg_advisory_lock($1::bigint)";
static const char SQL_UNLOCK[] = "SELECT pg_catalog.pg_advisory_unlock($1::bigint)";

static const char SQL_APPLIED[] = "SELECT version, name, checksum, applied_at::text "
                                  "FROM tgx.schema_migrations ORDER BY version";
enum { COL_APPLIED_VERSION, COL_APPLIED_NAME, COL_APPLIED_CHECKSUM, COL_APPLIED_AT };

static const char SQL_RECORD[] = "INSERT INTO tgx.schema_migrations (version, name, checksum) "
                                 "VALUES ($1::integer, $2, $3)";

/* Run before every file, so each starts from the session defaults whatever the previous one SET. */
static const char SQL_FILE_PROLOGUE[] = "RESET ALL; SET client_min_messages = warning";

static const char HINT_NAMES[] = "Migration files are named NNNN_name.sql: four digits, an underscore, "
                                 "a name of letters, digits, _ or -.";

/* ---------------------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------------------- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int tgx_migrate_parse_name(const char *name, int *version)
{
    size_t len = strlen(name);
    /* NNNN _ at least one name character .sql */
    if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
        return -TGX_ERR_INVAL;
    int v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -TGX_ERR_INVAL;
        v = v * 10 + (name[i] - '0');
    }
    for (size_t i = 5; i < len - 4; i++)
        if (!is_name_char(name[i]))
            return -TGX_ERR_INVAL;
    if (v == 0)
        return -TGX_ERR_INVAL;
    *version = v;
    return 0;
}

void tgx_migrate_set_cleanup(struct tgx_migration_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].name);
        free(set->v[i].text);
    }
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

static int cmp_migration(const void *a, const void *b)
{
    const struct tgx_migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* The entries of directory DIR except . and .. into NAMES, sorted; -TGX_ERR_IO with ERRMSG. */
static int list_dir(const char *dir, struct tgx_strv *names, struct tgx_buf *errmsg)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        tgx_buf_printf(errmsg, "could not open directory \"%s\": %s", dir, strerror(errno));
        return -TGX_ERR_IO;
    }
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = tgx_strv_push(names, de->d_name);
        errno = 0;
    }
    if (rc == 0 && errno != 0) {
        tgx_buf_printf(errmsg, "could not read directory \"%s\": %s", dir, strerror(errno));
        rc = -TGX_ERR_IO;
    } else if (rc < 0) {
        tgx_buf_puts(errmsg, "out of memory");
    }
    closedir(d);
    tgx_strv_sort(names);
    return rc;
}

int tgx_migrate_scan(const char *dir, struct tgx_migration_set *set, struct tgx_buf *errmsg)
{
    struct tgx_strv names;
    tgx_strv_init(&names);
    set->v = NULL;
    set->n = 0;
    int rc = list_dir(dir, &names, errmsg);
    if (rc == 0 && names.n > 0 && (set->v = calloc(names.n, sizeof *set->v)) == NULL) {
        tgx_buf_puts(errmsg, "out of memory");
        rc = -TGX_ERR_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        int version;
        if (tgx_migrate_parse_name(names.v[i], &version) < 0) {
            tgx_buf_printf(errmsg, "unexpected file \"%s\" in %s\nHINT:  %s", names.v[i], dir, HINT_NAMES);
            rc = -TGX_ERR_INVAL;
            break;
        }
        set->v[set->n].version = version;
        set->v[set->n].name = names.v[i];
        names.v[i] = NULL; /* moved into the set */
        set->n++;
    }
    if (set->n > 1)
        qsort(set->v, set->n, sizeof *set->v, cmp_migration);
    for (size_t i = 1; rc == 0 && i < set->n; i++) {
        if (set->v[i].version == set->v[i - 1].version) {
            tgx_buf_printf(errmsg, "migrations \"%s\" and \"%s\" have the same version %04d",
                           set->v[i - 1].name, set->v[i].name, set->v[i].version);
            rc = -TGX_ERR_INVAL;
        }
    }
    tgx_strv_cleanup(&names);
    return rc;
}

/* True when NAME is a plain file name ending in .sql (no directory part, not hidden). */
static bool is_sql_file_name(const char *name)
{
    size_t len = strlen(name);
    return len > 4 && strcmp(name + len - 4, ".sql") == 0 && name[0] != '.' && strchr(name, '/') == NULL;
}

int tgx_migrate_parse_install_list(const char *text, struct tgx_strv *listed, struct tgx_buf *errmsg)
{
    int lineno = 0;
    const char *p = text;
    while (*p != '\0') {
        const char *eol = p + strcspn(p, "\n");
        const char *end = memchr(p, '#', (size_t)(eol - p));
        lineno++;
        if (end == NULL)
            end = eol;
        while (p < end && strchr(" \t\r\f\v", *p) != NULL)
            p++;
        while (end > p && strchr(" \t\r\f\v", end[-1]) != NULL)
            end--;
        if (end > p) {
            int len = (int)(end - p);
            struct tgx_buf name;
            tgx_buf_init(&name);
            tgx_buf_append(&name, p, (size_t)(end - p));
            int rc = 0;
            if (tgx_buf_oom(&name)) {
                tgx_buf_puts(errmsg, "out of memory");
                rc = -TGX_ERR_NOMEM;
            } else if (strpbrk(name.data, " \t\r\f\v") != NULL || !is_sql_file_name(name.data)) {
                tgx_buf_printf(errmsg,
                               "install.list line %d: \"%.*s\" is not the name of a .sql file of sql/",
                               lineno, len, p);
                rc = -TGX_ERR_INVAL;
            } else if (tgx_strv_find(listed, name.data) >= 0) {
                tgx_buf_printf(errmsg, "install.list line %d: \"%s\" is listed twice", lineno, name.data);
                rc = -TGX_ERR_INVAL;
            } else if (tgx_strv_push(listed, name.data) < 0) {
                tgx_buf_puts(errmsg, "out of memory");
                rc = -TGX_ERR_NOMEM;
            }
            tgx_buf_cleanup(&name);
            if (rc < 0)
                return rc;
        }
        p = *eol == '\n' ? eol + 1 : eol;
    }
    return 0;
}

int tgx_migrate_check_listed(const struct tgx_strv *listed, const struct tgx_strv *present,
                             struct tgx_buf *errmsg)
{
    for (size_t i = 0; i < listed->n; i++) {
        if (tgx_strv_find(present, listed->v[i]) < 0) {
            tgx_buf_printf(errmsg, "file \"sql/%s\" listed in sql/install.list does not exist", listed->v[i]);
            return -TGX_ERR_INVAL;
        }
    }
    for (size_t i = 0; i < present->n; i++) {
        if (tgx_strv_find(listed, present->v[i]) < 0) {
            tgx_buf_printf(errmsg,
                           "file \"sql/%s\" is not listed in sql/install.list\n"
                           "HINT:  Every sql/*.sql file is listed once, in the order it must be loaded.",
                           present->v[i]);
            return -TGX_ERR_INVAL;
        }
    }
    return 0;
}

void tgx_migrate_position(const char *text, int position, int *line, int *column)
{
    int l = 1, c = 1, chars = 0;
    *line = 0;
    *column = 0;
    if (position <= 0)
        return;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if ((*p & 0xc0) == 0x80)
            continue; /* a UTF-8 continuation byte: same character */
        if (++chars == position) {
            *line = l;
            *column = c;
            return;
        }
        if (*p == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------------------------- */

/* Everything one run reads and holds. */
struct run {
    const struct tgx_migrate_opts *opts;
    FILE *out;
    struct tgx_buf *errmsg;
    struct tgx_buf path; /* scratch for file paths */
    struct tgx_migration_set migrations;
    struct tgx_strv sql_names;        /* sql/ files in install.list order */
    struct tgx_strv sql_texts;        /* their contents, same order */
    struct tgx_strv applied_versions; /* rows of tgx.schema_migrations, in version order */
    struct tgx_strv applied_names;
    struct tgx_strv applied_checksums;
    struct tgx_strv applied_at;
    struct tgx_db *db;
};

/* DIR/SUB/NAME in r->path; borrowed until the next call. */
static const char *file_path(struct run *r, const char *sub, const char *name)
{
    tgx_buf_reset(&r->path);
    tgx_buf_printf(&r->path, "%s/%s%s%s", r->opts->sql_dir, sub, name != NULL ? "/" : "",
                   name != NULL ? name : "");
    return tgx_buf_str(&r->path);
}

/* Read file SUB/NAME of the SQL directory into *TEXT (new string). */
static int read_file(struct run *r, const char *sub, const char *name, char **text)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    const char *path = file_path(r, sub, name);
    int rc = tgx_buf_read_file(&b, path);
    if (rc == -TGX_ERR_IO)
        tgx_buf_printf(r->errmsg, "could not read file \"%s\": %s", path, strerror(errno));
    else if (rc < 0)
        tgx_buf_puts(r->errmsg, "out of memory");
    *text = rc == 0 ? tgx_buf_steal(&b) : NULL;
    tgx_buf_cleanup(&b);
    if (rc == 0 && *text == NULL) {
        tgx_buf_puts(r->errmsg, "out of memory");
        rc = -TGX_ERR_NOMEM;
    }
    return rc;
}

/* Read migrations/: names, contents, checksums. */
static int load_migrations(struct run *r)
{
    int rc = tgx_migrate_scan(file_path(r, "migrations", NULL), &r->migrations, r->errmsg);
    for (size_t i = 0; rc == 0 && i < r->migrations.n; i++) {
        struct tgx_migration *m = &r->migrations.v[i];
        rc = read_file(r, "migrations", m->name, &m->text);
        if (rc == 0 && tgx_sha256_hex(m->text, strlen(m->text), m->checksum) < 0) {
            tgx_buf_puts(r->errmsg, "could not compute a SHA-256 checksum");
            rc = -TGX_ERR_CRYPTO;
        }
    }
    return rc;
}

/* Read sql/install.list, check it against the *.sql files of sql/, and read them in its order. */
static int load_sql_files(struct run *r)
{
    struct tgx_strv entries, present;
    char *list = NULL;
    tgx_strv_init(&entries);
    tgx_strv_init(&present);
    int rc = read_file(r, "sql", "install.list", &list);
    if (rc == 0)
        rc = tgx_migrate_parse_install_list(list, &r->sql_names, r->errmsg);
    if (rc == 0)
        rc = list_dir(file_path(r, "sql", NULL), &entries, r->errmsg);
    for (size_t i = 0; rc == 0 && i < entries.n; i++) {
        struct stat st;
        if (is_sql_file_name(entries.v[i]) && stat(file_path(r, "sql", entries.v[i]), &st) == 0 &&
            S_ISREG(st.st_mode) && tgx_strv_push(&present, entries.v[i]) < 0) {
            tgx_buf_puts(r->errmsg, "out of memory");
            rc = -TGX_ERR_NOMEM;
        }
    }
    if (rc == 0)
        rc = tgx_migrate_check_listed(&r->sql_names, &present, r->errmsg);
    for (size_t i = 0; rc == 0 && i < r->sql_names.n; i++) {
        char *text = NULL;
        rc = read_file(r, "sql", r->sql_names.v[i], &text);
        if (rc == 0) {
            rc = tgx_strv_push(&r->sql_texts, text);
            if (rc < 0)
                tgx_buf_puts(r->errmsg, "out of memory");
        }
        free(text);
    }
    free(list);
    tgx_strv_cleanup(&entries);
    tgx_strv_cleanup(&present);
    return rc;
}

/* Append the server's error of the last call (message, SQLSTATE, then DETAIL/HINT/CONTEXT lines). */
static void append_db_error(struct run *r, const char *what, const char *file, const char *text)
{
    const struct tgx_db_error *e = tgx_db_last_error(r->db);
    int line = 0, column = 0;
    if (text != NULL)
        tgx_migrate_position(text, e->position, &line, &column);
    tgx_buf_printf(r->errmsg, "%s%s%s", what, file != NULL ? " " : "", file != NULL ? file : "");
    if (line > 0)
        tgx_buf_printf(r->errmsg, " (line %d, column %d)", line, column);
    tgx_buf_printf(r->errmsg, ": %s", e->message != NULL ? e->message : "out of memory");
    if (e->sqlstate[0] != '\0')
        tgx_buf_printf(r->errmsg, " (SQLSTATE %s)", e->sqlstate);
    if (e->detail != NULL)
        tgx_buf_printf(r->errmsg, "\nDETAIL:  %s", e->detail);
    if (e->hint != NULL)
        tgx_buf_printf(r->errmsg, "\nHINT:  %s", e->hint);
    if (e->context != NULL)
        tgx_buf_printf(r->errmsg, "\nCONTEXT:  %s", e->context);
}

/* Roll back an open transaction after a failure; its own failure only goes to the log. */
static void rollback(struct run *r)
{
    if (r->db != NULL && tgx_db_in_transaction(r->db) && tgx_db_exec(r->db, "ROLLBACK") < 0)
        tgx_log_warning(LOG_SUBJECT, "could not roll back: %s", tgx_db_last_error(r->db)->message);
}

/* Run a statement of the runner itself; on failure the message says WHAT could not be done. */
static int exec_sql(struct run *r, const char *sql, const char *what)
{
    int rc = tgx_db_exec(r->db, sql);
    if (rc < 0)
        append_db_error(r, what, NULL, NULL);
    return rc;
}

static int row_bool(const PGresult *res, void *arg)
{
    *(bool *)arg = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    return 0;
}

/* Take the session advisory lock, waiting for a concurrent run to finish. */
static int take_lock(struct run *r)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)TGX_MIGRATE_LOCK_KEY);
    const char *params[] = {key};
    bool got = false;
    int rc = tgx_db_query(r->db, SQL_TRY_LOCK, 1, params, row_bool, &got);
    if (rc == 0 && !got) {
        tgx_log_info(LOG_SUBJECT, "another tgxd migrate is running on this database; waiting for it");
        rc = tgx_db_query(r->db, SQL_LOCK, 1, params, NULL, NULL);
    }
    if (rc < 0)
        append_db_error(r, "could not take the migration lock", NULL, NULL);
    return rc;
}

static void release_lock(struct run *r)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)TGX_MIGRATE_LOCK_KEY);
    const char *params[] = {key};
    if (tgx_db_query(r->db, SQL_UNLOCK, 1, params, NULL, NULL) < 0)
        tgx_log_warning(LOG_SUBJECT, "could not release the migration lock: %s",
                        tgx_db_last_error(r->db)->message);
}

static int copy_applied(const PGresult *res, void *arg)
{
    struct run *r = arg;
    for (int i = 0; i < PQntuples(res); i++) {
        if (tgx_strv_push(&r->applied_versions, PQgetvalue(res, i, COL_APPLIED_VERSION)) < 0 ||
            tgx_strv_push(&r->applied_names, PQgetvalue(res, i, COL_APPLIED_NAME)) < 0 ||
            tgx_strv_push(&r->applied_checksums, PQgetvalue(res, i, COL_APPLIED_CHECKSUM)) < 0 ||
            tgx_strv_push(&r->applied_at, PQgetvalue(res, i, COL_APPLIED_AT)) < 0)
            return -TGX_ERR_NOMEM;
    }
    return 0;
}

static const struct tgx_migration *find_migration(const struct run *r, int version)
{
    for (size_t i = 0; i < r->migrations.n; i++)
        if (r->migrations.v[i].version == version)
            return &r->migrations.v[i];
    return NULL;
}

static bool is_applied(const struct run *r, int version)
{
    for (size_t k = 0; k < r->applied_versions.n; k++)
        if (atoi(r->applied_versions.v[k]) == version)
            return true;
    return false;
}

/*
 * Compare the applied rows with the files: every applied file must be there, unchanged, and no new
 * file may come before the last applied one.  Sets *FIRST_NEW to the index of the first new file.
 */
static int verify_applied(struct run *r, size_t *first_new)
{
    int last = 0;
    const char *last_name = "";
    for (size_t i = 0; i < r->applied_versions.n; i++) {
        int version = atoi(r->applied_versions.v[i]);
        const char *name = r->applied_names.v[i];
        const struct tgx_migration *m = find_migration(r, version);
        if (m == NULL) {
            tgx_buf_printf(r->errmsg,
                           "applied migration %s is missing from %s\n"
                           "HINT:  Applied migrations stay in the tree: restore the file.",
                           name, file_path(r, "migrations", NULL));
            return -TGX_ERR_STATE;
        }
        if (strcmp(m->checksum, r->applied_checksums.v[i]) != 0) {
            tgx_buf_printf(r->errmsg,
                           "applied migration migrations/%s was changed after it was applied\n"
                           "DETAIL:  Its SHA-256 is now %s; it was %s when %s was applied at %s.\n"
                           "HINT:  Migrations are forward-only: restore the applied file and put the "
                           "change in a new migration.",
                           m->name, m->checksum, r->applied_checksums.v[i], name, r->applied_at.v[i]);
            return -TGX_ERR_STATE;
        }
        if (strcmp(m->name, name) != 0)
            tgx_log_warning(LOG_SUBJECT, "applied migration %s was renamed to %s (same content)", name,
                            m->name);
        last = version;
        last_name = m->name;
    }
    size_t i = 0;
    for (; i < r->migrations.n && r->migrations.v[i].version <= last; i++) {
        const struct tgx_migration *m = &r->migrations.v[i];
        if (!is_applied(r, m->version)) {
            tgx_buf_printf(r->errmsg,
                           "migration migrations/%s comes before the last applied migration %s\n"
                           "HINT:  Give it a number after %04d: migrations are applied in order.",
                           m->name, last_name, last);
            return -TGX_ERR_STATE;
        }
    }
    *first_new = i;
    return 0;
}

/* Apply migration M in its own transaction together with its schema_migrations row. */
static int apply_migration(struct run *r, const struct tgx_migration *m)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name, m->checksum};
    struct tgx_buf what;
    tgx_buf_init(&what);
    tgx_buf_printf(&what, "migrations/%s", m->name);

    tgx_log_debug(LOG_SUBJECT, "applying %s", m->name);
    int rc = exec_sql(r, "BEGIN", "could not start a transaction");
    if (rc == 0)
        rc = exec_sql(r, SQL_FILE_PROLOGUE, "could not reset the session");
    /* the row first: should the file commit by itself, what it committed is recorded with it */
    if (rc == 0 && (rc = tgx_db_query(r->db, SQL_RECORD, 3, params, NULL, NULL)) < 0)
        append_db_error(r, "could not record", tgx_buf_str(&what), NULL);
    if (rc == 0 && (rc = tgx_db_exec(r->db, m->text)) < 0)
        append_db_error(r, "could not apply", tgx_buf_str(&what), m->text);
    if (rc == 0 && !tgx_db_in_transaction(r->db)) {
        tgx_buf_printf(
            r->errmsg,
            "migration %s ended the transaction it runs in\n"
            "DETAIL:  What ran before its COMMIT or ROLLBACK was committed or rolled back with its "
            "tgx.schema_migrations row; what ran after it was committed statement by statement.\n"
            "HINT:  Each migration runs in one transaction: do not put COMMIT or ROLLBACK in one.",
            tgx_buf_str(&what));
        rc = -TGX_ERR_INVAL;
    }
    if (rc == 0 && (rc = tgx_db_exec(r->db, "COMMIT")) < 0)
        append_db_error(r, "could not commit", tgx_buf_str(&what), NULL);
    if (rc < 0)
        rollback(r);
    else
        fprintf(r->out, "applied %s\n", m->name);
    fflush(r->out);
    tgx_buf_cleanup(&what);
    return rc;
}

/* Reload every sql/ file in install.list order, all in one transaction. */
static int reload_sql(struct run *r)
{
    int rc = exec_sql(r, "BEGIN", "could not start a transaction");
    for (size_t i = 0; rc == 0 && i < r->sql_names.n; i++) {
        struct tgx_buf what;
        tgx_buf_init(&what);
        tgx_buf_printf(&what, "sql/%s", r->sql_names.v[i]);
        tgx_log_debug(LOG_SUBJECT, "reloading %s", r->sql_names.v[i]);
        rc = exec_sql(r, SQL_FILE_PROLOGUE, "could not reset the session");
        if (rc == 0 && (rc = tgx_db_exec(r->db, r->sql_texts.v[i])) < 0)
            append_db_error(r, "could not reload", tgx_buf_str(&what), r->sql_texts.v[i]);
        if (rc == 0 && !tgx_db_in_transaction(r->db)) {
            tgx_buf_printf(
                r->errmsg,
                "%s ended the reload transaction\n"
                "HINT:  Remove its COMMIT or ROLLBACK: sql/ files are reloaded in one transaction.",
                tgx_buf_str(&what));
            rc = -TGX_ERR_INVAL;
        }
        tgx_buf_cleanup(&what);
    }
    if (rc == 0 && (rc = tgx_db_exec(r->db, "COMMIT")) < 0)
        append_db_error(r, "could not commit the reload of sql/", NULL, NULL);
    if (rc < 0) {
        rollback(r);
        return rc;
    }
    fprintf(r->out, "reloaded %zu sql file%s\n", r->sql_names.n, r->sql_names.n == 1 ? "" : "s");
    fflush(r->out);
    return 0;
}

/* The database part of a run: lock, bookkeeping, verify, apply, reload. */
static int migrate_db(struct run *r)
{
    size_t first_new = 0;
    int rc = take_lock(r);
    if (rc == 0)
        rc = exec_sql(r, SQL_BOOTSTRAP, "could not create tgx.schema_migrations");
    if (rc == 0 && (rc = tgx_db_query(r->db, SQL_APPLIED, 0, NULL, copy_applied, r)) < 0) {
        if (rc == -TGX_ERR_NOMEM)
            tgx_buf_puts(r->errmsg, "out of memory");
        else
            append_db_error(r, "could not read tgx.schema_migrations", NULL, NULL);
    }
    if (rc == 0)
        rc = verify_applied(r, &first_new);
    if (rc == 0 && first_new == r->migrations.n) {
        fprintf(r->out, "database is up to date\n");
        fflush(r->out);
    }
    for (size_t i = first_new; rc == 0 && i < r->migrations.n; i++)
        rc = apply_migration(r, &r->migrations.v[i]);
    if (rc == 0)
        rc = reload_sql(r);
    release_lock(r);
    return rc;
}

int tgx_migrate_run(const struct tgx_migrate_opts *opts, FILE *out, struct tgx_buf *errmsg)
{
    struct run r = {.opts = opts, .out = out, .errmsg = errmsg};
    tgx_buf_init(&r.path);
    tgx_strv_init(&r.sql_names);
    tgx_strv_init(&r.sql_texts);
    tgx_strv_init(&r.applied_versions);
    tgx_strv_init(&r.applied_names);
    tgx_strv_init(&r.applied_checksums);
    tgx_strv_init(&r.applied_at);

    /* everything that needs no server first: the URL's syntax, then the files */
    int rc = tgx_db_check_url(opts->database_url, errmsg);
    if (rc == 0)
        rc = load_migrations(&r);
    if (rc == 0)
        rc = load_sql_files(&r);
    if (rc == 0)
        rc = tgx_db_connect(opts->database_url, "tgxd migrate", &r.db, errmsg);
    if (rc == 0) {
        tgx_log_debug(LOG_SUBJECT, "connected to %s", tgx_db_url(r.db));
        rc = migrate_db(&r);
    }
    if (rc == 0 && tgx_buf_oom(&r.path)) {
        tgx_buf_puts(errmsg, "out of memory");
        rc = -TGX_ERR_NOMEM;
    }

    tgx_db_free(r.db);
    tgx_migrate_set_cleanup(&r.migrations);
    tgx_buf_cleanup(&r.path);
    tgx_strv_cleanup(&r.sql_names);
    tgx_strv_cleanup(&r.sql_texts);
    tgx_strv_cleanup(&r.applied_versions);
    tgx_strv_cleanup(&r.applied_names);
    tgx_strv_cleanup(&r.applied_checksums);
    tgx_strv_cleanup(&r.applied_at);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------------------------- */

static void print_usage(const char *prog, FILE *f)
{
    fprintf(f,
            "Usage: %s migrate [--database-url URL] [--sql-dir DIR]\n"
            "Applies every new file of DIR/migrations in version order, each in its own transaction,\n"
            "then reloads the files of DIR/sql in the order of DIR/sql/install.list, all in one\n"
            "transaction.  Applied migrations are recorded with their SHA-256 in tgx.schema_migrations;\n"
            "an applied file that changed stops the run.  Concurrent runs wait for each other.\n"
            "\n"
            "Options:\n"
            "  -d, --database-url URL  the database, a postgresql:// URL or key=value string\n"
            "                          (default: $TGX_DATABASE_URL)\n"
            "  -s, --sql-dir DIR       the directory holding migrations/ and sql/\n"
            "                          (default: $TGX_SQL_DIR, else %s)\n"
            "  -h, --help              show this help and exit\n",
            prog, TGX_SHAREDIR);
}

/* getenv, with an empty value taken as unset. */
static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int tgx_migrate_parse_args(const char *prog, int argc, char **argv, const struct tgx_cli_io *io,
                           struct tgx_migrate_opts *opts)
{
    static const struct option longopts[] = {
        {"database-url", required_argument, NULL, 'd'},
        {"sql-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char who[64];
    struct tgx_cli_parser p;
    int c;

    snprintf(who, sizeof who, "%s migrate", prog);
    opts->database_url = env_or_null("TGX_DATABASE_URL");
    opts->sql_dir = env_or_null("TGX_SQL_DIR");
    if (opts->sql_dir == NULL)
        opts->sql_dir = TGX_SHAREDIR;
    opts->help = 0;

    tgx_cli_parser_init(&p, who, argc, argv, "d:s:h", longopts, io);
    while ((c = tgx_cli_next(&p)) != TGX_CLI_END) {
        switch (c) {
        case 'd':
            opts->database_url = p.optarg;
            break;
        case 's':
            opts->sql_dir = p.optarg;
            break;
        case 'h':
            opts->help = 1;
            return 0;
        default:
            return TGX_EXIT_USAGE;
        }
    }
    if (p.optind < argc)
        return tgx_cli_unexpected(&p, argv[p.optind]);
    if (opts->database_url == NULL) {
        fprintf(io->err, "%s: no database URL: pass --database-url or set TGX_DATABASE_URL\n", who);
        return TGX_EXIT_USAGE;
    }
    return 0;
}

int tgx_migrate_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    struct tgx_migrate_opts opts;
    int rc = tgx_migrate_parse_args(prog, argc, argv, io, &opts);
    if (rc != 0)
        return rc;
    if (opts.help) {
        print_usage(prog, io->out);
        return TGX_EXIT_OK;
    }
    struct tgx_buf errmsg;
    tgx_buf_init(&errmsg);
    rc = tgx_migrate_run(&opts, io->out, &errmsg);
    if (rc < 0)
        fprintf(io->err, "%s migrate: %s\n", prog,
                tgx_buf_oom(&errmsg) ? "out of memory" : tgx_buf_str(&errmsg));
    tgx_buf_cleanup(&errmsg);
    return rc < 0 ? TGX_EXIT_FAILURE : TGX_EXIT_OK;
}
