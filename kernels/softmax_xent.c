/*
 * kernels/softmax_xent.c — fused numerically stable softmax + cross-entropy
 * (see softmax_xent.h).
 *
 * Numerics: softmax(x)_j = exp(x_j - m) / sum_k exp(x_k - m) for any m; with
 * m = max_k x_k every exponent is <= 0, so exp() cannot overflow and the
 * largest term is exactly 1, so the sum is >= 1 and its log is safe. The
 * loss of one row is then
 *     -log p_y = log(sum_k exp(x_k - m)) - (x_y - m)
 * (log-sum-exp), which stays finite even where p_y underflows to 0 in
 * float. Sums and logs are done in double; the batch mean too.
 *
 * The gradient of mean_i(-log p_{i,y_i}) with respect to x_{i,j} is
 * (p_{i,j} - [j == y_i]) / B.
 */
#include "softmax_xent.h"

#include <math.h>

#include "common/status.h"

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */

static lc_status xent_check_pair(const char *op, const lc_tensor *a, const char *na,
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

static lc_status xent_check_labels(const char *op, const int32_t *labels, int64_t rows,
                                   int64_t classes)
{
    if (!labels)
        return lc_fail(LC_ERR_INVALID, "%s: labels is NULL", op);
    for (int64_t i = 0; i < rows; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return lc_fail(LC_ERR_INVALID,
                           "%s: label %d of sample %lld is out of range [0, %lld): check the "
                           "dataset's labels and the model's number of classes",
                           op, (int)labels[i], (long long)i, (long long)classes);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Row kernels                                                               */

/* Lowest index of the row maximum; NaNs are skipped (all-NaN rows give 0). */
static int64_t xent_row_argmax(const float *x, int64_t c)
{
    int64_t best = 0;
    float bv = -INFINITY;
    int found = 0;
    for (int64_t j = 0; j < c; j++) {
        if (isnan(x[j]))
            continue;
        if (!found || x[j] > bv) {
            bv = x[j];
            best = j;
            found = 1;
        }
    }
    return best;
}

/* p = softmax(x) for one row of c; returns log(sum exp(x - max)) and the max.
 * p may alias x: x is only read before p[j] is written at the same j. */
static double xent_row_softmax(float *p, const float *x, int64_t c, float *max_out)
{
    float m = x[0];
    for (int64_t j = 1; j < c; j++)
        m = x[j] > m ? x[j] : m;
    double sum = 0.0;
    for (int64_t j = 0; j < c; j++) {
        float e = expf(x[j] - m);
        p[j] = e;
        sum += (double)e;
    }
    float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < c; j++)
        p[j] *= inv;
    *max_out = m;
    return log(sum);
}

/* ------------------------------------------------------------------------ */
/* Public kernels                                                            */

lc_status lc_softmax_xent_forward(lc_tensor *probs, double *loss, int64_t *correct,
                                  const lc_tensor *logits, const int32_t *labels)
{
    const char *op = "softmax_xent_forward";
    lc_status st = xent_check_pair(op, probs, "probs", logits, "logits");
    if (st != LC_OK)
        return st;
    int64_t rows = lc_tensor_rows(logits), c = lc_tensor_cols(logits);
    st = xent_check_labels(op, labels, rows, c);
    if (st != LC_OK)
        return st;

    double total = 0.0;
    int64_t hits = 0;
    for (int64_t i = 0; i < rows; i++) {
        const float *x = logits->data + i * c;
        float *p = probs->data + i * c;
        int32_t y = labels[i];
        /* Read what we need from the logits before an in-place softmax
         * overwrites them. */
        hits += xent_row_argmax(x, c) == y;
        float xy = x[y];
        float m;
        double lse = xent_row_softmax(p, x, c, &m);
        total += lse - ((double)xy - (double)m);
    }
    if (loss)
        *loss = total / (double)rows;
    if (correct)
        *correct = hits;
    return LC_OK;
}

lc_status lc_softmax_xent_backward(lc_tensor *dlogits, const lc_tensor *probs,
                                   const int32_t *labels, float dloss)
{
    const char *op = "softmax_xent_backward";
    lc_status st = xent_check_pair(op, dlogits, "dlogits", probs, "probs");
    if (st != LC_OK)
        return st;
    int64_t rows = lc_tensor_rows(probs), c = lc_tensor_cols(probs);
    st = xent_check_labels(op, labels, rows, c);
    if (st != LC_OK)
        return st;
    float scale = (float)((double)dloss / (double)rows);
    for (int64_t i = 0; i < rows; i++) {
        const float *p = probs->data + i * c;
        float *d = dlogits->data + i * c;
        float p_label = p[labels[i]]; /* read before an in-place write */
        for (int64_t j = 0; j < c; j++)
            d[j] = p[j] * scale;
        d[labels[i]] = (p_label - 1.0f) * scale;
    }
    return LC_OK;
}

lc_status lc_softmax_forward(lc_tensor *probs, const lc_tensor *logits)
{
    lc_status st = xent_check_pair("softmax_forward", probs, "probs", logits, "logits");
    if (st != LC_OK)
        return st;
    int64_t rows = lc_tensor_rows(logits), c = lc_tensor_cols(logits);
    for (int64_t i = 0; i < rows; i++) {
        float m;
        xent_row_softmax(probs->data + i * c, logits->data + i * c, c, &m);
    }
    return LC_OK;
}

lc_status lc_argmax_rows(int32_t *out, const lc_tensor *x)
{
    lc_status st = lc_tensor_check(x, "argmax_rows", "x");
    if (st != LC_OK)
        return st;
    if (!out)
        return lc_fail(LC_ERR_INVALID, "argmax_rows: out is NULL");
    int64_t rows = lc_tensor_rows(x), c = lc_tensor_cols(x);
    if (c > INT32_MAX)
        return lc_fail(LC_ERR_INVALID, "argmax_rows: %lld columns exceed int32 indices",
                       (long long)c);
    for (int64_t i = 0; i < rows; i++)
        out[i] = (int32_t)xent_row_argmax(x->data + i * c, c);
    return LC_OK;
}
