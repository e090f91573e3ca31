/*
 * tests/test_sqlite_index.c — the "sqlite" sink, driven through its vtable
 * with hand-made runs and event batches, checked by reading index.db back
 * with plain SQL (the views users query).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "index/index_media.h"
#include "index/index_schema.h"
#include "bus/sink.h"
#include "testutil.h"

static char err[LC_ERRLEN];

/* ---- fixtures ------------------------------------------------------------ */

typedef struct fx_run {
    lc_run_info info;
    char dir[4096];
} fx_run;

static fx_run *run_new(const char *root, const char *experiment, const char *name,
                       const char *id)
{
    fx_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->info.id, sizeof r->info.id, "%s", id);
    snprintf(r->dir, sizeof r->dir, "%s/%s/%s", root, experiment, name);
    r->info.root = root;
    r->info.experiment = experiment;
    r->info.name = name;
    r->info.dir = r->dir;
    r->info.start_time = 1700000000.25;
    r->info.resume_step = -1;
    r->info.host = "testhost";
    r->info.boot_id = "boot";
    r->info.pid = getpid();
    r->info.proc_start = 42;
    return r;
}

static void run_free(fx_run *r)
{
    lc_key_table_free(&r->info.keys);
    free(r);
}

static void sink_new(const char *root, lc_sink *s)
{
    memset(s, 0, sizeof *s);
    lc_sink_config cfg = {.root = root};
    if (lc_sink_sqlite_new(&cfg, s, err, sizeof err) != 0)
        fail_msg("lc_sink_sqlite_new: %s", err);
    assert_string_equal(s->vt->name, "sqlite");
}

static void open_ok(lc_sink *s, fx_run *r)
{
    if (s->vt->open_run(s, &r->info, err, sizeof err) != 0)
        fail_msg("open_run: %s", err);
}

static void write_ok(lc_sink *s, const lc_event *ev, size_t n)
{
    lc_event_batch b = {ev, n};
    if (s->vt->write_batch(s, &b, err, sizeof err) != 0)
        fail_msg("write_batch: %s", err);
}

static void finish_ok(lc_sink *s, fx_run *r, lc_run_status st)
{
    r->info.status = st;
    r->info.end_time = 1700000100.5;
    if (s->vt->finish_run(s, &r->info, err, sizeof err) != 0)
        fail_msg("finish_run: %s", err);
}

/* Intern key as the hub does: named in the run's key table, announced
 * with the key as given. */
static lc_event ev_key(fx_run *r, uint32_t tag, lc_key_payload *p, const char *key,
                       const char *original)
{
    assert_int_equal(lc_key_table_set(&r->info.keys, tag, key), 0);
    p->key = (char *)key;
    p->original = (char *)(original ? original : key);
    p->changed = original != NULL && strcmp(original, key) != 0;
    return (lc_event){.run = &r->info, .kind = LC_EV_KEY, .tag = tag, .payload = p};
}

static lc_event ev_scalar(fx_run *r, uint32_t tag, double v, int64_t step)
{
    return (lc_event){.run = &r->info, .kind = LC_EV_SCALAR, .tag = tag, .value = v,
                      .step = step, .wall_time = 1700000000.0 + step * 0.001,
                      .flags = LC_EV_RECORD_END};
}

static sqlite3 *db_open(const char *root)
{
    sqlite3 *db;
    if (lc_index_open(root, 1, &db, err, sizeof err) != 0)
        fail_msg("lc_index_open: %s", err);
    return db;
}

/* First column of the first row of sql with one optional text parameter. */
static long long q_int(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *q_text(sqlite3 *db, const char *sql, const char *arg)
{
    static char buf[4096];
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, sizeof buf, "%s", t ? t : "(null)");
    sqlite3_finalize(st);
    return buf;
}

#define ID1 "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"

/* ---- tests ---------------------------------------------------------------- */

