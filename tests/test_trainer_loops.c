/*
 * tests/test_trainer_loops.c — the fit / validate / test loops on a tiny
 * synthetic task: hook order, limit_*_batches (count and fraction),
 * accumulate_grad_batches, gradient clipping (norm and value),
 * val_check_interval and check_val_every_n_epoch, num_sanity_val_steps,
 * fast_dev_run, max_steps, scheduler intervals, should_stop, seeding, a run
 * killed by a signal (the loops stop), and the configuration checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "params.h"
#include "testutil.h"
#include "trainer_fixture.h"

/* Fit tm on dm with cfg; returns the status, leaves the trainer in *out if
 * out is given (else frees it). */
static lc_status fit(lc_trainer_config *c, tf_module *tm, lc_datamodule *dm, lc_trainer **out)
{
    lc_trainer *t = NULL;
    lc_status st = lc_trainer_create(&t, c);
    if (st != LC_OK)
        return st;
    st = lc_trainer_fit(t, &tm->base, dm, NULL);
    if (out)
        *out = t;
    else
        lc_trainer_free(t);
    return st;
}

static void test_hook_order(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-order");
    lc_datamodule *dm = tf_data(16, 8, 0, 8); /* 2 train batches, 1 val batch */
    tf_module tm;
    tf_module_init(&tm, 1);
    tm.record = 1;
    lc_trainer_config c;
    tf_config(&c, root);
    c.max_epochs = 1;
    c.num_sanity_val_steps = 1;
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    static const char *const want[] = {
        "on_fit_start", "on_validation_epoch_start", "sanity_validation_step",
        "on_validation_epoch_end", "on_train_start", "on_train_epoch_start",
        /* batch 0 */
        "training_step", "on_before_zero_grad", "on_before_backward", "backward",
        "on_after_backward", "on_before_optimizer_step", "on_train_batch_end",
        /* batch 1, then validation at the epoch's last batch */
        "training_step", "on_before_zero_grad", "on_before_backward", "backward",
        "on_after_backward", "on_before_optimizer_step", "on_train_batch_end",
        "on_validation_epoch_start", "validation_step", "on_validation_epoch_end",
        "on_train_epoch_end", "on_train_end", "on_fit_end"};
    size_t n = sizeof want / sizeof want[0];
    assert_int_equal(tm.nevents, (int)n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(tm.events[i], want[i]);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_limit_train_batches(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-limit");
    lc_datamodule *dm = tf_data(80, 0, 0, 8); /* 10 batches */
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.limit_train_batches = (lc_amount){LC_AMOUNT_COUNT, 3};
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    assert_int_equal(tm.n_train_steps, 6); /* 2 epochs x 3 */
    assert_int_equal(lc_trainer_global_step(t), 6);
    assert_int_equal(lc_trainer_current_epoch(t), 2);
    lc_trainer_free(t);

    tm.n_train_steps = 0;
    c.limit_train_batches = (lc_amount){LC_AMOUNT_FRACTION, 0.5};
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tm.n_train_steps, 10); /* int(10 * 0.5) per epoch */

    /* 0.05 * 10 < 1 batch: an error that says what to set */
    c.limit_train_batches = (lc_amount){LC_AMOUNT_FRACTION, 0.05};
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "limit_train_batches"));

    /* a count above the epoch's batches is capped */
    tm.n_train_steps = 0;
    c.limit_train_batches = (lc_amount){LC_AMOUNT_COUNT, 1000};
    c.max_epochs = 1;
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tm.n_train_steps, 10);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_accumulate_grad_batches(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-accum");
    lc_datamodule *dm = tf_data(80, 0, 0, 8); /* 10 batches */
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.max_epochs = 1;
    c.accumulate_grad_batches = 3;
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    /* steps after batches 3, 6, 9 and the epoch's last batch 10 */
    assert_int_equal(lc_trainer_global_step(t), 4);
    assert_int_equal(tm.n_optimizer_hooks, 4);
    /* zero_grad at the start of each window: batches 1, 4, 7, 10 */
    assert_int_equal(tm.n_zero_grad_hooks, 4);
    assert_int_equal(tm.n_backward, 10);
    tf_assert_close(tm.last_loss_scale, 1.0 / 3.0, 1e-15);
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

/* A callback that records the largest gradient norm / |value| it sees at
 * on_train_batch_end (after clipping and the step; gradients stay until
 * the next zero_grad). */
typedef struct grad_probe {
    lc_callback cb;
    double max_norm, max_abs;
} grad_probe;

static lc_status probe_batch_end(lc_callback *cb, lc_trainer *t, lc_module *m,
                                 const lc_minibatch *b, int64_t i)
{
    (void)t, (void)b, (void)i;
    grad_probe *p = (grad_probe *)cb;
    lc_params *ps = m->params;
    double n = lc_params_grad_norm(ps);
    if (n > p->max_norm)
        p->max_norm = n;
    for (size_t k = 0; k < ps->len; k++)
        for (size_t j = 0; j < ps->items[k].count; j++)
            if (fabs(ps->items[k].grad[j]) > p->max_abs)
                p->max_abs = fabs(ps->items[k].grad[j]);
    return LC_OK;
}

static double probe_fit(lc_clip_algorithm algo, double clip, double *max_abs)
{
    const char *root = tu_tmpdir("loops-clip");
    lc_datamodule *dm = tf_data(40, 0, 0, 8);
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.max_epochs = 1;
    c.gradient_clip_val = clip;
    c.gradient_clip_algorithm = algo;
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    grad_probe *p = calloc(1, sizeof *p);
    p->cb.name = "GradProbe";
    p->cb.on_train_batch_end = probe_batch_end;
    p->cb.destroy = (void (*)(lc_callback *))free;
    assert_int_equal(lc_trainer_add_callback(t, &p->cb), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_OK);
    double norm = p->max_norm;
    *max_abs = p->max_abs;
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
    return norm;
}

static void test_gradient_clipping(void **s)
{
    (void)s;
    double max_abs;
    double unclipped = probe_fit(LC_CLIP_NORM, 0, &max_abs);
    assert_true(unclipped > 0.05); /* so the clips below bite */
    double norm = probe_fit(LC_CLIP_NORM, 0.01, &max_abs);
    assert_true(norm <= 0.01 * (1 + 1e-5));
    assert_true(norm > 0.009);
    probe_fit(LC_CLIP_VALUE, 1e-3, &max_abs);
    assert_true(max_abs <= (float)1e-3); /* clamped in float */
    assert_true(max_abs > 0.5e-3);
}

static void test_val_check_interval(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-valcheck");
    lc_datamodule *dm = tf_data(80, 16, 0, 8); /* 10 train, 2 val batches */
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.max_epochs = 2;
    /* fraction: every int(10 * 0.5) = 5 batches -> 2 checks per epoch */
    c.val_check_interval = (lc_amount){LC_AMOUNT_FRACTION, 0.5};
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tm.n_val_steps, 2 * 2 * 2);
    /* count: after batches 3, 6, 9 -> 3 checks per epoch */
    tm.n_val_steps = 0;
    c.val_check_interval = (lc_amount){LC_AMOUNT_COUNT, 3};
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tm.n_val_steps, 2 * 3 * 2);
    /* every 2nd epoch out of 3: one check */
    tm.n_val_steps = 0;
    c.val_check_interval = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
    c.check_val_every_n_epoch = 2;
    c.max_epochs = 3;
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tm.n_val_steps, 2);
    /* an interval longer than the epoch is refused */
    c.check_val_every_n_epoch = 1;
    c.val_check_interval = (lc_amount){LC_AMOUNT_COUNT, 11};
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "val_check_interval"));
    /* limit_val_batches 0: no validation at all */
    tm.n_val_steps = 0;
    c.val_check_interval = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
    c.limit_val_batches = (lc_amount){LC_AMOUNT_FRACTION, 0.0};
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tm.n_val_steps, 0);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_sanity_steps(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-sanity");
    lc_datamodule *dm = tf_data(16, 24, 0, 8); /* 2 train, 3 val batches */
    tf_module tm;
    tf_module_init(&tm, 1);
    tm.record = 1;
    lc_trainer_config c;
    tf_config(&c, root);
    c.max_epochs = 1;
    c.num_sanity_val_steps = 2;
    c.enable_checkpointing = 0;
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tf_count_event(&tm, "sanity_validation_step"), 2);
    assert_true(tf_find_event(&tm, "sanity_validation_step", 0) <
                tf_find_event(&tm, "training_step", 0));
    /* the sanity check logs nothing: one val/loss point, from the real check */
    assert_int_equal(tf_metric(root, "val/loss", NULL, NULL, 0), 1);

    tm.nevents = 0;
    c.num_sanity_val_steps = -1; /* all */
    c.loggers = "none";
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    assert_int_equal(tf_count_event(&tm, "sanity_validation_step"), 3);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_fast_dev_run(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-fdr");
    lc_datamodule *dm = tf_data(80, 24, 24, 8);
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.fast_dev_run = 2;
    c.max_epochs = 5;
    c.num_sanity_val_steps = 2;
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    assert_int_equal(tm.n_train_steps, 2);
    assert_int_equal(tm.n_val_steps, 2); /* no sanity check, 2 val batches */
    assert_int_equal(lc_trainer_global_step(t), 2);
    assert_true(lc_trainer_fast_dev_run(t));
    assert_null(lc_trainer_run(t));
    assert_int_equal(lc_trainer_test(t, &tm.base, dm), LC_OK);
    assert_int_equal(tm.n_test_steps, 2);
    lc_trainer_free(t);
    /* nothing written: no index, no checkpoints */
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/index.db", root);
    assert_int_not_equal(stat(p, &st), 0);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_max_steps(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-maxsteps");
    lc_datamodule *dm = tf_data(80, 0, 0, 8); /* 10 batches */
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.max_epochs = 0; /* None: unlimited when max_steps is set */
    c.max_steps = 23;
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    assert_int_equal(lc_trainer_global_step(t), 23);
    assert_int_equal(tm.n_train_steps, 23);
    assert_int_equal(lc_trainer_current_epoch(t), 3); /* 10 + 10 + 3 (cut short) */
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static lc_status stop_after_first_epoch(lc_module *m, lc_trainer *t)
{
    (void)m;
    lc_trainer_set_should_stop(t, 1);
    return LC_OK;
}

static void test_should_stop(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-stop");
    lc_datamodule *dm = tf_data(40, 0, 0, 8);
    tf_module tm;
    tf_module_init(&tm, 1);
    tm.base.on_train_epoch_end = stop_after_first_epoch;
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.max_epochs = 10;
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    assert_int_equal(lc_trainer_current_epoch(t), 1);
    assert_int_equal(tm.n_train_steps, 5);
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

/* SIGTERM reaches the hub of a fit whose process keeps a handler of its own
 * that returns (the hub chains to it, so the process lives on): the run is
 * killed, so the fit stops at once, before any checkpoint, and fails. */
static volatile sig_atomic_t term_seen;
static void term_handler(int sig)
{
    (void)sig;
    term_seen = 1;
}

static lc_status raise_term_at_step_5(lc_callback *cb, lc_trainer *t, lc_module *m,
                                      const lc_minibatch *b, int64_t i)
{
    (void)cb, (void)m, (void)b, (void)i;
    if (lc_trainer_global_step(t) != 5)
        return LC_OK;
    raise(SIGTERM);
    /* the hub's watcher ends the run as killed, then calls term_handler */
    for (int k = 0; k < 1000 && !term_seen; k++)
        usleep(10 * 1000);
    return LC_OK;
}

static void test_killed_run_stops_fit(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-killed");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, term_handler);
        lc_datamodule *dm = tf_data(80, 16, 16, 8); /* 10 batches an epoch */
        tf_module tm;
        tf_module_init(&tm, 1);
        lc_trainer_config c;
        tf_config(&c, root);
        c.max_epochs = 5;
        lc_trainer *t = NULL;
        if (lc_trainer_create(&t, &c) != LC_OK)
            _exit(10);
        lc_callback cb = {.name = "RaiseTerm", .on_train_batch_end = raise_term_at_step_5};
        if (lc_trainer_add_callback(t, &cb) != LC_OK)
            _exit(11);
        lc_status st = lc_trainer_fit(t, &tm.base, dm, NULL);
        if (!term_seen)
            _exit(12);
        if (st == LC_OK)
            _exit(13); /* trained on after the kill */
        if (!strstr(lc_errmsg(), "killed"))
            _exit(14);
        if (lc_trainer_global_step(t) != 5 || tm.n_train_steps != 5)
            _exit(15);
        if (lc_run_get_status(lc_trainer_run(t)) != LC_RUN_KILLED)
            _exit(16);
        if (lc_trainer_test(t, &tm.base, dm) == LC_OK)
            _exit(17); /* the test loop refuses a killed run too */
        lc_trainer_free(t);
        tf_module_free(&tm);
        lc_datamodule_free(dm);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char ckdir[4096];
    snprintf(ckdir, sizeof ckdir, "%s/default/version_0/checkpoints", root);
    DIR *d = opendir(ckdir); /* no checkpoint: the first was due at step 10 */
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        files += e->d_name[0] != '.';
    if (d)
        closedir(d);
    assert_int_equal(files, 0);
    assert_int_equal(tf_metric(root, "test/acc", NULL, NULL, 0), 0);
    int64_t steps[64];
    int n = tf_metric(root, "train/loss", steps, NULL, 64);
    assert_true(n >= 1 && n <= 5);
    assert_true(steps[n - 1] <= 4);
}

static void test_scheduler_intervals(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-sched");
    lc_datamodule *dm = tf_data(80, 16, 0, 8); /* 10 batches */
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_scheduler_spec_default(&tm.sched, "StepLR");
    tm.sched.step_size = 1;
    tm.sched.gamma = 0.5;
    lc_trainer_config c;
    tf_config(&c, root);
    c.loggers = "none";
    c.enable_checkpointing = 0;
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    tf_assert_close(lc_trainer_lr(t), 0.1 * 0.25, 1e-15); /* 2 epoch steps */
    assert_string_equal(lc_trainer_scheduler_name(t), "StepLR");
    lc_trainer_free(t);
    tm.sched.interval = "step";
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    tf_assert_close(lc_trainer_lr(t), 0.1 * pow(0.5, 20), 1e-18); /* 20 optimizer steps */
    lc_trainer_free(t);
    /* ReduceLROnPlateau on a metric nobody logs: strict -> error */
    lc_scheduler_spec_default(&tm.sched, "ReduceLROnPlateau");
    tm.sched.monitor = "val/nothing";
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "val/nothing"));
    /* ... on val/loss: steps at each epoch end */
    tm.sched.monitor = "val/loss";
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
    /* no monitor at all is refused up front */
    tm.sched.monitor = NULL;
    assert_int_equal(fit(&c, &tm, dm, NULL), LC_ERR_INVALID);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

/* Same seed, same data, with dropout: the same weights, bit for bit. */
static void test_seeded_runs_identical(void **s)
{
    (void)s;
    lc_datamodule *dm = tf_data(64, 0, 0, 8);
    float *w[2] = {NULL, NULL};
    size_t n = 0;
    for (int r = 0; r < 2; r++) {
        tf_module tm;
        memset(&tm, 0, sizeof tm);
        tf_module_init(&tm, 5);
        lc_seq_free(tm.seq);
        int64_t hidden[1] = {12};
        assert_int_equal(lc_seq_mlp(&tm.seq, TF_FEATURES, hidden, 1, TF_CLASSES, LC_ACT_GELU,
                                    0.3f, 5), LC_OK);
        tm.base.params = lc_seq_params(tm.seq);
        tm.optimizer = "Adam";
        tm.lr = 0.01;
        lc_trainer_config c;
        tf_config(&c, tu_tmpdir("loops-seed"));
        c.loggers = "none";
        c.enable_checkpointing = 0;
        c.seed = 99;
        assert_int_equal(fit(&c, &tm, dm, NULL), LC_OK);
        lc_params *ps = tm.base.params;
        n = ps->items[0].count;
        w[r] = malloc(n * sizeof(float));
        memcpy(w[r], ps->items[0].data, n * sizeof(float));
        tf_module_free(&tm);
    }
    assert_memory_equal(w[0], w[1], n * sizeof(float));
    free(w[0]);
    free(w[1]);
    lc_datamodule_free(dm);
}

static void test_bad_config(void **s)
{
    (void)s;
    lc_trainer_config c;
    lc_trainer *t = NULL;
    lc_trainer_config_default(&c);
    c.accumulate_grad_batches = 0;
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "accumulate_grad_batches"));
    lc_trainer_config_default(&c);
    c.gradient_clip_val = -1;
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    lc_trainer_config_default(&c);
    c.precision = "64-true";
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_UNSUPPORTED);
    assert_non_null(strstr(lc_errmsg(), "32-true"));
    c.precision = "fp8";
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "bf16-mixed"));
    lc_trainer_config_default(&c);
    c.accelerator = "gpu";
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_UNSUPPORTED);
    lc_trainer_config_default(&c);
    c.limit_val_batches = (lc_amount){LC_AMOUNT_FRACTION, 1.5};
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    lc_trainer_config_default(&c);
    c.val_check_interval = (lc_amount){LC_AMOUNT_COUNT, 0};
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    lc_trainer_config_default(&c);
    c.max_epochs = -2;
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    assert_null(t);

    lc_amount a;
    assert_int_equal(lc_amount_parse("0.25", &a), LC_OK);
    assert_int_equal(a.kind, LC_AMOUNT_FRACTION);
    assert_int_equal(lc_amount_parse("1.0", &a), LC_OK);
    assert_int_equal(a.kind, LC_AMOUNT_FRACTION);
    assert_int_equal(lc_amount_parse("10", &a), LC_OK);
    assert_int_equal(a.kind, LC_AMOUNT_COUNT);
    tf_assert_close(a.value, 10, 0);
    assert_int_equal(lc_amount_parse("1.5", &a), LC_ERR_INVALID);
    assert_int_equal(lc_amount_parse("-3", &a), LC_ERR_INVALID);
    assert_int_equal(lc_amount_parse("ten", &a), LC_ERR_INVALID);
    assert_int_equal(lc_amount_parse("", &a), LC_ERR_INVALID);
    double secs;
    assert_int_equal(lc_parse_duration("00:01:30:05", &secs), LC_OK);
    tf_assert_close(secs, 5405, 0);
    assert_int_equal(lc_parse_duration("1:30", &secs), LC_ERR_INVALID);
    assert_int_equal(lc_parse_duration("00:25:00:00", &secs), LC_ERR_INVALID);
}

