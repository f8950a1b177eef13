/* AVX-512 variant of the nhwc family (kernels/conv_nhwc.h).
 *
 * igemm 8x32: 8 output pixels x 32 output channels in 16 zmm accumulators.
 * Per k step two weight vectors are loaded and each pixel's input value is
 * broadcast from memory into two FMAs: 10 loads per 16 FMAs, so the loop
 * is bound by the FMA ports, not the loads. Panels with nc <= 16 (the last
 * one of M = 16, 48, 80...) run a one-vector body instead of multiplying
 * zero weights. 32 columns rather than the NCHW GEMM's 48 because the
 * channel counts of the mobile networks (16, 24, 32, 64, 96, 144...) waste
 * far less of a 32-wide panel. The epilogue adds bias and residual with
 * masked loads, applies the activation in registers (act_avx512.h) and
 * stores with masks, so nothing is written past nc.
 *
 * depthwise: 16 channels per vector, masked tail, 4 output pixels at a time
 * (4 independent FMA chains sharing each weight load), two vectors per
 * pixel while 32 channels remain. Pools use the same loop shape.
 *
 * Each output value's arithmetic is the same whichever row of a tile or
 * lane of a block it lands in, so splitting work never changes results. */
#include <immintrin.h>
#include <math.h>

#include "kernels/conv_nhwc.h"
#include "kernels/x86/act_avx512.h"

#define IG_MR 8
#define IG_NR 32

static inline __attribute__((always_inline)) void igemm_8x32(size_t mr, size_t nc, size_t kc, size_t ks,
                                                             const float **a, const float *w, float *c,
                                                             size_t ldc, const float *bias, const float *res,
                                                             size_t ldr, const lens_act_params *act,
                                                             const int nv, const size_t kc_fixed) {
    /* kc_fixed > 0: the channel count is known (3 for RGB stems), so the k
     * loop unrolls completely */
    if (kc_fixed) kc = kc_fixed;
    __m512 acc[IG_MR][2];
    for (int i = 0; i < IG_MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const float *zero = lens_nhwc_zero_row();
    for (size_t t = 0; t < ks; t++, a += IG_MR) {
        const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
        const float *a4 = a[4], *a5 = a[5], *a6 = a[6], *a7 = a[7];
        /* a tap that is padding for every pixel of the tile adds only
         * zeros: skip it (dilated convs on small maps have mostly such
         * taps) */
        if (a0 == zero && a1 == zero && a2 == zero && a3 == zero && a4 == zero && a5 == zero &&
            a6 == zero && a7 == zero) {
            w += kc * IG_NR;
            continue;
        }
        for (size_t k = 0; k < kc; k++, w += IG_NR) {
            _mm_prefetch((const char *)(w + 8 * IG_NR), _MM_HINT_T0);
            __m512 w0 = _mm512_loadu_ps(w), w1 = nv > 1 ? _mm512_loadu_ps(w + 16) : w0;
#define IG_ROW(i)                                                                  \
    do {                                                                           \
        __m512 x = _mm512_set1_ps(a##i[k]);                                        \
        acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);                             \
        if (nv > 1) acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);                 \
    } while (0)
            IG_ROW(0);
            IG_ROW(1);
            IG_ROW(2);
            IG_ROW(3);
            IG_ROW(4);
            IG_ROW(5);
            IG_ROW(6);
            IG_ROW(7);
#undef IG_ROW
        }
    }
    __mmask16 m0 = lens_mask16(nc), m1 = nc > 16 ? lens_mask16(nc - 16) : 0;
    __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 b1 = bias && nv > 1 ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    bool vec = act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        __m512 v0 = _mm512_add_ps(acc[i][0], b0);
        if (res) v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, res + i * ldr));
        if (vec) v0 = lens_act_avx512(v0, act);
        _mm512_mask_storeu_ps(ci, m0, v0);
        if (nv > 1) {
            __m512 v1 = _mm512_add_ps(acc[i][1], b1);
            if (res) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, res + i * ldr + 16));
            if (vec) v1 = lens_act_avx512(v1, act);
            _mm512_mask_storeu_ps(ci + 16, m1, v1);
        }
        if (act && act->act && !vec) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, ci, nc);
    }
}

