/*
 * trainer/idx.c — the IDX file reader (MNIST / Fashion-MNIST, gzip through
 * zlib's gzread, which also reads uncompressed files) and the dataset
 * loader that makes the train / val / test splits and the normalisation
 * constants (data.h).
 *
 * IDX layout (big-endian): 2 zero bytes, the element type (0x08 = unsigned
 * byte, the only one these datasets use), the number of dimensions, then
 * one u32 per dimension, then the elements in row-major order.
 */
#include "data.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/status.h"

/* Larger than any real IDX file (MNIST-style data is at most a few hundred
 * MB), small enough that a corrupt header cannot make us allocate wildly. */
#define IDX_MAX_BYTES ((size_t)1 << 32)

#define IDX_FIX_MISSING "install dataset-fashion-mnist (scripts/setup) or point to a directory " \
                        "with the MNIST/Fashion-MNIST .gz files"
#define IDX_FIX_DAMAGED "the file is damaged: reinstall dataset-fashion-mnist (scripts/setup) " \
                        "or download it again"

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

/* zlib's messages start with "<path>: "; the callers name the file already. */
static const char *idx_gz_message(gzFile f, const char *path, int *zerr)
{
    const char *msg = gzerror(f, zerr);
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

/* Read exactly n bytes. Returns LC_OK, or fails with a message naming the
 * file and what was being read (`what`). zlib inflates ahead of the
 * caller, so a corrupt stream may show up while reading an earlier part. */
static lc_status idx_read(gzFile f, const char *path, void *dst, size_t n, const char *what)
{
    unsigned char *p = dst;
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (size_t)1 << 30)
            want = (size_t)1 << 30; /* gzread takes an unsigned int */
        int r = gzread(f, p + got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = idx_gz_message(f, path, &zerr);
            if (zerr == Z_ERRNO)
                return lc_fail(LC_ERR_IO, "data: cannot read '%s': %s", path, strerror(errno));
            return lc_fail(LC_ERR_INVALID, "data: '%s' is corrupt (gzip: %s) — %s", path, msg,
                           IDX_FIX_DAMAGED);
        }
        if (r == 0)
            return lc_fail(LC_ERR_INVALID,
                           "data: '%s' is truncated: the %s needs %zu bytes but only %zu are "
                           "there — %s", path, what, n, got, IDX_FIX_DAMAGED);
        got += (size_t)r;
    }
    return LC_OK;
}

static uint32_t idx_be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static lc_status idx_parse(gzFile f, const char *path, int expect_ndim, lc_idx *out)
{
    unsigned char head[4];
    lc_status st = idx_read(f, path, head, 4, "IDX header");
    if (st != LC_OK)
        return st;
    if (head[0] != 0 || head[1] != 0)
        return lc_fail(LC_ERR_INVALID,
                       "data: '%s' is not an IDX file (magic %02x %02x %02x %02x; IDX files start "
                       "with 00 00) — %s", path, head[0], head[1], head[2], head[3],
                       IDX_FIX_DAMAGED);
    if (head[2] != 0x08)
        return lc_fail(LC_ERR_INVALID,
                       "data: '%s' has IDX element type 0x%02x; only unsigned bytes (0x08, as in "
                       "MNIST and Fashion-MNIST) are supported", path, head[2]);
    int ndim = head[3];
    if (ndim < 1 || ndim > LC_IDX_MAX_DIMS || (expect_ndim > 0 && ndim != expect_ndim))
        return lc_fail(LC_ERR_INVALID,
                       "data: '%s' has %d dimensions, expected %d (%s) — is it the right file?",
                       path, ndim, expect_ndim > 0 ? expect_ndim : LC_IDX_MAX_DIMS,
                       expect_ndim == 1 ? "labels" : expect_ndim == 3 ? "images" : "at most");

    unsigned char dims[4 * LC_IDX_MAX_DIMS];
    if ((st = idx_read(f, path, dims, 4 * (size_t)ndim, "IDX dimensions")) != LC_OK)
        return st;
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        uint32_t v = idx_be32(dims + 4 * d);
        if (v == 0)
            return lc_fail(LC_ERR_INVALID, "data: '%s': dimension %d is 0 — %s", path, d,
                           IDX_FIX_DAMAGED);
        if (v > IDX_MAX_BYTES / count)
            return lc_fail(LC_ERR_INVALID,
                           "data: '%s': dimensions too large (corrupt header?) — %s", path,
                           IDX_FIX_DAMAGED);
        count *= v;
        out->dims[d] = v;
    }
    out->ndim = ndim;
    out->count = count;
    out->data = malloc(count);
    if (!out->data)
        return lc_fail(LC_ERR_NOMEM, "data: '%s': out of memory for %zu bytes", path, count);
    if ((st = idx_read(f, path, out->data, count, "data")) != LC_OK)
        return st;

    /* Nothing may follow the data. The extra read also makes zlib check the
     * gzip trailer (CRC-32 and length), so a corrupt stream shows here. */
    unsigned char extra;
    int r = gzread(f, &extra, 1);
    if (r < 0) {
        int zerr;
        const char *msg = idx_gz_message(f, path, &zerr);
        return lc_fail(LC_ERR_INVALID, "data: '%s' is corrupt (gzip: %s) — %s", path, msg,
                       IDX_FIX_DAMAGED);
    }
    if (r > 0)
        return lc_fail(LC_ERR_INVALID,
                       "data: '%s' has bytes after the %zu elements its header announces — %s",
                       path, count, IDX_FIX_DAMAGED);
    return LC_OK;
}

