/*
 * tests/helpers/outbox_fixture.c — drives the outbox for the CLI tests
 * with an in-process test backend 'rec' (registered here only; lightc
 * itself has no such backend):
 *
 *   outbox_fixture ROOT log     log run outbox/pending with 'rec' whose
 *                               server is "down": the drain times out, the
 *                               run stays pending; prints the run id
 *   outbox_fixture ROOT sync    lc_remote_sync with 'rec' up; prints
 *                               "delivered N sent M"
 */
#include <stdio.h>
#include <string.h>

#include "common/status.h"
#include "lightc/hub.h"
#include "remote/registry.h"
#include "remote/sync.h"

static int down;
static unsigned long sent;

static lc_status rec_open(lc_remote *r, lc_remote_run *run)
{
    (void)r;
    if (down)
        return lc_fail(LC_ERR_IO, "rec: connection refused by rec://test");
    if (!run->remote_id[0]) {
        snprintf(run->remote_id, sizeof run->remote_id, "R42");
        snprintf(run->remote_url, sizeof run->remote_url, "rec://test/runs/R42");
    }
    return LC_OK;
}

static lc_status rec_ship(lc_remote *r, lc_remote_run *run, const lc_outbox_item *items, size_t n,
                          size_t *done)
{
    (void)r;
    (void)run;
    (void)items;
    *done = 0;
    if (down)
        return lc_fail(LC_ERR_IO, "rec: connection refused by rec://test");
    *done = n;
    sent += n;
    return LC_OK;
}

static void rec_close(lc_remote *r, lc_remote_run *run)
{
    (void)r;
    (void)run;
}

static void rec_free(lc_remote *r)
{
    (void)r;
}

static const lc_remote_vtable rec_vt = {.name = "rec", .open_run = rec_open, .ship = rec_ship,
                                        .close_run = rec_close, .free = rec_free};

static lc_status rec_new(lc_remote *out)
{
    out->vt = &rec_vt;
    out->state = NULL;
    return LC_OK;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    lc_remote_register("rec", rec_new);
    if (strcmp(argv[2], "log") == 0) {
        down = 1;
        lc_hub_options o = {.root = argv[1], .loggers = "rec", .sync_timeout_ms = 200};
        lc_hub *hub;
        lc_run *run;
        lc_run_options ro = {.experiment = "outbox", .name = "pending"};
        if (lc_hub_open(&hub, &o) != LC_OK || lc_run_start(hub, &ro, &run) != LC_OK) {
            fprintf(stderr, "%s\n", lc_errmsg());
            return 1;
        }
        for (int i = 0; i < 50; i++)
            lc_run_log_metric(run, "train/loss", 1.0 / (i + 1), i);
        lc_run_log_param_str(run, "optimizer", "adam");
        printf("%s\n", lc_run_id(run));
        fflush(stdout);
        lc_run_finish(run, LC_RUN_FINISHED);
        return lc_hub_close(hub, 0) == LC_OK ? 0 : 1;
    }
    if (strcmp(argv[2], "sync") == 0) {
        lc_sync_options so = {.root = argv[1], .quiet = 1};
        lc_sync_result res;
        char err[512];
        if (lc_remote_sync(&so, &res, err, sizeof err) != LC_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("delivered %u sent %lu\n", res.delivered, sent);
        return 0;
    }
    return 2;
}
