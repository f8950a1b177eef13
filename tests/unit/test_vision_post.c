/* Unit tests of the vision post-processing (src/vision/): every detection
 * decoder, NMS, box mapping through stretch/letterbox/crop, segmentation
 * argmax and mask mapping, classification softmax detection and top-k.
 * Expected values are worked out by hand in the comments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/seg_kernels.h"
#include "vision/vision_internal.h"

static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            g_failures++;                                                                          \
        }                                                                                          \
    } while (0)

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

/* A config as vision_config_resolve would give for a plain model. */
static lens_vision_config base_cfg(lens_task task, int32_t w, int32_t h) {
    lens_vision_config c;
    memset(&c, 0, sizeof c);
    c.task = task;
    c.preprocess.width = w;
    c.preprocess.height = h;
    c.conf = 0.25f;
    c.iou = 0.45f;
    c.max_det = 100;
    c.top_k = 5;
    return c;
}

static lens_tensor tensor3(lens_dtype dt, int64_t a, int64_t b, int64_t c, void *data) {
    lens_tensor t = {dt, 3, {a, b, c}, data};
    return t;
}

static lens_transform identity_tf(int32_t w, int32_t h) {
    lens_transform tf = {1, 1, 0, 0, w, h};
    return tf;
}

/* ---- NMS ---------------------------------------------------------------------- */

static void test_nms(void) {
    vision_candidate c[5] = {
        {1, 1, 11, 11, 0.8f, 0, 1},     /* IoU with A = 81/119 = 0.68: suppressed */
        {0, 0, 10, 10, 0.9f, 0, 0},     /* A */
        {1, 1, 11, 11, 0.7f, 1, 2},     /* other class: kept unless agnostic */
        {50, 50, 60, 60, 0.6f, 0, 3},   /* far away: kept */
        {5, 0, 15, 10, 0.5f, 0, 4},     /* IoU with A = 50/150 = 0.33: kept at 0.45 */
    };
    vision_candidate w[5];
    memcpy(w, c, sizeof c);
    size_t k = vision_nms(w, 5, 0.45f, false, 100);
    CHECK(k == 4, "class-aware NMS keeps 4, got %zu", k);
    CHECK(k == 4 && w[0].order == 0 && w[1].order == 2 && w[2].order == 3 && w[3].order == 4,
          "kept A, C, D, E in score order");
    memcpy(w, c, sizeof c);
    k = vision_nms(w, 5, 0.45f, true, 100);
    CHECK(k == 3 && w[0].order == 0 && w[1].order == 3 && w[2].order == 4, "agnostic NMS keeps A, D, E (got %zu)", k);
    memcpy(w, c, sizeof c);
    k = vision_nms(w, 5, 0.3f, false, 100);
    CHECK(k == 3, "IoU threshold 0.3 also drops E (IoU 0.33): kept %zu", k);
    memcpy(w, c, sizeof c);
    k = vision_nms(w, 5, 0.45f, false, 2);
    CHECK(k == 2 && w[0].order == 0 && w[1].order == 2, "max_det 2 keeps the two best survivors");
    /* Ties: equal scores keep output order. */
    vision_candidate t[2] = {{0, 0, 1, 1, 0.5f, 0, 7}, {0, 0, 1, 1, 0.5f, 0, 3}};
    k = vision_nms(t, 2, 0.45f, false, 10);
    CHECK(k == 1 && t[0].order == 3, "ties broken by output position");
    /* Zero-area boxes never suppress. */
    vision_candidate z[2] = {{5, 5, 5, 5, 0.9f, 0, 0}, {5, 5, 5, 5, 0.8f, 0, 1}};
    CHECK(vision_nms(z, 2, 0.0f, false, 10) == 2, "zero-area boxes have IoU 0");
    vision_candidate a = {0, 0, 10, 10, 0, 0, 0}, b = {5, 5, 15, 15, 0, 0, 0};
    CHECK(NEAR(vision_iou(&a, &b), 25.0 / 175.0, 1e-6), "IoU 25/175");
    CHECK(vision_nms(NULL, 0, 0.5f, false, 10) == 0, "empty NMS");
}

/* ---- box mapping --------------------------------------------------------------- */