static void test_run_lifecycle_and_all_event_kinds(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "mnist", "baseline", ID1);
    const char *tags[] = {"lightc.host", "testhost", "seed", "42", NULL};
    r->info.tags = tags;
    open_ok(&s, r);

    lc_key_payload k1, k2;
    lc_param_payload p1 = {.type = LC_PARAM_DOUBLE, .key = "opt/lr", .original = "opt/lr",
                           .text = "0.1", .d = 0.1};
    lc_param_payload p2 = {.type = LC_PARAM_BOOL, .key_changed = 1, .key = "use_amp_",
                           .original = "use amp?", .i = 1};
    lc_kv_payload t1 = {"note", "hello", NULL};
    lc_text_payload tx = {"samples", "# Title\nsome *markdown*"};
    double limit[3] = {-1.0, 0.0, 2.5}, count[3] = {1, 2, 3};
    lc_histogram h = {.key = "weights", .min = -1, .max = 2.5, .num = 6, .sum = 4,
                      .sum_squares = 9, .nonfinite = 2, .nbuckets = 3, .limit = limit,
                      .count = count};
    uint8_t px[2 * 3 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7);
    lc_image_payload img = {.key = "img", .width = 3, .height = 2, .channels = 3, .pixels = px};
    char art_path[4096];
    snprintf(art_path, sizeof art_path, "%s/model.ckpt", root);
    FILE *f = fopen(art_path, "w");
    assert_non_null(f);
    fputs("0123456789", f);
    fclose(f);
    lc_artifact_payload art = {.path = art_path, .artifact_dir = "checkpoints"};

    lc_event ev[] = {
        ev_key(r, 1, &k1, "train/loss", NULL),
        ev_key(r, 2, &k2, "val/acc_", "val/acc%"),
        ev_scalar(r, 1, 0.5, 0),
        ev_scalar(r, 1, 0.25, 1),
        ev_scalar(r, 2, 0.9, 1),
        {.run = &r->info, .kind = LC_EV_PARAM, .payload = &p1},
        {.run = &r->info, .kind = LC_EV_PARAM, .payload = &p2},
        {.run = &r->info, .kind = LC_EV_TAG, .payload = &t1},
        {.run = &r->info, .kind = LC_EV_TEXT, .payload = &tx, .step = 1},
        {.run = &r->info, .kind = LC_EV_HISTOGRAM, .payload = &h, .step = 1},
        {.run = &r->info, .kind = LC_EV_IMAGE, .payload = &img, .step = 2},
        {.run = &r->info, .kind = LC_EV_ARTIFACT, .payload = &art},
    };
    ev[3].flags = 0; /* steps 1 of loss and acc form one record */
    write_ok(&s, ev, sizeof ev / sizeof ev[0]);
    assert_int_equal(s.vt->flush(&s, err, sizeof err), 0);

    r->info.nsinks = 2;
    r->info.sinks[0].name = "sqlite";
    r->info.sinks[0].last_error = "";
    r->info.sinks[1].name = "csv";
    r->info.sinks[1].errors = 3;
    r->info.sinks[1].last_error = "csv: cannot write x: No space left on device";
    atomic_store(&r->info.logged, 3);
    atomic_store(&r->info.dropped, 1);
    atomic_store(&r->info.sink_errors, 3);
    atomic_store(&r->info.degraded, 1);
    finish_ok(&s, r, LC_RUN_FINISHED);
    assert_null(r->info.sink_state[0]);

    sqlite3 *db = db_open(root);
    assert_string_equal(q_text(db, "SELECT status FROM runs WHERE run_id = ?1", ID1), "finished");
    assert_int_equal(q_int(db, "SELECT end_time = 1700000100.5 AND start_time = 1700000000.25"
                               " AND degraded = 1 AND host = 'testhost' FROM runs",
                           NULL),
                     1);
    assert_string_equal(q_text(db, "SELECT dir FROM runs", NULL), "mnist/baseline");
    assert_int_equal(q_int(db, "SELECT proc_start FROM run_info", NULL), 42);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE run_id = ?1", ID1), 3);
    assert_int_equal(q_int(db, "SELECT value = 0.25 FROM metrics WHERE key = 'train/loss'"
                               " AND step = 1",
                           NULL),
                     1);
    /* record numbers: step 0 alone, step 1 of both keys together */
    assert_string_equal(q_text(db, "SELECT group_concat(rec) FROM (SELECT rec FROM metric_point"
                                   " ORDER BY id)",
                               NULL),
                        "0,1,1");
    assert_string_equal(q_text(db, "SELECT original FROM key_map WHERE kind = 'metric'", NULL),
                        "val/acc%");
    assert_string_equal(q_text(db, "SELECT original FROM key_map WHERE kind = 'param'", NULL),
                        "use amp?");
    assert_string_equal(q_text(db, "SELECT value || ':' || type FROM params WHERE key = 'opt/lr'",
                               NULL),
                        "0.1:float");
    assert_string_equal(q_text(db, "SELECT value || ':' || type FROM params WHERE key = 'use_amp_'",
                               NULL),
                        "true:bool");
    assert_string_equal(q_text(db, "SELECT group_concat(key || '=' || value, ',') FROM"
                                   " (SELECT * FROM tags ORDER BY key)",
                               NULL),
                        "lightc.host=testhost,note=hello,seed=42");

    assert_string_equal(q_text(db, "SELECT data FROM media WHERE kind = 'text'", NULL),
                        "# Title\nsome *markdown*");
    assert_string_equal(q_text(db, "SELECT meta FROM media WHERE kind = 'histogram'", NULL),
                        "{\"min\":-1,\"max\":2.5,\"num\":6,\"sum\":4,\"sum_squares\":9,"
                        "\"nonfinite\":2,\"nbuckets\":3}");
    assert_string_equal(q_text(db, "SELECT meta FROM media WHERE kind = 'image'", NULL),
                        "{\"width\":3,\"height\":2,\"channels\":3}");
    assert_string_equal(q_text(db, "SELECT key FROM media WHERE kind = 'artifact'", NULL),
                        "checkpoints/model.ckpt");
    assert_string_equal(q_text(db, "SELECT path FROM media WHERE kind = 'artifact'", NULL),
                        art_path);
    assert_string_equal(q_text(db, "SELECT meta FROM media WHERE kind = 'artifact'", NULL),
                        "{\"artifact_dir\":\"checkpoints\",\"size\":10}");

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT data FROM media WHERE kind = 'histogram'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double lim[3], cnt[3];
    assert_int_equal(sqlite3_column_bytes(st, 0), 48);
    assert_int_equal(lc_index_hist_decode(sqlite3_column_blob(st, 0), 48, lim, cnt), 3);
    assert_memory_equal(lim, limit, sizeof lim);
    assert_memory_equal(cnt, count, sizeof cnt);
    sqlite3_finalize(st);

    assert_int_equal(sqlite3_prepare_v2(db, "SELECT data, step FROM media WHERE kind = 'image'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), sizeof px);
    assert_memory_equal(sqlite3_column_blob(st, 0), px, sizeof px);
    assert_int_equal(sqlite3_column_int(st, 1), 2);
    sqlite3_finalize(st);

    assert_int_equal(q_int(db, "SELECT value FROM counter WHERE name = 'logged'", NULL), 3);
    assert_int_equal(q_int(db, "SELECT value FROM counter WHERE name = 'dropped'", NULL), 1);
    assert_int_equal(q_int(db, "SELECT value FROM counter WHERE name = 'sink_errors'", NULL), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM counter", NULL), 7);
    assert_string_equal(q_text(db, "SELECT state || ':' || coalesce(last_error, '-') ||"
                                   " ':' || coalesce(cursor, 'null') FROM sink_cursor"
                                   " WHERE sink = 'sqlite'",
                               NULL),
                        "ok:-:null");
    assert_string_equal(q_text(db, "SELECT state || ':' || last_error FROM sink_cursor"
                                   " WHERE sink = 'csv'",
                               NULL),
                        "failed:csv: cannot write x: No space left on device");
    sqlite3_close(db);
    s.vt->close(&s);
    run_free(r);
}

static void test_nan_and_infinities_read_back(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "e", "nan", ID1);
    open_ok(&s, r);
    lc_key_payload k;
    lc_event ev[] = {
        ev_key(r, 1, &k, "x", NULL),  ev_scalar(r, 1, NAN, 0),       ev_scalar(r, 1, INFINITY, 1),
        ev_scalar(r, 1, -INFINITY, 2), ev_scalar(r, 1, -1.5e-300, 3), ev_scalar(r, 1, DBL_MAX, 4),
    };
    write_ok(&s, ev, sizeof ev / sizeof ev[0]);
    finish_ok(&s, r, LC_RUN_FINISHED);

    sqlite3 *db = db_open(root);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT step, value, is_nan FROM metrics ORDER BY step",
                                        -1, &st, NULL),
                     SQLITE_OK);
    const double want[] = {NAN, INFINITY, -INFINITY, -1.5e-300, DBL_MAX};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), i);
        if (i == 0) {
            assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
            assert_int_equal(sqlite3_column_int(st, 2), 1);
        } else {
            assert_int_equal(sqlite3_column_type(st, 1), SQLITE_FLOAT);
            double got = sqlite3_column_double(st, 1);
            assert_memory_equal(&got, &want[i], sizeof got); /* bit-exact */
            assert_int_equal(sqlite3_column_int(st, 2), 0);
        }
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    s.vt->close(&s);
    run_free(r);
}

