/*
 * tests/test_csv.c — the CSV sink through its vtable, with hand-made runs
 * and event arrays: rows and header, header growth (one rewrite, earlier
 * rows kept under their columns), NaN/Inf text, retried batches that must
 * not duplicate rows, resume cuts, interleaved runs, records split over
 * batches, error messages, and hparams.yaml when the hub makes this sink
 * its writer. The last test prints the sink's throughput
 * (no timing assertion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus/sink.h"
#include "testutil.h"

/* ---- fixtures ----------------------------------------------------------- */

typedef struct trun {
    lc_run_info info;
    char dir[2048];
    char path[2100];
} trun;

static void trun_init(trun *r, const char *dir, const char *name)
{
    memset(r, 0, sizeof *r);
    if (snprintf(r->dir, sizeof r->dir, "%s/%s", dir, name) >= (int)sizeof r->dir ||
        snprintf(r->path, sizeof r->path, "%s/metrics.csv", r->dir) >= (int)sizeof r->path)
        fail_msg("test directory path too long");
    snprintf(r->info.id, sizeof r->info.id, "%032d", 1);
    r->info.experiment = "exp";
    r->info.name = name;
    r->info.dir = r->dir;
    r->info.root = dir;
    r->info.resume_step = -1;
}

/* Events of a test, with key payloads owned here. */
typedef struct tev {
    lc_event ev[4096];
    size_t n;
    lc_key_payload *keys[256];
    size_t nkeys;
} tev;

/* Intern key as the hub does: named in the run's key table, announced. */
static void tev_key(tev *t, trun *r, uint32_t tag, const char *key)
{
    assert_int_equal(lc_key_table_set(&r->info.keys, tag, key), 0);
    lc_key_payload *kp = calloc(1, sizeof *kp);
    kp->key = kp->original = (char *)key;
    t->keys[t->nkeys++] = kp;
    t->ev[t->n++] = (lc_event){.run = &r->info, .tag = tag, .kind = LC_EV_KEY, .payload = kp};
}

/* One record: n (tag, value) pairs at step. */
static void tev_record(tev *t, trun *r, int64_t step, size_t n, const uint32_t *tags, const double *vals)
{
    for (size_t i = 0; i < n; i++)
        t->ev[t->n++] = (lc_event){.run = &r->info, .step = step, .value = vals[i], .tag = tags[i],
                                   .wall_time = 1700000000.0 + (double)step, .kind = LC_EV_SCALAR,
                                   .flags = i + 1 == n ? LC_EV_RECORD_END : 0};
}

static void tev_scalar(tev *t, trun *r, int64_t step, uint32_t tag, double v)
{
    tev_record(t, r, step, 1, &tag, &v);
}

static void tev_free(tev *t)
{
    for (size_t i = 0; i < t->nkeys; i++)
        free(t->keys[i]);
    t->nkeys = 0;
    t->n = 0;
}

static int write_events(lc_sink *s, tev *t, char *err)
{
    lc_event_batch b = {t->ev, t->n};
    return s->vt->write_batch(s, &b, err, LC_ERRLEN);
}

/* The end of a test run: its key table goes. */
static void trun_done(trun *r)
{
    lc_key_table_free(&r->info.keys);
}

static void sink_new(lc_sink *s)
{
    lc_sink_config cfg = {.root = "/nonexistent"};
    char err[LC_ERRLEN] = "";
    assert_int_equal(lc_sink_csv_new(&cfg, s, err, sizeof err), 0);
    assert_string_equal(s->vt->name, "csv");
    s->index = 2; /* any slot works */
}

static void open_ok(lc_sink *s, trun *r)
{
    char err[LC_ERRLEN] = "";
    if (s->vt->open_run(s, &r->info, err, sizeof err) != 0)
        fail_msg("open_run failed: %s", err);
}

