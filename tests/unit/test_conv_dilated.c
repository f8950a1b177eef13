/* Tap-skipping dilated convolution (ops/conv_dilated.c) against a naive
 * double-precision convolution, under every GEMM variant, at 1 and 2
 * threads: odd sizes, dilations 2..40 (also larger than the map), pads
 * smaller and larger than the dilation, strides 1 and 2, non-square
 * kernels, bias + residual + activation, N = 2, channels across the GEMM's
 * K block and outputs across its column chunks. Results must not depend on
 * the thread count (bit for bit). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_dilated.h"
#include "ops/op.h"

static int g_fail, g_cases;
static uint32_t g_seed = 4242;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void ref_conv(const lens_conv_params *p, const float *x, const float *w, const float *b,
                     const float *res, float *y) {
    int64_t H = p->in[0], W = p->in[1], OH = p->out[0], OW = p->out[1];
    int64_t KH = p->k[0], KW = p->k[1];
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = b ? b[m] : 0.0;
                    for (int64_t c = 0; c < p->C; c++)
                        for (int64_t ky = 0; ky < KH; ky++)
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
                                int64_t ix = ox * p->stride[1] - p->pad[1] + kx * p->dil[1];
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += (double)x[((n * p->C + c) * H + iy) * W + ix] *
                                       (double)w[((m * p->C + c) * KH + ky) * KW + kx];
                            }
                    int64_t yi = ((n * p->M + m) * OH + oy) * OW + ox;
                    if (res) acc += res[yi];
                    float v = (float)acc;
                    lens_f32_act__ref(&p->act, &v, 1);
                    y[yi] = v;
                }
}

static int compare(const char *what, const float *got, const float *want, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol + tol * fabs((double)want[i]))) {
            fprintf(stderr, "%s: y[%zu] = %g, want %g\n", what, i, got[i], want[i]);
            return 1;
        }
    return 0;
}

typedef struct dcase {
    int64_t N, C, M, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
    int act;
    bool bias, res;
} dcase;

static void run_case(lens_threadpool *pools[2], const dcase *c) {
    lens_conv_params p = {0};
    p.nsp = 2, p.N = c->N, p.C = c->C, p.M = c->M, p.group = 1;
    p.in[0] = c->h, p.in[1] = c->w, p.k[0] = c->kh, p.k[1] = c->kw;
    p.stride[0] = c->sh, p.stride[1] = c->sw, p.dil[0] = c->dh, p.dil[1] = c->dw;
    p.pad[0] = c->pt, p.pad[1] = c->pl;
    p.out[0] = (c->h + c->pt + c->pb - ((c->kh - 1) * c->dh + 1)) / c->sh + 1;
    p.out[1] = (c->w + c->pl + c->pr - ((c->kw - 1) * c->dw + 1)) / c->sw + 1;
    if (p.out[0] < 1 || p.out[1] < 1) {
        fprintf(stderr, "bad test case geometry\n");
        g_fail++;
        return;
    }
    p.act = (lens_act_params){c->act, c->act == LENS_ACT_CLIP ? 0.0f : 0.1f, 6.0f};
    size_t xs = (size_t)(c->N * c->C * c->h * c->w), ws = (size_t)(c->M * c->C * c->kh * c->kw);
    size_t ys = (size_t)(c->N * c->M * p.out[0] * p.out[1]);
    float *x = malloc(xs * 4), *w = malloc(ws * 4), *b = malloc((size_t)c->M * 4);
    float *r = malloc(ys * 4), *y = malloc(ys * 4), *y1 = malloc(ys * 4), *yr = malloc(ys * 4);
    for (size_t i = 0; i < xs; i++) x[i] = frand();
    for (size_t i = 0; i < ws; i++) w[i] = frand();
    for (int64_t i = 0; i < c->M; i++) b[i] = frand();
    for (size_t i = 0; i < ys; i++) r[i] = frand();
    ref_conv(&p, x, w, c->bias ? b : NULL, c->res ? r : NULL, yr);
    size_t ng;
    const lens_f32_gemm_variant *gv = lens_f32_gemm_variants(&ng);
    double tol = 2e-5 * sqrt((double)(c->C * c->kh * c->kw));
    for (size_t vi = 0; vi < ng; vi++) {
        const lens_f32_gemm_variant *v = &gv[vi];
        if (!v->supported(lens_cpu_features())) continue;
        size_t pf = lens_conv_dilated_packed_floats(&p, v);
        float *wp = lens_aligned_alloc(pf * 4 + 64);
        lens_conv_dilated_pack(&p, v, w, wp);
        for (int t = 0; t < 2; t++) {
            size_t sf = lens_conv_dilated_scratch_floats(&p, v, lens_threadpool_size(pools[t]));
            float *sc = lens_aligned_alloc(sf * 4 + 64);
            float *out = t ? y : y1;
            for (size_t i = 0; i < ys; i++) out[i] = NAN;
            lens_conv_dilated_f32(&p, v, pools[t], x, wp, c->bias ? b : NULL, c->res ? r : NULL,
                                  out, sc);
            char what[256];
            snprintf(what, sizeof what,
                     "%s threads=%d N=%lld C=%lld M=%lld in=%lldx%lld k=%lldx%lld s=%lld,%lld "
                     "d=%lld,%lld pads=%lld,%lld,%lld,%lld act=%d",
                     v->name, lens_threadpool_size(pools[t]), (long long)c->N, (long long)c->C,
                     (long long)c->M, (long long)c->h, (long long)c->w, (long long)c->kh,
                     (long long)c->kw, (long long)c->sh, (long long)c->sw, (long long)c->dh,
                     (long long)c->dw, (long long)c->pt, (long long)c->pl, (long long)c->pb,
                     (long long)c->pr, c->act);
            if (compare(what, out, yr, ys, tol)) g_fail++;
            if (t == 1 && memcmp(y, y1, ys * 4)) {
                fprintf(stderr, "%s: result differs between 1 and 2 threads\n", what);
                g_fail++;
            }
            g_cases++;
            lens_aligned_free(sc);
        }
        lens_aligned_free(wp);
    }
    free(x), free(w), free(b), free(r), free(y), free(y1), free(yr);
}

static void test_wanted(void) {
    lens_conv_params p = {0};
    p.nsp = 2, p.group = 1, p.k[0] = p.k[1] = 3, p.dil[0] = p.dil[1] = 12;
    if (!lens_conv_dilated_wanted(&p)) g_fail++, fprintf(stderr, "3x3 d12 not taken\n");
    p.dil[0] = p.dil[1] = 2;
    if (lens_conv_dilated_wanted(&p)) g_fail++, fprintf(stderr, "3x3 d2 taken\n");
    p.dil[0] = p.dil[1] = 12, p.group = 2;
    if (lens_conv_dilated_wanted(&p)) g_fail++, fprintf(stderr, "grouped taken\n");
    p.group = 1, p.k[0] = p.k[1] = 1;
    if (lens_conv_dilated_wanted(&p)) g_fail++, fprintf(stderr, "1x1 taken\n");
    p.k[0] = 3, p.nsp = 3;
    if (lens_conv_dilated_wanted(&p)) g_fail++, fprintf(stderr, "3-D taken\n");
    g_cases++;
}

int main(void) {
    lens_threadpool *pools[2];
    if (lens_threadpool_create(1, &pools[0]) != LENS_OK) return 1;
    if (lens_threadpool_create(2, &pools[1]) != LENS_OK) return 1;
    test_wanted();
    const dcase cases[] = {
        /* N  C   M   h   w  kh kw sh sw dh dw  pt pl pb pr  act                bias  res */
        {1, 5, 7, 9, 11, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, LENS_ACT_NONE, false, false},
        {2, 3, 9, 13, 13, 3, 3, 1, 1, 4, 4, 4, 4, 4, 4, LENS_ACT_RELU, true, true},
        {1, 7, 17, 11, 9, 3, 3, 1, 1, 6, 6, 6, 6, 6, 6, LENS_ACT_CLIP, true, false},
        {2, 4, 5, 7, 9, 3, 3, 1, 1, 12, 12, 12, 12, 12, 12, LENS_ACT_HARDSWISH, true, true},
        /* dilation beyond the map: only the centre tap is ever valid */
        {1, 6, 10, 5, 7, 3, 3, 1, 1, 36, 36, 36, 36, 36, 36, LENS_ACT_SILU, true, true},
        {1, 3, 4, 3, 3, 3, 3, 1, 1, 40, 40, 40, 40, 40, 40, LENS_ACT_NONE, true, false},
        /* pads smaller than the dilation, asymmetric, non-square kernels */
        {1, 5, 6, 15, 13, 3, 5, 1, 1, 8, 3, 3, 5, 9, 7, LENS_ACT_LEAKYRELU, true, false},
        {2, 2, 3, 9, 17, 2, 4, 1, 1, 5, 7, 0, 4, 5, 17, LENS_ACT_NONE, false, true},
        {1, 4, 5, 11, 11, 5, 1, 1, 1, 3, 1, 6, 0, 6, 0, LENS_ACT_RELU, true, false},
        /* pads larger than the dilated extent: rows of bias only */
        {1, 3, 5, 4, 5, 3, 3, 1, 1, 2, 3, 9, 8, 7, 10, LENS_ACT_RELU, true, true},
        /* stride 2 */
        {1, 6, 9, 17, 15, 3, 3, 2, 2, 6, 6, 6, 6, 6, 6, LENS_ACT_NONE, true, true},
        {2, 3, 4, 12, 13, 3, 3, 2, 1, 5, 9, 5, 9, 4, 8, LENS_ACT_RELU, true, false},
        {1, 2, 3, 9, 8, 3, 3, 2, 2, 20, 24, 20, 24, 20, 24, LENS_ACT_NONE, true, false},
        /* no padding */
        {1, 3, 4, 30, 29, 3, 3, 1, 1, 12, 12, 0, 0, 0, 0, LENS_ACT_NONE, true, false},
        /* C across the 256 K block, M across the 8-row tile, regions across
         * column chunks (33x33 like DeepLab's ASPP) */
        {1, 300, 20, 33, 33, 3, 3, 1, 1, 12, 12, 12, 12, 12, 12, LENS_ACT_RELU, true, true},
        {1, 260, 9, 33, 33, 3, 3, 1, 1, 24, 24, 24, 24, 24, 24, LENS_ACT_NONE, true, false},
        {2, 17, 33, 21, 25, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, LENS_ACT_RELU, true, true},
        /* long 1-D kernels: the region table is sized per dimension */
        {1, 3, 4, 5, 30, 1, 9, 1, 1, 1, 2, 0, 8, 0, 8, LENS_ACT_NONE, true, false},
        {1, 2, 3, 41, 4, 13, 1, 1, 1, 3, 1, 18, 0, 18, 0, LENS_ACT_RELU, false, true},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(cases); i++) run_case(pools, &cases[i]);
    /* Random small cases: dilations 2..40 on maps of 1..12. */
    for (int i = 0; i < 40; i++) {
        dcase c = {0};
        c.N = 1 + (i % 2), c.C = 1 + (int64_t)((frand() + 1) * 6), c.M = 1 + (int64_t)((frand() + 1) * 10);
        c.h = 1 + (int64_t)((frand() + 1) * 6), c.w = 1 + (int64_t)((frand() + 1) * 6);
        c.kh = 1 + (int64_t)((frand() + 1) * 2), c.kw = 1 + (int64_t)((frand() + 1) * 2);
        c.sh = 1 + (i % 3 == 0), c.sw = 1 + (i % 4 == 1);
        c.dh = 2 + (int64_t)((frand() + 1) * 19), c.dw = 2 + (int64_t)((frand() + 1) * 19);
        c.pt = (int64_t)((frand() + 1) * c.dh), c.pl = (int64_t)((frand() + 1) * c.dw);
        /* trailing pads so that the padded input covers the dilated kernel */
        int64_t eh = (c.kh - 1) * c.dh + 1, ew = (c.kw - 1) * c.dw + 1;
        c.pb = LENS_MAX(0, eh - c.h - c.pt) + (int64_t)((frand() + 1) * 3);
        c.pr = LENS_MAX(0, ew - c.w - c.pl) + (int64_t)((frand() + 1) * 3);
        c.act = i % 3 ? LENS_ACT_RELU : LENS_ACT_NONE;
        c.bias = i % 2, c.res = i % 5 == 0;
        run_case(pools, &c);
    }
    lens_threadpool_free(pools[0]);
    lens_threadpool_free(pools[1]);
    printf("%d cases, %d failures\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
