/*
 * loggers/bus/log_calls.c — the log calls: turn a caller's data into events.
 *
 * Every call ends in lc_hub_enqueue (hub_internal.h), the one way into the
 * queue. Scalars are the hot path: reserve slots, store a few words,
 * publish. No lock, no malloc, no syscall (the wall clock is the vDSO's
 * coarse clock). Everything else copies its data into one malloc'd payload
 * block that the dispatcher frees after the sinks have seen it.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/status.h"
#include "shared/histogram.h"
#include "hub_internal.h"
#include "keys.h"
#include "redact.h"

/* ------------------------------------------------------------------------ */
/* scalars                                                                   */

static inline lc_status put_scalars(lc_run *run, int64_t step, size_t n, const lc_tag *tags,
                                    const double *values, double wall)
{
    lc_event ev = {.run = &run->info, .step = step, .wall_time = wall, .kind = LC_EV_SCALAR};
    lc_status st = lc_hub_enqueue(run->hub, &ev, (uint32_t)n, tags, values, 0);
    if (__builtin_expect(st != LC_OK, 0))
        return st; /* dropped and counted (drop mode) */
    atomic_fetch_add_explicit(&run->info.logged, n, memory_order_relaxed);
    return LC_OK;
}

static inline int tag_ok(const lc_run *run, lc_tag tag)
{
    return tag != 0 && tag <= __atomic_load_n(&run->info.keys.n, __ATOMIC_ACQUIRE);
}

lc_status lc_run_log_scalar(lc_run *run, lc_tag tag, double value, int64_t step)
{
    if (__builtin_expect(!run || atomic_load_explicit(&run->noop, memory_order_relaxed), 0))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_scalar: run is NULL");
    if (__builtin_expect(!tag_ok(run, tag), 0)) {
        atomic_fetch_add(&run->info.rejected, 1);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_scalar: tag %u was not returned by lc_run_tag for this run", tag);
    }
    return put_scalars(run, step, 1, &tag, &value, lc_wall_coarse());
}

lc_status lc_run_log_scalar_at(lc_run *run, lc_tag tag, double value, int64_t step, double wall_time)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_scalar_at: run is NULL");
    if (!tag_ok(run, tag)) {
        atomic_fetch_add(&run->info.rejected, 1);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_scalar_at: tag %u was not returned by lc_run_tag for this run", tag);
    }
    if (!isfinite(wall_time) || wall_time < 0) {
        atomic_fetch_add(&run->info.rejected, 1);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_scalar_at: wall_time %g is not a Unix time in seconds", wall_time);
    }
    return put_scalars(run, step, 1, &tag, &value, wall_time);
}

lc_status lc_run_log_scalars(lc_run *run, int64_t step, size_t n, const lc_tag *tags, const double *values)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_scalars: run is NULL");
    if (n == 0)
        return LC_OK;
    if (!tags || !values)
        return lc_fail(LC_ERR_INVALID, "lc_run_log_scalars: tags and values must not be NULL");
    if (n > run->hub->queue.capacity / 4)
        return lc_fail(LC_ERR_INVALID, "lc_run_log_scalars: %zu scalars in one record; at most %llu (a quarter of the queue) — raise queue_capacity or split the record",
                       n, (unsigned long long)(run->hub->queue.capacity / 4));
    for (size_t i = 0; i < n; i++) {
        if (!tag_ok(run, tags[i])) {
            atomic_fetch_add(&run->info.rejected, n);
            return lc_fail(LC_ERR_INVALID, "lc_run_log_scalars: tags[%zu] = %u was not returned by lc_run_tag for this run", i, tags[i]);
        }
    }
    return put_scalars(run, step, n, tags, values, lc_wall_coarse());
}

lc_status lc_run_log_metric(lc_run *run, const char *key, double value, int64_t step)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_metric: run is NULL");
    lc_tag t = lc_run_tag(run, key);
    if (!t)
        return LC_ERR_INVALID;
    return put_scalars(run, step, 1, &t, &value, lc_wall_coarse());
}

/* ------------------------------------------------------------------------ */
/* payload events                                                            */

static lc_status put_payload(lc_run *run, uint16_t kind, void *payload, int64_t step)
{
    lc_event ev = {.run = &run->info, .kind = kind, .payload = payload, .step = step,
                   .wall_time = lc_wall_coarse(), .flags = LC_EV_RECORD_END};
    lc_status st = lc_hub_enqueue(run->hub, &ev, 1, NULL, NULL, 0);
    if (st != LC_OK) {
        lc_event_free_payload(run->hub, &ev);
        return lc_fail(st, "queue full: event dropped and counted (drop mode)");
    }
    return LC_OK;
}

