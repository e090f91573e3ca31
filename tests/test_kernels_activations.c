/*
 * tests/test_kernels_activations.c — ReLU and GELU (tanh approximation):
 * forward against double-precision formulas, backward by central finite
 * differences, in-place use, extreme inputs and shape mismatches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "activations.h"
#include "kernel_check.h"

enum { N = 97 }; /* not a multiple of the vector width */

/* Forward function under test and the closure for the FD loss. */
typedef lc_status (*act_fn)(lc_tensor *y, const lc_tensor *x);
typedef struct act_ctx {
    act_fn fwd;
    lc_tensor *x, *y;
    const float *r; /* dL/dy */
} act_ctx;

static double act_loss(void *p)
{
    act_ctx *c = p;
    assert_int_equal(c->fwd(c->y, c->x), LC_OK);
    return kc_dot(c->y->data, c->r, c->y->numel);
}

static double ref_gelu_tanh(double x)
{
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

/* ------------------------------------------------------------------------ */
/* ReLU                                                                      */

static void test_relu_forward_backward(void **state)
{
    (void)state;
    lc_tensor x, y, dy, dx;
    assert_int_equal(lc_tensor_alloc_1d(&x, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&y, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&dy, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&dx, N), LC_OK);
    lc_rng r;
    lc_rng_seed(&r, 21, 0);
    /* |x| >= 0.05 so no +-h step crosses the kink at 0 */
    kc_fill_away_from_zero(&r, x.data, N, 0.05f, 2.0f);
    kc_fill(&r, dy.data, N, -1.0f, 1.0f);

    assert_int_equal(lc_relu_forward(&y, &x), LC_OK);
    double ref[N];
    for (int i = 0; i < N; i++)
        ref[i] = x.data[i] > 0 ? x.data[i] : 0.0;
    assert_int_equal(kc_count_mismatch("relu", y.data, ref, N, 0, 0), 0);

    assert_int_equal(lc_relu_backward(&dx, &dy, &x), LC_OK);
    act_ctx c = {lc_relu_forward, &x, &y, dy.data};
    assert_int_equal(kc_grad_check("relu dx", x.data, dx.data, N, act_loss, &c), 0);

    /* Backward from the output works the same (y > 0 exactly where x > 0). */
    float dx_from_x[N];
    memcpy(dx_from_x, dx.data, sizeof dx_from_x);
    assert_int_equal(lc_relu_forward(&y, &x), LC_OK);
    assert_int_equal(lc_relu_backward(&dx, &dy, &y), LC_OK);
    assert_memory_equal(dx.data, dx_from_x, sizeof dx_from_x);

    /* In place: forward y = x, backward dx = dy. */
    assert_int_equal(lc_relu_forward(&x, &x), LC_OK);
    assert_int_equal(kc_count_mismatch("relu in place", x.data, ref, N, 0, 0), 0);
    assert_int_equal(lc_relu_backward(&dy, &dy, &x), LC_OK);
    assert_memory_equal(dy.data, dx_from_x, sizeof dx_from_x);

    lc_tensor_free(&x), lc_tensor_free(&y), lc_tensor_free(&dy), lc_tensor_free(&dx);
}

/* ------------------------------------------------------------------------ */
/* GELU                                                                      */

static void test_gelu_forward_matches_formula(void **state)
{
    (void)state;
    lc_tensor x, y;
    assert_int_equal(lc_tensor_alloc_1d(&x, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&y, N), LC_OK);
    lc_rng r;
    lc_rng_seed(&r, 22, 0);
    kc_fill(&r, x.data, N, -5.0f, 5.0f);
    x.data[0] = 0.0f;
    assert_int_equal(lc_gelu_forward(&y, &x), LC_OK);
    double ref[N];
    for (int i = 0; i < N; i++)
        ref[i] = ref_gelu_tanh(x.data[i]);
    assert_int_equal(kc_count_mismatch("gelu", y.data, ref, N, 1e-5, 1e-6), 0);
    assert_true(y.data[0] == 0.0f);
    /* It is the tanh approximation: close to, but not, the erf form. */
    double maxdiff = 0;
    for (int i = 0; i < N; i++) {
        double exact = 0.5 * x.data[i] * (1.0 + erf(x.data[i] / sqrt(2.0)));
        maxdiff = fmax(maxdiff, fabs(exact - y.data[i]));
    }
    assert_true(maxdiff < 1e-3);
    assert_true(maxdiff > 1e-6);
    lc_tensor_free(&x), lc_tensor_free(&y);
}

static void test_gelu_finite_differences(void **state)
{
    (void)state;
    lc_tensor x, y, dy, dx;
    assert_int_equal(lc_tensor_alloc_1d(&x, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&y, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&dy, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&dx, N), LC_OK);
    lc_rng r;
    lc_rng_seed(&r, 23, 0);
    kc_fill(&r, x.data, N, -4.0f, 4.0f);
    kc_fill(&r, dy.data, N, -1.0f, 1.0f);
    assert_int_equal(lc_gelu_backward(&dx, &dy, &x), LC_OK);
    act_ctx c = {lc_gelu_forward, &x, &y, dy.data};
    assert_int_equal(kc_grad_check("gelu dx", x.data, dx.data, N, act_loss, &c), 0);

    /* Negative control: a 5% wrong derivative is caught. */
    for (int i = 0; i < N; i++)
        dx.data[i] *= 1.05f;
    assert_true(kc_grad_check("gelu dx*1.05 (expected to fail)", x.data, dx.data, N, act_loss,
                              &c) > 0);

    /* In place: dx may be dy. */
    float want[N];
    assert_int_equal(lc_gelu_backward(&dx, &dy, &x), LC_OK);
    memcpy(want, dx.data, sizeof want);
    assert_int_equal(lc_gelu_backward(&dy, &dy, &x), LC_OK);
    assert_memory_equal(dy.data, want, sizeof want);
    lc_tensor_free(&x), lc_tensor_free(&y), lc_tensor_free(&dy), lc_tensor_free(&dx);
}

static void test_gelu_extremes_stay_finite(void **state)
{
    (void)state;
    float xs[6] = {1e30f, -1e30f, 50.0f, -50.0f, 3e38f, -3e38f};
    float ys[6], gs[6], ones[6] = {1, 1, 1, 1, 1, 1};
    lc_tensor x, y, g, d;
    int64_t s[1] = {6};
    assert_int_equal(lc_tensor_view(&x, xs, 1, s), LC_OK);
    assert_int_equal(lc_tensor_view(&y, ys, 1, s), LC_OK);
    assert_int_equal(lc_tensor_view(&g, gs, 1, s), LC_OK);
    assert_int_equal(lc_tensor_view(&d, ones, 1, s), LC_OK);
    assert_int_equal(lc_gelu_forward(&y, &x), LC_OK);
    assert_int_equal(lc_gelu_backward(&g, &d, &x), LC_OK);
    for (int i = 0; i < 6; i++) {
        assert_false(isnan(ys[i]));
        assert_true(isfinite(gs[i]));
        assert_true(gs[i] == (xs[i] > 0 ? 1.0f : 0.0f));
        if (xs[i] > 0)
            assert_true(ys[i] == xs[i]);
        else
            assert_true(ys[i] == 0.0f);
    }
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                 */

static void test_shape_mismatch(void **state)
{
    (void)state;
    lc_tensor a, b, c;
    assert_int_equal(lc_tensor_alloc_2d(&a, 2, 3), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&b, 3, 2), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&c, 2, 3), LC_OK);
    assert_int_equal(lc_relu_forward(&a, &b), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "differ in shape") != NULL);
    assert_int_equal(lc_gelu_forward(&a, &b), LC_ERR_INVALID);
    assert_int_equal(lc_relu_backward(&a, &c, &b), LC_ERR_INVALID);
    assert_int_equal(lc_gelu_backward(&a, &b, &c), LC_ERR_INVALID);
    assert_int_equal(lc_gelu_backward(&a, &c, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_relu_forward(NULL, &a), LC_ERR_INVALID);
    lc_tensor_free(&a), lc_tensor_free(&b), lc_tensor_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_forward_backward),
        cmocka_unit_test(test_gelu_forward_matches_formula),
        cmocka_unit_test(test_gelu_finite_differences),
        cmocka_unit_test(test_gelu_extremes_stay_finite),
        cmocka_unit_test(test_shape_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
