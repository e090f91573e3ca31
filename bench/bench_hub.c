/*
 * bench/bench_hub.c — the logger hub's two speeds:
 *
 *  1. hot-path latency of lc_run_log_scalar (ns, median and p99.9), one
 *     uncontended producer and 4 producers, with the queue fed at no more
 *     than half the measured drain rate (so the numbers are the call, not
 *     the back-pressure);
 *  2. sustained end-to-end throughput into sqlite+csv (scalars/s from the
 *     first call until a flush confirms everything is committed), checked
 *     to be one index row per point with (run, key, step) unique.
 *
 * Each call is timed with the TSC (lfence+rdtsc before, rdtscp+lfence
 * after, calibrated against CLOCK_MONOTONIC). The figures include the cost
 * of that timing itself, which is measured on an empty region and printed
 * beside them (not subtracted: out-of-order overlap makes a subtraction
 * meaningless). Usage: bench_hub [--scalars N] [--root DIR]
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "lightc/hub.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double ns_per_tick;

static inline uint64_t tsc_begin(void)
{
    _mm_lfence();
    return __rdtsc();
}

static inline uint64_t tsc_end(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

static void calibrate(void)
{
    double t0 = now_s();
    uint64_t c0 = __rdtsc();
    while (now_s() - t0 < 0.2)
        ;
    double t1 = now_s();
    uint64_t c1 = __rdtsc();
    ns_per_tick = (t1 - t0) * 1e9 / (double)(c1 - c0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1));
    return (double)v[i] * ns_per_tick;
}

static lc_hub *open_hub(const char *root, const char *loggers)
{
    lc_hub_options o = {.root = root, .loggers = loggers};
    lc_hub *hub;
    if (lc_hub_open(&hub, &o) != LC_OK) {
        fprintf(stderr, "bench_hub: %s\n", lc_errmsg());
        exit(1);
    }
    return hub;
}

static lc_run *start(lc_hub *hub, const char *name)
{
    lc_run_options ro = {.experiment = "bench", .name = name, .resume_step = -1};
    lc_run *run;
    if (lc_run_start(hub, &ro, &run) != LC_OK) {
        fprintf(stderr, "bench_hub: %s\n", lc_errmsg());
        exit(1);
    }
    return run;
}

/* ---- throughput --------------------------------------------------------- */

static double sustained(const char *root, const char *loggers, long n, const char *name, int check)
{
    lc_hub *hub = open_hub(root, loggers);
    lc_run *run = start(hub, name);
    enum { KEYS = 10 };
    lc_tag tags[KEYS];
    for (int k = 0; k < KEYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "train/metric_%d", k);
        tags[k] = lc_run_tag(run, key);
    }
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        lc_run_log_scalar(run, tags[i % KEYS], (double)i * 0.001, i / KEYS);
    lc_hub_flush(hub, 0);
    double dt = now_s() - t0;
    char id[33];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    if (check) {
        char path[4096], sql[256];
        snprintf(path, sizeof path, "%s/index.db", root);
        sqlite3 *db;
        sqlite3_open(path, &db);
        snprintf(sql, sizeof sql, "select count(*), count(distinct key||':'||step) from metrics where run_id='%s'", id);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_step(st);
        long rows = sqlite3_column_int64(st, 0), uniq = sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (rows != n || uniq != n) {
            fprintf(stderr, "bench_hub: CHECK FAILED: %ld rows, %ld unique, expected %ld\n", rows, uniq, n);
            exit(1);
        }
    }
    return (double)n / dt;
}

/* ---- latency ------------------------------------------------------------ */

typedef struct {
    lc_run *run;
    lc_tag tag;
    long n;
    uint64_t gap_ticks; /* minimum ticks between calls (rate limit) */
    uint64_t *lat;
} lat_arg;

static void *lat_worker(void *p)
{
    lat_arg *a = p;
    uint64_t next = __rdtsc();
    for (long i = 0; i < a->n; i++) {
        while (__rdtsc() < next)
            _mm_pause();
        uint64_t t0 = tsc_begin();
        lc_run_log_scalar(a->run, a->tag, (double)i, i);
        uint64_t t1 = tsc_end();
        a->lat[i] = t1 - t0;
        next = t1 + a->gap_ticks;
    }
    return NULL;
}

