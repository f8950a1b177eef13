/* Dilated 2-D convolution that skips the taps falling wholly in the padding.
 *
 * With a large dilation most taps of a kernel read only padding for most
 * output positions (DeepLab's ASPP: 3x3 dilated 36 with pads 36 on a 33x33
 * map is, in effect, a 1x1 convolution; dilated 24, 27% of the tap-area is
 * valid; dilated 12, 57%). im2col computes all of them against zeros.
 *
 * Algorithm. Per spatial dimension, tap ky is valid (reads inside the image)
 * for the output rows oy with 0 <= oy*s - pad + ky*d < H: an interval. The
 * interval ends cut the output rows into at most 2*KH+1 bands, each with a
 * constant set of valid taps; bands in y times bands in x give rectangular
 * regions with a constant valid tap set Ty x Tx. Each region is computed as
 * |Ty x Tx| accumulated GEMMs, one per valid tap t:
 *     C_region[M x n] += W_t[M x C] * X_t[C x n]
 * where X_t gathers the input at the tap's shifted positions (all inside the
 * image, by construction), packed straight into the GEMM's panel layout, and
 * W_t is the tap's weight matrix packed once at load (tap-major: KH*KW
 * packed M x C operands, the same memory as the normal packing of
 * M x C*KH*KW, which such nodes do not get). Work is split into tasks of
 * (image, region, column chunk); each task accumulates its chunk in
 * per-thread scratch and writes it to Y with bias, residual and activation
 * (the epilogue is applied once, after the last tap). Columns never mix, so
 * results do not depend on the thread count or the chunking.
 *
 * Only the valid work is done: FLOPs = 2 * M * C * (number of valid
 * (output, tap) pairs), against 2 * M * C * KH*KW * OH*OW for im2col.
 * Group 1 only (grouped and depthwise convolutions keep their paths). */
#ifndef LENS_OPS_CONV_DILATED_H
#define LENS_OPS_CONV_DILATED_H

#include "ops/conv_f32.h"

/* Whether a node with this kernel (p->k), dilation (p->dil), group, nsp
 * should take the dilated path; decided at load from the attributes only
 * (the input size is unknown then). True for 2-D, group 1, more than one
 * tap and a dilated extent (k-1)*d >= 16 in some dimension. Measured on a
 * 3x3 960->256 conv at 33x33, 1 thread (normal path -> this path): d=2
 * 37 -> 44 ms (the padded-width path wins: all taps valid, no gather),
 * d=4 and 6 level, d=8 34 -> 30, d=12 35 -> 27, d=24 34 -> 13.5, d=36
 * 35 -> 4.5; at 65x65 and 129x129 with d=8 it is also ahead (48 -> 34,
 * 185 -> 145 ms). */
bool lens_conv_dilated_wanted(const lens_conv_params *p);

/* Floats of the tap-major packed weights (0 on overflow). Needs M, C, k. */
size_t lens_conv_dilated_packed_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v);
/* Pack W (M x C x KH x KW, borrowed) into dst (lens_conv_dilated_packed_floats,
 * caller-owned): for each tap t = ky*KW + kx, the M x C matrix W[:, :, ky, kx]
 * fully packed for v (lens_f32_pack_full), each at a 16-float boundary. */
void lens_conv_dilated_pack(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                            const float *w, float *dst);

/* Per-run scratch floats for `threads` threads (0 on overflow). */
size_t lens_conv_dilated_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                        int32_t threads);

/* y = act(conv(x, w) + bias + residual) for a 2-D, group-1 p. x: N x C x H x W;
 * wpacked: from lens_conv_dilated_pack with the same v; bias (M) and
 * residual (y's shape) may be NULL; scratch: lens_conv_dilated_scratch_floats,
 * 64-byte aligned. All borrowed for the call. */
void lens_conv_dilated_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                           lens_threadpool *pool, const float *x, const float *wpacked,
                           const float *bias, const float *residual, float *y, float *scratch);

#endif
