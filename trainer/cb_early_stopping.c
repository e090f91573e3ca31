/*
 * trainer/cb_early_stopping.c — the EarlyStopping callback, with
 * Lightning's decision rule (callbacks/early_stopping.py,
 * _evaluate_stopping_criteria), checked in this order at each validation
 * check:
 *   1. check_finite and the value is NaN or infinite      -> stop
 *   2. stopping_threshold reached (better than it)         -> stop
 *   3. divergence_threshold crossed (worse than it)        -> stop
 *   4. improved by more than min_delta over the best       -> best = value,
 *                                                              wait = 0
 *   5. otherwise wait += 1; wait >= patience               -> stop
 * "Better" is < for mode min and > for mode max; min_delta counts towards
 * improvement (current - min_delta < best for min, current + min_delta >
 * best for max — Lightning flips the sign of min_delta for min).
 *
 * It checks at the training epoch end when validation runs once per epoch
 * at its end (val_check_interval 1.0, check_val_every_n_epoch 1), else at
 * each validation end; never during the sanity check or outside fit.
 * State kept in checkpoints: wait_count, stopped_epoch, best_score,
 * patience.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callbacks_internal.h"
#include "common/status.h"
#include "trainer_internal.h"

typedef struct early_stopping {
    lc_callback cb;
    char name[300];
    char *monitor;
    double min_delta;        /* signed as Lightning: negative for mode min */
    int64_t patience;
    int mode_max;
    int strict, check_finite, verbose;
    double stopping_threshold, divergence_threshold;
    int check_on_train_epoch_end; /* -1: decided at setup */
    int on_train_epoch_end;       /* decided */
    int64_t wait_count, stopped_epoch;
    double best_score;
    char reason[512];
} early_stopping;

static int better(const early_stopping *es, double a, double b)
{
    return es->mode_max ? a > b : a < b;
}

/* The decision rule above; returns 1 to stop and fills es->reason. */
static int es_evaluate(early_stopping *es, double current)
{
    es->reason[0] = 0;
    if (es->check_finite && !isfinite(current)) {
        snprintf(es->reason, sizeof es->reason,
                 "Monitored metric %s = %g is not finite. Previous best value was %.3f. "
                 "Signaling Trainer to stop.", es->monitor, current, es->best_score);
        return 1;
    }
    if (!isnan(es->stopping_threshold) && better(es, current, es->stopping_threshold)) {
        snprintf(es->reason, sizeof es->reason,
                 "Stopping threshold reached: %s = %g %s %g. Signaling Trainer to stop.",
                 es->monitor, current, es->mode_max ? ">" : "<", es->stopping_threshold);
        return 1;
    }
    if (!isnan(es->divergence_threshold) && better(es, -current, -es->divergence_threshold)) {
        snprintf(es->reason, sizeof es->reason,
                 "Divergence threshold reached: %s = %g %s %g. Signaling Trainer to stop.",
                 es->monitor, current, es->mode_max ? "<" : ">", es->divergence_threshold);
        return 1;
    }
    if (better(es, current - es->min_delta, es->best_score)) {
        if (isfinite(es->best_score))
            snprintf(es->reason, sizeof es->reason,
                     "Metric %s improved by %.3f >= min_delta = %g. New best score: %.3f",
                     es->monitor, fabs(es->best_score - current), fabs(es->min_delta), current);
        else
            snprintf(es->reason, sizeof es->reason, "Metric %s improved. New best score: %.3f",
                     es->monitor, current);
        es->best_score = current;
        es->wait_count = 0;
        return 0;
    }
    es->wait_count++;
    if (es->wait_count >= es->patience) {
        snprintf(es->reason, sizeof es->reason,
                 "Monitored metric %s did not improve in the last %lld records. Best score: "
                 "%.3f. Signaling Trainer to stop.",
                 es->monitor, (long long)es->wait_count, es->best_score);
        return 1;
    }
    return 0;
}

static lc_status es_run_check(early_stopping *es, lc_trainer *t)
{
    double v;
    if (!lc_metric_dict_get(&t->cbm, es->monitor, &v)) {
        const char *names = lc_trainer_callback_metric_names(t);
        if (es->strict)
            return lc_fail(LC_ERR_INVALID,
                           "Early stopping conditioned on metric '%s' which is not available. "
                           "Pass in or modify your EarlyStopping callback to use any of the "
                           "following: %s", es->monitor, names);
        if (es->verbose)
            lc_trainer_warn("Early stopping conditioned on metric '%s' which is not available "
                            "(available: %s)", es->monitor, names);
        return LC_OK;
    }
    int stop = es_evaluate(es, v);
    if (stop) {
        t->should_stop = 1;
        es->stopped_epoch = t->current_epoch;
    }
    if (es->reason[0] && (es->verbose || stop))
        fprintf(stderr, "lightc: EarlyStopping: %s\n", es->reason);
    if (!stop)
        es->reason[0] = 0;
    return LC_OK;
}

#define ES(cb) ((early_stopping *)(cb)->self)

static int es_skip(const lc_trainer *t)
{
    return t->stage != LC_STAGE_FIT || t->sanity_checking;
}

static lc_status es_setup(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    early_stopping *es = ES(cb);
    if (es->check_on_train_epoch_end >= 0) {
        es->on_train_epoch_end = es->check_on_train_epoch_end;
    } else {
        lc_amount v = t->cfg.val_check_interval;
        int whole = v.kind == LC_AMOUNT_DEFAULT || (v.kind == LC_AMOUNT_FRACTION && v.value == 1.0);
        es->on_train_epoch_end = whole && t->cfg.check_val_every_n_epoch == 1;
    }
    return LC_OK;
}

