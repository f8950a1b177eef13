/* Runtime tests: dynamic shapes and re-planning, plan-time folding of shape
 * subgraphs, no allocation in steady-state runs, subgraphs with outer-scope
 * names, optimiser fusions, input validation, concurrent sessions. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "lens/lens.h"

static int failures;
#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #c, \
                    lens_last_error());                                                       \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static void test_dynamic_shapes(void) {
    lens_model *m = NULL;
    CHECK(lens_model_open("data/dyn_shape.onnx", NULL, &m) == LENS_OK);
    if (!m) return;
    lens_value_info vi;
    CHECK(lens_model_input_info(m, 0, &vi) == LENS_OK);
    CHECK(vi.ndim == 2 && vi.dims[0] == -1 && vi.dim_names[0] && !strcmp(vi.dim_names[0], "N") && vi.dims[1] == 4);
    lens_session *s = NULL;
    lens_session_options so = {.threads = 2};
    CHECK(lens_session_create(m, &so, &s) == LENS_OK);
    const float b[4] = {1, -2, 3, -4};
    int ns[] = {2, 3, 3, 3, 1, 3};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float x[12];
        for (int i = 0; i < n * 4; i++) x[i] = (float)(i - 5) * 0.5f;
        lens_tensor in = {LENS_DTYPE_FLOAT, 2, {n, 4}, x};
        uint64_t before = lens_alloc_fail_after(0);
        (void)before;
        CHECK(lens_session_run(s, 1, &in) == LENS_OK);
        uint64_t allocs = lens_alloc_fail_after(0);
        /* third and later runs with the same shape allocate nothing */
        if (t == 3) CHECK(allocs == 0);
        lens_tensor y, z;
        CHECK(lens_session_output(s, 0, &y) == LENS_OK);
        CHECK(lens_session_output(s, 1, &z) == LENS_OK);
        CHECK(y.ndim == 2 && y.dims[0] == n && y.dims[1] == 4);
        CHECK(z.ndim == 2 && z.dims[0] == n && z.dims[1] == 4);
        for (int i = 0; i < n * 4 && y.data && z.data; i++) {
            float r = x[i] + b[i % 4];
            r = r > 0 ? r : 0;
            CHECK(((float *)y.data)[i] == r);
            CHECK(((float *)z.data)[i] == r * r);
        }
    }
    /* wrong dtype / rank / name the input in the message */
    int64_t xi[8] = {0};
    lens_tensor bad = {LENS_DTYPE_INT64, 2, {2, 4}, xi};
    CHECK(lens_session_run(s, 1, &bad) == LENS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(lens_last_error(), "'X'") != NULL);
    float xf[8] = {0};
    lens_tensor bad2 = {LENS_DTYPE_FLOAT, 2, {2, 5}, xf};
    CHECK(lens_session_run(s, 1, &bad2) == LENS_STATUS_SHAPE_MISMATCH);
    CHECK(strstr(lens_last_error(), "[N, 4]") != NULL);
    CHECK(lens_session_run(s, 0, NULL) == LENS_STATUS_INVALID_ARGUMENT);
    lens_session_free(s);
    lens_model_free(m);
}

static void test_if_outer(void) {
    lens_model *m = NULL;
    CHECK(lens_model_open("data/if_outer.onnx", NULL, &m) == LENS_OK);
    if (!m) return;
    lens_session *s = NULL;
    CHECK(lens_session_create(m, NULL, &s) == LENS_OK);
    for (int c = 0; c < 2; c++) {
        uint8_t cond = (uint8_t)c;
        float x[3] = {1, 2, 3};
        lens_tensor in[2] = {{LENS_DTYPE_BOOL, 0, {0}, &cond}, {LENS_DTYPE_FLOAT, 1, {3}, x}};
        CHECK(lens_session_run(s, 2, in) == LENS_OK);
        lens_tensor y;
        CHECK(lens_session_output(s, 0, &y) == LENS_OK);
        for (int i = 0; i < 3 && y.data; i++) CHECK(((float *)y.data)[i] == (c ? x[i] * 2 : x[i] + 10));
    }
    lens_session_free(s);
    lens_model_free(m);
}

static float g_expected[120];

