/*
 * tests/test_kernels_softmax_xent.c — fused softmax + cross-entropy:
 * probabilities, mean loss and accuracy against a naive double reference,
 * stability on huge logits, the backward by finite differences, in-place
 * use, labels out of range and shape mismatches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "kernel_check.h"
#include "softmax_xent.h"

enum { B = 6, C = 10 };

/* Naive reference: p = exp(x) / sum exp(x) in double (inputs are small),
 * loss = mean -log p[label]. */
static double ref_xent(double *probs, const float *x, const int32_t *labels, int rows, int c)
{
    double loss = 0;
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < c; j++)
            s += exp((double)x[i * c + j]);
        for (int j = 0; j < c; j++)
            probs[i * c + j] = exp((double)x[i * c + j]) / s;
        loss += -log(probs[i * c + labels[i]]);
    }
    return loss / rows;
}

static void fill_case(lc_tensor *logits, int32_t *labels, uint64_t seed)
{
    lc_rng r;
    lc_rng_seed(&r, seed, 2);
    kc_fill(&r, logits->data, logits->numel, -3.0f, 3.0f);
    for (int64_t i = 0; i < lc_tensor_rows(logits); i++)
        labels[i] = (int32_t)lc_rng_below(&r, (uint32_t)lc_tensor_cols(logits));
}

static void test_matches_reference(void **state)
{
    (void)state;
    lc_tensor logits, probs;
    int32_t labels[B];
    assert_int_equal(lc_tensor_alloc_2d(&logits, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&probs, B, C), LC_OK);
    fill_case(&logits, labels, 1);
    /* Make rows 0 and 1 correct predictions, row 2 a certain miss. */
    logits.data[0 * C + labels[0]] = 10.0f;
    logits.data[1 * C + labels[1]] = 10.0f;
    logits.data[2 * C + (labels[2] + 1) % C] = 10.0f;

    double loss = -1;
    int64_t correct = -1;
    assert_int_equal(lc_softmax_xent_forward(&probs, &loss, &correct, &logits, labels), LC_OK);
    double rp[B * C];
    double rl = ref_xent(rp, logits.data, labels, B, C);
    assert_int_equal(kc_count_mismatch("probs", probs.data, rp, B * C, 1e-5, 1e-7), 0);
    assert_true(kc_close(loss, rl, 1e-6, 0));

    int64_t want_correct = 0;
    for (int i = 0; i < B; i++) {
        int best = 0;
        for (int j = 1; j < C; j++)
            if (logits.data[i * C + j] > logits.data[i * C + best])
                best = j;
        want_correct += best == labels[i];
    }
    assert_true(want_correct >= 2);
    assert_int_equal(correct, want_correct);

    /* Rows sum to 1. */
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int j = 0; j < C; j++)
            s += probs.data[i * C + j];
        assert_true(fabs(s - 1.0) < 1e-6);
    }

    /* Softmax alone gives the same probabilities; argmax the predictions. */
    lc_tensor p2;
    assert_int_equal(lc_tensor_alloc_2d(&p2, B, C), LC_OK);
    assert_int_equal(lc_softmax_forward(&p2, &logits), LC_OK);
    assert_memory_equal(p2.data, probs.data, B * C * sizeof(float));
    int32_t pred[B];
    assert_int_equal(lc_argmax_rows(pred, &logits), LC_OK);
    assert_int_equal(pred[0], labels[0]);
    assert_int_equal(pred[2], (labels[2] + 1) % C);

    /* loss and correct are optional */
    assert_int_equal(lc_softmax_xent_forward(&probs, NULL, NULL, &logits, labels), LC_OK);
    lc_tensor_free(&p2), lc_tensor_free(&logits), lc_tensor_free(&probs);
}

