/*
 * kernels/optim_kernels.c — SGD, Adam, AdamW updates and gradient clipping
 * (see optim_kernels.h for the formulas).
 *
 * The update loops mirror PyTorch's operation order (add with alpha, lerp,
 * mul + addcmul, sqrt / scalar + eps, addcdiv) with the scalars cast to
 * float as PyTorch does for float32 tensors, so results agree with PyTorch
 * to float rounding.
 */
#include "optim_kernels.h"

#include <math.h>

#include "common/status.h"
#include "par.h"
#include "reduce.h"
#include "simd.h"

/* ------------------------------------------------------------------------ */
/* Hyperparameter checks                                                     */

/* x >= 0 and not NaN (NaN fails every comparison). */
static int optim_nonneg(double x)
{
    return x >= 0.0 && isfinite(x);
}

lc_status lc_sgd_check(const lc_sgd_hparams *hp)
{
    if (!hp)
        return lc_fail(LC_ERR_INVALID, "sgd: hyperparameters are NULL");
    if (!optim_nonneg(hp->lr))
        return lc_fail(LC_ERR_INVALID, "sgd: invalid learning rate %g (must be >= 0)", hp->lr);
    if (!optim_nonneg(hp->momentum))
        return lc_fail(LC_ERR_INVALID, "sgd: invalid momentum %g (must be >= 0)", hp->momentum);
    if (!isfinite(hp->dampening))
        return lc_fail(LC_ERR_INVALID, "sgd: invalid dampening %g", hp->dampening);
    if (!optim_nonneg(hp->weight_decay))
        return lc_fail(LC_ERR_INVALID, "sgd: invalid weight_decay %g (must be >= 0)",
                       hp->weight_decay);
    if (hp->nesterov && (hp->momentum <= 0.0 || hp->dampening != 0.0))
        return lc_fail(LC_ERR_INVALID,
                       "sgd: Nesterov momentum requires a momentum > 0 and zero dampening "
                       "(got momentum %g, dampening %g)",
                       hp->momentum, hp->dampening);
    return LC_OK;
}

lc_status lc_adam_check(const lc_adam_hparams *hp)
{
    if (!hp)
        return lc_fail(LC_ERR_INVALID, "adam: hyperparameters are NULL");
    if (!optim_nonneg(hp->lr))
        return lc_fail(LC_ERR_INVALID, "adam: invalid learning rate %g (must be >= 0)", hp->lr);
    if (!optim_nonneg(hp->eps))
        return lc_fail(LC_ERR_INVALID, "adam: invalid eps %g (must be >= 0)", hp->eps);
    if (!(hp->beta1 >= 0.0 && hp->beta1 < 1.0))
        return lc_fail(LC_ERR_INVALID, "adam: invalid beta1 %g (must be in [0, 1))", hp->beta1);
    if (!(hp->beta2 >= 0.0 && hp->beta2 < 1.0))
        return lc_fail(LC_ERR_INVALID, "adam: invalid beta2 %g (must be in [0, 1))", hp->beta2);
    if (!optim_nonneg(hp->weight_decay))
        return lc_fail(LC_ERR_INVALID, "adam: invalid weight_decay %g (must be >= 0)",
                       hp->weight_decay);
    return LC_OK;
}

