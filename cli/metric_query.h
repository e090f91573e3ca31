/*
 * cli/metric_query.h — fast per-key metric lookups for the CLI.
 *
 * The metrics view joins three tables and SQLite's planner walks every
 * point of a run to find one key's points through it (0.25 s per query
 * for a run of 300k points). These queries go to the private tables
 * instead (see loggers/index/index_schema.h), driven by metric_key so each one
 * is an index range scan of a single key: UNIQUE(run_id, key_id, step) on
 * metric_point gives the last step with one seek.
 */
#ifndef CLI_METRIC_QUERY_H
#define CLI_METRIC_QUERY_H

#include <sqlite3.h>
#include <stdint.h>

typedef struct cli_mq cli_mq;

/* One point; value NaN when the point is NaN. */
typedef struct cli_point {
    int64_t step;
    double value;
    double wall_time;  /* NaN if unknown */
} cli_point;

/* A key's summary (show). min/max ignore NaN and are NaN when every point is. */
typedef struct cli_key_summary {
    int64_t points, nans, first_step, last_step;
    double min, max;
} cli_key_summary;

/* Prepare the statements; NULL (reported for verb) on failure. */
cli_mq *cli_mq_new(const char *verb, sqlite3 *db);
void cli_mq_free(cli_mq *q);

/* The id of key in the run (row = the run's internal id, cli_run.row), or
 * 0 when the run never logged it. */
int64_t cli_mq_key_id(cli_mq *q, int64_t row, const char *key);

/* The point with the highest step. 1 found, 0 none, -1 error. */
int cli_mq_last(cli_mq *q, int64_t row, int64_t key_id, cli_point *out);

/* The lowest (minimise) or highest non-NaN value, earliest step on ties.
 * 1 found, 0 none, -1 error. */
int cli_mq_best(cli_mq *q, int64_t row, int64_t key_id, int minimise, cli_point *out);

/* The highest step of any key of the run. 1 found, 0 none, -1 error. */
int cli_mq_max_step(cli_mq *q, int64_t row, int64_t *out);

/* Summary of one key. 0, or -1 on error. */
int cli_mq_summary(cli_mq *q, int64_t row, int64_t key_id, cli_key_summary *out);

/* SQL for the keys of a run that have points, in key order: columns
 * (key_id, key); bind ?1 = row. */
#define CLI_MQ_KEYS_SQL \
    "SELECT k.id, k.key FROM metric_key k WHERE k.run_id = ?1 AND EXISTS " \
    "(SELECT 1 FROM metric_point p WHERE p.run_id = k.run_id AND p.key_id = k.id) ORDER BY k.key"

/* SQL for every point of a run, ordered by key then step, without a sort
 * (metric_key's (run_id, key) index gives key order, metric_point's
 * (run_id, key_id, step) index step order): columns (key, step, value,
 * is_nan, wall_time); bind ?1 = row. */
#define CLI_MQ_POINTS_SQL \
    "SELECT k.key, p.step, p.value, p.is_nan, p.wall_time FROM metric_key k " \
    "CROSS JOIN metric_point p ON p.run_id = k.run_id AND p.key_id = k.id " \
    "WHERE k.run_id = ?1 ORDER BY k.key, p.step"

#endif /* CLI_METRIC_QUERY_H */
