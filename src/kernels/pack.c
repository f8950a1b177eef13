/* The pack family's tables and their one-time choices. */
#include "kernels/pack.h"

#include <pthread.h>

static const lens_f32_pack_t8_variant g_variants[] = {
    {"f32_pack_t8__ref", lens_f32_pack_t8__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_pack_t8__avx2", lens_f32_pack_t8__avx2, lens_cpu_avx2_fma},
#endif
};

LENS_VARIANT_TABLE(lens_f32_pack_t8, lens_f32_pack_t8_variant, g_variants)

lens_f32_pack_t8_fn lens_f32_pack_t8_best(void) { return lens_f32_pack_t8_pick()->fn; }

static const lens_f32_transpose_variant g_tvariants[] = {
    {"f32_transpose__ref", lens_f32_transpose__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_transpose__avx2", lens_f32_transpose__avx2, lens_cpu_avx2_fma},
#endif
};

LENS_VARIANT_TABLE(lens_f32_transpose, lens_f32_transpose_variant, g_tvariants)

lens_f32_transpose_fn lens_f32_transpose_best(void) { return lens_f32_transpose_pick()->fn; }