static lc_status optim_check_buffers(const char *op, const float *param, const float *grad,
                                     size_t n, int64_t step)
{
    if (n > 0 && (!param || !grad))
        return lc_fail(LC_ERR_INVALID, "%s: param and grad buffers are required", op);
    if (step < 1)
        return lc_fail(LC_ERR_INVALID, "%s: step is %lld; steps count from 1", op,
                       (long long)step);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* SGD                                                                       */

lc_status lc_sgd_step(float *param, const float *grad, float *momentum_buf, size_t n,
                      const lc_sgd_hparams *hp, int64_t step)
{
    lc_status st = lc_sgd_check(hp);
    if (st == LC_OK)
        st = optim_check_buffers("sgd", param, grad, n, step);
    if (st != LC_OK)
        return st;
    const float lr = (float)hp->lr, wd = (float)hp->weight_decay, mom = (float)hp->momentum;
    const float keep = (float)(1.0 - hp->dampening);

    if (hp->momentum == 0.0) {
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + wd * param[i];
            param[i] = param[i] + -lr * g;
        }
        return LC_OK;
    }
    if (n > 0 && !momentum_buf)
        return lc_fail(LC_ERR_INVALID, "sgd: momentum %g needs a momentum buffer", hp->momentum);
    const int first = step == 1; /* PyTorch: buffer is None -> clone(g) */
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * param[i];
        float b = first ? g : momentum_buf[i] * mom + keep * g;
        momentum_buf[i] = b;
        if (hp->nesterov)
            g = g + mom * b;
        else
            g = b;
        param[i] = param[i] + -lr * g;
    }
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Adam / AdamW                                                              */

/* 1/c in double, so that x / c for float x and c is computed, bit for bit,
 * as (float)((double)x * (1/c)): a multiply instead of a divide. The loop
 * is bound by the divider unit (a square root and two divides per element,
 * ~2 cycles an element on AVX-512); this takes one divide out.
 * Why the bits are the same: the double product is within 2^-52 (relative)
 * of x/c (one rounding in 1/c, one in the product). A quotient of two
 * 24-bit floats cannot lie closer than 2^-49 (relative) to a midpoint
 * between two floats, since x - m c is a non-zero multiple of a unit that
 * small for any midpoint m; so the double rounds to the float nearest to
 * x/c, subnormal and overflowing results included. test_kernels_optim
 * compares the update's bits with plain division; a one-off check of 300
 * divisors against all 2^23 significands of x found no difference. */
static double adam_inverse(float c)
{
    return 1.0 / (double)c;
}

/* The element loop, apart so that it gets its AVX2/AVX-512 clones
 * (simd.h); one pass over param, grad, m and v. */
LC_SIMD_CLONES
static void adam_loop(float *restrict param, const float *restrict grad, float *restrict m,
                      float *restrict v, size_t n, int decay_on, float decay, float l2, float w1,
                      float b2, float w2, double inv_bc2_sqrt, float eps, float neg_step_size)
{
    for (size_t i = 0; i < n; i++) {
        float p = param[i];
        if (decay_on)
            p = p * decay;
        float g = grad[i] + l2 * p;
        float mi = m[i] + w1 * (g - m[i]);  /* lerp(m, g, 1 - beta1) */
        float vi = v[i] * b2 + w2 * g * g;
        /* sqrtf(vi) / bc2_sqrt, bit for bit (adam_inverse says why) */
        float denom = (float)((double)sqrtf(vi) * inv_bc2_sqrt) + eps;
        m[i] = mi;
        v[i] = vi;
        param[i] = p + neg_step_size * (mi / denom);
    }
}

typedef struct adam_job {
    float *param;
    const float *grad;
    float *m, *v;
    int decay_on;
    float decay, l2, w1, b2, w2, eps, neg_step_size;
    double inv_bc2_sqrt;
} adam_job;

static void adam_chunk(void *arg, size_t a, size_t len)
{
    const adam_job *j = arg;
    adam_loop(j->param + a, j->grad + a, j->m + a, j->v + a, len, j->decay_on, j->decay, j->l2,
              j->w1, j->b2, j->w2, j->inv_bc2_sqrt, j->eps, j->neg_step_size);
}

