/*
 * loggers/remote/wandb/wandb_offline_log.c — the framing of W&B's offline
 * run file (run-<id>.wandb), a LevelDB-style log (see wandb_internal.h):
 *
 *   header   ':' 'W' '&' 'B'  0xE1 0xBE  0x00          (7 bytes, at offset 0)
 *   chunk    crc u32le | len u16le | type u8 | payload[len]
 *   block    32768 bytes counted from offset 0; a chunk never crosses one,
 *            a record longer than the room left is split FIRST, MIDDLE..., LAST;
 *            fewer than 7 bytes left are written as zeros
 *   crc      zlib crc32 (CRC-32/IEEE, unmasked) of the type byte, continued
 *            over the payload — not LevelDB's masked CRC-32C
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/status.h"
#include "wandb_internal.h"

#define BLOCK 32768u
#define CHUNK_HEADER 7u

static const unsigned char FILE_HEADER[7] = {':', 'W', '&', 'B', 0xE1, 0xBE, 0x00};

static lc_status write_all(wandb_log *w, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = write(w->fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return lc_fail(LC_ERR_IO, "wandb: cannot write the offline run file: %s",
                           strerror(k < 0 ? errno : EIO));
        b += k;
        n -= (size_t)k;
        w->pos += (uint64_t)k;
    }
    return LC_OK;
}

lc_status wandb_log_open(wandb_log *w, const char *path, uint64_t size)
{
    w->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    w->pos = 0;
    if (w->fd < 0)
        return lc_fail(LC_ERR_IO, "wandb: cannot open the offline run file %s: %s", path,
                       strerror(errno));
    struct stat sb;
    if (fstat(w->fd, &sb) != 0 || (uint64_t)sb.st_size < size ||
        ftruncate(w->fd, (off_t)size) != 0 || lseek(w->fd, (off_t)size, SEEK_SET) < 0) {
        int e = errno;
        close(w->fd);
        w->fd = -1;
        return lc_fail(LC_ERR_IO, "wandb: the offline run file %s is shorter than the %llu bytes "
                       "the run index says were written (%s): move it away to write it anew",
                       path, (unsigned long long)size, strerror(e ? e : EIO));
    }
    w->pos = size;
    if (size == 0)
        return write_all(w, FILE_HEADER, sizeof FILE_HEADER);
    return LC_OK;
}

lc_status wandb_log_append(wandb_log *w, const void *payload, size_t len)
{
    const unsigned char *p = payload;
    int first = 1;
    do {
        uint32_t left = BLOCK - (uint32_t)(w->pos % BLOCK);
        if (left < CHUNK_HEADER) {
            static const unsigned char zeros[CHUNK_HEADER] = {0};
            lc_status s = write_all(w, zeros, left);
            if (s != LC_OK)
                return s;
            left = BLOCK;
        }
        size_t room = left - CHUNK_HEADER;
        size_t frag = len < room ? len : room;
        int end = frag == len;
        unsigned char type = first && end ? 1 : first ? 2 : end ? 4 : 3;
        uLong crc = crc32(0L, &type, 1);
        crc = crc32(crc, p, (uInt)frag);
        unsigned char h[CHUNK_HEADER] = {
            (unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16),
            (unsigned char)(crc >> 24), (unsigned char)frag, (unsigned char)(frag >> 8), type};
        lc_status s = write_all(w, h, sizeof h);
        if (s == LC_OK && frag)
            s = write_all(w, p, frag);
        if (s != LC_OK)
            return s;
        p += frag;
        len -= frag;
        first = 0;
    } while (len > 0);
    return LC_OK;
}

lc_status wandb_log_sync(wandb_log *w)
{
    if (w->fd >= 0 && fdatasync(w->fd) != 0)
        return lc_fail(LC_ERR_IO, "wandb: cannot flush the offline run file: %s", strerror(errno));
    return LC_OK;
}

void wandb_log_close(wandb_log *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}