static int check_conv_fuse(lens_model *m, int threads) {
    lens_session *s = NULL;
    lens_session_options so = {.threads = threads};
    if (lens_session_create(m, &so, &s) != LENS_OK) return 1;
    float x[90];
    for (int i = 0; i < 90; i++) x[i] = (float)i / 10.0f - 4.0f;
    lens_tensor in = {LENS_DTYPE_FLOAT, 4, {1, 3, 5, 6}, x};
    int bad = 0;
    for (int r = 0; r < 3; r++) {
        if (lens_session_run(s, 1, &in) != LENS_OK) {
            bad++;
            break;
        }
        lens_tensor y;
        lens_session_output(s, 0, &y);
        for (int i = 0; i < 120; i++) {
            float d = fabsf(((float *)y.data)[i] - g_expected[i]);
            if (d > 1e-4f * (1 + fabsf(g_expected[i]))) bad++;
        }
    }
    lens_session_free(s);
    return bad;
}

static void *thread_main(void *arg) {
    lens_model *m = arg;
    int bad = 0;
    for (int i = 0; i < 50; i++) bad += check_conv_fuse(m, 1);
    return (void *)(intptr_t)bad;
}

static void test_fusion_and_threads(void) {
    FILE *f = fopen("data/conv_fuse_expected.f32", "rb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fread(g_expected, sizeof(float), 120, f) == 120);
    fclose(f);
    lens_model *m = NULL, *m_noopt = NULL;
    CHECK(lens_model_open("data/conv_fuse.onnx", NULL, &m) == LENS_OK);
    lens_model_options mo = {.disable_optimizations = 1};
    CHECK(lens_model_open("data/conv_fuse.onnx", &mo, &m_noopt) == LENS_OK);
    if (!m || !m_noopt) return;
    CHECK(check_conv_fuse(m, 1) == 0);
    CHECK(check_conv_fuse(m, 2) == 0);
    CHECK(check_conv_fuse(m_noopt, 1) == 0);
    /* one model, several threads, each with its own session */
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, thread_main, m);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK((intptr_t)r == 0);
    }
    lens_model_free(m);
    lens_model_free(m_noopt);
}

/* Runs conv_bcast_residual.onnx and returns its 100 outputs in y. */
static lens_status run_bcast(const lens_model_options *mo, float *y) {
    lens_model *m = NULL;
    lens_status st = lens_model_open("data/conv_bcast_residual.onnx", mo, &m);
    if (st != LENS_OK) return st;
    lens_session *s = NULL;
    st = lens_session_create(m, NULL, &s);
    float x[75], x2[100];
    for (int i = 0; i < 75; i++) x[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
    for (int i = 0; i < 100; i++) x2[i] = (float)((i * 5) % 13) / 6.0f - 1.0f;
    lens_tensor in[2] = {{LENS_DTYPE_FLOAT, 4, {1, 3, 5, 5}, x}, {LENS_DTYPE_FLOAT, 4, {1, 4, 5, 5}, x2}};
    if (st == LENS_OK) st = lens_session_run(s, 2, in);
    lens_tensor out;
    if (st == LENS_OK) st = lens_session_output(s, 0, &out);
    if (st == LENS_OK) memcpy(y, out.data, sizeof(float) * 100);
    lens_session_free(s);
    lens_model_free(m);
    return st;
}

/* Regression: a residual fused into Conv that only broadcasts to its output
 * (an SE-style [1, M, 1, 1]) used to fail with "fused residual does not
 * match the output shape". */
static void test_conv_broadcast_residual(void) {
    float a[100], b[100];
    lens_model_options noopt = {.disable_optimizations = 1};
    CHECK(run_bcast(NULL, a) == LENS_OK);
    CHECK(run_bcast(&noopt, b) == LENS_OK);
    int bad = 0, pos = 0;
    for (int i = 0; i < 100; i++) {
        if (fabsf(a[i] - b[i]) > 1e-5f * (1 + fabsf(b[i]))) bad++;
        pos += b[i] > 0;
    }
    CHECK(bad == 0);
    CHECK(pos > 10 && pos < 90); /* the Relu is really in play */
}

static void test_bad_files(void) {
    lens_model *m = NULL;
    CHECK(lens_model_open("data/does-not-exist.onnx", NULL, &m) == LENS_STATUS_IO_ERROR);
    CHECK(strstr(lens_last_error(), "does-not-exist") != NULL);
    CHECK(lens_model_open(".", NULL, &m) != LENS_OK);
    const char junk[] = "this is not an onnx file at all";
    CHECK(lens_model_open_memory(junk, sizeof junk, NULL, &m) != LENS_OK);
    CHECK(m == NULL);
}

int main(void) {
    test_dynamic_shapes();
    test_if_outer();
    test_fusion_and_threads();
    test_conv_broadcast_residual();
    test_bad_files();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("runtime tests passed\n");
    return 0;
}
