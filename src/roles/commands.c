/* commands.c: `tgxd serve`, `tgxd keys create` and `tgxd routes` (rows of tgxd's command table). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgx/api.h"
#include "tgx/config.h"
#include "tgx/log.h"
#include "tgx/pool.h"
#include "tgx/role_loop.h"
#include "tgx/roles.h"
#include "tgx/store.h"

/* ---------------------------------------------------------------------------------------------
 * tgxd serve
 * ------------------------------------------------------------------------------------------- */

/* The only process-wide state: what the signal handler touches (a flag and the self-pipe). */
static struct {
    volatile sig_atomic_t stop;   /* the signal that asked to stop, 0 while running */
    volatile sig_atomic_t reload; /* SIGHUP received */
    int pipe_w;                   /* write end of the self-pipe */
} g = {0, 0, -1};

/* SIGTERM / SIGINT: set the flag and wake the main loop; SIGHUP: the same for a reload.  Nothing else. */
static void on_stop_signal(int signo)
{
    int saved = errno;
    if (signo == SIGHUP)
        g.reload = 1;
    else
        g.stop = signo;
    if (g.pipe_w >= 0) {
        ssize_t w = write(g.pipe_w, "x", 1);
        (void)w;
    }
    errno = saved;
}

/*
 * SIGHUP: the same load as at startup; a failed load keeps the running configuration.  Settings
 * that are not reloadable keep their running value (tgx_config_keep_fixed warns).
 */
static void serve_reload(struct tgx_config *cfg, const char *who, int argc, char **argv,
                         const struct tgx_cli_io *io, struct tgx_engine *engine)
{
    struct tgx_config next;
    struct tgx_config_cli cli;
    tgx_config_init(&next);
    int rc = tgx_config_parse_args(&next, who, argc, argv, io, &cli);
    struct tgx_buf err;
    tgx_buf_init(&err);
    if (rc == 0) {
        tgx_config_keep_fixed(&next, cfg);
        rc = tgx_engine_reload(engine, &next, &err);
    } else {
        tgx_buf_puts(&err, "the configuration does not load (see above)");
    }
    if (rc != 0) {
        tgx_log_warning("serve", "SIGHUP: could not reload the configuration: %s; the running one is kept",
                        tgx_buf_str(&err));
        tgx_config_cleanup(&next);
    } else {
        enum tgx_log_level level;
        if (getenv("TGX_LOG_LEVEL") == NULL && next.log_level != NULL &&
            tgx_log_parse_level(next.log_level, &level) == 0)
            tgx_log_set_level(level);
        tgx_config_cleanup(cfg);
        *cfg = next;
        tgx_log_info("serve", "SIGHUP: configuration reloaded");
    }
    tgx_buf_cleanup(&err);
}

static void serve_usage(FILE *out)
{
    fputs("Usage: tgxd serve [--roles=LIST] [OPTION]...\n"
          "Run the server roles until SIGTERM or SIGINT.\n\n",
          out);
    tgx_config_write_usage(out);
}

