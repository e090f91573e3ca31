/*
 * loggers/shared/histogram.c — O(1)-per-value bucketing on TensorBoard's default
 * ladder (see histogram.h for the ladder and the bucket rule).
 *
 * Runs on the caller's (training) thread, so the per-value work is a few
 * integer operations and one table load, no log() and no search.
 */
#include "histogram.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HIST_HALF LC_HIST_LADDER_HALF      /* 774 positive edges */
#define HIST_ZERO HIST_HALF                /* bucket whose limit is 0 */
#define HIST_POS0 (HIST_HALF + 1)          /* bucket whose limit is ladder[0] */
#define HIST_LAST (LC_HIST_NBUCKETS - 1)   /* limit DBL_MAX */
#define HIST_SUBBITS 4                     /* mantissa bits in the table key */

static double hist_ladder[HIST_HALF];      /* 1e-12 * 1.1^k, by repeated multiply */
static double hist_limits[LC_HIST_NBUCKETS];
static uint64_t hist_key_min;              /* table key of ladder[0] */
static uint16_t *hist_table;               /* key - key_min -> largest k, ladder[k] <= low end */
static size_t hist_table_len;
static int hist_table_ok;
static pthread_once_t hist_once = PTHREAD_ONCE_INIT;

/* Exponent and top mantissa bits of a positive double: monotonic in v. */
static inline uint64_t hist_key(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits >> (52 - HIST_SUBBITS);
}

