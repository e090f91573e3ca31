/*
 * common/utf8.c — UTF-8 checking and repair (see utf8.h).
 *
 * The well-formed byte sequences, by first byte (Unicode table 3-7):
 *   00..7F                      1 byte
 *   C2..DF  80..BF              2 bytes
 *   E0      A0..BF  80..BF      3 bytes (no overlongs)
 *   E1..EC  80..BF  80..BF
 *   ED      80..9F  80..BF      (no surrogates)
 *   EE..EF  80..BF  80..BF
 *   F0      90..BF  80..BF 80..BF  4 bytes (no overlongs)
 *   F1..F3  80..BF  80..BF 80..BF
 *   F4      80..8F  80..BF 80..BF  (nothing above U+10FFFF)
 * Anything else (80..C1, F5..FF as a first byte) is invalid on its own.
 * A maximal invalid subpart is a first byte plus the continuation bytes
 * that still fit the table before the sequence breaks off.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t lc_utf8_char(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    *bad = 0;
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    if (i < n && s[i] >= lo && s[i] <= hi) {
        for (i = 2; i < len && i < n && s[i] >= 0x80 && s[i] <= 0xBF; i++)
            ;
        if (i == len)
            return len;
    }
    *bad = i;
    return 0;
}

int lc_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = lc_utf8_char(p + i, n - i, &bad);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

char *lc_utf8_repair(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    /* at most one 3-byte U+FFFD per input byte */
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    size_t i = 0, o = 0, bad;
    while (i < n) {
        if (p[i] < 0x80) {
            out[o++] = (char)p[i++];
            continue;
        }
        size_t len = lc_utf8_char(p + i, n - i, &bad);
        if (len) {
            memcpy(out + o, p + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, LC_UTF8_REPLACEMENT, 3);
            o += 3;
            i += bad;
        }
    }
    out[o] = 0;
    return out;
}
