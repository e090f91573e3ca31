/*
 * cli/args.h — flag parsing helpers shared by every lightc verb: a thin
 * wrapper over getopt_long that prints actionable usage errors, the default
 * run root, comma-list splitting and exit codes.
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <getopt.h>
#include <stddef.h>

/* Exit codes of every verb. CLI_LOST: `lightc train` completed, but a
 * logger lost data (a failing sink; the run is degraded) or the run index
 * could not record how the run ended (docs/cli.md). */
enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2, CLI_LOST = 3 };

/* Long-only option values start here, so they never clash with a short
 * option letter. */
enum {
    CLI_OPT_ROOT = 256,
    CLI_OPT_METRIC,
    CLI_OPT_MODE,
    CLI_OPT_FORMAT,
    CLI_OPT_YES,
    CLI_OPT_FORCE,
    CLI_OPT_EXPERIMENT,
    CLI_OPT_STATUS,
    CLI_OPT_QUIET,
    CLI_OPT_ALL
};

/* The options every verb takes, for its getopt_long table. */
#define CLI_LONGOPT_ROOT {"root", required_argument, NULL, CLI_OPT_ROOT}
#define CLI_LONGOPT_HELP {"help", no_argument, NULL, 'h'}

/* One verb's parse state: the command words for messages ("runs ls"). */
typedef struct cli_parser {
    const char *verb;                  /* "runs ls" */
    const char *shortopts;             /* getopt_long optstring (without ':') */
    const struct option *longopts;     /* terminated by {0} */
    char optstring[64];                /* ':' + shortopts, built on first use */
    int started;
} cli_parser;

/* Next option, as getopt_long, but: unknown options and missing values are
 * reported on stderr ("lightc runs ls: unknown option '--x' (see `lightc
 * runs ls --help`)") and returned as '?'. Returns -1 at the end; optind is
 * then the first positional argument (getopt moves them to the end). */
int cli_next_opt(cli_parser *p, int argc, char **argv);

/* Print "lightc <verb>: <message> (see `lightc <verb> --help`)" to stderr
 * and return CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "lightc <verb>: <message>" to stderr and return CLI_ERR. */
int cli_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The run root: the --root value if given, else lc_default_root()
 * ($LIGHTC_ROOT, else LC_DEFAULT_ROOT). */
const char *cli_root(const char *flag_value);

/* A growable list of owned strings. */
typedef struct cli_strlist {
    char **items;
    size_t count, cap;
} cli_strlist;

/* Append a copy of s. Returns 0, or -1 when out of memory. */
int cli_strlist_add(cli_strlist *l, const char *s);

/* Append each non-empty comma-separated item of s (trimmed of blanks).
 * Returns 0, or -1 when out of memory. */
int cli_strlist_add_csv(cli_strlist *l, const char *s);

/* 1 if s is in the list. */
int cli_strlist_has(const cli_strlist *l, const char *s);

void cli_strlist_free(cli_strlist *l);

#endif /* CLI_ARGS_H */
