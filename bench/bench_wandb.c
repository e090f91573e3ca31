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
 *   bench_wandb --overhead [--steps S] [--compute-us C] [--rounds R] [--root DIR]
 *     The training-step cost with the backend on vs off (remote_bench.h's
 *     rb_overhead): S steps of a fixed amount of work calibrated to C µs
 *     plus one lc_run_log_scalars of 4 metrics, with loggers "sqlite"
 *     (off), "sqlite,wandb" (WANDB_BASE_URL as set) and "sqlite,wandb"
 *     against a dead port (outage), R interleaved rounds: medians with
 *     ranges of the step time, the overhead in % and the backend's CPU.
 *
 *   bench_wandb --log-cost [--steps S]
 *     The cost of lightc's own log call per step (4 metrics, loggers
 *     "sqlite,wandb" in WANDB_MODE=offline), for the comparison with the
 *     wandb SDK's wandb.log in bench/run_wandb_bench. Prints
 *     {"log_us_per_call": X}.
 *
 * The clocks, run opening, option parser and step loop it shares with
 * bench_mlflow are in bench/remote_bench.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lightc/hub.h"
#include "remote_bench.h"

#define PROG "bench_wandb"
#define MAX_PARAMS 16

/* ---------------------------------------------------------------------- */
/* lines delivered                                                          */

static int run_lines(const char *root, long steps, const char *name, long sleep_us, int nkeys,
                     const char *timeline, const char *const *params, int nparams)
{
    const char *exp = getenv("LC_BENCH_EXPERIMENT");
    lc_hub *hub;
    lc_run *run;
    if (rb_open_run(PROG, &hub, &run, root, "sqlite,wandb", exp && *exp ? exp : "lightc-bench",
                    name) != 0)
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
    lc_tag tags[RB_MAX_KEYS];
    for (int k = 0; k < nkeys; k++)
        tags[k] = lc_run_tag(run, rb_keys[k]);
    char uuid[64];
    snprintf(uuid, sizeof uuid, "%s", lc_run_id(run));
    double *tl = timeline ? malloc(sizeof(double) * 2 * (size_t)steps) : NULL;
    double vals[RB_MAX_KEYS];
    double t0 = rb_now_s();
    for (long s = 0; s < steps; s++) {
        for (int k = 0; k < nkeys; k++)
            vals[k] = 1.0 / (double)(s + 1 + k);
        if (steps > 4 && s == 3)
            vals[0] = NAN;
        if (steps > 4 && s == 4)
            vals[0] = INFINITY;
        double ts = rb_now_s();
        if (lc_run_log_scalars(run, s, nkeys, tags, vals) != LC_OK) {
            fprintf(stderr, PROG ": log: %s\n", lc_errmsg());
            return 1;
        }
        if (tl) {
            tl[2 * s] = rb_wall_s();
            tl[2 * s + 1] = rb_now_s() - ts;
        }
        if (sleep_us > 0 && s + 1 < steps)
            usleep((useconds_t)sleep_us);
    }
    lc_status fst = lc_run_finish(run, LC_RUN_FINISHED);
    double secs = rb_now_s() - t0;
    lc_hub_close(hub, 10000);
    rb_write_timeline(timeline, tl, steps);
    char remote[128], state[32];
    const char *mode = getenv("WANDB_MODE");
    rb_delivery_of(root, uuid, mode && !strcmp(mode, "offline") ? "wandb-offline" : "wandb",
                   remote, sizeof remote, state, sizeof state);
    printf("{\"steps\": %ld, \"lines_per_s\": %.1f, \"seconds\": %.6f, \"run_uuid\": \"%s\","
           " \"remote_id\": \"%s\", \"state\": \"%s\", \"finish\": %d}\n",
           steps, secs > 0 ? (double)steps / secs : 0.0, secs, uuid, remote, state, (int)fst);
    fflush(stdout);
    return strcmp(state, "delivered") == 0 ? 0 : 3;
}

/* ---------------------------------------------------------------------- */
/* training-step overhead                                                   */

/* lightc's log call alone, offline W&B on (the SDK comparison) */
static int run_log_cost(const char *root, long steps)
{
    setenv("WANDB_MODE", "offline", 1);
    rb_loop l = {.prog = PROG, .root = root, .loggers = "sqlite,wandb",
                 .experiment = "lightc-logcost", .name = "logcost", .steps = steps,
                 .close_ms = 10000};
    double per = rb_step_loop(&l, NULL);
    if (per < 0)
        return 1;
    printf("{\"log_us_per_call\": %.3f, \"steps\": %ld}\n", per * 1e6, steps);
    return 0;
}

int main(int argc, char **argv)
{
    long steps = 0, sleep_us = 0, compute_us = 500;
    int nkeys = 4, overhead = 0, log_cost = 0, nparams = 0, rounds = 3;
    const char *name = "bench", *root = "runs", *timeline = NULL;
    const char *params[MAX_PARAMS];
    const rb_opt opts[] = {
        {"--overhead", RB_FLAG, &overhead, NULL, 0},
        {"--log-cost", RB_FLAG, &log_cost, NULL, 0},
        {"--steps", RB_LONG, &steps, NULL, 0},
        {"--run-name", RB_STR, &name, NULL, 0},
        {"--root", RB_STR, &root, NULL, 0},
        {"--sleep-us", RB_LONG, &sleep_us, NULL, 0},
        {"--timeline", RB_STR, &timeline, NULL, 0},
        {"--keys", RB_INT, &nkeys, NULL, 0},
        {"--compute-us", RB_LONG, &compute_us, NULL, 0},
        {"--rounds", RB_INT, &rounds, NULL, 0},
        {"--param", RB_STRS, params, &nparams, MAX_PARAMS},
    };
    if (rb_parse_args(PROG, argc, argv, opts, (int)(sizeof opts / sizeof *opts)) != 0)
        return 2;
    if (nkeys < 1 || nkeys > RB_MAX_KEYS) {
        fprintf(stderr, PROG ": --keys 1..%d\n", RB_MAX_KEYS);
        return 2;
    }
    if (overhead) {
        rb_overhead_opts ov = {.prog = PROG, .root = root, .backend = "wandb",
                               .url_env = "WANDB_BASE_URL", .steps = steps > 0 ? steps : 2000,
                               .compute_us = compute_us, .rounds = rounds};
        return rb_overhead(&ov);
    }
    if (log_cost)
        return run_log_cost(root, steps > 0 ? steps : 20000);
    return run_lines(root, steps > 0 ? steps : 5000, name, sleep_us, nkeys, timeline, params,
                     nparams);
}
