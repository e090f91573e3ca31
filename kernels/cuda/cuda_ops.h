/*
 * kernels/cuda/cuda_ops.h — the CUDA layer of the kernels as a plain C API:
 * a context (device, stream, cuBLAS handle, caching allocator), every
 * trainer op as a kernel, GEMM through cuBLAS, step timers and device
 * statistics, and the query `lightc info` prints.
 *
 * Plain C11: no CUDA header is needed to include this one. Device buffers are
 * plain pointers (float *, uint16_t * for fp16/bf16 bit patterns, int32_t *,
 * uint8_t *) allocated with lc_cuda_malloc; the CUDA stream and handles stay
 * inside the context.
 *
 * Build: with LC_HAVE_CUDA (nvcc found at configure time) everything below
 * exists. Without it only the "query" section and lc_cuda_ctx_open /
 * lc_cuda_ctx_close exist: the query says "not compiled in" and
 * lc_cuda_ctx_open returns LC_ERR_UNSUPPORTED, so callers can ask at run
 * time instead of at build time.
 *
 * Execution model (llm.c style, one stream):
 *  - every op is enqueued on the context's stream and returns at once; an op
 *    returns LC_OK when its arguments were valid and the launch succeeded.
 *    A fault inside a kernel surfaces at the next lc_cuda_sync (or any call
 *    that waits), with CUDA's own error text in lc_errmsg();
 *  - results meant for the host (a loss, a norm, an accuracy count) are
 *    written to DEVICE memory (double *, int64_t *), so a training step never
 *    waits for the GPU; the trainer copies them back (lc_cuda_copy_to_host)
 *    only on steps that log;
 *  - the same inputs give the same bits on every run (no atomics in
 *    reductions; fixed block partitions; cuBLAS on one stream).
 *
 * Errors: every call returns an lc_status; CUDA and cuBLAS errors become
 * LC_ERR_NOMEM (out of device memory), LC_ERR_UNSUPPORTED (no GPU, driver
 * too old, no kernel image for this GPU), LC_ERR_INVALID (bad argument) or
 * LC_ERR_STATE (anything else, e.g. a kernel fault, which poisons the
 * context), with "cuda: <op>: <CUDA's message>" in lc_errmsg(). Nothing
 * exits or aborts.
 *
 * Numerics against the CPU kernels in kernels/, as tests/test_cuda_kernels.c
 * checks them:
 *  - bit-for-bit: casts, dropout masks and outputs, ReLU, bias add and its
 *    gradient, argmax, gather, unscale; and, by construction (same operation
 *    order, no fused multiply-add), the optimizer updates, the sum / sum of
 *    squares reductions and the gradient norm;
 *  - to a few float ulps: GELU, softmax (device expf/tanhf/log differ from
 *    glibc's by <= 2 ulp), cross-entropy;
 *  - GEMM: fp32 accumulation in a different order than OpenBLAS: within
 *    K * 2^-23 * sum|a||b|.
 */
#ifndef LC_CUDA_OPS_H
#define LC_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h" /* lc_status */

