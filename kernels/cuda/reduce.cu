/*
 * kernels/cuda/reduce.cu — sum, sum of squares and the gradient norm with
 * kernels/reduce.c's partition and order (so the CPU's bits), plus gradient
 * clipping by norm (without a host wait) and by value.
 *
 * kernels/reduce.c cuts a buffer into blocks of LC_REDUCE_BLOCK (4096)
 * elements; in each block lane k (0..7) adds the elements k, k+8, k+16, ...
 * in double, and the lanes are combined as ((0+1)+(2+3))+((4+5)+(6+7));
 * block partials are then added left to right. Here a group of 8 threads
 * takes one block, thread k playing lane k (each step of the group reads 8
 * consecutive floats), the group's partial is combined in the same tree,
 * and one thread adds the partials in block order. The sequential last
 * step is short: one double add per 4096 elements.
 */
#include <math.h>

#include "cuda_common.cuh"
#include "reduce.h" /* LC_REDUCE_BLOCK */

#define REDUCE_LANES 8

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

__global__ static void reduce_partials_kernel(double *partials, const float *x, size_t n,
                                              size_t nblocks, int squares)
{
    size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    size_t b = t / REDUCE_LANES;
    int k = (int)(t % REDUCE_LANES);
    double acc = 0.0;
    if (b < nblocks) {
        size_t start = b * LC_REDUCE_BLOCK;
        size_t len = n - start < LC_REDUCE_BLOCK ? n - start : LC_REDUCE_BLOCK;
        const float *xb = x + start;
        for (size_t i = (size_t)k; i < len; i += REDUCE_LANES) {
            double v = (double)xb[i];
            acc = squares ? __dadd_rn(acc, __dmul_rn(v, v)) : __dadd_rn(acc, v);
        }
    }
    /* Every thread of the warp reaches the shuffles (no early return). */
    double a[REDUCE_LANES];
    for (int q = 0; q < REDUCE_LANES; q++)
        a[q] = __shfl_sync(LC_FULL_MASK, acc, q, REDUCE_LANES);
    if (k == 0 && b < nblocks)
        partials[b] = __dadd_rn(__dadd_rn(__dadd_rn(a[0], a[1]), __dadd_rn(a[2], a[3])),
                                __dadd_rn(__dadd_rn(a[4], a[5]), __dadd_rn(a[6], a[7])));
}

/* s = partials added left to right from 0; *out = s, or *out += s. */
__global__ static void reduce_finish_kernel(double *out, const double *partials, size_t nblocks,
                                            int accumulate)
{
    double s = 0.0;
    for (size_t b = 0; b < nblocks; b++)
        s = __dadd_rn(s, partials[b]);
    *out = accumulate ? __dadd_rn(*out, s) : s;
}

__global__ static void reduce_sqrt_kernel(double *out)
{
    *out = sqrt(*out);
}

/* clip_grad_norm_'s scaling with the norm read on the device. */
__global__ static void clip_norm_scale_kernel(float *g, size_t n, const double *norm,
                                              double max_norm)
{
    double coef = max_norm / (*norm + 1e-6);
    if (coef >= 1.0) /* NaN fails this and spreads, as on the CPU */
        return;
    float c = (float)coef;
    LC_GRID_LOOP(i, n) g[i] = __fmul_rn(g[i], c);
}

__global__ static void clip_value_kernel(float *g, size_t n, float lo, float hi)
{
    LC_GRID_LOOP(i, n)
    {
        float x = g[i];
        g[i] = x > hi ? hi : (x < lo ? lo : x);
    }
}

/* ------------------------------------------------------------------------ */
/* Launch helpers                                                            */

/* Enqueue the reduction of one buffer into *out (set or accumulate). */
static lc_status reduce_one(lc_cuda_ctx *ctx, const char *op, double *out, const float *x,
                            size_t n, int squares, int accumulate)
{
    if (n == 0) /* the sum of nothing is 0 */
        return accumulate ? LC_OK : lc_cuda_memset_zero(ctx, out, sizeof *out);
    LC_CUDA_NEED(x, op);
    size_t nblocks = (n + LC_REDUCE_BLOCK - 1) / LC_REDUCE_BLOCK;
    void *scratch = NULL;
    lc_status st = lc_cuda_scratch(ctx, nblocks * sizeof(double), &scratch);
    if (st != LC_OK)
        return st;
    double *partials = (double *)scratch;
    size_t threads = nblocks * REDUCE_LANES;
    unsigned blocks = (unsigned)((threads + LC_CUDA_THREADS - 1) / LC_CUDA_THREADS);
    reduce_partials_kernel<<<blocks, LC_CUDA_THREADS, 0, ctx->stream>>>(partials, x, n, nblocks,
                                                                       squares);
    st = lc_cuda_launched(op);
    if (st != LC_OK)
        return st;
    reduce_finish_kernel<<<1, 1, 0, ctx->stream>>>(out, partials, nblocks, accumulate);
    return lc_cuda_launched(op);
}

