/* lens image API: decoding, encoding and the fused preprocessing pass.
 *
 * An image is plain 8-bit pixels, either owned by lens (decoded, converted)
 * or borrowed from the caller (lens_image_wrap: camera frames, buffers of
 * another library). Ownership is written next to every function.
 *
 * Example: decode a photo for a 224x224 RGB model and build its tensor.
 *
 *     lens_image img;
 *     lens_decode_options dopt = {0};
 *     dopt.target_width = 224; dopt.target_height = 224;   // lets JPEG decode scaled
 *     if (lens_image_decode_file("cat.jpg", &dopt, &img) != LENS_OK) {
 *         fprintf(stderr, "%s\n", lens_last_error());
 *         return 1;
 *     }
 *     lens_preprocess pp;
 *     lens_preprocess_default(&pp);      // 224x224 stretch bilinear RGB /255 NCHW f32
 *     pp.resize = LENS_RESIZE_CROP; pp.resize_short = 256;
 *     float *x = malloc(lens_preprocess_tensor_bytes(&pp));
 *     lens_transform tf;
 *     lens_preprocess_image(&img, &pp, x, lens_preprocess_tensor_bytes(&pp), &tf);
 *     lens_image_release(&img);
 */
#ifndef LENS_IMAGE_H
#define LENS_IMAGE_H

#include "lens/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lens_pixel_format {
    LENS_PIXEL_UNKNOWN = 0,
    LENS_PIXEL_GRAY = 1, /* 1 byte per pixel */
    LENS_PIXEL_RGB = 2,  /* 3 bytes: R, G, B */
    LENS_PIXEL_BGR = 3,  /* 3 bytes: B, G, R (OpenCV's order) */
    LENS_PIXEL_RGBA = 4, /* 4 bytes; alpha is ignored by preprocessing */
    LENS_PIXEL_BGRA = 5,
} lens_pixel_format;

/* Bytes per pixel of a format (0 for LENS_PIXEL_UNKNOWN or invalid). */
LENS_API int32_t lens_pixel_format_channels(lens_pixel_format format);
LENS_API const char *lens_pixel_format_name(lens_pixel_format format);

typedef struct lens_image {
    uint8_t *data;             /* first row */
    int32_t width, height;     /* pixels of `data` */
    int64_t stride;            /* bytes from one row to the next (>= width * channels) */
    lens_pixel_format format;
    /* Size of the picture this image stands for, after EXIF orientation.
     * Equal to width/height unless the decoder scaled it down in the DCT
     * domain: results are mapped back to source_width x source_height. */
    int32_t source_width, source_height;
    bool owned;                /* data is lens's (free with lens_image_release) */
} lens_image;

/* Borrow caller pixels: *out points at `data` (not copied; must outlive
 * every use of *out). Checks sizes and stride; source size = width/height. */
LENS_API lens_status lens_image_wrap(void *data, int32_t width, int32_t height, int64_t stride,
                                     lens_pixel_format format, lens_image *out);

/* Allocate an owned, zeroed image (stride = width * channels). */
LENS_API lens_status lens_image_alloc(int32_t width, int32_t height, lens_pixel_format format,
                                      lens_image *out);

/* Free the pixels if owned and zero *img. Safe on a zeroed or borrowed image. */
LENS_API void lens_image_release(lens_image *img);

typedef struct lens_decode_options {
    /* Refuse images with more pixels than this, checked from the header
     * before any pixel is decoded. 0 = default (100 megapixels). */
    int64_t max_pixels;
    /* Size the pixels are headed for (the model input). When both are > 0
     * and the image is far larger, JPEG is decoded at 1/2, 1/4 or 1/8 scale
     * in the DCT domain, always leaving the decoded image at least twice the
     * target in both directions so a real resize still follows. 0 = full size. */
    int32_t target_width, target_height;
    bool no_scaled_decode;   /* decode full size whatever the target */
    bool ignore_exif;        /* do not apply the EXIF orientation tag */
    lens_pixel_format format; /* pixels wanted; UNKNOWN = RGB (GRAY kept for gray files only if asked) */
} lens_decode_options;

/* Decode a JPEG or PNG (detected from the bytes, not the name) into an
 * owned image (*out; release with lens_image_release). Options may be NULL.
 * Errors name the file and the problem (not an image, truncated, too large). */
