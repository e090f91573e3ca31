/*
 * tests/test_trainer_sched.c — learning-rate schedulers (trainer/lr_sched.h)
 * against lr sequences worked by hand from torch.optim.lr_scheduler's
 * step() (the recursive form, in double). Where the recursion leaves
 * rounding residue the expected literal is the double PyTorch prints
 * (e.g. 0.010000000000000002 = 0.1 * 0.1), and the comparison is exact:
 * a scheduler that used the closed form or float would fail.
 * Also: ReduceLROnPlateau's counters, Lightning's config fields, state
 * save/load round trips and bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lr_sched.h"

/* One parameter and an SGD optimizer with the given lr. */
typedef struct fixture {
    float p, g;
    lc_params ps;
    lc_optim *opt;
} fixture;

static void fx_init(fixture *f, double lr)
{
    f->p = 1.0f;
    f->g = 0.0f;
    lc_params_init(&f->ps);
    int64_t s[1] = {1};
    assert_int_equal(lc_params_add(&f->ps, "p", &f->p, &f->g, 1, s), LC_OK);
    lc_optim_config c;
    lc_optim_config_default(&c, LC_OPTIM_SGD);
    c.lr = lr;
    assert_int_equal(lc_optim_create(&f->opt, &f->ps, &c), LC_OK);
}

static void fx_free(fixture *f)
{
    lc_optim_free(f->opt);
    lc_params_free(&f->ps);
}

/* expect[0] is the lr right after construction, expect[k] after k steps;
 * the optimizer's lr and get_last_lr must both match bit for bit. */
static void check_sequence(lc_sched *s, lc_optim *opt, const double *expect, int n)
{
    for (int k = 0; k < n; k++) {
        if (k > 0)
            assert_int_equal(lc_sched_step(s), LC_OK);
        if (lc_optim_lr(opt) != expect[k] || lc_sched_last_lr(s) != expect[k])
            fail_msg("after %d steps: lr %.17g (last_lr %.17g), expected %.17g", k,
                     lc_optim_lr(opt), lc_sched_last_lr(s), expect[k]);
    }
}

/* ------------------------------------------------------------------------ */
/* Sequences                                                                 */

static void test_step_lr(void **state)
{
    (void)state;
    /* StepLR(step_size=2, gamma=0.1), lr 1: x0.1 at epochs 2, 4, 6 —
     * recursively, so epoch 4 is 0.1 * 0.1 = 0.010000000000000002. */
    fixture f;
    fx_init(&f, 1.0);
    lc_sched *s;
    assert_int_equal(lc_sched_step_lr(&s, f.opt, 2, 0.1), LC_OK);
    assert_string_equal(lc_sched_name(s), "StepLR");
    assert_int_equal(lc_sched_last_epoch(s), 0);
    const double e[7] = {1.0, 1.0, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002,
                         0.0010000000000000002};
    check_sequence(s, f.opt, e, 7);
    assert_int_equal(lc_sched_last_epoch(s), 6);
    lc_sched_free(s);
    fx_free(&f);
}

static void test_cosine(void **state)
{
    (void)state;
    /* CosineAnnealingLR(T_max=4, eta_min=0), lr 1:
     *   e1: (1 + cos(pi/4)) / (1 + cos 0) * 1          = 0.8535533905932737
     *   e2: (1 + cos(pi/2)) / (1 + cos(pi/4)) * 0.85355 = 0.5
     *   e3: (1 + cos(3pi/4)) / (1 + cos(pi/2)) * 0.5   = 0.14644660940672627
     *   e4: (1 + cos pi) / ... = 0
     *   e5: (5 - 1 - 4) % 8 == 0: 0 + (1 - 0)(1 - cos(pi/4))/2 = 0.1464466094067262
     *   e6..e9: back up the cosine (no restart), with recursion residue. */
    fixture f;
    fx_init(&f, 1.0);
    lc_sched *s;
    assert_int_equal(lc_sched_cosine(&s, f.opt, 4, 0.0), LC_OK);
    const double e[10] = {1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0,
                          0.1464466094067262, 0.5000000000000001, 0.8535533905932742,
                          1.0000000000000004, 0.8535533905932742};
    check_sequence(s, f.opt, e, 10);
    lc_sched_free(s);
    fx_free(&f);

    /* T_max=3, eta_min=0.01, lr 0.1:
     *   e1: (1 + cos(pi/3)) / 2 * (0.1 - 0.01) + 0.01 = 0.75 * 0.09 + 0.01 = 0.0775
     *   e2: (1 + cos(2pi/3)) / (1 + cos(pi/3)) * 0.0675 + 0.01 = 0.0325 (+ residue)
     *   e3: 0.01;  e4: restart branch 0.01 + 0.09 * (1 - 0.5) / 2 = 0.0325 */
    fx_init(&f, 0.1);
    assert_int_equal(lc_sched_cosine(&s, f.opt, 3, 0.01), LC_OK);
    const double e2[5] = {0.1, 0.0775, 0.032500000000000015, 0.01, 0.0325};
    check_sequence(s, f.opt, e2, 5);
    lc_sched_free(s);
    fx_free(&f);
}

