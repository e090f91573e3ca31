/*
 * loggers/tensorboard/tb_encode.c — TensorBoard Event records with protobuf-c (see
 * tb_encode.h).
 *
 * Messages are built on the stack from the generated structs, sized with
 * get_packed_size and packed straight into the record buffer, so an event
 * costs no allocation beyond the buffer's own growth.
 */
#include "tb_encode.h"

#include <stdlib.h>
#include <string.h>

#include "event.pb-c.h"
#include "hparams_plugin_data.pb-c.h"
#include "shared/histogram.h"
#include "struct.pb-c.h"
#include "summary.pb-c.h"
#include "tensor.pb-c.h"

/* ---------------------------------------------------------------------- */
/* framing helpers                                                         */

static int tb_put_event(lc_tfr_buf *b, const Tensorboard__Event *ev)
{
    size_t n = tensorboard__event__get_packed_size(ev);
    uint8_t *p = lc_tfr_begin(b, n);
    if (!p)
        return -1;
    tensorboard__event__pack(ev, p);
    lc_tfr_commit(b, n);
    return 0;
}

static int tb_put_summary(lc_tfr_buf *b, double wall_time, int64_t step, size_t n,
                          Tensorboard__Summary__Value **values)
{
    Tensorboard__Summary sum = TENSORBOARD__SUMMARY__INIT;
    sum.n_value = n;
    sum.value = values;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    ev.summary = &sum;
    return tb_put_event(b, &ev);
}

/* ---------------------------------------------------------------------- */
/* records                                                                 */

int lc_tb_put_file_version(lc_tfr_buf *b, double wall_time)
{
    Tensorboard__SourceMetadata src = TENSORBOARD__SOURCE_METADATA__INIT;
    src.writer = LC_TB_WRITER;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
    ev.file_version = LC_TB_FILE_VERSION;
    ev.source_metadata = &src;
    return tb_put_event(b, &ev);
}

int lc_tb_put_session_start(lc_tfr_buf *b, double wall_time, int64_t step)
{
    Tensorboard__SessionLog log = TENSORBOARD__SESSION_LOG__INIT;
    log.status = TENSORBOARD__SESSION_LOG__SESSION_STATUS__START;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SESSION_LOG;
    ev.session_log = &log;
    return tb_put_event(b, &ev);
}

int lc_tb_put_scalars(lc_tfr_buf *b, double wall_time, int64_t step, size_t n,
                      const char *const *tags, const float *values)
{
    enum { TB_STACK_VALUES = 64 };
    Tensorboard__Summary__Value vs[TB_STACK_VALUES];
    Tensorboard__Summary__Value *ptrs[TB_STACK_VALUES];
    Tensorboard__Summary__Value *v = vs;
    Tensorboard__Summary__Value **pv = ptrs;
    if (n > TB_STACK_VALUES) {
        v = malloc(n * sizeof *v);
        pv = malloc(n * sizeof *pv);
        if (!v || !pv) {
            free(v);
            free(pv);
            return -1;
        }
    }
    static const Tensorboard__Summary__Value init = TENSORBOARD__SUMMARY__VALUE__INIT;
    for (size_t i = 0; i < n; i++) {
        v[i] = init;
        v[i].tag = (char *)tags[i];
        v[i].value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
        v[i].simple_value = values[i];
        pv[i] = &v[i];
    }
    int rc = tb_put_summary(b, wall_time, step, n, pv);
    if (v != vs) {
        free(v);
        free(pv);
    }
    return rc;
}

int lc_tb_scalar_tpl_init(lc_tb_scalar_tpl *t, const char *tag)
{
    static const float probe = 1.5f; /* 0x3FC00000: not a byte pattern a tag yields by chance */
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
    v.simple_value = probe;
    Tensorboard__Summary__Value *pv = &v;
    Tensorboard__Summary sum = TENSORBOARD__SUMMARY__INIT;
    sum.n_value = 1;
    sum.value = &pv;
    size_t n = tensorboard__summary__get_packed_size(&sum);
    uint8_t *p = malloc(n);
    if (!p)
        return -1;
    tensorboard__summary__pack(&sum, p);
    uint8_t le[4];
    uint32_t bits;
    memcpy(&bits, &probe, 4);
    for (int i = 0; i < 4; i++)
        le[i] = (uint8_t)(bits >> (8 * i));
    /* the float must be the last field, tagged 0x15 (field 2, fixed32) */
    if (n < 5 || p[n - 5] != 0x15 || memcmp(p + n - 4, le, 4) != 0) {
        free(p);
        return -1;
    }
    t->bytes = p;
    t->len = n;
    return 0;
}

void lc_tb_scalar_tpl_free(lc_tb_scalar_tpl *t)
{
    free(t->bytes);
    t->bytes = NULL;
    t->len = 0;
}

