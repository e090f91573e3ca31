/*
 * trainer/histograms.c — weight and gradient histograms of every
 * parameter, through the hub: "weights/<param>" and "gradients/<param>"
 * (TensorBoard's HISTOGRAMS tab, the index's histogram table). The
 * trainer logs them at each training epoch end (and every
 * histogram_every_n_steps optimizer steps on request); the hub buckets the
 * values on this thread in O(1) per value.
 */
#include <stdio.h>

#include "trainer_internal.h"

void lc_log_param_histograms(lc_trainer *t, int64_t step)
{
    if (!t->run || !t->module || !t->module->params)
        return;
    const lc_params *ps = t->module->params;
    char key[LC_PARAM_NAME_MAX + 16];
    for (size_t i = 0; i < ps->len; i++) {
        const lc_param *p = &ps->items[i];
        snprintf(key, sizeof key, "weights/%s", p->name);
        lc_run_log_histogram_f32(t->run, key, p->data, p->count, step);
        if (p->grad) {
            snprintf(key, sizeof key, "gradients/%s", p->name);
            lc_run_log_histogram_f32(t->run, key, p->grad, p->count, step);
        }
    }
}
