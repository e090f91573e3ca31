/*
 * trainer/run_setup.c — the trainer's run in the logger hub: opening the
 * hub, starting or resuming the run (experiment/name, discarding points
 * after the checkpoint's step), the provenance tags (seed, BLAS, threads)
 * and hyperparameters; and finding the checkpoint "last" refers to.
 *
 * "last" (Lightning's ckpt_path="last") is the newest checkpoint of the run
 * named by experiment/name: the one with the highest logging step, ties
 * broken by modification time. Without a name, the newest checkpoint of
 * any run of the experiment, and that run is continued. A checkpoint that
 * fails verification is skipped with a warning (an older one is used);
 * none at all starts the run fresh with a warning — and an existing run
 * starts over: the hub replaces its earlier attempt's points, media,
 * params, tags, metrics.csv and events files (a checkpoint-less attempt
 * cannot be continued exactly, and keeping it would mix two attempts).
 * Run directories come from the hub (lc_hub_run_dir), so "last" needs
 * the hub open first.
 *
 * A run the hub ended from outside (SIGINT/SIGTERM: status killed) stops
 * the loops at their next batch (lc_run_check_live), so no training,
 * checkpoint or test happens past the step the run was killed at.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blas_info.h"
#include "common/status.h"
#include "trainer_internal.h"

/* The trainer's hub: the caller's (cfg.hub), else its own, opened once. */
static lc_status trainer_hub(lc_trainer *t)
{
    if (t->hub)
        return LC_OK;
    if (t->cfg.hub) {
        t->hub = t->cfg.hub;
        t->own_hub = 0;
        return LC_OK;
    }
    lc_hub_options ho = {0};
    ho.root = t->cfg.default_root_dir;
    ho.loggers = t->cfg.loggers;
    if (!ho.loggers && !getenv("LIGHTC_LOGGERS"))
        ho.loggers = t->cfg.enable_progress_bar ? LC_TRAINER_LOGGERS : LC_DEFAULT_LOGGERS;
    ho.handle_signals = 1;
    lc_status st = lc_hub_open(&t->hub, &ho);
    if (st != LC_OK) {
        t->hub = NULL;
        return st;
    }
    t->own_hub = 1;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Finding "last"                                                            */

typedef struct best_ckpt {
    char path[PATH_MAX];
    int64_t step;
    struct timespec mtime;
    int found;
} best_ckpt;

static int newer(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec != b->tv_sec ? a->tv_sec > b->tv_sec : a->tv_nsec > b->tv_nsec;
}

/* Consider every *.ckpt of dir. */
static void scan_ckpt_dir(const char *dir, best_ckpt *best)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".ckpt") != 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t step;
        if (lc_ckpt_peek_run(path, NULL, NULL, NULL, &step) != LC_OK) {
            lc_trainer_warn("skipping checkpoint that fails verification: %s", lc_errmsg());
            continue;
        }
        if (!best->found || step > best->step ||
            (step == best->step && newer(&st.st_mtim, &best->mtime))) {
            snprintf(best->path, sizeof best->path, "%s", path);
            best->step = step;
            best->mtime = st.st_mtim;
            best->found = 1;
        }
    }
    closedir(d);
}

