/* AVX2 resize inner loops: 8 columns per vector with hardware gathers; the
 * tail (under 8 columns) is scalar, in the same arithmetic. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "kernels/resize.h"

void lens_f32_resize_hlinear__avx2(const float *row, const int32_t *x0, const int32_t *x1,
                                   const float *a0, const float *a1, size_t n, float *out) {
    size_t o = 0;
    for (; o + 8 <= n; o += 8) {
        __m256 g0 = _mm256_i32gather_ps(row, _mm256_loadu_si256((const __m256i *)(x0 + o)), 4);
        __m256 g1 = _mm256_i32gather_ps(row, _mm256_loadu_si256((const __m256i *)(x1 + o)), 4);
        __m256 r = _mm256_mul_ps(_mm256_loadu_ps(a0 + o), g0);
        _mm256_storeu_ps(out + o, _mm256_fmadd_ps(_mm256_loadu_ps(a1 + o), g1, r));
    }
    for (; o < n; o++) out[o] = fmaf(a1[o], row[x1[o]], a0[o] * row[x0[o]]);
}

void lens_f32_resize_vlinear__avx2(const float *h0, const float *h1, float w0, float w1, size_t n,
                                   float *y) {
    const __m256 v0 = _mm256_set1_ps(w0), v1 = _mm256_set1_ps(w1);
    size_t o = 0;
    for (; o + 8 <= n; o += 8) {
        __m256 a = _mm256_mul_ps(v0, _mm256_loadu_ps(h0 + o));
        _mm256_storeu_ps(y + o, _mm256_fmadd_ps(v1, _mm256_loadu_ps(h1 + o), a));
    }
    for (; o < n; o++) y[o] = fmaf(w1, h1[o], w0 * h0[o]);
}

void lens_f32_resize_gather__avx2(const float *row, const int32_t *ix, size_t n, float *y) {
    size_t o = 0;
    for (; o + 8 <= n; o += 8)
        _mm256_storeu_ps(y + o,
                         _mm256_i32gather_ps(row, _mm256_loadu_si256((const __m256i *)(ix + o)), 4));
    for (; o < n; o++) y[o] = row[ix[o]];
}
#endif
