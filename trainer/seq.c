/*
 * trainer/seq.c — the Sequential container and MLP builder of the public
 * API (lightc/trainer.h): Linear, ReLU, GELU and Dropout layers over the
 * kernels, a parameter registry the trainer shares with the optimizer,
 * checkpoints and histograms, and softmax cross-entropy for classifiers.
 *
 * Memory: every layer owns an output buffer and a gradient buffer of
 * rows_cap x out floats, grown when a bigger batch arrives; a forward
 * with fewer rows (the last batch) uses the front of them through tensor
 * views. These buffers are memory of the compute backend (host RAM, or the
 * GPU's for the CUDA backend), made with its mem_alloc. Parameters and
 * their gradients are separate lc_tensors registered under nn.Sequential's
 * names ("0.weight", "0.bias", "3.weight", ...); the layers read them
 * through the registry's entries, so the registry is movable: the trainer
 * (or a forward in another device's compute context) moves them to the
 * device and the same layers compute there.
 *
 * Initialisation as torch.nn.Linear: weight and bias uniform in
 * +-1/sqrt(in_features), drawn from PCG32 (seed, stream 1) in layer order
 * (weight then bias), so the same seed gives the same model.
 *
 * Every op runs through the kernel backend table (kernels/backend.h) of
 * the thread's compute context (kernels/autocast.h), in its compute dtype:
 * the precision plugin sets that context around the step hooks, so the
 * same model code computes in float32, float16 or bfloat16, on the CPU or
 * a GPU. A forward records the context; its backward uses the same one.
 * x, labels, dout and the output are memory of that backend's device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autocast.h"
#include "backend.h"
#include "common/status.h"
#include "kernels.h"
#include "lightc/trainer.h"
#include "params.h"

/* PCG32 stream for weight initialisation (dropout uses the trainer's RNG). */
#define SEQ_INIT_STREAM 1

typedef enum seq_kind { SEQ_LINEAR, SEQ_RELU, SEQ_GELU, SEQ_DROPOUT } seq_kind;

typedef struct seq_layer {
    seq_kind kind;
    int64_t in, out;      /* features in and out */
    /* Linear */
    lc_tensor w, b, dw, db;   /* the host storage the registry starts on */
    size_t w_idx, b_idx;      /* their registry entries (what the ops read) */
    int has_bias;
    /* Dropout */
    float p;
    uint8_t *mask;        /* buf_be memory */
    /* activations: output and its gradient, rows_cap x out (buf_be memory) */
    float *y, *dy;
} seq_layer;

struct lc_seq {
    int64_t in_features;
    seq_layer *layers;
    size_t len, cap;
    lc_params params;
    lc_rng init_rng;
    int64_t rows_cap;     /* rows the activation buffers hold */
    int64_t rows;         /* rows of the last forward */
    const float *x;       /* input of the last forward (not owned) */
    int last_training;
    float *probs;         /* rows_cap x out: softmax of the last cross-entropy */
    int32_t *labels;      /* rows_cap labels of the last cross-entropy */
    int have_xent;
    const lc_backend *buf_be; /* whose memory y, dy, mask, probs, labels are */
    int buf_ref;          /* buf_be->init was taken for them (a device) */
    /* compute context of the last forward (autocast.h) */
    const lc_backend *be;
    lc_dtype compute;
    lc_workspace *ws;     /* be's scratch (16-bit compute), NULL until needed */
    const lc_backend *ws_be;
};

/* ------------------------------------------------------------------------ */
/* Building                                                                  */

lc_status lc_seq_create(lc_seq **out, int64_t in_features, uint64_t seed)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_seq_create: out is NULL");
    *out = NULL;
    if (in_features < 1)
        return lc_fail(LC_ERR_INVALID, "lc_seq_create: in_features must be >= 1, got %lld",
                       (long long)in_features);
    lc_seq *s = calloc(1, sizeof *s);
    if (!s)
        return lc_fail(LC_ERR_NOMEM, "lc_seq_create: out of memory");
    s->in_features = in_features;
    lc_params_init(&s->params);
    s->params.movable = 1; /* the layers read the values through the registry */
    lc_rng_seed(&s->init_rng, seed, SEQ_INIT_STREAM);
    *out = s;
    return LC_OK;
}

static int64_t seq_out_features(const lc_seq *s)
{
    return s->len ? s->layers[s->len - 1].out : s->in_features;
}

