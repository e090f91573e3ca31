/*
 * trainer/params.h — the parameter registry: the one list of a model's
 * trainable tensors that optimizers, checkpoints, gradient clipping and
 * weight/gradient histograms all walk.
 *
 * Each entry has a dotted name in PyTorch's state_dict style
 * ("layer1.weight", "layer1.bias"), a pointer to its float32 values, a
 * pointer to its gradient buffer of the same size, and a shape. The
 * registry does NOT own the buffers (the model does, e.g. lc_tensor's or
 * one llm.c-style parameter block); it owns only the names. Entries keep
 * the order they were added in: that order is the order of the optimizer
 * state and of the checkpoint, so register parameters in a fixed order.
 *
 * A parameter registered with grad == NULL is frozen: the optimizer skips
 * it, zero_grad and clipping ignore it; checkpoints still save its values.
 *
 * Do not add parameters after an optimizer was created over the registry
 * (lc_optim_step then fails with LC_ERR_STATE).
 *
 * The buffers are memory of the registry's kernel backend (backend: NULL =
 * the CPU backend, host memory); zero_grad, the norm and clipping here and
 * the optimizer steps (optim.c) run through that backend's table.
 *
 * Devices: a registry marked movable (its owner reads and writes the
 * values only through the entries' data / grad pointers and the backend
 * table — lc_seq's registry is) can be moved to a device with lc_params_to:
 * the registry then owns device copies of every buffer, the entries point
 * at them, and the owner's host buffers wait (lc_params_sync_host copies
 * the device values back into them; moving back to the host does too).
 * Checkpoints and histograms read values with lc_params_read, which works
 * on any device. A registry on a device takes no new parameters.
 *
 *     lc_params ps;
 *     lc_params_init(&ps);
 *     lc_params_add_tensor(&ps, "fc1.weight", &w1, &dw1);
 *     ...
 *     for (size_t i = 0; i < ps.len; i++) use(ps.items[i].name, ps.items[i].data, ...);
 *     lc_params_free(&ps);
 */
#ifndef LC_TRAINER_PARAMS_H
#define LC_TRAINER_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"
#include "backend.h"
#include "tensor.h"

#define LC_PARAM_MAX_DIMS 4      /* as LC_TENSOR_MAX_DIMS */
#define LC_PARAM_NAME_MAX 200    /* longest accepted name, in bytes */

typedef struct lc_param {
    char *name;                       /* owned by the registry */
    float *data;                      /* count values (not owned; on a device: the
                                         registry's copy in device memory) */
    float *grad;                      /* count values, or NULL = frozen (likewise) */
    size_t count;                     /* product of the shape */
    int ndim;                         /* 1..LC_PARAM_MAX_DIMS */
    int64_t shape[LC_PARAM_MAX_DIMS]; /* unused dimensions are 1 */
    /* private: the owner's host buffers while data/grad are device copies */
    float *host_data, *host_grad;
} lc_param;

typedef struct lc_params {
    lc_param *items; /* len entries, in registration order (read-only for users) */
    size_t len;
    size_t numel;    /* sum of count over all entries */
    const lc_backend *backend; /* whose memory the buffers are; NULL: the CPU */
    int movable;     /* 1: the owner touches the values only through the
                        entries (and the backend), so lc_params_to may move
                        them to a device */
    /* private: the trainable gradients as arrays for the clipping kernels */
    size_t cap;
    float **grad_ptrs;
    size_t *grad_lens;
    size_t n_grads;
} lc_params;

/** An empty registry. */
void lc_params_init(lc_params *p);

/** Free the names and the registry's arrays (not the parameter buffers).
 *  Safe on an initialised-but-empty registry and twice. */
void lc_params_free(lc_params *p);

/** Register one parameter. name: 1..LC_PARAM_NAME_MAX printable ASCII
 *  characters without spaces, unique in the registry; data non-NULL;
 *  grad NULL (frozen) or count floats; shape: ndim dims, each >= 1.
 *  LC_ERR_INVALID with a message naming the parameter on bad input. */
lc_status lc_params_add(lc_params *p, const char *name, float *data, float *grad,
                        int ndim, const int64_t *shape);

/** The same from kernel tensors: the shape is data's; grad (may be NULL)
 *  must have the same number of elements. */
lc_status lc_params_add_tensor(lc_params *p, const char *name, lc_tensor *data, lc_tensor *grad);

/** The backend the registry's buffers belong to (never NULL). */
const lc_backend *lc_params_backend(const lc_params *p);

/** The entry with this name, or NULL. */
lc_param *lc_params_find(const lc_params *p, const char *name);

/** Total number of values (trainable and frozen). */
size_t lc_params_numel(const lc_params *p);

/** Number of values that have a gradient (trainable). */
size_t lc_params_numel_trainable(const lc_params *p);

/** Set every gradient to zero (optimizer.zero_grad(set_to_none=False)). */
lc_status lc_params_zero_grad(lc_params *p);

/** L2 norm of all gradients together (deterministic, see kernels/reduce.h),
 *  e.g. for a "grad_norm" metric without clipping. 0 with no gradients;
 *  NaN (with lc_errmsg) if the device failed. On a GPU it waits for it. */
double lc_params_grad_norm(const lc_params *p);

/* ---- devices -------------------------------------------------------------- */

/** Move every buffer (values and gradients) to be's memory (NULL: the
 *  CPU). Host to device: device copies are allocated and uploaded, the
 *  registry takes a reference on be (be->init(-1)); device to host: the
 *  values and gradients are downloaded into the owner's buffers and the
 *  device copies freed, and the reference released. Already there:
 *  nothing. LC_ERR_UNSUPPORTED for a registry that is not movable (its
 *  owner's code would go on reading the host buffers); a device error
 *  leaves everything where it was. */
lc_status lc_params_to(lc_params *p, const lc_backend *be);

/** On a device: copy the current values and gradients into the owner's
 *  host buffers (the device copies stay in use). Host: nothing. */
lc_status lc_params_sync_host(lc_params *p);

/** Entry i's values (grad 0) or gradient (grad 1) into count host floats at
 *  dst, from wherever they live (a download on a device). */
lc_status lc_params_read(const lc_params *p, size_t i, int grad, float *dst);

/** Entry i's values from count host floats at src (an upload on a device). */
lc_status lc_params_write(lc_params *p, size_t i, const float *src);

/** Trainer(gradient_clip_val=max_norm, gradient_clip_algorithm="norm"):
 *  clip all gradients together to L2 norm max_norm (lc_clip_grad_norm).
 *  *total_norm (may be NULL) receives the norm before clipping. */
lc_status lc_params_clip_grad_norm(lc_params *p, double max_norm, double *total_norm);

/** gradient_clip_algorithm="value": clamp every gradient to [-v, v]. */
lc_status lc_params_clip_grad_value(lc_params *p, double clip_value);

#endif
