/* Load-time graph optimisation. Every rewrite here preserves the ONNX
 * semantics of the graph exactly (up to float rounding in BN folding):
 *   1. Identity / inference Dropout removal (uses rewired to the input).
 *   2. Constant folding: a deterministic node whose inputs are all
 *      constants is run once and replaced by its outputs.
 *   3. Conv + BatchNormalization folding into the Conv's weights and bias.
 *   4. Residual fusion: Add(Conv(x), y) -> Conv(x) + y in the epilogue
 *      (y becomes the Conv's 4th input).
 *   5. Activation fusion into Conv / Gemm epilogues (Relu, Clip, Sigmoid,
 *      HardSigmoid, LeakyRelu, Tanh, HardSwish, and the x*sigmoid(x) and
 *      x*hardsigmoid(x) patterns that exporters emit for SiLU/HardSwish).
 *   6. MatMul epilogues (MatMul with a constant 2-D float B): a following
 *      Add of a constant per-column bias becomes input 2, a Mul by a
 *      constant per-column scale (directly, or after a Transpose that moves
 *      the column axis, as ConvNeXt's layer scale) becomes input 3 and is
 *      folded into the packed weights at load (ops/gemm.c).
 *   7. The exact-erf GELU pattern x * (erf(x / sqrt 2) + 1) * 0.5 after a
 *      Conv / Gemm / MatMul becomes the fused LENS_ACT_GELU (with 5).
 *   8. Dead node removal.
 *   9. The layout pass (graph/layout.c): channels-last regions.
 * Values that subgraphs read by name (implicit inputs) and graph outputs
 * are never renamed away. */
#include <math.h>
#include <stdio.h>

#include "core/tensor.h"
#include "runtime/runtime.h"

static bool is_op(const lens_node *n, const char *op) { return !n->dead && !n->domain[0] && !strcmp(n->op_type, op); }

/* Number of live node inputs (explicit and implicit) that read v. */
static int32_t count_uses(const lens_graph *g, int32_t v, int32_t *only_user) {
    int32_t c = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == v) c++, *only_user = i;
        for (int32_t k = 0; k < n->n_implicit; k++)
            if (n->implicit[k] == v) c += 1000; /* pinned */
    }
    if (g->values[v].is_output) c += 1000;
    return c;
}

static bool used_implicitly(const lens_graph *g, int32_t v) {
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_implicit; k++)
            if (!g->nodes[i].dead && g->nodes[i].implicit[k] == v) return true;
    return false;
}

static void replace_uses(lens_graph *g, int32_t from, int32_t to) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) n->inputs[k] = to;
    }
}

/* 1 */
static void remove_identities(lens_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        bool ident = is_op(n, "Identity") && n->n_inputs == 1;
        if (is_op(n, "Dropout")) {
            /* inference dropout is identity unless training_mode is set or
             * the mask output is used */
            const lens_tensor *tm = lens_node_const_input(g, n, 2);
            bool training = n->n_inputs > 2 && n->inputs[2] >= 0 && (!tm || lens_tensor_get_i64(tm, 0) != 0);
            bool mask_used = n->n_outputs > 1 && n->outputs[1] >= 0 && g->values[n->outputs[1]].n_consumers > 0;
            ident = !training && !mask_used && n->n_inputs >= 1;
        }
        if (!ident || n->inputs[0] < 0 || n->outputs[0] < 0) continue;
        int32_t in = n->inputs[0], out = n->outputs[0];
        if (g->values[out].is_output || used_implicitly(g, out)) continue;
        replace_uses(g, out, in);
        n->dead = true;
    }
}

static lens_tensor *arena_tensor(lens_graph *g, const lens_tensor *src) {
    lens_tensor *t = lens_arena_alloc(g->arena, sizeof *t);
    if (!t) return NULL;
    *t = *src;
    size_t bytes = 0;
    lens_tensor_nbytes(src, &bytes);
    t->data = bytes >= LENS_ARENA_PIECE_MIN ? lens_arena_alloc_releasable(g->arena, bytes)
                                            : lens_arena_alloc(g->arena, bytes ? bytes : 1);
    if (!t->data) return NULL;
    if (bytes) memcpy(t->data, src->data, bytes);
    return t;
}