void lens_f32_igemm_8x32__avx512(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w,
                                 float *c, size_t ldc, const float *bias, const float *res, size_t ldr,
                                 const lens_act_params *act) {
    if (kc == 3 && nc > 16) igemm_8x32(mr, nc, kc, ks, a, w, c, ldc, bias, res, ldr, act, 2, 3);
    else if (kc == 3) igemm_8x32(mr, nc, kc, ks, a, w, c, ldc, bias, res, ldr, act, 1, 3);
    else if (nc > 16) igemm_8x32(mr, nc, kc, ks, a, w, c, ldc, bias, res, ldr, act, 2, 0);
    else igemm_8x32(mr, nc, kc, ks, a, w, c, ldc, bias, res, ldr, act, 1, 0);
}

/* ---- depthwise ---------------------------------------------------------- */

/* Epilogue of one vector of channels [c, c + 16) (mask m) of pixel p. */
static inline __attribute__((always_inline)) void dw_store(__m512 v, __mmask16 m, size_t c, size_t p,
                                                           const float *bias, float *y, size_t ldy,
                                                           const float *res, size_t ldr,
                                                           const lens_act_params *act, bool vec) {
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + c));
    if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + p * ldr + c));
    if (vec) v = lens_act_avx512(v, act);
    _mm512_mask_storeu_ps(y + p * ldy + c, m, v);
}

/* np (1..4) pixels starting at a (pixel-major table), channels [c, c+16)
 * and, with two, [c+16, c+32). */
static inline __attribute__((always_inline)) void dw_block(size_t np, size_t ks, const float **a, size_t off,
                                                           const float *w, size_t wstride, __mmask16 m0,
                                                           __mmask16 m1, const int nvec, __m512 out[4][2]) {
    __m512 acc[4][2];
    for (int p = 0; p < 4; p++) acc[p][0] = acc[p][1] = _mm512_setzero_ps();
    for (size_t t = 0; t < ks; t++) {
        __m512 w0 = _mm512_maskz_loadu_ps(m0, w + t * wstride);
        __m512 w1 = nvec > 1 ? _mm512_maskz_loadu_ps(m1, w + t * wstride + 16) : w0;
        for (size_t p = 0; p < 4; p++) {
            if (p >= np) break;
            const float *x = a[p * ks + t] + off;
            acc[p][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, x), w0, acc[p][0]);
            if (nvec > 1) acc[p][1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, x + 16), w1, acc[p][1]);
        }
    }
    for (int p = 0; p < 4; p++) out[p][0] = acc[p][0], out[p][1] = acc[p][1];
}

void lens_f32_dwconv_nhwc__avx512(size_t C, size_t npix, size_t ks, const float **a, size_t aoff, const float *w,
                                  size_t wstride, const float *bias, float *y, size_t ldy, const float *res,
                                  size_t ldr, const lens_act_params *act) {
    bool vec = act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t p0 = 0; p0 < npix; p0 += 4) {
        size_t np = npix - p0 < 4 ? npix - p0 : 4;
        const float **ap = a + p0 * ks;
        const float *rp = res ? res + p0 * ldr : NULL;
        float *yp = y + p0 * ldy;
        size_t c = 0;
        __m512 o[4][2];
        for (; c + 32 <= C; c += 32) {
            if (np == 4) dw_block(4, ks, ap, aoff + c, w + c, wstride, 0xFFFF, 0xFFFF, 2, o);
            else dw_block(np, ks, ap, aoff + c, w + c, wstride, 0xFFFF, 0xFFFF, 2, o);
            for (size_t p = 0; p < np; p++) {
                dw_store(o[p][0], 0xFFFF, c, p, bias, yp, ldy, rp, ldr, act, vec);
                dw_store(o[p][1], 0xFFFF, c + 16, p, bias, yp, ldy, rp, ldr, act, vec);
            }
        }
        for (; c < C; c += 16) {
            __mmask16 m = lens_mask16(C - c);
            dw_block(np, ks, ap, aoff + c, w + c, wstride, m, 0, 1, o);
            for (size_t p = 0; p < np; p++) dw_store(o[p][0], m, c, p, bias, yp, ldy, rp, ldr, act, vec);
        }
        if (act && act->act && !vec)
            for (size_t p = 0; p < np; p++) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, yp + p * ldy, C);
    }
}

/* Rows kernel, 4 pixels, any stride: per tap one weight load (per
 * vector) shared by the pixels. */
