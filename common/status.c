/*
 * common/status.c — per-thread error text and status code names.
 */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];

lc_status lc_fail(lc_status status, const char *fmt, ...)
{
    /* Format into a scratch buffer first: callers may pass lc_errmsg() as
       an argument to wrap the previous message. */
    char tmp[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(errbuf, tmp, sizeof errbuf);
    return status;
}

void lc_clear_error(void)
{
    errbuf[0] = 0;
}

const char *lc_errmsg(void)
{
    return errbuf;
}

const char *lc_status_name(lc_status s)
{
    switch (s) {
    case LC_OK: return "LC_OK";
    case LC_ERR_INVALID: return "LC_ERR_INVALID";
    case LC_ERR_IO: return "LC_ERR_IO";
    case LC_ERR_EXISTS: return "LC_ERR_EXISTS";
    case LC_ERR_NOT_FOUND: return "LC_ERR_NOT_FOUND";
    case LC_ERR_FULL: return "LC_ERR_FULL";
    case LC_ERR_TIMEOUT: return "LC_ERR_TIMEOUT";
    case LC_ERR_NOMEM: return "LC_ERR_NOMEM";
    case LC_ERR_BUSY: return "LC_ERR_BUSY";
    case LC_ERR_UNSUPPORTED: return "LC_ERR_UNSUPPORTED";
    case LC_ERR_STATE: return "LC_ERR_STATE";
    case LC_ERR_AUTH: return "LC_ERR_AUTH";
    }
    return "LC_ERR_UNKNOWN";
}
