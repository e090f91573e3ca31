/*
 * tests/test_kernels_backend.c — tensors with dtypes and devices, the
 * backend registry, the CPU backend and its 16-bit emulation:
 *  - dtype allocation, casts (round trip, RNE), copy/kernels refusing a
 *    tensor of the wrong dtype with a clear message;
 *  - the host backend is always there, a CUDA one only when compiled in or
 *    registered; registration refuses an incomplete table;
 *  - float32 through the table is bit-identical to the kernels called
 *    directly;
 *  - float16 / bfloat16 compute is exactly "round the operands, float32
 *    kernel, round the result", every output is a value of the format,
 *    results are close to float32's, gradients accumulate in float32, and
 *    a float16 weight gradient past 65504 becomes Inf;
 *  - the autocast context nests and is per thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "autocast.h"
#include "backend.h"
#include "half.h"
#include "kernel_check.h"
#include "kernels.h"

static float fmt_round(lc_dtype fmt, float x)
{
    return fmt == LC_DTYPE_F16 ? lc_round_f16(x) : fmt == LC_DTYPE_BF16 ? lc_round_bf16(x) : x;
}

static void assert_in_format(lc_dtype fmt, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float r = fmt_round(fmt, x[i]);
        if (memcmp(&r, &x[i], 4) != 0 && !(isnan(r) && isnan(x[i])))
            fail_msg("element %zu = %.9g is not a %s value", i, (double)x[i], lc_dtype_name(fmt));
    }
}

/* ---- tensors -------------------------------------------------------------------- */

static void test_tensor_dtypes(void **s)
{
    (void)s;
    int64_t shape[2] = {3, 5};
    lc_tensor f32, f16, bf16, back;
    assert_int_equal(lc_tensor_alloc(&f32, 2, shape), LC_OK);
    assert_int_equal(f32.dtype, LC_DTYPE_F32);
    assert_int_equal(f32.device, LC_DEVICE_HOST);
    assert_int_equal(lc_tensor_alloc_dtype(&f16, LC_DTYPE_F16, 2, shape), LC_OK);
    assert_int_equal(lc_tensor_alloc_dtype(&bf16, LC_DTYPE_BF16, 2, shape), LC_OK);
    assert_int_equal(lc_tensor_alloc(&back, 2, shape), LC_OK);
    assert_int_equal(lc_tensor_nbytes(&f16), 30);
    assert_int_equal(((uint16_t *)f16.ptr)[14], 0);
    for (int i = 0; i < 15; i++)
        f32.data[i] = 1.0f + (float)i / 3.0f;
    f32.data[14] = 70000.0f;

    assert_int_equal(lc_tensor_cast(&f16, &f32), LC_OK);
    assert_int_equal(((uint16_t *)f16.ptr)[0], 0x3c00);
    assert_int_equal(((uint16_t *)f16.ptr)[14], 0x7c00); /* overflow */
    assert_int_equal(lc_tensor_cast(&back, &f16), LC_OK);
    for (int i = 0; i < 14; i++)
        assert_true(back.data[i] == lc_round_f16(f32.data[i]));
    assert_true(isinf(back.data[14]));
    /* f16 -> bf16 goes through float32 */
    assert_int_equal(lc_tensor_cast(&bf16, &f16), LC_OK);
    assert_int_equal(((uint16_t *)bf16.ptr)[0], 0x3f80);
    assert_int_equal(((uint16_t *)bf16.ptr)[14], 0x7f80);

    /* kernels take float32 only, and say so */
    lc_tensor y;
    assert_int_equal(lc_tensor_alloc(&y, 2, shape), LC_OK);
    assert_int_equal(lc_relu_forward(&y, &f16), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "float16"));
    assert_int_equal(lc_tensor_copy(&y, &f16), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "lc_tensor_cast"));
    lc_tensor_zero(&f16);
    assert_int_equal(((uint16_t *)f16.ptr)[3], 0);
    lc_dtype d;
    assert_int_equal(lc_dtype_parse("bf16", &d), LC_OK);
    assert_int_equal(d, LC_DTYPE_BF16);
    assert_int_equal(lc_dtype_parse("fp8", &d), LC_ERR_INVALID);
    assert_string_equal(lc_dtype_name(LC_DTYPE_F16), "float16");
    lc_tensor_free(&f32);
    lc_tensor_free(&f16);
    lc_tensor_free(&bf16);
    lc_tensor_free(&back);
    lc_tensor_free(&y);
}

