/*
 * trainer/dist/dist_env.c — which launcher started this process, read from
 * the environment before MPI is touched: Open MPI's mpirun/mpiexec
 * (OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_RANK), a PMI/PMIx launcher
 * (PMI_SIZE, PMI_RANK, PMIX_RANK; MPICH's hydra, srun --mpi=pmix) and
 * SLURM's srun (SLURM_NTASKS and SLURM_PROCID inside a job step:
 * SLURM_STEP_ID set). MPI itself is the authority once initialised; these
 * only decide whether a ddp run was launched and, if not, let the CLI
 * launch itself.
 */
#include <stdlib.h>

#include "dist.h"

static int env_int(const char *name, int *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 24)
        return 0;
    *out = (int)x;
    return 1;
}

int lc_dist_env_world_size(int *rank, const char **launcher)
{
    int size = 0, r = 0;
    const char *who = NULL;
    if (env_int("OMPI_COMM_WORLD_SIZE", &size)) {
        env_int("OMPI_COMM_WORLD_RANK", &r);
        who = "mpirun";
    } else if (env_int("PMI_SIZE", &size)) {
        if (!env_int("PMI_RANK", &r))
            env_int("PMIX_RANK", &r);
        who = "pmi";
    } else if (getenv("SLURM_STEP_ID") && env_int("SLURM_NTASKS", &size)) {
        env_int("SLURM_PROCID", &r);
        who = "srun";
    }
    if (rank)
        *rank = size > 0 ? r : 0;
    if (launcher)
        *launcher = who;
    return size;
}
