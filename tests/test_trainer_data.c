/*
 * tests/test_trainer_data.c — the IDX reader, the MNIST-style dataset
 * loader and the dataloader (trainer/data.h).
 *
 * Small IDX files are written by the test itself (gzip through zlib) in a
 * temp dir: good ones, and truncated, corrupt, bad-magic, wrong-type,
 * trailing-byte and missing ones, which must fail with a message naming
 * the file. The real Fashion-MNIST files are checked when installed
 * (dataset-fashion-mnist), skipped visibly otherwise. Shuffling must depend
 * on (seed, epoch) only, and a dataloader restored from a saved position
 * must produce exactly the batches an uninterrupted one does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Writing test files                                                        */

static void be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* An IDX file of ubyte elements: header (with `type`, `ndim`, dims) then
 * `len` data bytes — len may disagree with the dims on purpose. gz = 0
 * writes it uncompressed. */
static void write_idx(const char *path, int gz, unsigned char type, int ndim,
                      const uint32_t *dims, const unsigned char *data, size_t len)
{
    unsigned char head[4 + 4 * 4] = {0, 0, type, (unsigned char)ndim};
    for (int d = 0; d < ndim; d++)
        be32(head + 4 + 4 * d, dims[d]);
    size_t hl = 4 + 4 * (size_t)ndim;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, head, (unsigned)hl), (int)hl);
        if (len)
            assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(head, 1, hl, f), hl);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* Deterministic, poorly compressible bytes (so a gz file has a long deflate
 * body to damage). */
static void fill_bytes(unsigned char *b, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
}

/* A fake MNIST directory: ntrain train and ntest test images of 2x3;
 * pixel j of sample i is 10 + 6 i + j (unique per sample), label i % 10. */
enum { ROWS = 2, COLS = 3, FEAT = ROWS * COLS };

