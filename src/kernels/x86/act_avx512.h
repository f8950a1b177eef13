/* AVX-512 activation helpers, inline in the AVX-512 kernels (include only
 * from *_avx512.c files, which are compiled for that ISA). */
#ifndef LENS_KERNELS_X86_ACT_AVX512_H
#define LENS_KERNELS_X86_ACT_AVX512_H

#include <immintrin.h>

#include "kernels/act.h"
#include "ops/op.h"

/* exp(x): range reduction x = n*ln2 + r, |r| <= ln2/2, degree-6 Taylor
 * (relative error ~1e-7), scaled by 2^n with vscalefps (which also gives
 * inf / 0 at the ends without integer tricks). */
static inline __m512 lens_exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-103.0f)), _mm512_set1_ps(88.7f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* erf(x): the rational approximation on [-4, 4] that the elementwise Erf
 * uses (ops/eltwise_f32_impl.h, from Eigen; within a few float ulp of the
 * true erf), outside which erf is +-1 to float precision. A NaN x gives a
 * finite value here: GELU below multiplies by x, which brings the NaN back. */
static inline __m512 lens_erf_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(-2.72614225801306e-10f), x2, _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(p, x);
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(-1.45660718464996e-05f), x2, _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.42647390514189e-02f));
    return _mm512_div_ps(p, q);
}

/* GELU, erf form (Gelu-20): x/2 * (1 + erf(x / sqrt 2)). Kept out of
 * line: the activation switch below is inlined into every micro-kernel's
 * epilogue, and the erf polynomial there would grow the code of the GEMM
 * and depthwise kernels for all activations, not only GELU. */
static __attribute__((noinline, unused)) __m512 lens_gelu_avx512(__m512 v) {
    __m512 e = lens_erf_avx512(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
    __m512 h = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(h, e, h);
}

/* Activations the vector path covers; the rest (TANH) go through the
 * reference after the store. */
static inline bool lens_act_vectorised_avx512(int32_t act) {
    return act != LENS_ACT_TANH;
}

static inline __m512 lens_act_avx512(__m512 v, const lens_act_params *p) {
    switch (p->act) {
    case LENS_ACT_RELU:
        return _mm512_max_ps(v, _mm512_setzero_ps());
    case LENS_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(p->alpha)), _mm512_set1_ps(p->beta));
    case LENS_ACT_SIGMOID:
        return _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_add_ps(_mm512_set1_ps(1.0f),
                                           lens_exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    case LENS_ACT_HARDSIGMOID:
        return _mm512_max_ps(_mm512_setzero_ps(),
                             _mm512_min_ps(_mm512_set1_ps(1.0f),
                                           _mm512_fmadd_ps(v, _mm512_set1_ps(p->alpha),
                                                           _mm512_set1_ps(p->beta))));
    case LENS_ACT_HARDSWISH: {
        __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        t = _mm512_max_ps(_mm512_setzero_ps(), _mm512_min_ps(_mm512_set1_ps(1.0f), t));
        return _mm512_mul_ps(v, t);
    }
    case LENS_ACT_SILU:
        return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f),
                                              lens_exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    case LENS_ACT_LEAKYRELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(p->alpha));
    }
    case LENS_ACT_GELU:
        return lens_gelu_avx512(v);
    default:
        return v;
    }
}

static inline __mmask16 lens_mask16(size_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

#endif
