/*
 * trainer/lr_sched.c — learning-rate schedulers (lr_sched.h), a C transcription
 * of torch.optim.lr_scheduler's step() logic: the recursive form reading
 * the optimizer's current lr, the initial step at construction, the closed
 * form where SequentialLR restarts a scheduler at a milestone, and
 * ReduceLROnPlateau's best / bad-epoch / cooldown counters. All lr math is
 * in double, in the same operation order as the Python source, so every lr
 * matches PyTorch bit for bit (libm's cos is the one Python calls too).
 */
#include "lr_sched.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"

#define SCHED_MAGIC "LCSCHED1"
#define SCHED_BOM 0x01020304u

struct lc_sched {
    lc_sched_kind kind;
    lc_optim *opt;
    double base_lr;      /* PyTorch's base_lrs[0] = group["initial_lr"] */
    double last_lr;      /* get_last_lr()[0] */
    int64_t last_epoch;
    int64_t step_count;  /* _step_count */
    int is_initial;      /* inside the constructor's initial step */
    /* hyperparameters (those of this kind; the rest stay 0) */
    int64_t step_size, t_max, total_iters;
    double gamma, eta_min, start_factor, end_factor;
    lc_plateau_config plateau;
    /* ReduceLROnPlateau state */
    double best;
    int64_t num_bad_epochs, cooldown_counter;
    /* SequentialLR */
    lc_sched **children;
    size_t nchildren;
    int64_t *milestones; /* nchildren - 1 */
    /* Lightning's lr_scheduler_config */
    lc_sched_interval interval;
    int64_t frequency;
    char *monitor;
    int strict;
};

static const char *const sched_names[] = {"StepLR", "CosineAnnealingLR", "LinearLR",
                                          "SequentialLR", "ReduceLROnPlateau"};

/* ------------------------------------------------------------------------ */
/* The lr formulas                                                           */

/* get_lr(): the chainable form, from the optimizer's current lr. */
static double sched_get_lr(const lc_sched *s)
{
    const double cur = lc_optim_lr(s->opt);
    const int64_t e = s->last_epoch;
    switch (s->kind) {
    case LC_SCHED_STEPLR:
        if (e == 0 || e % s->step_size != 0)
            return cur;
        return cur * s->gamma;
    case LC_SCHED_COSINE: {
        const double T = (double)s->t_max;
        if (s->is_initial)
            return cur;
        if (s->step_count == 1 && e > 0)
            return s->eta_min + (s->base_lr - s->eta_min) * (1 + cos((double)e * M_PI / T)) / 2;
        /* Python's % is never negative; here only "== 0" matters, which
         * C's remainder answers the same way. */
        if ((e - 1 - s->t_max) % (2 * s->t_max) == 0)
            return cur + (s->base_lr - s->eta_min) * (1 - cos(M_PI / T)) / 2;
        return (1 + cos(M_PI * (double)e / T)) / (1 + cos(M_PI * (double)(e - 1) / T)) *
                   (cur - s->eta_min) +
               s->eta_min;
    }
    case LC_SCHED_LINEAR:
        if (e == 0)
            return cur * s->start_factor;
        if (s->is_initial || e > s->total_iters)
            return cur;
        return cur * (1.0 + (s->end_factor - s->start_factor) /
                                ((double)s->total_iters * s->start_factor +
                                 (double)(e - 1) * (s->end_factor - s->start_factor)));
    default:
        return cur;
    }
}

/* _get_closed_form_lr(): from base_lr and last_epoch only. */
static double sched_closed_form_lr(const lc_sched *s)
{
    const int64_t e = s->last_epoch;
    switch (s->kind) {
    case LC_SCHED_STEPLR: {
        /* Python's // floors; e >= 0 here, where it equals C's division. */
        return s->base_lr * pow(s->gamma, (double)(e / s->step_size));
    }
    case LC_SCHED_COSINE:
        return s->eta_min +
               (s->base_lr - s->eta_min) * (1 + cos(M_PI * (double)e / (double)s->t_max)) / 2;
    case LC_SCHED_LINEAR: {
        int64_t m = s->total_iters < e ? s->total_iters : e;
        return s->base_lr * (s->start_factor + (s->end_factor - s->start_factor) * (double)m /
                                                   (double)s->total_iters);
    }
    default:
        return lc_optim_lr(s->opt);
    }
}

