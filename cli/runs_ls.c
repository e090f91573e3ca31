/*
 * cli/runs_ls.c — `lightc runs ls`: one line per run with its status,
 * start, duration, last step and the last values of chosen metrics.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "delivery.h"
#include "fmt.h"
#include "lightc/hub.h"
#include "metric_keys.h"
#include "metric_query.h"
#include "run_resolve.h"
#include "table.h"

#define LS_VERB "runs ls"
/* Characters of the run id shown; any unique prefix is accepted as RUN. */
#define LS_ID_CHARS 8

static const char ls_usage[] =
    "usage: lightc runs ls [--metric KEY]... [--experiment NAME] [--status S] [-q] [--root DIR]\n"
    "\n"
    "List runs, oldest first: id (first 8 hex digits; any unique prefix works\n"
    "as RUN), experiment, name, status, start time, duration, the last step\n"
    "logged, and the last value of each --metric. Runs whose process died are\n"
    "shown as crashed.\n"
    "\n"
    "options:\n"
    "  --metric KEY       add a column with KEY's last value; repeat or give a\n"
    "                     comma list (--metric train/loss,val/acc)\n"
    "  --experiment NAME  only runs of this experiment\n"
    "  --status S         only runs with status S (running, finished, failed,\n"
    "                     killed, crashed)\n"
    "  -q, --quiet        print only the full run ids, one per line\n"
    "  --root DIR         run root (default $LIGHTC_ROOT, else ./runs)\n"
    "  -h, --help         show this help\n"
    "\n"
    "example:\n"
    "  lightc runs ls --metric train/loss,val/acc\n";

typedef struct ls_args {
    const char *root;
    const char *experiment;
    const char *status;
    int quiet;
    cli_strlist metrics;
} ls_args;

/* 0 ok, else the exit code (usage already printed, or help printed -> -1). */
static int ls_parse(int argc, char **argv, ls_args *a)
{
    static const struct option longopts[] = {
        CLI_LONGOPT_ROOT,
        CLI_LONGOPT_HELP,
        {"metric", required_argument, NULL, CLI_OPT_METRIC},
        {"experiment", required_argument, NULL, CLI_OPT_EXPERIMENT},
        {"status", required_argument, NULL, CLI_OPT_STATUS},
        {"quiet", no_argument, NULL, 'q'},
        {0}};
    cli_parser p = {.verb = LS_VERB, .shortopts = "hq", .longopts = longopts};
    const char *root_flag = NULL;
    int c, rc;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(ls_usage, stdout); return -1;
        case 'q': a->quiet = 1; break;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        case CLI_OPT_EXPERIMENT: a->experiment = optarg; break;
        case CLI_OPT_STATUS:
            if (lc_run_status_parse(optarg) < 0)
                return cli_usage_error(LS_VERB, "unknown status '%s' (use running, finished, failed, "
                                                "killed or crashed)", optarg);
            a->status = optarg;
            break;
        case CLI_OPT_METRIC:
            if ((rc = cli_metric_keys_add(LS_VERB, &a->metrics, optarg)) != 0)
                return rc;
            break;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(LS_VERB, "unexpected argument '%s'", argv[optind]);
    a->root = cli_root(root_flag);
    return 0;
}

/* The last value of key in run: "%.6g", "nan", or "-" if never logged. */
static void ls_last_value(cli_mq *q, int64_t row, const char *key, char *buf, size_t n)
{
    cli_point p;
    int64_t key_id = cli_mq_key_id(q, row, key);
    if (key_id && cli_mq_last(q, row, key_id, &p) == 1)
        cli_fmt_value(p.value, buf, n);
    else
        snprintf(buf, n, "-");
}