/* ---- registry ---------------------------------------------------------------------- */

static void test_registry(void **s)
{
    (void)s;
    const lc_backend *cpu = lc_backend_get(LC_DEVICE_HOST);
    assert_non_null(cpu);
    assert_ptr_equal(cpu, lc_backend_cpu());
    assert_string_equal(cpu->name, "cpu");
#ifndef LC_HAVE_CUDA
    assert_null(lc_backend_get(LC_DEVICE_CUDA));
#else
    assert_ptr_equal(lc_backend_get(LC_DEVICE_CUDA), lc_backend_cuda());
    assert_string_equal(lc_backend_cuda()->name, "cuda");
    assert_int_equal(lc_backend_cuda()->device, LC_DEVICE_CUDA);
#endif
    lc_backend fake = *cpu;
    fake.name = "fake-cuda";
    fake.device = LC_DEVICE_CUDA;
    fake.unscale_inf_check = NULL;
    assert_int_equal(lc_backend_register(&fake), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "unscale_inf_check"));
    fake.unscale_inf_check = cpu->unscale_inf_check;
    assert_int_equal(lc_backend_register(&fake), LC_OK);
    assert_ptr_equal(lc_backend_get(LC_DEVICE_CUDA), &fake);
    lc_backend_unregister(LC_DEVICE_CUDA);
#ifndef LC_HAVE_CUDA
    assert_null(lc_backend_get(LC_DEVICE_CUDA));
#else
    assert_ptr_equal(lc_backend_get(LC_DEVICE_CUDA), lc_backend_cuda());
#endif
    assert_null(lc_backend_get((lc_device)7));
}

/* ---- layers ---------------------------------------------------------------------------- */

typedef struct layer_case {
    lc_tensor x, w, b, y, dy, dx, dw, db;
} layer_case;

static void case_init(layer_case *c, int64_t rows, int64_t in, int64_t out, uint64_t seed,
                      float scale_dy)
{
    lc_rng r;
    lc_rng_seed(&r, seed, 9);
    lc_tensor_alloc_2d(&c->x, rows, in);
    lc_tensor_alloc_2d(&c->w, out, in);
    lc_tensor_alloc_1d(&c->b, out);
    lc_tensor_alloc_2d(&c->y, rows, out);
    lc_tensor_alloc_2d(&c->dy, rows, out);
    lc_tensor_alloc_2d(&c->dx, rows, in);
    lc_tensor_alloc_2d(&c->dw, out, in);
    lc_tensor_alloc_1d(&c->db, out);
    kc_fill(&r, c->x.data, c->x.numel, -2.0f, 2.0f);
    kc_fill(&r, c->w.data, c->w.numel, -0.3f, 0.3f);
    kc_fill(&r, c->b.data, c->b.numel, -0.5f, 0.5f);
    kc_fill(&r, c->dy.data, c->dy.numel, -scale_dy, scale_dy);
}

static void case_free(layer_case *c)
{
    lc_tensor *all[] = {&c->x, &c->w, &c->b, &c->y, &c->dy, &c->dx, &c->dw, &c->db};
    for (size_t i = 0; i < 8; i++)
        lc_tensor_free(all[i]);
}

