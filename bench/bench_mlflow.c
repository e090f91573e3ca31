/*
 * bench/bench_mlflow.c — lightc's slot in bench/run_mlflow_bench, the
 * training-step overhead of the MLflow backend, and the C-API driver of
 * tests/integration/test_mlflow_e2e.py.
 *
 *   bench_mlflow [--points N] [--run-name NAME] [--root DIR]
 *                [--sleep-us U] [--keys K] [--timeline FILE]
 *     Logs N points (K keys per step, default 4: train/loss, train/acc, lr,
 *     grad_norm; value 1/(step+1+k); one ms timestamp per step, the stream
 *     of bench/mlflow_peers.py) through the hub with loggers "sqlite,mlflow"
 *     into MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_NAME, sleeping U µs
 *     between steps (a slow producer, for the tests), then finishes the run
 *     (the drain: LIGHTC_SYNC_TIMEOUT) and prints one JSON line
 *       {"points": N, "seconds": S, "run_id": "<mlflow id>",
 *        "run_uuid": "<lightc id>", "state": "delivered|pending|failed"}
 *     S runs from the first log call until the shipper has had every point
 *     acknowledged (the finish with its drain). --timeline writes one line
 *     per step: its Unix end time and the seconds its log calls took. Exit 0 when delivered, 3
 *     when the run was left pending or failed, 1 on errors.
 *
 *   bench_mlflow --overhead [--steps S] [--compute-us C] [--rounds R] [--root DIR]
 *     The training-step cost with the backend on vs off: S steps of a fixed
 *     amount of work (calibrated to C µs on this core, so time the hub's
 *     threads take from the same core shows) plus one lc_run_log_scalars of
 *     4 metrics, with loggers "sqlite" (off), "sqlite,mlflow" against
 *     MLFLOW_TRACKING_URI (network) and "sqlite,mlflow" against a dead port
 *     (outage), R interleaved rounds; prints the median step time of each
 *     and the overhead in % (medians and ranges of the per-round ratios),
 *     and the backend's CPU time (the process's CPU time per step, any
 *     thread, on minus off) as a share of the step: what the backend costs
 *     the machine whichever core it runs on, and a figure that other load
 *     on a shared machine disturbs far less than wall time.
 *
 * The clocks, run opening, option parser and step loop it shares with
 * bench_wandb are in bench/remote_bench.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lightc/hub.h"
#include "remote_bench.h"

#define PROG "bench_mlflow"

/* ---------------------------------------------------------------------- */
/* points delivered                                                        */

static int run_points(const char *root, long n, const char *name, long sleep_us, int nkeys,
                      const char *timeline)
{
    const char *exp = getenv("MLFLOW_EXPERIMENT_NAME");
    if (!exp || !*exp)
        exp = "lightc-bench";
    lc_hub *hub;
    lc_run *run;
    if (rb_open_run(PROG, &hub, &run, root, "sqlite,mlflow", exp, name) != 0)
        return 1;
    lc_tag tags[RB_MAX_KEYS];
    for (int k = 0; k < nkeys; k++)
        tags[k] = lc_run_tag(run, rb_keys[k]);
    char uuid[64];
    snprintf(uuid, sizeof uuid, "%s", lc_run_id(run));
    long nsteps = (n + nkeys - 1) / nkeys;
    double *tl = timeline ? malloc(sizeof(double) * 2 * (size_t)nsteps) : NULL;
    double ts0 = (double)(int64_t)rb_wall_s();
    double t0 = rb_now_s(), ts = 0;
    for (long i = 0; i < n; i++) {
        int k = (int)(i % nkeys);
        long s = i / nkeys;
        if (tl && k == 0)
            ts = rb_now_s();
        if (lc_run_log_scalar_at(run, tags[k], 1.0 / (double)(s + 1 + k), s,
                                 ts0 + (double)s * 1e-3) != LC_OK) {
            fprintf(stderr, PROG ": log: %s\n", lc_errmsg());
            return 1;
        }
        if (tl && (k == nkeys - 1 || i == n - 1)) {
            tl[2 * s] = rb_wall_s();
            tl[2 * s + 1] = rb_now_s() - ts;
        }
        if (sleep_us > 0 && k == nkeys - 1)
            usleep((useconds_t)sleep_us);
    }
    lc_status fst = lc_run_finish(run, LC_RUN_FINISHED);
    double secs = rb_now_s() - t0;
    lc_hub_close(hub, 10000);
    rb_write_timeline(timeline, tl, nsteps);
    char remote[128], state[32];
    rb_delivery_of(root, uuid, "mlflow", remote, sizeof remote, state, sizeof state);
    printf("{\"points\": %ld, \"seconds\": %.6f, \"run_id\": \"%s\", \"run_uuid\": \"%s\","
           " \"state\": \"%s\", \"finish\": %d}\n",
           n, secs, remote, uuid, state, (int)fst);
    fflush(stdout);
    return strcmp(state, "delivered") == 0 ? 0 : 3;
}

