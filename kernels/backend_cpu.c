/*
 * kernels/backend_cpu.c — the CPU backend table (see backend.h): float32
 * compute goes straight to the existing kernels (activations.c, linear.c,
 * ...), 16-bit compute to their emulation (lowp.h). The workspace is the
 * emulation's scratch. "Device" memory is host memory: uploads and
 * downloads are memcpy, the data ops gather on the host exactly as the
 * dataloader does, the timer reads the monotonic clock.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "common/status.h"
#include "half.h"
#include "kernels.h"
#include "loss_scaler.h"
#include "lowp.h"
#include "par.h"

struct lc_workspace {
    lc_lowp_scratch scratch;
};

/* GEMM flops issued by the layer ops (stats). */
static _Atomic uint64_t cpu_gemm_flops;

static void count_gemm(uint64_t m, uint64_t n, uint64_t k)
{
    atomic_fetch_add_explicit(&cpu_gemm_flops, 2 * m * n * k, memory_order_relaxed);
}

/* ---- the device ------------------------------------------------------------------ */

static lc_status cpu_init(int index)
{
    if (index > 0)
        return lc_fail(LC_ERR_INVALID, "cpu backend: there is one host device (index 0), not %d",
                       index);
    return LC_OK;
}

static void cpu_release(void)
{
}

static lc_status cpu_sync(void)
{
    return LC_OK;
}

/* ---- memory ----------------------------------------------------------------- */

static lc_status cpu_alloc(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape)
{
    return lc_tensor_alloc_dtype(t, dtype, ndim, shape);
}

static lc_workspace *cpu_workspace_create(void)
{
    return calloc(1, sizeof(lc_workspace));
}

static void cpu_workspace_free(lc_workspace *ws)
{
    if (!ws)
        return;
    lc_lowp_scratch_free(&ws->scratch);
    free(ws);
}

static lc_lowp_scratch *scratch_of(lc_workspace *ws)
{
    return ws ? &ws->scratch : NULL;
}

static lc_status cpu_mem_alloc(void **p, size_t bytes)
{
    if (!p)
        return lc_fail(LC_ERR_INVALID, "cpu backend: mem_alloc: p is NULL");
    *p = NULL;
    if (bytes == 0)
        return LC_OK;
    /* zeroed by writing (not calloc): the pages are mapped here, once,
       instead of on first touch inside a step, where a read first maps
       the zero page and the write after it copies the page and flushes
       the other cores' TLBs */
    *p = malloc(bytes);
    if (*p)
        memset(*p, 0, bytes);
    return *p ? LC_OK : lc_fail(LC_ERR_NOMEM, "cpu backend: out of memory for %zu bytes", bytes);
}

static void cpu_mem_free(void *p)
{
    free(p);
}

static lc_status cpu_memcpy(void *dst, const void *src, size_t bytes)
{
    if (bytes && (!dst || !src))
        return lc_fail(LC_ERR_INVALID, "cpu backend: copy of %zu bytes with a NULL buffer", bytes);
    if (bytes && dst != src)
        memmove(dst, src, bytes);
    return LC_OK;
}

/* ---- data -------------------------------------------------------------------------- */

/* The arrays stay the caller's (they outlive the dataloader); the order is
 * copied. */
struct lc_device_data {
    const uint8_t *images, *labels;
    size_t n, features;
    float lut[256];
    uint32_t *order;
};

static lc_status cpu_data_create(lc_device_data **out, const uint8_t *images,
                                 const uint8_t *labels, size_t n, size_t features, const float *lut)
{
    if (!out || (n && (!images || !labels)) || !lut || features == 0)
        return lc_fail(LC_ERR_INVALID, "cpu backend: data_create: bad arguments");
    lc_device_data *d = calloc(1, sizeof *d);
    if (d)
        d->order = malloc((n ? n : 1) * sizeof *d->order);
    if (!d || !d->order) {
        free(d);
        return lc_fail(LC_ERR_NOMEM, "cpu backend: out of memory for a data set of %zu", n);
    }
    d->images = images;
    d->labels = labels;
    d->n = n;
    d->features = features;
    memcpy(d->lut, lut, sizeof d->lut);
    for (size_t i = 0; i < n; i++)
        d->order[i] = (uint32_t)i;
    *out = d;
    return LC_OK;
}

static void cpu_data_free(lc_device_data *d)
{
    if (d)
        free(d->order);
    free(d);
}

