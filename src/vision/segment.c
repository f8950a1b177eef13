/* Segmentation post-processing: per-pixel argmax (or a threshold for a
 * one-channel output) at the output's resolution, then the class map is
 * sampled (nearest) for every pixel of the source picture through the
 * preprocessing transform. Source pixels the model never saw (cut off by a
 * centre crop) get LENS_SEGMENT_OUTSIDE.
 *
 * Source pixel (sx, sy) has its centre at model-input coordinates
 * x = (sx + 0.5) * scale_x + offset_x (the inverse of lens_transform), which
 * falls in output column floor(x * out_w / in_w). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/seg_kernels.h"
#include "vision/vision_internal.h"

lens_status vision_segment_plan(const lens_vision_config *cfg, const vision_outputs *o, vision_seg_plan *p) {
    memset(p, 0, sizeof *p);
    char b[256];
    if (o->n < 1) return lens_error(LENS_STATUS_UNSUPPORTED, "segment: the model has no outputs");
    const lens_tensor *t = &o->t[0];
    const int64_t *d = NULL;
    if (t->ndim == 4 && t->dims[0] == 1) d = t->dims + 1;
    else if (t->ndim == 3) d = t->dims;
    if (!d || !vision_dtype_is_float(t->dtype) || d[0] < 1 || d[1] < 1 || d[2] < 1)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "segment: %s matches no known layout (expected float [1, C, H, W])",
                          vision_output_str(o, 0, b, sizeof b));
    p->channels = d[0];
    p->height = d[1];
    p->width = d[2];
    lens_output_layout l = cfg->output_layout;
    if (l == LENS_OUTPUT_SIGMOID && p->channels != 1)
        return lens_error(LENS_STATUS_UNSUPPORTED, "segment (sigmoid): %s has %lld channels, expected 1",
                          vision_output_str(o, 0, b, sizeof b), (long long)p->channels);
    if (p->channels == 1) {
        p->sigmoid = true;
        p->threshold = l == LENS_OUTPUT_PROBS ? 0.5f : 0.0f; /* sigmoid(x) > 0.5 <=> x > 0 */
        p->n_classes = 2;
    } else {
        if (p->channels > 255)
            return lens_error(LENS_STATUS_UNSUPPORTED,
                              "segment: %s has %lld classes; the mask holds at most 255",
                              vision_output_str(o, 0, b, sizeof b), (long long)p->channels);
        p->n_classes = (int32_t)p->channels;
    }
    if (cfg->n_labels && (int64_t)cfg->n_labels != p->n_classes)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%zu labels (%s) but the model segments %d classes (%s)",
                          cfg->n_labels, vision_labels_from(cfg), (int)p->n_classes,
                          vision_output_str(o, 0, b, sizeof b));
    return LENS_OK;
}

/* Output cell of each source column (or row); `outside` where the model did
 * not see it. */
static void axis_map(int32_t n_src, float scale, float offset, int32_t in_size, int64_t out_size, int32_t outside,
                     int32_t *map) {
    double ratio = (double)out_size / (double)in_size;
    for (int32_t s = 0; s < n_src; s++) {
        double x = ((double)s + 0.5) * scale + offset; /* model-input coordinates */
        if (x < 0 || x >= in_size) {
            map[s] = outside;
            continue;
        }
        int64_t c = (int64_t)floor(x * ratio);
        map[s] = (int32_t)(c < 0 ? 0 : c >= out_size ? out_size - 1 : c);
    }
}

/* Pixels per argmax block: the running maxima of one block stay in L1
 * while every channel plane streams through it once. */
#define SEG_ARGMAX_BLOCK 512

/* Class per output cell of a float [C, plane] tensor: first maximum wins,
 * NaN never wins (a NaN in channel 0 counts as -inf). Channels are walked
 * outermost per block of pixels, so each plane is read sequentially (the
 * pixel-outer order strides over C planes, C streams at once), and each
 * step is a branch-free kernel of the seg family (seg_kernels.h). Rows of
 * cls are `stride` apart; row r holds cells [r * w, r * w + w). */
