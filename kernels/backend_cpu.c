/*
 * kernels/backend_cpu.c — the CPU backend table (see backend.h): float32
 * compute goes straight to the existing kernels (activations.c, linear.c,
 * ...), 16-bit compute to their emulation (lowp.h). The workspace is the
 * emulation's scratch.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/status.h"
#include "half.h"
#include "kernels.h"
#include "loss_scaler.h"
#include "lowp.h"

struct lc_workspace {
    lc_lowp_scratch scratch;
};

/* ---- memory ----------------------------------------------------------------- */

static lc_status cpu_alloc(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape)
{
    return lc_tensor_alloc_dtype(t, dtype, ndim, shape);
}

static lc_workspace *cpu_workspace_create(void)
{
    return calloc(1, sizeof(lc_workspace));
}

static void cpu_workspace_free(lc_workspace *ws)
{
    if (!ws)
        return;
    lc_lowp_scratch_free(&ws->scratch);
    free(ws);
}

static lc_lowp_scratch *scratch_of(lc_workspace *ws)
{
    return ws ? &ws->scratch : NULL;
}

/* ---- layers --------------------------------------------------------------------- */

static lc_status cpu_linear_forward(lc_dtype c, lc_tensor *y, const lc_tensor *x,
                                    const lc_tensor *w, const lc_tensor *b, lc_workspace *ws)
{
    if (c == LC_DTYPE_F32)
        return lc_linear_forward(y, x, w, b);
    return lc_lowp_linear_forward(c, y, x, w, b, scratch_of(ws));
}

static lc_status cpu_linear_backward(lc_dtype c, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                     const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                     lc_workspace *ws)
{
    if (c == LC_DTYPE_F32)
        return lc_linear_backward(dx, dw, db, dy, x, w);
    return lc_lowp_linear_backward(c, dx, dw, db, dy, x, w, scratch_of(ws));
}

static lc_status cpu_act_forward(lc_dtype c, lc_act_fn fn, lc_tensor *y, const lc_tensor *x)
{
    if (c == LC_DTYPE_F32)
        return fn == LC_ACT_FN_GELU ? lc_gelu_forward(y, x) : lc_relu_forward(y, x);
    return lc_lowp_act_forward(c, fn == LC_ACT_FN_GELU, y, x);
}

static lc_status cpu_act_backward(lc_dtype c, lc_act_fn fn, lc_tensor *dx, const lc_tensor *dy,
                                  const lc_tensor *x)
{
    if (c == LC_DTYPE_F32)
        return fn == LC_ACT_FN_GELU ? lc_gelu_backward(dx, dy, x) : lc_relu_backward(dx, dy, x);
    return lc_lowp_act_backward(c, fn == LC_ACT_FN_GELU, dx, dy, x);
}

static lc_status cpu_dropout_forward(lc_dtype c, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                     float p, int training, lc_rng *rng)
{
    if (c == LC_DTYPE_F32)
        return lc_dropout_forward(y, mask, x, p, training, rng);
    return lc_lowp_dropout_forward(c, y, mask, x, p, training, rng);
}

static lc_status cpu_dropout_backward(lc_dtype c, lc_tensor *dx, const lc_tensor *dy,
                                      const uint8_t *mask, float p, int training)
{
    if (c == LC_DTYPE_F32)
        return lc_dropout_backward(dx, dy, mask, p, training);
    return lc_lowp_dropout_backward(c, dx, dy, mask, p, training);
}

/* ---- flat buffers -------------------------------------------------------------- */

static void cpu_zero(float *x, size_t n)
{
    if (x && n)
        memset(x, 0, n * sizeof *x);
}

static void cpu_round(lc_dtype fmt, float *x, size_t n)
{
    if (x && fmt != LC_DTYPE_F32)
        lc_round_array(fmt, x, x, n);
}

static const lc_backend cpu_backend = {
    .name = "cpu",
    .device = LC_DEVICE_HOST,
    .alloc = cpu_alloc,
    .free = lc_tensor_free,
    .copy = lc_tensor_copy,
    .cast = lc_tensor_cast,
    .workspace_create = cpu_workspace_create,
    .workspace_free = cpu_workspace_free,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .act_forward = cpu_act_forward,
    .act_backward = cpu_act_backward,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .softmax_xent_forward = lc_softmax_xent_forward,
    .softmax_xent_backward = lc_softmax_xent_backward,
    .zero = cpu_zero,
    .round = cpu_round,
    .l2norm_multi = lc_reduce_l2norm_multi,
    .clip_grad_norm = lc_clip_grad_norm,
    .clip_grad_value = lc_clip_grad_value,
    .unscale_inf_check = lc_unscale_inf_check,
    .sgd_step = lc_sgd_step,
    .adam_step = lc_adam_step,
    .adamw_step = lc_adamw_step,
};

const lc_backend *lc_backend_cpu(void)
{
    return &cpu_backend;
}
