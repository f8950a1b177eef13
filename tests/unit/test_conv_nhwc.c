/* The channels-last operators (lens.ConvNhwc, MaxPoolNhwc, AveragePoolNhwc,
 * GlobalAveragePoolNhwc) against the NCHW operators through one-node models
 * with transposed inputs and outputs, at 1 and 2 threads (bit-identical);
 * hostile attributes and shapes rejected; the eligibility predicates; and
 * every variant of the nhwc kernel family against the portable reference
 * at every tile and remainder edge.
 *
 * LENS_NHWC_BENCH=1 instead times ConvNhwc against Conv on model layers
 * (not run by ctest). */
/* Specs are written as partial initialisers (the rest zero), and only part
 * of one_node_model.h is used here. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/conv_nhwc.h"
#include "one_node_model.h"
#include "ops/conv_nhwc.h"
#include "ops/op.h"
#include "runtime/runtime.h"

static int g_fail, g_checks;
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        g_checks++;                                                                        \
        if (!(cond)) {                                                                     \
            g_fail++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
        }                                                                                  \
    } while (0)

static uint32_t g_seed = 12345;
static float frand(void) {
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)((g_seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}
static float *frand_n(size_t n, float scale) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand() * scale;
    return p;
}

/* ---- a one-node model with initializers and a domain ---------------------- */

typedef struct nm_tensor {
    const char *name;
    int32_t ndim;
    int64_t dims[4];
    const float *data;
    bool init; /* an initializer (constant), else a graph input */
} nm_tensor;

typedef struct nm_spec {
    const char *op, *domain;
    int32_t n_in;
    nm_tensor in[4];   /* name NULL: omitted */
    onm_attr attr[8];
    int32_t fused_act;
    float alpha, beta;
    int32_t threads;
} nm_spec;

static onm_buf nm_build(const nm_spec *s) {
    onm_buf model = {0}, graph = {0}, node = {0};
    onm_int(&model, 1, 8);
    onm_buf os = {0};
    onm_str(&os, 1, "");
    onm_int(&os, 2, 17);
    onm_msg(&model, 8, &os);
    onm_str(&os, 1, "lens");
    onm_int(&os, 2, 1);
    onm_msg(&model, 8, &os);
    for (int32_t i = 0; i < s->n_in; i++) onm_str(&node, 1, s->in[i].name ? s->in[i].name : "");
    onm_str(&node, 2, "y");
    onm_str(&node, 4, s->op);
    for (int a = 0; a < 8 && s->attr[a].name; a++) {
        onm_attr_write(&node, &s->attr[a]);
    }
    if (s->domain) onm_str(&node, 7, s->domain);
    onm_msg(&graph, 1, &node);
    onm_str(&graph, 2, "one_node");
    for (int32_t i = 0; i < s->n_in; i++) {
        const nm_tensor *t = &s->in[i];
        if (!t->name) continue;
        if (t->init) {
            onm_buf tp = {0};
            size_t n = 1;
            for (int32_t d = 0; d < t->ndim; d++) onm_int(&tp, 1, t->dims[d]), n *= (size_t)t->dims[d];
            onm_int(&tp, 2, LENS_DTYPE_FLOAT);
            onm_str(&tp, 8, t->name);
            onm_bytes(&tp, 9, t->data, n * sizeof(float));
            onm_msg(&graph, 5, &tp);
        } else {
            onm_value_info(&graph, 11, t->name, LENS_DTYPE_FLOAT, t->ndim, t->dims);
        }
    }
    onm_value_info(&graph, 12, "y", LENS_DTYPE_FLOAT, -1, NULL);
    onm_msg(&model, 7, &graph);
    return model;
}

typedef struct nm_result {
    lens_status open, run;
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
    size_t n;
    float *y; /* malloc'd */
} nm_result;

/* Opens, sets the fused activation on the node (as the optimiser would),
 * runs twice, keeps the output. */
static nm_result nm_run(const nm_spec *s) {
    nm_result r;
    memset(&r, 0, sizeof r);
    onm_buf m = nm_build(s);
    lens_model *model = NULL;
    r.open = lens_model_open_memory(m.p, m.n, NULL, &model);
    if (r.open != LENS_OK) {
        free(m.p);
        return r;
    }
    for (int32_t i = 0; i < model->graph->n_nodes; i++) {
        lens_node *nd = &model->graph->nodes[i];
        if (!nd->dead && !strcmp(nd->op_type, s->op)) {
            nd->fused_act = s->fused_act;
            nd->fused_alpha = s->alpha;
            nd->fused_beta = s->beta;
        }
    }
    lens_session_options so = {s->threads ? s->threads : 1, 0};
    lens_session *sess = NULL;
    if (lens_session_create(model, &so, &sess) != LENS_OK) {
        r.open = LENS_STATUS_INTERNAL;
        lens_model_free(model);
        free(m.p);
        return r;
    }
    lens_tensor in[4];
    size_t n = 0;
    for (int32_t i = 0; i < s->n_in; i++) {
        if (!s->in[i].name || s->in[i].init) continue;
        lens_tensor t = {LENS_DTYPE_FLOAT, s->in[i].ndim, {0}, (void *)s->in[i].data};
        memcpy(t.dims, s->in[i].dims, sizeof s->in[i].dims);
        in[n++] = t;
    }
    for (int rep = 0; rep < 2; rep++) {
        r.run = lens_session_run(sess, n, in);
        if (r.run != LENS_OK) break;
        lens_tensor y;
        if (lens_session_output(sess, 0, &y) != LENS_OK || y.dtype != LENS_DTYPE_FLOAT) {
            r.run = LENS_STATUS_INTERNAL;
            break;
        }
        r.ndim = y.ndim;
        memcpy(r.dims, y.dims, sizeof r.dims);
        r.n = (size_t)lens_tensor_numel(&y);
        free(r.y);
        r.y = malloc((r.n ? r.n : 1) * sizeof(float));
        memcpy(r.y, y.data, r.n * sizeof(float));
    }
    lens_session_free(sess);
    lens_model_free(model);
    free(m.p);
    return r;
}

/* NCHW [N,C,H,W] <-> NHWC [N,H,W,C] */
static float *to_nhwc(const float *x, int64_t N, int64_t C, int64_t H, int64_t W) {
    float *y = malloc((size_t)(N * C * H * W) * sizeof *y + 4);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < H * W; i++) y[(n * H * W + i) * C + c] = x[(n * C + c) * H * W + i];
    return y;
}
static float *to_nchw(const float *x, int64_t N, int64_t H, int64_t W, int64_t C) {
    float *y = malloc((size_t)(N * C * H * W) * sizeof *y + 4);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < H * W; i++) y[(n * C + c) * H * W + i] = x[(n * H * W + i) * C + c];
    return y;
}

static bool close_enough(float got, float want, float tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabsf(got - want) <= tol * (1.0f + fabsf(want));
}

/* ---- ConvNhwc against Conv ------------------------------------------------- */

typedef struct conv_case {
    const char *what;
    int64_t N, C, H, W, M, KH, KW;
    int64_t s[2], d[2], p[4];
    bool dw, bias, res;
    int32_t act;
    float alpha, beta;
    const char *auto_pad;
} conv_case;

