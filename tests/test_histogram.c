/*
 * tests/test_histogram.c — bucketing on TensorBoard's default ladder: the
 * ladder itself, the O(1) index equal to a binary search for every edge,
 * its neighbours, 0, -0, denormals, huge values and random values, and the
 * histograms built from float/double arrays (stats, non-finite values,
 * empty input, one-block allocation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shared/histogram.h"

static void test_ladder(void **s)
{
    (void)s;
    /* the TensorFlow / PyTorch loop, independently */
    double v = 1e-12;
    int k = 0;
    while (v < 1e20) {
        assert_true(lc_histogram_limit(775 + (uint32_t)k) == v);
        assert_true(lc_histogram_limit(773 - (uint32_t)k) == -v);
        v *= 1.1;
        k++;
    }
    assert_int_equal(k, LC_HIST_LADDER_HALF);
    assert_int_equal(LC_HIST_NBUCKETS, 1550);
    assert_true(lc_histogram_limit(774) == 0.0);
    assert_true(lc_histogram_limit(1549) == DBL_MAX);
    assert_true(lc_histogram_limit(1548) < 1e20 && lc_histogram_limit(1548) > 9.9e19);
    for (uint32_t i = 1; i < LC_HIST_NBUCKETS; i++)
        assert_true(lc_histogram_limit(i - 1) < lc_histogram_limit(i));
}

static void expect_same(double x)
{
    uint32_t fast = lc_histogram_bucket(x);
    uint32_t ref = lc_histogram_bucket_bsearch(x);
    if (fast != ref)
        fail_msg("value %.17g: O(1) bucket %u, binary search %u", x, fast, ref);
    /* the rule itself: limit(b-1) <= x < limit(b) */
    if (ref < LC_HIST_NBUCKETS - 1)
        assert_true(x < lc_histogram_limit(ref));
    if (ref > 0)
        assert_true(lc_histogram_limit(ref - 1) <= x);
}

static void test_edges_and_neighbours(void **s)
{
    (void)s;
    for (uint32_t i = 0; i < LC_HIST_NBUCKETS; i++) {
        double e = lc_histogram_limit(i);
        expect_same(e);
        expect_same(nextafter(e, -INFINITY));
        if (e < DBL_MAX)
            expect_same(nextafter(e, INFINITY));
        /* an exact edge starts the next bucket (half-open rule) */
        if (i + 1 < LC_HIST_NBUCKETS)
            assert_int_equal(lc_histogram_bucket(e), i + 1);
    }
}

static void test_special_values(void **s)
{
    (void)s;
    double vals[] = {0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, -1e-300, 1e-13,
                     -1e-13, 1e-12, -1e-12, 1.0, -1.0, 0.5, 1e19, 1e20, -1e20, 1e30, -1e30,
                     DBL_MAX, -DBL_MAX, 3.4028234663852886e38, 1e300};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        expect_same(vals[i]);
    assert_int_equal(lc_histogram_bucket(0.0), 775);  /* [0, 1e-12) */
    assert_int_equal(lc_histogram_bucket(-0.0), 775);
    assert_int_equal(lc_histogram_bucket(5e-324), 775);
    assert_int_equal(lc_histogram_bucket(-5e-324), 774); /* [-1e-12, 0) */
    assert_int_equal(lc_histogram_bucket(-1e-12), 774);
    assert_int_equal(lc_histogram_bucket(1e20), 1549);   /* overflow bucket */
    assert_int_equal(lc_histogram_bucket(DBL_MAX), 1549);
    assert_int_equal(lc_histogram_bucket(-1e20), 0);     /* [-DBL_MAX, -9.92e19) */
    assert_int_equal(lc_histogram_bucket(-DBL_MAX), 0);
    assert_int_equal(lc_histogram_bucket(1.0), lc_histogram_bucket_bsearch(1.0));
}

static void test_random_values(void **s)
{
    (void)s;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* log-uniform over 1e-320 .. 1e308 plus uniform mantissa, both signs */
        double e = (double)(x % 2000) / 2000.0 * 628.0 - 320.0;
        double m = 1.0 + (double)((x >> 20) % 1000000) / 1000000.0;
        double v = m * pow(10.0, e);
        if (x & (1ull << 40))
            v = -v;
        if (isfinite(v))
            expect_same(v);
        /* and uniform doubles from raw bits */
        double r;
        uint64_t bits = x;
        memcpy(&r, &bits, sizeof r);
        if (isfinite(r))
            expect_same(r);
    }
}

static void test_limit_index_and_left_edge(void **s)
{
    (void)s;
    for (uint32_t i = 0; i < LC_HIST_NBUCKETS; i++)
        assert_int_equal(lc_histogram_limit_index(lc_histogram_limit(i)), (int)i);
    assert_int_equal(lc_histogram_limit_index(0.7), -1);
    assert_int_equal(lc_histogram_limit_index(NAN), -1);
    assert_true(lc_histogram_left_edge(lc_histogram_limit(0)) == -DBL_MAX);
    assert_true(lc_histogram_left_edge(1e-12) == 0.0);
    assert_true(lc_histogram_left_edge(0.0) == -1e-12);
    assert_true(lc_histogram_left_edge(DBL_MAX) == lc_histogram_limit(1548));
    assert_true(lc_histogram_left_edge(0.7) == 0.7);
}

