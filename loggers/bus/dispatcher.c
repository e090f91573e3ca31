/*
 * loggers/dispatcher.c — the one thread that drains the queue and hands
 * batches to the sinks.
 *
 * Loop: copy up to LC_BATCH_MAX published events out of the queue (always
 * ending on a record boundary), release their slots at once so producers
 * never wait on sink I/O, then walk the copy: plain events accumulate into
 * a batch; a control event first flushes the batch to the sinks, then is
 * handled (run open/finish, flush, stop). Sinks are flushed every
 * flush_interval_ms.
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
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "common/status.h"
#include "csv/hparams_yaml.h"
#include "hub_internal.h"

void lc_event_free_payload(lc_hub *hub, lc_event *ev)
{
    if (!ev->payload)
        return;
    switch (ev->kind) {
    case LC_EV_IMAGE: {
        lc_image_payload *im = ev->payload;
        atomic_fetch_sub(&hub->image_arena_used, im->arena_bytes);
        break;
    }
    case LC_EV_PARAM:
        return; /* owned by the run's param list (hparams.yaml) */
    default:
        break;
    }
    free(ev->payload);
    ev->payload = NULL;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Count a lost batch against every run in it. */
static void charge_loss(const lc_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        lc_run_info *r = b->events[i].run;
        if (r) {
            atomic_fetch_add(&r->sink_errors, 1);
            atomic_store(&r->degraded, 1);
        }
    }
}

static void deliver(lc_hub *hub, const lc_batch *b)
{
    if (b->count == 0)
        return;
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        char err[LC_ERRLEN] = "";
        if (s->vt->write_batch(s, b, err, sizeof err) == 0) {
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
                if (s->vt->write_batch(s, b, err, sizeof err) == 0) {
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

/* ---- params -> hparams.yaml --------------------------------------------- */

static void params_add(lc_run *run, lc_param_payload *p)
{
    lc_param_list *l = &run->params;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i]->key, p->key) == 0) {
            free(l->items[i]);
            l->items[i] = p;
            l->dirty = 1;
            return;
        }
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        lc_param_payload **n = realloc(l->items, cap * sizeof *n);
        if (!n) {
            free(p);
            return;
        }
        l->items = n;
        l->cap = cap;
    }
    l->items[l->n++] = p;
    l->dirty = 1;
}

static void params_write(lc_hub *hub, lc_run *run)
{
    (void)hub;
    if (!run->params.dirty)
        return;
    char err[LC_ERRLEN];
    if (lc_hparams_yaml_write(run->info.dir, (const lc_param_payload *const *)run->params.items,
                              run->params.n, err, sizeof err) != 0) {
        fprintf(stderr, "lightc: %s\n", err);
        atomic_store(&run->info.degraded, 1);
    }
    run->params.dirty = 0;
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
    if (src->vt->read_points(src, run, upto, &pts, &n, err, sizeof err) != 0) {
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
        int rc = s->vt->repair(s, run, pts, n, &added, err, sizeof err);
        if (added) {
            atomic_fetch_add(&run->repaired, added);
            char upto_s[48] = "";
            if (upto != INT64_MAX)
                snprintf(upto_s, sizeof upto_s, " up to step %lld", (long long)upto);
            fprintf(stderr, "lightc: run %s/%s resumed: %s lacked %llu points the index holds%s; "
                            "replayed them from the index\n",
                    run->experiment, run->name, s->vt->name, (unsigned long long)added, upto_s);
        }
        if (rc != 0) {
            fprintf(stderr, "lightc: run %s/%s: %s could not be repaired from the index: %s\n",
                    run->experiment, run->name, s->vt->name, err);
            atomic_store(&run->degraded, 1);
        }
    }
    free(pts);
}

