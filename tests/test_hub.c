/*
 * tests/test_hub.c — the hub end to end, with the real SQLite and CSV sinks:
 * runs, keys, params, NaN/Inf, replacement counting, resume, bad input,
 * rank zero, drop mode, several runs and hubs, signals and SIGKILL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "index/index_schema.h"
#include "lightc/hub.h"
#include "testutil.h"

/* ---- helpers -------------------------------------------------------------- */

static lc_hub *open_hub(const char *root, const char *loggers)
{
    lc_hub_options o = {.root = root, .loggers = loggers};
    lc_hub *hub = NULL;
    lc_status st = lc_hub_open(&hub, &o);
    if (st != LC_OK)
        fail_msg("lc_hub_open: %s", lc_errmsg());
    return hub;
}

static lc_run *start(lc_hub *hub, const char *exp, const char *name)
{
    lc_run_options ro = {.experiment = exp, .name = name, .resume_step = -1};
    lc_run *run = NULL;
    if (lc_run_start(hub, &ro, &run) != LC_OK)
        fail_msg("lc_run_start: %s", lc_errmsg());
    return run;
}

static sqlite3 *open_index(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_basic_run(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-basic");
    lc_hub *hub = open_hub(root, "sqlite,csv");
    lc_run *run = start(hub, "mnist", "baseline");
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_tag loss = lc_run_tag(run, "train/loss");
    lc_tag acc = lc_run_tag(run, "train/acc");
    assert_int_not_equal(loss, 0);
    assert_int_equal(lc_run_tag(run, "train/loss"), loss);
    for (int i = 0; i < 100; i++) {
        lc_tag t[2] = {loss, acc};
        double v[2] = {1.0 / (i + 1), i / 100.0};
        assert_int_equal(lc_run_log_scalars(run, i, 2, t, v), LC_OK);
    }
    assert_int_equal(lc_run_log_param_double(run, "optimizer/lr", 0.1), LC_OK);
    assert_int_equal(lc_run_log_param_int(run, "batch_size", 64), LC_OK);
    assert_int_equal(lc_run_log_param_str(run, "optimizer/name", "adam"), LC_OK);
    assert_int_equal(lc_run_log_param_bool(run, "nesterov", 1), LC_OK);
    assert_int_equal(lc_run_log_params_json(run, "{\"model\":{\"hidden\":256,\"act\":\"relu\"}}"), LC_OK);
    assert_int_equal(lc_run_set_tag(run, "seed", "42"), LC_OK);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    sqlite3 *db = open_index(root);
    char sql[512];
    snprintf(sql, sizeof sql, "select count(*) from metrics where run_id='%s'", id);
    assert_int_equal(q_int(db, sql), 200);
    snprintf(sql, sizeof sql, "select status from runs where run_id='%s'", id);
    char *status = q_text(db, sql);
    assert_string_equal(status, "finished");
    free(status);
    snprintf(sql, sizeof sql, "select value from params where run_id='%s' and key='model/hidden'", id);
    char *hidden = q_text(db, sql);
    assert_string_equal(hidden, "256");
    free(hidden);
    snprintf(sql, sizeof sql, "select value from tags where run_id='%s' and key='lightc.pid'", id);
    char *pid = q_text(db, sql);
    assert_non_null(pid);
    free(pid);
    sqlite3_close(db);

    char path[4096];
    snprintf(path, sizeof path, "%s/mnist/baseline/metrics.csv", root);
    assert_int_equal(tu_count_lines(path), 101); /* header + one row per record */
    snprintf(path, sizeof path, "%s/mnist/baseline/hparams.yaml", root);
    char *yaml = tu_read_file(path, NULL);
    assert_non_null(yaml);
    assert_non_null(strstr(yaml, "optimizer:"));
    assert_non_null(strstr(yaml, "lr: 0.1"));
    free(yaml);
}

/* Every kind of event takes the one enqueue path and reaches every sink:
 * scalars (single, with a time, a record, by key), params of each type,
 * a JSON tree, a run tag, text, both histogram types, an image and an
 * artifact. The index holds each; the CSV has the scalars' rows; the
 * TensorBoard file exists; hparams.yaml is the csv sink's. */
static void test_every_kind_one_path(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-kinds");
    lc_hub *hub = open_hub(root, "sqlite,tensorboard,csv");
    lc_run *run = start(hub, "e", "kinds");
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_tag a = lc_run_tag(run, "a"), b = lc_run_tag(run, "b"), c = lc_run_tag(run, "c");
    assert_string_equal(lc_run_tag_key(run, b), "b");
    assert_int_equal(lc_run_log_scalar(run, a, 1.0, 0), LC_OK);
    assert_int_equal(lc_run_log_scalar_at(run, a, 2.0, 1, 1700000000.5), LC_OK);
    lc_tag rec[3] = {a, b, c};
    double vals[3] = {3.0, 4.0, 5.0};
    assert_int_equal(lc_run_log_scalars(run, 2, 3, rec, vals), LC_OK);
    assert_int_equal(lc_run_log_metric(run, "d/by key", 6.0, 3), LC_OK);
    assert_int_equal(lc_run_log_param_str(run, "p/s", "x"), LC_OK);
    assert_int_equal(lc_run_log_param_int(run, "p/i", 7), LC_OK);
    assert_int_equal(lc_run_log_param_double(run, "p/d", 0.5), LC_OK);
    assert_int_equal(lc_run_log_param_bool(run, "p/b", 1), LC_OK);
    assert_int_equal(lc_run_log_params_json(run, "{\"j\":{\"k\":1}}"), LC_OK);
    assert_int_equal(lc_run_set_tag(run, "t", "v"), LC_OK);
    assert_int_equal(lc_run_log_text(run, "notes", "hello", 1), LC_OK);
    float hf[4] = {1, 2, 3, 4};
    double hd[3] = {-1, 0, 1};
    assert_int_equal(lc_run_log_histogram_f32(run, "w32", hf, 4, 1), LC_OK);
    assert_int_equal(lc_run_log_histogram_f64(run, "w64", hd, 3, 1), LC_OK);
    uint8_t px[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
    assert_int_equal(lc_run_log_image(run, "img", px, 2, 2, 3, 1), LC_OK);
    char art[4096];
    snprintf(art, sizeof art, "%s/artifact.txt", root);
    FILE *f = fopen(art, "w");
    assert_non_null(f);
    fputs("data", f);
    fclose(f);
    assert_int_equal(lc_run_log_artifact(run, art, "files"), LC_OK);
    lc_run_counters cnt;
    lc_run_get_counters(run, &cnt);
    assert_int_equal(cnt.logged, 6);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    sqlite3 *db = open_index(root);
    char sql[512];
    snprintf(sql, sizeof sql, "select count(*) from metrics where run_id='%s'", id);
    assert_int_equal(q_int(db, sql), 6);
    snprintf(sql, sizeof sql, "select value from metrics where run_id='%s' and key='d/by key'", id);
    assert_int_equal(q_int(db, sql), 6);
    snprintf(sql, sizeof sql, "select count(*) from params where run_id='%s'", id);
    assert_int_equal(q_int(db, sql), 5);
    snprintf(sql, sizeof sql, "select count(*) from tags where run_id='%s' and key='t' and value='v'", id);
    assert_int_equal(q_int(db, sql), 1);
    static const char *const kinds[] = {"text", "histogram", "image", "artifact"};
    static const int want[] = {1, 2, 1, 1};
    for (int k = 0; k < 4; k++) {
        snprintf(sql, sizeof sql,
                 "select count(*) from media m join run_info r on r.id = m.run_id"
                 " where r.run_uuid='%s' and m.kind='%s'", id, kinds[k]);
        assert_int_equal(q_int(db, sql), want[k]);
    }
    sqlite3_close(db);

    char path[4096];
    snprintf(path, sizeof path, "%s/e/kinds/metrics.csv", root);
    assert_int_equal(tu_count_lines(path), 5); /* header + 4 records */
    snprintf(path, sizeof path, "%s/e/kinds/hparams.yaml", root);
    char *yaml = tu_read_file(path, NULL);
    assert_non_null(yaml);
    assert_string_equal(yaml, "j:\n  k: 1\np:\n  b: true\n  d: 0.5\n  i: 7\n  s: x\n");
    free(yaml);
    snprintf(path, sizeof path, "%s/e/kinds", root);
    char *ls = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&ls, &n);
    DIR *d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        fprintf(m, "%s\n", e->d_name);
    closedir(d);
    fclose(m);
    assert_non_null(strstr(ls, "events.out.tfevents."));
    free(ls);
}

/* hparams.yaml is written by exactly one sink: csv when it is a logger,
 * else tensorboard; with neither there is none (the index has the params). */
static void test_hparams_yaml_writer(void **s)
{
    (void)s;
    static const char *const loggers[] = {"sqlite,tensorboard", "csv", "sqlite"};
    for (int i = 0; i < 3; i++) {
        const char *root = tu_tmpdir("hub-yaml");
        lc_hub *hub = open_hub(root, loggers[i]);
        lc_run *run = start(hub, "e", "y");
        assert_int_equal(lc_run_log_param_double(run, "lr", 0.25), LC_OK);
        assert_int_equal(lc_hub_flush(hub, 0), LC_OK);
        char path[4096];
        snprintf(path, sizeof path, "%s/e/y/hparams.yaml", root);
        char *yaml = tu_read_file(path, NULL); /* written with the batch, before the finish */
        if (i < 2) {
            assert_non_null(yaml);
            assert_string_equal(yaml, "lr: 0.25\n");
        } else {
            assert_null(yaml);
        }
        free(yaml);
        assert_int_equal(lc_run_log_param_double(run, "lr", 0.5), LC_OK); /* replaced */
        assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
        assert_int_equal(lc_hub_close(hub, 0), LC_OK);
        yaml = tu_read_file(path, NULL);
        if (i < 2)
            assert_string_equal(yaml, "lr: 0.5\n");
        free(yaml);
    }
}

static void test_nonfinite_and_replacement(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-nan");
    lc_hub *hub = open_hub(root, "sqlite");
    lc_run *run = start(hub, "e", "r");
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_tag k = lc_run_tag(run, "v");
    lc_run_log_scalar(run, k, NAN, 0);
    lc_run_log_scalar(run, k, INFINITY, 1);
    lc_run_log_scalar(run, k, -INFINITY, 2);
    lc_run_log_scalar(run, k, 5.0, 3);
    lc_run_log_scalar(run, k, 5.0, 3); /* equal repeat: dropped */
    lc_run_log_scalar(run, k, 6.0, 3); /* different: replaces, counted */
    assert_int_equal(lc_hub_flush(hub, 10000), LC_OK);
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    assert_int_equal(c.replaced, 1);
    assert_int_equal(c.logged, 6);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);

    sqlite3 *db = open_index(root);
    char sql[256];
    snprintf(sql, sizeof sql, "select is_nan from metrics where run_id='%s' and step=0", id);
    assert_int_equal(q_int(db, sql), 1);
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "select value from metrics where run_id='%s' and step in (1,2,3) order by step", id);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(isinf(sqlite3_column_double(st, 0)) && sqlite3_column_double(st, 0) > 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(isinf(sqlite3_column_double(st, 0)) && sqlite3_column_double(st, 0) < 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_double(st, 0) == 6.0);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_key_mapping_and_bad_keys(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-keys");
    lc_hub *hub = open_hub(root, "sqlite,csv");
    lc_run *run = start(hub, "e", "r");
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_tag a = lc_run_tag(run, "loss(train)");
    lc_tag b = lc_run_tag(run, "loss_train_"); /* same normalised key, same tag */
    assert_int_equal(a, b);
    assert_string_equal(lc_run_tag_key(run, a), "loss_train_");
    assert_int_equal(lc_run_tag(run, ""), 0);
    assert_non_null(strstr(lc_errmsg(), "empty"));
    assert_int_equal(lc_run_tag(run, "//"), 0);
    assert_int_equal(lc_run_log_scalar(run, 999, 1.0, 0), LC_ERR_INVALID);
    assert_int_equal(lc_run_log_scalar(run, 0, 1.0, 0), LC_ERR_INVALID);
    lc_run_log_scalar(run, a, 1.0, 0);
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    assert_int_equal(c.rejected, 4);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    sqlite3 *db = open_index(root);
    char sql[256];
    snprintf(sql, sizeof sql,
             "select count(*) from key_map m join run_info r on r.id=m.run_id where r.run_uuid='%s' "
             "and m.original='loss(train)' and m.key='loss_train_'", id);
    assert_int_equal(q_int(db, sql), 1);
    snprintf(sql, sizeof sql,
             "select value from counter c join run_info r on r.id=c.run_id where r.run_uuid='%s' and c.name='rejected'", id);
    assert_int_equal(q_int(db, sql), 4);
    sqlite3_close(db);
}

static void test_bad_histograms_and_images(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-media");
    lc_hub *hub = open_hub(root, "sqlite");
    lc_run *run = start(hub, "e", "media");
    float none[1] = {0};
    float nans[3] = {NAN, INFINITY, -INFINITY};
    float mixed[4] = {1.0f, NAN, 2.0f, 3.0f};
    assert_int_equal(lc_run_log_histogram_f32(run, "w", none, 0, 0), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "no values"));
    assert_int_equal(lc_run_log_histogram_f32(run, "w", nans, 3, 0), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "NaN"));
    assert_int_equal(lc_run_log_histogram_f32(run, "w", mixed, 4, 1), LC_OK);
    uint8_t px[12] = {0};
    assert_int_equal(lc_run_log_image(run, "img", px, 0, 4, 1, 0), LC_ERR_INVALID);
    assert_int_equal(lc_run_log_image(run, "img", px, 2, 2, 2, 0), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "channels"));
    assert_int_equal(lc_run_log_image(run, "img", px, 20000, 1, 1, 0), LC_ERR_INVALID);
    assert_int_equal(lc_run_log_image(run, "img", px, 2, 2, 3, 0), LC_OK);
    assert_int_equal(lc_run_log_artifact(run, "/nonexistent/file.ckpt", NULL), LC_ERR_NOT_FOUND);
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    assert_int_equal(c.rejected, 5);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    sqlite3 *db = open_index(root);
    assert_int_equal(q_int(db, "select count(*) from media where kind='histogram'"), 1);
    assert_int_equal(q_int(db, "select count(*) from media where kind='image'"), 1);
    sqlite3_close(db);
}

