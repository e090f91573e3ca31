/*
 * loggers/remote/wandb/wandb_internal.h — what the files of the Weights &
 * Biases backend share: the configuration (read from the W&B SDK's own
 * environment variables), backend and per-run state, the JSON text of
 * history lines, summary and config, and the request helpers.
 *
 *   wandb_config.c   environment (+ netrc) -> wandb_config
 *   wandb_text.c     numbers as the SDK writes them (NaN, Infinity bare),
 *                    param values, the config's nesting, config.yaml, summary,
 *                    which outbox items make whole history lines
 *   wandb_gql.c      GraphQL calls (Viewer, RunResumeStatus, UpsertBucket,
 *                    CreateRunFiles); errors and messages
 *   wandb_stream.c   file_stream requests: cadence, size cap, heartbeats
 *   wandb_files.c    run files through CreateRunFiles upload URLs + PUT
 *   wandb_open.c     find or create the W&B run, resume
 *   wandb_ship.c     outbox items -> config, history lines, files, finish
 *   wandb_backend.c  the lc_remote vtable, lc_remote_wandb_new
 *   wandb_offline*.c WANDB_MODE=offline: the SDK's offline run directory
 */
#ifndef LC_WANDB_INTERNAL_H
#define LC_WANDB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "remote/http.h"
#include "remote/json_writer.h"
#include "remote/remote.h"

#define WANDB_DEFAULT_BASE "https://api.wandb.ai"
#define WANDB_MAX_REQUEST_BYTES ((size_t)10 << 20)   /* wandb-core's file_stream cap */
#define WANDB_STEP_KEY "trainer/global_step"         /* Lightning's WandbLogger x-axis */
#define WANDB_CHUNK 20000                            /* outbox items per ship call */

/* ---------------------------------------------------------------------- */
/* configuration (wandb_config.c) */

typedef enum wandb_mode { WANDB_ONLINE = 0, WANDB_OFFLINE, WANDB_DISABLED } wandb_mode;
typedef enum wandb_resume {
    WANDB_RESUME_ALLOW = 0, /* unset, allow, auto, true */
    WANDB_RESUME_MUST,
    WANDB_RESUME_NEVER
} wandb_resume;

/* What the summary keeps of a key (define_metric's summary option). */
enum { WANDB_SUM_LAST = 1, WANDB_SUM_MIN = 2, WANDB_SUM_MAX = 4 };

typedef struct wandb_summary_spec {
    char **keys;
    unsigned *aggs;             /* WANDB_SUM_* bits */
    size_t n;
} wandb_summary_spec;

/* Parse LIGHTC_WANDB_SUMMARY: "val/acc=max;train/loss=min,last" (keys as
 * the hub normalises them; aggregates min, max, last). LC_ERR_INVALID with
 * what to write. */
lc_status wandb_summary_spec_parse(const char *text, wandb_summary_spec *out);
void wandb_summary_spec_free(wandb_summary_spec *sp);
/* A key's aggregates (WANDB_SUM_LAST when not named). */
unsigned wandb_summary_aggs(const wandb_summary_spec *sp, const char *key);

typedef struct wandb_config {
    wandb_mode mode;            /* WANDB_MODE */
    char *base_url;             /* WANDB_BASE_URL, no trailing '/' */
    char base_shown[512];       /* as messages show it */
    char *app_url;              /* the UI: https://wandb.ai for api.wandb.ai, else base */
    char *api_key;              /* WANDB_API_KEY or netrc (never on disk, never shown) */
    const char *key_source;     /* "WANDB_API_KEY" or the netrc path (for messages) */
    char key_source_buf[512];
    char *entity, *project, *run_id, *name, *group, *job_type, *notes, *dir;
    char **tags;                /* WANDB_TAGS split on ',', NULL-terminated (or NULL) */
    wandb_resume resume;        /* WANDB_RESUME */
    double stream_secs;         /* LIGHTC_WANDB_STREAM_SECS: file_stream cadence (5) */
    double heartbeat_secs;      /* LIGHTC_WANDB_HEARTBEAT_SECS: idle keep-alive (30) */
    long timeout_ms;            /* WANDB_HTTP_TIMEOUT (seconds); 0: the layer's */
    bool checkpoints;           /* LIGHTC_WANDB_CHECKPOINTS (1): upload checkpoints/ */
    wandb_summary_spec summary; /* LIGHTC_WANDB_SUMMARY: min/max per key, as
                                   define_metric(name, summary="max") asks */
} wandb_config;

