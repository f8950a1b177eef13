/* The fused preprocessing pass: resize (stretch, letterbox or crop window),
 * colour conversion, normalisation and layout change in one sweep.
 *
 * Geometry. Every mode is a resize of the whole image to a "virtual" size
 * rw x rh followed by a window: output pixel (x, y) is virtual pixel
 * (x + shift_x, y + shift_y); outside the virtual image it is padding.
 *   stretch    rw x rh = model size, no shift
 *   letterbox  rw x rh = image size * min(W/w, H/h) rounded, centred
 *   crop       shorter side to resize_short (longer side truncated, as
 *              torchvision), centre window (offset rounded half to even, as
 *              torchvision's CenterCrop; padded with 0 if the window is larger)
 * Only the output window is ever computed: a crop does not resize the parts
 * it throws away.
 *
 * Arithmetic. The resize reproduces OpenCV's cv::resize on 8-bit images bit
 * for bit (see resample.c), so the tensor equals a cv2 pipeline's:
 *   bilinear  horizontal pass per needed source row, u8 x 11-bit weight
 *             into an int32 row cache (two rows), then the vertical blend
 *             with OpenCV's SIMD rounding: ((r0>>4)*b0>>16) + ((r1>>4)*b1>>16),
 *             + 2 >> 2 (OpenCV's scalar formula differs by one in the last
 *             bit; its SIMD one is what runs on x86 and ARM)
 *   area      integer factors: exact block sums (2x2 rounds half up, others
 *             sum * (1/area) in float, rounded half to even); otherwise
 *             OpenCV's float box taps per row, summed over rows in the same
 *             order as OpenCV
 * Colour conversion happens per source pixel before resizing (as cvtColor
 * then resize); the blended 8-bit value then goes through a per-channel
 * table holding (v * scale - mean) / std, straight into the tensor.
 *
 * Differences from torchvision. torchvision's Resize on a PIL image uses
 * PIL's antialiased bilinear filter (on tensors, its own bilinear with
 * antialias): shrinking by more than 2x averages over the whole footprint,
 * where INTER_LINEAR samples 2x2 pixels. Use LENS_INTERP_AREA to average
 * when shrinking; parity with models trained on PIL pipelines is close but
 * not exact either way. */
#include <math.h>
#include <stdio.h>

#include "image/image_internal.h"
#include "image/pp_kernels.h"

/* Largest model input side and virtual resize side accepted. */
#define LENS_PREPROCESS_MAX_SIDE 32768
#define LENS_PREPROCESS_MAX_VIRTUAL (1 << 28)

void lens_preprocess_default(lens_preprocess *s) {
    if (!s) return;
    memset(s, 0, sizeof *s);
    s->width = s->height = 224;
    s->resize = LENS_RESIZE_STRETCH;
    s->interp = LENS_INTERP_BILINEAR;
    s->pad_value = 114;
    s->channels = LENS_CHANNELS_RGB;
    s->scale = 1.0f / 255.0f;
    for (int c = 0; c < 3; c++) s->mean[c] = 0.0f, s->std[c] = 1.0f;
    s->layout = LENS_LAYOUT_NCHW;
    s->dtype = LENS_DTYPE_FLOAT;
}

static int spec_channels(const lens_preprocess *s) { return s->channels == LENS_CHANNELS_GRAY ? 1 : 3; }

