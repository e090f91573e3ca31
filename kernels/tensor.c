/*
 * kernels/tensor.c — allocation, views, shape helpers and fills for
 * lc_tensor (see tensor.h).
 */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "half.h"

/* Buffers are aligned to a cache line so that vector loads never split
 * lines at the start of a tensor. */
#define LC_TENSOR_ALIGN 64

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */

/* Validate a shape and compute its element count without overflow. */
static lc_status tensor_shape_numel(int ndim, const int64_t *shape, size_t *numel, const char *op)
{
    if (ndim < 1 || ndim > LC_TENSOR_MAX_DIMS)
        return lc_fail(LC_ERR_INVALID, "%s: a tensor has 1 to %d dimensions, not %d", op,
                       LC_TENSOR_MAX_DIMS, ndim);
    if (!shape)
        return lc_fail(LC_ERR_INVALID, "%s: shape is NULL", op);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return lc_fail(LC_ERR_INVALID, "%s: dimension %d is %lld; every dimension must be >= 1",
                           op, i, (long long)shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX / sizeof(float) / n) /* 4 bytes: the widest dtype */
            return lc_fail(LC_ERR_INVALID, "%s: shape is too large for memory", op);
        n *= (size_t)shape[i];
    }
    *numel = n;
    return LC_OK;
}

static void tensor_set_shape(lc_tensor *t, int ndim, const int64_t *shape, size_t numel)
{
    t->ndim = ndim;
    t->numel = numel;
    for (int i = 0; i < LC_TENSOR_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
}

const char *lc_tensor_shape_str(const lc_tensor *t, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    if (!t || t->ndim < 1 || t->ndim > LC_TENSOR_MAX_DIMS) {
        snprintf(buf, cap, "[?]");
        return buf;
    }
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < t->ndim && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "[", (long long)t->shape[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
    return buf;
}

int lc_tensor_same_shape(const lc_tensor *a, const lc_tensor *b)
{
    if (!a || !b || a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

int64_t lc_tensor_cols(const lc_tensor *t)
{
    if (!t || t->ndim < 1 || t->ndim > LC_TENSOR_MAX_DIMS)
        return 0;
    return t->shape[t->ndim - 1];
}

int64_t lc_tensor_rows(const lc_tensor *t)
{
    int64_t cols = lc_tensor_cols(t);
    return cols > 0 ? (int64_t)(t->numel / (size_t)cols) : 0;
}

lc_status lc_tensor_check_any(const lc_tensor *t, const char *op, const char *name)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "%s: %s is NULL", op, name);
    if (!t->ptr || t->ndim < 1 || t->ndim > LC_TENSOR_MAX_DIMS || t->numel == 0)
        return lc_fail(LC_ERR_INVALID, "%s: %s is not an allocated tensor (no data or no shape)",
                       op, name);
    if (lc_dtype_size(t->dtype) == 0)
        return lc_fail(LC_ERR_INVALID, "%s: %s has an unknown dtype %d", op, name, (int)t->dtype);
    return LC_OK;
}

lc_status lc_tensor_check(const lc_tensor *t, const char *op, const char *name)
{
    lc_status st = lc_tensor_check_any(t, op, name);
    if (st != LC_OK)
        return st;
    if (t->dtype != LC_DTYPE_F32 || t->device != LC_DEVICE_HOST)
        return lc_fail(LC_ERR_INVALID, "%s: %s is a %s tensor on %s; this kernel takes float32 "
                       "on the host (cast it with lc_tensor_cast, or use the backend of its "
                       "device)", op, name, lc_dtype_name(t->dtype), lc_device_name(t->device));
    return LC_OK;
}

size_t lc_tensor_nbytes(const lc_tensor *t)
{
    return t ? t->numel * lc_dtype_size(t->dtype) : 0;
}

/* ------------------------------------------------------------------------ */
/* Lifetime                                                                  */

lc_status lc_tensor_alloc_dtype(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "tensor_alloc: tensor is NULL");
    memset(t, 0, sizeof *t);
    size_t esize = lc_dtype_size(dtype);
    if (esize == 0)
        return lc_fail(LC_ERR_INVALID, "tensor_alloc: unknown dtype %d", (int)dtype);
    size_t numel;
    lc_status st = tensor_shape_numel(ndim, shape, &numel, "tensor_alloc");
    if (st != LC_OK)
        return st;
    size_t bytes = numel * esize;
    size_t rounded = (bytes + LC_TENSOR_ALIGN - 1) / LC_TENSOR_ALIGN * LC_TENSOR_ALIGN;
    void *data = aligned_alloc(LC_TENSOR_ALIGN, rounded);
    if (!data)
        return lc_fail(LC_ERR_NOMEM, "tensor_alloc: out of memory for %zu %s values", numel,
                       lc_dtype_name(dtype));
    memset(data, 0, rounded);
    t->ptr = data;
    t->owns = 1;
    t->dtype = dtype;
    t->device = LC_DEVICE_HOST;
    tensor_set_shape(t, ndim, shape, numel);
    return LC_OK;
}

lc_status lc_tensor_alloc(lc_tensor *t, int ndim, const int64_t *shape)
{
    return lc_tensor_alloc_dtype(t, LC_DTYPE_F32, ndim, shape);
}

lc_status lc_tensor_alloc_1d(lc_tensor *t, int64_t n)
{
    int64_t shape[1] = {n};
    return lc_tensor_alloc(t, 1, shape);
}

lc_status lc_tensor_alloc_2d(lc_tensor *t, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    return lc_tensor_alloc(t, 2, shape);
}

lc_status lc_tensor_view_dtype(lc_tensor *t, void *ptr, lc_dtype dtype, int ndim,
                               const int64_t *shape)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "tensor_view: tensor is NULL");
    memset(t, 0, sizeof *t);
    if (!ptr)
        return lc_fail(LC_ERR_INVALID, "tensor_view: data is NULL");
    if (lc_dtype_size(dtype) == 0)
        return lc_fail(LC_ERR_INVALID, "tensor_view: unknown dtype %d", (int)dtype);
    size_t numel;
    lc_status st = tensor_shape_numel(ndim, shape, &numel, "tensor_view");
    if (st != LC_OK)
        return st;
    t->ptr = ptr;
    t->owns = 0;
    t->dtype = dtype;
    tensor_set_shape(t, ndim, shape, numel);
    return LC_OK;
}

