/* Float convolution compute, independent of the runtime so that unit tests
 * can call it directly. The operator glue (attributes, shapes, packing at
 * load) is in conv.c. */
#ifndef LENS_OPS_CONV_F32_H
#define LENS_OPS_CONV_F32_H

#include "core/common.h"
#include "kernels/act.h"
#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "runtime/threadpool.h"

/* Geometry of one Conv: N x C x in -> N x M x out, nsp spatial dims (1..3).
 * pad holds the leading pads; trailing pads are implied by out. */
typedef struct lens_conv_params {
    int32_t nsp;
    int64_t N, C, M, group;
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
    lens_act_params act;
} lens_conv_params;

/* Depthwise path applies: 2-D and one filter per channel. */
bool lens_conv_is_depthwise(const lens_conv_params *p);
/* Floats of the packed weights for the GEMM path (all groups; 0 on
 * overflow), and the distance between groups in them. Needs M, C, group, k. */
size_t lens_conv_packed_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                               size_t *group_stride);
/* Pack W (M x C/group x k...) for the GEMM path into dst. */
void lens_conv_pack_weights(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                            const float *w, float *dst);
/* Per-run scratch floats (0 on overflow): with `packed` false it includes
 * room to pack the weights. */
size_t lens_conv_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                int32_t threads, bool packed);

/* y = act(conv(x, w) + bias + residual). x: N x C x in; w: raw weights;
 * wpacked: from lens_conv_pack_weights with the same v, or NULL; bias (M)
 * and residual (y's shape) may be NULL. scratch: lens_conv_scratch_floats,
 * 64-byte aligned. All borrowed for the call. */
void lens_conv_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                   const lens_f32_dwconv_variant *dv, lens_threadpool *pool, const float *x,
                   const float *w, const float *wpacked, const float *bias, const float *residual,
                   float *y, float *scratch);

/* ConvTranspose: x N x C x in, w C x M/group x k, y N x M x out, with
 * leading pads in p->pad (out as computed by the caller). GEMM + col2im.
 * scratch: lens_convtranspose_scratch_floats. */
size_t lens_convtranspose_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                         int32_t threads);
void lens_convtranspose_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                            lens_threadpool *pool, const float *x, const float *w,
                            const float *bias, float *y, float *scratch);

#endif