/* ---------------------------------------------------------------------- */
/* training-step overhead                                                   */

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
static double step_loop(const char *root, const char *loggers, const char *name, long steps,
                        long compute_us, double *cpu_per)
{
    rb_loop l = {.prog = PROG, .root = root, .loggers = loggers, .experiment = "lightc-overhead",
                 .name = name, .steps = steps, .compute_us = compute_us, .compute = compute,
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

#define MAX_ROUNDS 15

static int run_overhead(const char *root, long steps, long compute_us, int rounds)
{
    const char *uri = getenv("MLFLOW_TRACKING_URI");
    char *live = uri && *uri ? strdup(uri) : NULL;
    const char *dead = "http://127.0.0.1:9"; /* the discard port: nothing listens */
    setenv("LIGHTC_SYNC_TIMEOUT", "1", 1);       /* the drain is not part of a step */
    calibrate();
    static const char *names[3] = {"off", "network", "outage"};
    double t[3][MAX_ROUNDS], cpu[3][MAX_ROUNDS], ratio[2][MAX_ROUNDS], cpu_ratio[2][MAX_ROUNDS];
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
                t[0][r] = step_loop(root, "sqlite", name, steps, compute_us, &cpu[0][r]);
            else {
                setenv("MLFLOW_TRACKING_URI", c == 1 ? live : dead, 1);
                t[c][r] = step_loop(root, "sqlite,mlflow", name, steps, compute_us, &cpu[c][r]);
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
        setenv("MLFLOW_TRACKING_URI", live, 1);
    printf("training step (%ld steps of %ld us of work + 4 metrics; %d interleaved rounds, "
           "median [min - max]):\n", steps, compute_us, rounds);
    static const char *label[3] = {"mlflow off       ", "mlflow on        ", "mlflow on, outage"};
    for (int c = 0; c < 3; c++) {
        if (c == 1 && !live)
            continue;
        double v[MAX_ROUNDS];
        memcpy(v, t[c], sizeof(double) * (size_t)rounds);
        double m = median(v, rounds);
        printf("  %s %9.2f us/step [%.2f - %.2f]", label[c], m * 1e6, v[0] * 1e6,
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

int main(int argc, char **argv)
{
    long points = 0, sleep_us = 0, steps = 2000, compute_us = 500;
    int nkeys = 4, overhead = 0, rounds = 3;
    const char *name = getenv("LC_BENCH_RUN_NAME"), *root = "runs", *timeline = NULL;
    if (getenv("LC_BENCH_POINTS"))
        points = atol(getenv("LC_BENCH_POINTS"));
    const rb_opt opts[] = {
        {"--overhead", RB_FLAG, &overhead, NULL, 0},
        {"--points", RB_LONG, &points, NULL, 0},
        {"--run-name", RB_STR, &name, NULL, 0},
        {"--root", RB_STR, &root, NULL, 0},
        {"--sleep-us", RB_LONG, &sleep_us, NULL, 0},
        {"--timeline", RB_STR, &timeline, NULL, 0},
        {"--keys", RB_INT, &nkeys, NULL, 0},
        {"--steps", RB_LONG, &steps, NULL, 0},
        {"--compute-us", RB_LONG, &compute_us, NULL, 0},
        {"--rounds", RB_INT, &rounds, NULL, 0},
    };
    if (rb_parse_args(PROG, argc, argv, opts, (int)(sizeof opts / sizeof *opts)) != 0)
        return 2;
    if (nkeys < 1 || nkeys > RB_MAX_KEYS) {
        fprintf(stderr, PROG ": --keys 1..%d\n", RB_MAX_KEYS);
        return 2;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, PROG ": --rounds 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    if (overhead)
        return run_overhead(root, steps > 0 ? steps : 1, compute_us, rounds);
    if (points <= 0)
        points = 20000;
    return run_points(root, points, name && *name ? name : "bench", sleep_us, nkeys, timeline);
}
