/*
 * loggers/remote/mlflow/mlflow_json.c — the JSON bodies the MLflow REST API
 * takes, and the fields read from its answers, through cJSON.
 *
 * Numbers are where a careless body loses data: the server's parser
 * answers 200 yet drops every item after one it cannot parse (reference
 * §9), and cJSON prints NaN/Inf as null and int64 beyond 2^53 inexactly.
 * So every number is emitted as raw text written here: finite doubles as
 * their shortest round-trip text (Python's repr, number_format.h), NaN/+Inf/-Inf as the strings "NaN",
 * "Infinity", "-Infinity" (what the Python client sends), steps and
 * millisecond timestamps as exact integers. Bodies are compact, and the
 * same items always give the same bytes (a retried log-batch is then a
 * no-op on the server's metric key). The log-batch body, built once per
 * request of up to 1000 points, is written straight into a buffer
 * (remote/json_writer.h); the rare ones (runs, experiments) use cJSON.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow_internal.h"
#include "remote/json_writer.h"
#include "shared/number_format.h"

/* ---------------------------------------------------------------------- */
/* numbers and strings */

void mlflow_json_double(double v, char *out, size_t cap)
{
    if (isnan(v))
        snprintf(out, cap, "\"NaN\"");
    else if (isinf(v))
        snprintf(out, cap, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else {
        char tmp[LC_DOUBLE_BUFSZ];
        lc_format_double(v, tmp);
        snprintf(out, cap, "%s", tmp);
    }
}

int64_t mlflow_ms(double t)
{
    if (!(t > 0))
        return 0;
    double ms = floor(t * 1000.0 + 0.5);
    if (ms > 9.2e18)
        return INT64_MAX / 2;
    return (int64_t)ms;
}

size_t mlflow_utf8_prefix(const char *s, size_t max_chars)
{
    size_t i = 0, chars = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == max_chars)
                break;
            chars++;
        }
        i++;
    }
    return i;
}

size_t mlflow_json_string_len(const char *s)
{
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' ||
            *p == '\t')
            n += 2;
        else if (*p < 0x20)
            n += 6;
        else
            n += 1;
    }
    return n;
}

static bool add_raw_i64(cJSON *o, const char *name, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return cJSON_AddRawToObject(o, name, buf) != NULL;
}

/* A cut copy of s when it is longer than max_chars code points, else s. */
static const char *cut(const char *s, size_t max_chars, char **tmp, bool *was_cut)
{
    *tmp = NULL;
    *was_cut = false;
    size_t len = mlflow_utf8_prefix(s, max_chars);
    if (!s[len])
        return s;
    *tmp = malloc(len + 1);
    if (!*tmp)
        return NULL;
    memcpy(*tmp, s, len);
    (*tmp)[len] = 0;
    *was_cut = true;
    return *tmp;
}

static bool add_kv(cJSON *arr, const char *key, const char *value, size_t max_chars, bool *was_cut)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return false;
    cJSON_AddItemToArray(arr, o);
    char *tmp;
    const char *v = cut(value ? value : "", max_chars, &tmp, was_cut);
    bool ok = v && cJSON_AddStringToObject(o, "key", key ? key : "") &&
              cJSON_AddStringToObject(o, "value", v);
    free(tmp);
    return ok;
}

