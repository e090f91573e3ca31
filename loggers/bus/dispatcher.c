/*
 * loggers/bus/dispatcher.c — the one thread that drains the queue and hands
 * batches to the sinks.
 *
 * Loop: copy up to LC_BATCH_MAX published events out of the queue (always
 * ending on a record boundary), release their slots at once so producers
 * never wait on sink I/O, then walk the copy: plain events accumulate into
 * a batch; a control event first flushes the batch to the sinks, then is
 * handled (run open/finish, flush). Sinks are flushed every
 * flush_interval_ms. Every payload is freed after the batch: a sink that
 * keeps something (the csv sink's params for hparams.yaml) copies it.
 *
 * A sink that fails a batch is retried with backoff for at most
 * sink_retry_ms; then the batch is given up for that sink, the runs in it
 * are marked degraded and their events counted in sink_errors, and the sink
 * is 'failing': later batches get one try each (no waiting) until one
 * succeeds. So a broken sink never stalls the producers for longer than one
 * retry window.
 *
 * Resume repair: once a resumed run is open in every sink, and before any
 * of its new events, the points the index holds up to the resume step are
 * handed to the sinks that can repair themselves (sink.h), so a sink that
 * lost points to a crash (unflushed buffers) gets them back.
 *
 * Stop (lc_hub_close sets hub->stop): once the queue is empty, the runs
 * whose finish never got into the queue are finished here, the sinks are
 * flushed, and the loop ends. If lc_hub_close gave up waiting (the hub is
 * 'orphaned'), this thread frees the hub.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "common/status.h"
#include "hub_internal.h"
#include "prof_hook.h"

/* Set by a running profiler (prof_hook.h); NULL: one branch per sink call. */
_Atomic(lc_bus_prof_fn) lc_bus_prof_hook = NULL;

void lc_event_free_payload(lc_hub *hub, lc_event *ev)
{
    if (!ev->payload)
        return;
    if (ev->kind == LC_EV_IMAGE) {
        lc_image_payload *im = ev->payload;
        atomic_fetch_sub(&hub->image_arena_used, im->arena_bytes);
    }
    free(ev->payload);
    ev->payload = NULL;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Note which sink entry the dispatcher is in (lc_hub_close reports it). */
static inline void sink_enter(lc_hub *hub, int i, lc_sink_entry entry)
{
    atomic_store_explicit(&hub->busy_entry, (int)entry, memory_order_relaxed);
    atomic_store_explicit(&hub->busy_sink, i + 1, memory_order_release);
}

static inline void sink_leave(lc_hub *hub)
{
    atomic_store_explicit(&hub->busy_sink, 0, memory_order_release);
}

/* Count a lost batch against every run in it. */
static void charge_loss(const lc_event_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        lc_run_info *r = b->events[i].run;
        if (r) {
            atomic_fetch_add(&r->sink_errors, 1);
            atomic_store(&r->degraded, 1);
        }
    }
}

static lc_status write_batch(lc_hub *hub, int i, const lc_event_batch *b, char *err, size_t errlen)
{
    lc_sink *s = &hub->sinks[i];
    lc_bus_prof_fn prof = lc_bus_prof_get();
    if (prof)
        prof(1, s->vt->name, "write_batch");
    sink_enter(hub, i, LC_SINK_WRITE_BATCH);
    lc_status st = s->vt->write_batch(s, b, err, errlen);
    sink_leave(hub);
    if (prof)
        prof(0, s->vt->name, "write_batch");
    return st;
}

static void deliver(lc_hub *hub, const lc_event_batch *b)
{
    if (b->count == 0)
        return;
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        char err[LC_ERRLEN] = "";
        if (write_batch(hub, i, b, err, sizeof err) == LC_OK) {
            s->failing = 0;
            continue;
        }
        if (!s->failing) {
            uint64_t start = lc_mono_ms();
            uint32_t backoff = 5;
            int ok = 0;
            while (lc_mono_ms() - start < hub->sink_retry_ms) {
                sleep_ms(backoff);
                backoff = backoff < 200 ? backoff * 2 : 200;
                if (write_batch(hub, i, b, err, sizeof err) == LC_OK) {
                    ok = 1;
                    break;
                }
            }
            if (ok)
                continue;
            fprintf(stderr, "lightc: %s sink failing, data for this batch lost: %s\n", s->vt->name, err);
        }
        s->failing = 1;
        s->errors++;
        snprintf(s->last_error, sizeof s->last_error, "%s", err);
        charge_loss(b);
    }
}

/* ---- control events ------------------------------------------------------ */

/* A resumed run is open in every sink: replay from the index what the
 * others lack. Failures are reported, never fatal to the run. */
