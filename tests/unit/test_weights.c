/* Weights held once: constants that only packed forms read are released
 * at load (runtime/model.c, lens_node_mark_packed in ops/op.h).
 *
 * Models are built in memory (a small protobuf writer below) with their
 * weights as initializers whose raw_data is deliberately misaligned (so the
 * parser copies them) or aligned (read in place), and opened from memory
 * and from a file (lens's own mapping, where pages are dropped). Checked:
 *   - results match the same graph with the weights fed as inputs (nothing
 *     packed at load), and are bit-identical across sessions and threads
 *     and between the memory and file opens;
 *   - the released bytes are all the weights, no copy is left
 *     (lens_model_weight_stats), for Conv (Winograd, 1x1, dilated), a
 *     weight shared by two Convs, MatMul, Gemm and a BatchNorm fold;
 *   - a weight also read by a non-packing op, by a subgraph (If branch),
 *     or that is a graph output, is kept;
 *   - a Winograd Conv out of the kernels' range is an error, not a read of
 *     the released W;
 *   - every allocation failing in turn over open, session and run leaks
 *     nothing. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "lens/lens.h"
#include "ops/conv_winograd.h"
#include "runtime/runtime.h"
#include "one_node_model.h"

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

/* The protobuf writer is one_node_model.h's (onm_*). */

/* ---- model description ---------------------------------------------------- */

#define MAXT 12

typedef struct tensor_spec {
    const char *name;
    int32_t ndim;
    int64_t dims[4];
    float *data;   /* filled by make_weights */
    size_t pad;    /* doc_string bytes before raw_data (alignment control) */
    lens_dtype dtype; /* of an input; 0: float */
} tensor_spec;

typedef struct node_spec {
    const char *op, *name;
    const char *in[5], *out[2];
    const char *ints_name[2];
    int64_t ints[2][4];
    int32_t ints_n[2];
    const char *int_name;
    int64_t int_value;
    const char *branch_reads; /* If: both branches are Relu(this outer value) */
} node_spec;

typedef struct model_spec {
    int n_nodes;
    node_spec nodes[12];
    int n_weights;
    tensor_spec w[MAXT];
    int n_inputs; /* activations fed at run time */
    tensor_spec in[3];
    int n_outputs;
    const char *out[3];
} model_spec;

static size_t numel_of(const tensor_spec *t) {
    size_t n = 1;
    for (int32_t i = 0; i < t->ndim; i++) n *= (size_t)t->dims[i];
    return n;
}

/* ModelProto bytes of spec; as_inputs: the weights are graph inputs instead
 * of initializers (the reference: nothing is constant, nothing packed). */
