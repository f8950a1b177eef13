/* Layout pass: regions of the graph run channels-last (NHWC), kept between
 * layers, with layout changes only at the regions' edges.
 *
 * Layout assignment, not transpose pushing. Every value of the main graph
 * is held in one layout, the one its producer writes: NCHW (the ONNX
 * meaning, "logical") or NHWC (a rank-4 value whose bytes are the logical
 * tensor transposed by [0,2,3,1]). Nodes are visited in topological order:
 *   - an eligible Conv becomes lens.ConvNhwc (lens_conv_nhwc_eligible), its
 *     X and residual read NHWC, its output is NHWC;
 *   - MaxPool / AveragePool / GlobalAveragePool with an NHWC input become
 *     their lens.*Nhwc twins when lens_pool_nhwc_eligible says so;
 *   - layout-agnostic nodes follow their inputs: unary elementwise ops,
 *     Add/Sub/Mul/Div whose activation operands are NHWC (or rank-4 values
 *     that are then converted; a constant operand is replaced by a copy
 *     permuted the same way), Concat / Split / Slice (channel or any axis,
 *     renumbered) when their data input(s) are NHWC;
 *   - a Transpose reading an NHWC value takes the composed permutation, and
 *     one whose composed permutation is the identity disappears (ConvNeXt's
 *     [0,2,3,1] after a depthwise conv, and [0,3,1,2] before its residual);
 *   - everything else (Reshape, Resize, Gemm, subgraph nodes, graph
 *     outputs...) reads NCHW.
 * Where a value's layout differs from what a consumer reads, ONE Transpose
 * per (value, direction) is inserted before the first such consumer and
 * shared by all of them. Two conversions cost nothing: a Shape of an NHWC
 * value becomes Shape + a constant Gather [0,3,1,2] (computed once per input
 * shape by the runtime's shape-subgraph rule), and an NHWC value that is
 * logically [N,C,1,1] (global pooling, then 1x1 convs / unary ops) is read
 * as is by a Flatten (axis <= 1) or a Reshape to a constant shape: both
 * layouts have the same bytes. Graph outputs and values that subgraphs read
 * by name keep their NCHW values: an NHWC producer writes a new value and a
 * Transpose makes the original.
 *
 * Regions (nodes connected through NHWC values) are then weighed: a region
 * whose edge transposes cost more than its convolutions save is undone
 * (its nodes forced back to NCHW) and the assignment runs again. What
 * "more" means depends on the mode (lens_model_options.layout): NHWC keeps
 * every region with a convolution or pooling in it; AUTO applies the
 * measured policy in want_region() below.
 *
 * The pass runs at the end of lens_graph_optimize (after every fusion),
 * before the operators' init; nodes it creates or retypes get their
 * operator resolved here. It never changes what the graph computes, only
 * where the bytes of intermediate values are transposed. */
#include <stdio.h>
#include <stdlib.h>

#include "core/tensor.h"
#include "ops/conv_nhwc.h"
#include "runtime/runtime.h"

enum { L_NCHW = 0, L_NHWC = 1 };

/* NHWC data axis i holds logical (NCHW) axis TO_NHWC[i]; logical axis a is
 * NHWC data axis AXIS_NHWC[a] (the inverse permutation). */
static const int64_t TO_NHWC[4] = {0, 2, 3, 1};
static const int64_t AXIS_NHWC[4] = {0, 3, 1, 2};

typedef enum node_kind {
    K_OTHER = 0,
    K_CONV,
    K_POOL,
    K_UNARY,
    K_BINARY,
    K_CONCAT,
    K_SPLIT,
    K_SLICE,
    K_TRANSPOSE,
} node_kind;

typedef struct lay_ctx {
    lens_graph *g;
    const lens_node *nodes; /* the nodes as they were before the rewrite */
    lens_model_layout mode;
    int64_t opset;    /* the model's ai.onnx opset, for inserted nodes */
    int32_t nn, nv;   /* node and value counts before the rewrite */
    uint8_t *kind;    /* per node: node_kind */
    uint8_t *nhwc;    /* per node: reads its activations channels-last */
    uint8_t *forbid;  /* per node: forced NCHW (its region was undone) */
    uint8_t *tout;    /* per node (Transpose): layout of its output */
    bool permissive;  /* AUTO: dense convs on small maps may join a region */
    uint8_t *lay;     /* per value: layout its producer writes */
    int8_t *rank;     /* per value: logical rank, -1 unknown */
    uint8_t *one;     /* per value: logically [N, C, 1, 1] */
    uint8_t *pinned;  /* per value: graph output or read by a subgraph */
    int32_t *uf;      /* per node: union-find parent */
    int32_t *cstart, *clist; /* consumers of each value: CSR of (node << 3 | input) */
} lay_ctx;

static bool is_std(const lens_node *n, const char *op) { return !n->domain[0] && !strcmp(n->op_type, op); }

static bool has_subgraph(const lens_node *n) {
    for (int32_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == LENS_ATTR_GRAPH || n->attrs[a].type == LENS_ATTR_GRAPHS) return true;
    return n->n_implicit > 0;
}

static node_kind classify(const lens_node *n) {
    static const char *unary[] = {"Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Clip", "LeakyRelu", "Tanh",
                                  "Elu", "Selu", "Softplus", "Neg", "Abs", "Exp", "Sqrt", "Erf", "Mish",
                                  "Celu", "Softsign", "Floor", "Ceil", "Round", "Reciprocal", "Sign"};
    static const char *binary[] = {"Add", "Sub", "Mul", "Div"};
    if (n->domain[0] || has_subgraph(n) || n->n_outputs < 1 || n->n_inputs < 1 || n->inputs[0] < 0)
        return K_OTHER;
    if (!strcmp(n->op_type, "Conv")) return K_CONV;
    if (!strcmp(n->op_type, "MaxPool") || !strcmp(n->op_type, "AveragePool") ||
        !strcmp(n->op_type, "GlobalAveragePool"))
        return K_POOL;
    for (size_t i = 0; i < LENS_ARRAY_LEN(unary); i++)
        if (!strcmp(n->op_type, unary[i])) return n->n_outputs == 1 ? K_UNARY : K_OTHER;
    for (size_t i = 0; i < LENS_ARRAY_LEN(binary); i++)
        if (!strcmp(n->op_type, binary[i])) return n->n_inputs == 2 && n->n_outputs == 1 ? K_BINARY : K_OTHER;
    if (!strcmp(n->op_type, "Concat")) return n->n_outputs == 1 ? K_CONCAT : K_OTHER;
    if (!strcmp(n->op_type, "Split")) return n->n_outputs <= 8 ? K_SPLIT : K_OTHER; /* see emit()'s pinned_out */
    if (!strcmp(n->op_type, "Slice")) return n->opset >= 10 && n->n_outputs == 1 ? K_SLICE : K_OTHER;
    if (!strcmp(n->op_type, "Transpose")) return n->n_inputs == 1 && n->n_outputs == 1 ? K_TRANSPOSE : K_OTHER;
    return K_OTHER;
}

static bool is_const(const lens_graph *g, int32_t v) { return v >= 0 && g->values[v].constant != NULL; }