static void test_linear(void **state)
{
    (void)state;
    /* LinearLR(start_factor=0.25, end_factor=1, total_iters=4), lr 0.4:
     *   e0: 0.4 * 0.25 = 0.1
     *   ek: lr * (1 + 0.75 / (4 * 0.25 + (k - 1) * 0.75)):
     *   e1: 0.1   * 1.75      = 0.175   e2: 0.175 * 1.4286 = 0.25
     *   e3: 0.25  * 1.3       = 0.325   e4: 0.325 * 1.2308 = 0.4
     *   e5: past total_iters, unchanged. (Each with recursion residue.) */
    fixture f;
    fx_init(&f, 0.4);
    lc_sched *s;
    assert_int_equal(lc_sched_linear(&s, f.opt, 0.25, 1.0, 4), LC_OK);
    const double e[7] = {0.1, 0.17500000000000002, 0.25000000000000006, 0.32500000000000007,
                         0.4000000000000001, 0.4000000000000001, 0.4000000000000001};
    check_sequence(s, f.opt, e, 7);
    lc_sched_free(s);
    fx_free(&f);
}

static void test_warmup_cosine(void **state)
{
    (void)state;
    /* SequentialLR([LinearLR(0.5, 1, 2), CosineAnnealingLR(2, 0)], [2]), lr 1:
     *   e0: 0.5 (LinearLR's initial step; the cosine's is undone)
     *   e1: 0.5 * (1 + 0.5 / (2 * 0.5)) = 0.75
     *   e2: milestone: cosine restarted at epoch 0 in closed form = 1.0
     *   e3: cosine e1: (1 + cos(pi/2)) / 2 * 1 = 0.5
     *   e4: cosine e2: 0;  e5: restart branch (1 - cos(pi/2)) / 2 = 0.49999999999999994 */
    fixture f;
    fx_init(&f, 1.0);
    lc_sched *s;
    assert_int_equal(lc_sched_warmup_cosine(&s, f.opt, 2, 0.5, 2, 0.0), LC_OK);
    assert_string_equal(lc_sched_name(s), "SequentialLR");
    const double e[6] = {0.5, 0.75, 1.0, 0.5, 0.0, 0.49999999999999994};
    check_sequence(s, f.opt, e, 6);
    lc_sched_free(s);
    fx_free(&f);

    /* Warmup 3 from 0.1 x 0.01, then cosine over 4 to 0.001:
     *   e1: 0.001 * (1 + 0.9 / 0.3)         = 0.004 (0.003999999999999999)
     *   e2: 0.004 * (1 + 0.9 / 1.2)         = 0.007 (0.006999999999999998)
     *   e3: milestone: 0.001 + 0.009 * 2/2  = 0.010000000000000002
     *   e4: (1 + cos(pi/4)) / 2 * 0.009 + 0.001 = 0.008681980515339464
     *   e5: 0.0055, e6: 0.0023180..., e7: 0.001, e8: restart branch. */
    fx_init(&f, 0.01);
    assert_int_equal(lc_sched_warmup_cosine(&s, f.opt, 3, 0.1, 4, 0.001), LC_OK);
    const double e2[9] = {0.001, 0.003999999999999999, 0.006999999999999998,
                          0.010000000000000002, 0.008681980515339464, 0.0055000000000000005,
                          0.0023180194846605367, 0.001, 0.002318019484660536};
    check_sequence(s, f.opt, e2, 9);
    lc_sched_free(s);
    fx_free(&f);
}

