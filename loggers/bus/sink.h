/*
 * loggers/bus/sink.h — the sink interface every backend implements, and
 * what the hub tells a sink about a run.
 *
 * A sink is a small vtable plus its private state. The hub calls every entry
 * on its one dispatcher thread, never concurrently, so sinks need no locks.
 * A sink never sees the queue: it gets runs opened and finished, and batches
 * of events in the order they were logged.
 *
 * Return value of each entry: LC_OK, or the lc_status that says what went
 * wrong (LC_ERR_IO, LC_ERR_NOMEM, LC_ERR_BUSY for a locked index,
 * LC_ERR_EXISTS for a run that exists and is not resumed, ...) with a
 * message in err that a user can act on ("csv: cannot write
 * runs/x/metrics.csv: No space left on device"). The hub passes the code on
 * to the caller unchanged; nothing reads the message to find the code.
 * write_batch may be called again with the same batch after a failure (the
 * hub retries for a bounded time), so it must be idempotent or track what it
 * already took.
 *
 * Key names: the hub interns every metric key once (lc_run_tag); a sink
 * that needs the name of a scalar's tag reads it with lc_run_info_key, a
 * lock-free array lookup, and keeps no copy of its own. LC_EV_KEY events
 * still announce each new tag with the key as the user gave it, for the
 * index's record of the mapping.
 */
#ifndef LC_SINK_H
#define LC_SINK_H

#include <stdatomic.h>
#include <stdint.h>

#include "event.h"
#include "lightc/hub.h"

#define LC_ERRLEN 512

/* The most sinks one hub holds (the sink arrays below are this long). */
#define LC_MAX_SINKS 8

/* ---- the interned keys of a run ----------------------------------------- */

#define LC_TAG_CHUNK 4096
#define LC_TAG_CHUNKS 256 /* 1M tags per run */
#define LC_TAG_MAX (LC_TAG_CHUNK * LC_TAG_CHUNKS)

/* tag -> normalised key. One writer at a time (the hub, under the run's
 * intern lock); readers on any thread, without a lock: chunks never move,
 * and a tag's name is stored before 'n' is raised past it (release), so a
 * reader that sees tag <= n (acquire) sees its name. A tag's name never
 * changes once set. */
typedef struct lc_key_table {
    uint32_t n;                      /* tags 1..n may be named (atomic access) */
    char **chunk[LC_TAG_CHUNKS];
} lc_key_table;

/* Name tag (a copy of key). 0; -1 when out of memory, tag is 0 or over
 * LC_TAG_MAX, or tag already has another name. */
int lc_key_table_set(lc_key_table *t, uint32_t tag, const char *key);

/* The name of tag, or NULL. */
static inline const char *lc_key_table_get(const lc_key_table *t, uint32_t tag)
{
    if (tag == 0 || tag > __atomic_load_n(&t->n, __ATOMIC_ACQUIRE))
        return NULL;
    char **c = t->chunk[(tag - 1) / LC_TAG_CHUNK];
    return c ? c[(tag - 1) % LC_TAG_CHUNK] : NULL;
}

void lc_key_table_free(lc_key_table *t);

/* ---- a run as sinks see it ------------------------------------------------ */

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

    /* logged: scalars accepted into the queue; dropped: scalars and other
       events dropped (full queue or image arena in drop mode, or still
       queued when a signal ended the run); rejected: invalid keys or values;
       replaced: points the index replaced with another value; sink_errors:
       events of this run that some sink failed to take after retries, one
       per event per failing sink (see lc_run_counters) */
    _Atomic uint64_t logged, dropped, rejected, replaced, sink_errors;
    _Atomic uint64_t discarded; /* points of earlier attempts the index removed at
                                   open (restart, or past resume_step) */
    _Atomic uint64_t repaired;  /* points sinks lacked at a resume, replayed
                                   from the index */
    _Atomic int degraded;
    _Atomic int closed;       /* finish_run done: the hub drops later events */

    lc_key_table keys;        /* the run's interned keys: lc_run_info_key */

    /* Set before finish_run: every sink of the hub and how it fared for
       this run, so the index can store per-backend delivery state. */
    int nsinks;
    struct {
        const char *name;
        uint64_t errors;          /* batches this sink lost */
        const char *last_error;   /* "" if none */
    } sinks[LC_MAX_SINKS];

    /* per-sink private slot, indexed by the sink's position in the hub */
    void *sink_state[LC_MAX_SINKS];
};

/* Normalised key of a tag of this run, or NULL (valid for the run's life;
 * lock-free, see lc_key_table). */
static inline const char *lc_run_info_key(const lc_run_info *run, uint32_t tag)
{
    return lc_key_table_get(&run->keys, tag);
}

/* ---- the vtable ------------------------------------------------------------ */

typedef struct lc_sink lc_sink;

/* Options shared by all sinks, filled by the hub from lc_hub_options. */
typedef struct lc_sink_config {
    const char *root;        /* absolute run root */
    const char *console_keys;
    uint32_t flush_interval_ms;
    int hparams_yaml;        /* 1: this sink writes <run dir>/hparams.yaml (the hub
                                picks csv, else tensorboard; see bus/sinks.c) */
} lc_sink_config;

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
    /* A run starts (or resumes). Create files, rows; may refuse (e.g.
       LC_ERR_EXISTS when the run exists and run->resume is 0). */
    lc_status (*open_run)(lc_sink *s, lc_run_info *run, char *err, size_t errlen);
    /* Events of any open runs, in log order. */
    lc_status (*write_batch)(lc_sink *s, const lc_event_batch *batch, char *err, size_t errlen);
    /* Make everything taken so far durable / visible. */
    lc_status (*flush)(lc_sink *s, char *err, size_t errlen);
    /* The run ended: run->status, run->end_time and the counters are set. */
    lc_status (*finish_run)(lc_sink *s, lc_run_info *run, char *err, size_t errlen);
    /* Free everything. Called once, after the last finish_run. */
    void (*close)(lc_sink *s);

    /* Resume repair (both optional). When a resumed run has been opened in
       every sink, the hub asks the sink that has read_points (the run
       index, the source of truth) for the run's points with step <=
       resume_step, and hands them to every sink that has repair, which
       writes those it lacks (learning what it holds from its own files)
       and counts them in *added. read_points fills *out with one malloc'd
       block (keys inside it) for free(). */
    lc_status (*read_points)(lc_sink *s, lc_run_info *run, int64_t max_step, lc_point **out,
                             size_t *n, char *err, size_t errlen);
    lc_status (*repair)(lc_sink *s, lc_run_info *run, const lc_point *pts, size_t n,
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

/* Constructors: LC_OK and *out filled, or an error code with err. */
lc_status lc_sink_sqlite_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);
lc_status lc_sink_csv_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);
lc_status lc_sink_console_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);
lc_status lc_sink_tensorboard_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen);

#endif /* LC_SINK_H */
