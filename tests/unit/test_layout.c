/* Layout pass (graph/layout.c): channels-last regions.
 *
 * Each case builds a small ONNX graph in memory, opens it with the layout
 * forced to NHWC and to NCHW, checks the structure of the NHWC graph (which
 * nodes run channels-last, how many Transposes were inserted and where) and
 * that the outputs agree: within 1e-5 relative of NCHW, and bit-identical
 * between 1 and 2 threads. */
#include <stdlib.h>

#include "one_node_model.h"
#include "runtime/runtime.h"

static int failures;
/* Whether this CPU has a SIMD nhwc variant: without one the NHWC ops are
 * never eligible (ops/conv_nhwc.h), the graphs stay NCHW, and only the
 * numerical checks apply. Set by probe_nhwc(). */
static bool g_nhwc = true;
#define CHECK(c, ...)                                                                       \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fprintf(stderr, " (last error: %s)\n", lens_last_error());                      \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

/* ---- a small graph builder on one_node_model.h's protobuf writer --------- */
typedef struct gb {
    onm_buf graph;
    int n_outputs;
    const char *outputs[4];
    int64_t opset; /* 0: 17 */
} gb;

/* A node with up to 4 inputs (NULL ends the list, "" is an omitted one),
 * one output, and up to 4 attributes (see onm_attr). */
static void gb_node(gb *b, const char *op, const char *const *in, const char *out, const onm_attr *attrs) {
    onm_buf node = {0};
    for (int i = 0; i < 4 && in[i]; i++) onm_str(&node, 1, in[i]);
    onm_str(&node, 2, out);
    onm_str(&node, 4, op);
    for (int a = 0; attrs && a < 4 && attrs[a].name; a++) {
        onm_attr_write(&node, &attrs[a]);
    }
    onm_msg(&b->graph, 1, &node);
}

#define IN(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A float initializer with deterministic values in about [-1, 1]. */
static void gb_init(gb *b, const char *name, int32_t ndim, const int64_t *dims, uint32_t seed) {
    onm_buf t = {0};
    int64_t n = 1;
    for (int32_t i = 0; i < ndim; i++) onm_int(&t, 1, dims[i]), n *= dims[i];
    onm_int(&t, 2, LENS_DTYPE_FLOAT);
    onm_str(&t, 8, name);
    float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
    uint32_t s = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        d[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.6f;
    }
    onm_bytes(&t, 9, d, sizeof(float) * (size_t)n);
    free(d);
    onm_msg(&b->graph, 5, &t);
}

static void gb_i64(gb *b, const char *name, int64_t n, const int64_t *v) {
    onm_buf t = {0};
    onm_int(&t, 1, n);
    onm_int(&t, 2, LENS_DTYPE_INT64);
    onm_str(&t, 8, name);
    onm_bytes(&t, 9, v, sizeof(int64_t) * (size_t)n);
    onm_msg(&b->graph, 5, &t);
}

/* Conv weights [M, C/group, k, k] (+ bias [M]) named W<name>, B<name>, and
 * the node: pad k/2, stride s, group g. */
static void gb_conv(gb *b, const char *x, const char *y, const char *name, int64_t C, int64_t M, int64_t k,
                    int64_t s, int64_t g, uint32_t seed) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "W%s", name);
    snprintf(bn, sizeof bn, "B%s", name);
    int64_t wd[4] = {M, C / g, k, k}, bd[1] = {M};
    gb_init(b, wn, 4, wd, seed);
    gb_init(b, bn, 1, bd, seed + 99);
    int64_t p = k / 2, pads[4] = {p, p, p, p}, ks[2] = {k, k}, st[2] = {s, s};
    onm_attr at[4] = {{"pads", 7, 0, NULL, pads, 4}, {"kernel_shape", 7, 0, NULL, ks, 2},
                      {"strides", 7, 0, NULL, st, 2}, {"group", 2, g, NULL, NULL, 0}};
    gb_node(b, "Conv", IN(x, wn, bn), y, at);
}

static void gb_output(gb *b, const char *name) { b->outputs[b->n_outputs++] = name; }

/* Serialises the model with graph input "x" [1, C, H, W] and frees the builder. */
static onm_buf gb_finish(gb *b, const int64_t xdims[4]) {
    onm_str(&b->graph, 2, "g");
    onm_value_info(&b->graph, 11, "x", LENS_DTYPE_FLOAT, 4, xdims);
    for (int i = 0; i < b->n_outputs; i++) onm_value_info(&b->graph, 12, b->outputs[i], LENS_DTYPE_FLOAT, -1, NULL);
    onm_buf model = {0}, opset = {0};
    onm_int(&model, 1, 8);
    onm_str(&opset, 1, "");
    onm_int(&opset, 2, b->opset ? b->opset : 17);
    onm_msg(&model, 8, &opset);
    onm_msg(&model, 7, &b->graph);
    return model;
}

/* ---- running and comparing ------------------------------------------------ */

typedef struct outs {
    int n;
    lens_tensor t[4];
    float *d[4];
} outs;

static void outs_free(outs *o) {
    for (int i = 0; i < o->n; i++) free(o->d[i]);
    o->n = 0;
}

