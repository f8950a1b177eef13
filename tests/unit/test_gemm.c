/* GEMM family: every variant against a double-precision reference at sizes
 * below, at and above its tile in M, N and K, with every epilogue, through
 * the packed, strided and transposed operand paths; plus the act family. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kernels/act.h"
#include "kernels/pack.h"
#include "kernels/gemm.h"
#include "ops/op.h"
#include "runtime/threadpool.h"

static int g_fail;
static uint32_t g_seed = 12345;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static const lens_act_params g_acts[] = {
    {LENS_ACT_NONE, 0, 0},        {LENS_ACT_RELU, 0, 0},      {LENS_ACT_CLIP, -0.5f, 0.7f},
    {LENS_ACT_SIGMOID, 0, 0},     {LENS_ACT_HARDSIGMOID, 0.2f, 0.5f},
    {LENS_ACT_HARDSWISH, 0, 0},   {LENS_ACT_SILU, 0, 0},      {LENS_ACT_LEAKYRELU, 0.1f, 0},
    {LENS_ACT_TANH, 0, 0},        {LENS_ACT_GELU, 0, 0},
};

/* Residual rows at stride 0: one row broadcast down C (a fused MatMul's
 * per-column bias, ops/gemm.c). */
static bool g_res_ldr0;

/* One case: C (MxN) = act(A·B + bias + residual) [+ C0 if accumulate]. */
static void check(const lens_f32_gemm_variant *v, lens_threadpool *pool, size_t M, size_t N,
                  size_t K, int mode, const lens_act_params *act, bool use_bias, bool use_res,
                  bool accumulate) {
    float *A = malloc(sizeof(float) * (M * K + 1)), *B = malloc(sizeof(float) * (K * N + 1));
    float *C = malloc(sizeof(float) * (M * N + 1)), *R = malloc(sizeof(float) * (M * N + 1));
    float *C0 = malloc(sizeof(float) * (M * N + 1)), *bias = malloc(sizeof(float) * (M + 1));
    for (size_t i = 0; i < M * K; i++) A[i] = frand();
    for (size_t i = 0; i < K * N; i++) B[i] = frand();
    for (size_t i = 0; i < M * N; i++) R[i] = frand(), C0[i] = C[i] = frand();
    for (size_t i = 0; i < M; i++) bias[i] = frand();
    float alpha = mode == 2 ? 0.5f : 1.0f;
    /* mode 0: A row-major, B row-major, both packed on the fly;
     * mode 1: A and B pre-packed; mode 2: A transposed (K x M) scaled, B transposed (N x K);
     * mode 3 (variants with ukernel_ib): B read in place through row offsets. */
    float *At = NULL, *Bt = NULL, *Ap = NULL, *Bp = NULL, *Bi = NULL;
    size_t *koff = NULL;
    lens_f32_matrix ma = {A, K, 1, alpha}, mb = {B, 1, N, 1.0f};
    if (mode == 2) {
        At = malloc(sizeof(float) * (M * K + 1));
        Bt = malloc(sizeof(float) * (K * N + 1));
        for (size_t i = 0; i < M; i++)
            for (size_t k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
        ma = (lens_f32_matrix){At, 1, M, alpha};
        mb = (lens_f32_matrix){Bt, K, 1, 1.0f};
    }
    lens_f32_gemm_args g = {0};
    g.M = M, g.N = N, g.K = K;
    g.a.m = &ma;
    g.b.m = &mb;
    if (mode == 1) {
        size_t fa, fb;
        lens_f32_gemm_packed_size(M, v->mr, K, &fa);
        lens_f32_gemm_packed_size(N, v->nr, K, &fb);
        Ap = lens_aligned_alloc(sizeof(float) * (fa + 1));
        Bp = lens_aligned_alloc(sizeof(float) * (fb + 1));
        lens_f32_pack_full(&ma, M, K, v->mr, Ap);
        lens_f32_pack_full(&mb, N, K, v->nr, Bp);
        g.a = (lens_f32_gemm_operand){.packed = Ap};
        g.b = (lens_f32_gemm_operand){.packed = Bp};
    }
    if (mode == 3) {
        /* Indirect B: rows at uneven offsets in a buffer that ends exactly
         * at the last row's last column, so a read past nr would leave it. */
        koff = malloc(sizeof(size_t) * (K + 1));
        size_t end = 0;
        for (size_t k = 0; k < K; k++) koff[k] = k * (N + 3) + (k * 7) % 5, end = koff[k] + N;
        Bi = malloc(sizeof(float) * (end ? end : 1));
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < N; j++) Bi[koff[k] + j] = B[k * N + j];
        g.b = (lens_f32_gemm_operand){.base = Bi, .koff = koff};
    }
    g.c = C, g.ldc = N;
    g.accumulate = accumulate;
    g.bias = use_bias ? bias : NULL;
    g.residual = use_res ? R : NULL;
    g.ldr = g_res_ldr0 ? 0 : N;
    g.act = *act;
    size_t sf = lens_f32_gemm_scratch_floats(v, &g, lens_threadpool_size(pool));
    float *scratch = lens_aligned_alloc(sizeof(float) * (sf + 16));
    lens_f32_gemm(v, pool, &g, scratch);
    int bad = 0;
    for (size_t i = 0; i < M && bad < 3; i++)
        for (size_t j = 0; j < N && bad < 3; j++) {
            double s = 0, sa = 0;
            for (size_t k = 0; k < K; k++) {
                s += (double)A[i * K + k] * alpha * B[k * N + j];
                sa += fabs((double)A[i * K + k] * B[k * N + j]);
            }
            if (accumulate) s += C0[i * N + j];
            if (use_bias) s += bias[i];
            if (use_res) s += R[(g_res_ldr0 ? 0 : i) * N + j];
            float e = (float)s;
            lens_f32_act__ref(act, &e, 1);
            float got = C[i * N + j];
            if (!(fabsf(got - e) <= 1e-5f * (float)sa + 2e-5f + 1e-5f * fabsf(e))) {
                fprintf(stderr, "%s M=%zu N=%zu K=%zu mode=%d act=%d bias=%d res=%d acc=%d: C[%zu,%zu]=%g want %g\n",
                        v->name, M, N, K, mode, act->act, use_bias, use_res, accumulate, i, j, got, e);
                bad++;
                g_fail++;
            }
        }
    lens_aligned_free(scratch);
    lens_aligned_free(Ap);
    lens_aligned_free(Bp);
    free(A), free(B), free(C), free(R), free(C0), free(bias), free(At), free(Bt);
    free(Bi), free(koff);
}

