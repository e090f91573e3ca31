/*
 * kernels/backend.c — the registry of kernel backends, one per device
 * (see backend.h). The host's is the CPU backend; the CUDA slot holds the
 * compiled-in backend (LC_HAVE_CUDA) or one registered at run time.
 */
#include "backend.h"

#include <stdatomic.h>
#include <stddef.h>

#include "common/status.h"

#ifdef LC_HAVE_CUDA_BACKEND /* set once kernels/cuda provides the table */
/* Defined by the CUDA part of the kernels when it is compiled in. */
const lc_backend *lc_backend_cuda(void);
#endif

static _Atomic(const lc_backend *) registered[LC_DEVICE_COUNT];

const lc_backend *lc_backend_get(lc_device device)
{
    if ((unsigned)device >= LC_DEVICE_COUNT)
        return NULL;
    const lc_backend *be = atomic_load(&registered[device]);
    if (be)
        return be;
    if (device == LC_DEVICE_HOST)
        return lc_backend_cpu();
#ifdef LC_HAVE_CUDA_BACKEND /* set once kernels/cuda provides the table */
    if (device == LC_DEVICE_CUDA)
        return lc_backend_cuda();
#endif
    return NULL;
}

lc_status lc_backend_register(const lc_backend *be)
{
    if (!be)
        return lc_fail(LC_ERR_INVALID, "lc_backend_register: backend is NULL");
    if ((unsigned)be->device >= LC_DEVICE_COUNT)
        return lc_fail(LC_ERR_INVALID, "lc_backend_register: unknown device %d", (int)be->device);
#define NEED(f)                                                                            \
    if (!be->f)                                                                            \
        return lc_fail(LC_ERR_INVALID, "lc_backend_register: backend '%s' has no " #f,     \
                       be->name ? be->name : "?");
    NEED(name) NEED(alloc) NEED(free) NEED(copy) NEED(cast) NEED(workspace_create)
    NEED(workspace_free) NEED(linear_forward) NEED(linear_backward) NEED(act_forward)
    NEED(act_backward) NEED(dropout_forward) NEED(dropout_backward) NEED(softmax_xent_forward)
    NEED(softmax_xent_backward) NEED(zero) NEED(round) NEED(l2norm_multi) NEED(clip_grad_norm)
    NEED(clip_grad_value) NEED(unscale_inf_check) NEED(sgd_step) NEED(adam_step)
    NEED(adamw_step)
#undef NEED
    atomic_store(&registered[be->device], be);
    return LC_OK;
}

void lc_backend_unregister(lc_device device)
{
    if ((unsigned)device < LC_DEVICE_COUNT)
        atomic_store(&registered[device], NULL);
}
