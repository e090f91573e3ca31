/*
 * trainer/dataloader.c — batches from a dataset (data.h): the per-epoch
 * order (identity, or a Fisher-Yates shuffle keyed only by (seed, epoch)),
 * batching with an optional dropped last partial batch, normalisation of
 * the pixel bytes through a 256-entry table, and the (epoch, batch)
 * position that checkpoints save for a mid-epoch resume.
 *
 * On a device (lc_dataloader_set_backend): the dataset's bytes and the
 * table go to the device once, each epoch's order once, and a batch is
 * gathered there by the backend (the same table, so the same floats).
 */
#include "data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "par.h"
#include "rng.h"

/* PCG stream of the data order ("data" in ASCII): other consumers of the
 * kernels' RNG (init, dropout) use other streams. */
#define DATA_RNG_STREAM 0x64617461u

struct lc_dataloader {
    const lc_dataset *ds;
    lc_dataloader_options opt;
    size_t num_batches;
    int64_t epoch;
    size_t next;      /* index of the next batch */
    uint32_t *order;  /* ds->n sample indices for this epoch */
    float *x;         /* batch_size * features */
    int32_t *y;       /* batch_size */
    float lut[256];   /* normalised value of each pixel byte */
    /* on a device (NULL: host batches) */
    const lc_backend *be;
    lc_device_data *dd;
    float *dx;        /* batch_size * features, device */
    int32_t *dy;      /* batch_size, device */
    int order_dirty;  /* the device does not have this epoch's order yet */
};

/* SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix,
 * used to turn (seed, epoch) into a well-spread PCG seed. */
static uint64_t data_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void lc_data_shuffle(uint32_t *order, size_t n, uint64_t seed, int64_t epoch)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    /* The generator depends on (seed, epoch) and nothing else, so epoch e
     * has the same order whether or not epochs before it ran. */
    lc_rng rng;
    lc_rng_seed(&rng, data_mix64(data_mix64(seed) ^ (uint64_t)epoch), DATA_RNG_STREAM);
    for (size_t i = n; i > 1; i--) {
        size_t j = lc_rng_below(&rng, (uint32_t)i); /* uniform in [0, i) */
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

void lc_dataloader_options_default(lc_dataloader_options *opt)
{
    opt->batch_size = 64;
    opt->shuffle = 0;
    opt->drop_last = 0;
    opt->seed = 0;
}

static void loader_make_order(lc_dataloader *dl)
{
    dl->order_dirty = 1;
    if (dl->opt.shuffle) {
        lc_data_shuffle(dl->order, dl->ds->n, dl->opt.seed, dl->epoch);
    } else {
        for (size_t i = 0; i < dl->ds->n; i++)
            dl->order[i] = (uint32_t)i;
    }
}

lc_status lc_dataloader_create(lc_dataloader **out, const lc_dataset *ds,
                               const lc_dataloader_options *opt)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "dataloader: out is NULL");
    *out = NULL;
    lc_dataloader_options def;
    if (!opt) {
        lc_dataloader_options_default(&def);
        opt = &def;
    }
    if (!ds || (ds->n > 0 && (!ds->images || !ds->labels)) || ds->features == 0)
        return lc_fail(LC_ERR_INVALID, "dataloader: the dataset is empty or not loaded "
                       "(load it with lc_mnist_load first)");
    if (ds->n > UINT32_MAX)
        return lc_fail(LC_ERR_INVALID, "dataloader: %zu samples is more than 2^32 - 1", ds->n);
    if (!(ds->std > 0.0f) || !isfinite(ds->std) || !isfinite(ds->mean))
        return lc_fail(LC_ERR_INVALID, "dataloader: normalisation mean %g / std %g is invalid",
                       (double)ds->mean, (double)ds->std);
    if (opt->batch_size < 1 || opt->batch_size > ((size_t)1 << 24) ||
        ds->features > SIZE_MAX / sizeof(float) / opt->batch_size)
        return lc_fail(LC_ERR_INVALID, "dataloader: batch_size %zu must be between 1 and 2^24",
                       opt->batch_size);

    lc_dataloader *dl = calloc(1, sizeof *dl);
    if (!dl)
        return lc_fail(LC_ERR_NOMEM, "dataloader: out of memory");
    dl->ds = ds;
    dl->opt = *opt;
    dl->opt.shuffle = opt->shuffle != 0;
    dl->opt.drop_last = opt->drop_last != 0;
    dl->order = malloc((ds->n ? ds->n : 1) * sizeof *dl->order);
    dl->x = malloc(opt->batch_size * ds->features * sizeof *dl->x);
    dl->y = malloc(opt->batch_size * sizeof *dl->y);
    if (!dl->order || !dl->x || !dl->y) {
        lc_dataloader_free(dl);
        return lc_fail(LC_ERR_NOMEM, "dataloader: out of memory for a batch of %zu",
                       opt->batch_size);
    }
    dl->num_batches = dl->opt.drop_last ? ds->n / opt->batch_size
                                        : (ds->n + opt->batch_size - 1) / opt->batch_size;
    /* Same float32 arithmetic as ToTensor (p / 255) then Normalize
     * ((x - mean) / std), precomputed per byte value. */
    for (int p = 0; p < 256; p++) {
        float v = (float)p / 255.0f;
        dl->lut[p] = (v - ds->mean) / ds->std;
    }
    dl->epoch = 0;
    dl->next = 0;
    loader_make_order(dl);
    *out = dl;
    return LC_OK;
}

