/*
 * loggers/remote/wandb/wandb_open.c — the W&B run of a lightc run.
 *
 *  1. Names: a known remote run (run->remote_id "entity/project/run", kept
 *     in the index by the shipper) is continued. Else the entity is
 *     WANDB_ENTITY or the Viewer query's default; the project WANDB_PROJECT
 *     or the lightc run's experiment; the run id WANDB_RUN_ID or 8 base-36
 *     characters derived from the lightc run's uuid, so a lost answer, a
 *     crash or `lightc sync` always names the same W&B run.
 *  2. RunResumeStatus (as the SDK): does the run exist, how many history
 *     lines it has, its summary and config. WANDB_RESUME=must needs it to
 *     exist, never needs it not to (checked only on the first open).
 *  3. The history line offset: the one kept in the index with the cursor
 *     (remote_state "lines=N"; stored at the first open too) when there is
 *     one — it names exactly the lines of the delivered items, so lines
 *     the server got but the cursor did not are sent again at the same
 *     offsets and replaced; else, for a run named by WANDB_RUN_ID, the
 *     server's historyLineCount (an existing run goes on after its lines),
 *     and 0 for a run id derived from the lightc run (its lines, from
 *     anywhere, are this run's: replaced).
 *  4. UpsertBucket creates or updates the run (an upsert by name: repeating
 *     it is harmless) with display name, group, job type, notes, tags,
 *     host, program, commit and the whole config as a JSON string, each
 *     top-level key {"value": v} and nested params nested, as the SDK does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "wandb_internal.h"

static const char RESUME_STATUS[] =
    "query RunResumeStatus($project: String, $entity: String, $name: String!) { "
    "model(name: $project, entityName: $entity) { id name entity { id name } "
    "bucket(name: $name, missingOk: true) { id name summaryMetrics displayName "
    "historyLineCount config } } }";

static const char UPSERT_BUCKET[] =
    "mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, "
    "$groupName: String, $description: String, $displayName: String, $notes: String, "
    "$commit: String, $config: JSONString, $host: String, $debug: Boolean, $program: String, "
    "$repo: String, $jobType: String, $state: String, $sweep: String, $tags: [String!], "
    "$summaryMetrics: JSONString) { upsertBucket(input: {id: $id, name: $name, groupName: "
    "$groupName, modelName: $project, entityName: $entity, description: $description, "
    "displayName: $displayName, notes: $notes, config: $config, commit: $commit, host: $host, "
    "debug: $debug, jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state, "
    "sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics}) { bucket { id name "
    "displayName description config sweepName project { id name entity { id name } } "
    "historyLineCount } inserted } }";

static const char *tag_of(const char *const *tags, const char *key)
{
    for (size_t i = 0; tags && tags[i]; i += 2)
        if (!strcmp(tags[i], key))
            return tags[i + 1];
    return NULL;
}

/* A project name from an experiment: W&B refuses /\#?%: in it. */
static void project_from(const char *exp, char *out, size_t cap)
{
    snprintf(out, cap, "%s", exp && *exp ? exp : "uncategorized");
    for (char *p = out; *p; p++)
        if (strchr("/\\#?%:,;'", *p))
            *p = '-';
}

void wandb_run_free(wandb_run *st)
{
    if (!st)
        return;
    cJSON_Delete(st->config);
    wandb_summary_free(&st->summary);
    for (size_t i = 0; i < st->nuploaded; i++)
        free(st->uploaded[i]);
    free(st->uploaded);
    free(st);
}

