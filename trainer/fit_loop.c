/*
 * trainer/fit_loop.c — Trainer.fit: the fit loop, the training epoch loop
 * and one training batch, in Lightning's hook order:
 *
 *   on_fit_start -> sanity check (validation hooks, no logging) ->
 *   on_train_start -> per epoch:
 *     on_train_epoch_start -> per batch:
 *       on_train_batch_start -> training_step ->
 *       [first batch of an accumulation window] on_before_zero_grad, zero_grad ->
 *       on_before_backward -> backward(loss / accumulate_grad_batches) ->
 *       on_after_backward ->
 *       [not accumulating] (16-mixed: unscale + Inf/NaN check) ->
 *       on_before_optimizer_step -> clip -> optimizer step (skipped on
 *       Inf/NaN gradients) -> precision step end (scaler update, *-true
 *       rounding) ->
 *       on_train_batch_end -> step-interval scheduler, not after a skipped
 *       step (epoch-interval at the
 *       epoch's last batch) -> step metrics to the loggers when due ->
 *       validation when due -> plateau scheduler (step interval) ->
 *       batches_that_stepped += 1 -> monitoring callbacks' on_train_batch_end
 *       -> checkpoint boundary
 *     on_train_epoch_end (callbacks, module, then monitoring callbacks) ->
 *     epoch metrics + "epoch" -> histograms -> plateau scheduler (epoch
 *     interval) -> current_epoch += 1 -> checkpoint boundary
 *   on_train_end -> on_fit_end
 *
 * Stopping: max_epochs, max_steps (optimizer steps), should_stop (set by
 * EarlyStopping, Timer or any hook); a run ended from outside (killed by a
 * signal through the hub) fails the fit at the next batch or checkpoint
 * boundary. A checkpoint requested during a batch
 * is written at the batch's end (or the epoch's end for the epoch's last
 * batch), so a resume continues exactly there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_info.h"
#include "common/clock.h"
#include "common/status.h"
#include "trainer_internal.h"

/* ------------------------------------------------------------------------ */
/* Stop rules                                                                */

static int max_steps_reached(const lc_trainer *t)
{
    return t->max_steps >= 0 && t->global_step >= t->max_steps;
}

static int fit_done(const lc_trainer *t)
{
    if (t->max_epochs >= 0 && t->current_epoch >= t->max_epochs)
        return 1;
    return max_steps_reached(t) || t->should_stop || t->num_training_batches == 0;
}

/* Lightning's _should_check_val_fx for the batch just finished. */
static int should_check_val(const lc_trainer *t, int64_t batch_idx, int is_last)
{
    if (!lc_trainer_has_validation(t))
        return 0;
    int64_t every = t->cfg.check_val_every_n_epoch;
    if (every > 0 && (t->current_epoch + 1) % every != 0)
        return 0;
    if (t->should_stop)
        return 1;
    (void)is_last;
    int64_t cur = every == 0 ? t->total_batch_idx : batch_idx;
    return (cur + 1) % t->val_check_batch == 0;
}

/* ------------------------------------------------------------------------ */
/* One batch                                                                 */

