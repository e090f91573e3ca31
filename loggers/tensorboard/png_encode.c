/*
 * loggers/tensorboard/png_encode.c — libpng into a memory buffer (see png_encode.h).
 *
 * libpng reports errors by longjmp from its error callback; the callback
 * keeps libpng's text so the caller gets it, and everything that must
 * survive the jump lives in a struct reached through a pointer.
 */
#include "png_encode.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_sink {
    uint8_t *data;
    size_t len, cap;
    int nomem;
    char msg[200];
} png_sink;

static void png_write_cb(png_structp png, png_bytep bytes, png_size_t n)
{
    png_sink *s = png_get_io_ptr(png);
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *p = realloc(s->data, cap);
        if (!p) {
            s->nomem = 1;
            png_error(png, "out of memory");
        }
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, n);
    s->len += n;
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

static void png_error_cb(png_structp png, png_const_charp msg)
{
    png_sink *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings do not affect the output */
}

int lc_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                  uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                       PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    *out = NULL;
    *out_len = 0;
    if (!pixels) {
        snprintf(err, errlen, "png: no pixel buffer");
        return -1;
    }
    if (channels < 1 || channels > 4) {
        snprintf(err, errlen, "png: %u channels; use 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)",
                 channels);
        return -1;
    }
    if (width == 0 || height == 0) {
        snprintf(err, errlen, "png: image is %ux%u; both sides must be at least 1", width, height);
        return -1;
    }
    if (width > LC_PNG_MAX_SIDE || height > LC_PNG_MAX_SIDE) {
        snprintf(err, errlen, "png: image is %ux%u; the largest side allowed is %u pixels", width,
                 height, LC_PNG_MAX_SIDE);
        return -1;
    }

    png_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "png: out of memory");
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s, png_error_cb, png_warning_cb);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        free(s);
        snprintf(err, errlen, "png: out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        snprintf(err, errlen, "png: cannot encode %ux%u image: %s", width, height,
                 s->nomem ? "out of memory" : s->msg);
        png_destroy_write_struct(&png, &info);
        free(s->data);
        free(s);
        return -1;
    }
    png_set_write_fn(png, s, png_write_cb, png_flush_cb);
    /* Speed over size: images are encoded on the dispatcher thread. */
    png_set_compression_level(png, 3);
    png_set_IHDR(png, info, width, height, 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * channels;
    for (uint32_t y = 0; y < height; y++)
        png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);

    *out = s->data;
    *out_len = s->len;
    free(s);
    return 0;
}
