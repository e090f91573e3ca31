/*
 * tests/test_shipper.c — the outbox (index schema v3) and the shipper,
 * with an in-process recording backend implementing remote.h (a test
 * double for these unit tests only; the MLflow backend is tested against
 * a real server). Covered: the sequence (strictly increasing, never
 * reused: replaced points, changed params, deleted rows), order and
 * exactly-once delivery through the hub, cursor persistence across a
 * restart, transient failures and resume, failed state on an auth error,
 * lease exclusion between two processes, lease expiry and a kill -9'd
 * holder, a drain timeout leaving the run pending, and sync completing it
 * (a second sync sends nothing). No timing upper bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"
#include "index/outbox.h"
#include "lightc/hub.h"
#include "remote/registry.h"
#include "remote/shipper.h"
#include "remote/sync.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* The recording backend                                                     */

#define REC_MAX 200000

typedef struct rec_item {
    int64_t seq;
    lc_outbox_kind kind;
    char key[64];
    double value;
    int64_t step;
    lc_run_status status;
} rec_item;

static struct {
    rec_item *items;
    size_t n;
    int opens, ship_calls;
    int fail_io;              /* next ship calls fail with LC_ERR_IO */
    int fail_auth;            /* every call fails with LC_ERR_AUTH */
    int partial;              /* deliver half of each call, then LC_ERR_IO */
    size_t stop_after;        /* 0, or: deliver no more than this many in all (then IO) */
    int block;                /* ship waits on the shipper's cancel flag (a server
                                 that is down while the HTTP layer retries) */
    int remote_counter;
} rec;

static void rec_reset(void)
{
    free(rec.items);
    memset(&rec, 0, sizeof rec);
    rec.items = calloc(REC_MAX, sizeof *rec.items);
}

static lc_status rec_open_run(lc_remote *r, lc_remote_run *run)
{
    (void)r;
    rec.opens++;
    if (rec.fail_auth)
        return lc_fail(LC_ERR_AUTH, "rec: 401 Unauthorized from rec://test — set REC_TOKEN");
    if (!run->remote_id[0]) {
        snprintf(run->remote_id, sizeof run->remote_id, "remote-%d", ++rec.remote_counter);
        snprintf(run->remote_url, sizeof run->remote_url, "rec://test/runs/%s", run->remote_id);
    }
    return LC_OK;
}

static lc_status rec_ship(lc_remote *r, lc_remote_run *run, const lc_outbox_item *items, size_t n,
                          size_t *done)
{
    (void)r;
    (void)run;
    rec.ship_calls++;
    *done = 0;
    if (rec.fail_auth)
        return lc_fail(LC_ERR_AUTH, "rec: 401 Unauthorized from rec://test — set REC_TOKEN");
    if (rec.block) {
        if (lc_cancel_sleep_ms(r->cancel, 3600 * 1000))
            return lc_fail(LC_ERR_STATE, "rec: cancelled");
        return lc_fail(LC_ERR_IO, "rec: connection refused");
    }
    if (rec.fail_io > 0) {
        rec.fail_io--;
        return lc_fail(LC_ERR_IO, "rec: connection refused");
    }
    size_t take = n;
    lc_status st = LC_OK;
    if (rec.partial && n > 1) {
        take = n / 2;
        st = LC_ERR_IO;
    }
    if (rec.stop_after) {
        size_t room = rec.stop_after > rec.n ? rec.stop_after - rec.n : 0;
        if (take > room) {
            take = room;
            st = LC_ERR_IO;
        }
    }
    for (size_t i = 0; i < take && rec.n < REC_MAX; i++) {
        rec_item *it = &rec.items[rec.n++];
        it->seq = items[i].seq;
        it->kind = items[i].kind;
        snprintf(it->key, sizeof it->key, "%s", items[i].key ? items[i].key : "");
        it->value = items[i].value;
        it->step = items[i].step;
        it->status = items[i].status;
    }
    *done = take;
    return st == LC_OK ? LC_OK : lc_fail(st, "rec: connection reset");
}

static void rec_close_run(lc_remote *r, lc_remote_run *run)
{
    (void)r;
    (void)run;
}

static void rec_free(lc_remote *r)
{
    (void)r;
}

static const lc_remote_vtable rec_vt = {
    .name = "rec", .open_run = rec_open_run, .ship = rec_ship, .close_run = rec_close_run,
    .free = rec_free};

