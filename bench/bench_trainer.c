/*
 * bench/bench_trainer.c — what the trainer costs: samples/s of the same
 * MLP (784-512-256-10, ReLU, dropout 0.2, AdamW, batch 128) on
 * Fashion-MNIST trained
 *   1. by a bare hand-written loop on the same kernels (lc_seq + lc_optim +
 *      the dataloader: forward, cross-entropy, zero_grad, backward, step);
 *   2. by the trainer with no loggers (hooks, lc_log, schedulers,
 *      checkpoints, histograms — everything but the sinks);
 *   3. by the trainer with the default loggers of `lightc train` minus the
 *      console (SQLite index, TensorBoard, CSV);
 *   4. (--profiler simple|advanced|trace) by the trainer with no loggers and
 *      that profiler on: its overhead is row 4 against row 2.
 * Repetitions alternate the three so drifts in machine load hit all of
 * them; the median run counts. It also measures OpenBLAS SGEMM on
 * 1024^3 matrices with the same thread count, in the same process (after
 * the timed runs), and
 * reports each mode's useful GFLOP/s (the GEMMs of forward and backward)
 * against it (OpenBLAS's own threading with N threads for the peak; the
 * kernels slice their GEMMs over their own N threads, blas_info.h).
 *
 * Usage: bench_trainer [--threads N] [--epochs E] [--reps R] [--limit-batches N]
 *                      [--data DIR] [--json PATH] [--profiler MODE]
 * Environment: LC_BENCH_ONLY=bare|trainer|hub runs one mode (for perf stat),
 * LC_BENCH_VERBOSE=1 splits the trainer's time into fit and run finish.
 * (bench/run_trainer_bench adds PyTorch on CPU with the same settings.)
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas_info.h"
#include "data.h"
#include "datamodule.h"
#include "lightc/trainer.h"
#include "optim.h"
#include "params.h"
#include "rng.h"

#define B_SEED 42
#define B_BATCH 128
static const int64_t b_hidden[2] = {512, 256};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- SGEMM peak -------------------------------------------------------------- */

static double sgemm_gflops(int n, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
          *c = malloc(sizeof(float) * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)((i * 7) % 13) * 0.1f;
        b[i] = (float)((i * 5) % 11) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double g = 2.0 * n * n * (double)n / (now_s() - t0) / 1e9;
        if (g > best)
            best = g;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* GEMM flops per sample: forward x W^T for every layer, dW for every
 * layer, dx for every layer but the first (nobody needs it). */
static double flops_per_sample(void)
{
    int64_t dims[4] = {784, b_hidden[0], b_hidden[1], 10};
    double f = 0;
    for (int l = 0; l < 3; l++)
        f += 2.0 * (double)dims[l] * (double)dims[l + 1] * (l == 0 ? 2 : 3);
    return f;
}

/* ---- 1. the bare loop -------------------------------------------------------- */

/* Seconds spent in the model's own work (forward + loss, zero_grad,
 * backward, optimizer step) during the last run: what the trainer and the
 * bare loop share. The rest of a run's time — data loading in both, plus
 * hooks, logging, checkpoints and the hub in the trainer — is its
 * "residual"; the difference of residuals is the trainer's overhead, a
 * measure that the machine's speed drifts hardly touch. */
static double g_compute;

static double run_bare(const lc_dataset *train, int64_t epochs, int64_t limit, int64_t *samples)
{
    lc_seq *seq;
    lc_seq_mlp(&seq, 784, b_hidden, 2, 10, LC_ACT_RELU, 0.2f, B_SEED);
    lc_optim_config oc;
    lc_optim_config_default(&oc, LC_OPTIM_ADAMW);
    lc_optim *opt;
    lc_optim_create(&opt, lc_seq_params(seq), &oc);
    lc_dataloader_options dlo;
    lc_dataloader_options_default(&dlo);
    dlo.batch_size = B_BATCH;
    dlo.shuffle = 1;
    dlo.seed = B_SEED;
    lc_dataloader *dl;
    lc_dataloader_create(&dl, train, &dlo);
    lc_rng rng;
    lc_rng_seed(&rng, B_SEED, 2);
    *samples = 0;
    g_compute = 0;
    double t0 = now_s();
    for (int64_t e = 0; e < epochs; e++) {
        lc_dataloader_set_epoch(dl, e);
        lc_batch b;
        for (int64_t i = 0; (limit <= 0 || i < limit) && lc_dataloader_next(dl, &b); i++) {
            const float *out;
            double loss;
            int64_t correct;
            double c0 = now_s();
            lc_seq_forward(seq, b.x, (int64_t)b.size, 1, &rng, &out);
            lc_seq_cross_entropy(seq, b.y, &loss, &correct);
            lc_optim_zero_grad(opt);
            lc_seq_backward(seq, 1.0);
            lc_optim_step(opt);
            g_compute += now_s() - c0;
            *samples += (int64_t)b.size;
        }
    }
    double t = now_s() - t0;
    lc_dataloader_free(dl);
    lc_optim_free(opt);
    lc_seq_free(seq);
    return t;
}

/* ---- 2./3. the trainer ------------------------------------------------------- */

typedef struct bench_module {
    lc_module base;
    lc_seq *seq;
    int64_t samples;
    double mark; /* start of a timed span between two hooks */
} bench_module;

/* zero_grad runs between on_before_zero_grad and on_before_backward, the
 * optimizer step between on_before_optimizer_step and on_train_batch_end */
static lc_status bm_mark(lc_module *m, lc_trainer *t)
{
    (void)t;
    ((bench_module *)m)->mark = now_s();
    return LC_OK;
}

static lc_status bm_span(lc_module *m, lc_trainer *t)
{
    (void)t;
    g_compute += now_s() - ((bench_module *)m)->mark;
    return LC_OK;
}

static lc_status bm_batch_end(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i)
{
    (void)b, (void)i;
    return bm_span(m, t);
}

static lc_status bm_configure(lc_module *m, lc_trainer *t, lc_optimizers *out)
{
    (void)m, (void)t;
    return lc_optimizer_spec_default(&out->optimizer, "AdamW");
}

static lc_status bm_training_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i,
                                  double *loss)
{
    (void)i;
    bench_module *bm = (bench_module *)m;
    const float *out;
    int64_t correct;
    double c0 = now_s();
    lc_status st = lc_seq_forward(bm->seq, b->x, b->size, 1, lc_trainer_rng(t), &out);
    if (st == LC_OK)
        st = lc_seq_cross_entropy(bm->seq, b->y, loss, &correct);
    g_compute += now_s() - c0;
    if (st == LC_OK)
        st = lc_log(t, "train/loss", *loss, NULL);
    if (st == LC_OK)
        st = lc_log(t, "train/acc", (double)correct / (double)b->size, NULL);
    bm->samples += b->size;
    return st;
}

