/*
 * trainer/trainer_internal.h — the trainer's state and the functions its
 * parts share: loops (fit_loop.c, eval_loop.c), hook dispatch (hooks.c),
 * the logger connector (log_connector.c), optimizer set-up and scheduler
 * stepping (optim_setup.c), the run (run_setup.c), checkpoints
 * (ckpt_state.c) and histograms (histograms.c).
 *
 * Counters follow Lightning's names:
 *   global_step           optimizer steps taken
 *   batches_that_stepped  the logging step: batches on which the optimizer
 *                         stepped (equal to global_step with one optimizer)
 *   current_epoch         epochs completed (the running epoch's index)
 *   batch_idx             batch index inside the running epoch
 */
#ifndef LC_TRAINER_INTERNAL_H
#define LC_TRAINER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt_async.h"
#include "data.h"
#include "ddp.h"
#include "datamodule.h"
#include "lightc/trainer.h"
#include "log_result.h"
#include "log_rules.h"
#include "lr_sched.h"
#include "optim.h"
#include "params.h"
#include "precision.h"
#include "profiler.h"
#include "rng.h"

/* PCG32 stream of the trainer's RNG (dropout); init uses 1, data its own. */
#define LC_TRAINER_RNG_STREAM 2

/* A (name, value) list: trainer.callback_metrics. */
typedef struct lc_metric_dict {
    char **names;
    double *values;
    size_t len, cap;
    char *joined;      /* names joined by ", " for messages */
} lc_metric_dict;

void lc_metric_dict_set(lc_metric_dict *d, const char *name, double value);
int lc_metric_dict_get(const lc_metric_dict *d, const char *name, double *value);
void lc_metric_dict_clear(lc_metric_dict *d);
void lc_metric_dict_free(lc_metric_dict *d);

typedef enum lc_stage { LC_STAGE_NONE = 0, LC_STAGE_FIT, LC_STAGE_VALIDATE, LC_STAGE_TEST } lc_stage;

/* Which callbacks a dispatch reaches. */
typedef enum lc_cb_filter { LC_CB_ALL = 0, LC_CB_NON_MONITORING, LC_CB_MONITORING } lc_cb_filter;

struct lc_trainer {
    lc_trainer_config cfg;   /* resolved; strings point into owned copies */
    char *own_strings[8];

    /* resolved limits */
    int64_t max_epochs;      /* -1: unlimited */
    int64_t max_steps;       /* -1: unlimited */

    /* logging */
    lc_hub *hub;
    int own_hub;
    lc_run *run;
    int run_failed;          /* a loop failed: the run ends as failed */
    char log_dir[4096];
    lc_tag tag_epoch, tag_grad_norm, tag_samples;
    int64_t epoch_mark_step, epoch_mark_value; /* last "epoch" point: step + 1 (0: none), value */
    lc_tag tag_loss_scale, tag_skipped_steps, tag_overflows;

    /* precision and device */
    lc_precision prec;       /* the plugin (its scaler state is checkpointed) */
    const lc_backend *be;    /* the kernel backend the steps compute on */
    int be_ref;              /* the trainer holds a reference on be (a device) */
    int accel_auto;          /* accelerator "auto": may fall back to the cpu */

    /* callbacks */
    lc_callback **cbs;
    size_t ncb, capcb;

    /* what the running stage works on */
    lc_stage stage;
    lc_module *module;
    lc_datamodule *dm;
    lc_dataloader *train_dl, *val_dl, *test_dl;

    /* optimization */
    lc_optim *optim;
    lc_sched *sched;
    char sched_name[32];

    /* loop state (checkpointed) */
    int64_t current_epoch, global_step, batches_that_stepped;
    int64_t batch_idx, total_batch_idx;
    int64_t resume_batch;    /* first batch of the resumed epoch (mid-epoch resume) */
    int mid_epoch_resume;
    lc_rng rng;

    /* loop state (not checkpointed) */
    int run_closed; /* lc_trainer_end_run ended the run: no new one */
    int should_stop;
    int sanity_checking;
    int training;
    lc_fx fx;                /* hook running now (for lc_log) */
    int64_t cur_batch_size;
    int64_t num_training_batches, num_val_batches, val_check_batch;
    int accumulating;        /* the running batch does not step the optimizer */
    int step_skipped;        /* the last optimizer step was skipped (Inf/NaN gradients) */
    double grad_norm;        /* of the last step, NaN if not computed */
    double epoch_t0;         /* wall time at epoch start (samples/s) */
    int64_t epoch_samples;
    double fit_time;         /* seconds in fit loops, for the throughput tag */
    int64_t fit_samples;

