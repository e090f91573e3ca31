/*
 * loggers/csv/csv.c — the CSV sink: <run dir>/metrics.csv in the shape of
 * Lightning's CSVLogger.
 *
 * - One row per committed record (the scalars of one lc_run_log_scalars
 *   call, or one lc_run_log_scalar): the record's step in "step", its
 *   values under their keys, other columns empty.
 * - The header is the sorted union of the keys that got a value, plus
 *   "step" ("epoch" is just another key).
 * - Rows are appended: one write(2) per run per batch. The file is
 *   rewritten (temp file + rename, old rows moved under the new columns)
 *   only when a batch brings a key the header lacks, never per row
 *   (Lightning issue #17725).
 * - Values are Python's repr of the double (number_format.h): "0.1",
 *   "3.0", "1e-07", "nan", "inf", "-inf".
 * - Lines end in "\n" (Lightning's csv module writes "\r\n"; both read the
 *   same in pandas and Python's csv).
 * - Resume (run->resume): an existing metrics.csv is kept and continued
 *   under its own header; with resume_step >= 0 its rows with a larger step
 *   are cut first (one rewrite), as is a torn last line. Without resume, or
 *   when the run starts over (run->restart), an existing file is replaced. A run that never logs a scalar leaves no
 *   (empty) metrics.csv behind.
 * - Failures (disk full, a file in the way) return LC_ERR_IO (LC_ERR_NOMEM
 *   when memory runs out) with a message naming the file. A failed append is cut back off the file (ftruncate), so the
 *   file only ever holds whole batches; when a batch fails for one run
 *   after succeeding for another, the sink keeps a copy of the batch and,
 *   when the hub retries that same batch, skips the runs already written.
 *   So a retried batch never duplicates rows.
 * - Column names are the hub's interned keys (lc_run_info_key). A scalar
 *   whose tag has no name there is skipped, and so is a metric named "step"
 *   (the step column wins, as in Lightning).
 * - hparams.yaml (when the hub makes this sink its writer, cfg->hparams_yaml;
 *   see bus/sinks.c): the run's params are kept (csv/hparams_yaml.h) and the
 *   file is rewritten at the end of each batch that changed them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/sink.h"
#include "common/fs.h"
#include "csv_file.h"
#include "hparams_yaml.h"
#include "shared/number_format.h"

/* col_of_tag values besides a column index */
#define CSV_UNRESOLVED (-1) /* not looked up in the header yet */
#define CSV_SKIP (-2)       /* no name, or named "step" */
#define CSV_NEW (-3)        /* (during a commit) a key the header lacks */

typedef struct csv_cell {
    uint32_t tag;
    double value;
} csv_cell;

typedef struct csv_row {
    int64_t step;
    size_t first, n; /* cells[first .. first + n) */
} csv_row;

typedef struct csv_run {
    lc_run_info *info;
    char *path;              /* <dir>/metrics.csv */
    int fd;                  /* -1 after a failed reopen */
    off_t size;              /* bytes of whole batches in the file */
    int dirty;               /* written since the last fdatasync */

    lc_hparams params;       /* for hparams.yaml (when this sink writes it) */
    int32_t *col_of_tag;     /* tag -> column index or CSV_* */
    uint32_t col_cap;
    char **cols;             /* the header, sorted by strcmp */
    size_t ncols;
    size_t step_col;

    /* records of the batch being taken; cells after the last row belong
       to a record still open (carried into the next batch) */
    csv_cell *cells;
    size_t ncells, cells_cap;
    csv_row *rows;
    size_t nrows, rows_cap;
    size_t record_start;     /* first cell of the open record */
    size_t carried;          /* cells already here when the batch began */

    int touched;             /* seen in the batch being taken */
    int done;                /* its rows of the failed batch are written */
    struct csv_run *next_touched;
    struct csv_run *next;    /* all open runs */
} csv_run;

typedef struct csv_sink {
    int hparams_yaml;        /* this sink writes hparams.yaml */
    csv_run *runs;
    char *buf;               /* one run's bytes for one batch */
    size_t buf_cap;
    double *rowval;          /* one row, by column */
    unsigned char *rowset;
    size_t row_cap;
    lc_event *failed;        /* copy of the last failed batch, to spot its retry */
    size_t nfailed;
} csv_sink;