/* NULL if the spec is usable, else what is wrong (in buf). */
static const char *spec_problem(const lens_preprocess *s, char *buf, size_t n) {
    if (!s) return "spec is NULL";
    if (s->width <= 0 || s->height <= 0 || s->width > LENS_PREPROCESS_MAX_SIDE ||
        s->height > LENS_PREPROCESS_MAX_SIDE) {
        snprintf(buf, n, "model input size %dx%d is not in 1..%d", (int)s->width, (int)s->height,
                 LENS_PREPROCESS_MAX_SIDE);
        return buf;
    }
    if ((unsigned)s->resize > LENS_RESIZE_CROP) {
        snprintf(buf, n, "unknown resize mode %d", (int)s->resize);
        return buf;
    }
    if (s->resize_short < 0 || s->resize_short > LENS_PREPROCESS_MAX_SIDE) {
        snprintf(buf, n, "resize_short %d is not in 0..%d", (int)s->resize_short,
                 LENS_PREPROCESS_MAX_SIDE);
        return buf;
    }
    if ((unsigned)s->interp > LENS_INTERP_AREA) {
        snprintf(buf, n, "unknown interpolation %d", (int)s->interp);
        return buf;
    }
    if (s->pad_value < 0 || s->pad_value > 255) {
        snprintf(buf, n, "pad_value %d is not in 0..255", (int)s->pad_value);
        return buf;
    }
    if ((unsigned)s->channels > LENS_CHANNELS_GRAY) {
        snprintf(buf, n, "unknown channel order %d", (int)s->channels);
        return buf;
    }
    if ((unsigned)s->layout > LENS_LAYOUT_NHWC) {
        snprintf(buf, n, "unknown layout %d", (int)s->layout);
        return buf;
    }
    if (s->dtype != LENS_DTYPE_FLOAT && s->dtype != LENS_DTYPE_UINT8) {
        snprintf(buf, n, "output type %s is not float or uint8", lens_dtype_name(s->dtype));
        return buf;
    }
    if (s->dtype == LENS_DTYPE_FLOAT) {
        if (!isfinite(s->scale)) {
            snprintf(buf, n, "scale %g is not finite", (double)s->scale);
            return buf;
        }
        for (int c = 0; c < spec_channels(s); c++)
            if (!isfinite(s->mean[c]) || !isfinite(s->std[c]) || s->std[c] == 0.0f) {
                snprintf(buf, n, "channel %d: mean %g / std %g (std must be finite and non-zero)", c,
                         (double)s->mean[c], (double)s->std[c]);
                return buf;
            }
    }
    return NULL;
}

size_t lens_preprocess_tensor_bytes(const lens_preprocess *s) {
    char buf[160];
    if (spec_problem(s, buf, sizeof buf)) return 0;
    return (size_t)s->width * (size_t)s->height * (size_t)spec_channels(s) * lens_dtype_size(s->dtype);
}

void lens_transform_point(const lens_transform *tf, float x, float y, float *sx, float *sy) {
    if (sx) *sx = (x - tf->offset_x) / tf->scale_x;
    if (sy) *sy = (y - tf->offset_y) / tf->scale_y;
}

/* ---- geometry ------------------------------------------------------------ */

typedef struct geom {
    int32_t rw, rh;          /* virtual resized size */
    int32_t shift_x, shift_y;/* virtual = output + shift */
    int32_t x_lo, x_hi;      /* output columns inside the virtual image */
    int32_t y_lo, y_hi;
    int32_t pad;             /* pixel value outside it */
} geom;

static int32_t centre_offset(int64_t virt, int32_t out) {
    /* torchvision CenterCrop: crop at round((virt - out) / 2) (half to even)
     * when the image is larger, else pad (out - virt) // 2 on the left. */
    if (virt >= out) return (int32_t)nearbyint((double)(virt - out) / 2.0);
    return -(int32_t)((out - virt) / 2);
}

