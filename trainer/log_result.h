/*
 * trainer/log_result.h — the values logged with lc_log during one loop
 * (train, validation or test): Lightning's _ResultCollection.
 *
 * Each metric name is one entry with the options of its first lc_log
 * call. An entry keeps:
 *  - the value of the current step (on_step), handed to the loggers when
 *    the step's metrics are emitted, then cleared;
 *  - the epoch accumulation (on_epoch): for "mean" the sum of
 *    value * batch_size and the sum of batch sizes (a batch-size-weighted
 *    mean), for "sum" the sum, for "max"/"min" the extreme. Values logged
 *    on_step only are not accumulated (Lightning's shortcut).
 * Keys: on_step and on_epoch both on fork the name into "<name>_step" and
 * "<name>_epoch"; otherwise the name is used as is.
 * Accumulation is in double, in call order, so a resumed run that replays
 * the same calls gets the same bits.
 */
#ifndef LC_TRAINER_LOG_RESULT_H
#define LC_TRAINER_LOG_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/trainer.h"
#include "log_rules.h"

typedef struct lc_log_entry {
    char *name;
    char *key_step;   /* "<name>_step" when forked, else name */
    char *key_epoch;  /* "<name>_epoch" when forked, else name */
    int on_step, on_epoch, prog_bar, logger;
    lc_reduce_fx reduce_fx;
    lc_fx fx;         /* hook of the first call */

    double step_value;
    int step_set;     /* logged in the current step */

    double acc;       /* mean: sum(v * bs); sum: sum; max/min: extreme */
    double weight;    /* mean: sum(bs) */
    int epoch_set;    /* accumulated at least once this epoch */

    lc_tag tag_step, tag_epoch; /* interned keys, 0 until the connector sets them */
    int sync_dist;    /* ddp: reduce across ranks (lc_log_options.sync_dist, sticky) */
    int dist_synced;  /* ddp: acc/weight already hold every rank's sums this epoch */
} lc_log_entry;

typedef struct lc_log_result {
    lc_log_entry *items;
    size_t len, cap;
} lc_log_result;

void lc_log_result_init(lc_log_result *r);
void lc_log_result_free(lc_log_result *r);

/** Record one lc_log call from hook fx with the current batch size
 *  (used when opt->batch_size is 0). opt may be NULL. */
lc_status lc_log_result_log(lc_log_result *r, lc_fx fx, const char *name, double value,
                            const lc_log_options *opt, int64_t batch_size);

/** The epoch value of an entry (weighted mean, sum, max or min); NaN if
 *  nothing was accumulated (or the mean's weights sum to 0). */
double lc_log_entry_epoch_value(const lc_log_entry *e);

/** Clear the step values (after the step's metrics were emitted). */
void lc_log_result_reset_step(lc_log_result *r);

/** Clear everything accumulated (a new epoch / validation run); entries
 *  and their interned tags stay. */
void lc_log_result_reset_epoch(lc_log_result *r);

/** Drop every entry (a new stage). */
void lc_log_result_clear(lc_log_result *r);

/** Checkpoint state (Lightning keeps the loop's results in "loops" so a
 *  mid-epoch resume continues the epoch's reductions): names, options and
 *  accumulators, native byte order behind a byte-order mark. */
size_t lc_log_result_state_size(const lc_log_result *r);
void lc_log_result_state_save(const lc_log_result *r, void *buf);
/** Replace r's entries with the saved ones; LC_ERR_INVALID if malformed. */
lc_status lc_log_result_state_load(lc_log_result *r, const void *buf, size_t len);

/** Parse "mean"/"avg", "sum", "max", "min"; LC_ERR_INVALID otherwise. */
lc_status lc_reduce_fx_parse(const char *text, lc_reduce_fx *out);
const char *lc_reduce_fx_name(lc_reduce_fx fx);

#endif
