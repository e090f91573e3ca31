/*
 * loggers/hparams_yaml.h — <run dir>/hparams.yaml, as Lightning writes it.
 *
 * Lightning saves a run's hyperparameters with yaml.dump(dict): a block
 * mapping, keys sorted at every level, two-space indentation. lightc's
 * params arrive flattened with '/' ("optimizer/lr"), so they are nested
 * back here ("optimizer:\n  lr: 0.1\n").
 *
 * Rules (PyYAML's, so yaml.safe_load gives back the same values and types):
 * - ints as ints, bools true/false, doubles as Python's repr (shortest
 *   round-trip) with PyYAML's fixes: "1.0e-07" (a '.' before 'e'),
 *   .nan / .inf / -.inf;
 * - strings plain unless YAML would read them as something else: text that
 *   looks like a number, bool, null or date ("1e5" stays plain as PyYAML
 *   reads it as a string; "1.5", "yes", "null", "~", "2024-01-01" are
 *   quoted), empty, leading/trailing space, a leading indicator
 *   (- ? : , [ ] { } # & * ! | > ' " % @ `), ": " or " #" inside. Those are
 *   single-quoted ('' for a quote). Text with a newline, a tab, another
 *   control byte or non-ASCII is double-quoted with YAML escapes (\n, \t,
 *   \xE9, \u20AC, \U0001F600), as PyYAML does without allow_unicode.
 *   Differences from PyYAML's text (same values when loaded): multi-line
 *   strings are double-quoted instead of PyYAML's single-quoted form, and
 *   long strings are never folded at 80 columns.
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

#endif /* LC_HPARAMS_YAML_H */
