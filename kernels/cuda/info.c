/*
 * kernels/cuda/info.c — what `lightc info` says about CUDA: whether the
 * kernels were compiled in, the runtime and driver versions, and the GPUs
 * (name, memory, compute capability), or why there are none.
 *
 * Built in every configuration. Without LC_HAVE_CUDA the query says "not
 * compiled in" and lc_cuda_ctx_open returns LC_ERR_UNSUPPORTED, so callers
 * need no #ifdef to ask.
 */
#include <stdio.h>
#include <string.h>

#include "cuda_ops.h"
#include "common/status.h"

#ifdef LC_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

const char *lc_cuda_version_str(int version, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    if (version <= 0)
        snprintf(buf, cap, "none");
    else
        snprintf(buf, cap, "%d.%d", version / 1000, (version % 1000) / 10);
    return buf;
}

#ifdef LC_HAVE_CUDA

int lc_cuda_compiled(void)
{
    return 1;
}

void lc_cuda_query(lc_cuda_info *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->compiled = 1;
    cudaRuntimeGetVersion(&out->runtime_version);
    cudaDriverGetVersion(&out->driver_version); /* 0 when no driver is installed */
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        snprintf(out->reason, sizeof out->reason, "no GPU found: %s", cudaGetErrorString(err));
        cudaGetLastError();
        return;
    }
    if (count == 0) {
        snprintf(out->reason, sizeof out->reason, "no GPU found: the driver reports no device");
        return;
    }
    for (int i = 0; i < count && out->gpu_count < LC_CUDA_MAX_GPUS; i++) {
        struct cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
            cudaGetLastError();
            continue;
        }
        lc_cuda_gpu *g = &out->gpus[out->gpu_count++];
        snprintf(g->name, sizeof g->name, "%s", p.name);
        g->total_memory = p.totalGlobalMem;
        g->cc_major = p.major;
        g->cc_minor = p.minor;
        g->sm_count = p.multiProcessorCount;
        if (cudaDeviceGetAttribute(&g->clock_khz, cudaDevAttrClockRate, i) != cudaSuccess) {
            g->clock_khz = 0;
            cudaGetLastError();
        }
    }
    if (out->gpu_count == 0)
        snprintf(out->reason, sizeof out->reason,
                 "no GPU found: %d device(s) reported, none could be queried", count);
}

#else /* !LC_HAVE_CUDA */

int lc_cuda_compiled(void)
{
    return 0;
}

void lc_cuda_query(lc_cuda_info *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    snprintf(out->reason, sizeof out->reason,
             "not compiled in (no nvcc, or LC_CUDA=OFF, when lightc was configured)");
}

lc_status lc_cuda_ctx_open(lc_cuda_ctx **out, int device)
{
    (void)device;
    if (out)
        *out = NULL;
    return lc_fail(LC_ERR_UNSUPPORTED,
                   "cuda: not compiled in: reconfigure lightc on a machine with nvcc "
                   "(CUDA toolkit) to train on a GPU");
}

void lc_cuda_ctx_close(lc_cuda_ctx *ctx)
{
    (void)ctx;
}

#endif

const char *lc_cuda_describe(char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    lc_cuda_info info;
    lc_cuda_query(&info);
    if (!info.compiled) {
        snprintf(buf, cap, "%s", info.reason);
        return buf;
    }
    char rt[16], drv[16];
    size_t len = (size_t)snprintf(buf, cap, "CUDA runtime %s, driver %s",
                                  lc_cuda_version_str(info.runtime_version, rt, sizeof rt),
                                  lc_cuda_version_str(info.driver_version, drv, sizeof drv));
    if (info.gpu_count == 0) {
        if (len < cap)
            snprintf(buf + len, cap - len, "; %s", info.reason);
        return buf;
    }
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "; %d GPU%s", info.gpu_count,
                                info.gpu_count == 1 ? "" : "s");
    for (int i = 0; i < info.gpu_count && len < cap; i++) {
        const lc_cuda_gpu *g = &info.gpus[i];
        len += (size_t)snprintf(buf + len, cap - len, "%s%s (%.1f GiB, sm_%d%d)", i ? ", " : ": ",
                                g->name, (double)g->total_memory / (1024.0 * 1024.0 * 1024.0),
                                g->cc_major, g->cc_minor);
    }
    return buf;
}
