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
    if (overhead) {
        rb_overhead_opts ov = {.prog = PROG, .root = root, .backend = "mlflow",
                               .url_env = "MLFLOW_TRACKING_URI", .steps = steps > 0 ? steps : 1,
                               .compute_us = compute_us, .rounds = rounds};
        return rb_overhead(&ov);
    }
    if (points <= 0)
        points = 20000;
    return run_points(root, points, name && *name ? name : "bench", sleep_us, nkeys, timeline);
}
