/*
 * loggers/sinks.c — the sink registry: parse a logger spec such as
 * "sqlite,tensorboard,csv,console" (from --loggers, LIGHTC_LOGGERS or the
 * options) and construct the sinks in a fixed order: the SQLite index first
 * (it is the source of truth and refuses duplicate runs before any file is
 * written), then the others as listed. "none" is the explicit choice of no
 * sink; a spec that names nothing ("", ",") is an error.
 */
#include <stdio.h>
#include <string.h>

#include "hub_internal.h"

typedef int (*sink_ctor)(const lc_sink_config *, lc_sink *, char *, size_t);

static const struct {
    const char *name;
    const char *alias;
    sink_ctor ctor;
} registry[] = {
    {"sqlite", "index", lc_sink_sqlite_new},
    {"tensorboard", "tb", lc_sink_tensorboard_new},
    {"csv", NULL, lc_sink_csv_new},
    {"console", "progress", lc_sink_console_new},
};

/* Remote backends arrive in later versions; name them so the error helps. */
static const char *const planned[] = {"mlflow", "wandb"};

const char *lc_available_sinks(void)
{
    return "sqlite,tensorboard,csv,console";
}

static int find_sink(const char *name)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(name, registry[i].name) == 0 || (registry[i].alias && strcmp(name, registry[i].alias) == 0))
            return (int)i;
    return -1;
}

int lc_sinks_open(lc_hub *hub, const char *spec, char *err, size_t errlen)
{
    int want[sizeof registry / sizeof registry[0]] = {0};
    int order[sizeof registry / sizeof registry[0]];
    int norder = 0;
    char buf[512];
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, errlen, "logger spec is too long");
        return -1;
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
                    return -1;
                }
            }
            snprintf(err, errlen, "unknown logger '%s' in '%s'; available: %s (set --loggers or LIGHTC_LOGGERS)",
                     tok, spec, lc_available_sinks());
            return -1;
        }
        if (!want[i]) {
            want[i] = 1;
            order[norder++] = i;
        }
    }
    if (!named) {
        snprintf(err, errlen, "logger spec '%s' names no logger; give one or more of %s, or none "
                 "to log nothing (set --loggers or LIGHTC_LOGGERS)", spec, lc_available_sinks());
        return -1;
    }
    /* the index goes first */
    for (int k = 0; k < norder; k++) {
        if (order[k] == 0 && k != 0) {
            memmove(order + 1, order, (size_t)k * sizeof order[0]);
            order[0] = 0;
        }
    }
    lc_sink_config cfg = {.root = hub->root, .console_keys = hub->console_keys,
                          .flush_interval_ms = hub->flush_interval_ms};
    for (int k = 0; k < norder; k++) {
        lc_sink *s = &hub->sinks[hub->nsinks];
        memset(s, 0, sizeof *s);
        s->index = hub->nsinks;
        char e[LC_ERRLEN] = "";
        if (registry[order[k]].ctor(&cfg, s, e, sizeof e) != 0) {
            snprintf(err, errlen, "%s logger: %s", registry[order[k]].name, e);
            return -1;
        }
        s->index = hub->nsinks;
        hub->nsinks++;
    }
    return 0;
}
