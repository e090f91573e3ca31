/*
 * kernels/cuda/cuda_common.cuh — device-side helpers the .cu files share:
 * the grid-stride loop, warp reductions, and the fp16/bf16 conversions as
 * integer code (so casts are bit-exact and NaNs follow one documented rule,
 * whatever the intrinsics of a CUDA version do): the rules of kernels/half.c
 * — round to nearest even, overflow to Inf, subnormals kept, and every NaN
 * made quiet keeping its sign and leading payload bits in both directions
 * (tests/test_cuda_cast_host.cu checks these functions against half.c on
 * the host; tests/test_cuda_kernels.c the kernels on a GPU).
 *
 * Numerics: nvcc contracts a * b + c into one fused multiply-add by default,
 * which rounds once instead of twice and so differs from the CPU kernels
 * (compiled as C11, which contracts nothing). Kernels that promise the
 * CPU's bits spell their arithmetic with __fmul_rn / __fadd_rn / __fdiv_rn /
 * __dmul_rn / __dadd_rn, which are never contracted.
 */
#ifndef LC_CUDA_COMMON_CUH
#define LC_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "cuda_internal.h"

/* for (size_t i = first; i < n; i += stride) over the whole grid */
#define LC_GRID_LOOP(i, n)                                                                   \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n);          \
         i += (size_t)blockDim.x * gridDim.x)

#define LC_FULL_MASK 0xffffffffu

/* ------------------------------------------------------------------------ */
/* Launch                                                                    */

/* Enqueue kernel<<<grid(n), LC_CUDA_THREADS>>> on ctx's stream and check the
 * launch. n == 0 launches nothing. */
#define LC_LAUNCH_N(ctx, op, n, kernel, ...)                                                  \
    do {                                                                                      \
        if ((n) == 0)                                                                         \
            return LC_OK;                                                                     \
        kernel<<<lc_cuda_grid((ctx), (n)), LC_CUDA_THREADS, 0, (ctx)->stream>>>(__VA_ARGS__); \
        return lc_cuda_launched(op);                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* 16-bit float conversions (round to nearest even)                          */

/* fp32 -> fp16. NaN -> quiet NaN with the sign and the top 10 payload bits;
 * |x| >= 65520 (half-way past the largest half, 65504) -> Inf; values below
 * 2^-14 become subnormals, rounded at 2^-24. */
__host__ __device__ static inline uint16_t lc_f32_to_f16_bits(uint32_t x)
{
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {
        /* Subnormal half: k = m * 2^(e - 126) units of 2^-24, m with its
         * implicit bit; shift by s = 126 - e >= 14, rounding to even. */
        uint32_t e = ax >> 23;
        if (e < 102)
            return (uint16_t)sign; /* < 2^-25: rounds to zero */
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t s = 126u - e;
        uint32_t k = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1u);
        k += (rem > half) || (rem == half && (k & 1u));
        return (uint16_t)(sign | k);
    }
    /* Normal: add just under half an ulp, plus the ulp's parity (ties to
     * even), let the carry ripple into the exponent, rebias 127 -> 15. */
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

/* fp16 -> fp32 (exact). A NaN comes out quiet, with its sign and its
 * payload moved up (kernels/half.c's rule, and x86's VCVTPH2PS's). */
__host__ __device__ static inline uint32_t lc_f16_to_f32_bits(uint16_t h)
{
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t e = ((uint32_t)h >> 10) & 0x1fu, m = (uint32_t)h & 0x3ffu;
    if (e == 0x1fu)
        return sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0u);
    if (e == 0) {
        if (m == 0)
            return sign;
        /* subnormal: normalise m * 2^-24 */
        uint32_t exp = 113u; /* 2^-14's biased fp32 exponent, before shifting */
        while (!(m & 0x400u)) {
            m <<= 1;
            exp--;
        }
        return sign | (exp << 23) | ((m & 0x3ffu) << 13);
    }
    return sign | ((e + 112u) << 23) | (m << 13);
}

/* fp32 -> bf16: NaN -> quiet NaN keeping sign and top payload; otherwise
 * round the low 16 bits away to nearest even (overflow carries into Inf). */
__host__ __device__ static inline uint16_t lc_f32_to_bf16_bits(uint32_t x)
{
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x0040u);
    uint32_t r = x + 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(r >> 16);
}

/* bf16 -> fp32 (exact); a NaN comes out quiet (kernels/half.c's rule). */
__host__ __device__ static inline uint32_t lc_bf16_to_f32_bits(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    return (u & 0x7fffffffu) > 0x7f800000u ? (u | 0x400000u) : u;
}

__device__ static inline float lc_f16_value(uint16_t h)
{
    return __uint_as_float(lc_f16_to_f32_bits(h));
}

/* ------------------------------------------------------------------------ */
/* Warp reductions (fixed butterfly order: deterministic)                    */

__device__ static inline double lc_warp_sum_double(double v)
{
    for (int off = 16; off > 0; off >>= 1)
        v = __dadd_rn(v, __shfl_xor_sync(LC_FULL_MASK, v, off));
    return v;
}

__device__ static inline float lc_warp_max(float v)
{
    for (int off = 16; off > 0; off >>= 1)
        v = fmaxf(v, __shfl_xor_sync(LC_FULL_MASK, v, off));
    return v;
}

#endif
