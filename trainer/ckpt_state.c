/*
 * trainer/ckpt_state.c — what a checkpoint holds and how a trainer is
 * restored from one (the container is ckpt_file.h).
 *
 * Sections (Lightning's checkpoint keys in brackets):
 *   meta                 JSON: format, lightc version, epoch, global_step
 *                        [epoch, global_step], the loop counters and
 *                        dataloader position [loops], seed, BLAS threads,
 *                        the run (experiment, name, id), optimizer and
 *                        scheduler names, tensor list, callback names,
 *                        hyperparameters [hyper_parameters], the
 *                        precision and the dtype of every stored tensor
 *   state_dict/<param>   u32 ndim, u32 dtype (lc_dtype), i64 shape[ndim],
 *                        the values in that dtype                [state_dict]
 *                        (format version 1: u32 ndim, i64 shape, f32 values)
 *   optimizer            lc_optim_state_save blob (float32 state)
 *                                                         [optimizer_states]
 *   precision            the precision plugin's blob: its kind, GradScaler
 *                        state and counters      [MixedPrecision state_dict]
 *   lr_scheduler         lc_sched_state_save blob            [lr_schedulers]
 *   rng                  the trainer's PCG32 state (dropout), 2 x u64
 *   loops/train_results  the running epoch's lc_log reductions
 *   callbacks/<name>     each callback's state_save blob          [callbacks]
 * Integers and floats are little-endian (native on every supported
 * machine; the optimizer and scheduler blobs carry their own byte-order
 * marks).
 *
 * A checkpoint is taken at a batch or epoch boundary: everything the
 * finished batch (or epoch) did — its metrics logged, validation run,
 * schedulers stepped — is in it, and the resume point is the next batch.
 * "batches_that_stepped" - 1 is the last logging step it covers; a resumed
 * run discards points logged after that step in every backend.
 *
 * Precision: parameters are stored as the run keeps them — float32 for
 * 32-true and the mixed precisions (the master weights), float16 /
 * bfloat16 for 16-true / bf16-true (exact: their values are the format's).
 * Loading converts any stored dtype to the running precision (widening is
 * exact; a float32 checkpoint loaded into a *-true run is rounded), so a
 * run may resume in another precision; the loss scaler continues only
 * between 16-mixed runs, and a change of precision is warned about.
 *
 * Devices: nothing in a checkpoint says where it was written. Parameters
 * and optimizer state on a GPU are downloaded into these host layouts
 * when it is built (on the training thread) and uploaded on restore, so a
 * checkpoint written on cuda resumes on the cpu and back; the dropout RNG
 * is the same PCG32 stream on both (kernels/cuda/dropout.cu).
 */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "blas_info.h"
#include "ckpt_file.h"
#include "common/fs.h"
#include "common/status.h"
#include "half.h"
#include "trainer_internal.h"

#define CKPT_FORMAT "lightc-checkpoint"

/* ------------------------------------------------------------------------ */
/* Building                                                                  */

