/*
 * trainer/profiler.c — the profiler's core: spans, their aggregation per
 * name (calls, total, self, max), the per-thread nesting stack, the hub
 * hook, and the text reports (SimpleProfiler's table, advanced's function
 * table). The trace JSON is profiler_trace.c.
 *
 * Threads: each thread keeps its open spans in a thread-local stack (no
 * lock); closing a span takes the profiler's mutex once to add it to the
 * table (and, in trace mode, to the event list). Self time is the span's
 * duration minus its direct children's, so nested spans are not counted
 * twice in the function table.
 */
#include "profiler.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loggers/bus/prof_hook.h"

#define PROF_MAX_DEPTH 64
#define PROF_MAX_EVENTS (1u << 20) /* 24 MiB of trace events at most */

typedef struct prof_entry {
    char *name;
    lc_prof_kind kind;
    int64_t calls, total_ns, self_ns, max_ns;
    int64_t take_ns;          /* since the last lc_prof_take */
    uint32_t next;            /* hash chain (index + 1; 0 ends) */
} prof_entry;

struct lc_prof {
    lc_prof_mode mode;
    uint64_t id;              /* unique across profilers (thread state) */
    pthread_mutex_t mu;
    int64_t t0_ns;            /* creation: the trace's zero */
    int64_t stage_ns;         /* the stage's start */

    prof_entry *ents;
    size_t nents, capents;
    uint32_t *buckets;        /* index + 1 */
    size_t nbuckets;
    const char **names;       /* ents[i].name, for snapshots */
    lc_prof_kind *kinds;      /* ents[i].kind, for snapshots */

    lc_prof_event *events;
    size_t nevents, capevents;
    uint64_t dropped;

    char **threads;
    size_t nthreads, capthreads;
};

typedef struct prof_frame {
    uint32_t name;
    int64_t t0, child;
} prof_frame;

typedef struct prof_tls {
    uint64_t id;              /* the profiler this state belongs to */
    uint32_t tid;
    int depth;                /* may exceed PROF_MAX_DEPTH: those are not kept */
    prof_frame st[PROF_MAX_DEPTH];
} prof_tls;

static _Thread_local prof_tls tls;
static atomic_uint_fast64_t next_id = 1;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                     */

lc_status lc_prof_mode_parse(const char *text, lc_prof_mode *out)
{
    if (!text || !*text || strcmp(text, "none") == 0)
        *out = LC_PROF_OFF;
    else if (strcmp(text, "simple") == 0)
        *out = LC_PROF_SIMPLE;
    else if (strcmp(text, "advanced") == 0)
        *out = LC_PROF_ADVANCED;
    else if (strcmp(text, "trace") == 0)
        *out = LC_PROF_TRACE;
    else
        return lc_fail(LC_ERR_INVALID, "profiler: unknown profiler '%s' (simple, advanced, trace)",
                       text);
    return LC_OK;
}

const char *lc_prof_mode_name(lc_prof_mode mode)
{
    switch (mode) {
    case LC_PROF_SIMPLE: return "simple";
    case LC_PROF_ADVANCED: return "advanced";
    case LC_PROF_TRACE: return "trace";
    default: return NULL;
    }
}

lc_prof_mode lc_prof_get_mode(const lc_prof *p)
{
    return p ? p->mode : LC_PROF_OFF;
}

/* ------------------------------------------------------------------------ */
/* Create / free                                                             */

lc_status lc_prof_create(lc_prof **out, lc_prof_mode mode)
{
    *out = NULL;
    if (mode == LC_PROF_OFF)
        return lc_fail(LC_ERR_INVALID, "lc_prof_create: no profiler mode");
    lc_prof *p = calloc(1, sizeof *p);
    if (!p)
        return lc_fail(LC_ERR_NOMEM, "profiler: out of memory");
    p->mode = mode;
    p->id = atomic_fetch_add(&next_id, 1);
    pthread_mutex_init(&p->mu, NULL);
    p->t0_ns = p->stage_ns = now_ns();
    *out = p;
    return LC_OK;
}

/* The hub hook's target and the dispatcher calls inside it. */
static _Atomic(lc_prof *) hub_prof = NULL;
static atomic_int hub_inflight = 0;

void lc_prof_free(lc_prof *p)
{
    if (!p)
        return;
    lc_prof_detach_hub(p);
    lc_prof_backend_release(p);
    for (size_t i = 0; i < p->nents; i++)
        free(p->ents[i].name);
    free(p->ents);
    free(p->buckets);
    free(p->names);
    free(p->kinds);
    free(p->events);
    for (size_t i = 0; i < p->nthreads; i++)
        free(p->threads[i]);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Names (under mu)                                                          */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int grow_buckets(lc_prof *p)
{
    size_t nb = p->nbuckets ? p->nbuckets * 2 : 64;
    uint32_t *b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < p->nents; i++) {
        uint32_t h = hash_str(p->ents[i].name) & (uint32_t)(nb - 1);
        p->ents[i].next = b[h];
        b[h] = (uint32_t)i + 1;
    }
    free(p->buckets);
    p->buckets = b;
    p->nbuckets = nb;
    return 0;
}

