/*
 * bench/bench_wandb.c — lightc's side of bench/run_wandb_bench, the
 * training-step overhead of the W&B backend, and the C-API driver of
 * tests/integration/test_wandb_e2e.py.
 *
 *   bench_wandb [--steps S] [--keys K] [--run-name NAME] [--root DIR]
 *               [--sleep-us U] [--timeline FILE] [--param KEY=VALUE]...
 *     Logs S steps of K metrics (train/loss, train/acc, lr, grad_norm, k4..;
 *     value 1/(step+1+k)) through the hub with loggers "sqlite,wandb", each
 *     step one lc_run_log_scalars (one W&B history line), plus the params
 *     (model/hidden=128, optimizer/lr=0.001 and any --param), sleeping U µs
 *     between steps (a slow producer, for the tests); NaN at step 3 and
 *     +Infinity at step 4 for key 0 when S > 4. The W&B side comes from the
 *     WANDB_* environment (WANDB_MODE=offline writes the offline directory).
 *     Then it finishes the run (the drain: LIGHTC_SYNC_TIMEOUT) and prints
 *       {"steps": S, "lines_per_s": R, "seconds": T, "run_uuid": "<lightc id>",
 *        "remote_id": "<entity/project/run>", "state": "delivered|pending|failed"}
 *     T runs from the first log call until the run's finish (its drain)
 *     returned. --timeline writes one line per step: its Unix end time and
 *     the seconds its log call took. Exit 0 when delivered, 3 when pending
 *     or failed, 1 on errors.
 *
 *   bench_wandb --overhead [--steps S] [--compute-us C] [--root DIR]
 *     The training-step cost with the backend on vs off: S steps of a fixed
 *     compute (C µs of arithmetic) plus one lc_run_log_scalars of 4 metrics,
 *     with loggers "sqlite" (off), "sqlite,wandb" (WANDB_BASE_URL as set),
 *     and "sqlite,wandb" against a dead port (outage); the mean step time of
 *     each and the overhead in %.
 *
 *   bench_wandb --log-cost [--steps S]
 *     The cost of lightc's own log call per step (4 metrics, loggers
 *     "sqlite,wandb" in WANDB_MODE=offline), for the comparison with the
 *     wandb SDK's wandb.log in bench/run_wandb_bench. Prints
 *     {"log_us_per_call": X}.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lightc/hub.h"

static const char *const KEYS[] = {"train/loss", "train/acc", "lr", "grad_norm", "k4", "k5",
                                   "k6", "k7"};
#define MAX_KEYS 8
#define MAX_PARAMS 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The remote run id and state of the run's wandb delivery. */
static void delivery_of(const char *root, const char *uuid, char *remote, size_t rlen,
                        char *state, size_t slen)
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
            const char *m = getenv("WANDB_MODE");
            sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, m && !strcmp(m, "offline") ? "wandb-offline" : "wandb", -1,
                              SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(remote, rlen, "%s", (const char *)sqlite3_column_text(st, 0));
                snprintf(state, slen, "%s", (const char *)sqlite3_column_text(st, 1));
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static int open_run(lc_hub **hub, lc_run **run, const char *root, const char *loggers,
                    const char *experiment, const char *name)
{
    lc_hub_options ho = {.root = root, .loggers = loggers};
    if (lc_hub_open(hub, &ho) != LC_OK) {
        fprintf(stderr, "bench_wandb: lc_hub_open: %s\n", lc_errmsg());
        return -1;
    }
    lc_run_options ro = {.experiment = experiment, .name = name};
    if (lc_run_start(*hub, &ro, run) != LC_OK) {
        fprintf(stderr, "bench_wandb: lc_run_start: %s\n", lc_errmsg());
        lc_hub_close(*hub, 0);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* lines delivered                                                          */

static int run_lines(const char *root, long steps, const char *name, long sleep_us, int nkeys,
                     const char *timeline, const char *const *params, int nparams)
{
    const char *exp = getenv("LC_BENCH_EXPERIMENT");
    lc_hub *hub;
    lc_run *run;
    if (open_run(&hub, &run, root, "sqlite,wandb", exp && *exp ? exp : "lightc-bench", name) != 0)
        return 1;
    lc_run_log_param_int(run, "model/hidden", 128);
    lc_run_log_param_double(run, "optimizer/lr", 0.001);
    for (int i = 0; i < nparams; i++) {
        char k[256];
        const char *eq = strchr(params[i], '=');
        snprintf(k, sizeof k, "%.*s", eq ? (int)(eq - params[i]) : 0, params[i]);
        if (eq)
            lc_run_log_param_str(run, k, eq + 1);
    }
    lc_tag tags[MAX_KEYS];
    for (int k = 0; k < nkeys; k++)
        tags[k] = lc_run_tag(run, KEYS[k]);
    char uuid[64];
    snprintf(uuid, sizeof uuid, "%s", lc_run_id(run));
    double *tl = timeline ? malloc(sizeof(double) * 2 * (size_t)steps) : NULL;
    double vals[MAX_KEYS];
    double t0 = now_s();
    for (long s = 0; s < steps; s++) {
        for (int k = 0; k < nkeys; k++)
            vals[k] = 1.0 / (double)(s + 1 + k);
        if (steps > 4 && s == 3)
            vals[0] = NAN;
        if (steps > 4 && s == 4)
            vals[0] = INFINITY;
        double ts = now_s();
        if (lc_run_log_scalars(run, s, nkeys, tags, vals) != LC_OK) {
            fprintf(stderr, "bench_wandb: log: %s\n", lc_errmsg());
            return 1;
        }
        if (tl) {
            tl[2 * s] = wall_s();
            tl[2 * s + 1] = now_s() - ts;
        }
        if (sleep_us > 0 && s + 1 < steps)
            usleep((useconds_t)sleep_us);
    }
    lc_status fst = lc_run_finish(run, LC_RUN_FINISHED);
    double secs = now_s() - t0;
    lc_hub_close(hub, 10000);
    if (tl) {
        FILE *f = fopen(timeline, "w");
        for (long s = 0; f && s < steps; s++)
            fprintf(f, "%.6f %.9f\n", tl[2 * s], tl[2 * s + 1]);
        if (f)
            fclose(f);
        free(tl);
    }
    char remote[128], state[32];
    delivery_of(root, uuid, remote, sizeof remote, state, sizeof state);
    printf("{\"steps\": %ld, \"lines_per_s\": %.1f, \"seconds\": %.6f, \"run_uuid\": \"%s\","
           " \"remote_id\": \"%s\", \"state\": \"%s\", \"finish\": %d}\n",
           steps, secs > 0 ? (double)steps / secs : 0.0, secs, uuid, remote, state, (int)fst);
    fflush(stdout);
    return strcmp(state, "delivered") == 0 ? 0 : 3;
}

/* ---------------------------------------------------------------------- */
/* training-step overhead                                                   */

static volatile double sink_v;

static void compute(long us)
{
    double t_end = now_s() + (double)us * 1e-6, x = 1.0;
    while (now_s() < t_end)
        for (int i = 0; i < 200; i++)
            x = x * 1.0000001 + 1e-9;
    sink_v = x;
}

static double step_loop(const char *root, const char *loggers, const char *name, long steps,
                        long compute_us)
{
    lc_hub *hub;
    lc_run *run;
    if (open_run(&hub, &run, root, loggers, "lightc-overhead", name) != 0)
        return -1;
    lc_tag tags[4];
    for (int k = 0; k < 4; k++)
        tags[k] = lc_run_tag(run, KEYS[k]);
    double vals[4];
    double t0 = now_s();
    for (long s = 0; s < steps; s++) {
        compute(compute_us);
        for (int k = 0; k < 4; k++)
            vals[k] = 1.0 / (double)(s + 1 + k);
        lc_run_log_scalars(run, s, 4, tags, vals);
    }
    double per = (now_s() - t0) / (double)steps;
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 2000);
    return per;
}

static int run_overhead(const char *root, long steps, long compute_us)
{
    const char *url = getenv("WANDB_BASE_URL");
    setenv("LIGHTC_SYNC_TIMEOUT", "1", 1); /* the drain is not part of a step */
    double off = step_loop(root, "sqlite", "off", steps, compute_us);
    double net = -1, outage;
    if (url && *url)
        net = step_loop(root, "sqlite,wandb", "network", steps, compute_us);
    setenv("WANDB_BASE_URL", "http://127.0.0.1:9", 1); /* the discard port: nothing listens */
    outage = step_loop(root, "sqlite,wandb", "outage", steps, compute_us);
    printf("training step (%ld steps, %ld us compute + 4 metrics):\n", steps, compute_us);
    printf("  wandb off        %9.2f us/step\n", off * 1e6);
    if (net > 0)
        printf("  wandb on         %9.2f us/step  overhead %+.2f%%\n", net * 1e6,
               (net / off - 1) * 100);
    printf("  wandb on, outage %9.2f us/step  overhead %+.2f%%\n", outage * 1e6,
           (outage / off - 1) * 100);
    return off > 0 && outage > 0 ? 0 : 1;
}

/* lightc's log call alone, offline W&B on (the SDK comparison) */
static int run_log_cost(const char *root, long steps)
{
    setenv("WANDB_MODE", "offline", 1);
    lc_hub *hub;
    lc_run *run;
    if (open_run(&hub, &run, root, "sqlite,wandb", "lightc-logcost", "logcost") != 0)
        return 1;
    lc_tag tags[4];
    for (int k = 0; k < 4; k++)
        tags[k] = lc_run_tag(run, KEYS[k]);
    double vals[4];
    double t0 = now_s();
    for (long s = 0; s < steps; s++) {
        for (int k = 0; k < 4; k++)
            vals[k] = 1.0 / (double)(s + 1 + k);
        lc_run_log_scalars(run, s, 4, tags, vals);
    }
    double per = (now_s() - t0) / (double)steps;
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 10000);
    printf("{\"log_us_per_call\": %.3f, \"steps\": %ld}\n", per * 1e6, steps);
    return 0;
}

