/* Winograd F(4x4, 3x3) convolution: see conv_winograd.h for the method and
 * kernels/winograd.h for the transforms. */
#include "ops/conv_winograd.h"

/* Channel bounds of the rule (bench/kernels/bench_winograd.c). Below 16
 * channels the transforms cost as much as the GEMMs they shrink. Above
 * C*M = 256*256 the transformed weights stream from memory every run and
 * the maps such layers run on (7x7 in resnets: 4 tiles of 4x4) give too
 * few tiles to amortise that: resnet18's 512-channel layer4 convs take
 * 6.5 ms as F(4,3) against 2.7 ms direct, and gain only 1.1-1.3x even
 * with the weights in cache. */
#define WINO_MIN_CHANNELS 16
#define WINO_MAX_CM (256u * 256u)
/* A task's V and M buffers (36 or 16 x (C + M) floats per tile) sized to
 * the 2 MiB L2, chunks of 16..128 tiles: each chunk reads all of U (up to
 * 4.2-9.4 MB on wide layers, which does not fit anyway), so fewer, larger
 * chunks beat V and M staying strictly inside L2 (256->256 at 14x14 as
 * F(2,3): 2 chunks 1.72 ms, 1 chunk 1.41 ms). */
#define WINO_L2_FLOATS (2048u * 1024u / 4u)
#define WINO_TB_MAX 128

/* Above this C*M, F(2x2, 3x3) instead of F(4x4, 3x3). Wide layers run on
 * small maps (resnets' 256-channel stage: 14x14, 16 tiles of 4x4), where
 * each transformed weight serves few tiles and the 36 x C x M of them
 * stream from memory every run (9.4 MB at 256x256): the GEMMs are
 * bandwidth-bound (measured: 256->256 at 14x14 in resnet18, 2.1 ms direct,
 * 1.9 F(4,3)). F(2,3) reads 16 x C x M (4.2 MB) for 4x the tiles. */
#define WINO_F23_CM (128u * 128u)

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Output block size of the transform: 4 (F(4,3)) or 2 (F(2,3)). */
static size_t wino_tile(const lens_conv_params *p) {
    return (uint64_t)p->C * (uint64_t)p->M > WINO_F23_CM ? 2 : 4;
}
static size_t wino_pos(const lens_conv_params *p) {
    return wino_tile(p) == 2 ? LENS_WINO_POS23 : LENS_WINO_POS;
}

bool lens_conv_wino_applies(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    if (p->nsp != 2 || p->group != 1 || !v->ukernel || v->nr % LENS_WINO_LANES) return false;
    for (int i = 0; i < 2; i++)
        if (p->k[i] != 3 || p->stride[i] != 1 || p->dil[i] != 1) return false;
    if (p->C < WINO_MIN_CHANNELS || p->M < WINO_MIN_CHANNELS) return false;
    if (p->C > (int64_t)WINO_MAX_CM || p->M > (int64_t)WINO_MAX_CM ||
        (uint64_t)p->C * (uint64_t)p->M > WINO_MAX_CM)
        return false;
    return true;
}

/* Floats of one position's packed A (M rows rounded to MR, times C). */
static size_t ustride(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    size_t f;
    if (!lens_f32_gemm_packed_size((size_t)p->M, v->mr, (size_t)p->C, &f)) return 0;
    return lens_round_up(f, 16);
}

size_t lens_conv_wino_packed_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    size_t s = ustride(p, v), total;
    if (!s || lens_mul_ovf_size(s, wino_pos(p), &total)) return 0;
    return total;
}

void lens_conv_wino_pack_weights(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                 const float *w, float *dst) {
    size_t M = (size_t)p->M, C = (size_t)p->C, MR = v->mr, us = ustride(p, v);
    size_t mpad = lens_round_up(M, MR), pos = wino_pos(p);
    memset(dst, 0, us * pos * sizeof(float));
    /* Packed A layout (kernels/gemm.h): K block k0, panel of MR rows,
     * kc x MR k-major. */
    for (size_t m = 0; m < M; m++)
        for (size_t c = 0; c < C; c++) {
            float u[LENS_WINO_POS];
            if (pos == LENS_WINO_POS)
                lens_f32_wino_filter(w + (m * C + c) * 9, u);
            else
                lens_f32_wino23_filter(w + (m * C + c) * 9, u);
            size_t k0 = c / LENS_GEMM_KC * LENS_GEMM_KC, kc = LENS_MIN((size_t)LENS_GEMM_KC, C - k0);
            size_t off = k0 * mpad + m / MR * MR * kc + (c - k0) * MR + m % MR;
            for (size_t xi = 0; xi < pos; xi++) dst[xi * us + off] = u[xi];
        }
}

