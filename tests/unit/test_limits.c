/* Safety limits (lens_limits): each one is enforced where it applies, with
 * LENS_STATUS_LIMIT_EXCEEDED and a message naming what went over; zero
 * fields keep the defaults; shapes whose element count overflows are
 * refused, never computed with. Fixtures: data/make_limits_fixtures.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/common.h"
#include "lens/lens.h"
#include "runtime/runtime.h"

static int failures;
#define CHECK(c, ...)                                                                   \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c);       \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, " (last error: %s)\n", lens_last_error());                  \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

static lens_status open_with(const char *path, const lens_limits *l, lens_model **m) {
    lens_model_options o;
    memset(&o, 0, sizeof o);
    if (l) o.limits = *l;
    return lens_model_open(path, &o, m);
}

static bool error_has(const char *s) { return strstr(lens_last_error(), s) != NULL; }

static uint8_t *slurp(const char *path, size_t *n) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = malloc(1 << 16);
    *n = b ? fread(b, 1, 1 << 16, f) : 0;
    fclose(f);
    return b;
}

static void test_defaults(void) {
    lens_limits d;
    lens_limits_resolve(NULL, &d);
    CHECK(d.max_file_bytes == 4ull << 30 && d.max_tensor_elements == 1ull << 31 && d.max_tensor_bytes == 4ull << 30 &&
              d.max_plan_bytes == 16ull << 30 && d.max_nodes == 1000000 && d.max_graph_depth == 16,
          "documented defaults");
    lens_limits z, r;
    memset(&z, 0, sizeof z);
    z.max_nodes = 7;
    lens_limits_resolve(&z, &r);
    CHECK(r.max_nodes == 7 && r.max_file_bytes == d.max_file_bytes && r.max_graph_depth == 16,
          "zero fields keep the defaults");
}

static void test_file_bytes(void) {
    const char *path = "data/limits_chain.onnx";
    struct stat sb;
    CHECK(stat(path, &sb) == 0, "%s", path);
    lens_limits l;
    memset(&l, 0, sizeof l);
    lens_model *m = NULL;
    l.max_file_bytes = (uint64_t)sb.st_size - 1;
    CHECK(open_with(path, &l, &m) == LENS_STATUS_LIMIT_EXCEEDED && !m && error_has("over the limit"), "file size");
    l.max_file_bytes = (uint64_t)sb.st_size;
    CHECK(open_with(path, &l, &m) == LENS_OK, "file size at the limit");
    lens_model_free(m);
    size_t n;
    uint8_t *b = slurp(path, &n);
    CHECK(b && n > 1, "%s", path);
    if (!b || n < 2) {
        free(b);
        return;
    }
    lens_model_options o;
    memset(&o, 0, sizeof o);
    o.limits.max_file_bytes = n - 1;
    m = NULL;
    CHECK(lens_model_open_memory(b, n, &o, &m) == LENS_STATUS_LIMIT_EXCEEDED && !m, "in-memory model size");
    free(b);
}

static void test_nodes_and_depth(void) {
    lens_limits l;
    memset(&l, 0, sizeof l);
    lens_model *m = NULL;
    l.max_nodes = 63;
    CHECK(open_with("data/limits_chain.onnx", &l, &m) == LENS_STATUS_LIMIT_EXCEEDED && error_has("more than 63 nodes"),
          "64 nodes over a limit of 63");
    l.max_nodes = 64;
    CHECK(open_with("data/limits_chain.onnx", &l, &m) == LENS_OK, "64 nodes at a limit of 64");
    lens_model_free(m);
    m = NULL;

    memset(&l, 0, sizeof l);
    l.max_graph_depth = 4;
    CHECK(open_with("data/limits_nested.onnx", &l, &m) == LENS_STATUS_LIMIT_EXCEEDED &&
              error_has("nested deeper than 4"),
          "If nested 5 deep over a depth limit of 4");
    l.max_graph_depth = 5;
    CHECK(open_with("data/limits_nested.onnx", &l, &m) == LENS_OK, "depth 5 at a limit of 5");
    if (m) {
        lens_session *s = NULL;
        CHECK(lens_session_create(m, NULL, &s) == LENS_OK, "session");
        uint8_t cond = 1;
        float x[2] = {1.5f, -2.0f};
        lens_tensor in[2] = {{LENS_DTYPE_BOOL, 0, {0}, &cond}, {LENS_DTYPE_FLOAT, 1, {2}, x}};
        lens_tensor y;
        CHECK(s && lens_session_run(s, 2, in) == LENS_OK && lens_session_output(s, 0, &y) == LENS_OK &&
                  ((float *)y.data)[0] == -1.5f && ((float *)y.data)[1] == 2.0f,
              "the nested model runs");
        lens_session_free(s);
    }
    lens_model_free(m);
}

static void test_tensor_limits_at_load(void) {
    /* conv_fuse.onnx's largest initializer is its 4x3x3x3 weight (108 floats). */
    lens_limits l;
    memset(&l, 0, sizeof l);
    lens_model *m = NULL;
    l.max_tensor_elements = 100;
    CHECK(open_with("data/conv_fuse.onnx", &l, &m) == LENS_STATUS_LIMIT_EXCEEDED && error_has("elements"),
          "an initializer over the element limit");
    memset(&l, 0, sizeof l);
    l.max_tensor_bytes = 400;
    CHECK(open_with("data/conv_fuse.onnx", &l, &m) == LENS_STATUS_LIMIT_EXCEEDED && error_has("bytes"),
          "an initializer over the byte limit");
    CHECK(!m, "no model");
}

