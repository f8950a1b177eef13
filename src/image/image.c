/* Images: formats, owned and borrowed pixels, and the entry points that
 * pick a codec from the bytes (never from the file name). */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/image_internal.h"

/* Files larger than this are refused before reading (a JPEG or PNG of the
 * largest image the pixel limit allows is far smaller). */
#define LENS_IMAGE_MAX_FILE_BYTES ((int64_t)1 << 30)

int32_t lens_pixel_format_channels(lens_pixel_format format) {
    switch (format) {
    case LENS_PIXEL_GRAY: return 1;
    case LENS_PIXEL_RGB:
    case LENS_PIXEL_BGR: return 3;
    case LENS_PIXEL_RGBA:
    case LENS_PIXEL_BGRA: return 4;
    case LENS_PIXEL_UNKNOWN: break;
    }
    return 0;
}

const char *lens_pixel_format_name(lens_pixel_format format) {
    switch (format) {
    case LENS_PIXEL_GRAY: return "gray";
    case LENS_PIXEL_RGB: return "rgb";
    case LENS_PIXEL_BGR: return "bgr";
    case LENS_PIXEL_RGBA: return "rgba";
    case LENS_PIXEL_BGRA: return "bgra";
    case LENS_PIXEL_UNKNOWN: break;
    }
    return "unknown";
}

lens_status lens_image_check_size(const char *name, int64_t width, int64_t height,
                                  int64_t max_pixels) {
    if (max_pixels <= 0) max_pixels = LENS_IMAGE_DEFAULT_MAX_PIXELS;
    if (width <= 0 || height <= 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: image has zero size (%lldx%lld)", name,
                          (long long)width, (long long)height);
    if (width > INT32_MAX || height > INT32_MAX || width > max_pixels / height)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED,
                          "%s: image of %lldx%lld pixels exceeds the limit of %lld pixels", name,
                          (long long)width, (long long)height, (long long)max_pixels);
    return LENS_OK;
}

static lens_status image_alloc(int32_t width, int32_t height, lens_pixel_format format, bool zero,
                               lens_image *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_alloc: out is NULL");
    memset(out, 0, sizeof *out);
    int32_t ch = lens_pixel_format_channels(format);
    if (ch == 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_alloc: invalid pixel format %d",
                          (int)format);
    if (width <= 0 || height <= 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_alloc: invalid size %dx%d",
                          (int)width, (int)height);
    size_t stride, bytes;
    if (lens_mul_ovf_size((size_t)width, (size_t)ch, &stride) ||
        lens_mul_ovf_size(stride, (size_t)height, &bytes) || bytes > (size_t)INT64_MAX)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "lens_image_alloc: %dx%d %s image is too large",
                          (int)width, (int)height, lens_pixel_format_name(format));
    uint8_t *p = zero ? lens_calloc(bytes, 1) : lens_malloc(bytes);
    if (!p)
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for a %dx%d %s image (%zu bytes)",
                          (int)width, (int)height, lens_pixel_format_name(format), bytes);
    out->data = p;
    out->width = out->source_width = width;
    out->height = out->source_height = height;
    out->stride = (int64_t)stride;
    out->format = format;
    out->owned = true;
    return LENS_OK;
}

lens_status lens_image_alloc(int32_t width, int32_t height, lens_pixel_format format,
                             lens_image *out) {
    return image_alloc(width, height, format, true, out);
}

lens_status lens_image_alloc_uninit(int32_t width, int32_t height, lens_pixel_format format,
                                    lens_image *out) {
    return image_alloc(width, height, format, false, out);
}

void lens_image_release(lens_image *img) {
    if (!img) return;
    if (img->owned) lens_free(img->data);
    memset(img, 0, sizeof *img);
}

lens_status lens_image_wrap(void *data, int32_t width, int32_t height, int64_t stride,
                            lens_pixel_format format, lens_image *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_wrap: out is NULL");
    memset(out, 0, sizeof *out);
    int32_t ch = lens_pixel_format_channels(format);
    if (!data) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_wrap: data is NULL");
    if (ch == 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_wrap: invalid pixel format %d",
                          (int)format);
    if (width <= 0 || height <= 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_wrap: invalid size %dx%d",
                          (int)width, (int)height);
    int64_t row = (int64_t)width * ch, span;
    if (stride < row)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "lens_image_wrap: stride %lld is smaller than a row of %dx%d %s pixels (%lld bytes)",
                          (long long)stride, (int)width, (int)ch, lens_pixel_format_name(format),
                          (long long)row);
    if (lens_mul_ovf_i64(stride, (int64_t)height - 1, &span) || lens_add_ovf_i64(span, row, &span))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "lens_image_wrap: stride %lld x height %d overflows", (long long)stride,
                          (int)height);
    out->data = data;
    out->width = out->source_width = width;
    out->height = out->source_height = height;
    out->stride = stride;
    out->format = format;
    out->owned = false;
    return LENS_OK;
}

/* ---- decoding ------------------------------------------------------------ */

