/*
 * kernels/cuda/context.c — the CUDA context: device selection, one
 * non-blocking stream, a cuBLAS handle bound to it (with a workspace from
 * the caching allocator, so cuBLAS does not cudaMalloc inside steps), and
 * the allocator itself. Open/close pair; errors carry CUDA's own text.
 */
#include <stdlib.h>

#include "cuda_internal.h"

/* cuBLAS workspace: NVIDIA recommends 32 MiB on Hopper. */
#define LC_CUBLAS_WORKSPACE (32u << 20)

lc_status lc_cuda_ctx_open(lc_cuda_ctx **out, int device)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_cuda_ctx_open: out is NULL");
    *out = NULL;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        lc_status st = lc_cuda_fail(err, "no GPU found");
        cudaGetLastError(); /* clear the (non-sticky) error */
        return st == LC_ERR_STATE ? LC_ERR_UNSUPPORTED : st;
    }
    if (count == 0)
        return lc_fail(LC_ERR_UNSUPPORTED, "cuda: no GPU found: the driver reports no device");
    if (device < 0)
        device = 0;
    if (device >= count)
        return lc_fail(LC_ERR_INVALID, "cuda: device %d does not exist (this machine has %d GPU%s)",
                       device, count, count == 1 ? "" : "s");

    lc_status st = lc_cuda_fail(cudaSetDevice(device), "cudaSetDevice");
    if (st != LC_OK)
        return st;
    lc_cuda_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return lc_fail(LC_ERR_NOMEM, "lc_cuda_ctx_open: out of host memory");
    ctx->device = device;
    lc_cuda_alloc_init(&ctx->alloc);
    st = lc_cuda_fail(cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, device),
                      "cudaDeviceGetAttribute");
    if (st == LC_OK)
        st = lc_cuda_fail(
            cudaDeviceGetAttribute(&ctx->cc_major, cudaDevAttrComputeCapabilityMajor, device),
            "cudaDeviceGetAttribute");
    if (st == LC_OK)
        st = lc_cuda_fail(
            cudaDeviceGetAttribute(&ctx->cc_minor, cudaDevAttrComputeCapabilityMinor, device),
            "cudaDeviceGetAttribute");
    if (st == LC_OK)
        st = lc_cuda_fail(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking),
                          "cudaStreamCreate");
    if (st == LC_OK) {
        st = lc_cublas_fail(cublasCreate(&ctx->blas), "cublasCreate");
        if (st != LC_OK)
            ctx->blas = NULL;
    }
    if (st == LC_OK)
        st = lc_cublas_fail(cublasSetStream(ctx->blas, ctx->stream), "cublasSetStream");
    if (st == LC_OK)
        st = lc_cuda_malloc(ctx, &ctx->blas_workspace, LC_CUBLAS_WORKSPACE);
    if (st == LC_OK)
        st = lc_cublas_fail(
            cublasSetWorkspace(ctx->blas, ctx->blas_workspace, LC_CUBLAS_WORKSPACE),
            "cublasSetWorkspace");
    if (st != LC_OK) {
        lc_cuda_ctx_close(ctx);
        return st;
    }
    *out = ctx;
    return LC_OK;
}

void lc_cuda_ctx_close(lc_cuda_ctx *ctx)
{
    if (!ctx)
        return;
    cudaSetDevice(ctx->device);
    if (ctx->stream)
        cudaStreamSynchronize(ctx->stream);
    if (ctx->blas)
        cublasDestroy(ctx->blas);
    lc_cuda_alloc_destroy(&ctx->alloc); /* workspace and scratch included */
    if (ctx->stream)
        cudaStreamDestroy(ctx->stream);
    cudaGetLastError();
    free(ctx);
}

lc_status lc_cuda_ctx_make_current(lc_cuda_ctx *ctx)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_ctx_make_current");
    return st != LC_OK ? st : lc_cuda_fail(cudaSetDevice(ctx->device), "cudaSetDevice");
}

lc_status lc_cuda_sync(lc_cuda_ctx *ctx)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_sync");
    return st != LC_OK ? st : lc_cuda_fail(cudaStreamSynchronize(ctx->stream), "stream");
}

int lc_cuda_ctx_device(const lc_cuda_ctx *ctx)
{
    return ctx ? ctx->device : -1;
}

void *lc_cuda_ctx_stream(const lc_cuda_ctx *ctx)
{
    return ctx ? (void *)ctx->stream : NULL;
}

void lc_cuda_set_tf32(lc_cuda_ctx *ctx, int allow)
{
    if (ctx)
        ctx->allow_tf32 = allow != 0;
}
