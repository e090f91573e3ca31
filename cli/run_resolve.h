/*
 * cli/run_resolve.h — turning what a user typed for RUN into one run:
 * a full run id, a unique prefix of one, or "experiment/name".
 */
#ifndef CLI_RUN_RESOLVE_H
#define CLI_RUN_RESOLVE_H

#include <sqlite3.h>
#include <stdint.h>

/* One row of the runs view. Strings are owned (cli_run_free). Times are
 * NaN when unknown. */
typedef struct cli_run {
    char id[33];
    char *experiment;
    char *name;
    char *status;
    char *host;
    char *dir;        /* as stored: relative to the root */
    double start_time;
    double end_time;
    int64_t pid;
    int degraded;
    int64_t row;      /* the run's internal id in the private tables */
} cli_run;

/* Columns to select from the runs view for cli_run_from_row, in order. */
#define CLI_RUN_COLUMNS \
    "run_id, experiment, name, status, host, dir, start_time, end_time, pid, degraded, " \
    "(SELECT i.id FROM run_info i WHERE i.run_uuid = runs.run_id)"

/* Fill r from a row of "SELECT " CLI_RUN_COLUMNS " FROM runs ...".
 * Returns 0, or -1 when out of memory. */
int cli_run_from_row(sqlite3_stmt *st, cli_run *r);

/* Resolve spec to one run. On failure prints what went wrong and what to do
 * ("no run matches 'abc'; see `lightc runs ls --root runs`", or the list of
 * candidates for an ambiguous prefix) and returns CLI_ERR. */
int cli_run_resolve(const char *verb, sqlite3 *db, const char *root, const char *spec, cli_run *out);

/* The run's duration in seconds: end - start, or now - start while running,
 * else (crashed without an end) the last metric's wall time; NaN if unknown. */
double cli_run_duration(sqlite3 *db, const cli_run *r);

void cli_run_free(cli_run *r);

#endif /* CLI_RUN_RESOLVE_H */