/* ---- small helpers ------------------------------------------------------- */

static int csv_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void csv_free_cols(char **cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cols[i]);
    free(cols);
}

static int csv_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * elem);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

/* v in decimal at out, no NUL (the row buffer is sized without one). */
static size_t csv_i64(int64_t v, char *out)
{
    char tmp[LC_DOUBLE_BUFSZ];
    size_t n = lc_format_i64(v, tmp);
    memcpy(out, tmp, n);
    return n;
}

static long csv_find_col(const csv_run *r, const char *name)
{
    char *const *hit = bsearch(&name, r->cols, r->ncols, sizeof *r->cols, csv_cmp_str);
    return hit ? (long)(hit - r->cols) : -1;
}

static void csv_set_cols(csv_run *r, char **cols, size_t n)
{
    csv_free_cols(r->cols, r->ncols);
    r->cols = cols;
    r->ncols = n;
    r->step_col = (size_t)csv_find_col(r, "step");
    for (uint32_t t = 0; t < r->col_cap; t++)
        r->col_of_tag[t] = CSV_UNRESOLVED;
}

/* A sorted, duplicate-free copy of names plus "step". */
static char **csv_header_with_step(char **names, size_t n, size_t *out_n)
{
    char **cols = malloc((n + 1) * sizeof *cols);
    if (!cols)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!(cols[k++] = strdup(names[i])))
            goto fail;
    if (!(cols[k++] = strdup("step")))
        goto fail;
    qsort(cols, k, sizeof *cols, csv_cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u > 0 && strcmp(cols[u - 1], cols[i]) == 0)
            free(cols[i]);
        else
            cols[u++] = cols[i];
    }
    *out_n = u;
    return cols;
fail:
    csv_free_cols(cols, k - 1);
    return NULL;
}

static void csv_run_free(csv_run *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    lc_hparams_free(&r->params);
    free(r->col_of_tag);
    csv_free_cols(r->cols, r->ncols);
    free(r->cells);
    free(r->rows);
    free(r);
}

static int csv_reopen(csv_run *r, char *err, size_t errlen)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = open(r->path, O_WRONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, errlen, "csv: cannot open %s: %s", r->path, strerror(errno));
        return -1;
    }
    off_t end = lseek(r->fd, 0, SEEK_END);
    if (end < 0) {
        snprintf(err, errlen, "csv: cannot open %s: %s", r->path, strerror(errno));
        close(r->fd);
        r->fd = -1;
        return -1;
    }
    r->size = end;
    return 0;
}

/* ---- open / finish --------------------------------------------------------- */

/* Continue an existing file: its header, rows past resume_step cut. Returns
 * 1 if continued, 0 if there is nothing to continue, -1 on error. */
static int csv_resume(csv_run *r, char *err, size_t errlen)
{
    char **hdr = NULL;
    size_t nhdr = 0;
    int rc = lc_csv_read_header(r->path, &hdr, &nhdr, err, errlen);
    if (rc <= 0)
        return rc;
    size_t ncols;
    char **cols = csv_header_with_step(hdr, nhdr, &ncols);
    lc_csv_free_fields(hdr, nhdr);
    if (!cols) {
        snprintf(err, errlen, "csv: out of memory reading %s", r->path);
        return -1;
    }
    int64_t cut = r->info->resume_step >= 0 ? r->info->resume_step : -1;
    if (lc_csv_rewrite(r->path, cols, ncols, cut, err, errlen) != 0 || csv_reopen(r, err, errlen) != 0) {
        csv_free_cols(cols, ncols);
        return -1;
    }
    csv_set_cols(r, cols, ncols);
    return 1;
}

