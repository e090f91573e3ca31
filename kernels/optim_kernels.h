/*
 * kernels/optim_kernels.h — the elementwise optimizer update rules and
 * gradient clipping, following PyTorch's formulas (torch.optim.SGD, Adam,
 * AdamW single-tensor implementations; torch.nn.utils.clip_grad_norm_ and
 * clip_grad_value_) so a run behaves like its PyTorch twin.
 *
 * Each update runs over one flat buffer of n parameters with their gradient
 * and state buffers (momentum; Adam's m and v), so the trainer may call it
 * per parameter tensor or once over one big parameter block. Scalars are
 * computed in double, elementwise math in float, like PyTorch on CPU.
 *
 * `step` is the 1-based number of this update (the first call passes 1):
 * Adam needs it for bias correction, SGD to initialise its momentum buffer.
 * The trainer keeps it in the checkpoint with the state buffers.
 *
 * Hyperparameters are checked on every call (a handful of comparisons);
 * lc_*_check lets the trainer reject a bad configuration up front.
 */
#ifndef LC_OPTIM_KERNELS_H
#define LC_OPTIM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"

/* ------------------------------------------------------------------------ */
/* SGD                                                                       */

typedef struct lc_sgd_hparams {
    double lr;           /* >= 0 */
    double momentum;     /* >= 0; 0 = plain SGD (no buffer needed) */
    double dampening;    /* PyTorch's dampening; 0 in the usual setups */
    double weight_decay; /* >= 0; L2 penalty added to the gradient */
    int nesterov;        /* needs momentum > 0 and dampening == 0 */
} lc_sgd_hparams;

lc_status lc_sgd_check(const lc_sgd_hparams *hp);

/** One SGD step (torch.optim.SGD):
 *    g   = grad + weight_decay * param
 *    buf = g                                   (step 1)
 *    buf = momentum * buf + (1 - dampening) g  (later steps)
 *    g   = nesterov ? g + momentum * buf : buf  (if momentum != 0)
 *    param -= lr * g
 *  momentum_buf (n floats) may be NULL only when momentum == 0. */
lc_status lc_sgd_step(float *param, const float *grad, float *momentum_buf, size_t n,
                      const lc_sgd_hparams *hp, int64_t step);

/* ------------------------------------------------------------------------ */
/* Adam / AdamW                                                              */

typedef struct lc_adam_hparams {
    double lr;           /* >= 0 */
    double beta1, beta2; /* in [0, 1); PyTorch defaults 0.9, 0.999 */
    double eps;          /* >= 0; added OUTSIDE the square root; default 1e-8 */
    double weight_decay; /* >= 0; Adam: L2 in the gradient; AdamW: decoupled */
} lc_adam_hparams;

lc_status lc_adam_check(const lc_adam_hparams *hp);

/** One Adam step (torch.optim.Adam, amsgrad off), t = step:
 *    g = grad + weight_decay * param
 *    m = m + (1 - beta1) (g - m)            (= beta1 m + (1 - beta1) g)
 *    v = beta2 v + (1 - beta2) g^2
 *    param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *  m and v are n floats each, zero before the first step. */
lc_status lc_adam_step(float *param, const float *grad, float *m, float *v, size_t n,
                       const lc_adam_hparams *hp, int64_t step);

/** One AdamW step (torch.optim.AdamW): as Adam with g = grad, after the
 *  decoupled decay  param *= 1 - lr * weight_decay. */
lc_status lc_adamw_step(float *param, const float *grad, float *m, float *v, size_t n,
                        const lc_adam_hparams *hp, int64_t step);

/* ------------------------------------------------------------------------ */
/* Gradient clipping                                                         */

/** clip_grad_norm_ (L2) over count gradient buffers grads[k] of lens[k]:
 *    total = ||all grads||_2  (lc_reduce_l2norm_multi: deterministic)
 *    coef  = min(max_norm / (total + 1e-6), 1)
 *    every grad *= coef   (skipped when coef == 1: same bits)
 *  *total_norm (may be NULL) gets the norm before clipping. A non-finite
 *  norm is returned as is and makes the gradients NaN, as in PyTorch (the
 *  trainer decides whether to skip the step). max_norm must be >= 0. */
lc_status lc_clip_grad_norm(float *const *grads, const size_t *lens, size_t count,
                            double max_norm, double *total_norm);

/** clip_grad_value_: clamp every gradient to [-clip_value, clip_value]
 *  (NaN stays NaN). clip_value must be >= 0. */
lc_status lc_clip_grad_value(float *const *grads, const size_t *lens, size_t count,
                             double clip_value);

#endif