static onm_buf build(const model_spec *s, bool as_inputs) {
    onm_buf model = {0}, opset = {0}, graph = {0};
    onm_int(&model, 1, 8);
    onm_str(&opset, 1, "");
    onm_int(&opset, 2, 17);
    onm_msg(&model, 8, &opset);
    for (int i = 0; i < s->n_nodes; i++) {
        const node_spec *ns = &s->nodes[i];
        onm_buf node = {0};
        for (int k = 0; k < 5 && ns->in[k]; k++) onm_str(&node, 1, ns->in[k]);
        for (int k = 0; k < 2 && ns->out[k]; k++) onm_str(&node, 2, ns->out[k]);
        onm_str(&node, 3, ns->name);
        onm_str(&node, 4, ns->op);
        for (int a = 0; a < 2 && ns->ints_name[a]; a++) {
            onm_buf ab = {0};
            onm_str(&ab, 1, ns->ints_name[a]);
            for (int k = 0; k < ns->ints_n[a]; k++) onm_int(&ab, 8, ns->ints[a][k]);
            onm_int(&ab, 20, 7);
            onm_msg(&node, 5, &ab);
        }
        for (int k = 0; k < 2 && ns->branch_reads; k++) {
            /* then_branch / else_branch: one Relu of an outer-scope value */
            onm_buf ab = {0}, sg = {0}, sn = {0};
            const char *out = k ? "else_out" : "then_out";
            onm_str(&sn, 1, ns->branch_reads);
            onm_str(&sn, 2, out);
            onm_str(&sn, 4, "Relu");
            onm_msg(&sg, 1, &sn);
            onm_str(&sg, 2, k ? "else" : "then");
            onm_value_info(&sg, 12, out, LENS_DTYPE_FLOAT, -1, NULL);
            onm_str(&ab, 1, k ? "else_branch" : "then_branch");
            onm_msg(&ab, 6, &sg);
            onm_int(&ab, 20, 5);
            onm_msg(&node, 5, &ab);
        }
        if (ns->int_name) {
            onm_buf ab = {0};
            onm_str(&ab, 1, ns->int_name);
            onm_int(&ab, 3, ns->int_value);
            onm_int(&ab, 20, 2);
            onm_msg(&node, 5, &ab);
        }
        onm_msg(&graph, 1, &node);
    }
    onm_str(&graph, 2, "weights");
    for (int i = 0; i < s->n_weights && !as_inputs; i++) {
        const tensor_spec *t = &s->w[i];
        onm_buf tp = {0};
        for (int32_t k = 0; k < t->ndim; k++) onm_int(&tp, 1, t->dims[k]);
        onm_int(&tp, 2, LENS_DTYPE_FLOAT);
        onm_str(&tp, 8, t->name);
        char pad[8] = "pppppppp";
        onm_bytes(&tp, 12, pad, t->pad); /* doc_string: moves raw_data */
        onm_bytes(&tp, 9, t->data, numel_of(t) * sizeof(float));
        onm_msg(&graph, 5, &tp);
    }
    for (int i = 0; i < s->n_inputs; i++)
        onm_value_info(&graph, 11, s->in[i].name, s->in[i].dtype ? s->in[i].dtype : LENS_DTYPE_FLOAT, s->in[i].ndim, s->in[i].dims);
    for (int i = 0; i < s->n_weights && as_inputs; i++)
        onm_value_info(&graph, 11, s->w[i].name, LENS_DTYPE_FLOAT, s->w[i].ndim, s->w[i].dims);
    for (int i = 0; i < s->n_outputs; i++) onm_value_info(&graph, 12, s->out[i], LENS_DTYPE_FLOAT, -1, NULL);
    onm_msg(&model, 7, &graph);
    return model;
}

/* Offset of tensor t's raw_data in the model bytes (its values are unique
 * random floats), or SIZE_MAX. */
static size_t raw_offset(const onm_buf *b, const tensor_spec *t) {
    size_t need = LENS_MIN(numel_of(t) * sizeof(float), (size_t)64);
    for (size_t i = 0; i + need <= b->n; i++)
        if (!memcmp(b->p + i, t->data, need)) return i;
    return SIZE_MAX;
}

/* Model bytes whose every initializer's raw_data is at an offset of
 * `rem` mod 4 (0: aligned, read in place; 1-3: copied by the parser):
 * moves the first misplaced tensor with its doc_string pad (0-7 bytes)
 * and builds again, until all are placed. */
static onm_buf build_aligned(model_spec *s, size_t rem) {
    for (int round = 0; round < 64; round++) {
        onm_buf b = build(s, false);
        int bad = -1;
        size_t off = 0;
        for (int i = 0; i < s->n_weights && bad < 0; i++) {
            off = raw_offset(&b, &s->w[i]);
            if (off == SIZE_MAX) abort();
            if (off % 4 != rem) bad = i;
        }
        if (bad < 0) return b;
        free(b.p);
        size_t pad = s->w[bad].pad + (rem + 4 - off % 4) % 4;
        s->w[bad].pad = pad > 7 ? pad - 4 : pad;
    }
    fprintf(stderr, "could not place the raw data\n");
    abort();
}

static uint32_t rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static void make_data(tensor_spec *t, float scale) {
    size_t n = numel_of(t);
    t->data = malloc(n * sizeof(float));
    if (!t->data) abort();
    for (size_t i = 0; i < n; i++) t->data[i] = frand() * scale;
}

static void spec_free(model_spec *s) {
    for (int i = 0; i < s->n_weights; i++) free(s->w[i].data);
    for (int i = 0; i < s->n_inputs; i++) free(s->in[i].data);
}

static size_t weight_bytes(const model_spec *s, int from, int to) {
    size_t b = 0;
    for (int i = from; i < to; i++) b += numel_of(&s->w[i]) * sizeof(float);
    return b;
}

/* ---- the models --------------------------------------------------------- */