static uint64_t timing_overhead(void)
{
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) {
        uint64_t t0 = tsc_begin();
        __asm__ __volatile__("" ::: "memory");
        v[i] = tsc_end() - t0;
    }
    qsort(v, N, sizeof *v, cmp_u64);
    uint64_t m = v[N / 2];
    free(v);
    return m;
}

static double timer_ns;

static void latency(const char *root, int threads, long per_thread, double rate_total, double *med, double *p999)
{
    lc_hub *hub = open_hub(root, "sqlite,csv");
    char name[32];
    snprintf(name, sizeof name, "latency_%dp", threads);
    lc_run *run = start(hub, name);
    pthread_t th[8];
    lat_arg args[8];
    double per_thread_rate = rate_total / threads;
    uint64_t gap = (uint64_t)(1e9 / per_thread_rate / ns_per_tick);
    for (int t = 0; t < threads; t++) {
        char key[32];
        snprintf(key, sizeof key, "lat/p%d", t);
        args[t] = (lat_arg){run, lc_run_tag(run, key), per_thread, gap, malloc((size_t)per_thread * sizeof(uint64_t))};
        pthread_create(&th[t], NULL, lat_worker, &args[t]);
    }
    size_t total = (size_t)threads * (size_t)per_thread;
    uint64_t *all = malloc(total * sizeof *all);
    timer_ns = (double)timing_overhead() * ns_per_tick;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        memcpy(all + (size_t)t * per_thread, args[t].lat, (size_t)per_thread * sizeof *all);
        free(args[t].lat);
    }
    qsort(all, total, sizeof *all, cmp_u64);
    *med = pct(all, total, 0.5);
    *p999 = pct(all, total, 0.999);
    free(all);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
}

static double median3(double a, double b, double c)
{
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}

int main(int argc, char **argv)
{
    long n = 2000000;
    const char *root = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scalars") && i + 1 < argc)
            n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else {
            fprintf(stderr, "usage: bench_hub [--scalars N] [--root DIR]\n");
            return 2;
        }
    }
    char tmpl[] = "/tmp/lightc-bench-XXXXXX";
    if (!root)
        root = mkdtemp(tmpl);
    calibrate();

    /* sustained: median of 3 */
    double r[3], rs[3], rc[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "sustained_%d", i);
        r[i] = sustained(root, "sqlite,csv", n, name, 1);
        snprintf(name, sizeof name, "sqlite_only_%d", i);
        rs[i] = sustained(root, "sqlite", n, name, 0);
        snprintf(name, sizeof name, "csv_only_%d", i);
        rc[i] = sustained(root, "csv", n, name, 0);
    }
    double drain = median3(r[0], r[1], r[2]);

    /* latency at half the drain rate */
    long per = 1000000;
    double m1, p1, m4, p4;
    latency(root, 1, per, drain / 2, &m1, &p1);
    latency(root, 4, per / 4, drain / 2, &m4, &p4);

    printf("lightc logger hub benchmark (%ld scalars, 10 keys, one dispatcher thread)\n\n", n);
    printf("| measure | lightc | target | ratio |\n|---|---|---|---|\n");
    printf("| log call, 1 producer, median | %.1f ns | < 50 ns | %.2fx under |\n", m1, 50.0 / m1);
    printf("| log call, 1 producer, p99.9 | %.1f ns | - | - |\n", p1);
    printf("| log call, 4 producers, median | %.1f ns | (reported) | - |\n", m4);
    printf("| log call, 4 producers, p99.9 | %.1f ns | (reported) | - |\n", p4);
    printf("| sustained sqlite+csv | %.0f scalars/s | >= 500,000 | %.2fx |\n", drain, drain / 500000.0);
    printf("| sustained sqlite only | %.0f scalars/s | - | - |\n", median3(rs[0], rs[1], rs[2]));
    printf("| sustained csv only | %.0f scalars/s | - | - |\n", median3(rc[0], rc[1], rc[2]));
    printf("\n(latency measured with the queue fed at %.0f scalars/s = half the drain rate; it includes "
           "the timing itself, %.1f ns on an empty region; sustained = median of 3, each checked: one "
           "index row per point, (run,key,step) unique)\n",
           drain / 2, timer_ns);
    return 0;
}
