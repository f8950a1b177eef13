/* Resize family: variant table. */
#include "kernels/resize.h"

#include <pthread.h>

static const lens_f32_resize_variant g_variants[] = {
    {"f32_resize__ref", lens_f32_resize_hlinear__ref, lens_f32_resize_vlinear__ref,
     lens_f32_resize_gather__ref, lens_cpu_any},
#if defined(__x86_64__)
    {"f32_resize__avx2", lens_f32_resize_hlinear__avx2, lens_f32_resize_vlinear__avx2,
     lens_f32_resize_gather__avx2, lens_cpu_avx2_fma},
    {"f32_resize__avx512", lens_f32_resize_hlinear__avx512, lens_f32_resize_vlinear__avx512,
     lens_f32_resize_gather__avx512, lens_cpu_avx512},
#endif
};

LENS_VARIANT_TABLE(lens_f32_resize, lens_f32_resize_variant, g_variants)

const lens_f32_resize_variant *lens_f32_resize_best(void) { return lens_f32_resize_pick(); }
