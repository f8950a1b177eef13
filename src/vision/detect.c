/* Detection post-processing: find the output layout from the shapes, decode
 * candidates above the confidence threshold, greedy NMS (class-aware unless
 * agnostic), map boxes back to the source picture.
 *
 * Layouts (docs/METADATA.md, lens.output.layout):
 *   yolov5        [1, N, 5+C] (or [N, 5+C]): cx, cy, w, h, objectness, C class
 *                 scores; score = objectness x best class score.
 *   yolov8        [1, 4+C, N] or [1, N, 4+C]: cx, cy, w, h, C class scores.
 *                 The attribute axis is the one equal to 4 + (labels count),
 *                 else the smaller one (unless it is under 5: a single box).
 *   boxes_scores  torchvision whole-graph detectors: boxes [N, 4] (or
 *                 [1, N, 4]) xyxy in input pixels, scores [N] with labels [N],
 *                 or scores [N, C]. Found by name (box, score/conf,
 *                 label/class) or else by shape and type.
 *   ssd           [1, 1, N, 7] or [N, 7]: image_id, label, score, x1, y1, x2,
 *                 y2; rows after an image_id of -1 are ignored (DetectionOutput).
 * boxes_scores with per-box scores and labels, and ssd, are already the
 * result of the graph's own NMS: lens only thresholds, orders and cuts them
 * at max_det (NMS again only when class-agnostic NMS is asked for).
 * With no layout configured: two or more outputs with a [N, 4] one are
 * boxes_scores; a last dimension of 7 at rank 2 or 4 is ssd; [1, A, B] is
 * yolov8 when A < B or when B = 4 + (labels count), else yolov5. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/vision_internal.h"

/* Candidates kept for NMS, best first (as Ultralytics' max_nms). */
#define VISION_MAX_NMS 30000

static bool name_has(const vision_outputs *o, size_t i, const char *word) {
    if (!o->names || !o->names[i]) return false;
    const char *n = o->names[i];
    size_t wl = strlen(word);
    for (; *n; n++) {
        size_t k = 0;
        while (k < wl && n[k] && tolower((unsigned char)n[k]) == word[k]) k++;
        if (k == wl) return true;
    }
    return false;
}

/* Rows of a [N, k] or [1, N, k] tensor with last dimension k; -1 otherwise. */
static int64_t rows_of(const lens_tensor *t, int64_t k) {
    if (t->ndim == 2 && t->dims[1] == k) return t->dims[0];
    if (t->ndim == 3 && t->dims[0] == 1 && t->dims[2] == k) return t->dims[1];
    return -1;
}

/* Length of a [N] or [1, N] vector; -1 otherwise. */
static int64_t vec_len(const lens_tensor *t) {
    if (t->ndim == 1) return t->dims[0];
    if (t->ndim == 2 && t->dims[0] == 1) return t->dims[1];
    return -1;
}

static int find_boxes(const vision_outputs *o) {
    for (size_t i = 0; i < o->n; i++)
        if (name_has(o, i, "box") && rows_of(&o->t[i], 4) >= 0 && vision_dtype_is_float(o->t[i].dtype)) return (int)i;
    for (size_t i = 0; i < o->n; i++)
        if (rows_of(&o->t[i], 4) >= 0 && vision_dtype_is_float(o->t[i].dtype)) return (int)i;
    return -1;
}