/* Index of name (added when new), or UINT32_MAX without memory. */
static uint32_t intern(lc_prof *p, const char *name, lc_prof_kind kind)
{
    if (p->nbuckets) {
        uint32_t h = hash_str(name) & (uint32_t)(p->nbuckets - 1);
        for (uint32_t i = p->buckets[h]; i; i = p->ents[i - 1].next)
            if (strcmp(p->ents[i - 1].name, name) == 0)
                return i - 1;
    }
    if (p->nents + 1 > p->nbuckets / 2 && grow_buckets(p) != 0)
        return UINT32_MAX;
    if (p->nents == p->capents) {
        size_t cap = p->capents ? p->capents * 2 : 64;
        prof_entry *e = realloc(p->ents, cap * sizeof *e);
        if (!e)
            return UINT32_MAX;
        p->ents = e;
        const char **nm = realloc(p->names, cap * sizeof *nm);
        if (!nm)
            return UINT32_MAX;
        p->names = nm;
        lc_prof_kind *k = realloc(p->kinds, cap * sizeof *k);
        if (!k)
            return UINT32_MAX;
        p->kinds = k;
        p->capents = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return UINT32_MAX;
    uint32_t idx = (uint32_t)p->nents++;
    prof_entry *e = &p->ents[idx];
    memset(e, 0, sizeof *e);
    e->name = copy;
    e->kind = kind;
    p->names[idx] = copy;
    p->kinds[idx] = kind;
    uint32_t h = hash_str(name) & (uint32_t)(p->nbuckets - 1);
    e->next = p->buckets[h];
    p->buckets[h] = idx + 1;
    return idx;
}

/* This thread's state for p, started afresh for a new profiler. */
static prof_tls *thread_state(lc_prof *p)
{
    if (tls.id != p->id) {
        pthread_mutex_lock(&p->mu);
        uint32_t tid = (uint32_t)p->nthreads;
        if (p->nthreads == p->capthreads) {
            size_t cap = p->capthreads ? p->capthreads * 2 : 8;
            char **t = realloc(p->threads, cap * sizeof *t);
            if (!t) {
                pthread_mutex_unlock(&p->mu);
                return NULL;
            }
            p->threads = t;
            p->capthreads = cap;
        }
        p->threads[p->nthreads++] = NULL;
        pthread_mutex_unlock(&p->mu);
        tls.id = p->id;
        tls.tid = tid;
        tls.depth = 0;
    }
    return &tls;
}

void lc_prof_thread_name(lc_prof *p, const char *name)
{
    if (!p || !name)
        return;
    prof_tls *s = thread_state(p);
    if (!s)
        return;
    char *copy = strdup(name);
    if (!copy)
        return;
    pthread_mutex_lock(&p->mu);
    free(p->threads[s->tid]);
    p->threads[s->tid] = copy;
    pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------------ */
/* Spans                                                                     */

void lc_prof_begin(lc_prof *p, const char *name, lc_prof_kind kind)
{
    if (!p)
        return;
    prof_tls *s = thread_state(p);
    if (!s)
        return;
    int d = s->depth++;
    if (d >= PROF_MAX_DEPTH)
        return;
    prof_frame *f = &s->st[d];
    f->name = UINT32_MAX; /* dropped */
    f->child = 0;
    if (kind == LC_PROF_FUNC && p->mode == LC_PROF_SIMPLE) {
        f->t0 = -1;
        return;
    }
    pthread_mutex_lock(&p->mu);
    f->name = intern(p, name, kind);
    pthread_mutex_unlock(&p->mu);
    f->t0 = now_ns();
}

void lc_prof_end(lc_prof *p)
{
    if (!p)
        return;
    int64_t t1 = now_ns();
    prof_tls *s = thread_state(p);
    if (!s || s->depth == 0)
        return;
    int d = --s->depth;
    if (d >= PROF_MAX_DEPTH)
        return;
    prof_frame *f = &s->st[d];
    if (f->t0 < 0) {
        /* a function span simple mode drops: its time stays the parent's own */
        return;
    }
    int64_t dur = t1 - f->t0;
    /* the child's time leaves the nearest kept ancestor's self time (a
       function span simple mode drops is skipped over) */
    for (int k = d - 1; k >= 0; k--)
        if (s->st[k].t0 >= 0) {
            s->st[k].child += dur;
            break;
        }
    if (f->name == UINT32_MAX)
        return;
    pthread_mutex_lock(&p->mu);
    prof_entry *e = &p->ents[f->name];
    if (f->t0 >= p->stage_ns) { /* a span opened before the stage started is not its time */
        e->calls++;
        e->total_ns += dur;
        e->self_ns += dur - f->child;
        if (dur > e->max_ns)
            e->max_ns = dur;
    }
    e->take_ns += dur;
    if (p->mode == LC_PROF_TRACE) {
        if (p->nevents == p->capevents && p->capevents < PROF_MAX_EVENTS) {
            size_t cap = p->capevents ? p->capevents * 2 : 4096;
            lc_prof_event *ev = realloc(p->events, cap * sizeof *ev);
            if (ev) {
                p->events = ev;
                p->capevents = cap;
            }
        }
        if (p->nevents < p->capevents)
            p->events[p->nevents++] = (lc_prof_event){f->name, s->tid, f->t0 - p->t0_ns, dur};
        else
            p->dropped++;
    }
    pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------------ */
/* The hub's dispatcher                                                      */

static void hub_hook(int begin, const char *sink, const char *what)
{
    atomic_fetch_add(&hub_inflight, 1);
    lc_prof *p = atomic_load(&hub_prof);
    if (p) {
        if (tls.id != p->id)
            lc_prof_thread_name(p, "hub-dispatcher");
        if (begin) {
            char name[128];
            snprintf(name, sizeof name, "[Hub]%s.%s", sink ? sink : "?", what ? what : "?");
            lc_prof_begin(p, name, LC_PROF_FUNC);
        } else {
            lc_prof_end(p);
        }
    }
    atomic_fetch_sub(&hub_inflight, 1);
}

void lc_prof_attach_hub(lc_prof *p)
{
    if (!p || p->mode == LC_PROF_SIMPLE)
        return;
    atomic_store(&hub_prof, p);
    atomic_store(&lc_bus_prof_hook, hub_hook);
}

void lc_prof_detach_hub(lc_prof *p)
{
    if (!p)
        return;
    lc_prof *cur = p;
    if (!atomic_compare_exchange_strong(&hub_prof, &cur, NULL))
        return;
    atomic_store(&lc_bus_prof_hook, NULL);
    /* a dispatcher call that saw p finishes before p may go */
    while (atomic_load(&hub_inflight) > 0)
        sched_yield();
}

/* ------------------------------------------------------------------------ */
/* Stages, rows, takes                                                       */

void lc_prof_stage_start(lc_prof *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nents; i++) {
        prof_entry *e = &p->ents[i];
        e->calls = e->total_ns = e->self_ns = e->max_ns = 0;
    }
    p->stage_ns = now_ns();
    pthread_mutex_unlock(&p->mu);
}

static int row_cmp(const void *a, const void *b)
{
    const lc_prof_row *x = a, *y = b;
    if (x->total_s != y->total_s)
        return x->total_s < y->total_s ? 1 : -1;
    return strcmp(x->name, y->name);
}

lc_status lc_prof_rows(lc_prof *p, lc_prof_row **rows, size_t *n, double *stage_s)
{
    *rows = NULL;
    *n = 0;
    if (stage_s)
        *stage_s = 0;
    if (!p)
        return LC_OK;
    pthread_mutex_lock(&p->mu);
    lc_prof_row *r = malloc((p->nents ? p->nents : 1) * sizeof *r);
    if (!r) {
        pthread_mutex_unlock(&p->mu);
        return lc_fail(LC_ERR_NOMEM, "profiler: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < p->nents; i++) {
        const prof_entry *e = &p->ents[i];
        if (e->calls == 0)
            continue;
        r[k++] = (lc_prof_row){e->name, e->kind, e->calls, (double)e->total_ns * 1e-9,
                               (double)e->self_ns * 1e-9, (double)e->max_ns * 1e-9};
    }
    if (stage_s)
        *stage_s = (double)(now_ns() - p->stage_ns) * 1e-9;
    pthread_mutex_unlock(&p->mu);
    /* names stay valid: entries are never removed while p lives */
    qsort(r, k, sizeof *r, row_cmp);
    *rows = r;
    *n = k;
    return LC_OK;
}

double lc_prof_take(lc_prof *p, const char *name)
{
    if (!p)
        return 0;
    double s = 0;
    pthread_mutex_lock(&p->mu);
    if (p->nbuckets) {
        uint32_t h = hash_str(name) & (uint32_t)(p->nbuckets - 1);
        for (uint32_t i = p->buckets[h]; i; i = p->ents[i - 1].next)
            if (strcmp(p->ents[i - 1].name, name) == 0) {
                s = (double)p->ents[i - 1].take_ns * 1e-9;
                p->ents[i - 1].take_ns = 0;
                break;
            }
    }
    pthread_mutex_unlock(&p->mu);
    return s;
}

void lc_prof_lock(lc_prof *p, lc_prof_snapshot *s)
{
    pthread_mutex_lock(&p->mu);
    s->events = p->events;
    s->nevents = p->nevents;
    s->names = p->names;
    s->kinds = p->kinds;
    s->nnames = p->nents;
    s->threads = (const char *const *)p->threads;
    s->nthreads = p->nthreads;
    s->dropped = p->dropped;
}

void lc_prof_unlock(lc_prof *p)
{
    pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                   */

static void print_rule(FILE *f, int width)
{
    for (int i = 0; i < width; i++)
        fputc('-', f);
    fputc('\n', f);
}

/* SimpleProfiler's summary: a Total row, then every action by total time. */
static void report_simple(FILE *f, const char *stage, const lc_prof_row *r, size_t n,
                          double stage_s)
{
    int w = (int)strlen("Action");
    int64_t calls = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind != LC_PROF_ACTION)
            continue;
        int l = (int)strlen(r[i].name);
        if (l > w)
            w = l;
        calls += r[i].calls;
    }
    int width = w + 5 + 4 * 20 + 1;
    fputc('\n', f);
    for (const char *c = stage; c && *c; c++)
        fputc(*c >= 'a' && *c <= 'z' ? *c - 32 : *c, f);
    fprintf(f, "%sProfiler Report\n\n", stage && *stage ? " " : "");
    print_rule(f, width);
    fprintf(f, "|  %-*s  |  %-15s  |  %-15s  |  %-15s  |  %-15s  |\n", w, "Action",
            "Mean duration (s)", "Num calls", "Total time (s)", "Percentage %");
    print_rule(f, width);
    fprintf(f, "|  %-*s  |  %-17s  |  %-15lld  |  %-15.5g  |  %-15s  |\n", w, "Total", "-",
            (long long)calls, stage_s, "100 %");
    print_rule(f, width);
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind != LC_PROF_ACTION)
            continue;
        double pct = stage_s > 0 ? 100.0 * r[i].total_s / stage_s : 0;
        char pcts[32];
        snprintf(pcts, sizeof pcts, "%.5g", pct);
        fprintf(f, "|  %-*s  |  %-17.5g  |  %-15lld  |  %-15.5g  |  %-15s  |\n", w, r[i].name,
                r[i].total_s / (double)r[i].calls, (long long)r[i].calls, r[i].total_s, pcts);
    }
    print_rule(f, width);
    fputc('\n', f);
}

