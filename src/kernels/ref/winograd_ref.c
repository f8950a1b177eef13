/* Portable Winograd F(4x4, 3x3) and F(2x2, 3x3) transforms: one tile at a time, scalar (the
 * truth the SIMD variants are tested against; see kernels/winograd.h). */
#include "kernels/winograd.h"

/* 1-D input transform: t = B^T d over 6 values (stride s). */
static void in6(const float *d, size_t s, float *t, size_t ts) {
    float d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    t[0] = 4.0f * d0 - 5.0f * d2 + d4;
    t[ts] = -4.0f * d1 - 4.0f * d2 + d3 + d4;
    t[2 * ts] = 4.0f * d1 - 4.0f * d2 - d3 + d4;
    t[3 * ts] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
    t[4 * ts] = 2.0f * d1 - d2 - 2.0f * d3 + d4;
    t[5 * ts] = 4.0f * d1 - 5.0f * d3 + d5;
}

/* 1-D output transform: o = A^T m over 6 values. */
static void out6(const float *m, size_t s, float *o, size_t os) {
    float m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    float a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
    o[0] = m0 + a + c;
    o[os] = b + 2.0f * d;
    o[2 * os] = a + 4.0f * c;
    o[3 * os] = b + 8.0f * d + m5;
}

void lens_f32_wino_input__ref(const float *x, size_t channels, size_t H, size_t W, size_t ph,
                              size_t pw, const lens_wino_tiles *t, float *v, size_t xi_stride,
                              size_t ch_stride) {
    for (size_t ch = 0; ch < channels; ch++) {
        const float *plane = x + ch * H * W;
        float *vc = v + ch * ch_stride;
        for (size_t l = 0; l < LENS_WINO_LANES; l++) {
            if (l >= t->n) {
                for (size_t xi = 0; xi < LENS_WINO_POS; xi++) vc[xi * xi_stride + l] = 0.0f;
                continue;
            }
            float d[36], h[36], o[36];
            int64_t y0 = (int64_t)t->oy[l] - (int64_t)ph, x0 = (int64_t)t->ox[l] - (int64_t)pw;
            for (int64_t r = 0; r < 6; r++)
                for (int64_t c = 0; c < 6; c++) {
                    int64_t iy = y0 + r, ix = x0 + c;
                    bool in = iy >= 0 && iy < (int64_t)H && ix >= 0 && ix < (int64_t)W;
                    d[r * 6 + c] = in ? plane[iy * (int64_t)W + ix] : 0.0f;
                }
            for (int r = 0; r < 6; r++) in6(d + r * 6, 1, h + r * 6, 1); /* rows: d B */
            for (int j = 0; j < 6; j++) in6(h + j, 6, o + j, 6);         /* columns: B^T (d B) */
            for (size_t xi = 0; xi < LENS_WINO_POS; xi++) vc[xi * xi_stride + l] = o[xi];
        }
    }
}

void lens_f32_wino_output__ref(const float *m, size_t xi_stride, size_t ch_stride,
                               size_t channels, const lens_wino_tiles *t, const float *bias,
                               const float *res, const lens_act_params *act, float *y, size_t OH,
                               size_t OW) {
    for (size_t ch = 0; ch < channels; ch++) {
        const float *mc = m + ch * ch_stride;
        float *yc = y + ch * OH * OW;
        const float *rc = res ? res + ch * OH * OW : NULL;
        float b = bias ? bias[ch] : 0.0f;
        for (size_t l = 0; l < t->n; l++) {
            float mm[36], s[24], o[16];
            for (size_t xi = 0; xi < LENS_WINO_POS; xi++) mm[xi] = mc[xi * xi_stride + l];
            for (int j = 0; j < 6; j++) out6(mm + j, 6, s + j, 6);  /* A^T m: 4 x 6 */
            for (int p = 0; p < 4; p++) out6(s + p * 6, 1, o + p * 4, 1); /* (A^T m) A */
            size_t oy = (size_t)t->oy[l], ox = (size_t)t->ox[l];
            for (size_t p = 0; p < 4 && oy + p < OH; p++)
                for (size_t q = 0; q < 4 && ox + q < OW; q++) {
                    size_t i = (oy + p) * OW + ox + q;
                    float v = o[p * 4 + q] + b;
                    if (rc) v += rc[i];
                    if (act && act->act) lens_f32_act__ref(act, &v, 1);
                    yc[i] = v;
                }
        }
    }
}