static lc_status cpu_data_set_order(lc_device_data *d, const uint32_t *order, size_t n)
{
    if (!d || !order || n != d->n)
        return lc_fail(LC_ERR_INVALID, "cpu backend: data_set_order: %zu indices for %zu samples",
                       n, d ? d->n : 0);
    for (size_t i = 0; i < n; i++)
        if (order[i] >= n)
            return lc_fail(LC_ERR_INVALID, "cpu backend: data_set_order: index %u out of range",
                           order[i]);
    memcpy(d->order, order, n * sizeof *order);
    return LC_OK;
}

static lc_status cpu_data_gather(lc_device_data *d, size_t first, size_t count, float *x,
                                 int32_t *y)
{
    if (!d || !x || !y || first > d->n || count > d->n - first)
        return lc_fail(LC_ERR_INVALID, "cpu backend: data_gather: samples [%zu, %zu) of %zu", first,
                       first + count, d ? d->n : 0);
    const size_t f = d->features;
    for (size_t i = 0; i < count; i++) {
        const uint32_t k = d->order[first + i];
        const uint8_t *px = d->images + (size_t)k * f;
        float *dst = x + i * f;
        for (size_t j = 0; j < f; j++)
            dst[j] = d->lut[px[j]];
        y[i] = d->labels[k];
    }
    return LC_OK;
}

/* ---- layers --------------------------------------------------------------------- */

static lc_status cpu_linear_forward(lc_dtype c, lc_tensor *y, const lc_tensor *x,
                                    const lc_tensor *w, const lc_tensor *b, lc_workspace *ws)
{
    if (x && w && w->ndim == 2)
        count_gemm((uint64_t)lc_tensor_rows(x), (uint64_t)w->shape[0], (uint64_t)w->shape[1]);
    if (c == LC_DTYPE_F32)
        return lc_linear_forward(y, x, w, b);
    return lc_lowp_linear_forward(c, y, x, w, b, scratch_of(ws));
}

static lc_status cpu_linear_backward(lc_dtype c, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                     const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                     lc_workspace *ws)
{
    if (x && w && w->ndim == 2)
        count_gemm((uint64_t)lc_tensor_rows(x), (uint64_t)w->shape[0],
                   (uint64_t)w->shape[1] * ((dx ? 1u : 0u) + (dw ? 1u : 0u)));
    if (c == LC_DTYPE_F32)
        return lc_linear_backward(dx, dw, db, dy, x, w);
    return lc_lowp_linear_backward(c, dx, dw, db, dy, x, w, scratch_of(ws));
}

static lc_status cpu_act_forward(lc_dtype c, lc_act_fn fn, lc_tensor *y, const lc_tensor *x)
{
    if (c == LC_DTYPE_F32)
        return fn == LC_ACT_FN_GELU ? lc_gelu_forward(y, x) : lc_relu_forward(y, x);
    return lc_lowp_act_forward(c, fn == LC_ACT_FN_GELU, y, x);
}

static lc_status cpu_act_backward(lc_dtype c, lc_act_fn fn, lc_tensor *dx, const lc_tensor *dy,
                                  const lc_tensor *x)
{
    if (c == LC_DTYPE_F32)
        return fn == LC_ACT_FN_GELU ? lc_gelu_backward(dx, dy, x) : lc_relu_backward(dx, dy, x);
    return lc_lowp_act_backward(c, fn == LC_ACT_FN_GELU, dx, dy, x);
}

static lc_status cpu_dropout_forward(lc_dtype c, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                     float p, int training, lc_rng *rng)
{
    if (c == LC_DTYPE_F32)
        return lc_dropout_forward(y, mask, x, p, training, rng);
    return lc_lowp_dropout_forward(c, y, mask, x, p, training, rng);
}

static lc_status cpu_dropout_backward(lc_dtype c, lc_tensor *dx, const lc_tensor *dy,
                                      const uint8_t *mask, float p, int training)
{
    if (c == LC_DTYPE_F32)
        return lc_dropout_backward(dx, dy, mask, p, training);
    return lc_lowp_dropout_backward(c, dx, dy, mask, p, training);
}

/* ---- flat buffers -------------------------------------------------------------- */

static void zero_chunk(void *x, size_t a, size_t len)
{
    memset((float *)x + a, 0, len * sizeof(float));
}

static lc_status cpu_zero(float *x, size_t n)
{
    if (x && n)
        lc_par_chunks(n, zero_chunk, x);
    return LC_OK;
}

