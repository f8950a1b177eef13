/* Packing kernels (the "pack" family) for the GEMM's packed operands (see
 * kernels/gemm.h for the layout). One job so far: the transposing pack of
 * an 8-row panel from a row-major matrix (A of a MatMul, M x K with unit
 * column stride), which the scalar path did one float at a time with a
 * stride-8 scatter. The SIMD variant transposes 8 x 8 blocks in registers
 * (unpack / shuffle / 128-bit lane permute). */
#ifndef LENS_KERNELS_PACK_H
#define LENS_KERNELS_PACK_H

#include <stddef.h>

#include "core/common.h"

/* dst[k * 8 + t] = src[t * rs + k] * scale for t < n, k < kc, and 0 for
 * n <= t < 8 (n <= 8). src: n rows of kc floats at row stride rs, borrowed;
 * nothing of rows t >= n is read. dst: 8 * kc floats, owned by the caller. */
typedef void (*lens_f32_pack_t8_fn)(const float *src, size_t rs, size_t n, size_t kc, float scale,
                                    float *dst);

void lens_f32_pack_t8__ref(const float *src, size_t rs, size_t n, size_t kc, float scale, float *dst);
void lens_f32_pack_t8__avx2(const float *src, size_t rs, size_t n, size_t kc, float scale, float *dst);

typedef struct lens_f32_pack_t8_variant {
    const char *name;
    lens_f32_pack_t8_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_pack_t8_variant;

/* All variants, best last; *count set to their number. */
const lens_f32_pack_t8_variant *lens_f32_pack_t8_variants(size_t *count);
/* The best variant this CPU supports, chosen once. */
lens_f32_pack_t8_fn lens_f32_pack_t8_best(void);

#endif
