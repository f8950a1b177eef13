/* Fuzz target: image bytes -> lens_image_decode_memory (JPEG / PNG, EXIF
 * orientation, DCT-domain scaling) -> lens_preprocess_image with three
 * specs (stretch NCHW float, letterbox NHWC uint8, crop gray area).
 *
 * max_pixels is 4 megapixels so that a header claiming a huge image is
 * refused before any pixel is decoded (that is what the limit is for) and
 * the fuzzer does not spend its time decoding big pictures. Odd-sized
 * inputs ask for a 32x32 target, which lets JPEG decode at 1/2..1/8 scale. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "lens/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void preprocess(const lens_image *img, lens_resize_mode mode, lens_layout layout, lens_dtype dtype,
                       lens_channel_order ch, lens_interp interp, int32_t w, int32_t h) {
    lens_preprocess pp;
    lens_preprocess_default(&pp);
    pp.width = w;
    pp.height = h;
    pp.resize = mode;
    pp.layout = layout;
    pp.dtype = dtype;
    pp.channels = ch;
    pp.interp = interp;
    size_t bytes = lens_preprocess_tensor_bytes(&pp);
    if (!bytes) __builtin_trap(); /* the spec is valid */
    uint8_t *dst = malloc(bytes);
    if (!dst) return;
    lens_transform tf;
    if (lens_preprocess_image(img, &pp, dst, bytes, &tf) == LENS_OK) {
        float sx, sy;
        lens_transform_point(&tf, 1.0f, 2.0f, &sx, &sy);
        uint64_t s = 0;
        for (size_t i = 0; i < bytes; i++) s += dst[i];
        fuzz_sink += s + (uint64_t)(sx != sx);
    } else {
        fuzz_touch_string(lens_last_error());
    }
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lens_decode_options opt;
    memset(&opt, 0, sizeof opt);
    opt.max_pixels = 1 << 22;
    if (size & 1) opt.target_width = opt.target_height = 32;
    if (size & 2) opt.format = LENS_PIXEL_BGRA;
    lens_image img;
    if (lens_image_decode_memory(data, size, &opt, &img) != LENS_OK) {
        fuzz_touch_string(lens_last_error());
        return 0;
    }
    if (img.width < 1 || img.height < 1 || (int64_t)img.width * img.height > opt.max_pixels ||
        img.stride < (int64_t)img.width * lens_pixel_format_channels(img.format))
        __builtin_trap();
    /* every pixel byte is readable */
    uint64_t s = 0;
    for (int32_t y = 0; y < img.height; y++)
        for (int64_t x = 0; x < (int64_t)img.width * lens_pixel_format_channels(img.format); x++)
            s += img.data[y * img.stride + x];
    fuzz_sink += s;
    preprocess(&img, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW, LENS_DTYPE_FLOAT, LENS_CHANNELS_RGB, LENS_INTERP_BILINEAR,
               24, 16);
    preprocess(&img, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NHWC, LENS_DTYPE_UINT8, LENS_CHANNELS_BGR, LENS_INTERP_AREA,
               20, 28);
    preprocess(&img, LENS_RESIZE_CROP, LENS_LAYOUT_NCHW, LENS_DTYPE_FLOAT, LENS_CHANNELS_GRAY, LENS_INTERP_AREA, 16,
               16);
    lens_image_release(&img);
    return 0;
}
