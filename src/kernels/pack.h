/* Layout kernels (the "pack" family): data movement that transposes.
 *   pack_t8    the transposing pack of an 8-row GEMM panel from a
 *              row-major matrix (A of a MatMul, M x K with unit column
 *              stride; layout in kernels/gemm.h), which the scalar path did
 *              one float at a time with a stride-8 scatter;
 *   transpose  a 2-D float transpose between strided matrices (the tiles of
 *              Transpose's blocked copy, ops/shape_copy.c: NCHW <-> NHWC).
 * The SIMD variants transpose 8 x 8 blocks in registers (unpack / shuffle /
 * 128-bit lane permute); all are bitwise equal to their references. */
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

/* dst[a * ds + b] = src[a + b * ss] for a < na, b < nb: src holds nb rows
 * of na floats at row stride ss, dst na rows of nb floats at row stride ds
 * (both borrowed; they must not overlap). Nothing else is read or written. */
typedef void (*lens_f32_transpose_fn)(float *dst, size_t ds, const float *src, size_t ss, size_t na,
                                      size_t nb);

void lens_f32_transpose__ref(float *dst, size_t ds, const float *src, size_t ss, size_t na, size_t nb);
void lens_f32_transpose__avx2(float *dst, size_t ds, const float *src, size_t ss, size_t na, size_t nb);

typedef struct lens_f32_transpose_variant {
    const char *name;
    lens_f32_transpose_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_transpose_variant;

const lens_f32_transpose_variant *lens_f32_transpose_variants(size_t *count);
lens_f32_transpose_fn lens_f32_transpose_best(void);

#endif
