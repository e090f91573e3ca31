/*
 * trainer/cb_model_checkpoint.c — the ModelCheckpoint callback with
 * Lightning's names, defaults and decisions (callbacks/model_checkpoint.py):
 *
 *  - where: dirpath, default <run dir>/checkpoints;
 *  - names: filename template, default "{epoch}-{step}" ->
 *    "epoch=0-step=100.ckpt"; "{val/loss:.2f}" style groups with
 *    auto_insert_metric_name ("val_loss=0.53": a '/' in an inserted name
 *    becomes '_' so it never makes a subdirectory); "-v1", "-v2" on a clash
 *    with an existing file; "last.ckpt" for save_last;
 *  - when: every_n_train_steps (at batch ends), every_n_epochs (at the
 *    training epoch end when validation runs once per epoch at its end, or
 *    has no validation; else at validation end); never in the sanity check,
 *    fast_dev_run, outside fit, or twice for one global step;
 *  - which: monitor None keeps the latest (save_top_k 1) or all (-1);
 *    with a monitor, the save_top_k best by mode (NaN counts as the worst),
 *    the worst of them replaced when a better one comes;
 *  - a file dropped from the top k (or an older last.ckpt) is deleted only
 *    after the new file is durably written, never the checkpoint the run
 *    resumed from, never outside dirpath.
 * The writes themselves go through lc_trainer_save_checkpoint (atomic, at
 * the batch or epoch boundary). State in checkpoints: best_k_models,
 * best/kth/last paths and scores, dirpath.
 */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_file.h"
#include "common/status.h"
#include "trainer_internal.h"

typedef struct topk_item {
    char *path;
    double score;
} topk_item;

typedef struct model_ckpt {
    lc_callback cb;
    char name[512];
    /* options */
    char *dirpath_opt, *filename, *monitor;
    int mode_max, save_top_k, save_last, auto_insert, enable_version_counter, verbose;
    int save_on_train_epoch_end; /* -1: Lightning's rule */
    int64_t every_n_epochs, every_n_train_steps;
    /* state */
    char dirpath[PATH_MAX];
    topk_item *best_k;
    size_t nbest, capbest;
    char *kth_best_model_path, *best_model_path, *last_model_path;
    double kth_value, best_model_score, current_score;
    int64_t last_global_step_saved;
    char **to_delete;            /* removed once the next save is durable */
    size_t ndelete;
    char *loaded;                /* state from a checkpoint, applied at setup */
} model_ckpt;

#define MC(cb) ((model_ckpt *)(cb)->self)

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = xstrdup(s);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */

/* Shortest "%g" text that reads back as v (Python's repr of a float). */
static void fmt_shortest(double v, char *buf, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (isfinite(v) && !strpbrk(buf, ".en"))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* Append text to out (cap) at *len. */
static void put(char *out, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n >= cap)
        n = cap - 1 - *len;
    memcpy(out + *len, text, n);
    *len += n;
    out[*len] = 0;
}

/* Lightning's _format_checkpoint_name: fills out with the file name
 * (without directory and extension). */
