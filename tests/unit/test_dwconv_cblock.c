/* Depthwise channel-block kernels (lens_f32_dwconv_cblock_fn): every
 * variant's cblock against the reference twin, over channel counts 1-16
 * (lane remainders), output widths around the 8-output row blocks and the
 * 16-position transposes, strides 1-3, kernels 1x1 to 7x7 (non-square),
 * dilation 1-2, asymmetric pads, with and without bias and residual, every
 * activation (TANH: the non-vectorised epilogue); plus the selection rule
 * and the scratch size's overflow checks. Also the direct kernels' 3x3
 * stride-1 row-reuse path (4-row steps, 2-vector blocks) against the direct
 * reference at every row count and block edge, and the 3x3 and 5x5
 * stride-2 even/odd paths the same way. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/common.h"
#include "kernels/dwconv.h"
#include "ops/op.h"

static int g_fail, g_cases;
static uint32_t g_seed = 4242;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void run(size_t nc, size_t H, size_t W, size_t KH, size_t KW, size_t s, size_t d,
                size_t pb, size_t pe, int bias, int res, int act) {
    lens_dwconv_geom g = {.H = H, .W = W, .KH = KH, .KW = KW, .sh = s, .sw = s, .dh = d,
                          .dw = d, .ph = pb, .pw = pb};
    size_t eh = (KH - 1) * d + 1, ew = (KW - 1) * d + 1;
    if (H + pb + pe < eh || W + pb + pe < ew) return;
    g.OH = (H + pb + pe - eh) / s + 1;
    g.OW = (W + pb + pe - ew) / s + 1;
    size_t in = H * W, out = g.OH * g.OW, ks = KH * KW;
    float *x = malloc(nc * in * 4), *w = malloc(nc * ks * 4), *b = malloc(nc * 4);
    float *r = malloc(nc * out * 4), *y = malloc(nc * out * 4), *yr = malloc(nc * out * 4);
    for (size_t i = 0; i < nc * in; i++) x[i] = frand();
    for (size_t i = 0; i < nc * ks; i++) w[i] = frand();
    for (size_t i = 0; i < nc; i++) b[i] = frand();
    for (size_t i = 0; i < nc * out; i++) r[i] = frand();
    lens_act_params ap = {.act = act, .alpha = act == LENS_ACT_CLIP ? -0.5f : 0.2f,
                          .beta = act == LENS_ACT_CLIP ? 0.5f : 0.5f};
    lens_f32_dwconv_cblock__ref(&g, nc, x, w, bias ? b : NULL, res ? r : NULL, &ap, yr, NULL);
    size_t sf = lens_dwconv_cblock_floats(&g);
    if (!sf) {
        fprintf(stderr, "cblock_floats returned 0 for a valid geometry\n");
        g_fail++;
    }
    float *sc = lens_aligned_alloc(sf * 4 + 64);
    size_t nv;
    const lens_f32_dwconv_variant *v = lens_f32_dwconv_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    for (size_t vi = 0; vi < nv; vi++) {
        if (!v[vi].cblock || !v[vi].supported(cpu)) continue;
        /* Poison the scratch and the output: nothing may leak from either. */
        for (size_t i = 0; i < sf; i++) sc[i] = NAN;
        for (size_t i = 0; i < nc * out; i++) y[i] = NAN;
        v[vi].cblock(&g, nc, x, w, bias ? b : NULL, res ? r : NULL, &ap, y, sc);
        g_cases++;
        for (size_t i = 0; i < nc * out; i++)
            if (!(fabsf(y[i] - yr[i]) <= 1e-4f + 1e-4f * fabsf(yr[i]))) {
                fprintf(stderr,
                        "%s nc=%zu H=%zu W=%zu k=%zux%zu s=%zu d=%zu p=%zu,%zu bias=%d res=%d "
                        "act=%d: y[%zu] = %g, want %g\n",
                        v[vi].name, nc, H, W, KH, KW, s, d, pb, pe, bias, res, act, i, y[i], yr[i]);
                g_fail++;
                break;
            }
    }
    lens_aligned_free(sc);
    free(x), free(w), free(b), free(r), free(y), free(yr);
}

