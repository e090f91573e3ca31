/*
 * kernels/cuda/timer.c — step timing from CUDA events.
 *
 * llm.c records an event before and after a step and then waits on the
 * second (its own comment notes that this idles the GPU). Here each step's
 * pair of events goes into a ring of LC_CUDA_TIMER_RING slots; poll asks the
 * newest stopped slots, newest first, whether they have finished
 * (cudaEventQuery, which never waits), so a trainer logs the time of the
 * newest finished step, typically one or two steps behind, without a sync.
 */
#include <stdlib.h>

#include "cuda_internal.h"

#define LC_CUDA_TIMER_RING 4

typedef struct timer_slot {
    cudaEvent_t start, stop;
    int64_t step;
    int stopped; /* 1 once stop was recorded for this slot's current step */
} timer_slot;

struct lc_cuda_timer {
    lc_cuda_ctx *ctx;
    timer_slot slot[LC_CUDA_TIMER_RING];
    int current; /* slot of the step being timed, -1 if none */
    int next;    /* slot the next start uses */
    int last;    /* slot of the newest stopped step, -1 if none */
};

lc_status lc_cuda_timer_create(lc_cuda_ctx *ctx, lc_cuda_timer **out)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_timer_create");
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(out, "lc_cuda_timer_create");
    lc_cuda_timer *t = calloc(1, sizeof *t);
    if (!t)
        return lc_fail(LC_ERR_NOMEM, "lc_cuda_timer_create: out of host memory");
    t->ctx = ctx;
    t->current = -1;
    t->last = -1;
    for (int i = 0; i < LC_CUDA_TIMER_RING && st == LC_OK; i++) {
        st = lc_cuda_fail(cudaEventCreate(&t->slot[i].start), "cudaEventCreate");
        if (st == LC_OK)
            st = lc_cuda_fail(cudaEventCreate(&t->slot[i].stop), "cudaEventCreate");
    }
    if (st != LC_OK) {
        lc_cuda_timer_free(t);
        return st;
    }
    *out = t;
    return LC_OK;
}

void lc_cuda_timer_free(lc_cuda_timer *t)
{
    if (!t)
        return;
    for (int i = 0; i < LC_CUDA_TIMER_RING; i++) {
        if (t->slot[i].start)
            cudaEventDestroy(t->slot[i].start);
        if (t->slot[i].stop)
            cudaEventDestroy(t->slot[i].stop);
    }
    free(t);
}

lc_status lc_cuda_timer_start(lc_cuda_timer *t, int64_t step)
{
    LC_CUDA_NEED(t, "lc_cuda_timer_start");
    timer_slot *s = &t->slot[t->next];
    lc_status st = lc_cuda_fail(cudaEventRecord(s->start, t->ctx->stream), "cudaEventRecord");
    if (st != LC_OK)
        return st;
    if (t->last == t->next)
        t->last = -1; /* that slot's old step is being overwritten */
    s->step = step;
    s->stopped = 0;
    t->current = t->next;
    t->next = (t->next + 1) % LC_CUDA_TIMER_RING;
    return LC_OK;
}

lc_status lc_cuda_timer_stop(lc_cuda_timer *t)
{
    LC_CUDA_NEED(t, "lc_cuda_timer_stop");
    if (t->current < 0)
        return lc_fail(LC_ERR_STATE, "lc_cuda_timer_stop: no step started");
    timer_slot *s = &t->slot[t->current];
    lc_status st = lc_cuda_fail(cudaEventRecord(s->stop, t->ctx->stream), "cudaEventRecord");
    if (st != LC_OK)
        return st;
    s->stopped = 1;
    t->last = t->current;
    t->current = -1;
    return LC_OK;
}

lc_status lc_cuda_timer_poll(lc_cuda_timer *t, int *ready, int64_t *step, float *ms)
{
    LC_CUDA_NEED(t, "lc_cuda_timer_poll");
    LC_CUDA_NEED(ready, "lc_cuda_timer_poll");
    *ready = 0;
    /* Newest slot first (the one before `next`), then older ones; the step
     * being timed has stopped == 0 and is passed over. */
    for (int k = 1; k <= LC_CUDA_TIMER_RING; k++) {
        int i = (t->next - k + LC_CUDA_TIMER_RING) % LC_CUDA_TIMER_RING;
        timer_slot *s = &t->slot[i];
        if (!s->stopped)
            continue;
        cudaError_t err = cudaEventQuery(s->stop);
        if (err == cudaErrorNotReady)
            continue;
        if (err != cudaSuccess)
            return lc_cuda_fail(err, "cudaEventQuery");
        float elapsed = 0.0f;
        lc_status st = lc_cuda_fail(cudaEventElapsedTime(&elapsed, s->start, s->stop),
                                    "cudaEventElapsedTime");
        if (st != LC_OK)
            return st;
        *ready = 1;
        if (step)
            *step = s->step;
        if (ms)
            *ms = elapsed;
        return LC_OK;
    }
    return LC_OK;
}

lc_status lc_cuda_timer_wait(lc_cuda_timer *t, int64_t *step, float *ms)
{
    LC_CUDA_NEED(t, "lc_cuda_timer_wait");
    if (t->last < 0)
        return lc_fail(LC_ERR_STATE, "lc_cuda_timer_wait: no step stopped yet");
    timer_slot *s = &t->slot[t->last];
    lc_status st = lc_cuda_fail(cudaEventSynchronize(s->stop), "cudaEventSynchronize");
    float elapsed = 0.0f;
    if (st == LC_OK)
        st = lc_cuda_fail(cudaEventElapsedTime(&elapsed, s->start, s->stop),
                          "cudaEventElapsedTime");
    if (st != LC_OK)
        return st;
    if (step)
        *step = s->step;
    if (ms)
        *ms = elapsed;
    return LC_OK;
}
