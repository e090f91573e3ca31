/*
 * cli/delivery.c — a run's remote deliveries for the read verbs
 * (delivery.h): delivered (remote run id and URL), pending (items waiting,
 * since when), failed (the reason and what to do).
 */
#include "delivery.h"
#include "db.h"
#include "fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* backend, state, remote_id, remote_url, pending_since, last_error,
 * shipped, items after the cursor */
static const char deliv_sql[] =
    "SELECT d.backend, d.state, d.remote_id, d.remote_url, d.pending_since, d.last_error,"
    " d.shipped,"
    " (SELECT count(*) FROM metric_point p WHERE p.run_id = d.run_id AND p.id > d.cursor)"
    " + (SELECT count(*) FROM param WHERE run_id = d.run_id AND seq > d.cursor)"
    " + (SELECT count(*) FROM tag WHERE run_id = d.run_id AND seq > d.cursor)"
    " + (SELECT count(*) FROM media WHERE run_id = d.run_id AND seq > d.cursor)"
    " + (SELECT count(*) FROM run_info WHERE id = d.run_id AND end_seq > d.cursor)"
    " FROM delivery d WHERE d.run_id = ?1 ORDER BY d.backend";

static sqlite3_stmt *deliv_query(sqlite3 *db, int64_t row)
{
    if (!cli_db_has_table(db, "delivery"))
        return NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, deliv_sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, row);
    return st;
}

int cli_delivery_undelivered(sqlite3 *db, int64_t row)
{
    if (!cli_db_has_table(db, "delivery"))
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM delivery WHERE run_id = ?1 AND state <> "
                               "'delivered'", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, row);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}

int cli_delivery_show(sqlite3 *db, int64_t row)
{
    sqlite3_stmt *st = deliv_query(db, row);
    if (!st)
        return 0;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *backend = cli_db_text(st, 0), *state = cli_db_text(st, 1);
        if (n++ == 0)
            printf("\ndeliveries\n");
        long long items = sqlite3_column_int64(st, 7);
        long long shipped = sqlite3_column_int64(st, 6);
        const char *rid = cli_db_text(st, 2), *url = cli_db_text(st, 3), *last = cli_db_text(st, 5);
        if (strcmp(state, "delivered") == 0) {
            printf("  %-8s delivered: remote run %s%s%s (%lld items)\n", backend, *rid ? rid : "-",
                   *url ? " " : "", url, shipped);
        } else if (strcmp(state, "failed") == 0) {
            printf("  %-8s failed: %s\n", backend, *last ? last : "(no reason recorded)");
            printf("  %-8s %lld items wait; fix the cause, then run `lightc sync --to %s`\n", "",
                   items, backend);
        } else {
            char since[32];
            cli_fmt_time(cli_db_double(st, 4), since, sizeof since);
            printf("  %-8s pending: %lld items since %s", backend, items, since);
            if (*rid)
                printf(" (remote run %s)", rid);
            printf("; `lightc sync` finishes it (a running training process ships it itself)\n");
            if (*last)
                printf("  %-8s last error: %s\n", "", last);
        }
    }
    sqlite3_finalize(st);
    return ferror(stdout) ? -1 : 0;
}

cJSON *cli_delivery_json(sqlite3 *db, int64_t row)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    sqlite3_stmt *st = deliv_query(db, row);
    if (!st)
        return o;
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *d = cJSON_AddObjectToObject(o, cli_db_text(st, 0));
        if (!d)
            break;
        const char *rid = cli_db_text(st, 2), *url = cli_db_text(st, 3), *last = cli_db_text(st, 5);
        double since = cli_db_double(st, 4);
        cJSON_AddStringToObject(d, "state", cli_db_text(st, 1));
        cJSON_AddItemToObject(d, "remote_id", *rid ? cJSON_CreateString(rid) : cJSON_CreateNull());
        cJSON_AddItemToObject(d, "remote_url", *url ? cJSON_CreateString(url) : cJSON_CreateNull());
        cJSON_AddNumberToObject(d, "pending_items", (double)sqlite3_column_int64(st, 7));
        cJSON_AddItemToObject(d, "pending_since",
                              isnan(since) ? cJSON_CreateNull() : cJSON_CreateNumber(since));
        cJSON_AddItemToObject(d, "last_error", *last ? cJSON_CreateString(last) : cJSON_CreateNull());
        cJSON_AddNumberToObject(d, "shipped", (double)sqlite3_column_int64(st, 6));
    }
    sqlite3_finalize(st);
    return o;
}
