/*
 * tests/support/emu_device.h — an emulated accelerator for the trainer
 * tests on machines without a GPU: a complete backend table
 * (kernels/backend.h) that registers as the CUDA device and computes with
 * the CPU backend's ops, so a fit on it must give the CPU's bits.
 *
 * Its memory is host memory the host must not read directly: every byte
 * is stored XORed with EMU_KEY, so a float read straight from "device"
 * memory (or written into it) by trainer code that bypasses the table is
 * garbage, and the run's numbers stop matching the CPU's. Every pointer an
 * op receives is checked to lie inside a live emulated block (a host
 * pointer handed to the device is an error, not a silent success). The
 * emulator counts references (init/release), live blocks and bytes, so a
 * test can check that nothing leaks and the device is released.
 *
 * Header-only (static), like trainer_fixture.h.
 */
#ifndef LC_EMU_DEVICE_H
#define LC_EMU_DEVICE_H

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/status.h"
#include "tensor.h"

#define EMU_KEY 0x7f
#define EMU_MAX_BLOCKS 4096

typedef struct emu_block {
    uint8_t *base;
    size_t size;
} emu_block;

static struct {
    emu_block blocks[EMU_MAX_BLOCKS];
    size_t nblocks;
    int refs;         /* init - release */
    int fail_init;    /* 1: init fails as a machine without the device */
    size_t live, peak;
    long bad_pointers; /* host pointers handed to device ops */
    long uploads, downloads;
} emu;

/* ---- memory ----------------------------------------------------------------- */

static int emu_owns(const void *p, size_t bytes)
{
    const uint8_t *q = p;
    for (size_t i = 0; i < emu.nblocks; i++) {
        const emu_block *b = &emu.blocks[i];
        if (q >= b->base && q <= b->base + b->size && bytes <= (size_t)(b->base + b->size - q))
            return 1;
    }
    return 0;
}

static lc_status emu_bad(const void *p)
{
    emu.bad_pointers++;
    return lc_fail(LC_ERR_INVALID, "emu device: %p is not emulated device memory", p);
}

static void emu_xor(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] ^ EMU_KEY;
}

/* Host copy of bytes of device memory (malloc'd; NULL + error if not device memory). */
static void *emu_get(const void *dev, size_t bytes, lc_status *st)
{
    if (bytes == 0)
        return malloc(1);
    if (!emu_owns(dev, bytes)) {
        *st = emu_bad(dev);
        return NULL;
    }
    void *h = malloc(bytes);
    emu_xor(h, dev, bytes);
    return h;
}

static lc_status emu_put(void *dev, const void *host, size_t bytes)
{
    if (bytes == 0)
        return LC_OK;
    if (!emu_owns(dev, bytes))
        return emu_bad(dev);
    emu_xor(dev, host, bytes);
    return LC_OK;
}

static lc_status emu_mem_alloc(void **p, size_t bytes)
{
    *p = NULL;
    if (bytes == 0)
        return LC_OK;
    if (emu.nblocks == EMU_MAX_BLOCKS)
        return lc_fail(LC_ERR_NOMEM, "emu device: too many blocks");
    uint8_t *b = malloc(bytes);
    if (!b)
        return lc_fail(LC_ERR_NOMEM, "emu device: out of memory");
    memset(b, EMU_KEY, bytes); /* zero, as the device stores it */
    emu.blocks[emu.nblocks++] = (emu_block){b, bytes};
    emu.live += bytes;
    if (emu.live > emu.peak)
        emu.peak = emu.live;
    *p = b;
    return LC_OK;
}

static void emu_mem_free(void *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < emu.nblocks; i++) {
        if (emu.blocks[i].base == p) {
            emu.live -= emu.blocks[i].size;
            emu.blocks[i] = emu.blocks[--emu.nblocks];
            free(p);
            return;
        }
    }
    emu.bad_pointers++; /* freeing something the device never handed out */
}

static lc_status emu_upload(void *dst, const void *src, size_t bytes)
{
    emu.uploads++;
    if (bytes && emu_owns(src, bytes))
        return emu_bad(src); /* the source must be host memory */
    return emu_put(dst, src, bytes);
}

static lc_status emu_download(void *dst, const void *src, size_t bytes)
{
    emu.downloads++;
    if (bytes == 0)
        return LC_OK;
    if (!emu_owns(src, bytes))
        return emu_bad(src);
    if (emu_owns(dst, bytes))
        return emu_bad(dst);
    emu_xor(dst, src, bytes);
    return LC_OK;
}

