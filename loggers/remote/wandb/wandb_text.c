/*
 * loggers/remote/wandb/wandb_text.c — the JSON text W&B gets, written with
 * the remote backends' JSON writer (remote/json_writer.h) where cJSON
 * cannot: W&B's "extended JSON" writes NaN, Infinity and -Infinity as bare
 * tokens (cJSON would write null), and a number reads back as the same
 * double (its shortest round-trip text).
 *
 * Also: a param's value from its index text, the config in the SDK's
 * nesting ({"optimizer": {"value": {"lr": 0.001}}} for "optimizer/lr"),
 * config.yaml, the summary (last value per key, one JSON line), and how
 * many outbox items make whole history lines.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "wandb_internal.h"

void wandb_jw_number(lc_jw *w, double v)
{
    if (isnan(v))
        lc_jw_lit(w, "NaN");
    else if (isinf(v))
        lc_jw_lit(w, v > 0 ? "Infinity" : "-Infinity");
    else
        lc_jw_double(w, v);
}

/* ---------------------------------------------------------------------- */
/* config */

cJSON *wandb_param_value(const char *text)
{
    if (!text)
        return cJSON_CreateNull();
    if (!strcmp(text, "true"))
        return cJSON_CreateTrue();
    if (!strcmp(text, "false"))
        return cJSON_CreateFalse();
    if (!strcmp(text, "None"))
        return cJSON_CreateNull();
    if (*text && strspn(text, " \t") == 0) {
        char *end;
        double d = strtod(text, &end);
        if (end != text && !*end && isfinite(d))
            return cJSON_CreateNumber(d);
    }
    return cJSON_CreateString(text);
}

/* obj[name] = v, in place when it exists (the key keeps its position). */
static bool put_item(cJSON *obj, const char *name, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
    return cJSON_AddItemToObject(obj, name, v);
}

bool wandb_config_set(cJSON *config, const char *key, cJSON *v)
{
    if (!v)
        return false;
    const char *slash = strchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : strlen(key);
    char *top = strndup(key, n);
    if (!top) {
        cJSON_Delete(v);
        return false;
    }
    cJSON *entry = cJSON_GetObjectItemCaseSensitive(config, top);
    if (!cJSON_IsObject(entry)) {
        cJSON_DeleteItemFromObjectCaseSensitive(config, top);
        entry = cJSON_AddObjectToObject(config, top);
    }
    free(top);
    if (!entry) {
        cJSON_Delete(v);
        return false;
    }
    if (!slash)
        return put_item(entry, "value", v);
    /* nested: value is an object of the rest of the path */
    cJSON *node = cJSON_GetObjectItemCaseSensitive(entry, "value");
    if (!cJSON_IsObject(node)) {
        cJSON_DeleteItemFromObjectCaseSensitive(entry, "value");
        node = cJSON_AddObjectToObject(entry, "value");
    }
    const char *p = slash + 1;
    while (node) {
        const char *s2 = strchr(p, '/');
        size_t len = s2 ? (size_t)(s2 - p) : strlen(p);
        char *seg = strndup(p, len);
        if (!seg)
            break;
        if (!s2) {
            bool ok = put_item(node, seg, v);
            free(seg);
            return ok;
        }
        cJSON *next = cJSON_GetObjectItemCaseSensitive(node, seg);
        if (!cJSON_IsObject(next)) {
            cJSON_DeleteItemFromObjectCaseSensitive(node, seg);
            next = cJSON_AddObjectToObject(node, seg);
        }
        free(seg);
        node = next;
        p = s2 + 1;
    }
    cJSON_Delete(v);
    return false;
}

char *wandb_config_yaml(const cJSON *config)
{
    lc_jw b;
    lc_jw_init(&b, 256);
    lc_jw_lit(&b, "wandb_version: 1\n");
    for (const cJSON *c = config ? config->child : NULL; c; c = c->next) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
        char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
        lc_jw_lit(&b, "\n");
        lc_jw_str(&b, c->string); /* a JSON string is a YAML scalar */
        lc_jw_lit(&b, ":\n  desc: null\n  value: ");
        lc_jw_lit(&b, txt ? txt : "null");
        lc_jw_lit(&b, "\n");
        cJSON_free(txt);
    }
    return lc_jw_finish(&b);
}

