/* Float32 elementwise kernels written once in plain C and compiled several
 * times: eltwise_f32.c (portable), eltwise_f32_avx2.c and
 * eltwise_f32_avx512.c include this file after defining LENS_ELTW_SUFFIX,
 * and the compiler vectorises the loops for each instruction set. No
 * intrinsics: what makes the loops vectorisable is that every function is
 * branch-free per element (selects, not ifs) and calls no libm.
 *
 * The math functions follow Cephes (expf, tanhf) and Eigen (erf) and are
 * accurate to a few ulp; test_elementwise.c checks every variant against
 * libm. Inputs and outputs may alias exactly (in place) but must not
 * overlap otherwise. */
#ifndef LENS_ELTW_SUFFIX
#error "define LENS_ELTW_SUFFIX before including eltwise_f32_impl.h"
#endif

#if defined(__GNUC__) && !defined(__clang__)
/* The selects below compare floats; under the default -ftrapping-math GCC
 * will not if-convert them (a compare might raise a flag it must keep), and
 * the loops stay scalar. No code here reads floating-point flags. */
#pragma GCC optimize("no-trapping-math")
#endif

#include <stdint.h>
#include <string.h>

#include "ops/elementwise.h"

#define LENS_ELTW_CAT2(a, b) a##_##b
#define LENS_ELTW_CAT(a, b) LENS_ELTW_CAT2(a, b)
#define K(name) LENS_ELTW_CAT(name, LENS_ELTW_SUFFIX)

static inline float K(bits_to_f)(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline uint32_t K(f_to_bits)(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* exp(x): x = n*ln2 + r with |r| <= ln2/2, e^r by the Cephes expf
 * polynomial, 2^n applied as two halves so that n in [-150, 128] needs no
 * special case: results overflow to inf and underflow through the
 * subnormals to 0 as libm's do. */
static inline float K(exp1)(float x) {
    float xc = x == x ? x : 0.0f; /* NaN: compute on 0, select NaN at the end */
    xc = xc < -104.0f ? -104.0f : xc;
    xc = xc > 89.0f ? 89.0f : xc;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = xc * 1.44269504088896341f + magic;
    int32_t n = (int32_t)(K(f_to_bits)(t) - K(f_to_bits)(magic));
    float nf = t - magic;
    float r = xc - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    int32_t n1 = n >> 1; /* arithmetic shift: floor(n / 2) */
    int32_t n2 = n - n1;
    float s1 = K(bits_to_f)((uint32_t)(n1 + 127) << 23);
    float s2 = K(bits_to_f)((uint32_t)(n2 + 127) << 23);
    float y = p * s1 * s2;
    return x == x ? y : x;
}

/* tanh(x): the Cephes odd polynomial for |x| < 0.625, else
 * 1 - 2 / (e^{2|x|} + 1) with the sign of x; both are computed and one is
 * selected so that the loop stays branch-free. */
static inline float K(tanh1)(float x) {
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float e = K(exp1)(2.0f * ax);
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

/* erf(x): Eigen's rational approximation on [-4, 4] (erf is 1 to float
 * precision beyond). */
static inline float K(erf1)(float x) {
    float xc = x < -4.0f ? -4.0f : x;
    xc = xc > 4.0f ? 4.0f : xc;
    float x2 = xc * xc;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    p = p * xc;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    float y = p / q;
    return x == x ? y : x;
}

static void K(exp)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = K(exp1)(x[i]);
}

/* sigmoid(x) = 1 / (1 + e^-x): for x -> -inf e^-x overflows to inf and the
 * quotient to 0, which is the right limit. */
static void K(sigmoid)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + K(exp1)(-x[i]));
}

static void K(silu)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + K(exp1)(-x[i]));
}

static void K(tanh)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = K(tanh1)(x[i]);
}

static void K(erf)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = K(erf1)(x[i]);
}

/* Gelu, erf form: x/2 * (1 + erf(x / sqrt 2)). */
static void K(gelu)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * (1.0f + K(erf1)(x[i] * 0.70710678118654752f));
}

/* HardSwish-14: x * max(0, min(1, x/6 + 1/2)). */
static void K(hardswish)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float t = x[i] * (1.0f / 6.0f) + 0.5f;
        t = t < 0.0f ? 0.0f : t;
        t = t > 1.0f ? 1.0f : t;
        y[i] = x[i] * t;
    }
}

/* HardSigmoid-6: max(0, min(1, alpha*x + beta)). */
static void K(hardsigmoid)(const float *x, float *y, size_t n, float alpha, float beta) {
    for (size_t i = 0; i < n; i++) {
        float t = alpha * x[i] + beta;
        t = t < 0.0f ? 0.0f : t;
        t = t > 1.0f ? 1.0f : t;
        y[i] = t;
    }
}

/* max(0, x); NaN stays NaN as in numpy. */
static void K(relu)(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

static void K(leakyrelu)(const float *x, float *y, size_t n, float alpha) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
}

/* min(max(x, lo), hi): hi wins when lo > hi, as Clip-13 specifies. */
static void K(clip)(const float *x, float *y, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

/* Binary kernels: y[i] = a[i*sa] op b[i*sb] with sa, sb in {0, 1}. The
 * three common patterns get their own loop so each vectorises. */
#define LENS_ELTW_BINARY(name, expr)                                                       \
    static void K(name)(const float *a, size_t sa, const float *b, size_t sb, float *y,     \
                        size_t n) {                                                        \
        if (sa && sb) {                                                                    \
            for (size_t i = 0; i < n; i++) {                                               \
                float u = a[i], v = b[i];                                                  \
                y[i] = (expr);                                                             \
            }                                                                              \
        } else if (sb) {                                                                   \
            float u = a[0];                                                                \
            for (size_t i = 0; i < n; i++) {                                               \
                float v = b[i];                                                            \
                y[i] = (expr);                                                             \
            }                                                                              \
        } else if (sa) {                                                                   \
            float v = b[0];                                                                \
            for (size_t i = 0; i < n; i++) {                                               \
                float u = a[i];                                                            \
                y[i] = (expr);                                                             \
            }                                                                              \
        } else {                                                                           \
            float u = a[0], v = b[0];                                                      \
            for (size_t i = 0; i < n; i++) y[i] = (expr);                                  \
        }                                                                                  \
    }

LENS_ELTW_BINARY(add, u + v)
LENS_ELTW_BINARY(sub, u - v)
LENS_ELTW_BINARY(mul, u * v)
LENS_ELTW_BINARY(div, u / v)
/* Max/Min propagate NaN from either side (numpy maximum/minimum). */
LENS_ELTW_BINARY(max, (u != u || v != v) ? u + v : (u > v ? u : v))
LENS_ELTW_BINARY(min, (u != u || v != v) ? u + v : (u < v ? u : v))
#undef LENS_ELTW_BINARY

const lens_eltw_f32 K(lens_eltw_f32) = {
    .exp = K(exp),
    .sigmoid = K(sigmoid),
    .silu = K(silu),
    .tanh = K(tanh),
    .erf = K(erf),
    .gelu = K(gelu),
    .hardswish = K(hardswish),
    .hardsigmoid = K(hardsigmoid),
    .relu = K(relu),
    .leakyrelu = K(leakyrelu),
    .clip = K(clip),
    .add = K(add),
    .sub = K(sub),
    .mul = K(mul),
    .div = K(div),
    .max = K(max),
    .min = K(min),
};

#undef K
#undef LENS_ELTW_CAT
#undef LENS_ELTW_CAT2
