/*
 * loggers/remote/secrets.c — see secrets.h. Small sets (a handful of
 * secrets) and short texts (messages, header lines): plain scans.
 */
#include "secrets.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------- */
/* the set */

void lc_secrets_init(lc_secrets *s)
{
    s->items = NULL;
    s->n = s->cap = 0;
}

static void secrets_wipe(char *p)
{
    if (p)
        explicit_bzero(p, strlen(p));
}

void lc_secrets_free(lc_secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        secrets_wipe(s->items[i]);
        free(s->items[i]);
    }
    free(s->items);
    lc_secrets_init(s);
}

static lc_status secrets_add_one(lc_secrets *s, const char *secret)
{
    size_t len = strlen(secret);
    if (len == 0)
        return LC_OK;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i], secret) == 0)
            return LC_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **items = realloc(s->items, cap * sizeof *items);
        if (!items)
            return LC_ERR_NOMEM;
        s->items = items;
        s->cap = cap;
    }
    char *copy = strdup(secret);
    if (!copy)
        return LC_ERR_NOMEM;
    /* keep longest first */
    size_t at = s->n;
    while (at > 0 && strlen(s->items[at - 1]) < len) {
        s->items[at] = s->items[at - 1];
        at--;
    }
    s->items[at] = copy;
    s->n++;
    return LC_OK;
}

lc_status lc_secrets_add(lc_secrets *s, const char *secret)
{
    if (!secret || !*secret)
        return LC_OK;
    lc_status st = secrets_add_one(s, secret);
    if (st != LC_OK)
        return st;
    char *esc = curl_easy_escape(NULL, secret, (int)strlen(secret));
    if (!esc)
        return LC_ERR_NOMEM;
    if (strcmp(esc, secret) != 0)
        st = secrets_add_one(s, esc);
    secrets_wipe(esc);
    curl_free(esc);
    return st;
}

/* ---------------------------------------------------------------------- */
/* a growable string */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} secrets_buf;

static void buf_put(secrets_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static char *buf_finish(secrets_buf *b)
{
    if (b->oom) {
        if (b->p)
            explicit_bzero(b->p, b->cap);
        free(b->p);
        return NULL;
    }
    if (!b->p)
        buf_put(b, "", 0);
    return b->oom ? NULL : b->p;
}

/* ---------------------------------------------------------------------- */
/* the three passes */

static char *redact_secrets(const lc_secrets *s, const char *text)
{
    secrets_buf b = {0};
    const char *p = text;
    while (*p) {
        size_t hit = 0;
        for (size_t i = 0; s && i < s->n; i++) {
            size_t n = strlen(s->items[i]);
            if (strncmp(p, s->items[i], n) == 0) {
                hit = n;
                break;
            }
        }
        if (hit) {
            buf_put(&b, "***", 3);
            p += hit;
        } else {
            buf_put(&b, p, 1);
            p++;
        }
    }
    return buf_finish(&b);
}

/* Characters that end a URL's authority when scanning free text. */
static bool authority_end(char c)
{
    return c == 0 || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' ||
           c == '<' || c == '>' || c == '`' || isspace((unsigned char)c);
}

static char *redact_userinfo(const char *text)
{
    secrets_buf b = {0};
    const char *p = text;
    for (;;) {
        const char *sep = strstr(p, "://");
        if (!sep)
            break;
        const char *auth = sep + 3;
        const char *end = auth;
        const char *at = NULL;
        while (!authority_end(*end)) {
            if (*end == '@')
                at = end;
            end++;
        }
        buf_put(&b, p, (size_t)(auth - p));
        if (at) {
            buf_put(&b, "***", 3);
            p = at;
        } else {
            p = auth;
        }
    }
    buf_put(&b, p, strlen(p));
    return buf_finish(&b);
}

static const char *find_auth_header(const char *p, size_t *name_len)
{
    static const char *const names[] = {"proxy-authorization:", "authorization:"};
    for (; *p; p++) {
        for (size_t i = 0; i < 2; i++) {
            size_t n = strlen(names[i]);
            if (strncasecmp(p, names[i], n) == 0) {
                *name_len = n;
                return p;
            }
        }
    }
    return NULL;
}

static char *redact_headers(const char *text)
{
    secrets_buf b = {0};
    const char *p = text;
    size_t n = 0;
    const char *h;
    while ((h = find_auth_header(p, &n))) {
        buf_put(&b, p, (size_t)(h - p) + n);
        buf_put(&b, " ***", 4);
        p = h + n;
        while (*p && *p != '\r' && *p != '\n')
            p++;
    }
    buf_put(&b, p, strlen(p));
    return buf_finish(&b);
}

char *lc_secrets_redact_dup(const lc_secrets *s, const char *text)
{
    if (!text)
        text = "";
    char *a = redact_secrets(s, text);
    if (!a)
        return NULL;
    char *b = redact_userinfo(a);
    secrets_wipe(a);
    free(a);
    if (!b)
        return NULL;
    char *c = redact_headers(b);
    secrets_wipe(b);
    free(b);
    return c;
}

char *lc_secrets_redact(const lc_secrets *s, const char *text, char *out, size_t cap)
{
    if (!out || cap == 0)
        return out;
    char *r = lc_secrets_redact_dup(s, text);
    const char *src = r ? r : "(message withheld: out of memory)";
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, src, n);
    out[n] = 0;
    if (r) {
        secrets_wipe(r);
        free(r);
    }
    return out;
}

/* ---------------------------------------------------------------------- */
/* base64 */

char *lc_base64_encode(const void *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = data;
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}
