/*
 * trainer/trainer.c — the lc_trainer object: Lightning's Trainer arguments
 * (defaults, checks, fast_dev_run), callbacks, accessors for hooks, the
 * dataloaders of a stage, and small shared helpers (batch limits,
 * warnings). The loops live in fit_loop.c and eval_loop.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"
#include "cuda_ops.h"
#include "trainer_internal.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

void lc_trainer_warn(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lightc: warning: %s\n", buf);
}

lc_status lc_trainer_fail(lc_status status, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return lc_fail(status, "%s", buf);
}

void lc_minibatch_from(lc_minibatch *mb, const lc_batch *b)
{
    mb->x = b->x;
    mb->y = b->y;
    mb->size = (int64_t)b->size;
    mb->features = (int64_t)b->features;
}

lc_status lc_amount_parse(const char *text, lc_amount *out)
{
    if (!text || !out || !*text)
        return lc_fail(LC_ERR_INVALID, "expected a number (a fraction like 0.25 or a count like "
                       "10), got '%s'", text ? text : "");
    char *end;
    int is_float = strpbrk(text, ".eE") != NULL || strstr(text, "inf") || strstr(text, "nan");
    if (is_float) {
        double v = strtod(text, &end);
        if (*end || !(v >= 0.0 && v <= 1.0))
            return lc_fail(LC_ERR_INVALID, "'%s' is not a fraction in [0.0, 1.0] (write a "
                           "count of batches without a dot, e.g. 10)", text);
        out->kind = LC_AMOUNT_FRACTION;
        out->value = v;
        return LC_OK;
    }
    long long n = strtoll(text, &end, 10);
    if (*end || n < 0)
        return lc_fail(LC_ERR_INVALID, "'%s' is not a count of batches >= 0 or a fraction like "
                       "0.5", text);
    out->kind = LC_AMOUNT_COUNT;
    out->value = (double)n;
    return LC_OK;
}

lc_status lc_parse_duration(const char *text, double *seconds)
{
    if (!text || !seconds)
        return lc_fail(LC_ERR_INVALID, "max_time: expected \"DD:HH:MM:SS\"");
    unsigned d, h, m, s;
    char tail;
    /* digits and colons only: sscanf's %u would take "-1" (as 4294967295) and blanks */
    if (strspn(text, "0123456789:") != strlen(text) ||
        sscanf(text, "%u:%u:%u:%u%c", &d, &h, &m, &s, &tail) != 4 || h > 23 || m > 59 || s > 59)
        return lc_fail(LC_ERR_INVALID, "max_time '%s' is not \"DD:HH:MM:SS\" (e.g. "
                       "\"00:12:00:00\" for 12 hours)", text);
    *seconds = (((double)d * 24 + h) * 60 + m) * 60 + s;
    return LC_OK;
}

