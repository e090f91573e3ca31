/*
 * loggers/bus/event.h — the events that travel from log calls to sinks.
 *
 * An event is one fixed-size queue slot. Scalars carry everything inline;
 * other kinds point at a heap payload owned by the event, freed by the
 * dispatcher after every sink has seen the batch. Consecutive events of one
 * record (lc_run_log_scalars) sit in consecutive slots, the last one flagged
 * LC_EV_RECORD_END, so sinks can group a record into one CSV row / history
 * line / MLflow batch.
 */
#ifndef LC_EVENT_H
#define LC_EVENT_H

#include <stdint.h>
#include <stddef.h>

#include "lightc/hub.h"

typedef enum lc_event_kind {
    LC_EV_SCALAR = 1,    /* tag, value, step, wall_time */
    LC_EV_KEY = 2,       /* a tag was interned: tag, payload = lc_key_payload (the
                            index records the mapping; names: lc_run_info_key) */
    LC_EV_PARAM = 3,     /* payload = lc_param_payload */
    LC_EV_TAG = 4,       /* run tag: payload = lc_kv_payload */
    LC_EV_TEXT = 5,      /* payload = lc_text_payload, step */
    LC_EV_HISTOGRAM = 6, /* payload = lc_histogram, step */
    LC_EV_IMAGE = 7,     /* payload = lc_image_payload, step */
    LC_EV_ARTIFACT = 8,  /* payload = lc_artifact_payload */
    /* control events: handled by the dispatcher, which calls the sinks' own
       vtable entries for them; they never appear in a batch */
    LC_EV_RUN_OPEN = 16,
    LC_EV_RUN_FINISH = 17,
    LC_EV_FLUSH = 18
} lc_event_kind;

enum {
    LC_EV_RECORD_END = 1u << 0 /* last scalar of a committed record */
};

typedef struct lc_run_info lc_run_info;

/* One queue slot's payload (the queue adds its own sequence word). */
typedef struct lc_event {
    lc_run_info *run;  /* the run it belongs to (NULL for hub-wide control) */
    int64_t step;
    double value;
    double wall_time;  /* Unix seconds (ms resolution) */
    void *payload;     /* owned heap data for non-scalar kinds, else NULL */
    uint32_t tag;      /* lc_tag for scalars and keys */
    uint16_t kind;     /* lc_event_kind */
    uint16_t flags;    /* LC_EV_RECORD_END */
} lc_event;

/* ---- payloads (each one malloc'd block, freed with free()) ------------- */

typedef struct lc_key_payload {
    int changed;        /* 1 if normalisation changed the key */
    char *key;          /* normalised (points into this block) */
    char *original;     /* as given (points into this block) */
} lc_key_payload;

typedef enum lc_param_type {
    LC_PARAM_STR = 0, LC_PARAM_INT = 1, LC_PARAM_DOUBLE = 2, LC_PARAM_BOOL = 3
} lc_param_type;

typedef struct lc_param_payload {
    lc_param_type type;
    int key_changed;    /* normalisation changed the key */
    char *key;          /* normalised */
    char *original;     /* as given */
    char *text;         /* value as text: "0.1", "true", "adam", "42" */
    int64_t i;          /* for INT and BOOL */
    double d;           /* for DOUBLE */
} lc_param_payload;

typedef struct lc_kv_payload {
    char *key;          /* normalised */
    char *value;        /* secrets redacted, valid UTF-8 (bus/redact.h) */
    char *original;     /* the key as given if normalisation changed it, else NULL */
} lc_kv_payload;

typedef struct lc_text_payload {
    char *key;          /* normalised */
    char *text;
} lc_text_payload;

/* TensorBoard's default ladder: 0, +-1e-12*1.1^k for k = 0..773 (< 1e20).
 * Bucket i covers [limit(i-1), limit(i)) as in TensorFlow/TensorBoard;
 * 'limit' holds right edges (see histogram.h). */
#define LC_HIST_LADDER_HALF 774
#define LC_HIST_NBUCKETS (2 * LC_HIST_LADDER_HALF + 2) /* + the 0 edge + overflow (DBL_MAX) */

typedef struct lc_histogram {
    char *key;          /* normalised */
    double min, max, num, sum, sum_squares;
    uint64_t nonfinite; /* NaN/Inf values skipped */
    uint32_t nbuckets;  /* number of non-empty buckets kept below */
    double *limit;      /* right edges of the kept buckets (ascending) */
    double *count;      /* counts of the kept buckets */
} lc_histogram;

typedef struct lc_image_payload {
    char *key;          /* normalised */
    uint32_t width, height, channels;
    uint8_t *pixels;    /* width*height*channels bytes (arena-accounted) */
    size_t arena_bytes; /* bytes charged to the image arena */
} lc_image_payload;

typedef struct lc_artifact_payload {
    char *path;         /* absolute path of the file */
    char *artifact_dir; /* may be NULL */
} lc_artifact_payload;

/* A batch handed to a sink: events in queue order, control events excluded.
 * (Not the trainer's lc_batch, a batch of training data.) */
typedef struct lc_event_batch {
    const lc_event *events;
    size_t count;
} lc_event_batch;

#endif /* LC_EVENT_H */
