/*
 * loggers/remote/shipper.c — the shipper (shipper.h): outbox -> one remote
 * backend, as a live thread or in `lightc sync`'s thread.
 *
 * One step on a run: hold the lease (take it, or renew it every third of
 * its length), load the run, open the remote run (storing the remote id
 * the backend gives), read a chunk after the cursor, ship it, advance the
 * cursor past what the backend delivered. Caught up on an ended run: the
 * delivery becomes 'delivered' (the index checks the cursor is at the
 * run's end). The index is only written for cursor, lease and state; the
 * items are never copied.
 */
#include "shipper.h"
#include "http.h"
#include "common/clock.h"
#include "common/status.h"
#include "index/outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SH_ERRLEN 512

typedef struct sh_run {
    char uuid[33];
    char *label;              /* "experiment/name", for messages (set at open) */
    lc_outbox_run info;
    int loaded;
    lc_remote_run rr;
    int opened;
    int have_lease;
    uint64_t lease_at;        /* lc_mono_ms of the last take/renew */
    uint64_t next_try;        /* lc_mono_ms before which the thread leaves it */
    uint32_t backoff;
    uint64_t last_hb;
    _Atomic int finished;     /* the hub ended the run */
    int done;                 /* delivered, failed, or gone (under mu) */
    int drained_out;          /* a drain gave up on it (under mu) */
    struct sh_run *next;
} sh_run;

struct lc_shipper {
    lc_remote be;
    lc_cancel *cancel;        /* the backend's: set by lc_shipper_stop; ends its
                                 HTTP transfers and retry waits at once */
    lc_outbox *ob;
    lc_shipper_options o;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* CLOCK_MONOTONIC */
    int wake, stop, exited, orphaned;
    uint64_t last_ship;       /* lc_mono_ms of the last pass that sent items */
    sh_run *runs;
};

enum { SH_PROGRESS, SH_IDLE, SH_DONE, SH_FAILED, SH_RETRY, SH_BUSY };

/* ------------------------------------------------------------------------ */
/* Setup                                                                     */

static uint32_t sh_env_ms(const char *var, uint32_t dflt)
{
    const char *v = getenv(var);
    long n = v && *v ? atol(v) : 0;
    return n > 0 ? (uint32_t)n : dflt;
}

lc_status lc_shipper_new(lc_shipper **out, const lc_remote *backend, const char *root,
                         const lc_shipper_options *opt, char *err, size_t errlen)
{
    *out = NULL;
    lc_shipper *sh = calloc(1, sizeof *sh);
    if (!sh) {
        if (backend->vt && backend->vt->free)
            backend->vt->free((lc_remote *)backend);
        snprintf(err, errlen, "shipper: out of memory");
        return LC_ERR_NOMEM;
    }
    sh->be = *backend;
    sh->cancel = lc_cancel_new();
    if (!sh->cancel) {
        lc_shipper_free(sh);
        snprintf(err, errlen, "shipper: out of memory");
        return LC_ERR_NOMEM;
    }
    sh->be.cancel = sh->cancel;
    if (opt)
        sh->o = *opt;
    if (!sh->o.chunk && backend->vt)
        sh->o.chunk = backend->vt->chunk;
    if (!sh->o.chunk)
        sh->o.chunk = 1000;
    if (!sh->o.lease_ms)
        sh->o.lease_ms = sh_env_ms("LIGHTC_LEASE_MS", 60000);
    if (!sh->o.backoff_max_ms)
        sh->o.backoff_max_ms = 30000;
    if (!sh->o.linger_ms)
        sh->o.linger_ms = sh_env_ms("LIGHTC_SHIP_LINGER_MS", 1000);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh->cond, &ca);
    pthread_condattr_destroy(&ca);
    lc_status st = lc_outbox_open(root, &sh->ob, err, errlen);
    if (st != LC_OK) {
        lc_shipper_free(sh);
        return st;
    }
    *out = sh;
    return LC_OK;
}

const char *lc_shipper_name(const lc_shipper *sh)
{
    return sh && sh->be.vt && sh->be.vt->name ? sh->be.vt->name : "remote";
}

static void sh_run_free(lc_shipper *sh, sh_run *r)
{
    if (r->opened && sh->be.vt->close_run)
        sh->be.vt->close_run(&sh->be, &r->rr);
    if (r->have_lease && r->loaded)
        lc_outbox_release(sh->ob, r->info.row, lc_shipper_name(sh));
    lc_outbox_run_clear(&r->info);
    free(r->label);
    free(r);
}

