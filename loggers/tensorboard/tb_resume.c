/*
 * loggers/tensorboard/tb_resume.c — drop hparams session records from a
 * resumed run's older events files, keeping their hyperparameters; and read
 * which scalar points those files show, for the resume repair (see
 * tb_resume.h).
 */
#include "tb_resume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.pb-c.h"
#include "tfrecord.h"

typedef struct tbr_range {
    size_t start, end;
} tbr_range;

static int tbr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if the record is an hparams session record; merges a start info. */
static int tbr_is_session_record(const uint8_t *p, size_t n, lc_tb_params *inherit)
{
    static const char needle[] = "_hparams_/session_";
    if (!memmem(p, n, needle, sizeof needle - 1))
        return 0; /* cheap filter: most records never need decoding */
    Tensorboard__Event *ev = tensorboard__event__unpack(NULL, n, p);
    if (!ev)
        return 0;
    int hit = 0, keep = 0;
    if (ev->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY && ev->summary) {
        for (size_t i = 0; i < ev->summary->n_value; i++) {
            const Tensorboard__Summary__Value *v = ev->summary->value[i];
            if (strcmp(v->tag, LC_TB_TAG_SESSION_START) == 0) {
                hit = 1;
                if (v->metadata && v->metadata->plugin_data) {
                    const ProtobufCBinaryData *c = &v->metadata->plugin_data->content;
                    /* Out of memory or undecodable: keep the record rather
                       than lose hyperparameters we could not carry over. */
                    if (lc_tb_params_merge_start_info(inherit, c->data, c->len) < 0)
                        keep = 1;
                }
            } else if (strcmp(v->tag, LC_TB_TAG_SESSION_END) == 0) {
                hit = 1;
            }
        }
        /* Only drop records that hold nothing else. */
        if (keep || ev->summary->n_value != 1)
            hit = 0;
    }
    tensorboard__event__free_unpacked(ev, NULL);
    return hit;
}

static int tbr_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Map dir/name read-only (its full path into path). 1 with *data, *len
 * set (munmap when done), 0 for an empty or non-regular file (nothing to
 * read), -1 with err. */
static int tbr_map(const char *dir, const char *name, char *path, size_t pathlen, uint8_t **data,
                   size_t *len, char *err, size_t errlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "tensorboard: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return 0;
    }
    *len = (size_t)st.st_size;
    *data = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (*data == MAP_FAILED) {
        snprintf(err, errlen, "tensorboard: cannot map %s: %s", path, strerror(errno));
        return -1;
    }
    return 1;
}

/* Scan one file; rewrite it if it holds session records. */
static int tbr_file(const char *dir, const char *name, lc_tb_params *inherit, int *rewritten,
                    char *err, size_t errlen)
{
    char path[4096], tmp[4096];
    size_t len;
    uint8_t *data;
    int mrc = tbr_map(dir, name, path, sizeof path, &data, &len, err, errlen);
    if (mrc <= 0)
        return mrc;

    tbr_range *drop = NULL;
    size_t ndrop = 0, cap = 0, off = 0;
    int nomem = 0, rc = 0;
    lc_tfr_status st2;
    const uint8_t *p;
    size_t plen;
    for (;;) {
        size_t at = off;
        st2 = lc_tfr_next(data, len, &off, &p, &plen);
        if (st2 != LC_TFR_OK)
            break;
        if (tbr_is_session_record(p, plen, inherit)) {
            if (ndrop == cap) {
                cap = cap ? cap * 2 : 8;
                tbr_range *d = realloc(drop, cap * sizeof *d);
                if (!d) {
                    nomem = 1;
                    break;
                }
                drop = d;
            }
            drop[ndrop++] = (tbr_range){at, off};
        }
    }
    if (nomem) {
        snprintf(err, errlen, "tensorboard: out of memory reading %s", path);
        rc = -1;
    } else if (ndrop) {
        /* Keep everything but the dropped records; a truncated tail goes,
           a corrupt one is kept as it is (readers stop there anyway). */
        size_t keep_end = st2 == LC_TFR_TRUNCATED ? off : len;
        snprintf(tmp, sizeof tmp, "%s/.lightc-rewrite-%ld.tmp", dir, (long)getpid());
        int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t pos = 0;
        int bad = out < 0;
        for (size_t i = 0; !bad && i < ndrop; i++) {
            bad = tbr_write_all(out, data + pos, drop[i].start - pos);
            pos = drop[i].end;
        }
        if (!bad && keep_end > pos)
            bad = tbr_write_all(out, data + pos, keep_end - pos);
        if (!bad)
            bad = fsync(out);
        if (out >= 0 && close(out))
            bad = 1;
        if (!bad)
            bad = rename(tmp, path);
        if (bad) {
            snprintf(err, errlen, "tensorboard: cannot rewrite %s for the resumed run: %s", path,
                     strerror(errno));
            if (out >= 0)
                unlink(tmp);
            rc = -1;
        } else {
            (*rewritten)++;
        }
    }
    free(drop);
    munmap(data, len);
    return rc;
}

/* The events files of dir ("tfevents" in the name, not hidden), sorted by
 * name as readers load them. A missing dir has none. 0, or -1 with err. */
static int tbr_list(const char *dir, char ***out, size_t *nout, char *err, size_t errlen)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0; /* nothing written before */
        snprintf(err, errlen, "tensorboard: cannot list %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, "tfevents") || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        snprintf(err, errlen, "tensorboard: out of memory listing %s", dir);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return -1;
    }
    if (n)
        qsort(names, n, sizeof *names, tbr_cmp);
    *out = names;
    *nout = n;
    return 0;
}

