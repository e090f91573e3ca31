/*
 * tests/test_console.c — the console sink through its vtable, writing to a
 * temporary file: plain lines with step, total, rate, ETA and metrics; the
 * final line; chosen keys; the 6 most recent keys; the TTY style (\r
 * redraws cut to the width); off; and a bad $LIGHTC_CONSOLE. Rates come
 * from the events' own wall times, so the expected text is exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "testutil.h"

/* ---- fixtures ------------------------------------------------------------- */

typedef struct crun {
    lc_run_info info;
    lc_key_payload keys[32];
    lc_kv_payload kv[4];
} crun;

static void crun_init(crun *r, const char *exp, const char *name, const char *const *tags)
{
    memset(r, 0, sizeof *r);
    snprintf(r->info.id, sizeof r->info.id, "%032d", 7);
    r->info.experiment = exp;
    r->info.name = name;
    r->info.dir = "/nonexistent";
    r->info.tags = tags;
    r->info.resume_step = -1;
}

typedef struct cev {
    lc_event ev[256];
    size_t n;
} cev;

/* Intern key as the hub does: named in the run's key table, announced. */
static void cev_key(cev *t, crun *r, uint32_t tag, const char *key)
{
    assert_int_equal(lc_key_table_set(&r->info.keys, tag, key), 0);
    r->keys[tag].key = r->keys[tag].original = (char *)key;
    t->ev[t->n++] = (lc_event){.run = &r->info, .tag = tag, .kind = LC_EV_KEY, .payload = &r->keys[tag]};
}

static void cev_record(cev *t, crun *r, int64_t step, double wall, size_t n, const uint32_t *tags,
                       const double *vals)
{
    for (size_t i = 0; i < n; i++)
        t->ev[t->n++] = (lc_event){.run = &r->info, .step = step, .value = vals[i], .tag = tags[i],
                                   .wall_time = wall, .kind = LC_EV_SCALAR,
                                   .flags = i + 1 == n ? LC_EV_RECORD_END : 0};
}

static void sink_new(lc_sink *s, FILE *f, lc_console_mode mode, int64_t interval_ms, const char *keys,
                     int width)
{
    lc_sink_config cfg = {.root = "/nonexistent", .console_keys = keys};
    lc_console_options o = {.out = f, .mode = mode, .interval_ms = interval_ms, .width = width};
    char err[LC_ERRLEN] = "";
    if (lc_sink_console_new_opts(&cfg, &o, s, err, sizeof err) != 0)
        fail_msg("console: %s", err);
    assert_string_equal(s->vt->name, "console");
    s->index = 3;
}

static void open_ok(lc_sink *s, crun *r)
{
    char err[LC_ERRLEN] = "";
    assert_int_equal(s->vt->open_run(s, &r->info, err, sizeof err), 0);
}

static void write_ok(lc_sink *s, cev *t)
{
    char err[LC_ERRLEN] = "";
    lc_event_batch b = {t->ev, t->n};
    assert_int_equal(s->vt->write_batch(s, &b, err, sizeof err), 0);
    t->n = 0;
}

static void finish_ok(lc_sink *s, crun *r, lc_run_status st, double start, double end)
{
    char err[LC_ERRLEN] = "";
    r->info.status = st;
    r->info.start_time = start;
    r->info.end_time = end;
    assert_int_equal(s->vt->finish_run(s, &r->info, err, sizeof err), 0);
}

static char *contents(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fseek(f, 0, SEEK_END);
    return buf;
}

