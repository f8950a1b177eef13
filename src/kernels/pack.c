/* The pack family's tables and their one-time choices. */
#include "kernels/pack.h"

#include <pthread.h>

static const lens_f32_pack_t8_variant g_variants[] = {
    {"f32_pack_t8__ref", lens_f32_pack_t8__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_pack_t8__avx2", lens_f32_pack_t8__avx2, lens_cpu_avx2_fma},
#endif
};

const lens_f32_pack_t8_variant *lens_f32_pack_t8_variants(size_t *count) {
    *count = LENS_ARRAY_LEN(g_variants);
    return g_variants;
}

static lens_f32_pack_t8_fn g_best;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const lens_cpu *cpu = lens_cpu_features();
    g_best = g_variants[0].fn;
    for (size_t i = 0; i < LENS_ARRAY_LEN(g_variants); i++)
        if (g_variants[i].supported(cpu)) g_best = g_variants[i].fn;
}

lens_f32_pack_t8_fn lens_f32_pack_t8_best(void) {
    pthread_once(&g_once, choose);
    return g_best;
}

static const lens_f32_transpose_variant g_tvariants[] = {
    {"f32_transpose__ref", lens_f32_transpose__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_transpose__avx2", lens_f32_transpose__avx2, lens_cpu_avx2_fma},
#endif
};

const lens_f32_transpose_variant *lens_f32_transpose_variants(size_t *count) {
    *count = LENS_ARRAY_LEN(g_tvariants);
    return g_tvariants;
}

static lens_f32_transpose_fn g_tbest;
static pthread_once_t g_tonce = PTHREAD_ONCE_INIT;

static void tchoose(void) {
    const lens_cpu *cpu = lens_cpu_features();
    g_tbest = g_tvariants[0].fn;
    for (size_t i = 0; i < LENS_ARRAY_LEN(g_tvariants); i++)
        if (g_tvariants[i].supported(cpu)) g_tbest = g_tvariants[i].fn;
}

lens_f32_transpose_fn lens_f32_transpose_best(void) {
    pthread_once(&g_tonce, tchoose);
    return g_tbest;
}