lc_status lc_tensor_view_on(lc_tensor *t, void *ptr, lc_dtype dtype, lc_device device, int ndim,
                            const int64_t *shape)
{
    if ((unsigned)device >= LC_DEVICE_COUNT) {
        if (t)
            memset(t, 0, sizeof *t);
        return lc_fail(LC_ERR_INVALID, "tensor_view: unknown device %d", (int)device);
    }
    lc_status st = lc_tensor_view_dtype(t, ptr, dtype, ndim, shape);
    if (st == LC_OK)
        t->device = device;
    return st;
}

lc_status lc_tensor_view(lc_tensor *t, float *data, int ndim, const int64_t *shape)
{
    return lc_tensor_view_dtype(t, data, LC_DTYPE_F32, ndim, shape);
}

void lc_tensor_free(lc_tensor *t)
{
    if (!t)
        return;
    if (t->owns && t->device == LC_DEVICE_HOST)
        free(t->ptr);
    memset(t, 0, sizeof *t);
}

lc_status lc_tensor_reshape(lc_tensor *t, int ndim, const int64_t *shape)
{
    lc_status st = lc_tensor_check_any(t, "tensor_reshape", "tensor");
    if (st != LC_OK)
        return st;
    size_t numel;
    st = tensor_shape_numel(ndim, shape, &numel, "tensor_reshape");
    if (st != LC_OK)
        return st;
    if (numel != t->numel) {
        char have[64];
        return lc_fail(LC_ERR_INVALID,
                       "tensor_reshape: new shape has %zu elements, tensor %s has %zu", numel,
                       lc_tensor_shape_str(t, have, sizeof have), t->numel);
    }
    tensor_set_shape(t, ndim, shape, numel);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Fills and copies                                                          */

void lc_tensor_zero(lc_tensor *t)
{
    if (t && t->ptr && t->device == LC_DEVICE_HOST)
        memset(t->ptr, 0, lc_tensor_nbytes(t));
}

void lc_tensor_fill(lc_tensor *t, float value)
{
    if (!t || !t->data || t->dtype != LC_DTYPE_F32 || t->device != LC_DEVICE_HOST)
        return;
    float *d = t->data;
    for (size_t i = 0; i < t->numel; i++)
        d[i] = value;
}

/* Both host tensors of one shape (what copy and cast need). */
static lc_status tensor_check_pair(lc_tensor *dst, const lc_tensor *src, const char *op)
{
    lc_status st = lc_tensor_check_any(dst, op, "dst");
    if (st == LC_OK)
        st = lc_tensor_check_any(src, op, "src");
    if (st != LC_OK)
        return st;
    if (dst->device != LC_DEVICE_HOST || src->device != LC_DEVICE_HOST)
        return lc_fail(LC_ERR_INVALID, "%s: dst is on %s and src on %s; host tensors only (the "
                       "device's backend copies device memory)", op,
                       lc_device_name(dst->device), lc_device_name(src->device));
    if (!lc_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return lc_fail(LC_ERR_INVALID, "%s: dst %s and src %s differ in shape", op,
                       lc_tensor_shape_str(dst, a, sizeof a), lc_tensor_shape_str(src, b, sizeof b));
    }
    return LC_OK;
}

lc_status lc_tensor_copy(lc_tensor *dst, const lc_tensor *src)
{
    lc_status st = tensor_check_pair(dst, src, "tensor_copy");
    if (st != LC_OK)
        return st;
    if (dst->dtype != src->dtype)
        return lc_fail(LC_ERR_INVALID, "tensor_copy: dst is %s and src %s; use lc_tensor_cast",
                       lc_dtype_name(dst->dtype), lc_dtype_name(src->dtype));
    if (dst->ptr != src->ptr)
        memmove(dst->ptr, src->ptr, lc_tensor_nbytes(src));
    return LC_OK;
}

lc_status lc_tensor_cast(lc_tensor *dst, const lc_tensor *src)
{
    lc_status st = tensor_check_pair(dst, src, "tensor_cast");
    if (st != LC_OK)
        return st;
    if (dst->dtype == src->dtype) {
        if (dst->ptr != src->ptr)
            memmove(dst->ptr, src->ptr, lc_tensor_nbytes(src));
        return LC_OK;
    }
    if (dst->ptr == src->ptr)
        return lc_fail(LC_ERR_INVALID, "tensor_cast: dst and src share memory");
    size_t n = src->numel;
    switch (src->dtype * LC_DTYPE_COUNT + dst->dtype) {
    case LC_DTYPE_F32 * LC_DTYPE_COUNT + LC_DTYPE_F16:
        lc_f32_to_f16_array(dst->ptr, src->ptr, n);
        break;
    case LC_DTYPE_F32 * LC_DTYPE_COUNT + LC_DTYPE_BF16:
        lc_f32_to_bf16_array(dst->ptr, src->ptr, n);
        break;
    case LC_DTYPE_F16 * LC_DTYPE_COUNT + LC_DTYPE_F32:
        lc_f16_to_f32_array(dst->ptr, src->ptr, n);
        break;
    case LC_DTYPE_BF16 * LC_DTYPE_COUNT + LC_DTYPE_F32:
        lc_bf16_to_f32_array(dst->ptr, src->ptr, n);
        break;
    default: {
        /* float16 <-> bfloat16: through float32 (exact), in chunks */
        float tmp[256];
        const uint16_t *s = src->ptr;
        uint16_t *d = dst->ptr;
        for (size_t i = 0; i < n; i += 256) {
            size_t k = n - i < 256 ? n - i : 256;
            if (src->dtype == LC_DTYPE_F16)
                lc_f16_to_f32_array(tmp, s + i, k);
            else
                lc_bf16_to_f32_array(tmp, s + i, k);
            if (dst->dtype == LC_DTYPE_F16)
                lc_f32_to_f16_array(d + i, tmp, k);
            else
                lc_f32_to_bf16_array(d + i, tmp, k);
        }
        break;
    }
    }
    return LC_OK;
}

void lc_tensor_rand_uniform(lc_tensor *t, lc_rng *rng, float lo, float hi)
{
    if (t && t->data && rng && t->dtype == LC_DTYPE_F32 && t->device == LC_DEVICE_HOST)
        lc_rng_uniform_fill(rng, t->data, t->numel, lo, hi);
}

void lc_tensor_rand_normal(lc_tensor *t, lc_rng *rng, float mean, float std)
{
    if (t && t->data && rng && t->dtype == LC_DTYPE_F32 && t->device == LC_DEVICE_HOST)
        lc_rng_normal_fill(rng, t->data, t->numel, mean, std);
}
