/*
 * trainer/datamodule.c — lc_datamodule: MNIST-format files through data.h,
 * or caller-given byte arrays (see datamodule.h).
 */
#include "datamodule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"

#define DM_DEFAULT_BATCH 64

lc_status lc_datamodule_mnist(lc_datamodule **out, const lc_data_options *opt)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_datamodule_mnist: out is NULL");
    *out = NULL;
    lc_datamodule *dm = calloc(1, sizeof *dm);
    if (!dm)
        return lc_fail(LC_ERR_NOMEM, "lc_datamodule_mnist: out of memory");
    lc_mnist_options mo;
    lc_mnist_options_default(&mo);
    if (opt && opt->val_size >= 0)
        mo.val_size = (size_t)opt->val_size;
    lc_status st = lc_mnist_load(&dm->mnist, opt ? opt->dir : NULL, &mo);
    if (st != LC_OK) {
        free(dm);
        return st;
    }
    dm->have_mnist = 1;
    dm->train = dm->mnist.train;
    dm->val = dm->mnist.val;
    dm->test = dm->mnist.test;
    dm->batch_size = opt && opt->batch_size > 0 ? opt->batch_size : DM_DEFAULT_BATCH;
    *out = dm;
    return LC_OK;
}

/* Mean and population std of p/255 over n bytes, from a histogram (exact
 * sums; the same rule as data.h's train-split statistics). */
static void dm_moments(const uint8_t *p, size_t n, double *mean, double *std)
{
    uint64_t hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[p[i]]++;
    double s = 0, s2 = 0;
    for (int v = 0; v < 256; v++) {
        double x = v / 255.0;
        s += (double)hist[v] * x;
        s2 += (double)hist[v] * x * x;
    }
    *mean = n ? s / (double)n : 0;
    double var = n ? s2 / (double)n - *mean * *mean : 0;
    *std = var > 0 ? sqrt(var) : 0;
}

static lc_status dm_check_split(const char *what, const uint8_t *x, const uint8_t *y, size_t n,
                                int num_classes)
{
    if (n == 0)
        return LC_OK;
    if (!x || !y)
        return lc_fail(LC_ERR_INVALID, "lc_datamodule_from_bytes: %s has %zu samples but NULL arrays",
                       what, n);
    for (size_t i = 0; i < n; i++)
        if (y[i] >= num_classes)
            return lc_fail(LC_ERR_INVALID,
                           "lc_datamodule_from_bytes: %s label %zu is %d, not < num_classes %d",
                           what, i, y[i], num_classes);
    return LC_OK;
}

lc_status lc_datamodule_from_bytes(lc_datamodule **out, const uint8_t *train_x,
                                   const uint8_t *train_y, size_t n_train, const uint8_t *val_x,
                                   const uint8_t *val_y, size_t n_val, const uint8_t *test_x,
                                   const uint8_t *test_y, size_t n_test, size_t features,
                                   int num_classes, int64_t batch_size)
{
    if (!out)
        return lc_fail(LC_ERR_INVALID, "lc_datamodule_from_bytes: out is NULL");
    *out = NULL;
    if (n_train == 0 || features == 0 || num_classes < 2 || num_classes > 256)
        return lc_fail(LC_ERR_INVALID,
                       "lc_datamodule_from_bytes: need n_train >= 1, features >= 1 and 2..256 "
                       "classes (got %zu, %zu, %d)",
                       n_train, features, num_classes);
    lc_status st = dm_check_split("train", train_x, train_y, n_train, num_classes);
    if (st == LC_OK)
        st = dm_check_split("val", val_x, val_y, n_val, num_classes);
    if (st == LC_OK)
        st = dm_check_split("test", test_x, test_y, n_test, num_classes);
    if (st != LC_OK)
        return st;
    double mean, std;
    dm_moments(train_x, n_train * features, &mean, &std);
    if (!(std > 0))
        return lc_fail(LC_ERR_INVALID,
                       "lc_datamodule_from_bytes: the train samples are all one value (std 0); "
                       "cannot normalise");
    size_t n = n_train + n_val + n_test;
    lc_datamodule *dm = calloc(1, sizeof *dm);
    uint8_t *b = dm ? malloc(n * (features + 1)) : NULL;
    if (!b) {
        free(dm);
        return lc_fail(LC_ERR_NOMEM, "lc_datamodule_from_bytes: out of memory");
    }
    dm->bytes = b;
    const uint8_t *srcx[3] = {train_x, val_x, test_x}, *srcy[3] = {train_y, val_y, test_y};
    size_t cnt[3] = {n_train, n_val, n_test};
    lc_dataset *dst[3] = {&dm->train, &dm->val, &dm->test};
    uint8_t *labels = b + n * features;
    for (int k = 0; k < 3; k++) {
        lc_dataset *d = dst[k];
        d->n = cnt[k];
        d->rows = 1;
        d->cols = features;
        d->features = features;
        d->num_classes = num_classes;
        d->mean = (float)mean;
        d->std = (float)std;
        if (cnt[k]) {
            memcpy(b, srcx[k], cnt[k] * features);
            memcpy(labels, srcy[k], cnt[k]);
        }
        d->images = b;
        d->labels = labels;
        b += cnt[k] * features;
        labels += cnt[k];
    }
    dm->batch_size = batch_size > 0 ? batch_size : DM_DEFAULT_BATCH;
    *out = dm;
    return LC_OK;
}

const lc_dataset *lc_datamodule_split(const lc_datamodule *dm, lc_split split)
{
    if (!dm)
        return NULL;
    const lc_dataset *d = split == LC_SPLIT_TRAIN ? &dm->train
                        : split == LC_SPLIT_VAL   ? &dm->val
                                                  : &dm->test;
    return d->n > 0 ? d : NULL;
}

int64_t lc_datamodule_features(const lc_datamodule *dm)
{
    return dm ? (int64_t)dm->train.features : -1;
}

int lc_datamodule_classes(const lc_datamodule *dm)
{
    return dm ? dm->train.num_classes : -1;
}

int64_t lc_datamodule_size(const lc_datamodule *dm, const char *split)
{
    if (!dm || !split)
        return -1;
    if (strcmp(split, "train") == 0)
        return (int64_t)dm->train.n;
    if (strcmp(split, "val") == 0)
        return (int64_t)dm->val.n;
    if (strcmp(split, "test") == 0)
        return (int64_t)dm->test.n;
    return -1;
}

void lc_datamodule_free(lc_datamodule *dm)
{
    if (!dm)
        return;
    if (dm->have_mnist)
        lc_mnist_free(&dm->mnist);
    free(dm->bytes);
    free(dm);
}