static lc_status optimizer_step_body(lc_trainer *t)
{
    lc_params *ps = t->module->params;
    /* ddp: gradients averaged over the ranks first (micro-batches that
       only accumulate never get here: Lightning's no_sync) */
    lc_status st = t->ddp ? lc_ddp_sync_grads(t) : LC_OK;
    /* MixedPrecision: unscale before the hooks and clipping see the grads */
    int skip = 0;
    if (st == LC_OK)
        st = lc_precision_unscale(&t->prec, ps, &skip);
    if (st != LC_OK)
        return st;
    st = lc_hooks_call(t, LC_FX_ON_BEFORE_OPTIMIZER_STEP, LC_CB_ALL,
                       LC_CB_HOOK(on_before_optimizer_step), LC_MOD_HOOK(on_before_optimizer_step));
    if (st != LC_OK)
        return st;
    double clip = t->cfg.gradient_clip_val;
    t->grad_norm = NAN;
    /* The norm is a host value: on a device, reading it waits for the
       device, so it is read only on the steps that log it. */
    int host = lc_params_backend(ps)->device == LC_DEVICE_HOST;
    int want_norm = t->cfg.log_grad_norm && (host || lc_conn_should_update_logs(t));
    /* Lightning's precision plugin clips through the module's hook:
       "[LightningModule]<name>.configure_gradient_clipping" */
    if (t->prof)
        lc_prof_module_begin(t, "configure_gradient_clipping");
    if (clip > 0 && t->cfg.gradient_clip_algorithm == LC_CLIP_NORM) {
        st = lc_params_clip_grad_norm(ps, clip, host || want_norm ? &t->grad_norm : NULL);
    } else {
        if (want_norm)
            t->grad_norm = lc_params_grad_norm(ps);
        if (clip > 0)
            st = lc_params_clip_grad_value(ps, clip);
    }
    LC_PROF_END(t);
    if (st == LC_OK && !skip) {
        LC_PROF_BEGIN(t, "lc_optim_step", LC_PROF_FUNC);
        st = lc_optim_step(t->optim);
        LC_PROF_END(t);
    }
    if (st == LC_OK) {
        LC_PROF_BEGIN(t, "lc_precision_step_end", LC_PROF_FUNC);
        st = lc_precision_step_end(&t->prec, ps, !skip);
        LC_PROF_END(t);
    }
    if (st != LC_OK)
        return st;
    t->step_skipped = skip;
    /* a skipped step still counts, as Lightning counts optimizer.step calls */
    t->global_step++;
    if (t->cfg.log_histograms && t->cfg.histogram_every_n_steps > 0 &&
        t->global_step % t->cfg.histogram_every_n_steps == 0)
        lc_log_param_histograms(t, t->batches_that_stepped);
    return LC_OK;
}

/* Lightning's optimizer_step action: unscale, hooks, clipping, the step. */
static lc_status optimizer_step(lc_trainer *t)
{
    if (t->prof)
        lc_prof_module_begin(t, "optimizer_step");
    lc_status st = optimizer_step_body(t);
    LC_PROF_END(t);
    return st;
}

/* A checkpoint boundary: the pending saves start (an action when any). */
static lc_status flush_ckpt(lc_trainer *t)
{
    if (!t->prof || t->npending == 0)
        return lc_ckpt_flush_pending(t);
    LC_PROF_BEGIN(t, "save_checkpoint", LC_PROF_ACTION); /* Trainer.save_checkpoint's name */
    lc_status st = lc_ckpt_flush_pending(t);
    LC_PROF_END(t);
    return st;
}