static int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static void set_conv_attrs(nm_spec *s, const conv_case *c, int64_t *ks, int64_t *group) {
    ks[0] = c->KH, ks[1] = c->KW;
    *group = c->dw ? c->C : 1;
    int a = 0;
    s->attr[a++] = (onm_attr){"kernel_shape", 7, 0, NULL, ks, 2};
    s->attr[a++] = (onm_attr){"strides", 7, 0, NULL, c->s, 2};
    s->attr[a++] = (onm_attr){"dilations", 7, 0, NULL, c->d, 2};
    if (c->auto_pad) s->attr[a++] = (onm_attr){"auto_pad", 3, 0, c->auto_pad, NULL, 0};
    else s->attr[a++] = (onm_attr){"pads", 7, 0, NULL, c->p, 4};
    s->attr[a++] = (onm_attr){"group", 2, *group, NULL, NULL, 0};
}

static void conv_check(const conv_case *c) {
    int64_t OH, OW;
    if (c->auto_pad) {
        OH = (c->H + c->s[0] - 1) / c->s[0];
        OW = (c->W + c->s[1] - 1) / c->s[1];
    } else {
        OH = conv_out(c->H, c->KH, c->s[0], c->d[0], c->p[0], c->p[2]);
        OW = conv_out(c->W, c->KW, c->s[1], c->d[1], c->p[1], c->p[3]);
    }
    int64_t cg = c->dw ? 1 : c->C, K = cg * c->KH * c->KW;
    size_t nx = (size_t)(c->N * c->C * c->H * c->W), nw = (size_t)(c->M * K), ny = (size_t)(c->N * c->M * OH * OW);
    float *x = frand_n(nx, 1.0f), *w = frand_n(nw, 1.0f / sqrtf((float)K)), *b = frand_n((size_t)c->M, 0.5f);
    float *r = frand_n(ny, 1.0f);
    float *xt = to_nhwc(x, c->N, c->C, c->H, c->W), *rt = to_nhwc(r, c->N, c->M, OH, OW);
    int64_t ks[2], group;
    /* NCHW reference: Conv with the same fused epilogue */
    nm_spec ref = {"Conv", NULL, 4, {{"x", 4, {c->N, c->C, c->H, c->W}, x, false},
                                     {"w", 4, {c->M, cg, c->KH, c->KW}, w, true},
                                     {c->bias ? "b" : NULL, 1, {c->M}, b, true},
                                     {c->res ? "r" : NULL, 4, {c->N, c->M, OH, OW}, r, false}}};
    ref.fused_act = c->act, ref.alpha = c->alpha, ref.beta = c->beta;
    set_conv_attrs(&ref, c, ks, &group);
    if (!c->res) ref.n_in = 3;
    nm_result want = nm_run(&ref);
    CHECK(want.open == LENS_OK && want.run == LENS_OK, "%s: NCHW Conv failed: %s", c->what, lens_last_error());
    nm_spec sp = {"ConvNhwc", "lens", 4, {{"x", 4, {c->N, c->H, c->W, c->C}, xt, false},
                                          {"w", 4, {c->M, cg, c->KH, c->KW}, w, true},
                                          {c->bias ? "b" : NULL, 1, {c->M}, b, true},
                                          {c->res ? "r" : NULL, 4, {c->N, OH, OW, c->M}, rt, false}}};
    sp.fused_act = c->act, sp.alpha = c->alpha, sp.beta = c->beta;
    set_conv_attrs(&sp, c, ks, &group);
    if (!c->res) sp.n_in = 3;
    nm_result got[2];
    for (int t = 0; t < 2; t++) {
        sp.threads = t + 1;
        got[t] = nm_run(&sp);
        CHECK(got[t].open == LENS_OK && got[t].run == LENS_OK, "%s: ConvNhwc (%d threads) failed: %s", c->what,
              t + 1, lens_last_error());
    }
    if (want.y && got[0].y && got[1].y) {
        CHECK(got[0].ndim == 4 && got[0].dims[0] == c->N && got[0].dims[1] == OH && got[0].dims[2] == OW &&
                  got[0].dims[3] == c->M,
              "%s: output shape", c->what);
        CHECK(want.n == ny && got[0].n == ny && got[1].n == ny, "%s: output sizes", c->what);
        if (got[0].n == ny && want.n == ny) {
            float *g = to_nchw(got[0].y, c->N, OH, OW, c->M);
            int bad = 0;
            for (size_t i = 0; i < ny && bad < 5; i++)
                if (!close_enough(g[i], want.y[i], 2e-4f)) {
                    bad++;
                    CHECK(0, "%s: y[%zu] = %.7g, NCHW Conv %.7g", c->what, i, g[i], want.y[i]);
                }
            free(g);
            CHECK(!memcmp(got[0].y, got[1].y, ny * sizeof(float)), "%s: 1 and 2 threads differ", c->what);
        }
    }
    free(want.y), free(got[0].y), free(got[1].y);
    free(x), free(w), free(b), free(r), free(xt), free(rt);
}

static void test_conv_ops(void) {
    const conv_case cases[] = {
        {"1x1", 2, 24, 9, 7, 40, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, false, true, false, 0, 0, 0, NULL},
        {"1x1 wide", 1, 64, 14, 14, 100, 1, 1, {1, 1}, {1, 1}, {0}, false, true, true, LENS_ACT_RELU, 0, 0, NULL},
        {"1x1 s2", 1, 32, 15, 15, 48, 1, 1, {2, 2}, {1, 1}, {0}, false, false, false, 0, 0, 0, NULL},
        {"3x3 p1", 2, 17, 11, 13, 33, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, false, true, false, 0, 0, 0, NULL},
        {"3x3 s2", 1, 32, 15, 13, 64, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, true, true, LENS_ACT_CLIP, 0, 6, NULL},
        {"5x5 p2", 1, 8, 10, 9, 20, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, false, true, false, 0, 0, 0, NULL},
        {"7x7 s2 stem", 1, 3, 23, 21, 20, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, false, true, false, LENS_ACT_RELU, 0, 0, NULL},
        {"3x3 dil2", 1, 16, 12, 12, 16, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}, false, true, false, 0, 0, 0, NULL},
        {"3x1 asym pads", 2, 5, 6, 8, 7, 3, 1, {1, 2}, {1, 1}, {0, 1, 2, 0}, false, false, false, 0, 0, 0, NULL},
        {"3x3 SAME_UPPER s2", 1, 12, 9, 10, 18, 3, 3, {2, 2}, {1, 1}, {0}, false, true, false, 0, 0, 0, "SAME_UPPER"},
        {"2x2 SAME_LOWER", 1, 6, 7, 7, 9, 2, 2, {1, 1}, {1, 1}, {0}, false, true, false, 0, 0, 0, "SAME_LOWER"},
        {"1x1 VALID", 1, 6, 4, 4, 9, 1, 1, {1, 1}, {1, 1}, {0}, false, true, false, 0, 0, 0, "VALID"},
        {"dw 3x3", 2, 37, 9, 11, 37, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, true, true, LENS_ACT_CLIP, 0, 6, NULL},
        {"dw 3x3 s2", 1, 144, 28, 28, 144, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, true, true, false, 0, 0, 0, NULL},
        {"dw 5x5 s2", 1, 40, 13, 13, 40, 5, 5, {2, 2}, {1, 1}, {2, 2, 2, 2}, true, true, false, LENS_ACT_HARDSWISH, 0, 0, NULL},
        {"dw 7x7 small map", 1, 200, 3, 3, 200, 7, 7, {1, 1}, {1, 1}, {3, 3, 3, 3}, true, false, false, 0, 0, 0, NULL},
        {"dw 3x3 dil2", 1, 16, 9, 9, 16, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}, true, true, false, 0, 0, 0, NULL},
        {"dw 1 channel", 1, 1, 5, 5, 1, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, true, true, 0, 0, 0, NULL},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(cases); i++) conv_check(&cases[i]);
    /* each fused activation, dense and depthwise */
    static const struct { int32_t act; float alpha, beta; const char *name; } acts[] = {
        {LENS_ACT_RELU, 0, 0, "relu"},         {LENS_ACT_CLIP, -0.5f, 0.7f, "clip"},
        {LENS_ACT_SIGMOID, 0, 0, "sigmoid"},   {LENS_ACT_HARDSIGMOID, 0.2f, 0.5f, "hardsigmoid"},
        {LENS_ACT_HARDSWISH, 0, 0, "hardswish"}, {LENS_ACT_SILU, 0, 0, "silu"},
        {LENS_ACT_LEAKYRELU, 0.1f, 0, "leakyrelu"}, {LENS_ACT_TANH, 0, 0, "tanh"},
        {LENS_ACT_GELU, 0, 0, "gelu"},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(acts); i++) {
        char what[64];
        snprintf(what, sizeof what, "3x3 %s", acts[i].name);
        conv_case c = {what, 1, 19, 7, 6, 35, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, false, true, true,
                       acts[i].act, acts[i].alpha, acts[i].beta, NULL};
        conv_check(&c);
        snprintf(what, sizeof what, "dw %s", acts[i].name);
        conv_case d = {what, 1, 21, 6, 7, 21, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, true, true,
                       acts[i].act, acts[i].alpha, acts[i].beta, NULL};
        conv_check(&d);
    }
}

