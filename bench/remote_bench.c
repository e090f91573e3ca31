/*
 * bench/remote_bench.c — the pieces bench_mlflow and bench_wandb share:
 * clocks, opening a run, the index's delivery row, the timeline file, the
 * option parser and the timed step loop (see remote_bench.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "remote_bench.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const rb_keys[RB_MAX_KEYS] = {"train/loss", "train/acc", "lr", "grad_norm",
                                          "k4",         "k5",        "k6", "k7"};

double rb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double rb_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double rb_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int rb_open_run(const char *prog, lc_hub **hub, lc_run **run, const char *root,
                const char *loggers, const char *experiment, const char *name)
{
    lc_hub_options ho = {.root = root, .loggers = loggers};
    if (lc_hub_open(hub, &ho) != LC_OK) {
        fprintf(stderr, "%s: lc_hub_open: %s\n", prog, lc_errmsg());
        return -1;
    }
    lc_run_options ro = {.experiment = experiment, .name = name};
    if (lc_run_start(*hub, &ro, run) != LC_OK) {
        fprintf(stderr, "%s: lc_run_start: %s\n", prog, lc_errmsg());
        lc_hub_close(*hub, 0);
        return -1;
    }
    return 0;
}

void rb_delivery_of(const char *root, const char *uuid, const char *backend, char *remote,
                    size_t rlen, char *state, size_t slen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    remote[0] = state[0] = 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db,
                               "SELECT coalesce(remote_id, ''), state FROM deliveries"
                               " WHERE run_id = ?1 AND backend = ?2",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, backend, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(remote, rlen, "%s", (const char *)sqlite3_column_text(st, 0));
                snprintf(state, slen, "%s", (const char *)sqlite3_column_text(st, 1));
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

void rb_write_timeline(const char *path, double *tl, long nsteps)
{
    if (!tl)
        return;
    FILE *f = fopen(path, "w");
    for (long s = 0; f && s < nsteps; s++)
        fprintf(f, "%.6f %.9f\n", tl[2 * s], tl[2 * s + 1]);
    if (f)
        fclose(f);
    free(tl);
}

static const rb_opt *find_opt(const rb_opt *opts, int nopts, const char *a, int flag)
{
    for (int j = 0; j < nopts; j++)
        if ((opts[j].kind == RB_FLAG) == flag && !strcmp(opts[j].name, a))
            return &opts[j];
    return NULL;
}

int rb_parse_args(const char *prog, int argc, char **argv, const rb_opt *opts, int nopts)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const rb_opt *o = find_opt(opts, nopts, a, 1);
        if (o) {
            *(int *)o->dst = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "%s: %s needs a value\n", prog, a);
            return 2;
        }
        o = find_opt(opts, nopts, a, 0);
        if (o && o->kind == RB_LONG)
            *(long *)o->dst = atol(v);
        else if (o && o->kind == RB_INT)
            *(int *)o->dst = atoi(v);
        else if (o && o->kind == RB_STR)
            *(const char **)o->dst = v;
        else if (o && o->kind == RB_STRS && *o->count < o->cap)
            ((const char **)o->dst)[(*o->count)++] = v;
        else {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            return 2;
        }
        i++;
    }
    return 0;
}

double rb_step_loop(const rb_loop *l, double *cpu_per)
{
    lc_hub *hub;
    lc_run *run;
    if (rb_open_run(l->prog, &hub, &run, l->root, l->loggers, l->experiment, l->name) != 0)
        return -1;
    lc_tag tags[4];
    for (int k = 0; k < 4; k++)
        tags[k] = lc_run_tag(run, rb_keys[k]);
    double vals[4];
    double t0 = rb_now_s(), c0 = cpu_per ? rb_cpu_s() : 0;
    for (long s = 0; s < l->steps; s++) {
        if (l->compute)
            l->compute(l->compute_us);
        for (int k = 0; k < 4; k++)
            vals[k] = 1.0 / (double)(s + 1 + k);
        lc_run_log_scalars(run, s, 4, tags, vals);
    }
    double per = (rb_now_s() - t0) / (double)l->steps;
    if (cpu_per)
        *cpu_per = (rb_cpu_s() - c0) / (double)l->steps;
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, l->close_ms);
    return per;
}
