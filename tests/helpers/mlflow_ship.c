/*
 * tests/helpers/mlflow_ship.c — drives the MLflow backend directly through
 * remote.h, as the shipper does, for tests/integration/test_mlflow_backend.py.
 *
 *   mlflow_ship SPEC.json
 *
 * SPEC: {"run": {"run_uuid", "experiment", "name", "start_time", "tags":
 * [k, v, ...], "remote_id"}, "items": [{"kind": "param"|"tag"|"metric"|
 * "text"|"artifact"|"end", "key", "text", "value" (number or "NaN",
 * "Infinity", "-Infinity"), "step" (number or decimal string, for int64
 * beyond 2^53), "wall_time", "rec", "status" ("finished", ...)}], "chunk": N
 * (items per ship call; 0: all), "open_only": bool}.
 * Prints one JSON line: {"new_status", "open_status", "ship_status",
 * "message", "remote_id", "remote_url", "done", "calls"}. The backend reads
 * MLFLOW_* from the environment. Exit 0 whenever the JSON was printed.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/status.h"
#include "remote/remote.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "NaN"))
            return NAN;
        if (!strcmp(v->valuestring, "Infinity"))
            return INFINITY;
        if (!strcmp(v->valuestring, "-Infinity"))
            return -INFINITY;
        return strtod(v->valuestring, NULL);
    }
    return dflt;
}

static long long i64(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(v))
        return strtoll(v->valuestring, NULL, 10);
    if (cJSON_IsNumber(v))
        return (long long)v->valuedouble;
    return 0;
}

static lc_outbox_kind kind_of(const char *s)
{
    static const char *names[] = {"", "param", "tag", "metric", "text", "artifact", "end"};
    for (int i = 1; i <= 6; i++)
        if (s && !strcmp(s, names[i]))
            return (lc_outbox_kind)i;
    return (lc_outbox_kind)0;
}

static lc_run_status status_of(const char *s)
{
    if (!s || !strcmp(s, "finished"))
        return LC_RUN_FINISHED;
    if (!strcmp(s, "failed"))
        return LC_RUN_FAILED;
    if (!strcmp(s, "killed"))
        return LC_RUN_KILLED;
    if (!strcmp(s, "crashed"))
        return LC_RUN_CRASHED;
    return LC_RUN_RUNNING;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mlflow_ship SPEC.json\n");
        return 2;
    }
    char *text = slurp(argv[1]);
    cJSON *spec = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!spec) {
        fprintf(stderr, "mlflow_ship: cannot read %s\n", argv[1]);
        return 2;
    }
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(spec, "run");
    const cJSON *ji = cJSON_GetObjectItemCaseSensitive(spec, "items");
    size_t n = (size_t)cJSON_GetArraySize(ji);
    size_t chunk = (size_t)num(spec, "chunk", 0);
    int open_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "open_only"));

    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(jr, "tags");
    size_t nt = (size_t)cJSON_GetArraySize(jt);
    const char **tags = calloc(nt + 1, sizeof *tags);
    for (size_t i = 0; i < nt; i++)
        tags[i] = cJSON_GetArrayItem(jt, (int)i)->valuestring;
    lc_remote_run run = {0};
    run.run_uuid = str(jr, "run_uuid");
    run.experiment = str(jr, "experiment");
    run.name = str(jr, "name");
    run.start_time = num(jr, "start_time", 0);
    run.tags = tags;
    if (str(jr, "remote_id"))
        snprintf(run.remote_id, sizeof run.remote_id, "%s", str(jr, "remote_id"));

    lc_outbox_item *items = calloc(n + 1, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(ji, (int)i);
        items[i].seq = (int64_t)i + 1;
        items[i].kind = kind_of(str(o, "kind"));
        items[i].key = str(o, "key");
        items[i].text = str(o, "text");
        items[i].value = num(o, "value", 0);
        items[i].step = i64(o, "step");
        items[i].wall_time = num(o, "wall_time", 0);
        items[i].rec = i64(o, "rec");
        items[i].status = status_of(str(o, "status"));
    }

    lc_status new_st, open_st = LC_OK, ship_st = LC_OK;
    char message[1024] = "";
    size_t done_total = 0, calls = 0;
    lc_remote r;
    new_st = lc_remote_mlflow_new(&r);
    if (new_st != LC_OK)
        snprintf(message, sizeof message, "%s", lc_errmsg());
    else {
        open_st = r.vt->open_run(&r, &run);
        if (open_st != LC_OK)
            snprintf(message, sizeof message, "%s", lc_errmsg());
        else if (!open_only) {
            while (done_total < n) {
                size_t m = chunk && chunk < n - done_total ? chunk : n - done_total;
                size_t done = 0;
                ship_st = r.vt->ship(&r, &run, items + done_total, m, &done);
                calls++;
                done_total += done;
                if (ship_st != LC_OK) {
                    snprintf(message, sizeof message, "%s", lc_errmsg());
                    break;
                }
            }
        }
        if (open_st == LC_OK)
            r.vt->close_run(&r, &run);
        r.vt->free(&r);
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "new_status", lc_status_name(new_st));
    cJSON_AddStringToObject(out, "open_status", lc_status_name(open_st));
    cJSON_AddStringToObject(out, "ship_status", lc_status_name(ship_st));
    cJSON_AddStringToObject(out, "message", message);
    cJSON_AddStringToObject(out, "remote_id", run.remote_id);
    cJSON_AddStringToObject(out, "remote_url", run.remote_url);
    cJSON_AddNumberToObject(out, "done", (double)done_total);
    cJSON_AddNumberToObject(out, "calls", (double)calls);
    char *s = cJSON_PrintUnformatted(out);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(out);
    cJSON_Delete(spec);
    free(items);
    free(tags);
    return 0;
}