static lc_status emu_mem_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes && (!emu_owns(dst, bytes) || !emu_owns(src, bytes)))
        return emu_bad(emu_owns(dst, bytes) ? src : dst);
    if (bytes)
        memmove(dst, src, bytes); /* both stored the same way */
    return LC_OK;
}

/* ---- the device ----------------------------------------------------------- */

static lc_status emu_init(int index)
{
    if (emu.fail_init)
        return lc_fail(LC_ERR_UNSUPPORTED, "emu device: no device here");
    if (index > 0)
        return lc_fail(LC_ERR_INVALID, "emu device: one device");
    emu.refs++;
    return LC_OK;
}

static void emu_release(void)
{
    emu.refs--;
}

static lc_status emu_sync(void)
{
    return LC_OK;
}

/* ---- tensors ---------------------------------------------------------------- */

/* A host twin of a device tensor, holding its values (h must be freed). */
static lc_status emu_t_get(const lc_tensor *d, lc_tensor *h)
{
    memset(h, 0, sizeof *h);
    if (!d)
        return LC_OK;
    if (d->device != LC_DEVICE_CUDA || !d->ptr)
        return emu_bad(d->ptr);
    lc_status st = lc_tensor_alloc_dtype(h, d->dtype, d->ndim, d->shape);
    if (st != LC_OK)
        return st;
    size_t bytes = lc_tensor_nbytes(d);
    if (!emu_owns(d->ptr, bytes)) {
        lc_tensor_free(h);
        return emu_bad(d->ptr);
    }
    emu_xor(h->ptr, d->ptr, bytes);
    return LC_OK;
}

static lc_status emu_t_put(lc_tensor *d, const lc_tensor *h)
{
    return d ? emu_put(d->ptr, h->ptr, lc_tensor_nbytes(d)) : LC_OK;
}

static lc_status emu_alloc(lc_tensor *t, lc_dtype dtype, int ndim, const int64_t *shape)
{
    lc_tensor probe;
    lc_status st = lc_tensor_view_on(&probe, (void *)t, dtype, LC_DEVICE_CUDA, ndim, shape);
    if (st != LC_OK)
        return st;
    void *p;
    st = emu_mem_alloc(&p, lc_tensor_nbytes(&probe));
    if (st != LC_OK)
        return st;
    *t = probe;
    t->ptr = p;
    t->owns = 1;
    return LC_OK;
}

static void emu_free_tensor(lc_tensor *t)
{
    if (!t)
        return;
    if (t->device == LC_DEVICE_HOST) {
        lc_tensor_free(t);
        return;
    }
    if (t->owns)
        emu_mem_free(t->ptr);
    memset(t, 0, sizeof *t);
}

static lc_status emu_copy(lc_tensor *dst, const lc_tensor *src)
{
    if (!dst || !src || !lc_tensor_same_shape(dst, src) || dst->dtype != src->dtype)
        return lc_fail(LC_ERR_INVALID, "emu device: copy: shapes or dtypes differ");
    size_t n = lc_tensor_nbytes(src);
    if (dst->device == LC_DEVICE_CUDA && src->device == LC_DEVICE_CUDA)
        return emu_mem_copy(dst->ptr, src->ptr, n);
    if (dst->device == LC_DEVICE_CUDA)
        return emu_upload(dst->ptr, src->ptr, n);
    if (src->device == LC_DEVICE_CUDA)
        return emu_download(dst->ptr, src->ptr, n);
    memmove(dst->ptr, src->ptr, n);
    return LC_OK;
}

static lc_status emu_cast(lc_tensor *dst, const lc_tensor *src)
{
    lc_tensor hs, hd;
    lc_status st = emu_t_get(src, &hs);
    if (st == LC_OK)
        st = emu_t_get(dst, &hd);
    if (st == LC_OK)
        st = lc_tensor_cast(&hd, &hs);
    if (st == LC_OK)
        st = emu_t_put(dst, &hd);
    lc_tensor_free(&hs);
    lc_tensor_free(&hd);
    return st;
}

static lc_workspace *emu_workspace_create(void)
{
    return lc_backend_cpu()->workspace_create(); /* host scratch of the CPU ops */
}

static void emu_workspace_free(lc_workspace *ws)
{
    lc_backend_cpu()->workspace_free(ws);
}

/* ---- data ------------------------------------------------------------------- */

