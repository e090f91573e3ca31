/*
 * tests/test_kernels_linear.c — GEMM-backed linear layer and bias add:
 * forward and backward against a naive double-precision triple loop,
 * gradients by central finite differences, accumulation semantics, bad
 * shapes, and the BLAS info / thread controls.
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
#include "linear.h"

/* ------------------------------------------------------------------------ */
/* Naive references (double)                                                 */

/* y[r][o] = b[o] + sum_i x[r][i] w[o][i] */
static void ref_forward(double *y, const float *x, const float *w, const float *b, int rows,
                        int in, int out)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++)
                s += (double)x[r * in + i] * w[o * in + i];
            y[r * out + o] = s;
        }
}

/* dx = dy W, dW = dy^T x, db = colsum(dy) */
static void ref_backward(double *dx, double *dw, double *db, const float *dy, const float *x,
                         const float *w, int rows, int in, int out)
{
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int o = 0; o < out; o++)
                s += (double)dy[r * out + o] * w[o * in + i];
            dx[r * in + i] = s;
        }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int r = 0; r < rows; r++)
                s += (double)dy[r * out + o] * x[r * in + i];
            dw[o * in + i] = s;
        }
    for (int o = 0; o < out; o++) {
        double s = 0;
        for (int r = 0; r < rows; r++)
            s += dy[r * out + o];
        db[o] = s;
    }
}

/* A linear layer's tensors for one test. */
typedef struct fixture {
    lc_tensor x, w, b, y, dy, dx, dw, db;
    int rows, in, out;
} fixture;

static void fx_init(fixture *f, int rows, int in, int out, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->rows = rows, f->in = in, f->out = out;
    assert_int_equal(lc_tensor_alloc_2d(&f->x, rows, in), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&f->w, out, in), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&f->b, out), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&f->y, rows, out), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&f->dy, rows, out), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&f->dx, rows, in), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&f->dw, out, in), LC_OK);
    assert_int_equal(lc_tensor_alloc_1d(&f->db, out), LC_OK);
    lc_rng r;
    lc_rng_seed(&r, seed, 11);
    kc_fill(&r, f->x.data, f->x.numel, -1.0f, 1.0f);
    kc_fill(&r, f->w.data, f->w.numel, -0.5f, 0.5f);
    kc_fill(&r, f->b.data, f->b.numel, -0.5f, 0.5f);
    kc_fill(&r, f->dy.data, f->dy.numel, -1.0f, 1.0f);
}

static void fx_free(fixture *f)
{
    lc_tensor *all[] = {&f->x, &f->w, &f->b, &f->y, &f->dy, &f->dx, &f->dw, &f->db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lc_tensor_free(all[i]);
}

/* ------------------------------------------------------------------------ */
/* Against the naive reference                                               */

static void check_against_reference(int rows, int in, int out, uint64_t seed)
{
    fixture f;
    fx_init(&f, rows, in, out, seed);
    double *ry = malloc(sizeof(double) * rows * out);
    double *rdx = malloc(sizeof(double) * rows * in);
    double *rdw = malloc(sizeof(double) * out * in);
    double *rdb = malloc(sizeof(double) * out);
    assert_non_null(ry), assert_non_null(rdx), assert_non_null(rdw), assert_non_null(rdb);

    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &f.b), LC_OK);
    ref_forward(ry, f.x.data, f.w.data, f.b.data, rows, in, out);
    /* float GEMM of K terms vs double: relative ~1e-6 * sqrt(K). */
    assert_int_equal(kc_count_mismatch("y", f.y.data, ry, f.y.numel, 1e-4, 1e-5), 0);

    assert_int_equal(lc_linear_backward(&f.dx, &f.dw, &f.db, &f.dy, &f.x, &f.w), LC_OK);
    ref_backward(rdx, rdw, rdb, f.dy.data, f.x.data, f.w.data, rows, in, out);
    assert_int_equal(kc_count_mismatch("dx", f.dx.data, rdx, f.dx.numel, 1e-4, 1e-5), 0);
    assert_int_equal(kc_count_mismatch("dw", f.dw.data, rdw, f.dw.numel, 1e-4, 1e-5), 0);
    assert_int_equal(kc_count_mismatch("db", f.db.data, rdb, f.db.numel, 1e-5, 1e-6), 0);

    free(ry), free(rdx), free(rdw), free(rdb);
    fx_free(&f);
}

