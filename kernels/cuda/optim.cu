/*
 * kernels/cuda/optim.cu — fused optimizer steps (SGD with momentum /
 * Nesterov / weight decay, Adam, AdamW) and the loss scaler's fused
 * unscale + inf/NaN check.
 *
 * One kernel per parameter buffer reads param, grad and the state once and
 * writes them once. The update rules and their operation order are
 * kernels/optim_kernels.c's (PyTorch's single-tensor formulas): scalars
 * (bias corrections, step size) in double on the host and passed as float,
 * elementwise math in float with each operation rounded on its own
 * (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn; no FMA), so the GPU step
 * gives the CPU step's bits.
 */
#include <math.h>

#include "cuda_common.cuh"

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

__global__ static void sgd_plain_kernel(float *param, const float *grad, size_t n, float lr,
                                        float wd)
{
    LC_GRID_LOOP(i, n)
    {
        float p = param[i];
        float g = __fadd_rn(grad[i], __fmul_rn(wd, p));
        param[i] = __fadd_rn(p, __fmul_rn(-lr, g));
    }
}

__global__ static void sgd_momentum_kernel(float *param, const float *grad, float *buf, size_t n,
                                           float lr, float wd, float mom, float keep, int first,
                                           int nesterov)
{
    LC_GRID_LOOP(i, n)
    {
        float p = param[i];
        float g = __fadd_rn(grad[i], __fmul_rn(wd, p));
        float b = first ? g : __fadd_rn(__fmul_rn(buf[i], mom), __fmul_rn(keep, g));
        buf[i] = b;
        g = nesterov ? __fadd_rn(g, __fmul_rn(mom, b)) : b;
        param[i] = __fadd_rn(p, __fmul_rn(-lr, g));
    }
}

struct adam_scalars {
    float neg_step_size, bc2_sqrt, w1, b2, w2, eps, l2, decay;
    int decoupled_decay; /* AdamW with weight_decay != 0 */
};

__global__ static void adam_kernel(float *param, const float *grad, float *m, float *v, size_t n,
                                   adam_scalars s)
{
    LC_GRID_LOOP(i, n)
    {
        float p = param[i];
        if (s.decoupled_decay)
            p = __fmul_rn(p, s.decay);
        float g = __fadd_rn(grad[i], __fmul_rn(s.l2, p));
        float mi0 = m[i];
        float mi = __fadd_rn(mi0, __fmul_rn(s.w1, __fsub_rn(g, mi0))); /* lerp */
        float vi = __fadd_rn(__fmul_rn(v[i], s.b2), __fmul_rn(__fmul_rn(s.w2, g), g));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), s.bc2_sqrt), s.eps);
        m[i] = mi;
        v[i] = vi;
        param[i] = __fadd_rn(p, __fmul_rn(s.neg_step_size, __fdiv_rn(mi, denom)));
    }
}

/* g = src * inv_scale; flag non-finite INPUTS (PyTorch checks the value
 * before scaling, so an overflow of the product is not reported). */
__global__ static void unscale_kernel(float *dst, const float *src, const uint16_t *src16,
                                      size_t n, float inv_scale, int32_t *found_inf)
{
    int bad = 0;
    LC_GRID_LOOP(i, n)
    {
        float v = src16 ? lc_f16_value(src16[i]) : src[i];
        bad |= !isfinite(v);
        dst[i] = inv_scale == 1.0f ? v : __fmul_rn(v, inv_scale);
    }
    if (bad)
        *found_inf = 1; /* every writer writes the same value: no atomics needed */
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

static lc_status optim_check(lc_cuda_ctx *ctx, const char *op, const float *param,
                             const float *grad, size_t n, int64_t step)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK)
        return st;
    if (n > 0 && (!param || !grad))
        return lc_fail(LC_ERR_INVALID, "%s: param and grad buffers are required", op);
    if (step < 1)
        return lc_fail(LC_ERR_INVALID, "%s: step is %lld; steps count from 1", op,
                       (long long)step);
    return LC_OK;
}

