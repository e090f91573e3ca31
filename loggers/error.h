/*
 * loggers/error.h — the per-thread error message behind lc_errmsg().
 */
#ifndef LC_ERROR_H
#define LC_ERROR_H

#include "lightc/hub.h"

/* Set this thread's message (printf-style) and return status. */
lc_status lc_fail(lc_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear this thread's message. */
void lc_clear_error(void);

#endif
