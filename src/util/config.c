/* config.c: settings as one declarative table (pgbouncer's bouncer_params[],
 * redis's static_configs[]): defaults < config file < environment < command line.  The machinery
 * works on any table (struct tgx_config_table); the table of `tgxd serve` is defined here, the
 * keeper's in src/keeper/config.c. */
#include "tgx/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tgx/log.h"

#define OFF(field) offsetof(struct tgx_config, field)

static int check_listen(const char *v, char *err, size_t errlen);
static int check_roles(const char *v, char *err, size_t errlen);
static int check_rpc(const char *v, char *err, size_t errlen);
static int check_wei(const char *v, char *err, size_t errlen);
static int check_default_fee(const char *v, char *err, size_t errlen);
static int check_address(const char *v, char *err, size_t errlen);
static int check_log_level(const char *v, char *err, size_t errlen);
static int check_http_url(const char *v, char *err, size_t errlen);

/* clang-format off */
const struct tgx_config_param tgx_config_params[] = {
    {"listen", TGX_CONFIG_STRING, OFF(listen), 0, 0, "127.0.0.1:9002", "HOST:PORT",
     "Address and TCP port of the HTTP server (HOST is numeric: 127.0.0.1, 0.0.0.0, ::).", check_listen, false, NULL},
    {"database_url", TGX_CONFIG_STRING, OFF(database_url), 0, 0, NULL, "URL",
     "The PostgreSQL database (postgresql://user:password@host:port/dbname or a key=value string),\n"
     "migrated with `tgxd migrate`.  Required.", NULL, false, NULL},
    {"roles", TGX_CONFIG_STRING, OFF(roles), 0, 0, "all", "LIST",
     "Roles this process runs, comma-separated: api (REST, WebSocket, /metrics), scheduler (time\n"
     "schedules into tasks), dispatcher (tasks to keepers), monitor (expired leases and\n"
     "attestations), health (keeper sweep, alert delivery), or all.  Any number of tgxd may run\n"
     "any roles against one database: the work is claimed in SQL.", check_roles, false, NULL},
    {"threads", TGX_CONFIG_INT, OFF(threads), 1, 64, "2", "N",
     "Threads of the HTTP server's epoll thread pool.", NULL, false, NULL},
    {"connection_limit", TGX_CONFIG_INT, OFF(connection_limit), 1, 1000000, "10000", "N",
     "Simultaneous HTTP connections accepted.", NULL, false, NULL},
    {"body_limit", TGX_CONFIG_INT, OFF(body_limit), 1024, 1073741824, "1M", "BYTES",
     "Largest request body accepted (413 beyond); k, M and G suffixes are accepted.", NULL, false, NULL},
    {"json_depth", TGX_CONFIG_INT, OFF(json_depth), 2, 1000, "32", "N",
     "Deepest nesting of a JSON request body accepted (400 beyond).", NULL, false, NULL},
    {"instance_id", TGX_CONFIG_STRING, OFF(instance_id), 0, 0, NULL, "NAME",
     "This instance's name in the shared rate-limit counts (tgx.rate_limit_counters); default\n"
     "<hostname>-<pid>.  Give each tgxd serving one database a different name.", NULL, false, NULL},
    {"auth_cache_ms", TGX_CONFIG_INT, OFF(auth_cache_ms), 0, 3600000, "5000", "MS",
     "How long the answer about an API key (valid or not) is cached, in milliseconds.", NULL, false, NULL},
    {"ratelimit_sync_ms", TGX_CONFIG_INT, OFF(ratelimit_sync_ms), 10, 60000, "250", "MS",
     "How often per-key request counts are shared with the other instances, in milliseconds.", NULL, false, NULL},
    {"ws_ping_ms", TGX_CONFIG_INT, OFF(ws_ping_ms), 1000, 3600000, "54000", "MS",
     "WebSocket ping period, in milliseconds.", NULL, false, NULL},
    {"ws_timeout_ms", TGX_CONFIG_INT, OFF(ws_timeout_ms), 1000, 3600000, "60000", "MS",
     "A WebSocket client silent this long is dropped, in milliseconds.", NULL, false, NULL},
    {"ws_max_clients", TGX_CONFIG_INT, OFF(ws_max_clients), 1, 1000000, "10000", "N",
     "Simultaneous WebSocket clients accepted.", NULL, false, NULL},
    {"db_pool", TGX_CONFIG_INT, OFF(db_pool), 1, 1000, "8", "N",
     "Database connections of the api role (opened on demand).", NULL, false, NULL},
    {"db_wait_ms", TGX_CONFIG_INT, OFF(db_wait_ms), 0, 600000, "2000", "MS",
     "Longest wait of a request for a free database connection before it is answered 503.", NULL, false, NULL},
    {"statement_timeout_ms", TGX_CONFIG_INT, OFF(statement_timeout_ms), 0, 3600000, "30000", "MS",
     "statement_timeout of the api role's connections (0: none); a request that hits it gets 503.", NULL, false, NULL},
    {"time_lookahead", TGX_CONFIG_INT, OFF(time_lookahead), 0, 86400, "40", "SECONDS",
     "Default look-ahead of GET /api/jobs/time (time jobs due within it are listed).", NULL, false, NULL},
    {"rpc", TGX_CONFIG_LIST, OFF(rpc), 0, 0, NULL, "CHAIN_ID=URL",
     "JSON-RPC endpoint of a chain, for GET /api/fees (eth_estimateGas, eth_gasPrice).\n"
     "Repeatable; the environment takes a comma-separated list (TGX_RPC=\"1=https://a,10=https://b\").", check_rpc, false, NULL},
    {"keeper_fee_wei", TGX_CONFIG_STRING, OFF(keeper_fee_wei), 0, 0, "2000000000000", "WEI",
     "Keeper fee added to every estimate of GET /api/fees, in wei.", check_wei, false, NULL},
    {"default_fee_wei", TGX_CONFIG_LIST, OFF(default_fee_wei), 0, 0, NULL, "[CHAIN_ID=]WEI",
     "Fee of GET /api/fees when a chain has no RPC or its node does not answer (the keeper fee is\n"
     "added): CHAIN_ID=WEI for one chain, a bare WEI for every other chain (default 1000000000000000,\n"
     "0.001 ETH).  Repeatable.", check_default_fee, false, NULL},
    {"fee_from_address", TGX_CONFIG_STRING, OFF(fee_from_address), 0, 0,
     "0x0000000000000000000000000000000000000001", "ADDRESS",
     "The \"from\" address of eth_estimateGas (the original used its task execution address).", check_address, false, NULL},
    {"rpc_timeout_ms", TGX_CONFIG_INT, OFF(rpc_timeout_ms), 100, 600000, "5000", "MS",
     "Longest JSON-RPC call of the fee estimator, in milliseconds.", NULL, false, NULL},
    {"log_level", TGX_CONFIG_STRING, OFF(log_level), 0, 0, "info", "LEVEL",
     "Log threshold: error, warning, info or debug (TGX_LOG_LEVEL is read first, by every command).",
     check_log_level, true, NULL},
    {"batch_size", TGX_CONFIG_INT, OFF(batch_size), 1, 10000, "100", "N",
     "Engine roles: rows per call of their stored functions (called again until they return 0).", NULL, true, NULL},
    {"poll_ms", TGX_CONFIG_INT, OFF(poll_ms), 100, 600000, "5000", "MS",
     "Engine roles: longest sleep without a deadline or a notification (the fallback poll), in\n"
     "milliseconds.  Roles wake on NOTIFY and at their next deadline anyway.", NULL, true, NULL},
    {"sweep_ms", TGX_CONFIG_INT, OFF(sweep_ms), 100, 600000, "5000", "MS",
     "Health role: period of tgx.sweep_keepers() (silent keepers go offline, their work back), in\n"
     "milliseconds.", NULL, true, NULL},
    {"alert_webhook", TGX_CONFIG_STRING, OFF(alert_webhook), 0, 0, NULL, "URL",
     "Health role: POST every alert as JSON ({alert_id, kind, subject, payload, created_at, attempt})\n"
     "to this http:// or https:// URL; a 2xx answer delivers it.", check_http_url, true, NULL},
    {"alert_telegram_url", TGX_CONFIG_STRING, OFF(alert_telegram_url), 0, 0, NULL, "URL",
     "Health role: Telegram Bot API base URL (https://api.telegram.org/bot<TOKEN>); alerts are\n"
     "POSTed to URL/sendMessage as {chat_id, text}.  Needs alert_telegram_chat.", check_http_url, true, NULL},
    {"alert_telegram_chat", TGX_CONFIG_STRING, OFF(alert_telegram_chat), 0, 0, NULL, "ID",
     "Health role: the chat_id of the Telegram messages.", NULL, true, NULL},
    {"alert_smtp_url", TGX_CONFIG_STRING, OFF(alert_smtp_url), 0, 0, NULL, "URL",
     "Health role: mail alerts through this server, smtp://HOST:PORT or smtps://HOST:PORT.  Needs\n"
     "alert_smtp_from and alert_smtp_to.", NULL, true, NULL},
    {"alert_smtp_from", TGX_CONFIG_STRING, OFF(alert_smtp_from), 0, 0, NULL, "ADDRESS",
     "Health role: sender address of alert mails (MAIL FROM).", NULL, true, NULL},
    {"alert_smtp_to", TGX_CONFIG_LIST, OFF(alert_smtp_to), 0, 0, NULL, "ADDRESS",
     "Health role: recipient of alert mails (RCPT TO).  Repeatable.", NULL, true, NULL},
    {"alert_timeout_ms", TGX_CONFIG_INT, OFF(alert_timeout_ms), 100, 600000, "10000", "MS",
     "Health role: longest delivery of one alert on one channel, in milliseconds.", NULL, true, NULL},
    {"alert_max_attempts", TGX_CONFIG_INT, OFF(alert_max_attempts), 1, 1000, "10", "N",
     "Health role: an alert not accepted by every channel after this many attempts is given up\n"
     "(tgx.alerts.given_up_at); every attempt is in tgx.alert_deliveries.", NULL, true, NULL},
    {"alert_backoff_ms", TGX_CONFIG_INT, OFF(alert_backoff_ms), 10, 86400000, "30000", "MS",
     "Health role: delay before the second attempt of an alert, doubled for every further one.", NULL, true, NULL},
    {"alert_backoff_cap_ms", TGX_CONFIG_INT, OFF(alert_backoff_cap_ms), 10, 86400000, "3600000", "MS",
     "Health role: longest delay between two attempts of an alert.", NULL, true, NULL},
};
/* clang-format on */
const size_t tgx_config_nparams = sizeof tgx_config_params / sizeof tgx_config_params[0];