int lc_tb_put_scalars_tpl(lc_tfr_buf *b, double wall_time, int64_t step, size_t n,
                          const lc_tb_scalar_tpl *const *tpls, const float *values)
{
    uint8_t stack[1024];
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += tpls[i]->len;
    uint8_t *sum = total <= sizeof stack ? stack : malloc(total);
    if (!sum)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(sum + off, tpls[i]->bytes, tpls[i]->len);
        off += tpls[i]->len;
        uint32_t bits;
        memcpy(&bits, &values[i], 4);
        for (int k = 0; k < 4; k++) /* fixed32 is little-endian on the wire */
            sum[off - 4 + k] = (uint8_t)(bits >> (8 * k));
    }
    Tensorboard__EventPreserialized ev = TENSORBOARD__EVENT_PRESERIALIZED__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.summary.data = sum;
    ev.summary.len = total;
    size_t len = tensorboard__event_preserialized__get_packed_size(&ev);
    uint8_t *p = lc_tfr_begin(b, len);
    if (p) {
        tensorboard__event_preserialized__pack(&ev, p);
        lc_tfr_commit(b, len);
    }
    if (sum != stack)
        free(sum);
    return p ? 0 : -1;
}

int lc_tb_put_text(lc_tfr_buf *b, double wall_time, int64_t step, const char *tag,
                   const char *text, size_t text_len, int with_metadata)
{
    ProtobufCBinaryData str = {text_len, (uint8_t *)text};
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT; /* rank 0 */
    Tensorboard__TensorProto t = TENSORBOARD__TENSOR_PROTO__INIT;
    t.dtype = TENSORBOARD__DATA_TYPE__DT_STRING;
    t.tensor_shape = &shape;
    t.n_string_val = 1;
    t.string_val = &str;
    Tensorboard__SummaryMetadata__PluginData pd = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    pd.plugin_name = "text";
    Tensorboard__SummaryMetadata md = TENSORBOARD__SUMMARY_METADATA__INIT;
    md.plugin_data = &pd;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.metadata = with_metadata ? &md : NULL;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = &t;
    Tensorboard__Summary__Value *pv = &v;
    return tb_put_summary(b, wall_time, step, 1, &pv);
}

int lc_tb_put_histogram(lc_tfr_buf *b, double wall_time, int64_t step, const char *tag,
                        const lc_histogram *h)
{
    /* At most one extra (empty) bucket before each kept one. */
    size_t cap = 2 * (size_t)h->nbuckets;
    double *lim = malloc((cap ? cap : 1) * sizeof *lim);
    double *cnt = malloc((cap ? cap : 1) * sizeof *cnt);
    if (!lim || !cnt) {
        free(lim);
        free(cnt);
        return -1;
    }
    size_t k = 0;
    int prev = -1;
    for (uint32_t i = 0; i < h->nbuckets; i++) {
        int idx = lc_histogram_limit_index(h->limit[i]);
        if (prev >= 0 && idx > prev + 1) {
            /* gap: one empty bucket [limit(prev), limit(idx-1)) */
            lim[k] = lc_histogram_limit((uint32_t)(idx - 1));
            cnt[k++] = 0.0;
        }
        lim[k] = h->limit[i];
        cnt[k++] = h->count[i];
        prev = idx;
    }
    Tensorboard__HistogramProto hp = TENSORBOARD__HISTOGRAM_PROTO__INIT;
    hp.min = h->min;
    hp.max = h->max;
    hp.num = h->num;
    hp.sum = h->sum;
    hp.sum_squares = h->sum_squares;
    hp.n_bucket_limit = k;
    hp.bucket_limit = lim;
    hp.n_bucket = k;
    hp.bucket = cnt;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_HISTO;
    v.histo = &hp;
    Tensorboard__Summary__Value *pv = &v;
    int rc = tb_put_summary(b, wall_time, step, 1, &pv);
    free(lim);
    free(cnt);
    return rc;
}

int lc_tb_put_image(lc_tfr_buf *b, double wall_time, int64_t step, const char *tag,
                    uint32_t width, uint32_t height, uint32_t channels, const uint8_t *png,
                    size_t png_len)
{
    Tensorboard__Summary__Image img = TENSORBOARD__SUMMARY__IMAGE__INIT;
    img.height = (int32_t)height;
    img.width = (int32_t)width;
    img.colorspace = (int32_t)channels;
    img.encoded_image_string.data = (uint8_t *)png;
    img.encoded_image_string.len = png_len;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_IMAGE;
    v.image = &img;
    Tensorboard__Summary__Value *pv = &v;
    return tb_put_summary(b, wall_time, step, 1, &pv);
}

/* An hparams summary: the plugin data goes in the metadata; the value is
   the "null tensor" (DT_FLOAT, shape [0]) official writers use, because a
   Value with no data at all is skipped by some readers. */