static void test_map_box(void) {
    lens_box o;
    /* Stretch 400x200 -> 100x100: scale 0.25 x 0.5. Model box (10,20)-(50,60)
     * -> (40,40)-(200,120). */
    lens_transform st = {0.25f, 0.5f, 0, 0, 400, 200};
    vision_candidate c = {10, 20, 50, 60, 0.9f, 0, 0};
    vision_map_box(&st, &c, &o);
    CHECK(NEAR(o.x1, 40, 1e-4) && NEAR(o.y1, 40, 1e-4) && NEAR(o.x2, 200, 1e-4) && NEAR(o.y2, 120, 1e-4),
          "stretch mapping: %g %g %g %g", o.x1, o.y1, o.x2, o.y2);
    /* Letterbox 200x100 into 100x100: scale 0.5, image 100x50 centred: offset_y 25.
     * (10,35)-(50,75) -> ((10-0)/.5, (35-25)/.5) = (20,20)-(100,100). */
    lens_transform lb = {0.5f, 0.5f, 0, 25, 200, 100};
    vision_candidate d = {10, 35, 50, 75, 0.9f, 0, 0};
    vision_map_box(&lb, &d, &o);
    CHECK(NEAR(o.x1, 20, 1e-4) && NEAR(o.y1, 20, 1e-4) && NEAR(o.x2, 100, 1e-4) && NEAR(o.y2, 100, 1e-4),
          "letterbox mapping: %g %g %g %g", o.x1, o.y1, o.x2, o.y2);
    /* A box in the padding is clipped to the picture: (0,0)-(100,20) -> y (0-25)/.5 = -50 -> 0,
     * (20-25)/.5 = -10 -> 0. */
    vision_candidate e = {0, 0, 100, 20, 0.9f, 0, 0};
    vision_map_box(&lb, &e, &o);
    CHECK(o.x1 == 0 && o.y1 == 0 && o.x2 == 200 && o.y2 == 0, "clipped to the picture: %g %g %g %g", o.x1, o.y1,
          o.x2, o.y2);
    /* Crop: 300x200, shorter side to 100 (scale 0.5 -> 150x100), centre crop
     * 100x100: offset_x = -25. (0,0)-(100,100) -> (50,0)-(250,200). */
    lens_transform cr = {0.5f, 0.5f, -25, 0, 300, 200};
    vision_candidate f = {0, 0, 100, 100, 0.9f, 0, 0};
    vision_map_box(&cr, &f, &o);
    CHECK(NEAR(o.x1, 50, 1e-4) && NEAR(o.y1, 0, 1e-4) && NEAR(o.x2, 250, 1e-4) && NEAR(o.y2, 200, 1e-4),
          "crop mapping: %g %g %g %g", o.x1, o.y1, o.x2, o.y2);
}

/* ---- decoders -------------------------------------------------------------------- */

