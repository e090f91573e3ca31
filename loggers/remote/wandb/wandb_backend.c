/*
 * loggers/remote/wandb/wandb_backend.c — the W&B backend as remote.h wants
 * it. lc_remote_wandb_new reads WANDB_MODE first:
 *   online    this backend ("wandb"): GraphQL + file_stream
 *   offline   the offline run directory writer ("wandb-offline",
 *             wandb_offline.c); the "wandb" delivery stays pending, so
 *             `lightc sync --to wandb` uploads the run later
 *   disabled  no backend at all (out->vt NULL): nothing is recorded or sent
 * The HTTP clients are made on the first call, so that they watch the
 * cancel flag the shipper puts in lc_remote.cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/status.h"
#include "wandb_internal.h"

static lc_status be_open_run(lc_remote *r, lc_remote_run *run)
{
    wandb_backend *b = r->state;
    b->remote = r;
    if (run && run->state) { /* opened again without close_run */
        wandb_run_free(run->state);
        run->state = NULL;
    }
    lc_status st = wandb_open_run(b, run);
    if (st == LC_ERR_NOT_FOUND)
        st = lc_fail(LC_ERR_INVALID, "%s", lc_errmsg());
    return st;
}

static lc_status be_ship(lc_remote *r, lc_remote_run *run, const lc_outbox_item *items, size_t n,
                         size_t *done)
{
    wandb_backend *b = r->state;
    b->remote = r;
    size_t ignored;
    return wandb_ship_items(b, run, items, n, done ? done : &ignored);
}

static lc_status be_heartbeat(lc_remote *r, lc_remote_run *run)
{
    wandb_backend *b = r->state;
    b->remote = r;
    return run && run->state ? wandb_stream_heartbeat(b, run->state) : LC_OK;
}

static void be_close_run(lc_remote *r, lc_remote_run *run)
{
    (void)r;
    wandb_run *s = run ? run->state : NULL;
    if (!s)
        return;
    if (s->files_skipped)
        fprintf(stderr, "lightc: wandb: run %s/%s/%s: %zu file(s) were not uploaded (gone from "
                        "disk; see the warning above)\n",
                s->entity, s->project, s->run_id, s->files_skipped);
    wandb_run_free(s);
    run->state = NULL;
}

static void be_free(lc_remote *r)
{
    if (!r || !r->state)
        return;
    wandb_backend *b = r->state;
    lc_http_client_free(b->http);
    lc_http_client_free(b->upload);
    wandb_config_free(&b->cfg);
    free(b);
    r->state = NULL;
}

static const lc_remote_vtable wandb_vtable = {
    .name = "wandb",
    .open_run = be_open_run,
    .ship = be_ship,
    .heartbeat = be_heartbeat,
    .close_run = be_close_run,
    .free = be_free,
    .chunk = WANDB_CHUNK,
};

lc_status lc_remote_wandb_new(lc_remote *out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "wandb: lc_remote_wandb_new(NULL)");
    memset(out, 0, sizeof *out); /* the shipper sets out->cancel afterwards */
    const char *m = getenv("WANDB_MODE");
    if (m && (!strcasecmp(m, "offline") || !strcasecmp(m, "dryrun")))
        return lc_remote_wandb_offline_new(out);
    wandb_backend *b = calloc(1, sizeof *b);
    if (!b)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status st = wandb_config_load(&b->cfg);
    if (st != LC_OK) {
        free(b);
        return st;
    }
    if (b->cfg.mode == WANDB_DISABLED) {
        wandb_config_free(&b->cfg);
        free(b);
        return LC_OK; /* out->vt NULL: no backend */
    }
    out->vt = &wandb_vtable;
    out->state = b;
    return LC_OK;
}
