/* AVX-512 depthwise convolution of one channel: 16 outputs per vector, up
 * to 4 vectors per block so that several independent FMA chains hide the
 * FMA latency. Stride 2 reads two vectors and keeps the even lanes. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/dwconv.h"
#include "kernels/x86/act_avx512.h"

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
/* ---- in place, fused epilogue ---------------------------------------------
 * Each block of up to 4 vectors (64 outputs) of a row loads its input with
 * column masks that drop taps in the left/right padding (masked-off lanes
 * are not read, so nothing outside the plane is touched); rows in the
 * top/bottom padding are skipped. The masks depend on (kx, vector) only and
 * are computed once per block column, for all rows. */

/* Lanes l in [0, 16) with 0 <= base + l < W. */
static inline __mmask16 col_mask(int64_t base, int64_t W) {
    int64_t lo = base < 0 ? -base : 0, hi = W - base;
    if (hi > 16) hi = 16;
    if (lo >= hi) return 0;
    uint32_t m = (hi >= 16 ? 0xFFFFu : ((1u << hi) - 1u)) & ~((1u << lo) - 1u);
    return (__mmask16)m;
}

static inline const float *at(const float *row, int64_t i) {
    /* Address of row[i] where i may be negative: only ever used by a masked
     * load whose enabled lanes lie inside the row. */
    return (const float *)((uintptr_t)row + (uintptr_t)(i * (int64_t)sizeof(float)));
}

static inline __attribute__((always_inline)) void dblock(const lens_dwconv_geom *g,
                                                         const float *x, const float *w,
                                                         float bias, const float *res,
                                                         const lens_act_params *act, float *y,
                                                         size_t ox0, const int nv, const int s2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const int64_t W = (int64_t)g->W, sw = s2 ? 2 : 1;
    __mmask16 cm[16][4][2];
    for (size_t kx = 0; kx < g->KW; kx++) {
        int64_t base = (int64_t)ox0 * sw + (int64_t)(kx * g->dw) - (int64_t)g->pw;
        for (int j = 0; j < nv; j++) {
            int64_t b = base + 16 * sw * j;
            cm[kx][j][0] = col_mask(b, W);
            cm[kx][j][1] = s2 ? col_mask(b + 16, W) : 0;
        }
    }
    size_t left = g->OW - ox0;
    bool vec_act = act && act->act && lens_act_vectorised_avx512(act->act);
    /* Rows per step: enough independent FMA chains (rows x vectors, up to
     * 8) to cover the FMA latency; the rows share each weight broadcast. */
    const size_t R = nv >= 3 ? 2 : 4;
    for (size_t oy = 0; oy < g->OH; oy += R) {
        const size_t nrow = LENS_MIN(R, g->OH - oy);
        /* Named accumulators: with an array GCC keeps it on the stack and
         * stores it after every FMA. */
        __m512 a00 = _mm512_set1_ps(bias), a01 = a00, a02 = a00, a03 = a00;
        __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        __m512 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (size_t ky = 0; ky < g->KH; ky++) {
            /* Input row of output row oy + r: iy0 + r * sh (minus ph). */
            const size_t iy0 = oy * g->sh + ky * g->dh;
            const float *rows[4] = {NULL, NULL, NULL, NULL};
            bool any = false;
            for (size_t r = 0; r < nrow; r++) {
                size_t iy = iy0 + r * g->sh;
                if (iy >= g->ph && iy - g->ph < g->H) {
                    rows[r] = x + (iy - g->ph) * g->W;
                    any = true;
                }
            }
            if (!any) continue;
            for (size_t kx = 0; kx < g->KW; kx++) {
                __m512 wv = _mm512_set1_ps(w[ky * g->KW + kx]);
                int64_t base = (int64_t)ox0 * sw + (int64_t)(kx * g->dw) - (int64_t)g->pw;
#define TAP(R_, J, A)                                                                              \
    if (R > R_ && nv > J && rows[R_]) {                                                            \
        const float *row = rows[R_];                                                               \
        int64_t b = base + 16 * sw * J;                                                            \
        __m512 xv;                                                                                 \
        if (s2)                                                                                    \
            xv = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(cm[kx][J][0], at(row, b)), even,     \
                                        _mm512_maskz_loadu_ps(cm[kx][J][1], at(row, b + 16)));     \
        else                                                                                       \
            xv = _mm512_maskz_loadu_ps(cm[kx][J][0], at(row, b));                                  \
        A = _mm512_fmadd_ps(xv, wv, A);                                                            \
    }
                TAP(0, 0, a00)
                TAP(0, 1, a01)
                TAP(0, 2, a02)
                TAP(0, 3, a03)
                TAP(1, 0, a10)
                TAP(1, 1, a11)
                TAP(1, 2, a12)
                TAP(1, 3, a13)
                if (nv <= 2) {
                    TAP(2, 0, a20)
                    TAP(2, 1, a21)
                    TAP(3, 0, a30)
                    TAP(3, 1, a31)
                }
#undef TAP
            }
        }
        __m512 acc[4][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a00, a00},
                            {a30, a31, a00, a00}};
        for (size_t r = 0; r < nrow; r++) {
            float *yr = y + (oy + r) * g->OW + ox0;
            const float *rr = res ? res + (oy + r) * g->OW + ox0 : NULL;
            for (int j = 0; j < nv; j++) {
                size_t n = left > 16 * (size_t)j ? left - 16 * (size_t)j : 0;
                __mmask16 m = lens_mask16(n);
                __m512 v = acc[r][j];
                if (rr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, rr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
                _mm512_mask_storeu_ps(yr + 16 * j, m, v);
            }
            if (act && act->act && !vec_act) lens_f32_act__ref(act, yr, LENS_MIN(left, 64));
        }
    }
}

