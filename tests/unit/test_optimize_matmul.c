/* Optimiser: MatMul epilogue fusions (bias Add, layer-scale Mul directly or
 * after a Transpose) and the exact-erf GELU pattern (graph/optimize.c).
 * Each case builds a small ONNX graph in memory, opens it with and without
 * optimisations, checks which nodes are left and that both give the same
 * outputs. Negative cases must leave the graph's nodes alone. */
#include "one_node_model.h"
#include "runtime/runtime.h"

static int failures;
#define CHECK(c, ...)                                                                       \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fprintf(stderr, " (last error: %s)\n", lens_last_error());                      \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

/* ---- a tiny graph builder on one_node_model.h's protobuf writer ---------- */
typedef struct gb {
    onm_buf graph;
    int n_nodes;
} gb;

static void gb_node(gb *b, const char *op, const char *in0, const char *in1, const char *out,
                    const int64_t *perm, int64_t n_perm) {
    onm_buf node = {0};
    onm_str(&node, 1, in0);
    if (in1) onm_str(&node, 1, in1);
    onm_str(&node, 2, out);
    onm_str(&node, 4, op);
    if (perm) {
        onm_buf ab = {0};
        onm_str(&ab, 1, "perm");
        for (int64_t k = 0; k < n_perm; k++) onm_int(&ab, 8, perm[k]);
        onm_int(&ab, 20, 7);
        onm_msg(&node, 5, &ab);
    }
    onm_msg(&b->graph, 1, &node);
    b->n_nodes++;
}

/* A float initializer of the given shape; values v0 + i * dv. */
static void gb_init(gb *b, const char *name, int32_t ndim, const int64_t *dims, float v0, float dv) {
    onm_buf t = {0};
    int64_t n = 1;
    for (int32_t i = 0; i < ndim; i++) onm_int(&t, 1, dims[i]), n *= dims[i];
    onm_int(&t, 2, LENS_DTYPE_FLOAT);
    onm_str(&t, 8, name);
    float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = v0 + (float)i * dv * (i % 3 ? 1.0f : -0.7f);
    onm_bytes(&t, 9, d, sizeof(float) * (size_t)n);
    free(d);
    onm_msg(&b->graph, 5, &t);
}

static void gb_scalar(gb *b, const char *name, float v) { gb_init(b, name, 0, NULL, v, 0); }

/* Serialises the model (graph input "x" of shape xdims, output "y") and
 * frees the builder. */
static onm_buf gb_finish(gb *b, int32_t xnd, const int64_t *xdims) {
    onm_str(&b->graph, 2, "g");
    onm_value_info(&b->graph, 11, "x", LENS_DTYPE_FLOAT, xnd, xdims);
    onm_value_info(&b->graph, 12, "y", LENS_DTYPE_FLOAT, -1, NULL);
    onm_buf model = {0}, opset = {0};
    onm_int(&model, 1, 8);
    onm_str(&opset, 1, "");
    onm_int(&opset, 2, 17);
    onm_msg(&model, 8, &opset);
    onm_msg(&model, 7, &b->graph);
    return model;
}

/* Opens `m` optimised and not, runs both on the same input and compares.
 * Returns the optimised graph's live node count (-1 on failure); the op
 * types of its nodes are written to ops (comma-separated, "MatMul+gelu"
 * marks a fused GELU, "MatMul[3]" the input count). */
