/*
 * tests/helpers/make_runs.c — creates runs through the public hub API for
 * the CLI tests (tests/integration/test_cli.py).
 *
 *   make_runs --root DIR --experiment E --name N [--steps S] [--lr X]
 *             [--batch B] [--optimizer O] [--nan-at K] [--inf-at K]
 *             [--status finished|failed|killed] [--count C]
 *             [--kill | --hold [--after-hold S]] [--loggers SPEC]
 *             [--tag KEY=VALUE]... [--param KEY=VALUE]... [-- ARGS...]
 *
 * Per run it logs params (lr, batch_size, optimizer, use_amp, model/hidden),
 * tags (seed, note), and metrics: train/loss every step (NaN at --nan-at),
 * train/grad_norm every step (+inf at --inf-at), val/acc every 5th step,
 * "val acc%" once (a key the hub renames to "val acc_"), and sys/exact with
 * explicit wall times, so exports can be checked digit for digit.
 * For each run it prints "<run id> <points logged>" on stdout.
 *
 * --count C makes C runs named N0..N(C-1). --kill flushes, then dies by
 * SIGKILL with the run still 'running' (the index must later show it as
 * crashed). --hold flushes, prints, then waits for EOF on stdin before
 * finishing (a live run); --after-hold S then logs S more steps of
 * train/loss first. --tag and --param add user tags (at run start) and
 * string params; --loggers replaces "sqlite,csv"; ARGS after "--" are
 * ignored (they only show up in the run's lightc.argv). Exit 0, or 1 with
 * the hub's message.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lightc/hub.h"

#define MR_MAX_KV 16

typedef struct mr_args {
    const char *root, *experiment, *name, *optimizer, *status, *loggers;
    int steps, batch, count, nan_at, inf_at, kill, hold, after_hold;
    double lr;
    const char *tags[2 * MR_MAX_KV + 1]; /* key, value, ..., NULL */
    const char *params[2 * MR_MAX_KV];
    int ntags, nparams;
} mr_args;

/* Split a copy of KEY=VALUE into kv[2n], kv[2n+1]. argv itself is left
 * alone: it is what the run's lightc.argv is read from. */
static int mr_kv(const char *arg, const char **kv, int *n)
{
    const char *eq = strchr(arg, '=');
    char *key = eq && *n < MR_MAX_KV ? strndup(arg, (size_t)(eq - arg)) : NULL;
    if (!key)
        return -1;
    kv[2 * *n] = key; /* freed at the end of main */
    kv[2 * *n + 1] = eq + 1;
    (*n)++;
    return 0;
}

static int mr_fail(const char *what)
{
    fprintf(stderr, "make_runs: %s: %s\n", what, lc_errmsg());
    return 1;
}

/* Count a point if the hub took it. */
static void mr_count(lc_status s, long *points)
{
    if (s == LC_OK)
        (*points)++;
    else
        fprintf(stderr, "make_runs: log failed: %s\n", lc_errmsg());
}

static int mr_one(lc_hub *hub, const mr_args *a, const char *name)
{
    const char *tags[2 * MR_MAX_KV + 3] = {"seed", "42"};
    for (int i = 0; i < 2 * a->ntags; i++)
        tags[2 + i] = a->tags[i];
    lc_run_options ro = {.experiment = a->experiment, .name = name, .tags = tags};
    lc_run *run;
    if (lc_run_start(hub, &ro, &run) != LC_OK)
        return mr_fail("lc_run_start");
    if (lc_run_log_param_double(run, "lr", a->lr) != LC_OK ||
        lc_run_log_param_int(run, "batch_size", a->batch) != LC_OK ||
        lc_run_log_param_str(run, "optimizer", a->optimizer) != LC_OK ||
        lc_run_log_param_bool(run, "use_amp", 0) != LC_OK ||
        lc_run_log_params_json(run, "{\"model\":{\"hidden\":128}}") != LC_OK ||
        lc_run_set_tag(run, "note", "made by make_runs") != LC_OK)
        return mr_fail("logging params");
    for (int i = 0; i < a->nparams; i++)
        if (lc_run_log_param_str(run, a->params[2 * i], a->params[2 * i + 1]) != LC_OK)
            return mr_fail("logging params");

    lc_tag loss = lc_run_tag(run, "train/loss");
    lc_tag grad = lc_run_tag(run, "train/grad_norm");
    lc_tag acc = lc_run_tag(run, "val/acc");
    lc_tag exact = lc_run_tag(run, "sys/exact");
    if (!loss || !grad || !acc || !exact)
        return mr_fail("lc_run_tag");
    long points = 0;
    for (int s = 0; s < a->steps; s++) {
        double l = s == a->nan_at ? NAN : a->lr * 10.0 / (1.0 + s);
        mr_count(lc_run_log_scalar(run, loss, l, s), &points);
        double g = s == a->inf_at ? INFINITY : 1.0 + 0.5 * s;
        mr_count(lc_run_log_scalar(run, grad, g, s), &points);
        if (s % 5 == 4)
            mr_count(lc_run_log_scalar(run, acc, 1.0 - a->lr / (2.0 + s), s), &points);
        /* values and wall times chosen to need all 17 digits */
        mr_count(lc_run_log_scalar_at(run, exact, 0.1 * s + 1.0 / 3.0, s, 1764410405.123 + s * 0.001),
                 &points);
    }
    mr_count(lc_run_log_metric(run, "val acc%", 0.5, 0), &points);

    printf("%s %ld\n", lc_run_id(run), points);
    fflush(stdout);
    if (a->kill || a->hold) {
        if (lc_hub_flush(hub, 0) != LC_OK)
            return mr_fail("lc_hub_flush");
        if (a->kill)
            raise(SIGKILL);
        char buf[256];
        while (fgets(buf, sizeof buf, stdin)) /* wait for EOF */
            ;
        for (int s = a->steps; s < a->steps + a->after_hold; s++)
            mr_count(lc_run_log_scalar(run, loss, 1.0 / (1.0 + s), s), &points);
        if (a->after_hold && lc_hub_flush(hub, 0) != LC_OK)
            fprintf(stderr, "make_runs: lc_hub_flush: %s\n", lc_errmsg());
    }
    int st = lc_run_status_parse(a->status);
    if (st < 0) {
        fprintf(stderr, "make_runs: unknown status '%s'\n", a->status);
        return 1;
    }
    if (lc_run_finish(run, (lc_run_status)st) != LC_OK)
        return mr_fail("lc_run_finish");
    return 0;
}