/* Expand's output shape comes from an input: the runtime check in
 * lens_exec_output is what stands between it and the allocator. */
static lens_status run_expand(lens_model *m, int64_t k, const int64_t *shape) {
    lens_session *s = NULL;
    lens_session_options so = {.threads = 1};
    if (lens_session_create(m, &so, &s) != LENS_OK) return LENS_STATUS_INTERNAL;
    float x = 2.5f;
    lens_tensor in[2] = {{LENS_DTYPE_FLOAT, 1, {1}, &x}, {LENS_DTYPE_INT64, 1, {k}, (void *)shape}};
    lens_status st = lens_session_run(s, 2, in);
    if (st == LENS_OK) {
        lens_tensor y;
        lens_session_output(s, 0, &y);
        int64_t n = lens_tensor_numel(&y);
        for (int64_t i = 0; i < n; i++)
            if (((float *)y.data)[i] != 2.5f) st = LENS_STATUS_INTERNAL;
    }
    lens_session_free(s);
    return st;
}

static void test_runtime_shapes(void) {
    lens_limits l;
    memset(&l, 0, sizeof l);
    l.max_tensor_elements = 100000;
    lens_model *m = NULL;
    CHECK(open_with("data/limits_expand.onnx", &l, &m) == LENS_OK, "open");
    if (!m) return;
    const int64_t ok[2] = {3, 4}, big[2] = {1000, 1000}, huge[2] = {1ll << 40, 1ll << 40},
                  empty_absurd[2] = {0, 1ll << 62}, negative[2] = {-5, 2};
    CHECK(run_expand(m, 2, ok) == LENS_OK, "3x4");
    CHECK(run_expand(m, 2, big) == LENS_STATUS_LIMIT_EXCEEDED && error_has("'expand'") &&
              error_has("[1000, 1000]"),
          "an output over the element limit names the node and the shape");
    CHECK(run_expand(m, 2, huge) == LENS_STATUS_LIMIT_EXCEEDED, "2^80 elements: the count overflows int64");
    CHECK(run_expand(m, 2, empty_absurd) == LENS_STATUS_LIMIT_EXCEEDED,
          "an empty output with a 2^62 dimension is refused (its non-zero dims are over the limit)");
    lens_status st = run_expand(m, 2, negative);
    CHECK(st != LENS_OK && st != LENS_STATUS_INTERNAL, "a negative dimension fails cleanly (%s)", lens_status_string(st));
    lens_model_free(m);

    /* inputs are held to the limits too */
    CHECK(open_with("data/limits_chain.onnx", &l, &m) == LENS_OK, "open");
    if (!m) return;
    lens_session *s = NULL;
    CHECK(lens_session_create(m, NULL, &s) == LENS_OK, "session");
    lens_tensor in = {LENS_DTYPE_FLOAT, 1, {200000}, NULL};
    float one = 1;
    in.data = &one;
    CHECK(lens_session_run(s, 1, &in) == LENS_STATUS_LIMIT_EXCEEDED && error_has("too large"), "input over the limit");
    lens_tensor in2 = {LENS_DTYPE_FLOAT, 2, {0, 1ll << 50}, NULL};
    CHECK(lens_session_run(s, 1, &in2) != LENS_OK, "an empty input with absurd dims");
    lens_tensor view = {LENS_DTYPE_FLOAT, 3, {1ll << 40, 1ll << 40, 0}, NULL};
    CHECK(lens_tensor_numel(&view) == 0, "numel of an empty view with large dims is 0, without overflow");
    view.dims[2] = 1ll << 40;
    CHECK(lens_tensor_numel(&view) == -1, "numel that overflows int64 is -1");
    lens_session_free(s);
    lens_model_free(m);
}

