/*
 * cli/fmt.h — how lightc prints times, durations and numbers: local times
 * "2026-11-29 10:00:05", durations "1h02m", values "%.6g" in tables and
 * shortest exact (round-trip) text in exports; NaN/Inf spelled nan/inf/-inf.
 */
#ifndef CLI_FMT_H
#define CLI_FMT_H

#include <stddef.h>

/* Unix seconds as local "YYYY-MM-DD HH:MM:SS"; "-" when unknown (NaN). */
void cli_fmt_time(double unix_seconds, char *buf, size_t n);

/* Seconds as "42s", "3m05s", "1h02m", "2d03h"; "-" when unknown (NaN or
 * negative). */
void cli_fmt_duration(double seconds, char *buf, size_t n);

/* A metric value for a table: "%.6g", or nan / inf / -inf. */
void cli_fmt_value(double v, char *buf, size_t n);

/* The shortest text that reads back as exactly v (strtod), or nan / inf /
 * -inf. buf needs at least 32 bytes. */
void cli_fmt_exact(double v, char *buf, size_t n);

#endif /* CLI_FMT_H */
