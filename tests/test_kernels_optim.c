/*
 * tests/test_kernels_optim.c — optimizer update rules (SGD with momentum,
 * dampening, Nesterov and weight decay; Adam; AdamW) against values
 * computed by hand from PyTorch's formulas for three steps, gradient
 * clipping by norm and by value, and rejected hyperparameters.
 *
 * Every case updates one parameter through three steps with gradients
 * g1, g2, g3; the expected numbers were worked out in double precision from
 * the formulas in the comments (the kernels run in float32, hence the
 * tolerances of a few float ulps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim_kernels.h"

#define TOL 5e-7

static const float G3[3] = {0.5f, -0.3f, 0.2f};

/* Run three SGD steps on p0 = 1 with gradients G3; p[k] after step k+1. */
static void run_sgd(const lc_sgd_hparams *hp, double p[3])
{
    float param = 1.0f, buf = 12345.0f; /* the first step must ignore buf */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(lc_sgd_step(&param, &G3[k], &buf, 1, hp, k + 1), LC_OK);
        p[k] = param;
    }
}

static void expect3(const double got[3], double a, double b, double c)
{
    const double want[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        if (fabs(got[k] - want[k]) > TOL)
            fail_msg("step %d: got %.9f, want %.9f", k + 1, got[k], want[k]);
    }
}

/* ------------------------------------------------------------------------ */
/* SGD                                                                       */

static void test_sgd_plain(void **state)
{
    (void)state;
    /* p -= lr g, lr 0.1: 1 - 0.05 = 0.95; 0.95 + 0.03 = 0.98; 0.98 - 0.02 = 0.96 */
    lc_sgd_hparams hp = {.lr = 0.1};
    double p[3];
    float param = 1.0f;
    for (int k = 0; k < 3; k++) {
        /* no momentum: no buffer needed */
        assert_int_equal(lc_sgd_step(&param, &G3[k], NULL, 1, &hp, k + 1), LC_OK);
        p[k] = param;
    }
    expect3(p, 0.95, 0.98, 0.96);
}

static void test_sgd_momentum_weight_decay(void **state)
{
    (void)state;
    /* lr 0.1, momentum 0.9, weight_decay 0.01, dampening 0:
     * 1: g = 0.5 + 0.01*1 = 0.51;  buf = 0.51;                       p = 1 - 0.051 = 0.949
     * 2: g = -0.3 + 0.00949 = -0.29051; buf = 0.9*0.51 - 0.29051 = 0.16849;
     *                                                                p = 0.949 - 0.016849 = 0.932151
     * 3: g = 0.2 + 0.00932151 = 0.20932151; buf = 0.9*0.16849 + g = 0.36096251;
     *                                                                p = 0.896054749 */
    lc_sgd_hparams hp = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01};
    double p[3];
    run_sgd(&hp, p);
    expect3(p, 0.949, 0.932151, 0.896054749);
}

static void test_sgd_nesterov(void **state)
{
    (void)state;
    /* As above with nesterov: the step uses g + momentum*buf.
     * 1: g = 0.51, buf = 0.51, step 0.51 + 0.459 = 0.969;           p = 0.9031
     * 2: g = -0.3 + 0.009031 = -0.290969; buf = 0.459 + g = 0.168031;
     *    step = g + 0.9*0.168031 = -0.1397411;                      p = 0.91707411
     * 3: g = 0.2 + 0.0091707411 = 0.2091707411; buf = 0.1512279 + g = 0.3603986411;
     *    step = g + 0.9*buf = 0.53352951809;                        p = 0.863721158191 */
    lc_sgd_hparams hp = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = 1};
    double p[3];
    run_sgd(&hp, p);
    expect3(p, 0.9031, 0.91707411, 0.863721158191);
}