static void test_huge_logits_are_stable(void **state)
{
    (void)state;
    float xs[2 * 3] = {1000.0f, 0.0f, -1000.0f,   /* label 1: loss 1000 */
                       88.0f, 89.0f, 90.0f};      /* exp(90) overflows float */
    int32_t labels[2] = {1, 2};
    float ps[6];
    lc_tensor x, p;
    int64_t s[2] = {2, 3};
    assert_int_equal(lc_tensor_view(&x, xs, 2, s), LC_OK);
    assert_int_equal(lc_tensor_view(&p, ps, 2, s), LC_OK);
    double loss;
    int64_t correct;
    assert_int_equal(lc_softmax_xent_forward(&p, &loss, &correct, &x, labels), LC_OK);
    /* row 0: -log p1 = 1000 + log(1 + e^-1000 + e^-2000) = 1000
     * row 1: -log p2 = log(e^-2 + e^-1 + 1) = 0.40760596444... */
    double want = (1000.0 + log(exp(-2.0) + exp(-1.0) + 1.0)) / 2.0;
    assert_true(isfinite(loss));
    assert_true(fabs(loss - want) < 1e-6);
    assert_int_equal(correct, 1);
    for (int i = 0; i < 6; i++)
        assert_true(isfinite(ps[i]));
    assert_true(ps[0] == 1.0f);
    assert_true(ps[1] == 0.0f);
}

/* FD closure: L = mean xent(logits) (dloss = 1). */
typedef struct fd_ctx {
    lc_tensor *logits, *probs;
    const int32_t *labels;
} fd_ctx;

static double fd_loss(void *p)
{
    fd_ctx *c = p;
    double loss;
    assert_int_equal(lc_softmax_xent_forward(c->probs, &loss, NULL, c->logits, c->labels), LC_OK);
    return loss;
}

static void test_backward_finite_differences(void **state)
{
    (void)state;
    lc_tensor logits, probs, d;
    int32_t labels[B];
    assert_int_equal(lc_tensor_alloc_2d(&logits, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&probs, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&d, B, C), LC_OK);
    fill_case(&logits, labels, 3);
    assert_int_equal(lc_softmax_xent_forward(&probs, NULL, NULL, &logits, labels), LC_OK);
    assert_int_equal(lc_softmax_xent_backward(&d, &probs, labels, 1.0f), LC_OK);

    /* Against the closed form (p - onehot) / B. */
    double want[B * C];
    for (int i = 0; i < B; i++)
        for (int j = 0; j < C; j++)
            want[i * C + j] = (probs.data[i * C + j] - (j == labels[i])) / B;
    assert_int_equal(kc_count_mismatch("dlogits", d.data, want, B * C, 1e-6, 1e-8), 0);

    fd_ctx c = {&logits, &probs, labels};
    assert_int_equal(kc_grad_check("dlogits", logits.data, d.data, B * C, fd_loss, &c), 0);

    /* dloss scales the gradient (loss scaling, chained losses). */
    assert_int_equal(lc_softmax_xent_forward(&probs, NULL, NULL, &logits, labels), LC_OK);
    assert_int_equal(lc_softmax_xent_backward(&d, &probs, labels, 4.0f), LC_OK);
    for (int i = 0; i < B * C; i++)
        assert_true(kc_close(d.data[i], 4.0 * want[i], 1e-6, 1e-8));

    /* Negative control: the gradient without the 1/B is caught. */
    assert_int_equal(lc_softmax_xent_backward(&d, &probs, labels, (float)B), LC_OK);
    assert_true(kc_grad_check("dlogits*B (expected to fail)", logits.data, d.data, B * C,
                              fd_loss, &c) > 0);
    lc_tensor_free(&logits), lc_tensor_free(&probs), lc_tensor_free(&d);
}

static void test_in_place(void **state)
{
    (void)state;
    lc_tensor logits, probs, d;
    int32_t labels[B];
    assert_int_equal(lc_tensor_alloc_2d(&logits, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&probs, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&d, B, C), LC_OK);
    fill_case(&logits, labels, 4);
    double l1, l2;
    int64_t c1, c2;
    assert_int_equal(lc_softmax_xent_forward(&probs, &l1, &c1, &logits, labels), LC_OK);
    assert_int_equal(lc_softmax_xent_backward(&d, &probs, labels, 1.0f), LC_OK);
    /* logits -> probs -> dlogits all in one buffer */
    assert_int_equal(lc_softmax_xent_forward(&logits, &l2, &c2, &logits, labels), LC_OK);
    assert_true(l1 == l2);
    assert_int_equal(c1, c2);
    assert_memory_equal(logits.data, probs.data, B * C * sizeof(float));
    assert_int_equal(lc_softmax_xent_backward(&logits, &logits, labels, 1.0f), LC_OK);
    assert_memory_equal(logits.data, d.data, B * C * sizeof(float));
    lc_tensor_free(&logits), lc_tensor_free(&probs), lc_tensor_free(&d);
}

