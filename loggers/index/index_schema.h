/*
 * loggers/index/index_schema.h — the SQLite run index: schema, migrations, open.
 *
 * Shared by the sqlite sink (writer) and the lightc CLI (reader, sync).
 * The schema is documented in docs/index.md. Tables are private and may
 * change between versions; the views runs, metrics, params, tags are the
 * stable interface users query with sqlite3.
 *
 * Schema version 2 (PRAGMA user_version = 2). Version 1 had the same
 * tables and views; version 2 makes every internal id AUTOINCREMENT, so no
 * id is ever reused (a removed run's id, a replaced point's id):
 *
 *   run_info(id INTEGER PK, run_uuid TEXT UNIQUE, experiment, name, status,
 *            start_time REAL, end_time REAL, host, pid, boot_id, proc_start,
 *            dir TEXT (relative to the root), degraded INTEGER,
 *            UNIQUE(experiment, name))
 *   metric_key(id INTEGER PK, run_id, key, original, UNIQUE(run_id, key))
 *   metric_point(id INTEGER PK  -- delivery order: remote sinks' cursor
 *                run_id, key_id, step INTEGER, value REAL (NULL when NaN),
 *                is_nan INTEGER, wall_time REAL, rec INTEGER (record number),
 *                UNIQUE(run_id, step, key_id))
 *   param(run_id, key, value TEXT, type TEXT, PK(run_id, key))
 *   tag(run_id, key, value TEXT, PK(run_id, key))
 *   key_map(run_id, original, key, kind TEXT, PK(run_id, kind, original))
 *   media(id INTEGER PK, run_id, kind TEXT (text|histogram|image|artifact),
 *         key TEXT, step INTEGER, wall_time REAL, data BLOB, path TEXT,
 *         meta TEXT (JSON: image width/height/channels, histogram stats,
 *         artifact dir and size))
 *   counter(run_id, name TEXT, value INTEGER, PK(run_id, name))
 *   sink_cursor(run_id, sink TEXT, cursor INTEGER, state TEXT,
 *               last_error TEXT, updated REAL, PK(run_id, sink))
 *
 * Version 3 makes the index the outbox of the remote backends: param,
 * tag and media get a 'seq' column and run_info an 'end_seq', numbered
 * from the same counter as metric_point.id (lc_index_next_seq), and
 *   delivery(run_id, backend, cursor, remote_id, remote_url, state
 *            (pending|delivered|failed), pending_since, last_error, shipped,
 *            failures, lease_token, lease_pid, lease_host, lease_boot,
 *            lease_start, lease_expires, updated, PK(run_id, backend))
 * with the view deliveries(run_id, backend, state, remote_id, remote_url,
 * cursor, shipped, pending_since, last_error, updated). The outbox reader
 * for other rooms is outbox.h.
 *
 * Views: runs(run_id, experiment, name, status, start_time, end_time,
 *             host, pid, dir, degraded)
 *        metrics(run_id, key, step, value, wall_time, is_nan)
 *        params(run_id, key, value, type)
 *        tags(run_id, key, value)
 *   run_id in the views is the 32-hex run uuid.
 */
#ifndef LC_INDEX_SCHEMA_H
#define LC_INDEX_SCHEMA_H

#include <sqlite3.h>
#include <stddef.h>

#include "lightc/status.h"

#define LC_INDEX_SCHEMA_VERSION 4
/* The oldest version readers accept as it is (the views are the same). */
#define LC_INDEX_SCHEMA_MIN_READ 1
#define LC_INDEX_FILE "index.db"

/* Open (creating if needed) <root>/index.db, refuse network file systems
 * where WAL is unsafe, set WAL, busy timeout, foreign keys, and migrate the
 * schema forward to LC_INDEX_SCHEMA_VERSION; a root that cannot be written
 * is refused with an error saying so. readonly: open without creating or
 * migrating (the CLI's read verbs), also on a read-only root (a cleanly
 * closed index is then opened immutable, see docs/index.md); versions
 * LC_INDEX_SCHEMA_MIN_READ.. are read as they are. A database newer than
 * this library is refused with an error naming the versions.
 * Returns 0, or -1 with err filled. */
