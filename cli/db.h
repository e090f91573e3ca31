/*
 * cli/db.h — opening the run index for the CLI, and small sqlite3 helpers.
 *
 * Read verbs open <root>/index.db read-only; before that, when the index is
 * writable, runs whose process died are marked crashed (lc_index_mark_crashed)
 * so every verb shows the same status. rm opens it writable.
 */
#ifndef CLI_DB_H
#define CLI_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cli_db_mode {
    CLI_DB_READ = 0,  /* read-only (after marking crashed runs if possible) */
    CLI_DB_WRITE = 1  /* writable (after marking crashed runs) */
} cli_db_mode;

/* Open the index under root. On failure prints "lightc <verb>: ..." with
 * what to do and returns CLI_ERR; returns 0 on success. */
int cli_db_open(const char *verb, const char *root, cli_db_mode mode, sqlite3 **out);

/* Prepare sql; on failure print the SQLite message and return NULL. */
sqlite3_stmt *cli_db_prepare(const char *verb, sqlite3 *db, const char *sql);

/* Column text, "" for NULL. */
const char *cli_db_text(sqlite3_stmt *st, int col);

/* Column as double, NaN for NULL. */
double cli_db_double(sqlite3_stmt *st, int col);

/* A metric value from the metrics view: NaN when is_nan is set or the value
 * is NULL (SQLite stores NaN as NULL), else the stored double (+-inf kept). */
double cli_db_metric_value(sqlite3_stmt *st, int value_col, int is_nan_col);

/* 1 if the table exists in the index (private tables may be missing in an
 * index written by another version). */
int cli_db_has_table(sqlite3 *db, const char *table);

/* "<root>/<rel>" (or rel itself when absolute) into buf. */
void cli_db_join(const char *root, const char *rel, char *buf, size_t n);

#endif /* CLI_DB_H */