static bool run_model(const lens_model *m, const float *x, const int64_t xd[4], int threads, outs *o) {
    lens_session_options so = {.threads = threads};
    lens_session *s = NULL;
    memset(o, 0, sizeof *o);
    if (lens_session_create(m, &so, &s) != LENS_OK) return false;
    lens_tensor in = {LENS_DTYPE_FLOAT, 4, {xd[0], xd[1], xd[2], xd[3]}, (void *)x};
    bool ok = lens_session_run(s, 1, &in) == LENS_OK;
    for (size_t i = 0; ok && i < lens_model_output_count(m) && i < 4; i++) {
        ok = lens_session_output(s, i, &o->t[i]) == LENS_OK;
        if (!ok) break;
        size_t bytes = sizeof(float) * (size_t)lens_tensor_numel(&o->t[i]);
        o->d[i] = malloc(bytes ? bytes : 1);
        memcpy(o->d[i], o->t[i].data, bytes);
        o->t[i].data = o->d[i];
        o->n++;
    }
    lens_session_free(s);
    return ok;
}

/* The op types of the NHWC graph's nodes, comma-separated (lens-domain ops
 * without their domain). */
static void graph_ops(const lens_model *m, char *ops, size_t size) {
    const lens_graph *g = m->graph;
    ops[0] = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (i) strncat(ops, ",", size - strlen(ops) - 1);
        strncat(ops, g->nodes[i].op_type, size - strlen(ops) - 1);
    }
}

static int count_op(const lens_model *m, const char *op) {
    int c = 0;
    for (int32_t i = 0; i < m->graph->n_nodes; i++) c += !strcmp(m->graph->nodes[i].op_type, op);
    return c;
}

static lens_model *open_layout(const char *what, const onm_buf *b, lens_model_layout layout) {
    lens_model_options mo = {.layout = layout};
    lens_model *m = NULL;
    CHECK(lens_model_open_memory(b->p, b->n, &mo, &m) == LENS_OK, "%s: open (layout %d)", what, (int)layout);
    return m;
}

/* Opens `b` NHWC and NCHW, compares outputs, checks the NHWC op list (if
 * want_ops is not NULL) and returns the NHWC model for further checks
 * (caller frees). */
static lens_model *check_case(const char *what, const onm_buf *b, const int64_t xd[4], const char *want_ops) {
    lens_model *mh = open_layout(what, b, LENS_MODEL_LAYOUT_NHWC), *mc = open_layout(what, b, LENS_MODEL_LAYOUT_NCHW);
    if (!mh || !mc) {
        lens_model_free(mc);
        return mh;
    }
    char ops[2048];
    graph_ops(mh, ops, sizeof ops);
    if (want_ops && g_nhwc) CHECK(!strcmp(ops, want_ops), "%s: NHWC graph '%s', want '%s'", what, ops, want_ops);
    CHECK(count_op(mc, "ConvNhwc") == 0, "%s: NCHW graph was rewritten", what);
    int64_t n = xd[0] * xd[1] * xd[2] * xd[3];
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) / 101.0f * 2.0f - 1.0f;
    outs oc, o1, o2;
    bool ok = run_model(mc, x, xd, 1, &oc);
    CHECK(ok, "%s: NCHW run", what);
    CHECK(run_model(mh, x, xd, 1, &o1), "%s: NHWC run, 1 thread", what);
    CHECK(run_model(mh, x, xd, 2, &o2), "%s: NHWC run, 2 threads", what);
    CHECK(oc.n == o1.n && o1.n == o2.n && oc.n == (int)lens_model_output_count(mc), "%s: output counts", what);
    for (int k = 0; k < oc.n && k < o1.n && k < o2.n; k++) {
        CHECK(lens_shape_equal(oc.t[k].ndim, oc.t[k].dims, o1.t[k].ndim, o1.t[k].dims) &&
                  lens_shape_equal(o1.t[k].ndim, o1.t[k].dims, o2.t[k].ndim, o2.t[k].dims),
              "%s: output %d shapes differ", what, k);
        int64_t ne = lens_tensor_numel(&oc.t[k]);
        if (ne != lens_tensor_numel(&o1.t[k])) continue;
        float amax = 0;
        for (int64_t i = 0; i < ne; i++) amax = fmaxf(amax, fabsf(oc.d[k][i]));
        int bad = 0;
        for (int64_t i = 0; i < ne && bad < 3; i++) {
            float a = o1.d[k][i], c = oc.d[k][i];
            if (!(fabsf(a - c) <= 1e-5f * amax)) {
                CHECK(0, "%s: output %d [%lld]: NHWC %.9g NCHW %.9g", what, k, (long long)i, a, c);
                bad++;
            }
        }
        CHECK(!memcmp(o1.d[k], o2.d[k], sizeof(float) * (size_t)ne), "%s: output %d differs between 1 and 2 threads",
              what, k);
    }
    outs_free(&oc);
    outs_free(&o1);
    outs_free(&o2);
    free(x);
    lens_model_free(mc);
    return mh;
}

/* ---- cases ---------------------------------------------------------------- */