static void format_name(const model_ckpt *mc, const lc_trainer *t, const char *tmpl, char *out,
                        size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (const char *p = tmpl; *p;) {
        if (*p != '{') {
            char c[2] = {*p++, 0};
            put(out, cap, &len, c);
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close) {
            put(out, cap, &len, p);
            break;
        }
        char group[256];
        size_t gl = (size_t)(close - p - 1);
        if (gl >= sizeof group)
            gl = sizeof group - 1;
        memcpy(group, p + 1, gl);
        group[gl] = 0;
        p = close + 1;
        char *spec = strchr(group, ':');
        if (spec)
            *spec++ = 0;
        const char *name = group;
        double v = 0;
        int is_int = 0;
        if (strcmp(name, "epoch") == 0 && !lc_metric_dict_get(&t->cbm, name, &v)) {
            v = (double)t->current_epoch;
            is_int = 1;
        } else if (strcmp(name, "step") == 0 && !lc_metric_dict_get(&t->cbm, name, &v)) {
            v = (double)t->global_step;
            is_int = 1;
        } else if (!lc_metric_dict_get(&t->cbm, name, &v)) {
            v = 0; /* Lightning formats a missing metric as 0 */
            is_int = 1;
        }
        if (mc->auto_insert) {
            char safe[256];
            snprintf(safe, sizeof safe, "%s", name);
            for (char *s = safe; *s; s++)
                if (*s == '/')
                    *s = '_';
            put(out, cap, &len, safe);
            put(out, cap, &len, "=");
        }
        char num[64];
        if (spec && *spec) {
            char f[32];
            snprintf(f, sizeof f, "%%%s", spec);
            size_t fl = strlen(f);
            if (f[fl - 1] == 'd')
                snprintf(num, sizeof num, "%lld", (long long)v);
            else if (strchr("fFeEgG", f[fl - 1]) && !strpbrk(f + 1, "%*"))
                snprintf(num, sizeof num, f, v);
            else
                fmt_shortest(v, num, sizeof num);
        } else if (is_int) {
            snprintf(num, sizeof num, "%lld", (long long)v);
        } else {
            fmt_shortest(v, num, sizeof num);
        }
        put(out, cap, &len, num);
    }
}

/* dirpath/<name>[-v<ver>].ckpt */
static void ckpt_path(const model_ckpt *mc, const lc_trainer *t, const char *tmpl, int ver,
                      char *out, size_t cap)
{
    char name[1024];
    format_name(mc, t, tmpl, name, sizeof name);
    int n = ver > 0 ? snprintf(out, cap, "%s/%s-v%d.ckpt", mc->dirpath, name, ver)
                    : snprintf(out, cap, "%s/%s.ckpt", mc->dirpath, name);
    if (n < 0 || (size_t)n >= cap)
        out[cap - 1] = 0; /* an absurdly long name: cut (the write reports it) */
}

/* A free name, as _get_metric_interpolated_filepath_name: bump the version
 * while the file exists and is not the one being replaced (del). Names of
 * saves still pending (not yet on disk) count as taken too. */
static void free_path(const model_ckpt *mc, const lc_trainer *t, const char *tmpl, const char *del,
                      char *out, size_t cap)
{
    ckpt_path(mc, t, tmpl, 0, out, cap);
    if (!mc->enable_version_counter)
        return;
    for (int ver = 1;; ver++) {
        int taken = file_exists(out) || lc_ckpt_path_busy(t, out);
        if (!taken || streq(out, del) || ver > 10000)
            return;
        ckpt_path(mc, t, tmpl, ver, out, cap);
    }
}

/* ------------------------------------------------------------------------ */
/* Decisions                                                                 */

static int skip_saving(const model_ckpt *mc, const lc_trainer *t)
{
    return t->cfg.fast_dev_run > 0 || t->stage != LC_STAGE_FIT || t->sanity_checking ||
           mc->last_global_step_saved == t->global_step;
}

/* Lightning's _should_save_on_train_epoch_end. */
static int save_on_train_epoch_end(const model_ckpt *mc, const lc_trainer *t)
{
    if (mc->save_on_train_epoch_end >= 0)
        return mc->save_on_train_epoch_end;
    if (t->cfg.check_val_every_n_epoch != 1)
        return 0;
    if (!lc_trainer_has_validation(t))
        return 1;
    lc_amount v = t->cfg.val_check_interval;
    return v.kind == LC_AMOUNT_DEFAULT || (v.kind == LC_AMOUNT_FRACTION && v.value == 1.0);
}

static void queue_delete(model_ckpt *mc, const char *path)
{
    char **d = realloc(mc->to_delete, (mc->ndelete + 1) * sizeof *d);
    if (!d)
        return;
    mc->to_delete = d;
    d[mc->ndelete] = strdup(path);
    if (d[mc->ndelete])
        mc->ndelete++;
}

