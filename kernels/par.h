/*
 * kernels/par.h — how the CPU kernels split work over threads.
 *
 * One small pool of threads, owned by the kernels, runs everything that is
 * split: the GEMM slices of the linear layer (OpenBLAS itself stays at one
 * thread, blas_info.h), the optimizer updates, the dropout masks, large
 * elementwise loops. The caller's thread takes a share too, so n threads
 * means n - 1 pool workers. Its size is the kernels' thread count
 * (lc_blas_set_threads / --threads), read at every call.
 *
 * Waiting: a worker spins up to ~0.2 ms for the next job (a training step
 * issues them back to back), then sleeps on a futex; the caller does the
 * same for the workers to finish. Nothing spins for long, so a pool
 * neither starves the hub's dispatcher thread nor fights other processes
 * for the cores (OpenMP's default of ~300k spins, or OpenBLAS's pthread
 * workers yielding in a loop, slowed training 4-10x on a loaded 2-core
 * machine).
 *
 * Determinism: work is cut into FIXED tasks (LC_PAR_CHUNK elements, or a
 * kernel's own unit such as GEMM slices) that do not depend on the thread
 * count, and each task's result depends only on its inputs (elementwise
 * loops; RNG draws positioned by jump-ahead, rng.h). So 1, 2 or 16 threads
 * give the same bits.
 *
 * Re-entrance: a call from inside a task, or while another thread's job
 * holds the pool, runs its tasks on the calling thread (same results).
 */
#ifndef LC_PAR_H
#define LC_PAR_H

#include <stddef.h>

/* Elements per task of a chunked loop (64 KiB of float32). */
#define LC_PAR_CHUNK 16384

/* Below this many elements a chunked loop runs on the calling thread
 * (handing a job to awake workers costs about a microsecond; 32K simple
 * elements take a few). The default MLP's 128x512 and 128x256 activations
 * are split; its biases are not. */
#define LC_PAR_MIN 32768

/** Threads a parallel kernel may use now: the kernels' thread count (1
 *  inside a task). */
int lc_par_threads(void);

/** Run fn(ctx, task) for task in [0, ntasks) on up to nt threads (the
 *  caller's included); returns when all are done. Threads take the next
 *  task as they get free (any thread may run any task). */
void lc_par_run(size_t ntasks, int nt, void (*fn)(void *ctx, size_t task), void *ctx);

/** fn(ctx, first, len) over n elements in chunks of LC_PAR_CHUNK, on the
 *  calling thread alone (one call for all n) below LC_PAR_MIN. */
void lc_par_chunks(size_t n, void (*fn)(void *ctx, size_t first, size_t len), void *ctx);

#endif
