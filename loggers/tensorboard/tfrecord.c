/*
 * loggers/tensorboard/tfrecord.c — TFRecord framing (see tfrecord.h).
 *
 * All integers are little-endian on disk whatever the host order; the
 * length CRC covers the 8 encoded length bytes, not a host integer.
 */
#include "tfrecord.h"

#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"

static void tfr_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t tfr_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t tfr_get_u64(const uint8_t *p)
{
    return (uint64_t)tfr_get_u32(p) | (uint64_t)tfr_get_u32(p + 4) << 32;
}

void lc_tfr_header(uint8_t out[LC_TFR_HEADER], uint64_t len)
{
    tfr_put_u32(out, (uint32_t)len);
    tfr_put_u32(out + 4, (uint32_t)(len >> 32));
    tfr_put_u32(out + 8, lc_crc32c_mask(lc_crc32c(out, 8)));
}

int lc_tfr_reserve(lc_tfr_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

uint8_t *lc_tfr_begin(lc_tfr_buf *b, size_t payload_len)
{
    if (payload_len > SIZE_MAX - LC_TFR_OVERHEAD || lc_tfr_reserve(b, payload_len + LC_TFR_OVERHEAD))
        return NULL;
    lc_tfr_header(b->data + b->len, payload_len);
    return b->data + b->len + LC_TFR_HEADER;
}

void lc_tfr_commit(lc_tfr_buf *b, size_t payload_len)
{
    uint8_t *payload = b->data + b->len + LC_TFR_HEADER;
    tfr_put_u32(payload + payload_len, lc_crc32c_mask(lc_crc32c(payload, payload_len)));
    b->len += payload_len + LC_TFR_OVERHEAD;
}

int lc_tfr_append(lc_tfr_buf *b, const void *payload, size_t len)
{
    uint8_t *p = lc_tfr_begin(b, len);
    if (!p)
        return -1;
    if (len)
        memcpy(p, payload, len);
    lc_tfr_commit(b, len);
    return 0;
}

void lc_tfr_free(lc_tfr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

lc_tfr_status lc_tfr_next(const uint8_t *data, size_t len, size_t *off,
                          const uint8_t **payload, size_t *payload_len)
{
    size_t o = *off;
    if (o >= len)
        return LC_TFR_END;
    size_t left = len - o;
    if (left < LC_TFR_HEADER)
        return LC_TFR_TRUNCATED;
    const uint8_t *h = data + o;
    if (lc_crc32c_unmask(tfr_get_u32(h + 8)) != lc_crc32c(h, 8))
        return LC_TFR_BAD_LENGTH_CRC;
    uint64_t n = tfr_get_u64(h);
    if (left < LC_TFR_OVERHEAD || n > left - LC_TFR_OVERHEAD)
        return LC_TFR_TRUNCATED;
    const uint8_t *p = h + LC_TFR_HEADER;
    if (lc_crc32c_unmask(tfr_get_u32(p + n)) != lc_crc32c(p, (size_t)n))
        return LC_TFR_BAD_DATA_CRC;
    *payload = p;
    *payload_len = (size_t)n;
    *off = o + LC_TFR_OVERHEAD + (size_t)n;
    return LC_TFR_OK;
}

const char *lc_tfr_status_str(lc_tfr_status s)
{
    switch (s) {
    case LC_TFR_OK: return "ok";
    case LC_TFR_END: return "end of data";
    case LC_TFR_TRUNCATED: return "truncated record";
    case LC_TFR_BAD_LENGTH_CRC: return "bad length CRC";
    case LC_TFR_BAD_DATA_CRC: return "bad data CRC";
    }
    return "unknown";
}