/* A rank-4 axis attribute (or constant) normalised to [0, 4); -1 if invalid. */
static int32_t norm_axis4(int64_t a) {
    if (a < -4 || a > 3) return -1;
    return (int32_t)(a < 0 ? a + 4 : a);
}

/* The Transpose's permutation for a rank-4 input in *perm; false if it is
 * not a valid rank-4 permutation. Without `perm` ONNX reverses the axes. */
static bool transpose_perm(const lay_ctx *c, const lens_node *n, int64_t perm[4]) {
    int64_t np = 0;
    const int64_t *p = lens_node_attr_ints(n, "perm", &np);
    if (!p) {
        if (c->rank[n->inputs[0]] != 4) return false;
        for (int i = 0; i < 4; i++) perm[i] = 3 - i;
        return true;
    }
    if (np != 4) return false;
    bool seen[4] = {false, false, false, false};
    for (int i = 0; i < 4; i++) {
        if (p[i] < 0 || p[i] > 3 || seen[p[i]]) return false;
        seen[p[i]] = true;
        perm[i] = p[i];
    }
    return true;
}

/* The permutation that takes the Transpose's input bytes (layout lin) to its
 * output bytes (layout lout): out_data axis i = in_data axis E[i]. */
static void effective_perm(const int64_t P[4], int lin, int lout, int64_t E[4]) {
    for (int i = 0; i < 4; i++) {
        int64_t lo = lout == L_NHWC ? TO_NHWC[i] : i; /* logical out axis */
        int64_t li = P[lo];                           /* logical in axis */
        E[i] = lin == L_NHWC ? AXIS_NHWC[li] : li;
    }
}

static bool is_identity(const int64_t E[4]) { return E[0] == 0 && E[1] == 1 && E[2] == 2 && E[3] == 3; }

/* A constant operand of a binary op that can be permuted along with an NHWC
 * activation: float, rank <= 4. */
static bool permutable_const(const lens_tensor *t) { return t && t->dtype == LENS_DTYPE_FLOAT && t->ndim <= 4; }

/* Whether input k of node i is one the node reads channels-last when it
 * runs NHWC (activations; not weights, bias, split sizes, slice bounds). */
static bool nhwc_input(const lay_ctx *c, int32_t i, int32_t k) {
    switch ((node_kind)c->kind[i]) {
    case K_CONV: return k == 0 || k == 3;
    case K_POOL:
    case K_UNARY:
    case K_SPLIT:
    case K_SLICE: return k == 0;
    case K_BINARY: return !is_const(c->g, c->nodes[i].inputs[k]);
    case K_CONCAT: return true;
    default: return false;
    }
}

/* ---- the policy ----------------------------------------------------------
 * NHWC mode: every eligible Conv runs channels-last and every region with a
 * convolution or pooling in it is kept (regions without one as in AUTO).
 *
 * AUTO is a static cost model in nanoseconds, calibrated on the 10
 * benchmark models (1 thread, CPU time per node from lens bench --profile,
 * the nhwc AVX-512 kernels of 69f5268 against the NCHW paths); sizes come
 * from shape inference (the graph input's declared dims):
 *   - never NHWC: Winograd-class convs (3x3 stride 1, 16 <= C, M,
 *     C*M <= 256^2: NCHW 2x faster, resnet18 layer1 0.78 vs 1.57 ms) and
 *     dilated dense convs (NCHW skips padding taps: deeplabv3's ASPP
 *     960->256 d12 23.7 vs 34.2 ms), nor any conv of unknown size;
 *   - dense convs gain MACs / 300 where NHWC measured faster: at least
 *     1024 output pixels with K = C*kh*kw >= 128 and C >= 16 (lraspp at
 *     520: 960->160 1x1 on 33x33 2.74 -> 2.14 ms), at least 16384 pixels
 *     (lraspp's 3x3/2 stem on 260x260 2.80 -> 1.72), or non-overlapping
 *     patches, kernel == stride (ConvNeXt's 2x2/2 96->192 1.09 -> 0.80);
 *     otherwise they lose as much (mobilenet_v3_large 160x7x7 1x1 0.114
 *     vs 0.145; resnet18's 7x7/2 stem 1.9 vs 2.9) and join a region only
 *     in the permissive pass; one-pixel convs (squeeze-excitation) lose
 *     MACs / 10 but keep their block inside the region;
 *   - depthwise convs gain k*k*0.02 per output at stride 1 on 1024+ pixels
 *     (5x5 960ch 33x33 1.97 -> 1.38 ms) and k*k*0.08 at stride 2 (3x3/2
 *     64ch 130x130 1.37 -> 1.12), and lose k*k*0.02 on smaller maps;
 *   - a model Transpose that disappears gains, and an edge Transpose costs,
 *     0.7 per element (520x520x3: 0.77 ms); unknown sizes cost infinitely.
 * A region is kept when its gain exceeds its edges' cost. The pass settles
 * twice, strict (small-map dense convs stay NCHW) and permissive, and keeps
 * the assignment with the larger estimated saving. At 224x224 the
 * mobilenets, efficientnet and resnets come out all NCHW (their large-map
 * layers have few channels, where NHWC measured level or slower);
 * lraspp/deeplabv3 at 520x520 and ConvNeXt (whose own Transposes vanish)
 * come out NHWC. When the NHWC kernels change, re-measure (lens bench
 * --profile with LENS_LAYOUT=nchw and nhwc) and adjust these numbers. */
#define GAIN_DENSE_MACS_PER_NS 300.0
#define GAIN_DW_S1_PER_TAP 0.02
#define GAIN_DW_S2_PER_TAP 0.08
#define COST_TRANSPOSE_PER_ELEMENT 0.7
#define MIN_PIXELS 1024
#define MIN_DEPTH 128
#define LARGE_PIXELS 16384
#define LOSS_ONE_PIXEL_MACS_PER_NS 10.0

/* Elements of value v by its (inferred) dims, or -1 if unknown. */
static double value_elems(const lens_graph *g, int32_t v) {
    const lens_value *val = &g->values[v];
    if (val->ndim < 0 || (val->ndim > 0 && !val->dims)) return -1;
    double e = 1;
    for (int32_t i = 0; i < val->ndim; i++) {
        if (val->dims[i] < 0) return -1;
        e *= (double)val->dims[i];
    }
    return e;
}

/* Whether NCHW runs conv n with Winograd (ops/conv.c's rule). */
static bool winograd_class(const lens_node *n, const lens_tensor *w) {
    if (w->ndim != 4 || w->dims[2] != 3 || w->dims[3] != 3 || lens_node_attr_int(n, "group", 1) != 1) return false;
    int64_t ns = 0, nd = 0;
    const int64_t *st = lens_node_attr_ints(n, "strides", &ns), *dl = lens_node_attr_ints(n, "dilations", &nd);
    for (int64_t i = 0; st && i < ns; i++)
        if (st[i] != 1) return false;
    for (int64_t i = 0; dl && i < nd; i++)
        if (dl[i] != 1) return false;
    int64_t C = w->dims[1], M = w->dims[0];
    return C >= 16 && M >= 16 && C * M <= 256 * 256;
}

