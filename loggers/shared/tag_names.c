/*
 * loggers/tag_names.c — see tag_names.h.
 */
#include "tag_names.h"

#include <stdlib.h>
#include <string.h>

int lc_tag_names_set(lc_tag_names *t, uint32_t tag, const char *name)
{
    if (tag == 0 || !name || tag == UINT32_MAX)
        return -1;
    if (tag >= t->cap) {
        uint32_t cap = t->cap ? t->cap : 64;
        while (cap <= tag)
            cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
        char **n = realloc(t->names, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        memset(n + t->cap, 0, (size_t)(cap - t->cap) * sizeof *n);
        t->names = n;
        t->cap = cap;
    }
    if (t->names[tag] && strcmp(t->names[tag], name) == 0)
        return 0; /* the same key again (a retried batch) */
    char *copy = strdup(name);
    if (!copy)
        return -1;
    free(t->names[tag]);
    t->names[tag] = copy;
    return 0;
}

void lc_tag_names_free(lc_tag_names *t)
{
    for (uint32_t i = 0; i < t->cap; i++)
        free(t->names[i]);
    free(t->names);
    t->names = NULL;
    t->cap = 0;
}
