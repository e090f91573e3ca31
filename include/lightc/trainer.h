/*
 * lightc/trainer.h — the trainer: PyTorch Lightning's workflow in C.
 *
 * You write a module (a struct of callbacks in the LightningModule shape:
 * training_step, validation_step, test_step, configure_optimizers, on_*
 * hooks); the trainer runs the loops (fit, validate, test), the optimizer
 * and scheduler steps, gradient accumulation and clipping, validation
 * scheduling, checkpoints and callbacks, and sends every event (metrics,
 * hyperparameters, learning rates, histograms, checkpoints, run status)
 * through the logger hub (lightc/hub.h). The trainer never writes a
 * backend itself.
 *
 *     lc_trainer_config cfg;
 *     lc_trainer_config_default(&cfg);
 *     cfg.max_epochs = 10;
 *     lc_trainer *t;
 *     if (lc_trainer_create(&t, &cfg) != LC_OK) { fprintf(stderr, "%s\n", lc_errmsg()); ... }
 *     lc_trainer_fit(t, &my_module, data, NULL);
 *     lc_trainer_test(t, &my_module, data);
 *     lc_trainer_free(t);          // finishes the run
 *
 * Names and defaults follow Lightning's Trainer (see docs/trainer.md). The
 * library never exits or aborts: every call returns an lc_status, and
 * lc_errmsg() says what to fix.
 */
#ifndef LIGHTC_TRAINER_H
#define LIGHTC_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/hub.h"

/** The sinks of a trainer that opens its own hub with the progress bar on:
 *  the hub's default plus the console. */
#define LC_TRAINER_LOGGERS LC_DEFAULT_LOGGERS ",console"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lc_trainer lc_trainer;
typedef struct lc_module lc_module;
typedef struct lc_callback lc_callback;
typedef struct lc_datamodule lc_datamodule;
typedef struct lc_seq lc_seq;
/* The parameter registry (name, values, gradient, shape of every trainable
 * tensor) shared by the optimizer, checkpoints and histograms. */
typedef struct lc_params lc_params;
/* The PCG32 generator of the kernels (dropout masks). */
typedef struct lc_rng lc_rng;

/* ------------------------------------------------------------------------ */
/* Data                                                                      */

/** What a step hook sees: size samples of features floats (row-major,
 *  normalised) and their int32 class labels. Valid during the hook only.
 *  x and y are memory of the trainer's device: host memory on the cpu,
 *  GPU memory on cuda (hand them to lc_seq_forward / lc_seq_cross_entropy,
 *  which compute there; do not read them from the host). */
typedef struct lc_minibatch {
    const float *x;
    const int32_t *y;
    int64_t size;
    int64_t features;
} lc_minibatch;

/** Options of an MNIST-format data module (MNIST, Fashion-MNIST). */
typedef struct lc_data_options {
    const char *dir;      /* NULL: /usr/share/datasets/fashion-mnist */
    int64_t batch_size;   /* train/val/test batch size; <= 0: 64 */
    int64_t val_size;     /* last val_size train samples form the validation
                             split; < 0: 5000; 0: no validation */
} lc_data_options;

/** Load MNIST-format IDX(.gz) files: train, val (the last val_size train
 *  samples) and test splits. The trainer shuffles the train split each
 *  epoch in an order derived from (its seed, epoch) alone. */
lc_status lc_datamodule_mnist(lc_datamodule **out, const lc_data_options *opt);

/** A data module over in-memory 8-bit samples (tests, small data sets).
 *  The arrays are copied. n_val or n_test may be 0 (no such split).
 *  Normalisation: x = (p/255 - mean) / std with mean/std of the train split. */
lc_status lc_datamodule_from_bytes(lc_datamodule **out, const uint8_t *train_x,
                                   const uint8_t *train_y, size_t n_train, const uint8_t *val_x,
                                   const uint8_t *val_y, size_t n_val, const uint8_t *test_x,
                                   const uint8_t *test_y, size_t n_test, size_t features,
                                   int num_classes, int64_t batch_size);

