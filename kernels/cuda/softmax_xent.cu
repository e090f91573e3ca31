/*
 * kernels/cuda/softmax_xent.cu — fused softmax + cross-entropy + accuracy,
 * its backward, softmax alone and argmax (kernels/softmax_xent.c on the GPU).
 *
 * One warp per row: lanes stride over the classes, so a row is read with
 * coalesced loads whatever its length. Per row, as on the CPU:
 *     m = max_j x_j,  e_j = exp(x_j - m),  S = sum_j e_j (double),
 *     p_j = e_j * (float)(1 / S),  loss = log S - (x_y - m)  (double)
 * and argmax takes the lowest index among equal maxima, skipping NaNs. The
 * sum is a per-lane double sum combined by a fixed butterfly, so it is
 * deterministic (though not the CPU's left-to-right order).
 *
 * The batch mean and the hit count are finished by one block that adds the
 * per-row values in a fixed tree and writes them to device memory: a
 * training step that does not log never waits for them.
 */
#include <math.h>

#include "cuda_common.cuh"

#define XENT_ROWS_PER_BLOCK (LC_CUDA_THREADS / 32)

/* ------------------------------------------------------------------------ */
/* Row kernels                                                               */

/* Lowest index of the row maximum among lane-local candidates, combined
 * across the warp. found == 0: no non-NaN value (index 0 then). */
__device__ static inline int xent_warp_argmax(const float *x, int64_t c, int lane, float *best_v)
{
    float bv = 0.0f;
    int64_t bi = 0;
    int found = 0;
    for (int64_t j = lane; j < c; j += 32) {
        float v = x[j];
        if (isnan(v))
            continue;
        if (!found || v > bv) {
            bv = v;
            bi = j;
            found = 1;
        }
    }
    for (int off = 16; off > 0; off >>= 1) {
        float ov = __shfl_xor_sync(LC_FULL_MASK, bv, off);
        int64_t oi = __shfl_xor_sync(LC_FULL_MASK, bi, off);
        int of = __shfl_xor_sync(LC_FULL_MASK, found, off);
        if (of && (!found || ov > bv || (ov == bv && oi < bi))) {
            bv = ov;
            bi = oi;
            found = 1;
        }
    }
    *best_v = found ? bv : NAN;
    return (int)bi;
}

/* probs = softmax(logits) per row; with row_loss, also the row's loss and
 * whether its argmax is the label. probs may be logits. */
__global__ static void xent_rows_kernel(float *probs, double *row_loss, int32_t *row_hit,
                                        const float *logits, const int32_t *labels, int64_t rows,
                                        int64_t c)
{
    int lane = threadIdx.x & 31;
    int64_t row = (int64_t)blockIdx.x * XENT_ROWS_PER_BLOCK + threadIdx.x / 32;
    if (row >= rows)
        return; /* the whole warp leaves together */
    const float *x = logits + row * c;
    float *p = probs + row * c;

    float m;
    int best = xent_warp_argmax(x, c, lane, &m);
    int32_t y = row_loss ? labels[row] : 0;
    int ok = y >= 0 && y < c;
    float xy = row_loss && ok ? x[y] : 0.0f; /* before an in-place write */
    __syncwarp();

    double sum = 0.0;
    for (int64_t j = lane; j < c; j += 32) {
        float e = expf(__fsub_rn(x[j], m));
        p[j] = e;
        sum = __dadd_rn(sum, (double)e);
    }
    sum = lc_warp_sum_double(sum);
    float inv = (float)(1.0 / sum);
    for (int64_t j = lane; j < c; j += 32)
        p[j] = __fmul_rn(p[j], inv);

    if (row_loss && lane == 0) {
        row_loss[row] = ok ? log(sum) - ((double)xy - (double)m) : (double)NAN;
        row_hit[row] = ok && best == y;
    }
}

/* mean of row_loss and sum of row_hit, in a fixed order. */
__global__ static void xent_finish_kernel(double *loss_out, int64_t *correct_out,
                                          const double *row_loss, const int32_t *row_hit,
                                          int64_t rows)
{
    __shared__ double s_loss[LC_CUDA_THREADS];
    __shared__ long long s_hit[LC_CUDA_THREADS];
    double l = 0.0;
    long long h = 0;
    for (int64_t r = threadIdx.x; r < rows; r += LC_CUDA_THREADS) {
        l = __dadd_rn(l, row_loss[r]);
        h += row_hit[r];
    }
    s_loss[threadIdx.x] = l;
    s_hit[threadIdx.x] = h;
    __syncthreads();
    for (int w = LC_CUDA_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) {
            s_loss[threadIdx.x] = __dadd_rn(s_loss[threadIdx.x], s_loss[threadIdx.x + w]);
            s_hit[threadIdx.x] += s_hit[threadIdx.x + w];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        if (loss_out)
            *loss_out = s_loss[0] / (double)rows;
        if (correct_out)
            *correct_out = (int64_t)s_hit[0];
    }
}

