/* Kernels of the detection family (NonMaxSuppression, TopK), exposed so that
 * tests/unit/test_detection.c can check them against brute-force references
 * without going through a model. The operator entries live in detection.c
 * and detection_topk.c. */
#ifndef LENS_OPS_DETECTION_H
#define LENS_OPS_DETECTION_H

#include "ops/op.h"

/* A candidate box for NMS: its score and its index in the input. */
typedef struct lens_nms_cand {
    float score;
    int64_t index;
} lens_nms_cand;

/* Non-maximum suppression of one (batch, class) pair, ONNX NonMaxSuppression
 * (opset 10/11) semantics:
 *   - candidates are the boxes whose score is > score_threshold (all boxes
 *     when has_score_threshold is false); NaN scores are never selected;
 *   - they are visited by descending score, the lower index first among equal
 *     scores;
 *   - a box is kept unless its IoU with an already kept box is
 *     > iou_threshold (boxes with zero area never suppress or get suppressed);
 *   - at most max_out boxes are kept (max_out <= 0: none).
 * boxes: n x 4 (corners y1,x1,y2,x2 in any order, or with center_point_box
 * x_center,y_center,width,height); scores: n values. Work buffers, borrowed:
 * cand (n entries), corners (4 * n floats: normalised y1,x1,y2,x2 per box,
 * filled here; pass precomputed=true to reuse ones filled by a previous call
 * on the same boxes). Writes the kept box indices, in selection order, into
 * selected (room for min(n, max_out) entries) and returns their count. */
int64_t lens_nms_select(const float *boxes, const float *scores, int64_t n, int32_t center_point_box,
                        int64_t max_out, float iou_threshold, bool has_score_threshold,
                        float score_threshold, lens_nms_cand *cand, float *corners, bool precomputed,
                        int64_t *selected);

/* The k best of n float values x[0], x[stride], ..., x[(n-1)*stride]
 * (largest or smallest), best first; among equal values the lower index comes
 * first; NaN counts as larger than every number. Writes k values (at
 * out_v[j*ostride]) and indices (out_i[j*ostride]). work: k int64 entries,
 * borrowed. 0 <= k <= n. */
void lens_topk_f32(const float *x, int64_t n, int64_t stride, int64_t k, bool largest, float *out_v,
                   int64_t *out_i, int64_t ostride, int64_t *work);

/* TopK operator entries (detection_topk.c). */
lens_status lens_op_topk_run(const lens_node *node, lens_exec *ex);

#endif
