/*
 * loggers/remote/mlflow/mlflow_open.c — finding the remote run of a lightc
 * run, exactly once.
 *
 *  1. The experiment: MLFLOW_EXPERIMENT_ID as given; else MLFLOW_EXPERIMENT_NAME
 *     or the run's experiment by name, created when missing (a create that
 *     loses a race, RESOURCE_ALREADY_EXISTS, looks the name up again). A
 *     deleted experiment is an error (MLflow refuses runs in it).
 *  2. A known remote run (run->remote_id kept by the shipper, else
 *     MLFLOW_RUN_ID) is continued: runs/get for its experiment and
 *     artifact_uri. Its status goes back to RUNNING (runs/update, as the
 *     MLflow client does on resume) just before the first item shipped
 *     that is not the run's end, so an open that finds nothing more to
 *     send (`lightc sync` of an ended run) never turns a FINISHED run back.
 *  3. Else the run tagged lightc.run_uuid = run->run_uuid in the experiment
 *     (runs/search) is the one: a create whose answer was lost is found here.
 *  4. Else runs/create with start_time, run_name, the standard tags and the
 *     run's own. The create is never retried blindly: the HTTP layer only
 *     retries what never reached the server, and after any other failure the
 *     tag is looked up again before the next create.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/status.h"
#include "mlflow_internal.h"

#define OPEN_CREATE_ATTEMPTS 6

/* ---------------------------------------------------------------------- */
/* experiment */

/* get-by-name: LC_OK with the id, LC_ERR_NOT_FOUND when absent. */
static lc_status experiment_by_name(mlflow_backend *b, const char *name, char *id, size_t cap)
{
    const char *q[] = {"experiment_name", name, NULL};
    lc_http_response r = {0};
    char what[600];
    snprintf(what, sizeof what, "experiment '%s'", name);
    lc_status st = mlflow_call(b, what, "experiments/get-by-name", q, NULL, LC_HTTP_RETRY_ALL, &r);
    if (st == LC_OK) {
        char stage[32] = "";
        mlflow_json_get(r.body, "experiment.lifecycle_stage", stage, sizeof stage);
        if (!mlflow_json_get(r.body, "experiment.experiment_id", id, cap))
            st = lc_fail(LC_ERR_INVALID, "mlflow: %s: the answer of %s has no experiment id", what,
                         b->cfg.uri_shown);
        else if (!strcmp(stage, "deleted"))
            st = lc_fail(LC_ERR_INVALID,
                         "mlflow: experiment '%s' is deleted on %s: restore it (`mlflow "
                         "experiments restore --experiment-id %s`) or log to another experiment",
                         name, b->cfg.uri_shown, id);
    }
    lc_http_response_free(&r);
    return st;
}

static lc_status experiment_resolve(mlflow_backend *b, const lc_remote_run *run, char *id,
                                    size_t cap)
{
    if (b->cfg.experiment_id) {
        snprintf(id, cap, "%s", b->cfg.experiment_id);
        return LC_OK;
    }
    const char *name = b->cfg.experiment_name;
    if (!name)
        name = run->experiment && *run->experiment ? run->experiment : NULL;
    if (!name) {
        snprintf(id, cap, "0"); /* MLflow's Default experiment */
        return LC_OK;
    }
    lc_status st = experiment_by_name(b, name, id, cap);
    if (st != LC_ERR_NOT_FOUND)
        return st;
    char *body = mlflow_json_create_experiment(name);
    if (!body)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_http_response r = {0};
    char what[600];
    snprintf(what, sizeof what, "creating experiment '%s'", name);
    /* a duplicate create is refused by name, so retrying it is harmless */
    st = mlflow_call(b, what, "experiments/create", NULL, body, LC_HTTP_RETRY_ALL, &r);
    free(body);
    if (st == LC_OK && !mlflow_json_get(r.body, "experiment_id", id, cap))
        st = lc_fail(LC_ERR_INVALID, "mlflow: %s: the answer of %s has no experiment id", what,
                     b->cfg.uri_shown);
    else if (st != LC_OK && mlflow_error_code_is(&r, "RESOURCE_ALREADY_EXISTS"))
        st = experiment_by_name(b, name, id, cap); /* created meanwhile */
    lc_http_response_free(&r);
    return st;
}

/* ---------------------------------------------------------------------- */
/* the run's state from a run JSON ("run.info.*") */

