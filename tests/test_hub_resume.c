/*
 * tests/test_hub_resume.c — a run continued through the public hub API
 * (issue 7, defects 1 and 2), with the real SQLite, TensorBoard and CSV
 * sinks:
 *
 *   - starting over (resume, discard_after, resume_step < 0): no point, row,
 *     param or events file of the earlier attempt stays; the points removed
 *     are counted in lc_run_counters.discarded and in the index's counters;
 *   - resume repair: TensorBoard files and a metrics.csv that lost points
 *     (a crash before they were written) get back, from the index, the
 *     points up to the resume step, each once; counted in
 *     lc_run_counters.repaired.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lightc/hub.h"
#include "tensorboard/tb_resume.h"
#include "tensorboard/tfrecord.h"
#include "testutil.h"

static lc_hub *open_hub(const char *root)
{
    lc_hub_options o = {.root = root, .loggers = "sqlite,tensorboard,csv"};
    lc_hub *hub = NULL;
    if (lc_hub_open(&hub, &o) != LC_OK)
        fail_msg("lc_hub_open: %s", lc_errmsg());
    return hub;
}

static lc_run *start(lc_hub *hub, int resume, int discard_after, int64_t resume_step)
{
    lc_run_options ro = {.experiment = "e", .name = "r", .resume = resume,
                         .discard_after = discard_after, .resume_step = resume_step};
    lc_run *run = NULL;
    if (lc_run_start(hub, &ro, &run) != LC_OK)
        fail_msg("lc_run_start: %s", lc_errmsg());
    return run;
}

static void log_steps(lc_run *run, int64_t from, int64_t to, double base)
{
    lc_tag loss = lc_run_tag(run, "loss");
    for (int64_t s = from; s < to; s++)
        assert_int_equal(lc_run_log_scalar(run, loss, base + (double)s, s), LC_OK);
}

static int64_t q_int(const char *root, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Names of the events files in dir; returns how many (first one in out). */
static int events_files(const char *dir, char out[4096])
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "tfevents") && n++ == 0)
            snprintf(out, 4096, "%.2000s/%.1000s", dir, e->d_name);
    closedir(d);
    return n;
}

static void test_start_over(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-start-over");
    lc_hub *hub = open_hub(root);
    lc_run *run = start(hub, 0, 0, -1);
    lc_run_log_param_str(run, "old_param", "x");
    log_steps(run, 0, 10, 0.0);
    assert_int_equal(lc_run_finish(run, LC_RUN_KILLED), LC_OK);

    run = start(hub, 1, 1, -1);
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    assert_int_equal(c.discarded, 10);
    log_steps(run, 0, 3, 100.0);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    lc_hub_close(hub, 0);

    assert_int_equal(q_int(root, "SELECT count(*) FROM metrics"), 3);
    assert_int_equal(q_int(root, "SELECT min(value) FROM metrics"), 100);
    assert_int_equal(q_int(root, "SELECT count(*) FROM params WHERE key = 'old_param'"), 0);
    assert_int_equal(q_int(root, "SELECT value FROM counter WHERE name = 'discarded'"), 10);
    char dir[2048], ev[4096], csv[4096];
    snprintf(dir, sizeof dir, "%.2000s/e/r", root);
    snprintf(csv, sizeof csv, "%s/metrics.csv", dir);
    assert_int_equal(tu_count_lines(csv), 1 + 3);
    assert_int_equal(events_files(dir, ev), 1);
    lc_tb_point_set set;
    memset(&set, 0, sizeof set);
    char err[256];
    assert_int_equal(lc_tb_resume_points(dir, 100, &set, err, sizeof err), 0);
    assert_int_equal(set.n, 3);
    lc_tb_point_set_free(&set);
}

static void test_repair_tensorboard_and_csv(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-repair");
    lc_hub *hub = open_hub(root);
    lc_run *run = start(hub, 0, 0, -1);
    log_steps(run, 0, 10, 0.0);
    assert_int_equal(lc_run_finish(run, LC_RUN_KILLED), LC_OK);
    lc_hub_close(hub, 0);

    /* as if the process had died before TensorBoard's buffer was written:
       the file keeps its first record and the points of steps 0..1 */
    char dir[2048], ev[4096];
    snprintf(dir, sizeof dir, "%.2000s/e/r", root);
    assert_int_equal(events_files(dir, ev), 1);
    size_t len;
    char *data = tu_read_file(ev, &len);
    assert_non_null(data);
    size_t off = 0;
    const uint8_t *p;
    size_t plen;
    for (int i = 0; i < 3; i++) /* file version, step 0, step 1 */
        assert_int_equal(lc_tfr_next((const uint8_t *)data, len, &off, &p, &plen), LC_TFR_OK);
    free(data);
    assert_int_equal(truncate(ev, (off_t)off), 0);
    /* metrics.csv keeps its header and the rows of steps 0..2 */
    char csv[4096];
    snprintf(csv, sizeof csv, "%.2000s/metrics.csv", dir);
    data = tu_read_file(csv, &len);
    assert_non_null(data);
    char *cut = data;
    for (int i = 0; i < 4; i++)
        cut = strchr(cut, '\n') + 1;
    assert_int_equal(truncate(csv, (off_t)(cut - data)), 0);
    free(data);

    hub = open_hub(root);
    run = start(hub, 1, 1, 5); /* a checkpoint covering steps 0..5 */
    lc_run_counters c;
    lc_run_get_counters(run, &c);
    assert_int_equal(c.repaired, 4 + 3); /* tensorboard: steps 2..5, csv: 3..5 */
    assert_int_equal(c.discarded, 4); /* steps 6..9, logged again next */
    log_steps(run, 6, 8, 0.0);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    lc_hub_close(hub, 0);

    lc_tb_point_set set;
    memset(&set, 0, sizeof set);
    char err[256];
    assert_int_equal(lc_tb_resume_points(dir, 100, &set, err, sizeof err), 0);
    assert_int_equal(set.n, 8); /* steps 0..7, each once */
    for (int64_t i = 0; i < 8; i++)
        assert_true(lc_tb_point_set_has(&set, "loss", i));
    lc_tb_point_set_free(&set);
    assert_int_equal(q_int(root, "SELECT value FROM counter WHERE name = 'repaired'"), 7);
    char *text = tu_read_file(csv, &len);
    assert_non_null(text);
    assert_string_equal(text, "loss,step\n0.0,0\n1.0,1\n2.0,2\n3.0,3\n4.0,4\n5.0,5\n6.0,6\n7.0,7\n");
    free(text);

    /* a second resume finds nothing missing */
    hub = open_hub(root);
    run = start(hub, 1, 1, 7);
    lc_run_get_counters(run, &c);
    assert_int_equal(c.repaired, 0);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    lc_hub_close(hub, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_over),
        cmocka_unit_test(test_repair_tensorboard_and_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