static lc_status adam_update(const char *op, int decoupled, float *param, const float *grad,
                             float *m, float *v, size_t n, const lc_adam_hparams *hp,
                             int64_t step)
{
    lc_status st = lc_adam_check(hp);
    if (st == LC_OK)
        st = optim_check_buffers(op, param, grad, n, step);
    if (st != LC_OK)
        return st;
    if (n > 0 && (!m || !v))
        return lc_fail(LC_ERR_INVALID, "%s: the m and v state buffers are required", op);

    /* Bias corrections in double, as PyTorch computes them in Python. */
    double t = (double)step;
    double bc1 = 1.0 - pow(hp->beta1, t);
    double bc2 = 1.0 - pow(hp->beta2, t);
    const float neg_step_size = (float)(-(hp->lr / bc1));
    const float bc2_sqrt = (float)sqrt(bc2);
    const float w1 = (float)(1.0 - hp->beta1), b2 = (float)hp->beta2, w2 = (float)(1.0 - hp->beta2);
    const float eps = (float)hp->eps;
    const float l2 = decoupled ? 0.0f : (float)hp->weight_decay;
    const float decay = (float)(1.0 - hp->lr * hp->weight_decay);

    adam_job j = {param, grad, m, v, decoupled && hp->weight_decay != 0.0, decay, l2, w1, b2, w2,
                  eps, neg_step_size, adam_inverse(bc2_sqrt)};
    lc_par_chunks(n, adam_chunk, &j);
    return LC_OK;
}

lc_status lc_adam_step(float *param, const float *grad, float *m, float *v, size_t n,
                       const lc_adam_hparams *hp, int64_t step)
{
    return adam_update("adam", 0, param, grad, m, v, n, hp, step);
}

lc_status lc_adamw_step(float *param, const float *grad, float *m, float *v, size_t n,
                        const lc_adam_hparams *hp, int64_t step)
{
    return adam_update("adamw", 1, param, grad, m, v, n, hp, step);
}

/* ------------------------------------------------------------------------ */
/* Gradient clipping                                                         */

static lc_status clip_check_list(const char *op, float *const *grads, const size_t *lens,
                                 size_t count)
{
    if (count > 0 && (!grads || !lens))
        return lc_fail(LC_ERR_INVALID, "%s: grads and lens are required", op);
    for (size_t k = 0; k < count; k++)
        if (lens[k] > 0 && !grads[k])
            return lc_fail(LC_ERR_INVALID, "%s: gradient buffer %zu is NULL", op, k);
    return LC_OK;
}

lc_status lc_clip_grad_norm(float *const *grads, const size_t *lens, size_t count,
                            double max_norm, double *total_norm)
{
    lc_status st = clip_check_list("clip_grad_norm", grads, lens, count);
    if (st != LC_OK)
        return st;
    if (!(max_norm >= 0.0))
        return lc_fail(LC_ERR_INVALID, "clip_grad_norm: max_norm %g must be >= 0", max_norm);
    double total = lc_reduce_l2norm_multi((const float *const *)grads, lens, count);
    if (total_norm)
        *total_norm = total;
    double coef = max_norm / (total + 1e-6);
    /* PyTorch clamps coef to <= 1 and always multiplies; multiplying by 1 is
     * the identity, so skip it. A NaN coef fails the test and spreads into
     * the gradients, exactly as in PyTorch. */
    if (coef >= 1.0)
        return LC_OK;
    const float c = (float)coef;
    for (size_t k = 0; k < count; k++) {
        float *g = grads[k];
        for (size_t i = 0; i < lens[k]; i++)
            g[i] *= c;
    }
    return LC_OK;
}

lc_status lc_clip_grad_value(float *const *grads, const size_t *lens, size_t count,
                             double clip_value)
{
    lc_status st = clip_check_list("clip_grad_value", grads, lens, count);
    if (st != LC_OK)
        return st;
    if (!(clip_value >= 0.0))
        return lc_fail(LC_ERR_INVALID, "clip_grad_value: clip_value %g must be >= 0", clip_value);
    const float hi = (float)clip_value, lo = -(float)clip_value;
    for (size_t k = 0; k < count; k++) {
        float *g = grads[k];
        for (size_t i = 0; i < lens[k]; i++) {
            float x = g[i];
            g[i] = x > hi ? hi : (x < lo ? lo : x);
        }
    }
    return LC_OK;
}