static lc_status csv_open_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    csv_sink *cs = s->state;
    if (!run->dir || !*run->dir) {
        snprintf(err, errlen, "csv: run has no directory");
        return LC_ERR_INVALID;
    }
    csv_run *r = calloc(1, sizeof *r);
    if (!r || asprintf(&r->path, "%s/metrics.csv", run->dir) < 0) {
        free(r);
        snprintf(err, errlen, "csv: out of memory");
        return LC_ERR_NOMEM;
    }
    r->info = run;
    r->fd = -1;
    if (lc_make_dirs(run->dir) != 0) {
        snprintf(err, errlen, "csv: cannot create %s: %s", r->path, strerror(errno));
        goto fail;
    }
    int resumed = 0;
    /* a run that starts over (run->restart) replaces the file like a new one */
    if (run->resume && !run->restart && (resumed = csv_resume(r, err, errlen)) < 0)
        goto fail;
    if (!resumed) {
        r->fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (r->fd < 0) {
            snprintf(err, errlen, "csv: cannot create %s: %s", r->path, strerror(errno));
            goto fail;
        }
        size_t n;
        char **cols = csv_header_with_step(NULL, 0, &n); /* just "step" */
        if (!cols) {
            snprintf(err, errlen, "csv: out of memory");
            goto fail;
        }
        csv_set_cols(r, cols, n);
    }
    r->next = cs->runs;
    cs->runs = r;
    run->sink_state[s->index] = r;
    return LC_OK;
fail:
    csv_run_free(r);
    return LC_ERR_IO;
}

static void csv_unlink_run(csv_sink *cs, csv_run *r)
{
    for (csv_run **pp = &cs->runs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            return;
        }
    }
}

static lc_status csv_finish_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    csv_sink *cs = s->state;
    csv_run *r = run->sink_state[s->index];
    if (!r)
        return LC_OK;
    lc_status rc = LC_OK;
    if (r->fd >= 0 && r->dirty && fdatasync(r->fd) != 0) {
        snprintf(err, errlen, "csv: cannot sync %s: %s", r->path, strerror(errno));
        rc = LC_ERR_IO;
    }
    /* a save that failed in a batch gets its last chance */
    char e[LC_ERRLEN];
    if (lc_hparams_save(&r->params, run->dir, e, sizeof e) != 0 && rc == LC_OK) {
        snprintf(err, errlen, "csv: %s", e);
        rc = LC_ERR_IO;
    }
    if (r->size == 0)
        unlink(r->path); /* no rows: leave no empty file behind */
    csv_unlink_run(cs, r);
    run->sink_state[s->index] = NULL;
    csv_run_free(r);
    return rc;
}

/* ---- taking a batch ---------------------------------------------------------- */

/* Phase 1 for one event: cells, rows. */
static int csv_take(csv_run *r, const lc_event *ev)
{
    if (ev->kind != LC_EV_SCALAR)
        return 0;
    if (csv_grow((void **)&r->cells, &r->cells_cap, r->ncells + 1, sizeof *r->cells) != 0)
        return -1;
    r->cells[r->ncells++] = (csv_cell){ev->tag, ev->value};
    if (ev->flags & LC_EV_RECORD_END) {
        if (csv_grow((void **)&r->rows, &r->rows_cap, r->nrows + 1, sizeof *r->rows) != 0)
            return -1;
        r->rows[r->nrows++] = (csv_row){ev->step, r->record_start, r->ncells - r->record_start};
        r->record_start = r->ncells;
    }
    return 0;
}

/* Column of a tag; CSV_SKIP, or CSV_NEW the first time a missing key is
 * seen in this commit (its name then goes to *added). */
static int32_t csv_resolve(csv_run *r, uint32_t tag, char ***added, size_t *nadded, int *oom)
{
    if (tag >= r->col_cap) {
        uint32_t old = r->col_cap;
        size_t cap = old;
        if (csv_grow((void **)&r->col_of_tag, &cap, (size_t)tag + 1, sizeof *r->col_of_tag) != 0) {
            *oom = 1;
            return CSV_SKIP;
        }
        r->col_cap = (uint32_t)cap;
        for (uint32_t t = old; t < r->col_cap; t++)
            r->col_of_tag[t] = CSV_UNRESOLVED;
    }
    int32_t c = r->col_of_tag[tag];
    if (c != CSV_UNRESOLVED)
        return c;
    const char *name = lc_run_info_key(r->info, tag);
    if (!name || strcmp(name, "step") == 0) {
        c = CSV_SKIP;
    } else {
        long i = csv_find_col(r, name);
        if (i >= 0) {
            c = (int32_t)i;
        } else {
            char **n = realloc(*added, (*nadded + 1) * sizeof *n);
            if (!n) {
                *oom = 1;
                return CSV_SKIP;
            }
            *added = n;
            n[(*nadded)++] = (char *)name;
            c = CSV_NEW;
        }
    }
    r->col_of_tag[tag] = c;
    return c;
}

