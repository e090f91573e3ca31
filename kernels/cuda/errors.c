/*
 * kernels/cuda/errors.c — CUDA and cuBLAS errors as lc_status plus a message
 * (never exit/abort), and the small helpers every launcher uses: the context
 * check, the launch check and the grid size.
 */
#include "cuda_internal.h"

/* ------------------------------------------------------------------------ */
/* Error conversion                                                          */

/* Which lc_status a CUDA error is: out of memory, "this machine cannot run
 * it" (no GPU, old driver, no kernel image for the GPU), a bad argument, or
 * a broken state (a kernel fault poisons the context until it is closed). */
static lc_status cuda_status_of(cudaError_t err)
{
    switch (err) {
    case cudaSuccess:
        return LC_OK;
    case cudaErrorMemoryAllocation:
        return LC_ERR_NOMEM;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorDevicesUnavailable:
    case cudaErrorNotSupported:
    case cudaErrorCallRequiresNewerDriver:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
        return LC_ERR_UNSUPPORTED;
    case cudaErrorInvalidValue:
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidDevice:
        return LC_ERR_INVALID;
    default:
        return LC_ERR_STATE;
    }
}

lc_status lc_cuda_fail(cudaError_t err, const char *op)
{
    if (err == cudaSuccess)
        return LC_OK;
    return lc_fail(cuda_status_of(err), "cuda: %s: %s (%s)", op, cudaGetErrorString(err),
                   cudaGetErrorName(err));
}

lc_status lc_cublas_fail(cublasStatus_t st, const char *op)
{
    lc_status s;
    switch (st) {
    case CUBLAS_STATUS_SUCCESS:
        return LC_OK;
    case CUBLAS_STATUS_ALLOC_FAILED:
        s = LC_ERR_NOMEM;
        break;
    case CUBLAS_STATUS_NOT_INITIALIZED:
    case CUBLAS_STATUS_ARCH_MISMATCH:
    case CUBLAS_STATUS_NOT_SUPPORTED:
        s = LC_ERR_UNSUPPORTED;
        break;
    case CUBLAS_STATUS_INVALID_VALUE:
        s = LC_ERR_INVALID;
        break;
    default:
        s = LC_ERR_STATE;
        break;
    }
    return lc_fail(s, "cuda: %s: cuBLAS %s", op, cublasGetStatusString(st));
}

lc_status lc_cuda_launched(const char *op)
{
    return lc_cuda_fail(cudaGetLastError(), op);
}

/* ------------------------------------------------------------------------ */
/* Launch helpers                                                            */

lc_status lc_cuda_check_ctx(const lc_cuda_ctx *ctx, const char *op)
{
    if (!ctx)
        return lc_fail(LC_ERR_INVALID, "%s: the CUDA context is NULL (lc_cuda_ctx_open first)", op);
    return LC_OK;
}

unsigned lc_cuda_grid(const lc_cuda_ctx *ctx, size_t n)
{
    size_t blocks = (n + LC_CUDA_THREADS - 1) / LC_CUDA_THREADS;
    size_t cap = (size_t)(ctx->sm_count > 0 ? ctx->sm_count : 1) * 32;
    if (blocks > cap)
        blocks = cap; /* the kernels loop over the rest (grid stride) */
    return blocks ? (unsigned)blocks : 1u;
}
