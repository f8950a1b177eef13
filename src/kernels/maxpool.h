/* MaxPool family: 2-D max pooling of one float plane (no dilation), the
 * fast path of ops/pool.c's MaxPool without Indices.
 *
 * Semantics (all variants, bit for bit): each output is the maximum of the
 * window's values inside the input (padding and a ceil_mode overhang are
 * not values), taken in row-major tap order as m = v > m ? v : m from
 * m = -inf. NaN inputs are therefore skipped (a window holding only NaN
 * gives -inf), and of +0 and -0 the first met is kept. This is exactly
 * vmaxps(v, m), so the SIMD variants need no extra NaN handling; ops/pool.c's
 * general kernel follows the same rule.
 *
 * The AVX-512 variant computes the columns whose whole window lies inside
 * the input 16 per vector (stride 1: unaligned loads; stride 2: two loads
 * and the even lanes), up to 64 per block for independent max chains, rows
 * clipped once per output row; border columns and other strides take the
 * scalar loop. Any kernel size. */
#ifndef LENS_KERNELS_MAXPOOL_H
#define LENS_KERNELS_MAXPOOL_H

#include <stddef.h>

#include "core/common.h"

typedef struct lens_maxpool_geom {
    size_t H, W, OH, OW; /* input and output plane */
    size_t KH, KW;       /* window, >= 1 */
    size_t sh, sw;       /* strides, >= 1 */
    size_t ph, pw;       /* leading pads; trailing ones are implied by OH/OW */
} lens_maxpool_geom;

/* y (OH x OW) = max pool of x (H x W). Both borrowed for the call. */
typedef void (*lens_f32_maxpool_fn)(const lens_maxpool_geom *g, const float *x, float *y);

typedef struct lens_f32_maxpool_variant {
    const char *name; /* "f32_maxpool__avx512" */
    lens_f32_maxpool_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_maxpool_variant;

void lens_f32_maxpool__ref(const lens_maxpool_geom *, const float *, float *);
void lens_f32_maxpool__avx512(const lens_maxpool_geom *, const float *, float *);

/* All variants (best last) and the one chosen for this CPU (once). */
const lens_f32_maxpool_variant *lens_f32_maxpool_variants(size_t *count);
const lens_f32_maxpool_variant *lens_f32_maxpool_best(void);

#endif
