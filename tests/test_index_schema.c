/*
 * tests/test_index_schema.c — the run index's open / schema / migration
 * path, the network file system guard, and crash detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "index/index_schema.h"
#include "common/proc.h"
#include "testutil.h"

static char err[1024];

static sqlite3 *raw_open(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* ---- schema ------------------------------------------------------------- */

static void test_fresh_index_has_schema_and_views(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("schema");
    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), 0);
    assert_int_equal(query_int(db, "PRAGMA user_version"), LC_INDEX_SCHEMA_VERSION);

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);

    static const char *const tables[] = {"run_info", "metric_key", "metric_point", "param", "tag",
                                         "key_map", "media", "counter", "sink_cursor"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'", tables[i]);
        assert_int_equal(query_int(db, sql), 1);
    }

    /* Views with exactly the documented columns, in order. */
    static const struct {
        const char *view;
        const char *cols;
    } views[] = {
        {"runs", "run_id,experiment,name,status,start_time,end_time,host,pid,dir,degraded"},
        {"metrics", "run_id,key,step,value,wall_time,is_nan"},
        {"params", "run_id,key,value,type"},
        {"tags", "run_id,key,value"},
    };
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        char sql[256], cols[512] = "";
        snprintf(sql, sizeof sql, "SELECT * FROM %s", views[i].view);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            if (c)
                strcat(cols, ",");
            strcat(cols, sqlite3_column_name(st, c));
        }
        assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* queryable, empty */
        sqlite3_finalize(st);
        assert_string_equal(cols, views[i].cols);
    }

    /* The views join the private tables on the run uuid. */
    exec_ok(db, "INSERT INTO run_info(run_uuid, experiment, name, status, start_time)"
                " VALUES ('0123456789abcdef0123456789abcdef', 'e', 'n', 'running', 1.5);"
                "INSERT INTO metric_key(run_id, key, original) VALUES (1, 'loss', 'loss');"
                "INSERT INTO metric_point(run_id, key_id, step, value, wall_time)"
                " VALUES (1, 1, 7, 0.25, 2.5);");
    assert_int_equal(query_int(db, "SELECT step FROM metrics WHERE run_id LIKE '0123%'"
                                   " AND key = 'loss' AND value = 0.25"),
                     7);
    sqlite3_close(db);

    /* Opening again is a no-op on the schema. */
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics"), 1);
    sqlite3_close(db);

    /* The read-only open works on a current index. */
    assert_int_equal(lc_index_open(root, 1, &db, err, sizeof err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), 1);
    sqlite3_close(db);
}

