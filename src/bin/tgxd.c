/* tgxd.c: the TriggerX-PG server: its command table and main(), nothing else. */
#include <stdio.h>

#include "tgx/cli.h"
#include "tgx/log.h"
#include "tgx/migrate.h"
#include "tgx/roles.h"

#ifndef TGX_VERSION
#define TGX_VERSION "0.0.0"
#endif

/* One row per subcommand; `serve`, `keys` ... are added here. */
static const struct tgx_cli_command commands[] = {
    {"migrate", tgx_migrate_command, "apply migrations/ then reload sql/ into the database"},
    {"serve", tgx_serve_command, "run the server roles (--roles=api) until SIGTERM or SIGINT"},
    {"keys", tgx_keys_command, "create an API key: keys create --owner ADDRESS [--admin] [--rate-limit N]"},
    {"routes", tgx_routes_command, "print the REST routes, one METHOD PATTERN line each, sorted"},
};

static const struct tgx_cli_program program = {
    .name = "tgxd",
    .version = TGX_VERSION,
    .summary = "TriggerX-PG server: on-chain task automation with PostgreSQL as its core.",
    .commands = commands,
    .ncommands = sizeof commands / sizeof commands[0],
};

int main(int argc, char **argv)
{
    const struct tgx_cli_io io = {.out = stdout, .err = stderr};
    if (tgx_log_init_from_env() < 0) {
        /* already logged as a warning; the default level stays */
    }
    return tgx_cli_dispatch(&program, argc, argv, &io);
}
