/*
 * tests/helpers/ddp_midresume.c — a 2-rank ddp job interrupted inside an
 * epoch and resumed, for tests/integration/test_train_ddp.py:
 *
 *   mpiexec -np 2 ddp_midresume ROOT straight   3 epochs, uninterrupted
 *   mpiexec -np 2 ddp_midresume ROOT first      the same, SIGKILLed (rank 0)
 *                                               once a checkpoint past step
 *                                               20 (epoch 1, mid-epoch) is
 *                                               written; mpirun ends rank 1
 *   mpiexec -np 2 ddp_midresume ROOT resume     fit(ckpt_path="last") to the end
 *
 * ModelCheckpoint every 5 training steps (16 per epoch: mid-epoch files),
 * dropout 0.3 (each rank's RNG stream), and a metric whose value differs
 * per rank, logged on_epoch only with sync_dist: its epoch value needs
 * every rank's own running sums, which only the checkpoint's ddp/ranks
 * section carries. Exit 0, or 1 with the library's message.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/trainer_fixture.h"
#include "lightc/trainer.h"

static lc_status per_rank_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i,
                               double *loss)
{
    lc_status st = tf_training_step(m, t, b, i, loss);
    lc_log_options o = {.on_step = LC_LOG_OFF, .on_epoch = LC_LOG_ON, .sync_dist = 1};
    if (st == LC_OK)
        st = lc_log(t, "rank_loss", *loss * (1 + lc_trainer_global_rank(t)), &o);
    return st;
}

static lc_status kill_after(lc_callback *cb, lc_trainer *t, const char *path)
{
    (void)cb;
    if (lc_trainer_global_step(t) > 20) {
        fprintf(stderr, "ddp_midresume: %s written at step %lld; SIGKILL\n", path,
                (long long)lc_trainer_global_step(t));
        fflush(stderr);
        raise(SIGKILL);
    }
    return LC_OK;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mpiexec -np 2 ddp_midresume ROOT straight|first|resume\n");
        return 2;
    }
    const char *mode = argv[2];
    lc_trainer_config cfg;
    tf_config(&cfg, argv[1]);
    cfg.strategy = "ddp";
    cfg.experiment = "exp";
    cfg.name = "mid";
    cfg.max_epochs = 3;
    cfg.enable_checkpointing = 0;
    tf_module tm;
    tf_module_init(&tm, 7);
    lc_seq_free(tm.seq); /* the same MLP with dropout */
    int64_t hidden[1] = {8};
    lc_seq_mlp(&tm.seq, TF_FEATURES, hidden, 1, TF_CLASSES, LC_ACT_RELU, 0.3f, 7);
    tm.base.params = lc_seq_params(tm.seq);
    tm.base.training_step = per_rank_step;
    lc_datamodule *dm = tf_data(128, 16, 16, 4); /* 64 samples, 16 steps per rank and epoch */
    lc_trainer *t = NULL;
    lc_status st = dm ? lc_trainer_create(&t, &cfg) : LC_ERR_NOMEM;
    lc_callback *mc = NULL;
    lc_checkpoint_options o;
    lc_checkpoint_options_default(&o);
    o.every_n_train_steps = 5;
    o.save_top_k = -1;
    o.save_last = 1;
    if (st == LC_OK)
        st = lc_callback_model_checkpoint(&mc, &o);
    if (st == LC_OK)
        st = lc_trainer_add_callback(t, mc);
    if (st == LC_OK && strcmp(mode, "first") == 0 && lc_trainer_global_rank(t) == 0) {
        static lc_callback killer = {.name = "killer", .on_checkpoint_saved = kill_after};
        st = lc_trainer_add_callback(t, &killer);
    }
    if (st == LC_OK)
        st = lc_trainer_fit(t, &tm.base, dm, strcmp(mode, "resume") == 0 ? "last" : NULL);
    if (st != LC_OK)
        fprintf(stderr, "ddp_midresume rank %d: %s\n", t ? lc_trainer_global_rank(t) : -1,
                lc_errmsg());
    lc_trainer_free(t);
    lc_datamodule_free(dm);
    tf_module_free(&tm);
    return st == LC_OK ? 0 : 1;
}
