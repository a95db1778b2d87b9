/* test_keyfile.c: the keeper's key file (0600, exclusive create, ssh-like mode check) and keygen/address. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tgx/keyfile.h"

/* A private directory for one test, removed (with the files named here) at the end. */
static char keyfile_test_dir[64];

static void keyfile_test_setup(void)
{
    strcpy(keyfile_test_dir, "/tmp/tgx-keyfile-XXXXXX");
    cr_assert(mkdtemp(keyfile_test_dir) != NULL);
    unsetenv(TGX_KEYFILE_ENV);
}

static void keyfile_test_teardown(void)
{
    static const char *names[] = {"k", "k2", "bad", "dir/x", "dir"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", keyfile_test_dir, names[i]);
        if (unlink(p) < 0)
            rmdir(p);
    }
    rmdir(keyfile_test_dir);
}

/* The path of NAME in the test directory (a static buffer per call site is enough here). */
static const char *keyfile_test_path(const char *name, char buf[128])
{
    snprintf(buf, 128, "%s/%s", keyfile_test_dir, name);
    return buf;
}

/* Write TEXT to PATH with MODE. */
static void keyfile_test_write(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

/* The output of one command run. */
struct keyfile_test_run {
    int status;
    char *out;
    char *err;
};

static struct keyfile_test_run keyfile_test_cmd(tgx_cli_fn fn, const char *const *args)
{
    struct keyfile_test_run r = {0};
    size_t outlen = 0, errlen = 0;
    char *argv[16];
    int argc = 0;
    for (; args[argc] != NULL; argc++)
        argv[argc] = strdup(args[argc]);
    argv[argc] = NULL;
    FILE *out = open_memstream(&r.out, &outlen);
    FILE *err = open_memstream(&r.err, &errlen);
    cr_assert(out != NULL && err != NULL);
    const struct tgx_cli_io io = {.out = out, .err = err};
    r.status = fn("tgx-keeper", argc, argv, &io);
    fclose(out);
    fclose(err);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return r;
}

static void keyfile_test_run_free(struct keyfile_test_run *r)
{
    free(r->out);
    free(r->err);
}

TestSuite(keyfile, .init = keyfile_test_setup, .fini = keyfile_test_teardown);

Test(keyfile, create_is_0600_exclusive_and_reads_back)
{
    char p[128], err[512];
    keyfile_test_path("k", p);
    mode_t old = umask(0); /* even with no umask the file is 0600 */
    uint8_t secret[32], again[32];
    cr_assert_eq(tgx_keyfile_create(p, secret, err, sizeof err), 0, "%s", err);
    umask(old);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", (unsigned)(st.st_mode & 07777));
    cr_expect_eq(st.st_size, 67, "\"0x\" + 64 hex digits + newline");
    cr_assert_eq(tgx_keyfile_read(p, again, err, sizeof err), 0, "%s", err);
    cr_expect(memcmp(secret, again, 32) == 0);
    /* never overwritten */
    uint8_t other[32];
    cr_expect_eq(tgx_keyfile_create(p, other, err, sizeof err), -TGX_ERR_STATE);
    cr_expect(strstr(err, "already exists") != NULL, "%s", err);
    cr_assert_eq(tgx_keyfile_read(p, again, err, sizeof err), 0);
    cr_expect(memcmp(secret, again, 32) == 0, "the key file changed");
    /* a directory that does not exist */
    char q[128];
    cr_expect_eq(tgx_keyfile_create(keyfile_test_path("nodir/k", q), other, err, sizeof err), -TGX_ERR_IO);
    cr_expect(strstr(err, "could not create") != NULL, "%s", err);
}

Test(keyfile, modes_refused_like_ssh)
{
    static const struct {
        mode_t mode;
        int rc;
    } rows[] = {
        {0600, 0},
        {0400, 0},
        {0700, 0},
        {0644, -TGX_ERR_STATE},
        {0640, -TGX_ERR_STATE},
        {0604, -TGX_ERR_STATE},
        {0660, -TGX_ERR_STATE},
        {0601, -TGX_ERR_STATE},
        {0610, -TGX_ERR_STATE},
    };
    char p[128], err[512];
    keyfile_test_path("k", p);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        keyfile_test_write(p, "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n",
                           rows[i].mode);
        uint8_t secret[32];
        err[0] = '\0';
        cr_expect_eq(tgx_keyfile_read(p, secret, err, sizeof err), rows[i].rc, "row %zu mode %o: %s", i,
                     (unsigned)rows[i].mode, err);
        if (rows[i].rc != 0)
            cr_expect(strstr(err, "too open") != NULL, "row %zu: %s", i, err);
        chmod(p, 0600);
    }
    /* a directory is not a key file */
    char d[128];
    keyfile_test_path("dir", d);
    cr_assert_eq(mkdir(d, 0700), 0);
    uint8_t secret[32];
    cr_expect_eq(tgx_keyfile_read(d, secret, err, sizeof err), -TGX_ERR_STATE, "%s", err);
    /* a missing file */
    cr_expect_eq(tgx_keyfile_read(keyfile_test_path("k2", d), secret, err, sizeof err), -TGX_ERR_IO);
    cr_expect(strstr(err, "could not open") != NULL, "%s", err);
}

