/* Convolution compute (GEMM/im2col, 1x1, depthwise, grouped, 1-D/2-D/3-D,
 * ConvTranspose) against naive references, under every kernel variant. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ops/conv_f32.h"
#include "ops/op.h"

static int g_fail, g_cases;
static uint32_t g_seed = 777;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static int64_t prod(const int64_t *d, int n) {
    int64_t r = 1;
    for (int i = 0; i < n; i++) r *= d[i];
    return r;
}

static void ref_conv(const lens_conv_params *p, const float *x, const float *w, const float *b,
                     const float *res, float *y) {
    int n3 = p->nsp;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            d[3] = {1, 1, 1}, pd[3] = {0, 0, 0};
    for (int i = 0; i < n3; i++) {
        int j = 3 - n3 + i;
        in[j] = p->in[i], out[j] = p->out[i], k[j] = p->k[i], s[j] = p->stride[i];
        d[j] = p->dil[i], pd[j] = p->pad[i];
    }
    int64_t cg = p->C / p->group, mg = p->M / p->group, os = prod(out, 3);
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++) {
            int64_t g = m / mg;
            for (int64_t o = 0; o < os; o++) {
                int64_t oz = o / (out[1] * out[2]), oy = o / out[2] % out[1], ox = o % out[2];
                double acc = b ? b[m] : 0;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t kz = 0; kz < k[0]; kz++)
                        for (int64_t ky = 0; ky < k[1]; ky++)
                            for (int64_t kx = 0; kx < k[2]; kx++) {
                                int64_t iz = oz * s[0] - pd[0] + kz * d[0];
                                int64_t iy = oy * s[1] - pd[1] + ky * d[1];
                                int64_t ix = ox * s[2] - pd[2] + kx * d[2];
                                if (iz < 0 || iz >= in[0] || iy < 0 || iy >= in[1] || ix < 0 ||
                                    ix >= in[2])
                                    continue;
                                acc += (double)x[((n * p->C + g * cg + c) * in[0] + iz) * in[1] * in[2] +
                                                 iy * in[2] + ix] *
                                       w[(((m * cg + c) * k[0] + kz) * k[1] + ky) * k[2] + kx];
                            }
                int64_t yi = (n * p->M + m) * os + o;
                if (res) acc += res[yi];
                float v = (float)acc;
                lens_f32_act__ref(&p->act, &v, 1);
                y[yi] = v;
            }
        }
}

static int compare(const char *what, const float *got, const float *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i]))) {
            fprintf(stderr, "%s: y[%zu] = %g, want %g\n", what, i, got[i], want[i]);
            return 1;
        }
    return 0;
}

static void run_case(lens_threadpool *pool, int nsp, int64_t N, int64_t C, int64_t M, int64_t group,
                     const int64_t *in, const int64_t *k, const int64_t *s, const int64_t *d,
                     const int64_t *pb, const int64_t *pe, int act, bool bias, bool res) {
    lens_conv_params p = {0};
    p.nsp = nsp, p.N = N, p.C = C, p.M = M, p.group = group;
    for (int i = 0; i < nsp; i++) {
        p.in[i] = in[i], p.k[i] = k[i], p.stride[i] = s[i], p.dil[i] = d[i], p.pad[i] = pb[i];
        p.out[i] = (in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1)) / s[i] + 1;
    }
    p.act = (lens_act_params){act, act == LENS_ACT_CLIP ? 0.0f : 0.1f, 6.0f};
    size_t xs = (size_t)(N * C * prod(p.in, nsp)), ws = (size_t)(M * (C / group) * prod(p.k, nsp));
    size_t ys = (size_t)(N * M * prod(p.out, nsp));
    float *x = malloc(xs * 4 + 4), *w = malloc(ws * 4 + 4), *b = malloc(M * 4 + 4);
    float *r = malloc(ys * 4 + 4), *y = malloc(ys * 4 + 4), *yr = malloc(ys * 4 + 4);
    for (size_t i = 0; i < xs; i++) x[i] = frand();
    for (size_t i = 0; i < ws; i++) w[i] = frand();
    for (int64_t i = 0; i < M; i++) b[i] = frand();
    for (size_t i = 0; i < ys; i++) r[i] = frand();
    ref_conv(&p, x, w, bias ? b : NULL, res ? r : NULL, yr);
    size_t ng, nd;
    const lens_f32_gemm_variant *gv = lens_f32_gemm_variants(&ng);
    const lens_f32_dwconv_variant *dv = lens_f32_dwconv_variants(&nd);
    const lens_cpu *cpu = lens_cpu_features();
    for (size_t vi = 0; vi < LENS_MAX(ng, nd); vi++) {
        const lens_f32_gemm_variant *v = &gv[LENS_MIN(vi, ng - 1)];
        const lens_f32_dwconv_variant *dvv = &dv[LENS_MIN(vi, nd - 1)];
        if (!v->supported(cpu) || !dvv->supported(cpu)) continue;
        for (int packed = 0; packed < 2; packed++) {
            size_t gs, pf = lens_conv_packed_floats(&p, v, &gs);
            float *wp = packed ? lens_aligned_alloc(pf * 4 + 64) : NULL;
            if (wp) lens_conv_pack_weights(&p, v, w, wp);
            size_t sf = lens_conv_scratch_floats(&p, v, lens_threadpool_size(pool), packed);
            float *sc = lens_aligned_alloc(sf * 4 + 64);
            for (size_t i = 0; i < ys; i++) y[i] = NAN;
            lens_conv_f32(&p, v, dvv, pool, x, w, wp, bias ? b : NULL, res ? r : NULL, y, sc);
            char what[256];
            snprintf(what, sizeof what,
                     "%s/%s nsp=%d N=%lld C=%lld M=%lld g=%lld in0=%lld k0=%lld s0=%lld d0=%lld p=%lld,%lld act=%d packed=%d",
                     v->name, dvv->name, nsp, (long long)N, (long long)C, (long long)M,
                     (long long)group, (long long)in[0], (long long)k[0], (long long)s[0],
                     (long long)d[0], (long long)pb[0], (long long)pe[0], act, packed);
            if (compare(what, y, yr, ys)) g_fail++;
            g_cases++;
            lens_aligned_free(sc);
            lens_aligned_free(wp);
        }
    }
    free(x), free(w), free(b), free(r), free(y), free(yr);
}

/* ConvTranspose reference: scatter form. */
static void test_convtranspose(lens_threadpool *pool) {
    struct { int nsp; int64_t N, C, M, g, in, k, s, d, p, opad; } cs[] = {
        {2, 1, 1, 2, 1, 3, 3, 1, 1, 0, 0}, {2, 2, 4, 6, 2, 5, 3, 2, 1, 1, 1},
        {1, 1, 3, 2, 1, 7, 4, 3, 2, 2, 0}, {3, 1, 2, 3, 1, 3, 2, 2, 1, 0, 1},
        {2, 1, 8, 8, 8, 6, 3, 2, 1, 1, 1},
    };
    size_t ng;
    const lens_f32_gemm_variant *gv = lens_f32_gemm_variants(&ng);
    for (size_t c = 0; c < LENS_ARRAY_LEN(cs); c++) {
        lens_conv_params p = {0};
        p.nsp = cs[c].nsp, p.N = cs[c].N, p.C = cs[c].C, p.M = cs[c].M, p.group = cs[c].g;
        for (int i = 0; i < p.nsp; i++) {
            p.in[i] = cs[c].in + i, p.k[i] = cs[c].k, p.stride[i] = cs[c].s, p.dil[i] = cs[c].d;
            p.pad[i] = cs[c].p;
            p.out[i] = p.stride[i] * (p.in[i] - 1) + cs[c].opad + (p.k[i] - 1) * p.dil[i] + 1 -
                       2 * p.pad[i];
        }
        int n = p.nsp;
        int64_t is = prod(p.in, n), os = prod(p.out, n), ks = prod(p.k, n);
        int64_t cg = p.C / p.group, mg = p.M / p.group;
        size_t xs = p.N * p.C * is, ws = p.C * mg * ks, ys = p.N * p.M * os;
        float *x = malloc(xs * 4), *w = malloc(ws * 4), *b = malloc(p.M * 4);
        float *y = malloc(ys * 4), *yr = calloc(ys, 4);
        for (size_t i = 0; i < xs; i++) x[i] = frand();
        for (size_t i = 0; i < ws; i++) w[i] = frand();
        for (int64_t i = 0; i < p.M; i++) b[i] = frand();
        for (int64_t nn = 0; nn < p.N; nn++)
            for (int64_t ci = 0; ci < p.C; ci++)
                for (int64_t m = 0; m < mg; m++)
                    for (int64_t i = 0; i < is; i++)
                        for (int64_t kk = 0; kk < ks; kk++) {
                            int64_t off = 0, ii = i, kr = kk, idx[3], kid[3];
                            for (int d = n - 1; d >= 0; d--) idx[d] = ii % p.in[d], ii /= p.in[d];
                            for (int d = n - 1; d >= 0; d--) kid[d] = kr % p.k[d], kr /= p.k[d];
                            bool ok = true;
                            for (int d = 0; d < n; d++) {
                                int64_t o = idx[d] * p.stride[d] - p.pad[d] + kid[d] * p.dil[d];
                                if (o < 0 || o >= p.out[d]) ok = false;
                                off = off * p.out[d] + o;
                            }
                            if (!ok) continue;
                            int64_t oc = (ci / cg) * mg + m;
                            yr[(nn * p.M + oc) * os + off] +=
                                x[(nn * p.C + ci) * is + i] * w[(ci * mg + m) * ks + kk];
                        }
        for (int64_t nn = 0; nn < p.N; nn++)
            for (int64_t m = 0; m < p.M; m++)
                for (int64_t o = 0; o < os; o++) yr[(nn * p.M + m) * os + o] += b[m];
        for (size_t vi = 0; vi < ng; vi++) {
            if (!gv[vi].supported(lens_cpu_features())) continue;
            size_t sf = lens_convtranspose_scratch_floats(&p, &gv[vi], lens_threadpool_size(pool));
            float *sc = lens_aligned_alloc(sf * 4 + 64);
            lens_convtranspose_f32(&p, &gv[vi], pool, x, w, b, y, sc);
            char what[128];
            snprintf(what, sizeof what, "convtranspose case %zu %s", c, gv[vi].name);
            if (compare(what, y, yr, ys)) g_fail++;
            g_cases++;
            lens_aligned_free(sc);
        }
        free(x), free(w), free(b), free(y), free(yr);
    }
}