int tgx_serve_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    char who[64];
    snprintf(who, sizeof who, "%s serve", prog);
    struct tgx_config cfg;
    struct tgx_config_cli cli;
    tgx_config_init(&cfg);
    int rc = tgx_config_parse_args(&cfg, who, argc, argv, io, &cli);
    if (rc != 0 || cli.help || cli.print_config) {
        if (rc == 0 && cli.help)
            serve_usage(io->out);
        else if (rc == 0)
            tgx_config_write_sample(io->out);
        tgx_config_cleanup(&cfg);
        return rc;
    }
    if (getenv("TGX_LOG_LEVEL") == NULL && cfg.log_level != NULL) {
        enum tgx_log_level level;
        if (tgx_log_parse_level(cfg.log_level, &level) == 0)
            tgx_log_set_level(level);
    }
    if (cfg.database_url == NULL) {
        fprintf(io->err, "%s: no database: give --database-url or set TGX_DATABASE_URL\n", who);
        tgx_config_cleanup(&cfg);
        return TGX_EXIT_USAGE;
    }

    int fds[2];
    if (pipe(fds) < 0) {
        fprintf(io->err, "%s: could not create a pipe: %s\n", who, strerror(errno));
        tgx_config_cleanup(&cfg);
        return TGX_EXIT_FAILURE;
    }
    for (int i = 0; i < 2; i++)
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    g.stop = 0;
    g.pipe_w = fds[1];
    struct sigaction sa, old_term, old_int, old_pipe, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGHUP, &sa, &old_hup);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);

    struct tgx_buf err;
    tgx_buf_init(&err);
    struct tgx_role_api *api = NULL;
    struct tgx_engine *engine = NULL;
    bool want_api = tgx_roles_has(cfg.roles, "api");
    rc = 0;
    if (want_api) {
        rc = tgx_role_api_create(&cfg, &api, &err);
        if (rc == 0 && (rc = tgx_role_api_start(api)) < 0)
            tgx_buf_puts(&err, "could not start the HTTP server (see the log above)");
    }
    if (rc == 0)
        rc = tgx_engine_create(&cfg, &engine, &err);
    if (rc == 0 && !want_api && tgx_engine_count(engine) == 0) {
        tgx_buf_puts(&err, "no role to run (--roles: api, scheduler, dispatcher, monitor, health or all)");
        rc = -TGX_ERR_INVAL;
    }
    if (rc == 0 && (rc = tgx_engine_start(engine)) < 0)
        tgx_buf_puts(&err, "could not start the engine roles");
    if (rc < 0) {
        fprintf(io->err, "%s: %s\n", who, tgx_buf_str(&err));
        tgx_engine_free(engine);
        engine = NULL;
        rc = TGX_EXIT_FAILURE;
    } else {
        char host[256];
        unsigned port;
        if (api != NULL && tgx_config_listen(&cfg, host, sizeof host, &port) == 0)
            tgx_log_info("api", "listening on %s:%u (roles %s)", host, (unsigned)tgx_role_api_port(api),
                         cfg.roles);
        else
            tgx_log_info("serve", "running roles %s", cfg.roles);
        /* the loop: sleep until a signal writes to the pipe */
        while (!g.stop) {
            struct pollfd p = {fds[0], POLLIN, 0};
            if (poll(&p, 1, -1) > 0 && (p.revents & POLLIN)) {
                char buf[16];
                ssize_t n = read(fds[0], buf, sizeof buf);
                (void)n;
            }
            if (g.reload && !g.stop) {
                g.reload = 0;
                serve_reload(&cfg, who, argc, argv, io, engine);
            }
        }
        tgx_log_info("serve", "stopping (%s)", g.stop == SIGINT ? "SIGINT" : "SIGTERM");
        /* no new work anywhere, then the steps in flight finish and the threads end */
        tgx_engine_stop(engine);
        if (api != NULL)
            tgx_role_api_stop(api);
        rc = TGX_EXIT_OK;
    }
    tgx_engine_free(engine);
    tgx_role_api_free(api);
    tgx_buf_cleanup(&err);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    g.pipe_w = -1;
    close(fds[0]);
    close(fds[1]);
    tgx_config_cleanup(&cfg);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * tgxd keys create
 * ------------------------------------------------------------------------------------------- */

static const char KEYS_USAGE[] =
    "Usage: tgxd keys create --owner OWNER [--admin] [--rate-limit N] [--database-url URL]\n"
    "Create an API key and print it alone on standard output (it is stored only as its SHA-256).\n\n"
    "  --owner OWNER        whose key it is: a 0x address (lower-cased) for a user, any name for an admin\n"
    "  --admin              an admin key: reaches /api/admin/* and every owner's data\n"
    "  --rate-limit N       requests per minute (default 60)\n"
    "  --database-url URL   the database (default TGX_DATABASE_URL)\n";

