/*
 * kernels/simd.h — run-time ISA dispatch for the hot elementwise loops.
 *
 * The library is built for baseline x86-64 (SSE2) so binaries stay
 * portable. LC_SIMD_CLONES on a function asks GCC for AVX-512 and AVX2
 * copies next to the baseline one; the dynamic loader picks one per
 * process from CPUID (an ifunc), so a call costs what a PLT call costs.
 *
 * Bit-identity: every clone performs the same IEEE operations in the same
 * order per element (the loops it is used on are elementwise, or reduce in
 * a fixed lane order written out in C), and kernels are compiled with
 * -ffp-contract=off, so no clone fuses a multiply-add. Wider vectors change
 * how many elements one instruction handles, never a result.
 *
 * Elsewhere (clang, non-x86, sanitizer builds where ifuncs are a nuisance)
 * the macro is empty and the baseline loop is all there is.
 */
#ifndef LC_SIMD_H
#define LC_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define LC_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LC_SIMD_CLONES
#endif

#endif