static void sched_apply(lc_sched *s, double lr)
{
    /* The formulas keep lr finite and >= 0 for validated hyperparameters;
     * a negative rounding residue (cosine near eta_min = 0) is clamped. */
    if (!(lr >= 0.0))
        lr = 0.0;
    lc_optim_set_lr(s->opt, lr);
    s->last_lr = lc_optim_lr(s->opt);
}

/* LRScheduler.step() for the chainable kinds. */
static void sched_step_simple(lc_sched *s)
{
    s->step_count++;
    s->last_epoch++;
    sched_apply(s, sched_get_lr(s));
}

/* LRScheduler._update_lr(epoch): jump to `epoch` with the closed form. */
static void sched_update_closed(lc_sched *s, int64_t epoch)
{
    s->last_epoch = epoch;
    sched_apply(s, sched_closed_form_lr(s));
}

/* LRScheduler._initial_step(). */
static void sched_initial_step(lc_sched *s)
{
    s->step_count = 0;
    s->is_initial = 1;
    sched_step_simple(s);
    s->is_initial = 0;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                              */

static lc_status sched_new(lc_sched **out, lc_optim *opt, lc_sched_kind kind, lc_sched **s)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "%s: out is NULL", sched_names[kind]);
    *out = NULL;
    if (!opt)
        return lc_fail(LC_ERR_INVALID, "%s: optimizer is NULL", sched_names[kind]);
    *s = calloc(1, sizeof **s);
    if (!*s)
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", sched_names[kind]);
    (*s)->kind = kind;
    (*s)->opt = opt;
    (*s)->base_lr = lc_optim_initial_lr(opt);
    (*s)->last_epoch = -1;
    (*s)->interval = LC_SCHED_INTERVAL_EPOCH;
    (*s)->frequency = 1;
    (*s)->strict = 1;
    return LC_OK;
}

static lc_status sched_check_step(int64_t step_size, double gamma)
{
    if (step_size < 1)
        return lc_fail(LC_ERR_INVALID, "StepLR: step_size %lld must be >= 1", (long long)step_size);
    if (!(gamma >= 0.0) || !isfinite(gamma))
        return lc_fail(LC_ERR_INVALID, "StepLR: gamma %g must be finite and >= 0", gamma);
    return LC_OK;
}

static lc_status sched_check_cosine(int64_t t_max, double eta_min)
{
    if (t_max < 1)
        return lc_fail(LC_ERR_INVALID, "CosineAnnealingLR: T_max %lld must be >= 1",
                       (long long)t_max);
    if (!(eta_min >= 0.0) || !isfinite(eta_min))
        return lc_fail(LC_ERR_INVALID, "CosineAnnealingLR: eta_min %g must be finite and >= 0",
                       eta_min);
    return LC_OK;
}

static lc_status sched_check_linear(double start, double end, int64_t total_iters)
{
    /* PyTorch's own checks, plus total_iters >= 1 (0 divides by zero). */
    if (!(start > 0.0 && start <= 1.0))
        return lc_fail(LC_ERR_INVALID, "LinearLR: start_factor %g must be in (0, 1]", start);
    if (!(end >= 0.0 && end <= 1.0))
        return lc_fail(LC_ERR_INVALID, "LinearLR: end_factor %g must be in [0, 1]", end);
    if (total_iters < 1)
        return lc_fail(LC_ERR_INVALID, "LinearLR: total_iters %lld must be >= 1",
                       (long long)total_iters);
    return LC_OK;
}

static lc_status sched_check_plateau(const lc_plateau_config *c)
{
    const char *who = "ReduceLROnPlateau";
    if (c->mode != LC_PLATEAU_MIN && c->mode != LC_PLATEAU_MAX)
        return lc_fail(LC_ERR_INVALID, "%s: mode must be min or max", who);
    if (c->threshold_mode != LC_THRESHOLD_REL && c->threshold_mode != LC_THRESHOLD_ABS)
        return lc_fail(LC_ERR_INVALID, "%s: threshold_mode must be rel or abs", who);
    if (!(c->factor < 1.0 && c->factor >= 0.0))
        return lc_fail(LC_ERR_INVALID, "%s: factor %g must be in [0, 1) (\"Factor should be < 1.0\")",
                       who, c->factor);
    if (c->patience < 0 || c->cooldown < 0)
        return lc_fail(LC_ERR_INVALID, "%s: patience (%lld) and cooldown (%lld) must be >= 0", who,
                       (long long)c->patience, (long long)c->cooldown);
    if (!(c->threshold >= 0.0) || !isfinite(c->threshold) || !(c->min_lr >= 0.0) ||
        !isfinite(c->min_lr) || !(c->eps >= 0.0) || !isfinite(c->eps))
        return lc_fail(LC_ERR_INVALID, "%s: threshold, min_lr and eps must be finite and >= 0", who);
    return LC_OK;
}