static lens_status plan_boxes_scores(const lens_vision_config *cfg, const vision_outputs *o, vision_det_plan *p) {
    char b[256];
    p->boxes = find_boxes(o);
    if (p->boxes < 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "detect (boxes_scores): no output of shape [N, 4] for the boxes");
    int64_t n = rows_of(&o->t[p->boxes], 4);
    p->n = n;
    p->labels = p->scores = -1;
    /* By name first. */
    for (size_t i = 0; i < o->n; i++) {
        if ((int)i == p->boxes) continue;
        if (p->labels < 0 && (name_has(o, i, "label") || name_has(o, i, "class")) && vec_len(&o->t[i]) == n)
            p->labels = (int)i;
        else if (p->scores < 0 && (name_has(o, i, "score") || name_has(o, i, "conf")) &&
                 vision_dtype_is_float(o->t[i].dtype))
            p->scores = (int)i;
    }
    /* Then by type and shape: integers are labels, floats are scores. */
    for (size_t i = 0; i < o->n; i++) {
        if ((int)i == p->boxes || (int)i == p->labels || (int)i == p->scores) continue;
        const lens_tensor *t = &o->t[i];
        if (p->labels < 0 && vision_dtype_is_int(t->dtype) && vec_len(t) == n) p->labels = (int)i;
        else if (p->scores < 0 && vision_dtype_is_float(t->dtype) && vec_len(t) == n)
            p->scores = (int)i;
    }
    if (p->scores < 0) {
        /* Per-class scores [N, C]. */
        for (size_t i = 0; i < o->n && p->scores < 0; i++) {
            const lens_tensor *t = &o->t[i];
            if ((int)i != p->boxes && (int)i != p->labels && vision_dtype_is_float(t->dtype) && t->ndim == 2 &&
                t->dims[0] == n)
                p->scores = (int)i;
        }
    }
    if (p->scores < 0)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "detect (boxes_scores): boxes are %s but no output holds their scores ([N] or [N, C])",
                          vision_output_str(o, (size_t)p->boxes, b, sizeof b));
    const lens_tensor *s = &o->t[p->scores];
    if (vec_len(s) == n && (p->labels >= 0 || !(s->ndim == 2 && s->dims[0] == n))) {
        p->scores_per_class = false;
        p->n_classes = p->labels >= 0 ? -1 : 1;
    } else if (s->ndim == 2 && s->dims[0] == n && s->dims[1] >= 1) {
        p->scores_per_class = true;
        p->n_classes = s->dims[1];
    } else {
        return lens_error(LENS_STATUS_UNSUPPORTED, "detect (boxes_scores): scores %s do not match boxes %s",
                          vision_output_str(o, (size_t)p->scores, b, sizeof b),
                          vision_output_str(o, (size_t)p->boxes, b + 128, sizeof b - 128));
    }
    if (p->labels >= 0 && vec_len(&o->t[p->labels]) != n)
        return lens_error(LENS_STATUS_UNSUPPORTED, "detect (boxes_scores): labels %s do not match boxes",
                          vision_output_str(o, (size_t)p->labels, b, sizeof b));
    (void)cfg;
    return LENS_OK;
}

/* [1, A, B] or [A, B] as a YOLO matrix. */
static bool yolo_dims(const lens_tensor *t, int64_t *a, int64_t *b) {
    if (t->ndim == 3 && t->dims[0] == 1) {
        *a = t->dims[1];
        *b = t->dims[2];
        return true;
    }
    if (t->ndim == 2) {
        *a = t->dims[0];
        *b = t->dims[1];
        return true;
    }
    return false;
}

static lens_output_layout auto_layout(const lens_vision_config *cfg, const vision_outputs *o) {
    if (o->n >= 2 && find_boxes(o) >= 0) return LENS_OUTPUT_BOXES_SCORES;
    if (o->n < 1) return LENS_OUTPUT_AUTO;
    const lens_tensor *t = &o->t[0];
    if ((t->ndim == 2 && t->dims[1] == 7) || (t->ndim == 4 && t->dims[0] == 1 && t->dims[1] == 1 && t->dims[3] == 7))
        return LENS_OUTPUT_SSD;
    int64_t a, b;
    if (t->ndim == 3 && yolo_dims(t, &a, &b)) {
        int64_t k = (int64_t)cfg->n_labels;
        if (k && a == 4 + k) return LENS_OUTPUT_YOLOV8;
        if (k && b == 4 + k) return LENS_OUTPUT_YOLOV8;
        if (k && b == 5 + k) return LENS_OUTPUT_YOLOV5;
        return a < b ? LENS_OUTPUT_YOLOV8 : LENS_OUTPUT_YOLOV5;
    }
    return LENS_OUTPUT_AUTO;
}

