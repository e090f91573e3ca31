/*
 * cli/train.c — `lightc train`: train an MLP on Fashion-MNIST (or any
 * MNIST-format data) with the trainer, logging to ./runs through the hub.
 *
 * Flags follow Lightning's Trainer argument names with dashes
 * (--max-epochs, --limit-train-batches, --val-check-interval, ...), plus
 * the run's identity (--experiment, --name, --resume), the model and
 * optimizer (--hidden, --lr, --optimizer, ...) and the machine
 * (--threads). The flag table below is also the --help text, so every flag
 * is listed with its default. Bad values (also empty ones, which never
 * silently mean a default): a message naming the flag and exit status 2; a
 * failed run: exit status 1.
 *
 * Defaults are chosen to pass the acceptance bar (>= 0.885 test accuracy
 * on Fashion-MNIST in 10 epochs, a few minutes on 2 cores) and for a
 * bit-identical resume: the default LR schedule (StepLR every 4 epochs,
 * gamma 0.5) does not depend on --max-epochs.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "index/index_schema.h"
#include "lightc/hub.h"
#include "lightc/trainer.h"
#include "train_launch.h"
#include "train_module.h"

/* ------------------------------------------------------------------------ */
/* The flag table                                                            */

enum {
    F_MAX_EPOCHS = 400, F_MAX_STEPS, F_LOG_EVERY, F_LIMIT_TRAIN, F_LIMIT_VAL, F_LIMIT_TEST,
    F_VAL_CHECK, F_CHECK_VAL_EVERY, F_SANITY, F_ACCUM, F_CLIP, F_CLIP_ALGO, F_PRECISION,
    F_ACCEL, F_SEED, F_ROOT, F_EXPERIMENT, F_NAME, F_LOGGERS, F_RESUME, F_BATCH, F_LR,
    F_OPTIMIZER, F_WD, F_MOMENTUM, F_SCHED, F_STEP_SIZE, F_GAMMA, F_HIDDEN, F_ACT, F_DROPOUT,
    F_THREADS, F_HIST, F_DATA, F_VAL_SIZE, F_FAST_DEV, F_MAX_TIME, F_EARLY, F_PATIENCE,
    F_SAVE_LAST, F_TOP_K, F_GRAD_NORM, F_SAMPLES, F_NO_CKPT, F_NO_SUMMARY, F_DEVICES,
    F_NO_DEVSTATS, F_PROFILER, F_STRATEGY, F_NUM_NODES, F_HELP
};

typedef struct train_flag {
    const char *name;
    int id;
    const char *arg;   /* NULL: no value */
    const char *dflt;
    const char *help;
} train_flag;

