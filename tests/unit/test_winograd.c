/* Winograd F(4x4, 3x3): each SIMD transform against the reference at every
 * lane count and at plane edges, and the whole Winograd convolution against
 * a naive double-precision convolution under every GEMM and wino variant,
 * 1 and 2 threads (bit-identical to each other). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_winograd.h"
#include "ops/op.h"

static int g_fail, g_cases;
static uint32_t g_seed = 4243;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* ---- transforms: SIMD variants against the reference -------------------- */

static void test_transforms(void) {
    size_t nv;
    const lens_f32_wino_variant *wv = lens_f32_wino_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    /* Planes smaller than a tile, odd sizes, pads 0..2. */
    const size_t dims[][4] = {{1, 1, 1, 1}, {2, 3, 0, 2}, {7, 9, 1, 1}, {13, 5, 2, 0}, {6, 6, 0, 0},
                              {9, 22, 1, 2}};
    const int acts[] = {LENS_ACT_NONE, LENS_ACT_RELU, LENS_ACT_SILU, LENS_ACT_TANH,
                        LENS_ACT_HARDSWISH, LENS_ACT_GELU};
    for (size_t di = 0; di < 2 * LENS_ARRAY_LEN(dims); di++) {
        /* F(4,3), then F(2,3). */
        const bool f23 = di >= LENS_ARRAY_LEN(dims);
        const size_t tile = f23 ? 2 : 4, npos = f23 ? LENS_WINO_POS23 : LENS_WINO_POS;
        const size_t *dd = dims[di % LENS_ARRAY_LEN(dims)];
        size_t H = dd[0], W = dd[1], ph = dd[2], pw = dd[3];
        size_t OH = H + 2 * ph - 2 < 1 ? 1 : H + 2 * ph - 2, OW = W + 2 * pw - 2 < 1 ? 1 : W + 2 * pw - 2;
        if (H + 2 * ph < 3) OH = 1;
        if (W + 2 * pw < 3) OW = 1;
        size_t th = (OH + tile - 1) / tile, tw = (OW + tile - 1) / tile, T = th * tw, ch = 3;
        float *x = malloc(ch * H * W * 4), *res = malloc(ch * OH * OW * 4), bias[3];
        for (size_t i = 0; i < ch * H * W; i++) x[i] = frand();
        for (size_t i = 0; i < ch * OH * OW; i++) res[i] = frand();
        for (size_t i = 0; i < ch; i++) bias[i] = frand();
        for (size_t n = 1; n <= LENS_WINO_LANES; n++) {
            lens_wino_tiles t = {.n = n};
            for (size_t l = 0; l < LENS_WINO_LANES; l++) {
                size_t ti = (l * 5 + n) % T; /* any tiles, repeats allowed */
                t.oy[l] = (int32_t)(ti / tw * tile), t.ox[l] = (int32_t)(ti % tw * tile);
            }
            /* Strides with gaps so that writes outside the lanes show. */
            size_t xs = 40 * ch, cs = 20, vfl = npos * xs;
            float vref[LENS_WINO_POS * 40 * 3], vgot[LENS_WINO_POS * 40 * 3];
            for (size_t i = 0; i < vfl; i++) vref[i] = vgot[i] = 7.0f;
            lens_f32_wino_input_fn in0 = f23 ? wv[0].input23 : wv[0].input;
            lens_f32_wino_output_fn out0 = f23 ? wv[0].output23 : wv[0].output;
            in0(x, ch, H, W, ph, pw, &t, vref, xs, cs);
            int act = acts[n % LENS_ARRAY_LEN(acts)];
            lens_act_params ap = {act, 0.1f, 6.0f};
            float *yref = malloc(ch * OH * OW * 4), *ygot = malloc(ch * OH * OW * 4);
            for (size_t i = 0; i < ch * OH * OW; i++) yref[i] = ygot[i] = -3.0f;
            bool with_res = n % 2, with_bias = n % 3;
            out0(vref, xs, cs, ch, &t, with_bias ? bias : NULL, with_res ? res : NULL, &ap,
                         yref, OH, OW);
            for (size_t vi = 1; vi < nv; vi++) {
                if (!wv[vi].supported(cpu)) continue;
                char what[160];
                snprintf(what, sizeof what, "%s F(%zu,3) H=%zu W=%zu pad=%zu,%zu n=%zu act=%d",
                         wv[vi].name, tile, H, W, ph, pw, n, act);
                (f23 ? wv[vi].input23 : wv[vi].input)(x, ch, H, W, ph, pw, &t, vgot, xs, cs);
                for (size_t i = 0; i < vfl; i++)
                    if (!(fabsf(vgot[i] - vref[i]) <= 1e-5f * (1.0f + fabsf(vref[i])))) {
                        fprintf(stderr, "%s input: v[%zu] = %g, want %g\n", what, i, vgot[i], vref[i]);
                        g_fail++;
                        break;
                    }
                (f23 ? wv[vi].output23 : wv[vi].output)(vref, xs, cs, ch, &t, with_bias ? bias : NULL, with_res ? res : NULL,
                              &ap, ygot, OH, OW);
                for (size_t i = 0; i < ch * OH * OW; i++)
                    if (!(fabsf(ygot[i] - yref[i]) <= 1e-5f * (1.0f + fabsf(yref[i])))) {
                        fprintf(stderr, "%s output: y[%zu] = %g, want %g\n", what, i, ygot[i], yref[i]);
                        g_fail++;
                        break;
                    }
                g_cases++;
            }
            free(yref), free(ygot);
        }
        free(x), free(res);
    }
}