static void tbr_free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int lc_tb_resume_scan(const char *dir, lc_tb_params *inherit, lc_tb_resume_info *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    char **names;
    size_t n;
    if (tbr_list(dir, &names, &n, err, errlen))
        return -1;
    out->files = (int)n;
    if (n)
        snprintf(out->last_name, sizeof out->last_name, "%s", names[n - 1]);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = tbr_file(dir, names[i], inherit, &out->rewritten, err, errlen);
    tbr_free_list(names, n);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The scalar points a reader sees (resume repair)                           */

static uint32_t tps_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Index of tag in the set; with create, added when missing. -1: not there
 * (or out of memory when creating). */
static long tps_tag(lc_tb_point_set *s, const char *tag, int create)
{
    if (s->nslots) {
        for (uint32_t i = tps_hash(tag) & (s->nslots - 1);; i = (i + 1) & (s->nslots - 1)) {
            uint32_t v = s->slots[i];
            if (!v)
                break;
            if (strcmp(s->tags[v - 1], tag) == 0)
                return (long)v - 1;
        }
    }
    if (!create)
        return -1;
    if ((s->ntags + 1) * 2 > s->nslots) { /* grow and rehash */
        uint32_t ns = s->nslots ? s->nslots * 2 : 64;
        uint32_t *slots = calloc(ns, sizeof *slots);
        if (!slots)
            return -1;
        for (uint32_t t = 0; t < s->ntags; t++) {
            uint32_t i = tps_hash(s->tags[t]) & (ns - 1);
            while (slots[i])
                i = (i + 1) & (ns - 1);
            slots[i] = t + 1;
        }
        free(s->slots);
        s->slots = slots;
        s->nslots = ns;
    }
    if (s->ntags == s->tags_cap) {
        uint32_t cap = s->tags_cap ? s->tags_cap * 2 : 32;
        char **nt = realloc(s->tags, cap * sizeof *nt);
        if (!nt)
            return -1;
        s->tags = nt;
        s->tags_cap = cap;
    }
    if (!(s->tags[s->ntags] = strdup(tag)))
        return -1;
    uint32_t i = tps_hash(tag) & (s->nslots - 1);
    while (s->slots[i])
        i = (i + 1) & (s->nslots - 1);
    s->slots[i] = ++s->ntags;
    return (long)s->ntags - 1;
}

static int tps_add(lc_tb_point_set *s, const char *tag, int64_t step)
{
    long t = tps_tag(s, tag, 1);
    if (t < 0)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        struct lc_tb_point *np = realloc(s->pts, cap * sizeof *np);
        if (!np)
            return -1;
        s->pts = np;
        s->cap = cap;
    }
    s->pts[s->n++] = (struct lc_tb_point){(uint32_t)t, step};
    return 0;
}

/* SessionLog START at step: a reader drops what it read at step or later. */
static void tps_purge(lc_tb_point_set *s, int64_t step)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->pts[i].step < step)
            s->pts[k++] = s->pts[i];
    s->n = k;
}

static int tps_cmp(const void *a, const void *b)
{
    const struct lc_tb_point *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->step < y->step ? -1 : x->step > y->step;
}

/* One file's records, in order, into the set. */
static int tps_file(const char *dir, const char *name, int64_t max_step, lc_tb_point_set *set,
                    char *err, size_t errlen)
{
    char path[4096];
    size_t len;
    uint8_t *data;
    int mrc = tbr_map(dir, name, path, sizeof path, &data, &len, err, errlen);
    if (mrc <= 0)
        return mrc;
    size_t off = 0;
    const uint8_t *p;
    size_t plen;
    int rc = 0;
    /* a reader stops at a torn or corrupt record, and so does this */
    while (rc == 0 && lc_tfr_next(data, len, &off, &p, &plen) == LC_TFR_OK) {
        Tensorboard__Event *ev = tensorboard__event__unpack(NULL, plen, p);
        if (!ev)
            continue;
        if (ev->what_case == TENSORBOARD__EVENT__WHAT_SESSION_LOG && ev->session_log &&
            ev->session_log->status == TENSORBOARD__SESSION_LOG__SESSION_STATUS__START) {
            tps_purge(set, ev->step);
        } else if (ev->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY && ev->summary &&
                   ev->step <= max_step) {
            for (size_t i = 0; rc == 0 && i < ev->summary->n_value; i++) {
                const Tensorboard__Summary__Value *v = ev->summary->value[i];
                if (v->value_case == TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE && v->tag &&
                    tps_add(set, v->tag, ev->step))
                    rc = -1;
            }
        }
        tensorboard__event__free_unpacked(ev, NULL);
    }
    munmap(data, len);
    if (rc)
        snprintf(err, errlen, "tensorboard: out of memory reading %s", path);
    return rc;
}

int lc_tb_resume_points(const char *dir, int64_t max_step, lc_tb_point_set *set, char *err,
                        size_t errlen)
{
    char **names;
    size_t n;
    if (tbr_list(dir, &names, &n, err, errlen))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = tps_file(dir, names[i], max_step, set, err, errlen);
    tbr_free_list(names, n);
    if (rc == 0 && set->n)
        qsort(set->pts, set->n, sizeof *set->pts, tps_cmp);
    return rc;
}

int lc_tb_point_set_has(const lc_tb_point_set *set, const char *tag, int64_t step)
{
    long t = tps_tag((lc_tb_point_set *)set, tag, 0);
    if (t < 0 || !set->n)
        return 0;
    struct lc_tb_point key = {(uint32_t)t, step};
    return bsearch(&key, set->pts, set->n, sizeof key, tps_cmp) != NULL;
}

void lc_tb_point_set_free(lc_tb_point_set *set)
{
    for (uint32_t i = 0; i < set->ntags; i++)
        free(set->tags[i]);
    free(set->tags);
    free(set->slots);
    free(set->pts);
    memset(set, 0, sizeof *set);
}
