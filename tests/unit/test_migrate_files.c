/* test_migrate_files.c: migration file names and order, install.list, error positions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgx/migrate.h"

static const struct {
    const char *name;
    int version; /* 0: invalid */
} name_cases[] = {
    {"0001_core.sql", 1},
    {"0042_add-index.sql", 42},
    {"9999_last_one.sql", 9999},
    {"0100_MixedCase2.sql", 100},
    {"0000_zero.sql", 0},
    {"001_core.sql", 0},
    {"00001_core.sql", 0},
    {"0001core.sql", 0},
    {"0001_.sql", 0},
    {"0001_core.SQL", 0},
    {"0001_core.sql~", 0},
    {"0001_core.sql.bak", 0},
    {"0001_co re.sql", 0},
    {"0001_co.re.sql", 0},
    {"abcd_core.sql", 0},
    {".0001_core.sql", 0},
    {"README", 0},
    {"", 0},
};

Test(migrate_names, table)
{
    for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
        int v = -1;
        int rc = tgx_migrate_parse_name(name_cases[i].name, &v);
        if (name_cases[i].version > 0) {
            cr_expect_eq(rc, 0, "row %zu \"%s\": refused", i, name_cases[i].name);
            cr_expect_eq(v, name_cases[i].version, "row %zu \"%s\": version %d", i, name_cases[i].name, v);
        } else {
            cr_expect_eq(rc, -TGX_ERR_INVAL, "row %zu \"%s\": accepted", i, name_cases[i].name);
            cr_expect_eq(v, -1, "row %zu: version written on failure", i);
        }
    }
}

/* ---- scanning a migrations/ folder ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tgx-unit.XXXXXX");
    cr_assert(mkdtemp(tmpdir) != NULL);
}

static void touch(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "cannot create %s", path);
    fputs("SELECT 1;\n", f);
    fclose(f);
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(migrate_scan, .init = make_tmpdir, .fini = remove_tmpdir);

Test(migrate_scan, sorted_by_version_not_by_creation)
{
    touch("0010_c.sql");
    touch("0002_b.sql");
    touch("0001_a.sql");
    touch("0003_z.sql");
    struct tgx_migration_set set;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_assert_eq(tgx_migrate_scan(tmpdir, &set, &err), 0, "%s", tgx_buf_str(&err));
    cr_assert_eq(set.n, 4);
    const int versions[] = {1, 2, 3, 10};
    const char *names[] = {"0001_a.sql", "0002_b.sql", "0003_z.sql", "0010_c.sql"};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(set.v[i].version, versions[i], "slot %zu", i);
        cr_expect_str_eq(set.v[i].name, names[i], "slot %zu", i);
        cr_expect_null(set.v[i].text, "contents are not loaded by a scan");
    }
    tgx_migrate_set_cleanup(&set);
    tgx_buf_cleanup(&err);
}

Test(migrate_scan, empty_folder)
{
    struct tgx_migration_set set;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_assert_eq(tgx_migrate_scan(tmpdir, &set, &err), 0);
    cr_expect_eq(set.n, 0);
    tgx_migrate_set_cleanup(&set);
    tgx_buf_cleanup(&err);
}

Test(migrate_scan, another_name_is_an_error)
{
    touch("0001_a.sql");
    touch("README");
    struct tgx_migration_set set;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_expect_eq(tgx_migrate_scan(tmpdir, &set, &err), -TGX_ERR_INVAL);
    cr_expect(strstr(tgx_buf_str(&err), "unexpected file \"README\"") != NULL, "%s", tgx_buf_str(&err));
    cr_expect(strstr(tgx_buf_str(&err), "HINT:  Migration files are named NNNN_name.sql") != NULL);
    tgx_migrate_set_cleanup(&set);
    tgx_buf_cleanup(&err);
}

Test(migrate_scan, two_files_of_one_version_are_an_error)
{
    touch("0002_x.sql");
    touch("0001_a.sql");
    touch("0002_y.sql");
    struct tgx_migration_set set;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_expect_eq(tgx_migrate_scan(tmpdir, &set, &err), -TGX_ERR_INVAL);
    cr_expect_str_eq(tgx_buf_str(&err),
                     "migrations \"0002_x.sql\" and \"0002_y.sql\" have the same version 0002");
    tgx_migrate_set_cleanup(&set);
    tgx_buf_cleanup(&err);
}

Test(migrate_scan, missing_folder_is_an_io_error)
{
    struct tgx_migration_set set;
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_expect_eq(tgx_migrate_scan("/nonexistent/tgx/migrations", &set, &err), -TGX_ERR_IO);
    cr_expect(strstr(tgx_buf_str(&err), "could not open directory \"/nonexistent/tgx/migrations\"") != NULL,
              "%s", tgx_buf_str(&err));
    tgx_migrate_set_cleanup(&set);
    tgx_buf_cleanup(&err);
}

/* ---- install.list ---- */

