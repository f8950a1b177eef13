/* Allocation failures: for real models (the unit-test models, a few ONNX
 * conformance models with control flow and data-dependent shapes, and the
 * bundled digits classifier), fail the N-th allocation for every N in turn
 * during open, session creation and two runs (the planning run and the
 * planned run). Each time:
 *   - the failing call returns LENS_STATUS_OUT_OF_MEMORY with a message,
 *   - nothing is leaked: the count of live blocks (lens_alloc_live) is back
 *     where it was once everything is freed (LeakSanitizer checks the same
 *     in the sanitizer build, and libc-level leaks too),
 *   - nothing is corrupted: when a run failed, the same session runs again
 *     with allocations working and gives bit-identical outputs to a run
 *     that never saw a failure; when a failure was absorbed (an optional
 *     cache that is simply not built), the outputs are identical too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "io/npy.h"
#include "lens/lens.h"
#include "onnx/onnx.h"

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

#define TESTDATA "/usr/share/libonnx-testdata/data/node/"
#define MAX_IO 8

typedef struct model_case {
    const char *path;
    const char *inputs[MAX_IO]; /* .npy or TensorProto .pb files */
    int threads;
} model_case;

/* Outputs of one run, copied out of the session (plain malloc: not counted). */
typedef struct outputs {
    size_t n;
    lens_tensor t[MAX_IO];
} outputs;

static void outputs_free(outputs *o) {
    for (size_t i = 0; i < o->n; i++) free(o->t[i].data);
    memset(o, 0, sizeof *o);
}

static bool outputs_take(const lens_session *s, size_t n, outputs *o) {
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < n && i < MAX_IO; i++) {
        lens_tensor t;
        if (lens_session_output(s, i, &t) != LENS_OK) return false;
        size_t bytes = (size_t)lens_tensor_numel(&t) * lens_dtype_size(t.dtype);
        o->t[i] = t;
        o->t[i].data = malloc(bytes ? bytes : 1);
        if (!o->t[i].data) return false;
        if (bytes) memcpy(o->t[i].data, t.data, bytes);
        o->n = i + 1;
    }
    return true;
}

static bool outputs_equal(const outputs *a, const outputs *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        const lens_tensor *x = &a->t[i], *y = &b->t[i];
        if (x->dtype != y->dtype || x->ndim != y->ndim) return false;
        for (int32_t k = 0; k < x->ndim; k++)
            if (x->dims[k] != y->dims[k]) return false;
        size_t bytes = (size_t)lens_tensor_numel(x) * lens_dtype_size(x->dtype);
        if (bytes && memcmp(x->data, y->data, bytes)) return false;
    }
    return true;
}

static bool load_input(const char *path, lens_tensor *t) {
    size_t n = strlen(path);
    if (n > 4 && !strcmp(path + n - 4, ".npy")) return lens_npy_read(path, t) == LENS_OK;
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    static uint8_t buf[1 << 20];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return lens_onnx_read_tensor(buf, got, t, NULL) == LENS_OK;
}

/* The whole life of a model, with the N-th allocation failing (0: none).
 * Returns how many allocations it made (N or more: the failure was hit). */
static uint64_t cycle(const model_case *mc, const lens_tensor *in, size_t n_in, const outputs *ref, uint64_t fail_at,
                      outputs *first) {
    int64_t live0 = lens_alloc_live();
    lens_model *m = NULL;
    lens_session *s = NULL;
    lens_alloc_fail_after(fail_at);
    lens_status st = lens_model_open(mc->path, NULL, &m);
    if (st != LENS_OK) {
        uint64_t used = lens_alloc_fail_after(0);
        CHECK(st == LENS_STATUS_OUT_OF_MEMORY, "%s: open with allocation %llu failing: status %s", mc->path,
              (unsigned long long)fail_at, lens_status_string(st));
        CHECK(m == NULL && lens_last_error()[0], "%s: failed open left a model or no message", mc->path);
        CHECK(lens_alloc_live() == live0, "%s: open with allocation %llu failing leaked %lld block(s)", mc->path,
              (unsigned long long)fail_at, (long long)(lens_alloc_live() - live0));
        return used;
    }
    lens_session_options so = {.threads = mc->threads};
    st = lens_session_create(m, &so, &s);
    if (st != LENS_OK) {
        uint64_t used = lens_alloc_fail_after(0);
        CHECK(st == LENS_STATUS_OUT_OF_MEMORY, "%s: session with allocation %llu failing: status %s", mc->path,
              (unsigned long long)fail_at, lens_status_string(st));
        CHECK(s == NULL, "%s: failed session_create left a session", mc->path);
        lens_model_free(m);
        CHECK(lens_alloc_live() == live0, "%s: session with allocation %llu failing leaked %lld block(s)",
              mc->path, (unsigned long long)fail_at, (long long)(lens_alloc_live() - live0));
        return used;
    }
    size_t n_out = lens_model_output_count(m);
    /* Three runs: planning run, planned run, and one more after a failure. */
    for (int run = 0; run < 2; run++) {
        st = lens_session_run(s, n_in, in);
        if (st != LENS_OK) {
            CHECK(st == LENS_STATUS_OUT_OF_MEMORY, "%s: run %d with allocation %llu failing: status %s", mc->path,
                  run, (unsigned long long)fail_at, lens_status_string(st));
            CHECK(lens_session_output(s, 0, &(lens_tensor){0}) != LENS_OK,
                  "%s: outputs readable after a failed run", mc->path);
            /* Disarm (a single failure is injected anyway) and run again:
             * the session must not have been damaged. */
            st = lens_session_run(s, n_in, in);
            CHECK(st == LENS_OK, "%s: run after a failed run (allocation %llu) failed", mc->path,
                  (unsigned long long)fail_at);
        }
        if (st != LENS_OK) break;
        outputs o;
        bool ok = outputs_take(s, n_out, &o);
        CHECK(ok, "%s: cannot read outputs", mc->path);
        if (ok && ref)
            CHECK(outputs_equal(&o, ref), "%s: outputs differ after allocation %llu failed (run %d)", mc->path,
                  (unsigned long long)fail_at, run);
        if (ok && first && run == 0)
            *first = o;
        else
            outputs_free(&o);
    }
    lens_session_free(s);
    lens_model_free(m);
    uint64_t used = lens_alloc_fail_after(0);
    CHECK(lens_alloc_live() == live0, "%s: run with allocation %llu failing leaked %lld block(s)", mc->path,
          (unsigned long long)fail_at, (long long)(lens_alloc_live() - live0));
    return used;
}

