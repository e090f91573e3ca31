/*
 * trainer/optim.h — optimizer objects over the parameter registry: SGD,
 * Adam and AdamW with PyTorch's hyperparameters and defaults. They keep
 * the state (momentum buffers; Adam's exp_avg / exp_avg_sq; the step
 * count) and call the update rules of kernels/optim_kernels.h once per
 * trainable parameter, through the registry's kernel backend
 * (lc_params_backend: the CPU table calls those kernels directly); no
 * update math lives here. The state buffers live where the parameters
 * are when the optimizer is created (host memory, or the device's, holding
 * a reference on its backend); the checkpoint blob is always host bytes
 * (downloaded / uploaded), so it is the same on every device. Moving the
 * parameters after creation makes lc_optim_step fail with LC_ERR_STATE.
 *
 * One parameter group: every parameter shares the lr and hyperparameters.
 * The lr is a double, like a PyTorch param group's "lr"; schedulers
 * (lr_sched.h) change it with lc_optim_set_lr. The LR monitor logs it as
 * "lr-" + lc_optim_name() ("lr-SGD", "lr-Adam", "lr-AdamW").
 *
 * Checkpoints (two ways, pick one):
 *  1. one opaque blob: lc_optim_state_size / _save / _load. The blob holds
 *     the kind, step count, lr, initial lr, every hyperparameter and every
 *     state buffer with its parameter's name; load checks that the kind,
 *     the names and the sizes match the registry and says what differs.
 *     Like PyTorch's optimizer.load_state_dict, load also restores lr and
 *     the hyperparameters. Blob layout (native byte order, which a
 *     byte-order mark checks; little-endian on every supported machine):
 *       "LCOPTIM1" | u32 0x01020304 | u32 kind | i64 step | f64 lr |
 *       f64 initial_lr | f64 momentum, dampening, weight_decay, beta1,
 *       beta2, eps | u32 nesterov | u32 nbuf |
 *       nbuf x ( u32 name_len | name bytes | u64 count | count x f32 )
 *  2. enumeration: lc_optim_state_nbuf / lc_optim_state_buf give each state
 *     buffer's name ("<param>.<state>", e.g. "fc1.weight.exp_avg"), data
 *     and count, for a checkpoint writer that stores tensors by name; the
 *     scalars come from lc_optim_step_count / lc_optim_lr /
 *     lc_optim_config_get and go back with lc_optim_set_step_count /
 *     lc_optim_set_lr.
 * Either way, a restored optimizer continues bit-identically.
 */
#ifndef LC_TRAINER_OPTIM_H
#define LC_TRAINER_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"
#include "params.h"

typedef enum lc_optim_kind {
    LC_OPTIM_SGD = 0,
    LC_OPTIM_ADAM = 1,
    LC_OPTIM_ADAMW = 2
} lc_optim_kind;

typedef struct lc_optim_config {
    lc_optim_kind kind;
    double lr;           /* SGD 1e-3, Adam 1e-3, AdamW 1e-3 */
    double weight_decay; /* SGD 0, Adam 0 (L2 in the gradient), AdamW 1e-2 (decoupled) */
    /* SGD */
    double momentum;     /* 0 */
    double dampening;    /* 0 */
    int nesterov;        /* 0; needs momentum > 0 and dampening == 0 */
    /* Adam / AdamW */
    double beta1, beta2; /* 0.9, 0.999 */
    double eps;          /* 1e-8 */
} lc_optim_config;

typedef struct lc_optim lc_optim;

/** cfg <- PyTorch's defaults for kind (see the field comments). */
void lc_optim_config_default(lc_optim_config *cfg, lc_optim_kind kind);

/** Parse "SGD" / "Adam" / "AdamW" (case-insensitive). LC_ERR_INVALID with
 *  the accepted names otherwise. */
lc_status lc_optim_kind_parse(const char *name, lc_optim_kind *out);

/** Create an optimizer over params (which must outlive it and not grow).
 *  Hyperparameters are checked here (LC_ERR_INVALID naming the bad one);
 *  state buffers are allocated zeroed (LC_ERR_NOMEM). */
lc_status lc_optim_create(lc_optim **out, lc_params *params, const lc_optim_config *cfg);

/** Free the optimizer and its state (not the registry). NULL is fine. */
void lc_optim_free(lc_optim *opt);

/** "SGD", "Adam" or "AdamW". */
const char *lc_optim_name(const lc_optim *opt);

/** The current configuration (lr included). */
const lc_optim_config *lc_optim_config_get(const lc_optim *opt);

/** Current learning rate. */
double lc_optim_lr(const lc_optim *opt);

/** Set the learning rate (finite, >= 0) — what schedulers call. */
lc_status lc_optim_set_lr(lc_optim *opt, double lr);

/** The lr the optimizer was created with (PyTorch's group["initial_lr"]):
 *  the base lr of schedulers. Not changed by lc_optim_set_lr. */
double lc_optim_initial_lr(const lc_optim *opt);

/** Number of completed steps (0 before the first). */
int64_t lc_optim_step_count(const lc_optim *opt);

/** One update of every trainable parameter from its gradient, with step
 *  number step_count + 1. Does not zero the gradients. */
lc_status lc_optim_step(lc_optim *opt);

/** Zero the gradients of the optimizer's parameters. */
lc_status lc_optim_zero_grad(lc_optim *opt);

/* ---- checkpoint: blob ------------------------------------------------- */

/** Bytes lc_optim_state_save writes. */
size_t lc_optim_state_size(const lc_optim *opt);

/** Write the state into buf (cap bytes, >= lc_optim_state_size). */
lc_status lc_optim_state_save(const lc_optim *opt, void *buf, size_t cap);

/** Restore from a blob of len bytes. On any error (LC_ERR_INVALID: not an
 *  optimizer blob, other kind, other parameters, truncated) the optimizer
 *  is left unchanged and the message says what differs. */
lc_status lc_optim_state_load(lc_optim *opt, const void *buf, size_t len);

/* ---- checkpoint: enumeration ------------------------------------------ */

typedef struct lc_optim_buf {
    char name[LC_PARAM_NAME_MAX + 32]; /* "<param name>.<state name>" */
    const char *param;                 /* the parameter's name */
    const char *state;                 /* "momentum_buffer", "exp_avg", "exp_avg_sq" */
    float *data;                       /* count floats, owned by the optimizer, in
                                          the memory of the parameters' backend */
    size_t count;
} lc_optim_buf;

/** Number of state buffers: SGD with momentum 1 per trainable parameter,
 *  without momentum 0; Adam/AdamW 2 per trainable parameter. */
size_t lc_optim_state_nbuf(const lc_optim *opt);

/** Describe buffer i (< lc_optim_state_nbuf); LC_ERR_INVALID if out of range. */
lc_status lc_optim_state_buf(const lc_optim *opt, size_t i, lc_optim_buf *out);

/** Restore the step count (>= 0) when the buffers were restored by name. */
lc_status lc_optim_set_step_count(lc_optim *opt, int64_t step);

#endif
