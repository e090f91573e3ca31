/*
 * bench/bench_cuda.c — what the CUDA layer does on the GPU it runs on:
 *
 *   1. cuBLAS GEMM TFLOP/s on large squares for fp32, TF32, fp16 and bf16
 *      inputs (fp32 accumulation), against the GPU's peak dense figure;
 *   2. kernel throughput in GB/s (bytes each kernel must move / time) for
 *      the elementwise, cast, dropout, reduction, softmax + cross-entropy,
 *      optimizer and gather kernels, against the memory bandwidth;
 *   3. one MLP training step (784-256-10, batch 256: gather, GEMMs, fused
 *      bias + ReLU, softmax + cross-entropy, backward, AdamW) built from the
 *      kernels, in samples/s on the GPU vs the same step on the CPU kernels,
 *      measured in the same run.
 *
 * GPU times come from CUDA events (lc_cuda_timer) around repeated launches
 * after warm-up; CPU times from CLOCK_MONOTONIC.
 *
 * usage: bench_cuda [--quick] [--require-gpu]
 *   --quick        smaller sizes and fewer repeats (a smoke run)
 *   --require-gpu  exit 1 instead of 0 when no GPU can be used
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda_ops.h"
#include "kernels.h"

#ifndef LC_HAVE_CUDA
int main(void)
{
    printf("bench_cuda: CUDA is not compiled into this build\n");
    return 0;
}
#else

static lc_cuda_ctx *ctx;
static int quick;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static void die_on(lc_status st, const char *what)
{
    if (st != LC_OK) {
        fprintf(stderr, "bench_cuda: %s: %s\n", what, lc_errmsg());
        exit(1);
    }
}

static void *dmalloc(size_t bytes)
{
    void *p = NULL;
    die_on(lc_cuda_malloc(ctx, &p, bytes), "lc_cuda_malloc");
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Random floats in [-1, 1) on the device. */
static float *drandom(size_t n, uint64_t seed)
{
    float *h = malloc(n * sizeof *h);
    if (!h)
        die_on(LC_ERR_NOMEM, "malloc");
    lc_rng r;
    lc_rng_seed(&r, seed, 1);
    lc_rng_uniform_fill(&r, h, n, -1.0f, 1.0f);
    float *d = dmalloc(n * sizeof *d);
    die_on(lc_cuda_copy_to_device(ctx, d, h, n * sizeof *d), "upload");
    free(h);
    return d;
}

/* ------------------------------------------------------------------------ */
/* Peak figures                                                              */

typedef struct peaks {
    double fp32, tf32, fp16;  /* dense TFLOP/s */
    double hbm;               /* TB/s */
    const char *source;
} peaks;

/* Published dense figures (NVIDIA datasheets) for the GPUs this project is
 * lent; otherwise an estimate for Hopper from SMs x clock x per-SM rates
 * (per clock and SM: 256 fp32 FLOP on CUDA cores, 2048 TF32 and 4096
 * fp16/bf16 FLOP on tensor cores), and nothing for other GPUs. */
