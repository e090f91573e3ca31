/*
 * loggers/remote/wandb/wandb_ship.c — outbox items to W&B, in order,
 * reporting the delivered prefix (remote.h).
 *
 * Metric points logged together (one outbox `rec`) are one history line:
 *   {"train/loss": 0.5, ..., "trainer/global_step": <lightc step>,
 *    "_step": <line offset>, "_runtime": <s since start>, "_timestamp": <unix s>}
 * `_step` is W&B's own row counter, as with Lightning's WandbLogger (which
 * never passes step= to wandb.log and logs the trainer's step under
 * "trainer/global_step"): it is strictly increasing whatever the lightc
 * steps do (train and val at the same step are two lines), and a resumed
 * run continues after the lines the server has.
 *
 * Params update the config (nested by '/', the SDK's shape), sent with
 * UpsertBucket before the lines that follow them; texts, checkpoints and
 * other files are run files (wandb_files.c); the run's end uploads
 * config.yaml and wandb-summary.json and sends complete + exitcode in the
 * last file_stream request (finished 0, failed 1, killed 130; a crashed run
 * none: W&B shows it crashed, as for any process whose heartbeats stopped). Tags have no W&B counterpart but lightc.host,
 * lightc.argv and lightc.git.commit (host, program, commit of the run).
 *
 * The items are cut into segments at each file or end item; a segment's
 * config goes first, then its lines (and the summary), then its file or end.
 * A failure leaves *done at the first item not on the server; run->
 * remote_state ("lines=N") names the line offset after the delivered items,
 * and the shipper stores it with the cursor in one write.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "wandb_internal.h"

int wandb_exit_code(lc_run_status s)
{
    switch (s) {
    case LC_RUN_FINISHED: return 0;
    case LC_RUN_KILLED: return 130; /* 128 + SIGINT, as a shell reports it */
    case LC_RUN_CRASHED: return -1; /* no exit: W&B marks it crashed itself */
    default: return 1;              /* failed */
    }
}

typedef struct line_set {
    char **text;
    size_t *first_item;     /* index of the line's first item */
    size_t n, cap;
} line_set;

static void lines_free(line_set *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->text[i]);
    free(l->text);
    free(l->first_item);
    memset(l, 0, sizeof *l);
}

/* One line from items[a..b) (metrics of one rec) at offset off. */
static bool line_add(line_set *l, wandb_run *st, const lc_outbox_item *items, size_t a, size_t b,
                     int64_t off)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **t = realloc(l->text, cap * sizeof *t);
        if (!t)
            return false;
        l->text = t;
        size_t *f = realloc(l->first_item, cap * sizeof *f);
        if (!f)
            return false;
        l->first_item = f;
        l->cap = cap;
    }
    lc_jw w;
    lc_jw_init(&w, 64 + 48 * (b - a));
    lc_jw_lit(&w, "{");
    for (size_t i = a; i < b; i++) {
        lc_jw_str(&w, items[i].key ? items[i].key : "");
        lc_jw_lit(&w, ":");
        wandb_jw_number(&w, items[i].value);
        lc_jw_lit(&w, ",");
        wandb_summary_set(&st->summary, items[i].key ? items[i].key : "", items[i].value);
    }
    double wall = items[b - 1].wall_time, rt = wall - st->start_time;
    if (!(rt >= 0))
        rt = 0;
    lc_jw_lit(&w, "\"" WANDB_STEP_KEY "\":");
    lc_jw_i64(&w, items[b - 1].step);
    lc_jw_lit(&w, ",\"_step\":");
    lc_jw_i64(&w, off);
    lc_jw_lit(&w, ",\"_runtime\":");
    wandb_jw_number(&w, rt);
    lc_jw_lit(&w, ",\"_timestamp\":");
    wandb_jw_number(&w, wall);
    lc_jw_lit(&w, "}");
    char *text = lc_jw_finish(&w);
    if (!text)
        return false;
    wandb_summary_set(&st->summary, WANDB_STEP_KEY, (double)items[b - 1].step);
    st->summary.step = off;
    st->summary.runtime = rt;
    st->summary.timestamp = wall;
    st->summary.have_line = true;
    st->summary_dirty = true;
    l->text[l->n] = text;
    l->first_item[l->n++] = a;
    return true;
}

static void set_state(lc_remote_run *run, const wandb_run *st)
{
    snprintf(run->remote_state, sizeof run->remote_state, "lines=%lld", (long long)st->next_line);
}