/* ---------------------------------------------------------------------------------------------
 * Checks of single values
 * ------------------------------------------------------------------------------------------- */

static int check_listen(const char *v, char *err, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    char *end;
    if (colon == NULL || colon == v || colon[1] == '\0') {
        snprintf(err, errlen, "expected HOST:PORT");
        return -TGX_ERR_INVAL;
    }
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535 || !isdigit((unsigned char)colon[1])) {
        snprintf(err, errlen, "the port must be a number from 0 to 65535");
        return -TGX_ERR_INVAL;
    }
    return 0;
}

static int check_http_url(const char *v, char *err, size_t errlen)
{
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        snprintf(err, errlen, "expected an http:// or https:// URL");
        return -TGX_ERR_INVAL;
    }
    return 0;
}

static int check_roles(const char *v, char *err, size_t errlen)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *r = strtok_r(buf, ",", &save); r != NULL; r = strtok_r(NULL, ",", &save)) {
        while (*r == ' ')
            r++;
        char *e = r + strlen(r);
        while (e > r && e[-1] == ' ')
            *--e = '\0';
        static const char *const known[] = {"api", "scheduler", "dispatcher", "monitor", "health", "all"};
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            found = found || strcmp(r, known[i]) == 0;
        if (!found) {
            snprintf(err, errlen,
                     "unknown role \"%s\" (known: api, scheduler, dispatcher, monitor, health, all)", r);
            return -TGX_ERR_INVAL;
        }
    }
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int check_rpc(const char *v, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (eq == NULL || !all_digits(v, (size_t)(eq - v)) ||
        (strncmp(eq + 1, "http://", 7) != 0 && strncmp(eq + 1, "https://", 8) != 0)) {
        snprintf(err, errlen, "expected CHAIN_ID=URL with an http:// or https:// URL");
        return -TGX_ERR_INVAL;
    }
    return 0;
}

