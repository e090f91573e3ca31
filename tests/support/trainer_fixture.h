/*
 * tests/support/trainer_fixture.h — a tiny synthetic data set and module
 * for the trainer tests (tests/test_trainer_*.c): fast, deterministic, and
 * instrumented (every hook call is recorded in order).
 *
 * Data: F = 16 byte "pixels" per sample, 3 classes; the class decides
 * which third of the features is bright, with noise, so a small MLP learns
 * it in a few steps. Module: lc_seq MLP 16-8-3 (ReLU), SGD or Adam, that
 * logs train/loss and train/acc in training_step and val/ and test/ loss
 * and accuracy in the evaluation steps — the same keys as `lightc train`.
 *
 * Header-only (static) so each test stays one translation unit.
 */
#ifndef LC_TRAINER_FIXTURE_H
#define LC_TRAINER_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lightc/trainer.h"

#define TF_FEATURES 16
#define TF_CLASSES 3

/* |a - b| <= eps, printing both on failure (cmocka 1.1 has no double assert). */
#define tf_assert_close(a, b, eps)                                                          \
    do {                                                                                   \
        double tf_a_ = (a), tf_b_ = (b);                                                   \
        if (!(fabs(tf_a_ - tf_b_) <= (eps)))                                               \
            fail_msg("%s = %.17g, expected %.17g", #a, tf_a_, tf_b_);                      \
    } while (0)

/* ---- data --------------------------------------------------------------- */

static inline uint32_t tf_lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static inline void tf_fill(uint8_t *x, uint8_t *y, size_t n, uint32_t seed)
{
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        int c = (int)(tf_lcg(&s) % TF_CLASSES);
        y[i] = (uint8_t)c;
        for (int f = 0; f < TF_FEATURES; f++) {
            int bright = f * TF_CLASSES / TF_FEATURES == c;
            x[i * TF_FEATURES + f] = (uint8_t)((bright ? 150 : 30) + tf_lcg(&s) % 80);
        }
    }
}

/* n_train / n_val / n_test samples, batch size bs. */
static inline lc_datamodule *tf_data(size_t n_train, size_t n_val, size_t n_test, int64_t bs)
{
    size_t n = n_train + n_val + n_test;
    uint8_t *x = malloc(n * TF_FEATURES), *y = malloc(n);
    tf_fill(x, y, n, 12345u);
    lc_datamodule *dm = NULL;
    lc_status st = lc_datamodule_from_bytes(
        &dm, x, y, n_train, x + n_train * TF_FEATURES, y + n_train, n_val,
        x + (n_train + n_val) * TF_FEATURES, y + n_train + n_val, n_test, TF_FEATURES,
        TF_CLASSES, bs);
    free(x);
    free(y);
    if (st != LC_OK)
        fprintf(stderr, "tf_data: %s\n", lc_errmsg());
    return dm;
}

/* ---- module ------------------------------------------------------------- */

#define TF_MAX_EVENTS 4096

typedef struct tf_module {
    lc_module base;
    lc_seq *seq;
    const char *optimizer;   /* "SGD" (default) or "Adam"/"AdamW" */
    double lr;
    lc_scheduler_spec sched; /* name NULL: none */
    float dropout;
    /* instrumentation */
    int n_train_steps, n_val_steps, n_test_steps, n_backward, n_zero_grad_hooks;
    int n_optimizer_hooks;
    double last_loss_scale;
    char events[TF_MAX_EVENTS][32];
    int nevents;
    int record;              /* record hook names into events */
    /* optional extra logging in training_step: extra_name/value/opts */
    const char *extra_name;
    double extra_value;
    lc_log_options extra_opts;
} tf_module;

#define TF(m) ((tf_module *)(m))

static inline void tf_event(lc_module *m, const char *name)
{
    tf_module *tm = TF(m);
    if (tm->record && tm->nevents < TF_MAX_EVENTS)
        snprintf(tm->events[tm->nevents++], sizeof tm->events[0], "%s", name);
}