static void test_sgd_dampening(void **state)
{
    (void)state;
    /* momentum 0.9, dampening 0.5: PyTorch does not dampen the first step.
     * 1: buf = 0.5;                         p = 1 - 0.05 = 0.95
     * 2: buf = 0.45 + 0.5*(-0.3) = 0.3;     p = 0.95 - 0.03 = 0.92
     * 3: buf = 0.27 + 0.5*0.2 = 0.37;       p = 0.92 - 0.037 = 0.883 */
    lc_sgd_hparams hp = {.lr = 0.1, .momentum = 0.9, .dampening = 0.5};
    double p[3];
    run_sgd(&hp, p);
    expect3(p, 0.95, 0.92, 0.883);
}

/* ------------------------------------------------------------------------ */
/* Adam / AdamW                                                              */

typedef lc_status (*adam_fn)(float *, const float *, float *, float *, size_t,
                             const lc_adam_hparams *, int64_t);

/* Three steps on p0 with gradients gs; returns p after each step and the
 * final m, v. */
static void run_adam(adam_fn fn, const lc_adam_hparams *hp, float p0, const float gs[3],
                     double p[3], double *m_out, double *v_out)
{
    float param = p0, m = 0.0f, v = 0.0f;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(fn(&param, &gs[k], &m, &v, 1, hp, k + 1), LC_OK);
        p[k] = param;
    }
    *m_out = m;
    *v_out = v;
}

static const lc_adam_hparams ADAM = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};

static void test_adam(void **state)
{
    (void)state;
    /* lr 0.01, betas (0.9, 0.999), eps 1e-8, p0 = 1:
     * 1: m = 0.05, v = 0.00025; bias corrections 0.1, 0.001 -> m^ = 0.5, v^ = 0.25;
     *    p = 1 - 0.01 * 0.5 / (0.5 + 1e-8) = 0.9900000002
     * 2: m = 0.05 + 0.1*(-0.3 - 0.05) = 0.015, v = 0.999*0.00025 + 0.001*0.09 = 0.00033975;
     *    corrections 0.19, 0.001999; p -= 0.01 * 0.0789474 / (0.4122620 + 1e-8)
     *    -> 0.9880850199
     * 3: m = 0.0335, v = 0.00037941025;                         p = 0.9846107431 */
    double p[3], m, v;
    run_adam(lc_adam_step, &ADAM, 1.0f, G3, p, &m, &v);
    expect3(p, 0.9900000002, 0.9880850199, 0.9846107431);
    assert_true(fabs(m - 0.0335) < 1e-8);
    assert_true(fabs(v - 0.00037941025) < 1e-10);

    /* Small gradients (1e-3, 2e-3, -4e-3) from p0 = -0.5. */
    const float gs[3] = {1e-3f, 2e-3f, -4e-3f};
    run_adam(lc_adam_step, &ADAM, -0.5f, gs, p, &m, &v);
    expect3(p, -0.5099999000, -0.5196516592, -0.5177137220);
}

static void test_adam_eps_outside_sqrt(void **state)
{
    (void)state;
    /* g = 1e-9: v^ = 1e-18, so sqrt(v^) = 1e-9 and eps = 1e-8 dominates:
     * update = 0.01 * 1e-9 / (1e-9 + 1e-8) = 9.0909e-4. With eps inside the
     * square root it would be 0.01 * 1e-9 / sqrt(1e-18 + 1e-8) = 1e-7. */
    float param = 0.0f, g = 1e-9f, m = 0.0f, v = 0.0f;
    assert_int_equal(lc_adam_step(&param, &g, &m, &v, 1, &ADAM, 1), LC_OK);
    double want = -0.01 * (double)g / ((double)g + 1e-8);
    assert_true(fabs(param - want) < 1e-5 * fabs(want));
}