static lc_status rec_new(lc_remote *out)
{
    out->vt = &rec_vt;
    out->state = NULL;
    return LC_OK;
}

/* Every recorded item once, in strictly increasing order. */
static void rec_check_order(void)
{
    for (size_t i = 1; i < rec.n; i++)
        if (rec.items[i].seq <= rec.items[i - 1].seq)
            fail_msg("item %zu: seq %lld after %lld", i, (long long)rec.items[i].seq,
                     (long long)rec.items[i - 1].seq);
}

static size_t rec_count(lc_outbox_kind kind)
{
    size_t c = 0;
    for (size_t i = 0; i < rec.n; i++)
        c += rec.items[i].kind == kind;
    return c;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static char err[1024];

static long long q_int(const char *root, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void q_exec(const char *root, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static lc_hub *open_hub(const char *root, const char *loggers, uint32_t sync_ms)
{
    lc_hub_options o = {.root = root, .loggers = loggers, .sync_timeout_ms = sync_ms};
    lc_hub *hub = NULL;
    if (lc_hub_open(&hub, &o) != LC_OK)
        fail_msg("lc_hub_open: %s", lc_errmsg());
    return hub;
}

/* A run with params, a tag, text, an artifact, npoints points in records
 * of 4 keys, a replaced point and a changed param. */
static lc_run *log_run(lc_hub *hub, const char *name, int npoints, char *uuid)
{
    lc_run_options ro = {.experiment = "ship", .name = name};
    lc_run *run = NULL;
    if (lc_run_start(hub, &ro, &run) != LC_OK)
        fail_msg("lc_run_start: %s", lc_errmsg());
    snprintf(uuid, 33, "%s", lc_run_id(run));
    assert_int_equal(lc_run_log_param_double(run, "lr", 0.1), LC_OK);
    assert_int_equal(lc_run_log_param_str(run, "optimizer", "adam"), LC_OK);
    assert_int_equal(lc_run_set_tag(run, "team", "a"), LC_OK);
    static const char *keys[] = {"train/loss", "train/acc", "lr-adam", "epoch"};
    lc_tag tags[4];
    for (int k = 0; k < 4; k++)
        tags[k] = lc_run_tag(run, keys[k]);
    for (int i = 0; i < npoints / 4; i++) {
        double v[4] = {1.0 / (i + 1), i * 0.001, 0.1, (double)(i / 100)};
        if (i == 7)
            v[0] = NAN;
        assert_int_equal(lc_run_log_scalars(run, i, 4, tags, v), LC_OK);
    }
    assert_int_equal(lc_run_log_text(run, "notes", "hello", 0), LC_OK);
    /* replaced: a new value for (train/loss, 0) */
    assert_int_equal(lc_run_log_metric(run, "train/loss", 42.0, 0), LC_OK);
    /* changed param */
    assert_int_equal(lc_run_log_param_double(run, "lr", 0.2), LC_OK);
    return run;
}

/* ------------------------------------------------------------------------ */
/* The sequence                                                              */

static void test_sequence_never_reused(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("outbox-seq");
    lc_hub *hub = open_hub(root, "sqlite", 0);
    char uuid[33];
    lc_run *run = log_run(hub, "seq", 400, uuid);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    lc_outbox *ob;
    assert_int_equal(lc_outbox_open(root, &ob, err, sizeof err), LC_OK);
    lc_outbox_run r;
    assert_int_equal(lc_outbox_load(ob, uuid, "rec", &r, err, sizeof err), LC_OK);
    assert_true(r.ended);
    assert_int_equal(r.has_delivery, 0);
    const lc_outbox_item *it;
    size_t n;
    /* read in small chunks: the same as one big read */
    int64_t cur = 0, last = 0, end_seq = 0, loss0_seq = 0, lr_seq = 0;
    size_t total = 0, params = 0, ends = 0;
    for (;;) {
        assert_int_equal(lc_outbox_read(ob, r.row, cur, 37, &it, &n, err, sizeof err), LC_OK);
        if (!n)
            break;
        for (size_t i = 0; i < n; i++) {
            assert_true(it[i].seq > last);
            last = it[i].seq;
            if (it[i].kind == LC_OB_PARAM) {
                params++;
                if (strcmp(it[i].key, "lr") == 0) {
                    lr_seq = it[i].seq;
                    assert_string_equal(it[i].text, "0.2");
                }
            }
            if (it[i].kind == LC_OB_METRIC && strcmp(it[i].key, "train/loss") == 0 && it[i].step == 0) {
                assert_true(it[i].value == 42.0);
                loss0_seq = it[i].seq;
            }
            if (it[i].kind == LC_OB_METRIC && strcmp(it[i].key, "train/loss") == 0 && it[i].step == 7)
                assert_true(isnan(it[i].value));
            if (it[i].kind == LC_OB_END) {
                ends++;
                end_seq = it[i].seq;
                assert_int_equal(it[i].status, LC_RUN_FINISHED);
                assert_true(it[i].wall_time > 0);
            }
        }
        total += n;
        cur = it[n - 1].seq;
    }
    uint64_t count;
    assert_int_equal(lc_outbox_count(ob, r.row, 0, &count, err, sizeof err), LC_OK);
    assert_int_equal(count, total);
    assert_int_equal(params, 2);  /* lr once (its latest value), optimizer */
    assert_int_equal(ends, 1);
    assert_true(end_seq == last);          /* the end is the last item */
    assert_true(lr_seq > loss0_seq);       /* the changed param after the replaced point */
    /* the replaced point came after every point of the first records */
    assert_true(loss0_seq > q_int(root, "SELECT max(id) FROM metric_point WHERE step = 99"));

    /* a deleted row never lets a later item take a number at or below the
       cursor: delete the newest point, add items, all land above */
    q_exec(root, "DELETE FROM metric_point WHERE id = (SELECT max(id) FROM metric_point)");
    hub = open_hub(root, "sqlite", 0);
    lc_run_options ro = {.experiment = "ship", .name = "seq", .resume = 1, .resume_step = -1};
    assert_int_equal(lc_run_start(hub, &ro, &run), LC_OK);
    assert_int_equal(lc_run_log_metric(run, "train/loss", 7.0, 1000), LC_OK);
    assert_int_equal(lc_run_log_param_str(run, "optimizer", "sgd"), LC_OK);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);
    assert_int_equal(lc_outbox_read(ob, r.row, last, 100, &it, &n, err, sizeof err), LC_OK);
    assert_int_equal(n, 3); /* the point, the changed param, the new end */
    assert_int_equal(it[0].kind, LC_OB_METRIC);
    assert_int_equal(it[1].kind, LC_OB_PARAM);
    assert_int_equal(it[2].kind, LC_OB_END);
    lc_outbox_run_clear(&r);
    lc_outbox_close(ob);
}

/* ------------------------------------------------------------------------ */
/* Through the hub                                                           */

static void test_hub_ships_in_order_exactly_once(void **state)
{
    (void)state;
    rec_reset();
    const char *root = tu_tmpdir("outbox-hub");
    /* 'rec' alone: the index comes with it */
    lc_hub *hub = open_hub(root, "rec", 0);
    char uuid[33];
    lc_run *run = log_run(hub, "hub", 6000, uuid);
    /* an artifact (the trainer logs checkpoints like this) */
    char path[4096];
    snprintf(path, sizeof path, "%s/model.ckpt", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("weights", f);
    fclose(f);
    assert_int_equal(lc_run_log_artifact(run, path, "checkpoints"), LC_OK);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    rec_check_order();
    char sql[256];
    /* every point of the index arrived; the replaced one possibly twice
       (its first value was shipped live before the new one replaced it),
       the new value last */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM metrics WHERE run_id = '%s'", uuid);
    size_t replaced_twice = 0;
    double loss0 = 0;
    for (size_t i = 0; i < rec.n; i++)
        if (rec.items[i].kind == LC_OB_METRIC && rec.items[i].step == 0 &&
            strcmp(rec.items[i].key, "train/loss") == 0) {
            replaced_twice++;
            loss0 = rec.items[i].value;
        }
    assert_true(replaced_twice == 1 || replaced_twice == 2);
    assert_true(loss0 == 42.0);
    assert_int_equal(rec_count(LC_OB_METRIC) - (replaced_twice - 1), q_int(root, sql));
    /* lr's first value may have gone out before it changed */
    assert_true(rec_count(LC_OB_PARAM) == 2 || rec_count(LC_OB_PARAM) == 3);
    assert_int_equal(rec_count(LC_OB_TEXT), 1);
    assert_int_equal(rec_count(LC_OB_ARTIFACT), 1);
    assert_true(rec_count(LC_OB_TAG) >= 1);
    assert_int_equal(rec_count(LC_OB_END), 1);
    assert_int_equal(rec.items[rec.n - 1].kind, LC_OB_END);
    assert_int_equal(rec.opens, 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE run_id = '%s' AND backend = "
                              "'rec' AND state = 'delivered' AND remote_id = 'remote-1' AND "
                              "remote_url = 'rec://test/runs/remote-1'", uuid);
    assert_int_equal(q_int(root, sql), 1);
    assert_int_equal(q_int(root, "SELECT shipped FROM delivery"), (long long)rec.n);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE lease_token IS NULL"), 1);
    /* the artifact's key is its place among the run's artifacts */
    for (size_t i = 0; i < rec.n; i++)
        if (rec.items[i].kind == LC_OB_ARTIFACT)
            assert_string_equal(rec.items[i].key, "checkpoints/model.ckpt");
}

static void test_transient_failures_resume(void **state)
{
    (void)state;
    rec_reset();
    rec.fail_io = 3;
    rec.partial = 1;
    const char *root = tu_tmpdir("outbox-io");
    lc_hub *hub = open_hub(root, "sqlite,rec", 0);
    char uuid[33];
    lc_run *run = log_run(hub, "io", 3000, uuid);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);
    rec_check_order();
    assert_int_equal(rec_count(LC_OB_END), 1);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE state = 'delivered'"), 1);
    assert_true(q_int(root, "SELECT failures FROM delivery") >= 3);
    long long items = q_int(root, "SELECT shipped FROM delivery");
    assert_int_equal(items, (long long)rec.n);
}

static void test_auth_error_fails_then_sync(void **state)
{
    (void)state;
    rec_reset();
    rec.fail_auth = 1;
    const char *root = tu_tmpdir("outbox-auth");
    lc_hub *hub = open_hub(root, "sqlite,rec", 0);
    char uuid[33];
    lc_run *run = log_run(hub, "auth", 400, uuid);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);
    assert_int_equal(rec.n, 0);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE state = 'failed'"
                                 " AND last_error LIKE '%401 Unauthorized%set REC_TOKEN%'"), 1);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE lease_token IS NULL"), 1);

    /* fixed: sync delivers everything, once */
    rec.fail_auth = 0;
    lc_sync_options so = {.root = root, .quiet = 1};
    lc_sync_result res;
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.total, 1);
    assert_int_equal(res.delivered, 1);
    rec_check_order();
    assert_int_equal(rec_count(LC_OB_END), 1);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE state = 'delivered'"
                                 " AND last_error IS NULL"), 1);
}