lc_status lc_sched_step_lr(lc_sched **out, lc_optim *opt, int64_t step_size, double gamma)
{
    if (out)
        *out = NULL;
    lc_sched *s;
    lc_status st = sched_check_step(step_size, gamma);
    if (st != LC_OK || (st = sched_new(out, opt, LC_SCHED_STEPLR, &s)) != LC_OK)
        return st;
    s->step_size = step_size;
    s->gamma = gamma;
    sched_initial_step(s);
    *out = s;
    return LC_OK;
}

lc_status lc_sched_cosine(lc_sched **out, lc_optim *opt, int64_t t_max, double eta_min)
{
    if (out)
        *out = NULL;
    lc_sched *s;
    lc_status st = sched_check_cosine(t_max, eta_min);
    if (st != LC_OK || (st = sched_new(out, opt, LC_SCHED_COSINE, &s)) != LC_OK)
        return st;
    s->t_max = t_max;
    s->eta_min = eta_min;
    sched_initial_step(s);
    *out = s;
    return LC_OK;
}

lc_status lc_sched_linear(lc_sched **out, lc_optim *opt, double start_factor, double end_factor,
                          int64_t total_iters)
{
    if (out)
        *out = NULL;
    lc_sched *s;
    lc_status st = sched_check_linear(start_factor, end_factor, total_iters);
    if (st != LC_OK || (st = sched_new(out, opt, LC_SCHED_LINEAR, &s)) != LC_OK)
        return st;
    s->start_factor = start_factor;
    s->end_factor = end_factor;
    s->total_iters = total_iters;
    sched_initial_step(s);
    *out = s;
    return LC_OK;
}

static void sched_free_children(lc_sched **children, size_t n)
{
    for (size_t i = 0; children && i < n; i++)
        lc_sched_free(children[i]);
}

static lc_status sched_check_sequential(lc_optim *opt, lc_sched **children, size_t n,
                                        const int64_t *milestones)
{
    const char *who = "SequentialLR";
    if (n < 1 || !children)
        return lc_fail(LC_ERR_INVALID, "%s: expects at least one scheduler", who);
    if (n > 1 && !milestones)
        return lc_fail(LC_ERR_INVALID, "%s: %zu schedulers need %zu milestones", who, n, n - 1);
    for (size_t i = 0; i < n; i++) {
        if (!children[i])
            return lc_fail(LC_ERR_INVALID, "%s: scheduler %zu is NULL", who, i);
        if (children[i]->kind == LC_SCHED_PLATEAU || children[i]->kind == LC_SCHED_SEQUENTIAL)
            return lc_fail(LC_ERR_INVALID, "%s: scheduler %zu is a %s, which cannot be sequenced",
                           who, i, sched_names[children[i]->kind]);
        if (children[i]->opt != opt)
            return lc_fail(LC_ERR_INVALID, "%s: scheduler %zu belongs to another optimizer", who, i);
        for (size_t j = 0; j < i; j++)
            if (children[j] == children[i])
                return lc_fail(LC_ERR_INVALID, "%s: scheduler %zu is given twice", who, i);
    }
    for (size_t i = 0; i + 1 < n; i++)
        if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1]))
            return lc_fail(LC_ERR_INVALID,
                           "%s: milestones must be increasing and >= 1 (milestone %zu is %lld)", who,
                           i, (long long)milestones[i]);
    return LC_OK;
}