/* _should_remove_checkpoint: not the new file, not the resumed-from file,
 * only inside dirpath. */
static int should_remove(const model_ckpt *mc, const lc_trainer *t, const char *previous,
                         const char *current)
{
    if (!previous || !*previous || streq(previous, current))
        return 0;
    if (t->ckpt_path[0] && strcmp(previous, t->ckpt_path) == 0)
        return 0;
    size_t n = strlen(mc->dirpath);
    return strncmp(previous, mc->dirpath, n) == 0 && previous[n] == '/';
}

static lc_status save(model_ckpt *mc, lc_trainer *t, const char *path)
{
    mc->last_global_step_saved = t->global_step;
    if (mc->verbose)
        fprintf(stderr, "lightc: ModelCheckpoint: saving %s\n", path);
    return lc_trainer_save_checkpoint(t, path);
}

static void recompute_best(model_ckpt *mc)
{
    size_t best = 0, kth = 0;
    for (size_t i = 1; i < mc->nbest; i++) {
        double s = mc->best_k[i].score;
        if (mc->mode_max ? s > mc->best_k[best].score : s < mc->best_k[best].score)
            best = i;
        if (mc->mode_max ? s < mc->best_k[kth].score : s > mc->best_k[kth].score)
            kth = i;
    }
    if (mc->nbest == 0)
        return;
    set_str(&mc->best_model_path, mc->best_k[best].path);
    mc->best_model_score = mc->best_k[best].score;
    if ((int)mc->nbest == mc->save_top_k || mc->save_top_k == -1) {
        set_str(&mc->kth_best_model_path, mc->best_k[kth].path);
        mc->kth_value = mc->best_k[kth].score;
    }
}

static lc_status save_none_monitor(model_ckpt *mc, lc_trainer *t)
{
    char path[PATH_MAX];
    free_path(mc, t, mc->filename, mc->best_model_path, path, sizeof path);
    char *previous = xstrdup(mc->best_model_path);
    set_str(&mc->best_model_path, path);
    lc_status st = save(mc, t, path);
    if (st == LC_OK && mc->save_top_k == 1 && should_remove(mc, t, previous, path))
        queue_delete(mc, previous);
    free(previous);
    return st;
}

static lc_status save_monitor(model_ckpt *mc, lc_trainer *t)
{
    double current;
    if (!lc_metric_dict_get(&t->cbm, mc->monitor, &current))
        return lc_fail(LC_ERR_INVALID,
                       "ModelCheckpoint(monitor='%s') could not find the monitored key in the "
                       "logged metrics: %s. Did you lc_log('%s', ...) in the module?",
                       mc->monitor, lc_trainer_callback_metric_names(t), mc->monitor);
    /* check_monitor_top_k */
    if (mc->save_top_k != -1 && (int)mc->nbest >= mc->save_top_k) {
        double kth = mc->kth_value;
        if (!(mc->mode_max ? current > kth : current < kth)) {
            if (mc->verbose)
                fprintf(stderr, "lightc: ModelCheckpoint: epoch %lld, step %lld: '%s' was not in "
                        "the top %d\n", (long long)t->current_epoch, (long long)t->global_step,
                        mc->monitor, mc->save_top_k);
            return LC_OK;
        }
    }
    /* _update_best_and_save */
    char *del = NULL;
    if (mc->save_top_k != -1 && (int)mc->nbest == mc->save_top_k && mc->nbest > 0) {
        for (size_t i = 0; i < mc->nbest; i++) {
            if (streq(mc->best_k[i].path, mc->kth_best_model_path)) {
                del = mc->best_k[i].path;
                memmove(mc->best_k + i, mc->best_k + i + 1, (mc->nbest - i - 1) * sizeof *mc->best_k);
                mc->nbest--;
                break;
            }
        }
    }
    if (isnan(current))
        current = mc->mode_max ? -INFINITY : INFINITY;
    char path[PATH_MAX];
    free_path(mc, t, mc->filename, del, path, sizeof path);
    mc->current_score = current;
    if (mc->nbest == mc->capbest) {
        size_t cap = mc->capbest ? mc->capbest * 2 : 4;
        topk_item *b = realloc(mc->best_k, cap * sizeof *b);
        if (!b) {
            free(del);
            return lc_fail(LC_ERR_NOMEM, "ModelCheckpoint: out of memory");
        }
        mc->best_k = b;
        mc->capbest = cap;
    }
    mc->best_k[mc->nbest].path = strdup(path);
    mc->best_k[mc->nbest].score = current;
    mc->nbest++;
    recompute_best(mc);
    lc_status st = save(mc, t, path);
    if (st == LC_OK && del && should_remove(mc, t, del, path))
        queue_delete(mc, del);
    free(del);
    return st;
}

