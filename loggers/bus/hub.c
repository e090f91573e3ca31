/*
 * loggers/bus/hub.c — opening and closing a hub, and the synchronous
 * requests (run open/finish, flush) a caller waits on. (Events enter the
 * queue through lc_hub_enqueue in hub_internal.h, the one enqueue path.)
 *
 * Configuration order: lc_hub_options fields, then environment
 * (LIGHTC_ROOT, LIGHTC_LOGGERS), then the defaults in lightc/hub.h.
 *
 * Closing with a timeout: lc_hub_close ends every live run (queueing each
 * finish, waiting only until the deadline), then asks the dispatcher to
 * stop: it drains the queue, finishes any run whose finish could not be
 * queued, flushes the sinks and ends. If that has not happened by the
 * deadline, the hub is handed to the dispatcher ('orphaned'), which frees
 * it when it is done, and the caller learns what was left undone.
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

const char *lc_default_root(void)
{
    return env_or(NULL, "LIGHTC_ROOT", LC_DEFAULT_ROOT);
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

    const char *root = o.root && *o.root ? o.root : lc_default_root();
    if (!hub->active) {
        hub->root = strdup(root);
        *out = hub;
        return LC_OK;
    }
    if (lc_make_dirs(root) != 0) {
        int e = errno;
        lc_hub_free(hub);
        return lc_fail(LC_ERR_IO, "cannot create run root '%s': %s; choose a writable --root or set LIGHTC_ROOT",
                       root, strerror(e));
    }
    char abs[PATH_MAX];
    if (!realpath(root, abs)) {
        int e = errno;
        lc_hub_free(hub);
        return lc_fail(LC_ERR_IO, "cannot resolve run root '%s': %s", root, strerror(e));
    }
    if (access(abs, W_OK) != 0) {
        lc_hub_free(hub);
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
    const char *spec = env_or(o.loggers, "LIGHTC_LOGGERS", LC_DEFAULT_LOGGERS);
    lc_status st = lc_sinks_open(hub, spec, err, sizeof err);
    if (st != LC_OK) {
        lc_hub_close(hub, 0);
        return lc_fail(st, "%s", err);
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

lc_status lc_hub_run_dir(const lc_hub *hub, const char *experiment, const char *name, char *out,
                         size_t cap)
{
    if (!hub || !out || cap == 0)
        return lc_fail(LC_ERR_INVALID, "lc_hub_run_dir: hub and out must not be NULL");
    return lc_run_path(hub->root, experiment, name, out, cap);
}

/* ------------------------------------------------------------------------ */
/* synchronous requests                                                      */

static void request_unref(lc_request *req)
{
    if (atomic_fetch_sub(&req->refs, 1) == 1)
        free(req);
}

void lc_request_complete(lc_hub *hub, lc_request *req, lc_status status, const char *err)
{
    if (!req)
        return;
    pthread_mutex_lock(&hub->ctl_mu);
    req->status = status;
    if (err)
        snprintf(req->err, sizeof req->err, "%s", err);
    req->done = 1;
    pthread_cond_broadcast(&hub->ctl_cond);
    pthread_mutex_unlock(&hub->ctl_mu);
    request_unref(req);
}

/* Wait on ctl_cond until deadline (0: without limit). 0, or ETIMEDOUT. */
static int ctl_wait(lc_hub *hub, uint64_t deadline)
{
    if (!deadline) {
        pthread_cond_wait(&hub->ctl_cond, &hub->ctl_mu);
        return 0;
    }
    uint64_t now = lc_mono_ms();
    if (now >= deadline)
        return ETIMEDOUT;
    struct timespec ts = lc_mono_deadline((uint32_t)(deadline - now));
    return pthread_cond_timedwait(&hub->ctl_cond, &hub->ctl_mu, &ts) == ETIMEDOUT ? ETIMEDOUT : 0;
}

lc_status lc_hub_request(lc_hub *hub, uint16_t kind, lc_run_info *run, uint64_t deadline, char *err,
                         size_t errlen)
{
    lc_request *req = calloc(1, sizeof *req);
    if (!req) {
        snprintf(err, errlen, "out of memory");
        return LC_ERR_NOMEM;
    }
    atomic_init(&req->refs, 2);
    lc_event ev = {.run = run, .kind = kind, .payload = req};
    if (lc_hub_enqueue(hub, &ev, 1, NULL, NULL, deadline) != LC_OK) {
        free(req);
        snprintf(err, errlen, "timed out: the queue stayed full (the dispatcher is busy in a sink)");
        return LC_ERR_TIMEOUT;
    }
    lc_queue_kick(&hub->queue);

    lc_status st = LC_OK;
    pthread_mutex_lock(&hub->ctl_mu);
    while (!req->done) {
        if (ctl_wait(hub, deadline) == ETIMEDOUT) {
            st = LC_ERR_TIMEOUT;
            break;
        }
    }
    if (st == LC_OK && req->status != LC_OK) {
        st = req->status;
        snprintf(err, errlen, "%s", req->err);
    }
    pthread_mutex_unlock(&hub->ctl_mu);
    if (st == LC_ERR_TIMEOUT)
        snprintf(err, errlen, "timed out waiting for the sinks (the request stays queued)");
    request_unref(req);
    return st;
}

