/* PNG through libspng: decoding any PNG (1..16-bit, gray, palette, alpha)
 * into 8-bit pixels of the wanted format, and encoding. libspng reports
 * errors by return code, so no setjmp is needed here. Its allocations go
 * through lens's allocator (so tests can inject failures). */
#include <spng.h>

#include "image/image_internal.h"

/* Ancillary chunks (text, ICC profiles, EXIF) are capped: a PNG may declare
 * chunks of up to 2^31 bytes, and compressed text may inflate further. */
#define LENS_PNG_MAX_CHUNK ((size_t)64 << 20)
#define LENS_PNG_MAX_CACHE ((size_t)128 << 20)

/* libspng reports a failed allocation inside zlib as a stream error; the
 * wrappers remember it so that the caller sees OUT_OF_MEMORY, not "bad PNG". */
static _Thread_local bool g_alloc_failed;

static void *png_malloc(size_t n) {
    void *p = lens_malloc(n);
    if (!p) g_alloc_failed = true;
    return p;
}
static void *png_realloc(void *q, size_t n) {
    void *p = lens_realloc(q, n);
    if (!p) g_alloc_failed = true;
    return p;
}
static void *png_calloc(size_t n, size_t s) {
    void *p = lens_calloc(n, s);
    if (!p) g_alloc_failed = true;
    return p;
}

static struct spng_alloc g_alloc = {png_malloc, png_realloc, png_calloc, lens_free};

static lens_status spng_fail(const char *name, const char *what, int r) {
    if (r == SPNG_EMEM || g_alloc_failed)
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory decoding the PNG (%s)", name, what);
    return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: bad PNG: %s: %s", name, what, spng_strerror(r));
}

/* Swap R and B in place (RGB <-> BGR, RGBA <-> BGRA). */
static void swap_rb(uint8_t *p, int64_t n, int ch) {
    for (int64_t i = 0; i < n; i++, p += ch) {
        uint8_t t = p[0];
        p[0] = p[2];
        p[2] = t;
    }
}

/* libspng stops at the IEND chunk type without reading its CRC; a file cut
 * inside those last bytes is truncated all the same. Trailing bytes after
 * IEND are tolerated (as libpng does), so look backwards for it. */
static bool has_iend(const uint8_t *d, size_t n) {
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    for (size_t i = n; i >= 12 + 8; i--)
        if (d[i - 12] == 0 && memcmp(d + i - 12, iend, 12) == 0) return true;
    return false;
}

lens_status lens_png_decode(const char *name, const uint8_t *data, size_t size,
                            const lens_decode_options *opt, lens_image *out) {
    g_alloc_failed = false;
    spng_ctx *ctx = spng_ctx_new2(&g_alloc, 0);
    if (!ctx) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    lens_image img = {0};
    uint8_t *tmp = NULL;
    lens_status st = LENS_OK;
    int r;
    spng_set_chunk_limits(ctx, LENS_PNG_MAX_CHUNK, LENS_PNG_MAX_CACHE);
    if ((r = spng_set_png_buffer(ctx, data, size))) {
        st = spng_fail(name, "reading", r);
        goto done;
    }
    struct spng_ihdr ihdr;
    if ((r = spng_get_ihdr(ctx, &ihdr))) {
        st = spng_fail(name, "header", r);
        goto done;
    }
    st = lens_image_check_size(name, ihdr.width, ihdr.height, opt ? opt->max_pixels : 0);
    if (st != LENS_OK) goto done;

    lens_pixel_format want = opt && opt->format ? opt->format : LENS_PIXEL_RGB;
    int fmt, flags = 0;
    bool to_gray = false; /* decode RGB8 into tmp, then to gray */
    switch (want) {
    case LENS_PIXEL_GRAY:
        if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8) fmt = SPNG_FMT_G8;
        else fmt = SPNG_FMT_RGB8, to_gray = true;
        break;
    case LENS_PIXEL_RGB:
    case LENS_PIXEL_BGR: fmt = SPNG_FMT_RGB8; break;
    default: fmt = SPNG_FMT_RGBA8, flags = SPNG_DECODE_TRNS; break;
    }
    st = lens_image_alloc_uninit((int32_t)ihdr.width, (int32_t)ihdr.height, want, &img);
    if (st != LENS_OK) goto done;
    size_t len, expect = (size_t)img.stride * (size_t)img.height;
    if ((r = spng_decoded_image_size(ctx, fmt, &len))) {
        st = spng_fail(name, "image size", r);
        goto done;
    }
    uint8_t *dst = img.data;
    if (to_gray) {
        expect = (size_t)img.width * 3 * (size_t)img.height;
        dst = tmp = lens_malloc(expect);
        if (!tmp) {
            st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
            goto done;
        }
    }
    if (len != expect) {
        st = lens_error(LENS_STATUS_INTERNAL, "%s: libspng wants %zu bytes, expected %zu", name, len,
                        expect);
        goto done;
    }
    if ((r = spng_decode_image(ctx, dst, len, fmt, flags))) {
        st = spng_fail(name, "pixel data", r);
        goto done;
    }
    /* Read on to IEND: a file cut after its pixel data is still truncated,
     * and an eXIf chunk may follow the image. */
    if ((r = spng_decode_chunks(ctx))) {
        st = spng_fail(name, r == SPNG_EOF ? "truncated after the pixel data" : "chunks after the pixel data", r);
        goto done;
    }
    if (!has_iend(data, size)) {
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: truncated PNG (no complete IEND chunk)", name);
        goto done;
    }
    if (to_gray) {
        for (int32_t y = 0; y < img.height; y++)
            lens_pixels_convert_row(tmp + (size_t)y * img.width * 3, LENS_PIXEL_RGB,
                                    img.data + img.stride * y, LENS_PIXEL_GRAY, img.width);
    } else if (want == LENS_PIXEL_BGR || want == LENS_PIXEL_BGRA) {
        swap_rb(img.data, (int64_t)img.width * img.height, lens_pixel_format_channels(want));
    }
    int o = 1;
    if (!(opt && opt->ignore_exif)) {
        struct spng_exif exif;
        if (spng_get_exif(ctx, &exif) == 0) o = lens_exif_orientation((const uint8_t *)exif.data, exif.length);
    }
    st = lens_image_orient(&img, o);

