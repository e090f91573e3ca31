/*
 * cli/run_resolve.c — find the run a user means (see run_resolve.h).
 *
 * Order: an exact run id; "experiment/name" when the text has a '/'
 * (experiment names cannot contain one); else a prefix of run ids, which
 * must match exactly one run.
 */
#include "run_resolve.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "common/clock.h"
#include "db.h"

/* How many candidates an ambiguous prefix lists before "...". */
#define RESOLVE_MAX_LISTED 10

static char *resolve_dup(sqlite3_stmt *st, int col, int *oom)
{
    char *s = strdup(cli_db_text(st, col));
    if (!s)
        *oom = 1;
    return s;
}

int cli_run_from_row(sqlite3_stmt *st, cli_run *r)
{
    int oom = 0;
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", cli_db_text(st, 0));
    r->experiment = resolve_dup(st, 1, &oom);
    r->name = resolve_dup(st, 2, &oom);
    r->status = resolve_dup(st, 3, &oom);
    r->host = resolve_dup(st, 4, &oom);
    r->dir = resolve_dup(st, 5, &oom);
    r->start_time = cli_db_double(st, 6);
    r->end_time = cli_db_double(st, 7);
    r->pid = sqlite3_column_int64(st, 8);
    r->degraded = sqlite3_column_int(st, 9);
    r->row = sqlite3_column_int64(st, 10);
    if (oom) {
        cli_run_free(r);
        return -1;
    }
    return 0;
}

void cli_run_free(cli_run *r)
{
    if (!r)
        return;
    free(r->experiment);
    free(r->name);
    free(r->status);
    free(r->host);
    free(r->dir);
    memset(r, 0, sizeof *r);
}

/* Run the query (binding a and optionally b); 0 rows -> 0, 1 row -> 1 with
 * *out filled, more -> the count (out untouched), -1 on error. */
static int resolve_query(const char *verb, sqlite3 *db, const char *sql, const char *a,
                         const char *b, cli_run *out)
{
    sqlite3_stmt *st = cli_db_prepare(verb, db, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == 0 && cli_run_from_row(st, out) != 0) {
            sqlite3_finalize(st);
            cli_error(verb, "out of memory");
            return -1;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        cli_error(verb, "cannot read the run index: %s", sqlite3_errmsg(db));
        n = -1;
    }
    sqlite3_finalize(st);
    if (n != 1 && n > 0)
        cli_run_free(out);
    if (n < 0)
        cli_run_free(out);
    return n;
}

/* Print the runs whose id starts with prefix, for an ambiguity error. */
static void resolve_list_candidates(sqlite3 *db, const char *prefix)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT run_id, experiment, name, status FROM runs "
                           "WHERE substr(run_id, 1, length(?1)) = ?1 ORDER BY start_time, run_id",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == RESOLVE_MAX_LISTED) {
            fprintf(stderr, "  ...\n");
            break;
        }
        fprintf(stderr, "  %s  %s/%s  %s\n", cli_db_text(st, 0), cli_db_text(st, 1),
                cli_db_text(st, 2), cli_db_text(st, 3));
    }
    sqlite3_finalize(st);
}

static int resolve_not_found(const char *verb, const char *root, const char *spec)
{
    return cli_error(verb, "no run matches '%s'; see `lightc runs ls --root %s`", spec, root);
}

int cli_run_resolve(const char *verb, sqlite3 *db, const char *root, const char *spec, cli_run *out)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return cli_error(verb, "empty run name; give a run id, a prefix of one, or experiment/name");

    const char *slash = strchr(spec, '/');
    if (slash) {
        char *experiment = strndup(spec, (size_t)(slash - spec));
        if (!experiment)
            return cli_error(verb, "out of memory");
        int n = resolve_query(verb, db,
                              "SELECT " CLI_RUN_COLUMNS " FROM runs WHERE experiment = ?1 AND name = ?2",
                              experiment, slash + 1, out);
        free(experiment);
        if (n < 0)
            return CLI_ERR;
        if (n == 1)
            return 0;
        return resolve_not_found(verb, root, spec);
    }

    /* ids are lower-case hex; accept upper case from a copy-paste */
    char prefix[64];
    size_t len = strlen(spec);
    int hex = len < sizeof prefix;
    for (size_t i = 0; hex && i < len; i++) {
        if (!isxdigit((unsigned char)spec[i]))
            hex = 0;
        prefix[i] = (char)tolower((unsigned char)spec[i]);
    }
    if (!hex)
        return resolve_not_found(verb, root, spec);
    prefix[len] = 0;

    int n = resolve_query(verb, db, "SELECT " CLI_RUN_COLUMNS " FROM runs WHERE run_id = ?1", prefix,
                          NULL, out);
    if (n < 0)
        return CLI_ERR;
    if (n == 1)
        return 0;
    n = resolve_query(verb, db,
                      "SELECT " CLI_RUN_COLUMNS " FROM runs WHERE substr(run_id, 1, length(?1)) = ?1",
                      prefix, NULL, out);
    if (n < 0)
        return CLI_ERR;
    if (n == 1)
        return 0;
    if (n == 0)
        return resolve_not_found(verb, root, spec);
    fprintf(stderr, "lightc %s: run prefix '%s' is ambiguous, it matches %d runs:\n", verb, spec, n);
    resolve_list_candidates(db, prefix);
    fprintf(stderr, "give more characters of the run id, or experiment/name\n");
    return CLI_ERR;
}

double cli_run_duration(sqlite3 *db, const cli_run *r)
{
    if (isnan(r->start_time))
        return NAN;
    if (!isnan(r->end_time))
        return r->end_time - r->start_time;
    if (strcmp(r->status, "running") == 0)
        return lc_wall_now() - r->start_time;
    /* ended without an end time (crashed): the last thing it logged */
    double last = NAN;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT max(wall_time) FROM metric_point WHERE run_id = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, r->row);
        if (sqlite3_step(st) == SQLITE_ROW)
            last = cli_db_double(st, 0);
    }
    sqlite3_finalize(st);
    return isnan(last) ? NAN : last - r->start_time;
}