static peaks gpu_peaks(const lc_cuda_gpu *g, int clock_khz)
{
    peaks p = {0};
    if (strstr(g->name, "H200") || (strstr(g->name, "H100") && !strstr(g->name, "PCIe"))) {
        p = (peaks){67.0, 494.7, 989.4, strstr(g->name, "H200") ? 4.8 : 3.35,
                    "NVIDIA datasheet, SXM, dense"};
    } else if (g->cc_major == 9 && clock_khz > 0) {
        double f = (double)g->sm_count * clock_khz * 1e3 / 1e12;
        p = (peaks){256 * f, 2048 * f, 4096 * f, 0.0, "estimate: SMs x boost clock x per-SM rate"};
    } else {
        p.source = "unknown for this GPU";
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* 1. GEMM                                                                   */

static void bench_gemm(const peaks *pk)
{
    static const char *names[] = {"fp32", "tf32", "fp16", "bf16"};
    const int sizes_full[] = {4096, 8192}, sizes_quick[] = {2048};
    const int *sizes = quick ? sizes_quick : sizes_full;
    int nsizes = quick ? 1 : 2, reps = quick ? 3 : 10;
    printf("\n== cuBLAS GEMM (C = A B, square, fp32 accumulation)\n");
    printf("%-6s %6s %10s %10s %8s\n", "type", "n", "ms", "TFLOP/s", "of peak");
    lc_cuda_timer *t = NULL;
    die_on(lc_cuda_timer_create(ctx, &t), "timer");
    for (int si = 0; si < nsizes; si++) {
        int64_t n = sizes[si];
        size_t nn = (size_t)(n * n);
        float *a32 = drandom(nn, 1), *b32 = drandom(nn, 2);
        float *c32 = dmalloc(nn * 4);
        uint16_t *a16 = dmalloc(nn * 2), *b16 = dmalloc(nn * 2), *c16 = dmalloc(nn * 2);
        for (int kind = 0; kind < 4; kind++) {
            int type = kind <= 1 ? LC_CUDA_F32 : kind == 2 ? LC_CUDA_F16 : LC_CUDA_BF16;
            const void *a = a32, *b = b32;
            void *c = c32;
            if (type == LC_CUDA_F16) {
                die_on(lc_cuda_f32_to_f16(ctx, a16, a32, nn), "cast");
                die_on(lc_cuda_f32_to_f16(ctx, b16, b32, nn), "cast");
            } else if (type == LC_CUDA_BF16) {
                die_on(lc_cuda_f32_to_bf16(ctx, a16, a32, nn), "cast");
                die_on(lc_cuda_f32_to_bf16(ctx, b16, b32, nn), "cast");
            }
            if (type != LC_CUDA_F32) {
                a = a16;
                b = b16;
                c = c16;
            }
            lc_cuda_set_tf32(ctx, kind == 1);
            for (int w = 0; w < 3; w++)
                die_on(lc_cuda_gemm(ctx, 0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n, type, type),
                       "gemm");
            die_on(lc_cuda_timer_start(t, 0), "timer");
            for (int r = 0; r < reps; r++)
                die_on(lc_cuda_gemm(ctx, 0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n, type, type),
                       "gemm");
            die_on(lc_cuda_timer_stop(t), "timer");
            float ms = 0.0f;
            die_on(lc_cuda_timer_wait(t, NULL, &ms), "timer");
            double per = ms / reps, tflops = 2.0 * (double)n * n * n / (per * 1e-3) / 1e12;
            double peak = kind == 0 ? pk->fp32 : kind == 1 ? pk->tf32 : pk->fp16;
            char frac[16] = "-";
            if (peak > 0)
                snprintf(frac, sizeof frac, "%.0f%%", 100.0 * tflops / peak);
            printf("%-6s %6lld %10.3f %10.1f %8s\n", names[kind], (long long)n, per, tflops, frac);
        }
        lc_cuda_set_tf32(ctx, 0);
        lc_cuda_free(ctx, a32);
        lc_cuda_free(ctx, b32);
        lc_cuda_free(ctx, c32);
        lc_cuda_free(ctx, a16);
        lc_cuda_free(ctx, b16);
        lc_cuda_free(ctx, c16);
    }
    printf("peak (%s): fp32 %.1f, tf32 %.1f, fp16/bf16 %.1f TFLOP/s\n", pk->source, pk->fp32,
           pk->tf32, pk->fp16);
    lc_cuda_timer_free(t);
}

/* ------------------------------------------------------------------------ */
/* 2. Kernel throughput                                                      */

enum kernel_id { K_AXPY, K_CAST, K_DROPOUT, K_SUMSQ, K_ADAMW, K_XENT, K_GATHER, K_COUNT };

typedef struct kernel_bufs {
    size_t n;
    float *x, *y, *m, *v;
    uint16_t *h;
    uint8_t *mask, *images;
    double *out;
    int32_t *labels, *idx;
    float *lut;
    uint64_t rng[2];
} kernel_bufs;

#define XENT_COLS 1000
#define GATHER_FEATURES 784

static lc_status kernel_run(enum kernel_id k, kernel_bufs *b, int64_t step)
{
    size_t n = b->n;
    lc_adam_hparams hp = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                          .weight_decay = 0.01};
    switch (k) {
    case K_AXPY: return lc_cuda_axpy(ctx, b->y, b->x, n, 0.5f);
    case K_CAST: return lc_cuda_f32_to_bf16(ctx, b->h, b->x, n);
    case K_DROPOUT: return lc_cuda_dropout_forward(ctx, b->y, b->mask, b->x, n, 0.2f, 1, b->rng);
    case K_SUMSQ: return lc_cuda_sumsq(ctx, b->out, b->x, n);
    case K_ADAMW: return lc_cuda_adamw_step(ctx, b->y, b->x, b->m, b->v, n, &hp, step);
    case K_XENT:
        return lc_cuda_softmax_xent_forward(ctx, b->y, b->out, NULL, b->x, b->labels,
                                            (int64_t)(n / XENT_COLS), XENT_COLS);
    case K_GATHER: {
        size_t count = n / GATHER_FEATURES;
        return lc_cuda_gather_u8(ctx, b->y, b->images, count, GATHER_FEATURES, b->idx, count,
                                 b->lut);
    }
    default: return LC_ERR_INVALID;
    }
}

static void bench_kernels(const peaks *pk)
{
    static const char *names[] = {"axpy (y += a x)", "cast fp32->bf16", "dropout fwd p=0.2",
                                  "sum of squares", "adamw step", "softmax+xent [n/1000 x 1000]",
                                  "gather u8 batch [n/784 x 784]"};
    /* bytes moved per element: reads + writes */
    static const double bytes_per[] = {12, 6, 9, 4, 28, 8, 5};
    kernel_bufs b = {0};
    b.n = quick ? (size_t)1 << 22 : (size_t)1 << 26;
    int reps = quick ? 5 : 20;
    size_t n = b.n;
    b.x = drandom(n, 3);
    b.y = drandom(n, 4);
    b.m = dmalloc(n * 4);
    b.v = dmalloc(n * 4);
    die_on(lc_cuda_memset_zero(ctx, b.m, n * 4), "memset");
    die_on(lc_cuda_memset_zero(ctx, b.v, n * 4), "memset");
    b.h = dmalloc(n * 2);
    b.mask = dmalloc(n);
    b.images = dmalloc(n);
    die_on(lc_cuda_memset_zero(ctx, b.images, n), "memset");
    b.out = dmalloc(sizeof(double));
    b.lut = drandom(256, 5);
    size_t rows = n / XENT_COLS, count = n / GATHER_FEATURES;
    int32_t *hl = malloc((rows > count ? rows : count) * sizeof *hl);
    for (size_t i = 0; i < rows; i++)
        hl[i] = (int32_t)(i % XENT_COLS);
    b.labels = dmalloc(rows * 4);
    die_on(lc_cuda_copy_to_device(ctx, b.labels, hl, rows * 4), "upload");
    for (size_t i = 0; i < count; i++)
        hl[i] = (int32_t)((i * 7919) % count);
    b.idx = dmalloc(count * 4);
    die_on(lc_cuda_copy_to_device(ctx, b.idx, hl, count * 4), "upload");
    free(hl);
    lc_rng r;
    lc_rng_seed(&r, 1, 2);
    lc_rng_save(&r, b.rng);

    printf("\n== kernels (%zu fp32 elements, %d repeats)\n", n, reps);
    printf("%-30s %10s %10s %8s\n", "kernel", "ms", "GB/s", "of HBM");
    lc_cuda_timer *t = NULL;
    die_on(lc_cuda_timer_create(ctx, &t), "timer");
    for (int k = 0; k < K_COUNT; k++) {
        for (int w = 0; w < 2; w++)
            die_on(kernel_run((enum kernel_id)k, &b, w + 1), names[k]);
        die_on(lc_cuda_timer_start(t, k), "timer");
        for (int i = 0; i < reps; i++)
            die_on(kernel_run((enum kernel_id)k, &b, i + 3), names[k]);
        die_on(lc_cuda_timer_stop(t), "timer");
        float ms = 0.0f;
        die_on(lc_cuda_timer_wait(t, NULL, &ms), "timer");
        double per = ms / reps, gbs = bytes_per[k] * (double)n / (per * 1e-3) / 1e9;
        char frac[16] = "-";
        if (pk->hbm > 0)
            snprintf(frac, sizeof frac, "%.0f%%", 100.0 * gbs / (pk->hbm * 1000.0));
        printf("%-30s %10.3f %10.1f %8s\n", names[k], per, gbs, frac);
    }
    lc_cuda_timer_free(t);
    void *all[] = {b.x, b.y, b.m, b.v, b.h, b.mask, b.images, b.out, b.lut, b.labels, b.idx};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        lc_cuda_free(ctx, all[i]);
}

/* ------------------------------------------------------------------------ */
/* 3. An MLP training step, GPU kernels vs CPU kernels                       */

#define MLP_IN 784
#define MLP_HID 256
#define MLP_OUT 10
#define MLP_B 256
#define MLP_SAMPLES 8192

/* Parameter block layout: W1 [HID, IN], b1 [HID], W2 [OUT, HID], b2 [OUT]. */
#define MLP_W1 0
#define MLP_B1 (MLP_W1 + MLP_HID * MLP_IN)
#define MLP_W2 (MLP_B1 + MLP_HID)
#define MLP_B2 (MLP_W2 + MLP_OUT * MLP_HID)
#define MLP_NPARAM (MLP_B2 + MLP_OUT)

static void mlp_init(float *params, uint8_t *images, uint8_t *labels, float *lut)
{
    lc_rng r;
    lc_rng_seed(&r, 7, 7);
    lc_rng_uniform_fill(&r, params, MLP_NPARAM, -0.05f, 0.05f);
    for (size_t i = 0; i < (size_t)MLP_SAMPLES * MLP_IN; i++)
        images[i] = (uint8_t)lc_rng_u32(&r);
    for (size_t i = 0; i < MLP_SAMPLES; i++)
        labels[i] = (uint8_t)lc_rng_below(&r, MLP_OUT);
    for (int p = 0; p < 256; p++)
        lut[p] = ((float)p / 255.0f - 0.286f) / 0.353f;
}

static double mlp_gpu(int steps, const float *params_h, const uint8_t *images_h,
                      const uint8_t *labels_h, const float *lut_h, double *loss_out)
{
    float *p = dmalloc(MLP_NPARAM * 4), *g = dmalloc(MLP_NPARAM * 4);
    float *m = dmalloc(MLP_NPARAM * 4), *v = dmalloc(MLP_NPARAM * 4);
    uint8_t *images = dmalloc((size_t)MLP_SAMPLES * MLP_IN), *labels = dmalloc(MLP_SAMPLES);
    float *lut = dmalloc(256 * 4);
    int32_t *perm = dmalloc(MLP_SAMPLES * 4), *y = dmalloc(MLP_B * 4);
    float *x = dmalloc(MLP_B * MLP_IN * 4), *pre = dmalloc(MLP_B * MLP_HID * 4);
    float *a = dmalloc(MLP_B * MLP_HID * 4), *logits = dmalloc(MLP_B * MLP_OUT * 4);
    float *da = dmalloc(MLP_B * MLP_HID * 4);
    double *loss = dmalloc(sizeof(double));
    die_on(lc_cuda_copy_to_device(ctx, p, params_h, MLP_NPARAM * 4), "upload");
    die_on(lc_cuda_memset_zero(ctx, m, MLP_NPARAM * 4), "memset");
    die_on(lc_cuda_memset_zero(ctx, v, MLP_NPARAM * 4), "memset");
    die_on(lc_cuda_copy_to_device(ctx, images, images_h, (size_t)MLP_SAMPLES * MLP_IN), "upload");
    die_on(lc_cuda_copy_to_device(ctx, labels, labels_h, MLP_SAMPLES), "upload");
    die_on(lc_cuda_copy_to_device(ctx, lut, lut_h, 256 * 4), "upload");
    int32_t *ph = malloc(MLP_SAMPLES * 4);
    for (int i = 0; i < MLP_SAMPLES; i++)
        ph[i] = (int32_t)((i * 2654435761u) % MLP_SAMPLES);
    die_on(lc_cuda_copy_to_device(ctx, perm, ph, MLP_SAMPLES * 4), "upload");
    free(ph);
    lc_adam_hparams hp = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                          .weight_decay = 0.01};
    lc_cuda_timer *t = NULL;
    die_on(lc_cuda_timer_create(ctx, &t), "timer");
    float total_ms = 0.0f;
    for (int phase = 0; phase < 2; phase++) { /* warm-up, then timed */
        int n = phase == 0 ? 5 : steps;
        die_on(lc_cuda_timer_start(t, phase), "timer");
        for (int s = 0; s < n; s++) {
            const int32_t *idx = perm + (s * MLP_B) % (MLP_SAMPLES - MLP_B);
            lc_status st = lc_cuda_gather_u8(ctx, x, images, MLP_SAMPLES, MLP_IN, idx, MLP_B, lut);
            if (st == LC_OK)
                st = lc_cuda_gather_labels(ctx, y, labels, MLP_SAMPLES, idx, MLP_B);
            if (st == LC_OK)
                st = lc_cuda_memset_zero(ctx, g, MLP_NPARAM * 4);
            if (st == LC_OK)
                st = lc_cuda_linear_forward(ctx, pre, x, p + MLP_W1, NULL, MLP_B, MLP_IN, MLP_HID,
                                            LC_CUDA_F32);
            if (st == LC_OK)
                st = lc_cuda_bias_act_forward(ctx, a, pre, pre, p + MLP_B1, MLP_B, MLP_HID,
                                              LC_CUDA_ACT_RELU);
            if (st == LC_OK)
                st = lc_cuda_linear_forward(ctx, logits, a, p + MLP_W2, p + MLP_B2, MLP_B, MLP_HID,
                                            MLP_OUT, LC_CUDA_F32);
            if (st == LC_OK)
                st = lc_cuda_softmax_xent_forward(ctx, logits, loss, NULL, logits, y, MLP_B,
                                                  MLP_OUT);
            if (st == LC_OK)
                st = lc_cuda_softmax_xent_backward(ctx, logits, logits, y, MLP_B, MLP_OUT, 1.0f);
            if (st == LC_OK)
                st = lc_cuda_linear_backward(ctx, da, g + MLP_W2, g + MLP_B2, logits, a,
                                             p + MLP_W2, MLP_B, MLP_HID, MLP_OUT);
            if (st == LC_OK)
                st = lc_cuda_bias_act_backward(ctx, da, g + MLP_B1, da, pre, MLP_B, MLP_HID,
                                               LC_CUDA_ACT_RELU);
            if (st == LC_OK)
                st = lc_cuda_linear_backward(ctx, NULL, g + MLP_W1, NULL, da, x, p + MLP_W1,
                                             MLP_B, MLP_IN, MLP_HID);
            if (st == LC_OK)
                st = lc_cuda_adamw_step(ctx, p, g, m, v, MLP_NPARAM, &hp, s + 1);
            die_on(st, "mlp step");
        }
        die_on(lc_cuda_timer_stop(t), "timer");
        die_on(lc_cuda_timer_wait(t, NULL, &total_ms), "timer");
    }
    die_on(lc_cuda_copy_to_host(ctx, loss_out, loss, sizeof *loss_out), "download");
    lc_cuda_timer_free(t);
    void *all[] = {p, g, m, v, images, labels, lut, perm, y, x, pre, a, logits, da, loss};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        lc_cuda_free(ctx, all[i]);
    return total_ms * 1e-3;
}

