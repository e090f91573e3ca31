/*
 * loggers/index/outbox.c — the run index read as the outbox (outbox.h):
 * items after a cursor in sequence order, the delivery rows, leases.
 *
 * Reading: metric points are found by their id (a rowid range scan from
 * the cursor, "+run_id" keeps the planner off the (run_id, step, key_id)
 * index so no sort is needed); the few other items (params, tags, text and
 * artifact media, the run's end) by their seq column. Both lists come
 * sorted and are merged here, so a chunk costs O(chunk), also for a run
 * with millions of points waiting.
 */
#include "outbox.h"
#include "index_schema.h"
#include "common/clock.h"
#include "common/proc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

struct lc_outbox {
    sqlite3 *db;
    /* identity leases are taken under */
    char token[33];
    long long pid, start;
    char host[256];
    char boot[64];
    /* the last read's items and their strings */
    lc_outbox_item *items;
    size_t cap;
    char *text;
    size_t tlen, tcap;
    size_t *koff, *toff;      /* offsets into text (SIZE_MAX: NULL) */
    /* the two reads, prepared once (a read per request of up to 1000
       items; parsing them each time showed in the shipper's profile) */
    sqlite3_stmt *read_points, *read_others;
};

/* ------------------------------------------------------------------------ */
/* Open, close                                                               */

lc_status lc_outbox_open(const char *root, lc_outbox **out, char *err, size_t errlen)
{
    *out = NULL;
    lc_outbox *ob = calloc(1, sizeof *ob);
    if (!ob) {
        snprintf(err, errlen, "outbox: out of memory");
        return LC_ERR_NOMEM;
    }
    if (lc_index_open(root, 0, &ob->db, err, errlen) != 0) {
        free(ob);
        return LC_ERR_IO;
    }
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* no entropy source: time and address still tell holders apart */
        uint64_t t = (uint64_t)(lc_wall_now() * 1e6) ^ (uint64_t)(uintptr_t)ob;
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)i;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(ob->token + 2 * i, 3, "%02x", rnd[i]);
    ob->pid = (long long)getpid();
    ob->start = lc_proc_start(ob->pid);
    if (gethostname(ob->host, sizeof ob->host) != 0)
        ob->host[0] = 0;
    ob->host[sizeof ob->host - 1] = 0;
    lc_boot_id(ob->boot, sizeof ob->boot);
    *out = ob;
    return LC_OK;
}

void lc_outbox_close(lc_outbox *ob)
{
    if (!ob)
        return;
    sqlite3_finalize(ob->read_points);
    sqlite3_finalize(ob->read_others);
    sqlite3_close(ob->db);
    free(ob->items);
    free(ob->text);
    free(ob->koff);
    free(ob->toff);
    free(ob);
}

static lc_status ob_fail(lc_outbox *ob, const char *what, char *err, size_t errlen)
{
    lc_index_fail(ob->db, what, err, errlen);
    return lc_index_status(ob->db);
}

