/*
 * cli/runs_export.c — `lightc runs export RUN --format csv|json [-o FILE]`:
 * a run's metrics, losslessly.
 *
 * csv: long format "key,step,value,wall_time", one line per point, values
 *      as the shortest text that reads back as the same double, NaN and
 *      infinities spelled nan, inf, -inf.
 * json: one document built with cJSON:
 *      {"run":{...}, "params":{...}, "tags":{...},
 *       "metrics":{"key":[[step, value, wall_time], ...]}}
 *      NaN/Inf are not JSON numbers, so they are the strings "NaN",
 *      "Infinity", "-Infinity" (as MLflow's API writes them); numbers are
 *      written digit for digit (steps and int params as integers, doubles
 *      as their shortest exact text), not through cJSON's double printer.
 * Both are valid UTF-8: text that is not (a tag or param logged with bad
 * bytes into an older index) has each invalid sequence replaced by U+FFFD,
 * as Python's bytes.decode('utf-8', errors='replace') does.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "common/utf8.h"
#include "db.h"
#include "fmt.h"
#include "metric_keys.h"
#include "metric_query.h"
#include "run_resolve.h"

#define EXP_VERB "runs export"

static const char exp_usage[] =
    "usage: lightc runs export RUN [--format csv|json] [-o FILE] [--metric KEY]... [--root DIR]\n"
    "\n"
    "Write a run's metrics, losslessly.\n"
    "  csv   key,step,value,wall_time  (one line per point; NaN and infinities\n"
    "        as nan, inf, -inf; wall_time in Unix seconds)\n"
    "  json  one document: {\"run\":{...}, \"params\":{...}, \"tags\":{...},\n"
    "        \"metrics\":{\"KEY\":[[step, value, wall_time], ...]}}; NaN and\n"
    "        infinities as the strings \"NaN\", \"Infinity\", \"-Infinity\"\n"
    "\n"
    "RUN is a run id, a unique prefix of one, or experiment/name.\n"
    "\n"
    "options:\n"
    "  --format F         csv (default) or json\n"
    "  -o, --output FILE  write to FILE (replaced only when complete) instead of stdout\n"
    "  --metric KEY       only these metrics (repeat or comma list)\n"
    "  --root DIR         run root (default $LIGHTC_ROOT, else ./runs)\n"
    "  -h, --help         show this help\n"
    "\n"
    "examples:\n"
    "  lightc runs export mnist/baseline --format csv -o baseline.csv\n"
    "  lightc runs export 3f2a --format json | python3 -m json.tool\n";

typedef struct exp_args {
    const char *root;
    const char *spec;
    const char *output;
    int json;
    cli_strlist metrics;
} exp_args;

/* ---- csv ------------------------------------------------------------------------ */

/* Normalised keys never need quoting, but an older index might hold any
 * key, even one that is not UTF-8. */
static void exp_csv_field(FILE *out, const char *s)
{
    char *fixed = lc_utf8_valid(s, strlen(s)) ? NULL : lc_utf8_repair(s, strlen(s));
    if (fixed)
        s = fixed;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        free(fixed);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
    free(fixed);
}

static int exp_csv(sqlite3 *db, const exp_args *a, const cli_run *r, FILE *out)
{
    sqlite3_stmt *st = cli_db_prepare(EXP_VERB, db,
        CLI_MQ_POINTS_SQL);
    if (!st)
        return CLI_ERR;
    sqlite3_bind_int64(st, 1, r->row);
    fputs("key,step,value,wall_time\n", out);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = cli_db_text(st, 0);
        if (a->metrics.count && !cli_strlist_has(&a->metrics, key))
            continue;
        char v[40], w[40] = "";
        cli_fmt_exact(cli_db_metric_value(st, 2, 3), v, sizeof v);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            cli_fmt_exact(sqlite3_column_double(st, 4), w, sizeof w);
        exp_csv_field(out, key);
        fprintf(out, ",%lld,%s,%s\n", (long long)sqlite3_column_int64(st, 1), v, w);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cli_error(EXP_VERB, "cannot read the run's metrics: %s", sqlite3_errmsg(db));
    return CLI_OK;
}

/* ---- json ----------------------------------------------------------------------- */

/* A double as JSON: a number, or "NaN" / "Infinity" / "-Infinity". The
 * number is written raw, as the shortest text that reads back exactly:
 * cJSON's own printer accepts a 15-digit text when it is merely close
 * (within an epsilon), which would lose the last bits. */
static cJSON *exp_json_double(double v)
{
    if (isnan(v))
        return cJSON_CreateString("NaN");
    if (isinf(v))
        return cJSON_CreateString(v > 0 ? "Infinity" : "-Infinity");
    char buf[40];
    cli_fmt_exact(v, buf, sizeof buf);
    return cJSON_CreateRaw(buf);
}

