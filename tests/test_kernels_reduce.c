/*
 * tests/test_kernels_reduce.c — deterministic reductions: values against a
 * naive long-double reference on lengths around the block and lane sizes,
 * bit-identical results across BLAS thread counts, memory offsets and
 * repeated calls, the fixed block partition itself, the multi-buffer norm,
 * NaN handling and empty input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas_info.h"
#include "kernel_check.h"
#include "reduce.h"

static float *random_buffer(size_t n, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(x);
    lc_rng r;
    lc_rng_seed(&r, seed, 4);
    kc_fill(&r, x, n, -1.0f, 3.0f);
    return x;
}

static void test_values_match_reference(void **state)
{
    (void)state;
    const size_t lens[] = {1, 7, 8, 9, 4095, 4096, 4097, 3 * 4096 + 5, 100003};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t n = lens[k];
        float *x = random_buffer(n, 100 + k);
        long double s = 0, s2 = 0;
        float mx = x[0], mn = x[0];
        for (size_t i = 0; i < n; i++) {
            s += x[i];
            s2 += (long double)x[i] * x[i];
            mx = x[i] > mx ? x[i] : mx;
            mn = x[i] < mn ? x[i] : mn;
        }
        /* Double accumulation: relative error ~n * 1e-16, far below 1e-12. */
        assert_true(kc_close(lc_reduce_sum(x, n), (double)s, 1e-12, 1e-12));
        assert_true(kc_close(lc_reduce_sumsq(x, n), (double)s2, 1e-12, 0));
        assert_true(kc_close(lc_reduce_l2norm(x, n), sqrt((double)s2), 1e-12, 0));
        double mean;
        assert_int_equal(lc_reduce_mean(x, n, &mean), LC_OK);
        assert_true(kc_close(mean, (double)(s / n), 1e-12, 1e-12));
        float got;
        assert_int_equal(lc_reduce_max(x, n, &got), LC_OK);
        assert_true(got == mx);
        assert_int_equal(lc_reduce_min(x, n, &got), LC_OK);
        assert_true(got == mn);
        free(x);
    }
}

/* Where float accumulation drifts, double does not: 10^6 * 0.1f. */
static void test_double_accumulation(void **state)
{
    (void)state;
    enum { M = 1000000 };
    float *x = malloc(M * sizeof(float));
    assert_non_null(x);
    float naive = 0.0f;
    for (int i = 0; i < M; i++) {
        x[i] = 0.1f;
        naive += x[i];
    }
    double want = (double)M * (double)0.1f;
    assert_true(fabs(lc_reduce_sum(x, M) - want) < 1e-6);
    assert_true(fabs((double)naive - want) > 1.0); /* the float loop is far off */
    free(x);
}

/* Same bits for every BLAS thread count, repeat, and buffer address. */
static void test_bit_identical(void **state)
{
    (void)state;
    const size_t n = 5 * 4096 + 123;
    float *x = random_buffer(n, 7);
    float *shifted = malloc((n + 3) * sizeof(float));
    assert_non_null(shifted);
    memcpy(shifted + 3, x, n * sizeof(float)); /* a 12-byte offset */

    int saved = lc_blas_get_threads();
    lc_blas_set_threads(1);
    double s1 = lc_reduce_sum(x, n), q1 = lc_reduce_sumsq(x, n);
    const float *bufs[2] = {x, x + 1000};
    size_t lens[2] = {1000, n - 1000};
    double m1 = lc_reduce_l2norm_multi(bufs, lens, 2);
    const int counts[] = {2, 4, 8};
    for (size_t k = 0; k < 3; k++) {
        lc_blas_set_threads(counts[k]);
        double s = lc_reduce_sum(x, n), q = lc_reduce_sumsq(x, n);
        double m = lc_reduce_l2norm_multi(bufs, lens, 2);
        assert_memory_equal(&s, &s1, sizeof s);
        assert_memory_equal(&q, &q1, sizeof q);
        assert_memory_equal(&m, &m1, sizeof m);
    }
    lc_blas_set_threads(saved);
    double s = lc_reduce_sum(shifted + 3, n);
    assert_memory_equal(&s, &s1, sizeof s);
    s = lc_reduce_sum(x, n);
    assert_memory_equal(&s, &s1, sizeof s);
    free(shifted);
    free(x);
}

