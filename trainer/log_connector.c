/*
 * trainer/log_connector.c — from lc_log calls to the hub: Lightning's
 * logger connector.
 *
 *  - lc_log records into the results of the running loop (train or eval),
 *    with the defaults of the running hook (log_rules.h).
 *  - At the end of a training batch the step values go to
 *    trainer.callback_metrics, and to the loggers when the step is due:
 *    (batches_that_stepped + 1) % log_every_n_steps == 0, or should_stop,
 *    never while accumulating. All keys of one step go out as one
 *    lc_run_log_scalars record (one CSV row, one batch everywhere).
 *  - With them, on the same logging steps: "grad_norm" (the unscaled norm
 *    before clipping, when log_grad_norm is on) and, for 16-mixed,
 *    "precision/loss_scale", "precision/skipped_steps" (all run long) and
 *    "precision/overflows" (Inf/NaN steps since the previous logged step).
 *  - At an epoch end (or a validation/test end) the reduced epoch values go
 *    to callback_metrics and the loggers.
 *  - "epoch" (the current epoch) goes with every record logged at a training
 *    step: the train step metrics, the training epoch end (always), the
 *    validation/test results. Lightning adds it to each metrics dict logged
 *    without an explicit step, so TensorBoard shows a staircase; only the
 *    per-batch evaluation records (step = the batch index) go without it.
 *    One point per step: the second record at a step does not repeat it.
 * Keys are interned once per entry; the hot path takes no lock.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "trainer_internal.h"

/* ------------------------------------------------------------------------ */
/* callback_metrics                                                          */

void lc_metric_dict_set(lc_metric_dict *d, const char *name, double value)
{
    for (size_t i = 0; i < d->len; i++) {
        if (strcmp(d->names[i], name) == 0) {
            d->values[i] = value;
            return;
        }
    }
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **n = realloc(d->names, cap * sizeof *n);
        if (!n)
            return;
        d->names = n;
        double *v = realloc(d->values, cap * sizeof *v);
        if (!v)
            return;
        d->values = v;
        d->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return;
    d->names[d->len] = copy;
    d->values[d->len] = value;
    d->len++;
}

int lc_metric_dict_get(const lc_metric_dict *d, const char *name, double *value)
{
    for (size_t i = 0; name && i < d->len; i++) {
        if (strcmp(d->names[i], name) == 0) {
            if (value)
                *value = d->values[i];
            return 1;
        }
    }
    return 0;
}

void lc_metric_dict_clear(lc_metric_dict *d)
{
    for (size_t i = 0; i < d->len; i++)
        free(d->names[i]);
    d->len = 0;
}

void lc_metric_dict_free(lc_metric_dict *d)
{
    lc_metric_dict_clear(d);
    free(d->names);
    free(d->values);
    free(d->joined);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------------ */
/* lc_log                                                                    */

lc_log_result *lc_conn_active(lc_trainer *t)
{
    switch (lc_fx_class_of(t->fx)) {
    case LC_FX_CLASS_STEP: return &t->train_res;
    case LC_FX_CLASS_EVAL_STEP: return &t->eval_res;
    case LC_FX_CLASS_EPOCH:
        switch (t->fx) {
        case LC_FX_ON_TRAIN_START:
        case LC_FX_ON_TRAIN_EPOCH_START:
        case LC_FX_ON_TRAIN_EPOCH_END: return &t->train_res;
        default: return &t->eval_res;
        }
    default: return NULL;
    }
}

lc_status lc_log(lc_trainer *t, const char *name, double value, const lc_log_options *opt)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "lc_log: trainer is NULL");
    if (!name || !*name)
        return lc_fail(LC_ERR_INVALID, "lc_log: the metric name is empty");
    lc_log_result *r = lc_conn_active(t);
    if (!r) /* resolve gives the precise message for forbidden hooks */
        return lc_fx_resolve(t->fx, name, opt ? opt->on_step : 0, opt ? opt->on_epoch : 0,
                             &(int){0}, &(int){0});
    return lc_log_result_log(r, t->fx, name, value, opt, t->cur_batch_size);
}

/* ------------------------------------------------------------------------ */
/* Emission                                                                  */

lc_tag lc_conn_tag(lc_trainer *t, const char *key)
{
    return t->run ? lc_run_tag(t->run, key) : 0;
}

static int em_push(lc_trainer *t, lc_tag tag, double value)
{
    if (!tag)
        return 0;
    if (t->em_len == t->em_cap) {
        size_t cap = t->em_cap ? t->em_cap * 2 : 16;
        lc_tag *tg = realloc(t->em_tags, cap * sizeof *tg);
        if (!tg)
            return -1;
        t->em_tags = tg;
        double *v = realloc(t->em_vals, cap * sizeof *v);
        if (!v)
            return -1;
        t->em_vals = v;
        t->em_cap = cap;
    }
    t->em_tags[t->em_len] = tag;
    t->em_vals[t->em_len] = value;
    t->em_len++;
    return 0;
}

