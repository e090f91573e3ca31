/*
 * trainer/dist_sampler.c — DistributedSampler's index rule (dist_sampler.h)
 * over the trainer's shuffle.
 */
#include "dist_sampler.h"

#include <stdlib.h>

#include "data.h"

size_t lc_dist_sampler_num_samples(size_t n, int world, int drop_last)
{
    size_t w = world > 0 ? (size_t)world : 1;
    if (drop_last && n % w != 0)
        return n >= w ? (n - w + w - 1) / w : 0;
    return (n + w - 1) / w;
}

size_t lc_dist_sampler_indices(uint32_t *out, size_t n, int world, int rank, uint64_t seed,
                               int64_t epoch, int shuffle, int drop_last)
{
    size_t w = world > 0 ? (size_t)world : 1;
    size_t num = lc_dist_sampler_num_samples(n, world, drop_last);
    if (num == 0 || n == 0)
        return 0;
    uint32_t *order = malloc(n * sizeof *order);
    if (!order)
        return 0;
    if (shuffle) {
        lc_data_shuffle(order, n, seed, epoch);
    } else {
        for (size_t i = 0; i < n; i++)
            order[i] = (uint32_t)i;
    }
    /* padded position j of the total_size list is order[j % n] (the head
       repeated); with drop_last total_size <= n, so no wrap */
    for (size_t k = 0; k < num; k++)
        out[k] = order[(k * w + (size_t)rank) % n];
    free(order);
    return num;
}
