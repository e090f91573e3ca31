/*
 * cli/table.c — aligned plain-text tables (see table.h). Widths count UTF-8
 * code points, so parameter values with accents still line up. A cell that
 * is not valid UTF-8 (a tag logged with bad bytes into an older index) is
 * printed with U+FFFD for each invalid sequence (common/utf8.h).
 */
#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

struct cli_table {
    int ncols;
    char **headers;     /* ncols, or NULL */
    unsigned char *right;
    char **cells;       /* rows * ncols, NULL = empty */
    int rows, cap;
    int col;            /* next cell's column in the current row */
    int oom;            /* a cell could not be stored */
};

cli_table *cli_table_new(int ncols, const char *const *headers)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->right = calloc((size_t)ncols, 1);
    if (!t->right) {
        free(t);
        return NULL;
    }
    if (headers) {
        t->headers = calloc((size_t)ncols, sizeof *t->headers);
        if (!t->headers) {
            cli_table_free(t);
            return NULL;
        }
        for (int i = 0; i < ncols; i++) {
            t->headers[i] = strdup(headers[i] ? headers[i] : "");
            if (!t->headers[i])
                t->oom = 1;
        }
    }
    return t;
}

void cli_table_right(cli_table *t, int col)
{
    if (t && col >= 0 && col < t->ncols)
        t->right[col] = 1;
}

void cli_table_row(cli_table *t)
{
    if (!t)
        return;
    if (t->rows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof *cells);
        if (!cells) {
            t->oom = 1;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    memset(t->cells + (size_t)t->rows * (size_t)t->ncols, 0, (size_t)t->ncols * sizeof *t->cells);
    t->rows++;
    t->col = 0;
}

void cli_table_cell(cli_table *t, const char *fmt, ...)
{
    if (!t || t->rows == 0 || t->col >= t->ncols) {
        if (t)
            t->oom = 1; /* a caller bug: more cells than columns */
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        s = NULL;
        t->oom = 1;
    }
    va_end(ap);
    if (s && !lc_utf8_valid(s, strlen(s))) {
        char *fixed = lc_utf8_repair(s, strlen(s));
        free(s);
        if (!(s = fixed))
            t->oom = 1;
    }
    t->cells[(size_t)(t->rows - 1) * (size_t)t->ncols + (size_t)t->col] = s;
    t->col++;
}

int cli_table_rows(const cli_table *t)
{
    return t ? t->rows : 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t table_width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void table_pad(FILE *out, size_t n)
{
    while (n--)
        fputc(' ', out);
}

static void table_line(const cli_table *t, FILE *out, const char *indent, char *const *cells,
                       const size_t *width)
{
    /* the last column that has text: nothing is padded after it */
    int last = -1;
    for (int c = 0; c < t->ncols; c++)
        if (cells[c] && *cells[c])
            last = c;
    fputs(indent, out);
    for (int c = 0; c <= last; c++) {
        const char *s = cells[c] ? cells[c] : "";
        size_t pad = width[c] - table_width(s);
        if (c > 0)
            fputs("  ", out);
        if (t->right[c])
            table_pad(out, pad);
        fputs(s, out);
        if (!t->right[c] && c < last)
            table_pad(out, pad);
    }
    fputc('\n', out);
}

int cli_table_print(const cli_table *t, FILE *out, const char *indent)
{
    if (!t || t->oom)
        return -1;
    if (!indent)
        indent = "";
    size_t *width = calloc((size_t)t->ncols, sizeof *width);
    if (!width)
        return -1;
    for (int c = 0; c < t->ncols; c++) {
        if (t->headers)
            width[c] = table_width(t->headers[c]);
        for (int r = 0; r < t->rows; r++) {
            size_t w = table_width(t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    if (t->headers)
        table_line(t, out, indent, t->headers, width);
    for (int r = 0; r < t->rows; r++)
        table_line(t, out, indent, t->cells + (size_t)r * (size_t)t->ncols, width);
    free(width);
    return ferror(out) ? -1 : 0;
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    if (t->headers)
        for (int i = 0; i < t->ncols; i++)
            free(t->headers[i]);
    free(t->headers);
    for (size_t i = 0; i < (size_t)t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}
