/*
 * kernels/dropout.c — inverted dropout forward/backward (see dropout.h).
 */
#include "dropout.h"

#include <string.h>

#include "common/status.h"
#include "par.h"
#include "simd.h"

/* What a (p, training) pair asks for. */
enum dropout_mode { DROPOUT_IDENTITY, DROPOUT_ZERO, DROPOUT_RANDOM };

static lc_status dropout_mode_of(const char *op, float p, int training, enum dropout_mode *mode)
{
    if (!(p >= 0.0f && p <= 1.0f)) /* also rejects NaN */
        return lc_fail(LC_ERR_INVALID, "%s: dropout probability p=%g must be in [0, 1]", op,
                       (double)p);
    if (!training || p == 0.0f)
        *mode = DROPOUT_IDENTITY;
    else if (p == 1.0f)
        *mode = DROPOUT_ZERO;
    else
        *mode = DROPOUT_RANDOM;
    return LC_OK;
}

static lc_status dropout_check2(const char *op, const lc_tensor *a, const char *na,
                                const lc_tensor *b, const char *nb)
{
    lc_status st = lc_tensor_check(a, op, na);
    if (st == LC_OK)
        st = lc_tensor_check(b, op, nb);
    if (st == LC_OK && !lc_tensor_same_shape(a, b)) {
        char sa[64], sb[64];
        return lc_fail(LC_ERR_INVALID, "%s: %s %s and %s %s differ in shape", op, na,
                       lc_tensor_shape_str(a, sa, sizeof sa), nb,
                       lc_tensor_shape_str(b, sb, sizeof sb));
    }
    return st;
}

/* y = mask ? x * scale : 0 (y may be x); also the backward with dy, dx. */
LC_SIMD_CLONES
static void dropout_apply(float *y, const float *x, const uint8_t *mask, float scale, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* mask ? x * scale : +0.0f as a product and a bit mask, so GCC
           vectorises it (the conditional form stays a branch per element,
           which random masks mispredict half the time); same bits */
        float t = x[i] * scale;
        uint32_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits &= 0u - (uint32_t)(mask[i] != 0);
        memcpy(&y[i], &bits, sizeof bits);
    }
}

typedef struct dropout_job {
    float *out;
    const float *in;
    const uint8_t *mask;
    float scale;
} dropout_job;

static void dropout_chunk(void *arg, size_t a, size_t len)
{
    const dropout_job *j = arg;
    dropout_apply(j->out + a, j->in + a, j->mask + a, j->scale, len);
}

lc_status lc_dropout_forward(lc_tensor *y, uint8_t *mask, const lc_tensor *x, float p,
                             int training, lc_rng *rng)
{
    const char *op = "dropout_forward";
    enum dropout_mode mode = DROPOUT_IDENTITY;
    lc_status st = dropout_check2(op, y, "y", x, "x");
    if (st == LC_OK)
        st = dropout_mode_of(op, p, training, &mode);
    if (st != LC_OK)
        return st;
    size_t n = x->numel;
    if (mode == DROPOUT_IDENTITY) {
        if (y->data != x->data)
            memmove(y->data, x->data, n * sizeof(float));
        return LC_OK;
    }
    if (mode == DROPOUT_ZERO) {
        memset(y->data, 0, n * sizeof(float));
        if (mask)
            memset(mask, 0, n);
        return LC_OK;
    }
    if (!mask || !rng)
        return lc_fail(LC_ERR_INVALID, "%s: training with p=%g needs a mask buffer and an RNG", op,
                       (double)p);

    /* Drop where a uniform 32-bit draw r < p * 2^32, i.e. with probability p
     * (to 2^-32). The threshold is < 2^32 because p < 1 here. */
    uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
    float scale = 1.0f / (1.0f - p);
    const float *xd = x->data;
    float *yd = y->data;
    /* threshold < 2^32 here (p < 1), so the 32-bit compare is the same */
    lc_rng_bernoulli_mask(rng, mask, n, (uint32_t)threshold);
    dropout_job j = {yd, xd, mask, scale};
    lc_par_chunks(n, dropout_chunk, &j);
    return LC_OK;
}

lc_status lc_dropout_backward(lc_tensor *dx, const lc_tensor *dy, const uint8_t *mask, float p,
                              int training)
{
    const char *op = "dropout_backward";
    enum dropout_mode mode = DROPOUT_IDENTITY;
    lc_status st = dropout_check2(op, dx, "dx", dy, "dy");
    if (st == LC_OK)
        st = dropout_mode_of(op, p, training, &mode);
    if (st != LC_OK)
        return st;
    size_t n = dy->numel;
    if (mode == DROPOUT_IDENTITY) {
        if (dx->data != dy->data)
            memmove(dx->data, dy->data, n * sizeof(float));
        return LC_OK;
    }
    if (mode == DROPOUT_ZERO) {
        memset(dx->data, 0, n * sizeof(float));
        return LC_OK;
    }
    if (!mask)
        return lc_fail(LC_ERR_INVALID, "%s: training with p=%g needs the forward's mask", op,
                       (double)p);
    float scale = 1.0f / (1.0f - p);
    const float *dyd = dy->data;
    float *dxd = dx->data;
    dropout_job j = {dxd, dyd, mask, scale};
    lc_par_chunks(n, dropout_chunk, &j);
    return LC_OK;
}