static void test_duplicate_and_bad_names(void **s)
{
    (void)s;
    /* the root one level down in a fresh directory, so "nothing escaped"
       looks where nothing else can be (a stray /tmp/x made it fail) */
    const char *base = tu_tmpdir("hub-names");
    char root[4096];
    snprintf(root, sizeof root, "%s/root", base);
    assert_int_equal(mkdir(root, 0755), 0);
    lc_hub *hub = open_hub(root, "sqlite,csv");
    lc_run *run = start(hub, "e", "same");
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_run_options ro = {.experiment = "e", .name = "same", .resume_step = -1};
    lc_run *r2 = NULL;
    assert_int_equal(lc_run_start(hub, &ro, &r2), LC_ERR_EXISTS);
    assert_non_null(strstr(lc_errmsg(), "--resume"));
    assert_null(r2);
    const char *bad[] = {"../../x", "a/b", "", ".hidden", "x\ny"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lc_run_options b = {.experiment = "e", .name = bad[i], .resume_step = -1};
        if (!*bad[i])
            b.name = "ok", b.experiment = "a/../../b";
        assert_int_equal(lc_run_start(hub, &b, &r2), LC_ERR_INVALID);
        assert_true(strlen(lc_errmsg()) > 10);
    }
    /* nothing escaped the root: base holds root alone */
    DIR *d = opendir(base);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "root"))
            fail_msg("'%s' escaped the hub's root into %s", e->d_name, base);
    closedir(d);
    /* automatic names: version_0, version_1 */
    lc_run *v0 = start(hub, "auto", NULL);
    lc_run *v1 = start(hub, "auto", NULL);
    assert_string_equal(lc_run_name(v0), "version_0");
    assert_string_equal(lc_run_name(v1), "version_1");
    lc_run_finish(v0, LC_RUN_FINISHED);
    lc_run_finish(v1, LC_RUN_FAILED);
    lc_hub_close(hub, 0);
}