/* Conv -> Relu -> Conv -> Conv: one region, exactly two Transposes (in, out). */
static void test_chain(void) {
    gb b = {0};
    gb_conv(&b, "x", "c1", "1", 8, 16, 3, 1, 1, 1);
    gb_node(&b, "Relu", IN("c1"), "r1", NULL);
    gb_conv(&b, "r1", "c2", "2", 16, 16, 3, 2, 1, 2);
    gb_conv(&b, "c2", "y", "3", 16, 16, 3, 1, 16, 3); /* depthwise */
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 8, 9, 11};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("chain", &m, xd, "Transpose,ConvNhwc,ConvNhwc,ConvNhwc,Transpose");
    if (mh && g_nhwc) {
        CHECK(mh->graph->nodes[1].fused_act == LENS_ACT_RELU, "chain: the Relu stays fused");
        /* the graph output keeps its name and NCHW shape */
        lens_value_info vi;
        CHECK(lens_model_output_info(mh, 0, &vi) == LENS_OK && !strcmp(vi.name, "y"), "chain: output name");
    }
    lens_model_free(mh);
    free(m.p);
}

/* A residual block: the Add fuses into the second conv, whose residual (the
 * first conv's output) is read NHWC without a conversion. */
static void test_residual(void) {
    gb b = {0};
    gb_conv(&b, "x", "a", "1", 16, 16, 3, 1, 1, 4);
    gb_node(&b, "Relu", IN("a"), "ar", NULL);
    gb_conv(&b, "ar", "c", "2", 16, 16, 3, 1, 1, 5);
    gb_node(&b, "Add", IN("c", "ar"), "s", NULL);
    gb_node(&b, "Relu", IN("s"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 16, 7, 6};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("residual", &m, xd, "Transpose,ConvNhwc,ConvNhwc,Transpose");
    if (mh && g_nhwc) CHECK(mh->graph->nodes[2].n_inputs == 4 && mh->graph->nodes[2].inputs[3] >= 0, "residual: R fused");
    lens_model_free(mh);
    free(m.p);
}

/* A residual Add that is not fused (both operands used elsewhere) runs as an
 * NHWC Add; a constant [C,1,1] operand is replaced by its [1,1,1,C] copy. */
static void test_add_const(void) {
    gb b = {0};
    int64_t cd[3] = {12, 1, 1};
    gb_init(&b, "k", 3, cd, 7);
    gb_conv(&b, "x", "a", "1", 4, 12, 3, 1, 1, 6);
    gb_node(&b, "Add", IN("a", "k"), "ak", NULL);
    gb_node(&b, "Sigmoid", IN("ak"), "s", NULL);
    gb_node(&b, "Mul", IN("s", "a"), "p", NULL);
    gb_conv(&b, "p", "y", "2", 12, 8, 1, 1, 1, 8);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 4, 5, 5};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("add_const", &m, xd, "Transpose,ConvNhwc,Add,Sigmoid,Mul,ConvNhwc,Transpose");
    if (mh && g_nhwc) {
        const lens_graph *g = mh->graph;
        const lens_tensor *k = lens_node_const_input(g, &g->nodes[2], 1);
        if (!k) k = lens_node_const_input(g, &g->nodes[2], 0);
        CHECK(k && k->ndim == 4 && k->dims[0] == 1 && k->dims[1] == 1 && k->dims[2] == 1 && k->dims[3] == 12,
              "add_const: constant not permuted to [1,1,1,12]");
    }
    lens_model_free(mh);
    free(m.p);
}

/* Squeeze-excitation: GAP -> 1x1 conv -> Relu -> 1x1 conv -> HardSigmoid,
 * Mul with the block's input, all NHWC; the classifier-style Flatten after
 * the final GAP reads the [N,1,1,C] value without a Transpose. */
