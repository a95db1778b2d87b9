/* config.h: settings as one declarative table: defaults, a config file, the environment
 * (<PREFIX><NAME>) and the command line (--name), with bounds checked in one place.  The machinery
 * (struct tgx_config_table, tgx_config_table_*) serves any settings struct; `tgxd serve` uses it
 * with struct tgx_config and the table tgx_config_tgxd (prefix TGX_), `tgx-keeper run` with its own
 * (include/tgx/keeper.h, prefix TGX_KEEPER_). */
#ifndef TGX_CONFIG_H
#define TGX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tgx/buf.h"
#include "tgx/cli.h"
#include "tgx/err.h"

/* Every setting.  Strings and lists are owned by the config (tgx_config_cleanup frees them). */
struct tgx_config {
    char *config_file;               /* the file read (--config, TGX_CONFIG); NULL: none */
    char *listen;                    /* HOST:PORT of the HTTP server */
    char *database_url;              /* libpq URL */
    char *roles;                     /* api,scheduler,dispatcher,monitor,health or all */
    long threads;                    /* libmicrohttpd thread pool */
    long connection_limit;           /* simultaneous HTTP connections */
    long body_limit;                 /* bytes */
    long json_depth;                 /* nesting levels */
    char *instance_id;               /* this instance's name for shared rate limits; NULL: host-pid */
    long auth_cache_ms;              /* API key answers cached */
    long ratelimit_sync_ms;          /* rate-limit counts shared every ... */
    long ws_ping_ms;                 /* WebSocket ping period */
    long ws_timeout_ms;              /* silent WebSocket clients dropped after */
    long ws_max_clients;             /* simultaneous WebSocket clients */
    long db_pool;                    /* database connections of the api role */
    long db_wait_ms;                 /* longest wait for a free connection before 503 */
    long statement_timeout_ms;       /* per statement; 0: none */
    long time_lookahead;             /* GET /api/jobs/time default look-ahead, seconds */
    struct tgx_strv rpc;             /* CHAIN_ID=URL */
    char *keeper_fee_wei;            /* decimal wei added to every fee estimate */
    struct tgx_strv default_fee_wei; /* CHAIN_ID=WEI, or WEI for every chain */
    char *fee_from_address;          /* eth_estimateGas "from" */
    long rpc_timeout_ms;             /* one JSON-RPC call */
    char *log_level;                 /* error, warning, info, debug */
    long batch_size;                 /* engine roles: rows per stored-function call */
    long poll_ms;                    /* engine roles: fallback poll */
    long sweep_ms;                   /* health: tgx.sweep_keepers() period */
    char *alert_webhook;             /* alerts: webhook URL */
    char *alert_telegram_url;        /* alerts: Telegram Bot API base URL */
    char *alert_telegram_chat;       /* alerts: Telegram chat_id */
    char *alert_smtp_url;            /* alerts: smtp://HOST:PORT */
    char *alert_smtp_from;           /* alerts: MAIL FROM */
    struct tgx_strv alert_smtp_to;   /* alerts: RCPT TO */
    long alert_timeout_ms;           /* alerts: one delivery on one channel */
    long alert_max_attempts;         /* alerts: given up after */
    long alert_backoff_ms;           /* alerts: first retry delay */
    long alert_backoff_cap_ms;       /* alerts: longest retry delay */
};

/* Kinds of setting. */
enum tgx_config_type {
    TGX_CONFIG_STRING = 0, /* any text (an empty value unsets it) */
    TGX_CONFIG_INT = 1,    /* a whole number within [min, max]; sizes accept k/M/G suffixes */
    TGX_CONFIG_LIST =
        2, /* repeatable: one value per option / file line, comma-separated in the environment */
    TGX_CONFIG_BOOL = 3, /* a bool: true/false, on/off, yes/no, 1/0; the option alone (--dry-run) is
                            true, --dry-run=false is false */
};

/* One row of the table. */
struct tgx_config_param {
    const char *name; /* "listen": file key; option --listen (underscores become dashes); env TGX_LISTEN */
    enum tgx_config_type type;
    size_t offset;       /* of the field in the settings struct (char *, long, struct tgx_strv, bool) */
    long min, max;       /* bounds of an INT */
    const char *def;     /* default as text; NULL: none */
    const char *metavar; /* what the value looks like, for the documentation ("HOST:PORT") */
    const char *help;    /* documentation: sentences, lines separated by '\n' */
    /* optional check of one value: 0, or -TGX_ERR_INVAL with a message in ERR */
    int (*validate)(const char *value, char *err, size_t errlen);
    bool reload;        /* SIGHUP applies a new value; false: a restart is needed */
    const char *option; /* the command-line name when it is not NAME with dashes ("key" for key_file);
                           NULL: NAME with dashes */
};

/* The most rows a table may have. */
#define TGX_CONFIG_MAX_PARAMS 128

/* A table of settings and the struct it fills (pgbouncer's bouncer_params[] with its load_config). */
struct tgx_config_table {
    const struct tgx_config_param *params; /* the rows */
    size_t nparams;                        /* at most TGX_CONFIG_MAX_PARAMS */
    size_t file_offset;                    /* of the settings struct's char * naming the file read (owned) */
    const char *env_prefix;                /* "TGX_": setting listen is TGX_LISTEN */
    const char *file_env;                  /* the variable naming the file when --config is absent */
    const char *sample_intro;              /* the opening comment of the sample, '#' lines */
};

