/* The NMS family built for AVX-512 (this file is compiled with -mavx512f... -O3). */
#include "kernels/nms.h"
#define NMS_NAME lens_nms_any__avx512
#include "kernels/nms_body.h"
