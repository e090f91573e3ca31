/*
 * kernels/rng.c — PCG32 (XSH-RR 64/32), uniform, bounded and normal draws.
 * See rng.h for the choice of generator and why the state is two words.
 */
#include "rng.h"

#include <math.h>

#define LC_PCG_MULT 6364136223846793005ULL

/* ------------------------------------------------------------------------ */
/* Core generator                                                            */

uint32_t lc_rng_u32(lc_rng *r)
{
    uint64_t old = r->state;
    r->state = old * LC_PCG_MULT + r->inc;
    /* Output permutation: xorshift the high bits down, then rotate by the
     * top 5 bits, so the weak low bits of the LCG never reach the output. */
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

void lc_rng_seed(lc_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    lc_rng_u32(r);
    r->state += seed;
    lc_rng_u32(r);
}

void lc_rng_save(const lc_rng *r, uint64_t out[2])
{
    out[0] = r->state;
    out[1] = r->inc;
}

void lc_rng_restore(lc_rng *r, const uint64_t in[2])
{
    r->state = in[0];
    r->inc = in[1] | 1u; /* inc must be odd for a full-period LCG */
}

/* ------------------------------------------------------------------------ */
/* Derived distributions                                                     */

float lc_rng_uniform(lc_rng *r)
{
    /* The top 24 bits scaled by 2^-24: exactly representable, never 1.0. */
    return (float)(lc_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

uint32_t lc_rng_below(lc_rng *r, uint32_t bound)
{
    if (bound == 0)
        return 0;
    /* Reject the low values that would make x % bound biased: accept x only
     * if x >= 2^32 mod bound (the reference pcg32_boundedrand). */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t x = lc_rng_u32(r);
        if (x >= threshold)
            return x % bound;
    }
}

void lc_rng_uniform_fill(lc_rng *r, float *x, size_t n, float lo, float hi)
{
    float span = hi - lo;
    for (size_t i = 0; i < n; i++)
        x[i] = lo + span * lc_rng_uniform(r);
}

/* One Box-Muller pair: u1 in (0, 1] keeps log() finite, u2 in [0, 1). */
static void rng_normal_pair(lc_rng *r, double *z0, double *z1)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - (double)(lc_rng_u32(r) >> 8) * (1.0 / 16777216.0);
    double u2 = (double)(lc_rng_u32(r) >> 8) * (1.0 / 16777216.0);
    double rad = sqrt(-2.0 * log(u1));
    *z0 = rad * cos(two_pi * u2);
    *z1 = rad * sin(two_pi * u2);
}

void lc_rng_normal_fill(lc_rng *r, float *x, size_t n, float mean, float std)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        double z0, z1;
        rng_normal_pair(r, &z0, &z1);
        x[i] = (float)(mean + std * z0);
        x[i + 1] = (float)(mean + std * z1);
    }
    if (i < n) {
        double z0, z1;
        rng_normal_pair(r, &z0, &z1);
        x[i] = (float)(mean + std * z0);
    }
}
