/*
 * trainer/histograms.c — weight and gradient histograms of every
 * parameter, through the hub: "weights/<param>" and "gradients/<param>"
 * (TensorBoard's HISTOGRAMS tab, the index's histogram table), at each
 * training epoch end and every histogram_every_n_steps optimizer steps on
 * request.
 *
 * Bucketing a million values costs ~15 ms, so it runs on a helper thread:
 * the training thread copies the values (a snapshot: ~1 ms; from a GPU a
 * download, which waits for it) and goes on;
 * the helper logs the histograms (the hub takes log calls from any thread).
 * The elementwise kernels and the optimizer update run on one thread, so a
 * core is often free for the helper even when BLAS uses them all. One job
 * at a time; lc_hist_wait joins it (before the next one, at the end of fit
 * and before the run finishes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

struct lc_hist_job {
    pthread_t thread;
    int threaded;
    lc_run *run;
    int64_t step;
    size_t n;          /* histograms */
    char (*keys)[LC_PARAM_NAME_MAX + 16];
    size_t *counts;
    float **values;    /* into buf */
    float *buf;
};

static void *hist_main(void *arg)
{
    lc_hist_job *j = arg;
    for (size_t i = 0; i < j->n; i++)
        lc_run_log_histogram_f32(j->run, j->keys[i], j->values[i], j->counts[i], j->step);
    return NULL;
}

static void hist_free(lc_hist_job *j)
{
    free(j->keys);
    free(j->counts);
    free(j->values);
    free(j->buf);
    free(j);
}

void lc_hist_job_join(lc_hist_job *j)
{
    if (!j)
        return;
    if (j->threaded)
        pthread_join(j->thread, NULL);
    hist_free(j);
}

lc_hist_job *lc_hist_take(lc_trainer *t)
{
    lc_hist_job *j = t->hist_job;
    t->hist_job = NULL;
    return j;
}

void lc_hist_wait(lc_trainer *t)
{
    lc_hist_job_join(lc_hist_take(t));
}

void lc_log_param_histograms(lc_trainer *t, int64_t step)
{
    if (!t->run || !t->module || !t->module->params)
        return;
    lc_hist_wait(t);
    const lc_params *ps = t->module->params;
    size_t n = 0, total = 0;
    for (size_t i = 0; i < ps->len; i++) {
        n += ps->items[i].grad ? 2 : 1;
        total += ps->items[i].count * (ps->items[i].grad ? 2 : 1);
    }
    lc_hist_job *j = calloc(1, sizeof *j);
    if (j) {
        j->keys = calloc(n ? n : 1, sizeof *j->keys);
        j->counts = calloc(n ? n : 1, sizeof *j->counts);
        j->values = calloc(n ? n : 1, sizeof *j->values);
        j->buf = malloc((total ? total : 1) * sizeof *j->buf);
    }
    if (!j || !j->keys || !j->counts || !j->values || !j->buf) {
        if (j)
            hist_free(j);
        lc_trainer_warn("histograms at step %lld skipped: out of memory", (long long)step);
        return;
    }
    j->run = t->run;
    j->step = step;
    float *p = j->buf;
    for (size_t i = 0; i < ps->len; i++) {
        const lc_param *pa = &ps->items[i];
        for (int g = 0; g < (pa->grad ? 2 : 1); g++) {
            snprintf(j->keys[j->n], sizeof j->keys[0], "%s/%s", g ? "gradients" : "weights",
                     pa->name);
            if (lc_params_read(ps, i, g, p) != LC_OK) { /* a device copy failed */
                lc_trainer_warn("histograms at step %lld skipped: %s", (long long)step,
                                lc_errmsg());
                hist_free(j);
                return;
            }
            j->values[j->n] = p;
            j->counts[j->n] = pa->count;
            p += pa->count;
            j->n++;
        }
    }
    j->threaded = pthread_create(&j->thread, NULL, hist_main, j) == 0;
    if (!j->threaded)
        hist_main(j); /* no thread: log here */
    t->hist_job = j;
}
