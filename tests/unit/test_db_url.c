/* test_db_url.c: passwords are masked in URLs and redacted from messages; bad URLs, no server. */
#include <criterion/criterion.h>
#include <string.h>

#include "tgx/db.h"

Test(db_url, mask_table)
{
    static const struct {
        const char *url;
        const char *masked;
    } cases[] = {
        {"postgresql://u:secret@host:5432/db", "postgresql://u:***@host:5432/db"},
        {"postgres://u:secret@h1:5432,h2:5433/db", "postgres://u:***@h1:5432,h2:5433/db"},
        {"postgres://u@host/db", "postgres://u@host/db"},
        {"postgresql://u:@host/db", "postgresql://u:@host/db"},
        {"postgresql://host/db?password=secret&sslmode=require",
         "postgresql://host/db?password=***&sslmode=require"},
        {"postgresql://u:p%40ss@h/db?sslmode=disable&password=x",
         "postgresql://u:***@h/db?sslmode=disable&password=***"},
        {"postgresql:///db?host=/tmp/pg&port=5432", "postgresql:///db?host=/tmp/pg&port=5432"},
        {"host=h password=secret dbname=d", "host=h password=*** dbname=d"},
        {"host=h password = 'a b\\' c' dbname=d", "host=h password = *** dbname=d"},
        {"password=secret", "password=***"},
        {"  password=s\\ cret user=x", "  password=*** user=x"},
        {"user=password dbname=password", "user=password dbname=password"},
        {"dbname=x", "dbname=x"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_buf b;
        tgx_buf_init(&b);
        tgx_db_mask_url(cases[i].url, &b);
        cr_expect_str_eq(tgx_buf_str(&b), cases[i].masked, "row %zu: \"%s\"", i, tgx_buf_str(&b));
        tgx_buf_cleanup(&b);
    }
}

Test(db_url, redact_table)
{
    static const struct {
        const char *text;
        const char *url;
        const char *redacted;
    } cases[] = {
        {"token \"p%40ss\" and p@ss", "postgresql://u:p%40ss@h/db", "token \"***\" and ***"},
        {"no secret here", "postgresql://u:hunter2@h/db", "no secret here"},
        {"after a b", "password='a b' host=x", "after ***"},
        {"missing \"=\" after \"s3cret\"", "host=x password s3cret", "missing \"=\" after \"***\""},
        {"x", "dbname=x", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tgx_buf b;
        tgx_buf_init(&b);
        tgx_db_redact(cases[i].text, cases[i].url, &b);
        cr_expect_str_eq(tgx_buf_str(&b), cases[i].redacted, "row %zu: \"%s\"", i, tgx_buf_str(&b));
        tgx_buf_cleanup(&b);
    }
}

Test(db_url, invalid_url_is_refused_without_its_password)
{
    static const char *const bad[] = {
        "not a url",
        "postgresql://u:s3cret@127.0.0.1/db?bogus=1",
        "postgresql://u:s3cret%zz@127.0.0.1/db",
        "host=x password='s3cret",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tgx_buf err;
        tgx_buf_init(&err);
        struct tgx_db *db = (struct tgx_db *)1;
        cr_expect_eq(tgx_db_connect(bad[i], "test", &db, &err), -TGX_ERR_INVAL, "row %zu", i);
        cr_expect_null(db, "row %zu", i);
        cr_expect(strncmp(tgx_buf_str(&err), "invalid database URL: ", 22) == 0, "row %zu: %s", i,
                  tgx_buf_str(&err));
        cr_expect(strstr(tgx_buf_str(&err), "s3cret") == NULL, "row %zu: password shown: %s", i,
                  tgx_buf_str(&err));
        cr_expect(strchr(tgx_buf_str(&err), '\n') == NULL, "row %zu: not one line", i);
        tgx_buf_cleanup(&err);
    }
}

Test(db_url, unreachable_server_is_reported_without_its_password)
{
    struct tgx_buf err;
    tgx_buf_init(&err);
    struct tgx_db *db = NULL;
    /* port 1 on the loopback: nothing listens, the connection is refused at once */
    int rc = tgx_db_connect("postgresql://u:s3cret@127.0.0.1:1/db?connect_timeout=2", "test", &db, &err);
    cr_expect_eq(rc, -TGX_ERR_DB);
    cr_expect_null(db);
    cr_expect(strncmp(tgx_buf_str(&err), "could not connect to the database: ", 35) == 0, "%s",
              tgx_buf_str(&err));
    cr_expect(strstr(tgx_buf_str(&err), "s3cret") == NULL, "%s", tgx_buf_str(&err));
    cr_expect(strchr(tgx_buf_str(&err), '\n') == NULL, "not one line: %s", tgx_buf_str(&err));
    tgx_buf_cleanup(&err);
}
