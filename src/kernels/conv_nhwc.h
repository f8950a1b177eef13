/* NHWC convolution family ("nhwc"): convolution on channels-last
 * activations, used by the internal op lens.ConvNhwc that the layout pass
 * (graph/layout.c) puts where a region of the graph runs channels-last.
 *
 * Activations are [N, H, W, C] rows of C floats per pixel. Both kernels read
 * the input through an indirection table of row pointers (one per tap and
 * output pixel, XNNPACK-style), so padding costs nothing: a padding tap
 * points at lens_nhwc_zero_row(), a row of zeros at least
 * LENS_NHWC_ZERO_FLOATS long (never written).
 *
 * Epilogue of both: y = act(acc + bias[n] + res[n]) with res optional (the
 * residual, same layout as y), act a lens_act_params (act 0: none). */
#ifndef LENS_KERNELS_CONV_NHWC_H
#define LENS_KERNELS_CONV_NHWC_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "kernels/act.h"

/* Longest row a padding tap may read: channels of a conv using this family
 * are checked against it at load (ops/conv_nhwc.c). */
#define LENS_NHWC_ZERO_FLOATS 8192
const float *lens_nhwc_zero_row(void);

/* ---- dense (group 1): an indirect GEMM -----------------------------------
 * One tile: mr (1..MR) output pixels x nc (1..NR) output channels.
 *   a    ks * MR row pointers, tap-major: a[t * MR + i] is the input row
 *        (kc floats) that tap t of output pixel i reads. Entries for
 *        i >= mr are valid pointers too (the caller repeats the last row),
 *        so a kernel may compute full MR rows and store only mr.
 *   w    this tile's column panel of the packed weights: ks * kc rows of NR
 *        floats (row t * kc + c holds W[n0 .. n0+NR)[c][ky][kx] for tap t =
 *        ky * KW + kx), columns past the layer's M are zero.
 *   c    output, row i at c + i * ldc, nc floats stored per row.
 *   bias nc floats or NULL; res: residual rows at res + i * ldr, or NULL.
 * K = ks * kc is accumulated whole in registers (no K blocking). */
typedef void (*lens_f32_igemm_fn)(size_t mr, size_t nc, size_t kc, size_t ks, const float **a,
                                  const float *w, float *c, size_t ldc, const float *bias,
                                  const float *res, size_t ldr, const lens_act_params *act);

/* Packed weight layout for a variant with tile width nr: panel j (columns
 * [j*nr, j*nr+nr)) at w + j * ks * kc * nr. Floats needed: */
size_t lens_nhwc_packed_floats(size_t M, size_t kc, size_t ks, size_t nr);
/* Pack ONNX weights W [M][C][KH][KW] (C = kc, KH*KW = ks) into that layout. */
void lens_nhwc_pack_weights(const float *W, size_t M, size_t kc, size_t KH, size_t KW, size_t nr,
                            float *dst);

/* ---- depthwise (group == C == M, one filter per channel) -----------------
 * npix output pixels of one output row segment, all C channels each:
 *   a    npix * ks row pointers, pixel-major: a[p * ks + t] is the input
 *        row (C floats; or the zero row) tap t of output pixel p reads.
 *   w    ks rows of Cpad floats (Cpad = C rounded up to 16): w[t * Cpad + c]
 *        = W[c][0][ky][kx]; padding lanes zero.
 *   bias Cpad floats (zero-padded) or NULL.
 *   y    npix rows of C floats at y + p * ldy; res likewise at res + p * ldr
 *        or NULL. */
typedef void (*lens_f32_dwconv_nhwc_fn)(size_t C, size_t npix, size_t ks, const float **a,
                                         const float *w, const float *bias, float *y, size_t ldy,
                                         const float *res, size_t ldr,
                                         const lens_act_params *act);

size_t lens_nhwc_dw_cpad(size_t C);
/* Pack depthwise weights W [C][1][KH][KW] into ks x Cpad (dst zeroed first). */
void lens_nhwc_pack_dw_weights(const float *W, size_t C, size_t KH, size_t KW, float *dst);

void lens_f32_igemm_4x16__ref(size_t, size_t, size_t, size_t, const float **, const float *,
                              float *, size_t, const float *, const float *, size_t,
                              const lens_act_params *);
void lens_f32_dwconv_nhwc__ref(size_t, size_t, size_t, const float **, const float *,
                               const float *, float *, size_t, const float *, size_t,
                               const lens_act_params *);

typedef struct lens_f32_nhwc_variant {
    const char *name;  /* "f32_nhwc__avx512" */
    size_t mr, nr;     /* igemm tile */
    lens_f32_igemm_fn igemm;
    lens_f32_dwconv_nhwc_fn dwconv;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_nhwc_variant;

/* All variants (best last) and the one chosen for this CPU (once; capped by
 * LENS_ISA). */
const lens_f32_nhwc_variant *lens_f32_nhwc_variants(size_t *count);
const lens_f32_nhwc_variant *lens_f32_nhwc_best(void);

#endif