static inline __attribute__((always_inline)) void dwr_generic(size_t np, size_t KH, size_t KW, const float **rows,
                                                              size_t pst, size_t tstep, size_t off, const float *w,
                                                              size_t wstride, __mmask16 m0, __mmask16 m1,
                                                              const int nv, __m512 acc[4][2]) {
    for (size_t ky = 0; ky < KH; ky++) {
        if (!rows[ky]) continue;
        const float *r = rows[ky] + off;
        const float *wr = w + ky * KW * wstride;
        for (size_t kx = 0; kx < KW; kx++, r += tstep, wr += wstride) {
            __m512 w0 = _mm512_maskz_loadu_ps(m0, wr);
            __m512 w1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, wr + 16) : w0;
            const float *x = r;
            for (size_t p = 0; p < 4; p++, x += pst) {
                if (p >= np) break;
                acc[p][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, x), w0, acc[p][0]);
                if (nv > 1) acc[p][1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, x + 16), w1, acc[p][1]);
            }
        }
    }
}

/* Rows kernel, 4 pixels, pstride == st * tstep (st = 1, 2) and KW = kw
 * (3, 5, 7): per input row the kw weights stay in registers and each of
 * the 3 * st + kw input vectors is loaded once and used by every pixel
 * that reads it (pixel p, tap kx reads input j = st * p + kx), in kx order
 * per pixel. */
static inline __attribute__((always_inline)) void dwr_reuse(const int kw, const int st, size_t KH,
                                                            const float **rows, size_t step, size_t off,
                                                            const float *w, size_t wstride, __mmask16 m0,
                                                            __mmask16 m1, const int nv, __m512 acc[4][2]) {
    /* named accumulators: kept in registers across the kernel rows */
    __m512 c00 = acc[0][0], c01 = acc[0][1], c10 = acc[1][0], c11 = acc[1][1];
    __m512 c20 = acc[2][0], c21 = acc[2][1], c30 = acc[3][0], c31 = acc[3][1];
    for (size_t ky = 0; ky < KH; ky++) {
        if (!rows[ky]) continue;
        const float *x = rows[ky] + off;
        const float *wr = w + ky * (size_t)kw * wstride;
        __m512 wv[7][2];
#pragma GCC unroll 8
        for (int kx = 0; kx < kw; kx++) {
            wv[kx][0] = _mm512_maskz_loadu_ps(m0, wr + kx * wstride);
            wv[kx][1] = nv > 1 ? _mm512_maskz_loadu_ps(m1, wr + kx * wstride + 16) : wv[kx][0];
        }
#pragma GCC unroll 16
        for (int j = 0; j < 3 * st + kw; j++, x += step) {
            __m512 x0 = _mm512_maskz_loadu_ps(m0, x);
            __m512 x1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, x + 16) : x0;
#define DWR_FMA(p, a0, a1)                                                         \
    do {                                                                           \
        int kx = j - st * (p);                                                     \
        if (kx >= 0 && kx < kw) {                                                  \
            a0 = _mm512_fmadd_ps(x0, wv[kx][0], a0);                               \
            if (nv > 1) a1 = _mm512_fmadd_ps(x1, wv[kx][1], a1);                   \
        }                                                                          \
    } while (0)
            DWR_FMA(0, c00, c01);
            DWR_FMA(1, c10, c11);
            DWR_FMA(2, c20, c21);
            DWR_FMA(3, c30, c31);
#undef DWR_FMA
        }
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11;
    acc[2][0] = c20, acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31;
}

/* One channel block (nv vectors, masks m0, m1) of the whole run of
 * pixels: full groups of 4 through the reuse kernel when kw is set, the
 * rest through the generic one. */
