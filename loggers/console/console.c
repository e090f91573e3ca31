/*
 * loggers/console/console.c — the console sink: training progress on stdout.
 *
 * On a terminal, one live line redrawn with '\r' at most 10 times a second:
 *
 *   mnist/baseline epoch 2 step 450/1000 45% 45.2 it/s ETA 0:12 | train/loss=0.2346 val/acc=0.91
 *
 * Elsewhere (a pipe, a CI log) the same text as a plain line every 10 s,
 * after the first record and at finish. The finish line says how the run
 * ended:
 *
 *   mnist/baseline finished: step 1000, 1000 steps in 0:22 (45.4 it/s) | train/loss=0.1872
 *
 * - step: the latest step logged; it/s: steps per second of wall time
 *   (the events' own times), smoothed over samples at least 1 s apart;
 *   below 1 it/s it shows s/it.
 * - total and ETA when the run has the tag "lightc.total_steps".
 * - epoch: the last value of the "epoch" key, when logged.
 * - metrics: cfg->console_keys (comma-separated, in that order) or, when
 *   NULL, the 6 most recently logged keys, sorted by name; values in a
 *   compact form (number_format.h).
 * - $LIGHTC_CONSOLE = tty | plain | off overrides the terminal test.
 *
 * The dispatcher only stores numbers per scalar; text is made only when a
 * line is printed. Key names are the hub's (lc_run_info_key); a tag is
 * looked up once, when its first value arrives, to spot "epoch" and the
 * chosen keys.
 */
#include "console.h"
#include "common/clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "shared/number_format.h"

#define CON_RECENT 6
#define CON_RATE_SAMPLE_S 1.0
#define CON_TOTAL_TAG "lightc.total_steps"

typedef struct con_run {
    lc_run_info *info;
    double *last;            /* tag -> last value */
    unsigned char *has;      /* tag -> has a value */
    uint32_t cap;
    uint32_t recent[CON_RECENT]; /* newest first */
    int nrecent;
    uint32_t *chosen;        /* console_keys[i] -> tag (0: not interned yet) */
    uint32_t epoch_tag;

    int have_step;
    int64_t step, first_step;
    double first_wall, last_wall;
    double sample_wall;      /* rate: last sample */
    int64_t sample_step;
    double rate;
    int have_rate;
    int64_t total;           /* lightc.total_steps, -1 if unknown */

    int64_t last_print_ms;   /* monotonic; -1 never */
    int updated;             /* got a record since the last line */
    struct con_run *next;
} con_run;

typedef struct con_sink {
    FILE *out;
    lc_console_mode mode;
    int64_t interval_ms;
    int width;
    char **keys;             /* console_keys, split */
    size_t nkeys;
    con_run *runs;
    con_run *live;           /* TTY: the run on the live line */
    int live_len;            /* TTY: a live line is showing */
    char *line;              /* text of one line */
    size_t line_cap, line_len;
} con_sink;

/* ---- helpers --------------------------------------------------------------- */

static void con_put(con_sink *c, const char *s, size_t n)
{
    if (c->line_len + n + 1 > c->line_cap) {
        size_t cap = c->line_cap ? c->line_cap : 256;
        while (cap < c->line_len + n + 1)
            cap *= 2;
        char *l = realloc(c->line, cap);
        if (!l)
            return; /* the line is cut short; nothing else depends on it */
        c->line = l;
        c->line_cap = cap;
    }
    memcpy(c->line + c->line_len, s, n);
    c->line_len += n;
    c->line[c->line_len] = 0;
}

static void con_puts(con_sink *c, const char *s)
{
    con_put(c, s, strlen(s));
}

