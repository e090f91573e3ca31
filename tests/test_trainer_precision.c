/*
 * tests/test_trainer_precision.c — the precision plugins in the trainer:
 *  - Lightning's names and aliases, and a clear refusal of anything else;
 *  - 16-mixed with an injected Inf gradient: the step is skipped, the scale
 *    halves, the weights and the optimizer state are unchanged bit for bit,
 *    the step-interval scheduler does not step, the backward saw the loss
 *    scale, the gradient norm is logged unscaled and the precision events
 *    are logged;
 *  - the plugin driven directly: the scale doubles after 2000 clean steps;
 *  - a resumed 16-mixed run continues the scaler exactly (same weights,
 *    same logged points as an uninterrupted run);
 *  - 16-mixed, bf16-mixed, 16-true and bf16-true train a small model about
 *    as well as 32-true; *-true weights hold only values of the format;
 *  - checkpoints record dtypes and the precision, load across precisions,
 *    still read format version 1, and refuse an unknown version clearly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckpt_file.h"
#include "half.h"
#include "testutil.h"
#include "trainer_fixture.h"
#include "trainer_internal.h"

#define MAX_STEPS 256

/* ---- an instrumented module that can inject an overflow ---------------------- */

typedef struct inj_module {
    tf_module tf;               /* first: the fixture's hooks cast to it */
    int64_t inject_at;          /* global step whose gradient gets an Inf; -1: none */
    double loss_scale[MAX_STEPS];   /* what backward was asked to scale by */
    double scale_before[MAX_STEPS]; /* the trainer's loss scale at the step */
    double scale_after[MAX_STEPS];
    double norm[MAX_STEPS];         /* grad norm seen by on_before_optimizer_step */
    int skipped[MAX_STEPS];
    int unchanged[MAX_STEPS];       /* weights + optimizer state bit-identical after the step */
    int64_t skipped_before;
    float *snap_w;
    uint8_t *snap_opt;
    size_t snap_opt_len;
} inj_module;

static size_t params_copy(const lc_params *ps, float *out)
{
    size_t k = 0;
    for (size_t i = 0; i < ps->len; i++) {
        if (out)
            memcpy(out + k, ps->items[i].data, ps->items[i].count * sizeof(float));
        k += ps->items[i].count;
    }
    return k;
}

static lc_status inj_backward(lc_module *m, lc_trainer *t, double scale)
{
    inj_module *im = (inj_module *)m;
    lc_status st = lc_seq_backward(im->tf.seq, scale);
    int64_t g = lc_trainer_global_step(t);
    if (g < MAX_STEPS)
        im->loss_scale[g] = scale;
    if (st == LC_OK && g == im->inject_at)
        m->params->items[0].grad[0] = INFINITY;
    return st;
}

static lc_status inj_before_step(lc_module *m, lc_trainer *t)
{
    inj_module *im = (inj_module *)m;
    int64_t g = lc_trainer_global_step(t);
    if (g >= MAX_STEPS)
        return LC_OK;
    im->norm[g] = lc_params_grad_norm(m->params); /* already unscaled here */
    im->scale_before[g] = lc_trainer_loss_scale(t);
    im->skipped_before = lc_trainer_skipped_steps(t);
    params_copy(m->params, im->snap_w);
    im->snap_opt_len = lc_optim_state_size(t->optim);
    im->snap_opt = realloc(im->snap_opt, im->snap_opt_len);
    return lc_optim_state_save(t->optim, im->snap_opt, im->snap_opt_len);
}

static lc_status inj_batch_end(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i)
{
    (void)b, (void)i;
    inj_module *im = (inj_module *)m;
    int64_t g = lc_trainer_global_step(t) - 1; /* the step just taken */
    if (g < 0 || g >= MAX_STEPS)
        return LC_OK;
    im->scale_after[g] = lc_trainer_loss_scale(t);
    im->skipped[g] = lc_trainer_skipped_steps(t) != im->skipped_before;
    size_t n = params_copy(m->params, NULL);
    float *now = malloc(n * sizeof *now);
    params_copy(m->params, now);
    uint8_t *opt = malloc(im->snap_opt_len);
    lc_optim_state_save(t->optim, opt, im->snap_opt_len);
    im->unchanged[g] = memcmp(now, im->snap_w, n * sizeof *now) == 0 &&
                       memcmp(opt, im->snap_opt, im->snap_opt_len) == 0;
    free(now);
    free(opt);
    return LC_OK;
}

