/*
 * tests/test_trainer_log.c — lc_log with Lightning's self.log semantics:
 * on_step/on_epoch defaults per hook, forbidden hooks, "_step"/"_epoch"
 * forks, batch-size-weighted mean / sum / max / min, conflicting options;
 * and what reaches the index: log_every_n_steps, the "epoch" staircase,
 * the exact key set; and how a run ends (lc_trainer_end_run): its status and
 * counters, also when the disk fills up under the loggers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log_result.h"
#include "testutil.h"
#include "trainer_fixture.h"

/* ---- rules ---------------------------------------------------------------- */

static void test_defaults_by_hook(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    assert_int_equal(lc_log_result_log(&r, LC_FX_TRAINING_STEP, "a", 1, NULL, 4), LC_OK);
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "b", 1, NULL, 4), LC_OK);
    assert_int_equal(lc_log_result_log(&r, LC_FX_ON_TRAIN_EPOCH_END, "c", 1, NULL, 4), LC_OK);
    assert_int_equal(lc_log_result_log(&r, LC_FX_ON_AFTER_BACKWARD, "d", 1, NULL, 4), LC_OK);
    assert_int_equal(r.len, 4);
    assert_true(r.items[0].on_step && !r.items[0].on_epoch);
    assert_true(!r.items[1].on_step && r.items[1].on_epoch);
    assert_true(!r.items[2].on_step && r.items[2].on_epoch);
    assert_true(r.items[3].on_step && !r.items[3].on_epoch);
    /* no fork: the name is the key */
    assert_string_equal(r.items[0].key_step, "a");
    assert_string_equal(r.items[1].key_epoch, "b");
    /* step-only values are not accumulated */
    assert_false(r.items[0].epoch_set);
    assert_true(r.items[0].step_set);
    lc_log_result_free(&r);
}

static void test_forbidden_hooks(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    static const lc_fx forbidden[] = {LC_FX_ON_FIT_START, LC_FX_CONFIGURE_OPTIMIZERS, LC_FX_SETUP,
                                      LC_FX_ON_TRAIN_END, LC_FX_ON_VALIDATION_END,
                                      LC_FX_LR_SCHEDULER_STEP, LC_FX_ON_SAVE_CHECKPOINT};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        assert_int_equal(lc_log_result_log(&r, forbidden[i], "x", 1, NULL, 1), LC_ERR_INVALID);
        assert_non_null(strstr(lc_errmsg(), lc_fx_name(forbidden[i])));
    }
    assert_int_equal(lc_log_result_log(&r, LC_FX_NONE, "x", 1, NULL, 1), LC_ERR_STATE);
    assert_int_equal(r.len, 0);
    lc_log_result_free(&r);
}

static void test_epoch_hooks_reject_step(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    lc_log_options o = {.on_step = LC_LOG_ON};
    assert_int_equal(lc_log_result_log(&r, LC_FX_ON_TRAIN_EPOCH_END, "x", 1, &o, 1),
                     LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "on_step=True"));
    o = (lc_log_options){.on_epoch = LC_LOG_OFF};
    assert_int_equal(lc_log_result_log(&r, LC_FX_ON_VALIDATION_EPOCH_END, "x", 1, &o, 1),
                     LC_ERR_INVALID);
    /* both off logs nothing: refused */
    o = (lc_log_options){.on_step = LC_LOG_OFF, .on_epoch = LC_LOG_OFF};
    assert_int_equal(lc_log_result_log(&r, LC_FX_TRAINING_STEP, "x", 1, &o, 1), LC_ERR_INVALID);
    /* an out-of-range tri-state */
    o = (lc_log_options){.on_step = 7};
    assert_int_equal(lc_log_result_log(&r, LC_FX_TRAINING_STEP, "x", 1, &o, 1), LC_ERR_INVALID);
    assert_int_equal(r.len, 0);
    lc_log_result_free(&r);
}

static void test_fork_names(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    lc_log_options o = {.on_epoch = LC_LOG_ON};
    assert_int_equal(lc_log_result_log(&r, LC_FX_TRAINING_STEP, "loss", 2.0, &o, 8), LC_OK);
    assert_string_equal(r.items[0].key_step, "loss_step");
    assert_string_equal(r.items[0].key_epoch, "loss_epoch");
    assert_true(r.items[0].step_set && r.items[0].epoch_set);
    lc_log_result_free(&r);
}