/* ---- whole convolution against a double-precision direct one ------------ */

/* y = act(conv + bias + res) in double; mag = sum of |terms| per output,
 * the scale of the rounding error of any summation order. */
static void ref_conv(const lens_conv_params *p, const float *x, const float *w, const float *b,
                     const float *res, double *y, double *mag) {
    int64_t H = p->in[0], W = p->in[1], OH = p->out[0], OW = p->out[1];
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = b ? b[m] : 0, a = b ? fabs(b[m]) : 0;
                    for (int64_t c = 0; c < p->C; c++)
                        for (int64_t ky = 0; ky < 3; ky++)
                            for (int64_t kx = 0; kx < 3; kx++) {
                                int64_t iy = oy - p->pad[0] + ky, ix = ox - p->pad[1] + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                double t = (double)x[((n * p->C + c) * H + iy) * W + ix] *
                                           w[((m * p->C + c) * 3 + ky) * 3 + kx];
                                acc += t, a += fabs(t);
                            }
                    int64_t i = ((n * p->M + m) * OH + oy) * OW + ox;
                    if (res) acc += res[i], a += fabs(res[i]);
                    float v = (float)acc;
                    lens_f32_act__ref(&p->act, &v, 1);
                    y[i] = v, mag[i] = a;
                }
}

/* Bound: F(4,3)'s transforms scale rounding errors by their coefficient
 * sums (B^T rows up to 10, A^T rows up to 19; fp32 eps 6e-8), ~1e-5 of the
 * magnitude of the terms; the activations' slopes are below 2. Observed
 * errors stay below 2e-6 of it. */
#define WINO_REL 2e-5

static double g_worst;

