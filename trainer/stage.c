/*
 * trainer/stage.c — what every stage (fit, validate, test) sets up before
 * its loop: Lightning's default callbacks (ModelSummary, a
 * LearningRateMonitor, a ModelCheckpoint when checkpointing is on and none
 * was given, moved last like Lightning's _reorder_callbacks), the BLAS
 * thread count, the dataloaders and the number of batches per loop
 * (limit_*_batches, val_check_interval), the module and the data on the
 * trainer's device (Lightning's model.to(device); the data set copied to
 * the device once, batches gathered there), and the precision plugin's
 * conversion of the parameters (*-true). On a GPU a DeviceStatsMonitor is
 * added too (device_stats_monitor).
 */
#include <string.h>

#include "blas_info.h"
#include "common/status.h"
#include "trainer_internal.h"

static int has_callback(const lc_trainer *t, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < t->ncb; i++)
        if (t->cbs[i]->name && strncmp(t->cbs[i]->name, prefix, n) == 0)
            return 1;
    return 0;
}

static int is_checkpoint_cb(const lc_callback *cb)
{
    return cb->name && strncmp(cb->name, "ModelCheckpoint", 15) == 0;
}

static lc_status add_default_callbacks(lc_trainer *t)
{
    if (t->defaults_added)
        return LC_OK;
    t->defaults_added = 1;
    lc_callback *cb;
    lc_status st = LC_OK;
    if (t->cfg.enable_model_summary && !has_callback(t, "ModelSummary")) {
        st = lc_callback_model_summary(&cb);
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
        if (st == LC_OK) {
            /* first, so the table prints before anything else */
            memmove(t->cbs + 1, t->cbs, (t->ncb - 1) * sizeof *t->cbs);
            t->cbs[0] = cb;
        }
    }
    if (st == LC_OK && t->cfg.lr_monitor && t->cfg.fast_dev_run == 0 &&
        !has_callback(t, "LearningRateMonitor")) {
        st = lc_callback_lr_monitor(&cb, NULL);
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
    }
    if (st == LC_OK && t->cfg.device_stats_monitor && t->cfg.fast_dev_run == 0 &&
        t->be->device != LC_DEVICE_HOST && !has_callback(t, "DeviceStatsMonitor")) {
        st = lc_callback_device_stats_monitor(&cb);
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
    }
    if (st == LC_OK && t->cfg.enable_checkpointing && t->cfg.fast_dev_run == 0 &&
        !has_callback(t, "ModelCheckpoint")) {
        lc_checkpoint_options o;
        lc_checkpoint_options_default(&o);
        st = lc_callback_model_checkpoint(&cb, &o);
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
    }
    if (st != LC_OK)
        return st;
    /* ModelCheckpoint callbacks go last, keeping their order */
    lc_callback *tmp[256];
    size_t n = 0;
    if (t->ncb > sizeof tmp / sizeof tmp[0])
        return LC_OK;
    for (size_t i = 0; i < t->ncb; i++)
        if (!is_checkpoint_cb(t->cbs[i]))
            tmp[n++] = t->cbs[i];
    for (size_t i = 0; i < t->ncb; i++)
        if (is_checkpoint_cb(t->cbs[i]))
            tmp[n++] = t->cbs[i];
    if (n > 0)
        memcpy(t->cbs, tmp, n * sizeof *tmp);
    return LC_OK;
}

/* The module's parameters go to the trainer's device (and back to the
 * host when the trainer runs on the cpu). A module whose code reads its
 * host buffers itself cannot move: an error for accelerator cuda, the cpu
 * (with a warning) for auto. */
static lc_status place_module(lc_trainer *t, lc_module *m)
{
    lc_params *ps = m->params;
    if (!ps)
        return LC_OK;
    if (t->be->device != LC_DEVICE_HOST && !ps->movable && ps->len > 0) {
        if (!t->accel_auto)
            return lc_fail(LC_ERR_UNSUPPORTED,
                           "module '%s' cannot run on %s: its code reads its parameters from "
                           "host memory (its lc_params registry is not movable); build it from "
                           "lc_seq layers, or use accelerator cpu",
                           m->name ? m->name : "?", t->be->name);
        lc_trainer_warn("module '%s' keeps its parameters in host memory its own code reads, so "
                        "accelerator auto runs it on the cpu instead of %s",
                        m->name ? m->name : "?", t->be->name);
        if (t->be_ref)
            t->be->release();
        t->be_ref = 0;
        t->be = lc_backend_get(LC_DEVICE_HOST);
        lc_trainer_free_loaders(t); /* made anew, on the host */
    }
    return lc_params_to(ps, t->be);
}

lc_status lc_trainer_prepare_stage(lc_trainer *t, lc_stage stage, lc_module *m, lc_datamodule *dm)
{
    t->stage = stage;
    t->module = m;
    t->should_stop = 0;
    lc_status st = place_module(t, m);
    if (st == LC_OK)
        st = add_default_callbacks(t);
    /* HalfPrecision converts the module at setup, for every stage */
    if (st == LC_OK)
        st = lc_precision_convert_params(&t->prec, m->params);
    if (st != LC_OK)
        return st;
    if (t->cfg.threads > 0 && lc_blas_get_threads() != t->cfg.threads)
        lc_blas_set_threads(t->cfg.threads);
    if (dm != t->dm || !t->train_dl) {
        st = lc_trainer_make_loaders(t, dm);
        if (st != LC_OK)
            return st;
    }
    /* the data set goes to the device once; batches are gathered there */
    lc_dataloader *dls[3] = {t->train_dl, t->val_dl, t->test_dl};
    for (int i = 0; i < 3 && st == LC_OK; i++)
        if (dls[i])
            st = lc_dataloader_set_backend(dls[i], t->be);
    if (st != LC_OK)
        return st;
    t->num_training_batches = 0;
    t->num_val_batches = 0;
    if (stage != LC_STAGE_FIT)
        return LC_OK;
    if (!t->train_dl)
        return lc_fail(LC_ERR_INVALID, "fit: the data module has no train split");
    st = lc_limit_batches(t->cfg.limit_train_batches,
                          (int64_t)lc_dataloader_num_batches(t->train_dl), "train",
                          &t->num_training_batches);
    if (st == LC_OK && t->val_dl)
        st = lc_limit_batches(t->cfg.limit_val_batches,
                              (int64_t)lc_dataloader_num_batches(t->val_dl), "val",
                              &t->num_val_batches);
    if (st != LC_OK)
        return st;
    lc_amount v = t->cfg.val_check_interval;
    if (v.kind == LC_AMOUNT_COUNT) {
        t->val_check_batch = (int64_t)v.value;
        if (t->val_check_batch > t->num_training_batches && t->cfg.check_val_every_n_epoch != 0 &&
            lc_trainer_has_validation(t))
            return lc_fail(LC_ERR_INVALID,
                           "val_check_interval (%lld) must be <= the number of training batches "
                           "(%lld); to turn validation off set limit_val_batches to 0, to "
                           "validate by total batches set check_val_every_n_epoch to None (0)",
                           (long long)t->val_check_batch, (long long)t->num_training_batches);
    } else {
        double f = v.kind == LC_AMOUNT_DEFAULT ? 1.0 : v.value;
        t->val_check_batch = (int64_t)((double)t->num_training_batches * f);
        if (t->val_check_batch < 1)
            t->val_check_batch = 1;
    }
    if (t->num_training_batches == 0)
        lc_trainer_warn("limit_train_batches gives 0 training batches: fit runs no training");
    return LC_OK;
}
