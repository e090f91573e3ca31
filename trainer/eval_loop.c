/*
 * trainer/eval_loop.c — the evaluation loop: validation inside fit (and
 * the sanity check), Trainer.validate and Trainer.test.
 *
 * Order: on_validation_start -> on_validation_epoch_start -> per batch:
 * validation_step -> on_validation_batch_end (step-level values, if any,
 * reach the loggers at step = the batch index) -> on_validation_epoch_end
 * -> epoch values to the loggers at step = batches_that_stepped ->
 * on_validation_end (where ModelCheckpoint / EarlyStopping act when they do
 * not act at the training epoch's end). The test loop is the same with
 * test hooks. The sanity check runs the validation hooks on
 * num_sanity_val_steps batches and logs nothing.
 *
 * Evaluation runs the module with training off (lc_trainer_training = 0:
 * no dropout), which draws nothing from the trainer's RNG, so a validation
 * run never changes the training that follows.
 */
#include <stdio.h>
#include <string.h>

#include "common/status.h"
#include "trainer_internal.h"

typedef struct eval_kind {
    lc_fx fx_start, fx_epoch_start, fx_step, fx_batch_end, fx_epoch_end, fx_end;
    size_t cb_start, cb_epoch_start, cb_batch_end, cb_epoch_end, cb_end;
    size_t mod_epoch_start, mod_step, mod_epoch_end;
} eval_kind;

static const eval_kind val_kind = {
    LC_FX_ON_VALIDATION_START,      LC_FX_ON_VALIDATION_EPOCH_START,
    LC_FX_VALIDATION_STEP,          LC_FX_ON_VALIDATION_BATCH_END,
    LC_FX_ON_VALIDATION_EPOCH_END,  LC_FX_ON_VALIDATION_END,
    LC_CB_HOOK(on_validation_start), LC_CB_HOOK(on_validation_epoch_start),
    LC_CB_HOOK(on_validation_batch_end), LC_CB_HOOK(on_validation_epoch_end),
    LC_CB_HOOK(on_validation_end),  LC_MOD_HOOK(on_validation_epoch_start),
    LC_MOD_HOOK(validation_step),   LC_MOD_HOOK(on_validation_epoch_end),
};

static const eval_kind test_kind = {
    LC_FX_ON_TEST_START,       LC_FX_ON_TEST_EPOCH_START,     LC_FX_TEST_STEP,
    LC_FX_ON_TEST_BATCH_END,   LC_FX_ON_TEST_EPOCH_END,       LC_FX_ON_TEST_END,
    LC_CB_HOOK(on_test_start), LC_CB_HOOK(on_test_epoch_start), LC_CB_HOOK(on_test_batch_end),
    LC_CB_HOOK(on_test_epoch_end), LC_CB_HOOK(on_test_end), LC_MOD_HOOK(on_test_epoch_start),
    LC_MOD_HOOK(test_step),    LC_MOD_HOOK(on_test_epoch_end),
};

static lc_status eval_run(lc_trainer *t, const eval_kind *k, lc_dataloader *dl, int64_t nbatches,
                          int emit)
{
    int was_training = t->training;
    t->training = 0;
    lc_log_result_reset_epoch(&t->eval_res);
    lc_status st = lc_hooks_call(t, k->fx_start, LC_CB_ALL, k->cb_start, LC_NO_HOOK);
    if (st == LC_OK)
        st = lc_hooks_call(t, k->fx_epoch_start, LC_CB_ALL, k->cb_epoch_start, k->mod_epoch_start);
    if (st == LC_OK)
        st = lc_dataloader_set_epoch(dl, 0);
    for (int64_t i = 0; st == LC_OK && i < nbatches; i++) {
        if ((st = lc_run_check_live(t)) != LC_OK)
            break;
        lc_batch b;
        LC_PROF_BEGIN(t, k == &test_kind ? "[_EvaluationLoop].test_next" : "[_EvaluationLoop].val_next",
                      LC_PROF_ACTION);
        int got = lc_dataloader_next(dl, &b);
        LC_PROF_END(t);
        if (got < 0) {
            st = lc_fail(LC_ERR_STATE, "could not make %s batch %lld: %s",
                         k == &test_kind ? "test" : "validation", (long long)i, lc_errmsg());
            break;
        }
        if (got == 0)
            break;
        lc_minibatch mb;
        lc_minibatch_from(&mb, &b);
        t->cur_batch_size = mb.size;
        lc_autocast ac = lc_precision_enter(&t->prec, LC_COMPUTE_BE(t)); /* autocast in eval too */
        st = lc_hooks_call_batch(t, k->fx_step, LC_CB_ALL, LC_NO_HOOK, k->mod_step, &mb, i);
        lc_autocast_exit(ac);
        if (st == LC_OK)
            st = lc_hooks_call_batch(t, k->fx_batch_end, LC_CB_ALL, k->cb_batch_end, LC_NO_HOOK,
                                     &mb, i);
        if (st == LC_OK)
            st = lc_conn_step_end(t, &t->eval_res, emit, i);
    }
    if (st == LC_OK)
        st = lc_hooks_call(t, k->fx_epoch_end, LC_CB_ALL, k->cb_epoch_end, k->mod_epoch_end);
    if (st == LC_OK)
        st = lc_conn_epoch_end(t, &t->eval_res, emit, t->batches_that_stepped, 0);
    if (st == LC_OK)
        st = lc_hooks_call(t, k->fx_end, LC_CB_ALL, k->cb_end, LC_NO_HOOK);
    lc_log_result_reset_epoch(&t->eval_res);
    t->training = was_training;
    return st;
}

