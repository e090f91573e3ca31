/*
 * loggers/bus/keys.h — key normalisation and name validation.
 *
 * Metric, param and tag keys are normalised once, when interned, to MLflow's
 * rules (the strictest backend): bytes outside [A-Za-z0-9_ ./:-] become
 * '_' (one '_' per UTF-8 character, one per invalid byte); '.' and '..'
 * segments become '_' and '__'; leading, trailing and doubled '/' are
 * dropped; a key over 250 bytes is cut to 241 bytes plus '-' and 8 hex
 * digits of a hash of the original, so two long keys stay distinct.
 *
 * Experiment and run names become directory names, so they are validated,
 * not normalised: a bad name is an error that says which characters work.
 *
 * (The table of a run's interned keys, lc_key_table, is declared in sink.h
 * because sinks read it; it is defined in keys.c.)
 */
#ifndef LC_KEYS_H
#define LC_KEYS_H

#include <stddef.h>

#define LC_KEY_MAX 250

/* See lc_normalize_key in lightc/hub.h. */
int lc_normalize_key(const char *key, char *out, size_t out_size);

/* 0 if name is a usable experiment/run name, else -1 with a reason in msg.
 * what: "experiment" or "run name", used in the message. */
int lc_validate_name(const char *name, const char *what, char *msg, size_t msglen);

/* FNV-1a 32-bit hash (used for long-key suffixes and the intern table). */
unsigned lc_hash32(const char *s, size_t n);

#endif
