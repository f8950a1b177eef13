/* Winograd F(4x4, 3x3) and F(2x2, 3x3) transforms (the "wino" family), for
 * 3x3 stride-1 convolutions (ops/conv_winograd.c).
 *
 * A 4x4 block of outputs of one channel pair is computed from a 6x6 input
 * tile d and the 3x3 filter g as Y = A^T [(G g G^T) .* (B^T d B)] A (Lavin &
 * Gray 2015, interpolation points 0, +-1, +-2, inf). Summed over input
 * channels, the element-wise products become 36 independent GEMMs
 * M[xi] = U[xi] V[xi] (xi = 6*i + j the position in the 6x6 tile): 36
 * multiplies per input channel for a 4x4 output block where a direct 3x3
 * convolution needs 16 x 9 = 144, a 4x cut of the GEMM work.
 *
 *   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0     0]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]       [-1/6  -1/6  -1/6]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]       [-1/6   1/6  -1/6]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]       [1/24  1/12   1/6]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]       [1/24 -1/12   1/6]
 *         [0  4  0 -5 0 1]       [ 0      0      1]
 *
 * F(2x2, 3x3) is the same with 4x4 input tiles, 2x2 output blocks and 16
 * positions (36 / 4 = 2.25x fewer multiplies, 16/9 the weights instead of
 * 36/9; coefficients 0, +-1, 1/2):
 *
 *   B^T = [1  0 -1  0]   G = [  1    0    0]   A^T = [1 1  1  0]
 *         [0  1  1  0]       [1/2  1/2  1/2]         [0 1 -1 -1]
 *         [0 -1  1  0]       [1/2 -1/2  1/2]
 *         [0  1  0 -1]       [  0    0    1]
 *
 * The kernels work on groups of up to LENS_WINO_LANES tiles of one image
 * (one SIMD lane per tile), each tile given by the output coordinates of its
 * top-left pixel: tile t reads input rows oy-ph .. oy-ph+5 and columns
 * ox-pw .. ox-pw+5, anything outside the H x W plane read as zero (no padded
 * copy), and writes the outputs of rows oy..oy+3, columns ox..ox+3 that lie
 * inside OH x OW (edge tiles write only their valid pixels).
 *
 * Transformed values are addressed as base[xi * xi_stride + ch * ch_stride
 * + lane]: the input transform writes LENS_WINO_LANES contiguous floats per
 * (xi, channel), zero in the lanes past the group's tile count, so that the
 * 36 V matrices can be laid out directly as packed GEMM B panels (lane =
 * column). The output transform reads only the group's lanes.
 *
 * Rounding: the input transform multiplies by at most 5 and the output
 * transform by at most 8 (with sums of up to 5 terms), so the result carries
 * roughly 10-100x the rounding error of a direct fp32 convolution, ~1e-5
 * relative to the magnitude of the sum's terms (test_winograd bounds it). */
#ifndef LENS_KERNELS_WINOGRAD_H
#define LENS_KERNELS_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "kernels/act.h"

#define LENS_WINO_LANES 16
#define LENS_WINO_POS 36   /* F(4,3): 6x6 transformed positions */
#define LENS_WINO_POS23 16 /* F(2,3): 4x4 */

/* A group of n (1..LENS_WINO_LANES) tiles of one image: the output
 * coordinates of each tile's top-left pixel (>= 0). Coordinates, H*W and
 * OH*OW must fit in int32 (the caller checks: lens_conv_wino_runs). */
typedef struct lens_wino_tiles {
    size_t n;
    int32_t oy[LENS_WINO_LANES], ox[LENS_WINO_LANES];
} lens_wino_tiles;

/* Input transform V = B^T d B of `channels` consecutive H x W planes
 * starting at x (plane stride H*W), pads ph/pw leading. v: see above
 * (xi_stride, ch_stride in floats; each run of LENS_WINO_LANES floats is
 * written whole). All pointers borrowed for the call. */
typedef void (*lens_f32_wino_input_fn)(const float *x, size_t channels, size_t H, size_t W,
                                       size_t ph, size_t pw, const lens_wino_tiles *t, float *v,
                                       size_t xi_stride, size_t ch_stride);

/* Output transform Y = A^T m A for `channels` output channels, then
 * + bias[ch] (bias NULL: none), + the residual (res: planes OH x OW like y,
 * or NULL), then the activation (act NULL or LENS_ACT_NONE: none), written
 * to the planes at y (plane stride OH*OW). m: see above. All borrowed. */
typedef void (*lens_f32_wino_output_fn)(const float *m, size_t xi_stride, size_t ch_stride,
                                        size_t channels, const lens_wino_tiles *t,
                                        const float *bias, const float *res,
                                        const lens_act_params *act, float *y, size_t OH,
                                        size_t OW);

void lens_f32_wino_input__ref(const float *, size_t, size_t, size_t, size_t, size_t,
                              const lens_wino_tiles *, float *, size_t, size_t);
void lens_f32_wino_output__ref(const float *, size_t, size_t, size_t, const lens_wino_tiles *,
                               const float *, const float *, const lens_act_params *, float *,
                               size_t, size_t);
void lens_f32_wino_input__avx512(const float *, size_t, size_t, size_t, size_t, size_t,
                                 const lens_wino_tiles *, float *, size_t, size_t);
void lens_f32_wino_output__avx512(const float *, size_t, size_t, size_t, const lens_wino_tiles *,
                                  const float *, const float *, const lens_act_params *, float *,
                                  size_t, size_t);

void lens_f32_wino23_input__ref(const float *, size_t, size_t, size_t, size_t, size_t,
                                const lens_wino_tiles *, float *, size_t, size_t);
void lens_f32_wino23_output__ref(const float *, size_t, size_t, size_t, const lens_wino_tiles *,
                                 const float *, const float *, const lens_act_params *, float *,
                                 size_t, size_t);
void lens_f32_wino23_input__avx512(const float *, size_t, size_t, size_t, size_t, size_t,
                                   const lens_wino_tiles *, float *, size_t, size_t);
void lens_f32_wino23_output__avx512(const float *, size_t, size_t, size_t,
                                    const lens_wino_tiles *, const float *, const float *,
                                    const lens_act_params *, float *, size_t, size_t);

typedef struct lens_f32_wino_variant {
    const char *name; /* "f32_wino__avx512" */
    lens_f32_wino_input_fn input;     /* F(4,3): 36 positions, 4x4 blocks */
    lens_f32_wino_output_fn output;
    lens_f32_wino_input_fn input23;   /* F(2,3): 16 positions, 2x2 blocks (same */
    lens_f32_wino_output_fn output23; /* arguments; tile corners 2 apart) */
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_wino_variant;

/* All variants (best last) and the one chosen for this CPU (once, capped by
 * LENS_ISA like the other families). */
const lens_f32_wino_variant *lens_f32_wino_variants(size_t *count);
const lens_f32_wino_variant *lens_f32_wino_best(void);

/* Filter transform U = G g G^T of one 3x3 filter (g row-major, 9 floats)
 * into u (36 floats, u[6*i + j]), computed in double. Load time only. */
void lens_f32_wino_filter(const float *g, float *u);
/* F(2,3): u = 16 floats, u[4*i + j]. */
void lens_f32_wino23_filter(const float *g, float *u);

#endif