static int check_wei(const char *v, char *err, size_t errlen)
{
    if (!all_digits(v, strlen(v)) || strlen(v) > 78) {
        snprintf(err, errlen, "expected a whole number of wei");
        return -TGX_ERR_INVAL;
    }
    return 0;
}

static int check_default_fee(const char *v, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (eq != NULL && !all_digits(v, (size_t)(eq - v))) {
        snprintf(err, errlen, "expected CHAIN_ID=WEI or WEI");
        return -TGX_ERR_INVAL;
    }
    return check_wei(eq != NULL ? eq + 1 : v, err, errlen);
}

static int check_address(const char *v, char *err, size_t errlen)
{
    bool ok = strlen(v) == 42 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
    for (size_t i = 2; ok && i < 42; i++)
        ok = isxdigit((unsigned char)v[i]);
    if (!ok) {
        snprintf(err, errlen, "expected an address, 0x followed by 40 hex digits");
        return -TGX_ERR_INVAL;
    }
    return 0;
}

static int check_log_level(const char *v, char *err, size_t errlen)
{
    enum tgx_log_level l;
    if (tgx_log_parse_level(v, &l) < 0) {
        snprintf(err, errlen, "expected error, warning, info or debug");
        return -TGX_ERR_INVAL;
    }
    return 0;
}

