/*
 * loggers/remote/sync.c — finishing pending deliveries later (sync.h):
 * the list of (run, backend) pairs from the index, one shipper per
 * backend, each pair shipped in this thread.
 */
#include "sync.h"
#include "common/status.h"
#include "index/outbox.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sync_pair {
    char run[33];
    char backend[32];
} sync_pair;

typedef struct sync_list {
    sync_pair *v;
    size_t n, cap;
    int oom;
} sync_list;

static int sync_add(void *ctx, const char *run, const char *backend)
{
    sync_list *l = ctx;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].run, run) == 0 && strcmp(l->v[i].backend, backend) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        sync_pair *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    snprintf(l->v[l->n].run, sizeof l->v[l->n].run, "%s", run);
    snprintf(l->v[l->n].backend, sizeof l->v[l->n].backend, "%s", backend);
    l->n++;
    return 0;
}

lc_status lc_remote_sync(const lc_sync_options *o, lc_sync_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (o->to && !lc_remote_find(o->to)) {
        snprintf(err, errlen, "unknown remote backend '%s'; known: %s", o->to,
                 lc_remote_builtin_names());
        return LC_ERR_INVALID;
    }
    lc_outbox *ob = NULL;
    lc_status st = lc_outbox_open(o->root, &ob, err, errlen);
    if (st != LC_OK)
        return st;
    char e2[512];
    if (lc_outbox_mark_crashed(ob, e2, sizeof e2) < 0 && !o->quiet)
        fprintf(stderr, "lightc: sync: cannot check for crashed runs: %s\n", e2);

    sync_list l = {0};
    if (o->nruns == 0) {
        st = lc_outbox_each_delivery(ob, NULL, o->to, 1, sync_add, &l, err, errlen);
    } else {
        for (size_t i = 0; st == LC_OK && i < o->nruns; i++) {
            if (o->to)
                sync_add(&l, o->runs[i], o->to);
            else
                st = lc_outbox_each_delivery(ob, o->runs[i], NULL, 0, sync_add, &l, err, errlen);
        }
    }
    lc_outbox_close(ob);
    if (st == LC_OK && l.oom) {
        snprintf(err, errlen, "sync: out of memory");
        st = LC_ERR_NOMEM;
    }
    if (st != LC_OK) {
        free(l.v);
        return st;
    }

    /* one shipper per backend */
    struct {
        char name[32];
        lc_shipper *sh;
        lc_status st;
        char err[512];
    } shp[8];
    int nsh = 0;
    uint32_t retry = o->retry_ms ? o->retry_ms : 60000;
    for (size_t i = 0; i < l.n; i++) {
        sync_pair *p = &l.v[i];
        int k;
        for (k = 0; k < nsh && strcmp(shp[k].name, p->backend) != 0; k++)
            ;
        if (k == nsh && nsh < (int)(sizeof shp / sizeof shp[0])) {
            snprintf(shp[k].name, sizeof shp[k].name, "%s", p->backend);
            shp[k].sh = NULL;
            shp[k].err[0] = 0;
            lc_remote_ctor ctor = lc_remote_find(p->backend);
            lc_remote be = {0};
            lc_clear_error();
            if (!ctor) {
                shp[k].st = LC_ERR_UNSUPPORTED;
                snprintf(shp[k].err, sizeof shp[k].err, "%s: this lightc has no such backend",
                         p->backend);
            } else if ((shp[k].st = ctor(&be)) != LC_OK) {
                snprintf(shp[k].err, sizeof shp[k].err, "%s: %s", p->backend,
                         lc_errmsg()[0] ? lc_errmsg() : lc_status_name(shp[k].st));
            } else if (!be.vt || strcmp(be.vt->name, p->backend) != 0) {
                /* the backend's own setting made it something else here
                   (WANDB_MODE=disabled or offline): it cannot deliver */
                shp[k].st = LC_ERR_INVALID;
                snprintf(shp[k].err, sizeof shp[k].err,
                         "%s: its mode setting makes it %s here (e.g. WANDB_MODE): set it to "
                         "online to deliver", p->backend, be.vt ? be.vt->name : "switched off");
                if (be.vt && be.vt->free)
                    be.vt->free(&be);
            } else {
                lc_shipper_options so = {.quiet = o->quiet};
                shp[k].st = lc_shipper_new(&shp[k].sh, &be, o->root, &so, shp[k].err,
                                           sizeof shp[k].err);
            }
            nsh++;
        }
        res->total++;
        lc_status rs;
        int running = 0;
        char msg[512] = "";
        if (k >= nsh) {
            rs = LC_ERR_UNSUPPORTED;
            snprintf(msg, sizeof msg, "too many backends");
        } else if (!shp[k].sh) {
            rs = shp[k].st;
            snprintf(msg, sizeof msg, "%s", shp[k].err);
        } else {
            rs = lc_shipper_sync_run(shp[k].sh, p->run, retry, o->progress, o->ctx, &running, msg,
                                     sizeof msg);
        }
        if (rs == LC_OK && running)
            res->running++;
        else if (rs == LC_OK)
            res->delivered++;
        else if (rs == LC_ERR_BUSY)
            res->busy++;
        else if (rs == LC_ERR_IO || rs == LC_ERR_TIMEOUT || rs == LC_ERR_NOMEM)
            res->pending++;
        else
            res->failed++;
        if (o->report)
            o->report(o->ctx, p->run, p->backend, rs, running, msg);
    }
    for (int k = 0; k < nsh; k++)
        lc_shipper_free(shp[k].sh);
    free(l.v);
    return LC_OK;
}
