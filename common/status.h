/*
 * common/status.h — setting the per-thread error text behind lc_errmsg().
 *
 * Shared by the kernels, the trainer, the logger hub and the CLI: a failing
 * call returns lc_fail(code, "what went wrong and what to do", ...). The
 * codes and lc_errmsg() itself are public, in lightc/status.h.
 */
#ifndef LC_COMMON_STATUS_H
#define LC_COMMON_STATUS_H

#include "lightc/status.h"

/* Set this thread's message (printf-style) and return status. The format
 * arguments may include lc_errmsg() itself (to wrap the previous message). */
lc_status lc_fail(lc_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear this thread's message (public calls do this on entry). */
void lc_clear_error(void);

#endif