    lc_log_result train_res; /* lc_log values of training hooks */
    lc_log_result eval_res;  /* validation or test */
    lc_metric_dict cbm;      /* callback_metrics */

    /* step emission buffers */
    lc_tag *em_tags;
    double *em_vals;
    size_t em_len, em_cap;

    /* checkpoints requested by callbacks, written at the next boundary */
    char **pending;
    size_t npending, cappending;
    int ckpt_mid_epoch;      /* the next boundary is inside an epoch */
    lc_ckpt_job *ckpt_job;   /* a checkpoint being written in the background */
    lc_ckpt_writer ckpt_spare; /* the last checkpoint's buffer, reused */
    struct lc_hist_job *hist_job; /* histograms being logged in the background */
    char ckpt_path[4096];    /* resumed from ("" if none) */
    int defaults_added;      /* default callbacks are in cbs */

    /* profiler= (NULL: off; every probe is one null check) */
    lc_prof *prof;
    const lc_backend *prof_be; /* t->be, or its kernel-profiling copy (advanced, trace) */
    int prof_stage_on;       /* lc_prof_stage_begin ran; the report is due */
    int64_t prof_emit_step;  /* >= 0: perf/ metrics due at this step */
    int64_t prof_batches, prof_samples; /* since the last perf/ metrics */
    double prof_t0;          /* wall (monotonic) time of the last perf/ metrics */

    struct lc_ddp *ddp;      /* strategy ddp (ddp.h); NULL: one process */
};

/* ---- profiler probes ----------------------------------------------------- */

/* Open / close a span named name; nothing (one branch) without a profiler. */
#define LC_PROF_BEGIN(t, name, kind)                                                      \
    do {                                                                                  \
        if ((t)->prof)                                                                    \
            lc_prof_begin((t)->prof, (name), (kind));                                     \
    } while (0)
#define LC_PROF_END(t)                                                                    \
    do {                                                                                  \
        if ((t)->prof)                                                                    \
            lc_prof_end((t)->prof);                                                       \
    } while (0)
/* The backend the module's steps compute on (the profiling copy while an
 * advanced or trace profiler runs). */
#define LC_COMPUTE_BE(t) ((t)->prof_be ? (t)->prof_be : (t)->be)
/* The training thread's step-metrics hand-off to the hub (perf/log_ms). */
#define LC_PROF_LOG_SPAN "[_LoggerConnector].update_train_step_metrics"
/* Strategy, module and callback actions with Lightning's names. */
void lc_prof_strategy_begin(lc_trainer *t, const char *what);
void lc_prof_module_begin(lc_trainer *t, const char *what);
/* The stage's start / end: the table starts empty; at the end the report
 * is printed and written to <log_dir>/<stage>-profile.txt (and, for trace,
 * <log_dir>/trace.json). */
void lc_prof_stage_begin(lc_trainer *t);
lc_status lc_prof_stage_end(lc_trainer *t, const char *stage);
/* perf/ metrics of the training batches since the last ones (logging steps). */
void lc_prof_log_perf(lc_trainer *t);

/* ---- hooks.c ------------------------------------------------------------- */

/* Call the callbacks' hook at byte offset off of struct lc_callback (an
 * lc_callback_hook), then (module_off != (size_t)-1) the module's
 * lc_module_hook at module_off, with t->fx = fx during the calls. */
lc_status lc_hooks_call(lc_trainer *t, lc_fx fx, lc_cb_filter filter, size_t cb_off,
                        size_t module_off);
/* The same for batch hooks. */
lc_status lc_hooks_call_batch(lc_trainer *t, lc_fx fx, lc_cb_filter filter, size_t cb_off,
                              size_t module_off, const lc_minibatch *b, int64_t batch_idx);
/* Tell every callback about an exception. */
void lc_hooks_exception(lc_trainer *t, lc_status st);
/* Call each callback's setup (or teardown). */
lc_status lc_hooks_setup(lc_trainer *t, int teardown);

#define LC_CB_HOOK(name) offsetof(struct lc_callback, name)
#define LC_MOD_HOOK(name) offsetof(struct lc_module, name)
#define LC_NO_HOOK ((size_t)-1)

/* ---- log_connector.c ----------------------------------------------------- */

/* The results lc_log writes into now (train or eval), or NULL. */
lc_log_result *lc_conn_active(lc_trainer *t);
/* Step values of r -> callback metrics; to the loggers at step when emit. */
lc_status lc_conn_step_end(lc_trainer *t, lc_log_result *r, int emit, int64_t step);
/* Epoch values of r -> callback metrics (and to the loggers at step when
 * emit, with the "epoch" key; with add_epoch even when r logged nothing).
 * Does not reset r. */
