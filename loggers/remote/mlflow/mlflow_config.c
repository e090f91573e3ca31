/*
 * loggers/remote/mlflow/mlflow_config.c — the MLflow backend's settings,
 * read from the environment variables the MLflow Python client reads, so a
 * user's existing setup just works:
 *   MLFLOW_TRACKING_URI            http(s)://host:port[/prefix] (required;
 *                                  file:, sqlite:, ... are not servers)
 *   MLFLOW_TRACKING_USERNAME/_PASSWORD  HTTP Basic (wins over the token);
 *                                  each, when unset, from ~/.mlflow/credentials
 *                                  ([mlflow] mlflow_tracking_username = ...,
 *                                  mlflow_tracking_password = ...), as the
 *                                  client's read_mlflow_creds does
 *   MLFLOW_TRACKING_TOKEN          Bearer
 *   MLFLOW_TRACKING_INSECURE_TLS   skip TLS verification (true/1/yes)
 *   MLFLOW_TRACKING_SERVER_CERT_PATH    CA bundle (not with INSECURE_TLS)
 *   MLFLOW_TRACKING_CLIENT_CERT_PATH    client certificate (PEM, key inside)
 *   MLFLOW_HTTP_REQUEST_MAX_RETRIES     0..9 retries (default 7)
 *   MLFLOW_HTTP_REQUEST_TIMEOUT         seconds per attempt (default 120)
 *   MLFLOW_EXPERIMENT_ID / _NAME   the experiment (the ID wins), else the run's
 *   MLFLOW_RUN_ID                  continue this existing run
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/status.h"
#include "remote/http_url.h"
#include "mlflow_internal.h"

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return NULL;
    return strdup(v);
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
                 !strcasecmp(v, "on"));
}

static void zfree(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
        free(s);
    }
}

void mlflow_config_free(mlflow_config *cfg)
{
    free(cfg->uri);
    zfree(cfg->token);
    zfree(cfg->username);
    zfree(cfg->password);
    free(cfg->server_cert);
    free(cfg->client_cert);
    free(cfg->experiment_name);
    free(cfg->experiment_id);
    free(cfg->run_id);
    memset(cfg, 0, sizeof *cfg);
}

/* s without leading and trailing blanks, in place. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* The username and password of the [mlflow] section of
 * ~/.mlflow/credentials (an INI file as Python's configparser reads it:
 * "key = value" or "key: value", keys case-insensitive, # and ; comments),
 * into *user and *pass where those are still NULL. A missing or unreadable
 * file is no error: the client ignores it too. Lines are wiped after use. */
static void read_credentials_file(char **user, char **pass)
{
    const char *home = getenv("HOME");
    if (!home || !*home || (*user && *pass))
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/.mlflow/credentials", home);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[4096];
    bool in_mlflow = false;
    while (fgets(line, sizeof line, f)) {
        char *l = trim(line);
        if (*l == '[') {
            char *end = strchr(l, ']');
            in_mlflow = end && (size_t)(end - l - 1) == strlen("mlflow") && !strncmp(l + 1, "mlflow", 6);
        } else if (in_mlflow && *l && *l != '#' && *l != ';') {
            char *sep = strpbrk(l, "=:");
            if (sep) {
                *sep = 0;
                char *key = trim(l), *value = trim(sep + 1);
                char **dst = !strcasecmp(key, "mlflow_tracking_username") ? user
                             : !strcasecmp(key, "mlflow_tracking_password") ? pass
                                                                             : NULL;
                if (dst && !*dst && *value)
                    *dst = strdup(value);
            }
        }
        volatile char *p = line;
        for (size_t i = 0; i < sizeof line; i++)
            p[i] = 0;
    }
    fclose(f);
}

/* Whether uri starts with scheme "://" (case-insensitive). */
static bool has_scheme(const char *uri, const char *scheme)
{
    size_t n = strlen(scheme);
    return !strncasecmp(uri, scheme, n) && !strncmp(uri + n, "://", 3);
}