static void test_weighted_mean(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    /* batches of 10 and 30 (the last one smaller in real life) */
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "acc", 1.0, NULL, 10), LC_OK);
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "acc", 4.0, NULL, 30), LC_OK);
    tf_assert_close(lc_log_entry_epoch_value(&r.items[0]), (10.0 + 120.0) / 40.0, 1e-15);
    /* an explicit batch_size wins over the batch's */
    lc_log_options o = {.batch_size = 1};
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "m", 2.0, &o, 100), LC_OK);
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "m", 4.0, &o, 1), LC_OK);
    tf_assert_close(lc_log_entry_epoch_value(&r.items[1]), 3.0, 1e-15);
    o.batch_size = -1;
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "m", 4.0, &o, 1), LC_ERR_INVALID);
    /* reset: nothing accumulated -> NaN */
    lc_log_result_reset_epoch(&r);
    assert_true(isnan(lc_log_entry_epoch_value(&r.items[0])));
    lc_log_result_free(&r);
}

static void test_sum_max_min(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    lc_log_options sum = {.reduce_fx = LC_REDUCE_SUM}, mx = {.reduce_fx = LC_REDUCE_MAX},
                   mn = {.reduce_fx = LC_REDUCE_MIN};
    double v[] = {3, -1, 7, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(lc_log_result_log(&r, LC_FX_TEST_STEP, "s", v[i], &sum, 5), LC_OK);
        assert_int_equal(lc_log_result_log(&r, LC_FX_TEST_STEP, "hi", v[i], &mx, 5), LC_OK);
        assert_int_equal(lc_log_result_log(&r, LC_FX_TEST_STEP, "lo", v[i], &mn, 5), LC_OK);
    }
    tf_assert_close(lc_log_entry_epoch_value(&r.items[0]), 11.0, 0);
    tf_assert_close(lc_log_entry_epoch_value(&r.items[1]), 7.0, 0);
    tf_assert_close(lc_log_entry_epoch_value(&r.items[2]), -1.0, 0);
    /* NaN propagates through max, as torch.max */
    assert_int_equal(lc_log_result_log(&r, LC_FX_TEST_STEP, "hi", NAN, &mx, 5), LC_OK);
    assert_int_equal(lc_log_result_log(&r, LC_FX_TEST_STEP, "hi", 100, &mx, 5), LC_OK);
    assert_true(isnan(lc_log_entry_epoch_value(&r.items[1])));
    lc_log_result_free(&r);
}

static void test_conflicting_and_bad_options(void **s)
{
    (void)s;
    lc_log_result r;
    lc_log_result_init(&r);
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "x", 1, NULL, 1), LC_OK);
    lc_log_options sum = {.reduce_fx = LC_REDUCE_SUM};
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "x", 1, &sum, 1), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "other options"));
    lc_log_options bad = {.reduce_fx = (lc_reduce_fx)9};
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "y", 1, &bad, 1), LC_ERR_INVALID);
    assert_int_equal(lc_log_result_log(&r, LC_FX_VALIDATION_STEP, "", 1, NULL, 1), LC_ERR_INVALID);
    lc_reduce_fx fx;
    assert_int_equal(lc_reduce_fx_parse("avg", &fx), LC_OK);
    assert_int_equal(fx, LC_REDUCE_MEAN);
    assert_int_equal(lc_reduce_fx_parse("median", &fx), LC_ERR_INVALID);
    assert_int_equal(r.len, 1);
    lc_log_result_free(&r);
}

