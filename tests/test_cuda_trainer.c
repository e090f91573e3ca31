/*
 * tests/test_cuda_trainer.c — the trainer on a real GPU through the CUDA
 * backend (kernels/cuda/backend_cuda.c). Without a GPU every test calls
 * skip() and the run prints "CUDA trainer tests skipped: no GPU (<why>)";
 * LC_CUDA_REQUIRE_GPU=1 (scripts/gpu-check on the device) makes a missing
 * GPU a failure. What it checks, with stated tolerances:
 *  - the backend's layer ops against the CPU backend's, per compute dtype:
 *    float32 to the fp32 GEMM bound; float16 / bfloat16 (tensor cores, fp32
 *    accumulation) within 2 ulps of the format of each output, every
 *    output a value of the format, the fp32 gradients accumulating;
 *  - the dataloader gathers the CPU's batches on the GPU, bit for bit;
 *  - a fit on cuda in every precision trains the small model as well as on
 *    the CPU (test/acc >= 0.9 and within 0.05 of the CPU's), the weights
 *    come back to the host, *-true weights hold only format values;
 *  - a checkpoint written on cuda has the CPU's layout (no device in it)
 *    and resumes on the CPU;
 *  - the DeviceStatsMonitor logs memory figures on logging steps only;
 *  - the device is released when the trainer and the module are gone.
 *
 * LC_CUDA_TRAINER_EMU=1 runs the same tests on the emulated device of
 * support/emu_device.h instead of a GPU: a check of this file's own logic
 * on a machine without one (the numbers are then the CPU's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autocast.h"
#include "ckpt_file.h"
#include "cuda_ops.h"
#include "emu_device.h"
#include "half.h"
#include "kernels.h"
#include "testutil.h"
#include "trainer_fixture.h"
#include "trainer_internal.h"

static const lc_backend *g_cuda; /* NULL: no GPU */
static char g_reason[512];

#define NEED_GPU()                                                                           \
    do {                                                                                     \
        if (!g_cuda)                                                                         \
            skip();                                                                          \
    } while (0)

/* ---- layer ops against the CPU backend ------------------------------------------------ */

static void fill(float *x, size_t n, uint64_t seed, float scale)
{
    lc_rng r;
    lc_rng_seed(&r, seed, 9);
    lc_rng_uniform_fill(&r, x, n, -scale, scale);
}

/* A host tensor and its device twin with the same values. */
typedef struct pair {
    lc_tensor h, d;
} pair;

static void pair_make(pair *p, int64_t rows, int64_t cols, uint64_t seed, float scale)
{
    int64_t shape[2] = {rows, cols};
    int nd = rows > 0 ? 2 : 1;
    const int64_t *sh = rows > 0 ? shape : &shape[1];
    assert_int_equal(lc_tensor_alloc(&p->h, nd, sh), LC_OK);
    if (scale > 0)
        fill(p->h.data, p->h.numel, seed, scale);
    assert_int_equal(g_cuda->alloc(&p->d, LC_DTYPE_F32, nd, sh), LC_OK);
    assert_int_equal(g_cuda->copy(&p->d, &p->h), LC_OK);
}

static void pair_free(pair *p)
{
    lc_tensor_free(&p->h);
    g_cuda->free(&p->d);
}

static float ulp_of(lc_dtype fmt, float v)
{
    int e;
    frexpf(fabsf(v), &e);
    int bits = fmt == LC_DTYPE_F16 ? 11 : fmt == LC_DTYPE_BF16 ? 8 : 24;
    if (fmt == LC_DTYPE_F16 && e < -13)
        e = -13; /* fp16 subnormals: a fixed step of 2^-24 */
    return ldexpf(1.0f, e - bits);
}

/* device tensor vs host reference: |d - h| <= 2 ulp(fmt) + atol. */
static void check_close(const char *what, lc_dtype fmt, const lc_tensor *d, const lc_tensor *h,
                        double atol)
{
    float *got = malloc(h->numel * sizeof *got);
    lc_tensor g;
    lc_tensor_view(&g, got, h->ndim, h->shape);
    assert_int_equal(g_cuda->copy(&g, d), LC_OK);
    size_t exact = 0, bad = 0;
    for (size_t i = 0; i < h->numel; i++) {
        float a = got[i], b = h->data[i];
        if (memcmp(&a, &b, 4) == 0) {
            exact++;
            continue;
        }
        double tol = 2.0 * ulp_of(fmt, b) + atol;
        if (!(fabs((double)a - (double)b) <= tol) && bad++ < 5)
            fprintf(stderr, "%s[%zu]: cuda %.9g, cpu %.9g\n", what, i, (double)a, (double)b);
        if (fmt != LC_DTYPE_F32) {
            float r = fmt == LC_DTYPE_F16 ? lc_round_f16(a) : lc_round_bf16(a);
            if (memcmp(&r, &a, 4) != 0 && strstr(what, "grad") == NULL)
                fail_msg("%s[%zu] = %.9g is not a %s value", what, i, (double)a,
                         lc_dtype_name(fmt));
        }
    }
    printf("  %-34s %zu/%zu bit-exact\n", what, exact, h->numel);
    free(got);
    if (bad)
        fail_msg("%s: %zu values out of tolerance", what, bad);
}