static lc_status check_uri(mlflow_config *cfg)
{
    const char *u = getenv("MLFLOW_TRACKING_URI");
    if (!u || !*u)
        return lc_fail(LC_ERR_INVALID,
                       "mlflow: MLFLOW_TRACKING_URI is not set: point it at your tracking server, "
                       "e.g. http://127.0.0.1:5000");
    char shown[512];
    lc_http_url_for_message(u, shown, sizeof shown);
    if (!has_scheme(u, "http") && !has_scheme(u, "https")) {
        if (!strncasecmp(u, "databricks", 10))
            return lc_fail(LC_ERR_UNSUPPORTED,
                           "mlflow: MLFLOW_TRACKING_URI=%s: Databricks tracking is not supported; "
                           "use an http(s) tracking server", shown);
        return lc_fail(LC_ERR_INVALID,
                       "mlflow: MLFLOW_TRACKING_URI=%s is not a tracking server: start `mlflow "
                       "server` and point MLFLOW_TRACKING_URI at it", shown);
    }
    const char *host = strstr(u, "://") + 3;
    if (!*host || *host == '/')
        return lc_fail(LC_ERR_INVALID, "mlflow: MLFLOW_TRACKING_URI=%s has no host", shown);
    cfg->uri = strdup(u);
    if (!cfg->uri)
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    size_t n = strlen(cfg->uri);
    while (n > 0 && cfg->uri[n - 1] == '/')
        cfg->uri[--n] = 0;
    /* a query or fragment has no place in a tracking URI */
    if (strpbrk(cfg->uri, "?#"))
        return lc_fail(LC_ERR_INVALID,
                       "mlflow: MLFLOW_TRACKING_URI=%s: remove the query or fragment", shown);
    lc_http_url_for_message(cfg->uri, cfg->uri_shown, sizeof cfg->uri_shown);
    return LC_OK;
}

static lc_status parse_int_env(const char *name, long lo, long hi, long *out, bool *set)
{
    const char *v = getenv(name);
    *set = false;
    if (!v || !*v)
        return LC_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end || x < lo || x > hi)
        return lc_fail(LC_ERR_INVALID, "mlflow: %s=%s: give a whole number from %ld to %ld", name,
                       v, lo, hi);
    *out = x;
    *set = true;
    return LC_OK;
}

lc_status mlflow_config_load(mlflow_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_retries = -1;
    lc_status st = check_uri(cfg);
    if (st != LC_OK)
        goto fail;
    cfg->token = env_dup("MLFLOW_TRACKING_TOKEN");
    cfg->username = env_dup("MLFLOW_TRACKING_USERNAME");
    cfg->password = env_dup("MLFLOW_TRACKING_PASSWORD");
    read_credentials_file(&cfg->username, &cfg->password);
    cfg->insecure = env_true("MLFLOW_TRACKING_INSECURE_TLS");
    cfg->server_cert = env_dup("MLFLOW_TRACKING_SERVER_CERT_PATH");
    cfg->client_cert = env_dup("MLFLOW_TRACKING_CLIENT_CERT_PATH");
    cfg->experiment_name = env_dup("MLFLOW_EXPERIMENT_NAME");
    cfg->experiment_id = env_dup("MLFLOW_EXPERIMENT_ID");
    cfg->run_id = env_dup("MLFLOW_RUN_ID");
    if (cfg->insecure && cfg->server_cert) {
        st = lc_fail(LC_ERR_INVALID,
                     "mlflow: MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are "
                     "both set: skip verification or give a CA bundle, not both");
        goto fail;
    }
    long x;
    bool set;
    /* the Python client refuses 10 or more (_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT) */
    if ((st = parse_int_env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", 0, 9, &x, &set)) != LC_OK)
        goto fail;
    if (set)
        cfg->max_retries = (int)x;
    if ((st = parse_int_env("MLFLOW_HTTP_REQUEST_TIMEOUT", 1, 86400, &x, &set)) != LC_OK)
        goto fail;
    if (set)
        cfg->timeout_ms = x * 1000;
    if (cfg->experiment_id) {
        for (const char *p = cfg->experiment_id; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
                st = lc_fail(LC_ERR_INVALID, "mlflow: MLFLOW_EXPERIMENT_ID=%s is not an experiment id",
                             cfg->experiment_id);
                goto fail;
            }
    }
    if (cfg->run_id) {
        for (const char *p = cfg->run_id; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
                st = lc_fail(LC_ERR_INVALID, "mlflow: MLFLOW_RUN_ID=%s is not a run id", cfg->run_id);
                goto fail;
            }
        if (strlen(cfg->run_id) >= 128) {
            st = lc_fail(LC_ERR_INVALID, "mlflow: MLFLOW_RUN_ID is too long");
            goto fail;
        }
    }
    return LC_OK;
fail:
    mlflow_config_free(cfg);
    return st;
}

lc_http_config mlflow_config_http(const mlflow_config *cfg, lc_cancel *cancel)
{
    lc_http_config h = {0};
    h.request_timeout_ms = cfg->timeout_ms;
    h.ca_path = cfg->server_cert;
    h.client_cert_path = cfg->client_cert;
    h.insecure = cfg->insecure;
    if (cfg->max_retries >= 0)
        h.retry.max_attempts = cfg->max_retries + 1;
    h.cancel = cancel;
    return h;
}
