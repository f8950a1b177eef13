/* Gemm (ONNX opset 1, 6, 7, 9, 11, 13) and MatMul (opset 1, 9, 13).
 * Gemm: Y = alpha * A' * B' + beta * C, C unidirectionally broadcast to
 * (M, N) (optional from opset 11), plus the optimiser's fused activation.
 * MatMul: numpy matmul semantics (1-D operands promoted then squeezed,
 * leading dims broadcast). float32 runs on the packed GEMM kernels, with a
 * constant B packed once at load; double/int32/int64/uint* use a simple
 * loop.
 *
 * Fused MatMul (set up by graph/optimize.c, only with a constant 2-D float
 * B of shape K x N): optional input 2 is a per-column bias and optional
 * input 3 a per-column scale, both N floats (any shape of N elements), and
 * the node may carry a fused activation:
 *     Y = act((A·B + bias) * scale)
 * The scale is folded into the packed B at load (one packed copy, as
 * before) and the bias, pre-scaled, goes through the micro-kernels'
 * epilogue as a residual row with row stride 0; paths that do not use the
 * packed B apply the same formula after the product. */
#include "kernels/gemm.h"
#include "ops/op.h"

typedef struct gemm_state {
    const lens_f32_gemm_variant *v;
    float *packed_b; /* B as the GEMM's packed B operand (N x K view), owned */
    float *bias;     /* fused MatMul: N floats of bias * scale, owned; or NULL */
    int64_t K, N;
} gemm_state;

/* Multiply column j of a packed B (lens_f32_pack_full layout, N x K view
 * with `nr`-column panels) by scale[j]. */
static void scale_packed_columns(float *p, size_t N, size_t K, size_t nr, const float *scale) {
    size_t npad = lens_round_up(N, nr);
    for (size_t k0 = 0; k0 < K; k0 += LENS_GEMM_KC) {
        size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, K - k0);
        float *blk = p + k0 * npad;
        for (size_t j0 = 0; j0 < N; j0 += nr) {
            float *panel = blk + j0 * kc;
            size_t w = LENS_MIN(nr, N - j0);
            for (size_t k = 0; k < kc; k++)
                for (size_t t = 0; t < w; t++) panel[k * nr + t] *= scale[j0 + t];
        }
    }
}

/* scale: N floats multiplied into B's columns, or NULL (borrowed for the
 * call). */
