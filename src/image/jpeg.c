/* JPEG through libjpeg-turbo: decoding (with DCT-domain scaling and EXIF
 * orientation) and encoding.
 *
 * libjpeg reports errors by calling error_exit, whose default prints and
 * calls exit(). Ours formats the message and longjmps back to the one
 * setjmp in this file; warnings (corrupt data, premature end of file) are
 * treated the same way, so a damaged file is an error rather than a
 * half-grey picture. The setjmp sits in a small function whose caller owns
 * every allocation, so nothing needs to survive in a clobbered local. */
#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>

#include "image/image_internal.h"

/* A progressive JPEG may declare any number of scans, each a full pass over
 * the coefficients: a few KB of file can cost minutes of CPU. Real encoders
 * write at most a few dozen. */
#define LENS_JPEG_MAX_SCANS 1000

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c) {
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void on_message(j_common_ptr c, int level) {
    if (level < 0) on_error(c); /* warnings: corrupt or truncated data */
}

static void on_output(j_common_ptr c) { (void)c; }

static void on_progress(j_common_ptr c) {
    if (!c->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > LENS_JPEG_MAX_SCANS) {
        jerr *e = (jerr *)c->err;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", LENS_JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

static void jerr_init(jerr *e) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    e->pub.output_message = on_output;
    e->msg[0] = 0;
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct jdec {
    struct jpeg_decompress_struct cinfo;
    jerr err;
    struct jpeg_progress_mgr progress;
    const char *name;
    const uint8_t *data;
    size_t size;
    const lens_decode_options *opt;
    lens_image img;   /* the result; owned here until handed out */
    uint8_t *cmyk;    /* one CMYK row for colour conversion */
    int orientation;
    lens_status status; /* set for failures found by lens itself */
} jdec;

static J_COLOR_SPACE out_space(lens_pixel_format f) {
    switch (f) {
    case LENS_PIXEL_GRAY: return JCS_GRAYSCALE;
    case LENS_PIXEL_BGR: return JCS_EXT_BGR;
    case LENS_PIXEL_RGBA: return JCS_EXT_RGBA;
    case LENS_PIXEL_BGRA: return JCS_EXT_BGRA;
    default: return JCS_EXT_RGB;
    }
}

/* The smallest DCT scale (1/8, 1/4, 1/2) that leaves the decoded image at
 * least twice the target in both directions; full size otherwise. The
 * target is in upright (EXIF-oriented) coordinates. */
static void choose_scale(jdec *d) {
    const lens_decode_options *o = d->opt;
    d->cinfo.scale_num = 1;
    d->cinfo.scale_denom = 1;
    if (!o || o->no_scaled_decode || o->target_width <= 0 || o->target_height <= 0) return;
    bool swap = lens_orientation_swaps(d->orientation);
    int64_t need_w = 2 * (int64_t)(swap ? o->target_height : o->target_width);
    int64_t need_h = 2 * (int64_t)(swap ? o->target_width : o->target_height);
    for (unsigned denom = 8; denom >= 2; denom /= 2) {
        d->cinfo.scale_denom = denom;
        jpeg_calc_output_dimensions(&d->cinfo);
        if ((int64_t)d->cinfo.output_width >= need_w && (int64_t)d->cinfo.output_height >= need_h)
            return;
    }
    d->cinfo.scale_denom = 1;
}

/* Adobe CMYK JPEGs (Photoshop) store inverted inks: R = C * K / 255. */
static void cmyk_row(const uint8_t *src, uint8_t *dst, lens_pixel_format f, int64_t n) {
    int ch = lens_pixel_format_channels(f);
    bool bgr = f == LENS_PIXEL_BGR || f == LENS_PIXEL_BGRA;
    for (int64_t i = 0; i < n; i++, src += 4, dst += ch) {
        uint32_t k = src[3];
        uint32_t r = (src[0] * k + 127) / 255, g = (src[1] * k + 127) / 255, b = (src[2] * k + 127) / 255;
        if (f == LENS_PIXEL_GRAY) {
            dst[0] = lens_gray_from_rgb(r, g, b);
            continue;
        }
        dst[bgr ? 2 : 0] = (uint8_t)r, dst[1] = (uint8_t)g, dst[bgr ? 0 : 2] = (uint8_t)b;
        if (ch == 4) dst[3] = 255;
    }
}

__attribute__((noinline)) static int jpeg_run(jdec *d) {
    struct jpeg_decompress_struct *ci = &d->cinfo;
    if (setjmp(d->err.jb)) return 1;
    jpeg_create_decompress(ci);
    d->progress.progress_monitor = on_progress;
    ci->progress = &d->progress;
    jpeg_mem_src(ci, d->data, (unsigned long)d->size);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(ci, TRUE);

    /* The limit is checked on the declared size, before any pixel. */
    d->status = lens_image_check_size(d->name, ci->image_width, ci->image_height,
                                      d->opt ? d->opt->max_pixels : 0);
    if (d->status != LENS_OK) return 1;

    d->orientation = 1;
    if (!(d->opt && d->opt->ignore_exif)) {
        for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next) {
            if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 || memcmp(m->data, "Exif\0\0", 6) != 0)
                continue;
            d->orientation = lens_exif_orientation(m->data, m->data_length);
            break;
        }
    }

    lens_pixel_format want = d->opt && d->opt->format ? d->opt->format : LENS_PIXEL_RGB;
    bool cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    if (!cmyk && ci->num_components != 1 && ci->num_components != 3) {
        d->status = lens_error(LENS_STATUS_UNSUPPORTED, "%s: JPEG with %d colour components", d->name,
                               ci->num_components);
        return 1;
    }
    ci->out_color_space = cmyk ? JCS_CMYK : out_space(want);
    choose_scale(d);
    jpeg_start_decompress(ci);

    d->status = lens_image_alloc_uninit((int32_t)ci->output_width, (int32_t)ci->output_height, want,
                                        &d->img);
    if (d->status != LENS_OK) return 1;
    if (cmyk) {
        d->cmyk = lens_malloc((size_t)ci->output_width * 4);
        if (!d->cmyk) {
            d->status = lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
            return 1;
        }
    } else if (ci->output_components != lens_pixel_format_channels(want)) {
        d->status = lens_error(LENS_STATUS_INTERNAL, "%s: libjpeg produced %d components for %s",
                               d->name, ci->output_components, lens_pixel_format_name(want));
        return 1;
    }
    while (ci->output_scanline < ci->output_height) {
        uint8_t *dst = d->img.data + d->img.stride * ci->output_scanline;
        JSAMPROW row = cmyk ? d->cmyk : dst;
        if (jpeg_read_scanlines(ci, &row, 1) != 1) {
            d->status = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: JPEG data ends early", d->name);
            return 1;
        }
        if (cmyk) cmyk_row(d->cmyk, dst, want, ci->output_width);
    }
    jpeg_finish_decompress(ci);
    return 0;
}

lens_status lens_jpeg_decode(const char *name, const uint8_t *data, size_t size,
                             const lens_decode_options *opt, lens_image *out) {
    jdec *d = lens_calloc(1, sizeof *d);
    if (!d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    d->name = name;
    d->data = data;
    d->size = size;
    d->opt = opt;
    d->status = LENS_OK;
    jerr_init(&d->err);
    d->cinfo.err = &d->err.pub;
    int failed = jpeg_run(d);
    jpeg_destroy_decompress(&d->cinfo);
    lens_free(d->cmyk);
    lens_status st = d->status;
    if (failed && st == LENS_OK)
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: bad JPEG: %s", name, d->err.msg);
    if (st == LENS_OK) {
        d->img.source_width = (int32_t)d->cinfo.image_width;
        d->img.source_height = (int32_t)d->cinfo.image_height;
        st = lens_image_orient(&d->img, d->orientation);
    }
    if (st == LENS_OK) *out = d->img;
    else lens_image_release(&d->img);
    lens_free(d);
    return st;
}

/* ---- encoding -------------------------------------------------------------- */

/* Destination manager writing into a growing lens_realloc'd buffer (libjpeg's
 * own jpeg_mem_dest allocates with malloc and may leak on error). */
typedef struct jdst {
    struct jpeg_destination_mgr pub;
    uint8_t *buf;
    size_t cap;
} jdst;

static void dst_init(j_compress_ptr c) {
    jdst *d = (jdst *)c->dest;
    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = d->cap;
}

static boolean dst_grow(j_compress_ptr c) {
    jdst *d = (jdst *)c->dest;
    size_t ncap = d->cap * 2;
    uint8_t *nb = ncap > d->cap ? lens_realloc(d->buf, ncap) : NULL;
    if (!nb) {
        jerr *e = (jerr *)c->err;
        snprintf(e->msg, sizeof e->msg, "out of memory for the encoded JPEG");
        longjmp(e->jb, 1);
    }
    d->buf = nb;
    d->pub.next_output_byte = nb + d->cap;
    d->pub.free_in_buffer = ncap - d->cap;
    d->cap = ncap;
    return TRUE;
}

static void dst_term(j_compress_ptr c) { (void)c; }

typedef struct jenc {
    struct jpeg_compress_struct cinfo;
    jerr err;
    jdst dst;
    const lens_image *img;
    int quality;
} jenc;

__attribute__((noinline)) static int jpeg_enc_run(jenc *e) {
    struct jpeg_compress_struct *ci = &e->cinfo;
    if (setjmp(e->err.jb)) return 1;
    jpeg_create_compress(ci);
    ci->dest = &e->dst.pub;
    const lens_image *img = e->img;
    ci->image_width = (JDIMENSION)img->width;
    ci->image_height = (JDIMENSION)img->height;
    switch (img->format) {
    case LENS_PIXEL_GRAY: ci->in_color_space = JCS_GRAYSCALE, ci->input_components = 1; break;
    case LENS_PIXEL_BGR: ci->in_color_space = JCS_EXT_BGR, ci->input_components = 3; break;
    case LENS_PIXEL_RGBA: ci->in_color_space = JCS_EXT_RGBX, ci->input_components = 4; break;
    case LENS_PIXEL_BGRA: ci->in_color_space = JCS_EXT_BGRX, ci->input_components = 4; break;
    default: ci->in_color_space = JCS_EXT_RGB, ci->input_components = 3; break;
    }
    jpeg_set_defaults(ci);
    jpeg_set_quality(ci, e->quality, TRUE);
    jpeg_start_compress(ci, TRUE);
    while (ci->next_scanline < ci->image_height) {
        JSAMPROW row = img->data + img->stride * ci->next_scanline;
        jpeg_write_scanlines(ci, &row, 1);
    }
    jpeg_finish_compress(ci);
    return 0;
}

lens_status lens_jpeg_encode(const lens_image *img, int32_t quality, uint8_t **buf, size_t *size) {
    *buf = NULL;
    *size = 0;
    if (img->width > 65500 || img->height > 65500)
        return lens_error(LENS_STATUS_UNSUPPORTED, "JPEG cannot hold a %dx%d image (65500 at most)",
                          (int)img->width, (int)img->height);
    jenc *e = lens_calloc(1, sizeof *e);
    if (!e) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory encoding a JPEG");
    e->img = img;
    e->quality = quality;
    e->dst.cap = 1 << 16;
    e->dst.buf = lens_malloc(e->dst.cap);
    if (!e->dst.buf) {
        lens_free(e);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory encoding a JPEG");
    }
    e->dst.pub.init_destination = dst_init;
    e->dst.pub.empty_output_buffer = dst_grow;
    e->dst.pub.term_destination = dst_term;
    jerr_init(&e->err);
    e->cinfo.err = &e->err.pub;
    int failed = jpeg_enc_run(e);
    jpeg_destroy_compress(&e->cinfo);
    lens_status st = LENS_OK;
    if (failed) {
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "JPEG encoding failed: %s", e->err.msg);
        lens_free(e->dst.buf);
    } else {
        *buf = e->dst.buf;
        *size = e->dst.cap - e->dst.pub.free_in_buffer;
    }
    lens_free(e);
    return st;
}
