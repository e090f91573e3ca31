/*
 * trainer/params.c — the parameter registry (params.h): a growable array
 * of named parameter views, plus the gradient arrays the clipping kernels
 * take, kept up to date on every add (and every move between devices) so a
 * training step allocates nothing.
 */
#include "params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "optim_kernels.h"
#include "reduce.h"

void lc_params_init(lc_params *p)
{
    memset(p, 0, sizeof *p);
}

/* Free the device copies of entries [0, n) and point them back at the
 * owner's host buffers (no copy). */
static void params_drop_device(lc_params *p, size_t n, const lc_backend *be)
{
    for (size_t i = 0; i < n; i++) {
        lc_param *e = &p->items[i];
        be->mem_free(e->data);
        be->mem_free(e->grad);
        e->data = e->host_data;
        e->grad = e->host_grad;
        e->host_data = e->host_grad = NULL;
    }
}

static void params_refresh_grads(lc_params *p)
{
    p->n_grads = 0;
    for (size_t i = 0; i < p->len; i++) {
        if (p->items[i].grad) {
            p->grad_ptrs[p->n_grads] = p->items[i].grad;
            p->grad_lens[p->n_grads] = p->items[i].count;
            p->n_grads++;
        }
    }
}

static int params_on_device(const lc_params *p)
{
    return p && p->backend && p->backend->device != LC_DEVICE_HOST;
}

void lc_params_free(lc_params *p)
{
    if (!p)
        return;
    if (params_on_device(p)) {
        /* the owner is going away: the device copies just go */
        params_drop_device(p, p->len, p->backend);
        p->backend->release();
    }
    for (size_t i = 0; i < p->len; i++)
        free(p->items[i].name);
    free(p->items);
    free(p->grad_ptrs);
    free(p->grad_lens);
    memset(p, 0, sizeof *p);
}

/* Names go into checkpoints, TensorBoard tags and SQLite keys: keep them to
 * printable ASCII without blanks. */
static lc_status params_check_name(const lc_params *p, const char *name)
{
    if (!name || !name[0])
        return lc_fail(LC_ERR_INVALID, "params: a parameter needs a non-empty name");
    size_t n = strlen(name);
    if (n > LC_PARAM_NAME_MAX)
        return lc_fail(LC_ERR_INVALID, "params: name '%.40s...' is %zu bytes (at most %d)",
                       name, n, LC_PARAM_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c >= 127)
            return lc_fail(LC_ERR_INVALID,
                           "params: name '%s' has a blank or non-ASCII character at byte %zu "
                           "(use names like 'layer1.weight')", name, i);
    }
    if (lc_params_find(p, name))
        return lc_fail(LC_ERR_INVALID, "params: a parameter named '%s' is already registered", name);
    return LC_OK;
}

static lc_status params_grow(lc_params *p)
{
    if (p->len < p->cap)
        return LC_OK;
    size_t cap = p->cap ? 2 * p->cap : 16;
    lc_param *items = realloc(p->items, cap * sizeof *items);
    if (!items)
        return lc_fail(LC_ERR_NOMEM, "params: out of memory growing the registry");
    p->items = items;
    float **ptrs = realloc(p->grad_ptrs, cap * sizeof *ptrs);
    if (!ptrs)
        return lc_fail(LC_ERR_NOMEM, "params: out of memory growing the registry");
    p->grad_ptrs = ptrs;
    size_t *lens = realloc(p->grad_lens, cap * sizeof *lens);
    if (!lens)
        return lc_fail(LC_ERR_NOMEM, "params: out of memory growing the registry");
    p->grad_lens = lens;
    p->cap = cap;
    return LC_OK;
}