static lens_status pack_b_state(lens_node *node, const lens_tensor *b, bool trans, const float *scale) {
    int64_t K = trans ? b->dims[1] : b->dims[0], N = trans ? b->dims[0] : b->dims[1];
    if (K < 1 || N < 1) return LENS_OK;
    gemm_state *s = lens_malloc(sizeof *s);
    if (!s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for GEMM state");
    s->v = lens_f32_gemm_best();
    s->K = K, s->N = N;
    size_t f, bytes;
    if (!lens_f32_gemm_packed_size((size_t)N, s->v->nr, (size_t)K, &f) ||
        lens_mul_ovf_size(f, sizeof(float), &bytes) || !(s->packed_b = lens_aligned_alloc(bytes))) {
        lens_free(s);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory packing B");
    }
    lens_f32_matrix m = {b->data, trans ? (size_t)K : 1, trans ? 1 : (size_t)N, 1.0f};
    lens_f32_pack_full(&m, (size_t)N, (size_t)K, s->v->nr, s->packed_b);
    s->bias = NULL;
    if (scale) scale_packed_columns(s->packed_b, (size_t)N, (size_t)K, s->v->nr, scale);
    node->state = s;
    node->state_bytes = bytes;
    return LENS_OK;
}

static void gemm_fini(lens_node *node) {
    gemm_state *s = node->state;
    if (!s) return;
    lens_aligned_free(s->packed_b);
    lens_free(s->bias);
    lens_free(s);
    node->state = NULL;
}

/* s: the node's packed B, or NULL to multiply by g->b as given. With s,
 * B is never read from g->b (the constant may have been released after
 * load): a product that does not match the packed shape is an internal
 * error (B is constant, so it cannot happen). */
static lens_status run_f32_gemm(lens_exec *ex, lens_f32_gemm_args *g, const gemm_state *s) {
    const lens_f32_gemm_variant *v = lens_f32_gemm_best();
    if (s) {
        if (g->K != (size_t)s->K || g->N != (size_t)s->N || s->v != v)
            return lens_error(LENS_STATUS_INTERNAL, "packed B is %lld x %lld, the product needs %zu x %zu",
                              (long long)s->K, (long long)s->N, g->K, g->N);
        g->b = (lens_f32_gemm_operand){.packed = s->packed_b};
    }
    lens_threadpool *pool = lens_exec_pool(ex);
    size_t f = lens_f32_gemm_scratch_floats(v, g, lens_threadpool_size(pool)), bytes;
    if (lens_mul_ovf_size(f + 16, sizeof(float), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "GEMM scratch overflows");
    float *scratch = lens_exec_scratch(ex, bytes);
    if (!scratch) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for GEMM scratch");
    lens_f32_gemm(v, pool, g, scratch);
    return LENS_OK;
}

/* ---- Gemm --------------------------------------------------------------- */

static lens_status gemm_init(lens_graph *g, lens_node *node) {
    const lens_tensor *b = lens_node_const_input(g, node, 1);
    if (!b || b->dtype != LENS_DTYPE_FLOAT || b->ndim != 2) return LENS_OK;
    LENS_TRY(pack_b_state(node, b, lens_node_attr_int(node, "transB", 0) != 0, NULL));
    /* gemm_run multiplies by the packed B whenever there is one. */
    if (node->state) lens_node_mark_packed(node, 1);
    return LENS_OK;
}

static lens_status gemm_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *a = lens_exec_input(ex, 0), *b = lens_exec_input(ex, 1);
    const lens_tensor *c = lens_exec_input(ex, 2);
    if (!a || !b) return lens_error(LENS_STATUS_INVALID_MODEL, "Gemm needs A and B");
    if (a->dtype != LENS_DTYPE_FLOAT || b->dtype != LENS_DTYPE_FLOAT ||
        (c && c->dtype != LENS_DTYPE_FLOAT))
        return lens_error(LENS_STATUS_UNSUPPORTED, "Gemm supports float32 only (A is %s)",
                          lens_dtype_name(a->dtype));
    if (a->ndim != 2 || b->ndim != 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Gemm needs 2-D A and B (ranks %d, %d)",
                          a->ndim, b->ndim);
    bool ta = lens_node_attr_int(node, "transA", 0) != 0;
    bool tb = lens_node_attr_int(node, "transB", 0) != 0;
    float alpha = lens_node_attr_float(node, "alpha", 1.0f);
    float beta = lens_node_attr_float(node, "beta", 1.0f);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Gemm inner dimensions differ (%lld vs %lld)",
                          (long long)K, (long long)Kb);
    /* C: unidirectional broadcast to (M, N). */
    int64_t cs_m = 0, cs_n = 0;
    if (c) {
        if (c->ndim > 2)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Gemm C has rank %d", c->ndim);
        int64_t cm = c->ndim == 2 ? c->dims[0] : 1;
        int64_t cn = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
        if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Gemm C of shape [%lld, %lld] does not broadcast to [%lld, %lld]",
                              (long long)cm, (long long)cn, (long long)M, (long long)N);
        cs_n = cn == 1 ? 0 : 1;
        cs_m = cm == 1 ? 0 : cn;
    }
    int64_t dims[2] = {M, N};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, 2, dims, &y));
    if (M == 0 || N == 0) return LENS_OK;
    float *yd = y->data;
    bool acc = c && beta != 0.0f;
    if (acc) {
        const float *cd = c->data;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) yd[i * N + j] = beta * cd[i * cs_m + j * cs_n];
    }
    lens_f32_matrix am = {a->data, ta ? 1 : (size_t)K, ta ? (size_t)M : 1, alpha};
    lens_f32_matrix bm = {b->data, tb ? (size_t)K : 1, tb ? 1 : (size_t)N, 1.0f};
    lens_f32_gemm_args g = {0};
    g.M = (size_t)M, g.N = (size_t)N, g.K = (size_t)K;
    g.a.m = &am;
    g.b.m = &bm;
    g.c = yd, g.ldc = (size_t)N;
    g.accumulate = acc;
    g.act = (lens_act_params){node->fused_act, node->fused_alpha, node->fused_beta};
    return run_f32_gemm(ex, &g, node->state);
}