/* Conv 3x3 (Winograd on AVX-512) -> the same W again -> 1x1 Conv -> dilated
 * 3x3 Conv (tap-major) -> Flatten -> MatMul -> Gemm (transB). Weights 0-4
 * are packed; 5 and 6 (Conv and Gemm biases) are small and read at run. */
static void spec_packed(model_spec *s) {
    memset(s, 0, sizeof *s);
    s->w[0] = (tensor_spec){.name = "W1", .ndim = 4, .dims = {16, 16, 3, 3}};
    s->w[1] = (tensor_spec){.name = "W2", .ndim = 4, .dims = {64, 16, 1, 1}};
    s->w[2] = (tensor_spec){.name = "W3", .ndim = 4, .dims = {16, 64, 3, 3}};
    s->w[3] = (tensor_spec){.name = "Wm", .ndim = 2, .dims = {1024, 24}};
    s->w[4] = (tensor_spec){.name = "Wg", .ndim = 2, .dims = {48, 24}};
    s->w[5] = (tensor_spec){.name = "B1", .ndim = 1, .dims = {16}};
    s->w[6] = (tensor_spec){.name = "Cg", .ndim = 1, .dims = {48}};
    s->n_weights = 7;
    for (int i = 0; i < 7; i++) make_data(&s->w[i], 0.5f);
    s->in[0] = (tensor_spec){.name = "X", .ndim = 4, .dims = {1, 16, 8, 8}};
    make_data(&s->in[0], 2.0f);
    s->n_inputs = 1;
    node_spec *n = s->nodes;
    n[0] = (node_spec){.op = "Conv", .name = "c1", .in = {"X", "W1", "B1"}, .out = {"Y1"}, .ints_name = {"pads"}, .ints = {{1, 1, 1, 1}}, .ints_n = {4}};
    n[1] = (node_spec){.op = "Conv", .name = "c1b", .in = {"Y1", "W1"}, .out = {"Y1b"}, .ints_name = {"pads"}, .ints = {{1, 1, 1, 1}}, .ints_n = {4}};
    n[2] = (node_spec){.op = "Conv", .name = "c2", .in = {"Y1b", "W2"}, .out = {"Y2"}};
    n[3] = (node_spec){.op = "Conv", .name = "c3", .in = {"Y2", "W3"}, .out = {"Y3"}, .ints_name = {"pads", "dilations"}, .ints = {{8, 8, 8, 8}, {8, 8}}, .ints_n = {4, 2}};
    n[4] = (node_spec){.op = "Flatten", .name = "fl", .in = {"Y3"}, .out = {"F"}};
    n[5] = (node_spec){.op = "MatMul", .name = "mm", .in = {"F", "Wm"}, .out = {"M"}};
    n[6] = (node_spec){.op = "Gemm", .name = "gm", .in = {"M", "Wg", "Cg"}, .out = {"Z"}, .int_name = "transB", .int_value = 1};
    s->n_nodes = 7;
    s->out[0] = "Z";
    s->n_outputs = 1;
}

/* W1 read by a Conv and by a Mul with an input (not packing), Wk a graph
 * output as well as a Conv weight: both kept. Wr read by a Conv only:
 * released. */
static void spec_kept(model_spec *s) {
    memset(s, 0, sizeof *s);
    s->w[0] = (tensor_spec){.name = "W1", .ndim = 4, .dims = {16, 16, 3, 3}};
    s->w[1] = (tensor_spec){.name = "Wk", .ndim = 4, .dims = {16, 16, 1, 1}};
    s->w[2] = (tensor_spec){.name = "Wr", .ndim = 4, .dims = {32, 16, 3, 3}};
    s->n_weights = 3;
    for (int i = 0; i < 3; i++) make_data(&s->w[i], 0.5f);
    s->in[0] = (tensor_spec){.name = "X", .ndim = 4, .dims = {1, 16, 6, 6}};
    s->in[1] = (tensor_spec){.name = "P", .ndim = 4, .dims = {16, 16, 3, 3}};
    make_data(&s->in[0], 1.0f);
    make_data(&s->in[1], 1.0f);
    s->n_inputs = 2;
    node_spec *n = s->nodes;
    n[0] = (node_spec){.op = "Conv", .name = "c1", .in = {"X", "W1"}, .out = {"Y1"}, .ints_name = {"pads"}, .ints = {{1, 1, 1, 1}}, .ints_n = {4}};
    n[1] = (node_spec){.op = "Mul", .name = "mul", .in = {"P", "W1"}, .out = {"PW"}};
    n[2] = (node_spec){.op = "Conv", .name = "ck", .in = {"Y1", "Wk"}, .out = {"Yk"}};
    n[3] = (node_spec){.op = "Conv", .name = "cr", .in = {"Yk", "Wr"}, .out = {"Y"}, .ints_name = {"pads"}, .ints = {{1, 1, 1, 1}}, .ints_n = {4}};
    s->n_nodes = 4;
    s->out[0] = "Y";
    s->out[1] = "PW";
    s->out[2] = "Wk";
    s->n_outputs = 3;
}

