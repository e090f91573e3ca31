/*
 * loggers/hub.c — opening and closing a hub, the enqueue paths, and the
 * synchronous requests (run open/finish, flush) a caller waits on.
 *
 * Configuration order: lc_hub_options fields, then environment
 * (LIGHTC_ROOT, LIGHTC_LOGGERS), then defaults.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/status.h"
#include "hub_internal.h"

#define DEFAULT_LOGGERS "sqlite,tensorboard,csv"

/* ------------------------------------------------------------------------ */
/* rank zero                                                                 */

/* Lightning's rank-zero rule: the first of these set decides. */
static int process_rank(void)
{
    static const char *vars[] = {"RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID",
                                 "JSM_NAMESPACE_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return atoi(v);
    }
    return 0;
}

static const char *env_or(const char *given, const char *var, const char *dflt)
{
    if (given && *given)
        return given;
    const char *v = getenv(var);
    if (v && *v)
        return v;
    return dflt;
}

lc_status lc_hub_open(lc_hub **out, const lc_hub_options *opt)
{
    lc_clear_error();
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_hub_open: out is NULL");
    *out = NULL;
    lc_hub_options o = {0};
    if (opt)
        o = *opt;
    lc_hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return lc_fail(LC_ERR_NOMEM, "lc_hub_open: out of memory");
    pthread_mutex_init(&hub->ctl_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* lc_mono_deadline */
    pthread_cond_init(&hub->ctl_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&hub->runs_mu, NULL);
    hub->active = o.all_ranks || process_rank() == 0;

    const char *root = env_or(o.root, "LIGHTC_ROOT", "./runs");
    if (!hub->active) {
        hub->root = strdup(root);
        *out = hub;
        return LC_OK;
    }
    if (lc_make_dirs(root) != 0) {
        int e = errno;
        free(hub);
        return lc_fail(LC_ERR_IO, "cannot create run root '%s': %s; choose a writable --root or set LIGHTC_ROOT",
                       root, strerror(e));
    }
    char abs[PATH_MAX];
    if (!realpath(root, abs)) {
        int e = errno;
        free(hub);
        return lc_fail(LC_ERR_IO, "cannot resolve run root '%s': %s", root, strerror(e));
    }
    if (access(abs, W_OK) != 0) {
        free(hub);
        return lc_fail(LC_ERR_IO, "run root '%s' is not writable; choose a writable --root or set LIGHTC_ROOT", abs);
    }
    hub->root = strdup(abs);
    hub->full_policy = o.full_policy;
    hub->flush_interval_ms = o.flush_interval_ms ? o.flush_interval_ms : 2000;
    hub->sink_retry_ms = o.sink_retry_ms ? o.sink_retry_ms : 2000;
    hub->image_arena_cap = o.image_arena_bytes ? o.image_arena_bytes : 64u << 20;
    hub->handle_signals = o.handle_signals;
    if (o.console_keys)
        hub->console_keys = strdup(o.console_keys);

    if (lc_queue_init(&hub->queue, o.queue_capacity ? o.queue_capacity : 65536) != 0) {
        lc_hub_close(hub, 0);
        return lc_fail(LC_ERR_NOMEM, "lc_hub_open: cannot allocate the event queue");
    }
    char err[LC_ERRLEN];
    const char *spec = env_or(o.loggers, "LIGHTC_LOGGERS", DEFAULT_LOGGERS);
    if (lc_sinks_open(hub, spec, err, sizeof err) != 0) {
        lc_hub_close(hub, 0);
        return lc_fail(LC_ERR_INVALID, "%s", err);
    }
    if (pthread_create(&hub->dispatcher, NULL, lc_dispatcher_main, hub) != 0) {
        lc_hub_close(hub, 0);
        return lc_fail(LC_ERR_NOMEM, "lc_hub_open: cannot start the dispatcher thread");
    }
    hub->dispatcher_running = 1;
    if (hub->handle_signals && lc_signals_register(hub, err, sizeof err) != 0) {
        lc_hub_close(hub, 0);
        return lc_fail(LC_ERR_INVALID, "%s", err);
    }
    *out = hub;
    return LC_OK;
}

int lc_hub_is_active(const lc_hub *hub)
{
    return hub && hub->active;
}

const char *lc_hub_root(const lc_hub *hub)
{
    return hub ? hub->root : NULL;
}

/* ------------------------------------------------------------------------ */
/* enqueue                                                                   */

lc_status lc_hub_enqueue_one(lc_hub *hub, const lc_event *ev)
{
    lc_queue *q = &hub->queue;
    uint64_t pos = 0;
    while (!lc_queue_reserve(q, 1, &pos)) {
        if (hub->full_policy == LC_FULL_DROP && ev->kind < LC_EV_RUN_OPEN) {
            if (ev->run)
                atomic_fetch_add(&ev->run->dropped, 1);
            return LC_ERR_FULL;
        }
        lc_queue_wait_space(q, 1, 10);
    }
    *lc_queue_at(q, pos) = *ev;
    lc_queue_publish(q, pos);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* synchronous requests                                                      */

static void request_unref(lc_request *req)
{
    if (atomic_fetch_sub(&req->refs, 1) == 1)
        free(req);
}

void lc_request_complete(lc_hub *hub, lc_request *req, int status, const char *err)
{
    pthread_mutex_lock(&hub->ctl_mu);
    req->status = status;
    if (err)
        snprintf(req->err, sizeof req->err, "%s", err);
    req->done = 1;
    pthread_cond_broadcast(&hub->ctl_cond);
    pthread_mutex_unlock(&hub->ctl_mu);
    request_unref(req);
}

int lc_hub_request(lc_hub *hub, uint16_t kind, lc_run_info *run, uint32_t timeout_ms, char *err,
                   size_t errlen)
{
    lc_request *req = calloc(1, sizeof *req);
    if (!req) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    atomic_init(&req->refs, 2);
    lc_event ev = {.run = run, .kind = kind, .payload = req};
    lc_hub_enqueue_one(hub, &ev);
    lc_queue_kick(&hub->queue);

    struct timespec deadline = lc_mono_deadline(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&hub->ctl_mu);
    while (!req->done) {
        if (timeout_ms == 0) {
            pthread_cond_wait(&hub->ctl_cond, &hub->ctl_mu);
        } else if (pthread_cond_timedwait(&hub->ctl_cond, &hub->ctl_mu, &deadline) == ETIMEDOUT) {
            rc = -2;
            break;
        }
    }
    if (rc == 0 && req->status != 0) {
        rc = -1;
        snprintf(err, errlen, "%s", req->err);
    }
    pthread_mutex_unlock(&hub->ctl_mu);
    if (rc == -2)
        snprintf(err, errlen, "timed out after %u ms waiting for the sinks", timeout_ms);
    request_unref(req);
    return rc;
}

lc_status lc_hub_flush(lc_hub *hub, uint32_t timeout_ms)
{
    lc_clear_error();
    if (!hub)
        return lc_fail(LC_ERR_INVALID, "lc_hub_flush: hub is NULL");
    if (!hub->active)
        return LC_OK;
    char err[LC_ERRLEN];
    int rc = lc_hub_request(hub, LC_EV_FLUSH, NULL, timeout_ms, err, sizeof err);
    if (rc == -2)
        return lc_fail(LC_ERR_TIMEOUT, "lc_hub_flush: %s (the flush continues in the background)", err);
    if (rc != 0)
        return lc_fail(LC_ERR_IO, "lc_hub_flush: %s", err);
    return LC_OK;
}

lc_status lc_hub_close(lc_hub *hub, uint32_t timeout_ms)
{
    if (!hub)
        return LC_OK;
    lc_status st = LC_OK;
    atomic_store(&hub->closing, 1);
    if (hub->handle_signals)
        lc_signals_unregister(hub);
    /* finish live runs */
    for (;;) {
        pthread_mutex_lock(&hub->runs_mu);
        lc_run *r = hub->runs;
        pthread_mutex_unlock(&hub->runs_mu);
        if (!r)
            break;
        if (lc_run_finish(r, LC_RUN_FINISHED) != LC_OK)
            st = LC_ERR_IO;
    }
    if (hub->dispatcher_running) {
        char err[LC_ERRLEN];
        if (lc_hub_request(hub, LC_EV_FLUSH, NULL, timeout_ms, err, sizeof err) != 0)
            st = lc_fail(LC_ERR_TIMEOUT, "lc_hub_close: %s", err);
        lc_event stop = {.kind = LC_EV_STOP};
        lc_hub_enqueue_one(hub, &stop);
        lc_queue_kick(&hub->queue);
        pthread_join(hub->dispatcher, NULL);
    }
    while (hub->ended) {
        lc_run *r = hub->ended;
        hub->ended = r->next;
        lc_run_free(r);
    }
    for (int i = 0; i < hub->nsinks; i++)
        if (hub->sinks[i].vt && hub->sinks[i].vt->close)
            hub->sinks[i].vt->close(&hub->sinks[i]);
    lc_queue_destroy(&hub->queue);
    pthread_mutex_destroy(&hub->ctl_mu);
    pthread_cond_destroy(&hub->ctl_cond);
    pthread_mutex_destroy(&hub->runs_mu);
    free(hub->console_keys);
    free(hub->root);
    free(hub);
    return st;
}
