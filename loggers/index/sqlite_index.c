/*
 * loggers/index/sqlite_index.c — the "sqlite" sink: writes every event into the
 * run index <root>/index.db (schema in index_schema.h, docs/index.md).
 *
 * One transaction per batch (BEGIN IMMEDIATE ... COMMIT, retried while
 * another process holds the lock), statements prepared once for the sink's
 * life. A failed batch is rolled back entirely, and the in-memory state a
 * batch touches (record counter, resolved key ids, counters to add) is only
 * made final after COMMIT, so the hub can hand the same batch in again.
 *
 * Scalars: INSERT OR IGNORE on UNIQUE(run_id, step, key_id), SQ_CHUNK
 * points per statement (one multi-row VALUES: the table and index cursors
 * stay open and consecutive points append at the index's end, about twice
 * as fast as one statement per point). The common case (all new points)
 * ends there; only when sqlite3_changes() says some were ignored are the
 * chunk's points checked one by one, in order, against the stored rows: an
 * equal value (NaN-aware) is dropped, another value replaces the row with a
 * new id (the delivery order remote sinks' cursors follow) and counts in
 * run->replaced. Checking in order keeps the sequential meaning even when
 * one chunk holds the same (key, step) twice.
 *
 * A run removed from the index while its writer still runs (`lightc runs
 * rm --force`): each batch transaction first checks, under the write lock,
 * that the rows of the runs it touches still exist. A run found gone is
 * reported once on stderr and its later events are dropped (scalars
 * counted in 'dropped'), never inserted as orphans; finish_run then fails
 * with the same message. Ids are never reused (schema version 2), so a
 * later run cannot take the removed run's id.
 *
 * Errors: every entry returns an lc_status taken from SQLite's own code
 * (lc_index_status): LC_ERR_BUSY when another process held the write lock
 * past the busy timeout, LC_ERR_EXISTS for a run that exists and is not
 * resumed, LC_ERR_NOMEM, else LC_ERR_IO.
 */
#include "bus/sink.h"
#include "common/clock.h"
#include "index_media.h"
#include "index_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------ */
/* State                                                                     */

/* Points per multi-row insert; 64 * 7 parameters stays far below
 * SQLite's limit of 32766 bound parameters. */
#define SQ_CHUNK 64

/* Largest tag the per-run key table grows to. */
#define SQ_MAX_TAG (1u << 24)

#define SQ_POINT_COLS "INSERT OR IGNORE INTO metric_point" \
                      "(run_id, key_id, step, value, is_nan, wall_time, rec) VALUES "
#define SQ_POINT_ROW "(?, ?, ?, ?, ?, ?, ?)"

enum {
    SQ_POINT_INSERT_N, /* SQ_CHUNK rows, built at open */
    SQ_POINT_INSERT,
    SQ_POINT_GET,
    SQ_POINT_DELETE,
    SQ_KEY_INSERT,
    SQ_KEY_GET,
    SQ_KEY_MAP,
    SQ_PARAM,
    SQ_TAG,
    SQ_MEDIA,
    SQ_RUN_ALIVE,
    SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
    [SQ_POINT_INSERT] = SQ_POINT_COLS SQ_POINT_ROW,
    [SQ_POINT_GET] = "SELECT id, value, is_nan FROM metric_point"
                     " WHERE run_id = ?1 AND key_id = ?2 AND step = ?3",
    [SQ_POINT_DELETE] = "DELETE FROM metric_point WHERE id = ?1",
    [SQ_KEY_INSERT] = "INSERT OR IGNORE INTO metric_key(run_id, key, original) VALUES (?1, ?2, ?3)",
    [SQ_KEY_GET] = "SELECT id FROM metric_key WHERE run_id = ?1 AND key = ?2",
    [SQ_KEY_MAP] = "INSERT INTO key_map(run_id, original, key, kind) VALUES (?1, ?2, ?3, ?4)"
                   " ON CONFLICT(run_id, kind, original) DO UPDATE SET key = excluded.key",
    [SQ_PARAM] = "INSERT INTO param(run_id, key, value, type) VALUES (?1, ?2, ?3, ?4)"
                 " ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value,"
                 " type = excluded.type",
    [SQ_TAG] = "INSERT INTO tag(run_id, key, value) VALUES (?1, ?2, ?3)"
               " ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value",
    [SQ_MEDIA] = "INSERT INTO media(run_id, kind, key, step, wall_time, data, path, meta)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* by id alone: ids are never reused, and a resumed row may keep an
       older uuid than the resuming run's */
    [SQ_RUN_ALIVE] = "SELECT 1 FROM run_info WHERE id = ?1",
};

/* A metric key of a run, by tag: its metric_key row. id 0: not (or no
 * longer) resolved to a row in the database — resolved again before the
 * next use. The key's name is the hub's (lc_run_info_key); the key as the
 * user gave it comes with the LC_EV_KEY event and is kept for key_map. */
typedef struct sq_key {
    int64_t id;
    char *original;           /* NULL: no LC_EV_KEY seen for this tag */
    int changed;
} sq_key;

typedef struct sq_run {
    lc_run_info *info;
    int64_t row;              /* run_info.id */
    sq_key *keys;             /* by tag (small dense integers from 1) */
    uint32_t nkeys;
    int64_t rec, rec_committed;
    uint64_t replaced_pending, rejected_pending, dropped_pending;
    uint64_t discarded;       /* points of earlier attempts deleted at open */
    uint64_t checked;         /* the transaction that last found the row there */
    int gone;                 /* the row was removed (lightc runs rm): drop */
    struct sq_run *next;
} sq_run;

