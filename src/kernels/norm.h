/* Normalisation kernels (the "norm" family). So far one: a row of
 * LayerNormalization over its last axis (ONNX LayerNormalization-17, float
 * stash):
 *     mean = sum(x) / d,  var = sum((x - mean)^2) / d   (both in double)
 *     inv  = (float)(1 / sqrt(var + eps))
 *     y[i] = (x[i] - (float)mean) * inv * scale[i] (+ bias[i])
 * The statistics are accumulated in double (two passes, so a large mean
 * does not cancel the variance away); the SIMD variants only sum in a
 * different order, the output pass rounds exactly as the reference does. */
#ifndef LENS_KERNELS_NORM_H
#define LENS_KERNELS_NORM_H

#include <stddef.h>

#include "core/common.h"

/* x, y: d floats (may be the same buffer); scale: d floats; bias: d floats
 * or NULL; all borrowed. *mean and *inv receive the row's statistics. */
typedef void (*lens_f32_layernorm_row_fn)(const float *x, float *y, size_t d, const float *scale,
                                          const float *bias, double eps, float *mean, float *inv);

void lens_f32_layernorm_row__ref(const float *x, float *y, size_t d, const float *scale, const float *bias,
                                 double eps, float *mean, float *inv);
void lens_f32_layernorm_row__avx512(const float *x, float *y, size_t d, const float *scale,
                                    const float *bias, double eps, float *mean, float *inv);

typedef struct lens_f32_layernorm_row_variant {
    const char *name;
    lens_f32_layernorm_row_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_layernorm_row_variant;

/* All variants, best last; *count set to their number. */
const lens_f32_layernorm_row_variant *lens_f32_layernorm_row_variants(size_t *count);
/* The best variant this CPU supports, chosen once. */
lens_f32_layernorm_row_fn lens_f32_layernorm_row_best(void);

#endif
