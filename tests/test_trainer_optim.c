/*
 * tests/test_trainer_optim.c — optimizer objects (trainer/optim.h): SGD,
 * Adam and AdamW against hand-computed torch.optim steps, frozen
 * parameters, bad hyperparameters, and checkpoint state (blob and
 * enumeration) that lets a restored optimizer continue bit-identically.
 *
 * The expected values are the PyTorch update formulas worked by hand for one
 * scalar parameter p0 = 1 with the gradients given; float32 arithmetic
 * differs from these exact values by < 1e-7, hence the 1e-6 tolerance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"

#define TOL 1e-6

/* One scalar parameter "p" with p = 1, driven by a list of gradients. */
typedef struct scalar_model {
    float p, g;
    lc_params ps;
    lc_optim *opt;
} scalar_model;

static void scalar_init(scalar_model *m, const lc_optim_config *cfg)
{
    m->p = 1.0f;
    m->g = 0.0f;
    lc_params_init(&m->ps);
    int64_t s[1] = {1};
    assert_int_equal(lc_params_add(&m->ps, "p", &m->p, &m->g, 1, s), LC_OK);
    assert_int_equal(lc_optim_create(&m->opt, &m->ps, cfg), LC_OK);
}

static void scalar_free(scalar_model *m)
{
    lc_optim_free(m->opt);
    lc_params_free(&m->ps);
}

/* Run len steps with grads[k] and compare p with expect[k] after each. */
static void scalar_run(const lc_optim_config *cfg, const float *grads, const double *expect,
                       int len)
{
    scalar_model m;
    scalar_init(&m, cfg);
    for (int k = 0; k < len; k++) {
        m.g = grads[k];
        assert_int_equal(lc_optim_step(m.opt), LC_OK);
        if (fabs(m.p - expect[k]) > TOL)
            fail_msg("step %d: p = %.9g, expected %.9g", k + 1, (double)m.p, expect[k]);
    }
    assert_int_equal(lc_optim_step_count(m.opt), len);
    scalar_free(&m);
}

/* ------------------------------------------------------------------------ */
/* Update rules vs hand-computed PyTorch steps                               */

static void test_defaults_and_names(void **state)
{
    (void)state;
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    assert_true(c.lr == 1e-3 && c.momentum == 0.0 && c.dampening == 0.0 &&
                c.weight_decay == 0.0 && c.nesterov == 0);
    lc_optim_config_default(&c, LC_OPTIM_ADAM);
    assert_true(c.lr == 1e-3 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 &&
                c.weight_decay == 0.0);
    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    assert_true(c.lr == 1e-3 && c.weight_decay == 1e-2);

    lc_optim_kind k;
    assert_int_equal(lc_optim_kind_parse("adamw", &k), LC_OK);
    assert_int_equal(k, LC_OPTIM_ADAMW);
    assert_int_equal(lc_optim_kind_parse("SGD", &k), LC_OK);
    assert_int_equal(k, LC_OPTIM_SGD);
    assert_int_equal(lc_optim_kind_parse("rmsprop", &k), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "AdamW"));

    scalar_model m;
    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    scalar_init(&m, &c);
    assert_string_equal(lc_optim_name(m.opt), "AdamW");
    assert_true(lc_optim_lr(m.opt) == 1e-3);
    assert_int_equal(lc_optim_set_lr(m.opt, 0.5), LC_OK);
    assert_true(lc_optim_lr(m.opt) == 0.5);
    assert_true(lc_optim_initial_lr(m.opt) == 1e-3); /* the schedulers' base lr */
    assert_int_equal(lc_optim_set_lr(m.opt, NAN), LC_ERR_INVALID);
    assert_int_equal(lc_optim_set_lr(m.opt, -1.0), LC_ERR_INVALID);
    assert_true(lc_optim_lr(m.opt) == 0.5);
    scalar_free(&m);
}

static void test_sgd_plain(void **state)
{
    (void)state;
    /* SGD(lr=0.1), g = 0.5 every step: p -= 0.05 each step. */
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = 0.1;
    const float g[3] = {0.5f, 0.5f, 0.5f};
    const double e[3] = {0.95, 0.90, 0.85};
    scalar_run(&c, g, e, 3);
}

