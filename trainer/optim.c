/*
 * trainer/optim.c — SGD / Adam / AdamW objects over the parameter registry
 * (optim.h): configuration and defaults, the state buffers in one block,
 * step() through kernels/optim_kernels.h, and the checkpoint blob.
 */
#include "optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/status.h"
#include "optim_kernels.h"

#define OPTIM_MAGIC "LCOPTIM1"
#define OPTIM_BOM 0x01020304u

struct lc_optim {
    lc_optim_config cfg;
    lc_params *params;
    const lc_backend *be; /* whose memory the state is: the registry's at creation */
    int holds_ref;        /* be->init was taken for the state (a device) */
    size_t params_len;   /* registry length at creation (it must not grow) */
    double initial_lr;
    int64_t step;        /* completed steps */
    size_t per_param;    /* state buffers per trainable parameter: 0, 1 or 2 */
    float *block;        /* all state buffers, zeroed at creation */
    size_t nbuf;         /* per_param * trainable parameters */
    float **buf_data;    /* nbuf pointers into block */
    size_t *buf_param;   /* nbuf registry indices */
    size_t *buf_state;   /* nbuf indices into the state-name table */
};

static const char *const optim_names[] = {"SGD", "Adam", "AdamW"};
static const char *const optim_state_names[] = {"momentum_buffer", "exp_avg", "exp_avg_sq"};

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

void lc_optim_config_default(lc_optim_config *cfg, lc_optim_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->lr = 1e-3;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->weight_decay = kind == LC_OPTIM_ADAMW ? 1e-2 : 0.0;
}

lc_status lc_optim_kind_parse(const char *name, lc_optim_kind *out)
{
    for (int k = 0; k < 3; k++) {
        if (name && strcasecmp(name, optim_names[k]) == 0) {
            *out = (lc_optim_kind)k;
            return LC_OK;
        }
    }
    return lc_fail(LC_ERR_INVALID, "optimizer '%s' is unknown (use SGD, Adam or AdamW)",
                   name ? name : "(null)");
}

static void optim_sgd_hp(const lc_optim_config *c, lc_sgd_hparams *hp)
{
    hp->lr = c->lr;
    hp->momentum = c->momentum;
    hp->dampening = c->dampening;
    hp->weight_decay = c->weight_decay;
    hp->nesterov = c->nesterov;
}

static void optim_adam_hp(const lc_optim_config *c, lc_adam_hparams *hp)
{
    hp->lr = c->lr;
    hp->beta1 = c->beta1;
    hp->beta2 = c->beta2;
    hp->eps = c->eps;
    hp->weight_decay = c->weight_decay;
}

