/*
 * loggers/bus/prof_hook.h — the one place a profiler reaches into the hub's
 * dispatcher thread. NULL (the default) costs the dispatcher one predictable
 * branch per sink call; a profiler (trainer/profiler.c) stores a function
 * here while it runs and clears it before it is freed. begin is 1 when the
 * sink call starts, 0 when it returns; sink is the sink's name ("sqlite"),
 * what the entry ("write_batch", "flush").
 */
#ifndef LC_BUS_PROF_HOOK_H
#define LC_BUS_PROF_HOOK_H

#include <stdatomic.h>

typedef void (*lc_bus_prof_fn)(int begin, const char *sink, const char *what);

extern _Atomic(lc_bus_prof_fn) lc_bus_prof_hook;

/* The hook now (relaxed: a call that misses a change just goes unprofiled). */
static inline lc_bus_prof_fn lc_bus_prof_get(void)
{
    return atomic_load_explicit(&lc_bus_prof_hook, memory_order_relaxed);
}

#endif