static lc_status train_batch(lc_trainer *t, const lc_batch *b, int64_t idx, int *skip_epoch)
{
    lc_module *m = t->module;
    lc_minibatch mb;
    lc_minibatch_from(&mb, b);
    t->cur_batch_size = mb.size;
    t->batch_idx = idx;

    lc_status st = lc_hooks_call_batch(t, LC_FX_ON_TRAIN_BATCH_START, LC_CB_ALL,
                                       LC_CB_HOOK(on_train_batch_start), LC_NO_HOOK, &mb, idx);
    if (st == LC_OK && m->on_train_batch_start) {
        t->fx = LC_FX_ON_TRAIN_BATCH_START;
        if (t->prof)
            lc_prof_module_begin(t, "on_train_batch_start");
        st = m->on_train_batch_start(m, t, &mb, idx, skip_epoch);
        LC_PROF_END(t);
        t->fx = LC_FX_NONE;
    }
    if (st != LC_OK || *skip_epoch)
        return st;

    int64_t n = t->cfg.accumulate_grad_batches;
    int is_last = idx + 1 == t->num_training_batches;
    t->accumulating = !((idx + 1) % n == 0 || is_last);
    t->step_skipped = 0;

    double loss = NAN;
    t->fx = LC_FX_TRAINING_STEP;
    lc_autocast ac = lc_precision_enter(&t->prec, LC_COMPUTE_BE(t));
    if (t->prof)
        lc_prof_strategy_begin(t, "training_step");
    st = m->training_step(m, t, &mb, idx, &loss);
    LC_PROF_END(t);
    lc_autocast_exit(ac);
    t->fx = LC_FX_NONE;
    if (st != LC_OK)
        return st;
    if (idx % n == 0) {
        st = lc_hooks_call(t, LC_FX_ON_BEFORE_ZERO_GRAD, LC_CB_ALL, LC_CB_HOOK(on_before_zero_grad),
                           LC_MOD_HOOK(on_before_zero_grad));
        if (st != LC_OK)
            return st;
        if (t->prof)
            lc_prof_module_begin(t, "optimizer_zero_grad");
        st = lc_params_zero_grad(m->params);
        LC_PROF_END(t);
        if (st != LC_OK)
            return st;
    }
    st = lc_hooks_call(t, LC_FX_ON_BEFORE_BACKWARD, LC_CB_ALL, LC_CB_HOOK(on_before_backward),
                       LC_MOD_HOOK(on_before_backward));
    if (st != LC_OK)
        return st;
    t->fx = LC_FX_BACKWARD;
    /* Lightning divides the loss by accumulate_grad_batches before backward;
       16-mixed's scaler multiplies it by the loss scale */
    ac = lc_precision_enter(&t->prec, LC_COMPUTE_BE(t));
    if (t->prof)
        lc_prof_strategy_begin(t, "backward");
    st = m->backward(m, t, lc_precision_loss_scale(&t->prec) / (double)n);
    LC_PROF_END(t);
    lc_autocast_exit(ac);
    t->fx = LC_FX_NONE;
    if (st == LC_OK)
        st = lc_hooks_call(t, LC_FX_ON_AFTER_BACKWARD, LC_CB_ALL, LC_CB_HOOK(on_after_backward),
                           LC_MOD_HOOK(on_after_backward));
    if (st == LC_OK && !t->accumulating)
        st = optimizer_step(t);
    if (st == LC_OK)
        st = lc_hooks_call_batch(t, LC_FX_ON_TRAIN_BATCH_END, LC_CB_NON_MONITORING,
                                 LC_CB_HOOK(on_train_batch_end), LC_MOD_HOOK(on_train_batch_end),
                                 &mb, idx);
    if (st != LC_OK)
        return st;
    t->epoch_samples += mb.size;

    if (!t->accumulating) {
        /* no scheduler step after a skipped optimizer step */
        if (!t->step_skipped)
            st = lc_sched_update(t, LC_SCHED_INTERVAL_STEP, 0);
        if (st == LC_OK && is_last)
            st = lc_sched_update(t, LC_SCHED_INTERVAL_EPOCH, 0);
        if (st != LC_OK)
            return st;
    }
    int emit = !t->accumulating && lc_conn_should_update_logs(t);
    LC_PROF_BEGIN(t, LC_PROF_LOG_SPAN, LC_PROF_ACTION);
    st = lc_conn_step_end(t, &t->train_res, emit, t->batches_that_stepped);
    LC_PROF_END(t);
    if (emit)
        t->prof_emit_step = t->batches_that_stepped;
    if (st != LC_OK)
        return st;

    if (should_check_val(t, idx, is_last)) {
        LC_PROF_BEGIN(t, "run_validation", LC_PROF_ACTION);
        st = lc_eval_run_val(t, 0);
        LC_PROF_END(t);
        if (st == LC_OK && !t->accumulating && !t->step_skipped)
            st = lc_sched_update(t, LC_SCHED_INTERVAL_STEP, 1);
        if (st != LC_OK)
            return st;
    }
    if (!t->accumulating)
        t->batches_that_stepped++;
    st = lc_hooks_call_batch(t, LC_FX_ON_TRAIN_BATCH_END, LC_CB_MONITORING,
                             LC_CB_HOOK(on_train_batch_end), LC_NO_HOOK, &mb, idx);
    t->total_batch_idx++;
    if (st != LC_OK)
        return st;
    /* checkpoint boundary inside the epoch; the epoch's last batch (and a
       stop) defer to the epoch end so the file covers the epoch's end */
    if (st == LC_OK)
        st = lc_run_check_live(t); /* no checkpoint past a kill */
    if (st == LC_OK && !t->accumulating && !is_last && !t->should_stop && !max_steps_reached(t)) {
        t->ckpt_mid_epoch = 1;
        st = flush_ckpt(t);
        t->ckpt_mid_epoch = 0;
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* One epoch                                                                 */

static lc_status epoch_end(lc_trainer *t)
{
    lc_status st = lc_hooks_call(t, LC_FX_ON_TRAIN_EPOCH_END, LC_CB_NON_MONITORING,
                                 LC_CB_HOOK(on_train_epoch_end), LC_MOD_HOOK(on_train_epoch_end));
    /* monitoring callbacks see the epoch's values in callback_metrics */
    if (st == LC_OK)
        st = lc_conn_epoch_end(t, &t->train_res, 0, 0, 0);
    if (st == LC_OK)
        st = lc_hooks_call(t, LC_FX_ON_TRAIN_EPOCH_END, LC_CB_MONITORING,
                           LC_CB_HOOK(on_train_epoch_end), LC_NO_HOOK);
    if (st != LC_OK)
        return st;
    int64_t step = t->batches_that_stepped > 0 ? t->batches_that_stepped - 1 : 0;
    st = lc_conn_epoch_end(t, &t->train_res, 1, step, 1);
    if (st != LC_OK)
        return st;
    double secs = lc_mono_now() - t->epoch_t0;
    t->fit_time += secs;
    t->fit_samples += t->epoch_samples;
    if (t->cfg.log_samples_per_sec && t->run && secs > 0) {
        if (!t->tag_samples)
            t->tag_samples = lc_conn_tag(t, "perf/samples_per_sec");
        lc_run_log_scalar(t->run, t->tag_samples, (double)t->epoch_samples / secs, step);
    }
    if (t->cfg.log_histograms)
        lc_log_param_histograms(t, step);
    st = lc_sched_update(t, LC_SCHED_INTERVAL_EPOCH, 1);
    if (st != LC_OK)
        return st;
    lc_log_result_reset_epoch(&t->train_res);
    t->current_epoch++;
    t->ckpt_mid_epoch = 0;
    st = lc_run_check_live(t);
    return st == LC_OK ? flush_ckpt(t) : st;
}

static lc_status train_epoch(lc_trainer *t)
{
    int64_t start = 0;
    lc_status st = t->ddp ? lc_ddp_train_epoch(t, t->current_epoch) : LC_OK; /* set_epoch */
    if (st != LC_OK)
        return st;
    if (t->mid_epoch_resume) {
        /* the interrupted epoch continues: its start hooks already ran */
        start = t->resume_batch;
        st = lc_dataloader_set_position(t->train_dl, (lc_data_position){t->current_epoch, start});
        t->mid_epoch_resume = 0;
        if (st != LC_OK)
            return st;
    } else {
        st = lc_dataloader_set_epoch(t->train_dl, t->current_epoch);
        if (st != LC_OK)
            return st;
        lc_log_result_reset_epoch(&t->train_res);
        st = lc_hooks_call(t, LC_FX_ON_TRAIN_EPOCH_START, LC_CB_ALL,
                           LC_CB_HOOK(on_train_epoch_start), LC_MOD_HOOK(on_train_epoch_start));
        if (st != LC_OK)
            return st;
    }
    t->epoch_t0 = lc_mono_now();
    t->epoch_samples = 0;
    for (int64_t idx = start; idx < t->num_training_batches; idx++) {
        if ((st = lc_run_check_live(t)) != LC_OK)
            return st;
        lc_batch b;
        LC_PROF_BEGIN(t, "[_TrainingEpochLoop].train_dataloader_next", LC_PROF_ACTION);
        int got = lc_dataloader_next(t->train_dl, &b);
        LC_PROF_END(t);
        if (got < 0)
            return lc_fail(LC_ERR_STATE, "fit: could not make train batch %lld: %s",
                           (long long)idx, lc_errmsg());
        if (got == 0)
            break;
        int skip = 0;
        LC_PROF_BEGIN(t, "run_training_batch", LC_PROF_ACTION);
        st = train_batch(t, &b, idx, &skip);
        LC_PROF_END(t);
        if (st != LC_OK)
            return st;
        if (t->prof) {
            t->prof_batches++;
            t->prof_samples += t->cur_batch_size;
            lc_prof_log_perf(t);
        }
        if (skip || t->should_stop || max_steps_reached(t))
            break;
    }
    return epoch_end(t);
}

/* ------------------------------------------------------------------------ */
/* fit                                                                       */

static void set_total_steps_tag(lc_trainer *t)
{
    if (!t->run)
        return;
    int64_t per_epoch = (t->num_training_batches + t->cfg.accumulate_grad_batches - 1) /
                        t->cfg.accumulate_grad_batches;
    int64_t total = -1;
    if (t->max_epochs >= 0)
        total = t->max_epochs * per_epoch;
    if (t->max_steps >= 0 && (total < 0 || t->max_steps < total))
        total = t->max_steps;
    if (total < 0)
        return;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)total);
    lc_run_set_tag(t->run, "lightc.total_steps", buf);
}

