/*
 * cli/metric_query.c — fast per-key metric lookups (see metric_query.h).
 */
#include "metric_query.h"

#include <math.h>
#include <stdlib.h>

#include "args.h"
#include "db.h"

struct cli_mq {
    sqlite3 *db;
    sqlite3_stmt *key_id, *last, *min, *max, *keys, *summary;
};

int64_t cli_mq_key_id(cli_mq *q, int64_t row, const char *key)
{
    sqlite3_stmt *st = q->key_id;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

/* Step st (bound to row, key_id) into one point (columns step, value,
 * is_nan, wall_time). */
static int mq_point(sqlite3_stmt *st, int64_t row, int64_t key_id, cli_point *out)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_int64(st, 2, key_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    out->step = sqlite3_column_int64(st, 0);
    out->value = cli_db_metric_value(st, 1, 2);
    out->wall_time = cli_db_double(st, 3);
    return 1;
}

int cli_mq_last(cli_mq *q, int64_t row, int64_t key_id, cli_point *out)
{
    return mq_point(q->last, row, key_id, out);
}

int cli_mq_best(cli_mq *q, int64_t row, int64_t key_id, int minimise, cli_point *out)
{
    return mq_point(minimise ? q->min : q->max, row, key_id, out);
}

int cli_mq_max_step(cli_mq *q, int64_t row, int64_t *out)
{
    sqlite3_stmt *st = q->keys;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, row);
    int found = 0, rc;
    /* one index seek per key, not a walk over every point */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cli_point p;
        if (cli_mq_last(q, row, sqlite3_column_int64(st, 0), &p) == 1 && (!found || p.step > *out)) {
            *out = p.step;
            found = 1;
        }
    }
    return rc == SQLITE_DONE ? found : -1;
}

int cli_mq_summary(cli_mq *q, int64_t row, int64_t key_id, cli_key_summary *out)
{
    sqlite3_stmt *st = q->summary;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_int64(st, 2, key_id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -1;
    out->points = sqlite3_column_int64(st, 0);
    out->first_step = sqlite3_column_int64(st, 1);
    out->last_step = sqlite3_column_int64(st, 2);
    out->min = cli_db_double(st, 3);
    out->max = cli_db_double(st, 4);
    out->nans = sqlite3_column_int64(st, 5);
    return 0;
}

cli_mq *cli_mq_new(const char *verb, sqlite3 *db)
{
    cli_mq *q = calloc(1, sizeof *q);
    if (!q) {
        cli_error(verb, "out of memory");
        return NULL;
    }
    q->db = db;
    /* NaN is stored as NULL with is_nan = 1: the best-value queries skip it */
    if (!(q->key_id = cli_db_prepare(verb, db, "SELECT id FROM metric_key WHERE run_id = ?1 AND key = ?2")) ||
        !(q->last = cli_db_prepare(verb, db,
              "SELECT step, value, is_nan, wall_time FROM metric_point WHERE run_id = ?1 AND key_id = ?2 "
              "ORDER BY step DESC LIMIT 1")) ||
        !(q->min = cli_db_prepare(verb, db,
              "SELECT step, value, is_nan, wall_time FROM metric_point WHERE run_id = ?1 AND key_id = ?2 "
              "AND value IS NOT NULL AND is_nan = 0 ORDER BY value ASC, step ASC LIMIT 1")) ||
        !(q->max = cli_db_prepare(verb, db,
              "SELECT step, value, is_nan, wall_time FROM metric_point WHERE run_id = ?1 AND key_id = ?2 "
              "AND value IS NOT NULL AND is_nan = 0 ORDER BY value DESC, step ASC LIMIT 1")) ||
        !(q->keys = cli_db_prepare(verb, db, CLI_MQ_KEYS_SQL)) ||
        !(q->summary = cli_db_prepare(verb, db,
              "SELECT count(*), min(step), max(step), min(value), max(value), total(is_nan) "
              "FROM metric_point WHERE run_id = ?1 AND key_id = ?2"))) {
        cli_mq_free(q);
        return NULL;
    }
    return q;
}

void cli_mq_free(cli_mq *q)
{
    if (!q)
        return;
    sqlite3_finalize(q->key_id);
    sqlite3_finalize(q->last);
    sqlite3_finalize(q->min);
    sqlite3_finalize(q->max);
    sqlite3_finalize(q->keys);
    sqlite3_finalize(q->summary);
    free(q);
}
