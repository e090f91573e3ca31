/*
 * kernels/activations.h — elementwise activations ReLU and GELU, forward and
 * backward.
 *
 * GELU is the tanh approximation (PyTorch nn.GELU(approximate="tanh"), the
 * form GPT-2 and llm.c use):
 *     gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * It is within ~1e-3 of the exact erf form and cheaper.
 *
 * Shapes: x, y, dy, dx all have the same shape. The input gradient dx is
 * overwritten and may be the same tensor as dy (in place).
 */
#ifndef LC_ACTIVATIONS_H
#define LC_ACTIVATIONS_H

#include "tensor.h"

/** y = max(x, 0). y may be x (in place). */
lc_status lc_relu_forward(lc_tensor *y, const lc_tensor *x);

/** dx = dy where x > 0, else 0. x is the forward input — or its output,
 *  which is > 0 exactly where the input was, so an in-place forward works. */
lc_status lc_relu_backward(lc_tensor *dx, const lc_tensor *dy, const lc_tensor *x);

/** y = gelu_tanh(x). y may be x, but the backward needs the input x. */
lc_status lc_gelu_forward(lc_tensor *y, const lc_tensor *x);

/** dx = dy * gelu_tanh'(x), x the forward INPUT. */
lc_status lc_gelu_backward(lc_tensor *dx, const lc_tensor *dy, const lc_tensor *x);

#endif
