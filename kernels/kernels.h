/*
 * kernels/kernels.h — the CPU kernels in one include, for the trainer:
 * tensor + RNG, linear (GEMM through OpenBLAS) and bias add, ReLU/GELU,
 * dropout, fused softmax + cross-entropy, deterministic reductions,
 * optimizer update rules and gradient clipping, BLAS info; the 16-bit
 * formats (dtype.h, half.h), their CPU emulation (lowp.h), the loss
 * scaler (loss_scaler.h), the backend table (backend.h) and the compute
 * context (autocast.h).
 *
 * Conventions shared by every kernel:
 *  - float32, contiguous row-major host tensors (tensor.h) for the kernels
 *    themselves; other dtypes and devices go through backend.h;
 *  - forward(out, in...) / backward(d_in..., d_out, saved...) argument order;
 *  - parameter gradients accumulate (+=), activation gradients are
 *    overwritten;
 *  - a bad argument (shape mismatch, label out of range, NULL buffer)
 *    returns LC_ERR_INVALID with lc_errmsg() saying what to fix; nothing
 *    aborts.
 */
#ifndef LC_KERNELS_H
#define LC_KERNELS_H

#include "activations.h"
#include "autocast.h"
#include "backend.h"
#include "blas_info.h"
#include "dropout.h"
#include "dtype.h"
#include "half.h"
#include "linear.h"
#include "loss_scaler.h"
#include "lowp.h"
#include "optim_kernels.h"
#include "reduce.h"
#include "rng.h"
#include "softmax_xent.h"
#include "tensor.h"

#endif
