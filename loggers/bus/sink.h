/*
 * loggers/sink.h — the sink interface every backend implements.
 *
 * A sink is a small vtable plus its private state. The hub calls every entry
 * on its one dispatcher thread, never concurrently, so sinks need no locks.
 * A sink never sees the queue: it gets runs opened and finished, and batches
 * of events in the order they were logged.
 *
 * Return value of each entry: 0 on success, or -1 with a message in err
 * (a user can act on it: "csv: cannot write runs/x/metrics.csv: No space
 * left on device"). write_batch may be called again with the same batch
 * after a failure (the hub retries for a bounded time), so it must be
 * idempotent or track what it already took.
 */
#ifndef LC_SINK_H
#define LC_SINK_H

#include <stdatomic.h>
#include <stdint.h>

#include "event.h"
#include "lightc/hub.h"

#define LC_ERRLEN 512

/* What the hub knows about a run, shared read-only with every sink.
 * Counters are atomics: sinks add to 'replaced', producers to 'logged'. */
struct lc_run_info {
    char id[33];              /* 32 hex digits */
    const char *root;         /* run root (absolute) */
    const char *experiment;
    const char *name;
    const char *dir;          /* <root>/<experiment>/<name>, absolute */
    double start_time;        /* Unix seconds */
    int resume;               /* continuing an existing run */
    int64_t resume_step;      /* with resume: drop points with step > this; -1 keeps all */
    int restart;              /* with resume: start over; every point, row, media
                                 and events file of earlier attempts is replaced
                                 (resume_step is then -1) */
    lc_run_status status;     /* set before finish_run is called */
    double end_time;          /* set before finish_run is called */
    const char *const *tags;  /* key, value, ..., NULL: user tags + provenance
                                 (lightc.host, lightc.pid, lightc.argv, ...);
                                 keys normalised, values redacted (bus/redact.h) */
    const char *const *tag_originals; /* per pair of tags: the key as given when
                                 normalisation changed it, else NULL */
    /* pid/host/boot id/process start time, for crash detection */
    const char *host;
    const char *boot_id;
    int64_t pid;
    int64_t proc_start;       /* process start time in clock ticks since boot */

    _Atomic uint64_t logged, dropped, rejected, replaced, sink_errors;
    _Atomic uint64_t discarded; /* points of earlier attempts the index removed at
                                   open (restart, or past resume_step) */
    _Atomic uint64_t repaired;  /* points sinks lacked at a resume, replayed
                                   from the index */
    _Atomic int degraded;
    _Atomic int closed;       /* finish_run done: the hub drops later events */

    /* Set before finish_run: every sink of the hub and how it fared for
       this run, so the index can store per-backend delivery state. */
    int nsinks;
    struct {
        const char *name;
        uint64_t errors;          /* batches this sink lost */
        const char *last_error;   /* "" if none */
    } sinks[8];

    /* opaque to sinks: the hub's run (for key lookup) */
    struct lc_run *owner;
    /* per-sink private slot, indexed by the sink's position in the hub */
    void *sink_state[8];
};

/* Normalised key of a tag of this run (valid for the run's life). */
const char *lc_run_info_key(const lc_run_info *run, uint32_t tag);

typedef struct lc_sink lc_sink;

/* A scalar point as the run index holds it (resume repair). */
typedef struct lc_point {
    const char *key;          /* normalised */
    int64_t step;
    double value;
    double wall_time;
    int64_t rec;              /* record number: the points of one record share it */
} lc_point;

typedef struct lc_sink_vtable {
    const char *name; /* "sqlite", "csv", "tensorboard", ... */
    /* A run starts (or resumes). Create files, rows; may refuse with -1
       and an error (e.g. the run exists and run->resume is 0). */
    int (*open_run)(lc_sink *s, lc_run_info *run, char *err, size_t errlen);
    /* Events of any open runs, in log order. */
    int (*write_batch)(lc_sink *s, const lc_batch *batch, char *err, size_t errlen);
    /* Make everything taken so far durable / visible. */
    int (*flush)(lc_sink *s, char *err, size_t errlen);
    /* The run ended: run->status, run->end_time and the counters are set. */
    int (*finish_run)(lc_sink *s, lc_run_info *run, char *err, size_t errlen);
    /* Free everything. Called once, after the last finish_run. */
    void (*close)(lc_sink *s);

    /* Resume repair (both optional). When a resumed run has been opened in
       every sink, the hub asks the sink that has read_points (the run
       index, the source of truth) for the run's points with step <=
       resume_step, and hands them to every sink that has repair, which
       writes those it lacks (learning what it holds from its own files)
       and counts them in *added. read_points fills *out with one malloc'd
       block (keys inside it) for free(). */
    int (*read_points)(lc_sink *s, lc_run_info *run, int64_t max_step, lc_point **out,
                       size_t *n, char *err, size_t errlen);
    int (*repair)(lc_sink *s, lc_run_info *run, const lc_point *pts, size_t n,
                  uint64_t *added, char *err, size_t errlen);
} lc_sink_vtable;

struct lc_sink {
    const lc_sink_vtable *vt;
    void *state;             /* the sink's own */
    int index;               /* position in the hub: run->sink_state[index] */
    /* hub bookkeeping */
    int failing;             /* last batch failed after retries */
    uint64_t errors;         /* batches lost */
    char last_error[LC_ERRLEN];
};

/* Options shared by all sinks, filled by the hub from lc_hub_options. */
typedef struct lc_sink_config {
    const char *root;        /* absolute run root */
    const char *console_keys;
    uint32_t flush_interval_ms;
} lc_sink_config;

/* Constructors: return 0 and fill *out, or -1 with err. */
int lc_sink_sqlite_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);
int lc_sink_csv_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);
int lc_sink_console_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);
int lc_sink_tensorboard_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);

#endif /* LC_SINK_H */
