/*
 * tests/test_kernels_tensor.c — the kernels' tensor type (alloc, views,
 * reshape, fills, copies, bad shapes) and the PCG32 RNG (known-answer
 * vector, save/restore, distributions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "rng.h"
#include "tensor.h"

/* ------------------------------------------------------------------------ */
/* Tensor                                                                    */

static void test_alloc_shape_and_zero(void **state)
{
    (void)state;
    lc_tensor t;
    int64_t shape[3] = {2, 3, 5};
    assert_int_equal(lc_tensor_alloc(&t, 3, shape), LC_OK);
    assert_non_null(t.data);
    assert_int_equal(t.owns, 1);
    assert_int_equal(t.ndim, 3);
    assert_int_equal(t.numel, 30);
    assert_int_equal(t.shape[3], 1);
    assert_int_equal(lc_tensor_rows(&t), 6);
    assert_int_equal(lc_tensor_cols(&t), 5);
    assert_int_equal((uintptr_t)t.data % 64, 0);
    for (size_t i = 0; i < t.numel; i++)
        assert_true(t.data[i] == 0.0f);
    char buf[64];
    assert_string_equal(lc_tensor_shape_str(&t, buf, sizeof buf), "[2, 3, 5]");
    lc_tensor_free(&t);
    assert_null(t.data);
    assert_int_equal(t.numel, 0);
    assert_int_equal(lc_tensor_rows(&t), 0); /* empty tensor: no dims */
    assert_int_equal(lc_tensor_cols(NULL), 0);
    lc_tensor_free(&t); /* twice is fine */
    lc_tensor_free(NULL);
}

static void test_alloc_rejects_bad_shapes(void **state)
{
    (void)state;
    lc_tensor t;
    int64_t ok[2] = {2, 3}, zero[2] = {2, 0}, neg[1] = {-4}, five[5] = {1, 1, 1, 1, 1};
    int64_t huge[2] = {INT64_MAX / 2, INT64_MAX / 2};
    assert_int_equal(lc_tensor_alloc(&t, 0, ok), LC_ERR_INVALID);
    assert_null(t.data);
    assert_true(strstr(lc_errmsg(), "dimensions") != NULL);
    assert_int_equal(lc_tensor_alloc(&t, 5, five), LC_ERR_INVALID);
    assert_int_equal(lc_tensor_alloc(&t, 2, zero), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "dimension 1 is 0") != NULL);
    assert_int_equal(lc_tensor_alloc(&t, 1, neg), LC_ERR_INVALID);
    assert_int_equal(lc_tensor_alloc(&t, 2, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_tensor_alloc(&t, 2, huge), LC_ERR_INVALID);
    assert_null(t.data);
    assert_int_equal(lc_tensor_alloc(NULL, 2, ok), LC_ERR_INVALID);
    assert_int_equal(lc_tensor_alloc_2d(&t, 0, 3), LC_ERR_INVALID);
}

static void test_view_is_not_freed(void **state)
{
    (void)state;
    float block[12] = {0};
    lc_tensor v;
    int64_t shape[2] = {3, 4};
    assert_int_equal(lc_tensor_view(&v, block + 0, 2, shape), LC_OK);
    assert_int_equal(v.owns, 0);
    assert_ptr_equal(v.data, block);
    lc_tensor_fill(&v, 2.5f);
    assert_true(block[11] == 2.5f);
    /* Freeing a view of stack memory must not call free() (ASan would
     * report it); it only clears the struct. */
    lc_tensor_free(&v);
    assert_null(v.data);
    assert_true(block[0] == 2.5f);
    assert_int_equal(lc_tensor_view(&v, NULL, 2, shape), LC_ERR_INVALID);
}

static void test_reshape_fill_zero_copy(void **state)
{
    (void)state;
    lc_tensor a, b, c;
    assert_int_equal(lc_tensor_alloc_2d(&a, 4, 6), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&b, 4, 6), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&c, 6, 4), LC_OK);
    for (size_t i = 0; i < a.numel; i++)
        a.data[i] = (float)i;
    assert_int_equal(lc_tensor_copy(&b, &a), LC_OK);
    assert_memory_equal(a.data, b.data, a.numel * sizeof(float));
    /* Same element count, different shape: copy refuses. */
    assert_int_equal(lc_tensor_copy(&c, &a), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "[6, 4]") != NULL);
    assert_false(lc_tensor_same_shape(&a, &c));

    int64_t s3[3] = {2, 3, 4};
    assert_int_equal(lc_tensor_reshape(&a, 3, s3), LC_OK);
    assert_int_equal(lc_tensor_rows(&a), 6);
    assert_true(a.data[23] == 23.0f);
    int64_t bad[2] = {5, 5};
    assert_int_equal(lc_tensor_reshape(&a, 2, bad), LC_ERR_INVALID);
    assert_int_equal(a.ndim, 3); /* unchanged on error */

    lc_tensor_fill(&b, -1.5f);
    for (size_t i = 0; i < b.numel; i++)
        assert_true(b.data[i] == -1.5f);
    lc_tensor_zero(&b);
    for (size_t i = 0; i < b.numel; i++)
        assert_true(b.data[i] == 0.0f);
    assert_int_equal(lc_tensor_copy(NULL, &a), LC_ERR_INVALID);
    lc_tensor_free(&a);
    lc_tensor_free(&b);
    lc_tensor_free(&c);
}