int tgx_config_check_http_url(const char *value, char *err, size_t errlen)
{
    return check_http_url(value, err, errlen);
}

int tgx_config_check_rpc(const char *value, char *err, size_t errlen)
{
    return check_rpc(value, err, errlen);
}

int tgx_config_check_log_level(const char *value, char *err, size_t errlen)
{
    return check_log_level(value, err, errlen);
}

/* ---------------------------------------------------------------------------------------------
 * The table at work (any table: T describes the settings struct S)
 * ------------------------------------------------------------------------------------------- */

static char **str_field(void *s, const struct tgx_config_param *p)
{
    return (char **)((char *)s + p->offset);
}

static long *int_field(void *s, const struct tgx_config_param *p)
{
    return (long *)((char *)s + p->offset);
}

static struct tgx_strv *list_field(void *s, const struct tgx_config_param *p)
{
    return (struct tgx_strv *)((char *)s + p->offset);
}

static bool *bool_field(void *s, const struct tgx_config_param *p)
{
    return (bool *)((char *)s + p->offset);
}

static char **file_field(const struct tgx_config_table *t, void *s)
{
    return (char **)((char *)s + t->file_offset);
}

/* The value of an INT setting: digits with an optional k/M/G (x1024) suffix. */
static int parse_int(const char *v, long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || !isdigit((unsigned char)v[0]))
        return -TGX_ERR_INVAL;
    long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024;
    else if (*end == 'M')
        mul = 1024 * 1024;
    else if (*end == 'G')
        mul = 1024LL * 1024 * 1024;
    if (mul != 1)
        end++;
    if (*end != '\0' || x > LONG_MAX / mul)
        return -TGX_ERR_INVAL;
    *out = (long)(x * mul);
    return 0;
}

/* The value of a BOOL setting: true/false, on/off, yes/no, 1/0 (any case). */
static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "on", "yes", "1"}, *const no[] = {"false", "off", "no", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -TGX_ERR_INVAL;
}

/* Is NAME (a file key or an option, '-' and '_' equal) the text KEY? */
static bool name_is(const char *key, const char *name)
{
    const char *a = key, *b = name;
    while (*a != '\0' && (*a == *b || (*a == '_' && *b == '-')))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

/* The option of P without its dashes ("db-pool") into OUT. */
static void option_name(const struct tgx_config_param *p, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", p->option != NULL ? p->option : p->name);
    for (char *q = out; *q != '\0'; q++)
        if (*q == '_')
            *q = '-';
}

const struct tgx_config_param *tgx_config_table_find(const struct tgx_config_table *t, const char *name)
{
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        if (name_is(p->name, name) || (p->option != NULL && name_is(p->option, name)))
            return p;
    }
    return NULL;
}

int tgx_config_table_set(const struct tgx_config_table *t, void *s, const struct tgx_config_param *p,
                         const char *value, struct tgx_buf *err)
{
    (void)t;
    char msg[200] = "";
    if (p->validate != NULL && value[0] != '\0' && p->validate(value, msg, sizeof msg) < 0) {
        tgx_buf_printf(err, "invalid value \"%s\" for %s: %s", value, p->name, msg);
        return -TGX_ERR_INVAL;
    }
    switch (p->type) {
    case TGX_CONFIG_STRING: {
        char **f = str_field(s, p);
        char *copy = value[0] != '\0' ? strdup(value) : NULL;
        if (value[0] != '\0' && copy == NULL) {
            tgx_buf_puts(err, "out of memory");
            return -TGX_ERR_NOMEM;
        }
        free(*f);
        *f = copy;
        return 0;
    }
    case TGX_CONFIG_INT: {
        long v;
        if (parse_int(value, &v) < 0 || v < p->min || v > p->max) {
            tgx_buf_printf(err, "invalid value \"%s\" for %s: expected a whole number from %ld to %ld", value,
                           p->name, p->min, p->max);
            return -TGX_ERR_INVAL;
        }
        *int_field(s, p) = v;
        return 0;
    }
    case TGX_CONFIG_LIST:
        if (value[0] == '\0')
            return 0;
        if (tgx_strv_push(list_field(s, p), value) < 0) {
            tgx_buf_puts(err, "out of memory");
            return -TGX_ERR_NOMEM;
        }
        return 0;
    case TGX_CONFIG_BOOL:
        if (parse_bool(value, bool_field(s, p)) < 0) {
            tgx_buf_printf(err, "invalid value \"%s\" for %s: expected true or false", value, p->name);
            return -TGX_ERR_INVAL;
        }
        return 0;
    }
    return -TGX_ERR_INVAL;
}

