/*
 * loggers/index/index_schema.c — the SQLite run index: open, schema migrations,
 * busy-retrying transactions, and the network file system guard.
 *
 * The schema lives in a table of forward-only migration steps; step i takes
 * PRAGMA user_version from i to i+1. Opening a database migrates it inside
 * one BEGIN IMMEDIATE transaction, so several processes opening a fresh
 * index at once (a sweep) serialise on the write lock and the later ones
 * find the work done. A database newer than this library is refused.
 * Crash detection is in index_crash.c; the sink is sqlite_index.c.
 */
#include "index_schema.h"
#include "common/clock.h"
#include "common/fs.h"
#include "lightc/hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Schema: migration steps                                                  */

/* The stable interface: plain SQL views keyed by the run uuid. The same
 * text in every step that (re)creates them; a later step that changes a
 * view appends columns only (docs/index.md). */
#define INDEX_VIEWS                                                             \
    "CREATE VIEW runs AS SELECT run_uuid AS run_id, experiment, name, status,"  \
    "  start_time, end_time, host, pid, dir, degraded FROM run_info;"           \
    /* CROSS JOIN fixes the loop order: runs outside (few), their points        \
       found by the run_id prefix of the unique index. Left to itself the       \
       planner scans every point for "run_id LIKE 'ab12%'". */                  \
    "CREATE VIEW metrics AS SELECT r.run_uuid AS run_id, k.key AS key,"         \
    "  p.step AS step, p.value AS value, p.wall_time AS wall_time,"             \
    "  p.is_nan AS is_nan"                                                      \
    "  FROM run_info r CROSS JOIN metric_point p ON p.run_id = r.id"            \
    "  JOIN metric_key k ON k.id = p.key_id;"                                   \
    "CREATE VIEW params AS SELECT r.run_uuid AS run_id, p.key AS key,"          \
    "  p.value AS value, p.type AS type"                                        \
    "  FROM param p JOIN run_info r ON r.id = p.run_id;"                        \
    "CREATE VIEW tags AS SELECT r.run_uuid AS run_id, t.key AS key,"            \
    "  t.value AS value FROM tag t JOIN run_info r ON r.id = t.run_id;"

/* SQL: the AUTOINCREMENT sequence of table t continues above the value
 * of the SQL expression e (NULL: unchanged). The sequence row exists once
 * a row went in; it is made when none did. */
#define INDEX_SEQ_AT_LEAST(t, e)                                                \
    "INSERT INTO sqlite_sequence(name, seq) SELECT '" t "', 0 WHERE NOT EXISTS" \
    "  (SELECT 1 FROM sqlite_sequence WHERE name = '" t "');"                   \
    "UPDATE sqlite_sequence SET seq = max(seq, coalesce(" e ", 0))"             \
    "  WHERE name = '" t "';"

/* Step 0 -> 1 creates everything. Later versions append a step here and
 * bump LC_INDEX_SCHEMA_VERSION; a step never changes once released. */