static void loader_drop_device(lc_dataloader *dl)
{
    const lc_backend *be = dl->be;
    if (!be)
        return;
    be->data_free(dl->dd);
    be->mem_free(dl->dx);
    be->mem_free(dl->dy);
    dl->dd = NULL;
    dl->dx = NULL;
    dl->dy = NULL;
    dl->be = NULL;
    be->release();
}

lc_status lc_dataloader_set_backend(lc_dataloader *dl, const lc_backend *be)
{
    if (!dl)
        return lc_fail(LC_ERR_INVALID, "dataloader is NULL");
    if (be == dl->be || (!dl->be && (!be || be->device == LC_DEVICE_HOST)))
        return LC_OK;
    loader_drop_device(dl);
    if (!be || be->device == LC_DEVICE_HOST)
        return LC_OK;
    lc_status st = be->init(-1);
    if (st != LC_OK)
        return st;
    dl->be = be;
    const lc_dataset *ds = dl->ds;
    const size_t bs = dl->opt.batch_size;
    st = be->data_create(&dl->dd, ds->images, ds->labels, ds->n, ds->features, dl->lut);
    if (st == LC_OK)
        st = be->mem_alloc((void **)&dl->dx, bs * ds->features * sizeof(float));
    if (st == LC_OK)
        st = be->mem_alloc((void **)&dl->dy, bs * sizeof(int32_t));
    if (st != LC_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", lc_errmsg());
        loader_drop_device(dl);
        return lc_fail(st, "dataloader: could not put the data set (%zu samples) on %s: %s", ds->n,
                       be->name, why);
    }
    dl->order_dirty = 1;
    return LC_OK;
}

void lc_dataloader_free(lc_dataloader *dl)
{
    if (!dl)
        return;
    loader_drop_device(dl);
    free(dl->order);
    free(dl->x);
    free(dl->y);
    free(dl);
}

size_t lc_dataloader_num_batches(const lc_dataloader *dl)
{
    return dl ? dl->num_batches : 0;
}

size_t lc_dataloader_num_samples(const lc_dataloader *dl)
{
    return dl ? dl->ds->n : 0;
}

lc_status lc_dataloader_set_epoch(lc_dataloader *dl, int64_t epoch)
{
    lc_data_position pos = {epoch, 0};
    return lc_dataloader_set_position(dl, pos);
}

/* Rows per gather task. */
#define LOADER_GATHER_ROWS 16