/* Fill SETTINGS (the table's struct) with the defaults (the table's def strings). */
void tgx_config_table_init(const struct tgx_config_table *t, void *settings);
/* Free everything SETTINGS owns; SETTINGS is zeroed (SIZE bytes). */
void tgx_config_table_cleanup(const struct tgx_config_table *t, void *settings, size_t size);
/* The row of NAME (file key or option name; '-' and '_' are equal), or NULL. */
const struct tgx_config_param *tgx_config_table_find(const struct tgx_config_table *t, const char *name);
/* Set one setting from text (a LIST appends).  -TGX_ERR_INVAL with one line appended to ERR. */
int tgx_config_table_set(const struct tgx_config_table *t, void *settings, const struct tgx_config_param *p,
                         const char *value, struct tgx_buf *err) TGX_MUSTCHECK;
/* Read "name = value" lines of file PATH.  -TGX_ERR_IO / -TGX_ERR_INVAL with "PATH:LINE: ..." in ERR. */
int tgx_config_table_load_file(const struct tgx_config_table *t, void *settings, const char *path,
                               struct tgx_buf *err) TGX_MUSTCHECK;
/* Apply every <PREFIX><NAME> environment variable that is set.  -TGX_ERR_INVAL with ERR. */
int tgx_config_table_load_env(const struct tgx_config_table *t, void *settings,
                              struct tgx_buf *err) TGX_MUSTCHECK;

/* The table of `tgxd serve` (struct tgx_config, prefix TGX_), its rows and their number. */
extern const struct tgx_config_table tgx_config_tgxd;
extern const struct tgx_config_param tgx_config_params[];
extern const size_t tgx_config_nparams;

/* Fill C with the defaults (the table's def strings). */
void tgx_config_init(struct tgx_config *c);
/* Free everything C owns; C is zeroed. */
void tgx_config_cleanup(struct tgx_config *c);
/* The row of NAME (file key or option name; '-' and '_' are equal), or NULL. */
const struct tgx_config_param *tgx_config_find(const char *name);
/* Set one setting from text (a LIST appends).  -TGX_ERR_INVAL with one line appended to ERR. */
int tgx_config_set(struct tgx_config *c, const struct tgx_config_param *p, const char *value,
                   struct tgx_buf *err) TGX_MUSTCHECK;
/* Read "name = value" lines of file PATH.  -TGX_ERR_IO / -TGX_ERR_INVAL with "PATH:LINE: ..." in ERR. */
int tgx_config_load_file(struct tgx_config *c, const char *path, struct tgx_buf *err) TGX_MUSTCHECK;
/* Apply every TGX_<NAME> environment variable that is set.  -TGX_ERR_INVAL with ERR. */
int tgx_config_load_env(struct tgx_config *c, struct tgx_buf *err) TGX_MUSTCHECK;

/* What the command line asked besides settings. */
struct tgx_config_cli {
    bool print_config; /* --print-config: write the annotated sample and exit */
    bool help;         /* --help */
};

/*
 * The whole load of a command: SETTINGS (already holding the defaults) gets the config file
 * (--config or the table's file_env), then the environment, then the options of ARGV (ARGV[0] is
 * the command name; no operands allowed).  Returns 0, TGX_EXIT_USAGE after writing one line
 * "WHO: ..." to io->err (bad option, bad value), or TGX_EXIT_FAILURE for an unreadable file.
 */
int tgx_config_table_parse_args(const struct tgx_config_table *t, void *settings, const char *who, int argc,
                                char **argv, const struct tgx_cli_io *io,
                                struct tgx_config_cli *cli /* OUT */) TGX_MUSTCHECK;
/* SIGHUP: keep in NEXT the OLD value of every setting that is not reloadable, warning for each one
 * that changed. */
void tgx_config_table_keep_fixed(const struct tgx_config_table *t, void *next, const void *old);
/* Write the annotated sample configuration of the table. */
void tgx_config_table_write_sample(const struct tgx_config_table *t, FILE *out);
/* Write the options of the table for --help. */
void tgx_config_table_write_usage(const struct tgx_config_table *t, FILE *out);

/* Checks of single values for the validate hook of a row: 0, or -TGX_ERR_INVAL with a message. */
int tgx_config_check_http_url(const char *value, char *err, size_t errlen) TGX_MUSTCHECK;
int tgx_config_check_rpc(const char *value, char *err, size_t errlen) TGX_MUSTCHECK;
int tgx_config_check_log_level(const char *value, char *err, size_t errlen) TGX_MUSTCHECK;

/*
 * The whole load of `tgxd serve`: defaults, then the config file (--config or TGX_CONFIG), then
 * the environment, then the options of ARGV (ARGV[0] is the command name; no operands allowed).
 * Returns 0, TGX_EXIT_USAGE after writing one line "WHO: ..." to io->err (bad option, bad value),
 * or TGX_EXIT_FAILURE for an unreadable file.
 */
int tgx_config_parse_args(struct tgx_config *c, const char *who, int argc, char **argv,
                          const struct tgx_cli_io *io, struct tgx_config_cli *cli /* OUT */) TGX_MUSTCHECK;
/*
 * SIGHUP: load NEXT the same way as at startup (tgx_config_parse_args with the same ARGV) and
 * keep in it the old value of every setting that is not reloadable, warning for each one that
 * changed.  The caller applies NEXT; on failure it keeps the old configuration.
 */
void tgx_config_keep_fixed(struct tgx_config *next, const struct tgx_config *old);
/* Write the annotated sample configuration (contrib/tgxd.conf.sample is exactly this text). */
void tgx_config_write_sample(FILE *out);
/* Write the options of the table for --help. */
void tgx_config_write_usage(FILE *out);
/* Split C->listen into HOST (HOSTLEN bytes) and PORT; -TGX_ERR_INVAL for a malformed value. */
int tgx_config_listen(const struct tgx_config *c, char *host, size_t hostlen, unsigned *port) TGX_MUSTCHECK;

#endif