static void test_bad_root_and_loggers(void **s)
{
    (void)s;
    const char *tmp = tu_tmpdir("hub-root");
    char file[4096], root[4096];
    snprintf(file, sizeof file, "%s/afile", tmp);
    FILE *f = fopen(file, "w");
    fputs("x", f);
    fclose(f);
    snprintf(root, sizeof root, "%s/afile/runs", tmp);
    lc_hub_options o = {.root = root, .loggers = "sqlite"};
    lc_hub *hub = NULL;
    assert_int_equal(lc_hub_open(&hub, &o), LC_ERR_IO);
    assert_non_null(strstr(lc_errmsg(), "--root"));
    assert_null(hub);
    o.root = tmp;
    o.loggers = "sqlite,nosuch";
    assert_int_equal(lc_hub_open(&hub, &o), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "nosuch"));
    /* a remote backend whose configuration cannot work fails the open */
    const char *uri = getenv("MLFLOW_TRACKING_URI");
    char *saved = uri ? strdup(uri) : NULL;
    unsetenv("MLFLOW_TRACKING_URI");
    o.loggers = "mlflow";
    assert_int_equal(lc_hub_open(&hub, &o), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "mlflow: MLFLOW_TRACKING_URI is not set"));
    assert_null(hub);
    setenv("MLFLOW_TRACKING_URI", "file:///tmp/mlruns", 1);
    assert_int_equal(lc_hub_open(&hub, &o), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "is not a tracking server"));
    assert_null(hub);
    if (saved)
        setenv("MLFLOW_TRACKING_URI", saved, 1);
    else
        unsetenv("MLFLOW_TRACKING_URI");
    free(saved);
    /* a spec naming no logger is an error, not a run with no sink at all;
       "none" is the explicit choice of no sink */
    const char *empty[] = {",", " , ", ",,"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        o.loggers = empty[i];
        assert_int_equal(lc_hub_open(&hub, &o), LC_ERR_INVALID);
        assert_non_null(strstr(lc_errmsg(), "none"));
        assert_null(hub);
    }
    setenv("LIGHTC_LOGGERS", ",", 1);
    o.loggers = NULL;
    assert_int_equal(lc_hub_open(&hub, &o), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "LIGHTC_LOGGERS"));
    unsetenv("LIGHTC_LOGGERS");
    o.loggers = "none";
    assert_int_equal(lc_hub_open(&hub, &o), LC_OK);
    lc_hub_close(hub, 0);
}

