/* GEMM family: variant table, packing and the tiled, threaded driver. */
#include "kernels/gemm.h"

#include <pthread.h>

#include "kernels/pack.h"

static const lens_f32_gemm_variant g_variants[] = {
    {"f32_gemm_4x16__ref", 4, 16, lens_f32_gemm_4x16__ref, lens_cpu_any, lens_f32_gemm_ib_4x16__ref,
     lens_f32_gemm_1x16__ref, lens_f32_gemm_4x1__ref},
#if defined(__x86_64__)
    {"f32_gemm_6x16__avx2", 6, 16, lens_f32_gemm_6x16__avx2, lens_cpu_avx2_fma, NULL, NULL, NULL},
    {"f32_gemm_8x48__avx512", 8, 48, lens_f32_gemm_8x48__avx512, lens_cpu_avx512,
     lens_f32_gemm_ib_8x48__avx512, lens_f32_gemm_1x48__avx512, lens_f32_gemm_8x1__avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_gemm, lens_f32_gemm_variant, g_variants)

const lens_f32_gemm_variant *lens_f32_gemm_best(void) { return lens_f32_gemm_pick(); }

/* ---- packing ------------------------------------------------------------ */

bool lens_f32_gemm_packed_size(size_t rows, size_t tile, size_t k, size_t *floats) {
    size_t r;
    if (lens_add_ovf_size(rows, tile - 1, &r)) return false;
    r = r / tile * tile;
    return !lens_mul_ovf_size(r, k, floats);
}

void lens_f32_pack_panels(const lens_f32_matrix *m, size_t rows, size_t k0, size_t kc, size_t x0,
                          size_t xc, size_t tile, float *dst) {
    const float s = m->scale;
    for (size_t p = 0; p * tile < xc; p++, dst += kc * tile) {
        size_t r0 = x0 + p * tile;
        size_t n = LENS_MIN(tile, LENS_MIN(x0 + xc, rows) - r0);
        if (m->rs == 1) {
            /* Rows are contiguous along the panel (B not transposed): copy runs. */
            for (size_t k = 0; k < kc; k++) {
                const float *src = m->data + r0 + (k0 + k) * m->cs;
                float *d = dst + k * tile;
                if (s == 1.0f)
                    for (size_t t = 0; t < n; t++) d[t] = src[t];
                else
                    for (size_t t = 0; t < n; t++) d[t] = src[t] * s;
                for (size_t t = n; t < tile; t++) d[t] = 0.0f;
            }
        } else if (m->cs == 1 && tile == 8) {
            /* Row-major rows into an 8-row panel (a MatMul's A): a transpose
             * of 8 x 8 blocks (kernels/pack.h). */
            lens_f32_pack_t8_best()(m->data + r0 * m->rs + k0, m->rs, n, kc, s, dst);
        } else {
            /* Read each source row sequentially, scatter into the panel. */
            for (size_t t = 0; t < n; t++) {
                const float *src = m->data + (r0 + t) * m->rs + k0 * m->cs;
                for (size_t k = 0; k < kc; k++) dst[k * tile + t] = src[k * m->cs] * s;
            }
            for (size_t t = n; t < tile; t++)
                for (size_t k = 0; k < kc; k++) dst[k * tile + t] = 0.0f;
        }
    }
}

void lens_f32_pack_full(const lens_f32_matrix *m, size_t rows, size_t k, size_t tile, float *dst) {
    size_t rpad = lens_round_up(rows, tile);
    for (size_t k0 = 0; k0 < k; k0 += LENS_GEMM_KC) {
        size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, k - k0);
        lens_f32_pack_panels(m, rows, k0, kc, 0, rows, tile, dst + k0 * rpad);
    }
}

/* ---- driver --------------------------------------------------------------- */

/* B block kc x nc stays in L2 (1 MiB of it) while A micro-panels cycle
 * through L1. */
#define NC_BYTES (1u << 20)
#define MC_MAX 256

void lens_f32_gemm_plan_make(const lens_f32_gemm_variant *v, size_t M, size_t N, size_t K,
                             size_t batch, int32_t threads, bool pack_a, bool pack_b,
                             lens_f32_gemm_plan *plan) {
    size_t MR = v->mr, NR = v->nr;
    size_t nc_max = LENS_MAX(NR, NC_BYTES / (LENS_GEMM_KC * sizeof(float)) / NR * NR);
    size_t mpad = lens_round_up(LENS_MAX(M, 1), MR), npad = lens_round_up(LENS_MAX(N, 1), NR);
    size_t mt = 1, nt = (npad + nc_max - 1) / nc_max;
    if (pack_a) mt = (mpad + MC_MAX - 1) / MC_MAX;
    if (batch < 1) batch = 1;
    size_t want = threads > 1 ? (size_t)threads * 3 : 1;
    /* Split until every thread has a few tasks, preferring N (no repacking
     * of B) while tiles stay wide, then M. Stop at ~64 KFLOP per task: below
     * that, handing out work costs more than it saves. */
    for (;;) {
        size_t nc = lens_round_up((npad + nt - 1) / nt, NR);
        size_t mc = lens_round_up((mpad + mt - 1) / mt, MR);
        if (batch * mt * nt >= want) break;
        if ((double)mc * nc * (double)K < 32768.0) break;
        if (nc >= 4 * NR && nc >= mc / 2) nt++;
        else if (mc >= 2 * MR) mt++;
        else if (nc >= 2 * NR) nt++;
        else break;
    }
    plan->nc = lens_round_up((npad + nt - 1) / nt, NR);
    plan->mc = lens_round_up((mpad + mt - 1) / mt, MR);
    plan->nt = (N + plan->nc - 1) / plan->nc;
    plan->mt = (M + plan->mc - 1) / plan->mc;
    if (plan->nt < 1) plan->nt = 1;
    if (plan->mt < 1) plan->mt = 1;
    size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, LENS_MAX(K, 1));
    /* 64-byte aligned pieces: B panels are read with full-vector loads. */
    plan->thread_floats =
        (pack_a ? lens_round_up(plan->mc * kc, 16) : 0) + (pack_b ? lens_round_up(plan->nc * kc, 16) : 0);
}

