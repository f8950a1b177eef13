/* AVX-512 Winograd F(4x4, 3x3) and F(2x2, 3x3) transforms: 16 tiles at a
 * time, one per lane (see kernels/winograd.h). Input pixels are gathered
 * straight from the image with per-lane row/column masks (pads and missing
 * lanes read as zero, no padded copy); the transformed values of a
 * (position, channel) pair are then 16 contiguous floats, stored whole into
 * the GEMM's packed B panel. The output transform reads 16 contiguous GEMM
 * results per position, fuses bias, residual and activation, and writes the
 * valid pixels of each block (F(4,3): transposed to one vector per tile,
 * rows stored with masks; F(2,3): scatters). The gathers cost about as much as the
 * arithmetic; both are small against the 36 GEMMs (M or C multiply-adds per
 * transformed value). */
#if defined(__x86_64__)
#include "kernels/winograd.h"
#include "kernels/x86/act_avx512.h"

/* t = B^T d over 6 vectors. */
#define IN6(d0, d1, d2, d3, d4, d5, t)                                                             \
    do {                                                                                           \
        const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);                    \
        __m512 a_ = _mm512_fnmadd_ps(four, d2, d4);  /* d4 - 4 d2 */                               \
        __m512 b_ = _mm512_fnmadd_ps(four, d1, d3);  /* d3 - 4 d1 */                               \
        __m512 c_ = _mm512_sub_ps(d4, d2);                                                         \
        __m512 e_ = _mm512_add_ps(_mm512_sub_ps(d3, d1), _mm512_sub_ps(d3, d1)); /* 2(d3-d1) */    \
        t[0] = _mm512_fmadd_ps(four, d0, _mm512_fnmadd_ps(five, d2, d4));                          \
        t[1] = _mm512_add_ps(a_, b_);                                                              \
        t[2] = _mm512_sub_ps(a_, b_);                                                              \
        t[3] = _mm512_add_ps(c_, e_);                                                              \
        t[4] = _mm512_sub_ps(c_, e_);                                                              \
        t[5] = _mm512_fmadd_ps(four, d1, _mm512_fnmadd_ps(five, d3, d5));                          \
    } while (0)

/* o = A^T m over 6 vectors (4 results). */
#define OUT6(m0, m1, m2, m3, m4, m5, o)                                                            \
    do {                                                                                           \
        __m512 a_ = _mm512_add_ps(m1, m2), b_ = _mm512_sub_ps(m1, m2);                             \
        __m512 c_ = _mm512_add_ps(m3, m4), d_ = _mm512_sub_ps(m3, m4);                             \
        o[0] = _mm512_add_ps(_mm512_add_ps(m0, a_), c_);                                           \
        o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d_, b_);                                      \
        o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c_, a_);                                      \
        o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d_, b_), m5);                   \
    } while (0)