/** Features per sample, number of classes, samples per split
 *  (split: "train", "val", "test"; -1 for an unknown split). */
int64_t lc_datamodule_features(const lc_datamodule *dm);
int lc_datamodule_classes(const lc_datamodule *dm);
int64_t lc_datamodule_size(const lc_datamodule *dm, const char *split);

void lc_datamodule_free(lc_datamodule *dm);

/* ------------------------------------------------------------------------ */
/* Layers: a Sequential container of Linear / ReLU / GELU / Dropout          */

typedef enum lc_activation { LC_ACT_RELU = 0, LC_ACT_GELU = 1 } lc_activation;

/** An empty Sequential taking in_features inputs. Weights are initialised
 *  as PyTorch's nn.Linear does (uniform +-1/sqrt(fan_in)) from seed. */
lc_status lc_seq_create(lc_seq **out, int64_t in_features, uint64_t seed);

/** Append layers. Parameters are named as in nn.Sequential's state_dict:
 *  "<index>.weight", "<index>.bias". Add every layer before the first
 *  forward. */
lc_status lc_seq_add_linear(lc_seq *s, int64_t out_features, int bias);
lc_status lc_seq_add_activation(lc_seq *s, lc_activation act);
lc_status lc_seq_add_dropout(lc_seq *s, float p);

/** The MLP builder: in -> hidden[0] -> act -> dropout -> ... -> out
 *  (dropout only where p > 0; no activation after the last Linear). */
lc_status lc_seq_mlp(lc_seq **out, int64_t in_features, const int64_t *hidden, size_t n_hidden,
                     int64_t out_features, lc_activation act, float dropout, uint64_t seed);

void lc_seq_free(lc_seq *s);

/** The registry of the Sequential's parameters (owned by it). */
lc_params *lc_seq_params(lc_seq *s);

/** Number of layers, and layer i's type ("Linear", "ReLU", "GELU",
 *  "Dropout") and description ("in_features=784, out_features=512"). */
size_t lc_seq_num_layers(const lc_seq *s);
const char *lc_seq_layer_type(const lc_seq *s, size_t i);
const char *lc_seq_layer_desc(const lc_seq *s, size_t i, char *buf, size_t cap);

/** Forward rows samples (x: rows x in_features). training = 1 applies
 *  dropout with masks drawn from the trainer's RNG (lc_trainer_rng); the
 *  output (rows x out_features, owned by the Sequential) is in *out.
 *  The Sequential computes on the device of the compute context the
 *  trainer sets around the step hooks (the CPU outside any): x and *out
 *  are that device's memory, and its parameters move there if they are
 *  elsewhere. The same model code runs on the cpu and on cuda. */
lc_status lc_seq_forward(lc_seq *s, const float *x, int64_t rows, int training, lc_rng *rng,
                         const float **out);

/** Mean softmax cross-entropy of the last forward's output against labels
 *  (PyTorch F.cross_entropy). *correct (may be NULL) counts argmax hits.
 *  Keeps the probabilities for lc_seq_backward. labels are memory of the
 *  forward's device; *loss and *correct are host values (on a GPU, reading
 *  them waits for the forward to finish: the one wait of a training step). */
lc_status lc_seq_cross_entropy(lc_seq *s, const int32_t *labels, double *loss, int64_t *correct);

/** Back-propagate the last cross-entropy, scaled by loss_scale (the
 *  trainer passes 1/accumulate_grad_batches), into the parameter gradients
 *  (which accumulate). */
lc_status lc_seq_backward(lc_seq *s, double loss_scale);

/** Back-propagate a caller-made gradient of the output (rows x out, in
 *  the forward's device memory). */
lc_status lc_seq_backward_from(lc_seq *s, const float *dout);

/* ------------------------------------------------------------------------ */
/* Optimizers and LR schedulers (what configure_optimizers returns)          */

/** An optimizer: "SGD", "Adam" or "AdamW" with PyTorch's hyperparameters.
 *  lc_optimizer_spec_default fills PyTorch's defaults for the name. */