/* Read the environment into *cfg (zeroed first). LC_ERR_INVALID with the
 * variable and what to do; LC_ERR_AUTH when online and no key is found. */
lc_status wandb_config_load(wandb_config *cfg);
void wandb_config_free(wandb_config *cfg);

/* The API key from a netrc file for host (NULL when none); malloc'd. */
char *wandb_netrc_password(const char *path, const char *host);

/* An 8-character lowercase base-36 run id derived from a lightc run uuid
 * (stable: the same lightc run always names the same W&B run). */
void wandb_run_id_from_uuid(const char *uuid, char out[9]);

/* Whether s is a valid W&B run id / project name; why not in *why. */
bool wandb_id_ok(const char *s, const char **why);

/* ---------------------------------------------------------------------- */
/* text (wandb_text.c) */

/* A number as W&B's extended JSON writes it: NaN, Infinity, -Infinity
 * bare; finite values as their shortest round-trip text (lc_jw_double). */
void wandb_jw_number(lc_jw *w, double v);

/* A JSON value for a param's index text: true/false, integers, finite
 * numbers, "None" -> null, anything else a string. New cJSON node. */
cJSON *wandb_param_value(const char *text);

/* Set config[a][b]... for a '/'-separated param key, in the SDK's shape
 * {"a": {"value": {"b": v}}}. Takes ownership of v. false when out of memory. */
bool wandb_config_set(cJSON *config, const char *key, cJSON *v);

/* config.yaml text of a config object (wandb_version: 1 + key: value:). */
char *wandb_config_yaml(const cJSON *config);

/* The summary: per key the last value, or what the spec asks (then an
 * object {"min": .., "max": .., "last": ..}, as W&B shows a define_metric
 * summary). Values are kept as doubles so that NaN and Infinity print as
 * the SDK prints them; NaN never becomes a min or max while a number is
 * there. */
typedef struct wandb_summary {
    char **keys;
    double *vals, *mins, *maxs;
    unsigned *aggs;
    size_t n, cap;
    const wandb_summary_spec *spec; /* may be NULL: last values only */
    cJSON *base;                /* a resumed run's summary from the server (other keys) */
    int64_t step;               /* _step, _runtime, _timestamp of the last line */
    double runtime, timestamp;
    bool have_line;
} wandb_summary;

void wandb_summary_set(wandb_summary *s, const char *key, double v);
/* Key i's value as the summary shows it (a number, or the aggregates). */
void wandb_summary_value(lc_jw *b, const wandb_summary *s, size_t i);
char *wandb_summary_json(const wandb_summary *s); /* one line; malloc'd */
void wandb_summary_free(wandb_summary *s);

/* ---------------------------------------------------------------------- */
/* backend and run state */

typedef struct wandb_backend {
    wandb_config cfg;
    lc_http_client *http;     /* W&B API (Basic api:KEY) */
    lc_http_client *upload;   /* upload URLs (no W&B credentials) */
    lc_remote *remote;        /* the owner (its cancel flag) */
    char viewer_entity[256];
} wandb_backend;

typedef struct wandb_run {
    char entity[256], project[256], run_id[64];
    char storage_id[128];
    int64_t next_line;        /* next history line offset (persisted in remote_state) */
    int64_t server_lines;     /* historyLineCount the server gave at open */
    double start_time;        /* _runtime base */
    cJSON *config;            /* the whole config, SDK shape */
    bool config_dirty;
    wandb_summary summary;
    bool summary_dirty;
    char **uploaded;          /* names uploaded since the last file_stream */
    size_t nuploaded;
    double last_post;         /* lc_mono seconds of the last file_stream POST; 0: none */
    bool finished;            /* complete:true sent */
    const _Atomic int *ended; /* the shipper's: the hub ended the run (no pacing) */
    size_t files_skipped;
} wandb_run;

/* ---------------------------------------------------------------------- */
/* requests (wandb_gql.c) */

