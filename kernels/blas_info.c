/*
 * kernels/blas_info.c — OpenBLAS configuration string and the kernels'
 * thread count (see blas_info.h).
 */
#include "blas_info.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static char blas_info_text[256];
static pthread_once_t blas_info_once = PTHREAD_ONCE_INIT;
static pthread_once_t blas_threads_once = PTHREAD_ONCE_INIT;
static atomic_int blas_threads;

/* OpenBLAS's default becomes the kernels' count; OpenBLAS goes to 1. */
static void blas_threads_init(void)
{
    int n = openblas_get_num_threads();
    atomic_store(&blas_threads, n < 1 ? 1 : n);
    openblas_set_num_threads(1);
}

void lc_blas_single_threaded(void)
{
    pthread_once(&blas_threads_once, blas_threads_init);
}

static void blas_info_build(void)
{
    const char *config = openblas_get_config();
    const char *core = openblas_get_corename();
    if (!config)
        config = "OpenBLAS";
    if (!core)
        core = "unknown";
    snprintf(blas_info_text, sizeof blas_info_text, "%s (core %s, %d threads)", config, core,
             lc_blas_get_threads());
}

const char *lc_blas_info(void)
{
    pthread_once(&blas_info_once, blas_info_build);
    return blas_info_text;
}

void lc_blas_set_threads(int n)
{
    lc_blas_single_threaded();
    atomic_store(&blas_threads, n < 1 ? 1 : n);
    openblas_set_num_threads(1); /* in case someone timed OpenBLAS's own threads */
}

int lc_blas_get_threads(void)
{
    lc_blas_single_threaded();
    return atomic_load(&blas_threads);
}
