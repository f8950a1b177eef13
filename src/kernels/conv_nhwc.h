/* NHWC convolution family ("nhwc"): convolution and pooling on
 * channels-last activations, used by the internal ops lens.ConvNhwc,
 * MaxPoolNhwc, AveragePoolNhwc and GlobalAveragePoolNhwc (ops/conv_nhwc.c)
 * that the layout pass (graph/layout.c) puts where a region of the graph
 * runs channels-last.
 *
 * Activations are [N, H, W, C] rows of C floats per pixel. The kernels read
 * the input through an indirection table of row pointers (one per tap and
 * output pixel, XNNPACK-style), so padding costs nothing: a padding tap
 * points at lens_nhwc_zero_row(), a row of zeros at least
 * LENS_NHWC_ZERO_FLOATS long (never written). Node state is read-only and
 * shared by sessions, so tables are built on every run, per task, in the
 * run's scratch (builders below); the depthwise interior of a row needs no
 * table at all (the rows kernel: KH row pointers and strides).
 *
 *   kernel         ref     AVX2+FMA   AVX-512
 *   igemm tile     4x16    6x16       8x32 (pixels x output channels)
 *   depthwise      scalar  8 ch x 4 px 16 ch x 4 px, 2 vectors
 *   rows kernel    scalar  register reuse of inputs across taps at stride
 *                          1 and 2 for 3/5/7-wide kernels
 *   pools          scalar  vectorised over channels
 *
 * Epilogue of the conv kernels: y = act(acc + bias[n] + res[n]) with res
 * optional (the residual, same layout as y), act a lens_act_params (act 0:
 * none), all applied in registers before the one store. Each output
 * value's arithmetic is fixed by the geometry, never by the tile row or
 * channel block it lands in, so any split of the work (threads) gives the
 * same bits. */
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
 * K = ks * kc is accumulated whole in registers (no K blocking), taps in
 * order; a SIMD kernel skips a tap whose MR rows all point at the zero row
 * (it adds only zeros: the sum may differ from the reference in the sign of
 * a zero). Tiles are fixed groups of MR pixels, so the skipping never
 * depends on the thread count. */
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
 * npix output pixels, channels [c0, c0 + C) of each (the caller splits the
 * channels into blocks for threads and offsets w, bias, y and res by c0
 * itself; the input rows it cannot offset, so it passes aoff = c0):
 *   a    npix * ks row pointers, pixel-major: a[p * ks + t] + aoff is where
 *        the C floats that tap t of output pixel p reads start (a padding
 *        tap points at the zero row, which is long enough for any aoff + C
 *        the op allows).
 *   w    ks rows of stride wstride floats: w[t * wstride + c] = W[c0 + c][0][ky][kx]
 *        (the packed Cpad-wide rows, offset by c0; Cpad = all channels
 *        rounded up to 16, padding lanes zero, so 16-lane loads past C
 *        stay inside the row).
 *   bias C floats (offset by c0) or NULL.
 *   y    npix rows of C floats at y + p * ldy; res likewise at res + p * ldr
 *        or NULL.
 * Each channel's sum runs over the taps in order t = 0..ks-1, then bias,
 * then res, then act: a channel's result does not depend on c0, C or npix,
 * so any split of the work gives the same bits. */
typedef void (*lens_f32_dwconv_nhwc_fn)(size_t C, size_t npix, size_t ks, const float **a,
                                         size_t aoff, const float *w, size_t wstride,
                                         const float *bias, float *y, size_t ldy,
                                         const float *res, size_t ldr,
                                         const lens_act_params *act);

size_t lens_nhwc_dw_cpad(size_t C);
/* Pack depthwise weights W [C][1][KH][KW] into ks x Cpad (dst zeroed first). */
void lens_nhwc_pack_dw_weights(const float *W, size_t C, size_t KH, size_t KW, float *dst);