static sqlite3_stmt *ob_prepare(lc_outbox *ob, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

static void ob_copy(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

lc_run_status lc_outbox_status_of(const char *name)
{
    int s = lc_run_status_parse(name);
    return s < 0 ? LC_RUN_RUNNING : (lc_run_status)s;
}

/* ------------------------------------------------------------------------ */
/* A run and its delivery                                                    */

void lc_outbox_run_clear(lc_outbox_run *r)
{
    if (!r)
        return;
    free(r->experiment);
    free(r->name);
    free(r->dir);
    for (size_t i = 0; r->tags && r->tags[i]; i++)
        free(r->tags[i]);
    free(r->tags);
    memset(r, 0, sizeof *r);
}

static char *ob_dup(const unsigned char *s)
{
    return strdup(s ? (const char *)s : "");
}

static int ob_load_tags(lc_outbox *ob, lc_outbox_run *r)
{
    sqlite3_stmt *st = ob_prepare(ob, "SELECT key, value FROM tag WHERE run_id = ?1 ORDER BY key");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, r->row);
    size_t n = 0, cap = 16;
    char **kv = calloc(cap + 1, sizeof *kv);
    int rc = kv ? SQLITE_ROW : SQLITE_NOMEM;
    while (kv && (rc = lc_index_step(st)) == SQLITE_ROW) {
        if (n + 2 >= cap) {
            char **nk = realloc(kv, (cap * 2 + 1) * sizeof *nk);
            if (!nk) {
                rc = SQLITE_NOMEM;
                break;
            }
            kv = nk;
            cap *= 2;
        }
        kv[n] = ob_dup(sqlite3_column_text(st, 0));
        kv[n + 1] = ob_dup(sqlite3_column_text(st, 1));
        kv[n + 2] = NULL;
        if (!kv[n] || !kv[n + 1]) {
            free(kv[n]);
            free(kv[n + 1]);
            kv[n] = NULL;
            rc = SQLITE_NOMEM;
            break;
        }
        n += 2;
    }
    sqlite3_finalize(st);
    r->tags = kv;
    return rc == SQLITE_DONE ? 0 : -1;
}

lc_status lc_outbox_load(lc_outbox *ob, const char *run_uuid, const char *backend,
                         lc_outbox_run *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = ob_prepare(
        ob, "SELECT r.id, r.run_uuid, r.experiment, r.name, r.dir, r.start_time, r.status,"
            " r.end_seq, d.run_id, d.cursor, d.state, d.remote_id, d.remote_url,"
            " d.pending_since, d.last_error, d.shipped, d.remote_state"
            " FROM run_info r LEFT JOIN delivery d ON d.run_id = r.id AND d.backend = ?2"
            " WHERE r.run_uuid = ?1");
    if (!st)
        return ob_fail(ob, "cannot read", err, errlen);
    sqlite3_bind_text(st, 1, run_uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, backend ? backend : "", -1, SQLITE_STATIC);
    int rc = lc_index_step(st);
    if (rc != SQLITE_ROW) {
        lc_status s = rc == SQLITE_DONE ? LC_ERR_NOT_FOUND : ob_fail(ob, "cannot read", err, errlen);
        if (rc == SQLITE_DONE)
            snprintf(err, errlen, "no run %s in the index", run_uuid);
        sqlite3_finalize(st);
        return s;
    }
    out->row = sqlite3_column_int64(st, 0);
    ob_copy(out->uuid, sizeof out->uuid, sqlite3_column_text(st, 1));
    out->experiment = ob_dup(sqlite3_column_text(st, 2));
    out->name = ob_dup(sqlite3_column_text(st, 3));
    out->dir = ob_dup(sqlite3_column_text(st, 4));
    out->start_time = sqlite3_column_double(st, 5);
    out->status = lc_outbox_status_of((const char *)sqlite3_column_text(st, 6));
    out->ended = sqlite3_column_type(st, 7) != SQLITE_NULL;
    out->end_seq = sqlite3_column_int64(st, 7);
    out->has_delivery = sqlite3_column_type(st, 8) != SQLITE_NULL;
    out->cursor = sqlite3_column_int64(st, 9);
    ob_copy(out->state, sizeof out->state, sqlite3_column_text(st, 10));
    ob_copy(out->remote_id, sizeof out->remote_id, sqlite3_column_text(st, 11));
    ob_copy(out->remote_url, sizeof out->remote_url, sqlite3_column_text(st, 12));
    out->pending_since = sqlite3_column_double(st, 13);
    ob_copy(out->last_error, sizeof out->last_error, sqlite3_column_text(st, 14));
    out->shipped = (uint64_t)sqlite3_column_int64(st, 15);
    ob_copy(out->remote_state, sizeof out->remote_state, sqlite3_column_text(st, 16));
    sqlite3_finalize(st);
    if (!out->experiment || !out->name || !out->dir || ob_load_tags(ob, out) != 0) {
        lc_outbox_run_clear(out);
        snprintf(err, errlen, "outbox: out of memory or unreadable tags in the index");
        return LC_ERR_NOMEM;
    }
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Reading items                                                             */

#define OB_NONE ((size_t)-1)

static int ob_grow(lc_outbox *ob, size_t n)
{
    if (n <= ob->cap)
        return 0;
    size_t cap = ob->cap ? ob->cap : 256;
    while (cap < n)
        cap *= 2;
    lc_outbox_item *it = realloc(ob->items, cap * sizeof *it);
    if (it)
        ob->items = it;
    size_t *k = realloc(ob->koff, cap * sizeof *k);
    if (k)
        ob->koff = k;
    size_t *t = realloc(ob->toff, cap * sizeof *t);
    if (t)
        ob->toff = t;
    if (!it || !k || !t)
        return -1;
    ob->cap = cap;
    return 0;
}

/* Append a string to the text buffer; its offset, or OB_NONE for NULL. */
static size_t ob_text(lc_outbox *ob, const unsigned char *s, int *oom)
{
    if (!s)
        return OB_NONE;
    size_t l = strlen((const char *)s) + 1;
    if (ob->tlen + l > ob->tcap) {
        size_t cap = ob->tcap ? ob->tcap : 16384;
        while (cap < ob->tlen + l)
            cap *= 2;
        char *t = realloc(ob->text, cap);
        if (!t) {
            *oom = 1;
            return OB_NONE;
        }
        ob->text = t;
        ob->tcap = cap;
    }
    memcpy(ob->text + ob->tlen, s, l);
    ob->tlen += l;
    return ob->tlen - l;
}

/* Fill items[at..] from a statement's rows: points (is_point) or others. */
static int ob_fill(lc_outbox *ob, sqlite3_stmt *st, int is_point, size_t at, size_t *n)
{
    int rc, oom = 0;
    size_t i = at;
    while ((rc = lc_index_step(st)) == SQLITE_ROW) {
        if (ob_grow(ob, i + 1) != 0)
            return -1;
        lc_outbox_item *it = &ob->items[i];
        memset(it, 0, sizeof *it);
        it->seq = sqlite3_column_int64(st, 0);
        if (is_point) {
            /* id, key, value, is_nan, step, wall_time, rec */
            it->kind = LC_OB_METRIC;
            ob->koff[i] = ob_text(ob, sqlite3_column_text(st, 1), &oom);
            ob->toff[i] = OB_NONE;
            it->value = sqlite3_column_int(st, 3) ? NAN : sqlite3_column_double(st, 2);
            it->step = sqlite3_column_int64(st, 4);
            it->wall_time = sqlite3_column_double(st, 5);
            it->rec = sqlite3_column_int64(st, 6);
        } else {
            /* seq, kind, key, text, step, wall_time */
            it->kind = (lc_outbox_kind)sqlite3_column_int(st, 1);
            const unsigned char *key = sqlite3_column_text(st, 2);
            if (it->kind == LC_OB_END) {
                it->status = lc_outbox_status_of((const char *)key);
                ob->koff[i] = OB_NONE;
            } else {
                ob->koff[i] = ob_text(ob, key, &oom);
            }
            ob->toff[i] = ob_text(ob, sqlite3_column_text(st, 3), &oom);
            it->step = sqlite3_column_int64(st, 4);
            it->wall_time = sqlite3_column_double(st, 5);
        }
        if (oom)
            return -1;
        i++;
    }
    *n = i - at;
    return rc == SQLITE_DONE ? 0 : -1;
}

static const char ob_points_sql[] =
    "SELECT p.id, k.key, p.value, p.is_nan, p.step, p.wall_time, p.rec"
    " FROM metric_point p JOIN metric_key k ON k.id = p.key_id"
    " WHERE p.id > ?2 AND +p.run_id = ?1 ORDER BY p.id LIMIT ?3";

static const char ob_others_sql[] =
    "SELECT seq, kind, key, text, step, wall_time FROM ("
    " SELECT seq, 1 AS kind, key, value AS text, 0 AS step, 0.0 AS wall_time"
    "  FROM param WHERE run_id = ?1 AND seq > ?2"
    " UNION ALL SELECT seq, 2, key, value, 0, 0.0 FROM tag WHERE run_id = ?1 AND seq > ?2"
    " UNION ALL SELECT seq, CASE kind WHEN 'text' THEN 4 ELSE 5 END, key,"
    "  CASE kind WHEN 'text' THEN CAST(data AS TEXT) ELSE path END, step, wall_time"
    "  FROM media WHERE run_id = ?1 AND seq > ?2"
    " UNION ALL SELECT end_seq, 6, status, NULL, 0, coalesce(end_time,"
    "  (SELECT max(wall_time) FROM metric_point WHERE run_id = ?1), start_time)"
    "  FROM run_info WHERE id = ?1 AND end_seq > ?2"
    ") ORDER BY seq LIMIT ?3";

lc_status lc_outbox_read(lc_outbox *ob, int64_t row, int64_t after, size_t max,
                         const lc_outbox_item **items, size_t *n, char *err, size_t errlen)
{
    *items = NULL;
    *n = 0;
    if (max == 0)
        return LC_OK;
    ob->tlen = 0;
    if (!ob->read_points)
        ob->read_points = ob_prepare(ob, ob_points_sql);
    if (!ob->read_others)
        ob->read_others = ob_prepare(ob, ob_others_sql);
    sqlite3_stmt *pts = ob->read_points, *oth = ob->read_others;
    if (!pts || !oth)
        return ob_fail(ob, "cannot read the outbox in", err, errlen);
    sqlite3_stmt *s[2] = {pts, oth};
    for (int i = 0; i < 2; i++) {
        sqlite3_bind_int64(s[i], 1, row);
        sqlite3_bind_int64(s[i], 2, after);
        sqlite3_bind_int64(s[i], 3, (sqlite3_int64)max);
    }
    /* One read transaction for both, so they see the same commit. */
    lc_status status = LC_OK;
    size_t np = 0, no = 0;
    if (sqlite3_exec(ob->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        ob_fill(ob, pts, 1, 0, &np) != 0 || ob_fill(ob, oth, 0, np, &no) != 0)
        status = ob_fail(ob, "cannot read the outbox in", err, errlen);
    /* reset before COMMIT: a statement left mid-read holds the read open */
    sqlite3_reset(pts);
    sqlite3_reset(oth);
    if (!sqlite3_get_autocommit(ob->db))
        sqlite3_exec(ob->db, "COMMIT", NULL, NULL, NULL);
    if (status != LC_OK)
        return status;
    if (np + no == 0)
        return LC_OK;

    /* Merge the two sorted runs [0, np) and [np, np + no) by seq into a
       second array, keep the first max. */
    size_t total = np + no, keep = total < max ? total : max;
    lc_outbox_item *m = malloc(keep * sizeof *m);
    size_t *mk = malloc(keep * sizeof *mk), *mt = malloc(keep * sizeof *mt);
    if (!m || !mk || !mt) {
        free(m);
        free(mk);
        free(mt);
        snprintf(err, errlen, "outbox: out of memory");
        return LC_ERR_NOMEM;
    }
    size_t a = 0, b = np;
    for (size_t k = 0; k < keep; k++) {
        size_t src = (b >= total || (a < np && ob->items[a].seq < ob->items[b].seq)) ? a++ : b++;
        m[k] = ob->items[src];
        mk[k] = ob->koff[src];
        mt[k] = ob->toff[src];
    }
    for (size_t k = 0; k < keep; k++) {
        ob->items[k] = m[k];
        ob->items[k].key = mk[k] == OB_NONE ? NULL : ob->text + mk[k];
        ob->items[k].text = mt[k] == OB_NONE ? NULL : ob->text + mt[k];
    }
    free(m);
    free(mk);
    free(mt);
    *items = ob->items;
    *n = keep;
    return LC_OK;
}

lc_status lc_outbox_count(lc_outbox *ob, int64_t row, int64_t after, uint64_t *n, char *err,
                          size_t errlen)
{
    *n = 0;
    sqlite3_stmt *st = ob_prepare(
        ob, "SELECT (SELECT count(*) FROM metric_point WHERE run_id = ?1 AND id > ?2)"
            " + (SELECT count(*) FROM param WHERE run_id = ?1 AND seq > ?2)"
            " + (SELECT count(*) FROM tag WHERE run_id = ?1 AND seq > ?2)"
            " + (SELECT count(*) FROM media WHERE run_id = ?1 AND seq > ?2)"
            " + (SELECT count(*) FROM run_info WHERE id = ?1 AND end_seq > ?2)");
    if (!st)
        return ob_fail(ob, "cannot read the outbox in", err, errlen);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_int64(st, 2, after);
    int rc = lc_index_step(st);
    if (rc == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? LC_OK : ob_fail(ob, "cannot read the outbox in", err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Delivery rows                                                             */

/* Run one write statement (bound by bind) in its own transaction. *changes
 * gets sqlite3_changes. */
static lc_status ob_write(lc_outbox *ob, sqlite3_stmt *st, int *changes, char *err,
                          size_t errlen)
{
    lc_status s = lc_index_begin(ob->db, err, errlen);
    if (s != LC_OK) {
        sqlite3_finalize(st);
        return s;
    }
    int rc = lc_index_step(st);
    if (changes)
        *changes = sqlite3_changes(ob->db);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        s = ob_fail(ob, "cannot update deliveries in", err, errlen);
        sqlite3_finalize(st);
        lc_index_rollback(ob->db);
        return s;
    }
    sqlite3_finalize(st);
    return lc_index_commit(ob->db, err, errlen);
}

lc_status lc_outbox_ensure(lc_outbox *ob, int64_t row, const char *backend, char *err,
                           size_t errlen)
{
    sqlite3_stmt *st = ob_prepare(ob, "INSERT INTO delivery(run_id, backend, state, pending_since,"
                                      " updated) VALUES (?1, ?2, 'pending', ?3, ?3)"
                                      " ON CONFLICT(run_id, backend) DO NOTHING");
    if (!st)
        return ob_fail(ob, "cannot update deliveries in", err, errlen);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, lc_wall_now());
    return ob_write(ob, st, NULL, err, errlen);
}

lc_status lc_outbox_lease(lc_outbox *ob, int64_t row, const char *backend, uint32_t ttl_ms,
                          char *err, size_t errlen)
{
    lc_status s = lc_index_begin(ob->db, err, errlen);
    if (s != LC_OK)
        return s;
    sqlite3_stmt *st = ob_prepare(ob, "SELECT lease_token, lease_pid, lease_host, lease_boot,"
                                      " lease_start, lease_expires FROM delivery"
                                      " WHERE run_id = ?1 AND backend = ?2");
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    int rc = lc_index_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        lc_index_rollback(ob->db);
        if (rc != SQLITE_DONE)
            return ob_fail(ob, "cannot read deliveries in", err, errlen);
        snprintf(err, errlen, "no %s delivery for this run", backend);
        return LC_ERR_NOT_FOUND;
    }
    double now = lc_wall_now();
    const char *tok = (const char *)sqlite3_column_text(st, 0);
    long long pid = sqlite3_column_int64(st, 1);
    const char *host = (const char *)sqlite3_column_text(st, 2);
    const char *boot = (const char *)sqlite3_column_text(st, 3);
    long long start = sqlite3_column_int64(st, 4);
    double expires = sqlite3_column_double(st, 5);
    int free_now = !tok || strcmp(tok, ob->token) == 0 || expires <= now ||
                   (host && strcmp(host, ob->host) == 0 && pid != ob->pid &&
                    lc_index_process_gone(pid, boot, start));
    if (!free_now) {
        snprintf(err, errlen, "pid %lld on %s holds it for %.0f s more", pid, host ? host : "?",
                 expires - now);
        sqlite3_finalize(st);
        lc_index_rollback(ob->db);
        return LC_ERR_BUSY;
    }
    sqlite3_finalize(st);
    st = ob_prepare(ob, "UPDATE delivery SET lease_token = ?3, lease_pid = ?4, lease_host = ?5,"
                        " lease_boot = ?6, lease_start = ?7, lease_expires = ?8"
                        " WHERE run_id = ?1 AND backend = ?2");
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ob->token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ob->pid);
    sqlite3_bind_text(st, 5, ob->host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, ob->boot, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, ob->start);
    sqlite3_bind_double(st, 8, now + ttl_ms / 1000.0);
    rc = lc_index_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto fail;
    return lc_index_commit(ob->db, err, errlen);
fail:
    s = ob_fail(ob, "cannot take a delivery lease in", err, errlen);
    lc_index_rollback(ob->db);
    return s;
}

lc_status lc_outbox_release(lc_outbox *ob, int64_t row, const char *backend)
{
    char err[256];
    sqlite3_stmt *st = ob_prepare(ob, "UPDATE delivery SET lease_token = NULL, lease_pid = NULL,"
                                      " lease_host = NULL, lease_boot = NULL, lease_start = NULL,"
                                      " lease_expires = NULL"
                                      " WHERE run_id = ?1 AND backend = ?2 AND lease_token = ?3");
    if (!st)
        return lc_index_status(ob->db);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ob->token, -1, SQLITE_STATIC);
    return ob_write(ob, st, NULL, err, sizeof err);
}

static lc_status ob_lost(int changes, const char *backend, char *err, size_t errlen)
{
    if (changes > 0)
        return LC_OK;
    snprintf(err, errlen, "%s: the delivery lease was lost to another process", backend);
    return LC_ERR_STATE;
}

lc_status lc_outbox_advance(lc_outbox *ob, int64_t row, const char *backend, int64_t cursor,
                            uint64_t shipped, const char *remote_state, char *err,
                            size_t errlen)
{
    sqlite3_stmt *st = ob_prepare(ob, "UPDATE delivery SET cursor = max(cursor, ?4),"
                                      " shipped = shipped + ?5, updated = ?6,"
                                      " remote_state = coalesce(?7, remote_state)"
                                      " WHERE run_id = ?1 AND backend = ?2 AND lease_token = ?3");
    if (!st)
        return ob_fail(ob, "cannot update deliveries in", err, errlen);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ob->token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, cursor);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)shipped);
    sqlite3_bind_double(st, 6, lc_wall_now());
    if (remote_state)
        sqlite3_bind_text(st, 7, remote_state, -1, SQLITE_STATIC);
    int changes = 0;
    lc_status s = ob_write(ob, st, &changes, err, errlen);
    return s != LC_OK ? s : ob_lost(changes, backend, err, errlen);
}