static void test_repeats_dropped_or_replaced(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "e", "repeat", ID1);
    open_ok(&s, r);
    lc_key_payload k;
    lc_event first[] = {
        ev_key(r, 1, &k, "loss", NULL), ev_scalar(r, 1, 1.0, 0), ev_scalar(r, 1, NAN, 1),
        ev_scalar(r, 1, 0.0, 2),        ev_scalar(r, 1, 3.0, 3),
    };
    write_ok(&s, first, 5);
    sqlite3 *db = db_open(root);
    long long id0 = q_int(db, "SELECT id FROM metric_point WHERE step = 0", NULL);
    long long id3 = q_int(db, "SELECT id FROM metric_point WHERE step = 3", NULL);

    /* Equal repeats (NaN == NaN here, -0 == 0 as SQLite keeps no sign of
       zero) are dropped; the batch may even be delivered twice. */
    lc_event same[] = {ev_scalar(r, 1, 1.0, 0), ev_scalar(r, 1, NAN, 1),
                       ev_scalar(r, 1, -0.0, 2)};
    write_ok(&s, same, 3);
    write_ok(&s, same, 3);
    assert_int_equal(atomic_load(&r->info.replaced), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metric_point", NULL), 4);
    assert_int_equal(q_int(db, "SELECT id FROM metric_point WHERE step = 0", NULL), id0);

    /* Different values replace the row with a new id and are counted. */
    lc_event diff[] = {ev_scalar(r, 1, 2.0, 0), ev_scalar(r, 1, 5.0, 1), ev_scalar(r, 1, NAN, 3),
                       ev_scalar(r, 1, nextafter(1.0, 2.0), 0)};
    write_ok(&s, diff, 4);
    assert_int_equal(atomic_load(&r->info.replaced), 4);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metric_point", NULL), 4);
    long long id0b = q_int(db, "SELECT id FROM metric_point WHERE step = 0", NULL);
    assert_true(id0b > id3);
    assert_true(q_int(db, "SELECT id FROM metric_point WHERE step = 3", NULL) != id3);
    assert_int_equal(q_int(db, "SELECT value = 1.0000000000000002 FROM metrics WHERE step = 0",
                           NULL),
                     1);
    assert_int_equal(q_int(db, "SELECT value = 5 AND is_nan = 0 FROM metrics WHERE step = 1", NULL),
                     1);
    assert_int_equal(q_int(db, "SELECT value IS NULL AND is_nan = 1 FROM metrics WHERE step = 3",
                           NULL),
                     1);
    sqlite3_close(db);
    finish_ok(&s, r, LC_RUN_FINISHED);
    db = db_open(root);
    assert_int_equal(q_int(db, "SELECT value FROM counter WHERE name = 'replaced'", NULL), 4);
    sqlite3_close(db);
    s.vt->close(&s);
    run_free(r);
}

