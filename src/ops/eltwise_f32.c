/* Portable build of the float32 elementwise kernels (see
 * eltwise_f32_impl.h), the dispatcher that picks a variant for the CPU, and
 * the lens_f32_* helpers of elementwise.h. */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC's -O2 cost model never vectorises a loop of unknown trip count; these
 * loops are the reason the file exists, so ask for -O3 here. */
#pragma GCC optimize("O3")
#endif
#define LENS_ELTW_SUFFIX ref
#include "ops/eltwise_f32_impl.h"

#include "core/common.h"

const lens_eltw_f32 *lens_eltw_f32_best(void) {
#if defined(__x86_64__) || defined(__i386__)
    const lens_cpu *cpu = lens_cpu_features();
    if (cpu->avx512f && cpu->avx512dq && cpu->avx512bw && cpu->avx512vl && cpu->avx2 && cpu->fma)
        return &lens_eltw_f32_avx512;
    if (cpu->avx2 && cpu->fma) return &lens_eltw_f32_avx2;
#endif
    return &lens_eltw_f32_ref;
}

void lens_f32_exp(const float *x, float *y, size_t n) { lens_eltw_f32_best()->exp(x, y, n); }
void lens_f32_sigmoid(const float *x, float *y, size_t n) { lens_eltw_f32_best()->sigmoid(x, y, n); }
void lens_f32_silu(const float *x, float *y, size_t n) { lens_eltw_f32_best()->silu(x, y, n); }
void lens_f32_tanh(const float *x, float *y, size_t n) { lens_eltw_f32_best()->tanh(x, y, n); }
void lens_f32_erf(const float *x, float *y, size_t n) { lens_eltw_f32_best()->erf(x, y, n); }
void lens_f32_gelu(const float *x, float *y, size_t n) { lens_eltw_f32_best()->gelu(x, y, n); }
void lens_f32_hardswish(const float *x, float *y, size_t n) {
    lens_eltw_f32_best()->hardswish(x, y, n);
}
void lens_f32_hardsigmoid(const float *x, float *y, size_t n, float alpha, float beta) {
    lens_eltw_f32_best()->hardsigmoid(x, y, n, alpha, beta);
}
void lens_f32_relu(const float *x, float *y, size_t n) { lens_eltw_f32_best()->relu(x, y, n); }
void lens_f32_leakyrelu(const float *x, float *y, size_t n, float alpha) {
    lens_eltw_f32_best()->leakyrelu(x, y, n, alpha);
}
void lens_f32_clip(const float *x, float *y, size_t n, float lo, float hi) {
    lens_eltw_f32_best()->clip(x, y, n, lo, hi);
}
