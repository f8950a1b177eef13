/* The seg kernel family built for AVX2 (this file gets -mavx2 -O3 from
 * CMakeLists.txt): the same loop as the reference, vectorised by the
 * compiler. */
#include "vision/seg_kernels.h"

#if defined(__x86_64__)
#define SEG_SUFFIX(name) lens_seg_##name##__avx2
#define SEG_LINKAGE
#include "vision/seg_kernels_body.h"
#endif