static void test_yolov8(void) {
    /* Two classes, eight boxes (the last five score 0), channel-first
     * [1, 6, 8] (attribute-major): the smaller axis holds the attributes. */
    float v[6 * 8] = {
        /* cx */ 50, 52, 20, 0, 0, 0, 0, 0,
        /* cy */ 50, 50, 20, 0, 0, 0, 0, 0,
        /* w  */ 20, 20, 10, 1, 1, 1, 1, 1,
        /* h  */ 20, 20, 10, 1, 1, 1, 1, 1,
        /* c0 */ 0.9f, 0.8f, 0.1f, 0, 0, 0, 0, 0,
        /* c1 */ 0.1f, 0.2f, 0.3f, 0, 0, 0, 0, 0,
    };
    lens_tensor t = tensor3(LENS_DTYPE_FLOAT, 1, 6, 8, v);
    lens_vision_config cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    vision_outputs o = {1, &t, NULL};
    vision_det_plan p;
    CHECK(vision_detect_plan(&cfg, &o, &p) == LENS_OK && p.layout == LENS_OUTPUT_YOLOV8 && p.channel_first &&
              p.n == 8 && p.n_classes == 2,
          "yolov8 [1,6,8] planned as channel-first, 8 boxes, 2 classes");
    lens_transform tf = identity_tf(100, 100);
    lens_detections d;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK, "yolov8 decode: %s", lens_last_error());
    /* Box 0 (40,40)-(60,60) 0.9 c0; box 1 (42,40)-(62,60) IoU 360/440 = 0.82 suppressed;
     * box 2 (15,15)-(25,25) 0.3 c1. */
    CHECK(d.count == 2, "yolov8: 2 detections, got %zu", d.count);
    if (d.count == 2) {
        CHECK(NEAR(d.items[0].box.x1, 40, 1e-4) && NEAR(d.items[0].box.y2, 60, 1e-4) && d.items[0].class_index == 0 &&
                  NEAR(d.items[0].score, 0.9, 1e-6),
              "yolov8 first box");
        CHECK(NEAR(d.items[1].box.x1, 15, 1e-4) && d.items[1].class_index == 1 && !strcmp(d.items[1].label, "class_1"),
              "yolov8 second box, default label '%s'", d.items[1].label);
    }
    lens_detections_free(&d);

    /* Transposed [1, 8, 6] with labels: the axis equal to 4 + 2 is the attribute axis. */
    float tv[8 * 6];
    for (int i = 0; i < 8; i++)
        for (int a = 0; a < 6; a++) tv[i * 6 + a] = v[a * 8 + i];
    lens_tensor tt = tensor3(LENS_DTYPE_FLOAT, 1, 8, 6, tv);
    const char *names[] = {"cat", "dog"};
    cfg.labels = names;
    cfg.n_labels = 2;
    cfg.output_layout = LENS_OUTPUT_YOLOV8;
    vision_outputs ot = {1, &tt, NULL};
    CHECK(vision_detect_plan(&cfg, &ot, &p) == LENS_OK && !p.channel_first && p.n == 8, "yolov8 transposed planned");
    CHECK(vision_detect(&cfg, &ot, &tf, &d) == LENS_OK && d.count == 2 && !strcmp(d.items[0].label, "cat") &&
              !strcmp(d.items[1].label, "dog"),
          "yolov8 transposed decodes the same with labels");
    lens_detections_free(&d);
    /* Three labels against 2 classes: a clear error. */
    const char *three[] = {"a", "b", "c"};
    cfg.labels = three;
    cfg.n_labels = 3;
    CHECK(vision_detect(&cfg, &ot, &tf, &d) == LENS_STATUS_INVALID_ARGUMENT &&
              strstr(lens_last_error(), "3 labels") && strstr(lens_last_error(), "2 classes"),
          "labels count mismatch names both counts: %s", lens_last_error());
    /* Max detections and agnostic. */
    cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    cfg.max_det = 1;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 1, "max_det 1");
    lens_detections_free(&d);
    /* Confidence 0.85 keeps only box 0. */
    cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    cfg.conf = 0.85f;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 1 && d.items[0].score > 0.85f, "conf 0.85");
    lens_detections_free(&d);
    /* Normalised xyxy boxes: attributes as fractions of 100x100. */
    float nv[6 * 1] = {0.1f, 0.2f, 0.3f, 0.4f, 0.0f, 0.7f};
    lens_tensor nt = tensor3(LENS_DTYPE_FLOAT, 1, 1, 6, nv); /* one box, transposed */
    vision_outputs on = {1, &nt, NULL};
    cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    cfg.output_layout = LENS_OUTPUT_YOLOV8;
    cfg.box_format = LENS_BOX_XYXY;
    cfg.normalized = true;
    CHECK(vision_detect(&cfg, &on, &tf, &d) == LENS_OK && d.count == 1 && NEAR(d.items[0].box.x1, 10, 1e-4) &&
              NEAR(d.items[0].box.y1, 20, 1e-4) && NEAR(d.items[0].box.x2, 30, 1e-4) &&
              NEAR(d.items[0].box.y2, 40, 1e-4) && d.items[0].class_index == 1,
          "normalised xyxy");
    lens_detections_free(&d);
}

static void test_yolov5(void) {
    /* [1, 8, 7]: 2 classes. Box 0: obj 0.8 x c1 0.9 = 0.72; box 1: obj 0.2
     * (below conf); boxes 2..7 all zero. */
    float v[8 * 7] = {30, 40, 20, 10, 0.8f, 0.3f, 0.9f, 70, 70, 10, 10, 0.2f, 1.0f, 0.0f};
    lens_tensor t = tensor3(LENS_DTYPE_FLOAT, 1, 8, 7, v);
    lens_vision_config cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    vision_outputs o = {1, &t, NULL};
    vision_det_plan p;
    CHECK(vision_detect_plan(&cfg, &o, &p) == LENS_OK && p.layout == LENS_OUTPUT_YOLOV5 && p.n_classes == 2,
          "[1,8,7] without labels is yolov5");
    lens_transform tf = {0.5f, 0.5f, 0, 0, 200, 200};
    lens_detections d;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 1, "yolov5 decode: %s", lens_last_error());
    if (d.count == 1) {
        /* (20,35)-(40,45) in the model, x2 in the source: (40,70)-(80,90). */
        CHECK(NEAR(d.items[0].score, 0.72, 1e-6) && d.items[0].class_index == 1 && NEAR(d.items[0].box.x1, 40, 1e-4) &&
                  NEAR(d.items[0].box.y1, 70, 1e-4) && NEAR(d.items[0].box.x2, 80, 1e-4) &&
                  NEAR(d.items[0].box.y2, 90, 1e-4),
              "yolov5 box and score obj x cls");
    }
    lens_detections_free(&d);
    /* With 3 labels the same shape is yolov8 transposed (7 = 4 + 3). */
    const char *names[] = {"a", "b", "c"};
    cfg.labels = names;
    cfg.n_labels = 3;
    CHECK(vision_detect_plan(&cfg, &o, &p) == LENS_OK && p.layout == LENS_OUTPUT_YOLOV8 && !p.channel_first,
          "[1,8,7] with 3 labels is yolov8 transposed");
}