lc_status lc_limit_batches(lc_amount limit, int64_t n, const char *what, int64_t *out)
{
    if (limit.kind == LC_AMOUNT_COUNT) {
        int64_t c = (int64_t)limit.value;
        *out = c < n ? c : n;
        return LC_OK;
    }
    double f = limit.kind == LC_AMOUNT_DEFAULT ? 1.0 : limit.value;
    int64_t k = (int64_t)((double)n * f);
    if (k == 0 && f > 0.0 && n > 0)
        return lc_fail(LC_ERR_INVALID,
                       "you requested %g of the %s batches but %g * %lld < 1; increase "
                       "limit_%s_batches (try at least %g)",
                       f, what, f, (long long)n, what, 1.0 / (double)n);
    *out = k;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Config                                                                    */

void lc_trainer_config_default(lc_trainer_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_epochs = 0;
    c->max_steps = -1;
    c->limit_train_batches = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
    c->limit_val_batches = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
    c->limit_test_batches = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
    c->val_check_interval = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
    c->check_val_every_n_epoch = 1;
    c->num_sanity_val_steps = 2;
    c->log_every_n_steps = 50;
    c->accumulate_grad_batches = 1;
    c->gradient_clip_val = 0.0;
    c->gradient_clip_algorithm = LC_CLIP_NORM;
    c->fast_dev_run = 0;
    c->seed = 42;
    c->precision = "32-true";
    c->accelerator = "auto";
    c->devices = 1;
    c->strategy = "auto";
    c->num_nodes = 1;
    c->use_distributed_sampler = 1;
    c->device_stats_monitor = 1;
    c->threads = 0;
    c->default_root_dir = NULL;
    c->enable_checkpointing = 1;
    c->enable_progress_bar = 1;
    c->enable_model_summary = 1;
    c->lr_monitor = 1;
    c->loggers = NULL;
    c->experiment = NULL;
    c->name = NULL;
    c->histogram_every_n_steps = 0;
    c->log_histograms = 1;
}

static lc_status check_amount(lc_amount a, const char *name, int allow_zero)
{
    if (a.kind == LC_AMOUNT_DEFAULT)
        return LC_OK;
    if (a.kind == LC_AMOUNT_FRACTION && !(a.value >= 0.0 && a.value <= 1.0))
        return lc_fail(LC_ERR_INVALID, "%s=%g must be a fraction in [0.0, 1.0] or a count", name,
                       a.value);
    if (a.kind == LC_AMOUNT_COUNT && !(a.value >= 0 && a.value == floor(a.value)))
        return lc_fail(LC_ERR_INVALID, "%s=%g must be a whole count of batches >= 0", name,
                       a.value);
    if (a.kind != LC_AMOUNT_FRACTION && a.kind != LC_AMOUNT_COUNT)
        return lc_fail(LC_ERR_INVALID, "%s has an unknown kind %d", name, (int)a.kind);
    if (!allow_zero && a.value == 0)
        return lc_fail(LC_ERR_INVALID, "%s must be > 0 (to turn validation off set "
                       "limit_val_batches to 0)", name);
    return LC_OK;
}

static lc_status check_precision(const char *p)
{
    lc_precision_kind k;
    return lc_precision_parse(p, &k);
}

static lc_status check_accelerator(const char *a)
{
    if (strcmp(a, "auto") == 0 || strcmp(a, "cpu") == 0 || strcmp(a, "cuda") == 0 ||
        strcmp(a, "gpu") == 0)
        return LC_OK;
    if (strcmp(a, "tpu") == 0 || strcmp(a, "mps") == 0 || strcmp(a, "hpu") == 0)
        return lc_fail(LC_ERR_UNSUPPORTED, "accelerator '%s' is not available in lightc; use "
                       "cpu, cuda or auto", a);
    return lc_fail(LC_ERR_INVALID, "unknown accelerator '%s'; use auto, cpu or cuda", a);
}

#ifdef LC_HAVE_CUDA
static lc_status ddp_error(int devices)
{
    return lc_fail(LC_ERR_UNSUPPORTED,
                   "devices=-1 found %d GPUs: training on several devices is strategy ddp, one "
                   "process per device (docs/distributed.md): run `lightc train --strategy ddp "
                   "--devices %d`, or start the ranks with mpirun -np %d", devices, devices,
                   devices);
}
#endif

/* accelerator -> the backend the steps run on (Lightning's
 * _AcceleratorConnector: "auto" is cuda when a GPU is usable). */
static lc_status resolve_accelerator(lc_trainer *t)
{
    const char *a = t->cfg.accelerator;
    int want_cuda = strcmp(a, "cuda") == 0 || strcmp(a, "gpu") == 0;
    t->accel_auto = strcmp(a, "auto") == 0;
    t->be = lc_backend_get(LC_DEVICE_HOST);
    if (!want_cuda && !t->accel_auto)
        return LC_OK;
    const lc_backend *cu = lc_backend_get(LC_DEVICE_CUDA);
    if (!cu) {
        if (t->accel_auto)
            return LC_OK;
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "accelerator '%s': this lightc was built without CUDA (nvcc was not found "
                       "when it was configured, or -DLC_CUDA=OFF); rebuild with the CUDA toolkit "
                       "installed, or use accelerator cpu", a);
    }
    lc_status st = cu->init(lc_ddp_device_index(t));
    if (st != LC_OK) {
        if (t->accel_auto)
            return LC_OK; /* no usable GPU: the cpu */
        char why[512];
        snprintf(why, sizeof why, "%s", lc_errmsg());
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "accelerator '%s': CUDA is compiled in but no GPU can be used (%s); use "
                       "accelerator cpu (or auto)", a, why);
    }
    t->be = cu;
    t->be_ref = 1;
    if (t->cfg.devices == -1 && !t->ddp) {
#ifdef LC_HAVE_CUDA
        lc_cuda_info info;
        lc_cuda_query(&info);
        if (cu == lc_backend_cuda() && info.gpu_count > 1)
            return ddp_error(info.gpu_count);
#endif
    }
    return LC_OK;
}

