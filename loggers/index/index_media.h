/*
 * loggers/index/index_media.h — how the run index stores non-scalar events
 * (media rows): the histogram blob layout and the meta JSON of each kind.
 *
 * Histogram blob (media.data, kind 'histogram'): nbuckets little-endian
 * IEEE-754 doubles holding the buckets' right edges (ascending), followed
 * by nbuckets little-endian doubles holding their counts; 16 * nbuckets
 * bytes in all. Only non-empty buckets are kept (as lc_histogram).
 */
#ifndef LC_INDEX_MEDIA_H
#define LC_INDEX_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "bus/event.h"

/* Encode h's buckets. *out is malloc'd (NULL with *len 0 when there are no
 * buckets). Returns 0, or -1 when out of memory. */
int lc_index_hist_encode(const lc_histogram *h, unsigned char **out, size_t *len);

/* Decode a blob of len bytes into limit[] and count[] (each room for
 * len / 16 values). Returns the number of buckets, or -1 if len is not a
 * multiple of 16. */
long lc_index_hist_decode(const void *blob, size_t len, double *limit, double *count);

/* Meta JSON text (malloc'd, free with free(); NULL when out of memory).
 * histogram: {"min","max","num","sum","sum_squares","nonfinite","nbuckets"}
 *   (non-finite numbers are written as null);
 * image:     {"width","height","channels"};
 * artifact:  {"artifact_dir" (string or null), "size" (bytes, null if the
 *             file could not be stat'ed)}. */
char *lc_index_hist_meta(const lc_histogram *h);
char *lc_index_image_meta(const lc_image_payload *img);
char *lc_index_artifact_meta(const char *artifact_dir, long long size);

#endif /* LC_INDEX_MEDIA_H */
