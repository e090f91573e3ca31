/*
 * cli/runs_compare.c — `lightc runs compare RUN RUN...`: the params that
 * differ between runs, and each metric's final and best value side by side.
 *
 * Best is the minimum for keys that read as errors (loss, err, mse, mae,
 * perplexity) and the maximum otherwise, unless --mode says; NaN points
 * never win. The run(s) with the best value are marked with '*'.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "db.h"
#include "fmt.h"
#include "metric_keys.h"
#include "metric_query.h"
#include "run_resolve.h"
#include "table.h"

#define CMP_VERB "runs compare"
#define CMP_MAX_RUNS 32

static const char cmp_usage[] =
    "usage: lightc runs compare RUN RUN... [--metric KEY]... [--mode min|max] [--root DIR]\n"
    "\n"
    "Compare runs side by side: the params whose values differ (or that only\n"
    "some runs have), then for each metric its final value (at the last step)\n"
    "and its best value, each shown as VALUE @STEP. Best is the minimum for keys\n"
    "containing loss, err, mse, mae or perplexity, else the maximum; '*' marks\n"
    "the run with the best value. NaN points never count as best.\n"
    "\n"
    "RUN is a run id, a unique prefix of one, or experiment/name.\n"
    "\n"
    "options:\n"
    "  --metric KEY     compare only these metrics (repeat or comma list);\n"
    "                   default: every metric any of the runs logged\n"
    "  --mode min|max   what best means, for every metric\n"
    "  --all-params     list every param, not only those that differ\n"
    "  --root DIR       run root (default $LIGHTC_ROOT, else ./runs)\n"
    "  -h, --help       show this help\n"
    "\n"
    "example:\n"
    "  lightc runs compare mnist/baseline mnist/wide --metric val/acc\n";

typedef enum { CMP_AUTO = 0, CMP_MIN = 1, CMP_MAX = 2 } cmp_mode;

typedef struct cmp_args {
    const char *root;
    cmp_mode mode;
    int all_params;
    cli_strlist metrics;
    char **specs;
    int nspecs;
} cmp_args;

/* What compare needs per run. */
typedef struct cmp_ctx {
    sqlite3 *db;
    const cmp_args *a;
    cli_run runs[CMP_MAX_RUNS];
    int n;
    const char *hdr[CMP_MAX_RUNS + 2]; /* KEY, (what), run labels */
    char labels[CMP_MAX_RUNS][256];
} cmp_ctx;

/* ---- best mode ---------------------------------------------------------------- */

/* 1 if key reads as something to minimise. */
static int cmp_key_is_error(const char *key)
{
    static const char *const words[] = {"loss", "err", "mse", "mae", "perplexity"};
    char low[256];
    size_t n = strlen(key);
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)key[i]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

static int cmp_minimise(const cmp_args *a, const char *key)
{
    return a->mode == CMP_AUTO ? cmp_key_is_error(key) : a->mode == CMP_MIN;
}

static int cmp_strcmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Distinct values of sql's first column over every run (bound as ?1),
 * sorted. Returns 0, or -1 (reported). */
static int cmp_union(cmp_ctx *c, const char *sql, cli_strlist *out)
{
    sqlite3_stmt *st = cli_db_prepare(CMP_VERB, c->db, sql);
    if (!st)
        return -1;
    for (int i = 0; i < c->n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->runs[i].id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *s = cli_db_text(st, 0);
            if (!cli_strlist_has(out, s) && cli_strlist_add(out, s) != 0) {
                sqlite3_finalize(st);
                cli_error(CMP_VERB, "out of memory");
                return -1;
            }
        }
    }
    sqlite3_finalize(st);
    if (out->count)
        qsort(out->items, out->count, sizeof *out->items, cmp_strcmp);
    return 0;
}

/* ---- sections ----------------------------------------------------------------- */

static int cmp_overview(cmp_ctx *c)
{
    cli_table *t = cli_table_new(c->n + 1, c->hdr + 1);
    static const char *const what[] = {"run", "status", "start", "duration", "steps"};
    cli_mq *q = cli_mq_new(CMP_VERB, c->db);
    if (!t || !q) {
        cli_table_free(t);
        cli_mq_free(q);
        return -1;
    }
    for (int w = 0; w < 5; w++) {
        cli_table_row(t);
        cli_table_cell(t, "%s", what[w]);
        for (int i = 0; i < c->n; i++) {
            const cli_run *r = &c->runs[i];
            char buf[64];
            switch (w) {
            case 0: cli_table_cell(t, "%s", r->id); break;
            case 1: cli_table_cell(t, "%s", r->status); break;
            case 2: cli_fmt_time(r->start_time, buf, sizeof buf); cli_table_cell(t, "%s", buf); break;
            case 3:
                cli_fmt_duration(cli_run_duration(c->db, r), buf, sizeof buf);
                cli_table_cell(t, "%s", buf);
                break;
            default: {
                int64_t step;
                if (cli_mq_max_step(q, r->row, &step) == 1)
                    cli_table_cell(t, "%lld", (long long)step);
                else
                    cli_table_cell(t, "-");
            }
            }
        }
    }
    int rc = cli_table_print(t, stdout, "");
    cli_table_free(t);
    cli_mq_free(q);
    return rc;
}

