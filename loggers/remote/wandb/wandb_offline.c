/*
 * loggers/remote/wandb/wandb_offline.c — WANDB_MODE=offline: the run as
 * W&B's own offline run directory, which the official `wandb sync DIR`
 * uploads (on this machine later, or on another one with a network):
 *
 *   <WANDB_DIR or cwd>/wandb/offline-run-YYYYMMDD_HHMMSS-<id>/run-<id>.wandb
 *
 * A backend ("wandb-offline") fed by its own shipper from the run index,
 * like the online one: the header and run records at the first open, and
 * metric records (define_metric: trainer/global_step as every key's x-axis,
 * as Lightning's WandbLogger defines it, and LIGHTC_WANDB_SUMMARY's min/max),
 * then
 * per outbox item a config record (params; the whole top-level value of
 * the key), a history record per line (the metric keys, trainer/global_step,
 * and _step, _runtime, _timestamp as items: sync builds its lines from the
 * items only) with a summary record of its keys, and at the run's end the
 * exit record and a final record (the legacy sync waits for it).
 * Files (checkpoints, texts) have no place in it: `lightc sync --to wandb`
 * uploads them from the index.
 *
 * Exactly once after a crash: remote_state keeps "bytes=B lines=L num=N"
 * for the items before the cursor (the shipper writes it with the cursor),
 * and a reopen cuts the file back to B bytes before appending, so records
 * a killed process wrote past its cursor are written once, again.
 * The directory name is kept as the remote run id, its path as the URL.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"
#include "wandb_internal.h"
#include "wandb_record.pb-c.h"

typedef struct off_run {
    wandb_log log;
    char run_id[64];
    int64_t lines, num;
    double start_time;
    cJSON *config;
    wandb_summary summary;
    size_t files_skipped;
} off_run;

typedef struct off_backend {
    wandb_config cfg;
} off_backend;

/* ---------------------------------------------------------------------- */
/* records */

static lc_status put(off_run *r, Lightc__Wandb__Record *rec)
{
    rec->num = ++r->num;
    size_t n = lightc__wandb__record__get_packed_size(rec);
    unsigned char stackbuf[4096];
    unsigned char *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (!buf)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lightc__wandb__record__pack(rec, buf);
    lc_status s = wandb_log_append(&r->log, buf, n);
    if (buf != stackbuf)
        free(buf);
    return s;
}

static lc_status put_header(off_run *r)
{
    Lightc__Wandb__HeaderRecord h = LIGHTC__WANDB__HEADER_RECORD__INIT;
    Lightc__Wandb__HeaderRecord__VersionInfo v = LIGHTC__WANDB__HEADER_RECORD__VERSION_INFO__INIT;
    v.producer = "lightc " LC_VERSION_STRING;
    v.min_consumer = "0.70.0";
    h.version_info = &v;
    Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
    rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_HEADER;
    rec.header = &h;
    return put(r, &rec);
}

/* define_metric as Lightning's WandbLogger does it (trainer/global_step is
   the x-axis of every key: "*" with step_metric and step_sync), plus the
   summary options LIGHTC_WANDB_SUMMARY asks for. `wandb sync` turns them
   into the run's metric definitions. */
static lc_status put_metric(off_run *r, const char *name, const char *glob, const char *step,
                            unsigned aggs)
{
    Lightc__Wandb__MetricRecord m = LIGHTC__WANDB__METRIC_RECORD__INIT;
    Lightc__Wandb__MetricOptions o = LIGHTC__WANDB__METRIC_OPTIONS__INIT;
    Lightc__Wandb__MetricSummary ms = LIGHTC__WANDB__METRIC_SUMMARY__INIT;
    m.name = (char *)(name ? name : "");
    m.glob_name = (char *)(glob ? glob : "");
    if (step) {
        m.step_metric = (char *)step;
        o.step_sync = 1;
        o.defined = 1;
        m.options = &o;
    }
    if (aggs) {
        ms.min = (aggs & WANDB_SUM_MIN) != 0;
        ms.max = (aggs & WANDB_SUM_MAX) != 0;
        ms.last = (aggs & WANDB_SUM_LAST) != 0;
        m.summary = &ms;
    }
    Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
    rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_METRIC;
    rec.metric = &m;
    return put(r, &rec);
}

