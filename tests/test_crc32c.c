/*
 * tests/test_crc32c.c — CRC-32C against the published test vectors (the
 * standard check value, RFC 3720's 32-byte patterns, TensorBoard's own
 * masked vectors), hardware and portable paths agreeing on every length and
 * alignment, extend == one-shot, and mask/unmask round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(crc_fn f)
{
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    uint8_t b[32];
    memset(b, 0, sizeof b);
    assert_int_equal(f(0, b, 32), 0x8A9136AAu);
    memset(b, 0xFF, sizeof b);
    assert_int_equal(f(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    assert_int_equal(f(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, b, 32), 0x113FDB5Cu);
    assert_int_equal(f(0, "", 0), 0u);
}

static void test_vectors_portable(void **s)
{
    (void)s;
    check_vectors(lc_crc32c_portable);
}

static void test_vectors_hw(void **s)
{
    (void)s;
    if (!lc_crc32c_hw_available()) {
        skip();
        return;
    }
    check_vectors(lc_crc32c_hw);
}

static void test_vectors_dispatch(void **s)
{
    (void)s;
    check_vectors(lc_crc32c_extend);
    assert_int_equal(lc_crc32c("123456789", 9), 0xE3069283u);
    const char *impl = lc_crc32c_impl();
    assert_true(strcmp(impl, "portable") == 0 || strcmp(impl, "sse4.2") == 0 ||
                strcmp(impl, "armv8-crc") == 0);
}

/* TensorBoard's data-server test vectors (masked). */
static void test_masked_vectors(void **s)
{
    (void)s;
    uint8_t msg[2 + 17] = {0x1a, 0x11};
    memcpy(msg + 2, "CRC test, one two", 17);
    assert_int_equal(lc_crc32c_mask(lc_crc32c(msg, sizeof msg)), 0x5794D08Au);
    uint8_t len24[8] = {24, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(lc_crc32c_mask(lc_crc32c(len24, 8)), 0x224B7FA3u);
    uint8_t zeros[32] = {0};
    assert_int_equal(lc_crc32c_unmask(lc_crc32c_mask(lc_crc32c(zeros, 32))), 0x8A9136AAu);
}

static void test_mask_roundtrip(void **s)
{
    (void)s;
    uint32_t vals[] = {0, 1, 0xFFFFFFFFu, 0x80000000u, 0xE3069283u, 0x12345678u};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        assert_int_equal(lc_crc32c_unmask(lc_crc32c_mask(vals[i])), vals[i]);
        /* masking changes the value (it is not the identity) */
        if (vals[i] != lc_crc32c_unmask(vals[i]))
            assert_int_not_equal(lc_crc32c_mask(vals[i]), vals[i]);
    }
    /* rotate right 15 then add the delta, by hand */
    assert_int_equal(lc_crc32c_mask(1u), (1u << 17) + 0xA282EAD8u);
}

/* Every length 0..300 at every alignment 0..7: hw == portable == extend in
   two pieces, split anywhere. */
static void test_paths_agree(void **s)
{
    (void)s;
    uint8_t *buf = malloc(320);
    assert_non_null(buf);
    uint32_t x = 12345;
    for (int i = 0; i < 320; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    int hw = lc_crc32c_hw_available();
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= 300; n++) {
            const uint8_t *p = buf + align;
            uint32_t ref = lc_crc32c_portable(0, p, n);
            if (hw)
                assert_int_equal(lc_crc32c_hw(0, p, n), ref);
            assert_int_equal(lc_crc32c(p, n), ref);
            size_t cut = n / 3;
            assert_int_equal(lc_crc32c_extend(lc_crc32c(p, cut), p + cut, n - cut), ref);
            assert_int_equal(lc_crc32c_portable(lc_crc32c_portable(0, p, cut), p + cut, n - cut),
                             ref);
        }
    }
    /* one flipped bit changes the CRC */
    uint32_t before = lc_crc32c(buf, 100);
    buf[50] ^= 4;
    assert_int_not_equal(lc_crc32c(buf, 100), before);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_portable), cmocka_unit_test(test_vectors_hw),
        cmocka_unit_test(test_vectors_dispatch), cmocka_unit_test(test_masked_vectors),
        cmocka_unit_test(test_mask_roundtrip),   cmocka_unit_test(test_paths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