static lc_status fit_run(lc_trainer *t)
{
    lc_status st = lc_hooks_call(t, LC_FX_ON_FIT_START, LC_CB_ALL, LC_CB_HOOK(on_fit_start),
                                 LC_MOD_HOOK(on_fit_start));
    if (st != LC_OK)
        return st;
    if (lc_trainer_has_validation(t) && t->cfg.num_sanity_val_steps != 0) {
        t->sanity_checking = 1;
        st = lc_hooks_call(t, LC_FX_ON_SANITY_CHECK_START, LC_CB_ALL,
                           LC_CB_HOOK(on_sanity_check_start), LC_NO_HOOK);
        if (st == LC_OK)
            LC_PROF_BEGIN(t, "run_sanity_check", LC_PROF_ACTION);
        st = lc_eval_run_val(t, 1);
        LC_PROF_END(t);
        if (st == LC_OK)
            st = lc_hooks_call(t, LC_FX_ON_SANITY_CHECK_END, LC_CB_ALL,
                               LC_CB_HOOK(on_sanity_check_end), LC_NO_HOOK);
        t->sanity_checking = 0;
        /* Lightning resets the metrics after the sanity check */
        lc_metric_dict_clear(&t->cbm);
        if (st != LC_OK)
            return st;
    }
    t->training = 1;
    st = lc_hooks_call(t, LC_FX_ON_TRAIN_START, LC_CB_ALL, LC_CB_HOOK(on_train_start),
                       LC_MOD_HOOK(on_train_start));
    while (st == LC_OK && !fit_done(t)) {
        LC_PROF_BEGIN(t, "run_training_epoch", LC_PROF_ACTION);
        st = train_epoch(t);
        LC_PROF_END(t);
    }
    t->training = 0;
    if (st == LC_OK)
        st = lc_hooks_call(t, LC_FX_ON_TRAIN_END, LC_CB_ALL, LC_CB_HOOK(on_train_end),
                           LC_MOD_HOOK(on_train_end));
    if (st == LC_OK)
        st = lc_hooks_call(t, LC_FX_ON_FIT_END, LC_CB_ALL, LC_CB_HOOK(on_fit_end),
                           LC_MOD_HOOK(on_fit_end));
    if (st == LC_OK)
        st = lc_run_check_live(t);
    if (st == LC_OK)
        st = flush_ckpt(t);
    if (st == LC_OK && t->run && t->fit_time > 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.1f", (double)t->fit_samples / t->fit_time);
        lc_run_set_tag(t->run, "perf/samples_per_sec", buf);
    }
    return st;
}