static void expect_text(FILE *f, const char *want)
{
    char *got = contents(f);
    if (strcmp(got, want) != 0)
        fail_msg("console output differs\n--- got\n%s--- want\n%s", got, want);
    free(got);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_plain_lines_and_final(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    lc_sink s;
    sink_new(&s, f, LC_CONSOLE_PLAIN, 0, NULL, 0);
    static const char *const tags[] = {"seed", "1", "lightc.total_steps", "100", NULL};
    crun r;
    crun_init(&r, "mnist", "baseline", tags);
    open_ok(&s, &r);
    cev t = {0};
    cev_key(&t, &r, 1, "train/loss");
    cev_key(&t, &r, 2, "epoch");
    uint32_t tg[2] = {1, 2};
    double v0[2] = {2.302585, 0};
    cev_record(&t, &r, 10, 1000.0, 2, tg, v0);
    write_ok(&s, &t);
    double v1[2] = {0.5, 1};
    cev_record(&t, &r, 20, 1001.0, 2, tg, v1); /* 10 steps in 1 s */
    write_ok(&s, &t);
    double v2 = 0.25;
    cev_record(&t, &r, 30, 1002.0, 1, tg, &v2);
    write_ok(&s, &t);
    finish_ok(&s, &r, LC_RUN_FINISHED, 999.5, 1002.5);
    expect_text(f, "mnist/baseline epoch 0 step 10/100 10% | train/loss=2.303\n"
                   "mnist/baseline epoch 1 step 20/100 20% 10.0 it/s ETA 0:08 | train/loss=0.5\n"
                   "mnist/baseline epoch 1 step 30/100 30% 10.0 it/s ETA 0:07 | train/loss=0.25\n"
                   "mnist/baseline finished: step 30, 20 steps in 0:03 (10.0 it/s) | train/loss=0.25\n");
    s.vt->close(&s);
    lc_key_table_free(&r.info.keys);
    fclose(f);
}

static void test_interval_and_total_from_tag_event(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    lc_sink s;
    sink_new(&s, f, LC_CONSOLE_PLAIN, 3600 * 1000, NULL, 0); /* an hour: only the first line */
    crun r;
    crun_init(&r, "", "run", NULL);
    open_ok(&s, &r);
    cev t = {0};
    cev_key(&t, &r, 1, "loss");
    r.kv[0] = (lc_kv_payload){.key = "lightc.total_steps", .value = "4"};
    t.ev[t.n++] = (lc_event){.run = &r.info, .kind = LC_EV_TAG, .payload = &r.kv[0]};
    for (int i = 1; i <= 4; i++) {
        uint32_t tag = 1;
        double v = 1.0 / i;
        cev_record(&t, &r, i, 50.0 + i * 2, 1, &tag, &v); /* 2 s a step */
        write_ok(&s, &t);
    }
    finish_ok(&s, &r, LC_RUN_FAILED, 0, 0);
    expect_text(f, "run step 1/4 25% | loss=1\n"
                   "run failed: step 4, 3 steps in 0:06 (2.00 s/it) | loss=0.25\n");
    s.vt->close(&s);
    lc_key_table_free(&r.info.keys);
    fclose(f);
}

static void test_chosen_keys(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    lc_sink s;
    sink_new(&s, f, LC_CONSOLE_PLAIN, 0, " val/acc ,,train/loss", 0);
    crun r;
    crun_init(&r, "e", "k", NULL);
    open_ok(&s, &r);
    cev t = {0};
    cev_key(&t, &r, 1, "train/loss");
    cev_key(&t, &r, 2, "lr");
    cev_key(&t, &r, 3, "val/acc");
    uint32_t tg[2] = {1, 2};
    double v[2] = {0.125, 0.001};
    cev_record(&t, &r, 5, 10.0, 2, tg, v);
    write_ok(&s, &t);
    uint32_t tv = 3;
    double acc = 0.9123456;
    cev_record(&t, &r, 5, 10.0, 1, &tv, &acc);
    write_ok(&s, &t);
    finish_ok(&s, &r, LC_RUN_KILLED, 0, 0);
    expect_text(f, "e/k step 5 | train/loss=0.125\n"
                   "e/k step 5 | val/acc=0.9123 train/loss=0.125\n"
                   "e/k killed: step 5, 0 steps in 0:00 | val/acc=0.9123 train/loss=0.125\n");
    s.vt->close(&s);
    lc_key_table_free(&r.info.keys);
    fclose(f);
}

static void test_six_most_recent_keys(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    lc_sink s;
    sink_new(&s, f, LC_CONSOLE_PLAIN, 0, NULL, 0);
    crun r;
    crun_init(&r, "e", "r", NULL);
    open_ok(&s, &r);
    cev t = {0};
    static const char *names[8] = {"h", "g", "f", "e", "d", "c", "b", "a"};
    uint32_t tg[8];
    double v[8];
    for (uint32_t i = 0; i < 8; i++) {
        cev_key(&t, &r, i + 1, names[i]);
        tg[i] = i + 1;
        v[i] = i;
    }
    cev_record(&t, &r, 1, 1.0, 8, tg, v); /* h..a: the last six are f..a */
    write_ok(&s, &t);
    uint32_t again = 1;
    double hv = 100000.0;
    cev_record(&t, &r, 2, 1.0, 1, &again, &hv); /* h is recent again, f (the oldest) drops out */
    write_ok(&s, &t);
    char *got = contents(f);
    assert_string_equal(got, "e/r step 1 | a=7 b=6 c=5 d=4 e=3 f=2\n"
                             "e/r step 2 | a=7 b=6 c=5 d=4 e=3 h=1e+5\n");
    free(got);
    s.vt->close(&s); /* runs left open are freed */
    lc_key_table_free(&r.info.keys);
    fclose(f);
}

static void test_tty_redraws(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    lc_sink s;
    sink_new(&s, f, LC_CONSOLE_TTY, 0, NULL, 30);
    crun r;
    crun_init(&r, "experiment", "a-rather-long-run-name", NULL);
    open_ok(&s, &r);
    cev t = {0};
    cev_key(&t, &r, 1, "loss");
    for (int i = 0; i < 3; i++) {
        uint32_t tag = 1;
        double v = i;
        cev_record(&t, &r, i, 5.0 + i, 1, &tag, &v);
        write_ok(&s, &t);
    }
    finish_ok(&s, &r, LC_RUN_FINISHED, 0, 0);
    char *got = contents(f);
    /* three redraws cut to 29 columns, then the full final line */
    const char *want = "\rexperiment/a-rather-long-run-\x1b[K"
                       "\rexperiment/a-rather-long-run-\x1b[K"
                       "\rexperiment/a-rather-long-run-\x1b[K"
                       "\rexperiment/a-rather-long-run-name finished: step 2, 2 steps in 0:02 (1.0 it/s)"
                       " | loss=2\x1b[K\n";
    if (strcmp(got, want) != 0)
        fail_msg("tty output differs:\n%s", got);
    free(got);
    s.vt->close(&s);
    lc_key_table_free(&r.info.keys);
    fclose(f);
}

static void test_off_and_env(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    lc_sink s;
    setenv("LIGHTC_CONSOLE", "off", 1);
    sink_new(&s, f, LC_CONSOLE_AUTO, 0, NULL, 0);
    crun r;
    crun_init(&r, "e", "off", NULL);
    open_ok(&s, &r);
    cev t = {0};
    cev_key(&t, &r, 1, "loss");
    uint32_t tag = 1;
    double v = 1;
    cev_record(&t, &r, 0, 1.0, 1, &tag, &v);
    write_ok(&s, &t);
    finish_ok(&s, &r, LC_RUN_FINISHED, 0, 0);
    s.vt->close(&s);
    assert_int_equal(ftell(f), 0);
    lc_key_table_free(&r.info.keys);

    setenv("LIGHTC_CONSOLE", "plain", 1);
    sink_new(&s, f, LC_CONSOLE_AUTO, 0, NULL, 0); /* a file, but forced plain anyway */
    crun_init(&r, "e", "p", NULL);
    open_ok(&s, &r);
    finish_ok(&s, &r, LC_RUN_FINISHED, 0, 0);
    s.vt->close(&s);
    expect_text(f, "e/p finished: no metrics logged\n");

    setenv("LIGHTC_CONSOLE", "fancy", 1);
    lc_sink_config cfg = {0};
    lc_console_options o = {.out = f, .mode = LC_CONSOLE_AUTO, .interval_ms = -1};
    char err[LC_ERRLEN] = "";
    assert_int_equal(lc_sink_console_new_opts(&cfg, &o, &s, err, sizeof err), LC_ERR_INVALID);
    assert_non_null(strstr(err, "LIGHTC_CONSOLE=fancy"));
    assert_int_equal(lc_sink_console_new(&cfg, &s, err, sizeof err), LC_ERR_INVALID);
    unsetenv("LIGHTC_CONSOLE");
    fclose(f);
}

int main(void)
{
    unsetenv("LIGHTC_CONSOLE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines_and_final),
        cmocka_unit_test(test_interval_and_total_from_tag_event),
        cmocka_unit_test(test_chosen_keys),
        cmocka_unit_test(test_six_most_recent_keys),
        cmocka_unit_test(test_tty_redraws),
        cmocka_unit_test(test_off_and_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
