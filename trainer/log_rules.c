/*
 * trainer/log_rules.c — Lightning's table of which hook may log what (see
 * log_rules.h).
 */
#include "log_rules.h"

#include "common/status.h"
#include "lightc/trainer.h"

static const char *const fx_names[LC_FX_COUNT] = {
    [LC_FX_NONE] = "(no hook)",
    [LC_FX_TRAINING_STEP] = "training_step",
    [LC_FX_BACKWARD] = "backward",
    [LC_FX_ON_TRAIN_BATCH_START] = "on_train_batch_start",
    [LC_FX_ON_TRAIN_BATCH_END] = "on_train_batch_end",
    [LC_FX_ON_BEFORE_ZERO_GRAD] = "on_before_zero_grad",
    [LC_FX_ON_BEFORE_BACKWARD] = "on_before_backward",
    [LC_FX_ON_AFTER_BACKWARD] = "on_after_backward",
    [LC_FX_ON_BEFORE_OPTIMIZER_STEP] = "on_before_optimizer_step",
    [LC_FX_VALIDATION_STEP] = "validation_step",
    [LC_FX_TEST_STEP] = "test_step",
    [LC_FX_ON_VALIDATION_BATCH_END] = "on_validation_batch_end",
    [LC_FX_ON_TEST_BATCH_END] = "on_test_batch_end",
    [LC_FX_ON_TRAIN_START] = "on_train_start",
    [LC_FX_ON_TRAIN_EPOCH_START] = "on_train_epoch_start",
    [LC_FX_ON_TRAIN_EPOCH_END] = "on_train_epoch_end",
    [LC_FX_ON_VALIDATION_START] = "on_validation_start",
    [LC_FX_ON_VALIDATION_EPOCH_START] = "on_validation_epoch_start",
    [LC_FX_ON_VALIDATION_EPOCH_END] = "on_validation_epoch_end",
    [LC_FX_ON_TEST_START] = "on_test_start",
    [LC_FX_ON_TEST_EPOCH_START] = "on_test_epoch_start",
    [LC_FX_ON_TEST_EPOCH_END] = "on_test_epoch_end",
    [LC_FX_SETUP] = "setup",
    [LC_FX_TEARDOWN] = "teardown",
    [LC_FX_CONFIGURE_OPTIMIZERS] = "configure_optimizers",
    [LC_FX_ON_FIT_START] = "on_fit_start",
    [LC_FX_ON_FIT_END] = "on_fit_end",
    [LC_FX_ON_SANITY_CHECK_START] = "on_sanity_check_start",
    [LC_FX_ON_SANITY_CHECK_END] = "on_sanity_check_end",
    [LC_FX_ON_TRAIN_END] = "on_train_end",
    [LC_FX_ON_VALIDATION_END] = "on_validation_end",
    [LC_FX_ON_TEST_END] = "on_test_end",
    [LC_FX_ON_SAVE_CHECKPOINT] = "on_save_checkpoint",
    [LC_FX_ON_LOAD_CHECKPOINT] = "on_load_checkpoint",
    [LC_FX_LR_SCHEDULER_STEP] = "lr_scheduler_step",
    [LC_FX_ON_EXCEPTION] = "on_exception",
};

const char *lc_fx_name(lc_fx fx)
{
    if ((unsigned)fx < LC_FX_COUNT && fx_names[fx])
        return fx_names[fx];
    return "(unknown hook)";
}

lc_fx_class lc_fx_class_of(lc_fx fx)
{
    if (fx >= LC_FX_TRAINING_STEP && fx <= LC_FX_ON_BEFORE_OPTIMIZER_STEP)
        return LC_FX_CLASS_STEP;
    if (fx >= LC_FX_VALIDATION_STEP && fx <= LC_FX_ON_TEST_BATCH_END)
        return LC_FX_CLASS_EVAL_STEP;
    if (fx >= LC_FX_ON_TRAIN_START && fx <= LC_FX_ON_TEST_EPOCH_END)
        return LC_FX_CLASS_EPOCH;
    return LC_FX_CLASS_FORBIDDEN;
}

static int tri_valid(int v)
{
    return v == LC_LOG_DEFAULT || v == LC_LOG_ON || v == LC_LOG_OFF;
}

lc_status lc_fx_resolve(lc_fx fx, const char *name, int req_step, int req_epoch, int *on_step,
                        int *on_epoch)
{
    if (!tri_valid(req_step) || !tri_valid(req_epoch))
        return lc_fail(LC_ERR_INVALID,
                       "lc_log('%s'): on_step/on_epoch must be LC_LOG_DEFAULT, LC_LOG_ON or "
                       "LC_LOG_OFF",
                       name);
    lc_fx_class c = lc_fx_class_of(fx);
    if (fx == LC_FX_NONE)
        return lc_fail(LC_ERR_STATE,
                       "lc_log('%s') called outside a hook; log from training_step, "
                       "validation_step, test_step or an on_* hook the trainer calls",
                       name);
    if (c == LC_FX_CLASS_FORBIDDEN)
        return lc_fail(LC_ERR_INVALID,
                       "lc_log('%s'): logging is not allowed in %s (as in Lightning); log from a "
                       "step or epoch hook instead",
                       name, lc_fx_name(fx));
    int step, epoch;
    switch (c) {
    case LC_FX_CLASS_STEP:
        step = req_step == LC_LOG_DEFAULT ? 1 : req_step == LC_LOG_ON;
        epoch = req_epoch == LC_LOG_DEFAULT ? 0 : req_epoch == LC_LOG_ON;
        break;
    case LC_FX_CLASS_EVAL_STEP:
        step = req_step == LC_LOG_DEFAULT ? 0 : req_step == LC_LOG_ON;
        epoch = req_epoch == LC_LOG_DEFAULT ? 1 : req_epoch == LC_LOG_ON;
        break;
    default: /* epoch class: only on_step=False, on_epoch=True */
        if (req_step == LC_LOG_ON)
            return lc_fail(LC_ERR_INVALID,
                           "lc_log('%s'): on_step=True is not allowed in %s (an epoch-level "
                           "hook); drop on_step",
                           name, lc_fx_name(fx));
        if (req_epoch == LC_LOG_OFF)
            return lc_fail(LC_ERR_INVALID,
                           "lc_log('%s'): on_epoch=False is not allowed in %s (an epoch-level "
                           "hook); drop on_epoch",
                           name, lc_fx_name(fx));
        step = 0;
        epoch = 1;
        break;
    }
    if (!step && !epoch)
        return lc_fail(LC_ERR_INVALID,
                       "lc_log('%s') in %s with on_step and on_epoch both off would log nothing; "
                       "turn one on",
                       name, lc_fx_name(fx));
    *on_step = step;
    *on_epoch = epoch;
    return LC_OK;
}
