/*
 * trainer/log_result.c — accumulation of lc_log values per loop (see
 * log_result.h).
 */
#include "log_result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"

void lc_log_result_init(lc_log_result *r)
{
    memset(r, 0, sizeof *r);
}

static void entry_free(lc_log_entry *e)
{
    if (e->key_step != e->name)
        free(e->key_step);
    if (e->key_epoch != e->name)
        free(e->key_epoch);
    free(e->name);
}

void lc_log_result_clear(lc_log_result *r)
{
    for (size_t i = 0; i < r->len; i++)
        entry_free(&r->items[i]);
    r->len = 0;
}

void lc_log_result_free(lc_log_result *r)
{
    lc_log_result_clear(r);
    free(r->items);
    memset(r, 0, sizeof *r);
}

lc_status lc_reduce_fx_parse(const char *text, lc_reduce_fx *out)
{
    static const struct {
        const char *name;
        lc_reduce_fx fx;
    } names[] = {{"mean", LC_REDUCE_MEAN}, {"avg", LC_REDUCE_MEAN}, {"sum", LC_REDUCE_SUM},
                 {"max", LC_REDUCE_MAX},   {"min", LC_REDUCE_MIN}};
    for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i].name) == 0) {
            *out = names[i].fx;
            return LC_OK;
        }
    }
    return lc_fail(LC_ERR_INVALID, "unknown reduce_fx '%s'; use mean, sum, max or min",
                   text ? text : "(null)");
}

const char *lc_reduce_fx_name(lc_reduce_fx fx)
{
    switch (fx) {
    case LC_REDUCE_MEAN: return "mean";
    case LC_REDUCE_SUM: return "sum";
    case LC_REDUCE_MAX: return "max";
    case LC_REDUCE_MIN: return "min";
    }
    return "?";
}

static lc_log_entry *find_entry(lc_log_result *r, const char *name)
{
    for (size_t i = 0; i < r->len; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return &r->items[i];
    return NULL;
}

static char *with_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    char *s = malloc(n + m + 1);
    if (s) {
        memcpy(s, name, n);
        memcpy(s + n, suffix, m + 1);
    }
    return s;
}

static lc_status add_entry(lc_log_result *r, const char *name, lc_log_entry **out)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        lc_log_entry *items = realloc(r->items, cap * sizeof *items);
        if (!items)
            return lc_fail(LC_ERR_NOMEM, "lc_log: out of memory");
        r->items = items;
        r->cap = cap;
    }
    lc_log_entry *e = &r->items[r->len];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name)
        return lc_fail(LC_ERR_NOMEM, "lc_log: out of memory");
    r->len++;
    *out = e;
    return LC_OK;
}

static void accumulate(lc_log_entry *e, double value, double bs)
{
    switch (e->reduce_fx) {
    case LC_REDUCE_MEAN:
        e->acc = e->epoch_set ? e->acc + value * bs : value * bs;
        e->weight = e->epoch_set ? e->weight + bs : bs;
        break;
    case LC_REDUCE_SUM:
        e->acc = e->epoch_set ? e->acc + value : value;
        break;
    case LC_REDUCE_MAX:
    case LC_REDUCE_MIN:
        /* a NaN, once seen, stays (as torch.max / torch.min propagate it) */
        if (!e->epoch_set)
            e->acc = value;
        else if (!isnan(e->acc) &&
                 (isnan(value) || (e->reduce_fx == LC_REDUCE_MAX ? value > e->acc : value < e->acc)))
            e->acc = value;
        break;
    }
    e->epoch_set = 1;
}