static void test_bad_module(void **s)
{
    (void)s;
    lc_datamodule *dm = tf_data(16, 0, 0, 8);
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, tu_tmpdir("loops-badmod"));
    c.loggers = "none";
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    tm.base.backward = NULL;
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "backward"));
    tm.base.backward = tf_backward;
    tm.optimizer = "Adagrad";
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "configure_optimizers"));
    /* validate without a validation split */
    assert_int_equal(lc_trainer_validate(t, &tm.base, dm), LC_ERR_INVALID);
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_validate_and_test_stages(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("loops-stages");
    lc_datamodule *dm = tf_data(32, 16, 24, 8);
    tf_module tm;
    tf_module_init(&tm, 1);
    lc_trainer_config c;
    tf_config(&c, root);
    c.enable_checkpointing = 0;
    c.limit_test_batches = (lc_amount){LC_AMOUNT_COUNT, 2};
    lc_trainer *t = NULL;
    assert_int_equal(fit(&c, &tm, dm, &t), LC_OK);
    assert_int_equal(lc_trainer_test(t, &tm.base, dm), LC_OK);
    assert_int_equal(tm.n_test_steps, 2);
    assert_int_equal(lc_trainer_validate(t, &tm.base, dm), LC_OK);
    double acc;
    assert_int_equal(lc_trainer_callback_metric(t, "test/acc", &acc), LC_OK);
    assert_true(acc >= 0 && acc <= 1);
    lc_trainer_free(t);
    int64_t steps[4];
    /* test metrics at the step after training: batches_that_stepped = 8 */
    assert_int_equal(tf_metric(root, "test/acc", steps, NULL, 4), 1);
    assert_int_equal(steps[0], 8);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_order),
        cmocka_unit_test(test_limit_train_batches),
        cmocka_unit_test(test_accumulate_grad_batches),
        cmocka_unit_test(test_gradient_clipping),
        cmocka_unit_test(test_val_check_interval),
        cmocka_unit_test(test_sanity_steps),
        cmocka_unit_test(test_fast_dev_run),
        cmocka_unit_test(test_max_steps),
        cmocka_unit_test(test_should_stop),
        cmocka_unit_test(test_scheduler_intervals),
        cmocka_unit_test(test_seeded_runs_identical),
        cmocka_unit_test(test_killed_run_stops_fit),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_bad_module),
        cmocka_unit_test(test_validate_and_test_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
