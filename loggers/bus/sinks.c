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
 *
 * Remote backends ("mlflow", "wandb") are not sinks: each gets a
 * shipper thread (remote/shipper.h) that reads the index, so naming one
 * implies the index ("sqlite") even when the spec does not list it. The
 * sqlite sink is told their names and records a delivery per run for each.
 * Their constructors run before any sink, so a backend that switched
 * itself off (WANDB_MODE=disabled: no vtable) leaves no delivery behind.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/status.h"
#include "hub_internal.h"
#include "remote/registry.h"

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

static char available[128];
static pthread_once_t available_once = PTHREAD_ONCE_INIT;

static void available_init(void)
{
    size_t n = 0;
    for (int i = 0; i < SINK_COUNT; i++)
        n += (size_t)snprintf(available + n, sizeof available - n, "%s%s", i ? "," : "", registry[i].name);
    n += (size_t)snprintf(available + n, sizeof available - n, ",%s", lc_remote_builtin_names());
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
    const char *remote_names[LC_MAX_REMOTES];
    lc_remote_ctor remote_ctors[LC_MAX_REMOTES];
    int nremote = 0;
    char remotes[256] = "";
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
        lc_remote_ctor rc = i < 0 ? lc_remote_find(tok) : NULL;
        if (rc) {
            int dup = 0;
            for (int k = 0; k < nremote; k++)
                dup |= strcmp(remote_names[k], tok) == 0;
            if (dup)
                continue;
            if (nremote == LC_MAX_REMOTES) {
                snprintf(err, errlen, "too many remote loggers in '%s' (at most %d)", spec,
                         LC_MAX_REMOTES);
                return LC_ERR_INVALID;
            }
            remote_names[nremote] = tok;
            remote_ctors[nremote++] = rc;
            /* the index is the outbox: a remote backend implies it */
            i = SINK_SQLITE;
        }
        if (i < 0) {
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
    /* The remote backends first: their configuration errors come before any
       file is written, and one that is switched off is dropped. */
    lc_remote backends[LC_MAX_REMOTES];
    int nbe = 0;
    for (int k = 0; k < nremote; k++) {
        lc_remote be = {0};
        lc_clear_error();
        lc_status st = remote_ctors[k](&be);
        if (st != LC_OK) {
            snprintf(err, errlen, "%s logger: %s", remote_names[k],
                     lc_errmsg()[0] ? lc_errmsg() : lc_status_name(st));
            for (int j = 0; j < nbe; j++)
                backends[j].vt->free(&backends[j]);
            return st;
        }
        if (!be.vt)
            continue; /* switched off by its own setting */
        remote_names[nbe] = remote_names[k];
        backends[nbe++] = be;
    }
    nremote = nbe;
    for (int k = 0, n = 0; k < nremote; k++)
        n += snprintf(remotes + n, sizeof remotes - (size_t)n, "%s%s", k ? "," : "",
                      remote_names[k]);
    for (int k = 0; k < norder; k++) {
        lc_sink_config cfg = {.root = hub->root, .console_keys = hub->console_keys,
                              .flush_interval_ms = hub->flush_interval_ms,
                              .hparams_yaml = order[k] == yaml_writer,
                              .remotes = order[k] == SINK_SQLITE && nremote ? remotes : NULL};
        lc_sink *s = &hub->sinks[hub->nsinks];
        memset(s, 0, sizeof *s);
        s->index = hub->nsinks;
        char e[LC_ERRLEN] = "";
        lc_status st = registry[order[k]].ctor(&cfg, s, e, sizeof e);
        if (st != LC_OK) {
            snprintf(err, errlen, "%s logger: %s", registry[order[k]].name, e);
            for (int j = 0; j < nremote; j++)
                backends[j].vt->free(&backends[j]);
            return st;
        }
        s->index = hub->nsinks;
        hub->nsinks++;
    }
    /* The shippers, once the index exists (the sqlite sink made it). */
    for (int k = 0; k < nremote; k++) {
        char e[LC_ERRLEN] = "";
        lc_shipper *sh = NULL;
        lc_status st = lc_shipper_new(&sh, &backends[k], hub->root, NULL, e, sizeof e);
        if (st == LC_OK && (st = lc_shipper_start(sh, e, sizeof e)) != LC_OK)
            lc_shipper_free(sh);
        if (st != LC_OK) {
            snprintf(err, errlen, "%s logger: %s", remote_names[k], e);
            for (int j = k + 1; j < nremote; j++)
                backends[j].vt->free(&backends[j]);
            return st;
        }
        hub->shippers[hub->nshippers++] = sh;
    }
    return LC_OK;
}

void lc_hub_drain_remotes(lc_hub *hub, const char *run_uuid, uint32_t timeout_ms)
{
    /* All shippers drain at once: the deadline is shared. */
    uint64_t deadline = lc_mono_ms() + timeout_ms;
    for (int i = 0; i < hub->nshippers; i++) {
        uint64_t now = lc_mono_ms();
        uint32_t left = now < deadline ? (uint32_t)(deadline - now) : 0;
        lc_shipper_drain(hub->shippers[i], run_uuid, left, 1);
    }
}

void lc_hub_stop_remotes(lc_hub *hub, uint32_t timeout_ms)
{
    uint64_t deadline = timeout_ms ? lc_mono_ms() + timeout_ms : 0;
    for (int i = 0; i < hub->nshippers; i++) {
        uint32_t left = 0;
        if (deadline) {
            uint64_t now = lc_mono_ms();
            left = now < deadline ? (uint32_t)(deadline - now) : 1;
        }
        if (lc_shipper_stop(hub->shippers[i], left) == LC_ERR_TIMEOUT)
            fprintf(stderr, "lightc: %s: the shipper is still inside a request; left to finish in "
                            "the background (what it has not delivered stays pending for "
                            "`lightc sync`)\n", lc_shipper_name(hub->shippers[i]));
        hub->shippers[i] = NULL;
    }
    hub->nshippers = 0;
}
