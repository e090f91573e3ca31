/*
 * trainer/cb_model_summary.c — the ModelSummary callback: at fit start,
 * a table of the module's parameters (name, shape, count) and Lightning's
 * totals (trainable, non-trainable, total, estimated size in MB), printed
 * to stdout and logged through the hub as the text "model/summary".
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "trainer_internal.h"

/* Lightning's get_human_readable_count: "535 K", "1.2 M", "12". */
static void human_count(size_t n, char *buf, size_t cap)
{
    static const char *const labels[] = {" ", "K", "M", "B", "T"};
    int digits = n > 0 ? (int)floor(log10((double)n)) + 1 : 1;
    int groups = (digits + 2) / 3;
    if (groups > 5)
        groups = 5;
    double v = (double)n * pow(10.0, -3.0 * (groups - 1));
    int idx = groups - 1;
    if (idx < 1 || v >= 100)
        snprintf(buf, cap, "%lld %s", (long long)v, labels[idx]);
    else
        snprintf(buf, cap, "%.1f %s", v, labels[idx]);
}

/* Append printf output to a growing buffer. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
}

static lc_status summary_on_fit_start(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)cb;
    const lc_params *ps = m ? m->params : NULL;
    if (!ps)
        return LC_OK;
    size_t wname = 4, wshape = 5;
    char shape[128];
    for (size_t i = 0; i < ps->len; i++) {
        const lc_param *p = &ps->items[i];
        size_t n = strlen(p->name);
        if (n > wname)
            wname = n;
        size_t k = 0;
        shape[0] = 0;
        for (int d = 0; d < p->ndim && k < sizeof shape; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "[",
                                  (long long)p->shape[d]);
        if (k + 1 > wshape)
            wshape = k + 1;
    }
    sbuf b = {0};
    char cnt[32];
    sb_printf(&b, "  | %-*s | %-*s | Params\n", (int)wname, "Name", (int)wshape, "Shape");
    size_t rule = 4 + wname + 3 + wshape + 3 + 8;
    for (size_t i = 0; i < rule; i++)
        sb_printf(&b, "-");
    sb_printf(&b, "\n");
    size_t trainable = 0, frozen = 0;
    for (size_t i = 0; i < ps->len; i++) {
        const lc_param *p = &ps->items[i];
        size_t k = 0;
        shape[0] = 0;
        for (int d = 0; d < p->ndim && k < sizeof shape; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "[",
                                  (long long)p->shape[d]);
        if (k < sizeof shape - 1)
            strcat(shape, "]");
        human_count(p->count, cnt, sizeof cnt);
        sb_printf(&b, "%-2zu| %-*s | %-*s | %s\n", i, (int)wname, p->name, (int)wshape, shape, cnt);
        if (p->grad)
            trainable += p->count;
        else
            frozen += p->count;
    }
    for (size_t i = 0; i < rule; i++)
        sb_printf(&b, "-");
    sb_printf(&b, "\n");
    human_count(trainable, cnt, sizeof cnt);
    sb_printf(&b, "%-10sTrainable params\n", cnt);
    human_count(frozen, cnt, sizeof cnt);
    sb_printf(&b, "%-10sNon-trainable params\n", cnt);
    human_count(trainable + frozen, cnt, sizeof cnt);
    sb_printf(&b, "%-10sTotal params\n", cnt);
    sb_printf(&b, "%-10.3fTotal estimated model params size (MB)\n",
              (double)(trainable + frozen) * 4.0 / 1e6);
    if (b.s) {
        fputs(b.s, stdout);
        fflush(stdout);
        if (lc_trainer_run(t)) {
            /* markdown: a code block keeps the table aligned */
            sbuf md = {0};
            sb_printf(&md, "```\n%s```\n", b.s);
            if (md.s)
                lc_run_log_text(lc_trainer_run(t), "model/summary", md.s, 0);
            free(md.s);
        }
    }
    free(b.s);
    return LC_OK;
}

static void summary_destroy(lc_callback *cb)
{
    free(cb);
}

lc_status lc_callback_model_summary(lc_callback **out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_callback_model_summary: out is NULL");
    lc_callback *cb = calloc(1, sizeof *cb);
    if (!cb)
        return lc_fail(LC_ERR_NOMEM, "lc_callback_model_summary: out of memory");
    cb->name = "ModelSummary";
    cb->on_fit_start = summary_on_fit_start;
    cb->destroy = summary_destroy;
    *out = cb;
    return LC_OK;
}