/* Largest k with ladder[k] <= a, for a >= ladder[0] (binary search). */
static int hist_floor_bsearch(double a)
{
    int lo = 0, hi = HIST_HALF - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (hist_ladder[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void hist_init(void)
{
    /* Same loop as TensorFlow / PyTorch, so the edges match theirs bit for bit. */
    double v = 1e-12;
    for (int k = 0; k < HIST_HALF; k++) {
        hist_ladder[k] = v;
        v *= 1.1;
    }
    for (int i = 0; i < HIST_HALF; i++) {
        hist_limits[i] = -hist_ladder[HIST_HALF - 1 - i];
        hist_limits[HIST_POS0 + i] = hist_ladder[i];
    }
    hist_limits[HIST_ZERO] = 0.0;
    hist_limits[HIST_LAST] = DBL_MAX;

    hist_key_min = hist_key(hist_ladder[0]);
    uint64_t key_max = hist_key(hist_ladder[HIST_HALF - 1]);
    hist_table_len = (size_t)(key_max - hist_key_min + 1);
    hist_table = malloc(hist_table_len * sizeof *hist_table);
    if (!hist_table)
        return; /* lc_histogram_bucket falls back to binary search */
    for (size_t i = 0; i < hist_table_len; i++) {
        uint64_t bits = (hist_key_min + i) << (52 - HIST_SUBBITS);
        double low;
        memcpy(&low, &bits, sizeof low);
        hist_table[i] = (uint16_t)(low < hist_ladder[0] ? 0 : hist_floor_bsearch(low));
    }
    hist_table_ok = 1;
}

/* Largest k with ladder[k] <= a, for ladder[0] <= a < ladder[773]. One sub-bin
   of the table spans a ratio of 2^(1/16) < 1.1, so it holds at most one edge
   and the loop below runs at most once. */
static inline int hist_floor(double a)
{
    if (!hist_table_ok)
        return hist_floor_bsearch(a);
    int k = hist_table[hist_key(a) - hist_key_min];
    while (k + 1 < HIST_HALF && hist_ladder[k + 1] <= a)
        k++;
    return k;
}

/* Bucket of a finite v; the tables must be initialised. */
static inline uint32_t hist_bucket(double v)
{
    if (v >= 0) {                                   /* also -0.0 */
        if (v < hist_ladder[0])
            return HIST_POS0;
        if (v >= hist_ladder[HIST_HALF - 1])
            return HIST_LAST;
        return (uint32_t)(HIST_POS0 + 1 + hist_floor(v));
    }
    /* v < 0: the first limit > v is -ladder[m] for the largest m with
       ladder[m] < -v (strictly), i.e. bucket 773 - m; none: the 0 bucket. */
    double a = -v;
    if (a <= hist_ladder[0])
        return HIST_ZERO;
    int m;
    if (a > hist_ladder[HIST_HALF - 1]) {
        m = HIST_HALF - 1;
    } else {
        m = a == hist_ladder[HIST_HALF - 1] ? HIST_HALF - 1 : hist_floor(a);
        if (hist_ladder[m] == a)
            m--;
    }
    return (uint32_t)(HIST_HALF - 1 - m);
}

/* hist_bucket without data-dependent branches for the usual case (a
 * table built, ladder[0] <= |v| < ladder[773]): weights and gradients
 * change sign at random, and a branch on the sign or on the one edge test
 * mispredicts about every other value (it was ~11 ns a value). The same
 * bucket as hist_bucket, by the same steps: hist_floor's one correction as
 * an add, and the negative side's "strictly below" as a subtract. */
static inline uint32_t hist_bucket_fast(double v)
{
    double a = fabs(v);
    if (!hist_table_ok || !(a >= hist_ladder[0] && a < hist_ladder[HIST_HALF - 1]))
        return hist_bucket(v);
    int k = hist_table[hist_key(a) - hist_key_min];
    k += hist_ladder[k + 1] <= a; /* k + 1 < HIST_HALF: a < ladder[773] */
    uint32_t pos = (uint32_t)(HIST_POS0 + 1 + k);
    uint32_t neg = (uint32_t)(HIST_HALF - 1 - (k - (hist_ladder[k] == a)));
    return v >= 0 ? pos : neg;
}

uint32_t lc_histogram_bucket(double v)
{
    pthread_once(&hist_once, hist_init);
    if (isnan(v))
        return HIST_LAST; /* documented for finite v only; stay in range */
    return hist_bucket_fast(v);
}

uint32_t lc_histogram_bucket_bsearch(double v)
{
    pthread_once(&hist_once, hist_init);
    /* First i with limit(i) > v; DBL_MAX (no such i) goes to the last. */
    uint32_t lo = 0, hi = LC_HIST_NBUCKETS;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (hist_limits[mid] > v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < LC_HIST_NBUCKETS ? lo : HIST_LAST;
}

double lc_histogram_limit(uint32_t i)
{
    pthread_once(&hist_once, hist_init);
    return i < LC_HIST_NBUCKETS ? hist_limits[i] : DBL_MAX;
}

int lc_histogram_limit_index(double limit)
{
    if (isnan(limit))
        return -1;
    uint32_t b = lc_histogram_bucket_bsearch(limit);
    /* bsearch gives the first limit > x, so the edge equal to x is just before. */
    if (b > 0 && hist_limits[b - 1] == limit)
        return (int)b - 1;
    if (hist_limits[b] == limit) /* DBL_MAX, clamped onto itself */
        return (int)b;
    return -1;
}

double lc_histogram_left_edge(double limit)
{
    int i = lc_histogram_limit_index(limit);
    if (i < 0)
        return limit;
    return i == 0 ? -DBL_MAX : hist_limits[i - 1];
}

/* ---------------------------------------------------------------------- */
/* building a histogram                                                    */

/* Counts are kept in HIST_WAYS interleaved copies (value i counts in copy
 * i % HIST_WAYS) and summed at the end: neighbouring values mostly fall in
 * the same bucket, and one copy would make every increment wait for the
 * one before it (a store-to-load chain). min and max start at the
 * infinities so they need no first-value branch. */
#define HIST_WAYS 4

typedef struct hist_acc {
    uint64_t count[HIST_WAYS][LC_HIST_NBUCKETS];
    double min, max, sum, sum_squares;
    uint64_t num, nonfinite;
} hist_acc;

static inline void hist_add(hist_acc *h, uint64_t *count, double x)
{
    if (!isfinite(x)) {
        h->nonfinite++;
        return;
    }
    count[hist_bucket_fast(x)]++;
    h->min = x < h->min ? x : h->min;
    h->max = x > h->max ? x : h->max;
    h->sum += x;
    h->sum_squares += x * x;
    h->num++;
}

static lc_histogram *hist_finish(const char *key, hist_acc *h)
{
    if (!key)
        key = "";
    uint64_t *count = (uint64_t *)h->count[0]; /* the ways summed into the first */
    for (uint32_t i = 0; i < LC_HIST_NBUCKETS; i++)
        for (int w = 1; w < HIST_WAYS; w++)
            count[i] += h->count[w][i];
    uint32_t nb = 0;
    for (uint32_t i = 0; i < LC_HIST_NBUCKETS; i++)
        nb += count[i] != 0;
    size_t keylen = strlen(key);
    size_t size = sizeof(lc_histogram) + 2 * (size_t)nb * sizeof(double) + keylen + 1;
    lc_histogram *out = malloc(size);
    if (!out)
        return NULL;
    out->limit = (double *)(out + 1);
    out->count = out->limit + nb;
    out->key = (char *)(out->count + nb);
    memcpy(out->key, key, keylen + 1);
    out->nbuckets = nb;
    out->num = (double)h->num;
    out->nonfinite = h->nonfinite;
    out->min = h->num ? h->min : 0.0;
    out->max = h->num ? h->max : 0.0;
    out->sum = h->sum;
    out->sum_squares = h->sum_squares;
    uint32_t j = 0;
    for (uint32_t i = 0; i < LC_HIST_NBUCKETS; i++) {
        if (count[i]) {
            out->limit[j] = hist_limits[i];
            out->count[j] = (double)count[i];
            j++;
        }
    }
    return out;
}

/* Both element types: f32 != 0 reads v as float, else as double. */
static lc_histogram *hist_from(const char *key, const void *v, int f32, size_t n)
{
    if (!v && n)
        return NULL;
    pthread_once(&hist_once, hist_init);
    hist_acc *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->min = INFINITY;
    h->max = -INFINITY;
    for (size_t i = 0; i < n; i++)
        hist_add(h, h->count[i % HIST_WAYS],
                 f32 ? (double)((const float *)v)[i] : ((const double *)v)[i]);
    lc_histogram *out = hist_finish(key, h);
    free(h);
    return out;
}

lc_histogram *lc_histogram_from_f64(const char *key, const double *v, size_t n)
{
    return hist_from(key, v, 0, n);
}

lc_histogram *lc_histogram_from_f32(const char *key, const float *v, size_t n)
{
    return hist_from(key, v, 1, n);
}
