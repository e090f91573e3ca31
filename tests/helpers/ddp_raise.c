/*
 * tests/helpers/ddp_raise.c — one rank of a ddp job whose training_step
 * fails on one rank, for tests/integration/test_train_ddp.py: started as
 * `mpiexec -np 2 ddp_raise ROOT FAILRANK`, rank FAILRANK's training_step
 * returns an error at batch 5; every rank must stop within a bounded time
 * with a message naming that rank, and the run (opened by rank 0) must end
 * failed. Each rank prints "ddp_raise rank R: <status message>" and exits
 * 1 on a failed fit, 0 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/trainer_fixture.h"
#include "lightc/trainer.h"

static int fail_rank;
static lc_status (*inner_step)(lc_module *, lc_trainer *, const lc_minibatch *, int64_t, double *);

static lc_status failing_step(lc_module *m, lc_trainer *t, const lc_minibatch *b, int64_t i,
                              double *loss)
{
    if (lc_trainer_global_rank(t) == fail_rank && lc_trainer_global_step(t) == 5)
        return lc_trainer_fail(LC_ERR_INVALID, "training_step raised on purpose at step 5");
    return inner_step(m, t, b, i, loss);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mpiexec -np 2 ddp_raise ROOT FAILRANK\n");
        return 2;
    }
    fail_rank = atoi(argv[2]);
    lc_trainer_config cfg;
    tf_config(&cfg, argv[1]);
    cfg.strategy = "ddp";
    cfg.experiment = "exp";
    cfg.name = "raise";
    cfg.max_epochs = 50;
    tf_module tm;
    tf_module_init(&tm, 7);
    inner_step = tm.base.training_step;
    tm.base.training_step = failing_step;
    lc_datamodule *dm = tf_data(64, 16, 16, 4);
    lc_trainer *t = NULL;
    lc_status st = dm ? lc_trainer_create(&t, &cfg) : LC_ERR_NOMEM;
    if (st == LC_OK)
        st = lc_trainer_fit(t, &tm.base, dm, NULL);
    printf("ddp_raise rank %d: %s\n", t ? lc_trainer_global_rank(t) : -1,
           st == LC_OK ? "ok" : lc_errmsg());
    fflush(stdout);
    lc_trainer_free(t);
    lc_datamodule_free(dm);
    tf_module_free(&tm);
    return st == LC_OK ? 0 : 1;
}