/* ---- MatMul ------------------------------------------------------------- */

/* The fused MatMul's per-column operand k (2: bias, 3: scale) as N floats,
 * or NULL when absent or not N floats. */
static const float *column_operand(const lens_tensor *t, int64_t N) {
    if (!t || t->dtype != LENS_DTYPE_FLOAT || lens_tensor_numel(t) != N) return NULL;
    return t->data;
}

static lens_status matmul_init(lens_graph *g, lens_node *node) {
    const lens_tensor *b = lens_node_const_input(g, node, 1);
    if (!b || b->dtype != LENS_DTYPE_FLOAT || b->ndim != 2) return LENS_OK;
    int64_t N = b->dims[1];
    const float *bias = NULL, *scale = NULL;
    if (node->n_inputs > 2 && node->inputs[2] >= 0) {
        bias = column_operand(lens_node_const_input(g, node, 2), N);
        if (!bias) return LENS_OK; /* not foldable: run() applies it */
    }
    if (node->n_inputs > 3 && node->inputs[3] >= 0) {
        scale = column_operand(lens_node_const_input(g, node, 3), N);
        if (!scale) return LENS_OK;
    }
    LENS_TRY(pack_b_state(node, b, false, scale));
    gemm_state *s = node->state;
    if (!s) return LENS_OK;
    if (bias) {
        if (!(s->bias = lens_malloc(sizeof(float) * (size_t)N))) {
            gemm_fini(node);
            node->state_bytes = 0;
            return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for the MatMul bias");
        }
        for (int64_t j = 0; j < N; j++) s->bias[j] = scale ? bias[j] * scale[j] : bias[j];
    }
    /* With a state, matmul_run always multiplies by the packed B (a 2-D
     * constant B is one matrix shared by every batch, and the fused bias and
     * scale were folded here): B's data is never read again. The bias and
     * scale inputs are still read by run (their shapes): not marked. */
    lens_node_mark_packed(node, 1);
    return LENS_OK;
}

/* The fused MatMul epilogue after a plain product: rows of N floats at y,
 * y = act((y + bias) * scale); bias, scale: N floats or NULL. */
static void matmul_epilogue_rows(float *y, size_t rows, size_t N, const float *bias, const float *scale,
                                 const lens_act_params *act) {
    lens_f32_act_fn f = act->act ? lens_f32_act_best() : NULL;
    for (size_t r = 0; r < rows; r++, y += N) {
        if (bias)
            for (size_t j = 0; j < N; j++) y[j] += bias[j];
        if (scale)
            for (size_t j = 0; j < N; j++) y[j] *= scale[j];
        if (f) f(act, y, N);
    }
}

/* Simple path for the other numeric types: integer products wrap (done in
 * unsigned arithmetic), as ONNX Runtime's do. */
static void matmul_generic(lens_dtype dt, const void *a, const void *b, void *y, int64_t M,
                           int64_t K, int64_t N) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            switch (dt) {
            case LENS_DTYPE_DOUBLE: {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += ((const double *)a)[i * K + k] * ((const double *)b)[k * N + j];
                ((double *)y)[i * N + j] = s;
                break;
            }
            case LENS_DTYPE_INT32:
            case LENS_DTYPE_UINT32: {
                uint32_t s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += ((const uint32_t *)a)[i * K + k] * ((const uint32_t *)b)[k * N + j];
                ((uint32_t *)y)[i * N + j] = s;
                break;
            }
            default: { /* INT64, UINT64 */
                uint64_t s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += ((const uint64_t *)a)[i * K + k] * ((const uint64_t *)b)[k * N + j];
                ((uint64_t *)y)[i * N + j] = s;
                break;
            }
            }
        }
}