/* AUTO's estimate of what running eligible conv n NHWC saves (ns; negative:
 * it costs). *allowed is false where it must stay NCHW: a Winograd-class
 * conv, unknown sizes, or (unless c->permissive) a dense conv on a map of
 * 2..1023 pixels. */
static double conv_gain(const lay_ctx *c, const lens_node *n, bool *allowed) {
    const lens_graph *g = c->g;
    const lens_tensor *w = lens_node_const_input(g, n, 1);
    const lens_value *y = &g->values[n->outputs[0]];
    *allowed = false;
    if (!w || w->ndim != 4 || winograd_class(n, w) || y->ndim != 4 || !y->dims) return 0;
    double outs = value_elems(g, n->outputs[0]);
    if (outs < 0) return 0;
    double pix = (double)y->dims[2] * (double)y->dims[3];
    double taps = (double)w->dims[2] * (double)w->dims[3];
    int64_t group = lens_node_attr_int(n, "group", 1);
    *allowed = true;
    if (group > 1 && w->dims[1] == 1 && group == w->dims[0]) {
        int64_t ns = 0;
        const int64_t *st = lens_node_attr_ints(n, "strides", &ns);
        bool s2 = st && ns == 2 && (st[0] > 1 || st[1] > 1);
        double per = s2 ? GAIN_DW_S2_PER_TAP : GAIN_DW_S1_PER_TAP;
        return outs * taps * (pix >= MIN_PIXELS || s2 ? per : -per);
    }
    int64_t nd = 0;
    const int64_t *dl = lens_node_attr_ints(n, "dilations", &nd);
    for (int64_t i = 0; dl && i < nd; i++)
        if (dl[i] != 1) {
            *allowed = false; /* NCHW skips the taps that read padding (ops/conv_dilated.c) */
            return 0;
        }
    double macs = outs * (double)w->dims[1] * taps;
    double K = (double)w->dims[1] * taps;
    int64_t ns = 0;
    const int64_t *st = lens_node_attr_ints(n, "strides", &ns);
    bool patchify = st && ns == 2 && st[0] == w->dims[2] && st[1] == w->dims[3] && st[0] > 1;
    if ((pix >= MIN_PIXELS && K >= MIN_DEPTH && w->dims[1] >= 16) || pix >= LARGE_PIXELS || patchify)
        return macs / GAIN_DENSE_MACS_PER_NS;
    if (pix == 1) return -macs / LOSS_ONE_PIXEL_MACS_PER_NS;
    *allowed = c->permissive;
    return -macs / GAIN_DENSE_MACS_PER_NS;
}

static bool want_conv(const lay_ctx *c, const lens_node *n) {
    if (c->mode == LENS_MODEL_LAYOUT_NCHW || !lens_conv_nhwc_eligible(c->g, n)) return false;
    if (c->mode == LENS_MODEL_LAYOUT_NHWC) return true;
    bool allowed;
    conv_gain(c, n, &allowed);
    return allowed;
}

/* Region weights gathered by weigh_regions(). */
typedef struct region_cost {
    int32_t convs;      /* ConvNhwc nodes */
    int32_t pools;      /* pooling nodes */
    int32_t edges;      /* Transposes the region needs at its edges */
    int32_t removed;    /* Transposes of the model that became free */
    double gain, cost;  /* AUTO's estimates (ns) */
} region_cost;

static bool want_region(const lay_ctx *c, const region_cost *r) {
    if (c->mode == LENS_MODEL_LAYOUT_NHWC && r->convs + r->pools > 0) return true;
    if (c->mode == LENS_MODEL_LAYOUT_NHWC) return r->removed > 0 && r->removed >= r->edges;
    return r->gain > r->cost;
}

/* Cost of one edge Transpose of value v. */
static double edge_cost(const lens_graph *g, int32_t v) {
    double e = value_elems(g, v);
    return e < 0 ? 1e30 : e * COST_TRANSPOSE_PER_ELEMENT;
}

/* ---- assignment ---------------------------------------------------------- */

static void assign(lay_ctx *c) {
    lens_graph *g = c->g;
    for (int32_t v = 0; v < c->nv; v++) {
        c->lay[v] = L_NCHW;
        const lens_value *val = &g->values[v];
        c->rank[v] = (int8_t)(val->constant ? val->constant->ndim : val->ndim <= LENS_MAX_DIMS ? val->ndim : -1);
        c->one[v] = 0;
    }
    for (int32_t i = 0; i < c->nn; i++) {
        lens_node *n = &g->nodes[i];
        node_kind k = (node_kind)c->kind[i];
        bool on = false;
        int32_t x = n->inputs[0];
        c->tout[i] = L_NCHW;
        if (!c->forbid[i]) switch (k) {
            case K_CONV: on = want_conv(c, n); break;
            case K_POOL: on = c->lay[x] == L_NHWC && lens_pool_nhwc_eligible(g, n); break;
            case K_UNARY: on = c->lay[x] == L_NHWC; break;
            case K_BINARY: {
                bool any = false, ok = true;
                for (int32_t j = 0; j < 2; j++) {
                    int32_t v = n->inputs[j];
                    if (v < 0) ok = false;
                    else if (is_const(g, v)) ok &= permutable_const(g->values[v].constant);
                    else if (c->lay[v] == L_NHWC) any = true;
                    else ok &= c->rank[v] == 4;
                }
                on = any && ok;
                break;
            }
            case K_CONCAT: {
                const lens_attr *ax = lens_node_attr(n, "axis");
                on = ax && ax->type == LENS_ATTR_INT && norm_axis4(ax->i) >= 0 && n->n_inputs >= 1;
                for (int32_t j = 0; on && j < n->n_inputs; j++)
                    on = n->inputs[j] >= 0 && !is_const(g, n->inputs[j]) && c->lay[n->inputs[j]] == L_NHWC;
                break;
            }
            case K_SPLIT:
                on = c->lay[x] == L_NHWC && norm_axis4(lens_node_attr_int(n, "axis", 0)) >= 0;
                break;
            case K_SLICE: {
                if (c->lay[x] != L_NHWC) break;
                const lens_tensor *axes = n->n_inputs > 3 && n->inputs[3] >= 0 ? lens_node_const_input(g, n, 3) : NULL;
                const lens_tensor *starts = n->n_inputs > 1 ? lens_node_const_input(g, n, 1) : NULL;
                if (n->n_inputs > 3 && n->inputs[3] >= 0) {
                    on = axes && (axes->dtype == LENS_DTYPE_INT64 || axes->dtype == LENS_DTYPE_INT32) &&
                         axes->ndim == 1 && axes->dims[0] >= 1 && axes->dims[0] <= 4;
                    for (int64_t j = 0; on && j < axes->dims[0]; j++)
                        on = norm_axis4(lens_tensor_get_i64(axes, j)) >= 0;
                } else {
                    on = starts && starts->ndim == 1 && starts->dims[0] >= 1 && starts->dims[0] <= 4;
                }
                break;
            }
            case K_TRANSPOSE: {
                int64_t P[4], E0[4], E1[4];
                if (!transpose_perm(c, n, P)) break;
                int lin = c->lay[x];
                bool pin = c->pinned[n->outputs[0]];
                effective_perm(P, lin, L_NCHW, E0);
                effective_perm(P, lin, L_NHWC, E1);
                if (lin == L_NHWC) {
                    on = true; /* reads NHWC as it is: never a conversion before it */
                    c->tout[i] = (!is_identity(E0) && is_identity(E1) && !pin) ? L_NHWC : L_NCHW;
                } else if (is_identity(E1) && !pin && c->mode != LENS_MODEL_LAYOUT_NCHW) {
                    on = true;
                    c->tout[i] = L_NHWC;
                }
                break;
            }
            default: break;
            }
        c->nhwc[i] = on;
        /* logical rank and [N,C,1,1]-ness of the outputs */
        int8_t r = -1;
        uint8_t one = 0;
        switch (k) {
        case K_CONV: {
            const lens_tensor *w = lens_node_const_input(g, n, 1);
            r = w ? (int8_t)w->ndim : -1;
            bool k1 = w && w->ndim == 4 && w->dims[2] == 1 && w->dims[3] == 1;
            int64_t np = 0;
            const int64_t *pads = lens_node_attr_ints(n, "pads", &np);
            for (int64_t j = 0; pads && j < np; j++) k1 &= pads[j] == 0;
            const char *ap = lens_node_attr_string(n, "auto_pad", "NOTSET");
            k1 &= !strcmp(ap, "NOTSET") || !strcmp(ap, "VALID");
            one = k1 && c->one[x];
            break;
        }
        case K_POOL:
            r = c->rank[x];
            one = is_std(n, "GlobalAveragePool") && r == 4;
            break;
        case K_UNARY: r = c->rank[x], one = c->one[x]; break;
        case K_BINARY: {
            int32_t a = n->inputs[0], b = n->inputs[1];
            if (a >= 0 && b >= 0 && c->rank[a] >= 0 && c->rank[b] >= 0)
                r = c->rank[a] > c->rank[b] ? c->rank[a] : c->rank[b];
            break;
        }
        case K_CONCAT:
        case K_SPLIT:
        case K_SLICE: r = c->rank[x]; break;
        case K_TRANSPOSE: {
            int64_t P[4];
            if (transpose_perm(c, n, P)) r = 4;
            break;
        }
        default: break;
        }
        for (int32_t j = 0; j < n->n_outputs; j++) {
            int32_t y = n->outputs[j];
            if (y < 0) continue;
            if (c->rank[y] < 0) c->rank[y] = r;
            c->one[y] = one;
            if (k == K_TRANSPOSE) c->lay[y] = c->nhwc[i] ? c->tout[i] : L_NCHW;
            else c->lay[y] = on ? L_NHWC : L_NCHW;
        }
    }
}

