/*
 * trainer/log_rules.h — where lc_log may be called and with which
 * defaults: Lightning's fx_validator table
 * (trainer/connectors/logger_connector/fx_validator.py).
 *
 * Every hook the trainer calls is one lc_fx value; the trainer keeps the
 * current one while a hook runs. A hook belongs to one of four classes:
 *   step      on_step default on,  on_epoch default off, both allowed
 *             (training_step, on_train_batch_*, backward hooks, ...)
 *   eval step on_step default off, on_epoch default on,  both allowed
 *             (validation_step, test_step, on_*_batch_*)
 *   epoch     on_step must be off, on_epoch must be on
 *             (on_train_start, *_epoch_start/end, on_validation_start, ...)
 *   forbidden logging is an error (setup, on_fit_start/end, on_*_end of a
 *             stage, configure_optimizers, checkpoint hooks, ...)
 */
#ifndef LC_TRAINER_LOG_RULES_H
#define LC_TRAINER_LOG_RULES_H

#include <stddef.h>

#include "lightc/hub.h"

typedef enum lc_fx {
    LC_FX_NONE = 0, /* outside any hook */
    /* step class */
    LC_FX_TRAINING_STEP,
    LC_FX_BACKWARD,
    LC_FX_ON_TRAIN_BATCH_START,
    LC_FX_ON_TRAIN_BATCH_END,
    LC_FX_ON_BEFORE_ZERO_GRAD,
    LC_FX_ON_BEFORE_BACKWARD,
    LC_FX_ON_AFTER_BACKWARD,
    LC_FX_ON_BEFORE_OPTIMIZER_STEP,
    /* eval step class */
    LC_FX_VALIDATION_STEP,
    LC_FX_TEST_STEP,
    LC_FX_ON_VALIDATION_BATCH_END,
    LC_FX_ON_TEST_BATCH_END,
    /* epoch class */
    LC_FX_ON_TRAIN_START,
    LC_FX_ON_TRAIN_EPOCH_START,
    LC_FX_ON_TRAIN_EPOCH_END,
    LC_FX_ON_VALIDATION_START,
    LC_FX_ON_VALIDATION_EPOCH_START,
    LC_FX_ON_VALIDATION_EPOCH_END,
    LC_FX_ON_TEST_START,
    LC_FX_ON_TEST_EPOCH_START,
    LC_FX_ON_TEST_EPOCH_END,
    /* forbidden */
    LC_FX_SETUP,
    LC_FX_TEARDOWN,
    LC_FX_CONFIGURE_OPTIMIZERS,
    LC_FX_ON_FIT_START,
    LC_FX_ON_FIT_END,
    LC_FX_ON_SANITY_CHECK_START,
    LC_FX_ON_SANITY_CHECK_END,
    LC_FX_ON_TRAIN_END,
    LC_FX_ON_VALIDATION_END,
    LC_FX_ON_TEST_END,
    LC_FX_ON_SAVE_CHECKPOINT,
    LC_FX_ON_LOAD_CHECKPOINT,
    LC_FX_LR_SCHEDULER_STEP,
    LC_FX_ON_EXCEPTION,
    LC_FX_COUNT
} lc_fx;

typedef enum lc_fx_class {
    LC_FX_CLASS_FORBIDDEN = 0,
    LC_FX_CLASS_STEP,
    LC_FX_CLASS_EVAL_STEP,
    LC_FX_CLASS_EPOCH
} lc_fx_class;

/** The hook's name as Lightning spells it ("training_step"). */
const char *lc_fx_name(lc_fx fx);

lc_fx_class lc_fx_class_of(lc_fx fx);

/** Resolve the tri-state on_step / on_epoch requests (LC_LOG_DEFAULT,
 *  LC_LOG_ON, LC_LOG_OFF) for a log call of `name` in hook fx into
 *  *on_step / *on_epoch (0/1). LC_ERR_INVALID with a message when the hook
 *  forbids logging or the combination is not allowed there. */
lc_status lc_fx_resolve(lc_fx fx, const char *name, int req_step, int req_epoch, int *on_step,
                        int *on_epoch);

#endif
