/* Drawing results on images: detection boxes with "label score" tags,
 * segmentation overlays with a legend, text in the built-in 5x7 font.
 * Works on any 8-bit pixel format; colours are given as RGB and written in
 * the image's own channel order. Everything is clipped to the image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/vision_internal.h"

static int channels_of(lens_pixel_format f) {
    switch (f) {
    case LENS_PIXEL_GRAY: return 1;
    case LENS_PIXEL_RGB:
    case LENS_PIXEL_BGR: return 3;
    case LENS_PIXEL_RGBA:
    case LENS_PIXEL_BGRA: return 4;
    default: return 0;
    }
}

static lens_status check_image(const lens_image *img) {
    if (!img || !img->data || img->width < 1 || img->height < 1 || !channels_of(img->format) ||
        img->stride < (int64_t)img->width * channels_of(img->format))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "drawing: not a valid image");
    return LENS_OK;
}

static void put_pixel(lens_image *img, int32_t x, int32_t y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= img->width || y >= img->height) return;
    uint8_t *p = img->data + (int64_t)y * img->stride + (int64_t)x * channels_of(img->format);
    switch (img->format) {
    case LENS_PIXEL_GRAY: p[0] = (uint8_t)((299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2] + 500) / 1000); break;
    case LENS_PIXEL_RGB:
    case LENS_PIXEL_RGBA: p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2]; break;
    case LENS_PIXEL_BGR:
    case LENS_PIXEL_BGRA: p[0] = rgb[2], p[1] = rgb[1], p[2] = rgb[0]; break;
    default: break;
    }
}

static void fill_rect(lens_image *img, int32_t x0, int32_t y0, int32_t x1, int32_t y1, const uint8_t rgb[3]) {
    x0 = LENS_MAX(x0, 0);
    y0 = LENS_MAX(y0, 0);
    x1 = LENS_MIN(x1, img->width);
    y1 = LENS_MIN(y1, img->height);
    for (int32_t y = y0; y < y1; y++)
        for (int32_t x = x0; x < x1; x++) put_pixel(img, x, y, rgb);
}

void lens_vision_class_color(int32_t index, uint8_t rgb[3]) {
    /* 20 distinct colours (Tableau 20 order), then a hash for the rest. */
    static const uint8_t PALETTE[20][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
        {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
        {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};
    if (index >= 0 && index < 20) {
        memcpy(rgb, PALETTE[index], 3);
        return;
    }
    uint32_t h = (uint32_t)index * 2654435761u;
    rgb[0] = (uint8_t)(64 + (h >> 8) % 192);
    rgb[1] = (uint8_t)(64 + (h >> 16) % 192);
    rgb[2] = (uint8_t)(64 + (h >> 24) % 192);
}

lens_status lens_draw_text(lens_image *img, int32_t x, int32_t y, const char *text, const uint8_t rgb[3],
                           const uint8_t *background, int32_t scale) {
    LENS_TRY(check_image(img));
    if (!text || !rgb) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_draw_text: NULL argument");
    if (scale < 1 || scale > 64) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_draw_text: scale %d", (int)scale);
    size_t n = strlen(text);
    int64_t adv = (int64_t)(VISION_FONT_W + 1) * scale;
    if (background) {
        int64_t w = (int64_t)n * adv + scale, h = (int64_t)(VISION_FONT_H + 2) * scale;
        fill_rect(img, x, y, (int32_t)LENS_MIN((int64_t)x + w, INT32_MAX), (int32_t)LENS_MIN((int64_t)y + h, INT32_MAX),
                  background);
    }
    for (size_t i = 0; i < n; i++) {
        int64_t gx = (int64_t)x + scale + (int64_t)i * adv;
        if (gx >= img->width) break;
        const uint8_t *g = vision_font_glyph(text[i]);
        for (int c = 0; c < VISION_FONT_W; c++)
            for (int r = 0; r < VISION_FONT_H; r++)
                if (g[c] >> r & 1)
                    fill_rect(img, (int32_t)(gx + c * scale), y + (r + 1) * scale, (int32_t)(gx + (c + 1) * scale),
                              y + (r + 2) * scale, rgb);
    }
    return LENS_OK;
}

/* Black or white, whichever reads better on `bg`. */
static void text_color_on(const uint8_t bg[3], uint8_t out[3]) {
    int lum = (299 * bg[0] + 587 * bg[1] + 114 * bg[2]) / 1000;
    uint8_t v = lum > 140 ? 0 : 255;
    out[0] = out[1] = out[2] = v;
}

lens_status lens_draw_detections(lens_image *img, const lens_detections *d) {
    LENS_TRY(check_image(img));
    if (!d) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_draw_detections: detections is NULL");
    /* Boxes are in source pixels; the image may have been decoded smaller. */
    float fx = d->image_width > 0 ? (float)img->width / (float)d->image_width : 1.0f;
    float fy = d->image_height > 0 ? (float)img->height / (float)d->image_height : 1.0f;
    int32_t m = LENS_MIN(img->width, img->height);
    int32_t thick = LENS_MAX(1, m / 300), scale = LENS_MAX(1, m / 400);
    /* Lowest score first, so that the best boxes end up on top. */
    for (size_t k = d->count; k-- > 0;) {
        const lens_detection *e = &d->items[k];
        uint8_t col[3], tc[3];
        lens_vision_class_color(e->class_index, col);
        int32_t x1 = (int32_t)lrintf(fminf(fmaxf(e->box.x1 * fx, -1.0f), (float)img->width + 1));
        int32_t y1 = (int32_t)lrintf(fminf(fmaxf(e->box.y1 * fy, -1.0f), (float)img->height + 1));
        int32_t x2 = (int32_t)lrintf(fminf(fmaxf(e->box.x2 * fx, -1.0f), (float)img->width + 1));
        int32_t y2 = (int32_t)lrintf(fminf(fmaxf(e->box.y2 * fy, -1.0f), (float)img->height + 1));
        fill_rect(img, x1, y1, x2 + 1, y1 + thick, col);
        fill_rect(img, x1, y2 - thick + 1, x2 + 1, y2 + 1, col);
        fill_rect(img, x1, y1, x1 + thick, y2 + 1, col);
        fill_rect(img, x2 - thick + 1, y1, x2 + 1, y2 + 1, col);
        char tag[96];
        snprintf(tag, sizeof tag, "%.60s %.2f", e->label ? e->label : "?", (double)e->score);
        int32_t th = (VISION_FONT_H + 2) * scale;
        int32_t ty = y1 - th >= 0 ? y1 - th : y1 + thick; /* above the box, or inside at the top */
        text_color_on(col, tc);
        LENS_TRY(lens_draw_text(img, LENS_MAX(x1, 0), ty, tag, tc, col, scale));
    }
    return LENS_OK;
}

lens_status lens_segmentation_mask(const lens_segmentation *seg, lens_image *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_segmentation_mask: out is NULL");
    memset(out, 0, sizeof *out);
    if (!seg || !seg->mask || seg->width < 1 || seg->height < 1)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_segmentation_mask: empty segmentation");
    out->data = seg->mask;
    out->width = out->source_width = seg->width;
    out->height = out->source_height = seg->height;
    out->stride = seg->width;
    out->format = LENS_PIXEL_GRAY;
    out->owned = false;
    return LENS_OK;
}

static void read_rgb(const lens_image *img, int32_t x, int32_t y, uint8_t rgb[3]) {
    const uint8_t *p = img->data + (int64_t)y * img->stride + (int64_t)x * channels_of(img->format);
    switch (img->format) {
    case LENS_PIXEL_GRAY: rgb[0] = rgb[1] = rgb[2] = p[0]; break;
    case LENS_PIXEL_BGR:
    case LENS_PIXEL_BGRA: rgb[0] = p[2], rgb[1] = p[1], rgb[2] = p[0]; break;
    default: rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2]; break;
    }
}