static const char *const index_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE run_info("
    "  id INTEGER PRIMARY KEY,"
    "  run_uuid TEXT NOT NULL UNIQUE,"
    "  experiment TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  start_time REAL,"
    "  end_time REAL,"
    "  host TEXT,"
    "  pid INTEGER,"
    "  boot_id TEXT,"
    "  proc_start INTEGER,"
    "  dir TEXT,"
    "  degraded INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(experiment, name));"
    "CREATE TABLE metric_key("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  original TEXT,"
    "  UNIQUE(run_id, key));"
    /* No foreign keys on metric_point: it is the hot table and the sink
       only ever inserts ids it just resolved; deleting a run deletes its
       points explicitly (see docs/index.md). */
    "CREATE TABLE metric_point("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL,"
    "  key_id INTEGER NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  value REAL,"
    "  is_nan INTEGER NOT NULL DEFAULT 0,"
    "  wall_time REAL NOT NULL,"
    "  rec INTEGER NOT NULL DEFAULT 0,"
    /* (run_id, step, key_id), not (run_id, key_id, step): points arrive
       in step order, so new index entries append at the end, where SQLite
       inserts fastest; it also serves 'step > S' on resume. */
    "  UNIQUE(run_id, step, key_id));"
    "CREATE TABLE param("
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT,"
    "  type TEXT NOT NULL,"
    "  PRIMARY KEY(run_id, key));"
    "CREATE TABLE tag("
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT,"
    "  PRIMARY KEY(run_id, key));"
    "CREATE TABLE key_map("
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  original TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  PRIMARY KEY(run_id, kind, original));"
    "CREATE TABLE media("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  key TEXT,"
    "  step INTEGER,"
    "  wall_time REAL,"
    "  data BLOB,"
    "  path TEXT,"
    "  meta TEXT);"
    "CREATE INDEX media_run_step ON media(run_id, step);"
    "CREATE TABLE counter("
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  value INTEGER NOT NULL,"
    "  PRIMARY KEY(run_id, name));"
    "CREATE TABLE sink_cursor("
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  sink TEXT NOT NULL,"
    "  cursor INTEGER,"
    "  state TEXT NOT NULL,"
    "  last_error TEXT,"
    "  updated REAL,"
    "  PRIMARY KEY(run_id, sink));"
    INDEX_VIEWS,

    /* 1 -> 2: internal ids are never reused (AUTOINCREMENT), so a run
       created after `lightc runs rm` never takes a removed run's id (and
       its orphan rows), and a replaced point always gets an id larger than
       every earlier one (remote sinks' cursors over metric_point.id never
       skip a row). SQLite cannot add AUTOINCREMENT to a table, so the four
       tables with ids are rebuilt: create the new table, copy, drop the
       old one, rename (the views, which name the tables, are dropped first
       and made again). Runs with foreign keys off (lc_index_open), so
       dropping run_info cascades nothing. Points of runs that no longer
       exist (left by a writer of a removed run) are not copied; every
       sequence starts above the largest id its table ever held that is
       still seen anywhere (run ids above those of the orphan rows). */
    "DROP VIEW runs; DROP VIEW metrics; DROP VIEW params; DROP VIEW tags;"
    "CREATE TABLE run_info_v2("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_uuid TEXT NOT NULL UNIQUE,"
    "  experiment TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  start_time REAL,"
    "  end_time REAL,"
    "  host TEXT,"
    "  pid INTEGER,"
    "  boot_id TEXT,"
    "  proc_start INTEGER,"
    "  dir TEXT,"
    "  degraded INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(experiment, name));"
    "INSERT INTO run_info_v2(id, run_uuid, experiment, name, status, start_time, end_time,"
    "  host, pid, boot_id, proc_start, dir, degraded)"
    "  SELECT id, run_uuid, experiment, name, status, start_time, end_time,"
    "  host, pid, boot_id, proc_start, dir, degraded FROM run_info;"
    INDEX_SEQ_AT_LEAST("run_info_v2", "(SELECT max(run_id) FROM metric_point)")
    INDEX_SEQ_AT_LEAST("run_info_v2", "(SELECT max(run_id) FROM media)")
    "CREATE TABLE metric_key_v2("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  original TEXT,"
    "  UNIQUE(run_id, key));"
    "INSERT INTO metric_key_v2(id, run_id, key, original)"
    "  SELECT id, run_id, key, original FROM metric_key"
    "  WHERE run_id IN (SELECT id FROM run_info);"
    "CREATE TABLE metric_point_v2("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id INTEGER NOT NULL,"
    "  key_id INTEGER NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  value REAL,"
    "  is_nan INTEGER NOT NULL DEFAULT 0,"
    "  wall_time REAL NOT NULL,"
    "  rec INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(run_id, step, key_id));"
    "INSERT INTO metric_point_v2(id, run_id, key_id, step, value, is_nan, wall_time, rec)"
    "  SELECT id, run_id, key_id, step, value, is_nan, wall_time, rec FROM metric_point"
    "  WHERE run_id IN (SELECT id FROM run_info) ORDER BY id;"
    "CREATE TABLE media_v2("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  key TEXT,"
    "  step INTEGER,"
    "  wall_time REAL,"
    "  data BLOB,"
    "  path TEXT,"
    "  meta TEXT);"
    "INSERT INTO media_v2(id, run_id, kind, key, step, wall_time, data, path, meta)"
    "  SELECT id, run_id, kind, key, step, wall_time, data, path, meta FROM media"
    "  WHERE run_id IN (SELECT id FROM run_info) ORDER BY id;"
    INDEX_SEQ_AT_LEAST("metric_key_v2", "(SELECT max(id) FROM metric_key)")
    INDEX_SEQ_AT_LEAST("metric_point_v2", "(SELECT max(id) FROM metric_point)")
    INDEX_SEQ_AT_LEAST("media_v2", "(SELECT max(id) FROM media)")
    "DROP TABLE run_info; ALTER TABLE run_info_v2 RENAME TO run_info;"
    "DROP TABLE metric_key; ALTER TABLE metric_key_v2 RENAME TO metric_key;"
    "DROP TABLE metric_point; ALTER TABLE metric_point_v2 RENAME TO metric_point;"
    "DROP TABLE media; ALTER TABLE media_v2 RENAME TO media;"
    "CREATE INDEX media_run_step ON media(run_id, step);"
    INDEX_VIEWS,

    /* 2 -> 3: the index is the outbox of the remote backends. Everything a
       remote run needs gets a position in ONE sequence: metric points
       keep their AUTOINCREMENT id, and params, tags, text and artifact
       media and the run's end draw numbers from the same counter (the
       sqlite_sequence row of metric_point, lc_index_next_seq), so ids are
       never reused and a changed param, a replaced point or a new end
       always lands after every cursor. Rows logged before this version get
       numbers above every point, run by run. 'delivery' holds each
       (run, backend)'s cursor, remote run, lease and state; the
       'deliveries' view shows it by run uuid. */
    "ALTER TABLE param ADD COLUMN seq INTEGER;"
    "ALTER TABLE tag ADD COLUMN seq INTEGER;"
    "ALTER TABLE media ADD COLUMN seq INTEGER;"
    "ALTER TABLE run_info ADD COLUMN end_seq INTEGER;"
    INDEX_SEQ_AT_LEAST("metric_point", "(SELECT max(id) FROM metric_point)")
    "CREATE TEMP TABLE outbox_v3 AS SELECT t, rid,"
    "  (SELECT seq FROM sqlite_sequence WHERE name = 'metric_point')"
    "  + row_number() OVER (ORDER BY run_id, t, rid) AS seq FROM ("
    "  SELECT 1 AS t, rowid AS rid, run_id FROM param"
    "  UNION ALL SELECT 2, rowid, run_id FROM tag"
    "  UNION ALL SELECT 3, id, run_id FROM media WHERE kind IN ('text', 'artifact')"
    "  UNION ALL SELECT 4, id, id FROM run_info WHERE status <> 'running');"
    "UPDATE param SET seq = o.seq FROM outbox_v3 o WHERE o.t = 1 AND o.rid = param.rowid;"
    "UPDATE tag SET seq = o.seq FROM outbox_v3 o WHERE o.t = 2 AND o.rid = tag.rowid;"
    "UPDATE media SET seq = o.seq FROM outbox_v3 o WHERE o.t = 3 AND o.rid = media.id;"
    "UPDATE run_info SET end_seq = o.seq FROM outbox_v3 o WHERE o.t = 4 AND o.rid = run_info.id;"
    "UPDATE sqlite_sequence SET seq = seq + (SELECT count(*) FROM outbox_v3)"
    "  WHERE name = 'metric_point';"
    "DROP TABLE outbox_v3;"
    "CREATE INDEX media_outbox ON media(run_id, seq) WHERE seq IS NOT NULL;"
    "CREATE TABLE delivery("
    "  run_id INTEGER NOT NULL REFERENCES run_info(id) ON DELETE CASCADE,"
    "  backend TEXT NOT NULL,"
    "  cursor INTEGER NOT NULL DEFAULT 0,"
    "  remote_id TEXT,"
    "  remote_url TEXT,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  pending_since REAL,"
    "  last_error TEXT,"
    "  shipped INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  lease_token TEXT,"
    "  lease_pid INTEGER,"
    "  lease_host TEXT,"
    "  lease_boot TEXT,"
    "  lease_start INTEGER,"
    "  lease_expires REAL,"
    "  updated REAL,"
    "  PRIMARY KEY(run_id, backend));"
    "CREATE VIEW deliveries AS SELECT r.run_uuid AS run_id, d.backend AS backend,"
    "  d.state AS state, d.remote_id AS remote_id, d.remote_url AS remote_url,"
    "  d.cursor AS cursor, d.shipped AS shipped, d.pending_since AS pending_since,"
    "  d.last_error AS last_error, d.updated AS updated"
    "  FROM delivery d JOIN run_info r ON r.id = d.run_id;",

    /* 3 -> 4: a backend's own delivery state beside the cursor (W&B: the
       next history line offset), written in the same statement as the
       cursor so that the two never disagree after a crash. */
    "ALTER TABLE delivery ADD COLUMN remote_state TEXT;",
};