/* The header grows by the names in added: rewrite the file (when it has
 * any bytes yet) and switch to the new columns. */
static int csv_grow_header(csv_run *r, char **added, size_t nadded, char *err, size_t errlen)
{
    size_t n = r->ncols + nadded;
    char **cols = calloc(n, sizeof *cols);
    if (!cols)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        if (!(cols[i] = strdup(i < r->ncols ? r->cols[i] : added[i - r->ncols]))) {
            csv_free_cols(cols, i);
            goto nomem;
        }
    qsort(cols, n, sizeof *cols, csv_cmp_str);
    if (r->size > 0) {
        if (lc_csv_rewrite(r->path, cols, n, -1, err, errlen) != 0) {
            csv_free_cols(cols, n);
            return -1;
        }
        csv_set_cols(r, cols, n); /* the file has them now, whatever follows */
        return csv_reopen(r, err, errlen);
    }
    csv_set_cols(r, cols, n);
    return 0;
nomem:
    snprintf(err, errlen, "csv: out of memory");
    return -1;
}

/* Room for one row of n columns. */
static int csv_row_reserve(csv_sink *cs, size_t n)
{
    if (n <= cs->row_cap)
        return 0;
    size_t c = cs->row_cap ? cs->row_cap : 64;
    while (c < n)
        c *= 2;
    double *v = realloc(cs->rowval, c * sizeof *v);
    if (!v)
        return -1;
    cs->rowval = v;
    unsigned char *m = realloc(cs->rowset, c);
    if (!m)
        return -1;
    cs->rowset = m;
    cs->row_cap = c;
    return 0;
}

static int csv_reserve(csv_sink *cs, size_t need)
{
    return csv_grow((void **)&cs->buf, &cs->buf_cap, need, 1);
}

/* A new (empty) file starts with the header line: put it at the start of
 * the sink's buffer and set *len. 0, or -1 when out of memory. */
static int csv_put_header(csv_sink *cs, const csv_run *r, size_t *len)
{
    size_t need = 1;
    for (size_t i = 0; i < r->ncols; i++)
        need += 2 * strlen(r->cols[i]) + 4;
    if (csv_reserve(cs, need) != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < r->ncols; i++) {
        if (i > 0)
            cs->buf[n++] = ',';
        n += lc_csv_quote(r->cols[i], cs->buf + n);
    }
    cs->buf[n++] = '\n';
    *len = n;
    return 0;
}

/* Phase 2 for one run: header, bytes, one write. */
static int csv_commit(csv_sink *cs, csv_run *r, char *err, size_t errlen)
{
    if (r->nrows == 0)
        return 0;
    if (r->fd < 0 && csv_reopen(r, err, errlen) != 0)
        return -1;

    char **added = NULL;
    size_t nadded = 0;
    int oom = 0;
    for (size_t i = 0; i < r->nrows; i++)
        for (size_t j = 0; j < r->rows[i].n; j++)
            csv_resolve(r, r->cells[r->rows[i].first + j].tag, &added, &nadded, &oom);
    if (oom) {
        snprintf(err, errlen, "csv: out of memory");
        for (uint32_t t = 0; t < r->col_cap; t++)
            if (r->col_of_tag[t] == CSV_NEW)
                r->col_of_tag[t] = CSV_UNRESOLVED;
        free(added);
        return -1;
    }
    if (nadded > 0) {
        int rc = csv_grow_header(r, added, nadded, err, errlen);
        free(added);
        added = NULL;
        nadded = 0;
        if (rc != 0) {
            for (uint32_t t = 0; t < r->col_cap; t++)
                if (r->col_of_tag[t] == CSV_NEW)
                    r->col_of_tag[t] = CSV_UNRESOLVED;
            return -1;
        }
        for (size_t i = 0; i < r->nrows; i++)
            for (size_t j = 0; j < r->rows[i].n; j++)
                csv_resolve(r, r->cells[r->rows[i].first + j].tag, &added, &nadded, &oom);
    }

    if (csv_row_reserve(cs, r->ncols) != 0)
        goto nomem;

    size_t len = 0;
    if (r->size == 0 && csv_put_header(cs, r, &len) != 0)
        goto nomem;
    size_t row_max = r->ncols * (LC_DOUBLE_BUFSZ + 1) + 32;
    for (size_t i = 0; i < r->nrows; i++) {
        const csv_row *row = &r->rows[i];
        if (csv_reserve(cs, len + row_max) != 0)
            goto nomem;
        memset(cs->rowset, 0, r->ncols);
        for (size_t j = 0; j < row->n; j++) {
            const csv_cell *c = &r->cells[row->first + j];
            int32_t col = r->col_of_tag[c->tag];
            if (col >= 0) {
                cs->rowval[col] = c->value; /* a key twice in a record: the last wins */
                cs->rowset[col] = 1;
            }
        }
        char *p = cs->buf + len;
        for (size_t col = 0; col < r->ncols; col++) {
            if (col > 0)
                *p++ = ',';
            if (col == r->step_col)
                p += csv_i64(row->step, p);
            else if (cs->rowset[col])
                p += lc_format_double(cs->rowval[col], p);
        }
        *p++ = '\n';
        len = (size_t)(p - cs->buf);
    }

    /* one write; a partial one is cut back so the file holds whole batches */
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(r->fd, cs->buf + off, len - off, r->size + (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            if (off > 0 && ftruncate(r->fd, r->size) != 0) {
                snprintf(err, errlen, "csv: cannot write %s: %s (and cannot cut the partial write: %s)",
                         r->path, strerror(e), strerror(errno));
                return -1;
            }
            snprintf(err, errlen, "csv: cannot write %s: %s", r->path, strerror(e));
            return -1;
        }
        off += (size_t)w;
    }
    r->size += (off_t)len;
    r->dirty = 1;
    return 0;
nomem:
    snprintf(err, errlen, "csv: out of memory");
    return -1;
}