static lc_status save_topk(model_ckpt *mc, lc_trainer *t)
{
    if (mc->save_top_k == 0)
        return LC_OK;
    return mc->monitor ? save_monitor(mc, t) : save_none_monitor(mc, t);
}

static lc_status save_last(model_ckpt *mc, lc_trainer *t)
{
    if (!mc->save_last)
        return LC_OK;
    char path[PATH_MAX];
    free_path(mc, t, "last", mc->last_model_path, path, sizeof path);
    char *previous = xstrdup(mc->last_model_path);
    set_str(&mc->last_model_path, path);
    lc_status st = lc_trainer_save_checkpoint(t, path);
    mc->last_global_step_saved = t->global_step;
    if (st == LC_OK && should_remove(mc, t, previous, path))
        queue_delete(mc, previous);
    free(previous);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Hooks                                                                     */

static lc_status apply_loaded(model_ckpt *mc);

static lc_status mc_setup(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    model_ckpt *mc = MC(cb);
    int n;
    if (mc->dirpath_opt)
        n = snprintf(mc->dirpath, sizeof mc->dirpath, "%s", mc->dirpath_opt);
    else if (t->log_dir[0])
        n = snprintf(mc->dirpath, sizeof mc->dirpath, "%s/checkpoints", t->log_dir);
    else
        n = snprintf(mc->dirpath, sizeof mc->dirpath, "%s/checkpoints",
                     t->hub ? lc_hub_root(t->hub)
                     : t->cfg.default_root_dir ? t->cfg.default_root_dir : lc_default_root());
    if (n < 0 || (size_t)n >= sizeof mc->dirpath)
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: the checkpoint directory path is too long");
    /* temp files of writers killed in an earlier run of this directory */
    if (t->stage == LC_STAGE_FIT && t->cfg.fast_dev_run <= 0)
        lc_ckpt_remove_stale(mc->dirpath);
    return apply_loaded(mc);
}

static lc_status mc_on_train_batch_end(lc_callback *cb, lc_trainer *t, lc_module *m,
                                       const lc_minibatch *b, int64_t idx)
{
    (void)m, (void)b, (void)idx;
    model_ckpt *mc = MC(cb);
    if (skip_saving(mc, t) || mc->every_n_train_steps < 1 ||
        t->global_step % mc->every_n_train_steps != 0)
        return LC_OK;
    lc_status st = save_topk(mc, t);
    return st == LC_OK ? save_last(mc, t) : st;
}

static lc_status epoch_save(model_ckpt *mc, lc_trainer *t)
{
    lc_status st = LC_OK;
    if (mc->every_n_epochs >= 1 && (t->current_epoch + 1) % mc->every_n_epochs == 0)
        st = save_topk(mc, t);
    return st == LC_OK ? save_last(mc, t) : st;
}

static lc_status mc_on_train_epoch_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    model_ckpt *mc = MC(cb);
    if (skip_saving(mc, t) || !save_on_train_epoch_end(mc, t))
        return LC_OK;
    return epoch_save(mc, t);
}

