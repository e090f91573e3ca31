/*
 * lightc/hub.h — the logger hub: the one public header for logging.
 *
 * Every event a training loop produces (scalars, hyperparameters, text,
 * histograms, images, artifact files, run status) goes through one hub:
 * the caller's thread copies a few bytes into a bounded queue and returns;
 * one dispatcher thread hands batches of events to the sinks (SQLite run
 * index, TensorBoard, CSV, console, and remote backends).
 *
 * Usage (C, C++ or CUDA):
 *
 *     lc_hub *hub;
 *     if (lc_hub_open(&hub, NULL) != LC_OK) { fprintf(stderr, "%s\n", lc_errmsg()); ... }
 *     lc_run *run;
 *     lc_run_options ro = { .experiment = "mnist", .name = "baseline" };
 *     lc_run_start(hub, &ro, &run);
 *     lc_tag loss = lc_run_tag(run, "train/loss");
 *     for (step...) lc_run_log_scalar(run, loss, value, step);
 *     lc_run_finish(run, LC_RUN_FINISHED);
 *     lc_hub_close(hub, 0);            // 0: wait as long as the sinks need
 *
 * Errors: every call that can fail returns an lc_status; the text a user can
 * act on is in lc_errmsg() (per thread; see lightc/status.h for how long it
 * lasts). The library never calls exit() or abort().
 *
 * Threads: any number of threads may log into one run, and a process may
 * hold several runs and hubs at once. lc_run_finish and lc_hub_close must
 * not race with logging calls on the same run / hub.
 */
#ifndef LIGHTC_HUB_H
#define LIGHTC_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_VERSION_MAJOR 0
#define LC_VERSION_MINOR 1
#define LC_VERSION_PATCH 0
#define LC_VERSION_STRING "0.1.0"

/** The library version, LC_VERSION_STRING. */
const char *lc_version(void);

/* ------------------------------------------------------------------------ */
/* Defaults (one definition each: the hub, the trainer and the CLI use these) */

/** The run root when neither an option nor $LIGHTC_ROOT names one. */
#define LC_DEFAULT_ROOT "./runs"

/** The sinks when neither an option nor $LIGHTC_LOGGERS names them (the
 *  trainer adds ",console" when its progress bar is on). */
#define LC_DEFAULT_LOGGERS "sqlite,tensorboard,csv"

/** The experiment of a run started without one. */
#define LC_DEFAULT_EXPERIMENT "default"

/** The run root a hub opened without lc_hub_options.root uses:
 *  $LIGHTC_ROOT if set and not empty, else LC_DEFAULT_ROOT. */
const char *lc_default_root(void);

/* ------------------------------------------------------------------------ */
/* Hub                                                                       */

typedef struct lc_hub lc_hub;
typedef struct lc_run lc_run;

/** An interned metric key of one run. 0 is never a valid tag. */
typedef uint32_t lc_tag;

/** What a full queue does to the producer. */
typedef enum lc_full_policy {
    LC_FULL_BLOCK = 0, /* default: wait for the dispatcher (never for a failing sink) */
    LC_FULL_DROP = 1   /* return LC_ERR_FULL at once, count the drop */
} lc_full_policy;

/** Options for lc_hub_open. Zero-initialise and set what you need; every
 *  zero / NULL field takes its environment value, then its default. */
typedef struct lc_hub_options {
    const char *root;          /* run root; else lc_default_root() */
    const char *loggers;       /* sink spec, e.g. "sqlite,tensorboard,csv,console";
                                  $LIGHTC_LOGGERS, else LC_DEFAULT_LOGGERS */
    uint32_t queue_capacity;   /* events (rounded up to a power of two); default 65536 */
    lc_full_policy full_policy;
    uint32_t flush_interval_ms;  /* periodic sink flush; default 2000 */
    uint32_t sink_retry_ms;      /* how long a failing local sink is retried
                                    before the run is marked degraded; default 2000 */
    uint32_t image_arena_bytes;  /* bound on image bytes in flight; default 64 MiB */
    int all_ranks;             /* 1: log even when this process is not rank 0 */
    int handle_signals;        /* 1: finish runs as killed on SIGINT/SIGTERM, then re-raise */
    const char *console_keys;  /* comma-separated metrics the console shows;
                                  NULL = the 6 most recently logged keys */
    uint32_t sync_timeout_ms;  /* remote loggers (mlflow, wandb): how long a run's
                                  finish (and lc_hub_close) waits for its delivery
                                  before leaving it pending for `lightc sync`;
                                  default $LIGHTC_SYNC_TIMEOUT (seconds), else 30 s */
} lc_hub_options;

