/* The strided-copy family's table and its one-time choice. */
#include <pthread.h>

#include "kernels/stride.h"

static const lens_f32_strided_copy_variant g_variants[] = {
    {"f32_strided_copy__ref", lens_f32_strided_copy__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_strided_copy__avx512", lens_f32_strided_copy__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_strided_copy, lens_f32_strided_copy_variant, g_variants)

lens_f32_strided_copy_fn lens_f32_strided_copy_best(void) { return lens_f32_strided_copy_pick()->fn; }