/* Drain timeout: the backend stops delivering midway; the hub closes
 * after the (short) sync timeout, the run is pending with its cursor in
 * the index; a sync in a new "process" (new shipper) sends the rest only,
 * and a second sync sends nothing. */
static void test_drain_timeout_pending_then_sync(void **state)
{
    (void)state;
    rec_reset();
    rec.stop_after = 1000;
    const char *root = tu_tmpdir("outbox-drain");
    lc_hub *hub = open_hub(root, "sqlite,rec", 300);
    char uuid[33];
    lc_run *run = log_run(hub, "drain", 4000, uuid);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);
    assert_int_equal(rec.n, 1000);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE state = 'pending'"
                                 " AND pending_since IS NOT NULL"), 1);
    long long cursor = q_int(root, "SELECT cursor FROM delivery");
    assert_int_equal(cursor, rec.items[999].seq);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE lease_token IS NULL"), 1);

    rec.stop_after = 0;
    size_t before = rec.n;
    lc_sync_options so = {.root = root, .quiet = 1};
    lc_sync_result res;
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.delivered, 1);
    assert_true(rec.n > before);
    rec_check_order(); /* nothing sent twice across the restart */
    assert_int_equal(rec.items[rec.n - 1].kind, LC_OB_END);
    assert_int_equal(rec.opens, 2);
    /* the second open continued the same remote run */
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE remote_id = 'remote-1'"
                                 " AND state = 'delivered'"), 1);

    size_t after = rec.n;
    int calls = rec.ship_calls;
    /* a second sync: nothing to do (delivered); naming the run: nothing sent */
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.total, 0);
    const char *runs[] = {uuid};
    lc_sync_options named = {.root = root, .quiet = 1, .runs = runs, .nruns = 1};
    assert_int_equal(lc_remote_sync(&named, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.delivered, 1);
    assert_int_equal(rec.n, after);
    assert_int_equal(rec.ship_calls, calls);
}

