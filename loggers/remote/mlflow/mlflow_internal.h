/*
 * loggers/remote/mlflow/mlflow_internal.h — what the files of the MLflow
 * backend share: its configuration (read from the MLflow client's own
 * environment variables), the backend and per-run state, the JSON bodies
 * of the REST API, and the request helpers that turn HTTP outcomes into
 * the lc_status codes of remote.h with messages a user can act on.
 *
 *   mlflow_config.c     environment -> mlflow_config
 *   mlflow_json.c       request bodies (cJSON, compact) and response fields
 *   mlflow_request.c    one REST call, error mapping and messages
 *   mlflow_open.c       experiment get-or-create, find/continue/create run
 *   mlflow_ship.c       outbox items -> log-batch requests, run end
 *   mlflow_artifacts.c  files and texts through the artifact proxy
 *   mlflow_backend.c    the lc_remote vtable and lc_remote_mlflow_new
 */
#ifndef LC_MLFLOW_INTERNAL_H
#define LC_MLFLOW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote/http.h"
#include "remote/remote.h"

/* ---------------------------------------------------------------------- */
/* limits of the tracking server (reference/mlflow.md §2.1) */

#define MLFLOW_MAX_METRICS_PER_BATCH 1000
#define MLFLOW_MAX_PARAMS_PER_BATCH 100
#define MLFLOW_MAX_TAGS_PER_BATCH 100
#define MLFLOW_MAX_ENTITIES_PER_BATCH 1000
#define MLFLOW_MAX_BATCH_BYTES 900000 /* documented limit 1e6: keep a margin */
#define MLFLOW_MAX_PARAM_VALUE 6000   /* code points */
#define MLFLOW_MAX_TAG_VALUE 8000     /* code points */

/* ---------------------------------------------------------------------- */
/* configuration (mlflow_config.c) */

typedef struct mlflow_config {
    char *uri;             /* MLFLOW_TRACKING_URI, trailing '/' removed */
    char uri_shown[512];   /* the same as messages show it (no user:password@) */
    char *token;           /* MLFLOW_TRACKING_TOKEN */
    char *username;        /* MLFLOW_TRACKING_USERNAME */
    char *password;        /* MLFLOW_TRACKING_PASSWORD */
    bool insecure;         /* MLFLOW_TRACKING_INSECURE_TLS */
    char *server_cert;     /* MLFLOW_TRACKING_SERVER_CERT_PATH */
    char *client_cert;     /* MLFLOW_TRACKING_CLIENT_CERT_PATH */
    int max_retries;       /* MLFLOW_HTTP_REQUEST_MAX_RETRIES; -1: the HTTP layer's 7 */
    long timeout_ms;       /* MLFLOW_HTTP_REQUEST_TIMEOUT (seconds); 0: 120 s */
    char *experiment_name; /* MLFLOW_EXPERIMENT_NAME */
    char *experiment_id;   /* MLFLOW_EXPERIMENT_ID */
    char *run_id;          /* MLFLOW_RUN_ID */
} mlflow_config;

/* Read the environment into *cfg (zeroed first). LC_ERR_INVALID with the
 * message naming the variable and what to do; LC_ERR_NOMEM. */
lc_status mlflow_config_load(mlflow_config *cfg);

/* Zero the secrets and free every string. */
void mlflow_config_free(mlflow_config *cfg);

/* The HTTP layer's configuration for cfg (strings borrowed from cfg). */
lc_http_config mlflow_config_http(const mlflow_config *cfg, lc_cancel *cancel);

/* ---------------------------------------------------------------------- */
/* backend and run state */

typedef struct mlflow_backend {
    mlflow_config cfg;
    lc_http_client *http;   /* made on first use (watches lc_remote.cancel) */
    lc_remote *remote;      /* the owner (for its cancel flag) */
    bool warned_param_truncated;
} mlflow_backend;

typedef struct mlflow_run {
    char experiment_id[64];
    char run_id[128];
    char *artifact_uri;     /* as the server gave it */
    char *artifact_base;    /* URL artifacts are PUT under, NULL when the
                               server has no artifact proxy for this run */
    size_t artifacts_skipped;
    size_t texts_skipped;
    bool warned_no_proxy;
    bool warned_missing;    /* a file gone from disk (reported once per run) */
    bool set_running;       /* a continued run goes back to RUNNING before
                               its next item that is not its end */
} mlflow_run;

/* ---------------------------------------------------------------------- */
/* JSON (mlflow_json.c) */

/* A JSON number text for a double the server's parser accepts: the
 * shortest round-trip text for finite values ("0.1", "-0.0", "1e-07"), the strings "NaN", "Infinity", "-Infinity" (quotes
 * included) otherwise. out holds at least 32 bytes. */
