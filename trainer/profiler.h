/*
 * trainer/profiler.h — Lightning's profiler= for lightc: where a stage's
 * time goes.
 *
 *   simple    Lightning's SimpleProfiler: one row per action (the names
 *             Lightning gives them: "[Strategy]SingleDeviceStrategy.
 *             training_step", "run_training_batch", "[Callback]X.on_...")
 *             with mean duration, calls, total and share of the stage.
 *   advanced  the same actions plus lightc's own hot functions (dataloader,
 *             optimizer, hub calls, the hub's sink writes) as a
 *             cProfile-like table: calls, self time (without the profiled
 *             functions nested inside), cumulative time.
 *   trace     everything advanced records, kept as events and written as a
 *             Chrome trace-event JSON (profiler_trace.c).
 *
 * A span is lc_prof_begin(p, name, kind) ... lc_prof_end(p) on one thread;
 * spans nest (a per-thread stack), so every span knows its children's time
 * (self time). Any thread may record; the hub's dispatcher thread does so
 * through the hook in loggers/bus/prof_hook.h while lc_prof_attach_hub is
 * on. All functions take p == NULL and then do nothing: the trainer calls
 * them unconditionally and the profiler off costs a null check.
 */
#ifndef LC_TRAINER_PROFILER_H
#define LC_TRAINER_PROFILER_H

#include <stdint.h>
#include <stdio.h>

#include "common/status.h"

typedef enum lc_prof_mode {
    LC_PROF_OFF = 0,
    LC_PROF_SIMPLE,
    LC_PROF_ADVANCED,
    LC_PROF_TRACE
} lc_prof_mode;

/* What a span is: an action (every mode) or a function (advanced, trace). */
typedef enum lc_prof_kind { LC_PROF_ACTION = 0, LC_PROF_FUNC = 1 } lc_prof_kind;

typedef struct lc_prof lc_prof;

/* "simple" | "advanced" | "trace" | "none"/""/NULL (off). */
lc_status lc_prof_mode_parse(const char *text, lc_prof_mode *out);
/* The canonical name of a mode (a static string; NULL for off). */
const char *lc_prof_mode_name(lc_prof_mode mode);

/* A profiler in mode (not LC_PROF_OFF). */
lc_status lc_prof_create(lc_prof **out, lc_prof_mode mode);
/* Detach from the hub (waiting for a dispatcher call in flight) and free. */
void lc_prof_free(lc_prof *p);
lc_prof_mode lc_prof_get_mode(const lc_prof *p);

/* Open a span named name (copied once per distinct name) on this thread.
 * A function span is dropped in simple mode. */
void lc_prof_begin(lc_prof *p, const char *name, lc_prof_kind kind);
/* Close the innermost open span of this thread. */
void lc_prof_end(lc_prof *p);
/* Name this thread in the trace ("trainer", "hub-dispatcher"). */
void lc_prof_thread_name(lc_prof *p, const char *name);

/* Record the hub's sink calls (dispatcher thread) into p; one profiler at a
 * time (a second attach replaces the first). */
void lc_prof_attach_hub(lc_prof *p);
void lc_prof_detach_hub(lc_prof *p);

/* A new stage: the table starts empty and its clock starts now (trace
 * events are kept across stages). */
void lc_prof_stage_start(lc_prof *p);

/* One row of the table. */
typedef struct lc_prof_row {
    const char *name;
    lc_prof_kind kind;
    int64_t calls;
    double total_s, self_s, max_s;
} lc_prof_row;

/* Rows recorded since the stage started, sorted by total time (largest
 * first), into a malloc'd array (*rows, *n; free() it). stage_s gets the
 * stage's duration so far. */
lc_status lc_prof_rows(lc_prof *p, lc_prof_row **rows, size_t *n, double *stage_s);

/* Total seconds spent in spans named name since the last take (then reset):
 * the perf/ metrics use it. 0 when none. */
double lc_prof_take(lc_prof *p, const char *name);

/* Write the stage's report (SimpleProfiler's table; advanced adds the
 * function table) to f (may be NULL) and, when dir is set, to
 * "<dir>/<stage>-profile.txt" as Lightning's dirpath/filename do. */
lc_status lc_prof_report(lc_prof *p, const char *stage, const char *dir, FILE *f);

/* Write every event recorded so far as Chrome trace-event JSON to path
 * (trace mode; profiler_trace.c). */
lc_status lc_prof_write_trace(lc_prof *p, const char *path);

/* ---- kernels (profiler_backend.c) --------------------------------------- */

struct lc_backend;
/* be, or (advanced, trace) a copy of it whose layer kernels are function
 * spans "backend.<kernel>"; valid until lc_prof_backend_release(p). */
const struct lc_backend *lc_prof_backend(lc_prof *p, const struct lc_backend *be);
void lc_prof_backend_release(lc_prof *p);

/* ---- for profiler_trace.c ------------------------------------------------ */

typedef struct lc_prof_event {
    uint32_t name;   /* index into the name table */
    uint32_t tid;    /* the profiler's thread number */
    int64_t ts_ns;   /* start, from the profiler's creation */
    int64_t dur_ns;
} lc_prof_event;

/* Under the profiler's lock: events, names, thread names. */
typedef struct lc_prof_snapshot {
    const lc_prof_event *events;
    size_t nevents;
    const char *const *names;
    const lc_prof_kind *kinds;  /* of each name */
    size_t nnames;
    const char *const *threads; /* by tid; NULL entries unnamed */
    size_t nthreads;
    uint64_t dropped;           /* events over the cap */
} lc_prof_snapshot;

void lc_prof_lock(lc_prof *p, lc_prof_snapshot *s);
void lc_prof_unlock(lc_prof *p);

#endif
