/*
 * trainer/cb_device_stats.c — the DeviceStatsMonitor callback: the
 * trainer's device figures through the hub, on the steps the trainer logs
 * (Lightning's DeviceStatsMonitor logs torch.cuda.memory_stats at every
 * batch; here, as the step metrics, every log_every_n_steps):
 *
 *   device/memory_used_mb    bytes in live blocks of the GPU's caching
 *                            allocator (torch.cuda.memory_allocated), MiB
 *   device/memory_peak_mb    its high-water mark (max_memory_allocated)
 *   device/step_ms           the newest finished training batch, from the
 *                            start of on_train_batch_start to the end of
 *                            on_train_batch_end: device events on a GPU
 *                            (the GPU's timeline), the host clock on the CPU
 *   device/samples_per_sec   that batch's samples / its time
 *   device/gemm_tflops       that batch's GEMM flops (2mnk of every linear
 *                            layer GEMM, forward and backward) / its time
 *
 * Nothing here waits for the GPU: the memory figures are the allocator's
 * host-side counters, and the timer is polled (cudaEventQuery), so a step
 * that logs gets the newest batch the GPU has finished (usually the one
 * before) and a step that does not log costs two event records. A figure
 * the GPU has not produced yet is left out rather than waited for. The
 * records go straight to the loggers at step = batches_that_stepped, the
 * step of the metrics logged with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "trainer_internal.h"

#define DSM_RING 8 /* batches remembered, by total batch index */

enum { DSM_MEM, DSM_PEAK, DSM_MS, DSM_SPS, DSM_TFLOPS, DSM_NKEYS };

static const char *const dsm_keys[DSM_NKEYS] = {
    "device/memory_used_mb", "device/memory_peak_mb", "device/step_ms",
    "device/samples_per_sec", "device/gemm_tflops",
};

typedef struct dsm_batch {
    int64_t key;      /* total batch index; -1: empty */
    uint64_t flops;
    int64_t samples;
} dsm_batch;

typedef struct device_stats {
    lc_callback cb;
    const lc_backend *be;     /* the timer's backend (a reference is held on a device) */
    int be_ref;
    lc_backend_timer *timer;
    uint64_t flops0;          /* the backend's GEMM counter at the batch start */
    int timing;               /* a batch is being timed */
    dsm_batch ring[DSM_RING];
    lc_run *tag_run;          /* the run the tags below belong to */
    lc_tag tags[DSM_NKEYS];
} device_stats;

static void dsm_drop_timer(device_stats *d)
{
    if (!d->be)
        return;
    d->be->timer_free(d->timer);
    d->timer = NULL;
    if (d->be_ref)
        d->be->release();
    d->be_ref = 0;
    d->be = NULL;
    d->timing = 0;
}

/* A timer on the trainer's backend (made anew if the trainer moved). */
static lc_status dsm_timer(device_stats *d, const lc_backend *be)
{
    if (d->be == be && d->timer)
        return LC_OK;
    dsm_drop_timer(d);
    lc_status st = LC_OK;
    if (be->device != LC_DEVICE_HOST) {
        st = be->init(-1);
        if (st != LC_OK)
            return st;
        d->be_ref = 1;
    }
    d->be = be;
    st = be->timer_create(&d->timer);
    if (st != LC_OK)
        dsm_drop_timer(d);
    for (int i = 0; i < DSM_RING; i++)
        d->ring[i].key = -1;
    return st;
}

static lc_status dsm_on_train_batch_start(lc_callback *cb, lc_trainer *t, lc_module *m,
                                          const lc_minibatch *b, int64_t idx)
{
    (void)m, (void)b, (void)idx;
    device_stats *d = cb->self;
    lc_status st = dsm_timer(d, t->be);
    lc_backend_stats s;
    if (st == LC_OK)
        st = d->be->stats(&s);
    if (st == LC_OK)
        st = d->be->timer_start(d->timer, t->total_batch_idx);
    if (st != LC_OK)
        return lc_fail(st, "DeviceStatsMonitor: %s", lc_errmsg());
    d->flops0 = s.gemm_flops;
    d->timing = 1;
    return LC_OK;
}

static void dsm_log(device_stats *d, lc_trainer *t, const lc_backend_stats *s)
{
    lc_run *run = lc_trainer_run(t);
    if (!run)
        return;
    if (d->tag_run != run) {
        for (int i = 0; i < DSM_NKEYS; i++)
            d->tags[i] = lc_run_tag(run, dsm_keys[i]);
        d->tag_run = run;
    }
    lc_tag tags[DSM_NKEYS];
    double values[DSM_NKEYS];
    size_t n = 0;
    if (s->has_memory) {
        tags[n] = d->tags[DSM_MEM];
        values[n++] = (double)s->mem_in_use / 1048576.0;
        tags[n] = d->tags[DSM_PEAK];
        values[n++] = (double)s->mem_peak / 1048576.0;
    }
    int ready = 0;
    int64_t key = -1;
    double ms = 0.0;
    if (d->be->timer_poll(d->timer, &ready, &key, &ms) == LC_OK && ready) {
        const dsm_batch *bt = &d->ring[key % DSM_RING];
        tags[n] = d->tags[DSM_MS];
        values[n++] = ms;
        if (bt->key == key && ms > 0.0) {
            tags[n] = d->tags[DSM_SPS];
            values[n++] = (double)bt->samples / (ms / 1e3);
            tags[n] = d->tags[DSM_TFLOPS];
            values[n++] = (double)bt->flops / (ms * 1e9);
        }
    }
    if (n)
        lc_run_log_scalars(run, t->batches_that_stepped, n, tags, values);
}

static lc_status dsm_on_train_batch_end(lc_callback *cb, lc_trainer *t, lc_module *m,
                                        const lc_minibatch *b, int64_t idx)
{
    (void)m, (void)idx;
    device_stats *d = cb->self;
    if (!d->timing)
        return LC_OK;
    d->timing = 0;
    lc_backend_stats s;
    lc_status st = d->be->timer_stop(d->timer);
    if (st == LC_OK)
        st = d->be->stats(&s);
    if (st != LC_OK)
        return lc_fail(st, "DeviceStatsMonitor: %s", lc_errmsg());
    int64_t key = t->total_batch_idx;
    dsm_batch *bt = &d->ring[key % DSM_RING];
    bt->key = key;
    bt->flops = s.gemm_flops - d->flops0;
    bt->samples = b ? b->size : 0;
    /* the steps whose metrics reach the loggers (lc_conn_step_end's rule) */
    if (!t->accumulating && lc_conn_should_update_logs(t))
        dsm_log(d, t, &s);
    return LC_OK;
}

static lc_status dsm_teardown(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)t, (void)m;
    device_stats *d = cb->self;
    d->timing = 0;
    d->tag_run = NULL;
    return LC_OK;
}

static void dsm_destroy(lc_callback *cb)
{
    device_stats *d = cb->self;
    dsm_drop_timer(d);
    free(d);
}

lc_status lc_callback_device_stats_monitor(lc_callback **out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_callback_device_stats_monitor: out is NULL");
    *out = NULL;
    device_stats *d = calloc(1, sizeof *d);
    if (!d)
        return lc_fail(LC_ERR_NOMEM, "lc_callback_device_stats_monitor: out of memory");
    d->cb.name = "DeviceStatsMonitor";
    d->cb.self = d;
    d->cb.on_train_batch_start = dsm_on_train_batch_start;
    d->cb.on_train_batch_end = dsm_on_train_batch_end;
    d->cb.teardown = dsm_teardown;
    d->cb.destroy = dsm_destroy;
    *out = &d->cb;
    return LC_OK;
}
