/*
 * common/proc.h — the boot id and process start times, from /proc (Linux),
 * to tell a live process from a dead one whose pid was reused.
 */
#ifndef LC_COMMON_PROC_H
#define LC_COMMON_PROC_H

#include <stddef.h>

/* This machine's boot id (/proc/sys/kernel/random/boot_id) into buf, "" if
 * unknown. Returns 0, or -1 if it could not be read. */
int lc_boot_id(char *buf, size_t len);

/* Start time of process pid in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or -1 if there is no such process / no /proc. */
long long lc_proc_start(long long pid);

#endif
