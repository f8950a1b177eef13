/* Detection operators: NonMaxSuppression (opset 10/11), RoiAlign (opset
 * 10/16) and the family table (TopK lives in detection_topk.c).
 *
 * Both are written for the torchvision detectors, which feed thousands of
 * boxes: NMS sorts the candidates once and compares each only against the
 * boxes already kept (O(n * kept)); RoiAlign splits the bilinear sampling
 * weights into a y table and an x table per RoI, so the per-channel loop
 * does nothing but multiply-adds. */
#include "kernels/nms.h"
#include "ops/detection.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- NonMaxSuppression ---------------------------------------------------- */

/* Descending score, then ascending index: the visiting order of the ONNX
 * reference (and of ONNX Runtime's priority queue), which torchvision's
 * exported batched NMS relies on to return boxes by decreasing score.
 * (NaN scores were filtered out, so the order is total.) */
static int cand_cmp(const void *pa, const void *pb) {
    const lens_nms_cand *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static void nms_corners(const float *boxes, int64_t n, int32_t center_point_box, float *corners) {
    for (int64_t i = 0; i < n; i++) {
        const float *b = boxes + 4 * i;
        float *c = corners + 4 * i;
        if (center_point_box) {
            /* [x_center, y_center, width, height] (PyTorch style) */
            float hw = b[2] * 0.5f, hh = b[3] * 0.5f;
            c[0] = b[1] - hh;
            c[1] = b[0] - hw;
            c[2] = b[1] + hh;
            c[3] = b[0] + hw;
        } else {
            /* [y1, x1, y2, x2], any diagonal pair of corners (TF style) */
            c[0] = LENS_MIN(b[0], b[2]);
            c[1] = LENS_MIN(b[1], b[3]);
            c[2] = LENS_MAX(b[0], b[2]);
            c[3] = LENS_MAX(b[1], b[3]);
        }
    }
}

int64_t lens_nms_select(const float *boxes, const float *scores, int64_t n, int32_t center_point_box,
                        int64_t max_out, float iou_threshold, bool has_score_threshold,
                        float score_threshold, lens_nms_cand *cand, float *corners, bool precomputed,
                        int64_t *selected) {
    if (max_out <= 0 || n <= 0) return 0;
    if (!precomputed) nms_corners(boxes, n, center_point_box, corners);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        /* ONNX: boxes with score <= score_threshold are removed. A NaN
         * score ranks nowhere, so such a box is never selected. */
        if (isnan(scores[i]) || (has_score_threshold && !(scores[i] > score_threshold))) continue;
        cand[m].score = scores[i];
        cand[m].index = i;
        m++;
    }
    qsort(cand, (size_t)m, sizeof(*cand), cand_cmp);
    /* The corners of the kept boxes are packed, 4 floats each, into the part
     * of cand already visited (kept <= i, and a candidate is 16 bytes), so
     * the IoU test against all of them is one vectorised kernel call
     * (kernels/nms.h: ONNX Runtime's SuppressByIOU; empty intersections and
     * zero-area boxes never suppress). */
    _Static_assert(sizeof(lens_nms_cand) >= 4 * sizeof(float), "kept corners must fit a candidate");
    lens_nms_any_fn any_suppresses = lens_nms_any_best();
    float *kc = (float *)(void *)cand;
    int64_t kept = 0;
    for (int64_t i = 0; i < m && kept < max_out; i++) {
        int64_t index = cand[i].index;
        const float *c = corners + 4 * index;
        float b[4] = {c[0], c[1], c[2], c[3]};
        float area_b = (b[2] - b[0]) * (b[3] - b[1]);
        /* a zero-area (or NaN) box is never suppressed */
        bool keep = !(area_b > 0.0f) || !any_suppresses(kc, kept, b, area_b, iou_threshold);
        if (keep) {
            selected[kept] = index;
            memcpy(kc + 4 * kept, b, sizeof b);
            kept++;
        }
    }
    return kept;
}

typedef struct nms_job {
    const float *boxes, *scores, *corners;
    int64_t n_batch, n_class, n_boxes, cap;
    int32_t center_point_box;
    float iou_threshold, score_threshold;
    bool has_score_threshold;
    lens_nms_cand *cand; /* n_boxes per thread */
    int64_t *selected;   /* cap per (batch, class) */
    int64_t *counts;     /* per (batch, class) */
} nms_job;

