/*
 * loggers/tensorboard/tensorboard.c — the "tensorboard" sink: tfevents files that
 * `tensorboard --logdir <root>` reads, one run per <root>/<experiment>/<name>.
 *
 * Per run and process, one file
 *
 *     <run dir>/events.out.tfevents.<10-digit secs>.<host>.<pid>.<n>
 *
 * whose first record is Event{file_version "brain.Event:2"} (written at
 * once, so the file is valid from the start); a resumed run adds
 * SessionLog START at resume_step + 1 (twice, see tb_open_run) so
 * TensorBoard drops the points the resumed run writes again. Records are TFRecord-framed (tfrecord.h),
 * built with protobuf-c (tb_encode.h) into an in-memory buffer and written
 * with one pwrite(2) per buffer: every flush interval (default 2 s,
 * $LIGHTC_TB_FLUSH_SECS overrides), when 1 MiB waits, on flush() and at
 * finish — never per event. flush() also fdatasyncs what was written since
 * the last one (the hub flushes before a checkpoint is declared written).
 *
 * Events: scalars -> simple_value (consecutive scalars of one run at one
 * step and wall time share one Event); text -> "text" plugin tensor;
 * histograms -> HistogramProto on the default ladder; images -> PNG
 * (libpng, on this dispatcher thread); params -> HParams session_start_info
 * (written before the run's first other event, or at the first flush, or
 * at finish; params logged after it was written are ignored by TensorBoard
 * and counted); finish -> session_end_info with the status mapped
 * (finished: SUCCESS; failed, killed, crashed: FAILURE). No experiment
 * record is written: TensorBoard then derives the experiment from every
 * run, so all runs share one HPARAMS table. Tags and artifacts are not
 * written. Scalar tags are named by the hub's interned keys
 * (lc_run_info_key), looked up once per tag.
 *
 * hparams.yaml: written by this sink (csv/hparams_yaml.h) only when the hub
 * makes it the writer (cfg->hparams_yaml: tensorboard without csv; see
 * bus/sinks.c), at the end of each batch that changed the params.
 *
 * Failure (a full disk): the partial write is truncated away, so the file
 * always ends on a complete record; the records stay in memory and go out
 * at the next flush (up to 64 MiB, beyond which they are dropped and
 * counted); the call returns LC_ERR_IO with the reason. A batch retried by
 * the hub after a failure is recognised, so no record is written twice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus/sink.h"
#include "common/clock.h"
#include "common/fs.h"
#include "csv/hparams_yaml.h"
#include "png_encode.h"
#include "tb_encode.h"
#include "tb_hparams.h"
#include "tb_resume.h"
#include "tb_series.h"
#include "tfrecord.h"

#define TB_DEFAULT_FLUSH_MS 2000u
#define TB_WRITE_AT (1u << 20)          /* write early once this much waits */
#define TB_PENDING_MAX ((size_t)64 << 20) /* unwritable data kept at most */
#define TB_GROUP_MAX 64                 /* scalars per Event */

typedef struct tb_run {
    lc_run_info *info;
    struct tb_run *prev, *next;
    int fd;
    char *path;
    lc_tfr_buf buf;          /* complete records not yet written */
    uint64_t file_len;       /* bytes in the file, always a record boundary */
    uint64_t last_write_ms;
    int unsynced;            /* written since the last fdatasync */
    uint32_t file_gen;       /* bumped when buffered records are dropped */
    lc_tb_series_table *series;
    lc_tb_params params;
    lc_hparams yaml;         /* params for hparams.yaml (when this sink writes it) */
    int hp_pending;          /* params waiting for a session_start_info */
    int hp_written;          /* a session_start_info was written (or buffered) */
    int hp_in_buf;           /* ... and it is still in buf, at hp_off */
    size_t hp_off, hp_len;
    uint64_t late_params;    /* params after the session_start_info */
    uint64_t skipped;        /* events not written: unknown tag, empty histogram, bad image */
    uint64_t dropped_bytes;  /* dropped after writes kept failing */
} tb_run;

