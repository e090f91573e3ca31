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

/* ---------------------------------------------------------------------- */
/* the training-step overhead of a backend                                 */

static volatile double sink_v;
static double iters_per_us;

/* A fixed amount of work (a chain of dependent multiply-adds), so that CPU
 * time taken by the hub's threads on the same core lengthens the step, as
 * it would a real training step. A wall-clock spin would hide it. */
static void work(long iters)
{
    double x = 1.0;
    for (long i = 0; i < iters; i++)
        x = x * 1.0000001 + 1e-9;
    sink_v = x;
}

/* Iterations per microsecond: the fastest of several timed runs (the least
 * disturbed). */
static void calibrate(void)
{
    const long n = 2000000;
    double best = 1e9;
    for (int r = 0; r < 7; r++) {
        double t0 = rb_now_s();
        work(n);
        double t = rb_now_s() - t0;
        if (t < best)
            best = t;
    }
    iters_per_us = (double)n / (best * 1e6);
}

static void compute(long us)
{
    work((long)((double)us * iters_per_us));
}

/* Mean wall time per step of a loop with loggers; *cpu_per gets the
 * process's CPU time per step. */
static double step_loop(const rb_overhead_opts *o, const char *loggers, const char *name,
                        double *cpu_per)
{
    char exp[64];
    snprintf(exp, sizeof exp, "lightc-overhead-%s", o->backend);
    rb_loop l = {.prog = o->prog, .root = o->root, .loggers = loggers, .experiment = exp,
                 .name = name, .steps = o->steps, .compute_us = o->compute_us, .compute = compute,
                 .close_ms = 2000};
    return rb_step_loop(&l, cpu_per);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts v). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}


int rb_overhead(const rb_overhead_opts *o)
{
    int rounds = o->rounds;
    if (rounds < 1 || rounds > RB_MAX_ROUNDS) {
        fprintf(stderr, "%s: --rounds 1..%d\n", o->prog, RB_MAX_ROUNDS);
        return 2;
    }
    const char *uri = getenv(o->url_env);
    char *live = uri && *uri ? strdup(uri) : NULL;
    char on[64], label[3][64];
    snprintf(on, sizeof on, "sqlite,%s", o->backend);
    snprintf(label[0], sizeof label[0], "%s off", o->backend);
    snprintf(label[1], sizeof label[1], "%s on", o->backend);
    snprintf(label[2], sizeof label[2], "%s on, outage", o->backend);
    const char *dead = "http://127.0.0.1:9"; /* the discard port: nothing listens */
    setenv("LIGHTC_SYNC_TIMEOUT", "1", 1);       /* the drain is not part of a step */
    calibrate();
    static const char *names[3] = {"off", "network", "outage"};
    double t[3][RB_MAX_ROUNDS], cpu[3][RB_MAX_ROUNDS], ratio[2][RB_MAX_ROUNDS],
        cpu_ratio[2][RB_MAX_ROUNDS];
    /* interleaved: each round runs every configuration, starting with a
       different one, so drift on a shared machine hits all alike */
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 3; k++) {
            int c = (r + k) % 3;
            if (c == 1 && !live)
                continue;
            char name[32];
            snprintf(name, sizeof name, "%s-%d", names[c], r + 1);
            if (c == 0)
                t[0][r] = step_loop(o, "sqlite", name, &cpu[0][r]);
            else {
                setenv(o->url_env, c == 1 ? live : dead, 1);
                t[c][r] = step_loop(o, on, name, &cpu[c][r]);
            }
            if (t[c][r] <= 0) {
                free(live);
                return 1;
            }
        }
        for (int c = 1; c < 3; c++) {
            if (c == 1 && !live)
                continue;
            ratio[c - 1][r] = (t[c][r] / t[0][r] - 1) * 100;
            /* the backend's CPU (any thread) as a share of the step */
            cpu_ratio[c - 1][r] = (cpu[c][r] - cpu[0][r]) / t[0][r] * 100;
        }
    }
    if (live)
        setenv(o->url_env, live, 1);
    printf("training step (%ld steps of %ld us of work + 4 metrics; %d interleaved rounds, "
           "median [min - max]):\n", o->steps, o->compute_us, rounds);
    for (int c = 0; c < 3; c++) {
        if (c == 1 && !live)
            continue;
        double v[RB_MAX_ROUNDS];
        memcpy(v, t[c], sizeof(double) * (size_t)rounds);
        double m = median(v, rounds);
        printf("  %-18s %9.2f us/step [%.2f - %.2f]", label[c], m * 1e6, v[0] * 1e6,
               v[rounds - 1] * 1e6);
        if (c > 0) {
            memcpy(v, ratio[c - 1], sizeof(double) * (size_t)rounds);
            m = median(v, rounds);
            printf("  overhead %+.2f%% [%+.2f%% - %+.2f%%]", m, v[0], v[rounds - 1]);
            memcpy(v, cpu_ratio[c - 1], sizeof(double) * (size_t)rounds);
            m = median(v, rounds);
            printf("  backend CPU %+.2f%% of a step [%+.2f%% - %+.2f%%]", m, v[0], v[rounds - 1]);
        }
        printf("\n");
    }
    free(live);
    return 0;
}