static char *print_free(cJSON *root, bool ok)
{
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

/* ---------------------------------------------------------------------- */
/* log-batch */

size_t mlflow_batch_take(const lc_outbox_item *items, size_t n)
{
    size_t metrics = 0, params = 0, tags = 0, bytes = 64;
    size_t i;
    for (i = 0; i < n; i++) {
        const lc_outbox_item *it = &items[i];
        const char *key = it->key ? it->key : "";
        size_t sz;
        if (it->kind == LC_OB_METRIC) {
            if (metrics == MLFLOW_MAX_METRICS_PER_BATCH)
                break;
            sz = mlflow_json_string_len(key) + 96;
        } else if (it->kind == LC_OB_PARAM || it->kind == LC_OB_TAG) {
            bool param = it->kind == LC_OB_PARAM;
            if ((param ? params : tags) == (param ? MLFLOW_MAX_PARAMS_PER_BATCH : MLFLOW_MAX_TAGS_PER_BATCH))
                break;
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = items[j].kind == it->kind && !strcmp(items[j].key ? items[j].key : "", key);
            if (dup)
                break;
            /* bound: the whole value (a cut one is shorter) */
            sz = mlflow_json_string_len(key) + mlflow_json_string_len(it->text ? it->text : "") + 24;
        } else
            break;
        if (metrics + params + tags == MLFLOW_MAX_ENTITIES_PER_BATCH)
            break;
        if (i > 0 && bytes + sz > MLFLOW_MAX_BATCH_BYTES)
            break;
        bytes += sz;
        if (it->kind == LC_OB_METRIC)
            metrics++;
        else if (it->kind == LC_OB_PARAM)
            params++;
        else
            tags++;
    }
    return i;
}

/* One {"key":..,"value":..} with the value cut to max_chars code points. */
static void jw_kv(lc_jw *w, const char *key, const char *value, size_t max_chars, bool *was_cut)
{
    const char *v = value ? value : "";
    size_t len = mlflow_utf8_prefix(v, max_chars);
    *was_cut = v[len] != 0;
    lc_jw_lit(w, "{\"key\":");
    lc_jw_str(w, key ? key : "");
    lc_jw_lit(w, ",\"value\":");
    lc_jw_strn(w, v, len);
    lc_jw_raw(w, "}", 1);
}

static void jw_metric(lc_jw *w, const lc_outbox_item *it)
{
    char num[40];
    lc_jw_lit(w, "{\"key\":");
    lc_jw_str(w, it->key ? it->key : "");
    lc_jw_lit(w, ",\"value\":");
    if (isfinite(it->value))
        lc_jw_double(w, it->value);
    else {
        mlflow_json_double(it->value, num, sizeof num);
        lc_jw_lit(w, num);
    }
    lc_jw_lit(w, ",\"timestamp\":");
    lc_jw_i64(w, mlflow_ms(it->wall_time));
    lc_jw_lit(w, ",\"step\":");
    lc_jw_i64(w, it->step);
    lc_jw_raw(w, "}", 1);
}

/* The body is written straight into one buffer (json_writer.h): this is
 * the shipper's per-point work, and a cJSON tree cost most of its CPU. */
char *mlflow_json_log_batch(const char *run_id, const lc_outbox_item *items, size_t n,
                            size_t *params_cut)
{
    *params_cut = 0;
    lc_jw w;
    lc_jw_init(&w, 64 + n * 96);
    lc_jw_lit(&w, "{\"run_id\":");
    lc_jw_str(&w, run_id);
    /* arrays only when non-empty, in a fixed order: metrics, params, tags */
    static const struct {
        lc_outbox_kind kind;
        const char *open;
    } arrays[] = {{LC_OB_METRIC, ",\"metrics\":["},
                  {LC_OB_PARAM, ",\"params\":["},
                  {LC_OB_TAG, ",\"tags\":["}};
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
            const lc_outbox_item *it = &items[i];
            if (it->kind != LC_OB_METRIC && it->kind != LC_OB_PARAM && it->kind != LC_OB_TAG) {
                lc_jw_discard(&w);
                return NULL; /* not a log-batch item: the caller's mistake */
            }
            if (it->kind != arrays[a].kind)
                continue;
            lc_jw_lit(&w, count++ ? "," : arrays[a].open);
            bool was_cut = false;
            if (it->kind == LC_OB_METRIC)
                jw_metric(&w, it);
            else if (it->kind == LC_OB_PARAM) {
                jw_kv(&w, it->key, it->text, MLFLOW_MAX_PARAM_VALUE, &was_cut);
                *params_cut += was_cut;
            } else
                jw_kv(&w, it->key, it->text, MLFLOW_MAX_TAG_VALUE, &was_cut);
        }
        if (count)
            lc_jw_raw(&w, "]", 1);
    }
    lc_jw_raw(&w, "}", 1);
    return lc_jw_finish(&w);
}

