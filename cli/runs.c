/*
 * cli/runs.c — `lightc runs <verb>`: dispatch to ls, show, compare, export
 * and rm.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static const char runs_usage[] =
    "usage: lightc runs <verb> [options]\n"
    "\n"
    "verbs:\n"
    "  ls                         list runs\n"
    "  show RUN                   params, tags, key mapping, metric summaries, counters\n"
    "  compare RUN RUN...         differing params, final and best metric values\n"
    "  export RUN --format F      metrics as csv (key,step,value,wall_time) or json\n"
    "  rm RUN [--yes]             delete a run's index rows and its directory\n"
    "\n"
    "RUN is a run id, a unique prefix of one, or experiment/name.\n"
    "See `lightc runs <verb> --help` for each verb's options.\n";

int cli_runs(int argc, char **argv)
{
    if (argc < 2) {
        fputs(runs_usage, stderr);
        return CLI_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
        fputs(runs_usage, stdout);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } verbs[] = {
        {"ls", cli_runs_ls},           {"show", cli_runs_show},
        {"compare", cli_runs_compare}, {"export", cli_runs_export},
        {"rm", cli_runs_rm},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verb, verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "lightc runs: unknown verb '%s' (see `lightc runs --help`)\n", verb);
    return CLI_USAGE;
}