static void test_state_round_trip(void **s)
{
    (void)s;
    lc_log_result r, back;
    lc_log_result_init(&r);
    lc_log_result_init(&back);
    lc_log_options both = {.on_epoch = LC_LOG_ON};
    lc_log_result_log(&r, LC_FX_TRAINING_STEP, "loss", 0.1, &both, 3);
    lc_log_result_log(&r, LC_FX_TRAINING_STEP, "loss", 0.7, &both, 5);
    lc_log_result_log(&r, LC_FX_TRAINING_STEP, "only_step", 2.0, NULL, 5);
    size_t n = lc_log_result_state_size(&r);
    unsigned char *buf = malloc(n);
    lc_log_result_state_save(&r, buf);
    assert_int_equal(lc_log_result_state_load(&back, buf, n), LC_OK);
    assert_int_equal(back.len, 2);
    assert_string_equal(back.items[0].key_epoch, "loss_epoch");
    /* bit-identical accumulators */
    assert_memory_equal(&back.items[0].acc, &r.items[0].acc, sizeof(double));
    assert_memory_equal(&back.items[0].weight, &r.items[0].weight, sizeof(double));
    assert_false(back.items[1].epoch_set);
    /* truncated state is refused, the target unchanged */
    assert_int_equal(lc_log_result_state_load(&back, buf, n - 3), LC_ERR_INVALID);
    assert_int_equal(back.len, 2);
    free(buf);
    lc_log_result_free(&r);
    lc_log_result_free(&back);
}

/* ---- through the trainer into the index -------------------------------------- */

static void test_emission_schedule_and_keys(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("log-emit");
    lc_datamodule *dm = tf_data(80, 16, 16, 8); /* 10 train batches, 2 val */
    tf_module tm;
    tf_module_init(&tm, 7);
    lc_trainer_config c;
    tf_config(&c, root);
    c.log_every_n_steps = 3;
    c.enable_checkpointing = 0;
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_OK);
    lc_trainer_free(t);

    char keys[512];
    assert_string_equal(tf_metric_keys(root, keys, sizeof keys),
                        "epoch,lr-SGD,train/acc,train/loss,val/acc,val/loss");
    int64_t steps[32];
    double vals[32];
    /* (batches_that_stepped + 1) % 3 == 0 */
    assert_int_equal(tf_metric(root, "train/loss", steps, vals, 32), 6);
    int64_t want[] = {2, 5, 8, 11, 14, 17};
    for (int i = 0; i < 6; i++)
        assert_int_equal(steps[i], want[i]);
    /* "epoch" with every record at a training step (Lightning's staircase):
       the epoch-start lr (0, 10), the step metrics (2, 5, 8, 11, 14, 17) and
       each epoch end with its validation (9, 19); value = the step's epoch */
    assert_int_equal(tf_metric(root, "epoch", steps, vals, 32), 10);
    int64_t want_epoch[] = {0, 2, 5, 8, 9, 10, 11, 14, 17, 19};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(steps[i], want_epoch[i]);
        tf_assert_close(vals[i], (double)(want_epoch[i] / 10), 0);
    }
    assert_int_equal(tf_metric(root, "val/acc", steps, vals, 32), 2);
    assert_int_equal(steps[0], 9);
    /* lr without a scheduler: each epoch start and each logged step */
    assert_int_equal(tf_metric(root, "lr-SGD", steps, vals, 32), 8);
    tf_assert_close(vals[0], 0.1, 0);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_forked_metric_in_index(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("log-fork");
    lc_datamodule *dm = tf_data(32, 0, 0, 8); /* 4 batches, no validation */
    tf_module tm;
    tf_module_init(&tm, 3);
    tm.extra_name = "x";
    tm.extra_value = 2.5;
    tm.extra_opts = (lc_log_options){.on_epoch = LC_LOG_ON, .reduce_fx = LC_REDUCE_SUM};
    lc_trainer_config c;
    tf_config(&c, root);
    c.max_epochs = 1;
    c.enable_checkpointing = 0;
    c.lr_monitor = 0;
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_OK);
    double v;
    assert_int_equal(lc_trainer_callback_metric(t, "x", &v), LC_OK);
    tf_assert_close(v, 10.0, 0);
    assert_int_equal(lc_trainer_callback_metric(t, "nope", &v), LC_ERR_NOT_FOUND);
    lc_trainer_free(t);
    double vals[8];
    assert_int_equal(tf_metric(root, "x_step", NULL, vals, 8), 4);
    tf_assert_close(vals[3], 2.5, 0);
    assert_int_equal(tf_metric(root, "x_epoch", NULL, vals, 8), 1);
    tf_assert_close(vals[0], 10.0, 0); /* sum over 4 batches */
    assert_int_equal(tf_metric(root, "x", NULL, vals, 8), 0);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