lc_status lc_sched_sequential(lc_sched **out, lc_optim *opt, lc_sched **children, size_t n,
                              const int64_t *milestones)
{
    if (out)
        *out = NULL;
    lc_sched *s = NULL;
    lc_status st = sched_check_sequential(opt, children, n, milestones);
    if (st == LC_OK)
        st = sched_new(out, opt, LC_SCHED_SEQUENTIAL, &s);
    if (st == LC_OK) {
        s->children = calloc(n, sizeof *s->children);
        s->milestones = calloc(n, sizeof *s->milestones); /* n >= 1: never calloc(0) */
        if (!s->children || !s->milestones) {
            free(s->children);
            free(s->milestones);
            free(s);
            s = NULL;
            st = lc_fail(LC_ERR_NOMEM, "SequentialLR: out of memory");
        }
    }
    if (st != LC_OK || !s) {
        sched_free_children(children, n);
        if (out)
            *out = NULL;
        return st;
    }
    memcpy(s->children, children, n * sizeof *children);
    if (n > 1)
        memcpy(s->milestones, milestones, (n - 1) * sizeof *milestones);
    s->nchildren = n;

    /* SequentialLR.__init__: last_epoch = -1 + 1; lr back to initial_lr;
     * undo the children's initial steps; redo only the first one's. */
    s->last_epoch = 0;
    lc_optim_set_lr(opt, lc_optim_initial_lr(opt));
    for (size_t i = 0; i < n; i++)
        s->children[i]->last_epoch -= 1;
    sched_initial_step(s->children[0]);
    s->last_lr = s->children[0]->last_lr;
    *out = s;
    return LC_OK;
}

lc_status lc_sched_warmup_cosine(lc_sched **out, lc_optim *opt, int64_t warmup_iters,
                                 double start_factor, int64_t t_max, double eta_min)
{
    lc_sched *kids[2] = {NULL, NULL};
    if (out)
        *out = NULL;
    lc_status st = lc_sched_linear(&kids[0], opt, start_factor, 1.0, warmup_iters);
    if (st == LC_OK)
        st = lc_sched_cosine(&kids[1], opt, t_max, eta_min);
    if (st != LC_OK) {
        lc_sched_free(kids[0]);
        /* The children's constructors moved the lr; put it back. */
        if (opt)
            lc_optim_set_lr(opt, lc_optim_initial_lr(opt));
        return st;
    }
    return lc_sched_sequential(out, opt, kids, 2, &warmup_iters);
}

void lc_plateau_config_default(lc_plateau_config *cfg)
{
    cfg->mode = LC_PLATEAU_MIN;
    cfg->factor = 0.1;
    cfg->patience = 10;
    cfg->threshold = 1e-4;
    cfg->threshold_mode = LC_THRESHOLD_REL;
    cfg->cooldown = 0;
    cfg->min_lr = 0.0;
    cfg->eps = 1e-8;
}

lc_status lc_sched_plateau(lc_sched **out, lc_optim *opt, const lc_plateau_config *cfg)
{
    if (out)
        *out = NULL;
    lc_plateau_config def;
    if (!cfg) {
        lc_plateau_config_default(&def);
        cfg = &def;
    }
    lc_sched *s;
    lc_status st = sched_check_plateau(cfg);
    if (st != LC_OK || (st = sched_new(out, opt, LC_SCHED_PLATEAU, &s)) != LC_OK)
        return st;
    s->plateau = *cfg;
    /* ReduceLROnPlateau.__init__: no initial step, lr untouched. */
    s->last_epoch = 0;
    s->last_lr = lc_optim_lr(opt);
    s->best = cfg->mode == LC_PLATEAU_MIN ? INFINITY : -INFINITY;
    *out = s;
    return LC_OK;
}

void lc_sched_free(lc_sched *s)
{
    if (!s)
        return;
    sched_free_children(s->children, s->nchildren);
    free(s->children);
    free(s->milestones);
    free(s->monitor);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Stepping                                                                  */

lc_status lc_sched_step(lc_sched *s)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "scheduler is NULL");
    if (s->kind == LC_SCHED_PLATEAU)
        return lc_fail(LC_ERR_INVALID,
                       "ReduceLROnPlateau needs the monitored value: call lc_sched_step_metric "
                       "(monitor '%s')", s->monitor ? s->monitor : "(none set)");
    if (s->kind != LC_SCHED_SEQUENTIAL) {
        sched_step_simple(s);
        return LC_OK;
    }
    s->last_epoch++;
    size_t idx = 0; /* bisect_right(milestones, last_epoch) */
    while (idx + 1 < s->nchildren && s->milestones[idx] <= s->last_epoch)
        idx++;
    lc_sched *c = s->children[idx];
    if (idx > 0 && s->milestones[idx - 1] == s->last_epoch)
        sched_update_closed(c, 0);
    else
        sched_step_simple(c);
    s->last_lr = c->last_lr;
    return LC_OK;
}

