/*
 * cli/runs_rm.c — `lightc runs rm RUN [--yes]`: delete a run's rows from
 * the index (one transaction) and then its run directory.
 *
 * Safety: the directory is removed only when it resolves inside the root,
 * is a real directory (not a symbolic link), holds no other run's
 * directory, and the walk never follows a link or crosses a mount. A run
 * that is still running is refused unless --force; its writer then finds
 * its run gone and drops later events (loggers/index/sqlite_index.c), and
 * ids are never reused, so no later run inherits what it still writes.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "index/index_schema.h"
#include "run_resolve.h"

#define RM_VERB "runs rm"

static const char rm_usage[] =
    "usage: lightc runs rm RUN [--yes] [--force] [--root DIR]\n"
    "\n"
    "Delete a run: its rows in the run index (params, tags, metrics, media,\n"
    "counters, delivery state), in one transaction, then its directory\n"
    "<root>/<experiment>/<name>/. The directory is removed only if it lies\n"
    "inside the root; symbolic links are never followed. Without --yes, asks\n"
    "for confirmation on a terminal and refuses otherwise.\n"
    "\n"
    "RUN is a run id, a unique prefix of one, or experiment/name.\n"
    "\n"
    "options:\n"
    "  -y, --yes    do not ask\n"
    "  --force      also delete a run whose process is still running\n"
    "  --root DIR   run root (default $LIGHTC_ROOT, else ./runs)\n"
    "  -h, --help   show this help\n"
    "\n"
    "example:\n"
    "  lightc runs rm mnist/old-try --yes\n";

/* ---- index rows ------------------------------------------------------------------- */

/* Delete every row of the run from every table with a run_id column (so
 * tables added by later schema versions are covered too), run_info last.
 * Foreign keys are checked at commit, so the order of the child tables does
 * not matter. Returns rows deleted, or -1 (reported). */
static long long rm_rows(sqlite3 *db, const char *run_uuid)
{
    char err[512] = "";
    long long rows = 0;
    sqlite3_stmt *tables = NULL, *idq = NULL;
    if (lc_index_begin(db, err, sizeof err) != 0 ||
        lc_index_exec(db, "PRAGMA defer_foreign_keys = ON", err, sizeof err) != 0) {
        cli_error(RM_VERB, "cannot start a transaction on the run index: %s", err);
        lc_index_rollback(db);
        return -1;
    }
    idq = cli_db_prepare(RM_VERB, db, "SELECT id FROM run_info WHERE run_uuid = ?1");
    tables = cli_db_prepare(RM_VERB, db,
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.name <> 'run_info' "
        "AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'run_id') ORDER BY m.name");
    if (!idq || !tables)
        goto fail;
    sqlite3_bind_text(idq, 1, run_uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(idq) != SQLITE_ROW) {
        cli_error(RM_VERB, "run %s vanished from the index while deleting it", run_uuid);
        goto fail;
    }
    sqlite3_int64 id = sqlite3_column_int64(idq, 0);
    int rc;
    while ((rc = sqlite3_step(tables)) == SQLITE_ROW) {
        /* run_id is the integer id in the private tables; match the uuid too
           in case a table keys runs by it (no integer equals a hex text) */
        char *sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE run_id IN (?1, ?2)", cli_db_text(tables, 0));
        sqlite3_stmt *del = sql ? cli_db_prepare(RM_VERB, db, sql) : NULL;
        sqlite3_free(sql);
        if (!del)
            goto fail;
        sqlite3_bind_int64(del, 1, id);
        sqlite3_bind_text(del, 2, run_uuid, -1, SQLITE_STATIC);
        int drc = sqlite3_step(del);
        sqlite3_finalize(del);
        if (drc != SQLITE_DONE) {
            cli_error(RM_VERB, "cannot delete the run's rows: %s", sqlite3_errmsg(db));
            goto fail;
        }
        rows += sqlite3_changes(db);
    }
    if (rc != SQLITE_DONE) {
        cli_error(RM_VERB, "cannot list the index tables: %s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(tables);
    sqlite3_finalize(idq);
    tables = idq = NULL;
    char *sql = sqlite3_mprintf("DELETE FROM run_info WHERE id = %lld", (long long)id);
    int erc = sql ? lc_index_exec(db, sql, err, sizeof err) : -1;
    sqlite3_free(sql);
    if (erc != 0) {
        cli_error(RM_VERB, "cannot delete the run: %s", err[0] ? err : "out of memory");
        goto fail;
    }
    rows += sqlite3_changes(db);
    if (lc_index_commit(db, err, sizeof err) != 0) { /* rolls back on failure */
        cli_error(RM_VERB, "cannot commit the deletion: %s", err);
        return -1;
    }
    return rows;
fail:
    sqlite3_finalize(tables);
    sqlite3_finalize(idq);
    lc_index_rollback(db);
    return -1;
}

/* ---- the directory ---------------------------------------------------------------- */

static int rm_walk_errno;
static char rm_walk_failed[PATH_MAX];

static int rm_walk_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    /* FTW_PHYS: links are removed as links; FTW_DEPTH: children first */
    int rc = (type == FTW_DP || type == FTW_D) ? rmdir(path) : unlink(path);
    if (rc != 0 && !rm_walk_errno) {
        rm_walk_errno = errno;
        snprintf(rm_walk_failed, sizeof rm_walk_failed, "%s", path);
    }
    return 0; /* keep going: remove what can be removed */
}

/* 1 if path is strictly inside dir (both canonical). */
static int rm_inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] != 0;
}

