/*
 * kernels/cuda/backend_cuda.c — the CUDA backend table (kernels/backend.h)
 * over the lc_cuda_* layer: the trainer's every op on one GPU, one stream.
 *
 * The device: one context (stream, cuBLAS handle, caching allocator) per
 * process, opened by the first init and closed when the last reference is
 * released; everything below enqueues on its stream and returns.
 *
 * Memory: parameters, gradients, optimizer state, activations and the
 * data set are device buffers from the caching allocator (after the first
 * steps a training loop calls no cudaMalloc). Activations are float32
 * buffers, as on the CPU.
 *
 * Precision. Compute dtype float32: cuBLAS fp32 GEMMs (no TF32) and the
 * fp32 kernels. Compute dtype float16 / bfloat16 (the mixed precisions,
 * and *-true): what the CPU emulates (kernels/lowp.h), with tensor cores:
 *   linear forward   x and the fp32 master W cast to the format (workspace),
 *                    GEMM on tensor cores with fp32 accumulation into the
 *                    fp32 output, + b rounded to the format, y rounded to
 *                    the format;
 *   linear backward  dy rounded; dx = dy W (format inputs, fp32
 *                    accumulation) rounded; dW = dy^T x and db = colsum(dy)
 *                    each rounded to the format, then added to the fp32
 *                    gradients (autocast's cast-backward);
 *   activations,     the fp32 kernel, its output rounded to the format;
 *   dropout
 *   softmax + xent   fp32 always (autocast's fp32 list).
 * *-true parameters are fp32 buffers holding format values (rounded after
 * every update, as on the CPU); optimizer state is fp32.
 *
 * Host waits (the only ones): the loss / accuracy count a caller asks
 * softmax_xent_forward for, the norm l2norm_multi returns (and
 * clip_grad_norm's when asked for), GradScaler's Inf/NaN flag, downloads.
 * Everything else — zero_grad, clipping, the unscale itself, optimizer
 * steps, the figures (allocator counters, event timers) — never waits.
 *
 * Threads: the context is the process's; the trainer uses it from its own
 * thread (checkpoints and histograms copy to the host on that thread
 * before other threads see the data).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/status.h"
#include "cuda_ops.h"

/* ------------------------------------------------------------------------ */
/* The device                                                                */

/* Host-visible results, in one small device buffer read back in one copy. */
typedef struct cuda_scalars {
    double loss;
    int64_t correct;
    double norm;
    int32_t found_inf;
    int32_t pad;
} cuda_scalars;

