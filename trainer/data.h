/*
 * trainer/data.h — image-classification data for the trainer: the IDX
 * reader (MNIST / Fashion-MNIST files, .gz through zlib), the dataset with
 * its train/val/test splits and normalisation, and a dataloader that
 * shuffles deterministically and can resume mid-epoch.
 *
 * Files: <dir>/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (Debian's
 * dataset-fashion-mnist puts them in /usr/share/datasets/fashion-mnist;
 * MNIST uses the same names). Uncompressed files work too (gzread passes
 * them through). Bad magic, dims or sizes, a truncated or corrupt file give
 * LC_ERR_INVALID / LC_ERR_IO, a missing one LC_ERR_NOT_FOUND, each with a
 * message naming the file and the fix; nothing aborts.
 *
 * Splits (deterministic): the LAST val_size (default 5000) samples of the
 * train file are the validation split, the first 60000 - val_size the
 * train split; the t10k files are the test split.
 *
 * Normalisation, as torchvision's ToTensor + Normalize, in float32:
 *     x = (p / 255 - mean) / std        p = the pixel byte
 * By default mean and std are computed on the TRAIN split (not val, not
 * test): the mean and the population standard deviation of p / 255 over all
 * its pixels, exactly (from a 256-bin histogram), so they suit MNIST and
 * Fashion-MNIST alike. For Fashion-MNIST's 55000 train samples this gives
 * about 0.286 and 0.353 (the usual full-train constants are 0.2860,
 * 0.3530). lc_mnist_options can set them instead.
 *
 * Shuffling: the order of epoch e is a Fisher-Yates shuffle of 0..n-1
 * driven by PCG32 (kernels/rng.h) seeded from a hash of (seed, e) alone —
 * never from the previous epoch or the RNG state of the run — so a run
 * resumed at epoch e, batch b sees exactly the batches an uninterrupted run
 * sees. A dataloader position is (epoch, index of the next batch).
 */
#ifndef LC_TRAINER_DATA_H
#define LC_TRAINER_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "lightc/status.h"

#define LC_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* ---- IDX files ---------------------------------------------------------- */

#define LC_IDX_MAX_DIMS 4

/** An unsigned-byte IDX array (type 0x08; other element types are rejected). */
typedef struct lc_idx {
    int ndim;
    uint32_t dims[LC_IDX_MAX_DIMS];
    size_t count;  /* product of dims */
    uint8_t *data; /* count bytes, owned (lc_idx_free) */
} lc_idx;

/** Read an IDX file (gzip or plain). expect_ndim > 0 requires that many
 *  dimensions (1 for labels, 3 for images); 0 accepts 1..LC_IDX_MAX_DIMS.
 *  Rejects: bad magic, unsupported element type, a zero or absurd
 *  dimension, a short file, trailing bytes, a corrupt gzip stream. */
lc_status lc_idx_load(const char *path, int expect_ndim, lc_idx *out);

void lc_idx_free(lc_idx *idx);

/* ---- datasets ----------------------------------------------------------- */

/** One split: a view into lc_mnist's arrays (owns nothing). */
typedef struct lc_dataset {
    const uint8_t *images; /* n * features bytes, sample after sample */
    const uint8_t *labels; /* n class indices < num_classes */
    size_t n;
    size_t rows, cols;     /* 28 x 28 */
    size_t features;       /* rows * cols */
    int num_classes;       /* 10 */
    float mean, std;       /* normalisation the dataloader applies */
} lc_dataset;

typedef struct lc_mnist_options {
    size_t val_size; /* last val_size train samples -> val (default 5000; 0 = no val) */
    double mean;     /* < 0 (default): compute on the train split */
    double std;      /* < 0 (default): compute on the train split; else > 0 */
} lc_mnist_options;

typedef struct lc_mnist {
    lc_idx train_images, train_labels, test_images, test_labels;
    lc_dataset train, val, test;
} lc_mnist;

void lc_mnist_options_default(lc_mnist_options *opt);

/** Load the four files from dir (NULL = LC_FASHION_MNIST_DIR) and make
 *  the splits (opt NULL = defaults). Checks images/labels agree in count,
 *  train and test in image size, labels < 10, val_size < train count. */
lc_status lc_mnist_load(lc_mnist *m, const char *dir, const lc_mnist_options *opt);

void lc_mnist_free(lc_mnist *m);

/* ---- shuffling ---------------------------------------------------------- */

/** order[0..n) <- the permutation of epoch `epoch` for `seed` (see above).
 *  n must fit in 32 bits. */
void lc_data_shuffle(uint32_t *order, size_t n, uint64_t seed, int64_t epoch);

/* ---- dataloader --------------------------------------------------------- */

typedef struct lc_dataloader lc_dataloader;

typedef struct lc_dataloader_options {
    size_t batch_size; /* >= 1; default 64 */
    int shuffle;       /* default 0 (set 1 for train) */
    int drop_last;     /* default 0: the last batch may be smaller */
    uint64_t seed;     /* shuffle seed; default 0 */
} lc_dataloader_options;

/** A batch: valid until the next lc_dataloader_next / _free call. x and y
 *  are memory of the loader's device (host unless lc_dataloader_set_backend
 *  put it on one). */
typedef struct lc_batch {
    float *x;        /* size * features normalised floats, row-major */
    int32_t *y;      /* size labels (int32 for lc_softmax_xent_*) */
    size_t size;     /* samples in this batch (<= batch_size) */
    size_t features; /* values per sample */
    int64_t epoch;   /* the epoch it belongs to */
    size_t index;    /* its batch index in the epoch */
} lc_batch;

/** Where a loader stands: the epoch and the index of the next batch. */
typedef struct lc_data_position {
    int64_t epoch;
    int64_t batch;
} lc_data_position;

void lc_dataloader_options_default(lc_dataloader_options *opt);

/** A loader over ds (which must outlive it), positioned at (0, 0). */
lc_status lc_dataloader_create(lc_dataloader **out, const lc_dataset *ds,
                               const lc_dataloader_options *opt);

void lc_dataloader_free(lc_dataloader *dl);

/** Batches per epoch: ceil(n / batch_size), or floor with drop_last. */
size_t lc_dataloader_num_batches(const lc_dataloader *dl);

/** Samples of the dataset. */
size_t lc_dataloader_num_samples(const lc_dataloader *dl);

/** Start epoch `epoch` (>= 0) at its first batch. */
lc_status lc_dataloader_set_epoch(lc_dataloader *dl, int64_t epoch);

/** Fill *b with the next batch of the current epoch and advance: returns 1,
 *  or 0 when the epoch is exhausted (then call lc_dataloader_set_epoch), or
 *  -1 when the device failed (lc_errmsg says why). */
int lc_dataloader_next(lc_dataloader *dl, lc_batch *b);

/** Make batches on be's device: the dataset (its bytes and normalisation
 *  table) is copied there once, each epoch's order once when the epoch's
 *  first batch is made, and every batch is gathered on the device by the
 *  backend (the same values as the host path, bit for bit). be NULL or a
 *  host backend: host batches (the device copies are freed). Holds a
 *  reference on be while on it. */
lc_status lc_dataloader_set_backend(lc_dataloader *dl, const lc_backend *be);

/** The position (for a checkpoint) and its restore (mid-epoch resume):
 *  epoch >= 0, 0 <= batch <= num_batches. */
lc_data_position lc_dataloader_position(const lc_dataloader *dl);
lc_status lc_dataloader_set_position(lc_dataloader *dl, lc_data_position pos);

/** The sample order of the current epoch (n indices into the dataset). */
const uint32_t *lc_dataloader_order(const lc_dataloader *dl);

#endif