LENS_API lens_status lens_image_decode_file(const char *path, const lens_decode_options *options,
                                            lens_image *out);
/* Same from memory; `data` is only read during the call. */
LENS_API lens_status lens_image_decode_memory(const void *data, size_t size,
                                              const lens_decode_options *options, lens_image *out);

/* Encode `img` (any format; borrowed) to a file: PNG or JPEG chosen from the
 * extension (.png, .jpg/.jpeg). quality: JPEG quality 1..100 (0 = 90). */
LENS_API lens_status lens_image_write_file(const char *path, const lens_image *img, int32_t quality);

/* ---- preprocessing -------------------------------------------------------- */

typedef enum lens_resize_mode {
    LENS_RESIZE_STRETCH = 0,   /* to width x height, aspect not kept (cv2.resize) */
    LENS_RESIZE_LETTERBOX = 1, /* keep aspect, centred, padded with pad_value */
    LENS_RESIZE_CROP = 2,      /* shorter side to resize_short, then centre crop (torchvision) */
} lens_resize_mode;

typedef enum lens_interp {
    LENS_INTERP_BILINEAR = 0, /* matches cv2.INTER_LINEAR (half-pixel centres, clamped) */
    LENS_INTERP_AREA = 1,     /* matches cv2.INTER_AREA: box average when shrinking; when growing,
                               * OpenCV's area-mode bilinear (sharper than INTER_LINEAR) */
} lens_interp;

typedef enum lens_layout { LENS_LAYOUT_NCHW = 0, LENS_LAYOUT_NHWC = 1 } lens_layout;

typedef enum lens_channel_order {
    LENS_CHANNELS_RGB = 0,
    LENS_CHANNELS_BGR = 1,
    LENS_CHANNELS_GRAY = 2,   /* one channel: 0.299 R + 0.587 G + 0.114 B, as cv2 */
} lens_channel_order;

/* What a model expects as input. value = (pixel * scale - mean[c]) / std[c],
 * with c in the model's channel order. */
typedef struct lens_preprocess {
    int32_t width, height;         /* model input size */
    lens_resize_mode resize;
    int32_t resize_short;          /* CROP: shorter side before cropping; 0 = crop size's shorter side */
    lens_interp interp;
    int32_t pad_value;             /* LETTERBOX padding, in pixel units 0..255 (default 114) */
    lens_channel_order channels;
    float scale;                   /* default 1/255 */
    float mean[3], std[3];         /* default 0 and 1 */
    lens_layout layout;
    lens_dtype dtype;              /* LENS_DTYPE_FLOAT or LENS_DTYPE_UINT8 (raw pixels, no scale/mean/std) */
} lens_preprocess;

/* Defaults: 224x224, stretch, bilinear, pad 114, RGB, scale 1/255, mean 0,
 * std 1, NCHW, float32. */
LENS_API void lens_preprocess_default(lens_preprocess *spec);

/* Bytes of the tensor (batch 1) that spec produces; 0 if spec is invalid. */
LENS_API size_t lens_preprocess_tensor_bytes(const lens_preprocess *spec);

/* Where a model-input pixel came from: source_x = (x - offset_x) / scale_x
 * (likewise y), in the coordinates of the source picture
 * (img->source_width x img->source_height). Coordinates are continuous
 * with pixel edges at integers: model pixel i covers [i, i + 1), and the
 * model input's right edge (x = width) maps to the picture's (source_width)
 * for stretch. */
typedef struct lens_transform {
    float scale_x, scale_y;
    float offset_x, offset_y;
    int32_t source_width, source_height;
} lens_transform;

/* Map a point from model-input coordinates to source coordinates (not clamped). */
LENS_API void lens_transform_point(const lens_transform *tf, float x, float y, float *sx, float *sy);

/* Resize, convert colour, normalise and change layout in one pass, writing
 * the batch-1 input tensor into `dst` (caller's, dst_bytes >= tensor bytes).
 * `tf` (may be NULL) receives the mapping back to the source picture. */
LENS_API lens_status lens_preprocess_image(const lens_image *img, const lens_preprocess *spec,
                                           void *dst, size_t dst_bytes, lens_transform *tf);

#ifdef __cplusplus
}
#endif
#endif
