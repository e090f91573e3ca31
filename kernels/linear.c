/*
 * kernels/linear.c — fully connected layer and bias add (see linear.h).
 *
 * All matrices are row-major. With x [B, in], W [out, in], dy [B, out]:
 *   forward   y  = x  W^T   sgemm(NoTrans, Trans)   M=B,   N=out, K=in
 *   input     dx = dy W     sgemm(NoTrans, NoTrans) M=B,   N=in,  K=out
 *   weight    dW += dy^T x  sgemm(Trans, NoTrans)   M=out, N=in,  K=B
 *
 * Threads: OpenBLAS runs single-threaded (blas_info.h). A GEMM of at least
 * LINEAR_SPLIT_FLOPS is cut in two slices along the larger of M and N (the
 * other operand, the smaller one to pack, is shared), or along M for the
 * weight gradient (see gemm_plan_of()), and the kernels' pool runs one
 * sgemm per slice; a backward's GEMM slices and its bias gradient are the
 * tasks of one pool job (linear_bwd_job). The cut depends on the shape only,
 * never on the thread count, so every thread count gives the same bits;
 * the forward's bias broadcast is written by the slice that owns the
 * columns (or rows), next to its GEMM.
 */
#include "linear.h"

#include <cblas.h>
#include <limits.h>

#include "blas_info.h"
#include "common/status.h"
#include "par.h"
#include "simd.h"

/* ------------------------------------------------------------------------ */
/* Shape checks                                                              */

static int linear_fits_int(int64_t v)
{
    return v >= 1 && v <= INT_MAX;
}

/* Checks shared by forward and backward; gives rows, in, out. */
static lc_status linear_check(const char *op, const lc_tensor *x, const lc_tensor *w,
                              int64_t *rows, int64_t *in, int64_t *out)
{
    lc_status st = lc_tensor_check(x, op, "x");
    if (st == LC_OK)
        st = lc_tensor_check(w, op, "w");
    if (st != LC_OK)
        return st;
    char a[64], b[64];
    if (w->ndim != 2)
        return lc_fail(LC_ERR_INVALID, "%s: w must be [out, in], got %s", op,
                       lc_tensor_shape_str(w, a, sizeof a));
    if (lc_tensor_cols(x) != w->shape[1])
        return lc_fail(LC_ERR_INVALID, "%s: x %s has %lld input features but w %s expects %lld", op,
                       lc_tensor_shape_str(x, a, sizeof a), (long long)lc_tensor_cols(x),
                       lc_tensor_shape_str(w, b, sizeof b), (long long)w->shape[1]);
    *rows = lc_tensor_rows(x);
    *in = w->shape[1];
    *out = w->shape[0];
    if (!linear_fits_int(*rows) || !linear_fits_int(*in) || !linear_fits_int(*out))
        return lc_fail(LC_ERR_INVALID, "%s: dimensions exceed the BLAS int range", op);
    return LC_OK;
}

/* t must hold rows x cols with cols as its last dimension. */
static lc_status linear_check_matrix(const char *op, const char *name, const lc_tensor *t,
                                     int64_t rows, int64_t cols)
{
    lc_status st = lc_tensor_check(t, op, name);
    if (st != LC_OK)
        return st;
    if (lc_tensor_cols(t) != cols || lc_tensor_rows(t) != rows) {
        char a[64];
        return lc_fail(LC_ERR_INVALID, "%s: %s %s must hold %lld rows of %lld", op, name,
                       lc_tensor_shape_str(t, a, sizeof a), (long long)rows, (long long)cols);
    }
    return LC_OK;
}

static lc_status linear_check_vector(const char *op, const char *name, const lc_tensor *t,
                                     int64_t n)
{
    lc_status st = lc_tensor_check(t, op, name);
    if (st != LC_OK)
        return st;
    if (t->ndim != 1 || t->shape[0] != n) {
        char a[64];
        return lc_fail(LC_ERR_INVALID, "%s: %s %s must be [%lld]", op, name,
                       lc_tensor_shape_str(t, a, sizeof a), (long long)n);
    }
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Bias add                                                                  */

LC_SIMD_CLONES
static void bias_add_rows(float *restrict y, const float *restrict b, int64_t rows, int64_t n)
{
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * n;
        for (int64_t j = 0; j < n; j++)
            yr[j] += b[j];
    }
}

/* Column sums in double, rows in order 0..rows-1, added once to db: a fixed
 * summation order, so the result does not depend on threads or blocking.
 * Columns are walked in chunks so the double accumulators stay in cache. */
LC_SIMD_CLONES
static void bias_grad_cols(float *restrict db, const float *restrict dy, int64_t rows, int64_t n)
{
    enum { CHUNK = 256 };
    double acc[CHUNK];
    for (int64_t j0 = 0; j0 < n; j0 += CHUNK) {
        int64_t w = n - j0 < CHUNK ? n - j0 : CHUNK;
        for (int64_t j = 0; j < w; j++)
            acc[j] = 0.0;
        for (int64_t r = 0; r < rows; r++) {
            const float *dr = dy + r * n + j0;
            for (int64_t j = 0; j < w; j++)
                acc[j] += (double)dr[j];
        }
        for (int64_t j = 0; j < w; j++)
            db[j0 + j] = (float)((double)db[j0 + j] + acc[j]);
    }
}