/* 1 if another run's directory lies inside real (canonical). */
static int rm_holds_other_run(sqlite3 *db, const char *rroot, const char *run_uuid, const char *real)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT dir FROM runs WHERE run_id <> ?1", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 1; /* cannot tell: be safe */
    }
    sqlite3_bind_text(st, 1, run_uuid, -1, SQLITE_STATIC);
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        char other[PATH_MAX], rother[PATH_MAX];
        cli_db_join(rroot, cli_db_text(st, 0), other, sizeof other);
        if (realpath(other, rother) && (strcmp(rother, real) == 0 || rm_inside(rother, real)))
            found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* Check where the run directory is. Returns 1 to delete real (filled),
 * 0 when there is nothing to delete (reported), -1 when refused (reported). */
static int rm_dir_check(sqlite3 *db, const char *root, const cli_run *r, char *real)
{
    char rroot[PATH_MAX], path[PATH_MAX];
    if (!realpath(root, rroot)) {
        cli_error(RM_VERB, "cannot resolve the root '%s': %s", root, strerror(errno));
        return -1;
    }
    if (!r->dir[0]) {
        fprintf(stderr, "lightc %s: note: the index records no directory for this run\n", RM_VERB);
        return 0;
    }
    cli_db_join(rroot, r->dir, path, sizeof path);
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) {
            fprintf(stderr, "lightc %s: note: directory '%s' was already gone\n", RM_VERB, path);
            return 0;
        }
        cli_error(RM_VERB, "cannot look at '%s': %s", path, strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
        cli_error(RM_VERB, "'%s' is %s, not a directory; not following it: remove it yourself if you "
                  "mean to", path, S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
        return -1;
    }
    if (!realpath(path, real)) {
        cli_error(RM_VERB, "cannot resolve '%s': %s", path, strerror(errno));
        return -1;
    }
    if (!rm_inside(real, rroot)) {
        cli_error(RM_VERB, "the run directory '%s' resolves to '%s', outside the root '%s'; not "
                  "deleting it", path, real, rroot);
        return -1;
    }
    if (rm_holds_other_run(db, rroot, r->id, real)) {
        cli_error(RM_VERB, "the run directory '%s' holds another run's directory; not deleting it", real);
        return -1;
    }
    return 1;
}

/* Remove real and, if it is then empty, its parent (the experiment
 * directory) unless that is the root. */