lc_status lc_eval_run_val(lc_trainer *t, int sanity)
{
    int64_t n = t->num_val_batches;
    if (sanity && t->cfg.num_sanity_val_steps >= 0 && t->cfg.num_sanity_val_steps < n)
        n = t->cfg.num_sanity_val_steps;
    return eval_run(t, &val_kind, t->val_dl, n, !sanity);
}

/* Trainer.validate / Trainer.test outside fit. */
static lc_status eval_stage(lc_trainer *t, lc_module *m, lc_datamodule *dm, int test)
{
    const char *what = test ? "lc_trainer_test" : "lc_trainer_validate";
    if (!t || !m || !dm)
        return lc_fail(LC_ERR_INVALID, "%s: trainer, module and data must not be NULL", what);
    if (t->stage != LC_STAGE_NONE)
        return lc_fail(LC_ERR_STATE, "%s: called from inside a running loop", what);
    if (test ? !m->test_step : !m->validation_step)
        return lc_fail(LC_ERR_INVALID, "%s: module '%s' has no %s", what, m->name ? m->name : "?",
                       test ? "test_step" : "validation_step");
    lc_status st = lc_trainer_prepare_stage(t, test ? LC_STAGE_TEST : LC_STAGE_VALIDATE, m, dm);
    lc_dataloader *dl = test ? t->test_dl : t->val_dl;
    if (st == LC_OK && !dl)
        st = lc_fail(LC_ERR_INVALID, "%s: the data module has no %s split", what,
                     test ? "test" : "validation");
    int64_t n = 0;
    if (st == LC_OK)
        st = lc_limit_batches(test ? t->cfg.limit_test_batches : t->cfg.limit_val_batches,
                              (int64_t)lc_dataloader_num_batches(dl), test ? "test" : "val", &n);
    if (st == LC_OK)
        st = lc_run_setup(t, 0, -1);
    if (st == LC_OK)
        lc_prof_stage_begin(t);
    if (st == LC_OK)
        st = lc_hooks_setup(t, 0);
    if (st == LC_OK) {
        /* a stage of its own: its metric names start fresh */
        lc_log_result_clear(&t->eval_res);
        st = eval_run(t, test ? &test_kind : &val_kind, dl, n, 1);
    }
    char msg[1024] = "";
    if (st != LC_OK) {
        snprintf(msg, sizeof msg, "%s", lc_errmsg());
        lc_ddp_raise(t, msg); /* the other ranks stop instead of waiting */
        lc_hooks_exception(t, st);
        if (t->run)
            t->run_failed = 1;
    }
    lc_hooks_setup(t, 1);
    lc_status pst = lc_prof_stage_end(t, test ? "test" : "validate");
    lc_log_result_clear(&t->eval_res);
    t->stage = LC_STAGE_NONE;
    t->fx = LC_FX_NONE;
    if (st != LC_OK)
        return lc_fail(st, "%s", msg);
    return pst;
}

lc_status lc_trainer_validate(lc_trainer *t, lc_module *m, lc_datamodule *dm)
{
    return eval_stage(t, m, dm, 0);
}

lc_status lc_trainer_test(lc_trainer *t, lc_module *m, lc_datamodule *dm)
{
    return eval_stage(t, m, dm, 1);
}
