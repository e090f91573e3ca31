/*
 * kernels/cuda/elementwise.cu — elementwise fp32 ops, ReLU and GELU (tanh
 * form), bias add and its gradient, and the fused bias + activation forward
 * and backward of a linear layer's epilogue.
 *
 * Same formulas as kernels/activations.c and kernels/linear.c, with every
 * multiply and add rounded on its own (no FMA), so ReLU, bias add and the
 * bias gradient give the CPU's bits; GELU differs only through the device
 * tanhf (<= 2 ulp from glibc's).
 */
#include "cuda_common.cuh"

#define LC_GELU_SCALE 0.7978845608028654f
#define LC_GELU_CUBIC 0.044715f

/* ------------------------------------------------------------------------ */
/* Device functions                                                          */

__device__ static inline float ew_gelu(float v)
{
    /* 0.5 v (1 + tanh(s (v + c v^3))) in the CPU's order */
    float cubic = __fmul_rn(__fmul_rn(__fmul_rn(LC_GELU_CUBIC, v), v), v);
    float u = __fmul_rn(LC_GELU_SCALE, __fadd_rn(v, cubic));
    return __fmul_rn(__fmul_rn(0.5f, v), __fadd_rn(1.0f, tanhf(u)));
}

__device__ static inline float ew_gelu_grad(float v)
{
    if (fabsf(v) > 10.0f)
        return v > 0.0f ? 1.0f : 0.0f; /* tanh is +-1 in float out there */
    float cubic = __fmul_rn(__fmul_rn(__fmul_rn(LC_GELU_CUBIC, v), v), v);
    float u = __fmul_rn(LC_GELU_SCALE, __fadd_rn(v, cubic));
    float t = tanhf(u);
    float du = __fmul_rn(LC_GELU_SCALE,
                         __fadd_rn(1.0f, __fmul_rn(__fmul_rn(__fmul_rn(3.0f, LC_GELU_CUBIC), v), v)));
    float a = __fmul_rn(0.5f, __fadd_rn(1.0f, t));
    float b = __fmul_rn(__fmul_rn(__fmul_rn(0.5f, v), __fsub_rn(1.0f, __fmul_rn(t, t))), du);
    return __fadd_rn(a, b);
}

__device__ static inline float ew_act(float h, int act)
{
    if (act == LC_CUDA_ACT_RELU)
        return h > 0.0f ? h : 0.0f;
    if (act == LC_CUDA_ACT_GELU)
        return ew_gelu(h);
    return h;
}

__device__ static inline float ew_act_backward(float dy, float pre, int act)
{
    if (act == LC_CUDA_ACT_RELU)
        return pre > 0.0f ? dy : 0.0f;
    if (act == LC_CUDA_ACT_GELU)
        return __fmul_rn(dy, ew_gelu_grad(pre));
    return dy;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

__global__ static void fill_kernel(float *x, size_t n, float v)
{
    LC_GRID_LOOP(i, n) x[i] = v;
}

__global__ static void scale_kernel(float *y, const float *x, size_t n, float a)
{
    LC_GRID_LOOP(i, n) y[i] = __fmul_rn(a, x[i]);
}

__global__ static void axpy_kernel(float *y, const float *x, size_t n, float a)
{
    LC_GRID_LOOP(i, n) y[i] = __fadd_rn(y[i], __fmul_rn(a, x[i]));
}

__global__ static void add_kernel(float *z, const float *x, const float *y, size_t n)
{
    LC_GRID_LOOP(i, n) z[i] = __fadd_rn(x[i], y[i]);
}

__global__ static void mul_kernel(float *z, const float *x, const float *y, size_t n)
{
    LC_GRID_LOOP(i, n) z[i] = __fmul_rn(x[i], y[i]);
}

__global__ static void act_kernel(float *y, const float *x, size_t n, int act)
{
    LC_GRID_LOOP(i, n) y[i] = ew_act(x[i], act);
}

__global__ static void act_backward_kernel(float *dx, const float *dy, const float *x, size_t n,
                                           int act)
{
    LC_GRID_LOOP(i, n) dx[i] = ew_act_backward(dy[i], x[i], act);
}

/* y = act(x + b), pre = x + b; one element per thread, column = i % cols. */
__global__ static void bias_act_kernel(float *y, float *pre, const float *x, const float *b,
                                       size_t n, size_t cols, int act)
{
    LC_GRID_LOOP(i, n)
    {
        float h = __fadd_rn(x[i], b[i % cols]);
        if (pre)
            pre[i] = h;
        y[i] = ew_act(h, act);
    }
}

/* One thread per column: dh = dy * act'(pre) over the rows in order, written
 * to dx, and (db) summed in double in row order then added once to db[j] —
 * kernels/linear.c's bias_grad_cols, bit for bit. Adjacent threads read
 * adjacent columns, so each row's loads coalesce. */
__global__ static void bias_act_backward_kernel(float *dx, float *db, const float *dy,
                                                const float *pre, int64_t rows, int64_t cols,
                                                int act)
{
    int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols)
        return;
    double acc = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t i = r * cols + j;
        float d = act == LC_CUDA_ACT_NONE ? dy[i] : ew_act_backward(dy[i], pre[i], act);
        if (dx)
            dx[i] = d;
        acc = __dadd_rn(acc, (double)d);
    }
    if (db)
        db[j] = (float)__dadd_rn((double)db[j], acc);
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