/* Normalise a key for a non-scalar event; counts and reports a bad one. */
static int norm_key(lc_run *run, const char *what, const char *key, char out[LC_KEY_MAX + 1], int *changed)
{
    int c = key ? lc_normalize_key(key, out, LC_KEY_MAX + 1) : -1;
    if (c < 0) {
        atomic_fetch_add(&run->info.rejected, 1);
        lc_fail(LC_ERR_INVALID, "%s key '%.80s' is empty after normalisation; use letters, digits, '_', '-', '.', ' ', ':' and '/' between non-empty segments",
                what, key ? key : "(null)");
        return -1;
    }
    if (changed)
        *changed = c;
    return 0;
}

static lc_status put_param(lc_run *run, const char *key, lc_param_type type, const char *text, int64_t i, double d)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_param: run is NULL");
    char norm[LC_KEY_MAX + 1];
    int changed;
    if (norm_key(run, "param", key, norm, &changed) != 0)
        return LC_ERR_INVALID;
    /* Secrets never leave the process (bus/redact.h): a secret-looking
       key's value, of any type, becomes the string "***". */
    int redacted;
    char *safe = lc_redact_value(key, text, &redacted);
    if (!safe)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    if (redacted) {
        text = safe;
        if (type != LC_PARAM_STR && strcmp(safe, LC_REDACTED) == 0) {
            type = LC_PARAM_STR;
            i = 0;
            d = 0;
        }
    }
    size_t kl = strlen(norm) + 1, ol = strlen(key) + 1, tl = strlen(text) + 1;
    lc_param_payload *p = malloc(sizeof *p + kl + ol + tl);
    if (!p) {
        free(safe);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    p->type = type;
    p->key_changed = changed;
    p->key = (char *)(p + 1);
    p->original = p->key + kl;
    p->text = p->original + ol;
    memcpy(p->key, norm, kl);
    memcpy(p->original, key, ol);
    memcpy(p->text, text, tl);
    free(safe);
    p->i = i;
    p->d = d;
    return put_payload(run, LC_EV_PARAM, p, 0);
}

lc_status lc_run_log_param_str(lc_run *run, const char *key, const char *value)
{
    if (!value)
        return lc_fail(LC_ERR_INVALID, "lc_run_log_param_str: value of '%s' is NULL", key ? key : "");
    return put_param(run, key, LC_PARAM_STR, value, 0, 0);
}

lc_status lc_run_log_param_int(lc_run *run, const char *key, int64_t value)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)value);
    return put_param(run, key, LC_PARAM_INT, t, value, (double)value);
}

/* Shortest text that reads back as the same double. */
static void double_text(double v, char *out, size_t n)
{
    if (isnan(v)) { snprintf(out, n, "nan"); return; }
    if (isinf(v)) { snprintf(out, n, v > 0 ? "inf" : "-inf"); return; }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
}

lc_status lc_run_log_param_double(lc_run *run, const char *key, double value)
{
    char t[40];
    double_text(value, t, sizeof t);
    return put_param(run, key, LC_PARAM_DOUBLE, t, 0, value);
}

lc_status lc_run_log_param_bool(lc_run *run, const char *key, int value)
{
    return put_param(run, key, LC_PARAM_BOOL, value ? "true" : "false", value ? 1 : 0, value ? 1 : 0);
}

static lc_status params_from_json(lc_run *run, const cJSON *node, char *prefix, size_t plen)
{
    lc_status worst = LC_OK;
    for (const cJSON *c = node->child; c; c = c->next) {
        size_t kl = strlen(c->string ? c->string : "");
        if (plen + kl + 2 > 4096)
            return lc_fail(LC_ERR_INVALID, "lc_run_log_params_json: key path too long");
        size_t n = plen;
        if (plen)
            prefix[n++] = '/';
        memcpy(prefix + n, c->string ? c->string : "", kl + 1);
        lc_status st;
        if (cJSON_IsObject(c)) {
            st = params_from_json(run, c, prefix, n + kl);
        } else if (cJSON_IsBool(c)) {
            st = lc_run_log_param_bool(run, prefix, cJSON_IsTrue(c));
        } else if (cJSON_IsNumber(c)) {
            double d = c->valuedouble;
            /* cJSON keeps no text: integral values within 2^53 become ints */
            if (d == floor(d) && fabs(d) < 9.007199254740992e15)
                st = lc_run_log_param_int(run, prefix, (int64_t)d);
            else
                st = lc_run_log_param_double(run, prefix, d);
        } else if (cJSON_IsString(c)) {
            st = lc_run_log_param_str(run, prefix, c->valuestring);
        } else if (cJSON_IsNull(c)) {
            st = lc_run_log_param_str(run, prefix, "None");
        } else {
            char *txt = cJSON_PrintUnformatted(c);
            st = txt ? lc_run_log_param_str(run, prefix, txt) : LC_ERR_NOMEM;
            cJSON_free(txt);
        }
        prefix[plen] = 0;
        if (st != LC_OK)
            worst = st;
    }
    return worst;
}

