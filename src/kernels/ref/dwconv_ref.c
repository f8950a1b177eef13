/* Portable depthwise convolution of one channel (the reference). */
#include "kernels/dwconv.h"

void lens_f32_dwconv__ref(const lens_dwconv_geom *g, const float *xp, const float *w, float bias,
                          float *y) {
    for (size_t oy = 0; oy < g->OH; oy++) {
        float *yr = y + oy * g->OW;
        for (size_t ox = 0; ox < g->OW; ox++) yr[ox] = bias;
        for (size_t ky = 0; ky < g->KH; ky++) {
            const float *r = xp + (oy * g->sh + ky * g->dh) * g->xs;
            for (size_t kx = 0; kx < g->KW; kx++) {
                float wv = w[ky * g->KW + kx];
                const float *p = r + kx * g->dw;
                for (size_t ox = 0; ox < g->OW; ox++) yr[ox] += wv * p[ox * g->sw];
            }
        }
    }
}

/* In place with bounds checks and the fused epilogue: the twin of the SIMD
 * direct kernels. */
void lens_f32_dwconv_direct__ref(const lens_dwconv_geom *g, const float *x, const float *w,
                                 float bias, const float *res, const lens_act_params *act,
                                 float *y) {
    for (size_t oy = 0; oy < g->OH; oy++) {
        float *yr = y + oy * g->OW;
        for (size_t ox = 0; ox < g->OW; ox++) {
            float acc = bias;
            for (size_t ky = 0; ky < g->KH; ky++) {
                size_t iy = oy * g->sh + ky * g->dh;
                if (iy < g->ph || iy - g->ph >= g->H) continue;
                const float *r = x + (iy - g->ph) * g->W;
                for (size_t kx = 0; kx < g->KW; kx++) {
                    size_t ix = ox * g->sw + kx * g->dw;
                    if (ix < g->pw || ix - g->pw >= g->W) continue;
                    acc += w[ky * g->KW + kx] * r[ix - g->pw];
                }
            }
            if (res) acc += res[oy * g->OW + ox];
            yr[ox] = acc;
        }
        if (act && act->act) lens_f32_act__ref(act, yr, g->OW);
    }
}

/* Channel block: one channel at a time through the direct reference (the
 * same result up to summation order); scratch is not used. */
void lens_f32_dwconv_cblock__ref(const lens_dwconv_geom *g, size_t nc, const float *x,
                                 const float *w, const float *bias, const float *res,
                                 const lens_act_params *act, float *y, float *scratch) {
    (void)scratch;
    size_t in = g->H * g->W, out = g->OH * g->OW, ks = g->KH * g->KW;
    for (size_t c = 0; c < nc; c++)
        lens_f32_dwconv_direct__ref(g, x + c * in, w + c * ks, bias ? bias[c] : 0.0f,
                                    res ? res + c * out : NULL, act, y + c * out);
}