static lc_status mc_on_validation_end(lc_callback *cb, lc_trainer *t, lc_module *m)
{
    (void)m;
    model_ckpt *mc = MC(cb);
    if (skip_saving(mc, t) || save_on_train_epoch_end(mc, t))
        return LC_OK;
    return epoch_save(mc, t);
}

static lc_status mc_on_checkpoint_saved(lc_callback *cb, lc_trainer *t, const char *path)
{
    (void)t, (void)path;
    model_ckpt *mc = MC(cb);
    /* the new file is durable: files that left the top k may go */
    for (size_t i = 0; i < mc->ndelete; i++) {
        if (!lc_ckpt_path_busy(t, mc->to_delete[i]) && unlink(mc->to_delete[i]) == 0 &&
            mc->verbose)
            fprintf(stderr, "lightc: ModelCheckpoint: removed %s\n", mc->to_delete[i]);
        free(mc->to_delete[i]);
    }
    mc->ndelete = 0;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */

static cJSON *num_str(double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return cJSON_CreateString(buf);
}

static char *state_json(const model_ckpt *mc)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "dirpath", mc->dirpath);
    cJSON_AddStringToObject(o, "monitor", mc->monitor ? mc->monitor : "");
    cJSON_AddStringToObject(o, "best_model_path", mc->best_model_path ? mc->best_model_path : "");
    cJSON_AddItemToObject(o, "best_model_score", num_str(mc->best_model_score));
    cJSON_AddItemToObject(o, "current_score", num_str(mc->current_score));
    cJSON_AddStringToObject(o, "kth_best_model_path",
                            mc->kth_best_model_path ? mc->kth_best_model_path : "");
    cJSON_AddItemToObject(o, "kth_value", num_str(mc->kth_value));
    cJSON_AddStringToObject(o, "last_model_path", mc->last_model_path ? mc->last_model_path : "");
    cJSON *bk = cJSON_AddArrayToObject(o, "best_k_models");
    for (size_t i = 0; bk && i < mc->nbest; i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "path", mc->best_k[i].path);
        cJSON_AddItemToObject(it, "score", num_str(mc->best_k[i].score));
        cJSON_AddItemToArray(bk, it);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static size_t mc_state_size(lc_callback *cb)
{
    char *s = state_json(MC(cb));
    size_t n = s ? strlen(s) : 0;
    free(s);
    return n;
}

static lc_status mc_state_save(lc_callback *cb, void *buf, size_t cap)
{
    char *s = state_json(MC(cb));
    if (!s)
        return lc_fail(LC_ERR_NOMEM, "ModelCheckpoint: out of memory");
    size_t n = strlen(s);
    if (n > cap) {
        free(s);
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: state changed size while saving");
    }
    memcpy(buf, s, n);
    free(s);
    return LC_OK;
}

static lc_status mc_state_load(lc_callback *cb, lc_trainer *t, const void *buf, size_t len)
{
    (void)t;
    model_ckpt *mc = MC(cb);
    free(mc->loaded);
    mc->loaded = malloc(len + 1);
    if (!mc->loaded)
        return lc_fail(LC_ERR_NOMEM, "ModelCheckpoint: out of memory");
    memcpy(mc->loaded, buf, len);
    mc->loaded[len] = 0;
    cJSON *o = cJSON_Parse(mc->loaded);
    if (!o) {
        free(mc->loaded);
        mc->loaded = NULL;
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: the saved state is not valid JSON");
    }
    cJSON_Delete(o);
    return LC_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
    return strtod(jstr(o, k), NULL);
}

static const char *empty_null(const char *s)
{
    return s && *s ? s : NULL;
}

/* Lightning's load_state_dict: everything if the dirpath is the same, else
 * only best_model_path. */