static void test_sgd_momentum(void **state)
{
    (void)state;
    /* SGD(lr=0.1, momentum=0.9), g = 0.5:
     *   t1: buf = g = 0.5                    p = 1    - 0.1*0.5   = 0.95
     *   t2: buf = 0.9*0.5  + 0.5 = 0.95      p = 0.95 - 0.1*0.95  = 0.855
     *   t3: buf = 0.9*0.95 + 0.5 = 1.355     p = 0.855 - 0.1*1.355 = 0.7195 */
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    const float g[3] = {0.5f, 0.5f, 0.5f};
    const double e[3] = {0.95, 0.855, 0.7195};
    scalar_run(&c, g, e, 3);

    /* dampening = 0.5: buf = 0.9 buf + (1 - 0.5) g after the first step:
     *   t1: buf = 0.5                       p = 0.95
     *   t2: buf = 0.45 + 0.25 = 0.7         p = 0.95 - 0.07  = 0.88
     *   t3: buf = 0.63 + 0.25 = 0.88        p = 0.88 - 0.088 = 0.792 */
    c.dampening = 0.5;
    const double e2[3] = {0.95, 0.88, 0.792};
    scalar_run(&c, g, e2, 3);
}

static void test_sgd_nesterov_weight_decay(void **state)
{
    (void)state;
    /* SGD(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
     * grads 0.5, -0.5, 0.25; d = g + 0.1 p; buf as above; step = d + 0.9 buf:
     *   t1: d = 0.5 + 0.1        = 0.6      buf = 0.6
     *       step = 0.6 + 0.54    = 1.14     p = 1 - 0.114 = 0.886
     *   t2: d = -0.5 + 0.0886    = -0.4114  buf = 0.54 - 0.4114 = 0.1286
     *       step = -0.4114 + 0.11574 = -0.29566   p = 0.886 + 0.029566 = 0.915566
     *   t3: d = 0.25 + 0.0915566 = 0.3415566
     *       buf = 0.11574 + 0.3415566 = 0.4572966
     *       step = 0.3415566 + 0.41156694 = 0.75312354
     *       p = 0.915566 - 0.075312354 = 0.840253646 */
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    c.weight_decay = 0.1;
    c.nesterov = 1;
    const float g[3] = {0.5f, -0.5f, 0.25f};
    const double e[3] = {0.886, 0.915566, 0.840253646};
    scalar_run(&c, g, e, 3);
}

static void test_adam(void **state)
{
    (void)state;
    /* Adam(lr=0.1), betas (0.9, 0.999), eps 1e-8, grads 0.5, -0.25, 1.0:
     *   t1: m = 0.05, v = 0.00025; m^ = m/0.1 = 0.5, v^ = v/0.001 = 0.25
     *       p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)              = 0.900000002
     *   t2: m = 0.045 - 0.025 = 0.02
     *       v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
     *       m^ = 0.02 / 0.19 = 0.10526316, v^ = 0.00031225 / 0.001999 = 0.15620310
     *       p = 0.9 - 0.1 * 0.10526316 / 0.39522538     = 0.87336630
     *   t3: m = 0.018 + 0.1 = 0.118
     *       v = 0.999*0.00031225 + 0.001 = 0.00131193775
     *       m^ = 0.118 / 0.271 = 0.43542435, v^ = v / 0.002997001 = 0.43774999
     *       p = 0.87336630 - 0.1 * 0.43542435 / 0.66162674 = 0.80755514 */
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_ADAM);
    c.lr = 0.1;
    const float g[3] = {0.5f, -0.25f, 1.0f};
    const double e[3] = {0.900000002, 0.8733662987, 0.8075551397};
    scalar_run(&c, g, e, 3);

    /* Adam's weight_decay is L2 in the gradient: with 0.1, t1 sees
     * g = 0.5 + 0.1 = 0.6, and since m^/sqrt(v^) = sign(g) on step 1 the
     * first step is still -0.1; t2: g = -0.25 + 0.09 = -0.16,
     * m = 0.054 - 0.016 = 0.038, v = 0.999*0.00036 + 0.001*0.0256 = 0.00038524,
     * m^ = 0.2, v^ = 0.19271636, p = 0.9 - 0.1*0.2/0.43899471 = 0.85444141 */
    c.weight_decay = 0.1;
    const double e2[2] = {0.900000002, 0.8544414};
    scalar_run(&c, g, e2, 2);
}

