/*
 * trainer/ddp_data.c — Lightning's use_distributed_sampler under ddp: each
 * split's dataloader reads this rank's DistributedSampler shard
 * (dist_sampler.h). A shard is a dataset of its own whose samples are
 * copied from the split in sampler order, so the unchanged dataloader
 * (no shuffling of its own) yields exactly DistributedSampler's batches;
 * the train shard is rebuilt when an epoch starts (set_epoch), val and
 * test once. On a device the loader's copy is refreshed with the shard.
 */
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "ddp.h"
#include "ddp_internal.h"
#include "dist_sampler.h"
#include "trainer_internal.h"

void lc_ddp_free_shards(lc_ddp *d)
{
    for (int i = 0; i < 3; i++) {
        free(d->shards[i].images);
        free(d->shards[i].labels);
        free(d->shards[i].idx);
        memset(&d->shards[i], 0, sizeof d->shards[i]);
    }
    d->train_epoch = -1;
}

static void shard_fill(lc_ddp *d, lc_ddp_shard *s, uint64_t seed, int64_t epoch)
{
    const lc_dataset *src = s->src;
    size_t n = lc_dist_sampler_indices(s->idx, src->n, d->world, d->rank, seed, epoch, s->shuffle,
                                       0);
    for (size_t k = 0; k < n; k++) {
        uint32_t j = s->idx[k];
        memcpy(s->images + k * src->features, src->images + (size_t)j * src->features,
               src->features);
        s->labels[k] = src->labels[j];
    }
}

static lc_status shard_make(lc_ddp *d, lc_ddp_shard *s, const lc_dataset *src, int shuffle)
{
    s->src = src;
    s->shuffle = shuffle;
    size_t n = lc_dist_sampler_num_samples(src->n, d->world, 0);
    s->images = malloc((n ? n : 1) * src->features);
    s->labels = malloc(n ? n : 1);
    s->idx = malloc((n ? n : 1) * sizeof *s->idx);
    if (!s->images || !s->labels || !s->idx)
        return lc_fail(LC_ERR_NOMEM, "ddp: out of memory for a shard of %zu samples", n);
    s->ds = *src;
    s->ds.images = s->images;
    s->ds.labels = s->labels;
    s->ds.n = n;
    return LC_OK;
}

static lc_status loader_over(lc_dataloader **out, const lc_dataset *ds, int64_t batch)
{
    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    o.batch_size = (size_t)batch;
    return lc_dataloader_create(out, ds, &o);
}

lc_status lc_ddp_make_loaders(lc_trainer *t, lc_datamodule *dm)
{
    lc_ddp *d = t->ddp;
    lc_trainer_free_loaders(t);
    lc_ddp_free_shards(d);
    if (!dm)
        return lc_fail(LC_ERR_INVALID, "trainer: the data module is NULL");
    lc_dataloader **dls[3] = {&t->train_dl, &t->val_dl, &t->test_dl};
    lc_status st = LC_OK;
    for (int i = 0; st == LC_OK && i < 3; i++) {
        const lc_dataset *src = lc_datamodule_split(dm, (lc_split)i);
        if (!src)
            continue;
        st = shard_make(d, &d->shards[i], src, i == LC_SPLIT_TRAIN);
        if (st != LC_OK)
            break;
        shard_fill(d, &d->shards[i], t->cfg.seed, 0);
        st = loader_over(dls[i], &d->shards[i].ds, dm->batch_size);
    }
    if (st == LC_OK)
        d->train_epoch = 0;
    else
        lc_trainer_free_loaders(t);
    t->dm = dm;
    return st;
}

lc_status lc_ddp_train_epoch(lc_trainer *t, int64_t epoch)
{
    lc_ddp *d = t->ddp;
    lc_ddp_shard *s = &d->shards[LC_SPLIT_TRAIN];
    if (!s->src || !t->train_dl || d->train_epoch == epoch)
        return LC_OK;
    shard_fill(d, s, t->cfg.seed, epoch);
    d->train_epoch = epoch;
    if (t->be && t->be->device != LC_DEVICE_HOST) {
        /* the device holds the previous epoch's shard: upload this one */
        lc_status st = lc_dataloader_set_backend(t->train_dl, NULL);
        if (st == LC_OK)
            st = lc_dataloader_set_backend(t->train_dl, t->be);
        return st;
    }
    return LC_OK;
}
