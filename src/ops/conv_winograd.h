/* Winograd convolution for 2-D 3x3 stride-1 layers (group 1, dilation 1,
 * any pads, any batch), on the GEMM and wino kernel families: F(4x4, 3x3)
 * (36 positions, 4x fewer multiplies) up to C*M = 128*128, F(2x2, 3x3) (16
 * positions, 2.25x) above, where the layers run on small maps and reading
 * the transformed weights every run is the bottleneck (conv_winograd.c).
 *
 * At load (conv.c's conv_init), a constant W that passes
 * lens_conv_wino_applies is transformed (U = G g G^T per filter) and packed
 * as 36 (16) GEMM A operands [M x C], one per position of the 6x6 (4x4)
 * tile; this replaces the normal packed weights of the node (never both: U
 * is 4x (1.8x) their size; under the rule 2.4 MB (4.2 MB) at most per
 * node). A run splits each image's output tiles into chunks (and, to keep
 * every thread busy on small maps, the output channels into blocks); one
 * task transforms its chunk's input tiles straight into packed B panels (V,
 * C x tiles per position), runs the GEMMs M[xi] = U[xi] V[xi] on the
 * variant's micro-kernel into a per-thread buffer, and applies the output
 * transform with bias, residual and activation, writing only the valid
 * pixels of edge tiles. Chunks are sized so that a task's V and M about
 * fill L2. Results depend neither on the chunking nor on the thread count
 * (every sum runs over the channels in the same order). */
#ifndef LENS_OPS_CONV_WINOGRAD_H
#define LENS_OPS_CONV_WINOGRAD_H

#include "kernels/winograd.h"
#include "ops/conv_f32.h"

/* Whether a Conv of this geometry should run as Winograd (3x3, stride 1,
 * dilation 1, group 1, 16 <= C, M and C*M <= 256*256); looks only at
 * nsp, k, stride, dil, group, C and M (what conv_init knows) and at the GEMM
 * variant v (its NR must hold whole lane groups). */
bool lens_conv_wino_applies(const lens_conv_params *p, const lens_f32_gemm_variant *v);

/* Floats of the transformed, packed weights (0 on overflow). */
size_t lens_conv_wino_packed_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v);

/* Transform and pack W (M x C x 3 x 3, borrowed) into dst
 * (lens_conv_wino_packed_floats floats, owned by the caller). */
void lens_conv_wino_pack_weights(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                 const float *w, float *dst);

/* Whether a run of this geometry (shapes known) can take the Winograd path:
 * lens_conv_wino_applies plus the kernels' int32 coordinate range. When it
 * cannot, conv_run refuses the run (LENS_STATUS_LIMIT_EXCEEDED): the node
 * holds only the transformed weights, W's data may have been released. */
bool lens_conv_wino_runs(const lens_conv_params *p, const lens_f32_gemm_variant *v);

/* Per-run scratch floats for `threads` threads (0 on overflow). */
size_t lens_conv_wino_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                     int32_t threads);

/* y = act(conv(x, w) + bias + residual) with u from lens_conv_wino_pack_weights
 * (same p->C, p->M and v). x: N x C x H x W; bias (M) and residual (y's
 * shape) may be NULL; scratch: lens_conv_wino_scratch_floats floats for the
 * pool's size, 64-byte aligned. All borrowed for the call. */
void lens_conv_wino_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                        const lens_f32_wino_variant *wv, lens_threadpool *pool, const float *x,
                        const float *u, const float *bias, const float *residual, float *y,
                        float *scratch);

#endif