/* After a commit: keep only the open record's cells. */
static void csv_settle(csv_run *r, int ok)
{
    if (ok) {
        size_t keep = r->ncells - r->record_start;
        if (keep > 0)
            memmove(r->cells, r->cells + r->record_start, keep * sizeof *r->cells);
        r->ncells = keep;
    } else {
        r->ncells = r->carried;
    }
    r->record_start = 0;
    r->nrows = 0;
    r->touched = 0;
}

static int csv_is_retry(const csv_sink *cs, const lc_event_batch *b)
{
    return cs->failed && cs->nfailed == b->count &&
           memcmp(cs->failed, b->events, b->count * sizeof *b->events) == 0;
}

/* The params of the batch into their runs' sets, and hparams.yaml of the
 * runs whose set changed. Taking a param again is harmless, so a retried
 * batch simply runs this again. */
static lc_status csv_params(lc_sink *s, const lc_event_batch *b, char *err, size_t errlen)
{
    int changed = 0;
    for (size_t i = 0; i < b->count; i++) {
        const lc_event *ev = &b->events[i];
        csv_run *r = ev->kind == LC_EV_PARAM && ev->run ? ev->run->sink_state[s->index] : NULL;
        if (!r)
            continue;
        if (lc_hparams_set(&r->params, ev->payload) != 0) {
            snprintf(err, errlen, "csv: out of memory keeping params for hparams.yaml");
            return LC_ERR_NOMEM;
        }
        changed = 1;
    }
    if (!changed)
        return LC_OK;
    csv_sink *cs = s->state;
    lc_status st = LC_OK;
    for (csv_run *r = cs->runs; r; r = r->next) {
        char e[LC_ERRLEN];
        if (lc_hparams_save(&r->params, r->info->dir, e, sizeof e) != 0 && st == LC_OK) {
            snprintf(err, errlen, "csv: %s", e);
            st = LC_ERR_IO;
        }
    }
    return st;
}