/* 2 */
static lens_status fold_constants(lens_graph *g) {
    /* Folded tensors stay in the model: their total is held to the memory
     * plan limit, so that a small file of Expand/Tile/ConstantOfShape on
     * constants cannot make the load allocate without bound. Nodes past the
     * budget are simply left to run. */
    size_t folded = 0, budget = g->limits && g->limits->max_plan_bytes ? (size_t)g->limits->max_plan_bytes : SIZE_MAX;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        if (n->dead || !n->op || n->n_implicit || n->n_inputs == 0) continue;
        if (n->op->flags & (LENS_OPF_NONDETERMINISTIC | LENS_OPF_CONTROL_FLOW)) continue;
        bool all_const = true;
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0 && !lens_node_const_input(g, n, k)) all_const = false;
        if (!all_const) continue;
        bool pinned_out = false;
        for (int32_t k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0 && g->values[n->outputs[k]].is_output) pinned_out = true;
        (void)pinned_out; /* a constant graph output is fine: the runtime serves it */
        lens_tensor outs[16];
        if (n->n_outputs > 16) continue;
        memset(outs, 0, sizeof outs);
        lens_status st = LENS_OK;
        if (n->op->init) st = n->op->init(g, n);
        if (st == LENS_OK) st = lens_exec_node_once(g, n, outs);
        if (n->op->fini && n->state) n->op->fini(n);
        n->state = NULL;
        n->packed_inputs = 0; /* that init's packing is gone with its state */
        n->state_bytes = 0;
        if (st != LENS_OK) {
            /* Leave it to fail (or succeed) at run time with full context:
             * folding is an optimisation, not validation. */
            for (int32_t k = 0; k < n->n_outputs; k++) lens_aligned_free(outs[k].data);
            lens_error_clear();
            continue;
        }
        size_t out_bytes = 0;
        for (int32_t k = 0; k < n->n_outputs; k++) {
            size_t b = 0;
            if (n->outputs[k] >= 0 && lens_tensor_nbytes(&outs[k], &b)) out_bytes += b;
        }
        if (out_bytes > budget - folded) {
            for (int32_t k = 0; k < n->n_outputs; k++) lens_aligned_free(outs[k].data);
            continue;
        }
        folded += out_bytes;
        bool ok = true;
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            if (v < 0) continue;
            lens_tensor *t = arena_tensor(g, &outs[k]);
            if (!t) ok = false;
            else g->values[v].constant = t;
        }
        for (int32_t k = 0; k < n->n_outputs; k++) lens_aligned_free(outs[k].data);
        if (!ok) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory folding constants");
        n->dead = true;
    }
    return LENS_OK;
}

/* Give node n room for 4 inputs (Conv: X, W, B, residual). */
static lens_status widen_inputs(lens_graph *g, lens_node *n, int32_t count) {
    if (n->n_inputs >= count) return LENS_OK;
    int32_t *in = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)count);
    if (!in) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int32_t k = 0; k < count; k++) in[k] = k < n->n_inputs ? n->inputs[k] : -1;
    n->inputs = in;
    n->n_inputs = count;
    return LENS_OK;
}

static int32_t new_constant(lens_graph *g, const char *base, const char *suffix, lens_tensor *t) {
    char name[512];
    for (int k = 0;; k++) {
        snprintf(name, sizeof name, "%s%s%d", base, suffix, k);
        if (lens_graph_find(g, name) < 0) break;
    }
    int32_t v = lens_graph_value(g, name);
    if (v < 0) return -1;
    g->values[v].constant = t;
    g->values[v].dtype = t->dtype;
    return v;
}

