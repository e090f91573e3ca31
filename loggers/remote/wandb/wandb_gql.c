/*
 * loggers/remote/wandb/wandb_gql.c — requests to the W&B API: the two HTTP
 * clients (the API with Basic api:KEY; upload URLs without W&B
 * credentials, as the SDK limits them to the base URL), GraphQL calls, and
 * what a failure says.
 *
 * The HTTP layer retries 408/429/5xx and connection failures (with
 * Retry-After and RateLimit pacing) and scrubs secrets; here an outcome
 * becomes remote.h's status and a message naming the server and what to do:
 *   401/403      LC_ERR_AUTH  "wandb: 401 Unauthorized from <base> — the API
 *                key is invalid: set WANDB_API_KEY"
 *   other 4xx    LC_ERR_INVALID with the server's message
 *   200 with a GraphQL "errors" list   LC_ERR_INVALID with its message
 *   network, 5xx, timeouts after the retries   LC_ERR_IO (the shipper retries)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "remote/http_error.h"
#include "remote/http_url.h"
#include "wandb_internal.h"

static lc_http_config http_config(const wandb_backend *b)
{
    lc_http_config h = {0};
    h.request_timeout_ms = b->cfg.timeout_ms;
    h.user_agent = "lightc (wandb-core protocol)";
    h.cancel = b->remote ? b->remote->cancel : NULL;
    return h;
}

lc_status wandb_http(wandb_backend *b, lc_http_client **out)
{
    if (!b->http) {
        lc_http_config h = http_config(b);
        lc_status st = lc_http_client_new(&h, &b->http);
        if (st != LC_OK)
            return lc_fail(st, "wandb: %s", lc_errmsg());
        if (b->cfg.api_key)
            st = lc_http_client_set_basic(b->http, "api", b->cfg.api_key);
        if (st == LC_OK && b->cfg.api_key)
            st = lc_http_client_add_secret(b->http, b->cfg.api_key);
        if (st != LC_OK) {
            lc_http_client_free(b->http);
            b->http = NULL;
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        }
    }
    *out = b->http;
    return LC_OK;
}

lc_status wandb_http_upload(wandb_backend *b, lc_http_client **out)
{
    if (!b->upload) {
        lc_http_config h = http_config(b);
        lc_status st = lc_http_client_new(&h, &b->upload);
        if (st != LC_OK)
            return lc_fail(st, "wandb: %s", lc_errmsg());
        if (b->cfg.api_key && lc_http_client_add_secret(b->upload, b->cfg.api_key) != LC_OK) {
            lc_http_client_free(b->upload);
            b->upload = NULL;
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        }
    }
    *out = b->upload;
    return LC_OK;
}

lc_status wandb_fail_response(wandb_backend *b, const char *what, lc_status st,
                              const lc_http_response *resp)
{
    const char *base = b->cfg.base_shown;
    char detail[LC_HTTP_ERROR_LEN];
    snprintf(detail, sizeof detail, "%s", resp && resp->error[0] ? resp->error : lc_errmsg());
    switch (st) {
    case LC_OK:
        return LC_OK;
    case LC_ERR_AUTH: {
        long code = resp && resp->status ? resp->status : 401;
        return lc_fail(LC_ERR_AUTH,
                       "wandb: %ld %s from %s — the API key is invalid: set WANDB_API_KEY "
                       "(key from %s; %s: %s)",
                       code, lc_http_reason(code), base,
                       b->cfg.key_source ? b->cfg.key_source : "nowhere", what, detail);
    }
    case LC_ERR_NOT_FOUND:
    case LC_ERR_INVALID:
    case LC_ERR_EXISTS:
        if (resp && resp->status >= 400 && resp->status < 500) {
            char server[512], clean[512];
            lc_http_server_message(resp->body, resp->body_len, server, sizeof server);
            lc_http_redact(b->http, server, clean, sizeof clean);
            return lc_fail(LC_ERR_INVALID, "wandb: %s refused by %s: HTTP %ld%s%s", what, base,
                           resp->status, clean[0] ? ": " : "", clean);
        }
        return lc_fail(st == LC_ERR_EXISTS ? LC_ERR_INVALID : st, "wandb: %s: %s", what, detail);
    case LC_ERR_TIMEOUT:
    case LC_ERR_IO:
        return lc_fail(LC_ERR_IO, "wandb: %s: the server %s did not answer (%s); will retry", what,
                       base, detail);
    case LC_ERR_STATE:
        return lc_fail(LC_ERR_STATE, "wandb: %s: cancelled", what);
    default:
        return lc_fail(st, "wandb: %s: %s", what, detail);
    }
}

lc_status wandb_gql(wandb_backend *b, const char *what, const char *op, const char *query,
                    cJSON *variables, cJSON **data)
{
    *data = NULL;
    lc_http_client *c;
    lc_status st = wandb_http(b, &c);
    if (st != LC_OK) {
        cJSON_Delete(variables);
        return st;
    }
    cJSON *body = cJSON_CreateObject();
    if (!body) {
        cJSON_Delete(variables);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    cJSON_AddStringToObject(body, "operationName", op);
    cJSON_AddStringToObject(body, "query", query);
    cJSON_AddItemToObject(body, "variables", variables ? variables : cJSON_CreateObject());
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    char *url = lc_http_url(b->cfg.base_url, "graphql", NULL);
    if (!text || !url) {
        cJSON_free(text);
        free(url);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    lc_http_request q = {.method = LC_HTTP_POST, .url = url, .body = text,
                         .body_len = strlen(text), .retry = LC_HTTP_RETRY_ALL};
    lc_http_response r = {0};
    st = lc_http_send(c, &q, &r);
    cJSON_free(text);
    free(url);
    if (st != LC_OK) {
        st = wandb_fail_response(b, what, st, &r);
        lc_http_response_free(&r);
        return st;
    }
    cJSON *doc = r.body ? cJSON_Parse(r.body) : NULL;
    lc_http_response_free(&r);
    if (!doc)
        return lc_fail(LC_ERR_IO, "wandb: %s: %s answered with no JSON; will retry", what,
                       b->cfg.base_shown);
    cJSON *errs = cJSON_GetObjectItemCaseSensitive(doc, "errors");
    if (cJSON_IsArray(errs) && cJSON_GetArraySize(errs) > 0) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "message");
        char clean[512];
        lc_http_redact(b->http, cJSON_IsString(m) ? m->valuestring : "(no message)", clean,
                       sizeof clean);
        cJSON_Delete(doc);
        return lc_fail(LC_ERR_INVALID, "wandb: %s refused by %s: %s", what, b->cfg.base_shown,
                       clean);
    }
    *data = cJSON_DetachItemFromObjectCaseSensitive(doc, "data");
    cJSON_Delete(doc);
    if (!*data || !cJSON_IsObject(*data)) {
        cJSON_Delete(*data);
        *data = NULL;
        return lc_fail(LC_ERR_IO, "wandb: %s: the answer of %s has no data; will retry", what,
                       b->cfg.base_shown);
    }
    return LC_OK;
}

lc_status wandb_viewer_entity(wandb_backend *b, char *out, size_t cap)
{
    if (b->viewer_entity[0]) {
        snprintf(out, cap, "%s", b->viewer_entity);
        return LC_OK;
    }
    cJSON *data;
    lc_status st = wandb_gql(b, "asking for the default entity (Viewer)", "Viewer",
                             "query Viewer { viewer { id entity username } }", NULL, &data);
    if (st != LC_OK)
        return st;
    cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(data, "viewer"),
                                                "entity");
    if (!cJSON_IsString(e) || !*e->valuestring) {
        cJSON_Delete(data);
        return lc_fail(LC_ERR_INVALID,
                       "wandb: %s did not name a default entity for this API key: set "
                       "WANDB_ENTITY", b->cfg.base_shown);
    }
    snprintf(b->viewer_entity, sizeof b->viewer_entity, "%s", e->valuestring);
    snprintf(out, cap, "%s", e->valuestring);
    cJSON_Delete(data);
    return LC_OK;
}