static cJSON *meta_json(lc_trainer *t, int mid_epoch)
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return NULL;
    cJSON_AddStringToObject(m, "format", CKPT_FORMAT);
    cJSON_AddStringToObject(m, "lightc_version", LC_VERSION_STRING);
    /* the epoch the checkpoint was taken in, as Lightning's "epoch" */
    int64_t resume_epoch = t->current_epoch, resume_batch = mid_epoch ? t->batch_idx + 1 : 0;
    int64_t epoch = mid_epoch ? t->current_epoch : t->current_epoch - 1;
    if (epoch < 0)
        epoch = 0;
    cJSON_AddNumberToObject(m, "epoch", (double)epoch);
    cJSON_AddNumberToObject(m, "global_step", (double)t->global_step);
    cJSON *loops = cJSON_AddObjectToObject(m, "loops");
    if (loops) {
        cJSON_AddNumberToObject(loops, "batches_that_stepped", (double)t->batches_that_stepped);
        cJSON_AddNumberToObject(loops, "resume_epoch", (double)resume_epoch);
        cJSON_AddNumberToObject(loops, "resume_batch", (double)resume_batch);
        cJSON_AddNumberToObject(loops, "total_batch_idx", (double)t->total_batch_idx);
        cJSON_AddBoolToObject(loops, "mid_epoch", mid_epoch);
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->cfg.seed);
    cJSON_AddStringToObject(m, "seed", seed); /* a string: 64-bit exact */
    cJSON_AddNumberToObject(m, "threads", lc_blas_get_threads());
    cJSON_AddStringToObject(m, "blas", lc_blas_info());
    if (t->run) {
        cJSON *run = cJSON_AddObjectToObject(m, "run");
        if (run) {
            cJSON_AddStringToObject(run, "experiment", lc_run_experiment(t->run));
            cJSON_AddStringToObject(run, "name", lc_run_name(t->run));
            cJSON_AddStringToObject(run, "id", lc_run_id(t->run));
        }
    }
    cJSON_AddStringToObject(m, "optimizer", t->optim ? lc_optim_name(t->optim) : "");
    cJSON_AddStringToObject(m, "lr_scheduler", t->sched_name);
    lc_params *ps = t->module->params;
    cJSON *sd = cJSON_AddArrayToObject(m, "state_dict");
    for (size_t i = 0; sd && ps && i < ps->len; i++)
        cJSON_AddItemToArray(sd, cJSON_CreateString(ps->items[i].name));
    cJSON_AddStringToObject(m, "precision", lc_precision_name(t->prec.kind));
    cJSON *dt = cJSON_AddObjectToObject(m, "dtypes");
    for (size_t i = 0; dt && ps && i < ps->len; i++)
        cJSON_AddStringToObject(dt, ps->items[i].name, lc_dtype_name(t->prec.param_dtype));
    cJSON_AddStringToObject(m, "optimizer_dtype", lc_dtype_name(LC_DTYPE_F32));
    cJSON *cbs = cJSON_AddArrayToObject(m, "callbacks");
    for (size_t i = 0; cbs && i < t->ncb; i++)
        cJSON_AddItemToArray(cbs, cJSON_CreateString(t->cbs[i]->name ? t->cbs[i]->name : ""));
    if (t->module->hparams_json) {
        cJSON *hp = cJSON_Parse(t->module->hparams_json);
        if (hp)
            cJSON_AddItemToObject(m, "hyper_parameters", hp);
    }
    cJSON_AddNumberToObject(m, "time", (double)time(NULL));
    return m;
}

/* count float32 values as dtype into dst (any alignment). */
static void store_values(uint8_t *dst, const float *src, size_t count, lc_dtype dtype)
{
    if (dtype == LC_DTYPE_F32) {
        memcpy(dst, src, count * sizeof(float));
        return;
    }
    uint16_t tmp[1024];
    for (size_t i = 0; i < count; i += 1024) {
        size_t k = count - i < 1024 ? count - i : 1024;
        if (dtype == LC_DTYPE_F16)
            lc_f32_to_f16_array(tmp, src + i, k);
        else
            lc_f32_to_bf16_array(tmp, src + i, k);
        memcpy(dst + 2 * i, tmp, 2 * k);
    }
}

/* count values of dtype at src (any alignment) into float32 dst. */
static void load_values(float *dst, const uint8_t *src, size_t count, lc_dtype dtype)
{
    if (dtype == LC_DTYPE_F32) {
        memcpy(dst, src, count * sizeof(float));
        return;
    }
    uint16_t tmp[1024];
    for (size_t i = 0; i < count; i += 1024) {
        size_t k = count - i < 1024 ? count - i : 1024;
        memcpy(tmp, src + 2 * i, 2 * k);
        if (dtype == LC_DTYPE_F16)
            lc_f16_to_f32_array(dst + i, tmp, k);
        else
            lc_bf16_to_f32_array(dst + i, tmp, k);
    }
}