Test(keyfile, contents)
{
    static const struct {
        const char *text;
        int rc;
    } rows[] = {
        {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n", 0},
        {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", 0},
        {"  0XAC0974BEC39A17E36BA4A6B4D238FF944BACB478CBED5EFCAE784D7BF4F2FF80 \r\n\n", 0},
        {"", -TGX_ERR_INVAL},
        {"\n", -TGX_ERR_INVAL},
        {"0x", -TGX_ERR_INVAL},
        {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8\n", -TGX_ERR_INVAL},   /* 63 */
        {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff800\n", -TGX_ERR_INVAL}, /* 65 */
        {"0xzc0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n", -TGX_ERR_INVAL},
        {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\nsecond line\n", -TGX_ERR_INVAL},
        {"0x0000000000000000000000000000000000000000000000000000000000000000\n", -TGX_ERR_INVAL}, /* zero */
        {"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n", -TGX_ERR_INVAL}, /* n */
    };
    char p[128], err[512];
    keyfile_test_path("bad", p);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        keyfile_test_write(p, rows[i].text, 0600);
        uint8_t secret[32];
        err[0] = '\0';
        cr_expect_eq(tgx_keyfile_read(p, secret, err, sizeof err), rows[i].rc, "row %zu: %s", i, err);
        if (rows[i].rc == 0)
            cr_expect_eq(secret[0], 0xac, "row %zu", i);
        else
            cr_expect(strstr(err, "ac0974") == NULL && strstr(err, "AC0974") == NULL, "row %zu leaks the key",
                      i);
    }
    /* a big file is refused without reading it all */
    char big[1024];
    memset(big, '0', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    keyfile_test_write(p, big, 0600);
    uint8_t secret[32];
    cr_expect_eq(tgx_keyfile_read(p, secret, err, sizeof err), -TGX_ERR_INVAL);
}

Test(keyfile, keygen_and_address_commands)
{
    char p[128];
    keyfile_test_path("k", p);
    struct keyfile_test_run g =
        keyfile_test_cmd(tgx_keyfile_keygen_command, (const char *[]){"keygen", "--key", p, NULL});
    cr_assert_eq(g.status, TGX_EXIT_OK, "%s", g.err);
    cr_expect_eq(strlen(g.out), 43, "one address line: %s", g.out);
    cr_expect(strncmp(g.out, "0x", 2) == 0);
    struct keyfile_test_run a =
        keyfile_test_cmd(tgx_keyfile_address_command, (const char *[]){"address", "-k", p, NULL});
    cr_assert_eq(a.status, TGX_EXIT_OK, "%s", a.err);
    cr_expect_str_eq(a.out, g.out);
    cr_expect_str_eq(a.err, "");
    keyfile_test_run_free(&a);
    /* the environment names the file when --key is absent */
    setenv(TGX_KEYFILE_ENV, p, 1);
    a = keyfile_test_cmd(tgx_keyfile_address_command, (const char *[]){"address", NULL});
    cr_assert_eq(a.status, TGX_EXIT_OK, "%s", a.err);
    cr_expect_str_eq(a.out, g.out);
    keyfile_test_run_free(&a);
    /* keygen refuses to overwrite */
    struct keyfile_test_run g2 =
        keyfile_test_cmd(tgx_keyfile_keygen_command, (const char *[]){"keygen", NULL});
    cr_expect_eq(g2.status, TGX_EXIT_FAILURE);
    cr_expect(strstr(g2.err, "already exists") != NULL, "%s", g2.err);
    cr_expect_str_eq(g2.out, "");
    keyfile_test_run_free(&g2);
    unsetenv(TGX_KEYFILE_ENV);
    /* a known key */
    keyfile_test_write(p, "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n", 0600);
    a = keyfile_test_cmd(tgx_keyfile_address_command, (const char *[]){"address", "--key=", NULL});
    cr_expect_eq(a.status, TGX_EXIT_USAGE, "empty value");
    keyfile_test_run_free(&a);
    char opt[160];
    snprintf(opt, sizeof opt, "--key=%s", p);
    a = keyfile_test_cmd(tgx_keyfile_address_command, (const char *[]){"address", opt, NULL});
    cr_assert_eq(a.status, TGX_EXIT_OK, "%s", a.err);
    cr_expect_str_eq(a.out, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n");
    keyfile_test_run_free(&a);
    /* too open */
    chmod(p, 0644);
    a = keyfile_test_cmd(tgx_keyfile_address_command, (const char *[]){"address", "--key", p, NULL});
    cr_expect_eq(a.status, TGX_EXIT_FAILURE);
    cr_expect(strstr(a.err, "too open") != NULL, "%s", a.err);
    cr_expect_str_eq(a.out, "");
    keyfile_test_run_free(&a);
    keyfile_test_run_free(&g);
}

Test(keyfile, command_line_errors)
{
    static const struct {
        int keygen;
        const char *args[4];
        int status;
        const char *err; /* a part of the one-line message, or NULL for none */
        const char *out; /* a part of stdout */
    } rows[] = {
        {1, {"keygen", NULL}, TGX_EXIT_USAGE, "tgx-keeper keygen: no key file", NULL},
        {0, {"address", NULL}, TGX_EXIT_USAGE, "tgx-keeper address: no key file", NULL},
        {1, {"keygen", "--bogus", NULL}, TGX_EXIT_USAGE, "unknown option '--bogus'", NULL},
        {0, {"address", "-x", NULL}, TGX_EXIT_USAGE, "unknown option", NULL},
        {1, {"keygen", "--key", NULL}, TGX_EXIT_USAGE, "option '--key' needs a value", NULL},
        {0, {"address", "-k", NULL}, TGX_EXIT_USAGE, "needs a value", NULL},
        {0, {"address", "--key", "a", "extra"}, TGX_EXIT_USAGE, "unexpected argument 'extra'", NULL},
        {1, {"keygen", "--help", NULL}, TGX_EXIT_OK, NULL, "Usage: tgx-keeper keygen"},
        {0, {"address", "-h", NULL}, TGX_EXIT_OK, NULL, "Usage: tgx-keeper address"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *args[5] = {rows[i].args[0], rows[i].args[1], rows[i].args[2], rows[i].args[3], NULL};
        struct keyfile_test_run r =
            keyfile_test_cmd(rows[i].keygen ? tgx_keyfile_keygen_command : tgx_keyfile_address_command, args);
        cr_expect_eq(r.status, rows[i].status, "row %zu: %s", i, r.err);
        if (rows[i].err != NULL) {
            cr_expect(strstr(r.err, rows[i].err) != NULL, "row %zu: %s", i, r.err);
            char *nl = strchr(r.err, '\n');
            cr_expect(nl != NULL && nl[1] == '\0', "row %zu: one line: %s", i, r.err);
        } else {
            cr_expect_str_eq(r.err, "", "row %zu", i);
        }
        if (rows[i].out != NULL)
            cr_expect(strstr(r.out, rows[i].out) != NULL, "row %zu: %s", i, r.out);
        else
            cr_expect_str_eq(r.out, "", "row %zu", i);
        keyfile_test_run_free(&r);
    }
}