/* The same rules when points go in as full multi-row chunks (64 and more
 * scalars in a row), including a (key, step) twice inside one chunk. */
static void test_repeats_in_full_chunks(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "e", "chunks", ID1);
    open_ok(&s, r);
    lc_key_payload k;
    static lc_event ev[1 + 256];
    size_t n = 0;
    ev[n++] = ev_key(r, 1, &k, "loss", NULL);
    for (int step = 0; step < 128; step++)
        ev[n++] = ev_scalar(r, 1, step, step);
    write_ok(&s, ev, n);

    n = 0;
    for (int step = 0; step < 64; step++) /* odd steps change */
        ev[n++] = ev_scalar(r, 1, step % 2 ? step + 1000.0 : step, step);
    for (int j = 0; j < 32; j++) { /* new points, each twice in one chunk */
        ev[n++] = ev_scalar(r, 1, 1.0, 200 + j);
        ev[n++] = ev_scalar(r, 1, 2.0, 200 + j);
    }
    for (int j = 0; j < 64; j++) /* brand-new chunk */
        ev[n++] = ev_scalar(r, 1, -j, 300 + j);
    write_ok(&s, ev, n);
    assert_int_equal(atomic_load(&r->info.replaced), 64);
    write_ok(&s, ev, 64); /* a full chunk delivered again: all equal, dropped */
    assert_int_equal(atomic_load(&r->info.replaced), 64);

    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL), 128 + 32 + 64);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE step < 64 AND step % 2 = 1"
                               " AND value = step + 1000",
                           NULL),
                     32);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE step < 128 AND value = step",
                           NULL),
                     96);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE step BETWEEN 200 AND 231"
                               " AND value = 2",
                           NULL),
                     32);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE step >= 300 AND value = 300 - step",
                           NULL),
                     64);
    /* replaced rows got new ids, after the untouched ones */
    assert_int_equal(q_int(db, "SELECT min(id) > (SELECT max(id) FROM metric_point WHERE step = 126)"
                               " FROM metric_point WHERE step = 1",
                           NULL),
                     1);
    sqlite3_close(db);
    s.vt->close(&s);
    run_free(r);
}

static void test_sql_metacharacters_stored_verbatim(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    const char *exp = "it's \"quoted\"; DROP TABLE run_info;--";
    const char *name = "n%_'\\";
    fx_run *r = run_new(root, exp, name, ID1);
    const char *tags[] = {"k'); DELETE FROM tag;--", "v\"'`%_", NULL};
    r->info.tags = tags;
    open_ok(&s, r);
    const char *key = "a'b\"c; DROP TABLE metric_point;--";
    lc_key_payload k;
    lc_param_payload p = {.type = LC_PARAM_STR, .key = "p'--", .original = "p'--",
                          .text = "'); DROP TABLE param;--"};
    lc_event ev[] = {ev_key(r, 1, &k, key, NULL), ev_scalar(r, 1, 1.0, 1),
                     {.run = &r->info, .kind = LC_EV_PARAM, .payload = &p}};
    write_ok(&s, ev, 3);
    finish_ok(&s, r, LC_RUN_FAILED);

    sqlite3 *db = db_open(root);
    assert_string_equal(q_text(db, "SELECT experiment FROM runs", NULL), exp);
    assert_string_equal(q_text(db, "SELECT name FROM runs", NULL), name);
    assert_string_equal(q_text(db, "SELECT status FROM runs", NULL), "failed");
    assert_string_equal(q_text(db, "SELECT key FROM metrics", NULL), key);
    assert_string_equal(q_text(db, "SELECT value FROM tags WHERE key = ?1", tags[0]), tags[1]);
    assert_string_equal(q_text(db, "SELECT value FROM params WHERE key = ?1", "p'--"), p.text);
    sqlite3_close(db);
    s.vt->close(&s);
    run_free(r);
}