/* ---- pools against MaxPool / AveragePool / GlobalAveragePool ---------------- */

typedef struct pool_case {
    const char *what, *op;
    int64_t N, C, H, W, k[2], s[2], d[2], p[4];
    int64_t ceil, include_pad;
    bool nan;
} pool_case;

static void pool_check(const pool_case *c) {
    size_t nx = (size_t)(c->N * c->C * c->H * c->W);
    float *x = frand_n(nx, 2.0f);
    if (c->nan)
        for (size_t i = 0; i < nx; i += 7) x[i] = NAN;
    float *xt = to_nhwc(x, c->N, c->C, c->H, c->W);
    bool global = !strcmp(c->op, "GlobalAveragePool"), max = !strcmp(c->op, "MaxPool");
    nm_spec ref = {c->op, NULL, 1, {{"x", 4, {c->N, c->C, c->H, c->W}, x, false}}};
    char nop[64];
    snprintf(nop, sizeof nop, "%sNhwc", c->op);
    nm_spec sp = {nop, "lens", 1, {{"x", 4, {c->N, c->H, c->W, c->C}, xt, false}}};
    if (!global) {
        onm_attr at[6];
        int a = 0;
        at[a++] = (onm_attr){"kernel_shape", 7, 0, NULL, c->k, 2};
        at[a++] = (onm_attr){"strides", 7, 0, NULL, c->s, 2};
        at[a++] = (onm_attr){"pads", 7, 0, NULL, c->p, 4};
        at[a++] = (onm_attr){"ceil_mode", 2, c->ceil, NULL, NULL, 0};
        if (max) at[a++] = (onm_attr){"dilations", 7, 0, NULL, c->d, 2};
        else at[a++] = (onm_attr){"count_include_pad", 2, c->include_pad, NULL, NULL, 0};
        for (int i = 0; i < a; i++) ref.attr[i] = sp.attr[i] = at[i];
    }
    nm_result want = nm_run(&ref);
    CHECK(want.open == LENS_OK && want.run == LENS_OK, "%s: NCHW %s failed: %s", c->what, c->op, lens_last_error());
    nm_result got[2];
    for (int t = 0; t < 2; t++) {
        sp.threads = t + 1;
        got[t] = nm_run(&sp);
        CHECK(got[t].open == LENS_OK && got[t].run == LENS_OK, "%s: %s (%d threads) failed: %s", c->what, nop,
              t + 1, lens_last_error());
    }
    if (want.y && got[0].y && got[1].y && want.ndim == 4) {
        int64_t OH = want.dims[2], OW = want.dims[3];
        CHECK(got[0].ndim == 4 && got[0].dims[1] == OH && got[0].dims[2] == OW && got[0].dims[3] == c->C,
              "%s: output shape", c->what);
        if (got[0].n == want.n && got[1].n == want.n) {
            float *g = to_nchw(got[0].y, c->N, OH, OW, c->C);
            int bad = 0;
            for (size_t i = 0; i < want.n && bad < 5; i++)
                if (!close_enough(g[i], want.y[i], 1e-5f)) {
                    bad++;
                    CHECK(0, "%s: y[%zu] = %.7g, NCHW %.7g", c->what, i, g[i], want.y[i]);
                }
            free(g);
            CHECK(!memcmp(got[0].y, got[1].y, want.n * sizeof(float)), "%s: 1 and 2 threads differ", c->what);
        }
    }
    free(want.y), free(got[0].y), free(got[1].y), free(x), free(xt);
}