static void nms_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    nms_job *j = ctx;
    for (int64_t p = begin; p < end; p++) {
        int64_t b = p / j->n_class, c = p % j->n_class;
        j->counts[p] = lens_nms_select(
            j->boxes + b * j->n_boxes * 4, j->scores + p * j->n_boxes, j->n_boxes,
            j->center_point_box, j->cap, j->iou_threshold, j->has_score_threshold,
            j->score_threshold, j->cand + (int64_t)thread * j->n_boxes,
            (float *)(j->corners + b * j->n_boxes * 4), true, j->selected + p * j->cap);
        (void)c;
    }
}

static void nms_corner_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    nms_job *j = ctx;
    for (int64_t b = begin; b < end; b++)
        nms_corners(j->boxes + b * j->n_boxes * 4, j->n_boxes, j->center_point_box,
                    (float *)(j->corners + b * j->n_boxes * 4));
}

/* Scalar inputs of NMS may be given as 0-d or 1-element 1-d tensors; an
 * empty tensor counts as omitted. */
static bool nms_scalar(const lens_tensor *t) { return t && lens_tensor_numel(t) > 0; }

/* NonMaxSuppression-10/11 (11 only widened the documentation). */
static lens_status nms_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *boxes = lens_exec_input(ex, 0), *scores = lens_exec_input(ex, 1);
    const lens_tensor *tmax = lens_exec_input(ex, 2), *tiou = lens_exec_input(ex, 3);
    const lens_tensor *tscore = lens_exec_input(ex, 4);
    if (!boxes || !scores)
        return lens_error(LENS_STATUS_INVALID_MODEL, "boxes and scores are required");
    if (boxes->dtype != LENS_DTYPE_FLOAT || scores->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "boxes and scores must be float (got %s, %s)",
                          lens_dtype_name(boxes->dtype), lens_dtype_name(scores->dtype));
    if (boxes->ndim != 3 || boxes->dims[2] != 4)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "boxes must be [batch, boxes, 4]");
    if (scores->ndim != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "scores must be [batch, classes, boxes] matching boxes");
    int64_t center = lens_node_attr_int(node, "center_point_box", 0);
    if (center != 0 && center != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "center_point_box must be 0 or 1, got %lld",
                          (long long)center);
    int64_t max_out = nms_scalar(tmax) ? lens_tensor_get_i64(tmax, 0) : 0;
    double iou = nms_scalar(tiou) ? lens_tensor_get_f64(tiou, 0) : 0.0;
    if (!(iou >= 0.0 && iou <= 1.0))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "iou_threshold %g outside [0, 1]", iou);
    bool has_st = nms_scalar(tscore);
    double st = has_st ? lens_tensor_get_f64(tscore, 0) : 0.0;

    int64_t nb = boxes->dims[0], nc = scores->dims[1], n = boxes->dims[1];
    int64_t cap = LENS_MIN(max_out, n), pairs;
    if (cap <= 0 || nb == 0 || nc == 0) {
        int64_t dims[2] = {0, 3};
        lens_tensor *out;
        return lens_exec_output(ex, 0, LENS_DTYPE_INT64, 2, dims, &out);
    }
    lens_threadpool *pool = lens_exec_pool(ex);
    int64_t nthreads = lens_threadpool_size(pool);
    size_t corner_bytes, cand_bytes, sel_bytes, count_bytes, total;
    if (lens_mul_ovf_i64(nb, nc, &pairs) ||
        lens_mul_ovf_size((size_t)nb * (size_t)n, 4 * sizeof(float), &corner_bytes) ||
        lens_mul_ovf_size((size_t)n * (size_t)nthreads, sizeof(lens_nms_cand), &cand_bytes) ||
        lens_mul_ovf_size((size_t)pairs, (size_t)cap * sizeof(int64_t), &sel_bytes) ||
        lens_mul_ovf_size((size_t)pairs, sizeof(int64_t), &count_bytes) ||
        lens_add_ovf_size(corner_bytes + 64, cand_bytes + 64, &total) ||
        lens_add_ovf_size(total, sel_bytes + 64, &total) ||
        lens_add_ovf_size(total, count_bytes + 64, &total))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "NMS work memory overflows");
    uint8_t *mem = lens_exec_scratch(ex, total);
    if (!mem) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "NMS work memory (%zu bytes)", total);
    size_t off = 0;