static void test_duplicate_run_needs_resume(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *a = run_new(root, "exp", "dup", ID1);
    open_ok(&s, a);
    finish_ok(&s, a, LC_RUN_FINISHED);

    fx_run *b = run_new(root, "exp", "dup", ID2);
    err[0] = 0;
    assert_int_equal(s.vt->open_run(&s, &b->info, err, sizeof err), LC_ERR_EXISTS);
    char want[4200];
    snprintf(want, sizeof want,
             "run 'exp/dup' already exists in %s/index.db; pass --resume "
             "(lc_run_options.resume) to continue it, or choose another --name",
             root);
    assert_string_equal(err, want);
    assert_null(b->info.sink_state[0]);
    /* Its events are ignored, its finish is a no-op; the first run is intact. */
    lc_key_payload k;
    lc_event ev[] = {ev_key(b, 1, &k, "x", NULL), ev_scalar(b, 1, 1, 1)};
    write_ok(&s, ev, 2);
    finish_ok(&s, b, LC_RUN_FAILED);

    /* A run needs an experiment and a name. */
    fx_run *c = run_new(root, "exp", "c", ID2);
    c->info.name = NULL;
    assert_int_equal(s.vt->open_run(&s, &c->info, err, sizeof err), LC_ERR_INVALID);
    assert_non_null(strstr(err, "name"));
    s.vt->close(&s);

    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs", NULL), 1);
    assert_string_equal(q_text(db, "SELECT run_id || ' ' || status FROM runs", NULL),
                        ID1 " finished");
    assert_int_equal(q_int(db, "SELECT count(*) FROM metric_point", NULL), 0);
    sqlite3_close(db);
    run_free(a);
    run_free(b);
    run_free(c);
}

static void test_resume_drops_later_steps(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *a = run_new(root, "exp", "res", ID1);
    open_ok(&s, a);
    lc_key_payload k1, k2;
    lc_text_payload tx = {"t", "x"};
    lc_event ev[32];
    size_t n = 0;
    ev[n++] = ev_key(a, 1, &k1, "loss", NULL);
    ev[n++] = ev_key(a, 2, &k2, "acc", NULL);
    for (int step = 0; step < 10; step++) {
        ev[n++] = ev_scalar(a, 1, step, step);
        ev[n++] = ev_scalar(a, 2, step * 0.1, step);
    }
    ev[n++] = (lc_event){.run = &a->info, .kind = LC_EV_TEXT, .payload = &tx, .step = 3};
    ev[n++] = (lc_event){.run = &a->info, .kind = LC_EV_TEXT, .payload = &tx, .step = 8};
    write_ok(&s, ev, n);
    finish_ok(&s, a, LC_RUN_KILLED);
    s.vt->close(&s);

    /* Another process resumes from step 4, with a fresh sink. */
    sink_new(root, &s);
    fx_run *b = run_new(root, "exp", "res", ID1);
    b->info.resume = 1;
    b->info.resume_step = 4;
    b->info.pid = 777;
    open_ok(&s, b);
    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs", NULL), 1);
    assert_string_equal(q_text(db, "SELECT status || ' ' || pid || ' ' ||"
                                   " coalesce(end_time, 'null') FROM runs",
                               NULL),
                        "running 777 null");
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL), 10);
    assert_int_equal(q_int(db, "SELECT max(step) FROM metrics", NULL), 4);
    assert_int_equal(q_int(db, "SELECT count(*) FROM media", NULL), 1);

    /* Logging continues (keys are interned again by the new process);
       record numbers continue after the kept ones. */
    lc_event more[] = {ev_key(b, 1, &k2, "acc", NULL), ev_scalar(b, 1, 0.55, 5),
                       ev_scalar(b, 1, 0.1, 1)};
    write_ok(&s, more, 3);
    assert_int_equal(atomic_load(&b->info.replaced), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE key = 'acc'", NULL), 6);
    assert_int_equal(q_int(db, "SELECT rec FROM metric_point WHERE step = 5", NULL), 10);
    finish_ok(&s, b, LC_RUN_FINISHED);
    s.vt->close(&s);
    sqlite3_close(db);

    /* A resume whose id differs uses the existing row; a resume of a run
       that does not exist creates it. */
    sink_new(root, &s);
    fx_run *c = run_new(root, "exp", "res", ID2);
    c->info.resume = 1;
    open_ok(&s, c);
    fx_run *d = run_new(root, "exp", "fresh", ID2);
    d->info.resume = 1;
    d->info.resume_step = 3;
    open_ok(&s, d);
    finish_ok(&s, c, LC_RUN_FINISHED);
    finish_ok(&s, d, LC_RUN_FINISHED);
    s.vt->close(&s);
    db = db_open(root);
    assert_string_equal(q_text(db, "SELECT group_concat(name || '=' || run_id, ',') FROM"
                                   " (SELECT * FROM runs ORDER BY name)",
                               NULL),
                        "fresh=" ID2 ",res=" ID1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL), 11);
    sqlite3_close(db);
    run_free(a);
    run_free(b);
    run_free(c);
    run_free(d);
}