_Static_assert(sizeof index_migrations / sizeof index_migrations[0] == LC_INDEX_SCHEMA_VERSION,
               "one migration step per schema version");

const char *lc_index_migration_sql(int from)
{
    return from >= 0 && from < LC_INDEX_SCHEMA_VERSION ? index_migrations[from] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Errors and busy retry                                                    */

static const char *index_file(sqlite3 *db)
{
    const char *f = db ? sqlite3_db_filename(db, "main") : NULL;
    return f && *f ? f : "index.db";
}

/* What a user can do about the common failures; sqlite's own text for
 * them ("disk I/O error") does not say. */
static const char *index_hint(int xrc)
{
    switch (xrc & 0xff) {
    case SQLITE_FULL: return "; free disk space or use another --root";
    case SQLITE_READONLY: return "; the file or its directory is read-only";
    case SQLITE_CANTOPEN: return "; check that the directory exists and is writable";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "; the file is damaged or not a run index";
    case SQLITE_IOERR:
        if (xrc == SQLITE_IOERR_WRITE || xrc == SQLITE_IOERR_FSYNC || xrc == SQLITE_IOERR_TRUNCATE)
            return " while writing; check free space, quotas and file size limits";
        if (xrc == SQLITE_IOERR_SHMOPEN || xrc == SQLITE_IOERR_SHMSIZE ||
            xrc == SQLITE_IOERR_SHMMAP || xrc == SQLITE_IOERR_SHMLOCK)
            return " in the WAL shared memory (index.db-shm); is the root on a network "
                   "file system?";
        return "";
    }
    return "";
}

int lc_index_fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    if (!err || !errlen)
        return -1;
    int sys = db ? sqlite3_system_errno(db) : 0;
    const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
    const char *hint = db ? index_hint(sqlite3_extended_errcode(db)) : "";
    if (sys)
        snprintf(err, errlen, "sqlite: %s %s: %s (%s)%s", what, index_file(db), msg,
                 strerror(sys), hint);
    else
        snprintf(err, errlen, "sqlite: %s %s: %s%s", what, index_file(db), msg, hint);
    return -1;
}