void lens_f32_wino_input__avx512(const float *x, size_t channels, size_t H, size_t W, size_t ph,
                                 size_t pw, const lens_wino_tiles *t, float *v, size_t xi_stride,
                                 size_t ch_stride) {
    const __mmask16 lanes = lens_mask16(t->n);
    const __m512i y0 = _mm512_sub_epi32(_mm512_loadu_si512(t->oy), _mm512_set1_epi32((int)ph));
    const __m512i x0 = _mm512_sub_epi32(_mm512_loadu_si512(t->ox), _mm512_set1_epi32((int)pw));
    const __m512i hv = _mm512_set1_epi32((int)H), wv = _mm512_set1_epi32((int)W);
    const __m512i base = _mm512_add_epi32(_mm512_mullo_epi32(y0, wv), x0);
    __mmask16 rok[6], cok[6];
    for (int i = 0; i < 6; i++) {
        __m512i yi = _mm512_add_epi32(y0, _mm512_set1_epi32(i));
        __m512i xi = _mm512_add_epi32(x0, _mm512_set1_epi32(i));
        /* 0 <= v < n as one unsigned compare. */
        rok[i] = _mm512_mask_cmplt_epu32_mask(lanes, yi, hv);
        cok[i] = _mm512_cmplt_epu32_mask(xi, wv);
    }
    const size_t plane = H * W;
    for (size_t ch = 0; ch < channels; ch++) {
        const float *xc = x + ch * plane;
        float *vc = v + ch * ch_stride;
        __m512 h[6][6]; /* h[r][j] = (d B)[r][j] */
        for (int r = 0; r < 6; r++) {
            __m512i ri = _mm512_add_epi32(base, _mm512_set1_epi32(r * (int)W));
            __m512 d[6];
            for (int c = 0; c < 6; c++)
                d[c] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rok[r] & cok[c],
                                                _mm512_add_epi32(ri, _mm512_set1_epi32(c)), xc, 4);
            IN6(d[0], d[1], d[2], d[3], d[4], d[5], h[r]);
        }
        for (int j = 0; j < 6; j++) {
            __m512 o[6];
            IN6(h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j], o);
            for (int i = 0; i < 6; i++) _mm512_storeu_ps(vc + (size_t)(i * 6 + j) * xi_stride, o[i]);
        }
    }
}

/* 16x16 transpose in registers: r[i] lane j -> r[j] lane i. */
static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    }
}

/* After the transforms, lane l of out[p*4+q] is pixel (p, q) of tile l; a
 * 16x16 transpose gives each tile its own vector, whose four 128-bit parts
 * are the block's rows: written (and the residual read) with masked 4-float
 * accesses, a quarter of the memory operations of per-pixel scatters. */
void lens_f32_wino_output__avx512(const float *m, size_t xi_stride, size_t ch_stride,
                                  size_t channels, const lens_wino_tiles *t, const float *bias,
                                  const float *res, const lens_act_params *act, float *y,
                                  size_t OH, size_t OW) {
    const __mmask16 lanes = lens_mask16(t->n);
    const bool has_act = act && act->act;
    const bool vec_act = has_act && lens_act_vectorised_avx512(act->act);
    const size_t plane = OH * OW;
    /* Per tile: rows inside the map, the column mask, its first pixel. */
    size_t nrow[LENS_WINO_LANES], off[LENS_WINO_LANES];
    __mmask8 cm[LENS_WINO_LANES];
    for (size_t l = 0; l < t->n; l++) {
        size_t oy = (size_t)t->oy[l], ox = (size_t)t->ox[l];
        nrow[l] = LENS_MIN((size_t)4, OH - oy);
        cm[l] = (__mmask8)((1u << LENS_MIN((size_t)4, OW - ox)) - 1u);
        off[l] = oy * OW + ox;
    }
    for (size_t ch = 0; ch < channels; ch++) {
        const float *mc = m + ch * ch_stride;
        __m512 s[4][6]; /* (A^T m)[p][j] */
        for (int j = 0; j < 6; j++) {
            __m512 mm[6], o[4];
            for (int i = 0; i < 6; i++)
                mm[i] = _mm512_maskz_loadu_ps(lanes, mc + (size_t)(i * 6 + j) * xi_stride);
            OUT6(mm[0], mm[1], mm[2], mm[3], mm[4], mm[5], o);
            for (int p = 0; p < 4; p++) s[p][j] = o[p];
        }
        const __m512 b = _mm512_set1_ps(bias ? bias[ch] : 0.0f);
        const float *rc = res ? res + ch * plane : NULL;
        float *yc = y + ch * plane;
        __m512 out[16];
        for (int p = 0; p < 4; p++) {
            __m512 o[4];
            OUT6(s[p][0], s[p][1], s[p][2], s[p][3], s[p][4], s[p][5], o);
            for (int q = 0; q < 4; q++) out[p * 4 + q] = _mm512_add_ps(o[q], b);
        }
        transpose16(out);
        for (size_t l = 0; l < t->n; l++) {
            __m512 val = out[l];
            float *yl = yc + off[l];
            const size_t nr = nrow[l];
            const __mmask8 c = cm[l];
            if (rc) {
                const float *rl = rc + off[l];
                __m512 r = _mm512_castps128_ps512(_mm_maskz_loadu_ps(c, rl));
                if (nr > 1) r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(c, rl + OW), 1);
                if (nr > 2) r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(c, rl + 2 * OW), 2);
                if (nr > 3) r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(c, rl + 3 * OW), 3);
                val = _mm512_add_ps(val, r);
            }
            if (vec_act) {
                val = lens_act_avx512(val, act);
            } else if (has_act) { /* TANH / GELU: the reference */
                float buf[16] __attribute__((aligned(64)));
                _mm512_store_ps(buf, val);
                lens_f32_act__ref(act, buf, 16);
                val = _mm512_load_ps(buf);
            }
            _mm_mask_storeu_ps(yl, c, _mm512_castps512_ps128(val));
            if (nr > 1) _mm_mask_storeu_ps(yl + OW, c, _mm512_extractf32x4_ps(val, 1));
            if (nr > 2) _mm_mask_storeu_ps(yl + 2 * OW, c, _mm512_extractf32x4_ps(val, 2));
            if (nr > 3) _mm_mask_storeu_ps(yl + 3 * OW, c, _mm512_extractf32x4_ps(val, 3));
        }
    }
}