/* A point waiting in the current chunk. */
typedef struct sq_point {
    sq_run *run;
    int64_t key_id, step, rec;
    double value, wall_time;
} sq_point;

typedef struct sq_sink {
    sqlite3 *db;
    char *root;
    char *path;               /* <root>/index.db, for messages */
    sqlite3_stmt *st[SQ_NSTMT];
    sq_run *runs;             /* open runs */
    sq_point chunk[SQ_CHUNK];
    int nchunk;
    uint64_t txn;             /* numbers this sink's transactions */
} sq_sink;


static void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Run a bound statement that returns no rows, then reset it. */
static int sq_run_stmt(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void sq_run_free(sq_run *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nkeys; i++)
        free(r->keys[i].original);
    free(r->keys);
    free(r);
}

static void sq_run_unlink(sq_sink *sq, sq_run *r)
{
    for (sq_run **p = &sq->runs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

/* After COMMIT: what the batch did becomes final. */
static void sq_batch_committed(sq_sink *sq)
{
    for (sq_run *r = sq->runs; r; r = r->next) {
        r->rec_committed = r->rec;
        if (r->replaced_pending)
            atomic_fetch_add(&r->info->replaced, r->replaced_pending);
        if (r->rejected_pending)
            atomic_fetch_add(&r->info->rejected, r->rejected_pending);
        if (r->dropped_pending) {
            atomic_fetch_add(&r->info->dropped, r->dropped_pending);
            atomic_store(&r->info->degraded, 1);
        }
        r->replaced_pending = r->rejected_pending = r->dropped_pending = 0;
    }
}

/* After ROLLBACK: forget what the batch did. Key rows inserted by it are
 * gone, so every key id is resolved again on next use (a few lookups). */
static void sq_batch_rolled_back(sq_sink *sq)
{
    for (sq_run *r = sq->runs; r; r = r->next) {
        r->rec = r->rec_committed;
        r->replaced_pending = r->rejected_pending = r->dropped_pending = 0;
        for (uint32_t i = 0; i < r->nkeys; i++)
            r->keys[i].id = 0;
    }
}

/* What a writer of a removed run is told. */
static void sq_gone_message(const sq_run *r, char *buf, size_t len)
{
    snprintf(buf, len, "sqlite: run %s (%s/%s) was removed from the index (lightc runs rm); "
             "its later points are dropped", r->info->id, r->info->experiment, r->info->name);
}

/* Inside a transaction (so under the write lock): is the run's row still
 * there? Once per run and transaction. A run found gone stays gone (the
 * removal was committed by another process) and is reported once. Returns
 * 0, or -1 when the check itself failed. */
static int sq_run_check(sq_sink *sq, sq_run *r)
{
    if (r->gone || r->checked == sq->txn)
        return 0;
    sqlite3_stmt *st = sq->st[SQ_RUN_ALIVE];
    sqlite3_bind_int64(st, 1, r->row);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) {
        r->checked = sq->txn;
        return 0;
    }
    if (rc != SQLITE_DONE)
        return -1;
    r->gone = 1;
    char msg[LC_ERRLEN];
    sq_gone_message(r, msg, sizeof msg);
    fprintf(stderr, "lightc: %s\n", msg);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */


/* Record an original -> normalised key mapping of kind metric|param. */
static int sq_key_map(sq_sink *sq, sq_run *r, const char *original, const char *key, const char *kind)
{
    sqlite3_stmt *map = sq->st[SQ_KEY_MAP];
    sqlite3_bind_int64(map, 1, r->row);
    sq_bind_text(map, 2, original);
    sq_bind_text(map, 3, key);
    sqlite3_bind_text(map, 4, kind, -1, SQLITE_STATIC);
    return sq_run_stmt(map);
}

static int sq_key_resolve(sq_sink *sq, sq_run *r, sq_key *k, const char *key)
{
    sqlite3_stmt *ins = sq->st[SQ_KEY_INSERT], *get = sq->st[SQ_KEY_GET];
    sqlite3_bind_int64(ins, 1, r->row);
    sq_bind_text(ins, 2, key);
    sq_bind_text(ins, 3, k->original);
    if (sq_run_stmt(ins) != 0)
        return -1;
    sqlite3_bind_int64(get, 1, r->row);
    sq_bind_text(get, 2, key);
    int rc = sqlite3_step(get);
    if (rc == SQLITE_ROW)
        k->id = sqlite3_column_int64(get, 0);
    sqlite3_reset(get);
    if (rc != SQLITE_ROW)
        return -1;
    return k->changed ? sq_key_map(sq, r, k->original, key, "metric") : 0;
}

static int sq_on_key(sq_sink *sq, sq_run *r, const lc_event *e)
{
    const lc_key_payload *p = e->payload;
    const char *key = lc_run_info_key(r->info, e->tag);
    /* Tags are small dense integers; a huge one is a bug upstream, not a
       reason to allocate gigabytes. */
    if (!p || !key || e->tag > SQ_MAX_TAG) {
        r->rejected_pending++;
        return 0;
    }
    if (e->tag >= r->nkeys) {
        uint32_t n = r->nkeys ? r->nkeys : 16;
        while (n <= e->tag)
            n *= 2;
        sq_key *keys = realloc(r->keys, n * sizeof *keys);
        if (!keys)
            return -1;
        memset(keys + r->nkeys, 0, (n - r->nkeys) * sizeof *keys);
        r->keys = keys;
        r->nkeys = n;
    }
    sq_key *k = &r->keys[e->tag];
    const char *orig = p->original ? p->original : key;
    if (!k->original || strcmp(k->original, orig) != 0) {
        char *original = strdup(orig);
        if (!original)
            return -1;
        free(k->original);
        k->original = original;
    }
    k->changed = p->changed;
    return sq_key_resolve(sq, r, k, key);
}

/* Bind point p as the row starting at parameter base+1. */
static void sq_bind_point(sqlite3_stmt *st, int base, const sq_point *p)
{
    sqlite3_bind_int64(st, base + 1, p->run->row);
    sqlite3_bind_int64(st, base + 2, p->key_id);
    sqlite3_bind_int64(st, base + 3, p->step);
    /* SQLite has no NaN (it would store NULL anyway): NULL + is_nan = 1.
       +-Inf are ordinary REAL values. */
    int nan = isnan(p->value);
    if (nan)
        sqlite3_bind_null(st, base + 4);
    else
        sqlite3_bind_double(st, base + 4, p->value);
    sqlite3_bind_int(st, base + 5, nan);
    sqlite3_bind_double(st, base + 6, p->wall_time);
    sqlite3_bind_int64(st, base + 7, p->rec);
}

/* Insert one point; *inserted = 0 if a row (run, step, key) was there. */
static int sq_insert_one(sq_sink *sq, const sq_point *p, int *inserted)
{
    sqlite3_stmt *ins = sq->st[SQ_POINT_INSERT];
    sq_bind_point(ins, 0, p);
    int rc = sqlite3_step(ins);
    *inserted = rc == SQLITE_DONE && sqlite3_changes(sq->db) > 0;
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The point (run, key, step) has a row: drop p if it holds the same value,
 * else replace the row by a new one (new id) and count it. */
static int sq_point_settle(sq_sink *sq, const sq_point *p)
{
    sqlite3_stmt *get = sq->st[SQ_POINT_GET];
    sqlite3_bind_int64(get, 1, p->run->row);
    sqlite3_bind_int64(get, 2, p->key_id);
    sqlite3_bind_int64(get, 3, p->step);
    int rc = sqlite3_step(get);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(get);
        return -1;
    }
    int64_t id = sqlite3_column_int64(get, 0);
    int stored_nan = sqlite3_column_int(get, 2);
    int stored_null = sqlite3_column_type(get, 1) == SQLITE_NULL;
    double stored = sqlite3_column_double(get, 1);
    sqlite3_reset(get);

    /* For non-NaN doubles == is bit equality except for the sign of zero,
       which SQLite does not keep (it stores -0.0 as 0). */
    int same = isnan(p->value) ? stored_nan
                               : !stored_nan && !stored_null && stored == p->value;
    if (same)
        return 0;

    sqlite3_stmt *del = sq->st[SQ_POINT_DELETE];
    sqlite3_bind_int64(del, 1, id);
    if (sq_run_stmt(del) != 0)
        return -1;
    int inserted;
    if (sq_insert_one(sq, p, &inserted) != 0 || !inserted)
        return -1;
    p->run->replaced_pending++;
    return 0;
}

/* Write the pending chunk: one multi-row insert when it is full, else one
 * insert per point; then settle the points that were not new. */
static int sq_chunk_flush(sq_sink *sq)
{
    int n = sq->nchunk;
    sq->nchunk = 0;
    if (n == 0)
        return 0;
    if (n < SQ_CHUNK) {
        for (int i = 0; i < n; i++) {
            int inserted;
            if (sq_insert_one(sq, &sq->chunk[i], &inserted) != 0)
                return -1;
            if (!inserted && sq_point_settle(sq, &sq->chunk[i]) != 0)
                return -1;
        }
        return 0;
    }
    sqlite3_stmt *ins = sq->st[SQ_POINT_INSERT_N];
    for (int i = 0; i < n; i++)
        sq_bind_point(ins, 7 * i, &sq->chunk[i]);
    int rc = sqlite3_step(ins);
    int changed = rc == SQLITE_DONE ? sqlite3_changes(sq->db) : 0;
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE)
        return -1;
    if (changed == n)
        return 0;
    /* Some were there already. Settling in order gives what inserting one
       by one would have: a point of this chunk finds either itself (equal,
       dropped) or the row it must replace. */
    for (int i = 0; i < n; i++)
        if (sq_point_settle(sq, &sq->chunk[i]) != 0)
            return -1;
    return 0;
}

static int sq_on_scalar(sq_sink *sq, sq_run *r, const lc_event *e)
{
    sq_key *k = e->tag < r->nkeys ? &r->keys[e->tag] : NULL;
    const char *key = lc_run_info_key(r->info, e->tag);
    if (!k || !k->original || !key) {
        /* No KEY event was ever seen for this tag: nothing to file it
           under. Counted, not fatal, so later batches still go in. */
        r->rejected_pending++;
        return 0;
    }
    if (k->id == 0 && sq_key_resolve(sq, r, k, key) != 0)
        return -1;
    sq_point *p = &sq->chunk[sq->nchunk++];
    p->run = r;
    p->key_id = k->id;
    p->step = e->step;
    p->rec = r->rec;
    p->value = e->value;
    p->wall_time = e->wall_time;
    return sq->nchunk == SQ_CHUNK ? sq_chunk_flush(sq) : 0;
}

static const char *sq_param_type(lc_param_type t)
{
    switch (t) {
    case LC_PARAM_INT: return "int";
    case LC_PARAM_DOUBLE: return "float";
    case LC_PARAM_BOOL: return "bool";
    case LC_PARAM_STR: break;
    }
    return "str";
}

static int sq_on_param(sq_sink *sq, sq_run *r, const lc_event *e)
{
    const lc_param_payload *p = e->payload;
    if (!p || !p->key) {
        r->rejected_pending++;
        return 0;
    }
    char buf[64];
    const char *text = p->text;
    if (!text) {
        if (p->type == LC_PARAM_DOUBLE)
            snprintf(buf, sizeof buf, "%.17g", p->d);
        else if (p->type == LC_PARAM_BOOL)
            snprintf(buf, sizeof buf, "%s", p->i ? "true" : "false");
        else
            snprintf(buf, sizeof buf, "%lld", (long long)p->i);
        text = buf;
    }
    sqlite3_stmt *st = sq->st[SQ_PARAM];
    sqlite3_bind_int64(st, 1, r->row);
    sq_bind_text(st, 2, p->key);
    sq_bind_text(st, 3, text);
    sqlite3_bind_text(st, 4, sq_param_type(p->type), -1, SQLITE_STATIC);
    if (sq_run_stmt(st) != 0)
        return -1;
    return p->key_changed && p->original ? sq_key_map(sq, r, p->original, p->key, "param") : 0;
}

static int sq_on_tag(sq_sink *sq, sq_run *r, const lc_event *e)
{
    const lc_kv_payload *p = e->payload;
    if (!p || !p->key) {
        r->rejected_pending++;
        return 0;
    }
    sqlite3_stmt *st = sq->st[SQ_TAG];
    sqlite3_bind_int64(st, 1, r->row);
    sq_bind_text(st, 2, p->key);
    sq_bind_text(st, 3, p->value);
    if (sq_run_stmt(st) != 0)
        return -1;
    return p->original ? sq_key_map(sq, r, p->original, p->key, "tag") : 0;
}

/* One media row. data/meta may be NULL; data_is_text stores data as TEXT
 * (readable in sqlite3) rather than a BLOB. */
static int sq_media_row(sq_sink *sq, sq_run *r, const lc_event *e, const char *kind,
                        const char *key, const void *data, size_t len, int data_is_text,
                        const char *path, const char *meta)
{
    sqlite3_stmt *st = sq->st[SQ_MEDIA];
    sqlite3_bind_int64(st, 1, r->row);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sq_bind_text(st, 3, key);
    sqlite3_bind_int64(st, 4, e->step);
    sqlite3_bind_double(st, 5, e->wall_time);
    if (!data)
        sqlite3_bind_null(st, 6);
    else if (data_is_text)
        sqlite3_bind_text64(st, 6, data, len, SQLITE_STATIC, SQLITE_UTF8);
    else
        sqlite3_bind_blob64(st, 6, data, len, SQLITE_STATIC);
    sq_bind_text(st, 7, path);
    sq_bind_text(st, 8, meta);
    int rc = sq_run_stmt(st);
    /* Drop pointers into the payload, which the dispatcher frees. */
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_on_media(sq_sink *sq, sq_run *r, const lc_event *e)
{
    if (!e->payload) {
        r->rejected_pending++;
        return 0;
    }
    int rc = -1;
    char *meta = NULL;
    switch (e->kind) {
    case LC_EV_TEXT: {
        const lc_text_payload *p = e->payload;
        const char *t = p->text ? p->text : "";
        return sq_media_row(sq, r, e, "text", p->key, t, strlen(t), 1, NULL, NULL);
    }
    case LC_EV_HISTOGRAM: {
        const lc_histogram *h = e->payload;
        unsigned char *blob;
        size_t len;
        if (lc_index_hist_encode(h, &blob, &len) != 0)
            return -1;
        if (!(meta = lc_index_hist_meta(h))) {
            free(blob);
            return -1;
        }
        rc = sq_media_row(sq, r, e, "histogram", h->key, blob ? (void *)blob : (void *)"", len,
                          0, NULL, meta);
        free(blob);
        break;
    }
    case LC_EV_IMAGE: {
        const lc_image_payload *p = e->payload;
        if (!(meta = lc_index_image_meta(p)))
            return -1;
        size_t len = (size_t)p->width * p->height * p->channels;
        rc = sq_media_row(sq, r, e, "image", p->key, p->pixels, p->pixels ? len : 0, 0, NULL,
                          meta);
        break;
    }
    case LC_EV_ARTIFACT: {
        const lc_artifact_payload *p = e->payload;
        if (!p->path) {
            r->rejected_pending++;
            return 0;
        }
        struct stat st;
        long long size = stat(p->path, &st) == 0 ? (long long)st.st_size : -1;
        if (!(meta = lc_index_artifact_meta(p->artifact_dir, size)))
            return -1;
        /* key: where the file lands among the run's artifacts. */
        const char *base = strrchr(p->path, '/');
        base = base ? base + 1 : p->path;
        size_t n = (p->artifact_dir ? strlen(p->artifact_dir) + 1 : 0) + strlen(base) + 1;
        char *key = malloc(n);
        if (!key)
            break;
        if (p->artifact_dir && *p->artifact_dir)
            snprintf(key, n, "%s/%s", p->artifact_dir, base);
        else
            snprintf(key, n, "%s", base);
        rc = sq_media_row(sq, r, e, "artifact", key, NULL, 0, 0, p->path, meta);
        free(key);
        break;
    }
    default:
        return 0;
    }
    free(meta);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Vtable                                                                    */

static lc_status sq_write_batch(lc_sink *s, const lc_event_batch *batch, char *err, size_t errlen)
{
    sq_sink *sq = s->state;
    if (!batch || batch->count == 0)
        return LC_OK;
    lc_status st = lc_index_begin(sq->db, err, errlen);
    if (st != LC_OK)
        return st;
    sq->txn++;
    sq->nchunk = 0;
    for (size_t i = 0; i < batch->count; i++) {
        const lc_event *e = &batch->events[i];
        /* A run this sink never opened (its open_run failed, which the hub
           reported) has no state here: its events are skipped. */
        sq_run *r = e->run ? e->run->sink_state[s->index] : NULL;
        if (!r)
            continue;
        if (sq_run_check(sq, r) != 0)
            goto fail;
        if (r->gone) {
            if (e->kind == LC_EV_SCALAR)
                r->dropped_pending++;
            continue;
        }
        int rc = 0;
        /* Points go in before any other event, in log order. */
        if (e->kind != LC_EV_SCALAR && sq->nchunk)
            rc = sq_chunk_flush(sq);
        if (rc == 0) {
            switch (e->kind) {
            case LC_EV_SCALAR: rc = sq_on_scalar(sq, r, e); break;
            case LC_EV_KEY: rc = sq_on_key(sq, r, e); break;
            case LC_EV_PARAM: rc = sq_on_param(sq, r, e); break;
            case LC_EV_TAG: rc = sq_on_tag(sq, r, e); break;
            case LC_EV_TEXT:
            case LC_EV_HISTOGRAM:
            case LC_EV_IMAGE:
            case LC_EV_ARTIFACT: rc = sq_on_media(sq, r, e); break;
            default: break;
            }
        }
        if (rc != 0)
            goto fail;
        if (e->flags & LC_EV_RECORD_END)
            r->rec++;
    }
    if (sq_chunk_flush(sq) != 0)
        goto fail;
    if ((st = lc_index_commit(sq->db, err, errlen)) != LC_OK) {
        sq_batch_rolled_back(sq);
        return st;
    }
    sq_batch_committed(sq);
    return LC_OK;

fail:
    sq->nchunk = 0;
    if (sqlite3_errcode(sq->db) == SQLITE_OK) {
        snprintf(err, errlen, "sqlite: out of memory while writing to %s", sq->path);
        st = LC_ERR_NOMEM;
    } else {
        lc_index_fail(sq->db, "cannot write to", err, errlen);
        st = lc_index_status(sq->db);
    }
    lc_index_rollback(sq->db);
    sq_batch_rolled_back(sq);
    return st;
}

/* dir relative to root when it lies under it. */
static const char *sq_rel_dir(const sq_sink *sq, const char *dir)
{
    if (!dir)
        return NULL;
    size_t n = strlen(sq->root);
    while (n > 1 && sq->root[n - 1] == '/')
        n--;
    if (strncmp(dir, sq->root, n) == 0 && dir[n] == '/')
        return dir + n + 1;
    return dir;
}

static sqlite3_stmt *sq_prepare(sq_sink *sq, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sq->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* Inside open_run's transaction: find or create the run's row. 0, or -1
 * with err; *exists_err is set when the run exists and is not resumed. */
static int sq_open_row(sq_sink *sq, lc_run_info *run, sq_run *r, int *exists_err, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st = sq_prepare(sq, "SELECT id FROM run_info WHERE experiment = ?1 AND name = ?2");
    if (!st)
        return lc_index_fail(sq->db, "cannot read", err, errlen);
    sq_bind_text(st, 1, run->experiment);
    sq_bind_text(st, 2, run->name);
    int rc = sqlite3_step(st);
    int exists = rc == SQLITE_ROW;
    if (exists)
        r->row = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return lc_index_fail(sq->db, "cannot read", err, errlen);

    if (exists && !run->resume) {
        *exists_err = 1;
        snprintf(err, errlen,
                 "run '%s/%s' already exists in %s; pass --resume (lc_run_options.resume) "
                 "to continue it, or choose another --name",
                 run->experiment, run->name, sq->path);
        return -1;
    }
    const char *dir = sq_rel_dir(sq, run->dir);
    if (!exists) {
        st = sq_prepare(sq, "INSERT INTO run_info(run_uuid, experiment, name, status, start_time,"
                            " host, pid, boot_id, proc_start, dir, degraded)"
                            " VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8, ?9, 0)");
        if (!st)
            return lc_index_fail(sq->db, "cannot write to", err, errlen);
        sq_bind_text(st, 1, run->id);
        sq_bind_text(st, 2, run->experiment);
        sq_bind_text(st, 3, run->name);
        sqlite3_bind_double(st, 4, run->start_time > 0 ? run->start_time : lc_wall_now());
        sq_bind_text(st, 5, run->host);
        sqlite3_bind_int64(st, 6, run->pid);
        sq_bind_text(st, 7, run->boot_id);
        sqlite3_bind_int64(st, 8, run->proc_start);
        sq_bind_text(st, 9, dir);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return lc_index_fail(sq->db, "cannot add the run to", err, errlen);
        r->row = sqlite3_last_insert_rowid(sq->db);
        return 0;
    }

    /* Resume: the existing row is the run (its uuid normally equals
       run->id, the hub keeps the id in the run dir). */
    st = sq_prepare(sq, "UPDATE run_info SET status = 'running', end_time = NULL, host = ?2,"
                        " pid = ?3, boot_id = ?4, proc_start = ?5, dir = ?6 WHERE id = ?1");
    if (!st)
        return lc_index_fail(sq->db, "cannot write to", err, errlen);
    sqlite3_bind_int64(st, 1, r->row);
    sq_bind_text(st, 2, run->host);
    sqlite3_bind_int64(st, 3, run->pid);
    sq_bind_text(st, 4, run->boot_id);
    sqlite3_bind_int64(st, 5, run->proc_start);
    sq_bind_text(st, 6, dir);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lc_index_fail(sq->db, "cannot resume the run in", err, errlen);

    if (run->restart) {
        /* Start over: nothing of the earlier attempts stays (their points
           are counted as discarded). Provenance tags follow at once. */
        static const char *const drop[] = {
            "DELETE FROM metric_point WHERE run_id = ?1",
            "DELETE FROM media WHERE run_id = ?1",
            "DELETE FROM param WHERE run_id = ?1",
            "DELETE FROM tag WHERE run_id = ?1",
            "DELETE FROM key_map WHERE run_id = ?1",
            "DELETE FROM metric_key WHERE run_id = ?1",
            "DELETE FROM counter WHERE run_id = ?1",
        };
        for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
            if (!(st = sq_prepare(sq, drop[i])))
                return lc_index_fail(sq->db, "cannot start the run over in", err, errlen);
            sqlite3_bind_int64(st, 1, r->row);
            rc = sqlite3_step(st);
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE)
                return lc_index_fail(sq->db, "cannot start the run over in", err, errlen);
            if (i == 0)
                r->discarded = (uint64_t)sqlite3_changes(sq->db);
        }
    } else if (run->resume_step >= 0) {
        static const char *const drop[] = {
            "DELETE FROM metric_point WHERE run_id = ?1 AND step > ?2",
            "DELETE FROM media WHERE run_id = ?1 AND step > ?2",
        };
        for (int i = 0; i < 2; i++) {
            if (!(st = sq_prepare(sq, drop[i])))
                return lc_index_fail(sq->db, "cannot resume the run in", err, errlen);
            sqlite3_bind_int64(st, 1, r->row);
            sqlite3_bind_int64(st, 2, run->resume_step);
            rc = sqlite3_step(st);
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE)
                return lc_index_fail(sq->db, "cannot drop resumed steps in", err, errlen);
            if (i == 0)
                r->discarded = (uint64_t)sqlite3_changes(sq->db);
        }
    }
    /* Continue the record numbering after the points kept. */
    st = sq_prepare(sq, "SELECT coalesce(max(rec) + 1, 0) FROM metric_point WHERE run_id = ?1");
    if (!st)
        return lc_index_fail(sq->db, "cannot read", err, errlen);
    sqlite3_bind_int64(st, 1, r->row);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r->rec = r->rec_committed = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : lc_index_fail(sq->db, "cannot read", err, errlen);
}

static lc_status sq_open_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    sq_sink *sq = s->state;
    if (!run->experiment || !run->name) {
        snprintf(err, errlen, "sqlite: a run needs an experiment and a name");
        return LC_ERR_INVALID;
    }
    /* Opened again (the hub retrying): start from a clean state. */
    sq_run *old = run->sink_state[s->index];
    if (old) {
        sq_run_unlink(sq, old);
        sq_run_free(old);
        run->sink_state[s->index] = NULL;
    }
    sq_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "sqlite: out of memory");
        return LC_ERR_NOMEM;
    }
    r->info = run;
    lc_status st = lc_index_begin(sq->db, err, errlen);
    if (st != LC_OK) {
        free(r);
        return st;
    }
    int exists_err = 0;
    if (sq_open_row(sq, run, r, &exists_err, err, errlen) != 0) {
        st = exists_err ? LC_ERR_EXISTS : lc_index_status(sq->db);
        goto fail;
    }
    for (size_t i = 0; run->tags && run->tags[i] && run->tags[i + 1]; i += 2) {
        sqlite3_stmt *stmt = sq->st[SQ_TAG];
        sqlite3_bind_int64(stmt, 1, r->row);
        sq_bind_text(stmt, 2, run->tags[i]);
        sq_bind_text(stmt, 3, run->tags[i + 1]);
        const char *orig = run->tag_originals ? run->tag_originals[i / 2] : NULL;
        if (sq_run_stmt(stmt) != 0 ||
            (orig && sq_key_map(sq, r, orig, run->tags[i], "tag") != 0)) {
            lc_index_fail(sq->db, "cannot write the run's tags to", err, errlen);
            st = lc_index_status(sq->db);
            goto fail;
        }
    }
    if ((st = lc_index_commit(sq->db, err, errlen)) != LC_OK) {
        free(r);
        return st;
    }
    if (r->discarded)
        atomic_fetch_add(&run->discarded, r->discarded);
    r->next = sq->runs;
    sq->runs = r;
    run->sink_state[s->index] = r;
    return LC_OK;