void mlflow_json_double(double v, char *out, size_t cap);

/* Unix seconds -> integer milliseconds (>= 0; NaN gives 0). */
int64_t mlflow_ms(double unix_seconds);

/* Length in bytes of the longest prefix of s holding at most max_chars
 * UTF-8 code points (the server counts code points). */
size_t mlflow_utf8_prefix(const char *s, size_t max_chars);

/* Bytes s takes as a JSON string (quotes and escapes included). */
size_t mlflow_json_string_len(const char *s);

/* One log-batch body: items[0..n) are LC_OB_PARAM, LC_OB_TAG and
 * LC_OB_METRIC only, within the limits above. Params and tags cut to the
 * server's lengths (*params_cut counts the cut params). The same items give
 * the same bytes. malloc'd compact JSON, NULL when out of memory. */
char *mlflow_json_log_batch(const char *run_id, const lc_outbox_item *items, size_t n,
                            size_t *params_cut);

/* How many items from items[0..n) go into the next log-batch: consecutive
 * params, tags and metrics up to the count and size limits, stopping
 * before a param or tag key already in the batch (the server refuses a
 * duplicate param key, and a later tag value must win). 0 when items[0]
 * is of another kind. */
size_t mlflow_batch_take(const lc_outbox_item *items, size_t n);

/* Body of runs/create. tags: key, value, ..., NULL (already merged). */
char *mlflow_json_create_run(const char *experiment_id, const char *run_name, int64_t start_ms,
                             const char *const *tags);

/* Body of runs/update; status NULL leaves it, end_ms < 0 leaves it. */
char *mlflow_json_update_run(const char *run_id, const char *status, int64_t end_ms);

/* Body of runs/search for the run tagged lightc.run_uuid = uuid. */
char *mlflow_json_search_uuid(const char *experiment_id, const char *uuid);

/* Body of experiments/create. */
char *mlflow_json_create_experiment(const char *name);

/* The string at a dotted path of a JSON text ("run.info.run_id"), copied
 * into out; false when absent or not a string. */
bool mlflow_json_get(const char *json, const char *path, char *out, size_t cap);

/* The same, malloc'd (NULL when absent). */
char *mlflow_json_get_dup(const char *json, const char *path);

/* MLflow's name of a run status. */
const char *mlflow_status_name(lc_run_status s);

/* ---------------------------------------------------------------------- */
/* requests (mlflow_request.c) */

/* The HTTP client, made on first use. */
lc_status mlflow_http(mlflow_backend *b, lc_http_client **out);

/* One REST call to <uri>/api/2.0/mlflow/<path>: GET with query (key,
 * value, ..., NULL) when body is NULL, else POST of the JSON body. resp is
 * filled (free it). On failure the status follows remote.h (401/403
 * LC_ERR_AUTH, other 4xx LC_ERR_INVALID or LC_ERR_NOT_FOUND for 404,
 * network and 5xx LC_ERR_IO, cancelled LC_ERR_STATE) and the message
 * starts with "mlflow: <what>" and names the server. */
lc_status mlflow_call(mlflow_backend *b, const char *what, const char *path,
                      const char *const *query, const char *body, lc_http_retry_mode retry,
                      lc_http_response *resp);

/* The message and status for a failed response (what: "log-batch for run X"). */
lc_status mlflow_fail_response(mlflow_backend *b, const char *what, lc_status st,
                               const lc_http_response *resp);

/* Whether a failed response's MLflow error_code is code. */
bool mlflow_error_code_is(const lc_http_response *resp, const char *code);

/* ---------------------------------------------------------------------- */
/* open (mlflow_open.c), ship (mlflow_ship.c), artifacts (mlflow_artifacts.c) */

lc_status mlflow_open_run(mlflow_backend *b, lc_remote_run *run);

lc_status mlflow_ship_items(mlflow_backend *b, lc_remote_run *run, const lc_outbox_item *items,
                            size_t n, size_t *done);

/* Set st->artifact_base from st->artifact_uri (NULL when not proxied). */
lc_status mlflow_artifacts_resolve(mlflow_backend *b, mlflow_run *st);

/* Upload one LC_OB_ARTIFACT (the file) or LC_OB_TEXT (the text as
 * text/<key>/step-<step>.txt). A run without the artifact proxy or a file
 * gone from disk is skipped with a counted warning (LC_OK). */
lc_status mlflow_artifact_ship(mlflow_backend *b, lc_remote_run *run, const lc_outbox_item *it);

#endif /* LC_MLFLOW_INTERNAL_H */