int lc_index_open(const char *root, int readonly, sqlite3 **out, char *err, size_t errlen);

/* The SQL of migration step 'from' (version from -> from + 1), or NULL
 * outside 0..LC_INDEX_SCHEMA_VERSION-1. Steps never change once released,
 * so tests build an index of an older version with them. */
const char *lc_index_migration_sql(int from);

/* Execute SQL text (several statements allowed), retrying on SQLITE_BUSY
 * for up to the busy timeout. Returns 0, or -1 with err. */
int lc_index_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* Runs recorded as 'running' whose process is gone (same host and another
 * boot id, or pid dead / reused with another start time) become 'crashed'.
 * Runs of other hosts are left alone. end_time stays NULL (the moment of
 * death is unknown). Returns the number marked, or -1. */
int lc_index_mark_crashed(sqlite3 *db, char *err, size_t errlen);

/* The next number of the outbox sequence (metric_point's AUTOINCREMENT
 * counter, shared by params, tags, media and run ends): strictly larger
 * than every id and seq handed out before, never reused. Call inside a
 * write transaction. Returns it (> 0), or -1 with db's error. */
long long lc_index_next_seq(sqlite3 *db);

/* 1 if the process pid (started at proc_start clock ticks after the boot
 * boot_id) is certainly gone on this machine, 0 if it may be alive. */
int lc_index_process_gone(long long pid, const char *boot_id, long long proc_start);

/* ---- helpers shared by the sink, the CLI and the tests ------------------ */

/* How long a writer waits for another process's lock, in total: 10 s, or
 * LIGHTC_BUSY_TIMEOUT_MS. */
#define LC_INDEX_BUSY_MS_DEFAULT 10000
int lc_index_busy_ms(void);

/* sqlite3_step, retried on SQLITE_BUSY / SQLITE_LOCKED until the busy
 * timeout has passed. Returns sqlite3_step's last result. */
int lc_index_step(sqlite3_stmt *st);

/* BEGIN IMMEDIATE (with busy retry) / COMMIT (with busy retry) / ROLLBACK
 * (only if a transaction is open; never fails). begin and commit return
 * LC_OK, or with err naming the database file and sqlite's error:
 * LC_ERR_BUSY when another connection held the lock past the busy timeout,
 * LC_ERR_NOMEM, or LC_ERR_IO. A failed commit is rolled back. */
lc_status lc_index_begin(sqlite3 *db, char *err, size_t errlen);
lc_status lc_index_commit(sqlite3 *db, char *err, size_t errlen);
void lc_index_rollback(sqlite3 *db);

/* The lc_status for db's current error (its last failing call):
 * LC_ERR_BUSY for SQLITE_BUSY / SQLITE_LOCKED (a lock held past the busy
 * timeout), LC_ERR_NOMEM for SQLITE_NOMEM (or no db), else LC_ERR_IO. */
lc_status lc_index_status(sqlite3 *db);

/* Format "sqlite: <what> <file>: <sqlite error>[ (<errno text>)]" into err
 * from db's current error. Returns -1, for 'return lc_index_fail(...)'. */
int lc_index_fail(sqlite3 *db, const char *what, char *err, size_t errlen);

/* Network file systems, where SQLite's WAL (shared memory + POSIX locks) is
 * unsafe. lc_index_network_fs_name: the name of the file system whose
 * statfs f_type is f_type ("nfs", "lustre", "cifs", ...) if it is one, else
 * NULL. lc_index_check_fs_type: 0 for a local file system or when
 * LIGHTC_ALLOW_NETWORK_FS=1; else -1 with err naming dir and the fix. */
const char *lc_index_network_fs_name(unsigned long f_type);
int lc_index_check_fs_type(unsigned long f_type, const char *dir, char *err, size_t errlen);

#endif /* LC_INDEX_SCHEMA_H */
