/*
 * loggers/tensorboard/tb_resume.c — drop hparams session records from a resumed run's
 * older events files, keeping their hyperparameters (see tb_resume.h).
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

/* Scan one file; rewrite it if it holds session records. */
static int tbr_file(const char *dir, const char *name, lc_tb_params *inherit, int *rewritten,
                    char *err, size_t errlen)
{
    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
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
    size_t len = (size_t)st.st_size;
    uint8_t *data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        snprintf(err, errlen, "tensorboard: cannot map %s: %s", path, strerror(errno));
        return -1;
    }

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

int lc_tb_resume_scan(const char *dir, lc_tb_params *inherit, lc_tb_resume_info *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
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
    } else {
        qsort(names, n, sizeof *names, tbr_cmp);
        out->files = (int)n;
        if (n)
            snprintf(out->last_name, sizeof out->last_name, "%s", names[n - 1]);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = tbr_file(dir, names[i], inherit, &out->rewritten, err, errlen);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
