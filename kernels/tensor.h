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
 * Every tensor has an element type (dtype.h: float32, float16, bfloat16)
 * and a device (host or cuda). A zero-initialised tensor, and everything
 * lc_tensor_alloc / lc_tensor_view make, is float32 on the host: that is
 * what the CPU kernels take (lc_tensor_check refuses anything else, so a
 * float16 buffer is never read as floats). `data` is the float32 view of
 * the buffer; `ptr` the same pointer untyped, for 16-bit tensors
 * (uint16_t elements, see half.h) and device memory. lc_tensor_cast
 * converts between dtypes on the host. Device tensors are made and freed
 * by their backend (backend.h), never by these functions.
 */
#ifndef LC_TENSOR_H
#define LC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"
#include "dtype.h"
#include "rng.h"

#define LC_TENSOR_MAX_DIMS 4

typedef struct lc_tensor {
    union {
        float *data;                    /* float32 host tensors */
        void *ptr;                      /* any dtype, any device */
    };
    size_t numel;                       /* product of the shape */
    int ndim;                           /* 1..LC_TENSOR_MAX_DIMS */
    int owns;                           /* 1: lc_tensor_free frees data */
    int64_t shape[LC_TENSOR_MAX_DIMS];  /* unused dimensions are 1 */
    lc_dtype dtype;                     /* LC_DTYPE_F32 unless made otherwise */
    lc_device device;                   /* LC_DEVICE_HOST unless made by a device backend */
} lc_tensor;

/** Allocate a zero-filled tensor of the given shape (every dim >= 1).
 *  On error *t is left empty (data NULL) and lc_errmsg() says why. */
lc_status lc_tensor_alloc(lc_tensor *t, int ndim, const int64_t *shape);

/** The same for any dtype (host memory, zero-filled: +0 in every format). */
lc_status lc_tensor_alloc_dtype(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape);

/** Shorthands for 1-D and 2-D tensors. */
lc_status lc_tensor_alloc_1d(lc_tensor *t, int64_t n);
lc_status lc_tensor_alloc_2d(lc_tensor *t, int64_t rows, int64_t cols);

/** Make t a view of data (not owned; lc_tensor_free only clears t). */
lc_status lc_tensor_view(lc_tensor *t, float *data, int ndim, const int64_t *shape);

/** A view of host memory of any dtype (ptr holds numel elements of it). */
lc_status lc_tensor_view_dtype(lc_tensor *t, void *ptr, lc_dtype dtype, int ndim,
                               const int64_t *shape);

/** A view of memory of any dtype on any device (a backend's buffers; the
 *  kernels here take host float32 only). */
lc_status lc_tensor_view_on(lc_tensor *t, void *ptr, lc_dtype dtype, lc_device device, int ndim,
                            const int64_t *shape);

/** Free an owned buffer and clear t. Safe on NULL, on views and twice. */
void lc_tensor_free(lc_tensor *t);

/** Give t a new shape with the same number of elements (no copy). */
lc_status lc_tensor_reshape(lc_tensor *t, int ndim, const int64_t *shape);

/** Zero every element (any dtype; host tensors). */
void lc_tensor_zero(lc_tensor *t);
/** Set every element of a float32 host tensor to value. */
void lc_tensor_fill(lc_tensor *t, float value);

/** dst <- src; same shape and dtype, host tensors. */
lc_status lc_tensor_copy(lc_tensor *dst, const lc_tensor *src);

/** dst <- src converted to dst's dtype (host tensors of the same shape;
 *  any pair of dtypes; to 16 bits rounds to nearest even, see half.h).
 *  The same dtype is a copy. */
lc_status lc_tensor_cast(lc_tensor *dst, const lc_tensor *src);

/** Bytes of t's buffer: numel * lc_dtype_size(dtype). */
size_t lc_tensor_nbytes(const lc_tensor *t);

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

/** Internal to the kernels: LC_OK if t is a usable float32 host tensor,
 *  else fills the message with "<op>: <name> ..." and returns
 *  LC_ERR_INVALID. */
lc_status lc_tensor_check(const lc_tensor *t, const char *op, const char *name);

/** The same for any dtype and device. */
lc_status lc_tensor_check_any(const lc_tensor *t, const char *op, const char *name);

#endif