static void repair_run(lc_hub *hub, lc_run_info *run)
{
    lc_sink *src = NULL;
    int repairers = 0;
    for (int i = 0; i < hub->nsinks; i++) {
        if (hub->sinks[i].vt->read_points && !src)
            src = &hub->sinks[i];
        else if (hub->sinks[i].vt->repair)
            repairers++;
    }
    if (!src || !repairers)
        return;
    int64_t upto = run->resume_step >= 0 ? run->resume_step : INT64_MAX;
    lc_point *pts = NULL;
    size_t n = 0;
    char err[LC_ERRLEN] = "";
    sink_enter(hub, (int)(src - hub->sinks), LC_SINK_REPAIR);
    lc_status st = src->vt->read_points(src, run, upto, &pts, &n, err, sizeof err);
    sink_leave(hub);
    if (st != LC_OK) {
        fprintf(stderr, "lightc: run %s/%s: cannot read its points to repair the other loggers: %s\n",
                run->experiment, run->name, err);
        return;
    }
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        if (s == src || !s->vt->repair)
            continue;
        uint64_t added = 0;
        err[0] = 0;
        sink_enter(hub, i, LC_SINK_REPAIR);
        lc_status rs = s->vt->repair(s, run, pts, n, &added, err, sizeof err);
        sink_leave(hub);
        if (added) {
            atomic_fetch_add(&run->repaired, added);
            char upto_s[48] = "";
            if (upto != INT64_MAX)
                snprintf(upto_s, sizeof upto_s, " up to step %lld", (long long)upto);
            fprintf(stderr, "lightc: run %s/%s resumed: %s lacked %llu points the index holds%s; "
                            "replayed them from the index\n",
                    run->experiment, run->name, s->vt->name, (unsigned long long)added, upto_s);
        }
        if (rs != LC_OK) {
            fprintf(stderr, "lightc: run %s/%s: %s could not be repaired from the index: %s\n",
                    run->experiment, run->name, s->vt->name, err);
            atomic_store(&run->degraded, 1);
        }
    }
    free(pts);
}

static void handle_open(lc_hub *hub, lc_event *ev)
{
    char err[LC_ERRLEN] = "";
    lc_status st = LC_OK;
    int i;
    for (i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        sink_enter(hub, i, LC_SINK_OPEN_RUN);
        st = s->vt->open_run(s, ev->run, err, sizeof err);
        sink_leave(hub);
        if (st != LC_OK)
            break;
    }
    if (st != LC_OK) {
        /* close the run in the sinks that opened it, as failed */
        ev->run->status = LC_RUN_FAILED;
        ev->run->end_time = lc_wall_now();
        char e2[LC_ERRLEN];
        for (int j = 0; j < i; j++) {
            sink_enter(hub, j, LC_SINK_FINISH_RUN);
            hub->sinks[j].vt->finish_run(&hub->sinks[j], ev->run, e2, sizeof e2);
            sink_leave(hub);
        }
    } else if (ev->run->resume && !ev->run->restart) {
        repair_run(hub, ev->run);
    }
    if (st == LC_OK && hub->nshippers) {
        char label[512];
        snprintf(label, sizeof label, "%s/%s", ev->run->experiment, ev->run->name);
        for (int k = 0; k < hub->nshippers; k++)
            lc_shipper_run_opened(hub->shippers[k], ev->run->id, label);
    }
    lc_request_complete(hub, ev->payload, st, err);
}

/* Finish a run in every sink; req may be NULL (a run finished at stop). */
static void handle_finish(lc_hub *hub, lc_run_info *ri, lc_request *req)
{
    ri->nsinks = hub->nsinks;
    for (int i = 0; i < hub->nsinks; i++) {
        ri->sinks[i].name = hub->sinks[i].vt->name;
        ri->sinks[i].errors = hub->sinks[i].errors;
        ri->sinks[i].last_error = hub->sinks[i].last_error;
    }
    char err[LC_ERRLEN] = "";
    lc_status st = LC_OK;
    atomic_store(&ri->closed, 1);
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        char e[LC_ERRLEN] = "";
        sink_enter(hub, i, LC_SINK_FINISH_RUN);
        lc_status rs = s->vt->finish_run(s, ri, e, sizeof e);
        sink_leave(hub);
        if (rs != LC_OK && st == LC_OK) {
            st = rs;
            if (snprintf(err, sizeof err, "%s: %s", s->vt->name, e) >= (int)sizeof err)
                err[sizeof err - 2] = '~'; /* mark the cut */
        }
    }
    atomic_store(&lc_run_of(ri)->finished, 1);
    for (int k = 0; k < hub->nshippers; k++)
        lc_shipper_run_finished(hub->shippers[k], ri->id);
    lc_request_complete(hub, req, st, err);
}

static lc_status flush_sinks(lc_hub *hub, char *err, size_t errlen)
{
    lc_status st = LC_OK;
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        char e[LC_ERRLEN] = "";
        if (!s->vt->flush)
            continue;
        lc_bus_prof_fn prof = lc_bus_prof_get();
        if (prof)
            prof(1, s->vt->name, "flush");
        sink_enter(hub, i, LC_SINK_FLUSH);
        lc_status rs = s->vt->flush(s, e, sizeof e);
        sink_leave(hub);
        if (prof)
            prof(0, s->vt->name, "flush");
        if (rs != LC_OK && st == LC_OK) {
            st = rs;
            if (snprintf(err, errlen, "%s: %s", s->vt->name, e) >= (int)errlen && errlen > 1)
                err[errlen - 2] = '~'; /* mark the cut */
        }
    }
    return st;
}

