/* AVX-512 LayerNormalization row (kernels/norm.h): 16 floats per step,
 * widened to two 8-lane double vectors for the two statistics passes
 * (masked tails contribute exact zeros), then the output pass in float with
 * the reference's operation order (no FMA), so y differs from the
 * reference only where the double sums' order moves (float)mean or inv. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "kernels/norm.h"

static inline __mmask16 mask16(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

void lens_f32_layernorm_row__avx512(const float *x, float *y, size_t d, const float *scale,
                                    const float *bias, double eps, float *mean, float *inv) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (size_t i = 0; i < d; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(mask16(d - i), x + i);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
    }
    double m = d ? _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)) / (double)d : 0;
    __m512d mv = _mm512_set1_pd(m), q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    for (size_t i = 0; i < d; i += 16) {
        __mmask16 k = mask16(d - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m512d a = _mm512_maskz_sub_pd((__mmask8)k, _mm512_cvtps_pd(_mm512_castps512_ps256(v)), mv);
        __m512d b = _mm512_maskz_sub_pd((__mmask8)(k >> 8),
                                        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))),
                                        mv);
        q0 = _mm512_fmadd_pd(a, a, q0);
        q1 = _mm512_fmadd_pd(b, b, q1);
    }
    double var = d ? _mm512_reduce_add_pd(_mm512_add_pd(q0, q1)) / (double)d : 0;
    float in = (float)(1.0 / sqrt(var + eps)), mf = (float)m;
    *mean = mf;
    *inv = in;
    __m512 mfv = _mm512_set1_ps(mf), iv = _mm512_set1_ps(in);
    for (size_t i = 0; i < d; i += 16) {
        __mmask16 k = mask16(d - i);
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mfv), iv),
                                 _mm512_maskz_loadu_ps(k, scale + i));
        if (bias) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(k, bias + i));
        _mm512_mask_storeu_ps(y + i, k, t);
    }
}
#endif