void tgx_config_table_init(const struct tgx_config_table *t, void *s)
{
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        if (p->type == TGX_CONFIG_LIST)
            tgx_strv_init(list_field(s, p));
        if (p->def == NULL)
            continue;
        struct tgx_buf err;
        tgx_buf_init(&err);
        if (tgx_config_table_set(t, s, p, p->def, &err) < 0)
            tgx_log_error("config", "bad default of %s: %s", p->name, tgx_buf_str(&err));
        tgx_buf_cleanup(&err);
    }
}

void tgx_config_table_cleanup(const struct tgx_config_table *t, void *s, size_t size)
{
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        if (p->type == TGX_CONFIG_STRING)
            free(*str_field(s, p));
        else if (p->type == TGX_CONFIG_LIST)
            tgx_strv_cleanup(list_field(s, p));
    }
    free(*file_field(t, s));
    memset(s, 0, size);
}

/* Empty a LIST setting before a later source gives it anew. */
static void list_reset(void *s, const struct tgx_config_param *p)
{
    tgx_strv_cleanup(list_field(s, p));
    tgx_strv_init(list_field(s, p));
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int tgx_config_table_load_file(const struct tgx_config_table *t, void *s, const char *path,
                               struct tgx_buf *err)
{
    struct tgx_buf text;
    tgx_buf_init(&text);
    if (tgx_buf_read_file(&text, path) < 0) {
        tgx_buf_printf(err, "could not read configuration file \"%s\": %s", path, strerror(errno));
        tgx_buf_cleanup(&text);
        return -TGX_ERR_IO;
    }
    bool seen[TGX_CONFIG_MAX_PARAMS] = {false};
    int rc = 0, lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text.data, "\n", &save); line != NULL && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *l = trim(line);
        if (*l == '\0')
            continue;
        char *eq = strchr(l, '=');
        if (eq == NULL) {
            tgx_buf_printf(err, "%s:%d: expected \"name = value\"", path, lineno);
            rc = -TGX_ERR_INVAL;
            break;
        }
        *eq = '\0';
        char *name = trim(l), *value = trim(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
            value[vn - 1] = '\0';
            value++;
        }
        const struct tgx_config_param *p = tgx_config_table_find(t, name);
        if (p == NULL) {
            tgx_buf_printf(err, "%s:%d: unknown setting \"%s\"", path, lineno, name);
            rc = -TGX_ERR_INVAL;
            break;
        }
        size_t idx = (size_t)(p - t->params);
        if (p->type == TGX_CONFIG_LIST && !seen[idx])
            list_reset(s, p);
        seen[idx] = true;
        struct tgx_buf e;
        tgx_buf_init(&e);
        rc = tgx_config_table_set(t, s, p, value, &e);
        if (rc < 0)
            tgx_buf_printf(err, "%s:%d: %s", path, lineno, tgx_buf_str(&e));
        tgx_buf_cleanup(&e);
    }
    tgx_buf_cleanup(&text);
    return rc;
}

/* PREFIX + NAME in upper case into OUT ("TGX_DB_POOL"). */
static void env_name(const struct tgx_config_table *t, const char *name, char *out, size_t outlen)
{
    size_t o = (size_t)snprintf(out, outlen, "%s", t->env_prefix);
    for (const char *p = name; *p != '\0' && o + 1 < outlen; p++)
        out[o++] = (char)toupper((unsigned char)*p);
    out[o < outlen ? o : outlen - 1] = '\0';
}

