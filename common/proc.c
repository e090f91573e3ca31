/*
 * common/proc.c — who is this process, and is that one still the same one:
 * the boot id and a process's start time from /proc. The hub records them
 * with every run (crash detection), the outbox with every lease, and the
 * trainer checks them before removing a checkpoint writer's temp file.
 */
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lc_boot_id(char *buf, size_t len)
{
    if (!buf || len == 0)
        return -1;
    buf[0] = 0;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (!ok) {
        buf[0] = 0;
        return -1;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    return buf[0] ? 0 : -1;
}

long long lc_proc_start(long long pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Field 2 (comm) is in parentheses and may itself contain spaces and
       ')', so count fields from the last ')': field 3 follows it. */
    char *p = strrchr(line, ')');
    if (!p)
        return -1;
    p++;
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(p + 1, &end, 10);
    return errno || end == p + 1 ? -1 : v;
}