#ifdef __cplusplus
extern "C" {
#endif

/* optim_kernels.h has no C++ guard of its own: give its declarations C
 * linkage when a .cu file includes this header. */
#include "optim_kernels.h" /* lc_sgd_hparams, lc_adam_hparams */

/* ======================================================================== */
/* Query (always available)                                                  */

#define LC_CUDA_MAX_GPUS 16

typedef struct lc_cuda_gpu {
    char name[256];        /* "NVIDIA H200" */
    uint64_t total_memory; /* bytes */
    int cc_major, cc_minor; /* compute capability, 9.0 for Hopper */
    int sm_count;          /* multiprocessors */
    int clock_khz;         /* peak SM clock, kHz (0 if not reported) */
} lc_cuda_gpu;

typedef struct lc_cuda_info {
    int compiled;        /* 1 if this build has the CUDA kernels */
    int runtime_version; /* CUDA runtime linked in, 13000 = 13.0; 0 if unknown */
    int driver_version;  /* newest CUDA the driver supports; 0 = no driver */
    int gpu_count;       /* usable GPUs (at most LC_CUDA_MAX_GPUS listed) */
    lc_cuda_gpu gpus[LC_CUDA_MAX_GPUS];
    char reason[256];    /* when gpu_count == 0: "not compiled in" or
                          * "no GPU found: <CUDA's reason>" */
} lc_cuda_info;

/** 1 if the CUDA kernels are compiled into this build. */
int lc_cuda_compiled(void);

/** Fill *out (never fails; a machine without a driver or GPU is described
 *  in out->reason). Does not create a context. */
void lc_cuda_query(lc_cuda_info *out);

/** "13.0" from 13000 into buf; returns buf. */
const char *lc_cuda_version_str(int version, char *buf, size_t cap);

/** One line: "CUDA runtime 13.0, driver 13.0; 1 GPU: NVIDIA H200 (140.4 GiB,
 *  sm_90)", or the versions and the reason there is no GPU. Returns buf. */
const char *lc_cuda_describe(char *buf, size_t cap);

/* ======================================================================== */
/* Context                                                                   */

/** A device, a stream on it, a cuBLAS handle bound to that stream, a caching
 *  allocator and scratch space. One context per device and thread. */
typedef struct lc_cuda_ctx lc_cuda_ctx;

/** Open a context on GPU `device` (0-based; -1 picks device 0). Fails with
 *  LC_ERR_UNSUPPORTED and a reason when there is no usable GPU (or CUDA is
 *  not compiled in). */
lc_status lc_cuda_ctx_open(lc_cuda_ctx **out, int device);

/** Wait for the stream, free every device buffer (live or cached) and the
 *  handles. Safe on NULL. */
void lc_cuda_ctx_close(lc_cuda_ctx *ctx);

#ifdef LC_HAVE_CUDA

/** Make ctx's device current on the calling thread (multi-GPU callers). */
lc_status lc_cuda_ctx_make_current(lc_cuda_ctx *ctx);

/** Wait until the stream is idle; reports a kernel fault if one happened. */
lc_status lc_cuda_sync(lc_cuda_ctx *ctx);

/** The device ordinal and the cudaStream_t (as void *) of the context. */
int lc_cuda_ctx_device(const lc_cuda_ctx *ctx);
void *lc_cuda_ctx_stream(const lc_cuda_ctx *ctx);

/** Allow TF32 tensor cores for fp32 GEMMs (default off: fp32 GEMMs then
 *  match the CPU to fp32 rounding; on, ~10 mantissa bits per product). */
void lc_cuda_set_tf32(lc_cuda_ctx *ctx, int allow);

/* ======================================================================== */
/* Memory: a caching allocator                                               */

/* Sizes are rounded up to a size class (512 B, then 4 classes per power of
 * two: at most 25% slack). A freed block goes to its class's free list and
 * is handed out again without cudaMalloc; after the first steps a training
 * loop allocates nothing from CUDA. All work runs on the context's one
 * stream, so a block freed while kernels still read it is only reused by
 * work enqueued later on that same stream (stream order). When cudaMalloc
 * fails, the cache is released and the allocation retried once. */

typedef struct lc_cuda_mem_stats {
    uint64_t in_use;       /* bytes in live blocks (class sizes) */
    uint64_t requested;    /* bytes asked for by live blocks */
    uint64_t peak_in_use;  /* high-water mark of in_use (lc_cuda_mem_reset_peak) */
    uint64_t cached;       /* bytes in free lists, held for reuse */
    uint64_t reserved;     /* in_use + cached: what cudaMalloc holds */
    uint64_t n_alloc;      /* lc_cuda_malloc calls that succeeded */
    uint64_t n_cache_hits; /* ... served from a free list */
    uint64_t n_cuda_malloc, n_cuda_free; /* calls into CUDA */
} lc_cuda_mem_stats;

/** *p = a device buffer of at least bytes (bytes 0 gives NULL and LC_OK). */
lc_status lc_cuda_malloc(lc_cuda_ctx *ctx, void **p, size_t bytes);

/** Return p to the cache. NULL is a no-op; a pointer this context did not
 *  hand out is LC_ERR_INVALID. */
lc_status lc_cuda_free(lc_cuda_ctx *ctx, void *p);

/** cudaFree every cached (free) block; live blocks are untouched. */
lc_status lc_cuda_empty_cache(lc_cuda_ctx *ctx);

void lc_cuda_mem_stats_get(lc_cuda_ctx *ctx, lc_cuda_mem_stats *out);
void lc_cuda_mem_reset_peak(lc_cuda_ctx *ctx);

/** Host -> device (returns once the host buffer may be reused), device ->
 *  host (waits for the stream and the copy), device -> device and zero fill
 *  (enqueued). */
lc_status lc_cuda_copy_to_device(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
lc_status lc_cuda_copy_to_host(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
lc_status lc_cuda_copy_device(lc_cuda_ctx *ctx, void *dst, const void *src, size_t bytes);
lc_status lc_cuda_memset_zero(lc_cuda_ctx *ctx, void *dst, size_t bytes);

/* ======================================================================== */
/* Device statistics and step timing (DeviceStatsMonitor-like)               */

typedef struct lc_cuda_device_stats {
    uint64_t device_used, device_total; /* cudaMemGetInfo: whole device */
    lc_cuda_mem_stats alloc;            /* this context's allocator */
} lc_cuda_device_stats;

/** Memory figures; does not wait for the stream. */
lc_status lc_cuda_device_stats_get(lc_cuda_ctx *ctx, lc_cuda_device_stats *out);

/** Step timer: CUDA events recorded on the stream around each step, kept in
 *  a small ring so the time of a finished step can be read without waiting
 *  for the GPU (llm.c waits on the event; this one only asks). */
typedef struct lc_cuda_timer lc_cuda_timer;

lc_status lc_cuda_timer_create(lc_cuda_ctx *ctx, lc_cuda_timer **out);
void lc_cuda_timer_free(lc_cuda_timer *t);

/** Record the start / the end of step `step` on the stream. */
lc_status lc_cuda_timer_start(lc_cuda_timer *t, int64_t step);
lc_status lc_cuda_timer_stop(lc_cuda_timer *t);

/** Newest finished step without waiting: *ready = 1 and its *step and
 *  *ms if one has finished since it was recorded, else *ready = 0. */
lc_status lc_cuda_timer_poll(lc_cuda_timer *t, int *ready, int64_t *step, float *ms);

/** Wait for the last stopped step and give its time. */
lc_status lc_cuda_timer_wait(lc_cuda_timer *t, int64_t *step, float *ms);

/* ======================================================================== */
/* Elementwise (n elements, fp32; out may alias an input)                    */

lc_status lc_cuda_fill(lc_cuda_ctx *ctx, float *x, size_t n, float value);
lc_status lc_cuda_scale(lc_cuda_ctx *ctx, float *y, const float *x, size_t n, float a); /* y = a x */
lc_status lc_cuda_axpy(lc_cuda_ctx *ctx, float *y, const float *x, size_t n, float a);  /* y += a x */
lc_status lc_cuda_add(lc_cuda_ctx *ctx, float *z, const float *x, const float *y, size_t n);
lc_status lc_cuda_mul(lc_cuda_ctx *ctx, float *z, const float *x, const float *y, size_t n);

/** ReLU / GELU (tanh form) as kernels/activations.h: backward takes the
 *  forward input x (for ReLU its output works too). */
lc_status lc_cuda_relu_forward(lc_cuda_ctx *ctx, float *y, const float *x, size_t n);
lc_status lc_cuda_relu_backward(lc_cuda_ctx *ctx, float *dx, const float *dy, const float *x,
                                size_t n);
lc_status lc_cuda_gelu_forward(lc_cuda_ctx *ctx, float *y, const float *x, size_t n);
lc_status lc_cuda_gelu_backward(lc_cuda_ctx *ctx, float *dx, const float *dy, const float *x,
                                size_t n);

/* ======================================================================== */
/* Bias and fused bias + activation ([rows, cols] row-major, b: [cols])     */

enum { LC_CUDA_ACT_NONE = 0, LC_CUDA_ACT_RELU = 1, LC_CUDA_ACT_GELU = 2 };

/** y[r, j] += b[j]. */
lc_status lc_cuda_bias_add_forward(lc_cuda_ctx *ctx, float *y, const float *b, int64_t rows,
                                   int64_t cols);

/** db[j] += sum_r dy[r, j]: one thread per column adds the rows in order in
 *  double, exactly as kernels/linear.c does (same bits). */
lc_status lc_cuda_bias_add_backward(lc_cuda_ctx *ctx, float *db, const float *dy, int64_t rows,
                                    int64_t cols);

/** h = x + b (broadcast over rows); pre = h if pre is not NULL (GELU's
 *  backward needs it); y = act(h). pre may be x; y may be x when pre is not
 *  needed (ReLU's backward can use y). */
lc_status lc_cuda_bias_act_forward(lc_cuda_ctx *ctx, float *y, float *pre, const float *x,
                                   const float *b, int64_t rows, int64_t cols, int act);

/** dh = dy * act'(pre) into dx (may be dy); db += column sums of dh (NULL to
 *  skip), in row order in double. For ReLU, pre may be the forward's y. */
lc_status lc_cuda_bias_act_backward(lc_cuda_ctx *ctx, float *dx, float *db, const float *dy,
                                    const float *pre, int64_t rows, int64_t cols, int act);

/* ======================================================================== */
/* Dropout: the CPU's PCG32 stream, bit for bit                              */

/* kernels/dropout.c draws one PCG32 number per element, in element order, from
 * the trainer's lc_rng. PCG32 is a 64-bit LCG with an output permutation, and
 * an LCG can jump ahead k steps in O(log k) (Brown, "Random number generation
 * with arbitrary strides", 1994): each GPU thread jumps to its first element
 * and draws from there. So the GPU mask is the CPU mask for the same RNG
 * state, and rng_state ({state, inc}, as lc_rng_save writes it) is advanced
 * by n draws on the host exactly as the CPU would advance it. Eval and p == 0
 * copy (mask untouched, no draws); p == 1 zeroes (no draws). */

lc_status lc_cuda_dropout_forward(lc_cuda_ctx *ctx, float *y, uint8_t *mask, const float *x,
                                  size_t n, float p, int training, uint64_t rng_state[2]);
lc_status lc_cuda_dropout_backward(lc_cuda_ctx *ctx, float *dx, const float *dy,
                                   const uint8_t *mask, size_t n, float p, int training);

/* ======================================================================== */
/* Softmax + cross-entropy (+ accuracy), fused                               */

/* logits/probs [rows, cols]; labels int32 on the device, each in [0, cols).
 * Labels are not range-checked on the device (that would need a wait):
 * check them once on the host when the data set is uploaded. A label out of
 * range makes that row's loss NaN (so the mean is NaN) and it never counts
 * as correct; backward leaves its row without the one-hot term. */

/** probs = softmax(logits) (probs may be logits); *loss_dev = mean row loss
 *  (double, device; NULL to skip); *correct_dev = #rows whose argmax (lowest
 *  index on ties, NaN skipped) is the label (int64, device; NULL to skip). */
lc_status lc_cuda_softmax_xent_forward(lc_cuda_ctx *ctx, float *probs, double *loss_dev,
                                       int64_t *correct_dev, const float *logits,
                                       const int32_t *labels, int64_t rows, int64_t cols);

/** dlogits = (probs - onehot) * dloss / rows; dlogits may be probs. */
lc_status lc_cuda_softmax_xent_backward(lc_cuda_ctx *ctx, float *dlogits, const float *probs,
                                        const int32_t *labels, int64_t rows, int64_t cols,
                                        float dloss);

lc_status lc_cuda_softmax_forward(lc_cuda_ctx *ctx, float *probs, const float *logits,
                                  int64_t rows, int64_t cols);
lc_status lc_cuda_argmax_rows(lc_cuda_ctx *ctx, int32_t *out, const float *x, int64_t rows,
                              int64_t cols);

/* ======================================================================== */
/* Reductions (double results in device memory)                              */

/* The partition and the order are kernels/reduce.h's: blocks of
 * LC_REDUCE_BLOCK elements, 8 interleaved double lanes per block combined
 * pairwise, block partials added in block order, buffers in list order.
 * The GPU runs the blocks in parallel (8 threads per block, one per lane) and
 * adds the partials in order, so the result is the CPU's, bit for bit. */

lc_status lc_cuda_sum(lc_cuda_ctx *ctx, double *out_dev, const float *x, size_t n);
lc_status lc_cuda_sumsq(lc_cuda_ctx *ctx, double *out_dev, const float *x, size_t n);

/** sqrt(sum of squares) over count device buffers bufs[k] (a HOST array of
 *  device pointers) of lens[k] floats. */
lc_status lc_cuda_l2norm_multi(lc_cuda_ctx *ctx, double *out_dev, const float *const *bufs,
                               const size_t *lens, size_t count);

/** clip_grad_norm_ as kernels/optim_kernels.h, without a host wait: the norm
 *  goes to *total_norm_dev (required) and the coefficient is applied on the
 *  device (skipped when >= 1; a NaN norm spreads, as on the CPU). */
lc_status lc_cuda_clip_grad_norm(lc_cuda_ctx *ctx, float *const *grads, const size_t *lens,
                                 size_t count, double max_norm, double *total_norm_dev);

/** clip_grad_value_: clamp to [-clip, clip] (NaN stays NaN). */
lc_status lc_cuda_clip_grad_value(lc_cuda_ctx *ctx, float *const *grads, const size_t *lens,
                                  size_t count, double clip_value);

/* ======================================================================== */
/* Optimizer steps (fused, one kernel per buffer)                            */

/* The formulas and operation order of kernels/optim_kernels.c (PyTorch's),
 * scalars computed on the host in double, elementwise math in float with
 * explicit round-to-nearest operations (no fused multiply-add), so a GPU
 * step gives the CPU step's bits. */

lc_status lc_cuda_sgd_step(lc_cuda_ctx *ctx, float *param, const float *grad, float *momentum_buf,
                           size_t n, const lc_sgd_hparams *hp, int64_t step);
lc_status lc_cuda_adam_step(lc_cuda_ctx *ctx, float *param, const float *grad, float *m, float *v,
                            size_t n, const lc_adam_hparams *hp, int64_t step);
lc_status lc_cuda_adamw_step(lc_cuda_ctx *ctx, float *param, const float *grad, float *m,
                             float *v, size_t n, const lc_adam_hparams *hp, int64_t step);

/* ======================================================================== */
/* Loss scaler support: fused unscale + inf/NaN check                        */

/** g *= inv_scale (skipped when inv_scale == 1); *found_inf_dev = 1 if any
 *  input element is inf or NaN (never cleared here: zero it once, then check
 *  every gradient buffer; PyTorch's _amp_foreach_non_finite_check_and_unscale_). */
lc_status lc_cuda_unscale_check(lc_cuda_ctx *ctx, float *g, size_t n, float inv_scale,
                                int32_t *found_inf_dev);

/** The same from fp16 gradients into fp32 ones: dst = float(src) * inv_scale. */
lc_status lc_cuda_unscale_check_f16(lc_cuda_ctx *ctx, float *dst, const uint16_t *src, size_t n,
                                    float inv_scale, int32_t *found_inf_dev);

/* ======================================================================== */
/* Casts (round to nearest even; NaN stays NaN, made quiet, sign and leading
 * payload kept, in both directions; overflow to Inf; subnormals kept: the
 * rules of kernels/half.c, bit for bit) and gathers                          */

lc_status lc_cuda_f32_to_f16(lc_cuda_ctx *ctx, uint16_t *dst, const float *src, size_t n);
lc_status lc_cuda_f16_to_f32(lc_cuda_ctx *ctx, float *dst, const uint16_t *src, size_t n);
lc_status lc_cuda_f32_to_bf16(lc_cuda_ctx *ctx, uint16_t *dst, const float *src, size_t n);
lc_status lc_cuda_bf16_to_f32(lc_cuda_ctx *ctx, float *dst, const uint16_t *src, size_t n);
lc_status lc_cuda_f16_to_bf16(lc_cuda_ctx *ctx, uint16_t *dst, const uint16_t *src, size_t n);
lc_status lc_cuda_bf16_to_f16(lc_cuda_ctx *ctx, uint16_t *dst, const uint16_t *src, size_t n);

/** dst = src rounded to the nearest value of fmt (LC_CUDA_F16 or
 *  LC_CUDA_BF16), kept in fp32 (dst may be src): fp32 -> 16 bits -> fp32
 *  with the rules above, as kernels/half.h's lc_round_array. */
lc_status lc_cuda_round(lc_cuda_ctx *ctx, float *dst, const float *src, size_t n, int fmt);

/** A batch from a device-resident data set of n_samples samples of
 *  `features` bytes: dst[i, f] = lut[images[idx[i], f]] (lut: 256 floats on
 *  the device, the dataloader's normalisation table, so values are the CPU
 *  dataloader's). An index outside [0, n_samples) gives a row of zeros. */
lc_status lc_cuda_gather_u8(lc_cuda_ctx *ctx, float *dst, const uint8_t *images,
                            size_t n_samples, size_t features, const int32_t *idx, size_t count,
                            const float *lut);

/** dst[i] = labels[idx[i]] (bytes to int32; -1 for an index out of range). */
lc_status lc_cuda_gather_labels(lc_cuda_ctx *ctx, int32_t *dst, const uint8_t *labels,
                                size_t n_samples, const int32_t *idx, size_t count);

/** dst[i, :] = src[idx[i], :] for an fp32 table of n_rows rows of row_len. */
lc_status lc_cuda_gather_rows(lc_cuda_ctx *ctx, float *dst, const float *src, size_t n_rows,
                              size_t row_len, const int32_t *idx, size_t count);

/* ======================================================================== */
/* GEMM through cuBLAS (fp32 accumulation), row-major like kernels/linear.c  */

enum { LC_CUDA_F32 = 0, LC_CUDA_F16 = 1, LC_CUDA_BF16 = 2 };

/** C[m, n] = alpha op(A) op(B) + beta C, all row-major: op(A) is [m, k]
 *  (A is [m, k] with lda >= k, or [k, m] with lda >= m when trans_a), op(B)
 *  [k, n]. A and B have type ab_type; C has type c_type, which is fp32 or
 *  ab_type (what cublasGemmEx supports with fp32 compute; a 16-bit C is
 *  rounded once from the fp32 result). */
lc_status lc_cuda_gemm(lc_cuda_ctx *ctx, int trans_a, int trans_b, int64_t m, int64_t n,
                       int64_t k, float alpha, const void *a, int64_t lda, const void *b,
                       int64_t ldb, float beta, void *c, int64_t ldc, int ab_type, int c_type);

/** y[rows, out] = x[rows, in] W^T (+ b), W [out, in] (nn.Linear): x and w of
 *  type in_type, y and b fp32. */
lc_status lc_cuda_linear_forward(lc_cuda_ctx *ctx, float *y, const void *x, const void *w,
                                 const float *b, int64_t rows, int64_t in, int64_t out,
                                 int in_type);

/** dx = dy W (overwritten; NULL to skip), dw += dy^T x (NULL to skip),
 *  db += column sums of dy (NULL to skip), all fp32 (kernels/linear.h). */
lc_status lc_cuda_linear_backward(lc_cuda_ctx *ctx, float *dx, float *dw, float *db,
                                  const float *dy, const float *x, const float *w, int64_t rows,
                                  int64_t in, int64_t out);

#endif /* LC_HAVE_CUDA */

#ifdef __cplusplus
}
#endif

#endif