static void test_matches_naive_small(void **state)
{
    (void)state;
    check_against_reference(3, 5, 4, 1);
    check_against_reference(1, 1, 1, 2);
    check_against_reference(7, 13, 3, 3);
}

/* The trainer's shape: Fashion-MNIST MLP first layer, batch 64. */
static void test_matches_naive_mlp_shape(void **state)
{
    (void)state;
    check_against_reference(64, 784, 256, 4);
    check_against_reference(64, 256, 10, 5);
}

static void test_forward_without_bias(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 4, 6, 3, 6);
    double ry[12];
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, NULL), LC_OK);
    ref_forward(ry, f.x.data, f.w.data, NULL, 4, 6, 3);
    assert_int_equal(kc_count_mismatch("y", f.y.data, ry, 12, 1e-5, 1e-6), 0);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* Finite differences: L = sum(y * dy), so dL/dy = dy                        */

static double fd_loss(void *ctx)
{
    fixture *f = ctx;
    assert_int_equal(lc_linear_forward(&f->y, &f->x, &f->w, &f->b), LC_OK);
    return kc_dot(f->y.data, f->dy.data, f->y.numel);
}

static void test_finite_differences(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 4, 6, 5, 7);
    assert_int_equal(lc_linear_backward(&f.dx, &f.dw, &f.db, &f.dy, &f.x, &f.w), LC_OK);
    assert_int_equal(kc_grad_check("dx", f.x.data, f.dx.data, f.x.numel, fd_loss, &f), 0);
    assert_int_equal(kc_grad_check("dw", f.w.data, f.dw.data, f.w.numel, fd_loss, &f), 0);
    assert_int_equal(kc_grad_check("db", f.b.data, f.db.data, f.b.numel, fd_loss, &f), 0);

    /* The checker itself catches a wrong gradient (5% off). */
    for (size_t i = 0; i < f.dw.numel; i++)
        f.dw.data[i] *= 1.05f;
    assert_true(kc_grad_check("dw*1.05 (expected to fail)", f.w.data, f.dw.data, f.w.numel,
                              fd_loss, &f) > 0);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* Gradient conventions                                                      */

static void test_param_grads_accumulate_dx_overwrites(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 5, 4, 3, 8);
    assert_int_equal(lc_linear_backward(&f.dx, &f.dw, &f.db, &f.dy, &f.x, &f.w), LC_OK);
    float dw1[12], db1[3], dx1[20];
    memcpy(dw1, f.dw.data, sizeof dw1);
    memcpy(db1, f.db.data, sizeof db1);
    memcpy(dx1, f.dx.data, sizeof dx1);
    assert_int_equal(lc_linear_backward(&f.dx, &f.dw, &f.db, &f.dy, &f.x, &f.w), LC_OK);
    for (int i = 0; i < 12; i++)
        assert_float_equal(f.dw.data[i], 2.0f * dw1[i], 1e-5);
    for (int i = 0; i < 3; i++)
        assert_float_equal(f.db.data[i], 2.0f * db1[i], 1e-5);
    assert_memory_equal(f.dx.data, dx1, sizeof dx1);

    /* NULL outputs are skipped. */
    lc_tensor_zero(&f.dw);
    assert_int_equal(lc_linear_backward(NULL, &f.dw, NULL, &f.dy, &f.x, &f.w), LC_OK);
    for (int i = 0; i < 12; i++)
        assert_float_equal(f.dw.data[i], dw1[i], 1e-6);
    fx_free(&f);
}

/* A [2, 3, in] input is 6 rows. */
static void test_leading_dims_flatten(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 6, 4, 2, 9);
    int64_t s3[3] = {2, 3, 4}, y3[3] = {2, 3, 2};
    assert_int_equal(lc_tensor_reshape(&f.x, 3, s3), LC_OK);
    assert_int_equal(lc_tensor_reshape(&f.y, 3, y3), LC_OK);
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &f.b), LC_OK);
    double ry[12];
    ref_forward(ry, f.x.data, f.w.data, f.b.data, 6, 4, 2);
    assert_int_equal(kc_count_mismatch("y", f.y.data, ry, 12, 1e-5, 1e-6), 0);
    fx_free(&f);
}

