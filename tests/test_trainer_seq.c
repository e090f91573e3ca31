/*
 * tests/test_trainer_seq.c — the Sequential / MLP layers of the public API:
 * parameter names and initialisation, forward against a naive reference,
 * gradients of the cross-entropy loss against central finite differences
 * (GELU, and ReLU + dropout with a fixed mask), accumulation, bad input,
 * and the same bits for every thread count on the default MLP's shapes
 * (large enough that every parallel kernel splits its work).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_check.h"
#include "blas_info.h"
#include "lightc/trainer.h"
#include "optim.h"
#include "params.h"
#include "rng.h"

typedef struct fd_ctx {
    lc_seq *seq;
    const float *x;
    const int32_t *y;
    int64_t rows;
    int training;
    lc_rng rng0; /* the dropout RNG before the forward: same mask every time */
} fd_ctx;

static double fd_loss(void *p)
{
    fd_ctx *c = p;
    lc_rng r = c->rng0;
    const float *out;
    double loss = NAN;
    if (lc_seq_forward(c->seq, c->x, c->rows, c->training, &r, &out) == LC_OK)
        lc_seq_cross_entropy(c->seq, c->y, &loss, NULL);
    return loss;
}

static void check_grads(lc_seq *seq, int training)
{
    enum { ROWS = 6, IN = 5 };
    lc_rng r;
    lc_rng_seed(&r, 3, 9);
    float x[ROWS * IN];
    kc_fill(&r, x, ROWS * IN, -2, 2);
    int32_t y[ROWS] = {0, 1, 2, 1, 0, 2};
    fd_ctx c = {.seq = seq, .x = x, .y = y, .rows = ROWS, .training = training};
    lc_rng_seed(&c.rng0, 77, 5);

    lc_params *ps = lc_seq_params(seq);
    lc_params_zero_grad(ps);
    double loss = fd_loss(&c);
    assert_true(isfinite(loss));
    assert_int_equal(lc_seq_backward(seq, 1.0), LC_OK);
    /* copy the analytic gradients: fd_loss's forwards do not touch them,
       but keep them apart from the buffers being perturbed anyway */
    for (size_t i = 0; i < ps->len; i++) {
        lc_param *p = &ps->items[i];
        float *g = malloc(p->count * sizeof *g);
        memcpy(g, p->grad, p->count * sizeof *g);
        assert_int_equal(kc_grad_check(p->name, p->data, g, p->count, fd_loss, &c), 0);
        free(g);
    }
}

static void test_gelu_mlp_gradients(void **s)
{
    (void)s;
    int64_t hidden[2] = {7, 4};
    lc_seq *seq;
    assert_int_equal(lc_seq_mlp(&seq, 5, hidden, 2, 3, LC_ACT_GELU, 0.0f, 1), LC_OK);
    check_grads(seq, 1);
    lc_seq_free(seq);
}

static void test_relu_dropout_gradients(void **s)
{
    (void)s;
    lc_seq *seq;
    assert_int_equal(lc_seq_create(&seq, 5, 2), LC_OK);
    assert_int_equal(lc_seq_add_linear(seq, 8, 1), LC_OK);
    assert_int_equal(lc_seq_add_activation(seq, LC_ACT_RELU), LC_OK);
    assert_int_equal(lc_seq_add_dropout(seq, 0.4f), LC_OK);
    assert_int_equal(lc_seq_add_linear(seq, 3, 0), LC_OK); /* no bias */
    check_grads(seq, 1);
    lc_seq_free(seq);
}

