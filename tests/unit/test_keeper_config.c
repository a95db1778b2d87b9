/* test_keeper_config.c: the settings table of `tgx-keeper run` (keeper.h): defaults, the file,
 * TGX_KEEPER_* and the command line and their precedence, bad values, the BOOL kind (--dry-run),
 * the --key option of key_file, and the sample compiled into the binary. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgx/keeper.h"

#ifndef TGX_SHAREDIR
#define TGX_SHAREDIR "."
#endif

/* Every TGX_KEEPER_ variable of the table unset, so the host's environment does not leak in. */
static void keeper_config_clean_env(void)
{
    const struct tgx_config_table *t = &tgx_keeper_config_table;
    for (size_t i = 0; i < t->nparams; i++) {
        char name[80] = "TGX_KEEPER_";
        size_t o = strlen(name);
        for (const char *p = t->params[i].name; *p != '\0'; p++)
            name[o++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        name[o] = '\0';
        unsetenv(name);
    }
    unsetenv("TGX_KEEPER_CONFIG");
}

TestSuite(keeper_config, .init = keeper_config_clean_env);

/* Parse ARGV (NULL-terminated) into C; the exit status, the message in ERRBUF. */
static int parse(struct tgx_keeper_config *c, char **argv, char *errbuf, size_t errlen,
                 struct tgx_config_cli *cli)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    errbuf[0] = '\0';
    FILE *err = fmemopen(errbuf, errlen, "w");
    const struct tgx_cli_io io = {stdout, err};
    tgx_keeper_config_init(c);
    int rc = tgx_keeper_config_parse_args(c, "tgx-keeper run", argc, argv, &io, cli);
    fclose(err);
    return rc;
}

Test(keeper_config, defaults)
{
    struct tgx_keeper_config c;
    tgx_keeper_config_init(&c);
    cr_expect_str_eq(c.api, "http://127.0.0.1:9002");
    cr_expect_null(c.key_file);
    cr_expect_eq(c.rpc.n, 0);
    cr_expect_not(c.dry_run);
    cr_expect_eq(c.concurrency, 4);
    cr_expect_eq(c.checkin_interval, 60);
    cr_expect_eq(c.poll_wait, 25);
    cr_expect_eq(c.shutdown_timeout, 20);
    cr_expect_str_eq(c.log_level, "info");
    tgx_keeper_config_cleanup(&c);
}

Test(keeper_config, precedence_file_env_command_line)
{
    char path[] = "/tmp/tgx_keeper_config_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char text[] = "# keeper\n"
                               "api = http://file:1\n"
                               "key_file = /from/file\n"
                               "concurrency = 3\n"
                               "poll_wait = 7\n"
                               "dry_run = yes\n"
                               "rpc = 1=https://one\n"
                               "rpc = 10=https://ten\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    setenv("TGX_KEEPER_CONCURRENCY", "5", 1);
    setenv("TGX_KEEPER_KEY_FILE", "/from/env", 1);
    setenv("TGX_KEEPER_RPC", "5=https://five, 6=https://six", 1);
    setenv("TGX_KEEPER_CONFIG", path, 1);

    struct tgx_keeper_config c;
    struct tgx_config_cli cli;
    char err[256];
    char *argv[] = {"run", "--concurrency=8", "--key", "/from/args", "--rpc", "9=https://nine", NULL};
    cr_assert_eq(parse(&c, argv, err, sizeof err, &cli), 0, "%s", err);
    cr_expect_str_eq(c.api, "http://file:1", "from the file (TGX_KEEPER_CONFIG)");
    cr_expect_str_eq(c.config_file, path);
    cr_expect_eq(c.poll_wait, 7, "from the file");
    cr_expect(c.dry_run, "a BOOL from the file");
    cr_expect_eq(c.concurrency, 8, "the command line wins over the environment and the file");
    cr_expect_str_eq(c.key_file, "/from/args", "--key sets key_file");
    cr_expect_eq(c.rpc.n, 1, "a list from the command line replaces the others");
    cr_expect_str_eq(c.rpc.v[0], "9=https://nine");
    tgx_keeper_config_cleanup(&c);

    char *argv2[] = {"run", NULL};
    cr_assert_eq(parse(&c, argv2, err, sizeof err, &cli), 0, "%s", err);
    cr_expect_eq(c.concurrency, 5, "the environment wins over the file");
    cr_expect_str_eq(c.key_file, "/from/env", "TGX_KEEPER_KEY_FILE");
    cr_expect_eq(c.rpc.n, 2, "TGX_KEEPER_RPC is a comma-separated list");
    cr_expect_str_eq(c.rpc.v[1], "6=https://six");
    tgx_keeper_config_cleanup(&c);

    char *argv3[] = {"run", "--dry-run=false", NULL};
    cr_assert_eq(parse(&c, argv3, err, sizeof err, &cli), 0, "%s", err);
    cr_expect_not(c.dry_run, "--dry-run=false wins over the file");
    tgx_keeper_config_cleanup(&c);
    unsetenv("TGX_KEEPER_CONFIG");
    char *argv4[] = {"run", "--dry-run", NULL};
    cr_assert_eq(parse(&c, argv4, err, sizeof err, &cli), 0, "%s", err);
    cr_expect(c.dry_run, "--dry-run alone is true");
    tgx_keeper_config_cleanup(&c);
    unlink(path);
}