static lc_status state_from_run(mlflow_backend *b, lc_remote_run *run, const char *json,
                                const char *prefix)
{
    mlflow_run *s = run->state;
    char path[64], id[128];
    snprintf(path, sizeof path, "%s.info.run_id", prefix);
    if (!mlflow_json_get(json, path, id, sizeof id))
        return lc_fail(LC_ERR_INVALID, "mlflow: the run answer of %s has no run id",
                       b->cfg.uri_shown);
    snprintf(s->run_id, sizeof s->run_id, "%s", id);
    snprintf(path, sizeof path, "%s.info.experiment_id", prefix);
    mlflow_json_get(json, path, s->experiment_id, sizeof s->experiment_id);
    snprintf(path, sizeof path, "%s.info.artifact_uri", prefix);
    free(s->artifact_uri);
    s->artifact_uri = mlflow_json_get_dup(json, path);
    snprintf(run->remote_id, sizeof run->remote_id, "%s", s->run_id);
    int len = snprintf(run->remote_url, sizeof run->remote_url, "%s/#/experiments/%s/runs/%s",
                       b->cfg.uri_shown, s->experiment_id, s->run_id);
    if (len < 0 || (size_t)len >= sizeof run->remote_url)
        run->remote_url[0] = 0; /* too long to keep whole: none rather than a wrong one */
    return mlflow_artifacts_resolve(b, s);
}

/* ---------------------------------------------------------------------- */
/* continue a known run */

static lc_status run_continue(mlflow_backend *b, lc_remote_run *run, const char *run_id,
                              const char *origin)
{
    const char *q[] = {"run_id", run_id, NULL};
    lc_http_response r = {0};
    char what[256];
    snprintf(what, sizeof what, "run %s", run_id);
    lc_status st = mlflow_call(b, what, "runs/get", q, NULL, LC_HTTP_RETRY_ALL, &r);
    if (st == LC_ERR_NOT_FOUND)
        st = lc_fail(LC_ERR_INVALID, "mlflow: run %s (%s) does not exist on %s", run_id, origin,
                     b->cfg.uri_shown);
    if (st == LC_OK) {
        char stage[32] = "";
        mlflow_json_get(r.body, "run.info.lifecycle_stage", stage, sizeof stage);
        if (!strcmp(stage, "deleted"))
            st = lc_fail(LC_ERR_INVALID,
                         "mlflow: run %s (%s) is deleted on %s: restore it (`mlflow runs "
                         "restore --run-id %s`)%s",
                         run_id, origin, b->cfg.uri_shown, run_id,
                         !strcmp(origin, "MLFLOW_RUN_ID") ? " or unset MLFLOW_RUN_ID" : "");
        else
            st = state_from_run(b, run, r.body, "run");
    }
    lc_http_response_free(&r);
    if (st == LC_OK)
        ((mlflow_run *)run->state)->set_running = true;
    return st;
}

/* ---------------------------------------------------------------------- */
/* find or create by lightc.run_uuid */

/* LC_OK and the state filled when found; LC_ERR_NOT_FOUND when not. */
static lc_status run_find(mlflow_backend *b, lc_remote_run *run, const char *exp_id)
{
    char *body = mlflow_json_search_uuid(exp_id, run->run_uuid);
    if (!body)
        return lc_fail(LC_ERR_INVALID, "mlflow: run uuid '%s' is not a lightc run id",
                       run->run_uuid);
    lc_http_response r = {0};
    char what[256];
    snprintf(what, sizeof what, "looking up run %s", run->run_uuid);
    lc_status st = mlflow_call(b, what, "runs/search", NULL, body, LC_HTTP_RETRY_ALL, &r);
    free(body);
    if (st == LC_OK) {
        char id[128];
        if (mlflow_json_get(r.body, "runs.0.info.run_id", id, sizeof id))
            st = state_from_run(b, run, r.body, "runs.0");
        else
            st = LC_ERR_NOT_FOUND;
    }
    lc_http_response_free(&r);
    return st;
}

static const char *tag_of(const char *const *tags, const char *key)
{
    for (size_t i = 0; tags && tags[i]; i += 2)
        if (!strcmp(tags[i], key))
            return tags[i + 1];
    return NULL;
}

/* The tags of runs/create: the run's own (minus the ones lightc sets),
 * then the standard ones the run did not set. NULL-terminated; the values
 * point into run->tags, buf (the user and source name) or constants. */