static const train_flag flags[] = {
    {"max-epochs", F_MAX_EPOCHS, "N", "10", "stop after N epochs (-1: no limit)"},
    {"max-steps", F_MAX_STEPS, "N", "-1", "stop after N optimizer steps (-1: no limit)"},
    {"log-every-n-steps", F_LOG_EVERY, "N", "50", "log train step metrics every N steps (0: off)"},
    {"limit-train-batches", F_LIMIT_TRAIN, "X", "1.0", "train batches per epoch: fraction (0.25) or count (10)"},
    {"limit-val-batches", F_LIMIT_VAL, "X", "1.0", "validation batches: fraction or count (0: no validation)"},
    {"limit-test-batches", F_LIMIT_TEST, "X", "1.0", "test batches: fraction or count (0: no test)"},
    {"val-check-interval", F_VAL_CHECK, "X", "1.0", "validate every fraction of an epoch, or every N batches"},
    {"check-val-every-n-epoch", F_CHECK_VAL_EVERY, "N", "1", "validate every N epochs (0: by batch count only)"},
    {"num-sanity-val-steps", F_SANITY, "N", "2", "validation batches run before training (-1: all)"},
    {"accumulate-grad-batches", F_ACCUM, "N", "1", "optimizer step every N batches"},
    {"gradient-clip-val", F_CLIP, "X", "0", "clip gradients at X (0: off)"},
    {"gradient-clip-algorithm", F_CLIP_ALGO, "ALGO", "norm", "norm | value"},
    {"precision", F_PRECISION, "P", "32-true",
     "32-true, 16-mixed, bf16-mixed, 16-true or bf16-true (aliases 32, 16, bf16)"},
    {"accelerator", F_ACCEL, "A", "auto", "auto | cpu | cuda (auto: cuda when a GPU is usable)"},
    {"devices", F_DEVICES, "N", "1", "devices (cpu: processes) per machine; more than 1 is ddp"},
    {"strategy", F_STRATEGY, "S", "auto", "auto | ddp | single_device (ddp: one process per device, "
     "launched through mpirun; docs/distributed.md)"},
    {"num-nodes", F_NUM_NODES, "N", "1", "machines (ddp; start with mpirun --hostfile or srun)"},
    {"seed", F_SEED, "N", "42", "seed of the weights, dropout and data order"},
    {"root", F_ROOT, "DIR", LC_DEFAULT_ROOT, "run root (default_root_dir; also $LIGHTC_ROOT)"},
    {"experiment", F_EXPERIMENT, "NAME", "fashion-mnist", "experiment the run belongs to"},
    {"name", F_NAME, "NAME", "version_N", "run name (the next free version_N if not given)"},
    {"loggers", F_LOGGERS, "LIST", LC_TRAINER_LOGGERS, "sinks, or none (also $LIGHTC_LOGGERS)"},
    {"resume", F_RESUME, "last|PATH", "off", "continue the run from its newest checkpoint, or from PATH"},
    {"batch-size", F_BATCH, "N", "128", "samples per batch"},
    {"lr", F_LR, "X", "0.001", "learning rate"},
    {"optimizer", F_OPTIMIZER, "NAME", "AdamW", "SGD | Adam | AdamW"},
    {"weight-decay", F_WD, "X", "0.01 (AdamW), 0", "weight decay"},
    {"momentum", F_MOMENTUM, "X", "0.9 (SGD)", "SGD momentum"},
    {"lr-scheduler", F_SCHED, "NAME", "StepLR", "none | StepLR | CosineAnnealingLR (needs --max-epochs)"},
    {"lr-step-size", F_STEP_SIZE, "N", "4", "StepLR: epochs between decays"},
    {"lr-gamma", F_GAMMA, "X", "0.5", "StepLR: decay factor"},
    {"hidden", F_HIDDEN, "LIST", "512,256", "hidden layer sizes"},
    {"activation", F_ACT, "NAME", "relu", "relu | gelu"},
    {"dropout", F_DROPOUT, "P", "0.2", "dropout after each hidden layer (0: none)"},
    {"threads", F_THREADS, "N", "0", "BLAS threads (0: OpenBLAS's default); kept in checkpoints"},
    {"histogram-every-n-steps", F_HIST, "N", "0", "weight/gradient histograms every N steps too (0: epoch ends only)"},
    {"data", F_DATA, "DIR", "/usr/share/datasets/fashion-mnist", "MNIST-format IDX(.gz) files"},
    {"val-size", F_VAL_SIZE, "N", "5000", "last N train samples form the validation split"},
    {"fast-dev-run", F_FAST_DEV, "N", "0", "run N batches of each loop, no logging or checkpoints"},
    {"max-time", F_MAX_TIME, "DD:HH:MM:SS", "off", "stop training after this time (Timer)"},
    {"early-stopping", F_EARLY, "METRIC", "off", "EarlyStopping on METRIC (e.g. val/loss, mode min)"},
    {"patience", F_PATIENCE, "N", "3", "EarlyStopping patience (validation checks)"},
    {"save-last", F_SAVE_LAST, NULL, "off", "also write checkpoints/last.ckpt"},
    {"save-top-k", F_TOP_K, "K", "1", "checkpoints kept (-1: all)"},
    {"log-grad-norm", F_GRAD_NORM, NULL, "off", "also log grad_norm with the step metrics"},
    {"log-samples-per-sec", F_SAMPLES, NULL, "off", "also log perf/samples_per_sec at epoch ends"},
    {"profiler", F_PROFILER, "NAME", "off",
     "simple | advanced | trace: where the time goes (<run dir>/fit-profile.txt, trace.json)"},
    {"no-checkpoint", F_NO_CKPT, NULL, "", "do not write checkpoints"},
    {"no-model-summary", F_NO_SUMMARY, NULL, "", "do not print the parameter table"},
    {"no-device-stats", F_NO_DEVSTATS, NULL, "", "on a GPU, do not log device/* figures (DeviceStatsMonitor)"},
    {"help", F_HELP, NULL, "", "show this help"},
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static void train_usage(FILE *f)
{
    fputs("usage: lightc train [options]\n"
          "\n"
          "Train an MLP classifier on Fashion-MNIST with the lightc trainer. Metrics, params,\n"
          "histograms, checkpoints and the run status go through the logger hub to the run\n"
          "index (runs/index.db), TensorBoard (tensorboard --logdir runs), metrics.csv and\n"
          "the console. Flags follow Lightning's Trainer names.\n"
          "\n"
          "options (default in brackets):\n",
          f);
    for (size_t i = 0; i < NFLAGS; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
                 flags[i].arg ? flags[i].arg : "");
        fprintf(f, "  %-36s %s", left, flags[i].help);
        if (flags[i].dflt[0])
            fprintf(f, " [%s]", flags[i].dflt);
        fputc('\n', f);
    }
    fputs("\nexamples:\n"
          "  lightc train                                  # 10 epochs, dashboards in ./runs\n"
          "  lightc train --name quick --max-epochs 2\n"
          "  lightc train --name quick --max-epochs 4 --resume last\n"
          "  lightc train --fast-dev-run 5                 # smoke test, writes nothing\n",
          f);
}

