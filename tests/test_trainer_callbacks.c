/*
 * tests/test_trainer_callbacks.c — the callbacks' decision rules:
 * EarlyStopping (Lightning's order: non-finite, stopping threshold,
 * divergence threshold, improvement by min_delta, patience), ModelCheckpoint
 * (names, "-v1", save_top_k with and without a monitor, save_last,
 * every_n_train_steps), Timer, and user callbacks (order relative to the
 * module, monitoring callbacks last, unique names).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "callbacks_internal.h"
#include "testutil.h"
#include "trainer_fixture.h"

/* ---- EarlyStopping ----------------------------------------------------------- */

static lc_callback *es_make(const char *mode, int64_t patience, double min_delta)
{
    lc_early_stopping_options o;
    lc_early_stopping_options_default(&o);
    o.monitor = "m";
    o.mode = mode;
    o.patience = patience;
    o.min_delta = min_delta;
    lc_callback *cb;
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_OK);
    return cb;
}

static void test_es_patience(void **s)
{
    (void)s;
    lc_callback *cb = es_make("min", 2, 0);
    assert_int_equal(lc_early_stopping_evaluate(cb, 1.0), 0);  /* improves on +inf */
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.9), 0);  /* improves */
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.95), 0); /* wait 1 */
    assert_int_equal(lc_early_stopping_wait_count(cb), 1);
    /* equal is not better (strict <): wait 2 = patience -> stop */
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.9), 1);
    assert_non_null(strstr(lc_early_stopping_reason(cb), "did not improve in the last 2 records"));
    tf_assert_close(lc_early_stopping_best_score(cb), 0.9, 0);
    cb->destroy(cb);

    /* an improvement resets the wait */
    cb = es_make("min", 2, 0);
    lc_early_stopping_evaluate(cb, 1.0);
    lc_early_stopping_evaluate(cb, 1.1);
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.5), 0);
    assert_int_equal(lc_early_stopping_wait_count(cb), 0);
    cb->destroy(cb);

    /* mode max, patience 0 stops at the first non-improvement */
    cb = es_make("max", 0, 0);
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.5), 0);
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.4), 1);
    cb->destroy(cb);
}

static void test_es_min_delta(void **s)
{
    (void)s;
    lc_callback *cb = es_make("min", 1, 0.01);
    assert_int_equal(lc_early_stopping_evaluate(cb, 1.0), 0);
    /* 0.995 improves by less than min_delta: counts as no improvement */
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.995), 1);
    tf_assert_close(lc_early_stopping_best_score(cb), 1.0, 0);
    cb->destroy(cb);
    cb = es_make("max", 1, 0.01);
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.5), 0);
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.52), 0); /* +0.02 > 0.01 */
    tf_assert_close(lc_early_stopping_best_score(cb), 0.52, 0);
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.525), 1);
    cb->destroy(cb);
}

static void test_es_thresholds_and_order(void **s)
{
    (void)s;
    lc_early_stopping_options o;
    lc_early_stopping_options_default(&o);
    o.monitor = "m";
    o.patience = 100;
    o.stopping_threshold = 0.1;
    o.divergence_threshold = 5.0;
    lc_callback *cb;
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_OK);
    assert_int_equal(lc_early_stopping_evaluate(cb, 1.0), 0);
    assert_int_equal(lc_early_stopping_evaluate(cb, 6.0), 1); /* diverged */
    assert_non_null(strstr(lc_early_stopping_reason(cb), "Divergence threshold"));
    assert_int_equal(lc_early_stopping_evaluate(cb, 0.05), 1); /* reached */
    assert_non_null(strstr(lc_early_stopping_reason(cb), "Stopping threshold"));
    /* non-finite is checked first */
    assert_int_equal(lc_early_stopping_evaluate(cb, NAN), 1);
    assert_non_null(strstr(lc_early_stopping_reason(cb), "not finite"));
    assert_int_equal(lc_early_stopping_evaluate(cb, INFINITY), 1);
    cb->destroy(cb);
    /* check_finite off: NaN is just "no improvement" */
    o.check_finite = 0;
    o.stopping_threshold = o.divergence_threshold = NAN;
    o.patience = 2;
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_OK);
    assert_int_equal(lc_early_stopping_evaluate(cb, NAN), 0);
    assert_int_equal(lc_early_stopping_wait_count(cb), 1);
    cb->destroy(cb);
    /* bad options */
    o.monitor = NULL;
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_ERR_INVALID);
    o.monitor = "m";
    o.mode = "best";
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_ERR_INVALID);
}

