/* AVX-512 GEMM micro-kernel, 8x48: 24 zmm accumulators, 3 B vectors and one
 * broadcast A value per FMA group leave room in the 32 registers; per K step
 * 24 FMAs against 3 loads and 8 embedded broadcasts, which keeps both FMA
 * ports busy. MR = 8 divides the channel counts of common CNNs. */
#if defined(__x86_64__)
#include "kernels/gemm.h"
#include "kernels/x86/act_avx512.h"

/* Packed A is read strictly in sequence across tiles and K blocks (see
 * the layout in gemm.h); when each 8-row panel feeds few columns (small
 * maps: resnet18's layer4 is 7x7) the weights stream from memory, so both
 * kernels prefetch them this many floats ahead (4 KiB: 1024 floats beat
 * 512 and 2048 on resnet18). */
#define PF_A 1024

#define ROW(i)                                                                                     \
    do {                                                                                           \
        __m512 ai = _mm512_set1_ps(a[i]);                                                          \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                                                \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                                                \
        c##i##2 = _mm512_fmadd_ps(ai, b2, c##i##2);                                                \
    } while (0)

#define STEP()                                                                                     \
    do {                                                                                           \
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), b2 = _mm512_loadu_ps(b + 32);  \
        ROW(0); ROW(1); ROW(2); ROW(3); ROW(4); ROW(5); ROW(6); ROW(7);                            \
        a += 8;                                                                                    \
        b += 48;                                                                                   \
    } while (0)

/* Narrow edge tiles (nr <= 32) skip the all-zero B columns: on late CNN
 * layers (7x7 = 49 columns) that halves the wasted work of the last panel.
 * B keeps its 48-float row stride. */
static inline __attribute__((always_inline)) void narrow(size_t kc, const float *a, const float *b,
                                                         float *c, size_t ldc, size_t mr,
                                                         size_t nr, uint32_t flags,
                                                         const float *bias, const float *res,
                                                         size_t ldr, const lens_act_params *act,
                                                         const int nv) {
    __m512 acc[8][2];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < nv; j++) acc[i][j] = _mm512_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m512 bv[2];
        for (int j = 0; j < nv; j++) bv[j] = _mm512_loadu_ps(b + 16 * j);
        for (int i = 0; i < 8; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(ai, bv[j], acc[i][j]);
        }
        a += 8;
        b += 48;
    }
    __mmask16 m[2] = {lens_mask16(nr), lens_mask16(nr > 16 ? nr - 16 : 0)};
    bool epi = (flags & LENS_GEMM_EPILOGUE) != 0;
    bool vec_act = epi && act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        __m512 bi = epi && bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
        for (int j = 0; j < nv; j++) {
            __m512 v = acc[i][j];
            if (flags & LENS_GEMM_ACCUMULATE)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], cr + 16 * j));
            if (epi) {
                v = _mm512_add_ps(v, bi);
                if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], res + i * ldr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
            }
            _mm512_mask_storeu_ps(cr + 16 * j, m[j], v);
        }
        if (epi && act && act->act && !vec_act) lens_f32_act__ref(act, cr, nr);
    }
}

void lens_f32_gemm_8x48__avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                                size_t mr, size_t nr, uint32_t flags, const float *bias,
                                const float *res, size_t ldr, const lens_act_params *act) {
    if (nr <= 16) {
        narrow(kc, a, b, c, ldc, mr, nr, flags, bias, res, ldr, act, 1);
        return;
    }
    if (nr <= 32) {
        narrow(kc, a, b, c, ldc, mr, nr, flags, bias, res, ldr, act, 2);
        return;
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    __m512 c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
    size_t k = kc;
    for (; k >= 4; k -= 4) {
        _mm_prefetch((const char *)(b + 384), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + PF_A), _MM_HINT_T0);
        STEP();
        _mm_prefetch((const char *)(b + 384), _MM_HINT_T0);
        STEP();
        _mm_prefetch((const char *)(b + 384), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + PF_A), _MM_HINT_T0);
        STEP();
        STEP();
    }
    for (; k > 0; k--) STEP();

    __m512 acc[8][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32},
                        {c40, c41, c42}, {c50, c51, c52}, {c60, c61, c62}, {c70, c71, c72}};
    __mmask16 m[3] = {lens_mask16(nr), lens_mask16(nr > 16 ? nr - 16 : 0),
                      lens_mask16(nr > 32 ? nr - 32 : 0)};
    bool epi = (flags & LENS_GEMM_EPILOGUE) != 0;
    bool vec_act = epi && act && act->act && lens_act_vectorised_avx512(act->act);
    bool ref_act = epi && act && act->act && !vec_act;
    for (size_t i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        __m512 bi = epi && bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
        for (size_t j = 0; j < 3; j++) {
            if (!m[j]) break;
            __m512 v = acc[i][j];
            if (flags & LENS_GEMM_ACCUMULATE)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], cr + 16 * j));
            if (epi) {
                v = _mm512_add_ps(v, bi);
                if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], res + i * ldr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
            }
            _mm512_mask_storeu_ps(cr + 16 * j, m[j], v);
        }
        if (ref_act) lens_f32_act__ref(act, cr, nr);
    }
}