static int ls_print(sqlite3 *db, const ls_args *a)
{
    sqlite3_stmt *runs = cli_db_prepare(LS_VERB, db,
        "SELECT " CLI_RUN_COLUMNS " FROM runs WHERE (?1 IS NULL OR experiment = ?1) "
        "AND (?2 IS NULL OR status = ?2) ORDER BY start_time, run_id");
    cli_mq *q = runs ? cli_mq_new(LS_VERB, db) : NULL;
    int ncols = 7 + (int)a->metrics.count;
    const char *headers[7 + 64];
    static const char *const fixed[] = {"RUN", "EXPERIMENT", "NAME", "STATUS", "START", "DURATION", "STEP"};
    cli_table *t = NULL;
    int rc = CLI_ERR, marked = 0;
    if (!runs || !q)
        goto done;
    if (a->metrics.count > 64) {
        rc = cli_usage_error(LS_VERB, "at most 64 --metric columns");
        goto done;
    }
    for (int i = 0; i < 7; i++)
        headers[i] = fixed[i];
    for (size_t i = 0; i < a->metrics.count; i++)
        headers[7 + i] = a->metrics.items[i];
    if (!a->quiet && !(t = cli_table_new(ncols, headers))) {
        cli_error(LS_VERB, "out of memory");
        goto done;
    }
    cli_table_right(t, 5);
    cli_table_right(t, 6);
    for (int i = 7; i < ncols; i++)
        cli_table_right(t, i);

    if (a->experiment)
        sqlite3_bind_text(runs, 1, a->experiment, -1, SQLITE_STATIC);
    if (a->status)
        sqlite3_bind_text(runs, 2, a->status, -1, SQLITE_STATIC);
    int step_rc;
    while ((step_rc = sqlite3_step(runs)) == SQLITE_ROW) {
        cli_run r;
        if (cli_run_from_row(runs, &r) != 0) {
            cli_error(LS_VERB, "out of memory");
            goto done;
        }
        if (a->quiet) {
            printf("%s\n", r.id);
            cli_run_free(&r);
            continue;
        }
        char start[32], dur[32], buf[64];
        cli_fmt_time(r.start_time, start, sizeof start);
        cli_fmt_duration(cli_run_duration(db, &r), dur, sizeof dur);
        cli_table_row(t);
        /* '*': a remote backend has not got the whole run yet */
        int undelivered = cli_delivery_undelivered(db, r.row) > 0;
        marked |= undelivered;
        cli_table_cell(t, "%.*s%s", LS_ID_CHARS, r.id, undelivered ? "*" : "");
        cli_table_cell(t, "%s", r.experiment);
        cli_table_cell(t, "%s", r.name);
        cli_table_cell(t, "%s", r.status);
        cli_table_cell(t, "%s", start);
        cli_table_cell(t, "%s", dur);
        int64_t step;
        if (cli_mq_max_step(q, r.row, &step) == 1)
            cli_table_cell(t, "%lld", (long long)step);
        else
            cli_table_cell(t, "-");
        for (size_t i = 0; i < a->metrics.count; i++) {
            ls_last_value(q, r.row, a->metrics.items[i], buf, sizeof buf);
            cli_table_cell(t, "%s", buf);
        }
        cli_run_free(&r);
    }
    if (step_rc != SQLITE_DONE) {
        cli_error(LS_VERB, "cannot read the run index: %s", sqlite3_errmsg(db));
        goto done;
    }
    if (t && cli_table_rows(t) == 0) {
        fprintf(stderr, "lightc %s: no runs%s%s%s%s under '%s'\n", LS_VERB,
                a->experiment ? " in experiment " : "", a->experiment ? a->experiment : "",
                a->status ? " with status " : "", a->status ? a->status : "", a->root);
        rc = CLI_OK;
        goto done;
    }
    if (t && cli_table_print(t, stdout, "") != 0) {
        cli_error(LS_VERB, "cannot write the output");
        goto done;
    }
    if (t && marked)
        printf("* not yet delivered to a remote backend (pending or failed): `lightc runs show RUN` "
               "says why; `lightc sync` finishes it\n");
    rc = CLI_OK;
done:
    cli_table_free(t);
    sqlite3_finalize(runs);
    cli_mq_free(q);
    return rc;
}

int cli_runs_ls(int argc, char **argv)
{
    ls_args a = {0};
    int rc = ls_parse(argc, argv, &a);
    if (rc == 0) {
        sqlite3 *db = NULL;
        rc = cli_db_open(LS_VERB, a.root, CLI_DB_READ, &db);
        if (rc == 0)
            rc = ls_print(db, &a);
        sqlite3_close(db);
    } else if (rc < 0) {
        rc = CLI_OK;
    }
    cli_strlist_free(&a.metrics);
    return rc;
}
