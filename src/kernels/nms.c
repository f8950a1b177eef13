/* The NMS family's table and its one-time choice. */
#include <pthread.h>

#include "kernels/nms.h"

static const lens_nms_variant g_variants[] = {
    {"nms_any__ref", lens_nms_any__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"nms_any__avx2", lens_nms_any__avx2, lens_cpu_avx2_fma},
    {"nms_any__avx512", lens_nms_any__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_nms, lens_nms_variant, g_variants)

lens_nms_any_fn lens_nms_any_best(void) { return lens_nms_pick()->fn; }
