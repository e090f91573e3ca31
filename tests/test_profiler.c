/*
 * tests/test_profiler.c — the profiler's core (trainer/profiler.c,
 * profiler_trace.c): aggregation per name, nesting and self time, what each
 * mode keeps, takes, stages, threads, the report's shape and file, the
 * trace file (escaped, every span an event) and bad input; then the
 * trainer with each profiler on the fixture's tiny task: the same weights
 * as without one, the files in the run dir, the actions and kernel spans,
 * the perf/ metrics on logging steps. No timing assertions: only relations
 * that hold whatever the clock says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "profiler.h"
#include "testutil.h"
#include "trainer_fixture.h"

static const lc_prof_row *find(const lc_prof_row *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].name, name) == 0)
            return &r[i];
    return NULL;
}

static void test_parse(void **state)
{
    (void)state;
    lc_prof_mode m;
    assert_int_equal(lc_prof_mode_parse("simple", &m), LC_OK);
    assert_int_equal(m, LC_PROF_SIMPLE);
    assert_int_equal(lc_prof_mode_parse("advanced", &m), LC_OK);
    assert_int_equal(m, LC_PROF_ADVANCED);
    assert_int_equal(lc_prof_mode_parse("trace", &m), LC_OK);
    assert_int_equal(m, LC_PROF_TRACE);
    assert_int_equal(lc_prof_mode_parse(NULL, &m), LC_OK);
    assert_int_equal(m, LC_PROF_OFF);
    assert_int_equal(lc_prof_mode_parse("none", &m), LC_OK);
    assert_int_equal(m, LC_PROF_OFF);
    assert_int_equal(lc_prof_mode_parse("pytorch", &m), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "pytorch"));
    lc_prof *p = NULL;
    assert_int_equal(lc_prof_create(&p, LC_PROF_OFF), LC_ERR_INVALID);
    assert_null(p);
    /* NULL profiler: every call is a no-op */
    lc_prof_begin(NULL, "x", LC_PROF_ACTION);
    lc_prof_end(NULL);
    assert_true(lc_prof_take(NULL, "x") == 0);
    assert_int_equal(lc_prof_report(NULL, "fit", NULL, NULL), LC_OK);
    lc_prof_free(NULL);
}

static void test_aggregate_and_self(void **state)
{
    (void)state;
    lc_prof *p;
    assert_int_equal(lc_prof_create(&p, LC_PROF_ADVANCED), LC_OK);
    for (int i = 0; i < 5; i++) {
        lc_prof_begin(p, "outer", LC_PROF_ACTION);
        for (int j = 0; j < 3; j++) {
            lc_prof_begin(p, "inner", LC_PROF_FUNC);
            lc_prof_begin(p, "leaf", LC_PROF_FUNC);
            lc_prof_end(p);
            lc_prof_end(p);
        }
        lc_prof_end(p);
    }
    lc_prof_end(p); /* unbalanced end: ignored */
    lc_prof_row *r;
    size_t n;
    double stage_s;
    assert_int_equal(lc_prof_rows(p, &r, &n, &stage_s), LC_OK);
    assert_int_equal(n, 3);
    const lc_prof_row *o = find(r, n, "outer"), *in = find(r, n, "inner"),
                      *lf = find(r, n, "leaf");
    assert_non_null(o);
    assert_non_null(in);
    assert_non_null(lf);
    assert_int_equal(o->calls, 5);
    assert_int_equal(in->calls, 15);
    assert_int_equal(lf->calls, 15);
    assert_int_equal(o->kind, LC_PROF_ACTION);
    assert_int_equal(in->kind, LC_PROF_FUNC);
    /* self = total minus the direct children's total (exact in ns) */
    assert_true(fabs(o->self_s - (o->total_s - in->total_s)) < 1e-8);
    assert_true(fabs(in->self_s - (in->total_s - lf->total_s)) < 1e-8);
    assert_true(fabs(lf->self_s - lf->total_s) < 1e-12);
    assert_true(o->total_s >= in->total_s && in->total_s >= lf->total_s);
    assert_true(o->max_s <= o->total_s && o->max_s * 5 >= o->total_s - 1e-12);
    assert_true(stage_s >= o->total_s);
    /* sorted by total time, largest first */
    for (size_t i = 1; i < n; i++)
        assert_true(r[i - 1].total_s >= r[i].total_s);
    free(r);

    /* take: the sum since the last take, then 0 */
    assert_true(lc_prof_take(p, "outer") > 0);
    assert_true(lc_prof_take(p, "outer") == 0);
    assert_true(lc_prof_take(p, "nothing") == 0);

    /* a new stage starts empty; a span open across the start is not its */
    lc_prof_begin(p, "across", LC_PROF_ACTION);
    lc_prof_stage_start(p);
    lc_prof_end(p);
    lc_prof_begin(p, "after", LC_PROF_ACTION);
    lc_prof_end(p);
    assert_int_equal(lc_prof_rows(p, &r, &n, NULL), LC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].name, "after");
    free(r);
    lc_prof_free(p);
}