struct lc_device_data {
    uint8_t *images, *labels; /* device */
    int32_t *order;           /* device */
    size_t n, features;
    float lut[256];
};

static void emu_data_free(lc_device_data *d)
{
    if (!d)
        return;
    emu_mem_free(d->images);
    emu_mem_free(d->labels);
    emu_mem_free(d->order);
    free(d);
}

static lc_status emu_data_create(lc_device_data **out, const uint8_t *images,
                                 const uint8_t *labels, size_t n, size_t features, const float *lut)
{
    lc_device_data *d = calloc(1, sizeof *d);
    d->n = n;
    d->features = features;
    memcpy(d->lut, lut, sizeof d->lut);
    lc_status st = emu_mem_alloc((void **)&d->images, n * features);
    if (st == LC_OK)
        st = emu_mem_alloc((void **)&d->labels, n);
    if (st == LC_OK)
        st = emu_mem_alloc((void **)&d->order, n * sizeof(int32_t));
    if (st == LC_OK)
        st = emu_upload(d->images, images, n * features);
    if (st == LC_OK)
        st = emu_upload(d->labels, labels, n);
    if (st != LC_OK) {
        emu_data_free(d);
        return st;
    }
    *out = d;
    return LC_OK;
}

static lc_status emu_data_set_order(lc_device_data *d, const uint32_t *order, size_t n)
{
    if (n != d->n)
        return lc_fail(LC_ERR_INVALID, "emu device: order of %zu for %zu samples", n, d->n);
    int32_t *o = malloc((n ? n : 1) * sizeof *o);
    for (size_t i = 0; i < n; i++)
        o[i] = (int32_t)order[i];
    lc_status st = emu_upload(d->order, o, n * sizeof *o);
    free(o);
    return st;
}

static lc_status emu_data_gather(lc_device_data *d, size_t first, size_t count, float *x,
                                 int32_t *y)
{
    if (first + count > d->n)
        return lc_fail(LC_ERR_INVALID, "emu device: gather past the end");
    lc_status st = LC_OK;
    int32_t *order = emu_get(d->order, d->n * sizeof(int32_t), &st);
    uint8_t *img = order ? emu_get(d->images, d->n * d->features, &st) : NULL;
    uint8_t *lab = img ? emu_get(d->labels, d->n, &st) : NULL;
    float *hx = malloc((count * d->features + 1) * sizeof *hx);
    int32_t *hy = malloc((count ? count : 1) * sizeof *hy);
    for (size_t i = 0; lab && i < count; i++) {
        size_t k = (size_t)order[first + i];
        for (size_t f = 0; f < d->features; f++)
            hx[i * d->features + f] = d->lut[img[k * d->features + f]];
        hy[i] = lab[k];
    }
    if (lab)
        st = emu_put(x, hx, count * d->features * sizeof *hx);
    if (st == LC_OK && lab)
        st = emu_put(y, hy, count * sizeof *hy);
    free(order);
    free(img);
    free(lab);
    free(hx);
    free(hy);
    return st;
}

/* ---- layers: host twins through the CPU ops ------------------------------------ */

#define EMU_CPU lc_backend_cpu()

static lc_status emu_linear_forward(lc_dtype c, lc_tensor *y, const lc_tensor *x,
                                    const lc_tensor *w, const lc_tensor *b, lc_workspace *ws)
{
    lc_tensor hy, hx, hw, hb;
    lc_status st = emu_t_get(y, &hy);
    if (st == LC_OK)
        st = emu_t_get(x, &hx);
    if (st == LC_OK)
        st = emu_t_get(w, &hw);
    if (st == LC_OK)
        st = emu_t_get(b, &hb);
    if (st == LC_OK)
        st = EMU_CPU->linear_forward(c, &hy, &hx, &hw, b ? &hb : NULL, ws);
    if (st == LC_OK)
        st = emu_t_put(y, &hy);
    lc_tensor_free(&hy), lc_tensor_free(&hx), lc_tensor_free(&hw), lc_tensor_free(&hb);
    return st;
}

