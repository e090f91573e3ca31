/*
 * kernels/cuda/alloc.c — the caching device allocator (see cuda_ops.h,
 * "Memory").
 *
 * Size classes: 512 B, then four per power of two (p + p/4, p + p/2,
 * p + 3p/4, 2p for p = 512 B, 1 KiB, ...), so a block is at most 25% larger
 * than asked. Each class has a free list; a freed block goes back on it and
 * the next request of that class takes it without calling cudaMalloc. Live
 * blocks sit in a small hash table keyed by address, so lc_cuda_free can
 * find a block's class and reject pointers it never handed out.
 *
 * Reuse is safe without events because everything runs on the context's
 * one stream: work enqueued after a free runs after the work enqueued before
 * it (PyTorch's caching allocator makes the same argument per stream).
 * cudaFree, when the cache is emptied, waits for the device by itself.
 *
 * A mutex guards the lists, so a second host thread (a checkpoint writer
 * copying tensors out) may allocate too.
 */
#include <stdlib.h>

#include "cuda_internal.h"

/* ------------------------------------------------------------------------ */
/* Size classes                                                              */

#define LC_CUDA_MIN_BLOCK 512u

static size_t alloc_class_size(int cls)
{
    if (cls == 0)
        return LC_CUDA_MIN_BLOCK;
    int g = (cls - 1) / 4, r = (cls - 1) % 4;
    size_t p = (size_t)LC_CUDA_MIN_BLOCK << g;
    return p + (size_t)(r + 1) * (p / 4);
}

/* The smallest class holding size bytes, or -1 when there is none. */
static int alloc_class_of(size_t size)
{
    if (size <= LC_CUDA_MIN_BLOCK)
        return 0;
    uint64_t q = (uint64_t)(size - 1) / LC_CUDA_MIN_BLOCK; /* >= 1 */
    int g = 63 - __builtin_clzll(q);                        /* p < size <= 2p */
    size_t p = (size_t)LC_CUDA_MIN_BLOCK << g;
    int r = (int)((size - p - 1) / (p / 4));
    int cls = 1 + 4 * g + r;
    return cls < LC_CUDA_NUM_CLASSES ? cls : -1;
}