static void test_rank_nonzero_is_noop(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-rank");
    setenv("RANK", "1", 1);
    lc_hub *hub = open_hub(root, "sqlite,csv");
    unsetenv("RANK");
    assert_false(lc_hub_is_active(hub));
    lc_run *run = start(hub, "e", "r");
    lc_tag t = lc_run_tag(run, "x");
    assert_int_equal(lc_run_log_scalar(run, t, 1.0, 0), LC_OK);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/e", root);
    assert_int_not_equal(stat(path, &st), 0);
}

static void test_resume_drops_later_steps(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-resume");
    lc_hub *hub = open_hub(root, "sqlite,csv");
    lc_run *run = start(hub, "e", "r");
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_tag k = lc_run_tag(run, "loss");
    for (int i = 0; i < 10; i++)
        lc_run_log_scalar(run, k, i, i);
    lc_run_finish(run, LC_RUN_KILLED);
    lc_run_options ro = {.experiment = "e", .name = "r", .resume = 1, .discard_after = 1, .resume_step = 4};
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    assert_string_equal(lc_run_id(run), id); /* same run continues */
    k = lc_run_tag(run, "loss");
    for (int i = 5; i < 8; i++)
        lc_run_log_scalar(run, k, 100 + i, i);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    sqlite3 *db = open_index(root);
    char sql[256];
    snprintf(sql, sizeof sql, "select count(*) from metrics where run_id='%s'", id);
    assert_int_equal(q_int(db, sql), 8);
    snprintf(sql, sizeof sql, "select sum(value) from metrics where run_id='%s' and step>4", id);
    assert_int_equal(q_int(db, sql), 105 + 106 + 107);
    snprintf(sql, sizeof sql, "select count(*) from runs where run_id='%s' and status='finished'", id);
    assert_int_equal(q_int(db, sql), 1);
    sqlite3_close(db);
    char path[4096];
    snprintf(path, sizeof path, "%s/e/r/metrics.csv", root);
    assert_int_equal(tu_count_lines(path), 1 + 8);
}