lc_status lc_outbox_set_remote(lc_outbox *ob, int64_t row, const char *backend,
                               const char *remote_id, const char *remote_url,
                               const char *remote_state, char *err, size_t errlen)
{
    sqlite3_stmt *st = ob_prepare(ob, "UPDATE delivery SET remote_id = ?4, remote_url = ?5,"
                                      " remote_state = coalesce(?6, remote_state)"
                                      " WHERE run_id = ?1 AND backend = ?2 AND lease_token = ?3");
    if (!st)
        return ob_fail(ob, "cannot update deliveries in", err, errlen);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ob->token, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, remote_id && *remote_id ? remote_id : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, remote_url && *remote_url ? remote_url : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, remote_state && *remote_state ? remote_state : NULL, -1,
                      SQLITE_STATIC);
    int changes = 0;
    lc_status s = ob_write(ob, st, &changes, err, errlen);
    return s != LC_OK ? s : ob_lost(changes, backend, err, errlen);
}

lc_status lc_outbox_set_state(lc_outbox *ob, int64_t row, const char *backend, const char *state,
                              const char *error, char *state_out, size_t state_len, char *err,
                              size_t errlen)
{
    const char *sql;
    if (strcmp(state, "delivered") == 0)
        sql = "UPDATE delivery SET state = 'delivered', pending_since = NULL, last_error = NULL,"
              " updated = ?5 WHERE run_id = ?1 AND backend = ?2 AND lease_token = ?3"
              " AND cursor >= (SELECT end_seq FROM run_info WHERE id = ?1)";
    else if (strcmp(state, "failed") == 0)
        sql = "UPDATE delivery SET state = 'failed', last_error = ?4, failures = failures + 1,"
              " pending_since = coalesce(pending_since, ?5), updated = ?5"
              " WHERE run_id = ?1 AND backend = ?2 AND lease_token = ?3";
    else
        sql = "UPDATE delivery SET state = 'pending', last_error = coalesce(?4, last_error),"
              " failures = failures + (?4 IS NOT NULL),"
              " pending_since = coalesce(pending_since, ?5), updated = ?5"
              " WHERE run_id = ?1 AND backend = ?2 AND lease_token = ?3";
    sqlite3_stmt *st = ob_prepare(ob, sql);
    if (!st)
        return ob_fail(ob, "cannot update deliveries in", err, errlen);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ob->token, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 4)
        sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, lc_wall_now());
    lc_status s = ob_write(ob, st, NULL, err, errlen);
    if (s != LC_OK || !state_out)
        return s;
    st = ob_prepare(ob, "SELECT state FROM delivery WHERE run_id = ?1 AND backend = ?2");
    if (!st)
        return ob_fail(ob, "cannot read deliveries in", err, errlen);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
    state_out[0] = 0;
    if (lc_index_step(st) == SQLITE_ROW)
        ob_copy(state_out, state_len, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return LC_OK;
}

