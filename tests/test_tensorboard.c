/*
 * tests/test_tensorboard.c — the TensorBoard sink through its vtable, with
 * hand-made runs and events, read back record by record with protobuf-c:
 * file name and first record, buffering (no write per event), scalars,
 * text, histograms, images, hparams of every type and the status mapping,
 * tag conflicts and bad input, resume (SessionLog START, old session
 * records dropped, params inherited), and a file-size limit standing in for
 * a full disk (the file ends on a complete record; a retried batch is not
 * written twice).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.pb-c.h"
#include "shared/histogram.h"
#include "hparams_plugin_data.pb-c.h"
#include "bus/sink.h"
#include "testutil.h"
#include "tensorboard/tfrecord.h"

/* ---------------------------------------------------------------------- */
/* fixtures                                                                */

typedef struct fx {
    char root[1024];
    char dir[1200];
    lc_run_info *run;
    lc_sink sink;
    char err[LC_ERRLEN];
} fx;

static lc_run_info *make_run(const char *root, const char *dir)
{
    lc_run_info *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->id, sizeof r->id, "0123456789abcdef0123456789abcdef");
    r->root = root;
    r->experiment = "exp";
    r->name = "run";
    r->dir = dir;
    r->start_time = 1700000000.0;
    r->resume_step = -1;
    return r;
}

static void free_run(lc_run_info *r)
{
    lc_key_table_free(&r->keys);
    free(r);
}

static void fx_open_sink(fx *f, uint32_t flush_ms)
{
    lc_sink_config cfg = {.root = f->root, .flush_interval_ms = flush_ms};
    memset(&f->sink, 0, sizeof f->sink);
    assert_int_equal(lc_sink_tensorboard_new(&cfg, &f->sink, f->err, sizeof f->err), 0);
    f->sink.index = 2; /* not 0: the sink must use its own slot */
    assert_string_equal(f->sink.vt->name, "tensorboard");
}

static void fx_init(fx *f, const char *label, uint32_t flush_ms)
{
    memset(f, 0, sizeof *f);
    const char *t = tu_tmpdir(label);
    assert_non_null(t);
    snprintf(f->root, sizeof f->root, "%s", t);
    snprintf(f->dir, sizeof f->dir, "%s/exp/run", t);
    f->run = make_run(f->root, f->dir);
    fx_open_sink(f, flush_ms);
    assert_int_equal(f->sink.vt->open_run(&f->sink, f->run, f->err, sizeof f->err), 0);
}

static void fx_done(fx *f)
{
    f->sink.vt->close(&f->sink);
    free_run(f->run);
    tu_rmtree(f->root);
}

static int fx_batch(fx *f, lc_event *ev, size_t n)
{
    lc_event_batch b = {ev, n};
    return f->sink.vt->write_batch(&f->sink, &b, f->err, sizeof f->err);
}

static void fx_finish(fx *f, lc_run_status st)
{
    f->run->status = st;
    f->run->end_time = 1700000100.0;
    assert_int_equal(f->sink.vt->finish_run(&f->sink, f->run, f->err, sizeof f->err), 0);
}

/* Intern key as the hub does: named in the run's key table, announced. */
static lc_event ev_key(lc_run_info *run, uint32_t tag, const char *key)
{
    assert_int_equal(lc_key_table_set(&run->keys, tag, key), 0);
    lc_key_payload *k = calloc(1, sizeof *k);
    k->key = strdup(key);
    k->original = k->key;
    return (lc_event){.run = run, .kind = LC_EV_KEY, .tag = tag, .payload = k};
}

static void free_key(lc_event *e)
{
    lc_key_payload *k = e->payload;
    free(k->key);
    free(k);
}

static lc_event ev_scalar(lc_run_info *run, uint32_t tag, double v, int64_t step, double wall)
{
    return (lc_event){.run = run, .kind = LC_EV_SCALAR, .tag = tag, .value = v, .step = step,
                      .wall_time = wall, .flags = LC_EV_RECORD_END};
}

/* Params live in static storage: the sink copies what it keeps. */
static lc_event ev_param(lc_run_info *run, lc_param_payload *p)
{
    return (lc_event){.run = run, .kind = LC_EV_PARAM, .payload = p};
}

/* ---------------------------------------------------------------------- */
/* reading back                                                            */

typedef struct events {
    Tensorboard__Event **ev;
    size_t n;
    size_t files;
    char first_name[512];
} events;

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every record of every events file in dir, files in name order. Fails
   the test on a bad CRC, an undecodable record or a truncated tail. */
