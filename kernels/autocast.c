/*
 * kernels/autocast.c — the per-thread compute context (see autocast.h).
 */
#include "autocast.h"

static _Thread_local lc_autocast tls_ctx; /* zero: no context entered */

lc_autocast lc_autocast_current(void)
{
    lc_autocast c = tls_ctx;
    if (!c.backend) {
        c.backend = lc_backend_cpu();
        c.compute = LC_DTYPE_F32;
    }
    return c;
}

lc_autocast lc_autocast_enter(const lc_backend *backend, lc_dtype compute)
{
    lc_autocast prev = tls_ctx;
    tls_ctx.backend = backend ? backend : lc_backend_cpu();
    tls_ctx.compute = compute;
    return prev;
}

void lc_autocast_exit(lc_autocast prev)
{
    tls_ctx = prev;
}
