/*
 * bench/bench_tensorboard.c — how fast lightc writes tfevents files.
 *
 *  1. CRC-32C throughput (GB/s) of the hardware path (SSE4.2 / ARMv8 CRC)
 *     and of the portable slicing-by-8 path, on a 16 MiB buffer;
 *  2. the TensorBoard sink alone: scalars/s from hand-made event batches
 *     (4,096 events each, as the dispatcher hands them) through
 *     write_batch, flush and finish (fdatasync included). Each scalar is its
 *     own record with its own wall time, so every one becomes its own Event,
 *     as in the Python writers (no grouping);
 *  3. end to end through the hub: lc_run_log_scalar from the caller's
 *     thread until lc_run_finish returns with everything on disk, sink
 *     "tensorboard" only.
 *
 * The workload is the one bench/tb_peers.py gives tensorboardX and
 * tensorboard.summary.Writer: tags train/loss, train/acc, lr, grad_norm;
 * steps 0..S-1; value = f(tag, step). lightc repeats it R times (fresh runs)
 * and reports the median. Output: "KEY VALUE" lines for
 * bench/run_tensorboard_bench, which prints the table.
 *
 * Usage: bench_tensorboard [--steps S] [--repeat R] [--root DIR]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "event.pb-c.h"
#include "tensorboard/tfrecord.h"
#include "lightc/hub.h"
#include "bus/sink.h"

#define NTAGS 4
static const char *const tag_names[NTAGS] = {"train/loss", "train/acc", "lr", "grad_norm"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double value_of(int t, long s)
{
    return 1.0 / (double)(s + 1 + t);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_tensorboard: could not remove %s\n", dir);
}

/* Count the simple_value scalars in the events files of dir, checking every
   record's CRCs: the numbers above only count if everything was written. */
static long count_scalars(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, "tfevents"))
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            return -1;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc((size_t)len);
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
            n = -1;
        fclose(f);
        size_t off = 0, plen;
        const uint8_t *p;
        lc_tfr_status st;
        while (n >= 0 && (st = lc_tfr_next(buf, (size_t)len, &off, &p, &plen)) == LC_TFR_OK) {
            Tensorboard__Event *ev = tensorboard__event__unpack(NULL, plen, p);
            if (!ev) {
                n = -1;
                break;
            }
            if (ev->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY)
                for (size_t i = 0; i < ev->summary->n_value; i++)
                    n += ev->summary->value[i]->value_case ==
                         TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
            tensorboard__event__free_unpacked(ev, NULL);
        }
        if (n >= 0 && st != LC_TFR_END)
            n = -1;
        free(buf);
    }
    closedir(d);
    return n;
}

/* ---- 1. CRC ------------------------------------------------------------- */

static double crc_gbps(int hw)
{
    size_t n = (size_t)16 << 20;
    unsigned char *buf = malloc(n);
    if (!buf)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 13);
    volatile uint32_t sink = 0;
    double t0 = now_s(), t;
    size_t bytes = 0;
    do {
        sink ^= hw ? lc_crc32c_hw(0, buf, n) : lc_crc32c_portable(0, buf, n);
        bytes += n;
        t = now_s() - t0;
    } while (t < 0.5);
    free(buf);
    (void)sink;
    return (double)bytes / t / 1e9;
}

/* ---- 2. the sink alone -------------------------------------------------- */

static double sink_once(const char *root, long steps, int rep, lc_event *ev, size_t nev)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sink/run%d", root, rep);
    lc_run_info *run = calloc(1, sizeof *run);
    run->root = root;
    run->experiment = "sink";
    run->name = "run";
    run->dir = dir;
    run->start_time = (double)time(NULL);
    run->resume_step = -1;
    for (int t = 0; t < NTAGS; t++) /* interned as the hub does */
        lc_key_table_set(&run->keys, (uint32_t)t + 1, tag_names[t]);
    for (size_t i = 0; i < nev; i++)
        ev[i].run = run;
    lc_sink s;
    memset(&s, 0, sizeof s);
    char err[LC_ERRLEN];
    lc_sink_config cfg = {.root = root};
    if (lc_sink_tensorboard_new(&cfg, &s, err, sizeof err) ||
        s.vt->open_run(&s, run, err, sizeof err)) {
        fprintf(stderr, "bench_tensorboard: %s\n", err);
        exit(1);
    }
    double t0 = now_s();
    for (size_t i = 0; i < nev; i += 4096) {
        lc_event_batch b = {ev + i, nev - i < 4096 ? nev - i : 4096};
        if (s.vt->write_batch(&s, &b, err, sizeof err)) {
            fprintf(stderr, "bench_tensorboard: %s\n", err);
            exit(1);
        }
    }
    run->status = LC_RUN_FINISHED;
    run->end_time = (double)time(NULL);
    if (s.vt->finish_run(&s, run, err, sizeof err)) {
        fprintf(stderr, "bench_tensorboard: %s\n", err);
        exit(1);
    }
    double t = now_s() - t0;
    s.vt->close(&s);
    lc_key_table_free(&run->keys);
    free(run);
    (void)steps;
    return t;
}