static void finish_ok(lc_sink *s, trun *r)
{
    char err[LC_ERRLEN] = "";
    r->info.status = LC_RUN_FINISHED;
    if (s->vt->finish_run(s, &r->info, err, sizeof err) != 0)
        fail_msg("finish_run failed: %s", err);
}

static void write_ok(lc_sink *s, tev *t)
{
    char err[LC_ERRLEN] = "";
    if (write_events(s, t, err) != 0)
        fail_msg("write_batch failed: %s", err);
}

static void expect_file(const char *path, const char *want)
{
    char *got = tu_read_file(path, NULL);
    if (!got)
        fail_msg("cannot read %s", path);
    if (strcmp(got, want) != 0)
        fail_msg("%s differs\n--- got\n%s--- want\n%s", path, got, want);
    free(got);
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_rows_and_header(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, dir, "basic");
    open_ok(&s, &r);
    tev t = {0};
    tev_key(&t, &r, 1, "train/loss");
    tev_key(&t, &r, 2, "epoch");
    uint32_t tags[2] = {1, 2};
    double vals[2] = {0.1, 3.0};
    tev_record(&t, &r, 0, 2, tags, vals);
    tev_scalar(&t, &r, 1, 1, 1e-07);
    tev_scalar(&t, &r, 2, 2, 1e16);
    write_ok(&s, &t);
    expect_file(r.path, "epoch,step,train/loss\n"
                        "3.0,0,0.1\n"
                        ",1,1e-07\n"
                        "1e+16,2,\n");
    finish_ok(&s, &r);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

static void test_header_growth_rewrites_once(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, dir, "grow");
    open_ok(&s, &r);
    tev t = {0};
    tev_key(&t, &r, 1, "loss");
    tev_scalar(&t, &r, 0, 1, 1.0);
    write_ok(&s, &t);
    ino_t ino1 = inode_of(r.path);
    tev_free(&t);

    tev_scalar(&t, &r, 1, 1, 0.5); /* same keys: appended, no rewrite */
    write_ok(&s, &t);
    assert_true(inode_of(r.path) == ino1);
    tev_free(&t);

    tev_key(&t, &r, 2, "acc");
    tev_key(&t, &r, 3, "val/acc");
    uint32_t tags[2] = {2, 1};
    double vals[2] = {0.9, 0.25};
    tev_record(&t, &r, 2, 2, tags, vals);
    tev_scalar(&t, &r, 3, 3, 0.75);
    write_ok(&s, &t);
    ino_t ino2 = inode_of(r.path); /* rewritten (temp + rename): a new file */
    assert_true(ino2 != ino1);
    expect_file(r.path, "acc,loss,step,val/acc\n"
                        ",1.0,0,\n"
                        ",0.5,1,\n"
                        "0.9,0.25,2,\n"
                        ",,3,0.75\n");
    tev_free(&t);

    tev_scalar(&t, &r, 4, 3, 0.5); /* known keys again: appended */
    write_ok(&s, &t);
    assert_true(inode_of(r.path) == ino2);
    expect_file(r.path, "acc,loss,step,val/acc\n"
                        ",1.0,0,\n"
                        ",0.5,1,\n"
                        "0.9,0.25,2,\n"
                        ",,3,0.75\n"
                        ",,4,0.5\n");
    finish_ok(&s, &r);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

static void test_nan_inf_text(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, dir, "nonfinite");
    open_ok(&s, &r);
    tev t = {0};
    tev_key(&t, &r, 1, "a");
    tev_key(&t, &r, 2, "b");
    tev_key(&t, &r, 3, "c");
    tev_key(&t, &r, 4, "d");
    uint32_t tags[4] = {1, 2, 3, 4};
    double vals[4] = {NAN, INFINITY, -INFINITY, -0.0};
    tev_record(&t, &r, 7, 4, tags, vals);
    write_ok(&s, &t);
    expect_file(r.path, "a,b,c,d,step\nnan,inf,-inf,-0.0,7\n");
    finish_ok(&s, &r);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

/* A batch fails for one run (its rewrite is blocked by a directory where
 * the temp file goes) after succeeding for the other; its retry must not
 * write the other run's rows again. */
static void test_retry_does_not_duplicate(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun a, b;
    trun_init(&a, dir, "a");
    trun_init(&b, dir, "b");
    open_ok(&s, &a);
    open_ok(&s, &b);
    tev t = {0};
    tev_key(&t, &a, 1, "x");
    tev_key(&t, &b, 1, "y");
    tev_scalar(&t, &a, 0, 1, 1.0);
    tev_scalar(&t, &b, 0, 1, 2.0);
    write_ok(&s, &t);
    tev_free(&t);

    tev_scalar(&t, &a, 1, 1, 1.5);
    tev_key(&t, &b, 2, "z"); /* b's header grows: a rewrite */
    tev_scalar(&t, &b, 1, 1, 2.5);
    tev_scalar(&t, &a, 2, 1, 1.75);
    tev_scalar(&t, &b, 2, 2, 9.0);

    char blocker[2200];
    snprintf(blocker, sizeof blocker, "%s.tmp", b.path);
    assert_int_equal(mkdir(blocker, 0755), 0);
    char err[LC_ERRLEN] = "";
    assert_int_equal(write_events(&s, &t, err), LC_ERR_IO);
    assert_non_null(strstr(err, blocker));
    /* the first attempt wrote a's rows, b is as before */
    expect_file(a.path, "step,x\n0,1.0\n1,1.5\n2,1.75\n");
    expect_file(b.path, "step,y\n0,2.0\n");
    /* still failing: still no duplicates */
    assert_int_equal(write_events(&s, &t, err), LC_ERR_IO);
    assert_int_equal(rmdir(blocker), 0);
    write_ok(&s, &t);
    expect_file(a.path, "step,x\n0,1.0\n1,1.5\n2,1.75\n");
    expect_file(b.path, "step,y,z\n0,2.0,\n1,2.5,\n2,,9.0\n");

    /* the next (different) batch is taken normally */
    tev_free(&t);
    tev_scalar(&t, &a, 3, 1, 4.0);
    write_ok(&s, &t);
    expect_file(a.path, "step,x\n0,1.0\n1,1.5\n2,1.75\n3,4.0\n");
    finish_ok(&s, &a);
    finish_ok(&s, &b);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&a);
    trun_done(&b);
}

