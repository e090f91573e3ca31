/*
 * kernels/lowp.c — float16 / bfloat16 compute emulated on the CPU (see
 * lowp.h): round the operands into scratch, run the float32 kernel, round
 * the result.
 */
#include "lowp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "common/status.h"
#include "dropout.h"
#include "half.h"
#include "linear.h"

/* ------------------------------------------------------------------------ */
/* Scratch                                                                   */

void lc_lowp_scratch_free(lc_lowp_scratch *s)
{
    if (!s)
        return;
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

static lc_status scratch_get(lc_lowp_scratch *s, size_t floats, const char *op, float **out)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "%s: 16-bit compute needs a workspace", op);
    if (floats > s->cap) {
        size_t cap = floats + floats / 4;
        if (cap > SIZE_MAX / sizeof(float) / 2)
            return lc_fail(LC_ERR_NOMEM, "%s: workspace of %zu floats is too large", op, floats);
        float *b = aligned_alloc(64, (cap * sizeof(float) + 63) / 64 * 64);
        if (!b)
            return lc_fail(LC_ERR_NOMEM, "%s: out of memory for a %zu-float workspace", op,
                           floats);
        free(s->buf);
        s->buf = b;
        s->cap = cap;
    }
    *out = s->buf;
    return LC_OK;
}

/* A view of buf with t's shape (float32, host). */
static lc_tensor like(float *buf, const lc_tensor *t)
{
    lc_tensor v;
    lc_tensor_view(&v, buf, t->ndim, t->shape);
    return v;
}

static void round_tensor(lc_dtype fmt, lc_tensor *t)
{
    lc_round_array(fmt, t->data, t->data, t->numel);
}

/* acc += tmp rounded to fmt (tmp is rounded in place). */
static void add_rounded(lc_dtype fmt, float *restrict acc, float *restrict tmp, size_t n)
{
    lc_round_array(fmt, tmp, tmp, n);
    for (size_t i = 0; i < n; i++)
        acc[i] += tmp[i];
}

/* The float32 kernels check every shape; these checks only size the
 * scratch. */
