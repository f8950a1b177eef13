/* The pp family's table: the portable reference (built here, at the
 * library's default flags) and the AVX2 build, chosen once from the CPU. */
#include <pthread.h>

#include "image/pp_kernels.h"

#define PP_SUFFIX(name) name##__ref
#define PP_LINKAGE static
#include "image/pp_kernels_body.h"

static bool any_cpu(const lens_cpu *c) { (void)c; return true; }
#if defined(__x86_64__)
static bool has_avx2(const lens_cpu *c) { return c->avx2; }
#endif

static const lens_pp_kernels g_variants[] = {
    {"pp__ref", any_cpu, vblend__ref, hlinear3__ref, hlinear1__ref, f32_planar3__ref, f32_planar1__ref,
     f32_interleaved3__ref, u8_planar3__ref},
#if defined(__x86_64__)
    {"pp__avx2", has_avx2, lens_pp_vblend__avx2, lens_pp_hlinear3__avx2, lens_pp_hlinear1__avx2,
     lens_pp_f32_planar3__avx2, lens_pp_f32_planar1__avx2, lens_pp_f32_interleaved3__avx2,
     lens_pp_u8_planar3__avx2},
#endif
};

LENS_VARIANT_TABLE(lens_pp_kernels, lens_pp_kernels, g_variants)

const lens_pp_kernels *lens_pp_kernels_best(void) { return lens_pp_kernels_pick(); }
