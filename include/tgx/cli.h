/* cli.h: command-line dispatch by a table of subcommands, and getopt_long without exit or noise. */
#ifndef TGX_CLI_H
#define TGX_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "tgx/err.h"

/* Exit statuses of a command-line program. */
enum tgx_exit {
    TGX_EXIT_OK = 0,      /* done (also --help and --version) */
    TGX_EXIT_FAILURE = 1, /* the command ran and failed */
    TGX_EXIT_USAGE = 2,   /* bad command line: unknown option, missing value, unknown command */
};

/* Where a command writes: its result and help to out, its errors to err.  Borrowed streams. */
struct tgx_cli_io {
    FILE *out;
    FILE *err;
};

/*
 * A subcommand.  ARGV[0] is the subcommand's name, ARGV[ARGC] is NULL.  It returns an exit
 * status (enum tgx_exit), never calls exit(), and writes only to IO, so tests can run it.
 * PROG is the program's name ("tgxd"), for messages ("tgxd migrate: ...").
 */
typedef int (*tgx_cli_fn)(const char *prog, int argc, char **argv, const struct tgx_cli_io *io);

/* One row of a program's command table. */
struct tgx_cli_command {
    const char *name; /* "migrate" */
    tgx_cli_fn fn;    /* runs it */
    const char *help; /* one line for the program's --help */
};

/* A program: its name, version, a line saying what it is, and its command table. */
struct tgx_cli_program {
    const char *name;
    const char *version;
    const char *summary;
    const struct tgx_cli_command *commands;
    size_t ncommands;
};

/*
 * Run PROG's command line: `--help`/`-h` (usage on out, 0), `--version`/`-V` (0), no command
 * (usage on err, 2), an unknown option or command (one line on err, 2), else the command's fn
 * with the arguments after its name.  Returns the exit status.
 */
int tgx_cli_dispatch(const struct tgx_cli_program *prog, int argc, char **argv, const struct tgx_cli_io *io);

/* tgx_cli_next's results besides an option's value. */
#define TGX_CLI_END   (-1) /* no more options: the operands start at tgx_cli_parser.optind */
#define TGX_CLI_ERROR (-2) /* a bad option: the one-line message was written to io->err */

/*
 * A getopt_long parse that prints nothing itself and reports errors as one line
 * "<who>: unknown option '--x'", "<who>: option '--x' needs a value" (also for an empty value),
 * "<who>: option '--x' does not take a value", "<who>: option '--x' is ambiguous".
 * Options stop at the first operand.  Only one parse may run at a time (getopt is global).
 */
struct tgx_cli_parser {
    const char *who;               /* message prefix: "tgxd" or "tgxd migrate" (borrowed) */
    int argc;                      /* argv[0] is the program or command name */
    char **argv;                   /* borrowed */
    char optstring[64];            /* "+:" and the caller's short options */
    const struct option *longopts; /* borrowed, zero-terminated */
    const struct tgx_cli_io *io;   /* borrowed */
    const char *optarg;            /* the value of the option just returned, or NULL */
    int optind;                    /* after TGX_CLI_END: the index of the first operand */
};

/* Start a parse of ARGV (ARGC entries) with SHORTOPTS (getopt syntax) and LONGOPTS. */
void tgx_cli_parser_init(struct tgx_cli_parser *p, const char *who, int argc, char **argv,
                         const char *shortopts, const struct option *longopts, const struct tgx_cli_io *io);
/* The next option's value (its val in LONGOPTS), TGX_CLI_END or TGX_CLI_ERROR. */
int tgx_cli_next(struct tgx_cli_parser *p);
/* Write "<who>: unexpected argument 'ARG'" to err; returns TGX_EXIT_USAGE. */
int tgx_cli_unexpected(const struct tgx_cli_parser *p, const char *arg);

#endif