lc_status lc_conn_epoch_end(lc_trainer *t, lc_log_result *r, int emit, int64_t step,
                            int add_epoch);
/* Train step metrics are due now: Lightning's should_update_logs. */
int lc_conn_should_update_logs(const lc_trainer *t);
/* Intern key (0 without a run). */
lc_tag lc_conn_tag(lc_trainer *t, const char *key);
/* The "epoch" tag for a record at step: the run's tag, or 0 without a run
 * or when "epoch" already has its point at this step (a step's records —
 * step metrics, validation, epoch end — carry it once). */
lc_tag lc_conn_epoch_tag(lc_trainer *t, int64_t step);

/* ---- optim_setup.c ------------------------------------------------------- */

/* configure_optimizers -> t->optim, t->sched. */
lc_status lc_optim_setup(lc_trainer *t);
void lc_optim_teardown(lc_trainer *t);
/* Step the schedulers of this interval. plateau 0: the non-plateau ones,
 * 1: ReduceLROnPlateau (reads its monitor from the callback metrics). */
lc_status lc_sched_update(lc_trainer *t, lc_sched_interval interval, int plateau);

/* ---- run_setup.c --------------------------------------------------------- */

/* Open the hub and start (or resume) the run; no-op when already started or
 * in fast_dev_run. resume: 0 fresh, 1 continue keeping points, 2 continue
 * discarding points after resume_step. */
lc_status lc_run_setup(lc_trainer *t, int resume, int64_t resume_step);
/* LC_OK while the run is live (or there is none); LC_ERR_STATE, with
 * should_stop set, once the hub ended it from outside (a signal). */
lc_status lc_run_check_live(lc_trainer *t);
/* Resolve ckpt_path ("last" or a file) to a file, "" if none. */
lc_status lc_resolve_ckpt_path(lc_trainer *t, const char *ckpt_path, char *out, size_t cap);

/* ---- ckpt_state.c -------------------------------------------------------- */

/* Serialise the trainer + module + callbacks into a checkpoint and start
 * writing it (atomically, in the background) to every pending path. */
lc_status lc_ckpt_flush_pending(lc_trainer *t);
/* Wait for the background write; log artifacts, tell the callbacks. */
lc_status lc_ckpt_wait(lc_trainer *t);
/* 1 if path is pending or being written. */
int lc_ckpt_path_busy(const lc_trainer *t, const char *path);
/* Restore everything from path (after lc_optim_setup). *resume_step gets
 * the last logging step the checkpoint covers. */
lc_status lc_ckpt_restore(lc_trainer *t, const char *path, int64_t *resume_step);
/* Run experiment/name and BLAS threads stored in a checkpoint (strings
 * malloc'd; NULL when absent). */
lc_status lc_ckpt_peek_run(const char *path, char **experiment, char **name, int *threads,
                           int64_t *batches_that_stepped);

/* ---- histograms.c -------------------------------------------------------- */

typedef struct lc_hist_job lc_hist_job;
/* Weight and gradient histograms of every parameter at step (logged on a
 * helper thread from a snapshot). */
void lc_log_param_histograms(lc_trainer *t, int64_t step);
/* Wait until the histograms in flight are logged. */
void lc_hist_wait(lc_trainer *t);
/* Hand the histograms in flight to another waiter (the checkpoint writer):
 * t no longer waits for them; lc_hist_job_join (NULL is fine) does. */
lc_hist_job *lc_hist_take(lc_trainer *t);
void lc_hist_job_join(lc_hist_job *j);

/* ---- eval_loop.c --------------------------------------------------------- */

/* One validation run inside fit (sanity: the sanity check). */
lc_status lc_eval_run_val(lc_trainer *t, int sanity);

/* ---- trainer.c ----------------------------------------------------------- */

/* Everything a stage needs before its loop: default callbacks, BLAS
 * threads, dataloaders and batch counts. */
lc_status lc_trainer_prepare_stage(lc_trainer *t, lc_stage stage, lc_module *m, lc_datamodule *dm);
/* Make the dataloaders of dm (train shuffled from the seed). */
lc_status lc_trainer_make_loaders(lc_trainer *t, lc_datamodule *dm);
void lc_trainer_free_loaders(lc_trainer *t);
/* Resolve a batch limit against n available batches (Lightning's rules);
 * what names the flag in messages. */
lc_status lc_limit_batches(lc_amount limit, int64_t n, const char *what, int64_t *out);
/* Warn on stderr ("lightc: warning: ..."). */
void lc_trainer_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Convert a dataloader batch into what hooks see. */
void lc_minibatch_from(lc_minibatch *mb, const lc_batch *b);

#endif