/* 3: y = s*(conv(x) + b - mean) + beta, s = gamma / sqrt(var + eps) */
static lens_status fold_batchnorm(lens_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *bn = &g->nodes[i];
        if (!is_op(bn, "BatchNormalization") || bn->n_inputs < 5 || bn->inputs[0] < 0) continue;
        if (bn->n_outputs > 1) {
            bool extra = false;
            for (int32_t k = 1; k < bn->n_outputs; k++)
                if (bn->outputs[k] >= 0 && g->values[bn->outputs[k]].n_consumers) extra = true;
            if (extra) continue;
        }
        if (lens_node_attr_int(bn, "training_mode", 0)) continue;
        int32_t xv = bn->inputs[0];
        int32_t pc = g->values[xv].producer;
        if (pc < 0) continue;
        lens_node *conv = &g->nodes[pc];
        if (!is_op(conv, "Conv") || conv->fused_act || conv->n_inputs > 3) continue;
        int32_t user = -1;
        if (count_uses(g, xv, &user) != 1) continue;
        const lens_tensor *w = lens_node_const_input(g, conv, 1);
        const lens_tensor *b = conv->n_inputs > 2 ? lens_node_const_input(g, conv, 2) : NULL;
        if (!w || w->dtype != LENS_DTYPE_FLOAT || w->ndim < 3) continue;
        if (conv->n_inputs > 2 && conv->inputs[2] >= 0 && !b) continue;
        const lens_tensor *sc = lens_node_const_input(g, bn, 1), *bi = lens_node_const_input(g, bn, 2),
                          *mu = lens_node_const_input(g, bn, 3), *var = lens_node_const_input(g, bn, 4);
        if (!sc || !bi || !mu || !var) continue;
        int64_t co = w->dims[0];
        const lens_tensor *ps[4] = {sc, bi, mu, var};
        bool ok = true;
        for (int k = 0; k < 4; k++)
            ok &= ps[k]->dtype == LENS_DTYPE_FLOAT && lens_tensor_numel(ps[k]) == co;
        if (b) ok &= b->dtype == LENS_DTYPE_FLOAT && lens_tensor_numel(b) == co;
        if (!ok) continue;
        float eps = lens_node_attr_float(bn, "epsilon", 1e-5f);
        int64_t per = lens_tensor_numel(w) / (co ? co : 1);
        lens_tensor nw = *w, nb = {LENS_DTYPE_FLOAT, 1, {co}, NULL};
        /* The folded W is what Conv packs: a releasable piece when large
         * (the model frees it after packing, as it does parsed copies). */
        size_t nw_bytes = sizeof(float) * (size_t)lens_tensor_numel(w);
        nw.data = nw_bytes >= LENS_ARENA_PIECE_MIN ? lens_arena_alloc_releasable(g->arena, nw_bytes)
                                                   : lens_arena_alloc(g->arena, nw_bytes ? nw_bytes : 1);
        nb.data = lens_arena_alloc(g->arena, sizeof(float) * (size_t)(co ? co : 1));
        lens_tensor *tw = lens_arena_alloc(g->arena, sizeof *tw), *tb = lens_arena_alloc(g->arena, sizeof *tb);
        if (!nw.data || !nb.data || !tw || !tb) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        const float *W = w->data, *S = sc->data, *Bi = bi->data, *M = mu->data, *V = var->data;
        float *NW = nw.data, *NB = nb.data;
        for (int64_t c = 0; c < co; c++) {
            double s = S[c] / sqrt((double)V[c] + eps);
            for (int64_t j = 0; j < per; j++) NW[c * per + j] = (float)(W[c * per + j] * s);
            double b0 = b ? ((const float *)b->data)[c] : 0.0;
            NB[c] = (float)((b0 - M[c]) * s + Bi[c]);
        }
        *tw = nw;
        *tb = nb;
        const char *wname = g->values[conv->inputs[1]].name;
        int32_t wv = new_constant(g, wname, "__bnfold_w", tw);
        int32_t bv = wv < 0 ? -1 : new_constant(g, wname, "__bnfold_b", tb);
        if (wv < 0 || bv < 0) return LENS_STATUS_OUT_OF_MEMORY;
        conv = &g->nodes[pc];
        bn = &g->nodes[i];
        LENS_TRY(widen_inputs(g, conv, 3));
        conv->inputs[1] = wv;
        conv->inputs[2] = bv;
        conv->outputs[0] = bn->outputs[0];
        bn->dead = true;
    }
    return LENS_OK;
}

