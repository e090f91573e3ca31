/*
 * trainer/profiler_backend.c — kernel calls in the advanced and trace
 * profiles: a copy of a backend's table whose layer kernels (linear,
 * activation, dropout, softmax cross-entropy; forward and backward) open a
 * function span "backend.<kernel>" around the real call. The trainer
 * computes through the copy only while such a profiler runs (the compute
 * context, kernels/autocast.h), so the profiler off changes nothing. The
 * other entries (memory, optimizer steps, norms) are the real ones: buffers
 * made through the copy are the real backend's.
 *
 * One profiled backend at a time (the wrapper reaches the real table and
 * the profiler through the statics below); a second profiler wraps its own
 * copy only after the first let go (lc_prof_backend_release).
 */
#include <stddef.h>

#include "backend.h"
#include "profiler.h"

static lc_backend wrapped;
static const lc_backend *real;
static lc_prof *wprof;

#define SPAN(name, call)                                                                   \
    do {                                                                                   \
        lc_prof_begin(wprof, "backend." name, LC_PROF_FUNC);                               \
        lc_status st_ = (call);                                                            \
        lc_prof_end(wprof);                                                                \
        return st_;                                                                        \
    } while (0)

static lc_status w_linear_forward(lc_dtype c, lc_tensor *y, const lc_tensor *x, const lc_tensor *w,
                                  const lc_tensor *b, lc_workspace *ws)
{
    SPAN("linear_forward", real->linear_forward(c, y, x, w, b, ws));
}

static lc_status w_linear_backward(lc_dtype c, lc_tensor *dx, lc_tensor *dw, lc_tensor *db,
                                   const lc_tensor *dy, const lc_tensor *x, const lc_tensor *w,
                                   lc_workspace *ws)
{
    SPAN("linear_backward", real->linear_backward(c, dx, dw, db, dy, x, w, ws));
}

static lc_status w_act_forward(lc_dtype c, lc_act_fn fn, lc_tensor *y, const lc_tensor *x)
{
    SPAN("act_forward", real->act_forward(c, fn, y, x));
}

static lc_status w_act_backward(lc_dtype c, lc_act_fn fn, lc_tensor *dx, const lc_tensor *dy,
                                const lc_tensor *x)
{
    SPAN("act_backward", real->act_backward(c, fn, dx, dy, x));
}

static lc_status w_dropout_forward(lc_dtype c, lc_tensor *y, uint8_t *mask, const lc_tensor *x,
                                   float p, int training, lc_rng *rng)
{
    SPAN("dropout_forward", real->dropout_forward(c, y, mask, x, p, training, rng));
}

static lc_status w_dropout_backward(lc_dtype c, lc_tensor *dx, const lc_tensor *dy,
                                    const uint8_t *mask, float p, int training)
{
    SPAN("dropout_backward", real->dropout_backward(c, dx, dy, mask, p, training));
}

static lc_status w_xent_forward(lc_tensor *probs, double *loss, int64_t *correct,
                                const lc_tensor *logits, const int32_t *labels)
{
    SPAN("softmax_xent_forward", real->softmax_xent_forward(probs, loss, correct, logits, labels));
}

static lc_status w_xent_backward(lc_tensor *dlogits, const lc_tensor *probs, const int32_t *labels,
                                 float dloss)
{
    SPAN("softmax_xent_backward", real->softmax_xent_backward(dlogits, probs, labels, dloss));
}

const lc_backend *lc_prof_backend(lc_prof *p, const lc_backend *be)
{
    if (!p || !be || lc_prof_get_mode(p) == LC_PROF_SIMPLE)
        return be;
    if (wprof && wprof != p)
        return be; /* another profiler holds the copy */
    wprof = p;
    real = be;
    wrapped = *be;
    wrapped.base = be->base ? be->base : be;
    /* an entry the backend lacks stays NULL */
    if (be->linear_forward) wrapped.linear_forward = w_linear_forward;
    if (be->linear_backward) wrapped.linear_backward = w_linear_backward;
    if (be->act_forward) wrapped.act_forward = w_act_forward;
    if (be->act_backward) wrapped.act_backward = w_act_backward;
    if (be->dropout_forward) wrapped.dropout_forward = w_dropout_forward;
    if (be->dropout_backward) wrapped.dropout_backward = w_dropout_backward;
    if (be->softmax_xent_forward) wrapped.softmax_xent_forward = w_xent_forward;
    if (be->softmax_xent_backward) wrapped.softmax_xent_backward = w_xent_backward;
    return &wrapped;
}

void lc_prof_backend_release(lc_prof *p)
{
    if (p && wprof == p)
        wprof = NULL;
}