/* Conv -> BatchNormalization: the optimiser folds BN into a new W (a
 * releasable piece), the original W is read by nobody afterwards. */
static void spec_bnfold(model_spec *s) {
    memset(s, 0, sizeof *s);
    s->w[0] = (tensor_spec){.name = "Wc", .ndim = 4, .dims = {32, 16, 3, 3}};
    s->w[1] = (tensor_spec){.name = "gamma", .ndim = 1, .dims = {32}};
    s->w[2] = (tensor_spec){.name = "beta", .ndim = 1, .dims = {32}};
    s->w[3] = (tensor_spec){.name = "mean", .ndim = 1, .dims = {32}};
    s->w[4] = (tensor_spec){.name = "var", .ndim = 1, .dims = {32}};
    s->n_weights = 5;
    for (int i = 0; i < 5; i++) make_data(&s->w[i], 0.5f);
    for (int i = 0; i < 32; i++) s->w[4].data[i] = 0.5f + fabsf(s->w[4].data[i]);
    s->in[0] = (tensor_spec){.name = "X", .ndim = 4, .dims = {1, 16, 10, 10}};
    make_data(&s->in[0], 1.0f);
    s->n_inputs = 1;
    node_spec *n = s->nodes;
    n[0] = (node_spec){.op = "Conv", .name = "c", .in = {"X", "Wc"}, .out = {"Y"}, .ints_name = {"pads"}, .ints = {{1, 1, 1, 1}}, .ints_n = {4}};
    n[1] = (node_spec){.op = "BatchNormalization", .name = "bn", .in = {"Y", "gamma", "beta", "mean", "var"}, .out = {"Z"}};
    s->n_nodes = 2;
    s->out[0] = "Z";
    s->n_outputs = 1;
}

/* W1 read by a Conv and, by name, inside both branches of an If (an
 * implicit input): kept. W3 read by a Conv only: released. */
static void spec_subgraph(model_spec *s) {
    memset(s, 0, sizeof *s);
    s->w[0] = (tensor_spec){.name = "W1", .ndim = 4, .dims = {16, 16, 3, 3}};
    s->w[1] = (tensor_spec){.name = "W3", .ndim = 4, .dims = {16, 16, 3, 3}};
    s->n_weights = 2;
    for (int i = 0; i < 2; i++) make_data(&s->w[i], 0.5f);
    s->in[0] = (tensor_spec){.name = "X", .ndim = 4, .dims = {1, 16, 6, 6}};
    make_data(&s->in[0], 1.0f);
    s->in[1] = (tensor_spec){.name = "cond", .ndim = 0, .dtype = LENS_DTYPE_BOOL};
    s->in[1].data = calloc(1, sizeof(float));
    if (!s->in[1].data) abort();
    *(uint8_t *)s->in[1].data = 1;
    s->n_inputs = 2;
    node_spec *n = s->nodes;
    n[0] = (node_spec){.op = "Conv", .name = "c1", .in = {"X", "W1"}, .out = {"Y1"}, .ints_name = {"pads"},
                       .ints = {{1, 1, 1, 1}}, .ints_n = {4}};
    n[1] = (node_spec){.op = "Conv", .name = "c3", .in = {"Y1", "W3"}, .out = {"Y"}};
    n[2] = (node_spec){.op = "If", .name = "if", .in = {"cond"}, .out = {"Z"}, .branch_reads = "W1"};
    s->n_nodes = 3;
    s->out[0] = "Y";
    s->out[1] = "Z";
    s->n_outputs = 2;
}