/* Sleep between retries: 1 ms doubling up to 64 ms. */
static void index_backoff(int attempt)
{
    long ms = 1L << (attempt < 6 ? attempt : 6);
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int lc_index_busy_ms(void)
{
    const char *v = getenv("LIGHTC_BUSY_TIMEOUT_MS");
    int ms = v && *v ? atoi(v) : LC_INDEX_BUSY_MS_DEFAULT;
    return ms > 0 ? ms : LC_INDEX_BUSY_MS_DEFAULT;
}

static int index_is_busy(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int lc_index_step(sqlite3_stmt *st)
{
    /* the deadline (a clock read and a getenv) only once the index is busy:
       this runs once per row read */
    int rc = sqlite3_step(st);
    if (!index_is_busy(rc))
        return rc;
    double deadline = lc_mono_now() + lc_index_busy_ms() / 1000.0;
    for (int attempt = 0;; attempt++) {
        if (attempt > 0)
            rc = sqlite3_step(st);
        if (!index_is_busy(rc) || lc_mono_now() > deadline)
            return rc;
        sqlite3_reset(st);
        index_backoff(attempt);
    }
}

static int index_exec_retry(sqlite3 *db, const char *sql, const char *what, char *err,
                            size_t errlen)
{
    double deadline = lc_mono_now() + lc_index_busy_ms() / 1000.0;
    for (int attempt = 0;; attempt++) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if (!index_is_busy(rc) || lc_mono_now() > deadline)
            return lc_index_fail(db, what, err, errlen);
        index_backoff(attempt);
    }
}

int lc_index_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    return index_exec_retry(db, sql, "cannot update", err, errlen);
}