/* ---------------------------------------------------------------------- */
/* summary */

lc_status wandb_summary_spec_parse(const char *text, wandb_summary_spec *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return LC_OK;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ';';
    out->keys = calloc(cap, sizeof *out->keys);
    out->aggs = calloc(cap, sizeof *out->aggs);
    if (!out->keys || !out->aggs) {
        wandb_summary_spec_free(out);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ";");
        const char *eq = memchr(p, '=', len);
        unsigned aggs = 0;
        bool ok = eq && eq > p;
        for (const char *a = eq ? eq + 1 : p; ok && a < p + len;) {
            size_t al = strcspn(a, ",;");
            if (al == 3 && !strncmp(a, "min", 3))
                aggs |= WANDB_SUM_MIN;
            else if (al == 3 && !strncmp(a, "max", 3))
                aggs |= WANDB_SUM_MAX;
            else if (al == 4 && !strncmp(a, "last", 4))
                aggs |= WANDB_SUM_LAST;
            else
                ok = false;
            a += al + (a[al] == ',');
        }
        if (!ok || !aggs) {
            wandb_summary_spec_free(out);
            return lc_fail(LC_ERR_INVALID,
                           "wandb: LIGHTC_WANDB_SUMMARY='%s': give KEY=AGG[,AGG] entries "
                           "separated by ';', AGG one of min, max, last (e.g. "
                           "val/acc=max;train/loss=min,last)", text);
        }
        if (len) {
            out->keys[out->n] = strndup(p, (size_t)(eq - p));
            if (!out->keys[out->n]) {
                wandb_summary_spec_free(out);
                return lc_fail(LC_ERR_NOMEM, "out of memory");
            }
            out->aggs[out->n++] = aggs;
        }
        p += len + (p[len] == ';');
    }
    return LC_OK;
}

void wandb_summary_spec_free(wandb_summary_spec *sp)
{
    for (size_t i = 0; sp->keys && i < sp->n; i++)
        free(sp->keys[i]);
    free(sp->keys);
    free(sp->aggs);
    memset(sp, 0, sizeof *sp);
}

unsigned wandb_summary_aggs(const wandb_summary_spec *sp, const char *key)
{
    for (size_t i = 0; sp && i < sp->n; i++)
        if (!strcmp(sp->keys[i], key))
            return sp->aggs[i];
    return WANDB_SUM_LAST;
}

/* A resumed run's min/max of key from the server's summary, if it has one. */
static void base_minmax(const wandb_summary *s, const char *key, const char *agg, double *v)
{
    const cJSON *o = s->base ? cJSON_GetObjectItemCaseSensitive(s->base, key) : NULL;
    const cJSON *x = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, agg) : NULL;
    if (cJSON_IsNumber(x))
        *v = x->valuedouble;
}

void wandb_summary_set(wandb_summary *s, const char *key, double v)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i], key)) {
            s->vals[i] = v;
            if (!isnan(v) && (isnan(s->mins[i]) || v < s->mins[i]))
                s->mins[i] = v;
            if (!isnan(v) && (isnan(s->maxs[i]) || v > s->maxs[i]))
                s->maxs[i] = v;
            return;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **k = realloc(s->keys, cap * sizeof *k);
        if (!k)
            return;
        s->keys = k;
        double *d = realloc(s->vals, cap * sizeof *d);
        if (!d)
            return;
        s->vals = d;
        if (!(d = realloc(s->mins, cap * sizeof *d)))
            return;
        s->mins = d;
        if (!(d = realloc(s->maxs, cap * sizeof *d)))
            return;
        s->maxs = d;
        unsigned *a = realloc(s->aggs, cap * sizeof *a);
        if (!a)
            return;
        s->aggs = a;
        s->cap = cap;
    }
    if (!(s->keys[s->n] = strdup(key)))
        return;
    size_t i = s->n++;
    s->vals[i] = s->mins[i] = s->maxs[i] = v;
    s->aggs[i] = wandb_summary_aggs(s->spec, key);
    if (s->aggs[i] != WANDB_SUM_LAST) {
        double m = NAN;
        base_minmax(s, key, "min", &m);
        if (!isnan(m) && (isnan(v) || m < v))
            s->mins[i] = m;
        m = NAN;
        base_minmax(s, key, "max", &m);
        if (!isnan(m) && (isnan(v) || m > v))
            s->maxs[i] = m;
    }
}

