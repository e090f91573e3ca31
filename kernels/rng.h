/*
 * kernels/rng.h — the random number generator of the kernels: weight
 * initialisation, dropout masks, data shuffling.
 *
 * The generator is PCG32 (M. E. O'Neill, "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", 2014), variant XSH-RR with 64-bit state: a 64-bit linear
 * congruential step (multiplier 6364136223846793005) whose output is
 * permuted by an xorshift and a data-dependent rotation. Its whole state is
 * two 64-bit words (state, inc), held in a plain struct with no hidden
 * caches, so a checkpoint saves it with lc_rng_save and a resumed run
 * continues with exactly the same numbers (bit-identical resume).
 *
 * Seeding follows the reference pcg32_srandom: (seed, stream) give
 * independent sequences; different streams are used for different consumers
 * (init, dropout, data order) so that, e.g., turning dropout on does not
 * change the initial weights.
 *
 * Normal numbers use the Box-Muller transform in double precision. Both
 * values of each pair are used by lc_rng_normal_fill; nothing is cached
 * between calls, so the state is only (state, inc).
 */
#ifndef LC_RNG_H
#define LC_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct lc_rng {
    uint64_t state; /* LCG state */
    uint64_t inc;   /* stream selector, always odd */
} lc_rng;

/** Seed r: the same (seed, stream) always gives the same sequence. */
void lc_rng_seed(lc_rng *r, uint64_t seed, uint64_t stream);

/** Next 32 random bits. */
uint32_t lc_rng_u32(lc_rng *r);

/** Uniform float in [0, 1) with 24 random bits (every value exact). */
float lc_rng_uniform(lc_rng *r);

/** Uniform integer in [0, bound), without modulo bias; bound 0 gives 0. */
uint32_t lc_rng_below(lc_rng *r, uint32_t bound);

/** x[i] = lo + (hi - lo) * lc_rng_uniform(r) for i < n: uniform in
 *  [lo, hi) (float rounding of the product may give hi itself). */
void lc_rng_uniform_fill(lc_rng *r, float *x, size_t n, float lo, float hi);

/** x[i] = mean + std * N(0, 1) (Box-Muller; consumes 2 draws per pair of
 *  outputs, an odd n discards the last sine value). */
void lc_rng_normal_fill(lc_rng *r, float *x, size_t n, float mean, float std);

/** Skip delta draws in O(log delta) (PCG's jump-ahead, Brown 1994): r then
 *  gives what it would after delta calls of lc_rng_u32. Kernels use it to
 *  draw disjoint stretches of one sequence on several threads. */
void lc_rng_advance(lc_rng *r, uint64_t delta);

/** out[i] = (lc_rng_u32(r) >= threshold) for i < n: exactly the bytes n
 *  sequential draws give, computed in independent stretches (jump-ahead)
 *  interleaved for instruction-level parallelism and split over the
 *  kernels' threads; r ends where n draws leave it. */
void lc_rng_bernoulli_mask(lc_rng *r, uint8_t *out, size_t n, uint32_t threshold);

/** Copy the state out (for a checkpoint) / back in (on resume). */
void lc_rng_save(const lc_rng *r, uint64_t out[2]);
void lc_rng_restore(lc_rng *r, const uint64_t in[2]);

#endif
