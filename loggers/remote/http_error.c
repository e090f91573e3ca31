/*
 * loggers/remote/http_error.c — see http_error.h.
 */
#include "http_error.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* text made printable */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t need;
    if (p[0] < 0x80)
        return 1;
    else if ((p[0] & 0xE0) == 0xC0 && p[0] >= 0xC2)
        need = 2;
    else if ((p[0] & 0xF0) == 0xE0)
        need = 3;
    else if ((p[0] & 0xF8) == 0xF0 && p[0] <= 0xF4)
        need = 4;
    else
        return 0;
    if (need > n)
        return 0;
    for (size_t i = 1; i < need; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

/* Copy up to max input bytes of s into out: control characters become
 * blanks, runs of blanks one blank, invalid UTF-8 '?'; trimmed. */
static void printable(const char *s, size_t len, size_t max, char *out, size_t cap)
{
    size_t o = 0;
    bool blank = true; /* drops leading blanks */
    if (len > max)
        len = max;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && o + 5 < cap) {
        if (p[i] < 0x20 || p[i] == 0x7F || p[i] == ' ') {
            if (!blank)
                out[o++] = ' ';
            blank = true;
            i++;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        }
        blank = false;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    if (cap)
        out[o < cap ? o : cap - 1] = 0;
}

/* ---------------------------------------------------------------------- */
/* JSON error shapes */

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring && *v->valuestring ? v->valuestring : NULL;
}

static bool server_json_message(const char *body, size_t len, char *out, size_t cap)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return false;
    char text[2048];
    text[0] = 0;
    if (cJSON_IsObject(j)) {
        const char *code = json_str(j, "error_code");
        const char *msg = json_str(j, "message");
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (code || msg) {
            snprintf(text, sizeof text, "%s%s%s", code ? code : "", code && msg ? ": " : "",
                     msg ? msg : "");
        } else if (cJSON_IsArray(errors)) {
            /* GraphQL: {"errors":[{"message":..., "path":[...]}, ...]} */
            size_t n = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, errors) {
                const char *m = cJSON_IsString(e) ? e->valuestring : json_str(e, "message");
                if (!m)
                    continue;
                size_t used = strlen(text);
                snprintf(text + used, sizeof text - used, "%s%s", n ? "; " : "", m);
                n++;
            }
        } else if (cJSON_IsString(error) && error->valuestring) {
            snprintf(text, sizeof text, "%s", error->valuestring);
        } else if (cJSON_IsObject(error)) {
            const char *m = json_str(error, "message");
            if (m)
                snprintf(text, sizeof text, "%s", m);
        } else if (json_str(j, "detail")) {
            snprintf(text, sizeof text, "%s", json_str(j, "detail"));
        }
    }
    cJSON_Delete(j);
    if (!text[0])
        return false;
    printable(text, strlen(text), 1000, out, cap);
    return true;
}

void lc_http_server_message(const char *body, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    out[0] = 0;
    if (!body || len == 0)
        return;
    if (server_json_message(body, len, out, cap))
        return;
    printable(body, len, LC_HTTP_TEXT_SNIPPET, out, cap);
    if (len > LC_HTTP_TEXT_SNIPPET) {
        size_t o = strlen(out);
        if (o + 4 < cap)
            memcpy(out + o, "...", 4);
    }
}

/* ---------------------------------------------------------------------- */
/* status codes */

const char *lc_http_reason(long status)
{
    switch (status) {
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "";
}

lc_status lc_http_status_code(long status)
{
    if (status >= 200 && status < 300)
        return LC_OK;
    if (status == 401 || status == 403)
        return LC_ERR_AUTH;
    if (status == 404 || status == 410)
        return LC_ERR_NOT_FOUND;
    if (status == 409)
        return LC_ERR_EXISTS;
    if (status == 408)
        return LC_ERR_TIMEOUT;
    if (status == 429)
        return LC_ERR_IO; /* retryable: the server is busy, nothing was wrong */
    if (status >= 400 && status < 500)
        return LC_ERR_INVALID;
    return LC_ERR_IO;
}