static void check_layers(lc_dtype c)
{
    const lc_backend *cpu = lc_backend_cpu();
    const int64_t rows = 64, in = 96, out = 40;
    pair x, w, b, y, dy, dx, dw, db, a, da;
    pair_make(&x, rows, in, 1, 2.0f);
    pair_make(&w, out, in, 2, 0.1f);
    pair_make(&b, 0, out, 3, 0.1f);
    pair_make(&y, rows, out, 0, 0);
    pair_make(&dy, rows, out, 4, 0.01f);
    pair_make(&dx, rows, in, 0, 0);
    pair_make(&dw, out, in, 5, 0.5f); /* gradients accumulate onto these */
    pair_make(&db, 0, out, 6, 0.5f);
    pair_make(&a, rows, out, 0, 0);
    pair_make(&da, rows, out, 0, 0);
    lc_workspace *wc = cpu->workspace_create(), *wg = g_cuda->workspace_create();
    /* round the inputs to the format, as activations of that compute are */
    if (c != LC_DTYPE_F32) {
        lc_round_array(c, x.h.data, x.h.data, x.h.numel);
        assert_int_equal(g_cuda->copy(&x.d, &x.h), LC_OK);
    }
    double k_bound = (double)in * ldexp(1.0, -23) * 0.1 * 2.0 * (double)in;
    assert_int_equal(cpu->linear_forward(c, &y.h, &x.h, &w.h, &b.h, wc), LC_OK);
    assert_int_equal(g_cuda->linear_forward(c, &y.d, &x.d, &w.d, &b.d, wg), LC_OK);
    check_close("linear forward y", c, &y.d, &y.h, k_bound);
    assert_int_equal(cpu->act_forward(c, LC_ACT_FN_GELU, &a.h, &y.h), LC_OK);
    assert_int_equal(g_cuda->copy(&y.d, &y.h), LC_OK); /* same input for the act */
    assert_int_equal(g_cuda->act_forward(c, LC_ACT_FN_GELU, &a.d, &y.d), LC_OK);
    check_close("gelu forward", c, &a.d, &a.h, 1e-6);
    assert_int_equal(cpu->act_backward(c, LC_ACT_FN_GELU, &da.h, &dy.h, &y.h), LC_OK);
    assert_int_equal(g_cuda->act_backward(c, LC_ACT_FN_GELU, &da.d, &dy.d, &y.d), LC_OK);
    check_close("gelu backward", c, &da.d, &da.h, 1e-7);
    assert_int_equal(cpu->linear_backward(c, &dx.h, &dw.h, &db.h, &dy.h, &x.h, &w.h, wc), LC_OK);
    assert_int_equal(g_cuda->linear_backward(c, &dx.d, &dw.d, &db.d, &dy.d, &x.d, &w.d, wg), LC_OK);
    check_close("linear backward dx", c, &dx.d, &dx.h, (double)out * ldexp(1.0, -23) * 0.01);
    /* dW / db: fp32 sums of a 16-bit rounded term: 2 ulps of that term */
    check_close("linear backward grad dW (+=)", c, &dw.d, &dw.h,
                2.0 * rows * 0.02 * (c == LC_DTYPE_BF16 ? 0x1p-8 : c == LC_DTYPE_F16 ? 0x1p-11 : 0x1p-23));
    check_close("linear backward grad db (+=)", c, &db.d, &db.h,
                2.0 * rows * 0.01 * (c == LC_DTYPE_BF16 ? 0x1p-8 : c == LC_DTYPE_F16 ? 0x1p-11 : 0x1p-23));
    assert_int_equal(g_cuda->sync(), LC_OK);
    cpu->workspace_free(wc);
    g_cuda->workspace_free(wg);
    pair *all[] = {&x, &w, &b, &y, &dy, &dx, &dw, &db, &a, &da};
    for (size_t i = 0; i < 10; i++)
        pair_free(all[i]);
}

