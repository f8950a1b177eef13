/* AVX-512 build of the float32 elementwise kernels (see
 * eltwise_f32_impl.h); this file is compiled with -mavx512f... -O3.
 * GCC prefers 256-bit vectors under -mavx512*; ask for full width, which
 * these long streaming loops benefit from. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#define LENS_ELTW_SUFFIX avx512
#include "ops/eltwise_f32_impl.h"
#endif