typedef struct lc_optimizer_spec {
    const char *name;     /* "SGD", "Adam", "AdamW" */
    double lr;
    double weight_decay;
    double momentum, dampening; /* SGD */
    int nesterov;               /* SGD */
    double beta1, beta2, eps;   /* Adam, AdamW */
} lc_optimizer_spec;

lc_status lc_optimizer_spec_default(lc_optimizer_spec *spec, const char *name);

/** An LR scheduler and Lightning's lr_scheduler_config. name:
 *   NULL or "none"          no scheduler
 *   "StepLR"                step_size, gamma
 *   "CosineAnnealingLR"     t_max, eta_min
 *   "LinearLR"              start_factor, end_factor, total_iters
 *   "WarmupCosine"          warmup_iters, start_factor, t_max, eta_min
 *   "ReduceLROnPlateau"     mode, factor, patience, threshold, cooldown,
 *                           min_lr; monitor required
 *  lc_scheduler_spec_default fills PyTorch's defaults for the name. */
typedef struct lc_scheduler_spec {
    const char *name;
    const char *interval;   /* "epoch" (default) or "step" */
    int64_t frequency;      /* 1 */
    const char *monitor;    /* metric for ReduceLROnPlateau, e.g. "val/loss" */
    int strict;             /* 1: a missing monitor is an error */
    int64_t step_size;
    double gamma;
    int64_t t_max;
    double eta_min;
    double start_factor, end_factor;
    int64_t total_iters;
    int64_t warmup_iters;
    const char *mode;       /* ReduceLROnPlateau: "min" | "max" */
    double factor;
    int64_t patience;
    double threshold;
    int64_t cooldown;
    double min_lr;
} lc_scheduler_spec;

lc_status lc_scheduler_spec_default(lc_scheduler_spec *spec, const char *name);

/** Filled by configure_optimizers (zeroed by the trainer first). */
typedef struct lc_optimizers {
    lc_optimizer_spec optimizer;
    lc_scheduler_spec scheduler; /* name NULL: none */
} lc_optimizers;

/* ------------------------------------------------------------------------ */
/* The module (LightningModule)                                              */

/** Every hook returns LC_OK or an error status (after lc_errmsg is set by a
 *  failing lightc call, or by the module through lc_trainer_fail); an error
 *  stops the loop and fails the run. NULL hooks are skipped. */
typedef lc_status (*lc_module_hook)(lc_module *m, lc_trainer *t);
typedef lc_status (*lc_module_batch_hook)(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                                          int64_t batch_idx);

struct lc_module {
    const char *name;           /* shown in the model summary ("MLP") */
    void *self;                 /* yours */
    lc_params *params;          /* the parameters to optimize, checkpoint and
                                   histogram (e.g. lc_seq_params) */
    const char *hparams_json;   /* save_hyperparameters(): a JSON object,
                                   logged as params and kept in checkpoints */

    /* Required for fit: the optimizer (and optional scheduler). */
    lc_status (*configure_optimizers)(lc_module *m, lc_trainer *t, lc_optimizers *out);
    /* Required for fit: forward + loss on a batch; *loss is what backward
       differentiates. Log with lc_log. */
    lc_status (*training_step)(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                               int64_t batch_idx, double *loss);
    /* Required for fit (C has no autograd): add d(loss * loss_scale)/dparam
       to the gradients of the last training_step. */
    lc_status (*backward)(lc_module *m, lc_trainer *t, double loss_scale);
    lc_module_batch_hook validation_step;
    lc_module_batch_hook test_step;

    /* Optional hooks, in Lightning's order (docs/trainer.md). */
    lc_module_hook on_fit_start, on_fit_end;
    lc_module_hook on_train_start, on_train_end;
    lc_module_hook on_train_epoch_start, on_train_epoch_end;
    lc_module_hook on_validation_epoch_start, on_validation_epoch_end;
    lc_module_hook on_test_epoch_start, on_test_epoch_end;
    /* Return LC_OK; set *skip_epoch (on_train_batch_start) to end the epoch
       early, as returning -1 does in Lightning. */
    lc_status (*on_train_batch_start)(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                                      int64_t batch_idx, int *skip_epoch);
    lc_module_batch_hook on_train_batch_end;
    lc_module_hook on_before_zero_grad, on_before_backward, on_after_backward;
    lc_module_hook on_before_optimizer_step;
};

