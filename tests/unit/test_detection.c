/* Unit tests of the detection kernels (src/ops/detection.h): NMS and TopK
 * against brute-force references over random inputs with a fixed seed,
 * including ties, empty inputs, zero-area boxes and NaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/nms.h"
#include "ops/detection.h"

static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            g_failures++;                                                                          \
        }                                                                                          \
    } while (0)

static uint64_t g_rng = 0x1234567;
static uint32_t rnd(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_rng >> 33);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 100000) / 100000.0f; }

/* ---- NMS reference: quadratic, no sorting ------------------------------------ */

static void ref_corners(const float *b, int center, float *c) {
    if (center) {
        c[0] = b[1] - b[3] * 0.5f;
        c[1] = b[0] - b[2] * 0.5f;
        c[2] = b[1] + b[3] * 0.5f;
        c[3] = b[0] + b[2] * 0.5f;
    } else {
        c[0] = fminf(b[0], b[2]);
        c[1] = fminf(b[1], b[3]);
        c[2] = fmaxf(b[0], b[2]);
        c[3] = fmaxf(b[1], b[3]);
    }
}

static bool ref_overlap(const float *bi, const float *bj, int center, float thr) {
    float a[4], b[4];
    ref_corners(bi, center, a);
    ref_corners(bj, center, b);
    float w = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    float h = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    if (w <= 0 || h <= 0) return false;
    float inter = w * h;
    float aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
    if (aa <= 0 || ab <= 0 || aa + ab - inter <= 0) return false;
    return inter / (aa + ab - inter) > thr;
}

static int64_t ref_nms(const float *boxes, const float *scores, int64_t n, int center, int64_t max_out,
                       float thr, bool has_st, float st, int64_t *sel) {
    bool *done = calloc((size_t)n + 1, 1);
    int64_t kept = 0;
    for (;;) {
        if (kept >= max_out) break;
        int64_t best = -1;
        for (int64_t i = 0; i < n; i++) {
            if (done[i] || (has_st && !(scores[i] > st)) || isnan(scores[i])) continue;
            if (best < 0 || scores[i] > scores[best]) best = i;
        }
        if (best < 0) break;
        done[best] = true;
        bool keep = true;
        for (int64_t j = 0; j < kept; j++)
            if (ref_overlap(boxes + 4 * sel[j], boxes + 4 * best, center, thr)) keep = false;
        if (keep) sel[kept++] = best;
    }
    free(done);
    return kept;
}

static void test_nms(void) {
    for (int iter = 0; iter < 400; iter++) {
        int64_t n = iter % 50 == 0 ? 0 : (int64_t)(rnd() % 120) + 1;
        int center = (int)(rnd() % 2);
        int64_t max_out = iter % 7 == 0 ? 0 : iter % 3 == 0 ? 1000 : (int64_t)(rnd() % 20);
        float thr = (float)(rnd() % 11) / 10.0f;
        bool has_st = rnd() % 2;
        float st = rndf(0.0f, 0.5f);
        bool ties = rnd() % 2;
        float *boxes = malloc(sizeof(float) * 4 * (size_t)(n + 1));
        float *scores = malloc(sizeof(float) * (size_t)(n + 1));
        for (int64_t i = 0; i < n; i++) {
            float *b = boxes + 4 * i;
            for (int k = 0; k < 4; k++) b[k] = rndf(0.0f, 10.0f);
            if (rnd() % 10 == 0) {
                /* zero-area box */
                if (center) b[2] = 0.0f;
                else b[2] = b[0];
            }
            if (rnd() % 10 == 0 && i > 0) memcpy(b, boxes + 4 * (rnd() % (uint32_t)i), 16);
            scores[i] = ties ? (float)(rnd() % 4) / 4.0f : rndf(0.0f, 1.0f);
            if (rnd() % 40 == 0) scores[i] = NAN;
        }
        lens_nms_cand *cand = malloc(sizeof(*cand) * (size_t)(n + 1));
        float *corners = malloc(sizeof(float) * 4 * (size_t)(n + 1));
        int64_t *sel = malloc(sizeof(int64_t) * (size_t)(n + 1));
        int64_t *ref = malloc(sizeof(int64_t) * (size_t)(n + 1));
        int64_t got = lens_nms_select(boxes, scores, n, center, max_out, thr, has_st, st, cand,
                                      corners, false, sel);
        int64_t want = ref_nms(boxes, scores, n, center, max_out, thr, has_st, st, ref);
        CHECK(got == want, "nms iter %d: %lld boxes kept, reference %lld", iter, (long long)got,
              (long long)want);
        for (int64_t i = 0; i < got && i < want; i++)
            CHECK(sel[i] == ref[i], "nms iter %d: pick %lld is %lld, reference %lld", iter,
                  (long long)i, (long long)sel[i], (long long)ref[i]);
        /* reusing precomputed corners gives the same answer */
        if (n > 0) {
            int64_t again = lens_nms_select(boxes, scores, n, center, max_out, thr, has_st, st,
                                            cand, corners, true, sel);
            CHECK(again == got, "nms iter %d: precomputed corners changed the result", iter);
        }
        free(boxes);
        free(scores);
        free(cand);
        free(corners);
        free(sel);
        free(ref);
    }
    /* identical boxes: only the first (lowest index among equal scores) survives */
    float boxes[5 * 4], scores[5];
    for (int i = 0; i < 5; i++) {
        float b[4] = {0, 0, 1, 1};
        memcpy(boxes + 4 * i, b, sizeof b);
        scores[i] = 0.9f;
    }
    lens_nms_cand cand[5];
    float corners[20];
    int64_t sel[5];
    int64_t k = lens_nms_select(boxes, scores, 5, 0, 10, 0.5f, false, 0, cand, corners, false, sel);
    CHECK(k == 1 && sel[0] == 0, "identical boxes: kept %lld, first %lld", (long long)k,
          (long long)sel[0]);
}