typedef struct tb_sink {
    uint32_t flush_ms;
    int hparams_yaml;        /* this sink writes hparams.yaml */
    tb_run *runs;
    char host[128];
    long pid;
    /* What the last failed write_batch already took, so a retry of the
       same batch skips it (sink.h: write_batch may be called again). */
    int retry_valid;
    const lc_event *retry_events;
    size_t retry_count, retry_done;
    lc_event retry_first, retry_last;
    const char *gtags[TB_GROUP_MAX];
    const lc_tb_scalar_tpl *gtpls[TB_GROUP_MAX];
    float gvals[TB_GROUP_MAX];
} tb_sink;

static _Atomic unsigned tb_file_counter;

/* ---------------------------------------------------------------------- */
/* small helpers                                                           */

/* A reader drops a file's remaining records after an event whose wall time
   is NaN (the Rust loader), so a non-finite time becomes "now". */
static double tb_wall(double t)
{
    return isfinite(t) ? t : lc_wall_now();
}

/* double -> float32 without undefined behaviour for out-of-range values:
   beyond float range is +-inf (what TensorBoard would show anyway). */
static float tb_to_float(double v)
{
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}

static int tb_status(lc_run_status s)
{
    switch (s) {
    case LC_RUN_FINISHED: return LC_TB_STATUS_SUCCESS;
    case LC_RUN_FAILED:   /* fall through: the plugin has no "aborted" */
    case LC_RUN_KILLED:
    case LC_RUN_CRASHED:  return LC_TB_STATUS_FAILURE;
    case LC_RUN_RUNNING:  return LC_TB_STATUS_RUNNING;
    }
    return LC_TB_STATUS_UNKNOWN;
}

static tb_run *tb_run_of(const lc_sink *s, const lc_run_info *run)
{
    if (!run || s->index < 0 || s->index >= LC_MAX_SINKS)
        return NULL;
    return run->sink_state[s->index];
}

/* ---------------------------------------------------------------------- */
/* writing                                                                 */

/* Write everything buffered for r with one pwrite (looping on short
   writes). On failure the file is cut back to its last complete record and
   the records stay buffered (up to TB_PENDING_MAX). */
