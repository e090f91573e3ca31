/*
 * loggers/remote/mlflow/mlflow_backend.c — the MLflow backend as remote.h
 * wants it: lc_remote_mlflow_new reads and checks the configuration (the
 * HTTP client is made on the first call, so that it watches the cancel
 * flag the shipper puts in lc_remote.cancel), and the vtable hands each
 * entry to its file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "mlflow_internal.h"

static lc_status be_open_run(lc_remote *r, lc_remote_run *run)
{
    mlflow_backend *b = r->state;
    b->remote = r;
    if (run && run->state) { /* opened again without close_run */
        mlflow_run *s = run->state;
        free(s->artifact_uri);
        free(s->artifact_base);
        free(s);
        run->state = NULL;
    }
    lc_status st = mlflow_open_run(b, run);
    if (st == LC_ERR_NOT_FOUND)
        st = lc_fail(LC_ERR_INVALID, "%s", lc_errmsg());
    return st;
}

static lc_status be_ship(lc_remote *r, lc_remote_run *run, const lc_outbox_item *items, size_t n,
                         size_t *done)
{
    mlflow_backend *b = r->state;
    b->remote = r;
    size_t ignored;
    return mlflow_ship_items(b, run, items, n, done ? done : &ignored);
}

static void be_close_run(lc_remote *r, lc_remote_run *run)
{
    mlflow_backend *b = r->state;
    mlflow_run *s = run ? run->state : NULL;
    if (!s)
        return;
    if (s->artifacts_skipped || s->texts_skipped)
        fprintf(stderr, "lightc: mlflow: run %s on %s: %zu artifact(s) and %zu text(s) were not "
                        "uploaded (see the warnings above)\n",
                s->run_id, b->cfg.uri_shown, s->artifacts_skipped, s->texts_skipped);
    free(s->artifact_uri);
    free(s->artifact_base);
    free(s);
    run->state = NULL;
}

static void be_free(lc_remote *r)
{
    if (!r || !r->state)
        return;
    mlflow_backend *b = r->state;
    lc_http_client_free(b->http);
    mlflow_config_free(&b->cfg);
    free(b);
    r->state = NULL;
}

static const lc_remote_vtable mlflow_vtable = {
    .name = "mlflow",
    .open_run = be_open_run,
    .ship = be_ship,
    .heartbeat = NULL,
    .close_run = be_close_run,
    .free = be_free,
};

lc_status lc_remote_mlflow_new(lc_remote *out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "mlflow: lc_remote_mlflow_new(NULL)");
    memset(out, 0, sizeof *out); /* the shipper sets out->cancel afterwards */
    mlflow_backend *b = calloc(1, sizeof *b);
    if (!b)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status st = mlflow_config_load(&b->cfg);
    if (st != LC_OK) {
        free(b);
        return st;
    }
    /* check the TLS settings now (an unreadable CA file is a setup error) */
    lc_http_config h = mlflow_config_http(&b->cfg, NULL);
    lc_http_client *probe;
    st = lc_http_client_new(&h, &probe);
    if (st != LC_OK) {
        st = lc_fail(st, "mlflow: %s", lc_errmsg());
        mlflow_config_free(&b->cfg);
        free(b);
        return st;
    }
    lc_http_client_free(probe);
    out->vt = &mlflow_vtable;
    out->state = b;
    return LC_OK;
}