void lens_f32_igemm_4x16__ref(size_t, size_t, size_t, size_t, const float **, const float *,
                              float *, size_t, const float *, const float *, size_t,
                              const lens_act_params *);
void lens_f32_dwconv_nhwc__ref(size_t, size_t, size_t, const float **, size_t, const float *,
                               size_t, const float *, float *, size_t, const float *, size_t,
                               const lens_act_params *);
void lens_f32_maxpool_nhwc__ref(size_t, size_t, size_t, const float **, size_t, float *, size_t);
void lens_f32_avgpool_nhwc__ref(size_t, size_t, size_t, const float **, size_t, float *, size_t,
                                const float *);
void lens_f32_igemm_6x16__avx2(size_t, size_t, size_t, size_t, const float **, const float *,
                               float *, size_t, const float *, const float *, size_t,
                               const lens_act_params *);
void lens_f32_dwconv_nhwc__avx2(size_t, size_t, size_t, const float **, size_t, const float *,
                                size_t, const float *, float *, size_t, const float *, size_t,
                                const lens_act_params *);
void lens_f32_dwconv_nhwc_rows__avx2(size_t, size_t, size_t, size_t, const float **, size_t,
                                     size_t, size_t, const float *, size_t, const float *,
                                     float *, size_t, const float *, size_t,
                                     const lens_act_params *);
void lens_f32_maxpool_nhwc__avx2(size_t, size_t, size_t, const float **, size_t, float *, size_t);
void lens_f32_avgpool_nhwc__avx2(size_t, size_t, size_t, const float **, size_t, float *, size_t,
                                 const float *);
void lens_f32_igemm_8x32__avx512(size_t, size_t, size_t, size_t, const float **, const float *,
                                 float *, size_t, const float *, const float *, size_t,
                                 const lens_act_params *);
void lens_f32_dwconv_nhwc__avx512(size_t, size_t, size_t, const float **, size_t, const float *,
                                  size_t, const float *, float *, size_t, const float *, size_t,
                                  const lens_act_params *);
void lens_f32_maxpool_nhwc__avx512(size_t, size_t, size_t, const float **, size_t, float *, size_t);
void lens_f32_avgpool_nhwc__avx512(size_t, size_t, size_t, const float **, size_t, float *, size_t,
                                   const float *);

/* ---- pooling over channels-last rows -------------------------------------
 * Same table as depthwise (a[p * ks + t] + aoff, C channels, npix pixels).
 * max: m = -inf, then m = (v > m) ? v : m over the taps in order, as
 *      kernels/maxpool.h: NaN inputs are skipped (a window of only NaN
 *      gives -inf), the same rule as the NCHW MaxPool so that a model's
 *      result does not depend on the layout its pools run in; this is
 *      vmaxps(v, m) in SIMD. (PyTorch propagates NaN instead.) Padding taps
 *      are pointed by the op at a valid tap of the same window (max is
 *      idempotent), or at lens_nhwc_neginf_row() when none is valid.
 * avg: y = (sum of the taps in order) * scale[p]; padding taps read the zero
 *      row and scale[p] = 1 / the count ONNX's count_include_pad asks for. */
typedef void (*lens_f32_maxpool_nhwc_fn)(size_t C, size_t npix, size_t ks, const float **a,
                                          size_t aoff, float *y, size_t ldy);
typedef void (*lens_f32_avgpool_nhwc_fn)(size_t C, size_t npix, size_t ks, const float **a,
                                          size_t aoff, float *y, size_t ldy, const float *scale);
/* A row of LENS_NHWC_ZERO_FLOATS -inf (never written). */
const float *lens_nhwc_neginf_row(void);

