/* im2col straight into packed GEMM panels (the B operand of a convolution:
 * K = C/group * prod(kernel) rows, N = prod(output spatial) columns), one
 * K block and one column range at a time, so no full im2col buffer exists. */
#ifndef LENS_KERNELS_IM2COL_H
#define LENS_KERNELS_IM2COL_H

#include <stddef.h>
#include <stdint.h>

typedef struct lens_im2col_ctx {
    const float *x;   /* first input channel of this image and group */
    int32_t nsp;      /* spatial dims, 1..3 */
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3]; /* pad: leading */
} lens_im2col_ctx;

/* lens_f32_pack_fn for 1-D/2-D (1-D as H = 1) and for 3-D (generic). */
void lens_im2col_pack(const void *ctx, size_t k0, size_t kc, size_t x0, size_t xc, size_t tile,
                      float *dst);

#endif
