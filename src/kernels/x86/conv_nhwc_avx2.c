/* AVX2 + FMA variant of the nhwc family (kernels/conv_nhwc.h), the same
 * loops as the AVX-512 one on 8-lane vectors and 16 registers:
 *
 * igemm 6x16: 6 output pixels x 16 channels in 12 ymm accumulators; per k
 * step 2 weight loads and 6 broadcasts feed 12 FMAs. Tails use
 * maskload/maskstore (lens_mask8), nothing is written past nc.
 * depthwise: 8 channels per vector, 4 pixels at a time, two vectors while
 * 16 channels remain; the rows kernel reuses input vectors across taps at
 * stride 1 for 3, 5 and 7 wide kernels on one vector (8 channels) at a time
 * (the weights of a kernel row, 4 accumulators and one input fit in 16
 * registers). Pools as in the AVX-512 variant.
 *
 * Per output value the arithmetic does not depend on its position in a
 * tile or block, so any split of the work gives the same bits. */
#include <immintrin.h>
#include <math.h>

#include "kernels/conv_nhwc.h"
#include "kernels/x86/act_avx2.h"

#define IG_MR 6
#define IG_NR 16

static inline __m256 ld8(const float *p, __m256i m, bool full) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}
static inline void st8(float *p, __m256i m, bool full, __m256 v) {
    if (full) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, m, v);
}

static inline __attribute__((always_inline)) void igemm_6x16(size_t mr, size_t nc, size_t kc, size_t ks,
                                                             const float **a, const float *w, float *c,
                                                             size_t ldc, const float *bias, const float *res,
                                                             size_t ldr, const lens_act_params *act,
                                                             const int nv) {
    __m256 acc[IG_MR][2];
    for (int i = 0; i < IG_MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    const float *zero = lens_nhwc_zero_row();
    for (size_t t = 0; t < ks; t++, a += IG_MR) {
        const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
        /* a tap that is padding for every pixel of the tile adds only
         * zeros: skip it (dilated convs on small maps have mostly such
         * taps) */
        if (a0 == zero && a1 == zero && a2 == zero && a3 == zero && a4 == zero && a5 == zero) {
            w += kc * IG_NR;
            continue;
        }
        for (size_t k = 0; k < kc; k++, w += IG_NR) {
            __m256 w0 = _mm256_loadu_ps(w), w1 = nv > 1 ? _mm256_loadu_ps(w + 8) : w0;
#define IG_ROW(i)                                                                  \
    do {                                                                           \
        __m256 x = _mm256_broadcast_ss(a##i + k);                                  \
        acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);                             \
        if (nv > 1) acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);                 \
    } while (0)
            IG_ROW(0);
            IG_ROW(1);
            IG_ROW(2);
            IG_ROW(3);
            IG_ROW(4);
            IG_ROW(5);
#undef IG_ROW
        }
    }
    bool f0 = nc >= 8, f1 = nc >= 16;
    __m256i m0 = lens_mask8(f0 ? 0 : nc), m1 = lens_mask8(nc > 8 && !f1 ? nc - 8 : 0);
    __m256 b0 = bias ? ld8(bias, m0, f0) : _mm256_setzero_ps();
    __m256 b1 = bias && nv > 1 ? ld8(bias + 8, m1, f1) : _mm256_setzero_ps();
    bool vec = act && act->act && lens_act_vectorised_avx2(act->act);
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        __m256 v0 = _mm256_add_ps(acc[i][0], b0);
        if (res) v0 = _mm256_add_ps(v0, ld8(res + i * ldr, m0, f0));
        if (vec) v0 = lens_act_avx2(v0, act);
        st8(ci, m0, f0, v0);
        if (nv > 1) {
            __m256 v1 = _mm256_add_ps(acc[i][1], b1);
            if (res) v1 = _mm256_add_ps(v1, ld8(res + i * ldr + 8, m1, f1));
            if (vec) v1 = lens_act_avx2(v1, act);
            st8(ci + 8, m1, f1, v1);
        }
        if (act && act->act && !vec) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, ci, nc);
    }
}

void lens_f32_igemm_6x16__avx2(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w,
                               float *c, size_t ldc, const float *bias, const float *res, size_t ldr,
                               const lens_act_params *act) {
    if (nc > 8) igemm_6x16(mr, nc, kc, ks, a, w, c, ldc, bias, res, ldr, act, 2);
    else igemm_6x16(mr, nc, kc, ks, a, w, c, ldc, bias, res, ldr, act, 1);
}

/* ---- depthwise ---------------------------------------------------------- */

