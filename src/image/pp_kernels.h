/* Row kernels of the fused preprocessing pass (the "pp" family): the
 * vertical blend of two horizontally resized rows, the horizontal bilinear
 * pass, and the writers that turn a row of 8-bit values into tensor rows.
 * A portable reference and an AVX2 build of the same loops (the compiler
 * vectorises them with -mavx2 -O3); the table lists both so that tests
 * compare every variant with the reference. All arithmetic is integer or a
 * table lookup, so every variant gives identical bits. */
#ifndef LENS_IMAGE_PP_KERNELS_H
#define LENS_IMAGE_PP_KERNELS_H

#include "core/common.h"

typedef struct lens_pp_kernels {
    const char *name;
    bool (*supported)(const lens_cpu *cpu);
    /* v[i] = sat_u8((((r0[i] >> 4) * b0 >> 16) + ((r1[i] >> 4) * b1 >> 16) + 2) >> 2),
     * OpenCV's VResizeLinearVec_32s8u (rows hold u8 x 11-bit weights). */
    void (*vblend)(const int32_t *r0, const int32_t *r1, int32_t b0, int32_t b1, uint8_t *v, size_t n);
    /* dst[i*C + c] = src[o0[i] + map[c]] * w0[i] + src[o1[i] + map[c]] * w1[i], C = 3 or 1. */
    void (*hlinear3)(const uint8_t *src, const int32_t *o0, const int32_t *o1, const int16_t *w0,
                     const int16_t *w1, const int map[3], int32_t *dst, size_t n);
    void (*hlinear1)(const uint8_t *src, const int32_t *o0, const int32_t *o1, const int16_t *w0,
                     const int16_t *w1, int32_t *dst, size_t n);
    /* n pixels of v (interleaved, 3 or 1 channels) through lut into planes
     * (NCHW) or interleaved rows (NHWC). */
    void (*f32_planar3)(const uint8_t *v, const float (*lut)[256], float *o0, float *o1, float *o2, size_t n);
    void (*f32_planar1)(const uint8_t *v, const float *lut, float *o, size_t n);
    void (*f32_interleaved3)(const uint8_t *v, const float (*lut)[256], float *o, size_t n);
    void (*u8_planar3)(const uint8_t *v, uint8_t *o0, uint8_t *o1, uint8_t *o2, size_t n);
} lens_pp_kernels;

#if defined(__x86_64__)
/* The AVX2 build (pp_kernels_avx2.c); listed in the table. */
void lens_pp_vblend__avx2(const int32_t *r0, const int32_t *r1, int32_t b0, int32_t b1, uint8_t *v, size_t n);
void lens_pp_hlinear3__avx2(const uint8_t *src, const int32_t *o0, const int32_t *o1, const int16_t *w0,
                    const int16_t *w1, const int map[3], int32_t *dst, size_t n);
void lens_pp_hlinear1__avx2(const uint8_t *src, const int32_t *o0, const int32_t *o1, const int16_t *w0,
                    const int16_t *w1, int32_t *dst, size_t n);
void lens_pp_f32_planar3__avx2(const uint8_t *v, const float (*lut)[256], float *o0, float *o1, float *o2, size_t n);
void lens_pp_f32_planar1__avx2(const uint8_t *v, const float *lut, float *o, size_t n);
void lens_pp_f32_interleaved3__avx2(const uint8_t *v, const float (*lut)[256], float *o, size_t n);
void lens_pp_u8_planar3__avx2(const uint8_t *v, uint8_t *o0, uint8_t *o1, uint8_t *o2, size_t n);
#endif

/* All variants, best last; *count set to their number. */
const lens_pp_kernels *lens_pp_kernels_variants(size_t *count);
/* The best variant this CPU (capped by LENS_ISA) supports. Chosen once. */
const lens_pp_kernels *lens_pp_kernels_best(void);

#endif