/* At stop: finish the ended runs whose finish request never got into the
 * queue (lc_hub_close timed out on a full queue). */
static void finish_leftovers(lc_hub *hub)
{
    for (;;) {
        lc_run *todo = NULL;
        pthread_mutex_lock(&hub->runs_mu);
        for (lc_run *r = hub->ended; r && !todo; r = r->next)
            if (!atomic_load(&r->info.closed))
                todo = r;
        pthread_mutex_unlock(&hub->runs_mu);
        if (!todo)
            return;
        handle_finish(hub, &todo->info, NULL);
    }
}

/* Deliver a segment of plain events, then free its payloads. Runs stay
 * alive until their finish request, which comes after every one of their
 * events, so this is done before it. */
static void segment_done(lc_hub *hub, lc_event *ev, size_t n)
{
    /* Events of a run that has already been finished (a signal ended it
       while another thread was still logging) are dropped and counted. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].run && atomic_load_explicit(&ev[i].run->closed, memory_order_relaxed)) {
            if (ev[i].kind != LC_EV_KEY)
                atomic_fetch_add(&ev[i].run->dropped, 1);
            lc_event_free_payload(hub, &ev[i]);
            continue;
        }
        ev[k++] = ev[i];
    }
    n = k;
    lc_event_batch b = {ev, n};
    deliver(hub, &b);
    /* The index has committed the batch: the shippers have new work. A
       wake is a flag and a signal, never a wait. */
    for (int i = 0; n && i < hub->nshippers; i++)
        lc_shipper_wake(hub->shippers[i]);
    for (size_t i = 0; i < n; i++)
        lc_event_free_payload(hub, &ev[i]);
}

/* ---- main loop ----------------------------------------------------------- */

void *lc_dispatcher_main(void *arg)
{
    lc_hub *hub = arg;
    lc_queue *q = &hub->queue;
    size_t cap = LC_BATCH_MAX + q->capacity / 4 + 1;
    lc_event *buf = malloc(cap * sizeof *buf);
    if (!buf)
        fprintf(stderr, "lightc: dispatcher out of memory; nothing will be logged\n");
    uint64_t last_flush = lc_mono_ms();
    uint32_t idle_ms = 1;
    while (buf) {
        /* seen before the copy-out: a stop seen with an empty copy means
           every event queued before the stop has been handled */
        int stopping = atomic_load(&hub->stop);
        /* copy out; never stop inside a record (its slots are being published) */
        uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
        size_t n = 0;
        while (n < cap) {
            lc_event *e = lc_queue_peek(q, pos);
            if (!e) {
                if (n > 0 && buf[n - 1].kind == LC_EV_SCALAR && !(buf[n - 1].flags & LC_EV_RECORD_END)) {
                    sched_yield();
                    continue;
                }
                break;
            }
            buf[n++] = *e;
            pos++;
            if (n >= LC_BATCH_MAX && (buf[n - 1].kind != LC_EV_SCALAR || (buf[n - 1].flags & LC_EV_RECORD_END)))
                break;
        }
        if (n)
            lc_queue_release(q, pos);

        /* walk: plain events form segments, control events split them */
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i < n && buf[i].kind < LC_EV_RUN_OPEN)
                continue;
            segment_done(hub, buf + start, i - start);
            start = i + 1;
            if (i == n)
                break;
            lc_event *ev = &buf[i];
            char err[LC_ERRLEN] = "";
            switch (ev->kind) {
            case LC_EV_RUN_OPEN:
                handle_open(hub, ev);
                break;
            case LC_EV_RUN_FINISH:
                handle_finish(hub, ev->run, ev->payload);
                break;
            case LC_EV_FLUSH: {
                lc_status st = flush_sinks(hub, err, sizeof err);
                last_flush = lc_mono_ms();
                lc_request_complete(hub, ev->payload, st, err);
                break;
            }
            }
        }

        if (n == 0 && stopping) {
            char err[LC_ERRLEN];
            finish_leftovers(hub);
            flush_sinks(hub, err, sizeof err);
            break;
        }
        uint64_t now = lc_mono_ms();
        if (now - last_flush >= hub->flush_interval_ms) {
            char err[LC_ERRLEN];
            flush_sinks(hub, err, sizeof err);
            last_flush = now;
        }
        if (n == 0) {
            lc_queue_sleep(q, pos, idle_ms);
            /* back off to 32 ms when idle: producers kick the dispatcher
               when the queue fills, and flush/finish requests kick it too */
            idle_ms = idle_ms < 32 ? idle_ms * 2 : 32;
        } else {
            idle_ms = 1;
        }
    }
    free(buf);
    pthread_mutex_lock(&hub->ctl_mu);
    hub->dispatcher_done = 1;
    int orphaned = hub->orphaned;
    pthread_cond_broadcast(&hub->ctl_cond);
    pthread_mutex_unlock(&hub->ctl_mu);
    if (orphaned)
        lc_hub_free(hub); /* lc_hub_close gave up waiting: the hub is ours */
    return NULL;
}
