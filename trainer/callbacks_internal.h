/*
 * trainer/callbacks_internal.h — hooks into the built-in callbacks for
 * the unit tests: the decision rules without a training loop around them.
 */
#ifndef LC_TRAINER_CALLBACKS_INTERNAL_H
#define LC_TRAINER_CALLBACKS_INTERNAL_H

#include "lightc/trainer.h"

/** EarlyStopping's decision for one monitored value (updates its state as
 *  a real check does): 1 = stop, 0 = go on. */
int lc_early_stopping_evaluate(lc_callback *cb, double current);

/** EarlyStopping's wait count and best score. */
int64_t lc_early_stopping_wait_count(const lc_callback *cb);
double lc_early_stopping_best_score(const lc_callback *cb);

#endif