Test(keeper_config, bad_values_and_command_lines)
{
    static const char *lines[][4] = {
        {"run", "--concurrency", "0", NULL},
        {"run", "--concurrency", "many", NULL},
        {"run", "--poll-wait", "31", NULL},
        {"run", "--poll-wait", "0", NULL},
        {"run", "--api", "ftp://x", NULL},
        {"run", "--rpc", "x=https://a", NULL},
        {"run", "--rpc", "1=ftp://a", NULL},
        {"run", "--dry-run=maybe", NULL, NULL},
        {"run", "--log-level", "loud", NULL},
        {"run", "--bogus", NULL, NULL},
        {"run", "extra", NULL, NULL},
        {"run", "--key", NULL, NULL},
        {"run", "--config", "/nonexistent/keeper.conf", NULL},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char *argv[4] = {NULL, NULL, NULL, NULL};
        for (int a = 0; a < 4 && lines[i][a] != NULL; a++)
            argv[a] = (char *)lines[i][a];
        struct tgx_keeper_config c;
        struct tgx_config_cli cli;
        char err[512];
        int rc = parse(&c, argv, err, sizeof err, &cli);
        int want = i == sizeof lines / sizeof lines[0] - 1 ? TGX_EXIT_FAILURE : TGX_EXIT_USAGE;
        cr_expect_eq(rc, want, "row %zu: %d (%s)", i, rc, err);
        cr_expect(strncmp(err, "tgx-keeper run: ", 16) == 0, "row %zu: names the command: %s", i, err);
        char *nl = strchr(err, '\n');
        cr_expect(nl != NULL && nl[1] == '\0', "row %zu: one line: %s", i, err);
        tgx_keeper_config_cleanup(&c);
    }
    /* an environment value is checked as well */
    setenv("TGX_KEEPER_CHECKIN_INTERVAL", "0", 1);
    struct tgx_keeper_config c;
    struct tgx_config_cli cli;
    char err[512];
    char *argv[] = {"run", NULL};
    cr_expect_eq(parse(&c, argv, err, sizeof err, &cli), TGX_EXIT_USAGE);
    cr_expect(strstr(err, "TGX_KEEPER_CHECKIN_INTERVAL") != NULL, "%s", err);
    tgx_keeper_config_cleanup(&c);
    unsetenv("TGX_KEEPER_CHECKIN_INTERVAL");
}

Test(keeper_config, help_and_print_config_flags)
{
    struct tgx_keeper_config c;
    struct tgx_config_cli cli;
    char err[256];
    char *argv[] = {"run", "--print-config", NULL};
    cr_expect_eq(parse(&c, argv, err, sizeof err, &cli), 0);
    cr_expect(cli.print_config);
    tgx_keeper_config_cleanup(&c);
    char *argv2[] = {"run", "--help", NULL};
    cr_expect_eq(parse(&c, argv2, err, sizeof err, &cli), 0);
    cr_expect(cli.help);
    tgx_keeper_config_cleanup(&c);
    /* the usage names the options as typed */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    tgx_config_table_write_usage(&tgx_keeper_config_table, f);
    fclose(f);
    cr_expect(strstr(text, "--key FILE") != NULL);
    cr_expect(strstr(text, "--dry-run ") != NULL);
    cr_expect(strstr(text, "TGX_KEEPER_CONFIG") != NULL);
    free(text);
}

/* contrib/tgx-keeper.conf.sample is exactly what `tgx-keeper run --print-config` writes, and it loads. */
Test(keeper_config, sample_matches_the_table_and_loads)
{
    char *gen = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&gen, &len);
    tgx_keeper_config_write_sample(f);
    fclose(f);
    struct tgx_buf file;
    tgx_buf_init(&file);
    cr_assert_eq(tgx_buf_read_file(&file, TGX_SHAREDIR "/contrib/tgx-keeper.conf.sample"), 0,
                 "contrib/tgx-keeper.conf.sample is missing");
    cr_expect_str_eq(tgx_buf_str(&file), gen,
                     "contrib/tgx-keeper.conf.sample differs from the table: regenerate it with "
                     "`build/tgx-keeper run --print-config > contrib/tgx-keeper.conf.sample`");
    const struct tgx_config_table *t = &tgx_keeper_config_table;
    for (size_t i = 0; i < t->nparams; i++) {
        char key[80];
        snprintf(key, sizeof key, "\n#%s =", t->params[i].name);
        cr_expect(strstr(gen, key) != NULL, "%s is in the sample", t->params[i].name);
    }
    /* uncommented, the sample's settings load and give the defaults */
    char path[] = "/tmp/tgx_keeper_sample_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    for (char *line = gen; *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t n = nl != NULL ? (size_t)(nl - line + 1) : strlen(line);
        bool setting = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && memchr(line, '=', n) != NULL;
        bool empty = setting && line[n - 2] == '=';
        if (!empty)
            cr_assert_eq(write(fd, setting ? line + 1 : line, setting ? n - 1 : n),
                         (ssize_t)(setting ? n - 1 : n));
        line += n;
    }
    close(fd);
    struct tgx_keeper_config c;
    tgx_keeper_config_init(&c);
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_expect_eq(tgx_config_table_load_file(t, &c, path, &err), 0, "%s", tgx_buf_str(&err));
    cr_expect_eq(c.concurrency, 4);
    cr_expect_not(c.dry_run);
    tgx_buf_cleanup(&err);
    tgx_keeper_config_cleanup(&c);
    unlink(path);
    tgx_buf_cleanup(&file);
    free(gen);
}
