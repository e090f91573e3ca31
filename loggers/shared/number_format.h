/*
 * loggers/shared/number_format.h — doubles as short text that reads back exactly.
 *
 * lc_format_double writes what Python's repr(float) writes, so metrics.csv,
 * hparams.yaml and JSON payloads show the same text Lightning would:
 *   0.1 -> "0.1", 3.0 -> "3.0", 1e-07 -> "1e-07", 1e16 -> "1e+16",
 *   123456789.125 -> "123456789.125", -0.0 -> "-0.0",
 *   NaN -> "nan", +-Inf -> "inf" / "-inf".
 * The digits are the shortest that round-trip through strtod (and, among
 * those, the closest to the exact value); the layout is fixed-point for
 * decimal exponents -4 < x <= 16 (digits before the point: at least "0",
 * after: at least "0"), scientific otherwise with a signed exponent of at
 * least two digits. Finite output is also a valid JSON number.
 *
 * The digits come from the Schubfach algorithm (R. Giulietti, "The
 * Schubfach way to render doubles", 2020), written here from the paper:
 * one 64x128-bit multiplication per bound, no loops over digits, no
 * allocation; about 50 ns a value. Its table of 617 128-bit powers of ten is
 * computed exactly (small bignum) on first use. Thread-safe.
 */
#ifndef LC_NUMBER_FORMAT_H
#define LC_NUMBER_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any output of the functions below, NUL included. */
#define LC_DOUBLE_BUFSZ 32

/* Python repr(v) into buf (at least LC_DOUBLE_BUFSZ bytes), NUL-terminated.
 * Returns the length. */
size_t lc_format_double(double v, char *buf);

/* v in decimal ("-42"), NUL-terminated; buf needs 21 bytes (LC_DOUBLE_BUFSZ
 * is enough). Returns the length. */
size_t lc_format_i64(int64_t v, char *buf);

/* The shortest round-trip decimal of a finite, non-zero |v|:
 * |v| ~ digits * 10^exp10, digits without trailing zeros (1..17 digits).
 * Returns the number of digits, or 0 for zero, NaN and Inf. */
int lc_double_shortest(double v, uint64_t *digits, int *exp10);

/* Compact text for people (progress lines): 4 significant digits with a
 * short exponent ("0.2346", "1.235e+6", "1e-7", "2"), or the exact repr
 * when that is not longer ("12345.0", "0.5"); "nan", "inf", "-inf". buf
 * needs LC_DOUBLE_BUFSZ bytes. Returns the length. */
size_t lc_format_compact(double v, char *buf);

#endif /* LC_NUMBER_FORMAT_H */
