/*
 * tests/support/testutil.h — small helpers shared by the unit tests:
 * fresh temporary directories, reading files, counting lines.
 */
#ifndef LC_TESTUTIL_H
#define LC_TESTUTIL_H

#include <stddef.h>

/* A new empty directory under $LC_TEST_TMP (or /tmp), unique per call.
 * Returns a static-lifetime string owned by the helper (freed at exit). */
const char *tu_tmpdir(const char *label);

/* Whole file as a NUL-terminated malloc'd string (NULL if unreadable). */
char *tu_read_file(const char *path, size_t *len);

/* Number of '\n' in a file, -1 if unreadable. */
long tu_count_lines(const char *path);

/* Remove a directory tree (best effort). */
void tu_rmtree(const char *path);

#endif