static lc_status put_metrics(off_backend *b, off_run *r)
{
    lc_status s = put_metric(r, WANDB_STEP_KEY, NULL, NULL, 0);
    if (s == LC_OK)
        s = put_metric(r, NULL, "*", WANDB_STEP_KEY, 0);
    for (size_t i = 0; s == LC_OK && i < b->cfg.summary.n; i++)
        s = put_metric(r, b->cfg.summary.keys[i], NULL, NULL, b->cfg.summary.aggs[i]);
    return s;
}

static const char *tag_of(const char *const *tags, const char *key)
{
    for (size_t i = 0; tags && tags[i]; i += 2)
        if (!strcmp(tags[i], key))
            return tags[i + 1];
    return NULL;
}

static lc_status put_run(off_backend *b, off_run *r, const lc_remote_run *run)
{
    const wandb_config *c = &b->cfg;
    Lightc__Wandb__RunRecord rr = LIGHTC__WANDB__RUN_RECORD__INIT;
    char project[256];
    snprintf(project, sizeof project, "%s", c->project ? c->project
                                            : run->experiment && *run->experiment ? run->experiment
                                                                                  : "uncategorized");
    for (char *p = project; *p; p++)
        if (strchr("/\\#?%:,;'", *p))
            *p = '-';
    rr.run_id = r->run_id;
    rr.entity = c->entity ? c->entity : "";
    rr.project = project;
    rr.run_group = c->group ? c->group : "";
    rr.job_type = c->job_type ? c->job_type : "";
    rr.display_name = (char *)(c->name ? c->name : run->name ? run->name : "");
    rr.notes = c->notes ? c->notes : "";
    size_t nt = 0;
    while (c->tags && c->tags[nt])
        nt++;
    rr.n_tags = nt;
    rr.tags = c->tags;
    rr.host = (char *)(tag_of(run->tags, "lightc.host") ? tag_of(run->tags, "lightc.host") : "");
    Lightc__Wandb__WallTime t = LIGHTC__WANDB__WALL_TIME__INIT;
    t.seconds = (int64_t)run->start_time;
    t.nanos = (int32_t)((run->start_time - (double)t.seconds) * 1e9);
    rr.start_time = &t;
    Lightc__Wandb__GitInfo g = LIGHTC__WANDB__GIT_INFO__INIT;
    const char *commit = tag_of(run->tags, "lightc.git.commit");
    if (commit) {
        g.commit = (char *)commit;
        rr.git = &g;
    }
    Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
    rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_RUN;
    rec.run = &rr;
    return put(r, &rec);
}

/* Config: params[0..n) -> one record, each touched top-level key with its
   whole value. */
static lc_status put_config(off_run *r, const lc_outbox_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!wandb_config_set(r->config, items[i].key ? items[i].key : "",
                              wandb_param_value(items[i].text)))
            return lc_fail(LC_ERR_NOMEM, "out of memory");
    Lightc__Wandb__ConfigItem *ci = calloc(n, sizeof *ci);
    Lightc__Wandb__ConfigItem **cp = calloc(n, sizeof *cp);
    char **keys = calloc(n, sizeof *keys), **vals = calloc(n, sizeof *vals);
    size_t k = 0;
    lc_status s = ci && cp && keys && vals ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; s == LC_OK && i < n; i++) {
        const char *key = items[i].key ? items[i].key : "";
        size_t len = strcspn(key, "/");
        int dup = 0;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strlen(keys[j]) == len && !strncmp(keys[j], key, len);
        if (dup)
            continue;
        keys[k] = strndup(key, len);
        cJSON *v = keys[k] ? cJSON_GetObjectItemCaseSensitive(
                                 cJSON_GetObjectItemCaseSensitive(r->config, keys[k]), "value")
                           : NULL;
        vals[k] = v ? cJSON_PrintUnformatted(v) : NULL;
        if (!keys[k] || !vals[k]) {
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
            k += keys[k] != NULL;
            break;
        }
        lightc__wandb__config_item__init(&ci[k]);
        ci[k].key = keys[k];
        ci[k].value_json = vals[k];
        cp[k] = &ci[k];
        k++;
    }
    if (s == LC_OK) {
        Lightc__Wandb__ConfigRecord cr = LIGHTC__WANDB__CONFIG_RECORD__INIT;
        cr.n_update = k;
        cr.update = cp;
        Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
        rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_CONFIG;
        rec.config = &cr;
        s = put(r, &rec);
    }
    for (size_t i = 0; i < k; i++) {
        free(keys[i]);
        cJSON_free(vals[i]);
    }
    free(keys);
    free(vals);
    free(ci);
    free(cp);
    return s;
}