static void argmax_planes(const float *v, int64_t channels, int64_t h, int64_t w, uint8_t *cls, int64_t stride) {
    float best[SEG_ARGMAX_BLOCK];
    int32_t idx[SEG_ARGMAX_BLOCK];
    const lens_seg_kernels *kern = lens_seg_kernels_best();
    int64_t plane = h * w;
    for (int64_t r = 0; r < h; r++) {
        for (int64_t x0 = 0; x0 < w; x0 += SEG_ARGMAX_BLOCK) {
            int64_t n = LENS_MIN(w - x0, (int64_t)SEG_ARGMAX_BLOCK), base = r * w + x0;
            for (int64_t i = 0; i < n; i++) {
                float b = v[base + i];
                best[i] = b != b ? -INFINITY : b;
                idx[i] = 0;
            }
            for (int64_t k = 1; k < channels; k++)
                kern->argmax_step(v + k * plane + base, best, idx, (int32_t)k, (size_t)n);
            uint8_t *o = cls + r * stride + x0;
            for (int64_t i = 0; i < n; i++) o[i] = (uint8_t)idx[i];
        }
    }
}

lens_status vision_segment(const lens_vision_config *cfg, const vision_outputs *o, const lens_transform *tf,
                           lens_segmentation *out) {
    return vision_segment_ex(cfg, o, tf, true, out);
}

