/*
 * loggers/index/outbox.h — the run index read as the outbox of the remote
 * backends: the index room's public reader and delivery-table API for the
 * shipper (remote/shipper.c), `lightc sync` and the CLI. Other rooms use
 * this header, never index_schema.h or the SQL behind it.
 *
 * An lc_outbox is one SQLite connection of its own (a shipper thread's, or
 * `lightc sync`'s) plus the identity it takes leases under: a random token,
 * and pid, host, boot id and process start time so that another process
 * can tell a crashed holder. Calls on one lc_outbox come from one thread.
 *
 * The sequence: every item of a run (param, tag, metric point, text,
 * artifact, end) has a position from one counter, strictly increasing and
 * never reused (schema version 3, docs/index.md). A delivery row per
 * (run, backend) keeps the cursor (the last position the backend has), the
 * remote run id and URL, the lease and the state:
 *   pending    items after the cursor, or the run has not ended
 *   delivered  the run ended and the backend has everything up to its end
 *   failed     the backend refused (credentials, an invalid item);
 *              last_error says why; `lightc sync` retries
 * Every write below is one short transaction; cursor and state writes
 * happen only while this outbox holds the row's lease.
 */
#ifndef LC_INDEX_OUTBOX_H
#define LC_INDEX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/status.h"
#include "remote/remote.h" /* lc_outbox_item, the interface type it fills */

typedef struct lc_outbox lc_outbox;

/* Open <root>/index.db (created and migrated when needed) for reading the
 * outbox and writing deliveries. LC_OK, or LC_ERR_IO / LC_ERR_NOMEM with
 * err. */
lc_status lc_outbox_open(const char *root, lc_outbox **out, char *err, size_t errlen);
void lc_outbox_close(lc_outbox *ob);

/* A run and its delivery to one backend. Strings are owned by the struct;
 * lc_outbox_run_clear frees them. */
typedef struct lc_outbox_run {
    int64_t row;              /* internal run id */
    char uuid[33];
    char *experiment, *name, *dir;
    char **tags;              /* key, value, ..., NULL (the run's tags now) */
    double start_time;
    lc_run_status status;
    int ended;                /* the end item exists */
    int64_t end_seq;
    /* the delivery (zeros / "" when has_delivery is 0) */
    int has_delivery;
    int64_t cursor;
    char state[16];           /* "pending", "delivered", "failed" */
    char remote_id[128], remote_url[512];
    char remote_state[128];   /* the backend's state beside the cursor ("" if none) */
    double pending_since;     /* 0: not pending */
    char last_error[512];
    uint64_t shipped;
} lc_outbox_run;

/* Load the run whose uuid is run_uuid (exact, 32 hex digits) and its
 * delivery to backend. LC_ERR_NOT_FOUND when there is no such run. */
lc_status lc_outbox_load(lc_outbox *ob, const char *run_uuid, const char *backend,
                         lc_outbox_run *out, char *err, size_t errlen);
void lc_outbox_run_clear(lc_outbox_run *r);

/* Up to max items of run 'row' after position 'after', in sequence order.
 * *items points into the outbox's own memory, valid until the next read
 * or close. LC_OK (*n may be 0), or an error. */
lc_status lc_outbox_read(lc_outbox *ob, int64_t row, int64_t after, size_t max,
                         const lc_outbox_item **items, size_t *n, char *err, size_t errlen);

/* How many items of run 'row' lie after position 'after'. */
lc_status lc_outbox_count(lc_outbox *ob, int64_t row, int64_t after, uint64_t *n, char *err,
                          size_t errlen);

/* Make sure run 'row' has a delivery row for backend (pending when new). */
lc_status lc_outbox_ensure(lc_outbox *ob, int64_t row, const char *backend, char *err,
                           size_t errlen);

/* Take or renew the lease of (row, backend) for ttl_ms. LC_OK when this
 * outbox holds it now; LC_ERR_BUSY with a description of the holder in
 * err ("pid 123 on host h, for 20 s more") when another live holder does.
 * A holder whose lease expired, or whose process is gone (same host:
 * another boot, no such pid, or the pid reused), loses it. */
lc_status lc_outbox_lease(lc_outbox *ob, int64_t row, const char *backend, uint32_t ttl_ms,
                          char *err, size_t errlen);

/* Give the lease back (only if this outbox holds it). */
lc_status lc_outbox_release(lc_outbox *ob, int64_t row, const char *backend);

/* Move the cursor to 'cursor' and count 'shipped' more items delivered;
 * remote_state (NULL: left as it is) is stored in the same statement, so
 * the backend's state and the cursor never disagree after a crash.
 * LC_ERR_STATE when this outbox no longer holds the lease. */
lc_status lc_outbox_advance(lc_outbox *ob, int64_t row, const char *backend, int64_t cursor,
                            uint64_t shipped, const char *remote_state, char *err,
                            size_t errlen);

/* Store the remote run id and URL, and the backend's state as the open
 * left it (remote_state; NULL or "": left as it is). */
lc_status lc_outbox_set_remote(lc_outbox *ob, int64_t row, const char *backend,
                               const char *remote_id, const char *remote_url,
                               const char *remote_state, char *err, size_t errlen);

/* Record the state: "delivered" (only if the run has ended and the cursor
 * is at or past its end; else it stays pending and *state_out says so),
 * "pending" with an optional transient error (counted in failures), or
 * "failed" with the reason. state_out (may be NULL) gets the state now. */
lc_status lc_outbox_set_state(lc_outbox *ob, int64_t row, const char *backend, const char *state,
                              const char *error, char *state_out, size_t state_len, char *err,
                              size_t errlen);

/* Deliveries: calls fn with the run uuid and backend of each delivery of
 * run_uuid (NULL: of every run) to backend (NULL: to every backend),
 * only those pending or failed when undelivered is set. fn returns 0 to
 * go on. */
lc_status lc_outbox_each_delivery(lc_outbox *ob, const char *run_uuid, const char *backend,
                                  int undelivered,
                                  int (*fn)(void *ctx, const char *run_uuid, const char *backend),
                                  void *ctx, char *err, size_t errlen);

/* Mark crashed runs (lc_index_mark_crashed): their end becomes an item.
 * Returns how many, or -1 with err. */
int lc_outbox_mark_crashed(lc_outbox *ob, char *err, size_t errlen);

/* The run status of its index name ("finished", ...); LC_RUN_RUNNING for
 * an unknown word. */
lc_run_status lc_outbox_status_of(const char *name);

#endif /* LC_INDEX_OUTBOX_H */
