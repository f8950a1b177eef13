/* Portable reference of the MaxPool family (see kernels/maxpool.h). */
#include <math.h>

#include "kernels/maxpool.h"

void lens_f32_maxpool__ref(const lens_maxpool_geom *g, const float *x, float *y) {
    for (size_t oy = 0; oy < g->OH; oy++) {
        /* Window rows [oy*sh - ph, + KH) clipped to the input. */
        size_t y0 = oy * g->sh, ys = y0 > g->ph ? y0 - g->ph : 0;
        size_t ye = LENS_MIN(g->H, y0 + g->KH > g->ph ? y0 + g->KH - g->ph : 0);
        for (size_t ox = 0; ox < g->OW; ox++) {
            size_t x0 = ox * g->sw, xs = x0 > g->pw ? x0 - g->pw : 0;
            size_t xe = LENS_MIN(g->W, x0 + g->KW > g->pw ? x0 + g->KW - g->pw : 0);
            float m = -INFINITY;
            for (size_t yy = ys; yy < ye; yy++)
                for (size_t xx = xs; xx < xe; xx++) {
                    float v = x[yy * g->W + xx];
                    m = v > m ? v : m;
                }
            y[oy * g->OW + ox] = m;
        }
    }
}
