/* Portable strided copy: the reference the SIMD variant is tested against. */
#include "kernels/stride.h"

void lens_f32_strided_copy__ref(const float *src, size_t s, size_t n, float *dst) {
    for (size_t t = 0; t < n; t++) dst[t] = src[t * s];
}
