/*
 * kernels/backend.h — the kernel backend table: every operation the trainer
 * and the layers (trainer/seq.c, params.c, optim.c, precision.c) run on
 * tensors, as one struct of function pointers per device, so the trainer
 * and the module API do not change per device.
 *
 *     const lc_backend *be = lc_backend_get(LC_DEVICE_HOST);   // never NULL
 *     be->linear_forward(LC_DTYPE_F32, &y, &x, &w, &b, ws);
 *
 * Backends:
 *   "cpu"   always present (backend_cpu.c): the existing float32 kernels
 *           (OpenBLAS GEMM + hand-written elementwise loops), called
 *           directly when compute is float32 — the same bits and speed as
 *           calling them by hand — and an emulation of 16-bit compute
 *           otherwise (below).
 *   "cuda"  lc_backend_get(LC_DEVICE_CUDA) is NULL unless a CUDA backend is
 *           compiled in (LC_HAVE_CUDA: lc_backend_cuda() provides it) or
 *           registered with lc_backend_register. Callers must handle NULL.
 *
 * Conventions every backend keeps (those of kernels.h):
 *  - tensors passed to a backend live on its device (lc_tensor.device);
 *    flat buffers (float *) are the device's memory too;
 *  - forward(out, in...) / backward(d_in..., d_out, saved...) order;
 *    parameter gradients accumulate (+=), activation gradients are
 *    overwritten; dx may be NULL where no input gradient is needed;
 *  - errors return LC_ERR_INVALID (or NOMEM) with lc_errmsg(); no abort;
 *  - deterministic: the same inputs give the same bits for any thread count.
 *
 * The compute dtype (first argument of the layer ops) is the precision
 * plugin's autocast dtype (autocast.h): LC_DTYPE_F32 is plain float32;
 * LC_DTYPE_F16 / LC_DTYPE_BF16 mean "compute as 16-bit tensor cores do":
 * GEMM inputs (x, W, b, dy) in the 16-bit format, products accumulated in
 * float32, outputs and activations rounded to the format, the weight and
 * bias gradients rounded to the format before they are added to the
 * float32 master gradients (what autocast's cast-backward does). Softmax +
 * cross-entropy always run in float32 (autocast's fp32 list). Activation
 * tensors may be stored in float32 holding format values (the CPU backend
 * does this: it emulates) or natively in the 16-bit dtype (a GPU backend);
 * the ops accept what their backend allocates.
 *
 * Registering: set every pointer (none may be NULL), then call
 * lc_backend_register before any trainer runs; the table must outlive its
 * use. lc_backend_register is not thread-safe against running trainers.
 */
#ifndef LC_BACKEND_H
#define LC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "lightc/status.h"
#include "optim_kernels.h"
#include "rng.h"
#include "tensor.h"

/* An activation function for act_forward / act_backward. */
typedef enum lc_act_fn { LC_ACT_FN_RELU = 0, LC_ACT_FN_GELU = 1 } lc_act_fn;

/* A backend's scratch memory (the CPU emulation keeps rounded copies of
 * the GEMM operands there), grown on demand, one per user (a Sequential):
 * never shared between threads. */
typedef struct lc_workspace lc_workspace;

