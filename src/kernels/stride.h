/* Strided-copy family: dst[t] = src[t * s] for t < n, the column gather
 * that splits an input row into a strided convolution's phase planes
 * (ops/conv_f32.c, pad_rows). A portable reference and an AVX-512 variant
 * for s = 2 (per 16 outputs: two loads and one two-source permute; other
 * strides take the reference loop), chosen once by CPU features like every
 * kernel family. Copies are exact, so all variants agree bit for bit. */
#ifndef LENS_KERNELS_STRIDE_H
#define LENS_KERNELS_STRIDE_H

#include <stddef.h>

#include "core/common.h"

/* src: read at src[0 .. (n-1)*s] only (nothing past the last element
 * copied); dst: n floats written. Both borrowed for the call; s >= 1. */
typedef void (*lens_f32_strided_copy_fn)(const float *src, size_t s, size_t n, float *dst);

void lens_f32_strided_copy__ref(const float *src, size_t s, size_t n, float *dst);
void lens_f32_strided_copy__avx512(const float *src, size_t s, size_t n, float *dst);

typedef struct lens_f32_strided_copy_variant {
    const char *name;
    lens_f32_strided_copy_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_strided_copy_variant;

/* All variants, best last; *count set to their number. */
const lens_f32_strided_copy_variant *lens_f32_strided_copy_variants(size_t *count);
/* The best variant this CPU (capped by LENS_ISA) supports. Chosen once. */
lens_f32_strided_copy_fn lens_f32_strided_copy_best(void);

#endif
