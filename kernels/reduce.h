/*
 * kernels/reduce.h — deterministic reductions of float buffers: sum, mean,
 * max, min, sum of squares and L2 norm, of one buffer or of a list of
 * buffers (the global gradient norm for clipping).
 *
 * Determinism: a buffer is cut into a FIXED partition of LC_REDUCE_BLOCK
 * elements counted from its start. Each block is summed in double, in a
 * fixed order (8 interleaved lanes combined pairwise), and the block
 * partials are added in block order, then buffers in list order. The
 * partition depends only on the length — never on the thread count or on
 * memory alignment — so a threaded version that hands whole blocks to
 * threads and combines partials in block order gives the same bits. Today
 * the loop is single-threaded and does not use BLAS.
 *
 * Double accumulation makes the result of summing up to ~10^8 floats exact
 * to float precision, so the trainer can log it without drift.
 */
#ifndef LC_REDUCE_H
#define LC_REDUCE_H

#include <stddef.h>

#include "lightc/status.h"

#define LC_REDUCE_BLOCK 4096

/** Sum of x[0..n) in double (0 for n == 0; NaN if x is NULL with n > 0). */
double lc_reduce_sum(const float *x, size_t n);

/** Sum of squares of x[0..n) in double (same conventions). */
double lc_reduce_sumsq(const float *x, size_t n);

/** sqrt(sum of squares). */
double lc_reduce_l2norm(const float *x, size_t n);

/** L2 norm of the concatenation of count buffers bufs[k] of lens[k] floats:
 *  sqrt(sum_k sumsq(bufs[k])), buffers added in list order. (PyTorch's
 *  clip_grad_norm_ takes the norm of the per-tensor norms; the two agree up
 *  to rounding.) NaN if an argument is NULL where data is needed. */
double lc_reduce_l2norm_multi(const float *const *bufs, const size_t *lens, size_t count);

/** Mean of x[0..n): LC_ERR_INVALID for n == 0. */
lc_status lc_reduce_mean(const float *x, size_t n, double *out);

/** Largest / smallest element; NaN if any element is NaN (as torch.max);
 *  LC_ERR_INVALID for n == 0. */
lc_status lc_reduce_max(const float *x, size_t n, float *out);
lc_status lc_reduce_min(const float *x, size_t n, float *out);

#endif