static void test_version_zero_database_is_migrated(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("schema");
    sqlite3 *raw = raw_open(root);
    exec_ok(raw, "CREATE TABLE unrelated(x); INSERT INTO unrelated VALUES (1);");
    sqlite3_close(raw);

    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), 0);
    assert_int_equal(query_int(db, "PRAGMA user_version"), LC_INDEX_SCHEMA_VERSION);
    assert_int_equal(query_int(db, "SELECT count(*) FROM unrelated"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name='runs'"), 1);
    sqlite3_close(db);
}

/* An index written with schema version 1, where ids could be reused: a
 * reader takes it as it is; the first writer migrates it to the current
 * version in place, keeping every row of existing runs, dropping points a
 * writer of a removed run left behind, and from then on no id is reused
 * (run ids continue above the removed run's, a replaced point's new id is
 * above every earlier one); foreign keys still cascade. */
static void test_v1_index_is_migrated(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("schema");
    sqlite3 *raw = raw_open(root);
    assert_non_null(lc_index_migration_sql(0));
    assert_null(lc_index_migration_sql(LC_INDEX_SCHEMA_VERSION));
    exec_ok(raw, "PRAGMA journal_mode=WAL");
    exec_ok(raw, lc_index_migration_sql(0));
    exec_ok(raw,
            "PRAGMA user_version = 1;"
            "INSERT INTO run_info(id, run_uuid, experiment, name, status, start_time, dir) VALUES"
            " (1, 'aa', 'e', 'one', 'finished', 1.0, 'e/one'),"
            " (2, 'bb', 'e', 'two', 'finished', 2.0, 'e/two');"
            "INSERT INTO metric_key(id, run_id, key) VALUES (1, 1, 'loss'), (2, 2, 'loss');"
            /* run 3 was removed while its writer ran on: point 5 is its orphan */
            "INSERT INTO metric_point(id, run_id, key_id, step, value, wall_time) VALUES"
            " (1, 1, 1, 0, 0.5, 10.0), (2, 2, 2, 0, 0.25, 11.0), (3, 1, 1, 1, 0.4, 12.0),"
            " (5, 3, 3, 7, 9.0, 13.0);"
            "INSERT INTO tag(run_id, key, value) VALUES (1, 'seed', '42');"
            "INSERT INTO param(run_id, key, value, type) VALUES (1, 'lr', '0.1', 'float');"
            "INSERT INTO key_map(run_id, original, key, kind) VALUES (1, 'a b%', 'a b_', 'metric');"
            "INSERT INTO media(id, run_id, kind, key, step) VALUES (1, 1, 'text', 't', 0);"
            "INSERT INTO counter(run_id, name, value) VALUES (1, 'logged', 2);"
            "INSERT INTO sink_cursor(run_id, sink, state) VALUES (1, 'sqlite', 'ok');");
    sqlite3_close(raw);

    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 1, &db, err, sizeof err), 0);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics"), 3);
    sqlite3_close(db);

    if (lc_index_open(root, 0, &db, err, sizeof err) != 0)
        fail_msg("migrating: %s", err);
    assert_int_equal(query_int(db, "PRAGMA user_version"), LC_INDEX_SCHEMA_VERSION);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('run_info',"
                                   " 'metric_key', 'metric_point', 'media') AND sql LIKE '%AUTOINCREMENT%'"),
                     4);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v2'"), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'view'"), 5);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'media_run_step'"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), 2);
    /* version 3: the outbox items logged before it got positions above
       every point (also above the orphan point 5), run by run, and the
       sequence continues above them */
    assert_int_equal(query_int(db, "SELECT count(*) FROM param WHERE seq > 5") +
                         query_int(db, "SELECT count(*) FROM tag WHERE seq > 5") +
                         query_int(db, "SELECT count(*) FROM media WHERE seq > 5") +
                         query_int(db, "SELECT count(*) FROM run_info WHERE end_seq > 5"),
                     5);
    assert_int_equal(query_int(db, "SELECT count(DISTINCT s) FROM (SELECT seq s FROM param UNION ALL"
                                   " SELECT seq FROM tag UNION ALL SELECT seq FROM media UNION ALL"
                                   " SELECT end_seq FROM run_info)"), 5);
    assert_int_equal(query_int(db, "SELECT seq FROM sqlite_sequence WHERE name = 'metric_point'"), 10);
    assert_int_equal(query_int(db, "SELECT count(*) FROM delivery"), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metrics WHERE run_id = 'aa'"), 2);
    assert_int_equal(query_int(db, "SELECT sum(id) FROM metric_point"), 1 + 2 + 3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM metric_point WHERE run_id = 3"), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM tags") + query_int(db, "SELECT count(*) FROM params") +
                         query_int(db, "SELECT count(*) FROM key_map") +
                         query_int(db, "SELECT count(*) FROM media") +
                         query_int(db, "SELECT count(*) FROM counter") +
                         query_int(db, "SELECT count(*) FROM sink_cursor"),
                     6);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);

    /* no id is reused: not the removed run's, not the orphan point's, not
       the id of a replaced point that held the largest id */
    exec_ok(db, "INSERT INTO run_info(run_uuid, experiment, name, status) VALUES ('cc', 'e', 'three', 'running')");
    assert_true(sqlite3_last_insert_rowid(db) > 3);
    exec_ok(db, "INSERT INTO metric_point(run_id, key_id, step, value, wall_time) VALUES (2, 2, 1, 1.0, 14.0)");
    long long top = sqlite3_last_insert_rowid(db);
    assert_true(top > 5);
    exec_ok(db, "DELETE FROM metric_point WHERE run_id = 2 AND step = 1;"
                "INSERT INTO metric_point(run_id, key_id, step, value, wall_time) VALUES (2, 2, 1, 2.0, 15.0)");
    assert_true(sqlite3_last_insert_rowid(db) > top);

    /* the children still follow run_info */
    exec_ok(db, "DELETE FROM metric_point WHERE run_id = 1; DELETE FROM run_info WHERE id = 1");
    assert_int_equal(query_int(db, "SELECT count(*) FROM tag") + query_int(db, "SELECT count(*) FROM param") +
                         query_int(db, "SELECT count(*) FROM media") +
                         query_int(db, "SELECT count(*) FROM metric_key WHERE run_id = 1"),
                     0);
    sqlite3_close(db);
}

