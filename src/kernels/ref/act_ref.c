/* Portable activations: the reference every SIMD variant is checked against.
 * Formulas follow the ONNX operators they replace when fused: Relu-14,
 * Clip-13, Sigmoid-13, HardSigmoid-6, HardSwish-14, LeakyRelu-16, Tanh-13,
 * Gelu-20 (erf form); SiLU is x*Sigmoid(x) as PyTorch exports it. */
#include <math.h>

#include "kernels/act.h"
#include "ops/op.h"

void lens_act_apply_ref(lens_act act, float alpha, float beta, float *x, size_t n) {
    switch (act) {
    case LENS_ACT_NONE:
        break;
    case LENS_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case LENS_ACT_CLIP:
        /* NaN stays NaN as with Clip: comparisons are false. */
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            if (v < alpha) v = alpha;
            if (v > beta) v = beta;
            x[i] = v;
        }
        break;
    case LENS_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case LENS_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) x[i] = fmaxf(0.0f, fminf(1.0f, alpha * x[i] + beta));
        break;
    case LENS_ACT_HARDSWISH:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] * fmaxf(0.0f, fminf(1.0f, x[i] * (1.0f / 6.0f) + 0.5f));
        break;
    case LENS_ACT_SILU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
        break;
    case LENS_ACT_LEAKYRELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] < 0.0f ? x[i] * alpha : x[i];
        break;
    case LENS_ACT_TANH:
        for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
        break;
    case LENS_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    }
}

void lens_f32_act__ref(const lens_act_params *p, float *x, size_t n) {
    lens_act_apply_ref((lens_act)p->act, p->alpha, p->beta, x, n);
}
