/*
 * loggers/bus/hub_internal.h — the hub's and the run's private state, and
 * the one function that puts events into the queue. Shared by the files of
 * the bus:
 *
 *   hub.c         open/close, synchronous requests (run open/finish, flush)
 *   run.c         a run's life: start, key interning, finish
 *   log_calls.c   the lc_run_log_* calls: caller data -> events
 *   dispatcher.c  the thread that hands batches to the sinks
 *   sinks.c       the logger spec -> the sinks, in order
 *   signals.c     opt-in SIGINT/SIGTERM handling
 *   provenance.c  host, pid, argv, git state of a run
 *   keys.c        key normalisation, name validation, the key table
 *   queue.c       the bounded MPSC queue (fast paths inline in queue.h)
 *   names.c       version and run status names
 *
 * Sinks never include this; they see sink.h and event.h.
 */
#ifndef LC_HUB_INTERNAL_H
#define LC_HUB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/clock.h"
#include "event.h"
#include "lightc/hub.h"
#include "queue.h"
#include "remote/shipper.h"
#include "sink.h"

/* The most remote backends (shippers) one hub runs. */
#define LC_MAX_REMOTES 4

#define LC_BATCH_MAX 4096

/* ---- intern map: key as given or normalised -> tag (under intern_mu) ---- */

typedef struct lc_intern_entry {
    char *str;   /* original or normalised key (owned) */
    uint32_t tag;
} lc_intern_entry;

/* A synchronous request from a caller to the dispatcher. */
typedef struct lc_request {
    _Atomic int refs;      /* caller + dispatcher; the last one frees */
    int done;
    lc_status status;      /* LC_OK or the first failing sink's code */
    char err[LC_ERRLEN];
} lc_request;

struct lc_run {
    lc_hub *hub;
    lc_run_info info;           /* info.keys: tag -> normalised key */
    int dummy;                  /* no-op run (rank != 0) */
    _Atomic int noop;           /* log calls do nothing: dummy, or ended by a signal */
    int ended;                  /* finish sent to the sinks; on hub->ended */
    _Atomic int finished;       /* every sink's finish_run has returned */

    /* interning (mutex) */
    pthread_mutex_t intern_mu;
    lc_intern_entry *map;       /* open addressing, power-of-two size */
    uint32_t map_cap, map_used;

    /* owned strings behind info */
    char *experiment, *name, *dir;
    char **tag_kv;              /* key, value, ..., NULL */
    char **tag_orig;            /* per pair: original key or NULL */

    struct lc_run *next;        /* hub's list of live runs (hub->runs_mu) */
};

struct lc_hub {
    int active;                 /* 0: no-op hub (not rank zero) */
    char *root;                 /* absolute */
    lc_queue queue;
    lc_full_policy full_policy;
    uint32_t flush_interval_ms, sink_retry_ms;
    uint64_t image_arena_cap;
    _Atomic uint64_t image_arena_used;
    int handle_signals;

    lc_sink sinks[LC_MAX_SINKS];
    int nsinks;
    /* remote backends: one shipper thread each, fed from the index (the
       outbox); woken by the dispatcher after each batch, told of run
       opens and finishes; drained at run finish for sync_timeout_ms */
    lc_shipper *shippers[LC_MAX_REMOTES];
    int nshippers;
    uint32_t sync_timeout_ms;
    char *console_keys;

    pthread_t dispatcher;
    int dispatcher_running;

    /* synchronous requests (run open/finish, flush), and the dispatcher's
       end: done when its loop has ended; orphaned when lc_hub_close gave up
       waiting for it, so the dispatcher frees the hub itself */
    pthread_mutex_t ctl_mu;
    pthread_cond_t ctl_cond;
    int dispatcher_done, orphaned;
    _Atomic int stop;           /* lc_hub_close: drain the queue, finish what is left, end */

    /* the sink entry the dispatcher is inside (for lc_hub_close's report):
       sink index + 1 (0: none) and an lc_sink_entry */
    _Atomic int busy_sink, busy_entry;

    pthread_mutex_t runs_mu;
    struct lc_run *runs;        /* live */
    struct lc_run *ended;       /* ended (finish sent) but not yet freed */

    _Atomic int closing;
    struct lc_hub *next_signal; /* signals.c registry */
    lc_signal_cause_fn signal_cause; /* signals.c (under its registry lock) */
    void *signal_cause_ctx;
};

/* The run whose info this is (the dispatcher gets lc_run_info pointers). */
static inline lc_run *lc_run_of(lc_run_info *info)
{
    return (lc_run *)(void *)((char *)info - offsetof(lc_run, info));
}

/* An lc_mono_ms() deadline timeout_ms from now; 0 (no deadline) for 0. */
static inline uint64_t lc_deadline_after(uint32_t timeout_ms)
{
    return timeout_ms ? lc_mono_ms() + timeout_ms : 0;
}

typedef enum lc_sink_entry {
    LC_SINK_IDLE = 0, LC_SINK_OPEN_RUN, LC_SINK_WRITE_BATCH, LC_SINK_FLUSH, LC_SINK_FINISH_RUN,
    LC_SINK_REPAIR /* read_points or repair (a resumed run) */
} lc_sink_entry;

/* ---- the one way into the queue ------------------------------------------ */

/* Put an event into the queue: n consecutive slots are filled from ev and
 * published. With tags (then values too) the slots are one record of n
 * scalars: slot i takes tags[i] and values[i], the last is flagged
 * LC_EV_RECORD_END. Every event takes this path: scalars, payload events,
 * key announcements and the dispatcher's control requests.
 *
 * A full queue makes the caller wait for the dispatcher, or in drop mode
 * drops a data event (counted in the run's 'dropped', LC_ERR_FULL, no
 * message: the caller frees what it owns and reports). Key announcements
 * and control events always wait: a scalar must never name an unannounced
 * tag, and a request must reach the dispatcher. A waiting caller gives up
 * at deadline (an lc_mono_ms() time; 0: never) with LC_ERR_TIMEOUT, the
 * event not queued. Returns LC_OK, LC_ERR_FULL or LC_ERR_TIMEOUT. No lock,
 * no malloc, no syscall unless the queue is full. */
