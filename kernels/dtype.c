/*
 * kernels/dtype.c — names and sizes of the tensor element types and
 * devices (see dtype.h).
 */
#include "dtype.h"

#include <string.h>

#include "common/status.h"

size_t lc_dtype_size(lc_dtype d)
{
    switch (d) {
    case LC_DTYPE_F32: return 4;
    case LC_DTYPE_F16:
    case LC_DTYPE_BF16: return 2;
    }
    return 0;
}

const char *lc_dtype_name(lc_dtype d)
{
    switch (d) {
    case LC_DTYPE_F32: return "float32";
    case LC_DTYPE_F16: return "float16";
    case LC_DTYPE_BF16: return "bfloat16";
    }
    return "?";
}

lc_status lc_dtype_parse(const char *name, lc_dtype *out)
{
    static const struct {
        const char *name;
        lc_dtype d;
    } names[] = {
        {"float32", LC_DTYPE_F32}, {"float", LC_DTYPE_F32},    {"f32", LC_DTYPE_F32},
        {"float16", LC_DTYPE_F16}, {"half", LC_DTYPE_F16},     {"f16", LC_DTYPE_F16},
        {"bfloat16", LC_DTYPE_BF16}, {"bf16", LC_DTYPE_BF16},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].d;
            return LC_OK;
        }
    }
    return lc_fail(LC_ERR_INVALID, "unknown dtype '%s'; use float32, float16 or bfloat16",
                   name ? name : "(null)");
}

const char *lc_device_name(lc_device d)
{
    switch (d) {
    case LC_DEVICE_HOST: return "cpu";
    case LC_DEVICE_CUDA: return "cuda";
    }
    return "?";
}
