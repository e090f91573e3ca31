/*
 * loggers/remote/wandb/wandb_stream.c — the file_stream endpoint:
 *   POST {base}/files/{entity}/{project}/{run}/file_stream
 *   {"files": {"wandb-history.jsonl": {"offset": N, "content": [line, ...]},
 *              "wandb-summary.json": {"offset": 0, "content": [summary]}},
 *    "uploaded": [name, ...], "complete": true, "exitcode": N}
 *
 * Offsets are absolute line numbers and the server replaces lines from
 * there, so a retried request (the HTTP layer's, or the shipper's after a
 * crash: the offset is kept in the index with the cursor) never duplicates
 * a line. The summary is the whole object, one line at offset 0.
 *
 * Cadence, as wandb-core: at most one request every stream_secs (the first
 * at once; a request filled to the size cap, and the finish, at once too);
 * each request at most 10 MiB; a 413 halves the cap and tries again (a
 * single line the server still refuses is an error that keeps it in the
 * outbox). complete/exitcode ride only on the last request. An idle run gets
 * a {} heartbeat after heartbeat_secs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/status.h"
#include "remote/http_url.h"
#include "wandb_internal.h"

static double mono_s(void)
{
    return (double)lc_mono_ms() / 1000.0;
}

static char *stream_url(wandb_backend *b, wandb_run *st)
{
    char *e = lc_http_escape(st->entity), *p = lc_http_escape(st->project),
         *r = lc_http_escape(st->run_id);
    char *url = NULL;
    if (e && p && r) {
        size_t need = strlen(e) + strlen(p) + strlen(r) + 32;
        char *path = malloc(need);
        if (path) {
            snprintf(path, need, "files/%s/%s/%s/file_stream", e, p, r);
            url = lc_http_url(b->cfg.base_url, path, NULL);
            free(path);
        }
    }
    free(e);
    free(p);
    free(r);
    return url;
}

/* POST one body; the cadence wait first unless urgent. */
static lc_status post_body(wandb_backend *b, wandb_run *st, const char *body, bool urgent,
                           lc_http_response *r)
{
    /* the cadence; a run the hub has ended (a drain waits) goes at once */
    while (!urgent && st->last_post > 0 && !(st->ended && atomic_load(st->ended))) {
        double wait = st->last_post + b->cfg.stream_secs - mono_s();
        if (wait <= 0)
            break;
        if (lc_cancel_sleep_ms(b->remote ? b->remote->cancel : NULL,
                               wait > 0.05 ? 50 : (uint64_t)(wait * 1000) + 1))
            return lc_fail(LC_ERR_STATE, "wandb: file_stream: cancelled");
    }
    lc_http_client *c;
    lc_status s = wandb_http(b, &c);
    if (s != LC_OK)
        return s;
    char *url = stream_url(b, st);
    if (!url)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_http_request q = {.method = LC_HTTP_POST, .url = url, .body = body,
                         .body_len = strlen(body), .retry = LC_HTTP_RETRY_ALL};
    s = lc_http_send(c, &q, r);
    free(url);
    st->last_post = mono_s();
    return s;
}

static void add_uploaded(lc_jw *b, const wandb_run *st, bool *first)
{
    if (!st->nuploaded)
        return;
    lc_jw_lit(b, *first ? "\"uploaded\":[" : ",\"uploaded\":[");
    *first = false;
    for (size_t i = 0; i < st->nuploaded; i++) {
        if (i)
            lc_jw_lit(b, ",");
        lc_jw_str(b, st->uploaded[i]);
    }
    lc_jw_lit(b, "]");
}

static void clear_uploaded(wandb_run *st)
{
    for (size_t i = 0; i < st->nuploaded; i++)
        free(st->uploaded[i]);
    st->nuploaded = 0;
}