/* The whole checkpoint into w. */
static lc_status ckpt_build(lc_trainer *t, lc_ckpt_writer *w, int mid_epoch)
{
    /* one allocation of about the final size: no regrowth copies */
    size_t need = 1 << 16;
    lc_params *pr = t->module->params;
    for (size_t i = 0; pr && i < pr->len; i++)
        need += pr->items[i].count * sizeof(float) + 256;
    if (t->optim)
        need += lc_optim_state_size(t->optim);
    if (t->sched)
        need += lc_sched_state_size(t->sched);
    lc_ckpt_writer_reserve(w, need);
    cJSON *meta = meta_json(t, mid_epoch);
    char *text = meta ? cJSON_PrintUnformatted(meta) : NULL;
    cJSON_Delete(meta);
    if (!text)
        return lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory");
    lc_ckpt_add(w, "meta", text, strlen(text));
    free(text);

    lc_params *ps = t->module->params;
    lc_dtype dtype = t->prec.param_dtype;
    /* values on a device are downloaded first: the file is the same bytes
       whichever device wrote it */
    float *host = NULL;
    int on_device = ps && lc_params_backend(ps)->device != LC_DEVICE_HOST;
    if (on_device) {
        size_t most = 1;
        for (size_t i = 0; i < ps->len; i++)
            most = ps->items[i].count > most ? ps->items[i].count : most;
        host = malloc(most * sizeof *host);
        if (!host)
            return lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory");
    }
    for (size_t i = 0; ps && i < ps->len; i++) {
        const lc_param *p = &ps->items[i];
        char name[LC_PARAM_NAME_MAX + 16];
        snprintf(name, sizeof name, "state_dict/%s", p->name);
        size_t head = 8 + 8 * (size_t)p->ndim;
        uint8_t *d = lc_ckpt_add_space(w, name, head + p->count * lc_dtype_size(dtype));
        if (!d)
            break;
        uint32_t nd = (uint32_t)p->ndim, code = (uint32_t)dtype;
        memcpy(d, &nd, 4);
        memcpy(d + 4, &code, 4);
        memcpy(d + 8, p->shape, 8 * (size_t)p->ndim);
        if (on_device) {
            lc_status st = lc_params_read(ps, i, 0, host);
            if (st != LC_OK) {
                free(host);
                return lc_fail(st, "checkpoint: could not copy '%s' from the device: %s", p->name,
                               lc_errmsg());
            }
        }
        store_values(d + head, on_device ? host : p->data, p->count, dtype);
    }
    free(host);
    uint8_t prec[LC_PRECISION_STATE_SIZE];
    lc_precision_state_save(&t->prec, prec);
    lc_ckpt_add(w, "precision", prec, sizeof prec);
    if (t->optim) {
        size_t n = lc_optim_state_size(t->optim);
        void *d = lc_ckpt_add_space(w, "optimizer", n);
        if (d) {
            lc_status st = lc_optim_state_save(t->optim, d, n);
            if (st != LC_OK)
                return st;
        }
    }
    if (t->sched) {
        size_t n = lc_sched_state_size(t->sched);
        void *d = lc_ckpt_add_space(w, "lr_scheduler", n);
        if (d) {
            lc_status st = lc_sched_state_save(t->sched, d, n);
            if (st != LC_OK)
                return st;
        }
    }
    uint64_t rng[2];
    lc_rng_save(&t->rng, rng);
    lc_ckpt_add(w, "rng", rng, sizeof rng);
    if (mid_epoch) {
        size_t n = lc_log_result_state_size(&t->train_res);
        void *d = lc_ckpt_add_space(w, "loops/train_results", n);
        if (d)
            lc_log_result_state_save(&t->train_res, d);
    }
    for (size_t i = 0; i < t->ncb; i++) {
        lc_callback *cb = t->cbs[i];
        if (!cb->state_size || !cb->state_save)
            continue;
        char name[512];
        snprintf(name, sizeof name, "callbacks/%s", cb->name ? cb->name : "");
        size_t n = cb->state_size(cb);
        void *d = lc_ckpt_add_space(w, name, n);
        if (d) {
            lc_status st = cb->state_save(cb, d, n);
            if (st != LC_OK)
                return lc_fail(st, "checkpoint: callback '%s' could not save its state: %s",
                               cb->name ? cb->name : "", lc_errmsg());
        }
    }
    if (t->ddp)
        lc_ddp_ckpt_add(t, w); /* ddp/ranks: every rank's RNG and loop results */
    if (t->module->hparams_json)
        lc_ckpt_add(w, "hparams", t->module->hparams_json, strlen(t->module->hparams_json));
    /* the header and CRCs are filled on the writer thread */
    return w->oom ? lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory") : LC_OK;
}

lc_status lc_ckpt_wait(lc_trainer *t)
{
    lc_ckpt_job *job = t->ckpt_job;
    t->ckpt_job = NULL;
    return lc_ckpt_job_finish(job, t, &t->ckpt_spare);
}

