/* Portable GEMM micro-kernel, 4x16: small enough for any register file, and
 * the reference the SIMD kernels are tested against. */
#include "kernels/gemm.h"

void lens_f32_gemm_4x16__ref(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                             size_t mr, size_t nr, uint32_t flags, const float *bias,
                             const float *res, size_t ldr, const lens_act_params *act) {
    float acc[4][16] = {{0}};
    for (size_t k = 0; k < kc; k++) {
        const float *bk = b + k * 16;
        for (size_t i = 0; i < 4; i++) {
            float ai = a[k * 4 + i];
            for (size_t j = 0; j < 16; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (size_t i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        for (size_t j = 0; j < nr; j++) {
            float v = acc[i][j];
            if (flags & LENS_GEMM_ACCUMULATE) v += cr[j];
            if (flags & LENS_GEMM_EPILOGUE) {
                if (bias) v += bias[i];
                if (res) v += res[i * ldr + j];
            }
            cr[j] = v;
        }
        if ((flags & LENS_GEMM_EPILOGUE) && act && act->act) lens_f32_act__ref(act, cr, nr);
    }
}

/* Indirect B: row k of the tile is b + koff[k]; only nr columns are read. */
void lens_f32_gemm_ib_4x16__ref(size_t kc, const float *a, const float *b, const size_t *koff,
                                float *c, size_t ldc, size_t mr, size_t nr, uint32_t flags,
                                const float *bias, const float *res, size_t ldr,
                                const lens_act_params *act) {
    float acc[4][16] = {{0}};
    for (size_t k = 0; k < kc; k++) {
        const float *bk = b + koff[k];
        for (size_t i = 0; i < 4; i++) {
            float ai = a[k * 4 + i];
            for (size_t j = 0; j < nr; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (size_t i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        for (size_t j = 0; j < nr; j++) {
            float v = acc[i][j];
            if (flags & LENS_GEMM_ACCUMULATE) v += cr[j];
            if (flags & LENS_GEMM_EPILOGUE) {
                if (bias) v += bias[i];
                if (res) v += res[i * ldr + j];
            }
            cr[j] = v;
        }
        if ((flags & LENS_GEMM_EPILOGUE) && act && act->act) lens_f32_act__ref(act, cr, nr);
    }
}

/* Epilogue of one output value (shared by the 1-row and 1-column twins). */
static float epilogue(float v, const float *c, uint32_t flags, const float *bias, const float *res) {
    if (flags & LENS_GEMM_ACCUMULATE) v += *c;
    if (flags & LENS_GEMM_EPILOGUE) {
        if (bias) v += *bias;
        if (res) v += *res;
    }
    return v;
}

/* One row of the tile (mr == 1): only a[k * 4] of the packed A panel. */
void lens_f32_gemm_1x16__ref(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                             size_t mr, size_t nr, uint32_t flags, const float *bias,
                             const float *res, size_t ldr, const lens_act_params *act) {
    (void)ldc, (void)mr, (void)ldr;
    float acc[16] = {0};
    for (size_t k = 0; k < kc; k++)
        for (size_t j = 0; j < 16; j++) acc[j] += a[k * 4] * b[k * 16 + j];
    for (size_t j = 0; j < nr; j++) c[j] = epilogue(acc[j], c + j, flags, bias, res ? res + j : NULL);
    if ((flags & LENS_GEMM_EPILOGUE) && act && act->act) lens_f32_act__ref(act, c, nr);
}

/* One column of the tile (nr == 1). */
void lens_f32_gemm_4x1__ref(size_t kc, const float *a, const float *b, const size_t *koff,
                            size_t bstride, float *c, size_t ldc, size_t mr, uint32_t flags,
                            const float *bias, const float *res, size_t ldr,
                            const lens_act_params *act) {
    float acc[4] = {0};
    for (size_t k = 0; k < kc; k++) {
        float bk = koff ? b[koff[k]] : b[k * bstride];
        for (size_t i = 0; i < 4; i++) acc[i] += a[k * 4 + i] * bk;
    }
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        *ci = epilogue(acc[i], ci, flags, bias ? bias + i : NULL, res ? res + i * ldr : NULL);
        if ((flags & LENS_GEMM_EPILOGUE) && act && act->act) lens_f32_act__ref(act, ci, 1);
    }
}
