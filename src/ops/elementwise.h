/* Elementwise float32 helpers other operators may call (activation
 * epilogues, softmax, normalisation...). Each picks the best variant for the
 * CPU (AVX-512, AVX2 or portable C, capped by LENS_ISA) and runs serially on
 * the calling thread: callers parallelise over their own blocks.
 *
 * Accuracy: exp, sigmoid, tanh and erf are within a few ulp of libm (about
 * 1e-6 relative, 1e-7 absolute near zero for erf); NaN propagates, +-inf map
 * to the limits. x and y may be the same array (in place) but must not
 * otherwise overlap. n may be 0. */
#ifndef LENS_OPS_ELEMENTWISE_H
#define LENS_OPS_ELEMENTWISE_H

#include <stddef.h>

#include "core/common.h"

void lens_f32_exp(const float *x, float *y, size_t n);
void lens_f32_sigmoid(const float *x, float *y, size_t n);
/* x * sigmoid(x) (SiLU / Swish). */
void lens_f32_silu(const float *x, float *y, size_t n);
void lens_f32_tanh(const float *x, float *y, size_t n);
void lens_f32_erf(const float *x, float *y, size_t n);
/* Gelu, erf form: x/2 * (1 + erf(x / sqrt 2)). */
void lens_f32_gelu(const float *x, float *y, size_t n);
/* x * max(0, min(1, x/6 + 1/2)) (HardSwish-14). */
void lens_f32_hardswish(const float *x, float *y, size_t n);
/* max(0, min(1, alpha*x + beta)) (HardSigmoid-6). */
void lens_f32_hardsigmoid(const float *x, float *y, size_t n, float alpha, float beta);
void lens_f32_relu(const float *x, float *y, size_t n);
void lens_f32_leakyrelu(const float *x, float *y, size_t n, float alpha);
/* min(max(x, lo), hi). */
void lens_f32_clip(const float *x, float *y, size_t n, float lo, float hi);

/* y += r, r broadcast to y's shape (numpy rules, one direction), both
 * float32, in place, over the running node's threads. SHAPE_MISMATCH if r
 * does not broadcast to y. For operators that fuse an Add (Conv's residual). */
typedef struct lens_exec lens_exec;
lens_status lens_f32_add_broadcast(lens_exec *ex, lens_tensor *y, const lens_tensor *r);

/* One variant's kernels; the binary ones compute y[i] = a[i*sa] op b[i*sb]
 * with sa, sb in {0, 1} (0: that operand is a broadcast scalar). */
typedef struct lens_eltw_f32 {
    void (*exp)(const float *x, float *y, size_t n);
    void (*sigmoid)(const float *x, float *y, size_t n);
    void (*silu)(const float *x, float *y, size_t n);
    void (*tanh)(const float *x, float *y, size_t n);
    void (*erf)(const float *x, float *y, size_t n);
    void (*gelu)(const float *x, float *y, size_t n);
    void (*hardswish)(const float *x, float *y, size_t n);
    void (*hardsigmoid)(const float *x, float *y, size_t n, float alpha, float beta);
    void (*relu)(const float *x, float *y, size_t n);
    void (*leakyrelu)(const float *x, float *y, size_t n, float alpha);
    void (*clip)(const float *x, float *y, size_t n, float lo, float hi);
    void (*add)(const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);
    void (*sub)(const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);
    void (*mul)(const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);
    void (*div)(const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);
    void (*max)(const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);
    void (*min)(const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);
} lens_eltw_f32;

/* The variants, for tests and benchmarks; the AVX ones may only be called
 * when lens_cpu_features() reports the instruction set. */
extern const lens_eltw_f32 lens_eltw_f32_ref;
extern const lens_eltw_f32 lens_eltw_f32_avx2;
extern const lens_eltw_f32 lens_eltw_f32_avx512;

/* The variant chosen for this CPU (never NULL). */
const lens_eltw_f32 *lens_eltw_f32_best(void);

#endif