lc_status lc_resolve_ckpt_path(lc_trainer *t, const char *ckpt_path, char *out, size_t cap)
{
    out[0] = 0;
    if (!ckpt_path || !*ckpt_path)
        return LC_OK;
    if (strcmp(ckpt_path, "last") != 0) {
        struct stat st;
        if (stat(ckpt_path, &st) != 0)
            return lc_fail(LC_ERR_NOT_FOUND, "checkpoint '%s' does not exist: %s", ckpt_path,
                           strerror(errno));
        if (snprintf(out, cap, "%s", ckpt_path) >= (int)cap)
            return lc_fail(LC_ERR_INVALID, "checkpoint path '%s' is too long", ckpt_path);
        return LC_OK;
    }
    lc_status st = trainer_hub(t);
    if (st != LC_OK)
        return st;
    const char *exp = t->cfg.experiment ? t->cfg.experiment : LC_DEFAULT_EXPERIMENT;
    best_ckpt best = {0};
    char dir[PATH_MAX], expdir[PATH_MAX];
    st = lc_hub_run_dir(t->hub, exp, t->cfg.name, expdir, sizeof expdir - sizeof "/checkpoints");
    if (st != LC_OK)
        return st;
    if (t->cfg.name) {
        /* expdir is the run's directory here; there is room for the suffix */
        if (snprintf(dir, sizeof dir, "%s/checkpoints", expdir) < (int)sizeof dir)
            scan_ckpt_dir(dir, &best);
    } else {
        DIR *d = opendir(expdir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            if (snprintf(dir, sizeof dir, "%s/%s/checkpoints", expdir, de->d_name) >=
                (int)sizeof dir)
                continue;
            /* within a run the highest step wins, across runs the newest file */
            best_ckpt b = {0};
            scan_ckpt_dir(dir, &b);
            if (b.found && (!best.found || newer(&b.mtime, &best.mtime)))
                best = b;
        }
        if (d)
            closedir(d);
        if (best.found) {
            /* continue that run: <expdir>/<name>/checkpoints/<file> */
            char name[PATH_MAX];
            const char *p = best.path + strlen(expdir) + 1;
            const char *slash = strchr(p, '/');
            size_t n = slash ? (size_t)(slash - p) : strlen(p);
            if (n < sizeof name) {
                memcpy(name, p, n);
                name[n] = 0;
                free(t->own_strings[5]);
                t->own_strings[5] = strdup(name);
                t->cfg.name = t->own_strings[5];
            }
        }
    }
    if (!best.found) {
        struct stat st;
        char rundir[PATH_MAX];
        int exists = t->cfg.name &&
                     lc_hub_run_dir(t->hub, exp, t->cfg.name, rundir, sizeof rundir) == LC_OK &&
                     stat(rundir, &st) == 0;
        if (exists)
            lc_trainer_warn("ckpt_path=\"last\": no usable checkpoint for run '%s/%s' under %s; "
                            "starting the run over: the points, metrics.csv rows and TensorBoard "
                            "events files of its earlier attempt are replaced",
                            exp, t->cfg.name, lc_hub_root(t->hub));
        else
            lc_trainer_warn("ckpt_path=\"last\": no checkpoint found for run '%s/%s' under %s; "
                            "starting the run fresh",
                            exp, t->cfg.name ? t->cfg.name : "*", lc_hub_root(t->hub));
        return LC_OK;
    }
    if (snprintf(out, cap, "%s", best.path) >= (int)cap)
        return lc_fail(LC_ERR_INVALID, "checkpoint path '%s' is too long", best.path);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */

static void set_tag_int(lc_run *run, const char *key, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    lc_run_set_tag(run, key, buf);
}

lc_status lc_run_setup(lc_trainer *t, int resume, int64_t resume_step)
{
    return t->ddp ? lc_ddp_run_setup(t, resume, resume_step) /* only rank 0 opens the run */
                  : lc_run_setup_local(t, resume, resume_step);
}

lc_status lc_run_setup_local(lc_trainer *t, int resume, int64_t resume_step)
{
    if (t->run || t->cfg.fast_dev_run > 0)
        return LC_OK;
    if (t->run_closed)
        return lc_fail(LC_ERR_STATE, "the trainer's run was ended (lc_trainer_end_run); create "
                       "another trainer for another run");
    lc_status st = trainer_hub(t);
    if (st != LC_OK)
        return st;
    lc_run_options ro = {0};
    ro.experiment = t->cfg.experiment;
    ro.name = t->cfg.name;
    ro.resume = resume > 0;
    ro.discard_after = resume == 2;
    ro.resume_step = resume_step;
    st = lc_run_start(t->hub, &ro, &t->run);
    if (st != LC_OK) {
        t->run = NULL;
        if (st == LC_ERR_EXISTS)
            return lc_fail(st, "%s (to continue it from its newest checkpoint use "
                           "ckpt_path=\"last\", i.e. --resume last)", lc_errmsg());
        return st;
    }
    snprintf(t->log_dir, sizeof t->log_dir, "%s", lc_run_dir(t->run));

    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->cfg.seed);
    lc_run_set_tag(t->run, "seed", seed);
    lc_run_set_tag(t->run, "blas", lc_blas_info());
    set_tag_int(t->run, "threads", lc_blas_get_threads());
    lc_run_set_tag(t->run, "precision", t->cfg.precision);
    /* a tag, not a param: a run may resume on another device */
    lc_run_set_tag(t->run, "accelerator", lc_trainer_accelerator(t));
    st = lc_run_log_param_str(t->run, "precision", t->cfg.precision);
    if (st != LC_OK)
        return st;
    if (t->module && t->module->name)
        lc_run_set_tag(t->run, "model", t->module->name);
    if (t->module && t->module->hparams_json) {
        st = lc_run_log_params_json(t->run, t->module->hparams_json);
        if (st != LC_OK)
            return lc_fail(st, "module hparams_json: %s", lc_errmsg());
    }
    return LC_OK;
}

lc_status lc_run_check_live(lc_trainer *t)
{
    /* ddp: rank 0's should_stop and run status reach every rank */
    return t->ddp ? lc_ddp_check_live(t) : lc_run_check_live_local(t);
}

lc_status lc_run_check_live_local(lc_trainer *t)
{
    if (!t->run)
        return LC_OK;
    lc_run_status rs = lc_run_get_status(t->run);
    if (rs == LC_RUN_RUNNING)
        return LC_OK;
    t->should_stop = 1;
    return lc_fail(LC_ERR_STATE, "run %s/%s was ended as %s (SIGINT or SIGTERM) at step %lld; "
                   "training stopped there, no further checkpoint written",
                   lc_run_experiment(t->run), lc_run_name(t->run), lc_run_status_name(rs),
                   (long long)t->global_step);
}