static lc_status emu_linear_backward(lc_dtype c, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                     const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                     lc_workspace *ws)
{
    lc_tensor hdx, hdw, hdb, hdy, hx, hw;
    lc_status st = emu_t_get(dx, &hdx);
    if (st == LC_OK)
        st = emu_t_get(dw, &hdw);
    if (st == LC_OK)
        st = emu_t_get(db, &hdb);
    if (st == LC_OK)
        st = emu_t_get(dy, &hdy);
    if (st == LC_OK)
        st = emu_t_get(x, &hx);
    if (st == LC_OK)
        st = emu_t_get(w, &hw);
    if (st == LC_OK)
        st = EMU_CPU->linear_backward(c, dx ? &hdx : NULL, dw ? &hdw : NULL, db ? &hdb : NULL,
                                      &hdy, &hx, &hw, ws);
    if (st == LC_OK)
        st = emu_t_put(dx, &hdx);
    if (st == LC_OK)
        st = emu_t_put(dw, &hdw);
    if (st == LC_OK)
        st = emu_t_put(db, &hdb);
    lc_tensor_free(&hdx), lc_tensor_free(&hdw), lc_tensor_free(&hdb);
    lc_tensor_free(&hdy), lc_tensor_free(&hx), lc_tensor_free(&hw);
    return st;
}

static lc_status emu_act_forward(lc_dtype c, lc_act_fn fn, lc_tensor *y, const lc_tensor *x)
{
    lc_tensor hy, hx;
    lc_status st = emu_t_get(y, &hy);
    if (st == LC_OK)
        st = emu_t_get(x, &hx);
    if (st == LC_OK)
        st = EMU_CPU->act_forward(c, fn, &hy, &hx);
    if (st == LC_OK)
        st = emu_t_put(y, &hy);
    lc_tensor_free(&hy), lc_tensor_free(&hx);
    return st;
}

static lc_status emu_act_backward(lc_dtype c, lc_act_fn fn, lc_tensor *dx, const lc_tensor *dy,
                                  const lc_tensor *x)
{
    lc_tensor hdx, hdy, hx;
    lc_status st = emu_t_get(dx, &hdx);
    if (st == LC_OK)
        st = emu_t_get(dy, &hdy);
    if (st == LC_OK)
        st = emu_t_get(x, &hx);
    if (st == LC_OK)
        st = EMU_CPU->act_backward(c, fn, &hdx, &hdy, &hx);
    if (st == LC_OK)
        st = emu_t_put(dx, &hdx);
    lc_tensor_free(&hdx), lc_tensor_free(&hdy), lc_tensor_free(&hx);
    return st;
}

static lc_status emu_dropout_forward(lc_dtype c, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                     float p, int training, lc_rng *rng)
{
    lc_tensor hy, hx;
    lc_status st = emu_t_get(y, &hy);
    if (st == LC_OK)
        st = emu_t_get(x, &hx);
    uint8_t *hm = st == LC_OK && mask ? emu_get(mask, x->numel, &st) : NULL;
    if (st == LC_OK)
        st = EMU_CPU->dropout_forward(c, &hy, hm, &hx, p, training, rng);
    if (st == LC_OK)
        st = emu_t_put(y, &hy);
    if (st == LC_OK && mask)
        st = emu_put(mask, hm, x->numel);
    free(hm);
    lc_tensor_free(&hy), lc_tensor_free(&hx);
    return st;
}

static lc_status emu_dropout_backward(lc_dtype c, lc_tensor *dx, const lc_tensor *dy,
                                      const uint8_t *mask, float p, int training)
{
    lc_tensor hdx, hdy;
    lc_status st = emu_t_get(dx, &hdx);
    if (st == LC_OK)
        st = emu_t_get(dy, &hdy);
    uint8_t *hm = st == LC_OK && mask ? emu_get(mask, dy->numel, &st) : NULL;
    if (st == LC_OK)
        st = EMU_CPU->dropout_backward(c, &hdx, &hdy, hm, p, training);
    if (st == LC_OK)
        st = emu_t_put(dx, &hdx);
    free(hm);
    lc_tensor_free(&hdx), lc_tensor_free(&hdy);
    return st;
}

static lc_status emu_xent_forward(lc_tensor *probs, double *loss, int64_t *correct,
                                  const lc_tensor *logits, const int32_t *labels)
{
    lc_tensor hp, hl;
    lc_status st = emu_t_get(probs, &hp);
    if (st == LC_OK)
        st = emu_t_get(logits, &hl);
    int32_t *hlab = st == LC_OK ? emu_get(labels, (size_t)lc_tensor_rows(logits) * 4, &st) : NULL;
    if (st == LC_OK)
        st = EMU_CPU->softmax_xent_forward(&hp, loss, correct, &hl, hlab);
    if (st == LC_OK)
        st = emu_t_put(probs, &hp);
    free(hlab);
    lc_tensor_free(&hp), lc_tensor_free(&hl);
    return st;
}