lc_status lc_params_add(lc_params *p, const char *name, float *data, float *grad,
                        int ndim, const int64_t *shape)
{
    if (!p)
        return lc_fail(LC_ERR_INVALID, "params: registry is NULL");
    if (params_on_device(p))
        return lc_fail(LC_ERR_STATE, "params: '%s' added while the registry is on %s; register "
                       "every parameter before moving it", name ? name : "(null)",
                       p->backend->name);
    lc_status st = params_check_name(p, name);
    if (st != LC_OK)
        return st;
    if (!data)
        return lc_fail(LC_ERR_INVALID, "params: '%s' has no data buffer", name);
    if (ndim < 1 || ndim > LC_PARAM_MAX_DIMS || !shape)
        return lc_fail(LC_ERR_INVALID, "params: '%s' needs 1 to %d dimensions (got %d%s)",
                       name, LC_PARAM_MAX_DIMS, ndim, shape ? "" : ", shape NULL");
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1)
            return lc_fail(LC_ERR_INVALID, "params: '%s' dimension %d is %lld (must be >= 1)",
                           name, d, (long long)shape[d]);
        if ((uint64_t)shape[d] > SIZE_MAX / sizeof(float) / count)
            return lc_fail(LC_ERR_INVALID, "params: '%s' is too large", name);
        count *= (size_t)shape[d];
    }
    if ((st = params_grow(p)) != LC_OK)
        return st;

    lc_param *e = &p->items[p->len];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name)
        return lc_fail(LC_ERR_NOMEM, "params: out of memory");
    e->data = data;
    e->grad = grad;
    e->count = count;
    e->ndim = ndim;
    for (int d = 0; d < LC_PARAM_MAX_DIMS; d++)
        e->shape[d] = d < ndim ? shape[d] : 1;
    if (grad) {
        p->grad_ptrs[p->n_grads] = grad;
        p->grad_lens[p->n_grads] = count;
        p->n_grads++;
    }
    p->len++;
    p->numel += count;
    return LC_OK;
}

lc_status lc_params_add_tensor(lc_params *p, const char *name, lc_tensor *data, lc_tensor *grad)
{
    if (!data || !data->data)
        return lc_fail(LC_ERR_INVALID, "params: '%s' has no data tensor", name ? name : "(null)");
    if (grad && (!grad->data || grad->numel != data->numel))
        return lc_fail(LC_ERR_INVALID,
                       "params: '%s' gradient has %zu elements but the parameter has %zu",
                       name ? name : "(null)", grad->data ? grad->numel : 0, data->numel);
    return lc_params_add(p, name, data->data, grad ? grad->data : NULL, data->ndim, data->shape);
}

