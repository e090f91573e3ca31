/*
 * tests/test_hub_stress.c — 1,000,000 scalars from 4 threads into one run
 * with sqlite+csv: every one lands exactly once in the index and in
 * metrics.csv. (Acceptance test of the logger hub.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/hub.h"
#include "testutil.h"

#define THREADS 4
#define PER_THREAD 250000

typedef struct {
    lc_run *run;
    int id;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    char key[32];
    snprintf(key, sizeof key, "worker%d/value", a->id);
    lc_tag t = lc_run_tag(a->run, key);
    for (int i = 0; i < PER_THREAD; i++)
        if (lc_run_log_scalar(a->run, t, (double)i * THREADS + a->id, i) != LC_OK)
            return (void *)1;
    return NULL;
}

static void test_million_scalars_four_threads(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-stress");
    lc_hub_options o = {.root = root, .loggers = "sqlite,csv"};
    lc_hub *hub;
    assert_int_equal(lc_hub_open(&hub, &o), LC_OK);
    lc_run_options ro = {.experiment = "stress", .name = "million", .resume_step = -1};
    lc_run *run;
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){run, i};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    lc_run_counters c;
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    (void)c;
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    const char *sql = "select count(*), count(distinct key || ':' || step), sum(value), "
                      "sum(value = step * 4 + cast(substr(key, 7, 1) as integer)) from metrics";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const int64_t total = (int64_t)THREADS * PER_THREAD;
    assert_int_equal(sqlite3_column_int64(st, 0), total);
    assert_int_equal(sqlite3_column_int64(st, 1), total);
    /* values are 0..total-1, each once */
    assert_true(sqlite3_column_double(st, 2) == (double)total * (total - 1) / 2);
    assert_int_equal(sqlite3_column_int64(st, 3), total);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* metrics.csv: header + one row per scalar (each its own record) */
    snprintf(path, sizeof path, "%s/stress/million/metrics.csv", root);
    assert_int_equal(tu_count_lines(path), total + 1);
    /* and every value appears once: sum the non-empty value cells */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    double sum = 0;
    long rows = 0;
    while (fgets(line, sizeof line, f)) {
        /* columns: step, worker0/value, ..., worker3/value (sorted) */
        char *p = line;
        int col = 0, cells = 0;
        char *tok;
        while ((tok = strsep(&p, ",\n")) != NULL && col < 5) {
            if (col > 0 && *tok) {
                sum += strtod(tok, NULL);
                cells++;
            }
            col++;
        }
        assert_int_equal(cells, 1);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, total);
    assert_true(sum == (double)total * (total - 1) / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_scalars_four_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
