/*
 * tests/test_trainer_checkpoint.c — checkpoints: the container (sections,
 * CRC, atomic write), a torn or corrupted file refused with a clear error
 * (and never loaded), the round trip of weights, optimizer, scheduler, RNG
 * and loop counters, and resume: a run continued from a checkpoint (at an
 * epoch end or in the middle of an epoch) logs exactly the points and
 * reaches exactly the weights of an uninterrupted run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_file.h"
#include "testutil.h"
#include "trainer_fixture.h"
#include "trainer_internal.h"

/* ---- the container --------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void make_container(const char *path)
{
    lc_ckpt_writer w;
    lc_ckpt_writer_init(&w);
    lc_ckpt_add(&w, "meta", "{\"a\":1}", 7);
    float v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (float)i * 0.5f;
    lc_ckpt_add(&w, "state_dict/w", v, sizeof v);
    lc_ckpt_add(&w, "empty", NULL, 0);
    assert_int_equal(lc_ckpt_writer_finish(&w), LC_OK);
    assert_int_equal(lc_ckpt_write_atomic(path, w.buf, w.len), LC_OK);
    lc_ckpt_writer_free(&w);
}

static void test_container_round_trip(void **s)
{
    (void)s;
    const char *dir = tu_tmpdir("ckpt-container");
    char path[4096];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    make_container(path);
    lc_ckpt_reader r;
    assert_int_equal(lc_ckpt_read(path, &r), LC_OK);
    assert_int_equal(r.nsections, 3);
    const lc_ckpt_section *sec = lc_ckpt_find(&r, "state_dict/w");
    assert_non_null(sec);
    assert_int_equal(sec->len, 400);
    float x;
    memcpy(&x, sec->data + 4 * 7, 4);
    tf_assert_close(x, 3.5, 0);
    assert_non_null(lc_ckpt_find(&r, "empty"));
    assert_null(lc_ckpt_find(&r, "state_dict"));
    lc_ckpt_reader_free(&r);
    /* the atomic write leaves no temp file */
    DIR *d = opendir(dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') {
            files++;
            assert_null(strstr(de->d_name, ".tmp"));
        }
    closedir(d);
    assert_int_equal(files, 1);
}

/* Every kind of damage is refused, with a message naming the file. */
static void test_corrupt_container_refused(void **s)
{
    (void)s;
    const char *dir = tu_tmpdir("ckpt-corrupt");
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/good.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    make_container(path);
    size_t n;
    char *good = tu_read_file(path, &n);
    assert_non_null(good);
    lc_ckpt_reader r;

    /* torn: the last bytes never reached the disk */
    for (size_t cut = 1; cut < n; cut += n / 7 + 1) {
        write_file(bad, good, n - cut);
        assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
        assert_non_null(strstr(lc_errmsg(), "bad.ckpt"));
    }
    write_file(bad, good, n - 3);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "truncated or corrupt"));
    /* one flipped bit in the payload */
    good[n - 10] ^= 0x04;
    write_file(bad, good, n);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "checksum"));
    good[n - 10] ^= 0x04;
    /* a flipped bit in the header */
    good[13] ^= 0x01;
    write_file(bad, good, n);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "header checksum"));
    good[13] ^= 0x01;
    /* appended garbage */
    char *longer = malloc(n + 5);
    memcpy(longer, good, n);
    memcpy(longer + n, "xxxxx", 5);
    write_file(bad, longer, n + 5);
    free(longer);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
    /* not a checkpoint at all */
    write_file(bad, "hello world, not a checkpoint at all.....", 41);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "not a lightc checkpoint"));
    write_file(bad, "", 0);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_INVALID);
    /* missing */
    snprintf(bad, sizeof bad, "%s/none.ckpt", dir);
    assert_int_equal(lc_ckpt_read(bad, &r), LC_ERR_NOT_FOUND);
    /* the intact file still reads */
    write_file(path, good, n);
    assert_int_equal(lc_ckpt_read(path, &r), LC_OK);
    lc_ckpt_reader_free(&r);
    free(good);
}

/* ---- trainer round trip ------------------------------------------------------ */

/* The checkpoint ModelCheckpoint left in <root>/<exp>/<name>/checkpoints. */
static int find_ckpt(const char *root, const char *name, const char *file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/default/%s/checkpoints/%s", root, name, file);
    struct stat st;
    return stat(out, &st) == 0;
}

