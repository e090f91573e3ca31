/*
 * tests/helpers/resume_kill.c — a training process killed right after its
 * first checkpoint is declared written, then resumed, for
 * tests/integration/test_resume_after_kill.py (issue 7, defect 2).
 *
 *   resume_kill ROOT first    train; SIGKILL itself in on_checkpoint_saved
 *                             of the first checkpoint (epoch 0, step 16)
 *   resume_kill ROOT resume   fit(ckpt_path="last") to the end (64 steps)
 *
 * The tiny fixture module (tests/support/trainer_fixture.h) logs train/loss
 * and train/acc every step, val/ and epoch metrics at epoch ends, into the
 * sinks sqlite, tensorboard and csv. The hub never flushes on its own clock
 * (flush interval one hour, LIGHTC_TB_FLUSH_SECS one hour): what TensorBoard
 * holds at the kill is exactly what the trainer flushed, so a checkpoint
 * declared written without a flush of the sinks shows as points missing.
 * Exit 0, or 1 with the library's message; "first" never returns normally.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/trainer_fixture.h"
#include "lightc/hub.h"
#include "lightc/trainer.h"

static lc_status kill_on_saved(lc_callback *cb, lc_trainer *t, const char *path)
{
    (void)cb;
    (void)t;
    fprintf(stderr, "resume_kill: %s written; SIGKILL\n", path);
    fflush(stderr);
    raise(SIGKILL);
    return LC_OK;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "first") != 0 && strcmp(argv[2], "resume") != 0)) {
        fprintf(stderr, "usage: resume_kill ROOT first|resume\n");
        return 2;
    }
    const char *root = argv[1];
    int first = strcmp(argv[2], "first") == 0;
    setenv("LIGHTC_TB_FLUSH_SECS", "3600", 1);

    lc_hub_options ho = {0};
    ho.root = root;
    ho.loggers = "sqlite,tensorboard,csv";
    ho.flush_interval_ms = 3600u * 1000u;
    lc_hub *hub = NULL;
    if (lc_hub_open(&hub, &ho) != LC_OK) {
        fprintf(stderr, "resume_kill: %s\n", lc_errmsg());
        return 1;
    }
    lc_trainer_config cfg;
    tf_config(&cfg, root);
    cfg.hub = hub;
    cfg.loggers = NULL;
    cfg.experiment = "exp";
    cfg.name = "run";
    cfg.max_epochs = 4;
    cfg.max_steps = -1;
    cfg.num_sanity_val_steps = 0;

    tf_module tm;
    tf_module_init(&tm, 7);
    lc_datamodule *dm = tf_data(64, 16, 16, 4); /* 16 steps per epoch */
    lc_trainer *t = NULL;
    lc_status st = dm ? lc_trainer_create(&t, &cfg) : LC_ERR_NOMEM;
    if (st == LC_OK && first) {
        static lc_callback killer = {.name = "killer", .on_checkpoint_saved = kill_on_saved};
        st = lc_trainer_add_callback(t, &killer);
    }
    if (st == LC_OK)
        st = lc_trainer_fit(t, &tm.base, dm, first ? NULL : "last");
    if (st != LC_OK)
        fprintf(stderr, "resume_kill: %s\n", lc_errmsg());
    lc_trainer_free(t);
    lc_hub_close(hub, 0);
    lc_datamodule_free(dm);
    tf_module_free(&tm);
    return st == LC_OK ? 0 : 1;
}
