/*
 * loggers/tensorboard/tb_encode.h — TensorBoard Event records, built with protobuf-c.
 *
 * Each function serialises one tensorboard.Event (proto/event.proto) and
 * appends it, TFRecord-framed, to a buffer. They know the TensorBoard
 * conventions (plugin names, hparams tags, the null tensor, text tensors)
 * and nothing about files, runs or the hub. All return 0, or -1 when out of
 * memory (the buffer is then unchanged).
 *
 * Strings handed in must be valid UTF-8 (proto3 'string' fields; a reader
 * that finds invalid UTF-8 drops the rest of the file): use
 * lc_tb_utf8_sanitize first.
 */
#ifndef LC_TB_ENCODE_H
#define LC_TB_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/event.h"
#include "tfrecord.h"

#define LC_TB_FILE_VERSION "brain.Event:2"
#define LC_TB_WRITER "lightc"
#define LC_TB_TAG_SESSION_START "_hparams_/session_start_info"
#define LC_TB_TAG_SESSION_END "_hparams_/session_end_info"
#define LC_TB_TAG_EXPERIMENT "_hparams_/experiment"

/* HParams session status (tensorboard/plugins/hparams/api.proto). */
enum {
    LC_TB_STATUS_UNKNOWN = 0,
    LC_TB_STATUS_SUCCESS = 1,
    LC_TB_STATUS_FAILURE = 2,
    LC_TB_STATUS_RUNNING = 3
};

/* One hyperparameter as google.protobuf.Value: a string, number or bool. */
typedef enum lc_tb_hp_kind { LC_TB_HP_STRING = 0, LC_TB_HP_NUMBER = 1, LC_TB_HP_BOOL = 2 } lc_tb_hp_kind;

typedef struct lc_tb_hparam {
    const char *key;
    lc_tb_hp_kind kind;
    const char *str; /* LC_TB_HP_STRING */
    double num;      /* LC_TB_HP_NUMBER */
    int boolean;     /* LC_TB_HP_BOOL */
} lc_tb_hparam;

/** First record of every file: file_version "brain.Event:2" plus
 *  source_metadata.writer "lightc". */
int lc_tb_put_file_version(lc_tfr_buf *b, double wall_time);

/** SessionLog{START} at step: readers drop earlier points with step >= it. */
int lc_tb_put_session_start(lc_tfr_buf *b, double wall_time, int64_t step);

/** One Event with n simple_value scalars at one step (float32). */
int lc_tb_put_scalars(lc_tfr_buf *b, double wall_time, int64_t step, size_t n,
                      const char *const *tags, const float *values);

/* The hot path: Summary{value{tag, simple_value}} packed once per tag by
 * protobuf-c; each scalar then patches the float (the last 4 bytes of the
 * template, checked when it is built) and packs a flat EventPreserialized.
 * A Summary of n values is the concatenation of n single-value ones
 * (repeated fields concatenate on the wire). */
typedef struct lc_tb_scalar_tpl {
    uint8_t *bytes; /* malloc'd; NULL until built */
    size_t len;
} lc_tb_scalar_tpl;

/** Build the template for tag. 0, or -1 when out of memory or when
 *  protobuf-c does not put the float last (then use lc_tb_put_scalars). */
int lc_tb_scalar_tpl_init(lc_tb_scalar_tpl *t, const char *tag);
void lc_tb_scalar_tpl_free(lc_tb_scalar_tpl *t);

/** As lc_tb_put_scalars, from templates. */
int lc_tb_put_scalars_tpl(lc_tfr_buf *b, double wall_time, int64_t step, size_t n,
                          const lc_tb_scalar_tpl *const *tpls, const float *values);

/** Text (markdown) as a rank-0 DT_STRING tensor; with_metadata adds the
 *  "text" plugin metadata (needed on the first value of a tag in a file). */
int lc_tb_put_text(lc_tfr_buf *b, double wall_time, int64_t step, const char *tag,
                   const char *text, size_t text_len, int with_metadata);

/** A legacy HistogramProto from a ladder histogram. Runs of empty buckets
 *  between kept buckets become one empty bucket, so every bucket keeps its
 *  true edges. h must have num > 0. */
int lc_tb_put_histogram(lc_tfr_buf *b, double wall_time, int64_t step, const char *tag,
                        const lc_histogram *h);

/** A Summary.Image holding an encoded PNG (colorspace = channels). */
int lc_tb_put_image(lc_tfr_buf *b, double wall_time, int64_t step, const char *tag,
                    uint32_t width, uint32_t height, uint32_t channels, const uint8_t *png,
                    size_t png_len);

/** HParams plugin session_start_info with these hyperparameters. */
int lc_tb_put_hparams_start(lc_tfr_buf *b, double wall_time, const lc_tb_hparam *hp, size_t n,
                            double start_time_secs);

/** HParams plugin session_end_info with an LC_TB_STATUS_* status. */
int lc_tb_put_hparams_end(lc_tfr_buf *b, double wall_time, int status, double end_time_secs);

/** 1 if s[0..len) is valid UTF-8, else 0. */
int lc_tb_utf8_valid(const char *s, size_t len);

/** Replace every byte that is not part of a valid UTF-8 sequence with '?',
 *  in place. Returns the number of bytes replaced. */
size_t lc_tb_utf8_sanitize(char *s, size_t len);

#endif /* LC_TB_ENCODE_H */