int main(int argc, char **argv)
{
    long steps = 0, sleep_us = 0, compute_us = 500;
    int nkeys = 4, overhead = 0, log_cost = 0, nparams = 0;
    const char *name = "bench", *root = "runs", *timeline = NULL;
    const char *params[MAX_PARAMS];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--overhead")) {
            overhead = 1;
            continue;
        }
        if (!strcmp(a, "--log-cost")) {
            log_cost = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_wandb: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--steps"))
            steps = atol(v);
        else if (!strcmp(a, "--run-name"))
            name = v;
        else if (!strcmp(a, "--root"))
            root = v;
        else if (!strcmp(a, "--sleep-us"))
            sleep_us = atol(v);
        else if (!strcmp(a, "--timeline"))
            timeline = v;
        else if (!strcmp(a, "--keys"))
            nkeys = atoi(v);
        else if (!strcmp(a, "--compute-us"))
            compute_us = atol(v);
        else if (!strcmp(a, "--param") && nparams < MAX_PARAMS)
            params[nparams++] = v;
        else {
            fprintf(stderr, "bench_wandb: unknown option '%s'\n", a);
            return 2;
        }
        i++;
    }
    if (nkeys < 1 || nkeys > MAX_KEYS) {
        fprintf(stderr, "bench_wandb: --keys 1..%d\n", MAX_KEYS);
        return 2;
    }
    if (overhead)
        return run_overhead(root, steps > 0 ? steps : 2000, compute_us);
    if (log_cost)
        return run_log_cost(root, steps > 0 ? steps : 20000);
    return run_lines(root, steps > 0 ? steps : 5000, name, sleep_us, nkeys, timeline, params,
                     nparams);
}