static lc_status optim_check_config(const lc_optim_config *c)
{
    if (!c)
        return lc_fail(LC_ERR_INVALID, "optimizer: configuration is NULL");
    if (c->kind == LC_OPTIM_SGD) {
        lc_sgd_hparams hp;
        optim_sgd_hp(c, &hp);
        return lc_sgd_check(&hp);
    }
    if (c->kind == LC_OPTIM_ADAM || c->kind == LC_OPTIM_ADAMW) {
        lc_adam_hparams hp;
        optim_adam_hp(c, &hp);
        return lc_adam_check(&hp);
    }
    return lc_fail(LC_ERR_INVALID, "optimizer: unknown kind %d (use LC_OPTIM_SGD, _ADAM, _ADAMW)",
                   (int)c->kind);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

lc_status lc_optim_create(lc_optim **out, lc_params *params, const lc_optim_config *cfg)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "optimizer: out is NULL");
    *out = NULL;
    if (!params)
        return lc_fail(LC_ERR_INVALID, "optimizer: parameter registry is NULL");
    lc_status st = optim_check_config(cfg);
    if (st != LC_OK)
        return st;

    lc_optim *o = calloc(1, sizeof *o);
    if (!o)
        return lc_fail(LC_ERR_NOMEM, "optimizer: out of memory");
    o->cfg = *cfg;
    o->params = params;
    o->params_len = params->len;
    o->initial_lr = cfg->lr;
    /* SGD without momentum keeps no state, like PyTorch (momentum_buffer None). */
    o->per_param = cfg->kind == LC_OPTIM_SGD ? (cfg->momentum != 0.0 ? 1 : 0) : 2;

    size_t trainable = 0, floats = 0;
    for (size_t i = 0; i < params->len; i++) {
        if (params->items[i].grad) {
            trainable++;
            floats += params->items[i].count;
        }
    }
    o->nbuf = o->per_param * trainable;
    o->be = lc_params_backend(params);
    if (o->nbuf) {
        /* the state lives where the parameters do (zeroed there) */
        if (o->be->device != LC_DEVICE_HOST) {
            st = o->be->init(-1);
            if (st != LC_OK) {
                lc_optim_free(o);
                return st;
            }
            o->holds_ref = 1;
            st = o->be->mem_alloc((void **)&o->block, floats * o->per_param * sizeof(float));
        } else {
            /* zeroed by writing, not calloc: a large calloc is an mmap whose
               pages the first optimizer step would fault in, read first
               (the shared zero page) and then copied on write, each copy
               flushing the other cores' TLBs while the pool's threads run
               (~1,000 IPIs for the default MLP's 4.3 MB of AdamW state) */
            size_t bytes = floats * o->per_param * sizeof(float);
            o->block = malloc(bytes ? bytes : 1);
            if (o->block)
                memset(o->block, 0, bytes);
        }
        o->buf_data = calloc(o->nbuf, sizeof *o->buf_data);
        o->buf_param = calloc(o->nbuf, sizeof *o->buf_param);
        o->buf_state = calloc(o->nbuf, sizeof *o->buf_state);
        if (st != LC_OK || !o->block || !o->buf_data || !o->buf_param || !o->buf_state) {
            size_t want = floats * o->per_param;
            lc_optim_free(o);
            return st != LC_OK ? st
                               : lc_fail(LC_ERR_NOMEM,
                                         "optimizer: out of memory for the state of %zu values",
                                         want);
        }
        float *at = o->block;
        size_t b = 0;
        for (size_t i = 0; i < params->len; i++) {
            if (!params->items[i].grad)
                continue;
            for (size_t k = 0; k < o->per_param; k++, b++) {
                o->buf_data[b] = at;
                o->buf_param[b] = i;
                o->buf_state[b] = cfg->kind == LC_OPTIM_SGD ? 0 : 1 + k;
                at += params->items[i].count;
            }
        }
    }
    *out = o;
    return LC_OK;
}

void lc_optim_free(lc_optim *opt)
{
    if (!opt)
        return;
    if (opt->holds_ref) {
        opt->be->mem_free(opt->block);
        opt->be->release();
    } else {
        free(opt->block);
    }
    free(opt->buf_data);
    free(opt->buf_param);
    free(opt->buf_state);
    free(opt);
}

const char *lc_optim_name(const lc_optim *opt)
{
    return opt ? optim_names[opt->cfg.kind] : "";
}

const lc_optim_config *lc_optim_config_get(const lc_optim *opt)
{
    return &opt->cfg;
}

double lc_optim_lr(const lc_optim *opt)
{
    return opt->cfg.lr;
}

lc_status lc_optim_set_lr(lc_optim *opt, double lr)
{
    if (!opt)
        return lc_fail(LC_ERR_INVALID, "optimizer: NULL");
    if (!(lr >= 0.0) || !isfinite(lr))
        return lc_fail(LC_ERR_INVALID, "%s: learning rate %g is invalid (must be finite, >= 0)",
                       lc_optim_name(opt), lr);
    opt->cfg.lr = lr;
    return LC_OK;
}

double lc_optim_initial_lr(const lc_optim *opt)
{
    return opt->initial_lr;
}

int64_t lc_optim_step_count(const lc_optim *opt)
{
    return opt->step;
}