/* An append that fails half way (file size limit) is cut back off, and its
 * retry writes every row once. */
static void test_partial_write_is_cut_back(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, dir, "fsize");
    open_ok(&s, &r);
    tev t = {0};
    tev_key(&t, &r, 1, "v");
    tev_scalar(&t, &r, 0, 1, 0.5);
    write_ok(&s, &t);
    tev_free(&t);
    struct stat st;
    assert_int_equal(stat(r.path, &st), 0);
    off_t before = st.st_size;

    for (int i = 1; i <= 200; i++)
        tev_scalar(&t, &r, i, 1, i * 0.25);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 100; /* room for a few rows only */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char err[LC_ERRLEN] = "";
    int rc = write_events(&s, &t, err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, LC_ERR_IO);
    assert_non_null(strstr(err, r.path));
    assert_non_null(strstr(err, "File too large"));
    assert_int_equal(stat(r.path, &st), 0);
    assert_int_equal(st.st_size, before); /* no half batch left */

    write_ok(&s, &t);
    assert_int_equal(tu_count_lines(r.path), 202);
    char *text = tu_read_file(r.path, NULL);
    assert_non_null(strstr(text, "\n0,0.5\n1,0.25\n2,0.5\n"));
    assert_non_null(strstr(text, "\n200,50.0\n"));
    assert_null(strstr(strstr(text, "\n1,0.25\n") + 1, "\n1,0.25\n"));
    free(text);
    finish_ok(&s, &r);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