static int tb_put_hparams(lc_tfr_buf *b, double wall_time, const char *tag,
                          const Tensorboard__Hparams__HParamsPluginData *data)
{
    size_t n = tensorboard__hparams__hparams_plugin_data__get_packed_size(data);
    uint8_t *content = malloc(n ? n : 1);
    if (!content)
        return -1;
    tensorboard__hparams__hparams_plugin_data__pack(data, content);

    Tensorboard__TensorShapeProto__Dim dim = TENSORBOARD__TENSOR_SHAPE_PROTO__DIM__INIT;
    dim.size = 0;
    Tensorboard__TensorShapeProto__Dim *dims[1] = {&dim};
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1;
    shape.dim = dims;
    Tensorboard__TensorProto t = TENSORBOARD__TENSOR_PROTO__INIT;
    t.dtype = TENSORBOARD__DATA_TYPE__DT_FLOAT;
    t.tensor_shape = &shape;
    Tensorboard__SummaryMetadata__PluginData pd = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    pd.plugin_name = "hparams";
    pd.content.data = content;
    pd.content.len = n;
    Tensorboard__SummaryMetadata md = TENSORBOARD__SUMMARY_METADATA__INIT;
    md.plugin_data = &pd;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.metadata = &md;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = &t;
    Tensorboard__Summary__Value *pv = &v;
    int rc = tb_put_summary(b, wall_time, 0, 1, &pv);
    free(content);
    return rc;
}

int lc_tb_put_hparams_start(lc_tfr_buf *b, double wall_time, const lc_tb_hparam *hp, size_t n,
                            double start_time_secs)
{
    Tensorboard__Hparams__SessionStartInfo__HparamsEntry *entries = NULL, **pentries = NULL;
    Google__Protobuf__Value *values = NULL;
    if (n) {
        entries = malloc(n * sizeof *entries);
        pentries = malloc(n * sizeof *pentries);
        values = malloc(n * sizeof *values);
        if (!entries || !pentries || !values) {
            free(entries);
            free(pentries);
            free(values);
            return -1;
        }
    }
    static const Tensorboard__Hparams__SessionStartInfo__HparamsEntry einit =
        TENSORBOARD__HPARAMS__SESSION_START_INFO__HPARAMS_ENTRY__INIT;
    static const Google__Protobuf__Value vinit = GOOGLE__PROTOBUF__VALUE__INIT;
    for (size_t i = 0; i < n; i++) {
        values[i] = vinit;
        switch (hp[i].kind) {
        case LC_TB_HP_NUMBER:
            values[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
            values[i].number_value = hp[i].num;
            break;
        case LC_TB_HP_BOOL:
            values[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
            values[i].bool_value = hp[i].boolean ? 1 : 0;
            break;
        default:
            values[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
            values[i].string_value = (char *)(hp[i].str ? hp[i].str : "");
            break;
        }
        entries[i] = einit;
        entries[i].key = (char *)hp[i].key;
        entries[i].value = &values[i];
        pentries[i] = &entries[i];
    }
    Tensorboard__Hparams__SessionStartInfo ssi = TENSORBOARD__HPARAMS__SESSION_START_INFO__INIT;
    ssi.n_hparams = n;
    ssi.hparams = pentries;
    ssi.start_time_secs = start_time_secs;
    Tensorboard__Hparams__HParamsPluginData data = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    data.version = 0;
    data.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_START_INFO;
    data.session_start_info = &ssi;
    int rc = tb_put_hparams(b, wall_time, LC_TB_TAG_SESSION_START, &data);
    free(entries);
    free(pentries);
    free(values);
    return rc;
}

int lc_tb_put_hparams_end(lc_tfr_buf *b, double wall_time, int status, double end_time_secs)
{
    Tensorboard__Hparams__SessionEndInfo sei = TENSORBOARD__HPARAMS__SESSION_END_INFO__INIT;
    sei.status = (Tensorboard__Hparams__Status)status;
    sei.end_time_secs = end_time_secs;
    Tensorboard__Hparams__HParamsPluginData data = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    data.version = 0;
    data.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_END_INFO;
    data.session_end_info = &sei;
    return tb_put_hparams(b, wall_time, LC_TB_TAG_SESSION_END, &data);
}

/* ---------------------------------------------------------------------- */
/* UTF-8                                                                   */

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
   surrogates, <= U+10FFFF), or 0 if invalid. */
static size_t tb_utf8_seq(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (left < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

int lc_tb_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = tb_utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

size_t lc_tb_utf8_sanitize(char *s, size_t len)
{
    unsigned char *p = (unsigned char *)s;
    size_t replaced = 0;
    for (size_t i = 0; i < len;) {
        size_t n = tb_utf8_seq(p + i, len - i);
        if (n == 0) {
            p[i++] = '?';
            replaced++;
        } else {
            i += n;
        }
    }
    return replaced;
}
