/*
 * trainer/ckpt_async.c — the background checkpoint writer (see
 * ckpt_async.h).
 */
#include "ckpt_async.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "trainer_internal.h"

struct lc_ckpt_job {
    pthread_t thread;
    lc_hub *hub;          /* flushed before the files are written */
    lc_hist_job *hist;    /* histograms of the boundary, joined first */
    lc_ckpt_writer w;
    char **paths;
    size_t n;
    size_t written;   /* paths written successfully, in order */
    lc_status st;
    char err[1024];   /* lc_errmsg is per thread: carried back here */
};

static void *job_main(void *arg)
{
    lc_ckpt_job *job = arg;
    job->st = lc_ckpt_writer_finish(&job->w);
    if (job->st != LC_OK) {
        snprintf(job->err, sizeof job->err, "%s", lc_errmsg());
        return NULL;
    }
    /* The promise: every event up to the checkpoint's step is held by every
       sink before the file exists. Events logged before the snapshot are
       ahead of this flush in the hub's queue. A sink that cannot flush has
       already reported and counted its loss (the run is degraded); the
       checkpoint is still written, and resuming from it repairs the sinks
       from the index. */
    lc_hist_job_join(job->hist);
    job->hist = NULL;
    if (job->hub && lc_hub_flush(job->hub, 0) != LC_OK)
        fprintf(stderr, "lightc: warning: checkpoint '%s': the loggers could not be flushed "
                        "first: %s\n", job->n ? job->paths[0] : "", lc_errmsg());
    for (size_t i = 0; i < job->n; i++) {
        lc_status st = lc_ckpt_write_atomic(job->paths[i], job->w.buf, job->w.len);
        if (st != LC_OK) {
            job->st = st;
            snprintf(job->err, sizeof job->err, "%s", lc_errmsg());
            break;
        }
        job->written = i + 1;
    }
    return NULL;
}

static void job_free(lc_ckpt_job *job)
{
    lc_hist_job_join(job->hist);
    for (size_t i = 0; i < job->n; i++)
        free(job->paths[i]);
    free(job->paths);
    lc_ckpt_writer_free(&job->w);
    free(job);
}

lc_status lc_ckpt_job_start(lc_ckpt_job **out, lc_ckpt_writer *w, char **paths, size_t n,
                            lc_hub *hub, lc_hist_job *hist)
{
    *out = NULL;
    lc_ckpt_job *job = calloc(1, sizeof *job);
    if (!job) {
        lc_hist_job_join(hist);
        lc_ckpt_writer_free(w);
        for (size_t i = 0; i < n; i++)
            free(paths[i]);
        free(paths);
        return lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory");
    }
    job->w = *w;
    memset(w, 0, sizeof *w);
    job->paths = paths;
    job->n = n;
    job->hub = hub;
    job->hist = hist;
    if (pthread_create(&job->thread, NULL, job_main, job) != 0) {
        /* no thread: write here and now */
        job_main(job);
        job->thread = pthread_self();
    }
    *out = job;
    return LC_OK;
}

lc_status lc_ckpt_job_finish(lc_ckpt_job *job, lc_trainer *t, lc_ckpt_writer *spare)
{
    if (!job)
        return LC_OK;
    if (!pthread_equal(job->thread, pthread_self()))
        pthread_join(job->thread, NULL);
    lc_status st = LC_OK;
    for (size_t i = 0; i < job->written; i++) {
        if (t->run)
            lc_run_log_artifact(t->run, job->paths[i], "checkpoints");
        for (size_t k = 0; st == LC_OK && k < t->ncb; k++)
            if (t->cbs[k]->on_checkpoint_saved)
                st = t->cbs[k]->on_checkpoint_saved(t->cbs[k], t, job->paths[i]);
    }
    if (st == LC_OK && job->st != LC_OK)
        st = lc_fail(job->st, "%s", job->err);
    if (spare && !spare->buf) {
        *spare = job->w;
        memset(&job->w, 0, sizeof job->w);
    }
    job_free(job);
    return st;
}

int lc_ckpt_job_has(const lc_ckpt_job *job, const char *path)
{
    for (size_t i = 0; job && i < job->n; i++)
        if (strcmp(job->paths[i], path) == 0)
            return 1;
    return 0;
}