static lc_status lowp_check(const char *op, const lc_tensor *x, const lc_tensor *w)
{
    lc_status st = lc_tensor_check(x, op, "x");
    if (st == LC_OK)
        st = lc_tensor_check(w, op, "w");
    if (st == LC_OK && w->ndim != 2)
        st = lc_fail(LC_ERR_INVALID, "%s: w must be [out, in]", op);
    if (st == LC_OK && lc_tensor_cols(x) != w->shape[1])
        st = lc_fail(LC_ERR_INVALID, "%s: x has %lld input features but w expects %lld", op,
                     (long long)lc_tensor_cols(x), (long long)w->shape[1]);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Linear                                                                    */

lc_status lc_lowp_linear_forward(lc_dtype fmt, lc_tensor *y, const lc_tensor *x,
                                 const lc_tensor *w, const lc_tensor *b, lc_lowp_scratch *s)
{
    if (fmt == LC_DTYPE_F32)
        return lc_linear_forward(y, x, w, b);
    const char *op = "linear_forward";
    lc_status st = lowp_check(op, x, w);
    if (st == LC_OK && b)
        st = lc_tensor_check(b, op, "b");
    if (st != LC_OK)
        return st;
    size_t nx = x->numel, nw = w->numel, nb = b ? b->numel : 0;
    float *buf;
    st = scratch_get(s, nx + nw + nb, op, &buf);
    if (st != LC_OK)
        return st;
    lc_tensor xr = like(buf, x), wr = like(buf + nx, w), br;
    lc_round_array(fmt, xr.data, x->data, nx);
    lc_round_array(fmt, wr.data, w->data, nw);
    if (b) {
        br = like(buf + nx + nw, b);
        lc_round_array(fmt, br.data, b->data, nb);
    }
    st = lc_linear_forward(y, &xr, &wr, b ? &br : NULL);
    if (st == LC_OK)
        round_tensor(fmt, y);
    return st;
}

lc_status lc_lowp_linear_backward(lc_dtype fmt, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                  const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                  lc_lowp_scratch *s)
{
    if (fmt == LC_DTYPE_F32)
        return lc_linear_backward(dx, dw, db, dy, x, w);
    const char *op = "linear_backward";
    lc_status st = lowp_check(op, x, w);
    if (st == LC_OK)
        st = lc_tensor_check(dy, op, "dy");
    if (st != LC_OK)
        return st;
    /* scratch: dy | W or dW_fmt | x | db_fmt */
    size_t ndy = dy->numel, nw = w->numel, nx = x->numel, nb = (size_t)w->shape[0];
    float *buf;
    st = scratch_get(s, ndy + nw + nx + nb, op, &buf);
    if (st != LC_OK)
        return st;
    lc_tensor dyr = like(buf, dy), wr = like(buf + ndy, w), xr = like(buf + ndy + nw, x);
    lc_round_array(fmt, dyr.data, dy->data, ndy);
    if (dx) {
        lc_round_array(fmt, wr.data, w->data, nw);
        st = lc_linear_backward(dx, NULL, NULL, &dyr, x, &wr);
        if (st != LC_OK)
            return st;
        round_tensor(fmt, dx);
    }
    if (dw) {
        /* dW in fmt, computed into W's scratch slot (W is done) */
        lc_tensor dwt = like(buf + ndy, w);
        memset(dwt.data, 0, nw * sizeof(float));
        lc_round_array(fmt, xr.data, x->data, nx);
        st = lc_tensor_check(dw, op, "dw");
        if (st == LC_OK && dw->numel != nw)
            st = lc_fail(LC_ERR_INVALID, "%s: dw must have the shape of w", op);
        if (st == LC_OK)
            st = lc_linear_backward(NULL, &dwt, NULL, &dyr, &xr, w);
        if (st != LC_OK)
            return st;
        add_rounded(fmt, dw->data, dwt.data, nw);
    }
    if (db) {
        float *dbt = buf + ndy + nw + nx;
        lc_tensor tdb;
        int64_t shape[1] = {(int64_t)nb};
        lc_tensor_view(&tdb, dbt, 1, shape);
        memset(dbt, 0, nb * sizeof(float));
        st = lc_tensor_check(db, op, "db");
        if (st == LC_OK && db->numel != nb)
            st = lc_fail(LC_ERR_INVALID, "%s: db must be [%zu]", op, nb);
        if (st == LC_OK)
            st = lc_bias_add_backward(&tdb, &dyr);
        if (st != LC_OK)
            return st;
        add_rounded(fmt, db->data, dbt, nb);
    }
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Elementwise                                                               */

lc_status lc_lowp_act_forward(lc_dtype fmt, int gelu, lc_tensor *y, const lc_tensor *x)
{
    lc_status st = gelu ? lc_gelu_forward(y, x) : lc_relu_forward(y, x);
    if (st == LC_OK && fmt != LC_DTYPE_F32)
        round_tensor(fmt, y);
    return st;
}

lc_status lc_lowp_act_backward(lc_dtype fmt, int gelu, lc_tensor *dx, const lc_tensor *dy,
                               const lc_tensor *x)
{
    lc_status st = gelu ? lc_gelu_backward(dx, dy, x) : lc_relu_backward(dx, dy, x);
    if (st == LC_OK && fmt != LC_DTYPE_F32)
        round_tensor(fmt, dx);
    return st;
}

lc_status lc_lowp_dropout_forward(lc_dtype fmt, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                  float p, int training, lc_rng *rng)
{
    lc_status st = lc_dropout_forward(y, mask, x, p, training, rng);
    if (st == LC_OK && fmt != LC_DTYPE_F32)
        round_tensor(fmt, y);
    return st;
}

lc_status lc_lowp_dropout_backward(lc_dtype fmt, lc_tensor *dx, const lc_tensor *dy,
                                   const uint8_t *mask, float p, int training)
{
    lc_status st = lc_dropout_backward(dx, dy, mask, p, training);
    if (st == LC_OK && fmt != LC_DTYPE_F32)
        round_tensor(fmt, dx);
    return st;
}
