/*
 * cli/backends.c — what `lightc info` reports about compute backends: the
 * BLAS the CPU kernels run on (asked from kernels/), and CUDA, which this
 * build has no kernels for yet (said plainly rather than guessed).
 */
#include "backends.h"

#include <stdio.h>

#include "blas_info.h"

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
        out[n].name = "CUDA";
        out[n].compiled = 0;
        out[n].available = -1;
        snprintf(out[n].detail, sizeof out[n].detail,
                 "no CUDA kernels in this build (CPU training only)");
        n++;
    }
    return n;
}