static int plateau_is_better(const lc_sched *s, double a)
{
    const lc_plateau_config *c = &s->plateau;
    if (c->mode == LC_PLATEAU_MIN)
        return c->threshold_mode == LC_THRESHOLD_REL ? a < s->best * (1.0 - c->threshold)
                                                     : a < s->best - c->threshold;
    return c->threshold_mode == LC_THRESHOLD_REL ? a > s->best * (c->threshold + 1.0)
                                                 : a > s->best + c->threshold;
}

lc_status lc_sched_step_metric(lc_sched *s, double value)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "scheduler is NULL");
    if (s->kind != LC_SCHED_PLATEAU)
        return lc_fail(LC_ERR_INVALID, "%s takes no monitored value: call lc_sched_step",
                       sched_names[s->kind]);
    s->last_epoch++;
    if (plateau_is_better(s, value)) {
        s->best = value;
        s->num_bad_epochs = 0;
    } else {
        s->num_bad_epochs++;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->num_bad_epochs = 0; /* bad epochs in cooldown are ignored */
    }
    if (s->num_bad_epochs > s->plateau.patience) {
        double old_lr = lc_optim_lr(s->opt);
        double new_lr = old_lr * s->plateau.factor;
        if (s->plateau.min_lr > new_lr)
            new_lr = s->plateau.min_lr;
        if (old_lr - new_lr > s->plateau.eps)
            lc_optim_set_lr(s->opt, new_lr);
        s->cooldown_counter = s->plateau.cooldown;
        s->num_bad_epochs = 0;
    }
    s->last_lr = lc_optim_lr(s->opt);
    return LC_OK;
}

int lc_sched_needs_metric(const lc_sched *s)
{
    return s && s->kind == LC_SCHED_PLATEAU;
}

double lc_sched_last_lr(const lc_sched *s)
{
    return s->last_lr;
}

int64_t lc_sched_last_epoch(const lc_sched *s)
{
    return s->last_epoch;
}

const char *lc_sched_name(const lc_sched *s)
{
    return s ? sched_names[s->kind] : "";
}

/* ------------------------------------------------------------------------ */
/* Lightning's lr_scheduler_config                                           */

lc_status lc_sched_set_interval(lc_sched *s, lc_sched_interval interval, int64_t frequency)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "scheduler is NULL");
    if (interval != LC_SCHED_INTERVAL_EPOCH && interval != LC_SCHED_INTERVAL_STEP)
        return lc_fail(LC_ERR_INVALID, "%s: interval must be \"epoch\" or \"step\"",
                       sched_names[s->kind]);
    if (frequency < 1)
        return lc_fail(LC_ERR_INVALID, "%s: frequency %lld must be >= 1", sched_names[s->kind],
                       (long long)frequency);
    s->interval = interval;
    s->frequency = frequency;
    return LC_OK;
}

lc_sched_interval lc_sched_interval_get(const lc_sched *s)
{
    return s->interval;
}

int64_t lc_sched_frequency(const lc_sched *s)
{
    return s->frequency;
}

lc_status lc_sched_set_monitor(lc_sched *s, const char *monitor, int strict)
{
    if (!s)
        return lc_fail(LC_ERR_INVALID, "scheduler is NULL");
    char *copy = NULL;
    if (monitor) {
        if (!monitor[0])
            return lc_fail(LC_ERR_INVALID, "%s: monitor is empty (give a metric name like "
                           "\"val/loss\", or NULL)", sched_names[s->kind]);
        if (!(copy = strdup(monitor)))
            return lc_fail(LC_ERR_NOMEM, "%s: out of memory", sched_names[s->kind]);
    }
    free(s->monitor);
    s->monitor = copy;
    s->strict = strict != 0;
    return LC_OK;
}

const char *lc_sched_monitor(const lc_sched *s)
{
    return s->monitor;
}

int lc_sched_strict(const lc_sched *s)
{
    return s->strict;
}

/* ------------------------------------------------------------------------ */
/* Checkpoint                                                                */

/* Layout of one scheduler (children follow, each prefixed by its size):
 *   "LCSCHED1" u32 bom u32 kind u32 nchildren
 *   11 x i64: last_epoch step_count step_size t_max total_iters patience
 *             cooldown num_bad_epochs cooldown_counter mode threshold_mode
 *   11 x f64: base_lr last_lr gamma eta_min start_factor end_factor factor
 *             threshold min_lr eps best
 *   (nchildren - 1) x i64 milestones, then nchildren x (u64 size, blob)  */