static void test_boxes_scores(void) {
    /* torchvision: boxes [3,4] xyxy, labels int64 [3], scores [3]; named. */
    float boxes[12] = {10, 10, 50, 50, 12, 12, 52, 52, 60, 60, 90, 90};
    int64_t labels[3] = {1, 1, 17};
    float scores[3] = {0.95f, 0.9f, 0.1f};
    lens_tensor t[3] = {{LENS_DTYPE_FLOAT, 2, {3, 4}, boxes},
                        {LENS_DTYPE_INT64, 1, {3}, labels},
                        {LENS_DTYPE_FLOAT, 1, {3}, scores}};
    const char *names[] = {"boxes", "labels", "scores"};
    lens_vision_config cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    vision_outputs o = {3, t, names};
    vision_det_plan p;
    CHECK(vision_detect_plan(&cfg, &o, &p) == LENS_OK && p.layout == LENS_OUTPUT_BOXES_SCORES && p.boxes == 0 &&
              p.labels == 1 && p.scores == 2 && !p.scores_per_class,
          "boxes_scores found by name");
    lens_transform tf = identity_tf(100, 100);
    lens_detections d;
    /* The model ran NMS itself: the overlapping pair (IoU 0.82) is kept, the low score dropped. */
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 2 && d.items[0].class_index == 1 &&
              NEAR(d.items[0].box.x2, 50, 1e-4) && NEAR(d.items[1].box.x2, 52, 1e-4),
          "boxes_scores with labels: no second NMS, low score dropped");
    lens_detections_free(&d);
    cfg.agnostic = true;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 1, "boxes_scores: agnostic NMS when asked");
    lens_detections_free(&d);
    cfg.agnostic = false;
    cfg.max_det = 1;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 1 && d.items[0].score > 0.94f,
          "boxes_scores: max_det keeps the best");
    lens_detections_free(&d);
    cfg.max_det = 100;
    /* Order scores, boxes, labels without names: found by shape and type. */
    lens_tensor t2[3] = {t[2], t[0], t[1]};
    vision_outputs o2 = {3, t2, NULL};
    CHECK(vision_detect_plan(&cfg, &o2, &p) == LENS_OK && p.boxes == 1 && p.labels == 2 && p.scores == 0,
          "boxes_scores found by shape");
    /* Per-class scores [N, C] without labels. */
    float sc[3 * 2] = {0.1f, 0.8f, 0.7f, 0.2f, 0.05f, 0.1f};
    lens_tensor t3[2] = {{LENS_DTYPE_FLOAT, 3, {1, 3, 4}, boxes}, {LENS_DTYPE_FLOAT, 2, {3, 2}, sc}};
    vision_outputs o3 = {2, t3, NULL};
    CHECK(vision_detect(&cfg, &o3, &tf, &d) == LENS_OK && d.count == 2 && d.items[0].class_index == 1 &&
              d.items[1].class_index == 0,
          "boxes_scores with [N, C] scores: class-aware NMS keeps both overlapping boxes");
    lens_detections_free(&d);
    /* Zero detections: empty outputs decode to nothing. */
    lens_tensor t4[3] = {{LENS_DTYPE_FLOAT, 2, {0, 4}, boxes},
                         {LENS_DTYPE_INT64, 1, {0}, labels},
                         {LENS_DTYPE_FLOAT, 1, {0}, scores}};
    vision_outputs o4 = {3, t4, names};
    CHECK(vision_detect(&cfg, &o4, &tf, &d) == LENS_OK && d.count == 0, "no boxes");
    lens_detections_free(&d);
}

static void test_ssd(void) {
    /* [1,1,3,7] normalised; the row after image_id -1 is ignored. */
    float v[3 * 7] = {0, 3, 0.9f, 0.1f, 0.2f, 0.5f, 0.6f, -1, 0, 0, 0, 0, 0, 0, 0, 5, 0.99f, 0, 0, 1, 1};
    lens_tensor t = {LENS_DTYPE_FLOAT, 4, {1, 1, 3, 7}, v};
    lens_vision_config cfg = base_cfg(LENS_TASK_DETECT, 200, 100);
    cfg.normalized = true; /* lens.output.normalized = 1 */
    vision_outputs o = {1, &t, NULL};
    lens_transform tf = identity_tf(200, 100);
    lens_detections d;
    CHECK(vision_detect(&cfg, &o, &tf, &d) == LENS_OK && d.count == 1, "ssd decode: %s", lens_last_error());
    if (d.count == 1)
        CHECK(d.items[0].class_index == 3 && NEAR(d.items[0].box.x1, 20, 1e-4) && NEAR(d.items[0].box.y1, 20, 1e-4) &&
                  NEAR(d.items[0].box.x2, 100, 1e-4) && NEAR(d.items[0].box.y2, 60, 1e-4),
              "ssd box scaled by 200x100: %g %g %g %g", d.items[0].box.x1, d.items[0].box.y1, d.items[0].box.x2,
              d.items[0].box.y2);
    lens_detections_free(&d);
}