static void test_disk_full_message(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, dir, "full");
    assert_int_equal(mkdir(r.dir, 0755), 0);
    assert_int_equal(symlink("/dev/full", r.path), 0);
    open_ok(&s, &r);
    tev t = {0};
    tev_key(&t, &r, 1, "v");
    tev_scalar(&t, &r, 0, 1, 1.0);
    char err[LC_ERRLEN] = "";
    assert_int_equal(write_events(&s, &t, err), LC_ERR_IO);
    assert_non_null(strstr(err, r.path));
    assert_non_null(strstr(err, "No space left on device"));
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

static void test_unwritable_dir(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    char file[2048];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, file, "run"); /* <file>/run: cannot be a directory */
    char err[LC_ERRLEN] = "";
    assert_int_equal(s.vt->open_run(&s, &r.info, err, sizeof err), LC_ERR_IO);
    assert_non_null(strstr(err, "csv: "));
    assert_non_null(strstr(err, r.path));
    assert_non_null(strstr(err, "Not a directory"));
    assert_null(r.info.sink_state[s.index]);

    r.info.dir = NULL;
    err[0] = 0;
    assert_int_equal(s.vt->open_run(&s, &r.info, err, sizeof err), LC_ERR_INVALID);
    assert_true(err[0] != 0);
    s.vt->close(&s);
    trun_done(&r);
}

static void write_steps(const char *dir, const char *name, int from, int to)
{
    lc_sink s;
    sink_new(&s);
    trun r;
    trun_init(&r, dir, name);
    open_ok(&s, &r);
    tev t = {0};
    tev_key(&t, &r, 1, "loss");
    for (int i = from; i <= to; i++)
        tev_scalar(&t, &r, i, 1, i + 0.5);
    write_ok(&s, &t);
    finish_ok(&s, &r);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

static void test_resume_cut(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    write_steps(dir, "res", 0, 5);
    trun r;
    trun_init(&r, dir, "res");
    /* a torn row from a crash at the end */
    FILE *f = fopen(r.path, "a");
    fputs("6.5,", f);
    fclose(f);

    lc_sink s;
    sink_new(&s);
    r.info.resume = 1;
    r.info.resume_step = 3;
    open_ok(&s, &r);
    expect_file(r.path, "loss,step\n0.5,0\n1.5,1\n2.5,2\n3.5,3\n");
    tev t = {0};
    tev_key(&t, &r, 1, "lr"); /* tags of the new process differ: matched by name */
    tev_key(&t, &r, 2, "loss");
    uint32_t tags[2] = {1, 2};
    double vals[2] = {0.01, 4.25};
    tev_record(&t, &r, 4, 2, tags, vals);
    write_ok(&s, &t);
    expect_file(r.path, "loss,lr,step\n0.5,,0\n1.5,,1\n2.5,,2\n3.5,,3\n4.25,0.01,4\n");
    finish_ok(&s, &r);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
}

static void test_resume_keeps_all_and_fresh_replaces(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    write_steps(dir, "keep", 0, 2);
    trun r;
    trun_init(&r, dir, "keep");
    ino_t ino = inode_of(r.path);
    lc_sink s;
    sink_new(&s);
    r.info.resume = 1;
    r.info.resume_step = -1; /* keep every row: no rewrite */
    open_ok(&s, &r);
    assert_true(inode_of(r.path) == ino);
    tev t = {0};
    tev_key(&t, &r, 5, "loss");
    tev_scalar(&t, &r, 3, 5, 3.5);
    write_ok(&s, &t);
    expect_file(r.path, "loss,step\n0.5,0\n1.5,1\n2.5,2\n3.5,3\n");
    finish_ok(&s, &r);
    tev_free(&t);

    /* not a resume: a fresh file */
    trun r2;
    trun_init(&r2, dir, "keep");
    open_ok(&s, &r2);
    tev_key(&t, &r2, 1, "acc");
    tev_scalar(&t, &r2, 0, 1, 0.5);
    write_ok(&s, &t);
    expect_file(r2.path, "acc,step\n0.5,0\n");
    finish_ok(&s, &r2);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
    trun_done(&r2);
}

static void test_interleaved_runs_and_split_record(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun a, b;
    trun_init(&a, dir, "a");
    trun_init(&b, dir, "b");
    open_ok(&s, &a);
    open_ok(&s, &b);
    tev t = {0};
    tev_key(&t, &a, 1, "loss");
    tev_key(&t, &a, 2, "acc");
    tev_key(&t, &b, 1, "reward");
    uint32_t tags[2] = {1, 2};
    double va[2] = {0.5, 0.75}, vb[2] = {1.25, 2.5};
    tev_record(&t, &a, 0, 2, tags, va);
    tev_scalar(&t, &b, 10, 1, -1.0);
    tev_record(&t, &a, 1, 2, tags, vb);
    tev_scalar(&t, &b, 11, 1, -2.0);
    /* a record of a cut after its first scalar: finished in the next batch */
    t.ev[t.n++] = (lc_event){.run = &a.info, .step = 2, .value = 8.0, .tag = 1, .kind = LC_EV_SCALAR};
    write_ok(&s, &t);
    expect_file(a.path, "acc,loss,step\n0.75,0.5,0\n2.5,1.25,1\n");
    expect_file(b.path, "reward,step\n-1.0,10\n-2.0,11\n");
    tev_free(&t);
    t.ev[t.n++] = (lc_event){.run = &a.info, .step = 2, .value = 9.0, .tag = 2, .kind = LC_EV_SCALAR,
                             .flags = LC_EV_RECORD_END};
    write_ok(&s, &t);
    expect_file(a.path, "acc,loss,step\n0.75,0.5,0\n2.5,1.25,1\n9.0,8.0,2\n");
    finish_ok(&s, &a);
    finish_ok(&s, &b);
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&a);
    trun_done(&b);
}

