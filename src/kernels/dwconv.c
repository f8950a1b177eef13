/* Depthwise family: table, padded planes and the per-channel entry. */
#include "kernels/dwconv.h"

#include <pthread.h>

static const lens_f32_dwconv_variant g_variants[] = {
    {"f32_dwconv__ref", lens_f32_dwconv__ref, lens_cpu_any, SIZE_MAX, lens_f32_dwconv_direct__ref,
     lens_f32_dwconv_cblock__ref},
#if defined(__x86_64__)
    {"f32_dwconv__avx2", lens_f32_dwconv__avx2, lens_cpu_avx2_fma, 2, NULL, NULL},
    {"f32_dwconv__avx512", lens_f32_dwconv__avx512, lens_cpu_avx512, 2, lens_f32_dwconv_direct__avx512,
     lens_f32_dwconv_cblock__avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_dwconv, lens_f32_dwconv_variant, g_variants)

const lens_f32_dwconv_variant *lens_f32_dwconv_best(void) { return lens_f32_dwconv_pick(); }

bool lens_f32_dwconv_direct_ok(const lens_f32_dwconv_variant *v, const lens_dwconv_geom *g) {
    if (!v->direct) return false;
    if (v->fn == lens_f32_dwconv__ref) return true;
    /* The SIMD kernel keeps one column mask per (kx, vector) in registers'
     * worth of stack: at most 16 taps wide, strides 1 and 2. */
    return g->sw <= 2 && g->KW <= 16;
}

bool lens_f32_dwconv_cblock_ok(const lens_f32_dwconv_variant *v, const lens_dwconv_geom *g) {
    return v->cblock && lens_dwconv_cblock_geom_ok(g);
}

bool lens_dwconv_cblock_geom_ok(const lens_dwconv_geom *g) {
    /* Measured with bench_conv-style timings at 1 thread (Sapphire Rapids,
     * ms per layer, direct -> cblock): 7x7 and 14x14 outputs win 1.3-3.8x
     * (5x5 576ch 7x7: 0.089 -> 0.031; 5x5/2 672ch 14x14 in: 0.193 -> 0.050;
     * 3x3/2 576ch 14x14 in: 0.077 -> 0.030). At 28 columns the transposes
     * cost about what the taps save: 5x5 still wins (120ch: 0.131 -> 0.083;
     * 5x5/2 from 56x56: 0.137 -> 0.099), 3x3 stride 2 does not (0.060 ->
     * 0.062 from 56x56), and from 112x112 inputs the direct kernel wins
     * (3x3/2 96ch: 0.308 -> 0.324 and worse with the block out of L2).
     * Plain 3x3 at stride 1 and 2 has its own row-reusing direct kernels
     * (d3s1, d3s2 in x86/dwconv_avx512.c), which the block beats only on
     * 7x7 outputs (960ch: 0.068 -> 0.037; 3x3/2 576ch 14x14 in: 0.056 ->
     * 0.031) and not from 14 columns up (384ch 14x14: 0.045 -> 0.048;
     * 192ch 28x28: 0.054 -> 0.090; 3x3/2 240ch 28x28 in: 0.039 -> 0.063). */
    if (g->KH == 3 && g->KW == 3 && g->sh == g->sw && g->sw <= 2 && g->dh == 1 && g->dw == 1)
        return g->OW <= 8;
    /* 5x5 stride 2 likewise (d5s2): 72ch 56x56 in 0.091 (block) -> 0.060,
     * 240ch 28x28 in 0.077 -> 0.065; the block keeps 7x7 outputs (672ch
     * 14x14 in: 0.049 against 0.097). */
    if (g->KH == 5 && g->KW == 5 && g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1)
        return g->OW <= 8;
    if (g->OW <= 16) return true;
    return g->OW <= 32 && g->KH * g->KW >= 25;
}

void lens_dwconv_cblock_dims(const lens_dwconv_geom *g, size_t *hp, size_t *wp) {
    /* The taps read padded rows up to (OH - 1) * sh + (KH - 1) * dh and the
     * input copy writes rows ph .. ph + H - 1: the block covers both. Only
     * called on geometries whose output sizes are already validated, so
     * these products are bounded by the checked ones in cblock_floats. */
    size_t rh = (g->OH - 1) * g->sh + (g->KH - 1) * g->dh + 1;
    size_t rw = (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1;
    *hp = LENS_MAX(rh, g->ph + g->H);
    *wp = LENS_MAX(rw, g->pw + g->W);
}

size_t lens_dwconv_cblock_floats(const lens_dwconv_geom *g) {
    size_t a, b, r, hp, wp, n, ks, q;
    if (!g->OH || !g->OW || !g->KH || !g->KW) return 0;
    /* The products lens_dwconv_cblock_dims() forms, checked once here. */
    if (lens_mul_ovf_size(g->OH - 1, g->sh, &a) || lens_mul_ovf_size(g->KH - 1, g->dh, &b) ||
        lens_add_ovf_size(a, b, &r) || lens_add_ovf_size(r, 1, &r) ||
        lens_add_ovf_size(g->ph, g->H, &a))
        return 0;
    if (lens_mul_ovf_size(g->OW - 1, g->sw, &a) || lens_mul_ovf_size(g->KW - 1, g->dw, &b) ||
        lens_add_ovf_size(a, b, &r) || lens_add_ovf_size(r, 1, &r) ||
        lens_add_ovf_size(g->pw, g->W, &a))
        return 0;
    lens_dwconv_cblock_dims(g, &hp, &wp);
    /* [Hp][Wp][16] input, [KH*KW + 1][16] weights and bias, [OH*OW][16] output. */
    if (lens_mul_ovf_size(hp, wp, &n) || lens_mul_ovf_size(n, 16, &n) ||
        lens_mul_ovf_size(g->KH, g->KW, &ks) || lens_mul_ovf_size(ks + 1, 16, &ks) ||
        lens_mul_ovf_size(g->OH, g->OW, &q) || lens_mul_ovf_size(q, 16, &q) ||
        lens_add_ovf_size(n, ks, &n) || lens_add_ovf_size(n, q, &n) ||
        lens_add_ovf_size(n, 64, &n))
        return 0;
    return n;
}

size_t lens_dwconv_plane_floats(lens_dwconv_geom *g) {
    /* Kernels compute whole vectors of 16 outputs (a block of up to 64
     * starts at a multiple of 64) and read sw floats per output: the last
     * row read ends before sw * round_up(OW, 16) + (KW - 1) * dw. A plane
     * only as wide as that keeps the padding copy small on late layers
     * (14 columns: 20 floats a row instead of 112). */
    size_t ow16 = (g->OW + 15) / 16 * 16, xs, rows, n;
    if (lens_mul_ovf_size(g->sw, ow16, &xs) || lens_add_ovf_size(xs, (g->KW - 1) * g->dw, &xs))
        return 0;
    if (lens_mul_ovf_size(g->OH - 1, g->sh, &rows) ||
        lens_add_ovf_size(rows, (g->KH - 1) * g->dh + 1, &rows))
        return 0;
    g->xs = xs;
    g->xrows = rows;
    if (lens_mul_ovf_size(xs, rows, &n) || lens_add_ovf_size(n, 64, &n)) return 0;
    return n;
}

void lens_dwconv_pad_plane(const lens_dwconv_geom *g, const float *x, float *xp) {
    for (size_t r = 0; r < g->xrows; r++) {
        float *d = xp + r * g->xs;
        if (r < g->ph || r - g->ph >= g->H) {
            memset(d, 0, g->xs * sizeof(float));
            continue;
        }
        const float *s = x + (r - g->ph) * g->W;
        size_t left = LENS_MIN(g->pw, g->xs);
        memset(d, 0, left * sizeof(float));
        size_t n = g->xs > left ? LENS_MIN(g->W, g->xs - left) : 0;
        memcpy(d + left, s, n * sizeof(float));
        memset(d + left + n, 0, (g->xs - left - n) * sizeof(float));
    }
}

void lens_f32_dwconv_channel(const lens_f32_dwconv_variant *v, const lens_dwconv_geom *g,
                             const float *x, const float *w, float bias, float *xp, float *y) {
    lens_dwconv_pad_plane(g, x, xp);
    lens_f32_dwconv_fn fn = g->sw <= v->max_sw ? v->fn : lens_f32_dwconv__ref;
    fn(g, xp, w, bias, y);
}
