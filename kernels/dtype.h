/*
 * kernels/dtype.h — the element types and devices a tensor can have.
 *
 * lightc computes in float32 by default; the precision plugins
 * (trainer/precision.h) add float16 (IEEE 754 binary16: 1 sign, 5 exponent,
 * 10 mantissa bits, max 65504) and bfloat16 (1 sign, 8 exponent, 7
 * mantissa bits: float32's range with 3 significant digits). Conversions
 * between them are in half.h.
 *
 * A device says where a tensor's memory lives: host RAM, or a CUDA GPU
 * (memory a host pointer must not touch). The kernel backend of a device
 * (backend.h) is the only code that reads or writes its tensors.
 */
#ifndef LC_DTYPE_H
#define LC_DTYPE_H

#include <stddef.h>

#include "lightc/status.h"

typedef enum lc_dtype {
    LC_DTYPE_F32 = 0,  /* float32: the default (a zeroed tensor is float32) */
    LC_DTYPE_F16 = 1,  /* IEEE binary16 ("float16", torch.half) */
    LC_DTYPE_BF16 = 2  /* bfloat16 (torch.bfloat16) */
} lc_dtype;

#define LC_DTYPE_COUNT 3

typedef enum lc_device {
    LC_DEVICE_HOST = 0, /* host memory (the CPU backend) */
    LC_DEVICE_CUDA = 1  /* CUDA device memory (the CUDA backend, when compiled in) */
} lc_device;

#define LC_DEVICE_COUNT 2

/** Bytes per element: 4 for float32, 2 for the 16-bit types, 0 if unknown. */
size_t lc_dtype_size(lc_dtype d);

/** PyTorch's names: "float32", "float16", "bfloat16" ("?" if unknown). */
const char *lc_dtype_name(lc_dtype d);

/** Parse a dtype name: "float32"/"float"/"f32", "float16"/"half"/"f16",
 *  "bfloat16"/"bf16". LC_ERR_INVALID with the accepted names otherwise. */
lc_status lc_dtype_parse(const char *name, lc_dtype *out);

/** "cpu" or "cuda" ("?" if unknown). */
const char *lc_device_name(lc_device d);

#endif
