/*
 * kernels/half.h — conversions between float32 and the 16-bit float
 * formats float16 (IEEE binary16) and bfloat16, scalar and array forms.
 *
 * Rules (the same as the F16C instructions and as PyTorch's casts):
 *  - float32 -> 16 bits rounds to nearest, ties to even;
 *  - a value too large for the format becomes +-Inf (float16: |x| >= 65520,
 *    the midpoint between 65504 and the next power of two; bfloat16: past
 *    FLT_MAX after rounding);
 *  - Inf stays Inf, zeros keep their sign;
 *  - subnormals are kept in both directions (float16's smallest value is
 *    2^-24; 2^-25 is a tie and rounds to 0, anything above it to 2^-24);
 *  - a NaN comes out as a quiet NaN with its sign and its leading payload
 *    bits (16 -> 32 shifts the payload up, 32 -> 16 keeps the top bits).
 * So every 16-bit value that is not a NaN survives 16 -> 32 -> 16 exactly.
 *
 * Speed: the float16 array forms use the F16C instructions (VCVTPS2PH /
 * VCVTPH2PS, 8 values at a time) when the CPU has them — checked at run
 * time with __builtin_cpu_supports, the code compiled with
 * __attribute__((target("avx,f16c"))) so the library still runs on CPUs
 * without them — and portable integer code otherwise; both give the same
 * bits. bfloat16 is plain integer arithmetic the compiler vectorises.
 * The *_portable / *_f16c forms name one path explicitly, for tests; the
 * _f16c forms must only be called when lc_half_have_f16c() is 1.
 *
 * lc_round_f16 / lc_round_bf16 give the float32 nearest to x that the
 * format can hold (x -> 16 bits -> float32): how the CPU backend emulates
 * 16-bit storage in float32 buffers (backend.h).
 */
#ifndef LC_HALF_H
#define LC_HALF_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

/* ---- scalars ----------------------------------------------------------- */

uint16_t lc_f32_to_f16(float x);
float lc_f16_to_f32(uint16_t h);
uint16_t lc_f32_to_bf16(float x);
float lc_bf16_to_f32(uint16_t h);

/** x rounded to the nearest float16 / bfloat16 value, as a float32. */
float lc_round_f16(float x);
float lc_round_bf16(float x);

/* ---- arrays (n values; dst and src must not overlap, except the round
 *      forms, where dst may equal src) ---------------------------------- */

void lc_f32_to_f16_array(uint16_t *dst, const float *src, size_t n);
void lc_f16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void lc_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n);
void lc_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void lc_round_f16_array(float *dst, const float *src, size_t n);
void lc_round_bf16_array(float *dst, const float *src, size_t n);

/** dst <- src rounded to fmt's values (F16, BF16); F32 copies (or does
 *  nothing when dst == src). */
void lc_round_array(lc_dtype fmt, float *dst, const float *src, size_t n);

/* ---- one path, explicitly (tests) --------------------------------------- */

/** 1 if this CPU has F16C (and AVX), so the _f16c forms may be called. */
int lc_half_have_f16c(void);

void lc_f32_to_f16_array_portable(uint16_t *dst, const float *src, size_t n);
void lc_f16_to_f32_array_portable(float *dst, const uint16_t *src, size_t n);
void lc_round_f16_array_portable(float *dst, const float *src, size_t n);

void lc_f32_to_f16_array_f16c(uint16_t *dst, const float *src, size_t n);
void lc_f16_to_f32_array_f16c(float *dst, const uint16_t *src, size_t n);
void lc_round_f16_array_f16c(float *dst, const float *src, size_t n);

#endif