static void test_names_init_and_forward(void **s)
{
    (void)s;
    int64_t hidden[1] = {4};
    lc_seq *seq;
    assert_int_equal(lc_seq_mlp(&seq, 3, hidden, 1, 2, LC_ACT_RELU, 0.5f, 9), LC_OK);
    lc_params *ps = lc_seq_params(seq);
    assert_int_equal(ps->len, 4);
    /* nn.Sequential(Linear, ReLU, Dropout, Linear) names */
    assert_string_equal(ps->items[0].name, "0.weight");
    assert_string_equal(ps->items[1].name, "0.bias");
    assert_string_equal(ps->items[2].name, "3.weight");
    assert_int_equal(lc_seq_num_layers(seq), 4);
    assert_string_equal(lc_seq_layer_type(seq, 2), "Dropout");
    char buf[128];
    assert_string_equal(lc_seq_layer_desc(seq, 0, buf, sizeof buf),
                        "in_features=3, out_features=4, bias=True");
    /* uniform in +-1/sqrt(fan_in) */
    for (size_t i = 0; i < ps->items[0].count; i++)
        assert_true(fabsf(ps->items[0].data[i]) <= 1.0f / sqrtf(3.0f));
    for (size_t i = 0; i < ps->items[2].count; i++)
        assert_true(fabsf(ps->items[2].data[i]) <= 0.5f);
    /* eval forward (dropout off) == naive reference */
    float x[2 * 3] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
    const float *out;
    assert_int_equal(lc_seq_forward(seq, x, 2, 0, NULL, &out), LC_OK);
    for (int r = 0; r < 2; r++) {
        double h[4];
        for (int j = 0; j < 4; j++) {
            double a = ps->items[1].data[j];
            for (int k = 0; k < 3; k++)
                a += (double)ps->items[0].data[j * 3 + k] * x[r * 3 + k];
            h[j] = a > 0 ? a : 0;
        }
        for (int j = 0; j < 2; j++) {
            double a = ps->items[3].data[j];
            for (int k = 0; k < 4; k++)
                a += (double)ps->items[2].data[j * 4 + k] * h[k];
            assert_true(kc_close(out[r * 2 + j], a, 1e-5, 1e-6));
        }
    }
    /* same seed, same weights */
    lc_seq *again;
    assert_int_equal(lc_seq_mlp(&again, 3, hidden, 1, 2, LC_ACT_RELU, 0.5f, 9), LC_OK);
    assert_memory_equal(lc_seq_params(again)->items[0].data, ps->items[0].data, 12 * sizeof(float));
    lc_seq_free(again);
    lc_seq_free(seq);
}

static void test_gradients_accumulate(void **s)
{
    (void)s;
    int64_t hidden[1] = {4};
    lc_seq *seq;
    assert_int_equal(lc_seq_mlp(&seq, 3, hidden, 1, 2, LC_ACT_GELU, 0, 4), LC_OK);
    float x[3] = {1, 2, 3};
    int32_t y[1] = {1};
    const float *out;
    double loss;
    lc_params *ps = lc_seq_params(seq);
    lc_params_zero_grad(ps);
    lc_seq_forward(seq, x, 1, 1, NULL, &out);
    lc_seq_cross_entropy(seq, y, &loss, NULL);
    assert_int_equal(lc_seq_backward(seq, 0.5), LC_OK);
    float once = ps->items[0].grad[5];
    assert_true(once != 0);
    assert_int_equal(lc_seq_backward(seq, 0.5), LC_OK);
    assert_true(kc_close(ps->items[0].grad[5], 2 * once, 1e-6, 0));
    lc_seq_free(seq);
}