static void test_layer_ops_match_the_cpu(void **s)
{
    (void)s;
    NEED_GPU();
    const lc_dtype c[3] = {LC_DTYPE_F32, LC_DTYPE_F16, LC_DTYPE_BF16};
    for (int i = 0; i < 3; i++) {
        printf("  compute %s:\n", lc_dtype_name(c[i]));
        check_layers(c[i]);
    }
}

/* ---- the dataloader --------------------------------------------------------------------- */

static void test_dataloader_on_the_gpu(void **s)
{
    (void)s;
    NEED_GPU();
    lc_datamodule *dm = tf_data(100, 0, 0, 32);
    const lc_dataset *ds = lc_datamodule_split(dm, LC_SPLIT_TRAIN);
    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    o.batch_size = 32;
    o.shuffle = 1;
    o.seed = 11;
    lc_dataloader *host, *dev;
    assert_int_equal(lc_dataloader_create(&host, ds, &o), LC_OK);
    assert_int_equal(lc_dataloader_create(&dev, ds, &o), LC_OK);
    assert_int_equal(lc_dataloader_set_backend(dev, g_cuda), LC_OK);
    float x[32 * TF_FEATURES];
    int32_t y[32];
    for (int64_t e = 0; e < 2; e++) {
        lc_dataloader_set_epoch(host, e);
        lc_dataloader_set_epoch(dev, e);
        lc_batch hb, db;
        while (lc_dataloader_next(host, &hb) == 1) {
            assert_int_equal(lc_dataloader_next(dev, &db), 1);
            assert_int_equal(g_cuda->download(x, db.x, db.size * TF_FEATURES * 4), LC_OK);
            assert_int_equal(g_cuda->download(y, db.y, db.size * 4), LC_OK);
            assert_memory_equal(x, hb.x, hb.size * TF_FEATURES * 4);
            assert_memory_equal(y, hb.y, hb.size * 4);
        }
    }
    lc_dataloader_free(host);
    lc_dataloader_free(dev);
    lc_datamodule_free(dm);
}

/* ---- fits ------------------------------------------------------------------------------------ */

typedef struct gpu_run {
    const char *root, *accelerator, *precision, *resume, *save;
    int64_t max_epochs;
    float *w;
    size_t n;
    double test_acc;
} gpu_run;

static void gpu_fit(gpu_run *r)
{
    lc_datamodule *dm = tf_data(320, 64, 192, 32);
    tf_module tm;
    tf_module_init(&tm, 7);
    tm.optimizer = "AdamW";
    tm.lr = 0.02;
    lc_trainer_config c;
    tf_config(&c, r->root);
    c.name = "r";
    c.accelerator = r->accelerator;
    c.precision = r->precision;
    c.max_epochs = r->max_epochs;
    c.log_every_n_steps = 4;
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_string_equal(lc_trainer_accelerator(t), strcmp(r->accelerator, "cpu") ? "cuda" : "cpu");
    lc_status st = lc_trainer_fit(t, &tm.base, dm, r->resume);
    if (st != LC_OK)
        fail_msg("fit on %s (%s): %s", r->accelerator, r->precision, lc_errmsg());
    assert_int_equal(lc_trainer_test(t, &tm.base, dm), LC_OK);
    assert_int_equal(lc_trainer_callback_metric(t, "test/acc", &r->test_acc), LC_OK);
    if (r->save)
        assert_int_equal(lc_trainer_save_checkpoint(t, r->save), LC_OK);
    lc_trainer_free(t);
    lc_params *ps = tm.base.params;
    r->n = lc_params_numel(ps);
    r->w = malloc(r->n * sizeof(float));
    size_t k = 0;
    for (size_t i = 0; i < ps->len; i++) {
        assert_int_equal(lc_params_read(ps, i, 0, r->w + k), LC_OK);
        if (ps->items[i].host_data) /* synced at the end of fit */
            assert_memory_equal(ps->items[i].host_data, r->w + k, ps->items[i].count * 4);
        k += ps->items[i].count;
    }
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static int in_format(lc_dtype fmt, const float *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float r = fmt == LC_DTYPE_F16 ? lc_round_f16(w[i]) : lc_round_bf16(w[i]);
        if (memcmp(&r, &w[i], 4) != 0)
            return 0;
    }
    return 1;
}