static void test_newer_version_is_refused(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("schema");
    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), 0);
    exec_ok(db, "PRAGMA user_version = 99");
    sqlite3_close(db);

    for (int ro = 0; ro <= 1; ro++) {
        err[0] = 0;
        db = (sqlite3 *)1;
        assert_int_equal(lc_index_open(root, ro, &db, err, sizeof err), -1);
        assert_null(db);
        assert_non_null(strstr(err, "version 99"));
        assert_non_null(strstr(err, "newer"));
        assert_non_null(strstr(err, "index.db"));
    }
    /* Refused, not downgraded. */
    sqlite3 *raw = raw_open(root);
    assert_int_equal(query_int(raw, "PRAGMA user_version"), 99);
    sqlite3_close(raw);
}

static void test_readonly_open_needs_an_index(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("schema");
    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 1, &db, err, sizeof err), -1);
    assert_non_null(strstr(err, "no run index"));

    /* A foreign SQLite file (user_version 0) is not a run index. */
    sqlite3 *raw = raw_open(root);
    exec_ok(raw, "CREATE TABLE t(x)");
    sqlite3_close(raw);
    assert_int_equal(lc_index_open(root, 1, &db, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a lightc run index"));
}

static void test_bad_roots(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(lc_index_open("", 0, &db, err, sizeof err), -1);
    assert_non_null(strstr(err, "no run root"));

    /* A root below a regular file can never be created. */
    const char *tmp = tu_tmpdir("schema");
    char file[2048], root[2100];
    snprintf(file, sizeof file, "%s/file", tmp);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(root, sizeof root, "%s/sub", file);
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create the run root"));
    assert_non_null(strstr(err, root));
    assert_non_null(strstr(err, strerror(ENOTDIR)));

    /* index.db that is not a database. */
    snprintf(root, sizeof root, "%s/garbage", tmp);
    mkdir(root, 0755);
    snprintf(file, sizeof file, "%s/garbage/index.db", tmp);
    f = fopen(file, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not an sqlite database. ", f);
    fclose(f);
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), -1);
    assert_non_null(strstr(err, file));
    assert_non_null(strstr(err, "not a database"));
}

/* Run fn(arg, out, n) in a child process that has dropped root to
 * 'nobody' (chmod does not stop root) and return what it wrote into out;
 * -1 when privileges cannot be dropped here (the caller skips). */
static int as_nobody(void (*fn)(void *arg, char *out, size_t n), void *arg, char *buf, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        char out[8192] = "";
        fn(arg, out, sizeof out);
        size_t len = strlen(out);
        if (write(fds[1], out, len) != (ssize_t)len)
            _exit(4);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + got, n - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        return -1;
    assert_int_equal(WEXITSTATUS(status), 0);
    return 0;
}