static void test_es_state_round_trip(void **s)
{
    (void)s;
    lc_callback *a = es_make("min", 3, 0), *b = es_make("min", 3, 0);
    lc_early_stopping_evaluate(a, 2.0);
    lc_early_stopping_evaluate(a, 3.0);
    size_t n = a->state_size(a);
    unsigned char buf[64];
    assert_int_equal(a->state_save(a, buf, sizeof buf), LC_OK);
    assert_int_equal(b->state_load(b, NULL, buf, n), LC_OK);
    assert_int_equal(lc_early_stopping_wait_count(b), 1);
    tf_assert_close(lc_early_stopping_best_score(b), 2.0, 0);
    assert_int_equal(b->state_load(b, NULL, buf, n - 1), LC_ERR_INVALID);
    a->destroy(a);
    b->destroy(b);
}

/* ---- a module with a scripted per-epoch metric ---------------------------------- */

static const double *g_scores;

static lc_status log_score(lc_module *m, lc_trainer *t)
{
    (void)m;
    return lc_log(t, "score", g_scores[lc_trainer_current_epoch(t)], NULL);
}

static lc_trainer *scripted_fit(const char *root, const double *scores, int64_t epochs,
                                lc_callback *extra, lc_status want)
{
    g_scores = scores;
    lc_datamodule *dm = tf_data(40, 0, 0, 8); /* 5 batches, no validation */
    tf_module tm;
    tf_module_init(&tm, 2);
    tm.base.on_train_epoch_end = log_score;
    lc_trainer_config c;
    tf_config(&c, root);
    c.name = "s";
    c.max_epochs = epochs;
    c.loggers = "csv";
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    if (extra)
        assert_int_equal(lc_trainer_add_callback(t, extra), LC_OK);
    lc_status st = lc_trainer_fit(t, &tm.base, dm, NULL);
    if (st != want)
        fprintf(stderr, "fit: %s\n", lc_errmsg());
    assert_int_equal(st, want);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
    return t;
}

static void test_es_in_trainer(void **s)
{
    (void)s;
    static const double scores[] = {1.0, 0.8, 0.9, 0.85, 0.7, 0.6, 0.5, 0.4};
    lc_early_stopping_options o;
    lc_early_stopping_options_default(&o);
    o.monitor = "score";
    o.patience = 2;
    lc_callback *cb;
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_OK);
    lc_trainer *t = scripted_fit(tu_tmpdir("cb-es"), scores, 8, cb, LC_OK);
    /* best 0.8 at epoch 1; 0.9, 0.85 do not improve -> stop after epoch 3 */
    assert_int_equal(lc_trainer_current_epoch(t), 4);
    assert_int_equal(lc_early_stopping_stopped_epoch(cb), 3);
    lc_trainer_free(t);
    /* strict and the metric is missing: a clear error */
    o.monitor = "val/loss";
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_OK);
    t = scripted_fit(tu_tmpdir("cb-es2"), scores, 2, cb, LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "val/loss"));
    assert_non_null(strstr(lc_errmsg(), "score"));
    lc_trainer_free(t);
    /* not strict: training goes on */
    o.strict = 0;
    assert_int_equal(lc_callback_early_stopping(&cb, &o), LC_OK);
    t = scripted_fit(tu_tmpdir("cb-es3"), scores, 2, cb, LC_OK);
    assert_int_equal(lc_trainer_current_epoch(t), 2);
    lc_trainer_free(t);
}

/* ---- ModelCheckpoint ----------------------------------------------------------- */

/* Sorted file names of dir, joined by ' '. */
static const char *list_dir(const char *dir, char *buf, size_t cap)
{
    char names[64][256];
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < 64)
        if (de->d_name[0] != '.')
            snprintf(names[n++], sizeof names[0], "%s", de->d_name);
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char tmp[256];
                memcpy(tmp, names[i], sizeof tmp);
                memcpy(names[i], names[j], sizeof tmp);
                memcpy(names[j], tmp, sizeof tmp);
            }
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(buf, " ", cap - strlen(buf) - 1);
        strncat(buf, names[i], cap - strlen(buf) - 1);
    }
    return buf;
}

