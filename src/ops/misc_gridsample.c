/* GridSample-16 (4-D input, modes bilinear/nearest/bicubic, padding
 * zeros/border/reflection, align_corners).
 *
 * The arithmetic follows PyTorch's grid_sampler_2d (aten GridSampler.h),
 * whose results the ONNX node tests were generated from and which exported
 * models expect: the padding mode is applied to the unnormalised source
 * coordinate for bilinear and nearest, and to every tap for bicubic;
 * whatever still falls outside the input reads as zero. Coordinates are
 * computed in float, as PyTorch does for float tensors. */
#include <math.h>

#include "ops/misc.h"

enum { GS_BILINEAR, GS_NEAREST, GS_BICUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

typedef struct gs_job {
    const float *x, *grid;
    float *y;
    int64_t n, c, h, w, oh, ow;
    int mode, pad;
    bool align;
} gs_job;

static float gs_unnormalize(float coord, int64_t size, bool align) {
    return align ? (coord + 1.0f) / 2.0f * (float)(size - 1)
                 : ((coord + 1.0f) * (float)size - 1.0f) / 2.0f;
}

static float gs_clip(float v, int64_t size) {
    return fminf((float)(size - 1), fmaxf(v, 0.0f));
}

/* Reflect v into [twice_low / 2, twice_high / 2]. */
static float gs_reflect(float v, int64_t twice_low, int64_t twice_high) {
    if (twice_low == twice_high) return 0.0f;
    if (!(v > -1e15f && v < 1e15f)) return v; /* NaN or huge: the int64 cast below would be UB; gs_pad maps it */
    float lo = (float)twice_low / 2.0f, span = (float)(twice_high - twice_low) / 2.0f;
    v = fabsf(v - lo);
    float extra = fmodf(v, span);
    int64_t flips = (int64_t)floorf(v / span);
    return flips % 2 == 0 ? extra + lo : span - extra + lo;
}

static float gs_pad(float v, int64_t size, int pad, bool align) {
    if (pad == GS_BORDER) {
        v = gs_clip(v, size);
    } else if (pad == GS_REFLECTION) {
        v = align ? gs_reflect(v, 0, 2 * (size - 1)) : gs_reflect(v, -1, 2 * size - 1);
        v = gs_clip(v, size);
    }
    /* keep the later int64 conversion defined (NaN and huge values read 0) */
    if (!(v > -1e15f && v < 1e15f)) v = -1e15f;
    return v;
}

static inline float gs_at(const float *img, int64_t h, int64_t w, int64_t y, int64_t x) {
    return y >= 0 && y < h && x >= 0 && x < w ? img[y * w + x] : 0.0f;
}

static void gs_cubic_coeffs(float t, float c[4]) {
    const float a = -0.75f;
    float x = t + 1.0f;
    c[0] = ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
    x = t;
    c[1] = ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    x = 1.0f - t;
    c[2] = ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    x = 2.0f - t;
    c[3] = ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
}

static void gs_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const gs_job *j = ctx;
    int64_t hw = j->h * j->w, ohw = j->oh * j->ow;
    for (int64_t row = begin; row < end; row++) {
        int64_t b = row / j->oh, oy = row % j->oh;
        const float *img0 = j->x + b * j->c * hw;
        float *out0 = j->y + b * j->c * ohw + oy * j->ow;
        for (int64_t ox = 0; ox < j->ow; ox++) {
            const float *g = j->grid + ((b * j->oh + oy) * j->ow + ox) * 2;
            float fx = gs_unnormalize(g[0], j->w, j->align);
            float fy = gs_unnormalize(g[1], j->h, j->align);
            if (j->mode == GS_BICUBIC) {
                if (!(fx > -1e15f && fx < 1e15f)) fx = -1e15f;
                if (!(fy > -1e15f && fy < 1e15f)) fy = -1e15f;
                float x0 = floorf(fx), y0 = floorf(fy), cx[4], cy[4];
                gs_cubic_coeffs(fx - x0, cx);
                gs_cubic_coeffs(fy - y0, cy);
                int64_t tx[4], ty[4];
                for (int k = 0; k < 4; k++) {
                    tx[k] = (int64_t)gs_pad(x0 - 1.0f + (float)k, j->w, j->pad, j->align);
                    ty[k] = (int64_t)gs_pad(y0 - 1.0f + (float)k, j->h, j->pad, j->align);
                }
                for (int64_t c = 0; c < j->c; c++) {
                    const float *img = img0 + c * hw;
                    float acc = 0.0f;
                    for (int r = 0; r < 4; r++) {
                        float v = 0.0f;
                        for (int k = 0; k < 4; k++) v += cx[k] * gs_at(img, j->h, j->w, ty[r], tx[k]);
                        acc += cy[r] * v;
                    }
                    out0[c * ohw + ox] = acc;
                }
                continue;
            }
            fx = gs_pad(fx, j->w, j->pad, j->align);
            fy = gs_pad(fy, j->h, j->pad, j->align);
            if (j->mode == GS_NEAREST) {
                /* round half to even, as nearbyint in PyTorch */
                int64_t ix = (int64_t)nearbyintf(fx), iy = (int64_t)nearbyintf(fy);
                for (int64_t c = 0; c < j->c; c++)
                    out0[c * ohw + ox] = gs_at(img0 + c * hw, j->h, j->w, iy, ix);
                continue;
            }
            float x0 = floorf(fx), y0 = floorf(fy);
            int64_t ix = (int64_t)x0, iy = (int64_t)y0;
            float wx1 = fx - x0, wx0 = (x0 + 1.0f) - fx, wy1 = fy - y0, wy0 = (y0 + 1.0f) - fy;
            float nw = wx0 * wy0, ne = wx1 * wy0, sw = wx0 * wy1, se = wx1 * wy1;
            for (int64_t c = 0; c < j->c; c++) {
                const float *img = img0 + c * hw;
                out0[c * ohw + ox] = gs_at(img, j->h, j->w, iy, ix) * nw +
                                     gs_at(img, j->h, j->w, iy, ix + 1) * ne +
                                     gs_at(img, j->h, j->w, iy + 1, ix) * sw +
                                     gs_at(img, j->h, j->w, iy + 1, ix + 1) * se;
            }
        }
    }
}

