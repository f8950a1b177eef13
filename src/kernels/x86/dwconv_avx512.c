/* AVX-512 depthwise convolution of one channel: 16 outputs per vector, up
 * to 4 vectors per block so that several independent FMA chains hide the
 * FMA latency. Stride 2 reads two vectors and keeps the even lanes. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/dwconv.h"

static inline __attribute__((always_inline)) void block(const lens_dwconv_geom *g, const float *r0,
                                                        const float *w, float bias, float *y,
                                                        size_t left, const int nv, const int s2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512 acc[4];
    for (int j = 0; j < nv; j++) acc[j] = _mm512_set1_ps(bias);
    for (size_t ky = 0; ky < g->KH; ky++) {
        const float *r = r0 + ky * g->dh * g->xs;
        for (size_t kx = 0; kx < g->KW; kx++) {
            __m512 wv = _mm512_set1_ps(w[ky * g->KW + kx]);
            const float *p = r + kx * g->dw;
            for (int j = 0; j < nv; j++) {
                __m512 xv;
                if (s2)
                    xv = _mm512_permutex2var_ps(_mm512_loadu_ps(p + 32 * j), even,
                                                _mm512_loadu_ps(p + 32 * j + 16));
                else
                    xv = _mm512_loadu_ps(p + 16 * j);
                acc[j] = _mm512_fmadd_ps(xv, wv, acc[j]);
            }
        }
    }
    for (int j = 0; j < nv; j++) {
        size_t n = left > 16 * (size_t)j ? left - 16 * (size_t)j : 0;
        __mmask16 m = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
        _mm512_mask_storeu_ps(y + 16 * j, m, acc[j]);
    }
}

void lens_f32_dwconv__avx512(const lens_dwconv_geom *g, const float *xp, const float *w,
                             float bias, float *y) {
    const int s2 = g->sw == 2;
    for (size_t oy = 0; oy < g->OH; oy++) {
        const float *r0 = xp + oy * g->sh * g->xs;
        float *yr = y + oy * g->OW;
        for (size_t ox = 0; ox < g->OW; ox += 64) {
            size_t left = g->OW - ox;
            const float *r = r0 + ox * g->sw;
            size_t nv = (LENS_MIN(left, 64) + 15) / 16;
            if (s2) {
                switch (nv) {
                case 4: block(g, r, w, bias, yr + ox, left, 4, 1); break;
                case 3: block(g, r, w, bias, yr + ox, left, 3, 1); break;
                case 2: block(g, r, w, bias, yr + ox, left, 2, 1); break;
                default: block(g, r, w, bias, yr + ox, left, 1, 1); break;
                }
            } else {
                switch (nv) {
                case 4: block(g, r, w, bias, yr + ox, left, 4, 0); break;
                case 3: block(g, r, w, bias, yr + ox, left, 3, 0); break;
                case 2: block(g, r, w, bias, yr + ox, left, 2, 0); break;
                default: block(g, r, w, bias, yr + ox, left, 1, 0); break;
                }
            }
        }
    }
}
#endif
