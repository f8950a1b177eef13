/* im2col panel packing. The 2-D path splits a panel's columns into runs
 * along one output row; with stride 1 each run is one contiguous copy from
 * an input row plus zeros where it falls into the padding. */
#include "kernels/im2col.h"

#include <string.h>

#include "core/common.h"

typedef struct run {
    int64_t oy, ox;
    size_t t, len;
} run;

static void pack2d(const lens_im2col_ctx *c, size_t k0, size_t kc, size_t x0, size_t xc,
                   size_t tile, float *dst) {
    const int64_t H = c->in[0], W = c->in[1], OW = c->out[1];
    const int64_t KH = c->k[0], KW = c->k[1], sh = c->stride[0], sw = c->stride[1];
    const int64_t dh = c->dil[0], dw = c->dil[1], ph = c->pad[0], pw = c->pad[1];
    run runs[66];
    for (size_t p = 0; p * tile < xc; p++, dst += kc * tile) {
        size_t col0 = x0 + p * tile, n = LENS_MIN(tile, x0 + xc - col0);
        size_t nr = 0;
        for (size_t t = 0; t < n;) {
            int64_t col = (int64_t)(col0 + t), oy = col / OW, ox = col % OW;
            size_t len = LENS_MIN(n - t, (size_t)(OW - ox));
            if (nr == LENS_ARRAY_LEN(runs)) break; /* tile <= 64: cannot happen */
            runs[nr++] = (run){oy, ox, t, len};
            t += len;
        }
        int64_t k = (int64_t)k0;
        int64_t ci = k / (KH * KW), r = k % (KH * KW), ky = r / KW, kx = r % KW;
        for (size_t kk = 0; kk < kc; kk++) {
            float *d = dst + kk * tile;
            const float *xc_ = c->x + ci * H * W;
            for (size_t q = 0; q < nr; q++) {
                const run *ru = &runs[q];
                float *dd = d + ru->t;
                int64_t iy = ru->oy * sh - ph + ky * dh;
                if (iy < 0 || iy >= H) {
                    memset(dd, 0, ru->len * sizeof(float));
                    continue;
                }
                const float *row = xc_ + iy * W;
                int64_t ix0 = ru->ox * sw - pw + kx * dw;
                if (sw == 1) {
                    int64_t lo = ix0 < 0 ? -ix0 : 0;
                    int64_t hi = W - ix0;
                    if (hi > (int64_t)ru->len) hi = (int64_t)ru->len;
                    if (hi < lo) hi = lo;
                    if (lo > (int64_t)ru->len) lo = hi = (int64_t)ru->len;
                    if (lo) memset(dd, 0, (size_t)lo * sizeof(float));
                    if (hi > lo) memcpy(dd + lo, row + ix0 + lo, (size_t)(hi - lo) * sizeof(float));
                    if ((int64_t)ru->len > hi)
                        memset(dd + hi, 0, (size_t)((int64_t)ru->len - hi) * sizeof(float));
                } else {
                    /* Strided: valid t are those with 0 <= ix0 + t*sw < W. */
                    int64_t len = (int64_t)ru->len;
                    int64_t lo = ix0 < 0 ? (-ix0 + sw - 1) / sw : 0;
                    int64_t hi = W - ix0 > 0 ? (W - ix0 + sw - 1) / sw : 0;
                    if (hi > len) hi = len;
                    if (lo > hi) lo = hi;
                    int64_t t = 0;
                    for (; t < lo; t++) dd[t] = 0.0f;
                    for (; t < hi; t++) dd[t] = row[ix0 + t * sw];
                    for (; t < len; t++) dd[t] = 0.0f;
                }
            }
            if (n < tile) memset(d + n, 0, (tile - n) * sizeof(float));
            if (++kx == KW) {
                kx = 0;
                if (++ky == KH) ky = 0, ci++;
            }
        }
    }
}

static void pack3d(const lens_im2col_ctx *c, size_t k0, size_t kc, size_t x0, size_t xc,
                   size_t tile, float *dst) {
    const int64_t *in = c->in, *out = c->out, *ks = c->k;
    int64_t ksz = ks[0] * ks[1] * ks[2], isz = in[0] * in[1] * in[2];
    for (size_t p = 0; p * tile < xc; p++, dst += kc * tile) {
        size_t col0 = x0 + p * tile, n = LENS_MIN(tile, x0 + xc - col0);
        for (size_t kk = 0; kk < kc; kk++) {
            int64_t k = (int64_t)(k0 + kk), ci = k / ksz, r = k % ksz;
            int64_t kz = r / (ks[1] * ks[2]), ky = r / ks[2] % ks[1], kx = r % ks[2];
            const float *xc_ = c->x + ci * isz;
            float *d = dst + kk * tile;
            for (size_t t = 0; t < n; t++) {
                int64_t col = (int64_t)(col0 + t);
                int64_t oz = col / (out[1] * out[2]), oy = col / out[2] % out[1], ox = col % out[2];
                int64_t iz = oz * c->stride[0] - c->pad[0] + kz * c->dil[0];
                int64_t iy = oy * c->stride[1] - c->pad[1] + ky * c->dil[1];
                int64_t ix = ox * c->stride[2] - c->pad[2] + kx * c->dil[2];
                d[t] = iz >= 0 && iz < in[0] && iy >= 0 && iy < in[1] && ix >= 0 && ix < in[2]
                           ? xc_[(iz * in[1] + iy) * in[2] + ix]
                           : 0.0f;
            }
            for (size_t t = n; t < tile; t++) d[t] = 0.0f;
        }
    }
}

void lens_im2col_pack(const void *vctx, size_t k0, size_t kc, size_t x0, size_t xc, size_t tile,
                      float *dst) {
    const lens_im2col_ctx *c = vctx;
    if (c->nsp == 3)
        pack3d(c, k0, kc, x0, xc, tile, dst);
    else
        pack2d(c, k0, kc, x0, xc, tile, dst);
}
