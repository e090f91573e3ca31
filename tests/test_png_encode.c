/*
 * tests/test_png_encode.c — PNG encoding: every channel layout decodes back
 * (with libpng's own reader) to the exact pixels; bad input (no buffer,
 * zero or oversized sides, unsupported channel counts) is refused with a
 * message and no output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "tensorboard/png_encode.h"

static uint8_t *make_pixels(uint32_t w, uint32_t h, uint32_t c)
{
    uint8_t *p = malloc((size_t)w * h * c);
    assert_non_null(p);
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        p[i] = (uint8_t)(i * 31 + i / 7);
    return p;
}

static void roundtrip(uint32_t w, uint32_t h, uint32_t c)
{
    static const png_uint_32 formats[5] = {0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                           PNG_FORMAT_RGBA};
    uint8_t *px = make_pixels(w, h, c);
    uint8_t *png = NULL;
    size_t n = 0;
    char err[256] = "";
    assert_int_equal(lc_png_encode(px, w, h, c, &png, &n, err, sizeof err), 0);
    assert_non_null(png);
    assert_true(n > 8);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_memory_equal(png, sig, 8);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png, n));
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    img.format = formats[c];
    uint8_t *back = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(back);
    assert_true(png_image_finish_read(&img, NULL, back, 0, NULL));
    assert_memory_equal(back, px, (size_t)w * h * c);
    free(back);
    free(png);
    free(px);
}

static void test_roundtrip_all_layouts(void **s)
{
    (void)s;
    roundtrip(28, 28, 1);
    roundtrip(17, 5, 2);
    roundtrip(32, 20, 3);
    roundtrip(9, 33, 4);
    roundtrip(1, 1, 1);
    roundtrip(1000, 1, 3);
}

static void expect_refused(const uint8_t *px, uint32_t w, uint32_t h, uint32_t c, const char *needle)
{
    uint8_t *png = (uint8_t *)1;
    size_t n = 99;
    char err[256] = "";
    assert_int_equal(lc_png_encode(px, w, h, c, &png, &n, err, sizeof err), -1);
    assert_null(png);
    assert_int_equal(n, 0);
    if (!strstr(err, needle))
        fail_msg("message '%s' lacks '%s'", err, needle);
}

static void test_bad_input(void **s)
{
    (void)s;
    uint8_t px[64] = {0};
    expect_refused(NULL, 4, 4, 1, "no pixel buffer");
    expect_refused(px, 0, 4, 1, "at least 1");
    expect_refused(px, 4, 0, 3, "at least 1");
    expect_refused(px, LC_PNG_MAX_SIDE + 1, 1, 1, "largest side");
    expect_refused(px, 1, 100000, 1, "largest side");
    expect_refused(px, 2, 2, 0, "channels");
    expect_refused(px, 2, 2, 5, "channels");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_layouts),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