static void test_adamw(void **state)
{
    (void)state;
    /* AdamW(lr=0.1, weight_decay=0.01): first p *= 1 - 0.1*0.01 = 0.999,
     * then the Adam step with the raw gradient (same m, v as test_adam):
     *   t1: p = 0.999 - 0.1                          = 0.899000002
     *   t2: p = 0.899000002*0.999 - 0.02664...       = 0.87146730
     *   t3: p = 0.87146730*0.999 - 0.06581116        = 0.80478467 */
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    c.lr = 0.1;
    const float g[3] = {0.5f, -0.25f, 1.0f};
    const double e[3] = {0.899000002, 0.8714672987, 0.8047846724};
    scalar_run(&c, g, e, 3);
}

/* ------------------------------------------------------------------------ */
/* Frozen parameters, zero_grad, bad configuration                           */

static void test_frozen_and_zero_grad(void **state)
{
    (void)state;
    float w[2] = {1, 2}, dw[2] = {1, 1}, fz[2] = {3, 4};
    lc_params ps;
    lc_params_init(&ps);
    int64_t s[1] = {2};
    assert_int_equal(lc_params_add(&ps, "w", w, dw, 1, s), LC_OK);
    assert_int_equal(lc_params_add(&ps, "frozen", fz, NULL, 1, s), LC_OK);
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_ADAM);
    lc_optim *o;
    assert_int_equal(lc_optim_create(&o, &ps, &c), LC_OK);
    assert_int_equal(lc_optim_state_nbuf(o), 2); /* exp_avg + exp_avg_sq of "w" only */
    assert_int_equal(lc_optim_step(o), LC_OK);
    assert_true(fz[0] == 3.0f && fz[1] == 4.0f);
    assert_true(w[0] < 1.0f && w[1] < 2.0f);
    lc_optim_zero_grad(o);
    assert_true(dw[0] == 0.0f && dw[1] == 0.0f);

    /* The registry must not grow under an optimizer. */
    float extra[2] = {0}, dextra[2] = {0};
    assert_int_equal(lc_params_add(&ps, "late", extra, dextra, 1, s), LC_OK);
    assert_int_equal(lc_optim_step(o), LC_ERR_STATE);
    assert_non_null(strstr(lc_errmsg(), "register every parameter first"));
    assert_int_equal(lc_optim_step_count(o), 1);
    lc_optim_free(o);
    lc_params_free(&ps);
}

static void test_bad_config(void **state)
{
    (void)state;
    float p = 1, g = 0;
    lc_params ps;
    lc_params_init(&ps);
    int64_t s[1] = {1};
    assert_int_equal(lc_params_add(&ps, "p", &p, &g, 1, s), LC_OK);
    lc_optim *o = (lc_optim *)&p; /* must be reset to NULL on failure */
    lc_optim_config c;

    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = -0.1;
    assert_int_equal(lc_optim_create(&o, &ps, &c), LC_ERR_INVALID);
    assert_null(o);
    assert_non_null(strstr(lc_errmsg(), "learning rate"));

    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.nesterov = 1; /* needs momentum */
    assert_int_equal(lc_optim_create(&o, &ps, &c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "Nesterov"));

    lc_optim_config_default(&c, LC_OPTIM_ADAM);
    c.beta2 = 1.0;
    assert_int_equal(lc_optim_create(&o, &ps, &c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "beta2"));

    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    c.eps = NAN;
    assert_int_equal(lc_optim_create(&o, &ps, &c), LC_ERR_INVALID);

    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.kind = (lc_optim_kind)7;
    assert_int_equal(lc_optim_create(&o, &ps, &c), LC_ERR_INVALID);
    assert_int_equal(lc_optim_create(&o, NULL, &c), LC_ERR_INVALID);
    assert_int_equal(lc_optim_create(&o, &ps, NULL), LC_ERR_INVALID);
    assert_int_equal(lc_optim_create(NULL, &ps, &c), LC_ERR_INVALID);
    lc_optim_free(NULL);
    lc_params_free(&ps);
}

