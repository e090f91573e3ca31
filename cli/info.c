/*
 * cli/info.c — `lightc info`: version, compiled sinks, compute backends
 * (through the lc_cli_backends hook) and the run root's index.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "backends.h"
#include "commands.h"
#include "cuda_ops.h"
#include "trainer/dist/dist.h"
#include "db.h"
#include "index/index_schema.h"
#include "lightc/hub.h"
#include "table.h"

static const char info_usage[] =
    "usage: lightc info [--root DIR]\n"
    "\n"
    "Print the lightc version, the sinks compiled into the library, BLAS and\n"
    "CUDA support, and the run index under the root.\n"
    "\n"
    "options:\n"
    "  --root DIR   run root (default $LIGHTC_ROOT, else ./runs)\n"
    "  -h, --help   show this help\n";

static const char *info_yes_no(int v)
{
    return v > 0 ? "yes" : v == 0 ? "no" : "not reported";
}

/* "runs/index.db: schema 1, 3 runs" or why there is none. */
static void info_index(const char *root, char *buf, size_t n)
{
    char path[4096];
    cli_db_join(root, LC_INDEX_FILE, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(buf, n, "%s: %s", path, errno == ENOENT ? "not created yet" : strerror(errno));
        return;
    }
    sqlite3 *db = NULL;
    char err[512] = "";
    if (lc_index_open(root, 1, &db, err, sizeof err) != 0) {
        snprintf(buf, n, "%s: cannot open: %s", path, err);
        return;
    }
    int version = -1;
    long long runs = -1;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        runs = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    snprintf(buf, n, "%s: schema %d, %lld run%s", path, version, runs, runs == 1 ? "" : "s");
}

int cli_info(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_LONGOPT_ROOT, CLI_LONGOPT_HELP, {0}};
    cli_parser p = {.verb = "info", .shortopts = "h", .longopts = longopts};
    const char *root_flag = NULL;
    int c;
    while ((c = cli_next_opt(&p, argc, argv)) != -1) {
        switch (c) {
        case 'h': fputs(info_usage, stdout); return CLI_OK;
        case CLI_OPT_ROOT: root_flag = optarg; break;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
    const char *root = cli_root(root_flag);

    char index[4600];
    info_index(root, index, sizeof index);

    cli_table *t = cli_table_new(2, NULL);
    cli_table_row(t);
    cli_table_cell(t, "version");
    cli_table_cell(t, "%s", lc_version());
    cli_table_row(t);
    cli_table_cell(t, "sinks");
    cli_table_cell(t, "%s", lc_available_sinks());

    lc_cli_backend be[8];
    int nbe = lc_cli_backends(be, 8);
    for (int i = 0; i < nbe; i++) {
        cli_table_row(t);
        cli_table_cell(t, "%s", be[i].name);
        cli_table_cell(t, "compiled: %s, available: %s%s%s%s", info_yes_no(be[i].compiled),
                       info_yes_no(be[i].available), be[i].detail[0] ? " (" : "", be[i].detail,
                       be[i].detail[0] ? ")" : "");
    }
    cli_table_row(t);
    cli_table_cell(t, "ddp");
    cli_table_cell(t, "mpi: %s, nccl: %s", info_yes_no(lc_dist_have_mpi()),
                   info_yes_no(lc_dist_have_nccl()));
    lc_cuda_info gpus;
    lc_cuda_query(&gpus);
    for (int i = 0; i < gpus.gpu_count; i++) {
        const lc_cuda_gpu *g = &gpus.gpus[i];
        cli_table_row(t);
        cli_table_cell(t, "gpu %d", i);
        cli_table_cell(t, "%s, %.1f GiB, compute capability %d.%d, %d SMs", g->name,
                       (double)g->total_memory / (1024.0 * 1024.0 * 1024.0), g->cc_major,
                       g->cc_minor, g->sm_count);
    }
    cli_table_row(t);
    cli_table_cell(t, "root");
    cli_table_cell(t, "%s", root);
    cli_table_row(t);
    cli_table_cell(t, "index");
    cli_table_cell(t, "%s", index);
    int rc = cli_table_print(t, stdout, "");
    cli_table_free(t);
    if (rc != 0)
        return cli_error("info", "cannot write the output (out of memory or a closed pipe)");
    return CLI_OK;
}
