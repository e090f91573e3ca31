/*
 * kernels/tensor.h — the small tensor type the CPU kernels work on.
 *
 * A tensor is a contiguous, row-major float32 buffer with a shape of 1 to 4
 * dimensions. It either owns its buffer (lc_tensor_alloc: 64-byte aligned,
 * zero-filled, freed by lc_tensor_free) or is a view of memory owned by
 * someone else (lc_tensor_view: e.g. one parameter inside a single big
 * parameter block, llm.c style, so the optimizer can run over all
 * parameters at once). There are no strides: every kernel sees plain
 * contiguous memory, which keeps the loops simple and vectorisable.
 *
 * Kernels treat a tensor of shape [d0, ..., dk] as a matrix of
 * rows = d0*...*d(k-1) and cols = dk where that matters (linear layers,
 * softmax over the last dimension).
 *
 * Mixed precision (bf16/fp16 copies of weights and activations) is not built
 * yet; it will add separate cast kernels between float32 tensors and 16-bit
 * buffers, so this type stays float32.
 */
#ifndef LC_TENSOR_H
#define LC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"
#include "rng.h"

#define LC_TENSOR_MAX_DIMS 4

typedef struct lc_tensor {
    float *data;
    size_t numel;                       /* product of the shape */
    int ndim;                           /* 1..LC_TENSOR_MAX_DIMS */
    int owns;                           /* 1: lc_tensor_free frees data */
    int64_t shape[LC_TENSOR_MAX_DIMS];  /* unused dimensions are 1 */
} lc_tensor;

/** Allocate a zero-filled tensor of the given shape (every dim >= 1).
 *  On error *t is left empty (data NULL) and lc_errmsg() says why. */
lc_status lc_tensor_alloc(lc_tensor *t, int ndim, const int64_t *shape);

/** Shorthands for 1-D and 2-D tensors. */
lc_status lc_tensor_alloc_1d(lc_tensor *t, int64_t n);
lc_status lc_tensor_alloc_2d(lc_tensor *t, int64_t rows, int64_t cols);

/** Make t a view of data (not owned; lc_tensor_free only clears t). */
lc_status lc_tensor_view(lc_tensor *t, float *data, int ndim, const int64_t *shape);

/** Free an owned buffer and clear t. Safe on NULL, on views and twice. */
void lc_tensor_free(lc_tensor *t);

/** Give t a new shape with the same number of elements (no copy). */
lc_status lc_tensor_reshape(lc_tensor *t, int ndim, const int64_t *shape);

void lc_tensor_zero(lc_tensor *t);
void lc_tensor_fill(lc_tensor *t, float value);

/** dst <- src; both must have the same shape. */
lc_status lc_tensor_copy(lc_tensor *dst, const lc_tensor *src);

/** 1 if a and b have the same ndim and dims. */
int lc_tensor_same_shape(const lc_tensor *a, const lc_tensor *b);

/** The last dimension, and the product of all the others (0 for an empty
 *  or NULL tensor). */
int64_t lc_tensor_cols(const lc_tensor *t);
int64_t lc_tensor_rows(const lc_tensor *t);

/** "[64, 784]" into buf (for error messages); returns buf. */
const char *lc_tensor_shape_str(const lc_tensor *t, char *buf, size_t cap);

/** Fill with uniform [lo, hi) / normal(mean, std) draws from rng. */
void lc_tensor_rand_uniform(lc_tensor *t, lc_rng *rng, float lo, float hi);
void lc_tensor_rand_normal(lc_tensor *t, lc_rng *rng, float mean, float std);

/** Internal to the kernels: LC_OK if t is a usable tensor, else fills the
 *  message with "<op>: <name> ..." and returns LC_ERR_INVALID. */
lc_status lc_tensor_check(const lc_tensor *t, const char *op, const char *name);

#endif