static size_t alloc_bucket(const void *ptr)
{
    return ((uintptr_t)ptr >> 9) & (LC_CUDA_ALLOC_BUCKETS - 1);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */

void lc_cuda_alloc_init(lc_cuda_alloc *a)
{
    *a = (lc_cuda_alloc){0};
    pthread_mutex_init(&a->mu, NULL);
}

static void alloc_free_chain(lc_cuda_alloc *a, lc_cuda_block *b)
{
    while (b) {
        lc_cuda_block *next = b->next;
        cudaFree(b->ptr);
        a->st.n_cuda_free++;
        free(b);
        b = next;
    }
}

void lc_cuda_alloc_destroy(lc_cuda_alloc *a)
{
    for (int c = 0; c < LC_CUDA_NUM_CLASSES; c++)
        alloc_free_chain(a, a->free_list[c]);
    for (int k = 0; k < LC_CUDA_ALLOC_BUCKETS; k++)
        alloc_free_chain(a, a->live[k]);
    pthread_mutex_destroy(&a->mu);
    *a = (lc_cuda_alloc){0};
}

/* Give every cached block back to CUDA; caller holds the mutex. */
static lc_status alloc_release_cached(lc_cuda_alloc *a)
{
    cudaError_t first = cudaSuccess;
    for (int c = 0; c < LC_CUDA_NUM_CLASSES; c++) {
        lc_cuda_block *b = a->free_list[c];
        a->free_list[c] = NULL;
        while (b) {
            lc_cuda_block *next = b->next;
            cudaError_t err = cudaFree(b->ptr);
            if (first == cudaSuccess)
                first = err;
            a->st.n_cuda_free++;
            a->st.cached -= b->size;
            a->st.reserved -= b->size;
            free(b);
            b = next;
        }
    }
    return lc_cuda_fail(first, "cudaFree");
}

/* ------------------------------------------------------------------------ */
/* malloc / free                                                             */

lc_status lc_cuda_malloc(lc_cuda_ctx *ctx, void **p, size_t bytes)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_malloc");
    if (st != LC_OK)
        return st;
    LC_CUDA_NEED(p, "lc_cuda_malloc");
    *p = NULL;
    if (bytes == 0)
        return LC_OK;
    int cls = alloc_class_of(bytes);
    if (cls < 0)
        return lc_fail(LC_ERR_NOMEM, "cuda: cannot allocate %zu bytes (larger than any GPU)",
                       bytes);
    lc_cuda_alloc *a = &ctx->alloc;
    pthread_mutex_lock(&a->mu);
    lc_cuda_block *b = a->free_list[cls];
    if (b) {
        a->free_list[cls] = b->next;
        a->st.cached -= b->size;
        a->st.n_cache_hits++;
    } else {
        b = malloc(sizeof *b);
        if (!b) {
            pthread_mutex_unlock(&a->mu);
            return lc_fail(LC_ERR_NOMEM, "lc_cuda_malloc: out of host memory");
        }
        size_t size = alloc_class_size(cls);
        void *ptr = NULL;
        cudaError_t err = cudaMalloc(&ptr, size);
        a->st.n_cuda_malloc++;
        if (err == cudaErrorMemoryAllocation && a->st.cached > 0) {
            /* Out of memory with blocks parked in the cache: return them
             * to CUDA and try once more. */
            cudaGetLastError();
            alloc_release_cached(a);
            err = cudaMalloc(&ptr, size);
            a->st.n_cuda_malloc++;
        }
        if (err != cudaSuccess) {
            cudaGetLastError();
            free(b);
            lc_cuda_mem_stats s = a->st;
            pthread_mutex_unlock(&a->mu);
            if (err == cudaErrorMemoryAllocation)
                return lc_fail(LC_ERR_NOMEM,
                               "cuda: out of device memory allocating %zu bytes (%llu in use, "
                               "%llu cached by this context)",
                               bytes, (unsigned long long)s.in_use,
                               (unsigned long long)s.cached);
            return lc_cuda_fail(err, "cudaMalloc");
        }
        b->ptr = ptr;
        b->size = size;
        b->cls = cls;
        a->st.reserved += size;
    }
    b->requested = bytes;
    size_t k = alloc_bucket(b->ptr);
    b->next = a->live[k];
    a->live[k] = b;
    a->st.in_use += b->size;
    a->st.requested += bytes;
    if (a->st.in_use > a->st.peak_in_use)
        a->st.peak_in_use = a->st.in_use;
    a->st.n_alloc++;
    *p = b->ptr;
    pthread_mutex_unlock(&a->mu);
    return LC_OK;
}

lc_status lc_cuda_free(lc_cuda_ctx *ctx, void *p)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_free");
    if (st != LC_OK || !p)
        return st;
    lc_cuda_alloc *a = &ctx->alloc;
    pthread_mutex_lock(&a->mu);
    lc_cuda_block **link = &a->live[alloc_bucket(p)];
    while (*link && (*link)->ptr != p)
        link = &(*link)->next;
    lc_cuda_block *b = *link;
    if (!b) {
        pthread_mutex_unlock(&a->mu);
        return lc_fail(LC_ERR_INVALID,
                       "lc_cuda_free: %p was not allocated by this context (or freed twice)", p);
    }
    *link = b->next;
    a->st.in_use -= b->size;
    a->st.requested -= b->requested;
    a->st.cached += b->size;
    b->requested = 0;
    b->next = a->free_list[b->cls];
    a->free_list[b->cls] = b;
    pthread_mutex_unlock(&a->mu);
    return LC_OK;
}

lc_status lc_cuda_empty_cache(lc_cuda_ctx *ctx)
{
    lc_status st = lc_cuda_check_ctx(ctx, "lc_cuda_empty_cache");
    if (st != LC_OK)
        return st;
    pthread_mutex_lock(&ctx->alloc.mu);
    st = alloc_release_cached(&ctx->alloc);
    pthread_mutex_unlock(&ctx->alloc.mu);
    return st;
}

void lc_cuda_mem_stats_get(lc_cuda_ctx *ctx, lc_cuda_mem_stats *out)
{
    if (!out)
        return;
    if (!ctx) {
        *out = (lc_cuda_mem_stats){0};
        return;
    }
    pthread_mutex_lock(&ctx->alloc.mu);
    *out = ctx->alloc.st;
    pthread_mutex_unlock(&ctx->alloc.mu);
}

void lc_cuda_mem_reset_peak(lc_cuda_ctx *ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&ctx->alloc.mu);
    ctx->alloc.st.peak_in_use = ctx->alloc.st.in_use;
    pthread_mutex_unlock(&ctx->alloc.mu);
}