/** Open a hub. opt may be NULL (all defaults). On rank != 0 (RANK,
 *  LOCAL_RANK, OMPI_COMM_WORLD_RANK, SLURM_PROCID) and without all_ranks,
 *  the hub opens as a no-op: every call succeeds and nothing is written.
 *  Errors: LC_ERR_IO (the root cannot be made or written, the index cannot
 *  be opened), LC_ERR_INVALID (an unknown logger, a bad setting such as
 *  $LIGHTC_CONSOLE), LC_ERR_UNSUPPORTED (a logger not built into this
 *  library), LC_ERR_NOMEM. */
lc_status lc_hub_open(lc_hub **out, const lc_hub_options *opt);

/** Wait until every event queued so far has been handed to every sink and
 *  each sink has flushed. timeout_ms 0 means wait without limit. Returns
 *  LC_ERR_TIMEOUT if the work did not finish in time (it continues). */
lc_status lc_hub_flush(lc_hub *hub, uint32_t timeout_ms);

/** Finish every still-running run as finished, flush, stop the dispatcher,
 *  close the sinks and free the hub. Safe on NULL.
 *
 *  timeout_ms bounds the whole call, everything it waits on included
 *  (finishing the runs, the flush, the dispatcher's end); 0 = no limit.
 *  When time runs out it returns LC_ERR_TIMEOUT with a message naming the
 *  runs not yet finished and the sink the dispatcher is still inside; the
 *  hub is then no longer the caller's: the dispatcher finishes the work in
 *  the background and frees the hub itself. Nothing committed is lost: what
 *  the index has committed stays, and a run whose process ends before its
 *  finish lands is later shown as crashed. Otherwise LC_OK, or the first
 *  error a sink reported while finishing the runs. */
lc_status lc_hub_close(lc_hub *hub, uint32_t timeout_ms);

/** 1 if this hub really logs (rank 0 or all_ranks), 0 if it is a no-op. */
int lc_hub_is_active(const lc_hub *hub);

/** The run root this hub writes under. */
const char *lc_hub_root(const lc_hub *hub);

/** The directory the run experiment/name has under this hub's root,
 *  whether or not it exists yet: <root>/<experiment>/<name> (the one
 *  lc_run_dir returns once the run has started). experiment NULL or "":
 *  LC_DEFAULT_EXPERIMENT; name NULL: the experiment's directory. Returns
 *  LC_OK, or LC_ERR_INVALID for a bad name or a path longer than cap. */
lc_status lc_hub_run_dir(const lc_hub *hub, const char *experiment, const char *name, char *out,
                         size_t cap);

/** Names of the sinks compiled into this library, comma-separated. */
const char *lc_available_sinks(void);

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */

typedef enum lc_run_status {
    LC_RUN_RUNNING = 0,
    LC_RUN_FINISHED = 1,
    LC_RUN_FAILED = 2,
    LC_RUN_KILLED = 3,
    LC_RUN_CRASHED = 4
} lc_run_status;

/** "running", "finished", "failed", "killed", "crashed". */
const char *lc_run_status_name(lc_run_status s);

/** Parse a status name; returns -1 if unknown. */
int lc_run_status_parse(const char *name);

/** Options for lc_run_start. Zero-initialise. */
typedef struct lc_run_options {
    const char *experiment;   /* default LC_DEFAULT_EXPERIMENT; letters, digits, - _ . space */
    const char *name;         /* default "version_N" (next free N, as Lightning) */
    const char *const *tags;  /* key, value, key, value, ..., NULL */
    int resume;               /* 1: continue the existing experiment/name run */
    int discard_after;        /* with resume: 1 = points with step > resume_step
                                 are discarded from every backend (a checkpoint
                                 at resume_step is being continued); with
                                 resume_step < 0 the run starts over: its points,
                                 media, params, tags, metrics.csv and events
                                 files are replaced (reported on stderr,
                                 counted in lc_run_counters.discarded) */
    int64_t resume_step;
} lc_run_options;