/* ------------------------------------------------------------------------ */
/* Checkpoint state                                                          */

enum { NW = 7, NB = 3 };

/* A two-parameter model whose gradient at step k is a fixed function of k
 * and of the current weights (so state and weights both matter). */
typedef struct model {
    float w[NW], dw[NW], b[NB], db[NB];
    lc_params ps;
    lc_optim *opt;
} model;

static void model_init(model *m, const lc_optim_config *cfg)
{
    for (int i = 0; i < NW; i++)
        m->w[i] = 0.1f * (float)(i + 1);
    for (int i = 0; i < NB; i++)
        m->b[i] = -0.2f * (float)i;
    lc_params_init(&m->ps);
    int64_t sw[2] = {NW, 1}, sb[1] = {NB};
    assert_int_equal(lc_params_add(&m->ps, "fc.weight", m->w, m->dw, 2, sw), LC_OK);
    assert_int_equal(lc_params_add(&m->ps, "fc.bias", m->b, m->db, 1, sb), LC_OK);
    assert_int_equal(lc_optim_create(&m->opt, &m->ps, cfg), LC_OK);
}

static void model_step(model *m, int k)
{
    lc_optim_zero_grad(m->opt);
    for (int i = 0; i < NW; i++)
        m->dw[i] = m->w[i] * 0.5f + (float)((k * 7 + i) % 5) * 0.1f - 0.2f;
    for (int i = 0; i < NB; i++)
        m->db[i] = (float)((k + i) % 3) - 1.0f;
    assert_int_equal(lc_optim_step(m->opt), LC_OK);
}

static void model_free(model *m)
{
    lc_optim_free(m->opt);
    lc_params_free(&m->ps);
}

/* 6 uninterrupted steps == 3 steps, save, fresh model + load, 3 steps. */
static void check_resume(const lc_optim_config *cfg)
{
    model a, b1, b2;
    model_init(&a, cfg);
    for (int k = 0; k < 6; k++)
        model_step(&a, k);

    model_init(&b1, cfg);
    for (int k = 0; k < 3; k++)
        model_step(&b1, k);
    lc_optim_set_lr(b1.opt, cfg->lr); /* same lr, set explicitly */
    size_t n = lc_optim_state_size(b1.opt);
    unsigned char *blob = malloc(n);
    assert_non_null(blob);
    assert_int_equal(lc_optim_state_save(b1.opt, blob, n), LC_OK);

    /* A fresh process: new model with the weights from the "checkpoint". */
    model_init(&b2, cfg);
    memcpy(b2.w, b1.w, sizeof b2.w);
    memcpy(b2.b, b1.b, sizeof b2.b);
    assert_int_equal(lc_optim_state_load(b2.opt, blob, n), LC_OK);
    assert_int_equal(lc_optim_step_count(b2.opt), 3);
    for (int k = 3; k < 6; k++)
        model_step(&b2, k);

    assert_memory_equal(a.w, b2.w, sizeof a.w);
    assert_memory_equal(a.b, b2.b, sizeof a.b);
    free(blob);
    model_free(&a);
    model_free(&b1);
    model_free(&b2);
}

static void test_resume_bit_identical(void **state)
{
    (void)state;
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = 0.05;
    c.momentum = 0.9;
    c.nesterov = 1;
    c.weight_decay = 1e-3;
    check_resume(&c);
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = 0.05; /* no state buffers at all */
    check_resume(&c);
    lc_optim_config_default(&c, LC_OPTIM_ADAM);
    c.lr = 0.01;
    check_resume(&c);
    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    c.lr = 0.01;
    check_resume(&c);
}

/* Without the state, the continuation differs: the check above has teeth. */
static void test_resume_without_state_differs(void **state)
{
    (void)state;
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_ADAM);
    c.lr = 0.01;
    model a, b;
    model_init(&a, &c);
    model_init(&b, &c);
    for (int k = 0; k < 6; k++)
        model_step(&a, k);
    for (int k = 0; k < 3; k++)
        model_step(&b, k);
    lc_optim_free(b.opt);
    assert_int_equal(lc_optim_create(&b.opt, &b.ps, &c), LC_OK);
    for (int k = 3; k < 6; k++)
        model_step(&b, k);
    assert_true(memcmp(a.w, b.w, sizeof a.w) != 0);
    model_free(&a);
    model_free(&b);
}

