/*
 * loggers/bus/sinks.c — the sink registry: parse a logger spec such as
 * "sqlite,tensorboard,csv,console" (from --loggers, LIGHTC_LOGGERS, the
 * options, or LC_DEFAULT_LOGGERS) and construct the sinks in a fixed order:
 * the SQLite index first (it is the source of truth and refuses duplicate
 * runs before any file is written), then the others as listed. "none" is
 * the explicit choice of no sink; a spec that names nothing ("", ",") is an
 * error.
 *
 * hparams.yaml: Lightning's CSV and TensorBoard loggers both write it. Here
 * exactly one sink does, so the file is written once per change: the csv
 * sink when it is among the loggers, else the tensorboard sink (both with
 * csv/hparams_yaml.h); with neither, no hparams.yaml is written (the params
 * are still in the index).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "hub_internal.h"

typedef lc_status (*sink_ctor)(const lc_sink_config *, lc_sink *, char *, size_t);

enum { SINK_SQLITE, SINK_TENSORBOARD, SINK_CSV, SINK_CONSOLE, SINK_COUNT };

static const struct {
    const char *name;
    const char *alias;
    sink_ctor ctor;
} registry[SINK_COUNT] = {
    [SINK_SQLITE] = {"sqlite", "index", lc_sink_sqlite_new},
    [SINK_TENSORBOARD] = {"tensorboard", "tb", lc_sink_tensorboard_new},
    [SINK_CSV] = {"csv", NULL, lc_sink_csv_new},
    [SINK_CONSOLE] = {"console", "progress", lc_sink_console_new},
};

_Static_assert(SINK_COUNT <= LC_MAX_SINKS, "more sinks compiled in than a hub holds");

/* Remote backends arrive in later versions; name them so the error helps. */
static const char *const planned[] = {"mlflow", "wandb"};

static char available[128];
static pthread_once_t available_once = PTHREAD_ONCE_INIT;

static void available_init(void)
{
    size_t n = 0;
    for (int i = 0; i < SINK_COUNT; i++)
        n += (size_t)snprintf(available + n, sizeof available - n, "%s%s", i ? "," : "", registry[i].name);
}

const char *lc_available_sinks(void)
{
    pthread_once(&available_once, available_init);
    return available;
}

static int find_sink(const char *name)
{
    for (int i = 0; i < SINK_COUNT; i++)
        if (strcmp(name, registry[i].name) == 0 || (registry[i].alias && strcmp(name, registry[i].alias) == 0))
            return i;
    return -1;
}

lc_status lc_sinks_open(lc_hub *hub, const char *spec, char *err, size_t errlen)
{
    int want[SINK_COUNT] = {0};
    int order[SINK_COUNT];
    int norder = 0;
    char buf[512];
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, errlen, "logger spec is too long");
        return LC_ERR_INVALID;
    }
    memcpy(buf, spec, strlen(spec) + 1);
    char *save = NULL;
    int named = 0; /* a spec such as "," names nothing: an error, not zero sinks */
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        named = 1;
        if (strcmp(tok, "none") == 0)
            continue;
        int i = find_sink(tok);
        if (i < 0) {
            for (size_t p = 0; p < sizeof planned / sizeof planned[0]; p++) {
                if (strcmp(tok, planned[p]) == 0) {
                    snprintf(err, errlen, "logger '%s' is not built into lightc %s yet; available: %s",
                             tok, LC_VERSION_STRING, lc_available_sinks());
                    return LC_ERR_UNSUPPORTED;
                }
            }
            snprintf(err, errlen, "unknown logger '%s' in '%s'; available: %s (set --loggers or LIGHTC_LOGGERS)",
                     tok, spec, lc_available_sinks());
            return LC_ERR_INVALID;
        }
        if (!want[i]) {
            want[i] = 1;
            order[norder++] = i;
        }
    }
    if (!named) {
        snprintf(err, errlen, "logger spec '%s' names no logger; give one or more of %s, or none "
                 "to log nothing (set --loggers or LIGHTC_LOGGERS)", spec, lc_available_sinks());
        return LC_ERR_INVALID;
    }
    /* the index goes first */
    for (int k = 0; k < norder; k++) {
        if (order[k] == SINK_SQLITE && k != 0) {
            memmove(order + 1, order, (size_t)k * sizeof order[0]);
            order[0] = SINK_SQLITE;
        }
    }
    int yaml_writer = want[SINK_CSV] ? SINK_CSV : want[SINK_TENSORBOARD] ? SINK_TENSORBOARD : -1;
    for (int k = 0; k < norder; k++) {
        lc_sink_config cfg = {.root = hub->root, .console_keys = hub->console_keys,
                              .flush_interval_ms = hub->flush_interval_ms,
                              .hparams_yaml = order[k] == yaml_writer};
        lc_sink *s = &hub->sinks[hub->nsinks];
        memset(s, 0, sizeof *s);
        s->index = hub->nsinks;
        char e[LC_ERRLEN] = "";
        lc_status st = registry[order[k]].ctor(&cfg, s, e, sizeof e);
        if (st != LC_OK) {
            snprintf(err, errlen, "%s logger: %s", registry[order[k]].name, e);
            return st;
        }
        s->index = hub->nsinks;
        hub->nsinks++;
    }
    return LC_OK;
}
