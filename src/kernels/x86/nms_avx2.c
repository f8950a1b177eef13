/* The NMS family built for AVX2 (this file is compiled with -mavx2 -mfma -O3). */
#include "kernels/nms.h"
#define NMS_NAME lens_nms_any__avx2
#include "kernels/nms_body.h"