static int cmp_params(cmp_ctx *c)
{
    cli_strlist keys = {0};
    if (cmp_union(c, "SELECT key FROM params WHERE run_id = ?1", &keys) != 0)
        return -1;
    sqlite3_stmt *val = cli_db_prepare(CMP_VERB, c->db, "SELECT value FROM params WHERE run_id = ?1 AND key = ?2");
    const char *hdr[CMP_MAX_RUNS + 1];
    hdr[0] = "KEY";
    for (int i = 0; i < c->n; i++)
        hdr[i + 1] = c->labels[i];
    cli_table *t = cli_table_new(c->n + 1, hdr);
    int rc = -1, shown = 0;
    if (!val || !t)
        goto done;
    for (size_t k = 0; k < keys.count; k++) {
        char *vals[CMP_MAX_RUNS] = {0};
        int differ = 0;
        for (int i = 0; i < c->n; i++) {
            sqlite3_reset(val);
            sqlite3_bind_text(val, 1, c->runs[i].id, -1, SQLITE_STATIC);
            sqlite3_bind_text(val, 2, keys.items[k], -1, SQLITE_STATIC);
            /* NULL means the run has no such param */
            vals[i] = sqlite3_step(val) == SQLITE_ROW ? strdup(cli_db_text(val, 0)) : NULL;
            if (i > 0 && ((vals[i] == NULL) != (vals[0] == NULL) ||
                          (vals[i] && vals[0] && strcmp(vals[i], vals[0]) != 0)))
                differ = 1;
        }
        if (differ || c->a->all_params) {
            cli_table_row(t);
            cli_table_cell(t, "%s", keys.items[k]);
            for (int i = 0; i < c->n; i++)
                cli_table_cell(t, "%s", vals[i] ? vals[i] : "-");
            shown++;
        }
        for (int i = 0; i < c->n; i++)
            free(vals[i]);
    }
    printf("\nparams%s\n", c->a->all_params ? "" : " that differ");
    rc = shown ? cli_table_print(t, stdout, "  ") : 0;
    if (keys.count == 0)
        printf("  (none logged)\n");
    else if ((size_t)shown < keys.count)
        printf("  (%zu param%s identical in every run)\n", keys.count - (size_t)shown,
               keys.count - (size_t)shown == 1 ? "" : "s");
done:
    cli_table_free(t);
    sqlite3_finalize(val);
    cli_strlist_free(&keys);
    return rc;
}

/* The key's final point (highest step) and best non-NaN point in one run. */
typedef struct cmp_point {
    int has_final, has_best;
    cli_point final, best;
} cmp_point;

static void cmp_metric_point(cli_mq *q, const cli_run *r, const char *key, int minimise, cmp_point *p)
{
    memset(p, 0, sizeof *p);
    int64_t key_id = cli_mq_key_id(q, r->row, key);
    if (!key_id)
        return;
    p->has_final = cli_mq_last(q, r->row, key_id, &p->final) == 1;
    p->has_best = cli_mq_best(q, r->row, key_id, minimise, &p->best) == 1;
}

static int cmp_metrics(cmp_ctx *c)
{
    cli_strlist keys = {0};
    if (c->a->metrics.count) {
        for (size_t i = 0; i < c->a->metrics.count; i++)
            if (cli_strlist_add(&keys, c->a->metrics.items[i]) != 0) {
                cli_strlist_free(&keys);
                return -1;
            }
    } else if (cmp_union(c, "SELECT key FROM metric_key k JOIN run_info r ON r.id = k.run_id "
                            "WHERE r.run_uuid = ?1", &keys) != 0) {
        return -1;
    }
    cli_mq *q = cli_mq_new(CMP_VERB, c->db);
    cli_table *t = cli_table_new(c->n + 2, c->hdr);
    int rc = -1;
    if (!q || !t)
        goto done;
    for (size_t k = 0; k < keys.count; k++) {
        const char *key = keys.items[k];
        int minimise = cmp_minimise(c->a, key);
        cmp_point pts[CMP_MAX_RUNS];
        int winner = -1;
        for (int i = 0; i < c->n; i++) {
            cmp_metric_point(q, &c->runs[i], key, minimise, &pts[i]);
            if (pts[i].has_best &&
                (winner < 0 || (minimise ? pts[i].best.value < pts[winner].best.value
                                         : pts[i].best.value > pts[winner].best.value)))
                winner = i;
        }
        char v[48];
        cli_table_row(t);
        cli_table_cell(t, "%s", key);
        cli_table_cell(t, "final");
        for (int i = 0; i < c->n; i++) {
            cli_fmt_value(pts[i].final.value, v, sizeof v);
            if (pts[i].has_final)
                cli_table_cell(t, "%s @%lld", v, (long long)pts[i].final.step);
            else
                cli_table_cell(t, "-");
        }
        cli_table_row(t);
        cli_table_cell(t, "%s", "");
        cli_table_cell(t, "best (%s)", minimise ? "min" : "max");
        for (int i = 0; i < c->n; i++) {
            cli_fmt_value(pts[i].best.value, v, sizeof v);
            /* every run that ties the winner is marked */
            int star = winner >= 0 && pts[i].has_best && pts[i].best.value == pts[winner].best.value;
            if (pts[i].has_best)
                cli_table_cell(t, "%s @%lld%s", v, (long long)pts[i].best.step, star && c->n > 1 ? " *" : "");
            else
                cli_table_cell(t, "-");
        }
    }
    printf("\nmetrics (VALUE @STEP)\n");
    if (keys.count == 0)
        printf("  (none logged)\n");
    rc = keys.count ? cli_table_print(t, stdout, "  ") : 0;
done:
    cli_table_free(t);
    cli_mq_free(q);
    cli_strlist_free(&keys);
    return rc;
}