/* 4 */
static lens_status fuse_residual(lens_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *add = &g->nodes[i];
        if (!is_op(add, "Add") || add->n_inputs != 2 || add->inputs[0] < 0 || add->inputs[1] < 0) continue;
        for (int side = 0; side < 2; side++) {
            int32_t cv = add->inputs[side], other = add->inputs[1 - side];
            int32_t pc = g->values[cv].producer;
            if (pc < 0 || cv == other) continue;
            lens_node *conv = &g->nodes[pc];
            if (!is_op(conv, "Conv") || conv->fused_act || conv->n_inputs > 3) continue;
            /* The residual must be a full activation of the same shape: take
             * only non-constant values made by ops that keep NCHW shapes.
             * The Conv kernel still checks the shape at run time. */
            if (g->values[other].constant) continue;
            int32_t up = -1;
            if (count_uses(g, cv, &up) != 1) continue;
            /* the residual must be computed before the conv runs */
            int32_t po = g->values[other].producer;
            if (po > pc) continue;
            LENS_TRY(widen_inputs(g, conv, 4));
            conv->inputs[3] = other;
            conv->outputs[0] = add->outputs[0];
            add->dead = true;
            break;
        }
    }
    return LENS_OK;
}

/* A float32 scalar constant (one element, rank <= 1, so broadcasting it
 * never changes the other operand's shape); its value in *v. */
static bool scalar_const(const lens_graph *g, const lens_node *n, int32_t k, float *v) {
    const lens_tensor *t = lens_node_const_input(g, n, k);
    if (!t || t->dtype != LENS_DTYPE_FLOAT || t->ndim > 1 || lens_tensor_numel(t) != 1) return false;
    *v = ((const float *)t->data)[0];
    return true;
}

/* A MatMul the GEMM epilogue can take: B a constant 2-D float matrix with
 * K, N >= 1 (packed at load), no activation fused yet and at most
 * `max_inputs` inputs (2: nothing fused, 3: a bias, 4: bias and scale). *N
 * is B's column count. */
static bool matmul_target(const lens_graph *g, const lens_node *n, int32_t max_inputs, int64_t *N) {
    if (!is_op(n, "MatMul") || n->n_inputs < 2 || n->n_inputs > max_inputs || n->n_outputs != 1) return false;
    if (n->inputs[0] < 0 || n->outputs[0] < 0 || n->fused_act) return false;
    const lens_tensor *b = lens_node_const_input(g, n, 1);
    if (!b || b->dtype != LENS_DTYPE_FLOAT || b->ndim != 2 || b->dims[0] < 1 || b->dims[1] < 1) return false;
    *N = b->dims[1];
    return true;
}

/* The rank of MatMul n's output when its A input's rank is known, else -1
 * (with a 2-D B: rank(A), or 1 for a 1-D A). */
static int32_t matmul_out_rank(const lens_graph *g, const lens_node *n) {
    int32_t r = g->values[n->inputs[0]].ndim;
    return r < 1 ? -1 : r;
}

/* c is a float constant of N elements that broadcasts along axis `axis` of a
 * rank-`rank` tensor whose size there is N (every other dim of c is 1), and
 * does not raise the rank: rank(c) <= rank (rank < 0: unknown, then only
 * rank(c) <= 1 passes). */
static bool column_const(const lens_tensor *c, int64_t N, int32_t rank, int32_t axis) {
    if (!c || c->dtype != LENS_DTYPE_FLOAT || lens_tensor_numel(c) != N) return false;
    if (c->ndim > (rank < 0 ? 1 : rank)) return false;
    if (rank < 0) rank = 1, axis = 0;
    for (int32_t i = 0; i < c->ndim; i++) {
        int32_t j = rank - c->ndim + i; /* aligned to the right */
        if (c->dims[i] != (j == axis ? N : 1)) return false;
    }
    return true;
}

