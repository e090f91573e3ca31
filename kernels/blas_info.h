/*
 * kernels/blas_info.h — which BLAS the kernels run on, and the kernels'
 * thread count.
 *
 * The kernels own their threads (par.h): OpenBLAS itself is kept at one
 * thread, and a large GEMM of the linear layer is cut into fixed slices
 * that the kernels' OpenMP team runs, one single-threaded sgemm each
 * (linear.c). OpenBLAS's own threading picks its K blocking by thread
 * count (the 128x512x784 forward GEMM gives other bits with 2 threads than
 * with 1); fixed slices do not, so results are the same for every thread
 * count. The trainer still records lc_blas_get_threads() in checkpoints
 * and calls lc_blas_set_threads() on resume (the speed it ran at).
 */
#ifndef LC_BLAS_INFO_H
#define LC_BLAS_INFO_H

/** e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64
 *  (core Haswell, 2 threads)" — a static string, built on first call. The
 *  thread count is the one at that first call. */
const char *lc_blas_info(void);

/** Set the kernels' thread count (n < 1 is taken as 1): the GEMM slices,
 *  elementwise loops and optimizer updates run on up to n threads. Not
 *  thread-safe against kernels running at the same time. */
void lc_blas_set_threads(int n);

/** The kernels' thread count now. Before any lc_blas_set_threads it is
 *  OpenBLAS's default (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or the
 *  number of cores). */
int lc_blas_get_threads(void);

/** Put OpenBLAS at one thread (once per process; every GEMM of the kernels
 *  calls it first, cheaply). Programs that time OpenBLAS's own threaded
 *  SGEMM (bench_trainer's peak) set openblas_set_num_threads themselves
 *  and call lc_blas_set_threads afterwards, which puts it back. */
void lc_blas_single_threaded(void);

#endif