/* ---- regions ------------------------------------------------------------- */

static int32_t uf_find(int32_t *uf, int32_t i) {
    while (uf[i] != i) i = uf[i] = uf[uf[i]];
    return i;
}
static void uf_union(int32_t *uf, int32_t a, int32_t b) {
    a = uf_find(uf, a), b = uf_find(uf, b);
    if (a != b) uf[a > b ? a : b] = a < b ? a : b;
}

/* Whether consumer node i reads value v (NHWC) without a conversion:
 * Shape (Shape + Gather), and Flatten / Reshape of a [N,C,1,1] value. */
static bool free_nchw_read(const lay_ctx *c, int32_t i, int32_t v) {
    const lens_graph *g = c->g;
    const lens_node *n = &c->nodes[i];
    if ((is_std(n, "Shape") || is_std(n, "Size")) && n->inputs[0] == v) return true;
    if (!c->one[v] || n->inputs[0] != v) return false;
    if (is_std(n, "Flatten")) {
        int64_t a = lens_node_attr_int(n, "axis", 1);
        a = a < 0 ? a + 4 : a;
        return a == 0 || a == 1;
    }
    if (is_std(n, "Reshape") && n->n_inputs >= 2 && n->inputs[1] != v) {
        const lens_tensor *s = lens_node_const_input(g, n, 1);
        if (!s || s->ndim != 1) return false;
        for (int64_t j = 1; j < s->dims[0]; j++)
            if (lens_tensor_get_i64(s, j) == 0) return false; /* 0 copies a dim, which differs */
        return true;
    }
    return false;
}

/* Whether node i reads input k in NHWC under the current assignment. */
static bool reads_nhwc(const lay_ctx *c, int32_t i, int32_t k) {
    if (!c->nhwc[i]) return false;
    if (c->kind[i] == K_TRANSPOSE) return c->lay[c->nodes[i].inputs[0]] == L_NHWC;
    return nhwc_input(c, i, k);
}

/* Weigh every region and undo those the policy rejects (if `undo`).
 * Returns the number of regions undone; *score is the sum of gain - cost
 * over the regions kept. */
static int32_t weigh_regions(lay_ctx *c, region_cost *cost, bool undo, double *score) {
    lens_graph *g = c->g;
    for (int32_t i = 0; i < c->nn; i++) {
        c->uf[i] = i;
        memset(&cost[i], 0, sizeof cost[i]);
    }
    /* connect producers and consumers through NHWC values */
    for (int32_t v = 0; v < c->nv; v++) {
        int32_t p = g->values[v].producer;
        if (c->lay[v] != L_NHWC || p < 0) continue;
        for (int32_t e = c->cstart[v]; e < c->cstart[v + 1]; e++) {
            int32_t i = c->clist[e] >> 3, k = c->clist[e] & 7;
            if (reads_nhwc(c, i, k)) uf_union(c->uf, p, i);
        }
    }
    /* a Transpose that reads NCHW and writes NHWC also joins its consumers */
    for (int32_t i = 0; i < c->nn; i++) {
        if (c->kind[i] != K_TRANSPOSE || !c->nhwc[i]) continue;
        int32_t y = g->nodes[i].outputs[0];
        for (int32_t e = c->cstart[y]; e < c->cstart[y + 1]; e++)
            if (reads_nhwc(c, c->clist[e] >> 3, c->clist[e] & 7)) uf_union(c->uf, i, c->clist[e] >> 3);
    }
    for (int32_t i = 0; i < c->nn; i++) {
        if (!c->nhwc[i]) continue;
        region_cost *r = &cost[uf_find(c->uf, i)];
        const lens_node *n = &g->nodes[i];
        if (c->kind[i] == K_CONV) {
            bool allowed;
            r->convs++;
            r->gain += conv_gain(c, n, &allowed);
        }
        if (c->kind[i] == K_POOL) r->pools++;
        if (c->kind[i] == K_TRANSPOSE) {
            int64_t P[4], E[4];
            transpose_perm(c, n, P);
            effective_perm(P, c->lay[n->inputs[0]], c->tout[i], E);
            if (is_identity(E)) {
                r->removed++;
                double e = value_elems(g, n->outputs[0]);
                r->gain += e > 0 ? e * COST_TRANSPOSE_PER_ELEMENT : 0;
            }
        }
        /* edges in: NCHW activations this node reads channels-last (counted
         * once per value and region: the first reader in the region) */
        for (int32_t k = 0; k < n->n_inputs && c->kind[i] != K_TRANSPOSE; k++) {
            int32_t v = n->inputs[k];
            if (v < 0 || !nhwc_input(c, i, k) || c->lay[v] == L_NHWC) continue;
            bool first = true;
            for (int32_t e = c->cstart[v]; e < c->cstart[v + 1] && first; e++) {
                int32_t j = c->clist[e] >> 3;
                if (j >= i) break;
                if (reads_nhwc(c, j, c->clist[e] & 7) && uf_find(c->uf, j) == uf_find(c->uf, i)) first = false;
            }
            r->edges += first;
            if (first) r->cost += edge_cost(g, v);
        }
        /* edges out: NHWC outputs read as NCHW by someone */
        for (int32_t j = 0; j < n->n_outputs; j++) {
            int32_t y = n->outputs[j];
            if (y < 0 || c->lay[y] != L_NHWC) continue;
            bool out = c->pinned[y];
            for (int32_t e = c->cstart[y]; e < c->cstart[y + 1] && !out; e++) {
                int32_t u = c->clist[e] >> 3;
                if (!reads_nhwc(c, u, c->clist[e] & 7) && !free_nchw_read(c, u, y)) out = true;
            }
            r->edges += out;
            if (out) r->cost += edge_cost(g, y);
        }
    }
    int32_t undone = 0;
    *score = 0;
    for (int32_t i = 0; i < c->nn; i++) {
        if (!c->nhwc[i] || uf_find(c->uf, i) != i) continue;
        if (want_region(c, &cost[i])) {
            *score += cost[i].gain - cost[i].cost;
            continue;
        }
        if (!undo) continue;
        undone++;
        for (int32_t j = 0; j < c->nn; j++)
            if (c->nhwc[j] && uf_find(c->uf, j) == i) c->forbid[j] = 1;
    }
    return undone;
}

