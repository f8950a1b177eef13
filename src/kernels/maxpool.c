/* MaxPool family: variant table. */
#include "kernels/maxpool.h"

#include <pthread.h>

static const lens_f32_maxpool_variant g_variants[] = {
    {"f32_maxpool__ref", lens_f32_maxpool__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_maxpool__avx512", lens_f32_maxpool__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_maxpool, lens_f32_maxpool_variant, g_variants)

const lens_f32_maxpool_variant *lens_f32_maxpool_best(void) { return lens_f32_maxpool_pick(); }