static lc_status check_config(const lc_trainer_config *c)
{
    if (c->max_epochs < -1)
        return lc_fail(LC_ERR_INVALID, "max_epochs=%lld must be -1 (unlimited), 0 (default) or "
                       "> 0", (long long)c->max_epochs);
    if (c->max_steps < -1)
        return lc_fail(LC_ERR_INVALID, "max_steps=%lld must be -1 (unlimited) or >= 0",
                       (long long)c->max_steps);
    lc_prof_mode pm;
    if (lc_prof_mode_parse(c->profiler, &pm) != LC_OK)
        return lc_fail(LC_ERR_INVALID, "profiler='%s' must be simple, advanced or trace (or "
                       "none)", c->profiler);
    lc_status st = check_amount(c->limit_train_batches, "limit_train_batches", 1);
    if (st == LC_OK)
        st = check_amount(c->limit_val_batches, "limit_val_batches", 1);
    if (st == LC_OK)
        st = check_amount(c->limit_test_batches, "limit_test_batches", 1);
    if (st == LC_OK)
        st = check_amount(c->val_check_interval, "val_check_interval", 0);
    if (st != LC_OK)
        return st;
    if (c->check_val_every_n_epoch < 0)
        return lc_fail(LC_ERR_INVALID, "check_val_every_n_epoch=%lld must be >= 1 (or 0 for "
                       "None)", (long long)c->check_val_every_n_epoch);
    if (c->num_sanity_val_steps < -1)
        return lc_fail(LC_ERR_INVALID, "num_sanity_val_steps=%lld must be -1 (all) or >= 0",
                       (long long)c->num_sanity_val_steps);
    if (c->log_every_n_steps < 0)
        return lc_fail(LC_ERR_INVALID, "log_every_n_steps=%lld must be >= 0 (0 turns step "
                       "logging off)", (long long)c->log_every_n_steps);
    if (c->accumulate_grad_batches < 1)
        return lc_fail(LC_ERR_INVALID, "accumulate_grad_batches=%lld must be >= 1",
                       (long long)c->accumulate_grad_batches);
    if (!(c->gradient_clip_val >= 0.0) || isinf(c->gradient_clip_val))
        return lc_fail(LC_ERR_INVALID, "gradient_clip_val=%g must be a finite value >= 0 (0 = "
                       "no clipping)", c->gradient_clip_val);
    if (c->gradient_clip_algorithm != LC_CLIP_NORM && c->gradient_clip_algorithm != LC_CLIP_VALUE)
        return lc_fail(LC_ERR_INVALID, "gradient_clip_algorithm must be norm or value");
    if (c->fast_dev_run < 0)
        return lc_fail(LC_ERR_INVALID, "fast_dev_run=%lld must be >= 0",
                       (long long)c->fast_dev_run);
    if (c->threads < 0)
        return lc_fail(LC_ERR_INVALID, "threads=%d must be >= 0 (0 = OpenBLAS's default)",
                       c->threads);
    if (c->histogram_every_n_steps < 0)
        return lc_fail(LC_ERR_INVALID, "histogram_every_n_steps=%lld must be >= 0",
                       (long long)c->histogram_every_n_steps);
    st = check_precision(c->precision ? c->precision : "32-true");
    if (st == LC_OK)
        st = check_accelerator(c->accelerator ? c->accelerator : "auto");
    if (st == LC_OK && c->devices < -1)
        st = lc_fail(LC_ERR_INVALID, "devices=%d must be >= 1, 0 (auto) or -1 (all)",
                     c->devices);
    return st;
}

