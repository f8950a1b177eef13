/* Single-tap im2col into panels: see kernels/im2col_tap.h. */
#include "kernels/im2col_tap.h"

#include <string.h>

#include "core/common.h"

void lens_im2col_tap_pack(const void *vctx, size_t k0, size_t kc, size_t x0, size_t xc,
                          size_t tile, float *dst) {
    const lens_im2col_tap_ctx *g = vctx;
    const size_t plane = (size_t)(g->H * g->W);
    /* Runs of consecutive columns in one output row: contiguous in the input
     * when the stride is 1. At most RUNS runs per block of RUNS columns. */
    enum { RUNS = 64 };
    size_t rd[RUNS], rs[RUNS], rl[RUNS];
    for (size_t p0 = 0; p0 < xc; p0 += tile, dst += kc * tile) {
        size_t n = LENS_MIN(tile, xc - p0);
        for (size_t t0 = 0; t0 < tile; t0 += RUNS) {
            size_t nruns = 0;
            size_t t = t0, tend = LENS_MIN(t0 + RUNS, n);
            while (t < tend) {
                int64_t q = g->q0 + (int64_t)(x0 + p0 + t);
                int64_t oy = g->y0 + q / g->rw, ox = g->x0 + q % g->rw;
                size_t len = (size_t)LENS_MIN((int64_t)(tend - t), g->x0 + g->rw - ox);
                if (g->sw != 1) len = 1;
                rd[nruns] = t - t0;
                rs[nruns] = (size_t)((oy * g->sh + g->dy) * g->W + ox * g->sw + g->dx);
                rl[nruns] = len;
                nruns++;
                t += len;
            }
            size_t tw = LENS_MIN((size_t)RUNS, tile - t0);
            size_t filled = tend > t0 ? tend - t0 : 0;
            for (size_t k = 0; k < kc; k++) {
                const float *src = g->x + (k0 + k) * plane;
                float *d = dst + k * tile + t0;
                for (size_t r = 0; r < nruns; r++) {
                    const float *s = src + rs[r];
                    float *dd = d + rd[r];
                    for (size_t i = 0; i < rl[r]; i++) dd[i] = s[i];
                }
                for (size_t i = filled; i < tw; i++) d[i] = 0.0f;
            }
        }
    }
}
