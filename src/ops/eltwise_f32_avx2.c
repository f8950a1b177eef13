/* AVX2 + FMA build of the float32 elementwise kernels (see
 * eltwise_f32_impl.h); this file is compiled with -mavx2 -mfma -O3. */
#if defined(__x86_64__) || defined(__i386__)
#define LENS_ELTW_SUFFIX avx2
#include "ops/eltwise_f32_impl.h"
#endif