static void test_unknown_tag_counted_as_rejected(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "e", "unknown", ID1);
    open_ok(&s, r);
    lc_key_payload k;
    lc_event ev[] = {ev_scalar(r, 7, 1.0, 0), ev_key(r, 1, &k, "ok", NULL),
                     ev_scalar(r, 1, 1.0, 0), ev_scalar(r, 300, 1.0, 0)};
    write_ok(&s, ev, 4);
    assert_int_equal(atomic_load(&r->info.rejected), 2);
    finish_ok(&s, r, LC_RUN_FINISHED);
    s.vt->close(&s);
    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL), 1);
    sqlite3_close(db);
    run_free(r);
}

/* A batch that fails (the file size limit stands in for a full disk) is
 * rolled back with a message naming the file; the same batch handed in
 * again lands exactly once. Runs in a child: the limit is per process. */
static int fail_then_retry_child(const char *root, char *msg, size_t msglen)
{
    lc_sink s = {0};
    lc_sink_config cfg = {.root = root};
    if (lc_sink_sqlite_new(&cfg, &s, msg, msglen) != 0)
        return 10;
    fx_run *r = run_new(root, "e", "full", ID1);
    if (s.vt->open_run(&s, &r->info, msg, msglen) != 0)
        return 11;
    lc_key_payload k[8];
    enum { N = 60000 };
    static lc_event ev[N + 8];
    size_t n = 0;
    char names[8][8];
    for (uint32_t t = 1; t <= 8; t++) {
        snprintf(names[t - 1], sizeof names[0], "k%u", t);
        ev[n++] = ev_key(r, t, &k[t - 1], names[t - 1], NULL);
    }
    for (int i = 0; i < N; i++)
        ev[n++] = ev_scalar(r, 1 + (uint32_t)(i % 8), i * 0.5, i / 8);
    ev[n - 1].value = 12345; /* marks the last point, checked by the parent */

    lc_event_batch small = {ev, 8};
    if (s.vt->write_batch(&s, &small, msg, msglen) != 0)
        return 12;
    s.vt->flush(&s, msg, msglen);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {256 * 1024, RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 13;
    lc_event_batch big = {ev, n};
    if (s.vt->write_batch(&s, &big, msg, msglen) == 0)
        return 14; /* should not have fitted */
    char first[LC_ERRLEN];
    snprintf(first, sizeof first, "%s", msg);

    lim.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 15;
    if (s.vt->write_batch(&s, &big, msg, msglen) != 0)
        return 16;
    if (s.vt->write_batch(&s, &big, msg, msglen) != 0) /* delivered twice: no change */
        return 17;
    uint64_t replaced = atomic_load(&r->info.replaced);
    r->info.status = LC_RUN_FINISHED;
    if (s.vt->finish_run(&s, &r->info, msg, msglen) != 0)
        return 18;
    s.vt->close(&s);
    run_free(r);
    snprintf(msg, msglen, "%s", first);
    return replaced == 0 ? 0 : 19;
}

static void test_failed_batch_rolls_back_and_retry_is_idempotent(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char msg[LC_ERRLEN] = "";
        int rc = fail_then_retry_child(root, msg, sizeof msg);
        ssize_t w = write(fds[1], msg, strlen(msg));
        (void)w;
        _exit(rc);
    }
    close(fds[1]);
    char msg[LC_ERRLEN + 1] = "";
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child step %d failed: %s", WEXITSTATUS(status), msg);
    print_message("failed batch said: %s\n", msg);
    char want[4200];
    snprintf(want, sizeof want, "%s/index.db", root);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "sqlite: "));

    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL), 60000);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metric_key", NULL), 8);
    assert_int_equal(q_int(db, "SELECT value FROM metrics WHERE key = 'k8' AND step = 7499", NULL),
                     12345);
    assert_int_equal(q_int(db, "SELECT max(rec) FROM metric_point", NULL), 59999);
    assert_string_equal(q_text(db, "SELECT status FROM runs", NULL), "finished");
    sqlite3_close(db);
}

/* A sweep: 4 processes log into one (new) index at the same time. */
enum { SWEEP_PROCS = 4, SWEEP_BATCHES = 25, SWEEP_BATCH = 400 };