static void test_unknown_layout(void) {
    float v[16] = {0};
    lens_tensor t = {LENS_DTYPE_FLOAT, 2, {4, 4}, v};
    lens_tensor t4 = {LENS_DTYPE_FLOAT, 4, {1, 2, 2, 4}, v};
    lens_vision_config cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    vision_outputs o = {1, &t4, NULL};
    vision_det_plan p;
    CHECK(vision_detect_plan(&cfg, &o, &p) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "no known layout"),
          "rank-4 output matches no layout: %s", lens_last_error());
    cfg.output_layout = LENS_OUTPUT_YOLOV5;
    vision_outputs o2 = {1, &t, NULL};
    CHECK(vision_detect_plan(&cfg, &o2, &p) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "yolov5"),
          "[4,4] is not yolov5 (needs 6+ attributes): %s", lens_last_error());
    /* Non-finite boxes are skipped, NaN scores never pass. */
    float bad[2 * 6] = {NAN, 10, 10, 10, 0.9f, 0.1f, 10, INFINITY, 10, 10, 0.9f, 0.1f};
    float nan_score[2 * 6] = {10, 10, 10, 10, NAN, NAN, 10, 10, 10, 10, NAN, 0.1f};
    lens_tensor tb = tensor3(LENS_DTYPE_FLOAT, 1, 2, 6, bad);
    cfg = base_cfg(LENS_TASK_DETECT, 100, 100);
    vision_outputs ob = {1, &tb, NULL};
    lens_transform tf = identity_tf(100, 100);
    lens_detections d;
    cfg.output_layout = LENS_OUTPUT_YOLOV8;
    CHECK(vision_detect(&cfg, &ob, &tf, &d) == LENS_OK && d.count == 0, "NaN/inf boxes never produce detections");
    lens_detections_free(&d);
    tb.data = nan_score;
    CHECK(vision_detect(&cfg, &ob, &tf, &d) == LENS_OK && d.count == 0, "NaN scores never pass");
    lens_detections_free(&d);
}

/* ---- classification ------------------------------------------------------------- */