static void test_acts(void) {
    size_t nv;
    const lens_f32_act_variant *vs = lens_f32_act_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    float x[203], y[203], r[203];
    for (size_t i = 0; i < 203; i++) x[i] = ((float)i - 101.0f) * 0.25f;
    x[0] = -100.0f, x[1] = 100.0f, x[2] = 0.0f;
    for (size_t v = 0; v < nv; v++) {
        if (!vs[v].supported(cpu)) continue;
        for (size_t a = 0; a < LENS_ARRAY_LEN(g_acts); a++)
            for (size_t n = 0; n <= 203; n += (n < 40 ? 1 : 37)) {
                memcpy(y, x, sizeof x);
                memcpy(r, x, sizeof x);
                vs[v].fn(&g_acts[a], y, n);
                lens_f32_act__ref(&g_acts[a], r, n);
                for (size_t i = 0; i < 203; i++) {
                    float tol = 2e-6f + 2e-6f * fabsf(r[i]);
                    if (!(fabsf(y[i] - r[i]) <= tol)) {
                        fprintf(stderr, "%s act=%d n=%zu x=%g: %g want %g\n", vs[v].name,
                                g_acts[a].act, n, x[i], y[i], r[i]);
                        g_fail++;
                        break;
                    }
                }
            }
    }
}

/* Every act variant's GELU against GELU in double precision with the C
 * library's erf: within a few float ulp of the result, plus x/2 times the
 * absolute error of erf (the SIMD variants use the elementwise Erf's
 * rational approximation, within 4e-7 of erf, about 7 float ulp of 1; it
 * matters only where 1 + erf cancels, for x below about -3). */
static void test_gelu_vs_double(void) {
    size_t nv;
    const lens_f32_act_variant *vs = lens_f32_act_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    enum { N = 4001 };
    static float x[N], y[N];
    const lens_act_params gelu = {LENS_ACT_GELU, 0, 0};
    for (size_t v = 0; v < nv; v++) {
        if (!vs[v].supported(cpu)) continue;
        for (size_t i = 0; i < N; i++) x[i] = y[i] = ((float)i - 2000.0f) * 0.005f; /* [-10, 10] */
        y[0] = x[0] = -INFINITY, y[1] = x[1] = INFINITY, y[2] = x[2] = NAN;
        vs[v].fn(&gelu, y, N);
        double worst = 0;
        for (size_t i = 0; i < N; i++) {
            double xd = x[i], want = 0.5 * xd * (1.0 + erf(xd / sqrt(2.0)));
            if (i == 2) {
                if (!isnan(y[i])) fprintf(stderr, "%s gelu(NaN) = %g\n", vs[v].name, y[i]), g_fail++;
                continue;
            }
            if (i < 2) {
                bool ok = i == 1 ? y[i] == INFINITY : (isnan(y[i]) || y[i] == 0.0f);
                if (!ok) fprintf(stderr, "%s gelu(%g) = %g\n", vs[v].name, x[i], y[i]), g_fail++;
                continue;
            }
            double err = fabs(y[i] - want), tol = 4e-7 * fabs(want) + 2e-7 * fabs(xd) + 1e-30;
            if (err / tol > worst) worst = err / tol;
            if (!(err <= tol)) {
                fprintf(stderr, "%s gelu(%.9g) = %.9g want %.9g\n", vs[v].name, x[i], y[i], want);
                g_fail++;
                break;
            }
        }
        printf("%s: gelu within %.2f of its tolerance\n", vs[v].name, worst);
    }
}