static void handle_open(lc_hub *hub, lc_event *ev)
{
    lc_request *req = ev->payload;
    char err[LC_ERRLEN] = "";
    int i, rc = 0;
    for (i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        if (s->vt->open_run(s, ev->run, err, sizeof err) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc != 0) {
        /* close the run in the sinks that opened it, as failed */
        ev->run->status = LC_RUN_FAILED;
        ev->run->end_time = lc_wall_now();
        char e2[LC_ERRLEN];
        for (int j = 0; j < i; j++)
            hub->sinks[j].vt->finish_run(&hub->sinks[j], ev->run, e2, sizeof e2);
    } else if (ev->run->resume && !ev->run->restart) {
        repair_run(hub, ev->run);
    }
    lc_request_complete(hub, req, rc, err);
}

static void handle_finish(lc_hub *hub, lc_event *ev)
{
    lc_request *req = ev->payload;
    lc_run_info *ri = ev->run;
    lc_run *run = ri->owner;
    params_write(hub, run);
    ri->nsinks = hub->nsinks;
    for (int i = 0; i < hub->nsinks; i++) {
        ri->sinks[i].name = hub->sinks[i].vt->name;
        ri->sinks[i].errors = hub->sinks[i].errors;
        ri->sinks[i].last_error = hub->sinks[i].last_error;
    }
    char err[LC_ERRLEN] = "";
    int rc = 0;
    atomic_store(&ri->closed, 1);
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        char e[LC_ERRLEN] = "";
        if (s->vt->finish_run(s, ri, e, sizeof e) != 0) {
            rc = -1;
            if (snprintf(err, sizeof err, "%s: %s", s->vt->name, e) >= (int)sizeof err)
                err[sizeof err - 2] = '~'; /* mark the cut */
        }
    }
    lc_request_complete(hub, req, rc, err);
}

static int flush_sinks(lc_hub *hub, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; i < hub->nsinks; i++) {
        lc_sink *s = &hub->sinks[i];
        char e[LC_ERRLEN] = "";
        if (s->vt->flush && s->vt->flush(s, e, sizeof e) != 0) {
            rc = -1;
            if (snprintf(err, errlen, "%s: %s", s->vt->name, e) >= (int)errlen && errlen > 1)
                err[errlen - 2] = '~'; /* mark the cut */
        }
    }
    return rc;
}

/* Deliver a segment of plain events, then keep its params (hparams.yaml)
 * and free its payloads. Runs stay alive until their finish request, which
 * comes after every one of their events, so this is done before it. */
static void segment_done(lc_hub *hub, lc_event *ev, size_t n)
{
    /* Events of a run that has already been finished (a signal ended it
       while another thread was still logging) are dropped and counted. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].run && atomic_load_explicit(&ev[i].run->closed, memory_order_relaxed)) {
            if (ev[i].kind == LC_EV_SCALAR)
                atomic_fetch_add(&ev[i].run->dropped, 1);
            if (ev[i].kind == LC_EV_PARAM)
                free(ev[i].payload); /* never reaches the run's param list */
            else
                lc_event_free_payload(hub, &ev[i]);
            continue;
        }
        ev[k++] = ev[i];
    }
    n = k;
    lc_batch b = {ev, n};
    deliver(hub, &b);
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == LC_EV_PARAM)
            params_add(ev[i].run->owner, ev[i].payload);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind == LC_EV_PARAM)
            params_write(hub, ev[i].run->owner);
        lc_event_free_payload(hub, &ev[i]);
    }
}

/* ---- main loop ----------------------------------------------------------- */

void *lc_dispatcher_main(void *arg)
{
    lc_hub *hub = arg;
    lc_queue *q = &hub->queue;
    size_t cap = LC_BATCH_MAX + q->capacity / 4 + 1;
    lc_event *buf = malloc(cap * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "lightc: dispatcher out of memory\n");
        return NULL;
    }
    uint64_t last_flush = lc_mono_ms();
    uint32_t idle_ms = 1;
    int stop = 0;
    while (!stop) {
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
                handle_finish(hub, ev);
                break;
            case LC_EV_FLUSH: {
                int rc = flush_sinks(hub, err, sizeof err);
                last_flush = lc_mono_ms();
                lc_request_complete(hub, ev->payload, rc, err);
                break;
            }
            case LC_EV_STOP:
                stop = 1;
                break;
            }
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
    return NULL;
}