static inline __attribute__((always_inline)) void dwr_run(const int kw, const int st, const int nv, size_t c,
                                                          size_t npix, size_t KH, size_t KW, const float **rows,
                                                          size_t pst, size_t tstep, size_t aoff, const float *w,
                                                          size_t wstride, const float *bias, float *y, size_t ldy,
                                                          const float *res, size_t ldr,
                                                          const lens_act_params *act, bool vec, __mmask16 m0,
                                                          __mmask16 m1) {
    for (size_t p0 = 0; p0 < npix; p0 += 4) {
        size_t np = npix - p0 < 4 ? npix - p0 : 4;
        __m512 acc[4][2];
        for (int p = 0; p < 4; p++) acc[p][0] = acc[p][1] = _mm512_setzero_ps();
        size_t off = aoff + c + p0 * pst;
        /* the reuse kernel reads all 4 pixels' inputs: only full groups */
        if (kw && np == 4) dwr_reuse(kw, st, KH, rows, tstep, off, w + c, wstride, m0, m1, nv, acc);
        else dwr_generic(np, KH, KW, rows, pst, tstep, off, w + c, wstride, m0, m1, nv, acc);
        const float *rp = res ? res + p0 * ldr : NULL;
        float *yp = y + p0 * ldy;
        for (size_t p = 0; p < np; p++) {
            dw_store(acc[p][0], m0, c, p, bias, yp, ldy, rp, ldr, act, vec);
            if (nv > 1) dw_store(acc[p][1], m1, c + 16, p, bias, yp, ldy, rp, ldr, act, vec);
        }
    }
}

/* One out-of-line function per (kernel width, stride, vectors), so that
 * each gets its own register allocation (one function holding them all
 * spilled its accumulators). */
typedef void (*dwr_fn)(size_t c, size_t npix, size_t KH, size_t KW, const float **rows, size_t pst, size_t tstep,
                       size_t aoff, const float *w, size_t wstride, const float *bias, float *y, size_t ldy,
                       const float *res, size_t ldr, const lens_act_params *act, bool vec, __mmask16 m0,
                       __mmask16 m1);
#define DWR_INST(kw, st, nv)                                                                                     \
    static __attribute__((noinline)) void dwr_##kw##_##st##_##nv(                                               \
        size_t c, size_t npix, size_t KH, size_t KW, const float **rows, size_t pst, size_t tstep, size_t aoff, \
        const float *w, size_t wstride, const float *bias, float *y, size_t ldy, const float *res, size_t ldr,  \
        const lens_act_params *act, bool vec, __mmask16 m0, __mmask16 m1) {                                    \
        dwr_run(kw, st, nv, c, npix, KH, KW, rows, pst, tstep, aoff, w, wstride, bias, y, ldy, res, ldr, act,  \
                vec, m0, m1);                                                                                   \
    }
DWR_INST(0, 0, 1)
DWR_INST(0, 0, 2)
DWR_INST(3, 1, 1)
DWR_INST(3, 1, 2)
DWR_INST(5, 1, 1)
DWR_INST(5, 1, 2)
DWR_INST(7, 1, 1)
DWR_INST(7, 1, 2)
DWR_INST(3, 2, 1)
DWR_INST(3, 2, 2)
DWR_INST(5, 2, 1)
DWR_INST(5, 2, 2)
DWR_INST(7, 2, 1)
DWR_INST(7, 2, 2)
#undef DWR_INST

static dwr_fn dwr_pick(size_t KW, size_t pst, size_t tstep, int nv) {
    int st = pst == tstep ? 1 : pst == 2 * tstep ? 2 : 0;
    int k = st && (KW == 3 || KW == 5 || KW == 7) ? (int)KW : 0;
    static const dwr_fn tab[2][4][2] = {
        {{dwr_3_1_1, dwr_3_1_2}, {dwr_5_1_1, dwr_5_1_2}, {dwr_7_1_1, dwr_7_1_2}, {dwr_0_0_1, dwr_0_0_2}},
        {{dwr_3_2_1, dwr_3_2_2}, {dwr_5_2_1, dwr_5_2_2}, {dwr_7_2_1, dwr_7_2_2}, {dwr_0_0_1, dwr_0_0_2}},
    };
    if (!k) return nv > 1 ? dwr_0_0_2 : dwr_0_0_1;
    return tab[st - 1][k == 3 ? 0 : k == 5 ? 1 : 2][nv - 1];
}