static void copy_params(lc_params *ps, float **out, size_t *n)
{
    size_t total = lc_params_numel(ps), k = 0;
    float *v = malloc(total * sizeof *v);
    for (size_t i = 0; i < ps->len; i++) {
        memcpy(v + k, ps->items[i].data, ps->items[i].count * sizeof *v);
        k += ps->items[i].count;
    }
    *out = v;
    *n = total;
}

static void test_round_trip_and_refusals(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("ckpt-rt");
    lc_datamodule *dm = tf_data(40, 16, 0, 8); /* 5 batches */
    tf_module a;
    tf_module_init(&a, 11);
    a.optimizer = "Adam";
    a.lr = 0.01;
    lc_scheduler_spec_default(&a.sched, "StepLR");
    a.sched.gamma = 0.5;
    lc_trainer_config c;
    tf_config(&c, root);
    c.name = "rt";
    c.max_epochs = 2;
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &a.base, dm, NULL), LC_OK);
    uint64_t rng_a[2];
    lc_rng_save(lc_trainer_rng(t), rng_a);
    size_t nstate = lc_optim_state_size(t->optim);
    void *state_a = malloc(nstate);
    assert_int_equal(lc_optim_state_save(t->optim, state_a, nstate), LC_OK);
    double lr_a = lc_trainer_lr(t);
    lc_trainer_free(t);
    float *wa;
    size_t n;
    copy_params(a.base.params, &wa, &n);

    char path[4096];
    assert_true(find_ckpt(root, "rt", "epoch=1-step=10.ckpt", path, sizeof path));
    int64_t epoch, gstep;
    char *meta = NULL;
    assert_int_equal(lc_checkpoint_inspect(path, &epoch, &gstep, &meta), LC_OK);
    assert_int_equal(epoch, 1);
    assert_int_equal(gstep, 10);
    assert_non_null(strstr(meta, "\"hyper_parameters\""));
    assert_non_null(strstr(meta, "\"threads\""));
    free(meta);

    /* Trainer.save_checkpoint after fit writes at once */
    char manual[4200];
    snprintf(manual, sizeof manual, "%s/manual.ckpt", root);
    tf_module again;
    tf_module_init(&again, 11);
    again.optimizer = "Adam";
    again.lr = 0.01;
    again.sched = a.sched;
    c.name = "manual";
    c.max_epochs = 1;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &again.base, dm, NULL), LC_OK);
    assert_int_equal(lc_trainer_save_checkpoint(t, manual), LC_OK);
    assert_int_equal(lc_checkpoint_inspect(manual, &epoch, &gstep, NULL), LC_OK);
    assert_int_equal(gstep, 5);
    assert_int_equal(lc_trainer_save_checkpoint(t, ""), LC_ERR_INVALID);
    lc_trainer_free(t);
    tf_module_free(&again);
    c.name = "rt";

    /* a module with other initial weights takes the checkpoint's */
    tf_module b;
    tf_module_init(&b, 999);
    b.optimizer = "Adam";
    b.lr = 0.01;
    b.sched = a.sched;
    c.max_epochs = 2; /* already done: restore, train nothing */
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &b.base, dm, path), LC_OK);
    float *wb;
    copy_params(b.base.params, &wb, &n);
    assert_memory_equal(wa, wb, n * sizeof(float));
    assert_int_equal(lc_trainer_global_step(t), 10);
    assert_int_equal(lc_trainer_current_epoch(t), 2);
    tf_assert_close(lc_trainer_lr(t), lr_a, 0);
    uint64_t rng_b[2];
    lc_rng_save(lc_trainer_rng(t), rng_b);
    assert_memory_equal(rng_a, rng_b, sizeof rng_a);
    void *state_b = malloc(nstate);
    assert_int_equal(lc_optim_state_save(t->optim, state_b, nstate), LC_OK);
    assert_memory_equal(state_a, state_b, nstate);
    assert_int_equal(b.n_train_steps, 0);
    lc_trainer_free(t);
    free(state_a);
    free(state_b);
    free(wb);

    /* another model: refused, naming the reason */
    tf_module wide;
    memset(&wide, 0, sizeof wide);
    tf_module_init(&wide, 1);
    lc_seq_free(wide.seq);
    int64_t hidden[1] = {12};
    assert_int_equal(lc_seq_mlp(&wide.seq, TF_FEATURES, hidden, 1, TF_CLASSES, LC_ACT_RELU, 0, 1),
                     LC_OK);
    wide.base.params = lc_seq_params(wide.seq);
    wide.optimizer = "Adam";
    c.name = "wide";
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &wide.base, dm, path), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "another model"));
    lc_trainer_free(t);

    /* a torn checkpoint: refused before the run is touched; weights unchanged */
    size_t len;
    char *bytes = tu_read_file(path, &len);
    char torn[4096];
    snprintf(torn, sizeof torn, "%s/torn.ckpt", root);
    write_file(torn, bytes, len / 2);
    free(bytes);
    tf_module d;
    tf_module_init(&d, 5);
    d.optimizer = "Adam";
    float *wd0;
    copy_params(d.base.params, &wd0, &n);
    c.name = "torn";
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &d.base, dm, torn), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "torn.ckpt"));
    assert_non_null(strstr(lc_errmsg(), "refused"));
    assert_null(lc_trainer_run(t));
    lc_trainer_free(t);
    float *wd1;
    copy_params(d.base.params, &wd1, &n);
    assert_memory_equal(wd0, wd1, lc_params_numel(d.base.params) * sizeof(float));
    assert_int_equal(d.n_train_steps, 0);
    free(wd0);
    free(wd1);

    /* a missing path */
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &d.base, dm, "/nonexistent/x.ckpt"), LC_ERR_NOT_FOUND);
    lc_trainer_free(t);

    free(wa);
    tf_module_free(&a);
    tf_module_free(&b);
    tf_module_free(&wide);
    tf_module_free(&d);
    lc_datamodule_free(dm);
}