lc_status lc_log_result_log(lc_log_result *r, lc_fx fx, const char *name, double value,
                            const lc_log_options *opt, int64_t batch_size)
{
    static const lc_log_options defaults = {0};
    if (!opt)
        opt = &defaults;
    if (!name || !*name)
        return lc_fail(LC_ERR_INVALID, "lc_log: the metric name is empty");
    if ((int)opt->reduce_fx < (int)LC_REDUCE_MEAN || (int)opt->reduce_fx > (int)LC_REDUCE_MIN)
        return lc_fail(LC_ERR_INVALID, "lc_log('%s'): unknown reduce_fx %d; use LC_REDUCE_MEAN, "
                       "_SUM, _MAX or _MIN", name, (int)opt->reduce_fx);
    if (opt->logger != LC_LOG_DEFAULT && opt->logger != LC_LOG_ON && opt->logger != LC_LOG_OFF)
        return lc_fail(LC_ERR_INVALID, "lc_log('%s'): logger must be LC_LOG_DEFAULT, _ON or _OFF",
                       name);
    if (opt->batch_size < 0)
        return lc_fail(LC_ERR_INVALID, "lc_log('%s'): batch_size must be >= 0, got %lld", name,
                       (long long)opt->batch_size);
    int on_step, on_epoch;
    lc_status st = lc_fx_resolve(fx, name, opt->on_step, opt->on_epoch, &on_step, &on_epoch);
    if (st != LC_OK)
        return st;
    int logger = opt->logger != LC_LOG_OFF;
    int prog_bar = opt->prog_bar != 0;
    int64_t bs = opt->batch_size > 0 ? opt->batch_size : batch_size;
    if (bs <= 0)
        bs = 1;

    lc_log_entry *e = find_entry(r, name);
    if (e) {
        if (e->on_step != on_step || e->on_epoch != on_epoch || e->reduce_fx != opt->reduce_fx ||
            e->logger != logger)
            return lc_fail(LC_ERR_INVALID,
                           "lc_log('%s') was called before with other options (first in %s: "
                           "on_step=%d, on_epoch=%d, reduce_fx=%s, logger=%d; now in %s: "
                           "on_step=%d, on_epoch=%d, reduce_fx=%s, logger=%d); use one set of "
                           "options per name",
                           name, lc_fx_name(e->fx), e->on_step, e->on_epoch,
                           lc_reduce_fx_name(e->reduce_fx), e->logger, lc_fx_name(fx), on_step,
                           on_epoch, lc_reduce_fx_name(opt->reduce_fx), logger);
    } else {
        st = add_entry(r, name, &e);
        if (st != LC_OK)
            return st;
        e->on_step = on_step;
        e->on_epoch = on_epoch;
        e->reduce_fx = opt->reduce_fx;
        e->logger = logger;
        e->fx = fx;
        if (on_step && on_epoch) {
            e->key_step = with_suffix(name, "_step");
            e->key_epoch = with_suffix(name, "_epoch");
            if (!e->key_step || !e->key_epoch) {
                r->len--;
                entry_free(e);
                return lc_fail(LC_ERR_NOMEM, "lc_log: out of memory");
            }
        } else {
            e->key_step = e->name;
            e->key_epoch = e->name;
        }
    }
    e->prog_bar |= prog_bar;
    e->sync_dist |= opt->sync_dist != 0;
    if (on_step) {
        e->step_value = value;
        e->step_set = 1;
    }
    if (on_epoch)
        accumulate(e, value, (double)bs);
    return LC_OK;
}

double lc_log_entry_epoch_value(const lc_log_entry *e)
{
    if (!e->epoch_set)
        return NAN;
    if (e->reduce_fx == LC_REDUCE_MEAN)
        return e->weight > 0 ? e->acc / e->weight : NAN;
    return e->acc;
}

void lc_log_result_reset_step(lc_log_result *r)
{
    for (size_t i = 0; i < r->len; i++)
        r->items[i].step_set = 0;
}

