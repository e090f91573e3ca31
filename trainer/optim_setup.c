/*
 * trainer/optim_setup.c — configure_optimizers: from the module's
 * lc_optimizers (public specs) to an lc_optim and an lc_sched (optim.h,
 * lr_sched.h), and the scheduler stepping rules of Lightning's training
 * epoch loop (update_lr_schedulers):
 *   - interval "step": after each optimizer step, when global_step is a
 *     multiple of frequency;
 *   - interval "epoch": at the last batch of an epoch (before validation
 *     and on_train_epoch_end), when (epoch + 1) is a multiple of frequency;
 *   - ReduceLROnPlateau: after validation (step interval) or after the
 *     epoch's metrics (epoch interval), with its monitor read from
 *     callback_metrics; a missing monitor is an error if strict, else a
 *     warning and no step.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/status.h"
#include "trainer_internal.h"

/* ------------------------------------------------------------------------ */
/* Specs                                                                     */

lc_status lc_optimizer_spec_default(lc_optimizer_spec *spec, const char *name)
{
    if (!spec)
        return lc_fail(LC_ERR_INVALID, "lc_optimizer_spec_default: spec is NULL");
    lc_optim_kind kind;
    lc_status st = lc_optim_kind_parse(name ? name : "(null)", &kind);
    if (st != LC_OK)
        return st;
    lc_optim_config c;
    lc_optim_config_default(&c, kind);
    static const char *const names[] = {"SGD", "Adam", "AdamW"};
    memset(spec, 0, sizeof *spec);
    spec->name = names[kind];
    spec->lr = c.lr;
    spec->weight_decay = c.weight_decay;
    spec->momentum = c.momentum;
    spec->dampening = c.dampening;
    spec->nesterov = c.nesterov;
    spec->beta1 = c.beta1;
    spec->beta2 = c.beta2;
    spec->eps = c.eps;
    return LC_OK;
}

typedef enum spec_sched { SPEC_NONE, SPEC_STEP, SPEC_COSINE, SPEC_LINEAR, SPEC_WARMUP_COSINE, SPEC_PLATEAU } spec_sched;

static const struct {
    const char *name, *alias;
    spec_sched kind;
} sched_names[] = {
    {"none", "", SPEC_NONE},
    {"StepLR", "step", SPEC_STEP},
    {"CosineAnnealingLR", "cosine", SPEC_COSINE},
    {"LinearLR", "linear", SPEC_LINEAR},
    {"WarmupCosine", "warmup_cosine", SPEC_WARMUP_COSINE},
    {"ReduceLROnPlateau", "plateau", SPEC_PLATEAU},
};

static lc_status sched_kind_parse(const char *name, spec_sched *out, const char **canon)
{
    if (!name) {
        *out = SPEC_NONE;
        *canon = "none";
        return LC_OK;
    }
    for (size_t i = 0; i < sizeof sched_names / sizeof sched_names[0]; i++) {
        if (strcasecmp(name, sched_names[i].name) == 0 || strcasecmp(name, sched_names[i].alias) == 0) {
            *out = sched_names[i].kind;
            *canon = sched_names[i].name;
            return LC_OK;
        }
    }
    return lc_fail(LC_ERR_INVALID, "unknown LR scheduler '%s'; use none, StepLR, "
                   "CosineAnnealingLR, LinearLR, WarmupCosine or ReduceLROnPlateau", name);
}