/* 6: bias and column scale into MatMul. */
static lens_status fuse_matmul_epilogues(lens_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *mm = &g->nodes[i];
        int64_t N;
        if (!matmul_target(g, mm, 2, &N)) continue;
        int32_t rank = matmul_out_rank(g, mm);
        int32_t y = mm->outputs[0], user = -1;
        if (count_uses(g, y, &user) != 1) continue;
        lens_node *add = &g->nodes[user];
        if (!is_op(add, "Add") || add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] < 0) continue;
        int side = add->inputs[0] == y ? 1 : 0;
        if (add->inputs[1 - side] != y || add->inputs[side] < 0) continue;
        const lens_tensor *bias = lens_node_const_input(g, add, side);
        if (!column_const(bias, N, rank, rank - 1)) continue;
        int32_t bv = add->inputs[side];
        LENS_TRY(widen_inputs(g, mm, 3));
        mm->inputs[2] = bv;
        mm->outputs[0] = add->outputs[0];
        add->dead = true;
    }
    lens_graph_relink(g);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *mm = &g->nodes[i];
        int64_t N;
        if (!matmul_target(g, mm, 3, &N)) continue;
        int32_t rank = matmul_out_rank(g, mm);
        int32_t y = mm->outputs[0], user = -1;
        if (count_uses(g, y, &user) != 1) continue;
        lens_node *u = &g->nodes[user];
        lens_node *tr = NULL;
        int32_t axis = rank - 1;
        if (is_op(u, "Transpose") && u->n_inputs == 1 && u->n_outputs == 1 && u->outputs[0] >= 0) {
            /* Transpose(y, perm) then Mul: the column axis (rank-1) lands on
             * the output axis j with perm[j] == rank-1. */
            int64_t np = 0;
            const int64_t *perm = lens_node_attr_ints(u, "perm", &np);
            if (!perm || np < 1 || np > LENS_MAX_DIMS || (rank >= 0 && np != rank)) continue;
            rank = (int32_t)np;
            axis = -1;
            for (int32_t j = 0; j < rank; j++)
                if (perm[j] == rank - 1) axis = j;
            if (axis < 0) continue;
            int32_t tv = u->outputs[0], u2 = -1;
            if (count_uses(g, tv, &u2) != 1) continue;
            tr = u;
            u = &g->nodes[u2];
            y = tv;
        }
        if (!is_op(u, "Mul") || u->n_inputs != 2 || u->n_outputs != 1 || u->outputs[0] < 0) continue;
        int side = u->inputs[0] == y ? 1 : 0;
        if (u->inputs[1 - side] != y || u->inputs[side] < 0) continue;
        const lens_tensor *sc = lens_node_const_input(g, u, side);
        if (!column_const(sc, N, rank, axis)) continue;
        int32_t sv = u->inputs[side];
        LENS_TRY(widen_inputs(g, mm, 4));
        mm->inputs[3] = sv;
        if (tr) tr->outputs[0] = u->outputs[0];
        else mm->outputs[0] = u->outputs[0];
        u->dead = true;
    }
    return LENS_OK;
}

static bool fusable_target(const lens_graph *g, const lens_node *n) {
    int64_t N;
    if (is_op(n, "MatMul")) return matmul_target(g, n, 4, &N);
    return is_op(n, "Conv") || (is_op(n, "Gemm"));
}

/* The only live node reading value v, or NULL (also when v is pinned). */
static lens_node *sole_user(lens_graph *g, int32_t v) {
    int32_t u = -1;
    return v >= 0 && count_uses(g, v, &u) == 1 ? &g->nodes[u] : NULL;
}

/* The operand of binary node n that is not v (v must be one of them);
 * -2 if n reads v twice or not at all. */
static int32_t other_operand(const lens_node *n, int32_t v) {
    if (n->n_inputs != 2 || n->n_outputs != 1 || n->outputs[0] < 0) return -2;
    if (n->inputs[0] == v && n->inputs[1] != v) return 1;
    if (n->inputs[1] == v && n->inputs[0] != v) return 0;
    return -2;
}

/* 7: y used exactly twice, by the exact-erf GELU as PyTorch and
 * TensorFlow export it:
 *   d = y / sqrt2 (or y * (1/sqrt2)), e = Erf(d), a = e + 1,
 *   then (y * a) * 0.5  or  (y * 0.5) * a   (any operand order).
 * Every intermediate must be read only by the next step. On a match the
 * five (or so) nodes are marked dead and the value the pattern produces is
 * returned; otherwise -1 and nothing changed. */