lens_status vision_segment_ex(const lens_vision_config *cfg, const vision_outputs *o, const lens_transform *tf,
                              bool want_mask, lens_segmentation *out) {
    memset(out, 0, sizeof *out);
    if (!tf) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "segment: no transform");
    vision_seg_plan p;
    LENS_TRY(vision_segment_plan(cfg, o, &p));
    const lens_tensor *t = &o->t[0];
    if (!t->data) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "segment: output 0 has no data");
    int32_t sw = tf->source_width, sh = tf->source_height;
    if (sw < 1 || sh < 1 || (int64_t)sw * sh > ((int64_t)1 << 34))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "segment: source size %dx%d is invalid", (int)sw, (int)sh);
    /* The class map has one extra column holding LENS_SEGMENT_OUTSIDE, the
     * cell of source columns the model did not see, so filling a mask row
     * is a plain gather. */
    int64_t plane = p.height * p.width, stride = p.width + 1;
    size_t cls_bytes, mask_bytes;
    if (lens_mul_ovf_size((size_t)p.height, (size_t)stride, &cls_bytes) ||
        lens_mul_ovf_size((size_t)sw, (size_t)sh, &mask_bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "segment: the class map or the mask is too large");
    uint8_t *cls = lens_malloc(cls_bytes);
    int32_t *mx = lens_malloc((size_t)sw * sizeof *mx);
    int32_t *my = lens_malloc((size_t)sh * sizeof *my);
    int64_t *col_n = lens_calloc((size_t)stride, sizeof *col_n); /* source columns per cell */
    int64_t *row_n = lens_calloc((size_t)p.height, sizeof *row_n); /* source rows per output row */
    uint8_t *mask = want_mask ? lens_malloc(mask_bytes) : NULL;
    size_t lbytes = (size_t)p.n_classes * sizeof(lens_segment_class);
    char nb[32];
    for (int32_t c = 0; c < p.n_classes; c++) lbytes += strlen(vision_label(cfg, c, nb, sizeof nb)) + 1;
    lens_segment_class *classes = lens_malloc(lbytes);
    if (!cls || !mx || !my || !col_n || !row_n || (want_mask && !mask) || !classes) {
        lens_free(cls);
        lens_free(mx);
        lens_free(my);
        lens_free(col_n);
        lens_free(row_n);
        lens_free(mask);
        lens_free(classes);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "segment: out of memory for a %dx%d mask", (int)sw, (int)sh);
    }
    /* Class per output cell: first maximum wins; NaN never wins. */
    if (p.sigmoid) {
        for (int64_t i = 0; i < plane; i++)
            cls[(i / p.width) * stride + i % p.width] = vision_tensor_get(t, i) > p.threshold ? 1 : 0;
    } else if (t->dtype == LENS_DTYPE_FLOAT) {
        argmax_planes(t->data, p.channels, p.height, p.width, cls, stride);
    } else {
        for (int64_t i = 0; i < plane; i++) {
            float best = vision_tensor_get(t, i);
            int c = 0;
            if (isnan(best)) best = -INFINITY;
            for (int64_t k = 1; k < p.channels; k++) {
                float x = vision_tensor_get(t, k * plane + i);
                if (x > best) best = x, c = (int)k;
            }
            cls[(i / p.width) * stride + i % p.width] = (uint8_t)c;
        }
    }
    for (int64_t r = 0; r < p.height; r++) cls[r * stride + p.width] = LENS_SEGMENT_OUTSIDE;
    float sx = tf->scale_x > 0 ? tf->scale_x : 1.0f, sy = tf->scale_y > 0 ? tf->scale_y : 1.0f;
    axis_map(sw, sx, tf->offset_x, cfg->preprocess.width, p.width, (int32_t)p.width, mx);
    axis_map(sh, sy, tf->offset_y, cfg->preprocess.height, p.height, -1, my);
    /* Nearest-neighbour upscale: a gather through the column map per
     * distinct source row, a copy of the row above when a row maps to the
     * same output row (most of them when upscaling). */
    for (int32_t y = 0; want_mask && y < sh; y++) {
        uint8_t *row = mask + (size_t)y * (size_t)sw;
        if (y > 0 && my[y] == my[y - 1]) {
            memcpy(row, row - sw, (size_t)sw);
        } else if (my[y] < 0) {
            memset(row, LENS_SEGMENT_OUTSIDE, (size_t)sw);
        } else {
            const uint8_t *src = cls + (int64_t)my[y] * stride;
            for (int32_t x = 0; x < sw; x++) row[x] = src[mx[x]];
        }
    }
    /* Pixel counts without reading the mask: cell (r, c) covers row_n[r] x
     * col_n[c] source pixels. */
    int64_t counts[256] = {0}, rows_outside = 0;
    for (int32_t x = 0; x < sw; x++) col_n[mx[x]]++;
    for (int32_t y = 0; y < sh; y++) {
        if (my[y] < 0) rows_outside++;
        else row_n[my[y]]++;
    }
    counts[LENS_SEGMENT_OUTSIDE] = rows_outside * sw;
    for (int64_t r = 0; r < p.height; r++) {
        if (!row_n[r]) continue;
        const uint8_t *src = cls + r * stride;
        for (int64_t c = 0; c <= p.width; c++) counts[src[c]] += row_n[r] * col_n[c];
    }
    char *str = (char *)(classes + p.n_classes);
    for (int32_t c = 0; c < p.n_classes; c++) {
        const char *l = vision_label(cfg, c, nb, sizeof nb);
        size_t len = strlen(l) + 1;
        memcpy(str, l, len);
        classes[c].index = c;
        classes[c].pixels = counts[c];
        classes[c].label = str;
        str += len;
    }
    lens_free(cls);
    lens_free(mx);
    lens_free(my);
    lens_free(col_n);
    lens_free(row_n);
    out->width = sw;
    out->height = sh;
    out->mask = mask;
    out->n_classes = p.n_classes;
    out->classes = classes;
    out->outside_pixels = counts[LENS_SEGMENT_OUTSIDE];
    return LENS_OK;
}

void lens_segmentation_free(lens_segmentation *result) {
    if (!result) return;
    lens_free(result->mask);
    lens_free(result->classes);
    memset(result, 0, sizeof *result);
}
