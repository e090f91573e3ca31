/*
 * kernels/reduce.c — fixed-partition double-accumulated reductions (see
 * reduce.h for the determinism argument).
 */
#include "reduce.h"

#include <math.h>

#include "common/status.h"

#define LC_REDUCE_LANES 8

/* ------------------------------------------------------------------------ */
/* One block                                                                 */

/* Combine the lanes pairwise in a fixed tree: ((0+1)+(2+3))+((4+5)+(6+7)). */
static double reduce_lanes(const double *acc)
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Sum (squares == 0) or sum of squares (squares == 1) of one block. Lane k
 * takes the elements i with i % 8 == k, in order: the same association every
 * time, and a shape the compiler vectorises without reassociating. */
static double reduce_block(const float *x, size_t n, int squares)
{
    double acc[LC_REDUCE_LANES] = {0};
    size_t i = 0;
    if (squares) {
        for (; i + LC_REDUCE_LANES <= n; i += LC_REDUCE_LANES)
            for (int k = 0; k < LC_REDUCE_LANES; k++)
                acc[k] += (double)x[i + k] * (double)x[i + k];
        for (int k = 0; i < n; i++, k++)
            acc[k] += (double)x[i] * (double)x[i];
    } else {
        for (; i + LC_REDUCE_LANES <= n; i += LC_REDUCE_LANES)
            for (int k = 0; k < LC_REDUCE_LANES; k++)
                acc[k] += (double)x[i + k];
        for (int k = 0; i < n; i++, k++)
            acc[k] += (double)x[i];
    }
    return reduce_lanes(acc);
}

/* Blocks of LC_REDUCE_BLOCK from the start of x, partials in block order. */
static double reduce_blocks(const float *x, size_t n, int squares)
{
    if (n == 0)
        return 0.0;
    if (!x)
        return NAN;
    double total = 0.0;
    for (size_t b = 0; b < n; b += LC_REDUCE_BLOCK) {
        size_t len = n - b < LC_REDUCE_BLOCK ? n - b : LC_REDUCE_BLOCK;
        total += reduce_block(x + b, len, squares);
    }
    return total;
}

/* ------------------------------------------------------------------------ */
/* Public reductions                                                         */

double lc_reduce_sum(const float *x, size_t n)
{
    return reduce_blocks(x, n, 0);
}

double lc_reduce_sumsq(const float *x, size_t n)
{
    return reduce_blocks(x, n, 1);
}

double lc_reduce_l2norm(const float *x, size_t n)
{
    return sqrt(reduce_blocks(x, n, 1));
}

double lc_reduce_l2norm_multi(const float *const *bufs, const size_t *lens, size_t count)
{
    if (count == 0)
        return 0.0;
    if (!bufs || !lens)
        return NAN;
    double total = 0.0;
    for (size_t k = 0; k < count; k++)
        total += reduce_blocks(bufs[k], lens[k], 1);
    return sqrt(total);
}

lc_status lc_reduce_mean(const float *x, size_t n, double *out)
{
    if (n == 0 || !x || !out)
        return lc_fail(LC_ERR_INVALID, "reduce_mean: needs a non-empty buffer and an output");
    *out = reduce_blocks(x, n, 0) / (double)n;
    return LC_OK;
}

/* max (sign = 1) or min (sign = -1) with NaN propagation. */
static lc_status reduce_extreme(const char *op, const float *x, size_t n, float *out, int sign)
{
    if (n == 0 || !x || !out)
        return lc_fail(LC_ERR_INVALID, "%s: needs a non-empty buffer and an output", op);
    float best = x[0];
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        nan |= isnan(v);
        if (sign > 0 ? v > best : v < best)
            best = v;
    }
    *out = nan ? NAN : best;
    return LC_OK;
}

lc_status lc_reduce_max(const float *x, size_t n, float *out)
{
    return reduce_extreme("reduce_max", x, n, out, 1);
}

lc_status lc_reduce_min(const float *x, size_t n, float *out)
{
    return reduce_extreme("reduce_min", x, n, out, -1);
}
