/*
 * kernels/lowp.h — 16-bit compute emulated on the CPU: the layer kernels
 * as float16 / bfloat16 tensor cores run them, judged on accuracy, not
 * speed (the CPU backend's ops for a compute dtype other than float32,
 * see backend.h).
 *
 * What is emulated, per op (fmt = float16 or bfloat16):
 *   linear forward   x, W, b rounded to fmt; y = x W^T + b with exact
 *                    products accumulated in float32 (OpenBLAS sgemm on the
 *                    rounded operands); y rounded to fmt
 *   linear backward  dy, W, x rounded to fmt; dx = dy W rounded to fmt;
 *                    dW_fmt = dy^T x and db_fmt = colsum(dy), each rounded
 *                    to fmt, then added to the float32 gradients (the
 *                    master weights' .grad: autocast's cast backward). A
 *                    float16 gradient past 65504 becomes Inf here, which is
 *                    what the loss scaler watches for.
 *   activations,     the float32 kernel, then its output rounded to fmt
 *   dropout
 * Values stay in float32 buffers that hold only fmt's values; the
 * rounding uses half.h (F16C when present, vectorised integer code
 * otherwise), so the cost is a few extra passes over each operand.
 *
 * Operands are rounded into a scratch buffer owned by the caller
 * (lc_lowp_scratch), grown on demand; the inputs are never modified.
 */
#ifndef LC_LOWP_H
#define LC_LOWP_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "rng.h"
#include "tensor.h"

typedef struct lc_lowp_scratch {
    float *buf;
    size_t cap; /* floats */
} lc_lowp_scratch;

void lc_lowp_scratch_free(lc_lowp_scratch *s);

/** lc_linear_forward / lc_linear_backward computed in fmt (F32: the plain
 *  kernels). Same shapes, same accumulate/overwrite rules. */
lc_status lc_lowp_linear_forward(lc_dtype fmt, lc_tensor *y, const lc_tensor *x,
                                 const lc_tensor *w, const lc_tensor *b, lc_lowp_scratch *s);
lc_status lc_lowp_linear_backward(lc_dtype fmt, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                  const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                  lc_lowp_scratch *s);

/** ReLU (gelu = 0) or GELU (gelu = 1), forward and backward, output in fmt. */
lc_status lc_lowp_act_forward(lc_dtype fmt, int gelu, lc_tensor *y, const lc_tensor *x);
lc_status lc_lowp_act_backward(lc_dtype fmt, int gelu, lc_tensor *dx, const lc_tensor *dy,
                               const lc_tensor *x);

/** Dropout forward and backward, output in fmt. */
lc_status lc_lowp_dropout_forward(lc_dtype fmt, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                  float p, int training, lc_rng *rng);
lc_status lc_lowp_dropout_backward(lc_dtype fmt, lc_tensor *dx, const lc_tensor *dy,
                                   const uint8_t *mask, float p, int training);

#endif
