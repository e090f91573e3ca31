/*
 * loggers/remote/mlflow/mlflow_request.c — one call to the MLflow REST API
 * through the HTTP layer (http.h), and what its failure says.
 *
 * The HTTP layer already retries 408/429/5xx and connection failures and
 * scrubs secrets from its messages; here the outcome becomes the status
 * remote.h asks for and a message naming the backend, the server and what
 * to do:
 *   401/403          LC_ERR_AUTH   "mlflow: 401 Unauthorized from <uri> — set
 *                                  MLFLOW_TRACKING_TOKEN or ..._USERNAME/PASSWORD"
 *   404              LC_ERR_NOT_FOUND (callers decide: a missing experiment is
 *                                  created, a missing run is an error)
 *   other 4xx        LC_ERR_INVALID with the server's message
 *   network, 5xx, timeouts after the retries   LC_ERR_IO
 *   cancelled        LC_ERR_STATE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "remote/http_error.h"
#include "remote/http_url.h"
#include "mlflow_internal.h"

lc_status mlflow_http(mlflow_backend *b, lc_http_client **out)
{
    if (!b->http) {
        lc_http_config h = mlflow_config_http(&b->cfg, b->remote ? b->remote->cancel : NULL);
        lc_status st = lc_http_client_new(&h, &b->http);
        if (st != LC_OK)
            return lc_fail(st, "mlflow: %s", lc_errmsg());
        /* Basic wins over the token, as in the MLflow client */
        if (b->cfg.username && b->cfg.password)
            st = lc_http_client_set_basic(b->http, b->cfg.username, b->cfg.password);
        else if (b->cfg.token)
            st = lc_http_client_set_bearer(b->http, b->cfg.token);
        if (st == LC_OK && b->cfg.token)
            st = lc_http_client_add_secret(b->http, b->cfg.token);
        if (st == LC_OK && b->cfg.password)
            st = lc_http_client_add_secret(b->http, b->cfg.password);
        if (st != LC_OK) {
            lc_http_client_free(b->http);
            b->http = NULL;
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        }
    }
    *out = b->http;
    return LC_OK;
}

bool mlflow_error_code_is(const lc_http_response *resp, const char *code)
{
    char got[64];
    return resp->body && mlflow_json_get(resp->body, "error_code", got, sizeof got) &&
           !strcmp(got, code);
}

lc_status mlflow_fail_response(mlflow_backend *b, const char *what, lc_status st,
                               const lc_http_response *resp)
{
    const char *uri = b->cfg.uri_shown;
    const char *err = resp && resp->error[0] ? resp->error : lc_errmsg();
    /* the layer's text is scrubbed; copy it before lc_fail replaces lc_errmsg() */
    char detail[LC_HTTP_ERROR_LEN];
    snprintf(detail, sizeof detail, "%s", err);
    switch (st) {
    case LC_OK:
        return LC_OK;
    case LC_ERR_AUTH: {
        long code = resp ? resp->status : 401;
        bool sent = b->http && lc_http_client_has_auth(b->http);
        return lc_fail(LC_ERR_AUTH, "mlflow: %ld %s from %s — %s (%s: %s)", code,
                       lc_http_reason(code), uri,
                       sent ? "the credentials were refused: check MLFLOW_TRACKING_TOKEN or "
                              "MLFLOW_TRACKING_USERNAME/PASSWORD"
                            : "set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD",
                       what, detail);
    }
    case LC_ERR_NOT_FOUND:
    case LC_ERR_INVALID:
    case LC_ERR_EXISTS:
        if (resp && resp->status >= 400 && resp->status < 500) {
            char server[512];
            lc_http_server_message(resp->body, resp->body_len, server, sizeof server);
            char clean[512];
            lc_http_redact(b->http, server, clean, sizeof clean);
            return lc_fail(st == LC_ERR_EXISTS ? LC_ERR_INVALID : st,
                           "mlflow: %s refused by %s: HTTP %ld%s%s", what, uri, resp->status,
                           clean[0] ? ": " : "", clean);
        }
        return lc_fail(st, "mlflow: %s: %s", what, detail);
    case LC_ERR_TIMEOUT:
    case LC_ERR_IO:
        return lc_fail(LC_ERR_IO,
                       "mlflow: %s: the tracking server %s did not answer (%s); will retry", what,
                       uri, detail);
    default:
        return lc_fail(st, "mlflow: %s: %s", what, detail);
    }
}

lc_status mlflow_call(mlflow_backend *b, const char *what, const char *path,
                      const char *const *query, const char *body, lc_http_retry_mode retry,
                      lc_http_response *resp)
{
    lc_http_client *c;
    lc_status st = mlflow_http(b, &c);
    if (st != LC_OK)
        return st;
    char full[256];
    snprintf(full, sizeof full, "api/2.0/mlflow/%s", path);
    char *url = lc_http_url(b->cfg.uri, full, query);
    if (!url)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_http_request q = {
        .method = body ? LC_HTTP_POST : LC_HTTP_GET,
        .url = url,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .retry = retry,
    };
    lc_http_response_free(resp);
    st = lc_http_send(c, &q, resp);
    free(url);
    if (st == LC_OK)
        return LC_OK;
    /* a 404 is for the caller to judge (a missing experiment is created) */
    if (st == LC_ERR_NOT_FOUND && resp->status == 404)
        return mlflow_fail_response(b, what, st, resp);
    if (st == LC_ERR_NOT_FOUND) /* 410 */
        st = LC_ERR_INVALID;
    return mlflow_fail_response(b, what, st, resp);
}
