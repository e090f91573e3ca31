/*
 * trainer/hooks.c — calling hooks in Lightning's order: callbacks (in the
 * order they were added), then the module; with a filter for the
 * "monitoring callbacks last" rule of on_train_epoch_end. The running hook
 * is kept in t->fx so lc_log knows its defaults (log_rules.h).
 */
#include <stddef.h>
#include <stdio.h>

#include "trainer_internal.h"

/* A hook span with Lightning's name: "[Callback]<name>.<hook>",
 * "[LightningModule]<name>.<hook>"; the steps are the strategy's. */
static void prof_hook_begin(lc_trainer *t, lc_fx fx, const lc_callback *cb)
{
    if (cb) {
        char name[256];
        snprintf(name, sizeof name, "[Callback]%s.%s", cb->name ? cb->name : "?", lc_fx_name(fx));
        lc_prof_begin(t->prof, name, LC_PROF_ACTION);
    } else if (fx == LC_FX_TRAINING_STEP || fx == LC_FX_VALIDATION_STEP || fx == LC_FX_TEST_STEP) {
        lc_prof_strategy_begin(t, lc_fx_name(fx));
    } else {
        lc_prof_module_begin(t, lc_fx_name(fx));
    }
}

static int cb_selected(const lc_callback *cb, lc_cb_filter filter)
{
    return filter == LC_CB_ALL || (filter == LC_CB_MONITORING) == (cb->monitoring != 0);
}

lc_status lc_hooks_call(lc_trainer *t, lc_fx fx, lc_cb_filter filter, size_t cb_off,
                        size_t module_off)
{
    lc_fx saved = t->fx;
    t->fx = fx;
    lc_status st = LC_OK;
    if (cb_off != LC_NO_HOOK) {
        for (size_t i = 0; st == LC_OK && i < t->ncb; i++) {
            lc_callback *cb = t->cbs[i];
            if (!cb_selected(cb, filter))
                continue;
            lc_callback_hook h = *(lc_callback_hook *)((char *)cb + cb_off);
            if (h) {
                if (t->prof)
                    prof_hook_begin(t, fx, cb);
                st = h(cb, t, t->module);
                LC_PROF_END(t);
            }
        }
    }
    if (st == LC_OK && module_off != LC_NO_HOOK && t->module) {
        lc_module_hook h = *(lc_module_hook *)((char *)t->module + module_off);
        if (h) {
            if (t->prof)
                prof_hook_begin(t, fx, NULL);
            st = h(t->module, t);
            LC_PROF_END(t);
        }
    }
    t->fx = saved;
    return st;
}

lc_status lc_hooks_call_batch(lc_trainer *t, lc_fx fx, lc_cb_filter filter, size_t cb_off,
                              size_t module_off, const lc_minibatch *b, int64_t batch_idx)
{
    lc_fx saved = t->fx;
    t->fx = fx;
    lc_status st = LC_OK;
    if (cb_off != LC_NO_HOOK) {
        for (size_t i = 0; st == LC_OK && i < t->ncb; i++) {
            lc_callback *cb = t->cbs[i];
            if (!cb_selected(cb, filter))
                continue;
            lc_callback_batch_hook h = *(lc_callback_batch_hook *)((char *)cb + cb_off);
            if (h) {
                if (t->prof)
                    prof_hook_begin(t, fx, cb);
                st = h(cb, t, t->module, b, batch_idx);
                LC_PROF_END(t);
            }
        }
    }
    if (st == LC_OK && module_off != LC_NO_HOOK && t->module) {
        lc_module_batch_hook h = *(lc_module_batch_hook *)((char *)t->module + module_off);
        if (h) {
            if (t->prof)
                prof_hook_begin(t, fx, NULL);
            st = h(t->module, t, b, batch_idx);
            LC_PROF_END(t);
        }
    }
    t->fx = saved;
    return st;
}

void lc_hooks_exception(lc_trainer *t, lc_status st)
{
    lc_fx saved = t->fx;
    t->fx = LC_FX_ON_EXCEPTION;
    for (size_t i = 0; i < t->ncb; i++)
        if (t->cbs[i]->on_exception)
            t->cbs[i]->on_exception(t->cbs[i], t, st);
    t->fx = saved;
}

lc_status lc_hooks_setup(lc_trainer *t, int teardown)
{
    return lc_hooks_call(t, teardown ? LC_FX_TEARDOWN : LC_FX_SETUP, LC_CB_ALL,
                         teardown ? LC_CB_HOOK(teardown) : LC_CB_HOOK(setup), LC_NO_HOOK);
}
