/* The norm family's table and its one-time choice. */
#include "kernels/norm.h"

#include <pthread.h>

static const lens_f32_layernorm_row_variant g_variants[] = {
    {"f32_layernorm_row__ref", lens_f32_layernorm_row__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_layernorm_row__avx512", lens_f32_layernorm_row__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_layernorm_row, lens_f32_layernorm_row_variant, g_variants)

lens_f32_layernorm_row_fn lens_f32_layernorm_row_best(void) { return lens_f32_layernorm_row_pick()->fn; }
