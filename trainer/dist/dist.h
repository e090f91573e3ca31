/*
 * trainer/dist/dist.h — the collectives layer of distributed training:
 * one process group over MPI (processes, host collectives) and, with the
 * CUDA layer, NCCL (device collectives, its communicator created from an
 * ncclUniqueId that rank 0 makes and broadcasts over MPI).
 *
 * The trainer talks only to this header; nothing else in lightc includes
 * mpi.h or nccl.h. A build without MPI (LC_MPI=OFF, or no MPI found) keeps
 * every function: lc_dist_init then fails with a message saying how to
 * install MPI, and lc_dist_env_world_size() still reads the launcher's
 * variables so a ddp run can say why it cannot start.
 *
 * Failure handling, so no rank hangs in a collective:
 *  - every host collective is a non-blocking MPI call completed by a
 *    polling loop that also watches an error channel (a duplicated
 *    communicator) and a deadline (timeout_s, LIGHTC_DIST_TIMEOUT_S,
 *    default 1800 s like torch.distributed's);
 *  - lc_dist_raise(msg) tells every other rank that this one failed; a
 *    peer in (or entering) a collective then fails with "rank R failed:
 *    msg" instead of waiting;
 *  - an interrupt callback (the trainer: its run was killed by a signal)
 *    is polled too;
 *  - a rank that dies (SIGKILL, crash) is Open MPI's: mpirun notices the
 *    lost process, names its rank and terminates the others.
 * After a failure the group is broken: every later call fails at once
 * with the first error, and MPI is not finalised (a finalise would wait
 * for the failed peer).
 *
 * Errors return an lc_status with lc_errmsg() set; nothing exits.
 */
#ifndef LC_TRAINER_DIST_H
#define LC_TRAINER_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"

typedef struct lc_dist lc_dist;

typedef enum lc_dist_type {
    LC_DIST_FLOAT = 0,
    LC_DIST_DOUBLE = 1,
    LC_DIST_INT32 = 2,
    LC_DIST_INT64 = 3
} lc_dist_type;

typedef enum lc_dist_op {
    LC_DIST_SUM = 0,
    LC_DIST_MEAN = 1, /* the sum divided by the world size (floats only) */
    LC_DIST_MAX = 2,
    LC_DIST_MIN = 3
} lc_dist_op;

/** Figures of the collectives so far (per rank). */
typedef struct lc_dist_stats {
    uint64_t allreduce_calls;
    uint64_t allreduce_bytes;  /* payload bytes handed to all-reduce */
    double allreduce_seconds;  /* wall time inside all-reduce */
} lc_dist_stats;

/** 1 when this lightc was built with MPI. */
int lc_dist_have_mpi(void);
/** 1 when this lightc was built with NCCL (MPI + the CUDA layer). */
int lc_dist_have_nccl(void);

/** The world size and rank a launcher gave this process through its
 *  environment: Open MPI (OMPI_COMM_WORLD_SIZE/RANK), PMI/PMIx (PMI_SIZE/
 *  PMI_RANK, PMIX_RANK), SLURM's srun (SLURM_NTASKS/SLURM_PROCID inside a
 *  job step). 0 when no launcher started this process. *launcher (may be
 *  NULL) gets "mpirun", "pmi" or "srun". */
int lc_dist_env_world_size(int *rank, const char **launcher);

/** Join the process group of the launcher (MPI_Init on first use, shared
 *  by later groups of the process). timeout_s <= 0: LIGHTC_DIST_TIMEOUT_S
 *  or 1800. Without MPI: LC_ERR_UNSUPPORTED saying how to install it. */
lc_status lc_dist_init(lc_dist **out, double timeout_s);

/** Leave the group (MPI is finalised at process exit, unless broken). */
void lc_dist_free(lc_dist *d);

int lc_dist_rank(const lc_dist *d);
int lc_dist_world(const lc_dist *d);
/** Rank among the processes of this host, and how many there are. */
int lc_dist_local_rank(const lc_dist *d);
int lc_dist_local_world(const lc_dist *d);
/** This host's name (as MPI_Get_processor_name gives it). */
const char *lc_dist_host(const lc_dist *d);

/** A function polled while waiting in a collective: nonzero stops the wait
 *  with LC_ERR_STATE and the message it wrote into why. */
typedef int (*lc_dist_interrupt_fn)(void *ctx, char *why, size_t cap);
void lc_dist_set_interrupt(lc_dist *d, lc_dist_interrupt_fn fn, void *ctx);

/** In-place all-reduce of count elements of host memory. */
lc_status lc_dist_allreduce(lc_dist *d, void *buf, size_t count, lc_dist_type type, lc_dist_op op);

/** Broadcast bytes of host memory from root. */
lc_status lc_dist_broadcast(lc_dist *d, void *buf, size_t bytes, int root);

lc_status lc_dist_barrier(lc_dist *d);

/** Gather bytes from every rank at root: all (root only; world * bytes,
 *  rank r's at r * bytes). */
lc_status lc_dist_gather(lc_dist *d, const void *mine, size_t bytes, void *all, int root);

/** Gather variable-sized blobs at root: on root *out (malloc'd, free it)
 *  holds every rank's blob back to back and lens[r] (world entries) their
 *  sizes; other ranks get *out = NULL. */
lc_status lc_dist_gatherv(lc_dist *d, const void *mine, size_t len, void **out, size_t *lens,
                          int root);

/** Tell every other rank that this one failed with msg (no wait). The group
 *  is broken afterwards. */
void lc_dist_raise(lc_dist *d, const char *msg);

/** 1 once a collective failed or lc_dist_raise ran. */
int lc_dist_broken(const lc_dist *d);

void lc_dist_get_stats(const lc_dist *d, lc_dist_stats *out);

/* ---- device buffers (NCCL) --------------------------------------------- */

/** Create the NCCL communicator on CUDA device `device` (rank 0 makes the
 *  ncclUniqueId, MPI broadcasts it). LC_ERR_UNSUPPORTED without NCCL. */
lc_status lc_dist_nccl_init(lc_dist *d, int device);
/** Load libnccl (done by lc_dist_nccl_init; dlopen, see dist_nccl.c):
 *  LC_ERR_UNSUPPORTED with the reason when it cannot be loaded. */
lc_status lc_dist_nccl_load(void);
/** 1 when lc_dist_nccl_init succeeded. */
int lc_dist_nccl_ready(const lc_dist *d);

/** In-place all-reduce of n device buffers (float32; bufs[i] has counts[i]
 *  elements) in one NCCL group call; waits for the result. MEAN divides by
 *  the world size on the device (ncclAvg). */
lc_status lc_dist_allreduce_device(lc_dist *d, float *const *bufs, const size_t *counts, size_t n,
                                   lc_dist_op op);

/** Broadcast bytes of device memory from root. */
lc_status lc_dist_broadcast_device(lc_dist *d, void *buf, size_t bytes, int root);

/* internal to trainer/dist/: the NCCL half (dist_nccl.c) */
typedef struct lc_nccl lc_nccl;
lc_status lc_nccl_create(lc_nccl **out, lc_dist *d, int device);
void lc_nccl_free(lc_nccl *n);
lc_status lc_nccl_allreduce(lc_nccl *n, float *const *bufs, const size_t *counts, size_t k,
                            lc_dist_op op, int world);
lc_status lc_nccl_broadcast(lc_nccl *n, void *buf, size_t bytes, int root);

#endif
