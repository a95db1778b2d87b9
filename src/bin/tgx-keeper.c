/* tgx-keeper.c: the TriggerX-PG keeper: its command table and main(), nothing else. */
#include <stdio.h>

#include "tgx/cli.h"
#include "tgx/keeper.h"
#include "tgx/keyfile.h"
#include "tgx/log.h"

#ifndef TGX_VERSION
#define TGX_VERSION "0.0.0"
#endif

/* One row per subcommand. */
static const struct tgx_cli_command commands[] = {
    {"keygen", tgx_keyfile_keygen_command,
     "create a key file (mode 0600) and print its address: keygen --key FILE"},
    {"address", tgx_keyfile_address_command, "print the 0x address of a key file: address --key FILE"},
    {"run", tgx_keeper_run_command,
     "run the keeper: run --api URL --key FILE [--rpc CHAIN_ID=URL]... [--dry-run] (run --help)"},
};

static const struct tgx_cli_program program = {
    .name = "tgx-keeper",
    .version = TGX_VERSION,
    .summary = "TriggerX-PG keeper: executes tasks on chain for a tgxd server.",
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
