/*
 * cli/runs_show.c — `lightc runs show RUN`: everything the index knows about
 * one run: its row, params, tags, the original -> normalised key mapping,
 * metric summaries, media counts, drop/error counters and per-backend
 * delivery state.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "fmt.h"
#include "metric_query.h"
#include "run_resolve.h"
#include "table.h"

#define SHOW_VERB "runs show"

static const char show_usage[] =
    "usage: lightc runs show RUN [--root DIR]\n"
    "\n"
    "Show one run: status, times, host, directory; its params and tags; keys\n"
    "the hub renamed (original -> normalised); per metric the number of points,\n"
    "first and last step, min, max and last value; media counts; the drop and\n"
    "error counters; and each backend's delivery state (cursor, pending points,\n"
    "last error).\n"
    "\n"
    "RUN is a run id, a unique prefix of one, or experiment/name.\n"
    "\n"
    "options:\n"
    "  --root DIR   run root (default $LIGHTC_ROOT, else ./runs)\n"
    "  -h, --help   show this help\n"
    "\n"
    "example:\n"
    "  lightc runs show mnist/baseline\n";

/* ---- helpers --------------------------------------------------------------- */

/* Prepare a section's query bound to the run id; NULL (with a note printed
 * under the section) when this index lacks what it needs. */
