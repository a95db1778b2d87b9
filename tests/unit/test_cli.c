/* test_cli.c: tgxd's command line: dispatch, option errors, exit statuses, migrate's options. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/cli.h"
#include "tgx/migrate.h"

/* what the fake command saw */
static int echo_argc;
static char echo_args[4][32];

static int echo_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    (void)prog;
    echo_argc = argc;
    for (int i = 0; i < argc && i < 4; i++)
        snprintf(echo_args[i], sizeof echo_args[i], "%s", argv[i]);
    fprintf(io->out, "echo ran\n");
    return 0;
}

static const struct tgx_cli_command commands[] = {
    {"migrate", tgx_migrate_command, "apply migrations/ then reload sql/"},
    {"echo", echo_command, "a test command"},
};

static const struct tgx_cli_program program = {
    .name = "tgxd",
    .version = "9.8.7",
    .summary = "test program",
    .commands = commands,
    .ncommands = 2,
};

/* A command line run with its output captured. */
struct captured {
    int status;
    char *out;
    char *err;
};

static struct captured run_cli(const char *const *args)
{
    struct captured c = {0};
    size_t outlen = 0, errlen = 0;
    char *argv[16];
    int argc = 0;
    for (; args[argc] != NULL; argc++)
        argv[argc] = strdup(args[argc]);
    argv[argc] = NULL;
    FILE *out = open_memstream(&c.out, &outlen);
    FILE *err = open_memstream(&c.err, &errlen);
    cr_assert(out != NULL && err != NULL);
    const struct tgx_cli_io io = {.out = out, .err = err};
    c.status = tgx_cli_dispatch(&program, argc, argv, &io);
    fclose(out);
    fclose(err);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return c;
}

static void captured_free(struct captured *c)
{
    free(c->out);
    free(c->err);
}

static void no_env(void)
{
    unsetenv("TGX_DATABASE_URL");
    unsetenv("TGX_SQL_DIR");
}

/* expected: exit status, a substring of stdout ("" = stdout empty), stderr exactly (or its prefix) */
struct cli_case {
    const char *argv[8];
    int status;
    const char *out;
    const char *err;
    int err_is_prefix;
};

static const struct cli_case cli_cases[] = {
    {{"tgxd", NULL}, 2, "", "Usage: tgxd [OPTION] COMMAND", 1},
    {{"tgxd", "--help", NULL}, 0, "Usage: tgxd [OPTION] COMMAND", "", 0},
    {{"tgxd", "-h", NULL}, 0, "  migrate      apply migrations/", "", 0},
    {{"tgxd", "--version", NULL}, 0, "tgxd 9.8.7\n", "", 0},
    {{"tgxd", "-V", NULL}, 0, "tgxd 9.8.7\n", "", 0},
    {{"tgxd", "--x", NULL}, 2, "", "tgxd: unknown option '--x'\n", 0},
    {{"tgxd", "--x=1", "migrate", NULL}, 2, "", "tgxd: unknown option '--x'\n", 0},
    {{"tgxd", "-x", NULL}, 2, "", "tgxd: unknown option '-x'\n", 0},
    {{"tgxd", "--help=yes", NULL}, 2, "", "tgxd: option '--help' does not take a value\n", 0},
    {{"tgxd", "frobnicate", NULL}, 2, "", "tgxd: unknown command 'frobnicate'\n", 0},
    {{"tgxd", "echo", "a", "--b", NULL}, 0, "echo ran\n", "", 0},
    {{"tgxd", "migrate", "--help", NULL},
     0,
     "Usage: tgxd migrate [--database-url URL] [--sql-dir DIR]",
     "",
     0},
    {{"tgxd", "migrate", "-h", NULL}, 0, "--sql-dir DIR", "", 0},
    {{"tgxd", "migrate", "--database-url", NULL},
     2,
     "",
     "tgxd migrate: option '--database-url' needs a value\n",
     0},
    {{"tgxd", "migrate", "--database-url=", NULL},
     2,
     "",
     "tgxd migrate: option '--database-url' needs a value\n",
     0},
    {{"tgxd", "migrate", "-d", NULL}, 2, "", "tgxd migrate: option '-d' needs a value\n", 0},
    {{"tgxd", "migrate", "-d", "", NULL}, 2, "", "tgxd migrate: option '-d' needs a value\n", 0},
    {{"tgxd", "migrate", "-d", "x=1", "--sql-dir", NULL},
     2,
     "",
     "tgxd migrate: option '--sql-dir' needs a value\n",
     0},
    {{"tgxd", "migrate", "--bogus", NULL}, 2, "", "tgxd migrate: unknown option '--bogus'\n", 0},
    {{"tgxd", "migrate", "-q", NULL}, 2, "", "tgxd migrate: unknown option '-q'\n", 0},
    {{"tgxd", "migrate", "-d", "dbname=x", "extra", NULL},
     2,
     "",
     "tgxd migrate: unexpected argument 'extra'\n",
     0},
    {{"tgxd", "migrate", NULL},
     2,
     "",
     "tgxd migrate: no database URL: pass --database-url or set TGX_DATABASE_URL\n",
     0},
    {{"tgxd", "migrate", "--database-url", "not a url", NULL},
     1,
     "",
     "tgxd migrate: invalid database URL: missing \"=\" after \"not\" in connection info string\n",
     0},
};

