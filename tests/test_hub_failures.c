/*
 * tests/test_hub_failures.c — the hub when the world fails: a full disk in
 * the middle of a run (simulated with RLIMIT_FSIZE, which makes writes fail
 * with EFBIG exactly like ENOSPC does), a locked index (LC_ERR_BUSY, the
 * exact code), and lc_hub_close with a timeout while a sink is stuck on
 * that lock. Expected: clear errors, exact codes, counted losses, a
 * degraded run, no crash, no corrupt file, nothing committed lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/hub_internal.h"
#include "lightc/hub.h"
#include "testutil.h"

static void test_full_disk_mid_run(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("fail-disk");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        lc_hub_options o = {.root = root, .loggers = "sqlite,csv", .sink_retry_ms = 100};
        lc_hub *hub;
        if (lc_hub_open(&hub, &o) != LC_OK)
            _exit(10);
        lc_run_options ro = {.experiment = "e", .name = "full"};
        lc_run *run;
        if (lc_run_start(hub, &ro, &run) != LC_OK)
            _exit(11);
        /* from here on, no file may grow past 256 KiB */
        struct rlimit rl = {256 * 1024, 256 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        lc_tag t[4] = {lc_run_tag(run, "a"), lc_run_tag(run, "b"), lc_run_tag(run, "c"), lc_run_tag(run, "d")};
        for (int step = 0; step < 100000; step++) {
            double v[4] = {step, step * 0.5, step * 0.25, 1.0 / (step + 1)};
            if (lc_run_log_scalars(run, step, 4, t, v) != LC_OK)
                _exit(12);
        }
        lc_hub_flush(hub, 0);
        lc_run_counters c;
        lc_run_get_counters(run, &c);
        if (!c.degraded || c.sink_errors == 0)
            _exit(13);
        /* finishing may fail too (the disk is still full): it must say so */
        if (lc_run_finish(run, LC_RUN_FINISHED) != LC_OK && strlen(lc_errmsg()) < 10)
            _exit(14);
        lc_hub_close(hub, 0);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* the index is intact and holds a prefix of complete batches */
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "pragma integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    /* records are all-or-nothing: every step present has its 4 keys */
    assert_int_equal(sqlite3_prepare_v2(db, "select count(*) from (select step from metrics group by step having count(*) != 4)", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* metrics.csv: only whole rows (5 columns, newline-terminated) */
    snprintf(path, sizeof path, "%s/e/full/metrics.csv", root);
    size_t len = 0;
    char *csv = tu_read_file(path, &len);
    assert_non_null(csv);
    assert_true(len > 0 && csv[len - 1] == '\n');
    long rows = 0;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        int commas = 0;
        for (char *p = line; *p; p++)
            commas += *p == ',';
        assert_int_equal(commas, 4);
    }
    assert_true(rows > 1 && rows < 100001); /* some landed, not all */
    free(csv);
}

static void test_locked_index(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("fail-lock");
    setenv("LIGHTC_BUSY_TIMEOUT_MS", "300", 1);
    lc_hub_options o = {.root = root, .loggers = "sqlite,csv"};
    lc_hub *hub;
    assert_int_equal(lc_hub_open(&hub, &o), LC_OK);
    lc_run_options ro = {.experiment = "e", .name = "first"};
    lc_run *run;
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    lc_run_finish(run, LC_RUN_FINISHED);

    /* another process-like connection holds the write lock */
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *locker;
    assert_int_equal(sqlite3_open(path, &locker), SQLITE_OK);
    assert_int_equal(sqlite3_exec(locker, "begin exclusive", NULL, NULL, NULL), SQLITE_OK);
    ro.name = "blocked";
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_ERR_BUSY);
    assert_non_null(strstr(lc_errmsg(), "locked"));
    assert_int_equal(sqlite3_exec(locker, "commit", NULL, NULL, NULL), SQLITE_OK);

    /* a finish that cannot reach the index says so with the same code */
    ro.name = "unfinished";
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    assert_int_equal(sqlite3_exec(locker, "begin exclusive", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_ERR_BUSY);
    assert_non_null(strstr(lc_errmsg(), "sqlite"));
    assert_int_equal(sqlite3_exec(locker, "commit", NULL, NULL, NULL), SQLITE_OK);
    ro.name = "blocked";

    /* once released, the same name starts (nothing of the failed try stayed) */
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    /* a lock held for less than the busy timeout only delays the batch */
    setenv("LIGHTC_BUSY_TIMEOUT_MS", "5000", 1);
    assert_int_equal(sqlite3_exec(locker, "begin exclusive", NULL, NULL, NULL), SQLITE_OK);
    lc_tag t = lc_run_tag(run, "x");
    for (int i = 0; i < 1000; i++)
        lc_run_log_scalar(run, t, i, i);
    usleep(300 * 1000);
    assert_int_equal(sqlite3_exec(locker, "commit", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    lc_hub_close(hub, 0);
    unsetenv("LIGHTC_BUSY_TIMEOUT_MS");
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(locker, "select count(*) from metrics m join runs r on r.run_id = m.run_id where r.name='blocked'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1000);
    sqlite3_finalize(st);
    sqlite3_close(locker);
}

/* Wait (bounded, not timed) until the dispatcher is inside sink i. */
static void wait_in_sink(lc_hub *hub, int i)
{
    for (int k = 0; k < 60000 && atomic_load(&hub->busy_sink) != i + 1; k++)
        usleep(1000);
    assert_int_equal(atomic_load(&hub->busy_sink), i + 1);
}

/* lc_hub_close(hub, timeout) while the index sink is stuck on a lock: it
 * returns LC_ERR_TIMEOUT in time, naming the unfinished run and the stuck
 * sink; the dispatcher then finishes the work in the background and frees
 * the hub, and nothing logged is lost. */
static void test_close_timeout(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("fail-close");
    setenv("LIGHTC_BUSY_TIMEOUT_MS", "60000", 1); /* the sink waits, it does not give up */
    lc_hub_options o = {.root = root, .loggers = "sqlite,csv"};
    lc_hub *hub;
    assert_int_equal(lc_hub_open(&hub, &o), LC_OK);
    lc_run_options ro = {.experiment = "e", .name = "slow"};
    lc_run *run;
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    lc_tag t = lc_run_tag(run, "x");
    for (int i = 0; i < 10; i++)
        assert_int_equal(lc_run_log_scalar(run, t, i, i), LC_OK);
    assert_int_equal(lc_hub_flush(hub, 0), LC_OK);

    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *locker;
    assert_int_equal(sqlite3_open(path, &locker), SQLITE_OK);
    assert_int_equal(sqlite3_exec(locker, "begin exclusive", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 10; i < 20; i++)
        assert_int_equal(lc_run_log_scalar(run, t, i, i), LC_OK);
    wait_in_sink(hub, 0); /* the index sink, stuck in BEGIN */

    assert_int_equal(lc_hub_close(hub, 200), LC_ERR_TIMEOUT);
    const char *msg = lc_errmsg();
    assert_non_null(strstr(msg, "timed out after 200 ms"));
    assert_non_null(strstr(msg, "run e/slow"));
    assert_non_null(strstr(msg, "sqlite sink's write_batch"));
    assert_int_equal(lc_hub_orphans(), 1); /* the hub is the dispatcher's now */

    assert_int_equal(sqlite3_exec(locker, "commit", NULL, NULL, NULL), SQLITE_OK);
    for (int k = 0; k < 60000 && lc_hub_orphans() > 0; k++)
        usleep(1000);
    assert_int_equal(lc_hub_orphans(), 0);
    unsetenv("LIGHTC_BUSY_TIMEOUT_MS");

    /* everything reached the index and the run was finished */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(locker, "select count(*), max(r.status) from metrics m join runs r"
                                                " on r.run_id = m.run_id where r.name = 'slow'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 20);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "finished");
    sqlite3_finalize(st);
    sqlite3_close(locker);
    snprintf(path, sizeof path, "%s/e/slow/metrics.csv", root);
    assert_int_equal(tu_count_lines(path), 21);
}

/* A close that finishes in time returns LC_OK, with a timeout as with 0. */
static void test_close_in_time(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("fail-close-ok");
    lc_hub_options o = {.root = root, .loggers = "sqlite,csv"};
    lc_hub *hub;
    assert_int_equal(lc_hub_open(&hub, &o), LC_OK);
    lc_run_options ro = {.experiment = "e", .name = "quick"};
    lc_run *run;
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    lc_tag t = lc_run_tag(run, "x");
    for (int i = 0; i < 100; i++)
        assert_int_equal(lc_run_log_scalar(run, t, i, i), LC_OK);
    assert_int_equal(lc_hub_close(hub, 60000), LC_OK); /* finishes the live run */
    assert_int_equal(lc_hub_orphans(), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/e/quick/metrics.csv", root);
    assert_int_equal(tu_count_lines(path), 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_disk_mid_run),
        cmocka_unit_test(test_locked_index),
        cmocka_unit_test(test_close_timeout),
        cmocka_unit_test(test_close_in_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