typedef struct loader_gather_job {
    lc_dataloader *dl;
    size_t start, size;
} loader_gather_job;

static void loader_gather_rows(void *arg, size_t task)
{
    const loader_gather_job *j = arg;
    lc_dataloader *dl = j->dl;
    const lc_dataset *ds = dl->ds;
    const size_t f = ds->features;
    size_t lo = task * LOADER_GATHER_ROWS;
    size_t hi = j->size - lo < LOADER_GATHER_ROWS ? j->size : lo + LOADER_GATHER_ROWS;
    /* The rows are scattered over the dataset, so each is a string of
       cache misses the hardware prefetcher only catches up with late:
       ask for every line of the task's rows first, so the misses overlap
       instead of queueing one row after another. */
    for (size_t i = lo; i < hi; i++) {
        const char *px = (const char *)(ds->images + (size_t)dl->order[j->start + i] * f);
        for (size_t c = 0; c < f; c += 64)
            __builtin_prefetch(px + c);
        __builtin_prefetch(px + f - 1);
    }
    for (size_t i = lo; i < hi; i++) {
        const uint32_t k = dl->order[j->start + i];
        const uint8_t *px = ds->images + (size_t)k * f;
        float *dst = dl->x + i * f;
        for (size_t c = 0; c < f; c++)
            dst[c] = dl->lut[px[c]];
        dl->y[i] = ds->labels[k];
    }
}

int lc_dataloader_next(lc_dataloader *dl, lc_batch *b)
{
    if (!dl || !b || dl->next >= dl->num_batches)
        return 0;
    const lc_dataset *ds = dl->ds;
    const size_t bs = dl->opt.batch_size, f = ds->features;
    const size_t start = dl->next * bs;
    const size_t size = ds->n - start < bs ? ds->n - start : bs;
    if (dl->be) {
        /* on the device: this epoch's order once, then a gather per batch */
        lc_status st = LC_OK;
        if (dl->order_dirty)
            st = dl->be->data_set_order(dl->dd, dl->order, ds->n);
        if (st == LC_OK)
            dl->order_dirty = 0;
        if (st == LC_OK)
            st = dl->be->data_gather(dl->dd, start, size, dl->dx, dl->dy);
        if (st != LC_OK)
            return -1;
        b->x = dl->dx;
        b->y = dl->dy;
    } else {
        /* gather + normalise in one pass, rows split over the kernels'
           threads (a copy through the table: the same floats either way) */
        loader_gather_job j = {dl, start, size};
        size_t tasks = (size + LOADER_GATHER_ROWS - 1) / LOADER_GATHER_ROWS;
        lc_par_run(tasks, size * f < LC_PAR_MIN ? 1 : lc_par_threads(), loader_gather_rows, &j);
        b->x = dl->x;
        b->y = dl->y;
    }
    b->size = size;
    b->features = f;
    b->epoch = dl->epoch;
    b->index = dl->next;
    dl->next++;
    return 1;
}

lc_data_position lc_dataloader_position(const lc_dataloader *dl)
{
    lc_data_position pos = {dl->epoch, (int64_t)dl->next};
    return pos;
}

lc_status lc_dataloader_set_position(lc_dataloader *dl, lc_data_position pos)
{
    if (!dl)
        return lc_fail(LC_ERR_INVALID, "dataloader is NULL");
    if (pos.epoch < 0 || pos.batch < 0 || (uint64_t)pos.batch > dl->num_batches)
        return lc_fail(LC_ERR_INVALID,
                       "dataloader: position (epoch %lld, batch %lld) is out of range (%zu batches "
                       "per epoch) — was the checkpoint written with another batch size?",
                       (long long)pos.epoch, (long long)pos.batch, dl->num_batches);
    if (pos.epoch != dl->epoch) {
        dl->epoch = pos.epoch;
        loader_make_order(dl);
    }
    dl->next = (size_t)pos.batch;
    return LC_OK;
}

const uint32_t *lc_dataloader_order(const lc_dataloader *dl)
{
    return dl->order;
}
