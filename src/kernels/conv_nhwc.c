/* The nhwc family's table, its zero row and weight packing. */
#include "kernels/conv_nhwc.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

static const lens_f32_nhwc_variant g_variants[] = {
    {"f32_nhwc__ref", 4, 16, lens_f32_igemm_4x16__ref, lens_f32_dwconv_nhwc__ref,
     lens_f32_dwconv_nhwc_rows__ref,
     lens_f32_maxpool_nhwc__ref, lens_f32_avgpool_nhwc__ref, lens_cpu_any},
    {"f32_nhwc__avx2", 6, 16, lens_f32_igemm_6x16__avx2, lens_f32_dwconv_nhwc__avx2,
     lens_f32_dwconv_nhwc_rows__avx2, lens_f32_maxpool_nhwc__avx2, lens_f32_avgpool_nhwc__avx2,
     lens_cpu_avx2_fma},
    {"f32_nhwc__avx512", 8, 32, lens_f32_igemm_8x32__avx512, lens_f32_dwconv_nhwc__avx512,
     lens_f32_dwconv_nhwc_rows__avx512,
     lens_f32_maxpool_nhwc__avx512, lens_f32_avgpool_nhwc__avx512, lens_cpu_avx512},
};

LENS_VARIANT_TABLE(lens_f32_nhwc, lens_f32_nhwc_variant, g_variants)

const lens_f32_nhwc_variant *lens_f32_nhwc_best(void) { return lens_f32_nhwc_pick(); }

static const float g_zero_row[LENS_NHWC_ZERO_FLOATS] __attribute__((aligned(64)));

const float *lens_nhwc_zero_row(void) { return g_zero_row; }

static float g_neginf_row[LENS_NHWC_ZERO_FLOATS] __attribute__((aligned(64)));
static pthread_once_t g_neginf_once = PTHREAD_ONCE_INIT;
static void neginf_fill(void) {
    for (size_t i = 0; i < LENS_NHWC_ZERO_FLOATS; i++) g_neginf_row[i] = -INFINITY;
}

const float *lens_nhwc_neginf_row(void) {
    pthread_once(&g_neginf_once, neginf_fill);
    return g_neginf_row;
}

size_t lens_nhwc_packed_floats(size_t M, size_t kc, size_t ks, size_t nr) {
    return (M + nr - 1) / nr * nr * kc * ks;
}

void lens_nhwc_pack_weights(const float *W, size_t M, size_t kc, size_t KH, size_t KW, size_t nr,
                            float *dst) {
    size_t ks = KH * KW, panels = (M + nr - 1) / nr;
    for (size_t j = 0; j < panels; j++) {
        float *p = dst + j * ks * kc * nr;
        for (size_t t = 0; t < ks; t++)
            for (size_t c = 0; c < kc; c++, p += nr)
                for (size_t n = 0; n < nr; n++) {
                    size_t m = j * nr + n;
                    p[n] = m < M ? W[(m * kc + c) * ks + t] : 0.0f;
                }
    }
}

size_t lens_nhwc_dw_cpad(size_t C) { return (C + 15) / 16 * 16; }

void lens_nhwc_pack_dw_weights(const float *W, size_t C, size_t KH, size_t KW, float *dst) {
    size_t ks = KH * KW, cpad = lens_nhwc_dw_cpad(C);
    memset(dst, 0, ks * cpad * sizeof(float));
    for (size_t t = 0; t < ks; t++)
        for (size_t c = 0; c < C; c++) dst[t * cpad + c] = W[c * ks + t];
}

/* Tables are rebuilt on every run (node state is read-only and shared by
 * sessions), so building them is on the critical path of small-channel
 * layers: coordinates advance incrementally (no divisions per pixel) and
 * pixels whose window is inside the input take base + a precomputed
 * offset per tap. */
void lens_nhwc_pixel_pos(const lens_nhwc_geom *g, int64_t p, int64_t pos[3]) {
    int64_t plane = g->OH * g->OW;
    pos[0] = p / plane, pos[1] = p % plane / g->OW, pos[2] = p % g->OW;
}