static inline __attribute__((always_inline)) void dw_store8(__m256 v, __m256i m, bool full, size_t c, size_t p,
                                                            const float *bias, float *y, size_t ldy,
                                                            const float *res, size_t ldr,
                                                            const lens_act_params *act, bool vec) {
    if (bias) v = _mm256_add_ps(v, ld8(bias + c, m, full));
    if (res) v = _mm256_add_ps(v, ld8(res + p * ldr + c, m, full));
    if (vec) v = lens_act_avx2(v, act);
    st8(y + p * ldy + c, m, full, v);
}

/* np (1..4) pixels of the table, channels [c, c+8) and with two vectors
 * [c+8, c+16) (both full then). */
static inline __attribute__((always_inline)) void dw_block8(size_t np, size_t ks, const float **a, size_t off,
                                                            const float *w, size_t wstride, __m256i m,
                                                            bool full, const int nvec, __m256 acc[4][2]) {
    for (int p = 0; p < 4; p++) acc[p][0] = acc[p][1] = _mm256_setzero_ps();
    for (size_t t = 0; t < ks; t++) {
        __m256 w0 = ld8(w + t * wstride, m, full);
        __m256 w1 = nvec > 1 ? _mm256_loadu_ps(w + t * wstride + 8) : w0;
        for (size_t p = 0; p < 4; p++) {
            if (p >= np) break;
            const float *x = a[p * ks + t] + off;
            acc[p][0] = _mm256_fmadd_ps(ld8(x, m, full), w0, acc[p][0]);
            if (nvec > 1) acc[p][1] = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), w1, acc[p][1]);
        }
    }
}

void lens_f32_dwconv_nhwc__avx2(size_t C, size_t npix, size_t ks, const float **a, size_t aoff, const float *w,
                                size_t wstride, const float *bias, float *y, size_t ldy, const float *res,
                                size_t ldr, const lens_act_params *act) {
    bool vec = act && act->act && lens_act_vectorised_avx2(act->act);
    __m256i all = lens_mask8(0);
    for (size_t p0 = 0; p0 < npix; p0 += 4) {
        size_t np = npix - p0 < 4 ? npix - p0 : 4;
        const float **ap = a + p0 * ks;
        const float *rp = res ? res + p0 * ldr : NULL;
        float *yp = y + p0 * ldy;
        __m256 o[4][2];
        size_t c = 0;
        for (; c + 16 <= C; c += 16) {
            dw_block8(np, ks, ap, aoff + c, w + c, wstride, all, true, 2, o);
            for (size_t p = 0; p < np; p++) {
                dw_store8(o[p][0], all, true, c, p, bias, yp, ldy, rp, ldr, act, vec);
                dw_store8(o[p][1], all, true, c + 8, p, bias, yp, ldy, rp, ldr, act, vec);
            }
        }
        for (; c < C; c += 8) {
            bool full = C - c >= 8;
            __m256i m = lens_mask8(full ? 0 : C - c);
            dw_block8(np, ks, ap, aoff + c, w + c, wstride, m, full, 1, o);
            for (size_t p = 0; p < np; p++) dw_store8(o[p][0], m, full, c, p, bias, yp, ldy, rp, ldr, act, vec);
        }
        if (act && act->act && !vec)
            for (size_t p = 0; p < np; p++) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, yp + p * ldy, C);
    }
}

/* Rows kernel, 4 pixels of one 8-channel vector, any stride. */
static inline __attribute__((always_inline)) void dwr8_generic(size_t np, size_t KH, size_t KW, const float **rows,
                                                               size_t pst, size_t tstep, size_t off,
                                                               const float *w, size_t wstride, __m256i m,
                                                               bool full, __m256 acc[4]) {
    for (size_t ky = 0; ky < KH; ky++) {
        if (!rows[ky]) continue;
        const float *r = rows[ky] + off;
        const float *wr = w + ky * KW * wstride;
        for (size_t kx = 0; kx < KW; kx++, r += tstep, wr += wstride) {
            __m256 w0 = ld8(wr, m, full);
            const float *x = r;
            for (size_t p = 0; p < 4; p++, x += pst) {
                if (p >= np) break;
                acc[p] = _mm256_fmadd_ps(ld8(x, m, full), w0, acc[p]);
            }
        }
    }
}

/* Rows kernel, 4 pixels, pstride == st * tstep, KW = kw: inputs loaded
 * once for every pixel and tap that reads them (pixel p, tap kx reads
 * input j = st * p + kx), in kx order per pixel; named accumulators stay
 * in registers across the kernel rows. */