static void test_adam_l2_vs_adamw_decoupled(void **state)
{
    (void)state;
    lc_adam_hparams hp = ADAM;
    hp.weight_decay = 0.1;
    double p[3], m, v;
    /* Adam, L2: g = grad + 0.1 p, so step 1 sees g = 0.6 (m = 0.06, v = 0.00036);
     * p = 0.9900000002, 0.9860115862, 0.9804955266 */
    run_adam(lc_adam_step, &hp, 1.0f, G3, p, &m, &v);
    expect3(p, 0.9900000002, 0.9860115862, 0.9804955266);
    assert_true(fabs(m - 0.06037011586) < 1e-7);

    /* AdamW: p *= 1 - 0.01*0.1 first, then the plain Adam step on grad:
     * 1: 0.999 - 0.0099999998 = 0.9890000002; then 0.9860960199, 0.9816356471;
     * m and v are those of plain Adam. */
    run_adam(lc_adamw_step, &hp, 1.0f, G3, p, &m, &v);
    expect3(p, 0.9890000002, 0.9860960199, 0.9816356471);
    assert_true(fabs(m - 0.0335) < 1e-8);
    assert_true(fabs(v - 0.00037941025) < 1e-10);

    const float gs[3] = {1e-3f, 2e-3f, -4e-3f};
    run_adam(lc_adam_step, &hp, -0.5f, gs, p, &m, &v);
    expect3(p, -0.4900000020, -0.4800130320, -0.4699997292);
    run_adam(lc_adamw_step, &hp, -0.5f, gs, p, &m, &v);
    expect3(p, -0.5094999000, -0.5186421593, -0.5161855799);
}

/* One call over a block equals per-element calls (the trainer may use either). */
static void test_block_equals_pieces(void **state)
{
    (void)state;
    float pa[5] = {1, -2, 3, -4, 5}, pb[5], g[5] = {0.1f, 0.2f, -0.3f, 0.4f, -0.5f};
    float ma[5] = {0}, va[5] = {0}, mb[5] = {0}, vb[5] = {0};
    memcpy(pb, pa, sizeof pa);
    lc_adam_hparams hp = ADAM;
    hp.weight_decay = 0.01;
    for (int64_t t = 1; t <= 3; t++) {
        assert_int_equal(lc_adamw_step(pa, g, ma, va, 5, &hp, t), LC_OK);
        assert_int_equal(lc_adamw_step(pb, g, mb, vb, 2, &hp, t), LC_OK);
        assert_int_equal(lc_adamw_step(pb + 2, g + 2, mb + 2, vb + 2, 3, &hp, t), LC_OK);
    }
    assert_memory_equal(pa, pb, sizeof pa);
    assert_memory_equal(ma, mb, sizeof ma);
    assert_memory_equal(va, vb, sizeof va);
}

/* AdamW written the plain way, each operation as PyTorch does it on float32
 * tensors (sqrt, then a divide by bias_correction2_sqrt, + eps, addcdiv). */
static void adamw_reference(float *p, const float *g, float *m, float *v, size_t n,
                            const lc_adam_hparams *hp, int64_t step)
{
    double bc1 = 1.0 - pow(hp->beta1, (double)step), bc2 = 1.0 - pow(hp->beta2, (double)step);
    const float decay = (float)(1.0 - hp->lr * hp->weight_decay), w1 = (float)(1.0 - hp->beta1);
    const float b2 = (float)hp->beta2, w2 = (float)(1.0 - hp->beta2), eps = (float)hp->eps;
    const float bc2_sqrt = (float)sqrt(bc2), neg_step = (float)(-(hp->lr / bc1));
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay;
        float mi = m[i] + w1 * (g[i] - m[i]);
        float vi = v[i] * b2 + w2 * g[i] * g[i];
        volatile float root = sqrtf(vi); /* keep the divide a divide */
        float denom = root / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + neg_step * (mi / denom);
    }
}

/* The kernel multiplies by 1/bias_correction2_sqrt in double instead of
 * dividing (optim_kernels.c says why that is exact): over 2^18 elements
 * whose gradients span 60 binades (tiny, huge and zero ones too), and over
 * steps that give many different divisors, its bits are the reference's. */
