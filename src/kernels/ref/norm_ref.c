/* Portable LayerNormalization row: the reference for kernels/norm.h (the
 * loop ops/norm.c ran before the family existed). */
#include <math.h>

#include "kernels/norm.h"

void lens_f32_layernorm_row__ref(const float *x, float *y, size_t d, const float *scale, const float *bias,
                                 double eps, float *mean, float *inv) {
    double s = 0;
    for (size_t i = 0; i < d; i++) s += x[i];
    double m = d ? s / (double)d : 0;
    double v = 0;
    for (size_t i = 0; i < d; i++) {
        double t = x[i] - m;
        v += t * t;
    }
    v = d ? v / (double)d : 0;
    float in = (float)(1.0 / sqrt(v + eps)), mf = (float)m;
    *mean = mf;
    *inv = in;
    for (size_t i = 0; i < d; i++) {
        float t = (x[i] - mf) * in * scale[i];
        y[i] = bias ? t + bias[i] : t;
    }
}
