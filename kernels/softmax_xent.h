/*
 * kernels/softmax_xent.h — fused softmax + cross-entropy for classification
 * (PyTorch F.cross_entropy with reduction="mean" on logits), its backward,
 * and the helpers a classifier needs (softmax alone, argmax).
 *
 * logits and probs are [..., C]: every row is one sample, C classes in the
 * last dimension. Labels are int32 class indices, one per row, each in
 * [0, C); anything else is rejected with LC_ERR_INVALID before any output
 * is written.
 */
#ifndef LC_SOFTMAX_XENT_H
#define LC_SOFTMAX_XENT_H

#include <stdint.h>

#include "tensor.h"

/** Forward for B rows:
 *    probs[i]  = softmax(logits[i])                       (probs may be logits)
 *    *loss     = mean_i -log probs[i, labels[i]]           (double; NULL to skip)
 *    *correct  = #{i : argmax logits[i] == labels[i]}      (NULL to skip;
 *                ties go to the lowest index, like torch.argmax)
 *  The loss comes from log-sum-exp, not from log(probs), so a confident
 *  wrong prediction gives a large finite loss rather than inf. */
lc_status lc_softmax_xent_forward(lc_tensor *probs, double *loss, int64_t *correct,
                                  const lc_tensor *logits, const int32_t *labels);

/** Backward of the mean loss scaled by dloss (1 normally; the loss scale
 *  under mixed precision):  dlogits = (probs - onehot(labels)) * dloss / B.
 *  dlogits is overwritten and may be probs (in place). */
lc_status lc_softmax_xent_backward(lc_tensor *dlogits, const lc_tensor *probs,
                                   const int32_t *labels, float dloss);

/** probs = softmax over the last dimension (prediction). probs may be logits. */
lc_status lc_softmax_forward(lc_tensor *probs, const lc_tensor *logits);

/** out[i] = index of the largest value of row i (lowest index on ties; a NaN
 *  in a row is never chosen unless all are NaN). out has rows entries. */
lc_status lc_argmax_rows(int32_t *out, const lc_tensor *x);

#endif