int main(int argc, char **argv)
{
    mr_args a = {.experiment = "default", .name = "run", .optimizer = "adam", .status = "finished",
                 .steps = 20, .batch = 32, .count = 0, .nan_at = -1, .inf_at = -1, .lr = 0.1};
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},   {"experiment", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},   {"steps", required_argument, NULL, 's'},
        {"lr", required_argument, NULL, 'l'},     {"batch", required_argument, NULL, 'b'},
        {"optimizer", required_argument, NULL, 'o'}, {"nan-at", required_argument, NULL, 'N'},
        {"inf-at", required_argument, NULL, 'I'}, {"status", required_argument, NULL, 'S'},
        {"count", required_argument, NULL, 'c'},  {"kill", no_argument, NULL, 'K'},
        {"hold", no_argument, NULL, 'H'},         {"after-hold", required_argument, NULL, 'A'},
        {"loggers", required_argument, NULL, 'L'}, {"tag", required_argument, NULL, 'T'},
        {"param", required_argument, NULL, 'P'},  {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': a.root = optarg; break;
        case 'e': a.experiment = optarg; break;
        case 'n': a.name = optarg; break;
        case 's': a.steps = atoi(optarg); break;
        case 'l': a.lr = atof(optarg); break;
        case 'b': a.batch = atoi(optarg); break;
        case 'o': a.optimizer = optarg; break;
        case 'N': a.nan_at = atoi(optarg); break;
        case 'I': a.inf_at = atoi(optarg); break;
        case 'S': a.status = optarg; break;
        case 'c': a.count = atoi(optarg); break;
        case 'K': a.kill = 1; break;
        case 'H': a.hold = 1; break;
        case 'A': a.after_hold = atoi(optarg); break;
        case 'L': a.loggers = optarg; break;
        case 'T':
        case 'P':
            if (mr_kv(optarg, c == 'T' ? a.tags : a.params, c == 'T' ? &a.ntags : &a.nparams) != 0) {
                fprintf(stderr, "make_runs: --tag/--param take KEY=VALUE (at most %d)\n", MR_MAX_KV);
                return 2;
            }
            break;
        default: fprintf(stderr, "make_runs: bad arguments (see the comment in make_runs.c)\n"); return 2;
        }
    }
    if (!a.root) {
        fprintf(stderr, "make_runs: --root is required\n");
        return 2;
    }
    lc_hub_options ho = {.root = a.root, .loggers = a.loggers ? a.loggers : "sqlite,csv"};
    lc_hub *hub;
    if (lc_hub_open(&hub, &ho) != LC_OK)
        return mr_fail("lc_hub_open");
    int rc = 0;
    if (a.count > 0) {
        for (int i = 0; i < a.count && rc == 0; i++) {
            char name[256];
            snprintf(name, sizeof name, "%s%d", a.name, i);
            rc = mr_one(hub, &a, name);
        }
    } else {
        rc = mr_one(hub, &a, a.name);
    }
    if (lc_hub_close(hub, 0) != LC_OK && rc == 0)
        rc = mr_fail("lc_hub_close");
    for (int i = 0; i < a.ntags; i++)
        free((char *)a.tags[2 * i]);
    for (int i = 0; i < a.nparams; i++)
        free((char *)a.params[2 * i]);
    return rc;
}