static lc_status apply_loaded(model_ckpt *mc)
{
    if (!mc->loaded)
        return LC_OK;
    cJSON *o = cJSON_Parse(mc->loaded);
    free(mc->loaded);
    mc->loaded = NULL;
    if (!o)
        return LC_OK;
    if (strcmp(jstr(o, "dirpath"), mc->dirpath) == 0) {
        mc->best_model_score = jnum(o, "best_model_score");
        mc->current_score = jnum(o, "current_score");
        set_str(&mc->kth_best_model_path, empty_null(jstr(o, "kth_best_model_path")));
        mc->kth_value = jnum(o, "kth_value");
        set_str(&mc->last_model_path, empty_null(jstr(o, "last_model_path")));
        for (size_t i = 0; i < mc->nbest; i++)
            free(mc->best_k[i].path);
        mc->nbest = 0;
        const cJSON *bk = cJSON_GetObjectItemCaseSensitive(o, "best_k_models");
        const cJSON *it;
        cJSON_ArrayForEach(it, bk)
        {
            if (mc->nbest == mc->capbest) {
                size_t cap = mc->capbest ? mc->capbest * 2 : 4;
                topk_item *b = realloc(mc->best_k, cap * sizeof *b);
                if (!b)
                    break;
                mc->best_k = b;
                mc->capbest = cap;
            }
            mc->best_k[mc->nbest].path = strdup(jstr(it, "path"));
            mc->best_k[mc->nbest].score = jnum(it, "score");
            if (mc->best_k[mc->nbest].path)
                mc->nbest++;
        }
    } else {
        lc_trainer_warn("ModelCheckpoint: the dirpath has changed from '%s' to '%s'; only "
                        "best_model_path is restored", jstr(o, "dirpath"), mc->dirpath);
    }
    set_str(&mc->best_model_path, empty_null(jstr(o, "best_model_path")));
    cJSON_Delete(o);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                              */

static void mc_destroy(lc_callback *cb)
{
    model_ckpt *mc = MC(cb);
    free(mc->dirpath_opt);
    free(mc->filename);
    free(mc->monitor);
    for (size_t i = 0; i < mc->nbest; i++)
        free(mc->best_k[i].path);
    free(mc->best_k);
    free(mc->kth_best_model_path);
    free(mc->best_model_path);
    free(mc->last_model_path);
    for (size_t i = 0; i < mc->ndelete; i++)
        free(mc->to_delete[i]);
    free(mc->to_delete);
    free(mc->loaded);
    free(mc);
}

/* 1 if tmpl has a '/' outside {...} groups (a metric name may hold one). */
static int slash_outside_groups(const char *tmpl)
{
    int depth = 0;
    for (const char *p = tmpl; *p; p++) {
        if (*p == '{')
            depth++;
        else if (*p == '}' && depth > 0)
            depth--;
        else if (*p == '/' && depth == 0)
            return 1;
    }
    return 0;
}

void lc_checkpoint_options_default(lc_checkpoint_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = "min";
    o->save_top_k = 1;
    o->save_last = 0;
    o->every_n_epochs = -1;
    o->every_n_train_steps = 0;
    o->auto_insert_metric_name = 1;
    o->save_on_train_epoch_end = -1;
    o->enable_version_counter = 1;
}

lc_status lc_callback_model_checkpoint(lc_callback **out, const lc_checkpoint_options *o)
{
    if (!out || !o)
        return lc_fail(LC_ERR_INVALID, "lc_callback_model_checkpoint: out and options must not "
                       "be NULL");
    *out = NULL;
    int mode_max;
    if (!o->mode || strcmp(o->mode, "min") == 0)
        mode_max = 0;
    else if (strcmp(o->mode, "max") == 0)
        mode_max = 1;
    else
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: mode '%s' must be \"min\" or \"max\"",
                       o->mode);
    if (o->save_top_k < -1)
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: save_top_k=%d must be >= -1",
                       o->save_top_k);
    if ((!o->monitor || !*o->monitor) && o->save_top_k > 1)
        return lc_fail(LC_ERR_INVALID,
                       "ModelCheckpoint(save_top_k=%d, monitor=None) is not a valid "
                       "configuration: no quantity for top_k to track; set a monitor",
                       o->save_top_k);
    if (o->every_n_epochs < -1 || o->every_n_train_steps < 0)
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: every_n_epochs (%lld) and "
                       "every_n_train_steps (%lld) must be >= 0", (long long)o->every_n_epochs,
                       (long long)o->every_n_train_steps);
    if (o->filename && (slash_outside_groups(o->filename) || !*o->filename))
        return lc_fail(LC_ERR_INVALID, "ModelCheckpoint: filename '%s' must be a non-empty name "
                       "without '/' (use dirpath for the directory)", o->filename);
    model_ckpt *mc = calloc(1, sizeof *mc);
    if (!mc)
        return lc_fail(LC_ERR_NOMEM, "lc_callback_model_checkpoint: out of memory");
    mc->dirpath_opt = xstrdup(o->dirpath);
    mc->filename = xstrdup(o->filename ? o->filename : "{epoch}-{step}");
    mc->monitor = o->monitor && *o->monitor ? xstrdup(o->monitor) : NULL;
    mc->mode_max = mode_max;
    mc->save_top_k = o->save_top_k;
    mc->save_last = o->save_last;
    mc->auto_insert = o->auto_insert_metric_name;
    mc->enable_version_counter = o->enable_version_counter;
    mc->verbose = o->verbose;
    mc->save_on_train_epoch_end = o->save_on_train_epoch_end;
    /* Lightning's __init_triggers */
    if (o->every_n_epochs == -1 && o->every_n_train_steps == 0) {
        mc->every_n_epochs = 1;
        mc->every_n_train_steps = 0;
    } else {
        mc->every_n_epochs = o->every_n_epochs < 0 ? 0 : o->every_n_epochs;
        mc->every_n_train_steps = o->every_n_train_steps;
    }
    mc->kth_value = mc->best_model_score = mc->current_score = NAN;
    snprintf(mc->name, sizeof mc->name,
             "ModelCheckpoint{monitor=%s, mode=%s, every_n_train_steps=%lld, every_n_epochs=%lld}",
             mc->monitor ? mc->monitor : "None", mode_max ? "max" : "min",
             (long long)mc->every_n_train_steps, (long long)mc->every_n_epochs);
    lc_callback *cb = &mc->cb;
    cb->name = mc->name;
    cb->self = mc;
    cb->monitoring = 1;
    cb->setup = mc_setup;
    cb->on_train_batch_end = mc_on_train_batch_end;
    cb->on_train_epoch_end = mc_on_train_epoch_end;
    cb->on_validation_end = mc_on_validation_end;
    cb->on_checkpoint_saved = mc_on_checkpoint_saved;
    cb->state_size = mc_state_size;
    cb->state_save = mc_state_save;
    cb->state_load = mc_state_load;
    cb->destroy = mc_destroy;
    if (!mc->filename) {
        mc_destroy(cb);
        return lc_fail(LC_ERR_NOMEM, "lc_callback_model_checkpoint: out of memory");
    }
    *out = cb;
    return LC_OK;
}

const char *lc_model_checkpoint_best_path(const lc_callback *cb)
{
    if (!cb || !cb->name || strncmp(cb->name, "ModelCheckpoint", 15) != 0)
        return "";
    const model_ckpt *mc = cb->self;
    return mc->best_model_path ? mc->best_model_path : "";
}

const char *lc_model_checkpoint_last_path(const lc_callback *cb)
{
    if (!cb || !cb->name || strncmp(cb->name, "ModelCheckpoint", 15) != 0)
        return "";
    const model_ckpt *mc = cb->self;
    return mc->last_model_path ? mc->last_model_path : "";
}