done:
    spng_ctx_free(ctx);
    lens_free(tmp);
    if (st == LENS_OK) *out = img;
    else lens_image_release(&img);
    return st;
}

lens_status lens_png_encode(const lens_image *img, uint8_t **buf, size_t *size) {
    *buf = NULL;
    *size = 0;
    g_alloc_failed = false;
    spng_ctx *ctx = spng_ctx_new2(&g_alloc, SPNG_CTX_ENCODER);
    if (!ctx) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory encoding a PNG");
    lens_status st = LENS_OK;
    int r, ch = lens_pixel_format_channels(img->format);
    uint8_t *row = NULL;
    struct spng_ihdr ihdr = {0};
    ihdr.width = (uint32_t)img->width;
    ihdr.height = (uint32_t)img->height;
    ihdr.bit_depth = 8;
    ihdr.color_type = ch == 1   ? SPNG_COLOR_TYPE_GRAYSCALE
                      : ch == 3 ? SPNG_COLOR_TYPE_TRUECOLOR
                                : SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    bool swap = img->format == LENS_PIXEL_BGR || img->format == LENS_PIXEL_BGRA;
    size_t row_bytes = (size_t)img->width * ch;
    if (swap && !(row = lens_malloc(row_bytes))) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory encoding a PNG");
        goto done;
    }
    if ((r = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1)) || (r = spng_set_ihdr(ctx, &ihdr)) ||
        (r = spng_encode_image(ctx, NULL, 0, SPNG_FMT_PNG,
                               SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE))) {
        st = lens_error(r == SPNG_EMEM ? LENS_STATUS_OUT_OF_MEMORY : LENS_STATUS_INVALID_ARGUMENT,
                        "PNG encoding failed: %s", spng_strerror(r));
        goto done;
    }
    for (int32_t y = 0; y < img->height; y++) {
        const uint8_t *src = img->data + img->stride * y;
        if (swap) {
            memcpy(row, src, row_bytes);
            swap_rb(row, img->width, ch);
            src = row;
        }
        r = spng_encode_row(ctx, src, row_bytes);
        if (r == SPNG_EOI && y == img->height - 1) r = 0;
        if (r) {
            st = lens_error(r == SPNG_EMEM ? LENS_STATUS_OUT_OF_MEMORY : LENS_STATUS_INVALID_ARGUMENT,
                            "PNG encoding failed at row %d: %s", (int)y, spng_strerror(r));
            goto done;
        }
    }
    *buf = spng_get_png_buffer(ctx, size, &r);
    if (!*buf)
        st = lens_error(r == SPNG_EMEM ? LENS_STATUS_OUT_OF_MEMORY : LENS_STATUS_INTERNAL,
                        "PNG encoding failed: %s", spng_strerror(r));

done:
    lens_free(row);
    spng_ctx_free(ctx);
    return st;
}