static void run_case(lens_threadpool *pool, int64_t N, int64_t C, int64_t M, int64_t H, int64_t W,
                     int64_t pb, int64_t pe, int act, bool bias, bool res) {
    lens_conv_params p = {0};
    p.nsp = 2, p.N = N, p.C = C, p.M = M, p.group = 1;
    p.in[0] = H, p.in[1] = W;
    for (int i = 0; i < 2; i++) {
        p.k[i] = 3, p.stride[i] = 1, p.dil[i] = 1, p.pad[i] = pb;
        p.out[i] = p.in[i] + pb + pe - 2;
    }
    p.act = (lens_act_params){act, act == LENS_ACT_CLIP ? 0.0f : 0.1f, 6.0f};
    size_t xs = (size_t)(N * C * H * W), ws = (size_t)(M * C * 9);
    size_t ys = (size_t)(N * M * p.out[0] * p.out[1]);
    float *x = malloc(xs * 4), *w = malloc(ws * 4), *b = malloc((size_t)M * 4);
    float *r = malloc(ys * 4), *y = malloc(ys * 4), *y1 = malloc(ys * 4);
    double *yr = malloc(ys * 8), *mag = malloc(ys * 8);
    for (size_t i = 0; i < xs; i++) x[i] = frand();
    for (size_t i = 0; i < ws; i++) w[i] = frand();
    for (int64_t i = 0; i < M; i++) b[i] = frand();
    for (size_t i = 0; i < ys; i++) r[i] = frand();
    ref_conv(&p, x, w, bias ? b : NULL, res ? r : NULL, yr, mag);
    size_t ng, nw;
    const lens_f32_gemm_variant *gv = lens_f32_gemm_variants(&ng);
    const lens_f32_wino_variant *wv = lens_f32_wino_variants(&nw);
    const lens_cpu *cpu = lens_cpu_features();
    for (size_t gi = 0; gi < ng; gi++) {
        const lens_f32_gemm_variant *v = &gv[gi];
        if (!v->supported(cpu)) continue;
        if (!lens_conv_wino_applies(&p, v) || !lens_conv_wino_runs(&p, v)) {
            fprintf(stderr, "Winograd does not apply to C=%lld M=%lld\n", (long long)C, (long long)M);
            g_fail++;
            continue;
        }
        size_t uf = lens_conv_wino_packed_floats(&p, v);
        float *u = lens_aligned_alloc(uf * 4);
        lens_conv_wino_pack_weights(&p, v, w, u);
        for (size_t wi = 0; wi < nw; wi++) {
            if (!wv[wi].supported(cpu)) continue;
            for (int t = 0; t < 2; t++) {
                lens_threadpool *tp = t ? pool : NULL;
                size_t sf = lens_conv_wino_scratch_floats(&p, v, lens_threadpool_size(tp));
                float *sc = lens_aligned_alloc(sf * 4);
                float *out = t ? y : y1;
                for (size_t i = 0; i < ys; i++) out[i] = NAN;
                lens_conv_wino_f32(&p, v, &wv[wi], tp, x, u, bias ? b : NULL, res ? r : NULL, out, sc);
                lens_aligned_free(sc);
                char what[200];
                snprintf(what, sizeof what, "%s/%s N=%lld C=%lld M=%lld %lldx%lld pads %lld,%lld act=%d threads=%d",
                         v->name, wv[wi].name, (long long)N, (long long)C, (long long)M,
                         (long long)H, (long long)W, (long long)pb, (long long)pe, act, t + 1);
                for (size_t i = 0; i < ys; i++) {
                    double e = fabs(out[i] - yr[i]), bound = WINO_REL * (mag[i] + 1e-3);
                    if (e / (mag[i] + 1e-3) > g_worst) g_worst = e / (mag[i] + 1e-3);
                    if (!(e <= bound)) {
                        fprintf(stderr, "%s: y[%zu] = %g, want %g (bound %g)\n", what, i, out[i],
                                yr[i], bound);
                        g_fail++;
                        break;
                    }
                }
                g_cases++;
            }
            /* Deterministic across thread counts: the same sums in the same order. */
            if (memcmp(y, y1, ys * 4)) {
                fprintf(stderr, "%s/%s: 1 and 2 threads differ\n", v->name, wv[wi].name);
                g_fail++;
            }
        }
        lens_aligned_free(u);
    }
    free(x), free(w), free(b), free(r), free(y), free(y1), free(yr), free(mag);
}