static lc_status csv_write_batch(lc_sink *s, const lc_event_batch *b, char *err, size_t errlen)
{
    csv_sink *cs = s->state;
    int retry = csv_is_retry(cs, b);
    if (!retry) {
        free(cs->failed);
        cs->failed = NULL;
        cs->nfailed = 0;
        for (csv_run *r = cs->runs; r; r = r->next)
            r->done = 0;
    }

    /* phase 1: group the batch by run */
    csv_run *touched = NULL, **tail = &touched;
    int failed = 0;
    for (size_t i = 0; i < b->count; i++) {
        const lc_event *ev = &b->events[i];
        if (!ev->run || ev->kind != LC_EV_SCALAR)
            continue;
        csv_run *r = ev->run->sink_state[s->index];
        if (!r || r->done)
            continue;
        if (!r->touched) {
            r->touched = 1;
            r->carried = r->ncells;
            r->next_touched = NULL;
            *tail = r;
            tail = &r->next_touched;
        }
        if (csv_take(r, ev) != 0 && !failed) {
            snprintf(err, errlen, "csv: out of memory");
            failed = 1;
        }
    }
    if (failed) {
        for (csv_run *r = touched; r; r = r->next_touched)
            csv_settle(r, 0);
        return LC_ERR_NOMEM;
    }

    /* phase 2: one write per run; a run that fails does not stop the others */
    for (csv_run *r = touched, *next; r; r = next) {
        next = r->next_touched;
        char e[LC_ERRLEN];
        int ok = csv_commit(cs, r, e, sizeof e) == 0;
        csv_settle(r, ok);
        if (ok) {
            r->done = 1;
        } else if (!failed++) {
            snprintf(err, errlen, "%s", e);
        }
    }
    if (!failed) {
        free(cs->failed);
        cs->failed = NULL;
        cs->nfailed = 0;
        for (csv_run *r = cs->runs; r; r = r->next)
            r->done = 0;
        return cs->hparams_yaml ? csv_params(s, b, err, errlen) : LC_OK;
    }
    if (!retry) { /* remember the batch: its retry must skip the runs done */
        cs->failed = malloc(b->count * sizeof *b->events);
        if (cs->failed) {
            memcpy(cs->failed, b->events, b->count * sizeof *b->events);
            cs->nfailed = b->count;
        }
    }
    return LC_ERR_IO;
}

/* ---- resume repair (sink.h) ---------------------------------------------------- */

/* The cells the file holds, as (column, step), sorted. */
typedef struct csv_have {
    const csv_run *r;
    struct csv_cellpos { long col; int64_t step; } *v;
    size_t n, cap;
} csv_have;