/* Each variant's direct kernel against the direct reference. */
static void run_direct(size_t H, size_t W, size_t K, size_t s, size_t pb, size_t pe, int res,
                       int act) {
    lens_dwconv_geom g = {.H = H, .W = W, .KH = K, .KW = K, .sh = s, .sw = s, .dh = 1, .dw = 1,
                          .ph = pb, .pw = pb};
    if (H + pb + pe < K || W + pb + pe < K) return;
    g.OH = (H + pb + pe - K) / s + 1;
    g.OW = (W + pb + pe - K) / s + 1;
    size_t in = H * W, out = g.OH * g.OW;
    float *x = malloc(in * 4), w[49], *r = malloc(out * 4), *y = malloc(out * 4);
    float *yr = malloc(out * 4);
    for (size_t i = 0; i < in; i++) x[i] = frand();
    for (size_t i = 0; i < K * K; i++) w[i] = frand();
    for (size_t i = 0; i < out; i++) r[i] = frand();
    float bias = frand();
    lens_act_params ap = {.act = act, .alpha = 0.2f, .beta = 0.5f};
    lens_f32_dwconv_direct__ref(&g, x, w, bias, res ? r : NULL, &ap, yr);
    size_t nv;
    const lens_f32_dwconv_variant *v = lens_f32_dwconv_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    for (size_t vi = 0; vi < nv; vi++) {
        if (!v[vi].supported(cpu) || !lens_f32_dwconv_direct_ok(&v[vi], &g)) continue;
        for (size_t i = 0; i < out; i++) y[i] = NAN;
        v[vi].direct(&g, x, w, bias, res ? r : NULL, &ap, y);
        g_cases++;
        for (size_t i = 0; i < out; i++)
            if (!(fabsf(y[i] - yr[i]) <= 1e-4f + 1e-4f * fabsf(yr[i]))) {
                fprintf(stderr, "%s direct H=%zu W=%zu k=%zu s=%zu p=%zu,%zu: y[%zu] = %g, want %g\n",
                        v[vi].name, H, W, K, s, pb, pe, i, y[i], yr[i]);
                g_fail++;
                break;
            }
    }
    free(x), free(r), free(y), free(yr);
}

