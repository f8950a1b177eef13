/* Portable references of the nhwc family: the truth the SIMD variants are
 * tested against. Plain loops, accumulation in the order tap, channel. */
#include <math.h>

#include "kernels/conv_nhwc.h"
#include "ops/op.h"

#define REF_MR 4
#define REF_NR 16

void lens_f32_igemm_4x16__ref(size_t mr, size_t nc, size_t kc, size_t ks, const float **a,
                              const float *w, float *c, size_t ldc, const float *bias,
                              const float *res, size_t ldr, const lens_act_params *act) {
    float acc[REF_MR][REF_NR] = {{0}};
    for (size_t t = 0; t < ks; t++)
        for (size_t i = 0; i < mr; i++) {
            const float *x = a[t * REF_MR + i];
            const float *wp = w + t * kc * REF_NR;
            for (size_t k = 0; k < kc; k++)
                for (size_t n = 0; n < REF_NR; n++) acc[i][n] += x[k] * wp[k * REF_NR + n];
        }
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        for (size_t n = 0; n < nc; n++) {
            float v = acc[i][n];
            if (bias) v += bias[n];
            if (res) v += res[i * ldr + n];
            ci[n] = v;
        }
        if (act && act->act) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, ci, nc);
    }
}

void lens_f32_dwconv_nhwc__ref(size_t C, size_t npix, size_t ks, const float **a, size_t aoff,
                               const float *w, size_t wstride, const float *bias, float *y,
                               size_t ldy, const float *res, size_t ldr,
                               const lens_act_params *act) {
    for (size_t p = 0; p < npix; p++) {
        float *yp = y + p * ldy;
        for (size_t ch = 0; ch < C; ch++) {
            float v = 0.0f;
            for (size_t t = 0; t < ks; t++) v += a[p * ks + t][aoff + ch] * w[t * wstride + ch];
            if (bias) v += bias[ch];
            if (res) v += res[p * ldr + ch];
            yp[ch] = v;
        }
        if (act && act->act) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, yp, C);
    }
}

void lens_f32_dwconv_nhwc_rows__ref(size_t C, size_t npix, size_t KH, size_t KW, const float **rows,
                                    size_t pstride, size_t tstep, size_t aoff, const float *w,
                                    size_t wstride, const float *bias, float *y, size_t ldy,
                                    const float *res, size_t ldr, const lens_act_params *act) {
    for (size_t p = 0; p < npix; p++) {
        float *yp = y + p * ldy;
        for (size_t ch = 0; ch < C; ch++) {
            float v = 0.0f;
            for (size_t ky = 0; ky < KH; ky++) {
                if (!rows[ky]) continue;
                const float *r = rows[ky] + p * pstride + aoff + ch;
                for (size_t kx = 0; kx < KW; kx++) v += r[kx * tstep] * w[(ky * KW + kx) * wstride + ch];
            }
            if (bias) v += bias[ch];
            if (res) v += res[p * ldr + ch];
            yp[ch] = v;
        }
        if (act && act->act) lens_act_apply_ref((lens_act)act->act, act->alpha, act->beta, yp, C);
    }
}

void lens_f32_maxpool_nhwc__ref(size_t C, size_t npix, size_t ks, const float **a, size_t aoff,
                                float *y, size_t ldy) {
    for (size_t p = 0; p < npix; p++)
        for (size_t ch = 0; ch < C; ch++) {
            float m = -INFINITY;
            for (size_t t = 0; t < ks; t++) {
                float v = a[p * ks + t][aoff + ch];
                m = v > m ? v : m;
            }
            y[p * ldy + ch] = m;
        }
}

void lens_f32_avgpool_nhwc__ref(size_t C, size_t npix, size_t ks, const float **a, size_t aoff,
                                float *y, size_t ldy, const float *scale) {
    for (size_t p = 0; p < npix; p++)
        for (size_t ch = 0; ch < C; ch++) {
            float s = 0.0f;
            for (size_t t = 0; t < ks; t++) s += a[p * ks + t][aoff + ch];
            y[p * ldy + ch] = s * scale[p];
        }
}