lc_status lc_index_status(sqlite3 *db)
{
    if (!db)
        return LC_ERR_NOMEM;
    int rc = sqlite3_extended_errcode(db);
    if (index_is_busy(rc))
        return LC_ERR_BUSY;
    return (rc & 0xff) == SQLITE_NOMEM ? LC_ERR_NOMEM : LC_ERR_IO;
}

lc_status lc_index_begin(sqlite3 *db, char *err, size_t errlen)
{
    if (index_exec_retry(db, "BEGIN IMMEDIATE", "cannot lock", err, errlen) == 0)
        return LC_OK;
    lc_status st = lc_index_status(db);
    /* Name the usual cause of a lock held past the timeout. */
    if (st == LC_ERR_BUSY && err && errlen)
        snprintf(err, errlen,
                 "sqlite: %s stayed locked by another process for %.1f s; is a "
                 "long query or a stuck writer holding it?",
                 index_file(db), lc_index_busy_ms() / 1000.0);
    return st;
}

lc_status lc_index_commit(sqlite3 *db, char *err, size_t errlen)
{
    if (index_exec_retry(db, "COMMIT", "cannot write to", err, errlen) == 0)
        return LC_OK;
    lc_status st = lc_index_status(db); /* before the rollback resets it */
    lc_index_rollback(db);
    return st;
}

