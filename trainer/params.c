/*
 * trainer/params.c — the parameter registry (params.h): a growable array
 * of named parameter views, plus the gradient arrays the clipping kernels
 * take, kept up to date on every add so a training step allocates nothing.
 */
#include "params.h"

#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "optim_kernels.h"
#include "reduce.h"

void lc_params_init(lc_params *p)
{
    memset(p, 0, sizeof *p);
}

void lc_params_free(lc_params *p)
{
    if (!p)
        return;
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

void lc_params_zero_grad(lc_params *p)
{
    const lc_backend *be = lc_params_backend(p);
    for (size_t i = 0; p && i < p->n_grads; i++)
        be->zero(p->grad_ptrs[i], p->grad_lens[i]);
}

double lc_params_grad_norm(const lc_params *p)
{
    if (!p || p->n_grads == 0)
        return 0.0;
    return lc_params_backend(p)->l2norm_multi((const float *const *)p->grad_ptrs, p->grad_lens,
                                              p->n_grads);
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