/* Open root as a writer ("rc\nerror"). */
static void try_write_open(void *root, char *out, size_t n)
{
    char e[1024] = "";
    sqlite3 *db = NULL;
    int rc = lc_index_open(root, 0, &db, e, sizeof e);
    sqlite3_close(db);
    snprintf(out, n, "%d\n%s", rc, e);
}

/* Open root as a reader and count its runs ("rc runs\nerror"). */
static void try_read_open(void *root, char *out, size_t n)
{
    char e[1024] = "";
    sqlite3 *db = NULL;
    int rc = lc_index_open(root, 1, &db, e, sizeof e);
    long long runs = -1;
    sqlite3_stmt *st;
    if (rc == 0 && sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            runs = sqlite3_column_int64(st, 0);
        else
            snprintf(e, sizeof e, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    snprintf(out, n, "%d %lld\n%s", rc, runs, e);
}

/* as_nobody: "1" if the directory arg can be entered, else "0". */
static void try_reach(void *arg, char *out, size_t n)
{
    snprintf(out, n, "%d", access((const char *)arg, X_OK) == 0);
}

/* A root the process may not write to: writers are refused with a clear
 * error; a cleanly closed index is read (immutable open, no -shm). */
static void test_readonly_root(void **state)
{
    (void)state;
    const char *tmp = tu_tmpdir("schema");
    char empty[4096], existing[4096];
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    snprintf(existing, sizeof existing, "%s/existing", tmp);
    assert_int_equal(mkdir(empty, 0755), 0);
    sqlite3 *db;
    assert_int_equal(lc_index_open(existing, 0, &db, err, sizeof err), 0);
    exec_ok(db, "INSERT INTO run_info(run_uuid, experiment, name, status) VALUES ('aa', 'e', 'n', 'finished')");
    sqlite3_close(db);
    char idx[4200], wal[4300];
    snprintf(idx, sizeof idx, "%s/index.db", existing);
    snprintf(wal, sizeof wal, "%s-wal", idx);
    assert_int_equal(access(wal, F_OK), -1); /* closed cleanly: no -wal */
    assert_int_equal(chmod(empty, 0555), 0);
    assert_int_equal(chmod(existing, 0555), 0);
    assert_int_equal(chmod(idx, 0444), 0);
    chmod(tmp, 0755); /* let 'nobody' in */

    char out[8192];
    if (as_nobody(try_reach, (void *)tmp, out, sizeof out) != 0)
        skip(); /* cannot drop privileges here */
    if (out[0] != '1') {
        /* a checkout under a private directory (mktemp -d: 0700) */
        printf("test_readonly_root skipped: 'nobody' cannot reach %s\n", tmp);
        skip();
    }
    if (as_nobody(try_write_open, empty, out, sizeof out) != 0)
        skip(); /* cannot drop privileges here */
    assert_int_equal(atoi(out), -1);
    assert_non_null(strstr(out, empty));
    assert_non_null(strstr(out, "read-only"));
    assert_int_equal(as_nobody(try_write_open, existing, out, sizeof out), 0);
    assert_int_equal(atoi(out), -1);
    assert_non_null(strstr(out, existing));
    assert_non_null(strstr(out, "read-only"));

    /* reading works, and leaves no file behind */
    assert_int_equal(as_nobody(try_read_open, existing, out, sizeof out), 0);
    if (strncmp(out, "0 1\n", 4) != 0)
        fail_msg("read-only root not readable: %s", out);
    assert_int_equal(access(wal, F_OK), -1);

    /* A -wal with content (the writer did not close cleanly): index.db
       alone may be behind, so it is not read immutable; the error says
       what to do. */
    chmod(existing, 0755);
    FILE *f = fopen(wal, "w");
    assert_non_null(f);
    fputs("not really a WAL, but not empty", f);
    fclose(f);
    chmod(existing, 0555);
    assert_int_equal(as_nobody(try_read_open, existing, out, sizeof out), 0);
    chmod(empty, 0755);
    chmod(existing, 0755);
    assert_int_equal(atoi(out), -1);
    assert_non_null(strstr(out, "index.db-wal"));
    assert_non_null(strstr(out, "copy the root somewhere writable"));
}

/* ---- network file systems ---------------------------------------------- */

static void test_network_fs_names(void **state)
{
    (void)state;
    assert_string_equal(lc_index_network_fs_name(0x6969), "nfs");
    assert_string_equal(lc_index_network_fs_name(0x0BD00BD0), "lustre");
    assert_string_equal(lc_index_network_fs_name(0xFF534D42), "cifs");
    assert_string_equal(lc_index_network_fs_name(0xFE534D42), "smb2");
    assert_string_equal(lc_index_network_fs_name(0x517B), "smb");
    assert_string_equal(lc_index_network_fs_name(0x47504653), "gpfs");
    /* f_type is a signed word: the CIFS magic may arrive sign-extended. */
    assert_string_equal(lc_index_network_fs_name((unsigned long)(long)(int32_t)0xFF534D42u), "cifs");
    /* Local ones. */
    assert_null(lc_index_network_fs_name(0xEF53));     /* ext4 */
    assert_null(lc_index_network_fs_name(0x58465342)); /* xfs */
    assert_null(lc_index_network_fs_name(0x01021994)); /* tmpfs */
    assert_null(lc_index_network_fs_name(0x794C7630)); /* overlayfs */
    assert_null(lc_index_network_fs_name(0x9123683E)); /* btrfs */
}

static void test_network_fs_refused_unless_allowed(void **state)
{
    (void)state;
    unsetenv("LIGHTC_ALLOW_NETWORK_FS");
    assert_int_equal(lc_index_check_fs_type(0xEF53, "/local/runs", err, sizeof err), 0);
    err[0] = 0;
    assert_int_equal(lc_index_check_fs_type(0x6969, "/mnt/nfs/runs", err, sizeof err), -1);
    assert_non_null(strstr(err, "/mnt/nfs/runs"));
    assert_non_null(strstr(err, "nfs"));
    assert_non_null(strstr(err, "LIGHTC_ALLOW_NETWORK_FS=1"));

    setenv("LIGHTC_ALLOW_NETWORK_FS", "0", 1);
    assert_int_equal(lc_index_check_fs_type(0x0BD00BD0, "/lustre/runs", err, sizeof err), -1);
    assert_non_null(strstr(err, "lustre"));
    setenv("LIGHTC_ALLOW_NETWORK_FS", "1", 1);
    assert_int_equal(lc_index_check_fs_type(0x0BD00BD0, "/lustre/runs", err, sizeof err), 0);
    unsetenv("LIGHTC_ALLOW_NETWORK_FS");
}

/* ---- crash detection ----------------------------------------------------- */

static void test_proc_helpers(void **state)
{
    (void)state;
    char boot[64];
    if (lc_boot_id(boot, sizeof boot) != 0)
        skip(); /* no /proc */
    assert_int_equal(strlen(boot), 36);
    long long me = lc_proc_start(getpid());
    assert_true(me > 0);
    assert_int_equal(lc_proc_start(getpid()), me);
    assert_int_equal(lc_proc_start(0), -1);
    assert_int_equal(lc_proc_start(-5), -1);

    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    assert_int_equal(lc_proc_start(child), -1);
}

static void insert_run(sqlite3 *db, const char *name, const char *status, const char *host,
                       long long pid, const char *boot, long long proc_start)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO run_info(run_uuid, experiment, name, status,"
                                        " start_time, host, pid, boot_id, proc_start)"
                                        " VALUES (lower(hex(randomblob(16))), 'crash', ?1, ?2, 1,"
                                        " ?3, ?4, ?5, ?6)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, pid);
    sqlite3_bind_text(st, 5, boot, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, proc_start);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static const char *status_of(sqlite3 *db, const char *name)
{
    static char buf[32];
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT status, end_time FROM runs WHERE name = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL); /* stays unknown */
    sqlite3_finalize(st);
    return buf;
}

static void test_mark_crashed(void **state)
{
    (void)state;
    char boot[64], host[256];
    if (lc_boot_id(boot, sizeof boot) != 0)
        skip();
    assert_int_equal(gethostname(host, sizeof host), 0);
    long long me = getpid(), my_start = lc_proc_start(me);

    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* a pid that is certainly dead now */

    const char *root = tu_tmpdir("crash");
    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), 0);
    insert_run(db, "alive", "running", host, me, boot, my_start);
    insert_run(db, "dead-pid", "running", host, child, boot, 12345);
    insert_run(db, "other-boot", "running", host, me, "00000000-fake-boot-id-000000000000", my_start);
    insert_run(db, "reused-pid", "running", host, me, boot, my_start + 1);
    insert_run(db, "other-host", "running", "some-other-host.invalid", child, "x", 1);
    insert_run(db, "finished", "finished", host, child, boot, 1);

    assert_int_equal(lc_index_mark_crashed(db, err, sizeof err), 3);
    assert_string_equal(status_of(db, "alive"), "running");
    assert_string_equal(status_of(db, "dead-pid"), "crashed");
    assert_string_equal(status_of(db, "other-boot"), "crashed");
    assert_string_equal(status_of(db, "reused-pid"), "crashed");
    assert_string_equal(status_of(db, "other-host"), "running");
    assert_string_equal(status_of(db, "finished"), "finished");

    /* Nothing left to mark. */
    assert_int_equal(lc_index_mark_crashed(db, err, sizeof err), 0);
    sqlite3_close(db);
}

