/*
 * kernels/backend.c — the registry of kernel backends, one per device
 * (see backend.h). The host's is the CPU backend; the CUDA slot holds the
 * compiled-in backend (LC_HAVE_CUDA: kernels/cuda/backend_cuda.c) unless
 * one was registered at run time (a test's emulated device, say).
 */
#include "backend.h"

#include <stdatomic.h>
#include <stddef.h>

#include "common/status.h"

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
#ifdef LC_HAVE_CUDA
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
    NEED(name) NEED(init) NEED(release) NEED(sync) NEED(alloc) NEED(free) NEED(copy) NEED(cast)
    NEED(workspace_create) NEED(workspace_free) NEED(mem_alloc) NEED(mem_free) NEED(upload)
    NEED(download) NEED(mem_copy) NEED(data_create) NEED(data_free) NEED(data_set_order)
    NEED(data_gather) NEED(linear_forward) NEED(linear_backward) NEED(act_forward)
    NEED(act_backward) NEED(dropout_forward) NEED(dropout_backward) NEED(softmax_xent_forward)
    NEED(softmax_xent_backward) NEED(zero) NEED(round) NEED(l2norm_multi) NEED(clip_grad_norm)
    NEED(clip_grad_value) NEED(unscale_inf_check) NEED(sgd_step) NEED(adam_step)
    NEED(adamw_step) NEED(stats) NEED(timer_create) NEED(timer_free) NEED(timer_start)
    NEED(timer_stop) NEED(timer_poll)
#undef NEED
    atomic_store(&registered[be->device], be);
    return LC_OK;
}

void lc_backend_unregister(lc_device device)
{
    if ((unsigned)device < LC_DEVICE_COUNT)
        atomic_store(&registered[device], NULL);
}
