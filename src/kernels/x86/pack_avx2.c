/* AVX2 layout kernels (kernels/pack.h). The transposing 8-row pack: 8 rows x 8 columns are
 * loaded as 8 vectors and transposed in registers (unpacklo/hi pairs rows,
 * shuffle makes 4-row quads, permute2f128 joins the 128-bit halves), so
 * each of the 8 output rows of the panel is one 32-byte store. Rows past n
 * are zero vectors (never loaded); the last kc % 8 columns go one at a
 * time. The products with `scale` are the same single roundings as the
 * reference's, so results are bitwise equal. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/pack.h"

/* r[0..7] (rows) -> o[0..7] (columns) */
static inline __attribute__((always_inline)) void transpose8(const __m256 *r, __m256 *o) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

void lens_f32_pack_t8__avx2(const float *src, size_t rs, size_t n, size_t kc, float scale, float *dst) {
    const float *row[8];
    for (size_t t = 0; t < 8; t++) row[t] = t < n ? src + t * rs : NULL;
    const __m256 sv = _mm256_set1_ps(scale);
    const bool scaled = scale != 1.0f;
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (size_t t = 0; t < 8; t++) {
            /* scaled before the transpose so padding rows stay +0 */
            __m256 x = row[t] ? _mm256_loadu_ps(row[t] + k) : _mm256_setzero_ps();
            r[t] = scaled && row[t] ? _mm256_mul_ps(x, sv) : x;
        }
        __m256 o[8];
        transpose8(r, o);
        for (size_t j = 0; j < 8; j++)
            _mm256_storeu_ps(dst + (k + j) * 8, o[j]);
    }
    for (; k < kc; k++)
        for (size_t t = 0; t < 8; t++) dst[k * 8 + t] = row[t] ? row[t][k] * scale : 0.0f;
}

/* 8 x 8 blocks in registers; the right and bottom edges (na % 8, nb % 8)
 * element by element. Loads, shuffles and stores only move bits, so int32
 * data passes unchanged. */
void lens_f32_transpose__avx2(float *dst, size_t ds, const float *src, size_t ss, size_t na, size_t nb) {
    size_t a8 = na & ~(size_t)7, b8 = nb & ~(size_t)7;
    for (size_t b = 0; b < b8; b += 8)
        for (size_t a = 0; a < a8; a += 8) {
            __m256 r[8], o[8];
            for (size_t t = 0; t < 8; t++) r[t] = _mm256_loadu_ps(src + a + (b + t) * ss);
            transpose8(r, o);
            for (size_t t = 0; t < 8; t++) _mm256_storeu_ps(dst + (a + t) * ds + b, o[t]);
        }
    for (size_t a = 0; a < na; a++) {
        size_t b0 = a < a8 ? b8 : 0;
        for (size_t b = b0; b < nb; b++) memcpy(dst + a * ds + b, src + a + b * ss, sizeof(float));
    }
}
#endif
