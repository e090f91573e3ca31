/*
 * kernels/cuda/cast.cu — precision casts between fp32, fp16 and bf16 (round
 * to nearest even, bit-exact integer code from cuda_common.cuh), and the
 * gathers that build a batch from a data set resident on the device.
 *
 * fp16 <-> bf16 go through fp32: widening is exact, so the one rounding is
 * the narrowing one, as a direct conversion would round.
 */
#include "cuda_common.cuh"

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

enum cast_kind { F32_TO_F16, F16_TO_F32, F32_TO_BF16, BF16_TO_F32, F16_TO_BF16, BF16_TO_F16 };

__global__ static void cast_from_f32_kernel(uint16_t *dst, const float *src, size_t n, int bf16)
{
    LC_GRID_LOOP(i, n)
    {
        uint32_t x = __float_as_uint(src[i]);
        dst[i] = bf16 ? lc_f32_to_bf16_bits(x) : lc_f32_to_f16_bits(x);
    }
}

__global__ static void cast_to_f32_kernel(float *dst, const uint16_t *src, size_t n, int bf16)
{
    LC_GRID_LOOP(i, n)
    {
        uint16_t h = src[i];
        dst[i] = __uint_as_float(bf16 ? lc_bf16_to_f32_bits(h) : lc_f16_to_f32_bits(h));
    }
}

__global__ static void cast_16_kernel(uint16_t *dst, const uint16_t *src, size_t n, int to_bf16)
{
    LC_GRID_LOOP(i, n)
    {
        uint16_t h = src[i];
        dst[i] = to_bf16 ? lc_f32_to_bf16_bits(lc_f16_to_f32_bits(h))
                         : lc_f32_to_f16_bits(lc_bf16_to_f32_bits(h));
    }
}

/* x -> the nearest value of the format (fp32 -> 16 bits -> fp32), in place
 * allowed: how 16-bit storage is kept in fp32 buffers. */
__global__ static void round_kernel(float *dst, const float *src, size_t n, int bf16)
{
    LC_GRID_LOOP(i, n)
    {
        uint32_t x = __float_as_uint(src[i]);
        dst[i] = __uint_as_float(bf16 ? lc_bf16_to_f32_bits(lc_f32_to_bf16_bits(x))
                                      : lc_f16_to_f32_bits(lc_f32_to_f16_bits(x)));
    }
}

/* One element per thread over count * features: coalesced writes; reads
 * are contiguous within a sample. */
__global__ static void gather_u8_kernel(float *dst, const uint8_t *images, size_t n_samples,
                                        size_t features, const int32_t *idx, size_t total,
                                        const float *lut)
{
    LC_GRID_LOOP(i, total)
    {
        size_t row = i / features, f = i % features;
        int64_t s = idx[row];
        dst[i] = (s >= 0 && (size_t)s < n_samples) ? lut[images[(size_t)s * features + f]] : 0.0f;
    }
}

__global__ static void gather_labels_kernel(int32_t *dst, const uint8_t *labels, size_t n_samples,
                                            const int32_t *idx, size_t count)
{
    LC_GRID_LOOP(i, count)
    {
        int64_t s = idx[i];
        dst[i] = (s >= 0 && (size_t)s < n_samples) ? (int32_t)labels[s] : -1;
    }
}

__global__ static void gather_rows_kernel(float *dst, const float *src, size_t n_rows,
                                          size_t row_len, const int32_t *idx, size_t total)
{
    LC_GRID_LOOP(i, total)
    {
        size_t row = i / row_len, f = i % row_len;
        int64_t s = idx[row];
        dst[i] = (s >= 0 && (size_t)s < n_rows) ? src[(size_t)s * row_len + f] : 0.0f;
    }
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

static lc_status cast_launch(lc_cuda_ctx *ctx, const char *op, void *dst, const void *src,
                             size_t n, enum cast_kind kind)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(src, op);
    unsigned grid = lc_cuda_grid(ctx, n);
    cudaStream_t s = ctx->stream;
    switch (kind) {
    case F32_TO_F16:
    case F32_TO_BF16:
        cast_from_f32_kernel<<<grid, LC_CUDA_THREADS, 0, s>>>((uint16_t *)dst, (const float *)src,
                                                              n, kind == F32_TO_BF16);
        break;
    case F16_TO_F32:
    case BF16_TO_F32:
        cast_to_f32_kernel<<<grid, LC_CUDA_THREADS, 0, s>>>((float *)dst, (const uint16_t *)src,
                                                            n, kind == BF16_TO_F32);
        break;
    case F16_TO_BF16:
    case BF16_TO_F16:
        cast_16_kernel<<<grid, LC_CUDA_THREADS, 0, s>>>((uint16_t *)dst, (const uint16_t *)src, n,
                                                        kind == F16_TO_BF16);
        break;
    }
    return lc_cuda_launched(op);
}