/* ---- the verb ----------------------------------------------------------------- */

static int cmp_parse(int argc, char **argv, cmp_args *a)
{
    static const struct option longopts[] = {
        CLI_LONGOPT_ROOT,
        CLI_LONGOPT_HELP,
        {"metric", required_argument, NULL, CLI_OPT_METRIC},
        {"mode", required_argument, NULL, CLI_OPT_MODE},
        {"all-params", no_argument, NULL, CLI_OPT_ALL},
        {0}};
    cli_parser p = {.verb = CMP_VERB, .shortopts = "h", .longopts = longopts};
    const char *root_flag = NULL;
    int c, rc;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(cmp_usage, stdout); return -1;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        case CLI_OPT_ALL: a->all_params = 1; break;
        case CLI_OPT_MODE:
            if (strcmp(optarg, "min") == 0)
                a->mode = CMP_MIN;
            else if (strcmp(optarg, "max") == 0)
                a->mode = CMP_MAX;
            else
                return cli_usage_error(CMP_VERB, "--mode is min or max, not '%s'", optarg);
            break;
        case CLI_OPT_METRIC:
            if ((rc = cli_metric_keys_add(CMP_VERB, &a->metrics, optarg)) != 0)
                return rc;
            break;
        default: return CLI_USAGE;
        }
    }
    a->specs = argv + optind;
    a->nspecs = argc - optind;
    if (a->nspecs < 2)
        return cli_usage_error(CMP_VERB, "give at least two runs to compare");
    if (a->nspecs > CMP_MAX_RUNS)
        return cli_usage_error(CMP_VERB, "at most %d runs at a time", CMP_MAX_RUNS);
    a->root = cli_root(root_flag);
    return 0;
}

static int cmp_run(cmp_ctx *c)
{
    for (int i = 0; i < c->a->nspecs; i++) {
        cli_run r;
        if (cli_run_resolve(CMP_VERB, c->db, c->a->root, c->a->specs[i], &r) != 0)
            return CLI_ERR;
        for (int j = 0; j < c->n; j++)
            if (strcmp(c->runs[j].id, r.id) == 0) {
                cli_run_free(&r);
                return cli_usage_error(CMP_VERB, "'%s' names run %s/%s twice", c->a->specs[i],
                                       c->runs[j].experiment, c->runs[j].name);
            }
        c->runs[c->n++] = r;
    }
    c->hdr[0] = "KEY";
    c->hdr[1] = "";
    for (int i = 0; i < c->n; i++) {
        snprintf(c->labels[i], sizeof c->labels[i], "%s/%s", c->runs[i].experiment, c->runs[i].name);
        c->hdr[i + 2] = c->labels[i];
    }
    if (cmp_overview(c) != 0 || cmp_params(c) != 0 || cmp_metrics(c) != 0)
        return cli_error(CMP_VERB, "cannot read the runs or write the output");
    return CLI_OK;
}

int cli_runs_compare(int argc, char **argv)
{
    cmp_args a = {0};
    int rc = cmp_parse(argc, argv, &a);
    if (rc == 0) {
        cmp_ctx *c = calloc(1, sizeof *c);
        if (!c) {
            rc = cli_error(CMP_VERB, "out of memory");
        } else {
            c->a = &a;
            rc = cli_db_open(CMP_VERB, a.root, CLI_DB_READ, &c->db);
            if (rc == 0)
                rc = cmp_run(c);
            for (int i = 0; i < c->n; i++)
                cli_run_free(&c->runs[i]);
            sqlite3_close(c->db);
            free(c);
        }
    } else if (rc < 0) {
        rc = CLI_OK;
    }
    cli_strlist_free(&a.metrics);
    return rc;
}