lc_status lc_hub_flush(lc_hub *hub, uint32_t timeout_ms)
{
    lc_clear_error();
    if (!hub)
        return lc_fail(LC_ERR_INVALID, "lc_hub_flush: hub is NULL");
    if (!hub->active)
        return LC_OK;
    char err[LC_ERRLEN];
    lc_status st = lc_hub_request(hub, LC_EV_FLUSH, NULL, lc_deadline_after(timeout_ms), err,
                                  sizeof err);
    if (st == LC_ERR_TIMEOUT)
        return lc_fail(st, "lc_hub_flush: %s after %u ms (the flush continues in the background)",
                       err, timeout_ms);
    if (st != LC_OK)
        return lc_fail(st, "lc_hub_flush: %s", err);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* close                                                                     */

static _Atomic int orphans;

int lc_hub_orphans(void)
{
    return atomic_load(&orphans);
}

void lc_hub_free(lc_hub *hub)
{
    int orphaned = hub->orphaned;
    while (hub->runs) { /* only after a failed close: never finished */
        lc_run *r = hub->runs;
        hub->runs = r->next;
        lc_run_free(r);
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
    if (orphaned)
        atomic_fetch_sub(&orphans, 1);
}

static const char *const entry_names[] = {
    [LC_SINK_IDLE] = "", [LC_SINK_OPEN_RUN] = "open_run", [LC_SINK_WRITE_BATCH] = "write_batch",
    [LC_SINK_FLUSH] = "flush", [LC_SINK_FINISH_RUN] = "finish_run",
    [LC_SINK_REPAIR] = "resume repair",
};

/* What is left undone, for the timeout message (ctl_mu held, so the
 * dispatcher cannot free anything meanwhile). */
static void undone_report(lc_hub *hub, uint32_t timeout_ms, char *out, size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                             \
    do {                                                                                     \
        int w_ = snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__);                     \
        n += w_ > 0 ? (size_t)w_ : 0;                                                        \
    } while (0)
    PUT("lc_hub_close: timed out after %u ms; not finished:", timeout_ms);
    int runs = 0;
    pthread_mutex_lock(&hub->runs_mu);
    for (lc_run *r = hub->ended; r; r = r->next) {
        if (atomic_load(&r->finished))
            continue;
        PUT("%s run %s/%s (%.8s)", runs++ ? "," : "", r->info.experiment, r->info.name, r->info.id);
    }
    pthread_mutex_unlock(&hub->runs_mu);
    if (!runs)
        PUT(" no run (the sinks' final flush and close)");
    int busy = atomic_load(&hub->busy_sink), entry = atomic_load(&hub->busy_entry);
    if (busy > 0 && busy <= hub->nsinks && entry > 0 && entry <= LC_SINK_REPAIR)
        PUT("; the dispatcher is inside the %s sink's %s", hub->sinks[busy - 1].vt->name,
            entry_names[entry]);
    else
        PUT("; the dispatcher is still draining the queue");
    PUT(". It finishes in the background and frees the hub; what the index has committed is "
        "kept, and a run whose process ends first shows as crashed");
#undef PUT
    if (n >= cap && cap > 1)
        out[cap - 2] = '~'; /* mark the cut */
}

lc_status lc_hub_close(lc_hub *hub, uint32_t timeout_ms)
{
    lc_clear_error();
    if (!hub)
        return LC_OK;
    atomic_store(&hub->closing, 1);
    if (hub->handle_signals)
        lc_signals_unregister(hub);
    if (!hub->dispatcher_running) { /* a no-op hub, or a failed open */
        lc_hub_free(hub);
        return LC_OK;
    }
    uint64_t deadline = lc_deadline_after(timeout_ms);
    char first[LC_ERRLEN] = "";
    /* End every live run: each finish is queued even after the deadline
       (then without waiting), so the dispatcher finishes them all. */
    lc_status st = lc_run_end_all(hub, LC_RUN_FINISHED, deadline, first, sizeof first);
    atomic_store(&hub->stop, 1);
    lc_queue_kick(&hub->queue);

    pthread_mutex_lock(&hub->ctl_mu);
    while (!hub->dispatcher_done && ctl_wait(hub, deadline) != ETIMEDOUT)
        ;
    if (!hub->dispatcher_done) {
        char msg[1024];
        undone_report(hub, timeout_ms, msg, sizeof msg);
        hub->orphaned = 1;
        atomic_fetch_add(&orphans, 1);
        pthread_mutex_unlock(&hub->ctl_mu);
        pthread_detach(hub->dispatcher);
        return lc_fail(LC_ERR_TIMEOUT, "%s", msg);
    }
    pthread_mutex_unlock(&hub->ctl_mu);
    pthread_join(hub->dispatcher, NULL);
    lc_hub_free(hub);
    if (st != LC_OK)
        return lc_fail(st, "lc_hub_close: %s", first);
    return LC_OK;
}