static void inj_init(inj_module *im, uint64_t seed)
{
    memset(im, 0, sizeof *im);
    tf_module_init(&im->tf, seed);
    im->inject_at = -1;
    im->tf.optimizer = "Adam";
    im->tf.lr = 0.02;
    lc_module *m = &im->tf.base;
    m->backward = inj_backward;
    m->on_before_optimizer_step = inj_before_step;
    m->on_train_batch_end = inj_batch_end;
    im->snap_w = malloc(params_copy(m->params, NULL) * sizeof(float));
}

static void inj_free(inj_module *im)
{
    free(im->snap_w);
    free(im->snap_opt);
    tf_module_free(&im->tf);
}

/* ---- one fit --------------------------------------------------------------- */

typedef struct prec_run {
    const char *root, *name, *precision, *resume, *save;
    int64_t max_epochs;
    int64_t inject_at;
    int log_grad_norm;
    const lc_scheduler_spec *sched;
    uint64_t seed;
    /* results */
    float *w;
    size_t n;
    lc_precision prec;
    double lr, test_acc;
    int64_t global_step;
} prec_run;

static void run_fit(prec_run *r, inj_module *keep)
{
    lc_datamodule *dm = tf_data(160, 32, 96, 16); /* 10 train batches */
    inj_module local;
    inj_module *im = keep ? keep : &local;
    inj_init(im, r->seed ? r->seed : 7);
    im->inject_at = r->inject_at;
    if (r->sched)
        im->tf.sched = *r->sched;
    lc_trainer_config c;
    tf_config(&c, r->root);
    c.name = r->name;
    c.precision = r->precision;
    c.max_epochs = r->max_epochs;
    c.log_grad_norm = r->log_grad_norm;
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    lc_status st = lc_trainer_fit(t, &im->tf.base, dm, r->resume);
    if (st != LC_OK)
        fail_msg("fit (%s): %s", r->precision, lc_errmsg());
    assert_int_equal(lc_trainer_test(t, &im->tf.base, dm), LC_OK);
    assert_int_equal(lc_trainer_callback_metric(t, "test/acc", &r->test_acc), LC_OK);
    if (r->save)
        assert_int_equal(lc_trainer_save_checkpoint(t, r->save), LC_OK);
    r->prec = t->prec;
    r->lr = lc_trainer_lr(t);
    r->global_step = lc_trainer_global_step(t);
    lc_trainer_free(t);
    r->n = params_copy(im->tf.base.params, NULL);
    r->w = malloc(r->n * sizeof(float));
    params_copy(im->tf.base.params, r->w);
    if (!keep)
        inj_free(im);
    lc_datamodule_free(dm);
}

/* Field by field (the struct has padding). */
static void assert_scaler_equal(const lc_loss_scaler *a, const lc_loss_scaler *b)
{
    assert_memory_equal(&a->scale, &b->scale, sizeof a->scale);
    assert_memory_equal(&a->growth_factor, &b->growth_factor, sizeof a->growth_factor);
    assert_memory_equal(&a->backoff_factor, &b->backoff_factor, sizeof a->backoff_factor);
    assert_int_equal(a->growth_interval, b->growth_interval);
    assert_int_equal(a->growth_tracker, b->growth_tracker);
}

/* ---- names ----------------------------------------------------------------------- */

