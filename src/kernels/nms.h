/* The NMS family: whether any of a run of kept boxes suppresses a candidate.
 * One portable reference and SIMD builds of the same source (nms_body.h),
 * chosen once by CPU features like every kernel family. */
#ifndef LENS_KERNELS_NMS_H
#define LENS_KERNELS_NMS_H

#include <stdint.h>

#include "core/common.h"

/* kept: n boxes packed as y1, x1, y2, x2 (normalised corners). Returns
 * non-zero if any of them suppresses the candidate box b (same layout; its
 * area area_b > 0): ONNX Runtime's SuppressByIOU, i.e. the intersection is
 * non-empty, both areas and the union are positive, and IoU > threshold.
 * Every variant computes the same float expressions, so all agree exactly. */
typedef int (*lens_nms_any_fn)(const float *kept, int64_t n, const float *b, float area_b,
                               float iou_threshold);

int lens_nms_any__ref(const float *kept, int64_t n, const float *b, float area_b, float iou_threshold);
int lens_nms_any__avx2(const float *kept, int64_t n, const float *b, float area_b, float iou_threshold);
int lens_nms_any__avx512(const float *kept, int64_t n, const float *b, float area_b, float iou_threshold);

typedef struct lens_nms_variant {
    const char *name;
    lens_nms_any_fn fn;
    bool (*supported)(const lens_cpu *cpu);
} lens_nms_variant;

/* All variants, best last; *count set to their number. */
const lens_nms_variant *lens_nms_variants(size_t *count);
/* The best variant this CPU (capped by LENS_ISA) supports. Chosen once. */
lens_nms_any_fn lens_nms_any_best(void);

#endif
