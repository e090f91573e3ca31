/*
 * trainer/ckpt_file.c — the checkpoint container: sections, header, CRC,
 * atomic write and verified read (see ckpt_file.h).
 */
#include "ckpt_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/status.h"

/* ------------------------------------------------------------------------ */
/* Little-endian helpers                                                     */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */

void lc_ckpt_writer_init(lc_ckpt_writer *w)
{
    memset(w, 0, sizeof *w);
    w->cap = 1 << 16;
    w->buf = calloc(1, w->cap);
    if (!w->buf)
        w->oom = 1;
    w->len = LC_CKPT_HEADER;
}

void lc_ckpt_writer_free(lc_ckpt_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static int writer_grow(lc_ckpt_writer *w, size_t extra)
{
    if (w->oom)
        return -1;
    if (extra > SIZE_MAX - w->len) {
        w->oom = 1;
        return -1;
    }
    size_t need = w->len + extra;
    if (need <= w->cap)
        return 0;
    size_t cap = w->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *b = realloc(w->buf, cap);
    if (!b) {
        w->oom = 1;
        return -1;
    }
    w->buf = b;
    w->cap = cap;
    return 0;
}

void lc_ckpt_writer_reset(lc_ckpt_writer *w)
{
    if (!w->buf) {
        lc_ckpt_writer_init(w);
        return;
    }
    w->len = LC_CKPT_HEADER;
    w->nsections = 0;
    w->oom = 0;
    w->version = 0;
}

void lc_ckpt_writer_reserve(lc_ckpt_writer *w, size_t bytes)
{
    if (bytes > w->len)
        writer_grow(w, bytes - w->len);
}

void *lc_ckpt_add_space(lc_ckpt_writer *w, const char *name, size_t len)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl > 0xffff) {
        w->oom = 1; /* reported as an error by finish */
        return NULL;
    }
    if (writer_grow(w, 2 + nl + 8 + len) != 0)
        return NULL;
    uint8_t *p = w->buf + w->len;
    put_u16(p, (uint16_t)nl);
    memcpy(p + 2, name, nl);
    put_u64(p + 2 + nl, (uint64_t)len);
    w->len += 2 + nl + 8 + len;
    w->nsections++;
    return p + 2 + nl + 8;
}

void lc_ckpt_add(lc_ckpt_writer *w, const char *name, const void *data, size_t len)
{
    void *dst = lc_ckpt_add_space(w, name, len);
    if (dst && len)
        memcpy(dst, data, len);
}

lc_status lc_ckpt_writer_finish(lc_ckpt_writer *w)
{
    if (w->oom || !w->buf)
        return lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory (or a bad section name) while "
                       "building the file");
    uint8_t *h = w->buf;
    memcpy(h, LC_CKPT_MAGIC, 8);
    put_u32(h + 8, w->version ? w->version : LC_CKPT_VERSION);
    put_u32(h + 12, w->nsections);
    put_u64(h + 16, (uint64_t)(w->len - LC_CKPT_HEADER));
    put_u32(h + 24, lc_crc32c(w->buf + LC_CKPT_HEADER, w->len - LC_CKPT_HEADER));
    put_u32(h + 28, lc_crc32c(h, 28));
    return LC_OK;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return -1;
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