static void con_printf(con_sink *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void con_printf(con_sink *c, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        con_put(c, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* "1:02:03" or "2:03" */
static void con_duration(con_sink *c, double s)
{
    if (!(s >= 0) || s > 1e9) {
        con_puts(c, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        con_printf(c, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        con_printf(c, "%ld:%02ld", t / 60, t % 60);
}

static void con_rate(con_sink *c, double rate)
{
    if (rate >= 1.0 || rate <= 0)
        con_printf(c, rate >= 100 ? "%.0f it/s" : "%.1f it/s", rate);
    else
        con_printf(c, "%.2f s/it", 1.0 / rate);
}

static void con_number(con_sink *c, double v)
{
    char buf[LC_DOUBLE_BUFSZ];
    con_put(c, buf, lc_format_compact(v, buf));
}

static int con_grow(con_run *r, uint32_t tag)
{
    if (tag < r->cap)
        return 0;
    uint32_t cap = r->cap ? r->cap : 64;
    while (cap <= tag)
        cap *= 2;
    double *l = realloc(r->last, cap * sizeof *l);
    if (!l)
        return -1;
    r->last = l;
    unsigned char *h = realloc(r->has, cap);
    if (!h)
        return -1;
    r->has = h;
    memset(r->has + r->cap, 0, cap - r->cap);
    r->cap = cap;
    return 0;
}

static void con_set_total(con_run *r, const char *key, const char *value)
{
    if (!key || !value || strcmp(key, CON_TOTAL_TAG) != 0)
        return;
    char *end;
    long long t = strtoll(value, &end, 10);
    if (end != value && *end == 0 && t > 0)
        r->total = t;
}

/* ---- the line ------------------------------------------------------------ */

static void con_update_rate(con_run *r)
{
    double dt = r->last_wall - r->sample_wall;
    int64_t ds = r->step - r->sample_step;
    if (ds < 0) { /* the step went back: start over */
        r->sample_wall = r->last_wall;
        r->sample_step = r->step;
        return;
    }
    if (dt <= 0 || (dt < CON_RATE_SAMPLE_S && r->have_rate))
        return;
    double inst = (double)ds / dt;
    r->rate = r->have_rate ? 0.7 * r->rate + 0.3 * inst : inst;
    r->have_rate = 1;
    r->sample_wall = r->last_wall;
    r->sample_step = r->step;
}

static int con_cmp_names(const void *a, const void *b, void *info)
{
    const char *x = lc_run_info_key(info, *(const uint32_t *)a);
    const char *y = lc_run_info_key(info, *(const uint32_t *)b);
    return strcmp(x ? x : "", y ? y : "");
}

static void con_metric(con_sink *c, con_run *r, uint32_t tag, int *first)
{
    const char *name = lc_run_info_key(r->info, tag);
    if (!name || tag >= r->cap || !r->has[tag])
        return;
    con_puts(c, *first ? " | " : " ");
    *first = 0;
    con_puts(c, name);
    con_puts(c, "=");
    con_number(c, r->last[tag]);
}

static void con_metrics(con_sink *c, con_run *r)
{
    int first = 1;
    if (c->nkeys) {
        for (size_t i = 0; i < c->nkeys; i++)
            if (r->chosen[i])
                con_metric(c, r, r->chosen[i], &first);
        return;
    }
    uint32_t shown[CON_RECENT];
    memcpy(shown, r->recent, sizeof shown);
    qsort_r(shown, (size_t)r->nrecent, sizeof *shown, con_cmp_names, r->info);
    for (int i = 0; i < r->nrecent; i++)
        con_metric(c, r, shown[i], &first);
}

static void con_name(con_sink *c, const lc_run_info *ri)
{
    if (ri->experiment && *ri->experiment) {
        con_puts(c, ri->experiment);
        con_puts(c, "/");
    }
    con_puts(c, ri->name ? ri->name : ri->id);
}

/* The progress text of a run (no line end). */
static void con_progress(con_sink *c, con_run *r)
{
    c->line_len = 0;
    con_name(c, r->info);
    if (r->epoch_tag && r->epoch_tag < r->cap && r->has[r->epoch_tag]) {
        double e = r->last[r->epoch_tag];
        con_puts(c, " epoch ");
        if (e == floor(e) && fabs(e) < 1e15)
            con_printf(c, "%lld", (long long)e);
        else
            con_number(c, e);
    }
    if (r->have_step) {
        con_printf(c, " step %lld", (long long)r->step);
        if (r->total > 0) {
            con_printf(c, "/%lld", (long long)r->total);
            if (r->step >= 0 && r->step <= r->total)
                con_printf(c, " %d%%", (int)(100.0 * (double)r->step / (double)r->total));
        }
        con_update_rate(r);
        if (r->have_rate) {
            con_puts(c, " ");
            con_rate(c, r->rate);
            if (r->total > 0 && r->rate > 0 && r->step <= r->total) {
                con_puts(c, " ETA ");
                con_duration(c, (double)(r->total - r->step) / r->rate);
            }
        }
    }
    con_metrics(c, r);
}

static int con_width(con_sink *c)
{
    if (c->width > 0)
        return c->width;
    struct winsize ws;
    if (ioctl(fileno(c->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 120;
}

/* TTY: redraw the live line (cut to the terminal width so it never wraps). */
static void con_draw_live(con_sink *c, con_run *r)
{
    con_progress(c, r);
    size_t w = (size_t)con_width(c);
    size_t n = c->line_len < w - 1 ? c->line_len : w - 1;
    fputc('\r', c->out);
    fwrite(c->line, 1, n, c->out);
    fputs("\x1b[K", c->out); /* erase what a longer line left */
    fflush(c->out);
    c->live = r;
    c->live_len = 1;
}

static void con_print_plain(con_sink *c, con_run *r)
{
    con_progress(c, r);
    fwrite(c->line, 1, c->line_len, c->out);
    fputc('\n', c->out);
    fflush(c->out);
}

/* ---- vtable ------------------------------------------------------------------ */

static void con_run_free(con_run *r)
{
    free(r->last);
    free(r->has);
    free(r->chosen);
    free(r);
}

static lc_status con_open_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    con_sink *c = s->state;
    if (c->mode == LC_CONSOLE_OFF)
        return LC_OK;
    con_run *r = calloc(1, sizeof *r);
    if (!r || (c->nkeys && !(r->chosen = calloc(c->nkeys, sizeof *r->chosen)))) {
        free(r);
        snprintf(err, errlen, "console: out of memory");
        return LC_ERR_NOMEM;
    }
    r->info = run;
    r->total = -1;
    r->last_print_ms = -1;
    for (const char *const *t = run->tags; t && t[0] && t[1]; t += 2)
        con_set_total(r, t[0], t[1]);
    r->next = c->runs;
    c->runs = r;
    run->sink_state[s->index] = r;
    return LC_OK;
}

/* A tag's first value: is it "epoch", or one of the chosen keys? */
static void con_key(con_sink *c, con_run *r, uint32_t tag)
{
    const char *key = lc_run_info_key(r->info, tag);
    if (!key)
        return;
    if (strcmp(key, "epoch") == 0)
        r->epoch_tag = tag;
    for (size_t i = 0; i < c->nkeys; i++)
        if (strcmp(c->keys[i], key) == 0)
            r->chosen[i] = tag;
}

static void con_scalar(con_sink *c, con_run *r, const lc_event *ev)
{
    if (con_grow(r, ev->tag) != 0)
        return;
    if (!r->has[ev->tag])
        con_key(c, r, ev->tag);
    r->last[ev->tag] = ev->value;
    r->has[ev->tag] = 1;
    if (ev->tag != r->epoch_tag && (r->nrecent == 0 || r->recent[0] != ev->tag)) {
        int i = 0;
        while (i < r->nrecent && r->recent[i] != ev->tag)
            i++;
        if (i == r->nrecent && r->nrecent < CON_RECENT)
            r->nrecent++;
        if (i == CON_RECENT)
            i = CON_RECENT - 1;
        memmove(r->recent + 1, r->recent, (size_t)i * sizeof *r->recent);
        r->recent[0] = ev->tag;
    }
    if (!(ev->flags & LC_EV_RECORD_END))
        return;
    if (!r->have_step) {
        r->have_step = 1;
        r->first_step = r->sample_step = ev->step;
        r->first_wall = r->sample_wall = ev->wall_time;
    }
    r->step = ev->step;
    r->last_wall = ev->wall_time;
    r->updated = 1;
}

static lc_status con_write_batch(lc_sink *s, const lc_event_batch *b, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    con_sink *c = s->state;
    if (c->mode == LC_CONSOLE_OFF)
        return LC_OK;
    con_run *newest = NULL;
    for (size_t i = 0; i < b->count; i++) {
        const lc_event *ev = &b->events[i];
        con_run *r = ev->run ? ev->run->sink_state[s->index] : NULL;
        if (!r)
            continue;
        switch (ev->kind) {
        case LC_EV_SCALAR:
            con_scalar(c, r, ev);
            newest = r;
            break;
        case LC_EV_TAG: {
            const lc_kv_payload *kv = ev->payload;
            if (kv)
                con_set_total(r, kv->key, kv->value);
            break;
        }
        default:
            break;
        }
    }
    int64_t now = (int64_t)lc_mono_ms();
    if (c->mode == LC_CONSOLE_TTY) {
        con_run *r = newest;
        if (r && r->updated && (r->last_print_ms < 0 || now - r->last_print_ms >= c->interval_ms)) {
            con_draw_live(c, r);
            r->last_print_ms = now;
            r->updated = 0;
        }
        return LC_OK;
    }
    for (con_run *r = c->runs; r; r = r->next) {
        if (r->updated && (r->last_print_ms < 0 || now - r->last_print_ms >= c->interval_ms)) {
            con_print_plain(c, r);
            r->last_print_ms = now;
            r->updated = 0;
        }
    }
    return LC_OK;
}

static lc_status con_flush(lc_sink *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    con_sink *c = s->state;
    if (c->mode != LC_CONSOLE_OFF)
        fflush(c->out);
    return LC_OK;
}

static lc_status con_finish_run(lc_sink *s, lc_run_info *run, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    con_sink *c = s->state;
    con_run *r = run->sink_state[s->index];
    if (c->mode == LC_CONSOLE_OFF || !r)
        return LC_OK;
    c->line_len = 0;
    con_name(c, run);
    con_puts(c, " ");
    con_puts(c, lc_run_status_name(run->status));
    con_puts(c, ":");
    if (r->have_step) {
        int64_t steps = r->step - r->first_step;
        double active = r->last_wall - r->first_wall;
        double elapsed = run->end_time > run->start_time && run->start_time > 0
                             ? run->end_time - run->start_time
                             : active;
        con_printf(c, " step %lld, %lld steps in ", (long long)r->step, (long long)steps);
        con_duration(c, elapsed);
        if (steps > 0 && active > 0) {
            con_puts(c, " (");
            con_rate(c, (double)steps / active);
            con_puts(c, ")");
        }
    } else {
        con_puts(c, " no metrics logged");
    }
    con_metrics(c, r);
    if (c->mode == LC_CONSOLE_TTY && c->live_len) {
        fputc('\r', c->out);
        fwrite(c->line, 1, c->line_len, c->out);
        fputs("\x1b[K\n", c->out);
        c->live_len = 0;
        c->live = NULL;
    } else {
        fwrite(c->line, 1, c->line_len, c->out);
        fputc('\n', c->out);
    }
    fflush(c->out);

    for (con_run **pp = &c->runs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (c->live == r)
        c->live = NULL;
    run->sink_state[s->index] = NULL;
    con_run_free(r);
    return LC_OK;
}

static void con_close(lc_sink *s)
{
    con_sink *c = s->state;
    if (!c)
        return;
    if (c->mode == LC_CONSOLE_TTY && c->live_len) {
        fputc('\n', c->out); /* leave the cursor on a fresh line */
        fflush(c->out);
    }
    while (c->runs) {
        con_run *r = c->runs;
        c->runs = r->next;
        if (r->info && r->info->sink_state[s->index] == r)
            r->info->sink_state[s->index] = NULL;
        con_run_free(r);
    }
    for (size_t i = 0; i < c->nkeys; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->line);
    free(c);
    s->state = NULL;
}

static const lc_sink_vtable con_vtable = {
    .name = "console",
    .open_run = con_open_run,
    .write_batch = con_write_batch,
    .flush = con_flush,
    .finish_run = con_finish_run,
    .close = con_close,
};

/* ---- construction ------------------------------------------------------------- */

static int con_split_keys(con_sink *c, const char *spec)
{
    if (!spec)
        return 0;
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (t > p) {
            char **k = realloc(c->keys, (c->nkeys + 1) * sizeof *k);
            if (!k)
                return -1;
            c->keys = k;
            if (!(c->keys[c->nkeys] = strndup(p, (size_t)(t - p))))
                return -1;
            c->nkeys++;
        }
        p = e;
    }
    return 0;
}

static lc_status con_mode_from_env(lc_console_mode *mode, char *err, size_t errlen)
{
    const char *v = getenv("LIGHTC_CONSOLE");
    if (!v || !*v || strcmp(v, "auto") == 0)
        return LC_OK;
    if (strcmp(v, "tty") == 0)
        *mode = LC_CONSOLE_TTY;
    else if (strcmp(v, "plain") == 0)
        *mode = LC_CONSOLE_PLAIN;
    else if (strcmp(v, "off") == 0)
        *mode = LC_CONSOLE_OFF;
    else {
        snprintf(err, errlen, "console: LIGHTC_CONSOLE=%s: use tty, plain, off or auto", v);
        return LC_ERR_INVALID;
    }
    return LC_OK;
}

lc_status lc_sink_console_new_opts(const lc_sink_config *cfg, const lc_console_options *opt,
                                   lc_sink *out, char *err, size_t errlen)
{
    lc_console_options o = {.out = NULL, .mode = LC_CONSOLE_AUTO, .interval_ms = -1};
    if (opt)
        o = *opt;
    if (!o.out)
        o.out = stdout;
    if (o.mode == LC_CONSOLE_AUTO) {
        lc_console_mode m = LC_CONSOLE_AUTO;
        lc_status st = con_mode_from_env(&m, err, errlen);
        if (st != LC_OK)
            return st;
        o.mode = m != LC_CONSOLE_AUTO ? m : isatty(fileno(o.out)) ? LC_CONSOLE_TTY : LC_CONSOLE_PLAIN;
    }
    con_sink *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "console: out of memory");
        return LC_ERR_NOMEM;
    }
    c->out = o.out;
    c->mode = o.mode;
    c->width = o.width;
    c->interval_ms = o.interval_ms >= 0 ? o.interval_ms
                     : o.mode == LC_CONSOLE_TTY ? LC_CONSOLE_TTY_INTERVAL_MS
                                                : LC_CONSOLE_PLAIN_INTERVAL_MS;
    out->vt = &con_vtable; /* out->index is the hub's */
    out->state = c;
    if (con_split_keys(c, cfg ? cfg->console_keys : NULL) != 0) {
        con_close(out);
        snprintf(err, errlen, "console: out of memory");
        return LC_ERR_NOMEM;
    }
    return LC_OK;
}

lc_status lc_sink_console_new(const lc_sink_config *cfg, lc_sink *out, char *err, size_t errlen)
{
    return lc_sink_console_new_opts(cfg, NULL, out, err, errlen);
}