void lc_shipper_free(lc_shipper *sh)
{
    if (!sh)
        return;
    while (sh->runs) {
        sh_run *r = sh->runs;
        sh->runs = r->next;
        sh_run_free(sh, r);
    }
    lc_outbox_close(sh->ob);
    if (sh->be.vt && sh->be.vt->free)
        sh->be.vt->free(&sh->be);
    lc_cancel_free(sh->cancel);
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->cond);
    free(sh);
}

/* ------------------------------------------------------------------------ */
/* One step                                                                  */

/* A backend status that makes the delivery 'failed' (a person must act). */
static int sh_is_permanent(lc_status st)
{
    return st != LC_OK && st != LC_ERR_IO && st != LC_ERR_BUSY && st != LC_ERR_TIMEOUT &&
           st != LC_ERR_NOMEM && st != LC_ERR_FULL;
}

static void sh_msg(const lc_shipper *sh, const char *fmt, const char *a, const char *b)
{
    if (!sh->o.quiet) {
        fprintf(stderr, "lightc: %s: ", lc_shipper_name(sh));
        fprintf(stderr, fmt, a, b);
        fputc('\n', stderr);
    }
}

static lc_status sh_load(lc_shipper *sh, sh_run *r, char *err, size_t errlen)
{
    lc_outbox_run_clear(&r->info);
    r->loaded = 0;
    lc_status st = lc_outbox_load(sh->ob, r->uuid, lc_shipper_name(sh), &r->info, err, errlen);
    if (st != LC_OK)
        return st;
    if (!r->info.has_delivery) {
        st = lc_outbox_ensure(sh->ob, r->info.row, lc_shipper_name(sh), err, errlen);
        if (st != LC_OK)
            return st;
        r->info.has_delivery = 1;
    }
    r->loaded = 1;
    return LC_OK;
}

static int sh_fail(lc_shipper *sh, sh_run *r, const char *why);
static int sh_retry(lc_shipper *sh, sh_run *r, const char *why);

/* After a backend call failed: a call that lc_shipper_stop cancelled is
   not a failure; it is news for the delivery only when it was retrying a
   failure (the HTTP layer's message then says what failed: a run that ends
   during an outage stays pending with that reason), else its state and last
   error stay as they were. A permanent status fails the delivery and a
   transient one backs off. */
static int sh_after_error(lc_shipper *sh, sh_run *r, lc_status st, const char *why)
{
    if (sh->cancel && lc_cancel_is_set(sh->cancel)) {
        char e2[SH_ERRLEN];
        if (r->loaded && r->have_lease && strstr(why, LC_HTTP_LAST_FAILURE))
            lc_outbox_set_state(sh->ob, r->info.row, lc_shipper_name(sh), "pending", why, NULL, 0,
                                e2, sizeof e2);
        return SH_RETRY;
    }
    return sh_is_permanent(st) ? sh_fail(sh, r, why) : sh_retry(sh, r, why);
}

/* A permanent failure: record it, give the lease back, close the run. */
static int sh_fail(lc_shipper *sh, sh_run *r, const char *why)
{
    char e2[SH_ERRLEN];
    if (r->loaded) {
        lc_outbox_set_state(sh->ob, r->info.row, lc_shipper_name(sh), "failed", why, NULL, 0, e2,
                            sizeof e2);
        lc_outbox_release(sh->ob, r->info.row, lc_shipper_name(sh));
    }
    r->have_lease = 0;
    if (r->opened && sh->be.vt->close_run)
        sh->be.vt->close_run(&sh->be, &r->rr);
    r->opened = 0;
    return SH_FAILED;
}

/* A transient failure: note it in the delivery, back off. */
static int sh_retry(lc_shipper *sh, sh_run *r, const char *why)
{
    char e2[SH_ERRLEN];
    if (r->loaded && r->have_lease)
        lc_outbox_set_state(sh->ob, r->info.row, lc_shipper_name(sh), "pending", why, NULL, 0, e2,
                            sizeof e2);
    r->backoff = r->backoff ? r->backoff * 2 : 200;
    if (r->backoff > sh->o.backoff_max_ms)
        r->backoff = sh->o.backoff_max_ms;
    r->next_try = lc_mono_ms() + r->backoff;
    return SH_RETRY;
}

