/* Portable reference of the resize family (see kernels/resize.h). */
#include "kernels/resize.h"

void lens_f32_resize_hlinear__ref(const float *row, const int32_t *x0, const int32_t *x1,
                                  const float *a0, const float *a1, size_t n, float *out) {
    for (size_t o = 0; o < n; o++) out[o] = a0[o] * row[x0[o]] + a1[o] * row[x1[o]];
}

void lens_f32_resize_vlinear__ref(const float *h0, const float *h1, float w0, float w1, size_t n,
                                  float *y) {
    for (size_t o = 0; o < n; o++) y[o] = w0 * h0[o] + w1 * h1[o];
}

void lens_f32_resize_gather__ref(const float *row, const int32_t *ix, size_t n, float *y) {
    for (size_t o = 0; o < n; o++) y[o] = row[ix[o]];
}