static int sweep_child(const char *root, int i)
{
    char name[32], id[33], msg[LC_ERRLEN];
    snprintf(name, sizeof name, "run-%d", i);
    snprintf(id, sizeof id, "%032d", i + 1);
    lc_sink s = {0};
    lc_sink_config cfg = {.root = root};
    if (lc_sink_sqlite_new(&cfg, &s, msg, sizeof msg) != 0)
        return fprintf(stderr, "child %d: %s\n", i, msg), 1;
    fx_run *r = run_new(root, "sweep", name, id);
    if (s.vt->open_run(&s, &r->info, msg, sizeof msg) != 0)
        return fprintf(stderr, "child %d: %s\n", i, msg), 2;
    lc_key_payload k[4];
    const char *keys[4] = {"a", "b", "c", "d"};
    lc_event ev[4];
    for (uint32_t t = 0; t < 4; t++)
        ev[t] = ev_key(r, t + 1, &k[t], keys[t], NULL);
    lc_event_batch kb = {ev, 4};
    if (s.vt->write_batch(&s, &kb, msg, sizeof msg) != 0)
        return fprintf(stderr, "child %d: %s\n", i, msg), 3;
    static lc_event b[SWEEP_BATCH];
    for (int n = 0; n < SWEEP_BATCHES; n++) {
        for (int j = 0; j < SWEEP_BATCH; j++) {
            int step = (n * SWEEP_BATCH + j) / 4;
            b[j] = ev_scalar(r, 1 + (uint32_t)(j % 4), step + i, step);
        }
        lc_event_batch bb = {b, SWEEP_BATCH};
        if (s.vt->write_batch(&s, &bb, msg, sizeof msg) != 0)
            return fprintf(stderr, "child %d: %s\n", i, msg), 4;
        s.vt->flush(&s, msg, sizeof msg);
    }
    r->info.status = LC_RUN_FINISHED;
    if (s.vt->finish_run(&s, &r->info, msg, sizeof msg) != 0)
        return fprintf(stderr, "child %d: %s\n", i, msg), 5;
    s.vt->close(&s);
    run_free(r);
    return 0;
}

static void test_concurrent_processes_all_land(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sweep");
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[SWEEP_PROCS];
    for (int i = 0; i < SWEEP_PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            char c;
            /* start together: all wait for the parent to close the pipe */
            while (read(go[0], &c, 1) > 0)
                ;
            _exit(sweep_child(root, i));
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < SWEEP_PROCS; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'finished'", NULL),
                     SWEEP_PROCS);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL),
                     SWEEP_PROCS * SWEEP_BATCHES * SWEEP_BATCH);
    for (int i = 0; i < SWEEP_PROCS; i++) {
        char name[32];
        snprintf(name, sizeof name, "run-%d", i);
        assert_int_equal(q_int(db, "SELECT count(*) FROM metrics m JOIN runs r USING (run_id)"
                                   " WHERE r.name = ?1 AND m.value = m.step + 0 + "
                                   " CAST(substr(r.name, 5) AS INTEGER)",
                               name),
                         SWEEP_BATCHES * SWEEP_BATCH);
    }
    sqlite3_close(db);
}

/* Throughput, printed for the record (no assertion): batches of 4096
 * scalars over 10 keys, as the hub's dispatcher hands them in. */
static void test_throughput_report(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "bench", "tput", ID1);
    open_ok(&s, r);
    lc_key_payload k[10];
    char names[10][16];
    lc_event kev[10];
    for (uint32_t t = 0; t < 10; t++) {
        snprintf(names[t], sizeof names[t], "train/metric_%u", t);
        kev[t] = ev_key(r, t + 1, &k[t], names[t], NULL);
    }
    write_ok(&s, kev, 10);
    enum { BATCH = 4096, NBATCH = 50 };
    static lc_event ev[BATCH];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long i = 0;
    for (int b = 0; b < NBATCH; b++) {
        for (int j = 0; j < BATCH; j++, i++) {
            ev[j] = ev_scalar(r, 1 + (uint32_t)(i % 10), (double)i * 0.001, i / 10);
            ev[j].flags = (i % 10 == 9) ? LC_EV_RECORD_END : 0;
        }
        write_ok(&s, ev, BATCH);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    print_message("sqlite sink: %lld scalars in %.3f s = %.2f us/scalar (%.0f scalars/s)\n", i, sec,
                  sec * 1e6 / (double)i, (double)i / sec);
    finish_ok(&s, r, LC_RUN_FINISHED);
    s.vt->close(&s);
    sqlite3 *db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics", NULL), i);
    sqlite3_close(db);
    run_free(r);
}

/* ---- ids and removed runs (issue 7, defect 4) ------------------------------ */

/* Delete a run as `lightc runs rm` does, from another connection. */
static void rm_run(const char *root, const char *uuid)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *sql = sqlite3_mprintf(
        "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;"
        "DELETE FROM metric_point WHERE run_id = (SELECT id FROM run_info WHERE run_uuid = %Q);"
        "DELETE FROM run_info WHERE run_uuid = %Q; COMMIT;", uuid, uuid);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("rm: %s", msg);
    sqlite3_free(sql);
    sqlite3_close(db);
}

/* A replaced point gets an id above every earlier one, also when the row
 * it replaces held the largest id (a reused id would hide the new value
 * from a cursor that has passed it). */
