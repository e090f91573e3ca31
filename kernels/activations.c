/*
 * kernels/activations.c — ReLU and GELU (tanh approximation), see
 * activations.h.
 */
#include "activations.h"

#include <math.h>

#include "common/status.h"
#include "par.h"
#include "simd.h"

/* sqrt(2/pi): the tanh approximation matches the slope of the Gaussian CDF
 * at 0; 0.044715 is the cubic coefficient fitted by Hendrycks & Gimpel
 * (2016) so tanh(sqrt(2/pi)(x + 0.044715 x^3)) tracks erf(x / sqrt(2)). */
#define LC_GELU_SCALE 0.7978845608028654f
#define LC_GELU_CUBIC 0.044715f

/* Both tensors usable and of the same shape. */
static lc_status act_check2(const char *op, const char *na, const lc_tensor *a, const char *nb,
                            const lc_tensor *b)
{
    lc_status st = lc_tensor_check(a, op, na);
    if (st == LC_OK)
        st = lc_tensor_check(b, op, nb);
    if (st != LC_OK)
        return st;
    if (!lc_tensor_same_shape(a, b)) {
        char sa[64], sb[64];
        return lc_fail(LC_ERR_INVALID, "%s: %s %s and %s %s differ in shape", op, na,
                       lc_tensor_shape_str(a, sa, sizeof sa), nb,
                       lc_tensor_shape_str(b, sb, sizeof sb));
    }
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* ReLU                                                                      */

/* y may be x (in place): each element is read before it is written. */
LC_SIMD_CLONES
static void relu_loop(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

LC_SIMD_CLONES
static void relu_grad_loop(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

typedef struct act_job {
    float *out;
    const float *dy, *x;
} act_job;

static void relu_chunk(void *arg, size_t a, size_t len)
{
    const act_job *j = arg;
    relu_loop(j->out + a, j->x + a, len);
}

static void relu_grad_chunk(void *arg, size_t a, size_t len)
{
    const act_job *j = arg;
    relu_grad_loop(j->out + a, j->dy + a, j->x + a, len);
}

lc_status lc_relu_forward(lc_tensor *y, const lc_tensor *x)
{
    lc_status st = act_check2("relu_forward", "y", y, "x", x);
    if (st != LC_OK)
        return st;
    act_job j = {y->data, NULL, x->data};
    lc_par_chunks(x->numel, relu_chunk, &j);
    return LC_OK;
}

lc_status lc_relu_backward(lc_tensor *dx, const lc_tensor *dy, const lc_tensor *x)
{
    lc_status st = act_check2("relu_backward", "dx", dx, "dy", dy);
    if (st == LC_OK)
        st = act_check2("relu_backward", "dy", dy, "x", x);
    if (st != LC_OK)
        return st;
    act_job j = {dx->data, dy->data, x->data};
    lc_par_chunks(x->numel, relu_grad_chunk, &j);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* GELU (tanh approximation)                                                 */

lc_status lc_gelu_forward(lc_tensor *y, const lc_tensor *x)
{
    lc_status st = act_check2("gelu_forward", "y", y, "x", x);
    if (st != LC_OK)
        return st;
    float *yd = y->data;
    const float *xd = x->data;
    for (size_t i = 0; i < x->numel; i++) {
        float v = xd[i];
        float u = LC_GELU_SCALE * (v + LC_GELU_CUBIC * v * v * v);
        yd[i] = 0.5f * v * (1.0f + tanhf(u));
    }
    return LC_OK;
}

lc_status lc_gelu_backward(lc_tensor *dx, const lc_tensor *dy, const lc_tensor *x)
{
    lc_status st = act_check2("gelu_backward", "dx", dx, "dy", dy);
    if (st == LC_OK)
        st = act_check2("gelu_backward", "dy", dy, "x", x);
    if (st != LC_OK)
        return st;
    float *dxd = dx->data;
    const float *dyd = dy->data, *xd = x->data;
    for (size_t i = 0; i < x->numel; i++) {
        /* d/dx [0.5 x (1 + tanh u)] with u = s (x + c x^3):
         *   0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) s (1 + 3 c x^2)
         * (1 - tanh^2 is sech^2; computed from tanh to avoid cosh overflow). */
        float v = xd[i];
        float u = LC_GELU_SCALE * (v + LC_GELU_CUBIC * v * v * v);
        float t = tanhf(u);
        float du = LC_GELU_SCALE * (1.0f + 3.0f * LC_GELU_CUBIC * v * v);
        float local = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
        /* Far out tanh is exactly +-1 in float, so the slope is exactly 1 or
         * 0; say so directly, since v*v*v can overflow and 0 * inf is NaN. */
        if (fabsf(v) > 10.0f)
            local = v > 0.0f ? 1.0f : 0.0f;
        dxd[i] = dyd[i] * local;
    }
    return LC_OK;
}