static void test_names_and_aliases(void **s)
{
    (void)s;
    static const char *const ok[][2] = {
        {"32-true", "32-true"},   {"32", "32-true"},         {"16-mixed", "16-mixed"},
        {"16", "16-mixed"},       {"bf16-mixed", "bf16-mixed"}, {"bf16", "bf16-mixed"},
        {"16-true", "16-true"},   {"bf16-true", "bf16-true"},
    };
    lc_trainer_config c;
    lc_trainer *t;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        lc_trainer_config_default(&c);
        c.precision = ok[i][0];
        assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
        assert_string_equal(lc_trainer_precision(t), ok[i][1]);
        assert_string_equal(lc_trainer_get_config(t)->precision, ok[i][1]);
        tf_assert_close(lc_trainer_loss_scale(t), strcmp(ok[i][1], "16-mixed") == 0 ? 65536 : 1, 0);
        lc_trainer_free(t);
    }
    const char *bad[] = {"fp16", "", "16-Mixed", "half"};
    for (size_t i = 0; i < 4; i++) {
        lc_trainer_config_default(&c);
        c.precision = bad[i];
        assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
        assert_non_null(strstr(lc_errmsg(), "unknown precision"));
        assert_non_null(strstr(lc_errmsg(), "32-true, 16-mixed, bf16-mixed, 16-true, bf16-true"));
    }
    lc_trainer_config_default(&c);
    c.precision = "transformer-engine";
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_UNSUPPORTED);
    assert_non_null(strstr(lc_errmsg(), "valid values"));
}

/* ---- the plugin on its own -------------------------------------------------------------- */

static void test_plugin_scaler_growth_and_state(void **s)
{
    (void)s;
    lc_precision p;
    lc_precision_init(&p, LC_PRECISION_16_MIXED);
    assert_true(p.has_scaler);
    assert_int_equal(p.compute, LC_DTYPE_F16);
    assert_int_equal(p.param_dtype, LC_DTYPE_F32);
    for (int i = 0; i < 1999; i++)
        lc_precision_step_end(&p, NULL, 1);
    tf_assert_close(lc_precision_loss_scale(&p), 65536, 0);
    lc_precision_step_end(&p, NULL, 1); /* the 2000th clean step */
    tf_assert_close(lc_precision_loss_scale(&p), 131072, 0);
    lc_precision_step_end(&p, NULL, 0);
    tf_assert_close(lc_precision_loss_scale(&p), 65536, 0);
    assert_int_equal(p.skipped_steps, 1);
    assert_int_equal(p.overflows, 1);
    for (int i = 0; i < 10; i++)
        lc_precision_step_end(&p, NULL, 1);

    /* the blob continues the scaler exactly */
    uint8_t blob[LC_PRECISION_STATE_SIZE];
    lc_precision_state_save(&p, blob);
    lc_precision q;
    lc_precision_init(&q, LC_PRECISION_16_MIXED);
    int same = 0;
    assert_int_equal(lc_precision_state_load(&q, blob, sizeof blob, &same), LC_OK);
    assert_true(same);
    assert_scaler_equal(&p.scaler, &q.scaler);
    assert_int_equal(q.skipped_steps, 1);
    assert_int_equal(q.scaler.growth_tracker, 10);
    /* another precision keeps its fresh state */
    lc_precision b;
    lc_precision_init(&b, LC_PRECISION_BF16_MIXED);
    assert_int_equal(lc_precision_state_load(&b, blob, sizeof blob, &same), LC_OK);
    assert_false(same);
    assert_int_equal(b.skipped_steps, 0);
    tf_assert_close(lc_precision_loss_scale(&b), 1, 0);
    blob[3] ^= 1;
    assert_int_equal(lc_precision_state_load(&q, blob, sizeof blob, &same), LC_ERR_INVALID);

    /* bf16-mixed and 32-true never skip and never scale */
    lc_precision_init(&b, LC_PRECISION_BF16_MIXED);
    int skip = 1;
    lc_precision_unscale(&b, NULL, &skip);
    assert_int_equal(skip, 0);
}

/* ---- overflow injection ---------------------------------------------------------------- */