static int run_both(const char *what, const onm_buf *m, int32_t xnd, const int64_t *xdims, char *ops,
                    size_t ops_size) {
    lens_model *mo = NULL, *mu = NULL;
    lens_model_options noopt = {.disable_optimizations = 1};
    CHECK(lens_model_open_memory(m->p, m->n, NULL, &mo) == LENS_OK, "%s: open", what);
    CHECK(lens_model_open_memory(m->p, m->n, &noopt, &mu) == LENS_OK, "%s: open unoptimised", what);
    int live = -1;
    if (!mo || !mu) goto done;
    int64_t n = 1;
    for (int32_t i = 0; i < xnd; i++) n *= xdims[i];
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) / 101.0f * 6.0f - 3.0f;
    lens_tensor in = {LENS_DTYPE_FLOAT, xnd, {0}, x};
    memcpy(in.dims, xdims, sizeof(int64_t) * (size_t)xnd);
    lens_session *so = NULL, *su = NULL;
    CHECK(lens_session_create(mo, NULL, &so) == LENS_OK, "%s: session", what);
    CHECK(lens_session_create(mu, NULL, &su) == LENS_OK, "%s: session", what);
    if (so && su) {
        CHECK(lens_session_run(so, 1, &in) == LENS_OK, "%s: run", what);
        CHECK(lens_session_run(su, 1, &in) == LENS_OK, "%s: run unoptimised", what);
        lens_tensor yo, yu;
        if (lens_session_output(so, 0, &yo) == LENS_OK && lens_session_output(su, 0, &yu) == LENS_OK) {
            CHECK(yo.ndim == yu.ndim, "%s: rank %d vs %d", what, yo.ndim, yu.ndim);
            for (int32_t i = 0; i < yo.ndim && i < yu.ndim; i++)
                CHECK(yo.dims[i] == yu.dims[i], "%s: dim %d: %lld vs %lld", what, i, (long long)yo.dims[i],
                      (long long)yu.dims[i]);
            int64_t ne = lens_tensor_numel(&yo);
            CHECK(ne == lens_tensor_numel(&yu), "%s: sizes differ", what);
            int bad = 0;
            for (int64_t i = 0; i < ne && bad < 3; i++) {
                float a = ((const float *)yo.data)[i], b = ((const float *)yu.data)[i];
                if (!(fabsf(a - b) <= 5e-5f * (1.0f + fabsf(b)))) { /* folding the scale into B rounds differently */
                    CHECK(0, "%s: [%lld] fused %.9g unfused %.9g", what, (long long)i, a, b);
                    bad++;
                }
            }
        }
    }
    lens_session_free(so);
    lens_session_free(su);
    free(x);
    const lens_graph *g = mo->graph;
    live = 0;
    ops[0] = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *nd = &g->nodes[i];
        if (nd->dead) continue;
        live++;
        char item[64];
        snprintf(item, sizeof item, "%s%s%s", live > 1 ? "," : "", nd->op_type,
                 nd->fused_act == LENS_ACT_GELU ? "+gelu" : "");
        if (!strcmp(nd->op_type, "MatMul") && nd->n_inputs != 2)
            snprintf(item + strlen(item), sizeof item - strlen(item), "[%d]", (int)nd->n_inputs);
        strncat(ops, item, ops_size - strlen(ops) - 1);
    }
done:
    lens_model_free(mo);
    lens_model_free(mu);
    return live;
}

static void expect_ops(const char *what, const onm_buf *m, int32_t xnd, const int64_t *xdims, const char *want) {
    char ops[512];
    run_both(what, m, xnd, xdims, ops, sizeof ops);
    CHECK(!strcmp(ops, want), "%s: nodes after optimisation '%s', want '%s'", what, ops, want);
}

/* GELU flavours for gelu_block. */
enum { GELU_DIV, GELU_MUL_RSQRT2, GELU_HALF_FIRST, GELU_SWAPPED, GELU_BAD_ONE, GELU_BAD_SQRT, GELU_SHARED };

/* ConvNeXt's block on x [1, H, W, C] (NHWC):
 * MatMul(C->4C) + bias, GELU, MatMul(4C->C) + bias, Transpose to NCHW,
 * layer scale gamma [C, 1, 1] (or gshape). */
