/* test_buf.c: growable buffers, string vectors, error names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgx/buf.h"

Test(buf, append_and_grow)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_expect_str_eq(tgx_buf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        tgx_buf_printf(&b, "%d,", i % 10);
    cr_expect_eq(b.len, 2000);
    cr_expect_eq(strlen(tgx_buf_str(&b)), 2000);
    cr_expect(strncmp(tgx_buf_str(&b), "0,1,2,", 6) == 0);
    tgx_buf_reset(&b);
    tgx_buf_puts(&b, "ab");
    tgx_buf_putc(&b, 'c');
    tgx_buf_append(&b, "dxx", 1);
    cr_expect_str_eq(tgx_buf_str(&b), "abcd");
    cr_expect(!tgx_buf_oom(&b));
    tgx_buf_cleanup(&b);
}

Test(buf, steal_leaves_the_buffer_empty)
{
    struct tgx_buf b;
    tgx_buf_init(&b);
    char *s = tgx_buf_steal(&b);
    cr_expect_str_eq(s, "", "an empty buffer gives an empty string");
    free(s);
    tgx_buf_puts(&b, "kept");
    s = tgx_buf_steal(&b);
    cr_expect_str_eq(s, "kept");
    cr_expect_str_eq(tgx_buf_str(&b), "");
    free(s);
    tgx_buf_cleanup(&b);
}

Test(buf, read_file)
{
    char path[] = "/tmp/tgx-unit-file.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "SELECT 1;\n\0x", 12), 12);
    close(fd);
    struct tgx_buf b;
    tgx_buf_init(&b);
    cr_expect_eq(tgx_buf_read_file(&b, path), 0);
    cr_expect_eq(b.len, 12);
    cr_expect(memcmp(b.data, "SELECT 1;\n\0x", 12) == 0);
    unlink(path);
    cr_expect_eq(tgx_buf_read_file(&b, path), -TGX_ERR_IO);
    tgx_buf_cleanup(&b);
}

Test(strv, push_sort_find)
{
    struct tgx_strv sv;
    tgx_strv_init(&sv);
    const char *in[] = {"c", "a", "b", "a2", "z", "y", "x", "w", "v"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        cr_assert_eq(tgx_strv_push(&sv, in[i]), 0);
    cr_assert_eq(tgx_strv_pushn(&sv, "mno", 2), 0);
    tgx_strv_sort(&sv);
    cr_expect_str_eq(sv.v[0], "a");
    cr_expect_str_eq(sv.v[1], "a2");
    cr_expect_eq(tgx_strv_find(&sv, "mn"), 4);
    cr_expect_eq(tgx_strv_find(&sv, "q"), -1);
    tgx_strv_cleanup(&sv);
    cr_expect_eq(sv.n, 0);
}

Test(err, names)
{
    cr_expect_str_eq(tgx_err_str(-TGX_ERR_NOMEM), "out of memory");
    cr_expect_str_eq(tgx_err_str(TGX_ERR_NOMEM), "out of memory");
    cr_expect_str_eq(tgx_err_str(0), "success");
    cr_expect_str_eq(tgx_err_str(-999), "unknown error");
}
