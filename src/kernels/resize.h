/* Resize family: the inner loops of 2-D NCHW float resizing (ops/resize.c's
 * fast path), on precomputed per-column tables.
 *
 * Bilinear is separable: each input row a plane needs is interpolated
 * horizontally once (hlinear: out[o] = a0[o]*row[x0[o]] + a1[o]*row[x1[o]],
 * a gather of two taps per output column) into a row cache, and each output
 * row is a blend of two cached rows (vlinear: y = w0*h0 + w1*h1). On an 8x
 * upsampling (DeepLab's 65x65 -> 520x520) hlinear runs on 1/8 of the output
 * rows and vlinear, a streaming FMA, on all of them. Nearest copies a row
 * through a column table (gather: y[o] = row[ix[o]]).
 *
 * Column tables are int32 (the caller checks that the input width fits).
 * SIMD variants may fuse multiply-adds (results within an ulp or two of the
 * reference, compared with a tolerance by the tests); gather is exact. */
#ifndef LENS_KERNELS_RESIZE_H
#define LENS_KERNELS_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

typedef void (*lens_f32_resize_hlinear_fn)(const float *row, const int32_t *x0, const int32_t *x1,
                                           const float *a0, const float *a1, size_t n, float *out);
typedef void (*lens_f32_resize_vlinear_fn)(const float *h0, const float *h1, float w0, float w1,
                                           size_t n, float *y);
typedef void (*lens_f32_resize_gather_fn)(const float *row, const int32_t *ix, size_t n, float *y);

typedef struct lens_f32_resize_variant {
    const char *name; /* "f32_resize__avx512" */
    lens_f32_resize_hlinear_fn hlinear;
    lens_f32_resize_vlinear_fn vlinear;
    lens_f32_resize_gather_fn gather;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_resize_variant;

void lens_f32_resize_hlinear__ref(const float *, const int32_t *, const int32_t *, const float *,
                                  const float *, size_t, float *);
void lens_f32_resize_vlinear__ref(const float *, const float *, float, float, size_t, float *);
void lens_f32_resize_gather__ref(const float *, const int32_t *, size_t, float *);
void lens_f32_resize_hlinear__avx2(const float *, const int32_t *, const int32_t *, const float *,
                                   const float *, size_t, float *);
void lens_f32_resize_vlinear__avx2(const float *, const float *, float, float, size_t, float *);
void lens_f32_resize_gather__avx2(const float *, const int32_t *, size_t, float *);
void lens_f32_resize_hlinear__avx512(const float *, const int32_t *, const int32_t *, const float *,
                                     const float *, size_t, float *);
void lens_f32_resize_vlinear__avx512(const float *, const float *, float, float, size_t, float *);
void lens_f32_resize_gather__avx512(const float *, const int32_t *, size_t, float *);

/* All variants (best last) and the one chosen for this CPU (once). */
const lens_f32_resize_variant *lens_f32_resize_variants(size_t *count);
const lens_f32_resize_variant *lens_f32_resize_best(void);

#endif
