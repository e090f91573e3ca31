/*
 * trainer/prof_connector.c — the trainer's side of profiler=: Lightning's
 * action names for strategy and module calls, the stage's report (printed
 * and written to <run dir>/<stage>-profile.txt, trace.json for trace), and
 * the perf/ metrics on logging steps:
 *
 *   perf/step_ms         mean run_training_batch of the batches since the
 *                        last logging step
 *   perf/data_ms         mean [_TrainingEpochLoop].train_dataloader_next
 *   perf/optimizer_ms    mean [LightningModule]<name>.optimizer_step (its
 *                        hooks, clipping, the step, the precision's end)
 *   perf/log_ms          mean [_LoggerConnector].update_train_step_metrics
 *                        (the hub calls of the training thread)
 *   perf/samples_per_sec samples of those batches / wall time since the
 *                        last logging step
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "trainer_internal.h"

#define PROF_STRATEGY "[Strategy]SingleDeviceStrategy."

void lc_prof_strategy_begin(lc_trainer *t, const char *what)
{
    if (!t->prof)
        return;
    char name[256];
    snprintf(name, sizeof name, PROF_STRATEGY "%s", what);
    lc_prof_begin(t->prof, name, LC_PROF_ACTION);
}

void lc_prof_module_begin(lc_trainer *t, const char *what)
{
    if (!t->prof)
        return;
    char name[256];
    snprintf(name, sizeof name, "[LightningModule]%s.%s",
             t->module && t->module->name ? t->module->name : "LightningModule", what);
    lc_prof_begin(t->prof, name, LC_PROF_ACTION);
}

void lc_prof_stage_begin(lc_trainer *t)
{
    if (!t->prof)
        return;
    t->prof_stage_on = 1;
    lc_prof_thread_name(t->prof, "trainer");
    lc_prof_stage_start(t->prof);
    lc_prof_attach_hub(t->prof);
    t->prof_be = lc_prof_backend(t->prof, t->be);
    t->prof_emit_step = -1;
    t->prof_batches = t->prof_samples = 0;
    t->prof_t0 = lc_mono_now();
    /* what earlier stages left in the per-metric sums is not this stage's */
    lc_prof_take(t->prof, "run_training_batch");
    lc_prof_take(t->prof, "[_TrainingEpochLoop].train_dataloader_next");
    char opt[256];
    snprintf(opt, sizeof opt, "[LightningModule]%s.optimizer_step",
             t->module && t->module->name ? t->module->name : "LightningModule");
    lc_prof_take(t->prof, opt);
    lc_prof_take(t->prof, LC_PROF_LOG_SPAN);
}

lc_status lc_prof_stage_end(lc_trainer *t, const char *stage)
{
    if (!t->prof || !t->prof_stage_on)
        return LC_OK;
    t->prof_stage_on = 0;
    /* the hub's work of this stage (advanced, trace) lands in the report:
       let the dispatcher write what is queued first */
    if (t->hub && lc_prof_get_mode(t->prof) != LC_PROF_SIMPLE)
        lc_hub_flush(t->hub, 5000);
    const char *dir = t->log_dir[0] ? t->log_dir : NULL;
    fflush(stdout);
    /* printed with the progress bar (the console's output), always written */
    lc_status st = lc_prof_report(t->prof, stage, dir, t->cfg.enable_progress_bar ? stdout : NULL);
    fflush(stdout);
    if (st == LC_OK && dir && lc_prof_get_mode(t->prof) == LC_PROF_TRACE) {
        char path[4200];
        snprintf(path, sizeof path, "%s/trace.json", dir);
        st = lc_prof_write_trace(t->prof, path);
    }
    lc_prof_detach_hub(t->prof);
    lc_prof_backend_release(t->prof);
    t->prof_be = NULL;
    return st;
}

void lc_prof_log_perf(lc_trainer *t)
{
    int64_t step = t->prof_emit_step;
    t->prof_emit_step = -1;
    if (!t->prof || !t->run || step < 0 || t->prof_batches <= 0)
        return;
    double k = (double)t->prof_batches;
    static const char *const keys[] = {"perf/step_ms", "perf/data_ms", "perf/optimizer_ms",
                                       "perf/log_ms"};
    char opt[256];
    snprintf(opt, sizeof opt, "[LightningModule]%s.optimizer_step",
             t->module && t->module->name ? t->module->name : "LightningModule");
    const char *const spans[] = {"run_training_batch", "[_TrainingEpochLoop].train_dataloader_next",
                                 opt, LC_PROF_LOG_SPAN};
    for (int i = 0; i < 4; i++) {
        double ms = lc_prof_take(t->prof, spans[i]) * 1000.0 / k;
        lc_run_log_scalar(t->run, lc_conn_tag(t, keys[i]), ms, step);
    }
    double now = lc_mono_now();
    if (now > t->prof_t0)
        lc_run_log_scalar(t->run, lc_conn_tag(t, "perf/samples_per_sec"),
                          (double)t->prof_samples / (now - t->prof_t0), step);
    t->prof_t0 = now;
    t->prof_batches = t->prof_samples = 0;
}