static void test_pool_ops(void) {
    const pool_case cases[] = {
        {"max 3x3/2 p1", "MaxPool", 2, 64, 16, 15, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0, 0, false},
        {"max 5x5/1 p2", "MaxPool", 1, 19, 9, 9, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, 0, 0, false},
        {"max ceil", "MaxPool", 1, 17, 10, 11, {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1, 0, false},
        {"max dil2 asym", "MaxPool", 1, 33, 12, 9, {2, 3}, {1, 2}, {2, 1}, {1, 0, 0, 2}, 0, 0, false},
        {"max NaN", "MaxPool", 1, 20, 8, 8, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0, 0, true},
        {"max 2x2/2", "MaxPool", 1, 40, 9, 9, {2, 2}, {2, 2}, {1, 1}, {0}, 1, 0, false},
        {"avg 3x3/2 p1", "AveragePool", 2, 24, 13, 12, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0, 0, false},
        {"avg include_pad", "AveragePool", 1, 24, 13, 12, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0, 1, false},
        {"avg ceil include_pad", "AveragePool", 1, 9, 10, 10, {3, 3}, {2, 2}, {1, 1}, {1, 0, 1, 0}, 1, 1, false},
        {"avg ceil", "AveragePool", 1, 9, 10, 11, {2, 3}, {2, 2}, {1, 1}, {0, 1, 0, 1}, 1, 0, false},
        {"gap", "GlobalAveragePool", 2, 37, 7, 9, {0}, {0}, {0}, {0}, 0, 0, false},
        {"gap 1 pixel", "GlobalAveragePool", 1, 1280, 1, 1, {0}, {0}, {0}, {0}, 0, 0, false},
        {"gap wide", "GlobalAveragePool", 1, 960, 7, 7, {0}, {0}, {0}, {0}, 0, 0, false},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(cases); i++) pool_check(&cases[i]);
}

/* ---- hostile models ---------------------------------------------------------- */

static void expect_fail(const char *what, nm_spec *s) {
    nm_result r = nm_run(s);
    CHECK(r.open != LENS_OK || r.run != LENS_OK, "%s: accepted", what);
    free(r.y);
}

static void test_hostile(void) {
    float x[2 * 5 * 5 * 4], w[8 * 4 * 3 * 3], b[8], r[200];
    for (size_t i = 0; i < LENS_ARRAY_LEN(x); i++) x[i] = frand();
    for (size_t i = 0; i < LENS_ARRAY_LEN(w); i++) w[i] = frand();
    for (size_t i = 0; i < LENS_ARRAY_LEN(b); i++) b[i] = frand();
    for (size_t i = 0; i < LENS_ARRAY_LEN(r); i++) r[i] = frand();
    int64_t k3[2] = {3, 3}, k5[2] = {5, 5}, s1[2] = {1, 1}, s0[2] = {0, 1}, sbig[2] = {1, (int64_t)1 << 40};
    int64_t p1[4] = {1, 1, 1, 1}, pneg[4] = {-1, 0, 0, 0}, p3[3] = {1, 1, 1};
    int64_t d1[2] = {1, 1};
    nm_spec base = {"ConvNhwc", "lens", 2, {{"x", 4, {2, 5, 5, 4}, x, false}, {"w", 4, {8, 4, 3, 3}, w, true}}};
    base.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k3, 2};
    base.attr[1] = (onm_attr){"pads", 7, 0, NULL, p1, 4};
    {
        nm_result ok = nm_run(&base);
        CHECK(ok.open == LENS_OK && ok.run == LENS_OK, "hostile base case fails: %s", lens_last_error());
        free(ok.y);
    }
    nm_spec s;
    s = base, s.in[1].init = false, expect_fail("W not constant", &s);
    s = base, s.attr[0].ints = k5, expect_fail("kernel_shape differs from W", &s);
    s = base, s.attr[2] = (onm_attr){"strides", 7, 0, NULL, s0, 2}, expect_fail("stride 0", &s);
    s = base, s.attr[2] = (onm_attr){"strides", 7, 0, NULL, sbig, 2}, expect_fail("stride 2^40", &s);
    s = base, s.attr[1].ints = pneg, expect_fail("negative pad", &s);
    s = base, s.attr[1] = (onm_attr){"pads", 7, 0, NULL, p3, 3}, expect_fail("3 pads", &s);
    s = base, s.attr[2] = (onm_attr){"dilations", 7, 0, NULL, d1, 1}, expect_fail("1 dilation", &s);
    s = base, s.attr[2] = (onm_attr){"auto_pad", 3, 0, "SAME_MIDDLE", NULL, 0}, expect_fail("bad auto_pad", &s);
    s = base, s.attr[2] = (onm_attr){"group", 2, 2, NULL, NULL, 0}, expect_fail("group 2", &s);
    s = base, s.attr[2] = (onm_attr){"group", 2, 0, NULL, NULL, 0}, expect_fail("group 0", &s);
    s = base, s.in[0].dims[3] = 3, expect_fail("X channels differ from W", &s);
    s = base, s.in[0].ndim = 3, s.in[0].dims[2] = 20, expect_fail("X rank 3", &s);
    s = base, s.in[0].dims[1] = 1, s.in[0].dims[2] = 25, s.attr[1].name = NULL,
    expect_fail("kernel exceeds input", &s);
    s = base, s.in[1].ndim = 3, s.in[1].dims[0] = 8, s.in[1].dims[1] = 4, s.in[1].dims[2] = 9,
    s.attr[0].name = NULL, s.attr[1].name = NULL, expect_fail("W rank 3", &s);
    s = base, s.n_in = 3, s.in[2] = (nm_tensor){"b", 1, {7}, b, true}, expect_fail("B of 7", &s);
    s = base, s.n_in = 4, s.in[2] = (nm_tensor){NULL}, s.in[3] = (nm_tensor){"r", 4, {2, 5, 5, 4}, r, false},
    expect_fail("residual shape", &s);
    /* channel limit: W with 8193 input channels (1x1) */
    {
        size_t big = LENS_NHWC_ZERO_FLOATS + 1;
        float *wb = calloc(big, sizeof(float)), *xb = calloc(big, sizeof(float));
        nm_spec bs = {"ConvNhwc", "lens", 2, {{"x", 4, {1, 1, 1, (int64_t)big}, xb, false},
                                              {"w", 4, {1, (int64_t)big, 1, 1}, wb, true}}};
        expect_fail("8193 channels", &bs);
        free(wb), free(xb);
    }
    /* pools */
    nm_spec pb = {"MaxPoolNhwc", "lens", 1, {{"x", 4, {2, 5, 5, 4}, x, false}}};
    s = pb, expect_fail("MaxPool without kernel_shape", &s);
    s = pb, s.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k3, 2}, s.attr[1] = (onm_attr){"ceil_mode", 2, 7, NULL, NULL, 0},
    expect_fail("ceil_mode 7", &s);
    s = pb, s.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k5, 2}, s.attr[1] = (onm_attr){"strides", 7, 0, NULL, s0, 2},
    expect_fail("pool stride 0", &s);
    s = pb, s.op = "AveragePoolNhwc", s.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k3, 2},
    s.attr[1] = (onm_attr){"dilations", 7, 0, NULL, s1, 2}, expect_fail("AveragePool dilations", &s);
    s = pb, s.op = "GlobalAveragePoolNhwc", s.in[0].ndim = 3, s.in[0].dims[2] = 20, expect_fail("GAP rank 3", &s);
    s = pb, s.op = "MaxPoolNhwc", s.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k5, 2}, s.in[0].dims[1] = 2,
    s.in[0].dims[2] = 25, expect_fail("pool window exceeds input", &s);
}

/* ---- eligibility predicates ----------------------------------------------------- */

static bool eligible_of(nm_spec *s, bool pool) {
    onm_buf m = nm_build(s);
    lens_model *model = NULL;
    bool e = false;
    if (lens_model_open_memory(m.p, m.n, NULL, &model) == LENS_OK) {
        for (int32_t i = 0; i < model->graph->n_nodes; i++) {
            lens_node *nd = &model->graph->nodes[i];
            if (nd->dead || strcmp(nd->op_type, s->op)) continue;
            e = pool ? lens_pool_nhwc_eligible(model->graph, nd) : lens_conv_nhwc_eligible(model->graph, nd);
        }
        lens_model_free(model);
    }
    free(m.p);
    return e;
}

static bool preferred_of(nm_spec *s) {
    onm_buf m = nm_build(s);
    lens_model *model = NULL;
    bool e = false;
    if (lens_model_open_memory(m.p, m.n, NULL, &model) == LENS_OK) {
        for (int32_t i = 0; i < model->graph->n_nodes; i++) {
            lens_node *nd = &model->graph->nodes[i];
            if (!nd->dead && !strcmp(nd->op_type, s->op)) e = lens_conv_nhwc_preferred(model->graph, nd);
        }
        lens_model_free(model);
    }
    free(m.p);
    return e;
}

