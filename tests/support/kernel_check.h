/*
 * tests/support/kernel_check.h — helpers for the kernel tests
 * (tests/test_kernels_*.c): random inputs, closeness with a relative
 * tolerance, and a central finite-difference gradient checker.
 *
 * Finite differences in float32: with h = 1e-3 the truncation error is
 * O(h^2) ~ 1e-6 and the rounding error of a float loss is ~1e-7 * |L| / h
 * ~ 1e-4 relative, so analytic and numeric gradients are compared with a
 * relative tolerance of 1e-2 plus a small absolute floor for gradients near
 * zero. The step actually taken, (x + h) - (x - h) as rounded to float, is
 * used as the denominator.
 *
 * Header-only (static inline) so each test stays one translation unit.
 */
#ifndef LC_KERNEL_CHECK_H
#define LC_KERNEL_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "rng.h"

#define KC_FD_STEP 1e-3
#define KC_FD_RTOL 1e-2
#define KC_FD_ATOL 1e-4

/* Uniform random floats in [lo, hi). */
static inline void kc_fill(lc_rng *r, float *x, size_t n, float lo, float hi)
{
    lc_rng_uniform_fill(r, x, n, lo, hi);
}

/* Random floats in +-[lo, hi): keeps inputs away from 0 (for ReLU's kink). */
static inline void kc_fill_away_from_zero(lc_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) {
        float v = lo + (hi - lo) * lc_rng_uniform(r);
        x[i] = (lc_rng_u32(r) & 1u) ? v : -v;
    }
}

/* |a - b| <= rtol * max(|a|, |b|) + atol */
static inline int kc_close(double a, double b, double rtol, double atol)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= rtol * m + atol;
}

/* Number of i with !kc_close(got[i], want[i]); prints the first few. */
static inline int kc_count_mismatch(const char *what, const float *got, const double *want,
                                    size_t n, double rtol, double atol)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!kc_close(got[i], want[i], rtol, atol)) {
            if (bad < 5)
                fprintf(stderr, "%s[%zu]: got %.9g, want %.9g\n", what, i, (double)got[i],
                        want[i]);
            bad++;
        }
    }
    return bad;
}

/* A scalar loss of the buffer being checked (the test's closure). */
typedef double (*kc_loss_fn)(void *ctx);

/* Central differences of loss with respect to each x[i], compared with the
 * analytic gradient grad[i]. x is perturbed in place and restored. Returns
 * the number of mismatches (printing the first few). */
static inline int kc_grad_check(const char *what, float *x, const float *grad, size_t n,
                                kc_loss_fn loss, void *ctx)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        float xp = (float)(x0 + KC_FD_STEP), xm = (float)(x0 - KC_FD_STEP);
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = x0;
        double numeric = (lp - lm) / ((double)xp - (double)xm);
        if (!kc_close(grad[i], numeric, KC_FD_RTOL, KC_FD_ATOL)) {
            if (bad < 5)
                fprintf(stderr, "%s[%zu]: analytic %.6g, finite difference %.6g\n", what, i,
                        (double)grad[i], numeric);
            bad++;
        }
    }
    return bad;
}

/* sum_i y[i] * r[i] in double: a loss whose gradient dL/dy is r. */
static inline double kc_dot(const float *y, const float *r, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i] * (double)r[i];
    return s;
}

#endif