/* ------------------------------------------------------------------------ */
/* Value parsing                                                             */

typedef struct train_args {
    lc_trainer_config cfg;
    cli_mlp_options mlp;
    const char *data_dir, *resume, *optimizer, *sched, *max_time, *early;
    int64_t val_size, patience, step_size;
    double lr, wd, momentum, gamma;
    int have_wd, have_momentum, save_last, top_k;
    int index_on; /* the run index is among the loggers */
} train_args;

static int bad_value(const char *flag, const char *value, const char *why)
{
    return cli_usage_error("train", "--%s %s: %s", flag, value, why);
}

static int parse_i64(const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        char why[96];
        snprintf(why, sizeof why, "expected a whole number in [%lld, %lld]", (long long)lo,
                 (long long)hi);
        return bad_value(flag, v, why);
    }
    *out = n;
    return 0;
}

static int parse_f64(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) {
        char why[96];
        snprintf(why, sizeof why, "expected a number in [%g, %g]", lo, hi);
        return bad_value(flag, v, why);
    }
    *out = x;
    return 0;
}

static int parse_amount(const char *flag, const char *v, lc_amount *out)
{
    if (lc_amount_parse(v, out) != LC_OK)
        return bad_value(flag, v, lc_errmsg());
    return 0;
}

/* A value that names something (a directory, a run, a metric) must not be
 * empty: an empty one would silently mean a default. */
static int need_text(const char *flag, const char *v, const char *what)
{
    return *v ? 0 : bad_value(flag, "''", what);
}

/* Layer sizes "512,256": at least one, each in [1, 65536], no empty item. */
static int parse_hidden(const char *v, cli_mlp_options *m)
{
    const char *why = "expected comma-separated layer sizes like 512,256 (each 1 to 65536; "
                      "a model without hidden layers is not offered)";
    m->n_hidden = 0;
    const char *p = v;
    do {
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        if (errno || end == p || n < 1 || n > 1 << 16 || (*end && *end != ','))
            return bad_value("hidden", *v ? v : "''", why);
        if (m->n_hidden == sizeof m->hidden / sizeof m->hidden[0])
            return bad_value("hidden", v, "at most 8 hidden layers");
        m->hidden[m->n_hidden++] = n;
        p = *end ? end + 1 : end;
        if (*end && !*p)
            return bad_value("hidden", v, why); /* "512," */
    } while (*p);
    return 0;
}

/* --loggers / $LIGHTC_LOGGERS: a comma list of the sinks this build has
 * (lc_available_sinks), or "none" alone for no sink at all. An empty item or
 * a list that names nothing is an error: it would silently log nothing.
 * Returns 0, or CLI_USAGE after the message; *none is set for "none",
 * *index when the run index (sqlite) is among them. */