__global__ static void xent_backward_kernel(float *d, const float *p, const int32_t *labels,
                                            size_t n, int64_t c, float scale)
{
    LC_GRID_LOOP(i, n)
    {
        int64_t row = (int64_t)(i / (size_t)c), j = (int64_t)(i % (size_t)c);
        float v = p[i];
        d[i] = j == labels[row] ? __fmul_rn(__fsub_rn(v, 1.0f), scale) : __fmul_rn(v, scale);
    }
}

__global__ static void argmax_kernel(int32_t *out, const float *x, int64_t rows, int64_t c)
{
    int lane = threadIdx.x & 31;
    int64_t row = (int64_t)blockIdx.x * XENT_ROWS_PER_BLOCK + threadIdx.x / 32;
    if (row >= rows)
        return;
    float m;
    int best = xent_warp_argmax(x + row * c, c, lane, &m);
    if (lane == 0)
        out[row] = best;
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

static lc_status xent_check(lc_cuda_ctx *ctx, const char *op, int64_t rows, int64_t cols)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK)
        return st;
    if (rows < 1 || cols < 1 || cols > INT32_MAX)
        return lc_fail(LC_ERR_INVALID, "%s: rows %lld and cols %lld must be >= 1 (cols < 2^31)",
                       op, (long long)rows, (long long)cols);
    return LC_OK;
}

static unsigned xent_row_blocks(int64_t rows)
{
    return (unsigned)((rows + XENT_ROWS_PER_BLOCK - 1) / XENT_ROWS_PER_BLOCK);
}

extern "C" {

lc_status lc_cuda_softmax_xent_forward(lc_cuda_ctx *ctx, float *probs, double *loss_dev,
                                       int64_t *correct_dev, const float *logits,
                                       const int32_t *labels, int64_t rows, int64_t cols)
{
    const char *op = "lc_cuda_softmax_xent_forward";
    lc_status st = xent_check(ctx, op, rows, cols);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(probs, op);
    LC_CUDA_NEED(logits, op);
    LC_CUDA_NEED(labels, op);
    void *scratch = NULL;
    st = lc_cuda_scratch(ctx, (size_t)rows * (sizeof(double) + sizeof(int32_t)), &scratch);
    if (st != LC_OK)
        return st;
    double *row_loss = (double *)scratch;
    int32_t *row_hit = (int32_t *)(row_loss + rows);
    xent_rows_kernel<<<xent_row_blocks(rows), LC_CUDA_THREADS, 0, ctx->stream>>>(
        probs, row_loss, row_hit, logits, labels, rows, cols);
    st = lc_cuda_launched(op);
    if (st != LC_OK || (!loss_dev && !correct_dev))
        return st;
    xent_finish_kernel<<<1, LC_CUDA_THREADS, 0, ctx->stream>>>(loss_dev, correct_dev, row_loss,
                                                               row_hit, rows);
    return lc_cuda_launched(op);
}

lc_status lc_cuda_softmax_xent_backward(lc_cuda_ctx *ctx, float *dlogits, const float *probs,
                                        const int32_t *labels, int64_t rows, int64_t cols,
                                        float dloss)
{
    const char *op = "lc_cuda_softmax_xent_backward";
    lc_status st = xent_check(ctx, op, rows, cols);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(dlogits, op);
    LC_CUDA_NEED(probs, op);
    LC_CUDA_NEED(labels, op);
    float scale = (float)((double)dloss / (double)rows);
    size_t n = (size_t)rows * (size_t)cols;
    LC_LAUNCH_N(ctx, op, n, xent_backward_kernel, dlogits, probs, labels, n, cols, scale);
}

lc_status lc_cuda_softmax_forward(lc_cuda_ctx *ctx, float *probs, const float *logits,
                                  int64_t rows, int64_t cols)
{
    const char *op = "lc_cuda_softmax_forward";
    lc_status st = xent_check(ctx, op, rows, cols);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(probs, op);
    LC_CUDA_NEED(logits, op);
    xent_rows_kernel<<<xent_row_blocks(rows), LC_CUDA_THREADS, 0, ctx->stream>>>(
        probs, NULL, NULL, logits, NULL, rows, cols);
    return lc_cuda_launched(op);
}

lc_status lc_cuda_argmax_rows(lc_cuda_ctx *ctx, int32_t *out, const float *x, int64_t rows,
                              int64_t cols)
{
    const char *op = "lc_cuda_argmax_rows";
    lc_status st = xent_check(ctx, op, rows, cols);
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(out, op);
    LC_CUDA_NEED(x, op);
    argmax_kernel<<<xent_row_blocks(rows), LC_CUDA_THREADS, 0, ctx->stream>>>(out, x, rows, cols);
    return lc_cuda_launched(op);
}

} /* extern "C" */