static const char *ckpt_dir(const char *root, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/default/s/checkpoints", root);
    return buf;
}

static void test_mc_default_keeps_latest(void **s)
{
    (void)s;
    static const double scores[] = {1, 2, 3};
    const char *root = tu_tmpdir("cb-mc-default");
    lc_trainer *t = scripted_fit(root, scores, 3, NULL, LC_OK);
    lc_trainer_free(t);
    char dir[4096], files[1024];
    assert_string_equal(list_dir(ckpt_dir(root, dir, sizeof dir), files, sizeof files),
                        "epoch=2-step=15.ckpt");
}

static void test_mc_top_k_with_monitor(void **s)
{
    (void)s;
    static const double scores[] = {0.1, 0.5, 0.3, 0.7, 0.2};
    const char *root = tu_tmpdir("cb-mc-topk");
    lc_checkpoint_options o;
    lc_checkpoint_options_default(&o);
    o.monitor = "score";
    o.mode = "max";
    o.save_top_k = 2;
    o.save_last = 1;
    o.filename = "{epoch}-{score:.2f}";
    lc_callback *cb;
    assert_int_equal(lc_callback_model_checkpoint(&cb, &o), LC_OK);
    lc_trainer *t = scripted_fit(root, scores, 5, cb, LC_OK);
    char dir[4096], files[1024];
    assert_string_equal(list_dir(ckpt_dir(root, dir, sizeof dir), files, sizeof files),
                        "epoch=1-score=0.50.ckpt epoch=3-score=0.70.ckpt last.ckpt");
    assert_non_null(strstr(lc_model_checkpoint_best_path(cb), "epoch=3-score=0.70.ckpt"));
    assert_non_null(strstr(lc_model_checkpoint_last_path(cb), "last.ckpt"));
    lc_trainer_free(t);
}

static void test_mc_version_suffix_and_steps(void **s)
{
    (void)s;
    static const double scores[] = {1, 2};
    const char *root = tu_tmpdir("cb-mc-ver");
    char dir[4096], files[1024], path[4200];
    ckpt_dir(root, dir, sizeof dir);
    /* a file from an earlier attempt with the same name */
    snprintf(path, sizeof path, "%s/default", root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/default/s", root);
    mkdir(path, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/epoch=0-step=3.ckpt", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    lc_checkpoint_options o;
    lc_checkpoint_options_default(&o);
    o.every_n_train_steps = 3;
    o.save_top_k = -1;
    lc_callback *cb;
    assert_int_equal(lc_callback_model_checkpoint(&cb, &o), LC_OK);
    /* run dir exists: resume (keep points) so the run can start */
    g_scores = scores;
    lc_datamodule *dm = tf_data(40, 0, 0, 8);
    tf_module tm;
    tf_module_init(&tm, 2);
    lc_trainer_config c;
    tf_config(&c, root);
    c.name = "s";
    c.max_epochs = 2;
    c.loggers = "csv";
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_add_callback(t, cb), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, "last"), LC_OK);
    lc_trainer_free(t);
    /* steps 3, 6, 9 over 2 epochs of 5 batches; step 3 clashed */
    assert_string_equal(list_dir(dir, files, sizeof files),
                        "epoch=0-step=3-v1.ckpt epoch=0-step=3.ckpt epoch=1-step=6.ckpt "
                        "epoch=1-step=9.ckpt");
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_mc_bad_options(void **s)
{
    (void)s;
    lc_checkpoint_options o;
    lc_checkpoint_options_default(&o);
    lc_callback *cb;
    o.save_top_k = 3; /* no monitor */
    assert_int_equal(lc_callback_model_checkpoint(&cb, &o), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "monitor"));
    lc_checkpoint_options_default(&o);
    o.mode = "maximum";
    assert_int_equal(lc_callback_model_checkpoint(&cb, &o), LC_ERR_INVALID);
    lc_checkpoint_options_default(&o);
    o.filename = "a/b";
    assert_int_equal(lc_callback_model_checkpoint(&cb, &o), LC_ERR_INVALID);
    /* a monitor nobody logs: the fit fails saying so */
    static const double scores[] = {1, 2};
    lc_checkpoint_options_default(&o);
    o.monitor = "val/acc";
    assert_int_equal(lc_callback_model_checkpoint(&cb, &o), LC_OK);
    lc_trainer *t = scripted_fit(tu_tmpdir("cb-mc-bad"), scores, 1, cb, LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "val/acc"));
    lc_trainer_free(t);
}

