/*
 * loggers/index/index_crash.c — find runs whose process died without finishing.
 *
 * A run row records the host, pid, boot id and process start time of the
 * process that writes it. A 'running' row of this host is stale when the
 * machine has rebooted since (another boot id), when its pid is gone, or
 * when the pid now belongs to another process (another start time: pids
 * are reused). Rows of other hosts cannot be checked from here and are
 * left alone.
 */
#include "index_schema.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int lc_index_boot_id(char *buf, size_t len)
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

long long lc_index_proc_start(long long pid)
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

/* 1 if the run's process is certainly gone, 0 if it may be alive. */
static int crash_is_dead(long long pid, const char *boot_id, long long proc_start,
                         const char *my_boot)
{
    if (my_boot[0] && boot_id && boot_id[0] && strcmp(boot_id, my_boot) != 0)
        return 1;
    if (pid <= 0)
        return 0;
    /* EPERM means the process exists but belongs to someone else. */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 1;
    if (proc_start > 0) {
        long long now_start = lc_index_proc_start(pid);
        if (now_start >= 0 && now_start != proc_start)
            return 1;
    }
    return 0;
}

int lc_index_mark_crashed(sqlite3 *db, char *err, size_t errlen)
{
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0) {
        snprintf(err, errlen, "sqlite: cannot read this host's name: %s", strerror(errno));
        return -1;
    }
    host[sizeof host - 1] = 0;
    char my_boot[64];
    lc_index_boot_id(my_boot, sizeof my_boot);

    if (lc_index_begin(db, err, errlen) != 0)
        return -1;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int marked = 0, rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, pid, boot_id, proc_start FROM run_info "
                           "WHERE status = 'running' AND host = ?1",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE run_info SET status = 'crashed' WHERE id = ?1", -1, &upd,
                           NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(sel, 1, host, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        long long pid = sqlite3_column_int64(sel, 1);
        const char *boot = (const char *)sqlite3_column_text(sel, 2);
        long long start = sqlite3_column_int64(sel, 3);
        if (!crash_is_dead(pid, boot, start, my_boot))
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        if (sqlite3_step(upd) != SQLITE_DONE)
            goto fail;
        sqlite3_reset(upd);
        marked++;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return lc_index_commit(db, err, errlen) == 0 ? marked : -1;

fail:
    lc_index_fail(db, "cannot mark crashed runs in", err, errlen);
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    lc_index_rollback(db);
    return -1;
}
