/*
 * trainer/ckpt_stale.c — removing the temp files that killed checkpoint
 * writers leave behind (see lc_ckpt_remove_stale in ckpt_file.h).
 *
 * lc_ckpt_write_atomic writes "<path>.tmp-<pid>" and renames it over path;
 * a process killed in between (SIGKILL, the OOM killer, a power cut) leaves
 * the temp file, a whole checkpoint (MBs), behind for good. When fit starts
 * using a checkpoint directory, each "*.ckpt.tmp-<pid>" in it whose writer
 * cannot be alive any more is removed:
 *
 *   - no process has that pid on this host (kill(pid, 0) says ESRCH), or
 *   - the process with that pid started after the file was last written:
 *     the pid was reused (common in containers, where a new lightc often
 *     gets the killed one's pid), so it is not the writer.
 *
 * A file whose writer may be alive is kept: ModelCheckpoint's dirpath may be
 * shared by runs going on at the same time, and removing a live writer's
 * temp file would fail its rename. Pids are per host, so a directory shared
 * with another host (a network file system) is not supported here.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ckpt_file.h"
#include "common/proc.h"

#define TMP_MARK ".ckpt.tmp-"

/* The pid in "<anything>.ckpt.tmp-<digits>", or 0 if name is not one. */
static long stale_pid_of(const char *name)
{
    const char *m = strstr(name, TMP_MARK);
    if (!m || m == name)
        return 0;
    const char *d = m + sizeof TMP_MARK - 1;
    while (strstr(d, TMP_MARK)) /* the last mark counts */
        d = strstr(d, TMP_MARK) + sizeof TMP_MARK - 1;
    if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 9)
        return 0;
    return strtol(d, NULL, 10);
}

/* Boot time in Unix seconds (/proc/stat "btime"), or -1. */
static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[256];
    long long bt = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

/* When process pid started, in Unix seconds, or -1 if unknown. */
static double process_start(long pid, long long btime)
{
    long long ticks = lc_proc_start(pid);
    long hz = sysconf(_SC_CLK_TCK);
    if (ticks < 0 || hz <= 0 || btime < 0)
        return -1;
    return (double)btime + (double)ticks / (double)hz;
}

/* 1 if the process that wrote a temp file last modified at mtime under pid
 * cannot be alive. */
static int writer_gone(long pid, double mtime, long long btime)
{
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 1;
    double started = process_start(pid, btime);
    /* 2 s of slack: btime is whole seconds and drifts a little */
    return started > 0 && mtime < started - 2.0;
}

int lc_ckpt_remove_stale(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return 0; /* no directory yet: nothing left behind */
    long long btime = boot_time();
    int removed = 0;
    unsigned long long bytes = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = stale_pid_of(de->d_name);
        if (pid <= 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        double mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
        if (!writer_gone(pid, mtime, btime))
            continue;
        if (unlink(path) != 0) {
            if (errno != ENOENT)
                fprintf(stderr, "lightc: warning: cannot remove stale checkpoint temp file '%s': %s\n",
                        path, strerror(errno));
            continue;
        }
        removed++;
        bytes += (unsigned long long)st.st_size;
    }
    closedir(d);
    if (removed)
        fprintf(stderr,
                "lightc: removed %d stale checkpoint temp file%s (%.1f MB) left in %s by "
                "checkpoint writers that were killed\n",
                removed, removed == 1 ? "" : "s", (double)bytes / 1e6, dir);
    return removed;
}
