/*
 * kernels/autocast.h — the compute context of the running thread: which
 * backend the layers run on and in which dtype they compute (torch.autocast
 * in one struct).
 *
 * The precision plugin (trainer/precision.c) enters a context around
 * training_step, backward and the evaluation steps; the layers
 * (lc_seq_forward) read it, so model code does not change with the
 * precision or the device. Outside any context the answer is the CPU
 * backend computing in float32. Each thread has its own context.
 *
 *     lc_autocast prev = lc_autocast_enter(lc_backend_cpu(), LC_DTYPE_BF16);
 *     ... lc_seq_forward(...) computes in bfloat16 ...
 *     lc_autocast_exit(prev);
 */
#ifndef LC_AUTOCAST_H
#define LC_AUTOCAST_H

#include "backend.h"
#include "dtype.h"

typedef struct lc_autocast {
    const lc_backend *backend; /* never NULL in what lc_autocast_current returns */
    lc_dtype compute;          /* LC_DTYPE_F32: plain float32 */
} lc_autocast;

/** This thread's context (CPU, float32 when none was entered). */
lc_autocast lc_autocast_current(void);

/** Enter a context (backend NULL: the CPU backend); returns the previous
 *  one, for lc_autocast_exit. Contexts nest. */
lc_autocast lc_autocast_enter(const lc_backend *backend, lc_dtype compute);

/** Restore the context lc_autocast_enter returned. */
void lc_autocast_exit(lc_autocast prev);

#endif
