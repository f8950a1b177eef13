/* The norm kernel family (kernels/norm.h): every LayerNormalization row
 * variant against the reference at every length around the 16-float vector
 * and its tails, with and without bias, in place, and on rows with a large
 * mean (where a one-pass variance would cancel). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/norm.h"

static int g_fail;
static uint32_t g_seed = 777;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void check(const lens_f32_layernorm_row_variant *v, size_t d, bool use_bias, bool in_place, float offset) {
    float *x = malloc(sizeof(float) * (d + 1)), *y = malloc(sizeof(float) * (d + 1));
    float *r = malloc(sizeof(float) * (d + 1)), *sc = malloc(sizeof(float) * (d + 1));
    float *bi = malloc(sizeof(float) * (d + 1));
    for (size_t i = 0; i < d; i++) x[i] = offset + frand() * 3.0f, sc[i] = frand() + 1.5f, bi[i] = frand();
    float m0, i0, m1, i1;
    lens_f32_layernorm_row__ref(x, r, d, sc, use_bias ? bi : NULL, 1e-6, &m0, &i0);
    if (in_place) {
        memcpy(y, x, sizeof(float) * d);
        v->fn(y, y, d, sc, use_bias ? bi : NULL, 1e-6, &m1, &i1);
    } else {
        v->fn(x, y, d, sc, use_bias ? bi : NULL, 1e-6, &m1, &i1);
    }
    bool ok = fabsf(m1 - m0) <= 1e-6f * (1.0f + fabsf(m0)) && fabsf(i1 - i0) <= 1e-6f * fabsf(i0);
    for (size_t i = 0; i < d && ok; i++)
        if (!(fabsf(y[i] - r[i]) <= 1e-5f * (1.0f + fabsf(r[i])))) {
            fprintf(stderr, "%s d=%zu bias=%d in_place=%d offset=%g: y[%zu]=%.9g want %.9g\n", v->name, d,
                    use_bias, in_place, offset, i, y[i], r[i]);
            ok = false;
        }
    if (!ok) {
        fprintf(stderr, "%s d=%zu: mean %.9g/%.9g inv %.9g/%.9g\n", v->name, d, m1, m0, i1, i0);
        g_fail++;
    }
    free(x), free(y), free(r), free(sc), free(bi);
}

int main(void) {
    size_t nv;
    const lens_f32_layernorm_row_variant *vs = lens_f32_layernorm_row_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    int cases = 0;
    for (size_t v = 0; v < nv; v++) {
        if (!vs[v].supported(cpu)) {
            printf("skip %s (CPU)\n", vs[v].name);
            continue;
        }
        size_t big[] = {95, 96, 97, 192, 384, 768, 771};
        for (size_t d = 1; d <= 50; d++, cases++) check(&vs[v], d, d & 1, d & 2, 0.0f);
        for (size_t k = 0; k < sizeof big / sizeof big[0]; k++)
            for (int f = 0; f < 4; f++, cases++) check(&vs[v], big[k], f & 1, f & 2, k & 1 ? 1000.0f : -3.0f);
        /* d = 0: statistics of an empty row are 0, nothing written */
        float mm = -1, ii = -1, dummy = 5.0f;
        vs[v].fn(&dummy, &dummy, 0, &dummy, NULL, 1e-5, &mm, &ii);
        if (mm != 0.0f || dummy != 5.0f) fprintf(stderr, "%s: empty row\n", vs[v].name), g_fail++;
        printf("%s: checked\n", vs[v].name);
    }
    printf("%d cases, %d failures\n", cases, g_fail);
    return g_fail ? 1 : 0;
}