void lens_nhwc_igemm_table(const lens_nhwc_geom *g, const float *x, int64_t pos[3], size_t mr, size_t MR,
                           const float *pad, const float **at) {
    int64_t n = pos[0], oy = pos[1], ox = pos[2];
    int64_t rowf = g->W * g->C;
    if (g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->pb == 0 &&
        g->pr == 0) {
        /* 1x1, stride 1, no padding: pixel p reads row p of x */
        int64_t p0 = (n * g->OH + oy) * g->OW + ox;
        const float *r = x + p0 * g->C;
        for (size_t i = 0; i < MR; i++) at[i] = r + (int64_t)(i < mr ? i : mr - 1) * g->C;
        p0 += (int64_t)mr;
        int64_t plane = g->OH * g->OW;
        if (mr == MR && (ox += (int64_t)mr) < g->OW) {
            pos[2] = ox; /* common case: still on the same output row */
        } else {
            pos[0] = p0 / plane, pos[1] = p0 % plane / g->OW, pos[2] = p0 % g->OW;
        }
        return;
    }
    for (size_t i = 0; i < MR; i++) {
        if (i > 0 && i < mr && ++ox == g->OW) {
            ox = 0;
            if (++oy == g->OH) oy = 0, n++;
        }
        int64_t iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
        const float *img = x + n * g->H * rowf;
        bool inside = iy0 >= 0 && iy0 + (g->KH - 1) * g->dh < g->H && ix0 >= 0 &&
                      ix0 + (g->KW - 1) * g->dw < g->W;
        if (inside) {
            const float *base = img + iy0 * rowf + ix0 * g->C;
            size_t t = 0;
            for (int64_t ky = 0; ky < g->KH; ky++) {
                const float *r = base + ky * g->dh * rowf;
                for (int64_t kx = 0; kx < g->KW; kx++, t++) at[t * MR + i] = r + kx * g->dw * g->C;
            }
        } else {
            size_t t = 0;
            for (int64_t ky = 0; ky < g->KH; ky++) {
                int64_t iy = iy0 + ky * g->dh;
                bool vy = iy >= 0 && iy < g->H;
                const float *r = vy ? img + iy * rowf : NULL;
                for (int64_t kx = 0; kx < g->KW; kx++, t++) {
                    int64_t ix = ix0 + kx * g->dw;
                    at[t * MR + i] = vy && ix >= 0 && ix < g->W ? r + ix * g->C : pad;
                }
            }
        }
    }
    /* the pixel after the tile */
    if (++ox == g->OW) {
        ox = 0;
        if (++oy == g->OH) oy = 0, n++;
    }
    pos[0] = n, pos[1] = oy, pos[2] = ox;
}

void lens_nhwc_row_table(const lens_nhwc_geom *g, const float *x, int64_t n, int64_t oy, int64_t ox0,
                         int64_t ox1, const float *pad, const float **tab) {
    int64_t rowf = g->W * g->C, iy0 = oy * g->sh - g->pt;
    const float *img = x + n * g->H * rowf;
    size_t ks = g->ks;
    for (int64_t ky = 0, t = 0; ky < g->KH; ky++) {
        int64_t iy = iy0 + ky * g->dh;
        bool vy = iy >= 0 && iy < g->H;
        const float *r = vy ? img + iy * rowf : NULL;
        for (int64_t kx = 0; kx < g->KW; kx++, t++) {
            const float **o = tab + t;
            for (int64_t ox = ox0; ox < ox1; ox++, o += ks) {
                int64_t ix = ox * g->sw - g->pl + kx * g->dw;
                *o = vy && ix >= 0 && ix < g->W ? r + ix * g->C : pad;
            }
        }
    }
}

void lens_nhwc_interior_cols(const lens_nhwc_geom *g, int64_t *lo, int64_t *hi) {
    int64_t l = (g->pl + g->sw - 1) / g->sw;
    int64_t last = g->W - 1 + g->pl - (g->KW - 1) * g->dw; /* ox * sw <= last */
    int64_t h = last < 0 ? 0 : last / g->sw + 1;
    if (h > g->OW) h = g->OW;
    if (l > h) l = h;
    *lo = l, *hi = h;
}