/* Every pack_t8 variant against the reference, bitwise: every row count
 * 0..8, every column count around the 8-wide transpose block and past the
 * K block, scale 1 and not; source rows end exactly where the last one
 * does (so a read past row n or column kc would leave the buffer under
 * ASan), destination guard floats after 8 * kc. */
static void test_pack_t8(void) {
    size_t nv;
    const lens_f32_pack_t8_variant *vs = lens_f32_pack_t8_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    size_t kcs[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, LENS_GEMM_KC + 5};
    for (size_t v = 0; v < nv; v++) {
        if (!vs[v].supported(cpu)) continue;
        for (size_t n = 0; n <= 8; n++)
            for (size_t ki = 0; ki < LENS_ARRAY_LEN(kcs); ki++)
                for (int sc = 0; sc < 2; sc++) {
                    size_t kc = kcs[ki], rs = kc + 3;
                    size_t len = n ? (n - 1) * rs + kc : 0;
                    float *src = malloc(sizeof(float) * (len ? len : 1));
                    float *got = malloc(sizeof(float) * (8 * kc + 4)), *want = malloc(sizeof(float) * (8 * kc + 4));
                    for (size_t i = 0; i < len; i++) src[i] = frand();
                    for (size_t i = 0; i < 8 * kc + 4; i++) got[i] = want[i] = 42.0f;
                    float scale = sc ? -0.75f : 1.0f;
                    vs[v].fn(src, rs, n, kc, scale, got);
                    lens_f32_pack_t8__ref(src, rs, n, kc, scale, want);
                    if (memcmp(got, want, sizeof(float) * (8 * kc + 4))) {
                        fprintf(stderr, "%s n=%zu kc=%zu scale=%g differs from the reference\n", vs[v].name, n,
                                kc, scale);
                        g_fail++;
                    }
                    free(src), free(got), free(want);
                }
        printf("%s: checked\n", vs[v].name);
    }
}

/* Every transpose variant against the reference, bitwise (with NaN
 * payloads and int32 patterns among the values): every size 0..19 in both
 * directions around the 8 x 8 block, row strides past the width, guard
 * floats around the destination that must stay untouched. */
static void test_transpose(void) {
    size_t nv;
    const lens_f32_transpose_variant *vs = lens_f32_transpose_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    for (size_t v = 0; v < nv; v++) {
        if (!vs[v].supported(cpu)) continue;
        for (size_t na = 0; na <= 19; na++)
            for (size_t nb = 0; nb <= 19; nb++) {
                size_t ss = na + (nb & 3), ds = nb + (na & 1) * 5;
                size_t slen = nb ? (nb - 1) * ss + na : 0, dlen = na ? (na - 1) * ds + nb : 0;
                uint32_t *src = malloc(sizeof(uint32_t) * (slen + 1));
                uint32_t *got = malloc(sizeof(uint32_t) * (dlen + 8)), *want = malloc(sizeof(uint32_t) * (dlen + 8));
                for (size_t i = 0; i < slen; i++) {
                    g_seed = g_seed * 1664525u + 1013904223u;
                    src[i] = i % 5 == 0 ? 0x7fa00000u + (g_seed >> 12) : g_seed; /* NaNs with payloads */
                }
                for (size_t i = 0; i < dlen + 8; i++) got[i] = want[i] = 0xdeadbeefu;
                vs[v].fn((float *)(got + 4), ds, (const float *)src, ss, na, nb);
                lens_f32_transpose__ref((float *)(want + 4), ds, (const float *)src, ss, na, nb);
                if (memcmp(got, want, sizeof(uint32_t) * (dlen + 8))) {
                    fprintf(stderr, "%s na=%zu nb=%zu differs from the reference\n", vs[v].name, na, nb);
                    g_fail++;
                }
                free(src), free(got), free(want);
            }
        printf("%s: checked\n", vs[v].name);
    }
}