typedef struct lc_backend {
    const char *name;   /* "cpu", "cuda" */
    lc_device device;

    /* ---- memory ---------------------------------------------------------- */

    /* A zero-filled tensor of dtype on this device (lc_tensor_alloc_dtype's
     * contract). */
    lc_status (*alloc)(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape);
    /* Free what alloc made; clears t. NULL and empty tensors are fine. */
    void (*free)(lc_tensor *t);
    /* dst <- src, same shape and dtype; either may be on the host or on
     * this device (uploads and downloads). */
    lc_status (*copy)(lc_tensor *dst, const lc_tensor *src);
    /* dst <- src converted to dst's dtype (round to nearest even), both on
     * this device. */
    lc_status (*cast)(lc_tensor *dst, const lc_tensor *src);
    lc_workspace *(*workspace_create)(void);
    void (*workspace_free)(lc_workspace *ws);

    /* ---- layers ------------------------------------------------------------ */

    /* y = x W^T + b (b may be NULL); lc_linear_forward's shapes. */
    lc_status (*linear_forward)(lc_dtype compute, lc_tensor *y, const lc_tensor *x,
                                const lc_tensor *w, const lc_tensor *b, lc_workspace *ws);
    /* dx = dy W (NULL: skip), dW += dy^T x, db += colsum(dy) (NULL: skip). */
    lc_status (*linear_backward)(lc_dtype compute, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                 const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                 lc_workspace *ws);
    /* y = act(x) (y may be x); dx = dy * act'(x) with x the forward input. */
    lc_status (*act_forward)(lc_dtype compute, lc_act_fn fn, lc_tensor *y, const lc_tensor *x);
    lc_status (*act_backward)(lc_dtype compute, lc_act_fn fn, lc_tensor *dx, const lc_tensor *dy,
                              const lc_tensor *x);
    /* Inverted dropout (dropout.h): masks from rng in element order. */
    lc_status (*dropout_forward)(lc_dtype compute, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                 float p, int training, lc_rng *rng);
    lc_status (*dropout_backward)(lc_dtype compute, lc_tensor *dx, const lc_tensor *dy,
                                  const uint8_t *mask, float p, int training);
    /* Fused softmax + mean cross-entropy and its backward (softmax_xent.h),
     * in float32 whatever the compute dtype. */
    lc_status (*softmax_xent_forward)(lc_tensor *probs, double *loss, int64_t *correct,
                                      const lc_tensor *logits, const int32_t *labels);
    lc_status (*softmax_xent_backward)(lc_tensor *dlogits, const lc_tensor *probs,
                                       const int32_t *labels, float dloss);

    /* ---- flat float32 buffers: parameters, gradients, optimizer state ---- */

    /* x[0..n) = 0. */
    void (*zero)(float *x, size_t n);
    /* Round x[0..n) in place to fmt's values (*-true parameters kept in
     * float32 buffers); F32 does nothing. */
    void (*round)(lc_dtype fmt, float *x, size_t n);
    /* Deterministic L2 norm of the concatenation (reduce.h). */
    double (*l2norm_multi)(const float *const *bufs, const size_t *lens, size_t count);
    /* clip_grad_norm_ / clip_grad_value_ (optim_kernels.h). */
    lc_status (*clip_grad_norm)(float *const *grads, const size_t *lens, size_t count,
                                double max_norm, double *total_norm);
    lc_status (*clip_grad_value)(float *const *grads, const size_t *lens, size_t count,
                                 double clip_value);
    /* GradScaler's fused unscale + Inf/NaN check (loss_scaler.h). */
    void (*unscale_inf_check)(float *const *grads, const size_t *lens, size_t count,
                              float inv_scale, int *found_inf);
    /* Optimizer updates (optim_kernels.h), one buffer at a time. */
    lc_status (*sgd_step)(float *param, const float *grad, float *momentum_buf, size_t n,
                          const lc_sgd_hparams *hp, int64_t step);
    lc_status (*adam_step)(float *param, const float *grad, float *m, float *v, size_t n,
                           const lc_adam_hparams *hp, int64_t step);
    lc_status (*adamw_step)(float *param, const float *grad, float *m, float *v, size_t n,
                            const lc_adam_hparams *hp, int64_t step);
} lc_backend;

/** The CPU backend (always available). */
const lc_backend *lc_backend_cpu(void);

/** The backend of a device: the CPU one for LC_DEVICE_HOST; for
 *  LC_DEVICE_CUDA the compiled-in or registered CUDA backend, else NULL. */
const lc_backend *lc_backend_get(lc_device device);

/** Make be the backend of be->device (replacing the previous one; NULL
 *  fields are refused). LC_ERR_INVALID names the missing operation. */
lc_status lc_backend_register(const lc_backend *be);

/** Remove the registered backend of device (the host keeps the CPU one). */
void lc_backend_unregister(lc_device device);

#endif
