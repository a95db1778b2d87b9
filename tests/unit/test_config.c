/* test_config.c: the settings table of `tgxd serve`: defaults, bounds, the file, the environment,
 * the command line and their precedence, and the sample compiled into the binary. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgx/buf.h"
#include "tgx/config.h"

#ifndef TGX_SHAREDIR
#define TGX_SHAREDIR "."
#endif

/* Every TGX_ variable of the table unset, so the host's environment does not leak in. */
static void config_clean_env(void)
{
    for (size_t i = 0; i < tgx_config_nparams; i++) {
        char name[64] = "TGX_";
        size_t o = 4;
        for (const char *p = tgx_config_params[i].name; *p != '\0'; p++)
            name[o++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        name[o] = '\0';
        unsetenv(name);
    }
    unsetenv("TGX_CONFIG");
}

TestSuite(config, .init = config_clean_env);

Test(config, defaults)
{
    struct tgx_config c;
    tgx_config_init(&c);
    cr_expect_str_eq(c.listen, "127.0.0.1:9002");
    cr_expect_str_eq(c.roles, "all");
    cr_expect_eq(c.threads, 2);
    cr_expect_eq(c.db_pool, 8);
    cr_expect_eq(c.body_limit, 1024 * 1024);
    cr_expect_eq(c.json_depth, 32);
    cr_expect_null(c.database_url);
    cr_expect_eq(c.rpc.n, 0);
    char host[64];
    unsigned port;
    cr_expect_eq(tgx_config_listen(&c, host, sizeof host, &port), 0);
    cr_expect_str_eq(host, "127.0.0.1");
    cr_expect_eq(port, 9002);
    tgx_config_cleanup(&c);
}

Test(config, values_table)
{
    static const struct {
        const char *name;
        const char *value;
        bool ok;
    } cases[] = {
        {"threads", "4", true},
        {"threads", "0", false},
        {"threads", "65", false},
        {"threads", "2x", false},
        {"threads", "-1", false},
        {"body_limit", "64k", true},
        {"body_limit", "2M", true},
        {"body_limit", "1", false},
        {"listen", "0.0.0.0:80", true},
        {"listen", "[::1]:9002", true},
        {"listen", "nohost", false},
        {"listen", "h:70000", false},
        {"roles", "api", true},
        {"roles", "all", true},
        {"roles", "scheduler", true},
        {"roles", "api,scheduler,dispatcher,monitor,health", true},
        {"roles", "api,sched", false},
        {"roles", "events", false},
        {"rpc", "1=https://x", true},
        {"rpc", "1=ftp://x", false},
        {"rpc", "x=https://x", false},
        {"default_fee_wei", "5", true},
        {"default_fee_wei", "10=7", true},
        {"default_fee_wei", "x=7", false},
        {"keeper_fee_wei", "1.5", false},
        {"log_level", "debug", true},
        {"log_level", "loud", false},
        {"fee_from_address", "0x0000000000000000000000000000000000000002", true},
        {"fee_from_address", "0x12", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_config c;
        tgx_config_init(&c);
        const struct tgx_config_param *p = tgx_config_find(cases[i].name);
        cr_assert_not_null(p, "row %zu: no setting %s", i, cases[i].name);
        struct tgx_buf err;
        tgx_buf_init(&err);
        int rc = tgx_config_set(&c, p, cases[i].value, &err);
        cr_expect_eq(rc == 0, cases[i].ok, "row %zu: %s = %s: %s", i, cases[i].name, cases[i].value,
                     tgx_buf_str(&err));
        if (!cases[i].ok)
            cr_expect(strstr(tgx_buf_str(&err), cases[i].name) != NULL,
                      "row %zu: the message names the setting", i);
        tgx_buf_cleanup(&err);
        tgx_config_cleanup(&c);
    }
    cr_expect_not_null(tgx_config_find("database-url"), "option spelling");
    cr_expect_null(tgx_config_find("nope"));
}

Test(config, precedence_file_env_command_line)
{
    char path[] = "/tmp/tgx_config_test_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char text[] = "# a comment\n"
                               "threads = 3\n"
                               "db_pool = 5   # trailing comment\n"
                               "listen = \"127.0.0.1:7000\"\n"
                               "rpc = 1=https://one\n"
                               "rpc = 10=https://ten\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    setenv("TGX_DB_POOL", "6", 1);
    setenv("TGX_RPC", "5=https://five, 6=https://six", 1);
    char *argv[] = {"serve", "--config", path, "--db-pool=7", "--rpc", "9=https://nine", NULL};
    struct tgx_config c;
    struct tgx_config_cli cli;
    tgx_config_init(&c);
    const struct tgx_cli_io io = {stdout, stderr};
    cr_assert_eq(tgx_config_parse_args(&c, "tgxd serve", 6, argv, &io, &cli), 0);
    cr_expect_eq(c.threads, 3, "from the file");
    cr_expect_str_eq(c.listen, "127.0.0.1:7000", "quotes removed");
    cr_expect_eq(c.db_pool, 7, "the command line wins over the environment and the file");
    cr_expect_eq(c.rpc.n, 1, "a list from the command line replaces the others");
    cr_expect_str_eq(c.rpc.v[0], "9=https://nine");
    tgx_config_cleanup(&c);

    char *argv2[] = {"serve", "--config", path, NULL};
    tgx_config_init(&c);
    cr_assert_eq(tgx_config_parse_args(&c, "tgxd serve", 3, argv2, &io, &cli), 0);
    cr_expect_eq(c.db_pool, 6, "the environment wins over the file");
    cr_expect_eq(c.rpc.n, 2, "TGX_RPC is a comma-separated list");
    cr_expect_str_eq(c.rpc.v[1], "6=https://six");
    tgx_config_cleanup(&c);
    unlink(path);
    unsetenv("TGX_DB_POOL");
    unsetenv("TGX_RPC");
}

Test(config, bad_command_lines)
{
    static const char *lines[][4] = {
        {"serve", "--threads", "99", NULL},
        {"serve", "--bogus", NULL, NULL},
        {"serve", "extra", NULL, NULL},
        {"serve", "--config", "/nonexistent/tgxd.conf", NULL},
    };
    static const int want[] = {TGX_EXIT_USAGE, TGX_EXIT_USAGE, TGX_EXIT_USAGE, TGX_EXIT_FAILURE};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char *argv[4];
        int argc = 0;
        for (; argc < 4 && lines[i][argc] != NULL; argc++)
            argv[argc] = (char *)lines[i][argc];
        struct tgx_config c;
        struct tgx_config_cli cli;
        tgx_config_init(&c);
        char buf[512] = "";
        FILE *err = fmemopen(buf, sizeof buf, "w");
        const struct tgx_cli_io io = {stdout, err};
        int rc = tgx_config_parse_args(&c, "tgxd serve", argc, argv, &io, &cli);
        fclose(err);
        cr_expect_eq(rc, want[i], "row %zu: %d (%s)", i, rc, buf);
        cr_expect(strncmp(buf, "tgxd serve: ", 12) == 0, "row %zu: one line naming the command: %s", i, buf);
        tgx_config_cleanup(&c);
    }
}

Test(config, print_config_flag)
{
    char *argv[] = {"serve", "--print-config", NULL};
    struct tgx_config c;
    struct tgx_config_cli cli;
    tgx_config_init(&c);
    const struct tgx_cli_io io = {stdout, stderr};
    cr_expect_eq(tgx_config_parse_args(&c, "tgxd serve", 2, argv, &io, &cli), 0);
    cr_expect(cli.print_config);
    tgx_config_cleanup(&c);
}

/* contrib/tgxd.conf.sample is exactly what `tgxd serve --print-config` writes, and it loads. */
Test(config, sample_matches_the_table_and_loads)
{
    char *gen = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&gen, &len);
    tgx_config_write_sample(f);
    fclose(f);
    struct tgx_buf file;
    tgx_buf_init(&file);
    cr_assert_eq(tgx_buf_read_file(&file, TGX_SHAREDIR "/contrib/tgxd.conf.sample"), 0,
                 "contrib/tgxd.conf.sample is missing");
    cr_expect_str_eq(tgx_buf_str(&file), gen,
                     "contrib/tgxd.conf.sample differs from the table: regenerate it with "
                     "`build/tgxd serve --print-config > contrib/tgxd.conf.sample`");
    /* every setting is documented, and uncommenting the sample's lines gives the defaults */
    for (size_t i = 0; i < tgx_config_nparams; i++) {
        char key[80];
        snprintf(key, sizeof key, "\n#%s =", tgx_config_params[i].name);
        cr_expect(strstr(gen, key) != NULL, "%s is in the sample", tgx_config_params[i].name);
    }
    char path[] = "/tmp/tgx_config_sample_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    for (char *line = gen; *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t n = nl != NULL ? (size_t)(nl - line + 1) : strlen(line);
        /* "#name = value" lines become settings, other comments stay */
        bool setting = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && memchr(line, '=', n) != NULL;
        const char *from = setting ? line + 1 : line;
        size_t m = setting ? n - 1 : n;
        bool empty = setting && line[n - 2] == '=';
        if (!empty)
            cr_assert_eq(write(fd, from, m), (ssize_t)m);
        line += n;
    }
    close(fd);
    struct tgx_config c;
    tgx_config_init(&c);
    struct tgx_buf err;
    tgx_buf_init(&err);
    cr_expect_eq(tgx_config_load_file(&c, path, &err), 0, "%s", tgx_buf_str(&err));
    cr_expect_eq(c.threads, 2);
    cr_expect_str_eq(c.listen, "127.0.0.1:9002");
    tgx_buf_cleanup(&err);
    tgx_config_cleanup(&c);
    unlink(path);
    tgx_buf_cleanup(&file);
    free(gen);
}