static void test_adamw_bits_equal_plain_division(void **state)
{
    (void)state;
    enum { N = 1 << 18 };
    float *pa = malloc(4 * N), *pb = malloc(4 * N), *g = malloc(4 * N);
    float *ma = calloc(N, 4), *va = calloc(N, 4), *mb = calloc(N, 4), *vb = calloc(N, 4);
    assert_non_null(pa && pb && g && ma && va && mb && vb);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        pa[i] = pb[i] = (float)((int32_t)(s >> 32)) * 0x1p-31f;
    }
    lc_adam_hparams hp = ADAM;
    hp.weight_decay = 0.01;
    for (int64_t t = 1; t <= 40; t++) {
        for (size_t i = 0; i < N; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(s >> 32);
            /* sign, significand and an exponent in [2^-40, 2^20) */
            float mag = ldexpf(1.0f + (float)(r & 0x7fffff) * 0x1p-23f, (int)((r >> 23) % 60) - 40);
            g[i] = (r & 0x40000000u) ? -mag : mag;
            if (i % 4099 == 0)
                g[i] = 0.0f;
        }
        assert_int_equal(lc_adamw_step(pa, g, ma, va, N, &hp, t), LC_OK);
        adamw_reference(pb, g, mb, vb, N, &hp, t);
    }
    assert_memory_equal(pa, pb, 4 * (size_t)N);
    assert_memory_equal(ma, mb, 4 * (size_t)N);
    assert_memory_equal(va, vb, 4 * (size_t)N);
    free(pa), free(pb), free(g), free(ma), free(va), free(mb), free(vb);
}

/* ------------------------------------------------------------------------ */
/* Clipping                                                                  */

static void test_clip_grad_norm(void **state)
{
    (void)state;
    float a[2] = {3.0f, 0.0f}, b[1] = {4.0f};
    float *grads[2] = {a, b};
    size_t lens[2] = {2, 1};
    double total = 0;
    /* total 5 <= max_norm 10: coef = 10 / 5.000001 > 1, untouched */
    assert_int_equal(lc_clip_grad_norm(grads, lens, 2, 10.0, &total), LC_OK);
    assert_true(total == 5.0);
    assert_true(a[0] == 3.0f && b[0] == 4.0f);
    /* max_norm 1: coef = 1 / (5 + 1e-6) -> 0.59999988, 0.79999984 */
    assert_int_equal(lc_clip_grad_norm(grads, lens, 2, 1.0, &total), LC_OK);
    assert_true(total == 5.0);
    assert_true(fabs(a[0] - 3.0 / 5.000001) < 1e-7);
    assert_true(fabs(b[0] - 4.0 / 5.000001) < 1e-7);
    assert_true(a[1] == 0.0f);
    assert_true(fabs(sqrt(a[0] * a[0] + b[0] * b[0]) - 1.0) < 1e-6);
    /* max_norm 0 zeroes the gradients */
    assert_int_equal(lc_clip_grad_norm(grads, lens, 2, 0.0, NULL), LC_OK);
    assert_true(a[0] == 0.0f && b[0] == 0.0f);

    /* A NaN gradient: the norm is NaN and spreads, as in PyTorch. */
    float c[2] = {NAN, 1.0f};
    float *g2[1] = {c};
    size_t l2[1] = {2};
    assert_int_equal(lc_clip_grad_norm(g2, l2, 1, 1.0, &total), LC_OK);
    assert_true(isnan(total));
    assert_true(isnan(c[1]));

    assert_int_equal(lc_clip_grad_norm(grads, lens, 2, -1.0, NULL), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "max_norm") != NULL);
    assert_int_equal(lc_clip_grad_norm(grads, lens, 2, NAN, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_clip_grad_norm(NULL, lens, 2, 1.0, NULL), LC_ERR_INVALID);
    float *holes[2] = {a, NULL};
    assert_int_equal(lc_clip_grad_norm(holes, lens, 2, 1.0, NULL), LC_ERR_INVALID);
}

static void test_clip_grad_value(void **state)
{
    (void)state;
    float a[5] = {-3.0f, 0.5f, 2.0f, NAN, -1.0f};
    float *grads[1] = {a};
    size_t lens[1] = {5};
    assert_int_equal(lc_clip_grad_value(grads, lens, 1, 1.0), LC_OK);
    assert_true(a[0] == -1.0f);
    assert_true(a[1] == 0.5f);
    assert_true(a[2] == 1.0f);
    assert_true(isnan(a[3]));
    assert_true(a[4] == -1.0f);
    assert_int_equal(lc_clip_grad_value(grads, lens, 1, -0.5), LC_ERR_INVALID);
}