void lens_f32_dwconv_nhwc_rows__avx512(size_t C, size_t npix, size_t KH, size_t KW, const float **rows,
                                       size_t pstride, size_t tstep, size_t aoff, const float *w, size_t wstride,
                                       const float *bias, float *y, size_t ldy, const float *res, size_t ldr,
                                       const lens_act_params *act) {
    bool vec = act && act->act && lens_act_vectorised_avx512(act->act);
    dwr_fn f2 = dwr_pick(KW, pstride, tstep, 2), f1 = dwr_pick(KW, pstride, tstep, 1);
    /* Segments of pixels whose input rows (KH x the segment's width x C)
     * about fit L1 (16 pixels at least, so that reloading a block's weights
     * per segment stays cheap), channel blocks within a segment, groups of
     * 4 pixels within a block. */
    size_t st = tstep ? pstride / tstep : 1;
    size_t seg = ((size_t)48 << 10) / (KH * (st ? st : 1) * C * sizeof(float) + 1);
    seg = seg < 16 ? 16 : seg / 4 * 4;
    for (size_t s0 = 0; s0 < npix; s0 += seg) {
        size_t ns = npix - s0 < seg ? npix - s0 : seg;
        size_t ao = aoff + s0 * pstride;
        float *ys = y + s0 * ldy;
        const float *rs = res ? res + s0 * ldr : NULL;
        size_t c = 0;
        for (; c + 32 <= C; c += 32)
            f2(c, ns, KH, KW, rows, pstride, tstep, ao, w, wstride, bias, ys, ldy, rs, ldr, act, vec, 0xFFFF, 0xFFFF);
        for (; c < C; c += 16)
            f1(c, ns, KH, KW, rows, pstride, tstep, ao, w, wstride, bias, ys, ldy, rs, ldr, act, vec,
               lens_mask16(C - c), 0);
    }
    if (act && act->act && !vec)
        for (size_t p = 0; p < npix; p++) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, y + p * ldy, C);
}

/* ---- pools -------------------------------------------------------------- */

void lens_f32_maxpool_nhwc__avx512(size_t C, size_t npix, size_t ks, const float **a, size_t aoff, float *y,
                                   size_t ldy) {
    for (size_t p = 0; p < npix; p++) {
        const float **ap = a + p * ks;
        float *yp = y + p * ldy;
        size_t c = 0;
        for (; c + 64 <= C; c += 64) {
            __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
            for (size_t t = 0; t < ks; t++) {
                const float *x = ap[t] + aoff + c;
                /* vmaxps(v, m) keeps m when v is NaN: NaN is skipped */
                m0 = _mm512_max_ps(_mm512_loadu_ps(x), m0);
                m1 = _mm512_max_ps(_mm512_loadu_ps(x + 16), m1);
                m2 = _mm512_max_ps(_mm512_loadu_ps(x + 32), m2);
                m3 = _mm512_max_ps(_mm512_loadu_ps(x + 48), m3);
            }
            _mm512_storeu_ps(yp + c, m0);
            _mm512_storeu_ps(yp + c + 16, m1);
            _mm512_storeu_ps(yp + c + 32, m2);
            _mm512_storeu_ps(yp + c + 48, m3);
        }
        for (; c < C; c += 16) {
            __mmask16 k = lens_mask16(C - c);
            __m512 m0 = _mm512_set1_ps(-INFINITY);
            for (size_t t = 0; t < ks; t++) m0 = _mm512_max_ps(_mm512_maskz_loadu_ps(k, ap[t] + aoff + c), m0);
            _mm512_mask_storeu_ps(yp + c, k, m0);
        }
    }
}

void lens_f32_avgpool_nhwc__avx512(size_t C, size_t npix, size_t ks, const float **a, size_t aoff, float *y,
                                   size_t ldy, const float *scale) {
    for (size_t p = 0; p < npix; p++) {
        const float **ap = a + p * ks;
        float *yp = y + p * ldy;
        __m512 sc = _mm512_set1_ps(scale[p]);
        size_t c = 0;
        for (; c + 64 <= C; c += 64) {
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (size_t t = 0; t < ks; t++) {
                const float *x = ap[t] + aoff + c;
                s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x));
                s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + 16));
                s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + 32));
                s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + 48));
            }
            _mm512_storeu_ps(yp + c, _mm512_mul_ps(s0, sc));
            _mm512_storeu_ps(yp + c + 16, _mm512_mul_ps(s1, sc));
            _mm512_storeu_ps(yp + c + 32, _mm512_mul_ps(s2, sc));
            _mm512_storeu_ps(yp + c + 48, _mm512_mul_ps(s3, sc));
        }
        for (; c < C; c += 16) {
            __mmask16 k = lens_mask16(C - c);
            __m512 s0 = _mm512_setzero_ps();
            for (size_t t = 0; t < ks; t++) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(k, ap[t] + aoff + c));
            _mm512_mask_storeu_ps(yp + c, k, _mm512_mul_ps(s0, sc));
        }
    }
}
