/* The wino family's table, its one-time choice and the filter transform. */
#include <pthread.h>

#include "kernels/winograd.h"

static const lens_f32_wino_variant g_variants[] = {
    {"f32_wino__ref", lens_f32_wino_input__ref, lens_f32_wino_output__ref,
     lens_f32_wino23_input__ref, lens_f32_wino23_output__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_wino__avx512", lens_f32_wino_input__avx512, lens_f32_wino_output__avx512,
     lens_f32_wino23_input__avx512, lens_f32_wino23_output__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_wino, lens_f32_wino_variant, g_variants)

const lens_f32_wino_variant *lens_f32_wino_best(void) { return lens_f32_wino_pick(); }

void lens_f32_wino_filter(const float *g, float *u) {
    static const double G[6][3] = {
        {1.0 / 4, 0, 0},
        {-1.0 / 6, -1.0 / 6, -1.0 / 6},
        {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6},
        {1.0 / 24, -1.0 / 12, 1.0 / 6},
        {0, 0, 1},
    };
    double t[6][3]; /* G g */
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int a = 0; a < 3; a++) s += G[i][a] * (double)g[a * 3 + b];
            t[i][b] = s;
        }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double s = 0;
            for (int b = 0; b < 3; b++) s += t[i][b] * G[j][b];
            u[i * 6 + j] = (float)s;
        }
}

void lens_f32_wino23_filter(const float *g, float *u) {
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    double t[4][3]; /* G g */
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int a = 0; a < 3; a++) s += G[i][a] * (double)g[a * 3 + b];
            t[i][b] = s;
        }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int b = 0; b < 3; b++) s += t[i][b] * G[j][b];
            u[i * 4 + j] = (float)s;
        }
}