lens_status lens_draw_segmentation(const lens_image *img, const lens_segmentation *seg, float alpha,
                                   lens_image *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_draw_segmentation: out is NULL");
    memset(out, 0, sizeof *out);
    LENS_TRY(check_image(img));
    if (!seg || !seg->mask || seg->width < 1 || seg->height < 1 || (seg->n_classes && !seg->classes))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_draw_segmentation: empty segmentation");
    if (!(alpha >= 0 && alpha <= 1))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_draw_segmentation: alpha %g is not within 0..1",
                          (double)alpha);
    LENS_TRY(lens_image_alloc(img->width, img->height, LENS_PIXEL_RGB, out));
    out->source_width = img->source_width;
    out->source_height = img->source_height;
    int32_t a = (int32_t)lrintf(alpha * 256.0f);
    for (int32_t y = 0; y < img->height; y++) {
        int64_t my = (int64_t)y * seg->height / img->height;
        const uint8_t *mrow = seg->mask + my * seg->width;
        uint8_t *o = out->data + (int64_t)y * out->stride;
        for (int32_t x = 0; x < img->width; x++, o += 3) {
            uint8_t px[3];
            read_rgb(img, x, y, px);
            uint8_t c = mrow[(int64_t)x * seg->width / img->width];
            if (c != 0 && c != LENS_SEGMENT_OUTSIDE) {
                uint8_t col[3];
                lens_vision_class_color(c, col);
                for (int k = 0; k < 3; k++) px[k] = (uint8_t)((px[k] * (256 - a) + col[k] * a) >> 8);
            }
            memcpy(o, px, 3);
        }
    }
    /* Legend: one row per class present, "label  NN.N%". */
    int32_t m = LENS_MIN(img->width, img->height);
    int32_t scale = LENS_MAX(1, m / 400), row = (VISION_FONT_H + 3) * scale, yy = scale * 2;
    int64_t total = (int64_t)seg->width * seg->height;
    static const uint8_t white[3] = {255, 255, 255}, dark[3] = {32, 32, 32};
    for (int32_t i = 0; i < seg->n_classes && yy < img->height; i++) {
        if (seg->classes[i].pixels == 0) continue;
        uint8_t col[3];
        lens_vision_class_color(seg->classes[i].index, col);
        if (seg->classes[i].index == 0) col[0] = col[1] = col[2] = 0; /* background is not tinted */
        fill_rect(out, scale * 2, yy, scale * 2 + row - scale, yy + row - scale, col);
        char tag[96];
        snprintf(tag, sizeof tag, "%.60s %.1f%%", seg->classes[i].label ? seg->classes[i].label : "?",
                 100.0 * (double)seg->classes[i].pixels / (double)(total ? total : 1));
        lens_status st = lens_draw_text(out, scale * 2 + row, yy, tag, white, dark, scale);
        if (st != LENS_OK) {
            lens_image_release(out);
            return st;
        }
        yy += row;
    }
    return LENS_OK;
}