static void test_skipped_keys_and_empty_run(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    trun r, quiet;
    trun_init(&r, dir, "skip");
    trun_init(&quiet, dir, "quiet");
    open_ok(&s, &r);
    open_ok(&s, &quiet);
    tev t = {0};
    tev_key(&t, &r, 1, "step"); /* the step column wins */
    tev_key(&t, &r, 2, "a,b");  /* quoted in the header */
    uint32_t tags[3] = {1, 2, 9}; /* 9: no key was ever sent */
    double vals[3] = {99.0, 1.0, 2.0};
    tev_record(&t, &r, 5, 3, tags, vals);
    write_ok(&s, &t);
    expect_file(r.path, "\"a,b\",step\n1.0,5\n");
    finish_ok(&s, &r);
    finish_ok(&s, &quiet);
    assert_int_equal(access(quiet.path, F_OK), -1); /* no empty metrics.csv */
    s.vt->close(&s);
    tev_free(&t);
    trun_done(&r);
    trun_done(&quiet);
}

/* hparams.yaml: written by the sink the hub makes its writer (and only
 * then), at the end of the batch that changed the params; a retried batch
 * and a repeated value leave it as it is. */
static void test_hparams_yaml(void **state)
{
    (void)state;
    for (int writer = 0; writer < 2; writer++) {
        const char *dir = tu_tmpdir("csv");
        lc_sink s;
        lc_sink_config cfg = {.root = dir, .hparams_yaml = writer};
        char err[LC_ERRLEN] = "";
        assert_int_equal(lc_sink_csv_new(&cfg, &s, err, sizeof err), LC_OK);
        s.index = 1;
        trun r;
        trun_init(&r, dir, "hp");
        open_ok(&s, &r);
        char yaml[2200];
        snprintf(yaml, sizeof yaml, "%s/hparams.yaml", r.dir);
        lc_param_payload lr = {.type = LC_PARAM_DOUBLE, .key = "opt/lr", .original = "opt/lr",
                               .text = "0.1", .d = 0.1};
        lc_param_payload bs = {.type = LC_PARAM_INT, .key = "batch", .original = "batch",
                               .text = "64", .i = 64, .d = 64};
        tev t = {0};
        t.ev[t.n++] = (lc_event){.run = &r.info, .kind = LC_EV_PARAM, .payload = &lr};
        t.ev[t.n++] = (lc_event){.run = &r.info, .kind = LC_EV_PARAM, .payload = &bs};
        write_ok(&s, &t);
        write_ok(&s, &t); /* the same params again */
        if (writer)
            expect_file(yaml, "batch: 64\nopt:\n  lr: 0.1\n");
        else
            assert_int_equal(access(yaml, F_OK), -1);
        lr.text = "0.2";
        lr.d = 0.2;
        t.n = 1;
        write_ok(&s, &t);
        finish_ok(&s, &r);
        if (writer)
            expect_file(yaml, "batch: 64\nopt:\n  lr: 0.2\n");
        s.vt->close(&s);
        trun_done(&r);
    }
}

