/*
 * cli/train_module.c — the MLP classifier module of `lightc train` (see
 * train_module.h). Its hooks are the C twin of:
 *
 *   def training_step(self, batch, i):
 *       x, y = batch; logits = self.model(x); loss = F.cross_entropy(logits, y)
 *       self.log("train/loss", loss); self.log("train/acc", acc(logits, y))
 *       return loss
 *   def validation_step(self, batch, i): ... self.log("val/loss", ...) ...
 *   def configure_optimizers(self): return {"optimizer": ..., "lr_scheduler": ...}
 */
#include "train_module.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MLP(m) ((cli_mlp_module *)(m))

static lc_status mlp_configure_optimizers(lc_module *m, lc_trainer *t, lc_optimizers *out)
{
    (void)t;
    out->optimizer = MLP(m)->opt.optimizer;
    out->scheduler = MLP(m)->opt.scheduler;
    return LC_OK;
}

/* forward + cross-entropy on a batch; training turns dropout on. */
static lc_status mlp_eval(lc_module *m, lc_trainer *t, const lc_minibatch *b, int training,
                          double *loss, double *acc)
{
    cli_mlp_module *mm = MLP(m);
    const float *logits;
    lc_status st = lc_seq_forward(mm->seq, b->x, b->size, training,
                                  training ? lc_trainer_rng(t) : NULL, &logits);
    int64_t correct = 0;
    if (st == LC_OK)
        st = lc_seq_cross_entropy(mm->seq, b->y, loss, &correct);
    *acc = (double)correct / (double)b->size;
    return st;
}

static lc_status mlp_training_step(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                                   int64_t batch_idx, double *loss)
{
    (void)batch_idx;
    double acc;
    lc_status st = mlp_eval(m, t, b, 1, loss, &acc);
    /* sync_dist: under ddp the logged values are over every rank's samples */
    lc_log_options bar = {.prog_bar = 1, .sync_dist = 1}, plain = {.sync_dist = 1};
    if (st == LC_OK)
        st = lc_log(t, "train/loss", *loss, &bar);
    if (st == LC_OK)
        st = lc_log(t, "train/acc", acc, &plain);
    return st;
}

static lc_status mlp_backward(lc_module *m, lc_trainer *t, double loss_scale)
{
    (void)t;
    return lc_seq_backward(MLP(m)->seq, loss_scale);
}

static lc_status mlp_eval_step(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                               const char *loss_key, const char *acc_key)
{
    double loss, acc;
    lc_status st = mlp_eval(m, t, b, 0, &loss, &acc);
    lc_log_options bar = {.prog_bar = 1, .sync_dist = 1};
    if (st == LC_OK)
        st = lc_log(t, loss_key, loss, &bar);
    if (st == LC_OK)
        st = lc_log(t, acc_key, acc, &bar);
    return st;
}

static lc_status mlp_validation_step(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                                     int64_t batch_idx)
{
    (void)batch_idx;
    return mlp_eval_step(m, t, b, "val/loss", "val/acc");
}

static lc_status mlp_test_step(lc_module *m, lc_trainer *t, const lc_minibatch *b,
                               int64_t batch_idx)
{
    (void)batch_idx;
    return mlp_eval_step(m, t, b, "test/loss", "test/acc");
}

/* save_hyperparameters(): what defines the model, its optimisation and
 * its data — not the trainer's run length, so a resumed run with another
 * --max-epochs keeps the same params. */
static char *mlp_hparams(const cli_mlp_options *o)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "MLP");
    cJSON_AddNumberToObject(model, "in_features", (double)o->in_features);
    cJSON_AddNumberToObject(model, "classes", (double)o->classes);
    cJSON *hid = cJSON_AddArrayToObject(model, "hidden");
    for (size_t i = 0; i < o->n_hidden; i++)
        cJSON_AddItemToArray(hid, cJSON_CreateNumber((double)o->hidden[i]));
    cJSON_AddStringToObject(model, "activation", o->activation == LC_ACT_GELU ? "gelu" : "relu");
    char p[32];
    snprintf(p, sizeof p, "%g", (double)o->dropout); /* 0.2, not 0.200000003 */
    cJSON_AddNumberToObject(model, "dropout", strtod(p, NULL));
    cJSON *opt = cJSON_AddObjectToObject(root, "optimizer");
    const lc_optimizer_spec *os = &o->optimizer;
    cJSON_AddStringToObject(opt, "name", os->name);
    cJSON_AddNumberToObject(opt, "lr", os->lr);
    cJSON_AddNumberToObject(opt, "weight_decay", os->weight_decay);
    if (strcmp(os->name, "SGD") == 0) {
        cJSON_AddNumberToObject(opt, "momentum", os->momentum);
        cJSON_AddBoolToObject(opt, "nesterov", os->nesterov);
    } else {
        cJSON_AddNumberToObject(opt, "beta1", os->beta1);
        cJSON_AddNumberToObject(opt, "beta2", os->beta2);
        cJSON_AddNumberToObject(opt, "eps", os->eps);
    }
    cJSON *sc = cJSON_AddObjectToObject(root, "lr_scheduler");
    const lc_scheduler_spec *ss = &o->scheduler;
    cJSON_AddStringToObject(sc, "name", ss->name ? ss->name : "none");
    if (ss->name) {
        cJSON_AddStringToObject(sc, "interval", ss->interval ? ss->interval : "epoch");
        if (strcmp(ss->name, "StepLR") == 0) {
            cJSON_AddNumberToObject(sc, "step_size", (double)ss->step_size);
            cJSON_AddNumberToObject(sc, "gamma", ss->gamma);
        } else if (strcmp(ss->name, "CosineAnnealingLR") == 0) {
            cJSON_AddNumberToObject(sc, "t_max", (double)ss->t_max);
        }
    }
    cJSON *data = cJSON_AddObjectToObject(root, "data");
    cJSON_AddNumberToObject(data, "batch_size", (double)o->batch_size);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(root, "seed", seed);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

lc_status cli_mlp_module_init(cli_mlp_module *m, const cli_mlp_options *opt)
{
    memset(m, 0, sizeof *m);
    m->opt = *opt;
    lc_status st = lc_seq_mlp(&m->seq, opt->in_features, opt->hidden, opt->n_hidden, opt->classes,
                              opt->activation, opt->dropout, opt->seed);
    if (st != LC_OK)
        return st;
    m->hparams = mlp_hparams(opt);
    lc_module *b = &m->base;
    b->name = "MLP";
    b->self = m;
    b->params = lc_seq_params(m->seq);
    b->hparams_json = m->hparams;
    b->configure_optimizers = mlp_configure_optimizers;
    b->training_step = mlp_training_step;
    b->backward = mlp_backward;
    b->validation_step = mlp_validation_step;
    b->test_step = mlp_test_step;
    return LC_OK;
}

void cli_mlp_module_free(cli_mlp_module *m)
{
    lc_seq_free(m->seq);
    free(m->hparams);
    memset(m, 0, sizeof *m);
}