static void test_bias_add_alone(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 3, 2, 4, 10);
    lc_tensor_fill(&f.y, 1.0f);
    assert_int_equal(lc_bias_add_forward(&f.y, &f.b), LC_OK);
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 4; j++)
            assert_float_equal(f.y.data[r * 4 + j], 1.0f + f.b.data[j], 1e-7);
    lc_tensor_fill(&f.db, 0.5f);
    assert_int_equal(lc_bias_add_backward(&f.db, &f.dy), LC_OK);
    for (int j = 0; j < 4; j++) {
        double s = 0.5;
        for (int r = 0; r < 3; r++)
            s += f.dy.data[r * 4 + j];
        assert_float_equal(f.db.data[j], s, 1e-6);
    }
    /* b of the wrong length */
    assert_int_equal(lc_bias_add_forward(&f.y, &f.db), LC_OK);
    assert_int_equal(lc_bias_add_forward(&f.x, &f.b), LC_ERR_INVALID);
    assert_int_equal(lc_bias_add_backward(&f.b, &f.x), LC_ERR_INVALID);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                 */

static void test_shape_mismatches(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 4, 6, 3, 12);
    lc_tensor wrong;
    assert_int_equal(lc_tensor_alloc_2d(&wrong, 4, 5), LC_OK);

    /* x has 6 features, w expects 5 */
    lc_tensor w5;
    assert_int_equal(lc_tensor_alloc_2d(&w5, 3, 5), LC_OK);
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &w5, &f.b), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "input features") != NULL);
    /* y has the wrong number of outputs */
    assert_int_equal(lc_linear_forward(&wrong, &f.x, &f.w, &f.b), LC_ERR_INVALID);
    /* bias of the wrong length */
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &f.db), LC_OK);
    lc_tensor b4;
    assert_int_equal(lc_tensor_alloc_1d(&b4, 4), LC_OK);
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &b4), LC_ERR_INVALID);
    /* w not 2-D */
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.b, NULL), LC_ERR_INVALID);
    /* NULL and empty tensors */
    lc_tensor empty;
    memset(&empty, 0, sizeof empty);
    assert_int_equal(lc_linear_forward(NULL, &f.x, &f.w, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_linear_forward(&f.y, &empty, &f.w, NULL), LC_ERR_INVALID);
    /* backward: dx / dw / db shapes */
    assert_int_equal(lc_linear_backward(&wrong, NULL, NULL, &f.dy, &f.x, &f.w), LC_ERR_INVALID);
    assert_int_equal(lc_linear_backward(NULL, &f.x, NULL, &f.dy, &f.x, &f.w), LC_ERR_INVALID);
    assert_int_equal(lc_linear_backward(NULL, NULL, &b4, &f.dy, &f.x, &f.w), LC_ERR_INVALID);
    assert_int_equal(lc_linear_backward(NULL, NULL, NULL, &f.x, &f.x, &f.w), LC_ERR_INVALID);
    /* the output sharing memory with an input */
    lc_tensor sq_x, sq_w;
    assert_int_equal(lc_tensor_alloc_2d(&sq_x, 3, 3), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&sq_w, 3, 3), LC_OK);
    assert_int_equal(lc_linear_forward(&sq_x, &sq_x, &sq_w, NULL), LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "share memory") != NULL);

    lc_tensor_free(&sq_x);
    lc_tensor_free(&sq_w);
    lc_tensor_free(&b4);
    lc_tensor_free(&w5);
    lc_tensor_free(&wrong);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* BLAS info and threads                                                     */