void lc_log_result_reset_epoch(lc_log_result *r)
{
    for (size_t i = 0; i < r->len; i++) {
        lc_log_entry *e = &r->items[i];
        e->step_set = 0;
        e->epoch_set = 0;
        e->acc = 0;
        e->weight = 0;
        e->dist_synced = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Checkpoint state                                                          */

#define RESULT_BOM 0x01020304u

/* per entry: u32 name length, name, u8 on_step, on_epoch, prog_bar, logger,
   reduce_fx, epoch_set, u32 fx, f64 acc, f64 weight */
#define RESULT_FIXED (4 + 6 + 4 + 8 + 8)

size_t lc_log_result_state_size(const lc_log_result *r)
{
    size_t n = 8;
    for (size_t i = 0; i < r->len; i++)
        n += RESULT_FIXED + strlen(r->items[i].name);
    return n;
}

void lc_log_result_state_save(const lc_log_result *r, void *buf)
{
    uint8_t *p = buf;
    uint32_t bom = RESULT_BOM, count = (uint32_t)r->len;
    memcpy(p, &bom, 4);
    memcpy(p + 4, &count, 4);
    p += 8;
    for (size_t i = 0; i < r->len; i++) {
        const lc_log_entry *e = &r->items[i];
        uint32_t nl = (uint32_t)strlen(e->name), fx = (uint32_t)e->fx;
        memcpy(p, &nl, 4);
        memcpy(p + 4, e->name, nl);
        p += 4 + nl;
        p[0] = (uint8_t)e->on_step;
        p[1] = (uint8_t)e->on_epoch;
        p[2] = (uint8_t)e->prog_bar;
        p[3] = (uint8_t)e->logger;
        p[4] = (uint8_t)e->reduce_fx;
        p[5] = (uint8_t)e->epoch_set;
        memcpy(p + 6, &fx, 4);
        memcpy(p + 10, &e->acc, 8);
        memcpy(p + 18, &e->weight, 8);
        p += 26;
    }
}

lc_status lc_log_result_state_load(lc_log_result *r, const void *buf, size_t len)
{
    const uint8_t *p = buf, *end = p + len;
    uint32_t bom, count;
    if (len < 8)
        return lc_fail(LC_ERR_INVALID, "checkpoint: the loop results are truncated");
    memcpy(&bom, p, 4);
    memcpy(&count, p + 4, 4);
    if (bom != RESULT_BOM)
        return lc_fail(LC_ERR_INVALID, "checkpoint: the loop results were saved on a machine "
                       "with another byte order");
    p += 8;
    lc_log_result tmp;
    lc_log_result_init(&tmp);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t nl;
        if ((size_t)(end - p) < 4)
            goto bad;
        memcpy(&nl, p, 4);
        if ((size_t)(end - p) < 4 + (size_t)nl + 26 || nl == 0 || nl > 4096)
            goto bad;
        char name[4097];
        memcpy(name, p + 4, nl);
        name[nl] = 0;
        p += 4 + nl;
        uint32_t fx;
        memcpy(&fx, p + 6, 4);
        lc_log_options o = {0};
        o.on_step = p[0] ? LC_LOG_ON : LC_LOG_OFF;
        o.on_epoch = p[1] ? LC_LOG_ON : LC_LOG_OFF;
        o.prog_bar = p[2];
        o.logger = p[3] ? LC_LOG_ON : LC_LOG_OFF;
        if (p[4] > LC_REDUCE_MIN || fx >= LC_FX_COUNT || (!p[0] && !p[1]))
            goto bad;
        o.reduce_fx = (lc_reduce_fx)p[4];
        /* re-create the entry through the normal path (same keys), then
           overwrite its accumulators; the hook class must allow the flags,
           so use the step hook for step entries and an eval hook otherwise */
        lc_fx as = p[0] ? LC_FX_TRAINING_STEP : LC_FX_VALIDATION_STEP;
        if (lc_log_result_log(&tmp, as, name, 0.0, &o, 1) != LC_OK)
            goto bad;
        lc_log_entry *e = &tmp.items[tmp.len - 1];
        e->fx = (lc_fx)fx;
        e->step_set = 0;
        e->epoch_set = p[5] != 0;
        memcpy(&e->acc, p + 10, 8);
        memcpy(&e->weight, p + 18, 8);
        p += 26;
    }
    if (p != end)
        goto bad;
    lc_log_result_free(r);
    *r = tmp;
    return LC_OK;
bad:
    lc_log_result_free(&tmp);
    return lc_fail(LC_ERR_INVALID, "checkpoint: the loop results are malformed");
}