static void test_argmax_ties_and_leading_dims(void **state)
{
    (void)state;
    float xs[2 * 2 * 3] = {1, 5, 5, /* tie -> 1 */ 7, 7, 7, /* -> 0 */
                           0, 0, 9, /* -> 2 */ NAN, 2, 1 /* NaN skipped -> 1 */};
    lc_tensor x, p;
    float ps[12];
    int64_t s[3] = {2, 2, 3};
    assert_int_equal(lc_tensor_view(&x, xs, 3, s), LC_OK);
    assert_int_equal(lc_tensor_view(&p, ps, 3, s), LC_OK);
    int32_t pred[4];
    assert_int_equal(lc_argmax_rows(pred, &x), LC_OK);
    assert_int_equal(pred[0], 1);
    assert_int_equal(pred[1], 0);
    assert_int_equal(pred[2], 2);
    assert_int_equal(pred[3], 1);
    /* Accuracy uses the same tie rule: every row below counts as correct. */
    xs[9] = 0.0f; /* drop the NaN for the loss */
    int32_t labels[4] = {1, 0, 2, 1};
    int64_t correct;
    assert_int_equal(lc_softmax_xent_forward(&p, NULL, &correct, &x, labels), LC_OK);
    assert_int_equal(correct, 4);
    assert_int_equal(lc_argmax_rows(NULL, &x), LC_ERR_INVALID);
}

static void test_bad_labels_and_shapes(void **state)
{
    (void)state;
    lc_tensor logits, probs, wrong;
    int32_t labels[B];
    assert_int_equal(lc_tensor_alloc_2d(&logits, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&probs, B, C), LC_OK);
    assert_int_equal(lc_tensor_alloc_2d(&wrong, B, C + 1), LC_OK);
    fill_case(&logits, labels, 5);
    lc_tensor_fill(&probs, 7.0f);

    double loss = 123.0;
    int64_t correct = 456;
    labels[3] = C; /* one past the last class */
    assert_int_equal(lc_softmax_xent_forward(&probs, &loss, &correct, &logits, labels),
                     LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "label 10 of sample 3 is out of range [0, 10)") != NULL);
    /* nothing was written */
    assert_true(loss == 123.0);
    assert_int_equal(correct, 456);
    for (size_t i = 0; i < probs.numel; i++)
        assert_true(probs.data[i] == 7.0f);
    labels[3] = -1;
    assert_int_equal(lc_softmax_xent_forward(&probs, &loss, NULL, &logits, labels), LC_ERR_INVALID);
    assert_int_equal(lc_softmax_xent_backward(&probs, &logits, labels, 1.0f), LC_ERR_INVALID);
    labels[3] = 0;
    assert_int_equal(lc_softmax_xent_forward(&probs, &loss, NULL, &logits, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_softmax_xent_forward(&wrong, &loss, NULL, &logits, labels),
                     LC_ERR_INVALID);
    assert_true(strstr(lc_errmsg(), "differ in shape") != NULL);
    assert_int_equal(lc_softmax_xent_backward(&wrong, &probs, labels, 1.0f), LC_ERR_INVALID);
    assert_int_equal(lc_softmax_forward(&wrong, &logits), LC_ERR_INVALID);
    assert_int_equal(lc_softmax_xent_forward(NULL, &loss, NULL, &logits, labels), LC_ERR_INVALID);
    lc_tensor_free(&logits), lc_tensor_free(&probs), lc_tensor_free(&wrong);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_huge_logits_are_stable),
        cmocka_unit_test(test_backward_finite_differences),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_argmax_ties_and_leading_dims),
        cmocka_unit_test(test_bad_labels_and_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