/* ---- running ------------------------------------------------------------ */

typedef struct outputs {
    int n;
    size_t count[3];
    float *v[3];
} outputs;

static void outputs_free(outputs *o) {
    for (int i = 0; i < o->n; i++) free(o->v[i]);
    memset(o, 0, sizeof *o);
}

/* Run model m once on spec's inputs (plus the weights as inputs when
 * as_inputs) with a fresh session of `threads`; copy the outputs. */
static lens_status run_model(lens_model *m, const model_spec *s, bool as_inputs, int threads, outputs *o) {
    memset(o, 0, sizeof *o);
    lens_session *ss = NULL;
    lens_session_options so = {.threads = threads};
    lens_status st = lens_session_create(m, &so, &ss);
    if (st != LENS_OK) return st;
    lens_tensor in[3 + MAXT];
    size_t n_in = lens_model_input_count(m);
    for (size_t i = 0; i < n_in; i++) {
        lens_value_info vi;
        lens_model_input_info(m, i, &vi);
        const tensor_spec *t = NULL;
        for (int k = 0; k < s->n_inputs; k++)
            if (!strcmp(vi.name, s->in[k].name)) t = &s->in[k];
        for (int k = 0; as_inputs && k < s->n_weights; k++)
            if (!strcmp(vi.name, s->w[k].name)) t = &s->w[k];
        if (!t) abort();
        in[i] = (lens_tensor){t->dtype ? t->dtype : LENS_DTYPE_FLOAT, t->ndim, {0}, t->data};
        for (int32_t k = 0; k < t->ndim; k++) in[i].dims[k] = t->dims[k];
    }
    for (int r = 0; r < 2 && st == LENS_OK; r++) st = lens_session_run(ss, n_in, in);
    for (int i = 0; st == LENS_OK && i < s->n_outputs; i++) {
        lens_tensor y;
        st = lens_session_output(ss, (size_t)i, &y);
        if (st != LENS_OK) break;
        o->count[i] = (size_t)lens_tensor_numel(&y);
        o->v[i] = malloc(o->count[i] * sizeof(float) + 1);
        if (!o->v[i]) abort();
        memcpy(o->v[i], y.data, o->count[i] * sizeof(float));
        o->n = i + 1;
    }
    lens_session_free(ss);
    return st;
}

static bool outputs_same(const outputs *a, const outputs *b) {
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (a->count[i] != b->count[i] || memcmp(a->v[i], b->v[i], a->count[i] * sizeof(float))) return false;
    return true;
}

static bool outputs_close(const outputs *a, const outputs *ref) {
    if (a->n != ref->n) return false;
    for (int i = 0; i < a->n; i++) {
        if (a->count[i] != ref->count[i]) return false;
        for (size_t k = 0; k < a->count[i]; k++)
            if (fabsf(a->v[i][k] - ref->v[i][k]) > 1e-4f * (1.0f + fabsf(ref->v[i][k]))) {
                fprintf(stderr, "output %d[%zu]: %g, reference %g\n", i, k, a->v[i][k], ref->v[i][k]);
                return false;
            }
    }
    return true;
}

/* 64-byte aligned copy of the model bytes, so offsets mod 4 are kept. */
static uint8_t *aligned_copy(const onm_buf *b) {
    uint8_t *p = aligned_alloc(64, (b->n + 63) / 64 * 64);
    if (!p) abort();
    memcpy(p, b->p, b->n);
    return p;
}

