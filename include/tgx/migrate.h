/* migrate.h: `tgxd migrate`: forward-only migrations/ then one-transaction reload of sql/. */
#ifndef TGX_MIGRATE_H
#define TGX_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include "tgx/buf.h"
#include "tgx/cli.h"
#include "tgx/err.h"
#include "tgx/sha256.h"

/* The key of the session advisory lock that serialises concurrent runs on one database. */
#define TGX_MIGRATE_LOCK_KEY 0x7467785f6d696772LL /* "tgx_migr" */

/* What to migrate.  The strings are borrowed (argv, environ). */
struct tgx_migrate_opts {
    const char *database_url; /* libpq URL or key=value string */
    const char *sql_dir;      /* the directory holding migrations/ and sql/ */
    int help;                 /* --help was given: print the usage, do nothing else */
};

/* One file of migrations/: NNNN_name.sql. */
struct tgx_migration {
    int version;                           /* NNNN, 1..9999 */
    char *name;                            /* file name, owned */
    char *text;                            /* file content, owned (NULL until loaded) */
    char checksum[TGX_SHA256_HEX_LEN + 1]; /* hex SHA-256 of the content ("" until loaded) */
};

/* The migrations of a directory in version order. */
struct tgx_migration_set {
    struct tgx_migration *v; /* owned */
    size_t n;
};

/* The `migrate` row of tgxd's command table (see tgx_cli_fn). */
int tgx_migrate_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);
/*
 * Parse `migrate` options (ARGV[0] is "migrate") into OPTS, with the defaults: TGX_DATABASE_URL,
 * then TGX_SQL_DIR, else TGX_SHAREDIR.  0, or TGX_EXIT_USAGE after writing one line to io->err.
 */
int tgx_migrate_parse_args(const char *prog, int argc, char **argv, const struct tgx_cli_io *io,
                           struct tgx_migrate_opts *opts /* OUT */) TGX_MUSTCHECK;
/*
 * Migrate: connect, lock, apply new migrations, reload sql/.  Writes its summary to OUT
 * ("applied 0001_core.sql", "database is up to date", "reloaded 12 sql files").  On failure
 * returns a negative enum tgx_err and appends the message (one line, possibly followed by
 * DETAIL:/HINT:/CONTEXT: lines) to ERRMSG.
 */
int tgx_migrate_run(const struct tgx_migrate_opts *opts, FILE *out, struct tgx_buf *errmsg) TGX_MUSTCHECK;

/* The version of migration file name NAME (NNNN_name.sql, name of [A-Za-z0-9_-]); -TGX_ERR_INVAL. */
int tgx_migrate_parse_name(const char *name, int *version /* OUT */) TGX_MUSTCHECK;
/*
 * List DIR (a migrations/ folder) into SET (initialised by the call; free it with
 * tgx_migrate_set_cleanup() whatever the result), sorted by version, contents not loaded.
 * Any other entry than NNNN_name.sql, or two files of one version: -TGX_ERR_INVAL with ERRMSG.
 */
int tgx_migrate_scan(const char *dir, struct tgx_migration_set *set /* OUT */,
                     struct tgx_buf *errmsg) TGX_MUSTCHECK;
/* Free what SET holds. */
void tgx_migrate_set_cleanup(struct tgx_migration_set *set);
/*
 * Parse the text of sql/install.list into LISTED (appended): one file name per line, `#` starts a
 * comment, blank lines are skipped.  A name that is not a plain *.sql file name or is listed
 * twice: -TGX_ERR_INVAL with ERRMSG naming the line.
 */
int tgx_migrate_parse_install_list(const char *text, struct tgx_strv *listed /* OUT: appended */,
                                   struct tgx_buf *errmsg) TGX_MUSTCHECK;
/*
 * Check the install list against the *.sql files PRESENT in sql/: every listed file must exist and
 * every present file must be listed; else -TGX_ERR_INVAL with ERRMSG naming the file.
 */
int tgx_migrate_check_listed(const struct tgx_strv *listed, const struct tgx_strv *present,
                             struct tgx_buf *errmsg) TGX_MUSTCHECK;
/*
 * Turn POSITION (1-based, in characters, as the server reports it) into a 1-based LINE and
 * COLUMN of the UTF-8 TEXT; both 0 when POSITION is 0 or past the end.
 */
void tgx_migrate_position(const char *text, int position, int *line /* OUT */, int *column /* OUT */);

#endif