static lens_status geometry(const lens_image *img, const lens_preprocess *s, geom *g) {
    int32_t W = s->width, H = s->height, w = img->width, h = img->height;
    int64_t rw = W, rh = H;
    g->shift_x = g->shift_y = 0;
    g->pad = 0;
    if (s->resize == LENS_RESIZE_LETTERBOX) {
        /* As the YOLO letterbox: r = min(W/w, H/h), size rounded (Python
         * round: half to even), padding split with the odd pixel right/below. */
        double r = fmin((double)W / w, (double)H / h);
        rw = (int64_t)nearbyint(w * r);
        rh = (int64_t)nearbyint(h * r);
        rw = LENS_MAX(1, LENS_MIN(rw, W));
        rh = LENS_MAX(1, LENS_MIN(rh, H));
        g->shift_x = -(int32_t)((W - rw) / 2);
        g->shift_y = -(int32_t)((H - rh) / 2);
        g->pad = s->pad_value;
    } else if (s->resize == LENS_RESIZE_CROP) {
        int64_t S = s->resize_short ? s->resize_short : LENS_MIN(W, H);
        /* torchvision Resize(int): new_long = int(size * long / short). */
        if (w <= h) rw = S, rh = (int64_t)floor((double)S * h / w);
        else rh = S, rw = (int64_t)floor((double)S * w / h);
        rw = LENS_MAX(rw, 1);
        rh = LENS_MAX(rh, 1);
        if (rw > LENS_PREPROCESS_MAX_VIRTUAL || rh > LENS_PREPROCESS_MAX_VIRTUAL)
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED,
                              "crop: a %dx%d image resized to shorter side %lld is %lldx%lld pixels, "
                              "too large", (int)w, (int)h, (long long)S, (long long)rw, (long long)rh);
        g->shift_x = centre_offset(rw, W);
        g->shift_y = centre_offset(rh, H);
    }
    g->rw = (int32_t)rw;
    g->rh = (int32_t)rh;
    g->x_lo = LENS_MAX(0, -g->shift_x);
    g->x_hi = (int32_t)LENS_MIN((int64_t)W, rw - g->shift_x);
    g->y_lo = LENS_MAX(0, -g->shift_y);
    g->y_hi = (int32_t)LENS_MIN((int64_t)H, rh - g->shift_y);
    return LENS_OK;
}

/* ---- source rows and output ---------------------------------------------- */

typedef struct pass {
    const lens_image *img;
    const lens_preprocess *spec;
    geom g;
    int C;              /* output channels: 1 or 3 */
    int sc;             /* bytes per pixel of the rows the resize reads */
    int map[3];         /* byte offset inside such a pixel of each output channel */
    bool to_gray;       /* colour source, gray output: convert rows first */
    uint8_t *gray_row;  /* img->width bytes when to_gray */
    uint8_t *vrow;      /* one output row of 8-bit values, W * C */
    uint8_t *dst8;      /* the tensor, as uint8 or float */
    float *dstf;
    float lut[3][256];  /* (v * scale - mean) / std per channel */
    const lens_pp_kernels *k;
} pass;

/* The row the resize reads: the image's own row, or its gray conversion. */
static const uint8_t *src_row(pass *p, int32_t y) {
    const uint8_t *row = p->img->data + p->img->stride * y;
    if (!p->to_gray) return row;
    lens_pixels_convert_row(row, p->img->format, p->gray_row, LENS_PIXEL_GRAY, p->img->width);
    return p->gray_row;
}

/* Writes output row y from vrow (W pixels of C interleaved 8-bit values). */
static void emit(pass *p, int32_t y) {
    const lens_preprocess *s = p->spec;
    size_t W = (size_t)s->width, plane = W * (size_t)s->height, row = (size_t)y * W;
    const uint8_t *v = p->vrow;
    if (s->dtype == LENS_DTYPE_UINT8) {
        if (s->layout == LENS_LAYOUT_NHWC || p->C == 1)
            memcpy(p->dst8 + row * p->C, v, W * p->C);
        else
            p->k->u8_planar3(v, p->dst8 + row, p->dst8 + plane + row, p->dst8 + 2 * plane + row, W);
    } else if (p->C == 1) {
        p->k->f32_planar1(v, p->lut[0], p->dstf + row, W);
    } else if (s->layout == LENS_LAYOUT_NHWC) {
        p->k->f32_interleaved3(v, (const float(*)[256])p->lut, p->dstf + row * 3, W);
    } else {
        p->k->f32_planar3(v, (const float(*)[256])p->lut, p->dstf + row, p->dstf + plane + row,
                          p->dstf + 2 * plane + row, W);
    }
}

/* ---- bilinear (INTER_LINEAR, and INTER_AREA's upscaling mode) ------------ */

typedef struct linear_state {
    lens_linear_axis tx, ty;
    int32_t *o0, *o1;   /* byte offsets of the two column taps in a source row */
    int32_t *rows[2];   /* horizontal pass of two source rows, n * C each */
    int32_t ids[2];     /* which source rows they hold (-1: none) */
} linear_state;

/* The cached horizontal pass of source row `sy`, computing it into a slot
 * that does not hold row `keep`. */