static lens_status labels_mismatch(const lens_vision_config *cfg, const vision_outputs *o, int64_t c) {
    char b[256];
    return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%zu labels (%s) but the model detects %lld classes (%s)",
                      cfg->n_labels, vision_labels_from(cfg), (long long)c, vision_output_str(o, 0, b, sizeof b));
}

lens_status vision_detect_plan(const lens_vision_config *cfg, const vision_outputs *o, vision_det_plan *p) {
    memset(p, 0, sizeof *p);
    p->boxes = p->scores = p->labels = -1;
    char b[256];
    lens_output_layout l = cfg->output_layout;
    if (l == LENS_OUTPUT_AUTO) l = auto_layout(cfg, o);
    if (l == LENS_OUTPUT_AUTO) {
        size_t u = 0;
        char all[768];
        all[0] = '\0';
        for (size_t i = 0; i < o->n && i < 4 && u < sizeof all; i++)
            u += (size_t)snprintf(all + u, sizeof all - u, "%s%s", i ? ", " : "", vision_output_str(o, i, b, sizeof b));
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "detect: the outputs match no known layout (%s); expected yolov5 [1,N,5+C], yolov8 "
                          "[1,4+C,N], boxes [N,4] + scores, or ssd [1,1,N,7] (set lens.output.layout)",
                          o->n ? all : "none");
    }
    p->layout = l;
    p->box = cfg->box_format;
    if (p->box == LENS_BOX_AUTO)
        p->box = (l == LENS_OUTPUT_YOLOV5 || l == LENS_OUTPUT_YOLOV8) ? LENS_BOX_CXCYWH : LENS_BOX_XYXY;
    p->normalized = cfg->normalized;
    /* boxes_scores with a labels output and ssd are what a graph's own NMS
     * kept (torchvision, DetectionOutput): running NMS again at another IoU
     * would drop detections the model meant to keep. */
    p->nms = !(l == LENS_OUTPUT_SSD || l == LENS_OUTPUT_BOXES_SCORES);
    if (o->n < 1) return lens_error(LENS_STATUS_UNSUPPORTED, "detect: the model has no outputs");
    const lens_tensor *t = &o->t[0];
    int64_t a, bb;
    switch (l) {
    case LENS_OUTPUT_YOLOV5:
        if (!yolo_dims(t, &a, &bb) || bb < 6 || !vision_dtype_is_float(t->dtype))
            return lens_error(LENS_STATUS_UNSUPPORTED, "detect (yolov5): %s is not [1, N, 5+C]",
                              vision_output_str(o, 0, b, sizeof b));
        p->boxes = 0;
        p->n = a;
        p->attrs = bb;
        p->n_classes = bb - 5;
        if (cfg->n_labels && (int64_t)cfg->n_labels != p->n_classes) return labels_mismatch(cfg, o, p->n_classes);
        return LENS_OK;
    case LENS_OUTPUT_YOLOV8: {
        if (!yolo_dims(t, &a, &bb) || !vision_dtype_is_float(t->dtype))
            return lens_error(LENS_STATUS_UNSUPPORTED, "detect (yolov8): %s is not [1, 4+C, N] or [1, N, 4+C]",
                              vision_output_str(o, 0, b, sizeof b));
        int64_t k = (int64_t)cfg->n_labels;
        if (k && a == 4 + k) p->channel_first = true;
        else if (k && bb == 4 + k) p->channel_first = false;
        else {
            /* The smaller axis, unless it is too small to hold a box and a class. */
            p->channel_first = a <= bb;
            if ((p->channel_first ? a : bb) < 5) p->channel_first = !p->channel_first;
        }
        p->attrs = p->channel_first ? a : bb;
        p->n = p->channel_first ? bb : a;
        p->n_classes = p->attrs - 4;
        p->boxes = 0;
        if (p->n_classes < 1)
            return lens_error(LENS_STATUS_UNSUPPORTED, "detect (yolov8): %s has no class scores",
                              vision_output_str(o, 0, b, sizeof b));
        if (k && k != p->n_classes) return labels_mismatch(cfg, o, p->n_classes);
        return LENS_OK;
    }
    case LENS_OUTPUT_BOXES_SCORES:
        LENS_TRY(plan_boxes_scores(cfg, o, p));
        p->nms = p->scores_per_class;
        if (p->scores_per_class && cfg->n_labels && (int64_t)cfg->n_labels != p->n_classes)
            return labels_mismatch(cfg, o, p->n_classes);
        return LENS_OK;
    case LENS_OUTPUT_SSD:
        if (t->ndim == 2 && t->dims[1] == 7) p->n = t->dims[0];
        else if (t->ndim == 4 && t->dims[0] == 1 && t->dims[1] == 1 && t->dims[3] == 7) p->n = t->dims[2];
        else
            return lens_error(LENS_STATUS_UNSUPPORTED, "detect (ssd): %s is not [1, 1, N, 7] or [N, 7]",
                              vision_output_str(o, 0, b, sizeof b));
        if (!vision_dtype_is_float(t->dtype))
            return lens_error(LENS_STATUS_UNSUPPORTED, "detect (ssd): %s is not float",
                              vision_output_str(o, 0, b, sizeof b));
        p->boxes = 0;
        p->n_classes = -1;
        return LENS_OK;
    default:
        return lens_error(LENS_STATUS_UNSUPPORTED, "detect: output layout %s is not a detection layout",
                          lens_output_layout_name(l));
    }
}

