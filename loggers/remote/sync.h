/*
 * loggers/remote/sync.h — `lightc sync` as a library call: finish the
 * pending deliveries of a run root, in the caller's thread, with the same
 * shipper code the live thread runs (shipper.h).
 *
 * First every crashed run of this host is marked (its end becomes an
 * outbox item with status crashed, which the backend maps to its own word),
 * then each chosen (run, backend) delivery is shipped until delivered,
 * failed, leased by another live process (skipped), or still failing
 * transiently after retry_ms (left pending).
 */
#ifndef LC_REMOTE_SYNC_H
#define LC_REMOTE_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "remote/shipper.h"

typedef struct lc_sync_options {
    const char *root;
    const char *const *runs;  /* full run uuids; nruns 0: every undelivered delivery */
    size_t nruns;
    const char *to;           /* one backend ("mlflow"); NULL: each delivery's own.
                                 With runs named, a run without a delivery to it gets one */
    uint32_t retry_ms;        /* transient errors are retried this long per run; default 60000 */
    int quiet;                /* no shipper messages on stderr */
    void (*progress)(void *ctx, const lc_ship_progress *p);
    /* after each delivery: its outcome (st LC_OK: delivered, or caught up
       on a run still running when still_running), and the message */
    void (*report)(void *ctx, const char *run_uuid, const char *backend, lc_status st,
                   int still_running, const char *msg);
    void *ctx;
} lc_sync_options;

typedef struct lc_sync_result {
    unsigned total, delivered, running, pending, failed, busy;
} lc_sync_result;

/* Returns LC_OK when it could work (see res for the outcome of each
 * delivery), or an error with err (no index, an unknown backend). */
lc_status lc_remote_sync(const lc_sync_options *o, lc_sync_result *res, char *err, size_t errlen);

#endif /* LC_REMOTE_SYNC_H */