static lc_status emu_xent_backward(lc_tensor *dlogits, const lc_tensor *probs,
                                   const int32_t *labels, float dloss)
{
    lc_tensor hd, hp;
    lc_status st = emu_t_get(dlogits, &hd);
    if (st == LC_OK)
        st = emu_t_get(probs, &hp);
    int32_t *hlab = st == LC_OK ? emu_get(labels, (size_t)lc_tensor_rows(probs) * 4, &st) : NULL;
    if (st == LC_OK)
        st = EMU_CPU->softmax_xent_backward(&hd, &hp, hlab, dloss);
    if (st == LC_OK)
        st = emu_t_put(dlogits, &hd);
    free(hlab);
    lc_tensor_free(&hd), lc_tensor_free(&hp);
    return st;
}

/* ---- flat buffers -------------------------------------------------------------- */

/* Host twins of count device buffers (free with emu_list_free). */
static float **emu_list_get(const float *const *bufs, const size_t *lens, size_t count,
                            lc_status *st)
{
    float **h = calloc(count ? count : 1, sizeof *h);
    for (size_t k = 0; k < count && *st == LC_OK; k++)
        h[k] = emu_get(bufs[k], lens[k] * sizeof(float), st);
    return h;
}

static lc_status emu_list_put(float *const *bufs, float **h, const size_t *lens, size_t count)
{
    lc_status st = LC_OK;
    for (size_t k = 0; k < count && st == LC_OK; k++)
        st = emu_put(bufs[k], h[k], lens[k] * sizeof(float));
    return st;
}

static void emu_list_free(float **h, size_t count)
{
    for (size_t k = 0; k < count; k++)
        free(h[k]);
    free(h);
}

static lc_status emu_zero(float *x, size_t n)
{
    float *z = calloc(n ? n : 1, sizeof *z);
    lc_status st = emu_put(x, z, n * sizeof *z);
    free(z);
    return st;
}

static lc_status emu_round(lc_dtype fmt, float *x, size_t n)
{
    lc_status st = LC_OK;
    float *h = emu_get(x, n * sizeof *h, &st);
    if (st == LC_OK)
        st = EMU_CPU->round(fmt, h, n);
    if (st == LC_OK)
        st = emu_put(x, h, n * sizeof *h);
    free(h);
    return st;
}

static lc_status emu_l2norm(const float *const *bufs, const size_t *lens, size_t count,
                            double *out)
{
    lc_status st = LC_OK;
    float **h = emu_list_get(bufs, lens, count, &st);
    if (st == LC_OK)
        st = EMU_CPU->l2norm_multi((const float *const *)h, lens, count, out);
    emu_list_free(h, count);
    return st;
}

static lc_status emu_clip_norm(float *const *grads, const size_t *lens, size_t count,
                               double max_norm, double *total)
{
    lc_status st = LC_OK;
    float **h = emu_list_get((const float *const *)grads, lens, count, &st);
    if (st == LC_OK)
        st = EMU_CPU->clip_grad_norm(h, lens, count, max_norm, total);
    if (st == LC_OK)
        st = emu_list_put(grads, h, lens, count);
    emu_list_free(h, count);
    return st;
}

static lc_status emu_clip_value(float *const *grads, const size_t *lens, size_t count, double v)
{
    lc_status st = LC_OK;
    float **h = emu_list_get((const float *const *)grads, lens, count, &st);
    if (st == LC_OK)
        st = EMU_CPU->clip_grad_value(h, lens, count, v);
    if (st == LC_OK)
        st = emu_list_put(grads, h, lens, count);
    emu_list_free(h, count);
    return st;
}

static lc_status emu_unscale(float *const *grads, const size_t *lens, size_t count, float inv,
                             int *found_inf)
{
    lc_status st = LC_OK;
    float **h = emu_list_get((const float *const *)grads, lens, count, &st);
    if (st == LC_OK)
        st = EMU_CPU->unscale_inf_check(h, lens, count, inv, found_inf);
    if (st == LC_OK)
        st = emu_list_put(grads, h, lens, count);
    emu_list_free(h, count);
    return st;
}

