/*
 * trainer/cb_lr_monitor.c — the LearningRateMonitor callback: logs the
 * optimizer's learning rate as "lr-<Optimizer>" ("lr-AdamW") through the
 * hub, at step = batches_that_stepped, as Lightning does:
 *   logging_interval NULL: at each training epoch start for an
 *     epoch-interval scheduler, at each logged step (when the step's
 *     metrics are due) for a step-interval one, at both without a
 *     scheduler;
 *   "step" / "epoch": at every logged step / every epoch start.
 * The epoch-start record also carries "epoch" (the step records get it from
 * the step metrics logged at the same step), so the epoch staircase and the
 * console's epoch change at the epoch's first step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "trainer_internal.h"

typedef struct lr_monitor {
    lc_callback cb;
    int interval; /* 0 auto, 1 step, 2 epoch */
    lc_tag tag;
    char key[64];
} lr_monitor;

static void lr_log(lr_monitor *m, lc_trainer *t, int with_epoch)
{
    lc_run *run = lc_trainer_run(t);
    if (!run || !t->optim)
        return;
    if (!m->tag) {
        snprintf(m->key, sizeof m->key, "lr-%s", lc_optim_name(t->optim));
        m->tag = lc_run_tag(run, m->key);
    }
    lc_tag tags[2] = {m->tag, with_epoch ? lc_conn_epoch_tag(t, t->batches_that_stepped) : 0};
    double values[2] = {lc_optim_lr(t->optim), (double)t->current_epoch};
    lc_run_log_scalars(run, t->batches_that_stepped, tags[1] ? 2 : 1, tags, values);
}

static lc_status lr_on_train_batch_start(lc_callback *cb, lc_trainer *t, lc_module *mod,
                                         const lc_minibatch *b, int64_t idx)
{
    (void)mod, (void)b, (void)idx;
    lr_monitor *m = cb->self;
    if (m->interval == 2 || !lc_conn_should_update_logs(t))
        return LC_OK;
    if (m->interval == 0 && t->sched && lc_sched_interval_get(t->sched) != LC_SCHED_INTERVAL_STEP)
        return LC_OK;
    lr_log(m, t, 0);
    return LC_OK;
}

static lc_status lr_on_train_epoch_start(lc_callback *cb, lc_trainer *t, lc_module *mod)
{
    (void)mod;
    lr_monitor *m = cb->self;
    if (m->interval == 1)
        return LC_OK;
    if (m->interval == 0 && t->sched && lc_sched_interval_get(t->sched) != LC_SCHED_INTERVAL_EPOCH)
        return LC_OK;
    lr_log(m, t, 1);
    return LC_OK;
}

static lc_status lr_on_train_start(lc_callback *cb, lc_trainer *t, lc_module *mod)
{
    (void)mod;
    lr_monitor *m = cb->self;
    m->tag = 0; /* a new run may have started */
    if (!t->optim)
        lc_trainer_warn("LearningRateMonitor: the trainer has no optimizer; nothing to log");
    return LC_OK;
}

static void lr_destroy(lc_callback *cb)
{
    free(cb->self);
}

lc_status lc_callback_lr_monitor(lc_callback **out, const char *logging_interval)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_callback_lr_monitor: out is NULL");
    *out = NULL;
    int interval;
    if (!logging_interval)
        interval = 0;
    else if (strcmp(logging_interval, "step") == 0)
        interval = 1;
    else if (strcmp(logging_interval, "epoch") == 0)
        interval = 2;
    else
        return lc_fail(LC_ERR_INVALID, "LearningRateMonitor: logging_interval '%s' must be "
                       "NULL, \"step\" or \"epoch\"", logging_interval);
    lr_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return lc_fail(LC_ERR_NOMEM, "lc_callback_lr_monitor: out of memory");
    m->interval = interval;
    m->cb.name = "LearningRateMonitor";
    m->cb.self = m;
    m->cb.on_train_start = lr_on_train_start;
    m->cb.on_train_batch_start = lr_on_train_batch_start;
    m->cb.on_train_epoch_start = lr_on_train_epoch_start;
    m->cb.destroy = lr_destroy;
    *out = &m->cb;
    return LC_OK;
}