static void test_injected_overflow_skips_the_step(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("prec-inject");
    lc_scheduler_spec sched;
    lc_scheduler_spec_default(&sched, "StepLR");
    sched.interval = "step";
    sched.step_size = 1;
    sched.gamma = 0.9;
    inj_module im;
    prec_run r = {.root = root, .name = "inj", .precision = "16-mixed", .max_epochs = 2,
                  .inject_at = 4, .log_grad_norm = 1, .sched = &sched};
    run_fit(&r, &im);
    int64_t steps = r.global_step;
    assert_int_equal(steps, 20); /* a skipped step still counts */

    /* the injected step: skipped, scale halved, nothing changed */
    assert_true(im.skipped[4]);
    assert_true(im.unchanged[4]);
    tf_assert_close(im.scale_after[4], im.scale_before[4] / 2, 0);
    /* the trajectory: every step halves on a skip and keeps the scale
       otherwise (no growth within 2000 steps); clean steps move the weights */
    int skipped = 0;
    for (int64_t g = 0; g < steps; g++) {
        tf_assert_close(im.loss_scale[g], im.scale_before[g], 0); /* backward saw the scale */
        tf_assert_close(im.scale_after[g], im.scale_before[g] * (im.skipped[g] ? 0.5 : 1.0), 0);
        if (g + 1 < steps)
            tf_assert_close(im.scale_before[g + 1], im.scale_after[g], 0);
        assert_int_equal(im.unchanged[g], im.skipped[g]);
        skipped += im.skipped[g];
        if (!im.skipped[g])
            assert_true(im.norm[g] < 100.0); /* unscaled, not ~65536x */
    }
    assert_int_equal(r.prec.skipped_steps, skipped);
    tf_assert_close(r.prec.scaler.scale, 65536.0 / pow(2.0, skipped), 0);
    /* the step-interval StepLR did not step on skipped steps */
    tf_assert_close(r.lr, 0.02 * pow(0.9, (double)(steps - skipped)), 1e-15);

    /* events: one point per logging step (log_every_n_steps = 1) */
    int64_t st[64];
    double scale[64], sk[64], ov[64], gn[64];
    assert_int_equal(tf_metric(root, "precision/loss_scale", st, scale, 64), steps);
    assert_int_equal(tf_metric(root, "precision/skipped_steps", NULL, sk, 64), steps);
    assert_int_equal(tf_metric(root, "precision/overflows", NULL, ov, 64), steps);
    assert_int_equal(tf_metric(root, "grad_norm", NULL, gn, 64), steps);
    int cum = 0;
    for (int64_t g = 0; g < steps; g++) {
        assert_int_equal(st[g], g);
        tf_assert_close(scale[g], im.scale_after[g], 0);
        cum += im.skipped[g];
        tf_assert_close(sk[g], cum, 0);
        tf_assert_close(ov[g], im.skipped[g], 0);
        if (!im.skipped[g])
            tf_assert_close(gn[g], im.norm[g], 1e-9 * (1 + im.norm[g]));
        else
            assert_true(!isfinite(gn[g]) || gn[g] > 1e30);
    }
    /* and the precision is a run param */
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM params WHERE key = 'precision'", -1,
                                        &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "16-mixed");
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(r.w);
    inj_free(&im);
}

/* Every (key, step, value) of the index as text. */
static char *index_dump(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT key, step, value FROM metrics ORDER BY key, step",
                                        -1, &q, NULL), SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (cap - len < 256)
            out = realloc(out, cap *= 2);
        len += (size_t)snprintf(out + len, cap - len, "%s %lld %.17g\n", sqlite3_column_text(q, 0),
                                (long long)sqlite3_column_int64(q, 1), sqlite3_column_double(q, 2));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

static void test_resume_continues_the_scaler(void **s)
{
    (void)s;
    const char *straight = tu_tmpdir("prec-straight");
    const char *resumed = tu_tmpdir("prec-resumed");
    prec_run a = {.root = straight, .name = "r", .precision = "16-mixed", .max_epochs = 4,
                  .inject_at = 13};
    run_fit(&a, NULL);
    prec_run b1 = {.root = resumed, .name = "r", .precision = "16-mixed", .max_epochs = 2,
                   .inject_at = 13};
    run_fit(&b1, NULL);
    prec_run b2 = b1;
    b2.max_epochs = 4;
    b2.resume = "last";
    run_fit(&b2, NULL);
    assert_true(b1.prec.skipped_steps >= 1);
    assert_int_equal(a.n, b2.n);
    assert_memory_equal(a.w, b2.w, a.n * sizeof(float));
    assert_scaler_equal(&a.prec.scaler, &b2.prec.scaler);
    assert_int_equal(a.prec.skipped_steps, b2.prec.skipped_steps);
    assert_true(b2.prec.scaler.growth_tracker > 0);
    char *d1 = index_dump(straight), *d2 = index_dump(resumed);
    assert_string_equal(d1, d2);
    assert_non_null(strstr(d1, "precision/loss_scale 39 "));
    free(d1);
    free(d2);
    free(a.w);
    free(b1.w);
    free(b2.w);
}