static void test_sequential_general(void **state)
{
    (void)state;
    /* SequentialLR([StepLR(1, 0.5), LinearLR(0.5, 1, 2)], [3]), lr 1:
     *   e0: StepLR initial: 1; the LinearLR child's initial 0.5 is undone.
     *   e1..e2: 0.5, 0.25;  e3: milestone: LinearLR closed form at 0 = 0.5
     *   e4: 0.5 * (1 + 0.5 / 1) = 0.75;  e5: 0.75 * (1 + 0.5 / 1.5) = 1. */
    fixture f;
    fx_init(&f, 1.0);
    lc_sched *kids[2], *s;
    assert_int_equal(lc_sched_step_lr(&kids[0], f.opt, 1, 0.5), LC_OK);
    assert_int_equal(lc_sched_linear(&kids[1], f.opt, 0.5, 1.0, 2), LC_OK);
    assert_true(lc_optim_lr(f.opt) == 0.5); /* the LinearLR constructor moved it */
    int64_t ms[1] = {3};
    assert_int_equal(lc_sched_sequential(&s, f.opt, kids, 2, ms), LC_OK);
    const double e[6] = {1.0, 0.5, 0.25, 0.5, 0.75, 1.0};
    check_sequence(s, f.opt, e, 6);
    lc_sched_free(s);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* ReduceLROnPlateau                                                         */

static void test_plateau(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 1.0);
    lc_plateau_config c;
    lc_plateau_config_default(&c);
    assert_true(c.mode == LC_PLATEAU_MIN && c.factor == 0.1 && c.patience == 10 &&
                c.threshold == 1e-4 && c.threshold_mode == LC_THRESHOLD_REL &&
                c.cooldown == 0 && c.min_lr == 0.0 && c.eps == 1e-8);
    c.factor = 0.5;
    c.patience = 1;
    c.threshold = 0.1; /* better = below best * 0.9 */
    c.cooldown = 1;
    c.min_lr = 0.2;
    lc_sched *s;
    assert_int_equal(lc_sched_plateau(&s, f.opt, &c), LC_OK);
    assert_true(lc_sched_needs_metric(s));
    assert_true(lc_optim_lr(f.opt) == 1.0); /* no initial step */
    assert_int_equal(lc_sched_step(s), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "lc_sched_step_metric"));

    /* metric -> lr, traced by hand (best, bad epochs, cooldown):
     *  10  best 10                                     1.0
     *  9.5 not < 9: bad 1                              1.0
     *  9.2 bad 2 > patience 1: lr 0.5, cooldown 1      0.5
     *  12  bad 1, cooldown 1->0 resets it to 0         0.5
     *  12  bad 1                                       0.5
     *  12  bad 2: lr 0.25, cooldown 1                  0.25
     *  8   best 8 (< 9); cooldown 1->0                 0.25
     *  8   bad 1 (not < 7.2)                           0.25
     *  8   bad 2: max(0.125, min_lr 0.2) = 0.2         0.2
     *  8   bad 1 -> 0 in cooldown                      0.2
     *  8   bad 1                                       0.2
     *  8   bad 2: max(0.1, 0.2) = 0.2, change 0 <= eps 0.2 */
    const double m[12] = {10, 9.5, 9.2, 12, 12, 12, 8, 8, 8, 8, 8, 8};
    const double lr[12] = {1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2};
    for (int k = 0; k < 12; k++) {
        assert_int_equal(lc_sched_step_metric(s, m[k]), LC_OK);
        if (lc_optim_lr(f.opt) != lr[k] || lc_sched_last_lr(s) != lr[k])
            fail_msg("metric %d: lr %.17g, expected %.17g", k, lc_optim_lr(f.opt), lr[k]);
    }
    assert_int_equal(lc_sched_last_epoch(s), 12);
    lc_sched_free(s);
    fx_free(&f);

    /* max mode, abs threshold 0.5, patience 0; NaN is never better. */
    fx_init(&f, 1.0);
    lc_plateau_config_default(&c);
    c.mode = LC_PLATEAU_MAX;
    c.threshold_mode = LC_THRESHOLD_ABS;
    c.threshold = 0.5;
    c.patience = 0;
    assert_int_equal(lc_sched_plateau(&s, f.opt, &c), LC_OK);
    assert_int_equal(lc_sched_step_metric(s, 1.0), LC_OK); /* best 1 */
    assert_true(lc_optim_lr(f.opt) == 1.0);
    assert_int_equal(lc_sched_step_metric(s, 1.4), LC_OK); /* not > 1.5: reduce */
    assert_true(lc_optim_lr(f.opt) == 0.1);
    assert_int_equal(lc_sched_step_metric(s, 2.0), LC_OK); /* better */
    assert_true(lc_optim_lr(f.opt) == 0.1);
    assert_int_equal(lc_sched_step_metric(s, NAN), LC_OK); /* bad: reduce */
    assert_true(lc_optim_lr(f.opt) == 0.1 * 0.1);
    lc_sched_free(s);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* Lightning config, bad input                                               */

