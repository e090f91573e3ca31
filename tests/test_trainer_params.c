/*
 * tests/test_trainer_params.c — the parameter registry (trainer/params.h):
 * registration and lookup, totals, zero_grad, frozen parameters, gradient
 * norm and clipping through the registry, and bad names / shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "params.h"

static void test_add_find_and_totals(void **state)
{
    (void)state;
    float w[6] = {1, 2, 3, 4, 5, 6}, dw[6] = {0};
    float b[3] = {7, 8, 9}, db[3] = {0};
    float frozen[2] = {1, 1};
    lc_params ps;
    lc_params_init(&ps);
    int64_t ws[2] = {3, 2}, bs[1] = {3}, fs[1] = {2};
    assert_int_equal(lc_params_add(&ps, "fc1.weight", w, dw, 2, ws), LC_OK);
    assert_int_equal(lc_params_add(&ps, "fc1.bias", b, db, 1, bs), LC_OK);
    assert_int_equal(lc_params_add(&ps, "emb.frozen", frozen, NULL, 1, fs), LC_OK);

    assert_int_equal(ps.len, 3);
    assert_int_equal(lc_params_numel(&ps), 11);
    assert_int_equal(lc_params_numel_trainable(&ps), 9);
    /* registration order is kept */
    assert_string_equal(ps.items[0].name, "fc1.weight");
    assert_string_equal(ps.items[2].name, "emb.frozen");
    assert_int_equal(ps.items[0].count, 6);
    assert_int_equal(ps.items[0].ndim, 2);
    assert_int_equal(ps.items[0].shape[0], 3);
    assert_int_equal(ps.items[0].shape[1], 2);
    assert_int_equal(ps.items[0].shape[2], 1);

    lc_param *p = lc_params_find(&ps, "fc1.bias");
    assert_non_null(p);
    assert_ptr_equal(p->data, b);
    assert_ptr_equal(p->grad, db);
    assert_null(lc_params_find(&ps, "fc1"));
    assert_null(lc_params_find(&ps, NULL));
    lc_params_free(&ps);
    assert_int_equal(ps.len, 0);
    lc_params_free(&ps); /* twice is fine */
}

static void test_zero_grad_and_norm(void **state)
{
    (void)state;
    float w[2] = {1, 1}, dw[2] = {3, 0};
    float b[1] = {1}, db[1] = {4};
    float fz[1] = {5};
    lc_params ps;
    lc_params_init(&ps);
    int64_t s2[1] = {2}, s1[1] = {1};
    assert_int_equal(lc_params_add(&ps, "w", w, dw, 1, s2), LC_OK);
    assert_int_equal(lc_params_add(&ps, "b", b, db, 1, s1), LC_OK);
    assert_int_equal(lc_params_add(&ps, "frozen", fz, NULL, 1, s1), LC_OK);

    /* ||(3, 0, 4)|| = 5 */
    assert_true(fabs(lc_params_grad_norm(&ps) - 5.0) < 1e-12);

    /* clip to 1: coef = 1 / (5 + 1e-6) -> (0.6, 0, 0.8) up to 1e-6 */
    double total = 0;
    assert_int_equal(lc_params_clip_grad_norm(&ps, 1.0, &total), LC_OK);
    assert_true(fabs(total - 5.0) < 1e-12);
    assert_true(fabsf(dw[0] - 0.6f) < 1e-6f);
    assert_true(fabsf(db[0] - 0.8f) < 1e-6f);
    assert_true(fabs(lc_params_grad_norm(&ps) - 1.0) < 1e-5);

    dw[0] = 2.5f;
    dw[1] = -3.0f;
    assert_int_equal(lc_params_clip_grad_value(&ps, 1.0), LC_OK);
    assert_true(dw[0] == 1.0f && dw[1] == -1.0f);
    assert_int_equal(lc_params_clip_grad_norm(&ps, -1.0, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_params_clip_grad_value(&ps, NAN), LC_ERR_INVALID);

    lc_params_zero_grad(&ps);
    assert_true(dw[0] == 0.0f && dw[1] == 0.0f && db[0] == 0.0f);
    assert_true(fz[0] == 5.0f); /* frozen values untouched */
    assert_true(w[0] == 1.0f);
    lc_params_free(&ps);
}

static void test_add_tensor(void **state)
{
    (void)state;
    lc_tensor w, dw, bad;
    assert_int_equal(lc_tensor_alloc_2d(&w, 4, 3), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&dw, 4, 3), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&bad, 5), LC_OK);
    lc_params ps;
    lc_params_init(&ps);
    assert_int_equal(lc_params_add_tensor(&ps, "lin.weight", &w, &dw), LC_OK);
    assert_int_equal(ps.items[0].count, 12);
    assert_int_equal(ps.items[0].shape[0], 4);
    assert_int_equal(ps.items[0].shape[1], 3);
    assert_int_equal(lc_params_add_tensor(&ps, "lin.bad", &w, &bad), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "lin.bad"));
    assert_int_equal(ps.len, 1);
    lc_params_free(&ps);
    lc_tensor_free(&w);
    lc_tensor_free(&dw);
    lc_tensor_free(&bad);
}

static void test_bad_input(void **state)
{
    (void)state;
    float x[4] = {0}, g[4] = {0};
    int64_t s[1] = {4}, zero[1] = {0};
    lc_params ps;
    lc_params_init(&ps);
    assert_int_equal(lc_params_add(&ps, "a", x, g, 1, s), LC_OK);
    assert_int_equal(lc_params_add(&ps, "a", x, g, 1, s), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "already registered"));
    assert_int_equal(lc_params_add(&ps, "", x, g, 1, s), LC_ERR_INVALID);
    assert_int_equal(lc_params_add(&ps, NULL, x, g, 1, s), LC_ERR_INVALID);
    assert_int_equal(lc_params_add(&ps, "has space", x, g, 1, s), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "has space"));
    assert_int_equal(lc_params_add(&ps, "nodata", NULL, g, 1, s), LC_ERR_INVALID);
    assert_int_equal(lc_params_add(&ps, "zero", x, g, 1, zero), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "dimension 0"));
    assert_int_equal(lc_params_add(&ps, "ndim", x, g, 5, s), LC_ERR_INVALID);
    assert_int_equal(lc_params_add(&ps, "ndim0", x, g, 0, s), LC_ERR_INVALID);
    char longname[LC_PARAM_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(lc_params_add(&ps, longname, x, g, 1, s), LC_ERR_INVALID);
    assert_int_equal(ps.len, 1);
    assert_int_equal(lc_params_numel(&ps), 4);
    lc_params_free(&ps);
}

/* Growth past the initial capacity keeps every entry and the clip arrays. */
static void test_many_params(void **state)
{
    (void)state;
    enum { N = 100 };
    static float data[N], grad[N];
    lc_params ps;
    lc_params_init(&ps);
    int64_t s[1] = {1};
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.w", i);
        grad[i] = 1.0f;
        assert_int_equal(lc_params_add(&ps, name, &data[i], &grad[i], 1, s), LC_OK);
    }
    assert_int_equal(ps.len, N);
    assert_string_equal(ps.items[57].name, "layer57.w");
    assert_ptr_equal(lc_params_find(&ps, "layer99.w")->grad, &grad[99]);
    assert_true(fabs(lc_params_grad_norm(&ps) - 10.0) < 1e-12); /* sqrt(100) */
    lc_params_free(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_and_totals),
        cmocka_unit_test(test_zero_grad_and_norm),
        cmocka_unit_test(test_add_tensor),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_many_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