lc_param *lc_params_find(const lc_params *p, const char *name)
{
    if (!p || !name)
        return NULL;
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

size_t lc_params_numel(const lc_params *p)
{
    return p ? p->numel : 0;
}

size_t lc_params_numel_trainable(const lc_params *p)
{
    size_t n = 0;
    for (size_t i = 0; p && i < p->n_grads; i++)
        n += p->grad_lens[i];
    return n;
}

const lc_backend *lc_params_backend(const lc_params *p)
{
    return p && p->backend ? p->backend : lc_backend_cpu();
}

lc_status lc_params_zero_grad(lc_params *p)
{
    const lc_backend *be = lc_params_backend(p);
    lc_status st = LC_OK;
    for (size_t i = 0; p && i < p->n_grads && st == LC_OK; i++)
        st = be->zero(p->grad_ptrs[i], p->grad_lens[i]);
    return st;
}

double lc_params_grad_norm(const lc_params *p)
{
    if (!p || p->n_grads == 0)
        return 0.0;
    double n = 0.0;
    if (lc_params_backend(p)->l2norm_multi((const float *const *)p->grad_ptrs, p->grad_lens,
                                           p->n_grads, &n) != LC_OK)
        return NAN;
    return n;
}

lc_status lc_params_clip_grad_norm(lc_params *p, double max_norm, double *total_norm)
{
    if (!p)
        return lc_fail(LC_ERR_INVALID, "params: registry is NULL");
    return lc_params_backend(p)->clip_grad_norm(p->grad_ptrs, p->grad_lens, p->n_grads, max_norm,
                                                total_norm);
}

lc_status lc_params_clip_grad_value(lc_params *p, double clip_value)
{
    if (!p)
        return lc_fail(LC_ERR_INVALID, "params: registry is NULL");
    return lc_params_backend(p)->clip_grad_value(p->grad_ptrs, p->grad_lens, p->n_grads,
                                                 clip_value);
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */

/* Device -> the owner's host buffers, for entries [0, p->len). */
static lc_status params_download(lc_params *p)
{
    const lc_backend *be = p->backend;
    lc_status st = LC_OK;
    for (size_t i = 0; i < p->len && st == LC_OK; i++) {
        lc_param *e = &p->items[i];
        st = be->download(e->host_data, e->data, e->count * sizeof(float));
        if (st == LC_OK && e->grad)
            st = be->download(e->host_grad, e->grad, e->count * sizeof(float));
    }
    return st;
}

lc_status lc_params_to(lc_params *p, const lc_backend *be)
{
    if (!p)
        return lc_fail(LC_ERR_INVALID, "params: registry is NULL");
    if (!be)
        be = lc_backend_cpu();
    if (be->base)
        be = be->base; /* a wrapper: the parameters stay with its base */
    const lc_backend *cur = lc_params_backend(p);
    if (cur == be)
        return LC_OK;
    if (cur->device == LC_DEVICE_HOST && be->device == LC_DEVICE_HOST) {
        p->backend = be == lc_backend_cpu() ? NULL : be; /* the same memory */
        return LC_OK;
    }
    if (!p->movable && p->len > 0)
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "params: the parameters cannot move to %s: their owner reads its host "
                       "buffers directly (the registry is not movable); build the model from "
                       "lc_seq layers, or keep it on the cpu", be->name);
    lc_status st;
    if (cur->device != LC_DEVICE_HOST) {
        /* device -> host (then on to another device if asked) */
        st = params_download(p);
        if (st != LC_OK)
            return st;
        params_drop_device(p, p->len, cur);
        p->backend = NULL;
        params_refresh_grads(p);
        cur->release();
        if (be->device == LC_DEVICE_HOST) {
            p->backend = be == lc_backend_cpu() ? NULL : be;
            return LC_OK;
        }
    }
    /* host -> device */
    st = be->init(-1);
    if (st != LC_OK)
        return st;
    size_t done = 0;
    for (; done < p->len && st == LC_OK; done++) {
        lc_param *e = &p->items[done];
        float *d = NULL, *gd = NULL;
        size_t bytes = e->count * sizeof(float);
        st = be->mem_alloc((void **)&d, bytes);
        if (st == LC_OK)
            st = be->upload(d, e->data, bytes);
        if (st == LC_OK && e->grad)
            st = be->mem_alloc((void **)&gd, bytes);
        if (st == LC_OK && e->grad)
            st = be->upload(gd, e->grad, bytes);
        if (st != LC_OK) {
            be->mem_free(d);
            be->mem_free(gd);
            break;
        }
        e->host_data = e->data;
        e->host_grad = e->grad;
        e->data = d;
        e->grad = gd;
    }
    if (st != LC_OK) {
        params_drop_device(p, done, be);
        be->release();
        return st;
    }
    p->backend = be;
    params_refresh_grads(p);
    return LC_OK;
}

lc_status lc_params_sync_host(lc_params *p)
{
    return params_on_device(p) ? params_download(p) : LC_OK;
}

lc_status lc_params_read(const lc_params *p, size_t i, int grad, float *dst)
{
    if (!p || i >= p->len || !dst || (grad && !p->items[i].grad))
        return lc_fail(LC_ERR_INVALID, "params: read of entry %zu%s: no such buffer", i,
                       grad ? " (gradient)" : "");
    const lc_param *e = &p->items[i];
    const float *src = grad ? e->grad : e->data;
    size_t bytes = e->count * sizeof(float);
    if (!params_on_device(p)) {
        memcpy(dst, src, bytes);
        return LC_OK;
    }
    return p->backend->download(dst, src, bytes);
}

lc_status lc_params_write(lc_params *p, size_t i, const float *src)
{
    if (!p || i >= p->len || !src)
        return lc_fail(LC_ERR_INVALID, "params: write of entry %zu: no such entry", i);
    lc_param *e = &p->items[i];
    size_t bytes = e->count * sizeof(float);
    if (!params_on_device(p)) {
        if (e->data != src)
            memmove(e->data, src, bytes);
        return LC_OK;
    }
    return p->backend->upload(e->data, src, bytes);
}
