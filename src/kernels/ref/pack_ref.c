/* Portable layout kernels: the references for kernels/pack.h. */
#include <string.h>

#include "kernels/pack.h"

void lens_f32_pack_t8__ref(const float *src, size_t rs, size_t n, size_t kc, float scale, float *dst) {
    for (size_t t = 0; t < n; t++) {
        const float *s = src + t * rs;
        for (size_t k = 0; k < kc; k++) dst[k * 8 + t] = s[k] * scale;
    }
    for (size_t t = n; t < 8; t++)
        for (size_t k = 0; k < kc; k++) dst[k * 8 + t] = 0.0f;
}

/* memcpy, not a float assignment: Transpose also moves int32 data through
 * here, and the bits must survive whatever they mean as floats. */
void lens_f32_transpose__ref(float *dst, size_t ds, const float *src, size_t ss, size_t na, size_t nb) {
    for (size_t a = 0; a < na; a++)
        for (size_t b = 0; b < nb; b++) memcpy(dst + a * ds + b, src + a + b * ss, sizeof(float));
}
