/*
 * tests/test_kernels_dropout.c — inverted dropout: eval / p=0 identity
 * without consuming the RNG, p=1, the keep rate and scaling, reproducible
 * masks from a restored RNG, backward against the mask and by finite
 * differences, bad arguments.
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
#include "dropout.h"
#include "kernel_check.h"

enum { N = 1001 };

typedef struct tensors {
    lc_tensor x, y, dy, dx;
    uint8_t mask[N];
} tensors;

static void ts_init(tensors *t, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(lc_tensor_alloc_1d(&t->x, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&t->y, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&t->dy, N), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&t->dx, N), LC_OK);
    lc_rng r;
    lc_rng_seed(&r, seed, 5);
    kc_fill(&r, t->x.data, N, -1.0f, 1.0f);
    kc_fill(&r, t->dy.data, N, -1.0f, 1.0f);
}

static void ts_free(tensors *t)
{
    lc_tensor_free(&t->x), lc_tensor_free(&t->y), lc_tensor_free(&t->dy), lc_tensor_free(&t->dx);
}

static void test_identity_in_eval_and_p0(void **state)
{
    (void)state;
    tensors t;
    ts_init(&t, 1);
    lc_rng rng, before;
    lc_rng_seed(&rng, 77, 1);
    before = rng;
    memset(t.mask, 0xAB, N);

    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 0.5f, 0, &rng), LC_OK);
    assert_memory_equal(t.y.data, t.x.data, N * sizeof(float));
    assert_int_equal(lc_dropout_backward(&t.dx, &t.dy, NULL, 0.5f, 0), LC_OK);
    assert_memory_equal(t.dx.data, t.dy.data, N * sizeof(float));

    lc_tensor_zero(&t.y);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 0.0f, 1, &rng), LC_OK);
    assert_memory_equal(t.y.data, t.x.data, N * sizeof(float));
    assert_int_equal(lc_dropout_backward(&t.dx, &t.dy, NULL, 0.0f, 1), LC_OK);
    assert_memory_equal(t.dx.data, t.dy.data, N * sizeof(float));

    /* Neither call touched the RNG or the mask. */
    assert_memory_equal(&rng, &before, sizeof rng);
    for (int i = 0; i < N; i++)
        assert_int_equal(t.mask[i], 0xAB);
    ts_free(&t);
}

static void test_p1_zeroes(void **state)
{
    (void)state;
    tensors t;
    ts_init(&t, 2);
    lc_rng rng;
    lc_rng_seed(&rng, 77, 1);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 1.0f, 1, &rng), LC_OK);
    assert_int_equal(lc_dropout_backward(&t.dx, &t.dy, t.mask, 1.0f, 1), LC_OK);
    for (int i = 0; i < N; i++) {
        assert_true(t.y.data[i] == 0.0f);
        assert_true(t.dx.data[i] == 0.0f);
        assert_int_equal(t.mask[i], 0);
    }
    ts_free(&t);
}

static void test_keep_rate_and_scale(void **state)
{
    (void)state;
    enum { M = 100000 };
    lc_tensor x, y;
    uint8_t *mask = malloc(M);
    assert_non_null(mask);
    assert_int_equal(lc_tensor_alloc_1d(&x, M), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&y, M), LC_OK);
    lc_tensor_fill(&x, 2.0f);
    lc_rng rng;
    lc_rng_seed(&rng, 3, 1);
    const float p = 0.3f;
    assert_int_equal(lc_dropout_forward(&y, mask, &x, p, 1, &rng), LC_OK);
    long kept = 0;
    double sum = 0;
    for (int i = 0; i < M; i++) {
        if (mask[i]) {
            kept++;
            assert_float_equal(y.data[i], 2.0f / (1.0f - p), 1e-6);
        } else {
            assert_true(y.data[i] == 0.0f);
        }
        sum += y.data[i];
    }
    /* keep rate 0.7, standard error ~0.0015 */
    assert_true(fabs((double)kept / M - 0.7) < 0.01);
    /* inverted dropout preserves the mean (2.0) */
    assert_true(fabs(sum / M - 2.0) < 0.03);
    free(mask);
    lc_tensor_free(&x), lc_tensor_free(&y);
}

static void test_mask_reproducible_from_rng_state(void **state)
{
    (void)state;
    tensors t;
    ts_init(&t, 4);
    lc_rng rng;
    lc_rng_seed(&rng, 42, 9);
    uint64_t saved[2];
    lc_rng_save(&rng, saved);
    uint8_t first[N];
    float y1[N];
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 0.5f, 1, &rng), LC_OK);
    memcpy(first, t.mask, N);
    memcpy(y1, t.y.data, sizeof y1);
    /* Next call draws a different mask... */
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 0.5f, 1, &rng), LC_OK);
    assert_true(memcmp(first, t.mask, N) != 0);
    /* ...and the restored state repeats the first one bit for bit. */
    lc_rng_restore(&rng, saved);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 0.5f, 1, &rng), LC_OK);
    assert_memory_equal(first, t.mask, N);
    assert_memory_equal(y1, t.y.data, sizeof y1);
    ts_free(&t);
}

