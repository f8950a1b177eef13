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

LENS_VARIANT_TABLE(lens_seg_kernels, lens_seg_kernels, g_variants)

const lens_seg_kernels *lens_seg_kernels_best(void) { return lens_seg_kernels_pick(); }