/* max_plan_bytes holds the planning run (values on the heap) as well as
 * the plan's arena. The chain keeps two 256 KiB values alive at once. */
static void test_plan_bytes(void) {
    enum { N = 65536 };
    float *x = malloc(sizeof(float) * N);
    if (!x) return;
    for (int i = 0; i < N; i++) x[i] = (float)(i % 13) - 6.0f;
    lens_tensor in = {LENS_DTYPE_FLOAT, 1, {N}, x};
    lens_limits l;
    memset(&l, 0, sizeof l);
    l.max_plan_bytes = 300 << 10;
    lens_model *m = NULL;
    CHECK(open_with("data/limits_chain.onnx", &l, &m) == LENS_OK, "open");
    lens_session *s = NULL;
    if (m) CHECK(lens_session_create(m, NULL, &s) == LENS_OK, "session");
    if (s) {
        CHECK(lens_session_run(s, 1, &in) == LENS_STATUS_LIMIT_EXCEEDED && error_has("memory plan limit"),
              "the planning run needs more than 300 KiB");
        lens_session_free(s);
    }
    lens_model_free(m);
    m = NULL;
    s = NULL;
    l.max_plan_bytes = 1 << 20;
    CHECK(open_with("data/limits_chain.onnx", &l, &m) == LENS_OK, "open");
    if (m) CHECK(lens_session_create(m, NULL, &s) == LENS_OK, "session");
    for (int run = 0; s && run < 3; run++) {
        lens_tensor y;
        CHECK(lens_session_run(s, 1, &in) == LENS_OK && lens_session_output(s, 0, &y) == LENS_OK, "run %d in 1 MiB",
              run);
        for (int i = 0; i < N && y.data; i++)
            if (((float *)y.data)[i] != (x[i] > 0 ? x[i] : 0)) {
                CHECK(0, "wrong value at %d", i);
                break;
            }
    }
    lens_session_free(s);
    lens_model_free(m);
    free(x);
}

/* Constant folding keeps what it folds: its total is held to
 * max_plan_bytes. limits_fold.onnx folds three 1 MiB Expands. */
static void test_fold_budget(void) {
    enum { N = 1 << 18 };
    float *x = calloc(N, sizeof(float));
    if (!x) return;
    lens_tensor in = {LENS_DTYPE_FLOAT, 1, {N}, x};
    size_t arena[2] = {0, 0};
    const uint64_t budgets[2] = {0, (3u << 20) / 2}; /* default; 1.5 MiB: one folds */
    for (int k = 0; k < 2; k++) {
        lens_limits l;
        memset(&l, 0, sizeof l);
        l.max_plan_bytes = budgets[k];
        lens_model *m = NULL;
        CHECK(open_with("data/limits_fold.onnx", &l, &m) == LENS_OK, "open with plan limit %llu",
              (unsigned long long)budgets[k]);
        if (!m) continue;
        /* Folded tensors of 4 KiB and more are releasable pieces of the arena. */
        arena[k] = m->arena.used_total + m->arena.piece_bytes;
        lens_session *s = NULL;
        CHECK(lens_session_create(m, NULL, &s) == LENS_OK, "session");
        lens_status st = s ? lens_session_run(s, 1, &in) : LENS_STATUS_INTERNAL;
        if (k == 0) {
            lens_tensor y;
            CHECK(st == LENS_OK && lens_session_output(s, 0, &y) == LENS_OK && ((float *)y.data)[N - 1] == 4.5f,
                  "all folded: X + 4.5");
        } else {
            /* What is not folded runs: 1 MiB values on the heap, over 1.5 MiB. */
            CHECK(st == LENS_STATUS_LIMIT_EXCEEDED, "the unfolded rest is over the plan limit (%s)",
                  lens_status_string(st));
        }
        lens_session_free(s);
        lens_model_free(m);
    }
    CHECK(arena[0] >= (3u << 20), "default limits fold all three (%zu bytes kept)", arena[0]);
    CHECK(arena[1] < (3u << 20) / 2 + (64u << 10), "a 1.5 MiB plan limit keeps folding under it (%zu bytes)", arena[1]);
    free(x);
}

int main(void) {
    test_defaults();
    test_file_bytes();
    test_nodes_and_depth();
    test_tensor_limits_at_load();
    test_runtime_shapes();
    test_plan_bytes();
    test_fold_budget();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_limits: all checks passed\n");
    return failures ? 1 : 0;
}
