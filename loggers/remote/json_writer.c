/*
 * loggers/remote/json_writer.c — compact JSON appended into one buffer
 * (see json_writer.h for why not a cJSON tree).
 */
#include "json_writer.h"

#include <stdlib.h>
#include <string.h>

#include "shared/number_format.h"

void lc_jw_init(lc_jw *w, size_t hint)
{
    w->buf = NULL;
    w->len = w->cap = 0;
    w->oom = false;
    size_t cap = hint > 64 ? hint : 64;
    w->buf = malloc(cap);
    if (!w->buf)
        w->oom = true;
    else
        w->cap = cap;
}

/* Room for n more bytes plus the final NUL; false when out of memory. */
static bool reserve(lc_jw *w, size_t n)
{
    if (w->oom)
        return false;
    if (w->len + n + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->oom = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

void lc_jw_raw(lc_jw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void lc_jw_lit(lc_jw *w, const char *s)
{
    lc_jw_raw(w, s, strlen(s));
}

void lc_jw_strn(lc_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!s)
        n = 0;
    /* worst case: every byte a 6-byte \u00XX escape */
    if (!reserve(w, n * 6 + 2))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
            break;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

void lc_jw_str(lc_jw *w, const char *s)
{
    lc_jw_strn(w, s, s ? strlen(s) : 0);
}

void lc_jw_i64(lc_jw *w, int64_t v)
{
    char tmp[LC_DOUBLE_BUFSZ];
    size_t n = lc_format_i64(v, tmp);
    lc_jw_raw(w, tmp, n);
}

void lc_jw_double(lc_jw *w, double v)
{
    char tmp[LC_DOUBLE_BUFSZ];
    size_t n = lc_format_double(v, tmp);
    lc_jw_raw(w, tmp, n);
}

char *lc_jw_finish(lc_jw *w)
{
    char *out = NULL;
    if (!w->oom && reserve(w, 0)) {
        w->buf[w->len] = 0;
        out = w->buf;
    } else
        free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
    w->oom = false;
    return out;
}

void lc_jw_discard(lc_jw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
    w->oom = false;
}