static int check_loggers(const char *source, const char *v, int *none, int *index)
{
    char msg[512] = "";
    const char *avail = lc_available_sinks();
    *none = *index = 0;
    int n = 0;
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(msg, sizeof msg, "%s", strspn(v, ", \t") == strlen(v)
                                                ? "names no logger"
                                                : "an empty logger name in the list");
            break;
        }
        int known = len == 4 && strncmp(p, "none", 4) == 0;
        if (known)
            *none = 1;
        /* a remote backend implies the index (its outbox, docs/remote.md) */
        if ((len == 6 && strncmp(p, "sqlite", 6) == 0) || (len == 6 && strncmp(p, "mlflow", 6) == 0) ||
            (len == 5 && strncmp(p, "wandb", 5) == 0))
            *index = 1;
        for (const char *a = avail; !known && *a;) {
            size_t al = strcspn(a, ",");
            known = al == len && strncmp(a, p, len) == 0;
            a += al + (a[al] == ',');
        }
        if (!known) {
            snprintf(msg, sizeof msg, "unknown logger '%.*s'", (int)len, p);
            break;
        }
        n++;
        if (!end)
            break;
        p = end + 1;
    }
    if (!msg[0] && *none && n > 1)
        snprintf(msg, sizeof msg, "none cannot be combined with other loggers");
    if (!msg[0])
        return 0;
    char shown[128];
    snprintf(shown, sizeof shown, "'%s'", v);
    return cli_usage_error("train", "%s%s%s: %s; give a comma list of %s (e.g. sqlite,csv), or "
                           "none to log nothing",
                           source, source[0] == '-' ? " " : "=", shown, msg, avail);
}

static const char *canonical_optimizer(const char *v)
{
    if (strcasecmp(v, "sgd") == 0)
        return "SGD";
    if (strcasecmp(v, "adam") == 0)
        return "Adam";
    if (strcasecmp(v, "adamw") == 0)
        return "AdamW";
    return NULL;
}

static void defaults(train_args *a)
{
    memset(a, 0, sizeof *a);
    lc_trainer_config_default(&a->cfg);
    a->cfg.max_epochs = 10;
    a->cfg.experiment = "fashion-mnist";
    a->mlp.in_features = 784;
    a->mlp.classes = 10;
    a->mlp.hidden[0] = 512;
    a->mlp.hidden[1] = 256;
    a->mlp.n_hidden = 2;
    a->mlp.activation = LC_ACT_RELU;
    a->mlp.dropout = 0.2f;
    a->mlp.batch_size = 128;
    a->optimizer = "AdamW";
    a->sched = "StepLR";
    a->lr = 1e-3;
    a->step_size = 4;
    a->gamma = 0.5;
    a->val_size = 5000;
    a->patience = 3;
    a->top_k = 1;
    a->data_dir = NULL;
}

