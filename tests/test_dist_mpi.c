/*
 * tests/test_dist_mpi.c — the collectives layer (trainer/dist/dist.h) on
 * two real MPI ranks: all-reduce sum/mean/max/min on float, double, int32
 * and int64 buffers (also one larger than a message), broadcast from a
 * non-zero root, barrier, gather and gatherv, the figures, and failure:
 * rank 1 raises, rank 0 waiting in an all-reduce must fail fast with a
 * message naming rank 1 and its reason instead of hanging.
 *
 * Run plainly (ctest), it re-runs itself as 2 ranks through mpiexec; a
 * build without MPI skips (77) with a message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lightc/status.h"
#include "trainer/dist/dist.h"

static int failures;
static int g_rank;
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", g_rank, __FILE__, __LINE__,  \
                    #cond);                                                                    \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (!lc_dist_have_mpi()) {
        printf("skip: this lightc was built without MPI (install openmpi-bin libopenmpi-dev)\n");
        return 77;
    }
    if (lc_dist_env_world_size(NULL, NULL) == 0) {
#ifdef LC_MPIEXEC_PATH
        char *args[] = {LC_MPIEXEC_PATH, "--allow-run-as-root", "--oversubscribe", "-np", "2",
                        argv[0], NULL};
        execv(LC_MPIEXEC_PATH, args);
        perror("execv mpiexec");
#endif
        printf("skip: no mpiexec to start 2 ranks\n");
        return 77;
    }
    lc_dist *d = NULL;
    if (lc_dist_init(&d, 60) != LC_OK) {
        fprintf(stderr, "init: %s\n", lc_errmsg());
        return 1;
    }
    int r = lc_dist_rank(d), w = lc_dist_world(d);
    g_rank = r;
    CHECK(w == 2);
    CHECK(lc_dist_local_world(d) == 2 && lc_dist_local_rank(d) == r);
    CHECK(lc_dist_host(d)[0] != 0);

    /* all-reduce: rank r holds r + 1 + i */
    float f[5];
    double x[5];
    int32_t i32[5];
    int64_t i64[5];
    static const lc_dist_op ops[4] = {LC_DIST_SUM, LC_DIST_MEAN, LC_DIST_MAX, LC_DIST_MIN};
    for (int o = 0; o < 4; o++) {
        for (int i = 0; i < 5; i++) {
            f[i] = (float)(r + 1 + i);
            x[i] = r + 1 + i + 0.25;
            i32[i] = r + 1 + i;
            i64[i] = ((int64_t)1 << 40) * (r + 1) + i;
        }
        CHECK(lc_dist_allreduce(d, f, 5, LC_DIST_FLOAT, ops[o]) == LC_OK);
        CHECK(lc_dist_allreduce(d, x, 5, LC_DIST_DOUBLE, ops[o]) == LC_OK);
        if (ops[o] != LC_DIST_MEAN) {
            CHECK(lc_dist_allreduce(d, i32, 5, LC_DIST_INT32, ops[o]) == LC_OK);
            CHECK(lc_dist_allreduce(d, i64, 5, LC_DIST_INT64, ops[o]) == LC_OK);
        } else {
            /* a mean of integers is refused, on every rank alike */
            CHECK(lc_dist_allreduce(d, i32, 5, LC_DIST_INT32, LC_DIST_MEAN) == LC_ERR_INVALID);
        }
        for (int i = 0; i < 5; i++) {
            double lo = 1 + i, hi = 2 + i;
            double want = ops[o] == LC_DIST_SUM ? lo + hi : ops[o] == LC_DIST_MEAN ? (lo + hi) / 2
                          : ops[o] == LC_DIST_MAX ? hi : lo;
            CHECK(f[i] == (float)want);
            CHECK(fabs(x[i] - (want + (ops[o] == LC_DIST_SUM ? 0.5 : 0.25))) < 1e-12);
            if (ops[o] != LC_DIST_MEAN) {
                CHECK(i32[i] == (int32_t)want);
                int64_t a = ((int64_t)1 << 40) + i, b = ((int64_t)1 << 41) + i;
                int64_t w64 = ops[o] == LC_DIST_SUM ? a + b : ops[o] == LC_DIST_MAX ? b : a;
                CHECK(i64[i] == w64);
            }
        }
    }
    /* a gradient-sized buffer (several MB) */
    size_t big = (size_t)3 << 20;
    float *g = malloc(big * sizeof *g);
    for (size_t i = 0; i < big; i++)
        g[i] = (float)(i % 1000) * (r ? 3.0f : 1.0f);
    CHECK(lc_dist_allreduce(d, g, big, LC_DIST_FLOAT, LC_DIST_MEAN) == LC_OK);
    int ok = 1;
    for (size_t i = 0; i < big; i++)
        ok &= g[i] == (float)(i % 1000) * 2.0f;
    CHECK(ok);
    free(g);
    lc_dist_stats s;
    lc_dist_get_stats(d, &s);
    CHECK(s.allreduce_calls == 15 && s.allreduce_bytes >= big * 4);

    /* broadcast from rank 1 */
    char msg[32] = "";
    if (r == 1)
        snprintf(msg, sizeof msg, "from rank one");
    CHECK(lc_dist_broadcast(d, msg, sizeof msg, 1) == LC_OK);
    CHECK(strcmp(msg, "from rank one") == 0);
    CHECK(lc_dist_barrier(d) == LC_OK);

    /* gather and gatherv */
    int32_t mine = 10 + r, all[2] = {0, 0};
    CHECK(lc_dist_gather(d, &mine, sizeof mine, all, 0) == LC_OK);
    if (r == 0)
        CHECK(all[0] == 10 && all[1] == 11);
    const char *blob = r == 0 ? "a" : "bcd";
    void *out = NULL;
    size_t lens[2] = {0, 0};
    CHECK(lc_dist_gatherv(d, blob, strlen(blob), &out, lens, 0) == LC_OK);
    if (r == 0) {
        CHECK(lens[0] == 1 && lens[1] == 3 && out && memcmp(out, "abcd", 4) == 0);
    } else {
        CHECK(out == NULL);
    }
    free(out);

    /* failure: rank 1 raises, rank 0 must not hang in its all-reduce */
    CHECK(lc_dist_barrier(d) == LC_OK);
    if (r == 1) {
        usleep(200000); /* rank 0 is waiting by now */
        lc_dist_raise(d, "training_step: boom");
        CHECK(lc_dist_broken(d));
    } else {
        double v = 1, t0 = now_s();
        lc_status st = lc_dist_allreduce(d, &v, 1, LC_DIST_DOUBLE, LC_DIST_SUM);
        double took = now_s() - t0;
        CHECK(st == LC_ERR_STATE);
        CHECK(strstr(lc_errmsg(), "rank 1") != NULL);
        CHECK(strstr(lc_errmsg(), "boom") != NULL);
        CHECK(took < 10);
        /* broken: later calls fail at once with the same error */
        CHECK(lc_dist_barrier(d) == LC_ERR_STATE && strstr(lc_errmsg(), "boom") != NULL);
        printf("rank 0 stopped %.2f s after waiting: %s\n", took, lc_errmsg());
    }
    lc_dist_free(d);
    if (failures)
        fprintf(stderr, "rank %d: %d check(s) failed\n", r, failures);
    else
        printf("rank %d: ok\n", r);
    return failures ? 1 : 0;
}