static char *json_number(double v)
{
    lc_jw b;
    lc_jw_init(&b, 32);
    wandb_jw_number(&b, v);
    return lc_jw_finish(&b);
}

/* One history line from metrics items[0..n) (one rec), and a summary
   record of its keys. */
static lc_status put_line(off_run *r, const lc_outbox_item *items, size_t n)
{
    size_t total = n + 4;
    Lightc__Wandb__HistoryItem *hi = calloc(total, sizeof *hi);
    Lightc__Wandb__HistoryItem **hp = calloc(total, sizeof *hp);
    Lightc__Wandb__SummaryItem *si = calloc(n + 1, sizeof *si);
    Lightc__Wandb__SummaryItem **sp = calloc(n + 1, sizeof *sp);
    char **vals = calloc(total, sizeof *vals);
    char **paths = calloc(total, sizeof *paths); /* nested_key of one element */
    char **aggv = calloc(n + 1, sizeof *aggv);  /* summary objects of aggregated keys */
    lc_status s = hi && hp && si && sp && vals && paths && aggv
                      ? LC_OK
                      : lc_fail(LC_ERR_NOMEM, "out of memory");
    double wall = n ? items[n - 1].wall_time : 0, rt = wall - r->start_time;
    if (!(rt >= 0))
        rt = 0;
    static const char *const names[4] = {WANDB_STEP_KEY, "_step", "_runtime", "_timestamp"};
    for (size_t i = 0; s == LC_OK && i < total; i++) {
        lightc__wandb__history_item__init(&hi[i]);
        if (i < n) {
            paths[i] = (char *)(items[i].key ? items[i].key : "");
            vals[i] = json_number(items[i].value);
            wandb_summary_set(&r->summary, paths[i], items[i].value);
        } else {
            size_t j = i - n;
            paths[i] = (char *)names[j];
            if (j == 0 || j == 1) {
                char t[32];
                snprintf(t, sizeof t, "%lld",
                         (long long)(j == 0 ? items[n - 1].step : r->lines));
                vals[i] = strdup(t);
            } else {
                vals[i] = json_number(j == 2 ? rt : wall);
            }
        }
        if (!vals[i]) {
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
            break;
        }
        hi[i].n_nested_key = 1;
        hi[i].nested_key = &paths[i];
        hi[i].value_json = vals[i];
        hp[i] = &hi[i];
    }
    if (s == LC_OK) {
        Lightc__Wandb__HistoryStep step = LIGHTC__WANDB__HISTORY_STEP__INIT;
        step.num = r->lines;
        Lightc__Wandb__HistoryRecord hr = LIGHTC__WANDB__HISTORY_RECORD__INIT;
        hr.n_item = total;
        hr.item = hp;
        hr.step = &step;
        Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
        rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_HISTORY;
        rec.history = &hr;
        s = put(r, &rec);
    }
    if (s == LC_OK) {
        /* the summary: the line's keys (their value, or {"min", "max",
           "last"} as LIGHTC_WANDB_SUMMARY asks) and trainer/global_step */
        size_t k = 0;
        for (size_t i = 0; i <= n; i++) {
            size_t src = i < n ? i : n; /* n: the step item */
            lightc__wandb__summary_item__init(&si[k]);
            si[k].n_nested_key = 1;
            si[k].nested_key = &paths[src];
            si[k].value_json = vals[src];
            for (size_t j = 0; i < n && j < r->summary.n; j++) {
                if (r->summary.aggs[j] == WANDB_SUM_LAST || strcmp(r->summary.keys[j], paths[src]))
                    continue;
                lc_jw w;
                lc_jw_init(&w, 64);
                wandb_summary_value(&w, &r->summary, j);
                free(aggv[i]);
                aggv[i] = lc_jw_finish(&w);
                if (aggv[i])
                    si[k].value_json = aggv[i];
            }
            sp[k] = &si[k];
            k++;
        }
        Lightc__Wandb__SummaryRecord sr = LIGHTC__WANDB__SUMMARY_RECORD__INIT;
        sr.n_update = k;
        sr.update = sp;
        Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
        rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_SUMMARY;
        rec.summary = &sr;
        s = put(r, &rec);
        if (s == LC_OK)
            r->lines++;
    }
    for (size_t i = 0; vals && i < total; i++)
        free(vals[i]);
    free(vals);
    for (size_t i = 0; aggv && i <= n; i++)
        free(aggv[i]);
    free(aggv);
    free(paths);
    free(hi);
    free(hp);
    free(si);
    free(sp);
    return s;
}