#define NMS_CARVE(ptr, bytes)                                                                      \
    do {                                                                                           \
        ptr = (void *)(mem + off);                                                                 \
        off += ((bytes) + 63) & ~(size_t)63;                                                       \
    } while (0)
    nms_job j = {.boxes = boxes->data, .scores = scores->data, .n_batch = nb, .n_class = nc,
                 .n_boxes = n, .cap = cap, .center_point_box = (int32_t)center,
                 .iou_threshold = (float)iou, .score_threshold = (float)st,
                 .has_score_threshold = has_st};
    float *corners;
    NMS_CARVE(corners, corner_bytes);
    NMS_CARVE(j.cand, cand_bytes);
    NMS_CARVE(j.selected, sel_bytes);
    NMS_CARVE(j.counts, count_bytes);
#undef NMS_CARVE
    j.corners = corners;
    lens_parallel_for(pool, nb, 1, nms_corner_task, &j);
    lens_parallel_for(pool, pairs, 1, nms_task, &j);

    int64_t n_sel = 0;
    for (int64_t p = 0; p < pairs; p++) n_sel += j.counts[p];
    int64_t dims[2] = {n_sel, 3};
    lens_tensor *out;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_INT64, 2, dims, &out));
    int64_t *o = out->data;
    for (int64_t p = 0; p < pairs; p++) {
        for (int64_t k = 0; k < j.counts[p]; k++) {
            *o++ = p / nc;
            *o++ = p % nc;
            *o++ = j.selected[p * cap + k];
        }
    }
    return LENS_OK;
}

/* ---- RoiAlign ------------------------------------------------------------------ */

/* One sampling coordinate along an axis: the two neighbouring pixels and
 * their weights (both weights 0 for a sample outside the feature map). */
typedef struct roi_tap {
    int64_t lo, hi;
    float wlo, whi;
} roi_tap;

typedef struct roi_job {
    const float *x, *rois;
    const int64_t *batch; /* validated batch index per RoI */
    float *y;
    int64_t channels, height, width, oh, ow;
    int64_t *grid; /* per RoI: grid_h, grid_w */
    float *start;  /* per RoI: start_h, start_w, bin_h, bin_w */
    int64_t max_taps_h, max_taps_w;
    roi_tap *taps; /* per thread: max_taps_h + max_taps_w */
    bool max_mode;
} roi_job;

/* The bilinear sampling of ONNX RoiAlign (= Caffe2's / torchvision's
 * bilinear_interpolate): samples more than one pixel outside the map are
 * zero, the rest are clamped to the border. */
static roi_tap roi_make_tap(float v, int64_t size) {
    roi_tap t = {0, 0, 0.0f, 0.0f};
    if (v < -1.0f || v > (float)size) return t;
    if (v <= 0.0f) v = 0.0f;
    int64_t lo = (int64_t)v, hi;
    if (lo >= size - 1) {
        hi = lo = size - 1;
        v = (float)lo;
    } else {
        hi = lo + 1;
    }
    float l = v - (float)lo;
    t.lo = lo;
    t.hi = hi;
    t.wlo = 1.0f - l;
    t.whi = l;
    return t;
}

static void roi_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    roi_job *j = ctx;
    roi_tap *ty = j->taps + (int64_t)thread * (j->max_taps_h + j->max_taps_w);
    int64_t last_roi = -1;
    for (int64_t item = begin; item < end; item++) {
        int64_t r = item / j->channels, c = item % j->channels;
        int64_t gh = j->grid[2 * r], gw = j->grid[2 * r + 1];
        roi_tap *tx = ty + j->oh * gh;
        if (r != last_roi) {
            const float *s = j->start + 4 * r;
            for (int64_t ph = 0; ph < j->oh; ph++)
                for (int64_t iy = 0; iy < gh; iy++)
                    ty[ph * gh + iy] = roi_make_tap(
                        s[0] + (float)ph * s[2] + ((float)iy + 0.5f) * s[2] / (float)gh, j->height);
            for (int64_t pw = 0; pw < j->ow; pw++)
                for (int64_t ix = 0; ix < gw; ix++)
                    tx[pw * gw + ix] = roi_make_tap(
                        s[1] + (float)pw * s[3] + ((float)ix + 0.5f) * s[3] / (float)gw, j->width);
            last_roi = r;
        }
        const float *img = j->x + (j->batch[r] * j->channels + c) * j->height * j->width;
        float *out = j->y + item * j->oh * j->ow;
        float count = (float)LENS_MAX(gh * gw, 1);
        for (int64_t ph = 0; ph < j->oh; ph++) {
            for (int64_t pw = 0; pw < j->ow; pw++) {
                float acc = 0.0f;
                bool first = true;
                for (int64_t iy = 0; iy < gh; iy++) {
                    const roi_tap *a = &ty[ph * gh + iy];
                    const float *row_lo = img + a->lo * j->width, *row_hi = img + a->hi * j->width;
                    for (int64_t ix = 0; ix < gw; ix++) {
                        const roi_tap *b = &tx[pw * gw + ix];
                        float w1 = a->wlo * b->wlo, w2 = a->wlo * b->whi;
                        float w3 = a->whi * b->wlo, w4 = a->whi * b->whi;
                        /* A sample outside the map has zero weights in its
                         * y or x table, so all four products vanish. */
                        float v1 = w1 * row_lo[b->lo], v2 = w2 * row_lo[b->hi];
                        float v3 = w3 * row_hi[b->lo], v4 = w4 * row_hi[b->hi];
                        if (j->max_mode) {
                            /* ONNX Runtime's (and the ONNX reference's) max
                             * mode: the maximum of the weighted corner values,
                             * not of the interpolated samples. */
                            float v = LENS_MAX(LENS_MAX(LENS_MAX(v1, v2), v3), v4);
                            acc = first ? v : LENS_MAX(acc, v);
                            first = false;
                        } else {
                            acc += v1 + v2 + v3 + v4;
                        }
                    }
                }
                out[ph * j->ow + pw] = j->max_mode ? acc : acc / count;
            }
        }
    }
}