/* Push one candidate given its box in the configured encoding. */
static void push(const vision_det_plan *p, const lens_vision_config *cfg, vision_candidate *c, size_t *n,
                 float b0, float b1, float b2, float b3, float score, int64_t cls, int64_t order) {
    float x1, y1, x2, y2;
    if (p->box == LENS_BOX_CXCYWH) {
        x1 = b0 - b2 * 0.5f;
        y1 = b1 - b3 * 0.5f;
        x2 = b0 + b2 * 0.5f;
        y2 = b1 + b3 * 0.5f;
    } else {
        x1 = fminf(b0, b2);
        y1 = fminf(b1, b3);
        x2 = fmaxf(b0, b2);
        y2 = fmaxf(b1, b3);
    }
    if (p->normalized) {
        float w = (float)cfg->preprocess.width, h = (float)cfg->preprocess.height;
        x1 *= w;
        x2 *= w;
        y1 *= h;
        y2 *= h;
    }
    if (!isfinite(x1) || !isfinite(y1) || !isfinite(x2) || !isfinite(y2)) return;
    if (cls < INT32_MIN || cls > INT32_MAX) return;
    vision_candidate *v = &c[(*n)++];
    v->x1 = x1;
    v->y1 = y1;
    v->x2 = x2;
    v->y2 = y2;
    v->score = score;
    v->cls = (int32_t)cls;
    v->order = (uint32_t)order;
}

