/*
 * kernels/linear.h — the fully connected layer y = x W^T + b and the bias
 * add on its own, forward and backward (PyTorch nn.Linear's layout: W is
 * [out_features, in_features]).
 *
 * Gradient convention (as llm.c): parameter gradients dW and db are
 * ACCUMULATED (+=), so gradient accumulation over micro-batches is free and
 * the trainer zeroes them in optimizer_zero_grad; the input gradient dx is
 * OVERWRITTEN, and may be NULL when nobody needs it (the first layer), which
 * saves one GEMM.
 */
#ifndef LC_LINEAR_H
#define LC_LINEAR_H

#include "tensor.h"

/** y = x W^T + b.
 *  x: [..., in] (rows = all leading dims), w: [out, in], b: [out] or NULL,
 *  y: [..., out] with the same number of rows. y must not share memory with
 *  x or w. GEMM through OpenBLAS (cblas_sgemm). */
lc_status lc_linear_forward(lc_tensor *y, const lc_tensor *x, const lc_tensor *w,
                            const lc_tensor *b);

/** Backward of lc_linear_forward for upstream gradient dy ([..., out]):
 *    dx  = dy W          (overwritten; NULL to skip)
 *    dw += dy^T x        (NULL to skip; shape of w)
 *    db += column sums of dy, rows added in order (NULL to skip)
 *  x and w are the forward inputs. */
lc_status lc_linear_backward(lc_tensor *dx, lc_tensor *dw, lc_tensor *db, const lc_tensor *dy,
                             const lc_tensor *x, const lc_tensor *w);

/** y[r, j] += b[j] for every row r of y ([..., n], b: [n]). */
lc_status lc_bias_add_forward(lc_tensor *y, const lc_tensor *b);

/** db[j] += sum over rows r of dy[r, j], summed in double in row order
 *  (a fixed order: the same bits for any thread count). */
lc_status lc_bias_add_backward(lc_tensor *db, const lc_tensor *dy);

#endif