int tgx_config_table_load_env(const struct tgx_config_table *t, void *s, struct tgx_buf *err)
{
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        char name[80];
        env_name(t, p->name, name, sizeof name);
        const char *v = getenv(name);
        if (v == NULL)
            continue;
        struct tgx_buf e;
        tgx_buf_init(&e);
        int rc = 0;
        if (p->type == TGX_CONFIG_LIST) {
            list_reset(s, p);
            char *copy = strdup(v);
            char *save = NULL;
            for (char *item = copy != NULL ? strtok_r(copy, ",", &save) : NULL; item != NULL && rc == 0;
                 item = strtok_r(NULL, ",", &save))
                rc = tgx_config_table_set(t, s, p, trim(item), &e);
            if (copy == NULL)
                rc = -TGX_ERR_NOMEM;
            free(copy);
        } else {
            rc = tgx_config_table_set(t, s, p, v, &e);
        }
        if (rc < 0) {
            tgx_buf_printf(err, "%s: %s", name, tgx_buf_str(&e));
            tgx_buf_cleanup(&e);
            return rc;
        }
        tgx_buf_cleanup(&e);
    }
    return 0;
}

enum { OPT_PRINT_CONFIG = 1000, OPT_CONFIG, OPT_HELP, OPT_PARAM0 = 2000 };

/* The long options: the table's option names, plus --config, --print-config and --help. */
static struct option *build_options(const struct tgx_config_table *t, char names[][48])
{
    struct option *o = calloc(t->nparams + 4, sizeof *o);
    if (o == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < t->nparams; i++) {
        option_name(&t->params[i], names[i], 48);
        int has_arg = t->params[i].type == TGX_CONFIG_BOOL ? optional_argument : required_argument;
        o[n++] = (struct option){names[i], has_arg, NULL, OPT_PARAM0 + (int)i};
    }
    o[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    o[n++] = (struct option){"print-config", no_argument, NULL, OPT_PRINT_CONFIG};
    o[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    return o;
}

int tgx_config_table_parse_args(const struct tgx_config_table *t, void *s, const char *who, int argc,
                                char **argv, const struct tgx_cli_io *io, struct tgx_config_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    if (t->nparams > TGX_CONFIG_MAX_PARAMS) {
        fprintf(io->err, "%s: too many settings in the table\n", who);
        return TGX_EXIT_FAILURE;
    }
    char names[TGX_CONFIG_MAX_PARAMS][48];
    struct option *opts = build_options(t, names);
    /* the options in order, applied after the file and the environment */
    int *which = calloc((size_t)argc + 1, sizeof *which);
    const char **values = calloc((size_t)argc + 1, sizeof *values);
    int nset = 0, rc = 0;
    const char *file = t->file_env != NULL ? getenv(t->file_env) : NULL;
    if (opts == NULL || which == NULL || values == NULL) {
        fprintf(io->err, "%s: out of memory\n", who);
        rc = TGX_EXIT_FAILURE;
        goto out;
    }
    struct tgx_cli_parser parser;
    tgx_cli_parser_init(&parser, who, argc, argv, "h", opts, io);
    for (int opt; (opt = tgx_cli_next(&parser)) != TGX_CLI_END;) {
        if (opt == TGX_CLI_ERROR) {
            rc = TGX_EXIT_USAGE;
            goto out;
        } else if (opt == OPT_HELP || opt == 'h') {
            cli->help = true;
        } else if (opt == OPT_PRINT_CONFIG) {
            cli->print_config = true;
        } else if (opt == OPT_CONFIG) {
            file = parser.optarg;
        } else {
            which[nset] = opt - OPT_PARAM0;
            values[nset++] = parser.optarg != NULL ? parser.optarg : "true"; /* a BOOL alone */
        }
    }
    if (parser.optind < argc) {
        rc = tgx_cli_unexpected(&parser, argv[parser.optind]);
        goto out;
    }
    if (cli->help || cli->print_config)
        goto out;

    struct tgx_buf err;
    tgx_buf_init(&err);
    if (file != NULL && file[0] != '\0') {
        char **f = file_field(t, s);
        free(*f);
        *f = strdup(file);
        int frc = tgx_config_table_load_file(t, s, file, &err);
        if (frc < 0) {
            fprintf(io->err, "%s: %s\n", who, tgx_buf_str(&err));
            rc = frc == -TGX_ERR_IO ? TGX_EXIT_FAILURE : TGX_EXIT_USAGE;
            tgx_buf_cleanup(&err);
            goto out;
        }
    }
    if (tgx_config_table_load_env(t, s, &err) < 0) {
        fprintf(io->err, "%s: %s\n", who, tgx_buf_str(&err));
        rc = TGX_EXIT_USAGE;
        tgx_buf_cleanup(&err);
        goto out;
    }
    bool reset[TGX_CONFIG_MAX_PARAMS] = {false};
    for (int i = 0; i < nset; i++) {
        const struct tgx_config_param *p = &t->params[which[i]];
        if (p->type == TGX_CONFIG_LIST && !reset[which[i]]) {
            list_reset(s, p);
            reset[which[i]] = true;
        }
        if (tgx_config_table_set(t, s, p, values[i], &err) < 0) {
            fprintf(io->err, "%s: %s\n", who, tgx_buf_str(&err));
            rc = TGX_EXIT_USAGE;
            break;
        }
    }
    tgx_buf_cleanup(&err);
out:
    free(opts);
    free(which);
    free(values);
    return rc;
}

void tgx_config_table_write_sample(const struct tgx_config_table *t, FILE *out)
{
    fputs(t->sample_intro, out);
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        char opt[48], env[80];
        option_name(p, opt, sizeof opt);
        env_name(t, p->name, env, sizeof env);
        if (p->type == TGX_CONFIG_BOOL)
            fprintf(out, "\n# --%s  (%s)%s\n", opt, env, p->reload ? ", reloaded on SIGHUP" : "");
        else
            fprintf(out, "\n# --%s %s  (%s)%s%s\n", opt, p->metavar, env,
                    p->type == TGX_CONFIG_LIST ? ", repeatable" : "",
                    p->reload ? ", reloaded on SIGHUP" : "");
        for (const char *h = p->help; *h != '\0';) {
            const char *nl = strchr(h, '\n');
            size_t n = nl != NULL ? (size_t)(nl - h) : strlen(h);
            fprintf(out, "# %.*s\n", (int)n, h);
            h += n + (nl != NULL);
        }
        if (p->def != NULL)
            fprintf(out, "#%s = %s\n", p->name, p->def);
        else
            fprintf(out, "#%s =\n", p->name);
    }
}

/* Do A and B hold the same value of setting P? */
static bool same_value(const void *a, const void *b, const struct tgx_config_param *p)
{
    void *ma = (void *)a, *mb = (void *)b;
    switch (p->type) {
    case TGX_CONFIG_STRING: {
        const char *x = *str_field(ma, p), *y = *str_field(mb, p);
        return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
    }
    case TGX_CONFIG_INT:
        return *int_field(ma, p) == *int_field(mb, p);
    case TGX_CONFIG_LIST: {
        const struct tgx_strv *x = list_field(ma, p), *y = list_field(mb, p);
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i]) != 0)
                return false;
        return true;
    }
    case TGX_CONFIG_BOOL:
        return *bool_field(ma, p) == *bool_field(mb, p);
    }
    return false;
}