lc_status lc_scheduler_spec_default(lc_scheduler_spec *spec, const char *name)
{
    if (!spec)
        return lc_fail(LC_ERR_INVALID, "lc_scheduler_spec_default: spec is NULL");
    spec_sched kind = SPEC_NONE;
    const char *canon = "none";
    lc_status st = sched_kind_parse(name, &kind, &canon);
    if (st != LC_OK)
        return st;
    memset(spec, 0, sizeof *spec);
    spec->name = kind == SPEC_NONE ? NULL : canon;
    spec->interval = "epoch";
    spec->frequency = 1;
    spec->strict = 1;
    /* PyTorch's defaults; step_size and T_max have none there, 1 here */
    spec->step_size = 1;
    spec->gamma = 0.1;
    spec->t_max = 1;
    spec->eta_min = 0.0;
    spec->start_factor = 1.0 / 3.0;
    spec->end_factor = 1.0;
    spec->total_iters = 5;
    spec->warmup_iters = 0;
    lc_plateau_config pc;
    lc_plateau_config_default(&pc);
    spec->mode = "min";
    spec->factor = pc.factor;
    spec->patience = pc.patience;
    spec->threshold = pc.threshold;
    spec->cooldown = pc.cooldown;
    spec->min_lr = pc.min_lr;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* configure_optimizers                                                      */

static lc_status make_optim(lc_trainer *t, const lc_optimizer_spec *s)
{
    lc_optim_kind kind;
    lc_status st = lc_optim_kind_parse(s->name ? s->name : "(null)", &kind);
    if (st != LC_OK)
        return lc_fail(st, "configure_optimizers: %s", lc_errmsg());
    lc_optim_config c = {
        .kind = kind,
        .lr = s->lr,
        .weight_decay = s->weight_decay,
        .momentum = s->momentum,
        .dampening = s->dampening,
        .nesterov = s->nesterov,
        .beta1 = s->beta1,
        .beta2 = s->beta2,
        .eps = s->eps,
    };
    st = lc_optim_create(&t->optim, t->module->params, &c);
    if (st != LC_OK)
        return lc_fail(st, "configure_optimizers: %s", lc_errmsg());
    return LC_OK;
}

static lc_status make_sched(lc_trainer *t, const lc_scheduler_spec *s)
{
    spec_sched kind = SPEC_NONE;
    const char *canon = "none";
    lc_status st = sched_kind_parse(s->name, &kind, &canon);
    if (st != LC_OK || kind == SPEC_NONE)
        return st;
    lc_sched_interval interval;
    if (!s->interval || strcmp(s->interval, "epoch") == 0)
        interval = LC_SCHED_INTERVAL_EPOCH;
    else if (strcmp(s->interval, "step") == 0)
        interval = LC_SCHED_INTERVAL_STEP;
    else
        return lc_fail(LC_ERR_INVALID, "configure_optimizers: scheduler interval '%s' must be "
                       "\"epoch\" or \"step\"", s->interval);
    switch (kind) {
    case SPEC_STEP: st = lc_sched_step_lr(&t->sched, t->optim, s->step_size, s->gamma); break;
    case SPEC_COSINE: st = lc_sched_cosine(&t->sched, t->optim, s->t_max, s->eta_min); break;
    case SPEC_LINEAR:
        st = lc_sched_linear(&t->sched, t->optim, s->start_factor, s->end_factor, s->total_iters);
        break;
    case SPEC_WARMUP_COSINE:
        st = lc_sched_warmup_cosine(&t->sched, t->optim, s->warmup_iters, s->start_factor,
                                    s->t_max, s->eta_min);
        break;
    case SPEC_PLATEAU: {
        lc_plateau_config pc;
        lc_plateau_config_default(&pc);
        if (s->mode && strcmp(s->mode, "max") == 0)
            pc.mode = LC_PLATEAU_MAX;
        else if (s->mode && strcmp(s->mode, "min") != 0)
            return lc_fail(LC_ERR_INVALID, "configure_optimizers: ReduceLROnPlateau mode '%s' "
                           "must be \"min\" or \"max\"", s->mode);
        pc.factor = s->factor;
        pc.patience = s->patience;
        pc.threshold = s->threshold;
        pc.cooldown = s->cooldown;
        pc.min_lr = s->min_lr;
        if (!s->monitor || !*s->monitor)
            return lc_fail(LC_ERR_INVALID, "configure_optimizers: ReduceLROnPlateau needs a "
                           "monitor (the metric to watch, e.g. \"val/loss\")");
        st = lc_sched_plateau(&t->sched, t->optim, &pc);
        break;
    }
    case SPEC_NONE: return LC_OK;
    }
    if (st == LC_OK)
        st = lc_sched_set_interval(t->sched, interval, s->frequency > 0 ? s->frequency : 1);
    if (st == LC_OK && s->monitor)
        st = lc_sched_set_monitor(t->sched, s->monitor, s->strict);
    if (st != LC_OK)
        return lc_fail(st, "configure_optimizers: %s", lc_errmsg());
    snprintf(t->sched_name, sizeof t->sched_name, "%s", canon);
    return LC_OK;
}

lc_status lc_optim_setup(lc_trainer *t)
{
    lc_optim_teardown(t);
    lc_module *m = t->module;
    if (!m->configure_optimizers)
        return lc_fail(LC_ERR_INVALID, "module '%s' has no configure_optimizers; fit needs an "
                       "optimizer", m->name ? m->name : "?");
    if (!m->params)
        return lc_fail(LC_ERR_INVALID, "module '%s' has no params registry (set module.params)",
                       m->name ? m->name : "?");
    lc_optimizers o;
    memset(&o, 0, sizeof o);
    lc_fx saved = t->fx;
    t->fx = LC_FX_CONFIGURE_OPTIMIZERS;
    lc_status st = m->configure_optimizers(m, t, &o);
    t->fx = saved;
    if (st != LC_OK)
        return lc_fail(st, "configure_optimizers: %s", lc_errmsg());
    if (!o.optimizer.name)
        return lc_fail(LC_ERR_INVALID, "configure_optimizers returned no optimizer (set "
                       "out->optimizer, e.g. with lc_optimizer_spec_default)");
    st = make_optim(t, &o.optimizer);
    if (st == LC_OK)
        st = make_sched(t, &o.scheduler);
    if (st != LC_OK)
        lc_optim_teardown(t);
    return st;
}

void lc_optim_teardown(lc_trainer *t)
{
    lc_sched_free(t->sched);
    t->sched = NULL;
    lc_optim_free(t->optim);
    t->optim = NULL;
    t->sched_name[0] = 0;
}

/* ------------------------------------------------------------------------ */
/* Stepping                                                                  */

lc_status lc_sched_update(lc_trainer *t, lc_sched_interval interval, int plateau)
{
    lc_sched *s = t->sched;
    if (!s || lc_sched_interval_get(s) != interval || lc_sched_needs_metric(s) != plateau)
        return LC_OK;
    int64_t idx = interval == LC_SCHED_INTERVAL_STEP ? t->global_step : t->current_epoch + 1;
    if (idx % lc_sched_frequency(s) != 0)
        return LC_OK;
    lc_fx saved = t->fx;
    t->fx = LC_FX_LR_SCHEDULER_STEP;
    lc_status st;
    if (plateau) {
        const char *mon = lc_sched_monitor(s);
        double v;
        if (!lc_metric_dict_get(&t->cbm, mon, &v)) {
            t->fx = saved;
            if (lc_sched_strict(s))
                return lc_fail(LC_ERR_INVALID,
                               "ReduceLROnPlateau conditioned on metric '%s' which is not "
                               "available; available metrics: %s. Log it with lc_log or change "
                               "the scheduler's monitor",
                               mon, lc_trainer_callback_metric_names(t));
            lc_trainer_warn("ReduceLROnPlateau: metric '%s' is not available; the scheduler "
                            "step is skipped", mon);
            return LC_OK;
        }
        st = lc_sched_step_metric(s, v);
    } else {
        st = lc_sched_step(s);
    }
    t->fx = saved;
    return st;
}
