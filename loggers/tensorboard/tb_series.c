/*
 * loggers/tensorboard/tb_series.c — key -> TensorBoard tag per run (see tb_series.h).
 */
#include "tb_series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_encode.h"

static const char *const tb_kind_suffix[] = {"", "scalar", "text", "histogram", "image", "hparams"};

static uint64_t tbs_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static lc_tb_series **tbs_find(lc_tb_series_table *t, const char *tag)
{
    size_t mask = t->nslots - 1;
    for (size_t i = tbs_hash(tag) & mask;; i = (i + 1) & mask) {
        if (!t->slots[i] || strcmp(t->slots[i]->tag, tag) == 0)
            return &t->slots[i];
    }
}

static int tbs_grow(lc_tb_series_table *t)
{
    size_t n = t->nslots ? t->nslots * 2 : 64;
    lc_tb_series **old = t->slots;
    size_t oldn = t->nslots;
    t->slots = calloc(n, sizeof *t->slots);
    if (!t->slots) {
        t->slots = old;
        return -1;
    }
    t->nslots = n;
    for (size_t i = 0; i < oldn; i++)
        if (old[i])
            *tbs_find(t, old[i]->tag) = old[i];
    free(old);
    return 0;
}

/* Insert a new series for an exact tag (which must be absent). */
static lc_tb_series *tbs_insert(lc_tb_series_table *t, const char *tag, lc_tb_kind kind)
{
    if ((t->used + 1) * 2 > t->nslots && tbs_grow(t))
        return NULL;
    lc_tb_series *s = calloc(1, sizeof *s);
    if (!s || !(s->tag = strdup(tag))) {
        free(s);
        return NULL;
    }
    s->kind = kind;
    *tbs_find(t, tag) = s;
    t->used++;
    return s;
}

lc_tb_series_table *lc_tb_series_new(void)
{
    lc_tb_series_table *t = calloc(1, sizeof *t);
    if (!t || tbs_grow(t)) {
        free(t);
        return NULL;
    }
    const char *reserved[] = {LC_TB_TAG_SESSION_START, LC_TB_TAG_SESSION_END, LC_TB_TAG_EXPERIMENT};
    for (size_t i = 0; i < 3; i++) {
        if (!tbs_insert(t, reserved[i], LC_TB_KIND_HPARAMS)) {
            lc_tb_series_free(t);
            return NULL;
        }
    }
    return t;
}

void lc_tb_series_free(lc_tb_series_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nslots; i++) {
        if (t->slots[i]) {
            lc_tb_scalar_tpl_free(&t->slots[i]->tpl);
            free(t->slots[i]->tag);
            free(t->slots[i]);
        }
    }
    free(t->slots);
    free(t->by_tag);
    free(t);
}

lc_tb_series *lc_tb_series_get(lc_tb_series_table *t, const char *key, lc_tb_kind kind)
{
    if (!key)
        key = "";
    size_t len = strlen(key);
    /* valid UTF-8, not empty */
    char *name = malloc(len + 2);
    if (!name)
        return NULL;
    memcpy(name, key, len + 1);
    lc_tb_utf8_sanitize(name, len);
    if (len == 0) {
        name[0] = '_';
        name[1] = 0;
    }
    int renamed = strcmp(name, key) != 0;
    /* Follow "<name>_<kind>" until a tag free or owned by this kind. */
    for (;;) {
        lc_tb_series **slot = tbs_find(t, name);
        if (*slot && (*slot)->kind == kind) {
            free(name);
            return *slot;
        }
        if (!*slot) {
            lc_tb_series *s = tbs_insert(t, name, kind);
            if (s) {
                s->renamed = renamed;
                t->renamed += renamed;
            }
            free(name);
            return s;
        }
        size_t n = strlen(name) + 1 + strlen(tb_kind_suffix[kind]) + 1;
        char *next = malloc(n);
        if (!next) {
            free(name);
            return NULL;
        }
        snprintf(next, n, "%s_%s", name, tb_kind_suffix[kind]);
        free(name);
        name = next;
        renamed = 1;
    }
}

int lc_tb_series_bind(lc_tb_series_table *t, uint32_t tag, const char *key)
{
    if (tag >= (1u << 28))
        return -1; /* tag ids are small dense integers; refuse nonsense */
    if (tag >= t->ntags) {
        uint32_t n = t->ntags ? t->ntags : 64;
        while (n <= tag)
            n *= 2;
        lc_tb_series **p = realloc(t->by_tag, n * sizeof *p);
        if (!p)
            return -1;
        memset(p + t->ntags, 0, (n - t->ntags) * sizeof *p);
        t->by_tag = p;
        t->ntags = n;
    }
    lc_tb_series *s = lc_tb_series_get(t, key, LC_TB_KIND_SCALAR);
    if (!s)
        return -1;
    t->by_tag[tag] = s;
    return 0;
}

uint64_t lc_tb_series_renamed(const lc_tb_series_table *t)
{
    return t->renamed;
}