static void test_replaced_point_gets_a_larger_id(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *r = run_new(root, "e", "ids", ID1);
    open_ok(&s, r);
    lc_key_payload k;
    lc_event first[] = {ev_key(r, 1, &k, "loss", NULL), ev_scalar(r, 1, 1.0, 0),
                        ev_scalar(r, 1, 2.0, 1)};
    write_ok(&s, first, 3);
    sqlite3 *db = db_open(root);
    long long last = q_int(db, "SELECT max(id) FROM metric_point", NULL);
    assert_int_equal(q_int(db, "SELECT id FROM metric_point WHERE step = 1", NULL), last);
    lc_event again[] = {ev_scalar(r, 1, 3.0, 1)};
    write_ok(&s, again, 1);
    assert_int_equal(atomic_load(&r->info.replaced), 1);
    assert_true(q_int(db, "SELECT id FROM metric_point WHERE step = 1", NULL) > last);
    sqlite3_close(db);
    finish_ok(&s, r, LC_RUN_FINISHED);
    s.vt->close(&s);
    run_free(r);
}

/* `lightc runs rm --force` of a live run: its writer stops writing to it
 * (no orphan rows, drops counted, a clear error at finish), other runs of
 * the same sink go on, and a later run never takes the removed run's id
 * nor its points. */
static void test_removed_run_is_not_written_nor_reused(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("sqlite");
    lc_sink s;
    sink_new(root, &s);
    fx_run *a = run_new(root, "e", "other", ID2);
    fx_run *r = run_new(root, "e", "doomed", ID1);
    open_ok(&s, a);
    open_ok(&s, r);
    lc_key_payload ka, kr;
    lc_event first[] = {ev_key(a, 1, &ka, "loss", NULL), ev_key(r, 1, &kr, "loss", NULL),
                        ev_scalar(a, 1, 1.0, 0), ev_scalar(r, 1, 1.0, 0), ev_scalar(r, 1, 2.0, 1)};
    write_ok(&s, first, 5);
    sqlite3 *db = db_open(root);
    long long row = q_int(db, "SELECT id FROM run_info WHERE run_uuid = ?1", ID1);
    sqlite3_close(db);

    rm_run(root, ID1);

    lc_kv_payload tag = {.key = "late", .value = "tag"};
    lc_event later[70];
    size_t n = 0;
    later[n++] = (lc_event){.run = &r->info, .kind = LC_EV_TAG, .payload = &tag};
    for (int i = 0; i < 66; i++) /* a full multi-row chunk too */
        later[n++] = ev_scalar(r, 1, 0.5 * i, 2 + i);
    later[n++] = ev_scalar(a, 1, 2.0, 1);
    write_ok(&s, later, n);
    assert_int_equal(atomic_load(&r->info.dropped), 66);
    assert_int_equal(atomic_load(&r->info.degraded), 1);
    assert_int_equal(atomic_load(&a->info.dropped), 0);

    db = db_open(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metric_point WHERE run_id NOT IN"
                               " (SELECT id FROM run_info)", NULL), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM tag WHERE key = 'late'", NULL), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE run_id = ?1", ID2), 2);
    sqlite3_close(db);

    r->info.status = LC_RUN_FINISHED;
    err[0] = 0;
    assert_int_equal(s.vt->finish_run(&s, &r->info, err, sizeof err), LC_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "run " ID1));
    assert_non_null(strstr(err, "was removed from the index (lightc runs rm)"));
    assert_non_null(strstr(err, "dropped"));
    finish_ok(&s, a, LC_RUN_FINISHED);

    /* The removed run had the largest id: a new run must not take it. */
    fx_run *b = run_new(root, "e", "next", "00000000000000000000000000000003");
    open_ok(&s, b);
    lc_key_payload kb;
    lc_event bev[] = {ev_key(b, 1, &kb, "loss", NULL), ev_scalar(b, 1, 9.0, 100)};
    write_ok(&s, bev, 2);
    finish_ok(&s, b, LC_RUN_FINISHED);
    db = db_open(root);
    assert_true(q_int(db, "SELECT id FROM run_info WHERE run_uuid = ?1",
                      "00000000000000000000000000000003") > row);
    assert_int_equal(q_int(db, "SELECT count(*) FROM metrics WHERE run_id = ?1",
                           "00000000000000000000000000000003"), 1);
    sqlite3_close(db);
    s.vt->close(&s);
    run_free(a);
    run_free(r);
    run_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_lifecycle_and_all_event_kinds),
        cmocka_unit_test(test_nan_and_infinities_read_back),
        cmocka_unit_test(test_repeats_dropped_or_replaced),
        cmocka_unit_test(test_repeats_in_full_chunks),
        cmocka_unit_test(test_sql_metacharacters_stored_verbatim),
        cmocka_unit_test(test_duplicate_run_needs_resume),
        cmocka_unit_test(test_resume_drops_later_steps),
        cmocka_unit_test(test_unknown_tag_counted_as_rejected),
        cmocka_unit_test(test_failed_batch_rolls_back_and_retry_is_idempotent),
        cmocka_unit_test(test_concurrent_processes_all_land),
        cmocka_unit_test(test_throughput_report),
        cmocka_unit_test(test_replaced_point_gets_a_larger_id),
        cmocka_unit_test(test_removed_run_is_not_written_nor_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