static int sh_lease(lc_shipper *sh, sh_run *r, char *err, size_t errlen, lc_status *st)
{
    uint64_t now = lc_mono_ms();
    if (r->have_lease && now - r->lease_at < sh->o.lease_ms / 3)
        return SH_PROGRESS;
    int had = r->have_lease;
    *st = lc_outbox_lease(sh->ob, r->info.row, lc_shipper_name(sh), sh->o.lease_ms, err, errlen);
    if (*st == LC_ERR_BUSY) {
        r->have_lease = 0;
        if (r->opened && sh->be.vt->close_run)
            sh->be.vt->close_run(&sh->be, &r->rr);
        r->opened = 0;
        r->next_try = now + sh->o.lease_ms / 3;
        return SH_BUSY;
    }
    if (*st != LC_OK)
        return sh_retry(sh, r, err);
    r->have_lease = 1;
    r->lease_at = now;
    if (!had) {
        /* Someone else may have shipped meanwhile: take the cursor and
           the remote run from the index. */
        *st = sh_load(sh, r, err, errlen);
        if (*st != LC_OK)
            return sh_retry(sh, r, err);
    }
    return SH_PROGRESS;
}

/* One step on r. *st and err: the last status. *shipped: items delivered.
 * sync: the caller is `lightc sync` (a caught-up run is checked for its
 * end at once; the live thread does that once the hub ended it). */
static int sh_step(lc_shipper *sh, sh_run *r, int sync, lc_status *st, size_t *shipped, char *err,
                   size_t errlen)
{
    const char *bname = lc_shipper_name(sh);
    *shipped = 0;
    *st = LC_OK;
    err[0] = 0;
    if (!r->loaded) {
        *st = sh_load(sh, r, err, errlen);
        if (*st == LC_ERR_NOT_FOUND)
            return SH_FAILED; /* the run is not (or no longer) in the index */
        if (*st != LC_OK)
            return sh_retry(sh, r, err);
    }
    int l = sh_lease(sh, r, err, errlen, st);
    if (l != SH_PROGRESS)
        return l;

    if (!r->opened) {
        memset(&r->rr, 0, sizeof r->rr);
        r->rr.run_uuid = r->info.uuid;
        r->rr.experiment = r->info.experiment;
        r->rr.name = r->info.name;
        r->rr.start_time = r->info.start_time;
        r->rr.tags = (const char *const *)r->info.tags;
        r->rr.ended = &r->finished;
        snprintf(r->rr.remote_id, sizeof r->rr.remote_id, "%s", r->info.remote_id);
        snprintf(r->rr.remote_url, sizeof r->rr.remote_url, "%s", r->info.remote_url);
        snprintf(r->rr.remote_state, sizeof r->rr.remote_state, "%s", r->info.remote_state);
        lc_clear_error();
        *st = sh->be.vt->open_run(&sh->be, &r->rr);
        if (*st != LC_OK) {
            snprintf(err, errlen, "%s", lc_errmsg()[0] ? lc_errmsg() : lc_status_name(*st));
            return sh_after_error(sh, r, *st, err);
        }
        r->opened = 1;
        if (strcmp(r->rr.remote_id, r->info.remote_id) != 0 ||
            strcmp(r->rr.remote_url, r->info.remote_url) != 0 ||
            strcmp(r->rr.remote_state, r->info.remote_state) != 0) {
            *st = lc_outbox_set_remote(sh->ob, r->info.row, bname, r->rr.remote_id,
                                       r->rr.remote_url, r->rr.remote_state, err, errlen);
            if (*st != LC_OK)
                return sh_retry(sh, r, err);
            snprintf(r->info.remote_id, sizeof r->info.remote_id, "%s", r->rr.remote_id);
            snprintf(r->info.remote_url, sizeof r->info.remote_url, "%s", r->rr.remote_url);
            snprintf(r->info.remote_state, sizeof r->info.remote_state, "%s", r->rr.remote_state);
        }
    }

    const lc_outbox_item *items;
    size_t n;
    *st = lc_outbox_read(sh->ob, r->info.row, r->info.cursor, sh->o.chunk, &items, &n, err, errlen);
    if (*st != LC_OK)
        return sh_retry(sh, r, err);
    if (n == 0) {
        if (!sync && !atomic_load(&r->finished))
            return SH_IDLE;
        char state[16];
        *st = lc_outbox_set_state(sh->ob, r->info.row, bname, "delivered", NULL, state,
                                  sizeof state, err, errlen);
        if (*st != LC_OK)
            return sh_retry(sh, r, err);
        if (strcmp(state, "delivered") != 0)
            return SH_IDLE; /* not ended yet */
        lc_outbox_release(sh->ob, r->info.row, bname);
        r->have_lease = 0;
        return SH_DONE;
    }

    size_t done = 0;
    lc_clear_error();
    *st = sh->be.vt->ship(&sh->be, &r->rr, items, n, &done);
    char shiperr[SH_ERRLEN] = "";
    if (*st != LC_OK)
        snprintf(shiperr, sizeof shiperr, "%s", lc_errmsg()[0] ? lc_errmsg() : lc_status_name(*st));
    if (done > n)
        done = n;
    if (done > 0) {
        lc_status as = lc_outbox_advance(sh->ob, r->info.row, bname, items[done - 1].seq, done,
                                         r->rr.remote_state, err, errlen);
        if (as == LC_ERR_STATE) {
            r->have_lease = 0;
            *st = as;
            return SH_BUSY;
        }
        if (as != LC_OK) {
            *st = as;
            return sh_retry(sh, r, err);
        }
        r->info.cursor = items[done - 1].seq;
        snprintf(r->info.remote_state, sizeof r->info.remote_state, "%s", r->rr.remote_state);
        *shipped = done;
    }
    if (*st != LC_OK) {
        snprintf(err, errlen, "%s", shiperr);
        if (done > 0)
            r->backoff = 0; /* it moved: retry soon, not after a long wait */
        return sh_after_error(sh, r, *st, err);
    }
    if (done == 0) {
        snprintf(err, errlen, "%s: the backend delivered none of %zu items", bname, n);
        *st = LC_ERR_IO;
        return sh_retry(sh, r, err);
    }
    r->backoff = 0;
    return SH_PROGRESS;
}