static lc_status resume_status(wandb_backend *b, wandb_run *st, bool *exists)
{
    cJSON *vars = cJSON_CreateObject();
    cJSON_AddStringToObject(vars, "project", st->project);
    cJSON_AddStringToObject(vars, "entity", st->entity);
    cJSON_AddStringToObject(vars, "name", st->run_id);
    char what[900];
    snprintf(what, sizeof what, "looking up run %s/%s/%s", st->entity, st->project, st->run_id);
    cJSON *data;
    lc_status s = wandb_gql(b, what, "RunResumeStatus", RESUME_STATUS, vars, &data);
    if (s != LC_OK)
        return s;
    cJSON *bucket = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(data, "model"), "bucket");
    *exists = cJSON_IsObject(bucket);
    if (*exists) {
        cJSON *h = cJSON_GetObjectItemCaseSensitive(bucket, "historyLineCount");
        st->server_lines = cJSON_IsNumber(h) ? (int64_t)h->valuedouble : 0;
        cJSON *sm = cJSON_GetObjectItemCaseSensitive(bucket, "summaryMetrics");
        if (cJSON_IsString(sm)) {
            cJSON *o = cJSON_Parse(sm->valuestring);
            if (cJSON_IsObject(o)) {
                cJSON_Delete(st->summary.base);
                st->summary.base = o;
            } else
                cJSON_Delete(o);
        }
        cJSON *cf = cJSON_GetObjectItemCaseSensitive(bucket, "config");
        if (cJSON_IsString(cf)) {
            cJSON *o = cJSON_Parse(cf->valuestring);
            if (cJSON_IsObject(o)) {
                /* the SDK's own keys stay the server's business */
                cJSON_DeleteItemFromObjectCaseSensitive(o, "_wandb");
                cJSON_Delete(st->config);
                st->config = o;
            } else
                cJSON_Delete(o);
        }
    }
    cJSON_Delete(data);
    return LC_OK;
}

lc_status wandb_upsert(wandb_backend *b, wandb_run *st, const lc_remote_run *run)
{
    const wandb_config *c = &b->cfg;
    cJSON *vars = cJSON_CreateObject();
    if (!vars)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(vars, "name", st->run_id);
    cJSON_AddStringToObject(vars, "project", st->project);
    cJSON_AddStringToObject(vars, "entity", st->entity);
    const char *display = c->name ? c->name : run->name;
    if (display && *display)
        cJSON_AddStringToObject(vars, "displayName", display);
    if (c->group)
        cJSON_AddStringToObject(vars, "groupName", c->group);
    if (c->job_type)
        cJSON_AddStringToObject(vars, "jobType", c->job_type);
    if (c->notes)
        cJSON_AddStringToObject(vars, "notes", c->notes);
    if (c->tags) {
        cJSON *t = cJSON_AddArrayToObject(vars, "tags");
        for (char **p = c->tags; *p; p++)
            cJSON_AddItemToArray(t, cJSON_CreateString(*p));
    }
    const char *host = tag_of(run->tags, "lightc.host");
    if (host)
        cJSON_AddStringToObject(vars, "host", host);
    const char *argv = tag_of(run->tags, "lightc.argv");
    if (argv && *argv) {
        char prog[512];
        snprintf(prog, sizeof prog, "%.*s", (int)strcspn(argv, " "), argv);
        cJSON_AddStringToObject(vars, "program", prog);
    }
    const char *commit = tag_of(run->tags, "lightc.git.commit");
    if (commit)
        cJSON_AddStringToObject(vars, "commit", commit);
    char *cfg = cJSON_PrintUnformatted(st->config);
    if (cfg)
        cJSON_AddStringToObject(vars, "config", cfg);
    cJSON_free(cfg);
    char what[900];
    snprintf(what, sizeof what, "creating or updating run %s/%s/%s (UpsertBucket)", st->entity,
             st->project, st->run_id);
    cJSON *data;
    lc_status s = wandb_gql(b, what, "UpsertBucket", UPSERT_BUCKET, vars, &data);
    if (s != LC_OK)
        return s;
    cJSON *bucket = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(data, "upsertBucket"), "bucket");
    cJSON *id = cJSON_GetObjectItemCaseSensitive(bucket, "id");
    if (cJSON_IsString(id))
        snprintf(st->storage_id, sizeof st->storage_id, "%s", id->valuestring);
    /* the server may name the entity (e.g. a null entity -> the default) */
    cJSON *ent = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(bucket, "project"),
                                         "entity"),
        "name");
    if (cJSON_IsString(ent) && *ent->valuestring)
        snprintf(st->entity, sizeof st->entity, "%s", ent->valuestring);
    cJSON_Delete(data);
    if (!bucket)
        return lc_fail(LC_ERR_IO, "wandb: %s: the answer of %s has no bucket; will retry", what,
                       b->cfg.base_shown);
    st->config_dirty = false;
    return LC_OK;
}