int tgx_keys_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    char who[64];
    snprintf(who, sizeof who, "%s keys", prog);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(KEYS_USAGE, argc < 2 ? io->err : io->out);
        return argc < 2 ? TGX_EXIT_USAGE : TGX_EXIT_OK;
    }
    if (strcmp(argv[1], "create") != 0) {
        fprintf(io->err, "%s: unknown subcommand '%s' (known: create)\n", who, argv[1]);
        return TGX_EXIT_USAGE;
    }
    snprintf(who, sizeof who, "%s keys create", prog);
    enum { O_OWNER = 1, O_ADMIN, O_RATE, O_URL, O_HELP };
    static const struct option opts[] = {
        {"owner", required_argument, NULL, O_OWNER},
        {"admin", no_argument, NULL, O_ADMIN},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"database-url", required_argument, NULL, O_URL},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *owner = NULL, *url = getenv("TGX_DATABASE_URL");
    bool admin = false;
    long rate = 60;
    struct tgx_cli_parser p;
    tgx_cli_parser_init(&p, who, argc - 1, argv + 1, "h", opts, io);
    for (int o; (o = tgx_cli_next(&p)) != TGX_CLI_END;) {
        switch (o) {
        case O_OWNER:
            owner = p.optarg;
            break;
        case O_ADMIN:
            admin = true;
            break;
        case O_RATE: {
            char *end;
            errno = 0;
            rate = strtol(p.optarg, &end, 10);
            if (errno != 0 || *end != '\0' || rate < 1 || rate > 1000000) {
                fprintf(io->err, "%s: invalid --rate-limit '%s': expected 1 to 1000000 requests per minute\n",
                        who, p.optarg);
                return TGX_EXIT_USAGE;
            }
            break;
        }
        case O_URL:
            url = p.optarg;
            break;
        case O_HELP:
        case 'h':
            fputs(KEYS_USAGE, io->out);
            return TGX_EXIT_OK;
        default:
            return TGX_EXIT_USAGE;
        }
    }
    if (p.optind < argc - 1)
        return tgx_cli_unexpected(&p, argv[1 + p.optind]);
    if (owner == NULL || owner[0] == '\0' || strlen(owner) > 100) {
        fprintf(io->err, "%s: --owner is required (1 to 100 characters)\n", who);
        return TGX_EXIT_USAGE;
    }
    if (url == NULL || url[0] == '\0') {
        fprintf(io->err, "%s: no database: give --database-url or set TGX_DATABASE_URL\n", who);
        return TGX_EXIT_USAGE;
    }
    struct tgx_buf err;
    tgx_buf_init(&err);
    struct tgx_pool_opts po = {.url = url, .appname = "tgxd keys", .size = 1, .wait_ms = 1000};
    struct tgx_pool *pool = NULL;
    struct tgx_store *st = NULL;
    int rc = tgx_pool_create(&po, &pool, &err);
    if (rc == 0 && tgx_store_pg_create(pool, &st) < 0) {
        tgx_buf_puts(&err, "out of memory");
        rc = -TGX_ERR_NOMEM;
    }
    if (rc == 0) {
        json_t *rec;
        char key[TGX_API_KEY_LEN + 1];
        struct tgx_store_err serr;
        rc = tgx_api_key_create(st, owner, admin, (int)rate, &rec, key, &serr);
        if (rc < 0) {
            tgx_buf_printf(&err, "could not create the key: %s", serr.message);
        } else {
            fprintf(io->out, "%s\n", key);
            json_decref(rec);
        }
    }
    if (rc < 0)
        fprintf(io->err, "%s: %s\n", who, tgx_buf_str(&err));
    tgx_store_free(st);
    tgx_pool_free(pool);
    tgx_buf_cleanup(&err);
    return rc < 0 ? TGX_EXIT_FAILURE : TGX_EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * tgxd routes
 * ------------------------------------------------------------------------------------------- */

int tgx_routes_command(const char *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    char who[64];
    snprintf(who, sizeof who, "%s routes", prog);
    enum { O_VERBOSE = 1, O_HELP };
    static const struct option opts[] = {
        {"verbose", no_argument, NULL, O_VERBOSE}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0}};
    bool verbose = false;
    struct tgx_cli_parser p;
    tgx_cli_parser_init(&p, who, argc, argv, "vh", opts, io);
    for (int o; (o = tgx_cli_next(&p)) != TGX_CLI_END;) {
        if (o == O_VERBOSE || o == 'v') {
            verbose = true;
        } else if (o == O_HELP || o == 'h') {
            fputs(
                "Usage: tgxd routes [--verbose]\n"
                "Print the REST routes, one \"METHOD PATTERN\" line each, sorted; --verbose adds the access\n"
                "(open, key, admin) and the route's name in /metrics.\n",
                io->out);
            return TGX_EXIT_OK;
        } else {
            return TGX_EXIT_USAGE;
        }
    }
    if (p.optind < argc)
        return tgx_cli_unexpected(&p, argv[p.optind]);
    tgx_api_print_routes(io->out, verbose);
    return TGX_EXIT_OK;
}
