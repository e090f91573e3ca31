/*
 * cli/sync.c — `lightc sync [RUN...] [--to BACKEND] [--root DIR]`: finish
 * the deliveries to remote backends (MLflow, W&B) that a training process
 * left pending or failed: after a drain timeout, an outage, a crash or a
 * reboot. Uses the shipper of the library (remote/sync.h): the lease in
 * the index decides who ships a run, so it is safe while training runs.
 * A progress bar on a terminal, plain lines otherwise. Exit codes in
 * docs/cli.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "remote/sync.h"
#include "run_resolve.h"

#define SYNC_VERB "sync"

static const char sync_usage[] =
    "usage: lightc sync [RUN...] [--to BACKEND] [--retry SECONDS] [--root DIR]\n"
    "\n"
    "Deliver what remote backends (mlflow) have not got yet: runs left pending\n"
    "(the training process ended before its delivery did, the server was down,\n"
    "the process crashed) or failed (bad credentials: fix them first).\n"
    "\n"
    "  RUN             only these runs (id, id prefix or experiment/name); with\n"
    "                  --to, a run never sent to that backend is sent now\n"
    "  --to BACKEND    only deliveries to this backend (mlflow)\n"
    "  --retry SECONDS how long a run's transient errors are retried (default 60)\n"
    "  --root DIR      run root (default $LIGHTC_ROOT, else ./runs)\n"
    "\n"
    "A run another process is shipping (its training process) is skipped.\n"
    "Exit status: 0 all delivered, 1 some failed or still pending (or an error),\n"
    "2 usage error, 3 some skipped because another process holds them.\n";

typedef struct sync_ui {
    int tty;
    int bar_open;
} sync_ui;

static void sync_progress(void *ctx, const lc_ship_progress *p)
{
    sync_ui *ui = ctx;
    if (ui->tty) {
        int width = 30;
        double f = p->total ? (double)p->done / (double)p->total : 1.0;
        int fill = (int)(f * width + 0.5);
        fprintf(stderr, "\r%s %.8s %s/%s [", p->backend, p->run_uuid, p->experiment, p->name);
        for (int i = 0; i < width; i++)
            fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %llu/%llu", (unsigned long long)p->done, (unsigned long long)p->total);
        ui->bar_open = 1;
    } else if (p->done == 0) {
        fprintf(stderr, "%s: %.8s %s/%s: %llu items to send\n", p->backend, p->run_uuid,
                p->experiment, p->name, (unsigned long long)p->total);
    }
    fflush(stderr);
}

static void sync_report(void *ctx, const char *run, const char *backend, lc_status st,
                        int running, const char *msg)
{
    sync_ui *ui = ctx;
    if (ui->bar_open) {
        fputc('\n', stderr);
        ui->bar_open = 0;
    }
    if (st == LC_OK && running)
        printf("%s %.8s: sent everything so far; the run is still running (its process ships the "
               "rest, or run `lightc sync` again when it ends)\n", backend, run);
    else if (st == LC_OK)
        printf("%s %.8s: delivered\n", backend, run);
    else if (st == LC_ERR_BUSY)
        printf("%s %.8s: skipped: another process is shipping it (%s)\n", backend, run, msg);
    else if (st == LC_ERR_IO || st == LC_ERR_TIMEOUT || st == LC_ERR_NOMEM)
        printf("%s %.8s: still pending: %s; run `lightc sync` again later\n", backend, run, msg);
    else
        printf("%s %.8s: failed: %s\n", backend, run, msg);
    fflush(stdout);
}

int cli_sync(int argc, char **argv)
{
    enum { OPT_TO = 1000, OPT_RETRY };
    static const struct option longopts[] = {CLI_LONGOPT_ROOT, CLI_LONGOPT_HELP,
                                             {"to", required_argument, NULL, OPT_TO},
                                             {"retry", required_argument, NULL, OPT_RETRY},
                                             {0}};
    cli_parser p = {.verb = SYNC_VERB, .shortopts = "h", .longopts = longopts};
    const char *root_flag = NULL, *to = NULL;
    double retry_s = 60;
    int c;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(sync_usage, stdout); return CLI_OK;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        case OPT_TO:
            if (strcmp(optarg, "mlflow") != 0 && strcmp(optarg, "wandb") != 0)
                return cli_usage_error(SYNC_VERB, "--to takes mlflow or wandb, not '%s'", optarg);
            to = optarg;
            break;
        case OPT_RETRY: {
            char *end;
            retry_s = strtod(optarg, &end);
            if (*end || !(retry_s >= 0) || retry_s > 86400)
                return cli_usage_error(SYNC_VERB, "--retry takes seconds (0..86400), not '%s'",
                                       optarg);
            break;
        }
        default: return CLI_USAGE;
        }
    }
    const char *root = cli_root(root_flag);
    size_t nruns = (size_t)(argc - optind);
    char (*ids)[33] = nruns ? calloc(nruns, sizeof *ids) : NULL;
    const char **runs = nruns ? calloc(nruns, sizeof *runs) : NULL;
    if (nruns && (!ids || !runs)) {
        free(ids);
        free(runs);
        return cli_error(SYNC_VERB, "out of memory");
    }
    if (nruns) {
        sqlite3 *db = NULL;
        int rc = cli_db_open(SYNC_VERB, root, CLI_DB_READ, &db);
        for (size_t i = 0; rc == 0 && i < nruns; i++) {
            cli_run r;
            rc = cli_run_resolve(SYNC_VERB, db, root, argv[optind + (int)i], &r);
            if (rc == 0) {
                snprintf(ids[i], sizeof ids[i], "%s", r.id);
                runs[i] = ids[i];
                cli_run_free(&r);
            }
        }
        sqlite3_close(db);
        if (rc != 0) {
            free(ids);
            free(runs);
            return rc;
        }
    }
    sync_ui ui = {.tty = isatty(STDERR_FILENO)};
    lc_sync_options o = {.root = root, .runs = runs, .nruns = nruns, .to = to,
                         .retry_ms = (uint32_t)(retry_s * 1000), .progress = sync_progress,
                         .report = sync_report, .ctx = &ui};
    if (o.retry_ms == 0)
        o.retry_ms = 1;
    lc_sync_result res;
    char err[1024] = "";
    lc_status st = lc_remote_sync(&o, &res, err, sizeof err);
    free(ids);
    free(runs);
    if (st != LC_OK)
        return cli_error(SYNC_VERB, "%s", err);
    if (res.total == 0) {
        printf("nothing to sync: every delivery%s%s is complete\n", to ? " to " : "", to ? to : "");
        return CLI_OK;
    }
    if (res.failed || res.pending)
        return CLI_ERR;
    if (res.busy)
        return CLI_LOST;
    return CLI_OK;
}
