/* Fast paths of pooling, resizing and reductions against the general
 * kernels (and, for a few cases, against values worked out by hand). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/common.h"
#include "runtime/threadpool.h"

/* Internal entry points of src/ops/{pool,resize,reduce}.c. */
void lens_pool_f32(int kind, int32_t nsp, int64_t nc, const int64_t *in, const int64_t *out,
                   const int64_t *k, const int64_t *s, const int64_t *pb, const int64_t *pe,
                   bool count_include_pad, const float *x, float *y, lens_threadpool *pool,
                   bool allow_fast);
lens_status lens_resize_f32(const float *x, float *y, int32_t nd, const int64_t *in, const int64_t *out,
                            const double *scales, int mode, int coord, int nearest, double cubic_a,
                            bool exclude_outside, float extrap, const float *roi, lens_threadpool *pool,
                            bool allow_fast);
void lens_reduce_3d(lens_threadpool *pool, bool dbl, int kind, const void *in, void *out,
                    int64_t outer, int64_t r, int64_t inner);

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static uint32_t rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 65536.0f * 4.0f - 2.0f;
}

static float max_diff(const float *a, const float *b, int64_t n) {
    float m = 0;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static int64_t out_len(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe) {
    return (in + pb + pe - k) / s + 1;
}

static void test_pool(lens_threadpool *pool) {
    static const struct { int64_t h, w, k, s, p; } cases[] = {
        {8, 8, 2, 2, 0},   {7, 9, 2, 2, 0},  {9, 7, 3, 2, 1}, {16, 16, 3, 1, 1},
        {5, 5, 3, 2, 0},   {1, 1, 1, 1, 0},  {6, 11, 3, 3, 1}, {13, 13, 5, 2, 2},
        {4, 4, 4, 4, 0},   {3, 17, 2, 1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t in[2] = {cases[c].h, cases[c].w}, k[2] = {cases[c].k, cases[c].k};
        int64_t s[2] = {cases[c].s, cases[c].s}, pb[2] = {cases[c].p, cases[c].p};
        int64_t pe[2] = {cases[c].p, cases[c].p};
        int64_t out[2] = {out_len(in[0], k[0], s[0], pb[0], pe[0]), out_len(in[1], k[1], s[1], pb[1], pe[1])};
        int64_t nc = 6, n_in = nc * in[0] * in[1], n_out = nc * out[0] * out[1];
        float *x = malloc(sizeof(float) * n_in), *a = malloc(sizeof(float) * n_out),
              *b = malloc(sizeof(float) * n_out);
        for (int64_t i = 0; i < n_in; i++) x[i] = frand();
        for (int kind = 0; kind < 2; kind++)
            for (int cip = 0; cip < 2; cip++) {
                lens_pool_f32(kind, 2, nc, in, out, k, s, pb, pe, cip, x, a, pool, true);
                lens_pool_f32(kind, 2, nc, in, out, k, s, pb, pe, cip, x, b, NULL, false);
                float d = max_diff(a, b, n_out);
                CHECK(d < 1e-5f, "pool kind %d cip %d case %zu: fast vs general differ by %g", kind, cip, c, d);
            }
        free(x);
        free(a);
        free(b);
    }
    /* Hand-checked: 2x2 average with padding 1, count_include_pad on/off. */
    float x[4] = {1, 2, 3, 4}, y[9];
    int64_t in[2] = {2, 2}, out[2] = {3, 3}, k[2] = {2, 2}, s[2] = {1, 1}, p[2] = {1, 1};
    lens_pool_f32(1, 2, 1, in, out, k, s, p, p, false, x, y, NULL, true);
    CHECK(y[0] == 1 && y[1] == 1.5f && y[4] == 2.5f && y[8] == 4, "avgpool exclude pad");
    lens_pool_f32(1, 2, 1, in, out, k, s, p, p, true, x, y, NULL, true);
    CHECK(y[0] == 0.25f && y[4] == 2.5f, "avgpool include pad");
}

static void test_resize(lens_threadpool *pool) {
    static const struct { int64_t h, w, oh, ow; } shapes[] = {
        {4, 4, 8, 8}, {5, 7, 10, 21}, {8, 8, 4, 4}, {7, 5, 3, 11}, {1, 1, 3, 3}, {3, 3, 1, 1},
        {16, 9, 32, 18}, {6, 6, 6, 6}, {2, 3, 5, 7},
    };
    /* coordinate modes of resize.c: half_pixel, pytorch_half_pixel,
     * align_corners, asymmetric. */
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        int64_t in[4] = {2, 3, shapes[c].h, shapes[c].w}, out[4] = {2, 3, shapes[c].oh, shapes[c].ow};
        double sc[4] = {1, 1, (double)out[2] / (double)in[2], (double)out[3] / (double)in[3]};
        int64_t n_in = 6 * in[2] * in[3], n_out = 6 * out[2] * out[3];
        float *x = malloc(sizeof(float) * n_in), *a = malloc(sizeof(float) * n_out),
              *b = malloc(sizeof(float) * n_out);
        for (int64_t i = 0; i < n_in; i++) x[i] = frand();
        for (int mode = 0; mode < 2; mode++)
            for (int coord = 0; coord < 4; coord++)
                for (int nm = 0; nm < (mode == 0 ? 4 : 1); nm++) {
                    CHECK(lens_resize_f32(x, a, 4, in, out, sc, mode, coord, nm, -0.75, false, 0, NULL, pool, true) == LENS_OK, "resize");
                    CHECK(lens_resize_f32(x, b, 4, in, out, sc, mode, coord, nm, -0.75, false, 0, NULL, NULL, false) == LENS_OK, "resize");
                    float d = max_diff(a, b, n_out);
                    CHECK(d < 1e-5f, "resize %lldx%lld->%lldx%lld mode %d coord %d nearest %d: differ by %g",
                          (long long)in[2], (long long)in[3], (long long)out[2], (long long)out[3], mode, coord,
                          nm, d);
                }
        free(x);
        free(a);
        free(b);
    }
    /* Hand-checked: nearest x2 (asymmetric floor) and bilinear align_corners. */
    float x[4] = {1, 2, 3, 4}, y[16];
    int64_t in[4] = {1, 1, 2, 2}, out[4] = {1, 1, 4, 4};
    double sc[4] = {1, 1, 2, 2};
    lens_resize_f32(x, y, 4, in, out, sc, 0, 3, 2, -0.75, false, 0, NULL, NULL, true);
    CHECK(y[0] == 1 && y[1] == 1 && y[2] == 2 && y[10] == 4 && y[8] == 3, "nearest x2");
    int64_t out3[4] = {1, 1, 3, 3};
    double sc3[4] = {1, 1, 1.5, 1.5};
    lens_resize_f32(x, y, 4, in, out3, sc3, 1, 2, 0, -0.75, false, 0, NULL, NULL, true);
    CHECK(y[0] == 1 && y[1] == 1.5f && y[4] == 2.5f && y[8] == 4, "bilinear align_corners");
}

static void test_reduce(lens_threadpool *pool) {
    /* rows (inner == 1) against cols (inner > 1) on a transposed copy. */
    int64_t outer = 3, r = 37, inner = 300;
    float *x = malloc(sizeof(float) * outer * r * inner), *xt = malloc(sizeof(float) * outer * r * inner);
    float *a = malloc(sizeof(float) * outer * inner), *b = malloc(sizeof(float) * outer * inner);
    for (int64_t i = 0; i < outer * r * inner; i++) x[i] = frand();
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < inner; j++) xt[(o * inner + j) * r + i] = x[(o * r + i) * inner + j];
    for (int kind = 0; kind < 10; kind++) {
        if (kind == 4 || kind == 7) continue; /* prod and log-sum of random signs: not comparable */
        lens_reduce_3d(pool, false, kind, x, a, outer, r, inner);
        lens_reduce_3d(NULL, false, kind, xt, b, outer * inner, r, 1);
        float d = max_diff(a, b, outer * inner);
        CHECK(d < 1e-4f, "reduce kind %d: rows vs cols differ by %g", kind, d);
    }
    free(x);
    free(xt);
    free(a);
    free(b);
}

int main(void) {
    lens_threadpool *pool;
    if (lens_threadpool_create(4, &pool) != LENS_OK) {
        fprintf(stderr, "cannot create thread pool\n");
        return 1;
    }
    test_pool(pool);
    test_resize(pool);
    test_reduce(pool);
    lens_threadpool_free(pool);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_pool_resize: OK\n");
    return 0;
}