/* ---- 3x3, stride 1, dilation 1 on wide planes ------------------------------
 * Up to 4 output rows x 2 vectors per step with the 9 weights in registers:
 * each input row is loaded once per kx (3 shifted, column-masked vectors)
 * and feeds every output row it touches (ir - ky), 6 input rows for 4
 * output rows instead of 12 row loads in the generic kernel. */
#define D3_FMA(A, X0, X1, X2, KY)                                                                  \
    A = _mm512_fmadd_ps(X0, w##KY##0, A);                                                          \
    A = _mm512_fmadd_ps(X1, w##KY##1, A);                                                          \
    A = _mm512_fmadd_ps(X2, w##KY##2, A);

static inline __attribute__((always_inline)) void d3s1_block(const lens_dwconv_geom *g,
                                                             const float *x, const float *w,
                                                             float bias, const float *res,
                                                             const lens_act_params *act, float *y,
                                                             size_t ox0, const int nv) {
    const int64_t W = (int64_t)g->W, H = (int64_t)g->H;
    const int64_t b0 = (int64_t)ox0 - (int64_t)g->pw;
    const __mmask16 m00 = col_mask(b0, W), m10 = col_mask(b0 + 1, W), m20 = col_mask(b0 + 2, W);
    const __mmask16 m01 = col_mask(b0 + 16, W), m11 = col_mask(b0 + 17, W),
                    m21 = col_mask(b0 + 18, W);
    const __m512 w00 = _mm512_set1_ps(w[0]), w01 = _mm512_set1_ps(w[1]), w02 = _mm512_set1_ps(w[2]);
    const __m512 w10 = _mm512_set1_ps(w[3]), w11 = _mm512_set1_ps(w[4]), w12 = _mm512_set1_ps(w[5]);
    const __m512 w20 = _mm512_set1_ps(w[6]), w21 = _mm512_set1_ps(w[7]), w22 = _mm512_set1_ps(w[8]);
    const size_t left = g->OW - ox0;
    const bool vec_act = act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t oy = 0; oy < g->OH; oy += 4) {
        const size_t nrow = LENS_MIN(4, g->OH - oy);
        __m512 a00 = _mm512_set1_ps(bias), a01 = a00, a10 = a00, a11 = a00;
        __m512 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        const int64_t iy0 = (int64_t)oy - (int64_t)g->ph;
#define D3_ROW(IR, BODY)                                                                           \
    if (iy0 + IR >= 0 && iy0 + IR < H) {                                                           \
        const float *row = x + (iy0 + IR) * W;                                                     \
        __m512 x00 = _mm512_maskz_loadu_ps(m00, at(row, b0));                                      \
        __m512 x10 = _mm512_maskz_loadu_ps(m10, at(row, b0 + 1));                                  \
        __m512 x20 = _mm512_maskz_loadu_ps(m20, at(row, b0 + 2));                                  \
        __m512 x01 = x00, x11 = x00, x21 = x00;                                                    \
        if (nv > 1) {                                                                              \
            x01 = _mm512_maskz_loadu_ps(m01, at(row, b0 + 16));                                    \
            x11 = _mm512_maskz_loadu_ps(m11, at(row, b0 + 17));                                    \
            x21 = _mm512_maskz_loadu_ps(m21, at(row, b0 + 18));                                    \
        }                                                                                          \
        BODY                                                                                       \
    }
#define D3_ACC(R, KY)                                                                              \
    D3_FMA(a##R##0, x00, x10, x20, KY)                                                             \
    if (nv > 1) {                                                                                  \
        D3_FMA(a##R##1, x01, x11, x21, KY)                                                         \
    }
        D3_ROW(0, D3_ACC(0, 0))
        D3_ROW(1, D3_ACC(1, 0) D3_ACC(0, 1))
        D3_ROW(2, D3_ACC(2, 0) D3_ACC(1, 1) D3_ACC(0, 2))
        if (nrow > 1) D3_ROW(3, D3_ACC(3, 0) D3_ACC(2, 1) D3_ACC(1, 2))
        if (nrow > 2) D3_ROW(4, D3_ACC(3, 1) D3_ACC(2, 2))
        if (nrow > 3) D3_ROW(5, D3_ACC(3, 2))
#undef D3_ROW
#undef D3_ACC
        __m512 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
        for (size_t r = 0; r < nrow; r++) {
            float *yr = y + (oy + r) * g->OW + ox0;
            const float *rr = res ? res + (oy + r) * g->OW + ox0 : NULL;
            for (int j = 0; j < nv; j++) {
                __mmask16 m = lens_mask16(left > 16 * (size_t)j ? left - 16 * (size_t)j : 0);
                __m512 v = acc[r][j];
                if (rr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, rr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
                _mm512_mask_storeu_ps(yr + 16 * j, m, v);
            }
            if (act && act->act && !vec_act) lens_f32_act__ref(act, yr, LENS_MIN(left, 32));
        }
    }
}
#undef D3_FMA

static void d3s1(const lens_dwconv_geom *g, const float *x, const float *w, float bias,
                 const float *res, const lens_act_params *act, float *y) {
    for (size_t ox = 0; ox < g->OW; ox += 32) {
        if (g->OW - ox > 16)
            d3s1_block(g, x, w, bias, res, act, y, ox, 2);
        else
            d3s1_block(g, x, w, bias, res, act, y, ox, 1);
    }
}

/* ---- 3x3, stride 2, dilation 1 on wide planes ------------------------------
 * Up to 4 output rows x 2 vectors per step, weights in registers. Each of
 * the 9 input rows is loaded once and split into its even and odd columns
 * (kx 0 and 1; kx 2 is the even split one column further): 4 loads and 3
 * permutes per row and vector feed both output rows that use the row,
 * where the generic kernel spends 2 loads and a permute per tap. */
#define D3_FMA(A, X0, X1, X2, KY)                                                                  \
    A = _mm512_fmadd_ps(X0, w##KY##0, A);                                                          \
    A = _mm512_fmadd_ps(X1, w##KY##1, A);                                                          \
    A = _mm512_fmadd_ps(X2, w##KY##2, A);

static inline __attribute__((always_inline)) void d3s2_block(const lens_dwconv_geom *g,
                                                             const float *x, const float *w,
                                                             float bias, const float *res,
                                                             const lens_act_params *act, float *y,
                                                             size_t ox0, const int nv) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t W = (int64_t)g->W, H = (int64_t)g->H;
    /* Input column of vector j's first output: b0 + 32 j. */
    const int64_t b0 = 2 * (int64_t)ox0 - (int64_t)g->pw;
    const __mmask16 m00 = col_mask(b0, W), m10 = col_mask(b0 + 16, W);
    const __mmask16 m20 = col_mask(b0 + 2, W), m30 = col_mask(b0 + 18, W);
    const __mmask16 m01 = col_mask(b0 + 32, W), m11 = col_mask(b0 + 48, W);
    const __mmask16 m21 = col_mask(b0 + 34, W), m31 = col_mask(b0 + 50, W);
    const __m512 w00 = _mm512_set1_ps(w[0]), w01 = _mm512_set1_ps(w[1]), w02 = _mm512_set1_ps(w[2]);
    const __m512 w10 = _mm512_set1_ps(w[3]), w11 = _mm512_set1_ps(w[4]), w12 = _mm512_set1_ps(w[5]);
    const __m512 w20 = _mm512_set1_ps(w[6]), w21 = _mm512_set1_ps(w[7]), w22 = _mm512_set1_ps(w[8]);
    const size_t left = g->OW - ox0;
    const bool vec_act = act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t oy = 0; oy < g->OH; oy += 4) {
        const size_t nrow = LENS_MIN(4, g->OH - oy);
        __m512 a00 = _mm512_set1_ps(bias), a01 = a00, a10 = a00, a11 = a00;
        __m512 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        const int64_t iy0 = 2 * (int64_t)oy - (int64_t)g->ph;
#define D3_ROW(IR, BODY)                                                                           \
    if (iy0 + IR >= 0 && iy0 + IR < H) {                                                           \
        const float *row = x + (iy0 + IR) * W;                                                     \
        __m512 l0 = _mm512_maskz_loadu_ps(m00, at(row, b0));                                       \
        __m512 l1 = _mm512_maskz_loadu_ps(m10, at(row, b0 + 16));                                  \
        __m512 x00 = _mm512_permutex2var_ps(l0, even, l1);                                         \
        __m512 x10 = _mm512_permutex2var_ps(l0, odd, l1);                                          \
        __m512 x20 = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m20, at(row, b0 + 2)), even,     \
                                            _mm512_maskz_loadu_ps(m30, at(row, b0 + 18)));         \
        __m512 x01 = x00, x11 = x00, x21 = x00;                                                    \
        if (nv > 1) {                                                                              \
            __m512 l2 = _mm512_maskz_loadu_ps(m01, at(row, b0 + 32));                              \
            __m512 l3 = _mm512_maskz_loadu_ps(m11, at(row, b0 + 48));                              \
            x01 = _mm512_permutex2var_ps(l2, even, l3);                                            \
            x11 = _mm512_permutex2var_ps(l2, odd, l3);                                             \
            x21 = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m21, at(row, b0 + 34)), even,      \
                                         _mm512_maskz_loadu_ps(m31, at(row, b0 + 50)));            \
        }                                                                                          \
        BODY                                                                                       \
    }
#define D3_ACC(R, KY)                                                                              \
    D3_FMA(a##R##0, x00, x10, x20, KY)                                                             \
    if (nv > 1) {                                                                                  \
        D3_FMA(a##R##1, x01, x11, x21, KY)                                                         \
    }
        D3_ROW(0, D3_ACC(0, 0))
        D3_ROW(1, D3_ACC(0, 1))
        D3_ROW(2, D3_ACC(0, 2) D3_ACC(1, 0))
        if (nrow > 1) {
            D3_ROW(3, D3_ACC(1, 1))
            D3_ROW(4, D3_ACC(1, 2) D3_ACC(2, 0))
        }
        if (nrow > 2) {
            D3_ROW(5, D3_ACC(2, 1))
            D3_ROW(6, D3_ACC(2, 2) D3_ACC(3, 0))
        }
        if (nrow > 3) {
            D3_ROW(7, D3_ACC(3, 1))
            D3_ROW(8, D3_ACC(3, 2))
        }
#undef D3_ROW
#undef D3_ACC
        __m512 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
        for (size_t r = 0; r < nrow; r++) {
            float *yr = y + (oy + r) * g->OW + ox0;
            const float *rr = res ? res + (oy + r) * g->OW + ox0 : NULL;
            for (int j = 0; j < nv; j++) {
                __mmask16 m = lens_mask16(left > 16 * (size_t)j ? left - 16 * (size_t)j : 0);
                __m512 v = acc[r][j];
                if (rr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, rr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
                _mm512_mask_storeu_ps(yr + 16 * j, m, v);
            }
            if (act && act->act && !vec_act) lens_f32_act__ref(act, yr, LENS_MIN(left, 32));
        }
    }
}
#undef D3_FMA

static void d3s2(const lens_dwconv_geom *g, const float *x, const float *w, float bias,
                 const float *res, const lens_act_params *act, float *y) {
    for (size_t ox = 0; ox < g->OW; ox += 32) {
        if (g->OW - ox > 16)
            d3s2_block(g, x, w, bias, res, act, y, ox, 2);
        else
            d3s2_block(g, x, w, bias, res, act, y, ox, 1);
    }
}

/* ---- 5x5, stride 2, dilation 1 on wide planes ------------------------------
 * The d3s2 scheme with 5 taps a row: each of the 11 input rows of a
 * 4-output-row step is loaded once (3 pairs of vectors, 2 columns apart)
 * and split into even/odd columns (kx 0-4: even, odd, even + 2, odd + 2,
 * even + 4), then fed to every output row that uses it (ir = 2 r + ky);
 * the weights are broadcast from memory. Loops have constant trip counts
 * and are fully unrolled, so the accumulator array lives in registers. */
static inline __attribute__((always_inline)) void d5s2_block(const lens_dwconv_geom *g,
                                                             const float *x, const float *w,
                                                             float bias, const float *res,
                                                             const lens_act_params *act, float *y,
                                                             size_t ox0, const int nv) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t W = (int64_t)g->W, H = (int64_t)g->H;
    const int64_t b0 = 2 * (int64_t)ox0 - (int64_t)g->pw;
    /* Masks of the loads at b0 + 2 p + 32 j (+ 16 h): pair p, vector j. */
    __mmask16 m[3][2][2];
#pragma GCC unroll 3
    for (int p = 0; p < 3; p++)
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++) {
            m[p][j][0] = col_mask(b0 + 2 * p + 32 * j, W);
            m[p][j][1] = col_mask(b0 + 2 * p + 32 * j + 16, W);
        }
    const size_t left = g->OW - ox0;
    const bool vec_act = act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t oy = 0; oy < g->OH; oy += 4) {
        const size_t nrow = LENS_MIN(4, g->OH - oy);
        __m512 acc[4][2];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm512_set1_ps(bias);
        const int64_t iy0 = 2 * (int64_t)oy - (int64_t)g->ph;
#pragma GCC unroll 11
        for (int ir = 0; ir < 11; ir++) {
            if (ir >= 2 * (int)nrow + 3 || iy0 + ir < 0 || iy0 + ir >= H) continue;
            const float *row = x + (iy0 + ir) * W;
            __m512 xv[5][2];
#pragma GCC unroll 2
            for (int j = 0; j < 2; j++) {
                if (j >= nv) break;
#pragma GCC unroll 3
                for (int p = 0; p < 3; p++) {
                    const int64_t b = b0 + 2 * p + 32 * j;
                    __m512 lo = _mm512_maskz_loadu_ps(m[p][j][0], at(row, b));
                    __m512 hi = _mm512_maskz_loadu_ps(m[p][j][1], at(row, b + 16));
                    xv[2 * p][j] = _mm512_permutex2var_ps(lo, even, hi);
                    if (p < 2) xv[2 * p + 1][j] = _mm512_permutex2var_ps(lo, odd, hi);
                }
            }
#pragma GCC unroll 5
            for (int ky = 0; ky < 5; ky++) {
                if ((ir - ky) & 1) continue;
                const int r = (ir - ky) / 2;
                if (ir < ky || r > 3) continue;
#pragma GCC unroll 5
                for (int kx = 0; kx < 5; kx++) {
                    __m512 wv = _mm512_set1_ps(w[ky * 5 + kx]);
                    acc[r][0] = _mm512_fmadd_ps(xv[kx][0], wv, acc[r][0]);
                    if (nv > 1) acc[r][1] = _mm512_fmadd_ps(xv[kx][1], wv, acc[r][1]);
                }
            }
        }
        for (size_t r = 0; r < nrow; r++) {
            float *yr = y + (oy + r) * g->OW + ox0;
            const float *rr = res ? res + (oy + r) * g->OW + ox0 : NULL;
            for (int j = 0; j < nv; j++) {
                __mmask16 mk = lens_mask16(left > 16 * (size_t)j ? left - 16 * (size_t)j : 0);
                __m512 v = acc[r][j];
                if (rr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, rr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
                _mm512_mask_storeu_ps(yr + 16 * j, mk, v);
            }
            if (act && act->act && !vec_act) lens_f32_act__ref(act, yr, LENS_MIN(left, 32));
        }
    }
}

static void d5s2(const lens_dwconv_geom *g, const float *x, const float *w, float bias,
                 const float *res, const lens_act_params *act, float *y) {
    for (size_t ox = 0; ox < g->OW; ox += 32) {
        if (g->OW - ox > 16)
            d5s2_block(g, x, w, bias, res, act, y, ox, 2);
        else
            d5s2_block(g, x, w, bias, res, act, y, ox, 1);
    }
}

void lens_f32_dwconv_direct__avx512(const lens_dwconv_geom *g, const float *x, const float *w,
                                    float bias, const float *res, const lens_act_params *act,
                                    float *y) {
    if (g->sw > 2 || g->KW > 16) {
        lens_f32_dwconv_direct__ref(g, x, w, bias, res, act, y);
        return;
    }
    if (g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1) {
        d3s1(g, x, w, bias, res, act, y);
        return;
    }
    if (g->KH == 3 && g->KW == 3 && g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1) {
        d3s2(g, x, w, bias, res, act, y);
        return;
    }
    if (g->KH == 5 && g->KW == 5 && g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1) {
        d5s2(g, x, w, bias, res, act, y);
        return;
    }
    const int s2 = g->sw == 2;
    /* Blocks outermost: their column masks serve every row. */
    for (size_t ox = 0; ox < g->OW; ox += 64) {
        size_t nv = (LENS_MIN(g->OW - ox, 64) + 15) / 16;
#define DB(NV, S2) dblock(g, x, w, bias, res, act, y, ox, NV, S2)
        if (s2) {
            switch (nv) {
            case 4: DB(4, 1); break;
            case 3: DB(3, 1); break;
            case 2: DB(2, 1); break;
            default: DB(1, 1); break;
            }
        } else {
            switch (nv) {
            case 4: DB(4, 0); break;
            case 3: DB(3, 0); break;
            case 2: DB(2, 0); break;
            default: DB(1, 0); break;
            }
        }
#undef DB
    }
}

/* ---- channel-block kernel (lens_f32_dwconv_cblock_fn) --------------------- */

/* 16x16 transpose in registers: r[i] lane j -> r[j] lane i. */
static inline __attribute__((always_inline)) void tr16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0xDD);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    }
}

