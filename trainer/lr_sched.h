/*
 * trainer/lr_sched.h — learning-rate schedulers as in torch.optim.lr_scheduler:
 * StepLR, CosineAnnealingLR, LinearLR (linear warmup), SequentialLR (e.g.
 * warmup then cosine) and ReduceLROnPlateau.
 *
 * Numerics follow PyTorch's step() exactly: the RECURSIVE ("chainable")
 * form, which reads the optimizer's current lr and multiplies or shifts it,
 * computed in double like Python floats. So lrs agree with PyTorch to the
 * last bit, not just to the closed form's rounding. The closed form is used
 * only where PyTorch uses it: when SequentialLR switches to the next
 * scheduler at a milestone (it restarts it at epoch 0), and for
 * CosineAnnealingLR's first step when constructed with last_epoch > 0
 * (not offered here).
 *
 * Life cycle as in PyTorch: creating a scheduler performs its initial step
 * (last_epoch -1 -> 0) and may change the lr at once (LinearLR sets
 * lr = initial_lr * start_factor). Then call lc_sched_step once per epoch
 * or per optimizer step (interval); ReduceLROnPlateau takes the monitored
 * value with lc_sched_step_metric instead. A scheduler holds a pointer to
 * its optimizer, which must outlive it.
 *
 * The Lightning lr_scheduler_config keys live in the scheduler so the loop
 * can read them: interval (epoch|step, default epoch), frequency (1),
 * monitor (required for ReduceLROnPlateau, e.g. "val/loss"), strict (1).
 *
 * Checkpoints: lc_sched_state_size / _save / _load, an opaque blob
 * ("LCSCHED1", byte-order mark, kind, last_epoch, step count, last lr, base
 * lr, plateau best / num_bad_epochs / cooldown_counter, the children of a
 * SequentialLR). Restore the optimizer first (its lr is part of its own
 * state), then the scheduler, created with the same arguments.
 */
#ifndef LC_TRAINER_LR_SCHED_H
#define LC_TRAINER_LR_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"
#include "optim.h"

typedef struct lc_sched lc_sched;

typedef enum lc_sched_kind {
    LC_SCHED_STEPLR = 0,     /* StepLR */
    LC_SCHED_COSINE = 1,     /* CosineAnnealingLR */
    LC_SCHED_LINEAR = 2,     /* LinearLR */
    LC_SCHED_SEQUENTIAL = 3, /* SequentialLR */
    LC_SCHED_PLATEAU = 4     /* ReduceLROnPlateau */
} lc_sched_kind;

typedef enum lc_sched_interval {
    LC_SCHED_INTERVAL_EPOCH = 0, /* "epoch": at every (frequency-th) epoch end */
    LC_SCHED_INTERVAL_STEP = 1   /* "step": after every (frequency-th) optimizer step */
} lc_sched_interval;

typedef enum lc_plateau_mode { LC_PLATEAU_MIN = 0, LC_PLATEAU_MAX = 1 } lc_plateau_mode;
typedef enum lc_threshold_mode { LC_THRESHOLD_REL = 0, LC_THRESHOLD_ABS = 1 } lc_threshold_mode;

typedef struct lc_plateau_config {
    lc_plateau_mode mode;             /* min */
    double factor;                    /* 0.1; new_lr = lr * factor, must be < 1 */
    int64_t patience;                 /* 10 */
    double threshold;                 /* 1e-4 */
    lc_threshold_mode threshold_mode; /* rel */
    int64_t cooldown;                 /* 0 */
    double min_lr;                    /* 0 */
    double eps;                       /* 1e-8: smaller lr changes are ignored */
} lc_plateau_config;

/** cfg <- PyTorch's ReduceLROnPlateau defaults (see the field comments). */
void lc_plateau_config_default(lc_plateau_config *cfg);

/* ---- constructors (each performs the initial step) -------------------- */

/** StepLR: lr *= gamma every step_size steps (step_size >= 1; PyTorch's
 *  default gamma is 0.1). */
lc_status lc_sched_step_lr(lc_sched **out, lc_optim *opt, int64_t step_size, double gamma);

