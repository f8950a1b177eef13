/* The act family's table and its one-time choice. */
#include <pthread.h>

#include "kernels/act.h"

static const lens_f32_act_variant g_variants[] = {
    {"f32_act__ref", lens_f32_act__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_act__avx2", lens_f32_act__avx2, lens_cpu_avx2_fma},
    {"f32_act__avx512", lens_f32_act__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_act, lens_f32_act_variant, g_variants)

lens_f32_act_fn lens_f32_act_best(void) { return lens_f32_act_pick()->fn; }
