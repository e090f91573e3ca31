/*
 * trainer/ddp_internal.h — the ddp strategy's state (struct lc_ddp), shared
 * by ddp.c (collectives, checkpoints, logging) and ddp_data.c (the
 * DistributedSampler shards).
 */
#ifndef LC_TRAINER_DDP_INTERNAL_H
#define LC_TRAINER_DDP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "dist/dist.h"
#include "lightc/hub.h"

/* One split's shard: a dataset of this rank's samples, in sampler order
 * (the dataloader reads it without shuffling). */
typedef struct lc_ddp_shard {
    lc_dataset ds;          /* what the dataloader reads */
    const lc_dataset *src;  /* the data module's split */
    uint8_t *images, *labels;
    uint32_t *idx;
    int shuffle;
} lc_ddp_shard;

typedef struct lc_ddp {
    lc_dist *dist;
    int rank, world, nodes;
    int run_ready;          /* the run is set up and the parameters broadcast */

    /* gradients */
    float *bucket;
    size_t bucket_floats;
    float **grad_ptrs;      /* device path: every gradient, one NCCL group */
    size_t *grad_counts;
    double grad_sync_s;     /* since the last perf figures */

    /* DistributedSampler shards: train, val, test */
    lc_ddp_shard shards[3];
    int64_t train_epoch;    /* the epoch the train shard holds (-1: none) */

    /* checkpoint: every rank's state gathered at rank 0 */
    void *states;
    size_t *state_lens;

    /* perf figures since the last logging step */
    double perf_t0;
    lc_dist_stats perf_stats0;
    int64_t perf_samples, perf_steps;
    lc_tag perf_tags[7];

    /* rank 0: every rank's pid and host, so a SIGTERM from the launcher
       after a peer died ends the run as failed (ddp_signal_cause) */
    int32_t *pids;
    char *hosts;            /* world x DDP_HOST_MAX */
    lc_hub *cause_hub;      /* the hub the cause is set on (NULL: none) */
} lc_ddp;

#define DDP_HOST_MAX 64

void lc_ddp_free_shards(lc_ddp *d);

#endif