extern "C" {

lc_status lc_cuda_fill(lc_cuda_ctx *ctx, float *x, size_t n, float value)
{
    const char *op = "lc_cuda_fill";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(x, op);
    LC_LAUNCH_N(ctx, op, n, fill_kernel, x, n, value);
}

lc_status lc_cuda_scale(lc_cuda_ctx *ctx, float *y, const float *x, size_t n, float a)
{
    const char *op = "lc_cuda_scale";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(y, op);
    LC_CUDA_NEED(x, op);
    LC_LAUNCH_N(ctx, op, n, scale_kernel, y, x, n, a);
}

lc_status lc_cuda_axpy(lc_cuda_ctx *ctx, float *y, const float *x, size_t n, float a)
{
    const char *op = "lc_cuda_axpy";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(y, op);
    LC_CUDA_NEED(x, op);
    LC_LAUNCH_N(ctx, op, n, axpy_kernel, y, x, n, a);
}

lc_status lc_cuda_add(lc_cuda_ctx *ctx, float *z, const float *x, const float *y, size_t n)
{
    const char *op = "lc_cuda_add";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(z, op);
    LC_CUDA_NEED(x, op);
    LC_CUDA_NEED(y, op);
    LC_LAUNCH_N(ctx, op, n, add_kernel, z, x, y, n);
}

lc_status lc_cuda_mul(lc_cuda_ctx *ctx, float *z, const float *x, const float *y, size_t n)
{
    const char *op = "lc_cuda_mul";
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(z, op);
    LC_CUDA_NEED(x, op);
    LC_CUDA_NEED(y, op);
    LC_LAUNCH_N(ctx, op, n, mul_kernel, z, x, y, n);
}

static lc_status ew_act_launch(lc_cuda_ctx *ctx, const char *op, float *y, const float *x,
                               size_t n, int act)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(y, op);
    LC_CUDA_NEED(x, op);
    LC_LAUNCH_N(ctx, op, n, act_kernel, y, x, n, act);
}

static lc_status ew_act_backward_launch(lc_cuda_ctx *ctx, const char *op, float *dx,
                                        const float *dy, const float *x, size_t n, int act)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(dx, op);
    LC_CUDA_NEED(dy, op);
    LC_CUDA_NEED(x, op);
    LC_LAUNCH_N(ctx, op, n, act_backward_kernel, dx, dy, x, n, act);
}

lc_status lc_cuda_relu_forward(lc_cuda_ctx *ctx, float *y, const float *x, size_t n)
{
    return ew_act_launch(ctx, "lc_cuda_relu_forward", y, x, n, LC_CUDA_ACT_RELU);
}

lc_status lc_cuda_relu_backward(lc_cuda_ctx *ctx, float *dx, const float *dy, const float *x,
                                size_t n)
{
    return ew_act_backward_launch(ctx, "lc_cuda_relu_backward", dx, dy, x, n, LC_CUDA_ACT_RELU);
}