static void test_classify(void) {
    float probs[3] = {0.1f, 0.2f, 0.7f};
    float logits[3] = {1, 2, 3};
    CHECK(!vision_looks_like_logits(probs, 3), "probabilities are not logits");
    CHECK(vision_looks_like_logits(logits, 3), "values above 1 are logits");
    float low[3] = {0.1f, 0.1f, 0.1f};
    CHECK(vision_looks_like_logits(low, 3), "values summing to 0.3 are logits");
    lens_tensor t = {LENS_DTYPE_FLOAT, 2, {1, 3}, logits};
    lens_vision_config cfg = base_cfg(LENS_TASK_CLASSIFY, 10, 10);
    cfg.top_k = 2;
    vision_outputs o = {1, &t, NULL};
    lens_classification c;
    CHECK(vision_classify(&cfg, &o, &c) == LENS_OK && c.count == 2 && c.softmax_applied, "classify logits");
    /* softmax(1,2,3) = 0.0900, 0.2447, 0.6652 */
    if (c.count == 2)
        CHECK(c.top[0].index == 2 && NEAR(c.top[0].score, 0.66524, 1e-4) && c.top[1].index == 1 &&
                  NEAR(c.top[1].score, 0.24473, 1e-4) && !strcmp(c.top[0].label, "class_2"),
              "softmax top-2");
    lens_classification_free(&c);
    lens_tensor tp = {LENS_DTYPE_FLOAT, 4, {1, 3, 1, 1}, probs};
    vision_outputs op = {1, &tp, NULL};
    CHECK(vision_classify(&cfg, &op, &c) == LENS_OK && !c.softmax_applied && NEAR(c.top[0].score, 0.7, 1e-6),
          "probabilities kept, [1,3,1,1] accepted");
    lens_classification_free(&c);
    cfg.softmax = 1; /* forced */
    CHECK(vision_classify(&cfg, &op, &c) == LENS_OK && c.softmax_applied, "softmax forced");
    lens_classification_free(&c);
    cfg.softmax = -1; /* never */
    CHECK(vision_classify(&cfg, &o, &c) == LENS_OK && !c.softmax_applied && c.top[0].score == 3.0f, "softmax off");
    lens_classification_free(&c);
    /* top_k above the class count; ties by lower index. */
    float tie[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    lens_tensor tt = {LENS_DTYPE_FLOAT, 1, {4}, tie};
    vision_outputs ot = {1, &tt, NULL};
    cfg = base_cfg(LENS_TASK_CLASSIFY, 10, 10);
    cfg.top_k = 10;
    CHECK(vision_classify(&cfg, &ot, &c) == LENS_OK && c.count == 4 && c.top[0].index == 0 && c.top[3].index == 3,
          "top_k clipped to 4, ties by index");
    lens_classification_free(&c);
    const char *names[] = {"a", "b"};
    cfg.labels = names;
    cfg.n_labels = 2;
    CHECK(vision_classify(&cfg, &ot, &c) == LENS_STATUS_INVALID_ARGUMENT && strstr(lens_last_error(), "2 labels"),
          "label count mismatch: %s", lens_last_error());
    lens_tensor bad = {LENS_DTYPE_FLOAT, 2, {2, 3}, logits};
    vision_outputs ob = {1, &bad, NULL};
    cfg = base_cfg(LENS_TASK_CLASSIFY, 10, 10);
    CHECK(vision_classify(&cfg, &ob, &c) == LENS_STATUS_UNSUPPORTED, "[2,3] is not one score vector");
}

/* ---- segmentation --------------------------------------------------------------- */

static void test_segment(void) {
    /* 3 classes on a 2x2 output for a 4x4 model input. */
    float v[3 * 4] = {
        /* c0 */ 5, 0, 0, 0,
        /* c1 */ 0, 5, 0, 1,
        /* c2 */ 0, 0, 5, 0.5f,
    };
    lens_tensor t = {LENS_DTYPE_FLOAT, 4, {1, 3, 2, 2}, v};
    lens_vision_config cfg = base_cfg(LENS_TASK_SEGMENT, 4, 4);
    vision_outputs o = {1, &t, NULL};
    /* Stretch an 8x8 picture to 4x4: scale 0.5. Output cell (r, c) covers source
     * pixels 4r..4r+3, 4c..4c+3. Classes: [[0,1],[2,1]]. */
    lens_transform tf = {0.5f, 0.5f, 0, 0, 8, 8};
    lens_segmentation s;
    CHECK(vision_segment(&cfg, &o, &tf, &s) == LENS_OK && s.width == 8 && s.height == 8 && s.n_classes == 3,
          "segment: %s", lens_last_error());
    if (s.mask) {
        CHECK(s.mask[0] == 0 && s.mask[7] == 1 && s.mask[7 * 8] == 2 && s.mask[63] == 1 && s.mask[3] == 0 &&
                  s.mask[4] == 1,
              "mask quadrants");
        CHECK(s.classes[0].pixels == 16 && s.classes[1].pixels == 32 && s.classes[2].pixels == 16 &&
                  s.outside_pixels == 0,
              "per-class counts 16/32/16");
    }
    lens_segmentation_free(&s);
    /* Centre crop: a 12x8 picture, shorter side 8 -> 4 (scale 0.5), 6x4 cropped to
     * 4x4: offset_x = -1. Source columns 0,1 and 10,11 fall outside. */
    lens_transform cr = {0.5f, 0.5f, -1, 0, 12, 8};
    CHECK(vision_segment(&cfg, &o, &cr, &s) == LENS_OK, "segment crop");
    if (s.mask) {
        CHECK(s.mask[0] == LENS_SEGMENT_OUTSIDE && s.mask[1] == LENS_SEGMENT_OUTSIDE && s.mask[2] == 0 &&
                  s.mask[9] == 1 && s.mask[10] == LENS_SEGMENT_OUTSIDE,
              "crop: outside columns marked %d %d %d %d %d", s.mask[0], s.mask[1], s.mask[2], s.mask[9], s.mask[10]);
        CHECK(s.outside_pixels == 4 * 8 && s.classes[0].pixels + s.classes[1].pixels + s.classes[2].pixels == 64,
              "crop counts: %lld outside", (long long)s.outside_pixels);
    }
    lens_segmentation_free(&s);
    /* Letterbox 8x4 into 4x4: scale 0.5, offset_y 1: rows of the model 1..2
     * hold the picture; source row 0 centre at y = 0.25 + 1 = 1.25 -> output row 0. */
    lens_transform lb = {0.5f, 0.5f, 0, 1, 8, 4};
    CHECK(vision_segment(&cfg, &o, &lb, &s) == LENS_OK && s.outside_pixels == 0, "letterbox: every pixel seen");
    if (s.mask) CHECK(s.mask[0] == 0 && s.mask[3 * 8] == 2, "letterbox rows map to output rows 0 and 1");
    lens_segmentation_free(&s);
    /* One channel: sigmoid threshold at logit 0. */
    float one[4] = {-1, 2, 0, 0.5f};
    lens_tensor t1 = {LENS_DTYPE_FLOAT, 4, {1, 1, 2, 2}, one};
    vision_outputs o1 = {1, &t1, NULL};
    lens_transform id = identity_tf(2, 2);
    cfg = base_cfg(LENS_TASK_SEGMENT, 2, 2);
    CHECK(vision_segment(&cfg, &o1, &id, &s) == LENS_OK && s.n_classes == 2 && s.mask[0] == 0 && s.mask[1] == 1 &&
              s.mask[2] == 0 && s.mask[3] == 1,
          "sigmoid mask");
    lens_segmentation_free(&s);
    cfg.output_layout = LENS_OUTPUT_PROBS; /* probabilities: threshold 0.5 */
    CHECK(vision_segment(&cfg, &o1, &id, &s) == LENS_OK && s.mask[3] == 0 && s.mask[1] == 1, "probability threshold");
    lens_segmentation_free(&s);
    /* Labels of the wrong count, too many classes. */
    const char *names[] = {"a", "b"};
    cfg = base_cfg(LENS_TASK_SEGMENT, 4, 4);
    cfg.labels = names;
    cfg.n_labels = 2;
    CHECK(vision_segment(&cfg, &o, &tf, &s) == LENS_STATUS_INVALID_ARGUMENT, "segment labels mismatch");
    lens_tensor big = {LENS_DTYPE_FLOAT, 4, {1, 300, 1, 1}, v};
    vision_outputs ob = {1, &big, NULL};
    cfg = base_cfg(LENS_TASK_SEGMENT, 4, 4);
    vision_seg_plan sp;
    CHECK(vision_segment_plan(&cfg, &ob, &sp) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "255"),
          "300 classes refused: %s", lens_last_error());
}

