/* AVX-512 resize inner loops: 16 columns per vector, hardware gathers for
 * the column taps, masked tails (nothing read or written past n). */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/resize.h"

void lens_f32_resize_hlinear__avx512(const float *row, const int32_t *x0, const int32_t *x1,
                                     const float *a0, const float *a1, size_t n, float *out) {
    size_t o = 0;
    for (; o + 16 <= n; o += 16) {
        __m512 g0 = _mm512_i32gather_ps(_mm512_loadu_si512(x0 + o), row, 4);
        __m512 g1 = _mm512_i32gather_ps(_mm512_loadu_si512(x1 + o), row, 4);
        __m512 r = _mm512_mul_ps(_mm512_loadu_ps(a0 + o), g0);
        _mm512_storeu_ps(out + o, _mm512_fmadd_ps(_mm512_loadu_ps(a1 + o), g1, r));
    }
    if (o < n) {
        __mmask16 m = (__mmask16)((1u << (n - o)) - 1);
        __m512 z = _mm512_setzero_ps();
        __m512 g0 = _mm512_mask_i32gather_ps(z, m, _mm512_maskz_loadu_epi32(m, x0 + o), row, 4);
        __m512 g1 = _mm512_mask_i32gather_ps(z, m, _mm512_maskz_loadu_epi32(m, x1 + o), row, 4);
        __m512 r = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a0 + o), g0);
        r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a1 + o), g1, r);
        _mm512_mask_storeu_ps(out + o, m, r);
    }
}

void lens_f32_resize_vlinear__avx512(const float *h0, const float *h1, float w0, float w1,
                                     size_t n, float *y) {
    const __m512 v0 = _mm512_set1_ps(w0), v1 = _mm512_set1_ps(w1);
    size_t o = 0;
    for (; o + 32 <= n; o += 32) {
        __m512 a = _mm512_mul_ps(v0, _mm512_loadu_ps(h0 + o));
        __m512 b = _mm512_mul_ps(v0, _mm512_loadu_ps(h0 + o + 16));
        _mm512_storeu_ps(y + o, _mm512_fmadd_ps(v1, _mm512_loadu_ps(h1 + o), a));
        _mm512_storeu_ps(y + o + 16, _mm512_fmadd_ps(v1, _mm512_loadu_ps(h1 + o + 16), b));
    }
    for (; o < n; o += 16) {
        __mmask16 m = n - o >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - o)) - 1);
        __m512 a = _mm512_mul_ps(v0, _mm512_maskz_loadu_ps(m, h0 + o));
        _mm512_mask_storeu_ps(y + o, m, _mm512_fmadd_ps(v1, _mm512_maskz_loadu_ps(m, h1 + o), a));
    }
}

void lens_f32_resize_gather__avx512(const float *row, const int32_t *ix, size_t n, float *y) {
    size_t o = 0;
    for (; o + 16 <= n; o += 16)
        _mm512_storeu_ps(y + o, _mm512_i32gather_ps(_mm512_loadu_si512(ix + o), row, 4));
    if (o < n) {
        __mmask16 m = (__mmask16)((1u << (n - o)) - 1);
        __m512 g = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m,
                                            _mm512_maskz_loadu_epi32(m, ix + o), row, 4);
        _mm512_mask_storeu_ps(y + o, m, g);
    }
}
#endif