lc_status lc_bias_add_forward(lc_tensor *y, const lc_tensor *b)
{
    lc_status st = lc_tensor_check(y, "bias_add_forward", "y");
    if (st == LC_OK)
        st = linear_check_vector("bias_add_forward", "b", b, y ? lc_tensor_cols(y) : 0);
    if (st != LC_OK)
        return st;
    bias_add_rows(y->data, b->data, lc_tensor_rows(y), lc_tensor_cols(y));
    return LC_OK;
}

lc_status lc_bias_add_backward(lc_tensor *db, const lc_tensor *dy)
{
    lc_status st = lc_tensor_check(dy, "bias_add_backward", "dy");
    if (st == LC_OK)
        st = linear_check_vector("bias_add_backward", "db", db, dy ? lc_tensor_cols(dy) : 0);
    if (st != LC_OK)
        return st;
    bias_grad_cols(db->data, dy->data, lc_tensor_rows(dy), lc_tensor_cols(dy));
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* GEMM slices                                                               */

/* Below this many flops a GEMM is one call (a slice would cost more in
 * packing and wake-up than it saves). */
#define LINEAR_SPLIT_FLOPS (1 << 22)
#define LINEAR_SLICES 2
/* Slice boundaries on multiples of this (OpenBLAS's sgemm micro-tiles are
 * 16 wide in M on AVX-512 and narrower in N, so no slice gets a ragged
 * tile; 32 made dW0's 784 columns 416 + 368, 13% apart). */
#define LINEAR_SLICE_ALIGN 16

typedef struct gemm_args {
    CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
    const float *a, *b;
    int lda, ldb;
    float beta;
    float *c;
    int ldc;
    const float *bias; /* non-NULL: C <- broadcast bias first (beta must be 1) */
} gemm_args;

/* Rows [m0, m1) and columns [n0, n1) of C: its bias broadcast, then its GEMM. */
static void gemm_block(const gemm_args *g, int m0, int m1, int n0, int n1)
{
    const float *a = g->a, *b = g->b;
    if (m0 > 0) /* A's rows: A is [M, K] (NoTrans) or [K, M] (Trans) */
        a += g->ta == CblasNoTrans ? (size_t)m0 * g->lda : (size_t)m0;
    if (n0 > 0) /* B's columns: B is [K, N] (NoTrans) or [N, K] (Trans) */
        b += g->tb == CblasNoTrans ? (size_t)n0 : (size_t)n0 * g->ldb;
    float *c = g->c + (size_t)m0 * g->ldc + n0;
    if (g->bias)
        for (int r = 0; r < m1 - m0; r++)
            for (int j = 0; j < n1 - n0; j++)
                c[(size_t)r * g->ldc + j] = g->bias[n0 + j];
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, m1 - m0, n1 - n0, g->k, 1.0f, a, g->lda, b, g->ldb,
                g->beta, c, g->ldc);
}

/* How a GEMM is cut: `slices` (1 or LINEAR_SLICES) pieces along N or M,
 * the first ending at `cut`. */
typedef struct gemm_plan {
    const gemm_args *g;
    int along_n, cut, dim, slices;
} gemm_plan;

static gemm_plan gemm_plan_of(const gemm_args *g)
{
    double flops = 2.0 * g->m * (double)g->n * g->k;
    /* dW (A = dy^T) is cut along M: OpenBLAS packs a transposed A with its
       costliest copy (incopy), so each slice should pack only its own part
       of it, not all of it (+2.4 % samples/s on the default MLP against a
       cut along N). Otherwise along the larger dimension. */
    int along_n = g->ta == CblasTrans ? 0 : g->n >= g->m;
    int dim = along_n ? g->n : g->m;
    int cut = (dim / LINEAR_SLICES + LINEAR_SLICE_ALIGN - 1) / LINEAR_SLICE_ALIGN *
              LINEAR_SLICE_ALIGN;
    gemm_plan p = {g, along_n, cut, dim, LINEAR_SLICES};
    if (flops < LINEAR_SPLIT_FLOPS || cut <= 0 || cut >= dim)
        p.slices = 1;
    return p;
}

static void gemm_plan_slice(const gemm_plan *p, int s)
{
    if (p->slices == 1) {
        gemm_block(p->g, 0, p->g->m, 0, p->g->n);
        return;
    }
    int lo = s ? p->cut : 0, hi = s ? p->dim : p->cut;
    if (p->along_n)
        gemm_block(p->g, 0, p->g->m, lo, hi);
    else
        gemm_block(p->g, lo, hi, 0, p->g->n);
}

static void gemm_slice_task(void *arg, size_t s)
{
    gemm_plan_slice(arg, (int)s);
}