/* A run that ends while its backend call waits out retries (server down):
   lc_hub_close cancels the call at once, and the delivery stays pending
   (not failed with "cancelled"), for `lightc sync`. */
static void test_close_cancels_call_in_flight(void **state)
{
    (void)state;
    rec_reset();
    rec.block = 1;
    const char *root = tu_tmpdir("outbox-cancel");
    lc_hub *hub = open_hub(root, "sqlite,rec", 300);
    char uuid[33];
    lc_run *run = log_run(hub, "cancel", 500, uuid);
    lc_run_finish(run, LC_RUN_FINISHED); /* the drain times out: pending */
    /* no time limit: without the cancel this waits out the hour-long call */
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE state = 'pending'"), 1);
    assert_int_equal(q_int(root, "SELECT count(*) FROM delivery WHERE lease_token IS NULL"), 1);

    rec.block = 0;
    lc_sync_options so = {.root = root, .quiet = 1};
    lc_sync_result res;
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.delivered, 1);
    assert_int_equal(rec_count(LC_OB_METRIC), 500);
    rec_check_order();
}

/* ------------------------------------------------------------------------ */
/* Leases                                                                    */

static void make_finished_run(const char *root, char *uuid)
{
    lc_hub *hub = open_hub(root, "sqlite", 0);
    lc_run *run = log_run(hub, "lease", 200, uuid);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);
}

