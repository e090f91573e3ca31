/*
 * loggers/remote/mlflow/mlflow_artifacts.c — files (checkpoints,
 * hparams.yaml, metrics.csv) and texts as run artifacts, through the
 * tracking server's artifact proxy.
 *
 * A run whose artifact_uri is mlflow-artifacts:/<exp>/<run>/artifacts (the
 * default of `mlflow server`, which serves artifacts) gets each file by one
 * streamed PUT to
 *   <tracking uri>/api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<key>
 * (an http(s) artifact_uri that already points at the proxy is used as
 * is). Any other artifact_uri (s3:, file:, a local path: the server was
 * started with --no-serve-artifacts or an explicit root) cannot be written
 * over HTTP: such artifacts are skipped with one warning per run and
 * counted, rather than failing the delivery of the metrics. A file that is
 * gone from disk when its turn comes (a checkpoint pruned by save_top_k) is
 * skipped and counted the same way.
 *
 * Texts (LC_OB_TEXT) become text/<key>/step-<step>.txt: an MLflow tag would
 * keep only the last value and is capped at 8000 characters, a file keeps
 * every step (MLflow's own log_text writes an artifact too).
 * A PUT overwrites, so a retried upload is idempotent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/status.h"
#include "remote/http_url.h"
#include "mlflow_internal.h"

#define PROXY_PATH "/api/2.0/mlflow-artifacts/artifacts"

lc_status mlflow_artifacts_resolve(mlflow_backend *b, mlflow_run *st)
{
    free(st->artifact_base);
    st->artifact_base = NULL;
    const char *a = st->artifact_uri;
    if (!a)
        return LC_OK;
    if (!strncmp(a, "mlflow-artifacts:", 17)) {
        const char *rest = a + 17;
        char *origin = NULL; /* scheme://netloc[/path] the proxy lives at */
        if (!strncmp(rest, "//", 2)) {
            /* mlflow-artifacts://host:port/path: the tracking scheme and path
               prefix, the artifact URI's host */
            const char *net = rest + 2;
            size_t nl = strcspn(net, "/");
            const char *t = b->cfg.uri;
            const char *sep = strstr(t, "://");
            const char *tpath = strchr(sep + 3, '/');
            if (nl > 0) {
                size_t need = (size_t)(sep - t) + 3 + nl + (tpath ? strlen(tpath) : 0) + 1;
                origin = malloc(need);
                if (!origin)
                    return lc_fail(LC_ERR_NOMEM, "out of memory");
                snprintf(origin, need, "%.*s://%.*s%s", (int)(sep - t), t, (int)nl, net,
                         tpath ? tpath : "");
            }
            rest = net + nl;
        }
        while (*rest == '/')
            rest++;
        char *path = lc_http_escape_path(rest);
        char *prefix = malloc(strlen(PROXY_PATH) + 2 + (path ? strlen(path) : 0));
        if (!path || !prefix) {
            free(path);
            free(prefix);
            free(origin);
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        }
        sprintf(prefix, "%s/%s", PROXY_PATH, path);
        st->artifact_base = lc_http_url(origin ? origin : b->cfg.uri, prefix, NULL);
        free(path);
        free(prefix);
        free(origin);
        if (!st->artifact_base)
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        return LC_OK;
    }
    if ((!strncasecmp(a, "http://", 7) || !strncasecmp(a, "https://", 8)) && strstr(a, PROXY_PATH)) {
        st->artifact_base = strdup(a);
        if (!st->artifact_base)
            return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    return LC_OK;
}

/* A key the proxy takes: relative, no "." or ".." segment, no empty one. */
static bool key_ok(const char *k)
{
    if (!k || !*k || *k == '/')
        return false;
    for (const char *p = k; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n;
        if (*p == '/')
            p++;
        if (!*p && p[-1] == '/')
            return false;
    }
    return true;
}

static const char *content_type(const char *key)
{
    const char *dot = strrchr(key, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcasecmp(dot, ".txt") || !strcasecmp(dot, ".log"))
        return "text/plain; charset=utf-8";
    if (!strcasecmp(dot, ".csv"))
        return "text/csv";
    if (!strcasecmp(dot, ".json"))
        return "application/json";
    if (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml"))
        return "application/x-yaml";
    if (!strcasecmp(dot, ".png"))
        return "image/png";
    return "application/octet-stream";
}

static void skip_warn(mlflow_backend *b, mlflow_run *st, const lc_outbox_item *it, const char *why)
{
    if (it->kind == LC_OB_TEXT)
        st->texts_skipped++;
    else
        st->artifacts_skipped++;
    if (why == NULL) {
        if (!st->warned_no_proxy)
            fprintf(stderr,
                    "lightc: mlflow: run %s on %s stores artifacts at %s, which lightc cannot "
                    "write over HTTP: start the server with the artifact proxy (`mlflow server "
                    "--serve-artifacts`, the default) to get checkpoints and texts; skipping "
                    "them (counted)\n",
                    st->run_id, b->cfg.uri_shown, st->artifact_uri ? st->artifact_uri : "(none)");
        st->warned_no_proxy = true;
    } else if (!st->warned_missing) {
        st->warned_missing = true;
        fprintf(stderr, "lightc: mlflow: run %s: artifact '%s' skipped: %s (further skips are "
                        "counted, not shown)\n",
                st->run_id, it->key ? it->key : "", why);
    }
}

lc_status mlflow_artifact_ship(mlflow_backend *b, lc_remote_run *run, const lc_outbox_item *it)
{
    mlflow_run *st = run->state;
    if (!st->artifact_base) {
        skip_warn(b, st, it, NULL);
        return LC_OK;
    }
    char *key;
    if (it->kind == LC_OB_TEXT) {
        size_t need = strlen(it->key ? it->key : "") + 48;
        key = malloc(need);
        if (!key)
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        snprintf(key, need, "text/%s/step-%lld.txt", it->key ? it->key : "", (long long)it->step);
    } else {
        key = strdup(it->key ? it->key : "");
        if (!key)
            return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    if (!key_ok(key)) {
        skip_warn(b, st, it, "not a relative path inside the run");
        free(key);
        return LC_OK;
    }
    struct stat sb;
    if (it->kind == LC_OB_ARTIFACT && (!it->text || stat(it->text, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        skip_warn(b, st, it, "the file is no longer on disk");
        free(key);
        return LC_OK;
    }
    char *path = lc_http_escape_path(key);
    char *url = path ? lc_http_url(st->artifact_base, path, NULL) : NULL;
    free(path);
    lc_http_client *c;
    lc_status s = url ? mlflow_http(b, &c) : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        lc_http_request q = {
            .method = LC_HTTP_PUT,
            .url = url,
            .content_type = content_type(key),
            .retry = LC_HTTP_RETRY_ALL,
        };
        if (it->kind == LC_OB_TEXT) {
            q.body = it->text ? it->text : "";
            q.body_len = strlen(q.body);
        } else
            q.body_file = it->text;
        lc_http_response r = {0};
        s = lc_http_send(c, &q, &r);
        if (s != LC_OK) {
            char what[600];
            snprintf(what, sizeof what, "uploading artifact '%s' of run %s", key, st->run_id);
            if (s == LC_ERR_NOT_FOUND && r.status == 0) { /* the file went away meanwhile */
                skip_warn(b, st, it, "the file is no longer on disk");
                s = LC_OK;
            } else {
                if (s == LC_ERR_NOT_FOUND)
                    s = LC_ERR_INVALID;
                s = mlflow_fail_response(b, what, s, &r);
            }
        }
        lc_http_response_free(&r);
    }
    free(url);
    free(key);
    return s;
}
