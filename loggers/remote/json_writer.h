/*
 * loggers/remote/json_writer.h — compact JSON written straight into one
 * growing buffer, for the request bodies the remote backends send per
 * batch of points.
 *
 * A cJSON tree costs several allocations per value and printf for every
 * number; a log-batch of 1000 metrics built that way cost ~12,000
 * instructions a point, most of the shipper's CPU. Here a body is appended
 * in order: strings escaped as cJSON escapes them, integers exact, finite
 * doubles as their shortest round-trip text (Python's repr, which every JSON
 * parser reads back to the same double). The caller writes the structure
 * (braces, commas, names) itself, so the same calls always give the same
 * bytes: a retried request is byte-identical.
 *
 * Out of memory is sticky: later appends do nothing and lc_jw_finish
 * returns NULL.
 */
#ifndef LC_JSON_WRITER_H
#define LC_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lc_jw {
    char *buf;
    size_t len, cap;
    bool oom;
} lc_jw;

/* Start with room for about `hint` bytes (0: a small default). */
void lc_jw_init(lc_jw *w, size_t hint);

/* Bytes as they are: structure ("{", ",", "\"key\":") or a pre-encoded value. */
void lc_jw_raw(lc_jw *w, const char *s, size_t n);
void lc_jw_lit(lc_jw *w, const char *s);

/* A JSON string of s[0..n) (UTF-8 passed through; ", \ and control
 * characters escaped); NULL writes "". lc_jw_str takes the whole string. */
void lc_jw_strn(lc_jw *w, const char *s, size_t n);
void lc_jw_str(lc_jw *w, const char *s);

/* An exact integer. */
void lc_jw_i64(lc_jw *w, int64_t v);

/* A finite double as its shortest round-trip text ("0.1", "3.0",
 * "1e-07", "-0.0"). Not for NaN or infinities: JSON has no such numbers,
 * and each server wants its own spelling, so callers decide. */
void lc_jw_double(lc_jw *w, double v);

/* The NUL-terminated text (the caller frees it), or NULL when an append
 * ran out of memory. The writer is empty afterwards. */
char *lc_jw_finish(lc_jw *w);

/* Free the text without taking it. */
void lc_jw_discard(lc_jw *w);

#endif /* LC_JSON_WRITER_H */
