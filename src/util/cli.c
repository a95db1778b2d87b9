/* cli.c: command-line dispatch by a table of subcommands, and getopt_long without exit or noise. */
#include "tgx/cli.h"

#include <string.h>

void tgx_cli_parser_init(struct tgx_cli_parser *p, const char *who, int argc, char **argv,
                         const char *shortopts, const struct option *longopts, const struct tgx_cli_io *io)
{
    p->who = who;
    p->argc = argc;
    p->argv = argv;
    /* '+': stop at the first operand (the subcommand); ':': report a missing value as ':' */
    snprintf(p->optstring, sizeof p->optstring, "+:%s", shortopts);
    p->longopts = longopts;
    p->io = io;
    p->optarg = NULL;
    p->optind = 1;
    /* getopt keeps its state in globals: optind = 0 makes glibc start a new parse */
    optind = 0;
    opterr = 0;
}

/* The length of the name of long option ARG ("--name" or "--name=value"), without the dashes. */
static size_t long_name_len(const char *arg)
{
    const char *eq = strchr(arg + 2, '=');
    return eq != NULL ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
}

/* How many long options start with the N bytes of NAME. */
static int count_prefix_matches(const struct option *longopts, const char *name, size_t n)
{
    int count = 0;
    for (const struct option *o = longopts; o != NULL && o->name != NULL; o++)
        if (strncmp(o->name, name, n) == 0)
            count++;
    return count;
}

/* Write "<who>: <what> '<option>'<tail>" for the option in ELEM (long) or short option C. */
static void option_error(const struct tgx_cli_parser *p, const char *elem, int c, const char *what,
                         const char *tail)
{
    if (elem != NULL && strncmp(elem, "--", 2) == 0)
        fprintf(p->io->err, "%s: %s'--%.*s'%s\n", p->who, what, (int)long_name_len(elem), elem + 2, tail);
    else if (c > 0 && c < 256)
        fprintf(p->io->err, "%s: %s'-%c'%s\n", p->who, what, c, tail);
    else
        fprintf(p->io->err, "%s: %s'%s'%s\n", p->who, what, elem != NULL ? elem : "?", tail);
}

int tgx_cli_next(struct tgx_cli_parser *p)
{
    /* the element getopt is about to look at (a long option is always a whole element) */
    int cur = optind < 1 ? 1 : optind;
    const char *elem = cur < p->argc ? p->argv[cur] : NULL;

    int c = getopt_long(p->argc, p->argv, p->optstring, p->longopts, NULL);
    p->optarg = optarg;
    if (c == -1) {
        p->optind = optind;
        return TGX_CLI_END;
    }
    if (c == ':') {
        option_error(p, elem, optopt, "option ", " needs a value");
        return TGX_CLI_ERROR;
    }
    if (c == '?') {
        if (elem != NULL && strncmp(elem, "--", 2) == 0) {
            if (optopt != 0)
                option_error(p, elem, optopt, "option ", " does not take a value");
            else if (count_prefix_matches(p->longopts, elem + 2, long_name_len(elem)) > 1)
                option_error(p, elem, optopt, "option ", " is ambiguous");
            else
                option_error(p, elem, optopt, "unknown option ", "");
        } else {
            option_error(p, NULL, optopt, "unknown option ", "");
        }
        return TGX_CLI_ERROR;
    }
    if (optarg != NULL && optarg[0] == '\0') {
        option_error(p, elem, c, "option ", " needs a value");
        return TGX_CLI_ERROR;
    }
    return c;
}

int tgx_cli_unexpected(const struct tgx_cli_parser *p, const char *arg)
{
    fprintf(p->io->err, "%s: unexpected argument '%s'\n", p->who, arg);
    return TGX_EXIT_USAGE;
}

static void print_usage(const struct tgx_cli_program *prog, FILE *f)
{
    fprintf(f, "Usage: %s [OPTION] COMMAND [ARGUMENT]...\n%s\n\nCommands:\n", prog->name, prog->summary);
    for (size_t i = 0; i < prog->ncommands; i++)
        fprintf(f, "  %-12s %s\n", prog->commands[i].name, prog->commands[i].help);
    fprintf(f,
            "\nOptions:\n"
            "  -h, --help     show this help and exit\n"
            "  -V, --version  show the version and exit\n"
            "\nRun '%s COMMAND --help' for the options of a command.\n"
            "Environment: TGX_LOG_LEVEL (error, warning, info, debug; default info).\n",
            prog->name);
}

int tgx_cli_dispatch(const struct tgx_cli_program *prog, int argc, char **argv, const struct tgx_cli_io *io)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct tgx_cli_parser p;
    int c;

    tgx_cli_parser_init(&p, prog->name, argc, argv, "hV", longopts, io);
    while ((c = tgx_cli_next(&p)) != TGX_CLI_END) {
        switch (c) {
        case 'h':
            print_usage(prog, io->out);
            return TGX_EXIT_OK;
        case 'V':
            fprintf(io->out, "%s %s\n", prog->name, prog->version);
            return TGX_EXIT_OK;
        default:
            return TGX_EXIT_USAGE;
        }
    }
    if (p.optind >= argc) {
        print_usage(prog, io->err);
        return TGX_EXIT_USAGE;
    }
    const char *name = argv[p.optind];
    for (size_t i = 0; i < prog->ncommands; i++)
        if (strcmp(prog->commands[i].name, name) == 0)
            return prog->commands[i].fn(prog->name, argc - p.optind, argv + p.optind, io);
    fprintf(io->err, "%s: unknown command '%s'\n", prog->name, name);
    return TGX_EXIT_USAGE;
}