static void test_lease_two_processes_and_kill9(void **state)
{
    (void)state;
    rec_reset();
    const char *root = tu_tmpdir("outbox-lease");
    char uuid[33];
    make_finished_run(root, uuid);
    const char *runs[] = {uuid};
    lc_sync_options so = {.root = root, .quiet = 1, .runs = runs, .nruns = 1, .to = "rec",
                          .retry_ms = 1};

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* the other process: holds the lease and never lets go */
        close(fds[0]);
        lc_outbox *ob;
        lc_outbox_run r;
        char e[512];
        if (lc_outbox_open(root, &ob, e, sizeof e) != LC_OK ||
            lc_outbox_load(ob, uuid, "rec", &r, e, sizeof e) != LC_OK ||
            lc_outbox_ensure(ob, r.row, "rec", e, sizeof e) != LC_OK ||
            lc_outbox_lease(ob, r.row, "rec", 3600 * 1000, e, sizeof e) != LC_OK)
            _exit(1);
        if (write(fds[1], "L", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);

    lc_sync_result res;
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.busy, 1);
    assert_int_equal(rec.n, 0);
    assert_int_equal(rec.opens, 0);

    /* the holder dies without releasing: its lease is void at once */
    kill(child, SIGKILL);
    int ws;
    waitpid(child, &ws, 0);
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.delivered, 1);
    rec_check_order();
    assert_int_equal(rec_count(LC_OB_END), 1);
}

static void test_lease_expires(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("outbox-expire");
    char uuid[33];
    make_finished_run(root, uuid);
    lc_outbox *a, *b;
    lc_outbox_run r;
    assert_int_equal(lc_outbox_open(root, &a, err, sizeof err), LC_OK);
    assert_int_equal(lc_outbox_open(root, &b, err, sizeof err), LC_OK);
    assert_int_equal(lc_outbox_load(a, uuid, "rec", &r, err, sizeof err), LC_OK);
    assert_int_equal(lc_outbox_ensure(a, r.row, "rec", err, sizeof err), LC_OK);
    assert_int_equal(lc_outbox_lease(a, r.row, "rec", 200, err, sizeof err), LC_OK);
    assert_int_equal(lc_outbox_lease(b, r.row, "rec", 200, err, sizeof err), LC_ERR_BUSY);
    assert_non_null(strstr(err, "holds it"));
    /* a's writes need the lease */
    assert_int_equal(lc_outbox_advance(b, r.row, "rec", 5, 1, "lines=9", err, sizeof err), LC_ERR_STATE);
    assert_int_equal(lc_outbox_advance(a, r.row, "rec", 5, 1, "lines=2", err, sizeof err), LC_OK);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    /* expired: b takes it, a has lost it */
    assert_int_equal(lc_outbox_lease(b, r.row, "rec", 60000, err, sizeof err), LC_OK);
    assert_int_equal(lc_outbox_advance(a, r.row, "rec", 6, 1, NULL, err, sizeof err), LC_ERR_STATE);
    assert_int_equal(lc_outbox_lease(a, r.row, "rec", 200, err, sizeof err), LC_ERR_BUSY);
    assert_int_equal(lc_outbox_release(b, r.row, "rec"), LC_OK);
    assert_int_equal(lc_outbox_lease(a, r.row, "rec", 200, err, sizeof err), LC_OK);
    assert_int_equal(q_int(root, "SELECT cursor FROM delivery"), 5);
    /* the backend's state went in with the cursor, and only the holder's */
    lc_outbox_run_clear(&r);
    assert_int_equal(lc_outbox_load(a, uuid, "rec", &r, err, sizeof err), LC_OK);
    assert_string_equal(r.remote_state, "lines=2");
    assert_int_equal(lc_outbox_advance(a, r.row, "rec", 7, 1, NULL, err, sizeof err), LC_OK);
    lc_outbox_run_clear(&r);
    assert_int_equal(lc_outbox_load(a, uuid, "rec", &r, err, sizeof err), LC_OK);
    assert_string_equal(r.remote_state, "lines=2"); /* NULL leaves it */
    lc_outbox_run_clear(&r);
    lc_outbox_close(a);
    lc_outbox_close(b);
}