#define SCHED_NI 11
#define SCHED_NF 11
#define SCHED_FIXED (8 + 4 + 4 + 4 + SCHED_NI * 8 + SCHED_NF * 8)

typedef struct sched_fields {
    int64_t i[SCHED_NI];
    double f[SCHED_NF];
} sched_fields;

static void sched_to_fields(const lc_sched *s, sched_fields *v)
{
    const lc_plateau_config *p = &s->plateau;
    int64_t iv[SCHED_NI] = {s->last_epoch, s->step_count, s->step_size, s->t_max,
                            s->total_iters, p->patience, p->cooldown, s->num_bad_epochs,
                            s->cooldown_counter, (int64_t)p->mode, (int64_t)p->threshold_mode};
    double fv[SCHED_NF] = {s->base_lr, s->last_lr, s->gamma, s->eta_min, s->start_factor,
                           s->end_factor, p->factor, p->threshold, p->min_lr, p->eps, s->best};
    memcpy(v->i, iv, sizeof iv);
    memcpy(v->f, fv, sizeof fv);
}

static void sched_from_fields(lc_sched *s, const sched_fields *v)
{
    lc_plateau_config *p = &s->plateau;
    s->last_epoch = v->i[0];
    s->step_count = v->i[1];
    s->step_size = v->i[2];
    s->t_max = v->i[3];
    s->total_iters = v->i[4];
    p->patience = v->i[5];
    p->cooldown = v->i[6];
    s->num_bad_epochs = v->i[7];
    s->cooldown_counter = v->i[8];
    p->mode = (lc_plateau_mode)v->i[9];
    p->threshold_mode = (lc_threshold_mode)v->i[10];
    s->base_lr = v->f[0];
    s->last_lr = v->f[1];
    s->gamma = v->f[2];
    s->eta_min = v->f[3];
    s->start_factor = v->f[4];
    s->end_factor = v->f[5];
    p->factor = v->f[6];
    p->threshold = v->f[7];
    p->min_lr = v->f[8];
    p->eps = v->f[9];
    s->best = v->f[10];
}

size_t lc_sched_state_size(const lc_sched *s)
{
    if (!s)
        return 0;
    size_t n = SCHED_FIXED + (s->nchildren ? (s->nchildren - 1) * 8 : 0);
    for (size_t i = 0; i < s->nchildren; i++)
        n += 8 + lc_sched_state_size(s->children[i]);
    return n;
}

static unsigned char *sched_put(unsigned char *w, const void *src, size_t n)
{
    memcpy(w, src, n);
    return w + n;
}

static unsigned char *sched_write(const lc_sched *s, unsigned char *w)
{
    uint32_t bom = SCHED_BOM, kind = (uint32_t)s->kind, nch = (uint32_t)s->nchildren;
    sched_fields v;
    sched_to_fields(s, &v);
    w = sched_put(w, SCHED_MAGIC, 8);
    w = sched_put(w, &bom, 4);
    w = sched_put(w, &kind, 4);
    w = sched_put(w, &nch, 4);
    w = sched_put(w, v.i, sizeof v.i);
    w = sched_put(w, v.f, sizeof v.f);
    if (s->nchildren > 1)
        w = sched_put(w, s->milestones, (s->nchildren - 1) * 8);
    for (size_t i = 0; i < s->nchildren; i++) {
        uint64_t size = lc_sched_state_size(s->children[i]);
        w = sched_put(w, &size, 8);
        w = sched_write(s->children[i], w);
    }
    return w;
}

lc_status lc_sched_state_save(const lc_sched *s, void *buf, size_t cap)
{
    if (!s || !buf)
        return lc_fail(LC_ERR_INVALID, "scheduler state: scheduler and buffer are required");
    size_t need = lc_sched_state_size(s);
    if (cap < need)
        return lc_fail(LC_ERR_INVALID, "scheduler state: buffer of %zu bytes, %zu needed", cap, need);
    sched_write(s, buf);
    return LC_OK;
}

/* Validate (apply == 0) or load (apply == 1) one scheduler's blob of
 * exactly len bytes, recursing into the children. */
