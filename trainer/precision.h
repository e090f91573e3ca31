/*
 * trainer/precision.h — Lightning's precision plugins: which dtype the
 * model computes in, which dtype its parameters are kept in, and (for
 * float16 mixed precision) the dynamic loss scaler around the optimizer
 * step.
 *
 *   name        aliases  compute   parameters            loss scaler
 *   32-true     32       float32   float32               -
 *   16-mixed    16       float16   float32 (master)      GradScaler
 *   bf16-mixed  bf16     bfloat16  float32 (master)      -
 *   16-true     -        float16   float16               -
 *   bf16-true   -        bfloat16  bfloat16              -
 *
 * Compute: the plugin enters a compute context (kernels/autocast.h) around
 * training_step, backward and the evaluation steps — Lightning's autocast —
 * so the layers compute in the plugin's dtype without changes to model
 * code. On the CPU the 16-bit compute is emulated (kernels/lowp.h):
 * operands and activations rounded to the format, float32 accumulation.
 *
 * *-true: the parameters hold only values of the format. On the CPU and
 * on the GPU they stay in float32 buffers, rounded to the format at setup
 * and after every optimizer update (the optimizer's state stays float32);
 * checkpoints store them in the 16-bit dtype.
 *
 * The functions below run through the parameters' backend (the GPU's when
 * they are on it) and return its status.
 *
 * 16-mixed, per optimizer step (Lightning's MixedPrecision.optimizer_step
 * with torch.amp.GradScaler):
 *   backward runs on loss * scale (the trainer passes the scale in the
 *   module's loss_scale) -> lc_precision_unscale: gradients *= 1/scale and
 *   Inf/NaN check -> on_before_optimizer_step hooks, gradient clipping and
 *   the gradient-norm metric see the unscaled gradients -> the optimizer
 *   steps only if no gradient was Inf/NaN -> lc_precision_step_end: the
 *   scaler update (see kernels/loss_scaler.h), counters. A skipped step
 *   still counts in global_step (Lightning counts optimizer.step calls) but
 *   the step-interval LR schedulers do not step on it.
 */
#ifndef LC_TRAINER_PRECISION_H
#define LC_TRAINER_PRECISION_H

#include <stddef.h>
#include <stdint.h>

#include "autocast.h"
#include "backend.h"
#include "dtype.h"
#include "lightc/status.h"
#include "loss_scaler.h"
#include "params.h"

typedef enum lc_precision_kind {
    LC_PRECISION_32_TRUE = 0,
    LC_PRECISION_16_MIXED = 1,
    LC_PRECISION_BF16_MIXED = 2,
    LC_PRECISION_16_TRUE = 3,
    LC_PRECISION_BF16_TRUE = 4
} lc_precision_kind;

typedef struct lc_precision {
    lc_precision_kind kind;
    lc_dtype compute;        /* the autocast dtype */
    lc_dtype param_dtype;    /* F32 for 32-true and the mixed ones */
    int has_scaler;          /* 16-mixed */
    lc_loss_scaler scaler;
    int64_t skipped_steps;   /* optimizer steps skipped for Inf/NaN gradients, all run long */
    int64_t overflows;       /* such steps since the last logged value (the events) */
    int last_skipped;        /* the last optimizer step was skipped */
} lc_precision;

/** Parse a Lightning precision value: "32-true", "16-mixed", "bf16-mixed",
 *  "16-true", "bf16-true" or the aliases "32", "16", "bf16". Anything else
 *  (including "64-true" and "transformer-engine", which lightc does not
 *  have) is refused with a message listing the valid values. */
lc_status lc_precision_parse(const char *text, lc_precision_kind *out);

/** The canonical name ("16-mixed"). */
const char *lc_precision_name(lc_precision_kind kind);

/** "32-true, 16-mixed, bf16-mixed, 16-true, bf16-true (aliases 32, 16, bf16)" */
const char *lc_precision_valid_values(void);

/** A fresh plugin (a new GradScaler for 16-mixed). */
void lc_precision_init(lc_precision *p, lc_precision_kind kind);

/** Enter the plugin's compute context on backend be (NULL: the CPU);
 *  returns the previous context for lc_autocast_exit. */
lc_autocast lc_precision_enter(const lc_precision *p, const lc_backend *be);

/** What the loss is multiplied by before backward: the scaler's scale,
 *  1 without a scaler. */
double lc_precision_loss_scale(const lc_precision *p);

/** *-true: round every parameter (frozen ones too) to the format
 *  (HalfPrecision's module conversion). No-op otherwise. */
lc_status lc_precision_convert_params(const lc_precision *p, lc_params *ps);

/** Before the optimizer step: unscale the gradients and check them
 *  (16-mixed). *skip = 1 if the step must be skipped. No-op (skip = 0)
 *  without a scaler. */
lc_status lc_precision_unscale(lc_precision *p, lc_params *ps, int *skip);

/** After the optimizer step (stepped = 0 when it was skipped): *-true
 *  rounds the updated parameters; 16-mixed updates the scale and the
 *  counters. */
lc_status lc_precision_step_end(lc_precision *p, lc_params *ps, int stepped);

/* ---- checkpoint state ---------------------------------------------------- */

/** The plugin's checkpoint blob ("LCPREC01", kind, counters, the scaler),
 *  little-endian, LC_PRECISION_STATE_SIZE bytes. */
#define LC_PRECISION_STATE_SIZE (8 + 4 + 4 + 8 + 8 + LC_LOSS_SCALER_STATE_SIZE)
void lc_precision_state_save(const lc_precision *p, uint8_t out[LC_PRECISION_STATE_SIZE]);

/** Restore from a blob. The scaler and counters are taken only when both
 *  this plugin and the saved one have a scaler (a run resumed in another
 *  precision keeps its fresh state; *same_kind says whether it was the
 *  same precision). On error p is unchanged. */
lc_status lc_precision_state_load(lc_precision *p, const void *buf, size_t len, int *same_kind);

#endif
