/*
 * trainer/dist/dist_nccl.c — device collectives over NCCL: the
 * communicator (rank 0's ncclUniqueId broadcast over the MPI group, the
 * pattern llm.c uses), grouped all-reduces of float32 device buffers (one
 * ncclGroupStart/End launch for a whole set of gradients, NCCL fusing them)
 * and broadcasts. Built only with the CUDA layer and NCCL's header
 * (LC_HAVE_NCCL); otherwise lc_dist_nccl_init says why it is missing.
 * Waits on the stream it uses, so callers see finished results.
 *
 * libnccl (over 200 MB) is loaded when a ddp run first needs it
 * (dlopen: LIGHTC_NCCL_LIBRARY, then libnccl.so.2 on the loader's path,
 * then the library CMake found), not linked: a lightc that never trains
 * on several GPUs neither needs nor carries it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "dist.h"

#ifdef LC_HAVE_NCCL
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>

/* ---- the library, loaded on first use ----------------------------------- */

static struct {
    int tried, ok;
    char err[512];
    ncclResult_t (*get_unique_id)(ncclUniqueId *);
    ncclResult_t (*comm_init_rank)(ncclComm_t *, int, ncclUniqueId, int);
    ncclResult_t (*comm_destroy)(ncclComm_t);
    ncclResult_t (*all_reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t,
                               ncclComm_t, cudaStream_t);
    ncclResult_t (*broadcast)(const void *, void *, size_t, ncclDataType_t, int, ncclComm_t,
                              cudaStream_t);
    ncclResult_t (*group_start)(void);
    ncclResult_t (*group_end)(void);
    const char *(*error_string)(ncclResult_t);
} nccl;

static void *sym(void *h, const char *name, int *missing)
{
    void *p = dlsym(h, name);
    if (!p && !*missing) {
        *missing = 1;
        snprintf(nccl.err, sizeof nccl.err, "nccl: the library has no %s", name);
    }
    return p;
}

lc_status lc_dist_nccl_load(void)
{
    if (!nccl.tried) {
        nccl.tried = 1;
        const char *env = getenv("LIGHTC_NCCL_LIBRARY");
        const char *names[] = {env && *env ? env : NULL, "libnccl.so.2", "libnccl.so",
#ifdef LC_NCCL_LIBRARY
                               LC_NCCL_LIBRARY,
#endif
                               NULL};
        void *h = NULL;
        size_t count = sizeof names / sizeof names[0];
        for (size_t i = 0; !h && i < count; i++)
            if (names[i])
                h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(nccl.err, sizeof nccl.err,
                     "nccl: cannot load libnccl.so.2 (%s); install NCCL (it comes with the CUDA "
                     "toolkit) or set LIGHTC_NCCL_LIBRARY to its path", dlerror());
        } else {
            int missing = 0;
            *(void **)&nccl.get_unique_id = sym(h, "ncclGetUniqueId", &missing);
            *(void **)&nccl.comm_init_rank = sym(h, "ncclCommInitRank", &missing);
            *(void **)&nccl.comm_destroy = sym(h, "ncclCommDestroy", &missing);
            *(void **)&nccl.all_reduce = sym(h, "ncclAllReduce", &missing);
            *(void **)&nccl.broadcast = sym(h, "ncclBroadcast", &missing);
            *(void **)&nccl.group_start = sym(h, "ncclGroupStart", &missing);
            *(void **)&nccl.group_end = sym(h, "ncclGroupEnd", &missing);
            *(void **)&nccl.error_string = sym(h, "ncclGetErrorString", &missing);
            nccl.ok = !missing;
        }
    }
    return nccl.ok ? LC_OK : lc_fail(LC_ERR_UNSUPPORTED, "%s", nccl.err);
}

struct lc_nccl {
    ncclComm_t comm;
    cudaStream_t stream;
    int device;
};

static lc_status nccl_err(ncclResult_t r, const char *what)
{
    return lc_fail(LC_ERR_IO, "nccl: %s failed: %s (set NCCL_DEBUG=INFO for details)", what,
                   nccl.error_string(r));
}

static lc_status cuda_err(cudaError_t e, const char *what)
{
    return lc_fail(LC_ERR_IO, "nccl: %s failed: %s", what, cudaGetErrorString(e));
}

lc_status lc_nccl_create(lc_nccl **out, lc_dist *d, int device)
{
    *out = NULL;
    /* every rank takes part in the id broadcast, also one that cannot
       load NCCL (it fails after it, naming why) */
    lc_status lst = lc_dist_nccl_load();
    char why[512];
    snprintf(why, sizeof why, "%s", lst != LC_OK ? lc_errmsg() : "");
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    if (lc_dist_rank(d) == 0 && lst == LC_OK) {
        ncclResult_t r = nccl.get_unique_id(&id);
        if (r != ncclSuccess)
            return nccl_err(r, "ncclGetUniqueId");
    }
    lc_status st = lc_dist_broadcast(d, &id, sizeof id, 0);
    if (st != LC_OK)
        return st;
    if (lst != LC_OK)
        return lc_fail(lst, "%s", why);
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
    ncclResult_t r = nccl.comm_init_rank(&n->comm, lc_dist_world(d), id, lc_dist_rank(d));
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
    nccl.comm_destroy(n->comm);
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
    ncclResult_t r = nccl.group_start();
    for (size_t i = 0; r == ncclSuccess && i < k; i++)
        r = nccl.all_reduce(bufs[i], bufs[i], counts[i], ncclFloat32, rop, n->comm, n->stream);
    ncclResult_t r2 = nccl.group_end();
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
    ncclResult_t r = nccl.broadcast(buf, buf, bytes, ncclUint8, root, n->comm, n->stream);
    if (r != ncclSuccess)
        return nccl_err(r, "ncclBroadcast");
    ce = cudaStreamSynchronize(n->stream);
    return ce == cudaSuccess ? LC_OK : cuda_err(ce, "cudaStreamSynchronize");
}

#else /* no NCCL */

lc_status lc_dist_nccl_load(void)
{
    return lc_fail(LC_ERR_UNSUPPORTED, "nccl: this lightc was built without NCCL's header");
}

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