/* ---- depthwise over the interior of a row (no table per pixel) -----------
 * For a run of output pixels whose taps are all inside the input
 * horizontally: rows[ky] points at the input that tap (ky, 0) of the first
 * pixel reads, or is NULL where row ky is vertical padding (skipped: it
 * adds nothing). Tap (ky, kx) of pixel p reads
 *     rows[ky] + p * pstride + kx * tstep + aoff      (C floats)
 * with pstride = stride * C and tstep = dilation * C. When pstride ==
 * tstep (stride equal to dilation: 3x3 stride 1, ...) a kernel may load each
 * input vector once for all the pixels and taps that read it. w as for the
 * table kernel, row t = ky * KW + kx. Sums run over ky, then kx, in order:
 * the same bits as the table kernel up to the sign of a zero (the table
 * kernel also adds the padding rows' +-0 products). */
typedef void (*lens_f32_dwconv_nhwc_rows_fn)(size_t C, size_t npix, size_t KH, size_t KW,
                                              const float **rows, size_t pstride, size_t tstep,
                                              size_t aoff, const float *w, size_t wstride,
                                              const float *bias, float *y, size_t ldy,
                                              const float *res, size_t ldr,
                                              const lens_act_params *act);
void lens_f32_dwconv_nhwc_rows__ref(size_t, size_t, size_t, size_t, const float **, size_t, size_t,
                                    size_t, const float *, size_t, const float *, float *, size_t,
                                    const float *, size_t, const lens_act_params *);
void lens_f32_dwconv_nhwc_rows__avx512(size_t, size_t, size_t, size_t, const float **, size_t,
                                       size_t, size_t, const float *, size_t, const float *,
                                       float *, size_t, const float *, size_t,
                                       const lens_act_params *);

/* ---- indirection tables ---------------------------------------------------
 * Geometry of a 2-D window op on [N, H, W, C] input (resolved padding). */
typedef struct lens_nhwc_geom {
    int64_t N, H, W, C, M, KH, KW, sh, sw, dh, dw;
    int64_t pt, pl, pb, pr; /* padding top, left, bottom, right */
    int64_t OH, OW;
    size_t ks;              /* KH * KW */
} lens_nhwc_geom;

/* Position {n, oy, ox} of output pixel p (index over N * OH * OW). */
void lens_nhwc_pixel_pos(const lens_nhwc_geom *g, int64_t p, int64_t pos[3]);
/* The igemm table of one tile: the mr pixels from position pos (which is
 * advanced past them, so consecutive tiles need no division), MR entries
 * per tap (rows past mr repeat the last pixel), tap-major as
 * lens_f32_igemm_fn reads it; padding taps get `pad`. x, pos and at are
 * borrowed. */
void lens_nhwc_igemm_table(const lens_nhwc_geom *g, const float *x, int64_t pos[3], size_t mr, size_t MR,
                           const float *pad, const float **at);
/* Pixel-major table (ks entries per pixel) of output pixels [ox0, ox1) of
 * row oy of image n; padding taps get `pad` (which may be NULL). */
void lens_nhwc_row_table(const lens_nhwc_geom *g, const float *x, int64_t n, int64_t oy, int64_t ox0,
                         int64_t ox1, const float *pad, const float **tab);
/* Output columns [*lo, *hi) whose taps are all inside the input
 * horizontally (lo == hi when none are). */
void lens_nhwc_interior_cols(const lens_nhwc_geom *g, int64_t *lo, int64_t *hi);

typedef struct lens_f32_nhwc_variant {
    const char *name;  /* "f32_nhwc__avx512" */
    size_t mr, nr;     /* igemm tile */
    lens_f32_igemm_fn igemm;
    lens_f32_dwconv_nhwc_fn dwconv;
    lens_f32_dwconv_nhwc_rows_fn dwconv_rows;
    lens_f32_maxpool_nhwc_fn maxpool;
    lens_f32_avgpool_nhwc_fn avgpool;
    bool (*supported)(const lens_cpu *cpu);
} lens_f32_nhwc_variant;

/* All variants (best last) and the one chosen for this CPU (once; capped by
 * LENS_ISA). */
const lens_f32_nhwc_variant *lens_f32_nhwc_variants(size_t *count);
const lens_f32_nhwc_variant *lens_f32_nhwc_best(void);

#endif
