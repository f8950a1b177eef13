/* Pixel format conversion and EXIF orientation. */
#include "image/image_internal.h"

/* Offsets of R, G, B (and alpha, -1 if none) inside a pixel of each format. */
static void layout(lens_pixel_format f, int *r, int *g, int *b, int *a) {
    switch (f) {
    case LENS_PIXEL_RGB: *r = 0, *g = 1, *b = 2, *a = -1; return;
    case LENS_PIXEL_BGR: *r = 2, *g = 1, *b = 0, *a = -1; return;
    case LENS_PIXEL_RGBA: *r = 0, *g = 1, *b = 2, *a = 3; return;
    case LENS_PIXEL_BGRA: *r = 2, *g = 1, *b = 0, *a = 3; return;
    default: *r = *g = *b = 0, *a = -1; return; /* gray */
    }
}

void lens_pixels_convert_row(const uint8_t *src, lens_pixel_format sf, uint8_t *dst,
                             lens_pixel_format df, int64_t n) {
    int sc = lens_pixel_format_channels(sf), dc = lens_pixel_format_channels(df);
    if (sf == df) {
        if (src != dst) memcpy(dst, src, (size_t)(n * sc));
        return;
    }
    int sr, sg, sb, sa, dr, dg, db, da;
    layout(sf, &sr, &sg, &sb, &sa);
    layout(df, &dr, &dg, &db, &da);
    if (df == LENS_PIXEL_GRAY) {
        for (int64_t i = 0; i < n; i++, src += sc)
            dst[i] = lens_gray_from_rgb(src[sr], src[sg], src[sb]);
        return;
    }
    if (sf == LENS_PIXEL_GRAY) {
        for (int64_t i = 0; i < n; i++, dst += dc) {
            dst[0] = dst[1] = dst[2] = src[i];
            if (da >= 0) dst[da] = 255;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++, src += sc, dst += dc) {
        uint8_t r = src[sr], g = src[sg], b = src[sb];
        dst[dr] = r, dst[dg] = g, dst[db] = b;
        if (da >= 0) dst[da] = sa >= 0 ? src[sa] : 255;
    }
}

/* EXIF orientation: the transform that turns the stored pixels upright.
 * Output (x, y) of the upright image (ow x oh) reads stored (sx, sy):
 *   1 (x, y)            2 (w-1-x, y)         3 (w-1-x, h-1-y)    4 (x, h-1-y)
 *   5 (y, x)            6 (y, h-1-x)         7 (w-1-y, h-1-x)    8 (w-1-y, x)
 * 6 is "rotate 90 degrees clockwise to view", 8 counter-clockwise, 5 and 7
 * the two transposes (EXIF 2.32, tag 0x0112). */
lens_status lens_image_orient(lens_image *img, int o) {
    if (o <= 1 || o > 8) return LENS_OK;
    int32_t w = img->width, h = img->height;
    bool swap = lens_orientation_swaps(o);
    lens_image out;
    LENS_TRY(lens_image_alloc_uninit(swap ? h : w, swap ? w : h, img->format, &out));
    int ch = lens_pixel_format_channels(img->format);
    /* Start pixel and steps (in bytes of the source) along an output row
     * and down the output columns. */
    int64_t s = img->stride, c = ch;
    int64_t start = 0, dx = 0, dy = 0;
    switch (o) {
    case 2: start = (w - 1) * c, dx = -c, dy = s; break;
    case 3: start = (h - 1) * s + (w - 1) * c, dx = -c, dy = -s; break;
    case 4: start = (h - 1) * s, dx = c, dy = -s; break;
    case 5: start = 0, dx = s, dy = c; break;
    case 6: start = (h - 1) * s, dx = -s, dy = c; break;
    case 7: start = (h - 1) * s + (w - 1) * c, dx = -s, dy = -c; break;
    case 8: start = (w - 1) * c, dx = s, dy = -c; break;
    }
    for (int32_t y = 0; y < out.height; y++) {
        const uint8_t *p = img->data + start + dy * y;
        uint8_t *q = out.data + out.stride * y;
        for (int32_t x = 0; x < out.width; x++, p += dx, q += ch)
            for (int k = 0; k < ch; k++) q[k] = p[k];
    }
    out.source_width = swap ? img->source_height : img->source_width;
    out.source_height = swap ? img->source_width : img->source_height;
    lens_image_release(img);
    *img = out;
    return LENS_OK;
}