static int tb_write(tb_run *r, char *err, size_t errlen)
{
    if (r->buf.len == 0)
        return 0;
    size_t done = 0;
    while (done < r->buf.len) {
        ssize_t w = pwrite(r->fd, r->buf.data + done, r->buf.len - done,
                           (off_t)(r->file_len + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            /* Never leave half a record followed later by more data. */
            int cut = done ? ftruncate(r->fd, (off_t)r->file_len) : 0;
            size_t pending = r->buf.len;
            if (pending > TB_PENDING_MAX) {
                r->dropped_bytes += pending;
                r->buf.len = 0;
                r->file_gen++; /* per-file metadata must be written again */
                if (r->hp_in_buf) {
                    r->hp_in_buf = 0;
                    r->hp_written = 0;
                    r->hp_pending = 1;
                }
                snprintf(err, errlen,
                         "tensorboard: cannot write %s: %s; %zu bytes of events dropped after "
                         "repeated failures%s",
                         r->path, strerror(e), pending,
                         cut ? " (and the partial write could not be removed)" : "");
            } else {
                snprintf(err, errlen,
                         "tensorboard: cannot write %s: %s; %zu bytes kept in memory and "
                         "retried at the next flush%s",
                         r->path, strerror(e), pending,
                         cut ? " (and the partial write could not be removed)" : "");
            }
            return -1;
        }
        done += (size_t)w;
    }
    r->file_len += r->buf.len;
    r->buf.len = 0;
    r->hp_in_buf = 0;
    r->unsynced = 1;
    if (r->buf.cap > 4 * (size_t)TB_WRITE_AT)
        lc_tfr_free(&r->buf); /* give a burst's memory back */
    r->last_write_ms = lc_mono_ms();
    return 0;
}

/* Buffer the session_start_info with the params collected so far. One
   still in the buffer (not yet written) is replaced, so params that arrive
   shortly after it are not lost to TensorBoard. */
static int tb_put_start_info(tb_run *r)
{
    size_t before = r->buf.len;
    if (lc_tb_put_hparams_start(&r->buf, lc_wall_now(), r->params.items, r->params.n,
                                r->info->start_time))
        return -1;
    size_t len = r->buf.len - before;
    if (r->hp_in_buf) {
        memmove(r->buf.data + r->hp_off, r->buf.data + r->hp_off + r->hp_len,
                r->buf.len - r->hp_off - r->hp_len);
        r->buf.len -= r->hp_len;
        before -= r->hp_len;
    }
    r->hp_pending = 0;
    r->hp_written = 1;
    r->hp_in_buf = 1;
    r->hp_off = before;
    r->hp_len = len;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* events                                                                  */

/* Returns LC_ERR_NOMEM (nonzero, so it also serves the helpers' "-1 on
 * failure" tests). */
static lc_status tb_nomem(char *err, size_t errlen)
{
    snprintf(err, errlen, "tensorboard: out of memory");
    return LC_ERR_NOMEM;
}

static int tb_text(tb_run *r, const lc_event *e, char *err, size_t errlen)
{
    const lc_text_payload *t = e->payload;
    if (!t)
        return 0;
    lc_tb_series *se = lc_tb_series_get(r->series, t->key, LC_TB_KIND_TEXT);
    if (!se)
        return tb_nomem(err, errlen);
    const char *text = t->text ? t->text : "";
    size_t len = strlen(text);
    char *copy = NULL;
    if (!lc_tb_utf8_valid(text, len)) {
        /* the payload is shared with other sinks: fix a copy */
        if (!(copy = malloc(len + 1)))
            return tb_nomem(err, errlen);
        memcpy(copy, text, len + 1);
        lc_tb_utf8_sanitize(copy, len);
        text = copy;
    }
    int md = se->md_gen != r->file_gen;
    int rc = lc_tb_put_text(&r->buf, tb_wall(e->wall_time), e->step, se->tag, text, len, md);
    free(copy);
    if (rc)
        return tb_nomem(err, errlen);
    se->md_gen = r->file_gen;
    return 0;
}

static int tb_histogram(tb_run *r, const lc_event *e, char *err, size_t errlen)
{
    const lc_histogram *h = e->payload;
    if (!h || h->num <= 0 || h->nbuckets == 0) {
        r->skipped++; /* nothing TensorBoard could draw */
        return 0;
    }
    lc_tb_series *se = lc_tb_series_get(r->series, h->key, LC_TB_KIND_HISTOGRAM);
    if (!se || lc_tb_put_histogram(&r->buf, tb_wall(e->wall_time), e->step, se->tag, h))
        return tb_nomem(err, errlen);
    return 0;
}

static int tb_image(tb_run *r, const lc_event *e, char *err, size_t errlen)
{
    const lc_image_payload *im = e->payload;
    if (!im || !im->pixels || im->width == 0 || im->height == 0 || im->width > LC_PNG_MAX_SIDE ||
        im->height > LC_PNG_MAX_SIDE || im->channels < 1 || im->channels > 4) {
        r->skipped++; /* the hub validates images; never encode garbage */
        return 0;
    }
    uint8_t *png;
    size_t n;
    if (lc_png_encode(im->pixels, im->width, im->height, im->channels, &png, &n, err, errlen))
        return -1;
    lc_tb_series *se = lc_tb_series_get(r->series, im->key, LC_TB_KIND_IMAGE);
    int rc = !se || lc_tb_put_image(&r->buf, tb_wall(e->wall_time), e->step, se->tag, im->width,
                                    im->height, im->channels, png, n);
    free(png);
    return rc ? tb_nomem(err, errlen) : 0;
}

/* One non-scalar event. 0, or -1 (out of memory / encoder failure). */
static int tb_event(tb_sink *t, tb_run *r, const lc_event *e, char *err, size_t errlen)
{
    switch (e->kind) {
    case LC_EV_PARAM: {
        const lc_param_payload *p = e->payload;
        if (!p)
            return 0;
        if (lc_tb_params_set_payload(&r->params, p) ||
            (t->hparams_yaml && lc_hparams_set(&r->yaml, p)))
            return tb_nomem(err, errlen);
        if (r->hp_written && !r->hp_in_buf)
            r->late_params++; /* TensorBoard keeps the first start info only */
        else
            r->hp_pending = 1;
        return 0;
    }
    case LC_EV_TEXT:
    case LC_EV_HISTOGRAM:
    case LC_EV_IMAGE:
        if (r->hp_pending && tb_put_start_info(r))
            return tb_nomem(err, errlen);
        if (e->kind == LC_EV_TEXT)
            return tb_text(r, e, err, errlen);
        if (e->kind == LC_EV_HISTOGRAM)
            return tb_histogram(r, e, err, errlen);
        return tb_image(r, e, err, errlen);
    default:
        return 0; /* run tags, artifacts: not part of an events file */
    }
}

/* Consecutive scalars of one run at one step and wall time, from ev[i]:
   one Event. Returns the index after the group, or (size_t)-1 on ENOMEM. */
static size_t tb_scalars(tb_sink *t, tb_run *r, const lc_event *ev, size_t i, size_t count)
{
    const lc_event *first = &ev[i];
    size_t n = 0, j = i;
    int fast = 1;
    for (; j < count && n < TB_GROUP_MAX; j++) {
        const lc_event *x = &ev[j];
        /* the first always belongs (a NaN time equals nothing, not even itself) */
        if (j > i && (x->kind != LC_EV_SCALAR || x->run != first->run ||
                      x->step != first->step || x->wall_time != first->wall_time))
            break;
        lc_tb_series *se = lc_tb_series_of_tag(r->series, x->tag);
        if (!se) { /* the tag's first value: bind it to its key */
            const char *key = lc_run_info_key(r->info, x->tag);
            if (!key) {
                r->skipped++; /* the hub never named this tag */
                continue;
            }
            if (lc_tb_series_bind(r->series, x->tag, key) ||
                !(se = lc_tb_series_of_tag(r->series, x->tag)))
                return (size_t)-1;
        }
        if (!se->tpl.bytes && lc_tb_scalar_tpl_init(&se->tpl, se->tag))
            fast = 0; /* out of memory, or an unexpected layout: slow path */
        t->gtags[n] = se->tag;
        t->gtpls[n] = &se->tpl;
        t->gvals[n] = tb_to_float(x->value);
        n++;
    }
    double wall = tb_wall(first->wall_time);
    if (n && (fast ? lc_tb_put_scalars_tpl(&r->buf, wall, first->step, n, t->gtpls, t->gvals)
                   : lc_tb_put_scalars(&r->buf, wall, first->step, n, t->gtags, t->gvals)))
        return (size_t)-1;
    return j;
}

static lc_status tb_write_batch(lc_sink *s, const lc_event_batch *batch, char *err, size_t errlen)
{
    tb_sink *t = s->state;
    const lc_event *ev = batch->events;
    size_t count = batch->count, i = 0;
    lc_status st = LC_OK;

    if (t->retry_valid && t->retry_events == ev && t->retry_count == count && count &&
        memcmp(&t->retry_first, &ev[0], sizeof ev[0]) == 0 &&
        memcmp(&t->retry_last, &ev[count - 1], sizeof ev[0]) == 0)
        i = t->retry_done; /* the same batch again: skip what we took */
    t->retry_valid = 0;

    while (i < count) {
        const lc_event *e = &ev[i];
        tb_run *r = tb_run_of(s, e->run);
        if (!r) {
            i++;
            continue;
        }
        if (e->kind == LC_EV_SCALAR) {
            if (r->hp_pending && tb_put_start_info(r)) {
                st = tb_nomem(err, errlen);
                goto failed;
            }
            size_t next = tb_scalars(t, r, ev, i, count);
            if (next == (size_t)-1) {
                st = tb_nomem(err, errlen);
                goto failed;
            }
            i = next;
            continue;
        }
        if (tb_event(t, r, e, err, errlen)) {
            st = LC_ERR_NOMEM; /* encoders fail only for memory */
            goto failed;
        }
        i++;
    }

    /* Write the runs whose interval is up (or whose buffer is large), and
       hparams.yaml where the params changed. */
    uint64_t now = lc_mono_ms();
    for (tb_run *r = t->runs; r; r = r->next) {
        char e2[LC_ERRLEN];
        if (lc_hparams_save(&r->yaml, r->info->dir, e2, sizeof e2) && st == LC_OK) {
            snprintf(err, errlen, "tensorboard: %s", e2);
            st = LC_ERR_IO;
        }
        if (r->buf.len == 0)
            continue;
        if (r->buf.len >= TB_WRITE_AT || now - r->last_write_ms >= t->flush_ms) {
            if (tb_write(r, e2, sizeof e2)) {
                if (st == LC_OK)
                    snprintf(err, errlen, "%s", e2);
                st = LC_ERR_IO;
            }
        }
    }
    if (st != LC_OK) {
        i = count; /* everything is taken (buffered); only a write failed */
        goto failed;
    }
    return LC_OK;

failed:
    if (count) {
        t->retry_valid = 1;
        t->retry_events = ev;
        t->retry_count = count;
        t->retry_done = i;
        t->retry_first = ev[0];
        t->retry_last = ev[count - 1];
    }
    return st;
}

/* ---------------------------------------------------------------------- */
/* runs                                                                    */

static void tb_run_free(tb_run *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    lc_tfr_free(&r->buf);
    lc_tb_series_free(r->series);
    lc_tb_params_free(&r->params);
    lc_hparams_free(&r->yaml);
    free(r);
}

/* Create the run's new events file; its name sorts after every events file
   already there, so readers that go by name order read it last. */
static int tb_create_file(tb_sink *t, tb_run *r, const char *after, char *err, size_t errlen)
{
    long secs = (long)lc_wall_now();
    long prev;
    if (after && *after && sscanf(after, "events.out.tfevents.%ld", &prev) == 1 && prev >= secs)
        secs = prev + 1;
    char path[PATH_MAX];
    for (int tries = 0; tries < 1000; tries++) {
        unsigned n = atomic_fetch_add(&tb_file_counter, 1);
        int len = snprintf(path, sizeof path, "%s/events.out.tfevents.%010ld.%s.%ld.%u",
                           r->info->dir, secs, t->host, t->pid, n);
        if (len >= (int)sizeof path) {
            snprintf(err, errlen, "tensorboard: events file path too long in %s", r->info->dir);
            return -1;
        }
        r->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (r->fd >= 0) {
            r->path = strdup(path);
            if (!r->path)
                return tb_nomem(err, errlen);
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    snprintf(err, errlen, "tensorboard: cannot create %s: %s", path, strerror(errno));
    return -1;
}

/* A run that starts over: its earlier attempts' events files go. */
static int tb_remove_old_files(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, "tfevents") || e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (unlink(path) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "tensorboard: cannot remove %s of the run's earlier attempt: %s",
                     path, strerror(errno));
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

static lc_status tb_open_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    tb_sink *t = s->state;
    if (s->index < 0 || s->index >= LC_MAX_SINKS) {
        snprintf(err, errlen, "tensorboard: sink index %d out of range", s->index);
        return LC_ERR_INVALID;
    }
    if (run->sink_state[s->index])
        return LC_OK; /* already open */
    if (!run->dir || !*run->dir) {
        snprintf(err, errlen, "tensorboard: run has no directory");
        return LC_ERR_INVALID;
    }
    if (lc_make_dirs(run->dir) != 0) {
        snprintf(err, errlen, "tensorboard: cannot create directory %s: %s", run->dir,
                 strerror(errno));
        return LC_ERR_IO;
    }
    tb_run *r = calloc(1, sizeof *r);
    if (!r)
        return tb_nomem(err, errlen);
    r->info = run;
    r->fd = -1;
    r->file_gen = 1;
    if (!(r->series = lc_tb_series_new())) {
        tb_run_free(r);
        return tb_nomem(err, errlen);
    }
    lc_tb_resume_info ri;
    memset(&ri, 0, sizeof ri);
    if (run->restart) {
        if (tb_remove_old_files(run->dir, err, errlen)) {
            tb_run_free(r);
            return LC_ERR_IO;
        }
    } else if (run->resume) {
        if (lc_tb_resume_scan(run->dir, &r->params, &ri, err, errlen)) {
            tb_run_free(r);
            return LC_ERR_IO;
        }
        r->hp_pending = r->params.n > 0; /* inherited: written with the new ones */
    }
    if (tb_create_file(t, r, ri.last_name, err, errlen)) {
        tb_run_free(r);
        return LC_ERR_IO;
    }
    double now = lc_wall_now();
    int rc = lc_tb_put_file_version(&r->buf, now);
    if (!rc && run->resume && run->resume_step >= 0 && run->resume_step < INT64_MAX) {
        /* Readers drop points with step >= a START's step. TensorBoard's
           plugin accumulator (the --load_fast=false server) ignores the
           FIRST START of a run as "the session began"; older files need
           not hold one, so write two: the second always purges, and a
           repeated purge removes nothing more. */
        rc = lc_tb_put_session_start(&r->buf, now, run->resume_step + 1);
        if (!rc)
            rc = lc_tb_put_session_start(&r->buf, now, run->resume_step + 1);
    }
    if (rc) {
        unlink(r->path);
        tb_run_free(r);
        return tb_nomem(err, errlen);
    }
    if (tb_write(r, err, errlen)) {
        unlink(r->path);
        tb_run_free(r);
        return LC_ERR_IO;
    }
    r->next = t->runs;
    if (t->runs)
        t->runs->prev = r;
    t->runs = r;
    run->sink_state[s->index] = r;
    return LC_OK;
}

static void tb_unlink_run(tb_sink *t, tb_run *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        t->runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static lc_status tb_finish_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    tb_sink *t = s->state;
    tb_run *r = tb_run_of(s, run);
    if (!r)
        return LC_OK;
    lc_status rc = LC_OK;
    /* Every run becomes an HParams session, with or without params, so the
       dashboard lists all runs with their status and metrics. */
    if ((r->hp_pending || !r->hp_written) && tb_put_start_info(r))
        rc = tb_nomem(err, errlen);
    double end = run->end_time > 0 ? run->end_time : lc_wall_now();
    if (!rc && lc_tb_put_hparams_end(&r->buf, end, tb_status(run->status), end))
        rc = tb_nomem(err, errlen);
    if (tb_write(r, err, errlen))
        rc = LC_ERR_IO;
    if (fdatasync(r->fd) && !rc) {
        snprintf(err, errlen, "tensorboard: cannot sync %s: %s", r->path, strerror(errno));
        rc = LC_ERR_IO;
    }
    if (close(r->fd) && !rc) {
        snprintf(err, errlen, "tensorboard: cannot close %s: %s", r->path, strerror(errno));
        rc = LC_ERR_IO;
    }
    r->fd = -1;
    char e2[LC_ERRLEN];
    if (lc_hparams_save(&r->yaml, run->dir, e2, sizeof e2) && !rc) {
        snprintf(err, errlen, "tensorboard: %s", e2);
        rc = LC_ERR_IO;
    }
    if (!rc && r->dropped_bytes) {
        snprintf(err, errlen, "tensorboard: %" PRIu64 " bytes of events for %s were dropped "
                 "after writes failed", r->dropped_bytes, r->path);
        rc = LC_ERR_IO;
    }
    tb_unlink_run(t, r);
    run->sink_state[s->index] = NULL;
    tb_run_free(r);
    return rc;
}

/* Resume repair (sink.h): write the index's points this run's events
 * files do not show. */
static lc_status tb_repair(lc_sink *s, lc_run_info *run, const lc_point *pts, size_t n,
                           uint64_t *added, char *err, size_t errlen)
{
    tb_run *r = tb_run_of(s, run);
    *added = 0;
    if (!r || n == 0)
        return LC_OK;
    int64_t upto = INT64_MIN;
    for (size_t i = 0; i < n; i++)
        if (pts[i].step > upto)
            upto = pts[i].step;
    lc_tb_point_set have;
    memset(&have, 0, sizeof have);
    if (lc_tb_resume_points(run->dir, upto, &have, err, errlen)) {
        lc_tb_point_set_free(&have);
        return LC_ERR_IO;
    }
    lc_status rc = LC_OK;
    for (size_t i = 0; i < n && rc == 0; i++) {
        lc_tb_series *se = lc_tb_series_get(r->series, pts[i].key, LC_TB_KIND_SCALAR);
        if (!se) {
            rc = tb_nomem(err, errlen);
            break;
        }
        if (lc_tb_point_set_has(&have, se->tag, pts[i].step))
            continue;
        const char *tag = se->tag;
        float v = tb_to_float(pts[i].value);
        if (lc_tb_put_scalars(&r->buf, tb_wall(pts[i].wall_time), pts[i].step, 1, &tag, &v)) {
            rc = tb_nomem(err, errlen);
            break;
        }
        (*added)++;
    }
    lc_tb_point_set_free(&have);
    /* on disk at once: the session start info stays pending for the
       params the run logs next */
    if (tb_write(r, rc ? NULL : err, rc ? 0 : errlen) && !rc)
        rc = LC_ERR_IO;
    return rc;
}

static lc_status tb_flush(lc_sink *s, char *err, size_t errlen)
{
    tb_sink *t = s->state;
    lc_status rc = LC_OK;
    for (tb_run *r = t->runs; r; r = r->next) {
        char e2[LC_ERRLEN];
        lc_status bad = r->hp_pending && tb_put_start_info(r) ? tb_nomem(e2, sizeof e2) : LC_OK;
        if (!bad && tb_write(r, e2, sizeof e2))
            bad = LC_ERR_IO;
        /* flush() means durable (sink.h): a checkpoint relies on it */
        if (!bad && r->unsynced) {
            if (fdatasync(r->fd) == 0) {
                r->unsynced = 0;
            } else {
                snprintf(e2, sizeof e2, "tensorboard: cannot sync %s: %s", r->path, strerror(errno));
                bad = LC_ERR_IO;
            }
        }
        if (bad && !rc) {
            snprintf(err, errlen, "%s", e2);
            rc = bad;
        }
    }
    return rc;
}

static void tb_close(lc_sink *s)
{
    tb_sink *t = s->state;
    if (!t)
        return;
    /* Runs never finished (the hub normally finishes them): write what is
       buffered and close, without a session end. */
    while (t->runs) {
        tb_run *r = t->runs;
        char e2[LC_ERRLEN];
        (void)tb_write(r, e2, sizeof e2);
        tb_unlink_run(t, r);
        if (r->info && s->index >= 0 && s->index < LC_MAX_SINKS)
            r->info->sink_state[s->index] = NULL;
        tb_run_free(r);
    }
    free(t);
    s->state = NULL;
}

static const lc_sink_vtable tb_vtable = {
    .name = "tensorboard",
    .open_run = tb_open_run,
    .write_batch = tb_write_batch,
    .flush = tb_flush,
    .finish_run = tb_finish_run,
    .close = tb_close,
    .repair = tb_repair,
};

/* ---------------------------------------------------------------------- */
/* constructor                                                             */

/* $LIGHTC_TB_FLUSH_SECS: seconds (fractions allowed) between writes. */
static int tb_env_flush_ms(uint32_t *ms, char *err, size_t errlen)
{
    const char *v = getenv("LIGHTC_TB_FLUSH_SECS");
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    double secs = strtod(v, &end);
    while (*end == ' ')
        end++;
    if (errno || *end || !(secs >= 0) || secs > 86400) {
        snprintf(err, errlen,
                 "tensorboard: LIGHTC_TB_FLUSH_SECS='%s' is not a number of seconds between 0 "
                 "and 86400 (e.g. 2 or 0.5)",
                 v);
        return -1;
    }
    *ms = (uint32_t)(secs * 1000.0 + 0.5);
    return 0;
}

lc_status lc_sink_tensorboard_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen)
{
    uint32_t flush_ms = cfg && cfg->flush_interval_ms ? cfg->flush_interval_ms : TB_DEFAULT_FLUSH_MS;
    if (tb_env_flush_ms(&flush_ms, err, errlen))
        return LC_ERR_INVALID;
    tb_sink *t = calloc(1, sizeof *t);
    if (!t)
        return tb_nomem(err, errlen);
    t->flush_ms = flush_ms;
    t->hparams_yaml = cfg && cfg->hparams_yaml;
    t->pid = (long)getpid();
    if (gethostname(t->host, sizeof t->host - 1) || !t->host[0])
        snprintf(t->host, sizeof t->host, "localhost");
    /* The host goes into a file name: keep it to safe characters. */
    for (char *p = t->host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            *p = '_';
    out->vt = &tb_vtable;
    out->state = t;
    return LC_OK;
}
