/*
 * kernels/cuda/cuda_internal.h — what the CUDA layer's own files share: the
 * context struct, the allocator's state, CUDA/cuBLAS error conversion and
 * launch helpers. Private to kernels/cuda/ (C and CUDA C++ both include it).
 */
#ifndef LC_CUDA_INTERNAL_H
#define LC_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "common/status.h" /* lc_fail (no C++ guard of its own) */

/* ------------------------------------------------------------------------ */
/* Caching allocator state (alloc.c)                                         */

#define LC_CUDA_ALLOC_BUCKETS 1024 /* live-block hash buckets (power of two) */
#define LC_CUDA_NUM_CLASSES 160    /* size classes: 512 B up to 2^48 B */

/* One device block; sits in exactly one list: its class's free list or a
 * live hash chain. */
typedef struct lc_cuda_block {
    void *ptr;
    size_t size;      /* class size (what cudaMalloc got) */
    size_t requested; /* what the caller asked for (live blocks) */
    int cls;
    struct lc_cuda_block *next;
} lc_cuda_block;

typedef struct lc_cuda_alloc {
    pthread_mutex_t mu;
    lc_cuda_block *free_list[LC_CUDA_NUM_CLASSES];
    lc_cuda_block *live[LC_CUDA_ALLOC_BUCKETS];
    lc_cuda_mem_stats st;
} lc_cuda_alloc;

void lc_cuda_alloc_init(lc_cuda_alloc *a);
/* cudaFree everything, live or cached (context close). */
void lc_cuda_alloc_destroy(lc_cuda_alloc *a);

/* ------------------------------------------------------------------------ */
/* Context (context.c)                                                       */

struct lc_cuda_ctx {
    int device;
    int sm_count;
    int cc_major, cc_minor;
    int allow_tf32;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_workspace; /* from the allocator, given to cuBLAS */
    lc_cuda_alloc alloc;
    /* Scratch for multi-kernel ops (reduction partials, per-row losses):
     * grown on demand, reused in stream order. */
    void *scratch;
    size_t scratch_size;
};

/* Map a CUDA error to an lc_status and set "cuda: <op>: <text>". */
lc_status lc_cuda_fail(cudaError_t err, const char *op);

/* The same for cuBLAS. */
lc_status lc_cublas_fail(cublasStatus_t st, const char *op);

/* After a kernel launch: LC_OK, or the launch error (cudaGetLastError). */
lc_status lc_cuda_launched(const char *op);

/* A scratch buffer of at least bytes, valid until the next call (in stream
 * order). */
lc_status lc_cuda_scratch(lc_cuda_ctx *ctx, size_t bytes, void **out);

/* Argument checks shared by the launchers: a NULL context, a NULL buffer. */
lc_status lc_cuda_check_ctx(const lc_cuda_ctx *ctx, const char *op);
#define LC_CUDA_NEED(p, op)                                                              \
    do {                                                                                 \
        if (!(p))                                                                        \
            return lc_fail(LC_ERR_INVALID, "%s: %s is NULL", (op), #p);                  \
    } while (0)

/* Blocks of LC_CUDA_THREADS threads for n elements, grid-stride loops
 * beyond 32 blocks per multiprocessor. */
#define LC_CUDA_THREADS 256
unsigned lc_cuda_grid(const lc_cuda_ctx *ctx, size_t n);

#ifdef __cplusplus
}
#endif

#endif
