/*
 * loggers/tensorboard/tfrecord.h — TFRecord framing: the record format of tfevents files.
 *
 * One record on disk:
 *
 *     u64 LE  length
 *     u32 LE  masked CRC-32C of the 8 length bytes
 *     bytes   data[length]
 *     u32 LE  masked CRC-32C of data
 *
 * There is no file header or trailer. Writers append whole records to an
 * in-memory lc_tfr_buf and write the buffer with one write(2); the reader
 * walks a byte range and tells a clean end from a truncated tail (a record
 * still being written) and from corruption.
 */
#ifndef LC_TFRECORD_H
#define LC_TFRECORD_H

#include <stddef.h>
#include <stdint.h>

#define LC_TFR_HEADER 12 /* length + length CRC */
#define LC_TFR_FOOTER 4  /* data CRC */
#define LC_TFR_OVERHEAD (LC_TFR_HEADER + LC_TFR_FOOTER)

/* A growable byte buffer holding whole records. Zero-initialise. */
typedef struct lc_tfr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} lc_tfr_buf;

/** Make room for extra more bytes. 0, or -1 when out of memory. */
int lc_tfr_reserve(lc_tfr_buf *b, size_t extra);

/** Start a record of payload_len bytes: reserves space, writes the header
 *  and returns where the caller writes the payload (NULL when out of
 *  memory). Nothing counts until lc_tfr_commit. */
uint8_t *lc_tfr_begin(lc_tfr_buf *b, size_t payload_len);

/** Finish the record started by lc_tfr_begin: adds the data CRC and makes
 *  the record part of the buffer. */
void lc_tfr_commit(lc_tfr_buf *b, size_t payload_len);

/** Append one record holding a copy of payload. 0, or -1 out of memory. */
int lc_tfr_append(lc_tfr_buf *b, const void *payload, size_t len);

/** Free the buffer's memory (it stays usable, empty). */
void lc_tfr_free(lc_tfr_buf *b);

/** Write the 12-byte header of a record of len payload bytes. */
void lc_tfr_header(uint8_t out[LC_TFR_HEADER], uint64_t len);

/* Reading -------------------------------------------------------------- */

typedef enum lc_tfr_status {
    LC_TFR_OK = 0,            /* a record: *payload, *payload_len */
    LC_TFR_END = 1,           /* clean end: no bytes left */
    LC_TFR_TRUNCATED = 2,     /* the last record is incomplete */
    LC_TFR_BAD_LENGTH_CRC = 3,
    LC_TFR_BAD_DATA_CRC = 4
} lc_tfr_status;

/** Read the record at *off in data[0..len). On LC_TFR_OK, points payload
 *  into data and advances *off past the record; otherwise *off is left at
 *  the start of the bad or partial record. */
lc_tfr_status lc_tfr_next(const uint8_t *data, size_t len, size_t *off,
                          const uint8_t **payload, size_t *payload_len);

/** Text for a status ("truncated record", ...). */
const char *lc_tfr_status_str(lc_tfr_status s);

#endif /* LC_TFRECORD_H */