static void test_fit_in_every_precision(void **s)
{
    (void)s;
    NEED_GPU();
    const char *prec[] = {"32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true"};
    for (int i = 0; i < 5; i++) {
        gpu_run cpu = {tu_tmpdir("cu-cpu"), "cpu", prec[i], NULL, NULL, 3, NULL, 0, 0};
        gpu_run gpu = {tu_tmpdir("cu-gpu"), "cuda", prec[i], NULL, NULL, 3, NULL, 0, 0};
        gpu_fit(&cpu);
        gpu_fit(&gpu);
        printf("  %-10s test/acc cpu %.4f, cuda %.4f\n", prec[i], cpu.test_acc, gpu.test_acc);
        assert_true(gpu.test_acc >= 0.9);
        assert_true(fabs(gpu.test_acc - cpu.test_acc) <= 0.05);
        if (i == 3)
            assert_true(in_format(LC_DTYPE_F16, gpu.w, gpu.n));
        if (i == 4)
            assert_true(in_format(LC_DTYPE_BF16, gpu.w, gpu.n));
        free(cpu.w);
        free(gpu.w);
    }
}

static void test_cuda_checkpoint_resumes_on_the_cpu(void **s)
{
    (void)s;
    NEED_GPU();
    const char *dir = tu_tmpdir("cu-ckpt");
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/gpu.ckpt", dir);
    gpu_run a = {tu_tmpdir("cu-a"), "cuda", "16-mixed", NULL, ck, 2, NULL, 0, 0};
    gpu_fit(&a);
    lc_ckpt_reader r;
    assert_int_equal(lc_ckpt_read(ck, &r), LC_OK);
    const lc_ckpt_section *m = lc_ckpt_find(&r, "meta");
    char *meta = strndup((const char *)m->data, m->len);
    assert_null(strstr(meta, "cuda"));
    free(meta);
    const lc_ckpt_section *w0 = lc_ckpt_find(&r, "state_dict/0.weight");
    assert_non_null(w0);
    assert_int_equal(w0->len, 8 + 8 * 2 + 8 * TF_FEATURES * 4); /* ndim, dtype, shape, f32 */
    lc_ckpt_reader_free(&r);
    gpu_run b = {a.root, "cpu", "16-mixed", ck, NULL, 3, NULL, 0, 0};
    gpu_fit(&b);
    assert_true(b.test_acc >= 0.9);
    free(a.w);
    free(b.w);
}

static void test_device_stats_on_the_gpu(void **s)
{
    (void)s;
    NEED_GPU();
    gpu_run a = {tu_tmpdir("cu-stats"), "cuda", "bf16-mixed", NULL, NULL, 1, NULL, 0, 0};
    gpu_fit(&a);
    int64_t steps[64], ls[64];
    double mem[64];
    int n = tf_metric(a.root, "device/memory_used_mb", steps, mem, 64);
    int nl = tf_metric(a.root, "train/loss", ls, NULL, 64);
    assert_int_equal(n, nl); /* 10 steps, every 4th logs */
    assert_memory_equal(steps, ls, (size_t)n * sizeof(int64_t));
    for (int i = 0; i < n; i++)
        assert_true(mem[i] > 0);
    int nms = tf_metric(a.root, "device/step_ms", NULL, NULL, 64);
    assert_true(nms >= 0 && nms <= n); /* only finished steps, never waited for */
    printf("  %d logging steps, %d with a finished step time\n", n, nms);
    free(a.w);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *emu_mode = getenv("LC_CUDA_TRAINER_EMU");
    if (emu_mode && strcmp(emu_mode, "1") == 0 && emu_register())
        printf("CUDA trainer tests on the emulated device (LC_CUDA_TRAINER_EMU=1)\n");
    const lc_backend *be = lc_backend_get(LC_DEVICE_CUDA);
    lc_status st = be ? be->init(0) : LC_ERR_UNSUPPORTED;
    if (st != LC_OK) {
        snprintf(g_reason, sizeof g_reason, "%s", be ? lc_errmsg() : "no CUDA backend");
        const char *require = getenv("LC_CUDA_REQUIRE_GPU");
        if (require && strcmp(require, "1") == 0) {
            printf("CUDA trainer tests: LC_CUDA_REQUIRE_GPU=1 but no GPU (%s)\n", g_reason);
            return -1;
        }
        printf("CUDA trainer tests skipped: no GPU (%s)\n", g_reason);
    } else {
        g_cuda = be;
        char line[1024];
        printf("CUDA trainer tests on: %s\n", lc_cuda_describe(line, sizeof line));
    }
    fflush(stdout);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_cuda) {
        lc_status st = g_cuda->sync();
        g_cuda->release();
        if (st != LC_OK) {
            fprintf(stderr, "CUDA error at the end: %s\n", lc_errmsg());
            return -1;
        }
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_ops_match_the_cpu),
        cmocka_unit_test(test_dataloader_on_the_gpu),
        cmocka_unit_test(test_fit_in_every_precision),
        cmocka_unit_test(test_cuda_checkpoint_resumes_on_the_cpu),
        cmocka_unit_test(test_device_stats_on_the_gpu),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
