/*
 * cli/db.c — open the run index for a CLI verb (see db.h).
 */
#include "db.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "index/index_schema.h"

void cli_db_join(const char *root, const char *rel, char *buf, size_t n)
{
    if (rel[0] == '/')
        snprintf(buf, n, "%s", rel);
    else
        snprintf(buf, n, "%s/%s", root, rel);
}

/* Mark dead runs as crashed, if we may write. Failure only warns: the read
 * that follows still works, statuses may just say 'running' a while longer. */
static void db_mark_crashed(const char *verb, const char *root, const char *path)
{
    if (access(root, W_OK) != 0 || access(path, W_OK) != 0)
        return;
    char err[512] = "";
    sqlite3 *db = NULL;
    if (lc_index_open(root, 0, &db, err, sizeof err) != 0) {
        fprintf(stderr, "lightc %s: note: cannot check for crashed runs: %s\n", verb, err);
        return;
    }
    if (lc_index_mark_crashed(db, err, sizeof err) < 0)
        fprintf(stderr, "lightc %s: note: cannot check for crashed runs: %s\n", verb, err);
    sqlite3_close(db);
}

int cli_db_open(const char *verb, const char *root, cli_db_mode mode, sqlite3 **out)
{
    *out = NULL;
    char path[4096];
    cli_db_join(root, LC_INDEX_FILE, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return cli_error(verb,
                             "no run index at '%s': nothing was logged under root '%s' yet; "
                             "pass --root DIR or set LIGHTC_ROOT to the directory your runs went to",
                             path, root);
        return cli_error(verb, "cannot open '%s': %s", path, strerror(errno));
    }
    char err[512] = "";
    if (mode == CLI_DB_WRITE) {
        if (lc_index_open(root, 0, out, err, sizeof err) != 0)
            return cli_error(verb, "cannot open the run index for writing: %s", err);
        if (lc_index_mark_crashed(*out, err, sizeof err) < 0)
            fprintf(stderr, "lightc %s: note: cannot check for crashed runs: %s\n", verb, err);
        return 0;
    }
    db_mark_crashed(verb, root, path);
    if (lc_index_open(root, 1, out, err, sizeof err) != 0)
        return cli_error(verb, "cannot open the run index: %s", err);
    return 0;
}

sqlite3_stmt *cli_db_prepare(const char *verb, sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        cli_error(verb, "cannot query the run index: %s (is it from a newer lightc?)",
                  sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

const char *cli_db_text(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (const char *)s : "";
}

double cli_db_double(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NAN;
    return sqlite3_column_double(st, col);
}

double cli_db_metric_value(sqlite3_stmt *st, int value_col, int is_nan_col)
{
    if (is_nan_col >= 0 && sqlite3_column_int(st, is_nan_col))
        return NAN;
    return cli_db_double(st, value_col);
}

int cli_db_has_table(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}
