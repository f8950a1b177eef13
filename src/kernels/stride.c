/* The strided-copy family's table and its one-time choice. */
#include <pthread.h>

#include "kernels/stride.h"

static const lens_f32_strided_copy_variant g_variants[] = {
    {"f32_strided_copy__ref", lens_f32_strided_copy__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_strided_copy__avx512", lens_f32_strided_copy__avx512, lens_cpu_avx512},
#endif
};

const lens_f32_strided_copy_variant *lens_f32_strided_copy_variants(size_t *count) {
    *count = LENS_ARRAY_LEN(g_variants);
    return g_variants;
}

static lens_f32_strided_copy_fn g_best;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const lens_cpu *cpu = lens_cpu_features();
    g_best = g_variants[0].fn;
    for (size_t i = 0; i < LENS_ARRAY_LEN(g_variants); i++)
        if (g_variants[i].supported(cpu)) g_best = g_variants[i].fn;
}

lens_f32_strided_copy_fn lens_f32_strided_copy_best(void) {
    pthread_once(&g_once, choose);
    return g_best;
}
