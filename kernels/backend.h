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
 *   "cuda"  kernels/cuda/backend_cuda.c (when CUDA is compiled in:
 *           LC_HAVE_CUDA): the same ops over the lc_cuda_* kernels, cuBLAS
 *           and the caching allocator, on one stream; results the host
 *           needs (a loss, a norm, the Inf flag) are the only waits.
 *           lc_backend_get(LC_DEVICE_CUDA) is NULL when CUDA is not
 *           compiled in and nothing was registered. Callers must handle
 *           NULL, and init the backend (a GPU may be absent) before use.
 *
 * Conventions every backend keeps (those of kernels.h):
 *  - tensors passed to a backend live on its device (lc_tensor.device);
 *    flat buffers (float *) are the device's memory too;
 *  - forward(out, in...) / backward(d_in..., d_out, saved...) order;
 *    parameter gradients accumulate (+=), activation gradients are
 *    overwritten; dx may be NULL where no input gradient is needed;
 *  - every op returns an lc_status: LC_ERR_INVALID (or NOMEM) with
 *    lc_errmsg(); a device fault may surface at a later op; no abort;
 *  - ops are enqueued in order on one stream per device: a backend is used
 *    by one thread at a time (the trainer's);
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

/* What a backend says about its device without waiting for it (the
 * DeviceStatsMonitor's figures). */
typedef struct lc_backend_stats {
    int has_memory;         /* 1: the mem_* figures are the device's (CUDA) */
    uint64_t mem_in_use;    /* bytes in live allocations (the caching allocator's) */
    uint64_t mem_peak;      /* high-water mark of mem_in_use */
    uint64_t mem_reserved;  /* bytes held from the driver (in use + cached) */
    uint64_t mem_total;     /* the device's memory */
    uint64_t gemm_flops;    /* 2*m*n*k of every GEMM the layer ops issued, all
                               threads, since the process started */
} lc_backend_stats;

/* A step timer (device events on CUDA, the host clock on the CPU). */
typedef struct lc_backend_timer lc_backend_timer;

/* A data set resident on the device, batches gathered there. */
typedef struct lc_device_data lc_device_data;

typedef struct lc_backend {
    const char *name;   /* "cpu", "cuda" */
    lc_device device;

    /* ---- the device -------------------------------------------------------- */

    /* Take a reference to the backend's device, opening it on first use
     * (the CUDA backend: context, stream, cuBLAS, caching allocator).
     * index >= 0 names a device; -1 takes the one already open (device 0
     * if none). Every successful init needs one release; the device is
     * closed (all its memory freed) when the last reference goes.
     * LC_ERR_UNSUPPORTED with the reason when the device cannot be used
     * (no GPU, no driver). Every owner of device memory (a parameter
     * registry, an optimizer, a Sequential's buffers, a dataloader) holds
     * a reference while it has any. The CPU's do nothing. */
    lc_status (*init)(int index);
    void (*release)(void);
    /* Wait until every enqueued op has finished; reports a device fault. */
    lc_status (*sync)(void);

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
    /* Raw zero-filled memory of this device (bytes 0: *p = NULL, LC_OK) and
     * its free (NULL is fine). */
    lc_status (*mem_alloc)(void **p, size_t bytes);
    void (*mem_free)(void *p);
    /* bytes from host src to device dst (the host buffer may be reused on
     * return), from device src to host dst (waits for the device), and
     * device to device (enqueued). On the CPU all three are memcpy. */
    lc_status (*upload)(void *dst, const void *src, size_t bytes);
    lc_status (*download)(void *dst, const void *src, size_t bytes);
    lc_status (*mem_copy)(void *dst, const void *src, size_t bytes);

    /* ---- data -------------------------------------------------------------- */

    /* Copy n samples of `features` bytes and their n label bytes to the
     * device once, with the dataloader's 256-entry normalisation table lut
     * (so gathered values are the CPU dataloader's, bit for bit). */
    lc_status (*data_create)(lc_device_data **out, const uint8_t *images, const uint8_t *labels,
                             size_t n, size_t features, const float *lut);
    void (*data_free)(lc_device_data *d);
    /* The sample order batches are gathered in: n indices, each < n
     * (uploaded once per epoch). */
    lc_status (*data_set_order)(lc_device_data *d, const uint32_t *order, size_t n);
    /* x[i, :] = lut[images[order[first + i], :]] and y[i] =
     * labels[order[first + i]] for i < count, into device memory (x: count
     * * features floats, y: count int32). */
    lc_status (*data_gather)(lc_device_data *d, size_t first, size_t count, float *x, int32_t *y);

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
    /* Inverted dropout (dropout.h): masks from rng in element order; mask
     * is n bytes of this device's memory. */
    lc_status (*dropout_forward)(lc_dtype compute, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                 float p, int training, lc_rng *rng);
    lc_status (*dropout_backward)(lc_dtype compute, lc_tensor *dx, const lc_tensor *dy,
                                  const uint8_t *mask, float p, int training);
    /* Fused softmax + mean cross-entropy and its backward (softmax_xent.h),
     * in float32 whatever the compute dtype. labels: rows int32 in this
     * device's memory; *loss and *correct (NULL to skip) are host values, so
     * on a GPU asking for them waits for the device. */
    lc_status (*softmax_xent_forward)(lc_tensor *probs, double *loss, int64_t *correct,
                                      const lc_tensor *logits, const int32_t *labels);
    lc_status (*softmax_xent_backward)(lc_tensor *dlogits, const lc_tensor *probs,
                                       const int32_t *labels, float dloss);

    /* ---- flat float32 buffers: parameters, gradients, optimizer state ---- */
    /* (device memory; the arrays of pointers and lengths are host arrays) */

    /* x[0..n) = 0. */
    lc_status (*zero)(float *x, size_t n);
    /* Round x[0..n) in place to fmt's values (*-true parameters kept in
     * float32 buffers); F32 does nothing. */
    lc_status (*round)(lc_dtype fmt, float *x, size_t n);
    /* Deterministic L2 norm of the concatenation (reduce.h) into *out (a
     * host value: waits for the device). */
    lc_status (*l2norm_multi)(const float *const *bufs, const size_t *lens, size_t count,
                              double *out);
    /* clip_grad_norm_ / clip_grad_value_ (optim_kernels.h). total_norm may
     * be NULL (a GPU then does not wait for the device). */
    lc_status (*clip_grad_norm)(float *const *grads, const size_t *lens, size_t count,
                                double max_norm, double *total_norm);
    lc_status (*clip_grad_value)(float *const *grads, const size_t *lens, size_t count,
                                 double clip_value);
    /* GradScaler's fused unscale + Inf/NaN check (loss_scaler.h); *found_inf
     * is a host value (a GPU waits for the device to give it). */
    lc_status (*unscale_inf_check)(float *const *grads, const size_t *lens, size_t count,
                                   float inv_scale, int *found_inf);
    /* Optimizer updates (optim_kernels.h), one buffer at a time. */
    lc_status (*sgd_step)(float *param, const float *grad, float *momentum_buf, size_t n,
                          const lc_sgd_hparams *hp, int64_t step);
    lc_status (*adam_step)(float *param, const float *grad, float *m, float *v, size_t n,
                           const lc_adam_hparams *hp, int64_t step);
    lc_status (*adamw_step)(float *param, const float *grad, float *m, float *v, size_t n,
                            const lc_adam_hparams *hp, int64_t step);

    /* ---- figures (DeviceStatsMonitor) -------------------------------------- */

    /* Memory and GEMM counters; never waits for the device. */
    lc_status (*stats)(lc_backend_stats *out);
    /* Step timing: start/stop mark a step on the device's timeline; poll
     * gives the newest finished step and its milliseconds without waiting
     * (*ready = 0 when none has finished since it was marked). */
    lc_status (*timer_create)(lc_backend_timer **out);
    void (*timer_free)(lc_backend_timer *t);
    lc_status (*timer_start)(lc_backend_timer *t, int64_t step);
    lc_status (*timer_stop)(lc_backend_timer *t);
    lc_status (*timer_poll)(lc_backend_timer *t, int *ready, int64_t *step, double *ms);

    /* ---- identity ---------------------------------------------------------- */

    /* The backend this table wraps (NULL: none). A wrapper (the profiler's
     * kernel-timing copy, trainer/profiler_backend.c) shares the device and
     * memory of base; who keeps data per backend (a parameter registry)
     * stores base, so computing through the wrapper moves nothing. */
    const struct lc_backend *base;
} lc_backend;

/** The CPU backend (always available). */
const lc_backend *lc_backend_cpu(void);

#ifdef LC_HAVE_CUDA
/** The CUDA backend (kernels/cuda/backend_cuda.c), when compiled in. Its
 *  init fails with LC_ERR_UNSUPPORTED and CUDA's reason on a machine
 *  without a usable GPU. */
const lc_backend *lc_backend_cuda(void);
#endif

/** The backend of a device: the CPU one for LC_DEVICE_HOST; for
 *  LC_DEVICE_CUDA the compiled-in or registered CUDA backend, else NULL. */
const lc_backend *lc_backend_get(lc_device device);

/** Make be the backend of be->device (replacing the previous one; NULL
 *  fields are refused). LC_ERR_INVALID names the missing operation. */
lc_status lc_backend_register(const lc_backend *be);

/** Remove the registered backend of device (the host keeps the CPU one). */
void lc_backend_unregister(lc_device device);

#endif
