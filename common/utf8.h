/*
 * common/utf8.h — UTF-8 checking and repair, for text that leaves lightc
 * where a reader insists on valid UTF-8 (JSON exports, the terminal,
 * TensorBoard's protobuf strings, YAML): tag and param values a user
 * logged may hold any bytes.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF. Repair replaces each maximal invalid subpart
 * (Unicode's "substitution of maximal subparts", what Python's
 * bytes.decode('utf-8', errors='replace') does) by U+FFFD, so lightc and
 * Python turn the same bytes into the same text.
 */
#ifndef LC_COMMON_UTF8_H
#define LC_COMMON_UTF8_H

#include <stddef.h>

/* The U+FFFD replacement character, encoded. */
#define LC_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length (1..4) of the valid UTF-8 character that starts s[0..n), or 0 if
 * none does; *bad then gets the length of the maximal invalid subpart
 * there (1..3), which one U+FFFD replaces. n > 0. */
size_t lc_utf8_char(const unsigned char *s, size_t n, size_t *bad);

/* 1 if s[0..n) is valid UTF-8, else 0. */
int lc_utf8_valid(const char *s, size_t n);

/* A malloc'd, NUL-terminated copy of s[0..n) with every maximal invalid
 * subpart replaced by U+FFFD (valid input is copied as it is); NULL when
 * out of memory. */
char *lc_utf8_repair(const char *s, size_t n);

#endif /* LC_COMMON_UTF8_H */