int main(void) {
    lens_threadpool *pool;
    if (lens_threadpool_create(2, &pool) != LENS_OK) return 1;
    const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
    /* 2-D: pointwise, KxK with strides/pads/dilations, grouped, depthwise. */
    struct { int64_t N, C, M, g, h, w, k, s, d, pb, pe; int act; } c2[] = {
        {1, 3, 8, 1, 9, 9, 1, 1, 1, 0, 0, LENS_ACT_NONE},
        {2, 16, 17, 1, 7, 5, 1, 1, 1, 0, 0, LENS_ACT_RELU},
        {1, 5, 9, 1, 11, 13, 3, 1, 1, 1, 1, LENS_ACT_CLIP},
        {1, 4, 49, 1, 14, 14, 3, 2, 1, 1, 1, LENS_ACT_SILU},
        {2, 6, 4, 2, 10, 7, 3, 1, 2, 2, 0, LENS_ACT_HARDSWISH},
        {1, 3, 64, 1, 23, 23, 7, 2, 1, 3, 3, LENS_ACT_RELU},
        {1, 8, 8, 4, 9, 9, 3, 2, 1, 0, 1, LENS_ACT_LEAKYRELU},
        {1, 32, 32, 32, 17, 19, 3, 1, 1, 1, 1, LENS_ACT_RELU},
        {2, 16, 16, 16, 20, 21, 3, 2, 1, 1, 1, LENS_ACT_CLIP},
        {1, 8, 8, 8, 15, 70, 5, 1, 1, 2, 2, LENS_ACT_HARDSWISH},
        {1, 8, 8, 8, 15, 140, 5, 2, 1, 2, 2, LENS_ACT_SIGMOID},
        {1, 4, 4, 4, 12, 12, 3, 1, 2, 2, 2, LENS_ACT_NONE},
        {1, 4, 4, 4, 12, 12, 3, 3, 1, 1, 0, LENS_ACT_TANH},
        {1, 4, 8, 4, 8, 8, 3, 1, 1, 1, 1, LENS_ACT_GELU},
        {1, 64, 64, 1, 7, 7, 3, 1, 1, 1, 1, LENS_ACT_RELU},
        {1, 300, 20, 1, 6, 6, 3, 1, 1, 1, 1, LENS_ACT_NONE},
        {1, 2, 3, 1, 1, 1, 1, 1, 1, 0, 0, LENS_ACT_NONE},
        {1, 3, 5, 1, 4, 4, 5, 1, 1, 2, 3, LENS_ACT_NONE},
        /* Depthwise through the 16-channel block kernels: 2 full blocks + 8
         * lanes, two images, 7x7 / 14x14 -> 7x7 / 28x28 5x5 outputs. */
        {2, 40, 40, 40, 7, 7, 5, 1, 1, 2, 2, LENS_ACT_HARDSWISH},
        {1, 24, 24, 24, 14, 14, 3, 2, 1, 1, 1, LENS_ACT_RELU},
        {1, 33, 33, 33, 28, 28, 5, 1, 1, 2, 2, LENS_ACT_NONE},
        /* Indirect-B paths at tile edges: padded width 8 x 6 rows = 48 columns,
         * 9 x 7 = 63, 16 x 5 = 80; pointwise 49, 48 and 47 columns, K over
         * the K block (256). */
        {1, 30, 9, 1, 6, 6, 3, 1, 1, 1, 1, LENS_ACT_RELU},
        {1, 29, 17, 1, 7, 7, 3, 1, 1, 1, 1, LENS_ACT_NONE},
        {1, 9, 8, 1, 5, 12, 5, 1, 1, 2, 2, LENS_ACT_SILU},
        {1, 300, 8, 1, 7, 7, 1, 1, 1, 0, 0, LENS_ACT_RELU},
        {1, 260, 16, 1, 6, 8, 1, 1, 1, 0, 0, LENS_ACT_NONE},
        {2, 16, 7, 1, 1, 47, 1, 1, 1, 0, 0, LENS_ACT_CLIP},
        /* The same edges on maps too large for the small-map im2col rule:
         * padded width 16 x 9 rows = 144 columns (3 tiles), 16 x 7 = 112
         * (2 tiles + 16), 14 x 5 at stride 2 = 70 (a tile + 22). */
        {1, 30, 9, 1, 9, 14, 3, 1, 1, 1, 1, LENS_ACT_RELU},
        {1, 29, 17, 1, 7, 14, 3, 1, 1, 1, 1, LENS_ACT_NONE},
        {2, 9, 8, 1, 10, 25, 3, 2, 1, 1, 1, LENS_ACT_SILU},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(c2); i++) {
        int64_t in[2] = {c2[i].h, c2[i].w}, k[2] = {c2[i].k, c2[i].k};
        int64_t s[2] = {c2[i].s, c2[i].s}, d[2] = {c2[i].d, c2[i].d};
        int64_t pb[2] = {c2[i].pb, c2[i].pb}, pe[2] = {c2[i].pe, c2[i].pe};
        for (int t = 0; t < 2; t++)
            run_case(t ? pool : NULL, 2, c2[i].N, c2[i].C, c2[i].M, c2[i].g, in, k, s, d, pb, pe,
                     c2[i].act, (i + t) % 2 == 0, (i + t) % 3 == 0);
    }
    /* Depthwise at every output width around the kernels' vectors (16) and
     * blocks (64), strides 1-3, 3x3 and 5x5, dilation 1 and 2, so that the
     * padded plane's width is exercised at each edge. */
    for (int64_t ow = 1; ow <= 70; ow++) {
        int64_t st = 1 + ow % 3, kk = ow % 2 ? 3 : 5, dd = 1 + (ow % 5 == 0);
        int64_t pad = (kk - 1) / 2 * dd;
        int64_t wi = (ow - 1) * st + (kk - 1) * dd + 1 - 2 * pad;
        if (wi < 1) wi = 1;
        int64_t in[2] = {3 + ow % 4, wi}, k[2] = {kk, kk}, s[2] = {st, st}, d[2] = {dd, dd};
        int64_t pb[2] = {pad, pad}, pe[2] = {pad, pad};
        run_case(ow % 2 ? pool : NULL, 2, 1, 3, 3, 3, in, k, s, d, pb, pe,
                 ow % 4 ? LENS_ACT_HARDSWISH : LENS_ACT_NONE, ow % 3 == 0, ow % 4 == 1);
    }
    /* Row-direct padded path (each output row its own GEMM, epilogue fused
     * into the store): output widths around the 16-column vector and the
     * 48-column tile, strides 1-4, K below and over the K block (256),
     * output channels off the 8-row panel, 2 images, residual and act. */
    {
        const int64_t ows[] = {13, 14, 16, 17, 31, 32, 33, 47, 48, 49, 50, 63, 64, 65, 96, 97};
        for (size_t i = 0; i < LENS_ARRAY_LEN(ows); i++) {
            int64_t ow = ows[i], st = 1 + (int64_t)i % 4, kk = i % 3 ? 3 : 5;
            int64_t pad = (kk - 1) / 2, ci = i % 2 ? 3 : 30, mo = i % 2 ? 16 : 17;
            int64_t wi = (ow - 1) * st + kk - 2 * pad;
            int64_t in[2] = {2 + (int64_t)i % 3, wi}, k[2] = {kk, kk}, s[2] = {st, st};
            int64_t pb[2] = {pad, pad}, pe[2] = {pad, pad};
            run_case(i % 2 ? pool : NULL, 2, 1 + (int64_t)(i % 4 == 0), ci, mo, 1, in, k, s, one,
                     pb, pe, i % 3 ? LENS_ACT_SILU : LENS_ACT_NONE, i % 2 == 0, i % 3 != 1);
        }
    }
    /* Row-direct with several row blocks on one thread (the per-thread
     * phase-plane block holds 10 output rows of this one, 96 wide: 23 =
     * 10+10+3), and the same on 2 threads with 2 images. */
    {
        int64_t in[2] = {92, 381}, k[2] = {3, 3}, s[2] = {4, 4}, pb[2] = {1, 1}, pe[2] = {1, 1};
        run_case(NULL, 2, 1, 8, 16, 1, in, k, s, one, pb, pe, LENS_ACT_RELU, true, true);
        run_case(pool, 2, 2, 8, 16, 1, in, k, s, one, pb, pe, LENS_ACT_SILU, false, true);
    }
    /* Asymmetric kernel / stride / pads. */
    {
        int64_t in[2] = {10, 13}, k[2] = {2, 3}, s[2] = {1, 2}, d[2] = {2, 1}, pb[2] = {1, 0},
                pe[2] = {0, 2};
        run_case(pool, 2, 1, 3, 5, 1, in, k, s, d, pb, pe, LENS_ACT_NONE, true, true);
    }
    /* 1-D and 3-D. */
    {
        int64_t in[1] = {31}, k[1] = {4}, s[1] = {2}, d[1] = {2}, pb[1] = {3}, pe[1] = {1};
        run_case(pool, 1, 2, 6, 10, 2, in, k, s, d, pb, pe, LENS_ACT_RELU, true, true);
        /* 1-D, one image and group: im2col with B packed once per run
         * (K = 9 * 40 over the K block), 1 and 2 threads. */
        int64_t ip[1] = {21}, kp[1] = {9}, pp[1] = {4};
        run_case(NULL, 1, 1, 40, 24, 1, ip, kp, one, one, pp, pp, LENS_ACT_RELU, true, true);
        run_case(pool, 1, 1, 40, 24, 1, ip, kp, one, one, pp, pp, LENS_ACT_NONE, false, true);
        int64_t in1[1] = {50}, k1[1] = {1};
        run_case(pool, 1, 1, 7, 9, 1, in1, k1, one, one, zero, zero, LENS_ACT_NONE, true, false);
        int64_t i3[3] = {5, 6, 7}, k3[3] = {3, 2, 3}, s3[3] = {1, 2, 1}, d3[3] = {1, 1, 2},
                pb3[3] = {1, 0, 2}, pe3[3] = {1, 1, 0};
        run_case(pool, 3, 2, 4, 6, 2, i3, k3, s3, d3, pb3, pe3, LENS_ACT_NONE, true, false);
        run_case(NULL, 3, 1, 3, 3, 3, i3, k3, one, one, pb3, pe3, LENS_ACT_RELU, false, true);
    }
    test_convtranspose(pool);
    lens_threadpool_free(pool);
    printf("%d cases, %d failures\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
