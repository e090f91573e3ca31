/*
 * cli/backends.c — what `lightc info` reports about compute backends: the
 * BLAS the CPU kernels run on (asked from kernels/), and CUDA, which this
 * build has no kernels for yet (said plainly rather than guessed).
 */
#include "backends.h"

#include <stdio.h>

#include "blas_info.h"
#include "cuda_ops.h"

int lc_cli_backends(lc_cli_backend *out, int max)
{
    int n = 0;
    if (n < max) {
        out[n].name = "BLAS";
        out[n].compiled = 1;
        out[n].available = 1;
        snprintf(out[n].detail, sizeof out[n].detail, "%s", lc_blas_info());
        n++;
    }
    if (n < max) {
        lc_cuda_info info;
        lc_cuda_query(&info);
        out[n].name = "CUDA";
        out[n].compiled = info.compiled;
        out[n].available = info.gpu_count > 0;
        if (!info.compiled) {
            snprintf(out[n].detail, sizeof out[n].detail, "%s", info.reason);
        } else {
            char rt[16], drv[16];
            snprintf(out[n].detail, sizeof out[n].detail, "runtime %s, driver %s, %.200s",
                     lc_cuda_version_str(info.runtime_version, rt, sizeof rt),
                     lc_cuda_version_str(info.driver_version, drv, sizeof drv),
                     info.gpu_count > 0 ? "GPUs below" : info.reason);
        }
        n++;
    }
    return n;
}