/* ---- resume bit-identity ----------------------------------------------------- */

/* A module with dropout, Adam and StepLR, logging a forked epoch metric. */
static void resumable_module(tf_module *m)
{
    tf_module_init(m, 21);
    lc_seq_free(m->seq);
    int64_t hidden[1] = {10};
    lc_seq_mlp(&m->seq, TF_FEATURES, hidden, 1, TF_CLASSES, LC_ACT_GELU, 0.25f, 21);
    m->base.params = lc_seq_params(m->seq);
    m->optimizer = "AdamW";
    m->lr = 0.02;
    lc_scheduler_spec_default(&m->sched, "StepLR");
    m->sched.step_size = 1;
    m->sched.gamma = 0.7;
    m->extra_name = "x";
    m->extra_value = 1.25;
    m->extra_opts = (lc_log_options){.on_epoch = LC_LOG_ON};
}

/* Every (key, step, value) in the index as text, one per line. */
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
        if (cap - len < 256) {
            cap *= 2;
            out = realloc(out, cap);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s %lld %.17g\n", sqlite3_column_text(q, 0),
                                (long long)sqlite3_column_int64(q, 1), sqlite3_column_double(q, 2));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

static void run_fit(const char *root, int64_t max_epochs, const char *resume, float **w, size_t *n,
                    const lc_checkpoint_options *ck)
{
    lc_datamodule *dm = tf_data(80, 16, 16, 8); /* 10 train batches */
    tf_module m;
    resumable_module(&m);
    lc_trainer_config c;
    tf_config(&c, root);
    c.name = "r";
    c.max_epochs = max_epochs;
    c.log_every_n_steps = 2;
    c.num_sanity_val_steps = 1;
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    if (ck) {
        lc_callback *cb;
        assert_int_equal(lc_callback_model_checkpoint(&cb, ck), LC_OK);
        assert_int_equal(lc_trainer_add_callback(t, cb), LC_OK);
    }
    lc_status st = lc_trainer_fit(t, &m.base, dm, resume);
    if (st != LC_OK)
        fprintf(stderr, "fit: %s\n", lc_errmsg());
    assert_int_equal(st, LC_OK);
    assert_int_equal(lc_trainer_test(t, &m.base, dm), LC_OK);
    lc_trainer_free(t);
    if (w)
        copy_params(m.base.params, w, n);
    tf_module_free(&m);
    lc_datamodule_free(dm);
}