/* The documented partition: whole blocks from the start, partials added in
 * block order. A threaded version relies on exactly this. */
static void test_fixed_block_partition(void **state)
{
    (void)state;
    const size_t n = 4 * LC_REDUCE_BLOCK + 777;
    float *x = random_buffer(n, 8);
    double total = 0.0, total_sq = 0.0;
    for (size_t b = 0; b < n; b += LC_REDUCE_BLOCK) {
        size_t len = n - b < LC_REDUCE_BLOCK ? n - b : LC_REDUCE_BLOCK;
        total += lc_reduce_sum(x + b, len);
        total_sq += lc_reduce_sumsq(x + b, len);
    }
    double s = lc_reduce_sum(x, n), q = lc_reduce_sumsq(x, n);
    assert_memory_equal(&s, &total, sizeof s);
    assert_memory_equal(&q, &total_sq, sizeof q);
    free(x);
}

static void test_l2norm_multi(void **state)
{
    (void)state;
    float a[3] = {3.0f, 0.0f, 0.0f}, b[2] = {0.0f, 4.0f};
    const float *bufs[3] = {a, b, NULL};
    size_t lens[3] = {3, 2, 0};
    assert_true(lc_reduce_l2norm_multi(bufs, lens, 3) == 5.0);
    assert_true(lc_reduce_l2norm_multi(bufs, lens, 0) == 0.0);
    assert_true(isnan(lc_reduce_l2norm_multi(NULL, lens, 2)));

    float *x = random_buffer(10000, 9);
    const float *parts[3] = {x, x + 4000, x + 9000};
    size_t plens[3] = {4000, 5000, 1000};
    double whole = lc_reduce_l2norm(x, 10000);
    double split = lc_reduce_l2norm_multi(parts, plens, 3);
    double want = sqrt(lc_reduce_sumsq(x, 4000) + lc_reduce_sumsq(x + 4000, 5000) +
                       lc_reduce_sumsq(x + 9000, 1000));
    assert_memory_equal(&split, &want, sizeof split);
    assert_true(kc_close(split, whole, 1e-14, 0));
    free(x);
}

static void test_nan_and_empty(void **state)
{
    (void)state;
    float x[5] = {1.0f, NAN, 3.0f, -2.0f, 0.5f};
    float got = 0;
    assert_int_equal(lc_reduce_max(x, 5, &got), LC_OK);
    assert_true(isnan(got));
    assert_int_equal(lc_reduce_min(x, 5, &got), LC_OK);
    assert_true(isnan(got));
    assert_true(isnan(lc_reduce_sum(x, 5)));
    x[0] = NAN; /* also when the first element is NaN */
    x[1] = 1.0f;
    assert_int_equal(lc_reduce_max(x, 5, &got), LC_OK);
    assert_true(isnan(got));
    float inf[2] = {INFINITY, 1.0f};
    assert_int_equal(lc_reduce_max(inf, 2, &got), LC_OK);
    assert_true(isinf(got) && got > 0);
    assert_true(isinf(lc_reduce_l2norm(inf, 2)));

    double mean;
    assert_true(lc_reduce_sum(x, 0) == 0.0);
    assert_true(lc_reduce_l2norm(NULL, 0) == 0.0);
    assert_true(isnan(lc_reduce_sum(NULL, 3)));
    assert_int_equal(lc_reduce_mean(x, 0, &mean), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "non-empty") != NULL);
    assert_int_equal(lc_reduce_mean(NULL, 3, &mean), LC_ERR_INVALID);
    assert_int_equal(lc_reduce_mean(x, 3, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_reduce_max(x, 0, &got), LC_ERR_INVALID);
    assert_int_equal(lc_reduce_min(NULL, 2, &got), LC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_match_reference),
        cmocka_unit_test(test_double_accumulation),
        cmocka_unit_test(test_bit_identical),
        cmocka_unit_test(test_fixed_block_partition),
        cmocka_unit_test(test_l2norm_multi),
        cmocka_unit_test(test_nan_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