static char *write_temp(const onm_buf *b) {
    static char path[64];
    strcpy(path, "/tmp/lens_test_weights_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    bool ok = write(fd, b->p, b->n) == (ssize_t)b->n;
    close(fd);
    return ok ? path : NULL;
}

typedef struct thread_arg {
    lens_model *m;
    const model_spec *s;
    const outputs *ref;
    int bad;
} thread_arg;

static void *thread_main(void *p) {
    thread_arg *a = p;
    for (int i = 0; i < 10; i++) {
        outputs o;
        if (run_model(a->m, a->s, false, 1, &o) != LENS_OK || !outputs_same(&o, a->ref)) a->bad++;
        outputs_free(&o);
    }
    return NULL;
}

/* ---- tests -------------------------------------------------------------- */

static void test_packed_released(size_t rem) {
    model_spec s;
    spec_packed(&s);
    onm_buf ref_model = build(&s, true);
    onm_buf b = build_aligned(&s, rem);
    lens_model *mref = NULL, *m = NULL, *mf = NULL;
    CHECK(lens_model_open_memory(ref_model.p, ref_model.n, NULL, &mref) == LENS_OK, "open reference");
    uint8_t *bytes = aligned_copy(&b);
    CHECK(lens_model_open_memory(bytes, b.n, NULL, &m) == LENS_OK, "open (raw data at %zu mod 4)", rem);
    char *path = write_temp(&b);
    CHECK(path && lens_model_open(path, NULL, &mf) == LENS_OK, "open the file");
    if (path) unlink(path);
    if (mref && m && mf) {
        lens_weight_stats ws, wf;
        lens_model_weight_stats(m, &ws);
        lens_model_weight_stats(mf, &wf);
        size_t packed_w = weight_bytes(&s, 0, 5), small = weight_bytes(&s, 5, 7);
        CHECK(ws.released_bytes == packed_w, "released %zu of %zu weight bytes", ws.released_bytes, packed_w);
        CHECK(ws.copied_bytes == 0, "%zu bytes of copies left", ws.copied_bytes);
        CHECK(ws.constant_bytes == small, "%zu bytes of constants held (the biases are %zu)", ws.constant_bytes,
              small);
        CHECK(ws.packed_bytes >= packed_w, "packed %zu bytes", ws.packed_bytes);
        CHECK(!memcmp(&ws, &wf, sizeof ws), "file and memory opens hold the same");
        for (int32_t v = 0; v < m->graph->n_values; v++) {
            const lens_value *val = &m->graph->values[v];
            if (val->released)
                CHECK(val->constant && !val->constant->data && val->constant->ndim > 0,
                      "a released constant keeps its shape and has no data");
        }
        outputs ref, o1, o2, of, o1b;
        CHECK(run_model(mref, &s, true, 1, &ref) == LENS_OK, "reference run");
        CHECK(run_model(m, &s, false, 1, &o1) == LENS_OK, "run, 1 thread");
        CHECK(run_model(m, &s, false, 2, &o2) == LENS_OK, "run, 2 threads");
        CHECK(run_model(mf, &s, false, 1, &of) == LENS_OK, "run the file's model");
        CHECK(run_model(m, &s, false, 1, &o1b) == LENS_OK, "run again");
        CHECK(outputs_close(&o1, &ref), "1 thread matches the unpacked reference");
        CHECK(outputs_close(&o2, &ref), "2 threads match the unpacked reference");
        CHECK(outputs_same(&o1, &of), "memory and file opens give identical bits");
        CHECK(outputs_same(&o1, &o1b), "sessions give identical bits");
        thread_arg ta[3];
        pthread_t th[3];
        for (int i = 0; i < 3; i++) {
            ta[i] = (thread_arg){m, &s, &o1, 0};
            pthread_create(&th[i], NULL, thread_main, &ta[i]);
        }
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            CHECK(ta[i].bad == 0, "thread %d: %d runs differ", i, ta[i].bad);
        }
        outputs_free(&ref);
        outputs_free(&o1);
        outputs_free(&o2);
        outputs_free(&of);
        outputs_free(&o1b);
    }
    lens_model_free(mref);
    lens_model_free(m);
    lens_model_free(mf);
    free(bytes);
    free(b.p);
    free(ref_model.p);
    spec_free(&s);
}

