/* Depthwise 2-D convolution family (one filter per channel, ONNX Conv with
 * group == C == M). Two forms: `direct` kernels read the input plane in
 * place (padding taps masked off) with the epilogue fused, used when
 * lens_f32_dwconv_direct_ok(); otherwise a channel is computed from a
 * zero-padded copy of its input plane, so `fn` has no bounds checks and
 * reads full vectors past the last output (the plane is allocated wide
 * enough for that). */
#ifndef LENS_KERNELS_DWCONV_H
#define LENS_KERNELS_DWCONV_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "kernels/act.h"

typedef struct lens_dwconv_geom {
    size_t H, W;             /* input plane */
    size_t OH, OW;           /* output plane */
    size_t KH, KW, sh, sw, dh, dw, ph, pw;
    size_t xs;               /* row stride of the padded plane (floats) */
    size_t xrows;            /* rows of the padded plane */
} lens_dwconv_geom;

/* One channel: y[oy][ox] = bias + sum w[ky][kx] * xp[(oy*sh + ky*dh)*xs + ox*sw + kx*dw]. */
typedef void (*lens_f32_dwconv_fn)(const lens_dwconv_geom *g, const float *xp, const float *w,
                                   float bias, float *y);

/* One channel read in place (no padded copy), with the epilogue fused:
 * y = act(bias + conv(x) [+ res]). x: the H x W plane; res: OH x OW or NULL;
 * act: NULL or a lens_act_params (act->act 0: none). Taps that fall into the
 * padding are skipped (masked), so nothing outside x is read. xs/xrows of g
 * are not used. */
typedef void (*lens_f32_dwconv_direct_fn)(const lens_dwconv_geom *g, const float *x,
                                          const float *w, float bias, const float *res,
                                          const lens_act_params *act, float *y);

void lens_f32_dwconv__ref(const lens_dwconv_geom *, const float *, const float *, float, float *);
void lens_f32_dwconv_direct__ref(const lens_dwconv_geom *, const float *, const float *, float,
                                 const float *, const lens_act_params *, float *);
void lens_f32_dwconv_direct__avx512(const lens_dwconv_geom *, const float *, const float *, float,
                                    const float *, const lens_act_params *, float *);
void lens_f32_dwconv__avx2(const lens_dwconv_geom *, const float *, const float *, float, float *);
void lens_f32_dwconv__avx512(const lens_dwconv_geom *, const float *, const float *, float,
                             float *);

/* A block of nc <= 16 consecutive channels at once, vectorised across the
 * channels (one lane per channel) instead of along a row: for small output
 * planes (7x7, 14x14) and strided layers a row fills a 16-lane vector
 * poorly (7 of 16 lanes, or every other lane read at stride 2), while a
 * channel vector is always full. The kernel transposes the nc input planes
 * into a zero-padded [Hp][Wp][16] block, runs every tap as one full-width
 * FMA (any stride or dilation), then transposes back with the epilogue
 * fused: y = act(bias + conv(x) [+ res]).
 * x: nc input planes (H x W each, consecutive); w: nc * KH * KW weights;
 * bias: nc floats or NULL; res: nc output planes or NULL; act: NULL or
 * params (act 0: none); y: nc output planes (OH x OW); scratch:
 * lens_dwconv_cblock_floats(g) floats, 64-byte aligned, owned by the caller
 * and clobbered. Nothing is allocated; no pointer is kept. */
typedef void (*lens_f32_dwconv_cblock_fn)(const lens_dwconv_geom *g, size_t nc, const float *x,
                                          const float *w, const float *bias, const float *res,
                                          const lens_act_params *act, float *y, float *scratch);

void lens_f32_dwconv_cblock__ref(const lens_dwconv_geom *, size_t, const float *, const float *,
                                 const float *, const float *, const lens_act_params *, float *,
                                 float *);
void lens_f32_dwconv_cblock__avx512(const lens_dwconv_geom *, size_t, const float *,
                                    const float *, const float *, const float *,
                                    const lens_act_params *, float *, float *);

typedef struct lens_f32_dwconv_variant {
    const char *name;
    lens_f32_dwconv_fn fn;
    bool (*supported)(const lens_cpu *cpu);
    size_t max_sw; /* largest horizontal stride the variant vectorises */
    /* In-place kernel with fused epilogue, used when direct_ok() allows;
     * NULL: padded copy + fn. */
    lens_f32_dwconv_direct_fn direct;
    /* Channel-block kernel (see lens_f32_dwconv_cblock_fn), used when
     * lens_f32_dwconv_cblock_ok() allows; NULL: never. */
    lens_f32_dwconv_cblock_fn cblock;
} lens_f32_dwconv_variant;

/* Whether v->direct handles geometry g (stride and kernel width limits). */
bool lens_f32_dwconv_direct_ok(const lens_f32_dwconv_variant *v, const lens_dwconv_geom *g);

/* Whether v->cblock should run geometry g: small or strided output planes,
 * where it beats the per-channel direct kernel (see dwconv.c). Depends on
 * the geometry only, never on the thread count. */
bool lens_f32_dwconv_cblock_ok(const lens_f32_dwconv_variant *v, const lens_dwconv_geom *g);
/* The geometric half of that rule (scratch sizing uses it for any variant). */
bool lens_dwconv_cblock_geom_ok(const lens_dwconv_geom *g);
/* Padded block geometry of the cblock kernels: rows and columns of the
 * [Hp][Wp][16] input block. */
void lens_dwconv_cblock_dims(const lens_dwconv_geom *g, size_t *hp, size_t *wp);
/* Scratch floats one cblock call needs for g, 0 on overflow. */
size_t lens_dwconv_cblock_floats(const lens_dwconv_geom *g);

const lens_f32_dwconv_variant *lens_f32_dwconv_variants(size_t *count);
const lens_f32_dwconv_variant *lens_f32_dwconv_best(void);

/* Fill in xs/xrows from the rest; returns the floats a padded plane needs,
 * 0 on overflow. */
size_t lens_dwconv_plane_floats(lens_dwconv_geom *g);
/* Copy channel plane x (H x W) into xp with zero padding. */
void lens_dwconv_pad_plane(const lens_dwconv_geom *g, const float *x, float *xp);
/* Whole channel with the variant (falls back to the reference for strides
 * the variant does not vectorise). */
void lens_f32_dwconv_channel(const lens_f32_dwconv_variant *v, const lens_dwconv_geom *g,
                             const float *x, const float *w, float bias, float *xp, float *y);

#endif