static lc_status reduce_check_list(const char *op, const void *bufs, const size_t *lens,
                                   size_t count)
{
    if (count > 0 && (!bufs || !lens))
        return lc_fail(LC_ERR_INVALID, "%s: bufs and lens are required", op);
    return LC_OK;
}

extern "C" {

lc_status lc_cuda_sum(lc_cuda_ctx *ctx, double *out_dev, const float *x, size_t n)
{
    const char *op = "lc_cuda_sum";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(out_dev, op);
    return reduce_one(ctx, op, out_dev, x, n, 0, 0);
}

lc_status lc_cuda_sumsq(lc_cuda_ctx *ctx, double *out_dev, const float *x, size_t n)
{
    const char *op = "lc_cuda_sumsq";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(out_dev, op);
    return reduce_one(ctx, op, out_dev, x, n, 1, 0);
}

lc_status lc_cuda_l2norm_multi(lc_cuda_ctx *ctx, double *out_dev, const float *const *bufs,
                               const size_t *lens, size_t count)
{
    const char *op = "lc_cuda_l2norm_multi";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st == LC_OK)
        st = reduce_check_list(op, bufs, lens, count);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(out_dev, op);
    /* total = 0; total += sumsq(buf k) in list order; sqrt */
    st = lc_cuda_memset_zero(ctx, out_dev, sizeof *out_dev);
    for (size_t k = 0; k < count && st == LC_OK; k++)
        st = reduce_one(ctx, op, out_dev, bufs[k], lens[k], 1, 1);
    if (st != LC_OK)
        return st;
    reduce_sqrt_kernel<<<1, 1, 0, ctx->stream>>>(out_dev);
    return lc_cuda_launched(op);
}

lc_status lc_cuda_clip_grad_norm(lc_cuda_ctx *ctx, float *const *grads, const size_t *lens,
                                 size_t count, double max_norm, double *total_norm_dev)
{
    const char *op = "lc_cuda_clip_grad_norm";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st == LC_OK)
        st = reduce_check_list(op, grads, lens, count);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(total_norm_dev, op);
    if (!(max_norm >= 0.0))
        return lc_fail(LC_ERR_INVALID, "%s: max_norm %g must be >= 0", op, max_norm);
    st = lc_cuda_l2norm_multi(ctx, total_norm_dev, (const float *const *)grads, lens, count);
    for (size_t k = 0; k < count && st == LC_OK; k++) {
        if (lens[k] == 0)
            continue;
        clip_norm_scale_kernel<<<lc_cuda_grid(ctx, lens[k]), LC_CUDA_THREADS, 0, ctx->stream>>>(
            grads[k], lens[k], total_norm_dev, max_norm);
        st = lc_cuda_launched(op);
    }
    return st;
}

lc_status lc_cuda_clip_grad_value(lc_cuda_ctx *ctx, float *const *grads, const size_t *lens,
                                  size_t count, double clip_value)
{
    const char *op = "lc_cuda_clip_grad_value";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st == LC_OK)
        st = reduce_check_list(op, grads, lens, count);
    if (st != LC_OK)
        return st;
    if (!(clip_value >= 0.0))
        return lc_fail(LC_ERR_INVALID, "%s: clip_value %g must be >= 0", op, clip_value);
    const float hi = (float)clip_value, lo = -(float)clip_value;
    for (size_t k = 0; k < count && st == LC_OK; k++) {
        if (lens[k] == 0)
            continue;
        LC_CUDA_NEED(grads[k], op);
        clip_value_kernel<<<lc_cuda_grid(ctx, lens[k]), LC_CUDA_THREADS, 0, ctx->stream>>>(
            grads[k], lens[k], lo, hi);
        st = lc_cuda_launched(op);
    }
    return st;
}

} /* extern "C" */