static onm_buf gelu_block(int gelu, int32_t gnd, const int64_t *gdims, const int64_t *perm, int64_t C) {
    gb b = {0};
    int64_t w1[2] = {C, 4 * C}, b1[1] = {4 * C}, w2[2] = {4 * C, C}, b2[1] = {C};
    gb_init(&b, "w1", 2, w1, 0.05f, 0.013f);
    gb_init(&b, "b1", 1, b1, -0.2f, 0.031f);
    gb_init(&b, "w2", 2, w2, -0.03f, 0.007f);
    gb_init(&b, "b2", 1, b2, 0.1f, -0.05f);
    gb_init(&b, "gamma", gnd, gdims, 0.5f, 0.1f);
    gb_scalar(&b, "sqrt2", gelu == GELU_BAD_SQRT ? 1.5f : 1.41421356f);
    gb_scalar(&b, "rsqrt2", 0.70710678f);
    gb_scalar(&b, "one", gelu == GELU_BAD_ONE ? 2.0f : 1.0f);
    gb_scalar(&b, "half", 0.5f);
    gb_node(&b, "MatMul", "x", "w1", "m1", NULL, 0);
    gb_node(&b, "Add", "b1", "m1", "h", NULL, 0);
    if (gelu == GELU_MUL_RSQRT2) gb_node(&b, "Mul", "rsqrt2", "h", "d", NULL, 0);
    else gb_node(&b, "Div", "h", "sqrt2", "d", NULL, 0);
    gb_node(&b, "Erf", "d", NULL, "e", NULL, 0);
    if (gelu == GELU_SWAPPED) gb_node(&b, "Add", "one", "e", "a", NULL, 0);
    else gb_node(&b, "Add", "e", "one", "a", NULL, 0);
    if (gelu == GELU_HALF_FIRST) {
        gb_node(&b, "Mul", "half", "h", "p", NULL, 0);
        gb_node(&b, "Mul", "a", "p", "q", NULL, 0);
    } else {
        gb_node(&b, "Mul", gelu == GELU_SWAPPED ? "a" : "h", gelu == GELU_SWAPPED ? "h" : "a", "p", NULL, 0);
        gb_node(&b, "Mul", "p", "half", "q", NULL, 0);
    }
    if (gelu == GELU_SHARED) {
        /* the Erf's input also feeds the output: the pattern must stay */
        gb_node(&b, "Add", "q", "d", "q2", NULL, 0);
        gb_node(&b, "MatMul", "q2", "w2", "m2", NULL, 0);
    } else {
        gb_node(&b, "MatMul", "q", "w2", "m2", NULL, 0);
    }
    gb_node(&b, "Add", "m2", "b2", "o", NULL, 0);
    gb_node(&b, "Transpose", "o", NULL, "t", perm, 4);
    gb_node(&b, "Mul", "gamma", "t", "y", NULL, 0);
    int64_t xd[4] = {1, 3, 5, C};
    return gb_finish(&b, 4, xd);
}

static void test_convnext_block(void) {
    const int64_t C = 24, xd[4] = {1, 3, 5, 24};
    const int64_t nchw[4] = {0, 3, 1, 2}, ident[4] = {0, 1, 2, 3};
    int64_t g3[3] = {C, 1, 1}, g4[4] = {1, C, 1, 1}, g1[1] = {C};
    const char *fused = "MatMul+gelu[3],MatMul[4],Transpose";
    struct {
        const char *what;
        int gelu;
        int32_t gnd;
        const int64_t *gdims, *perm;
        const char *want;
    } cases[] = {
        {"block", GELU_DIV, 3, g3, nchw, fused},
        {"gamma [1,C,1,1]", GELU_DIV, 4, g4, nchw, fused},
        {"gelu x*(1/sqrt2)", GELU_MUL_RSQRT2, 3, g3, nchw, fused},
        {"gelu (x*0.5)*a", GELU_HALF_FIRST, 3, g3, nchw, fused},
        {"gelu swapped operands", GELU_SWAPPED, 3, g3, nchw, fused},
        /* identity perm: C stays last, gamma [C] lines up with it */
        {"identity perm, gamma [C]", GELU_DIV, 1, g1, ident, fused},
        /* negative: an Add of 2 is not GELU, a Div by 1.5 neither */
        {"not gelu (+2)", GELU_BAD_ONE, 3, g3, nchw, "MatMul[3],Div,Erf,Add,Mul,Mul,MatMul[4],Transpose"},
        {"not gelu (/1.5)", GELU_BAD_SQRT, 3, g3, nchw, "MatMul[3],Div,Erf,Add,Mul,Mul,MatMul[4],Transpose"},
        {"gelu input shared", GELU_SHARED, 3, g3, nchw,
         "MatMul[3],Div,Erf,Add,Mul,Mul,Add,MatMul[4],Transpose"},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(cases); i++) {
        onm_buf m = gelu_block(cases[i].gelu, cases[i].gnd, cases[i].gdims, cases[i].perm, C);
        int64_t xdc[4] = {xd[0], xd[1], xd[2], xd[3]};
        expect_ops(cases[i].what, &m, 4, xdc, cases[i].want);
        free(m.p);
    }
}

/* Negative cases for the bias and scale: shapes that would broadcast
 * differently, a non-constant B, a MatMul output read twice. */