/* The run's end: the two run files, then complete + exitcode. */
static lc_status ship_end(wandb_backend *b, lc_remote_run *run, wandb_run *st,
                          const lc_outbox_item *it)
{
    (void)run;
    char *yaml = wandb_config_yaml(st->config);
    char *sum = wandb_summary_json(&st->summary);
    lc_status s = yaml && sum ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK)
        s = wandb_file_upload(b, st, "config.yaml", NULL, yaml, strlen(yaml));
    if (s == LC_OK)
        s = wandb_file_upload(b, st, "wandb-summary.json", NULL, sum, strlen(sum));
    free(yaml);
    free(sum);
    size_t sent;
    if (s == LC_OK) {
        /* the whole summary rides on the last request; a crashed run gets
           no complete/exitcode (README: W&B marks it crashed when its
           heartbeats stop, as for a process that died) */
        st->summary_dirty = true;
        s = wandb_stream_post(b, st, NULL, 0, true, wandb_exit_code(it->status), &sent);
    }
    return s;
}

static lc_status ship_file(wandb_backend *b, wandb_run *st, const lc_outbox_item *it)
{
    /* checkpoints only when asked (LIGHTC_WANDB_CHECKPOINTS, on by default,
       as Lightning's log_model="all"); they stay in the run directory */
    if (it->kind == LC_OB_ARTIFACT && !b->cfg.checkpoints && it->key &&
        !strncmp(it->key, "checkpoints/", 12))
        return LC_OK;
    if (it->kind == LC_OB_ARTIFACT)
        return wandb_file_upload(b, st, it->key ? it->key : "file", it->text, NULL, 0);
    size_t need = strlen(it->key ? it->key : "") + 48;
    char *name = malloc(need);
    if (!name)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    snprintf(name, need, "text/%s/step-%lld.txt", it->key ? it->key : "", (long long)it->step);
    const char *t = it->text ? it->text : "";
    lc_status s = wandb_file_upload(b, st, name, NULL, t, strlen(t));
    free(name);
    return s;
}

lc_status wandb_ship_items(wandb_backend *b, lc_remote_run *run, const lc_outbox_item *items,
                           size_t n, size_t *done)
{
    *done = 0;
    wandb_run *st = run ? run->state : NULL;
    if (!st)
        return lc_fail(LC_ERR_STATE, "wandb: ship before open_run");
    size_t m = wandb_whole_lines(items, n);
    lc_status s = LC_OK;
    size_t seg = 0;
    while (seg < m && s == LC_OK) {
        /* the segment: up to and including the next file or end item */
        size_t e = seg;
        while (e < m && (items[e].kind == LC_OB_METRIC || items[e].kind == LC_OB_PARAM ||
                         items[e].kind == LC_OB_TAG))
            e++;
        bool has_tail = e < m;
        line_set L = {0};
        for (size_t i = seg; i < e && s == LC_OK;) {
            const lc_outbox_item *it = &items[i];
            if (it->kind == LC_OB_METRIC) {
                size_t j = i + 1;
                while (j < e && items[j].kind == LC_OB_METRIC && items[j].rec == it->rec)
                    j++;
                if (!line_add(&L, st, items, i, j, st->next_line + (int64_t)L.n))
                    s = lc_fail(LC_ERR_NOMEM, "out of memory");
                i = j;
                continue;
            }
            if (it->kind == LC_OB_PARAM) {
                if (!wandb_config_set(st->config, it->key ? it->key : "",
                                      wandb_param_value(it->text)))
                    s = lc_fail(LC_ERR_NOMEM, "out of memory");
                st->config_dirty = true;
            }
            i++;
        }
        if (s == LC_OK && st->config_dirty)
            s = wandb_upsert(b, st, run);
        if (s != LC_OK) {
            lines_free(&L);
            break; /* *done stays at seg */
        }
        bool urgent = has_tail && items[e].kind == LC_OB_END;
        size_t sent = 0;
        if (L.n || st->summary_dirty)
            s = wandb_stream_post(b, st, L.text, L.n, urgent, -1, &sent);
        set_state(run, st);
        if (s != LC_OK) {
            *done = sent < L.n ? L.first_item[sent] : e;
            lines_free(&L);
            break;
        }
        lines_free(&L);
        *done = e;
        if (!has_tail) {
            seg = e;
            break;
        }
        const lc_outbox_item *t = &items[e];
        if (t->kind == LC_OB_END)
            s = ship_end(b, run, st, t);
        else if (t->kind == LC_OB_TEXT || t->kind == LC_OB_ARTIFACT)
            s = ship_file(b, st, t);
        else
            s = lc_fail(LC_ERR_INVALID, "wandb: outbox item %lld has unknown kind %d",
                        (long long)t->seq, (int)t->kind);
        if (s != LC_OK)
            break;
        *done = e + 1;
        seg = e + 1;
    }
    set_state(run, st);
    return s;
}