/* ---- F(2x2, 3x3) ---------------------------------------------------------- */

static void in4(const float *d, size_t s, float *t, size_t ts) {
    float d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    t[0] = d0 - d2;
    t[ts] = d1 + d2;
    t[2 * ts] = d2 - d1;
    t[3 * ts] = d1 - d3;
}

static void out4(const float *m, size_t s, float *o, size_t os) {
    float m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
    o[0] = m0 + m1 + m2;
    o[os] = m1 - m2 - m3;
}

void lens_f32_wino23_input__ref(const float *x, size_t channels, size_t H, size_t W, size_t ph,
                                size_t pw, const lens_wino_tiles *t, float *v, size_t xi_stride,
                                size_t ch_stride) {
    for (size_t ch = 0; ch < channels; ch++) {
        const float *plane = x + ch * H * W;
        float *vc = v + ch * ch_stride;
        for (size_t l = 0; l < LENS_WINO_LANES; l++) {
            if (l >= t->n) {
                for (size_t xi = 0; xi < LENS_WINO_POS23; xi++) vc[xi * xi_stride + l] = 0.0f;
                continue;
            }
            float d[16], h[16], o[16];
            int64_t y0 = (int64_t)t->oy[l] - (int64_t)ph, x0 = (int64_t)t->ox[l] - (int64_t)pw;
            for (int64_t r = 0; r < 4; r++)
                for (int64_t c = 0; c < 4; c++) {
                    int64_t iy = y0 + r, ix = x0 + c;
                    bool in = iy >= 0 && iy < (int64_t)H && ix >= 0 && ix < (int64_t)W;
                    d[r * 4 + c] = in ? plane[iy * (int64_t)W + ix] : 0.0f;
                }
            for (int r = 0; r < 4; r++) in4(d + r * 4, 1, h + r * 4, 1);
            for (int j = 0; j < 4; j++) in4(h + j, 4, o + j, 4);
            for (size_t xi = 0; xi < LENS_WINO_POS23; xi++) vc[xi * xi_stride + l] = o[xi];
        }
    }
}

void lens_f32_wino23_output__ref(const float *m, size_t xi_stride, size_t ch_stride,
                                 size_t channels, const lens_wino_tiles *t, const float *bias,
                                 const float *res, const lens_act_params *act, float *y, size_t OH,
                                 size_t OW) {
    for (size_t ch = 0; ch < channels; ch++) {
        const float *mc = m + ch * ch_stride;
        float *yc = y + ch * OH * OW;
        const float *rc = res ? res + ch * OH * OW : NULL;
        float b = bias ? bias[ch] : 0.0f;
        for (size_t l = 0; l < t->n; l++) {
            float mm[16], s[8], o[4];
            for (size_t xi = 0; xi < LENS_WINO_POS23; xi++) mm[xi] = mc[xi * xi_stride + l];
            for (int j = 0; j < 4; j++) out4(mm + j, 4, s + j, 4);       /* A^T m: 2 x 4 */
            for (int p = 0; p < 2; p++) out4(s + p * 4, 1, o + p * 2, 1); /* (A^T m) A */
            size_t oy = (size_t)t->oy[l], ox = (size_t)t->ox[l];
            for (size_t p = 0; p < 2 && oy + p < OH; p++)
                for (size_t q = 0; q < 2 && ox + q < OW; q++) {
                    size_t i = (oy + p) * OW + ox + q;
                    float v = o[p * 2 + q] + b;
                    if (rc) v += rc[i];
                    if (act && act->act) lens_f32_act__ref(act, &v, 1);
                    yc[i] = v;
                }
        }
    }
}
