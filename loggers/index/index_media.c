/*
 * loggers/index/index_media.c — encoding of media rows for the run index: the
 * histogram blob (little-endian doubles, see index_media.h) and the meta
 * JSON of histograms, images and artifacts (cJSON).
 */
#include "index_media.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void media_put_le(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

static double media_get_le(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int lc_index_hist_encode(const lc_histogram *h, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = h->nbuckets;
    if (n == 0)
        return 0;
    unsigned char *buf = malloc(16 * n);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        media_put_le(buf + 8 * i, h->limit[i]);
        media_put_le(buf + 8 * (n + i), h->count[i]);
    }
    *out = buf;
    *len = 16 * n;
    return 0;
}

long lc_index_hist_decode(const void *blob, size_t len, double *limit, double *count)
{
    if (len % 16 != 0)
        return -1;
    size_t n = len / 16;
    const unsigned char *p = blob;
    for (size_t i = 0; i < n; i++) {
        limit[i] = media_get_le(p + 8 * i);
        count[i] = media_get_le(p + 8 * (n + i));
    }
    return (long)n;
}

/* cJSON would print a non-finite double as null anyway; say so explicitly. */
static void media_add_number(cJSON *o, const char *name, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static char *media_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return NULL;
    /* cJSON allocates with its hooks (malloc by default); hand back a
       plain malloc'd copy so callers free() it whatever the hooks are. */
    char *copy = strdup(s);
    cJSON_free(s);
    return copy;
}

char *lc_index_hist_meta(const lc_histogram *h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    media_add_number(o, "min", h->min);
    media_add_number(o, "max", h->max);
    media_add_number(o, "num", h->num);
    media_add_number(o, "sum", h->sum);
    media_add_number(o, "sum_squares", h->sum_squares);
    cJSON_AddNumberToObject(o, "nonfinite", (double)h->nonfinite);
    cJSON_AddNumberToObject(o, "nbuckets", h->nbuckets);
    return media_print(o);
}

char *lc_index_image_meta(const lc_image_payload *img)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "width", img->width);
    cJSON_AddNumberToObject(o, "height", img->height);
    cJSON_AddNumberToObject(o, "channels", img->channels);
    return media_print(o);
}

char *lc_index_artifact_meta(const char *artifact_dir, long long size)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (artifact_dir)
        cJSON_AddStringToObject(o, "artifact_dir", artifact_dir);
    else
        cJSON_AddNullToObject(o, "artifact_dir");
    if (size >= 0)
        cJSON_AddNumberToObject(o, "size", (double)size);
    else
        cJSON_AddNullToObject(o, "size");
    return media_print(o);
}
