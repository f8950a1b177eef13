/* im2col of a single convolution tap over a rectangle of output positions,
 * straight into packed GEMM panels: the B operand of ops/conv_dilated.c
 * (K = channels, N = the positions of a region, row-major). Every position
 * is known to read inside the input (the caller picks the taps per
 * region), so there is no bounds check and no zero fill but the panel's
 * padding columns. In kernels/ for -O3: the copies of runs of consecutive
 * columns vectorise. */
#ifndef LENS_KERNELS_IM2COL_TAP_H
#define LENS_KERNELS_IM2COL_TAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct lens_im2col_tap_ctx {
    const float *x;         /* channel 0 of this image, C x H x W (borrowed) */
    int64_t y0, x0, rw;     /* region: first output row and column, width */
    int64_t q0;             /* first position (row-major in the region) of N */
    int64_t dy, dx;         /* input row/column = out * stride + d */
    int64_t sh, sw, H, W;   /* strides, input plane */
} lens_im2col_tap_ctx;

/* lens_f32_pack_fn: columns [x0, x0 + xc) of N, channels [k0, k0 + kc). */
void lens_im2col_tap_pack(const void *ctx, size_t k0, size_t kc, size_t x0, size_t xc,
                          size_t tile, float *dst);

#endif