/** Start (or with resume, continue) a run. Blocks until every sink has
 *  opened it, so a name clash or an unwritable root is reported here:
 *  LC_ERR_EXISTS names --resume; LC_ERR_BUSY: the run index stayed locked
 *  by another process past the busy timeout ($LIGHTC_BUSY_TIMEOUT_MS,
 *  default 10 s); LC_ERR_IO: a file or the index could not be written. A
 *  resumed run is also repaired: the points the run index holds up to
 *  resume_step (all, without discard_after) are replayed to the sinks that
 *  lack them (TensorBoard, after a crash lost its unflushed buffers),
 *  reported on stderr and counted in lc_run_counters.repaired. */
lc_status lc_run_start(lc_hub *hub, const lc_run_options *opt, lc_run **out);

/** The run's id (32 hex digits), experiment, name and directory. */
const char *lc_run_id(const lc_run *run);
const char *lc_run_experiment(const lc_run *run);
const char *lc_run_name(const lc_run *run);
const char *lc_run_dir(const lc_run *run);

/** Intern a metric key. Keys are normalised once, here, to MLflow's rules
 *  (characters [A-Za-z0-9_ ./:-], other bytes become '_'; no empty, '.' or
 *  '..' segments; no leading, trailing or doubled '/'; at most 250 bytes,
 *  longer keys are cut and end in a hash of the original). The original ->
 *  normalised mapping is recorded with the run. Returns 0 (and sets the
 *  error) for an empty key. Interning the same key again returns the same
 *  tag; this call takes a lock, the log calls below do not. */
lc_tag lc_run_tag(lc_run *run, const char *key);

/** The normalised key of a tag, or NULL. */
const char *lc_run_tag_key(const lc_run *run, lc_tag tag);

/** Log one scalar as a record of its own. No malloc, no syscall, no I/O;
 *  wall time is taken from a coarse (ms) clock. */
lc_status lc_run_log_scalar(lc_run *run, lc_tag tag, double value, int64_t step);

/** As lc_run_log_scalar with an explicit wall time (Unix seconds). */
lc_status lc_run_log_scalar_at(lc_run *run, lc_tag tag, double value, int64_t step,
                               double wall_time);

/** Log n scalars for one step as one record (one CSV row, one W&B history
 *  line, one MLflow batch). n may be up to a quarter of the queue. */
lc_status lc_run_log_scalars(lc_run *run, int64_t step, size_t n, const lc_tag *tags,
                             const double *values);

/** Convenience: intern key and log one scalar (takes the intern lock). */
lc_status lc_run_log_metric(lc_run *run, const char *key, double value, int64_t step);

/* Hyperparameters. Keys may be nested with '/' ("optimizer/lr"); they are
 * normalised like metric keys. Values are kept with their type. */
lc_status lc_run_log_param_str(lc_run *run, const char *key, const char *value);
lc_status lc_run_log_param_int(lc_run *run, const char *key, int64_t value);
lc_status lc_run_log_param_double(lc_run *run, const char *key, double value);
lc_status lc_run_log_param_bool(lc_run *run, const char *key, int value);

/** Log every leaf of a JSON object as a hyperparameter, nested objects
 *  flattened with '/': {"opt":{"lr":0.1}} -> opt/lr = 0.1. Arrays are kept
 *  as their JSON text. */
lc_status lc_run_log_params_json(lc_run *run, const char *json);

/** Set a run tag (key -> string), e.g. "seed" -> "42". */
lc_status lc_run_set_tag(lc_run *run, const char *key, const char *value);

/** Log a text entry (markdown) under key at step. */
lc_status lc_run_log_text(lc_run *run, const char *key, const char *text, int64_t step);

/* Histograms: values are bucketed on the caller's thread, in O(1) per value,
 * on TensorBoard's default bucket ladder (edges +-1e-12 * 1.1^k and 0).
 * Non-finite values are skipped and counted in the histogram's nonfinite;
 * an empty or all-non-finite array is LC_ERR_INVALID (counted as rejected). */