/* ------------------------------------------------------------------------ */
/* self.log                                                                  */

/** Tri-state switches: 0 = the hook's default, LC_LOG_ON, LC_LOG_OFF. */
enum { LC_LOG_DEFAULT = 0, LC_LOG_ON = 1, LC_LOG_OFF = -1 };

typedef enum lc_reduce_fx {
    LC_REDUCE_MEAN = 0, /* batch-size-weighted mean (default) */
    LC_REDUCE_SUM = 1,
    LC_REDUCE_MAX = 2,
    LC_REDUCE_MIN = 3
} lc_reduce_fx;

/** Options of lc_log; zero-initialised = Lightning's defaults. */
typedef struct lc_log_options {
    int on_step;            /* default per hook: training hooks on, eval hooks off */
    int on_epoch;           /* default per hook: training hooks off, eval hooks on */
    lc_reduce_fx reduce_fx;
    int prog_bar;           /* 1: also shown by the progress bar */
    int logger;             /* LC_LOG_OFF: callbacks only, not sent to the loggers */
    int64_t batch_size;     /* weight of the mean; 0 = the current batch's size */
    int sync_dist;          /* 1: under ddp, reduce the value across ranks with reduce_fx
                               (epoch means weighted by every rank's batch sizes); 0: rank
                               0's own value is logged (docs/distributed.md) */
} lc_log_options;

/** self.log(name, value, ...): record a metric from inside a hook. With
 *  on_step and on_epoch both on, the loggers get "<name>_step" and
 *  "<name>_epoch"; callbacks may monitor "<name>" too. opt may be NULL.
 *  Errors: logging from a hook where Lightning forbids it (on_fit_start,
 *  configure_optimizers, ...), on_step in an epoch-level hook, the same
 *  name with other options, an unknown reduce_fx. */
lc_status lc_log(lc_trainer *t, const char *name, double value, const lc_log_options *opt);

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                 */

typedef lc_status (*lc_callback_hook)(lc_callback *cb, lc_trainer *t, lc_module *m);
typedef lc_status (*lc_callback_batch_hook)(lc_callback *cb, lc_trainer *t, lc_module *m,
                                            const lc_minibatch *b, int64_t batch_idx);

/** A callback: your struct of hooks (NULL hooks are skipped). Callbacks run
 *  before the module's hook of the same name, in the order they were added;
 *  at on_train_epoch_end and on_train_batch_end, callbacks with monitoring
 *  = 1 (ModelCheckpoint, EarlyStopping) run after the module and after the
 *  step's metrics reached the loggers, so they see them. */
struct lc_callback {
    const char *name;       /* also the state key in checkpoints; unique */
    void *self;
    int monitoring;

    lc_callback_hook setup, teardown;
    lc_callback_hook on_fit_start, on_fit_end;
    lc_callback_hook on_sanity_check_start, on_sanity_check_end;
    lc_callback_hook on_train_start, on_train_end;
    lc_callback_hook on_train_epoch_start, on_train_epoch_end;
    lc_callback_hook on_validation_start, on_validation_end;
    lc_callback_hook on_validation_epoch_start, on_validation_epoch_end;
    lc_callback_hook on_test_start, on_test_end;
    lc_callback_hook on_test_epoch_start, on_test_epoch_end;
    lc_callback_batch_hook on_train_batch_start, on_train_batch_end;
    lc_callback_batch_hook on_validation_batch_end, on_test_batch_end;
    lc_callback_hook on_before_zero_grad, on_before_backward, on_after_backward;
    lc_callback_hook on_before_optimizer_step;
    /* The loop failed with status st (the run is then marked failed). */
    void (*on_exception)(lc_callback *cb, lc_trainer *t, lc_status st);
    /* A checkpoint file was written (atomically) at path. */
    lc_status (*on_checkpoint_saved)(lc_callback *cb, lc_trainer *t, const char *path);

