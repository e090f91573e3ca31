/*
 * examples/train_mlp.c — your own LightningModule in C: the file to copy.
 *
 * Defines a module (an MLP classifier with its training_step,
 * validation_step, test_step and configure_optimizers), adds two callbacks
 * (keep the best checkpoint by val/acc, stop early when val/loss stalls)
 * and lets the trainer run fit and test. Everything it logs lands in
 * ./runs: `tensorboard --logdir runs`, `lightc runs ls`.
 *
 * Only the public headers are used: lightc/trainer.h (and lightc/hub.h).
 *
 * Usage: train_mlp [--data DIR] [--root DIR] [--epochs N] [--limit-batches N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/trainer.h"

/* ---- the module ----------------------------------------------------------- */

/* Your state lives in your struct; lc_module comes first, so the trainer's
 * lc_module pointer is also a pointer to it. */
typedef struct classifier {
    lc_module base;
    lc_seq *net;   /* 784 -> 256 -> ReLU -> Dropout(0.1) -> 10 */
    double lr;
} classifier;

/* Forward + cross-entropy on a batch; dropout is on only while training. */
static lc_status shared_step(classifier *c, lc_trainer *t, const lc_minibatch *b, int training,
                             double *loss, double *acc)
{
    const float *logits;
    lc_status st = lc_seq_forward(c->net, b->x, b->size, training,
                                  training ? lc_trainer_rng(t) : NULL, &logits);
    int64_t correct = 0;
    if (st == LC_OK)
        st = lc_seq_cross_entropy(c->net, b->y, loss, &correct);
    *acc = (double)correct / (double)b->size;
    return st;
}

static lc_status training_step(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                               int64_t batch_idx, double *loss)
{
    (void)batch_idx;
    double acc;
    lc_status st = shared_step((classifier *)m, t, b, 1, loss, &acc);
    /* self.log: in training_step the default is on_step=True, on_epoch=False */
    if (st == LC_OK)
        st = lc_log(t, "train/loss", *loss, NULL);
    if (st == LC_OK)
        st = lc_log(t, "train/acc", acc, NULL);
    return st;
}

/* C has no autograd: backward adds d(loss * scale)/dparam to the gradients. */
static lc_status backward(lc_module *m, lc_trainer *t, double loss_scale)
{
    (void)t;
    return lc_seq_backward(((classifier *)m)->net, loss_scale);
}

static lc_status validation_step(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                                 int64_t batch_idx)
{
    (void)batch_idx;
    double loss, acc;
    lc_status st = shared_step((classifier *)m, t, b, 0, &loss, &acc);
    /* in validation_step the default is on_epoch=True: a batch-size-weighted mean */
    if (st == LC_OK)
        st = lc_log(t, "val/loss", loss, NULL);
    if (st == LC_OK)
        st = lc_log(t, "val/acc", acc, NULL);
    return st;
}

static lc_status test_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t batch_idx)
{
    (void)batch_idx;
    double loss, acc;
    lc_status st = shared_step((classifier *)m, t, b, 0, &loss, &acc);
    if (st == LC_OK)
        st = lc_log(t, "test/acc", acc, NULL);
    return st;
}

static lc_status configure_optimizers(lc_module *m, lc_trainer *t, lc_optimizers *out)
{
    (void)t;
    lc_status st = lc_optimizer_spec_default(&out->optimizer, "AdamW");
    out->optimizer.lr = ((classifier *)m)->lr;
    /* cosine decay over 3 epochs, stepped at each epoch end */
    if (st == LC_OK)
        st = lc_scheduler_spec_default(&out->scheduler, "CosineAnnealingLR");
    out->scheduler.t_max = 3;
    return st;
}

static lc_status classifier_init(classifier *c, int64_t in, int classes)
{
    memset(c, 0, sizeof *c);
    int64_t hidden[] = {256};
    lc_status st = lc_seq_mlp(&c->net, in, hidden, 1, classes, LC_ACT_RELU, 0.1f, 1234);
    c->lr = 2e-3;
    c->base.name = "Classifier";
    c->base.params = lc_seq_params(c->net);          /* what to optimize and checkpoint */
    c->base.hparams_json = "{\"hidden\": [256], \"dropout\": 0.1, \"lr\": 0.002}";
    c->base.configure_optimizers = configure_optimizers;
    c->base.training_step = training_step;
    c->base.backward = backward;
    c->base.validation_step = validation_step;
    c->base.test_step = test_step;
    return st;
}

/* ---- main: data, trainer, callbacks, fit, test ------------------------------- */

int main(int argc, char **argv)
{
    const char *data = NULL, *root = NULL; /* NULL: $LIGHTC_ROOT, else ./runs */
    int64_t epochs = 3, limit = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--root") && i + 1 < argc) root = argv[++i];
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--limit-batches") && i + 1 < argc) limit = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: train_mlp [--data DIR] [--root DIR] [--epochs N] [--limit-batches N]\n");
            return 2;
        }
    }

    lc_data_options dopt = {.dir = data, .batch_size = 128, .val_size = 5000};
    lc_datamodule *dm = NULL;
    classifier model = {0};
    lc_trainer *trainer = NULL;
    lc_status st = lc_datamodule_mnist(&dm, &dopt);
    if (st == LC_OK)
        st = classifier_init(&model, lc_datamodule_features(dm), lc_datamodule_classes(dm));

    /* Trainer(max_epochs=..., default_root_dir=...) */
    lc_trainer_config cfg;
    lc_trainer_config_default(&cfg);
    cfg.max_epochs = epochs;
    cfg.default_root_dir = root;
    cfg.experiment = "examples";
    if (limit > 0)
        cfg.limit_train_batches = (lc_amount){LC_AMOUNT_COUNT, (double)limit};
    if (st == LC_OK)
        st = lc_trainer_create(&trainer, &cfg);

    /* ModelCheckpoint(monitor="val/acc", mode="max"), EarlyStopping("val/loss") */
    lc_callback *cb;
    lc_checkpoint_options ck;
    lc_checkpoint_options_default(&ck);
    ck.monitor = "val/acc";
    ck.mode = "max";
    ck.filename = "{epoch}-{val/acc:.3f}";
    if (st == LC_OK && (st = lc_callback_model_checkpoint(&cb, &ck)) == LC_OK)
        st = lc_trainer_add_callback(trainer, cb);
    lc_early_stopping_options es;
    lc_early_stopping_options_default(&es);
    es.monitor = "val/loss";
    es.patience = 2;
    if (st == LC_OK && (st = lc_callback_early_stopping(&cb, &es)) == LC_OK)
        st = lc_trainer_add_callback(trainer, cb);

    if (st == LC_OK)
        st = lc_trainer_fit(trainer, &model.base, dm, NULL);
    if (st == LC_OK)
        st = lc_trainer_test(trainer, &model.base, dm);
    double acc;
    if (st == LC_OK && lc_trainer_callback_metric(trainer, "test/acc", &acc) == LC_OK)
        printf("test/acc %.4f (run in %s)\n", acc, lc_trainer_log_dir(trainer));
    if (st != LC_OK)
        fprintf(stderr, "train_mlp: %s\n", lc_errmsg());

    lc_trainer_free(trainer); /* finishes the run */
    lc_seq_free(model.net);
    lc_datamodule_free(dm);
    return st == LC_OK ? 0 : 1;
}
