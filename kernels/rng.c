/*
 * kernels/rng.c — PCG32 (XSH-RR 64/32), uniform, bounded and normal draws.
 * See rng.h for the choice of generator and why the state is two words.
 */
#include "rng.h"

#include <math.h>

#include "par.h"

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

/* One PCG32 output from a state (the permutation of lc_rng_u32). */
static inline uint32_t rng_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

void lc_rng_advance(lc_rng *r, uint64_t delta)
{
    /* Compose the affine map s -> a s + c with itself by squaring:
     * (a, c) after k steps, applied bit by bit of delta (mod 2^64). */
    uint64_t acc_mult = 1, acc_plus = 0, mult = LC_PCG_MULT, plus = r->inc;
    while (delta > 0) {
        if (delta & 1u) {
            acc_mult *= mult;
            acc_plus = acc_plus * mult + plus;
        }
        plus = (mult + 1) * plus;
        mult *= mult;
        delta >>= 1;
    }
    r->state = acc_mult * r->state + acc_plus;
}

/* ---- Bernoulli masks (dropout) ------------------------------------------- */

/* Draws per task, and independent stretches interleaved inside a task: the
 * LCG step is a chain of 64-bit multiplies, so one stretch waits ~4 cycles
 * per draw; RNG_LANES stretches keep the multiplier busy. */
#define RNG_MASK_TASK 8192
#define RNG_LANES 4

typedef struct rng_mask_job {
    lc_rng start;
    uint8_t *out;
    size_t n;
    uint32_t threshold;
} rng_mask_job;

static void rng_mask_task(void *arg, size_t task)
{
    const rng_mask_job *j = arg;
    size_t a = task * RNG_MASK_TASK;
    size_t len = j->n - a < RNG_MASK_TASK ? j->n - a : RNG_MASK_TASK;
    size_t per = len / RNG_LANES;
    uint64_t st[RNG_LANES];
    const uint64_t inc = j->start.inc;
    lc_rng r = j->start;
    lc_rng_advance(&r, a);
    for (int l = 0; l < RNG_LANES; l++) {
        st[l] = r.state;
        lc_rng_advance(&r, per);
    }
    uint8_t *out = j->out + a;
    const uint32_t th = j->threshold;
    for (size_t i = 0; i < per; i++) {
        for (int l = 0; l < RNG_LANES; l++) {
            uint64_t old = st[l];
            st[l] = old * LC_PCG_MULT + inc;
            out[(size_t)l * per + i] = rng_output(old) >= th;
        }
    }
    /* the tail after RNG_LANES * per: r is already positioned there */
    for (size_t i = (size_t)RNG_LANES * per; i < len; i++)
        out[i] = lc_rng_u32(&r) >= th;
}

void lc_rng_bernoulli_mask(lc_rng *r, uint8_t *out, size_t n, uint32_t threshold)
{
    if (n == 0)
        return;
    rng_mask_job j = {*r, out, n, threshold};
    size_t tasks = (n + RNG_MASK_TASK - 1) / RNG_MASK_TASK;
    lc_par_run(tasks, n < LC_PAR_MIN / 2 ? 1 : lc_par_threads(), rng_mask_task, &j);
    lc_rng_advance(r, n);
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