static const int32_t *linear_row(pass *p, linear_state *L, int32_t sy, int32_t keep, int32_t n) {
    for (int k = 0; k < 2; k++)
        if (L->ids[k] == sy) return L->rows[k];
    int k = L->ids[0] == keep ? 1 : 0;
    const uint8_t *src = src_row(p, sy);
    if (p->C == 3) p->k->hlinear3(src, L->o0, L->o1, L->tx.w0, L->tx.w1, p->map, L->rows[k], (size_t)n);
    else p->k->hlinear1(src, L->o0, L->o1, L->tx.w0, L->tx.w1, L->rows[k], (size_t)n);
    L->ids[k] = sy;
    return L->rows[k];
}

static lens_status run_linear(pass *p, bool area_mode) {
    const geom *g = &p->g;
    int32_t n = g->x_hi - g->x_lo, m = g->y_hi - g->y_lo, C = p->C;
    size_t nc = (size_t)n * C;
    /* One block: x tables (i0, i1, o0, o1: 4 x int32; w0, w1: 2 x int16),
     * y tables, two int32 rows. */
    size_t bytes = (size_t)n * 20 + (size_t)m * 12 + nc * 8 + 64;
    uint8_t *blk = lens_malloc(bytes);
    if (!blk) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "preprocess: out of memory (%zu bytes)", bytes);
    linear_state L;
    int32_t *q = (int32_t *)blk;
    L.tx.i0 = q, q += n;
    L.tx.i1 = q, q += n;
    L.o0 = q, q += n;
    L.o1 = q, q += n;
    L.ty.i0 = q, q += m;
    L.ty.i1 = q, q += m;
    L.rows[0] = q, q += nc;
    L.rows[1] = q, q += nc;
    int16_t *r = (int16_t *)q;
    L.tx.w0 = r, r += n;
    L.tx.w1 = r, r += n;
    L.ty.w0 = r, r += m;
    L.ty.w1 = r, r += m;
    L.ids[0] = L.ids[1] = -1;
    lens_linear_axis_fill(p->img->width, g->rw, g->x_lo + g->shift_x, n, area_mode, true, &L.tx);
    lens_linear_axis_fill(p->img->height, g->rh, g->y_lo + g->shift_y, m, area_mode, false, &L.ty);
    for (int32_t i = 0; i < n; i++) L.o0[i] = L.tx.i0[i] * p->sc, L.o1[i] = L.tx.i1[i] * p->sc;

    uint8_t *v = p->vrow + (size_t)g->x_lo * C;
    for (int32_t k = 0; k < m; k++) {
        int32_t a = L.ty.i0[k], b = L.ty.i1[k];
        const int32_t *r0 = linear_row(p, &L, a, b, n);
        const int32_t *r1 = linear_row(p, &L, b, a, n);
        p->k->vblend(r0, r1, L.ty.w0[k], L.ty.w1[k], v, nc);
        emit(p, g->y_lo + k);
    }
    lens_free(blk);
    return LENS_OK;
}

/* ---- area, integer factors (OpenCV's resizeAreaFast) --------------------- */

static lens_status run_area_fast(pass *p, int32_t kx, int32_t ky) {
    const geom *g = &p->g;
    int32_t n = g->x_hi - g->x_lo, C = p->C;
    size_t nc = (size_t)n * C;
    int32_t *acc = lens_malloc(nc * sizeof *acc + 1);
    if (!acc) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "preprocess: out of memory");
    bool two = kx == 2 && ky == 2;
    float inv_area = 1.0f / (float)(kx * ky);
    uint8_t *v = p->vrow + (size_t)g->x_lo * C;
    int32_t x0 = (g->x_lo + g->shift_x) * kx; /* first source column */
    for (int32_t y = g->y_lo; y < g->y_hi; y++) {
        memset(acc, 0, nc * sizeof *acc);
        int32_t sy0 = (y + g->shift_y) * ky;
        for (int32_t j = 0; j < ky; j++) {
            const uint8_t *src = src_row(p, sy0 + j);
            for (int32_t i = 0; i < n; i++) {
                const uint8_t *s = src + (size_t)(x0 + i * kx) * p->sc;
                for (int c = 0; c < C; c++) {
                    int32_t sum = 0;
                    for (int32_t t = 0; t < kx; t++) sum += s[t * p->sc + p->map[c]];
                    acc[i * C + c] += sum;
                }
            }
        }
        for (size_t i = 0; i < nc; i++) {
            int32_t t = two ? (acc[i] + 2) >> 2 : (int32_t)lrintf((float)acc[i] * inv_area);
            v[i] = (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
        }
        emit(p, y);
    }
    lens_free(acc);
    return LENS_OK;
}