/** CosineAnnealingLR(T_max >= 1, eta_min >= 0). Past T_max the lr follows
 *  the cosine back up, as in PyTorch (no restarts). */
lc_status lc_sched_cosine(lc_sched **out, lc_optim *opt, int64_t t_max, double eta_min);

/** LinearLR: factor goes from start_factor (0 < s <= 1) to end_factor
 *  (0 <= e <= 1) in total_iters (>= 1) steps; PyTorch's defaults are
 *  1/3, 1.0, 5. */
lc_status lc_sched_linear(lc_sched **out, lc_optim *opt, double start_factor,
                          double end_factor, int64_t total_iters);

/** SequentialLR: children[0] until milestones[0], children[1] until
 *  milestones[1], ...; n >= 1 children (not ReduceLROnPlateau, created over
 *  the same opt), n - 1 increasing milestones >= 1. Takes ownership of the
 *  children in every case (they are freed on error too). */
lc_status lc_sched_sequential(lc_sched **out, lc_optim *opt, lc_sched **children, size_t n,
                              const int64_t *milestones);

/** Linear warmup then cosine: SequentialLR([LinearLR(start_factor, 1.0,
 *  warmup_iters), CosineAnnealingLR(t_max, eta_min)], [warmup_iters]).
 *  t_max counts the cosine part only (e.g. total steps - warmup). */
lc_status lc_sched_warmup_cosine(lc_sched **out, lc_optim *opt, int64_t warmup_iters,
                                 double start_factor, int64_t t_max, double eta_min);

/** ReduceLROnPlateau (cfg NULL = defaults). Does not change the lr now.
 *  Sets monitor to NULL: give it one with lc_sched_set_monitor. */
lc_status lc_sched_plateau(lc_sched **out, lc_optim *opt, const lc_plateau_config *cfg);

/** Free (children included). NULL is fine. */
void lc_sched_free(lc_sched *s);

/* ---- stepping ---------------------------------------------------------- */

/** One scheduler step. LC_ERR_INVALID for ReduceLROnPlateau (it needs the
 *  monitored value: lc_sched_step_metric). */
lc_status lc_sched_step(lc_sched *s);

/** ReduceLROnPlateau step with the monitored value (NaN counts as "not
 *  better", as in PyTorch). LC_ERR_INVALID for the other kinds. */
lc_status lc_sched_step_metric(lc_sched *s, double value);

/** 1 for ReduceLROnPlateau (step with lc_sched_step_metric). */
int lc_sched_needs_metric(const lc_sched *s);

/** get_last_lr(): the lr after the last step (or the initial step). */
double lc_sched_last_lr(const lc_sched *s);

/** last_epoch: number of steps taken (0 right after creation). */
int64_t lc_sched_last_epoch(const lc_sched *s);

/** "StepLR", "CosineAnnealingLR", "LinearLR", "SequentialLR", "ReduceLROnPlateau". */
const char *lc_sched_name(const lc_sched *s);

/* ---- Lightning's lr_scheduler_config ------------------------------------ */

/** interval and frequency (>= 1). Default LC_SCHED_INTERVAL_EPOCH, 1. */
lc_status lc_sched_set_interval(lc_sched *s, lc_sched_interval interval, int64_t frequency);
lc_sched_interval lc_sched_interval_get(const lc_sched *s);
int64_t lc_sched_frequency(const lc_sched *s);

/** The metric fed to ReduceLROnPlateau (copied; NULL clears) and strict:
 *  1 = a missing metric is an error, 0 = a warning and the step is skipped. */
lc_status lc_sched_set_monitor(lc_sched *s, const char *monitor, int strict);
const char *lc_sched_monitor(const lc_sched *s); /* NULL if none */
int lc_sched_strict(const lc_sched *s);

/* ---- checkpoint --------------------------------------------------------- */

size_t lc_sched_state_size(const lc_sched *s);
lc_status lc_sched_state_save(const lc_sched *s, void *buf, size_t cap);
/** Restore into a scheduler built with the same constructor and arguments;
 *  on error (other kind or shape, truncated) nothing changes. Does not
 *  touch the optimizer's lr (restore that with the optimizer). */
lc_status lc_sched_state_load(lc_sched *s, const void *buf, size_t len);

#endif
