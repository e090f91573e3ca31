/*
 * bench/remote_bench.h — what the remote-backend benchmarks share
 * (bench/bench_mlflow.c, bench/bench_wandb.c, also built as the test
 * helpers tests/helpers/mlflow_log and wandb_log): the clocks, the metric
 * keys, opening a run, reading a run's delivery from the index, the
 * per-step timeline file, the command-line parser and the step loop that
 * the training-step overhead (and bench_wandb's log cost) times.
 *
 * Each bench keeps its own options, defaults, output and messages; errors
 * here are printed as "<prog>: ..." with the program name it passes.
 */
#ifndef LC_BENCH_REMOTE_BENCH_H
#define LC_BENCH_REMOTE_BENCH_H

#include <stddef.h>

#include "lightc/hub.h"

/* The metric keys: train/loss, train/acc, lr, grad_norm, k4..k7. */
#define RB_MAX_KEYS 8
extern const char *const rb_keys[RB_MAX_KEYS];

double rb_now_s(void);  /* monotonic clock, seconds */
double rb_wall_s(void); /* Unix time, seconds */
double rb_cpu_s(void);  /* CPU time of the whole process (every thread) */

/* lc_hub_open with root and loggers, then lc_run_start of experiment/name;
 * 0, or -1 after printing why (nothing left open). */
int rb_open_run(const char *prog, lc_hub **hub, lc_run **run, const char *root,
                const char *loggers, const char *experiment, const char *name);

/* The remote run id and state of the run's delivery to backend, from
 * <root>/index.db; both "" when there is none. */
void rb_delivery_of(const char *root, const char *uuid, const char *backend, char *remote,
                    size_t rlen, char *state, size_t slen);

/* Writes tl (per step: Unix time at its end, seconds its log calls took)
 * to path, one line a step, and frees it; nothing when tl is NULL. */
void rb_write_timeline(const char *path, double *tl, long nsteps);

/* Command-line options: "--name" and what it sets. */
typedef enum { RB_FLAG, RB_LONG, RB_INT, RB_STR, RB_STRS } rb_opt_kind;
typedef struct {
    const char *name;
    rb_opt_kind kind;
    void *dst;  /* int* (FLAG, INT), long* (LONG), const char ** (STR, STRS: an array) */
    int *count; /* STRS: how many are in dst */
    int cap;    /* STRS: dst's size; one more is an unknown option */
} rb_opt;

/* Parses argv by opts (a flag takes no value, every other option one);
 * 0, or 2 after printing "<prog>: X needs a value" or
 * "<prog>: unknown option 'X'". */
int rb_parse_args(const char *prog, int argc, char **argv, const rb_opt *opts, int nopts);

/* One timed loop: a run with loggers in experiment "exp" named name,
 * steps steps of compute(compute_us) (none when compute is NULL) and one
 * lc_run_log_scalars of the first 4 keys (value 1/(step+1+k)); returns the
 * mean wall time per step (-1 when the run did not open), *cpu_per (when
 * not NULL) the process's CPU time per step. The run then finishes and the
 * hub closes within close_ms. */
typedef struct {
    const char *prog, *root, *loggers, *experiment, *name;
    long steps, compute_us;
    void (*compute)(long us);
    int close_ms;
} rb_loop;
double rb_step_loop(const rb_loop *loop, double *cpu_per);

/* The training-step overhead of a remote backend: steps steps of a fixed
 * amount of work (calibrated to compute_us on this core, so CPU the hub's
 * threads take from the same core lengthens a step, as in training) plus
 * one lc_run_log_scalars of 4 metrics, with loggers "sqlite" (off),
 * "sqlite,<backend>" against the server in $url_env (on; skipped when
 * unset) and against a dead port (outage), in `rounds` interleaved rounds.
 * Prints the median step time of each with [min - max], the overhead in %
 * and the backend's CPU (the process's CPU per step, on minus off) as a
 * share of the step. 0, 1 when a run did not open, 2 on a bad `rounds`. */
#define RB_MAX_ROUNDS 15
typedef struct {
    const char *prog, *root;
    const char *backend; /* "mlflow", "wandb" */
    const char *url_env; /* "MLFLOW_TRACKING_URI", "WANDB_BASE_URL" */
    long steps, compute_us;
    int rounds;
} rb_overhead_opts;
int rb_overhead(const rb_overhead_opts *o);

#endif
