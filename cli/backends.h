/*
 * cli/backends.h — the hook `lightc info` asks about compute backends
 * (BLAS, CUDA). The kernels part fills it in by replacing cli/backends.c;
 * until then every field says "not reported" rather than guessing.
 */
#ifndef CLI_BACKENDS_H
#define CLI_BACKENDS_H

typedef struct lc_cli_backend {
    const char *name;  /* "BLAS", "CUDA" */
    int compiled;      /* 1 compiled in, 0 not compiled in, -1 not reported */
    int available;     /* 1 usable on this machine, 0 not usable, -1 not reported */
    char detail[256];  /* free text: "OpenBLAS 0.3.21, 2 threads", "NVIDIA H200, CUDA 12.4" */
} lc_cli_backend;

/* Fill up to max entries of out; return how many were filled. */
int lc_cli_backends(lc_cli_backend *out, int max);

#endif /* CLI_BACKENDS_H */
