/* log.c: levelled log lines on stderr. */
#include "tgx/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum tgx_log_level tgx_log_threshold = TGX_LOG_INFO;

/* The stream lines go to; NULL means stderr (which is not a constant initialiser). */
static FILE *log_stream;

static const struct {
    const char *name;
    enum tgx_log_level level;
} level_names[] = {
    {"error", TGX_LOG_ERROR}, {"warning", TGX_LOG_WARNING}, {"warn", TGX_LOG_WARNING},
    {"info", TGX_LOG_INFO},   {"debug", TGX_LOG_DEBUG},
};

int tgx_log_parse_level(const char *name, enum tgx_log_level *out)
{
    if (name == NULL)
        return -TGX_ERR_INVAL;
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(name, level_names[i].name) == 0) {
            *out = level_names[i].level;
            return 0;
        }
    }
    return -TGX_ERR_INVAL;
}

const char *tgx_log_level_name(enum tgx_log_level level)
{
    switch (level) {
    case TGX_LOG_ERROR:
        return "error";
    case TGX_LOG_WARNING:
        return "warning";
    case TGX_LOG_INFO:
        return "info";
    case TGX_LOG_DEBUG:
        return "debug";
    }
    return "unknown";
}

void tgx_log_set_level(enum tgx_log_level level)
{
    tgx_log_threshold = level;
}

int tgx_log_init_from_env(void)
{
    const char *v = getenv("TGX_LOG_LEVEL");
    tgx_log_threshold = TGX_LOG_INFO;
    if (v == NULL || v[0] == '\0')
        return 0;
    enum tgx_log_level level;
    if (tgx_log_parse_level(v, &level) < 0) {
        tgx_log_warning("log",
                        "invalid TGX_LOG_LEVEL \"%s\", using info (valid: error, warning, info, debug)", v);
        return -TGX_ERR_INVAL;
    }
    tgx_log_threshold = level;
    return 0;
}

void tgx_log_set_stream(FILE *stream)
{
    log_stream = stream;
}

void tgx_log_write(enum tgx_log_level level, const char *subject, const char *fmt, ...)
{
    static const char *const tags[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
    FILE *f = log_stream != NULL ? log_stream : stderr;
    struct timeval tv;
    struct tm tm;
    char stamp[32];

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);

    /* one lock for the whole line, so lines of different threads do not mix */
    flockfile(f);
    fprintf(f, "%s.%03d UTC [%ld] %s ", stamp, (int)(tv.tv_usec / 1000), (long)getpid(),
            (unsigned)level < 4 ? tags[level] : "LOG");
    if (subject != NULL && subject[0] != '\0')
        fprintf(f, "%s: ", subject);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
    funlockfile(f);
}