static void test_f32_through_table_is_bit_identical(void **s)
{
    (void)s;
    const lc_backend *be = lc_backend_cpu();
    layer_case a, b;
    case_init(&a, 33, 70, 19, 1, 1.0f);
    case_init(&b, 33, 70, 19, 1, 1.0f);
    assert_int_equal(lc_linear_forward(&a.y, &a.x, &a.w, &a.b), LC_OK);
    assert_int_equal(be->linear_forward(LC_DTYPE_F32, &b.y, &b.x, &b.w, &b.b, NULL), LC_OK);
    assert_memory_equal(a.y.data, b.y.data, a.y.numel * 4);
    assert_int_equal(lc_linear_backward(&a.dx, &a.dw, &a.db, &a.dy, &a.x, &a.w), LC_OK);
    assert_int_equal(be->linear_backward(LC_DTYPE_F32, &b.dx, &b.dw, &b.db, &b.dy, &b.x, &b.w,
                                         NULL), LC_OK);
    assert_memory_equal(a.dx.data, b.dx.data, a.dx.numel * 4);
    assert_memory_equal(a.dw.data, b.dw.data, a.dw.numel * 4);
    assert_memory_equal(a.db.data, b.db.data, a.db.numel * 4);
    assert_int_equal(lc_gelu_forward(&a.dy, &a.y), LC_OK);
    assert_int_equal(be->act_forward(LC_DTYPE_F32, LC_ACT_FN_GELU, &b.dy, &b.y), LC_OK);
    assert_memory_equal(a.dy.data, b.dy.data, a.dy.numel * 4);
    case_free(&a);
    case_free(&b);
}

static void check_lowp_linear(lc_dtype fmt)
{
    const lc_backend *be = lc_backend_cpu();
    lc_workspace *ws = be->workspace_create();
    assert_non_null(ws);
    layer_case c, r, f;
    case_init(&c, 17, 45, 23, 3, 1.0f); /* emulated */
    case_init(&r, 17, 45, 23, 3, 1.0f); /* by hand: rounded operands, f32 kernel */
    case_init(&f, 17, 45, 23, 3, 1.0f); /* plain float32 */
    lc_tensor *ops[] = {&r.x, &r.w, &r.b, &r.dy};
    for (size_t i = 0; i < 4; i++)
        lc_round_array(fmt, ops[i]->data, ops[i]->data, ops[i]->numel);

    assert_int_equal(be->linear_forward(fmt, &c.y, &c.x, &c.w, &c.b, ws), LC_OK);
    assert_int_equal(lc_linear_forward(&r.y, &r.x, &r.w, &r.b), LC_OK);
    lc_round_array(fmt, r.y.data, r.y.data, r.y.numel);
    assert_memory_equal(c.y.data, r.y.data, c.y.numel * 4);
    assert_in_format(fmt, c.y.data, c.y.numel);
    assert_int_equal(lc_linear_forward(&f.y, &f.x, &f.w, &f.b), LC_OK);
    double tol = fmt == LC_DTYPE_F16 ? 2e-2 : 1e-1;
    for (size_t i = 0; i < c.y.numel; i++)
        assert_true(fabs((double)c.y.data[i] - (double)f.y.data[i]) <= tol);
    /* the inputs are untouched */
    assert_memory_equal(c.x.data, f.x.data, c.x.numel * 4);
    assert_memory_equal(c.w.data, f.w.data, c.w.numel * 4);

    /* backward: gradients start at 0.25 to show they accumulate in float32 */
    for (size_t i = 0; i < c.dw.numel; i++)
        c.dw.data[i] = r.dw.data[i] = 0.25f;
    for (size_t i = 0; i < c.db.numel; i++)
        c.db.data[i] = r.db.data[i] = 0.25f;
    assert_int_equal(be->linear_backward(fmt, &c.dx, &c.dw, &c.db, &c.dy, &c.x, &c.w, ws), LC_OK);
    assert_int_equal(lc_linear_backward(&r.dx, NULL, NULL, &r.dy, &r.x, &r.w), LC_OK);
    lc_round_array(fmt, r.dx.data, r.dx.data, r.dx.numel);
    assert_memory_equal(c.dx.data, r.dx.data, c.dx.numel * 4);
    lc_tensor dwt, dbt;
    lc_tensor_alloc_2d(&dwt, 23, 45);
    lc_tensor_alloc_1d(&dbt, 23);
    assert_int_equal(lc_linear_backward(NULL, &dwt, &dbt, &r.dy, &r.x, &r.w), LC_OK);
    for (size_t i = 0; i < dwt.numel; i++)
        assert_true(c.dw.data[i] == 0.25f + fmt_round(fmt, dwt.data[i]));
    for (size_t i = 0; i < dbt.numel; i++)
        assert_true(c.db.data[i] == 0.25f + fmt_round(fmt, dbt.data[i]));
    /* dx may be skipped (first layer) */
    assert_int_equal(be->linear_backward(fmt, NULL, &c.dw, NULL, &c.dy, &c.x, &c.w, ws), LC_OK);
    /* 16-bit compute without a workspace is refused, not a crash */
    assert_int_equal(be->linear_forward(fmt, &c.y, &c.x, &c.w, &c.b, NULL), LC_ERR_INVALID);
    /* a bad shape is still refused */
    lc_tensor bad;
    lc_tensor_alloc_2d(&bad, 17, 44);
    assert_int_equal(be->linear_forward(fmt, &c.y, &bad, &c.w, &c.b, ws), LC_ERR_INVALID);
    lc_tensor_free(&bad);
    lc_tensor_free(&dwt);
    lc_tensor_free(&dbt);
    case_free(&c);
    case_free(&r);
    case_free(&f);
    be->workspace_free(ws);
}