/* ---- F(2x2, 3x3) ---------------------------------------------------------- */

void lens_f32_wino23_input__avx512(const float *x, size_t channels, size_t H, size_t W, size_t ph,
                                   size_t pw, const lens_wino_tiles *t, float *v, size_t xi_stride,
                                   size_t ch_stride) {
    const __mmask16 lanes = lens_mask16(t->n);
    const __m512i y0 = _mm512_sub_epi32(_mm512_loadu_si512(t->oy), _mm512_set1_epi32((int)ph));
    const __m512i x0 = _mm512_sub_epi32(_mm512_loadu_si512(t->ox), _mm512_set1_epi32((int)pw));
    const __m512i hv = _mm512_set1_epi32((int)H), wv = _mm512_set1_epi32((int)W);
    const __m512i base = _mm512_add_epi32(_mm512_mullo_epi32(y0, wv), x0);
    __mmask16 rok[4], cok[4];
    for (int i = 0; i < 4; i++) {
        rok[i] = _mm512_mask_cmplt_epu32_mask(lanes, _mm512_add_epi32(y0, _mm512_set1_epi32(i)), hv);
        cok[i] = _mm512_cmplt_epu32_mask(_mm512_add_epi32(x0, _mm512_set1_epi32(i)), wv);
    }
    const size_t plane = H * W;
    for (size_t ch = 0; ch < channels; ch++) {
        const float *xc = x + ch * plane;
        float *vc = v + ch * ch_stride;
        __m512 h[4][4]; /* (d B)[r][j] */
        for (int r = 0; r < 4; r++) {
            __m512i ri = _mm512_add_epi32(base, _mm512_set1_epi32(r * (int)W));
            __m512 d[4];
            for (int c = 0; c < 4; c++)
                d[c] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rok[r] & cok[c],
                                                _mm512_add_epi32(ri, _mm512_set1_epi32(c)), xc, 4);
            h[r][0] = _mm512_sub_ps(d[0], d[2]);
            h[r][1] = _mm512_add_ps(d[1], d[2]);
            h[r][2] = _mm512_sub_ps(d[2], d[1]);
            h[r][3] = _mm512_sub_ps(d[1], d[3]);
        }
        for (int j = 0; j < 4; j++) {
            _mm512_storeu_ps(vc + (size_t)(0 * 4 + j) * xi_stride, _mm512_sub_ps(h[0][j], h[2][j]));
            _mm512_storeu_ps(vc + (size_t)(1 * 4 + j) * xi_stride, _mm512_add_ps(h[1][j], h[2][j]));
            _mm512_storeu_ps(vc + (size_t)(2 * 4 + j) * xi_stride, _mm512_sub_ps(h[2][j], h[1][j]));
            _mm512_storeu_ps(vc + (size_t)(3 * 4 + j) * xi_stride, _mm512_sub_ps(h[1][j], h[3][j]));
        }
    }
}