/* nv (1..8) consecutive outputs of one row: independent FMA chains sharing
 * each weight vector. xr: padded block at (oy * sh, ox0 * sw). */
static inline __attribute__((always_inline)) void cb_row(const lens_dwconv_geom *g, size_t wp,
                                                         const float *xr, const float *wb,
                                                         __m512 bv, float *yb, const int nv) {
    __m512 a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
    const size_t xs = g->sw * 16;
    for (size_t ky = 0; ky < g->KH; ky++) {
        const float *r = xr + ky * g->dh * wp * 16;
        const float *wr = wb + ky * g->KW * 16;
        for (size_t kx = 0; kx < g->KW; kx++) {
            __m512 wv = _mm512_load_ps(wr + kx * 16);
            const float *p = r + kx * g->dw * 16;
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p), wv, a0);
            if (nv > 1) a1 = _mm512_fmadd_ps(_mm512_loadu_ps(p + xs), wv, a1);
            if (nv > 2) a2 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2 * xs), wv, a2);
            if (nv > 3) a3 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 3 * xs), wv, a3);
            if (nv > 4) a4 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 4 * xs), wv, a4);
            if (nv > 5) a5 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 5 * xs), wv, a5);
            if (nv > 6) a6 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 6 * xs), wv, a6);
            if (nv > 7) a7 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 7 * xs), wv, a7);
        }
    }
    _mm512_store_ps(yb, a0);
    if (nv > 1) _mm512_store_ps(yb + 16, a1);
    if (nv > 2) _mm512_store_ps(yb + 32, a2);
    if (nv > 3) _mm512_store_ps(yb + 48, a3);
    if (nv > 4) _mm512_store_ps(yb + 64, a4);
    if (nv > 5) _mm512_store_ps(yb + 80, a5);
    if (nv > 6) _mm512_store_ps(yb + 96, a6);
    if (nv > 7) _mm512_store_ps(yb + 112, a7);
}