static inline __attribute__((always_inline)) void dwr8_reuse(const int kw, const int st, size_t KH,
                                                             const float **rows, size_t step, size_t off,
                                                             const float *w, size_t wstride, __m256i m, bool full,
                                                             __m256 acc[4]) {
    __m256 c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3];
    for (size_t ky = 0; ky < KH; ky++) {
        if (!rows[ky]) continue;
        const float *x = rows[ky] + off;
        const float *wr = w + ky * (size_t)kw * wstride;
        __m256 wv[7];
#pragma GCC unroll 8
        for (int kx = 0; kx < kw; kx++) wv[kx] = ld8(wr + kx * wstride, m, full);
#pragma GCC unroll 16
        for (int j = 0; j < 3 * st + kw; j++, x += step) {
            __m256 xv = ld8(x, m, full);
#define DWR8_FMA(p, a)                                                             \
    do {                                                                           \
        int kx = j - st * (p);                                                     \
        if (kx >= 0 && kx < kw) a = _mm256_fmadd_ps(xv, wv[kx], a);                \
    } while (0)
            DWR8_FMA(0, c0);
            DWR8_FMA(1, c1);
            DWR8_FMA(2, c2);
            DWR8_FMA(3, c3);
#undef DWR8_FMA
        }
    }
    acc[0] = c0, acc[1] = c1, acc[2] = c2, acc[3] = c3;
}

/* One 8-channel block of the whole run of pixels: full groups of 4 through
 * the reuse kernel when kw is set, the rest through the generic one. */
static inline __attribute__((always_inline)) void dwr8_run(const int kw, const int st, size_t c, size_t npix,
                                                           size_t KH, size_t KW, const float **rows, size_t pst,
                                                           size_t tstep, size_t aoff, const float *w,
                                                           size_t wstride, const float *bias, float *y, size_t ldy,
                                                           const float *res, size_t ldr,
                                                           const lens_act_params *act, bool vec, __m256i m,
                                                           bool full) {
    for (size_t p0 = 0; p0 < npix; p0 += 4) {
        size_t np = npix - p0 < 4 ? npix - p0 : 4;
        __m256 acc[4];
        for (int p = 0; p < 4; p++) acc[p] = _mm256_setzero_ps();
        size_t off = aoff + c + p0 * pst;
        if (kw && np == 4) dwr8_reuse(kw, st, KH, rows, tstep, off, w + c, wstride, m, full, acc);
        else dwr8_generic(np, KH, KW, rows, pst, tstep, off, w + c, wstride, m, full, acc);
        const float *rp = res ? res + p0 * ldr : NULL;
        float *yp = y + p0 * ldy;
        for (size_t p = 0; p < np; p++) dw_store8(acc[p], m, full, c, p, bias, yp, ldy, rp, ldr, act, vec);
    }
}

/* One out-of-line function per (kernel width, stride): each gets its own
 * register allocation. */
typedef void (*dwr8_fn)(size_t c, size_t npix, size_t KH, size_t KW, const float **rows, size_t pst, size_t tstep,
                        size_t aoff, const float *w, size_t wstride, const float *bias, float *y, size_t ldy,
                        const float *res, size_t ldr, const lens_act_params *act, bool vec, __m256i m, bool full);
#define DWR8_INST(kw, st)                                                                                        \
    static __attribute__((noinline)) void dwr8_##kw##_##st(                                                     \
        size_t c, size_t npix, size_t KH, size_t KW, const float **rows, size_t pst, size_t tstep, size_t aoff, \
        const float *w, size_t wstride, const float *bias, float *y, size_t ldy, const float *res, size_t ldr,  \
        const lens_act_params *act, bool vec, __m256i m, bool full) {                                          \
        dwr8_run(kw, st, c, npix, KH, KW, rows, pst, tstep, aoff, w, wstride, bias, y, ldy, res, ldr, act, vec, \
                 m, full);                                                                                      \
    }
DWR8_INST(0, 0)
DWR8_INST(3, 1)
DWR8_INST(5, 1)
DWR8_INST(7, 1)
DWR8_INST(3, 2)
DWR8_INST(5, 2)
DWR8_INST(7, 2)
#undef DWR8_INST