/* ---- rewriting ----------------------------------------------------------- */

typedef struct emit_ctx {
    lay_ctx *c;
    lens_node *old;    /* the nodes before the rewrite (copies) */
    int32_t (*avail)[2]; /* per original value: the value holding it in each layout, or -1 */
    int32_t *pconst;   /* per original value: its NHWC-permuted constant, or -1 */
} emit_ctx;

static lens_status append_node(lens_graph *g, const lens_node *n) {
    if (g->limits && g->limits->max_nodes && (uint64_t)g->n_nodes >= g->limits->max_nodes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "graph has more than %llu nodes after the layout pass",
                          (unsigned long long)g->limits->max_nodes);
    if (g->n_nodes == g->cap_nodes) {
        if (g->cap_nodes > INT32_MAX / 2) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "too many nodes");
        int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        lens_node *nn = lens_realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    g->nodes[g->n_nodes++] = *n;
    return LENS_OK;
}

/* A new value named after `base` + suffix (made unique), of the given dtype
 * and rank; dims copied from `dims` (may be NULL: unknown). -1 on failure. */
static int32_t new_value(lens_graph *g, const char *base, const char *suffix, lens_dtype dt, int32_t ndim,
                         const int64_t *dims) {
    char name[512];
    /* the base is cut so that suffix and counter always fit: a file's long
     * names must not make every candidate the same string */
    snprintf(name, sizeof name, "%.400s%s", base, suffix);
    for (int k = 1; lens_graph_find(g, name) >= 0; k++) {
        if (k == INT32_MAX) {
            lens_error(LENS_STATUS_LIMIT_EXCEEDED, "layout pass: no free name for '%.100s%s'", base, suffix);
            return -1;
        }
        snprintf(name, sizeof name, "%.400s%s%d", base, suffix, k);
    }
    int32_t v = lens_graph_value(g, name);
    if (v < 0) return -1;
    lens_value *val = &g->values[v];
    val->dtype = dt;
    val->ndim = ndim;
    if (ndim > 0) {
        val->dims = lens_arena_alloc(g->arena, sizeof(int64_t) * (size_t)ndim);
        if (!val->dims) return -1;
        for (int32_t i = 0; i < ndim; i++) val->dims[i] = dims ? dims[i] : -1;
    }
    return v;
}

/* Logical dims of value v permuted into layout `l` (NULL if unknown). */
static const int64_t *dims_in(const lens_graph *g, int32_t v, int l, int64_t out[4]) {
    const lens_value *val = &g->values[v];
    if (val->ndim != 4 || !val->dims) return NULL;
    for (int i = 0; i < 4; i++) out[i] = val->dims[l == L_NHWC ? TO_NHWC[i] : i];
    return out;
}

static lens_attr *ints_attr(lens_graph *g, const char *name, const int64_t *v, int64_t n) {
    lens_attr *a = lens_arena_alloc(g->arena, sizeof *a);
    int64_t *d = lens_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!a || !d) return NULL;
    memcpy(d, v, sizeof(int64_t) * (size_t)n);
    a->name = name;
    a->type = LENS_ATTR_INTS;
    a->n = n;
    a->ints = d;
    return a;
}

/* A one-input one-output node of the standard domain at the model's opset. */
static lens_status make_node(emit_ctx *e, const char *op_type, const char *name, int32_t n_in, lens_node *n) {
    lens_graph *g = e->c->g;
    memset(n, 0, sizeof *n);
    n->op_type = op_type;
    n->domain = "";
    n->opset = e->c->opset;
    n->name = lens_arena_strdup(g->arena, name);
    n->inputs = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)n_in);
    n->outputs = lens_arena_alloc(g->arena, sizeof(int32_t));
    n->op = lens_op_find("", op_type, n->opset);
    if (!n->name || !n->inputs || !n->outputs) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    if (!n->op) return lens_error(LENS_STATUS_UNSUPPORTED_OP, "layout pass: no %s operator", op_type);
    n->n_inputs = n_in;
    n->n_outputs = 1;
    return LENS_OK;
}

/* Append Transpose(src, perm) -> dst. */
static lens_status emit_transpose(emit_ctx *e, int32_t src, int32_t dst, const int64_t perm[4]) {
    lens_graph *g = e->c->g;
    lens_node t;
    char name[600];
    snprintf(name, sizeof name, "%s__layout", g->values[dst].name);
    LENS_TRY(make_node(e, "Transpose", name, 1, &t));
    t.attrs = ints_attr(g, "perm", perm, 4);
    if (!t.attrs) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    t.n_attrs = 1;
    t.inputs[0] = src;
    t.outputs[0] = dst;
    return append_node(g, &t);
}

/* The value holding original value v in layout l, inserting the shared
 * Transpose on first need. *out = -1 on failure (status returned). */
static lens_status value_in(emit_ctx *e, int32_t v, int l, int32_t *out) {
    lens_graph *g = e->c->g;
    if (v >= e->c->nv || e->avail[v][l] >= 0) {
        *out = v >= e->c->nv ? v : e->avail[v][l];
        return LENS_OK;
    }
    int32_t src = e->avail[v][1 - l];
    if (src < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "layout pass: value '%s' used before it is made",
                                   g->values[v].name);
    int64_t d[4];
    const int64_t *dims = dims_in(g, v, l, d);
    int32_t nv = new_value(g, g->values[v].name, l == L_NHWC ? "__nhwc" : "__nchw", g->values[v].dtype, 4, dims);
    if (nv < 0) return LENS_STATUS_OUT_OF_MEMORY;
    LENS_TRY(emit_transpose(e, src, nv, l == L_NHWC ? TO_NHWC : AXIS_NHWC));
    e->avail[v][l] = nv;
    *out = nv;
    return LENS_OK;
}