/* Keep a private copy of a config string. */
static const char *own(lc_trainer *t, int slot, const char *s)
{
    if (!s)
        return NULL;
    t->own_strings[slot] = strdup(s);
    return t->own_strings[slot];
}

lc_status lc_trainer_create(lc_trainer **out, const lc_trainer_config *cfg)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_trainer_create: out is NULL");
    *out = NULL;
    lc_trainer_config c;
    if (cfg)
        c = *cfg;
    else
        lc_trainer_config_default(&c);
    lc_status st = check_config(&c);
    if (st != LC_OK)
        return st;
    lc_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return lc_fail(LC_ERR_NOMEM, "lc_trainer_create: out of memory");
    t->cfg = c;
    lc_precision_kind pk = LC_PRECISION_32_TRUE;
    lc_precision_parse(c.precision ? c.precision : "32-true", &pk); /* checked above */
    lc_precision_init(&t->prec, pk);
    /* the canonical name ("16" -> "16-mixed"), as Lightning normalises it */
    t->cfg.precision = own(t, 0, lc_precision_name(pk));
    t->cfg.accelerator = own(t, 1, c.accelerator ? c.accelerator : "auto");
    t->cfg.devices = 1; /* 0 (auto) and -1 (all) resolve to the one device used */
    t->cfg.default_root_dir = own(t, 2, c.default_root_dir);
    t->cfg.loggers = own(t, 3, c.loggers);
    t->cfg.experiment = own(t, 4, c.experiment);
    t->cfg.name = own(t, 5, c.name);
    lc_prof_mode pm = LC_PROF_OFF;
    lc_prof_mode_parse(c.profiler, &pm); /* checked above */
    t->cfg.profiler = lc_prof_mode_name(pm); /* canonical, static */
    if (pm != LC_PROF_OFF && lc_prof_create(&t->prof, pm) != LC_OK) {
        free(t);
        return lc_fail(LC_ERR_NOMEM, "lc_trainer_create: out of memory (profiler)");
    }

    if (c.fast_dev_run > 0) {
        /* Lightning: n batches of each loop, one epoch, no sanity check,
           no loggers, no checkpoints */
        lc_amount n = {LC_AMOUNT_COUNT, (double)c.fast_dev_run};
        t->cfg.limit_train_batches = t->cfg.limit_val_batches = t->cfg.limit_test_batches = n;
        t->cfg.max_steps = c.fast_dev_run;
        t->cfg.max_epochs = 1;
        t->cfg.num_sanity_val_steps = 0;
        t->cfg.val_check_interval = (lc_amount){LC_AMOUNT_FRACTION, 1.0};
        t->cfg.check_val_every_n_epoch = 1;
        t->cfg.enable_checkpointing = 0;
    }
    t->max_steps = t->cfg.max_steps;
    t->max_epochs = t->cfg.max_epochs == 0 ? (t->max_steps == -1 ? 1000 : -1) : t->cfg.max_epochs;
    lc_rng_seed(&t->rng, t->cfg.seed, LC_TRAINER_RNG_STREAM);
    t->grad_norm = NAN;
    lc_log_result_init(&t->train_res);
    lc_log_result_init(&t->eval_res);
    st = lc_ddp_create(t, &c);
    /* canonical, static (the caller's string may not outlive the trainer) */
    t->cfg.strategy = t->ddp ? "ddp" : "single_device";
    if (st == LC_OK)
        st = resolve_accelerator(t);
    if (st != LC_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", lc_errmsg());
        lc_trainer_free(t);
        return lc_fail(st, "%s", why);
    }
    if (c.fast_dev_run > 0)
        fprintf(stderr, "lightc: running in fast_dev_run mode: %lld batch(es) of each loop; "
                "logging and checkpointing are suppressed\n", (long long)c.fast_dev_run);
    *out = t;
    return LC_OK;
}

