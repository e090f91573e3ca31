/*
 * loggers/shared/histogram.h — bucketing raw values on TensorBoard's default ladder.
 *
 * The ladder is the one TensorFlow's C++ Histogram, PyTorch and tensorboardX
 * use by default: v = 1e-12, multiplied by 1.1 (in double) while v < 1e20,
 * giving 774 positive edges up to ~9.92e19; the same edges negated; 0; and
 * +DBL_MAX as the last limit. That is LC_HIST_NBUCKETS (1550) buckets,
 * identified by their right edge ("limit"):
 *
 *     bucket i      limit(i)
 *     0 .. 773      -ladder[773 - i]   (-9.92e19 ... -1e-12)
 *     774           0
 *     775 .. 1548   ladder[i - 775]    (1e-12 ... 9.92e19)
 *     1549          DBL_MAX            (overflow: every v >= 9.92e19)
 *
 * Rule (TensorFlow's Histogram::Add): v goes in the first bucket whose limit
 * is > v, so bucket i is the half-open range [limit(i-1), limit(i)), and
 * bucket 0 starts at -DBL_MAX (it takes every v < -9.92e19). 0 and -0 go in
 * bucket 775, [0, 1e-12); tiny negatives in bucket 774, [-1e-12, 0).
 * DBL_MAX itself, which no limit exceeds, is counted in the last bucket.
 *
 * The bucket of a value is found in O(1): the double's exponent and top four
 * mantissa bits (a base-2 logarithm at 1/16-octave resolution, finer than
 * the ladder's 1.1 ratio) index a table giving the ladder position, then at
 * most one comparison against the real edge fixes the result up, so it is
 * always exactly what a binary search on the ladder gives.
 *
 * Note: loggers/event.h describes buckets as (edge[i-1], edge[i]]; the rule
 * actually implemented (and what TensorBoard assumes) is the half-open
 * [limit(i-1), limit(i)) described here.
 */
#ifndef LC_HISTOGRAM_H
#define LC_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "bus/event.h"

/** Bucket the finite values of v[0..n) into a new histogram for key.
 *  Non-finite values are skipped and counted in ->nonfinite. Only the
 *  non-empty buckets are kept (limit ascending, count). Everything (the
 *  struct, both arrays and a copy of key) is ONE malloc'd block: free()
 *  releases it. With no finite value (n == 0, all NaN/Inf) the result has
 *  num == 0, nbuckets == 0 and min == max == 0. Returns NULL when out of
 *  memory, or when v is NULL while n > 0. key may be NULL (stored as ""). */
lc_histogram *lc_histogram_from_f32(const char *key, const float *v, size_t n);
lc_histogram *lc_histogram_from_f64(const char *key, const double *v, size_t n);

/** The right edge of bucket i (0 <= i < LC_HIST_NBUCKETS). */
double lc_histogram_limit(uint32_t i);

/** The bucket value v (finite) belongs to, in O(1). */
uint32_t lc_histogram_bucket(double v);

/** The same by binary search on the ladder (the reference for tests). */
uint32_t lc_histogram_bucket_bsearch(double v);

/** The index of the bucket whose right edge is exactly limit, or -1 if
 *  limit is not an edge of the ladder. */
int lc_histogram_limit_index(double limit);

/** The left edge of the bucket whose right edge is limit: limit(i-1), or
 *  -DBL_MAX for bucket 0. limit must be an edge of the ladder; for any
 *  other value, returns limit itself. */
double lc_histogram_left_edge(double limit);

#endif /* LC_HISTOGRAM_H */
