/* AVX2+FMA GEMM micro-kernel, 6x16: 12 ymm accumulators + 2 B vectors + one
 * broadcast fit the 16 registers (the classic Haswell tile). */
#if defined(__x86_64__)
#include "kernels/gemm.h"
#include "kernels/x86/act_avx2.h"

#define ROW(i)                                                                                     \
    do {                                                                                           \
        __m256 ai = _mm256_broadcast_ss(a + i);                                                    \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                                \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                                \
    } while (0)

#define STEP()                                                                                     \
    do {                                                                                           \
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);                                 \
        ROW(0); ROW(1); ROW(2); ROW(3); ROW(4); ROW(5);                                            \
        a += 6;                                                                                    \
        b += 16;                                                                                   \
    } while (0)

void lens_f32_gemm_6x16__avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                              size_t mr, size_t nr, uint32_t flags, const float *bias,
                              const float *res, size_t ldr, const lens_act_params *act) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    size_t k = kc;
    for (; k >= 2; k -= 2) {
        STEP();
        STEP();
    }
    if (k) STEP();

    __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    __m256i m[2] = {lens_mask8(nr), lens_mask8(nr > 8 ? nr - 8 : 0)};
    size_t nv = nr > 8 ? 2 : 1;
    bool epi = (flags & LENS_GEMM_EPILOGUE) != 0;
    bool vec_act = epi && act && act->act && lens_act_vectorised_avx2(act->act);
    bool ref_act = epi && act && act->act && !vec_act;
    for (size_t i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        __m256 bi = epi && bias ? _mm256_set1_ps(bias[i]) : _mm256_setzero_ps();
        for (size_t j = 0; j < nv; j++) {
            __m256 v = acc[i][j];
            bool full = nr >= 8 * (j + 1);
            if (flags & LENS_GEMM_ACCUMULATE)
                v = _mm256_add_ps(v, full ? _mm256_loadu_ps(cr + 8 * j)
                                          : _mm256_maskload_ps(cr + 8 * j, m[j]));
            if (epi) {
                v = _mm256_add_ps(v, bi);
                if (res) {
                    const float *r = res + i * ldr + 8 * j;
                    v = _mm256_add_ps(v, full ? _mm256_loadu_ps(r) : _mm256_maskload_ps(r, m[j]));
                }
                if (vec_act) v = lens_act_avx2(v, act);
            }
            if (full)
                _mm256_storeu_ps(cr + 8 * j, v);
            else
                _mm256_maskstore_ps(cr + 8 * j, m[j], v);
        }
        if (ref_act) lens_f32_act__ref(act, cr, nr);
    }
}

void lens_f32_act__avx2(const lens_act_params *p, float *x, size_t n) {
    if (!p->act) return;
    if (!lens_act_vectorised_avx2(p->act)) {
        lens_f32_act__ref(p, x, n);
        return;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, lens_act_avx2(_mm256_loadu_ps(x + i), p));
    if (i < n) {
        __m256i m = lens_mask8(n - i);
        _mm256_maskstore_ps(x + i, m, lens_act_avx2(_mm256_maskload_ps(x + i, m), p));
    }
}
#endif