static void test_blas_info_and_threads(void **state)
{
    (void)state;
    const char *info = lc_blas_info();
    assert_non_null(info);
    assert_true(strstr(info, "OpenBLAS") != NULL);
    assert_true(strstr(info, "core ") != NULL);
    assert_ptr_equal(info, lc_blas_info()); /* built once */

    int before = lc_blas_get_threads();
    assert_true(before >= 1);
    lc_blas_set_threads(1);
    assert_int_equal(lc_blas_get_threads(), 1);
    lc_blas_set_threads(0); /* clamped to 1 */
    assert_int_equal(lc_blas_get_threads(), 1);

    /* Same GEMM with 1 thread and with the previous count: both correct. */
    fixture f;
    fx_init(&f, 32, 64, 48, 13);
    double *ry = malloc(sizeof(double) * 32 * 48);
    assert_non_null(ry);
    ref_forward(ry, f.x.data, f.w.data, f.b.data, 32, 64, 48);
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &f.b), LC_OK);
    assert_int_equal(kc_count_mismatch("y1", f.y.data, ry, f.y.numel, 1e-4, 1e-5), 0);
    lc_blas_set_threads(before);
    assert_int_equal(lc_blas_get_threads(), before);
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &f.b), LC_OK);
    assert_int_equal(kc_count_mismatch("yN", f.y.data, ry, f.y.numel, 1e-4, 1e-5), 0);
    free(ry);
    fx_free(&f);
}

/* The backward runs as one job of tasks (dW slices, dx slices, the bias
 * gradient) taken by whichever thread is free: for the MLP's sliced and
 * unsliced shapes and every choice of outputs, the bits are those of one
 * thread, with 2 and 3 threads. */
static void test_backward_bits_any_threads(void **state)
{
    (void)state;
    const int shapes[3][3] = {{128, 784, 512}, {128, 512, 256}, {128, 256, 10}};
    int before = lc_blas_get_threads();
    for (int s = 0; s < 3; s++) {
        for (int outs = 1; outs < 8; outs++) { /* bit 0: dx, 1: dw, 2: db */
            fixture f;
            fx_init(&f, shapes[s][0], shapes[s][1], shapes[s][2], 40 + (uint64_t)s);
            size_t nx = f.dx.numel * 4, nw = f.dw.numel * 4, nb = f.db.numel * 4;
            float *dx1 = malloc(nx), *dw1 = malloc(nw), *db1 = malloc(nb);
            assert_non_null(dx1), assert_non_null(dw1), assert_non_null(db1);
            for (int threads = 1; threads <= 3; threads++) {
                lc_blas_set_threads(threads);
                lc_tensor_fill(&f.dx, -7.0f);
                lc_tensor_fill(&f.dw, 0.25f); /* dW and db accumulate */
                lc_tensor_fill(&f.db, -0.5f);
                assert_int_equal(lc_linear_backward(outs & 1 ? &f.dx : NULL,
                                                    outs & 2 ? &f.dw : NULL,
                                                    outs & 4 ? &f.db : NULL, &f.dy, &f.x, &f.w),
                                 LC_OK);
                if (threads == 1) {
                    memcpy(dx1, f.dx.data, nx), memcpy(dw1, f.dw.data, nw);
                    memcpy(db1, f.db.data, nb);
                    continue;
                }
                assert_memory_equal(f.dx.data, dx1, nx);
                assert_memory_equal(f.dw.data, dw1, nw);
                assert_memory_equal(f.db.data, db1, nb);
            }
            /* an output left out is left alone */
            if (!(outs & 1))
                assert_true(dx1[0] == -7.0f && dx1[f.dx.numel - 1] == -7.0f);
            if (!(outs & 2))
                assert_true(dw1[0] == 0.25f && dw1[f.dw.numel - 1] == 0.25f);
            if (!(outs & 4))
                assert_true(db1[0] == -0.5f);
            free(dx1), free(dw1), free(db1);
            fx_free(&f);
        }
    }
    lc_blas_set_threads(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_naive_small),
        cmocka_unit_test(test_matches_naive_mlp_shape),
        cmocka_unit_test(test_backward_bits_any_threads),
        cmocka_unit_test(test_forward_without_bias),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_param_grads_accumulate_dx_overwrites),
        cmocka_unit_test(test_leading_dims_flatten),
        cmocka_unit_test(test_bias_add_alone),
        cmocka_unit_test(test_shape_mismatches),
        cmocka_unit_test(test_blas_info_and_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