    /* Checkpoint state (Callback.state_dict / load_state_dict): a blob of
       state_size bytes. load is called on resume with the blob saved under
       the same name. */
    size_t (*state_size)(lc_callback *cb);
    lc_status (*state_save)(lc_callback *cb, void *buf, size_t cap);
    lc_status (*state_load)(lc_callback *cb, lc_trainer *t, const void *buf, size_t len);

    /* Frees the callback (called by lc_trainer_free for added callbacks). */
    void (*destroy)(lc_callback *cb);
};

/** ModelCheckpoint with Lightning's names and defaults. */
typedef struct lc_checkpoint_options {
    const char *dirpath;        /* NULL: <run dir>/checkpoints */
    const char *filename;       /* NULL: "{epoch}-{step}" -> "epoch=0-step=100.ckpt" */
    const char *monitor;        /* NULL: save the latest */
    const char *mode;           /* "min" (default) | "max" */
    int save_top_k;             /* 1; 0 = no top-k files, -1 = keep all */
    int save_last;              /* 1: also last.ckpt */
    int64_t every_n_epochs;     /* -1: 1 unless every_n_train_steps is set */
    int64_t every_n_train_steps;/* 0: off */
    int auto_insert_metric_name;/* 1 */
    int save_on_train_epoch_end;/* -1: Lightning's rule; 0/1 force */
    int enable_version_counter; /* 1: "-v1" suffix on a name clash */
    int verbose;
} lc_checkpoint_options;

void lc_checkpoint_options_default(lc_checkpoint_options *o);
lc_status lc_callback_model_checkpoint(lc_callback **out, const lc_checkpoint_options *o);
/** The best / last checkpoint path so far ("" if none). */
const char *lc_model_checkpoint_best_path(const lc_callback *cb);
const char *lc_model_checkpoint_last_path(const lc_callback *cb);

/** EarlyStopping with Lightning's names and defaults. */
typedef struct lc_early_stopping_options {
    const char *monitor;          /* required */
    double min_delta;             /* 0 */
    int64_t patience;             /* 3 (counted in validation checks) */
    const char *mode;             /* "min" */
    int strict;                   /* 1: a missing metric is an error */
    int check_finite;             /* 1 */
    double stopping_threshold;    /* NaN: off */
    double divergence_threshold;  /* NaN: off */
    int check_on_train_epoch_end; /* -1: Lightning's rule */
    int verbose;
} lc_early_stopping_options;

void lc_early_stopping_options_default(lc_early_stopping_options *o);
lc_status lc_callback_early_stopping(lc_callback **out, const lc_early_stopping_options *o);
/** Why the last check stopped training ("" if it did not). */
const char *lc_early_stopping_reason(const lc_callback *cb);
/** The stopped epoch (0 if it did not stop). */
int64_t lc_early_stopping_stopped_epoch(const lc_callback *cb);

/** LearningRateMonitor: logs "lr-<Optimizer>". interval NULL (per the
 *  scheduler's interval), "step" or "epoch". */
lc_status lc_callback_lr_monitor(lc_callback **out, const char *logging_interval);

/** Timer: stops training once duration seconds (> 0) have passed, checked
 *  every "step" or "epoch". duration <= 0 only measures. The elapsed time
 *  is kept in checkpoints. */
lc_status lc_callback_timer(lc_callback **out, double duration_s, const char *interval);
/** Seconds spent in a stage: "train", "validate", "test". */
double lc_timer_elapsed(const lc_callback *cb, const char *stage);