static void test_eligible(void) {
    size_t nv;
    if (lens_f32_nhwc_best() == &lens_f32_nhwc_variants(&nv)[0]) {
        /* reference kernels only: nothing is eligible (checked on one) */
        static float x1[16], w1[4];
        nm_spec c1 = {"Conv", NULL, 2, {{"x", 4, {1, 4, 2, 2}, x1, false}, {"w", 4, {1, 4, 1, 1}, w1, true}}};
        CHECK(!eligible_of(&c1, false), "Conv eligible without SIMD kernels");
        return;
    }
    static float x[1 * 8 * 6 * 6], w[16 * 8 * 3 * 3], wd[8 * 9];
    int64_t k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1};
    nm_spec c = {"Conv", NULL, 2, {{"x", 4, {1, 8, 6, 6}, x, false}, {"w", 4, {16, 8, 3, 3}, w, true}}};
    c.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k3, 2};
    c.attr[1] = (onm_attr){"pads", 7, 0, NULL, p1, 4};
    nm_spec s = c;
    CHECK(eligible_of(&s, false), "dense 3x3 Conv not eligible");
    {
        /* 3x3 stride 1 with 16+ channels: Winograd in NCHW, not preferred;
         * stride 2 preferred */
        static float xw[1 * 16 * 6 * 6], ww[16 * 16 * 3 * 3];
        int64_t s2[2] = {2, 2};
        nm_spec q = {"Conv", NULL, 2, {{"x", 4, {1, 16, 6, 6}, xw, false}, {"w", 4, {16, 16, 3, 3}, ww, true}}};
        q.attr[0] = c.attr[0], q.attr[1] = c.attr[1];
        CHECK(eligible_of(&q, false) && !preferred_of(&q), "Winograd-sized 3x3 preferred in NHWC");
        q.attr[2] = (onm_attr){"strides", 7, 0, NULL, s2, 2};
        CHECK(preferred_of(&q), "3x3 stride 2 not preferred in NHWC");
        int64_t d12[2] = {12, 12}, p12[4] = {12, 12, 12, 12};
        q.attr[1] = (onm_attr){"pads", 7, 0, NULL, p12, 4};
        q.attr[2] = (onm_attr){"dilations", 7, 0, NULL, d12, 2};
        CHECK(eligible_of(&q, false) && !preferred_of(&q), "dilation-12 3x3 preferred in NHWC");
    }
    s = c, s.in[1].init = false;
    CHECK(!eligible_of(&s, false), "Conv with non-constant W eligible");
    s = c, s.in[1] = (nm_tensor){"w", 4, {8, 1, 3, 3}, wd, true}, s.attr[2] = (onm_attr){"group", 2, 8, NULL, NULL, 0};
    CHECK(eligible_of(&s, false), "depthwise Conv not eligible");
    s = c, s.in[1] = (nm_tensor){"w", 4, {8, 4, 3, 3}, w, true}, s.attr[2] = (onm_attr){"group", 2, 2, NULL, NULL, 0};
    CHECK(!eligible_of(&s, false), "grouped Conv eligible");
    s = c, s.in[0].ndim = 3;
    s.in[1].ndim = 3, s.attr[0].n = 1, s.attr[1].n = 2;
    CHECK(!eligible_of(&s, false), "1-D Conv eligible");
    nm_spec p = {"MaxPool", NULL, 1, {{"x", 4, {1, 8, 6, 6}, x, false}}};
    p.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k3, 2};
    CHECK(eligible_of(&p, true), "MaxPool not eligible");
    p.op = "AveragePool";
    CHECK(eligible_of(&p, true), "AveragePool not eligible");
    nm_spec gp = {"GlobalAveragePool", NULL, 1, {{"x", 4, {1, 8, 6, 6}, x, false}}};
    CHECK(eligible_of(&gp, true), "GlobalAveragePool not eligible");
    gp.op = "GlobalMaxPool";
    CHECK(!eligible_of(&gp, true), "GlobalMaxPool eligible");
}

/* ---- weights held once ---------------------------------------------------------- */

/* ConvNhwc marks W packed: after open the model holds only the packed form
 * (W's data released). */
static void test_weights_released(void) {
    static float x[2 * 6 * 5 * 8], w[24 * 8 * 3 * 3], b[24];
    for (size_t i = 0; i < LENS_ARRAY_LEN(x); i++) x[i] = frand();
    for (size_t i = 0; i < LENS_ARRAY_LEN(w); i++) w[i] = frand() * 0.2f;
    for (size_t i = 0; i < LENS_ARRAY_LEN(b); i++) b[i] = frand();
    int64_t k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1};
    nm_spec s = {"ConvNhwc", "lens", 3, {{"x", 4, {2, 6, 5, 8}, x, false}, {"w", 4, {24, 8, 3, 3}, w, true},
                                          {"b", 1, {24}, b, true}}};
    s.attr[0] = (onm_attr){"kernel_shape", 7, 0, NULL, k3, 2};
    s.attr[1] = (onm_attr){"pads", 7, 0, NULL, p1, 4};
    onm_buf m = nm_build(&s);
    lens_model *model = NULL;
    CHECK(lens_model_open_memory(m.p, m.n, NULL, &model) == LENS_OK, "open: %s", lens_last_error());
    if (model) {
        lens_weight_stats ws;
        lens_model_weight_stats(model, &ws);
        CHECK(ws.released_bytes == sizeof w, "released %zu bytes, W is %zu", ws.released_bytes, sizeof w);
        CHECK(ws.packed_bytes >= sizeof w, "packed %zu bytes", ws.packed_bytes);
        lens_model_free(model);
    }
    free(m.p);
    /* that runs then read only the packed form is what every conv_check
     * above tests: W is an initializer there, released at load too */
}

/* ---- kernels: every variant against the reference --------------------------- */

static const lens_act_params g_acts[] = {
    {LENS_ACT_NONE, 0, 0},      {LENS_ACT_RELU, 0, 0},        {LENS_ACT_CLIP, -0.3f, 0.4f},
    {LENS_ACT_SIGMOID, 0, 0},   {LENS_ACT_HARDSIGMOID, 0.2f, 0.5f}, {LENS_ACT_HARDSWISH, 0, 0},
    {LENS_ACT_SILU, 0, 0},      {LENS_ACT_LEAKYRELU, 0.1f, 0}, {LENS_ACT_TANH, 0, 0},
    {LENS_ACT_GELU, 0, 0},
};