static int row_cmp_cum(const void *a, const void *b)
{
    const lc_prof_row *x = a, *y = b;
    if (x->total_s != y->total_s)
        return x->total_s < y->total_s ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* advanced: pstats' columns over every span, actions and functions. */
static void report_functions(FILE *f, const lc_prof_row *r, size_t n)
{
    lc_prof_row *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return;
    memcpy(s, r, n * sizeof *s);
    qsort(s, n, sizeof *s, row_cmp_cum);
    fprintf(f, "Profile stats for: lightc functions (self: without the profiled spans nested "
               "inside; sorted by cumulative time)\n\n");
    fprintf(f, "%12s %12s %12s %12s %12s  %s\n", "ncalls", "tottime", "percall", "cumtime",
            "percall", "function");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%12lld %12.6f %12.6f %12.6f %12.6f  %s%s\n", (long long)s[i].calls, s[i].self_s,
                s[i].self_s / (double)s[i].calls, s[i].total_s, s[i].total_s / (double)s[i].calls,
                s[i].name, s[i].kind == LC_PROF_FUNC ? "()" : "");
    fputc('\n', f);
    free(s);
}

static void report_to(FILE *f, lc_prof_mode mode, const char *stage, const lc_prof_row *r,
                      size_t n, double stage_s)
{
    report_simple(f, stage, r, n, stage_s);
    if (mode != LC_PROF_SIMPLE)
        report_functions(f, r, n);
}

lc_status lc_prof_report(lc_prof *p, const char *stage, const char *dir, FILE *f)
{
    if (!p)
        return LC_OK;
    lc_prof_row *r;
    size_t n;
    double stage_s;
    lc_status st = lc_prof_rows(p, &r, &n, &stage_s);
    if (st != LC_OK)
        return st;
    if (f)
        report_to(f, p->mode, stage, r, n, stage_s);
    if (dir && *dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s-profile.txt", dir, stage && *stage ? stage : "fit");
        FILE *out = fopen(path, "w");
        if (!out) {
            st = lc_fail(LC_ERR_IO, "profiler: cannot write %s: %s", path, strerror(errno));
        } else {
            report_to(out, p->mode, stage, r, n, stage_s);
            if (fclose(out) != 0)
                st = lc_fail(LC_ERR_IO, "profiler: cannot write %s: %s", path, strerror(errno));
        }
    }
    free(r);
    return st;
}