static void test_state_restores_hyperparameters(void **state)
{
    (void)state;
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    c.lr = 0.02;
    c.weight_decay = 0.05;
    model a, b;
    model_init(&a, &c);
    model_step(&a, 0);
    lc_optim_set_lr(a.opt, 0.0125); /* as a scheduler would */
    c.lr = 0.5;
    c.weight_decay = 0.0;
    model_init(&b, &c);
    size_t n = lc_optim_state_size(a.opt);
    unsigned char *blob = malloc(n);
    assert_int_equal(lc_optim_state_save(a.opt, blob, n), LC_OK);
    assert_int_equal(lc_optim_state_load(b.opt, blob, n), LC_OK);
    assert_true(lc_optim_lr(b.opt) == 0.0125);
    assert_true(lc_optim_initial_lr(b.opt) == 0.02);
    assert_true(lc_optim_config_get(b.opt)->weight_decay == 0.05);
    free(blob);
    model_free(&a);
    model_free(&b);
}

static void test_state_load_rejects(void **state)
{
    (void)state;
    lc_optim_config adam, sgd;
    lc_optim_config_default(&adam, LC_OPTIM_ADAM);
    lc_optim_config_default(&sgd, LC_OPTIM_SGD);
    sgd.momentum = 0.9;
    model a, s;
    model_init(&a, &adam);
    model_init(&s, &sgd);
    model_step(&a, 0);
    model_step(&a, 1);
    model_step(&s, 0);
    size_t n = lc_optim_state_size(a.opt);
    unsigned char *blob = malloc(n + 1);
    assert_int_equal(lc_optim_state_save(a.opt, blob, n), LC_OK);
    assert_int_equal(lc_optim_state_save(a.opt, blob, n - 1), LC_ERR_INVALID);

    /* Another kind. */
    float before[NW];
    memcpy(before, s.w, sizeof before);
    assert_int_equal(lc_optim_state_load(s.opt, blob, n), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "saved by Adam but this optimizer is SGD"));
    assert_int_equal(lc_optim_step_count(s.opt), 1);

    /* Another model: same kind, other parameter names. */
    float x[NW], dx[NW], y[NB], dy[NB];
    memset(x, 0, sizeof x);
    memset(y, 0, sizeof y);
    lc_params other;
    lc_params_init(&other);
    int64_t sw[1] = {NW}, sb[1] = {NB};
    assert_int_equal(lc_params_add(&other, "enc.weight", x, dx, 1, sw), LC_OK);
    assert_int_equal(lc_params_add(&other, "enc.bias", y, dy, 1, sb), LC_OK);
    lc_optim *o;
    assert_int_equal(lc_optim_create(&o, &other, &adam), LC_OK);
    assert_int_equal(lc_optim_state_load(o, blob, n), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "fc.weight"));
    assert_non_null(strstr(lc_errmsg(), "enc.weight"));
    assert_int_equal(lc_optim_step_count(o), 0);

    /* Truncated anywhere, trailing bytes, bad magic: rejected, state unchanged. */
    model b;
    model_init(&b, &adam);
    model_step(&b, 5);
    size_t nb = lc_optim_state_nbuf(b.opt);
    lc_optim_buf sb0;
    assert_int_equal(lc_optim_state_buf(b.opt, 0, &sb0), LC_OK);
    float keep = sb0.data[0];
    for (size_t cut = 0; cut < n; cut += 13)
        assert_int_equal(lc_optim_state_load(b.opt, blob, cut), LC_ERR_INVALID);
    assert_int_equal(lc_optim_state_load(b.opt, blob, n - 1), LC_ERR_INVALID);
    blob[n] = 0;
    assert_int_equal(lc_optim_state_load(b.opt, blob, n + 1), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "unexpected bytes"));
    blob[0] ^= 0x20;
    assert_int_equal(lc_optim_state_load(b.opt, blob, n), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "magic"));
    blob[0] ^= 0x20;
    assert_int_equal(lc_optim_step_count(b.opt), 1);
    assert_int_equal(lc_optim_state_nbuf(b.opt), nb);
    assert_true(sb0.data[0] == keep);
    /* ...and the intact blob still loads. */
    assert_int_equal(lc_optim_state_load(b.opt, blob, n), LC_OK);
    assert_int_equal(lc_optim_step_count(b.opt), 2);
    assert_int_equal(lc_optim_state_load(b.opt, NULL, n), LC_ERR_INVALID);

    free(blob);
    lc_optim_free(o);
    lc_params_free(&other);
    model_free(&a);
    model_free(&b);
    model_free(&s);
}