/* One igemm tile of variant v against a plain double-precision sum. */
static void igemm_case(const lens_f32_nhwc_variant *v, size_t mr, size_t nc, size_t kc, size_t ks,
                       const lens_act_params *act, bool bias, bool res) {
    size_t MR = v->mr, NR = v->nr, M = nc;
    float *rows = frand_n(MR * ks * kc + 1, 1.0f);
    float *W = frand_n(M * kc * ks, 1.0f / sqrtf((float)(kc * ks)));
    float *wp = calloc(lens_nhwc_packed_floats(M, kc, ks, NR) + 1, sizeof(float));
    lens_nhwc_pack_weights(W, M, kc, 1, ks, NR, wp);
    const float **a = malloc(ks * MR * sizeof *a);
    const float *zero = lens_nhwc_zero_row();
    for (size_t t = 0; t < ks; t++)
        for (size_t i = 0; i < MR; i++) {
            size_t ii = i < mr ? i : mr - 1;
            /* every 5th tap of a pixel is padding, and tap 1 of every
             * pixel (a tap the SIMD kernels skip) */
            a[t * MR + i] = (t + ii) % 5 == 4 || t == 1 ? zero : rows + (ii * ks + t) * kc;
        }
    size_t ldc = nc + 3, ldr = nc + 5;
    float *c = malloc((MR * ldc + 1) * sizeof(float)), *bv = frand_n(nc, 1.0f), *rv = frand_n(MR * ldr, 1.0f);
    for (size_t i = 0; i < MR * ldc; i++) c[i] = 1234.5f;
    v->igemm(mr, nc, kc, ks, a, wp, c, ldc, bias ? bv : NULL, res ? rv : NULL, ldr, act);
    int bad = 0;
    for (size_t i = 0; i < MR && bad < 3; i++)
        for (size_t n = 0; n < ldc && bad < 3; n++) {
            float got = c[i * ldc + n];
            if (i >= mr || n >= nc) {
                if (got != 1234.5f) {
                    bad++;
                    CHECK(0, "%s igemm mr %zu nc %zu kc %zu ks %zu: wrote c[%zu][%zu]", v->name, mr, nc, kc, ks, i, n);
                }
                continue;
            }
            double s = 0;
            for (size_t t = 0; t < ks; t++)
                for (size_t k = 0; k < kc; k++) s += (double)a[t * MR + i][k] * W[(n * kc + k) * ks + t];
            if (bias) s += bv[n];
            if (res) s += rv[i * ldr + n];
            float want = (float)s;
            if (act) lens_f32_act__ref(act, &want, 1);
            if (!close_enough(got, want, 1e-4f)) {
                bad++;
                CHECK(0, "%s igemm mr %zu nc %zu kc %zu ks %zu act %d: c[%zu][%zu] = %.7g, want %.7g", v->name,
                      mr, nc, kc, ks, act ? act->act : 0, i, n, got, want);
            }
        }
    g_checks++;
    free(rows), free(W), free(wp), free(a), free(c), free(bv), free(rv);
}

static void test_igemm_kernels(void) {
    size_t nv;
    const lens_f32_nhwc_variant *vs = lens_f32_nhwc_variants(&nv);
    for (size_t vi = 0; vi < nv; vi++) {
        const lens_f32_nhwc_variant *v = &vs[vi];
        if (!v->supported(lens_cpu_features())) continue;
        static const size_t kcs[] = {1, 3, 16, 17, 40};
        static const size_t kss[] = {1, 9, 25};
        for (size_t mr = 1; mr <= v->mr; mr++)
            for (size_t nc = 1; nc <= v->nr; nc += (nc < 18 || nc + 2 > v->nr) ? 1 : 7)
                igemm_case(v, mr, nc, 17, 9, NULL, true, false);
        for (size_t k = 0; k < LENS_ARRAY_LEN(kcs); k++)
            for (size_t s = 0; s < LENS_ARRAY_LEN(kss); s++)
                for (int br = 0; br < 4; br++) {
                    igemm_case(v, v->mr, v->nr, kcs[k], kss[s], NULL, br & 1, br & 2);
                    igemm_case(v, 1, v->nr - 1 ? v->nr - 1 : 1, kcs[k], kss[s], NULL, br & 1, br & 2);
                }
        for (size_t ai = 0; ai < LENS_ARRAY_LEN(g_acts); ai++)
            for (int r = 0; r < 2; r++) {
                igemm_case(v, v->mr, v->nr, 19, 9, &g_acts[ai], true, r);
                igemm_case(v, v->mr - (v->mr > 1), 5, 19, 1, &g_acts[ai], true, r);
            }
    }
}

/* Depthwise and pool kernels of variant v against the reference. */
static void dw_case(const lens_f32_nhwc_variant *v, size_t Ctot, size_t c0, size_t C, size_t npix, size_t ks,
                    const lens_act_params *act, bool bias, bool res) {
    float *rows = frand_n(npix * ks * Ctot + 16, 2.0f);
    float *W = frand_n(Ctot * ks, 0.5f);
    size_t cpad = lens_nhwc_dw_cpad(Ctot);
    float *wp = malloc(ks * cpad * sizeof(float));
    lens_nhwc_pack_dw_weights(W, Ctot, 1, ks, wp);
    const float **a = malloc(npix * ks * sizeof *a);
    for (size_t p = 0; p < npix; p++)
        for (size_t t = 0; t < ks; t++)
            a[p * ks + t] = (p + t) % 4 == 3 ? lens_nhwc_zero_row() : rows + (p * ks + t) * Ctot;
    size_t ld = Ctot + 3;
    float *bv = frand_n(Ctot, 1.0f), *rv = frand_n(npix * ld, 1.0f);
    float *y0 = malloc((npix * ld + 1) * sizeof(float)), *y1 = malloc((npix * ld + 1) * sizeof(float));
    for (size_t i = 0; i < npix * ld; i++) y0[i] = y1[i] = 777.0f;
    size_t nv;
    const lens_f32_nhwc_variant *ref = &lens_f32_nhwc_variants(&nv)[0];
    ref->dwconv(C, npix, ks, a, c0, wp + c0, cpad, bias ? bv + c0 : NULL, y0 + c0, ld, res ? rv + c0 : NULL, ld, act);
    v->dwconv(C, npix, ks, a, c0, wp + c0, cpad, bias ? bv + c0 : NULL, y1 + c0, ld, res ? rv + c0 : NULL, ld, act);
    int bad = 0;
    for (size_t i = 0; i < npix * ld && bad < 3; i++)
        if (!close_enough(y1[i], y0[i], 1e-5f)) {
            bad++;
            CHECK(0, "%s dwconv C %zu c0 %zu npix %zu ks %zu act %d: y[%zu] = %.7g, ref %.7g", v->name, C, c0, npix,
                  ks, act ? act->act : 0, i, y1[i], y0[i]);
        }
    /* the rows kernel on the same inputs laid out as image rows (KH x KW =
     * ks x 1 and, when ks = 9 or 25, 3x3 / 5x5 at stride 1 and 2, which
     * takes the register-reuse path): the reference's within tolerance and
     * the variant's own table kernel on the same taps equal (up to the
     * sign of zero) */
    for (int shape = 0; shape < 3; shape++) {
        size_t KW = shape == 0 ? 1 : ks == 9 ? 3 : ks == 25 ? 5 : ks == 49 ? 7 : 1, KH = ks / KW;
        if (shape > 0 && KW == 1) break;
        size_t stride = shape == 2 ? 2 : 1, pst = stride * Ctot, tstep = Ctot;
        size_t rowlen = (npix * stride + KW + 1) * Ctot;
        float *buf = frand_n(KH * rowlen + 16, 2.0f);
        const float **ra = malloc(KH * sizeof *ra), **ta = malloc(npix * ks * sizeof *ta);
        for (size_t ky = 0; ky < KH; ky++) {
            ra[ky] = ky % 3 == 1 && KH > 1 ? NULL : buf + ky * rowlen;
            for (size_t kx = 0; kx < KW; kx++)
                for (size_t p = 0; p < npix; p++)
                    ta[p * ks + ky * KW + kx] = ra[ky] ? ra[ky] + p * pst + kx * tstep : lens_nhwc_zero_row();
        }
        float *y2 = malloc((npix * ld + 1) * sizeof(float));
        for (size_t i = 0; i < npix * ld; i++) y0[i] = y1[i] = y2[i] = 777.0f;
        ref->dwconv_rows(C, npix, KH, KW, ra, pst, tstep, c0, wp + c0, cpad, bias ? bv + c0 : NULL, y0 + c0, ld,
                         res ? rv + c0 : NULL, ld, act);
        v->dwconv_rows(C, npix, KH, KW, ra, pst, tstep, c0, wp + c0, cpad, bias ? bv + c0 : NULL, y1 + c0, ld,
                       res ? rv + c0 : NULL, ld, act);
        v->dwconv(C, npix, ks, ta, c0, wp + c0, cpad, bias ? bv + c0 : NULL, y2 + c0, ld, res ? rv + c0 : NULL, ld,
                  act);
        for (size_t i = 0; i < npix * ld && bad < 3; i++) {
            if (!close_enough(y1[i], y0[i], 1e-5f)) {
                bad++;
                CHECK(0, "%s dwconv_rows %zux%zu/%zu C %zu c0 %zu npix %zu act %d: y[%zu] = %.7g, ref %.7g", v->name,
                      KH, KW, stride, C, c0, npix, act ? act->act : 0, i, y1[i], y0[i]);
            }
            if (!(y1[i] == y2[i])) {
                bad++;
                CHECK(0, "%s dwconv_rows %zux%zu/%zu C %zu npix %zu: y[%zu] = %.9g, table kernel %.9g", v->name, KH,
                      KW, stride, C, npix, i, y1[i], y2[i]);
            }
        }
        free(ra), free(buf), free(ta), free(y2);
    }
    /* pools on the same table */
    float *sc = frand_n(npix, 1.0f);
    for (size_t i = 0; i < npix * ld; i++) y0[i] = y1[i] = 777.0f;
    if (ks > 1) rows[5] = NAN;
    ref->maxpool(C, npix, ks, a, c0, y0 + c0, ld);
    v->maxpool(C, npix, ks, a, c0, y1 + c0, ld);
    for (size_t i = 0; i < npix * ld && bad < 3; i++)
        if (!(y1[i] == y0[i] || (isnan(y1[i]) && isnan(y0[i])))) {
            bad++;
            CHECK(0, "%s maxpool C %zu c0 %zu npix %zu ks %zu: y[%zu] = %.7g, ref %.7g", v->name, C, c0, npix, ks, i,
                  y1[i], y0[i]);
        }
    ref->avgpool(C, npix, ks, a, c0, y0 + c0, ld, sc);
    v->avgpool(C, npix, ks, a, c0, y1 + c0, ld, sc);
    for (size_t i = 0; i < npix * ld && bad < 3; i++)
        if (!close_enough(y1[i], y0[i], 1e-5f)) {
            bad++;
            CHECK(0, "%s avgpool C %zu c0 %zu npix %zu ks %zu: y[%zu] = %.7g, ref %.7g", v->name, C, c0, npix, ks, i,
                  y1[i], y0[i]);
        }
    g_checks++;
    free(rows), free(W), free(wp), free(a), free(bv), free(rv), free(y0), free(y1), free(sc);
}

