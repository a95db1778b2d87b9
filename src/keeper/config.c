/* config.c (keeper): the settings of `tgx-keeper run` as one table for the machinery of
 * src/util/config.c: defaults < --config FILE < TGX_KEEPER_<NAME> < command line. */
#include <stddef.h>
#include <string.h>

#include "tgx/chains.h"
#include "tgx/keeper.h"
#include "tgx/keeper_gw.h"

#define OFF(field) offsetof(struct tgx_keeper_config, field)

/* A JSON-RPC endpoint: CHAIN_ID=URL as the chain table parses it. */
static int check_chain_spec(const char *v, char *err, size_t errlen)
{
    return tgx_chains_check_spec(v, err, errlen);
}

/* clang-format off */
static const struct tgx_config_param keeper_params[] = {
    {"api", TGX_CONFIG_STRING, OFF(api), 0, 0, "http://127.0.0.1:9002", "URL",
     "Base URL of the tgxd server to serve (its keeper gateway, /api/keeper/...).\n"
     "http://HOST:PORT or https://HOST:PORT.", tgx_config_check_http_url, false, NULL},
    {"key_file", TGX_CONFIG_STRING, OFF(key_file), 0, 0, NULL, "FILE",
     "The keeper's key file, made by `tgx-keeper keygen --key FILE`.  Required.\n"
     "One line of 0x-hex, refused when group or others may read it.  Its address must be registered\n"
     "and whitelisted on the server.",
     NULL, false, "key"},
    {"rpc", TGX_CONFIG_LIST, OFF(rpc), 0, 0, NULL, "CHAIN_ID=URL",
     "JSON-RPC endpoint of a chain to execute and verify tasks on.  Repeatable.\n"
     "The environment takes a comma-separated list.  A task for a chain without an endpoint is given\n"
     "back as a transient failure (another keeper takes it); an attestation request for one is left\n"
     "to the other keepers.", check_chain_spec, false, NULL},
    {"dry_run", TGX_CONFIG_BOOL, OFF(dry_run), 0, 0, "false", "",
     "No chain traffic at all: tasks are signed, never sent.\n"
     "Every chain (configured or not) is a dry-run chain that encodes the call and signs a\n"
     "transaction without sending it, and reports that as the result.  For tests and benchmarks.", NULL, false, NULL},
    {"concurrency", TGX_CONFIG_INT, OFF(concurrency), 1, 256, "4", "N",
     "Tasks executing at once (one worker thread each).", NULL, false, NULL},
    {"checkin_interval", TGX_CONFIG_INT, OFF(checkin_interval), 1, 3600, "60", "SECONDS",
     "Period of the check-in (POST /api/keeper/checkin).\n"
     "tgxd marks a keeper silent for 70 s (setting keeper_silence) offline.",
     NULL, false, NULL},
    {"poll_wait", TGX_CONFIG_INT, OFF(poll_wait), 1, TGX_KEEPER_GW_WAIT_MAX_S, "25", "SECONDS",
     "Longest wait of one long-poll for tasks or attestation requests.", NULL, false, NULL},
    {"receipt_timeout", TGX_CONFIG_INT, OFF(receipt_timeout), 1, 3600, "120", "SECONDS",
     "Longest wait for a transaction's receipt.\n"
     "After it a transaction still pending is replaced by a cancel (same nonce),\n"
     "and both are awaited as long again: the call mined goes on, else the\n"
     "attempt is a transient failure.",
     NULL, false, NULL},
    {"receipt_poll_ms", TGX_CONFIG_INT, OFF(receipt_poll_ms), 50, 60000, "1000", "MS",
     "Receipt polling period, in milliseconds.", NULL, false, NULL},
    {"rpc_timeout_ms", TGX_CONFIG_INT, OFF(rpc_timeout_ms), 100, 600000, "10000", "MS",
     "Longest JSON-RPC call, in milliseconds.", NULL, false, NULL},
    {"gas_limit_cap", TGX_CONFIG_INT, OFF(gas_limit_cap), 0, 1000000000, "0", "GAS",
     "A gas estimate above this is a permanent failure (0: no cap).\n"
     "A dry run signs with this gas limit, or 1000000.", NULL, false, NULL},
    {"gas_margin_percent", TGX_CONFIG_INT, OFF(gas_margin_percent), 0, 1000, "20", "PERCENT",
     "Added to eth_estimateGas for the transaction's gas limit.", NULL, false, NULL},
    {"http_timeout_ms", TGX_CONFIG_INT, OFF(http_timeout_ms), 100, 600000, "15000", "MS",
     "Longest gateway request other than a long-poll, in milliseconds.", NULL, false, NULL},
    {"shutdown_timeout", TGX_CONFIG_INT, OFF(shutdown_timeout), 0, 3600, "20", "SECONDS",
     "After SIGTERM or SIGINT, how long tasks in flight may take to report.\n"
     "Then the keeper exits anyway; their leases expire on the server.", NULL, false, NULL},
    {"log_level", TGX_CONFIG_STRING, OFF(log_level), 0, 0, "info", "LEVEL",
     "Log threshold: error, warning, info or debug.\n"
     "TGX_LOG_LEVEL wins when it is set.",
     tgx_config_check_log_level, true, NULL},
};
/* clang-format on */

const struct tgx_config_table tgx_keeper_config_table = {
    .params = keeper_params,
    .nparams = sizeof keeper_params / sizeof keeper_params[0],
    .file_offset = offsetof(struct tgx_keeper_config, config_file),
    .env_prefix = "TGX_KEEPER_",
    .file_env = "TGX_KEEPER_CONFIG",
    .sample_intro =
        "# tgx-keeper.conf: the settings of `tgx-keeper run`, with their defaults.\n"
        "#\n"
        "# Generated from the configuration table (src/keeper/config.c) by\n"
        "# `tgx-keeper run --print-config`, so it cannot drift from the code.  Every setting can be\n"
        "# given here (read with `tgx-keeper run --config FILE`, or TGX_KEEPER_CONFIG=FILE), in the\n"
        "# environment as TGX_KEEPER_<NAME>, or on the command line as --name (underscores become\n"
        "# dashes; the key file is --key).  The command line wins over the environment, which wins\n"
        "# over this file.  Lines are \"name = value\"; # starts a comment.  Repeatable settings take\n"
        "# one line per value here, a comma-separated list in the environment, and a repeated option\n"
        "# on the command line.  SIGHUP reads the file again (the log level changes at once).\n",
};

void tgx_keeper_config_init(struct tgx_keeper_config *c)
{
    memset(c, 0, sizeof *c);
    tgx_config_table_init(&tgx_keeper_config_table, c);
}

void tgx_keeper_config_cleanup(struct tgx_keeper_config *c)
{
    tgx_config_table_cleanup(&tgx_keeper_config_table, c, sizeof *c);
}

int tgx_keeper_config_parse_args(struct tgx_keeper_config *c, const char *who, int argc, char **argv,
                                 const struct tgx_cli_io *io, struct tgx_config_cli *cli)
{
    return tgx_config_table_parse_args(&tgx_keeper_config_table, c, who, argc, argv, io, cli);
}

void tgx_keeper_config_write_sample(FILE *out)
{
    tgx_config_table_write_sample(&tgx_keeper_config_table, out);
}