static events read_dir(const char *dir)
{
    events out = {0};
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[64];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "tfevents") && nn < 64)
            names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, nn, sizeof *names, name_cmp);
    out.files = nn;
    if (nn)
        snprintf(out.first_name, sizeof out.first_name, "%s", names[0]);
    for (size_t i = 0; i < nn; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *data = tu_read_file(path, &len);
        assert_non_null(data);
        size_t off = 0;
        const uint8_t *p;
        size_t plen;
        lc_tfr_status st;
        while ((st = lc_tfr_next((uint8_t *)data, len, &off, &p, &plen)) == LC_TFR_OK) {
            Tensorboard__Event *ev = tensorboard__event__unpack(NULL, plen, p);
            assert_non_null(ev);
            out.ev = realloc(out.ev, (out.n + 1) * sizeof *out.ev);
            out.ev[out.n++] = ev;
        }
        if (st != LC_TFR_END)
            fail_msg("%s: %s at offset %zu", path, lc_tfr_status_str(st), off);
        free(data);
        free(names[i]);
    }
    return out;
}

static void events_free(events *e)
{
    for (size_t i = 0; i < e->n; i++)
        tensorboard__event__free_unpacked(e->ev[i], NULL);
    free(e->ev);
    memset(e, 0, sizeof *e);
}

static const Tensorboard__Summary__Value *find_value(const events *e, const char *tag, int64_t step,
                                                     size_t *count)
{
    const Tensorboard__Summary__Value *hit = NULL;
    size_t c = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (e->ev[i]->what_case != TENSORBOARD__EVENT__WHAT_SUMMARY || e->ev[i]->step != step)
            continue;
        for (size_t k = 0; k < e->ev[i]->summary->n_value; k++) {
            if (strcmp(e->ev[i]->summary->value[k]->tag, tag) == 0) {
                if (!hit)
                    hit = e->ev[i]->summary->value[k];
                c++;
            }
        }
    }
    if (count)
        *count = c;
    return hit;
}

static size_t count_tag(const events *e, const char *tag)
{
    size_t c = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->ev[i]->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY)
            for (size_t k = 0; k < e->ev[i]->summary->n_value; k++)
                c += strcmp(e->ev[i]->summary->value[k]->tag, tag) == 0;
    return c;
}

/* The decoded hparams plugin data of the first value with this tag. */
static Tensorboard__Hparams__HParamsPluginData *hparams_of(const events *e, const char *tag)
{
    const Tensorboard__Summary__Value *v = find_value(e, tag, 0, NULL);
    if (!v)
        return NULL;
    assert_non_null(v->metadata);
    assert_string_equal(v->metadata->plugin_data->plugin_name, "hparams");
    assert_int_equal(v->value_case, TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR);
    const ProtobufCBinaryData *c = &v->metadata->plugin_data->content;
    Tensorboard__Hparams__HParamsPluginData *d =
        tensorboard__hparams__hparams_plugin_data__unpack(NULL, c->len, c->data);
    assert_non_null(d);
    assert_int_equal(d->version, 0);
    return d;
}

static const Google__Protobuf__Value *hp_get(const Tensorboard__Hparams__SessionStartInfo *ssi,
                                             const char *key)
{
    for (size_t i = 0; i < ssi->n_hparams; i++)
        if (strcmp(ssi->hparams[i]->key, key) == 0)
            return ssi->hparams[i]->value;
    return NULL;
}

static off_t file_size_of(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    off_t total = 0;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, "tfevents"))
            continue;
        char path[2048];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_int_equal(stat(path, &st), 0);
        total += st.st_size;
    }
    closedir(d);
    return total;
}

/* ---------------------------------------------------------------------- */
/* tests                                                                   */

static void test_file_name_and_first_record(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-first", 60000);
    events e = read_dir(f.dir);
    assert_int_equal(e.files, 1);
    assert_int_equal(e.n, 1); /* the version record is on disk at once */
    assert_int_equal(e.ev[0]->what_case, TENSORBOARD__EVENT__WHAT_FILE_VERSION);
    assert_string_equal(e.ev[0]->file_version, "brain.Event:2");
    assert_true(e.ev[0]->wall_time > 1.6e9);
    /* events.out.tfevents.<10 digits>.<host>.<pid>.<n> */
    const char *n = e.first_name;
    assert_int_equal(strncmp(n, "events.out.tfevents.", 20), 0);
    for (int i = 0; i < 10; i++)
        assert_true(n[20 + i] >= '0' && n[20 + i] <= '9');
    assert_int_equal(n[30], '.');
    char pid[32];
    snprintf(pid, sizeof pid, ".%ld.", (long)getpid());
    assert_non_null(strstr(n + 31, pid));
    events_free(&e);
    fx_finish(&f, LC_RUN_FINISHED);
    fx_done(&f);
}