static lc_status es_on_train_epoch_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    if (!ES(cb)->on_train_epoch_end || es_skip(t))
        return LC_OK;
    return es_run_check(ES(cb), t);
}

static lc_status es_on_validation_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    if (ES(cb)->on_train_epoch_end || es_skip(t))
        return LC_OK;
    return es_run_check(ES(cb), t);
}

/* state: i64 wait_count, i64 stopped_epoch, f64 best_score, i64 patience */
static size_t es_state_size(lc_callback *cb)
{
    (void)cb;
    return 32;
}

static lc_status es_state_save(lc_callback *cb, void *buf, size_t cap)
{
    early_stopping *es = ES(cb);
    if (cap < 32)
        return lc_fail(LC_ERR_INVALID, "EarlyStopping: state buffer too small");
    uint8_t *p = buf;
    memcpy(p, &es->wait_count, 8);
    memcpy(p + 8, &es->stopped_epoch, 8);
    memcpy(p + 16, &es->best_score, 8);
    memcpy(p + 24, &es->patience, 8);
    return LC_OK;
}

static lc_status es_state_load(lc_callback *cb, lc_trainer *t, const void *buf, size_t len)
{
    (void)t;
    early_stopping *es = ES(cb);
    if (len != 32)
        return lc_fail(LC_ERR_INVALID, "EarlyStopping: saved state has %zu bytes, expected 32",
                       len);
    const uint8_t *p = buf;
    memcpy(&es->wait_count, p, 8);
    memcpy(&es->stopped_epoch, p + 8, 8);
    memcpy(&es->best_score, p + 16, 8);
    memcpy(&es->patience, p + 24, 8);
    return LC_OK;
}

static void es_destroy(lc_callback *cb)
{
    early_stopping *es = ES(cb);
    free(es->monitor);
    free(es);
}

void lc_early_stopping_options_default(lc_early_stopping_options *o)
{
    memset(o, 0, sizeof *o);
    o->monitor = NULL;
    o->min_delta = 0.0;
    o->patience = 3;
    o->mode = "min";
    o->strict = 1;
    o->check_finite = 1;
    o->stopping_threshold = NAN;
    o->divergence_threshold = NAN;
    o->check_on_train_epoch_end = -1;
    o->verbose = 0;
}

lc_status lc_callback_early_stopping(lc_callback **out, const lc_early_stopping_options *o)
{
    if (!out || !o)
        return lc_fail(LC_ERR_INVALID, "lc_callback_early_stopping: out and options must not be "
                       "NULL");
    *out = NULL;
    if (!o->monitor || !*o->monitor)
        return lc_fail(LC_ERR_INVALID, "EarlyStopping: monitor is required (e.g. \"val/loss\")");
    int mode_max;
    if (!o->mode || strcmp(o->mode, "min") == 0)
        mode_max = 0;
    else if (strcmp(o->mode, "max") == 0)
        mode_max = 1;
    else
        return lc_fail(LC_ERR_INVALID, "EarlyStopping: mode '%s' must be \"min\" or \"max\"",
                       o->mode);
    if (o->patience < 0)
        return lc_fail(LC_ERR_INVALID, "EarlyStopping: patience must be >= 0, got %lld",
                       (long long)o->patience);
    if (isnan(o->min_delta))
        return lc_fail(LC_ERR_INVALID, "EarlyStopping: min_delta is NaN");
    early_stopping *es = calloc(1, sizeof *es);
    if (!es || !(es->monitor = strdup(o->monitor))) {
        free(es);
        return lc_fail(LC_ERR_NOMEM, "lc_callback_early_stopping: out of memory");
    }
    es->mode_max = mode_max;
    /* Lightning: min_delta *= 1 if mode max else -1 */
    es->min_delta = mode_max ? fabs(o->min_delta) : -fabs(o->min_delta);
    es->patience = o->patience;
    es->strict = o->strict;
    es->check_finite = o->check_finite;
    es->verbose = o->verbose;
    es->stopping_threshold = o->stopping_threshold;
    es->divergence_threshold = o->divergence_threshold;
    es->check_on_train_epoch_end = o->check_on_train_epoch_end;
    es->best_score = mode_max ? -INFINITY : INFINITY;
    snprintf(es->name, sizeof es->name, "EarlyStopping{monitor=%s, mode=%s}", o->monitor,
             mode_max ? "max" : "min");
    lc_callback *cb = &es->cb;
    cb->name = es->name;
    cb->self = es;
    cb->monitoring = 1;
    cb->setup = es_setup;
    cb->on_train_epoch_end = es_on_train_epoch_end;
    cb->on_validation_end = es_on_validation_end;
    cb->state_size = es_state_size;
    cb->state_save = es_state_save;
    cb->state_load = es_state_load;
    cb->destroy = es_destroy;
    *out = cb;
    return LC_OK;
}

const char *lc_early_stopping_reason(const lc_callback *cb)
{
    if (!cb || !cb->name || strncmp(cb->name, "EarlyStopping", 13) != 0)
        return "";
    return ((const early_stopping *)cb->self)->reason;
}

int64_t lc_early_stopping_stopped_epoch(const lc_callback *cb)
{
    if (!cb || !cb->name || strncmp(cb->name, "EarlyStopping", 13) != 0)
        return 0;
    return ((const early_stopping *)cb->self)->stopped_epoch;
}

int lc_early_stopping_evaluate(lc_callback *cb, double current)
{
    return es_evaluate(ES(cb), current);
}

int64_t lc_early_stopping_wait_count(const lc_callback *cb)
{
    return ((const early_stopping *)cb->self)->wait_count;
}

double lc_early_stopping_best_score(const lc_callback *cb)
{
    return ((const early_stopping *)cb->self)->best_score;
}