/* ---- area, general shrink (OpenCV's resizeArea) ------------------------- */

static lens_status run_area(pass *p, double scale_x, double scale_y) {
    const geom *g = &p->g;
    int32_t w = p->img->width, h = p->img->height, n = g->x_hi - g->x_lo, C = p->C;
    size_t nc = (size_t)n * C;
    size_t ntx = (size_t)w + 2 * (size_t)g->rw + 2, nty = (size_t)h + 2 * (size_t)g->rh + 2;
    size_t bytes = (ntx + nty) * sizeof(lens_area_tap) + nc * 2 * sizeof(float) + 64;
    uint8_t *blk = lens_malloc(bytes);
    if (!blk) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "preprocess: out of memory (%zu bytes)", bytes);
    lens_area_tap *xt = (lens_area_tap *)blk, *yt = xt + ntx;
    float *buf = (float *)(yt + nty), *sum = buf + nc;
    int32_t nx = lens_area_tab(w, g->rw, scale_x, xt);
    int32_t ny = lens_area_tab(h, g->rh, scale_y, yt);
    /* Keep the column taps of the window, as (output column, source byte offset). */
    int32_t d_lo = g->x_lo + g->shift_x, d_hi = g->x_hi + g->shift_x, kept = 0;
    for (int32_t k = 0; k < nx; k++) {
        if (xt[k].di < d_lo || xt[k].di >= d_hi) continue;
        xt[kept].di = (xt[k].di - d_lo) * C;
        xt[kept].si = xt[k].si * p->sc;
        xt[kept++].alpha = xt[k].alpha;
    }
    uint8_t *v = p->vrow + (size_t)g->x_lo * C;
    int32_t j = 0, cached = -1;
    for (int32_t y = g->y_lo; y < g->y_hi; y++) {
        int32_t dy = y + g->shift_y;
        while (j < ny && yt[j].di < dy) j++;
        bool first = true;
        for (; j < ny && yt[j].di == dy; j++) {
            int32_t sy = yt[j].si;
            if (sy != cached) {
                const uint8_t *src = src_row(p, sy);
                memset(buf, 0, nc * sizeof *buf);
                for (int32_t k = 0; k < kept; k++) {
                    const uint8_t *s = src + xt[k].si;
                    float a = xt[k].alpha;
                    float *b = buf + xt[k].di;
                    for (int c = 0; c < C; c++) b[c] += (float)s[p->map[c]] * a;
                }
                cached = sy;
            }
            float beta = yt[j].alpha;
            if (first)
                for (size_t i = 0; i < nc; i++) sum[i] = beta * buf[i];
            else
                for (size_t i = 0; i < nc; i++) sum[i] += beta * buf[i];
            first = false;
        }
        for (size_t i = 0; i < nc; i++) {
            int32_t t = (int32_t)lrintf(sum[i]);
            v[i] = (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
        }
        emit(p, y);
    }
    lens_free(blk);
    return LENS_OK;
}

/* ---- entry point ---------------------------------------------------------- */