static void test_scalars_roundtrip_and_buffering(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-scalars", 60000); /* long interval: only flush() writes */
    off_t size0 = file_size_of(f.dir);
    lc_event ev[2 + 200];
    size_t n = 0;
    ev[n++] = ev_key(f.run, 1, "train/loss");
    ev[n++] = ev_key(f.run, 2, "val/acc");
    for (int i = 0; i < 100; i++) {
        double w = 1700000000.0 + i;
        /* a record of two scalars at one step: one Event with two values */
        ev[n] = ev_scalar(f.run, 1, 1.0 / (i + 1), i, w);
        ev[n++].flags = 0;
        ev[n++] = ev_scalar(f.run, 2, i * 0.01, i, w);
    }
    assert_int_equal(fx_batch(&f, ev, n), 0);
    assert_int_equal(file_size_of(f.dir), size0); /* buffered, not written per event */
    assert_int_equal(f.sink.vt->flush(&f.sink, f.err, sizeof f.err), 0);
    assert_true(file_size_of(f.dir) > size0 + 100 * 2 * 20);

    events e = read_dir(f.dir);
    size_t two_value_events = 0;
    for (size_t i = 0; i < e.n; i++)
        if (e.ev[i]->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY &&
            e.ev[i]->summary->n_value == 2)
            two_value_events++;
    assert_int_equal(two_value_events, 100);
    for (int i = 0; i < 100; i++) {
        size_t c;
        const Tensorboard__Summary__Value *v = find_value(&e, "train/loss", i, &c);
        assert_non_null(v);
        assert_int_equal(c, 1);
        assert_int_equal(v->value_case, TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE);
        assert_true(v->simple_value == (float)(1.0 / (i + 1)));
        v = find_value(&e, "val/acc", i, &c);
        assert_non_null(v);
        assert_true(v->simple_value == (float)(i * 0.01));
    }
    events_free(&e);
    fx_finish(&f, LC_RUN_FINISHED);
    e = read_dir(f.dir);
    Tensorboard__Hparams__HParamsPluginData *end = hparams_of(&e, "_hparams_/session_end_info");
    assert_non_null(end);
    assert_int_equal(end->session_end_info->status, 1); /* SUCCESS */
    assert_true(end->session_end_info->end_time_secs == 1700000100.0);
    tensorboard__hparams__hparams_plugin_data__free_unpacked(end, NULL);
    /* a run without params is still a session (empty hparams) */
    Tensorboard__Hparams__HParamsPluginData *st = hparams_of(&e, "_hparams_/session_start_info");
    assert_non_null(st);
    assert_int_equal(st->session_start_info->n_hparams, 0);
    assert_true(st->session_start_info->start_time_secs == 1700000000.0);
    tensorboard__hparams__hparams_plugin_data__free_unpacked(st, NULL);
    events_free(&e);
    free_key(&ev[0]);
    free_key(&ev[1]);
    fx_done(&f);
}

static void test_flush_interval_zero_writes_each_batch(void **s)
{
    (void)s;
    setenv("LIGHTC_TB_FLUSH_SECS", "0", 1);
    fx f;
    fx_init(&f, "tb-env0", 60000); /* the variable beats the config */
    unsetenv("LIGHTC_TB_FLUSH_SECS");
    off_t size0 = file_size_of(f.dir);
    lc_event ev[2] = {ev_key(f.run, 1, "x"), ev_scalar(f.run, 1, 3.0, 7, 1.7e9)};
    assert_int_equal(fx_batch(&f, ev, 2), 0);
    assert_true(file_size_of(f.dir) > size0);
    free_key(&ev[0]);
    fx_finish(&f, LC_RUN_FINISHED);
    fx_done(&f);
}

static void test_bad_flush_env(void **s)
{
    (void)s;
    const char *bad[] = {"abc", "-1", "nan", "1e9", "2x"};
    for (size_t i = 0; i < 5; i++) {
        setenv("LIGHTC_TB_FLUSH_SECS", bad[i], 1);
        lc_sink sk;
        memset(&sk, 0, sizeof sk);
        char err[LC_ERRLEN] = "";
        lc_sink_config cfg = {.root = "/tmp"};
        assert_int_equal(lc_sink_tensorboard_new(&cfg, &sk, err, sizeof err), LC_ERR_INVALID);
        assert_non_null(strstr(err, "LIGHTC_TB_FLUSH_SECS"));
    }
    unsetenv("LIGHTC_TB_FLUSH_SECS");
}

