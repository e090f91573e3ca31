/*
 * loggers/csv/hparams_yaml.h — <run dir>/hparams.yaml, as Lightning writes
 * it, and the set of a run's params that feeds it.
 *
 * Lightning saves a run's hyperparameters with yaml.dump(dict): a block
 * mapping, keys sorted at every level, two-space indentation. lightc's
 * params arrive flattened with '/' ("optimizer/lr"), so they are nested
 * back here ("optimizer:\n  lr: 0.1\n"). The text is PyYAML's, byte for
 * byte (yaml.safe_load gives back the same values and types):
 * - ints as ints, bools true/false, doubles as Python's repr (shortest
 *   round-trip) with PyYAML's fixes: "1.0e-07" (a '.' before 'e'),
 *   .nan / .inf / -.inf;
 * - strings in the style PyYAML's emitter picks (allow_unicode off):
 *   plain when that reads back as the same string: not empty, no leading
 *   or trailing space or line break, no line break, only printable ASCII,
 *   no leading indicator (- ? : , [ ] { } # & * ! | > ' " % @ `) and no
 *   ": " or " #" inside, and not text YAML 1.1 reads as a number, bool,
 *   null or date ("1e5" stays plain, PyYAML reads it as a string; "1.5",
 *   "yes", "null", "~", "2024-01-01" are not plain);
 *   else single-quoted ('' for a quote; a line break is written as a blank
 *   line), unless the text has a tab, another control byte or non-ASCII,
 *   or a space next to a line break: then double-quoted with YAML escapes
 *   (\n, \t, \xE9, \u20AC, \U0001F600);
 * - folding: a value that runs past column 80 is folded as PyYAML folds
 *   it: plain and single-quoted text at the first single space past
 *   column 80 (a line break and the indentation, read back as that
 *   space), double-quoted text with a "\" line continuation. Keys are
 *   never folded; a key of 123 characters or more is written in PyYAML's
 *   explicit form "? key".
 * - a key that is both a value and a group ("a" and "a/b"): the value keeps
 *   its name "a" and the deeper keys stay flat beside it ("a/b: ..."), at
 *   the level where the clash happens. The result does not depend on the
 *   order of the params.
 * - the same key twice: the last one wins.
 * - no params: "{}\n" (yaml.dump({})).
 */
#ifndef LC_HPARAMS_YAML_H
#define LC_HPARAMS_YAML_H

#include <stddef.h>

#include "bus/event.h"

/* Render params as YAML text into a malloc'd string (*out, length *len).
 * Returns 0, or -1 with err filled (NULL key, out of memory). */
int lc_hparams_yaml_render(const lc_param_payload *const *params, size_t n, char **out,
                           size_t *len, char *err, size_t errlen);

/* Write <dir>/hparams.yaml atomically (a temp file in dir, then rename).
 * Returns 0, or -1 with a message naming the file. */
int lc_hparams_yaml_write(const char *dir, const lc_param_payload *const *params, size_t n,
                          char *err, size_t errlen);

/* A run's params as a sink keeps them for hparams.yaml: copies of the
 * events' payloads (the hub frees those after each batch), one per key. */
typedef struct lc_hparams {
    lc_param_payload **items;
    size_t n, cap;
    int dirty;               /* changed since the file was last written */
} lc_hparams;

/* Add or replace (by key) a copy of p; the set becomes dirty unless p
 * repeats what it holds. 0, or -1 when out of memory. */
int lc_hparams_set(lc_hparams *h, const lc_param_payload *p);

/* If dirty, write <dir>/hparams.yaml (lc_hparams_yaml_write) and become
 * clean. 0, or -1 with err (it stays dirty: a retry writes it again). */
int lc_hparams_save(lc_hparams *h, const char *dir, char *err, size_t errlen);

void lc_hparams_free(lc_hparams *h);

#endif /* LC_HPARAMS_YAML_H */