/* ---- training in every precision ----------------------------------------------------------- */

static int all_in_format(lc_dtype fmt, const float *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float r = fmt == LC_DTYPE_F16 ? lc_round_f16(w[i]) : lc_round_bf16(w[i]);
        if (memcmp(&r, &w[i], 4) != 0)
            return 0;
    }
    return 1;
}

static void test_every_precision_trains(void **s)
{
    (void)s;
    const char *names[] = {"32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true"};
    double acc[5];
    float *w32 = NULL;
    for (int i = 0; i < 5; i++) {
        const char *root = tu_tmpdir("prec-train");
        prec_run r = {.root = root, .name = "t", .precision = names[i], .max_epochs = 3,
                      .inject_at = -1};
        run_fit(&r, NULL);
        acc[i] = r.test_acc;
        print_message("[ INFO     ] %-10s test/acc %.4f\n", names[i], acc[i]);
        assert_true(acc[i] >= 0.9);
        if (i == 0) {
            w32 = r.w;
            continue;
        }
        /* the low-precision runs really computed differently */
        assert_true(memcmp(w32, r.w, r.n * sizeof(float)) != 0);
        if (i == 3)
            assert_true(all_in_format(LC_DTYPE_F16, r.w, r.n));
        if (i == 4)
            assert_true(all_in_format(LC_DTYPE_BF16, r.w, r.n));
        if (i == 1 || i == 2) /* fp32 master weights */
            assert_false(all_in_format(i == 1 ? LC_DTYPE_F16 : LC_DTYPE_BF16, r.w, r.n));
        assert_true(fabs(acc[i] - acc[0]) <= 0.05);
        free(r.w);
    }
    free(w32);
}

/* ---- checkpoints across precisions and versions ------------------------------------------ */

/* Rewrite a version-2 checkpoint as version `version` with version 1's
 * layout (float32 tensors without a dtype, no precision section). */
static void rewrite_as_version(const char *src, const char *dst, uint32_t version)
{
    lc_ckpt_reader r;
    assert_int_equal(lc_ckpt_read(src, &r), LC_OK);
    assert_int_equal(r.version, 2);
    lc_ckpt_writer w;
    lc_ckpt_writer_init(&w);
    w.version = version;
    for (uint32_t i = 0; i < r.nsections; i++) {
        const lc_ckpt_section *sec = &r.sections[i];
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)sec->name_len, sec->name);
        if (strcmp(name, "precision") == 0)
            continue;
        if (strncmp(name, "state_dict/", 11) != 0) {
            lc_ckpt_add(&w, name, sec->data, sec->len);
            continue;
        }
        uint32_t nd, code;
        memcpy(&nd, sec->data, 4);
        memcpy(&code, sec->data + 4, 4);
        assert_int_equal(code, LC_DTYPE_F32);
        uint8_t *d = lc_ckpt_add_space(&w, name, sec->len - 4);
        memcpy(d, sec->data, 4);
        memcpy(d + 4, sec->data + 8, sec->len - 8);
    }
    assert_int_equal(lc_ckpt_writer_finish(&w), LC_OK);
    assert_int_equal(lc_ckpt_write_atomic(dst, w.buf, w.len), LC_OK);
    lc_ckpt_writer_free(&w);
    lc_ckpt_reader_free(&r);
}