/* ---- Timer ------------------------------------------------------------------- */

static void test_timer_stops_training(void **s)
{
    (void)s;
    static const double scores[] = {1, 2, 3, 4};
    lc_callback *cb;
    assert_int_equal(lc_callback_timer(&cb, 1e-9, "step"), LC_OK);
    lc_trainer *t = scripted_fit(tu_tmpdir("cb-timer"), scores, 4, cb, LC_OK);
    assert_int_equal(lc_trainer_global_step(t), 1); /* stopped after the first batch */
    assert_true(lc_timer_elapsed(cb, "train") > 0);
    assert_true(isnan(lc_timer_elapsed(cb, "sleep")));
    lc_trainer_free(t);
    assert_int_equal(lc_callback_timer(&cb, 1, "hour"), LC_ERR_INVALID);
}

/* ---- user callbacks ---------------------------------------------------------- */

typedef struct rec_cb {
    lc_callback cb;
    tf_module *tm;
    char tag[16];
} rec_cb;

static lc_status rec_epoch_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)t, (void)m;
    rec_cb *r = (rec_cb *)cb;
    tf_event(&r->tm->base, r->tag);
    return LC_OK;
}

static void test_user_callback_order(void **s)
{
    (void)s;
    lc_datamodule *dm = tf_data(16, 0, 0, 8);
    tf_module tm;
    tf_module_init(&tm, 2);
    tm.record = 1;
    lc_trainer_config c;
    tf_config(&c, tu_tmpdir("cb-order"));
    c.loggers = "none";
    c.enable_checkpointing = 0;
    c.max_epochs = 1;
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    rec_cb *mon = calloc(1, sizeof *mon), *plain = calloc(1, sizeof *plain);
    *mon = (rec_cb){.tm = &tm, .tag = "cb:monitor"};
    mon->cb = (lc_callback){.name = "Mon", .monitoring = 1, .on_train_epoch_end = rec_epoch_end,
                            .destroy = (void (*)(lc_callback *))free};
    *plain = (rec_cb){.tm = &tm, .tag = "cb:plain"};
    plain->cb = (lc_callback){.name = "Plain", .on_train_epoch_end = rec_epoch_end,
                              .destroy = (void (*)(lc_callback *))free};
    /* monitoring first in the list: still after the module */
    assert_int_equal(lc_trainer_add_callback(t, &mon->cb), LC_OK);
    assert_int_equal(lc_trainer_add_callback(t, &plain->cb), LC_OK);
    lc_callback *dup = calloc(1, sizeof *dup);
    dup->name = "Plain";
    dup->destroy = (void (*)(lc_callback *))free;
    assert_int_equal(lc_trainer_add_callback(t, dup), LC_ERR_INVALID); /* freed by the trainer */
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_OK);
    int p = tf_find_event(&tm, "cb:plain", 0), m = tf_find_event(&tm, "on_train_epoch_end", 0),
        q = tf_find_event(&tm, "cb:monitor", 0);
    assert_true(p >= 0 && m > p && q > m);
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es_patience),
        cmocka_unit_test(test_es_min_delta),
        cmocka_unit_test(test_es_thresholds_and_order),
        cmocka_unit_test(test_es_state_round_trip),
        cmocka_unit_test(test_es_in_trainer),
        cmocka_unit_test(test_mc_default_keeps_latest),
        cmocka_unit_test(test_mc_top_k_with_monitor),
        cmocka_unit_test(test_mc_version_suffix_and_steps),
        cmocka_unit_test(test_mc_bad_options),
        cmocka_unit_test(test_timer_stops_training),
        cmocka_unit_test(test_user_callback_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