void lens_f32_wino23_output__avx512(const float *m, size_t xi_stride, size_t ch_stride,
                                    size_t channels, const lens_wino_tiles *t, const float *bias,
                                    const float *res, const lens_act_params *act, float *y,
                                    size_t OH, size_t OW) {
    const __mmask16 lanes = lens_mask16(t->n);
    const __m512i oy = _mm512_loadu_si512(t->oy), ox = _mm512_loadu_si512(t->ox);
    const __m512i ohv = _mm512_set1_epi32((int)OH), owv = _mm512_set1_epi32((int)OW);
    const __m512i base = _mm512_add_epi32(_mm512_mullo_epi32(oy, owv), ox);
    __mmask16 ok[4];
    __m512i idx[4];
    for (int p = 0; p < 2; p++) {
        __mmask16 rv = _mm512_mask_cmplt_epi32_mask(lanes, _mm512_add_epi32(oy, _mm512_set1_epi32(p)), ohv);
        for (int q = 0; q < 2; q++) {
            ok[p * 2 + q] = _mm512_mask_cmplt_epi32_mask(rv, _mm512_add_epi32(ox, _mm512_set1_epi32(q)), owv);
            idx[p * 2 + q] = _mm512_add_epi32(base, _mm512_set1_epi32(p * (int)OW + q));
        }
    }
    const bool has_act = act && act->act;
    const bool vec_act = has_act && lens_act_vectorised_avx512(act->act);
    const size_t plane = OH * OW;
    for (size_t ch = 0; ch < channels; ch++) {
        const float *mc = m + ch * ch_stride;
        __m512 s[2][4]; /* (A^T m)[p][j] */
        for (int j = 0; j < 4; j++) {
            __m512 m0 = _mm512_maskz_loadu_ps(lanes, mc + (size_t)(0 * 4 + j) * xi_stride);
            __m512 m1 = _mm512_maskz_loadu_ps(lanes, mc + (size_t)(1 * 4 + j) * xi_stride);
            __m512 m2 = _mm512_maskz_loadu_ps(lanes, mc + (size_t)(2 * 4 + j) * xi_stride);
            __m512 m3 = _mm512_maskz_loadu_ps(lanes, mc + (size_t)(3 * 4 + j) * xi_stride);
            s[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
            s[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
        }
        const __m512 b = _mm512_set1_ps(bias ? bias[ch] : 0.0f);
        const float *rc = res ? res + ch * plane : NULL;
        float *yc = y + ch * plane;
        __m512 out[4];
        for (int p = 0; p < 2; p++) {
            __m512 o[2];
            o[0] = _mm512_add_ps(_mm512_add_ps(s[p][0], s[p][1]), s[p][2]);
            o[1] = _mm512_sub_ps(_mm512_sub_ps(s[p][1], s[p][2]), s[p][3]);
            for (int q = 0; q < 2; q++) {
                int k = p * 2 + q;
                __m512 val = _mm512_add_ps(o[q], b);
                if (rc)
                    val = _mm512_add_ps(val, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), ok[k],
                                                                      idx[k], rc, 4));
                if (vec_act) val = lens_act_avx512(val, act);
                out[k] = val;
            }
        }
        if (has_act && !vec_act) {
            float buf[4 * 16] __attribute__((aligned(64)));
            for (int k = 0; k < 4; k++) _mm512_store_ps(buf + k * 16, out[k]);
            lens_f32_act__ref(act, buf, 4 * 16);
            for (int k = 0; k < 4; k++) out[k] = _mm512_load_ps(buf + k * 16);
        }
        for (int k = 0; k < 4; k++) _mm512_mask_i32scatter_ps(yc, ok[k], idx[k], out[k], 4);
    }
}
#endif