lc_status lc_outbox_each_delivery(lc_outbox *ob, const char *run_uuid, const char *backend,
                                  int undelivered,
                                  int (*fn)(void *ctx, const char *run_uuid, const char *backend),
                                  void *ctx, char *err, size_t errlen)
{
    sqlite3_stmt *st = ob_prepare(ob, "SELECT r.run_uuid, d.backend FROM delivery d"
                                      " JOIN run_info r ON r.id = d.run_id"
                                      " WHERE (?1 IS NULL OR d.backend = ?1)"
                                      " AND (?2 IS NULL OR r.run_uuid = ?2)"
                                      " AND (?3 = 0 OR d.state <> 'delivered')"
                                      " ORDER BY d.run_id, d.backend");
    if (!st)
        return ob_fail(ob, "cannot read deliveries in", err, errlen);
    sqlite3_bind_text(st, 1, backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, run_uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, undelivered);
    /* collect first: fn writes on this connection */
    size_t n = 0, cap = 0;
    char (*list)[2][64] = NULL;
    int rc;
    while ((rc = lc_index_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            void *nl = realloc(list, cap * sizeof *list);
            if (!nl) {
                free(list);
                sqlite3_finalize(st);
                snprintf(err, errlen, "outbox: out of memory");
                return LC_ERR_NOMEM;
            }
            list = nl;
        }
        ob_copy(list[n][0], sizeof list[n][0], sqlite3_column_text(st, 0));
        ob_copy(list[n][1], sizeof list[n][1], sqlite3_column_text(st, 1));
        n++;
    }
    lc_status s = rc == SQLITE_DONE ? LC_OK : ob_fail(ob, "cannot read deliveries in", err, errlen);
    sqlite3_finalize(st);
    for (size_t i = 0; s == LC_OK && i < n; i++)
        if (fn(ctx, list[i][0], list[i][1]) != 0)
            break;
    free(list);
    return s;
}

int lc_outbox_mark_crashed(lc_outbox *ob, char *err, size_t errlen)
{
    return lc_index_mark_crashed(ob->db, err, errlen);
}