/* Indirect B (see lens_f32_gemm_ib_ukernel_fn): B row k at b + koff[k].
 * Three instantiations by vector count (1..3 x 16 columns); the last vector
 * is loaded masked, so nothing past column nr is read (which matters at the
 * end of an input plane). Accumulators are named registers: with an array,
 * GCC keeps a copy on the stack and stores it every step. */
#define IB_DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0, c##i##2 = c##i##0
#define IB_ROW(i, NV)                                                                              \
    do {                                                                                           \
        __m512 ai = _mm512_set1_ps(a[i]);                                                          \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                                                \
        if (NV > 1) c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                                    \
        if (NV > 2) c##i##2 = _mm512_fmadd_ps(ai, b2, c##i##2);                                    \
    } while (0)
#define IB_STEP(NV)                                                                                \
    do {                                                                                           \
        const float *bk = b + *koff++;                                                             \
        __m512 b0 = NV == 1 ? _mm512_maskz_loadu_ps(last, bk) : _mm512_loadu_ps(bk);               \
        __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(last, bk + 16)                                 \
                            : NV > 2 ? _mm512_loadu_ps(bk + 16) : b0;                              \
        __m512 b2 = NV == 3 ? _mm512_maskz_loadu_ps(last, bk + 32) : b0;                           \
        IB_ROW(0, NV); IB_ROW(1, NV); IB_ROW(2, NV); IB_ROW(3, NV);                                \
        IB_ROW(4, NV); IB_ROW(5, NV); IB_ROW(6, NV); IB_ROW(7, NV);                                \
        a += 8;                                                                                    \
    } while (0)

#define IB_KERNEL(NV)                                                                              \
    static void ib_##NV(size_t kc, const float *a, const float *b, const size_t *koff, float *c,   \
                        size_t ldc, size_t mr, size_t nr, uint32_t flags, const float *bias,       \
                        const float *res, size_t ldr, const lens_act_params *act) {                \
        const __mmask16 last = lens_mask16(nr - 16 * (NV - 1));                                    \
        IB_DECL(0); IB_DECL(1); IB_DECL(2); IB_DECL(3);                                            \
        IB_DECL(4); IB_DECL(5); IB_DECL(6); IB_DECL(7);                                            \
        size_t k = kc;                                                                             \
        for (; k >= 2; k -= 2) {                                                                   \
            _mm_prefetch((const char *)(a + PF_A), _MM_HINT_T0);                                    \
            IB_STEP(NV);                                                                           \
            IB_STEP(NV);                                                                           \
        }                                                                                          \
        if (k) IB_STEP(NV);                                                                        \
        __m512 acc[8][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32},    \
                            {c40, c41, c42}, {c50, c51, c52}, {c60, c61, c62}, {c70, c71, c72}};   \
        store_tile(acc, c, ldc, mr, nr, flags, bias, res, ldr, act);                               \
    }

/* Epilogue and masked store of an 8 x nr tile held in acc. */
static inline __attribute__((always_inline)) void store_tile(__m512 acc[8][3], float *c,
                                                             size_t ldc, size_t mr, size_t nr,
                                                             uint32_t flags, const float *bias,
                                                             const float *res, size_t ldr,
                                                             const lens_act_params *act) {
    __mmask16 m[3] = {lens_mask16(nr), lens_mask16(nr > 16 ? nr - 16 : 0),
                      lens_mask16(nr > 32 ? nr - 32 : 0)};
    bool epi = (flags & LENS_GEMM_EPILOGUE) != 0;
    bool vec_act = epi && act && act->act && lens_act_vectorised_avx512(act->act);
    for (size_t i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        __m512 bi = epi && bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
        for (size_t j = 0; j < 3; j++) {
            if (!m[j]) break;
            __m512 v = acc[i][j];
            if (flags & LENS_GEMM_ACCUMULATE)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], cr + 16 * j));
            if (epi) {
                v = _mm512_add_ps(v, bi);
                if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], res + i * ldr + 16 * j));
                if (vec_act) v = lens_act_avx512(v, act);
            }
            _mm512_mask_storeu_ps(cr + 16 * j, m[j], v);
        }
        if (epi && act && act->act && !vec_act) lens_f32_act__ref(act, cr, nr);
    }
}

IB_KERNEL(1)
IB_KERNEL(2)
IB_KERNEL(3)

void lens_f32_gemm_ib_8x48__avx512(size_t kc, const float *a, const float *b, const size_t *koff,
                                   float *c, size_t ldc, size_t mr, size_t nr, uint32_t flags,
                                   const float *bias, const float *res, size_t ldr,
                                   const lens_act_params *act) {
    if (nr > 32)
        ib_3(kc, a, b, koff, c, ldc, mr, nr, flags, bias, res, ldr, act);
    else if (nr > 16)
        ib_2(kc, a, b, koff, c, ldc, mr, nr, flags, bias, res, ldr, act);
    else
        ib_1(kc, a, b, koff, c, ldc, mr, nr, flags, bias, res, ldr, act);
}

