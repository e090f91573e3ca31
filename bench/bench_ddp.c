/*
 * bench/bench_ddp.c — all-reduce bandwidth of lightc's collectives layer
 * (trainer/dist/dist.h: a non-blocking MPI_Iallreduce completed by the
 * polling loop that watches for failed peers, plus the mean's scaling)
 * against a raw blocking MPI_Allreduce loop on the same buffers, in the
 * same run. Run as ranks: mpiexec -np 2 bench/bench_ddp [--reps N].
 * Prints, on rank 0, per message size: time per call and the algorithm
 * bandwidth (bytes / time) of both, and lightc's overhead.
 * bench/run_ddp_bench runs it together with the trainer's scaling.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/status.h"
#include "trainer/dist/dist.h"

int main(int argc, char **argv)
{
    int reps = 50;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[++i]);
    lc_dist *d = NULL;
    if (lc_dist_init(&d, 600) != LC_OK) {
        fprintf(stderr, "bench_ddp: %s\n", lc_errmsg());
        return 1;
    }
    int rank = lc_dist_rank(d), world = lc_dist_world(d);
    static const size_t sizes[] = {1024, 16384, 262144, 1048576, 4194304, 16777216};
    if (rank == 0) {
        printf("all-reduce (float32, mean), %d ranks, %d calls per size, median of 3 runs\n",
               world, reps);
        printf("%12s  %12s %10s  %12s %10s  %9s\n", "bytes", "raw MPI us", "GB/s", "lightc us",
               "GB/s", "overhead");
    }
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s] / sizeof(float);
        float *buf = malloc(n * sizeof *buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (float)(i % 7);
        double raw[3], ours[3];
        for (int k = 0; k < 3; k++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int r = 0; r < reps; r++) {
                MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                float inv = 1.0f / (float)world; /* the same mean as lightc's */
                for (size_t i = 0; i < n; i++)
                    buf[i] *= inv;
            }
            raw[k] = (MPI_Wtime() - t0) / reps;
            MPI_Barrier(MPI_COMM_WORLD);
            t0 = MPI_Wtime();
            for (int r = 0; r < reps; r++)
                if (lc_dist_allreduce(d, buf, n, LC_DIST_FLOAT, LC_DIST_MEAN) != LC_OK) {
                    fprintf(stderr, "bench_ddp: %s\n", lc_errmsg());
                    return 1;
                }
            ours[k] = (MPI_Wtime() - t0) / reps;
        }
        /* median of three, and every rank reports rank 0's view */
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++) {
                if (raw[b] < raw[a]) { double x = raw[a]; raw[a] = raw[b]; raw[b] = x; }
                if (ours[b] < ours[a]) { double x = ours[a]; ours[a] = ours[b]; ours[b] = x; }
            }
        if (rank == 0)
            printf("%12zu  %12.1f %10.2f  %12.1f %10.2f  %8.1f%%\n", sizes[s], raw[1] * 1e6,
                   (double)sizes[s] / raw[1] / 1e9, ours[1] * 1e6, (double)sizes[s] / ours[1] / 1e9,
                   100.0 * (ours[1] - raw[1]) / raw[1]);
        free(buf);
    }
    lc_dist_free(d);
    return 0;
}