static int32_t match_gelu(lens_graph *g, int32_t y) {
    const float sqrt2 = 1.41421356237309505f;
    lens_node *d = NULL, *m1 = NULL;
    for (int32_t j = 0; j < g->n_nodes; j++) {
        lens_node *n = &g->nodes[j];
        if (n->dead) continue;
        int k = other_operand(n, y);
        if (k < 0) continue;
        float c;
        if (is_op(n, "Div") && k == 1 && scalar_const(g, n, 1, &c) && fabsf(c - sqrt2) <= 1e-6f) d = n;
        else if (is_op(n, "Mul") && scalar_const(g, n, k, &c) && fabsf(c - 1.0f / sqrt2) <= 1e-6f) d = n;
        else if (is_op(n, "Mul")) m1 = n;
    }
    if (!d || !m1) return -1;
    lens_node *e = sole_user(g, d->outputs[0]);
    if (!e || !is_op(e, "Erf") || e->n_inputs != 1 || e->n_outputs != 1 || e->outputs[0] < 0) return -1;
    lens_node *a = sole_user(g, e->outputs[0]);
    int k;
    float c;
    if (!a || !is_op(a, "Add") || (k = other_operand(a, e->outputs[0])) < 0 || !scalar_const(g, a, k, &c) ||
        c != 1.0f)
        return -1;
    /* m1 = y * s where s is either a (then m2 = m1 * 0.5) or 0.5 (then m2 = m1 * a) */
    int32_t s = m1->inputs[other_operand(m1, y)];
    lens_node *m2 = sole_user(g, m1->outputs[0]);
    if (!m2 || !is_op(m2, "Mul") || (k = other_operand(m2, m1->outputs[0])) < 0) return -1;
    if (s == a->outputs[0]) {
        if (!scalar_const(g, m2, k, &c) || c != 0.5f) return -1;
    } else {
        if (!scalar_const(g, m1, other_operand(m1, y), &c) || c != 0.5f) return -1;
        if (m2->inputs[k] != a->outputs[0]) return -1;
    }
    if (sole_user(g, a->outputs[0]) == NULL) return -1;
    d->dead = e->dead = a->dead = m1->dead = m2->dead = true;
    return m2->outputs[0];
}