/* Throughput of the sink alone, printed for the report (no assertion). */
static void test_throughput_report(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("csv");
    lc_sink s;
    sink_new(&s);
    static const char *names[10] = {"train/loss", "train/acc", "lr-Adam", "grad_norm", "epoch",
                                    "perf/samples_per_sec", "val/loss", "val/acc", "precision/loss_scale",
                                    "train/ppl"};
    static tev t;
    for (int shape = 0; shape < 2; shape++) {
        int per = shape == 0 ? 10 : 1; /* records of 10 keys, then of 1 key */
        trun r;
        trun_init(&r, dir, shape == 0 ? "rec10" : "rec1");
        open_ok(&s, &r);
        tev_free(&t);
        for (uint32_t k = 0; k < 10; k++)
            tev_key(&t, &r, k + 1, names[k]);
        write_ok(&s, &t);
        uint64_t rng = 12345;
        const long total = 200000;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long done = 0;
        int64_t step = 0;
        while (done < total) {
            t.n = 0;
            while (t.n + (size_t)per <= 4000) {
                uint32_t tags[10];
                double vals[10];
                for (int k = 0; k < per; k++) {
                    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                    tags[k] = per == 10 ? (uint32_t)k + 1 : (uint32_t)(step % 10) + 1;
                    vals[k] = (double)(float)((double)(rng >> 11) * 0x1p-53); /* float32 metrics */
                }
                tev_record(&t, &r, step++, (size_t)per, tags, vals);
            }
            write_ok(&s, &t);
            done += (long)t.n;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        printf("csv sink: %ld scalars in records of %d key%s: %.0f scalars/s (%.0f ns/scalar)\n", done,
               per, per == 1 ? "" : "s", (double)done / sec, sec * 1e9 / (double)done);
        assert_int_equal(tu_count_lines(r.path), step + 1);
        finish_ok(&s, &r);
        trun_done(&r);
    }
    s.vt->close(&s);
    tev_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_header),
        cmocka_unit_test(test_header_growth_rewrites_once),
        cmocka_unit_test(test_nan_inf_text),
        cmocka_unit_test(test_retry_does_not_duplicate),
        cmocka_unit_test(test_partial_write_is_cut_back),
        cmocka_unit_test(test_disk_full_message),
        cmocka_unit_test(test_unwritable_dir),
        cmocka_unit_test(test_resume_cut),
        cmocka_unit_test(test_resume_keeps_all_and_fresh_replaces),
        cmocka_unit_test(test_interleaved_runs_and_split_record),
        cmocka_unit_test(test_skipped_keys_and_empty_run),
        cmocka_unit_test(test_hparams_yaml),
        cmocka_unit_test(test_throughput_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
