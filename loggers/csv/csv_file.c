/*
 * loggers/csv/csv_file.c — reading and rewriting metrics.csv (see csv_file.h).
 *
 * A rewrite streams the old file line by line: each line is cut into raw
 * field spans (quotes kept, nothing allocated per line) and the spans are
 * written out in the new column order. It happens only when the set of
 * columns grows or a resumed run cuts rows, never per row.
 */
#include "csv_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cf_span {
    size_t start, len;
} cf_span;

/* Raw field spans of line[0..len). Fills at most max, returns the count. */
static size_t cf_spans(const char *line, size_t len, cf_span *sp, size_t max)
{
    size_t n = 0, i = 0;
    for (;;) {
        size_t start = i;
        if (i < len && line[i] == '"') { /* quoted: commas inside don't split */
            i++;
            while (i < len) {
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
        }
        while (i < len && line[i] != ',')
            i++;
        if (n < max)
            sp[n] = (cf_span){start, i - start};
        n++;
        if (i >= len)
            return n;
        i++;
    }
}

/* A span's text without its quotes ("" -> "). */
static char *cf_unquote(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    size_t o = 0, i = 0;
    if (len > 0 && p[0] == '"') {
        for (i = 1; i < len; i++) {
            if (p[i] == '"') {
                if (i + 1 < len && p[i + 1] == '"') {
                    s[o++] = '"';
                    i++;
                    continue;
                }
                i++;
                break;
            }
            s[o++] = p[i];
        }
    }
    for (; i < len; i++)
        s[o++] = p[i];
    s[o] = 0;
    return s;
}

int lc_csv_split(const char *line, size_t len, char ***fields, size_t *n)
{
    size_t cnt = cf_spans(line, len, NULL, 0);
    cf_span *sp = malloc(cnt * sizeof *sp);
    char **f = calloc(cnt, sizeof *f);
    if (!sp || !f) {
        free(sp);
        free(f);
        return -1;
    }
    cf_spans(line, len, sp, cnt);
    for (size_t i = 0; i < cnt; i++) {
        f[i] = cf_unquote(line + sp[i].start, sp[i].len);
        if (!f[i]) {
            lc_csv_free_fields(f, i);
            free(sp);
            return -1;
        }
    }
    free(sp);
    *fields = f;
    *n = cnt;
    return 0;
}

void lc_csv_free_fields(char **fields, size_t n)
{
    if (!fields)
        return;
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
    free(fields);
}

size_t lc_csv_quote(const char *s, char *out)
{
    size_t n = strlen(s);
    if (!strpbrk(s, ",\"\r\n")) {
        memcpy(out, s, n);
        return n;
    }
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            out[o++] = '"';
        out[o++] = s[i];
    }
    out[o++] = '"';
    return o;
}

/* Drop the line terminator; returns the length left. */
static size_t cf_chomp(char *line, ssize_t len)
{
    size_t n = (size_t)len;
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = 0;
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = 0;
    return n;
}