static lc_status seq_push(lc_seq *s, seq_kind kind, seq_layer **out)
{
    if (s->rows_cap > 0)
        return lc_fail(LC_ERR_STATE, "lc_seq: add every layer before the first forward");
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        seq_layer *l = realloc(s->layers, cap * sizeof *l);
        if (!l)
            return lc_fail(LC_ERR_NOMEM, "lc_seq: out of memory");
        s->layers = l;
        s->cap = cap;
    }
    seq_layer *l = &s->layers[s->len];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->in = l->out = seq_out_features(s);
    *out = l;
    return LC_OK;
}

static void seq_layer_free(seq_layer *l)
{
    lc_tensor_free(&l->w);
    lc_tensor_free(&l->b);
    lc_tensor_free(&l->dw);
    lc_tensor_free(&l->db);
}

/* Free the per-step activation buffers (masks, outputs, their gradients,
 * probabilities, labels) held in be's memory. */
static void seq_free_activations(lc_seq *s, const lc_backend *be)
{
    for (size_t i = 0; i < s->len; i++) {
        seq_layer *l = &s->layers[i];
        be->mem_free(l->mask);
        be->mem_free(l->y);
        be->mem_free(l->dy);
        l->mask = NULL;
        l->y = l->dy = NULL;
    }
    be->mem_free(s->probs);
    be->mem_free(s->labels);
    s->probs = NULL;
    s->labels = NULL;
}

/* Free the activation buffers (buf_be memory) and drop the device
 * reference they held. */
static void seq_free_buffers(lc_seq *s)
{
    const lc_backend *be = s->buf_be;
    if (!be)
        return;
    seq_free_activations(s, be);
    if (s->ws) {
        s->ws_be->workspace_free(s->ws);
        s->ws = NULL;
        s->ws_be = NULL;
    }
    if (s->buf_ref)
        be->release();
    s->buf_ref = 0;
    s->buf_be = NULL;
    s->rows_cap = 0;
    s->have_xent = 0;
}

lc_status lc_seq_add_linear(lc_seq *s, int64_t out_features, int bias)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "lc_seq_add_linear: seq is NULL");
    if (out_features < 1)
        return lc_fail(LC_ERR_INVALID, "lc_seq_add_linear: out_features must be >= 1, got %lld",
                       (long long)out_features);
    seq_layer *l = NULL;
    lc_status st = seq_push(s, SEQ_LINEAR, &l);
    if (st != LC_OK)
        return st;
    l->out = out_features;
    l->has_bias = bias != 0;
    st = lc_tensor_alloc_2d(&l->w, out_features, l->in);
    if (st == LC_OK)
        st = lc_tensor_alloc_2d(&l->dw, out_features, l->in);
    if (st == LC_OK && l->has_bias)
        st = lc_tensor_alloc_1d(&l->b, out_features);
    if (st == LC_OK && l->has_bias)
        st = lc_tensor_alloc_1d(&l->db, out_features);
    if (st != LC_OK) {
        seq_layer_free(l);
        return st;
    }
    float bound = (float)(1.0 / sqrt((double)l->in));
    lc_tensor_rand_uniform(&l->w, &s->init_rng, -bound, bound);
    if (l->has_bias)
        lc_tensor_rand_uniform(&l->b, &s->init_rng, -bound, bound);

    char name[64];
    snprintf(name, sizeof name, "%zu.weight", s->len);
    l->w_idx = s->params.len;
    st = lc_params_add_tensor(&s->params, name, &l->w, &l->dw);
    if (st == LC_OK && l->has_bias) {
        snprintf(name, sizeof name, "%zu.bias", s->len);
        l->b_idx = s->params.len;
        st = lc_params_add_tensor(&s->params, name, &l->b, &l->db);
    }
    if (st != LC_OK) {
        seq_layer_free(l);
        return st;
    }
    s->len++;
    return LC_OK;
}

lc_status lc_seq_add_activation(lc_seq *s, lc_activation act)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "lc_seq_add_activation: seq is NULL");
    if (act != LC_ACT_RELU && act != LC_ACT_GELU)
        return lc_fail(LC_ERR_INVALID, "lc_seq_add_activation: unknown activation %d (use "
                       "LC_ACT_RELU or LC_ACT_GELU)", (int)act);
    seq_layer *l = NULL;
    lc_status st = seq_push(s, act == LC_ACT_RELU ? SEQ_RELU : SEQ_GELU, &l);
    if (st == LC_OK)
        s->len++;
    return st;
}

