/*
 * loggers/remote/wandb/wandb_files.c — run files (config.yaml,
 * wandb-summary.json, checkpoints, hparams.yaml, metrics.csv, texts):
 *
 *   mutation CreateRunFiles(entity, project, run, files: [name])
 *     -> createRunFiles { runID uploadHeaders files { name uploadUrl } }
 *   PUT <uploadUrl> with the bytes and uploadHeaders ("Key:Value" lines)
 *
 * The upload URL is usually a signed URL on another host (cloud storage),
 * so it goes through a client that carries no W&B credentials. The name
 * is reported in the next file_stream request's "uploaded" list. A PUT
 * overwrites, so a retried upload is idempotent. A file gone from disk
 * when its turn comes (a checkpoint pruned by save_top_k) is skipped and
 * counted (reported at the run's close).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/status.h"
#include "wandb_internal.h"

static const char CREATE_RUN_FILES[] =
    "mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, "
    "$files: [String!]!) { createRunFiles(input: {entityName: $entity, projectName: $project, "
    "runName: $run, files: $files}) { runID uploadHeaders files { name uploadUrl } } }";

static lc_status remember_uploaded(wandb_run *st, const char *name)
{
    char **v = realloc(st->uploaded, (st->nuploaded + 1) * sizeof *v);
    if (!v)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    st->uploaded = v;
    if (!(v[st->nuploaded] = strdup(name)))
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    st->nuploaded++;
    return LC_OK;
}

lc_status wandb_file_upload(wandb_backend *b, wandb_run *st, const char *name, const char *path,
                            const char *body, size_t body_len)
{
    struct stat sb;
    if (path && (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        if (!st->files_skipped)
            fprintf(stderr, "lightc: wandb: run %s/%s/%s: file '%s' skipped: it is no longer on "
                            "disk (further skips are counted, not shown)\n",
                    st->entity, st->project, st->run_id, name);
        st->files_skipped++;
        return LC_OK;
    }
    cJSON *vars = cJSON_CreateObject();
    cJSON *files = cJSON_AddArrayToObject(vars, "files");
    cJSON_AddItemToArray(files, cJSON_CreateString(name));
    cJSON_AddStringToObject(vars, "entity", st->entity);
    cJSON_AddStringToObject(vars, "project", st->project);
    cJSON_AddStringToObject(vars, "run", st->run_id);
    char what[900];
    snprintf(what, sizeof what, "uploading '%s' of run %s/%s/%s", name, st->entity, st->project,
             st->run_id);
    cJSON *data;
    lc_status s = wandb_gql(b, what, "CreateRunFiles", CREATE_RUN_FILES, vars, &data);
    if (s != LC_OK)
        return s;
    cJSON *crf = cJSON_GetObjectItemCaseSensitive(data, "createRunFiles");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(crf, "files");
    const char *url = NULL;
    cJSON *f;
    cJSON_ArrayForEach(f, list) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        cJSON *u = cJSON_GetObjectItemCaseSensitive(f, "uploadUrl");
        if (cJSON_IsString(n) && cJSON_IsString(u) && !strcmp(n->valuestring, name))
            url = u->valuestring;
    }
    if (!url) {
        cJSON_Delete(data);
        return lc_fail(LC_ERR_IO, "wandb: %s: %s gave no upload URL; will retry", what,
                       b->cfg.base_shown);
    }
    /* "Key:Value" -> "Key: Value" header lines */
    cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(crf, "uploadHeaders");
    int nh = cJSON_IsArray(hdrs) ? cJSON_GetArraySize(hdrs) : 0;
    char **lines = calloc((size_t)nh + 1, sizeof *lines);
    int k = 0;
    cJSON *h;
    cJSON_ArrayForEach(h, hdrs) {
        if (!lines || !cJSON_IsString(h) || !strchr(h->valuestring, ':'))
            continue;
        const char *colon = strchr(h->valuestring, ':');
        size_t need = strlen(h->valuestring) + 2;
        if ((lines[k] = malloc(need)))
            snprintf(lines[k++], need, "%.*s: %s", (int)(colon - h->valuestring), h->valuestring,
                     colon + 1);
    }
    lc_http_client *c;
    s = lines ? wandb_http_upload(b, &c) : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        lc_http_request q = {.method = LC_HTTP_PUT, .url = url,
                             .headers = (const char *const *)lines,
                             .content_type = "application/octet-stream",
                             .retry = LC_HTTP_RETRY_ALL};
        if (path)
            q.body_file = path;
        else {
            q.body = body ? body : "";
            q.body_len = body ? body_len : 0;
        }
        lc_http_response r = {0};
        s = lc_http_send(c, &q, &r);
        if (s == LC_ERR_NOT_FOUND && r.status == 0) { /* the file went away meanwhile */
            st->files_skipped++;
            s = LC_OK;
        } else if (s != LC_OK) {
            s = wandb_fail_response(b, what, s == LC_ERR_NOT_FOUND ? LC_ERR_IO : s, &r);
        } else {
            s = remember_uploaded(st, name);
        }
        lc_http_response_free(&r);
    }
    for (int i = 0; lines && i < k; i++)
        free(lines[i]);
    free(lines);
    cJSON_Delete(data);
    return s;
}
