/*
 * kernels/loss_scaler.h — the math of dynamic loss scaling for float16
 * training (torch.amp.GradScaler): the scale and its update rule, and the
 * fused "unscale the gradients and look for Inf/NaN" kernel.
 *
 * Why: float16 gradients underflow (anything below 2^-24 becomes 0), so the
 * loss is multiplied by a large scale S before backward and the gradients
 * divided by S before the optimizer sees them. If S is too large, some
 * gradient overflows to Inf (or becomes NaN): that step is skipped and S
 * shrinks; after growth_interval clean steps in a row S grows again.
 *
 * GradScaler's rule and defaults (PyTorch torch/amp/grad_scaler.py,
 * _amp_update_scale_):
 *     init_scale 2^16, growth_factor 2, backoff_factor 0.5,
 *     growth_interval 2000
 *     found_inf:  scale *= backoff_factor, growth_tracker = 0
 *     else:       growth_tracker += 1; when it reaches growth_interval:
 *                 scale *= growth_factor (only if the result is finite),
 *                 growth_tracker = 0
 * The scale is a float32, as PyTorch keeps it in a float32 tensor; the
 * unscale multiplies by the float32 reciprocal 1/scale (exact for a power
 * of two scale), in float32, like _amp_foreach_non_finite_check_and_unscale_.
 */
#ifndef LC_LOSS_SCALER_H
#define LC_LOSS_SCALER_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"

typedef struct lc_loss_scaler {
    float scale;             /* current loss scale (> 0, finite) */
    float growth_factor;     /* > 1 */
    float backoff_factor;    /* in (0, 1) */
    int64_t growth_interval; /* >= 1 */
    int64_t growth_tracker;  /* consecutive clean steps since the last change */
} lc_loss_scaler;

#define LC_LOSS_SCALER_INIT_SCALE 65536.0f
#define LC_LOSS_SCALER_GROWTH_FACTOR 2.0f
#define LC_LOSS_SCALER_BACKOFF_FACTOR 0.5f
#define LC_LOSS_SCALER_GROWTH_INTERVAL 2000

/** GradScaler's defaults (see above). */
void lc_loss_scaler_init(lc_loss_scaler *s);

/** LC_ERR_INVALID naming the field if s is not a usable scaler. */
lc_status lc_loss_scaler_check(const lc_loss_scaler *s);

/** One update after a step: found_inf != 0 if any gradient was Inf/NaN. */
void lc_loss_scaler_update(lc_loss_scaler *s, int found_inf);

/** The checkpoint blob (little-endian, 40 bytes):
 *    "LCSCALE1" | f32 scale | f32 growth_factor | f32 backoff_factor |
 *    u32 0 | i64 growth_interval | i64 growth_tracker  */
#define LC_LOSS_SCALER_STATE_SIZE 40
void lc_loss_scaler_state_save(const lc_loss_scaler *s, uint8_t out[LC_LOSS_SCALER_STATE_SIZE]);
/** Restore from a blob of len bytes; on error s is unchanged. */
lc_status lc_loss_scaler_state_load(lc_loss_scaler *s, const void *buf, size_t len);

/** Unscale + inf check over count buffers bufs[k] of lens[k] floats:
 *    every g *= inv_scale (float32 multiply);
 *    *found_inf = 1 if any result is Inf or NaN (else 0).
 *  All buffers are unscaled even after an Inf is seen (as PyTorch). */
void lc_unscale_inf_check(float *const *bufs, const size_t *lens, size_t count, float inv_scale,
                          int *found_inf);

/** 1 if any of x[0..n) is Inf or NaN. */
int lc_has_nonfinite(const float *x, size_t n);

#endif
