/*
 * kernels/dropout.h — inverted dropout (PyTorch nn.Dropout semantics).
 *
 * Training: each element is kept with probability 1 - p and scaled by
 * 1 / (1 - p), or zeroed, so the expected activation is unchanged and
 * evaluation needs no rescaling. The keep/drop decisions are drawn from an
 * lc_rng (one 32-bit draw per element, in element order) and stored in a
 * byte mask for the backward pass; a checkpointed RNG state reproduces the
 * same masks after resume.
 *
 * Evaluation (training == 0) and p == 0 are the identity: y = x, the mask is
 * not written and the RNG is NOT advanced (so validation runs do not shift
 * the training dropout stream). p == 1 zeroes everything without drawing.
 */
#ifndef LC_DROPOUT_H
#define LC_DROPOUT_H

#include <stdint.h>

#include "tensor.h"

/** y = dropout(x). mask: x->numel bytes (1 kept, 0 dropped), needed only
 *  when training with 0 < p < 1 (may be NULL otherwise). y may be x.
 *  p must be in [0, 1]. */
lc_status lc_dropout_forward(lc_tensor *y, uint8_t *mask, const lc_tensor *x, float p,
                             int training, lc_rng *rng);

/** dx = dy * mask / (1 - p) with the forward's p, training and mask
 *  (identity in eval or for p == 0, zero for p == 1). dx may be dy. */
lc_status lc_dropout_backward(lc_tensor *dx, const lc_tensor *dy, const uint8_t *mask, float p,
                              int training);

#endif