lc_status wandb_open_run(wandb_backend *b, lc_remote_run *run)
{
    if (!run || !run->run_uuid || !*run->run_uuid)
        return lc_fail(LC_ERR_INVALID, "wandb: open_run without a run uuid");
    wandb_run *st = calloc(1, sizeof *st);
    if (!st || !(st->config = cJSON_CreateObject())) {
        free(st);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    st->start_time = run->start_time;
    st->ended = run->ended;
    st->summary.spec = &b->cfg.summary;
    lc_status s = LC_OK;
    bool first_open = !run->remote_id[0];
    if (!first_open) {
        /* entity/project/run as stored at the first open */
        const char *a = run->remote_id, *s1 = strchr(a, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (!s1 || !s2) {
            wandb_run_free(st);
            return lc_fail(LC_ERR_INVALID, "wandb: the run index names the remote run '%s', not "
                           "entity/project/run", run->remote_id);
        }
        snprintf(st->entity, sizeof st->entity, "%.*s", (int)(s1 - a), a);
        snprintf(st->project, sizeof st->project, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
        snprintf(st->run_id, sizeof st->run_id, "%s", s2 + 1);
    } else {
        if (b->cfg.entity)
            snprintf(st->entity, sizeof st->entity, "%s", b->cfg.entity);
        else
            s = wandb_viewer_entity(b, st->entity, sizeof st->entity);
        if (b->cfg.project)
            snprintf(st->project, sizeof st->project, "%s", b->cfg.project);
        else
            project_from(run->experiment, st->project, sizeof st->project);
        if (b->cfg.run_id)
            snprintf(st->run_id, sizeof st->run_id, "%s", b->cfg.run_id);
        else
            wandb_run_id_from_uuid(run->run_uuid, st->run_id);
    }
    bool exists = false;
    if (s == LC_OK)
        s = resume_status(b, st, &exists);
    long long kept = -1;
    if (s == LC_OK && run->remote_state[0] && sscanf(run->remote_state, "lines=%lld", &kept) != 1)
        kept = -1;
    if (s == LC_OK && kept < 0 && first_open) {
        if (exists && b->cfg.resume == WANDB_RESUME_NEVER)
            s = lc_fail(LC_ERR_INVALID, "wandb: run %s/%s/%s already exists and WANDB_RESUME=never: "
                        "unset WANDB_RUN_ID or WANDB_RESUME", st->entity, st->project, st->run_id);
        else if (!exists && b->cfg.resume == WANDB_RESUME_MUST)
            s = lc_fail(LC_ERR_INVALID, "wandb: run %s/%s/%s does not exist and WANDB_RESUME=must: "
                        "check WANDB_RUN_ID, WANDB_PROJECT and WANDB_ENTITY", st->entity,
                        st->project, st->run_id);
    }
    /* No offset kept yet (the first open of this delivery): a run named by
       WANDB_RUN_ID goes on after the server's lines; a run id derived from
       the lightc run names this run's own W&B run, so whatever it holds
       came from this run (`wandb sync` of its offline directory, a delivery
       whose index state was lost): its lines are sent again from 0,
       replacing, never appended twice. */
    st->next_line = kept >= 0 ? kept : b->cfg.run_id ? st->server_lines : 0;
    if (s == LC_OK)
        s = wandb_upsert(b, st, run);
    if (s != LC_OK) {
        wandb_run_free(st);
        return s;
    }
    int len = snprintf(run->remote_id, sizeof run->remote_id, "%s/%s/%s", st->entity, st->project,
                       st->run_id);
    if (len < 0 || (size_t)len >= sizeof run->remote_id) {
        s = lc_fail(LC_ERR_INVALID, "wandb: entity/project/run '%s/%s/%s' is longer than the run "
                    "index keeps (127 bytes): use a shorter WANDB_PROJECT or WANDB_ENTITY",
                    st->entity, st->project, st->run_id);
        wandb_run_free(st);
        run->remote_id[0] = 0;
        return s;
    }
    run->state = st;
    len = snprintf(run->remote_url, sizeof run->remote_url, "%s/%s/%s/runs/%s",
                       b->cfg.app_url, st->entity, st->project, st->run_id);
    if (len < 0 || (size_t)len >= sizeof run->remote_url)
        run->remote_url[0] = 0;
    snprintf(run->remote_state, sizeof run->remote_state, "lines=%lld", (long long)st->next_line);
    return LC_OK;
}
