/* log.h: levelled log lines on stderr: "<time> [<pid>] <LEVEL> <subject>: <message>". */
#ifndef TGX_LOG_H
#define TGX_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "tgx/err.h"

/* Levels, most severe first; a line is written when its level is <= the threshold. */
enum tgx_log_level {
    TGX_LOG_ERROR = 0,   /* something failed and was not retried */
    TGX_LOG_WARNING = 1, /* something failed and will be retried, or looks wrong */
    TGX_LOG_INFO = 2,    /* one line per notable event (the default threshold) */
    TGX_LOG_DEBUG = 3,   /* one line per step, for developers */
};

/* The threshold; set once at startup (before threads start), read by the macros below. */
extern enum tgx_log_level tgx_log_threshold;

/* True when lines of LEVEL are written. */
static inline bool tgx_log_enabled(enum tgx_log_level level)
{
    return level <= tgx_log_threshold;
}

/*
 * Write one line.  SUBJECT names what the line is about ("migrate", "scheduler", "keeper=12");
 * NULL for none.  The message follows the PostgreSQL guide: lower case, no trailing period.
 * Prefer the macros, which skip the formatting when LEVEL is off.
 */
void tgx_log_write(enum tgx_log_level level, const char *subject, const char *fmt, ...) TGX_PRINTF(3, 4);

#define tgx_log_at(level, subject, ...)                                                                      \
    do {                                                                                                     \
        if (tgx_log_enabled(level))                                                                          \
            tgx_log_write(level, subject, __VA_ARGS__);                                                      \
    } while (0)
#define tgx_log_error(subject, ...)   tgx_log_at(TGX_LOG_ERROR, subject, __VA_ARGS__)
#define tgx_log_warning(subject, ...) tgx_log_at(TGX_LOG_WARNING, subject, __VA_ARGS__)
#define tgx_log_info(subject, ...)    tgx_log_at(TGX_LOG_INFO, subject, __VA_ARGS__)
#define tgx_log_debug(subject, ...)   tgx_log_at(TGX_LOG_DEBUG, subject, __VA_ARGS__)

/* Parse a level name (error, warning or warn, info, debug; any case) into *OUT; -TGX_ERR_INVAL. */
int tgx_log_parse_level(const char *name, enum tgx_log_level *out /* OUT */) TGX_MUSTCHECK;
/* The lower-case name of LEVEL ("warning"). */
const char *tgx_log_level_name(enum tgx_log_level level);
/* Set the threshold. */
void tgx_log_set_level(enum tgx_log_level level);
/*
 * Set the threshold from environment variable TGX_LOG_LEVEL (unset or empty: info).
 * -TGX_ERR_INVAL for an unknown name, after logging a warning; the threshold is then info.
 */
int tgx_log_init_from_env(void) TGX_MUSTCHECK;
/* Send lines to STREAM (borrowed; NULL: back to stderr).  For tests. */
void tgx_log_set_stream(FILE *stream);

#endif
