/* Resize and MaxPool kernel families: every SIMD variant against its
 * portable reference at lengths below, at and above each vector and block
 * width (and the remainders), MaxPool with NaN, signed zeros and infinities
 * (bit for bit: the semantics are exact), and the operator's fast MaxPool
 * path against its general kernel on the same NaN-laden planes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/maxpool.h"
#include "kernels/resize.h"
#include "runtime/threadpool.h"

/* Internal entry point of src/ops/pool.c. */
void lens_pool_f32(int kind, int32_t nsp, int64_t nc, const int64_t *in, const int64_t *out,
                   const int64_t *k, const int64_t *s, const int64_t *pb, const int64_t *pe,
                   bool count_include_pad, const float *x, float *y, lens_threadpool *pool,
                   bool allow_fast);

static int g_fail, g_cases;
static uint32_t g_seed = 99;
static uint32_t urand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return g_seed >> 8;
}
static float frand(void) { return (float)(urand() & 0xFFFF) / 32768.0f - 1.0f; }

static bool close(float a, float b) { return fabsf(a - b) <= 1e-6f + 1e-6f * fabsf(b); }

static void test_resize(void) {
    size_t nv;
    const lens_f32_resize_variant *v = lens_f32_resize_variants(&nv);
    const lens_f32_resize_variant *ref = &v[0];
    enum { W = 37, NMAX = 133 };
    float row[W], h0[NMAX + 1], h1[NMAX + 1], a0[NMAX], a1[NMAX];
    float want[NMAX + 1], got[NMAX + 1];
    int32_t x0[NMAX], x1[NMAX];
    for (size_t i = 0; i < W; i++) row[i] = frand() * 4;
    for (size_t i = 0; i < NMAX; i++) {
        x0[i] = (int32_t)(urand() % W);
        x1[i] = x0[i] + 1 < W ? x0[i] + 1 : x0[i];
        a1[i] = (frand() + 1) / 2;
        a0[i] = 1 - a1[i];
        h0[i] = frand(), h1[i] = frand();
    }
    for (size_t k = 0; k < nv; k++) {
        if (!v[k].supported(lens_cpu_features())) continue;
        for (size_t n = 0; n <= NMAX; n++) {
            /* The sentinel past n must survive: nothing written beyond. */
            for (size_t i = 0; i < n; i++) got[i] = 555.0f;
            got[n] = want[n] = 12345.0f;
            ref->hlinear(row, x0, x1, a0, a1, n, want);
            v[k].hlinear(row, x0, x1, a0, a1, n, got);
            for (size_t i = 0; i <= n; i++)
                if (!close(got[i], want[i])) {
                    fprintf(stderr, "%s hlinear n=%zu: [%zu] %g want %g\n", v[k].name, n, i, got[i], want[i]);
                    g_fail++;
                    break;
                }
            for (size_t i = 0; i < n; i++) got[i] = 555.0f;
            got[n] = want[n] = 12345.0f;
            ref->vlinear(h0, h1, 0.375f, 0.625f, n, want);
            v[k].vlinear(h0, h1, 0.375f, 0.625f, n, got);
            for (size_t i = 0; i <= n; i++)
                if (!close(got[i], want[i])) {
                    fprintf(stderr, "%s vlinear n=%zu: [%zu] %g want %g\n", v[k].name, n, i, got[i], want[i]);
                    g_fail++;
                    break;
                }
            for (size_t i = 0; i < n; i++) got[i] = 555.0f;
            got[n] = want[n] = 12345.0f;
            ref->gather(row, x0, n, want);
            v[k].gather(row, x0, n, got);
            if (memcmp(got, want, (n + 1) * sizeof(float))) {
                fprintf(stderr, "%s gather n=%zu differs\n", v[k].name, n);
                g_fail++;
            }
            g_cases += 3;
        }
    }
}

/* Special values often, so that windows mix them with numbers. */
static float special(void) {
    switch (urand() % 10) {
    case 0: return NAN;
    case 1: return 0.0f;
    case 2: return -0.0f;
    case 3: return -INFINITY;
    case 4: return INFINITY;
    default: return frand();
    }
}

