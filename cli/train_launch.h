/*
 * cli/train_launch.h — `lightc train` launching its own ddp ranks
 * through mpirun (train_launch.c).
 */
#ifndef LC_CLI_TRAIN_LAUNCH_H
#define LC_CLI_TRAIN_LAUNCH_H

/** The ranks to launch for these flags when no launcher started this
 *  process (0: nothing to launch). */
int cli_train_needs_launch(const char *strategy, int devices, int num_nodes);

/** exec mpirun -np ranks <this program> <argv...>; returns only on error
 *  (an exit status). */
int cli_train_launch(int argc, char **argv, int ranks);

#endif