lc_status lc_run_log_params_json(lc_run *run, const char *json)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_params_json: run is NULL");
    if (!json)
        return lc_fail(LC_ERR_INVALID, "lc_run_log_params_json: json is NULL");
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        const char *where = cJSON_GetErrorPtr();
        cJSON_Delete(root);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_params_json: not a JSON object%s%.40s%s",
                       where ? " (error near '" : "", where ? where : "", where ? "')" : "");
    }
    char prefix[4096] = "";
    lc_status st = params_from_json(run, root, prefix, 0);
    cJSON_Delete(root);
    return st;
}

/* A run tag or a text entry: one block holding both strings. */
static lc_status put_key_text(lc_run *run, uint16_t kind, const char *fn, const char *key,
                              const char *text, int64_t step)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "%s: run is NULL", fn);
    if (!text)
        return lc_fail(LC_ERR_INVALID, "%s: the value of '%s' is NULL", fn, key ? key : "");
    char norm[LC_KEY_MAX + 1];
    int changed = 0;
    if (norm_key(run, kind == LC_EV_TAG ? "tag" : "text", key, norm, &changed) != 0)
        return LC_ERR_INVALID;
    /* A tag's value has its secrets redacted and is made valid UTF-8
       (bus/redact.h); its original key is kept when normalising changed
       it, like a metric's. */
    char *safe = NULL;
    if (kind == LC_EV_TAG) {
        if (!(safe = lc_redact_value(key, text, NULL)))
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        text = safe;
    } else {
        changed = 0;
    }
    size_t kl = strlen(norm) + 1, tl = strlen(text) + 1, ol = changed ? strlen(key) + 1 : 0;
    size_t head = kind == LC_EV_TAG ? sizeof(lc_kv_payload) : sizeof(lc_text_payload);
    char *block = malloc(head + kl + tl + ol);
    if (!block) {
        free(safe);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    char *k = block + head, *t = k + kl, *o = changed ? t + tl : NULL;
    memcpy(k, norm, kl);
    memcpy(t, text, tl);
    if (o)
        memcpy(o, key, ol);
    free(safe);
    if (kind == LC_EV_TAG)
        *(lc_kv_payload *)block = (lc_kv_payload){.key = k, .value = t, .original = o};
    else
        *(lc_text_payload *)block = (lc_text_payload){.key = k, .text = t};
    return put_payload(run, kind, block, step);
}

lc_status lc_run_set_tag(lc_run *run, const char *key, const char *value)
{
    return put_key_text(run, LC_EV_TAG, "lc_run_set_tag", key, value, 0);
}

lc_status lc_run_log_text(lc_run *run, const char *key, const char *text, int64_t step)
{
    return put_key_text(run, LC_EV_TEXT, "lc_run_log_text", key, text, step);
}

/* An empty or all-non-finite histogram is an error (TensorBoard would draw
 * nothing); NaN/Inf among finite values are skipped and counted in
 * h->nonfinite. */
static lc_status put_histogram(lc_run *run, const char *key, lc_histogram *h, size_t n, int64_t step)
{
    if (!h)
        return lc_fail(LC_ERR_NOMEM, "out of memory building histogram '%s'", key);
    if (h->num == 0) {
        free(h);
        atomic_fetch_add(&run->info.rejected, 1);
        if (n == 0)
            return lc_fail(LC_ERR_INVALID, "histogram '%s' has no values; pass at least one", key);
        return lc_fail(LC_ERR_INVALID, "histogram '%s': all %zu values are NaN or infinite; nothing to draw", key, n);
    }
    return put_payload(run, LC_EV_HISTOGRAM, h, step);
}