/** DeviceStatsMonitor (Lightning's, for the trainer's device): on the
 *  steps the trainer logs (log_every_n_steps), straight to the loggers at
 *  that step: "device/memory_used_mb" and "device/memory_peak_mb" (the
 *  GPU's caching allocator; GPUs only), "device/step_ms" (the newest
 *  finished training batch, from device events on a GPU, the host clock on
 *  the CPU), "device/samples_per_sec" and "device/gemm_tflops" (that
 *  batch's samples and GEMM flops over its time). Nothing waits for the
 *  GPU: a figure a busy GPU has not produced yet is left out. Added by
 *  default on a GPU (device_stats_monitor). */
lc_status lc_callback_device_stats_monitor(lc_callback **out);

/** ModelSummary: prints the parameter table when fit starts. */
lc_status lc_callback_model_summary(lc_callback **out);

/** Parse Lightning's max_time "DD:HH:MM:SS" into seconds. */
lc_status lc_parse_duration(const char *text, double *seconds);

/* ------------------------------------------------------------------------ */
/* Trainer                                                                   */

/** A batch limit or a validation interval: a fraction of the epoch or a
 *  count of batches (Lightning's float vs int). kind 0 = the default. */
typedef enum lc_amount_kind { LC_AMOUNT_DEFAULT = 0, LC_AMOUNT_FRACTION = 1, LC_AMOUNT_COUNT = 2 } lc_amount_kind;
typedef struct lc_amount {
    lc_amount_kind kind;
    double value;
} lc_amount;

/** "0.25" -> fraction, "10" -> count (a '.' or exponent makes a fraction,
 *  as 1.0 vs 1 in Python). Fractions must be in [0, 1], counts >= 0. */
lc_status lc_amount_parse(const char *text, lc_amount *out);

typedef enum lc_clip_algorithm { LC_CLIP_NORM = 0, LC_CLIP_VALUE = 1 } lc_clip_algorithm;

/** Trainer arguments, Lightning's names; lc_trainer_config_default fills
 *  Lightning's defaults. */
typedef struct lc_trainer_config {
    int64_t max_epochs;            /* 0 (None): 1000 if max_steps == -1, else unlimited; -1 unlimited */
    int64_t max_steps;             /* -1 */
    lc_amount limit_train_batches; /* 1.0 */
    lc_amount limit_val_batches;   /* 1.0 */
    lc_amount limit_test_batches;  /* 1.0 */
    lc_amount val_check_interval;  /* 1.0 */
    int64_t check_val_every_n_epoch; /* 1; 0 = None (validation by batch count only) */
    int64_t num_sanity_val_steps;  /* 2; -1 all */
    int64_t log_every_n_steps;     /* 50; 0 disables step logging */
    int64_t accumulate_grad_batches; /* 1 */
    double gradient_clip_val;      /* 0 = None */
    lc_clip_algorithm gradient_clip_algorithm; /* norm */
    int64_t fast_dev_run;          /* 0; n: n batches of each loop, no logging/checkpoints */
    uint64_t seed;                 /* 42 */
    const char *precision;         /* "32-true"; also "16-mixed", "bf16-mixed", "16-true",
                                      "bf16-true" and the aliases "32", "16", "bf16"
                                      (Lightning's names; docs/trainer.md) */
    const char *accelerator;       /* "auto" (cuda when CUDA is compiled in and a GPU is
                                      usable, else cpu) | "cpu" | "cuda" ("gpu" is an alias);
                                      "cuda" without CUDA or without a GPU is an error */
    int devices;                   /* 1; 0 = auto (1, or the launcher's ranks per node under
                                      ddp); -1 = all of the accelerator's devices; more than
                                      one needs strategy ddp (docs/distributed.md) */
    const char *strategy;          /* "auto" (ddp when devices * num_nodes > 1 or a launcher
                                      started several ranks, else single device) | "ddp" |
                                      "single_device" (Lightning's names) */
    int num_nodes;                 /* 1: machines; world size = devices * num_nodes */
    int use_distributed_sampler;   /* 1: under ddp each rank gets its DistributedSampler
                                      shard of every split; 0: every rank sees all data */
    int device_stats_monitor;      /* 1: on a GPU, a DeviceStatsMonitor logs "device/..."
                                      figures on logging steps (lc_callback_device_stats_monitor) */
    int threads;                   /* BLAS threads; 0 = OpenBLAS's default */
    const char *default_root_dir;  /* NULL: lc_default_root() (the hub root) */
    int enable_checkpointing;      /* 1: a default ModelCheckpoint if none given */
    int enable_progress_bar;       /* 1: the console logger */
    int enable_model_summary;      /* 1 */
    int lr_monitor;                /* 1: a LearningRateMonitor if none given */

    /* Logging (the hub) */
    lc_hub *hub;                   /* NULL: the trainer opens its own */
    const char *loggers;           /* NULL: $LIGHTC_LOGGERS, else LC_TRAINER_LOGGERS
                                      (LC_DEFAULT_LOGGERS without the progress bar) */
    const char *experiment;        /* NULL: LC_DEFAULT_EXPERIMENT */
    const char *name;              /* NULL: version_N */
    int64_t histogram_every_n_steps; /* 0: histograms at each epoch end only */
    int log_histograms;            /* 1: weight and gradient histograms */
    int log_grad_norm;             /* 0: 1 logs "grad_norm" with the step metrics */
    int log_samples_per_sec;       /* 0: 1 logs "perf/samples_per_sec" at epoch ends */
    const char *profiler;          /* NULL (None): off; "simple" | "advanced" | "trace"
                                      (Lightning's profiler=): a table at the end of each
                                      stage, printed and written to <run dir>/<stage>-
                                      profile.txt; trace also writes <run dir>/trace.json;
                                      perf/ metrics on logging steps (docs/trainer.md) */
} lc_trainer_config;