void tgx_config_table_keep_fixed(const struct tgx_config_table *t, void *next, const void *old)
{
    void *mold = (void *)old;
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        if (p->reload || same_value(next, old, p))
            continue;
        tgx_log_warning("config", "%s cannot change without a restart: the running value is kept", p->name);
        switch (p->type) {
        case TGX_CONFIG_STRING: {
            char **f = str_field(next, p);
            const char *v = *str_field(mold, p);
            char *copy = v != NULL ? strdup(v) : NULL;
            if (v == NULL || copy != NULL) {
                free(*f);
                *f = copy;
            }
            break;
        }
        case TGX_CONFIG_INT:
            *int_field(next, p) = *int_field(mold, p);
            break;
        case TGX_CONFIG_LIST: {
            struct tgx_strv *f = list_field(next, p);
            const struct tgx_strv *v = list_field(mold, p);
            list_reset(next, p);
            for (size_t k = 0; k < v->n; k++)
                if (tgx_strv_push(f, v->v[k]) < 0)
                    break;
            break;
        }
        case TGX_CONFIG_BOOL:
            *bool_field(next, p) = *bool_field(mold, p);
            break;
        }
    }
}

void tgx_config_table_write_usage(const struct tgx_config_table *t, FILE *out)
{
    fprintf(out, "Options (also %s<NAME> in the environment, or NAME = VALUE in --config FILE):\n",
            t->env_prefix);
    for (size_t i = 0; i < t->nparams; i++) {
        const struct tgx_config_param *p = &t->params[i];
        char name[48], opt[96];
        option_name(p, name, sizeof name);
        if (p->type == TGX_CONFIG_BOOL)
            snprintf(opt, sizeof opt, "--%s", name);
        else
            snprintf(opt, sizeof opt, "--%s %s", name, p->metavar);
        const char *nl = strchr(p->help, '\n');
        int n = nl != NULL ? (int)(nl - p->help) : (int)strlen(p->help);
        fprintf(out, "  %-34s %.*s\n", opt, n, p->help);
        if (p->def != NULL)
            fprintf(out, "  %-34s (default %s)\n", "", p->def);
    }
    char file_opt[96];
    snprintf(file_opt, sizeof file_opt, "read settings from FILE (%s)",
             t->file_env != NULL ? t->file_env : "");
    fprintf(out,
            "  --config FILE                      %s\n"
            "  --print-config                     print the annotated sample configuration and exit\n"
            "  -h, --help                         print this help and exit\n",
            file_opt);
}

