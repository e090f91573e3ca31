/*
 * loggers/crc32c.h — CRC-32C (Castagnoli) and the TFRecord mask.
 *
 * TFRecord frames (tfevents files) carry a masked CRC-32C of the 8 length
 * bytes and of the payload. lc_crc32c uses the CPU's CRC32 instruction
 * (x86-64 SSE4.2, or the ARMv8 CRC extension) when the CPU has it, and a
 * portable slicing-by-8 table otherwise; both give identical results and
 * are exposed separately so tests and benchmarks can compare them.
 *
 * Check value: lc_crc32c("123456789", 9) == 0xE3069283.
 */
#ifndef LC_CRC32C_H
#define LC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** CRC-32C of n bytes (init and final xor 0xFFFFFFFF, reflected). */
uint32_t lc_crc32c(const void *data, size_t n);

/** Continue a CRC: lc_crc32c_extend(lc_crc32c(a, na), b, nb) equals the
 *  CRC of a followed by b. Start with crc = 0. */
uint32_t lc_crc32c_extend(uint32_t crc, const void *data, size_t n);

/** The same through the portable table path (never the instruction). */
uint32_t lc_crc32c_portable(uint32_t crc, const void *data, size_t n);

/** The same through the CPU instruction; only valid when
 *  lc_crc32c_hw_available() returns 1. */
uint32_t lc_crc32c_hw(uint32_t crc, const void *data, size_t n);

/** 1 if this CPU has a CRC-32C instruction lightc can use, else 0. */
int lc_crc32c_hw_available(void);

/** "sse4.2", "armv8-crc" or "portable": the path lc_crc32c takes here. */
const char *lc_crc32c_impl(void);

/** TFRecord / LevelDB mask: rotate right by 15 bits, add 0xA282EAD8. The
 *  mask keeps a CRC of data that itself contains CRCs well distributed. */
static inline uint32_t lc_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

/** Inverse of lc_crc32c_mask. */
static inline uint32_t lc_crc32c_unmask(uint32_t masked)
{
    uint32_t rot = masked - 0xA282EAD8u;
    return (rot >> 17) | (rot << 15);
}

#endif /* LC_CRC32C_H */