/* ------------------------------------------------------------------------ */
/* RNG                                                                       */

/* Known answer: the reference PCG32 (pcg32-demo) seeded with (42, 54)
 * has inc 109, state 1753877967969059832 and then outputs these. */
static void test_pcg32_known_answer(void **state)
{
    (void)state;
    lc_rng r;
    lc_rng_seed(&r, 42u, 54u);
    assert_true(r.inc == 109u);
    assert_true(r.state == 1753877967969059832ull);
    const uint32_t want[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                              0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    for (int i = 0; i < 6; i++)
        assert_int_equal(lc_rng_u32(&r), want[i]);
}

static void test_rng_save_restore_and_streams(void **state)
{
    (void)state;
    lc_rng a, b, c;
    lc_rng_seed(&a, 7, 1);
    lc_rng_seed(&c, 7, 2);
    for (int i = 0; i < 10; i++)
        lc_rng_u32(&a);
    uint64_t saved[2];
    lc_rng_save(&a, saved);
    float fa[33], fb[33];
    lc_rng_normal_fill(&a, fa, 33, 0.0f, 1.0f);
    lc_rng_restore(&b, saved);
    lc_rng_normal_fill(&b, fb, 33, 0.0f, 1.0f);
    assert_memory_equal(fa, fb, sizeof fa);
    assert_int_equal(lc_rng_u32(&a), lc_rng_u32(&b));

    /* Another stream of the same seed is another sequence. */
    lc_rng_seed(&a, 7, 1);
    int same = 0;
    for (int i = 0; i < 16; i++)
        same += lc_rng_u32(&a) == lc_rng_u32(&c);
    assert_true(same < 2);
}

static void test_rng_distributions(void **state)
{
    (void)state;
    enum { N = 200000 };
    static float x[N];
    lc_rng r;
    lc_rng_seed(&r, 1234, 0);

    lc_rng_uniform_fill(&r, x, N, -2.0f, 2.0f);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        assert_true(x[i] >= -2.0f && x[i] < 2.0f);
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    /* U(-2, 2): mean 0, variance 16/12. Standard errors ~0.0026, ~0.004. */
    assert_true(fabs(s / N) < 0.02);
    assert_true(fabs(s2 / N - 16.0 / 12.0) < 0.03);

    lc_rng_normal_fill(&r, x, N, 3.0f, 0.5f);
    s = s2 = 0;
    int beyond = 0;
    for (int i = 0; i < N; i++) {
        assert_true(isfinite(x[i]));
        s += x[i];
        s2 += ((double)x[i] - 3.0) * ((double)x[i] - 3.0);
        beyond += fabs(x[i] - 3.0) > 1.0; /* > 2 sigma: 4.55% */
    }
    assert_true(fabs(s / N - 3.0) < 0.01);
    assert_true(fabs(sqrt(s2 / N) - 0.5) < 0.01);
    assert_true(fabs((double)beyond / N - 0.0455) < 0.005);

    /* lc_rng_below: in range and roughly uniform over 7 buckets. */
    int count[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t v = lc_rng_below(&r, 7);
        assert_true(v < 7);
        count[v]++;
    }
    for (int k = 0; k < 7; k++)
        assert_true(count[k] > 9400 && count[k] < 10600);
    assert_int_equal(lc_rng_below(&r, 0), 0);
    assert_int_equal(lc_rng_below(&r, 1), 0);

    /* Uniform floats never reach 1. */
    for (int i = 0; i < 100000; i++) {
        float u = lc_rng_uniform(&r);
        assert_true(u >= 0.0f && u < 1.0f);
    }
}

static void test_tensor_rand_init(void **state)
{
    (void)state;
    lc_tensor t;
    lc_rng r1, r2;
    assert_int_equal(lc_tensor_alloc_2d(&t, 16, 16), LC_OK);
    lc_rng_seed(&r1, 99, 3);
    r2 = r1;
    lc_tensor_rand_uniform(&t, &r1, -0.1f, 0.1f);
    float ref[256];
    lc_rng_uniform_fill(&r2, ref, 256, -0.1f, 0.1f);
    assert_memory_equal(t.data, ref, sizeof ref);
    lc_tensor_rand_normal(&t, &r1, 0.0f, 1.0f);
    int nonzero = 0;
    for (size_t i = 0; i < t.numel; i++)
        nonzero += t.data[i] != 0.0f;
    assert_true(nonzero > 250);
    lc_tensor_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_shape_and_zero),
        cmocka_unit_test(test_alloc_rejects_bad_shapes),
        cmocka_unit_test(test_view_is_not_freed),
        cmocka_unit_test(test_reshape_fill_zero_copy),
        cmocka_unit_test(test_pcg32_known_answer),
        cmocka_unit_test(test_rng_save_restore_and_streams),
        cmocka_unit_test(test_rng_distributions),
        cmocka_unit_test(test_tensor_rand_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
