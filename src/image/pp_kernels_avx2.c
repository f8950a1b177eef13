/* The pp kernel family built for AVX2 (this file gets -mavx2 -O3 from
 * CMakeLists.txt): the same loops as the reference, vectorised by the
 * compiler. */
#include "image/pp_kernels.h"

#if defined(__x86_64__)
#define PP_SUFFIX(name) lens_pp_##name##__avx2
#define PP_LINKAGE
#include "image/pp_kernels_body.h"
#endif
