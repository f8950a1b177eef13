/* AVX-512 MaxPool of one plane: see kernels/maxpool.h. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "kernels/maxpool.h"

static inline __mmask16 first_n(size_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* Outputs [ox, ox + n) of row oy (n <= 16 * nv), all windows inside the
 * input columns; rows [ys, ye) of the input. */
static inline __attribute__((always_inline)) void block(const lens_maxpool_geom *g,
                                                        const float *x, float *yr, size_t ys,
                                                        size_t ye, size_t ox, size_t n,
                                                        const int nv, const int s2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512 acc[4];
    __mmask16 m[4], lo[4], hi[4];
    for (int j = 0; j < nv; j++) {
        size_t c = n > 16 * (size_t)j ? n - 16 * (size_t)j : 0;
        if (c > 16) c = 16;
        acc[j] = _mm512_set1_ps(-INFINITY);
        m[j] = first_n(c);
        /* stride 2: elements 0 .. 2c-2 of the 32 read */
        size_t e = c ? 2 * c - 1 : 0;
        lo[j] = first_n(e);
        hi[j] = first_n(e > 16 ? e - 16 : 0);
    }
    const size_t c0 = ox * g->sw - g->pw;
    for (size_t yy = ys; yy < ye; yy++) {
        const float *r = x + yy * g->W + c0;
        for (size_t kx = 0; kx < g->KW; kx++) {
            const float *p = r + kx;
            for (int j = 0; j < nv; j++) {
                __m512 v;
                if (s2)
                    v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo[j], p + 32 * j), even,
                                               _mm512_maskz_loadu_ps(hi[j], p + 32 * j + 16));
                else
                    v = _mm512_maskz_loadu_ps(m[j], p + 16 * j);
                acc[j] = _mm512_max_ps(v, acc[j]); /* v > acc ? v : acc */
            }
        }
    }
    for (int j = 0; j < nv; j++) _mm512_mask_storeu_ps(yr + ox + 16 * j, m[j], acc[j]);
}

static void scalar_cols(const lens_maxpool_geom *g, const float *x, float *yr, size_t ys,
                        size_t ye, size_t ox0, size_t ox1) {
    for (size_t ox = ox0; ox < ox1; ox++) {
        size_t x0 = ox * g->sw, xs = x0 > g->pw ? x0 - g->pw : 0;
        size_t xe = LENS_MIN(g->W, x0 + g->KW > g->pw ? x0 + g->KW - g->pw : 0);
        float m = -INFINITY;
        for (size_t yy = ys; yy < ye; yy++)
            for (size_t xx = xs; xx < xe; xx++) {
                float v = x[yy * g->W + xx];
                m = v > m ? v : m;
            }
        yr[ox] = m;
    }
}

void lens_f32_maxpool__avx512(const lens_maxpool_geom *g, const float *x, float *y) {
    /* Interior columns: ox*sw >= pw and ox*sw - pw + KW <= W. */
    size_t lo = (g->pw + g->sw - 1) / g->sw, hi = 0;
    if (g->W + g->pw >= g->KW) hi = (g->W + g->pw - g->KW) / g->sw + 1;
    hi = LENS_MIN(hi, g->OW);
    if (lo > hi) lo = hi;
    const bool vec = g->sw <= 2;
    if (!vec) lo = hi = g->OW;
    for (size_t oy = 0; oy < g->OH; oy++) {
        size_t y0 = oy * g->sh, ys = y0 > g->ph ? y0 - g->ph : 0;
        size_t ye = LENS_MIN(g->H, y0 + g->KH > g->ph ? y0 + g->KH - g->ph : 0);
        float *yr = y + oy * g->OW;
        scalar_cols(g, x, yr, ys, ye, 0, lo);
        size_t ox = lo;
        if (g->sw == 1) {
            for (; ox + 64 <= hi; ox += 64) block(g, x, yr, ys, ye, ox, 64, 4, 0);
            if (ox < hi) {
                size_t n = hi - ox;
                if (n > 48) block(g, x, yr, ys, ye, ox, n, 4, 0);
                else if (n > 32) block(g, x, yr, ys, ye, ox, n, 3, 0);
                else if (n > 16) block(g, x, yr, ys, ye, ox, n, 2, 0);
                else block(g, x, yr, ys, ye, ox, n, 1, 0);
            }
        } else if (g->sw == 2) {
            for (; ox + 64 <= hi; ox += 64) block(g, x, yr, ys, ye, ox, 64, 4, 1);
            if (ox < hi) {
                size_t n = hi - ox;
                if (n > 48) block(g, x, yr, ys, ye, ox, n, 4, 1);
                else if (n > 32) block(g, x, yr, ys, ye, ox, n, 3, 1);
                else if (n > 16) block(g, x, yr, ys, ye, ox, n, 2, 1);
                else block(g, x, yr, ys, ye, ox, n, 1, 1);
            }
        }
        scalar_cols(g, x, yr, ys, ye, hi, g->OW);
    }
}
#endif