/* ---- TopK reference: repeated scan ---------------------------------------------- */

static bool ref_better(float a, int64_t ia, float b, int64_t ib, bool largest) {
    /* NaN ranks above every number */
    bool gt = (isnan(a) && !isnan(b)) || a > b, lt = (isnan(b) && !isnan(a)) || a < b;
    if (largest ? gt : lt) return true;
    if (largest ? lt : gt) return false;
    return ia < ib;
}

static void test_topk(void) {
    for (int iter = 0; iter < 500; iter++) {
        int64_t n = iter % 40 == 0 ? 0 : (int64_t)(rnd() % 70) + 1;
        int64_t stride = (int64_t)(rnd() % 3) + 1, ostride = (int64_t)(rnd() % 2) + 1;
        int64_t k = n ? (int64_t)(rnd() % (uint32_t)(n + 1)) : 0;
        bool largest = rnd() % 2;
        int mode = (int)(rnd() % 3); /* 0 distinct-ish, 1 heavy ties, 2 ties + NaN */
        float *x = malloc(sizeof(float) * (size_t)(n * stride + 1));
        for (int64_t i = 0; i < n * stride; i++) {
            x[i] = mode == 0 ? rndf(-5.0f, 5.0f) : (float)(rnd() % 4) - 2.0f;
            if (mode == 2 && rnd() % 8 == 0) x[i] = NAN;
        }
        float *v = malloc(sizeof(float) * (size_t)(k * ostride + 1));
        int64_t *idx = malloc(sizeof(int64_t) * (size_t)(k * ostride + 1));
        int64_t *work = malloc(sizeof(int64_t) * (size_t)(k + 1));
        lens_topk_f32(x, n, stride, k, largest, v, idx, ostride, work);
        bool *taken = calloc((size_t)n + 1, 1);
        for (int64_t j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t i = 0; i < n; i++) {
                if (taken[i]) continue;
                if (best < 0 || ref_better(x[i * stride], i, x[best * stride], best, largest)) best = i;
            }
            taken[best] = true;
            CHECK(idx[j * ostride] == best, "topk iter %d (n %lld k %lld %s): rank %lld is index "
                  "%lld, reference %lld", iter, (long long)n, (long long)k,
                  largest ? "largest" : "smallest", (long long)j, (long long)idx[j * ostride],
                  (long long)best);
            float a = v[j * ostride], b = x[best * stride];
            CHECK(a == b || (isnan(a) && isnan(b)), "topk iter %d: value mismatch at rank %lld",
                  iter, (long long)j);
        }
        free(x);
        free(v);
        free(idx);
        free(work);
        free(taken);
    }
}

/* Every NMS kernel variant against the reference, for every count of kept
 * boxes up to three blocks of 64 and a suppressor at every position (the
 * block edges included), plus degenerate and NaN boxes. */
static void test_nms_kernels(void) {
    size_t nv;
    const lens_nms_variant *v = lens_nms_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    enum { N = 200 };
    float kept[4 * N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        float q[4];
        for (int k = 0; k < 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            q[k] = (float)(seed >> 8) / 16777216.0f;
        }
        /* far apart, small boxes: none overlaps the candidate unless placed */
        kept[4 * i + 0] = 2.0f + q[0] * 0.1f + (float)i;
        kept[4 * i + 1] = 2.0f + q[1] * 0.1f;
        kept[4 * i + 2] = kept[4 * i + 0] + 0.05f + q[2] * 0.1f;
        kept[4 * i + 3] = kept[4 * i + 1] + 0.05f + q[3] * 0.1f;
        if (i % 17 == 3) kept[4 * i + 2] = kept[4 * i + 0];   /* zero area */
        if (i % 29 == 5) kept[4 * i + 3] = NAN;
    }
    const float b[4] = {0.1f, 0.1f, 0.5f, 0.5f};
    const float area_b = 0.16f;
    for (size_t k = 0; k < nv; k++) {
        if (!v[k].supported(cpu)) continue;
        for (int n = 0; n <= N; n++) {
            for (int pos = -1; pos < n; pos++) {
                float save[4];
                if (pos >= 0) { /* make box pos overlap the candidate */
                    for (int c = 0; c < 4; c++) save[c] = kept[4 * pos + c];
                    kept[4 * pos + 0] = 0.12f, kept[4 * pos + 1] = 0.1f;
                    kept[4 * pos + 2] = 0.5f, kept[4 * pos + 3] = 0.52f;
                }
                int want = lens_nms_any__ref(kept, n, b, area_b, 0.5f);
                int got = v[k].fn(kept, n, b, area_b, 0.5f);
                CHECK((got != 0) == (want != 0), "%s n=%d pos=%d: %d, ref %d", v[k].name, n, pos, got, want);
                CHECK((want != 0) == (pos >= 0), "ref n=%d pos=%d: %d", n, pos, want);
                /* a threshold above the IoU keeps the candidate */
                CHECK(v[k].fn(kept, n, b, area_b, 0.99f) == 0, "%s n=%d pos=%d at 0.99", v[k].name, n, pos);
                if (pos >= 0)
                    for (int c = 0; c < 4; c++) kept[4 * pos + c] = save[c];
            }
        }
    }
}

int main(void) {
    test_nms_kernels();
    test_nms();
    test_topk();
    if (g_failures) {
        fprintf(stderr, "test_detection: %d failure(s)\n", g_failures);
        return 1;
    }
    printf("test_detection: ok\n");
    return 0;
}