/* The blocked argmax and the gather/row-copy upscale against the per-pixel
 * definition (VISION.md): outputs wider than the argmax block (512) with a
 * remainder, NaNs and ties, crop (outside columns and rows), upscale and
 * downscale, counts summed from cells against counts of the mask. */
static void test_segment_wide(void) {
    static const int64_t shapes[][3] = {{5, 7, 1030}, {2, 3, 512}, {3, 1, 1}, {21, 9, 513}, {4, 40, 30}};
    static const int32_t sources[][2] = {{2071, 23}, {1920, 1080}, {5, 3}, {300, 700}};
    uint32_t seed = 12345;
    for (size_t si = 0; si < LENS_ARRAY_LEN(shapes); si++) {
        int64_t C = shapes[si][0], H = shapes[si][1], W = shapes[si][2], plane = H * W;
        float *v = malloc((size_t)(C * plane) * sizeof *v);
        for (int64_t i = 0; i < C * plane; i++) {
            seed = seed * 1664525u + 1013904223u;
            uint32_t r = seed >> 24;
            v[i] = r < 8 ? NAN : (float)(r % 7); /* few values: many ties */
        }
        lens_tensor t = {LENS_DTYPE_FLOAT, 4, {1, C, H, W}, v};
        vision_outputs o = {1, &t, NULL};
        lens_vision_config cfg = base_cfg(LENS_TASK_SEGMENT, 64, 48);
        for (size_t so = 0; so < LENS_ARRAY_LEN(sources); so++) {
            for (int crop = 0; crop < 2; crop++) {
                int32_t sw = sources[so][0], sh = sources[so][1];
                float sx = 64.0f / (float)sw, sy = 48.0f / (float)sh;
                lens_transform tf = {sx, sy, crop ? -3.5f : 0, crop ? -2.0f : 0, sw, sh};
                lens_segmentation s;
                if (vision_segment(&cfg, &o, &tf, &s) != LENS_OK) {
                    CHECK(false, "wide segment %zu/%zu: %s", si, so, lens_last_error());
                    continue;
                }
                int64_t counts[256] = {0};
                int bad = 0;
                for (int32_t y = 0; y < sh; y++) {
                    double my = ((double)y + 0.5) * sy + tf.offset_y;
                    for (int32_t x = 0; x < sw; x++) {
                        double mx = ((double)x + 0.5) * sx + tf.offset_x;
                        int want = LENS_SEGMENT_OUTSIDE;
                        if (mx >= 0 && mx < 64 && my >= 0 && my < 48) {
                            int64_t cx = (int64_t)floor(mx * (double)W / 64), cy = (int64_t)floor(my * (double)H / 48);
                            if (cx >= W) cx = W - 1;
                            if (cy >= H) cy = H - 1;
                            int64_t i = cy * W + cx;
                            float best = v[i];
                            want = 0;
                            if (isnan(best)) best = -INFINITY;
                            for (int64_t k = 1; k < C; k++)
                                if (v[k * plane + i] > best) best = v[k * plane + i], want = (int)k;
                        }
                        uint8_t got = s.mask[(size_t)y * (size_t)sw + (size_t)x];
                        counts[got]++;
                        if (got != want && bad++ < 3)
                            CHECK(false, "wide segment %zu/%zu/%d: (%d, %d) is %d, want %d", si, so, crop, (int)x,
                                  (int)y, got, want);
                    }
                }
                for (int32_t c = 0; c < s.n_classes; c++)
                    CHECK(s.classes[c].pixels == counts[c], "wide segment %zu/%zu/%d: class %d has %lld pixels, mask %lld",
                          si, so, crop, (int)c, (long long)s.classes[c].pixels, (long long)counts[c]);
                CHECK(s.outside_pixels == counts[LENS_SEGMENT_OUTSIDE] && (crop || s.outside_pixels == 0),
                      "wide segment %zu/%zu/%d: outside %lld, mask %lld", si, so, crop, (long long)s.outside_pixels,
                      (long long)counts[LENS_SEGMENT_OUTSIDE]);
                lens_segmentation c;
                CHECK(vision_segment_ex(&cfg, &o, &tf, false, &c) == LENS_OK && c.mask == NULL && c.width == sw &&
                          c.height == sh && c.outside_pixels == s.outside_pixels && c.n_classes == s.n_classes,
                      "wide segment %zu/%zu/%d: counts without a mask", si, so, crop);
                for (int32_t k = 0; k < c.n_classes && k < s.n_classes; k++)
                    CHECK(c.classes[k].pixels == s.classes[k].pixels, "counts without a mask: class %d", (int)k);
                lens_segmentation_free(&c);
                lens_segmentation_free(&s);
            }
        }
        free(v);
    }
}