static void test_se_block(void) {
    gb b = {0};
    gb_conv(&b, "x", "h", "1", 3, 16, 3, 2, 1, 9);
    gb_node(&b, "GlobalAveragePool", IN("h"), "g", NULL);
    gb_conv(&b, "g", "s1", "2", 16, 8, 1, 1, 1, 10);
    gb_node(&b, "Relu", IN("s1"), "s1r", NULL);
    gb_conv(&b, "s1r", "s2", "3", 8, 16, 1, 1, 1, 11);
    gb_node(&b, "HardSigmoid", IN("s2"), "sg", NULL);
    gb_node(&b, "Mul", IN("h", "sg"), "hm", NULL);
    gb_conv(&b, "hm", "c", "4", 16, 24, 1, 1, 1, 12);
    gb_node(&b, "GlobalAveragePool", IN("c"), "gp", NULL);
    gb_node(&b, "Flatten", IN("gp"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 3, 12, 10};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("se", &m, xd,
                                "Transpose,ConvNhwc,GlobalAveragePoolNhwc,ConvNhwc,ConvNhwc,Mul,ConvNhwc,"
                                "GlobalAveragePoolNhwc,Flatten");
    lens_model_free(mh);
    free(m.p);
}

/* Concat on the channel axis of two NHWC convs becomes a Concat on axis 3;
 * Split and Slice on channels (yolov8's C2f) follow the same way. */
static void test_concat(void) {
    gb b = {0};
    gb_conv(&b, "x", "a", "1", 6, 8, 3, 1, 1, 13);
    gb_conv(&b, "x", "c", "2", 6, 4, 1, 1, 1, 14);
    onm_attr ax1[2] = {{"axis", 2, 1, NULL, NULL, 0}, {NULL, 0, 0, NULL, NULL, 0}};
    gb_node(&b, "Concat", IN("a", "c"), "cat", ax1);
    int64_t sp[2] = {5, 7};
    gb_i64(&b, "split", 2, sp);
    onm_buf node = {0};
    onm_str(&node, 1, "cat");
    onm_str(&node, 1, "split");
    onm_str(&node, 2, "p0");
    onm_str(&node, 2, "p1");
    onm_str(&node, 4, "Split");
    {
        onm_buf ab = {0};
        onm_str(&ab, 1, "axis");
        onm_int(&ab, 3, 1);
        onm_int(&ab, 20, 2);
        onm_msg(&node, 5, &ab);
    }
    onm_msg(&b.graph, 1, &node);
    int64_t st[1] = {2}, en[1] = {6}, axs[1] = {1};
    gb_i64(&b, "st", 1, st);
    gb_i64(&b, "en", 1, en);
    gb_i64(&b, "axs", 1, axs);
    gb_node(&b, "Slice", IN("p1", "st", "en", "axs"), "sl", NULL);
    gb_node(&b, "Concat", IN("p0", "sl", "a"), "cat2", ax1);
    gb_conv(&b, "cat2", "y", "3", 17, 5, 3, 1, 1, 15);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 6, 8, 7};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh =
        check_case("concat", &m, xd, "Transpose,ConvNhwc,ConvNhwc,Concat,Split,Slice,Concat,ConvNhwc,Transpose");
    if (mh && g_nhwc) CHECK(lens_node_attr_int(&mh->graph->nodes[3], "axis", -9) == 3, "concat: axis not renumbered to 3");
    lens_model_free(mh);
    free(m.p);
}

/* A conv whose output is a graph output and also feeds another conv: the
 * NHWC value is transposed once for the output, the second conv reads the
 * NHWC value. */
static void test_output_and_consumer(void) {
    gb b = {0};
    gb_conv(&b, "x", "y1", "1", 5, 8, 3, 1, 1, 16);
    gb_conv(&b, "y1", "y2", "2", 8, 8, 3, 1, 1, 17);
    gb_output(&b, "y1");
    gb_output(&b, "y2");
    const int64_t xd[4] = {1, 5, 6, 6};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("output+consumer", &m, xd, "Transpose,ConvNhwc,Transpose,ConvNhwc,Transpose");
    if (mh && g_nhwc) {
        const lens_graph *g = mh->graph;
        CHECK(g->nodes[3].inputs[0] == g->nodes[1].outputs[0], "output+consumer: second conv must read NHWC");
        CHECK(!strcmp(g->values[g->nodes[2].outputs[0]].name, "y1"), "output+consumer: y1 keeps its value");
    }
    lens_model_free(mh);
    free(m.p);
}

/* A conv the NHWC op cannot take (group 2, neither dense nor depthwise) in
 * the middle: NCHW there, Transposes around it. */
static void test_not_eligible(void) {
    gb b = {0};
    gb_conv(&b, "x", "a", "1", 4, 8, 3, 1, 1, 18);
    gb_conv(&b, "a", "b", "2", 8, 8, 3, 1, 2, 19);
    gb_conv(&b, "b", "y", "3", 8, 6, 3, 1, 1, 20);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 4, 7, 5};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh =
        check_case("not eligible", &m, xd, "Transpose,ConvNhwc,Transpose,Conv,Transpose,ConvNhwc,Transpose");
    lens_model_free(mh);
    /* AUTO undoes regions whose edges cost more than they gain: here two
     * one-conv regions with two Transposes each */
    lens_model *ma = open_layout("not eligible auto", &m, LENS_MODEL_LAYOUT_AUTO);
    if (ma) CHECK(count_op(ma, "Transpose") == 0, "not eligible: AUTO kept a one-conv region");
    lens_model_free(ma);
    free(m.p);
}

/* Shape of an NHWC value becomes Shape + Gather [0,3,1,2], not a Transpose;
 * the Reshape after it reads NCHW through one Transpose. */