/* Inputs for a case that names no files: the model's input shapes with
 * dynamic dimensions set to 2, small deterministic values. */
static size_t gen_inputs(const char *path, lens_tensor *in) {
    lens_model *m = NULL;
    if (lens_model_open(path, NULL, &m) != LENS_OK) return 0;
    size_t n = lens_model_input_count(m);
    for (size_t i = 0; i < n && i < MAX_IO; i++) {
        lens_value_info vi;
        lens_model_input_info(m, i, &vi);
        lens_tensor *t = &in[i];
        t->dtype = vi.dtype != LENS_DTYPE_UNDEFINED ? vi.dtype : LENS_DTYPE_FLOAT;
        t->ndim = vi.ndim >= 0 ? vi.ndim : 1;
        for (int32_t k = 0; k < t->ndim; k++) t->dims[k] = vi.dims[k] >= 0 ? vi.dims[k] : 2;
        size_t numel = (size_t)lens_tensor_numel(t), es = lens_dtype_size(t->dtype);
        t->data = lens_aligned_alloc(numel * es);
        uint8_t *b = t->data;
        for (size_t k = 0; b && k < numel * es; k++) b[k] = 0;
        for (size_t k = 0; b && k < numel; k++) {
            if (t->dtype == LENS_DTYPE_FLOAT) ((float *)b)[k] = (float)((int)(k % 7) - 3) * 0.5f;
            else if (t->dtype == LENS_DTYPE_INT64) ((int64_t *)b)[k] = (int64_t)(k % 3);
            else b[k * es] = (uint8_t)(k & 1);
        }
    }
    lens_model_free(m);
    return n < MAX_IO ? n : MAX_IO;
}

static void test_model(const model_case *mc) {
    lens_tensor in[MAX_IO];
    size_t n_in = 0;
    memset(in, 0, sizeof in);
    if (!mc->inputs[0]) n_in = gen_inputs(mc->path, in);
    for (; n_in < MAX_IO && mc->inputs[n_in]; n_in++) {
        bool ok = load_input(mc->inputs[n_in], &in[n_in]);
        CHECK(ok, "cannot load %s (libonnx-testdata installed?)", mc->inputs[n_in]);
        if (!ok) goto out;
    }
    outputs ref;
    memset(&ref, 0, sizeof ref);
    uint64_t total = cycle(mc, in, n_in, NULL, 0, &ref);
    CHECK(ref.n > 0, "%s: the reference run failed", mc->path);
    if (!ref.n) goto out;
    uint64_t n = 1;
    int errors_before = failures;
    for (; failures - errors_before < 5; n++) {
        uint64_t used = cycle(mc, in, n_in, &ref, n, NULL);
        if (used < n) break; /* ran to the end without reaching allocation n */
    }
    printf("%-70s %4llu allocations in a clean cycle, each of %4llu failed in turn%s\n", mc->path,
           (unsigned long long)total, (unsigned long long)(n - 1), failures > errors_before ? " (ERRORS)" : "");
    outputs_free(&ref);
out:
    for (size_t i = 0; i < n_in; i++) lens_aligned_free(in[i].data);
}

