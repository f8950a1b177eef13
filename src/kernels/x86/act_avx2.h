/* AVX2 activation helpers, inline in the AVX2 kernels (include only from
 * *_avx2.c files). */
#ifndef LENS_KERNELS_X86_ACT_AVX2_H
#define LENS_KERNELS_X86_ACT_AVX2_H

#include <immintrin.h>

#include "kernels/act.h"
#include "ops/op.h"

/* exp(x) as in act_avx512.h; 2^n is built in the exponent bits, so x is
 * clamped to where n stays a normal exponent (exp underflows to ~1e-38). */
static inline __m256 lens_exp_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* erf(x): the rational approximation on [-4, 4] that the elementwise Erf
 * uses (ops/eltwise_f32_impl.h, from Eigen; within a few float ulp of the
 * true erf), outside which erf is +-1 to float precision. A NaN x gives a
 * finite value here: GELU below multiplies by x, which brings the NaN back. */
static inline __m256 lens_erf_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(-2.72614225801306e-10f), x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(p, x);
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(-1.45660718464996e-05f), x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    return _mm256_div_ps(p, q);
}

/* GELU, erf form (Gelu-20): x/2 * (1 + erf(x / sqrt 2)). Kept out of
 * line: the activation switch below is inlined into every micro-kernel's
 * epilogue, and the erf polynomial there would grow the code of the GEMM
 * and depthwise kernels for all activations, not only GELU. */
static __attribute__((noinline, unused)) __m256 lens_gelu_avx2(__m256 v) {
    __m256 e = lens_erf_avx2(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
    __m256 h = _mm256_mul_ps(v, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, e, h);
}

static inline bool lens_act_vectorised_avx2(int32_t act) {
    return act != LENS_ACT_TANH;
}

static inline __m256 lens_act_avx2(__m256 v, const lens_act_params *p) {
    switch (p->act) {
    case LENS_ACT_RELU:
        return _mm256_max_ps(v, _mm256_setzero_ps());
    case LENS_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(p->alpha)), _mm256_set1_ps(p->beta));
    case LENS_ACT_SIGMOID:
        return _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_add_ps(_mm256_set1_ps(1.0f),
                                           lens_exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    case LENS_ACT_HARDSIGMOID:
        return _mm256_max_ps(_mm256_setzero_ps(),
                             _mm256_min_ps(_mm256_set1_ps(1.0f),
                                           _mm256_fmadd_ps(v, _mm256_set1_ps(p->alpha),
                                                           _mm256_set1_ps(p->beta))));
    case LENS_ACT_HARDSWISH: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
        t = _mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(_mm256_set1_ps(1.0f), t));
        return _mm256_mul_ps(v, t);
    }
    case LENS_ACT_SILU:
        return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f),
                                              lens_exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    case LENS_ACT_LEAKYRELU: {
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(p->alpha)), neg);
    }
    case LENS_ACT_GELU:
        return lens_gelu_avx2(v);
    default:
        return v;
    }
}

/* Lane mask for the first n (< 8 allowed) lanes, for maskload/maskstore. */
static inline __m256i lens_mask8(size_t n) {
    static const int32_t tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    if (n > 8) n = 8;
    return _mm256_loadu_si256((const __m256i *)(tab + 8 - n));
}

#endif
