/*
 * trainer/ckpt_file.h — the checkpoint container: named sections in one
 * file, guarded by a length and a CRC-32C, written atomically.
 *
 * Layout (all integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "LCCKPT\r\n" (the CR LF catches text-mode mangling)
 *   8       4     format version (LC_CKPT_VERSION; versions from
 *                 LC_CKPT_VERSION_MIN on are read)
 *   12      4     number of sections
 *   16      8     payload length in bytes (everything after the header)
 *   24      4     CRC-32C of the payload
 *   28      4     CRC-32C of bytes 0..27
 *   32      ...   payload: sections, back to back:
 *                   u16 name length, name bytes (no NUL),
 *                   u64 data length, data bytes
 *
 * Versions: 1 — the first format (float32 tensors only); 2 — tensors
 * record their dtype, the precision plugin has a section (ckpt_state.c).
 * The container itself is the same in both; the version tells the
 * sections' readers which layout they hold.
 *
 * Reading checks the magic, the version, the header CRC, that the file is
 * exactly 32 + payload length bytes and the payload CRC, before any byte of
 * a section is used: a torn, truncated or bit-flipped file is refused with
 * a message naming the file, never loaded.
 *
 * Writing: the whole file is built in memory, written to
 * "<path>.tmp-<pid>" in the same directory, fsync'd, renamed over path and
 * the directory fsync'd, so path holds either the old or the new complete
 * file after a crash.
 */
#ifndef LC_TRAINER_CKPT_FILE_H
#define LC_TRAINER_CKPT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lightc/hub.h"

#define LC_CKPT_MAGIC "LCCKPT\r\n"
#define LC_CKPT_VERSION 2u
#define LC_CKPT_VERSION_MIN 1u
#define LC_CKPT_HEADER 32u

typedef struct lc_ckpt_writer {
    uint8_t *buf;     /* header space + payload */
    size_t len, cap;
    uint32_t nsections;
    int oom;          /* an append ran out of memory */
    uint32_t version; /* 0: LC_CKPT_VERSION (tests write older versions) */
} lc_ckpt_writer;

void lc_ckpt_writer_init(lc_ckpt_writer *w);
void lc_ckpt_writer_free(lc_ckpt_writer *w);

/** Empty w for reuse, keeping its buffer (no new pages to fault in). */
void lc_ckpt_writer_reset(lc_ckpt_writer *w);

/** Make room for about `bytes` in total up front (avoids regrowth). */
void lc_ckpt_writer_reserve(lc_ckpt_writer *w, size_t bytes);

/** Append a section (name 1..65535 bytes). Errors are sticky: checked by
 *  lc_ckpt_writer_finish. */
void lc_ckpt_add(lc_ckpt_writer *w, const char *name, const void *data, size_t len);

/** Append a section whose data is built by the caller: returns a pointer to
 *  len writable bytes inside the buffer (valid until the next append), or
 *  NULL when out of memory. */
void *lc_ckpt_add_space(lc_ckpt_writer *w, const char *name, size_t len);

/** Fill the header (counts and CRCs). */
lc_status lc_ckpt_writer_finish(lc_ckpt_writer *w);

/** Write the finished buffer to path atomically (see above). */
lc_status lc_ckpt_write_atomic(const char *path, const void *data, size_t len);

/** Remove the "*.ckpt.tmp-<pid>" files in dir whose writer cannot be alive
 *  (its pid is gone, or was reused by a process that started after the
 *  file was written; ckpt_stale.c), reporting them on stderr. Returns how
 *  many were removed. A missing dir is fine (0). */
int lc_ckpt_remove_stale(const char *dir);

typedef struct lc_ckpt_section {
    const char *name; /* not NUL-terminated: name_len bytes */
    size_t name_len;
    const uint8_t *data;
    size_t len;
} lc_ckpt_section;

typedef struct lc_ckpt_reader {
    uint8_t *buf;     /* the whole file */
    size_t len;
    lc_ckpt_section *sections;
    uint32_t nsections;
    uint32_t version; /* the file's format version */
} lc_ckpt_reader;

/** Read and verify path. LC_ERR_NOT_FOUND if it does not exist,
 *  LC_ERR_INVALID for a file that is not a complete lightc checkpoint or
 *  has a format version this lightc does not know (the message says
 *  which versions it reads). */
lc_status lc_ckpt_read(const char *path, lc_ckpt_reader *r);

/** Verify an in-memory checkpoint (takes ownership of buf on success and
 *  on failure). what names it in messages. */
lc_status lc_ckpt_parse(uint8_t *buf, size_t len, const char *what, lc_ckpt_reader *r);

void lc_ckpt_reader_free(lc_ckpt_reader *r);

/** The section called name, or NULL. */
const lc_ckpt_section *lc_ckpt_find(const lc_ckpt_reader *r, const char *name);

#endif