lc_status lc_trainer_add_callback(lc_trainer *t, lc_callback *cb)
{
    if (!t || !cb) {
        if (cb && cb->destroy)
            cb->destroy(cb);
        return lc_fail(LC_ERR_INVALID, "lc_trainer_add_callback: trainer and callback must not "
                       "be NULL");
    }
    const char *name = cb->name ? cb->name : "";
    for (size_t i = 0; i < t->ncb; i++) {
        if (strcmp(t->cbs[i]->name ? t->cbs[i]->name : "", name) == 0) {
            if (cb->destroy)
                cb->destroy(cb);
            return lc_fail(LC_ERR_INVALID, "callback '%s' was added twice (its name is its "
                           "checkpoint state key and must be unique)", name);
        }
    }
    if (t->ncb == t->capcb) {
        size_t cap = t->capcb ? t->capcb * 2 : 8;
        lc_callback **cbs = realloc(t->cbs, cap * sizeof *cbs);
        if (!cbs) {
            if (cb->destroy)
                cb->destroy(cb);
            return lc_fail(LC_ERR_NOMEM, "lc_trainer_add_callback: out of memory");
        }
        t->cbs = cbs;
        t->capcb = cap;
    }
    t->cbs[t->ncb++] = cb;
    return LC_OK;
}

/* At run end, after a flush (so they are complete): hparams.yaml and
   metrics.csv go to the remote backends as artifacts at the same relative
   path, as Lightning's loggers keep them beside the run. A file no sink
   wrote (no csv logger) is simply not there. */
static void log_run_files(lc_trainer *t)
{
    const char *dir = lc_run_dir(t->run);
    for (int i = 0; dir && i < 2; i++) {
        char path[4096];
        static const char *const files[] = {"hparams.yaml", "metrics.csv"};
        if (snprintf(path, sizeof path, "%s/%s", dir, files[i]) < (int)sizeof path &&
            access(path, R_OK) == 0)
            lc_run_log_artifact(t->run, path, NULL);
    }
}

void lc_trainer_free(lc_trainer *t)
{
    if (!t)
        return;
    /* keep the caller's last error readable after the free (finishing the
       run and closing the hub clear it) */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", lc_errmsg());
    lc_hist_wait(t); /* work still in flight (after a failed loop) */
    lc_ckpt_wait(t);
    if (t->run) {
        lc_hub_flush(t->hub, 0);
        log_run_files(t);
        lc_run_finish(t->run, t->run_failed ? LC_RUN_FAILED : LC_RUN_FINISHED);
    }
    lc_ddp_release_hub(t); /* before the hub can go */
    if (t->own_hub)
        lc_hub_close(t->hub, 0);
    lc_prof_free(t->prof); /* after the hub: its dispatcher may be in the hook */
    if (saved[0])
        lc_fail(LC_OK, "%s", saved);
    for (size_t i = 0; i < t->ncb; i++)
        if (t->cbs[i]->destroy)
            t->cbs[i]->destroy(t->cbs[i]);
    free(t->cbs);
    lc_optim_teardown(t);
    lc_trainer_free_loaders(t);
    if (t->be_ref)
        t->be->release(); /* the device closes when its last user (the module) lets go */
    lc_log_result_free(&t->train_res);
    lc_log_result_free(&t->eval_res);
    lc_metric_dict_free(&t->cbm);
    lc_ddp_free(t);
    free(t->em_tags);
    free(t->em_vals);
    lc_ckpt_writer_free(&t->ckpt_spare);
    for (size_t i = 0; i < t->npending; i++)
        free(t->pending[i]);
    free(t->pending);
    for (size_t i = 0; i < sizeof t->own_strings / sizeof t->own_strings[0]; i++)
        free(t->own_strings[i]);
    free(t);
}