/* ckpt_path -> run identity and thread count, before the run starts. */
static lc_status fit_resolve_resume(lc_trainer *t, const char *ckpt_path, char *ck, size_t cap,
                                    int *resume_mode, int64_t *resume_step)
{
    lc_status st = lc_resolve_ckpt_path(t, ckpt_path, ck, cap);
    if (st != LC_OK)
        return st;
    /* "last" without a usable checkpoint: an existing run starts over, clean
       (resume, discarding every step), a new one just starts */
    *resume_mode = ckpt_path && strcmp(ckpt_path, "last") == 0 ? 2 : 0;
    *resume_step = -1;
    if (!ck[0])
        return LC_OK;
    char *exp = NULL, *name = NULL;
    int threads = 0;
    int64_t bts = 0;
    st = lc_ckpt_peek_run(ck, &exp, &name, &threads, &bts);
    if (st != LC_OK)
        return st;
    if (!t->cfg.experiment && exp) {
        t->own_strings[4] = exp;
        t->cfg.experiment = exp;
        exp = NULL;
    }
    if (!t->cfg.name && name) {
        t->own_strings[5] = name;
        t->cfg.name = name;
        name = NULL;
    }
    free(exp);
    free(name);
    if (threads > 0 && threads != lc_blas_get_threads()) {
        if (t->cfg.threads > 0 && t->cfg.threads != threads)
            lc_trainer_warn("the checkpoint was written with %d BLAS threads; using %d instead "
                            "of %d so the resumed run reproduces the uninterrupted one",
                            threads, threads, t->cfg.threads);
        lc_blas_set_threads(threads);
    }
    *resume_mode = 2;
    *resume_step = bts - 1;
    return LC_OK;
}