static void test_shape(void) {
    gb b = {0};
    gb_conv(&b, "x", "h", "1", 3, 6, 3, 1, 1, 21);
    gb_conv(&b, "h", "h2", "2", 6, 6, 3, 1, 1, 22);
    gb_node(&b, "Shape", IN("h"), "sh", NULL);
    gb_node(&b, "Reshape", IN("h2", "sh"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 3, 5, 4};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("shape", &m, xd, "Transpose,ConvNhwc,ConvNhwc,Shape,Gather,Transpose,Reshape");
    lens_model_free(mh);
    free(m.p);
}

/* ConvNeXt's Transposes: [0,2,3,1] after an NHWC conv and [0,3,1,2] before
 * an NHWC residual Add disappear. */
static void test_transpose_folding(void) {
    gb b = {0};
    int64_t p1[4] = {0, 2, 3, 1}, p2[4] = {0, 3, 1, 2};
    gb_conv(&b, "x", "a", "1", 8, 8, 3, 1, 8, 23);
    onm_attr t1[2] = {{"perm", 7, 0, NULL, p1, 4}, {NULL, 0, 0, NULL, NULL, 0}},
             t2[2] = {{"perm", 7, 0, NULL, p2, 4}, {NULL, 0, 0, NULL, NULL, 0}};
    gb_node(&b, "Transpose", IN("a"), "t", t1);
    gb_node(&b, "Relu", IN("t"), "tr", NULL);
    gb_node(&b, "Transpose", IN("tr"), "u", t2);
    gb_node(&b, "Add", IN("u", "a"), "s", NULL);
    gb_conv(&b, "s", "y", "2", 8, 4, 1, 1, 1, 24);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 8, 6, 5};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("transpose folding", &m, xd, "Transpose,ConvNhwc,Relu,Add,ConvNhwc,Transpose");
    lens_model_free(mh);
    /* AUTO keeps it: two model Transposes removed for two inserted */
    lens_model *ma = open_layout("transpose folding auto", &m, LENS_MODEL_LAYOUT_AUTO);
    if (ma && g_nhwc) CHECK(count_op(ma, "ConvNhwc") == 2 && count_op(ma, "Transpose") == 2, "transpose folding: AUTO undid it");
    lens_model_free(ma);
    free(m.p);
}

/* LENS_LAYOUT overrides the option; an out-of-range option is refused. */
static void test_option(void) {
    gb b = {0};
    gb_conv(&b, "x", "a", "1", 4, 8, 3, 1, 1, 25);
    gb_conv(&b, "a", "y", "2", 8, 8, 3, 1, 1, 26);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 4, 5, 5};
    onm_buf m = gb_finish(&b, xd);
    setenv("LENS_LAYOUT", "nchw", 1);
    lens_model *m1 = open_layout("env nchw", &m, LENS_MODEL_LAYOUT_NHWC);
    if (m1) CHECK(count_op(m1, "ConvNhwc") == 0, "LENS_LAYOUT=nchw did not override the option");
    lens_model_free(m1);
    setenv("LENS_LAYOUT", "nhwc", 1);
    m1 = open_layout("env nhwc", &m, LENS_MODEL_LAYOUT_NCHW);
    if (m1 && g_nhwc) CHECK(count_op(m1, "ConvNhwc") == 2, "LENS_LAYOUT=nhwc did not override the option");
    lens_model_free(m1);
    unsetenv("LENS_LAYOUT");
    lens_model_options mo = {.layout = 7};
    lens_model *bad = NULL;
    CHECK(lens_model_open_memory(m.p, m.n, &mo, &bad) == LENS_STATUS_INVALID_ARGUMENT, "layout 7 accepted");
    lens_model_free(bad);
    free(m.p);
}

/* Hostile attributes reach the pass's shape inference before any operator
 * validates them: absurd pads, strides, slice bounds and steps must not
 * overflow (UBSan in the sanitizer build) and the model must either load
 * and run like NCHW or fail to load with a status. */
