/* Portable reference of the NMS family (the truth the SIMD builds are tested against). */
#include "kernels/nms.h"
#define NMS_NAME lens_nms_any__ref
#include "kernels/nms_body.h"