static void test_bad_input(void **s)
{
    (void)s;
    lc_seq *seq;
    assert_int_equal(lc_seq_create(&seq, 0, 1), LC_ERR_INVALID);
    assert_int_equal(lc_seq_create(&seq, 3, 1), LC_OK);
    const float *out;
    float x[6] = {0};
    assert_int_equal(lc_seq_forward(seq, x, 2, 0, NULL, &out), LC_ERR_STATE); /* no layers */
    assert_int_equal(lc_seq_add_linear(seq, 0, 1), LC_ERR_INVALID);
    assert_int_equal(lc_seq_add_dropout(seq, 1.5f), LC_ERR_INVALID);
    assert_int_equal(lc_seq_add_activation(seq, (lc_activation)7), LC_ERR_INVALID);
    assert_int_equal(lc_seq_add_linear(seq, 2, 1), LC_OK);
    assert_int_equal(lc_seq_backward(seq, 1.0), LC_ERR_STATE); /* nothing to differentiate */
    assert_int_equal(lc_seq_forward(seq, x, 0, 0, NULL, &out), LC_ERR_INVALID);
    assert_int_equal(lc_seq_forward(seq, x, 2, 0, NULL, &out), LC_OK);
    int32_t bad[2] = {0, 5};
    double loss;
    assert_int_equal(lc_seq_cross_entropy(seq, bad, &loss, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_seq_add_linear(seq, 2, 1), LC_ERR_STATE); /* after a forward */
    lc_seq_free(seq);
    /* dropout in training needs an RNG */
    assert_int_equal(lc_seq_create(&seq, 3, 1), LC_OK);
    lc_seq_add_dropout(seq, 0.5f);
    assert_int_equal(lc_seq_forward(seq, x, 2, 1, NULL, &out), LC_ERR_INVALID);
    lc_seq_free(seq);
}

/* A few AdamW steps of the default MLP (784-512-256-10, ReLU, dropout 0.2,
 * batch 128) with `threads` threads; returns every parameter, concatenated. */
static float *train_steps(int threads, size_t *count)
{
    enum { ROWS = 128, IN = 784, STEPS = 3 };
    int64_t hidden[2] = {512, 256};
    lc_blas_set_threads(threads);
    lc_seq *seq;
    assert_int_equal(lc_seq_mlp(&seq, IN, hidden, 2, 10, LC_ACT_RELU, 0.2f, 42), LC_OK);
    lc_optim_config oc;
    lc_optim_config_default(&oc, LC_OPTIM_ADAMW);
    lc_optim *opt;
    assert_int_equal(lc_optim_create(&opt, lc_seq_params(seq), &oc), LC_OK);
    float *x = malloc(sizeof(float) * ROWS * IN);
    int32_t y[ROWS];
    lc_rng data, drop;
    lc_rng_seed(&data, 5, 6);
    lc_rng_seed(&drop, 7, 8);
    for (int step = 0; step < STEPS; step++) {
        kc_fill(&data, x, ROWS * IN, -1, 2);
        for (int i = 0; i < ROWS; i++)
            y[i] = (int32_t)lc_rng_below(&data, 10);
        const float *out;
        double loss;
        assert_int_equal(lc_seq_forward(seq, x, ROWS, 1, &drop, &out), LC_OK);
        assert_int_equal(lc_seq_cross_entropy(seq, y, &loss, NULL), LC_OK);
        assert_int_equal(lc_optim_zero_grad(opt), LC_OK);
        assert_int_equal(lc_seq_backward(seq, 1.0), LC_OK);
        assert_int_equal(lc_optim_step(opt), LC_OK);
    }
    lc_params *ps = lc_seq_params(seq);
    size_t n = 0;
    for (size_t i = 0; i < ps->len; i++)
        n += ps->items[i].count;
    float *all = malloc(n * sizeof *all), *at = all;
    for (size_t i = 0; i < ps->len; i++, at += ps->items[i - 1].count)
        memcpy(at, ps->items[i].data, ps->items[i].count * sizeof *at);
    *count = n;
    free(x);
    lc_optim_free(opt);
    lc_seq_free(seq);
    return all;
}

static void test_same_bits_any_thread_count(void **s)
{
    (void)s;
    int saved = lc_blas_get_threads();
    size_t n1, n;
    float *one = train_steps(1, &n1);
    const int counts[] = {2, 3, 4};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        float *many = train_steps(counts[k], &n);
        assert_int_equal(n, n1);
        assert_memory_equal(one, many, n * sizeof *one);
        free(many);
    }
    free(one);
    lc_blas_set_threads(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gelu_mlp_gradients),
        cmocka_unit_test(test_relu_dropout_gradients),
        cmocka_unit_test(test_names_init_and_forward),
        cmocka_unit_test(test_gradients_accumulate),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_same_bits_any_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
