/*
 * kernels/blas_info.c — OpenBLAS configuration string and thread control
 * (see blas_info.h).
 */
#include "blas_info.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char blas_info_text[256];
static pthread_once_t blas_info_once = PTHREAD_ONCE_INIT;

static void blas_info_build(void)
{
    const char *config = openblas_get_config();
    const char *core = openblas_get_corename();
    if (!config)
        config = "OpenBLAS";
    if (!core)
        core = "unknown";
    snprintf(blas_info_text, sizeof blas_info_text, "%s (core %s, %d threads)", config, core,
             openblas_get_num_threads());
}

const char *lc_blas_info(void)
{
    pthread_once(&blas_info_once, blas_info_build);
    return blas_info_text;
}

void lc_blas_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}

int lc_blas_get_threads(void)
{
    return openblas_get_num_threads();
}