static void test_loop_config(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 0.1);
    lc_sched *s;
    assert_int_equal(lc_sched_plateau(&s, f.opt, NULL), LC_OK);
    assert_int_equal(lc_sched_interval_get(s), LC_SCHED_INTERVAL_EPOCH);
    assert_int_equal(lc_sched_frequency(s), 1);
    assert_null(lc_sched_monitor(s));
    assert_int_equal(lc_sched_strict(s), 1);
    assert_int_equal(lc_sched_set_interval(s, LC_SCHED_INTERVAL_STEP, 10), LC_OK);
    assert_int_equal(lc_sched_interval_get(s), LC_SCHED_INTERVAL_STEP);
    assert_int_equal(lc_sched_frequency(s), 10);
    assert_int_equal(lc_sched_set_interval(s, LC_SCHED_INTERVAL_STEP, 0), LC_ERR_INVALID);
    assert_int_equal(lc_sched_set_interval(s, (lc_sched_interval)5, 1), LC_ERR_INVALID);
    assert_int_equal(lc_sched_frequency(s), 10);
    assert_int_equal(lc_sched_set_monitor(s, "val/loss", 0), LC_OK);
    assert_string_equal(lc_sched_monitor(s), "val/loss");
    assert_int_equal(lc_sched_strict(s), 0);
    assert_int_equal(lc_sched_set_monitor(s, "", 1), LC_ERR_INVALID);
    assert_string_equal(lc_sched_monitor(s), "val/loss");
    assert_int_equal(lc_sched_set_monitor(s, NULL, 1), LC_OK);
    assert_null(lc_sched_monitor(s));
    assert_int_equal(lc_sched_set_monitor(s, "val/acc", 1), LC_OK); /* freed by lc_sched_free */
    lc_sched_free(s);
    fx_free(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 0.1);
    lc_sched *s = (lc_sched *)&f; /* must come back NULL */
    assert_int_equal(lc_sched_step_lr(&s, f.opt, 0, 0.1), LC_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(lc_errmsg(), "step_size"));
    assert_int_equal(lc_sched_step_lr(&s, NULL, 1, 0.1), LC_ERR_INVALID);
    assert_int_equal(lc_sched_step_lr(&s, f.opt, 1, NAN), LC_ERR_INVALID);
    assert_int_equal(lc_sched_cosine(&s, f.opt, 0, 0.0), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "T_max"));
    assert_int_equal(lc_sched_cosine(&s, f.opt, 5, -1.0), LC_ERR_INVALID);
    assert_int_equal(lc_sched_linear(&s, f.opt, 0.0, 1.0, 5), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "start_factor"));
    assert_int_equal(lc_sched_linear(&s, f.opt, 0.5, 1.5, 5), LC_ERR_INVALID);
    assert_int_equal(lc_sched_linear(&s, f.opt, 0.5, 1.0, 0), LC_ERR_INVALID);
    lc_plateau_config c;
    lc_plateau_config_default(&c);
    c.factor = 1.0;
    assert_int_equal(lc_sched_plateau(&s, f.opt, &c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "Factor should be < 1.0"));
    lc_plateau_config_default(&c);
    c.patience = -1;
    assert_int_equal(lc_sched_plateau(&s, f.opt, &c), LC_ERR_INVALID);
    assert_true(lc_optim_lr(f.opt) == 0.1); /* no failed constructor moved the lr */
    assert_int_equal(lc_sched_warmup_cosine(&s, f.opt, 0, 0.5, 10, 0.0), LC_ERR_INVALID);
    assert_int_equal(lc_sched_warmup_cosine(&s, f.opt, 5, 0.5, 0, 0.0), LC_ERR_INVALID);
    assert_true(lc_optim_lr(f.opt) == 0.1);

    /* Non-plateau schedulers take no metric. */
    assert_int_equal(lc_sched_step_lr(&s, f.opt, 3, 0.5), LC_OK);
    assert_int_equal(lc_sched_step_metric(s, 1.0), LC_ERR_INVALID);
    assert_int_equal(lc_sched_needs_metric(s), 0);
    lc_sched_free(s);

    /* SequentialLR: a plateau child, a bad milestone, too few children;
     * the children are freed in every case (ASan checks the leaks). */
    lc_sched *kids[2];
    int64_t ms[1] = {3}, bad_ms[1] = {0};
    assert_int_equal(lc_sched_step_lr(&kids[0], f.opt, 1, 0.5), LC_OK);
    assert_int_equal(lc_sched_plateau(&kids[1], f.opt, NULL), LC_OK);
    assert_int_equal(lc_sched_sequential(&s, f.opt, kids, 2, ms), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "ReduceLROnPlateau"));
    assert_null(s);
    assert_int_equal(lc_sched_step_lr(&kids[0], f.opt, 1, 0.5), LC_OK);
    assert_int_equal(lc_sched_cosine(&kids[1], f.opt, 4, 0.0), LC_OK);
    assert_int_equal(lc_sched_sequential(&s, f.opt, kids, 2, bad_ms), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "milestones"));
    assert_int_equal(lc_sched_sequential(&s, f.opt, NULL, 0, NULL), LC_ERR_INVALID);

    /* A child of another optimizer. */
    fixture g;
    fx_init(&g, 0.1);
    assert_int_equal(lc_sched_step_lr(&kids[0], f.opt, 1, 0.5), LC_OK);
    assert_int_equal(lc_sched_step_lr(&kids[1], g.opt, 1, 0.5), LC_OK);
    assert_int_equal(lc_sched_sequential(&s, f.opt, kids, 2, ms), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "another optimizer"));
    assert_int_equal(lc_sched_step(NULL), LC_ERR_INVALID);
    lc_sched_free(NULL);
    fx_free(&g);
    fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* Checkpoint round trips                                                    */