static sqlite3_stmt *show_query(sqlite3 *db, const char *table, const char *sql, const char *run_id)
{
    if (table && !cli_db_has_table(db, table)) {
        printf("  (not recorded by this index version)\n");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        printf("  (cannot read: %s)\n", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    return st;
}

/* Step through st, adding its ncols text columns as rows of t. Returns the
 * number of rows, or -1 on a read error (reported). */
static int show_fill(sqlite3 *db, sqlite3_stmt *st, cli_table *t, int ncols)
{
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cli_table_row(t);
        for (int c = 0; c < ncols; c++)
            cli_table_cell(t, "%s", sqlite3_column_type(st, c) == SQLITE_NULL ? "-" : cli_db_text(st, c));
        n++;
    }
    if (rc != SQLITE_DONE) {
        printf("  (cannot read: %s)\n", sqlite3_errmsg(db));
        return -1;
    }
    return n;
}

/* A section of simple text columns: title, then the table or "(none)". */
static int show_simple(sqlite3 *db, const char *title, const char *table, const char *sql,
                       const char *run_id, int ncols, const char *const *headers, const char *none)
{
    printf("\n%s\n", title);
    sqlite3_stmt *st = show_query(db, table, sql, run_id);
    if (!st)
        return 0;
    cli_table *t = cli_table_new(ncols, headers);
    int n = t ? show_fill(db, st, t, ncols) : -1;
    sqlite3_finalize(st);
    int rc = 0;
    if (n == 0)
        printf("  %s\n", none);
    else if (n > 0)
        rc = cli_table_print(t, stdout, "  ");
    cli_table_free(t);
    return rc;
}

/* ---- sections ---------------------------------------------------------------- */

static int show_header(sqlite3 *db, const char *root, const cli_run *r)
{
    char start[32], end[32], dur[32], dir[4096];
    cli_fmt_time(r->start_time, start, sizeof start);
    cli_fmt_time(r->end_time, end, sizeof end);
    cli_fmt_duration(cli_run_duration(db, r), dur, sizeof dur);
    cli_db_join(root, r->dir, dir, sizeof dir);
    cli_table *t = cli_table_new(2, NULL);
    const char *rows[][2] = {
        {"run", r->id}, {"experiment", r->experiment}, {"name", r->name}, {"status", r->status},
        {"start", start}, {"end", end}, {"duration", dur}, {"dir", dir},
        {"degraded", r->degraded ? "yes: some backend lost data (see counters and sinks)" : "no"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cli_table_row(t);
        cli_table_cell(t, "%s", rows[i][0]);
        cli_table_cell(t, "%s", rows[i][1]);
        if (i == 6) { /* after duration: where it ran */
            cli_table_row(t);
            cli_table_cell(t, "host");
            cli_table_cell(t, "%s (pid %lld)", r->host[0] ? r->host : "-", (long long)r->pid);
        }
    }
    int rc = cli_table_print(t, stdout, "");
    cli_table_free(t);
    return rc;
}

/* Format a min/max: "-" when every point was NaN. */
static void show_minmax(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        cli_fmt_value(v, buf, n);
}

static int show_metrics(sqlite3 *db, const cli_run *r)
{
    printf("\nmetrics\n");
    cli_mq *q = cli_mq_new(SHOW_VERB, db);
    sqlite3_stmt *keys = q ? cli_db_prepare(SHOW_VERB, db, CLI_MQ_KEYS_SQL) : NULL;
    static const char *const headers[] = {"KEY", "POINTS", "FIRST_STEP", "LAST_STEP", "MIN", "MAX",
                                          "LAST", "NANS"};
    cli_table *t = cli_table_new(8, headers);
    int rc = -1, step_rc = SQLITE_DONE;
    if (!q || !keys || !t)
        goto done;
    for (int c = 1; c < 8; c++)
        cli_table_right(t, c);
    sqlite3_bind_int64(keys, 1, r->row);
    while ((step_rc = sqlite3_step(keys)) == SQLITE_ROW) {
        int64_t key_id = sqlite3_column_int64(keys, 0);
        cli_key_summary s;
        cli_point last;
        char min[32], max[32], lastv[32] = "-";
        if (cli_mq_summary(q, r->row, key_id, &s) != 0)
            break;
        show_minmax(s.min, min, sizeof min);
        show_minmax(s.max, max, sizeof max);
        if (cli_mq_last(q, r->row, key_id, &last) == 1)
            cli_fmt_value(last.value, lastv, sizeof lastv);
        cli_table_row(t);
        cli_table_cell(t, "%s", cli_db_text(keys, 1));
        cli_table_cell(t, "%lld", (long long)s.points);
        cli_table_cell(t, "%lld", (long long)s.first_step);
        cli_table_cell(t, "%lld", (long long)s.last_step);
        cli_table_cell(t, "%s", min);
        cli_table_cell(t, "%s", max);
        cli_table_cell(t, "%s", lastv);
        cli_table_cell(t, "%lld", (long long)s.nans);
    }
    if (step_rc != SQLITE_DONE && step_rc != SQLITE_ROW) {
        printf("  (cannot read: %s)\n", sqlite3_errmsg(db));
        rc = 0;
    } else if (cli_table_rows(t) == 0) {
        printf("  (no metrics logged)\n");
        rc = 0;
    } else {
        rc = cli_table_print(t, stdout, "  ");
    }
done:
    cli_table_free(t);
    sqlite3_finalize(keys);
    cli_mq_free(q);
    return rc;
}

static void show_media(sqlite3 *db, const char *run_id)
{
    if (!cli_db_has_table(db, "media"))
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT m.kind, count(*) FROM media m JOIN run_info r ON r.id = m.run_id "
                           "WHERE r.run_uuid = ?1 GROUP BY m.kind ORDER BY m.kind",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        printf("%s%lld %s", n++ ? ", " : "\nmedia: ", (long long)sqlite3_column_int64(st, 1),
               cli_db_text(st, 0));
    if (n)
        printf("\n");
    sqlite3_finalize(st);
}

static int show_run(sqlite3 *db, const char *root, const cli_run *r)
{
    static const char *const param_h[] = {"KEY", "VALUE", "TYPE"};
    static const char *const tag_h[] = {"KEY", "VALUE"};
    static const char *const key_h[] = {"ORIGINAL", "KEY", "KIND"};
    static const char *const counter_h[] = {"NAME", "VALUE"};
    static const char *const sink_h[] = {"SINK", "STATE", "CURSOR", "PENDING", "UPDATED", "LAST_ERROR"};
    int rc = show_header(db, root, r);
    rc |= show_simple(db, "params", NULL,
                      "SELECT key, value, type FROM params WHERE run_id = ?1 ORDER BY key", r->id, 3,
                      param_h, "(none)");
    rc |= show_simple(db, "tags", NULL, "SELECT key, value FROM tags WHERE run_id = ?1 ORDER BY key",
                      r->id, 2, tag_h, "(none)");
    rc |= show_simple(db, "keys renamed by normalisation (original -> key)", "key_map",
                      /* a 10 KB original would swamp the table: its head and its size */
                      "SELECT CASE WHEN length(CAST(k.original AS BLOB)) > 120 "
                      "THEN substr(k.original, 1, 80) || '... (' || length(CAST(k.original AS BLOB)) || ' bytes)' "
                      "ELSE k.original END, k.key, k.kind FROM key_map k JOIN run_info r ON r.id = k.run_id "
                      "WHERE r.run_uuid = ?1 AND k.original <> k.key ORDER BY k.kind, k.original",
                      r->id, 3, key_h, "(none: every key was kept as given)");
    rc |= show_metrics(db, r);
    show_media(db, r->id);
    rc |= show_simple(db, "counters", "counter",
                      "SELECT c.name, c.value FROM counter c JOIN run_info r ON r.id = c.run_id "
                      "WHERE r.run_uuid = ?1 ORDER BY c.name",
                      r->id, 2, counter_h, "(none recorded yet: counters are written when the run ends)");
    rc |= show_simple(db, "sinks", "sink_cursor",
                      "SELECT s.sink, s.state, s.cursor, "
                      "CASE WHEN s.cursor IS NULL THEN NULL ELSE "
                      "(SELECT count(*) FROM metric_point p WHERE p.run_id = r.id AND p.id > s.cursor) END, "
                      "datetime(s.updated, 'unixepoch', 'localtime'), "
                      "CASE WHEN s.last_error IS NULL OR s.last_error = '' THEN '-' ELSE s.last_error END "
                      "FROM sink_cursor s JOIN run_info r ON r.id = s.run_id "
                      "WHERE r.run_uuid = ?1 ORDER BY s.sink",
                      r->id, 6, sink_h, "(none recorded)");
    return rc;
}

int cli_runs_show(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_LONGOPT_ROOT, CLI_LONGOPT_HELP, {0}};
    cli_parser p = {.verb = SHOW_VERB, .shortopts = "h", .longopts = longopts};
    const char *root_flag = NULL;
    int c;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(show_usage, stdout); return CLI_OK;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        default: return CLI_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error(SHOW_VERB, "which run? give a run id, a prefix of one, or experiment/name");
    if (argc - optind > 1)
        return cli_usage_error(SHOW_VERB, "one run at a time (got '%s' too); use `lightc runs compare` "
                                          "for several", argv[optind + 1]);
    const char *root = cli_root(root_flag);
    sqlite3 *db = NULL;
    int rc = cli_db_open(SHOW_VERB, root, CLI_DB_READ, &db);
    if (rc == 0) {
        cli_run r;
        rc = cli_run_resolve(SHOW_VERB, db, root, argv[optind], &r);
        if (rc == 0) {
            if (show_run(db, root, &r) != 0)
                rc = cli_error(SHOW_VERB, "cannot write the output");
            cli_run_free(&r);
        }
    }
    sqlite3_close(db);
    return rc;
}