static void test_f16_linear_emulation(void **s)
{
    (void)s;
    check_lowp_linear(LC_DTYPE_F16);
}

static void test_bf16_linear_emulation(void **s)
{
    (void)s;
    check_lowp_linear(LC_DTYPE_BF16);
}

static void test_f16_gradient_overflows_to_inf(void **s)
{
    (void)s;
    const lc_backend *be = lc_backend_cpu();
    lc_workspace *ws = be->workspace_create();
    layer_case c;
    case_init(&c, 64, 8, 4, 5, 4000.0f); /* a loss scaled by 2^16: big upstream grads */
    for (size_t i = 0; i < c.x.numel; i++)
        c.x.data[i] = 2.0f;
    for (size_t i = 0; i < c.dy.numel; i++)
        c.dy.data[i] = 3072.0f; /* dW = sum of 64 rows of 6144 = 393216 > 65504 */
    assert_int_equal(be->linear_backward(LC_DTYPE_F16, &c.dx, &c.dw, &c.db, &c.dy, &c.x, &c.w, ws),
                     LC_OK);
    assert_true(isinf(c.dw.data[0]));
    assert_true(isinf(c.db.data[0])); /* 64 * 3072 */
    assert_int_equal(lc_has_nonfinite(c.dx.data, c.dx.numel), 0);
    /* the same in bfloat16 stays finite (float32's range) */
    lc_tensor_zero(&c.dw);
    assert_int_equal(be->linear_backward(LC_DTYPE_BF16, NULL, &c.dw, NULL, &c.dy, &c.x, &c.w, ws),
                     LC_OK);
    assert_true(c.dw.data[0] == 393216.0f);
    case_free(&c);
    be->workspace_free(ws);
}

