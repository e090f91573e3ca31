/*
 * trainer/dist_sampler.h — torch's DistributedSampler: which samples of a
 * data set one rank sees in one epoch.
 *
 *   num_samples = ceil(n / world)             (drop_last: ceil((n - world) / world))
 *   total_size  = num_samples * world
 *   indices     = the epoch's order of 0..n-1 (shuffle: lc_data_shuffle(seed,
 *                 epoch), the trainer's single-process order, so world 1 is
 *                 exactly the plain dataloader), then padded to total_size by
 *                 repeating its own head (as often as needed), or cut to
 *                 total_size with drop_last
 *   rank r takes indices[r], indices[r + world], ... (num_samples of them)
 * So the union of the ranks' batch k, for a per-rank batch of b, is the
 * single-process batch k of size b * world: the equivalence that makes N
 * ranks x batch b follow 1 process x batch N*b.
 */
#ifndef LC_TRAINER_DIST_SAMPLER_H
#define LC_TRAINER_DIST_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

/** Samples per rank for n samples over world ranks. */
size_t lc_dist_sampler_num_samples(size_t n, int world, int drop_last);

/** out[0..num_samples) <- rank's indices for epoch (n < 2^32, world >= 1,
 *  0 <= rank < world). Returns num_samples. */
size_t lc_dist_sampler_indices(uint32_t *out, size_t n, int world, int rank, uint64_t seed,
                               int64_t epoch, int shuffle, int drop_last);

#endif
