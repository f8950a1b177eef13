/* Activation kernels (the "act" family): apply a fused activation to a run of
 * floats in place. One portable reference and SIMD variants; the table in
 * act.c lists them all so tests cover every one. */
#ifndef LENS_KERNELS_ACT_H
#define LENS_KERNELS_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

/* Parameters of a fused activation: kind is a lens_act (ops/op.h). */
typedef struct lens_act_params {
    int32_t act;
    float alpha, beta;
} lens_act_params;

typedef void (*lens_f32_act_fn)(const lens_act_params *p, float *x, size_t n);

void lens_f32_act__ref(const lens_act_params *p, float *x, size_t n);
void lens_f32_act__avx2(const lens_act_params *p, float *x, size_t n);
void lens_f32_act__avx512(const lens_act_params *p, float *x, size_t n);

typedef struct lens_f32_act_variant {
    const char *name;
    lens_f32_act_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_act_variant;

/* All variants, best last; *count set to their number. */
const lens_f32_act_variant *lens_f32_act_variants(size_t *count);
/* The best variant this CPU (capped by LENS_ISA) supports. Chosen once. */
lens_f32_act_fn lens_f32_act_best(void);

#endif
