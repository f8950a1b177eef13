/* Resampling tables that reproduce OpenCV 4.x cv::resize on 8-bit images
 * (imgproc/src/resize.cpp), so that lens's tensors equal those of the
 * cv2-based pipelines models were trained with.
 *
 * Bilinear (INTER_LINEAR): source coordinate (d + 0.5) * scale - 0.5
 * computed in double and rounded to float, floor for the first tap, the
 * fraction turned into 11-bit fixed-point weights (2048 = 1.0) with
 * round-half-even. Left/right taps outside the image collapse onto the edge
 * pixel with weight 2048; rows are clamped after the weights are taken.
 *
 * INTER_AREA when not shrinking in both directions uses the same kernel with
 * OpenCV's "area mode" coefficients (a sharper, box-like interpolation):
 * s = floor(d * scale), f = (d + 1) - (s + 1) / scale, clamped to [0, 1).
 *
 * INTER_AREA when shrinking: computeResizeAreaTab's box weights (float). */
#include <math.h>

#include "image/image_internal.h"

static int16_t weight(float f) {
    float v = f * 2048.0f;
    return (int16_t)lrintf(v); /* saturate_cast<short>: round half to even */
}

void lens_linear_axis_fill(int32_t src, int32_t dst, int32_t first, int32_t n, bool area_mode,
                           bool is_x, lens_linear_axis *ax) {
    double scale = lens_cv_scale(src, dst), inv = (double)dst / (double)src;
    for (int32_t k = 0; k < n; k++) {
        int32_t d = first + k, s;
        float f;
        if (!area_mode) {
            f = (float)((d + 0.5) * scale - 0.5);
            s = (int32_t)floorf(f);
            f -= (float)s;
        } else {
            s = (int32_t)floor(d * scale);
            f = (float)((d + 1) - (s + 1) * inv);
            f = f <= 0 ? 0.0f : f - floorf(f);
        }
        if (is_x) {
            if (s < 0) f = 0, s = 0;
            if (s >= src - 1) f = 0, s = src - 1;
        }
        int32_t a = s, b = s + 1;
        a = a < 0 ? 0 : a >= src ? src - 1 : a;
        b = b < 0 ? 0 : b >= src ? src - 1 : b;
        ax->i0[k] = a;
        ax->i1[k] = b;
        ax->w0[k] = weight(1.0f - f);
        ax->w1[k] = weight(f);
    }
}

int32_t lens_area_tab(int32_t ssize, int32_t dsize, double scale, lens_area_tap *tab) {
    int32_t k = 0;
    for (int32_t dx = 0; dx < dsize; dx++) {
        double fsx1 = dx * scale;
        double fsx2 = fsx1 + scale;
        double cell = LENS_MIN(scale, ssize - fsx1);
        int32_t sx1 = (int32_t)ceil(fsx1), sx2 = (int32_t)floor(fsx2);
        sx2 = LENS_MIN(sx2, ssize - 1);
        sx1 = LENS_MIN(sx1, sx2);
        if (sx1 - fsx1 > 1e-3) {
            tab[k].di = dx;
            tab[k].si = sx1 - 1;
            tab[k++].alpha = (float)((sx1 - fsx1) / cell);
        }
        for (int32_t sx = sx1; sx < sx2; sx++) {
            tab[k].di = dx;
            tab[k].si = sx;
            tab[k++].alpha = (float)(1.0 / cell);
        }
        if (fsx2 - sx2 > 1e-3) {
            tab[k].di = dx;
            tab[k].si = sx2;
            tab[k++].alpha = (float)(LENS_MIN(LENS_MIN(fsx2 - sx2, 1.0), cell) / cell);
        }
    }
    return k;
}