lc_status lc_idx_load(const char *path, int expect_ndim, lc_idx *out)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "data: lc_idx_load needs an output");
    memset(out, 0, sizeof *out);
    if (!path || !path[0])
        return lc_fail(LC_ERR_INVALID, "data: no IDX file path given");
    if (expect_ndim < 0 || expect_ndim > LC_IDX_MAX_DIMS)
        return lc_fail(LC_ERR_INVALID, "data: expected dimensions %d out of range", expect_ndim);
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return lc_fail(LC_ERR_NOT_FOUND, "data: '%s' does not exist — %s", path,
                           IDX_FIX_MISSING);
        return lc_fail(LC_ERR_IO, "data: cannot open '%s': %s", path,
                       e ? strerror(e) : "out of memory");
    }
    gzbuffer(f, 1 << 17);
    lc_status st = idx_parse(f, path, expect_ndim, out);
    int zr = gzclose(f);
    /* A stream cut inside its 8-byte trailer reads to the end without an
     * error; only gzclose reports it (Z_BUF_ERROR). */
    if (st == LC_OK && zr != Z_OK)
        st = lc_fail(LC_ERR_INVALID, "data: '%s' is corrupt (gzip: %s) — %s", path,
                     zr == Z_BUF_ERROR ? "the stream is cut short" : "error on close",
                     IDX_FIX_DAMAGED);
    if (st != LC_OK)
        lc_idx_free(out);
    return st;
}

void lc_idx_free(lc_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* ------------------------------------------------------------------------ */
/* MNIST-style datasets                                                      */

#define MNIST_CLASSES 10

void lc_mnist_options_default(lc_mnist_options *opt)
{
    opt->val_size = 5000;
    opt->mean = -1.0;
    opt->std = -1.0;
}

static lc_status mnist_file(const char *dir, const char *name, int ndim, lc_idx *out)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return lc_fail(LC_ERR_INVALID, "data: directory path too long: '%.80s...'", dir);
    return lc_idx_load(path, ndim, out);
}

/* Images and labels of one file pair must agree; labels must be classes. */
static lc_status mnist_check_pair(const char *dir, const char *what, const lc_idx *img,
                                  const lc_idx *lab)
{
    if (img->dims[0] != lab->dims[0])
        return lc_fail(LC_ERR_INVALID,
                       "data: %s/%s has %u images but %u labels — the files do not belong "
                       "together; reinstall dataset-fashion-mnist (scripts/setup)",
                       dir, what, img->dims[0], lab->dims[0]);
    for (size_t i = 0; i < lab->count; i++)
        if (lab->data[i] >= MNIST_CLASSES)
            return lc_fail(LC_ERR_INVALID,
                           "data: %s/%s labels: label %u at index %zu is not a class 0..%d — "
                           "the file is damaged or not MNIST-style", dir, what, lab->data[i], i,
                           MNIST_CLASSES - 1);
    return LC_OK;
}

/* Mean and population std of p / 255 over n bytes, exactly from a
 * 256-bin histogram (the order of summation cannot matter). */
