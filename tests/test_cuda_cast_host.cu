/*
 * tests/test_cuda_cast_host.cu — the CUDA kernels' fp16/bf16 conversions
 * (kernels/cuda/cuda_common.cuh, __host__ __device__ integer code) compiled
 * for the host and compared with kernels/half.c bit for bit, NaNs included,
 * so the NaN, Inf, overflow and subnormal rules of the two sides are
 * checked on every build, GPU or not (test_cuda_kernels.c runs the kernels
 * themselves on a GPU):
 *   16 -> 32   all 65,536 values of each format;
 *   32 -> 16   every fp16 value, the midpoints between neighbours +- 1 ulp,
 *              every bf16 tie, the specials, every 4099th fp32 pattern and
 *              4 million random ones;
 *   round      fp32 -> 16 -> fp32 (lc_cuda_round) = lc_round_f16/_bf16.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cuda_common.cuh"
extern "C" {
#include "half.h"
#include "rng.h"
}

/* kernels/half.c, through its array forms (the .cuh has a device function
 * of the same name as the scalar lc_f16_to_f32) */
static float hc_f16_to_f32(uint16_t h)
{
    float f;
    lc_f16_to_f32_array(&f, &h, 1);
    return f;
}

static float hc_bf16_to_f32(uint16_t h)
{
    float f;
    lc_bf16_to_f32_array(&f, &h, 1);
    return f;
}

static uint16_t hc_f32_to_f16(float x)
{
    uint16_t h;
    lc_f32_to_f16_array(&h, &x, 1);
    return h;
}

static uint16_t hc_f32_to_bf16(float x)
{
    uint16_t h;
    lc_f32_to_bf16_array(&h, &x, 1);
    return h;
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_16_to_32_all(void **state)
{
    (void)state;
    size_t nan16 = 0, nanbf = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        uint32_t want = f2u(hc_f16_to_f32(h)), got = lc_f16_to_f32_bits(h);
        if (got != want)
            fail_msg("fp16 0x%04x -> fp32: cuda 0x%08x, half.c 0x%08x", i, got, want);
        nan16 += isnan(u2f(got)) != 0;
        want = f2u(hc_bf16_to_f32(h));
        got = lc_bf16_to_f32_bits(h);
        if (got != want)
            fail_msg("bf16 0x%04x -> fp32: cuda 0x%08x, half.c 0x%08x", i, got, want);
        nanbf += isnan(u2f(got)) != 0;
    }
    assert_int_equal(nan16, 2046); /* every NaN pattern went through the NaN rule */
    assert_int_equal(nanbf, 254);
}

static void check32(float x)
{
    uint32_t u = f2u(x);
    uint16_t g = lc_f32_to_f16_bits(u), w = hc_f32_to_f16(x);
    if (g != w)
        fail_msg("fp32 0x%08x -> fp16: cuda 0x%04x, half.c 0x%04x", u, g, w);
    g = lc_f32_to_bf16_bits(u);
    w = hc_f32_to_bf16(x);
    if (g != w)
        fail_msg("fp32 0x%08x -> bf16: cuda 0x%04x, half.c 0x%04x", u, g, w);
    uint32_t r = lc_f16_to_f32_bits(lc_f32_to_f16_bits(u)), rw = f2u(lc_round_f16(x));
    if (r != rw)
        fail_msg("round 0x%08x to fp16: cuda 0x%08x, half.c 0x%08x", u, r, rw);
    r = lc_bf16_to_f32_bits(lc_f32_to_bf16_bits(u));
    rw = f2u(lc_round_bf16(x));
    if (r != rw)
        fail_msg("round 0x%08x to bf16: cuda 0x%08x, half.c 0x%08x", u, r, rw);
}

static void test_32_to_16(void **state)
{
    (void)state;
    size_t n = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float v = hc_f16_to_f32((uint16_t)h);
        float next = h + 1 < 0x7c00 ? hc_f16_to_f32((uint16_t)(h + 1)) : 65536.0f;
        float mid = (float)(((double)v + (double)next) / 2);
        const float xs[5] = {v, mid, -mid, nextafterf(mid, INFINITY), nextafterf(mid, 0.0f)};
        for (int k = 0; k < 5; k++, n++)
            check32(xs[k]);
    }
    for (uint32_t b = 0; b < 0x7f80; b++, n += 2) {
        check32(u2f((b << 16) | 0x8000u)); /* a bf16 tie */
        check32(u2f(((b << 16) | 0x8000u) ^ 0x80000000u));
    }
    const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                                 0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u,
                                 0x7fbfffffu, 0x7fffffffu, 0x477fefffu, 0x477ff000u,
                                 0x33000000u, 0x33000001u, 0x387fc000u, 0x7f7fffffu,
                                 0x7f7f8000u, 0x00000001u, 0x807fffffu};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++, n++)
        check32(u2f(specials[i]));
    for (uint64_t u = 0; u <= 0xffffffffull; u += 4099, n++)
        check32(u2f((uint32_t)u));
    lc_rng r;
    lc_rng_seed(&r, 2025, 3);
    for (int i = 0; i < (1 << 22); i++, n++)
        check32(u2f(lc_rng_u32(&r)));
    print_message("[ INFO     ] %zu fp32 values: the CUDA conversions give kernels/half.c's "
                  "bits\n", n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_16_to_32_all),
        cmocka_unit_test(test_32_to_16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
