/*
 * kernels/tensor.c — allocation, views, shape helpers and fills for
 * lc_tensor (see tensor.h).
 */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"

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
        if ((uint64_t)shape[i] > SIZE_MAX / sizeof(float) / n)
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

lc_status lc_tensor_check(const lc_tensor *t, const char *op, const char *name)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "%s: %s is NULL", op, name);
    if (!t->data || t->ndim < 1 || t->ndim > LC_TENSOR_MAX_DIMS || t->numel == 0)
        return lc_fail(LC_ERR_INVALID, "%s: %s is not an allocated tensor (no data or no shape)",
                       op, name);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Lifetime                                                                  */

lc_status lc_tensor_alloc(lc_tensor *t, int ndim, const int64_t *shape)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "tensor_alloc: tensor is NULL");
    memset(t, 0, sizeof *t);
    size_t numel;
    lc_status st = tensor_shape_numel(ndim, shape, &numel, "tensor_alloc");
    if (st != LC_OK)
        return st;
    size_t bytes = numel * sizeof(float);
    size_t rounded = (bytes + LC_TENSOR_ALIGN - 1) / LC_TENSOR_ALIGN * LC_TENSOR_ALIGN;
    float *data = aligned_alloc(LC_TENSOR_ALIGN, rounded);
    if (!data)
        return lc_fail(LC_ERR_NOMEM, "tensor_alloc: out of memory for %zu floats", numel);
    memset(data, 0, rounded);
    t->data = data;
    t->owns = 1;
    tensor_set_shape(t, ndim, shape, numel);
    return LC_OK;
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

lc_status lc_tensor_view(lc_tensor *t, float *data, int ndim, const int64_t *shape)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "tensor_view: tensor is NULL");
    memset(t, 0, sizeof *t);
    if (!data)
        return lc_fail(LC_ERR_INVALID, "tensor_view: data is NULL");
    size_t numel;
    lc_status st = tensor_shape_numel(ndim, shape, &numel, "tensor_view");
    if (st != LC_OK)
        return st;
    t->data = data;
    t->owns = 0;
    tensor_set_shape(t, ndim, shape, numel);
    return LC_OK;
}

void lc_tensor_free(lc_tensor *t)
{
    if (!t)
        return;
    if (t->owns)
        free(t->data);
    memset(t, 0, sizeof *t);
}

lc_status lc_tensor_reshape(lc_tensor *t, int ndim, const int64_t *shape)
{
    lc_status st = lc_tensor_check(t, "tensor_reshape", "tensor");
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
    if (t && t->data)
        memset(t->data, 0, t->numel * sizeof(float));
}

void lc_tensor_fill(lc_tensor *t, float value)
{
    if (!t || !t->data)
        return;
    float *d = t->data;
    for (size_t i = 0; i < t->numel; i++)
        d[i] = value;
}

lc_status lc_tensor_copy(lc_tensor *dst, const lc_tensor *src)
{
    lc_status st = lc_tensor_check(dst, "tensor_copy", "dst");
    if (st == LC_OK)
        st = lc_tensor_check(src, "tensor_copy", "src");
    if (st != LC_OK)
        return st;
    if (!lc_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return lc_fail(LC_ERR_INVALID, "tensor_copy: dst %s and src %s differ in shape",
                       lc_tensor_shape_str(dst, a, sizeof a), lc_tensor_shape_str(src, b, sizeof b));
    }
    if (dst->data != src->data)
        memmove(dst->data, src->data, src->numel * sizeof(float));
    return LC_OK;
}

void lc_tensor_rand_uniform(lc_tensor *t, lc_rng *rng, float lo, float hi)
{
    if (t && t->data && rng)
        lc_rng_uniform_fill(rng, t->data, t->numel, lo, hi);
}

void lc_tensor_rand_normal(lc_tensor *t, lc_rng *rng, float mean, float std)
{
    if (t && t->data && rng)
        lc_rng_normal_fill(rng, t->data, t->numel, mean, std);
}