static lc_status adam_launch(lc_cuda_ctx *ctx, const char *op, int decoupled, float *param,
                             const float *grad, float *m, float *v, size_t n,
                             const lc_adam_hparams *hp, int64_t step)
{
    lc_status st = lc_adam_check(hp);
    if (st == LC_OK)
        st = optim_check(ctx, op, param, grad, n, step);
    if (st != LC_OK || n == 0)
        return st;
    if (!m || !v)
        return lc_fail(LC_ERR_INVALID, "%s: the m and v state buffers are required", op);
    /* kernels/optim_kernels.c's scalars, computed the same way */
    double t = (double)step;
    double bc1 = 1.0 - pow(hp->beta1, t);
    double bc2 = 1.0 - pow(hp->beta2, t);
    adam_scalars s;
    s.neg_step_size = (float)(-(hp->lr / bc1));
    s.bc2_sqrt = (float)sqrt(bc2);
    s.w1 = (float)(1.0 - hp->beta1);
    s.b2 = (float)hp->beta2;
    s.w2 = (float)(1.0 - hp->beta2);
    s.eps = (float)hp->eps;
    s.l2 = decoupled ? 0.0f : (float)hp->weight_decay;
    s.decay = (float)(1.0 - hp->lr * hp->weight_decay);
    s.decoupled_decay = decoupled && hp->weight_decay != 0.0;
    LC_LAUNCH_N(ctx, op, n, adam_kernel, param, grad, m, v, n, s);
}

extern "C" {

lc_status lc_cuda_sgd_step(lc_cuda_ctx *ctx, float *param, const float *grad, float *momentum_buf,
                           size_t n, const lc_sgd_hparams *hp, int64_t step)
{
    const char *op = "lc_cuda_sgd_step";
    lc_status st = lc_sgd_check(hp);
    if (st == LC_OK)
        st = optim_check(ctx, op, param, grad, n, step);
    if (st != LC_OK || n == 0)
        return st;
    const float lr = (float)hp->lr, wd = (float)hp->weight_decay, mom = (float)hp->momentum;
    const float keep = (float)(1.0 - hp->dampening);
    if (hp->momentum == 0.0)
        LC_LAUNCH_N(ctx, op, n, sgd_plain_kernel, param, grad, n, lr, wd);
    if (!momentum_buf)
        return lc_fail(LC_ERR_INVALID, "%s: momentum %g needs a momentum buffer", op,
                       hp->momentum);
    LC_LAUNCH_N(ctx, op, n, sgd_momentum_kernel, param, grad, momentum_buf, n, lr, wd, mom, keep,
                step == 1, hp->nesterov != 0);
}

lc_status lc_cuda_adam_step(lc_cuda_ctx *ctx, float *param, const float *grad, float *m, float *v,
                            size_t n, const lc_adam_hparams *hp, int64_t step)
{
    return adam_launch(ctx, "lc_cuda_adam_step", 0, param, grad, m, v, n, hp, step);
}

lc_status lc_cuda_adamw_step(lc_cuda_ctx *ctx, float *param, const float *grad, float *m,
                             float *v, size_t n, const lc_adam_hparams *hp, int64_t step)
{
    return adam_launch(ctx, "lc_cuda_adamw_step", 1, param, grad, m, v, n, hp, step);
}

lc_status lc_cuda_unscale_check(lc_cuda_ctx *ctx, float *g, size_t n, float inv_scale,
                                int32_t *found_inf_dev)
{
    const char *op = "lc_cuda_unscale_check";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(g, op);
    LC_CUDA_NEED(found_inf_dev, op);
    LC_LAUNCH_N(ctx, op, n, unscale_kernel, g, g, (const uint16_t *)NULL, n, inv_scale,
                found_inf_dev);
}

lc_status lc_cuda_unscale_check_f16(lc_cuda_ctx *ctx, float *dst, const uint16_t *src, size_t n,
                                    float inv_scale, int32_t *found_inf_dev)
{
    const char *op = "lc_cuda_unscale_check_f16";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(src, op);
    LC_CUDA_NEED(found_inf_dev, op);
    LC_LAUNCH_N(ctx, op, n, unscale_kernel, dst, (const float *)NULL, src, n, inv_scale,
                found_inf_dev);
}

} /* extern "C" */
