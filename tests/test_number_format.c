/*
 * tests/test_number_format.c — shortest round-trip doubles: Python repr
 * text for known values, round trip and minimal digit count for random
 * doubles, floats and every binade (which reaches every entry of the power
 * table), and the compact console form. tests/integration/
 * test_number_format.py also compares with Python's repr itself.
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

#include "shared/number_format.h"

static void expect_repr(double v, const char *want)
{
    char buf[LC_DOUBLE_BUFSZ];
    size_t n = lc_format_double(v, buf);
    if (strcmp(buf, want) != 0)
        fail_msg("%a: got \"%s\", want \"%s\"", v, buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_python_repr_text(void **state)
{
    (void)state;
    expect_repr(0.1, "0.1");
    expect_repr(3.0, "3.0");
    expect_repr(-2.5, "-2.5");
    expect_repr(1e-07, "1e-07");
    expect_repr(1.5e-05, "1.5e-05");
    expect_repr(0.0001, "0.0001");
    expect_repr(0.00015, "0.00015");
    expect_repr(1e16, "1e+16");
    expect_repr(1e15, "1000000000000000.0");
    expect_repr(9999999999999998.0, "9999999999999998.0");
    expect_repr(123456789.125, "123456789.125");
    expect_repr(1e22, "1e+22");
    expect_repr(1e23, "1e+23");
    expect_repr(2.0 / 3.0, "0.6666666666666666");
    expect_repr((double)0.1f, "0.10000000149011612");
    expect_repr(0.0, "0.0");
    expect_repr(-0.0, "-0.0");
    expect_repr(NAN, "nan");
    expect_repr(INFINITY, "inf");
    expect_repr(-INFINITY, "-inf");
    expect_repr(5e-324, "5e-324");
    expect_repr(1e-323, "1e-323");
    expect_repr(2.2250738585072014e-308, "2.2250738585072014e-308");
    expect_repr(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_repr(ldexp(1.0, -1017), "7.120236347223045e-307"); /* narrow lower gap */
    expect_repr(9007199254740993.0, "9007199254740992.0");
    expect_repr(1234567.0, "1234567.0");
    expect_repr(-1e100, "-1e+100");

    uint64_t d;
    int e;
    assert_int_equal(lc_double_shortest(0.125, &d, &e), 3);
    assert_true(d == 125 && e == -3);
    assert_int_equal(lc_double_shortest(-4e20, &d, &e), 1);
    assert_true(d == 4 && e == 20);
    assert_int_equal(lc_double_shortest(0.0, &d, &e), 0);
    assert_int_equal(lc_double_shortest(NAN, &d, &e), 0);
    assert_int_equal(lc_double_shortest(-INFINITY, &d, &e), 0);
}

/* v's text reads back as v, and no decimal with one digit less does. */
static void check_shortest(double v)
{
    if (!isfinite(v) || v == 0)
        return;
    char buf[LC_DOUBLE_BUFSZ];
    lc_format_double(v, buf);
    if (strtod(buf, NULL) != v)
        fail_msg("%a: \"%s\" does not read back", v, buf);
    uint64_t d;
    int e;
    int n = lc_double_shortest(v, &d, &e);
    assert_true(n >= 1 && n <= 17);
    if (n == 1)
        return;
    /* the (n-1)-digit decimals next to v: (d/10 - 1 .. d/10 + 1) * 10^(e+1) */
    for (int k = -1; k <= 1; k++) {
        char c[64];
        snprintf(c, sizeof c, "%s%llue%d", v < 0 ? "-" : "", (unsigned long long)(d / 10 + (uint64_t)(int64_t)k),
                 e + 1);
        if (strtod(c, NULL) == v)
            fail_msg("%a: \"%s\" is shorter than \"%s\"", v, c, buf);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static void test_round_trip_and_shortest(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++)
        check_shortest(from_bits(rng()));
    for (int i = 0; i < 50000; i++) {
        uint32_t u = (uint32_t)rng();
        float x;
        memcpy(&x, &u, sizeof x);
        check_shortest((double)x);
    }
    for (uint64_t b = 1; b < 5000; b++) /* the smallest subnormals */
        check_shortest(from_bits(b));
    for (uint64_t ex = 0; ex < 2047; ex++) { /* every binade: both ends and inside */
        uint64_t m[5] = {0, 1, (1ULL << 52) - 1, rng() & ((1ULL << 52) - 1), 1ULL << 51};
        for (int j = 0; j < 5; j++)
            check_shortest(from_bits((ex << 52) | m[j]));
    }
    for (int i = -20000; i <= 20000; i++) {
        check_shortest(i);
        check_shortest(i / 1000.0);
        check_shortest(i * 1e-7);
    }
}

static void expect_compact(double v, const char *want)
{
    char buf[LC_DOUBLE_BUFSZ];
    size_t n = lc_format_compact(v, buf);
    if (strcmp(buf, want) != 0)
        fail_msg("compact %g: got \"%s\", want \"%s\"", v, buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_i64(void **state)
{
    (void)state;
    static const int64_t v[] = {0, 7, -7, 10, 1234567890123LL, INT64_MAX, INT64_MIN};
    static const char *want[] = {"0", "7", "-7", "10", "1234567890123", "9223372036854775807",
                                 "-9223372036854775808"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char buf[LC_DOUBLE_BUFSZ];
        assert_int_equal(lc_format_i64(v[i], buf), strlen(want[i]));
        assert_string_equal(buf, want[i]);
    }
}

static void test_compact(void **state)
{
    (void)state;
    expect_compact(0.23456789, "0.2346");
    expect_compact(2.0, "2");
    expect_compact(0.5, "0.5");
    expect_compact(123456.0, "123456.0"); /* as long as "1.235e+5": the exact one */
    expect_compact(1234567.0, "1.235e+6");
    expect_compact(12345.0, "12345.0");
    expect_compact(1e-7, "1e-7");
    expect_compact(-3.14159e-12, "-3.142e-12");
    expect_compact(1e300, "1e+300");
    expect_compact(NAN, "nan");
    expect_compact(-INFINITY, "-inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_repr_text),
        cmocka_unit_test(test_round_trip_and_shortest),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_i64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
