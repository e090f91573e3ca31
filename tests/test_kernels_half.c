/*
 * tests/test_kernels_half.c — float32 <-> float16 / bfloat16 conversions:
 * all 65,536 values of each 16-bit format against an independent decoder
 * and back (exact for every non-NaN, NaN stays NaN with its sign), known
 * vectors (65504, 65520 -> Inf, 2^-24, the 2^-25 tie, 1/3 in bfloat16,
 * NaN payloads, ...), round-to-nearest-even checked as a property over a
 * sweep of float32 bit patterns, and the F16C path against the portable
 * one on a large sweep (when the CPU has F16C; the test says so if not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"

static uint32_t bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* ---- independent decoders ------------------------------------------------ */

/* float16 value of h by the definition (NaN patterns give NaN). */
static double ref_f16(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp((double)m, -24);
    else
        v = ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

static double ref_bf16(uint16_t h)
{
    int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
    double v;
    if (e == 255)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp((double)m, -133);
    else
        v = ldexp(1.0 + m / 128.0, e - 127);
    return s ? -v : v;
}

/* ---- exhaustive over the 16-bit formats ---------------------------------- */

typedef void (*to32_fn)(float *, const uint16_t *, size_t);
typedef void (*to16_fn)(uint16_t *, const float *, size_t);

static void check_all_16(int bf, to32_fn up, to16_fn down, const char *what)
{
    enum { N = 65536 };
    uint16_t *h = malloc(N * sizeof *h), *back = malloc(N * sizeof *back);
    float *f = malloc(N * sizeof *f);
    assert_non_null(h);
    assert_non_null(back);
    assert_non_null(f);
    for (uint32_t i = 0; i < N; i++)
        h[i] = (uint16_t)i;
    up(f, h, N);
    down(back, f, N);
    int nans = 0;
    for (uint32_t i = 0; i < N; i++) {
        double want = bf ? ref_bf16(h[i]) : ref_f16(h[i]);
        float scalar = bf ? lc_bf16_to_f32(h[i]) : lc_f16_to_f32(h[i]);
        if (isnan(want)) {
            nans++;
            if (!isnan(f[i]) || !isnan(scalar) || (bits(f[i]) >> 31) != (uint32_t)(h[i] >> 15))
                fail_msg("%s: NaN 0x%04x -> 0x%08x", what, h[i], bits(f[i]));
            /* quiet in float32, and quiet + NaN + same sign back in 16 bits */
            assert_true(bits(f[i]) & 0x400000u);
            uint16_t qbit = bf ? 0x40 : 0x200;
            uint16_t expo = bf ? 0x7f80 : 0x7c00;
            if ((back[i] & expo) != expo || !(back[i] & qbit) || (back[i] >> 15) != (h[i] >> 15))
                fail_msg("%s: NaN 0x%04x came back as 0x%04x", what, h[i], back[i]);
            continue;
        }
        if ((double)f[i] != want || bits(f[i]) != bits(scalar) || (signbit(f[i]) != 0) != (h[i] >> 15))
            fail_msg("%s: 0x%04x -> %.9g (0x%08x), expected %.9g", what, h[i], (double)f[i],
                     bits(f[i]), want);
        if (back[i] != h[i])
            fail_msg("%s: 0x%04x -> %.9g -> 0x%04x, not exact", what, h[i], (double)f[i], back[i]);
        uint16_t sb = bf ? lc_f32_to_bf16(f[i]) : lc_f32_to_f16(f[i]);
        assert_int_equal(sb, h[i]);
    }
    assert_int_equal(nans, bf ? 2 * 127 : 2 * 1023);
    free(h);
    free(back);
    free(f);
}

static void test_f16_exhaustive(void **s)
{
    (void)s;
    check_all_16(0, lc_f16_to_f32_array, lc_f32_to_f16_array, "f16 dispatch");
    check_all_16(0, lc_f16_to_f32_array_portable, lc_f32_to_f16_array_portable, "f16 portable");
    if (lc_half_have_f16c())
        check_all_16(0, lc_f16_to_f32_array_f16c, lc_f32_to_f16_array_f16c, "f16 F16C");
    else
        print_message("[ SKIPPED  ] no F16C on this CPU: the F16C path is not exercised\n");
}

static void test_bf16_exhaustive(void **s)
{
    (void)s;
    check_all_16(1, lc_bf16_to_f32_array, lc_f32_to_bf16_array, "bf16");
}

/* ---- known vectors --------------------------------------------------------- */

static void test_f16_vectors(void **s)
{
    (void)s;
    static const struct {
        float x;
        uint16_t h;
    } v[] = {
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {1.0f, 0x3c00},
        {-2.0f, 0xc000},
        {0.1f, 0x2e66},
        {1.0f / 3.0f, 0x3555},
        {65504.0f, 0x7bff},                  /* the largest float16 */
        {65519.0f, 0x7bff},                  /* below the midpoint */
        {65520.0f, 0x7c00},                  /* the midpoint: ties to even = Inf */
        {-65520.0f, 0xfc00},
        {1e6f, 0x7c00},
        {0x1p-14f, 0x0400},                  /* the smallest normal */
        {0x1p-24f, 0x0001},                  /* the smallest subnormal */
        {0x1p-25f, 0x0000},                  /* a tie between 0 and 2^-24: even = 0 */
        {-0x1p-25f, 0x8000},
        {0x1.000002p-25f, 0x0001},           /* just above the tie */
        {0x1.8p-24f, 0x0002},                /* 1.5 units: tie, even = 2 */
        {0x1.4p-23f, 0x0002},                /* 2.5 units: tie, even = 2 */
        {0x1.ff8p-15f, 0x03ff},              /* the largest subnormal */
        {0x1.ffcp-15f, 0x0400},              /* its tie with 2^-14 rounds up to even */
        {0x1.ffbp-15f, 0x03ff},
        {1e-8f, 0x0000},
        {3e-8f, 0x0001},
        {1.0f + 0x1p-11f, 0x3c00},           /* tie: even mantissa 0 */
        {1.0f + 3 * 0x1p-11f, 0x3c02},       /* tie: even mantissa 2 */
        {1.0f + 0x1p-11f + 0x1p-23f, 0x3c01},
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint16_t got = lc_f32_to_f16(v[i].x);
        if (got != v[i].h)
            fail_msg("f16(%a) = 0x%04x, expected 0x%04x", (double)v[i].x, got, v[i].h);
        uint16_t arr[9];
        float in[9];
        for (int k = 0; k < 9; k++)
            in[k] = v[i].x;
        lc_f32_to_f16_array(arr, in, 9); /* one vector of 8 and the scalar tail */
        assert_int_equal(arr[0], v[i].h);
        assert_int_equal(arr[8], v[i].h);
    }
    /* NaN: quiet, sign and top payload bits kept, also for a signalling NaN */
    assert_int_equal(lc_f32_to_f16(from_bits(0x7fc00000u)), 0x7e00);
    assert_int_equal(lc_f32_to_f16(from_bits(0xffc00001u)), 0xfe00);
    assert_int_equal(lc_f32_to_f16(from_bits(0x7f800001u)), 0x7e00);
    assert_int_equal(lc_f32_to_f16(from_bits(0x7fa00000u)), 0x7f00);
    assert_int_equal(lc_f32_to_f16(from_bits(0x7f802000u)), 0x7e01);
    assert_int_equal(bits(lc_f16_to_f32(0x7c01)), 0x7fc02000u);
    assert_int_equal(bits(lc_f16_to_f32(0xfe01)), 0xffc02000u);
    assert_int_equal(bits(lc_f16_to_f32(0x0001)), bits(0x1p-24f));
    assert_int_equal(bits(lc_f16_to_f32(0x03ff)), bits(0x1.ff8p-15f));
    /* round */
    assert_int_equal(bits(lc_round_f16(65519.0f)), bits(65504.0f));
    assert_true(isinf(lc_round_f16(65520.0f)));
    assert_int_equal(bits(lc_round_f16(0.1f)), bits(0.0999755859375f));
}

static void test_bf16_vectors(void **s)
{
    (void)s;
    static const struct {
        uint32_t x;
        uint16_t h;
    } v[] = {
        {0x3f800000u, 0x3f80},   /* 1 */
        {0x3eaaaaabu, 0x3eab},   /* 1/3 -> 0.333984375 */
        {0xbeaaaaabu, 0xbeab},
        {0x3f808000u, 0x3f80},   /* 1 + 2^-8: tie, even */
        {0x3f818000u, 0x3f82},   /* tie, even (up) */
        {0x3f808001u, 0x3f81},
        {0x7f7f7fffu, 0x7f7f},   /* just below the midpoint above the max */
        {0x7f7f8000u, 0x7f80},   /* the midpoint: odd max rounds up to Inf */
        {0x7f7fffffu, 0x7f80},   /* FLT_MAX overflows */
        {0xff7fffffu, 0xff80},
        {0x00000001u, 0x0000},   /* float32 subnormals keep rounding right */
        {0x00008000u, 0x0000},   /* tie to even */
        {0x00018000u, 0x0002},
        {0x00010000u, 0x0001},
        {0x807fffffu, 0x8080},   /* the largest subnormal rounds up to the smallest normal */
        {0x7f800000u, 0x7f80},
        {0xff800000u, 0xff80},
        {0x80000000u, 0x8000},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint16_t got = lc_f32_to_bf16(from_bits(v[i].x));
        if (got != v[i].h)
            fail_msg("bf16(0x%08x) = 0x%04x, expected 0x%04x", v[i].x, got, v[i].h);
        float r = lc_round_bf16(from_bits(v[i].x));
        assert_int_equal(bits(r), (uint32_t)v[i].h << 16);
    }
    assert_true(fabs((double)lc_bf16_to_f32(0x3eab) - 0.333984375) == 0.0);
    assert_int_equal(lc_f32_to_bf16(from_bits(0x7f800001u)), 0x7fc0);
    assert_int_equal(lc_f32_to_bf16(from_bits(0xff800001u)), 0xffc0);
    assert_int_equal(lc_f32_to_bf16(from_bits(0x7fc12345u)), 0x7fc1);
    assert_int_equal(bits(lc_bf16_to_f32(0x7f81)), 0x7fc10000u);
    assert_int_equal(bits(lc_round_bf16(from_bits(0x7f800001u))), 0x7fc00000u);
}

/* ---- round to nearest even, as a property ---------------------------------- */

/* h must be the format value nearest to x, ties to the even encoding, with
 * x's sign; Inf exactly when |x| is at or past the midpoint between the
 * largest finite value and the next power of two. */
static void check_nearest(float x, uint16_t h, int bf)
{
    uint16_t mag = h & 0x7fff;
    uint16_t inf = bf ? 0x7f80 : 0x7c00;
    double (*dec)(uint16_t) = bf ? ref_bf16 : ref_f16;
    double ax = fabs((double)x);
    if (isnan(x))
        return;
    if ((h >> 15) != (bits(x) >> 31))
        fail_msg("sign of 0x%08x lost (0x%04x)", bits(x), h);
    if (mag == inf) {
        double top = dec(inf - 1), step = top - dec(inf - 2);
        if (!(ax >= top + step / 2) && !isinf(x))
            fail_msg("0x%08x became Inf (0x%04x) below the overflow threshold", bits(x), h);
        return;
    }
    if (mag > inf)
        fail_msg("0x%08x became NaN", bits(x));
    double v = dec(mag), d = fabs(ax - v);
    for (int k = -1; k <= 1; k += 2) {
        int nb = (int)mag + k;
        if (nb < 0 || nb >= inf)
            continue;
        double dn = fabs(ax - dec((uint16_t)nb));
        if (dn < d || (dn == d && (mag & 1)))
            fail_msg("0x%08x -> 0x%04x is not the nearest-even value (neighbour 0x%04x)", bits(x),
                     h, nb);
    }
    if (mag == inf - 1) { /* the largest finite value: x must be below the midpoint to Inf */
        double step = v - dec(inf - 2);
        if (ax >= v + step / 2)
            fail_msg("0x%08x should have overflowed to Inf", bits(x));
    }
}

static void test_round_nearest_even_sweep(void **s)
{
    (void)s;
    /* every high part with the low bits at and around the rounding points */
    static const uint32_t low13[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff};
    static const uint32_t low16[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff};
    for (uint32_t hi = 0; hi < (1u << 19); hi++)
        for (size_t k = 0; k < 6; k++) {
            float x = from_bits(hi << 13 | low13[k]);
            check_nearest(x, lc_f32_to_f16(x), 0);
        }
    for (uint32_t hi = 0; hi < (1u << 16); hi++)
        for (size_t k = 0; k < 6; k++) {
            float x = from_bits(hi << 16 | low16[k]);
            check_nearest(x, lc_f32_to_bf16(x), 1);
        }
    /* and a spread of arbitrary patterns */
    for (uint64_t u = 0; u < (1ull << 32); u += 4099) {
        float x = from_bits((uint32_t)u);
        check_nearest(x, lc_f32_to_f16(x), 0);
        check_nearest(x, lc_f32_to_bf16(x), 1);
    }
}

/* ---- F16C against portable --------------------------------------------------- */

static void test_f16c_matches_portable(void **s)
{
    (void)s;
    if (!lc_half_have_f16c()) {
        print_message("[ SKIPPED  ] no F16C on this CPU: nothing to compare\n");
        return;
    }
    enum { CHUNK = 1 << 16 };
    float *x = malloc(CHUNK * sizeof *x), *ra = malloc(CHUNK * sizeof *ra),
          *rb = malloc(CHUNK * sizeof *rb);
    uint16_t *a = malloc(CHUNK * sizeof *a), *b = malloc(CHUNK * sizeof *b);
    assert_true(x && ra && rb && a && b);
    /* about 73 million float32 patterns: an odd stride covers every
       exponent and low-bit combination; the tie patterns come after */
    uint64_t u = 0, checked = 0;
    while (u < (1ull << 32)) {
        size_t n = 0;
        for (; n < CHUNK && u < (1ull << 32); n++, u += 59)
            x[n] = from_bits((uint32_t)u);
        lc_f32_to_f16_array_portable(a, x, n);
        lc_f32_to_f16_array_f16c(b, x, n);
        lc_round_f16_array_portable(ra, x, n);
        lc_round_f16_array_f16c(rb, x, n);
        for (size_t i = 0; i < n; i++) {
            if (a[i] != b[i])
                fail_msg("0x%08x: portable 0x%04x, F16C 0x%04x", bits(x[i]), a[i], b[i]);
            if (bits(ra[i]) != bits(rb[i]))
                fail_msg("round 0x%08x: portable 0x%08x, F16C 0x%08x", bits(x[i]), bits(ra[i]),
                         bits(rb[i]));
        }
        checked += n;
    }
    for (uint32_t hi = 0; hi < (1u << 19); hi += CHUNK / 8) {
        size_t n = 0;
        for (uint32_t h2 = hi; h2 < hi + CHUNK / 8 && h2 < (1u << 19); h2++) {
            static const uint32_t low13[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff,
                                             0x0800, 0x17ff};
            for (int k = 0; k < 8; k++)
                x[n++] = from_bits(h2 << 13 | low13[k]);
        }
        lc_f32_to_f16_array_portable(a, x, n);
        lc_f32_to_f16_array_f16c(b, x, n);
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                fail_msg("0x%08x: portable 0x%04x, F16C 0x%04x", bits(x[i]), a[i], b[i]);
        checked += n;
    }
    assert_true(checked > 70000000u);
    /* odd lengths and unaligned starts exercise the scalar tails */
    for (size_t n = 0; n < 40; n++) {
        for (size_t i = 0; i < n + 3; i++)
            x[i] = (float)i * 1234.567f - 9000.0f;
        lc_f32_to_f16_array_portable(a, x + 3, n);
        lc_f32_to_f16_array_f16c(b, x + 3, n);
        assert_memory_equal(a, b, n * sizeof *a);
    }
    free(x);
    free(ra);
    free(rb);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_exhaustive),
        cmocka_unit_test(test_bf16_exhaustive),
        cmocka_unit_test(test_f16_vectors),
        cmocka_unit_test(test_bf16_vectors),
        cmocka_unit_test(test_round_nearest_even_sweep),
        cmocka_unit_test(test_f16c_matches_portable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