static void test_drop_mode_accounts_everything(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-drop");
    lc_hub_options o = {.root = root, .loggers = "sqlite", .queue_capacity = 64, .full_policy = LC_FULL_DROP};
    lc_hub *hub = NULL;
    assert_int_equal(lc_hub_open(&hub, &o), LC_OK);
    lc_run *run = start(hub, "e", "r");
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_tag k = lc_run_tag(run, "x");
    int full = 0;
    for (int i = 0; i < 50000; i++)
        full += lc_run_log_scalar(run, k, i, i) == LC_ERR_FULL;
    lc_hub_flush(hub, 0);
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    assert_int_equal(c.dropped, (uint64_t)full);
    assert_int_equal(c.logged + c.dropped, 50000);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    sqlite3 *db = open_index(root);
    char sql[256];
    snprintf(sql, sizeof sql, "select count(*) from metrics where run_id='%s'", id);
    assert_int_equal(q_int(db, sql), (int64_t)c.logged);
    sqlite3_close(db);
}

static void test_two_hubs_many_runs(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-multi");
    lc_hub *h1 = open_hub(root, "sqlite,csv");
    lc_hub *h2 = open_hub(root, "sqlite,csv");
    lc_run *runs[6];
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        runs[i] = start(i % 2 ? h2 : h1, "sweep", name);
    }
    for (int step = 0; step < 500; step++)
        for (int i = 0; i < 6; i++)
            lc_run_log_metric(runs[i], "loss", step * (i + 1), step);
    for (int i = 0; i < 6; i++)
        lc_run_finish(runs[i], LC_RUN_FINISHED);
    lc_hub_close(h1, 0);
    lc_hub_close(h2, 0);
    sqlite3 *db = open_index(root);
    assert_int_equal(q_int(db, "select count(*) from metrics"), 3000);
    assert_int_equal(q_int(db, "select count(*) from runs where status='finished'"), 6);
    sqlite3_close(db);
}