int lc_ckpt_path_busy(const lc_trainer *t, const char *path)
{
    for (size_t i = 0; i < t->npending; i++)
        if (strcmp(t->pending[i], path) == 0)
            return 1;
    return lc_ckpt_job_has(t->ckpt_job, path);
}

lc_status lc_ckpt_flush_pending(lc_trainer *t)
{
    int write = 1; /* ddp: rank 0's files, written by rank 0 */
    lc_status dst = t->ddp ? lc_ddp_ckpt_boundary(t, &write) : LC_OK;
    if (dst != LC_OK || !write)
        return dst;
    if (t->npending == 0)
        return LC_OK;
    /* one write at a time: bounded memory, files complete in order */
    lc_status st = lc_ckpt_wait(t);
    if (st != LC_OK)
        return st;
    /* a boundary inside an epoch: the running batch is finished */
    int mid_epoch = t->stage == LC_STAGE_FIT && t->ckpt_mid_epoch;
    /* reuse the last buffer: its pages are already mapped */
    lc_ckpt_writer w = t->ckpt_spare;
    memset(&t->ckpt_spare, 0, sizeof t->ckpt_spare);
    lc_ckpt_writer_reset(&w);
    st = ckpt_build(t, &w, mid_epoch);
    for (size_t i = 0; st == LC_OK && i < t->npending; i++)
        lc_make_parent_dirs(t->pending[i]); /* a failure shows as the write's error */
    if (st != LC_OK) {
        lc_ckpt_writer_free(&w);
        return st;
    }
    /* the job takes the paths */
    char **paths = t->pending;
    size_t n = t->npending;
    t->pending = NULL;
    t->npending = t->cappending = 0;
    st = lc_ckpt_job_start(&t->ckpt_job, &w, paths, n, t->run ? t->hub : NULL, lc_hist_take(t));
    /* outside a loop (Trainer.save_checkpoint after fit) the file is
       complete when the call returns */
    if (st == LC_OK && t->stage == LC_STAGE_NONE)
        st = lc_ckpt_wait(t);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

static lc_status read_meta(const lc_ckpt_reader *r, const char *path, cJSON **out)
{
    const lc_ckpt_section *s = lc_ckpt_find(r, "meta");
    cJSON *m = s ? cJSON_ParseWithLength((const char *)s->data, s->len) : NULL;
    cJSON *fmt = m ? cJSON_GetObjectItemCaseSensitive(m, "format") : NULL;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, CKPT_FORMAT) != 0) {
        cJSON_Delete(m);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' has no valid metadata", path);
    }
    *out = m;
    return LC_OK;
}