lens_status vision_decode_detections(const lens_vision_config *cfg, const vision_outputs *o,
                                     vision_candidate **cands, size_t *count) {
    *cands = NULL;
    *count = 0;
    vision_det_plan p;
    LENS_TRY(vision_detect_plan(cfg, o, &p));
    for (size_t i = 0; i < o->n; i++)
        if (lens_tensor_numel(&o->t[i]) > 0 && !o->t[i].data)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "detect: output %zu has no data", i);
    if (p.n > UINT32_MAX) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "detect: %lld boxes", (long long)p.n);
    vision_candidate *c = lens_malloc((size_t)(p.n > 0 ? p.n : 1) * sizeof *c);
    if (!c) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "detect: out of memory for %lld candidates", (long long)p.n);
    size_t n = 0;
    const float conf = cfg->conf;
    const lens_tensor *t = &o->t[p.boxes];
    switch (p.layout) {
    case LENS_OUTPUT_YOLOV5:
        for (int64_t i = 0; i < p.n; i++) {
            int64_t r = i * p.attrs;
            float obj = vision_tensor_get(t, r + 4);
            if (!(obj > conf)) continue; /* class scores are at most 1 */
            int64_t best = 0;
            float bs = -INFINITY;
            for (int64_t k = 0; k < p.n_classes; k++) {
                float s = vision_tensor_get(t, r + 5 + k);
                if (s > bs) bs = s, best = k;
            }
            float score = obj * bs;
            if (score > conf)
                push(&p, cfg, c, &n, vision_tensor_get(t, r), vision_tensor_get(t, r + 1), vision_tensor_get(t, r + 2),
                     vision_tensor_get(t, r + 3), score, best, i);
        }
        break;
    case LENS_OUTPUT_YOLOV8: {
        /* Element (attribute a, box i). */
        int64_t sa = p.channel_first ? p.n : 1, si = p.channel_first ? 1 : p.attrs;
        if (p.channel_first && t->dtype == LENS_DTYPE_FLOAT && p.n > 0) {
            /* [1, 4+C, N] float: best class by rows, each read contiguously
             * (a column at a time would stride N floats per class). */
            const float *f = t->data;
            float *best = lens_malloc((size_t)p.n * sizeof *best);
            int32_t *bc = lens_malloc((size_t)p.n * sizeof *bc);
            if (!best || !bc) {
                lens_free(best);
                lens_free(bc);
                lens_free(c);
                return lens_error(LENS_STATUS_OUT_OF_MEMORY, "detect: out of memory");
            }
            for (int64_t i = 0; i < p.n; i++) {
                float v = f[4 * p.n + i];
                best[i] = v == v ? v : -INFINITY; /* NaN never wins */
                bc[i] = 0;
            }
            for (int64_t k = 1; k < p.n_classes; k++) {
                const float *row = f + (4 + k) * p.n;
                for (int64_t i = 0; i < p.n; i++)
                    if (row[i] > best[i]) best[i] = row[i], bc[i] = (int32_t)k;
            }
            for (int64_t i = 0; i < p.n; i++)
                if (best[i] > conf)
                    push(&p, cfg, c, &n, f[i], f[p.n + i], f[2 * p.n + i], f[3 * p.n + i], best[i], bc[i], i);
            lens_free(best);
            lens_free(bc);
            break;
        }
        for (int64_t i = 0; i < p.n; i++) {
            int64_t best = 0;
            float bs = -INFINITY;
            for (int64_t k = 0; k < p.n_classes; k++) {
                float s = vision_tensor_get(t, (4 + k) * sa + i * si);
                if (s > bs) bs = s, best = k;
            }
            if (bs > conf)
                push(&p, cfg, c, &n, vision_tensor_get(t, i * si), vision_tensor_get(t, sa + i * si),
                     vision_tensor_get(t, 2 * sa + i * si), vision_tensor_get(t, 3 * sa + i * si), bs, best, i);
        }
        break;
    }
    case LENS_OUTPUT_BOXES_SCORES: {
        const lens_tensor *st = &o->t[p.scores];
        const lens_tensor *lt = p.labels >= 0 ? &o->t[p.labels] : NULL;
        for (int64_t i = 0; i < p.n; i++) {
            float score;
            int64_t cls = 0;
            if (p.scores_per_class) {
                score = -INFINITY;
                for (int64_t k = 0; k < p.n_classes; k++) {
                    float s = vision_tensor_get(st, i * p.n_classes + k);
                    if (s > score) score = s, cls = k;
                }
            } else {
                score = vision_tensor_get(st, i);
                if (lt) {
                    float lf = vision_tensor_get(lt, i);
                    /* outside int32 push() drops it; the cast must not see it (UB) */
                    if (!(lf >= -2147483648.0f && lf < 2147483648.0f)) continue;
                    cls = (int64_t)lf;
                }
            }
            if (score > conf)
                push(&p, cfg, c, &n, vision_tensor_get(t, 4 * i), vision_tensor_get(t, 4 * i + 1),
                     vision_tensor_get(t, 4 * i + 2), vision_tensor_get(t, 4 * i + 3), score, cls, i);
        }
        break;
    }
    case LENS_OUTPUT_SSD:
        for (int64_t i = 0; i < p.n; i++) {
            int64_t r = 7 * i;
            float id = vision_tensor_get(t, r);
            if (id < 0) break; /* DetectionOutput ends its list with image_id -1 */
            float lf = vision_tensor_get(t, r + 1), score = vision_tensor_get(t, r + 2);
            if (!(lf >= -2147483648.0f && lf < 2147483648.0f) || !(score > conf)) continue; /* int64 cast below */
            push(&p, cfg, c, &n, vision_tensor_get(t, r + 3), vision_tensor_get(t, r + 4), vision_tensor_get(t, r + 5),
                 vision_tensor_get(t, r + 6), score, (int64_t)lf, i);
        }
        break;
    default: break;
    }
    *cands = c;
    *count = n;
    return LENS_OK;
}