/* ------------------------------------------------------------------------ */
/* The live thread                                                           */

static void sh_mark_done(lc_shipper *sh, sh_run *r)
{
    pthread_mutex_lock(&sh->mu);
    r->done = 1;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->mu);
}

/* Under mu: has the hub ended a run not yet delivered (a drain waits)? */
static int sh_any_finished(const lc_shipper *sh)
{
    for (const sh_run *r = sh->runs; r; r = r->next)
        if (!r->done && atomic_load(&r->finished))
            return 1;
    return 0;
}

static void *sh_main(void *arg)
{
    lc_shipper *sh = arg;
    char err[SH_ERRLEN];
    pthread_mutex_lock(&sh->mu);
    while (!sh->stop) {
        /* Coalesce: work that arrives right after a shipment waits out the
           linger, so a run that commits every few milliseconds goes out as
           a few large requests a second instead of one small request per
           index commit (each costs the server far more than its points).
           A finished run (a drain waits on it) goes at once. */
        uint64_t t = lc_mono_ms();
        if (sh->wake && t < sh->last_ship + sh->o.linger_ms && !sh_any_finished(sh)) {
            struct timespec ts = lc_mono_deadline((uint32_t)(sh->last_ship + sh->o.linger_ms - t));
            pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
            continue;
        }
        sh->wake = 0;
        uint64_t now = lc_mono_ms(), next = now + sh->o.lease_ms / 3;
        /* Walk the runs; new ones are pushed at the head, so the list
           from here on is stable while the lock is dropped. Done runs are
           unlinked only here. */
        for (sh_run **pp = &sh->runs; *pp && !sh->stop;) {
            sh_run *r = *pp;
            if (r->done) {
                *pp = r->next;
                pthread_mutex_unlock(&sh->mu);
                sh_run_free(sh, r);
                pthread_mutex_lock(&sh->mu);
                continue;
            }
            if (r->next_try > now) {
                if (r->next_try < next)
                    next = r->next_try;
                pp = &r->next;
                continue;
            }
            pthread_mutex_unlock(&sh->mu);
            int res;
            lc_status st;
            size_t shipped, sent = 0;
            /* Go on after progress that shipped nothing (the run was opened,
               the lease taken), while there is a backlog (a full chunk
               went) or once the run has ended (a drain waits). A partial
               chunk means it caught up: what the run logs meanwhile waits
               out the linger, instead of going as one small request per
               round trip (each costs the training process's CPU and the
               server far more than its points). */
            do {
                res = sh_step(sh, r, 0, &st, &shipped, err, sizeof err);
                sent += shipped;
            } while (res == SH_PROGRESS && !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) &&
                     (shipped == 0 || shipped >= sh->o.chunk || atomic_load(&r->finished)));
            if (res == SH_IDLE && r->opened && sh->be.vt->heartbeat &&
                lc_mono_ms() - r->last_hb >= 10000) {
                sh->be.vt->heartbeat(&sh->be, &r->rr);
                r->last_hb = lc_mono_ms();
            }
            if (res == SH_FAILED && st != LC_ERR_NOT_FOUND)
                sh_msg(sh, "run %s: delivery failed: %s; nothing is lost: fix it, then run `lightc sync`",
                       r->label ? r->label : r->uuid, err);
            if (res == SH_DONE || res == SH_FAILED)
                sh_mark_done(sh, r);
            pthread_mutex_lock(&sh->mu);
            if (sent)
                sh->last_ship = lc_mono_ms();
            if ((res == SH_RETRY || res == SH_BUSY) && r->next_try < next)
                next = r->next_try;
            pp = &r->next;
        }
        if (sh->stop)
            break;
        if (sh->wake)
            continue;
        now = lc_mono_ms();
        if (next > now) {
            struct timespec ts = lc_mono_deadline((uint32_t)(next - now));
            pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
        }
    }
    int orphaned = sh->orphaned;
    sh->exited = 1;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->mu);
    if (orphaned)
        lc_shipper_free(sh); /* lc_shipper_stop gave up waiting: ours to free */
    return NULL;
}