/* Single-row tile (mr == 1): row 0 of the packed A panel (stride 8) times a
 * 48-wide packed B panel. Two sets of accumulators (even and odd k) keep six
 * FMA chains in flight; the loop is bound by streaming B, which is what a
 * batch-1 classifier head is. */
void lens_f32_gemm_1x48__avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                                size_t mr, size_t nr, uint32_t flags, const float *bias,
                                const float *res, size_t ldr, const lens_act_params *act) {
    (void)ldc, (void)mr, (void)ldr;
    __m512 x0 = _mm512_setzero_ps(), x1 = x0, x2 = x0, y0 = x0, y1 = x0, y2 = x0;
    size_t k = 0;
    for (; k + 2 <= kc; k += 2) {
        const float *bk = b + k * 48;
        _mm_prefetch((const char *)(bk + 768), _MM_HINT_T0);
        _mm_prefetch((const char *)(bk + 784), _MM_HINT_T0);
        _mm_prefetch((const char *)(bk + 800), _MM_HINT_T0);
        __m512 a0 = _mm512_set1_ps(a[k * 8]), a1 = _mm512_set1_ps(a[k * 8 + 8]);
        x0 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk), x0);
        x1 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk + 16), x1);
        x2 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk + 32), x2);
        y0 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(bk + 48), y0);
        y1 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(bk + 64), y1);
        y2 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(bk + 80), y2);
    }
    if (k < kc) {
        const float *bk = b + k * 48;
        __m512 a0 = _mm512_set1_ps(a[k * 8]);
        x0 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk), x0);
        x1 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk + 16), x1);
        x2 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk + 32), x2);
    }
    __m512 acc[3] = {_mm512_add_ps(x0, y0), _mm512_add_ps(x1, y1), _mm512_add_ps(x2, y2)};
    bool epi = (flags & LENS_GEMM_EPILOGUE) != 0;
    bool vec_act = epi && act && act->act && lens_act_vectorised_avx512(act->act);
    __m512 bi = epi && bias ? _mm512_set1_ps(bias[0]) : _mm512_setzero_ps();
    for (size_t j = 0; j < 3 && 16 * j < nr; j++) {
        __mmask16 m = lens_mask16(nr - 16 * j);
        __m512 v = acc[j];
        if (flags & LENS_GEMM_ACCUMULATE) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c + 16 * j));
        if (epi) {
            v = _mm512_add_ps(v, bi);
            if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + 16 * j));
            if (vec_act) v = lens_act_avx512(v, act);
        }
        _mm512_mask_storeu_ps(c + 16 * j, m, v);
    }
    if (epi && act && act->act && !vec_act) lens_f32_act__ref(act, c, nr);
}

/* Single-column tile (nr == 1): the 8-row A panel times one B column, two
 * k steps per 512-bit FMA (rows 0-7 of k in the low half, of k+1 in the
 * high half), folded to 8 lanes at the end. */
void lens_f32_gemm_8x1__avx512(size_t kc, const float *a, const float *b, const size_t *koff,
                               size_t bstride, float *c, size_t ldc, size_t mr, uint32_t flags,
                               const float *bias, const float *res, size_t ldr,
                               const lens_act_params *act) {
#define BCOL(k) (koff ? b[koff[k]] : b[(k) * bstride])
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        __m512 v01 = _mm512_insertf32x8(_mm512_set1_ps(BCOL(k)), _mm256_set1_ps(BCOL(k + 1)), 1);
        __m512 v23 =
            _mm512_insertf32x8(_mm512_set1_ps(BCOL(k + 2)), _mm256_set1_ps(BCOL(k + 3)), 1);
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k * 8), v01, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k * 8 + 16), v23, s1);
    }
    s0 = _mm512_add_ps(s0, s1);
    __m256 r = _mm256_add_ps(_mm512_castps512_ps256(s0), _mm512_extractf32x8_ps(s0, 1));
    for (; k < kc; k++)
        r = _mm256_fmadd_ps(_mm256_loadu_ps(a + k * 8), _mm256_set1_ps(BCOL(k)), r);
#undef BCOL
    float t[8];
    _mm256_storeu_ps(t, r);
    bool epi = (flags & LENS_GEMM_EPILOGUE) != 0;
    for (size_t i = 0; i < mr; i++) {
        if (flags & LENS_GEMM_ACCUMULATE) t[i] += c[i * ldc];
        if (epi) {
            if (bias) t[i] += bias[i];
            if (res) t[i] += res[i * ldr];
        }
    }
    if (epi && act && act->act) lens_f32_act__avx512(act, t, mr);
    for (size_t i = 0; i < mr; i++) c[i * ldc] = t[i];
}

void lens_f32_act__avx512(const lens_act_params *p, float *x, size_t n) {
    if (!p->act) return;
    if (!lens_act_vectorised_avx512(p->act)) {
        lens_f32_act__ref(p, x, n);
        return;
    }
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, lens_act_avx512(_mm512_loadu_ps(x + i), p));
    if (i < n) {
        __mmask16 m = lens_mask16(n - i);
        _mm512_mask_storeu_ps(x + i, m, lens_act_avx512(_mm512_maskz_loadu_ps(m, x + i), p));
    }
}
#endif