static void maxpool_case(size_t H, size_t W, size_t K1, size_t K2, size_t s1, size_t s2,
                         size_t p1, size_t p2, bool ceil_mode, bool nan) {
    size_t nv;
    const lens_f32_maxpool_variant *v = lens_f32_maxpool_variants(&nv);
    size_t span_h = H + 2 * p1 - K1, span_w = W + 2 * p2 - K2;
    size_t OH = (ceil_mode ? (span_h + s1 - 1) / s1 : span_h / s1) + 1;
    size_t OW = (ceil_mode ? (span_w + s2 - 1) / s2 : span_w / s2) + 1;
    if (ceil_mode && (OH - 1) * s1 >= H + p1) OH--;
    if (ceil_mode && (OW - 1) * s2 >= W + p2) OW--;
    lens_maxpool_geom g = {H, W, OH, OW, K1, K2, s1, s2, p1, p2};
    const size_t planes = 2;
    float *x = malloc(planes * H * W * sizeof(float));
    float *want = malloc((planes * OH * OW + 1) * sizeof(float));
    float *got = malloc((planes * OH * OW + 1) * sizeof(float));
    for (size_t i = 0; i < planes * H * W; i++) x[i] = nan ? special() : frand();
    for (size_t pl = 0; pl < planes; pl++) lens_f32_maxpool__ref(&g, x + pl * H * W, want + pl * OH * OW);
    for (size_t k = 0; k < nv; k++) {
        if (!v[k].supported(lens_cpu_features())) continue;
        /* Fill: every output must be written. */
        for (size_t i = 0; i < planes * OH * OW; i++) got[i] = 555.0f;
        got[planes * OH * OW] = 777.0f;
        for (size_t pl = 0; pl < planes; pl++) v[k].fn(&g, x + pl * H * W, got + pl * OH * OW);
        if (memcmp(got, want, planes * OH * OW * sizeof(float)) || got[planes * OH * OW] != 777.0f) {
            fprintf(stderr, "%s: %zux%zu k=%zux%zu s=%zu,%zu p=%zu,%zu ceil=%d nan=%d differs from the reference\n",
                    v[k].name, H, W, K1, K2, s1, s2, p1, p2, ceil_mode, nan);
            g_fail++;
        }
        g_cases++;
    }
    /* The operator: fast path (this CPU's kernel) and general kernel agree. */
    int64_t in[2] = {(int64_t)H, (int64_t)W}, out[2] = {(int64_t)OH, (int64_t)OW};
    int64_t kk[2] = {(int64_t)K1, (int64_t)K2}, ss[2] = {(int64_t)s1, (int64_t)s2};
    int64_t pb[2] = {(int64_t)p1, (int64_t)p2};
    int64_t pe[2] = {(int64_t)((OH - 1) * s1 + K1 - H - p1), (int64_t)((OW - 1) * s2 + K2 - W - p2)};
    if (pe[0] < 0) pe[0] = 0;
    if (pe[1] < 0) pe[1] = 0;
    for (size_t i = 0; i < planes * OH * OW; i++) got[i] = 555.0f;
    lens_pool_f32(0, 2, (int64_t)planes, in, out, kk, ss, pb, pe, false, x, got, NULL, true);
    if (memcmp(got, want, planes * OH * OW * sizeof(float))) {
        fprintf(stderr, "pool.c fast path differs from the reference (%zux%zu k=%zu s=%zu)\n", H, W, K1, s1);
        g_fail++;
    }
    for (size_t i = 0; i < planes * OH * OW; i++) got[i] = 555.0f;
    lens_pool_f32(0, 2, (int64_t)planes, in, out, kk, ss, pb, pe, false, x, got, NULL, false);
    if (memcmp(got, want, planes * OH * OW * sizeof(float))) {
        fprintf(stderr, "pool.c general kernel differs from the reference (%zux%zu k=%zu s=%zu)\n", H, W, K1, s1);
        g_fail++;
    }
    g_cases += 2;
    free(x), free(want), free(got);
}

static void test_maxpool(void) {
    /* ResNet's stem (3x3/2 pad 1), YOLOv8's SPPF (5x5/1 pad 2), 2x2/2. */
    maxpool_case(112, 112, 3, 3, 2, 2, 1, 1, false, false);
    maxpool_case(20, 20, 5, 5, 1, 1, 2, 2, false, true);
    maxpool_case(16, 16, 2, 2, 2, 2, 0, 0, false, true);
    const size_t widths[] = {1, 2, 3, 5, 15, 16, 17, 31, 33, 47, 64, 65, 66, 97, 130, 131, 150};
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
        for (size_t k = 1; k <= 5; k++)
            for (size_t s = 1; s <= 3; s++)
                for (size_t p = 0; p < k; p++) {
                    size_t W = widths[wi], H = 3 + (wi + k) % 5;
                    if (W + 2 * p < k || H + 2 * p < k) continue;
                    maxpool_case(H, W, k, k, s, s, p, p, (wi + s) % 2 == 0, (wi + k + p) % 2 == 0);
                }
    /* Non-square windows and mixed strides. */
    maxpool_case(9, 70, 2, 3, 1, 2, 1, 0, true, true);
    maxpool_case(11, 40, 3, 2, 2, 1, 0, 1, false, true);
}

int main(void) {
    test_resize();
    test_maxpool();
    printf("%d cases, %d failures\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