void lens_f32_dwconv_cblock__avx512(const lens_dwconv_geom *g, size_t nc, const float *x,
                                    const float *w, const float *bias, const float *res,
                                    const lens_act_params *act, float *y, float *scratch) {
    size_t hp, wp;
    lens_dwconv_cblock_dims(g, &hp, &wp);
    const size_t in = g->H * g->W, Q = g->OH * g->OW, ks = g->KH * g->KW;
    float *xb = scratch;               /* [hp][wp][16] */
    float *wb = xb + hp * wp * 16;     /* [ks][16], then the bias vector */
    float *yb = wb + (ks + 1) * 16;    /* [Q][16] */
    /* Weights and bias, one lane per channel (lanes >= nc zero). */
    for (size_t t = 0; t < ks; t++)
        for (size_t c = 0; c < 16; c++) wb[t * 16 + c] = c < nc ? w[c * ks + t] : 0.0f;
    for (size_t c = 0; c < 16; c++) wb[ks * 16 + c] = c < nc && bias ? bias[c] : 0.0f;
    const __m512 bv = _mm512_load_ps(wb + ks * 16);
    /* Input: zero border, then each row's columns transposed 16 at a time. */
    const __m512 z = _mm512_setzero_ps();
    for (size_t r = 0; r < hp; r++) {
        float *d = xb + r * wp * 16;
        if (r < g->ph || r - g->ph >= g->H) {
            for (size_t i = 0; i < wp; i++) _mm512_store_ps(d + i * 16, z);
            continue;
        }
        for (size_t i = 0; i < g->pw; i++) _mm512_store_ps(d + i * 16, z);
        for (size_t i = g->pw + g->W; i < wp; i++) _mm512_store_ps(d + i * 16, z);
        const float *s = x + (r - g->ph) * g->W;
        for (size_t c0 = 0; c0 < g->W; c0 += 16) {
            size_t n = LENS_MIN(16, g->W - c0);
            __mmask16 m = lens_mask16(n);
            __m512 v[16];
            for (int c = 0; c < 16; c++)
                v[c] = (size_t)c < nc ? _mm512_maskz_loadu_ps(m, s + (size_t)c * in + c0) : z;
            tr16(v);
            float *dd = d + (g->pw + c0) * 16;
            for (size_t i = 0; i < n; i++) _mm512_storeu_ps(dd + i * 16, v[i]);
        }
    }
    /* Every tap a full-width FMA over the padded block. */
    for (size_t oy = 0; oy < g->OH; oy++) {
        const float *xr = xb + oy * g->sh * wp * 16;
        for (size_t ox = 0; ox < g->OW; ox += 8) {
            const float *p = xr + ox * g->sw * 16;
            float *q = yb + (oy * g->OW + ox) * 16;
            switch (LENS_MIN(8, g->OW - ox)) {
            case 8: cb_row(g, wp, p, wb, bv, q, 8); break;
            case 7: cb_row(g, wp, p, wb, bv, q, 7); break;
            case 6: cb_row(g, wp, p, wb, bv, q, 6); break;
            case 5: cb_row(g, wp, p, wb, bv, q, 5); break;
            case 4: cb_row(g, wp, p, wb, bv, q, 4); break;
            case 3: cb_row(g, wp, p, wb, bv, q, 3); break;
            case 2: cb_row(g, wp, p, wb, bv, q, 2); break;
            default: cb_row(g, wp, p, wb, bv, q, 1); break;
            }
        }
    }
    /* Back to planes, 16 outputs at a time, residual and activation fused. */
    bool vec_act = act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t q0 = 0; q0 < Q; q0 += 16) {
        size_t n = LENS_MIN(16, Q - q0);
        __mmask16 m = lens_mask16(n);
        __m512 v[16];
        for (size_t i = 0; i < 16; i++) v[i] = i < n ? _mm512_load_ps(yb + (q0 + i) * 16) : z;
        tr16(v);
        for (size_t c = 0; c < nc; c++) {
            __m512 o = v[c];
            if (res) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(m, res + c * Q + q0));
            if (vec_act) o = lens_act_avx512(o, act);
            _mm512_mask_storeu_ps(y + c * Q + q0, m, o);
        }
    }
    if (act && act->act && !vec_act)
        for (size_t c = 0; c < nc; c++) lens_f32_act__ref(act, y + c * Q, Q);
}
#endif