/* ------------------------------------------------------------------------ */
/* Bad hyperparameters and buffers                                           */

static void test_rejects_bad_hparams(void **state)
{
    (void)state;
    float p = 1.0f, g = 0.5f, buf = 0.0f, m = 0.0f, v = 0.0f;
    lc_sgd_hparams s = {.lr = 0.1, .momentum = 0.9};
    assert_int_equal(lc_sgd_check(&s), LC_OK);
    s.lr = -0.1;
    assert_int_equal(lc_sgd_step(&p, &g, &buf, 1, &s, 1), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "learning rate") != NULL);
    s.lr = NAN;
    assert_int_equal(lc_sgd_check(&s), LC_ERR_INVALID);
    s = (lc_sgd_hparams){.lr = 0.1, .nesterov = 1};
    assert_int_equal(lc_sgd_check(&s), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "Nesterov") != NULL);
    s = (lc_sgd_hparams){.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = 1};
    assert_int_equal(lc_sgd_check(&s), LC_ERR_INVALID);
    s = (lc_sgd_hparams){.lr = 0.1, .momentum = -0.9};
    assert_int_equal(lc_sgd_check(&s), LC_ERR_INVALID);
    s = (lc_sgd_hparams){.lr = 0.1, .weight_decay = -1};
    assert_int_equal(lc_sgd_check(&s), LC_ERR_INVALID);
    s = (lc_sgd_hparams){.lr = 0.1, .momentum = 0.9};
    assert_int_equal(lc_sgd_step(&p, &g, NULL, 1, &s, 1), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "momentum buffer") != NULL);
    assert_int_equal(lc_sgd_step(&p, &g, &buf, 1, &s, 0), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "steps count from 1") != NULL);
    assert_int_equal(lc_sgd_step(NULL, &g, &buf, 1, &s, 1), LC_ERR_INVALID);
    assert_int_equal(lc_sgd_step(&p, &g, &buf, 1, NULL, 1), LC_ERR_INVALID);
    assert_true(p == 1.0f); /* nothing was updated */

    lc_adam_hparams a = ADAM;
    assert_int_equal(lc_adam_check(&a), LC_OK);
    a.beta1 = 1.0;
    assert_int_equal(lc_adam_step(&p, &g, &m, &v, 1, &a, 1), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "beta1") != NULL);
    a = ADAM, a.beta2 = -0.1;
    assert_int_equal(lc_adamw_step(&p, &g, &m, &v, 1, &a, 1), LC_ERR_INVALID);
    a = ADAM, a.eps = -1e-8;
    assert_int_equal(lc_adam_check(&a), LC_ERR_INVALID);
    a = ADAM, a.weight_decay = NAN;
    assert_int_equal(lc_adam_check(&a), LC_ERR_INVALID);
    a = ADAM, a.lr = INFINITY;
    assert_int_equal(lc_adam_check(&a), LC_ERR_INVALID);
    a = ADAM;
    assert_int_equal(lc_adam_step(&p, &g, NULL, &v, 1, &a, 1), LC_ERR_INVALID);
    assert_int_equal(lc_adamw_step(&p, &g, &m, &v, 1, &a, -3), LC_ERR_INVALID);
    assert_true(p == 1.0f && m == 0.0f && v == 0.0f);
    /* n == 0 is a valid no-op, even without buffers */
    assert_int_equal(lc_adam_step(NULL, NULL, NULL, NULL, 0, &a, 1), LC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum_weight_decay),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_sgd_dampening),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_eps_outside_sqrt),
        cmocka_unit_test(test_adam_l2_vs_adamw_decoupled),
        cmocka_unit_test(test_adamw_bits_equal_plain_division),
        cmocka_unit_test(test_block_equals_pieces),
        cmocka_unit_test(test_clip_grad_norm),
        cmocka_unit_test(test_clip_grad_value),
        cmocka_unit_test(test_rejects_bad_hparams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