static void test_hparams_every_type(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-hp", 60000);
    static lc_param_payload p[] = {
        {.type = LC_PARAM_STR, .key = "optimizer", .text = "adam"},
        {.type = LC_PARAM_INT, .key = "batch", .i = 64, .text = "64"},
        {.type = LC_PARAM_INT, .key = "seed", .i = INT64_C(9007199254740993),
         .text = "9007199254740993"},
        {.type = LC_PARAM_DOUBLE, .key = "lr", .d = 0.001, .text = "0.001"},
        {.type = LC_PARAM_DOUBLE, .key = "bad", .d = NAN, .text = "nan"},
        {.type = LC_PARAM_DOUBLE, .key = "big", .d = -INFINITY, .text = "-inf"},
        {.type = LC_PARAM_BOOL, .key = "augment", .i = 1, .text = "true"},
        {.type = LC_PARAM_STR, .key = "note", .text = "bad \xff utf8"},
        {.type = LC_PARAM_INT, .key = "batch", .i = 128, .text = "128"}, /* replaces 64 */
    };
    lc_event ev[12];
    size_t n = 0;
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        ev[n++] = ev_param(f.run, &p[i]);
    ev[n++] = ev_key(f.run, 1, "loss");
    ev[n++] = ev_scalar(f.run, 1, 0.5, 1, 1.7e9);
    assert_int_equal(fx_batch(&f, ev, n), 0);
    assert_int_equal(f.sink.vt->flush(&f.sink, f.err, sizeof f.err), 0);
    /* after the start info is on disk, a new param cannot reach TensorBoard */
    static lc_param_payload late = {.type = LC_PARAM_STR, .key = "late", .text = "x"};
    lc_event l = ev_param(f.run, &late);
    assert_int_equal(fx_batch(&f, &l, 1), 0);
    fx_finish(&f, LC_RUN_FAILED);

    events e = read_dir(f.dir);
    assert_int_equal(count_tag(&e, "_hparams_/session_start_info"), 1);
    /* the start info comes before the first scalar */
    size_t at_start = 0, at_loss = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.ev[i]->what_case != TENSORBOARD__EVENT__WHAT_SUMMARY)
            continue;
        const char *tag = e.ev[i]->summary->value[0]->tag;
        if (!strcmp(tag, "_hparams_/session_start_info"))
            at_start = i;
        if (!strcmp(tag, "loss"))
            at_loss = i;
    }
    assert_true(at_start > 0 && at_start < at_loss);
    Tensorboard__Hparams__HParamsPluginData *d = hparams_of(&e, "_hparams_/session_start_info");
    Tensorboard__Hparams__SessionStartInfo *ssi = d->session_start_info;
    assert_int_equal(ssi->n_hparams, 8);
    const Google__Protobuf__Value *v;
    v = hp_get(ssi, "optimizer");
    assert_int_equal(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
    assert_string_equal(v->string_value, "adam");
    v = hp_get(ssi, "batch");
    assert_int_equal(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
    assert_true(v->number_value == 128);
    v = hp_get(ssi, "seed"); /* beyond 2^53: exact as text */
    assert_int_equal(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
    assert_string_equal(v->string_value, "9007199254740993");
    v = hp_get(ssi, "lr");
    assert_true(v->number_value == 0.001);
    v = hp_get(ssi, "bad");
    assert_string_equal(v->string_value, "nan");
    v = hp_get(ssi, "big");
    assert_string_equal(v->string_value, "-inf");
    v = hp_get(ssi, "augment");
    assert_int_equal(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);
    assert_true(v->bool_value);
    v = hp_get(ssi, "note");
    assert_string_equal(v->string_value, "bad ? utf8");
    assert_null(hp_get(ssi, "late"));
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    d = hparams_of(&e, "_hparams_/session_end_info");
    assert_int_equal(d->session_end_info->status, 2); /* FAILURE */
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    events_free(&e);
    free_key(&ev[n - 2]);
    fx_done(&f);
}

/* Params that arrive while the start info is still buffered replace it. */
static void test_params_merge_before_write(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-hp2", 60000);
    static lc_param_payload a = {.type = LC_PARAM_INT, .key = "a", .i = 1, .text = "1"};
    static lc_param_payload b = {.type = LC_PARAM_INT, .key = "b", .i = 2, .text = "2"};
    lc_event ev[4] = {ev_param(f.run, &a), ev_key(f.run, 1, "m"), ev_scalar(f.run, 1, 1, 0, 1.7e9),
                      ev_param(f.run, &b)};
    assert_int_equal(fx_batch(&f, ev, 4), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    events e = read_dir(f.dir);
    assert_int_equal(count_tag(&e, "_hparams_/session_start_info"), 1);
    Tensorboard__Hparams__HParamsPluginData *d = hparams_of(&e, "_hparams_/session_start_info");
    assert_int_equal(d->session_start_info->n_hparams, 2);
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    events_free(&e);
    free_key(&ev[1]);
    fx_done(&f);
}

static void test_status_mapping(void **s)
{
    (void)s;
    const struct {
        lc_run_status st;
        int want;
    } cases[] = {{LC_RUN_FINISHED, 1}, {LC_RUN_FAILED, 2}, {LC_RUN_KILLED, 2}, {LC_RUN_CRASHED, 2}};
    for (size_t i = 0; i < 4; i++) {
        fx f;
        fx_init(&f, "tb-status", 60000);
        fx_finish(&f, cases[i].st);
        events e = read_dir(f.dir);
        Tensorboard__Hparams__HParamsPluginData *d = hparams_of(&e, "_hparams_/session_end_info");
        assert_non_null(d);
        assert_int_equal(d->session_end_info->status, cases[i].want);
        tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
        events_free(&e);
        fx_done(&f);
    }
}

static void test_text_histogram_image(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-media", 60000);
    lc_text_payload t1 = {.key = "notes", .text = "**bold** step 1"};
    lc_text_payload t2 = {.key = "notes", .text = "bad \xc3\x28 utf8"};
    /* buckets with a gap: [0.5-ish] and [2-ish] */
    double vals[] = {0.5, 0.5, 2.0, -1.0};
    lc_histogram *h = lc_histogram_from_f64("w", vals, 4);
    lc_histogram *empty = lc_histogram_from_f64("w", NULL, 0);
    uint8_t px[4 * 3 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7);
    lc_image_payload im = {.key = "sample", .width = 4, .height = 3, .channels = 3, .pixels = px};
    lc_image_payload bad = {.key = "sample", .width = 0, .height = 3, .channels = 3, .pixels = px};
    lc_event ev[] = {
        {.run = f.run, .kind = LC_EV_TEXT, .step = 1, .wall_time = 1.7e9, .payload = &t1},
        {.run = f.run, .kind = LC_EV_TEXT, .step = 2, .wall_time = 1.7e9, .payload = &t2},
        {.run = f.run, .kind = LC_EV_HISTOGRAM, .step = 3, .wall_time = 1.7e9, .payload = h},
        {.run = f.run, .kind = LC_EV_HISTOGRAM, .step = 4, .wall_time = 1.7e9, .payload = empty},
        {.run = f.run, .kind = LC_EV_IMAGE, .step = 5, .wall_time = 1.7e9, .payload = &im},
        {.run = f.run, .kind = LC_EV_IMAGE, .step = 6, .wall_time = 1.7e9, .payload = &bad},
    };
    assert_int_equal(fx_batch(&f, ev, 6), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    events e = read_dir(f.dir);

    const Tensorboard__Summary__Value *v = find_value(&e, "notes", 1, NULL);
    assert_non_null(v);
    assert_non_null(v->metadata); /* first value of the tag: plugin metadata */
    assert_string_equal(v->metadata->plugin_data->plugin_name, "text");
    assert_int_equal(v->tensor->dtype, 7); /* DT_STRING */
    assert_int_equal(v->tensor->n_string_val, 1);
    assert_memory_equal(v->tensor->string_val[0].data, "**bold** step 1", 15);
    v = find_value(&e, "notes", 2, NULL);
    assert_null(v->metadata); /* later values: none */
    assert_memory_equal(v->tensor->string_val[0].data, "bad ?( utf8", 11);

    v = find_value(&e, "w", 3, NULL);
    assert_non_null(v);
    assert_int_equal(v->value_case, TENSORBOARD__SUMMARY__VALUE__VALUE_HISTO);
    const Tensorboard__HistogramProto *hp = v->histo;
    assert_true(hp->num == 4 && hp->min == -1.0 && hp->max == 2.0 && hp->sum == 2.0);
    assert_true(hp->sum_squares == 5.5);
    /* 3 kept buckets, with one empty bucket filling each gap between them */
    assert_int_equal(hp->n_bucket_limit, 5);
    assert_int_equal(hp->n_bucket, 5);
    double total = 0;
    for (size_t i = 0; i < hp->n_bucket; i++) {
        total += hp->bucket[i];
        if (i)
            assert_true(hp->bucket_limit[i - 1] < hp->bucket_limit[i]);
        /* every inner limit is an edge of the ladder */
        assert_true(lc_histogram_limit_index(hp->bucket_limit[i]) >= 0);
    }
    assert_true(total == 4);
    assert_true(hp->bucket[1] == 0 && hp->bucket[3] == 0);
    assert_null(find_value(&e, "w", 4, NULL)); /* empty histogram: nothing */

    v = find_value(&e, "sample", 5, NULL);
    assert_non_null(v);
    assert_int_equal(v->value_case, TENSORBOARD__SUMMARY__VALUE__VALUE_IMAGE);
    assert_int_equal(v->image->width, 4);
    assert_int_equal(v->image->height, 3);
    assert_int_equal(v->image->colorspace, 3);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, v->image->encoded_image_string.data,
                                                 v->image->encoded_image_string.len));
    img.format = PNG_FORMAT_RGB;
    uint8_t back[sizeof px];
    assert_true(png_image_finish_read(&img, NULL, back, 0, NULL));
    assert_memory_equal(back, px, sizeof px);
    assert_null(find_value(&e, "sample", 6, NULL)); /* zero-sized: skipped */
    events_free(&e);
    free(h);
    free(empty);
    fx_done(&f);
}

static void test_tag_conflicts_and_names(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-tags", 60000);
    lc_text_payload t = {.key = "x", .text = "hello"};
    lc_event ev[] = {
        ev_key(f.run, 1, "x"),
        ev_key(f.run, 2, "_hparams_/session_start_info"),
        ev_key(f.run, 3, "caf\xe9"), /* Latin-1, not UTF-8 */
        ev_key(f.run, 4, ""),
        ev_scalar(f.run, 1, 1.0, 0, 1.7e9),
        ev_scalar(f.run, 2, 2.0, 1, 1.7e9),
        ev_scalar(f.run, 3, 3.0, 2, 1.7e9),
        ev_scalar(f.run, 4, 4.0, 3, 1.7e9),
        ev_scalar(f.run, 99, 5.0, 4, 1.7e9), /* no KEY event: skipped */
        {.run = f.run, .kind = LC_EV_TEXT, .step = 5, .wall_time = 1.7e9, .payload = &t},
    };
    assert_int_equal(fx_batch(&f, ev, 10), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    events e = read_dir(f.dir);
    assert_non_null(find_value(&e, "x", 0, NULL));
    assert_non_null(find_value(&e, "_hparams_/session_start_info_scalar", 1, NULL));
    assert_non_null(find_value(&e, "caf?", 2, NULL));
    assert_non_null(find_value(&e, "_", 3, NULL));
    const Tensorboard__Summary__Value *v = find_value(&e, "x_text", 5, NULL);
    assert_non_null(v);
    assert_string_equal(v->metadata->plugin_data->plugin_name, "text");
    assert_null(find_value(&e, "x", 5, NULL));
    assert_int_equal(count_tag(&e, "_hparams_/session_start_info"), 1); /* ours only */
    events_free(&e);
    for (int i = 0; i < 4; i++)
        free_key(&ev[i]);
    fx_done(&f);
}

static void test_steps_backwards_written_as_is(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-back", 60000);
    lc_event ev[] = {ev_key(f.run, 1, "loss"), ev_scalar(f.run, 1, 1.0, 10, 1.7e9),
                     ev_scalar(f.run, 1, 2.0, 5, 1.7e9 + 1), ev_scalar(f.run, 1, 3.0, -3, 1.7e9 + 2)};
    assert_int_equal(fx_batch(&f, ev, 4), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    events e = read_dir(f.dir);
    assert_true(find_value(&e, "loss", 10, NULL)->simple_value == 1.0f);
    assert_true(find_value(&e, "loss", 5, NULL)->simple_value == 2.0f);
    assert_true(find_value(&e, "loss", -3, NULL)->simple_value == 3.0f);
    events_free(&e);
    free_key(&ev[0]);
    fx_done(&f);
}

static void test_non_finite_and_float_range(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-nonfinite", 60000);
    lc_event ev[] = {ev_key(f.run, 1, "v"), ev_scalar(f.run, 1, NAN, 0, 1.7e9),
                     ev_scalar(f.run, 1, INFINITY, 1, 1.7e9), ev_scalar(f.run, 1, 1e300, 2, 1.7e9),
                     ev_scalar(f.run, 1, -1e300, 3, 1.7e9), ev_scalar(f.run, 1, 1e-50, 4, 1.7e9),
                     ev_scalar(f.run, 1, 6.0, 5, NAN)};
    assert_int_equal(fx_batch(&f, ev, 7), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    events e = read_dir(f.dir);
    assert_true(isnan(find_value(&e, "v", 0, NULL)->simple_value));
    assert_true(isinf(find_value(&e, "v", 1, NULL)->simple_value));
    assert_true(find_value(&e, "v", 2, NULL)->simple_value == INFINITY);
    assert_true(find_value(&e, "v", 3, NULL)->simple_value == -INFINITY);
    assert_true(find_value(&e, "v", 4, NULL)->simple_value == 0.0f);
    /* a NaN wall time (a reader would drop the rest of the file) becomes now */
    for (size_t i = 0; i < e.n; i++)
        assert_true(isfinite(e.ev[i]->wall_time) && e.ev[i]->wall_time > 1.6e9);
    assert_true(find_value(&e, "v", 5, NULL)->simple_value == 6.0f);
    events_free(&e);
    free_key(&ev[0]);
    fx_done(&f);
}

static void test_resume(void **s)
{
    (void)s;
    fx f;
    fx_init(&f, "tb-resume", 60000);
    static lc_param_payload lr = {.type = LC_PARAM_DOUBLE, .key = "lr", .d = 0.1, .text = "0.1"};
    static lc_param_payload bs = {.type = LC_PARAM_INT, .key = "bs", .i = 32, .text = "32"};
    lc_event ev[12];
    size_t n = 0;
    ev[n++] = ev_param(f.run, &lr);
    ev[n++] = ev_param(f.run, &bs);
    ev[n++] = ev_key(f.run, 1, "loss");
    for (int i = 0; i < 8; i++)
        ev[n++] = ev_scalar(f.run, 1, i, i, 1.7e9 + i);
    assert_int_equal(fx_batch(&f, ev, n), 0);
    fx_finish(&f, LC_RUN_KILLED);
    free_key(&ev[2]);

    /* the same run continues from a checkpoint at step 4, in a new process */
    f.sink.vt->close(&f.sink);
    free_run(f.run);
    f.run = make_run(f.root, f.dir);
    f.run->resume = 1;
    f.run->resume_step = 4;
    fx_open_sink(&f, 60000);
    assert_int_equal(f.sink.vt->open_run(&f.sink, f.run, f.err, sizeof f.err), 0);
    static lc_param_payload lr2 = {.type = LC_PARAM_DOUBLE, .key = "lr", .d = 0.05, .text = "0.05"};
    n = 0;
    ev[n++] = ev_param(f.run, &lr2);
    ev[n++] = ev_key(f.run, 1, "loss");
    for (int i = 5; i < 10; i++)
        ev[n++] = ev_scalar(f.run, 1, 100 + i, i, 1.8e9 + i);
    assert_int_equal(fx_batch(&f, ev, n), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    free_key(&ev[1]);

    events e = read_dir(f.dir);
    assert_int_equal(e.files, 2);
    /* exactly one start and one end info remain: the resumed run's */
    assert_int_equal(count_tag(&e, "_hparams_/session_start_info"), 1);
    assert_int_equal(count_tag(&e, "_hparams_/session_end_info"), 1);
    Tensorboard__Hparams__HParamsPluginData *d = hparams_of(&e, "_hparams_/session_end_info");
    assert_int_equal(d->session_end_info->status, 1);
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    d = hparams_of(&e, "_hparams_/session_start_info");
    assert_int_equal(d->session_start_info->n_hparams, 2); /* inherited bs + new lr */
    assert_true(hp_get(d->session_start_info, "lr")->number_value == 0.05);
    assert_true(hp_get(d->session_start_info, "bs")->number_value == 32);
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    /* the second file: file_version, then SessionLog START at step 5 */
    size_t second = 0;
    for (size_t i = 1; i < e.n; i++)
        if (e.ev[i]->what_case == TENSORBOARD__EVENT__WHAT_FILE_VERSION)
            second = i;
    assert_true(second > 0);
    assert_int_equal(e.ev[second + 1]->what_case, TENSORBOARD__EVENT__WHAT_SESSION_LOG);
    assert_int_equal(e.ev[second + 1]->session_log->status,
                     TENSORBOARD__SESSION_LOG__SESSION_STATUS__START);
    assert_int_equal(e.ev[second + 1]->step, 5);
    /* twice: the Python plugin loader ignores a run's first START */
    assert_int_equal(e.ev[second + 2]->what_case, TENSORBOARD__EVENT__WHAT_SESSION_LOG);
    assert_int_equal(e.ev[second + 2]->step, 5);
    /* the old points are still in the old file (readers drop them) */
    assert_true(find_value(&e, "loss", 6, NULL)->simple_value == 6.0f);
    events_free(&e);
    fx_done(&f);
}

static void test_open_run_errors(void **s)
{
    (void)s;
    const char *t = tu_tmpdir("tb-openerr");
    char file[1024], dir[1100];
    snprintf(file, sizeof file, "%s/plainfile", t);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(dir, sizeof dir, "%s/sub/run", file); /* under a regular file */
    lc_run_info *run = make_run(t, dir);
    lc_sink sk;
    char err[LC_ERRLEN] = "";
    lc_sink_config cfg = {.root = t};
    assert_int_equal(lc_sink_tensorboard_new(&cfg, &sk, err, sizeof err), 0);
    sk.index = 0;
    assert_int_equal(sk.vt->open_run(&sk, run, err, sizeof err), LC_ERR_IO);
    assert_non_null(strstr(err, "cannot create directory"));
    assert_null(run->sink_state[0]);
    /* events for a run the sink never opened are ignored */
    lc_event ev = ev_scalar(run, 1, 1.0, 0, 1.7e9);
    lc_event_batch b = {&ev, 1};
    assert_int_equal(sk.vt->write_batch(&sk, &b, err, sizeof err), 0);
    assert_int_equal(sk.vt->finish_run(&sk, run, err, sizeof err), 0);
    sk.vt->close(&sk);
    free_run(run);
    tu_rmtree(t);
}

/* A file-size limit makes write(2) fail like a full disk (EFBIG instead of
   ENOSPC), after writing part of the buffer. */
static void test_write_failure_keeps_records_whole(void **s)
{
    (void)s;
    setenv("LIGHTC_TB_FLUSH_SECS", "0", 1); /* every batch is written */
    fx f;
    fx_init(&f, "tb-full", 60000);
    unsetenv("LIGHTC_TB_FLUSH_SECS");
    off_t size0 = file_size_of(f.dir);
    enum { N = 200 };
    static char text[1000];
    memset(text, 'a', sizeof text - 1);
    lc_text_payload tp = {.key = "t", .text = text};
    lc_event ev[N];
    for (int i = 0; i < N; i++)
        ev[i] = (lc_event){.run = f.run, .kind = LC_EV_TEXT, .step = i, .wall_time = 1.7e9,
                           .payload = &tp};
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit lim = old;
    lim.rlim_cur = (rlim_t)size0 + 50000; /* room for about a quarter */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc1 = fx_batch(&f, ev, N);
    char err1[LC_ERRLEN];
    snprintf(err1, sizeof err1, "%s", f.err);
    int rc2 = fx_batch(&f, ev, N); /* the hub retries while the disk is full */
    int rc3 = f.sink.vt->flush(&f.sink, f.err, sizeof f.err);
    off_t size_full = file_size_of(f.dir);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc1, LC_ERR_IO);
    assert_int_equal(rc2, LC_ERR_IO);
    assert_int_equal(rc3, LC_ERR_IO);
    assert_non_null(strstr(err1, "cannot write"));
    assert_non_null(strstr(err1, "kept in memory"));
    /* the partial write was cut back: only whole records, read to a clean end */
    assert_int_equal(size_full, size0);
    events e = read_dir(f.dir);
    events_free(&e);

    /* Space again; the hub retries the same batch: nothing is taken twice. */
    assert_int_equal(fx_batch(&f, ev, N), 0);
    fx_finish(&f, LC_RUN_FINISHED);
    e = read_dir(f.dir);
    assert_int_equal(count_tag(&e, "t"), N);
    for (int i = 0; i < N; i++) {
        size_t c;
        find_value(&e, "t", i, &c);
        assert_int_equal(c, 1);
    }
    events_free(&e);
    fx_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_name_and_first_record),
        cmocka_unit_test(test_scalars_roundtrip_and_buffering),
        cmocka_unit_test(test_flush_interval_zero_writes_each_batch),
        cmocka_unit_test(test_bad_flush_env),
        cmocka_unit_test(test_hparams_every_type),
        cmocka_unit_test(test_params_merge_before_write),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_text_histogram_image),
        cmocka_unit_test(test_tag_conflicts_and_names),
        cmocka_unit_test(test_steps_backwards_written_as_is),
        cmocka_unit_test(test_non_finite_and_float_range),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_open_run_errors),
        cmocka_unit_test(test_write_failure_keeps_records_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