lc_status lc_run_log_histogram_f32(lc_run *run, const char *key, const float *values,
                                   size_t n, int64_t step);
lc_status lc_run_log_histogram_f64(lc_run *run, const char *key, const double *values,
                                   size_t n, int64_t step);

/** Log an 8-bit image, row-major, channels 1 (gray), 3 (RGB) or 4 (RGBA).
 *  The pixels are copied into a bounded arena; when it is full the image is
 *  dropped, counted, and LC_ERR_FULL returned. */
lc_status lc_run_log_image(lc_run *run, const char *key, const uint8_t *pixels,
                           uint32_t width, uint32_t height, uint32_t channels, int64_t step);

/** Record a file as an artifact of the run (e.g. a checkpoint). The file
 *  is referenced by path, not copied; remote sinks upload it. artifact_dir
 *  may be NULL. */
lc_status lc_run_log_artifact(lc_run *run, const char *path, const char *artifact_dir);

/** Finish the run with a final status (finished, failed, killed). Waits for
 *  its events to reach the sinks, writes its counters, and frees the run.
 *  Safe on NULL. Prints a one-line report to stderr when anything was
 *  dropped, rejected, replaced or a sink failed. Returns LC_OK or the first
 *  failing sink's code (LC_ERR_BUSY: the index stayed locked; LC_ERR_IO);
 *  the run is freed either way. */
lc_status lc_run_finish(lc_run *run, lc_run_status status);

/** Counters of a run so far (see lc_run_finish). */
typedef struct lc_run_counters {
    uint64_t logged;      /* scalars accepted into the queue */
    uint64_t dropped;     /* events dropped: queue or image arena full in drop
                             mode, or still queued when a signal ended the run */
    uint64_t rejected;    /* rejected: invalid key or value */
    uint64_t replaced;    /* a (key, step) logged again with another value */
    uint64_t sink_errors; /* events of this run (of any kind) in batches a sink
                             gave up on after its retries; counted once per
                             failing sink, so 2 sinks losing 1 batch of 10
                             events count 20 */
    int degraded;         /* 1 if some sink lost data for this run */
    uint64_t discarded;   /* points of earlier attempts removed when the run was
                             resumed (past resume_step) or started over */
    uint64_t repaired;    /* points a sink lacked when the run was resumed,
                             replayed to it from the run index */
} lc_run_counters;

void lc_run_get_counters(const lc_run *run, lc_run_counters *out);

/** LC_RUN_RUNNING while the run is live; once it has been ended, the status
 *  it ended with. A run ended by SIGINT/SIGTERM (lc_hub_options.
 *  handle_signals) reads LC_RUN_KILLED here before lc_run_finish: a training
 *  loop checks this and stops, so the status and what the process does
 *  agree (lc_trainer_fit does). Cheap: one uncontended lock. */
lc_run_status lc_run_get_status(const lc_run *run);

/** Why a SIGINT/SIGTERM came (handle_signals): called on the hub's signal
 *  watcher thread (not in signal context) before the hub's runs are ended;
 *  returns the status to end them with and may fill why (printed). The
 *  default, without one, is LC_RUN_KILLED. A distributed trainer sets one
 *  on rank 0: when a peer rank died, the launcher (mpirun) stops the other
 *  ranks with SIGTERM, and the run then failed rather than was killed. */
typedef lc_run_status (*lc_signal_cause_fn)(void *ctx, int sig, char *why, size_t cap);

/** Set (fn) or clear (NULL) the hub's signal cause. Safe while a signal is
 *  being handled: the watcher holds the same lock while it calls fn, so
 *  once this returns with NULL, fn is not running and will not run. */
void lc_hub_set_signal_cause(lc_hub *hub, lc_signal_cause_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* Key normalisation (exposed for tools and tests)                           */

/** Normalise key into out (at least 251 bytes). Returns 1 if the key was
 *  changed, 0 if it was already valid, -1 if it is empty/unusable. */
int lc_normalize_key(const char *key, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif
#endif /* LIGHTC_HUB_H */