static const float *operand_block(const lens_f32_gemm_operand *op, size_t rows, size_t tile,
                                  size_t k0, size_t kc, size_t x0, size_t xc, float *buf) {
    if (op->packed) return op->packed + k0 * lens_round_up(rows, tile) + x0 * kc;
    if (op->m)
        lens_f32_pack_panels(op->m, rows, k0, kc, x0, xc, tile, buf);
    else
        op->pack(op->ctx, k0, kc, x0, xc, tile, buf);
    return buf;
}

void lens_f32_gemm_tile(const lens_f32_gemm_variant *v, const lens_f32_gemm_plan *plan,
                        const lens_f32_gemm_args *g, size_t mi, size_t ni, float *scratch) {
    size_t MR = v->mr, NR = v->nr;
    size_t m0 = mi * plan->mc, n0 = ni * plan->nc;
    if (m0 >= g->M || n0 >= g->N) return;
    size_t mc = LENS_MIN(plan->mc, g->M - m0), nc = LENS_MIN(plan->nc, g->N - n0);
    float *abuf = scratch, *bbuf = scratch;
    if (!g->a.packed) bbuf = scratch + lens_round_up(plan->mc * LENS_MIN((size_t)LENS_GEMM_KC, g->K), 16);
    /* K == 0 (an empty sum) still runs one block of length 0: C = 0 (+ C)
     * followed by the epilogue. */
    size_t K = g->K;
    size_t k0 = 0;
    do {
        size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, K - k0);
        const float *ab = K ? operand_block(&g->a, g->M, MR, k0, kc, m0, mc, abuf) : NULL;
        const bool ib = g->b.koff != NULL;
        const float *bb = K && !ib ? operand_block(&g->b, g->N, NR, k0, kc, n0, nc, bbuf) : NULL;
        uint32_t flags = 0;
        if (k0 > 0 || g->accumulate) flags |= LENS_GEMM_ACCUMULATE;
        if (k0 + kc >= K) flags |= LENS_GEMM_EPILOGUE;
        for (size_t i = 0; i < mc; i += MR) {
            size_t mr = LENS_MIN(MR, mc - i);
            const float *ap = ab ? ab + i * kc : NULL;
            const float *bias = g->bias ? g->bias + m0 + i : NULL;
            for (size_t j = 0; j < nc; j += NR) {
                size_t nr = LENS_MIN(NR, nc - j);
                float *c = g->c + (m0 + i) * g->ldc + n0 + j;
                const float *res = g->residual ? g->residual + (m0 + i) * g->ldr + n0 + j : NULL;
                if (nr == 1 && v->ukernel_col)
                    v->ukernel_col(kc, ap, ib ? g->b.base + n0 + j : bb ? bb + j * kc : NULL,
                                   ib && K ? g->b.koff + k0 : NULL, NR, c, g->ldc, mr, flags, bias,
                                   res, g->ldr, &g->act);
                else if (mr == 1 && !ib && v->ukernel_row)
                    v->ukernel_row(kc, ap, bb ? bb + j * kc : NULL, c, g->ldc, mr, nr, flags, bias,
                                   res, g->ldr, &g->act);
                else if (ib)
                    v->ukernel_ib(kc, ap, g->b.base + n0 + j, K ? g->b.koff + k0 : NULL, c, g->ldc,
                                  mr, nr, flags, bias, res, g->ldr, &g->act);
                else
                    v->ukernel(kc, ap, bb ? bb + j * kc : NULL, c, g->ldc, mr, nr, flags, bias, res,
                               g->ldr, &g->act);
            }
        }
        k0 += kc;
    } while (k0 < K);
}

size_t lens_f32_gemm_scratch_floats(const lens_f32_gemm_variant *v, const lens_f32_gemm_args *g,
                                    int32_t threads) {
    lens_f32_gemm_plan plan;
    lens_f32_gemm_plan_make(v, g->M, g->N, g->K, 1, threads, !g->a.packed,
                            !g->b.packed && !g->b.koff, &plan);
    return plan.thread_floats * (size_t)(threads < 1 ? 1 : threads);
}

typedef struct gemm_job {
    const lens_f32_gemm_variant *v;
    const lens_f32_gemm_plan *plan;
    const lens_f32_gemm_args *g;
    float *scratch;
} gemm_job;

static void gemm_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const gemm_job *j = ctx;
    float *s = j->scratch + (size_t)thread * j->plan->thread_floats;
    for (int64_t t = begin; t < end; t++)
        lens_f32_gemm_tile(j->v, j->plan, j->g, (size_t)t / j->plan->nt, (size_t)t % j->plan->nt,
                           s);
}

void lens_f32_gemm(const lens_f32_gemm_variant *v, lens_threadpool *pool,
                   const lens_f32_gemm_args *g, float *scratch) {
    if (g->M == 0 || g->N == 0) return;
    int32_t threads = lens_threadpool_size(pool);
    lens_f32_gemm_plan plan;
    lens_f32_gemm_plan_make(v, g->M, g->N, g->K, 1, threads, !g->a.packed,
                            !g->b.packed && !g->b.koff, &plan);
    gemm_job job = {v, &plan, g, scratch};
    lens_parallel_for(pool, (int64_t)(plan.mt * plan.nt), 1, gemm_task, &job);
}