bool lens_conv_wino_runs(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    if (!lens_conv_wino_applies(p, v)) return false;
    /* Tile coordinates and plane offsets (a tile reaches 5 past its
     * corner, pads up to 2^24) are int32 in the kernels. */
    const int64_t lim = INT32_MAX / 2;
    for (int i = 0; i < 2; i++)
        if (p->in[i] > lim || p->out[i] > lim || p->pad[i] > lim) return false;
    return (p->in[0] + 8) * (p->in[1] + 8) <= lim && (p->out[0] + 8) * (p->out[1] + 8) <= lim &&
           (p->pad[0] + 8) * (p->in[1] + 8) <= lim;
}

typedef struct wino_plan {
    size_t tile, pos;  /* output block 4 or 2, positions 36 or 16 */
    size_t tw, T;      /* tiles per row, per image */
    size_t tb, nch;    /* tiles per chunk (at most), chunks per image */
    size_t mb, nmb;    /* output channels per block (multiple of MR), blocks */
    size_t npad, ldm;  /* V panel columns (tb rounded to NR), M row stride */
    size_t vfloats, mfloats, thread_floats;
} wino_plan;

static bool plan_make(const lens_conv_params *p, const lens_f32_gemm_variant *v, int32_t threads,
                      wino_plan *w) {
    size_t C = (size_t)p->C, M = (size_t)p->M;
    w->tile = wino_tile(p), w->pos = wino_pos(p);
    size_t th = ceil_div((size_t)p->out[0], w->tile);
    w->tw = ceil_div((size_t)p->out[1], w->tile);
    if (lens_mul_ovf_size(th, w->tw, &w->T)) return false;
    size_t per_tile = w->pos * (C + M); /* C, M <= 2^16 */
    size_t tbmax = WINO_L2_FLOATS / per_tile / LENS_WINO_LANES * LENS_WINO_LANES;
    tbmax = LENS_MAX((size_t)LENS_WINO_LANES, LENS_MIN((size_t)WINO_TB_MAX, tbmax));
    /* A quarter over the budget is cheaper than reading U once more. */
    size_t nch = ceil_div(w->T * 4, tbmax * 5);
    w->tb = lens_round_up(ceil_div(w->T, nch), LENS_WINO_LANES);
    w->nch = ceil_div(w->T, w->tb);
    /* Few chunks (small maps, batch 1): split the output channels too so
     * that every thread has work; each block redoes the input transform,
     * which is small against its GEMMs while blocks keep >= 32 channels. */
    size_t tasks = (size_t)p->N * w->nch, nmb = 1;
    if (threads > 1 && tasks > 0 && tasks < 2 * (size_t)threads) /* N = 0: no tasks */
        nmb = LENS_MAX((size_t)1, LENS_MIN(ceil_div(2 * (size_t)threads, tasks), M / 32));
    w->mb = lens_round_up(ceil_div(M, nmb), v->mr);
    w->nmb = ceil_div(M, w->mb);
    w->npad = lens_round_up(w->tb, v->nr);
    w->ldm = w->tb;
    size_t vf, mf, t;
    if (lens_mul_ovf_size(C, w->npad, &vf) || lens_mul_ovf_size(vf, w->pos, &vf) ||
        lens_mul_ovf_size(w->mb, w->ldm, &mf) || lens_mul_ovf_size(mf, w->pos, &mf))
        return false;
    w->vfloats = lens_round_up(vf, 16);
    w->mfloats = lens_round_up(mf, 16);
    if (lens_add_ovf_size(w->vfloats, w->mfloats, &t)) return false;
    w->thread_floats = t;
    return true;
}

size_t lens_conv_wino_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                     int32_t threads) {
    wino_plan w;
    size_t total;
    if (!plan_make(p, v, threads, &w) ||
        lens_mul_ovf_size(w.thread_floats, (size_t)(threads < 1 ? 1 : threads), &total))
        return 0;
    return total;
}

typedef struct wino_job {
    const lens_conv_params *p;
    const lens_f32_gemm_variant *v;
    const lens_f32_wino_variant *wv;
    wino_plan w;
    const float *x, *u, *bias, *res;
    float *y, *scratch;
    size_t ustride;
} wino_job;

/* The tiles [t0, t0 + n) of an image as one lane group. */
static void tile_group(const wino_plan *w, size_t t0, size_t n, lens_wino_tiles *g) {
    g->n = n;
    for (size_t l = 0; l < LENS_WINO_LANES; l++) {
        size_t t = t0 + (l < n ? l : 0);
        g->oy[l] = (int32_t)(t / w->tw * w->tile);
        g->ox[l] = (int32_t)(t % w->tw * w->tile);
    }
}

