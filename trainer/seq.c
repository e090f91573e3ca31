/*
 * trainer/seq.c — the Sequential container and MLP builder of the public
 * API (lightc/trainer.h): Linear, ReLU, GELU and Dropout layers over the
 * kernels, a parameter registry the trainer shares with the optimizer,
 * checkpoints and histograms, and softmax cross-entropy for classifiers.
 *
 * Memory: every layer owns an output buffer and a gradient buffer of
 * rows_cap x out floats, grown when a bigger batch arrives; a forward
 * with fewer rows (the last batch) uses the front of them through tensor
 * views. Parameters and their gradients are separate lc_tensors registered
 * under nn.Sequential's names ("0.weight", "0.bias", "3.weight", ...).
 *
 * Initialisation as torch.nn.Linear: weight and bias uniform in
 * +-1/sqrt(in_features), drawn from PCG32 (seed, stream 1) in layer order
 * (weight then bias), so the same seed gives the same model.
 *
 * Every op runs through the kernel backend table (kernels/backend.h) of
 * the thread's compute context (kernels/autocast.h), in its compute dtype:
 * the precision plugin sets that context around the step hooks, so the
 * same model code computes in float32, float16 or bfloat16. A forward
 * records the context; its backward uses the same one.
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
    lc_tensor w, b, dw, db;
    int has_bias;
    /* Dropout */
    float p;
    uint8_t *mask;
    int mask_valid;       /* the last forward drew a mask */
    /* activations: output and its gradient, rows_cap x out */
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
    free(l->mask);
    free(l->y);
    free(l->dy);
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
    st = lc_params_add_tensor(&s->params, name, &l->w, &l->dw);
    if (st == LC_OK && l->has_bias) {
        snprintf(name, sizeof name, "%zu.bias", s->len);
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
    for (size_t i = 0; i < s->len; i++)
        seq_layer_free(&s->layers[i]);
    free(s->layers);
    lc_params_free(&s->params);
    if (s->ws)
        s->ws_be->workspace_free(s->ws);
    free(s->probs);
    free(s->labels);
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

static lc_status seq_reserve(lc_seq *s, int64_t rows)
{
    if (rows <= s->rows_cap)
        return LC_OK;
    for (size_t i = 0; i < s->len; i++) {
        seq_layer *l = &s->layers[i];
        size_t n = (size_t)rows * (size_t)l->out;
        float *y = realloc(l->y, n * sizeof *y);
        if (y)
            l->y = y;
        float *dy = y ? realloc(l->dy, n * sizeof *dy) : NULL;
        if (dy)
            l->dy = dy;
        if (!y || !dy)
            return lc_fail(LC_ERR_NOMEM, "lc_seq_forward: out of memory for %lld rows",
                           (long long)rows);
        if (l->kind == SEQ_DROPOUT) {
            uint8_t *m = realloc(l->mask, n);
            if (!m)
                return lc_fail(LC_ERR_NOMEM, "lc_seq_forward: out of memory for %lld rows",
                               (long long)rows);
            l->mask = m;
        }
    }
    int64_t classes = seq_out_features(s);
    float *p = realloc(s->probs, (size_t)rows * (size_t)classes * sizeof *p);
    if (p)
        s->probs = p;
    int32_t *lab = p ? realloc(s->labels, (size_t)rows * sizeof *lab) : NULL;
    if (lab)
        s->labels = lab;
    if (!p || !lab)
        return lc_fail(LC_ERR_NOMEM, "lc_seq_forward: out of memory for %lld rows",
                       (long long)rows);
    s->rows_cap = rows;
    return LC_OK;
}

/* A [rows, cols] view of buf (the kernels never write through const inputs). */
static lc_tensor seq_view(const float *buf, int64_t rows, int64_t cols)
{
    lc_tensor t;
    int64_t shape[2] = {rows, cols};
    lc_tensor_view(&t, (float *)buf, 2, shape);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Forward and backward                                                      */

/* Take the thread's compute context for this forward (and its backward). */
static lc_status seq_use_context(lc_seq *s)
{
    lc_autocast ac = lc_autocast_current();
    if (ac.backend->device != LC_DEVICE_HOST)
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "lc_seq_forward: the Sequential's weights are in host memory but the "
                       "compute context is the %s backend; a Sequential runs on the CPU",
                       ac.backend->name);
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
        st = seq_reserve(s, rows);
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
        lc_tensor tx = seq_view(in, rows, l->in), ty = seq_view(l->y, rows, l->out);
        switch (l->kind) {
        case SEQ_LINEAR:
            st = be->linear_forward(c, &ty, &tx, &l->w, l->has_bias ? &l->b : NULL, s->ws);
            break;
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
    lc_tensor logits = seq_view(s->layers[s->len - 1].y, s->rows, classes);
    lc_tensor probs = seq_view(s->probs, s->rows, classes);
    lc_status st = s->be->softmax_xent_forward(&probs, loss, correct, &logits, labels);
    if (st != LC_OK)
        return st;
    memcpy(s->labels, labels, (size_t)s->rows * sizeof *labels);
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
        lc_tensor tx = seq_view(in, rows, l->in), tdy = seq_view(l->dy, rows, l->out);
        lc_tensor tdx = din ? seq_view(din, rows, l->in) : tx;
        lc_status st = LC_OK;
        switch (l->kind) {
        case SEQ_LINEAR:
            st = be->linear_backward(c, din ? &tdx : NULL, &l->dw, l->has_bias ? &l->db : NULL,
                                     &tdy, &tx, &l->w, s->ws);
            break;
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
    lc_tensor probs = seq_view(s->probs, s->rows, classes);
    lc_tensor dlogits = seq_view(s->layers[s->len - 1].dy, s->rows, classes);
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
    memcpy(last->dy, dout, (size_t)s->rows * (size_t)last->out * sizeof *dout);
    return seq_backprop(s);
}
