/*
 * loggers/bus/redact.c — secrets kept out of provenance, tags and params
 * (the rules are in redact.h).
 *
 * Text is taken word by word: a command line's arguments, or a value's
 * whitespace-separated words (the separators are kept as they were). A
 * word that is a secret flag (`--token`) makes the next word "***"
 * (unless that is itself a `--flag`); `name=value` with a secret name
 * keeps `name=`, with another name its value is taken as text again (it
 * may be a command line: `cmd=--token X`), and so is an argument that
 * holds spaces; in every other word, URL user info is cut.
 */
#include "redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"

/* ------------------------------------------------------------------------ */
/* Names                                                                     */

/* Case-insensitive tests on the word w[0..n). */
static int word_has(const char *w, size_t n, const char *sub)
{
    size_t k = strlen(sub);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(w + i, sub, k) == 0)
            return 1;
    return 0;
}

static int word_starts(const char *w, size_t n, const char *sub)
{
    size_t k = strlen(sub);
    return n >= k && strncasecmp(w, sub, k) == 0;
}

static int word_ends(const char *w, size_t n, const char *sub)
{
    size_t k = strlen(sub);
    return n >= k && strncasecmp(w + n - k, sub, k) == 0;
}

static int word_is_secret(const char *w, size_t n)
{
    if (word_has(w, n, "secret") || word_has(w, n, "password") || word_has(w, n, "passwd") ||
        word_has(w, n, "passphrase") || word_has(w, n, "credential"))
        return 1;
    if ((n == 4 && strncasecmp(w, "pass", 4) == 0) || word_ends(w, n, "key") ||
        word_ends(w, n, "token"))
        return 1;
    return word_starts(w, n, "auth") &&
           (!word_starts(w, n, "author") || word_starts(w, n, "authoriz"));
}

int lc_redact_name_is_secret(const char *name, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !isalnum((unsigned char)name[i]))
            i++;
        size_t b = i;
        while (i < len && isalnum((unsigned char)name[i]))
            i++;
        if (i > b && word_is_secret(name + b, i - b))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Output buffer                                                             */

typedef struct rd_buf {
    char *s;
    size_t n, cap;
    int oom;
} rd_buf;

static void rd_put(rd_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static char *rd_done(rd_buf *b)
{
    if (!b->oom && !b->s)
        rd_put(b, "", 0);
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

/* ------------------------------------------------------------------------ */
/* Words                                                                     */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* w[0..n) with the user info of every "scheme://user:pass@host" cut. */
static void rd_put_urls(rd_buf *b, const char *w, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *sep = NULL;
        for (size_t j = i; j + 3 <= n; j++)
            if (w[j] == ':' && w[j + 1] == '/' && w[j + 2] == '/') {
                sep = w + j;
                break;
            }
        if (!sep) {
            rd_put(b, w + i, n - i);
            return;
        }
        size_t auth = (size_t)(sep - w) + 3, end = auth, at = 0;
        while (end < n && w[end] != '/' && w[end] != '?' && w[end] != '#' && !is_space(w[end])) {
            if (w[end] == '@')
                at = end;
            end++;
        }
        if (at > auth) {
            rd_put(b, w + i, auth - i);
            rd_put(b, LC_REDACTED, strlen(LC_REDACTED));
            rd_put(b, w + at, end - at);
        } else {
            rd_put(b, w + i, end - i);
        }
        i = end;
    }
}

/* The name in "name=value": leading '-', '+', '~' skipped; letters,
 * digits and _ - . / only. Returns 1 and sets [*b, *e) if w has one. */
static int name_eq(const char *w, size_t n, size_t *b, size_t *e)
{
    const char *eq = memchr(w, '=', n);
    if (!eq)
        return 0;
    size_t i = 0, end = (size_t)(eq - w);
    while (i < end && (w[i] == '-' || w[i] == '+' || w[i] == '~'))
        i++;
    if (i == end)
        return 0;
    for (size_t j = i; j < end; j++) {
        unsigned char c = (unsigned char)w[j];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.' && c != '/')
            return 0;
    }
    *b = i;
    *e = end;
    return 1;
}

static void rd_put_text(rd_buf *b, const char *s, size_t n, int *expect);

/* One word (or one argument of a command line, which may hold spaces);
 * *expect: the previous word was a secret flag. */
static void rd_put_word(rd_buf *b, const char *w, size_t n, int *expect)
{
    if (*expect) {
        *expect = 0;
        if (!(n >= 2 && w[0] == '-' && w[1] == '-')) {
            rd_put(b, LC_REDACTED, strlen(LC_REDACTED));
            return;
        }
    }
    size_t nb, ne;
    if (name_eq(w, n, &nb, &ne)) {
        rd_put(b, w, ne + 1);
        if (lc_redact_name_is_secret(w + nb, ne - nb))
            rd_put(b, LC_REDACTED, strlen(LC_REDACTED));
        else /* the value may be a flag or a command line itself */
            rd_put_text(b, w + ne + 1, n - ne - 1, expect);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (is_space(w[i])) {
            rd_put_text(b, w, n, expect);
            return;
        }
    if (n >= 2 && w[0] == '-' && !memchr(w, '=', n)) {
        size_t i = 0;
        while (i < n && w[i] == '-')
            i++;
        if (lc_redact_name_is_secret(w + i, n - i))
            *expect = 1;
    }
    rd_put_urls(b, w, n);
}

/* Text: its whitespace-separated words, the whitespace kept as it was. */
static void rd_put_text(rd_buf *b, const char *s, size_t n, int *expect)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && is_space(s[j]))
            j++;
        rd_put(b, s + i, j - i);
        i = j;
        while (j < n && !is_space(s[j]))
            j++;
        if (j > i)
            rd_put_word(b, s + i, j - i, expect);
        i = j;
    }
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */

char *lc_redact_cmdline(const char *args, size_t n)
{
    rd_buf b = {0};
    int expect = 0;
    size_t i = 0;
    int first = 1;
    while (i < n) {
        const char *a = args + i;
        size_t len = strnlen(a, n - i);
        if (!first)
            rd_put(&b, " ", 1);
        first = 0;
        rd_put_word(&b, a, len, &expect);
        i += len + 1;
    }
    return rd_done(&b);
}

char *lc_redact_value(const char *key, const char *value, int *changed)
{
    if (changed)
        *changed = 0;
    if (!value)
        value = "";
    rd_buf b = {0};
    if (key && lc_redact_name_is_secret(key, strlen(key)) && *value) {
        rd_put(&b, LC_REDACTED, strlen(LC_REDACTED));
    } else {
        int expect = 0;
        rd_put_text(&b, value, strlen(value), &expect);
    }
    char *red = rd_done(&b);
    if (!red)
        return NULL;
    size_t len = strlen(red);
    if (!lc_utf8_valid(red, len)) {
        char *fixed = lc_utf8_repair(red, len);
        free(red);
        if (!fixed)
            return NULL;
        red = fixed;
    }
    if (changed)
        *changed = strcmp(red, value) != 0;
    return red;
}