static const char **create_tags(const lc_remote_run *run, char *user, size_t ucap, char *src,
                                size_t scap)
{
    size_t n = 0;
    while (run->tags && run->tags[n])
        n += 2;
    const char **t = calloc(n + 16, sizeof *t);
    if (!t)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 2) {
        if (!strcmp(run->tags[i], "lightc.run_uuid") || !strcmp(run->tags[i], "mlflow.runName"))
            continue;
        t[k++] = run->tags[i];
        t[k++] = run->tags[i + 1] ? run->tags[i + 1] : "";
    }
    const char *u = getenv("USER");
    if (!u || !*u) {
        struct passwd *pw = getpwuid(getuid());
        u = pw && pw->pw_name ? pw->pw_name : "unknown";
    }
    snprintf(user, ucap, "%s", u);
    const char *argv = tag_of(run->tags, "lightc.argv");
    if (argv && *argv) {
        size_t len = strcspn(argv, " ");
        snprintf(src, scap, "%.*s", (int)len, argv);
    } else
        snprintf(src, scap, "lightc");
    const char *std[] = {
        "mlflow.user", user,
        "mlflow.source.name", src,
        "mlflow.source.type", "LOCAL",
        "mlflow.source.git.commit", tag_of(run->tags, "lightc.git.commit"),
        NULL,
    };
    for (size_t i = 0; std[i]; i += 2)
        if (std[i + 1] && *std[i + 1] && !tag_of(t, std[i])) {
            t[k++] = std[i];
            t[k++] = std[i + 1];
        }
    if (run->name && *run->name) {
        t[k++] = "mlflow.runName";
        t[k++] = run->name;
    }
    t[k++] = "lightc.run_uuid";
    t[k++] = run->run_uuid;
    t[k] = NULL;
    return t;
}

static lc_status run_create(mlflow_backend *b, lc_remote_run *run, const char *exp_id)
{
    char user[256], src[512];
    const char **tags = create_tags(run, user, sizeof user, src, sizeof src);
    if (!tags)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    char *body = mlflow_json_create_run(exp_id, run->name, mlflow_ms(run->start_time), tags);
    free(tags);
    if (!body)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_http_client *c;
    lc_status st = mlflow_http(b, &c);
    lc_http_retry pol = st == LC_OK ? lc_http_client_retry(c) : (lc_http_retry){0};
    int attempts = pol.max_attempts > 0 ? pol.max_attempts : OPEN_CREATE_ATTEMPTS;
    char what[256];
    snprintf(what, sizeof what, "creating the run of %s", run->run_uuid);
    for (int a = 0; st == LC_OK || st == LC_ERR_IO; a++) {
        if (a > 0) {
            /* the last create may have been applied: look before trying again */
            lc_status f = run_find(b, run, exp_id);
            if (f != LC_ERR_NOT_FOUND) {
                st = f;
                break;
            }
            if (a >= attempts)
                break;
            uint64_t wait = (uint64_t)1000 << (a < 6 ? a : 6);
            if (lc_cancel_sleep_ms(b->remote ? b->remote->cancel : NULL, wait)) {
                st = lc_fail(LC_ERR_STATE, "mlflow: %s: cancelled", what);
                break;
            }
        }
        lc_http_response r = {0};
        st = mlflow_call(b, what, "runs/create", NULL, body, LC_HTTP_RETRY_UNSENT, &r);
        if (st == LC_OK)
            st = state_from_run(b, run, r.body, "run");
        lc_http_response_free(&r);
        if (st == LC_OK)
            break;
    }
    free(body);
    return st;
}

lc_status mlflow_open_run(mlflow_backend *b, lc_remote_run *run)
{
    if (!run || !run->run_uuid || !*run->run_uuid)
        return lc_fail(LC_ERR_INVALID, "mlflow: open_run without a run uuid");
    mlflow_run *s = calloc(1, sizeof *s);
    if (!s)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    run->state = s;
    lc_status st;
    if (run->remote_id[0])
        st = run_continue(b, run, run->remote_id, "kept in the run index");
    else if (b->cfg.run_id)
        st = run_continue(b, run, b->cfg.run_id, "MLFLOW_RUN_ID");
    else {
        char exp[64];
        st = experiment_resolve(b, run, exp, sizeof exp);
        if (st == LC_OK) {
            st = run_find(b, run, exp);
            if (st == LC_ERR_NOT_FOUND)
                st = run_create(b, run, exp);
        }
    }
    if (st != LC_OK) {
        free(s->artifact_uri);
        free(s->artifact_base);
        free(s);
        run->state = NULL;
    }
    return st;
}