static double jnum(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

lc_status lc_ckpt_peek_run(const char *path, char **experiment, char **name, int *threads,
                           int64_t *batches_that_stepped)
{
    lc_ckpt_reader r;
    lc_status st = lc_ckpt_read(path, &r);
    if (st != LC_OK)
        return st;
    cJSON *m;
    st = read_meta(&r, path, &m);
    lc_ckpt_reader_free(&r);
    if (st != LC_OK)
        return st;
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(m, "run");
    if (experiment)
        *experiment = dup_or_null(jstr(run, "experiment"));
    if (name)
        *name = dup_or_null(jstr(run, "name"));
    if (threads)
        *threads = (int)jnum(m, "threads", 0);
    if (batches_that_stepped)
        *batches_that_stepped =
            (int64_t)jnum(cJSON_GetObjectItemCaseSensitive(m, "loops"), "batches_that_stepped", 0);
    cJSON_Delete(m);
    return LC_OK;
}

lc_status lc_checkpoint_inspect(const char *path, int64_t *epoch, int64_t *global_step,
                                char **meta_json_out)
{
    if (!path)
        return lc_fail(LC_ERR_INVALID, "lc_checkpoint_inspect: path is NULL");
    lc_ckpt_reader r;
    lc_status st = lc_ckpt_read(path, &r);
    if (st != LC_OK)
        return st;
    cJSON *m;
    st = read_meta(&r, path, &m);
    lc_ckpt_reader_free(&r);
    if (st != LC_OK)
        return st;
    if (epoch)
        *epoch = (int64_t)jnum(m, "epoch", 0);
    if (global_step)
        *global_step = (int64_t)jnum(m, "global_step", 0);
    if (meta_json_out)
        *meta_json_out = cJSON_Print(m);
    cJSON_Delete(m);
    return LC_OK;
}

/* state_dict/<name> -> the registry (strict: every tensor on both sides),
 * converted from the stored dtype to float32. */
static lc_status restore_params(lc_params *ps, const lc_ckpt_reader *r, const char *path)
{
    size_t in_file = 0;
    for (uint32_t i = 0; i < r->nsections; i++)
        if (r->sections[i].name_len > 11 && memcmp(r->sections[i].name, "state_dict/", 11) == 0)
            in_file++;
    if (in_file != ps->len)
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' holds %zu tensors but the model has %zu; "
                       "it was saved from another model", path, in_file, ps->len);
    for (size_t i = 0; i < ps->len; i++) {
        lc_param *p = &ps->items[i];
        char name[LC_PARAM_NAME_MAX + 16];
        snprintf(name, sizeof name, "state_dict/%s", p->name);
        const lc_ckpt_section *s = lc_ckpt_find(r, name);
        if (!s)
            return lc_fail(LC_ERR_INVALID, "checkpoint '%s' has no tensor '%s'; it was saved from "
                           "another model", path, p->name);
        uint32_t nd, code = LC_DTYPE_F32;
        size_t pre = r->version >= 2 ? 8 : 4; /* version 1 had no dtype */
        if (s->len < pre)
            goto bad;
        memcpy(&nd, s->data, 4);
        if (pre == 8)
            memcpy(&code, s->data + 4, 4);
        if (lc_dtype_size((lc_dtype)code) == 0)
            return lc_fail(LC_ERR_INVALID, "checkpoint '%s': tensor '%s' has an unknown dtype %u",
                           path, p->name, code);
        if (nd != (uint32_t)p->ndim)
            goto shape;
        size_t head = pre + 8 * (size_t)nd;
        if (s->len != head + p->count * lc_dtype_size((lc_dtype)code))
            goto shape;
        int64_t shape[LC_PARAM_MAX_DIMS];
        memcpy(shape, s->data + pre, 8 * (size_t)nd);
        for (uint32_t d = 0; d < nd; d++)
            if (shape[d] != p->shape[d])
                goto shape;
        if (lc_params_backend(ps)->device == LC_DEVICE_HOST) {
            load_values(p->data, s->data + head, p->count, (lc_dtype)code);
        } else { /* convert on the host, then upload */
            float *host = malloc(p->count * sizeof *host);
            if (!host)
                return lc_fail(LC_ERR_NOMEM, "checkpoint '%s': out of memory", path);
            load_values(host, s->data + head, p->count, (lc_dtype)code);
            lc_status st = lc_params_write(ps, i, host);
            free(host);
            if (st != LC_OK)
                return lc_fail(st, "checkpoint '%s': could not copy '%s' to the device: %s", path,
                               p->name, lc_errmsg());
        }
        continue;
    shape:
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s': tensor '%s' has another shape than the "
                       "model's; it was saved from another model", path, p->name);
    bad:
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s': tensor '%s' is malformed", path, p->name);
    }
    return LC_OK;
}

/* Optimizer / scheduler state: a section must be there exactly when the
 * module configures the object. */
typedef lc_status (*state_loader)(void *obj, const void *buf, size_t len);

static lc_status load_optim(void *obj, const void *buf, size_t len)
{
    return lc_optim_state_load(obj, buf, len);
}

static lc_status load_sched(void *obj, const void *buf, size_t len)
{
    return lc_sched_state_load(obj, buf, len);
}

static lc_status restore_state(const lc_ckpt_reader *r, const char *path, const char *section,
                               const char *what, void *obj, state_loader load)
{
    const lc_ckpt_section *s = lc_ckpt_find(r, section);
    if (!s && !obj)
        return LC_OK;
    if (!s || !obj)
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' %s %s state but the module %s one", path,
                       s ? "has" : "has no", what, obj ? "configures" : "has no");
    lc_status st = load(obj, s->data, s->len);
    return st == LC_OK ? st : lc_fail(st, "checkpoint '%s': %s", path, lc_errmsg());
}

/* The precision plugin's state (none in a version 1 file: a fresh scaler),
 * and the parameters converted to the running precision. */