typedef lc_status (*make_fn)(lc_sched **out, lc_optim *opt);

static lc_status make_step(lc_sched **o, lc_optim *opt) { return lc_sched_step_lr(o, opt, 3, 0.5); }
static lc_status make_cos(lc_sched **o, lc_optim *opt) { return lc_sched_cosine(o, opt, 5, 1e-3); }
static lc_status make_lin(lc_sched **o, lc_optim *opt) { return lc_sched_linear(o, opt, 0.2, 0.9, 6); }
static lc_status make_wc(lc_sched **o, lc_optim *opt)
{
    return lc_sched_warmup_cosine(o, opt, 3, 0.1, 7, 1e-4);
}
static lc_status make_plateau(lc_sched **o, lc_optim *opt)
{
    lc_plateau_config c;
    lc_plateau_config_default(&c);
    c.patience = 1;
    c.cooldown = 2;
    c.factor = 0.5;
    return lc_sched_plateau(o, opt, &c);
}

static lc_status step_any(lc_sched *s, int k)
{
    if (lc_sched_needs_metric(s))
        return lc_sched_step_metric(s, (double)((k * 5) % 7)); /* bumpy, sometimes better */
    return lc_sched_step(s);
}

/* Uninterrupted 12 steps vs 5 steps, save optimizer + scheduler, rebuild
 * both from scratch, load, 7 more: the same lrs bit for bit. */