static int cmp_cand(const void *a, const void *b) {
    const vision_candidate *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return (x->order > y->order) - (x->order < y->order);
}

float vision_iou(const vision_candidate *a, const vision_candidate *b) {
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (iw <= 0 || ih <= 0) return 0.0f;
    float inter = iw * ih;
    float u = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
    return u > 0 ? inter / u : 0.0f;
}

size_t vision_nms(vision_candidate *c, size_t n, float iou, bool agnostic, size_t max_det) {
    if (n == 0) return 0;
    qsort(c, n, sizeof *c, cmp_cand);
    if (n > VISION_MAX_NMS) n = VISION_MAX_NMS;
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < max_det; i++) {
        bool keep = true;
        for (size_t k = 0; k < kept && keep; k++)
            if ((agnostic || c[k].cls == c[i].cls) && vision_iou(&c[k], &c[i]) > iou) keep = false;
        if (keep) c[kept++] = c[i];
    }
    return kept;
}

void vision_map_box(const lens_transform *tf, const vision_candidate *c, lens_box *out) {
    float sx = tf->scale_x > 0 ? tf->scale_x : 1.0f, sy = tf->scale_y > 0 ? tf->scale_y : 1.0f;
    float w = (float)tf->source_width, h = (float)tf->source_height;
    float x1 = (c->x1 - tf->offset_x) / sx, x2 = (c->x2 - tf->offset_x) / sx;
    float y1 = (c->y1 - tf->offset_y) / sy, y2 = (c->y2 - tf->offset_y) / sy;
    out->x1 = fminf(fmaxf(x1, 0.0f), w);
    out->x2 = fminf(fmaxf(x2, 0.0f), w);
    out->y1 = fminf(fmaxf(y1, 0.0f), h);
    out->y2 = fminf(fmaxf(y2, 0.0f), h);
}

lens_status vision_detect(const lens_vision_config *cfg, const vision_outputs *o, const lens_transform *tf,
                          lens_detections *out) {
    memset(out, 0, sizeof *out);
    if (!tf) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "detect: no transform");
    vision_det_plan p;
    LENS_TRY(vision_detect_plan(cfg, o, &p));
    vision_candidate *c;
    size_t n;
    LENS_TRY(vision_decode_detections(cfg, o, &c, &n));
    /* Without NMS (the model ran its own) only the order and max_det apply,
     * unless class-agnostic NMS is asked for. An IoU threshold above 1
     * suppresses nothing. */
    float iou = p.nms || cfg->agnostic ? cfg->iou : 2.0f;
    size_t kept = vision_nms(c, n, iou, cfg->agnostic, (size_t)cfg->max_det);
    char nb[32];
    size_t bytes = kept * sizeof(lens_detection);
    for (size_t i = 0; i < kept; i++) bytes += strlen(vision_label(cfg, c[i].cls, nb, sizeof nb)) + 1;
    lens_detection *items = lens_malloc(bytes);
    if (!items) {
        lens_free(c);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "detect: out of memory");
    }
    char *str = (char *)(items + kept);
    for (size_t i = 0; i < kept; i++) {
        vision_map_box(tf, &c[i], &items[i].box);
        items[i].score = c[i].score;
        items[i].class_index = c[i].cls;
        const char *l = vision_label(cfg, c[i].cls, nb, sizeof nb);
        size_t len = strlen(l) + 1;
        memcpy(str, l, len);
        items[i].label = str;
        str += len;
    }
    lens_free(c);
    out->count = kept;
    out->items = items;
    out->image_width = tf->source_width;
    out->image_height = tf->source_height;
    return LENS_OK;
}

void lens_detections_free(lens_detections *result) {
    if (!result) return;
    lens_free(result->items);
    memset(result, 0, sizeof *result);
}