static void test_dw_kernels(void) {
    size_t nv;
    const lens_f32_nhwc_variant *vs = lens_f32_nhwc_variants(&nv);
    for (size_t vi = 0; vi < nv; vi++) {
        const lens_f32_nhwc_variant *v = &vs[vi];
        if (!v->supported(lens_cpu_features())) continue;
        static const size_t kss[] = {1, 9, 25};
        for (size_t C = 1; C <= 40; C++)
            for (size_t s = 0; s < LENS_ARRAY_LEN(kss); s++) dw_case(v, C, 0, C, 1 + C % 7, kss[s], NULL, true, C & 1);
        for (size_t npix = 1; npix <= 9; npix++) dw_case(v, 72, 16, 40, npix, 9, NULL, npix & 1, npix & 2);
        dw_case(v, 96, 32, 64, 13, 9, NULL, true, true);
        for (size_t npix = 1; npix <= 9; npix++) {
            dw_case(v, 48, 0, 48, npix, 49, NULL, true, false); /* 7x7 */
            dw_case(v, 21, 0, 21, npix, 25, NULL, false, true);
        }
        for (size_t ai = 0; ai < LENS_ARRAY_LEN(g_acts); ai++) {
            dw_case(v, 37, 0, 37, 5, 9, &g_acts[ai], true, true);
            dw_case(v, 64, 16, 33, 3, 25, &g_acts[ai], true, false);
        }
    }
}

/* ---- micro-benchmark (LENS_NHWC_BENCH=1; not run by ctest) ----------------- */

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Median over `runs` of one session run of a one-node model, 1 thread. */
static double time_model(const nm_spec *s, int runs) {
    onm_buf m = nm_build(s);
    lens_model *model = NULL;
    double best = -1;
    if (lens_model_open_memory(m.p, m.n, NULL, &model) == LENS_OK) {
        lens_session_options so = {s->threads ? s->threads : 1, 0};
        lens_session *sess = NULL;
        if (lens_session_create(model, &so, &sess) == LENS_OK) {
            lens_tensor in[4];
            size_t n = 0;
            for (int32_t i = 0; i < s->n_in; i++) {
                if (!s->in[i].name || s->in[i].init) continue;
                lens_tensor t = {LENS_DTYPE_FLOAT, s->in[i].ndim, {0}, (void *)s->in[i].data};
                memcpy(t.dims, s->in[i].dims, sizeof s->in[i].dims);
                in[n++] = t;
            }
            double ts[64];
            runs = runs > 64 ? 64 : runs;
            lens_session_run(sess, n, in);
            for (int r = 0; r < runs; r++) {
                double t0 = now_ms();
                lens_session_run(sess, n, in);
                ts[r] = now_ms() - t0;
            }
            for (int i = 0; i < runs; i++)
                for (int j = i + 1; j < runs; j++)
                    if (ts[j] < ts[i]) {
                        double t = ts[i];
                        ts[i] = ts[j], ts[j] = t;
                    }
            best = ts[runs / 2];
            lens_session_free(sess);
        }
        lens_model_free(model);
    }
    free(m.p);
    return best;
}