/* lc_index_begin waits for another process's write lock. */
static void test_begin_waits_for_lock(void **state)
{
    (void)state;
    const char *root = tu_tmpdir("schema");
    sqlite3 *db;
    assert_int_equal(lc_index_open(root, 0, &db, err, sizeof err), 0);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(go[0]);
        sqlite3 *c;
        char e[512];
        if (lc_index_open(root, 0, &c, e, sizeof e) != 0 || lc_index_begin(c, e, sizeof e) != 0 ||
            lc_index_exec(c, "INSERT INTO run_info(run_uuid, experiment, name, status)"
                             " VALUES ('child', 'e', 'child', 'running')",
                          e, sizeof e) != 0)
            _exit(1);
        if (write(go[1], "x", 1) != 1)
            _exit(2);
        usleep(300 * 1000); /* hold the write lock a while */
        _exit(lc_index_commit(c, e, sizeof e) == 0 ? 0 : 3);
    }
    close(go[1]);
    char c;
    assert_int_equal(read(go[0], &c, 1), 1); /* child holds the lock now */
    close(go[0]);
    assert_int_equal(lc_index_begin(db, err, sizeof err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM run_info WHERE name = 'child'"), 1);
    assert_int_equal(lc_index_commit(db, err, sizeof err), 0);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_index_has_schema_and_views),
        cmocka_unit_test(test_version_zero_database_is_migrated),
        cmocka_unit_test(test_v1_index_is_migrated),
        cmocka_unit_test(test_newer_version_is_refused),
        cmocka_unit_test(test_readonly_open_needs_an_index),
        cmocka_unit_test(test_bad_roots),
        cmocka_unit_test(test_readonly_root),
        cmocka_unit_test(test_network_fs_names),
        cmocka_unit_test(test_network_fs_refused_unless_allowed),
        cmocka_unit_test(test_proc_helpers),
        cmocka_unit_test(test_mark_crashed),
        cmocka_unit_test(test_begin_waits_for_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