static void test_simple_drops_functions(void **state)
{
    (void)state;
    lc_prof *p;
    assert_int_equal(lc_prof_create(&p, LC_PROF_SIMPLE), LC_OK);
    lc_prof_begin(p, "action", LC_PROF_ACTION);
    lc_prof_begin(p, "func", LC_PROF_FUNC);
    lc_prof_begin(p, "nested action", LC_PROF_ACTION);
    lc_prof_end(p);
    lc_prof_end(p);
    lc_prof_end(p);
    lc_prof_row *r;
    size_t n;
    assert_int_equal(lc_prof_rows(p, &r, &n, NULL), LC_OK);
    assert_int_equal(n, 2);
    const lc_prof_row *a = find(r, n, "action"), *b = find(r, n, "nested action");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(find(r, n, "func"));
    /* the dropped function's time stays the action's own; the action
       nested in it is still the outer action's child */
    assert_true(fabs(a->self_s - (a->total_s - b->total_s)) < 1e-8);
    free(r);
    lc_prof_free(p);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    lc_prof *p;
    assert_int_equal(lc_prof_create(&p, LC_PROF_TRACE), LC_OK);
    for (int i = 0; i < 100; i++)
        lc_prof_begin(p, "deep", LC_PROF_FUNC);
    for (int i = 0; i < 100; i++)
        lc_prof_end(p);
    lc_prof_begin(p, "after", LC_PROF_ACTION);
    lc_prof_end(p);
    lc_prof_row *r;
    size_t n;
    assert_int_equal(lc_prof_rows(p, &r, &n, NULL), LC_OK);
    const lc_prof_row *d = find(r, n, "deep"), *a = find(r, n, "after");
    assert_non_null(d);
    assert_non_null(a);
    assert_int_equal(d->calls, 64); /* deeper spans are not kept */
    assert_int_equal(a->calls, 1);  /* the stack is balanced again */
    free(r);
    lc_prof_free(p);
}

static void *thread_main(void *arg)
{
    lc_prof *p = arg;
    lc_prof_thread_name(p, "worker");
    for (int i = 0; i < 100; i++) {
        lc_prof_begin(p, "work", LC_PROF_FUNC);
        lc_prof_end(p);
    }
    return NULL;
}

static void test_threads_and_trace(void **state)
{
    (void)state;
    lc_prof *p;
    assert_int_equal(lc_prof_create(&p, LC_PROF_TRACE), LC_OK);
    lc_prof_thread_name(p, "main \"thread\"");
    lc_prof_begin(p, "quote\"back\\slash\ttab", LC_PROF_ACTION);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, thread_main, p), 0);
    pthread_join(th, NULL);
    lc_prof_end(p);

    lc_prof_snapshot s;
    lc_prof_lock(p, &s);
    assert_int_equal(s.nevents, 101);
    assert_int_equal(s.nthreads, 2);
    assert_string_equal(s.threads[1], "worker");
    size_t on_worker = 0;
    for (size_t i = 0; i < s.nevents; i++)
        on_worker += s.events[i].tid == 1;
    assert_int_equal(on_worker, 100);
    lc_prof_unlock(p);

    const char *dir = tu_tmpdir("profiler");
    char path[1024];
    snprintf(path, sizeof path, "%s/trace.json", dir);
    assert_int_equal(lc_prof_write_trace(p, path), LC_OK);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_true(strncmp(text, "{\"traceEvents\":[", 16) == 0);
    assert_non_null(strstr(text, "\"quote\\\"back\\\\slash\\ttab\""));
    assert_non_null(strstr(text, "\"main \\\"thread\\\"\""));
    assert_non_null(strstr(text, "\"ph\":\"X\""));
    assert_non_null(strstr(text, "\"cat\":\"function\""));
    free(text);

    /* a report to a directory that does not exist fails with a message */
    snprintf(path, sizeof path, "%s/missing/dir", dir);
    assert_int_equal(lc_prof_report(p, "fit", path, NULL), LC_ERR_IO);
    assert_non_null(strstr(lc_errmsg(), "fit-profile.txt"));
    lc_prof_free(p);
}