static void check_hist_consistent(const lc_histogram *h)
{
    double total = 0;
    for (uint32_t i = 0; i < h->nbuckets; i++) {
        assert_true(h->count[i] > 0);
        assert_true(lc_histogram_limit_index(h->limit[i]) >= 0);
        if (i)
            assert_true(h->limit[i - 1] < h->limit[i]);
        total += h->count[i];
    }
    assert_true(total == h->num);
}

static void test_from_f64(void **s)
{
    (void)s;
    char key[] = "weights/layer1";
    double v[] = {-1.0, 0.0, 0.5, 0.5, 2.0, NAN, INFINITY, -INFINITY};
    lc_histogram *h = lc_histogram_from_f64(key, v, 8);
    assert_non_null(h);
    key[0] = 'X'; /* the key was copied */
    assert_string_equal(h->key, "weights/layer1");
    assert_true(h->num == 5);
    assert_int_equal(h->nonfinite, 3);
    assert_true(h->min == -1.0 && h->max == 2.0);
    assert_true(h->sum == 2.0);
    assert_true(h->sum_squares == 5.5);
    assert_int_equal(h->nbuckets, 4); /* -1, 0, 0.5 (x2), 2 */
    check_hist_consistent(h);
    /* the bucket holding 0.5 has count 2 and the right limit */
    int found = 0;
    for (uint32_t i = 0; i < h->nbuckets; i++) {
        if (h->limit[i] == lc_histogram_limit(lc_histogram_bucket(0.5))) {
            assert_true(h->count[i] == 2);
            found = 1;
        }
    }
    assert_true(found);
    free(h); /* one block: ASan checks nothing leaks */
}

static void test_from_f32_matches_f64(void **s)
{
    (void)s;
    enum { N = 5000 };
    float *f = malloc(N * sizeof *f);
    double *d = malloc(N * sizeof *d);
    assert_non_null(f);
    assert_non_null(d);
    uint32_t x = 1;
    for (int i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;
        f[i] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 10.0f;
        if (i % 97 == 0)
            f[i] = 1e-40f; /* float denormal */
        d[i] = f[i];
    }
    lc_histogram *a = lc_histogram_from_f32("w", f, N);
    lc_histogram *b = lc_histogram_from_f64("w", d, N);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->nbuckets, b->nbuckets);
    assert_true(a->num == N && b->num == N);
    assert_memory_equal(a->limit, b->limit, a->nbuckets * sizeof(double));
    assert_memory_equal(a->count, b->count, a->nbuckets * sizeof(double));
    assert_true(a->sum == b->sum && a->min == b->min && a->max == b->max);
    check_hist_consistent(a);
    free(a);
    free(b);
    free(f);
    free(d);
}

static void test_empty_and_all_nan(void **s)
{
    (void)s;
    lc_histogram *h = lc_histogram_from_f64("e", NULL, 0);
    assert_non_null(h);
    assert_true(h->num == 0);
    assert_int_equal(h->nbuckets, 0);
    assert_true(h->min == 0 && h->max == 0);
    free(h);
    float nans[3] = {NAN, NAN, INFINITY};
    h = lc_histogram_from_f32(NULL, nans, 3);
    assert_non_null(h);
    assert_string_equal(h->key, "");
    assert_true(h->num == 0);
    assert_int_equal(h->nonfinite, 3);
    assert_int_equal(h->nbuckets, 0);
    free(h);
    /* NULL values with a count is an error, not a crash */
    assert_null(lc_histogram_from_f64("x", NULL, 5));
    assert_null(lc_histogram_from_f32("x", NULL, 5));
}

static void test_huge_values(void **s)
{
    (void)s;
    double v[] = {1e20, 5e25, -1e30, DBL_MAX};
    lc_histogram *h = lc_histogram_from_f64("big", v, 4);
    assert_non_null(h);
    assert_int_equal(h->nbuckets, 2);
    assert_true(h->limit[0] == lc_histogram_limit(0) && h->count[0] == 1);
    assert_true(h->limit[1] == DBL_MAX && h->count[1] == 3);
    assert_true(h->max == DBL_MAX && h->min == -1e30);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ladder),
        cmocka_unit_test(test_edges_and_neighbours),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_random_values),
        cmocka_unit_test(test_limit_index_and_left_edge),
        cmocka_unit_test(test_from_f64),
        cmocka_unit_test(test_from_f32_matches_f64),
        cmocka_unit_test(test_empty_and_all_nan),
        cmocka_unit_test(test_huge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
