/* Internals of the image layer: codecs, pixel conversion, EXIF, and the
 * resampling tables that the fused preprocessing pass runs on. */
#ifndef LENS_IMAGE_INTERNAL_H
#define LENS_IMAGE_INTERNAL_H

#include "core/common.h"
#include "lens/image.h"

#define LENS_IMAGE_DEFAULT_MAX_PIXELS ((int64_t)100 * 1000 * 1000)

/* ---- owned images ------------------------------------------------------- */

/* Like lens_image_alloc but the pixels are not zeroed (decoders fill them). */
lens_status lens_image_alloc_uninit(int32_t width, int32_t height, lens_pixel_format format,
                                    lens_image *out);

/* Validates width/height/format and that width*height fits max_pixels
 * (0 = default); `name` (borrowed) names the image in the message. */
lens_status lens_image_check_size(const char *name, int64_t width, int64_t height,
                                  int64_t max_pixels);

/* ---- pixel formats ------------------------------------------------------ */

/* Converts n pixels from `src` (format sf) to `dst` (format df). Gray from
 * colour uses OpenCV's 15-bit fixed-point weights (cvtColor RGB2GRAY
 * exactly); colour from gray replicates; alpha is dropped or set to 255.
 * src and dst must not overlap unless sf == df. */
void lens_pixels_convert_row(const uint8_t *src, lens_pixel_format sf, uint8_t *dst,
                             lens_pixel_format df, int64_t n);

/* Gray value of one RGB pixel as cv2.cvtColor(COLOR_RGB2GRAY). */
static inline uint8_t lens_gray_from_rgb(uint32_t r, uint32_t g, uint32_t b) {
    return (uint8_t)((r * 9798u + g * 19235u + b * 3735u + (1u << 14)) >> 15);
}

/* ---- EXIF --------------------------------------------------------------- */

/* Orientation (1..8) from an EXIF blob: either an APP1 payload starting
 * "Exif\0\0" or a bare TIFF structure (PNG eXIf). Returns 1 when there is no
 * valid orientation tag. Every offset is bounds-checked: the blob is hostile. */
int lens_exif_orientation(const uint8_t *data, size_t size);

/* True when orientation `o` swaps width and height (5..8). */
static inline bool lens_orientation_swaps(int o) { return o >= 5 && o <= 8; }

/* Replaces *img (owned) by its copy turned upright per EXIF orientation o
 * (2..8; 1 is a no-op). On failure *img is left as it was. */
lens_status lens_image_orient(lens_image *img, int o);

/* ---- codecs (data borrowed for the call; name for messages) ------------- */

lens_status lens_jpeg_decode(const char *name, const uint8_t *data, size_t size,
                             const lens_decode_options *opt, lens_image *out);
lens_status lens_png_decode(const char *name, const uint8_t *data, size_t size,
                            const lens_decode_options *opt, lens_image *out);
/* Encode to a malloc'd buffer (*buf, caller frees with lens_free). */
lens_status lens_jpeg_encode(const lens_image *img, int32_t quality, uint8_t **buf, size_t *size);
lens_status lens_png_encode(const lens_image *img, uint8_t **buf, size_t *size);

/* ---- resampling tables (match OpenCV 4.x cv::resize on 8-bit images) ---- */

/* One axis of a bilinear resize from `src` to `dst` pixels, as OpenCV's
 * INTER_LINEAR (or INTER_AREA's bilinear emulation when area_mode): output
 * index i reads source indices i0[i], i1[i] with 11-bit weights w0[i] +
 * w1[i] (= 2048). Only outputs [first, first + n) are tabulated. */
typedef struct lens_linear_axis {
    int32_t *i0, *i1;
    int16_t *w0, *w1;
} lens_linear_axis;

/* Fills the arrays (each n long, caller-owned). is_x: OpenCV moves taps
 * that fall outside the image onto the edge with weight 2048 for columns,
 * but keeps the weights for rows and only clamps the row indices; the two
 * differ in the last bit of the fixed-point blend, so both are kept. */
void lens_linear_axis_fill(int32_t src, int32_t dst, int32_t first, int32_t n, bool area_mode,
                           bool is_x, lens_linear_axis *ax);

/* One tap of an area (box) filter: destination index, source index, weight. */
typedef struct lens_area_tap {
    int32_t di, si;
    float alpha;
} lens_area_tap;

/* OpenCV's computeResizeAreaTab for shrinking `src` to `dst` (scale =
 * src/dst as OpenCV computes it, >= 1). Writes at most src + 2*dst taps to
 * `tab` (caller's), sorted by destination index, and returns how many. */
int32_t lens_area_tab(int32_t src, int32_t dst, double scale, lens_area_tap *tab);

/* The double-precision scale OpenCV derives from the sizes (1 / (dst/src)). */
static inline double lens_cv_scale(int32_t src, int32_t dst) {
    double inv = (double)dst / (double)src;
    return 1.0 / inv;
}

#endif