static const uint8_t k_png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static lens_status decode(const char *name, const uint8_t *d, size_t n, const lens_decode_options *opt,
                          lens_image *out) {
    if (n == 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: empty file, not an image", name);
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return lens_jpeg_decode(name, d, n, opt, out);
    if (n >= 8 && memcmp(d, k_png_magic, 8) == 0) return lens_png_decode(name, d, n, opt, out);
    /* Name the formats people meet most, so the message says what to do. */
    const char *kind = NULL;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) kind = "GIF";
    else if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) kind = "WebP";
    else if (n >= 2 && d[0] == 'B' && d[1] == 'M') kind = "BMP";
    else if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) kind = "TIFF";
    if (kind)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "%s: %s images are not supported (JPEG and PNG are); convert it first", name,
                          kind);
    if (n >= 2 && d[0] == 0xff && d[1] == 0xd8)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: truncated JPEG (%zu bytes)", name, n);
    if (n < 8 && memcmp(d, k_png_magic, n) == 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: truncated PNG (%zu bytes)", name, n);
    return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                      "%s: not an image (no JPEG or PNG signature in the first bytes)", name);
}

static lens_status check_options(const char *name, const lens_decode_options *opt, lens_image *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: out is NULL", name);
    memset(out, 0, sizeof *out);
    if (!opt) return LENS_OK;
    if (opt->max_pixels < 0 || opt->target_width < 0 || opt->target_height < 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "%s: negative decode option (max_pixels %lld, target %dx%d)", name,
                          (long long)opt->max_pixels, (int)opt->target_width, (int)opt->target_height);
    if (opt->format != LENS_PIXEL_UNKNOWN && lens_pixel_format_channels(opt->format) == 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: invalid pixel format %d requested", name,
                          (int)opt->format);
    return LENS_OK;
}

lens_status lens_image_decode_memory(const void *data, size_t size, const lens_decode_options *options,
                                     lens_image *out) {
    LENS_TRY(check_options("<memory>", options, out));
    if (!data && size)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "<memory>: data is NULL with size %zu", size);
    return decode("<memory>", data, size, options, out);
}

lens_status lens_image_decode_file(const char *path, const lens_decode_options *options,
                                   lens_image *out) {
    if (!path) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_decode_file: path is NULL");
    LENS_TRY(check_options(path, options, out));
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, first = (size_t)1 << 16;
    lens_status st = LENS_OK;
    /* A regular file's size is only a hint for the first buffer (one byte
     * more, to see the end without growing): a 1080p JPEG is read with one
     * allocation instead of five growing copies. */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uint64_t)sb.st_size < (uint64_t)LENS_IMAGE_MAX_FILE_BYTES)
        first = (size_t)sb.st_size + 1;
    /* Read in growing chunks: works for pipes and files alike, and never
     * trusts a size reported before the bytes are there. */
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : first;
            if (ncap > (size_t)LENS_IMAGE_MAX_FILE_BYTES + 1) ncap = (size_t)LENS_IMAGE_MAX_FILE_BYTES + 1;
            if (ncap == cap) {
                st = lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s: file is larger than %lld bytes", path,
                                (long long)LENS_IMAGE_MAX_FILE_BYTES);
                break;
            }
            uint8_t *nb = lens_realloc(buf, ncap);
            if (!nb) {
                st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory reading the file", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                st = lens_error(LENS_STATUS_IO_ERROR, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == LENS_OK) st = decode(path, buf, n, options, out);
    lens_free(buf);
    return st;
}

/* ---- encoding ------------------------------------------------------------ */

static bool has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

lens_status lens_image_write_file(const char *path, const lens_image *img, int32_t quality) {
    if (!path) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_image_write_file: path is NULL");
    if (!img || !img->data || img->width <= 0 || img->height <= 0 ||
        lens_pixel_format_channels(img->format) == 0 ||
        img->stride < (int64_t)img->width * lens_pixel_format_channels(img->format))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: not a valid image to write", path);
    uint8_t *buf = NULL;
    size_t size = 0;
    if (has_ext(path, ".png")) {
        LENS_TRY(lens_png_encode(img, &buf, &size));
    } else if (has_ext(path, ".jpg") || has_ext(path, ".jpeg")) {
        if (quality < 0 || quality > 100)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: JPEG quality %d is not in 1..100",
                              path, (int)quality);
        LENS_TRY(lens_jpeg_encode(img, quality ? quality : 90, &buf, &size));
    } else {
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "%s: cannot tell the format from the name (use .png, .jpg or .jpeg)", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        lens_free(buf);
        return lens_error(LENS_STATUS_IO_ERROR, "%s: cannot create: %s", path, strerror(errno));
    }
    errno = 0;
    size_t put = fwrite(buf, 1, size, f);
    int err = errno;
    lens_free(buf);
    if (fclose(f) != 0 || put != size) {
        if (!err) err = errno;
        remove(path);
        return lens_error(LENS_STATUS_IO_ERROR, "%s: write failed: %s", path, strerror(err ? err : EIO));
    }
    return LENS_OK;
}