static int rm_dir(const char *root, const char *real)
{
    rm_walk_errno = 0;
    if (nftw(real, rm_walk_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 && !rm_walk_errno) {
        rm_walk_errno = errno;
        snprintf(rm_walk_failed, sizeof rm_walk_failed, "%s", real);
    }
    if (rm_walk_errno)
        return cli_error(RM_VERB, "cannot remove '%s': %s (the index rows are already deleted; "
                         "remove the rest of '%s' by hand)", rm_walk_failed, strerror(rm_walk_errno), real);
    char parent[PATH_MAX], rroot[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", real);
    char *slash = strrchr(parent, '/');
    if (slash && realpath(root, rroot)) {
        *slash = 0;
        if (rm_inside(parent, rroot))
            rmdir(parent); /* fails, harmlessly, when other runs remain */
    }
    return CLI_OK;
}

/* ---- the verb ---------------------------------------------------------------------- */

/* Ask on the terminal; 1 = yes. */
static int rm_confirm(const cli_run *r, const char *root)
{
    char dir[PATH_MAX], line[64];
    cli_db_join(root, r->dir, dir, sizeof dir);
    fprintf(stderr, "delete run %s (%s/%s, %s) and its directory %s? [y/N] ", r->id, r->experiment,
            r->name, r->status, dir);
    fflush(stderr);
    if (!fgets(line, sizeof line, stdin))
        return 0;
    return strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0;
}

int cli_runs_rm(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_LONGOPT_ROOT,
        CLI_LONGOPT_HELP,
        {"yes", no_argument, NULL, 'y'},
        {"force", no_argument, NULL, CLI_OPT_FORCE},
        {0}};
    cli_parser p = {.verb = RM_VERB, .shortopts = "hy", .longopts = longopts};
    const char *root_flag = NULL;
    int yes = 0, force = 0, c;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(rm_usage, stdout); return CLI_OK;
        case 'y': yes = 1; break;
        case CLI_OPT_FORCE: force = 1; break;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        default: return CLI_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error(RM_VERB, "which run? give a run id, a prefix of one, or experiment/name");
    if (argc - optind > 1)
        return cli_usage_error(RM_VERB, "one run at a time (got '%s' too)", argv[optind + 1]);
    const char *root = cli_root(root_flag);
    if (!yes && !isatty(STDIN_FILENO))
        return cli_usage_error(RM_VERB, "refusing to delete without confirmation; pass --yes");

    sqlite3 *db = NULL;
    cli_run r = {0};
    char real[PATH_MAX] = "";
    int rc = cli_db_open(RM_VERB, root, CLI_DB_WRITE, &db);
    if (rc == 0)
        rc = cli_run_resolve(RM_VERB, db, root, argv[optind], &r);
    if (rc != 0)
        goto done;
    if (strcmp(r.status, "running") == 0 && !force) {
        rc = cli_error(RM_VERB, "run %s/%s is still running (pid %lld on %s); stop it first, or pass "
                       "--force", r.experiment, r.name, (long long)r.pid, r.host[0] ? r.host : "?");
        goto done;
    }
    if (strcmp(r.status, "running") == 0)
        fprintf(stderr, "lightc %s: note: run %s/%s is still running (pid %lld on %s); its process "
                "will find the run gone, drop what it logs later and say so\n", RM_VERB, r.experiment,
                r.name, (long long)r.pid, r.host[0] ? r.host : "?");
    int dir_state = rm_dir_check(db, root, &r, real);
    if (dir_state < 0) {
        rc = CLI_ERR;
        goto done;
    }
    if (!yes && !rm_confirm(&r, root)) {
        fprintf(stderr, "lightc %s: nothing deleted\n", RM_VERB);
        rc = CLI_ERR;
        goto done;
    }
    long long rows = rm_rows(db, r.id);
    if (rows < 0) {
        rc = CLI_ERR;
        goto done;
    }
    if (dir_state > 0)
        rc = rm_dir(root, real);
    printf("removed run %s (%s/%s): %lld index rows%s%s\n", r.id, r.experiment, r.name, rows,
           dir_state > 0 && rc == 0 ? ", directory " : "", dir_state > 0 && rc == 0 ? real : "");
done:
    cli_run_free(&r);
    sqlite3_close(db);
    return rc;
}