static lc_status restore_precision(lc_trainer *t, const lc_ckpt_reader *r, const cJSON *meta,
                                   const char *path)
{
    const char *saved = jstr(meta, "precision");
    if (!saved)
        saved = "32-true"; /* version 1: lightc ran 32-true only */
    const lc_ckpt_section *s = lc_ckpt_find(r, "precision");
    if (s) {
        int same = 0;
        lc_status st = lc_precision_state_load(&t->prec, s->data, s->len, &same);
        if (st != LC_OK)
            return lc_fail(st, "checkpoint '%s': %s", path, lc_errmsg());
    }
    if (strcmp(saved, lc_precision_name(t->prec.kind)) != 0)
        lc_trainer_warn("checkpoint '%s' was saved with precision %s; continuing with %s%s", path,
                        saved, lc_precision_name(t->prec.kind),
                        t->prec.has_scaler ? " and a fresh loss scaler" : "");
    return lc_precision_convert_params(&t->prec, t->module->params);
}

lc_status lc_ckpt_restore(lc_trainer *t, const char *path, int64_t *resume_step)
{
    lc_ckpt_reader r;
    lc_status st = lc_ckpt_read(path, &r);
    if (st != LC_OK)
        return st;
    cJSON *m = NULL;
    st = read_meta(&r, path, &m);
    if (st != LC_OK) {
        lc_ckpt_reader_free(&r);
        return st;
    }
    const cJSON *loops = cJSON_GetObjectItemCaseSensitive(m, "loops");
    int threads = (int)jnum(m, "threads", 0);
    if (threads > 0 && threads != lc_blas_get_threads())
        lc_blas_set_threads(threads);

    st = restore_params(t->module->params, &r, path);
    if (st == LC_OK)
        st = restore_precision(t, &r, m, path);
    if (st == LC_OK)
        st = restore_state(&r, path, "optimizer", "optimizer", t->optim, load_optim);
    if (st == LC_OK)
        st = restore_state(&r, path, "lr_scheduler", "LR scheduler", t->sched, load_sched);
    const lc_ckpt_section *s;
    if (st == LC_OK) {
        s = lc_ckpt_find(&r, "rng");
        if (!s || s->len != 16) {
            st = lc_fail(LC_ERR_INVALID, "checkpoint '%s' has no RNG state", path);
        } else {
            uint64_t v[2];
            memcpy(v, s->data, 16);
            lc_rng_restore(&t->rng, v);
        }
    }
    if (st == LC_OK) {
        s = lc_ckpt_find(&r, "loops/train_results");
        if (s)
            st = lc_log_result_state_load(&t->train_res, s->data, s->len);
        else
            lc_log_result_clear(&t->train_res);
    }
    if (st == LC_OK && t->ddp)
        st = lc_ddp_ckpt_restore(t, &r, path); /* this rank's own RNG and loop results */
    for (size_t i = 0; st == LC_OK && i < t->ncb; i++) {
        lc_callback *cb = t->cbs[i];
        if (!cb->state_load)
            continue;
        char name[512];
        snprintf(name, sizeof name, "callbacks/%s", cb->name ? cb->name : "");
        s = lc_ckpt_find(&r, name);
        if (!s)
            continue; /* a callback new since the checkpoint keeps its fresh state */
        st = cb->state_load(cb, t, s->data, s->len);
        if (st != LC_OK)
            st = lc_fail(st, "checkpoint '%s': callback '%s': %s", path, cb->name, lc_errmsg());
    }
    if (st == LC_OK) {
        t->global_step = (int64_t)jnum(m, "global_step", 0);
        t->batches_that_stepped = (int64_t)jnum(loops, "batches_that_stepped", 0);
        t->current_epoch = (int64_t)jnum(loops, "resume_epoch", 0);
        t->resume_batch = (int64_t)jnum(loops, "resume_batch", 0);
        t->total_batch_idx = (int64_t)jnum(loops, "total_batch_idx", 0);
        t->mid_epoch_resume = t->resume_batch > 0;
        if (resume_step)
            *resume_step = t->batches_that_stepped - 1;
        /* absolute, as ModelCheckpoint compares it with its own paths */
        char abs[PATH_MAX];
        snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s", realpath(path, abs) ? abs : path);
    }
    cJSON_Delete(m);
    lc_ckpt_reader_free(&r);
    return st;
}