static void test_kept(void) {
    model_spec s;
    spec_kept(&s);
    onm_buf b = build_aligned(&s, 2);
    uint8_t *bytes = aligned_copy(&b);
    lens_model *m = NULL;
    CHECK(lens_model_open_memory(bytes, b.n, NULL, &m) == LENS_OK, "open");
    if (m) {
        lens_weight_stats ws;
        lens_model_weight_stats(m, &ws);
        size_t w1 = weight_bytes(&s, 0, 1), wk = weight_bytes(&s, 1, 2), wr = weight_bytes(&s, 2, 3);
        CHECK(ws.released_bytes == wr, "released %zu bytes, Wr is %zu", ws.released_bytes, wr);
        CHECK(ws.constant_bytes == w1 + wk, "held %zu bytes, W1 + Wk are %zu", ws.constant_bytes, w1 + wk);
        outputs o;
        CHECK(run_model(m, &s, false, 1, &o) == LENS_OK, "run");
        if (o.n == 3) {
            bool same = true;
            for (size_t k = 0; k < o.count[1]; k++) same &= o.v[1][k] == s.in[1].data[k] * s.w[0].data[k];
            CHECK(same, "the Mul reads W1's values");
            CHECK(o.count[2] == numel_of(&s.w[1]) && !memcmp(o.v[2], s.w[1].data, wk),
                  "the weight that is an output is served");
        }
        outputs_free(&o);
    }
    lens_model_free(m);
    free(bytes);
    free(b.p);
    spec_free(&s);
}

static void test_bnfold(void) {
    model_spec s;
    spec_bnfold(&s);
    onm_buf ref_model = build(&s, true);
    onm_buf b = build_aligned(&s, 3);
    uint8_t *bytes = aligned_copy(&b);
    lens_model *mref = NULL, *m = NULL;
    CHECK(lens_model_open_memory(ref_model.p, ref_model.n, NULL, &mref) == LENS_OK, "open reference");
    CHECK(lens_model_open_memory(bytes, b.n, NULL, &m) == LENS_OK, "open");
    if (mref && m) {
        lens_weight_stats ws;
        lens_model_weight_stats(m, &ws);
        size_t wc = weight_bytes(&s, 0, 1);
        /* the parsed W (nobody reads it once BN is folded) and the folded W */
        CHECK(ws.released_bytes == 2 * wc, "released %zu bytes, W is %zu", ws.released_bytes, wc);
        CHECK(ws.copied_bytes == 0, "%zu bytes of copies left", ws.copied_bytes);
        outputs ref, o;
        CHECK(run_model(mref, &s, true, 1, &ref) == LENS_OK, "reference run");
        CHECK(run_model(m, &s, false, 1, &o) == LENS_OK, "run");
        CHECK(outputs_close(&o, &ref), "the folded Conv matches Conv + BatchNormalization");
        outputs_free(&ref);
        outputs_free(&o);
    }
    lens_model_free(mref);
    lens_model_free(m);
    free(bytes);
    free(b.p);
    free(ref_model.p);
    spec_free(&s);
}

static void test_subgraph_reader(void) {
    model_spec s;
    spec_subgraph(&s);
    onm_buf b = build_aligned(&s, 1);
    lens_model *m = NULL;
    CHECK(lens_model_open_memory(b.p, b.n, NULL, &m) == LENS_OK, "open");
    if (m) {
        lens_weight_stats ws;
        lens_model_weight_stats(m, &ws);
        size_t w1 = weight_bytes(&s, 0, 1), w3 = weight_bytes(&s, 1, 2);
        CHECK(ws.released_bytes == w3, "released %zu bytes, W3 is %zu", ws.released_bytes, w3);
        CHECK(ws.constant_bytes == w1, "held %zu bytes, W1 is %zu", ws.constant_bytes, w1);
        outputs o;
        CHECK(run_model(m, &s, false, 1, &o) == LENS_OK, "run");
        if (o.n == 2) {
            bool same = o.count[1] == numel_of(&s.w[0]);
            for (size_t k = 0; same && k < o.count[1]; k++) same = o.v[1][k] == fmaxf(s.w[0].data[k], 0.0f);
            CHECK(same, "the branch reads W1's values");
        }
        outputs_free(&o);
    }
    lens_model_free(m);
    free(b.p);
    spec_free(&s);
}

/* A Winograd Conv on a map beyond its kernels' int32 range used to fall
 * back to the GEMM path and read W; W may now be released, so the run is
 * refused before any output is allocated. Limits are raised so that
 * nothing else stops it first. */
