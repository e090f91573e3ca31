/*
 * lightc/status.h — the status codes and per-thread error text that every
 * part of lightc returns: the kernels, the trainer and the logger hub.
 *
 * A call that can fail returns an lc_status; the message a user can act on
 * is in lc_errmsg(). Included by lightc/hub.h and lightc/trainer.h; kernels
 * include it alone, knowing nothing of logging.
 */
#ifndef LIGHTC_STATUS_H
#define LIGHTC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lc_status {
    LC_OK = 0,
    LC_ERR_INVALID = 1,     /* bad argument: key, name, value, option */
    LC_ERR_IO = 2,          /* file system or database error */
    LC_ERR_EXISTS = 3,      /* run already exists (pass resume) */
    LC_ERR_NOT_FOUND = 4,   /* run, file or key does not exist */
    LC_ERR_FULL = 5,        /* queue or arena full in drop mode: item dropped and counted */
    LC_ERR_TIMEOUT = 6,     /* flush did not complete in time */
    LC_ERR_NOMEM = 7,       /* allocation failed */
    LC_ERR_BUSY = 8,        /* database locked longer than the busy timeout */
    LC_ERR_UNSUPPORTED = 9, /* feature or backend not compiled in / unsafe here */
    LC_ERR_STATE = 10       /* call not valid now (run finished, hub closed) */
} lc_status;

/** Text for the last failing lightc call on this thread ("" if none).
 *
 *  The pointer is to one buffer per thread (1024 bytes, longer text is cut)
 *  and stays valid for the thread's life; read or copy the text before the
 *  next lightc call on the same thread, because each failing call replaces
 *  it, and lc_hub_open, lc_hub_close, lc_hub_flush, lc_run_start and
 *  lc_run_finish clear it to "" on entry. Other calls (the log calls, the
 *  trainer's and the kernels') leave it alone when they succeed, so after a
 *  call that returned LC_OK the text may be an earlier failure's. */
const char *lc_errmsg(void);

/** Short, constant name of a status code ("LC_ERR_INVALID", ...). */
const char *lc_status_name(lc_status s);

#ifdef __cplusplus
}
#endif

#endif /* LIGHTC_STATUS_H */
