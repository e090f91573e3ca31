/*
 * loggers/remote/mlflow/mlflow_ship.c — outbox items to MLflow requests,
 * in order, reporting the delivered prefix.
 *
 * Consecutive params, tags and metrics go into one runs/log-batch, up to
 * the server's limits (1000 metrics, 100 params, 100 tags, 1000 items,
 * well under 1 MB) and never holding a param or tag key twice; texts and
 * artifacts are uploads (mlflow_artifacts.c); a continued run goes back
 * to RUNNING before its first new item (mlflow_open.c); the end of the run is
 * runs/update with its status (crashed -> FAILED) and end time. A request
 * that fails leaves *done at the items before it. Every body is a pure
 * function of its items, so the shipper's retry rebuilds it byte for byte
 * (metric points are then no-ops on the server's key, params carry the same
 * value, tags overwrite with the same value).
 *
 * Param values longer than MLflow keeps (6000 characters) are cut, as the
 * server and Lightning do; the first cut is reported once per backend. A
 * param whose value changed is refused by MLflow for good: LC_ERR_INVALID
 * with a message naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "mlflow_internal.h"

/* The text after marker in msg up to the next quote, into out. */
static bool quoted_after(const char *msg, const char *marker, char *out, size_t cap)
{
    const char *p = strstr(msg, marker);
    if (!p)
        return false;
    p += strlen(marker);
    size_t n = strcspn(p, "'");
    if (!p[n])
        return false;
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return true;
}

static lc_status param_changed(mlflow_backend *b, mlflow_run *st, const lc_outbox_item *items,
                               size_t n, const char *server)
{
    char key[256] = "", old_v[128] = "", new_v[128] = "";
    if (!quoted_after(server, "'key': '", key, sizeof key) &&
        !quoted_after(server, "key='", key, sizeof key)) {
        for (size_t i = 0; i < n; i++)
            if (items[i].kind == LC_OB_PARAM) {
                snprintf(key, sizeof key, "%s", items[i].key ? items[i].key : "");
                break;
            }
    }
    quoted_after(server, "'old_value': '", old_v, sizeof old_v);
    quoted_after(server, "'new_value': '", new_v, sizeof new_v);
    if (old_v[0] || new_v[0])
        return lc_fail(LC_ERR_INVALID,
                       "mlflow: param '%s' of run %s on %s was already logged as '%s'; MLflow "
                       "params cannot change, so the new value '%s' was refused: log it under "
                       "another name or start a new run",
                       key, st->run_id, b->cfg.uri_shown, old_v, new_v);
    return lc_fail(LC_ERR_INVALID,
                   "mlflow: param '%s' of run %s on %s was already logged with another value; "
                   "MLflow params cannot change: log it under another name or start a new run "
                   "(server: %s)",
                   key, st->run_id, b->cfg.uri_shown, server);
}

static lc_status ship_batch(mlflow_backend *b, mlflow_run *st, const lc_outbox_item *items,
                            size_t n)
{
    size_t cut = 0;
    char *body = mlflow_json_log_batch(st->run_id, items, n, &cut);
    if (!body)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_http_response r = {0};
    char what[256];
    snprintf(what, sizeof what, "log-batch for run %s", st->run_id);
    lc_status s = mlflow_call(b, what, "runs/log-batch", NULL, body, LC_HTTP_RETRY_ALL, &r);
    free(body);
    if (s == LC_ERR_NOT_FOUND)
        s = lc_fail(LC_ERR_INVALID, "%s", lc_errmsg()); /* the run is gone for good */
    if (s != LC_OK && r.status == 400 && r.body && strstr(r.body, "Changing param values")) {
        char *msg = mlflow_json_get_dup(r.body, "message");
        s = param_changed(b, st, items, n, msg ? msg : r.body);
        free(msg);
    }
    lc_http_response_free(&r);
    if (s == LC_OK && cut && !b->warned_param_truncated) {
        b->warned_param_truncated = true;
        for (size_t i = 0; i < n; i++)
            if (items[i].kind == LC_OB_PARAM && items[i].text &&
                items[i].text[mlflow_utf8_prefix(items[i].text, MLFLOW_MAX_PARAM_VALUE)]) {
                fprintf(stderr,
                        "lightc: mlflow: param '%s' is longer than the %d characters MLflow "
                        "keeps: cut (the full value is in the run index; further cuts are not "
                        "reported)\n",
                        items[i].key ? items[i].key : "", MLFLOW_MAX_PARAM_VALUE);
                break;
            }
    }
    return s;
}

/* runs/update with status (and end_ms >= 0 as end_time); what names the
 * step in messages ("resuming", "ending"). A deleted run (404) is for
 * good: LC_ERR_INVALID. */
static lc_status update_run(mlflow_backend *b, mlflow_run *st, const char *status, int64_t end_ms,
                            const char *what_verb)
{
    char *body = mlflow_json_update_run(st->run_id, status, end_ms);
    if (!body)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_http_response r = {0};
    char what[256];
    snprintf(what, sizeof what, "%s run %s", what_verb, st->run_id);
    lc_status s = mlflow_call(b, what, "runs/update", NULL, body, LC_HTTP_RETRY_ALL, &r);
    free(body);
    lc_http_response_free(&r);
    if (s == LC_ERR_NOT_FOUND)
        s = lc_fail(LC_ERR_INVALID, "%s", lc_errmsg());
    return s;
}

static lc_status set_running(mlflow_backend *b, mlflow_run *st)
{
    lc_status s = update_run(b, st, "RUNNING", -1, "resuming");
    if (s == LC_OK)
        st->set_running = false;
    return s;
}

static lc_status ship_end(mlflow_backend *b, mlflow_run *st, const lc_outbox_item *it)
{
    return update_run(b, st, mlflow_status_name(it->status), mlflow_ms(it->wall_time), "ending");
}

lc_status mlflow_ship_items(mlflow_backend *b, lc_remote_run *run, const lc_outbox_item *items,
                            size_t n, size_t *done)
{
    *done = 0;
    mlflow_run *st = run ? run->state : NULL;
    if (!st)
        return lc_fail(LC_ERR_STATE, "mlflow: ship before open_run");
    size_t i = 0;
    lc_status s = LC_OK;
    while (i < n && s == LC_OK) {
        const lc_outbox_item *it = &items[i];
        size_t take = 1;
        if (st->set_running) {
            if (it->kind == LC_OB_END)
                st->set_running = false; /* the end sets the status itself */
            else if ((s = set_running(b, st)) != LC_OK)
                break;
        }
        switch (it->kind) {
        case LC_OB_PARAM:
        case LC_OB_TAG:
        case LC_OB_METRIC:
            take = mlflow_batch_take(it, n - i);
            s = ship_batch(b, st, it, take);
            break;
        case LC_OB_TEXT:
        case LC_OB_ARTIFACT:
            s = mlflow_artifact_ship(b, run, it);
            break;
        case LC_OB_END:
            s = ship_end(b, st, it);
            break;
        default:
            s = lc_fail(LC_ERR_INVALID, "mlflow: outbox item %lld has unknown kind %d",
                        (long long)it->seq, (int)it->kind);
            break;
        }
        if (s == LC_OK)
            i += take;
    }
    *done = i;
    return s;
}