static void test_rule(void) {
    const lens_f32_gemm_variant *v = lens_f32_gemm_best();
    lens_conv_params p = {0};
    p.nsp = 2, p.N = 1, p.C = 64, p.M = 64, p.group = 1;
    for (int i = 0; i < 2; i++) p.k[i] = 3, p.stride[i] = 1, p.dil[i] = 1, p.in[i] = p.out[i] = 56;
    if (!lens_conv_wino_applies(&p, v)) g_fail++, fprintf(stderr, "64x64 3x3 should apply\n");
    p.C = p.M = 512; /* transformed weights too large for the cache: excluded */
    if (lens_conv_wino_applies(&p, v)) g_fail++, fprintf(stderr, "512x512 should not apply\n");
    p.C = p.M = 64, p.stride[1] = 2;
    if (lens_conv_wino_applies(&p, v)) g_fail++, fprintf(stderr, "stride 2 should not apply\n");
    p.stride[1] = 1, p.dil[0] = 2;
    if (lens_conv_wino_applies(&p, v)) g_fail++, fprintf(stderr, "dilation 2 should not apply\n");
    p.dil[0] = 1, p.group = 2;
    if (lens_conv_wino_applies(&p, v)) g_fail++, fprintf(stderr, "groups should not apply\n");
    p.group = 1, p.C = 8;
    if (lens_conv_wino_applies(&p, v)) g_fail++, fprintf(stderr, "8 channels should not apply\n");
    /* An empty batch: no tasks, and no division by their count when the
     * plan splits channels for 2 threads (regression: SIGFPE). */
    {
        lens_conv_params e = p;
        e.N = 0, e.in[0] = e.in[1] = e.out[0] = e.out[1] = 14;
        size_t sf = lens_conv_wino_scratch_floats(&e, v, 2);
        float *sc = lens_aligned_alloc((sf ? sf : 1) * 4);
        lens_threadpool *tp;
        if (lens_threadpool_create(2, &tp) == LENS_OK) {
            lens_conv_wino_f32(&e, v, lens_f32_wino_best(), tp, NULL, NULL, NULL, NULL, NULL, sc);
            lens_threadpool_free(tp);
        }
        lens_aligned_free(sc);
    }
    /* Planes beyond the kernels' int32 coordinates fall back. */
    p.C = 64, p.in[0] = p.out[0] = (int64_t)1 << 20, p.in[1] = p.out[1] = (int64_t)1 << 12;
    if (lens_conv_wino_runs(&p, v)) g_fail++, fprintf(stderr, "2^32-pixel plane should not run\n");
    g_cases++;
}

int main(void) {
    lens_threadpool *pool;
    if (lens_threadpool_create(2, &pool) != LENS_OK) return 1;
    test_transforms();
    test_rule();
    /* N, C, M, H, W, pad begin, pad end, act, bias, residual. C and M off
     * the tiles (MR 4/6/8, NR 16/48) and over the K block (256); maps of
     * 1x1, 2x2 and sizes not multiples of 4; pads 0/1/2; tile counts below,
     * at and over a lane group and a chunk. */
    struct { int64_t N, C, M, H, W, pb, pe; int act; bool b, r; } cs[] = {
        /* 7x7 tiles = 49 columns: one left over past the 48-wide tile
         * (the single-column micro-kernel). */
        {1, 24, 40, 28, 28, 1, 1, LENS_ACT_RELU, true, true},
        /* C*M over 128*128: F(2,3). */
        {1, 130, 129, 14, 14, 1, 1, LENS_ACT_RELU, true, true},
        {2, 272, 100, 5, 9, 1, 2, LENS_ACT_SILU, true, false},
        {1, 256, 256, 3, 3, 1, 1, LENS_ACT_NONE, false, true},
        {1, 200, 96, 1, 2, 0, 2, LENS_ACT_GELU, true, true},
        {1, 16, 16, 1, 1, 1, 1, LENS_ACT_NONE, true, false},
        {2, 17, 19, 2, 2, 1, 1, LENS_ACT_RELU, true, true},
        {1, 16, 33, 5, 7, 0, 0, LENS_ACT_NONE, false, false},
        {2, 24, 20, 9, 11, 2, 2, LENS_ACT_SILU, true, true},
        {1, 19, 50, 13, 6, 1, 0, LENS_ACT_CLIP, true, false},
        {1, 40, 24, 18, 30, 1, 1, LENS_ACT_RELU, true, true},
        {1, 300, 16, 7, 9, 1, 1, LENS_ACT_GELU, false, true},
        {2, 64, 72, 14, 14, 1, 1, LENS_ACT_HARDSWISH, true, true},
        {1, 16, 16, 41, 37, 1, 1, LENS_ACT_LEAKYRELU, true, false},
        {1, 32, 32, 60, 3, 2, 0, LENS_ACT_TANH, false, true},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(cs); i++)
        run_case(pool, cs[i].N, cs[i].C, cs[i].M, cs[i].H, cs[i].W, cs[i].pb, cs[i].pe, cs[i].act,
                 cs[i].b, cs[i].r);
    lens_threadpool_free(pool);
    printf("test_winograd: %d cases, %d failures, worst error %.3g of the terms' magnitude\n",
           g_cases, g_fail, g_worst);
    return g_fail ? 1 : 0;
}