lens_status lens_preprocess_image(const lens_image *img, const lens_preprocess *spec, void *dst,
                                  size_t dst_bytes, lens_transform *tf) {
    char why[160];
    const char *bad = spec_problem(spec, why, sizeof why);
    if (bad) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "preprocess: %s", bad);
    int sch = img ? lens_pixel_format_channels(img->format) : 0;
    if (!img || !img->data || sch == 0 || img->width <= 0 || img->height <= 0 ||
        img->stride < (int64_t)img->width * sch)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "preprocess: not a valid image");
    /* Source offsets inside a row are int32 in the tables. */
    if ((int64_t)img->width * sch > INT32_MAX)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "preprocess: image rows of %d pixels are too wide",
                          (int)img->width);
    size_t need = lens_preprocess_tensor_bytes(spec);
    if (!dst || dst_bytes < need)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "preprocess: output buffer of %zu bytes, the %dx%dx%d %s tensor needs %zu",
                          dst ? dst_bytes : 0, (int)spec->width, (int)spec->height, spec_channels(spec),
                          lens_dtype_name(spec->dtype), need);
    if (spec->dtype == LENS_DTYPE_FLOAT && ((uintptr_t)dst % sizeof(float)) != 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "preprocess: float output buffer is not 4-byte aligned");

    pass *p = lens_calloc(1, sizeof *p);
    if (!p) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "preprocess: out of memory");
    lens_status st = geometry(img, spec, &p->g);
    if (st != LENS_OK) {
        lens_free(p);
        return st;
    }
    const geom *g = &p->g;
    p->img = img;
    p->spec = spec;
    p->k = lens_pp_kernels_best();
    p->C = spec_channels(spec);
    p->dst8 = dst;
    p->dstf = dst;
    /* Where each output channel sits in a source pixel. */
    lens_pixel_format f = img->format;
    bool src_bgr = f == LENS_PIXEL_BGR || f == LENS_PIXEL_BGRA;
    p->sc = sch;
    if (p->C == 1) {
        p->to_gray = f != LENS_PIXEL_GRAY;
        if (p->to_gray) p->sc = 1;
        p->map[0] = 0;
    } else if (f == LENS_PIXEL_GRAY) {
        p->map[0] = p->map[1] = p->map[2] = 0;
    } else {
        bool out_bgr = spec->channels == LENS_CHANNELS_BGR;
        int ri = src_bgr ? 2 : 0, bi = src_bgr ? 0 : 2;
        p->map[0] = out_bgr ? bi : ri;
        p->map[1] = 1;
        p->map[2] = out_bgr ? ri : bi;
    }
    for (int c = 0; c < p->C; c++)
        for (int v = 0; v < 256; v++)
            p->lut[c][v] = ((float)v * spec->scale - spec->mean[c]) / spec->std[c];
    size_t row_bytes = (size_t)spec->width * p->C;
    p->vrow = lens_malloc(row_bytes + (p->to_gray ? (size_t)img->width : 0));
    if (!p->vrow) {
        lens_free(p);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "preprocess: out of memory");
    }
    if (p->to_gray) p->gray_row = p->vrow + row_bytes;

    /* Padding: whole rows outside the virtual image, and the margins of the
     * rows inside it (the resize fills the middle of vrow). */
    memset(p->vrow, g->pad, row_bytes);
    for (int32_t y = 0; y < spec->height; y++)
        if (y < g->y_lo || y >= g->y_hi) emit(p, y);

    if (g->x_lo < g->x_hi && g->y_lo < g->y_hi) {
        int32_t w = img->width, h = img->height;
        double scale_x = lens_cv_scale(w, g->rw), scale_y = lens_cv_scale(h, g->rh);
        if (spec->interp == LENS_INTERP_AREA && scale_x >= 1 && scale_y >= 1) {
            /* cv::resize's is_area_fast: both scales are integers. */
            double ix = nearbyint(scale_x), iy = nearbyint(scale_y);
            if (fabs(scale_x - ix) < 2.220446049250313e-16 && fabs(scale_y - iy) < 2.220446049250313e-16 &&
                (int64_t)g->rw * (int64_t)ix == w && (int64_t)g->rh * (int64_t)iy == h)
                st = run_area_fast(p, (int32_t)ix, (int32_t)iy);
            else
                st = run_area(p, scale_x, scale_y);
        } else {
            st = run_linear(p, spec->interp == LENS_INTERP_AREA);
        }
    }
    if (st == LENS_OK && tf) {
        int32_t sw = img->source_width > 0 ? img->source_width : img->width;
        int32_t sh = img->source_height > 0 ? img->source_height : img->height;
        tf->scale_x = (float)((double)g->rw / sw);
        tf->scale_y = (float)((double)g->rh / sh);
        tf->offset_x = (float)-g->shift_x;
        tf->offset_y = (float)-g->shift_y;
        tf->source_width = sw;
        tf->source_height = sh;
    }
    lens_free(p->vrow);
    lens_free(p);
    return st;
}