static lc_status bm_backward(lc_module *m, lc_trainer *t, double scale)
{
    (void)t;
    double c0 = now_s();
    lc_status st = lc_seq_backward(((bench_module *)m)->seq, scale);
    g_compute += now_s() - c0;
    return st;
}

static double run_trainer(lc_datamodule *dm, const char *root, const char *loggers, int rep,
                          int threads, int64_t epochs, int64_t limit, int64_t *samples,
                          const char *profiler)
{
    bench_module m = {0};
    lc_seq_mlp(&m.seq, 784, b_hidden, 2, 10, LC_ACT_RELU, 0.2f, B_SEED);
    m.base.name = "MLP";
    m.base.params = lc_seq_params(m.seq);
    m.base.configure_optimizers = bm_configure;
    m.base.training_step = bm_training_step;
    m.base.backward = bm_backward;
    m.base.on_before_zero_grad = bm_mark;
    m.base.on_before_backward = bm_span;
    m.base.on_before_optimizer_step = bm_mark;
    m.base.on_train_batch_end = bm_batch_end;
    lc_trainer_config c;
    lc_trainer_config_default(&c);
    c.max_epochs = epochs;
    c.seed = B_SEED;
    c.threads = threads;
    c.default_root_dir = root;
    c.loggers = loggers;
    c.profiler = profiler;
    c.enable_model_summary = 0;
    c.enable_progress_bar = 0;
    c.num_sanity_val_steps = 0;
    c.limit_val_batches = (lc_amount){LC_AMOUNT_FRACTION, 0.0};
    if (limit > 0)
        c.limit_train_batches = (lc_amount){LC_AMOUNT_COUNT, (double)limit};
    char name[64];
    snprintf(name, sizeof name, "%s-%d", profiler ? "prof" : strcmp(loggers, "none") ? "hub" : "nolog",
             rep);
    c.experiment = "bench";
    c.name = name;
    lc_trainer *t;
    double elapsed = NAN;
    g_compute = 0;
    if (lc_trainer_create(&t, &c) == LC_OK) {
        double t0 = now_s();
        lc_status st = lc_trainer_fit(t, &m.base, dm, NULL);
        double t1 = now_s();
        lc_trainer_free(t); /* the run is finished: every event reached the sinks */
        elapsed = now_s() - t0;
        if (getenv("LC_BENCH_VERBOSE"))
            fprintf(stderr, "  fit %.3f s, finish %.3f s\n", t1 - t0, elapsed - (t1 - t0));
        if (st != LC_OK)
            fprintf(stderr, "bench_trainer: fit: %s\n", lc_errmsg());
    }
    *samples = m.samples;
    lc_seq_free(m.seq);
    return elapsed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    int threads = 2, reps = 3;
    int64_t epochs = 1, limit = 0;
    const char *data = NULL, *json = NULL, *profiler = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--limit-batches") && i + 1 < argc) limit = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--profiler") && i + 1 < argc) profiler = argv[++i];
        else {
            fprintf(stderr, "usage: bench_trainer [--threads N] [--epochs E] [--reps R] "
                    "[--limit-batches N] [--data DIR] [--json PATH] [--profiler MODE]\n");
            return 2;
        }
    }
    if (threads < 1 || reps < 1 || reps > 64 || epochs < 1) {
        fprintf(stderr, "bench_trainer: threads, epochs and reps must be >= 1 (reps <= 64)\n");
        return 2;
    }
    lc_blas_set_threads(threads);
    lc_data_options dopt = {.dir = data, .batch_size = B_BATCH, .val_size = 5000};
    lc_datamodule *dm;
    if (lc_datamodule_mnist(&dm, &dopt) != LC_OK) {
        fprintf(stderr, "bench_trainer: %s\n", lc_errmsg());
        return 1;
    }
    const lc_dataset *train = lc_datamodule_split(dm, LC_SPLIT_TRAIN);
    char root[] = "/tmp/lightc-bench-XXXXXX";
    if (!mkdtemp(root)) {
        perror("bench_trainer: mkdtemp");
        return 1;
    }

    int64_t warm;
    run_bare(train, 1, 30, &warm); /* warm-up: BLAS threads, page faults, caches */
    double tb[64], tn[64], th[64], cb[64], cn[64], ch[64], tp[64];
    int64_t sb = 0, sn = 0, sh = 0, sp = 0;
    const char *only = getenv("LC_BENCH_ONLY"); /* bare | trainer | hub: one mode, for perf stat */
    for (int r = 0; r < reps; r++) {
        /* rotate the order so no mode always runs first */
        for (int k = 0; k < 3; k++) {
            int mode = (r + k) % 3;
            if (only && strcmp(only, mode == 0 ? "bare" : mode == 1 ? "trainer" : "hub") != 0)
                continue;
            switch (mode) {
            case 0:
                tb[r] = run_bare(train, epochs, limit, &sb);
                cb[r] = g_compute;
                break;
            case 1:
                tn[r] = run_trainer(dm, root, "none", r, threads, epochs, limit, &sn, NULL);
                cn[r] = g_compute;
                /* the profiler's cost: the same run right after, profiler on */
                if (profiler)
                    tp[r] = run_trainer(dm, root, "none", r, threads, epochs, limit, &sp,
                                        profiler);
                break;
            default:
                th[r] = run_trainer(dm, root, LC_DEFAULT_LOGGERS, r, threads, epochs, limit,
                                    &sh, NULL);
                ch[r] = g_compute;
                break;
            }
        }
        fprintf(stderr, "rep %d: bare %.3f s (compute %.3f), trainer %.3f s (%.3f), "
                "trainer+loggers %.3f s (%.3f)\n", r, tb[r], cb[r], tn[r], cn[r], th[r], ch[r]);
    }
    /* The peak is OpenBLAS's own threaded SGEMM with `threads` threads; the
       kernels keep OpenBLAS at one thread and slice GEMMs over their own
       pool (blas_info.h), so set its count for the peak and put it back.
       Measured after the timed runs: OpenBLAS's pthread workers spin in
       sched_yield for ~0.1 s after their last GEMM, which would take a
       core from the first timed run. */
    openblas_set_num_threads(threads);
    double peak = sgemm_gflops(1024, 5);
    lc_blas_set_threads(threads);
    /* overhead: the median over repetitions of trainer time / bare time of
       the same repetition (paired, so slow drifts of the machine cancel),
       with the range, since a shared VM is noisy */
    double rn[64], rh[64], lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int r = 0; r < reps; r++) {
        rn[r] = tn[r] / tb[r];
        rh[r] = th[r] / tb[r];
        lo[0] = fmin(lo[0], rn[r]), hi[0] = fmax(hi[0], rn[r]);
        lo[1] = fmin(lo[1], rh[r]), hi[1] = fmax(hi[1], rh[r]);
    }
    double on = median(rn, reps) - 1, oh = median(rh, reps) - 1;
    /* residual overhead: (trainer residual - bare residual) / bare time */
    double qn[64], qh[64];
    for (int r = 0; r < reps; r++) {
        qn[r] = ((tn[r] - cn[r]) - (tb[r] - cb[r])) / tb[r];
        qh[r] = ((th[r] - ch[r]) - (tb[r] - cb[r])) / tb[r];
    }
    double resn = median(qn, reps), resh = median(qh, reps);
    double mb = median(tb, reps), mnl = median(tn, reps), mh = median(th, reps);
    if (sb != sn || sb != sh)
        fprintf(stderr, "bench_trainer: warning: sample counts differ (%lld, %lld, %lld)\n",
                (long long)sb, (long long)sn, (long long)sh);
    double fps = flops_per_sample();
    const char *names[3] = {"bare loop (same kernels)", "trainer, no loggers",
                            "trainer + " LC_DEFAULT_LOGGERS};
    double secs[3] = {mb, mnl, mh};
    int64_t samples[3] = {sb, sn, sh};
    printf("MLP 784-512-256-10, batch %d, AdamW, %lld epoch(s) x %lld samples, %d BLAS thread(s), "
           "median of %d\n", B_BATCH, (long long)epochs, (long long)(sb / epochs), threads, reps);
    printf("%s\n", lc_blas_info());
    printf("OpenBLAS SGEMM 1024^3 peak (%d threads): %.1f GFLOP/s\n\n", threads, peak);
    printf("%-34s %11s %9s %8s %10s %18s %10s\n", "mode", "samples/s", "GFLOP/s", "% peak",
           "overhead", "(range over reps)", "residual");
    for (int i = 0; i < 3; i++) {
        double sps = (double)samples[i] / secs[i], gf = sps * fps / 1e9;
        char ov[32] = "-", range[40] = "", res[32] = "-";
        if (i > 0) {
            snprintf(res, sizeof res, "%+.2f%%", 100.0 * (i == 1 ? resn : resh));
            snprintf(ov, sizeof ov, "%+.2f%%", 100.0 * (i == 1 ? on : oh));
            snprintf(range, sizeof range, "[%+.1f%%, %+.1f%%]", 100.0 * (lo[i - 1] - 1),
                     100.0 * (hi[i - 1] - 1));
        }
        printf("%-34s %11.0f %9.2f %7.1f%% %10s %18s %10s\n", names[i], sps, gf, 100.0 * gf / peak,
               ov, range, res);
    }
    if (profiler) {
        /* paired per repetition: profiler on / off of the same repetition */
        double rp[64], plo = INFINITY, phi = -INFINITY;
        for (int r = 0; r < reps; r++) {
            rp[r] = tp[r] / tn[r];
            plo = fmin(plo, rp[r]), phi = fmax(phi, rp[r]);
        }
        double op = median(rp, reps) - 1, mp = median(tp, reps);
        printf("%-34s %11.0f %9s %8s %10s %18s   (vs trainer, no loggers)\n",
               profiler, (double)sp / mp, "", "", "", "");
        printf("profiler=%s overhead: %+.2f%% [%+.1f%%, %+.1f%%] over the trainer without it\n",
               profiler, 100.0 * op, 100.0 * (plo - 1), 100.0 * (phi - 1));
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (f) {
            fprintf(f, "{\"threads\": %d, \"batch\": %d, \"epochs\": %lld, \"sgemm_peak_gflops\": "
                    "%.3f, \"flops_per_sample\": %.0f, \"bare_sps\": %.3f, \"trainer_sps\": %.3f, "
                    "\"trainer_loggers_sps\": %.3f, \"trainer_overhead\": %.5f, "
                    "\"trainer_loggers_overhead\": %.5f, \"trainer_residual_overhead\": %.5f, "
                    "\"trainer_loggers_residual_overhead\": %.5f}\n", threads, B_BATCH,
                    (long long)epochs, peak, fps, (double)sb / mb, (double)sn / mnl,
                    (double)sh / mh, on, oh, resn, resh);
            fclose(f);
        }
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_trainer: could not remove %s\n", root);
    lc_datamodule_free(dm);
    return 0;
}