static void write_fake_mnist(const char *dir, uint32_t ntrain, uint32_t ntest)
{
    unsigned char img[64 * FEAT], lab[64];
    for (uint32_t i = 0; i < 64; i++) {
        for (int j = 0; j < FEAT; j++)
            img[i * FEAT + j] = (unsigned char)(10 + 6 * i + (uint32_t)j);
        lab[i] = (unsigned char)(i % 10);
    }
    uint32_t d3[3] = {ntrain, ROWS, COLS}, d1[1] = {ntrain};
    write_idx(path_in(dir, "train-images-idx3-ubyte.gz"), 1, 8, 3, d3, img, ntrain * FEAT);
    write_idx(path_in(dir, "train-labels-idx1-ubyte.gz"), 1, 8, 1, d1, lab, ntrain);
    d3[0] = ntest;
    d1[0] = ntest;
    write_idx(path_in(dir, "t10k-images-idx3-ubyte.gz"), 1, 8, 3, d3, img, ntest * FEAT);
    write_idx(path_in(dir, "t10k-labels-idx1-ubyte.gz"), 1, 8, 1, d1, lab, ntest);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    char *s = tu_read_file(path, len);
    assert_non_null(s);
    return (unsigned char *)s;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ------------------------------------------------------------------------ */
/* IDX reader                                                                */

static void test_idx_reads_gz_and_plain(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("idx-ok");
    unsigned char data[5 * 4 * 3];
    fill_bytes(data, sizeof data, 1);
    uint32_t dims[3] = {5, 4, 3};
    write_idx(path_in(dir, "a.gz"), 1, 8, 3, dims, data, sizeof data);
    write_idx(path_in(dir, "a.raw"), 0, 8, 3, dims, data, sizeof data);
    for (int gz = 0; gz < 2; gz++) {
        lc_idx idx;
        assert_int_equal(lc_idx_load(path_in(dir, gz ? "a.gz" : "a.raw"), 3, &idx), LC_OK);
        assert_int_equal(idx.ndim, 3);
        assert_int_equal(idx.dims[0], 5);
        assert_int_equal(idx.dims[1], 4);
        assert_int_equal(idx.dims[2], 3);
        assert_int_equal(idx.count, sizeof data);
        assert_memory_equal(idx.data, data, sizeof data);
        lc_idx_free(&idx);
        assert_null(idx.data);
        lc_idx_free(&idx);
    }
    /* expect_ndim 0 takes any rank; a 1-D file is rejected as images. */
    uint32_t d1[1] = {7};
    write_idx(path_in(dir, "l.gz"), 1, 8, 1, d1, data, 7);
    lc_idx idx;
    assert_int_equal(lc_idx_load(path_in(dir, "l.gz"), 0, &idx), LC_OK);
    assert_int_equal(idx.ndim, 1);
    assert_int_equal(idx.count, 7);
    lc_idx_free(&idx);
    assert_int_equal(lc_idx_load(path_in(dir, "l.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "l.gz"));
    assert_non_null(strstr(lc_errmsg(), "1 dimensions, expected 3"));
    assert_null(idx.data);
}

static void test_idx_missing_file(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("idx-missing");
    lc_idx idx;
    assert_int_equal(lc_idx_load(path_in(dir, "nope.gz"), 1, &idx), LC_ERR_NOT_FOUND);
    assert_non_null(strstr(lc_errmsg(), "nope.gz"));
    assert_non_null(strstr(lc_errmsg(), "install dataset-fashion-mnist (scripts/setup)"));
    assert_int_equal(lc_idx_load(NULL, 1, &idx), LC_ERR_INVALID);
    assert_int_equal(lc_idx_load(path_in(dir, "x"), 9, &idx), LC_ERR_INVALID);
}

static void test_idx_bad_header(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("idx-header");
    unsigned char data[24];
    fill_bytes(data, sizeof data, 2);
    uint32_t dims[3] = {2, 3, 4};
    lc_idx idx;

    /* Bad magic: not starting with 00 00 (e.g. a text file). */
    spit(path_in(dir, "text.gz"), (const unsigned char *)"hello, world\n", 13);
    assert_int_equal(lc_idx_load(path_in(dir, "text.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "not an IDX file"));
    assert_non_null(strstr(lc_errmsg(), "text.gz"));

    /* Element type 0x0D (float) is not supported. */
    write_idx(path_in(dir, "float.gz"), 1, 0x0D, 3, dims, data, sizeof data);
    assert_int_equal(lc_idx_load(path_in(dir, "float.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "0x0d"));

    /* A zero dimension; an absurd size; no dimensions at all. */
    uint32_t zero[3] = {2, 0, 4}, huge[3] = {0xffffffffu, 0xffffffffu, 16};
    write_idx(path_in(dir, "zero.gz"), 1, 8, 3, zero, data, 0);
    assert_int_equal(lc_idx_load(path_in(dir, "zero.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "dimension 1 is 0"));
    write_idx(path_in(dir, "huge.gz"), 1, 8, 3, huge, data, sizeof data);
    assert_int_equal(lc_idx_load(path_in(dir, "huge.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "too large"));
    write_idx(path_in(dir, "nodim.gz"), 1, 8, 0, dims, data, 0);
    assert_int_equal(lc_idx_load(path_in(dir, "nodim.gz"), 0, &idx), LC_ERR_INVALID);

    /* Header cut short: empty file, and 6 of the 16 header bytes. */
    spit(path_in(dir, "empty.gz"), data, 0);
    assert_int_equal(lc_idx_load(path_in(dir, "empty.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "truncated"));
    unsigned char shorthead[6] = {0, 0, 8, 3, 0, 0};
    spit(path_in(dir, "shorthead"), shorthead, sizeof shorthead);
    assert_int_equal(lc_idx_load(path_in(dir, "shorthead"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "dimensions"));
    assert_null(idx.data);
}

static void test_idx_truncated_and_trailing(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("idx-size");
    unsigned char data[5 * 4 * 4];
    fill_bytes(data, sizeof data, 3);
    uint32_t dims[3] = {5, 4, 4};
    lc_idx idx;
    /* The header announces 80 bytes; the (well-formed) gz stream holds 50. */
    write_idx(path_in(dir, "short.gz"), 1, 8, 3, dims, data, 50);
    assert_int_equal(lc_idx_load(path_in(dir, "short.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "short.gz"));
    assert_non_null(strstr(lc_errmsg(), "truncated"));
    assert_non_null(strstr(lc_errmsg(), "only 50 are there"));
    assert_null(idx.data);
    /* 81 bytes: one too many. */
    unsigned char more[81];
    memcpy(more, data, 80);
    more[80] = 1;
    write_idx(path_in(dir, "long.gz"), 1, 8, 3, dims, more, sizeof more);
    assert_int_equal(lc_idx_load(path_in(dir, "long.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "bytes after"));
}

static void test_idx_damaged_gzip(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("idx-gz");
    enum { N = 40, R = 28, C = 28 };
    unsigned char *data = malloc(N * R * C);
    fill_bytes(data, N * R * C, 4);
    uint32_t dims[3] = {N, R, C};
    char good[512]; /* path_in's buffers rotate: keep a copy */
    snprintf(good, sizeof good, "%s", path_in(dir, "good.gz"));
    write_idx(good, 1, 8, 3, dims, data, N * R * C);
    size_t len;
    unsigned char *gz = slurp(good, &len);
    assert_true(len > 1000);
    lc_idx idx;

    /* The compressed file cut in half, and cut just before its 8-byte
     * trailer (all data present, CRC missing). */
    spit(path_in(dir, "half.gz"), gz, len / 2);
    assert_int_equal(lc_idx_load(path_in(dir, "half.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "half.gz"));
    assert_non_null(strstr(lc_errmsg(), "damaged"));
    spit(path_in(dir, "notrailer.gz"), gz, len - 8);
    assert_int_equal(lc_idx_load(path_in(dir, "notrailer.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "notrailer.gz"));

    /* Bytes flipped inside the deflate body; and a wrong CRC-32 in the trailer. */
    unsigned char *bad = malloc(len);
    memcpy(bad, gz, len);
    for (size_t i = len / 3; i < len / 3 + 16; i++)
        bad[i] ^= 0x5a;
    spit(path_in(dir, "flipped.gz"), bad, len);
    assert_int_not_equal(lc_idx_load(path_in(dir, "flipped.gz"), 3, &idx), LC_OK);
    assert_non_null(strstr(lc_errmsg(), "flipped.gz"));
    assert_null(idx.data);
    memcpy(bad, gz, len);
    bad[len - 8] ^= 0xff;
    spit(path_in(dir, "crc.gz"), bad, len);
    assert_int_equal(lc_idx_load(path_in(dir, "crc.gz"), 3, &idx), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "crc.gz"));

    /* The intact file still reads. */
    assert_int_equal(lc_idx_load(good, 3, &idx), LC_OK);
    assert_memory_equal(idx.data, data, N * R * C);
    lc_idx_free(&idx);
    free(bad);
    free(gz);
    free(data);
}

/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */

static void test_mnist_fake_splits_and_norm(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("mnist-fake");
    write_fake_mnist(dir, 12, 4);
    lc_mnist_options opt;
    lc_mnist_options_default(&opt);
    assert_int_equal(opt.val_size, 5000);
    opt.val_size = 4;
    lc_mnist m;
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_OK);
    assert_int_equal(m.train.n, 8);
    assert_int_equal(m.val.n, 4);
    assert_int_equal(m.test.n, 4);
    assert_int_equal(m.train.rows, ROWS);
    assert_int_equal(m.train.cols, COLS);
    assert_int_equal(m.train.features, FEAT);
    assert_int_equal(m.train.num_classes, 10);
    /* val = the LAST 4 train samples: sample 8 first. */
    assert_int_equal(m.val.images[0], 10 + 6 * 8);
    assert_int_equal(m.val.labels[0], 8);
    assert_int_equal(m.train.images[0], 10);
    assert_int_equal(m.test.labels[3], 3);

    /* mean / std of p / 255 over the 8 train samples only (48 values
     * 10..57), computed directly here. */
    double sum = 0, sq = 0;
    for (int p = 10; p < 58; p++)
        sum += p / 255.0;
    double mean = sum / 48;
    for (int p = 10; p < 58; p++)
        sq += (p / 255.0 - mean) * (p / 255.0 - mean);
    double std = sqrt(sq / 48);
    assert_true(fabs(m.train.mean - mean) < 1e-7);
    assert_true(fabs(m.train.std - std) < 1e-7);
    assert_true(m.val.mean == m.train.mean && m.test.std == m.train.std);
    lc_mnist_free(&m);

    /* Given constants are used as they are. */
    opt.mean = 0.5;
    opt.std = 0.25;
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_OK);
    assert_true(m.train.mean == 0.5f && m.test.std == 0.25f);
    lc_mnist_free(&m);
    opt.std = 0.0;
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_ERR_INVALID);

    /* val_size must leave training samples. */
    lc_mnist_options_default(&opt);
    opt.val_size = 12;
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "val_size"));
    opt.val_size = 0;
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_OK);
    assert_int_equal(m.val.n, 0);
    assert_int_equal(m.train.n, 12);
    lc_mnist_free(&m);
    lc_mnist_free(&m);
}

static void test_mnist_inconsistent_files(void **state)
{
    (void)state;
    lc_mnist m;
    lc_mnist_options opt;
    lc_mnist_options_default(&opt);
    opt.val_size = 2;

    /* Missing directory. */
    const char *dir = tu_tmpdir("mnist-bad");
    assert_int_equal(lc_mnist_load(&m, path_in(dir, "none"), &opt), LC_ERR_NOT_FOUND);
    assert_non_null(strstr(lc_errmsg(), "train-images-idx3-ubyte.gz"));
    assert_non_null(strstr(lc_errmsg(), "dataset-fashion-mnist"));

    /* Label 10 is not a class. */
    write_fake_mnist(dir, 6, 3);
    unsigned char lab[6] = {0, 1, 2, 10, 4, 5};
    uint32_t d1[1] = {6};
    write_idx(path_in(dir, "train-labels-idx1-ubyte.gz"), 1, 8, 1, d1, lab, 6);
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "label 10 at index 3"));

    /* 6 images, 5 labels. */
    d1[0] = 5;
    lab[3] = 3;
    write_idx(path_in(dir, "train-labels-idx1-ubyte.gz"), 1, 8, 1, d1, lab, 5);
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "6 images but 5 labels"));

    /* Test images of another size. */
    write_fake_mnist(dir, 6, 3);
    unsigned char img[3 * 9] = {0};
    uint32_t d3[3] = {3, 3, 3};
    write_idx(path_in(dir, "t10k-images-idx3-ubyte.gz"), 1, 8, 3, d3, img, sizeof img);
    assert_int_equal(lc_mnist_load(&m, dir, &opt), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "2x3 but test images 3x3"));
    assert_null(m.train_images.data); /* everything freed on error */
    assert_int_equal(lc_mnist_load(NULL, dir, &opt), LC_ERR_INVALID);
}

static void test_real_fashion_mnist(void **state)
{
    (void)state;
    struct stat st;
    char probe[512];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", LC_FASHION_MNIST_DIR);
    if (stat(probe, &st) != 0) {
        print_message("SKIP: %s not found (install dataset-fashion-mnist: scripts/setup)\n",
                      probe);
        skip();
    }
    lc_mnist m;
    assert_int_equal(lc_mnist_load(&m, NULL, NULL), LC_OK);
    assert_int_equal(m.train_images.dims[0], 60000);
    assert_int_equal(m.test_images.dims[0], 10000);
    assert_int_equal(m.train.n, 55000);
    assert_int_equal(m.val.n, 5000);
    assert_int_equal(m.test.n, 10000);
    assert_int_equal(m.train.rows, 28);
    assert_int_equal(m.train.cols, 28);
    assert_int_equal(m.test.features, 784);
    int seen[10] = {0};
    for (size_t i = 0; i < 60000; i++) {
        assert_true(m.train_labels.data[i] < 10);
        seen[m.train_labels.data[i]]++;
    }
    for (size_t i = 0; i < 10000; i++)
        assert_true(m.test_labels.data[i] < 10);
    for (int c = 0; c < 10; c++)
        assert_int_equal(seen[c], 6000); /* Fashion-MNIST is balanced */
    /* The published full-train constants are 0.2860 / 0.3530. */
    assert_true(fabs(m.train.mean - 0.2860) < 0.005);
    assert_true(fabs(m.train.std - 0.3530) < 0.005);

    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    o.shuffle = 1;
    o.seed = 7;
    lc_dataloader *dl;
    assert_int_equal(lc_dataloader_create(&dl, &m.train, &o), LC_OK);
    assert_int_equal(lc_dataloader_num_batches(dl), (55000 + 63) / 64);
    lc_batch b;
    assert_int_equal(lc_dataloader_next(dl, &b), 1);
    assert_int_equal(b.size, 64);
    assert_int_equal(b.features, 784);
    float lo = (0.0f - m.train.mean) / m.train.std, hi = (1.0f - m.train.mean) / m.train.std;
    for (size_t i = 0; i < b.size * b.features; i++)
        assert_true(b.x[i] >= lo - 1e-6f && b.x[i] <= hi + 1e-6f);
    lc_dataloader_free(dl);
    lc_mnist_free(&m);
}

/* ------------------------------------------------------------------------ */
/* Shuffling                                                                 */

static void test_shuffle_determinism(void **state)
{
    (void)state;
    enum { N = 1000 };
    static uint32_t a[N], b[N], c[N], d[N];
    lc_data_shuffle(a, N, 42, 3);
    lc_data_shuffle(b, N, 42, 3);
    assert_memory_equal(a, b, sizeof a); /* same (seed, epoch): same order */
    lc_data_shuffle(c, N, 42, 4);
    assert_true(memcmp(a, c, sizeof a) != 0); /* next epoch: another order */
    lc_data_shuffle(d, N, 43, 3);
    assert_true(memcmp(a, d, sizeof a) != 0); /* another seed: another order */

    /* A permutation: every index exactly once, and not the identity. */
    static unsigned char hit[N];
    memset(hit, 0, sizeof hit);
    size_t fixed = 0;
    for (size_t i = 0; i < N; i++) {
        assert_true(a[i] < N);
        assert_int_equal(hit[a[i]], 0);
        hit[a[i]] = 1;
        fixed += a[i] == i;
    }
    assert_true(fixed < 20); /* a uniform shuffle fixes ~1 point */

    /* Epoch e's order does not depend on what ran before. */
    for (int64_t e = 0; e < 5; e++)
        lc_data_shuffle(b, N, 42, e);
    lc_data_shuffle(b, N, 42, 3);
    assert_memory_equal(a, b, sizeof a);

    uint32_t one[1] = {99};
    lc_data_shuffle(one, 1, 1, 1);
    assert_int_equal(one[0], 0);
    lc_data_shuffle(NULL, 0, 1, 1);
}

/* ------------------------------------------------------------------------ */
/* Dataloader                                                                */

typedef struct seen_batch {
    size_t size;
    float x[4 * FEAT];
    int32_t y[4];
} seen_batch;

static void test_dataloader_batches(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("loader");
    write_fake_mnist(dir, 14, 4);
    lc_mnist_options mo;
    lc_mnist_options_default(&mo);
    mo.val_size = 4; /* train: 10 samples */
    lc_mnist m;
    assert_int_equal(lc_mnist_load(&m, dir, &mo), LC_OK);

    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    assert_int_equal(o.batch_size, 64);
    assert_int_equal(o.drop_last, 0);
    o.batch_size = 4;
    lc_dataloader *dl;
    assert_int_equal(lc_dataloader_create(&dl, &m.train, &o), LC_OK);
    assert_int_equal(lc_dataloader_num_batches(dl), 3);
    assert_int_equal(lc_dataloader_num_samples(dl), 10);

    /* No shuffle: samples in file order, last batch 2; exact normalisation. */
    lc_batch b;
    size_t sizes[3];
    for (int k = 0; k < 3; k++) {
        assert_int_equal(lc_dataloader_next(dl, &b), 1);
        assert_int_equal(b.index, k);
        assert_int_equal(b.epoch, 0);
        sizes[k] = b.size;
        for (size_t i = 0; i < b.size; i++) {
            size_t s = 4 * (size_t)k + i;
            assert_int_equal(b.y[i], (int32_t)(s % 10));
            for (int j = 0; j < FEAT; j++) {
                float v = (float)(10 + 6 * s + (size_t)j) / 255.0f;
                assert_true(b.x[i * FEAT + (size_t)j] == (v - m.train.mean) / m.train.std);
            }
        }
    }
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[2], 2);
    assert_int_equal(lc_dataloader_next(dl, &b), 0); /* epoch over */
    lc_data_position pos = lc_dataloader_position(dl);
    assert_int_equal(pos.epoch, 0);
    assert_int_equal(pos.batch, 3);
    assert_int_equal(lc_dataloader_set_epoch(dl, 1), LC_OK);
    assert_int_equal(lc_dataloader_next(dl, &b), 1);
    assert_int_equal(b.epoch, 1);
    lc_dataloader_free(dl);

    /* drop_last: 2 full batches. */
    o.drop_last = 1;
    assert_int_equal(lc_dataloader_create(&dl, &m.train, &o), LC_OK);
    assert_int_equal(lc_dataloader_num_batches(dl), 2);
    int n = 0;
    while (lc_dataloader_next(dl, &b)) {
        assert_int_equal(b.size, 4);
        n++;
    }
    assert_int_equal(n, 2);
    lc_dataloader_free(dl);

    /* An empty split (val_size 0 -> no val) yields no batches. */
    lc_dataset empty = m.val;
    empty.n = 0;
    o.drop_last = 0;
    assert_int_equal(lc_dataloader_create(&dl, &empty, &o), LC_OK);
    assert_int_equal(lc_dataloader_num_batches(dl), 0);
    assert_int_equal(lc_dataloader_next(dl, &b), 0);
    lc_dataloader_free(dl);
    lc_mnist_free(&m);
}

/* Record every batch of epochs [e0, e1) from the loader's position on. */
static size_t record(lc_dataloader *dl, int64_t e1, seen_batch *out)
{
    size_t k = 0;
    lc_batch b;
    for (;;) {
        while (lc_dataloader_next(dl, &b)) {
            out[k].size = b.size;
            memcpy(out[k].x, b.x, b.size * b.features * sizeof(float));
            memcpy(out[k].y, b.y, b.size * sizeof(int32_t));
            k++;
        }
        lc_data_position p = lc_dataloader_position(dl);
        if (p.epoch + 1 >= e1)
            return k;
        assert_int_equal(lc_dataloader_set_epoch(dl, p.epoch + 1), LC_OK);
    }
}

static void test_dataloader_shuffle_and_resume(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("loader-resume");
    write_fake_mnist(dir, 11, 2);
    lc_mnist_options mo;
    lc_mnist_options_default(&mo);
    mo.val_size = 1; /* train: 10 samples, 3 batches of <= 4 per epoch */
    lc_mnist m;
    assert_int_equal(lc_mnist_load(&m, dir, &mo), LC_OK);
    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    o.batch_size = 4;
    o.shuffle = 1;
    o.seed = 1234;

    /* Uninterrupted: epochs 0..3 = 12 batches. */
    static seen_batch full[12], resumed[12];
    lc_dataloader *a;
    assert_int_equal(lc_dataloader_create(&a, &m.train, &o), LC_OK);
    assert_int_equal(record(a, 4, full), 12);

    /* Every epoch covers every sample once, in a shuffled order that
     * changes between epochs. */
    for (int e = 0; e < 4; e++) {
        int hit[10] = {0};
        for (int k = 3 * e; k < 3 * e + 3; k++)
            for (size_t i = 0; i < full[k].size; i++)
                hit[full[k].y[i]]++;
        for (int c = 0; c < 10; c++)
            assert_int_equal(hit[c], 1);
    }
    assert_true(memcmp(full[0].y, full[3].y, sizeof full[0].y) != 0 ||
                memcmp(full[1].y, full[4].y, sizeof full[1].y) != 0);
    int not_identity = 0;
    for (int i = 0; i < 4; i++)
        not_identity |= full[0].y[i] != i;
    assert_true(not_identity);

    /* "Crash" after epoch 1, batch 0: a new loader restored to (1, 1)
     * continues with exactly the batches the first one produced. */
    lc_dataloader *b;
    assert_int_equal(lc_dataloader_create(&b, &m.train, &o), LC_OK);
    lc_data_position pos = {1, 1};
    assert_int_equal(lc_dataloader_set_position(b, pos), LC_OK);
    pos = lc_dataloader_position(b);
    assert_int_equal(pos.epoch, 1);
    assert_int_equal(pos.batch, 1);
    size_t n = record(b, 4, resumed);
    assert_int_equal(n, 8);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(resumed[k].size, full[4 + k].size);
        assert_memory_equal(resumed[k].x, full[4 + k].x, resumed[k].size * FEAT * sizeof(float));
        assert_memory_equal(resumed[k].y, full[4 + k].y, resumed[k].size * sizeof(int32_t));
    }

    /* The order array is the one lc_data_shuffle gives for (seed, epoch). */
    uint32_t expect[10];
    lc_data_shuffle(expect, 10, 1234, 3);
    assert_memory_equal(lc_dataloader_order(b), expect, sizeof expect);

    /* Out-of-range positions are refused and change nothing. */
    lc_data_position bad1 = {0, 4}, bad2 = {-1, 0}, bad3 = {2, -1};
    assert_int_equal(lc_dataloader_set_position(b, bad1), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "batch size"));
    assert_int_equal(lc_dataloader_set_position(b, bad2), LC_ERR_INVALID);
    assert_int_equal(lc_dataloader_set_position(b, bad3), LC_ERR_INVALID);
    assert_int_equal(lc_dataloader_set_epoch(b, -2), LC_ERR_INVALID);
    pos = lc_dataloader_position(b);
    assert_int_equal(pos.epoch, 3);
    assert_int_equal(pos.batch, 3);
    lc_dataloader_free(a);
    lc_dataloader_free(b);
    lc_mnist_free(&m);
}

static void test_dataloader_bad_input(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("loader-bad");
    write_fake_mnist(dir, 6, 2);
    lc_mnist_options mo;
    lc_mnist_options_default(&mo);
    mo.val_size = 1;
    lc_mnist m;
    assert_int_equal(lc_mnist_load(&m, dir, &mo), LC_OK);
    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    lc_dataloader *dl = (lc_dataloader *)&o;
    o.batch_size = 0;
    assert_int_equal(lc_dataloader_create(&dl, &m.train, &o), LC_ERR_INVALID);
    assert_null(dl);
    assert_non_null(strstr(lc_errmsg(), "batch_size"));
    o.batch_size = 2;
    assert_int_equal(lc_dataloader_create(&dl, NULL, &o), LC_ERR_INVALID);
    lc_dataset bad = m.train;
    bad.std = 0.0f;
    assert_int_equal(lc_dataloader_create(&dl, &bad, &o), LC_ERR_INVALID);
    bad = m.train;
    bad.images = NULL;
    assert_int_equal(lc_dataloader_create(&dl, &bad, &o), LC_ERR_INVALID);
    assert_int_equal(lc_dataloader_create(NULL, &m.train, &o), LC_ERR_INVALID);
    /* NULL options = defaults (batch 64: one partial batch of 5). */
    assert_int_equal(lc_dataloader_create(&dl, &m.train, NULL), LC_OK);
    assert_int_equal(lc_dataloader_num_batches(dl), 1);
    lc_batch b;
    assert_int_equal(lc_dataloader_next(dl, NULL), 0);
    assert_int_equal(lc_dataloader_next(dl, &b), 1);
    assert_int_equal(b.size, 5);
    lc_dataloader_free(dl);
    lc_dataloader_free(NULL);
    lc_mnist_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_reads_gz_and_plain),
        cmocka_unit_test(test_idx_missing_file),
        cmocka_unit_test(test_idx_bad_header),
        cmocka_unit_test(test_idx_truncated_and_trailing),
        cmocka_unit_test(test_idx_damaged_gzip),
        cmocka_unit_test(test_mnist_fake_splits_and_norm),
        cmocka_unit_test(test_mnist_inconsistent_files),
        cmocka_unit_test(test_real_fashion_mnist),
        cmocka_unit_test(test_shuffle_determinism),
        cmocka_unit_test(test_dataloader_batches),
        cmocka_unit_test(test_dataloader_shuffle_and_resume),
        cmocka_unit_test(test_dataloader_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