/* Returns -1 to go on, or the exit status (help, usage error). */
static int parse_args(int argc, char **argv, train_args *a)
{
    struct option longopts[NFLAGS + 1];
    for (size_t i = 0; i < NFLAGS; i++)
        longopts[i] = (struct option){flags[i].name, flags[i].arg ? required_argument : no_argument,
                                      NULL, flags[i].id};
    memset(&longopts[NFLAGS], 0, sizeof longopts[0]);
    cli_parser p = {.verb = "train", .shortopts = "h", .longopts = longopts};
    int c;
    int64_t i64 = 0;
    double f = 0;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        const char *v = optarg;
        int bad = 0;
        switch (c) {
        case 'h':
        case F_HELP: train_usage(stdout); return CLI_OK;
        case F_MAX_EPOCHS:
            bad = parse_i64("max-epochs", v, -1, INT64_MAX, &a->cfg.max_epochs);
            if (!bad && a->cfg.max_epochs == 0)
                bad = bad_value("max-epochs", v, "must be >= 1 or -1 (no limit)");
            break;
        case F_MAX_STEPS: bad = parse_i64("max-steps", v, -1, INT64_MAX, &a->cfg.max_steps); break;
        case F_LOG_EVERY: bad = parse_i64("log-every-n-steps", v, 0, INT64_MAX, &a->cfg.log_every_n_steps); break;
        case F_LIMIT_TRAIN: bad = parse_amount("limit-train-batches", v, &a->cfg.limit_train_batches); break;
        case F_LIMIT_VAL: bad = parse_amount("limit-val-batches", v, &a->cfg.limit_val_batches); break;
        case F_LIMIT_TEST: bad = parse_amount("limit-test-batches", v, &a->cfg.limit_test_batches); break;
        case F_VAL_CHECK:
            bad = parse_amount("val-check-interval", v, &a->cfg.val_check_interval);
            if (!bad && a->cfg.val_check_interval.value == 0)
                bad = bad_value("val-check-interval", v, "must be > 0 (use --limit-val-batches 0 to turn validation off)");
            break;
        case F_CHECK_VAL_EVERY: bad = parse_i64("check-val-every-n-epoch", v, 0, INT64_MAX, &a->cfg.check_val_every_n_epoch); break;
        case F_SANITY: bad = parse_i64("num-sanity-val-steps", v, -1, INT64_MAX, &a->cfg.num_sanity_val_steps); break;
        case F_ACCUM: bad = parse_i64("accumulate-grad-batches", v, 1, 1 << 20, &a->cfg.accumulate_grad_batches); break;
        case F_CLIP: bad = parse_f64("gradient-clip-val", v, 0, 1e30, &a->cfg.gradient_clip_val); break;
        case F_CLIP_ALGO:
            if (strcmp(v, "norm") == 0)
                a->cfg.gradient_clip_algorithm = LC_CLIP_NORM;
            else if (strcmp(v, "value") == 0)
                a->cfg.gradient_clip_algorithm = LC_CLIP_VALUE;
            else
                bad = bad_value("gradient-clip-algorithm", v, "use norm or value");
            break;
        case F_PRECISION: a->cfg.precision = v; break;
        case F_PROFILER: a->cfg.profiler = v; break;
        case F_ACCEL: a->cfg.accelerator = v; break;
        case F_STRATEGY:
            if (strcmp(v, "auto") != 0 && strcmp(v, "ddp") != 0 && strcmp(v, "single_device") != 0)
                bad = bad_value("strategy", v, "use auto, ddp or single_device");
            a->cfg.strategy = v;
            break;
        case F_NUM_NODES:
            bad = parse_i64("num-nodes", v, 1, 1 << 16, &i64);
            a->cfg.num_nodes = (int)i64;
            break;
        case F_DEVICES: {
            bad = parse_i64("devices", v, -1, 1 << 16, &i64);
            a->cfg.devices = (int)i64;
            break;
        }
        case F_SEED:
            bad = parse_i64("seed", v, 0, INT64_MAX, &i64);
            a->cfg.seed = (uint64_t)i64;
            break;
        case F_ROOT:
            bad = need_text("root", v, "the run root is empty; give a directory, or leave the "
                            "flag out for $LIGHTC_ROOT or ./runs");
            a->cfg.default_root_dir = v;
            break;
        case F_EXPERIMENT:
            bad = need_text("experiment", v, "the experiment name is empty; give a name "
                            "(letters, digits, - _ . space), or leave the flag out for fashion-mnist");
            a->cfg.experiment = v;
            break;
        case F_NAME:
            bad = need_text("name", v, "the run name is empty; give a name, or leave the flag "
                            "out for the next free version_N");
            a->cfg.name = v;
            break;
        case F_LOGGERS: a->cfg.loggers = v; break;
        case F_RESUME:
            if (!*v)
                bad = bad_value("resume", v, "use last or a checkpoint path");
            a->resume = v;
            break;
        case F_BATCH: bad = parse_i64("batch-size", v, 1, 1 << 20, &a->mlp.batch_size); break;
        case F_LR: bad = parse_f64("lr", v, 0, 1e6, &a->lr); break;
        case F_OPTIMIZER:
            a->optimizer = canonical_optimizer(v);
            if (!a->optimizer)
                bad = bad_value("optimizer", v, "use SGD, Adam or AdamW");
            break;
        case F_WD: bad = parse_f64("weight-decay", v, 0, 1e6, &a->wd); a->have_wd = 1; break;
        case F_MOMENTUM: bad = parse_f64("momentum", v, 0, 1, &a->momentum); a->have_momentum = 1; break;
        case F_SCHED: {
            lc_scheduler_spec tmp;
            if (!*v)
                bad = bad_value("lr-scheduler", "''", "use none, StepLR or CosineAnnealingLR");
            else if (lc_scheduler_spec_default(&tmp, v) != LC_OK)
                bad = bad_value("lr-scheduler", v, lc_errmsg());
            a->sched = v;
            break;
        }
        case F_STEP_SIZE: bad = parse_i64("lr-step-size", v, 1, INT64_MAX, &a->step_size); break;
        case F_GAMMA: bad = parse_f64("lr-gamma", v, 0, 1, &a->gamma); break;
        case F_HIDDEN: bad = parse_hidden(v, &a->mlp); break;
        case F_ACT:
            if (strcasecmp(v, "relu") == 0)
                a->mlp.activation = LC_ACT_RELU;
            else if (strcasecmp(v, "gelu") == 0)
                a->mlp.activation = LC_ACT_GELU;
            else
                bad = bad_value("activation", v, "use relu or gelu");
            break;
        case F_DROPOUT:
            bad = parse_f64("dropout", v, 0, 0.99, &f);
            a->mlp.dropout = (float)f;
            break;
        case F_THREADS:
            bad = parse_i64("threads", v, 0, 1024, &i64);
            a->cfg.threads = (int)i64;
            break;
        case F_HIST: bad = parse_i64("histogram-every-n-steps", v, 0, INT64_MAX, &a->cfg.histogram_every_n_steps); break;
        case F_DATA:
            bad = need_text("data", v, "the data directory is empty; give the directory of the "
                            "MNIST-format .gz files, or leave the flag out for Fashion-MNIST");
            a->data_dir = v;
            break;
        case F_VAL_SIZE: bad = parse_i64("val-size", v, 0, 59999, &a->val_size); break;
        case F_FAST_DEV: bad = parse_i64("fast-dev-run", v, 0, INT64_MAX, &a->cfg.fast_dev_run); break;
        case F_MAX_TIME: {
            double secs;
            if (lc_parse_duration(v, &secs) != LC_OK)
                bad = bad_value("max-time", v, lc_errmsg());
            a->max_time = v;
            break;
        }
        case F_EARLY:
            bad = need_text("early-stopping", v, "give the metric to monitor, e.g. val/loss");
            a->early = v;
            break;
        case F_PATIENCE: bad = parse_i64("patience", v, 0, INT64_MAX, &a->patience); break;
        case F_SAVE_LAST: a->save_last = 1; break;
        case F_TOP_K:
            bad = parse_i64("save-top-k", v, -1, INT_MAX, &i64);
            a->top_k = (int)i64;
            break;
        case F_GRAD_NORM: a->cfg.log_grad_norm = 1; break;
        case F_SAMPLES: a->cfg.log_samples_per_sec = 1; break;
        case F_NO_CKPT: a->cfg.enable_checkpointing = 0; break;
        case F_NO_SUMMARY: a->cfg.enable_model_summary = 0; break;
        case F_NO_DEVSTATS: a->cfg.device_stats_monitor = 0; break;
        default: return CLI_USAGE;
        }
        if (bad)
            return CLI_USAGE;
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    /* the loggers, from the flag or else the environment, by the same rules
       (an empty $LIGHTC_LOGGERS counts as unset, as $LIGHTC_ROOT does) */
    const char *env = getenv("LIGHTC_LOGGERS");
    int none = 0;
    a->index_on = 1; /* the default list has it */
    if (a->cfg.loggers ? check_loggers("--loggers", a->cfg.loggers, &none, &a->index_on) != 0
                       : env && *env && check_loggers("LIGHTC_LOGGERS", env, &none, &a->index_on) != 0)
        return CLI_USAGE;
    if (none && a->cfg.fast_dev_run == 0)
        fprintf(stderr, "lightc train: note: --loggers none: no logger at all, so no run index "
                "entry, TensorBoard file, metrics.csv or progress line; checkpoints are still "
                "written under the run directory\n");
    return -1;
}