/* A process killed while its run was live: sync marks the run crashed and
 * ships the end with that status. */
static void test_sync_crashed_run(void **state)
{
    (void)state;
    rec_reset();
    const char *root = tu_tmpdir("outbox-crash");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        lc_hub_options o = {.root = root, .loggers = "sqlite,rec", .sync_timeout_ms = 100};
        lc_hub *hub;
        if (lc_hub_open(&hub, &o) != LC_OK)
            _exit(1);
        lc_run_options ro = {.experiment = "ship", .name = "crash"};
        lc_run *run;
        if (lc_run_start(hub, &ro, &run) != LC_OK)
            _exit(1);
        for (int i = 0; i < 100; i++)
            lc_run_log_metric(run, "train/loss", 1.0 / (i + 1), i);
        lc_hub_flush(hub, 0);
        if (write(fds[1], lc_run_id(run), 32) != 32)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    char uuid[33] = "";
    assert_int_equal(read(fds[0], uuid, 32), 32);
    close(fds[0]);
    kill(child, SIGKILL);
    int ws;
    waitpid(child, &ws, 0);

    size_t before = rec.n; /* the child's recordings are its own */
    assert_int_equal(before, 0);
    lc_sync_options so = {.root = root, .quiet = 1};
    lc_sync_result res;
    assert_int_equal(lc_remote_sync(&so, &res, err, sizeof err), LC_OK);
    assert_int_equal(res.delivered, 1);
    assert_true(rec.n > 0);
    assert_int_equal(rec.items[rec.n - 1].kind, LC_OB_END);
    assert_int_equal(rec.items[rec.n - 1].status, LC_RUN_CRASHED);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE run_id = '%s' AND status = 'crashed'",
             uuid);
    assert_int_equal(q_int(root, sql), 1);
}

/* A remote logger whose backend cannot be built fails the hub open with
 * the backend's message. */
static void test_unbuilt_backend_message(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("outbox-unbuilt");
    lc_hub_options o = {.root = root, .loggers = "sqlite,mlflow"};
    lc_hub *hub = NULL;
    lc_status st = lc_hub_open(&hub, &o);
    if (st == LC_OK) {
        /* the real backend is linked: it may need MLFLOW_TRACKING_URI */
        lc_hub_close(hub, 0);
        return;
    }
    assert_non_null(strstr(lc_errmsg(), "mlflow"));
}

int main(void)
{
    if (lc_remote_register("rec", rec_new) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_never_reused),
        cmocka_unit_test(test_hub_ships_in_order_exactly_once),
        cmocka_unit_test(test_transient_failures_resume),
        cmocka_unit_test(test_auth_error_fails_then_sync),
        cmocka_unit_test(test_drain_timeout_pending_then_sync),
        cmocka_unit_test(test_close_cancels_call_in_flight),
        cmocka_unit_test(test_lease_two_processes_and_kill9),
        cmocka_unit_test(test_lease_expires),
        cmocka_unit_test(test_sync_crashed_run),
        cmocka_unit_test(test_unbuilt_backend_message),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(rec.items);
    return rc;
}
