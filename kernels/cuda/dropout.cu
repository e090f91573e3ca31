/*
 * kernels/cuda/dropout.cu — inverted dropout whose mask is the CPU's, bit for
 * bit (see cuda_ops.h, "Dropout").
 *
 * kernels/dropout.c draws u_i = pcg32(state_i) for element i, where state_i
 * is the LCG state after i steps from the RNG's state, and keeps element i
 * when u_i >= threshold = floor(p * 2^32). An LCG step is the affine map
 * s -> a s + c (mod 2^64); k steps compose to s -> A_k s + C_k, and A_k, C_k
 * come from k's binary digits by repeated squaring (Brown 1994; the
 * reference PCG's pcg32_advance). Each thread jumps to the start of its run
 * of LC_DROPOUT_RUN elements (<= 64 squarings) and steps from there, so the
 * jump costs a few multiplies per element.
 */
#include "cuda_common.cuh"

#define LC_PCG_MULT 6364136223846793005ULL
#define LC_DROPOUT_RUN 16

/* ------------------------------------------------------------------------ */
/* PCG32 on both sides                                                       */

/* The state after `delta` steps from `state`. */
__host__ __device__ static inline uint64_t pcg_advance(uint64_t state, uint64_t inc, uint64_t delta)
{
    uint64_t acc_mult = 1, acc_plus = 0, cur_mult = LC_PCG_MULT, cur_plus = inc;
    while (delta > 0) {
        if (delta & 1) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    return acc_mult * state + acc_plus;
}

/* kernels/rng.c's lc_rng_u32: output of the old state, then step. */
__device__ static inline uint32_t pcg_next(uint64_t *state, uint64_t inc)
{
    uint64_t old = *state;
    *state = old * LC_PCG_MULT + inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

__global__ static void dropout_forward_kernel(float *y, uint8_t *mask, const float *x, size_t n,
                                              uint64_t state, uint64_t inc, uint64_t threshold,
                                              float scale)
{
    size_t runs = (n + LC_DROPOUT_RUN - 1) / LC_DROPOUT_RUN;
    LC_GRID_LOOP(r, runs)
    {
        size_t first = r * LC_DROPOUT_RUN;
        size_t last = first + LC_DROPOUT_RUN < n ? first + LC_DROPOUT_RUN : n;
        uint64_t s = pcg_advance(state, inc, (uint64_t)first);
        for (size_t i = first; i < last; i++) {
            uint8_t keep = (uint64_t)pcg_next(&s, inc) >= threshold;
            float v = x[i]; /* read before y[i] is written: y may be x */
            mask[i] = keep;
            y[i] = keep ? __fmul_rn(v, scale) : 0.0f;
        }
    }
}

__global__ static void dropout_backward_kernel(float *dx, const float *dy, const uint8_t *mask,
                                               size_t n, float scale)
{
    LC_GRID_LOOP(i, n) dx[i] = mask[i] ? __fmul_rn(dy[i], scale) : 0.0f;
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

enum dropout_mode { DROPOUT_IDENTITY, DROPOUT_ZERO, DROPOUT_RANDOM };

static lc_status dropout_mode_of(const char *op, float p, int training, enum dropout_mode *mode)
{
    if (!(p >= 0.0f && p <= 1.0f))
        return lc_fail(LC_ERR_INVALID, "%s: dropout probability p=%g must be in [0, 1]", op,
                       (double)p);
    if (!training || p == 0.0f)
        *mode = DROPOUT_IDENTITY;
    else if (p == 1.0f)
        *mode = DROPOUT_ZERO;
    else
        *mode = DROPOUT_RANDOM;
    return LC_OK;
}

extern "C" {

lc_status lc_cuda_dropout_forward(lc_cuda_ctx *ctx, float *y, uint8_t *mask, const float *x,
                                  size_t n, float p, int training, uint64_t rng_state[2])
{
    const char *op = "lc_cuda_dropout_forward";
    enum dropout_mode mode = DROPOUT_IDENTITY;
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st == LC_OK)
        st = dropout_mode_of(op, p, training, &mode);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(y, op);
    LC_CUDA_NEED(x, op);
    if (mode == DROPOUT_IDENTITY)
        return y == x ? LC_OK : lc_cuda_copy_device(ctx, y, x, n * sizeof(float));
    if (mode == DROPOUT_ZERO) {
        st = lc_cuda_memset_zero(ctx, y, n * sizeof(float));
        if (st == LC_OK && mask)
            st = lc_cuda_memset_zero(ctx, mask, n);
        return st;
    }
    if (!mask || !rng_state)
        return lc_fail(LC_ERR_INVALID, "%s: training with p=%g needs a mask buffer and an RNG", op,
                       (double)p);
    uint64_t inc = rng_state[1] | 1u; /* as lc_rng_restore */
    uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
    float scale = 1.0f / (1.0f - p);
    size_t runs = (n + LC_DROPOUT_RUN - 1) / LC_DROPOUT_RUN;
    dropout_forward_kernel<<<lc_cuda_grid(ctx, runs), LC_CUDA_THREADS, 0, ctx->stream>>>(
        y, mask, x, n, rng_state[0], inc, threshold, scale);
    st = lc_cuda_launched(op);
    if (st == LC_OK) /* the CPU would have drawn n numbers */
        rng_state[0] = pcg_advance(rng_state[0], inc, (uint64_t)n);
    return st;
}

lc_status lc_cuda_dropout_backward(lc_cuda_ctx *ctx, float *dx, const float *dy,
                                   const uint8_t *mask, size_t n, float p, int training)
{
    const char *op = "lc_cuda_dropout_backward";
    enum dropout_mode mode = DROPOUT_IDENTITY;
    lc_status st = lc_cuda_check_ctx(ctx, op);
    if (st == LC_OK)
        st = dropout_mode_of(op, p, training, &mode);
    if (st != LC_OK || n == 0)
        return st;
    LC_CUDA_NEED(dx, op);
    LC_CUDA_NEED(dy, op);
    if (mode == DROPOUT_IDENTITY)
        return dx == dy ? LC_OK : lc_cuda_copy_device(ctx, dx, dy, n * sizeof(float));
    if (mode == DROPOUT_ZERO)
        return lc_cuda_memset_zero(ctx, dx, n * sizeof(float));
    if (!mask)
        return lc_fail(LC_ERR_INVALID, "%s: training with p=%g needs the forward's mask", op,
                       (double)p);
    float scale = 1.0f / (1.0f - p);
    LC_LAUNCH_N(ctx, op, n, dropout_backward_kernel, dx, dy, mask, n, scale);
}

} /* extern "C" */