void lc_index_rollback(sqlite3 *db)
{
    /* After some errors (SQLITE_FULL, IOERR) SQLite has already rolled
       back; a second ROLLBACK would only fail. */
    if (db && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

long long lc_index_next_seq(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE sqlite_sequence SET seq = seq + 1"
                               " WHERE name = 'metric_point' RETURNING seq",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    long long seq = -1;
    if (lc_index_step(st) == SQLITE_ROW)
        seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return seq;
}

/* ------------------------------------------------------------------------ */
/* Network file systems                                                      */

/* statfs f_type magic numbers (linux/magic.h and the file systems' own
 * sources). FUSE (0x65735546) is not listed: it is used by local file
 * systems as well (fuse-overlayfs), so sshfs / glusterfs cannot be told
 * apart — docs/index.md says so. */
static const struct {
    unsigned long magic;
    const char *name;
} index_network_fs[] = {
    {0x6969, "nfs"},
    {0x517B, "smb"},
    {0xFF534D42, "cifs"},
    {0xFE534D42, "smb2"},
    {0x0BD00BD0, "lustre"},
    {0x47504653, "gpfs"},
    {0x00C36400, "ceph"},
    {0x73757245, "coda"},
    {0x5346414F, "afs"},
    {0x6B414653, "afs"},
    {0x564C, "ncp"},
    {0x01021997, "9p"},
    {0x01161970, "gfs2"},
    {0x7461636F, "ocfs2"},
    {0x19830326, "beegfs"},
    {0x20030528, "orangefs"},
    {0x786F4256, "vboxsf"},
};

const char *lc_index_network_fs_name(unsigned long f_type)
{
    /* f_type is a signed word on some ABIs: 0xFF534D42 may arrive
       sign-extended, so compare the low 32 bits. */
    unsigned long t = f_type & 0xFFFFFFFFul;
    for (size_t i = 0; i < sizeof index_network_fs / sizeof index_network_fs[0]; i++)
        if (index_network_fs[i].magic == t)
            return index_network_fs[i].name;
    return NULL;
}

int lc_index_check_fs_type(unsigned long f_type, const char *dir, char *err, size_t errlen)
{
    const char *fs = lc_index_network_fs_name(f_type);
    if (!fs)
        return 0;
    const char *allow = getenv("LIGHTC_ALLOW_NETWORK_FS");
    if (allow && strcmp(allow, "1") == 0)
        return 0;
    snprintf(err, errlen,
             "sqlite: the run root %s is on a network file system (%s), where "
             "SQLite's WAL mode can corrupt the run index; use a local --root "
             "(and copy runs later), or set LIGHTC_ALLOW_NETWORK_FS=1 if only "
             "one machine ever writes this root",
             dir, fs);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Open                                                                      */

static int index_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = lc_index_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int index_refuse_newer(sqlite3 *db, int version, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "sqlite: %s has schema version %d, newer than this lightc %s "
             "understands (%d); upgrade lightc, or use another --root",
             index_file(db), version, LC_VERSION_STRING, LC_INDEX_SCHEMA_VERSION);
    return -1;
}

/* Set WAL; 'PRAGMA journal_mode' answers the mode it ended in. */
static int index_set_wal(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return lc_index_fail(db, "cannot open", err, errlen);
    int rc = lc_index_step(st);
    int ok = rc == SQLITE_ROW &&
             sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    if (rc != SQLITE_ROW) {
        lc_index_fail(db, "cannot switch to WAL mode:", err, errlen);
    } else if (!ok) {
        snprintf(err, errlen, "sqlite: %s cannot use WAL mode (journal mode stays '%s')",
                 index_file(db), (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

static int index_migrate(sqlite3 *db, char *err, size_t errlen)
{
    if (lc_index_begin(db, err, errlen) != 0)
        return -1;
    /* Re-read under the write lock: another process may have migrated. */
    int version = 0;
    if (index_user_version(db, &version) != 0) {
        lc_index_fail(db, "cannot read the schema version of", err, errlen);
        lc_index_rollback(db);
        return -1;
    }
    if (version > LC_INDEX_SCHEMA_VERSION) {
        lc_index_rollback(db);
        return index_refuse_newer(db, version, err, errlen);
    }
    for (int v = version; v < LC_INDEX_SCHEMA_VERSION; v++) {
        if (sqlite3_exec(db, index_migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "cannot migrate (step %d -> %d)", v, v + 1);
            lc_index_fail(db, what, err, errlen);
            lc_index_rollback(db);
            return -1;
        }
    }
    if (version < LC_INDEX_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", LC_INDEX_SCHEMA_VERSION);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            lc_index_fail(db, "cannot set the schema version of", err, errlen);
            lc_index_rollback(db);
            return -1;
        }
    }
    return lc_index_commit(db, err, errlen);
}

static int index_open_fail(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    if (db) {
        int sys = sqlite3_system_errno(db);
        snprintf(err, errlen, "sqlite: cannot open %s: %s%s%s%s%s", path, sqlite3_errmsg(db),
                 sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "",
                 index_hint(sqlite3_extended_errcode(db)));
        sqlite3_close(db);
    } else {
        snprintf(err, errlen, "sqlite: cannot open %s: out of memory", path);
    }
    return -1;
}

/* "file:" URI of path (absolute paths as file:///...), with the characters
 * a URI gives a meaning to percent-encoded, and query appended. NULL when
 * out of memory. sqlite3_free() it. */
static char *index_uri(const char *path, const char *query)
{
    sqlite3_str *u = sqlite3_str_new(NULL);
    sqlite3_str_appendall(u, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
            sqlite3_str_appendf(u, "%%%02X", *p);
        else
            sqlite3_str_appendchar(u, 1, (char)*p);
    }
    sqlite3_str_appendf(u, "?%s", query);
    return sqlite3_str_finish(u);
}

/* Open index.db for reading. A root whose directory cannot be written (a
 * read-only mount, an archive unpacked without write permission) leaves
 * SQLite no place for the -shm file a WAL database needs, so a plain
 * read-only open fails with "unable to open database file". If such a
 * root was closed cleanly (no -wal file with content), index.db alone
 * holds everything and is opened immutable: no locks, no -shm. With a
 * -wal file, index.db alone may be behind or half-checkpointed, so the
 * plain read-only open is tried and its failure explained. */
static int index_open_readonly(const char *root, const char *path, sqlite3 **out, char *err,
                               size_t errlen)
{
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat st;
    int has_wal = stat(wal, &st) == 0 && st.st_size > 0;
    int dir_writable = access(root, W_OK) == 0;
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    sqlite3 *db = NULL;
    int rc;
    if (!dir_writable && !has_wal) {
        char *uri = index_uri(path, "immutable=1");
        if (!uri) {
            snprintf(err, errlen, "sqlite: cannot open %s: out of memory", path);
            return -1;
        }
        rc = sqlite3_open_v2(uri, &db, flags | SQLITE_OPEN_URI, NULL);
        sqlite3_free(uri);
    } else {
        rc = sqlite3_open_v2(path, &db, flags, NULL);
    }
    if (rc != SQLITE_OK)
        return index_open_fail(db, path, err, errlen);
    /* Opening is lazy: the first read is what meets a missing -shm. */
    int version;
    if (!dir_writable && has_wal && index_user_version(db, &version) != 0) {
        snprintf(err, errlen, "sqlite: cannot read %s: %s; the run root %s is read-only and "
                 "%s holds changes not yet copied into index.db (the writer did not close "
                 "cleanly, or is still running); copy the root somewhere writable and read "
                 "it there", path, sqlite3_errmsg(db), root, wal);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

int lc_index_open(const char *root, int readonly, sqlite3 **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!root || !*root) {
        snprintf(err, errlen, "sqlite: no run root given");
        return -1;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, LC_INDEX_FILE) >= sizeof path) {
        snprintf(err, errlen, "sqlite: run root path too long: %.200s...", root);
        return -1;
    }

    if (readonly) {
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "sqlite: no run index at %s (%s); nothing was logged under "
                     "this root yet, or pass the right --root", path, strerror(errno));
            return -1;
        }
    } else if (lc_make_dirs(root) != 0) {
        snprintf(err, errlen, "sqlite: cannot create the run root %s: %s", root, strerror(errno));
        return -1;
    } else if (access(root, W_OK) != 0) {
        /* SQLite would say "unable to open database file" (it cannot make
           the -wal and -shm files next to index.db). */
        snprintf(err, errlen, "sqlite: the run root %s is read-only (%s): lightc can read it "
                 "(runs ls/show/compare/export) but cannot log or delete runs in it; use a "
                 "writable --root, or copy the root somewhere writable", root, strerror(errno));
        return -1;
    }

    struct statfs sfs;
    if (statfs(root, &sfs) == 0 &&
        lc_index_check_fs_type((unsigned long)sfs.f_type, root, err, errlen) != 0)
        return -1;

    sqlite3 *db = NULL;
    if (readonly) {
        if (index_open_readonly(root, path, &db, err, errlen) != 0)
            return -1;
    } else if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                              SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        return index_open_fail(db, path, err, errlen);
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, lc_index_busy_ms());

    /* SQLite silently opens a write-protected file read-only. */
    if (!readonly && sqlite3_db_readonly(db, "main") == 1) {
        snprintf(err, errlen, "sqlite: %s is read-only; the run index must be writable "
                 "(check its permissions, or use another --root)", path);
        sqlite3_close(db);
        return -1;
    }

    int version = 0;
    if (index_user_version(db, &version) != 0)
        return index_open_fail(db, path, err, errlen);
    if (version > LC_INDEX_SCHEMA_VERSION) {
        index_refuse_newer(db, version, err, errlen);
        sqlite3_close(db);
        return -1;
    }

    if (readonly) {
        /* Readers need the views, which every version since the first has
           (their columns only grow), so an older index is read as it is:
           a read-only archive cannot be migrated. */
        if (version < LC_INDEX_SCHEMA_MIN_READ) {
            snprintf(err, errlen, "sqlite: %s has schema version %d, not %d: %s", path, version,
                     LC_INDEX_SCHEMA_VERSION,
                     version == 0 ? "it is not a lightc run index (or is empty)"
                                  : "log one run with this lightc to migrate it");
            sqlite3_close(db);
            return -1;
        }
        *out = db;
        return 0;
    }

    /* synchronous=NORMAL is durable against process crashes in WAL mode
       (a power loss may lose the last transactions, never corrupt).
       Foreign keys go on only after migrating: a step that rebuilds a
       table drops the old one, which must not cascade to its children. */
    if (index_set_wal(db, err, errlen) != 0 ||
        lc_index_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
                          "PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;",
                      err, errlen) != 0 ||
        (version < LC_INDEX_SCHEMA_VERSION && index_migrate(db, err, errlen) != 0) ||
        lc_index_exec(db, "PRAGMA foreign_keys=ON;", err, errlen) != 0) {
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}
