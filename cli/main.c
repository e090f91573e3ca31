/*
 * cli/main.c — the lightc command line: top-level flags and dispatch to
 * the verbs (train, runs ..., info). Each verb parses its own flags.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "lightc/hub.h"

static const char main_usage[] =
    "usage: lightc <command> [options]\n"
    "\n"
    "commands:\n"
    "  train ...                  train a model (see `lightc train --help`)\n"
    "  runs ls                    list runs: status, duration, last metric values\n"
    "  runs show RUN              one run: params, tags, metric summaries, counters\n"
    "  runs compare RUN RUN...    differing params, final and best metrics side by side\n"
    "  runs export RUN            a run's metrics as CSV or JSON\n"
    "  runs rm RUN                delete a run from the index and its directory\n"
    "  sync [RUN...] [--to B]     finish deliveries to remote backends (mlflow)\n"
    "  info                       version, compiled sinks, BLAS / CUDA support\n"
    "\n"
    "RUN is a run id, a unique prefix of one, or experiment/name.\n"
    "Every command takes --root DIR (default $LIGHTC_ROOT, else ./runs) and --help.\n"
    "\n"
    "options:\n"
    "  -h, --help      show this help\n"
    "  -V, --version   print the version\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_usage, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("lightc %s\n", lc_version());
        return CLI_OK;
    }
    if (strcmp(cmd, "train") == 0)
        return lc_cli_train(argc - 1, argv + 1);
    if (strcmp(cmd, "runs") == 0)
        return cli_runs(argc - 1, argv + 1);
    if (strcmp(cmd, "sync") == 0)
        return cli_sync(argc - 1, argv + 1);
    if (strcmp(cmd, "info") == 0)
        return cli_info(argc - 1, argv + 1);
    if (cmd[0] == '-')
        fprintf(stderr, "lightc: unknown option '%s' (see `lightc --help`)\n", cmd);
    else
        fprintf(stderr, "lightc: unknown command '%s' (see `lightc --help`)\n", cmd);
    return CLI_USAGE;
}