void lc_trainer_config_default(lc_trainer_config *cfg);

/** Check cfg and make a trainer. Nothing is logged until fit/validate/test. */
lc_status lc_trainer_create(lc_trainer **out, const lc_trainer_config *cfg);

/** Add a callback (the trainer takes ownership, also on error). */
lc_status lc_trainer_add_callback(lc_trainer *t, lc_callback *cb);

/** Trainer.fit(module, datamodule, ckpt_path). ckpt_path: NULL (fresh),
 *  "last" (the newest usable checkpoint of the run named by experiment/name;
 *  none: a fresh start with a warning, and an existing run starts over with
 *  its earlier attempt's points and files replaced) or a file. Resuming
 *  continues the same run in every backend, dropping points logged after
 *  the checkpoint and repairing from the index what a backend lacks. */
lc_status lc_trainer_fit(lc_trainer *t, lc_module *m, lc_datamodule *dm, const char *ckpt_path);

/** Trainer.validate / Trainer.test on the val / test split. */
lc_status lc_trainer_validate(lc_trainer *t, lc_module *m, lc_datamodule *dm);
lc_status lc_trainer_test(lc_trainer *t, lc_module *m, lc_datamodule *dm);

/** Finish the run (finished, or failed if a loop failed) and free. */
void lc_trainer_free(lc_trainer *t);

/** Finish the trainer's run now, as lc_trainer_free would (finished, or
 *  failed if a loop failed; a run a signal ended stays killed), and say how
 *  it ended: *status, and *counters once every event has reached every sink
 *  or been counted lost (counters->degraded / sink_errors: some logger lost
 *  data). Either pointer may be NULL. Returns LC_ERR_IO (the message names
 *  the sink) when a sink, e.g. the run index on a full disk, could not
 *  record the end; LC_ERR_STATE when there is no run (fast_dev_run, nothing
 *  fitted yet). Afterwards the trainer logs nothing more: fit, validate and
 *  test fail; lc_trainer_free still frees it. */
lc_status lc_trainer_end_run(lc_trainer *t, lc_run_status *status, lc_run_counters *counters);

/* ---- state for hooks and callbacks -------------------------------------- */