/* The "epoch" key and value into the pending record. */
lc_tag lc_conn_epoch_tag(lc_trainer *t, int64_t step)
{
    if (t->epoch_mark_step == step + 1 && t->epoch_mark_value == t->current_epoch)
        return 0; /* one point per step: several records there would repeat it */
    if (!t->tag_epoch)
        t->tag_epoch = lc_conn_tag(t, "epoch");
    if (t->tag_epoch) {
        t->epoch_mark_step = step + 1;
        t->epoch_mark_value = t->current_epoch;
    }
    return t->tag_epoch;
}

static int em_push_epoch(lc_trainer *t, int64_t step)
{
    return em_push(t, lc_conn_epoch_tag(t, step), (double)t->current_epoch);
}

static lc_status em_flush(lc_trainer *t, int64_t step)
{
    lc_status st = LC_OK;
    if (t->run && t->em_len > 0)
        st = lc_run_log_scalars(t->run, step, t->em_len, t->em_tags, t->em_vals);
    t->em_len = 0;
    return st;
}

int lc_conn_should_update_logs(const lc_trainer *t)
{
    int64_t every = t->cfg.log_every_n_steps;
    if (t->cfg.fast_dev_run > 0)
        return 1;
    if (every <= 0)
        return t->should_stop;
    return (t->batches_that_stepped + 1) % every == 0 || t->should_stop;
}

lc_status lc_conn_step_end(lc_trainer *t, lc_log_result *r, int emit, int64_t step)
{
    lc_status sst = t->ddp ? lc_ddp_sync_step(t, r, emit, step) : LC_OK; /* sync_dist */
    if (sst != LC_OK)
        return sst;
    for (size_t i = 0; i < r->len; i++) {
        lc_log_entry *e = &r->items[i];
        if (!e->step_set)
            continue;
        lc_metric_dict_set(&t->cbm, e->key_step, e->step_value);
        if (e->key_step != e->name)
            lc_metric_dict_set(&t->cbm, e->name, e->step_value);
        if (emit && e->logger && t->run) {
            if (!e->tag_step)
                e->tag_step = lc_conn_tag(t, e->key_step);
            if (em_push(t, e->tag_step, e->step_value) != 0)
                return lc_fail(LC_ERR_NOMEM, "trainer: out of memory while logging");
        }
    }
    if (emit && r == &t->train_res && t->cfg.log_grad_norm && !isnan(t->grad_norm)) {
        if (!t->tag_grad_norm)
            t->tag_grad_norm = lc_conn_tag(t, "grad_norm");
        em_push(t, t->tag_grad_norm, t->grad_norm);
    }
    if (emit && r == &t->train_res && t->prec.has_scaler && t->run) {
        if (!t->tag_loss_scale) {
            t->tag_loss_scale = lc_conn_tag(t, "precision/loss_scale");
            t->tag_skipped_steps = lc_conn_tag(t, "precision/skipped_steps");
            t->tag_overflows = lc_conn_tag(t, "precision/overflows");
        }
        em_push(t, t->tag_loss_scale, (double)t->prec.scaler.scale);
        em_push(t, t->tag_skipped_steps, (double)t->prec.skipped_steps);
        em_push(t, t->tag_overflows, (double)t->prec.overflows);
        t->prec.overflows = 0;
    }
    if (emit && r == &t->train_res && t->em_len > 0 && em_push_epoch(t, step) != 0)
        return lc_fail(LC_ERR_NOMEM, "trainer: out of memory while logging");
    lc_log_result_reset_step(r);
    return emit ? em_flush(t, step) : LC_OK;
}

lc_status lc_conn_epoch_end(lc_trainer *t, lc_log_result *r, int emit, int64_t step,
                            int add_epoch)
{
    lc_status sst = t->ddp ? lc_ddp_sync_epoch(t, r) : LC_OK; /* sync_dist */
    if (sst != LC_OK)
        return sst;
    for (size_t i = 0; i < r->len; i++) {
        lc_log_entry *e = &r->items[i];
        if (!e->epoch_set)
            continue;
        double v = lc_log_entry_epoch_value(e);
        lc_metric_dict_set(&t->cbm, e->key_epoch, v);
        if (e->key_epoch != e->name)
            lc_metric_dict_set(&t->cbm, e->name, v);
        if (emit && e->logger && t->run) {
            if (!e->tag_epoch)
                e->tag_epoch = lc_conn_tag(t, e->key_epoch);
            if (em_push(t, e->tag_epoch, v) != 0)
                return lc_fail(LC_ERR_NOMEM, "trainer: out of memory while logging");
        }
    }
    if (emit && t->run && (add_epoch || t->em_len > 0) && em_push_epoch(t, step) != 0)
        return lc_fail(LC_ERR_NOMEM, "trainer: out of memory while logging");
    return emit ? em_flush(t, step) : LC_OK;
}