static cJSON *exp_json_int(long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return cJSON_CreateRaw(buf);
}

/* 1 if s is a JSON integer literal: -?digits without a leading zero. */
static int exp_is_int_text(const char *s)
{
    if (*s == '-')
        s++;
    if (!isdigit((unsigned char)*s) || (s[0] == '0' && s[1]))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == 0;
}

/* A param's value with its logged type: int and double as numbers, bool as
 * true/false, anything else (and anything that does not parse) as text. */
static cJSON *exp_json_param(const char *text, const char *type)
{
    if ((strcmp(type, "int") == 0 || strcmp(type, "integer") == 0) && exp_is_int_text(text))
        return cJSON_CreateRaw(text);
    if (strcmp(type, "double") == 0 || strcmp(type, "float") == 0 || strcmp(type, "real") == 0) {
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (end != text && *end == 0)
            return exp_json_double(d);
    }
    if (strcmp(type, "bool") == 0 || strcmp(type, "boolean") == 0) {
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            return cJSON_CreateTrue();
        if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            return cJSON_CreateFalse();
    }
    return cJSON_CreateString(text);
}

static cJSON *exp_json_run(const cli_run *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "experiment", r->experiment);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "status", r->status);
    cJSON_AddItemToObject(o, "start_time", isnan(r->start_time) ? cJSON_CreateNull() : exp_json_double(r->start_time));
    cJSON_AddItemToObject(o, "end_time", isnan(r->end_time) ? cJSON_CreateNull() : exp_json_double(r->end_time));
    cJSON_AddStringToObject(o, "host", r->host);
    cJSON_AddItemToObject(o, "pid", exp_json_int((long long)r->pid));
    cJSON_AddStringToObject(o, "dir", r->dir);
    cJSON_AddBoolToObject(o, "degraded", r->degraded);
    return o;
}

/* Fill obj from "SELECT key, value[, type] ..." bound to the run id. */
static int exp_json_kv(sqlite3 *db, const char *sql, const char *run_id, int typed, cJSON *obj)
{
    sqlite3_stmt *st = cli_db_prepare(EXP_VERB, db, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = cli_db_text(st, 0), *val = cli_db_text(st, 1);
        cJSON *item = typed ? exp_json_param(val, cli_db_text(st, 2)) : cJSON_CreateString(val);
        if (!item || !cJSON_AddItemToObject(obj, key, item)) {
            cJSON_Delete(item);
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cli_error(EXP_VERB, "cannot read the run: %s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int exp_json_metrics(sqlite3 *db, const exp_args *a, int64_t row, cJSON *obj)
{
    sqlite3_stmt *st = cli_db_prepare(EXP_VERB, db,
        CLI_MQ_POINTS_SQL);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, row);
    cJSON *series = NULL;
    int rc, oom = 0;
    while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = cli_db_text(st, 0);
        if (a->metrics.count && !cli_strlist_has(&a->metrics, key))
            continue;
        /* rows come ordered by key: a new key starts a new array */
        if (!series || strcmp(series->string, key) != 0) {
            series = cJSON_AddArrayToObject(obj, key);
            if (!series) {
                oom = 1;
                break;
            }
        }
        cJSON *pt = cJSON_CreateArray();
        double wall = cli_db_double(st, 4);
        oom = !pt || !cJSON_AddItemToArray(series, pt) ||
              !cJSON_AddItemToArray(pt, exp_json_int((long long)sqlite3_column_int64(st, 1))) ||
              !cJSON_AddItemToArray(pt, exp_json_double(cli_db_metric_value(st, 2, 3))) ||
              !cJSON_AddItemToArray(pt, isnan(wall) ? cJSON_CreateNull() : exp_json_double(wall));
    }
    sqlite3_finalize(st);
    if (oom)
        return cli_error(EXP_VERB, "out of memory building the JSON document; export as csv instead"), -1;
    if (rc != SQLITE_DONE)
        return cli_error(EXP_VERB, "cannot read the run's metrics: %s", sqlite3_errmsg(db)), -1;
    return 0;
}

static int exp_json(sqlite3 *db, const exp_args *a, const cli_run *r, FILE *out)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *run = exp_json_run(r);
    int rc = CLI_ERR;
    if (!doc || !run || !cJSON_AddItemToObject(doc, "run", run)) {
        cJSON_Delete(run);
        cli_error(EXP_VERB, "out of memory");
        goto done;
    }
    cJSON *params = cJSON_AddObjectToObject(doc, "params");
    cJSON *tags = cJSON_AddObjectToObject(doc, "tags");
    cJSON *metrics = cJSON_AddObjectToObject(doc, "metrics");
    if (!params || !tags || !metrics) {
        cli_error(EXP_VERB, "out of memory");
        goto done;
    }
    if (exp_json_kv(db, "SELECT key, value, type FROM params WHERE run_id = ?1 ORDER BY key", r->id, 1, params) ||
        exp_json_kv(db, "SELECT key, value FROM tags WHERE run_id = ?1 ORDER BY key", r->id, 0, tags) ||
        exp_json_metrics(db, a, r->row, metrics))
        goto done;
    char *text = cJSON_PrintUnformatted(doc);
    /* cJSON copies string bytes as they are. An invalid sequence lies
       inside one string (its bytes are all >= 0x80, no quote among them),
       so repairing the whole text repairs each string alone. */
    int valid = text && lc_utf8_valid(text, strlen(text));
    char *fixed = text && !valid ? lc_utf8_repair(text, strlen(text)) : NULL;
    if (!text || (!valid && !fixed)) {
        cJSON_free(text);
        cli_error(EXP_VERB, "out of memory printing the JSON document; export as csv instead");
        goto done;
    }
    fputs(fixed ? fixed : text, out);
    fputc('\n', out);
    free(fixed);
    cJSON_free(text);
    rc = CLI_OK;
done:
    cJSON_Delete(doc);
    return rc;
}

/* ---- the verb ------------------------------------------------------------------- */

static int exp_parse(int argc, char **argv, exp_args *a)
{
    static const struct option longopts[] = {
        CLI_LONGOPT_ROOT,
        CLI_LONGOPT_HELP,
        {"format", required_argument, NULL, CLI_OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"metric", required_argument, NULL, CLI_OPT_METRIC},
        {0}};
    cli_parser p = {.verb = EXP_VERB, .shortopts = "ho:", .longopts = longopts};
    const char *root_flag = NULL;
    int c, rc;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(exp_usage, stdout); return -1;
        case 'o': a->output = optarg; break;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        case CLI_OPT_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                a->json = 0;
            else if (strcmp(optarg, "json") == 0)
                a->json = 1;
            else
                return cli_usage_error(EXP_VERB, "--format is csv or json, not '%s'", optarg);
            break;
        case CLI_OPT_METRIC:
            if ((rc = cli_metric_keys_add(EXP_VERB, &a->metrics, optarg)) != 0)
                return rc;
            break;
        default: return CLI_USAGE;
        }
    }
    if (optind >= argc)
        return cli_usage_error(EXP_VERB, "which run? give a run id, a prefix of one, or experiment/name");
    if (argc - optind > 1)
        return cli_usage_error(EXP_VERB, "one run at a time (got '%s' too)", argv[optind + 1]);
    a->spec = argv[optind];
    if (a->output && !*a->output)
        return cli_usage_error(EXP_VERB, "-o needs a file name");
    a->root = cli_root(root_flag);
    return 0;
}

