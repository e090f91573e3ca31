/*
 * trainer/datamodule.h — the public lc_datamodule (lightc/trainer.h): the
 * train / val / test splits the trainer makes its dataloaders from.
 * Lightning's LightningDataModule, reduced to what an image classifier
 * needs: three lc_dataset views (data.h) and a batch size.
 */
#ifndef LC_TRAINER_DATAMODULE_H
#define LC_TRAINER_DATAMODULE_H

#include "data.h"
#include "lightc/trainer.h"

struct lc_datamodule {
    lc_mnist mnist;      /* the files' arrays (MNIST-format modules) */
    int have_mnist;
    uint8_t *bytes;      /* the copied arrays (lc_datamodule_from_bytes) */
    lc_dataset train, val, test;
    int64_t batch_size;
};

/** The split's dataset, or NULL if the module has none ("train", "val",
 *  "test": enum values below). */
typedef enum lc_split { LC_SPLIT_TRAIN = 0, LC_SPLIT_VAL = 1, LC_SPLIT_TEST = 2 } lc_split;
const lc_dataset *lc_datamodule_split(const lc_datamodule *dm, lc_split split);

#endif