/* ---------------------------------------------------------------------------------------------
 * `tgxd serve`: the table above over struct tgx_config
 * ------------------------------------------------------------------------------------------- */

const struct tgx_config_table tgx_config_tgxd = {
    .params = tgx_config_params,
    .nparams = sizeof tgx_config_params / sizeof tgx_config_params[0],
    .file_offset = offsetof(struct tgx_config, config_file),
    .env_prefix = "TGX_",
    .file_env = "TGX_CONFIG",
    .sample_intro =
        "# tgxd.conf: the settings of `tgxd serve`, with their defaults.\n"
        "#\n"
        "# Generated from the configuration table (src/util/config.c) by `tgxd serve --print-config`,\n"
        "# so it cannot drift from the code.  Every setting can be given here (read with\n"
        "# `tgxd serve --config FILE`, or TGX_CONFIG=FILE), in the environment as TGX_<NAME>, or on the\n"
        "# command line as --name (underscores become dashes).  The command line wins over the\n"
        "# environment, which wins over this file.  Lines are \"name = value\"; # starts a comment.\n"
        "# Repeatable settings take one line per value here, a comma-separated list in the\n"
        "# environment, and a repeated option on the command line.\n",
};

void tgx_config_init(struct tgx_config *c)
{
    memset(c, 0, sizeof *c);
    tgx_config_table_init(&tgx_config_tgxd, c);
}

void tgx_config_cleanup(struct tgx_config *c)
{
    tgx_config_table_cleanup(&tgx_config_tgxd, c, sizeof *c);
}

const struct tgx_config_param *tgx_config_find(const char *name)
{
    return tgx_config_table_find(&tgx_config_tgxd, name);
}

int tgx_config_set(struct tgx_config *c, const struct tgx_config_param *p, const char *value,
                   struct tgx_buf *err)
{
    return tgx_config_table_set(&tgx_config_tgxd, c, p, value, err);
}

int tgx_config_load_file(struct tgx_config *c, const char *path, struct tgx_buf *err)
{
    return tgx_config_table_load_file(&tgx_config_tgxd, c, path, err);
}

int tgx_config_load_env(struct tgx_config *c, struct tgx_buf *err)
{
    return tgx_config_table_load_env(&tgx_config_tgxd, c, err);
}

int tgx_config_parse_args(struct tgx_config *c, const char *who, int argc, char **argv,
                          const struct tgx_cli_io *io, struct tgx_config_cli *cli)
{
    return tgx_config_table_parse_args(&tgx_config_tgxd, c, who, argc, argv, io, cli);
}

void tgx_config_keep_fixed(struct tgx_config *next, const struct tgx_config *old)
{
    tgx_config_table_keep_fixed(&tgx_config_tgxd, next, old);
}

void tgx_config_write_sample(FILE *out)
{
    tgx_config_table_write_sample(&tgx_config_tgxd, out);
}

void tgx_config_write_usage(FILE *out)
{
    tgx_config_table_write_usage(&tgx_config_tgxd, out);
}

int tgx_config_listen(const struct tgx_config *c, char *host, size_t hostlen, unsigned *port)
{
    char msg[128];
    if (c->listen == NULL || check_listen(c->listen, msg, sizeof msg) < 0)
        return -TGX_ERR_INVAL;
    const char *colon = strrchr(c->listen, ':');
    size_t n = (size_t)(colon - c->listen);
    const char *h = c->listen;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { /* [::1]:9002 */
        h++;
        n -= 2;
    }
    if (n + 1 > hostlen)
        return -TGX_ERR_INVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (unsigned)strtoul(colon + 1, NULL, 10);
    return 0;
}