static void test_state_enumeration(void **state)
{
    (void)state;
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_ADAMW);
    c.lr = 0.01;
    model a, b, ref;
    model_init(&a, &c);
    model_init(&ref, &c);
    for (int k = 0; k < 4; k++) {
        model_step(&a, k);
        model_step(&ref, k);
    }
    assert_int_equal(lc_optim_state_nbuf(a.opt), 4);
    lc_optim_buf buf;
    assert_int_equal(lc_optim_state_buf(a.opt, 0, &buf), LC_OK);
    assert_string_equal(buf.name, "fc.weight.exp_avg");
    assert_string_equal(buf.param, "fc.weight");
    assert_string_equal(buf.state, "exp_avg");
    assert_int_equal(buf.count, NW);
    assert_int_equal(lc_optim_state_buf(a.opt, 3, &buf), LC_OK);
    assert_string_equal(buf.name, "fc.bias.exp_avg_sq");
    assert_int_equal(buf.count, NB);
    assert_true(buf.data[0] > 0.0f);
    assert_int_equal(lc_optim_state_buf(a.opt, 4, &buf), LC_ERR_INVALID);

    /* Restore by name into a fresh optimizer, plus the step count. */
    model_init(&b, &c);
    memcpy(b.w, a.w, sizeof b.w);
    memcpy(b.b, a.b, sizeof b.b);
    for (size_t i = 0; i < lc_optim_state_nbuf(a.opt); i++) {
        lc_optim_buf src, dst;
        assert_int_equal(lc_optim_state_buf(a.opt, i, &src), LC_OK);
        assert_int_equal(lc_optim_state_buf(b.opt, i, &dst), LC_OK);
        assert_string_equal(src.name, dst.name);
        memcpy(dst.data, src.data, src.count * sizeof(float));
    }
    assert_int_equal(lc_optim_set_step_count(b.opt, lc_optim_step_count(a.opt)), LC_OK);
    assert_int_equal(lc_optim_set_step_count(b.opt, -1), LC_ERR_INVALID);
    for (int k = 4; k < 7; k++) {
        model_step(&b, k);
        model_step(&ref, k);
    }
    assert_memory_equal(b.w, ref.w, sizeof b.w);
    assert_memory_equal(b.b, ref.b, sizeof b.b);

    /* SGD without momentum has no state; with momentum one buffer each. */
    lc_optim_config s;
    lc_optim_config_default(&s, LC_OPTIM_SGD);
    lc_optim *o;
    assert_int_equal(lc_optim_create(&o, &a.ps, &s), LC_OK);
    assert_int_equal(lc_optim_state_nbuf(o), 0);
    lc_optim_free(o);
    s.momentum = 0.5;
    assert_int_equal(lc_optim_create(&o, &a.ps, &s), LC_OK);
    assert_int_equal(lc_optim_state_nbuf(o), 2);
    assert_int_equal(lc_optim_state_buf(o, 1, &buf), LC_OK);
    assert_string_equal(buf.name, "fc.bias.momentum_buffer");
    lc_optim_free(o);

    model_free(&a);
    model_free(&b);
    model_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_nesterov_weight_decay),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_frozen_and_zero_grad),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_resume_without_state_differs),
        cmocka_unit_test(test_state_restores_hyperparameters),
        cmocka_unit_test(test_state_load_rejects),
        cmocka_unit_test(test_state_enumeration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
