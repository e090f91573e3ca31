/*
 * tests/helpers/lc_format_dump.c — print doubles as lc_format_double text
 * for tests/integration/test_number_format.py, which compares each line
 * with Python's repr().
 *
 * Usage: lc_format_dump [count]   (default 200000)
 * Each line: the 16 hex digits of the double's bits, a space, the text.
 * Values: random bit patterns, random float32 values, the smallest
 * subnormals, both ends of every binade, and decimal-looking values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/number_format.h"

static uint64_t state = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static void emit(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    char buf[LC_DOUBLE_BUFSZ];
    lc_format_double(v, buf);
    printf("%016llx %s\n", (unsigned long long)bits, buf);
}

static void emit_double(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    emit(b);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    for (long i = 0; i < n; i++)
        emit(next());
    for (long i = 0; i < n / 2; i++) {
        uint32_t u = (uint32_t)next();
        float f;
        memcpy(&f, &u, sizeof f);
        emit_double((double)f);
    }
    for (uint64_t b = 0; b < 2000; b++)
        emit(b);
    for (uint64_t ex = 0; ex < 2048; ex++)
        for (int d = -2; d <= 2; d++)
            emit((ex << 52) + (uint64_t)(int64_t)d);
    for (long i = -5000; i <= 5000; i++) {
        emit_double((double)i);
        emit_double((double)i / 1000.0);
        emit_double((double)i * 1e-7);
    }
    return 0;
}
