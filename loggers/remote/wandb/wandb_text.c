/*
 * loggers/remote/wandb/wandb_text.c — the JSON text W&B gets, written by
 * hand where cJSON cannot: W&B's "extended JSON" writes NaN, Infinity and
 * -Infinity as bare tokens (cJSON would write null), and a number must
 * read back as the same double (the shortest of %.15g..%.17g that does).
 *
 * Also: a param's value from its index text, the config in the SDK's
 * nesting ({"optimizer": {"value": {"lr": 0.001}}} for "optimizer/lr"),
 * config.yaml, and the summary (last value per key, one JSON line).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wandb_internal.h"

/* ---------------------------------------------------------------------- */
/* buffer */

static bool wb_grow(wb_buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->n + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void wb_put(wb_buf *b, const char *s, size_t n)
{
    if (!wb_grow(b, n))
        return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void wb_puts(wb_buf *b, const char *s)
{
    wb_put(b, s, strlen(s));
}

void wb_printf(wb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || !wb_grow(b, (size_t)need))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

void wb_free(wb_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void wb_json_string(wb_buf *b, const char *s)
{
    wb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': wb_put(b, "\\\"", 2); break;
        case '\\': wb_put(b, "\\\\", 2); break;
        case '\n': wb_put(b, "\\n", 2); break;
        case '\r': wb_put(b, "\\r", 2); break;
        case '\t': wb_put(b, "\\t", 2); break;
        default:
            if (*p < 0x20)
                wb_printf(b, "\\u%04x", *p);
            else
                wb_put(b, (const char *)p, 1);
        }
    }
    wb_put(b, "\"", 1);
}

void wb_json_number(wb_buf *b, double v)
{
    if (isnan(v)) {
        wb_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        wb_puts(b, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v)
            break;
    }
    wb_puts(b, t);
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
    wb_buf b = {0};
    wb_puts(&b, "wandb_version: 1\n");
    for (const cJSON *c = config ? config->child : NULL; c; c = c->next) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
        char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
        wb_puts(&b, "\n");
        wb_json_string(&b, c->string); /* a JSON string is a YAML scalar */
        wb_puts(&b, ":\n  desc: null\n  value: ");
        wb_puts(&b, txt ? txt : "null");
        wb_puts(&b, "\n");
        cJSON_free(txt);
    }
    if (b.oom) {
        wb_free(&b);
        return NULL;
    }
    return b.s;
}

/* ---------------------------------------------------------------------- */
/* summary */

void wandb_summary_set(wandb_summary *s, const char *key, double v)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i], key)) {
            s->vals[i] = v;
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
        s->cap = cap;
    }
    if (!(s->keys[s->n] = strdup(key)))
        return;
    s->vals[s->n++] = v;
}

char *wandb_summary_json(const wandb_summary *s)
{
    wb_buf b = {0};
    wb_puts(&b, "{");
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
            wb_puts(&b, ",");
        first = 0;
        wb_json_string(&b, c->string);
        wb_puts(&b, ":");
        wb_puts(&b, txt);
        cJSON_free(txt);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!first)
            wb_puts(&b, ",");
        first = 0;
        wb_json_string(&b, s->keys[i]);
        wb_puts(&b, ":");
        wb_json_number(&b, s->vals[i]);
    }
    if (s->have_line) {
        wb_printf(&b, "%s\"_step\":%lld,\"_runtime\":", first ? "" : ",", (long long)s->step);
        wb_json_number(&b, s->runtime);
        wb_puts(&b, ",\"_timestamp\":");
        wb_json_number(&b, s->timestamp);
        wb_printf(&b, ",\"_wandb\":{\"runtime\":%lld}", (long long)s->runtime);
    }
    wb_puts(&b, "}");
    if (b.oom) {
        wb_free(&b);
        return NULL;
    }
    return b.s;
}

void wandb_summary_free(wandb_summary *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s->vals);
    cJSON_Delete(s->base);
    memset(s, 0, sizeof *s);
}