static double mlp_cpu(int steps, const float *params_h, const uint8_t *images,
                      const uint8_t *labels, const float *lut, double *loss_out)
{
    float *p = malloc(MLP_NPARAM * 4), *g = malloc(MLP_NPARAM * 4);
    float *m = calloc(MLP_NPARAM, 4), *v = calloc(MLP_NPARAM, 4);
    float *x = malloc(MLP_B * MLP_IN * 4), *h = malloc(MLP_B * MLP_HID * 4);
    float *logits = malloc(MLP_B * MLP_OUT * 4), *da = malloc(MLP_B * MLP_HID * 4);
    int32_t y[MLP_B];
    memcpy(p, params_h, MLP_NPARAM * 4);
    lc_tensor tx, th, tl, tda, tw1, tb1, tw2, tb2, tgw1, tgb1, tgw2, tgb2;
    int64_t sx[2] = {MLP_B, MLP_IN}, sh[2] = {MLP_B, MLP_HID}, sl[2] = {MLP_B, MLP_OUT};
    int64_t sw1[2] = {MLP_HID, MLP_IN}, sw2[2] = {MLP_OUT, MLP_HID}, n1 = MLP_HID, n2 = MLP_OUT;
    lc_tensor_view(&tx, x, 2, sx);
    lc_tensor_view(&th, h, 2, sh);
    lc_tensor_view(&tl, logits, 2, sl);
    lc_tensor_view(&tda, da, 2, sh);
    lc_tensor_view(&tw1, p + MLP_W1, 2, sw1);
    lc_tensor_view(&tb1, p + MLP_B1, 1, &n1);
    lc_tensor_view(&tw2, p + MLP_W2, 2, sw2);
    lc_tensor_view(&tb2, p + MLP_B2, 1, &n2);
    lc_tensor_view(&tgw1, g + MLP_W1, 2, sw1);
    lc_tensor_view(&tgb1, g + MLP_B1, 1, &n1);
    lc_tensor_view(&tgw2, g + MLP_W2, 2, sw2);
    lc_tensor_view(&tgb2, g + MLP_B2, 1, &n2);
    lc_adam_hparams hp = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                          .weight_decay = 0.01};
    double t0 = now_s(), loss = 0.0;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < MLP_B; i++) {
            size_t k = ((size_t)(s * MLP_B) % (MLP_SAMPLES - MLP_B)) + (size_t)i;
            size_t sample = (size_t)((k * 2654435761u) % MLP_SAMPLES);
            for (int f = 0; f < MLP_IN; f++)
                x[i * MLP_IN + f] = lut[images[sample * MLP_IN + f]];
            y[i] = labels[sample];
        }
        memset(g, 0, MLP_NPARAM * 4);
        lc_status st = lc_linear_forward(&th, &tx, &tw1, &tb1);
        if (st == LC_OK)
            st = lc_relu_forward(&th, &th);
        if (st == LC_OK)
            st = lc_linear_forward(&tl, &th, &tw2, &tb2);
        if (st == LC_OK)
            st = lc_softmax_xent_forward(&tl, &loss, NULL, &tl, y);
        if (st == LC_OK)
            st = lc_softmax_xent_backward(&tl, &tl, y, 1.0f);
        if (st == LC_OK)
            st = lc_linear_backward(&tda, &tgw2, &tgb2, &tl, &th, &tw2);
        if (st == LC_OK)
            st = lc_relu_backward(&tda, &tda, &th);
        if (st == LC_OK)
            st = lc_linear_backward(NULL, &tgw1, &tgb1, &tda, &tx, &tw1);
        if (st == LC_OK)
            st = lc_adamw_step(p, g, m, v, MLP_NPARAM, &hp, s + 1);
        die_on(st, "cpu mlp step");
    }
    double dt = now_s() - t0;
    *loss_out = loss;
    free(p);
    free(g);
    free(m);
    free(v);
    free(x);
    free(h);
    free(logits);
    free(da);
    return dt;
}