/* An optimizer step: param and up to two state buffers change, grad is read. */
static lc_status emu_opt(int kind, float *param, const float *grad, float *s1, float *s2, size_t n,
                         const void *hp, int64_t step)
{
    lc_status st = LC_OK;
    size_t bytes = n * sizeof(float);
    float *hparam = emu_get(param, bytes, &st);
    float *hgrad = st == LC_OK ? emu_get(grad, bytes, &st) : NULL;
    float *h1 = st == LC_OK && s1 ? emu_get(s1, bytes, &st) : NULL;
    float *h2 = st == LC_OK && s2 ? emu_get(s2, bytes, &st) : NULL;
    if (st == LC_OK)
        st = kind == 0   ? EMU_CPU->sgd_step(hparam, hgrad, h1, n, hp, step)
             : kind == 1 ? EMU_CPU->adam_step(hparam, hgrad, h1, h2, n, hp, step)
                         : EMU_CPU->adamw_step(hparam, hgrad, h1, h2, n, hp, step);
    if (st == LC_OK)
        st = emu_put(param, hparam, bytes);
    if (st == LC_OK && s1)
        st = emu_put(s1, h1, bytes);
    if (st == LC_OK && s2)
        st = emu_put(s2, h2, bytes);
    free(hparam), free(hgrad), free(h1), free(h2);
    return st;
}

static lc_status emu_sgd(float *param, const float *grad, float *buf, size_t n,
                         const lc_sgd_hparams *hp, int64_t step)
{
    return emu_opt(0, param, grad, buf, NULL, n, hp, step);
}

static lc_status emu_adam(float *param, const float *grad, float *m, float *v, size_t n,
                          const lc_adam_hparams *hp, int64_t step)
{
    return emu_opt(1, param, grad, m, v, n, hp, step);
}

static lc_status emu_adamw(float *param, const float *grad, float *m, float *v, size_t n,
                           const lc_adam_hparams *hp, int64_t step)
{
    return emu_opt(2, param, grad, m, v, n, hp, step);
}

static lc_status emu_stats(lc_backend_stats *out)
{
    lc_status st = EMU_CPU->stats(out); /* the GEMM counter: the CPU ops ran them */
    out->has_memory = 1;
    out->mem_in_use = emu.live;
    out->mem_peak = emu.peak;
    out->mem_reserved = emu.live;
    out->mem_total = (uint64_t)1 << 30;
    return st;
}

static const lc_backend emu_backend = {
    .name = "emu-cuda",
    .device = LC_DEVICE_CUDA,
    .init = emu_init,
    .release = emu_release,
    .sync = emu_sync,
    .alloc = emu_alloc,
    .free = emu_free_tensor,
    .copy = emu_copy,
    .cast = emu_cast,
    .workspace_create = emu_workspace_create,
    .workspace_free = emu_workspace_free,
    .mem_alloc = emu_mem_alloc,
    .mem_free = emu_mem_free,
    .upload = emu_upload,
    .download = emu_download,
    .mem_copy = emu_mem_copy,
    .data_create = emu_data_create,
    .data_free = emu_data_free,
    .data_set_order = emu_data_set_order,
    .data_gather = emu_data_gather,
    .linear_forward = emu_linear_forward,
    .linear_backward = emu_linear_backward,
    .act_forward = emu_act_forward,
    .act_backward = emu_act_backward,
    .dropout_forward = emu_dropout_forward,
    .dropout_backward = emu_dropout_backward,
    .softmax_xent_forward = emu_xent_forward,
    .softmax_xent_backward = emu_xent_backward,
    .zero = emu_zero,
    .round = emu_round,
    .l2norm_multi = emu_l2norm,
    .clip_grad_norm = emu_clip_norm,
    .clip_grad_value = emu_clip_value,
    .unscale_inf_check = emu_unscale,
    .sgd_step = emu_sgd,
    .adam_step = emu_adam,
    .adamw_step = emu_adamw,
    .stats = emu_stats,
    .timer_create = NULL, /* set by emu_register (the CPU's) */
};

/* Register the emulator as the CUDA backend (a copy with the CPU's timers). */
static inline const lc_backend *emu_register(void)
{
    static lc_backend be;
    be = emu_backend;
    const lc_backend *cpu = lc_backend_cpu();
    be.timer_create = cpu->timer_create;
    be.timer_free = cpu->timer_free;
    be.timer_start = cpu->timer_start;
    be.timer_stop = cpu->timer_stop;
    be.timer_poll = cpu->timer_poll;
    if (lc_backend_register(&be) != LC_OK)
        return NULL;
    return &be;
}

static inline void emu_unregister(void)
{
    lc_backend_unregister(LC_DEVICE_CUDA);
}

#endif
