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