lc_status lc_trainer_end_run(lc_trainer *t, lc_run_status *status, lc_run_counters *counters)
{
    if (status)
        *status = LC_RUN_RUNNING;
    if (counters)
        memset(counters, 0, sizeof *counters);
    if (!t || !t->run)
        return lc_fail(LC_ERR_STATE, "lc_trainer_end_run: the trainer has no run (fast_dev_run, "
                       "nothing fitted yet, or already ended)");
    lc_hist_wait(t);
    lc_ckpt_wait(t);
    /* every event so far has been delivered, or counted lost, after this */
    lc_hub_flush(t->hub, 0);
    log_run_files(t);
    lc_run_counters c;
    lc_run_get_counters(t->run, &c);
    lc_run_status ended = lc_run_get_status(t->run);
    lc_run_status want = t->run_failed ? LC_RUN_FAILED : LC_RUN_FINISHED;
    lc_status st = lc_run_finish(t->run, want);
    t->run = NULL;
    t->run_closed = 1;
    if (status)
        *status = ended != LC_RUN_RUNNING ? ended : want;
    if (counters)
        *counters = c;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Dataloaders                                                               */

void lc_trainer_free_loaders(lc_trainer *t)
{
    lc_dataloader_free(t->train_dl);
    lc_dataloader_free(t->val_dl);
    lc_dataloader_free(t->test_dl);
    t->train_dl = t->val_dl = t->test_dl = NULL;
}

static lc_status make_loader(lc_dataloader **out, const lc_dataset *ds, int64_t batch, int shuffle,
                             uint64_t seed)
{
    if (!ds)
        return LC_OK;
    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    o.batch_size = (size_t)batch;
    o.shuffle = shuffle;
    o.seed = seed;
    return lc_dataloader_create(out, ds, &o);
}

lc_status lc_trainer_make_loaders(lc_trainer *t, lc_datamodule *dm)
{
    if (t->ddp && t->cfg.use_distributed_sampler)
        return lc_ddp_make_loaders(t, dm);
    lc_trainer_free_loaders(t);
    if (!dm)
        return lc_fail(LC_ERR_INVALID, "trainer: the data module is NULL");
    lc_status st = make_loader(&t->train_dl, lc_datamodule_split(dm, LC_SPLIT_TRAIN),
                               dm->batch_size, 1, t->cfg.seed);
    if (st == LC_OK)
        st = make_loader(&t->val_dl, lc_datamodule_split(dm, LC_SPLIT_VAL), dm->batch_size, 0, 0);
    if (st == LC_OK)
        st = make_loader(&t->test_dl, lc_datamodule_split(dm, LC_SPLIT_TEST), dm->batch_size, 0,
                         0);
    if (st != LC_OK)
        lc_trainer_free_loaders(t);
    t->dm = dm;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */

int64_t lc_trainer_current_epoch(const lc_trainer *t) { return t ? t->current_epoch : 0; }
int64_t lc_trainer_global_step(const lc_trainer *t) { return t ? t->global_step : 0; }
int lc_trainer_sanity_checking(const lc_trainer *t) { return t ? t->sanity_checking : 0; }
int lc_trainer_training(const lc_trainer *t) { return t ? t->training : 0; }
int lc_trainer_should_stop(const lc_trainer *t) { return t ? t->should_stop : 0; }
void lc_trainer_set_should_stop(lc_trainer *t, int stop)
{
    if (t)
        t->should_stop = stop != 0;
}
lc_rng *lc_trainer_rng(lc_trainer *t) { return t ? &t->rng : NULL; }
lc_run *lc_trainer_run(lc_trainer *t) { return t ? t->run : NULL; }
int lc_trainer_global_rank(const lc_trainer *t) { return t ? lc_ddp_rank(t) : 0; }
int lc_trainer_world_size(const lc_trainer *t) { return t ? lc_ddp_world(t) : 1; }
const lc_trainer_config *lc_trainer_get_config(const lc_trainer *t) { return t ? &t->cfg : NULL; }
lc_module *lc_trainer_module(lc_trainer *t) { return t ? t->module : NULL; }
int64_t lc_trainer_num_training_batches(const lc_trainer *t) { return t ? t->num_training_batches : 0; }
int64_t lc_trainer_num_val_batches(const lc_trainer *t) { return t ? t->num_val_batches : 0; }
const char *lc_trainer_ckpt_path(const lc_trainer *t) { return t ? t->ckpt_path : ""; }
const char *lc_trainer_log_dir(const lc_trainer *t) { return t ? t->log_dir : ""; }
int lc_trainer_fast_dev_run(const lc_trainer *t) { return t && t->cfg.fast_dev_run > 0; }
int lc_trainer_fitting(const lc_trainer *t) { return t && t->stage == LC_STAGE_FIT; }

int lc_trainer_has_validation(const lc_trainer *t)
{
    return t && t->val_dl && t->module && t->module->validation_step && t->num_val_batches > 0;
}

double lc_trainer_samples_per_sec(const lc_trainer *t)
{
    return t && t->fit_time > 0 ? (double)t->fit_samples / t->fit_time : 0.0;
}

const char *lc_trainer_accelerator(const lc_trainer *t)
{
    return t && t->be && t->be->device != LC_DEVICE_HOST ? "cuda" : "cpu";
}

const char *lc_trainer_precision(const lc_trainer *t)
{
    return t ? lc_precision_name(t->prec.kind) : "";
}

double lc_trainer_loss_scale(const lc_trainer *t)
{
    return t ? lc_precision_loss_scale(&t->prec) : NAN;
}

int64_t lc_trainer_skipped_steps(const lc_trainer *t)
{
    return t ? t->prec.skipped_steps : 0;
}

double lc_trainer_lr(const lc_trainer *t)
{
    return t && t->optim ? lc_optim_lr(t->optim) : NAN;
}

const char *lc_trainer_optimizer_name(const lc_trainer *t)
{
    return t && t->optim ? lc_optim_name(t->optim) : "";
}

const char *lc_trainer_scheduler_name(const lc_trainer *t)
{
    return t ? t->sched_name : "";
}

const char *lc_trainer_scheduler_interval(const lc_trainer *t)
{
    if (!t || !t->sched)
        return "";
    return lc_sched_interval_get(t->sched) == LC_SCHED_INTERVAL_STEP ? "step" : "epoch";
}

lc_status lc_trainer_callback_metric(const lc_trainer *t, const char *name, double *value)
{
    if (!t || !name)
        return lc_fail(LC_ERR_INVALID, "lc_trainer_callback_metric: trainer and name must not be "
                       "NULL");
    if (!lc_metric_dict_get(&t->cbm, name, value))
        return lc_fail(LC_ERR_NOT_FOUND, "metric '%s' has not been logged", name);
    return LC_OK;
}

const char *lc_trainer_callback_metric_names(lc_trainer *t)
{
    lc_metric_dict *d = &t->cbm;
    size_t n = 1;
    for (size_t i = 0; i < d->len; i++)
        n += strlen(d->names[i]) + 2;
    char *s = realloc(d->joined, n + 8);
    if (!s)
        return "";
    d->joined = s;
    s[0] = 0;
    for (size_t i = 0; i < d->len; i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, d->names[i]);
    }
    if (d->len == 0)
        strcpy(s, "(none)");
    return s;
}

lc_status lc_trainer_save_checkpoint(lc_trainer *t, const char *path)
{
    if (!t || !path || !*path)
        return lc_fail(LC_ERR_INVALID, "lc_trainer_save_checkpoint: trainer and path must be "
                       "given");
    if (t->npending == t->cappending) {
        size_t cap = t->cappending ? t->cappending * 2 : 4;
        char **p = realloc(t->pending, cap * sizeof *p);
        if (!p)
            return lc_fail(LC_ERR_NOMEM, "lc_trainer_save_checkpoint: out of memory");
        t->pending = p;
        t->cappending = cap;
    }
    for (size_t i = 0; i < t->npending; i++)
        if (strcmp(t->pending[i], path) == 0)
            return LC_OK;
    char *copy = strdup(path);
    if (!copy)
        return lc_fail(LC_ERR_NOMEM, "lc_trainer_save_checkpoint: out of memory");
    t->pending[t->npending++] = copy;
    /* outside a loop nothing else will write it */
    if (t->stage == LC_STAGE_NONE && t->module)
        return lc_ckpt_flush_pending(t);
    return LC_OK;
}