static void bench_mlp(void)
{
    int gpu_steps = quick ? 50 : 1000, cpu_steps = quick ? 5 : 30;
    float *params = malloc(MLP_NPARAM * 4), lut[256];
    uint8_t *images = malloc((size_t)MLP_SAMPLES * MLP_IN), *labels = malloc(MLP_SAMPLES);
    mlp_init(params, images, labels, lut);
    double gl = 0.0, cl = 0.0;
    double gt = mlp_gpu(gpu_steps, params, images, labels, lut, &gl);
    double ct = mlp_cpu(cpu_steps, params, images, labels, lut, &cl);
    double gsps = gpu_steps * (double)MLP_B / gt, csps = cpu_steps * (double)MLP_B / ct;
    printf("\n== MLP %d-%d-%d training step, batch %d, AdamW (kernels only, no trainer)\n",
           MLP_IN, MLP_HID, MLP_OUT, MLP_B);
    printf("%-6s %8s %12s %14s %12s\n", "path", "steps", "ms/step", "samples/s", "last loss");
    printf("%-6s %8d %12.3f %14.0f %12.4f\n", "gpu", gpu_steps, 1e3 * gt / gpu_steps, gsps, gl);
    printf("%-6s %8d %12.3f %14.0f %12.4f\n", "cpu", cpu_steps, 1e3 * ct / cpu_steps, csps, cl);
    printf("gpu / cpu: %.1fx samples/s (cpu: %s)\n", gsps / csps, lc_blas_info());
    free(params);
    free(images);
    free(labels);
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int require = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--require-gpu") == 0)
            require = 1;
        else {
            fprintf(stderr, "usage: bench_cuda [--quick] [--require-gpu]\n");
            return 2;
        }
    }
    char line[1024];
    printf("bench_cuda: %s\n", lc_cuda_describe(line, sizeof line));
    if (lc_cuda_ctx_open(&ctx, 0) != LC_OK) {
        printf("bench_cuda: no GPU (%s)\n", lc_errmsg());
        return require ? 1 : 0;
    }
    lc_cuda_info info;
    lc_cuda_query(&info);
    peaks pk = gpu_peaks(&info.gpus[0], info.gpus[0].clock_khz);
    bench_gemm(&pk);
    bench_kernels(&pk);
    bench_mlp();
    lc_cuda_mem_stats ms;
    lc_cuda_mem_stats_get(ctx, &ms);
    printf("\nallocator: %llu allocations, %llu from the cache, %llu cudaMalloc; peak %.1f MiB\n",
           (unsigned long long)ms.n_alloc, (unsigned long long)ms.n_cache_hits,
           (unsigned long long)ms.n_cuda_malloc, ms.peak_in_use / 1048576.0);
    lc_status st = lc_cuda_sync(ctx);
    lc_cuda_ctx_close(ctx);
    if (st != LC_OK) {
        fprintf(stderr, "bench_cuda: %s\n", lc_errmsg());
        return 1;
    }
    return 0;
}

#endif