/* Optimizer, scheduler and seed into the module options. */
static int finish_module_options(train_args *a)
{
    cli_mlp_options *m = &a->mlp;
    lc_optimizer_spec_default(&m->optimizer, a->optimizer);
    m->optimizer.lr = a->lr;
    if (a->have_wd)
        m->optimizer.weight_decay = a->wd;
    if (strcmp(m->optimizer.name, "SGD") == 0)
        m->optimizer.momentum = a->have_momentum ? a->momentum : 0.9;
    else if (a->have_momentum)
        return cli_usage_error("train", "--momentum applies to --optimizer SGD only");
    lc_scheduler_spec_default(&m->scheduler, a->sched);
    if (m->scheduler.name && strcmp(m->scheduler.name, "StepLR") == 0) {
        m->scheduler.step_size = a->step_size;
        m->scheduler.gamma = a->gamma;
    } else if (m->scheduler.name && strcmp(m->scheduler.name, "CosineAnnealingLR") == 0) {
        if (a->cfg.max_epochs < 1)
            return cli_usage_error("train", "--lr-scheduler CosineAnnealingLR needs --max-epochs");
        m->scheduler.t_max = a->cfg.max_epochs;
    } else if (m->scheduler.name) {
        return cli_usage_error("train", "--lr-scheduler %s is available through the C API; the "
                               "CLI offers none, StepLR and CosineAnnealingLR", a->sched);
    }
    m->seed = a->cfg.seed;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* How the run ended                                                         */

/* The status the run index holds for run id; "" when it cannot be read. */
static void index_status(const char *root, const char *id, char *out, size_t cap)
{
    out[0] = 0;
    char path[4096];
    cli_db_join(root, LC_INDEX_FILE, path, sizeof path);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT status FROM runs WHERE run_id = ?1", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

/* Finish the run and say how it ended when a logger lost data or the run
 * index could not record the end: the exact state on stderr, and CLI_LOST
 * when training itself succeeded (rc CLI_OK). A run that lost nothing keeps
 * rc and prints nothing more. */
static int end_run(lc_trainer *t, const train_args *a, int rc)
{
    lc_run *run = lc_trainer_run(t);
    if (!run)
        return rc; /* fast_dev_run, or no run started */
    char id[33], who[600];
    snprintf(id, sizeof id, "%s", lc_run_id(run));
    snprintf(who, sizeof who, "%s/%s", lc_run_experiment(run), lc_run_name(run));
    lc_run_status status;
    lc_run_counters c;
    lc_status st = lc_trainer_end_run(t, &status, &c);
    if (st != LC_OK) /* a logger could not record the end (the last one to fail is named) */
        fprintf(stderr, "lightc train: finishing run %s: %s\n", who, lc_errmsg());
    char state[512];
    snprintf(state, sizeof state,
             "status %s%s, %llu scalars logged, %llu dropped, %llu rejected, %llu replaced, "
             "%llu sink_errors (event deliveries lost by failing loggers)",
             lc_run_status_name(status), c.degraded ? ", degraded" : "",
             (unsigned long long)c.logged, (unsigned long long)c.dropped,
             (unsigned long long)c.rejected, (unsigned long long)c.replaced,
             (unsigned long long)c.sink_errors);
    int lost = c.degraded || c.sink_errors || c.dropped || st != LC_OK;
    const char *root = cli_root(a->cfg.default_root_dir);
    char held[32] = "";
    if (a->index_on)
        index_status(root, id, held, sizeof held);
    if (a->index_on && strcmp(held, lc_run_status_name(status)) != 0) {
        lost = 1;
        fprintf(stderr,
                "lightc train: the run index %s/%s could not record how run %s (%s) ended; "
                "it still holds status '%s'%s. The run lost data and ended: %s\n",
                root, LC_INDEX_FILE, who, id, held[0] ? held : "?",
                strcmp(held, "running") == 0
                    ? " (`lightc runs ls` will show it as crashed once this process has exited)"
                    : "",
                state);
    } else if (lost) {
        char hint[128] = "";
        if (a->index_on)
            snprintf(hint, sizeof hint, "; each logger's state: `lightc runs show %.8s`", id);
        fprintf(stderr, "lightc train: run %s lost data in its loggers (see the errors above%s): "
                "%s\n", who, hint, state);
    }
    return rc == CLI_OK && lost ? CLI_LOST : rc;
}

/* ------------------------------------------------------------------------ */
/* The verb                                                                  */

static lc_status add_callbacks(lc_trainer *t, const train_args *a)
{
    lc_callback *cb;
    lc_status st = LC_OK;
    if (a->max_time) {
        double secs = 0;
        lc_parse_duration(a->max_time, &secs);
        st = lc_callback_timer(&cb, secs, "step");
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
    }
    if (st == LC_OK && a->early) {
        lc_early_stopping_options o;
        lc_early_stopping_options_default(&o);
        o.monitor = a->early;
        o.patience = a->patience;
        o.mode = strstr(a->early, "acc") ? "max" : "min";
        st = lc_callback_early_stopping(&cb, &o);
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
    }
    if (st == LC_OK && a->cfg.enable_checkpointing && (a->save_last || a->top_k != 1)) {
        lc_checkpoint_options o;
        lc_checkpoint_options_default(&o);
        o.save_last = a->save_last;
        o.save_top_k = a->top_k;
        st = lc_callback_model_checkpoint(&cb, &o);
        if (st == LC_OK)
            st = lc_trainer_add_callback(t, cb);
    }
    return st;
}

int lc_cli_train(int argc, char **argv)
{
    train_args a;
    defaults(&a);
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rc = finish_module_options(&a);
    if (rc >= 0)
        return rc;
    /* ddp typed on one machine: run this command again as its ranks */
    int ranks = cli_train_needs_launch(a.cfg.strategy, a.cfg.devices, a.cfg.num_nodes);
    if (ranks > 0 && a.cfg.num_nodes > 1)
        return cli_usage_error("train", "--num-nodes %d: start the ranks on every machine with "
                               "mpirun --hostfile FILE -np %d lightc train ... or srun "
                               "(docs/distributed.md)", a.cfg.num_nodes, ranks);
    if (ranks > 0)
        return cli_train_launch(argc, argv, ranks);

    lc_trainer *t = NULL;
    lc_status st = lc_trainer_create(&t, &a.cfg);
    if (st != LC_OK)
        return st == LC_ERR_INVALID || st == LC_ERR_UNSUPPORTED
                   ? cli_usage_error("train", "%s", lc_errmsg())
                   : cli_error("train", "%s", lc_errmsg());
    st = add_callbacks(t, &a);
    if (st != LC_OK) {
        lc_trainer_free(t);
        return cli_usage_error("train", "%s", lc_errmsg());
    }

    lc_data_options dopt = {.dir = a.data_dir, .batch_size = a.mlp.batch_size, .val_size = a.val_size};
    lc_datamodule *dm = NULL;
    st = lc_datamodule_mnist(&dm, &dopt);
    if (st != LC_OK) {
        lc_trainer_free(t);
        return cli_error("train", "%s", lc_errmsg());
    }
    a.mlp.in_features = lc_datamodule_features(dm);
    a.mlp.classes = lc_datamodule_classes(dm);
    cli_mlp_module m;
    st = cli_mlp_module_init(&m, &a.mlp);
    if (st != LC_OK) {
        lc_datamodule_free(dm);
        lc_trainer_free(t);
        return cli_error("train", "%s", lc_errmsg());
    }

    st = lc_trainer_fit(t, &m.base, dm, a.resume);
    if (st == LC_OK && lc_datamodule_size(dm, "test") > 0)
        st = lc_trainer_test(t, &m.base, dm);
    if (st == LC_OK && lc_trainer_global_rank(t) != 0) {
        rc = CLI_OK; /* ddp: rank 0 reports */
    } else if (st == LC_OK) {
        double acc;
        if (lc_trainer_callback_metric(t, "test/acc", &acc) == LC_OK)
            printf("test/acc %.4f", acc);
        if (lc_trainer_callback_metric(t, "test/loss", &acc) == LC_OK)
            printf("  test/loss %.4f", acc);
        if (lc_trainer_samples_per_sec(t) > 0)
            printf("  samples/s %.0f (%s, %s)", lc_trainer_samples_per_sec(t),
                   lc_trainer_accelerator(t), lc_trainer_precision(t));
        const char *dir = lc_trainer_log_dir(t);
        printf("%s%s%s\n", "", dir[0] ? "  run " : "", dir);
        rc = CLI_OK;
    } else {
        rc = cli_error("train", "%s", lc_errmsg());
    }
    rc = end_run(t, &a, rc);
    lc_trainer_free(t);
    cli_mlp_module_free(&m);
    lc_datamodule_free(dm);
    return rc;
}