lc_status lc_optim_set_step_count(lc_optim *opt, int64_t step)
{
    if (!opt || step < 0)
        return lc_fail(LC_ERR_INVALID, "optimizer: step count %lld must be >= 0", (long long)step);
    opt->step = step;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Step                                                                      */

lc_status lc_optim_step(lc_optim *opt)
{
    if (!opt)
        return lc_fail(LC_ERR_INVALID, "optimizer: NULL");
    const lc_params *ps = opt->params;
    if (ps->len != opt->params_len)
        return lc_fail(LC_ERR_STATE,
                       "%s: the parameter registry changed after the optimizer was created "
                       "(%zu parameters, was %zu); register every parameter first",
                       lc_optim_name(opt), ps->len, opt->params_len);
    const int64_t t = opt->step + 1;
    lc_sgd_hparams sgd;
    lc_adam_hparams adam;
    optim_sgd_hp(&opt->cfg, &sgd);
    optim_adam_hp(&opt->cfg, &adam);

    const lc_backend *be = lc_params_backend(ps);
    if (be != opt->be)
        return lc_fail(LC_ERR_STATE,
                       "%s: the parameters moved from %s to %s after the optimizer was created; "
                       "its state is on %s (create the optimizer after moving them)",
                       lc_optim_name(opt), opt->be->name, be->name, opt->be->name);
    size_t b = 0;
    for (size_t i = 0; i < ps->len; i++) {
        const lc_param *p = &ps->items[i];
        if (!p->grad)
            continue;
        lc_status st;
        switch (opt->cfg.kind) {
        case LC_OPTIM_SGD:
            st = be->sgd_step(p->data, p->grad, opt->per_param ? opt->buf_data[b] : NULL, p->count,
                              &sgd, t);
            break;
        case LC_OPTIM_ADAM:
            st = be->adam_step(p->data, p->grad, opt->buf_data[b], opt->buf_data[b + 1], p->count,
                               &adam, t);
            break;
        default:
            st = be->adamw_step(p->data, p->grad, opt->buf_data[b], opt->buf_data[b + 1],
                                p->count, &adam, t);
            break;
        }
        /* The hyperparameters were checked at creation and by set_lr, so a
         * failure here can only be the first parameter's: nothing moved. */
        if (st != LC_OK)
            return st;
        b += opt->per_param;
    }
    opt->step = t;
    return LC_OK;
}

lc_status lc_optim_zero_grad(lc_optim *opt)
{
    return opt ? lc_params_zero_grad(opt->params) : LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint: enumeration                                                   */

size_t lc_optim_state_nbuf(const lc_optim *opt)
{
    return opt ? opt->nbuf : 0;
}

lc_status lc_optim_state_buf(const lc_optim *opt, size_t i, lc_optim_buf *out)
{
    if (!opt || !out || i >= opt->nbuf)
        return lc_fail(LC_ERR_INVALID, "optimizer: state buffer %zu does not exist (%zu buffers)",
                       i, opt ? opt->nbuf : 0);
    const lc_param *p = &opt->params->items[opt->buf_param[i]];
    out->param = p->name;
    out->state = optim_state_names[opt->buf_state[i]];
    out->data = opt->buf_data[i];
    out->count = p->count;
    snprintf(out->name, sizeof out->name, "%s.%s", out->param, out->state);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint: blob                                                          */

typedef struct optim_cursor {
    unsigned char *w;       /* writing */
    const unsigned char *r; /* reading */
    size_t pos, len;
} optim_cursor;

static void put(optim_cursor *c, const void *src, size_t n)
{
    memcpy(c->w + c->pos, src, n);
    c->pos += n;
}

static int get(optim_cursor *c, void *dst, size_t n)
{
    if (c->len - c->pos < n)
        return 0;
    if (dst)
        memcpy(dst, c->r + c->pos, n);
    c->pos += n;
    return 1;
}

/* Header: magic, bom, kind, step, lr, initial_lr, 6 doubles, nesterov, nbuf. */
#define OPTIM_HEADER_SIZE (8 + 4 + 4 + 8 + 8 + 8 + 6 * 8 + 4 + 4)

size_t lc_optim_state_size(const lc_optim *opt)
{
    size_t n = OPTIM_HEADER_SIZE;
    for (size_t i = 0; opt && i < opt->nbuf; i++) {
        const lc_param *p = &opt->params->items[opt->buf_param[i]];
        n += 4 + strlen(p->name) + 8 + p->count * sizeof(float);
    }
    return n;
}

lc_status lc_optim_state_save(const lc_optim *opt, void *buf, size_t cap)
{
    if (!opt || !buf)
        return lc_fail(LC_ERR_INVALID, "optimizer state: optimizer and buffer are required");
    size_t need = lc_optim_state_size(opt);
    if (cap < need)
        return lc_fail(LC_ERR_INVALID, "optimizer state: buffer of %zu bytes, %zu needed", cap, need);
    optim_cursor c = {.w = buf};
    const lc_optim_config *k = &opt->cfg;
    uint32_t bom = OPTIM_BOM, kind = (uint32_t)k->kind, nest = (uint32_t)(k->nesterov != 0);
    uint32_t nbuf = (uint32_t)opt->nbuf;
    double hp[6] = {k->momentum, k->dampening, k->weight_decay, k->beta1, k->beta2, k->eps};
    put(&c, OPTIM_MAGIC, 8);
    put(&c, &bom, 4);
    put(&c, &kind, 4);
    put(&c, &opt->step, 8);
    put(&c, &k->lr, 8);
    put(&c, &opt->initial_lr, 8);
    put(&c, hp, sizeof hp);
    put(&c, &nest, 4);
    put(&c, &nbuf, 4);
    for (size_t i = 0; i < opt->nbuf; i++) {
        const lc_param *p = &opt->params->items[opt->buf_param[i]];
        uint32_t nl = (uint32_t)strlen(p->name);
        uint64_t count = p->count;
        put(&c, &nl, 4);
        put(&c, p->name, nl);
        put(&c, &count, 8);
        if (opt->holds_ref) { /* device state: download into the blob */
            lc_status st = opt->be->download(c.w + c.pos, opt->buf_data[i],
                                             p->count * sizeof(float));
            if (st != LC_OK)
                return st;
            c.pos += p->count * sizeof(float);
        } else {
            put(&c, opt->buf_data[i], p->count * sizeof(float));
        }
    }
    return LC_OK;
}

/* Walk the blob; with apply == 0 only validate, with apply == 1 copy the
 * buffers in (after a successful validation pass). */
static lc_status optim_parse(lc_optim *opt, const void *buf, size_t len, int apply,
                             lc_optim_config *cfg, int64_t *step, double *initial_lr)
{
    optim_cursor c = {.r = buf, .len = len};
    char magic[8];
    uint32_t bom, kind, nest, nbuf;
    double hp[6];
    if (!get(&c, magic, 8) || memcmp(magic, OPTIM_MAGIC, 8) != 0)
        return lc_fail(LC_ERR_INVALID, "optimizer state: not an optimizer state blob "
                       "(bad magic; expected \"%s\")", OPTIM_MAGIC);
    if (!get(&c, &bom, 4) || bom != OPTIM_BOM)
        return lc_fail(LC_ERR_INVALID, "optimizer state: written on a machine with another byte "
                       "order; it cannot be loaded here");
    if (!get(&c, &kind, 4) || !get(&c, step, 8) || !get(&c, &cfg->lr, 8) ||
        !get(&c, initial_lr, 8) || !get(&c, hp, sizeof hp) || !get(&c, &nest, 4) ||
        !get(&c, &nbuf, 4))
        return lc_fail(LC_ERR_INVALID, "optimizer state: truncated header (%zu bytes)", len);
    if (kind != (uint32_t)opt->cfg.kind)
        return lc_fail(LC_ERR_INVALID, "optimizer state: saved by %s but this optimizer is %s",
                       kind < 3 ? optim_names[kind] : "an unknown optimizer", lc_optim_name(opt));
    cfg->kind = opt->cfg.kind;
    cfg->momentum = hp[0];
    cfg->dampening = hp[1];
    cfg->weight_decay = hp[2];
    cfg->beta1 = hp[3];
    cfg->beta2 = hp[4];
    cfg->eps = hp[5];
    cfg->nesterov = (int)nest;
    if (optim_check_config(cfg) != LC_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", lc_errmsg()); /* lc_fail rewrites that buffer */
        return lc_fail(LC_ERR_INVALID, "optimizer state: saved hyperparameters are invalid (%s)",
                       why);
    }
    if (*step < 0 || !(*initial_lr >= 0.0))
        return lc_fail(LC_ERR_INVALID, "optimizer state: corrupt step count or initial lr");
    if (nbuf != opt->nbuf)
        return lc_fail(LC_ERR_INVALID,
                       "optimizer state: %u state buffers saved but this %s has %zu "
                       "(different model, or momentum on in one and off in the other)",
                       nbuf, lc_optim_name(opt), opt->nbuf);
    for (size_t i = 0; i < opt->nbuf; i++) {
        const lc_param *p = &opt->params->items[opt->buf_param[i]];
        uint32_t nl;
        uint64_t count;
        if (!get(&c, &nl, 4) || nl > LC_PARAM_NAME_MAX || c.len - c.pos < nl)
            return lc_fail(LC_ERR_INVALID, "optimizer state: truncated or corrupt at buffer %zu", i);
        const char *name = (const char *)c.r + c.pos;
        c.pos += nl;
        if (nl != strlen(p->name) || memcmp(name, p->name, nl) != 0)
            return lc_fail(LC_ERR_INVALID,
                           "optimizer state: buffer %zu belongs to parameter '%.*s' but the "
                           "model's is '%s' (checkpoint of a different model?)",
                           i, (int)nl, name, p->name);
        if (!get(&c, &count, 8))
            return lc_fail(LC_ERR_INVALID, "optimizer state: truncated at '%s'", p->name);
        if (count != p->count)
            return lc_fail(LC_ERR_INVALID,
                           "optimizer state: '%s' has %llu values saved but %zu in the model",
                           p->name, (unsigned long long)count, p->count);
        if (c.len - c.pos < count * sizeof(float))
            return lc_fail(LC_ERR_INVALID, "optimizer state: truncated in the data of '%s'",
                           p->name);
        if (apply && opt->holds_ref) {
            lc_status st = opt->be->upload(opt->buf_data[i], c.r + c.pos, count * sizeof(float));
            if (st != LC_OK)
                return st;
        } else if (apply) {
            memcpy(opt->buf_data[i], c.r + c.pos, count * sizeof(float));
        }
        c.pos += count * sizeof(float);
    }
    if (c.pos != len)
        return lc_fail(LC_ERR_INVALID, "optimizer state: %zu unexpected bytes after the end",
                       len - c.pos);
    return LC_OK;
}

lc_status lc_optim_state_load(lc_optim *opt, const void *buf, size_t len)
{
    if (!opt || !buf)
        return lc_fail(LC_ERR_INVALID, "optimizer state: optimizer and buffer are required");
    lc_optim_config cfg;
    int64_t step;
    double initial_lr;
    lc_status st = optim_parse(opt, buf, len, 0, &cfg, &step, &initial_lr);
    if (st != LC_OK)
        return st;
    st = optim_parse(opt, buf, len, 1, &cfg, &step, &initial_lr);
    if (st != LC_OK) /* only a device copy can fail here */
        return st;
    opt->cfg = cfg;
    opt->step = step;
    opt->initial_lr = initial_lr;
    return LC_OK;
}