fail:
    lc_index_rollback(sq->db);
    free(r);
    return st;
}

static int sq_finish_rows(sq_sink *sq, lc_run_info *run, sq_run *r)
{
    sqlite3_stmt *st = sq_prepare(sq, "UPDATE run_info SET status = ?2, end_time = ?3,"
                                      " degraded = ?4 WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, r->row);
    sqlite3_bind_text(st, 2, lc_run_status_name(run->status), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, run->end_time > 0 ? run->end_time : lc_wall_now());
    sqlite3_bind_int(st, 4, atomic_load(&run->degraded) ? 1 : 0);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;

    st = sq_prepare(sq, "INSERT INTO counter(run_id, name, value) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT(run_id, name) DO UPDATE SET value = excluded.value");
    if (!st)
        return -1;
    const struct {
        const char *name;
        uint64_t value;
    } counters[] = {
        {"logged", atomic_load(&run->logged)},
        {"dropped", atomic_load(&run->dropped)},
        {"rejected", atomic_load(&run->rejected)},
        {"replaced", atomic_load(&run->replaced)},
        {"sink_errors", atomic_load(&run->sink_errors)},
        {"discarded", atomic_load(&run->discarded)},
        {"repaired", atomic_load(&run->repaired)},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        sqlite3_bind_int64(st, 1, r->row);
        sqlite3_bind_text(st, 2, counters[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)counters[i].value);
        if (sq_run_stmt(st) != 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);

    /* Delivery state per backend. A remote sink owns its cursor column,
       so an existing cursor is kept; local sinks have none (NULL). */
    st = sq_prepare(sq, "INSERT INTO sink_cursor(run_id, sink, cursor, state, last_error, updated)"
                        " VALUES (?1, ?2, NULL, ?3, ?4, ?5) ON CONFLICT(run_id, sink) DO UPDATE"
                        " SET state = excluded.state, last_error = excluded.last_error,"
                        " updated = excluded.updated");
    if (!st)
        return -1;
    int n = run->nsinks < 0 ? 0 : run->nsinks > LC_MAX_SINKS ? LC_MAX_SINKS : run->nsinks;
    double now = lc_wall_now();
    for (int i = 0; i < n; i++) {
        if (!run->sinks[i].name)
            continue;
        const char *last = run->sinks[i].last_error;
        sqlite3_bind_int64(st, 1, r->row);
        sq_bind_text(st, 2, run->sinks[i].name);
        sqlite3_bind_text(st, 3, run->sinks[i].errors ? "failed" : "ok", -1, SQLITE_STATIC);
        sq_bind_text(st, 4, last && *last ? last : NULL);
        sqlite3_bind_double(st, 5, now);
        if (sq_run_stmt(st) != 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    return 0;
}

static lc_status sq_finish_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    sq_sink *sq = s->state;
    sq_run *r = run->sink_state[s->index];
    if (!r)
        return LC_OK; /* never opened here: nothing to finish */
    lc_status st = lc_index_begin(sq->db, err, errlen);
    if (st != LC_OK)
        return st;
    sq->txn++;
    if (sq_run_check(sq, r) == 0 && r->gone) {
        /* Nothing to record it in: say so, and forget the run. */
        lc_index_rollback(sq->db);
        sq_gone_message(r, err, errlen);
        sq_run_unlink(sq, r);
        sq_run_free(r);
        run->sink_state[s->index] = NULL;
        return LC_ERR_NOT_FOUND;
    }
    if (sq_finish_rows(sq, run, r) != 0) {
        lc_index_fail(sq->db, "cannot finish the run in", err, errlen);
        st = lc_index_status(sq->db);
        lc_index_rollback(sq->db);
        return st; /* state kept: the hub may call finish_run again */
    }
    if ((st = lc_index_commit(sq->db, err, errlen)) != LC_OK)
        return st;
    sq_run_unlink(sq, r);
    sq_run_free(r);
    run->sink_state[s->index] = NULL;
    return LC_OK;
}

static lc_status sq_flush(lc_sink *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    sq_sink *sq = s->state;
    /* Every batch is already committed. A passive checkpoint copies the
       WAL back into the database without waiting for readers, so the WAL
       stays small; if it cannot run now, the next one will. */
    sqlite3_wal_checkpoint_v2(sq->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return LC_OK;
}

/* The run's points with step <= max_step, record by record (resume repair:
 * the index is the source of truth). One malloc'd block: the points, then
 * their keys. */
static lc_status sq_read_points(lc_sink *s, lc_run_info *run, int64_t max_step, lc_point **out,
                                size_t *nout, char *err, size_t errlen)
{
    sq_sink *sq = s->state;
    sq_run *r = run->sink_state[s->index];
    *out = NULL;
    *nout = 0;
    if (!r)
        return LC_OK; /* never opened here */
    sqlite3_stmt *st = sq_prepare(sq, "SELECT k.key, p.step, p.value, p.is_nan, p.wall_time, p.rec"
                                      " FROM metric_point p JOIN metric_key k ON k.id = p.key_id"
                                      " WHERE p.run_id = ?1 AND p.step <= ?2 ORDER BY p.rec, p.id");
    if (!st) {
        lc_index_fail(sq->db, "cannot read", err, errlen);
        return lc_index_status(sq->db);
    }
    lc_status status = LC_ERR_NOMEM;
    size_t n = 0, cap = 0, text = 0, tcap = 0;
    lc_point *pts = NULL;
    char *keys = NULL;
    size_t *koff = NULL;
    int rc;
    sqlite3_bind_int64(st, 1, r->row);
    sqlite3_bind_int64(st, 2, max_step);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        size_t kl = key ? strlen(key) + 1 : 1;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            lc_point *np = realloc(pts, cap * sizeof *np);
            size_t *no = realloc(koff, cap * sizeof *no);
            if (np)
                pts = np;
            if (no)
                koff = no;
            if (!np || !no)
                goto nomem;
        }
        if (text + kl > tcap) {
            tcap = tcap ? tcap * 2 : 16384;
            while (text + kl > tcap)
                tcap *= 2;
            char *nk = realloc(keys, tcap);
            if (!nk)
                goto nomem;
            keys = nk;
        }
        memcpy(keys + text, key ? key : "", kl);
        koff[n] = text;
        text += kl;
        pts[n].step = sqlite3_column_int64(st, 1);
        pts[n].value = sqlite3_column_int(st, 3) ? NAN : sqlite3_column_double(st, 2);
        pts[n].wall_time = sqlite3_column_double(st, 4);
        pts[n].rec = sqlite3_column_int64(st, 5);
        n++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        lc_index_fail(sq->db, "cannot read", err, errlen);
        status = lc_index_status(sq->db);
        goto fail;
    }
    if (n) {
        /* one block: points, then keys */
        lc_point *blk = malloc(n * sizeof *blk + text);
        if (!blk)
            goto nomem;
        char *kt = (char *)(blk + n);
        memcpy(kt, keys, text);
        for (size_t i = 0; i < n; i++) {
            blk[i] = pts[i];
            blk[i].key = kt + koff[i];
        }
        *out = blk;
        *nout = n;
    }
    free(pts);
    free(keys);
    free(koff);
    return LC_OK;
nomem:
    snprintf(err, errlen, "sqlite: out of memory reading the run's points from %s", sq->path);
fail:
    sqlite3_finalize(st);
    free(pts);
    free(keys);
    free(koff);
    return status;
}

static void sq_close(lc_sink *s)
{
    sq_sink *sq = s->state;
    if (!sq)
        return;
    /* Runs still open here are the hub's to report; their lc_run_info may
       already be gone, so it is not touched. */
    while (sq->runs) {
        sq_run *r = sq->runs;
        sq->runs = r->next;
        sq_run_free(r);
    }
    for (int i = 0; i < SQ_NSTMT; i++)
        sqlite3_finalize(sq->st[i]);
    sqlite3_close(sq->db);
    free(sq->root);
    free(sq->path);
    free(sq);
    s->state = NULL;
}

static const lc_sink_vtable sq_vtable = {
    .name = "sqlite",
    .open_run = sq_open_run,
    .write_batch = sq_write_batch,
    .flush = sq_flush,
    .finish_run = sq_finish_run,
    .close = sq_close,
    .read_points = sq_read_points,
};

lc_status lc_sink_sqlite_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen)
{
    lc_status st = LC_ERR_NOMEM;
    if (!cfg || !cfg->root || !*cfg->root) {
        snprintf(err, errlen, "sqlite: no run root given");
        return LC_ERR_INVALID;
    }
    sq_sink *sq = calloc(1, sizeof *sq);
    if (!sq)
        goto nomem;
    sq->root = strdup(cfg->root);
    size_t n = strlen(cfg->root) + sizeof "/" LC_INDEX_FILE;
    sq->path = malloc(n);
    if (!sq->root || !sq->path)
        goto nomem;
    snprintf(sq->path, n, "%s/%s", cfg->root, LC_INDEX_FILE);
    if (lc_index_open(cfg->root, 0, &sq->db, err, errlen) != 0) {
        st = LC_ERR_IO;
        goto fail;
    }
    /* The chunk insert: SQ_POINT_COLS + SQ_CHUNK rows of placeholders. */
    char chunk_sql[sizeof SQ_POINT_COLS + SQ_CHUNK * sizeof "," SQ_POINT_ROW];
    size_t off = (size_t)snprintf(chunk_sql, sizeof chunk_sql, "%s", SQ_POINT_COLS);
    for (int i = 0; i < SQ_CHUNK; i++)
        off += (size_t)snprintf(chunk_sql + off, sizeof chunk_sql - off, "%s" SQ_POINT_ROW,
                                i ? "," : "");
    for (int i = 0; i < SQ_NSTMT; i++) {
        const char *sql = i == SQ_POINT_INSERT_N ? chunk_sql : sq_sql[i];
        if (sqlite3_prepare_v3(sq->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &sq->st[i],
                               NULL) != SQLITE_OK) {
            lc_index_fail(sq->db, "cannot prepare statements for", err, errlen);
            st = lc_index_status(sq->db);
            goto fail;
        }
    }
    out->vt = &sq_vtable;
    out->state = sq;
    return LC_OK;
nomem:
    snprintf(err, errlen, "sqlite: out of memory");
fail:
    if (sq) {
        for (int i = 0; i < SQ_NSTMT; i++)
            sqlite3_finalize(sq->st[i]);
        sqlite3_close(sq->db);
        free(sq->root);
        free(sq->path);
        free(sq);
    }
    return st;
}