static lc_status sched_parse(lc_sched *s, const unsigned char *r, size_t len, int apply)
{
    const char *who = sched_names[s->kind];
    uint32_t bom, kind, nch;
    sched_fields v;
    if (len < SCHED_FIXED || memcmp(r, SCHED_MAGIC, 8) != 0)
        return lc_fail(LC_ERR_INVALID, "scheduler state: not a %s state blob (bad magic or "
                       "truncated, %zu bytes)", who, len);
    memcpy(&bom, r + 8, 4);
    memcpy(&kind, r + 12, 4);
    memcpy(&nch, r + 16, 4);
    memcpy(v.i, r + 20, sizeof v.i);
    memcpy(v.f, r + 20 + sizeof v.i, sizeof v.f);
    if (bom != SCHED_BOM)
        return lc_fail(LC_ERR_INVALID, "scheduler state: written on a machine with another byte "
                       "order; it cannot be loaded here");
    if (kind != (uint32_t)s->kind)
        return lc_fail(LC_ERR_INVALID, "scheduler state: saved by %s but this scheduler is %s",
                       kind < 5 ? sched_names[kind] : "an unknown scheduler", who);
    if (nch != s->nchildren)
        return lc_fail(LC_ERR_INVALID, "scheduler state: %u sequenced schedulers saved, %zu here",
                       nch, s->nchildren);

    /* The saved hyperparameters must be valid for this kind. */
    lc_sched tmp = *s;
    sched_from_fields(&tmp, &v);
    lc_status st = LC_OK;
    switch (s->kind) {
    case LC_SCHED_STEPLR: st = sched_check_step(tmp.step_size, tmp.gamma); break;
    case LC_SCHED_COSINE: st = sched_check_cosine(tmp.t_max, tmp.eta_min); break;
    case LC_SCHED_LINEAR:
        st = sched_check_linear(tmp.start_factor, tmp.end_factor, tmp.total_iters);
        break;
    case LC_SCHED_PLATEAU: st = sched_check_plateau(&tmp.plateau); break;
    default: break;
    }
    if (st != LC_OK)
        return lc_fail(LC_ERR_INVALID, "scheduler state: corrupt %s hyperparameters", who);
    if (tmp.last_epoch < -1 || tmp.step_count < 0 || !(tmp.base_lr >= 0.0) ||
        !(tmp.last_lr >= 0.0) || tmp.num_bad_epochs < 0 || tmp.cooldown_counter < 0)
        return lc_fail(LC_ERR_INVALID, "scheduler state: corrupt %s counters", who);

    size_t pos = SCHED_FIXED;
    size_t nms = nch ? nch - 1 : 0;
    if ((len - pos) / 8 < nms)
        return lc_fail(LC_ERR_INVALID, "scheduler state: truncated %s milestones", who);
    for (size_t i = 0; i < nms; i++, pos += 8) {
        int64_t m;
        memcpy(&m, r + pos, 8);
        if (m != s->milestones[i])
            return lc_fail(LC_ERR_INVALID,
                           "scheduler state: milestone %zu is %lld in the checkpoint but %lld "
                           "here (build the scheduler with the same milestones)",
                           i, (long long)m, (long long)s->milestones[i]);
    }
    for (size_t i = 0; i < nch; i++) {
        uint64_t size;
        if (len - pos < 8)
            return lc_fail(LC_ERR_INVALID, "scheduler state: truncated at child %zu", i);
        memcpy(&size, r + pos, 8);
        pos += 8;
        if (len - pos < size)
            return lc_fail(LC_ERR_INVALID, "scheduler state: truncated in child %zu", i);
        if ((st = sched_parse(s->children[i], r + pos, (size_t)size, apply)) != LC_OK)
            return st;
        pos += (size_t)size;
    }
    if (pos != len)
        return lc_fail(LC_ERR_INVALID, "scheduler state: %zu unexpected bytes after the %s state",
                       len - pos, who);
    if (apply)
        sched_from_fields(s, &v);
    return LC_OK;
}

lc_status lc_sched_state_load(lc_sched *s, const void *buf, size_t len)
{
    if (!s || !buf)
        return lc_fail(LC_ERR_INVALID, "scheduler state: scheduler and buffer are required");
    lc_status st = sched_parse(s, buf, len, 0);
    if (st == LC_OK)
        sched_parse(s, buf, len, 1);
    return st;
}
