/*
 * common/clock.h — the clocks lightc reads, defined once.
 *
 * Wall time (Unix seconds, what every backend stores as a point's time) and
 * a monotonic clock for intervals and deadlines, which never jumps when the
 * wall clock is set.
 */
#ifndef LC_COMMON_CLOCK_H
#define LC_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* One reading of clock c. */
static inline struct timespec lc_clock_read(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts;
}

/* Seconds of a reading, the fraction cut to whole units of ns_step
 * nanoseconds (1: full resolution; 1000000: milliseconds). */
static inline double lc_clock_seconds(struct timespec ts, long ns_step)
{
    return (double)ts.tv_sec + (double)(ts.tv_nsec / ns_step) * (1.0 / (1e9 / (double)ns_step));
}

/* Unix seconds, full resolution. */
static inline double lc_wall_now(void)
{
    return lc_clock_seconds(lc_clock_read(CLOCK_REALTIME), 1);
}

/* Unix seconds at millisecond resolution from the coarse clock (a few ns
 * per call: the log-call hot path stamps every point with it). */
static inline double lc_wall_coarse(void)
{
    return lc_clock_seconds(lc_clock_read(CLOCK_REALTIME_COARSE), 1000000);
}

/* Monotonic seconds (intervals, step timing). */
static inline double lc_mono_now(void)
{
    return lc_clock_seconds(lc_clock_read(CLOCK_MONOTONIC), 1);
}

/* Monotonic milliseconds (deadlines, flush intervals). */
static inline uint64_t lc_mono_ms(void)
{
    struct timespec ts = lc_clock_read(CLOCK_MONOTONIC);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The monotonic time ms milliseconds from now, as a timespec for
 * pthread_cond_timedwait on a CLOCK_MONOTONIC condition variable. */
static inline struct timespec lc_mono_deadline(uint32_t ms)
{
    struct timespec ts = lc_clock_read(CLOCK_MONOTONIC);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