static const struct {
    const char *text;
    const char *expect; /* the names joined by ',', or NULL for an error */
    const char *error;  /* a substring of the error */
} list_cases[] = {
    {"a.sql\nb.sql\n", "a.sql,b.sql", NULL},
    {"# heading\n\n  a.sql  \n\t\n# another\nb.sql", "a.sql,b.sql", NULL},
    {"tgx.common.sql # trailing comment\r\ngrants.sql\r\n", "tgx.common.sql,grants.sql", NULL},
    {"", "", NULL},
    {"# only comments\n\n", "", NULL},
    {"a.sql\nb.sql\na.sql\n", NULL, "install.list line 3: \"a.sql\" is listed twice"},
    {"a.sql\n\ndir/b.sql\n", NULL, "install.list line 3: \"dir/b.sql\" is not the name of a .sql file"},
    {"notes.txt\n", NULL, "install.list line 1: \"notes.txt\" is not the name"},
    {"a b.sql\n", NULL, "line 1: \"a b.sql\" is not"},
    {".sql\n", NULL, "line 1"},
    {"../x.sql\n", NULL, "line 1"},
};

Test(install_list, table)
{
    for (size_t i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
        struct tgx_strv listed;
        struct tgx_buf err, joined;
        tgx_strv_init(&listed);
        tgx_buf_init(&err);
        tgx_buf_init(&joined);
        int rc = tgx_migrate_parse_install_list(list_cases[i].text, &listed, &err);
        if (list_cases[i].expect != NULL) {
            cr_expect_eq(rc, 0, "row %zu: %s", i, tgx_buf_str(&err));
            for (size_t k = 0; k < listed.n; k++)
                tgx_buf_printf(&joined, "%s%s", k > 0 ? "," : "", listed.v[k]);
            cr_expect_str_eq(tgx_buf_str(&joined), list_cases[i].expect, "row %zu", i);
        } else {
            cr_expect_eq(rc, -TGX_ERR_INVAL, "row %zu: accepted", i);
            cr_expect(strstr(tgx_buf_str(&err), list_cases[i].error) != NULL,
                      "row %zu: error \"%s\" lacks \"%s\"", i, tgx_buf_str(&err), list_cases[i].error);
        }
        tgx_strv_cleanup(&listed);
        tgx_buf_cleanup(&err);
        tgx_buf_cleanup(&joined);
    }
}

static void strv_of(struct tgx_strv *sv, const char *const *names)
{
    tgx_strv_init(sv);
    for (; *names != NULL; names++)
        cr_assert_eq(tgx_strv_push(sv, *names), 0);
}

Test(install_list, listed_against_present)
{
    static const struct {
        const char *listed[4];
        const char *present[4];
        const char *error; /* NULL: fine */
    } cases[] = {
        {{"b.sql", "a.sql", NULL}, {"a.sql", "b.sql", NULL}, NULL},
        {{NULL}, {NULL}, NULL},
        {{"a.sql", "b.sql", NULL},
         {"a.sql", NULL},
         "file \"sql/b.sql\" listed in sql/install.list does not exist"},
        {{"a.sql", NULL}, {"a.sql", "c.sql", NULL}, "file \"sql/c.sql\" is not listed in sql/install.list"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_strv listed, present;
        struct tgx_buf err;
        strv_of(&listed, cases[i].listed);
        strv_of(&present, cases[i].present);
        tgx_buf_init(&err);
        int rc = tgx_migrate_check_listed(&listed, &present, &err);
        if (cases[i].error == NULL) {
            cr_expect_eq(rc, 0, "row %zu: %s", i, tgx_buf_str(&err));
        } else {
            cr_expect_eq(rc, -TGX_ERR_INVAL, "row %zu", i);
            cr_expect(strstr(tgx_buf_str(&err), cases[i].error) != NULL, "row %zu: \"%s\"", i,
                      tgx_buf_str(&err));
        }
        tgx_strv_cleanup(&listed);
        tgx_strv_cleanup(&present);
        tgx_buf_cleanup(&err);
    }
}

/* ---- the server's error position as line and column ---- */

Test(migrate_position, table)
{
    static const struct {
        const char *text;
        int position, line, column;
    } cases[] = {
        {"SELECT 1;\nCRATE x;", 11, 2, 1},
        {"SELECT 1;\nCRATE x;", 1, 1, 1},
        {"SELECT 1;\nCRATE x;", 17, 2, 7},
        {"SELECT 1;\nCRATE x;", 0, 0, 0},
        {"SELECT 1;\nCRATE x;", 99, 0, 0},
        {"-- \xc3\xa9t\xc3\xa9\nCRATE", 8, 2, 1}, /* "-- été\n" is 7 characters, 9 bytes */
        {"\xe2\x82\xac\xe2\x82\xac X", 4, 1, 4},
        {"a\n\n\nb", 5, 4, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int line = -1, column = -1;
        tgx_migrate_position(cases[i].text, cases[i].position, &line, &column);
        cr_expect(line == cases[i].line && column == cases[i].column, "row %zu: %d:%d, expected %d:%d", i,
                  line, column, cases[i].line, cases[i].column);
    }
}