/* C = op(A) op(B) + beta C, sliced as the file comment says. */
static void gemm(const gemm_args *g)
{
    lc_blas_single_threaded();
    gemm_plan p = gemm_plan_of(g);
    if (p.slices == 1)
        gemm_plan_slice(&p, 0);
    else
        lc_par_run((size_t)p.slices, lc_par_threads(), gemm_slice_task, &p);
}

/* A backward as one pool job: the slices of its GEMMs (dW, then dx) and the
 * bias gradient, each task taken by whichever thread is free. So layers too
 * small to slice still run their dW and dx side by side, the bias gradient
 * no longer waits for both, and there is one wake-up instead of two. Each
 * output is written by its own tasks with the same operations whatever
 * thread runs them: the bits do not change. */
typedef struct linear_bwd_job {
    gemm_plan plan[2];
    int nplans;
    float *db;
    const float *dy;
    int64_t rows, out;
} linear_bwd_job;

static void linear_bwd_task(void *arg, size_t t)
{
    const linear_bwd_job *j = arg;
    for (int i = 0; i < j->nplans; i++) {
        if (t < (size_t)j->plan[i].slices) {
            gemm_plan_slice(&j->plan[i], (int)t);
            return;
        }
        t -= (size_t)j->plan[i].slices;
    }
    bias_grad_cols(j->db, j->dy, j->rows, j->out);
}

/* ------------------------------------------------------------------------ */
/* Linear                                                                    */

lc_status lc_linear_forward(lc_tensor *y, const lc_tensor *x, const lc_tensor *w,
                            const lc_tensor *b)
{
    const char *op = "linear_forward";
    int64_t rows = 0, in = 0, out = 0;
    lc_status st = linear_check(op, x, w, &rows, &in, &out);
    if (st == LC_OK)
        st = linear_check_matrix(op, "y", y, rows, out);
    if (st == LC_OK && b)
        st = linear_check_vector(op, "b", b, out);
    if (st != LC_OK)
        return st;
    if (y->data == x->data || y->data == w->data)
        return lc_fail(LC_ERR_INVALID, "%s: y must not share memory with x or w", op);

    /* Start from the bias broadcast over rows and let sgemm add x W^T
     * (beta = 1): one pass over y instead of two. */
    gemm_args g = {CblasNoTrans, CblasTrans, (int)rows, (int)out, (int)in, x->data, w->data,
                   (int)in, (int)in, b ? 1.0f : 0.0f, y->data, (int)out, b ? b->data : NULL};
    gemm(&g);
    return LC_OK;
}

lc_status lc_linear_backward(lc_tensor *dx, lc_tensor *dw, lc_tensor *db, const lc_tensor *dy,
                             const lc_tensor *x, const lc_tensor *w)
{
    const char *op = "linear_backward";
    int64_t rows = 0, in = 0, out = 0;
    lc_status st = linear_check(op, x, w, &rows, &in, &out);
    if (st == LC_OK)
        st = linear_check_matrix(op, "dy", dy, rows, out);
    if (st == LC_OK && dx)
        st = linear_check_matrix(op, "dx", dx, rows, in);
    if (st == LC_OK && dw)
        st = linear_check_matrix(op, "dw", dw, out, in);
    if (st == LC_OK && dw && dw->ndim != 2)
        st = lc_fail(LC_ERR_INVALID, "%s: dw must be [out, in] like w", op);
    if (st == LC_OK && db)
        st = linear_check_vector(op, "db", db, out);
    if (st != LC_OK)
        return st;
    if (dx && (dx->data == dy->data || dx->data == w->data))
        return lc_fail(LC_ERR_INVALID, "%s: dx must not share memory with dy or w", op);
    if (dw && (dw->data == dy->data || dw->data == x->data))
        return lc_fail(LC_ERR_INVALID, "%s: dw must not share memory with dy or x", op);

    gemm_args gx = {CblasNoTrans, CblasNoTrans, (int)rows, (int)in, (int)out, dy->data, w->data,
                    (int)out, (int)in, 0.0f, dx ? dx->data : NULL, (int)in, NULL};
    gemm_args gw = {CblasTrans, CblasNoTrans, (int)out, (int)in, (int)rows, dy->data, x->data,
                    (int)out, (int)in, 1.0f, dw ? dw->data : NULL, (int)in, NULL};
    linear_bwd_job j = {.db = db ? db->data : NULL, .dy = dy->data, .rows = rows, .out = out};
    if (dw)
        j.plan[j.nplans++] = gemm_plan_of(&gw);
    if (dx)
        j.plan[j.nplans++] = gemm_plan_of(&gx);
    size_t tasks = db ? 1 : 0;
    for (int i = 0; i < j.nplans; i++)
        tasks += (size_t)j.plan[i].slices;
    lc_blas_single_threaded();
    if (tasks > 0)
        lc_par_run(tasks, lc_par_threads(), linear_bwd_task, &j);
    return LC_OK;
}