static void test_resume_at_epoch_end_is_bit_identical(void **s)
{
    (void)s;
    const char *straight = tu_tmpdir("ckpt-straight");
    const char *resumed = tu_tmpdir("ckpt-resumed");
    float *w1, *w2;
    size_t n1, n2;
    run_fit(straight, 4, NULL, &w1, &n1, NULL);
    run_fit(resumed, 2, NULL, NULL, NULL, NULL);
    run_fit(resumed, 4, "last", &w2, &n2, NULL);
    assert_int_equal(n1, n2);
    assert_memory_equal(w1, w2, n1 * sizeof(float));
    char *d1 = index_dump(straight), *d2 = index_dump(resumed);
    assert_string_equal(d1, d2);
    assert_non_null(strstr(d1, "x_epoch 39 "));
    free(d1);
    free(d2);
    free(w1);
    free(w2);
}

static void test_resume_mid_epoch_is_bit_identical(void **s)
{
    (void)s;
    const char *straight = tu_tmpdir("ckpt-mid-straight");
    const char *resumed = tu_tmpdir("ckpt-mid-resumed");
    lc_checkpoint_options ck;
    lc_checkpoint_options_default(&ck);
    ck.every_n_train_steps = 4;
    ck.save_top_k = -1;
    float *w1, *w2;
    size_t n1, n2;
    run_fit(straight, 3, NULL, &w1, &n1, &ck);
    /* a full run, then back to the checkpoint at step 14 (epoch 1, batch 4
       of 10) and on to the end: same points, same weights */
    run_fit(resumed, 3, NULL, NULL, NULL, &ck);
    char path[4096];
    assert_true(find_ckpt(resumed, "r", "epoch=1-step=16.ckpt", path, sizeof path));
    run_fit(resumed, 3, path, &w2, &n2, &ck);
    assert_memory_equal(w1, w2, n1 * sizeof(float));
    char *d1 = index_dump(straight), *d2 = index_dump(resumed);
    assert_string_equal(d1, d2);
    free(d1);
    free(d2);
    free(w1);
    free(w2);
}

static void test_resume_last_without_checkpoint_starts_fresh(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("ckpt-fresh");
    float *w1;
    size_t n1;
    run_fit(root, 1, "last", &w1, &n1, NULL);
    int64_t steps[16];
    double vals[16];
    int n = tf_metric(root, "epoch", steps, vals, 16);
    assert_true(n >= 1 && n <= 16);
    /* one fresh run: the epoch staircase (10 steps an epoch) with the
       epoch's end at step 9, nothing of an earlier attempt */
    int end_seen = 0;
    for (int i = 0; i < n; i++) {
        tf_assert_close(vals[i], (double)(steps[i] / 10), 0);
        end_seen |= steps[i] == 9;
    }
    assert_true(end_seen);
    free(w1);
}

/* Issue 7, defect 3: temp files of dead writers go, a live writer's stay. */
static void test_stale_temp_files_removed(void **s)
{
    (void)s;
    const char *dir = tu_tmpdir("ckpt-stale");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child); /* child's pid: now no process */
    char dead[4096], mine[4096], old[4096], other[4096], odd[4096];
    snprintf(dead, sizeof dead, "%s/epoch=1-step=9.ckpt.tmp-%ld", dir, (long)child);
    snprintf(mine, sizeof mine, "%s/epoch=2-step=9.ckpt.tmp-%ld", dir, (long)getpid());
    snprintf(old, sizeof old, "%s/epoch=3-step=9.ckpt.tmp-%ld", dir, (long)getpid());
    snprintf(other, sizeof other, "%s/notes.tmp-%ld", dir, (long)child);
    snprintf(odd, sizeof odd, "%s/x.ckpt.tmp-12ab", dir);
    const char *all[] = {dead, mine, old, other, odd};
    for (size_t i = 0; i < 5; i++)
        write_file(all[i], "x", 1);
    /* written long before this process started: its pid was reused */
    struct timespec times[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, old, times, 0), 0);
    assert_int_equal(lc_ckpt_remove_stale(dir), 2);
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(mine, F_OK), 0); /* a live writer (this process) */
    assert_int_equal(access(other, F_OK), 0);
    assert_int_equal(access(odd, F_OK), 0);
    assert_int_equal(lc_ckpt_remove_stale(dir), 0);
    assert_int_equal(lc_ckpt_remove_stale(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_round_trip),
        cmocka_unit_test(test_corrupt_container_refused),
        cmocka_unit_test(test_round_trip_and_refusals),
        cmocka_unit_test(test_resume_at_epoch_end_is_bit_identical),
        cmocka_unit_test(test_resume_mid_epoch_is_bit_identical),
        cmocka_unit_test(test_resume_last_without_checkpoint_starts_fresh),
        cmocka_unit_test(test_stale_temp_files_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
