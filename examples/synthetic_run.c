/*
 * examples/synthetic_run.c — the logger hub from a plain C training loop.
 *
 * Logs a synthetic training run (a noisy decaying loss, a rising accuracy,
 * a learning-rate schedule, weight histograms and a text note) the way any
 * C/C++/CUDA loop would: open a hub, start a run, intern the keys once, log
 * inside the loop, finish. Afterwards: `tensorboard --logdir runs` or
 * `build/lightc runs ls --root runs`.
 *
 * Usage: synthetic_run [--root DIR] [--experiment NAME] [--name NAME] [--steps N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/hub.h"

int main(int argc, char **argv)
{
    const char *root = NULL, *experiment = "synthetic", *name = NULL;
    int steps = 2000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc) root = argv[++i];
        else if (!strcmp(argv[i], "--experiment") && i + 1 < argc) experiment = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: synthetic_run [--root DIR] [--experiment NAME] [--name NAME] [--steps N]\n");
            return 2;
        }
    }

    /* 1. A hub under --root, else $LIGHTC_ROOT, else ./runs: the sinks come
          from LIGHTC_LOGGERS or the default (LC_DEFAULT_LOGGERS); we add the
          console. SIGINT finishes the run as killed. */
    lc_hub_options opt = {.root = root, .handle_signals = 1};
    if (!getenv("LIGHTC_LOGGERS"))
        opt.loggers = LC_DEFAULT_LOGGERS ",console";
    lc_hub *hub;
    if (lc_hub_open(&hub, &opt) != LC_OK) {
        fprintf(stderr, "synthetic_run: %s\n", lc_errmsg());
        return 1;
    }

    /* 2. A run, with its hyperparameters. */
    lc_run_options ro = {.experiment = experiment, .name = name};
    lc_run *run;
    if (lc_run_start(hub, &ro, &run) != LC_OK) {
        fprintf(stderr, "synthetic_run: %s\n", lc_errmsg());
        lc_hub_close(hub, 0);
        return 1;
    }
    lc_run_log_params_json(run, "{\"optimizer\": {\"name\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9},"
                                " \"batch_size\": 64, \"model\": {\"hidden\": 256}}");
    char total[32];
    snprintf(total, sizeof total, "%d", steps);
    lc_run_set_tag(run, "lightc.total_steps", total);

    /* 3. Intern keys once; the log calls take the handles. */
    lc_tag loss = lc_run_tag(run, "train/loss"), acc = lc_run_tag(run, "train/acc");
    lc_tag lr = lc_run_tag(run, "lr-SGD"), epoch = lc_run_tag(run, "epoch");
    lc_tag vloss = lc_run_tag(run, "val/loss"), vacc = lc_run_tag(run, "val/acc");

    unsigned seed = 42;
    float weights[4096];
    const int steps_per_epoch = 200;
    for (int step = 0; step < steps; step++) {
        double noise = (rand_r(&seed) / (double)RAND_MAX - 0.5) * 0.05;
        double l = 2.3 * exp(-step / 600.0) + 0.25 + noise;
        double a = 0.95 - 0.85 * exp(-step / 500.0) + noise / 4;
        double rate = 0.1 * 0.5 * (1 + cos(M_PI * step / steps));
        /* one record: one CSV row, one MLflow batch */
        lc_tag t[3] = {loss, acc, lr};
        double v[3] = {l, a, rate};
        lc_run_log_scalars(run, step, 3, t, v);

        if ((step + 1) % steps_per_epoch == 0) {
            int e = step / steps_per_epoch;
            lc_tag te[3] = {vloss, vacc, epoch};
            double ve[3] = {l * 1.05, a - 0.01, e};
            lc_run_log_scalars(run, step, 3, te, ve);
            for (int i = 0; i < 4096; i++)
                weights[i] = (float)((rand_r(&seed) / (double)RAND_MAX - 0.5) / (1 + e));
            lc_run_log_histogram_f32(run, "weights/layer1", weights, 4096, step);
        }
    }
    lc_run_log_text(run, "notes", "A **synthetic** run logged by `examples/synthetic_run.c`.", steps);

    /* 4. Finish: waits until every sink has the run. */
    lc_status st = lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    if (st != LC_OK) {
        fprintf(stderr, "synthetic_run: %s\n", lc_errmsg());
        return 1;
    }
    printf("synthetic run written under %s (tensorboard --logdir %s)\n", root, root);
    return 0;
}
