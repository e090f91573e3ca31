/*
 * loggers/crc32c.c — CRC-32C with a hardware path and a portable fallback.
 *
 * Portable path: slicing-by-8 (eight 256-entry tables, 8 bytes per step),
 * tables built once on first use. Hardware path: the CRC32 instruction
 * (polynomial 0x1EDC6F41, i.e. exactly CRC-32C), 8 bytes per instruction.
 * The choice is made once, at the first call, from what the CPU reports.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define LC_CRC_X86 1
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#define LC_CRC_ARM 1
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

/* ---------------------------------------------------------------------- */
/* portable: slicing-by-8                                                  */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_have_hw;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xFF] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
#if defined(LC_CRC_X86)
    __builtin_cpu_init();
    crc_have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#elif defined(LC_CRC_ARM)
    crc_have_hw = (getauxval(AT_HWCAP) & HWCAP_CRC32) ? 1 : 0;
#else
    crc_have_hw = 0;
#endif
}

static inline uint64_t crc_load64_le(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t lc_crc32c_portable(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t v = crc_load64_le(p) ^ c;
        c = crc_table[7][v & 0xFF] ^ crc_table[6][(v >> 8) & 0xFF] ^
            crc_table[5][(v >> 16) & 0xFF] ^ crc_table[4][(v >> 24) & 0xFF] ^
            crc_table[3][(v >> 32) & 0xFF] ^ crc_table[2][(v >> 40) & 0xFF] ^
            crc_table[1][(v >> 48) & 0xFF] ^ crc_table[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

/* ---------------------------------------------------------------------- */
/* hardware                                                                */

#if defined(LC_CRC_X86)
__attribute__((target("sse4.2")))
static uint32_t crc_hw_impl(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
#if defined(__x86_64__)
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
#endif
    while (n >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        c = _mm_crc32_u32(c, v);
        p += 4;
        n -= 4;
    }
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return ~c;
}
#elif defined(LC_CRC_ARM)
__attribute__((target("+crc")))
static uint32_t crc_hw_impl(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __crc32cb(c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __crc32cd(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __crc32cb(c, *p++);
    return ~c;
}
#endif

int lc_crc32c_hw_available(void)
{
    pthread_once(&crc_once, crc_init);
    return crc_have_hw;
}

uint32_t lc_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
#if defined(LC_CRC_X86) || defined(LC_CRC_ARM)
    if (lc_crc32c_hw_available())
        return crc_hw_impl(crc, data, n);
#endif
    /* Documented as invalid without the instruction; stay correct anyway. */
    return lc_crc32c_portable(crc, data, n);
}

const char *lc_crc32c_impl(void)
{
    if (!lc_crc32c_hw_available())
        return "portable";
#if defined(LC_CRC_X86)
    return "sse4.2";
#else
    return "armv8-crc";
#endif
}

uint32_t lc_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
#if defined(LC_CRC_X86) || defined(LC_CRC_ARM)
    if (lc_crc32c_hw_available())
        return crc_hw_impl(crc, data, n);
#endif
    return lc_crc32c_portable(crc, data, n);
}

uint32_t lc_crc32c(const void *data, size_t n)
{
    return lc_crc32c_extend(0, data, n);
}