static lc_status tf_configure_optimizers(lc_module *m, lc_trainer *t, lc_optimizers *out)
{
    (void)t;
    tf_module *tm = TF(m);
    lc_status st = lc_optimizer_spec_default(&out->optimizer, tm->optimizer ? tm->optimizer : "SGD");
    out->optimizer.lr = tm->lr > 0 ? tm->lr : 0.1;
    out->scheduler = tm->sched;
    return st;
}

static lc_status tf_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int training,
                         double *loss, double *acc)
{
    const float *out;
    lc_status st = lc_seq_forward(TF(m)->seq, b->x, b->size, training,
                                  training ? lc_trainer_rng(t) : NULL, &out);
    int64_t correct = 0;
    if (st == LC_OK)
        st = lc_seq_cross_entropy(TF(m)->seq, b->y, loss, &correct);
    *acc = (double)correct / (double)b->size;
    return st;
}

static lc_status tf_training_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i,
                                  double *loss)
{
    (void)i;
    tf_event(m, "training_step");
    TF(m)->n_train_steps++;
    double acc;
    lc_status st = tf_step(m, t, b, 1, loss, &acc);
    if (st == LC_OK)
        st = lc_log(t, "train/loss", *loss, NULL);
    if (st == LC_OK)
        st = lc_log(t, "train/acc", acc, NULL);
    if (st == LC_OK && TF(m)->extra_name)
        st = lc_log(t, TF(m)->extra_name, TF(m)->extra_value, &TF(m)->extra_opts);
    return st;
}

static lc_status tf_backward(lc_module *m, lc_trainer *t, double scale)
{
    (void)t;
    tf_event(m, "backward");
    TF(m)->n_backward++;
    TF(m)->last_loss_scale = scale;
    return lc_seq_backward(TF(m)->seq, scale);
}

static lc_status tf_eval(lc_module *m, lc_trainer *t, const lc_minibatch *b, const char *pfx)
{
    double loss, acc;
    lc_status st = tf_step(m, t, b, 0, &loss, &acc);
    char k[32];
    snprintf(k, sizeof k, "%s/loss", pfx);
    if (st == LC_OK)
        st = lc_log(t, k, loss, NULL);
    snprintf(k, sizeof k, "%s/acc", pfx);
    if (st == LC_OK)
        st = lc_log(t, k, acc, NULL);
    return st;
}

static lc_status tf_validation_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i)
{
    (void)i;
    tf_event(m, lc_trainer_sanity_checking(t) ? "sanity_validation_step" : "validation_step");
    TF(m)->n_val_steps++;
    return tf_eval(m, t, b, "val");
}

static lc_status tf_test_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i)
{
    (void)i;
    tf_event(m, "test_step");
    TF(m)->n_test_steps++;
    return tf_eval(m, t, b, "test");
}

