/*
 * loggers/remote/http_url.c — see http_url.h. Escaping is libcurl's
 * (curl_easy_escape). A URL for a message is cleaned textually, so that
 * even one libcurl would refuse to parse never shows its credentials.
 */
#include "http_url.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secrets.h"

/* ---------------------------------------------------------------------- */
/* escaping */

char *lc_http_escape(const char *s)
{
    if (!s)
        s = "";
    char *e = curl_easy_escape(NULL, s, (int)strlen(s));
    if (!e)
        return NULL;
    char *out = strdup(e);
    curl_free(e);
    return out;
}

char *lc_http_escape_path(const char *s)
{
    if (!s)
        s = "";
    size_t cap = strlen(s) * 3 + 1, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    const char *p = s;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char *e = curl_easy_escape(NULL, p, (int)n);
        if (!e) {
            free(out);
            return NULL;
        }
        size_t en = strlen(e);
        memcpy(out + len, e, en); /* en <= 3n: fits */
        len += en;
        curl_free(e);
        if (!slash)
            break;
        out[len++] = '/';
        p = slash + 1;
    }
    out[len] = 0;
    return out;
}

/* ---------------------------------------------------------------------- */
/* building */

char *lc_http_url(const char *base, const char *path, const char *const *query)
{
    if (!base)
        return NULL;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (!path)
        path = "";
    while (*path == '/')
        path++;
    /* escape the query first to know the size */
    size_t qcap = 1, npairs = 0;
    char **esc = NULL;
    if (query) {
        while (query[2 * npairs])
            npairs++;
        esc = calloc(2 * npairs + 1, sizeof *esc);
        if (!esc)
            return NULL;
        for (size_t i = 0; i < npairs; i++) {
            if (!query[2 * i + 1])
                continue;
            esc[2 * i] = lc_http_escape(query[2 * i]);
            esc[2 * i + 1] = lc_http_escape(query[2 * i + 1]);
            if (!esc[2 * i] || !esc[2 * i + 1])
                goto oom;
            qcap += strlen(esc[2 * i]) + strlen(esc[2 * i + 1]) + 2;
        }
    }
    size_t cap = blen + 1 + strlen(path) + qcap + 1;
    char *out = malloc(cap);
    if (!out)
        goto oom;
    size_t len = 0;
    memcpy(out, base, blen);
    len = blen;
    if (*path) {
        out[len++] = '/';
        memcpy(out + len, path, strlen(path));
        len += strlen(path);
    }
    out[len] = 0;
    bool has_query = memchr(out, '?', len) != NULL;
    for (size_t i = 0; i < npairs; i++) {
        if (!esc[2 * i])
            continue;
        out[len++] = has_query ? '&' : '?';
        has_query = true;
        len += (size_t)sprintf(out + len, "%s=%s", esc[2 * i], esc[2 * i + 1]);
    }
    out[len] = 0;
    for (size_t i = 0; esc && i < 2 * npairs; i++)
        free(esc[i]);
    free(esc);
    return out;
oom:
    for (size_t i = 0; esc && i < 2 * npairs; i++)
        free(esc[i]);
    free(esc);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* showing */

int lc_http_query_key_is_secret(const char *key, size_t len)
{
    static const char *const exact[] = {
        "token", "access_token", "refresh_token", "id_token", "auth", "authorization",
        "api_key", "api-key", "apikey", "key", "password", "passwd", "pwd", "pass",
        "secret", "client_secret", "sig", "signature", "x-amz-signature",
        "x-amz-credential", "x-amz-security-token", "x-goog-signature",
        "x-goog-credential", "code", "session", "sessionid", "jwt", "credential",
        "credentials", NULL};
    static const char *const suffix[] = {"_token", "-token", "_secret", "-secret", "_password",
                                         "-password", "_apikey", "_api_key", "-api-key", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (strlen(exact[i]) == len && strncasecmp(key, exact[i], len) == 0)
            return 1;
    for (size_t i = 0; suffix[i]; i++) {
        size_t n = strlen(suffix[i]);
        if (len > n && strncasecmp(key + len - n, suffix[i], n) == 0)
            return 1;
    }
    return 0;
}

/* Append the query q (without '?') to out with secret values masked. */
static size_t url_mask_query(const char *q, size_t qlen, char *out, size_t len, size_t cap)
{
    size_t i = 0;
    while (i < qlen && len + 1 < cap) {
        size_t end = i;
        while (end < qlen && q[end] != '&' && q[end] != ';')
            end++;
        size_t eq = i;
        while (eq < end && q[eq] != '=')
            eq++;
        bool secret = lc_http_query_key_is_secret(q + i, eq - i);
        size_t take = secret && eq < end ? eq + 1 - i : end - i;
        for (size_t k = 0; k < take && len + 1 < cap; k++)
            out[len++] = q[i + k];
        if (secret && eq < end)
            for (const char *m = "***"; *m && len + 1 < cap; m++)
                out[len++] = *m;
        if (end < qlen && len + 1 < cap)
            out[len++] = q[end];
        i = end + 1;
    }
    out[len] = 0;
    return len;
}

char *lc_http_url_for_message(const char *url, char *out, size_t cap)
{
    if (!out || cap == 0)
        return out;
    out[0] = 0;
    if (!url)
        return out;
    /* Drop the fragment, split off the query, then remove the user
     * information textually (works on what curl_url would refuse too). */
    size_t ulen = strcspn(url, "#");
    size_t qpos = strcspn(url, "?");
    if (qpos > ulen)
        qpos = ulen;
    char *head = malloc(qpos + 1);
    if (!head)
        return out;
    memcpy(head, url, qpos);
    head[qpos] = 0;
    char *clean = lc_secrets_redact_dup(NULL, head);
    free(head);
    if (!clean)
        return out;
    /* lc_secrets_redact_dup wrote "***@"; a message shows the host only */
    char *stars = strstr(clean, "://***@");
    if (stars)
        memmove(stars + 3, stars + 7, strlen(stars + 7) + 1);
    size_t len = strlen(clean);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, clean, len);
    out[len] = 0;
    free(clean);
    if (qpos < ulen && len + 1 < cap) {
        out[len++] = '?';
        out[len] = 0;
        url_mask_query(url + qpos + 1, ulen - qpos - 1, out, len, cap);
    }
    return out;
}
