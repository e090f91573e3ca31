/*
 * trainer/dist/dist_nccl.c — device collectives over NCCL: the
 * communicator (rank 0's ncclUniqueId broadcast over the MPI group, the
 * pattern llm.c uses), grouped all-reduces of float32 device buffers (one
 * ncclGroupStart/End launch for a whole set of gradients, NCCL fusing them)
 * and broadcasts. Built only with the CUDA layer and NCCL
 * (LC_HAVE_NCCL); otherwise lc_dist_nccl_init says why it is missing.
 * Waits on the stream it uses, so callers see finished results.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/status.h"
#include "dist.h"

#ifdef LC_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

struct lc_nccl {
    ncclComm_t comm;
    cudaStream_t stream;
    int device;
};

static lc_status nccl_err(ncclResult_t r, const char *what)
{
    return lc_fail(LC_ERR_IO, "nccl: %s failed: %s (set NCCL_DEBUG=INFO for details)", what,
                   ncclGetErrorString(r));
}

static lc_status cuda_err(cudaError_t e, const char *what)
{
    return lc_fail(LC_ERR_IO, "nccl: %s failed: %s", what, cudaGetErrorString(e));
}

lc_status lc_nccl_create(lc_nccl **out, lc_dist *d, int device)
{
    *out = NULL;
    ncclUniqueId id;
    if (lc_dist_rank(d) == 0) {
        ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess)
            return nccl_err(r, "ncclGetUniqueId");
    }
    lc_status st = lc_dist_broadcast(d, &id, sizeof id, 0);
    if (st != LC_OK)
        return st;
    cudaError_t ce = cudaSetDevice(device);
    if (ce != cudaSuccess)
        return cuda_err(ce, "cudaSetDevice");
    lc_nccl *n = calloc(1, sizeof *n);
    if (!n)
        return lc_fail(LC_ERR_NOMEM, "nccl: out of memory");
    n->device = device;
    ce = cudaStreamCreateWithFlags(&n->stream, cudaStreamNonBlocking);
    if (ce != cudaSuccess) {
        free(n);
        return cuda_err(ce, "cudaStreamCreate");
    }
    ncclResult_t r = ncclCommInitRank(&n->comm, lc_dist_world(d), id, lc_dist_rank(d));
    if (r != ncclSuccess) {
        cudaStreamDestroy(n->stream);
        free(n);
        return nccl_err(r, "ncclCommInitRank");
    }
    *out = n;
    return LC_OK;
}

void lc_nccl_free(lc_nccl *n)
{
    if (!n)
        return;
    ncclCommDestroy(n->comm);
    cudaStreamDestroy(n->stream);
    free(n);
}

lc_status lc_nccl_allreduce(lc_nccl *n, float *const *bufs, const size_t *counts, size_t k,
                            lc_dist_op op, int world)
{
    (void)world;
    ncclRedOp_t rop = op == LC_DIST_SUM ? ncclSum : op == LC_DIST_MEAN ? ncclAvg
                      : op == LC_DIST_MAX ? ncclMax : ncclMin;
    /* the gradients were written on the compute stream: let them finish */
    cudaError_t ce = cudaDeviceSynchronize();
    if (ce != cudaSuccess)
        return cuda_err(ce, "cudaDeviceSynchronize");
    ncclResult_t r = ncclGroupStart();
    for (size_t i = 0; r == ncclSuccess && i < k; i++)
        r = ncclAllReduce(bufs[i], bufs[i], counts[i], ncclFloat32, rop, n->comm, n->stream);
    ncclResult_t r2 = ncclGroupEnd();
    if (r != ncclSuccess || r2 != ncclSuccess)
        return nccl_err(r != ncclSuccess ? r : r2, "ncclAllReduce");
    ce = cudaStreamSynchronize(n->stream);
    return ce == cudaSuccess ? LC_OK : cuda_err(ce, "cudaStreamSynchronize");
}

lc_status lc_nccl_broadcast(lc_nccl *n, void *buf, size_t bytes, int root)
{
    cudaError_t ce = cudaDeviceSynchronize();
    if (ce != cudaSuccess)
        return cuda_err(ce, "cudaDeviceSynchronize");
    ncclResult_t r = ncclBroadcast(buf, buf, bytes, ncclUint8, root, n->comm, n->stream);
    if (r != ncclSuccess)
        return nccl_err(r, "ncclBroadcast");
    ce = cudaStreamSynchronize(n->stream);
    return ce == cudaSuccess ? LC_OK : cuda_err(ce, "cudaStreamSynchronize");
}

#else /* no NCCL */

struct lc_nccl {
    int unused;
};

lc_status lc_nccl_create(lc_nccl **out, lc_dist *d, int device)
{
    (void)d;
    (void)device;
    *out = NULL;
    return lc_fail(LC_ERR_UNSUPPORTED,
                   "nccl: this lightc was built without NCCL (it needs MPI and the CUDA layer: "
                   "install the CUDA toolkit with NCCL and Open MPI, then reconfigure with cmake)");
}

void lc_nccl_free(lc_nccl *n)
{
    (void)n;
}

lc_status lc_nccl_allreduce(lc_nccl *n, float *const *bufs, const size_t *counts, size_t k,
                            lc_dist_op op, int world)
{
    (void)n, (void)bufs, (void)counts, (void)k, (void)op, (void)world;
    return lc_fail(LC_ERR_UNSUPPORTED, "nccl: not built in");
}

lc_status lc_nccl_broadcast(lc_nccl *n, void *buf, size_t bytes, int root)
{
    (void)n, (void)buf, (void)bytes, (void)root;
    return lc_fail(LC_ERR_UNSUPPORTED, "nccl: not built in");
}
#endif

int lc_dist_have_nccl(void)
{
#ifdef LC_HAVE_NCCL
    return 1;
#else
    return 0;
#endif
}