static lc_status put_end(off_run *r, const lc_outbox_item *it)
{
    Lightc__Wandb__RunExitRecord ex = LIGHTC__WANDB__RUN_EXIT_RECORD__INIT;
    /* crashed: 1, what `wandb sync` sends for a file without an exit */
    ex.exit_code = it->status == LC_RUN_CRASHED ? 1 : wandb_exit_code(it->status);
    double rt = it->wall_time - r->start_time;
    ex.runtime = rt > 0 && rt < (double)INT32_MAX ? (int32_t)rt : 0;
    Lightc__Wandb__Record rec = LIGHTC__WANDB__RECORD__INIT;
    rec.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_EXIT;
    rec.exit = &ex;
    lc_status s = put(r, &rec);
    if (s == LC_OK) {
        Lightc__Wandb__FinalRecord fin = LIGHTC__WANDB__FINAL_RECORD__INIT;
        Lightc__Wandb__Record rf = LIGHTC__WANDB__RECORD__INIT;
        rf.record_type_case = LIGHTC__WANDB__RECORD__RECORD_TYPE_FINAL;
        rf.final = &fin;
        s = put(r, &rf);
    }
    if (s == LC_OK)
        s = wandb_log_sync(&r->log);
    return s;
}

/* ---------------------------------------------------------------------- */
/* the backend */

static void off_run_free(off_run *r)
{
    if (!r)
        return;
    wandb_log_close(&r->log);
    cJSON_Delete(r->config);
    wandb_summary_free(&r->summary);
    free(r);
}

static lc_status mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return lc_fail(LC_ERR_IO, "wandb: cannot make %.*s: %s", (int)(p - path), path,
                           strerror(errno));
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return lc_fail(LC_ERR_IO, "wandb: cannot make %s: %s", path, strerror(errno));
    return LC_OK;
}