static void wino_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const wino_job *j = ctx;
    const lens_conv_params *p = j->p;
    const lens_f32_gemm_variant *v = j->v;
    const wino_plan *w = &j->w;
    const size_t C = (size_t)p->C, M = (size_t)p->M, MR = v->mr, NR = v->nr;
    const size_t H = (size_t)p->in[0], W = (size_t)p->in[1];
    const size_t OH = (size_t)p->out[0], OW = (size_t)p->out[1];
    const size_t mpad = lens_round_up(M, MR), vxs = C * w->npad, mxs = w->mb * w->ldm;
    float *vbuf = j->scratch + (size_t)thread * w->thread_floats;
    float *mbuf = vbuf + w->vfloats;
    const bool f23 = w->tile == 2;
    const lens_f32_wino_input_fn input = f23 ? j->wv->input23 : j->wv->input;
    const lens_f32_wino_output_fn output = f23 ? j->wv->output23 : j->wv->output;
    const lens_act_params none = {0, 0.0f, 0.0f};
    for (int64_t task = begin; task < end; task++) {
        size_t mi = (size_t)task % w->nmb, r = (size_t)task / w->nmb;
        size_t ci = r % w->nch, n = r / w->nch;
        size_t t0 = ci * w->tb, tn = LENS_MIN(w->tb, w->T - t0);
        size_t m0 = mi * w->mb, mc = LENS_MIN(w->mb, M - m0);
        const float *x = j->x + n * C * H * W;
        /* Input transform into packed B panels: column = chunk-local tile. */
        for (size_t g0 = 0; g0 < tn; g0 += LENS_WINO_LANES) {
            lens_wino_tiles g;
            tile_group(w, t0 + g0, LENS_MIN((size_t)LENS_WINO_LANES, tn - g0), &g);
            for (size_t k0 = 0; k0 < C; k0 += LENS_GEMM_KC) {
                size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, C - k0);
                float *vp = vbuf + k0 * w->npad + g0 / NR * NR * kc + g0 % NR;
                input(x + k0 * H * W, kc, H, W, (size_t)p->pad[0], (size_t)p->pad[1], &g, vp, vxs,
                      NR);
            }
        }
        /* 36 (16) GEMMs: M[xi] (mc x tn) = U[xi] (mc x C) V[xi] (C x tn). */
        for (size_t xi = 0; xi < w->pos; xi++) {
            const float *a = j->u + xi * j->ustride, *b = vbuf + xi * vxs;
            float *c = mbuf + xi * mxs;
            for (size_t k0 = 0; k0 < C; k0 += LENS_GEMM_KC) {
                size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, C - k0);
                uint32_t flags = k0 ? LENS_GEMM_ACCUMULATE : 0;
                for (size_t jn = 0; jn < tn; jn += NR) {
                    size_t nr = LENS_MIN(NR, tn - jn);
                    const float *bp = b + k0 * w->npad + jn * kc;
                    for (size_t i = 0; i < mc; i += MR) {
                        size_t mr = LENS_MIN(MR, mc - i);
                        const float *ap = a + k0 * mpad + (m0 + i) * kc;
                        /* One tile left over (7x7 tiles: 48 + 1): the
                         * single-column kernel, not a 16-wide one. */
                        if (nr == 1 && v->ukernel_col)
                            v->ukernel_col(kc, ap, bp, NULL, NR, c + i * w->ldm + jn, w->ldm, mr,
                                           flags, NULL, NULL, 0, &none);
                        else
                            v->ukernel(kc, ap, bp, c + i * w->ldm + jn, w->ldm, mr, nr, flags,
                                       NULL, NULL, 0, &none);
                    }
                }
            }
        }
        /* Output transform with the epilogue, straight into y. */
        size_t plane = OH * OW;
        float *y = j->y + (n * M + m0) * plane;
        const float *res = j->res ? j->res + (n * M + m0) * plane : NULL;
        for (size_t g0 = 0; g0 < tn; g0 += LENS_WINO_LANES) {
            lens_wino_tiles g;
            tile_group(w, t0 + g0, LENS_MIN((size_t)LENS_WINO_LANES, tn - g0), &g);
            output(mbuf + g0, mxs, w->ldm, mc, &g, j->bias ? j->bias + m0 : NULL, res, &p->act, y,
                   OH, OW);
        }
    }
}

void lens_conv_wino_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                        const lens_f32_wino_variant *wv, lens_threadpool *pool, const float *x,
                        const float *u, const float *bias, const float *residual, float *y,
                        float *scratch) {
    if (p->N == 0 || p->M == 0) return;
    int32_t threads = lens_threadpool_size(pool);
    wino_job j = {p, v, wv, {0}, x, u, bias, residual, y, scratch, ustride(p, v)};
    if (!plan_make(p, v, threads, &j.w)) return; /* the scratch size already failed */
    int64_t tasks = p->N * (int64_t)(j.w.nch * j.w.nmb);
    lens_parallel_for(pool, tasks, 1, wino_task, &j);
}