static void test_hostile(void) {
    gb b = {0};
    int64_t wd[4] = {4, 2, 3, 3};
    gb_init(&b, "W", 4, wd, 30);
    int64_t pads[4] = {INT64_MAX / 2, 1, INT64_MAX / 2, 1}, st[2] = {INT64_MAX, 1}, dil[2] = {INT64_MAX / 3, 1};
    onm_attr at[4] = {{"pads", 7, 0, NULL, pads, 4}, {"strides", 7, 0, NULL, st, 2}, {"dilations", 7, 0, NULL, dil, 2},
                      {NULL, 0, 0, NULL, NULL, 0}};
    gb_node(&b, "Conv", IN("x", "W"), "c", at);
    int64_t s0[1] = {INT64_MIN}, e0[1] = {INT64_MAX}, a0[1] = {1}, p0[1] = {INT64_MIN};
    gb_i64(&b, "s0", 1, s0);
    gb_i64(&b, "e0", 1, e0);
    gb_i64(&b, "a0", 1, a0);
    gb_i64(&b, "p0", 1, p0);
    gb_node(&b, "Slice", IN("c", "s0", "e0", "a0", "p0"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 2, 5, 5};
    onm_buf m = gb_finish(&b, xd);
    for (int l = 0; l < 3; l++) {
        lens_model_options mo = {.layout = l};
        lens_model *mm = NULL;
        lens_status st1 = lens_model_open_memory(m.p, m.n, &mo, &mm);
        CHECK(st1 != LENS_OK || mm != NULL, "hostile: open returned OK without a model");
        lens_model_free(mm);
    }
    free(m.p);
}

/* Value names longer than the pass's name buffer: the names it makes must
 * still be unique (it used to try the same truncated name forever). */
static void test_long_names(void) {
    char a[700], c[700];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = 0;
    memcpy(c, a, sizeof c);
    c[sizeof c - 2] = 'c'; /* differs from a only past the buffer */
    gb b = {0};
    gb_conv(&b, "x", a, "1", 3, 8, 3, 1, 1, 31);
    gb_conv(&b, a, c, "2", 8, 8, 3, 1, 1, 32);
    gb_node(&b, "Relu", IN(c), "r", NULL);
    gb_node(&b, "Shape", IN(a), "sh", NULL);
    gb_node(&b, "Reshape", IN("r", "sh"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 3, 5, 5};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("long names", &m, xd, NULL);
    if (mh && g_nhwc) CHECK(count_op(mh, "ConvNhwc") == 2, "long names: not rewritten");
    lens_model_free(mh);
    free(m.p);
}

/* Nothing is allocated per run in a channels-last region either: the NHWC
 * ops build their indirection tables in the session's scratch, so after the
 * first runs have planned the arena, later runs of the same shape allocate
 * nothing (counted through lens_alloc_fail_after(0), as test_runtime does
 * for the NCHW graph). SE block, residual, pools and edge Transposes. */
static void test_steady_state(void) {
    gb b = {0};
    gb_conv(&b, "x", "h", "1", 8, 32, 3, 2, 1, 21);
    gb_node(&b, "GlobalAveragePool", IN("h"), "g", NULL);
    gb_conv(&b, "g", "s1", "2", 32, 8, 1, 1, 1, 22);
    gb_node(&b, "Relu", IN("s1"), "s1r", NULL);
    gb_conv(&b, "s1r", "s2", "3", 8, 32, 1, 1, 1, 23);
    gb_node(&b, "Sigmoid", IN("s2"), "sg", NULL);
    gb_node(&b, "Mul", IN("h", "sg"), "hm", NULL);
    gb_conv(&b, "hm", "d", "4", 32, 32, 3, 1, 32, 24); /* depthwise */
    gb_node(&b, "Add", IN("d", "h"), "r", NULL);
    static const int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1};
    const onm_attr pool[4] = {{.name = "kernel_shape", .type = 7, .n = 2, .ints = k3},
                              {.name = "strides", .type = 7, .n = 2, .ints = s2},
                              {.name = "pads", .type = 7, .n = 4, .ints = p1}};
    gb_node(&b, "MaxPool", IN("r"), "y", pool);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 8, 30, 26};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = open_layout("steady", &m, LENS_MODEL_LAYOUT_NHWC);
    if (mh) {
        if (g_nhwc) CHECK(count_op(mh, "ConvNhwc") == 4, "steady: region is channels-last");
        lens_session_options so = {.threads = 2};
        lens_session *s = NULL;
        CHECK(lens_session_create(mh, &so, &s) == LENS_OK, "steady: session");
        float *x = malloc(sizeof(float) * 8 * 30 * 26);
        for (int i = 0; i < 8 * 30 * 26; i++) x[i] = (float)((i * 13) % 29) / 29.0f - 0.5f;
        lens_tensor in = {LENS_DTYPE_FLOAT, 4, {1, 8, 30, 26}, x};
        for (int t = 0; t < 5 && s; t++) {
            (void)lens_alloc_fail_after(0);
            CHECK(lens_session_run(s, 1, &in) == LENS_OK, "steady: run %d", t);
            uint64_t allocs = lens_alloc_fail_after(0);
            if (t >= 3) CHECK(allocs == 0, "steady: run %d allocated %llu times", t, (unsigned long long)allocs);
        }
        lens_session_free(s);
        free(x);
    }
    lens_model_free(mh);
    free(m.p);
}

/* Declared dims reach the pass unchecked: a residual conv whose input is
 * declared with a spatial dim of INT64_MAX made the eligibility check add
 * pads to it (signed overflow, UBSan), and a Shape of dims 2^40 multiplied
 * by itself overflowed in shape inference. The models must load (or fail)
 * without UB. */
static void test_hostile_dims(void) {
    for (int l = 0; l < 3; l++) {
        gb b = {0};
        gb_conv(&b, "x", "c", "1", 16, 16, 3, 1, 1, 50);
        gb_node(&b, "Add", IN("c", "r"), "y", NULL);
        gb_output(&b, "y");
        const int64_t rd[4] = {1, 16, 5, 8};
        onm_value_info(&b.graph, 11, "r", LENS_DTYPE_FLOAT, 4, rd);
        const int64_t xd[4] = {1, 16, INT64_MAX, 8};
        onm_buf m = gb_finish(&b, xd);
        lens_model_options mo = {.layout = l};
        lens_model *mm = NULL;
        lens_status st = lens_model_open_memory(m.p, m.n, &mo, &mm);
        CHECK(st != LENS_OK || mm != NULL, "hostile dims (residual): open returned OK without a model");
        lens_model_free(mm);
        free(m.p);

        gb b2 = {0};
        gb_node(&b2, "Shape", IN("x"), "s", NULL);
        gb_node(&b2, "Mul", IN("s", "s"), "y", NULL);
        gb_output(&b2, "y");
        const int64_t xd2[4] = {(int64_t)1 << 40, (int64_t)1 << 40, 1, 1};
        m = gb_finish(&b2, xd2);
        mm = NULL;
        st = lens_model_open_memory(m.p, m.n, &mo, &mm);
        CHECK(st != LENS_OK || mm != NULL, "hostile dims (shape Mul): open returned OK without a model");
        lens_model_free(mm);
        free(m.p);
    }
}