int64_t lc_trainer_current_epoch(const lc_trainer *t);
int64_t lc_trainer_global_step(const lc_trainer *t);   /* optimizer steps */
int lc_trainer_sanity_checking(const lc_trainer *t);
int lc_trainer_training(const lc_trainer *t);          /* in the train loop */
int lc_trainer_should_stop(const lc_trainer *t);
void lc_trainer_set_should_stop(lc_trainer *t, int stop);
/** trainer.callback_metrics[name]: LC_ERR_NOT_FOUND if not logged. */
lc_status lc_trainer_callback_metric(const lc_trainer *t, const char *name, double *value);
/** Names of the callback metrics, comma-separated (for messages). */
const char *lc_trainer_callback_metric_names(lc_trainer *t);
/** The RNG dropout draws from (checkpointed with the trainer). */
lc_rng *lc_trainer_rng(lc_trainer *t);
/** The run the trainer logs to (NULL before fit/validate/test, and with
 *  fast_dev_run). Use it to log your own events. */
lc_run *lc_trainer_run(lc_trainer *t);
const lc_trainer_config *lc_trainer_get_config(const lc_trainer *t);
/** trainer.global_rank and trainer.world_size: this process's rank and the
 *  number of ranks under strategy ddp (0 and 1 on one process). */
int lc_trainer_global_rank(const lc_trainer *t);
int lc_trainer_world_size(const lc_trainer *t);
/** The accelerator the trainer runs on, resolved: "cpu" or "cuda". */
const char *lc_trainer_accelerator(const lc_trainer *t);
/** The precision plugin's canonical name ("16-mixed" for "16"). */
const char *lc_trainer_precision(const lc_trainer *t);
/** The loss scale of 16-mixed's GradScaler (1 for other precisions), and
 *  the optimizer steps it skipped for Inf/NaN gradients so far. */
double lc_trainer_loss_scale(const lc_trainer *t);
int64_t lc_trainer_skipped_steps(const lc_trainer *t);
/** Training throughput of the fits so far: samples per second of the
 *  train loops (0 before any training). */
double lc_trainer_samples_per_sec(const lc_trainer *t);
/** Current lr of the optimizer (NaN before configure_optimizers). */
double lc_trainer_lr(const lc_trainer *t);
/** Name of the optimizer ("AdamW") and of the scheduler ("" if none). */
const char *lc_trainer_optimizer_name(const lc_trainer *t);
const char *lc_trainer_scheduler_name(const lc_trainer *t);
/** Scheduler interval: "step" or "epoch" ("" without a scheduler). */
const char *lc_trainer_scheduler_interval(const lc_trainer *t);
/** The module being trained (NULL outside fit/validate/test). */
lc_module *lc_trainer_module(lc_trainer *t);
/** Train batches per epoch after limits, val batches per check. */
int64_t lc_trainer_num_training_batches(const lc_trainer *t);
int64_t lc_trainer_num_val_batches(const lc_trainer *t);
/** 1 if validation runs during fit (a val split, limit > 0, a validation_step). */
int lc_trainer_has_validation(const lc_trainer *t);
/** The checkpoint path fit resumed from ("" if none). */
const char *lc_trainer_ckpt_path(const lc_trainer *t);
/** The run directory ("" before the run starts). */
const char *lc_trainer_log_dir(const lc_trainer *t);
/** 1 in fast_dev_run mode. */
int lc_trainer_fast_dev_run(const lc_trainer *t);
/** 1 while fitting (not validate/test). */
int lc_trainer_fitting(const lc_trainer *t);

/** Trainer.save_checkpoint(path): written atomically at the next consistent
 *  point (the end of the current batch or epoch; at once outside a loop). */
lc_status lc_trainer_save_checkpoint(lc_trainer *t, const char *path);

/** Set an error message from a hook (printf-style) and return status. */
lc_status lc_trainer_fail(lc_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Checkpoint files                                                          */

/** Read what a checkpoint holds (without a module): epoch, global step,
 *  logging step, and its metadata as JSON text (malloc'd, free it).
 *  A torn or corrupt file is refused with LC_ERR_INVALID. */
lc_status lc_checkpoint_inspect(const char *path, int64_t *epoch, int64_t *global_step,
                                char **meta_json);

#ifdef __cplusplus
}
#endif
#endif /* LIGHTC_TRAINER_H */
