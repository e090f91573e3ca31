/*
 * kernels/blas_info.h — which BLAS the kernels run on, and its thread count.
 *
 * The thread count matters for reproducibility: GEMM results can depend on
 * how OpenBLAS splits the work, so the trainer records lc_blas_get_threads()
 * in checkpoints and calls lc_blas_set_threads() on resume. (The kernels'
 * own reductions do not depend on it; see reduce.h.)
 */
#ifndef LC_BLAS_INFO_H
#define LC_BLAS_INFO_H

/** e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64
 *  (core Haswell, 2 threads)" — a static string, built on first call. The
 *  thread count is the one at that first call. */
const char *lc_blas_info(void);

/** Set the number of BLAS threads (n < 1 is taken as 1). Not thread-safe
 *  against GEMMs running at the same time. */
void lc_blas_set_threads(int n);

/** The number of BLAS threads now in use. */
int lc_blas_get_threads(void);

#endif
