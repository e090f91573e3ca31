/*
 * loggers/tag_names.h — a sink's own map from a run's tags to key names.
 *
 * Tags are small dense integers from 1 (lc_run_tag); the hub sends an
 * LC_EV_KEY event with the normalised key before the first scalar of a tag.
 * Sinks that need names (csv, console) copy them here, because the event's
 * payload is freed after the batch.
 */
#ifndef LC_TAG_NAMES_H
#define LC_TAG_NAMES_H

#include <stddef.h>
#include <stdint.h>

typedef struct lc_tag_names {
    char **names;  /* indexed by tag; NULL = not known */
    uint32_t cap;
} lc_tag_names;

/* Remember tag -> name (a copy; replaces an earlier one).
 * Returns 0, or -1 if out of memory or tag is 0. */
int lc_tag_names_set(lc_tag_names *t, uint32_t tag, const char *name);

/* The name of a tag, or NULL. */
static inline const char *lc_tag_names_get(const lc_tag_names *t, uint32_t tag)
{
    return tag < t->cap ? t->names[tag] : NULL;
}

void lc_tag_names_free(lc_tag_names *t);

#endif /* LC_TAG_NAMES_H */