static void test_not_fused(void) {
    const int64_t xd[3] = {2, 3, 8};
    int64_t w[2] = {8, 5}, b5[1] = {5}, b25[2] = {3, 5}, b115[4] = {1, 1, 1, 5}, s51[2] = {5, 1};
    {
        gb b = {0};
        gb_init(&b, "w", 2, w, 0.1f, 0.01f);
        gb_init(&b, "b", 2, b25, 0.3f, 0.02f);
        gb_node(&b, "MatMul", "x", "w", "m", NULL, 0);
        gb_node(&b, "Add", "m", "b", "y", NULL, 0);
        onm_buf m = gb_finish(&b, 3, xd);
        expect_ops("bias [3,5] varies along rows", &m, 3, xd, "MatMul,Add");
        free(m.p);
    }
    {
        gb b = {0};
        gb_init(&b, "w", 2, w, 0.1f, 0.01f);
        gb_init(&b, "b", 4, b115, 0.3f, 0.02f);
        gb_node(&b, "MatMul", "x", "w", "m", NULL, 0);
        gb_node(&b, "Add", "b", "m", "y", NULL, 0);
        onm_buf m = gb_finish(&b, 3, xd);
        expect_ops("bias [1,1,1,5] raises the rank", &m, 3, xd, "MatMul,Add");
        free(m.p);
    }
    {
        gb b = {0};
        gb_init(&b, "w", 2, w, 0.1f, 0.01f);
        gb_init(&b, "b", 1, b5, 0.3f, 0.02f);
        gb_init(&b, "s", 2, s51, 0.3f, 0.02f);
        gb_node(&b, "MatMul", "x", "w", "m", NULL, 0);
        gb_node(&b, "Add", "b", "m", "o", NULL, 0);
        gb_node(&b, "Mul", "o", "s", "y", NULL, 0); /* [5,1] against [.,3,5]: not per column */
        int64_t xd2[3] = {2, 5, 8};
        onm_buf m = gb_finish(&b, 3, xd2);
        expect_ops("scale [5,1] is per row", &m, 3, xd2, "MatMul[3],Mul");
        free(m.p);
    }
    {
        gb b = {0};
        gb_init(&b, "w", 2, w, 0.1f, 0.01f);
        gb_init(&b, "b", 1, b5, 0.3f, 0.02f);
        gb_init(&b, "s", 1, b5, -0.3f, 0.2f);
        gb_node(&b, "MatMul", "x", "w", "m", NULL, 0);
        gb_node(&b, "Add", "m", "b", "o", NULL, 0);
        gb_node(&b, "Mul", "s", "o", "p", NULL, 0);
        gb_node(&b, "Relu", "p", NULL, "y", NULL, 0);
        onm_buf m = gb_finish(&b, 3, xd);
        expect_ops("bias, scale [5], relu", &m, 3, xd, "MatMul[4]");
        free(m.p);
    }
    {
        gb b = {0};
        gb_init(&b, "w", 2, w, 0.1f, 0.01f);
        gb_init(&b, "b", 1, b5, 0.3f, 0.02f);
        gb_node(&b, "MatMul", "x", "w", "m", NULL, 0);
        gb_node(&b, "Add", "m", "b", "o", NULL, 0);
        gb_node(&b, "Add", "o", "m", "y", NULL, 0); /* m read twice */
        onm_buf m = gb_finish(&b, 3, xd);
        expect_ops("matmul output read twice", &m, 3, xd, "MatMul,Add,Add");
        free(m.p);
    }
    {
        /* B computed (x^T x is not constant): nothing fuses */
        gb b = {0};
        int64_t xd2[2] = {8, 8};
        gb_init(&b, "b", 1, xd2 + 1, 0.3f, 0.02f);
        gb_node(&b, "MatMul", "x", "x", "m", NULL, 0);
        gb_node(&b, "Add", "m", "b", "y", NULL, 0);
        onm_buf m = gb_finish(&b, 2, xd2);
        expect_ops("B not constant", &m, 2, xd2, "MatMul,Add");
        free(m.p);
    }
    {
        /* A 1-D input: MatMul gives [N]; bias [N] fuses, output stays 1-D */
        gb b = {0};
        int64_t x1[1] = {8};
        gb_init(&b, "w", 2, w, 0.1f, 0.01f);
        gb_init(&b, "b", 1, b5, 0.3f, 0.02f);
        gb_node(&b, "MatMul", "x", "w", "m", NULL, 0);
        gb_node(&b, "Add", "m", "b", "y", NULL, 0);
        onm_buf m = gb_finish(&b, 1, x1);
        expect_ops("1-D A with bias", &m, 1, x1, "MatMul[3]");
        free(m.p);
    }
}

int main(void) {
    (void)onm_run, (void)onm_expect; /* the helper header's one-node runner is not used here */
    test_convnext_block();
    test_not_fused();
    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    else printf("optimiser MatMul fusions: ok\n");
    return failures ? 1 : 0;
}