/* A MaxPool whose Indices output is read by no one runs as MaxPoolNhwc
 * (one output); it used to keep both outputs and fail to load. */
static void test_maxpool_indices(void) {
    gb b = {0};
    gb_conv(&b, "x", "a", "1", 16, 16, 3, 1, 1, 51);
    onm_buf node = {0};
    onm_str(&node, 1, "a");
    onm_str(&node, 2, "m");
    onm_str(&node, 2, "idx");
    onm_str(&node, 4, "MaxPool");
    {
        onm_buf ab = {0};
        onm_str(&ab, 1, "kernel_shape");
        onm_int(&ab, 8, 2);
        onm_int(&ab, 8, 2);
        onm_int(&ab, 20, 7);
        onm_msg(&node, 5, &ab);
    }
    onm_msg(&b.graph, 1, &node);
    gb_conv(&b, "m", "y", "2", 16, 8, 3, 1, 1, 52);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 16, 8, 6};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("maxpool indices", &m, xd, "Transpose,ConvNhwc,MaxPoolNhwc,ConvNhwc,Transpose");
    lens_model_free(mh);
    free(m.p);
}

/* Unsqueeze with two axes makes a rank-2 value: shape inference took it
 * for rank 1, so a Gather by it looked rank 4 (it is rank 5) and the Add
 * reading it with an NHWC conv output got a 4-D Transpose that failed. */