static void check_resume(make_fn make)
{
    fixture a, b1, b2;
    lc_sched *sa, *sb1, *sb2;
    fx_init(&a, 0.05);
    fx_init(&b1, 0.05);
    fx_init(&b2, 0.05);
    assert_int_equal(make(&sa, a.opt), LC_OK);
    assert_int_equal(make(&sb1, b1.opt), LC_OK);
    double want[12];
    for (int k = 0; k < 12; k++) {
        assert_int_equal(step_any(sa, k), LC_OK);
        want[k] = lc_optim_lr(a.opt);
    }
    for (int k = 0; k < 5; k++)
        assert_int_equal(step_any(sb1, k), LC_OK);

    size_t no = lc_optim_state_size(b1.opt), ns = lc_sched_state_size(sb1);
    unsigned char *bo = malloc(no), *bs = malloc(ns + 8);
    assert_int_equal(lc_optim_state_save(b1.opt, bo, no), LC_OK);
    assert_int_equal(lc_sched_state_save(sb1, bs, ns), LC_OK);

    assert_int_equal(make(&sb2, b2.opt), LC_OK); /* a fresh scheduler, as on restart */
    assert_int_equal(lc_optim_state_load(b2.opt, bo, no), LC_OK);
    assert_int_equal(lc_sched_state_load(sb2, bs, ns), LC_OK);
    assert_int_equal(lc_sched_last_epoch(sb2), lc_sched_last_epoch(sb1));
    assert_true(lc_sched_last_lr(sb2) == lc_sched_last_lr(sb1));
    for (int k = 5; k < 12; k++) {
        assert_int_equal(step_any(sb2, k), LC_OK);
        if (lc_optim_lr(b2.opt) != want[k])
            fail_msg("%s resumed, step %d: lr %.17g, expected %.17g", lc_sched_name(sb2), k,
                     lc_optim_lr(b2.opt), want[k]);
    }

    /* Rejections leave the scheduler as it was. */
    int64_t epoch = lc_sched_last_epoch(sb2);
    assert_int_equal(lc_sched_state_load(sb2, bs, ns - 1), LC_ERR_INVALID);
    memset(bs + ns, 0, 8);
    assert_int_equal(lc_sched_state_load(sb2, bs, ns + 8), LC_ERR_INVALID);
    assert_int_equal(lc_sched_state_load(sb2, bo, no < ns ? no : ns), LC_ERR_INVALID);
    assert_int_equal(lc_sched_last_epoch(sb2), epoch);
    assert_int_equal(lc_sched_state_save(sb1, bs, ns - 1), LC_ERR_INVALID);

    free(bo);
    free(bs);
    lc_sched_free(sa);
    lc_sched_free(sb1);
    lc_sched_free(sb2);
    fx_free(&a);
    fx_free(&b1);
    fx_free(&b2);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    check_resume(make_step);
    check_resume(make_cos);
    check_resume(make_lin);
    check_resume(make_wc);
    check_resume(make_plateau);
}

static void test_state_kind_mismatch(void **state)
{
    (void)state;
    fixture f;
    fx_init(&f, 0.1);
    lc_sched *a, *b, *c;
    assert_int_equal(lc_sched_step_lr(&a, f.opt, 2, 0.5), LC_OK);
    assert_int_equal(lc_sched_cosine(&b, f.opt, 10, 0.0), LC_OK);
    assert_int_equal(lc_sched_warmup_cosine(&c, f.opt, 2, 0.5, 8, 0.0), LC_OK);
    size_t n = lc_sched_state_size(a);
    unsigned char *buf = malloc(n);
    assert_int_equal(lc_sched_state_save(a, buf, n), LC_OK);
    assert_int_equal(lc_sched_state_load(b, buf, n), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "saved by StepLR but this scheduler is CosineAnnealingLR"));
    assert_int_equal(lc_sched_state_load(c, buf, n), LC_ERR_INVALID);
    free(buf);

    /* A warmup+cosine with another milestone is refused. */
    lc_sched *d;
    assert_int_equal(lc_sched_warmup_cosine(&d, f.opt, 3, 0.5, 8, 0.0), LC_OK);
    n = lc_sched_state_size(c);
    buf = malloc(n);
    assert_int_equal(lc_sched_state_save(c, buf, n), LC_OK);
    assert_int_equal(lc_sched_state_load(d, buf, n), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "milestone"));
    free(buf);
    lc_sched_free(a);
    lc_sched_free(b);
    lc_sched_free(c);
    lc_sched_free(d);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_lr),
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_warmup_cosine),
        cmocka_unit_test(test_sequential_general),
        cmocka_unit_test(test_plateau),
        cmocka_unit_test(test_loop_config),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_kind_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
