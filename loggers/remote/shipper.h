/*
 * loggers/remote/shipper.h — the shipper: moves a run's outbox items from
 * the index to one remote backend (remote.h), the same code for the live
 * thread of a training process and for `lightc sync`.
 *
 * Live: lc_shipper_start gives the backend a thread of its own with its
 * own SQLite connection (index/outbox.h). The hub tells it which runs are
 * open (lc_shipper_run_opened), wakes it after each batch the dispatcher
 * handed to the index (lc_shipper_wake: no waiting, no I/O on the caller's
 * thread) and when a run ends (lc_shipper_run_finished). The thread takes
 * the run's delivery lease, reads items after the cursor in chunks, calls
 * backend->ship, and advances the cursor in the index past what the
 * backend says is delivered. LC_ERR_IO (and a busy index): back off
 * (0.2 s doubling to 30 s) and retry the same items. LC_ERR_AUTH,
 * LC_ERR_INVALID, LC_ERR_UNSUPPORTED: the delivery is 'failed' with the
 * message; nothing is lost and `lightc sync` retries. A run whose lease
 * another process holds is retried every lease period.
 *
 * Sync: lc_shipper_new (no thread) + lc_shipper_sync_run ship one run in
 * the caller's thread until it is delivered, failed, leased elsewhere, or
 * the retry time for transient errors runs out.
 */
#ifndef LC_REMOTE_SHIPPER_H
#define LC_REMOTE_SHIPPER_H

#include <stddef.h>
#include <stdint.h>

#include "remote/remote.h"

typedef struct lc_shipper lc_shipper;

typedef struct lc_shipper_options {
    uint32_t chunk;           /* items per ship call; default 1000 */
    uint32_t lease_ms;        /* lease length; default 60000 or $LIGHTC_LEASE_MS;
                                 renewed every third of it */
    uint32_t backoff_max_ms;  /* longest wait between retries; default 30000 */
    uint32_t linger_ms;       /* new work right after a shipment waits this long,
                                 to go out in fewer, larger requests; default 1000
                                 or $LIGHTC_SHIP_LINGER_MS (a finished run never
                                 waits) */
    int quiet;                /* 1: no messages on stderr */
} lc_shipper_options;

/* A shipper for backend (taken over: freed by lc_shipper_free, also on
 * failure) over the index of root. LC_OK, or an error with err. */
lc_status lc_shipper_new(lc_shipper **out, const lc_remote *backend, const char *root,
                         const lc_shipper_options *opt, char *err, size_t errlen);

/* Start the live thread. */
lc_status lc_shipper_start(lc_shipper *sh, char *err, size_t errlen);

/* The backend's name ("mlflow"). */
const char *lc_shipper_name(const lc_shipper *sh);

/* Live: a run was opened / has ended in the index (32-hex uuid; label
 * "experiment/name" for messages); new items were committed. Never block
 * on the network. */
void lc_shipper_run_opened(lc_shipper *sh, const char *run_uuid, const char *label);
void lc_shipper_run_finished(lc_shipper *sh, const char *run_uuid);
void lc_shipper_wake(lc_shipper *sh);

/* Live: wait until the run (NULL: every run the shipper has) is delivered
 * or failed, or timeout_ms passes. LC_OK when nothing is left; else
 * LC_ERR_TIMEOUT, and when report is set a line per run left pending goes
 * to stderr, saying `lightc sync` will finish it. A run left pending here
 * is not waited for again by a later drain. */
lc_status lc_shipper_drain(lc_shipper *sh, const char *run_uuid, uint32_t timeout_ms, int report);

/* Stop the thread (it releases its leases) and free everything. Waits at
 * most timeout_ms (0: without limit) for a ship call in flight; past it
 * the thread is left to free the shipper itself when the call returns,
 * and LC_ERR_TIMEOUT is returned. */
lc_status lc_shipper_stop(lc_shipper *sh, uint32_t timeout_ms);

/* Free a shipper that was never started. */
void lc_shipper_free(lc_shipper *sh);

/* What lc_shipper_sync_run reports as it goes. */
typedef struct lc_ship_progress {
    const char *run_uuid, *experiment, *name, *backend;
    uint64_t done;            /* items delivered in this call */
    uint64_t total;           /* items pending when it started (may grow) */
} lc_ship_progress;

/* Sync: ship run_uuid now, in this thread. retry_ms bounds how long
 * transient errors are retried (0: once). Returns LC_OK (delivered, or
 * everything up to now delivered while the run is still running: then
 * *still_running = 1), LC_ERR_BUSY (another process holds the lease; err
 * says who), LC_ERR_AUTH / LC_ERR_INVALID / ... (failed, err says why),
 * LC_ERR_IO (still pending after retry_ms), LC_ERR_NOT_FOUND. progress
 * may be NULL. */
lc_status lc_shipper_sync_run(lc_shipper *sh, const char *run_uuid, uint32_t retry_ms,
                              void (*progress)(void *ctx, const lc_ship_progress *p), void *ctx,
                              int *still_running, char *err, size_t errlen);

#endif /* LC_REMOTE_SHIPPER_H */