static void test_unsqueeze_rank(void) {
    gb b = {0};
    gb_conv(&b, "x", "c", "1", 16, 16, 3, 1, 1, 53);
    gb_conv(&b, "x", "t", "2", 16, 16, 3, 1, 1, 54);
    int64_t zero = 0, one = 1, axes[2] = {0, 1};
    gb_i64(&b, "one", 1, &one);
    gb_i64(&b, "i0", 1, &zero);
    gb_i64(&b, "ax", 2, axes);
    gb_node(&b, "Shape", IN("x"), "s", NULL);
    gb_node(&b, "Gather", IN("s", "i0"), "n0", NULL);
    gb_node(&b, "Sub", IN("n0", "one"), "z", NULL); /* [0] */
    gb_node(&b, "Squeeze", IN("z"), "zs", NULL);     /* 0 */
    gb_node(&b, "Unsqueeze", IN("zs", "ax"), "u", NULL);
    gb_node(&b, "Gather", IN("t", "u"), "g", NULL); /* [1, 1, 16, 8, 6] */
    gb_node(&b, "Add", IN("c", "g"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 16, 8, 6};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("unsqueeze rank", &m, xd, NULL);
    lens_model_free(mh);
    free(m.p);
}

/* Resize-18 with keep_aspect_ratio_policy scales every axis by one factor:
 * sizes [1, 16, 16, 16] of [1, 16, 8, 6] give [1, 16, 8, 6] ("not_larger").
 * Shape inference took the sizes for the dims, so a conv on the resized map
 * and a residual that only broadcasts ([1, 1, 8, 6], resized the same way)
 * looked like the exact shape ConvNhwc needs; the NHWC model then failed at
 * run time where NCHW runs. */
static void test_resize_keep_aspect(void) {
    gb b = {.opset = 19};
    gb_conv(&b, "x", "a", "1", 16, 16, 3, 1, 1, 56);
    int64_t s0 = 0, s1 = 1, sz[4] = {1, 16, 16, 16};
    gb_i64(&b, "s0", 1, &s0);
    gb_i64(&b, "s1", 1, &s1);
    gb_i64(&b, "sz", 4, sz);
    gb_node(&b, "Slice", IN("a", "s0", "s1", "s1"), "c0", NULL); /* [1, 1, 8, 6] */
    const onm_attr keep[2] = {{.name = "keep_aspect_ratio_policy", .type = 3, .s = "not_larger"}};
    gb_node(&b, "Resize", IN("c0", "", "", "sz"), "r", keep);
    gb_node(&b, "Resize", IN("a", "", "", "sz"), "rz", keep);
    gb_conv(&b, "rz", "c", "2", 16, 16, 1, 1, 1, 57);
    gb_node(&b, "Add", IN("c", "r"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 16, 8, 6};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("resize keep aspect", &m, xd, NULL);
    lens_model_free(mh);
    free(m.p);
}

/* A ceil_mode pool whose end padding is at least its kernel drops the last
 * window (ops/pool.c, PyTorch): [1,16,2,2] with kernel 2, stride 2 and end
 * pads 2 gives [1,16,1,1]. Shape inference said [1,16,2,2], the exact shape
 * of the conv it is added to, so the conv took it as a ConvNhwc residual and
 * failed at run time where NCHW broadcasts it. */
static void test_pool_ceil_pads(void) {
    gb b = {0};
    gb_conv(&b, "x", "a", "1", 16, 16, 3, 1, 1, 58);
    static const int64_t k2[2] = {2, 2}, s2[2] = {2, 2}, p0[4] = {0, 0, 0, 0}, pe[4] = {0, 0, 2, 2};
    const onm_attr pool[4] = {{.name = "kernel_shape", .type = 7, .n = 2, .ints = k2},
                              {.name = "strides", .type = 7, .n = 2, .ints = s2},
                              {.name = "pads", .type = 7, .n = 4, .ints = p0}},
                   pool_ceil[4] = {{.name = "kernel_shape", .type = 7, .n = 2, .ints = k2},
                                   {.name = "strides", .type = 7, .n = 2, .ints = s2},
                                   {.name = "pads", .type = 7, .n = 4, .ints = pe},
                                   {.name = "ceil_mode", .type = 2, .i = 1}};
    gb_node(&b, "MaxPool", IN("a"), "p", pool);        /* [1, 16, 2, 2] */
    gb_node(&b, "MaxPool", IN("p"), "r", pool_ceil);   /* [1, 16, 1, 1] */
    gb_conv(&b, "p", "c", "2", 16, 16, 1, 1, 1, 59);
    gb_node(&b, "Add", IN("c", "r"), "y", NULL);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 16, 4, 4};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = check_case("pool ceil pads", &m, xd, NULL);
    lens_model_free(mh);
    free(m.p);
}

/* The memory plan with thousands of values alive at once: x fans out into
 * N branches (Add a scalar, ReduceSum), summed by an Add chain. The
 * topological sort runs the N Adds first, so all N branch tensors are live
 * together. Planning used to insert each overlapping interval in order,
 * O(m^2) per value: N = 4000 took 24 s to plan; the result checks that
 * the sorted plan still keeps every live value apart. */
static void test_plan_many_live(void) {
    enum { N = 3000 };
    gb b = {0};
    static char out[32];
    char k[32], c[32], r[32], prev[32], sum[32];
    const int64_t xd[4] = {1, 2, 3, 3};
    double want_k = 0;
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "k%d", i), snprintf(c, sizeof c, "c%d", i), snprintf(r, sizeof r, "r%d", i);
        gb_init(&b, k, 0, NULL, 1000u + (uint32_t)i);
        uint32_t st = (1000u + (uint32_t)i) * 2654435761u + 12345u;
        st = st * 1664525u + 1013904223u;
        want_k += ((float)(st >> 8) / 16777216.0f - 0.5f) * 0.6f; /* gb_init's value */
        gb_node(&b, "Add", IN("x", k), c, NULL);
        gb_node(&b, "ReduceSum", IN(c), r, (const onm_attr[]){{.name = "keepdims", .type = 2, .i = 0}, {0}});
        if (i == 0) {
            snprintf(prev, sizeof prev, "%s", r);
        } else {
            snprintf(sum, sizeof sum, "s%d", i);
            gb_node(&b, "Add", IN(prev, r), sum, NULL);
            snprintf(prev, sizeof prev, "%s", sum);
        }
    }
    snprintf(out, sizeof out, "%s", prev);
    gb_output(&b, out);
    onm_buf m = gb_finish(&b, xd);
    lens_model *mc = open_layout("many live", &m, LENS_MODEL_LAYOUT_NCHW);
    float x[18];
    double sx = 0;
    for (int i = 0; i < 18; i++) x[i] = (float)(i % 7) * 0.25f - 0.5f, sx += x[i];
    outs o;
    if (mc && run_model(mc, x, xd, 2, &o)) {
        double want = N * sx + 18.0 * want_k;
        CHECK(o.n == 1 && lens_tensor_numel(&o.t[0]) == 1 && fabs(o.d[0][0] - want) <= 1e-3 * fabs(want) + 1e-2,
              "many live: sum %.6g, want %.6g", o.n ? o.d[0][0] : 0.0, want);
        outs_free(&o);
    } else {
        CHECK(0, "many live: run");
    }
    lens_model_free(mc);
    free(m.p);
}

static void probe_nhwc(void) {
    gb b = {0};
    gb_conv(&b, "x", "y", "1", 16, 16, 1, 1, 1, 40);
    gb_output(&b, "y");
    const int64_t xd[4] = {1, 16, 4, 4};
    onm_buf m = gb_finish(&b, xd);
    lens_model *mh = open_layout("probe", &m, LENS_MODEL_LAYOUT_NHWC);
    g_nhwc = mh && count_op(mh, "ConvNhwc") == 1;
    if (!g_nhwc) printf("test_layout: no SIMD nhwc kernels on this CPU: structure checks skipped\n");
    lens_model_free(mh);
    free(m.p);
}

int main(void) {
    (void)onm_run, (void)onm_expect; /* the helper header's one-node runner is not used here */
    unsetenv("LENS_LAYOUT");
    probe_nhwc();
    test_chain();
    test_residual();
    test_add_const();
    test_se_block();
    test_concat();
    test_output_and_consumer();
    test_not_eligible();
    test_shape();
    test_transpose_folding();
    test_option();
    test_hostile();
    test_long_names();
    test_steady_state();
    test_plan_many_live();
    test_hostile_dims();
    test_maxpool_indices();
    test_unsqueeze_rank();
    test_resize_keep_aspect();
    test_pool_ceil_pads();
    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    else printf("test_layout: all passed\n");
    return failures ? 1 : 0;
}
