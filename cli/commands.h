/*
 * cli/commands.h — the verbs of the lightc command line. Each takes the
 * arguments after its own name (argv[0] is the verb word itself) and
 * returns the process exit code: 0 ok, 1 runtime error, 2 usage error.
 */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

/* lightc train ... — defined by the trainer (cli/train.c). */
int lc_cli_train(int argc, char **argv);

/* lightc runs <ls|show|compare|export|rm> ... */
int cli_runs(int argc, char **argv);
int cli_runs_ls(int argc, char **argv);
int cli_runs_show(int argc, char **argv);
int cli_runs_compare(int argc, char **argv);
int cli_runs_export(int argc, char **argv);
int cli_runs_rm(int argc, char **argv);

/* lightc sync [RUN...] [--to BACKEND]: finish pending remote deliveries */
int cli_sync(int argc, char **argv);

/* lightc info */
int cli_info(int argc, char **argv);

#endif /* CLI_COMMANDS_H */