lc_status lc_trainer_fit(lc_trainer *t, lc_module *m, lc_datamodule *dm, const char *ckpt_path)
{
    if (!t || !m || !dm)
        return lc_fail(LC_ERR_INVALID, "lc_trainer_fit: trainer, module and data must not be NULL");
    if (!m->training_step || !m->backward || !m->configure_optimizers)
        return lc_fail(LC_ERR_INVALID, "lc_trainer_fit: module '%s' needs training_step, "
                       "backward and configure_optimizers", m->name ? m->name : "?");
    if (!m->params)
        return lc_fail(LC_ERR_INVALID, "lc_trainer_fit: module '%s' has no params registry",
                       m->name ? m->name : "?");
    if (t->stage != LC_STAGE_NONE)
        return lc_fail(LC_ERR_STATE, "lc_trainer_fit: called from inside a running loop");
    char ck[4096];
    int resume_mode;
    int64_t resume_step;
    /* everything that can refuse the resume (a bad checkpoint, another
       model) runs before the run is touched */
    lc_status st = lc_trainer_prepare_stage(t, LC_STAGE_FIT, m, dm);
    if (st == LC_OK && lc_ddp_rank(t) == 0) /* ddp: rank 0 finds it, the others are told */
        st = fit_resolve_resume(t, ckpt_path, ck, sizeof ck, &resume_mode, &resume_step);
    if (t->ddp)
        st = lc_ddp_share_resume(t, st, ck, sizeof ck, &resume_mode, &resume_step);
    if (st == LC_OK)
        st = lc_optim_setup(t);
    if (st == LC_OK && ck[0])
        st = lc_ckpt_restore(t, ck, NULL);
    if (st == LC_OK)
        st = lc_run_setup(t, resume_mode, resume_step);
    if (st == LC_OK)
        lc_prof_stage_begin(t);
    if (st == LC_OK)
        st = lc_hooks_setup(t, 0);
    if (st == LC_OK) {
        set_total_steps_tag(t);
        st = fit_run(t);
    }
    /* the module's host buffers get the trained values (a model on a
       device keeps training there in the next stage) */
    if (st == LC_OK)
        st = lc_params_sync_host(m->params);
    /* the last checkpoint is on disk (or its error known) and every
       histogram logged when fit returns */
    lc_hist_wait(t);
    lc_status wst = lc_ckpt_wait(t);
    if (st == LC_OK)
        st = wst;
    if (st == LC_OK && t->ddp) /* rank 0's last file is on disk for every rank */
        st = lc_ddp_barrier(t);
    char msg[1024] = "";
    if (st != LC_OK) {
        snprintf(msg, sizeof msg, "%s", lc_errmsg());
        lc_ddp_raise(t, msg); /* the other ranks stop instead of waiting */
        lc_hooks_exception(t, st);
        if (t->run)
            t->run_failed = 1;
    }
    lc_hooks_setup(t, 1);
    /* Lightning writes the profile at teardown, also after a failure */
    lc_status pst = lc_prof_stage_end(t, "fit");
    t->stage = LC_STAGE_NONE;
    t->fx = LC_FX_NONE;
    if (st != LC_OK)
        return lc_fail(st, "%s", msg);
    return pst;
}