/* L = sum(dropout(x) * dy) with the RNG rewound before every forward, so
 * the mask is fixed and dL/dx = dy * mask / (1 - p). */
typedef struct fd_ctx {
    tensors *t;
    uint64_t rng_state[2];
    float p;
} fd_ctx;

static double fd_loss(void *p)
{
    fd_ctx *c = p;
    lc_rng rng;
    lc_rng_restore(&rng, c->rng_state);
    assert_int_equal(lc_dropout_forward(&c->t->y, c->t->mask, &c->t->x, c->p, 1, &rng), LC_OK);
    return kc_dot(c->t->y.data, c->t->dy.data, N);
}

static void test_backward(void **state)
{
    (void)state;
    tensors t;
    ts_init(&t, 5);
    fd_ctx c = {&t, {0, 0}, 0.25f};
    lc_rng rng;
    lc_rng_seed(&rng, 8, 8);
    lc_rng_save(&rng, c.rng_state);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, c.p, 1, &rng), LC_OK);
    assert_int_equal(lc_dropout_backward(&t.dx, &t.dy, t.mask, c.p, 1), LC_OK);
    double want[N];
    for (int i = 0; i < N; i++)
        want[i] = t.mask[i] ? t.dy.data[i] / (1.0 - c.p) : 0.0;
    assert_int_equal(kc_count_mismatch("dx", t.dx.data, want, N, 1e-6, 0), 0);
    assert_int_equal(kc_grad_check("dropout dx", t.x.data, t.dx.data, N, fd_loss, &c), 0);

    /* In place: dx may be dy. */
    assert_int_equal(lc_dropout_backward(&t.dy, &t.dy, t.mask, c.p, 1), LC_OK);
    assert_memory_equal(t.dy.data, t.dx.data, N * sizeof(float));
    ts_free(&t);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tensors t;
    ts_init(&t, 6);
    lc_rng rng;
    lc_rng_seed(&rng, 1, 1);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, -0.1f, 1, &rng), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "[0, 1]") != NULL);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 1.5f, 0, &rng), LC_ERR_INVALID);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, NAN, 1, &rng), LC_ERR_INVALID);
    assert_int_equal(lc_dropout_forward(&t.y, NULL, &t.x, 0.5f, 1, &rng), LC_ERR_INVALID);
    assert_int_equal(lc_dropout_forward(&t.y, t.mask, &t.x, 0.5f, 1, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_dropout_backward(&t.dx, &t.dy, NULL, 0.5f, 1), LC_ERR_INVALID);
    assert_int_equal(lc_dropout_backward(&t.dx, &t.dy, t.mask, 2.0f, 1), LC_ERR_INVALID);
    lc_tensor small;
    assert_int_equal(lc_tensor_alloc_1d(&small, 10), LC_OK);
    assert_int_equal(lc_dropout_forward(&small, t.mask, &t.x, 0.5f, 1, &rng), LC_ERR_INVALID);
    assert_int_equal(lc_dropout_backward(&small, &t.dy, t.mask, 0.5f, 1), LC_ERR_INVALID);
    lc_tensor_free(&small);
    ts_free(&t);
}

/* The mask kernel (jump-ahead stretches, interleaved, over threads) gives
 * exactly the bytes of sequential draws and leaves the RNG where they do. */
static void test_mask_matches_sequential_draws(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 3, 4, 7, 8191, 8192, 8193, 65536, 98304 + 5, 300001};
    const uint32_t th = 858993459u; /* p = 0.2 */
    int saved = lc_blas_get_threads();
    for (int threads = 1; threads <= 3; threads++) {
        lc_blas_set_threads(threads);
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            size_t n = sizes[k];
            uint8_t *got = malloc(n), *want = malloc(n);
            lc_rng a, b;
            lc_rng_seed(&a, 11, 12);
            lc_rng_seed(&b, 11, 12);
            lc_rng_u32(&a); /* not at the start of the stream */
            lc_rng_u32(&b);
            lc_rng_bernoulli_mask(&a, got, n, th);
            for (size_t i = 0; i < n; i++)
                want[i] = lc_rng_u32(&b) >= th;
            assert_memory_equal(got, want, n);
            assert_true(a.state == b.state && a.inc == b.inc);
            free(got);
            free(want);
        }
    }
    lc_blas_set_threads(saved);
    /* advance(k) == k draws */
    lc_rng a, b;
    lc_rng_seed(&a, 1, 2);
    b = a;
    lc_rng_advance(&a, 1000);
    for (int i = 0; i < 1000; i++)
        lc_rng_u32(&b);
    assert_true(a.state == b.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_in_eval_and_p0),
        cmocka_unit_test(test_p1_zeroes),
        cmocka_unit_test(test_keep_rate_and_scale),
        cmocka_unit_test(test_mask_reproducible_from_rng_state),
        cmocka_unit_test(test_backward),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_mask_matches_sequential_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
