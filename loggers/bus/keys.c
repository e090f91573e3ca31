/*
 * loggers/bus/keys.c — key normalisation (MLflow's rules), name
 * validation, and the key table a run's tags are named in (sink.h).
 */
#include "keys.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/hub.h"
#include "sink.h"

/* ---- the key table --------------------------------------------------------- */

int lc_key_table_set(lc_key_table *t, uint32_t tag, const char *key)
{
    if (tag == 0 || tag > LC_TAG_MAX || !key)
        return -1;
    char ***chunk = &t->chunk[(tag - 1) / LC_TAG_CHUNK];
    if (!*chunk && !(*chunk = calloc(LC_TAG_CHUNK, sizeof **chunk)))
        return -1;
    char **slot = &(*chunk)[(tag - 1) % LC_TAG_CHUNK];
    if (*slot)
        return strcmp(*slot, key) == 0 ? 0 : -1; /* a name never changes */
    if (!(*slot = strdup(key)))
        return -1;
    /* publish after the name is stored: readers check tag <= n (acquire) */
    if (tag > t->n)
        __atomic_store_n(&t->n, tag, __ATOMIC_RELEASE);
    return 0;
}

void lc_key_table_free(lc_key_table *t)
{
    for (int c = 0; c < LC_TAG_CHUNKS; c++) {
        if (!t->chunk[c])
            continue;
        for (int i = 0; i < LC_TAG_CHUNK; i++)
            free(t->chunk[c][i]);
        free(t->chunk[c]);
        t->chunk[c] = NULL;
    }
    t->n = 0;
}

/* ---- normalisation ------------------------------------------------------------ */

unsigned lc_hash32(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int key_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == ' ' || c == ':' || c == '/';
}

/* Length of the UTF-8 sequence starting at s (1 for an invalid byte). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
    if (c < 0x80 || n == 1)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

int lc_normalize_key(const char *key, char *out, size_t out_size)
{
    if (!key || !out || out_size < LC_KEY_MAX + 1)
        return -1;
    size_t inlen = strlen(key);
    /* Pass 1: map characters, split into segments, drop empty segments. A
       segment is copied into 'buf' one at a time so '.'/'..' can be fixed. */
    char buf[LC_KEY_MAX * 2 + 64];
    size_t o = 0;          /* bytes in buf */
    int truncated = 0;
    const unsigned char *p = (const unsigned char *)key;
    while (*p) {
        /* one segment */
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t seg_start = o;
        if (o > 0) {
            if (o + 1 >= sizeof buf) { truncated = 1; break; }
            buf[o++] = '/';
            seg_start = o;
        }
        while (*p && *p != '/') {
            size_t n = utf8_len(p);
            char c = key_char_ok(*p) ? (char)*p : '_';
            if (o + 1 >= sizeof buf) { truncated = 1; break; }
            buf[o++] = c;
            p += n;
        }
        if (truncated)
            break;
        size_t seg_len = o - seg_start;
        if (seg_len == 1 && buf[seg_start] == '.')
            buf[seg_start] = '_';
        else if (seg_len == 2 && buf[seg_start] == '.' && buf[seg_start + 1] == '.')
            buf[seg_start] = buf[seg_start + 1] = '_';
    }
    if (truncated || o > LC_KEY_MAX) {
        /* cut and add a hash of the whole original key */
        size_t keep = LC_KEY_MAX - 9;
        if (o < keep)
            keep = o;
        while (keep > 0 && buf[keep - 1] == '/')
            keep--;
        o = keep;
        o += (size_t)snprintf(buf + o, sizeof buf - o, "-%08x", lc_hash32(key, inlen));
    }
    if (o == 0)
        return -1;
    buf[o] = 0;
    memcpy(out, buf, o + 1);
    return (o != inlen || memcmp(out, key, o) != 0) ? 1 : 0;
}

int lc_validate_name(const char *name, const char *what, char *msg, size_t msglen)
{
    const char *hint = "use letters, digits, '-', '_', '.', '=' or ' '";
    if (!name || !*name) {
        snprintf(msg, msglen, "%s is empty; %s", what, hint);
        return -1;
    }
    size_t n = strlen(name);
    if (n > 200) {
        snprintf(msg, msglen, "%s is %zu bytes long; at most 200 are allowed", what, n);
        return -1;
    }
    if (name[0] == '.' || name[0] == ' ' || name[n - 1] == ' ') {
        snprintf(msg, msglen, "%s '%.64s' may not start with '.' or start/end with a space; %s",
                 what, name, hint);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '=' || c == ' ' || c == '+' || c == ',';
        if (!ok) {
            if (c == '/' || c == '\\')
                snprintf(msg, msglen, "%s '%.64s' may not contain '%c' (it names one directory); %s",
                         what, name, c, hint);
            else
                snprintf(msg, msglen, "%s '%.64s' has a character that is not allowed (byte 0x%02x at %zu); %s",
                         what, name, c, i, hint);
            return -1;
        }
    }
    return 0;
}