static void test_checkpoints_across_precisions_and_versions(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("prec-ckpt");
    char p_bf16[4096], p_32[4096], p_v1[4096], p_v3[4096];
    snprintf(p_bf16, sizeof p_bf16, "%s/bf16-true.ckpt", root);
    snprintf(p_32, sizeof p_32, "%s/32-true.ckpt", root);
    snprintf(p_v1, sizeof p_v1, "%s/v1.ckpt", root);
    snprintf(p_v3, sizeof p_v3, "%s/v3.ckpt", root);

    /* a bf16-true checkpoint stores 16-bit tensors and says so */
    prec_run bt = {.root = root, .name = "bt", .precision = "bf16-true", .max_epochs = 1,
                   .inject_at = -1, .save = p_bf16};
    run_fit(&bt, NULL);
    lc_ckpt_reader rd;
    assert_int_equal(lc_ckpt_read(p_bf16, &rd), LC_OK);
    const lc_ckpt_section *sec = lc_ckpt_find(&rd, "state_dict/0.weight");
    assert_non_null(sec);
    uint32_t code;
    memcpy(&code, sec->data + 4, 4);
    assert_int_equal(code, LC_DTYPE_BF16);
    assert_int_equal(sec->len, 8 + 2 * 8 + 2 * (8 * TF_FEATURES));
    assert_non_null(lc_ckpt_find(&rd, "precision"));
    lc_ckpt_reader_free(&rd);
    char *meta = NULL;
    assert_int_equal(lc_checkpoint_inspect(p_bf16, NULL, NULL, &meta), LC_OK);
    assert_non_null(strstr(meta, "\"precision\":\t\"bf16-true\""));
    assert_non_null(strstr(meta, "\"0.weight\":\t\"bfloat16\""));
    free(meta);

    /* ... and loads into a 32-true run exactly (bfloat16 widens exactly) */
    prec_run to32 = {.root = root, .name = "to32", .precision = "32-true", .max_epochs = 1,
                     .inject_at = -1, .resume = p_bf16, .seed = 99, .save = p_32};
    run_fit(&to32, NULL);
    assert_memory_equal(bt.w, to32.w, bt.n * sizeof(float));

    /* a float32 checkpoint loaded into bf16-true is rounded to bfloat16 */
    prec_run f32 = {.root = root, .name = "f32", .precision = "32-true", .max_epochs = 1,
                    .inject_at = -1, .save = p_32};
    run_fit(&f32, NULL);
    prec_run tobt = {.root = root, .name = "tobt", .precision = "bf16-true", .max_epochs = 1,
                     .inject_at = -1, .resume = p_32, .seed = 98};
    run_fit(&tobt, NULL);
    for (size_t i = 0; i < f32.n; i++)
        assert_true(tobt.w[i] == lc_round_bf16(f32.w[i]));

    /* format version 1 (the previous lightc) still loads */
    rewrite_as_version(p_32, p_v1, 1);
    prec_run v1 = {.root = root, .name = "v1", .precision = "32-true", .max_epochs = 1,
                   .inject_at = -1, .resume = p_v1, .seed = 97};
    run_fit(&v1, NULL);
    assert_memory_equal(f32.w, v1.w, f32.n * sizeof(float));
    /* a 32-true checkpoint resumes a 16-mixed run with a fresh scaler */
    prec_run to16 = {.root = root, .name = "to16", .precision = "16-mixed", .max_epochs = 1,
                     .inject_at = -1, .resume = p_v1, .seed = 96};
    run_fit(&to16, NULL);
    assert_memory_equal(f32.w, to16.w, f32.n * sizeof(float));
    tf_assert_close(to16.prec.scaler.scale, 65536, 0);

    /* an unknown version is refused, saying what this lightc reads */
    rewrite_as_version(p_32, p_v3, 3);
    lc_ckpt_reader r3;
    assert_int_equal(lc_ckpt_read(p_v3, &r3), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "format version 3"));
    assert_non_null(strstr(lc_errmsg(), "versions 1 to 2"));
    assert_non_null(strstr(lc_errmsg(), "newer lightc"));
    free(bt.w);
    free(to32.w);
    free(f32.w);
    free(tobt.w);
    free(v1.w);
    free(to16.w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_aliases),
        cmocka_unit_test(test_plugin_scaler_growth_and_state),
        cmocka_unit_test(test_injected_overflow_skips_the_step),
        cmocka_unit_test(test_resume_continues_the_scaler),
        cmocka_unit_test(test_every_precision_trains),
        cmocka_unit_test(test_checkpoints_across_precisions_and_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