int main(void) {
    const lens_cpu *cpu = lens_cpu_features();
    lens_threadpool *pool2 = NULL;
    if (lens_threadpool_create(2, &pool2) != LENS_OK) return 1;
    test_acts();
    test_gelu_vs_double();
    test_pack_t8();
    test_transpose();
    size_t nv;
    const lens_f32_gemm_variant *vs = lens_f32_gemm_variants(&nv);
    int cases = 0;
    for (size_t vi = 0; vi < nv; vi++) {
        const lens_f32_gemm_variant *v = &vs[vi];
        if (!v->supported(cpu)) {
            printf("skip %s (CPU)\n", v->name);
            continue;
        }
        size_t mr = v->mr, nr = v->nr;
        size_t Ms[] = {1, mr - 1, mr, mr + 1, 2 * mr + 3, 67};
        size_t Ns[] = {1, nr - 1, nr, nr + 1, 2 * nr + 5, 203};
        size_t Ks[] = {1, 5, LENS_GEMM_KC, LENS_GEMM_KC + 1, 300, 0};
        size_t idx = 0;
        for (size_t a = 0; a < LENS_ARRAY_LEN(Ms); a++)
            for (size_t b = 0; b < LENS_ARRAY_LEN(Ns); b++)
                for (size_t c = 0; c < LENS_ARRAY_LEN(Ks); c++, idx++) {
                    if (Ms[a] == 0 || Ns[b] == 0) continue;
                    const lens_act_params *act = &g_acts[idx % LENS_ARRAY_LEN(g_acts)];
                    check(v, (idx & 1) ? pool2 : NULL, Ms[a], Ns[b], Ks[c],
                          (int)(idx % (v->ukernel_ib ? 4 : 3)), act,
                          idx % 2 == 0, idx % 4 < 2, idx % 5 == 0);
                    cases++;
                }
        /* Every epilogue combination at an awkward size. */
        for (size_t ai = 0; ai < LENS_ARRAY_LEN(g_acts); ai++)
            for (int f = 0; f < 8; f++) {
                check(v, pool2, mr + 1, nr + 3, 19, f % (v->ukernel_ib ? 4 : 3), &g_acts[ai], f & 1,
                      f & 2, f & 4);
                cases++;
            }
        /* Indirect B at every column count of the tile and around it. */
        if (v->ukernel_ib)
            for (size_t n = 1; n <= 2 * nr + 1; n++) {
                check(v, n & 1 ? pool2 : NULL, mr + (n % 3), n, 3 + n % 11, 3, &g_acts[n % 3],
                      n & 2, n & 4, n & 8);
                cases++;
            }
        /* Single-row tiles (ukernel_row) at every column count of the tile
         * and around it, and single-column tiles (ukernel_col) at every row
         * count, alone and as the last column of a wider B; K odd and even
         * around the kernels' unrolling and the K block. */
        size_t kk[] = {1, 2, 3, 4, 5, 7, 8, 33, LENS_GEMM_KC + 3};
        for (size_t n = 1; n <= 2 * nr + 1; n++) {
            check(v, n & 1 ? pool2 : NULL, 1, n, kk[n % LENS_ARRAY_LEN(kk)],
                  (int)(n % (v->ukernel_ib ? 4 : 3)), &g_acts[n % LENS_ARRAY_LEN(g_acts)], n & 2,
                  n & 4, n & 8);
            cases++;
        }
        for (size_t m = 1; m <= 2 * mr + 1; m++)
            for (size_t n = 1; n <= nr + 1; n += nr) {
                check(v, m & 1 ? pool2 : NULL, m, n, kk[(m + n) % LENS_ARRAY_LEN(kk)],
                      (int)((m + n) % (v->ukernel_ib ? 4 : 3)),
                      &g_acts[m % LENS_ARRAY_LEN(g_acts)], m & 2, m & 4, m & 8);
                cases++;
            }
        /* A residual row broadcast down C (ldr 0) with every activation,
         * across tile edges in M and N. */
        g_res_ldr0 = true;
        for (size_t ai = 0; ai < LENS_ARRAY_LEN(g_acts); ai++)
            for (size_t n = nr - 1; n <= 2 * nr + 1; n += nr + 1) {
                check(v, ai & 1 ? pool2 : NULL, 2 * mr + 1 + ai % 3, n, 7 + ai, (int)(ai % 3), &g_acts[ai],
                      false, true, false);
                cases++;
            }
        g_res_ldr0 = false;
        printf("%s: checked\n", v->name);
    }
    lens_threadpool_free(pool2);
    printf("%d cases, %d failures\n", cases, g_fail);
    return g_fail ? 1 : 0;
}