lc_status wandb_stream_post(wandb_backend *b, wandb_run *st, char *const *lines, size_t n,
                            bool urgent, int final_exitcode, size_t *sent)
{
    *sent = 0;
    size_t cap = WANDB_MAX_REQUEST_BYTES;
    char what[600];
    snprintf(what, sizeof what, "file_stream of run %s/%s/%s", st->entity, st->project,
             st->run_id);
    bool first_req = true;
    for (;;) {
        bool last = true, full = false;
        lc_jw body;
        lc_jw_init(&body, 4096);
        bool first = true;
        lc_jw_lit(&body, "{");
        size_t k = *sent;
        if (k < n) {
            lc_jw_lit(&body, "\"files\":{\"wandb-history.jsonl\":{\"offset\":");
            lc_jw_i64(&body, st->next_line);
            lc_jw_lit(&body, ",\"content\":[");
            for (; k < n; k++) {
                size_t before = body.len;
                if (k > *sent)
                    lc_jw_lit(&body, ",");
                lc_jw_str(&body, lines[k]);
                if (body.len + 4096 > cap && k > *sent) { /* keep room for the rest */
                    body.len = before;
                    last = false;
                    full = true;
                    break;
                }
            }
            lc_jw_lit(&body, "]}");
            first = false;
        }
        if (last && st->summary_dirty) {
            char *sum = wandb_summary_json(&st->summary);
            if (!sum) {
                lc_jw_discard(&body);
                return lc_fail(LC_ERR_NOMEM, "out of memory");
            }
            lc_jw_lit(&body, first ? "\"files\":{" : ",");
            lc_jw_lit(&body, "\"wandb-summary.json\":{\"offset\":0,\"content\":[");
            lc_jw_str(&body, sum);
            lc_jw_lit(&body, "]}");
            free(sum);
            first = false;
        }
        if (!first)
            lc_jw_lit(&body, "}"); /* files */
        add_uploaded(&body, st, &first);
        if (last && final_exitcode >= 0) {
            lc_jw_lit(&body, first ? "\"complete\":true,\"exitcode\":"
                                   : ",\"complete\":true,\"exitcode\":");
            lc_jw_i64(&body, final_exitcode);
            first = false;
        }
        lc_jw_lit(&body, "}");
        if (first) { /* nothing to say */
            lc_jw_discard(&body);
            return LC_OK;
        }
        char *text = lc_jw_finish(&body);
        if (!text)
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        lc_http_response r = {0};
        lc_status s = post_body(b, st, text, urgent || full || !first_req, &r);
        free(text);
        first_req = false;
        if (s == LC_ERR_INVALID && r.status == 413) {
            size_t lines_in = k - *sent;
            lc_http_response_free(&r);
            if (lines_in > 1 && cap > 65536) {
                cap /= 2; /* the server takes less than we thought: smaller requests */
                continue;
            }
            return lc_fail(LC_ERR_INVALID,
                           "wandb: %s: the server refused a request of one history line as too "
                           "large (HTTP 413); the line stays in the run index: log fewer keys per "
                           "step", what);
        }
        if (s != LC_OK) {
            s = wandb_fail_response(b, what, s, &r);
            lc_http_response_free(&r);
            return s;
        }
        lc_http_response_free(&r);
        st->next_line += (int64_t)(k - *sent);
        *sent = k;
        clear_uploaded(st);
        if (last) {
            st->summary_dirty = false;
            if (final_exitcode >= 0)
                st->finished = true;
            return LC_OK;
        }
    }
}

lc_status wandb_stream_heartbeat(wandb_backend *b, wandb_run *st)
{
    if (st->finished || (st->last_post > 0 && mono_s() - st->last_post < b->cfg.heartbeat_secs))
        return LC_OK;
    lc_http_response r = {0};
    lc_status s = post_body(b, st, "{}", true, &r);
    if (s != LC_OK) {
        char what[600];
        snprintf(what, sizeof what, "heartbeat of run %s/%s/%s", st->entity, st->project,
                 st->run_id);
        s = wandb_fail_response(b, what, s, &r);
    }
    lc_http_response_free(&r);
    return s;
}
