/*
 * loggers/tensorboard/png_encode.h — encode 8-bit pixel buffers as PNG in memory.
 *
 * Used by the TensorBoard sink for image summaries (TensorBoard, PyTorch and
 * tensorboardX all store images as PNG). Built on libpng; the result is one
 * malloc'd buffer.
 */
#ifndef LC_PNG_ENCODE_H
#define LC_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Largest width or height accepted. TensorBoard shows images at their own
 * size; anything bigger is almost certainly a wrong stride or shape. */
#define LC_PNG_MAX_SIDE 16384u

/** Encode width x height pixels, row-major, 'channels' 8-bit samples per
 *  pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. On success returns 0 and a
 *  malloc'd PNG in *out (*out_len bytes; free() it). On bad input (NULL
 *  pixels, zero or oversized sides, other channel counts) or a libpng
 *  failure returns -1 with a message in err. */
int lc_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                  uint8_t **out, size_t *out_len, char *err, size_t errlen);

#endif /* LC_PNG_ENCODE_H */