static lc_status off_open_run(lc_remote *rm, lc_remote_run *run)
{
    off_backend *b = rm->state;
    if (run->state) {
        off_run_free(run->state);
        run->state = NULL;
    }
    off_run *r = calloc(1, sizeof *r);
    if (!r || !(r->config = cJSON_CreateObject())) {
        free(r);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    r->log.fd = -1;
    r->start_time = run->start_time;
    char dir[PATH_MAX + 64], file[PATH_MAX + 160];
    unsigned long long bytes = 0;
    long long lines = 0, num = 0;
    bool first = !run->remote_url[0];
    if (!first) {
        /* run-<id>.wandb in the directory kept as the URL */
        snprintf(dir, sizeof dir, "%s", run->remote_url);
        const char *id = strrchr(run->remote_id, '-');
        snprintf(r->run_id, sizeof r->run_id, "%.63s", id ? id + 1 : run->remote_id);
        if (run->remote_state[0] &&
            sscanf(run->remote_state, "bytes=%llu lines=%lld num=%lld", &bytes, &lines, &num) != 3)
            bytes = 0, lines = num = 0;
    } else {
        if (b->cfg.run_id)
            snprintf(r->run_id, sizeof r->run_id, "%s", b->cfg.run_id);
        else
            wandb_run_id_from_uuid(run->run_uuid, r->run_id);
        /* an absolute path: `lightc sync` may run from another directory */
        char cwd[PATH_MAX], joined[PATH_MAX + 8];
        const char *root = b->cfg.dir;
        if (!root || root[0] != '/') {
            if (!getcwd(cwd, sizeof cwd)) {
                off_run_free(r);
                return lc_fail(LC_ERR_IO, "wandb: cannot read the current directory: %s; set "
                               "WANDB_DIR to an absolute path", strerror(errno));
            }
            if (!root) {
                root = cwd;
            } else {
                int len = snprintf(joined, sizeof joined, "%s/%s", cwd, root);
                if (len < 0 || (size_t)len >= sizeof joined) {
                    off_run_free(r);
                    return lc_fail(LC_ERR_INVALID, "wandb: WANDB_DIR is too long a path");
                }
                root = joined;
            }
        }
        time_t t = (time_t)run->start_time;
        struct tm tm;
        localtime_r(&t, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
        int len = snprintf(dir, sizeof dir, "%s/wandb/offline-run-%s-%s", root, stamp, r->run_id);
        if (len < 0 || (size_t)len >= sizeof run->remote_url) {
            off_run_free(r);
            return lc_fail(LC_ERR_INVALID, "wandb: WANDB_DIR is too long a path");
        }
    }
    lc_status s = mkdirs(dir);
    if (s == LC_OK) {
        snprintf(file, sizeof file, "%s/run-%s.wandb", dir, r->run_id);
        s = wandb_log_open(&r->log, file, bytes);
    }
    r->lines = lines;
    r->num = num;
    if (s == LC_OK && bytes == 0) {
        s = put_header(r);
        if (s == LC_OK)
            s = put_run(b, r, run);
        if (s == LC_OK)
            s = put_metrics(b, r);
    }
    r->summary.spec = &b->cfg.summary;
    if (s != LC_OK) {
        off_run_free(r);
        return s;
    }
    run->state = r;
    const char *base = strrchr(dir, '/');
    snprintf(run->remote_id, sizeof run->remote_id, "%.127s", base ? base + 1 : dir);
    snprintf(run->remote_url, sizeof run->remote_url, "%.511s", dir);
    snprintf(run->remote_state, sizeof run->remote_state, "bytes=%llu lines=%lld num=%lld",
             (unsigned long long)r->log.pos, (long long)r->lines, (long long)r->num);
    if (first)
        fprintf(stderr, "lightc: wandb: offline (WANDB_MODE=offline): run %s is written to %s; "
                        "upload it with `wandb sync %s`, or `lightc sync --to wandb`\n",
                r->run_id, dir, dir);
    return LC_OK;
}

static lc_status off_ship(lc_remote *rm, lc_remote_run *run, const lc_outbox_item *items,
                          size_t n, size_t *done)
{
    (void)rm;
    off_run *r = run ? run->state : NULL;
    *done = 0;
    if (!r)
        return lc_fail(LC_ERR_STATE, "wandb: ship before open_run");
    size_t m = wandb_whole_lines(items, n);
    lc_status s = LC_OK;
    size_t i = 0;
    while (i < m && s == LC_OK) {
        const lc_outbox_item *it = &items[i];
        size_t j = i + 1;
        switch (it->kind) {
        case LC_OB_METRIC:
            while (j < m && items[j].kind == LC_OB_METRIC && items[j].rec == it->rec)
                j++;
            s = put_line(r, it, j - i);
            break;
        case LC_OB_PARAM:
            while (j < m && items[j].kind == LC_OB_PARAM)
                j++;
            s = put_config(r, it, j - i);
            break;
        case LC_OB_END:
            s = put_end(r, it);
            break;
        case LC_OB_TEXT:
        case LC_OB_ARTIFACT:
            r->files_skipped++;
            break;
        default:
            break; /* tags: no offline record */
        }
        if (s == LC_OK) {
            i = j;
            *done = i;
            snprintf(run->remote_state, sizeof run->remote_state, "bytes=%llu lines=%lld num=%lld",
                     (unsigned long long)r->log.pos, (long long)r->lines, (long long)r->num);
        }
    }
    return s;
}

static void off_close_run(lc_remote *rm, lc_remote_run *run)
{
    (void)rm;
    off_run *r = run ? run->state : NULL;
    if (!r)
        return;
    if (r->files_skipped)
        fprintf(stderr, "lightc: wandb: offline run %s: %zu file(s) and text(s) are not part of "
                        "the offline directory; `lightc sync --to wandb` uploads them\n",
                r->run_id, r->files_skipped);
    off_run_free(r);
    run->state = NULL;
}

static void off_free(lc_remote *rm)
{
    if (!rm || !rm->state)
        return;
    off_backend *b = rm->state;
    wandb_config_free(&b->cfg);
    free(b);
    rm->state = NULL;
}

static const lc_remote_vtable offline_vtable = {
    .name = "wandb-offline",
    .open_run = off_open_run,
    .ship = off_ship,
    .heartbeat = NULL,
    .close_run = off_close_run,
    .free = off_free,
    .chunk = WANDB_CHUNK,
};

lc_status lc_remote_wandb_offline_new(lc_remote *out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "wandb: lc_remote_wandb_offline_new(NULL)");
    memset(out, 0, sizeof *out);
    off_backend *b = calloc(1, sizeof *b);
    if (!b)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status st = wandb_config_load(&b->cfg);
    if (st != LC_OK) {
        free(b);
        return st;
    }
    out->vt = &offline_vtable;
    out->state = b;
    return LC_OK;
}
