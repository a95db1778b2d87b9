/* test_log.c: log levels, TGX_LOG_LEVEL, formatting only when the level is on, the line's shape. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tgx/err.h"
#include "tgx/log.h"

Test(log, parse_level_table)
{
    static const struct {
        const char *name;
        int rc;
        enum tgx_log_level level;
    } cases[] = {
        {"error", 0, TGX_LOG_ERROR},
        {"ERROR", 0, TGX_LOG_ERROR},
        {"warning", 0, TGX_LOG_WARNING},
        {"warn", 0, TGX_LOG_WARNING},
        {"Warn", 0, TGX_LOG_WARNING},
        {"info", 0, TGX_LOG_INFO},
        {"debug", 0, TGX_LOG_DEBUG},
        {"", -TGX_ERR_INVAL, TGX_LOG_INFO},
        {"verbose", -TGX_ERR_INVAL, TGX_LOG_INFO},
        {"3", -TGX_ERR_INVAL, TGX_LOG_INFO},
        {"info ", -TGX_ERR_INVAL, TGX_LOG_INFO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum tgx_log_level level = TGX_LOG_INFO;
        int rc = tgx_log_parse_level(cases[i].name, &level);
        cr_expect_eq(rc, cases[i].rc, "row %zu \"%s\": rc %d", i, cases[i].name, rc);
        cr_expect_eq(level, cases[i].level, "row %zu \"%s\": level %d", i, cases[i].name, level);
    }
    enum tgx_log_level level;
    cr_expect_eq(tgx_log_parse_level(NULL, &level), -TGX_ERR_INVAL);
}

Test(log, level_names_round_trip)
{
    for (int l = TGX_LOG_ERROR; l <= TGX_LOG_DEBUG; l++) {
        enum tgx_log_level back;
        cr_assert_eq(tgx_log_parse_level(tgx_log_level_name((enum tgx_log_level)l), &back), 0);
        cr_expect_eq((int)back, l);
    }
}

/* A log stream in memory. */
static char *log_text;
static size_t log_len;
static FILE *log_file;

static void capture(void)
{
    log_file = open_memstream(&log_text, &log_len);
    cr_assert(log_file != NULL);
    tgx_log_set_stream(log_file);
    unsetenv("TGX_LOG_LEVEL");
}

static void release(void)
{
    tgx_log_set_stream(NULL);
    fclose(log_file);
    free(log_text);
}

TestSuite(log_output, .init = capture, .fini = release);

Test(log_output, level_from_environment)
{
    cr_expect_eq(tgx_log_init_from_env(), 0);
    cr_expect_eq(tgx_log_threshold, TGX_LOG_INFO, "unset: info");
    setenv("TGX_LOG_LEVEL", "debug", 1);
    cr_expect_eq(tgx_log_init_from_env(), 0);
    cr_expect_eq(tgx_log_threshold, TGX_LOG_DEBUG);
    setenv("TGX_LOG_LEVEL", "", 1);
    cr_expect_eq(tgx_log_init_from_env(), 0);
    cr_expect_eq(tgx_log_threshold, TGX_LOG_INFO, "empty: info");
    setenv("TGX_LOG_LEVEL", "loud", 1);
    cr_expect_eq(tgx_log_init_from_env(), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_log_threshold, TGX_LOG_INFO, "invalid: info");
    fflush(log_file);
    cr_expect(strstr(log_text, "WARNING log: invalid TGX_LOG_LEVEL \"loud\"") != NULL, "%s", log_text);
}

static int calls;

static int counted(void)
{
    return ++calls;
}

Test(log_output, arguments_are_not_evaluated_when_the_level_is_off)
{
    tgx_log_set_level(TGX_LOG_WARNING);
    calls = 0;
    tgx_log_debug("test", "value %d", counted());
    tgx_log_info("test", "value %d", counted());
    cr_expect_eq(calls, 0);
    tgx_log_warning("test", "value %d", counted());
    tgx_log_error("test", "value %d", counted());
    cr_expect_eq(calls, 2);
    fflush(log_file);
    cr_expect(strstr(log_text, "value 1") != NULL && strstr(log_text, "value 2") != NULL, "%s", log_text);
}

Test(log_output, line_shape)
{
    tgx_log_set_level(TGX_LOG_DEBUG);
    tgx_log_info("keeper=12", "checked in after %d s", 5);
    tgx_log_debug(NULL, "no subject");
    fflush(log_file);
    /* "2025-01-31 12:00:00.123 UTC [pid] INFO keeper=12: checked in after 5 s\n" */
    char *second = strchr(log_text, '\n');
    cr_assert(second != NULL);
    cr_expect(strstr(log_text, " UTC [") == log_text + 23, "%s", log_text);
    cr_expect(strstr(log_text, "] INFO keeper=12: checked in after 5 s\n") != NULL, "%s", log_text);
    cr_expect(strstr(second + 1, "] DEBUG no subject\n") != NULL, "%s", second + 1);
}
