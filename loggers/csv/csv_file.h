/*
 * loggers/csv/csv_file.h — reading and rewriting metrics.csv (the CSV sink's
 * slow paths: a new column, a resumed run).
 *
 * The file is RFC 4180 CSV: a header of column names, then one line per
 * row. Quoted fields ("a,b", "say ""hi""") are understood; lines may end in
 * "\n" or "\r\n" (files written by Lightning's CSVLogger), lightc writes "\n".
 */
#ifndef LC_CSV_FILE_H
#define LC_CSV_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Split one line (no terminator) into unquoted fields: *fields is a malloc'd
 * array of n malloc'd strings (free with lc_csv_free_fields). Returns 0 or
 * -1 when out of memory. */
int lc_csv_split(const char *line, size_t len, char ***fields, size_t *n);

void lc_csv_free_fields(char **fields, size_t n);

/* Write s as one CSV field into out (at least 2 * strlen(s) + 3 bytes),
 * quoted when it holds a comma, a quote, CR or LF. Returns the length. */
size_t lc_csv_quote(const char *s, char *out);

/* The header of an existing file. Returns 1 with *cols / *ncols (free with
 * lc_csv_free_fields), 0 if the file is missing or empty, or -1 with err
 * naming the file. */
int lc_csv_read_header(const char *path, char ***cols, size_t *ncols, char *err, size_t errlen);

/* Give the file at path the header cols (ncols names) and move every data
 * row's fields to the columns of the same name (columns the file lacks
 * stay empty, columns cols lacks are dropped). Also drops: rows whose
 * "step" is > max_step when max_step >= 0 (a step that does not parse
 * keeps its row), empty lines, and a last line without its newline (a torn
 * write). When none of this changes anything the file is left alone.
 * The new file is written to <path>.tmp, synced and renamed over path, so a
 * crash leaves the old or the new file, never a mix.
 * Returns 0, or -1 with err naming the file (the original is then intact). */
int lc_csv_rewrite(const char *path, char *const *cols, size_t ncols, int64_t max_step,
                   char *err, size_t errlen);

/* Call fn(ctx, column, step) for every non-empty cell of every complete data
 * row of the file (not the "step" cell itself; rows whose step does not
 * parse as an integer are skipped). fn returns 0, or -1 to stop (out of
 * memory). A missing file has no cells. Returns 0, or -1 with err. */
int lc_csv_scan_cells(const char *path, int (*fn)(void *ctx, const char *col, int64_t step),
                      void *ctx, char *err, size_t errlen);

#endif /* LC_CSV_FILE_H */