/* Both element types: f32 != 0 picks values as float, else as double. */
static lc_status log_histogram(lc_run *run, const char *key, const void *values, int f32, size_t n,
                               int64_t step)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_histogram: run is NULL");
    if (!values && n)
        return lc_fail(LC_ERR_INVALID, "lc_run_log_histogram: values is NULL");
    char norm[LC_KEY_MAX + 1];
    if (norm_key(run, "histogram", key, norm, NULL) != 0)
        return LC_ERR_INVALID;
    lc_histogram *h = f32 ? lc_histogram_from_f32(norm, values, n) : lc_histogram_from_f64(norm, values, n);
    return put_histogram(run, norm, h, n, step);
}

lc_status lc_run_log_histogram_f32(lc_run *run, const char *key, const float *values, size_t n, int64_t step)
{
    return log_histogram(run, key, values, 1, n, step);
}

lc_status lc_run_log_histogram_f64(lc_run *run, const char *key, const double *values, size_t n, int64_t step)
{
    return log_histogram(run, key, values, 0, n, step);
}

lc_status lc_run_log_image(lc_run *run, const char *key, const uint8_t *pixels, uint32_t width,
                           uint32_t height, uint32_t channels, int64_t step)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_image: run is NULL");
    if (channels != 1 && channels != 3 && channels != 4) {
        atomic_fetch_add(&run->info.rejected, 1);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_image: %u channels; use 1 (gray), 3 (RGB) or 4 (RGBA)", channels);
    }
    if (width == 0 || height == 0 || !pixels) {
        atomic_fetch_add(&run->info.rejected, 1);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_image: image '%s' is empty (%ux%u) or pixels is NULL", key ? key : "", width, height);
    }
    if (width > 16384 || height > 16384) {
        atomic_fetch_add(&run->info.rejected, 1);
        return lc_fail(LC_ERR_INVALID, "lc_run_log_image: image '%s' is %ux%u; at most 16384 pixels per side", key ? key : "", width, height);
    }
    char norm[LC_KEY_MAX + 1];
    if (norm_key(run, "image", key, norm, NULL) != 0)
        return LC_ERR_INVALID;
    size_t bytes = (size_t)width * height * channels;
    lc_hub *hub = run->hub;
    uint64_t used = atomic_fetch_add(&hub->image_arena_used, bytes);
    if (used + bytes > hub->image_arena_cap) {
        atomic_fetch_sub(&hub->image_arena_used, bytes);
        atomic_fetch_add(&run->info.dropped, 1);
        return lc_fail(LC_ERR_FULL, "lc_run_log_image: image arena full (%llu bytes in flight, limit %llu): image '%s' dropped and counted",
                       (unsigned long long)used, (unsigned long long)hub->image_arena_cap, norm);
    }
    size_t kl = strlen(norm) + 1;
    lc_image_payload *p = malloc(sizeof *p + kl + bytes);
    if (!p) {
        atomic_fetch_sub(&hub->image_arena_used, bytes);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    p->key = (char *)(p + 1);
    memcpy(p->key, norm, kl);
    p->pixels = (uint8_t *)p->key + kl;
    memcpy(p->pixels, pixels, bytes);
    p->width = width;
    p->height = height;
    p->channels = channels;
    p->arena_bytes = bytes;
    return put_payload(run, LC_EV_IMAGE, p, step);
}

lc_status lc_run_log_artifact(lc_run *run, const char *path, const char *artifact_dir)
{
    if (!run || atomic_load_explicit(&run->noop, memory_order_relaxed))
        return run ? LC_OK : lc_fail(LC_ERR_INVALID, "lc_run_log_artifact: run is NULL");
    if (!path)
        return lc_fail(LC_ERR_INVALID, "lc_run_log_artifact: path is NULL");
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return lc_fail(LC_ERR_NOT_FOUND, "lc_run_log_artifact: cannot find '%s'", path);
    size_t pl = strlen(abs) + 1, dl = artifact_dir ? strlen(artifact_dir) + 1 : 0;
    lc_artifact_payload *p = malloc(sizeof *p + pl + dl);
    if (!p)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    p->path = (char *)(p + 1);
    memcpy(p->path, abs, pl);
    p->artifact_dir = NULL;
    if (artifact_dir) {
        p->artifact_dir = p->path + pl;
        memcpy(p->artifact_dir, artifact_dir, dl);
    }
    return put_payload(run, LC_EV_ARTIFACT, p, 0);
}