/* Export to stdout, or to a temporary file renamed over -o FILE once
 * complete, so a failed export never leaves half a file behind. */
static int exp_write(sqlite3 *db, const exp_args *a, const cli_run *r)
{
    int to_stdout = !a->output || strcmp(a->output, "-") == 0;
    char tmp[4096];
    FILE *out = stdout;
    if (!to_stdout) {
        snprintf(tmp, sizeof tmp, "%s.tmp%ld", a->output, (long)getpid());
        if (!(out = fopen(tmp, "w")))
            return cli_error(EXP_VERB, "cannot write '%s': %s", tmp, strerror(errno));
    }
    int rc = a->json ? exp_json(db, a, r, out) : exp_csv(db, a, r, out);
    if (to_stdout) {
        if (fflush(stdout) != 0 && rc == CLI_OK)
            rc = cli_error(EXP_VERB, "cannot write to stdout: %s", strerror(errno));
        return rc;
    }
    if (ferror(out) && rc == CLI_OK)
        rc = cli_error(EXP_VERB, "cannot write '%s': %s", tmp, strerror(errno));
    if (fclose(out) != 0 && rc == CLI_OK)
        rc = cli_error(EXP_VERB, "cannot write '%s': %s", tmp, strerror(errno));
    if (rc == CLI_OK && rename(tmp, a->output) != 0)
        rc = cli_error(EXP_VERB, "cannot create '%s': %s", a->output, strerror(errno));
    if (rc != CLI_OK)
        unlink(tmp);
    return rc;
}

int cli_runs_export(int argc, char **argv)
{
    exp_args a = {0};
    int rc = exp_parse(argc, argv, &a);
    if (rc == 0) {
        sqlite3 *db = NULL;
        rc = cli_db_open(EXP_VERB, a.root, CLI_DB_READ, &db);
        cli_run r = {0};
        if (rc == 0)
            rc = cli_run_resolve(EXP_VERB, db, a.root, a.spec, &r);
        if (rc == 0)
            rc = exp_write(db, &a, &r);
        cli_run_free(&r);
        sqlite3_close(db);
    } else if (rc < 0) {
        rc = CLI_OK;
    }
    cli_strlist_free(&a.metrics);
    return rc;
}
