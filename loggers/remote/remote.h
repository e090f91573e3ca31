/*
 * loggers/remote/remote.h — the interface between the shipper and one
 * remote backend (MLflow, W&B).
 *
 * The run index is the outbox. A shipper thread per remote backend reads a
 * run's new work from the index (on its own SQLite connection), in outbox
 * order, as lc_outbox_item rows, and hands them to its backend through
 * this vtable; the backend turns them into requests (HTTP through http.h)
 * and says how many it delivered. The shipper owns everything generic: the
 * per-(run, backend) cursor over the never-reused outbox sequence, the
 * lease, the remote run id and URL kept in the index, the delivery state
 * (delivered / pending / failed), retries of whole calls, draining at run
 * finish and `lightc sync`. A backend owns only its protocol.
 *
 * Calls come from the shipper's one thread, never concurrently. Every entry
 * returns an lc_status; the message (lc_fail) names the backend, the server
 * and what to do ("mlflow: 401 Unauthorized from http://host:5000 — set
 * MLFLOW_TRACKING_TOKEN"), and never holds a secret.
 *   LC_OK            done
 *   LC_ERR_IO        transient (network, 5xx after the HTTP layer's own
 *                    retries): the shipper keeps the cursor, backs off and
 *                    calls again with the same items
 *   LC_ERR_AUTH      credentials refused: the delivery is 'failed' with the
 *                    message; nothing is lost, `lightc sync` retries later
 *   LC_ERR_INVALID   the server refuses an item for good (e.g. a changed
 *                    param value): the delivery is 'failed' with the message
 *   other codes      as lightc/status.h says
 */
#ifndef LC_REMOTE_H
#define LC_REMOTE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lightc/hub.h"
#include "cancel.h"

/* What a run's outbox holds, in the order it was logged. */
typedef enum lc_outbox_kind {
    LC_OB_PARAM = 1,    /* key = name (normalised), text = value */
    LC_OB_TAG = 2,      /* key, text = value */
    LC_OB_METRIC = 3,   /* key, value, step, wall_time, rec */
    LC_OB_TEXT = 4,     /* key, text, step, wall_time */
    LC_OB_ARTIFACT = 5, /* key = path relative to the run's artifact root
                           (e.g. "checkpoints/epoch=1-step=860.ckpt"),
                           text = absolute path of the file on disk */
    LC_OB_END = 6       /* the run ended: status, wall_time = end time */
} lc_outbox_kind;

typedef struct lc_outbox_item {
    int64_t seq;        /* the outbox sequence: strictly increasing, never reused */
    lc_outbox_kind kind;
    const char *key;
    const char *text;
    double value;       /* metric value (NaN and +-Inf possible) */
    int64_t step;
    double wall_time;   /* Unix seconds */
    int64_t rec;        /* record number: metrics logged together share it
                           (one W&B history line, one MLflow batch) */
    lc_run_status status; /* LC_OB_END */
} lc_outbox_item;

/* A run as a backend sees it. */
typedef struct lc_remote_run {
    const char *run_uuid;     /* lightc's run id (32 hex digits) */
    const char *experiment;
    const char *name;
    double start_time;        /* Unix seconds */
    const char *const *tags;  /* key, value, ..., NULL: the run's tags at start
                                 (provenance: lightc.host, lightc.git_commit, ...) */
    /* The remote run id and URL. Empty on the first open of a run; the
       backend fills them and the shipper stores them in the index, so a
       later open (a resume, `lightc sync`, another process) passes them
       back and the backend continues that remote run. */
    char remote_id[128];
    char remote_url[512];
    /* The backend's own delivery state beside the cursor (W&B: the next
       history line offset), "" at first. The backend sets it in open_run
       (stored with the remote id) and updates it in ship; the shipper
       stores it in the same index write as the cursor it advances past
       the delivered items, and passes it back on the next open (a resume,
       `lightc sync` after a kill -9), so it always describes exactly the
       items before the cursor. */
    char remote_state[128];
    /* Set by the shipper (may be NULL): nonzero once the hub has ended the
       run and a drain waits on it. A backend that paces its requests (W&B)
       stops waiting and sends at once. */
    const _Atomic int *ended;
    void *state;              /* the backend's per-run state (open .. close_run) */
} lc_remote_run;

typedef struct lc_remote lc_remote;

typedef struct lc_remote_vtable {
    const char *name;         /* "mlflow", "wandb": the --loggers word */
    /* Find or create the remote run (idempotent: a create whose answer was
       lost must not create a second run), or continue remote_id. */
    lc_status (*open_run)(lc_remote *r, lc_remote_run *run);
    /* Deliver items[0..n) in order. *done = how many are durably on the
       server (a prefix); the shipper advances the cursor past them, also
       when the status is not LC_OK. A retry gets the rest again, so a
       request cut short must be rebuilt byte-identical or be idempotent. */
    lc_status (*ship)(lc_remote *r, lc_remote_run *run, const lc_outbox_item *items, size_t n,
                      size_t *done);
    /* Idle keep-alive (W&B heartbeats); may be NULL. */
    lc_status (*heartbeat)(lc_remote *r, lc_remote_run *run);
    /* Free run->state (the run may be opened again later). */
    void (*close_run)(lc_remote *r, lc_remote_run *run);
    /* Free the backend. */
    void (*free)(lc_remote *r);
    /* Items per ship call the backend wants (0: the shipper's default,
       1000). W&B asks for more: it sends one file_stream request every few
       seconds, so each call should carry what piled up meanwhile. */
    uint32_t chunk;
} lc_remote_vtable;

struct lc_remote {
    const lc_remote_vtable *vt;
    void *state;              /* the backend's own */
    /* Set by the shipper after the constructor and before the first
       open_run (NULL: none). The backend's HTTP requests and retry waits
       watch it, so a drain that runs out of time or a shutdown stops a
       call at once (LC_ERR_STATE) instead of waiting out retries and
       timeouts. */
    lc_cancel *cancel;
};

/* Backend constructors: read the backend's own environment variables
 * (MLFLOW_TRACKING_URI, ...), check them, and fill *out; a clear error
 * when the configuration cannot work ("mlflow: MLFLOW_TRACKING_URI is not
 * set: point it at your tracking server, e.g. http://127.0.0.1:5000"). */
lc_status lc_remote_mlflow_new(lc_remote *out);
/* W&B (WANDB_MODE online: "wandb"; offline: the offline run directory
 * writer "wandb-offline"; disabled: LC_OK with out->vt NULL, no backend). */
lc_status lc_remote_wandb_new(lc_remote *out);
/* The offline run directory writer, whatever WANDB_MODE says (`lightc sync`
 * of a "wandb-offline" delivery finishes a directory a crash cut short). */
lc_status lc_remote_wandb_offline_new(lc_remote *out);

#endif /* LC_REMOTE_H */
