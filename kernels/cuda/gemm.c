/*
 * kernels/cuda/gemm.c — GEMM through cuBLAS (cublasGemmEx) with fp32
 * accumulation for fp32, fp16 and bf16 inputs, in the row-major layout of
 * kernels/linear.c, and the linear layer built on it.
 *
 * Row-major through a column-major library: a row-major [r, c] matrix is, as
 * stored, the column-major [c, r] matrix, its transpose. So
 *     C = op(A) op(B)   (row-major)   <=>   C^T = op(B)^T op(A)^T  (column-major)
 * and cuBLAS is called with the operands swapped (B first), m and n swapped,
 * and the same transpose flags and leading dimensions. With x [B, in],
 * W [out, in], dy [B, out] (kernels/linear.c's table):
 *   forward  y  = x  W^T   gemm(N, T) m=B,   n=out, k=in
 *   input    dx = dy W     gemm(N, N) m=B,   n=in,  k=out
 *   weight   dW += dy^T x  gemm(T, N) m=out, n=in,  k=B   (beta = 1)
 *
 * Compute type CUBLAS_COMPUTE_32F: products and sums in fp32 whatever the
 * input type (fp16/bf16 inputs run on tensor cores). fp32 inputs use plain
 * fp32 unless lc_cuda_set_tf32 allowed TF32 (CUBLAS_COMPUTE_32F_FAST_TF32).
 */
#include <limits.h>

#include "cuda_internal.h"

static int gemm_dtype(int t, cudaDataType_t *out)
{
    switch (t) {
    case LC_CUDA_F32: *out = CUDA_R_32F; return 1;
    case LC_CUDA_F16: *out = CUDA_R_16F; return 1;
    case LC_CUDA_BF16: *out = CUDA_R_16BF; return 1;
    default: return 0;
    }
}

static int gemm_fits(int64_t v, int64_t lo)
{
    return v >= lo && v <= INT_MAX;
}

lc_status lc_cuda_gemm(lc_cuda_ctx *ctx, int trans_a, int trans_b, int64_t m, int64_t n,
                       int64_t k, float alpha, const void *a, int64_t lda, const void *b,
                       int64_t ldb, float beta, void *c, int64_t ldc, int ab_type, int c_type)
{
    const char *op = "lc_cuda_gemm";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK)
        return st;
    cudaDataType_t tab, tc;
    if (!gemm_dtype(ab_type, &tab) || !gemm_dtype(c_type, &tc))
        return lc_fail(LC_ERR_INVALID, "%s: unknown data type (%d, %d)", op, ab_type, c_type);
    /* cublasGemmEx with fp32 compute takes C in fp32 or in the inputs' type. */
    if (c_type != LC_CUDA_F32 && c_type != ab_type)
        return lc_fail(LC_ERR_INVALID,
                       "%s: C must be fp32 or the type of A and B (got A/B type %d, C type %d)",
                       op, ab_type, c_type);
    if (!gemm_fits(m, 1) || !gemm_fits(n, 1) || !gemm_fits(k, 1))
        return lc_fail(LC_ERR_INVALID, "%s: m=%lld n=%lld k=%lld must be in [1, INT_MAX]", op,
                       (long long)m, (long long)n, (long long)k);
    /* Row-major leading dimensions: the stored row length of each matrix. */
    int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    if (!gemm_fits(lda, a_cols) || !gemm_fits(ldb, b_cols) || !gemm_fits(ldc, n))
        return lc_fail(LC_ERR_INVALID,
                       "%s: leading dimensions lda=%lld (>= %lld), ldb=%lld (>= %lld), "
                       "ldc=%lld (>= %lld) are too small",
                       op, (long long)lda, (long long)a_cols, (long long)ldb, (long long)b_cols,
                       (long long)ldc, (long long)n);
    LC_CUDA_NEED(a, op);
    LC_CUDA_NEED(b, op);
    LC_CUDA_NEED(c, op);
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if (ab_type == LC_CUDA_F32 && ctx->allow_tf32)
        compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    cublasOperation_t opa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    return lc_cublas_fail(cublasGemmEx(ctx->blas, opb, opa, (int)n, (int)m, (int)k, &alpha, b, tab,
                                       (int)ldb, a, tab, (int)lda, &beta, c, tc, (int)ldc, compute,
                                       CUBLAS_GEMM_DEFAULT),
                          op);
}

lc_status lc_cuda_linear_forward(lc_cuda_ctx *ctx, float *y, const void *x, const void *w,
                                 const float *b, int64_t rows, int64_t in, int64_t out,
                                 int in_type)
{
    lc_status st = lc_cuda_gemm(ctx, 0, 1, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out,
                                in_type, LC_CUDA_F32);
    if (st == LC_OK && b)
        st = lc_cuda_bias_add_forward(ctx, y, b, rows, out);
    return st;
}

lc_status lc_cuda_linear_backward(lc_cuda_ctx *ctx, float *dx, float *dw, float *db,
                                  const float *dy, const float *x, const float *w, int64_t rows,
                                  int64_t in, int64_t out)
{
    lc_status st = LC_OK;
    if (dx)
        st = lc_cuda_gemm(ctx, 0, 0, rows, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in,
                          LC_CUDA_F32, LC_CUDA_F32);
    if (st == LC_OK && dw)
        st = lc_cuda_gemm(ctx, 1, 0, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dw, in,
                          LC_CUDA_F32, LC_CUDA_F32);
    if (st == LC_OK && db)
        st = lc_cuda_bias_add_backward(ctx, db, dy, rows, out);
    return st;
}
