/* AVX-512 strided copy. Stride 2 (the common strided convolution): 16
 * outputs from the 31 floats src[2t .. 2t+30], loaded as two vectors (the
 * second masked to 15 lanes so nothing past the last element used is
 * read) and picked with one two-source permute. Other strides: the
 * reference loop. */
#if defined(__x86_64__)
#include "kernels/stride.h"
#include "kernels/x86/act_avx512.h" /* lens_mask16 */

void lens_f32_strided_copy__avx512(const float *src, size_t s, size_t n, float *dst) {
    if (s != 2) {
        lens_f32_strided_copy__ref(src, s, n, dst);
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    size_t t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 a = _mm512_loadu_ps(src + 2 * t);
        __m512 b = _mm512_maskz_loadu_ps(0x7fff, src + 2 * t + 16);
        _mm512_storeu_ps(dst + t, _mm512_permutex2var_ps(a, even, b));
    }
    if (t < n) {
        size_t r = n - t, used = 2 * r - 1; /* src[2t .. 2t + 2(r-1)] */
        __m512 a = _mm512_maskz_loadu_ps(lens_mask16(LENS_MIN(used, (size_t)16)), src + 2 * t);
        __m512 b = _mm512_maskz_loadu_ps(lens_mask16(used > 16 ? used - 16 : 0), src + 2 * t + 16);
        _mm512_mask_storeu_ps(dst + t, lens_mask16(r), _mm512_permutex2var_ps(a, even, b));
    }
}
#endif