static struct {
    pthread_mutex_t mu;
    int refs;
    int device;
    lc_cuda_ctx *ctx;
    cuda_scalars *scalars; /* device */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Atomic uint64_t cuda_gemm_flops;

static void count_gemm(int64_t m, int64_t n, int64_t k)
{
    atomic_fetch_add_explicit(&cuda_gemm_flops, 2 * (uint64_t)m * (uint64_t)n * (uint64_t)k,
                              memory_order_relaxed);
}

static lc_status cuda_init(int index)
{
    pthread_mutex_lock(&g.mu);
    lc_status st = LC_OK;
    if (g.refs > 0) {
        if (index >= 0 && index != g.device)
            st = lc_fail(LC_ERR_UNSUPPORTED,
                         "cuda backend: GPU %d is open in this process and GPU %d was asked for; "
                         "one GPU per process (devices=1)", g.device, index);
        else
            g.refs++;
        pthread_mutex_unlock(&g.mu);
        return st;
    }
    lc_cuda_ctx *ctx = NULL;
    void *scalars = NULL;
    st = lc_cuda_ctx_open(&ctx, index < 0 ? 0 : index);
    if (st == LC_OK)
        st = lc_cuda_malloc(ctx, &scalars, sizeof(cuda_scalars));
    if (st == LC_OK)
        st = lc_cuda_memset_zero(ctx, scalars, sizeof(cuda_scalars));
    if (st == LC_OK) {
        g.ctx = ctx;
        g.device = lc_cuda_ctx_device(ctx);
        g.scalars = scalars;
        g.refs = 1;
    } else {
        lc_cuda_ctx_close(ctx); /* frees scalars too */
    }
    pthread_mutex_unlock(&g.mu);
    return st;
}

static void cuda_release(void)
{
    pthread_mutex_lock(&g.mu);
    if (g.refs > 0 && --g.refs == 0) {
        lc_cuda_ctx_close(g.ctx); /* waits for the stream, frees every block */
        g.ctx = NULL;
        g.scalars = NULL;
    }
    pthread_mutex_unlock(&g.mu);
}

/* Every op: the device must be open. */
#define CTX(op)                                                                              \
    do {                                                                                     \
        if (!g.ctx)                                                                          \
            return lc_fail(LC_ERR_STATE,                                                     \
                           "cuda backend: %s before init (the trainer opens the GPU for "    \
                           "accelerator cuda; standalone callers call init(0) first)",       \
                           (op));                                                            \
    } while (0)

static lc_status cuda_sync(void)
{
    CTX("sync");
    return lc_cuda_sync(g.ctx);
}

/* ------------------------------------------------------------------------ */
/* Tensors                                                                   */

static int cuda_type(lc_dtype d)
{
    return d == LC_DTYPE_F16 ? LC_CUDA_F16 : d == LC_DTYPE_BF16 ? LC_CUDA_BF16 : LC_CUDA_F32;
}

/* A float32 tensor on this device (activations, parameters, gradients). */
static lc_status need_f32(const lc_tensor *t, const char *op, const char *name)
{
    lc_status st = lc_tensor_check_any(t, op, name);
    if (st != LC_OK)
        return st;
    if (t->device != LC_DEVICE_CUDA || t->dtype != LC_DTYPE_F32)
        return lc_fail(LC_ERR_INVALID, "cuda backend: %s: %s is a %s tensor on %s; this op takes "
                       "float32 in CUDA memory", op, name, lc_dtype_name(t->dtype),
                       lc_device_name(t->device));
    return LC_OK;
}

static lc_status cuda_alloc(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape)
{
    CTX("alloc");
    if (!t)
        return lc_fail(LC_ERR_INVALID, "cuda backend: alloc: tensor is NULL");
    memset(t, 0, sizeof *t);
    /* validate the shape on a placeholder view, then allocate */
    lc_tensor probe;
    lc_status st = lc_tensor_view_on(&probe, (void *)t, dtype, LC_DEVICE_CUDA, ndim, shape);
    if (st != LC_OK)
        return st;
    void *p = NULL;
    size_t bytes = lc_tensor_nbytes(&probe);
    st = lc_cuda_malloc(g.ctx, &p, bytes);
    if (st == LC_OK)
        st = lc_cuda_memset_zero(g.ctx, p, bytes);
    if (st != LC_OK) {
        lc_cuda_free(g.ctx, p);
        return st;
    }
    *t = probe;
    t->ptr = p;
    t->owns = 1;
    return LC_OK;
}

static void cuda_free_tensor(lc_tensor *t)
{
    if (!t)
        return;
    if (t->device == LC_DEVICE_HOST) {
        lc_tensor_free(t);
        return;
    }
    if (t->owns && t->ptr && g.ctx)
        lc_cuda_free(g.ctx, t->ptr);
    memset(t, 0, sizeof *t);
}

static lc_status cuda_copy_bytes(void *dst, lc_device dd, const void *src, lc_device sd,
                                 size_t bytes)
{
    if (dd == LC_DEVICE_HOST && sd == LC_DEVICE_HOST) {
        memmove(dst, src, bytes);
        return LC_OK;
    }
    CTX("copy");
    if (dd == LC_DEVICE_CUDA && sd == LC_DEVICE_HOST)
        return lc_cuda_copy_to_device(g.ctx, dst, src, bytes);
    if (dd == LC_DEVICE_HOST && sd == LC_DEVICE_CUDA)
        return lc_cuda_copy_to_host(g.ctx, dst, src, bytes);
    return lc_cuda_copy_device(g.ctx, dst, src, bytes);
}

static lc_status cuda_copy(lc_tensor *dst, const lc_tensor *src)
{
    lc_status st = lc_tensor_check_any(dst, "cuda copy", "dst");
    if (st == LC_OK)
        st = lc_tensor_check_any(src, "cuda copy", "src");
    if (st != LC_OK)
        return st;
    if (!lc_tensor_same_shape(dst, src) || dst->dtype != src->dtype)
        return lc_fail(LC_ERR_INVALID, "cuda backend: copy: dst and src differ in shape or dtype "
                       "(%s vs %s)", lc_dtype_name(dst->dtype), lc_dtype_name(src->dtype));
    if (dst->device > LC_DEVICE_CUDA || src->device > LC_DEVICE_CUDA)
        return lc_fail(LC_ERR_INVALID, "cuda backend: copy: unknown device");
    return cuda_copy_bytes(dst->ptr, dst->device, src->ptr, src->device, lc_tensor_nbytes(src));
}

static lc_status cuda_cast(lc_tensor *dst, const lc_tensor *src)
{
    CTX("cast");
    lc_status st = lc_tensor_check_any(dst, "cuda cast", "dst");
    if (st == LC_OK)
        st = lc_tensor_check_any(src, "cuda cast", "src");
    if (st != LC_OK)
        return st;
    if (dst->device != LC_DEVICE_CUDA || src->device != LC_DEVICE_CUDA)
        return lc_fail(LC_ERR_INVALID, "cuda backend: cast: both tensors must be in CUDA memory "
                       "(copy first)");
    if (!lc_tensor_same_shape(dst, src))
        return lc_fail(LC_ERR_INVALID, "cuda backend: cast: dst and src differ in shape");
    size_t n = src->numel;
    lc_dtype a = src->dtype, b = dst->dtype;
    if (a == b)
        return lc_cuda_copy_device(g.ctx, dst->ptr, src->ptr, lc_tensor_nbytes(src));
    if (a == LC_DTYPE_F32)
        return b == LC_DTYPE_F16 ? lc_cuda_f32_to_f16(g.ctx, dst->ptr, src->ptr, n)
                                 : lc_cuda_f32_to_bf16(g.ctx, dst->ptr, src->ptr, n);
    if (b == LC_DTYPE_F32)
        return a == LC_DTYPE_F16 ? lc_cuda_f16_to_f32(g.ctx, dst->ptr, src->ptr, n)
                                 : lc_cuda_bf16_to_f32(g.ctx, dst->ptr, src->ptr, n);
    return a == LC_DTYPE_F16 ? lc_cuda_f16_to_bf16(g.ctx, dst->ptr, src->ptr, n)
                             : lc_cuda_bf16_to_f16(g.ctx, dst->ptr, src->ptr, n);
}

/* ------------------------------------------------------------------------ */
/* Workspace: 16-bit operand copies and rounded temporaries of the layers   */

enum { WS_A16, WS_B16, WS_C16, WS_DYR, WS_TMP, WS_TMPB, WS_SLOTS };

struct lc_workspace {
    void *buf[WS_SLOTS];
    size_t cap[WS_SLOTS];
};

static lc_workspace *cuda_workspace_create(void)
{
    return calloc(1, sizeof(lc_workspace));
}

static void cuda_workspace_free(lc_workspace *ws)
{
    if (!ws)
        return;
    for (int i = 0; i < WS_SLOTS; i++)
        if (ws->buf[i] && g.ctx)
            lc_cuda_free(g.ctx, ws->buf[i]);
    free(ws);
}

/* Slot i with at least bytes. A replaced buffer goes back to the cache:
 * work already enqueued on it runs before anything enqueued later (one
 * stream), so reuse is safe. */
static lc_status ws_get(lc_workspace *ws, int i, size_t bytes, void **out)
{
    if (!ws)
        return lc_fail(LC_ERR_INVALID, "cuda backend: 16-bit compute needs a workspace");
    if (bytes > ws->cap[i]) {
        size_t want = bytes + bytes / 4;
        lc_cuda_free(g.ctx, ws->buf[i]);
        ws->buf[i] = NULL;
        ws->cap[i] = 0;
        lc_status st = lc_cuda_malloc(g.ctx, &ws->buf[i], want);
        if (st != LC_OK)
            return st;
        ws->cap[i] = want;
    }
    *out = ws->buf[i];
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Raw memory                                                                */

static lc_status cuda_mem_alloc(void **p, size_t bytes)
{
    if (!p)
        return lc_fail(LC_ERR_INVALID, "cuda backend: mem_alloc: p is NULL");
    *p = NULL;
    CTX("mem_alloc");
    if (bytes == 0)
        return LC_OK;
    lc_status st = lc_cuda_malloc(g.ctx, p, bytes);
    if (st == LC_OK)
        st = lc_cuda_memset_zero(g.ctx, *p, bytes);
    if (st != LC_OK) {
        lc_cuda_free(g.ctx, *p);
        *p = NULL;
    }
    return st;
}

static void cuda_mem_free(void *p)
{
    if (p && g.ctx)
        lc_cuda_free(g.ctx, p);
}

static lc_status cuda_upload(void *dst, const void *src, size_t bytes)
{
    CTX("upload");
    return lc_cuda_copy_to_device(g.ctx, dst, src, bytes);
}

static lc_status cuda_download(void *dst, const void *src, size_t bytes)
{
    CTX("download");
    return lc_cuda_copy_to_host(g.ctx, dst, src, bytes);
}

static lc_status cuda_mem_copy(void *dst, const void *src, size_t bytes)
{
    CTX("mem_copy");
    return lc_cuda_copy_device(g.ctx, dst, src, bytes);
}

/* ------------------------------------------------------------------------ */
/* Data: the data set on the device, batches gathered there                 */

struct lc_device_data {
    uint8_t *images, *labels; /* device */
    float *lut;               /* device, 256 */
    int32_t *order;           /* device, n */
    int32_t *order_host;      /* staging for set_order */
    size_t n, features;
};

static void cuda_data_free(lc_device_data *d)
{
    if (!d)
        return;
    cuda_mem_free(d->images);
    cuda_mem_free(d->labels);
    cuda_mem_free(d->lut);
    cuda_mem_free(d->order);
    free(d->order_host);
    free(d);
}

static lc_status cuda_data_create(lc_device_data **out, const uint8_t *images,
                                  const uint8_t *labels, size_t n, size_t features, const float *lut)
{
    CTX("data_create");
    if (!out || (n && (!images || !labels)) || !lut || features == 0)
        return lc_fail(LC_ERR_INVALID, "cuda backend: data_create: bad arguments");
    *out = NULL;
    if (n > (size_t)INT32_MAX || (n && features > SIZE_MAX / n))
        return lc_fail(LC_ERR_INVALID, "cuda backend: data set of %zu samples is too large", n);
    lc_device_data *d = calloc(1, sizeof *d);
    if (!d)
        return lc_fail(LC_ERR_NOMEM, "cuda backend: out of host memory");
    d->n = n;
    d->features = features;
    d->order_host = malloc((n ? n : 1) * sizeof *d->order_host);
    lc_status st = d->order_host ? LC_OK : lc_fail(LC_ERR_NOMEM, "cuda backend: out of memory");
    if (st == LC_OK)
        st = cuda_mem_alloc((void **)&d->images, n * features);
    if (st == LC_OK)
        st = cuda_mem_alloc((void **)&d->labels, n);
    if (st == LC_OK)
        st = cuda_mem_alloc((void **)&d->lut, 256 * sizeof(float));
    if (st == LC_OK)
        st = cuda_mem_alloc((void **)&d->order, (n ? n : 1) * sizeof(int32_t));
    if (st == LC_OK)
        st = lc_cuda_copy_to_device(g.ctx, d->images, images, n * features);
    if (st == LC_OK)
        st = lc_cuda_copy_to_device(g.ctx, d->labels, labels, n);
    if (st == LC_OK)
        st = lc_cuda_copy_to_device(g.ctx, d->lut, lut, 256 * sizeof(float));
    for (size_t i = 0; st == LC_OK && i < n; i++)
        d->order_host[i] = (int32_t)i;
    if (st == LC_OK)
        st = lc_cuda_copy_to_device(g.ctx, d->order, d->order_host, n * sizeof(int32_t));
    if (st != LC_OK) {
        cuda_data_free(d);
        return st;
    }
    *out = d;
    return LC_OK;
}

static lc_status cuda_data_set_order(lc_device_data *d, const uint32_t *order, size_t n)
{
    CTX("data_set_order");
    if (!d || !order || n != d->n)
        return lc_fail(LC_ERR_INVALID, "cuda backend: data_set_order: %zu indices for %zu samples",
                       n, d ? d->n : 0);
    for (size_t i = 0; i < n; i++) {
        if (order[i] >= n)
            return lc_fail(LC_ERR_INVALID, "cuda backend: data_set_order: index %u out of range",
                           order[i]);
        d->order_host[i] = (int32_t)order[i];
    }
    /* returns once the staging buffer may be reused */
    return lc_cuda_copy_to_device(g.ctx, d->order, d->order_host, n * sizeof(int32_t));
}

static lc_status cuda_data_gather(lc_device_data *d, size_t first, size_t count, float *x,
                                  int32_t *y)
{
    CTX("data_gather");
    if (!d || !x || !y || first > d->n || count > d->n - first)
        return lc_fail(LC_ERR_INVALID, "cuda backend: data_gather: samples [%zu, %zu) of %zu",
                       first, first + count, d ? d->n : 0);
    lc_status st = lc_cuda_gather_u8(g.ctx, x, d->images, d->n, d->features, d->order + first,
                                     count, d->lut);
    if (st == LC_OK)
        st = lc_cuda_gather_labels(g.ctx, y, d->labels, d->n, d->order + first, count);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */

typedef struct linear_dims {
    int64_t rows, in, out;
} linear_dims;

static lc_status linear_check(const char *op, const lc_tensor *x, const lc_tensor *w,
                              linear_dims *d)
{
    lc_status st = need_f32(x, op, "x");
    if (st == LC_OK)
        st = need_f32(w, op, "w");
    if (st != LC_OK)
        return st;
    if (w->ndim != 2 || lc_tensor_cols(x) != w->shape[1])
        return lc_fail(LC_ERR_INVALID, "cuda backend: %s: x has %lld features but w is not "
                       "[out, %lld]", op, (long long)lc_tensor_cols(x),
                       (long long)lc_tensor_cols(x));
    d->rows = lc_tensor_rows(x);
    d->in = w->shape[1];
    d->out = w->shape[0];
    return LC_OK;
}

static lc_status need_numel(const lc_tensor *t, size_t numel, const char *op, const char *name)
{
    lc_status st = need_f32(t, op, name);
    if (st == LC_OK && t->numel != numel)
        st = lc_fail(LC_ERR_INVALID, "cuda backend: %s: %s has %zu elements, %zu expected", op,
                     name, t->numel, numel);
    return st;
}

static lc_status round_to(lc_dtype c, float *dst, const float *src, size_t n)
{
    if (c == LC_DTYPE_F32)
        return dst == src ? LC_OK : lc_cuda_copy_device(g.ctx, dst, src, n * sizeof(float));
    return lc_cuda_round(g.ctx, dst, src, n, cuda_type(c));
}

/* fp32 src (n values) cast to the 16-bit format c into workspace slot i. */
static lc_status cast_to_ws(lc_workspace *ws, int i, lc_dtype c, const float *src, size_t n,
                            void **out)
{
    lc_status st = ws_get(ws, i, n * sizeof(uint16_t), out);
    if (st != LC_OK)
        return st;
    return c == LC_DTYPE_F16 ? lc_cuda_f32_to_f16(g.ctx, *out, src, n)
                             : lc_cuda_f32_to_bf16(g.ctx, *out, src, n);
}

static lc_status cuda_linear_forward(lc_dtype c, lc_tensor *y, const lc_tensor *x,
                                     const lc_tensor *w, const lc_tensor *b, lc_workspace *ws)
{
    const char *op = "linear_forward";
    CTX(op);
    linear_dims d;
    lc_status st = linear_check(op, x, w, &d);
    if (st == LC_OK)
        st = need_numel(y, (size_t)(d.rows * d.out), op, "y");
    if (st == LC_OK && b)
        st = need_numel(b, (size_t)d.out, op, "b");
    if (st != LC_OK)
        return st;
    count_gemm(d.rows, d.out, d.in);
    if (c == LC_DTYPE_F32)
        return lc_cuda_linear_forward(g.ctx, y->data, x->data, w->data, b ? b->data : NULL, d.rows,
                                      d.in, d.out, LC_CUDA_F32);
    void *xh = NULL, *wh = NULL, *br = NULL;
    int t = cuda_type(c);
    st = cast_to_ws(ws, WS_A16, c, x->data, x->numel, &xh);
    if (st == LC_OK)
        st = cast_to_ws(ws, WS_B16, c, w->data, w->numel, &wh);
    if (st == LC_OK)
        st = lc_cuda_gemm(g.ctx, 0, 1, d.rows, d.out, d.in, 1.0f, xh, d.in, wh, d.in, 0.0f,
                          y->data, d.out, t, LC_CUDA_F32);
    if (st == LC_OK && b) {
        st = ws_get(ws, WS_TMPB, (size_t)d.out * sizeof(float), &br);
        if (st == LC_OK)
            st = lc_cuda_round(g.ctx, br, b->data, (size_t)d.out, t);
        if (st == LC_OK)
            st = lc_cuda_bias_add_forward(g.ctx, y->data, br, d.rows, d.out);
    }
    if (st == LC_OK)
        st = lc_cuda_round(g.ctx, y->data, y->data, y->numel, t);
    return st;
}

static lc_status cuda_linear_backward(lc_dtype c, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                      const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                      lc_workspace *ws)
{
    const char *op = "linear_backward";
    CTX(op);
    linear_dims d;
    lc_status st = linear_check(op, x, w, &d);
    if (st == LC_OK)
        st = need_numel(dy, (size_t)(d.rows * d.out), op, "dy");
    if (st == LC_OK && dx)
        st = need_numel(dx, x->numel, op, "dx");
    if (st == LC_OK && dw)
        st = need_numel(dw, w->numel, op, "dw");
    if (st == LC_OK && db)
        st = need_numel(db, (size_t)d.out, op, "db");
    if (st != LC_OK)
        return st;
    count_gemm(d.rows, d.out, d.in * ((dx ? 1 : 0) + (dw ? 1 : 0)));
    if (c == LC_DTYPE_F32)
        return lc_cuda_linear_backward(g.ctx, dx ? dx->data : NULL, dw ? dw->data : NULL,
                                       db ? db->data : NULL, dy->data, x->data, w->data, d.rows,
                                       d.in, d.out);
    int t = cuda_type(c);
    size_t ndy = dy->numel, nw = w->numel;
    void *dyr = NULL, *dyh = NULL, *wh = NULL, *xh = NULL, *tmp = NULL, *tmpb = NULL;
    /* dy rounded to the format (fp32 copy for the bias sums, 16-bit for GEMMs) */
    st = ws_get(ws, WS_DYR, ndy * sizeof(float), &dyr);
    if (st == LC_OK)
        st = lc_cuda_round(g.ctx, dyr, dy->data, ndy, t);
    if (st == LC_OK)
        st = cast_to_ws(ws, WS_A16, c, dyr, ndy, &dyh);
    if (st == LC_OK && dx) {
        st = cast_to_ws(ws, WS_B16, c, w->data, nw, &wh);
        if (st == LC_OK)
            st = lc_cuda_gemm(g.ctx, 0, 0, d.rows, d.in, d.out, 1.0f, dyh, d.out, wh, d.in, 0.0f,
                              dx->data, d.in, t, LC_CUDA_F32);
        if (st == LC_OK)
            st = lc_cuda_round(g.ctx, dx->data, dx->data, dx->numel, t);
    }
    if (st == LC_OK && dw) {
        st = cast_to_ws(ws, WS_C16, c, x->data, x->numel, &xh);
        if (st == LC_OK)
            st = ws_get(ws, WS_TMP, nw * sizeof(float), &tmp);
        if (st == LC_OK)
            st = lc_cuda_gemm(g.ctx, 1, 0, d.out, d.in, d.rows, 1.0f, dyh, d.out, xh, d.in, 0.0f,
                              tmp, d.in, t, LC_CUDA_F32);
        if (st == LC_OK)
            st = lc_cuda_round(g.ctx, tmp, tmp, nw, t);
        if (st == LC_OK)
            st = lc_cuda_axpy(g.ctx, dw->data, tmp, nw, 1.0f);
    }
    if (st == LC_OK && db) {
        st = ws_get(ws, WS_TMPB, (size_t)d.out * sizeof(float), &tmpb);
        if (st == LC_OK)
            st = lc_cuda_memset_zero(g.ctx, tmpb, (size_t)d.out * sizeof(float));
        if (st == LC_OK)
            st = lc_cuda_bias_add_backward(g.ctx, tmpb, dyr, d.rows, d.out);
        if (st == LC_OK)
            st = lc_cuda_round(g.ctx, tmpb, tmpb, (size_t)d.out, t);
        if (st == LC_OK)
            st = lc_cuda_axpy(g.ctx, db->data, tmpb, (size_t)d.out, 1.0f);
    }
    return st;
}

static lc_status same_numel(const char *op, const lc_tensor *a, const char *an,
                            const lc_tensor *b, const char *bn)
{
    lc_status st = need_f32(a, op, an);
    if (st == LC_OK)
        st = need_numel(b, a->numel, op, bn);
    return st;
}

static lc_status cuda_act_forward(lc_dtype c, lc_act_fn fn, lc_tensor *y, const lc_tensor *x)
{
    CTX("act_forward");
    lc_status st = same_numel("act_forward", x, "x", y, "y");
    if (st != LC_OK)
        return st;
    st = fn == LC_ACT_FN_GELU ? lc_cuda_gelu_forward(g.ctx, y->data, x->data, x->numel)
                              : lc_cuda_relu_forward(g.ctx, y->data, x->data, x->numel);
    return st == LC_OK ? round_to(c, y->data, y->data, y->numel) : st;
}

static lc_status cuda_act_backward(lc_dtype c, lc_act_fn fn, lc_tensor *dx, const lc_tensor *dy,
                                   const lc_tensor *x)
{
    CTX("act_backward");
    lc_status st = same_numel("act_backward", x, "x", dy, "dy");
    if (st == LC_OK)
        st = need_numel(dx, x->numel, "act_backward", "dx");
    if (st != LC_OK)
        return st;
    st = fn == LC_ACT_FN_GELU
             ? lc_cuda_gelu_backward(g.ctx, dx->data, dy->data, x->data, x->numel)
             : lc_cuda_relu_backward(g.ctx, dx->data, dy->data, x->data, x->numel);
    return st == LC_OK ? round_to(c, dx->data, dx->data, dx->numel) : st;
}

static lc_status cuda_dropout_forward(lc_dtype c, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                      float p, int training, lc_rng *rng)
{
    CTX("dropout_forward");
    lc_status st = same_numel("dropout_forward", x, "x", y, "y");
    if (st != LC_OK)
        return st;
    uint64_t state[2] = {0, 1};
    if (rng)
        lc_rng_save(rng, state);
    st = lc_cuda_dropout_forward(g.ctx, y->data, mask, x->data, x->numel, p, training,
                                 rng ? state : NULL);
    if (st == LC_OK && rng)
        lc_rng_restore(rng, state); /* advanced by n draws, as the CPU would */
    return st == LC_OK ? round_to(c, y->data, y->data, y->numel) : st;
}

static lc_status cuda_dropout_backward(lc_dtype c, lc_tensor *dx, const lc_tensor *dy,
                                       const uint8_t *mask, float p, int training)
{
    CTX("dropout_backward");
    lc_status st = same_numel("dropout_backward", dy, "dy", dx, "dx");
    if (st == LC_OK)
        st = lc_cuda_dropout_backward(g.ctx, dx->data, dy->data, mask, dy->numel, p, training);
    return st == LC_OK ? round_to(c, dx->data, dx->data, dx->numel) : st;
}

static lc_status cuda_softmax_xent_forward(lc_tensor *probs, double *loss, int64_t *correct,
                                           const lc_tensor *logits, const int32_t *labels)
{
    const char *op = "softmax_xent_forward";
    CTX(op);
    lc_status st = same_numel(op, logits, "logits", probs, "probs");
    if (st != LC_OK)
        return st;
    if (!labels)
        return lc_fail(LC_ERR_INVALID, "cuda backend: %s: labels is NULL", op);
    int64_t rows = lc_tensor_rows(logits), cols = lc_tensor_cols(logits);
    st = lc_cuda_softmax_xent_forward(g.ctx, probs->data, loss ? &g.scalars->loss : NULL,
                                      correct ? &g.scalars->correct : NULL, logits->data, labels,
                                      rows, cols);
    if (st != LC_OK || (!loss && !correct))
        return st;
    /* the one wait of a step: the caller wants the loss now */
    cuda_scalars h;
    st = lc_cuda_copy_to_host(g.ctx, &h, g.scalars, offsetof(cuda_scalars, norm));
    if (st != LC_OK)
        return st;
    if (loss)
        *loss = h.loss;
    if (correct)
        *correct = h.correct;
    return LC_OK;
}

static lc_status cuda_softmax_xent_backward(lc_tensor *dlogits, const lc_tensor *probs,
                                            const int32_t *labels, float dloss)
{
    const char *op = "softmax_xent_backward";
    CTX(op);
    lc_status st = same_numel(op, probs, "probs", dlogits, "dlogits");
    if (st != LC_OK)
        return st;
    if (!labels)
        return lc_fail(LC_ERR_INVALID, "cuda backend: %s: labels is NULL", op);
    return lc_cuda_softmax_xent_backward(g.ctx, dlogits->data, probs->data, labels,
                                         lc_tensor_rows(probs), lc_tensor_cols(probs), dloss);
}

/* ------------------------------------------------------------------------ */
/* Flat buffers                                                              */

static lc_status cuda_zero(float *x, size_t n)
{
    CTX("zero");
    return x && n ? lc_cuda_memset_zero(g.ctx, x, n * sizeof *x) : LC_OK;
}

static lc_status cuda_round(lc_dtype fmt, float *x, size_t n)
{
    CTX("round");
    if (!x || n == 0 || fmt == LC_DTYPE_F32)
        return LC_OK;
    return lc_cuda_round(g.ctx, x, x, n, cuda_type(fmt));
}

static lc_status cuda_l2norm_multi(const float *const *bufs, const size_t *lens, size_t count,
                                   double *out)
{
    CTX("l2norm_multi");
    if (!out)
        return lc_fail(LC_ERR_INVALID, "cuda backend: l2norm_multi: out is NULL");
    *out = 0.0;
    if (count == 0)
        return LC_OK;
    lc_status st = lc_cuda_l2norm_multi(g.ctx, &g.scalars->norm, bufs, lens, count);
    if (st == LC_OK)
        st = lc_cuda_copy_to_host(g.ctx, out, &g.scalars->norm, sizeof *out);
    return st;
}

static lc_status cuda_clip_grad_norm(float *const *grads, const size_t *lens, size_t count,
                                     double max_norm, double *total_norm)
{
    CTX("clip_grad_norm");
    if (total_norm)
        *total_norm = 0.0;
    if (!(max_norm >= 0.0))
        return lc_fail(LC_ERR_INVALID, "clip_grad_norm: max_norm %g must be >= 0", max_norm);
    if (count == 0)
        return LC_OK;
    lc_status st =
        lc_cuda_clip_grad_norm(g.ctx, grads, lens, count, max_norm, &g.scalars->norm);
    if (st == LC_OK && total_norm) /* only when asked: a wait */
        st = lc_cuda_copy_to_host(g.ctx, total_norm, &g.scalars->norm, sizeof *total_norm);
    return st;
}

static lc_status cuda_clip_grad_value(float *const *grads, const size_t *lens, size_t count,
                                      double clip_value)
{
    CTX("clip_grad_value");
    return count ? lc_cuda_clip_grad_value(g.ctx, grads, lens, count, clip_value) : LC_OK;
}

static lc_status cuda_unscale_inf_check(float *const *grads, const size_t *lens, size_t count,
                                        float inv_scale, int *found_inf)
{
    CTX("unscale_inf_check");
    if (!found_inf)
        return lc_fail(LC_ERR_INVALID, "cuda backend: unscale_inf_check: found_inf is NULL");
    *found_inf = 0;
    int32_t *flag = &g.scalars->found_inf;
    lc_status st = lc_cuda_memset_zero(g.ctx, flag, sizeof *flag);
    for (size_t k = 0; k < count && st == LC_OK; k++)
        st = lc_cuda_unscale_check(g.ctx, grads[k], lens[k], inv_scale, flag);
    /* GradScaler.step reads found_inf too (found_inf.item()): the step's
     * skip decision needs it on the host */
    int32_t h = 0;
    if (st == LC_OK)
        st = lc_cuda_copy_to_host(g.ctx, &h, flag, sizeof h);
    if (st == LC_OK)
        *found_inf = h != 0;
    return st;
}

static lc_status cuda_sgd_step(float *param, const float *grad, float *momentum_buf, size_t n,
                               const lc_sgd_hparams *hp, int64_t step)
{
    CTX("sgd_step");
    return lc_cuda_sgd_step(g.ctx, param, grad, momentum_buf, n, hp, step);
}

static lc_status cuda_adam_step(float *param, const float *grad, float *m, float *v, size_t n,
                                const lc_adam_hparams *hp, int64_t step)
{
    CTX("adam_step");
    return lc_cuda_adam_step(g.ctx, param, grad, m, v, n, hp, step);
}

static lc_status cuda_adamw_step(float *param, const float *grad, float *m, float *v, size_t n,
                                 const lc_adam_hparams *hp, int64_t step)
{
    CTX("adamw_step");
    return lc_cuda_adamw_step(g.ctx, param, grad, m, v, n, hp, step);
}

/* ------------------------------------------------------------------------ */
/* Figures                                                                   */

static lc_status cuda_stats(lc_backend_stats *out)
{
    CTX("stats");
    if (!out)
        return lc_fail(LC_ERR_INVALID, "cuda backend: stats: out is NULL");
    memset(out, 0, sizeof *out);
    lc_cuda_device_stats ds;
    lc_status st = lc_cuda_device_stats_get(g.ctx, &ds); /* no stream wait */
    if (st != LC_OK)
        return st;
    out->has_memory = 1;
    out->mem_in_use = ds.alloc.in_use;
    out->mem_peak = ds.alloc.peak_in_use;
    out->mem_reserved = ds.alloc.reserved;
    out->mem_total = ds.device_total;
    out->gemm_flops = atomic_load_explicit(&cuda_gemm_flops, memory_order_relaxed);
    return LC_OK;
}

struct lc_backend_timer {
    lc_cuda_timer *t;
};

static lc_status cuda_timer_create(lc_backend_timer **out)
{
    CTX("timer_create");
    if (!out)
        return lc_fail(LC_ERR_INVALID, "cuda backend: timer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return lc_fail(LC_ERR_NOMEM, "cuda backend: out of host memory");
    lc_status st = lc_cuda_timer_create(g.ctx, &(*out)->t);
    if (st != LC_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static void cuda_timer_free(lc_backend_timer *t)
{
    if (!t)
        return;
    lc_cuda_timer_free(t->t); /* its events are the primary context's, not ours */
    free(t);
}

static lc_status cuda_timer_start(lc_backend_timer *t, int64_t step)
{
    CTX("timer_start");
    return t ? lc_cuda_timer_start(t->t, step)
             : lc_fail(LC_ERR_INVALID, "cuda backend: timer is NULL");
}

static lc_status cuda_timer_stop(lc_backend_timer *t)
{
    CTX("timer_stop");
    return t ? lc_cuda_timer_stop(t->t) : lc_fail(LC_ERR_INVALID, "cuda backend: timer is NULL");
}

static lc_status cuda_timer_poll(lc_backend_timer *t, int *ready, int64_t *step, double *ms)
{
    CTX("timer_poll");
    if (!t || !ready)
        return lc_fail(LC_ERR_INVALID, "cuda backend: timer_poll: timer and ready are required");
    float f = 0.0f;
    lc_status st = lc_cuda_timer_poll(t->t, ready, step, &f);
    if (st == LC_OK && *ready && ms)
        *ms = (double)f;
    return st;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */

static const lc_backend cuda_backend = {
    .name = "cuda",
    .device = LC_DEVICE_CUDA,
    .init = cuda_init,
    .release = cuda_release,
    .sync = cuda_sync,
    .alloc = cuda_alloc,
    .free = cuda_free_tensor,
    .copy = cuda_copy,
    .cast = cuda_cast,
    .workspace_create = cuda_workspace_create,
    .workspace_free = cuda_workspace_free,
    .mem_alloc = cuda_mem_alloc,
    .mem_free = cuda_mem_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .mem_copy = cuda_mem_copy,
    .data_create = cuda_data_create,
    .data_free = cuda_data_free,
    .data_set_order = cuda_data_set_order,
    .data_gather = cuda_data_gather,
    .linear_forward = cuda_linear_forward,
    .linear_backward = cuda_linear_backward,
    .act_forward = cuda_act_forward,
    .act_backward = cuda_act_backward,
    .dropout_forward = cuda_dropout_forward,
    .dropout_backward = cuda_dropout_backward,
    .softmax_xent_forward = cuda_softmax_xent_forward,
    .softmax_xent_backward = cuda_softmax_xent_backward,
    .zero = cuda_zero,
    .round = cuda_round,
    .l2norm_multi = cuda_l2norm_multi,
    .clip_grad_norm = cuda_clip_grad_norm,
    .clip_grad_value = cuda_clip_grad_value,
    .unscale_inf_check = cuda_unscale_inf_check,
    .sgd_step = cuda_sgd_step,
    .adam_step = cuda_adam_step,
    .adamw_step = cuda_adamw_step,
    .stats = cuda_stats,
    .timer_create = cuda_timer_create,
    .timer_free = cuda_timer_free,
    .timer_start = cuda_timer_start,
    .timer_stop = cuda_timer_stop,
    .timer_poll = cuda_timer_poll,
};

const lc_backend *lc_backend_cuda(void)
{
    return &cuda_backend;
}