/* Key i's summary value: the last value, or {"min", "max", "last"} as asked. */
void wandb_summary_value(lc_jw *b, const wandb_summary *s, size_t i)
{
    unsigned a = s->aggs[i];
    if (a == WANDB_SUM_LAST) {
        wandb_jw_number(b, s->vals[i]);
        return;
    }
    const char *sep = "{";
    if (a & WANDB_SUM_MIN) {
        lc_jw_lit(b, "{\"min\":");
        wandb_jw_number(b, s->mins[i]);
        sep = ",";
    }
    if (a & WANDB_SUM_MAX) {
        lc_jw_lit(b, sep);
        lc_jw_lit(b, "\"max\":");
        wandb_jw_number(b, s->maxs[i]);
        sep = ",";
    }
    if (a & WANDB_SUM_LAST) {
        lc_jw_lit(b, sep);
        lc_jw_lit(b, "\"last\":");
        wandb_jw_number(b, s->vals[i]);
    }
    lc_jw_lit(b, "}");
}

char *wandb_summary_json(const wandb_summary *s)
{
    lc_jw b;
    lc_jw_init(&b, 256);
    lc_jw_lit(&b, "{");
    int first = 1;
    /* a resumed run's keys we have no newer value for */
    for (const cJSON *c = s->base ? s->base->child : NULL; c; c = c->next) {
        if (!c->string || c->string[0] == '_')
            continue;
        int ours = 0;
        for (size_t i = 0; i < s->n && !ours; i++)
            ours = !strcmp(s->keys[i], c->string);
        if (ours)
            continue;
        char *txt = cJSON_PrintUnformatted(c);
        if (!txt)
            continue;
        if (!first)
            lc_jw_lit(&b, ",");
        first = 0;
        lc_jw_str(&b, c->string);
        lc_jw_lit(&b, ":");
        lc_jw_lit(&b, txt);
        cJSON_free(txt);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!first)
            lc_jw_lit(&b, ",");
        first = 0;
        lc_jw_str(&b, s->keys[i]);
        lc_jw_lit(&b, ":");
        wandb_summary_value(&b, s, i);
    }
    if (s->have_line) {
        lc_jw_lit(&b, first ? "\"_step\":" : ",\"_step\":");
        lc_jw_i64(&b, s->step);
        lc_jw_lit(&b, ",\"_runtime\":");
        wandb_jw_number(&b, s->runtime);
        lc_jw_lit(&b, ",\"_timestamp\":");
        wandb_jw_number(&b, s->timestamp);
        lc_jw_lit(&b, ",\"_wandb\":{\"runtime\":");
        lc_jw_i64(&b, (int64_t)s->runtime);
        lc_jw_lit(&b, "}");
    }
    lc_jw_lit(&b, "}");
    return lc_jw_finish(&b);
}

void wandb_summary_free(wandb_summary *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s->vals);
    free(s->mins);
    free(s->maxs);
    free(s->aggs);
    cJSON_Delete(s->base);
    memset(s, 0, sizeof *s);
}

size_t wandb_whole_lines(const lc_outbox_item *items, size_t n)
{
    if (n < WANDB_CHUNK || items[n - 1].kind != LC_OB_METRIC)
        return n;
    size_t a = n - 1;
    while (a > 0 && items[a - 1].kind == LC_OB_METRIC && items[a - 1].rec == items[n - 1].rec)
        a--;
    return a > 0 ? a : n;
}
