/*
 * trainer/cb_timer.c — the Timer callback (Lightning's max_time): measures
 * the time spent in training, validation and testing, and stops training
 * once `duration` seconds of training have passed, checked after every
 * batch ("step") or every epoch ("epoch"). The elapsed times are kept in
 * checkpoints, so a resumed run counts on from where it stopped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/status.h"
#include "trainer_internal.h"

enum { T_TRAIN, T_VALIDATE, T_TEST, T_NSTAGES };

typedef struct timer_cb {
    lc_callback cb;
    double duration;         /* <= 0: measure only */
    int per_epoch;
    double offset[T_NSTAGES];/* seconds from before a resume */
    double start[T_NSTAGES]; /* monotonic start of the running stage, 0 if not running */
    double done[T_NSTAGES];  /* seconds of finished runs of the stage in this process */
} timer_cb;

static double elapsed(const timer_cb *tm, int s)
{
    double e = tm->offset[s] + tm->done[s];
    if (tm->start[s] > 0)
        e += lc_mono_now() - tm->start[s];
    return e;
}

static void stage_start(timer_cb *tm, int s)
{
    tm->start[s] = lc_mono_now();
}

static void stage_end(timer_cb *tm, int s)
{
    if (tm->start[s] > 0)
        tm->done[s] += lc_mono_now() - tm->start[s];
    tm->start[s] = 0;
}

static void check_time(timer_cb *tm, lc_trainer *t)
{
    if (tm->duration <= 0 || t->should_stop)
        return;
    double e = elapsed(tm, T_TRAIN);
    if (e >= tm->duration) {
        t->should_stop = 1;
        fprintf(stderr, "lightc: Timer: time limit reached (%.3g s elapsed, limit %.3g s); "
                "signaling the trainer to stop\n", e, tm->duration);
    }
}

#define TM(cb) ((timer_cb *)(cb)->self)

static lc_status on_train_start(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)t, (void)m;
    stage_start(TM(cb), T_TRAIN);
    return LC_OK;
}

static lc_status on_train_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)t, (void)m;
    stage_end(TM(cb), T_TRAIN);
    return LC_OK;
}

static lc_status on_validation_start(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    if (!t->sanity_checking)
        stage_start(TM(cb), T_VALIDATE);
    return LC_OK;
}

static lc_status on_validation_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    if (!t->sanity_checking)
        stage_end(TM(cb), T_VALIDATE);
    return LC_OK;
}

static lc_status on_test_start(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)t, (void)m;
    stage_start(TM(cb), T_TEST);
    return LC_OK;
}

static lc_status on_test_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)t, (void)m;
    stage_end(TM(cb), T_TEST);
    return LC_OK;
}

static lc_status on_train_batch_end(lc_callback *cb, lc_trainer *t, lc_module *m,
                                    const lc_minibatch *b, int64_t idx)
{
    (void)m, (void)b, (void)idx;
    if (!TM(cb)->per_epoch)
        check_time(TM(cb), t);
    return LC_OK;
}

static lc_status on_train_epoch_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    if (TM(cb)->per_epoch)
        check_time(TM(cb), t);
    return LC_OK;
}

static size_t state_size(lc_callback *cb)
{
    (void)cb;
    return T_NSTAGES * sizeof(double);
}

static lc_status state_save(lc_callback *cb, void *buf, size_t cap)
{
    if (cap < T_NSTAGES * sizeof(double))
        return lc_fail(LC_ERR_INVALID, "Timer: state buffer too small");
    double v[T_NSTAGES];
    for (int s = 0; s < T_NSTAGES; s++)
        v[s] = elapsed(TM(cb), s);
    memcpy(buf, v, sizeof v);
    return LC_OK;
}

static lc_status state_load(lc_callback *cb, lc_trainer *t, const void *buf, size_t len)
{
    (void)t;
    if (len != T_NSTAGES * sizeof(double))
        return lc_fail(LC_ERR_INVALID, "Timer: saved state has %zu bytes, expected %zu", len,
                       T_NSTAGES * sizeof(double));
    timer_cb *tm = TM(cb);
    memcpy(tm->offset, buf, sizeof tm->offset);
    memset(tm->done, 0, sizeof tm->done);
    return LC_OK;
}

static void destroy(lc_callback *cb)
{
    free(cb->self);
}

lc_status lc_callback_timer(lc_callback **out, double duration_s, const char *interval)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_callback_timer: out is NULL");
    *out = NULL;
    int per_epoch;
    if (!interval || strcmp(interval, "step") == 0)
        per_epoch = 0;
    else if (strcmp(interval, "epoch") == 0)
        per_epoch = 1;
    else
        return lc_fail(LC_ERR_INVALID, "Timer: interval '%s' must be \"step\" or \"epoch\"",
                       interval);
    if (isnan(duration_s))
        return lc_fail(LC_ERR_INVALID, "Timer: duration is NaN");
    timer_cb *tm = calloc(1, sizeof *tm);
    if (!tm)
        return lc_fail(LC_ERR_NOMEM, "lc_callback_timer: out of memory");
    tm->duration = duration_s;
    tm->per_epoch = per_epoch;
    lc_callback *cb = &tm->cb;
    cb->name = "Timer";
    cb->self = tm;
    cb->on_train_start = on_train_start;
    cb->on_train_end = on_train_end;
    cb->on_validation_start = on_validation_start;
    cb->on_validation_end = on_validation_end;
    cb->on_test_start = on_test_start;
    cb->on_test_end = on_test_end;
    cb->on_train_batch_end = on_train_batch_end;
    cb->on_train_epoch_end = on_train_epoch_end;
    cb->state_size = state_size;
    cb->state_save = state_save;
    cb->state_load = state_load;
    cb->destroy = destroy;
    *out = cb;
    return LC_OK;
}

double lc_timer_elapsed(const lc_callback *cb, const char *stage)
{
    if (!cb || !cb->self || !stage || !cb->name || strcmp(cb->name, "Timer") != 0)
        return NAN;
    int s = strcmp(stage, "train") == 0      ? T_TRAIN
          : strcmp(stage, "validate") == 0   ? T_VALIDATE
          : strcmp(stage, "test") == 0       ? T_TEST
                                             : -1;
    return s < 0 ? NAN : elapsed((const timer_cb *)cb->self, s);
}