static lc_status cpu_round(lc_dtype fmt, float *x, size_t n)
{
    if (x && fmt != LC_DTYPE_F32)
        lc_round_array(fmt, x, x, n);
    return LC_OK;
}

static lc_status cpu_l2norm_multi(const float *const *bufs, const size_t *lens, size_t count,
                                  double *out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "cpu backend: l2norm_multi: out is NULL");
    *out = lc_reduce_l2norm_multi(bufs, lens, count);
    return LC_OK;
}

static lc_status cpu_unscale_inf_check(float *const *grads, const size_t *lens, size_t count,
                                       float inv_scale, int *found_inf)
{
    if (!found_inf)
        return lc_fail(LC_ERR_INVALID, "cpu backend: unscale_inf_check: found_inf is NULL");
    lc_unscale_inf_check(grads, lens, count, inv_scale, found_inf);
    return LC_OK;
}

/* ---- figures --------------------------------------------------------------------- */

struct lc_backend_timer {
    double t0;
    int64_t step;
    int running, have;
    int64_t last_step;
    double last_ms;
};

static double cpu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static lc_status cpu_stats(lc_backend_stats *out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "cpu backend: stats: out is NULL");
    memset(out, 0, sizeof *out);
    out->gemm_flops = atomic_load_explicit(&cpu_gemm_flops, memory_order_relaxed);
    return LC_OK;
}

static lc_status cpu_timer_create(lc_backend_timer **out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "cpu backend: timer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "cpu backend: out of memory for a timer");
}

static void cpu_timer_free(lc_backend_timer *t)
{
    free(t);
}

static lc_status cpu_timer_start(lc_backend_timer *t, int64_t step)
{
    if (!t)
        return lc_fail(LC_ERR_INVALID, "cpu backend: timer is NULL");
    t->t0 = cpu_now_ms();
    t->step = step;
    t->running = 1;
    return LC_OK;
}

static lc_status cpu_timer_stop(lc_backend_timer *t)
{
    if (!t || !t->running)
        return lc_fail(LC_ERR_STATE, "cpu backend: timer_stop without a started step");
    t->last_ms = cpu_now_ms() - t->t0;
    t->last_step = t->step;
    t->running = 0;
    t->have = 1;
    return LC_OK;
}

static lc_status cpu_timer_poll(lc_backend_timer *t, int *ready, int64_t *step, double *ms)
{
    if (!t || !ready)
        return lc_fail(LC_ERR_INVALID, "cpu backend: timer_poll: timer and ready are required");
    *ready = t->have;
    if (t->have && step)
        *step = t->last_step;
    if (t->have && ms)
        *ms = t->last_ms;
    return LC_OK;
}

static const lc_backend cpu_backend = {
    .name = "cpu",
    .device = LC_DEVICE_HOST,
    .init = cpu_init,
    .release = cpu_release,
    .sync = cpu_sync,
    .alloc = cpu_alloc,
    .free = lc_tensor_free,
    .copy = lc_tensor_copy,
    .cast = lc_tensor_cast,
    .workspace_create = cpu_workspace_create,
    .workspace_free = cpu_workspace_free,
    .mem_alloc = cpu_mem_alloc,
    .mem_free = cpu_mem_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .mem_copy = cpu_memcpy,
    .data_create = cpu_data_create,
    .data_free = cpu_data_free,
    .data_set_order = cpu_data_set_order,
    .data_gather = cpu_data_gather,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .act_forward = cpu_act_forward,
    .act_backward = cpu_act_backward,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .softmax_xent_forward = lc_softmax_xent_forward,
    .softmax_xent_backward = lc_softmax_xent_backward,
    .zero = cpu_zero,
    .round = cpu_round,
    .l2norm_multi = cpu_l2norm_multi,
    .clip_grad_norm = lc_clip_grad_norm,
    .clip_grad_value = lc_clip_grad_value,
    .unscale_inf_check = cpu_unscale_inf_check,
    .sgd_step = lc_sgd_step,
    .adam_step = lc_adam_step,
    .adamw_step = lc_adamw_step,
    .stats = cpu_stats,
    .timer_create = cpu_timer_create,
    .timer_free = cpu_timer_free,
    .timer_start = cpu_timer_start,
    .timer_stop = cpu_timer_stop,
    .timer_poll = cpu_timer_poll,
};

const lc_backend *lc_backend_cpu(void)
{
    return &cpu_backend;
}