/* Every variant of the seg kernel family against the reference (the first
 * entry) at every length 0..80 (covering any vector width and remainder)
 * and around the argmax block (512): NaN, infinities, ties, -0. */
static void test_seg_kernels(void) {
    size_t nv;
    const lens_seg_kernels *v = lens_seg_kernels_variants(&nv), *ref = &v[0];
    CHECK(nv >= 1 && lens_seg_kernels_best() != NULL, "seg kernel table");
    static const float pool[] = {0.0f, -0.0f, 1.0f, 1.0f, -1.0f, 2.5f, NAN, INFINITY, -INFINITY, 3.0f, -7.0f};
    size_t lens[90], nl = 0;
    for (size_t n = 0; n <= 80; n++) lens[nl++] = n;
    lens[nl++] = 511, lens[nl++] = 512, lens[nl++] = 513;
    float x[520], b0[520], b1[520];
    int32_t i0[520], i1[520];
    uint32_t seed = 99;
    for (size_t vi = 1; vi < nv; vi++) {
        if (!v[vi].supported(lens_cpu_features())) continue;
        for (size_t li = 0; li < nl; li++) {
            size_t n = lens[li];
            for (size_t i = 0; i < n + 4; i++) {
                seed = seed * 1664525u + 1013904223u;
                x[i] = pool[(seed >> 16) % LENS_ARRAY_LEN(pool)];
                seed = seed * 1664525u + 1013904223u;
                b0[i] = b1[i] = (seed >> 16) % 5 == 0 ? -INFINITY : pool[(seed >> 20) % 6];
                i0[i] = i1[i] = (int32_t)(i % 3);
            }
            ref->argmax_step(x, b0, i0, 7, n);
            v[vi].argmax_step(x, b1, i1, 7, n);
            bool same = true;
            for (size_t i = 0; i < n + 4; i++)
                same = same && i0[i] == i1[i] && memcmp(&b0[i], &b1[i], sizeof b0[i]) == 0;
            CHECK(same, "%s argmax_step differs from the reference at n = %zu", v[vi].name, n);
        }
    }
    /* the reference itself, by hand: NaN and ties never replace */
    float bx[4] = {1, 1, NAN, 5}, bb[4] = {0, 1, 0, -INFINITY};
    int32_t bi[4] = {0, 0, 0, 0};
    ref->argmax_step(bx, bb, bi, 3, 4);
    CHECK(bi[0] == 3 && bi[1] == 0 && bi[2] == 0 && bi[3] == 3 && bb[0] == 1 && bb[3] == 5,
          "argmax_step by hand: %d %d %d %d", (int)bi[0], (int)bi[1], (int)bi[2], (int)bi[3]);
}

int main(void) {
    test_nms();
    test_map_box();
    test_yolov8();
    test_yolov5();
    test_boxes_scores();
    test_ssd();
    test_unknown_layout();
    test_classify();
    test_segment();
    test_segment_wide();
    test_seg_kernels();
    if (g_failures) {
        fprintf(stderr, "%d check(s) failed\n", g_failures);
        return 1;
    }
    printf("all vision post-processing checks passed\n");
    return 0;
}
