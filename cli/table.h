/*
 * cli/table.h — aligned plain-text tables for lightc's output: columns
 * separated by two spaces, padded to the widest cell, numbers right-aligned
 * when asked, no trailing blanks.
 */
#ifndef CLI_TABLE_H
#define CLI_TABLE_H

#include <stdio.h>

typedef struct cli_table cli_table;

/* A table with ncols columns and these headers (NULL: no header line).
 * Returns NULL when out of memory. */
cli_table *cli_table_new(int ncols, const char *const *headers);

/* Right-align column col (numbers). */
void cli_table_right(cli_table *t, int col);

/* Start a new row; the cells that follow fill it from the left. */
void cli_table_row(cli_table *t);

/* Append one printf-formatted cell to the current row. */
void cli_table_cell(cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number of rows added so far. */
int cli_table_rows(const cli_table *t);

/* Print with each line prefixed by indent. Returns 0, or -1 if a cell could
 * not be stored (out of memory) or writing failed. */
int cli_table_print(const cli_table *t, FILE *out, const char *indent);

void cli_table_free(cli_table *t);

#endif /* CLI_TABLE_H */
