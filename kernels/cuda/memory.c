/*
 * kernels/cuda/memory.c — copies between host and device on the context's
 * stream, the scratch buffer multi-kernel ops share, and the memory figures
 * a DeviceStatsMonitor logs.
 */
#include "cuda_internal.h"

/* ------------------------------------------------------------------------ */
/* Copies                                                                    */

static lc_status memory_copy(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes,
                             enum cudaMemcpyKind kind, const char *op, int wait)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || bytes == 0)
        return st;
    LC_CUDA_NEED(dst, op);
    LC_CUDA_NEED(src, op);
    /* From pageable host memory cudaMemcpyAsync returns once the source has
     * been staged, so the caller may reuse it at once. */
    st = lc_cuda_fail(cudaMemcpyAsync(dst, src, bytes, kind, ctx->stream), op);
    if (st == LC_OK && wait)
        st = lc_cuda_fail(cudaStreamSynchronize(ctx->stream), op);
    return st;
}

lc_status lc_cuda_copy_to_device(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    return memory_copy(ctx, dst, src, bytes, cudaMemcpyHostToDevice, "lc_cuda_copy_to_device", 0);
}

lc_status lc_cuda_copy_to_host(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    return memory_copy(ctx, dst, src, bytes, cudaMemcpyDeviceToHost, "lc_cuda_copy_to_host", 1);
}

lc_status lc_cuda_copy_device(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    if (dst == src)
        return lc_cuda_check_ctx(ctx, "lc_cuda_copy_device");
    return memory_copy(ctx, dst, src, bytes, cudaMemcpyDeviceToDevice, "lc_cuda_copy_device", 0);
}

lc_status lc_cuda_memset_zero(lc_cuda_ctx *ctx, void *dst, size_t bytes)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_memset_zero");
    if (st != LC_OK || bytes == 0)
        return st;
    LC_CUDA_NEED(dst, "lc_cuda_memset_zero");
    return lc_cuda_fail(cudaMemsetAsync(dst, 0, bytes, ctx->stream), "lc_cuda_memset_zero");
}

/* ------------------------------------------------------------------------ */
/* Scratch                                                                   */

lc_status lc_cuda_scratch(lc_cuda_ctx *ctx, size_t bytes, void **out)
{
    if (bytes <= ctx->scratch_size) {
        *out = ctx->scratch;
        return LC_OK;
    }
    /* Grow geometrically. The old buffer goes back to the cache; work still
     * queued on it finishes before anything enqueued later reuses it. */
    size_t want = ctx->scratch_size * 2 > bytes ? ctx->scratch_size * 2 : bytes;
    lc_status st = lc_cuda_free(ctx, ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_size = 0;
    if (st == LC_OK)
        st = lc_cuda_malloc(ctx, &ctx->scratch, want);
    if (st != LC_OK)
        return st;
    ctx->scratch_size = want;
    *out = ctx->scratch;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Device statistics                                                         */

lc_status lc_cuda_device_stats_get(lc_cuda_ctx *ctx, lc_cuda_device_stats *out)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_device_stats_get");
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(out, "lc_cuda_device_stats_get");
    size_t free_b = 0, total_b = 0;
    st = lc_cuda_fail(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    if (st != LC_OK)
        return st;
    out->device_total = total_b;
    out->device_used = total_b - free_b;
    lc_cuda_mem_stats_get(ctx, &out->alloc);
    return LC_OK;
}