extern "C" {

lc_status lc_cuda_f32_to_f16(lc_cuda_ctx *ctx, uint16_t *dst, const float *src, size_t n)
{
    return cast_launch(ctx, "lc_cuda_f32_to_f16", dst, src, n, F32_TO_F16);
}

lc_status lc_cuda_f16_to_f32(lc_cuda_ctx *ctx, float *dst, const uint16_t *src, size_t n)
{
    return cast_launch(ctx, "lc_cuda_f16_to_f32", dst, src, n, F16_TO_F32);
}

lc_status lc_cuda_f32_to_bf16(lc_cuda_ctx *ctx, uint16_t *dst, const float *src, size_t n)
{
    return cast_launch(ctx, "lc_cuda_f32_to_bf16", dst, src, n, F32_TO_BF16);
}

lc_status lc_cuda_bf16_to_f32(lc_cuda_ctx *ctx, float *dst, const uint16_t *src, size_t n)
{
    return cast_launch(ctx, "lc_cuda_bf16_to_f32", dst, src, n, BF16_TO_F32);
}

lc_status lc_cuda_f16_to_bf16(lc_cuda_ctx *ctx, uint16_t *dst, const uint16_t *src, size_t n)
{
    return cast_launch(ctx, "lc_cuda_f16_to_bf16", dst, src, n, F16_TO_BF16);
}

lc_status lc_cuda_bf16_to_f16(lc_cuda_ctx *ctx, uint16_t *dst, const uint16_t *src, size_t n)
{
    return cast_launch(ctx, "lc_cuda_bf16_to_f16", dst, src, n, BF16_TO_F16);
}

lc_status lc_cuda_round(lc_cuda_ctx *ctx, float *dst, const float *src, size_t n, int fmt)
{
    const char *op = "lc_cuda_round";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    if (fmt != LC_CUDA_F16 && fmt != LC_CUDA_BF16)
        return lc_fail(LC_ERR_INVALID, "%s: fmt must be LC_CUDA_F16 or LC_CUDA_BF16, not %d", op,
                       fmt);
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(src, op);
    LC_LAUNCH_N(ctx, op, n, round_kernel, dst, src, n, fmt == LC_CUDA_BF16);
}

lc_status lc_cuda_gather_u8(lc_cuda_ctx *ctx, float *dst, const uint8_t *images,
                            size_t n_samples, size_t features, const int32_t *idx, size_t count,
                            const float *lut)
{
    const char *op = "lc_cuda_gather_u8";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || count == 0 || features == 0)
        return st;
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(images, op);
    LC_CUDA_NEED(idx, op);
    LC_CUDA_NEED(lut, op);
    size_t total = count * features;
    LC_LAUNCH_N(ctx, op, total, gather_u8_kernel, dst, images, n_samples, features, idx, total,
                lut);
}

lc_status lc_cuda_gather_labels(lc_cuda_ctx *ctx, int32_t *dst, const uint8_t *labels,
                                size_t n_samples, const int32_t *idx, size_t count)
{
    const char *op = "lc_cuda_gather_labels";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || count == 0)
        return st;
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(labels, op);
    LC_CUDA_NEED(idx, op);
    LC_LAUNCH_N(ctx, op, count, gather_labels_kernel, dst, labels, n_samples, idx, count);
}

lc_status lc_cuda_gather_rows(lc_cuda_ctx *ctx, float *dst, const float *src, size_t n_rows,
                              size_t row_len, const int32_t *idx, size_t count)
{
    const char *op = "lc_cuda_gather_rows";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || count == 0 || row_len == 0)
        return st;
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(src, op);
    LC_CUDA_NEED(idx, op);
    size_t total = count * row_len;
    LC_LAUNCH_N(ctx, op, total, gather_rows_kernel, dst, src, n_rows, row_len, idx, total);
}

} /* extern "C" */