lc_status lc_shipper_start(lc_shipper *sh, char *err, size_t errlen)
{
    if (pthread_create(&sh->th, NULL, sh_main, sh) != 0) {
        snprintf(err, errlen, "%s: cannot start the shipper thread", lc_shipper_name(sh));
        return LC_ERR_NOMEM;
    }
    sh->started = 1;
    return LC_OK;
}

static sh_run *sh_find(lc_shipper *sh, const char *uuid)
{
    for (sh_run *r = sh->runs; r; r = r->next)
        if (strcmp(r->uuid, uuid) == 0)
            return r;
    return NULL;
}

void lc_shipper_run_opened(lc_shipper *sh, const char *run_uuid, const char *label)
{
    if (!sh || !run_uuid)
        return;
    pthread_mutex_lock(&sh->mu);
    sh_run *r = sh_find(sh, run_uuid);
    if (r && r->done)
        r = NULL; /* a resumed run: a fresh entry */
    if (!r && (r = calloc(1, sizeof *r))) {
        snprintf(r->uuid, sizeof r->uuid, "%s", run_uuid);
        r->label = strdup(label ? label : "");
        r->next = sh->runs;
        sh->runs = r;
    }
    sh->wake = 1;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->mu);
}

void lc_shipper_run_finished(lc_shipper *sh, const char *run_uuid)
{
    if (!sh || !run_uuid)
        return;
    pthread_mutex_lock(&sh->mu);
    for (sh_run *r = sh->runs; r; r = r->next)
        if (strcmp(r->uuid, run_uuid) == 0)
            atomic_store(&r->finished, 1);
    sh->wake = 1;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->mu);
}

void lc_shipper_wake(lc_shipper *sh)
{
    if (!sh)
        return;
    pthread_mutex_lock(&sh->mu);
    /* Only the first wake since the shipper last looked needs a signal:
       it re-checks the flag before sleeping, and the dispatcher calls this
       after every batch (a signal each time would switch threads on the
       training core at the batch rate). Broadcast: drains wait on the same
       condition variable. */
    if (!sh->wake) {
        sh->wake = 1;
        pthread_cond_broadcast(&sh->cond);
    }
    pthread_mutex_unlock(&sh->mu);
}

/* Under mu: is r one a drain for uuid waits on? */
static int sh_waits_on(const sh_run *r, const char *uuid)
{
    return !r->done && !r->drained_out && (!uuid || strcmp(r->uuid, uuid) == 0);
}