static void test_lowp_elementwise(void **s)
{
    (void)s;
    const lc_backend *be = lc_backend_cpu();
    int64_t shape[2] = {9, 31};
    lc_tensor x, y, dy, dx;
    lc_tensor_alloc(&x, 2, shape);
    lc_tensor_alloc(&y, 2, shape);
    lc_tensor_alloc(&dy, 2, shape);
    lc_tensor_alloc(&dx, 2, shape);
    lc_rng r;
    lc_rng_seed(&r, 4, 4);
    kc_fill(&r, x.data, x.numel, -3.0f, 3.0f);
    kc_fill(&r, dy.data, dy.numel, -1.0f, 1.0f);
    lc_dtype fmts[2] = {LC_DTYPE_F16, LC_DTYPE_BF16};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(be->act_forward(fmts[k], LC_ACT_FN_GELU, &y, &x), LC_OK);
        assert_in_format(fmts[k], y.data, y.numel);
        for (size_t i = 0; i < y.numel; i++) {
            float xi = x.data[i];
            double g = 0.5 * xi * (1 + tanh(0.7978845608 * (xi + 0.044715 * xi * xi * xi)));
            assert_true(fabs(y.data[i] - g) <= (k ? 2e-2 : 3e-3) * (1 + fabs(g)));
        }
        assert_int_equal(be->act_backward(fmts[k], LC_ACT_FN_RELU, &dx, &dy, &x), LC_OK);
        assert_in_format(fmts[k], dx.data, dx.numel);
        lc_rng d;
        lc_rng_seed(&d, 1, 1);
        uint8_t mask[9 * 31];
        assert_int_equal(be->dropout_forward(fmts[k], &y, mask, &x, 0.3f, 1, &d), LC_OK);
        assert_in_format(fmts[k], y.data, y.numel);
        assert_int_equal(be->dropout_backward(fmts[k], &dx, &dy, mask, 0.3f, 1), LC_OK);
        assert_in_format(fmts[k], dx.data, dx.numel);
    }
    /* *-true parameters: round in place */
    float p[5] = {1.0f / 3.0f, 65519.0f, 1e-9f, -2.5f, 70000.0f};
    be->round(LC_DTYPE_F16, p, 5);
    assert_in_format(LC_DTYPE_F16, p, 5);
    assert_true(p[1] == 65504.0f);
    assert_true(isinf(p[4]));
    lc_tensor_free(&x);
    lc_tensor_free(&y);
    lc_tensor_free(&dy);
    lc_tensor_free(&dx);
}

/* ---- autocast ------------------------------------------------------------------------- */

static void *thread_ctx(void *arg)
{
    lc_autocast c = lc_autocast_current();
    *(int *)arg = c.compute == LC_DTYPE_F32 && c.backend == lc_backend_cpu();
    return NULL;
}

static void test_autocast(void **s)
{
    (void)s;
    lc_autocast c = lc_autocast_current();
    assert_ptr_equal(c.backend, lc_backend_cpu());
    assert_int_equal(c.compute, LC_DTYPE_F32);
    lc_autocast outer = lc_autocast_enter(NULL, LC_DTYPE_BF16);
    assert_int_equal(lc_autocast_current().compute, LC_DTYPE_BF16);
    assert_ptr_equal(lc_autocast_current().backend, lc_backend_cpu());
    lc_autocast inner = lc_autocast_enter(lc_backend_cpu(), LC_DTYPE_F16);
    assert_int_equal(lc_autocast_current().compute, LC_DTYPE_F16);
    /* another thread has its own (default) context */
    pthread_t th;
    int ok = 0;
    assert_int_equal(pthread_create(&th, NULL, thread_ctx, &ok), 0);
    pthread_join(th, NULL);
    assert_true(ok);
    lc_autocast_exit(inner);
    assert_int_equal(lc_autocast_current().compute, LC_DTYPE_BF16);
    lc_autocast_exit(outer);
    assert_int_equal(lc_autocast_current().compute, LC_DTYPE_F32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_dtypes),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_f32_through_table_is_bit_identical),
        cmocka_unit_test(test_f16_linear_emulation),
        cmocka_unit_test(test_bf16_linear_emulation),
        cmocka_unit_test(test_f16_gradient_overflows_to_inf),
        cmocka_unit_test(test_lowp_elementwise),
        cmocka_unit_test(test_autocast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