void lens_f32_dwconv_nhwc_rows__avx2(size_t C, size_t npix, size_t KH, size_t KW, const float **rows,
                                     size_t pstride, size_t tstep, size_t aoff, const float *w, size_t wstride,
                                     const float *bias, float *y, size_t ldy, const float *res, size_t ldr,
                                     const lens_act_params *act) {
    bool vec = act && act->act && lens_act_vectorised_avx2(act->act);
    int st = pstride == tstep ? 1 : pstride == 2 * tstep ? 2 : 0;
    int k = st && (KW == 3 || KW == 5 || KW == 7) ? (int)KW : 0;
    static const dwr8_fn tab[2][3] = {{dwr8_3_1, dwr8_5_1, dwr8_7_1}, {dwr8_3_2, dwr8_5_2, dwr8_7_2}};
    dwr8_fn f = k ? tab[st - 1][k == 3 ? 0 : k == 5 ? 1 : 2] : dwr8_0_0;
    /* segments of pixels whose input rows about fit L1, as in the AVX-512
     * variant */
    size_t sseg = ((size_t)32 << 10) / (KH * (st ? (size_t)st : 1) * C * sizeof(float) + 1);
    sseg = sseg < 16 ? 16 : sseg / 4 * 4;
    for (size_t s0 = 0; s0 < npix; s0 += sseg) {
        size_t ns = npix - s0 < sseg ? npix - s0 : sseg;
        size_t ao = aoff + s0 * pstride;
        float *ys = y + s0 * ldy;
        const float *rs = res ? res + s0 * ldr : NULL;
        size_t c = 0;
        for (; c + 8 <= C; c += 8)
            f(c, ns, KH, KW, rows, pstride, tstep, ao, w, wstride, bias, ys, ldy, rs, ldr, act, vec, lens_mask8(0),
              true);
        if (c < C)
            f(c, ns, KH, KW, rows, pstride, tstep, ao, w, wstride, bias, ys, ldy, rs, ldr, act, vec,
              lens_mask8(C - c), false);
    }
    if (act && act->act && !vec)
        for (size_t p = 0; p < npix; p++) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, y + p * ldy, C);
}

/* ---- pools -------------------------------------------------------------- */

void lens_f32_maxpool_nhwc__avx2(size_t C, size_t npix, size_t ks, const float **a, size_t aoff, float *y,
                                 size_t ldy) {
    for (size_t p = 0; p < npix; p++) {
        const float **ap = a + p * ks;
        float *yp = y + p * ldy;
        size_t c = 0;
        for (; c + 32 <= C; c += 32) {
            __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
            for (size_t t = 0; t < ks; t++) {
                const float *x = ap[t] + aoff + c;
                /* vmaxps(v, m) keeps m when v is NaN: NaN is skipped */
                m0 = _mm256_max_ps(_mm256_loadu_ps(x), m0);
                m1 = _mm256_max_ps(_mm256_loadu_ps(x + 8), m1);
                m2 = _mm256_max_ps(_mm256_loadu_ps(x + 16), m2);
                m3 = _mm256_max_ps(_mm256_loadu_ps(x + 24), m3);
            }
            _mm256_storeu_ps(yp + c, m0);
            _mm256_storeu_ps(yp + c + 8, m1);
            _mm256_storeu_ps(yp + c + 16, m2);
            _mm256_storeu_ps(yp + c + 24, m3);
        }
        for (; c < C; c += 8) {
            bool full = C - c >= 8;
            __m256i k = lens_mask8(full ? 0 : C - c);
            __m256 m0 = _mm256_set1_ps(-INFINITY);
            for (size_t t = 0; t < ks; t++) m0 = _mm256_max_ps(ld8(ap[t] + aoff + c, k, full), m0);
            st8(yp + c, k, full, m0);
        }
    }
}

void lens_f32_avgpool_nhwc__avx2(size_t C, size_t npix, size_t ks, const float **a, size_t aoff, float *y,
                                 size_t ldy, const float *scale) {
    for (size_t p = 0; p < npix; p++) {
        const float **ap = a + p * ks;
        float *yp = y + p * ldy;
        __m256 sc = _mm256_set1_ps(scale[p]);
        size_t c = 0;
        for (; c + 32 <= C; c += 32) {
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (size_t t = 0; t < ks; t++) {
                const float *x = ap[t] + aoff + c;
                s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x));
                s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + 8));
                s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + 16));
                s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + 24));
            }
            _mm256_storeu_ps(yp + c, _mm256_mul_ps(s0, sc));
            _mm256_storeu_ps(yp + c + 8, _mm256_mul_ps(s1, sc));
            _mm256_storeu_ps(yp + c + 16, _mm256_mul_ps(s2, sc));
            _mm256_storeu_ps(yp + c + 24, _mm256_mul_ps(s3, sc));
        }
        for (; c < C; c += 8) {
            bool full = C - c >= 8;
            __m256i k = lens_mask8(full ? 0 : C - c);
            __m256 s0 = _mm256_setzero_ps();
            for (size_t t = 0; t < ks; t++) s0 = _mm256_add_ps(s0, ld8(ap[t] + aoff + c, k, full));
            st8(yp + c, k, full, _mm256_mul_ps(s0, sc));
        }
    }
}