static inline lc_status lc_hub_enqueue(lc_hub *hub, const lc_event *ev, uint32_t n,
                                       const lc_tag *tags, const double *values,
                                       uint64_t deadline)
{
    lc_queue *q = &hub->queue;
    uint64_t pos = 0;
    while (__builtin_expect(!lc_queue_reserve(q, n, &pos), 0)) {
        if (hub->full_policy == LC_FULL_DROP && ev->kind != LC_EV_KEY && ev->kind < LC_EV_RUN_OPEN) {
            if (ev->run)
                atomic_fetch_add_explicit(&ev->run->dropped, n, memory_order_relaxed);
            return LC_ERR_FULL;
        }
        if (deadline && lc_mono_ms() >= deadline)
            return LC_ERR_TIMEOUT;
        lc_queue_wait_space(q, n, 10);
    }
    /* Field by field, not '*e = *ev': the caller's event is a few registers
       once inlined, and a whole-struct copy would go through the stack
       (a store-forwarding stall on the hot path). */
    for (uint32_t i = 0; i < n; i++) {
        lc_event *e = lc_queue_at(q, pos + i);
        e->run = ev->run;
        e->step = ev->step;
        e->value = tags ? values[i] : ev->value;
        e->wall_time = ev->wall_time;
        e->payload = ev->payload;
        e->tag = tags ? tags[i] : ev->tag;
        e->kind = ev->kind;
        e->flags = tags ? (i + 1 == n ? LC_EV_RECORD_END : 0) : ev->flags;
    }
    for (uint32_t i = 0; i < n; i++)
        lc_queue_publish(q, pos + i);
    return LC_OK;
}

/* ---- hub.c --------------------------------------------------------------- */

/* Enqueue a control event and wait until the dispatcher has handled it, or
 * until deadline (lc_deadline_after; 0: no limit). Returns LC_OK, the first
 * failing sink's code with err filled, LC_ERR_NOMEM, or LC_ERR_TIMEOUT
 * (err says whether the request was queued: if so the dispatcher still
 * handles it later). */
lc_status lc_hub_request(lc_hub *hub, uint16_t kind, lc_run_info *run, uint64_t deadline,
                         char *err, size_t errlen);

/* Dispatcher side: mark a request done (if req is not NULL) and drop its
 * reference. */
void lc_request_complete(lc_hub *hub, lc_request *req, lc_status status, const char *err);

/* Free the hub and everything it holds; the dispatcher has stopped. */
void lc_hub_free(lc_hub *hub);

/* Number of hubs whose lc_hub_close timed out and whose dispatcher has not
 * yet finished and freed them (for tests). */
int lc_hub_orphans(void);

/* ---- dispatcher.c -------------------------------------------------------- */
void *lc_dispatcher_main(void *hub);
void lc_event_free_payload(lc_hub *hub, lc_event *ev);

/* ---- sinks.c ------------------------------------------------------------- */
/* Parse a spec ("sqlite,tensorboard,csv") and construct the sinks. */
lc_status lc_sinks_open(lc_hub *hub, const char *spec, char *err, size_t errlen);

/* Drain the shippers for run_uuid (NULL: every run) for at most
 * timeout_ms, reporting runs left pending. */
void lc_hub_drain_remotes(lc_hub *hub, const char *run_uuid, uint32_t timeout_ms);

/* Stop every shipper, waiting at most timeout_ms (0: no limit). */
void lc_hub_stop_remotes(lc_hub *hub, uint32_t timeout_ms);

/* ---- run.c --------------------------------------------------------------- */
void lc_run_free(lc_run *run);
/* Send the run's finish to the sinks and turn its log calls into no-ops,
 * without freeing it: a signal handler thread may end a run that another
 * thread is still logging into. lc_run_finish (or lc_hub_close) frees it.
 * Waits until deadline (lc_deadline_after; 0: no limit) for the sinks;
 * LC_ERR_TIMEOUT leaves the finish to the dispatcher (which finishes a run
 * whose request could not even be queued when the hub stops). */
lc_status lc_run_end(lc_run *run, lc_run_status status, uint64_t deadline);

/* lc_run_end every live run of the hub (lc_hub_close, the signal watcher).
 * Returns the first error other than LC_ERR_TIMEOUT (its message copied to
 * first, which may be NULL), else LC_OK. */
lc_status lc_run_end_all(lc_hub *hub, lc_run_status status, uint64_t deadline, char *first,
                         size_t firstlen);

/* The directory of run experiment/name under root (experiment NULL or "":
 * the default; name NULL: the experiment's directory). */
lc_status lc_run_path(const char *root, const char *experiment, const char *name, char *out,
                      size_t cap);

/* ---- provenance.c -------------------------------------------------------- */
typedef struct lc_provenance {
    char host[256];
    char boot_id[64];
    int64_t pid;
    int64_t proc_start;
    char *argv;        /* space-joined, malloc'd */
    char git_commit[64];
    int git_dirty;     /* -1 unknown / not a git tree */
    char cwd[4096];
} lc_provenance;

void lc_provenance_collect(lc_provenance *p);
void lc_provenance_free(lc_provenance *p);

/* ---- signals.c ----------------------------------------------------------- */
int lc_signals_register(lc_hub *hub, char *err, size_t errlen);
void lc_signals_unregister(lc_hub *hub);

#endif