lens_status lens_op_gridsample_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *grid = lens_exec_input(ex, 1);
    if (!x || !grid) return lens_error(LENS_STATUS_INVALID_MODEL, "GridSample needs X and grid");
    if (x->dtype != LENS_DTYPE_FLOAT || grid->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "GridSample supports float X and grid");
    if (x->ndim != 4 || grid->ndim != 4 || grid->dims[0] != x->dims[0] || grid->dims[3] != 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "GridSample needs X [N,C,H,W] and grid [N,H,W,2]");
    const char *mode = lens_node_attr_string(node, "mode", "bilinear");
    const char *pad = lens_node_attr_string(node, "padding_mode", "zeros");
    gs_job j = {x->data, grid->data, NULL, x->dims[0], x->dims[1], x->dims[2], x->dims[3],
                grid->dims[1], grid->dims[2], 0, 0, lens_node_attr_int(node, "align_corners", 0) != 0};
    /* GridSample-20 renamed the modes linear/cubic; accept both spellings */
    if (!strcmp(mode, "bilinear") || !strcmp(mode, "linear")) j.mode = GS_BILINEAR;
    else if (!strcmp(mode, "nearest")) j.mode = GS_NEAREST;
    else if (!strcmp(mode, "bicubic") || !strcmp(mode, "cubic")) j.mode = GS_BICUBIC;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "unknown GridSample mode '%s'", mode);
    if (!strcmp(pad, "zeros")) j.pad = GS_ZEROS;
    else if (!strcmp(pad, "border")) j.pad = GS_BORDER;
    else if (!strcmp(pad, "reflection")) j.pad = GS_REFLECTION;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "unknown padding_mode '%s'", pad);
    int64_t dims[4] = {j.n, j.c, j.oh, j.ow};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, 4, dims, &y));
    j.y = y->data;
    if (lens_tensor_numel(y) == 0) return LENS_OK;
    if (j.h == 0 || j.w == 0) {
        memset(y->data, 0, sizeof(float) * (size_t)lens_tensor_numel(y));
        return LENS_OK;
    }
    int64_t grain = LENS_MAX((int64_t)1, 4096 / LENS_MAX(j.ow * j.c, 1));
    lens_parallel_for(lens_exec_pool(ex), j.n * j.oh, grain, gs_task, &j);
    return LENS_OK;
}