/* 5 */
static lens_status fuse_activations(lens_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        if (!fusable_target(g, n) || n->fused_act || n->outputs[0] < 0) continue;
        if (n->n_outputs != 1) continue;
        int32_t y = n->outputs[0];
        int32_t user = -1;
        int32_t uses = count_uses(g, y, &user);
        if (uses == 1) {
            lens_node *a = &g->nodes[user];
            if (a->n_inputs < 1 || a->inputs[0] != y) continue;
            lens_act act = LENS_ACT_NONE;
            float alpha = 0, beta = 0;
            if (is_op(a, "Relu")) act = LENS_ACT_RELU;
            else if (is_op(a, "Sigmoid")) act = LENS_ACT_SIGMOID;
            else if (is_op(a, "Tanh")) act = LENS_ACT_TANH;
            else if (is_op(a, "HardSwish")) act = LENS_ACT_HARDSWISH;
            else if (is_op(a, "LeakyRelu")) act = LENS_ACT_LEAKYRELU, alpha = lens_node_attr_float(a, "alpha", 0.01f);
            else if (is_op(a, "HardSigmoid"))
                act = LENS_ACT_HARDSIGMOID, alpha = lens_node_attr_float(a, "alpha", 0.2f),
                beta = lens_node_attr_float(a, "beta", 0.5f);
            else if (is_op(a, "Clip")) {
                float lo = -INFINITY, hi = INFINITY;
                bool ok = true;
                if (a->opset < 11) {
                    lo = lens_node_attr_float(a, "min", -3.4028234663852886e38f);
                    hi = lens_node_attr_float(a, "max", 3.4028234663852886e38f);
                } else {
                    for (int k = 1; k <= 2; k++) {
                        if (a->n_inputs <= k || a->inputs[k] < 0) continue;
                        const lens_tensor *t = lens_node_const_input(g, a, k);
                        if (!t || t->dtype != LENS_DTYPE_FLOAT || lens_tensor_numel(t) != 1) {
                            ok = false;
                            break;
                        }
                        float v = ((const float *)t->data)[0];
                        if (k == 1) lo = v;
                        else hi = v;
                    }
                }
                if (ok) act = LENS_ACT_CLIP, alpha = lo, beta = hi;
            }
            if (act == LENS_ACT_NONE || a->n_outputs < 1 || a->outputs[0] < 0) continue;
            n->fused_act = act;
            n->fused_alpha = alpha;
            n->fused_beta = beta;
            n->outputs[0] = a->outputs[0];
            a->dead = true;
        } else if (uses == 2) {
            int32_t gelu = match_gelu(g, y);
            if (gelu >= 0) {
                n = &g->nodes[i];
                n->fused_act = LENS_ACT_GELU;
                n->outputs[0] = gelu;
                continue;
            }
            /* x * sigmoid(x)  and  x * hardsigmoid(x; 1/6, 1/2) */
            int32_t gate = -1, mul = -1;
            for (int32_t j = i + 1; j < g->n_nodes; j++) {
                lens_node *m = &g->nodes[j];
                if (m->dead) continue;
                for (int32_t k = 0; k < m->n_inputs; k++)
                    if (m->inputs[k] == y) {
                        if ((is_op(m, "Sigmoid") || is_op(m, "HardSigmoid")) && k == 0) gate = j;
                        else if (is_op(m, "Mul")) mul = j;
                    }
            }
            if (gate < 0 || mul < 0) continue;
            lens_node *gn = &g->nodes[gate], *mn = &g->nodes[mul];
            int32_t gv = gn->outputs[0];
            if (gv < 0 || mn->n_inputs != 2) continue;
            if (!((mn->inputs[0] == y && mn->inputs[1] == gv) || (mn->inputs[1] == y && mn->inputs[0] == gv))) continue;
            int32_t u2 = -1;
            if (count_uses(g, gv, &u2) != 1) continue;
            lens_act act = LENS_ACT_SILU;
            if (is_op(gn, "HardSigmoid")) {
                float al = lens_node_attr_float(gn, "alpha", 0.2f), be = lens_node_attr_float(gn, "beta", 0.5f);
                if (fabsf(al - 1.0f / 6.0f) > 1e-6f || fabsf(be - 0.5f) > 1e-6f) continue;
                act = LENS_ACT_HARDSWISH;
            }
            n->fused_act = act;
            n->outputs[0] = mn->outputs[0];
            gn->dead = true;
            mn->dead = true;
        }
    }
    return LENS_OK;
}

/* 8 */
static void remove_dead(lens_graph *g) {
    bool changed = true;
    while (changed) {
        changed = false;
        lens_graph_relink(g);
        for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
            lens_node *n = &g->nodes[i];
            if (n->dead || (n->op && (n->op->flags & LENS_OPF_NONDETERMINISTIC))) continue;
            bool used = false;
            for (int32_t k = 0; k < n->n_outputs; k++)
                if (n->outputs[k] >= 0 && g->values[n->outputs[k]].n_consumers > 0) used = true;
            if (!used) {
                n->dead = true;
                changed = true;
            }
        }
    }
}

/* Conv/BN/activation rewrites move a node's output to another value: the
 * relinked producer indices keep the runtime's view consistent. */
lens_status lens_graph_optimize(lens_graph *g, lens_model_layout layout) {
    remove_identities(g);
    lens_graph_relink(g);
    LENS_TRY(fold_constants(g));
    lens_graph_relink(g);
    LENS_TRY(fold_batchnorm(g));
    lens_graph_relink(g);
    LENS_TRY(fuse_residual(g));
    lens_graph_relink(g);
    LENS_TRY(fuse_matmul_epilogues(g));
    lens_graph_relink(g);
    LENS_TRY(fuse_activations(g));
    remove_dead(g);
    lens_graph_relink(g);
    /* a rewired graph output produced directly by a constant: make sure the
     * value flags stay right */
    for (int32_t k = 0; k < g->n_outputs; k++) g->values[g->outputs[k]].is_output = true;
    return lens_graph_layout(g, layout);
}
