/*
 * tests/test_cuda_dist_nccl.c — the collectives layer's device half
 * (NCCL, trainer/dist/dist_nccl.c): the communicator from rank 0's
 * ncclUniqueId broadcast over MPI, a grouped mean all-reduce of several
 * float32 device buffers and a device broadcast, checked against host
 * arithmetic. One rank per GPU (NCCL refuses two ranks on one device): 2
 * ranks with 2 GPUs, 1 rank with one. First, on any machine, libnccl must
 * load and have every function lightc calls (it is dlopen'ed, not linked).
 * Then skips (77), saying why, without a GPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda_runtime.h>

#include "lightc/status.h"
#include "trainer/dist/dist.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (!lc_dist_have_nccl()) {
        printf("skip: this lightc was built without NCCL\n");
        return 77;
    }
    if (lc_dist_nccl_load() != LC_OK) {
        fprintf(stderr, "FAIL: %s\n", lc_errmsg());
        return 1;
    }
    printf("libnccl loaded, every function lightc calls resolved\n");
    int gpus = 0;
    if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
        printf("skip: NCCL collectives need a GPU (none usable here)\n");
        return 77;
    }
    if (lc_dist_env_world_size(NULL, NULL) == 0) {
#ifdef LC_MPIEXEC_PATH
        char np[8];
        snprintf(np, sizeof np, "%d", gpus >= 2 ? 2 : 1);
        char *args[] = {LC_MPIEXEC_PATH, "--allow-run-as-root", "--oversubscribe", "-np", np,
                        argv[0], NULL};
        execv(LC_MPIEXEC_PATH, args);
        perror("execv mpiexec");
#endif
        printf("skip: no mpiexec (Open MPI) on this machine to start the ranks\n");
        return 77;
    }
    lc_dist *d = NULL;
    if (lc_dist_init(&d, 120) != LC_OK) {
        fprintf(stderr, "init: %s\n", lc_errmsg());
        return 1;
    }
    int r = lc_dist_rank(d), w = lc_dist_world(d);
    if (lc_dist_nccl_init(d, r % gpus) != LC_OK) {
        fprintf(stderr, "rank %d: nccl init: %s\n", r, lc_errmsg());
        return 1;
    }
    int bad = 0;
    size_t counts[3] = {7, 1000, 1 << 20};
    float *dev[3], *host[3];
    for (int k = 0; k < 3; k++) {
        host[k] = malloc(counts[k] * sizeof(float));
        for (size_t i = 0; i < counts[k]; i++)
            host[k][i] = (float)((i % 97) * (r + 1));
        cudaMalloc((void **)&dev[k], counts[k] * sizeof(float));
        cudaMemcpy(dev[k], host[k], counts[k] * sizeof(float), cudaMemcpyHostToDevice);
    }
    if (lc_dist_allreduce_device(d, dev, counts, 3, LC_DIST_MEAN) != LC_OK) {
        fprintf(stderr, "rank %d: all-reduce: %s\n", r, lc_errmsg());
        return 1;
    }
    float factor = 0; /* mean of (r + 1) over the ranks */
    for (int q = 0; q < w; q++)
        factor += (float)(q + 1);
    factor /= (float)w;
    for (int k = 0; k < 3; k++) {
        cudaMemcpy(host[k], dev[k], counts[k] * sizeof(float), cudaMemcpyDeviceToHost);
        for (size_t i = 0; i < counts[k]; i++)
            if (host[k][i] != (float)(i % 97) * factor) {
                bad++;
                break;
            }
    }
    int v = r == 0 ? 1234 : 0, *dv;
    cudaMalloc((void **)&dv, sizeof v);
    cudaMemcpy(dv, &v, sizeof v, cudaMemcpyHostToDevice);
    if (lc_dist_broadcast_device(d, dv, sizeof v, 0) != LC_OK)
        bad++;
    cudaMemcpy(&v, dv, sizeof v, cudaMemcpyDeviceToHost);
    bad += v != 1234;
    for (int k = 0; k < 3; k++) {
        cudaFree(dev[k]);
        free(host[k]);
    }
    cudaFree(dv);
    lc_dist_free(d);
    printf("rank %d of %d: NCCL %s\n", r, w, bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}
