/* The nhwc family's table, its zero row and weight packing. */
#include "kernels/conv_nhwc.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

static const lens_f32_nhwc_variant g_variants[] = {
    {"f32_nhwc__ref", 4, 16, lens_f32_igemm_4x16__ref, lens_f32_dwconv_nhwc__ref,
     lens_f32_maxpool_nhwc__ref, lens_f32_avgpool_nhwc__ref, lens_cpu_any},
    {"f32_nhwc__avx512", 8, 32, lens_f32_igemm_8x32__avx512, lens_f32_dwconv_nhwc__avx512,
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
