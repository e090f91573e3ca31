/*
 * kernels/half.c — float32 <-> float16 / bfloat16 conversions (see half.h):
 * portable integer code for every path, F16C for the float16 arrays.
 *
 * float16 layout: s eeeee mmmmmmmmmm, bias 15; float32: bias 127, 23
 * mantissa bits. A normal float32 becomes a normal float16 by rebiasing the
 * exponent (subtract (127 - 15) << 23) and dropping 13 mantissa bits with
 * round-to-nearest-even, done in integers as  r + 0xfff + (r >> 13 & 1):
 * the carry out of the dropped bits bumps the kept ones (and, at the top,
 * the exponent — 65520 rounds up into the Inf pattern, which is why the
 * overflow threshold is 0x477ff000 and not 65504's encoding).
 */
#include "half.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LC_HALF_X86 1
#else
#define LC_HALF_X86 0
#endif

static inline uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* ------------------------------------------------------------------------ */
/* float16, portable                                                         */

static inline uint16_t f32_to_f16(float x)
{
    uint32_t u = f32_bits(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) /* Inf, or NaN made quiet keeping its top payload bits */
        return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0));
    if (a >= 0x477ff000u) /* >= 65520: rounds past 65504 */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* >= 2^-14: a normal float16 */
        uint32_t r = a - 0x38000000u;
        r += 0xfffu + ((r >> 13) & 1u);
        return (uint16_t)(sign | (r >> 13));
    }
    /* a float16 subnormal (units of 2^-24) or zero */
    uint32_t e = a >> 23;
    if (e < 102) /* below 2^-25: rounds to zero (2^-25 itself is a tie, handled below) */
        return sign;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u)))
        q++; /* may carry into 0x400: the smallest normal, correctly encoded */
    return (uint16_t)(sign | q);
}

static inline float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f)
        return bits_f32(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0));
    if (e == 0) {
        /* zero or subnormal: m * 2^-24, exact in float32 */
        float v = (float)m * 0x1p-24f;
        return bits_f32(sign | f32_bits(v));
    }
    return bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

/* ------------------------------------------------------------------------ */
/* bfloat16 (integer code the compiler vectorises)                           */

static inline uint16_t f32_to_bf16(float x)
{
    uint32_t u = f32_bits(x);
    uint32_t nan = (u >> 16) | 0x40u;
    uint32_t rne = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rne);
}

static inline float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    return bits_f32((u & 0x7fffffffu) > 0x7f800000u ? u | 0x400000u : u);
}

static inline float round_bf16(float x)
{
    uint32_t u = f32_bits(x);
    uint32_t nan = (u | 0x400000u) & 0xffff0000u;
    uint32_t rne = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    return bits_f32((u & 0x7fffffffu) > 0x7f800000u ? nan : rne);
}

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */

uint16_t lc_f32_to_f16(float x) { return f32_to_f16(x); }
float lc_f16_to_f32(uint16_t h) { return f16_to_f32(h); }
uint16_t lc_f32_to_bf16(float x) { return f32_to_bf16(x); }
float lc_bf16_to_f32(uint16_t h) { return bf16_to_f32(h); }
float lc_round_f16(float x) { return f16_to_f32(f32_to_f16(x)); }
float lc_round_bf16(float x) { return round_bf16(x); }

/* ------------------------------------------------------------------------ */
/* Arrays, portable                                                          */

void lc_f32_to_f16_array_portable(uint16_t *restrict dst, const float *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f32_to_f16(src[i]);
}

void lc_f16_to_f32_array_portable(float *restrict dst, const uint16_t *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f16_to_f32(src[i]);
}

void lc_round_f16_array_portable(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f16_to_f32(f32_to_f16(src[i]));
}

void lc_f32_to_bf16_array(uint16_t *restrict dst, const float *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f32_to_bf16(src[i]);
}

void lc_bf16_to_f32_array(float *restrict dst, const uint16_t *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = bf16_to_f32(src[i]);
}

void lc_round_bf16_array(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = round_bf16(src[i]);
}

/* ------------------------------------------------------------------------ */
/* Arrays, F16C                                                              */

#if LC_HALF_X86

int lc_half_have_f16c(void)
{
    __builtin_cpu_init(); /* idempotent; needed if called from a constructor */
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
}

/* Round to nearest even, whatever MXCSR says; exceptions masked. */
#define HALF_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

__attribute__((target("avx,f16c"))) void lc_f32_to_f16_array_f16c(uint16_t *dst,
                                                                   const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), HALF_RNE));
    for (; i < n; i++)
        dst[i] = f32_to_f16(src[i]);
}

__attribute__((target("avx,f16c"))) void lc_f16_to_f32_array_f16c(float *dst,
                                                                  const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = f16_to_f32(src[i]);
}

__attribute__((target("avx,f16c"))) void lc_round_f16_array_f16c(float *dst, const float *src,
                                                                 size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), HALF_RNE);
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++)
        dst[i] = f16_to_f32(f32_to_f16(src[i]));
}

#else /* no x86: the F16C names run the portable code */

int lc_half_have_f16c(void)
{
    return 0;
}

void lc_f32_to_f16_array_f16c(uint16_t *dst, const float *src, size_t n)
{
    lc_f32_to_f16_array_portable(dst, src, n);
}

void lc_f16_to_f32_array_f16c(float *dst, const uint16_t *src, size_t n)
{
    lc_f16_to_f32_array_portable(dst, src, n);
}

void lc_round_f16_array_f16c(float *dst, const float *src, size_t n)
{
    lc_round_f16_array_portable(dst, src, n);
}

#endif

/* ------------------------------------------------------------------------ */
/* Arrays, dispatching                                                       */

void lc_f32_to_f16_array(uint16_t *dst, const float *src, size_t n)
{
    if (lc_half_have_f16c())
        lc_f32_to_f16_array_f16c(dst, src, n);
    else
        lc_f32_to_f16_array_portable(dst, src, n);
}

void lc_f16_to_f32_array(float *dst, const uint16_t *src, size_t n)
{
    if (lc_half_have_f16c())
        lc_f16_to_f32_array_f16c(dst, src, n);
    else
        lc_f16_to_f32_array_portable(dst, src, n);
}

void lc_round_f16_array(float *dst, const float *src, size_t n)
{
    if (lc_half_have_f16c())
        lc_round_f16_array_f16c(dst, src, n);
    else
        lc_round_f16_array_portable(dst, src, n);
}

void lc_round_array(lc_dtype fmt, float *dst, const float *src, size_t n)
{
    switch (fmt) {
    case LC_DTYPE_F16: lc_round_f16_array(dst, src, n); break;
    case LC_DTYPE_BF16: lc_round_bf16_array(dst, src, n); break;
    case LC_DTYPE_F32:
        if (dst != src)
            memmove(dst, src, n * sizeof *dst);
        break;
    }
}