lc_status lc_shipper_drain(lc_shipper *sh, const char *run_uuid, uint32_t timeout_ms, int report)
{
    if (!sh || !sh->started)
        return LC_OK;
    uint64_t deadline = lc_mono_ms() + timeout_ms;
    pthread_mutex_lock(&sh->mu);
    sh->wake = 1;
    pthread_cond_broadcast(&sh->cond);
    for (;;) {
        int left = 0;
        for (sh_run *r = sh->runs; r; r = r->next)
            left |= sh_waits_on(r, run_uuid);
        if (!left || sh->exited) {
            pthread_mutex_unlock(&sh->mu);
            return LC_OK;
        }
        uint64_t now = lc_mono_ms();
        if (now >= deadline)
            break;
        struct timespec ts = lc_mono_deadline((uint32_t)(deadline - now));
        pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
    }
    for (sh_run *r = sh->runs; r; r = r->next) {
        if (!sh_waits_on(r, run_uuid))
            continue;
        r->drained_out = 1;
        if (report && !sh->o.quiet)
            fprintf(stderr, "lightc: %s: run %s (%.8s) is not fully delivered after %.1f s; it "
                            "stays pending: `lightc sync` will finish it\n",
                    lc_shipper_name(sh), r->label ? r->label : "", r->uuid, timeout_ms / 1000.0);
    }
    pthread_mutex_unlock(&sh->mu);
    return LC_ERR_TIMEOUT;
}

lc_status lc_shipper_stop(lc_shipper *sh, uint32_t timeout_ms)
{
    if (!sh)
        return LC_OK;
    if (!sh->started) {
        lc_shipper_free(sh);
        return LC_OK;
    }
    uint64_t deadline = timeout_ms ? lc_mono_ms() + timeout_ms : 0;
    pthread_mutex_lock(&sh->mu);
    __atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
    lc_cancel_set(sh->cancel); /* a backend call waiting out retries stops now */
    pthread_cond_broadcast(&sh->cond);
    while (!sh->exited) {
        if (!deadline) {
            pthread_cond_wait(&sh->cond, &sh->mu);
            continue;
        }
        uint64_t now = lc_mono_ms();
        if (now >= deadline)
            break;
        struct timespec ts = lc_mono_deadline((uint32_t)(deadline - now));
        pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
    }
    if (!sh->exited) {
        sh->orphaned = 1;
        pthread_mutex_unlock(&sh->mu);
        pthread_detach(sh->th);
        return LC_ERR_TIMEOUT;
    }
    pthread_mutex_unlock(&sh->mu);
    pthread_join(sh->th, NULL);
    lc_shipper_free(sh);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Sync                                                                      */

lc_status lc_shipper_sync_run(lc_shipper *sh, const char *run_uuid, uint32_t retry_ms,
                              void (*progress)(void *ctx, const lc_ship_progress *p), void *ctx,
                              int *still_running, char *err, size_t errlen)
{
    if (still_running)
        *still_running = 0;
    sh_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "shipper: out of memory");
        return LC_ERR_NOMEM;
    }
    snprintf(r->uuid, sizeof r->uuid, "%s", run_uuid);
    uint64_t start = lc_mono_ms();
    lc_status st = sh_load(sh, r, err, errlen);
    if (st != LC_OK) {
        sh_run_free(sh, r);
        return st;
    }
    lc_ship_progress p = {r->uuid, r->info.experiment, r->info.name, lc_shipper_name(sh), 0, 0};
    lc_outbox_count(sh->ob, r->info.row, r->info.cursor, &p.total, err, errlen);
    if (progress)
        progress(ctx, &p);
    for (;;) {
        size_t shipped;
        int res = sh_step(sh, r, 1, &st, &shipped, err, errlen);
        if (shipped) {
            p.done += shipped;
            if (p.done > p.total)
                p.total = p.done;
            if (progress)
                progress(ctx, &p);
        }
        if (res == SH_PROGRESS)
            continue;
        if (res == SH_DONE) {
            st = LC_OK;
            break;
        }
        if (res == SH_IDLE) {
            if (still_running)
                *still_running = 1;
            st = LC_OK;
            break;
        }
        if (res == SH_BUSY) {
            if (st == LC_OK || st == LC_ERR_STATE)
                snprintf(err, errlen, "another process took the lease");
            st = LC_ERR_BUSY;
            break;
        }
        if (res == SH_FAILED)
            break;
        /* SH_RETRY */
        uint64_t now = lc_mono_ms();
        if (now - start >= retry_ms || r->next_try - start > retry_ms) {
            if (st == LC_OK)
                st = LC_ERR_IO;
            break;
        }
        struct timespec ts = {(time_t)(r->backoff / 1000), (long)(r->backoff % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    sh_run_free(sh, r); /* closes the remote run, releases the lease */
    return st;
}
