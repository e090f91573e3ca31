/*
 * cli/train_launch.c — `lightc train --strategy ddp --devices N` typed on
 * one machine: re-run this same command as N ranks through the installed
 * mpirun (Lightning's subprocess launcher re-runs the script the same
 * way). The ranks find themselves launched (OMPI_COMM_WORLD_SIZE) and
 * train; mpirun's exit status becomes the command's. Under mpirun,
 * mpiexec or srun nothing is launched: the ranks come from the launcher.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "trainer/dist/dist.h"
#include "train_launch.h"

int cli_train_launch(int argc, char **argv, int ranks)
{
#ifdef LC_MPIEXEC_PATH
    const char *mpiexec = getenv("LIGHTC_MPIEXEC");
    if (!mpiexec || !*mpiexec)
        mpiexec = LC_MPIEXEC_PATH;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return cli_error("train", "--strategy ddp: cannot find this program's path to launch "
                         "its ranks (%s); start them with mpirun -np %d lightc train ...",
                         strerror(errno), ranks);
    self[n] = 0;
    char np[16];
    snprintf(np, sizeof np, "%d", ranks);
    char **args = calloc((size_t)argc + 16, sizeof *args);
    if (!args)
        return cli_error("train", "out of memory");
    int k = 0;
    args[k++] = (char *)mpiexec;
    if (geteuid() == 0)
        args[k++] = "--allow-run-as-root";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0 && ranks > cores)
        args[k++] = "--oversubscribe";
    args[k++] = "--bind-to";
    args[k++] = "none"; /* each rank's BLAS threads may use any core */
    args[k++] = "-np";
    args[k++] = np;
    args[k++] = self;
    for (int i = 0; i < argc; i++) /* argv[0] is "train" */
        args[k++] = argv[i];
    args[k] = NULL;
    fprintf(stderr, "lightc train: launching %d ranks: %s -np %d %s train ...\n", ranks, mpiexec,
            ranks, self);
    fflush(stdout);
    fflush(stderr);
    execv(mpiexec, args);
    int e = errno;
    free(args);
    return cli_error("train", "--strategy ddp: could not run %s (%s); install Open MPI "
                     "(apt-get install openmpi-bin) or set LIGHTC_MPIEXEC", mpiexec, strerror(e));
#else
    (void)argc, (void)argv;
    return cli_usage_error("train", "--strategy ddp with %d ranks needs MPI, and this lightc was "
                           "built without it: install Open MPI (apt-get install openmpi-bin "
                           "libopenmpi-dev, or scripts/setup), reconfigure and rebuild", ranks);
#endif
}

int cli_train_needs_launch(const char *strategy, int devices, int num_nodes)
{
    int ranks = (devices > 0 ? devices : 1) * (num_nodes > 0 ? num_nodes : 1);
    int ddp = strategy && (strcmp(strategy, "ddp") == 0 || strcmp(strategy, "auto") == 0);
    if (!ddp || ranks <= 1 || lc_dist_env_world_size(NULL, NULL) > 0)
        return 0;
    return ranks;
}