lc_status lc_cuda_gelu_forward(lc_cuda_ctx *ctx, float *y, const float *x, size_t n)
{
    return ew_act_launch(ctx, "lc_cuda_gelu_forward", y, x, n, LC_CUDA_ACT_GELU);
}

lc_status lc_cuda_gelu_backward(lc_cuda_ctx *ctx, float *dx, const float *dy, const float *x,
                                size_t n)
{
    return ew_act_backward_launch(ctx, "lc_cuda_gelu_backward", dx, dy, x, n, LC_CUDA_ACT_GELU);
}

static lc_status ew_check_matrix(lc_cuda_ctx *ctx, const char *op, int64_t rows, int64_t cols,
                                 int act)
{
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st != LC_OK)
        return st;
    if (rows < 0 || cols < 0)
        return lc_fail(LC_ERR_INVALID, "%s: rows %lld and cols %lld must be >= 0", op,
                       (long long)rows, (long long)cols);
    if (act != LC_CUDA_ACT_NONE && act != LC_CUDA_ACT_RELU && act != LC_CUDA_ACT_GELU)
        return lc_fail(LC_ERR_INVALID, "%s: unknown activation %d", op, act);
    return LC_OK;
}

lc_status lc_cuda_bias_add_forward(lc_cuda_ctx *ctx, float *y, const float *b, int64_t rows,
                                   int64_t cols)
{
    return lc_cuda_bias_act_forward(ctx, y, NULL, y, b, rows, cols, LC_CUDA_ACT_NONE);
}

lc_status lc_cuda_bias_add_backward(lc_cuda_ctx *ctx, float *db, const float *dy, int64_t rows,
                                    int64_t cols)
{
    const char *op = "lc_cuda_bias_add_backward";
    lc_status st = ew_check_matrix(ctx, op, rows, cols, LC_CUDA_ACT_NONE);
    if (st != LC_OK || rows == 0 || cols == 0)
        return st;
    LC_CUDA_NEED(db, op);
    LC_CUDA_NEED(dy, op);
    unsigned blocks = (unsigned)((cols + LC_CUDA_THREADS - 1) / LC_CUDA_THREADS);
    bias_act_backward_kernel<<<blocks, LC_CUDA_THREADS, 0, ctx->stream>>>(
        NULL, db, dy, NULL, rows, cols, LC_CUDA_ACT_NONE);
    return lc_cuda_launched(op);
}

lc_status lc_cuda_bias_act_forward(lc_cuda_ctx *ctx, float *y, float *pre, const float *x,
                                   const float *b, int64_t rows, int64_t cols, int act)
{
    const char *op = "lc_cuda_bias_act_forward";
    lc_status st = ew_check_matrix(ctx, op, rows, cols, act);
    if (st != LC_OK || rows == 0 || cols == 0)
        return st;
    LC_CUDA_NEED(y, op);
    LC_CUDA_NEED(x, op);
    LC_CUDA_NEED(b, op);
    size_t n = (size_t)rows * (size_t)cols;
    LC_LAUNCH_N(ctx, op, n, bias_act_kernel, y, pre, x, b, n, (size_t)cols, act);
}

lc_status lc_cuda_bias_act_backward(lc_cuda_ctx *ctx, float *dx, float *db, const float *dy,
                                    const float *pre, int64_t rows, int64_t cols, int act)
{
    const char *op = "lc_cuda_bias_act_backward";
    lc_status st = ew_check_matrix(ctx, op, rows, cols, act);
    if (st != LC_OK || rows == 0 || cols == 0)
        return st;
    LC_CUDA_NEED(dx, op);
    LC_CUDA_NEED(dy, op);
    if (act != LC_CUDA_ACT_NONE)
        LC_CUDA_NEED(pre, op);
    unsigned blocks = (unsigned)((cols + LC_CUDA_THREADS - 1) / LC_CUDA_THREADS);
    bias_act_backward_kernel<<<blocks, LC_CUDA_THREADS, 0, ctx->stream>>>(dx, db, dy, pre, rows,
                                                                         cols, act);
    return lc_cuda_launched(op);
}

} /* extern "C" */