/* ---------------------------------------------------------------------- */
/* runs and experiments */

char *mlflow_json_create_run(const char *experiment_id, const char *run_name, int64_t start_ms,
                             const char *const *tags)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    bool ok = cJSON_AddStringToObject(root, "experiment_id", experiment_id) != NULL;
    if (ok && run_name && *run_name)
        ok = cJSON_AddStringToObject(root, "run_name", run_name) != NULL;
    ok = ok && add_raw_i64(root, "start_time", start_ms);
    cJSON *arr = ok ? cJSON_AddArrayToObject(root, "tags") : NULL;
    ok = ok && arr;
    bool was_cut;
    for (size_t i = 0; ok && tags && tags[i]; i += 2)
        ok = add_kv(arr, tags[i], tags[i + 1], MLFLOW_MAX_TAG_VALUE, &was_cut);
    return print_free(root, ok);
}

char *mlflow_json_update_run(const char *run_id, const char *status, int64_t end_ms)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    bool ok = cJSON_AddStringToObject(root, "run_id", run_id) != NULL;
    if (ok && status)
        ok = cJSON_AddStringToObject(root, "status", status) != NULL;
    if (ok && end_ms >= 0)
        ok = add_raw_i64(root, "end_time", end_ms);
    return print_free(root, ok);
}

char *mlflow_json_search_uuid(const char *experiment_id, const char *uuid)
{
    /* the uuid is lightc's (hex digits); anything else could break the
       filter's quoting, so it is refused rather than escaped */
    for (const char *p = uuid; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '-' || *p == '_'))
            return NULL;
    char filter[256];
    snprintf(filter, sizeof filter, "tags.`lightc.run_uuid` = '%s'", uuid);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON *ids = cJSON_AddArrayToObject(root, "experiment_ids");
    bool ok = ids != NULL;
    if (ok) {
        cJSON *s = cJSON_CreateString(experiment_id);
        ok = s != NULL;
        if (ok)
            cJSON_AddItemToArray(ids, s);
    }
    ok = ok && cJSON_AddStringToObject(root, "filter", filter) &&
         cJSON_AddStringToObject(root, "run_view_type", "ACTIVE_ONLY") &&
         cJSON_AddRawToObject(root, "max_results", "10");
    return print_free(root, ok);
}

char *mlflow_json_create_experiment(const char *name)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    bool ok = cJSON_AddStringToObject(root, "name", name) != NULL;
    return print_free(root, ok);
}

/* ---------------------------------------------------------------------- */
/* reading answers */

static const cJSON *walk(const cJSON *node, const char *path)
{
    char part[64];
    while (node && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = 0;
        path += n + (path[n] == '.');
        if (cJSON_IsArray(node)) {
            char *end;
            long idx = strtol(part, &end, 10);
            node = *end ? NULL : cJSON_GetArrayItem(node, (int)idx);
        } else
            node = cJSON_GetObjectItemCaseSensitive(node, part);
    }
    return node;
}

char *mlflow_json_get_dup(const char *json, const char *path)
{
    if (!json)
        return NULL;
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return NULL;
    const cJSON *v = walk(root, path);
    char *out = cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring) : NULL;
    cJSON_Delete(root);
    return out;
}

bool mlflow_json_get(const char *json, const char *path, char *out, size_t cap)
{
    char *s = mlflow_json_get_dup(json, path);
    if (!s)
        return false;
    bool ok = strlen(s) < cap;
    if (ok)
        memcpy(out, s, strlen(s) + 1);
    free(s);
    return ok;
}

const char *mlflow_status_name(lc_run_status s)
{
    switch (s) {
    case LC_RUN_RUNNING:
        return "RUNNING";
    case LC_RUN_FINISHED:
        return "FINISHED";
    case LC_RUN_KILLED:
        return "KILLED";
    case LC_RUN_FAILED:
    case LC_RUN_CRASHED:
    default:
        return "FAILED";
    }
}