/* A child that handles signals, logs, then gets SIGTERM: the run ends killed
 * and the child dies of SIGTERM (re-raised). */
static void test_sigterm_finishes_killed(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-sig");
    pid_t pid = fork();
    if (pid == 0) {
        lc_hub_options o = {.root = root, .loggers = "sqlite,csv", .handle_signals = 1};
        lc_hub *hub;
        if (lc_hub_open(&hub, &o) != LC_OK)
            _exit(3);
        lc_run_options ro = {.experiment = "e", .name = "sig", .resume_step = -1};
        lc_run *run;
        if (lc_run_start(hub, &ro, &run) != LC_OK)
            _exit(4);
        lc_tag k = lc_run_tag(run, "x");
        for (int i = 0; i < 1000; i++)
            lc_run_log_scalar(run, k, i, i);
        raise(SIGTERM);
        for (int i = 0; i < 500; i++)
            usleep(10000); /* the watcher thread finishes and re-raises */
        _exit(5);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    sqlite3 *db = open_index(root);
    char *st = q_text(db, "select status from runs where name='sig'");
    assert_non_null(st);
    assert_string_equal(st, "killed");
    free(st);
    assert_int_equal(q_int(db, "select count(*) from metrics"), 1000);
    sqlite3_close(db);
}

static lc_run_status cause_failed(void *ctx, int sig, char *why, size_t cap)
{
    (void)ctx;
    snprintf(why, cap, "peer gone (signal %d)", sig);
    return LC_RUN_FAILED;
}

/* A hub with a signal cause that says the job failed: SIGTERM ends the run
 * failed, not killed; a cause set and cleared again leaves 'killed'. */
static void test_sigterm_signal_cause(void **s)
{
    (void)s;
    for (int clear = 0; clear < 2; clear++) {
        const char *root = tu_tmpdir("hub-sigcause");
        pid_t pid = fork();
        if (pid == 0) {
            lc_hub_options o = {.root = root, .loggers = "sqlite", .handle_signals = 1};
            lc_hub *hub;
            if (lc_hub_open(&hub, &o) != LC_OK)
                _exit(3);
            lc_hub_set_signal_cause(hub, cause_failed, NULL);
            if (clear)
                lc_hub_set_signal_cause(hub, NULL, NULL);
            lc_run_options ro = {.experiment = "e", .name = "sig", .resume_step = -1};
            lc_run *run;
            if (lc_run_start(hub, &ro, &run) != LC_OK)
                _exit(4);
            lc_run_log_scalar(run, lc_run_tag(run, "x"), 0, 1.0);
            raise(SIGTERM);
            for (int i = 0; i < 500; i++)
                usleep(10000);
            _exit(5);
        }
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        sqlite3 *db = open_index(root);
        char *st = q_text(db, "select status from runs where name='sig'");
        assert_non_null(st);
        assert_string_equal(st, clear ? "killed" : "failed");
        free(st);
        sqlite3_close(db);
    }
}

/* SIGTERM while another thread keeps logging, with a previous handler that
 * does not exit: the run ends as killed, the logging thread keeps running
 * safely (its calls become no-ops), the chained handler runs, and
 * lc_run_finish afterwards frees the run. */
static volatile sig_atomic_t chained;
static void user_handler(int sig)
{
    (void)sig;
    chained = 1;
}

typedef struct {
    lc_run *run;
    volatile int stop;
    long calls;
} logger_arg;

static void *keep_logging(void *p)
{
    logger_arg *a = p;
    lc_tag t = lc_run_tag(a->run, "busy");
    while (!a->stop)
        lc_run_log_scalar(a->run, t, 1.0, a->calls++);
    return NULL;
}

static void test_signal_while_logging(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-sigrace");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, user_handler);
        lc_hub_options o = {.root = root, .loggers = "sqlite,csv", .handle_signals = 1};
        lc_hub *hub;
        if (lc_hub_open(&hub, &o) != LC_OK)
            _exit(3);
        lc_run_options ro = {.experiment = "e", .name = "race"};
        lc_run *run;
        if (lc_run_start(hub, &ro, &run) != LC_OK)
            _exit(4);
        logger_arg a = {.run = run};
        pthread_t th;
        pthread_create(&th, NULL, keep_logging, &a);
        usleep(50 * 1000);
        raise(SIGTERM);
        for (int i = 0; i < 500 && !chained; i++)
            usleep(10 * 1000);
        usleep(50 * 1000); /* the thread goes on logging into the ended run */
        a.stop = 1;
        pthread_join(th, NULL);
        if (!chained)
            _exit(5);
        if (lc_run_get_status(run) != LC_RUN_KILLED) /* what a training loop checks */
            _exit(8);
        if (lc_run_finish(run, LC_RUN_FINISHED) != LC_OK)
            _exit(6);
        lc_hub_close(hub, 0);
        _exit(a.calls > 0 ? 0 : 7);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sqlite3 *db = open_index(root);
    char *st = q_text(db, "select status from runs where name='race'");
    assert_non_null(st);
    assert_string_equal(st, "killed");
    free(st);
    sqlite3_close(db);
}

/* SIGINT ignored when the hub opens (`prog &` from a script inherits it)
 * stays ignored: a SIGINT changes nothing, the run goes on and finishes; the
 * hub still takes SIGTERM, which was not ignored. */
static void test_ignored_signal_stays_ignored(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-sigign");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGINT, SIG_IGN);
        lc_hub_options o = {.root = root, .loggers = "sqlite,csv", .handle_signals = 1};
        lc_hub *hub;
        if (lc_hub_open(&hub, &o) != LC_OK)
            _exit(3);
        lc_run_options ro = {.experiment = "e", .name = "ign"};
        lc_run *run;
        if (lc_run_start(hub, &ro, &run) != LC_OK)
            _exit(4);
        struct sigaction cur;
        sigaction(SIGINT, NULL, &cur);
        if (cur.sa_handler != SIG_IGN)
            _exit(5); /* taken over */
        sigaction(SIGTERM, NULL, &cur);
        if (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN)
            _exit(6); /* SIGTERM is still the hub's */
        lc_tag k = lc_run_tag(run, "x");
        for (int i = 0; i < 100; i++)
            lc_run_log_scalar(run, k, i, i);
        raise(SIGINT);
        usleep(100 * 1000); /* a watcher, had it been woken, would act now */
        if (lc_run_get_status(run) != LC_RUN_RUNNING)
            _exit(7);
        for (int i = 100; i < 200; i++)
            lc_run_log_scalar(run, k, i, i);
        if (lc_run_finish(run, LC_RUN_FINISHED) != LC_OK)
            _exit(8);
        lc_hub_close(hub, 0);
        sigaction(SIGINT, NULL, &cur);
        _exit(cur.sa_handler == SIG_IGN ? 0 : 9);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sqlite3 *db = open_index(root);
    char *st = q_text(db, "select status from runs where name='ign'");
    assert_non_null(st);
    assert_string_equal(st, "finished");
    free(st);
    assert_int_equal(q_int(db, "select count(*) from metrics"), 200);
    sqlite3_close(db);
}

/* SIGKILL mid-logging: the index passes integrity_check and holds every
 * batch the child saw committed (flushed) before the kill; the run shows as
 * crashed. */
static void test_sigkill_keeps_committed(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-kill");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        lc_hub_options o = {.root = root, .loggers = "sqlite,csv"};
        lc_hub *hub;
        if (lc_hub_open(&hub, &o) != LC_OK)
            _exit(3);
        lc_run_options ro = {.experiment = "e", .name = "kill", .resume_step = -1};
        lc_run *run;
        if (lc_run_start(hub, &ro, &run) != LC_OK)
            _exit(4);
        lc_tag k = lc_run_tag(run, "x");
        for (int64_t step = 0;; step++) {
            lc_run_log_scalar(run, k, (double)step, step);
            if (step % 5000 == 4999) {
                lc_hub_flush(hub, 0);
                int64_t done = step + 1;
                if (write(fds[1], &done, sizeof done) != sizeof done)
                    _exit(6);
            }
        }
    }
    close(fds[1]);
    int64_t committed = 0, v;
    for (int i = 0; i < 20 && read(fds[0], &v, sizeof v) == sizeof v; i++)
        committed = v;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    assert_true(WIFSIGNALED(status));
    assert_true(committed >= 5000);

    sqlite3 *db = open_index(root);
    char *ok = q_text(db, "pragma integrity_check");
    assert_string_equal(ok, "ok");
    free(ok);
    int64_t n = q_int(db, "select count(*) from metrics");
    assert_true(n >= committed);
    /* every committed step is there exactly once */
    char sql[256];
    snprintf(sql, sizeof sql, "select count(distinct step) from metrics where step < %lld", (long long)committed);
    assert_int_equal(q_int(db, sql), committed);
    sqlite3_close(db);

    sqlite3 *w;
    char err[512];
    assert_int_equal(lc_index_open(root, 0, &w, err, sizeof err), 0);
    assert_true(lc_index_mark_crashed(w, err, sizeof err) >= 1);
    sqlite3_close(w);
    db = open_index(root);
    char *st = q_text(db, "select status from runs where name='kill'");
    assert_string_equal(st, "crashed");
    free(st);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_run),
        cmocka_unit_test(test_every_kind_one_path),
        cmocka_unit_test(test_hparams_yaml_writer),
        cmocka_unit_test(test_nonfinite_and_replacement),
        cmocka_unit_test(test_key_mapping_and_bad_keys),
        cmocka_unit_test(test_bad_histograms_and_images),
        cmocka_unit_test(test_duplicate_and_bad_names),
        cmocka_unit_test(test_bad_root_and_loggers),
        cmocka_unit_test(test_rank_nonzero_is_noop),
        cmocka_unit_test(test_resume_drops_later_steps),
        cmocka_unit_test(test_drop_mode_accounts_everything),
        cmocka_unit_test(test_two_hubs_many_runs),
        cmocka_unit_test(test_sigterm_finishes_killed),
        cmocka_unit_test(test_sigterm_signal_cause),
        cmocka_unit_test(test_signal_while_logging),
        cmocka_unit_test(test_ignored_signal_stays_ignored),
        cmocka_unit_test(test_sigkill_keeps_committed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