lc_status lc_seq_add_dropout(lc_seq *s, float p)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "lc_seq_add_dropout: seq is NULL");
    if (!(p >= 0.0f && p <= 1.0f))
        return lc_fail(LC_ERR_INVALID, "lc_seq_add_dropout: p must be in [0, 1], got %g",
                       (double)p);
    seq_layer *l = NULL;
    lc_status st = seq_push(s, SEQ_DROPOUT, &l);
    if (st != LC_OK)
        return st;
    l->p = p;
    s->len++;
    return LC_OK;
}

lc_status lc_seq_mlp(lc_seq **out, int64_t in_features, const int64_t *hidden, size_t n_hidden,
                     int64_t out_features, lc_activation act, float dropout, uint64_t seed)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_seq_mlp: out is NULL");
    *out = NULL;
    if (n_hidden > 0 && !hidden)
        return lc_fail(LC_ERR_INVALID, "lc_seq_mlp: hidden is NULL");
    lc_seq *s = NULL;
    lc_status st = lc_seq_create(&s, in_features, seed);
    for (size_t i = 0; st == LC_OK && i < n_hidden; i++) {
        st = lc_seq_add_linear(s, hidden[i], 1);
        if (st == LC_OK)
            st = lc_seq_add_activation(s, act);
        if (st == LC_OK && dropout > 0.0f)
            st = lc_seq_add_dropout(s, dropout);
    }
    if (st == LC_OK)
        st = lc_seq_add_linear(s, out_features, 1);
    if (st != LC_OK) {
        lc_seq_free(s);
        return st;
    }
    *out = s;
    return LC_OK;
}

void lc_seq_free(lc_seq *s)
{
    if (!s)
        return;
    seq_free_buffers(s);
    if (s->ws)
        s->ws_be->workspace_free(s->ws);
    for (size_t i = 0; i < s->len; i++)
        seq_layer_free(&s->layers[i]);
    free(s->layers);
    lc_params_free(&s->params);
    free(s);
}

lc_params *lc_seq_params(lc_seq *s)
{
    return s ? &s->params : NULL;
}

size_t lc_seq_num_layers(const lc_seq *s)
{
    return s ? s->len : 0;
}

const char *lc_seq_layer_type(const lc_seq *s, size_t i)
{
    if (!s || i >= s->len)
        return "";
    switch (s->layers[i].kind) {
    case SEQ_LINEAR: return "Linear";
    case SEQ_RELU: return "ReLU";
    case SEQ_GELU: return "GELU";
    case SEQ_DROPOUT: return "Dropout";
    }
    return "";
}