/* lens_model_open_memory and lens_model_check_ops take other paths. */
static void test_other_entry_points(void) {
    FILE *f = fopen("data/misc.onnx", "rb");
    CHECK(f != NULL, "data/misc.onnx");
    if (!f) return;
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t k = 1, used;
    do {
        int64_t live0 = lens_alloc_live();
        lens_model *m = NULL;
        lens_alloc_fail_after(k);
        lens_status st = lens_model_open_memory(buf, n, NULL, &m);
        used = lens_alloc_fail_after(0);
        CHECK(st == LENS_OK || st == LENS_STATUS_OUT_OF_MEMORY, "open_memory: status %s", lens_status_string(st));
        CHECK((st == LENS_OK) == (m != NULL), "open_memory: model and status disagree");
        lens_model_free(m);
        CHECK(lens_alloc_live() == live0, "open_memory with allocation %llu failing leaked", (unsigned long long)k);
        k++;
    } while (used >= k - 1);
    uint64_t k2 = 1;
    do {
        int64_t live0 = lens_alloc_live();
        char **names = NULL;
        size_t cnt = 0;
        lens_alloc_fail_after(k2);
        lens_status st = lens_model_check_ops("data/misc.onnx", &names, &cnt);
        used = lens_alloc_fail_after(0);
        CHECK(st == LENS_OK || st == LENS_STATUS_OUT_OF_MEMORY, "check_ops: status %s", lens_status_string(st));
        for (size_t i = 0; i < cnt; i++) free(names[i]);
        free(names);
        CHECK(lens_alloc_live() == live0, "check_ops with allocation %llu failing leaked", (unsigned long long)k2);
        k2++;
    } while (used >= k2 - 1);
    printf("open_memory: %llu allocation failures; check_ops: %llu\n", (unsigned long long)(k - 1),
           (unsigned long long)(k2 - 1));
}

int main(void) {
    static const model_case cases[] = {
        {"data/conv_fuse.onnx", {NULL}, 1},
        {"data/conv_fuse.onnx", {NULL}, 2},
        {"data/dyn_shape.onnx", {NULL}, 1},
        {"data/if_outer.onnx", {NULL}, 1},
        {"data/misc.onnx", {NULL}, 1},
        {"../../models/digits.onnx", {"../../models/digit_3.npy"}, 1},
        {TESTDATA "test_loop11/model.onnx",
         {TESTDATA "test_loop11/test_data_set_0/input_0.pb", TESTDATA "test_loop11/test_data_set_0/input_1.pb",
          TESTDATA "test_loop11/test_data_set_0/input_2.pb"},
         1},
        {TESTDATA "test_scan9_sum/model.onnx",
         {TESTDATA "test_scan9_sum/test_data_set_0/input_0.pb", TESTDATA "test_scan9_sum/test_data_set_0/input_1.pb"},
         1},
        {TESTDATA "test_nonmaxsuppression_suppress_by_IOU/model.onnx",
         {TESTDATA "test_nonmaxsuppression_suppress_by_IOU/test_data_set_0/input_0.pb",
          TESTDATA "test_nonmaxsuppression_suppress_by_IOU/test_data_set_0/input_1.pb",
          TESTDATA "test_nonmaxsuppression_suppress_by_IOU/test_data_set_0/input_2.pb",
          TESTDATA "test_nonmaxsuppression_suppress_by_IOU/test_data_set_0/input_3.pb",
          TESTDATA "test_nonmaxsuppression_suppress_by_IOU/test_data_set_0/input_4.pb"},
         1},
        {TESTDATA "test_nonzero_example/model.onnx", {TESTDATA "test_nonzero_example/test_data_set_0/input_0.pb"}, 1},
        {TESTDATA "test_resize_upsample_scales_linear/model.onnx",
         {TESTDATA "test_resize_upsample_scales_linear/test_data_set_0/input_0.pb",
          TESTDATA "test_resize_upsample_scales_linear/test_data_set_0/input_1.pb"},
         1},
        {TESTDATA "test_top_k/model.onnx",
         {TESTDATA "test_top_k/test_data_set_0/input_0.pb", TESTDATA "test_top_k/test_data_set_0/input_1.pb"}, 1},
        {TESTDATA "test_einsum_batch_matmul/model.onnx",
         {TESTDATA "test_einsum_batch_matmul/test_data_set_0/input_0.pb",
          TESTDATA "test_einsum_batch_matmul/test_data_set_0/input_1.pb"},
         1},
        {TESTDATA "test_roialign_aligned_false/model.onnx",
         {TESTDATA "test_roialign_aligned_false/test_data_set_0/input_0.pb",
          TESTDATA "test_roialign_aligned_false/test_data_set_0/input_1.pb",
          TESTDATA "test_roialign_aligned_false/test_data_set_0/input_2.pb"},
         1},
        {TESTDATA "test_range_float_type_positive_delta_expanded/model.onnx",
         {TESTDATA "test_range_float_type_positive_delta_expanded/test_data_set_0/input_0.pb",
          TESTDATA "test_range_float_type_positive_delta_expanded/test_data_set_0/input_1.pb",
          TESTDATA "test_range_float_type_positive_delta_expanded/test_data_set_0/input_2.pb"},
         1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_model(&cases[i]);
    test_other_entry_points();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
