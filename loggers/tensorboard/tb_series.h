/*
 * loggers/tensorboard/tb_series.h — which TensorBoard tag each lightc key is written
 * under, per run.
 *
 * TensorBoard keeps one time series per (run, tag), typed by the metadata of
 * its first value: a key used for scalars and later for text (or images,
 * histograms) would garble one of them, and the tags _hparams_/... belong to
 * the HParams plugin. So the first kind to use a tag owns it; a later use by
 * another kind is written under "<key>_<kind>" (e.g. "weights_histogram"),
 * deterministically. Tags are also made valid UTF-8 (a reader that meets
 * invalid UTF-8 in a tag drops the rest of the file) and never empty.
 *
 * Scalars are looked up by their interned lc_tag (an array index), the rest
 * by key (a hash table).
 */
#ifndef LC_TB_SERIES_H
#define LC_TB_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "tb_encode.h"

typedef enum lc_tb_kind {
    LC_TB_KIND_SCALAR = 1,
    LC_TB_KIND_TEXT = 2,
    LC_TB_KIND_HISTOGRAM = 3,
    LC_TB_KIND_IMAGE = 4,
    LC_TB_KIND_HPARAMS = 5 /* reserved: the plugin's own tags */
} lc_tb_kind;

typedef struct lc_tb_series {
    char *tag;         /* the TensorBoard tag (owned by the table) */
    lc_tb_kind kind;
    int renamed;       /* tag differs from the key as given */
    uint32_t md_gen;   /* file generation in which metadata was last written */
    lc_tb_scalar_tpl tpl; /* scalars: the packed Summary, built on first use */
} lc_tb_series;

typedef struct lc_tb_series_table lc_tb_series_table;

/** A new table, with the HParams plugin's tags reserved. NULL on ENOMEM. */
lc_tb_series_table *lc_tb_series_new(void);
void lc_tb_series_free(lc_tb_series_table *t);

/** The series for (key, kind), created on first use. NULL on ENOMEM. */
lc_tb_series *lc_tb_series_get(lc_tb_series_table *t, const char *key, lc_tb_kind kind);

/** Bind an interned scalar tag id to key (LC_EV_KEY). 0, or -1 on ENOMEM. */
int lc_tb_series_bind(lc_tb_series_table *t, uint32_t tag, const char *key);

/** The scalar series bound to tag id, or NULL if never bound. */
static inline lc_tb_series *lc_tb_series_of_tag(lc_tb_series_table *t, uint32_t tag);

/** Number of keys written under another name so far. */
uint64_t lc_tb_series_renamed(const lc_tb_series_table *t);

/* ---- inline ---------------------------------------------------------- */

struct lc_tb_series_table {
    lc_tb_series **by_tag; /* index: lc_tag */
    uint32_t ntags;
    lc_tb_series **slots;  /* open addressing on tag name */
    size_t nslots, used;
    uint64_t renamed;
};

static inline lc_tb_series *lc_tb_series_of_tag(lc_tb_series_table *t, uint32_t tag)
{
    return tag < t->ntags ? t->by_tag[tag] : NULL;
}

#endif /* LC_TB_SERIES_H */