lc_status wandb_http(wandb_backend *b, lc_http_client **out);
lc_status wandb_http_upload(wandb_backend *b, lc_http_client **out);

/* A failed response -> remote.h's status and a message (401: "the API key
 * is invalid: set WANDB_API_KEY"). what: "file_stream of run e/p/r". */
lc_status wandb_fail_response(wandb_backend *b, const char *what, lc_status st,
                              const lc_http_response *resp);

/* POST {base}/graphql with {query, variables, operationName}; variables
 * is taken over. LC_OK with *data (the "data" object, detached; free it)
 * or an error (also for a 200 answer carrying "errors"). */
lc_status wandb_gql(wandb_backend *b, const char *what, const char *op, const char *query,
                    cJSON *variables, cJSON **data);

lc_status wandb_viewer_entity(wandb_backend *b, char *out, size_t cap);

/* ---------------------------------------------------------------------- */
/* file_stream (wandb_stream.c) */

/* The history lines lines[0..n) at st->next_line (and the summary when
 * dirty, the uploaded names, complete/exitcode when final >= 0), in
 * requests of at most WANDB_MAX_REQUEST_BYTES, waiting for the cadence
 * unless urgent. *sent: lines on the server (st->next_line moves with it). */
lc_status wandb_stream_post(wandb_backend *b, wandb_run *st, char *const *lines, size_t n,
                            bool urgent, int final_exitcode, size_t *sent);

/* An idle keep-alive ({}), when nothing was posted for heartbeat_secs. */
lc_status wandb_stream_heartbeat(wandb_backend *b, wandb_run *st);

/* ---------------------------------------------------------------------- */
/* files (wandb_files.c) */

/* Upload one file (path on disk) or text (body) as run file name.
 * LC_OK also when the file is gone from disk (skipped, counted). */
lc_status wandb_file_upload(wandb_backend *b, wandb_run *st, const char *name, const char *path,
                            const char *body, size_t body_len);

/* ---------------------------------------------------------------------- */
/* open / upsert (wandb_open.c), ship (wandb_ship.c) */

lc_status wandb_open_run(wandb_backend *b, lc_remote_run *run);
lc_status wandb_upsert(wandb_backend *b, wandb_run *st, const lc_remote_run *run);
lc_status wandb_ship_items(wandb_backend *b, lc_remote_run *run, const lc_outbox_item *items,
                           size_t n, size_t *done);
void wandb_run_free(wandb_run *st);

/* The exit code W&B gets for a run status: finished 0, failed 1, killed
 * 130; crashed -1 (none is sent). */
int wandb_exit_code(lc_run_status s);

/* ---------------------------------------------------------------------- */
/* offline run directory (wandb_offline*.c) */

/* The transaction log (wandb_offline_log.c): W&B's LevelDB-style framing.
 * A 7-byte header (":W&B", 0xBEE1 little-endian, version 0), then records
 * in 32 KiB blocks counted from offset 0; a record is one or more chunks
 * (u32le CRC-32/IEEE over type byte + payload, u16le length, u8 type
 * FULL 1 / FIRST 2 / MIDDLE 3 / LAST 4) that never cross a block; fewer
 * than 7 bytes left in a block are zeros. */
typedef struct wandb_log {
    int fd;
    uint64_t pos;             /* bytes in the file */
} wandb_log;

/* Open path for appending at 'size' bytes (0: a new file gets the header;
 * a longer file is cut back to size first: what a crash left after the
 * last delivered item). LC_ERR_IO with the path and errno's words. */
lc_status wandb_log_open(wandb_log *w, const char *path, uint64_t size);
lc_status wandb_log_append(wandb_log *w, const void *payload, size_t len);
lc_status wandb_log_sync(wandb_log *w);
void wandb_log_close(wandb_log *w);

lc_status lc_remote_wandb_offline_new(lc_remote *out);

/* How many of items[0..n) to ship now: a full chunk (WANDB_CHUNK) may end
 * inside a record (one history line); that line is left for the next call,
 * which starts with it, unless it is all there is. */
size_t wandb_whole_lines(const lc_outbox_item *items, size_t n);

#endif /* LC_WANDB_INTERNAL_H */