/* Adaptive sampling grids and RoI sizes are bounded so that a garbage RoI
 * (1e30 wide) fails instead of running for hours. */
#define ROI_MAX_GRID ((int64_t)1 << 16)

/* RoiAlign-10 (output_half_pixel behaviour) and RoiAlign-16
 * (coordinate_transformation_mode, default half_pixel). */
static lens_status roialign_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *rois = lens_exec_input(ex, 1);
    const lens_tensor *bi = lens_exec_input(ex, 2);
    if (!x || !rois || !bi) return lens_error(LENS_STATUS_INVALID_MODEL, "RoiAlign needs 3 inputs");
    if (x->dtype != LENS_DTYPE_FLOAT || rois->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "RoiAlign supports float X and rois (got %s, %s)",
                          lens_dtype_name(x->dtype), lens_dtype_name(rois->dtype));
    if (bi->dtype != LENS_DTYPE_INT64 && bi->dtype != LENS_DTYPE_INT32)
        return lens_error(LENS_STATUS_INVALID_MODEL, "batch_indices must be int64");
    if (x->ndim != 4) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "X must be 4-D [N, C, H, W]");
    if (rois->ndim != 2 || rois->dims[1] != 4)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "rois must be [num_rois, 4]");
    if (bi->ndim != 1 || bi->dims[0] != rois->dims[0])
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "batch_indices must be [num_rois]");

    const char *mode = lens_node_attr_string(node, "mode", "avg");
    bool max_mode = !strcmp(mode, "max");
    if (!max_mode && strcmp(mode, "avg"))
        return lens_error(LENS_STATUS_INVALID_MODEL, "unknown RoiAlign mode '%s'", mode);
    int64_t oh = lens_node_attr_int(node, "output_height", 1);
    int64_t ow = lens_node_attr_int(node, "output_width", 1);
    int64_t sampling = lens_node_attr_int(node, "sampling_ratio", 0);
    float scale = lens_node_attr_float(node, "spatial_scale", 1.0f);
    if (oh <= 0 || ow <= 0 || oh > ROI_MAX_GRID || ow > ROI_MAX_GRID || sampling < 0 ||
        sampling > ROI_MAX_GRID)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "bad output_height/output_width/sampling_ratio (%lld, %lld, %lld)",
                          (long long)oh, (long long)ow, (long long)sampling);
    bool half_pixel = false;
    if (node->opset >= 16) {
        const char *ctm = lens_node_attr_string(node, "coordinate_transformation_mode", "half_pixel");
        if (!strcmp(ctm, "half_pixel")) half_pixel = true;
        else if (strcmp(ctm, "output_half_pixel"))
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "unknown coordinate_transformation_mode '%s'", ctm);
    }

    int64_t nr = rois->dims[0], nbatch = x->dims[0], ch = x->dims[1];
    int64_t dims[4] = {nr, ch, oh, ow};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, 4, dims, &y));
    if (lens_tensor_numel(y) == 0) return LENS_OK;
    if (x->dims[2] == 0 || x->dims[3] == 0)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "X has an empty spatial size");

    size_t need = (size_t)nr * (3 * sizeof(int64_t) + 4 * sizeof(float)) + 64;
    uint8_t *mem = lens_exec_scratch(ex, need);
    if (!mem) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "RoiAlign work memory");
    roi_job j = {.x = x->data, .rois = rois->data, .y = y->data, .channels = ch,
                 .height = x->dims[2], .width = x->dims[3], .oh = oh, .ow = ow,
                 .max_mode = max_mode};
    int64_t *batch = (int64_t *)mem;
    j.batch = batch;
    j.grid = batch + nr;
    j.start = (float *)(j.grid + 2 * nr);
    float offset = half_pixel ? 0.5f : 0.0f;
    for (int64_t r = 0; r < nr; r++) {
        int64_t b = lens_tensor_get_i64(bi, r);
        if (b < 0 || b >= nbatch)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "batch_indices[%lld] = %lld outside [0, %lld)", (long long)r,
                              (long long)b, (long long)nbatch);
        batch[r] = b;
        const float *q = j.rois + 4 * r;
        if (!isfinite(q[0]) || !isfinite(q[1]) || !isfinite(q[2]) || !isfinite(q[3]))
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "RoI %lld is not finite", (long long)r);
        float sw = q[0] * scale - offset, sh = q[1] * scale - offset;
        float rw = q[2] * scale - offset - sw, rh = q[3] * scale - offset - sh;
        if (!half_pixel) {
            /* Without the half-pixel shift (torchvision aligned=False), a
             * RoI is at least one pixel wide. */
            rw = LENS_MAX(rw, 1.0f);
            rh = LENS_MAX(rh, 1.0f);
        }
        float bh = rh / (float)oh, bw = rw / (float)ow;
        int64_t gh = sampling, gw = sampling;
        if (sampling == 0) {
            float fh = ceilf(rh / (float)oh), fw = ceilf(rw / (float)ow);
            if (!(fh <= (float)ROI_MAX_GRID && fw <= (float)ROI_MAX_GRID))
                return lens_error(LENS_STATUS_LIMIT_EXCEEDED,
                                  "RoI %lld needs a %g x %g sampling grid per bin", (long long)r,
                                  fh, fw);
            /* A negative extent gives an empty grid (count 1, output 0). */
            gh = fh > 0 ? (int64_t)fh : 0;
            gw = fw > 0 ? (int64_t)fw : 0;
        }
        j.grid[2 * r] = gh;
        j.grid[2 * r + 1] = gw;
        j.start[4 * r] = sh;
        j.start[4 * r + 1] = sw;
        j.start[4 * r + 2] = bh;
        j.start[4 * r + 3] = bw;
        j.max_taps_h = LENS_MAX(j.max_taps_h, oh * gh);
        j.max_taps_w = LENS_MAX(j.max_taps_w, ow * gw);
    }
    lens_threadpool *pool = lens_exec_pool(ex);
    size_t taps_bytes;
    if (lens_mul_ovf_size((size_t)(j.max_taps_h + j.max_taps_w) * sizeof(roi_tap),
                          (size_t)lens_threadpool_size(pool), &taps_bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "RoiAlign sampling tables overflow");
    /* Separate allocation: the scratch above holds the per-RoI tables. */
    j.taps = lens_malloc(taps_bytes ? taps_bytes : 1);
    if (!j.taps) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "RoiAlign sampling tables");
    int64_t per_item = oh * ow * LENS_MAX(j.max_taps_h / oh, 1) * LENS_MAX(j.max_taps_w / ow, 1);
    int64_t grain = LENS_MAX((int64_t)1, 16384 / LENS_MAX(per_item, 1));
    lens_parallel_for(pool, nr * ch, grain, roi_task, &j);
    lens_free(j.taps);
    return LENS_OK;
}

static const lens_op ops[] = {
    {"", "NonMaxSuppression", 10, 0, LENS_OPF_DATA_DEPENDENT, NULL, nms_run, NULL},
    {"", "NonMaxSuppression", 11, 0, LENS_OPF_DATA_DEPENDENT, NULL, nms_run, NULL},
    {"", "RoiAlign", 10, 0, 0, NULL, roialign_run, NULL},
    {"", "RoiAlign", 16, 0, 0, NULL, roialign_run, NULL},
    {"", "TopK", 1, 0, 0, NULL, lens_op_topk_run, NULL},
    {"", "TopK", 10, 1u << 1, 0, NULL, lens_op_topk_run, NULL},
    {"", "TopK", 11, 1u << 1, 0, NULL, lens_op_topk_run, NULL},
};
LENS_OP_TABLE(detection, ops);