int lc_csv_read_header(const char *path, char ***cols, size_t *ncols, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    int rc = 0;
    if (len < 0) {
        if (ferror(f)) {
            snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
            rc = -1;
        }
    } else if (lc_csv_split(line, cf_chomp(line, len), cols, ncols) != 0) {
        snprintf(err, errlen, "csv: out of memory reading %s", path);
        rc = -1;
    } else {
        rc = 1;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Does this data row go (its step is not past max_step)? */
static int cf_keep_row(const char *line, const cf_span *sp, size_t nsp, long step_col,
                       int64_t max_step)
{
    if (max_step < 0 || step_col < 0 || (size_t)step_col >= nsp)
        return 1;
    const char *p = line + sp[step_col].start;
    char *end;
    double step = strtod(p, &end);
    if (end == p || end != p + sp[step_col].len)
        return 1;
    return step <= (double)max_step;
}

typedef struct cf_rewrite {
    const char *path;
    FILE *in;
    char *line;
    size_t cap;
    size_t nold;       /* columns of the file's header */
    long step_col;     /* "step" in the file's header, -1 if none */
    long *map;         /* new column -> old column or -1 */
    cf_span *sp;
} cf_rewrite;

/* Would a rewrite change anything, given the header is already right? */
static int cf_needs_rewrite(cf_rewrite *rw, int64_t max_step)
{
    ssize_t len;
    while ((len = getline(&rw->line, &rw->cap, rw->in)) >= 0) {
        if (len == 0 || rw->line[len - 1] != '\n')
            return 1; /* torn last line */
        if (len == 1 || rw->line[len - 2] == '\r')
            return 1; /* empty line or CRLF */
        size_t n = cf_chomp(rw->line, len);
        size_t nsp = cf_spans(rw->line, n, rw->sp, rw->nold);
        if (!cf_keep_row(rw->line, rw->sp, nsp < rw->nold ? nsp : rw->nold, rw->step_col, max_step))
            return 1;
    }
    return 0;
}

static int cf_write_rows(cf_rewrite *rw, FILE *out, char *const *cols, size_t ncols,
                         int64_t max_step)
{
    char *q = NULL;
    for (size_t j = 0; j < ncols; j++) {
        q = realloc(q, 2 * strlen(cols[j]) + 3);
        if (!q)
            return -1;
        if (j > 0)
            putc(',', out);
        fwrite(q, 1, lc_csv_quote(cols[j], q), out);
    }
    free(q);
    putc('\n', out);
    ssize_t len;
    while ((len = getline(&rw->line, &rw->cap, rw->in)) >= 0) {
        if (len == 0 || rw->line[len - 1] != '\n')
            break; /* torn last line */
        size_t n = cf_chomp(rw->line, len);
        if (n == 0)
            continue;
        size_t nsp = cf_spans(rw->line, n, rw->sp, rw->nold);
        if (nsp > rw->nold)
            nsp = rw->nold;
        if (!cf_keep_row(rw->line, rw->sp, nsp, rw->step_col, max_step))
            continue;
        for (size_t j = 0; j < ncols; j++) {
            if (j > 0)
                putc(',', out);
            long o = rw->map[j];
            if (o >= 0 && (size_t)o < nsp)
                fwrite(rw->line + rw->sp[o].start, 1, rw->sp[o].len, out);
        }
        putc('\n', out);
    }
    return ferror(rw->in) ? -1 : 0;
}

int lc_csv_rewrite(const char *path, char *const *cols, size_t ncols, int64_t max_step,
                   char *err, size_t errlen)
{
    cf_rewrite rw = {.path = path, .step_col = -1};
    char **old = NULL;
    char *tmp = NULL;
    FILE *out = NULL;
    int rc = -1;

    rw.in = fopen(path, "rb");
    if (!rw.in) {
        snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t len = getline(&rw.line, &rw.cap, rw.in);
    if (len < 0) {
        snprintf(err, errlen, "csv: cannot read the header of %s: %s", path,
                 ferror(rw.in) ? strerror(errno) : "empty file");
        goto done;
    }
    if (lc_csv_split(rw.line, cf_chomp(rw.line, len), &old, &rw.nold) != 0)
        goto nomem;
    rw.map = malloc((ncols + 1) * sizeof *rw.map);
    rw.sp = malloc((rw.nold + 1) * sizeof *rw.sp);
    if (!rw.map || !rw.sp)
        goto nomem;
    int same = ncols == rw.nold;
    for (size_t i = 0; i < rw.nold; i++)
        if (strcmp(old[i], "step") == 0)
            rw.step_col = (long)i;
    for (size_t j = 0; j < ncols; j++) {
        rw.map[j] = -1;
        for (size_t i = 0; i < rw.nold; i++) {
            if (strcmp(cols[j], old[i]) == 0) {
                rw.map[j] = (long)i;
                break;
            }
        }
        same = same && rw.map[j] == (long)j;
    }
    long data_start = ftell(rw.in);
    if (same && !cf_needs_rewrite(&rw, max_step)) {
        rc = ferror(rw.in) ? -1 : 0;
        if (rc != 0)
            snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    if (fseek(rw.in, data_start, SEEK_SET) != 0) {
        snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
        goto done;
    }

    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        tmp = NULL;
        goto nomem;
    }
    out = fopen(tmp, "wb");
    if (!out) {
        snprintf(err, errlen, "csv: cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 16);
    if (cf_write_rows(&rw, out, cols, ncols, max_step) != 0) {
        snprintf(err, errlen, "csv: cannot rewrite %s: %s", path, strerror(errno));
        goto fail_tmp;
    }
    if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0) {
        snprintf(err, errlen, "csv: cannot write %s: %s", tmp, strerror(errno));
        goto fail_tmp;
    }
    int cerr = fclose(out);
    out = NULL;
    if (cerr != 0) {
        snprintf(err, errlen, "csv: cannot write %s: %s", tmp, strerror(errno));
        goto fail_tmp;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "csv: cannot replace %s: %s", path, strerror(errno));
        goto fail_tmp;
    }
    rc = 0;
    goto done;

nomem:
    snprintf(err, errlen, "csv: out of memory rewriting %s", path);
    goto done;
fail_tmp:
    if (out)
        fclose(out);
    out = NULL;
    unlink(tmp);
done:
    if (out)
        fclose(out);
    fclose(rw.in);
    free(rw.line);
    free(rw.map);
    free(rw.sp);
    free(tmp);
    lc_csv_free_fields(old, rw.nold);
    return rc;
}

int lc_csv_scan_cells(const char *path, int (*fn)(void *ctx, const char *col, int64_t step),
                      void *ctx, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL, **hdr = NULL, **fields = NULL;
    size_t cap = 0, nhdr = 0, nf = 0;
    long step_col = -1;
    int rc = 0;
    ssize_t len = getline(&line, &cap, f);
    if (len >= 0) {
        if (lc_csv_split(line, cf_chomp(line, len), &hdr, &nhdr) != 0)
            rc = -2;
        for (size_t i = 0; rc == 0 && i < nhdr; i++)
            if (strcmp(hdr[i], "step") == 0)
                step_col = (long)i;
    }
    while (rc == 0 && step_col >= 0 && (len = getline(&line, &cap, f)) >= 0) {
        if (len == 0 || line[len - 1] != '\n')
            break; /* torn last line */
        if (lc_csv_split(line, cf_chomp(line, len), &fields, &nf) != 0) {
            rc = -2;
            break;
        }
        if ((size_t)step_col < nf && fields[step_col][0]) {
            char *end;
            long long step = strtoll(fields[step_col], &end, 10);
            for (size_t j = 0; !*end && rc == 0 && j < nf && j < nhdr; j++)
                if ((long)j != step_col && fields[j][0] && fn(ctx, hdr[j], (int64_t)step) != 0)
                    rc = -2;
        }
        lc_csv_free_fields(fields, nf);
        fields = NULL;
        nf = 0;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "csv: cannot read %s: %s", path, strerror(errno));
        rc = -1;
    } else if (rc == -2) {
        snprintf(err, errlen, "csv: out of memory reading %s", path);
        rc = -1;
    }
    lc_csv_free_fields(hdr, nhdr);
    free(line);
    fclose(f);
    return rc;
}