lc_status lc_ckpt_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (!path || snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return lc_fail(LC_ERR_INVALID, "checkpoint: path is too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return lc_fail(LC_ERR_IO, "checkpoint: cannot create '%s': %s", tmp, strerror(errno));
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return lc_fail(LC_ERR_IO, "checkpoint: cannot write '%s': %s", tmp, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return lc_fail(LC_ERR_IO, "checkpoint: cannot fsync '%s': %s", tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return lc_fail(LC_ERR_IO, "checkpoint: cannot close '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return lc_fail(LC_ERR_IO, "checkpoint: cannot rename '%s' to '%s': %s", tmp, path,
                       strerror(e));
    }
    fsync_parent(path); /* best effort: the data itself is already durable */
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */

void lc_ckpt_reader_free(lc_ckpt_reader *r)
{
    free(r->buf);
    free(r->sections);
    memset(r, 0, sizeof *r);
}

lc_status lc_ckpt_parse(uint8_t *buf, size_t len, const char *what, lc_ckpt_reader *r)
{
    memset(r, 0, sizeof *r);
    const char *torn = "it is truncated or corrupt (an interrupted write or a damaged disk); "
                       "resume from another checkpoint";
    if (len < LC_CKPT_HEADER) {
        int magic_ok = len >= 8 && memcmp(buf, LC_CKPT_MAGIC, 8) == 0;
        free(buf);
        if (magic_ok)
            return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: only %zu bytes; %s", what,
                           len, torn);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: not a lightc checkpoint "
                       "(%zu bytes, no header)", what, len);
    }
    if (memcmp(buf, LC_CKPT_MAGIC, 8) != 0) {
        free(buf);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: not a lightc checkpoint "
                       "(bad magic)", what);
    }
    if (get_u32(buf + 28) != lc_crc32c(buf, 28)) {
        free(buf);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: header checksum mismatch; %s",
                       what, torn);
    }
    uint32_t version = get_u32(buf + 8);
    if (version < LC_CKPT_VERSION_MIN || version > LC_CKPT_VERSION) {
        free(buf);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' has format version %u; this lightc (%s) "
                       "reads versions %u to %u%s", what, version, LC_VERSION_STRING,
                       LC_CKPT_VERSION_MIN, LC_CKPT_VERSION,
                       version > LC_CKPT_VERSION ? " (it was written by a newer lightc: upgrade "
                                                   "lightc to load it)" : "");
    }
    uint64_t plen = get_u64(buf + 16);
    if (plen != (uint64_t)(len - LC_CKPT_HEADER)) {
        free(buf);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: %zu payload bytes, the header "
                       "says %llu; %s", what, len - LC_CKPT_HEADER, (unsigned long long)plen, torn);
    }
    if (get_u32(buf + 24) != lc_crc32c(buf + LC_CKPT_HEADER, len - LC_CKPT_HEADER)) {
        free(buf);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: payload checksum (CRC-32C) "
                       "mismatch; %s", what, torn);
    }
    uint32_t n = get_u32(buf + 12);
    lc_ckpt_section *secs = calloc(n ? n : 1, sizeof *secs);
    if (!secs) {
        free(buf);
        return lc_fail(LC_ERR_NOMEM, "checkpoint '%s': out of memory", what);
    }
    size_t off = LC_CKPT_HEADER;
    for (uint32_t i = 0; i < n; i++) {
        /* the CRC matched, so a bad layout here means a writer bug; still
           never read past the end */
        if (len - off < 2)
            goto bad;
        size_t nl = get_u16(buf + off);
        off += 2;
        if (len - off < nl + 8)
            goto bad;
        secs[i].name = (const char *)buf + off;
        secs[i].name_len = nl;
        off += nl;
        uint64_t dl = get_u64(buf + off);
        off += 8;
        if (dl > (uint64_t)(len - off))
            goto bad;
        secs[i].data = buf + off;
        secs[i].len = (size_t)dl;
        off += (size_t)dl;
    }
    if (off != len)
        goto bad;
    r->buf = buf;
    r->len = len;
    r->sections = secs;
    r->nsections = n;
    r->version = version;
    return LC_OK;
bad:
    free(secs);
    free(buf);
    return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is refused: its section table is malformed",
                   what);
}

lc_status lc_ckpt_read(const char *path, lc_ckpt_reader *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f)
        return lc_fail(errno == ENOENT ? LC_ERR_NOT_FOUND : LC_ERR_IO,
                       "cannot open checkpoint '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s' is not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return lc_fail(LC_ERR_NOMEM, "cannot read checkpoint '%s': out of memory (%zu bytes)",
                       path, len);
    }
    size_t got = fread(buf, 1, len, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != len) {
        free(buf);
        return lc_fail(LC_ERR_IO, "cannot read checkpoint '%s'", path);
    }
    return lc_ckpt_parse(buf, len, path, r);
}

const lc_ckpt_section *lc_ckpt_find(const lc_ckpt_reader *r, const char *name)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < r->nsections; i++)
        if (r->sections[i].name_len == nl && memcmp(r->sections[i].name, name, nl) == 0)
            return &r->sections[i];
    return NULL;
}