static void test_winograd_range(void) {
    lens_conv_params p = {.nsp = 2, .C = 16, .M = 16, .group = 1, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1}};
    if (!lens_conv_wino_applies(&p, lens_f32_gemm_best())) {
        printf("test_weights: Winograd does not apply with this GEMM variant; range test skipped\n");
        return;
    }
    model_spec s;
    memset(&s, 0, sizeof s);
    s.w[0] = (tensor_spec){.name = "W", .ndim = 4, .dims = {16, 16, 3, 3}};
    make_data(&s.w[0], 0.5f);
    s.n_weights = 1;
    s.in[0] = (tensor_spec){.name = "X", .ndim = 4, .dims = {1, 16, 1, 56}};
    make_data(&s.in[0], 1.0f);
    s.n_inputs = 1;
    s.nodes[0] = (node_spec){.op = "Conv", .name = "c", .in = {"X", "W"}, .out = {"Y"}, .ints_name = {"pads"}, .ints = {{1 << 24, 0, 1 << 24, 0}}, .ints_n = {4}};
    s.n_nodes = 1;
    s.out[0] = "Y";
    s.n_outputs = 1;
    onm_buf b = build_aligned(&s, 1);
    lens_model_options mo;
    memset(&mo, 0, sizeof mo);
    mo.limits.max_tensor_elements = 1ull << 62;
    mo.limits.max_tensor_bytes = 1ull << 62;
    mo.limits.max_plan_bytes = 1ull << 62;
    lens_model *m = NULL;
    CHECK(lens_model_open_memory(b.p, b.n, &mo, &m) == LENS_OK, "open");
    if (m) {
        lens_weight_stats ws;
        lens_model_weight_stats(m, &ws);
        CHECK(ws.released_bytes == weight_bytes(&s, 0, 1), "W released");
        outputs o;
        lens_status st = run_model(m, &s, false, 1, &o);
        CHECK(st == LENS_STATUS_LIMIT_EXCEEDED && strstr(lens_last_error(), "Winograd"),
              "refused with a limit error (status %s)", lens_status_string(st));
        outputs_free(&o);
    }
    lens_model_free(m);
    free(b.p);
    spec_free(&s);
}

/* Fail every allocation in turn over open (memory and file), session and
 * two runs: a failure is OUT_OF_MEMORY and nothing leaks, released copies
 * included; a run that succeeds gives the usual bits. */
static void test_alloc_failures(void) {
    model_spec s;
    spec_packed(&s);
    onm_buf b = build_aligned(&s, 1);
    uint8_t *bytes = aligned_copy(&b);
    char *path = write_temp(&b);
    CHECK(path != NULL, "temp file");
    outputs ref;
    lens_model *m0 = NULL;
    CHECK(lens_model_open_memory(bytes, b.n, NULL, &m0) == LENS_OK && run_model(m0, &s, false, 1, &ref) == LENS_OK,
          "reference run");
    lens_model_free(m0);
    for (int from_file = 0; from_file < 2 && path; from_file++) {
        for (uint64_t k = 1;; k++) {
            int64_t live0 = lens_alloc_live();
            lens_alloc_fail_after(k);
            lens_model *m = NULL;
            lens_status st = from_file ? lens_model_open(path, NULL, &m) : lens_model_open_memory(bytes, b.n, NULL, &m);
            outputs o = {0};
            if (st == LENS_OK) st = run_model(m, &s, false, 1, &o);
            uint64_t used = lens_alloc_fail_after(0);
            if (st != LENS_OK)
                CHECK(st == LENS_STATUS_OUT_OF_MEMORY, "allocation %llu failing: status %s", (unsigned long long)k,
                      lens_status_string(st));
            else
                CHECK(outputs_same(&o, &ref), "allocation %llu failing changed the outputs", (unsigned long long)k);
            outputs_free(&o);
            lens_model_free(m);
            CHECK(lens_alloc_live() == live0, "allocation %llu failing leaked %lld block(s)", (unsigned long long)k,
                  (long long)(lens_alloc_live() - live0));
            if (used < k) { /* the failure was never reached: done */
                printf("test_weights: %s: each of %llu allocations failed in turn\n", from_file ? "file" : "memory",
                       (unsigned long long)(k - 1));
                break;
            }
        }
    }
    if (path) unlink(path);
    outputs_free(&ref);
    free(bytes);
    free(b.p);
    spec_free(&s);
}

int main(void) {
    test_packed_released(1);
    test_packed_released(0);
    test_kept();
    test_bnfold();
    test_subgraph_reader();
    test_winograd_range();
    test_alloc_failures();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("test_weights: all checks passed\n");
    return failures ? 1 : 0;
}
