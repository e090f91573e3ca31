/*
 * cli/fmt.c — time, duration and number formatting (see fmt.h).
 */
#include "fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void cli_fmt_time(double unix_seconds, char *buf, size_t n)
{
    if (!isfinite(unix_seconds) || unix_seconds < 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, n, "-");
}

void cli_fmt_duration(double seconds, char *buf, size_t n)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, n, "-");
        return;
    }
    long long s = (long long)seconds;
    if (s < 60)
        snprintf(buf, n, "%llds", s);
    else if (s < 3600)
        snprintf(buf, n, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, n, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, n, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
}

/* nan / inf / -inf; returns 1 if v was one of them. */
static int fmt_nonfinite(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "nan");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else
        return 0;
    return 1;
}

void cli_fmt_value(double v, char *buf, size_t n)
{
    if (!fmt_nonfinite(v, buf, n))
        snprintf(buf, n, "%.6g", v);
}

void cli_fmt_exact(double v, char *buf, size_t n)
{
    if (fmt_nonfinite(v, buf, n))
        return;
    /* 17 significant digits always round-trip; fewer usually do and read
       better ("0.1" rather than "0.10000000000000001"). */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}