static void bench(int threads) {
    /* name, C, H(=W), M, k, stride, depthwise */
    static const struct { const char *name; int64_t C, H, M, k, s; bool dw; } L[] = {
        {"mbv2 dw 3x3 32 @112", 32, 112, 32, 3, 1, true},
        {"mbv2 pw 32->16 @112", 32, 112, 16, 1, 1, false},
        {"mbv2 pw 16->96 @112", 16, 112, 96, 1, 1, false},
        {"mbv2 dw 3x3/2 96 @112", 96, 112, 96, 3, 2, true},
        {"mbv2 pw 96->24 @56", 96, 56, 24, 1, 1, false},
        {"mbv2 pw 24->144 @56", 24, 56, 144, 1, 1, false},
        {"mbv2 dw 3x3 144 @56", 144, 56, 144, 3, 1, true},
        {"mbv2 pw 144->24 @56", 144, 56, 24, 1, 1, false},
        {"mbv2 dw 3x3 192 @28", 192, 28, 192, 3, 1, true},
        {"mbv2 pw 192->32 @28", 192, 28, 32, 1, 1, false},
        {"mbv2 dw 3x3 576 @14", 576, 14, 576, 3, 1, true},
        {"mbv2 pw 576->96 @14", 576, 14, 96, 1, 1, false},
        {"mbv2 pw 960->160 @7", 960, 7, 160, 1, 1, false},
        {"mbv2 pw 320->1280 @7", 320, 7, 1280, 1, 1, false},
        {"mbv3 dw 5x5/2 72 @56", 72, 56, 72, 5, 2, true},
        {"mbv3 dw 5x5 672 @7", 672, 7, 672, 5, 1, true},
        {"effb0 dw 3x3 96 @112", 96, 112, 96, 3, 1, true},
        {"effb0 dw 5x5 240 @28", 240, 28, 240, 5, 1, true},
        {"effb0 pw 40->240 @28", 40, 28, 240, 1, 1, false},
        {"r18 stem 7x7/2 3->64 @224", 3, 224, 64, 7, 2, false},
        {"mbv2 stem 3x3/2 3->32 @224", 3, 224, 32, 3, 2, false},
        {"mbv3 stem 3x3/2 3->16 @224", 3, 224, 16, 3, 2, false},
        {"r18 3x3 64 @56", 64, 56, 64, 3, 1, false},
        {"r18 3x3/2 64->128 @56", 64, 56, 128, 3, 2, false},
        {"r18 3x3 128 @28", 128, 28, 128, 3, 1, false},
        {"r18 3x3 256 @14", 256, 14, 256, 3, 1, false},
        {"r18 3x3 512 @7", 512, 7, 512, 3, 1, false},
        {"r18 1x1/2 128->256 @28", 128, 28, 256, 1, 2, false},
    };
    printf("%-28s %10s %10s %7s   (%d thread%s, median ms)\n", "layer", "NCHW", "NHWC", "ratio", threads,
           threads > 1 ? "s" : "");
    const char *only = getenv("LENS_NHWC_BENCH_ONLY");
    for (size_t i = 0; i < LENS_ARRAY_LEN(L); i++) {
        if (only && !strstr(L[i].name, only)) continue;
        int64_t C = L[i].C, H = L[i].H, M = L[i].M, k = L[i].k, cg = L[i].dw ? 1 : C;
        float *x = frand_n((size_t)(C * H * H), 1.0f), *w = frand_n((size_t)(M * cg * k * k), 0.1f);
        float *b = frand_n((size_t)M, 0.1f);
        int64_t ks[2] = {k, k}, st[2] = {L[i].s, L[i].s}, pd[4] = {k / 2, k / 2, k / 2, k / 2};
        nm_spec a = {"Conv", NULL, 3, {{"x", 4, {1, C, H, H}, x, false}, {"w", 4, {M, cg, k, k}, w, true},
                                       {"b", 1, {M}, b, true}}};
        nm_spec c = {"ConvNhwc", "lens", 3, {{"x", 4, {1, H, H, C}, x, false}, {"w", 4, {M, cg, k, k}, w, true},
                                             {"b", 1, {M}, b, true}}};
        onm_attr at[4] = {{"kernel_shape", 7, 0, NULL, ks, 2}, {"strides", 7, 0, NULL, st, 2},
                          {"pads", 7, 0, NULL, pd, 4}, {"group", 2, L[i].dw ? C : 1, NULL, NULL, 0}};
        for (int j = 0; j < 4; j++) a.attr[j] = c.attr[j] = at[j];
        a.fused_act = c.fused_act = LENS_ACT_RELU;
        a.threads = c.threads = threads;
        int runs = H >= 56 ? 21 : 41;
        double t1 = time_model(&a, runs), t2 = time_model(&c, runs);
        double t3 = time_model(&a, runs), t4 = time_model(&c, runs);
        t1 = t1 < t3 ? t1 : t3, t2 = t2 < t4 ? t2 : t4;
        printf("%-28s %10.4f %10.4f %7.2f\n", L[i].name, t1, t2, t2 / t1);
        fflush(stdout);
        free(x), free(w), free(b);
    }
}

static void bench_pools(int threads) {
    static const struct { const char *name, *op; int64_t C, H, k, s, p; } L[] = {
        {"r18 maxpool 3x3/2 64 @112", "MaxPool", 64, 112, 3, 2, 1},
        {"yolo sppf maxpool 5x5 128 @20", "MaxPool", 128, 20, 5, 1, 2},
        {"avgpool 3x3/1 96 @28", "AveragePool", 96, 28, 3, 1, 1},
        {"gap 1280 @7", "GlobalAveragePool", 1280, 7, 0, 0, 0},
        {"gap 576 @14", "GlobalAveragePool", 576, 14, 0, 0, 0},
    };
    const char *only = getenv("LENS_NHWC_BENCH_ONLY");
    for (size_t i = 0; i < LENS_ARRAY_LEN(L); i++) {
        if (only && !strstr(L[i].name, only)) continue;
        int64_t C = L[i].C, H = L[i].H;
        float *x = frand_n((size_t)(C * H * H), 1.0f);
        int64_t ks[2] = {L[i].k, L[i].k}, st[2] = {L[i].s, L[i].s}, pd[4] = {L[i].p, L[i].p, L[i].p, L[i].p};
        char nop[64];
        snprintf(nop, sizeof nop, "%sNhwc", L[i].op);
        nm_spec a = {L[i].op, NULL, 1, {{"x", 4, {1, C, H, H}, x, false}}};
        nm_spec c = {nop, "lens", 1, {{"x", 4, {1, H, H, C}, x, false}}};
        if (L[i].k) {
            onm_attr at[3] = {{"kernel_shape", 7, 0, NULL, ks, 2}, {"strides", 7, 0, NULL, st, 2},
                              {"pads", 7, 0, NULL, pd, 4}};
            for (int j = 0; j < 3; j++) a.attr[j] = c.attr[j] = at[j];
        }
        a.threads = c.threads = threads;
        double t1 = time_model(&a, 41), t2 = time_model(&c, 41), t3 = time_model(&a, 41), t4 = time_model(&c, 41);
        t1 = t1 < t3 ? t1 : t3, t2 = t2 < t4 ? t2 : t4;
        printf("%-28s %10.4f %10.4f %7.2f\n", L[i].name, t1, t2, t2 / t1);
        fflush(stdout);
        free(x);
    }
}

int main(void) {
    const char *bn = getenv("LENS_NHWC_BENCH");
    if (bn && bn[0] == '1') {
        bench(1);
        bench_pools(1);
        const char *t2 = getenv("LENS_NHWC_BENCH_THREADS");
        if (t2) bench(atoi(t2)), bench_pools(atoi(t2));
        return 0;
    }
    test_igemm_kernels();
    test_dw_kernels();
    test_conv_ops();
    test_pool_ops();
    test_hostile();
    test_eligible();
    test_weights_released();
    size_t nv;
    const lens_f32_nhwc_variant *vs = lens_f32_nhwc_variants(&nv);
    printf("test_conv_nhwc: %d checks, %d failures (variants:", g_checks, g_fail);
    for (size_t i = 0; i < nv; i++) printf(" %s", vs[i].name);
    printf("; chosen %s)\n", lens_f32_nhwc_best()->name);
    return g_fail ? 1 : 0;
}