static void test_report_shape(void **state)
{
    (void)state;
    lc_prof *p;
    assert_int_equal(lc_prof_create(&p, LC_PROF_ADVANCED), LC_OK);
    lc_prof_begin(p, "run_training_batch", LC_PROF_ACTION);
    lc_prof_begin(p, "lc_optim_step", LC_PROF_FUNC);
    lc_prof_end(p);
    lc_prof_end(p);
    const char *dir = tu_tmpdir("profiler-report");
    assert_int_equal(lc_prof_report(p, "validate", dir, NULL), LC_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/validate-profile.txt", dir);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "VALIDATE Profiler Report"));
    assert_non_null(strstr(text, "Action"));
    assert_non_null(strstr(text, "Mean duration (s)"));
    assert_non_null(strstr(text, "Num calls"));
    assert_non_null(strstr(text, "Total time (s)"));
    assert_non_null(strstr(text, "Percentage %"));
    assert_non_null(strstr(text, "|  Total"));
    assert_non_null(strstr(text, "|  run_training_batch"));
    /* advanced: the function table, with the function rows */
    assert_non_null(strstr(text, "ncalls"));
    assert_non_null(strstr(text, "tottime"));
    assert_non_null(strstr(text, "lc_optim_step()"));
    /* the simple table has no function rows */
    assert_null(strstr(text, "|  lc_optim_step"));
    free(text);
    lc_prof_free(p);
}

/* Fit the fixture's task with profiler (NULL: off); the first weights into
 * *w (malloc'd), the run's directory into dir. */
static void fit_fixture(const char *profiler, const char *root, float **w, size_t *n, char *dir,
                        size_t cap)
{
    lc_datamodule *dm = tf_data(64, 16, 0, 8);
    tf_module tm;
    memset(&tm, 0, sizeof tm);
    tf_module_init(&tm, 5);
    lc_trainer_config c;
    tf_config(&c, root);
    c.log_every_n_steps = 4;
    c.enable_checkpointing = 0;
    c.profiler = profiler;
    c.name = profiler ? profiler : "off";
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    assert_int_equal(lc_trainer_fit(t, &tm.base, dm, NULL), LC_OK);
    snprintf(dir, cap, "%s", lc_trainer_log_dir(t));
    lc_trainer_free(t);
    lc_params *ps = tm.base.params;
    *n = ps->items[0].count;
    *w = malloc(*n * sizeof(float));
    memcpy(*w, ps->items[0].data, *n * sizeof(float));
    tf_module_free(&tm);
    lc_datamodule_free(dm);
}

static void test_trainer_profilers(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("profiler-trainer");
    char dir[4096];
    float *w0, *w;
    size_t n0, n;
    fit_fixture(NULL, root, &w0, &n0, dir, sizeof dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/fit-profile.txt", dir);
    assert_null(tu_read_file(path, NULL)); /* off: no file */
    const char *modes[] = {"simple", "advanced", "trace"};
    for (int i = 0; i < 3; i++) {
        fit_fixture(modes[i], root, &w, &n, dir, sizeof dir);
        /* the profiler changes no number */
        assert_int_equal(n, n0);
        assert_memory_equal(w, w0, n * sizeof(float));
        free(w);
        snprintf(path, sizeof path, "%s/fit-profile.txt", dir);
        char *text = tu_read_file(path, NULL);
        assert_non_null(text);
        assert_non_null(strstr(text, "FIT Profiler Report"));
        assert_non_null(strstr(text, "|  run_training_batch"));
        assert_non_null(strstr(text, "|  [Strategy]SingleDeviceStrategy.training_step"));
        assert_non_null(strstr(text, "|  [Strategy]SingleDeviceStrategy.validation_step"));
        assert_non_null(strstr(text, "|  [_TrainingEpochLoop].train_dataloader_next"));
        assert_non_null(strstr(text, "optimizer_step"));
        if (i == 0) {
            assert_null(strstr(text, "backend.linear_forward()"));
        } else {
            assert_non_null(strstr(text, "backend.linear_forward()"));
            assert_non_null(strstr(text, "backend.linear_backward()"));
            assert_non_null(strstr(text, "[Hub]sqlite.write_batch()"));
        }
        free(text);
        snprintf(path, sizeof path, "%s/trace.json", dir);
        text = tu_read_file(path, NULL);
        if (i == 2) {
            assert_non_null(text);
            assert_non_null(strstr(text, "\"hub-dispatcher\""));
            assert_non_null(strstr(text, "\"backend.linear_forward\""));
        } else {
            assert_null(text);
        }
        free(text);
    }
    free(w0);
    /* perf/ metrics on the logging steps (every 4th) of the profiled runs */
    int64_t steps[64];
    int k = tf_metric(root, "perf/step_ms", steps, NULL, 64);
    assert_true(k > 0);
    for (int i = 0; i < k && i < 64; i++)
        assert_int_equal(steps[i] % 4, 3);
    assert_true(tf_metric(root, "perf/data_ms", NULL, NULL, 0) == k);
    assert_true(tf_metric(root, "perf/optimizer_ms", NULL, NULL, 0) == k);
    assert_true(tf_metric(root, "perf/log_ms", NULL, NULL, 0) == k);
    assert_true(tf_metric(root, "perf/samples_per_sec", NULL, NULL, 0) == k);

    /* a bad name is refused, saying what is accepted */
    lc_trainer_config c;
    lc_trainer_config_default(&c);
    c.profiler = "pytorch";
    lc_trainer *t = NULL;
    assert_int_equal(lc_trainer_create(&t, &c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "simple, advanced or trace"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_aggregate_and_self),
        cmocka_unit_test(test_simple_drops_functions),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_threads_and_trace),
        cmocka_unit_test(test_report_shape),
        cmocka_unit_test(test_trainer_profilers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
