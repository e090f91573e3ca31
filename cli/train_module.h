/*
 * cli/train_module.h — the module `lightc train` trains: an MLP classifier
 * (lc_seq) with cross-entropy, logging train/loss and train/acc on_step
 * and val/ and test/ loss and accuracy on_epoch, exactly as a
 * LightningModule would.
 */
#ifndef CLI_TRAIN_MODULE_H
#define CLI_TRAIN_MODULE_H

#include "lightc/trainer.h"

typedef struct cli_mlp_options {
    int64_t in_features, classes;
    int64_t hidden[8];
    size_t n_hidden;
    lc_activation activation;
    float dropout;
    uint64_t seed;
    lc_optimizer_spec optimizer;
    lc_scheduler_spec scheduler;
    int64_t batch_size; /* recorded in the hyperparameters */
} cli_mlp_options;

typedef struct cli_mlp_module {
    lc_module base;      /* first: the trainer sees an lc_module */
    lc_seq *seq;
    cli_mlp_options opt;
    char *hparams;       /* JSON, owned */
} cli_mlp_module;

/* Build the module (the model is initialised from opt->seed). */
lc_status cli_mlp_module_init(cli_mlp_module *m, const cli_mlp_options *opt);
void cli_mlp_module_free(cli_mlp_module *m);

#endif