int main(void) {
    static const int acts[] = {LENS_ACT_NONE,        LENS_ACT_RELU,      LENS_ACT_CLIP,
                               LENS_ACT_HARDSIGMOID, LENS_ACT_HARDSWISH, LENS_ACT_SIGMOID,
                               LENS_ACT_SILU,        LENS_ACT_TANH,      LENS_ACT_LEAKYRELU};
    int ai = 0;
    /* Lane remainders: every channel count at a 7x7 map, 5x5 and 3x3/2. */
    for (size_t nc = 1; nc <= 16; nc++) {
        run(nc, 7, 7, 5, 5, 1, 1, 2, 2, 1, (int)nc % 2, acts[ai++ % 9]);
        run(nc, 14, 14, 3, 3, 2, 1, 1, 1, (int)nc % 3 != 0, 0, acts[ai++ % 9]);
    }
    /* Output widths 1-40: the 8-output row blocks and the 16-position
     * transposes at each edge, strides 1-3, dilation 1-2, kernels 1-7. */
    for (size_t ow = 1; ow <= 40; ow++) {
        size_t s = 1 + ow % 3, k = 1 + 2 * (ow % 4), d = 1 + (ow % 5 == 0);
        size_t p = (k - 1) / 2 * d;
        size_t ew = (k - 1) * d + 1, W = (ow - 1) * s + ew;
        W = W > 2 * p ? W - 2 * p : 1;
        run(1 + ow % 16, 2 + ow % 5, W, k, k, s, d, p, p, (int)ow % 2, (int)ow % 3 == 0,
            acts[ow % 9]);
    }
    /* Non-square kernels and asymmetric pads (begin 0, end 2 and the
     * reverse), a 1-wide plane, a pad larger than the plane. */
    run(5, 9, 11, 3, 5, 1, 1, 0, 2, 1, 1, LENS_ACT_RELU);
    run(9, 11, 9, 5, 3, 2, 1, 2, 0, 1, 0, LENS_ACT_HARDSWISH);
    run(16, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, LENS_ACT_NONE);
    run(3, 2, 2, 7, 7, 1, 1, 3, 3, 0, 1, LENS_ACT_TANH);
    run(16, 13, 1, 1, 7, 1, 1, 0, 3, 1, 0, LENS_ACT_CLIP);
    /* 3x3 stride 1: output rows 1-9 (every remainder of the 4-row step),
     * widths around the 16- and 32-column blocks, pads 0-2 and asymmetric. */
    static const size_t widths[] = {1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 112};
    for (size_t h = 1; h <= 9; h++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
            size_t pb = (h + wi) % 3, pe = (h + 2 * wi) % 3;
            run_direct(h, widths[wi], 3, 1, pb, pe, (int)(h + wi) % 2, acts[(h + wi) % 9]);
        }
    /* 3x3 stride 2 (even/odd column split): output rows 1-9 from input
     * heights 1-19, input widths around the 32- and 64-column blocks. */
    static const size_t w2[] = {1, 2, 3, 30, 31, 32, 33, 34, 63, 64, 65, 66, 67, 96, 97, 112, 113};
    for (size_t h = 1; h <= 19; h++)
        for (size_t wi = 0; wi < sizeof w2 / sizeof w2[0]; wi++) {
            size_t pb = (h + wi) % 3, pe = (h + 2 * wi) % 3;
            run_direct(h, w2[wi], 3, 2, pb, pe, (int)(h + wi) % 2, acts[(h + wi) % 9]);
        }
    /* 5x5 stride 2 (three even/odd pairs): the same rows and widths, pads
     * 0-3. */
    for (size_t h = 1; h <= 19; h++)
        for (size_t wi = 0; wi < sizeof w2 / sizeof w2[0]; wi++) {
            size_t pb = (h + wi) % 4, pe = (h + 3 * wi) % 4;
            run_direct(h, w2[wi], 5, 2, pb, pe, (int)(h + wi) % 2, acts[(h + 2 * wi) % 9]);
        }
    run_direct(56, 56, 3, 1, 1, 1, 1, LENS_ACT_CLIP);
    run_direct(20, 40, 5, 2, 2, 2, 0, LENS_ACT_HARDSWISH);
    /* The selection rule depends on the geometry only: 7x7 and 14x14 maps
     * take the cblock path, 56-wide outputs do not. */
    lens_dwconv_geom small = {.H = 7, .W = 7, .OH = 7, .OW = 7, .KH = 5, .KW = 5, .sh = 1,
                              .sw = 1, .dh = 1, .dw = 1, .ph = 2, .pw = 2};
    lens_dwconv_geom wide = small, d3 = small;
    wide.H = wide.W = wide.OH = wide.OW = 56;
    d3.KH = d3.KW = 3, d3.ph = d3.pw = 1, d3.H = d3.W = d3.OH = d3.OW = 14;
    if (!lens_dwconv_cblock_geom_ok(&small) || lens_dwconv_cblock_geom_ok(&wide) ||
        lens_dwconv_cblock_geom_ok(&d3)) {
        fprintf(stderr, "cblock selection rule\n");
        g_fail++;
    }
    /* Hostile geometry: the scratch size overflows and reports 0. */
    lens_dwconv_geom huge = small;
    huge.OH = huge.OW = SIZE_MAX / 8;
    huge.sh = huge.sw = 4;
    if (lens_dwconv_cblock_floats(&huge) != 0) {
        fprintf(stderr, "cblock_floats overflow not detected\n");
        g_fail++;
    }
    huge = small;
    huge.H = huge.W = SIZE_MAX / 64;
    if (lens_dwconv_cblock_floats(&huge) != 0) {
        fprintf(stderr, "cblock_floats overflow (plane) not detected\n");
        g_fail++;
    }
    printf("%d cases, %d failures\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
