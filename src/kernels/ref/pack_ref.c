/* Portable transposing 8-row pack: the reference for kernels/pack.h. */
#include "kernels/pack.h"

void lens_f32_pack_t8__ref(const float *src, size_t rs, size_t n, size_t kc, float scale, float *dst) {
    for (size_t t = 0; t < n; t++) {
        const float *s = src + t * rs;
        for (size_t k = 0; k < kc; k++) dst[k * 8 + t] = s[k] * scale;
    }
    for (size_t t = n; t < 8; t++)
        for (size_t k = 0; k < kc; k++) dst[k * 8 + t] = 0.0f;
}