Test(cli, table_of_command_lines, .init = no_env)
{
    for (size_t i = 0; i < sizeof cli_cases / sizeof cli_cases[0]; i++) {
        const struct cli_case *k = &cli_cases[i];
        struct captured c = run_cli(k->argv);
        cr_expect_eq(c.status, k->status, "row %zu (%s %s): status %d, expected %d", i, k->argv[1],
                     k->argv[1] ? k->argv[2] : "", c.status, k->status);
        if (k->out[0] == '\0')
            cr_expect_str_empty(c.out, "row %zu: stdout should be empty, is \"%s\"", i, c.out);
        else
            cr_expect(strstr(c.out, k->out) != NULL, "row %zu: stdout \"%s\" lacks \"%s\"", i, c.out, k->out);
        if (k->err_is_prefix)
            cr_expect(strncmp(c.err, k->err, strlen(k->err)) == 0,
                      "row %zu: stderr \"%s\" does not start with \"%s\"", i, c.err, k->err);
        else
            cr_expect_str_eq(c.err, k->err, "row %zu: stderr \"%s\", expected \"%s\"", i, c.err, k->err);
        captured_free(&c);
    }
}

Test(cli, errors_are_one_line, .init = no_env)
{
    for (size_t i = 0; i < sizeof cli_cases / sizeof cli_cases[0]; i++) {
        const struct cli_case *k = &cli_cases[i];
        if (k->err_is_prefix || k->err[0] == '\0')
            continue;
        struct captured c = run_cli(k->argv);
        char *nl = strchr(c.err, '\n');
        cr_expect(nl != NULL && nl[1] == '\0', "row %zu: stderr is not one line: \"%s\"", i, c.err);
        captured_free(&c);
    }
}

Test(cli, dispatch_passes_the_command_its_arguments, .init = no_env)
{
    const char *args[] = {"tgxd", "echo", "a", "--b", NULL};
    struct captured c = run_cli(args);
    cr_assert_eq(c.status, 0);
    cr_expect_eq(echo_argc, 3);
    cr_expect_str_eq(echo_args[0], "echo");
    cr_expect_str_eq(echo_args[1], "a");
    cr_expect_str_eq(echo_args[2], "--b");
    captured_free(&c);
}