static int csv_have_add(void *ctx, const char *col, int64_t step)
{
    csv_have *h = ctx;
    long c = csv_find_col(h->r, col);
    if (c < 0)
        return 0;
    if (csv_grow((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v) != 0)
        return -1;
    h->v[h->n++] = (struct csv_cellpos){c, step};
    return 0;
}

static int csv_have_cmp(const void *a, const void *b)
{
    const struct csv_cellpos *x = a, *y = b;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->step < y->step ? -1 : x->step > y->step;
}

/* Append, as rows (one per index record), the points of pts the file does
 * not hold. They are the newest points before a crash in the usual case,
 * so appending keeps the file in step order; rows are never rewritten. */
static lc_status csv_repair(lc_sink *s, lc_run_info *run, const lc_point *pts, size_t n,
                            uint64_t *added, char *err, size_t errlen)
{
    csv_sink *cs = s->state;
    csv_run *r = run->sink_state[s->index];
    *added = 0;
    if (!r || n == 0)
        return LC_OK;
    if (r->fd < 0 && csv_reopen(r, err, errlen) != 0)
        return LC_ERR_IO;
    csv_have have = {.r = r};
    unsigned char *miss = calloc(n, 1);
    char **names = NULL;
    size_t nnames = 0, nmiss = 0;
    lc_status rc = LC_ERR_IO;
    if (!miss)
        goto nomem;
    if (r->size > 0 && lc_csv_scan_cells(r->path, csv_have_add, &have, err, errlen) != 0)
        goto done;
    if (have.n)
        qsort(have.v, have.n, sizeof *have.v, csv_have_cmp);
    for (size_t i = 0; i < n; i++) {
        if (!pts[i].key || strcmp(pts[i].key, "step") == 0)
            continue; /* the step column wins, as in write_batch */
        long c = csv_find_col(r, pts[i].key);
        struct csv_cellpos k = {c, pts[i].step};
        if (c >= 0 && bsearch(&k, have.v, have.n, sizeof k, csv_have_cmp))
            continue;
        miss[i] = 1;
        nmiss++;
        if (c < 0) {
            size_t j = 0;
            while (j < nnames && strcmp(names[j], pts[i].key) != 0)
                j++;
            if (j == nnames) {
                char **nn = realloc(names, (nnames + 1) * sizeof *nn);
                if (!nn)
                    goto nomem;
                names = nn;
                names[nnames++] = (char *)pts[i].key;
            }
        }
    }
    if (nmiss == 0) {
        rc = LC_OK;
        goto done;
    }
    if (nnames && csv_grow_header(r, names, nnames, err, errlen) != 0)
        goto done;
    if (csv_row_reserve(cs, r->ncols) != 0)
        goto nomem;

    size_t len = 0;
    if (r->size == 0 && csv_put_header(cs, r, &len) != 0)
        goto nomem;
    size_t row_max = r->ncols * (LC_DOUBLE_BUFSZ + 1) + 32;
    for (size_t i = 0; i < n;) {
        if (!miss[i]) {
            i++;
            continue;
        }
        /* one row: the missing points of one record (one step) */
        memset(cs->rowset, 0, r->ncols);
        size_t j = i;
        for (; j < n && pts[j].rec == pts[i].rec && pts[j].step == pts[i].step; j++) {
            if (!miss[j])
                continue;
            long c = csv_find_col(r, pts[j].key);
            if (c >= 0) {
                cs->rowval[c] = pts[j].value;
                cs->rowset[c] = 1;
                (*added)++;
            }
        }
        if (csv_reserve(cs, len + row_max) != 0)
            goto nomem;
        char *p = cs->buf + len;
        for (size_t col = 0; col < r->ncols; col++) {
            if (col > 0)
                *p++ = ',';
            if (col == r->step_col)
                p += csv_i64(pts[i].step, p);
            else if (cs->rowset[col])
                p += lc_format_double(cs->rowval[col], p);
        }
        *p++ = '\n';
        len = (size_t)(p - cs->buf);
        i = j;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(r->fd, cs->buf + off, len - off, r->size + (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            int cut_failed = off > 0 && ftruncate(r->fd, r->size) != 0;
            snprintf(err, errlen, "csv: cannot write %s: %s%s", r->path, strerror(e),
                     cut_failed ? " (and cannot cut the partial write)" : "");
            *added = 0;
            goto done;
        }
        off += (size_t)w;
    }
    r->size += (off_t)len;
    r->dirty = 1;
    rc = LC_OK;
    goto done;
nomem:
    snprintf(err, errlen, "csv: out of memory");
    rc = LC_ERR_NOMEM;
    *added = 0;
done:
    free(have.v);
    free(miss);
    free(names);
    return rc;
}

/* ---- flush / close ------------------------------------------------------------- */

static lc_status csv_flush(lc_sink *s, char *err, size_t errlen)
{
    csv_sink *cs = s->state;
    lc_status rc = LC_OK;
    for (csv_run *r = cs->runs; r; r = r->next) {
        if (r->fd < 0 || !r->dirty)
            continue;
        if (fdatasync(r->fd) != 0) {
            if (rc == LC_OK)
                snprintf(err, errlen, "csv: cannot sync %s: %s", r->path, strerror(errno));
            rc = LC_ERR_IO;
            continue;
        }
        r->dirty = 0;
    }
    return rc;
}

static void csv_close(lc_sink *s)
{
    csv_sink *cs = s->state;
    if (!cs)
        return;
    while (cs->runs) {
        csv_run *r = cs->runs;
        cs->runs = r->next;
        if (r->info && r->info->sink_state[s->index] == r)
            r->info->sink_state[s->index] = NULL;
        csv_run_free(r);
    }
    free(cs->buf);
    free(cs->rowval);
    free(cs->rowset);
    free(cs->failed);
    free(cs);
    s->state = NULL;
}

static const lc_sink_vtable csv_vtable = {
    .name = "csv",
    .open_run = csv_open_run,
    .write_batch = csv_write_batch,
    .flush = csv_flush,
    .finish_run = csv_finish_run,
    .close = csv_close,
    .repair = csv_repair,
};

lc_status lc_sink_csv_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen)
{
    csv_sink *cs = calloc(1, sizeof *cs);
    if (!cs) {
        snprintf(err, errlen, "csv: out of memory");
        return LC_ERR_NOMEM;
    }
    cs->hparams_yaml = cfg && cfg->hparams_yaml;
    out->vt = &csv_vtable; /* out->index is the hub's */
    out->state = cs;
    return LC_OK;
}