#define TF_HOOK(name)                                                                      \
    static lc_status tf_##name(lc_module *m, lc_trainer *t)                                \
    {                                                                                      \
        (void)t;                                                                           \
        tf_event(m, #name);                                                                \
        return LC_OK;                                                                      \
    }
TF_HOOK(on_fit_start)
TF_HOOK(on_fit_end)
TF_HOOK(on_train_start)
TF_HOOK(on_train_end)
TF_HOOK(on_train_epoch_start)
TF_HOOK(on_train_epoch_end)
TF_HOOK(on_validation_epoch_start)
TF_HOOK(on_validation_epoch_end)
TF_HOOK(on_before_backward)
TF_HOOK(on_after_backward)

static lc_status tf_on_before_zero_grad(lc_module *m, lc_trainer *t)
{
    (void)t;
    tf_event(m, "on_before_zero_grad");
    TF(m)->n_zero_grad_hooks++;
    return LC_OK;
}

static lc_status tf_on_before_optimizer_step(lc_module *m, lc_trainer *t)
{
    (void)t;
    tf_event(m, "on_before_optimizer_step");
    TF(m)->n_optimizer_hooks++;
    return LC_OK;
}

static lc_status tf_on_train_batch_end(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                                       int64_t i)
{
    (void)t, (void)b, (void)i;
    tf_event(m, "on_train_batch_end");
    return LC_OK;
}

/* A fresh module: MLP 16-8-3 from seed. */
static inline void tf_module_init(tf_module *tm, uint64_t seed)
{
    memset(tm, 0, sizeof *tm);
    int64_t hidden[1] = {8};
    if (lc_seq_mlp(&tm->seq, TF_FEATURES, hidden, 1, TF_CLASSES, LC_ACT_RELU, 0.0f, seed) != LC_OK)
        fprintf(stderr, "tf_module_init: %s\n", lc_errmsg());
    lc_module *m = &tm->base;
    m->name = "TinyMLP";
    m->self = tm;
    m->params = lc_seq_params(tm->seq);
    m->hparams_json = "{\"model\":{\"hidden\":8},\"lr\":0.1}";
    m->configure_optimizers = tf_configure_optimizers;
    m->training_step = tf_training_step;
    m->backward = tf_backward;
    m->validation_step = tf_validation_step;
    m->test_step = tf_test_step;
    m->on_fit_start = tf_on_fit_start;
    m->on_fit_end = tf_on_fit_end;
    m->on_train_start = tf_on_train_start;
    m->on_train_end = tf_on_train_end;
    m->on_train_epoch_start = tf_on_train_epoch_start;
    m->on_train_epoch_end = tf_on_train_epoch_end;
    m->on_validation_epoch_start = tf_on_validation_epoch_start;
    m->on_validation_epoch_end = tf_on_validation_epoch_end;
    m->on_before_zero_grad = tf_on_before_zero_grad;
    m->on_before_backward = tf_on_before_backward;
    m->on_after_backward = tf_on_after_backward;
    m->on_before_optimizer_step = tf_on_before_optimizer_step;
    m->on_train_batch_end = tf_on_train_batch_end;
}

static inline void tf_module_free(tf_module *tm)
{
    lc_seq_free(tm->seq);
    tm->seq = NULL;
}

/* A trainer config for tests: no console, no summary, logging under root
 * (NULL: no logging at all through "none"... use a root), on the cpu. */
static inline void tf_config(lc_trainer_config *c, const char *root)
{
    lc_trainer_config_default(c);
    c->default_root_dir = root;
    c->loggers = "sqlite,csv";
    c->enable_model_summary = 0;
    c->enable_progress_bar = 0;
    c->num_sanity_val_steps = 0;
    c->log_every_n_steps = 1;
    c->max_epochs = 2;
    c->threads = 1;
    c->accelerator = "cpu"; /* the same bits on a machine with a GPU */
}

/* Index of the first recorded event equal to name at or after from, -1 if none. */
static inline int tf_find_event(const tf_module *tm, const char *name, int from)
{
    for (int i = from; i < tm->nevents; i++)
        if (strcmp(tm->events[i], name) == 0)
            return i;
    return -1;
}

static inline int tf_count_event(const tf_module *tm, const char *name)
{
    int n = 0;
    for (int i = 0; i < tm->nevents; i++)
        n += strcmp(tm->events[i], name) == 0;
    return n;
}

/* ---- reading the index ---------------------------------------------------- */

/* Points of key in <root>/index.db (every run), ordered by step: up to max
 * (step, value) pairs; returns how many there are, -1 on error. */
static inline int tf_metric(const char *root, const char *key, int64_t *steps, double *values, int max)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *q;
    int n = -1;
    if (sqlite3_prepare_v2(db, "SELECT step, value FROM metrics WHERE key = ?1 ORDER BY step", -1,
                           &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
        n = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (n < max) {
                if (steps)
                    steps[n] = sqlite3_column_int64(q, 0);
                if (values)
                    values[n] = sqlite3_column_double(q, 1);
            }
            n++;
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

/* All distinct metric keys, comma-joined in key order, into buf. */
static inline const char *tf_metric_keys(const char *root, char *buf, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    buf[0] = 0;
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return buf;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT key FROM metrics ORDER BY key", -1, &q, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (buf[0])
                strncat(buf, ",", cap - strlen(buf) - 1);
            strncat(buf, (const char *)sqlite3_column_text(q, 0), cap - strlen(buf) - 1);
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return buf;
}

#endif