/* Constant v (a binary op's operand) permuted for an NHWC partner: rank 4,
 * dims [d0, d2, d3, d1] of its dims right-aligned to rank 4. Scalars stay. */
static lens_status permuted_const(emit_ctx *e, int32_t v, int32_t *out) {
    lens_graph *g = e->c->g;
    const lens_tensor *t = g->values[v].constant;
    if (lens_tensor_numel(t) == 1 && t->ndim <= 1) {
        *out = v;
        return LENS_OK;
    }
    if (e->pconst[v] >= 0) {
        *out = e->pconst[v];
        return LENS_OK;
    }
    int64_t d4[4] = {1, 1, 1, 1};
    for (int32_t i = 0; i < t->ndim; i++) d4[4 - t->ndim + i] = t->dims[i];
    lens_tensor *nt = lens_arena_alloc(g->arena, sizeof *nt);
    int64_t numel = lens_tensor_numel(t);
    float *d = lens_arena_alloc(g->arena, sizeof(float) * (size_t)(numel ? numel : 1));
    if (!nt || !d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    nt->dtype = LENS_DTYPE_FLOAT;
    nt->ndim = 4;
    for (int i = 0; i < 4; i++) nt->dims[i] = d4[TO_NHWC[i]];
    nt->data = d;
    const float *s = t->data;
    int64_t C = d4[1], H = d4[2], W = d4[3];
    for (int64_t n = 0; n < d4[0]; n++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t w = 0; w < W; w++)
                for (int64_t ch = 0; ch < C; ch++)
                    *d++ = s[((n * C + ch) * H + h) * W + w];
    int32_t nv = new_value(g, g->values[v].name, "__nhwc", LENS_DTYPE_FLOAT, 4, nt->dims);
    if (nv < 0) return LENS_STATUS_OUT_OF_MEMORY;
    g->values[nv].constant = nt;
    e->pconst[v] = nv;
    *out = nv;
    return LENS_OK;
}

/* An integer constant of n entries (int64, rank 1). */
static int32_t int_const(lens_graph *g, const char *base, const char *suffix, const int64_t *v, int64_t n) {
    lens_tensor *t = lens_arena_alloc(g->arena, sizeof *t);
    int64_t *d = lens_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!t || !d) return -1;
    memcpy(d, v, sizeof(int64_t) * (size_t)n);
    t->dtype = LENS_DTYPE_INT64;
    t->ndim = 1;
    t->dims[0] = n;
    t->data = d;
    int32_t nv = new_value(g, base, suffix, LENS_DTYPE_INT64, 1, &n);
    if (nv >= 0) g->values[nv].constant = t;
    return nv;
}

/* Copy of node n's attributes with INT attribute `name` set to `val`. */
static lens_status set_int_attr(lens_graph *g, lens_node *n, const char *name, int64_t val) {
    lens_attr *a = lens_arena_alloc(g->arena, sizeof *a * (size_t)(n->n_attrs + 1));
    if (!a) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    int32_t m = 0;
    for (int32_t k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].type == LENS_ATTR_UNDEFINED || strcmp(n->attrs[k].name, name)) a[m++] = n->attrs[k];
    a[m].name = name;
    a[m].type = LENS_ATTR_INT;
    a[m].i = val;
    n->attrs = a;
    n->n_attrs = m + 1;
    return LENS_OK;
}

/* Shape of an NHWC value: Shape(data) -> Gather(indices) with the NHWC
 * positions of the logical axes Shape asks for (opset 15 start/end). */
static lens_status emit_shape(emit_ctx *e, lens_node *n, int32_t src) {
    lens_graph *g = e->c->g;
    int64_t start = lens_node_attr_int(n, "start", 0), end = lens_node_attr_int(n, "end", 4);
    if (n->opset < 15) start = 0, end = 4;
    if (start < 0) start += 4;
    if (end < 0) end += 4;
    start = start < 0 ? 0 : start > 4 ? 4 : start;
    end = end < 0 ? 0 : end > 4 ? 4 : end;
    int64_t idx[4], ni = 0;
    for (int64_t a = start; a < end; a++) idx[ni++] = AXIS_NHWC[a];
    int32_t y = n->outputs[0];
    int64_t four = 4;
    int32_t sv = new_value(g, g->values[y].name, "__nhwc", LENS_DTYPE_INT64, 1, &four);
    int32_t iv = sv < 0 ? -1 : int_const(g, g->values[y].name, "__nchw_axes", idx, ni);
    if (sv < 0 || iv < 0) return LENS_STATUS_OUT_OF_MEMORY;
    lens_node s = *n;
    s.n_attrs = 0;
    s.attrs = NULL;
    s.inputs = lens_arena_alloc(g->arena, sizeof(int32_t));
    s.outputs = lens_arena_alloc(g->arena, sizeof(int32_t));
    if (!s.inputs || !s.outputs) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    s.n_inputs = s.n_outputs = 1;
    s.inputs[0] = src;
    s.outputs[0] = sv;
    LENS_TRY(append_node(g, &s));
    lens_node gn;
    char name[600];
    snprintf(name, sizeof name, "%s__nchw", n->name);
    int64_t saved = e->c->opset;
    e->c->opset = n->opset;
    lens_status st = make_node(e, "Gather", name, 2, &gn);
    e->c->opset = saved;
    LENS_TRY(st);
    gn.inputs[0] = sv;
    gn.inputs[1] = iv;
    gn.outputs[0] = y;
    return append_node(g, &gn);
}

static lens_status retype(lens_node *n, const char *op_type) {
    n->op_type = op_type;
    n->domain = "lens";
    n->opset = 1;
    n->op = lens_op_find("lens", op_type, 1);
    if (!n->op || !n->op->run) return lens_error(LENS_STATUS_UNSUPPORTED_OP, "layout pass: no lens.%s", op_type);
    return LENS_OK;
}

/* Rewrite node i of the old graph and append it (with the conversions it
 * needs before it, and after it for pinned outputs). */