Test(cli, repeated_parses_start_afresh, .init = no_env)
{
    /* getopt keeps global state: a second parse must not see the first one's position */
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"tgxd", "migrate", "--bogus", NULL};
        struct captured c = run_cli(args);
        cr_expect_eq(c.status, 2, "run %d", i);
        cr_expect_str_eq(c.err, "tgxd migrate: unknown option '--bogus'\n", "run %d", i);
        captured_free(&c);
    }
}

Test(cli, ambiguous_long_option)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'a'},
        {"database", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    char *argv[] = {"prog", "--dat", "x", NULL};
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    const struct tgx_cli_io io = {.out = err, .err = err};
    struct tgx_cli_parser p;
    tgx_cli_parser_init(&p, "prog", 3, argv, "", longopts, &io);
    cr_expect_eq(tgx_cli_next(&p), TGX_CLI_ERROR);
    fclose(err);
    cr_expect_str_eq(buf, "prog: option '--dat' is ambiguous\n");
    free(buf);
}

/* ---- migrate's options and their defaults ---- */

static int parse_migrate(const char *const *args, struct tgx_migrate_opts *opts, char **err)
{
    char *argv[16];
    int argc = 0;
    size_t len = 0;
    for (; args[argc] != NULL; argc++)
        argv[argc] = (char *)args[argc];
    argv[argc] = NULL;
    FILE *f = open_memstream(err, &len);
    const struct tgx_cli_io io = {.out = f, .err = f};
    int rc = tgx_migrate_parse_args("tgxd", argc, argv, &io, opts);
    fclose(f);
    return rc;
}

Test(migrate_args, defaults_come_from_the_environment, .init = no_env)
{
    struct tgx_migrate_opts o;
    char *err = NULL;
    setenv("TGX_DATABASE_URL", "dbname=from_env", 1);
    const char *a1[] = {"migrate", NULL};
    cr_assert_eq(parse_migrate(a1, &o, &err), 0, "%s", err);
    cr_expect_str_eq(o.database_url, "dbname=from_env");
    cr_expect_str_eq(o.sql_dir, TGX_SHAREDIR);
    cr_expect_eq(o.help, 0);
    free(err);

    setenv("TGX_SQL_DIR", "/srv/tgx", 1);
    const char *a2[] = {"migrate", NULL};
    cr_assert_eq(parse_migrate(a2, &o, &err), 0);
    cr_expect_str_eq(o.sql_dir, "/srv/tgx");
    free(err);

    const char *a3[] = {"migrate", "--database-url", "dbname=opt", "-s", "/opt/tgx", NULL};
    cr_assert_eq(parse_migrate(a3, &o, &err), 0);
    cr_expect_str_eq(o.database_url, "dbname=opt", "the option wins over the environment");
    cr_expect_str_eq(o.sql_dir, "/opt/tgx");
    free(err);
}

Test(migrate_args, empty_environment_values_count_as_unset, .init = no_env)
{
    struct tgx_migrate_opts o;
    char *err = NULL;
    setenv("TGX_DATABASE_URL", "", 1);
    setenv("TGX_SQL_DIR", "", 1);
    const char *a[] = {"migrate", NULL};
    cr_expect_eq(parse_migrate(a, &o, &err), TGX_EXIT_USAGE);
    cr_expect_str_eq(err, "tgxd migrate: no database URL: pass --database-url or set TGX_DATABASE_URL\n");
    free(err);
    const char *b[] = {"migrate", "-d", "dbname=x", NULL};
    cr_assert_eq(parse_migrate(b, &o, &err), 0);
    cr_expect_str_eq(o.sql_dir, TGX_SHAREDIR);
    free(err);
}

Test(migrate_args, help_needs_no_url, .init = no_env)
{
    struct tgx_migrate_opts o;
    char *err = NULL;
    const char *a[] = {"migrate", "--help", NULL};
    cr_expect_eq(parse_migrate(a, &o, &err), 0);
    cr_expect_eq(o.help, 1);
    cr_expect_str_empty(err);
    free(err);
}