const char *lc_seq_layer_desc(const lc_seq *s, size_t i, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    buf[0] = 0;
    if (!s || i >= s->len)
        return buf;
    const seq_layer *l = &s->layers[i];
    switch (l->kind) {
    case SEQ_LINEAR:
        snprintf(buf, cap, "in_features=%lld, out_features=%lld, bias=%s", (long long)l->in,
                 (long long)l->out, l->has_bias ? "True" : "False");
        break;
    case SEQ_GELU: snprintf(buf, cap, "approximate='tanh'"); break;
    case SEQ_DROPOUT: snprintf(buf, cap, "p=%g", (double)l->p); break;
    case SEQ_RELU: break;
    }
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */

static lc_status seq_alloc(const lc_backend *be, void **p, size_t bytes, int64_t rows)
{
    lc_status st = be->mem_alloc(p, bytes);
    if (st != LC_OK)
        return lc_fail(st, "lc_seq_forward: out of %s memory for %lld rows: %s", be->name,
                       (long long)rows, lc_errmsg());
    return LC_OK;
}

/* Activation buffers for rows rows in be's memory (freed and made anew on
 * growth or a change of backend: nothing in them outlives a step). */
static lc_status seq_reserve(lc_seq *s, int64_t rows, const lc_backend *be)
{
    if (be == s->buf_be && rows <= s->rows_cap)
        return LC_OK;
    if (be != s->buf_be) {
        seq_free_buffers(s);
        if (be->device != LC_DEVICE_HOST) {
            lc_status st = be->init(-1);
            if (st != LC_OK)
                return st;
            s->buf_ref = 1;
        }
        s->buf_be = be;
    }
    seq_free_activations(s, be);
    s->rows_cap = 0;
    lc_status st = LC_OK;
    for (size_t i = 0; i < s->len && st == LC_OK; i++) {
        seq_layer *l = &s->layers[i];
        size_t n = (size_t)rows * (size_t)l->out;
        st = seq_alloc(be, (void **)&l->y, n * sizeof(float), rows);
        if (st == LC_OK)
            st = seq_alloc(be, (void **)&l->dy, n * sizeof(float), rows);
        if (st == LC_OK && l->kind == SEQ_DROPOUT)
            st = seq_alloc(be, (void **)&l->mask, n, rows);
    }
    int64_t classes = seq_out_features(s);
    if (st == LC_OK)
        st = seq_alloc(be, (void **)&s->probs, (size_t)rows * (size_t)classes * sizeof(float),
                       rows);
    if (st == LC_OK)
        st = seq_alloc(be, (void **)&s->labels, (size_t)rows * sizeof(int32_t), rows);
    if (st != LC_OK)
        return st;
    s->rows_cap = rows;
    return LC_OK;
}

/* A [rows, cols] float32 view of buf on the compute device (the kernels
 * never write through const inputs). */
static lc_tensor seq_view(const lc_seq *s, const float *buf, int64_t rows, int64_t cols)
{
    lc_tensor t;
    int64_t shape[2] = {rows, cols};
    lc_tensor_view_on(&t, (float *)buf, LC_DTYPE_F32, s->be->device, 2, shape);
    return t;
}

/* Entry i of the registry (values or gradient) as a tensor of its shape. */
static lc_tensor seq_param(const lc_seq *s, size_t i, int grad)
{
    const lc_param *p = &s->params.items[i];
    lc_tensor t;
    lc_tensor_view_on(&t, grad ? p->grad : p->data, LC_DTYPE_F32, s->be->device, p->ndim,
                      p->shape);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Forward and backward                                                      */

/* Take the thread's compute context for this forward (and its backward);
 * the parameters go where it computes (a no-op once the trainer put them
 * there). */
static lc_status seq_use_context(lc_seq *s)
{
    lc_autocast ac = lc_autocast_current();
    if (lc_params_backend(&s->params) != ac.backend) {
        lc_status st = lc_params_to(&s->params, ac.backend);
        if (st != LC_OK)
            return st;
    }
    s->be = ac.backend;
    s->compute = ac.compute;
    if (s->compute != LC_DTYPE_F32 && (!s->ws || s->ws_be != s->be)) {
        if (s->ws)
            s->ws_be->workspace_free(s->ws);
        s->ws = s->be->workspace_create();
        s->ws_be = s->be;
        if (!s->ws)
            return lc_fail(LC_ERR_NOMEM, "lc_seq_forward: out of memory for a workspace");
    }
    return LC_OK;
}

lc_status lc_seq_forward(lc_seq *s, const float *x, int64_t rows, int training, lc_rng *rng,
                         const float **out)
{
    if (!s || !x || !out)
        return lc_fail(LC_ERR_INVALID, "lc_seq_forward: seq, x and out must not be NULL");
    if (s->len == 0)
        return lc_fail(LC_ERR_STATE, "lc_seq_forward: the Sequential has no layers");
    if (rows < 1)
        return lc_fail(LC_ERR_INVALID, "lc_seq_forward: rows must be >= 1, got %lld",
                       (long long)rows);
    lc_status st = seq_use_context(s);
    if (st == LC_OK)
        st = seq_reserve(s, rows, s->be);
    if (st != LC_OK)
        return st;
    s->rows = rows;
    s->x = x;
    s->last_training = training;
    s->have_xent = 0;
    const lc_backend *be = s->be;
    const lc_dtype c = s->compute;
    const float *in = x;
    for (size_t i = 0; i < s->len; i++) {
        seq_layer *l = &s->layers[i];
        lc_tensor tx = seq_view(s, in, rows, l->in), ty = seq_view(s, l->y, rows, l->out);
        switch (l->kind) {
        case SEQ_LINEAR: {
            lc_tensor w = seq_param(s, l->w_idx, 0), b;
            if (l->has_bias)
                b = seq_param(s, l->b_idx, 0);
            st = be->linear_forward(c, &ty, &tx, &w, l->has_bias ? &b : NULL, s->ws);
            break;
        }
        case SEQ_RELU: st = be->act_forward(c, LC_ACT_FN_RELU, &ty, &tx); break;
        case SEQ_GELU: st = be->act_forward(c, LC_ACT_FN_GELU, &ty, &tx); break;
        case SEQ_DROPOUT:
            if (training && l->p > 0.0f && l->p < 1.0f && !rng)
                return lc_fail(LC_ERR_INVALID,
                               "lc_seq_forward: dropout in training needs an RNG (pass "
                               "lc_trainer_rng(t))");
            st = be->dropout_forward(c, &ty, l->mask, &tx, l->p, training, rng);
            break;
        }
        if (st != LC_OK)
            return st;
        in = l->y;
    }
    *out = in;
    return LC_OK;
}

lc_status lc_seq_cross_entropy(lc_seq *s, const int32_t *labels, double *loss, int64_t *correct)
{
    if (!s || !labels || !loss)
        return lc_fail(LC_ERR_INVALID, "lc_seq_cross_entropy: seq, labels and loss must not be NULL");
    if (s->rows < 1)
        return lc_fail(LC_ERR_STATE, "lc_seq_cross_entropy: call lc_seq_forward first");
    int64_t classes = seq_out_features(s);
    lc_tensor logits = seq_view(s, s->layers[s->len - 1].y, s->rows, classes);
    lc_tensor probs = seq_view(s, s->probs, s->rows, classes);
    lc_status st = s->be->softmax_xent_forward(&probs, loss, correct, &logits, labels);
    if (st == LC_OK)
        st = s->be->mem_copy(s->labels, labels, (size_t)s->rows * sizeof *labels);
    if (st != LC_OK)
        return st;
    s->have_xent = 1;
    return LC_OK;
}

/* Propagate the gradient in the last layer's dy back through every layer,
 * accumulating parameter gradients. */
static lc_status seq_backprop(lc_seq *s)
{
    int64_t rows = s->rows;
    const lc_backend *be = s->be;
    const lc_dtype c = s->compute;
    for (size_t k = s->len; k-- > 0;) {
        seq_layer *l = &s->layers[k];
        const float *in = k ? s->layers[k - 1].y : s->x;
        /* gradient w.r.t. this layer's input; none needed below layer 0 */
        float *din = k ? s->layers[k - 1].dy : NULL;
        lc_tensor tx = seq_view(s, in, rows, l->in), tdy = seq_view(s, l->dy, rows, l->out);
        lc_tensor tdx = din ? seq_view(s, din, rows, l->in) : tx;
        lc_status st = LC_OK;
        switch (l->kind) {
        case SEQ_LINEAR: {
            lc_tensor w = seq_param(s, l->w_idx, 0), dw = seq_param(s, l->w_idx, 1), db;
            if (l->has_bias)
                db = seq_param(s, l->b_idx, 1);
            st = be->linear_backward(c, din ? &tdx : NULL, &dw, l->has_bias ? &db : NULL, &tdy,
                                     &tx, &w, s->ws);
            break;
        }
        case SEQ_RELU:
            if (din)
                st = be->act_backward(c, LC_ACT_FN_RELU, &tdx, &tdy, &tx);
            break;
        case SEQ_GELU:
            if (din)
                st = be->act_backward(c, LC_ACT_FN_GELU, &tdx, &tdy, &tx);
            break;
        case SEQ_DROPOUT:
            if (din)
                st = be->dropout_backward(c, &tdx, &tdy, l->mask, l->p, s->last_training);
            break;
        }
        if (st != LC_OK)
            return st;
    }
    return LC_OK;
}

lc_status lc_seq_backward(lc_seq *s, double loss_scale)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "lc_seq_backward: seq is NULL");
    if (!s->have_xent)
        return lc_fail(LC_ERR_STATE,
                       "lc_seq_backward: no cross-entropy to differentiate; call lc_seq_forward "
                       "and lc_seq_cross_entropy first");
    int64_t classes = seq_out_features(s);
    lc_tensor probs = seq_view(s, s->probs, s->rows, classes);
    lc_tensor dlogits = seq_view(s, s->layers[s->len - 1].dy, s->rows, classes);
    lc_status st = s->be->softmax_xent_backward(&dlogits, &probs, s->labels, (float)loss_scale);
    if (st != LC_OK)
        return st;
    return seq_backprop(s);
}

lc_status lc_seq_backward_from(lc_seq *s, const float *dout)
{
    if (!s || !dout)
        return lc_fail(LC_ERR_INVALID, "lc_seq_backward_from: seq and dout must not be NULL");
    if (s->rows < 1)
        return lc_fail(LC_ERR_STATE, "lc_seq_backward_from: call lc_seq_forward first");
    seq_layer *last = &s->layers[s->len - 1];
    lc_status st = s->be->mem_copy(last->dy, dout, (size_t)s->rows * (size_t)last->out * sizeof *dout);
    return st == LC_OK ? seq_backprop(s) : st;
}