static lens_status emit(emit_ctx *e, int32_t i) {
    lay_ctx *c = e->c;
    lens_graph *g = c->g;
    lens_node n = e->old[i];
    node_kind k = (node_kind)c->kind[i];
    bool on = c->nhwc[i];
    int32_t *in = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n.n_inputs + 1));
    if (!in) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(in, n.inputs, sizeof(int32_t) * (size_t)n.n_inputs);
    n.inputs = in;
    if (k == K_TRANSPOSE && on) {
        int64_t P[4], E[4];
        int32_t x = n.inputs[0], y = n.outputs[0];
        int lin = c->lay[x], lout = c->tout[i];
        transpose_perm(c, &n, P);
        effective_perm(P, lin, lout, E);
        int32_t src;
        LENS_TRY(value_in(e, x, lin, &src));
        e->avail[y][1 - lout] = -1;
        if (is_identity(E) && !c->pinned[y]) {
            e->avail[y][lout] = src; /* the same bytes: nothing to run */
            return LENS_OK;
        }
        n.inputs[0] = src;
        n.attrs = ints_attr(g, "perm", E, 4);
        if (!n.attrs) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        n.n_attrs = 1;
        e->avail[y][lout] = y;
        int64_t d[4];
        const int64_t *dims = dims_in(g, y, lout, d);
        if (dims) memcpy(g->values[y].dims, dims, sizeof d);
        return append_node(g, &n);
    }
    if (!on) {
        /* NCHW consumer: Shape, Size and the [N,C,1,1] readers take NHWC as is */
        int32_t x = n.inputs[0];
        bool as_is = false;
        if (x >= 0 && x < c->nv && c->lay[x] == L_NHWC && e->avail[x][L_NCHW] < 0 && free_nchw_read(c, i, x)) {
            if (is_std(&n, "Shape")) return emit_shape(e, &n, e->avail[x][L_NHWC]);
            n.inputs[0] = e->avail[x][L_NHWC];
            as_is = true;
        }
        for (int32_t j = as_is ? 1 : 0; j < n.n_inputs; j++) {
            if (n.inputs[j] < 0) continue;
            LENS_TRY(value_in(e, n.inputs[j], L_NCHW, &n.inputs[j]));
        }
        return append_node(g, &n);
    }
    for (int32_t j = 0; j < n.n_inputs; j++) {
        int32_t v = n.inputs[j];
        if (v < 0) continue;
        if (k == K_BINARY && is_const(g, v)) LENS_TRY(permuted_const(e, v, &n.inputs[j]));
        else LENS_TRY(value_in(e, v, nhwc_input(c, i, j) ? L_NHWC : L_NCHW, &n.inputs[j]));
    }
    switch (k) {
    case K_CONV: LENS_TRY(retype(&n, "ConvNhwc")); break;
    case K_POOL: {
        const char *t = is_std(&n, "MaxPool") ? "MaxPoolNhwc" : is_std(&n, "AveragePool") ? "AveragePoolNhwc"
                                                                                          : "GlobalAveragePoolNhwc";
        LENS_TRY(retype(&n, t));
        /* MaxPool's Indices output (lens_pool_nhwc_eligible: omitted or
         * read by no one): the NHWC op has one output */
        n.n_outputs = 1;
        break;
    }
    case K_CONCAT: LENS_TRY(set_int_attr(g, &n, "axis", AXIS_NHWC[norm_axis4(lens_node_attr_int(&n, "axis", 0))])); break;
    case K_SPLIT: LENS_TRY(set_int_attr(g, &n, "axis", AXIS_NHWC[norm_axis4(lens_node_attr_int(&n, "axis", 0))])); break;
    case K_SLICE: {
        int64_t ax[4], na = 0;
        const lens_tensor *axes = n.n_inputs > 3 && n.inputs[3] >= 0 ? lens_node_const_input(g, &n, 3) : NULL;
        if (axes) {
            na = axes->dims[0];
            for (int64_t j = 0; j < na; j++) ax[j] = AXIS_NHWC[norm_axis4(lens_tensor_get_i64(axes, j))];
        } else {
            const lens_tensor *starts = lens_node_const_input(g, &n, 1);
            na = starts->dims[0];
            for (int64_t j = 0; j < na; j++) ax[j] = AXIS_NHWC[j];
        }
        int32_t av = int_const(g, n.name[0] ? n.name : "slice", "__nhwc_axes", ax, na);
        if (av < 0) return LENS_STATUS_OUT_OF_MEMORY;
        if (n.n_inputs < 4) {
            int32_t *w = lens_arena_alloc(g->arena, sizeof(int32_t) * 4);
            if (!w) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            for (int32_t j = 0; j < 4; j++) w[j] = j < n.n_inputs ? n.inputs[j] : -1;
            n.inputs = w;
            n.n_inputs = 4;
        }
        n.inputs[3] = av;
        break;
    }
    default: break;
    }
    /* outputs: NHWC; pinned ones get a new NHWC value and a Transpose back */
    int32_t pinned_out[8], n_pinned = 0;
    int32_t *out = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)n.n_outputs);
    if (!out) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(out, n.outputs, sizeof(int32_t) * (size_t)n.n_outputs);
    n.outputs = out;
    for (int32_t j = 0; j < n.n_outputs; j++) {
        int32_t y = n.outputs[j];
        if (y < 0) continue;
        int64_t d[4];
        const int64_t *dims = dims_in(g, y, L_NHWC, d);
        if (c->pinned[y] && n_pinned < 8) {
            int32_t y2 = new_value(g, g->values[y].name, "__nhwc", LENS_DTYPE_FLOAT, 4, dims);
            if (y2 < 0) return LENS_STATUS_OUT_OF_MEMORY;
            n.outputs[j] = y2;
            e->avail[y][L_NHWC] = y2;
            e->avail[y][L_NCHW] = -1;
            pinned_out[n_pinned++] = y;
        } else if (c->pinned[y]) {
            return lens_error(LENS_STATUS_UNSUPPORTED, "layout pass: too many pinned outputs");
        } else {
            e->avail[y][L_NHWC] = y;
            e->avail[y][L_NCHW] = -1;
            if (dims) memcpy(g->values[y].dims, dims, sizeof d);
        }
    }
    LENS_TRY(append_node(g, &n));
    for (int32_t j = 0; j < n_pinned; j++) {
        int32_t y = pinned_out[j];
        LENS_TRY(emit_transpose(e, e->avail[y][L_NHWC], y, AXIS_NHWC));
        e->avail[y][L_NCHW] = y;
    }
    return LENS_OK;
}

static lens_status rewrite(lay_ctx *c) {
    lens_graph *g = c->g;
    emit_ctx e = {c, NULL, NULL, NULL};
    lens_status st = LENS_OK;
    e.old = lens_malloc(sizeof(lens_node) * (size_t)c->nn);
    e.avail = lens_malloc(sizeof *e.avail * (size_t)c->nv);
    e.pconst = lens_malloc(sizeof(int32_t) * (size_t)c->nv);
    if (!e.old || !e.avail || !e.pconst) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    memcpy(e.old, g->nodes, sizeof(lens_node) * (size_t)c->nn);
    c->nodes = e.old;
    for (int32_t v = 0; v < c->nv; v++) {
        e.avail[v][L_NCHW] = v;
        e.avail[v][L_NHWC] = -1;
        e.pconst[v] = -1;
    }
    g->n_nodes = 0;
    for (int32_t i = 0; i < c->nn && st == LENS_OK; i++) st = emit(&e, i);
    if (st != LENS_OK) {
        /* Leave the graph as it was: nothing was initialised yet, and the
         * values added are unused. */
        memcpy(g->nodes, e.old, sizeof(lens_node) * (size_t)c->nn);
        g->n_nodes = c->nn;
    }
    c->nodes = g->nodes;
done:
    lens_free(e.old);
    lens_free(e.avail);
    lens_free(e.pconst);
    lens_graph_relink(g);
    return st;
}