static lens_status matmul_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *a = lens_exec_input(ex, 0), *b = lens_exec_input(ex, 1);
    if (!a || !b) return lens_error(LENS_STATUS_INVALID_MODEL, "MatMul needs A and B");
    if (a->dtype != b->dtype)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "MatMul operands differ in type (%s, %s)",
                          lens_dtype_name(a->dtype), lens_dtype_name(b->dtype));
    lens_dtype dt = a->dtype;
    if (dt != LENS_DTYPE_FLOAT && dt != LENS_DTYPE_DOUBLE && dt != LENS_DTYPE_INT32 &&
        dt != LENS_DTYPE_INT64 && dt != LENS_DTYPE_UINT32 && dt != LENS_DTYPE_UINT64)
        return lens_error(LENS_STATUS_UNSUPPORTED, "MatMul of %s is not supported", lens_dtype_name(dt));
    if (a->ndim < 1 || b->ndim < 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "MatMul operands must have rank >= 1");
    /* numpy: a 1-D A is [1, K] and a 1-D B is [K, 1]; the added dims are
     * dropped from the result. */
    int64_t ad[LENS_MAX_DIMS + 1], bd[LENS_MAX_DIMS + 1];
    int32_t an = a->ndim, bn = b->ndim;
    if (an == 1) ad[0] = 1, ad[1] = a->dims[0], an = 2;
    else memcpy(ad, a->dims, sizeof(int64_t) * (size_t)an);
    if (bn == 1) bd[0] = b->dims[0], bd[1] = 1, bn = 2;
    else memcpy(bd, b->dims, sizeof(int64_t) * (size_t)bn);
    int64_t M = ad[an - 2], K = ad[an - 1], N = bd[bn - 1];
    if (bd[bn - 2] != K)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "MatMul inner dimensions differ (%lld vs %lld)",
                          (long long)K, (long long)bd[bn - 2]);
    int32_t bnd = 0;
    int64_t batch[LENS_MAX_DIMS];
    LENS_TRY(lens_broadcast_shape(an - 2, ad, bn - 2, bd, &bnd, batch));
    int64_t odims[LENS_MAX_DIMS];
    int32_t on = 0;
    for (int32_t i = 0; i < bnd; i++) odims[on++] = batch[i];
    if (a->ndim != 1) odims[on++] = M;
    if (b->ndim != 1) odims[on++] = N;
    if (on > LENS_MAX_DIMS) return lens_error(LENS_STATUS_UNSUPPORTED, "MatMul result rank too high");
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, on, odims, &y));
    int64_t nb;
    if (!lens_shape_numel(bnd, batch, &nb))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "MatMul batch overflows");
    if (nb == 0 || M == 0 || N == 0) return LENS_OK;
    int64_t sa[LENS_MAX_DIMS], sb[LENS_MAX_DIMS];
    lens_broadcast_strides(an - 2, ad, bnd, sa);
    lens_broadcast_strides(bn - 2, bd, bnd, sb);
    size_t es = lens_dtype_size(dt);
    const gemm_state *s = node->state;
    /* Fused epilogue operands (see the top of the file). */
    const float *ep_bias = NULL, *ep_scale = NULL;
    for (int32_t k = 2; k < 4 && k < node->n_inputs; k++) {
        const lens_tensor *t = lens_exec_input(ex, k);
        if (!t) continue;
        const float *d = column_operand(t, N);
        if (!d || dt != LENS_DTYPE_FLOAT)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "fused MatMul: input %d must be %lld floats", (int)k,
                              (long long)N);
        if (k == 2) ep_bias = d;
        else ep_scale = d;
    }
    lens_act_params act = {node->fused_act, node->fused_alpha, node->fused_beta};
    bool epilogue = ep_bias || ep_scale || act.act;
    bool b_shared = true; /* B the same matrix for every batch */
    for (int32_t i = 0; i < bnd; i++)
        if (sb[i]) b_shared = false;
    bool a_dense = true;
    for (int32_t i = 0; i < bnd; i++)
        if (batch[i] != 1 && sa[i] == 0) a_dense = false;
    if (dt == LENS_DTYPE_FLOAT && b_shared && a_dense) {
        /* One GEMM with the batch folded into M (the usual Linear layer). */
        lens_f32_matrix am = {a->data, (size_t)K, 1, 1.0f};
        lens_f32_matrix bm = {b->data, 1, (size_t)N, 1.0f};
        lens_f32_gemm_args g = {0};
        g.M = (size_t)(nb * M), g.N = (size_t)N, g.K = (size_t)K;
        g.a.m = &am, g.b.m = &bm;
        g.c = y->data, g.ldc = (size_t)N;
        if (!epilogue) return run_f32_gemm(ex, &g, s);
        if (s) {
            /* B packed with the scale folded in; the scaled bias is a
             * residual row broadcast down the rows (ldr 0). matmul_init
             * packed only when both operands were foldable, and they are
             * constants, so the state always matches them. */
            if ((s->bias != NULL) != (ep_bias != NULL))
                return lens_error(LENS_STATUS_INTERNAL, "fused MatMul bias does not match its packed form");
            g.residual = s->bias, g.ldr = 0;
            g.act = act;
            return run_f32_gemm(ex, &g, s);
        }
        LENS_TRY(run_f32_gemm(ex, &g, NULL));
        matmul_epilogue_rows(y->data, g.M, g.N, ep_bias, ep_scale, &act);
        return LENS_OK;
    }
    /* A packed B is 2-D (matmul_init), hence shared by every batch, and A
     * is always dense against it: the path above took it. The per-matrix
     * loop below reads B's data, which the model may have released. */
    if (s) return lens_error(LENS_STATUS_INTERNAL, "MatMul with a packed B reached the batched path");
    for (int64_t t = 0; t < nb; t++) {
        int64_t rem = t, oa = 0, ob = 0;
        for (int32_t i = bnd - 1; i >= 0; i--) {
            int64_t idx = rem % batch[i];
            rem /= batch[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        /* Strides are in matrices (of the trailing two dims). */
        const char *pa = (const char *)a->data + (size_t)(oa * M * K) * es;
        const char *pb = (const char *)b->data + (size_t)(ob * K * N) * es;
        char *py = (char *)y->data + (size_t)(t * M * N) * es;
        if (dt == LENS_DTYPE_FLOAT) {
            lens_f32_matrix am = {(const float *)pa, (size_t)K, 1, 1.0f};
            lens_f32_matrix bm = {(const float *)pb, 1, (size_t)N, 1.0f};
            lens_f32_gemm_args g = {0};
            g.M = (size_t)M, g.N = (size_t)N, g.K = (size_t)K;
            g.a.m = &am, g.b.m = &bm;
            g.c = (float *)py, g.ldc = (size_t)N;
            LENS_TRY(run_f32_gemm(ex, &g, NULL));
            if (epilogue) matmul_epilogue_rows((float *)py, g.M, g.N, ep_bias, ep_scale, &act);
        } else {
            matmul_generic(dt, pa, pb, py, M, K, N);
        }
    }
    return LENS_OK;
}

static const lens_op ops[] = {
    {"", "Gemm", 1, 0, 0, gemm_init, gemm_run, gemm_fini},
    {"", "Gemm", 6, 0, 0, gemm_init, gemm_run, gemm_fini},
    {"", "Gemm", 7, 0, 0, gemm_init, gemm_run, gemm_fini},
    {"", "Gemm", 9, 0, 0, gemm_init, gemm_run, gemm_fini},
    {"", "Gemm", 11, 0, 0, gemm_init, gemm_run, gemm_fini},
    {"", "Gemm", 13, 0, 0, gemm_init, gemm_run, gemm_fini},
    {"", "MatMul", 1, 0, 0, matmul_init, matmul_run, gemm_fini},
    {"", "MatMul", 9, 0, 0, matmul_init, matmul_run, gemm_fini},
    {"", "MatMul", 13, 0, 0, matmul_init, matmul_run, gemm_fini},
};
LENS_OP_TABLE(gemm, ops);
