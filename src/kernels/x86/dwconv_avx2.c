/* AVX2 depthwise convolution of one channel: 8 outputs per vector, up to 4
 * vectors per block. Stride 2 de-interleaves two vectors with a shuffle and
 * a lane permute. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/dwconv.h"

static inline __attribute__((always_inline)) void block(const lens_dwconv_geom *g, const float *r0,
                                                        const float *w, float bias, float *y,
                                                        size_t left, const int nv, const int s2) {
    static const int32_t tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    __m256 acc[4];
    for (int j = 0; j < nv; j++) acc[j] = _mm256_set1_ps(bias);
    for (size_t ky = 0; ky < g->KH; ky++) {
        const float *r = r0 + ky * g->dh * g->xs;
        for (size_t kx = 0; kx < g->KW; kx++) {
            __m256 wv = _mm256_set1_ps(w[ky * g->KW + kx]);
            const float *p = r + kx * g->dw;
            for (int j = 0; j < nv; j++) {
                __m256 xv;
                if (s2) {
                    __m256 lo = _mm256_loadu_ps(p + 16 * j), hi = _mm256_loadu_ps(p + 16 * j + 8);
                    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
                    xv = _mm256_castpd_ps(
                        _mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
                } else {
                    xv = _mm256_loadu_ps(p + 8 * j);
                }
                acc[j] = _mm256_fmadd_ps(xv, wv, acc[j]);
            }
        }
    }
    for (int j = 0; j < nv; j++) {
        size_t n = left > 8 * (size_t)j ? left - 8 * (size_t)j : 0;
        if (n >= 8)
            _mm256_storeu_ps(y + 8 * j, acc[j]);
        else
            _mm256_maskstore_ps(y + 8 * j, _mm256_loadu_si256((const __m256i *)(tab + 8 - n)),
                                acc[j]);
    }
}

void lens_f32_dwconv__avx2(const lens_dwconv_geom *g, const float *xp, const float *w, float bias,
                           float *y) {
    const int s2 = g->sw == 2;
    for (size_t oy = 0; oy < g->OH; oy++) {
        const float *r0 = xp + oy * g->sh * g->xs;
        float *yr = y + oy * g->OW;
        for (size_t ox = 0; ox < g->OW; ox += 32) {
            size_t left = g->OW - ox;
            const float *r = r0 + ox * g->sw;
            size_t nv = (LENS_MIN(left, 32) + 7) / 8;
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
