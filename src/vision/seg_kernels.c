/* The seg family's table: the portable reference (built here, at the
 * library's default flags) and the AVX2 build, chosen once from the CPU
 * through the shared feature predicates. */
#include <pthread.h>

#include "vision/seg_kernels.h"

#define SEG_SUFFIX(name) name##__ref
#define SEG_LINKAGE static
#include "vision/seg_kernels_body.h"

static const lens_seg_kernels g_variants[] = {
    {"seg__ref", lens_cpu_any, argmax_step__ref},
#if defined(__x86_64__)
    {"seg__avx2", lens_cpu_avx2_fma, lens_seg_argmax_step__avx2},
#endif
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const lens_seg_kernels *g_best;

static void choose(void) {
    const lens_cpu *cpu = lens_cpu_features();
    g_best = &g_variants[0];
    for (size_t i = 0; i < LENS_ARRAY_LEN(g_variants); i++)
        if (g_variants[i].supported(cpu)) g_best = &g_variants[i];
}

const lens_seg_kernels *lens_seg_kernels_variants(size_t *count) {
    *count = LENS_ARRAY_LEN(g_variants);
    return g_variants;
}

const lens_seg_kernels *lens_seg_kernels_best(void) {
    pthread_once(&g_once, choose);
    return g_best;
}