/* ---- 3. through the hub ------------------------------------------------- */

static double hub_once(const char *root, long steps, int rep)
{
    lc_hub_options o = {.root = root, .loggers = "tensorboard"};
    lc_hub *hub;
    if (lc_hub_open(&hub, &o) != LC_OK) {
        fprintf(stderr, "bench_tensorboard: %s\n", lc_errmsg());
        exit(1);
    }
    char name[32];
    snprintf(name, sizeof name, "run%d", rep);
    lc_run_options ro = {.experiment = "hub", .name = name};
    lc_run *run;
    if (lc_run_start(hub, &ro, &run) != LC_OK) {
        fprintf(stderr, "bench_tensorboard: %s\n", lc_errmsg());
        exit(1);
    }
    lc_tag tags[NTAGS];
    for (int t = 0; t < NTAGS; t++)
        tags[t] = lc_run_tag(run, tag_names[t]);
    double t0 = now_s();
    for (long s = 0; s < steps; s++)
        for (int t = 0; t < NTAGS; t++)
            lc_run_log_scalar(run, tags[t], value_of(t, s), s);
    lc_run_finish(run, LC_RUN_FINISHED);
    double t = now_s() - t0;
    lc_hub_close(hub, 0);
    return t;
}

int main(int argc, char **argv)
{
    long steps = 25000;
    int repeat = 10;
    char root[4096] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atol(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--root") && i + 1 < argc)
            snprintf(root, sizeof root, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_tensorboard [--steps S] [--repeat R] [--root DIR]\n");
            return 2;
        }
    }
    if (steps < 1 || repeat < 1 || repeat > 1000) {
        fprintf(stderr, "bench_tensorboard: --steps must be >= 1, --repeat 1..1000\n");
        return 2;
    }
    int own_root = !root[0];
    if (own_root) {
        snprintf(root, sizeof root, "/tmp/lightc-bench-tb-XXXXXX");
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            return 1;
        }
    }
    long n = steps * NTAGS;

    printf("crc32c_impl %s\n", lc_crc32c_impl());
    if (lc_crc32c_hw_available())
        printf("crc32c_hw_gbps %.2f\n", crc_gbps(1));
    printf("crc32c_portable_gbps %.2f\n", crc_gbps(0));

    /* events: NTAGS key events, then one record per scalar */
    size_t nev = (size_t)n + NTAGS;
    lc_event *ev = calloc(nev, sizeof *ev);
    lc_key_payload keys[NTAGS];
    for (int t = 0; t < NTAGS; t++) {
        keys[t] = (lc_key_payload){.key = (char *)tag_names[t], .original = (char *)tag_names[t]};
        ev[t] = (lc_event){.kind = LC_EV_KEY, .tag = (uint32_t)t + 1, .payload = &keys[t]};
    }
    double wall = (double)time(NULL);
    size_t k = NTAGS;
    for (long s = 0; s < steps; s++)
        for (int t = 0; t < NTAGS; t++, k++)
            ev[k] = (lc_event){.kind = LC_EV_SCALAR, .tag = (uint32_t)t + 1, .step = s,
                               .value = value_of(t, s), .wall_time = wall + (double)k * 1e-6,
                               .flags = LC_EV_RECORD_END};

    double *ts = malloc((size_t)repeat * sizeof *ts);
    for (int r = 0; r < repeat; r++)
        ts[r] = sink_once(root, steps, r, ev, nev);
    double sink_t = median(ts, repeat);
    for (int r = 0; r < repeat; r++)
        ts[r] = hub_once(root, steps, r);
    double hub_t = median(ts, repeat);

    /* every run wrote every scalar, in frames that check */
    for (int r = 0; r < repeat; r++) {
        char dir[8192];
        snprintf(dir, sizeof dir, "%s/sink/run%d", root, r);
        long got = count_scalars(dir);
        snprintf(dir, sizeof dir, "%s/hub/run%d", root, r);
        long got_hub = count_scalars(dir);
        if (got != n || got_hub != n) {
            fprintf(stderr, "bench_tensorboard: run %d wrote %ld (sink) / %ld (hub) scalars, "
                    "expected %ld\n", r, got, got_hub, n);
            return 1;
        }
    }
    printf("scalars %ld\n", n);
    printf("repeat %d\n", repeat);
    printf("lightc_sink_scalars_per_s %.0f\n", (double)n / sink_t);
    printf("lightc_hub_scalars_per_s %.0f\n", (double)n / hub_t);
    free(ts);
    free(ev);
    if (own_root)
        rm_rf(root);
    return 0;
}