lens_model_layout lens_layout_resolve(lens_model_layout requested) {
    const char *env = getenv("LENS_LAYOUT");
    if (env && *env) {
        if (!strcmp(env, "nchw")) return LENS_MODEL_LAYOUT_NCHW;
        if (!strcmp(env, "nhwc")) return LENS_MODEL_LAYOUT_NHWC;
        if (!strcmp(env, "auto")) return LENS_MODEL_LAYOUT_AUTO;
    }
    return requested;
}

lens_status lens_graph_layout(lens_graph *g, lens_model_layout mode) {
    if (mode == LENS_MODEL_LAYOUT_NCHW || g->depth != 0 || g->n_nodes == 0) return LENS_OK;
    if (!lens_op_find("lens", "ConvNhwc", 1)) return LENS_OK; /* built without the NHWC ops */
    if (g->n_nodes > (1 << 27)) return LENS_OK; /* consumer lists pack (node << 3 | input) in 31 bits */
    lay_ctx c = {.g = g, .nodes = g->nodes, .mode = mode, .nn = g->n_nodes, .nv = g->n_values};
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].domain[0] && g->nodes[i].opset > c.opset) c.opset = g->nodes[i].opset;
    if (c.opset < 1 || !lens_op_find("", "Transpose", c.opset) || !lens_op_find("", "Gather", c.opset))
        return LENS_OK;
    /* Graph outputs get inferred shapes too (an output that also feeds a
     * conv must pass the eligibility checks), but what the model reports for
     * them stays what the file declared: saved here, restored at the end. */
    lens_value_info *saved = lens_calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *saved);
    const int64_t **saved_dims = lens_calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *saved_dims);
    if (!saved || !saved_dims) {
        lens_free(saved);
        lens_free(saved_dims);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory in the layout pass");
    }
    for (int32_t k = 0; k < g->n_outputs; k++) {
        const lens_value *o = &g->values[g->outputs[k]];
        saved[k].dtype = o->dtype;
        saved[k].ndim = o->ndim;
        saved_dims[k] = o->dims;
    }
    lens_status st = lens_graph_infer_shapes(g);
    size_t nn = (size_t)c.nn, nv = (size_t)c.nv;
    region_cost *cost = NULL;
    if (st != LENS_OK) goto done;
    c.kind = lens_calloc(nn, 1);
    c.nhwc = lens_calloc(nn, 1);
    c.forbid = lens_calloc(nn, 1);
    c.tout = lens_calloc(nn, 1);
    c.lay = lens_calloc(nv, 1);
    c.rank = lens_calloc(nv, 1);
    c.one = lens_calloc(nv, 1);
    c.pinned = lens_calloc(nv, 1);
    c.uf = lens_calloc(nn, sizeof(int32_t));
    c.cstart = lens_calloc(nv + 1, sizeof(int32_t));
    cost = lens_calloc(nn, sizeof *cost);
    int64_t edges = 0;
    for (int32_t i = 0; i < c.nn; i++) edges += g->nodes[i].n_inputs;
    c.clist = lens_calloc((size_t)(edges ? edges : 1), sizeof(int32_t));
    if (!c.kind || !c.nhwc || !c.forbid || !c.tout || !c.lay || !c.rank || !c.one || !c.pinned || !c.uf ||
        !c.cstart || !c.clist || !cost) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory in the layout pass");
        goto done;
    }
    for (int32_t k = 0; k < g->n_outputs; k++) c.pinned[g->outputs[k]] = 1;
    bool pools = lens_op_find("lens", "MaxPoolNhwc", 1) && lens_op_find("lens", "AveragePoolNhwc", 1) &&
                 lens_op_find("lens", "GlobalAveragePoolNhwc", 1);
    for (int32_t i = 0; i < c.nn; i++) {
        const lens_node *n = &g->nodes[i];
        c.kind[i] = (uint8_t)classify(n);
        if (c.kind[i] == K_POOL && !pools) c.kind[i] = K_OTHER;
        for (int32_t k = 0; k < n->n_implicit; k++) c.pinned[n->implicit[k]] = 1;
        /* consumer lists hold the input index in 3 bits: nodes reading a
         * value at input 8 or later are treated as NCHW readers through
         * the generic path only (their kind is K_OTHER or K_CONCAT) */
        if (c.kind[i] == K_CONCAT && n->n_inputs > 8) c.kind[i] = K_OTHER;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) c.cstart[n->inputs[k] + 1]++;
    }
    for (int32_t v = 0; v < c.nv; v++) c.cstart[v + 1] += c.cstart[v];
    {
        int32_t *fill = lens_calloc(nv ? nv : 1, sizeof(int32_t));
        if (!fill) {
            st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory in the layout pass");
            goto done;
        }
        for (int32_t i = 0; i < c.nn; i++) {
            const lens_node *n = &g->nodes[i];
            for (int32_t k = 0; k < n->n_inputs; k++) {
                int32_t v = n->inputs[k];
                if (v >= 0) c.clist[c.cstart[v] + fill[v]++] = i << 3 | (k < 8 ? k : 7);
            }
        }
        lens_free(fill);
    }
    /* AUTO settles twice, strict then permissive (dense convs on small maps
     * may join a region whose gain carries them: ConvNeXt), and keeps the
     * assignment with the larger estimated saving. */
    double best = 0;
    int passes = mode == LENS_MODEL_LAYOUT_AUTO ? 2 : 1, best_pass = 0;
    uint8_t *best_forbid = lens_calloc(nn, 1);
    if (!best_forbid) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory in the layout pass");
        goto done;
    }
    for (int pass = 0; pass < passes; pass++) {
        double score = 0;
        c.permissive = pass == 1;
        memset(c.forbid, 0, nn);
        for (int round = 0; round < 8; round++) {
            assign(&c);
            if (!weigh_regions(&c, cost, true, &score)) break;
        }
        assign(&c);
        weigh_regions(&c, cost, false, &score);
        if (pass == 0 || score > best) {
            best = score;
            best_pass = pass;
            memcpy(best_forbid, c.forbid, nn);
        }
    }
    c.permissive = best_pass == 1;
    memcpy(c.forbid, best_forbid, nn);
    lens_free(best_forbid);
    assign(&c);
    bool any = false;
    for (int32_t i = 0; i < c.nn; i++) any |= c.nhwc[i];
    if (any) st = rewrite(&c);
done:
    for (int32_t k = 0; k < g->n_outputs; k++) {
        lens_value *o = &g->values[g->outputs[k]];
        o->dtype = saved[k].dtype;
        o->ndim = saved[k].ndim;
        o->dims = (int64_t *)(uintptr_t)saved_dims[k];
    }
    lens_free(saved);
    lens_free(saved_dims);
    lens_free(c.kind);
    lens_free(c.nhwc);
    lens_free(c.forbid);
    lens_free(c.tout);
    lens_free(c.lay);
    lens_free(c.rank);
    lens_free(c.one);
    lens_free(c.pinned);
    lens_free(c.uf);
    lens_free(c.cstart);
    lens_free(c.clist);
    lens_free(cost);
    return st;
}