/* lc_log from on_fit_start fails the fit with a message naming the hook. */
static lc_status log_in_fit_start(lc_module *m, lc_trainer *t)
{
    (void)m;
    return lc_log(t, "bad", 1.0, NULL);
}

static void test_forbidden_hook_fails_fit(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("log-forbidden");
    lc_datamodule *dm = tf_data(16, 0, 0, 8);
    tf_module tm;
    tf_module_init(&tm, 3);
    tm.base.on_fit_start = log_in_fit_start;
    lc_trainer_config c;
    tf_config(&c, root);
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "on_fit_start"));
    assert_int_equal(tm.n_train_steps, 0);
    /* outside any hook */
    assert_int_equal(lc_log(t, "x", 1, NULL), LC_ERR_STATE);
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

/* ---- how the run ends ----------------------------------------------------------- */

static void test_end_run_reports_status_and_counters(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("log-end");
    lc_datamodule *dm = tf_data(80, 16, 16, 8);
    tf_module tm;
    tf_module_init(&tm, 7);
    lc_trainer_config c;
    tf_config(&c, root);
    c.enable_checkpointing = 0;
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    lc_run_status rs;
    lc_run_counters k;
    assert_int_equal(lc_trainer_end_run(t, &rs, &k), LC_ERR_STATE); /* no run yet */
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_OK);
    assert_int_equal(lc_trainer_end_run(t, &rs, &k), LC_OK);
    assert_int_equal(rs, LC_RUN_FINISHED);
    assert_true(k.logged > 0);
    assert_int_equal(k.sink_errors, 0);
    assert_int_equal(k.degraded, 0);
    /* the run is over: no second end, no new run behind the caller's back */
    assert_int_equal(lc_trainer_end_run(t, NULL, NULL), LC_ERR_STATE);
    assert_int_equal(lc_trainer_test(t, &tm.base, dm), LC_ERR_STATE);
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
    assert_int_equal(tf_metric(root, "test/acc", NULL, NULL, 0), 0);
}

/* The disk fills up (RLIMIT_FSIZE, as test_hub_failures.c): the fit still
 * succeeds, and the end reports the run as finished but degraded, with the
 * lost deliveries counted. */
static void test_end_run_after_full_disk(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("log-full");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        lc_datamodule *dm = tf_data(800, 16, 16, 8); /* 100 batches an epoch */
        tf_module tm;
        tf_module_init(&tm, 7);
        lc_trainer_config c;
        tf_config(&c, root);
        c.enable_checkpointing = 0;
        c.loggers = "sqlite,csv,tensorboard";
        c.max_epochs = 3;
        c.log_histograms = 1;
        c.histogram_every_n_steps = 1;
        struct rlimit rl = {256 * 1024, 256 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        lc_trainer *t = NULL;
        if (lc_trainer_create(&t, &c) != LC_OK)
            _exit(10);
        if (lc_trainer_fit(t, &tm.base, dm, NULL) != LC_OK) {
            fprintf(stderr, "fit: %s\n", lc_errmsg());
            _exit(11);
        }
        lc_run_status rs;
        lc_run_counters k;
        lc_trainer_end_run(t, &rs, &k); /* may fail: the index may not take the end */
        if (rs != LC_RUN_FINISHED)
            _exit(12);
        if (!k.degraded || k.sink_errors == 0)
            _exit(13);
        lc_trainer_free(t);
        tf_module_free(&tm);
        lc_datamodule_free(dm);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_by_hook),
        cmocka_unit_test(test_forbidden_hooks),
        cmocka_unit_test(test_epoch_hooks_reject_step),
        cmocka_unit_test(test_fork_names),
        cmocka_unit_test(test_weighted_mean),
        cmocka_unit_test(test_sum_max_min),
        cmocka_unit_test(test_conflicting_and_bad_options),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_emission_schedule_and_keys),
        cmocka_unit_test(test_forked_metric_in_index),
        cmocka_unit_test(test_forbidden_hook_fails_fit),
        cmocka_unit_test(test_end_run_reports_status_and_counters),
        cmocka_unit_test(test_end_run_after_full_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