static void mnist_moments(const uint8_t *p, size_t n, double *mean, double *std)
{
    uint64_t hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[p[i]]++;
    double sum = 0.0;
    for (int v = 0; v < 256; v++)
        sum += (double)hist[v] * (v / 255.0);
    double m = sum / (double)n, var = 0.0;
    for (int v = 0; v < 256; v++) {
        double d = v / 255.0 - m;
        var += (double)hist[v] * d * d;
    }
    *mean = m;
    *std = sqrt(var / (double)n);
}

static void mnist_split(lc_dataset *ds, const lc_idx *img, const lc_idx *lab, size_t first,
                        size_t n)
{
    ds->rows = img->dims[1];
    ds->cols = img->dims[2];
    ds->features = ds->rows * ds->cols;
    ds->images = img->data + first * ds->features;
    ds->labels = lab->data + first;
    ds->n = n;
    ds->num_classes = MNIST_CLASSES;
}

lc_status lc_mnist_load(lc_mnist *m, const char *dir, const lc_mnist_options *opt)
{
    if (!m)
        return lc_fail(LC_ERR_INVALID, "data: lc_mnist_load needs an output");
    memset(m, 0, sizeof *m);
    lc_mnist_options def;
    if (!opt) {
        lc_mnist_options_default(&def);
        opt = &def;
    }
    if (!dir)
        dir = LC_FASHION_MNIST_DIR;
    if (opt->std >= 0.0 && !(opt->std > 0.0))
        return lc_fail(LC_ERR_INVALID, "data: normalisation std must be > 0 (or < 0 to compute it)");

    lc_status st;
    if ((st = mnist_file(dir, "train-images-idx3-ubyte.gz", 3, &m->train_images)) != LC_OK ||
        (st = mnist_file(dir, "train-labels-idx1-ubyte.gz", 1, &m->train_labels)) != LC_OK ||
        (st = mnist_file(dir, "t10k-images-idx3-ubyte.gz", 3, &m->test_images)) != LC_OK ||
        (st = mnist_file(dir, "t10k-labels-idx1-ubyte.gz", 1, &m->test_labels)) != LC_OK ||
        (st = mnist_check_pair(dir, "train-*", &m->train_images, &m->train_labels)) != LC_OK ||
        (st = mnist_check_pair(dir, "t10k-*", &m->test_images, &m->test_labels)) != LC_OK)
        goto fail;
    if (m->train_images.dims[1] != m->test_images.dims[1] ||
        m->train_images.dims[2] != m->test_images.dims[2]) {
        st = lc_fail(LC_ERR_INVALID, "data: %s: train images are %ux%u but test images %ux%u",
                     dir, m->train_images.dims[1], m->train_images.dims[2],
                     m->test_images.dims[1], m->test_images.dims[2]);
        goto fail;
    }
    size_t total = m->train_images.dims[0];
    if (opt->val_size >= total) {
        st = lc_fail(LC_ERR_INVALID,
                     "data: val_size %zu leaves no training samples (the train file has %zu)",
                     opt->val_size, total);
        goto fail;
    }
    size_t ntrain = total - opt->val_size;
    mnist_split(&m->train, &m->train_images, &m->train_labels, 0, ntrain);
    mnist_split(&m->val, &m->train_images, &m->train_labels, ntrain, opt->val_size);
    mnist_split(&m->test, &m->test_images, &m->test_labels, 0, m->test_images.dims[0]);

    double mean, std;
    mnist_moments(m->train.images, ntrain * m->train.features, &mean, &std);
    if (opt->mean >= 0.0)
        mean = opt->mean;
    if (opt->std > 0.0)
        std = opt->std;
    if (!(std > 0.0)) {
        st = lc_fail(LC_ERR_INVALID,
                     "data: %s: the train images are all one value (std 0); cannot normalise", dir);
        goto fail;
    }
    lc_dataset *splits[3] = {&m->train, &m->val, &m->test};
    for (int i = 0; i < 3; i++) {
        splits[i]->mean = (float)mean;
        splits[i]->std = (float)std;
    }
    return LC_OK;

fail:
    lc_mnist_free(m);
    return st;
}

void lc_mnist_free(lc_mnist *m)
{
    if (!m)
        return;
    lc_idx_free(&m->train_images);
    lc_idx_free(&m->train_labels);
    lc_idx_free(&m->test_images);
    lc_idx_free(&m->test_labels);
    memset(m, 0, sizeof *m);
}
