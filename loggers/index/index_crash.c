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
#include "common/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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
        long long now_start = lc_proc_start(pid);
        if (now_start >= 0 && now_start != proc_start)
            return 1;
    }
    return 0;
}

int lc_index_process_gone(long long pid, const char *boot_id, long long proc_start)
{
    char my_boot[64];
    lc_boot_id(my_boot, sizeof my_boot);
    return crash_is_dead(pid, boot_id, proc_start, my_boot);
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
    lc_boot_id(my_boot, sizeof my_boot);

    if (lc_index_begin(db, err, errlen) != 0)
        return -1;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int marked = 0, rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, pid, boot_id, proc_start FROM run_info "
                           "WHERE status = 'running' AND host = ?1",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE run_info SET status = 'crashed', end_seq = ?2 WHERE id = ?1",
                           -1, &upd, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(sel, 1, host, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        long long pid = sqlite3_column_int64(sel, 1);
        const char *boot = (const char *)sqlite3_column_text(sel, 2);
        long long start = sqlite3_column_int64(sel, 3);
        if (!crash_is_dead(pid, boot, start, my_boot))
            continue;
        /* The run's end is an outbox item: remote backends learn that it
           crashed (schema version 3). */
        long long seq = lc_index_next_seq(db);
        if (seq < 0)
            goto fail;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_int64(upd, 2, seq);
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
