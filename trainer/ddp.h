/*
 * trainer/ddp.h — the ddp strategy inside the trainer (Lightning's
 * DDPStrategy): what the loops call at their few hook points when
 * t->ddp is set. Everything talks to other ranks through dist/dist.h.
 *
 * Hook points (each one line in the file named):
 *   trainer.c      lc_ddp_create (strategy resolution), lc_ddp_free,
 *                  lc_ddp_make_loaders (DistributedSampler shards)
 *   fit_loop.c     lc_ddp_train_epoch (set_epoch: this epoch's shard),
 *                  lc_ddp_sync_grads (before unscale/clip/step; accumulation
 *                  micro-batches never reach it: no_sync), lc_ddp_share_resume,
 *                  lc_ddp_barrier (end of fit), lc_ddp_raise (a failed fit)
 *   eval_loop.c    lc_ddp_raise (a failed validate/test)
 *   run_setup.c    lc_ddp_run_setup (only rank 0 opens the run; parameters
 *                  broadcast from rank 0), lc_ddp_check_live (rank 0's
 *                  should_stop and kill status reach every rank)
 *   log_connector.c lc_ddp_sync_step / lc_ddp_sync_epoch (sync_dist)
 *   ckpt_state.c   lc_ddp_ckpt_boundary (rank 0's pending files; every
 *                  rank's RNG and loop results gathered), lc_ddp_ckpt_add,
 *                  lc_ddp_ckpt_restore
 */
#ifndef LC_TRAINER_DDP_H
#define LC_TRAINER_DDP_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/trainer.h"
#include "log_result.h"

struct lc_ckpt_writer;
struct lc_ckpt_reader;

/** Resolve strategy/devices/num_nodes of t->cfg; under a launcher with a
 *  world > 1 (or strategy ddp) join the process group and set t->ddp.
 *  Single process otherwise (t->ddp NULL). */
lc_status lc_ddp_create(lc_trainer *t, const lc_trainer_config *c);
void lc_ddp_free(lc_trainer *t);
/* Take rank 0's signal cause off the hub (before the trainer closes it). */
void lc_ddp_release_hub(lc_trainer *t);

/** Global rank (0 without ddp) and world size (1). */
int lc_ddp_rank(const lc_trainer *t);
int lc_ddp_world(const lc_trainer *t);
/** The CUDA device this rank uses (local rank modulo the GPUs). */
int lc_ddp_device_index(const lc_trainer *t);

lc_status lc_ddp_make_loaders(lc_trainer *t, lc_datamodule *dm);
lc_status lc_ddp_train_epoch(lc_trainer *t, int64_t epoch);
lc_status lc_ddp_sync_grads(lc_trainer *t);
lc_status lc_ddp_share_resume(lc_trainer *t, lc_status st, char *ck, size_t cap, int *resume_mode,
                              int64_t *resume_step);
lc_status lc_ddp_barrier(lc_trainer *t);
void lc_ddp_raise(lc_trainer *t, const char *msg);

lc_status lc_ddp_run_setup(lc_trainer *t, int resume, int64_t resume_step);
lc_status lc_ddp_check_live(lc_trainer *t);

lc_status lc_ddp_sync_step(lc_trainer *t, lc_log_result *r, int emit, int64_t step);
lc_status lc_ddp_sync_epoch(lc_trainer *t, lc_log_result *r);

lc_status lc_ddp_ckpt_boundary(lc_trainer *t, int *write);
void lc_ddp_ckpt_add(lc_trainer *t, struct lc_ckpt_writer *w);
lc_status lc_ddp_ckpt_restore(lc_trainer *t, const struct lc_ckpt_reader *r, const char *path);

/* run_setup.c's single-process bodies, which the ddp versions wrap */
lc_status lc_run_setup_local(lc_trainer *t, int resume, int64_t resume_step);
lc_status lc_run_check_live_local(lc_trainer *t);

#endif
