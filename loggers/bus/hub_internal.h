/*
 * loggers/hub_internal.h — the hub's and the run's private state, shared by
 * the files of the hub core (hub.c, run.c, log_calls.c, dispatcher.c,
 * signals.c). Sinks never include this.
 */
#ifndef LC_HUB_INTERNAL_H
#define LC_HUB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "common/clock.h"
#include "common/fs.h"
#include "event.h"
#include "lightc/hub.h"
#include "queue.h"
#include "sink.h"

#define LC_MAX_SINKS 8
#define LC_BATCH_MAX 4096

/* ---- tag intern table: tag -> normalised key, lock-free reads ---------- */

#define LC_TAG_CHUNK 4096
#define LC_TAG_CHUNKS 256 /* 1M tags per run */

typedef struct lc_intern_entry {
    char *str;   /* original or normalised key (owned) */
    uint32_t tag;
} lc_intern_entry;

/* A synchronous request from a caller to the dispatcher. */
typedef struct lc_request {
    _Atomic int refs;      /* caller + dispatcher; the last one frees */
    int done;
    int status;            /* 0 ok, -1 failed */
    char err[LC_ERRLEN];
} lc_request;

/* Per-run params kept by the dispatcher for hparams.yaml. */
typedef struct lc_param_list {
    lc_param_payload **items;
    size_t n, cap;
    int dirty;
} lc_param_list;

struct lc_run {
    lc_hub *hub;
    lc_run_info info;
    int dummy;                  /* no-op run (rank != 0) */
    _Atomic int noop;           /* log calls do nothing: dummy, or ended by a signal */
    int ended;                  /* finish sent to the sinks; on hub->ended */

    /* interning (mutex) */
    pthread_mutex_t intern_mu;
    lc_intern_entry *map;       /* open addressing, power-of-two size */
    uint32_t map_cap, map_used;
    uint32_t ntags;
    char **names[LC_TAG_CHUNKS]; /* tag -> normalised key (chunks never move) */

    /* dispatcher-only */
    lc_param_list params;

    /* owned strings behind info */
    char *experiment, *name, *dir;
    char **tag_kv;              /* key, value, ..., NULL */

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
    char *console_keys;

    pthread_t dispatcher;
    int dispatcher_running;

    /* synchronous requests (run open/finish, flush) */
    pthread_mutex_t ctl_mu;
    pthread_cond_t ctl_cond;

    pthread_mutex_t runs_mu;
    struct lc_run *runs;        /* live */
    struct lc_run *ended;       /* ended (by a signal) but not yet freed */

    _Atomic int closing;
    struct lc_hub *next_signal; /* signals.c registry */
};

/* ---- hub.c --------------------------------------------------------------- */
/* Enqueue events (blocking or dropping per policy). Returns LC_OK or
 * LC_ERR_FULL (dropped, counted on run). The caller fills slots through
 * fill(ev, i, ctx). */
lc_status lc_hub_enqueue_one(lc_hub *hub, const lc_event *ev);

/* Enqueue a control event and wait until the dispatcher has handled it
 * (timeout_ms 0 = no limit). Returns 0, -1 with err filled, or -2 on
 * timeout (the dispatcher still handles it later). */
int lc_hub_request(lc_hub *hub, uint16_t kind, lc_run_info *run, uint32_t timeout_ms,
                   char *err, size_t errlen);

/* Dispatcher side: mark a request done and drop its reference. */
void lc_request_complete(lc_hub *hub, lc_request *req, int status, const char *err);

/* ---- dispatcher.c -------------------------------------------------------- */
void *lc_dispatcher_main(void *hub);
void lc_event_free_payload(lc_hub *hub, lc_event *ev);

/* ---- sinks.c ------------------------------------------------------------- */
/* Parse a spec ("sqlite,tensorboard,csv") and construct the sinks. */
int lc_sinks_open(lc_hub *hub, const char *spec, char *err, size_t errlen);

/* ---- run.c --------------------------------------------------------------- */
void lc_run_free(lc_run *run);
/* Send the run's finish to the sinks and turn its log calls into no-ops,
 * without freeing it: a signal handler thread may end a run that another
 * thread is still logging into. lc_run_finish (or lc_hub_close) frees it. */
lc_status lc_run_end(lc_run *run, lc_run_status status);

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
